//! `run`: create + start; in the foreground, wait, exit with the container's status and
//! delete it (container/run.rs; which bundle a NAME means: container/locate.rs).

use std::path::PathBuf;

use clap::Args;

use super::create;
use crate::Cli;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Path to the bundle directory (default: the current directory)
    #[arg(short, long)]
    pub bundle: Option<PathBuf>,
    /// Detach: leave the container running and exit
    #[arg(short, long)]
    pub detach: bool,
    #[command(flatten)]
    pub launch: create::LaunchArgs,
    /// Keep the container's state after it exits (do not delete it)
    #[arg(long)]
    pub keep: bool,
    /// Container id. With no --bundle and no ./config.json: NAME runs the bundle directory
    /// ./NAME or /var/lib/ocirt/bundles/NAME as container NAME; a PATH with a slash runs that
    /// bundle directory as the container named by its last component (by the one before it
    /// when that is `bundle`, spec-gen's usual output: /var/lib/ocirt/mediawiki/bundle runs as
    /// `mediawiki`)
    #[arg(value_name = "ID|NAME|PATH")]
    pub id: String,
}

pub fn run(cli: &Cli, a: &RunArgs) -> anyhow::Result<i32> {
    let (bundle, id) = crate::container::locate::resolve(a.bundle.as_deref(), &a.id)?;
    Ok(crate::container::run::run(&a.launch.options(cli, bundle, id, !a.detach), a.keep)?)
}
