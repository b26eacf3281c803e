//! `start`: release a created container's init from the start barrier (container/start.rs).

use clap::Args;

use crate::Cli;

#[derive(Args, Debug)]
pub struct StartArgs {
    /// Container id
    pub id: String,
}

pub fn run(cli: &Cli, a: &StartArgs) -> anyhow::Result<i32> {
    crate::container::start::start_by_id(&cli.root, &a.id)?;
    Ok(0)
}
