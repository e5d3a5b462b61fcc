//! The reconcile core: the ensure contract written once, so a resource supplies only its parts.
//!
//! A resource kind declares its **view** (one typed value, built from the config as the desired state and read
//! back from AWS as the live state), how it is **found** (with its readiness), how it is **created** from the
//! desired view, which typed **updates** bring a live view to the desired one (or which change AWS cannot make
//! in place), and how it is **deleted**. [`ensure`] owns the skeleton — plan mode, the journal, the
//! [`Outcome`], waiting whenever a found resource is not ready yet, and the guarantee that an unchanged
//! resource gets zero writes — so no resource re-types it.
//!
//! The diff is computed over the whole view ([`diff`]), so a field the create request is built from cannot be
//! forgotten by the comparison; [`testing::assert_every_field_compared`] proves per kind that every field of
//! the view, changed on its own, yields an update or a refusal (never "unchanged").
//!
//! Anchors: Crossplane's managed reconciler (Observe answers exists / up to date; the framework decides Create,
//! Update or nothing), ACK's generated delta over every spec field, terraform-plugin-framework's plan from the
//! schema with per-attribute RequiresReplace.

use std::fmt::{Debug, Display};
use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::env::Env;
use crate::outcome::{Change, Outcome};
use crate::wait::{Bound, Poll, poll_until};

/// Where a found resource is in its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Coming up (`provisioning`, `pending`, `creating`, ...): the state AWS reports, for the wait's message.
    Pending(String),
    /// A state it will never leave for ready (`failed`, `incompatible-parameters`, ...).
    Failed(String),
}

/// A resource as found: its view (compared with the desired one), what dependants need of it, its readiness.
#[derive(Debug, Clone, PartialEq)]
pub struct Live<V, O> {
    pub view: V,
    pub out: O,
    pub readiness: Readiness,
}

impl<V, O> Live<V, O> {
    pub fn ready(view: V, out: O) -> Self {
        Self { view, out, readiness: Readiness::Ready }
    }
}

/// What a kind's `find` answers when the resource exists.
pub type Found<R> = Live<<R as Resource>::View, <R as Resource>::Out>;

/// One resource kind's parts of the ensure contract. `self` carries the clients, the names and the desired view.
pub trait Resource: Sync {
    /// The compared state: every field the create request is built from, in a form AWS reads back the same way
    /// (sorted lists, normalised versions). Serialised only to compare and to report changes.
    type View: Serialize + DeserializeOwned + PartialEq + Clone + Debug + Send + Sync;
    /// What dependants get: an id, an ARN and a DNS name, ...
    type Out: Display + Clone + Send + Sync;
    /// One in-place change, typed: the update dispatches on these, never on field names.
    type Update: Debug + Send;
    type Error: From<crate::Error> + Display + Send;

    /// Journal kind: `vpc`, `ecs-service`, ...
    const KIND: &'static str;

    fn name(&self) -> String;

    /// The desired view, built from the config and the inputs.
    fn desired(&self) -> &Self::View;

    /// What a plan hands dependants for a resource that does not exist yet.
    fn planned(&self) -> Self::Out;

    /// The live resource by tag or unique name, with its readiness; absent is `Ok(None)`.
    fn find(&self) -> impl Future<Output = Result<Option<Found<Self>>, Self::Error>> + Send;

    /// Creates it from the desired view (every field the diff compares).
    fn create(&self, desired: &Self::View) -> impl Future<Output = Result<Self::Out, Self::Error>> + Send;

    /// The typed calls that bring `live` to `desired`. A difference AWS cannot make in place is an
    /// `Err(NeedsReplacement)` naming the remedy. Pure: plan runs it too.
    fn updates(&self, desired: &Self::View, live: &Self::View) -> Result<Vec<Self::Update>, Self::Error>;

    /// Makes one update.
    fn update(&self, live: &Self::Out, update: Self::Update) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// How long to wait for readiness after a create, or when a found resource is still coming up; `None` for
    /// kinds that are usable as soon as their create call returns.
    fn readiness(&self) -> Option<Bound> {
        None
    }

    /// What dependants get after the updates. Most kinds keep their identity (the default: the live out); a
    /// kind whose update makes a new one (a task definition's new revision) reads it back here, and in a plan
    /// answers a placeholder, so dependants plan their own change.
    fn after_update(&self, live: Self::Out, plan: bool) -> impl Future<Output = Result<Self::Out, Self::Error>> + Send {
        let _ = plan;
        async move { Ok(live) }
    }

    /// Lets another actor own part of the live state (a CODE_DEPLOY service's task definition belongs to the
    /// release): the resource copies those fields from `live` into `desired` and says why, as a warning.
    fn defer_to_live(&self, _desired: &mut Self::View, _live: &Self::View) -> Option<String> {
        None
    }
}

/// A kind the core can also delete (pruning what the config no longer asks for, destroy).
pub trait Delete: Resource {
    /// Deletes it; "not found" is success.
    fn delete(&self, live: &Self::Out) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Brings one resource to its desired view by the contract: find (waiting while it is not ready) → diff →
/// create or the typed updates → [`Outcome`], journalled. A plan runs the same finds and diffs and writes
/// nothing; an unchanged resource gets no write call, by construction.
pub async fn ensure<R: Resource>(env: &Env, r: &R) -> Result<Outcome<R::Out>, R::Error> {
    Ok(ensure_then(env, r, true).await?.0)
}

/// [`ensure`] for a kind whose dependants need only its id, not it ready (a listener names a load balancer that
/// is still provisioning): a resource this run creates is handed back as soon as its create call answers, with
/// `true` — the caller must [`wait_ready`] it before its run ends. One found still coming up is waited for
/// before the diff, as [`ensure`] does (its live state is not final until then).
pub async fn ensure_started<R: Resource>(env: &Env, r: &R) -> Result<(Outcome<R::Out>, bool), R::Error> {
    ensure_then(env, r, false).await
}

async fn ensure_then<R: Resource>(env: &Env, r: &R, wait_created: bool) -> Result<(Outcome<R::Out>, bool), R::Error> {
    let name = r.name();
    let mut coming_up = false;
    // Boxed: a whole deploy nests dozens of these, and inline they would make its future (and the stack that
    // polls it) grow with every resource kind.
    env.track(
        R::KIND,
        &name,
        Box::pin(async {
            let Some(mut live) = r.find().await? else {
                if env.is_plan() {
                    return Ok(Outcome::Created(r.planned()));
                }
                let out = r.create(r.desired()).await?;
                return match r.readiness() {
                    Some(_) if wait_created => Ok(Outcome::Created(wait_ready(env, r).await?.out)),
                    Some(_) => {
                        coming_up = true;
                        Ok(Outcome::Created(out))
                    }
                    None => Ok(Outcome::Created(out)),
                };
            };
            match (&live.readiness, r.readiness()) {
                (Readiness::Failed(state), _) => {
                    return Err(
                        crate::Error::WaitFailed { what: format!("{} {name}", R::KIND), state: state.clone() }.into()
                    );
                }
                // A run cancelled during this wait left it coming up: resume the wait rather than build on it.
                (Readiness::Pending(_), Some(_)) if !env.is_plan() => live = wait_ready(env, r).await?,
                _ => {}
            }
            let mut desired = r.desired().clone();
            if let Some(why) = r.defer_to_live(&mut desired, &live.view) {
                env.warn(R::KIND, &name, why);
            }
            let changes = diff(&desired, &live.view);
            if changes.is_empty() {
                return Ok(Outcome::Unchanged(live.out));
            }
            let updates = r.updates(&desired, &live.view)?;
            if updates.is_empty() {
                // A difference nothing applies would report "updated" forever and change nothing: say so instead.
                return Err(crate::Error::Invariant {
                    resource: format!("{} {name}", R::KIND),
                    message: format!(
                        "{} differ but no update applies them",
                        changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                }
                .into());
            }
            if !env.is_plan() {
                for u in updates {
                    r.update(&live.out, u).await?;
                }
            }
            Ok(Outcome::Updated(r.after_update(live.out, env.is_plan()).await?, changes))
        }),
    )
    .await
    .map(|outcome| (outcome, coming_up))
}

/// Deletes a resource the config no longer asks for (in a plan: journals the delete). `Ok(false)` when there
/// was nothing to delete.
pub async fn prune<R: Delete>(env: &Env, r: &R) -> Result<bool, R::Error> {
    let name = r.name();
    let mut deleted = false;
    env.track_delete(R::KIND, &name, async {
        let Some(live) = r.find().await? else { return Ok::<_, R::Error>(None) };
        if !env.is_plan() {
            r.delete(&live.out).await?;
        }
        deleted = true;
        Ok(Some(live.out.to_string()))
    })
    .await?;
    Ok(deleted)
}

/// Polls the kind's own `find` until it reports ready, within its `readiness()` bound: for the core's waits, and
/// for a create that must configure the resource once it is usable (an EFS lifecycle policy).
pub async fn wait_ready<R: Resource>(env: &Env, r: &R) -> Result<Found<R>, R::Error> {
    let name = r.name();
    let bound = r.readiness().unwrap_or_else(|| Bound::new(std::time::Duration::ZERO, std::time::Duration::ZERO));
    env.waiting(R::KIND, &name, "ready");
    let what = format!("{} {name} ready", R::KIND);
    // The poll's error type is the core's; a resource error met while polling is carried out beside it.
    let failure: std::sync::Mutex<Option<R::Error>> = std::sync::Mutex::new(None);
    let polled = poll_until(&what, &bound, || async {
        match r.find().await {
            Ok(None) => Ok(Poll::Pending("not found yet".into())),
            Ok(Some(live)) => Ok(match &live.readiness {
                Readiness::Ready => Poll::Ready(live),
                Readiness::Pending(s) => Poll::Pending(s.clone()),
                Readiness::Failed(s) => Poll::Failed(s.clone()),
            }),
            Err(e) => {
                let message = e.to_string();
                *failure.lock().expect("failure lock") = Some(e);
                Err(crate::Error::Invariant { resource: what.clone(), message })
            }
        }
    })
    .await;
    match (polled, failure.into_inner().expect("failure lock")) {
        (Ok(live), _) => Ok(live),
        (Err(_), Some(e)) => Err(e),
        (Err(e), None) => Err(e.into()),
    }
}

/// The updates whose condition holds, in order: `when([(d.a != l.a, U::A), (d != l, U::Whole)])`.
pub fn when<U>(updates: impl IntoIterator<Item = (bool, U)>) -> Vec<U> {
    updates.into_iter().filter_map(|(differs, u)| differs.then_some(u)).collect()
}

/// The differences between two views as one change (fields joined), for a refusal that names them all.
pub fn changed<V: Serialize>(desired: &V, live: &V) -> Change {
    let changes = diff(desired, live);
    let join = |f: fn(&Change) -> &str| changes.iter().map(f).collect::<Vec<_>>().join(", ");
    Change::new(join(|c| c.field.as_str()), join(|c| c.from.as_str()), join(|c| c.to.as_str()))
}

/// Every difference between two views, field by field (nested objects by path: `network.subnets`); lists and
/// scalars compare as wholes, so order matters (views keep lists sorted where AWS does not keep order).
pub fn diff<V: Serialize>(desired: &V, live: &V) -> Vec<Change> {
    let mut out = Vec::new();
    let (d, l) = (to_value(desired), to_value(live));
    walk("", &d, &l, &mut out);
    out
}

fn to_value<V: Serialize>(v: &V) -> Value {
    // A view is plain data (no maps with non-string keys): serialising it cannot fail.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn walk(path: &str, desired: &Value, live: &Value, out: &mut Vec<Change>) {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => {
            for (k, dv) in d {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                walk(&p, dv, l.get(k).unwrap_or(&Value::Null), out);
            }
        }
        // Lists of records (ingress rules, targets) show only what leaves and what arrives.
        (Value::Array(d), Value::Array(l)) if d != l && d.iter().chain(l).all(Value::is_object) => {
            let only =
                |a: &[Value], b: &[Value]| -> Vec<Value> { a.iter().filter(|x| !b.contains(x)).cloned().collect() };
            let (gone, new) = (only(l, d), only(d, l));
            if gone.is_empty() && new.is_empty() {
                out.push(Change::new(path, render(&Value::Array(l.clone())), render(&Value::Array(d.clone()))));
            } else {
                let side = |v: Vec<Value>| if v.is_empty() { "none".to_string() } else { render(&Value::Array(v)) };
                out.push(Change::new(path, side(gone), side(new)));
            }
        }
        (d, l) if d != l => out.push(Change::new(path, render(l), render(d))),
        _ => {}
    }
}

/// `none` for absent, strings bare, lists comma-joined, records as `key=value` pairs in braces: `30 -> 14`,
/// `subnet-a,subnet-b -> subnet-c`, `{port=8080 source=203.0.113.0/24}`.
fn render(v: &Value) -> String {
    match v {
        Value::Null => "none".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_object) => {
            a.iter().map(render).collect::<Vec<_>>().join(", ")
        }
        Value::Object(m) => {
            let pairs: Vec<String> =
                m.iter().filter(|(_, x)| !x.is_null()).map(|(k, x)| format!("{k}={}", render(x))).collect();
            format!("{{{}}}", pairs.join(" "))
        }
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
            if a.is_empty() {
                "[]".into()
            } else {
                a.iter().map(render).collect::<Vec<_>>().join(",")
            }
        }
        other => other.to_string(),
    }
}

/// The field-coverage proof, shared by every kind's test.
pub mod testing {
    use super::*;

    /// Changes every leaf of each sample on its own (a string, number, flag, list, absent value, or an optional
    /// part as a whole) and asserts the kind's diff sees it and its `updates` answer an update or a refusal —
    /// never nothing. Fails naming the field, so a field the create request sets but the update forgets cannot
    /// pass. Give several samples when an optional part is absent in one (each leaf must be changed in one).
    pub fn assert_every_field_compared<R: Resource>(r: &R, samples: &[R::View]) {
        let mut unchanged = Vec::new();
        let mut leaves = std::collections::BTreeMap::<String, bool>::new();
        for sample in samples {
            let base = to_value(sample);
            let mut paths = Vec::new();
            collect_paths("", &base, &mut paths);
            for (path, leaf) in paths {
                let changed =
                    mutations(&base, &path).into_iter().find_map(|v| serde_json::from_value::<R::View>(v).ok());
                let covered = leaves.entry(path.clone()).or_insert(false);
                *covered |= changed.is_some() || !leaf;
                let Some(changed) = changed else { continue };
                if diff(&changed, sample).is_empty() {
                    unchanged.push(format!("{path} (the diff does not see it)"));
                    continue;
                }
                if let Ok(u) = r.updates(&changed, sample)
                    && u.is_empty()
                {
                    unchanged.push(format!("{path} (no update applies it)"));
                }
            }
        }
        let stuck: Vec<&String> = leaves.iter().filter(|(_, c)| !**c).map(|(p, _)| p).collect();
        assert!(!leaves.is_empty(), "{}: the view has no fields", R::KIND);
        assert!(
            stuck.is_empty(),
            "{}: no sample lets these fields change into another valid value: {stuck:?}",
            R::KIND
        );
        unchanged.dedup();
        assert!(unchanged.is_empty(), "{}: changing these fields plans nothing: {}", R::KIND, unchanged.join("; "));
    }

    /// Every path of the view, `true` for leaves; objects are listed too (as a whole they may be optional).
    fn collect_paths(path: &str, v: &Value, out: &mut Vec<(String, bool)>) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                if !path.is_empty() {
                    out.push((path.to_string(), false));
                }
                for (k, x) in m {
                    collect_paths(&if path.is_empty() { k.clone() } else { format!("{path}.{k}") }, x, out);
                }
            }
            _ => out.push((path.to_string(), true)),
        }
    }

    /// Candidate replacements for the leaf at `path`, each a whole view; the first that deserialises is used.
    fn mutations(base: &Value, path: &str) -> Vec<Value> {
        // The root itself is the leaf of a view that is a bare value (a list of subnets).
        let keys: Vec<&str> = path.split('.').filter(|k| !k.is_empty()).collect();
        let leaf = keys.iter().try_fold(base, |v, k| v.get(k)).cloned().unwrap_or(Value::Null);
        let candidates: Vec<Value> = match &leaf {
            Value::Bool(b) => vec![Value::Bool(!b)],
            Value::Number(n) => vec![serde_json::json!(n.as_f64().unwrap_or(0.0) as i64 + 1)],
            Value::String(s) => vec![Value::String(format!("{s}-changed")), Value::Null],
            Value::Array(a) if a.is_empty() => {
                vec![serde_json::json!(["changed"]), serde_json::json!([1]), serde_json::json!([{}])]
            }
            Value::Array(a) => {
                let mut more = a.clone();
                more.push(a[0].clone());
                vec![Value::Array(a[..a.len() - 1].to_vec()), Value::Array(more)]
            }
            Value::Null => vec![serde_json::json!("changed"), serde_json::json!(1), serde_json::json!(true)],
            Value::Object(_) => vec![Value::Null],
        };
        candidates
            .into_iter()
            .filter(|c| *c != leaf)
            .map(|c| {
                let mut v = base.clone();
                let mut slot = &mut v;
                for k in &keys {
                    slot = &mut slot[*k];
                }
                *slot = c;
                v
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use serde::Deserialize;

    use super::*;
    use crate::env::Mode;
    use crate::outcome::Action;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct View {
        size: u32,
        tags: Vec<String>,
        nested: Nested,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Nested {
        fixed: String,
        note: Option<String>,
    }

    #[derive(Debug)]
    enum Up {
        Size(u32),
        Tags,
        Note,
    }

    /// A fake kind: `live` is what find returns; `pending` polls say it is still coming up; writes are counted.
    struct Fake {
        desired: View,
        live: Mutex<Option<View>>,
        pending: AtomicUsize,
        writes: AtomicUsize,
        forget_note: bool,
        failed: bool,
    }

    fn view() -> View {
        View { size: 1, tags: vec!["a".into()], nested: Nested { fixed: "x".into(), note: Some("n".into()) } }
    }

    fn fake(live: Option<View>) -> Fake {
        Fake {
            desired: view(),
            live: Mutex::new(live),
            pending: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
            forget_note: false,
            failed: false,
        }
    }

    impl Resource for Fake {
        type View = View;
        type Out = String;
        type Update = Up;
        type Error = crate::Error;
        const KIND: &'static str = "fake";

        fn name(&self) -> String {
            "f".into()
        }
        fn desired(&self) -> &View {
            &self.desired
        }
        fn planned(&self) -> String {
            "<new fake>".into()
        }
        async fn find(&self) -> crate::Result<Option<Live<View, String>>> {
            let live = self.live.lock().unwrap().clone();
            let readiness = match self.pending.load(Ordering::SeqCst) {
                _ if self.failed => Readiness::Failed("failed".into()),
                0 => Readiness::Ready,
                n => {
                    self.pending.store(n - 1, Ordering::SeqCst);
                    Readiness::Pending("creating".into())
                }
            };
            Ok(live.map(|view| Live { view, out: "id-1".into(), readiness }))
        }
        async fn create(&self, desired: &View) -> crate::Result<String> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            *self.live.lock().unwrap() = Some(desired.clone());
            Ok("id-1".into())
        }
        fn updates(&self, d: &View, l: &View) -> crate::Result<Vec<Up>> {
            if d.nested.fixed != l.nested.fixed {
                return Err(crate::Error::NeedsReplacement {
                    resource: "fake f".into(),
                    change: Change::new("nested.fixed", &l.nested.fixed, &d.nested.fixed),
                    remedy: "recreate it".into(),
                });
            }
            let mut u = Vec::new();
            if d.size != l.size {
                u.push(Up::Size(d.size));
            }
            if d.tags != l.tags {
                u.push(Up::Tags);
            }
            if d.nested.note != l.nested.note && !self.forget_note {
                u.push(Up::Note);
            }
            Ok(u)
        }
        async fn update(&self, _: &String, u: Up) -> crate::Result<()> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            let mut live = self.live.lock().unwrap();
            let live = live.as_mut().unwrap();
            match u {
                Up::Size(s) => live.size = s,
                Up::Tags => live.tags = self.desired.tags.clone(),
                Up::Note => live.nested.note = self.desired.nested.note.clone(),
            }
            Ok(())
        }
        fn readiness(&self) -> Option<Bound> {
            Some(Bound::new(Duration::from_secs(60), Duration::from_secs(1)))
        }
    }

    impl Delete for Fake {
        async fn delete(&self, _: &String) -> crate::Result<()> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            *self.live.lock().unwrap() = None;
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn absent_is_created_then_unchanged_with_zero_writes() {
        let env = Env::new("s", Mode::Apply);
        let f = fake(None);
        assert_eq!(ensure(&env, &f).await.unwrap(), Outcome::Created("id-1".into()));
        let writes = f.writes.load(Ordering::SeqCst);
        assert_eq!(ensure(&env, &f).await.unwrap(), Outcome::Unchanged("id-1".into()));
        assert_eq!(f.writes.load(Ordering::SeqCst), writes, "an unchanged resource got a write");
    }

    #[tokio::test(start_paused = true)]
    async fn a_plan_writes_nothing_and_reports_the_changes() {
        let env = Env::new("s", Mode::Plan);
        let f = fake(None);
        assert_eq!(ensure(&env, &f).await.unwrap(), Outcome::Created("<new fake>".into()));
        let mut drifted = view();
        drifted.size = 3;
        let f = fake(Some(drifted));
        let out = ensure(&env, &f).await.unwrap();
        assert_eq!(out.changes(), [Change::new("size", 3, 1)]);
        assert_eq!(f.writes.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn drift_applies_only_the_typed_updates_that_differ() {
        let env = Env::new("s", Mode::Apply);
        let mut drifted = view();
        drifted.tags = vec!["b".into(), "a".into()];
        let f = fake(Some(drifted));
        let out = ensure(&env, &f).await.unwrap();
        assert_eq!(out.changes(), [Change::new("tags", "b,a", "a")]);
        assert_eq!(f.writes.load(Ordering::SeqCst), 1);
        assert_eq!(f.live.lock().unwrap().as_ref(), Some(&view()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_found_resource_still_coming_up_is_waited_for_before_the_diff() {
        let env = Env::new("s", Mode::Apply);
        let f = fake(Some(view()));
        f.pending.store(3, Ordering::SeqCst);
        assert_eq!(ensure(&env, &f).await.unwrap(), Outcome::Unchanged("id-1".into()));
        assert_eq!(f.pending.load(Ordering::SeqCst), 0, "the wait ended before the resource was ready");
        // A plan reports, it does not wait.
        f.pending.store(3, Ordering::SeqCst);
        ensure(&Env::new("s", Mode::Plan), &f).await.unwrap();
        assert_eq!(f.pending.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn started_hands_back_a_new_resource_before_it_is_ready_and_waits_for_a_found_one() {
        let env = Env::new("s", Mode::Apply);
        let f = fake(None);
        f.pending.store(3, Ordering::SeqCst);
        let (outcome, coming_up) = ensure_started(&env, &f).await.unwrap();
        assert_eq!((outcome, coming_up), (Outcome::Created("id-1".into()), true));
        // The fake counts every find: the one before the create, and no poll after it.
        assert_eq!(f.pending.load(Ordering::SeqCst), 2, "the create waited for readiness");
        // The caller's wait, before its run ends.
        wait_ready(&env, &f).await.unwrap();
        assert_eq!(f.pending.load(Ordering::SeqCst), 0);
        // Found coming up (a cancelled run's): waited for before the diff, nothing left to wait for.
        f.pending.store(2, Ordering::SeqCst);
        let (outcome, coming_up) = ensure_started(&env, &f).await.unwrap();
        assert_eq!((outcome, coming_up), (Outcome::Unchanged("id-1".into()), false));
        assert_eq!(f.pending.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_resource_that_never_becomes_ready_times_out_naming_its_state() {
        let env = Env::new("s", Mode::Apply);
        let f = fake(Some(view()));
        f.pending.store(1000, Ordering::SeqCst);
        let err = ensure(&env, &f).await.unwrap_err();
        assert!(matches!(err, crate::Error::WaitTimeout { ref last, .. } if last == "creating"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_resource_is_an_error_not_unchanged() {
        let mut f = fake(Some(view()));
        f.failed = true;
        let err = ensure(&Env::new("s", Mode::Plan), &f).await.unwrap_err();
        assert!(matches!(err, crate::Error::WaitFailed { ref state, .. } if state == "failed"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_immutable_field_is_a_refusal_naming_the_remedy() {
        let mut live = view();
        live.nested.fixed = "y".into();
        let err = ensure(&Env::new("s", Mode::Plan), &fake(Some(live))).await.unwrap_err();
        assert!(err.to_string().contains("recreate it"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_difference_no_update_applies_is_an_error() {
        let mut live = view();
        live.nested.note = None;
        let mut f = fake(Some(live));
        f.forget_note = true;
        let err = ensure(&Env::new("s", Mode::Apply), &f).await.unwrap_err();
        assert!(err.to_string().contains("nested.note differ but no update applies them"), "{err}");
        assert_eq!(f.writes.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn prune_deletes_what_exists_and_journals_it() {
        let env = Env::new("s", Mode::Apply);
        let f = fake(Some(view()));
        assert!(prune(&env, &f).await.unwrap());
        assert!(!prune(&env, &f).await.unwrap());
        let deletes: Vec<_> = env.records().into_iter().filter(|r| r.action == Action::Delete).collect();
        assert_eq!(deletes.len(), 1);
    }

    #[test]
    fn every_field_of_the_fake_is_compared() {
        testing::assert_every_field_compared(&fake(None), &[view()]);
    }

    #[test]
    #[should_panic(expected = "nested.note (no update applies it)")]
    fn a_field_the_update_forgets_fails_the_coverage_test() {
        let mut f = fake(None);
        f.forget_note = true;
        testing::assert_every_field_compared(&f, &[view()]);
    }

    #[test]
    fn diff_renders_paths_and_values() {
        let mut d = view();
        d.nested.note = None;
        d.size = 14;
        let mut l = view();
        l.size = 30;
        let mut changes = diff(&d, &l);
        changes.sort_by(|a, b| a.field.cmp(&b.field));
        assert_eq!(changes, [Change::new("nested.note", "n", "none"), Change::new("size", 30, 14)]);
    }
}
