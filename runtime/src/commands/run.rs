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
    /// Container id. With no --bundle and no ./config.json: NAME runs the bundle directory
    /// ./NAME or /var/lib/ocirt/bundles/NAME as container NAME; a PATH with a slash runs that
    /// bundle directory as the container named by its last component (by the one before it
    /// when that is `bundle`, spec-gen's usual output: /var/lib/ocirt/mediawiki/bundle runs as
    /// `mediawiki`)
    #[arg(value_name = "ID|NAME|PATH")]
    pub id: String,
}

/// runc's meaning holds whenever --bundle is given or ./config.json exists. Otherwise the
/// argument names a bundle (see the `id` argument's help): the id is what the user typed, never
/// a name found by following links, so `runtime kill NAME` works on what `run NAME` started.
fn resolve(a: &RunArgs) -> anyhow::Result<(PathBuf, String)> {
    if let Some(b) = &a.bundle {
        return Ok((b.clone(), a.id.clone()));
    }
    if Path::new("config.json").exists() {
        return Ok((PathBuf::from("."), a.id.clone()));
    }
    let arg = a.id.trim_end_matches('/');
    let looked: Vec<PathBuf> = if arg.contains('/') { vec![PathBuf::from(arg)] } else { vec![PathBuf::from(arg), Path::new(BUNDLE_STORE).join(arg)] };
    for dir in &looked {
        if dir.join("config.json").is_file() {
            let id = if arg.contains('/') { id_from_path(Path::new(arg)) } else { arg.to_string() };
            let abs = std::fs::canonicalize(dir).with_context(|| format!("bundle {}", dir.display()))?;
            return Ok((abs, id));
        }
    }
    let mut places = vec!["./config.json (the current directory as the bundle)".to_string()];
    places.extend(looked.iter().map(|d| d.join("config.json").display().to_string()));
    anyhow::bail!(
        "no bundle for {:?}: looked for {}; pass --bundle DIR, run it from the bundle directory, or register it with `ln -s DIR {BUNDLE_STORE}/NAME`",
        a.id,
        places.join(", ")
    )
}

/// The container id for a bundle given as a path: its last component as typed, or the one
/// before it when that is the generic `bundle`.
fn id_from_path(p: &Path) -> String {
    let mut parts = p.components().rev().filter_map(|c| match c {
        std::path::Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
        _ => None,
    });
    match parts.next() {
        Some(last) if last == "bundle" => parts.next().unwrap_or(last),
        Some(last) => last,
        None => p.display().to_string(),
    }
}

pub fn run(cli: &Cli, a: &RunArgs) -> anyhow::Result<i32> {
    let (bundle, id) = resolve(a)?;
    let c = CreateArgs { bundle, launch: a.launch.clone(), id };
    let mut launched = create::launch(cli, &c, !a.detach)?;
    // A signal after this point reaches the container: the forwarder reads it from the
    // pending set once the container runs, and the container decides how to end.
    let notify = launched.notify.take();
    let (dir, mut st, console) = launched.finish_create();
    // The program may write its first screen before the proxy starts: give its terminal the
    // caller's size before it runs.
    if let Some(m) = &console {
        use std::os::fd::AsFd;
        crate::tty::copy_window_size(m.as_fd());
    }
    if a.detach {
        super::start::start(&dir, &mut st).inspect_err(|_| {
            let _ = super::delete::destroy(&dir, &st);
        })?;
        return Ok(0);
    }
    let forwarder = crate::foreground::Forwarder::new().context("block signals for forwarding")?.relay(notify);
    if let Err(e) = super::start::start(&dir, &mut st) {
        let _ = super::delete::destroy(&dir, &st);
        return Err(e);
    }
    // While the container runs, `state`, `kill`, `list` and `delete` must work on it.
    dir.unlock();
    let waited = forwarder.wait(st.pid, console.as_ref());
    drop(console);
    dir.relock()?;
    let exit_code = match waited {
        Ok(c) => c,
        // Without a wait there is no exit status to report and nobody to supervise the
        // container: as runc's foreground run does, it is killed and deleted (destroy kills
        // the init first), never left running unwatched behind a made-up exit code.
        Err(e) => {
            let gone = if dir.dir.join(crate::state::STATE_FILE).exists() { super::delete::destroy(&dir, &st) } else { Ok(()) };
            return Err(match gone {
                Ok(()) => anyhow::anyhow!("container {}: {e}; the container was killed and deleted", st.id),
                Err(d) => {
                    anyhow::anyhow!("container {}: {e}; killing and deleting it failed too ({}): run `delete --force {}`", st.id, crate::error_chain(&d), st.id)
                }
            });
        }
    };
    // Someone may have run `delete --force` meanwhile; then there is nothing left to do.
    if !a.keep && dir.dir.join(crate::state::STATE_FILE).exists() {
        super::delete::destroy(&dir, &st)?;
    }
    Ok(exit_code)
}

#[cfg(test)]
mod tests {
    use super::id_from_path;
    use std::path::Path;

    #[test]
    fn ids_from_paths_are_what_was_typed() {
        assert_eq!(id_from_path(Path::new("/var/lib/ocirt/mediawiki/bundle")), "mediawiki");
        assert_eq!(id_from_path(Path::new("bundles/mediawiki")), "mediawiki");
        assert_eq!(id_from_path(Path::new("./wiki")), "wiki");
        assert_eq!(id_from_path(Path::new("/bundle")), "bundle");
    }
}
