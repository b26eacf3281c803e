//! `kill`: signal the container's init (or, with --all, every process in its cgroup).

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
    if status == Status::Stopped {
        bail!("container {} is not running (stopped)", a.id);
    }
    if a.all {
        for pid in cgroups::pids(&st.cgroup_path, &st.id)? {
            // SAFETY: kill(2) with plain integers.
            unsafe { libc::kill(pid, sig) };
        }
        return Ok(0);
    }
    // The pid is only signalled while its start time still matches: never a recycled pid.
    if !st.init_pid_is_ours() {
        bail!("container {} is not running", a.id);
    }
    // SAFETY: kill(2) with plain integers.
    if unsafe { libc::kill(st.pid, sig) } != 0 {
        bail!("kill {} (pid {}): {}", a.id, st.pid, std::io::Error::last_os_error());
    }
    Ok(0)
}
