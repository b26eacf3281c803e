//! `delete`: remove a container and everything the runtime made for it.

use std::time::Duration;

use anyhow::bail;
use clap::Args;

use crate::state::{ContainerDir, ContainerState, StateError, Status};
use crate::{cgroups, hooks, Cli};

/// How long `delete` waits for a SIGKILLed init to be gone before giving up (runc's figure).
const KILL_WAIT: Duration = Duration::from_secs(10);

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Kill the container first if it is still running (and succeed if it does not exist)
    #[arg(short, long)]
    pub force: bool,
    /// Container id
    pub id: String,
}

pub fn run(cli: &Cli, a: &DeleteArgs) -> anyhow::Result<i32> {
    let dir = match ContainerDir::open(&cli.root, &a.id, true) {
        Ok(d) => d,
        Err(StateError::NotFound(..)) => {
            // A create killed before its claim was complete leaves only a hidden directory.
            crate::state::sweep_dead_claims(&cli.root, &a.id);
            // And the cgroup claim of an entry removed by a delete that did not finish.
            crate::state::claims::release_stale_of(&cli.root, &a.id)?;
            if a.force {
                return Ok(0);
            }
            return Err(StateError::NotFound(a.id.clone(), cli.root.clone()).into());
        }
        Err(e) => return Err(e.into()),
    };
    let st = match dir.load() {
        Ok(s) => s,
        // No state.json at all (an entry of an older runtime killed between its mkdir and
        // its first write): nothing was made for it, nothing runs.
        Err(StateError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            dir.remove()?;
            crate::state::claims::release_stale_of(&cli.root, &a.id)?;
            return Ok(0);
        }
        Err(_) if a.force => {
            crate::log::warn(&format!("container {}: unreadable state; removing the entry only (its cgroup, if any, is left alone)", a.id));
            dir.remove()?;
            crate::state::claims::release_stale_of(&cli.root, &a.id)?;
            return Ok(0);
        }
        Err(e) => return Err(e.into()),
    };
    match st.status(&dir) {
        Status::Stopped | Status::Created => {}
        s if a.force => {
            if s == Status::Paused {
                let _ = cgroups::freeze(&st.cgroup_path, &st.id, false);
            }
        }
        s => bail!("cannot delete container {} that is not stopped: {s} (use delete --force, or kill it first)", a.id),
    }
    destroy(&dir, &st)?;
    Ok(0)
}

/// Kills whatever is left, removes the cgroup, runs poststop hooks, removes the state.
/// An init that outlives SIGKILL (stuck in the kernel) keeps everything in place and fails:
/// the state is what lets a later `delete` finish the job.
pub fn destroy(dir: &ContainerDir, st: &ContainerState) -> anyhow::Result<()> {
    // The container directory is <root>/<id>: its parent is the --root it was made under.
    let root = dir.dir.parent().unwrap_or(std::path::Path::new("/"));
    if st.init_alive() {
        // SAFETY: kill(2) on a pid whose start time matched just now.
        unsafe { libc::kill(st.pid, libc::SIGKILL) };
        wait_gone(st, KILL_WAIT);
    }
    ensure_gone(&st.id, st.pid, || st.init_alive())?;
    if let Some(h) = &st.host_mounts {
        crate::rootfs::hostns::unmount_ours(h).map_err(|e| anyhow::anyhow!("container {}: the mounts it made in the host's mount namespace: {e}", st.id))?;
    }
    // Kills anything still in the cgroup (a container without its own pid namespace can
    // leave children behind its init) and removes it: only what this container's create
    // recorded as made (or taken over) by it.
    match &st.cgroup_dirs {
        Some(own) => cgroups::remove_owned(own, &cgroups::ParentRegistry::new(root, &st.id))?,
        None => cgroups::remove_unrecorded(&st.cgroup_path)?,
    }
    if let Some(h) = st.hooks.as_ref().and_then(|h| h.poststop().clone()) {
        let state_json = serde_json::to_vec(&crate::commands::create::hook_state(st, "stopped"))?;
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
fn ensure_gone(id: &str, pid: i32, alive: impl Fn() -> bool) -> anyhow::Result<()> {
    if alive() {
        bail!(
            "container {id}: container init still running (pid {pid} survived SIGKILL for {}s; it is stuck in the kernel, e.g. frozen or in uninterruptible I/O): state kept, run delete --force again once it is gone",
            KILL_WAIT.as_secs()
        );
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
