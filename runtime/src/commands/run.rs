//! `run`: create + start. In the foreground it forwards signals to the container, proxies a
//! terminal if there is no console socket, exits with the container's status and deletes it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use super::create::{self, CreateArgs};
use crate::{Cli, BUNDLE_STORE};

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
    /// Container id; or, with no --bundle and no config.json here, a bundle directory or the
    /// name of a bundle in the bundle store, whose base name becomes the id
    pub id: String,
}

/// runc's meaning holds whenever --bundle is given or ./config.json exists. Otherwise the
/// argument names a bundle: the path itself, then BUNDLE_STORE/NAME.
fn resolve(a: &RunArgs) -> (PathBuf, String) {
    if let Some(b) = &a.bundle {
        return (b.clone(), a.id.clone());
    }
    if Path::new("config.json").exists() {
        return (PathBuf::from("."), a.id.clone());
    }
    let candidates = [PathBuf::from(&a.id), Path::new(BUNDLE_STORE).join(&a.id)];
    for c in candidates {
        if c.join("config.json").is_file() {
            let abs = std::fs::canonicalize(&c).unwrap_or(c);
            let id = abs.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| a.id.clone());
            return (abs, id);
        }
    }
    (PathBuf::from("."), a.id.clone())
}

pub fn run(cli: &Cli, a: &RunArgs) -> anyhow::Result<i32> {
    let (bundle, id) = resolve(a);
    let c = CreateArgs {
        bundle,
        launch: a.launch.clone(),
        id,
    };
    let launched = create::launch(cli, &c, !a.detach)?;
    // A signal after this point reaches the container: the forwarder reads it from the
    // pending set once the container runs, and the container decides how to end.
    let (dir, mut st, console) = launched.finish_create();
    if a.detach {
        super::start::start(&dir, &mut st).inspect_err(|_| {
            let _ = super::delete::destroy(&dir, &st);
        })?;
        return Ok(0);
    }
    let forwarder = crate::foreground::Forwarder::new().context("block signals for forwarding")?;
    if let Err(e) = super::start::start(&dir, &mut st) {
        let _ = super::delete::destroy(&dir, &st);
        return Err(e);
    }
    // While the container runs, `state`, `kill`, `list` and `delete` must work on it.
    dir.unlock();
    let exit_code = forwarder.wait(st.pid, console.as_ref());
    drop(console);
    dir.relock()?;
    // Someone may have run `delete --force` meanwhile; then there is nothing left to do.
    if !a.keep && dir.dir.join(crate::state::STATE_FILE).exists() {
        super::delete::destroy(&dir, &st)?;
    }
    Ok(exit_code)
}
