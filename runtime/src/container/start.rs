//! Start: release a created container's init from the start barrier.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use std::path::PathBuf;

use crate::hooks;
use crate::state::{ContainerDir, ContainerState, StateError, Status};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot start a container that has stopped: {0} (delete it and create it again)")]
    Stopped(String),
    #[error("cannot start container {id} in state {status}: it must be created")]
    NotCreated { id: String, status: Status },
    #[error("container {id}: open {}: {source}", fifo.display())]
    OpenFifo { id: String, fifo: PathBuf, source: std::io::Error },
    #[error("container {id}: the init is not waiting for start ({}): {source}", fifo.display())]
    NotWaiting { id: String, fifo: PathBuf, source: std::io::Error },
    #[error("write to the start fifo: {0}")]
    Write(std::io::Error),
    #[error("remove {}: {source}", fifo.display())]
    Remove { fifo: PathBuf, source: std::io::Error },
    #[error("container {0}: its init exited before it could be started")]
    InitGone(String),
}

/// Opens the container (exclusively) and starts it.
pub fn start_by_id(root: &std::path::Path, id: &str) -> Result<(), StartError> {
    let dir = ContainerDir::open(root, id, true)?;
    let mut st = dir.load()?;
    start(&dir, &mut st)
}

/// Blocks until every other writer of the fifo is gone (the init exec'd or exited).
fn wait_for_exec(reader: &std::fs::File) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    loop {
        let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::Error::EINTR) => continue,
            Err(_) => return,
            Ok(_) => {}
        }
        let rev = fds[0].revents().unwrap_or(PollFlags::empty());
        if rev.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL) {
            return;
        }
        // Our byte is still unread: the init has not woken yet. Do not consume it.
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
}

/// Writes the byte the init waits for, removes the fifo (the "created" marker), runs the
/// poststart hooks of the accepted config.
pub fn start(dir: &ContainerDir, st: &mut ContainerState) -> Result<(), StartError> {
    match st.status(dir) {
        Status::Created => {}
        Status::Stopped => return Err(StartError::Stopped(st.id.clone())),
        status => return Err(StartError::NotCreated { id: st.id.clone(), status }),
    }
    let fifo = dir.fifo_path();
    // The init holds the fifo open read-write and close-on-exec. We open a reader first and
    // then a writer of our own: once our writer is closed, the reader reports POLLHUP exactly
    // when the init's copy closes, that is when it has exec'd the program (or died). Only
    // then are poststart hooks run, as the runtime-spec orders.
    let reader = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&fifo).map_err(|source| StartError::OpenFifo {
        id: st.id.clone(),
        fifo: fifo.clone(),
        source,
    })?;
    let mut writer = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(&fifo).map_err(|source| StartError::NotWaiting {
        id: st.id.clone(),
        fifo: fifo.clone(),
        source,
    })?;
    writer.write_all(&[0]).map_err(StartError::Write)?;
    drop(writer);
    wait_for_exec(&reader);
    // If our byte is still there, the init never read it: it was gone before start.
    let mut b = [0u8; 1];
    let unread = matches!(nix::unistd::read(&reader, &mut b), Ok(1));
    drop(reader);
    std::fs::remove_file(&fifo).map_err(|source| StartError::Remove { fifo: fifo.clone(), source })?;
    if unread {
        return Err(StartError::InitGone(st.id.clone()));
    }
    // The fifo's absence is what makes the container running (ContainerState::status reads
    // the phase only while it is `creating`): the state file is not rewritten for it, which
    // on a disk-backed state root would be a new inode and a rename per start.
    if let Some(h) = st.hooks.as_ref().and_then(|h| h.poststart().clone()) {
        let state_json = hooks::state_json(st, "running");
        // runtime-spec: a failing poststart hook is logged; the container keeps running.
        if let Err(e) = hooks::run_all("poststart", &h, &state_json) {
            crate::log::warn(&e.to_string());
        }
    }
    Ok(())
}
