//! `kill`: signal the container's init, or with --all every process in its cgroup
//! (container/kill.rs).

use anyhow::bail;
use clap::Args;

use crate::{signals, Cli};

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
    crate::container::kill::kill(&cli.root, &a.id, sig, a.all)?;
    Ok(0)
}
