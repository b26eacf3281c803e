//! Start: release a created container's init from the start barrier.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use anyhow::{bail, Context};

use crate::hooks;
use crate::state::{ContainerDir, ContainerState, Status};

/// Opens the container (exclusively) and starts it.
pub fn start_by_id(root: &std::path::Path, id: &str) -> anyhow::Result<()> {
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
pub fn start(dir: &ContainerDir, st: &mut ContainerState) -> anyhow::Result<()> {
    match st.status(dir) {
        Status::Created => {}
        Status::Stopped => bail!("cannot start a container that has stopped: {} (delete it and create it again)", st.id),
        s => bail!("cannot start container {} in state {s}: it must be created", st.id),
    }
    let fifo = dir.fifo_path();
    // The init holds the fifo open read-write and close-on-exec. We open a reader first and
    // then a writer of our own: once our writer is closed, the reader reports POLLHUP exactly
    // when the init's copy closes, that is when it has exec'd the program (or died). Only
    // then are poststart hooks run, as the runtime-spec orders.
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .with_context(|| format!("container {}: open {}", st.id, fifo.display()))?;
    let mut writer = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .with_context(|| format!("container {}: the init is not waiting for start ({})", st.id, fifo.display()))?;
    writer.write_all(&[0]).context("write to the start fifo")?;
    drop(writer);
    wait_for_exec(&reader);
    // If our byte is still there, the init never read it: it was gone before start.
    let mut b = [0u8; 1];
    let unread = matches!(nix::unistd::read(&reader, &mut b), Ok(1));
    drop(reader);
    std::fs::remove_file(&fifo).with_context(|| format!("remove {}", fifo.display()))?;
    if unread {
        bail!("container {}: its init exited before it could be started", st.id);
    }
    st.phase = Status::Running;
    dir.save(st)?;
    if let Some(h) = st.hooks.as_ref().and_then(|h| h.poststart().clone()) {
        let state_json = hooks::state_json(st, "running");
        // runtime-spec: a failing poststart hook is logged; the container keeps running.
        if let Err(e) = hooks::run_all("poststart", &h, &state_json) {
            crate::log::warn(&e.to_string());
        }
    }
    Ok(())
}
