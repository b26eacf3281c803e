//! The one way a container process comes into being, for `create` (the init) and `exec` (a
//! process joining a running container): clone into the new namespaces with the sync socket,
//! then serve the child's requests until it reports Ready. The protocol is in protocol.rs.
//!
//! The runtime is single-threaded, so clone is a plain fork-style copy: the child runs a
//! closure that never returns (it execs the program or `_exit`s), so nothing of the parent's
//! stack is ever dropped twice. A [`Child`] is killed and reaped when it is dropped, which is
//! the rollback of every failure between clone and the caller keeping the process.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sched::CloneFlags;
use nix::unistd::Pid;

use crate::cgroups::Entry;
use crate::hooks::HookError;
use crate::namespaces::NamespaceError;
use crate::protocol::{self, FromInit, InitEnd, ProtocolError, RuntimeEnd, ToInit};
use crate::setup_error::{step, SetupError};
use crate::signals::Interrupted;
use crate::tty::TtyError;

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("clone the container process (namespaces {flags:?}): {source}")]
    Clone { flags: CloneFlags, source: std::io::Error },
    #[error(transparent)]
    Namespace(#[from] NamespaceError),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
    #[error(transparent)]
    Console(#[from] TtyError),
    #[error(transparent)]
    Hook(#[from] HookError),
    /// The child's own report of what failed inside the container.
    #[error("{0}")]
    Child(String),
    #[error("sync socket: {0}")]
    Unexpected(String),
    #[error(transparent)]
    Cgroup(#[from] crate::cgroups::CgroupError),
}

impl SpawnError {
    /// The sync socket broke (the child died without a word): worth asking the kernel why.
    pub fn is_broken_channel(&self) -> bool {
        matches!(self, SpawnError::Protocol(ProtocolError::Eof | ProtocolError::Send(_) | ProtocolError::Recv(_)))
    }
}

/// A direct child of the runtime, killed and reaped on drop unless kept.
pub struct Child {
    pid: i32,
}

impl Child {
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The caller keeps the process (it runs, or it is someone else's to reap now).
    pub fn keep(self) -> i32 {
        let pid = self.pid;
        std::mem::forget(self);
        pid
    }

    /// Waits for a child that exits by itself (exec -d's intermediate process).
    pub fn reap(self) {
        let _ = nix::sys::wait::waitpid(Pid::from_raw(self.keep()), None);
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = crate::sys::kill(self.pid, libc::SIGKILL);
        let _ = nix::sys::wait::waitpid(Pid::from_raw(self.pid), None);
    }
}

/// A cloned child and the runtime's end of its sync socket. Field order matters: on drop
/// the child is killed first, so it never sees the socket close and never reports a
/// second, misleading error of its own.
pub struct Spawned {
    pub child: Child,
    pub chan: RuntimeEnd,
}

/// Clones the child with `flags` (in the pid namespace `pid_ns` for children, when given)
/// and runs `body` in it with its end of the sync socket (`body` execs or exits).
/// `close_in_child`: fds the parent keeps but the child must not hold (the state lock:
/// flock belongs to the open file, so an inherited copy would keep the container locked
/// while it waits for `start`; the console socket).
/// `cgroups`: the container's cgroups; the child is born in the cgroup2 one and enters the
/// v1 ones before anything else it does (cgroups::Entry says why it moves itself).
pub fn spawn(
    flags: CloneFlags,
    pid_ns: Option<&Path>,
    close_in_child: &[RawFd],
    cgroups: Option<Entry>,
    body: impl FnOnce(InitEnd),
) -> Result<Spawned, SpawnError> {
    let (parent_chan, child_chan) = protocol::pair()?;
    let back = match pid_ns {
        Some(p) => Some(crate::namespaces::enter_pid_for_children(p)?),
        None => None,
    };
    let bits = flags.bits() as libc::c_ulong;
    let v2 = cgroups.as_ref().and_then(Entry::v2_dir);
    // Single-threaded (the binary never spawns threads): what a fork-style clone requires.
    let fork = || {
        // SAFETY: see above.
        unsafe { crate::sys::clone_fork(bits) }
    };
    let mut born_in_v2 = v2.is_some();
    let pid = match v2.map(|dir| {
        // SAFETY: see above.
        unsafe { crate::sys::clone3_into_cgroup(bits, dir) }
    }) {
        // Without clone3 or CLONE_INTO_CGROUP (an old kernel, a seccomp filter above us), the
        // plain clone and a write of the pid (below) do the same, slower; a cgroup that
        // refuses the child is then named by that write's error.
        Some(Err(_)) => {
            born_in_v2 = false;
            fork()
        }
        Some(r) => r,
        None => fork(),
    };
    match pid {
        Ok(0) => {
            drop(parent_chan);
            // The runtime's own pid namespace is not the child's business.
            drop(back);
            for fd in close_in_child {
                crate::sys::close_inherited(*fd);
            }
            // First: nothing of the child runs outside its cgroups' limits.
            if let Some(Err(msg)) = cgroups.map(Entry::enter_v1) {
                fail(&child_chan, &msg);
            }
            body(child_chan);
            // Not reached: the body execs or exits. Were it to return, the copy of the
            // runtime must still not go on running the parent's code.
            crate::sys::exit_now(1)
        }
        Ok(pid) => {
            if let Some(own) = back {
                crate::namespaces::leave_pid_for_children(own);
            }
            let spawned = Spawned { child: Child { pid }, chan: parent_chan };
            if let Some(c) = cgroups.as_ref().filter(|_| !born_in_v2) {
                // On error `spawned` is dropped: the child is killed and reaped.
                c.place_v2(pid)?;
            }
            Ok(spawned)
        }
        Err(source) => {
            if let Some(own) = back {
                crate::namespaces::leave_pid_for_children(own);
            }
            Err(SpawnError::Clone { flags, source })
        }
    }
}

/// What the child handed over by the time it was Ready.
pub struct Ready {
    /// The pty master, when the process has a terminal and no console socket took it.
    pub console: Option<OwnedFd>,
    /// The fd that came with Ready (exec -d: the program's pidfd).
    pub fd: Option<OwnedFd>,
}

/// Tells the child to go on, then serves it until Ready: [`proceed`], then [`serve_after`].
pub fn serve(chan: &RuntimeEnd, console_sock: Option<&UnixStream>, runtime_hooks: Option<&dyn Fn() -> Result<(), HookError>>) -> Result<Ready, SpawnError> {
    proceed(chan)?;
    serve_after(chan, console_sock, runtime_hooks)
}

/// Tells the child to go on. What the runtime does between this and [`serve_after`] runs
/// while the child prepares the container on another CPU.
pub fn proceed(chan: &RuntimeEnd) -> Result<(), SpawnError> {
    if let Err(e) = chan.send(&ToInit::Proceed) {
        // A child that failed before it could hear Proceed (entering its cgroups) has left
        // its report queued on the socket: that, not the broken pipe, is the error. Only
        // read what is there already: a child still waiting would never write.
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let mut fds = [PollFd::new(chan.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::ZERO).is_ok_and(|n| n > 0) {
            if let Ok((FromInit::Error { msg }, _)) = chan.recv_with_fd() {
                return Err(SpawnError::Child(msg));
            }
        }
        return Err(e.into());
    }
    Ok(())
}

/// Serves the child, after [`proceed`], until Ready: the pty master goes to the console
/// socket (or is kept), createRuntime hooks run when it asks (`runtime_hooks`; a child that
/// asks without them is a protocol error), its Error becomes ours. A fatal signal to the
/// runtime during create interrupts the wait (signals.rs).
pub fn serve_after(
    chan: &RuntimeEnd,
    console_sock: Option<&UnixStream>,
    runtime_hooks: Option<&dyn Fn() -> Result<(), HookError>>,
) -> Result<Ready, SpawnError> {
    let mut console = None;
    loop {
        crate::signals::wait_readable(chan)?;
        let (msg, fd) = chan.recv_with_fd()?;
        match msg {
            FromInit::Error { msg } => return Err(SpawnError::Child(msg)),
            FromInit::RunCreateRuntimeHooks => {
                let run = runtime_hooks.ok_or_else(|| SpawnError::Unexpected("RunCreateRuntimeHooks from a process that has none".into()))?;
                run()?;
                chan.send(&ToInit::HooksDone)?;
            }
            FromInit::Console => {
                let master = fd.ok_or_else(|| SpawnError::Unexpected("console message without a pty fd".into()))?;
                match console_sock {
                    Some(sock) => crate::tty::send_master(sock, master.as_fd())?,
                    None => console = Some(master),
                }
            }
            FromInit::Ready => return Ok(Ready { console, fd }),
        }
    }
}

/// In the child, once in the container's namespaces (and root): with `process.terminal`,
/// a pty from the container's devpts becomes the process's stdio and controlling terminal,
/// and its master goes to the runtime (Console), which passes it on.
pub fn child_terminal(chan: &InitEnd, process: &oci_spec::runtime::Process) -> Result<(), SetupError> {
    if !process.terminal().unwrap_or(false) {
        return Ok(());
    }
    let (w, h) = process.console_size().map(|b| (b.width() as u16, b.height() as u16)).unwrap_or((0, 0));
    let master = step!("process.terminal", crate::tty::open_container_pty(w, h))?;
    chan.send_with_fd(&FromInit::Console, Some(master.as_raw_fd()))?;
    Ok(())
}

/// In the child: reports `msg` to the runtime and exits 1.
pub fn fail(chan: &InitEnd, msg: &str) -> ! {
    let _ = chan.send_error(msg);
    crate::sys::exit_now(1)
}
