//! `delete`: remove a container and everything the runtime made for it.

use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;

use crate::state::{ContainerDir, ContainerState, StateError, Status};
use crate::{cgroups, hooks, Cli};

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
        Err(StateError::NotFound(..)) if a.force => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let st = match dir.load() {
        Ok(s) => s,
        // A runtime killed between claiming the id and writing state: nothing else exists.
        Err(_) if a.force => {
            dir.remove()?;
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
pub fn destroy(dir: &ContainerDir, st: &ContainerState) -> anyhow::Result<()> {
    if st.init_alive() {
        // SAFETY: kill(2) on a pid whose start time matched just now.
        unsafe { libc::kill(st.pid, libc::SIGKILL) };
        wait_gone(st, Duration::from_secs(10));
    }
    // Kills anything still in the cgroup (a container without its own pid namespace can
    // leave children behind its init) and removes it.
    cgroups::remove(&st.cgroup_path, &st.id)?;
    if let Some(h) = st.hooks.as_ref().and_then(|h| h.poststop().clone()) {
        let state_json = serde_json::to_vec(&crate::commands::create::hook_state(st, "stopped"))?;
        if let Err(e) = hooks::run_all("poststop", &h, &state_json) {
            crate::log::warn(&e.to_string());
        }
    }
    dir.remove()?;
    Ok(())
}

/// Waits until the init is no longer alive (exited; maybe an unreaped zombie of its parent).
fn wait_gone(st: &ContainerState, limit: Duration) {
    let pidfd = crate::sys::pidfd_open(st.pid).ok();
    let start = Instant::now();
    if let Some(fd) = &pidfd {
        let _ = crate::sys::wait_pidfd(fd, limit.as_millis() as i32);
        return;
    }
    while st.init_alive() && start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(5));
    }
}
