//! `delete`: remove a container and everything the runtime made for it (container/delete.rs).

use clap::Args;

use crate::Cli;

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Kill the container first if it is still running (and succeed if it does not exist)
    #[arg(short, long)]
    pub force: bool,
    /// Container id
    pub id: String,
}

pub fn run(cli: &Cli, a: &DeleteArgs) -> anyhow::Result<i32> {
    crate::container::delete::delete(&cli.root, &a.id, a.force)?;
    Ok(0)
}
