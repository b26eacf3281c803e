//! Delete: remove a container and everything the runtime made for it.

use std::path::Path;
use std::time::Duration;

use crate::cgroups::{self, CgroupError};
use crate::hooks;
use crate::state::{ContainerDir, ContainerState, StateError, Status};

#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error("cannot delete container {id} that is not stopped: {status} (use delete --force, or kill it first)")]
    NotStopped { id: String, status: Status },
    #[error(
        "container {id}: container init still running (pid {pid} survived SIGKILL for {}s; it is stuck in the kernel, e.g. frozen or in uninterruptible I/O): state kept, run delete --force again once it is gone",
        KILL_WAIT.as_secs()
    )]
    Survived { id: String, pid: i32 },
    #[error(transparent)]
    Claim(#[from] crate::state::claims::ClaimError),
    #[error("container {id}: the mounts it made in the host's mount namespace: {source}")]
    HostMounts { id: String, source: std::io::Error },
}

/// How long `delete` waits for a SIGKILLed init to be gone before giving up (runc's figure).
const KILL_WAIT: Duration = Duration::from_secs(10);

/// `delete [--force] ID`: a stopped or created container goes; with `force`, a running or
/// paused one is killed first, and a missing one is not an error.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<(), DeleteError> {
    let dir = match ContainerDir::open(root, id, true) {
        Ok(d) => d,
        Err(StateError::NotFound(..)) => {
            // A create killed before its claim was complete leaves only a hidden directory.
            crate::state::sweep_dead_claims(root, id);
            // And the cgroup claim of an entry removed by a delete that did not finish.
            crate::state::claims::release_stale_of(root, id)?;
            if force {
                return Ok(());
            }
            return Err(StateError::NotFound(id.to_string(), root.to_path_buf()).into());
        }
        Err(e) => return Err(e.into()),
    };
    let st = match dir.load() {
        Ok(s) => s,
        // No state.json at all (an entry of an older runtime killed between its mkdir and
        // its first write): nothing was made for it, nothing runs.
        Err(StateError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            dir.remove()?;
            crate::state::claims::release_stale_of(root, id)?;
            return Ok(());
        }
        Err(_) if force => {
            crate::log::warn(&format!("container {}: unreadable state; removing the entry only (its cgroup, if any, is left alone)", id));
            dir.remove()?;
            crate::state::claims::release_stale_of(root, id)?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    match st.status(&dir) {
        Status::Stopped | Status::Created => {}
        s if force => {
            if s == Status::Paused {
                let _ = cgroups::freeze(&st.cgroup_path, &st.id, false);
            }
        }
        status => return Err(DeleteError::NotStopped { id: id.to_string(), status }),
    }
    destroy(&dir, &st)
}

/// Kills whatever is left, removes the cgroup, runs poststop hooks, removes the state.
/// An init that outlives SIGKILL (stuck in the kernel) keeps everything in place and fails:
/// the state is what lets a later `delete` finish the job.
pub fn destroy(dir: &ContainerDir, st: &ContainerState) -> Result<(), DeleteError> {
    // The container directory is <root>/<id>: its parent is the --root it was made under.
    let root = dir.dir.parent().unwrap_or(Path::new("/"));
    if st.init_alive() {
        // The pid's start time matched just now: it is the init, not a recycled pid.
        let _ = crate::sys::kill(st.pid, libc::SIGKILL);
        wait_gone(st, KILL_WAIT);
    }
    ensure_gone(&st.id, st.pid, || st.init_alive())?;
    if let Some(h) = &st.host_mounts {
        crate::rootfs::hostns::unmount_ours(h).map_err(|source| DeleteError::HostMounts { id: st.id.clone(), source })?;
    }
    // Kills anything still in the cgroup (a container without its own pid namespace can
    // leave children behind its init) and removes it: only what this container's create
    // recorded as made (or taken over) by it.
    match &st.cgroup_dirs {
        Some(own) => cgroups::remove_owned(own, &cgroups::ParentRegistry::new(root, &st.id))?,
        None => cgroups::remove_unrecorded(&st.cgroup_path)?,
    }
    if let Some(h) = st.hooks.as_ref().and_then(|h| h.poststop().clone()) {
        let state_json = hooks::state_json(st, "stopped");
        if let Err(e) = hooks::run_all("poststop", &h, &state_json) {
            crate::log::warn(&e.to_string());
        }
    }
    dir.remove()?;
    // After the entry: a delete killed in between leaves a stale claim (taken over), never
    // a stored container whose cgroup another create could claim.
    crate::state::claims::release(root, &st.id, &st.cgroup_path)?;
    Ok(())
}

/// The decision after the wait, apart so that it can be tested without a stuck process.
fn ensure_gone(id: &str, pid: i32, alive: impl Fn() -> bool) -> Result<(), DeleteError> {
    if alive() {
        return Err(DeleteError::Survived { id: id.to_string(), pid });
    }
    Ok(())
}

/// Waits until the init is no longer alive (exited; maybe an unreaped zombie of its parent).
fn wait_gone(st: &ContainerState, limit: Duration) {
    if let Ok(fd) = crate::sys::pidfd_open(st.pid) {
        let _ = crate::sys::wait_pidfd(&fd, limit.as_millis() as i32);
        return;
    }
    let start = std::time::Instant::now();
    while st.init_alive() && start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_surviving_init_fails_the_delete() {
        let e = ensure_gone("c1", 42, || true).unwrap_err().to_string();
        assert!(e.contains("container init still running") && e.contains("c1") && e.contains("42"), "{e}");
        assert!(ensure_gone("c1", 42, || false).is_ok());
    }
}
