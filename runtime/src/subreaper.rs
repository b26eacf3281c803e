//! Who adopts the processes we leave behind: a child subreaper among our ancestors (podman's
//! conmon, containerd's shim, a systemd manager), or the init of our pid namespace.
//!
//! `exec -d` depends on it. conmon and the shim learn a detached exec's exit status only by
//! reaping it, which they can only do when the program is orphaned to them: runc's shape,
//! where the program's parent is the exec'ing runtime, outside the container's pid
//! namespace. With no subreaper that same shape hands the program to the host's init,
//! which may reap late; then the program is forked inside the container instead, where the
//! container's init adopts it (issue 10).
//!
//! The kernel does not show whether an ancestor is a subreaper, so it is observed once: a
//! child forks a grandchild and exits at once; the grandchild, told by PR_SET_PDEATHSIG
//! when it has been reparented, reports its new parent and exits, to be reaped by it.

use std::os::fd::{AsRawFd, OwnedFd};

#[derive(Debug, thiserror::Error)]
pub enum SubreaperError {
    #[error("find out who adopts orphans: {0}")]
    Probe(#[from] std::io::Error),
    #[error("find out who adopts orphans: the probe process did not report")]
    NoReport,
}

/// Whether an orphan of this process would be adopted by a subreaper rather than by the
/// init of our pid namespace (pid 1 as we see it).
pub fn orphans_go_to_a_subreaper() -> Result<bool, SubreaperError> {
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)?;
    // SAFETY: fork in a single-threaded process (the runtime's commands are); the child
    // only calls async-signal-safe functions before _exit.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    if child == 0 {
        drop(rd);
        // SAFETY: getpid has no failure mode.
        let me = unsafe { libc::getpid() };
        // SAFETY: as above, in the child.
        if unsafe { libc::fork() } == 0 {
            report_new_parent(&wr, me);
        }
        // SAFETY: the middle process ends here, orphaning the grandchild.
        unsafe { libc::_exit(0) }
    }
    drop(wr);
    // SAFETY: waitpid on our own child.
    unsafe { libc::waitpid(child, std::ptr::null_mut(), 0) };
    let mut buf = [0u8; 4];
    let mut file = std::fs::File::from(rd);
    match std::io::Read::read_exact(&mut file, &mut buf) {
        Ok(()) => Ok(i32::from_ne_bytes(buf) != 1),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(SubreaperError::NoReport),
        Err(e) => Err(e.into()),
    }
}

/// In the grandchild: wait until our parent is gone, write the new parent's pid, exit.
fn report_new_parent(wr: &OwnedFd, parent: libc::pid_t) -> ! {
    // SAFETY: plain syscalls on our own process with valid arguments; no allocation.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGUSR1 as libc::c_ulong, 0, 0, 0);
        // The parent may have died before the prctl: then no signal comes, but the pid has
        // already changed.
        if libc::getppid() == parent {
            let limit = libc::timespec { tv_sec: 5, tv_nsec: 0 };
            libc::sigtimedwait(&set, std::ptr::null_mut(), &limit);
        }
        let now = libc::getppid().to_ne_bytes();
        libc::write(wr.as_raw_fd(), now.as_ptr().cast(), now.len());
        libc::_exit(0)
    }
}
