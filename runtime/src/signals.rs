//! Signal names and numbers for `kill`, and the signals that arrive while `create`, `run`
//! or `exec` is still setting a container up.
//!
//! A service manager stopping a unit that is still starting, or a Ctrl-C, may signal the
//! runtime at any instant. Dying of it half-way would leave a state directory, cgroups and a
//! live init behind, so `main` blocks every catchable signal before it does anything else
//! ([`block_for_setup`]). Signals then stay pending: `create` looks at them at safe points
//! ([`take_fatal`], and while it waits on the container init it also waits on
//! [`setup_fd`]) and aborts through its cleanup guard with [`Interrupted`]; once the container
//! runs, the foreground forwarder reads whatever is still pending and passes it on.

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::OnceLock;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// Setup was stopped by signal `0`; the caller has already removed what it made. The
/// runtime exits 128+N, as a shell reports a command killed by N.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {} while setting up the container: stopped, nothing left behind", name(*.0))]
pub struct Interrupted(pub i32);

/// The set `run` and `exec` forward and setup defers: every signal but the ones about our own
/// faults, SIGKILL/SIGSTOP (which cannot be blocked) and the terminal job-control stops.
/// SIGPIPE stays out too: it comes from our own writes (a hook that does not read its state
/// on stdin), which report EPIPE; blocked, the kernel would queue it instead of ignoring it,
/// and it would abort setup or reach the container.
pub fn forwarded_set() -> SigSet {
    let mut set = SigSet::all();
    for s in
        [Signal::SIGKILL, Signal::SIGSTOP, Signal::SIGSEGV, Signal::SIGBUS, Signal::SIGILL, Signal::SIGFPE, Signal::SIGTTIN, Signal::SIGTTOU, Signal::SIGPIPE]
    {
        set.remove(s);
    }
    set
}

/// The mask we were started with, saved by [`block_for_setup`].
static OLD_MASK: OnceLock<SigSet> = OnceLock::new();
/// The signalfd that setup polls (create and run only).
static SETUP_FD: OnceLock<SignalFd> = OnceLock::new();

/// Blocks the forwarded set, saving the mask we were started with (first call only).
pub fn block_for_setup() {
    if OLD_MASK.get().is_some() {
        return;
    }
    let mut old = SigSet::empty();
    if nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&forwarded_set()), Some(&mut old)).is_ok() {
        let _ = OLD_MASK.set(old);
    }
}

/// For verbs that make nothing (state, list, kill...): back to the signal mask we were
/// started with, so that a signal ends them as usual. One that came meanwhile acts now.
pub fn restore() {
    if let Some(old) = OLD_MASK.get() {
        let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(old), None);
    }
}

/// For create and run: opens the signalfd that setup polls.
pub fn open_setup_fd() -> nix::Result<()> {
    let sfd = SignalFd::with_flags(&forwarded_set(), SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
    let _ = SETUP_FD.set(sfd);
    Ok(())
}

/// The signalfd to wait on beside the sync socket, if there is one.
pub fn setup_fd() -> Option<BorrowedFd<'static>> {
    SETUP_FD.get().map(|s| s.as_fd())
}

/// Whether a signal that ends a process by default is pending; consumes pending signals.
/// Signals that are ignored by default (SIGCHLD from a hook, SIGWINCH, SIGURG, SIGCONT) and
/// terminal stops are dropped: they mean nothing to a container that does not run yet.
pub fn take_fatal() -> Option<i32> {
    let fd = setup_fd()?;
    let mut found = None;
    // SignalFd::read_signal wants &mut and the fd lives in a static: read it directly.
    // One read is one signalfd_siginfo; ssi_signo is its first field, a native-endian u32.
    let mut info = [0u8; std::mem::size_of::<libc::signalfd_siginfo>()];
    loop {
        match nix::unistd::read(fd, &mut info) {
            Ok(n) if n == info.len() => {}
            _ => break,
        }
        let sig = u32::from_ne_bytes([info[0], info[1], info[2], info[3]]) as i32;
        if found.is_none() && ends_by_default(sig) {
            found = Some(sig);
        }
    }
    found
}

fn ends_by_default(sig: i32) -> bool {
    !matches!(sig, libc::SIGCHLD | libc::SIGWINCH | libc::SIGURG | libc::SIGCONT | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU)
}

/// Fails with [`Interrupted`] if a fatal signal came; for the safe points of setup.
pub fn check() -> Result<(), Interrupted> {
    match take_fatal() {
        Some(sig) => Err(Interrupted(sig)),
        None => Ok(()),
    }
}

/// Waits until `fd` is readable; fails with [`Interrupted`] if a fatal signal comes first.
/// Setup waits on the container init here, which is where most of its time goes.
pub fn wait_readable(fd: &impl AsFd) -> Result<(), Interrupted> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let Some(sfd) = setup_fd() else { return Ok(()) };
    loop {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN), PollFd::new(sfd, PollFlags::POLLIN)];
        // EINTR cannot happen with everything blocked; any other poll error falls through
        // to the read, which reports it.
        if poll(&mut fds, PollTimeout::NONE).is_err() {
            return Ok(());
        }
        let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
        if ready(&fds[1]) {
            check()?;
        }
        if ready(&fds[0]) {
            return Ok(());
        }
    }
}

/// "SIGTERM", or "signal 40" for one without a name.
pub fn name(sig: i32) -> String {
    Signal::try_from(sig).map(|s| s.as_str().to_string()).unwrap_or_else(|_| format!("signal {sig}"))
}

/// Parses "TERM", "SIGTERM", "sigterm", "15" or "RTMIN+3" into a signal number.
pub fn parse(s: &str) -> Option<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some(rest) = name.strip_prefix("RTMIN") {
        let off: i32 = if rest.is_empty() { 0 } else { rest.strip_prefix('+')?.parse().ok()? };
        let n = libc::SIGRTMIN() + off;
        return (n <= libc::SIGRTMAX()).then_some(n);
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        let off: i32 = if rest.is_empty() { 0 } else { rest.strip_prefix('-')?.parse().ok()? };
        let n = libc::SIGRTMAX() - off;
        return (n >= libc::SIGRTMIN()).then_some(n);
    }
    format!("SIG{name}").parse::<Signal>().ok().map(|s| s as i32)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_and_numbers() {
        assert_eq!(super::parse("KILL"), Some(9));
        assert_eq!(super::parse("SIGTERM"), Some(15));
        assert_eq!(super::parse("hup"), Some(1));
        assert_eq!(super::parse("10"), Some(10));
        assert_eq!(super::parse("RTMIN+1"), Some(libc::SIGRTMIN() + 1));
        assert_eq!(super::parse("NOPE"), None);
        assert_eq!(super::parse("0"), None);
    }
}
