//! The environment an ensure runs in: which stack, whether writes are on (deploy) or off (plan), and the
//! journal of what happened to each resource (for progress, plan output and `--output json`).

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use tracing::Instrument;

use crate::naming::Names;
use crate::outcome::{Action, Change, Outcome};

/// `Apply` makes the changes; `Plan` runs the same find + diff code with writes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Apply,
    Plan,
}

/// What happened to one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// Resource kind: `vpc`, `subnet`, `security-group`, ...
    pub kind: String,
    pub name: String,
    pub action: Action,
    pub changes: Vec<Change>,
    /// AWS id, or a `<new ...>` placeholder in a plan.
    pub id: String,
    pub elapsed_ms: u64,
}

/// Live progress, for a spinner or plain log lines.
#[derive(Debug)]
pub enum Event<'a> {
    Start { kind: &'a str, name: &'a str },
    Wait { kind: &'a str, name: &'a str, what: &'a str },
    Done(&'a Record),
    Failed { kind: &'a str, name: &'a str, error: String },
    Warning(&'a Warning),
}

/// Something found that we do not own or manage and leave in place (a foreign security-group rule, a subnet
/// of an earlier config), reported by deploy and plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub kind: String,
    pub name: String,
    pub message: String,
}

pub type Observer = Arc<dyn Fn(&Event<'_>) + Send + Sync>;

#[derive(Clone)]
pub struct Env {
    pub names: Names,
    pub mode: Mode,
    journal: Arc<Mutex<Vec<Record>>>,
    warnings: Arc<Mutex<Vec<Warning>>>,
    observer: Option<Observer>,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env").field("names", &self.names).field("mode", &self.mode).finish_non_exhaustive()
    }
}

/// Id used in a plan for a resource that does not exist yet.
pub fn planned_id(kind: &str) -> String {
    format!("<new {kind}>")
}

/// True for ids made by [`planned_id`]: children of a planned resource cannot exist yet, so their finds are skipped.
pub fn is_planned(id: &str) -> bool {
    id.starts_with("<new ")
}

impl Env {
    pub fn new(stack: &str, mode: Mode) -> Self {
        Self { names: Names::new(stack), mode, journal: Arc::default(), warnings: Arc::default(), observer: None }
    }

    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    pub fn stack(&self) -> &str {
        self.names.stack()
    }

    pub fn is_plan(&self) -> bool {
        self.mode == Mode::Plan
    }

    pub fn records(&self) -> Vec<Record> {
        self.journal.lock().expect("journal lock").clone()
    }

    pub fn warnings(&self) -> Vec<Warning> {
        self.warnings.lock().expect("warnings lock").clone()
    }

    /// Reports something left in place on purpose.
    pub fn warn(&self, kind: &str, name: &str, message: impl Into<String>) {
        let w = Warning { kind: kind.into(), name: name.into(), message: message.into() };
        self.emit(&Event::Warning(&w));
        self.warnings.lock().expect("warnings lock").push(w);
    }

    fn emit(&self, ev: &Event<'_>) {
        if let Some(o) = &self.observer {
            o(ev);
        }
    }

    /// Tells the observer we are waiting (NAT gateway available, mount targets, ...), so a wait shows as one.
    pub fn waiting(&self, kind: &str, name: &str, what: &str) {
        tracing::info!(kind, name, until = what, "waiting");
        self.emit(&Event::Wait { kind, name, what });
    }

    /// Runs one ensure and journals its outcome.
    pub async fn track<T, E, F>(&self, kind: &str, name: &str, ensure: F) -> Result<Outcome<T>, E>
    where
        T: fmt::Display,
        E: fmt::Display,
        F: Future<Output = Result<Outcome<T>, E>>,
    {
        self.emit(&Event::Start { kind, name });
        let start = Instant::now();
        // One span per resource: with -v its outcome is logged in it, with -vv every SDK request it made too.
        let span = tracing::info_span!("ensure", stack = %self.names.stack(), kind, name);
        let res = ensure.instrument(span.clone()).await;
        let _in = span.enter();
        match &res {
            Ok(o) => {
                tracing::info!(action = %o.action(), id = %o.id(), changes = o.changes().len(), "ensured");
                self.push(kind, name, o.action(), o.changes().to_vec(), o.id().to_string(), start)
            }
            Err(e) => {
                tracing::warn!(error = %e, "failed");
                self.emit(&Event::Failed { kind, name, error: e.to_string() })
            }
        }
        res
    }

    /// Runs one delete and journals it. The future returns `Some(id)` if it deleted (or, in a plan, would
    /// delete) something, `None` if there was nothing to delete.
    pub async fn track_delete<E, F>(&self, kind: &str, name: &str, delete: F) -> Result<(), E>
    where
        E: fmt::Display,
        F: Future<Output = Result<Option<String>, E>>,
    {
        self.emit(&Event::Start { kind, name });
        let start = Instant::now();
        let span = tracing::info_span!("delete", stack = %self.names.stack(), kind, name);
        match delete.instrument(span).await {
            Ok(Some(id)) => {
                self.push(kind, name, Action::Delete, vec![], id, start);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => {
                self.emit(&Event::Failed { kind, name, error: e.to_string() });
                Err(e)
            }
        }
    }

    /// Deletes one resource by the contract: in a plan only journals it; "not found" (one of `not_found`, the
    /// AWS error codes of the final call) counts as deleted. `call` makes the calls, mapped with `.aws(...)`.
    pub async fn delete<F, Fut>(
        &self,
        kind: &str,
        name: &str,
        id: &str,
        not_found: &[&str],
        call: F,
    ) -> crate::Result<()>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = crate::Result<()>>,
    {
        self.track_delete(kind, name, async {
            if !self.is_plan() {
                crate::error::gone_if(call().await, not_found)?;
            }
            Ok::<_, crate::Error>(Some(id.to_string()))
        })
        .await
    }

    /// Journals a decision that involved no call of its own (e.g. data kept on destroy).
    pub fn note(&self, kind: &str, name: &str, action: Action, id: &str, why: &str) {
        let changes = vec![Change::new("reason", "", why)];
        self.push(kind, name, action, changes, id.to_string(), Instant::now());
    }

    fn push(&self, kind: &str, name: &str, action: Action, changes: Vec<Change>, id: String, start: Instant) {
        let record = Record {
            kind: kind.into(),
            name: name.into(),
            action,
            changes,
            id,
            elapsed_ms: start.elapsed().as_millis() as u64,
        };
        self.emit(&Event::Done(&record));
        self.journal.lock().expect("journal lock").push(record);
    }
}
