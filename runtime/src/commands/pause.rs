//! `pause` / `resume`: the cgroup freezer.

use anyhow::bail;
use clap::Args;

use crate::state::{ContainerDir, Status};
use crate::{cgroups, Cli};

#[derive(Args, Debug)]
pub struct PauseArgs {
    /// Container id
    pub id: String,
}

pub fn run(cli: &Cli, a: &PauseArgs, pause: bool) -> anyhow::Result<i32> {
    let dir = ContainerDir::open(&cli.root, &a.id, true)?;
    let st = dir.load()?;
    match (st.status(&dir), pause) {
        (Status::Running | Status::Created, true) | (Status::Paused, false) => {}
        (s, true) => bail!("cannot pause container {} in state {s}: it must be running", a.id),
        (s, false) => bail!("cannot resume container {} in state {s}: it is not paused", a.id),
    }
    cgroups::freeze(&st.cgroup_path, &st.id, pause)?;
    Ok(0)
}
