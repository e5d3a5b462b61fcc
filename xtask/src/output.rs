//! Rendering: live progress lines on stderr, the report on stdout (text for people, JSON for machines).

use std::sync::Arc;

use ghost_core::{Event, Observer};
use ghost_emulator::CallSummary;
use ghost_stack::Report;
use serde::Serialize;

use crate::Output;

pub(crate) fn progress_observer() -> Observer {
    Arc::new(|ev: &Event<'_>| match ev {
        // -v logs each resource's span (ghost_core::Env::track); the progress lines need no start line.
        Event::Start { .. } => {}
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
    print!("\n{report}");
    if let Some(c) = calls {
        println!("API calls: {} ({} mutating, {} for the stack lock)", c.total, c.mutating, c.lock);
    }
}

pub(crate) fn next_steps(report: &Report, local: bool) {
    let Some(o) = &report.outputs else { return };
    println!("\n{o}");
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
