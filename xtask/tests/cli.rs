//! The command line's contract for bad input: every config in fixtures/invalid/ exits with code 2, names the
//! key and what is allowed, and calls nothing. The endpoint is a listener that counts connections: any AWS
//! call (or credential lookup through it) would show up as one.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A TCP listener on 127.0.0.1 that accepts and counts every connection.
fn counting_endpoint() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(conn);
        }
    });
    (url, hits)
}

fn xtask(args: &[&str], endpoint: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(workspace())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("GHOST_EMULATOR_PORT", "9") // were the local target ever to start an emulator, it would fail loudly
        .output()
        .unwrap()
}

#[test]
fn every_invalid_config_exits_2_names_the_key_and_calls_nothing() {
    let (endpoint, hits) = counting_endpoint();
    let dir = workspace().join("fixtures/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 30, "fixtures/invalid holds {} configs", files.len());
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let expect =
            text.lines().next().and_then(|l| l.strip_prefix("# expect: ")).expect("first line: # expect: KEY | TEXT");
        let (key, detail) = expect.split_once(" | ").unwrap();
        for cmd in ["deploy", "plan", "destroy"] {
            for target in ["aws", "local"] {
                let out = xtask(&[cmd, "--target", target, "--config", f.to_str().unwrap()], &endpoint);
                let stderr = String::from_utf8_lossy(&out.stderr);
                let name = f.file_name().unwrap().to_string_lossy();
                assert_eq!(out.status.code(), Some(2), "{name} ({cmd} --target {target}): {stderr}");
                assert!(stderr.contains(key), "{name}: message must name {key}:\n{stderr}");
                assert!(stderr.contains(detail), "{name}: message must say {detail:?}:\n{stderr}");
            }
        }
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "invalid configs must not reach any endpoint");
}

#[test]
fn the_sample_config_is_valid() {
    let text = std::fs::read_to_string(workspace().join("fixtures/ghost.toml")).unwrap();
    ghost_core::Config::parse(&text, "fixtures/ghost.toml").unwrap();
}

#[test]
fn a_missing_config_file_exits_2() {
    let (endpoint, hits) = counting_endpoint();
    let out = xtask(&["plan", "--target", "aws", "--config", "does/not/exist.toml"], &endpoint);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[test]
fn unknown_flags_exit_2() {
    let (endpoint, _) = counting_endpoint();
    let out = xtask(&["deploy", "--target", "mars"], &endpoint);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_command_line_values_exit_2_name_the_flag_and_call_nothing() {
    let (endpoint, hits) = counting_endpoint();
    let image = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/blog-blog"; // no tag: ECS would pull `latest`
    for (args, flag) in [
        (&["release", "--target", "aws", "--image", image][..], "--image"),
        (&["release", "--target", "local", "--image", "localhost:5000/ghost"][..], "--image"),
        (&["logs", "--target", "aws", "--since", "10 minutes"][..], "--since"),
        (&["metrics", "--target", "aws", "--since", "forever"][..], "--since"),
    ] {
        let out = xtask(args, &endpoint);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: must name {flag}:\n{stderr}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "bad arguments must not reach any endpoint");
}
