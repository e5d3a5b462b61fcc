//! Crash-anywhere convergence: for every k, let k mutating calls through, fail everything after (as a killed
//! process would), then re-run with faults off and compare with a clean run. Same for destroy.

use crate::harness::{Harness, assert_wired, counts, stack_name};

#[tokio::test]
async fn a_deploy_interrupted_after_any_mutating_call_converges_on_rerun() {
    // The richest network (3 AZs, NAT, HTTPS, database group) exercises every resource kind.
    let reference = Harness::new(&stack_name("cref")).await;
    let spec = ghost_net::NetworkSpec { az_count: 3, nat: true, https: true, database_sg: true, ..reference.spec() };
    reference.deploy(&spec).await;
    let cold = reference.calls().await.mutating;
    let want = reference.shape().await;
    reference.destroy().await;
    assert!(cold > 20, "a cold deploy makes {cold} mutating calls");

    for k in 1..=cold {
        let h = Harness::new(&stack_name(&format!("c{k}"))).await;
        let spec = ghost_net::NetworkSpec { names: ghost_core::Names::new(&h.stack), ..spec.clone() };
        h.emu.crash_after(&h.key, k).await.unwrap();
        let crashed = ghost_net::ensure_network(&h.net(ghost_core::Mode::Apply), &spec).await;
        // After the last write a deploy may make no further call at all, and then nothing crashes.
        if k < cold || crashed.is_err() {
            let err = crashed.expect_err("a deploy crashed before its last write reports an error");
            assert!(err.to_string().contains("InjectedCrash"), "k={k}: {err}");
        }
        h.emu.clear_faults(&h.key).await.unwrap();

        let (out, _) = h.deploy(&spec).await;
        assert_eq!(h.shape().await, want, "k={k}: same resources as a clean deploy, no duplicates");
        assert_wired(&h, &out, &spec).await;
        h.calls().await;
        h.deploy(&spec).await;
        assert_eq!(h.calls().await.mutating, 0, "k={k}: converged state re-deploys with zero writes");
        h.destroy().await;
    }
    println!("network deploy crash sweep: k = 1..{cold} all converged (a cold deploy's {cold} mutating calls)");
}

#[tokio::test]
async fn a_destroy_interrupted_after_any_mutating_call_finishes_on_rerun() {
    let reference = Harness::new(&stack_name("dref")).await;
    let spec = ghost_net::NetworkSpec { nat: true, ..reference.spec() };
    reference.deploy(&spec).await;
    reference.calls().await;
    reference.destroy().await;
    let writes = reference.calls().await.mutating;

    for k in 1..=writes {
        let h = Harness::new(&stack_name(&format!("d{k}"))).await;
        let spec = ghost_net::NetworkSpec { names: ghost_core::Names::new(&h.stack), ..spec.clone() };
        h.deploy(&spec).await;
        h.emu.crash_after(&h.key, k).await.unwrap();
        let crashed = ghost_net::destroy_network(&h.net(ghost_core::Mode::Apply)).await;
        assert!(k == writes || crashed.is_err(), "k={k}: destroy crashed after call {k} reports an error");
        h.emu.clear_faults(&h.key).await.unwrap();
        h.destroy().await;
        assert_eq!(h.shape().await, counts(&[]), "k={k}: nothing left");
    }
    println!("network destroy crash sweep: k = 1..{writes} all converged (a destroy's {writes} mutating calls)");
}
