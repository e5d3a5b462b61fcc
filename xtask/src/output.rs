//! Rendering: live progress lines on stderr, the report on stdout (text for people, JSON for machines).

use std::sync::Arc;

use ghost_core::{Action, Event, Mode, Observer};
use ghost_emulator::CallSummary;
use ghost_stack::Report;
use serde::Serialize;

use crate::Output;

pub(crate) fn progress_observer() -> Observer {
    Arc::new(|ev: &Event<'_>| match ev {
        Event::Start { kind, name } => tracing::info!("ensuring {kind} {name}"),
        Event::Wait { kind, name, what } => eprintln!("  … {kind} {name}: waiting until {what}"),
        Event::Done(r) => {
            eprintln!("  {} {:<18} {:<22} {:<26} {:>6} ms", r.action.symbol(), r.kind, r.name, r.id, r.elapsed_ms);
            for c in &r.changes {
                eprintln!("      {c}");
            }
        }
        Event::Failed { kind, name, error } => eprintln!("  x {kind} {name}: {error}"),
        Event::Warning(w) => eprintln!("  ! {} {}: {}", w.kind, w.name, w.message),
    })
}

#[derive(Serialize)]
struct JsonReport<'a> {
    #[serde(flatten)]
    report: &'a Report,
    api_calls: Option<&'a CallSummary>,
}

pub(crate) fn report(report: &Report, calls: Option<&CallSummary>, out: Output) {
    if out == Output::Json {
        let doc = JsonReport { report, api_calls: calls };
        println!("{}", serde_json::to_string_pretty(&doc).expect("report serializes"));
        return;
    }
    let verb = match (report.command, report.mode) {
        ("destroy", Mode::Plan) => "destroy --dry-run",
        (c, _) => c,
    };
    println!();
    if report.mode == Mode::Plan {
        for r in report.resources.iter().filter(|r| r.action.is_change()) {
            // The reason: an update lists its changes below; a create or delete says why in a word.
            let why = match r.action {
                _ if !r.changes.is_empty() => "",
                Action::Create => "  (not found)",
                Action::Delete if report.command == "destroy" => "  (destroy)",
                Action::Delete => "  (no longer in the config)",
                _ => "",
            };
            println!("{} {:<18} {:<22} {}{why}", r.action.symbol(), r.kind, r.name, r.id);
            for c in &r.changes {
                println!("    {c}");
            }
        }
    }
    for w in &report.warnings {
        println!("! {} {}: {}", w.kind, w.name, w.message);
    }
    let n = |a| report.count(a);
    let (create, update, delete) = if report.mode == Mode::Plan {
        ("to create", "to update", "to delete")
    } else {
        ("created", "updated", "deleted")
    };
    println!(
        "{verb} of stack {}: {} {create}, {} {update}, {} {delete}, {} unchanged ({:.1} s)",
        report.stack,
        n(Action::Create),
        n(Action::Update),
        n(Action::Delete),
        n(Action::Unchanged),
        report.elapsed_ms as f64 / 1000.0
    );
    for r in report.resources.iter().filter(|r| r.action == Action::Keep) {
        let why = r.changes.first().map(|c| c.to.as_str()).unwrap_or_default();
        println!("kept: {} {} {} ({why})", r.kind, r.name, r.id);
    }
    if report.is_noop() {
        println!("nothing to do: the stack is already in the desired state");
    }
    if let Some(c) = calls {
        println!("API calls: {} ({} mutating, {} for the stack lock)", c.total, c.mutating, c.lock);
    }
}

pub(crate) fn next_steps(report: &Report, local: bool) {
    let Some(o) = &report.outputs else { return };
    let net = &o.network;
    println!("\nstack {} in {}:", o.stack, o.region);
    println!("  vpc              {}", net.vpc_id);
    println!("  public subnets   {}", net.public_subnets.join(", "));
    println!("  private subnets  {}", net.private_subnets.join(", "));
    println!("  security groups  alb {}  task {}  efs {}", net.sg_alb, net.sg_task, net.sg_efs);
    let rt = &o.runtime;
    println!(
        "  load balancer    http://{}  (test listener {})",
        rt.load_balancer.alb_dns, rt.load_balancer.test_listener
    );
    println!("  live target grp  {}", rt.load_balancer.live_target_group);
    println!(
        "  content (EFS)    {} via access point {}",
        rt.file_system.file_system_id, rt.file_system.access_point_id
    );
    println!("  ECS              cluster {}  service {}", rt.cluster_arn, rt.service_arn);
    println!("  task definition  {}", rt.task_definition_arn);
    println!("  logs             {}", rt.log_group);
    let ci = &o.cicd;
    println!(
        "  pipeline         {}  (source {}, build {}, artifacts s3://{})",
        ci.pipeline, ci.source, ci.build_project, ci.artifact_bucket
    );
    println!("  image repository {}", ci.image_repository_uri);
    if let Some((app, group)) = &ci.codedeploy {
        println!("  blue/green       CodeDeploy {app} / {group}");
    }
    if let Some(conn) = &ci.connection {
        println!("  github           connection {} is {}: {}", conn.arn, conn.status, conn.console);
    }
    println!("release: `cargo xtask site render ./site` (then push it), `cargo xtask release`, `cargo xtask status`");
    if local {
        println!(
            "\nlook: `cargo xtask status` (one screen), `cargo xtask logs` (Ghost's log events), `cargo xtask plan` (changes nothing), `cargo xtask emulator calls` (recorded API calls)"
        );
        println!(
            "tear down: `cargo xtask destroy` (the content is kept; --delete-data drops it), `cargo xtask local down` (Ghost and the front), `cargo xtask emulator down`"
        );
    }
}
