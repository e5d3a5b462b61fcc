//! The stack lock: one writing run (deploy, destroy) per stack at a time, wherever it runs — two terminals, a
//! person and a pipeline. Without it two deploys of a new stack started together each create a VPC, and every
//! later run refuses ("2 VPCs carry this stack's tags").
//!
//! The lock is an SSM parameter, `/ghost-ecs/<stack>/lock`, written only if absent (`PutParameter` without
//! `Overwrite` fails with `ParameterAlreadyExists`: the atomic create), holding who, which command, since when
//! and until when it is expected to be held. A second run waits a bounded time, then refuses naming the holder;
//! a lock whose holder died is taken only with an explicit `break_lock`. Read-only commands (plan, status) take
//! none. Anchor: Terraform's state locking (`-lock-timeout`, `force-unlock`).

use aws_sdk_ssm::operation::delete_parameter::DeleteParameterError;
use ghost_core::AbsentExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_ssm::types::ParameterType;
use aws_types::SdkConfig;
use ghost_core::{AwsResultExt, Env};
use serde::{Deserialize, Serialize};

/// How long a run may hold the lock before others call it stale (a Multi-AZ database alone takes 20 minutes).
const EXPECTED_HOLD: Duration = Duration::from_secs(2 * 60 * 60);
const POLL: Duration = Duration::from_secs(1);

/// How to take the lock.
#[derive(Debug, Clone)]
pub struct LockOptions {
    /// How long to wait for another run to finish before refusing.
    pub wait: Duration,
    /// Delete a lock another run holds (its holder died) and take it.
    pub break_lock: bool,
}

impl Default for LockOptions {
    fn default() -> Self {
        Self { wait: Duration::from_secs(10 * 60), break_lock: false }
    }
}

/// What the parameter holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// `user@host:pid/nonce`: unique per run, even for two runs in one process.
    pub holder: String,
    pub command: String,
    /// Unix seconds.
    pub since: u64,
    pub expires: u64,
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let age = now().saturating_sub(self.since);
        write!(f, "{} ({}, for {age} s", self.holder, self.command)?;
        if now() > self.expires {
            write!(f, "; past its expected end: its holder probably died")?;
        }
        write!(f, ")")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "stack {stack} is locked by {holder}; waited {waited_s} s. Run again when it is done, or, if that run died, \
         again with --break-lock (the lock is the SSM parameter {parameter})"
    )]
    Held { stack: String, holder: LockInfo, waited_s: u64, parameter: String },
    #[error(transparent)]
    Aws(#[from] ghost_core::Error),
}

/// A held lock; [`StackLock::release`] gives it back.
#[derive(Debug)]
pub struct StackLock {
    ssm: aws_sdk_ssm::Client,
    parameter: String,
    pub info: LockInfo,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub fn parameter_name(stack: &str) -> String {
    format!("/ghost-ecs/{stack}/lock")
}

/// `user@host` of this process.
fn user_host() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown-host".into());
    format!("{user}@{host}")
}

fn holder() -> String {
    let nonce = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{}:{}/{nonce:08x}", user_host(), std::process::id())
}

impl StackLock {
    /// Takes the stack's lock for `command`, waiting up to `opts.wait` for another holder. A wait is reported
    /// on `env` as a warning naming whom it waited for.
    pub async fn acquire(sdk: &SdkConfig, env: &Env, command: &str, opts: &LockOptions) -> Result<Self, LockError> {
        let ssm = aws_sdk_ssm::Client::new(sdk);
        let stack = env.stack().to_string();
        let parameter = parameter_name(&stack);
        let since = now();
        let info = LockInfo {
            holder: holder(),
            command: command.to_string(),
            since,
            expires: since + EXPECTED_HOLD.as_secs(),
        };
        let value = serde_json::to_string(&info).unwrap_or_default();
        let start = tokio::time::Instant::now();
        let mut waited_for: Option<LockInfo> = None;
        let mut broke = false;
        loop {
            let put = ssm
                .put_parameter()
                .name(&parameter)
                .value(&value)
                .r#type(ParameterType::String)
                .description(format!("ghost-ecs: the run writing stack {stack}"))
                .overwrite(false)
                .send()
                .await
                .aws("PutParameter", &parameter);
            let current = match put {
                Ok(_) => break,
                Err(e) if e.is_code(&["ParameterAlreadyExists"]) => read(&ssm, &parameter).await?,
                // A write whose answer was lost may still have landed: ours if the parameter holds our value.
                Err(e) => match read(&ssm, &parameter).await? {
                    Some(held) if held == info => break,
                    _ => return Err(e.into()),
                },
            };
            let Some(current) = current else { continue }; // released between our put and our read
            if current == info {
                break;
            }
            let dead = died_here(&current.holder);
            if (opts.break_lock || dead) && !broke {
                let why =
                    if dead { "took the lock of a run on this machine that died" } else { "broke the lock held by" };
                env.warn("stack-lock", &stack, format!("{why} {current}"));
                let res = ssm.delete_parameter().name(&parameter).send().await;
                res.absent_when(DeleteParameterError::is_parameter_not_found, "DeleteParameter", &parameter)?;
                broke = true;
                continue;
            }
            if start.elapsed() >= opts.wait {
                let waited_s = start.elapsed().as_secs();
                return Err(LockError::Held { stack, holder: current, waited_s, parameter });
            }
            if waited_for.as_ref().is_none_or(|w| w.holder != current.holder) {
                env.waiting("stack-lock", &stack, &format!("another run: {current}"));
                waited_for = Some(current);
            }
            tokio::time::sleep(POLL).await;
        }
        if let Some(w) = waited_for {
            env.warn("stack-lock", &stack, format!("waited {:.1} s for {w}", start.elapsed().as_secs_f64()));
        }
        Ok(Self { ssm, parameter, info })
    }

    /// Gives the lock back. A failed delete is retried a few times: a lock left behind blocks every later run
    /// until someone breaks it.
    pub async fn release(self) -> Result<(), LockError> {
        let mut last = None;
        for attempt in 0..3u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            // Only our own lock: one broken and re-taken by another run is theirs now.
            match read(&self.ssm, &self.parameter).await {
                Ok(Some(held)) if held != self.info => return Ok(()),
                Ok(None) => return Ok(()),
                Ok(Some(_)) | Err(_) => {}
            }
            let res = self.ssm.delete_parameter().name(&self.parameter).send().await;
            match res.absent_when(DeleteParameterError::is_parameter_not_found, "DeleteParameter", &self.parameter) {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.map_or_else(
            || {
                LockError::Aws(ghost_core::Error::Invariant {
                    resource: self.parameter.clone(),
                    message: "release failed".into(),
                })
            },
            LockError::Aws,
        ))
    }
}

/// True when `holder` names a process of this machine that no longer runs (killed, crashed): its lock is
/// certainly abandoned. A holder elsewhere can only be judged by a person (`break_lock`).
fn died_here(holder: &str) -> bool {
    let Some((who, _nonce)) = holder.rsplit_once('/') else { return false };
    let Some((their_user_host, pid)) = who.rsplit_once(':') else { return false };
    let Ok(pid) = pid.parse::<u32>() else { return false };
    if their_user_host != user_host() || pid == std::process::id() {
        return false;
    }
    // Gone, or a zombie nobody reaped (a stopped session's processes linger as zombies here).
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// The lock's current holder, if any; a value we cannot parse is shown as it is.
async fn read(ssm: &aws_sdk_ssm::Client, parameter: &str) -> Result<Option<LockInfo>, LockError> {
    let got = ssm.get_parameter().name(parameter).send().await;
    let absent = aws_sdk_ssm::operation::get_parameter::GetParameterError::is_parameter_not_found;
    let Some(got) = got.absent_when(absent, "GetParameter", parameter)? else { return Ok(None) };
    let value = got.parameter().and_then(|p| p.value()).unwrap_or_default();
    Ok(Some(serde_json::from_str(value).unwrap_or_else(|_| LockInfo {
        holder: format!("unknown ({value})"),
        command: "?".into(),
        since: 0,
        expires: 0,
    })))
}

/// Who holds the stack's lock now (for status).
pub async fn holder_of(sdk: &SdkConfig, stack: &str) -> Result<Option<LockInfo>, LockError> {
    read(&aws_sdk_ssm::Client::new(sdk), &parameter_name(stack)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_vanished_process_of_this_machine_counts_as_dead() {
        let mine = holder();
        let user_host = user_host();
        // Linux pids stop at 2^22: this one never runs.
        assert!(died_here(&format!("{user_host}:4294967/00000001")));
        assert!(!died_here(&mine), "our own process is alive");
        assert!(!died_here(&format!("{user_host}:1/00000001")), "pid 1 runs");
        assert!(!died_here("someone@elsewhere:4294967/00000001"), "another machine's holder is a person's call");
        assert!(!died_here("unknown (garbage)"));
    }
}
