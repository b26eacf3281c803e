//! Waiting in the foreground for a process we started (`run`, `exec`): every catchable
//! signal sent to the runtime is forwarded to it, a terminal is proxied if we hold its pty,
//! and its exit status becomes ours (128+N for a signal, as shells report it).

use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// waitpid itself failed: the process may still run, and its status is unknown.
    #[error("cannot wait for process {pid}: waitpid: {source}")]
    Wait { pid: i32, source: Errno },
}

pub struct Forwarder {
    sfd: SignalFd,
    /// sd_notify messages from the container, forwarded while we wait.
    relay: Option<crate::notify::Relay>,
}

impl Forwarder {
    /// Blocks the forwarded signals and opens a signalfd for them. Call before the process
    /// can run, so that no signal is lost between its start and the wait.
    pub fn new() -> nix::Result<Forwarder> {
        // Signals about our own faults, and job-control stops, stay ours. main blocked the
        // same set already; blocking again keeps this correct if it could not.
        let set = crate::signals::forwarded_set();
        set.thread_block()?;
        Ok(Forwarder { sfd: SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?, relay: None })
    }

    pub fn relay(mut self, relay: Option<crate::notify::Relay>) -> Forwarder {
        self.relay = relay;
        self
    }

    /// Forwards signals to `pid` (our child) until it exits; returns its exit code. A
    /// waitpid failure ends the wait with an error (never a made-up exit code): the process
    /// may still be running, and the caller decides what becomes of it.
    pub fn wait(mut self, pid: i32, console: Option<&OwnedFd>) -> Result<i32, WaitError> {
        let pid = Pid::from_raw(pid);
        let mut outcome = None;
        let mut check = |sfd: &mut SignalFd| -> bool {
            // Reaped already (the terminal proxy checks too): a second waitpid would be ECHILD.
            if outcome.is_some() {
                return true;
            }
            while let Ok(Some(info)) = sfd.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig == libc::SIGWINCH && console.is_some() {
                    // Our terminal changed size: resizing the container's pty makes the
                    // kernel send SIGWINCH to the program there, with the size to read.
                    if let Some(m) = console {
                        crate::tty::copy_window_size(m.as_fd());
                    }
                } else if sig != libc::SIGCHLD {
                    // Our own direct child, not yet reaped: the pid is still its.
                    let _ = crate::sys::kill(pid.as_raw(), sig);
                }
            }
            match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(_, c)) => outcome = Some(Ok(c)),
                Ok(WaitStatus::Signaled(_, s, _)) => outcome = Some(Ok(128 + s as i32)),
                Err(Errno::EINTR) => {}
                Err(e) => outcome = Some(Err(WaitError::Wait { pid: pid.as_raw(), source: e })),
                _ => {}
            }
            outcome.is_some()
        };
        if let Some(master) = console {
            crate::tty::proxy(master, || check(&mut self.sfd));
        }
        // A process still running after a short while is a long-lived one: this process then
        // gives back what starting it used (memory.rs); a short-lived one never pays for that.
        let mut released = false;
        while !check(&mut self.sfd) {
            let mut fds = vec![PollFd::new(self.sfd.as_fd(), PollFlags::POLLIN)];
            if let Some(r) = &self.relay {
                fds.push(PollFd::new(r.as_fd(), PollFlags::POLLIN));
            }
            let idle = poll(&mut fds, PollTimeout::from(if released { 1000u16 } else { 200 })).is_ok_and(|n| n == 0);
            drop(fds);
            if idle && !released {
                crate::memory::release_for_wait();
                released = true;
            }
            if let Some(r) = &self.relay {
                r.pump();
            }
        }
        // What the service said just before it exited.
        if let Some(r) = &self.relay {
            r.pump();
        }
        outcome.expect("the loop ends only with an outcome")
    }
}
