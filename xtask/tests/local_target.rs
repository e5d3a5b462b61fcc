//! `destroy` on the local target stops the stack's local Ghost (here its front; the container needs Docker and
//! is covered by the e2e layer) and treats the content folder as the data it stands for: kept by a plain destroy,
//! deleted by `--delete-data`. Runs against the emulator (layer 2), with a stack name of its own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

const STACK: &str = "cli-local-destroy";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn xtask(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).current_dir(workspace()).output().unwrap();
    assert!(
        out.status.success(),
        "xtask {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A process whose command line says "front", as the background front's does.
fn fake_front() -> Child {
    Command::new("bash").args(["-c", "exec -a 'xtask local front' sleep 300"]).spawn().unwrap()
}

fn exited_within(child: &mut Child, max: Duration) -> bool {
    let t = Instant::now();
    while t.elapsed() < max {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn destroy_stops_the_local_ghost_and_keeps_its_content_unless_told() {
    let sample = std::fs::read_to_string(workspace().join("fixtures/ghost.toml")).unwrap();
    let text = sample.replacen("name = \"ghost\"", &format!("name = \"{STACK}\""), 1);
    assert_ne!(text, sample, "the sample names its stack `ghost`");
    let config = std::env::temp_dir().join(format!("{STACK}-{}.toml", std::process::id()));
    std::fs::write(&config, text).unwrap();
    let config = config.to_str().unwrap();

    xtask(&["deploy", "--no-ghost", "--config", config]);
    let root = ghost_local::ghost_home().join("local").join(STACK);
    std::fs::create_dir_all(root.join("ghost-content")).unwrap();
    std::fs::write(root.join("ghost-content/post.txt"), "written before the destroy").unwrap();
    let mut front = fake_front();
    let state = serde_json::json!({ "pid": front.id(), "port": 9, "upstream": 9 });
    std::fs::write(root.join("front.json"), state.to_string()).unwrap();

    xtask(&["destroy", "--dry-run", "--config", config]);
    assert!(front.try_wait().unwrap().is_none(), "a dry run stops nothing");

    let out = xtask(&["destroy", "--config", config]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("stopped the local front"), "{stdout}");
    assert!(stdout.contains("content kept in"), "{stdout}");
    assert!(exited_within(&mut front, Duration::from_secs(10)), "the front still runs after destroy");
    assert!(!root.join("front.json").exists(), "the front's state outlived it");
    assert_eq!(std::fs::read_to_string(root.join("ghost-content/post.txt")).unwrap(), "written before the destroy");

    let out = xtask(&["destroy", "--delete-data", "--config", config]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("content deleted"), "{stdout}");
    assert!(!root.exists(), "--delete-data leaves {}", root.display());
    let _ = std::fs::remove_file(config);
}
