//! `kill`: signal the container's init (or, with --all, every process in its cgroup).
//!
//! Errors use runc's phrases, which containerd's shim matches on: "container not running",
//! "no such process", "does not exist".

use anyhow::bail;
use clap::Args;

use crate::state::{ContainerDir, Status};
use crate::{cgroups, signals, Cli};

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Send the signal to all processes in the container
    #[arg(short, long)]
    pub all: bool,
    /// Container id
    pub id: String,
    /// Signal name or number (default SIGTERM)
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

pub fn run(cli: &Cli, a: &KillArgs) -> anyhow::Result<i32> {
    let Some(sig) = signals::parse(&a.signal) else {
        bail!("invalid signal {:?}: use a name like TERM or SIGKILL, or a number 1-64", a.signal);
    };
    let dir = ContainerDir::open(&cli.root, &a.id, false)?;
    let st = dir.load()?;
    let status = st.status(&dir);
    if a.all {
        // As runc: with --all a stopped container is not an error; whatever is left in its
        // cgroup (a container without its own pid namespace) still gets the signal.
        let pids = match &st.cgroup_dirs {
            Some(own) => cgroups::owned_pids(own),
            None if status == Status::Stopped => cgroups::pids(&st.cgroup_path, &st.id).unwrap_or_default(),
            None => cgroups::pids(&st.cgroup_path, &st.id)?,
        };
        for pid in pids {
            // SAFETY: kill(2) with plain integers, on a pid listed in the container's cgroup.
            unsafe { libc::kill(pid, sig) };
        }
        return Ok(0);
    }
    // The pid is only signalled while its start time still matches: never a recycled pid.
    if status == Status::Stopped || !st.init_pid_is_ours() {
        bail!("cannot kill container {}: container not running (stopped)", a.id);
    }
    // SAFETY: kill(2) with plain integers.
    if unsafe { libc::kill(st.pid, sig) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ESRCH) {
            bail!("cannot kill container {} (pid {}): no such process", a.id, st.pid);
        }
        bail!("cannot kill container {} (pid {}): {e}", a.id, st.pid);
    }
    Ok(0)
}
