//! The sample matrix: every config in fixtures/ (2 and 3 AZs, public and private tasks, SQLite and MySQL,
//! CodeDeploy and ECS-native, HTTP and HTTPS, CodeCommit and GitHub) deploys with its wiring read back intact and
//! a security audit without findings, re-deploys with zero writes, and destroys to nothing — twice, the second
//! time without a write.

use std::path::{Path, PathBuf};

use ghost_core::aws::{AwsOptions, sdk_config};
use ghost_core::{Action, Config, Mode};
use ghost_emulator::Emulator;

use crate::{Harness, actions};

fn samples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut v = vec![root.join("ghost.toml")];
    let mut more: Vec<PathBuf> = std::fs::read_dir(root.join("samples"))
        .expect("fixtures/samples")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    more.sort();
    v.extend(more);
    v
}

/// The load balancer checks that a certificate exists, as AWS does: a sample's placeholder ARN is swapped for
/// one requested from the emulator's ACM.
async fn certificate() -> String {
    let emu = Emulator::from_env();
    emu.up().await.unwrap();
    let acm = aws_sdk_acm::Client::new(&sdk_config(&AwsOptions::emulator(&emu.url(), "eu-west-2", "STACM")).await);
    let cert = acm.request_certificate().domain_name("blog.example.com").send().await.unwrap();
    cert.certificate_arn().unwrap().to_string()
}

/// The calls of `h`'s key so far that `localstack/operations.txt` does not list: the emulator's rule table
/// (`localstack/rules.md`, generated from that list) would not show what is checked for them.
async fn unlisted_operations(h: &Harness) -> Vec<String> {
    let listed = include_str!("../../../../localstack/operations.txt");
    let listed: std::collections::HashSet<&str> = listed.lines().filter(|l| !l.starts_with('#')).collect();
    let calls = h.emu.calls(Some(&h.key)).await.unwrap();
    let mut missing: Vec<String> = calls
        .iter()
        .map(|c| format!("{} {}", c.service, c.operation.as_deref().unwrap_or(&c.action)))
        .filter(|op| !listed.contains(op.as_str()))
        .collect();
    missing.sort();
    missing.dedup();
    missing
}

#[tokio::test]
async fn every_sample_config_deploys_redeploys_as_a_noop_and_destroys_cleanly() {
    let cert = certificate().await;
    let files = samples();
    assert!(files.len() >= 5, "the matrix has the sample and fixtures/samples/*: {files:?}");
    let mut rows = Vec::new();
    for (i, path) in files.iter().enumerate() {
        let text = std::fs::read_to_string(path).unwrap();
        let placeholder = Config::parse(&text, "sample").unwrap().load_balancer.certificate_arn;
        let edits: Vec<(&str, &str)> =
            if placeholder.is_empty() { vec![] } else { vec![(placeholder.as_str(), cert.as_str())] };
        let h = Harness::with_text(&format!("m{i}"), &text, &edits).await;
        let name = path.file_name().unwrap().to_string_lossy().to_string();

        let first = h.deploy().await;
        assert!(first.resources.iter().all(|r| r.action == Action::Create), "{name}: {:?}", actions(&first));
        let mut unlisted = unlisted_operations(&h).await;
        let cold = h.calls().await;
        let out = first.outputs.clone().unwrap();
        let checks = ghost_stack::verify::wiring(&h.sdk, &h.cfg, &out).await.unwrap();
        h.calls().await;
        let failed: Vec<_> = checks.iter().filter(|c| !c.ok).collect();
        assert!(failed.is_empty(), "{name}: wiring {failed:?}");
        // The security audit: the desired state, and the settings fixed at creation read back.
        let account =
            ghost_cicd::Cicd::new(&h.sdk, ghost_core::Env::new(&h.cfg.stack.name, Mode::Plan)).account().await.unwrap();
        let mut audit = ghost_stack::audit::audit_desired(&h.cfg, &account, &out);
        ghost_stack::audit::audit_live(&mut audit, &h.sdk, &h.cfg, &account, &out).await.unwrap();
        h.calls().await;
        assert!(audit.findings.is_empty(), "{name}: audit {:#?}", audit.findings);
        let live = audit.checked.iter().filter(|c| c.ends_with("(live)")).count();

        let again = h.deploy().await;
        assert!(again.is_noop(), "{name}: {:?}", actions(&again));
        unlisted.extend(unlisted_operations(&h).await);
        let noop = h.calls().await;
        assert_eq!(noop.mutating, 0, "{name}: re-deploy wrote {:?}", noop.writes());

        h.destroy(ghost_core::DataPolicy::Delete).await;
        unlisted.extend(unlisted_operations(&h).await);
        assert!(
            unlisted.is_empty(),
            "{name}: operations missing from localstack/operations.txt (add them, then regenerate rules.md): {unlisted:?}"
        );
        h.destroy_to_nothing(&name).await;
        rows.push(format!(
            "{name:<28} {:>3} resources  cold {:>3} calls ({:>2} mutating)  re-deploy {:>3} calls (0 mutating)  {} wiring checks  audit: {} checks ({live} live), 0 findings",
            first.resources.len(),
            cold.total,
            cold.mutating,
            noop.total,
            checks.len(),
            audit.checked.len()
        ));
    }
    println!("sample matrix:\n  {}", rows.join("\n  "));
}
