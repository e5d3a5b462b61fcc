//! A bounded poll for resources that have no SDK waiter. Where a waiter exists, use it instead.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, Result};

/// What one poll saw.
#[derive(Debug)]
pub enum Poll<T> {
    Ready(T),
    /// Not yet; the string is the current state, reported if the wait times out.
    Pending(String),
    /// A state from which the resource will never become ready: fail fast.
    Failed(String),
}

/// How to wait: total bound, the longest pause between polls, and how many consecutive `Ready` polls count as
/// ready (more than one absorbs eventually consistent reads).
#[derive(Debug, Clone)]
pub struct Bound {
    pub max_wait: Duration,
    pub interval: Duration,
    pub consecutive: u32,
}

impl Bound {
    pub fn new(max_wait: Duration, interval: Duration) -> Self {
        Self { max_wait, interval, consecutive: 1 }
    }
}

/// The first pause between polls; each later one doubles, up to the bound's interval. A resource that is ready
/// in seconds is seen within a fraction of one, one that takes minutes costs a handful of extra reads (the
/// schedule of terraform-plugin-sdk's StateChangeConf: 100 ms doubling up to its cap).
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// The pace of every wait here against real time: 1 (the default) on AWS. A run against an emulator whose
/// lifecycle clock runs at `f` × AWS's speed may set `f` too ([`set_pace`]): its pauses and bounds then run on the
/// same clock as AWS's durations, so the whole run is AWS's timeline scaled by one factor and wall time ÷ `f` is
/// the time it would take on AWS (the benchmark does this; without it, a 15 s poll pause would cost 15 s ÷ `f`
/// of AWS time).
static PACE_BITS: AtomicU64 = AtomicU64::new(0x3FF0_0000_0000_0000); // 1.0_f64

/// Sets [`PACE_BITS`]'s factor for this process (clamped to (0, 1]).
pub fn set_pace(factor: f64) {
    let f = if factor > 0.0 && factor <= 1.0 { factor } else { 1.0 };
    PACE_BITS.store(f.to_bits(), Ordering::Relaxed);
}

fn paced(d: Duration) -> Duration {
    d.mul_f64(f64::from_bits(PACE_BITS.load(Ordering::Relaxed)))
}

/// A bound on the current pace: (its total, its first pause, its longest pause).
fn paced_bound(bound: &Bound) -> (Duration, Duration, Duration) {
    (paced(bound.max_wait), paced(FIRST_PAUSE.min(bound.interval)), paced(bound.interval))
}

/// Polls `check` until it is `Ready` `bound.consecutive` times in a row, fails on `Failed`, or times out.
pub async fn poll_until<T, F, Fut>(what: &str, bound: &Bound, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>>>,
{
    let start = Instant::now();
    let mut streak = 0;
    let (max_wait, mut pause, interval) = paced_bound(bound);
    let mut last;
    loop {
        match check().await? {
            Poll::Ready(v) => {
                streak += 1;
                if streak >= bound.consecutive.max(1) {
                    return Ok(v);
                }
                last = "ready".into();
            }
            Poll::Pending(state) => {
                streak = 0;
                last = state;
            }
            Poll::Failed(state) => {
                return Err(Error::WaitFailed { what: what.into(), state });
            }
        }
        if start.elapsed() + pause > max_wait {
            return Err(Error::WaitTimeout { what: what.into(), waited_s: start.elapsed().as_secs(), last });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(interval);
    }
}

/// Repeats `call` while it fails with an error `passes` says will pass once an earlier change has settled (a
/// dependency still being released, a role still propagating). Any other error, and the last one when `bound`
/// runs out, is returned as it came; the pauses follow [`poll_until`]'s schedule.
/// `notice` hears the first such error (to say what the run now waits for).
pub async fn retry_while<T, F, Fut>(
    passes: impl Fn(&Error) -> bool,
    bound: &Bound,
    notice: impl FnOnce(&Error),
    mut call: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let start = Instant::now();
    let (max_wait, mut pause, interval) = paced_bound(bound);
    let mut notice = Some(notice);
    loop {
        match call().await {
            Err(e) if passes(&e) && start.elapsed() + pause <= max_wait => {
                if let Some(notice) = notice.take() {
                    notice(&e);
                }
                tracing::info!(error = %e, retry_in_ms = pause.as_millis() as u64, "retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(interval);
            }
            other => return other,
        }
    }
}

/// How each service refuses a role IAM has not yet propagated to it (code, and a fragment of the message), as
/// terraform-provider-aws recognises them; docs/aws/iam-propagation-and-sns-kms.md §A.1 cites each.
pub const IAM_PROPAGATION: &[(&str, &str)] = &[
    ("InvalidInputException", "ot authorized to perform"),
    ("InvalidStructureException", "not authorized"),
    ("InvalidRoleException", ""),
    ("InvalidPolicyException", "Policy contains invalid Principal block"),
    ("InvalidParameterException", "Unable to assume the service linked role"),
];

/// IAM is eventually consistent: a role just created (or just given a policy) is refused by the service that
/// assumes it for a while ("Changes that I make are not always immediately visible", IAM User Guide). `call`, which
/// writes `kind` `name`, is retried on those refusals for 2 minutes (terraform-provider-aws's
/// `propagationTimeout`), and the wait is announced once.
pub async fn retry_iam_propagation<T, F, Fut>(env: &crate::Env, kind: &str, name: &str, call: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let propagating =
        |e: &Error| IAM_PROPAGATION.iter().any(|(code, fragment)| e.is_code(&[code]) && e.message().contains(fragment));
    let notice =
        |e: &Error| env.waiting(kind, name, &format!("IAM has propagated its role (AWS said: {})", e.message()));
    retry_while(propagating, &Bound::new(Duration::from_secs(120), Duration::from_secs(5)), notice, call).await
}

/// EC2 is eventually consistent: an id it has just returned can be answered as not existing for a moment ("If
/// you run a command to modify or describe the resource immediately after creating it, its ID might not have
/// propagated throughout the system", EC2 API reference, "Eventual consistency in the Amazon EC2 API"). That is
/// each kind's `Invalid…ID.NotFound` (`InvalidGroup.NotFound` for security groups) or `NatGatewayNotFound`.
pub fn ec2_not_found(e: &Error) -> bool {
    e.code().is_some_and(|c| c.ends_with(".NotFound") || c == "NatGatewayNotFound")
}

/// `call`, an EC2 call for `kind` `name` that names an id (its own, or one it attaches to), retried while EC2
/// answers that an id does not exist, for 2 minutes (terraform-provider-aws's `ec2PropagationTimeout`); the wait
/// is announced once. Deletes are never wrapped: for them NotFound means gone.
pub async fn retry_ec2_propagation<T, F, Fut>(env: &crate::Env, kind: &str, name: &str, call: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let notice =
        |e: &Error| env.waiting(kind, name, &format!("EC2 has propagated the id it names (AWS said: {})", e.message()));
    retry_while(ec2_not_found, &Bound::new(Duration::from_secs(120), Duration::from_secs(5)), notice, call).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(code: &str) -> Error {
        Error::Aws {
            operation: "DeleteSubnet",
            resource: "subnet-1".into(),
            code: Some(code.into()),
            message: "m".into(),
            source: "m".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_the_named_codes_until_the_call_passes() {
        let mut n = 0;
        let bound = Bound::new(Duration::from_secs(60), Duration::from_secs(1));
        let v = retry_while(
            |e| e.is_code(&["DependencyViolation"]),
            &bound,
            |_| {},
            || {
                n += 1;
                let r = if n < 4 { Err(aws("DependencyViolation")) } else { Ok(n) };
                async move { r }
            },
        )
        .await
        .unwrap();
        assert_eq!(v, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_role_still_propagating_is_retried_and_a_real_input_error_is_not() {
        let refusal = |code: &str, message: &str| Error::Aws {
            operation: "CreateProject",
            resource: "p".into(),
            code: Some(code.into()),
            message: message.into(),
            source: "m".into(),
        };
        let env = crate::Env::new("t", crate::Mode::Apply);
        let mut n = 0;
        let v = retry_iam_propagation(&env, "build-project", "p", || {
            n += 1;
            let r = if n < 3 {
                Err(refusal("InvalidInputException", "CodeBuild is not authorized to perform: sts:AssumeRole on arn"))
            } else {
                Ok(n)
            };
            async move { r }
        })
        .await
        .unwrap();
        assert_eq!(v, 3);
        let mut n = 0;
        let err = retry_iam_propagation(&env, "build-project", "p", || {
            n += 1;
            async { Err::<(), _>(refusal("InvalidInputException", "Invalid buildspec")) }
        })
        .await
        .unwrap_err();
        assert_eq!((err.message(), n), ("Invalid buildspec", 1));
    }

    #[tokio::test(start_paused = true)]
    async fn an_ec2_id_still_propagating_is_retried_and_other_errors_are_not() {
        let env = crate::Env::new("t", crate::Mode::Apply);
        for code in ["InvalidVpcID.NotFound", "InvalidGroup.NotFound", "NatGatewayNotFound"] {
            let mut n = 0;
            let v = retry_ec2_propagation(&env, "subnet", "s", || {
                n += 1;
                let r = if n < 3 { Err(aws(code)) } else { Ok(n) };
                async move { r }
            })
            .await
            .unwrap();
            assert_eq!(v, 3, "{code}");
        }
        let mut n = 0;
        let err = retry_ec2_propagation(&env, "subnet", "s", || {
            n += 1;
            async { Err::<(), _>(aws("InvalidParameterValue")) }
        })
        .await
        .unwrap_err();
        assert_eq!((err.code(), n), (Some("InvalidParameterValue"), 1));
    }

    #[tokio::test(start_paused = true)]
    async fn other_codes_fail_at_once_and_the_bound_ends_the_retries() {
        let mut n = 0;
        let bound = Bound::new(Duration::from_secs(5), Duration::from_secs(1));
        let err = retry_while(
            |e| e.is_code(&["DependencyViolation"]),
            &bound,
            |_| {},
            || {
                n += 1;
                async { Err::<(), _>(aws("AccessDenied")) }
            },
        )
        .await
        .unwrap_err();
        assert!(err.is_code(&["AccessDenied"]) && n == 1, "{err} after {n} calls");
        let start = Instant::now();
        let dependency = |e: &Error| e.is_code(&["DependencyViolation"]);
        let err = retry_while(dependency, &bound, |_| {}, || async { Err::<(), _>(aws("DependencyViolation")) })
            .await
            .unwrap_err();
        assert!(err.is_code(&["DependencyViolation"]), "{err}");
        assert!(start.elapsed() <= Duration::from_secs(5), "{:?}", start.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn ready_after_pending() {
        let mut n = 0;
        let bound = Bound::new(Duration::from_secs(60), Duration::from_secs(1));
        let v = poll_until("thing", &bound, || {
            n += 1;
            let state = if n < 3 { Poll::Pending(format!("pending {n}")) } else { Poll::Ready(n) };
            async move { Ok(state) }
        })
        .await
        .unwrap();
        assert_eq!(v, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn pauses_start_short_and_double_up_to_the_interval() {
        let start = Instant::now();
        let mut at = Vec::new();
        let bound = Bound::new(Duration::from_secs(60), Duration::from_secs(1));
        poll_until("thing", &bound, || {
            at.push(start.elapsed().as_millis());
            let state = if at.len() < 7 { Poll::Pending("pending".into()) } else { Poll::Ready(()) };
            async move { Ok(state) }
        })
        .await
        .unwrap();
        assert_eq!(at, [0, 100, 300, 700, 1500, 2500, 3500]);
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_with_last_state() {
        let bound = Bound::new(Duration::from_secs(5), Duration::from_secs(1));
        let err = poll_until("nat", &bound, || async { Ok(Poll::<()>::Pending("pending".into())) }).await.unwrap_err();
        assert!(matches!(err, Error::WaitTimeout { ref last, .. } if last == "pending"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn consecutive_successes_required() {
        let mut n = 0;
        let bound = Bound { consecutive: 2, ..Bound::new(Duration::from_secs(60), Duration::from_secs(1)) };
        poll_until("x", &bound, || {
            n += 1;
            // ready, pending, ready, ready: the first lone "ready" must not count
            let s = if n == 2 { Poll::Pending("flap".into()) } else { Poll::Ready(()) };
            async move { Ok(s) }
        })
        .await
        .unwrap();
        assert_eq!(n, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn terminal_state_fails_fast() {
        let bound = Bound::new(Duration::from_secs(60), Duration::from_secs(1));
        let err = poll_until("nat", &bound, || async { Ok(Poll::<()>::Failed("failed".into())) }).await.unwrap_err();
        assert!(matches!(err, Error::WaitFailed { .. }));
    }
}
