//! OCI hooks (runtime-spec 1.2 "POSIX-platform Hooks").
//!
//! Each hook is executed with the container's state JSON on stdin, its own `args` (args[0]
//! included, as execve takes it) and `env`, and killed if it outlives `timeout` seconds.
//! Where a hook runs (which namespaces) is decided by the caller: prestart, createRuntime,
//! poststart and poststop from the runtime process; createContainer and startContainer from
//! the container's init, so they see the container's mount namespace.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use oci_spec::runtime::Hook;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{kind} hook {path}: cannot execute: {source}")]
    Spawn { kind: &'static str, path: String, source: std::io::Error },
    #[error("{kind} hook {path}: {status}{stderr}")]
    Failed { kind: &'static str, path: String, status: String, stderr: String },
    #[error("{kind} hook {path}: timed out after {secs}s and was killed")]
    Timeout { kind: &'static str, path: String, secs: i64 },
}

/// The state JSON a hook reads on stdin, from the runtime's side (the init writes its own
/// before it can see the state file): status as the spec names the moment, the init's pid.
pub fn state_json(st: &crate::state::ContainerState, status: &str) -> Vec<u8> {
    let mut v = st.oci_state(crate::state::Status::Created);
    v["status"] = serde_json::Value::from(status);
    v["pid"] = serde_json::Value::from(st.pid);
    v.to_string().into_bytes()
}

/// Runs `hooks` in order; the first failure stops the list and is returned.
pub fn run_all(kind: &'static str, hooks: &[Hook], state_json: &[u8]) -> Result<(), HookError> {
    for h in hooks {
        run_one(kind, h, state_json)?;
    }
    Ok(())
}

fn run_one(kind: &'static str, hook: &Hook, state_json: &[u8]) -> Result<(), HookError> {
    let path = hook.path().display().to_string();
    let mut cmd = Command::new(hook.path());
    if let Some(args) = hook.args() {
        if let Some((first, rest)) = args.split_first() {
            cmd.arg0(first);
            cmd.args(rest);
        }
    }
    cmd.env_clear();
    for kv in hook.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::inherit()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| HookError::Spawn { kind, path: path.clone(), source })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin gets EPIPE here; that is not a failure.
        let _ = stdin.write_all(state_json);
    }
    let pidfd = crate::sys::pidfd_open(child.id() as i32).ok();
    if let (Some(secs), Some(pidfd)) = (hook.timeout(), pidfd.as_ref()) {
        let ms = secs.saturating_mul(1000).min(i32::MAX as i64) as i32;
        if !crate::sys::wait_pidfd(pidfd, ms).unwrap_or(true) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(HookError::Timeout { kind, path, secs });
        }
    }
    let out = child.wait_with_output().map_err(|source| HookError::Spawn { kind, path: path.clone(), source })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    Err(HookError::Failed { kind, path, status: out.status.to_string(), stderr: if stderr.is_empty() { String::new() } else { format!(": {stderr}") } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::HookBuilder;

    fn sh(script: &str, timeout: Option<i64>) -> Hook {
        let mut b = HookBuilder::default().path("/bin/sh").args(vec!["sh".to_string(), "-c".into(), script.into()]);
        if let Some(t) = timeout {
            b = b.timeout(t);
        }
        b.build().unwrap()
    }

    #[test]
    fn state_reaches_stdin_and_failures_are_reported() {
        let dir = std::env::temp_dir().join(format!("ocirt-hook-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        run_all("poststart", &[sh(&format!("cat > {}", out.display()), None)], b"{\"id\":\"x\"}").unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "{\"id\":\"x\"}");
        let e = run_all("prestart", &[sh("echo nope >&2; exit 3", None)], b"{}").unwrap_err().to_string();
        assert!(e.contains("prestart hook /bin/sh") && e.contains("nope"), "{e}");
        let e = run_all("createRuntime", &[sh("sleep 5", Some(1))], b"{}").unwrap_err();
        assert!(matches!(e, HookError::Timeout { .. }));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
