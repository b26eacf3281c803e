//! Kill: signal the container's init (or, with `all`, every process in its cgroup).
//!
//! Errors use runc's phrases, which containerd's shim matches on: "container not running",
//! "no such process", "does not exist".

use std::path::Path;

use crate::cgroups::{self, CgroupError};
use crate::state::{ContainerDir, StateError, Status};

#[derive(Debug, thiserror::Error)]
pub enum KillError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error("cannot kill container {0}: container not running (stopped)")]
    NotRunning(String),
    #[error("cannot kill container {id} (pid {pid}): no such process")]
    NoSuchProcess { id: String, pid: i32 },
    #[error("cannot kill container {id} (pid {pid}): {source}")]
    Kill { id: String, pid: i32, source: std::io::Error },
}

pub fn kill(root: &Path, id: &str, sig: i32, all: bool) -> Result<(), KillError> {
    let dir = ContainerDir::open(root, id, false)?;
    let st = dir.load()?;
    let status = st.status(&dir);
    if all {
        // As runc: with --all a stopped container is not an error; whatever is left in its
        // cgroup (a container without its own pid namespace) still gets the signal.
        let pids = match &st.cgroup_dirs {
            Some(own) => cgroups::owned_pids(own),
            None if status == Status::Stopped => cgroups::pids(&st.cgroup_path, &st.id).unwrap_or_default(),
            None => cgroups::pids(&st.cgroup_path, &st.id)?,
        };
        for pid in pids {
            // A process gone since the listing is not an error.
            let _ = crate::sys::kill(pid, sig);
        }
        return Ok(());
    }
    // The pid is only signalled while its start time still matches: never a recycled pid.
    if status == Status::Stopped || !st.init_pid_is_ours() {
        return Err(KillError::NotRunning(id.to_string()));
    }
    crate::sys::kill(st.pid, sig).map_err(|source| match source.raw_os_error() {
        Some(libc::ESRCH) => KillError::NoSuchProcess { id: id.to_string(), pid: st.pid },
        _ => KillError::Kill { id: id.to_string(), pid: st.pid, source },
    })
}
