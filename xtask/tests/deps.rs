//! Unused dependencies fail the integration layer: every crate's `[dependencies]` must be named in its `src/`, and its
//! `[dev-dependencies]` in `src/`, `tests/` or `examples/` — the same reading cargo-machete makes (a crate name,
//! `-` as `_`, anywhere in the code), without installing it.

use std::path::{Path, PathBuf};

fn rust_text(dirs: &[PathBuf]) -> String {
    let mut text = String::new();
    let mut stack: Vec<PathBuf> = dirs.iter().filter(|d| d.exists()).cloned().collect();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if p.extension().is_some_and(|e| e == "rs") {
            text.push_str(&std::fs::read_to_string(&p).unwrap());
        }
    }
    text
}

/// The names in one `[section]` of a Cargo.toml (`name.workspace = true`, `name = ...`).
fn section(manifest: &str, header: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == header;
            continue;
        }
        if inside && let Some(key) = line.split(['=', '.', ' ']).next().filter(|k| !k.is_empty() && !k.starts_with('#'))
        {
            names.push(key.to_string());
        }
    }
    names
}

#[test]
fn every_dependency_of_every_crate_is_used() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root.join("crates")).unwrap().map(|e| e.unwrap().path()).collect();
    crates.push(root.join("xtask"));
    let mut unused = Vec::new();
    for dir in crates {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let src = rust_text(&[dir.join("src")]);
        let all = rust_text(&[dir.join("src"), dir.join("tests"), dir.join("examples")]);
        for (header, text) in [("[dependencies]", &src), ("[dev-dependencies]", &all)] {
            for name in section(&manifest, header) {
                // A dev-dependency may repeat a normal one only to add features (test-util).
                let ident = name.replace('-', "_");
                if !text.contains(&ident) {
                    unused.push(format!("{}: {header} {name}", dir.file_name().unwrap().to_string_lossy()));
                }
            }
        }
    }
    assert!(unused.is_empty(), "unused dependencies (remove them from Cargo.toml):\n  {}", unused.join("\n  "));
}
