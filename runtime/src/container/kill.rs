//! Kill: signal the container's init (or, with `all`, every process in its cgroup).
//!
//! Errors use runc's phrases, which containerd's shim matches on: "container not running",
//! "no such process", "does not exist".

use std::path::Path;

use anyhow::bail;

use crate::cgroups;
use crate::state::{ContainerDir, Status};

pub fn kill(root: &Path, id: &str, sig: i32, all: bool) -> anyhow::Result<()> {
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
        bail!("cannot kill container {id}: container not running (stopped)");
    }
    if let Err(e) = crate::sys::kill(st.pid, sig) {
        if e.raw_os_error() == Some(libc::ESRCH) {
            bail!("cannot kill container {id} (pid {}): no such process", st.pid);
        }
        bail!("cannot kill container {id} (pid {}): {e}", st.pid);
    }
    Ok(())
}
