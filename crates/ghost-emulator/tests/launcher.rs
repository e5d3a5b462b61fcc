//! Runs `localstack/test_launcher.py`, the tests of the emulator's own extensions (CodeBuild UpdateProject,
//! CodeDeploy and CodePipeline operations moto lacks, CodeConnections, the Smithy RPC v2 CBOR bridge), with the
//! emulator venv's python. That suite starts its own launcher on a free port (4610 and up), never the shared 4566.

use std::path::Path;

use ghost_emulator::Emulator;

#[tokio::test]
async fn launcher_extensions() {
    // The same venv `Emulator::up` uses (created from the pinned requirements if missing).
    let python = Emulator::from_env().ensure_venv().await.expect("the emulator venv");
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../localstack/test_launcher.py");
    let out = tokio::process::Command::new(&python)
        .arg(&suite)
        .env("PYTHONUNBUFFERED", "1")
        .output()
        .await
        .unwrap_or_else(|e| panic!("running {} {}: {e}", python.display(), suite.display()));
    // unittest reports on stderr; show it either way so `cargo test -- --nocapture` tells what ran.
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("{report}");
    // CI keeps only the end of a long log: the panic message carries the failures themselves.
    assert!(out.status.success(), "{} failed ({}):\n{}", suite.display(), out.status, failures(&report));
}

/// unittest's failure blocks: from each `FAIL:` / `ERROR:` header to the end of its traceback.
fn failures(report: &str) -> String {
    let mut kept = Vec::new();
    let mut inside = false;
    for line in report.lines() {
        if line.starts_with("FAIL: ") || line.starts_with("ERROR: ") {
            inside = true;
        } else if line.starts_with("Ran ") {
            inside = false;
        }
        if inside {
            kept.push(line);
        }
    }
    if kept.is_empty() { "(no unittest failure block: see the output above)".into() } else { kept.join("\n") }
}
