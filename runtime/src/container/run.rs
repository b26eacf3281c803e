//! Run: create + start. In the foreground it forwards signals to the container, proxies a
//! terminal if there is no console socket, returns the container's status and deletes it.

use super::create::{self, CreateError};
use super::delete::{self, DeleteError};
use super::start::{self, StartError};
use crate::foreground::WaitError;
use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Create(#[from] CreateError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Delete(#[from] DeleteError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("block signals for forwarding: {0}")]
    Signals(nix::Error),
    #[error("container {id}: {source}; the container was killed and deleted")]
    Unwatched { id: String, source: WaitError },
    #[error("container {id}: {wait}; killing and deleting it failed too ({delete}): run `delete --force {id}`")]
    UnwatchedAndLeft { id: String, wait: WaitError, delete: String },
}

/// `keep`: leave the container's state after it exits. Returns the exit status to pass on
/// (0 when detached).
pub fn run(o: &create::Options, keep: bool) -> Result<i32, RunError> {
    let mut launched = create::launch(o)?;
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
    if !o.foreground {
        start::start(&dir, &mut st).inspect_err(|_| {
            let _ = delete::destroy(&dir, &st);
        })?;
        return Ok(0);
    }
    let forwarder = crate::foreground::Forwarder::new().map_err(RunError::Signals)?.relay(notify);
    if let Err(e) = start::start(&dir, &mut st) {
        let _ = delete::destroy(&dir, &st);
        return Err(e.into());
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
            let gone = if dir.dir.join(crate::state::STATE_FILE).exists() { delete::destroy(&dir, &st) } else { Ok(()) };
            return Err(match gone {
                Ok(()) => RunError::Unwatched { id: st.id.clone(), source: e },
                Err(d) => RunError::UnwatchedAndLeft { id: st.id.clone(), wait: e, delete: crate::error_text(&d) },
            });
        }
    };
    // Someone may have run `delete --force` meanwhile; then there is nothing left to do.
    if !keep && dir.dir.join(crate::state::STATE_FILE).exists() {
        delete::destroy(&dir, &st)?;
    }
    Ok(exit_code)
}
