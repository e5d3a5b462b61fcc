//! A bounded poll for resources that have no SDK waiter. Where a waiter exists, use it instead.

use std::future::Future;
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

/// Polls `check` until it is `Ready` `bound.consecutive` times in a row, fails on `Failed`, or times out.
pub async fn poll_until<T, F, Fut>(what: &str, bound: &Bound, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>>>,
{
    let start = Instant::now();
    let mut streak = 0;
    let mut pause = FIRST_PAUSE.min(bound.interval);
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
        if start.elapsed() + pause > bound.max_wait {
            return Err(Error::WaitTimeout { what: what.into(), waited_s: start.elapsed().as_secs(), last });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(bound.interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
