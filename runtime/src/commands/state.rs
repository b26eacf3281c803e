//! `state`: the runtime-spec state of a container, as runc prints it.

use clap::Args;

use crate::state::ContainerDir;
use crate::Cli;

#[derive(Args, Debug)]
pub struct StateArgs {
    /// Container id
    pub id: String,
}

pub fn run(cli: &Cli, a: &StateArgs) -> anyhow::Result<i32> {
    let dir = ContainerDir::open(&cli.root, &a.id, false)?;
    let st = dir.load()?;
    let status = st.status(&dir);
    crate::output::print(&format!("{}\n", serde_json::to_string_pretty(&st.oci_state(status))?))?;
    Ok(0)
}
