//! `start`: release a created container's init from the start barrier.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use anyhow::{bail, Context};
use clap::Args;

use crate::state::{ContainerDir, ContainerState, Status};
use crate::{hooks, Cli};

#[derive(Args, Debug)]
pub struct StartArgs {
    /// Container id
    pub id: String,
}

pub fn run(cli: &Cli, a: &StartArgs) -> anyhow::Result<i32> {
    let dir = ContainerDir::open(&cli.root, &a.id, true)?;
    let mut st = dir.load()?;
    start(&dir, &mut st)?;
    Ok(0)
}

/// Writes the byte the init waits for, removes the fifo (the "created" marker), runs the
/// poststart hooks. Shared with `run`.
pub fn start(dir: &ContainerDir, st: &mut ContainerState) -> anyhow::Result<()> {
    match st.status(dir) {
        Status::Created => {}
        Status::Stopped => bail!("cannot start a container that has stopped: {} (delete it and create it again)", st.id),
        s => bail!("cannot start container {} in state {s}: it must be created", st.id),
    }
    let fifo = dir.fifo_path();
    // O_NONBLOCK: if the init is gone there is no reader and this fails with ENXIO at once
    // instead of hanging.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .with_context(|| format!("container {}: the init is not waiting for start ({})", st.id, fifo.display()))?;
    f.write_all(&[0]).context("write to the start fifo")?;
    drop(f);
    std::fs::remove_file(&fifo).with_context(|| format!("remove {}", fifo.display()))?;
    st.phase = Status::Running;
    dir.save(st)?;
    if let Some(h) = st.hooks.as_ref().and_then(|h| h.poststart().clone()) {
        let state_json = serde_json::to_vec(&crate::commands::create::hook_state(st, "running"))?;
        // runtime-spec: a failing poststart hook is logged; the container keeps running.
        if let Err(e) = hooks::run_all("poststart", &h, &state_json) {
            crate::log::warn(&e.to_string());
        }
    }
    Ok(())
}
