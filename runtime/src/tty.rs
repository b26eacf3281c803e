//! Terminals: `process.terminal` gives the container a pty from its own devpts. The master
//! travels to the runtime over the sync socket and on to `--console-socket` (runc's
//! protocol: one SCM_RIGHTS message on a unix stream socket), or, for `run` in the
//! foreground without a console socket, the runtime copies between its stdio and the master.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TtyError {
    #[error("console: {what}: {source}")]
    Sys { what: &'static str, source: nix::Error },
    #[error("--console-socket {path}: {source}")]
    Socket { path: String, source: std::io::Error },
}

fn sys(what: &'static str) -> impl FnOnce(nix::Error) -> TtyError {
    move |source| TtyError::Sys { what, source }
}

/// In the init, after pivot_root: opens a pty on the container's /dev/ptmx, makes the slave
/// our stdio and controlling terminal, and returns the master.
pub fn open_container_pty(width: u16, height: u16) -> Result<OwnedFd, TtyError> {
    use nix::fcntl::OFlag;
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).map_err(sys("open /dev/ptmx"))?;
    nix::pty::grantpt(&master).map_err(sys("grantpt"))?;
    nix::pty::unlockpt(&master).map_err(sys("unlockpt"))?;
    let name = nix::pty::ptsname_r(&master).map_err(sys("ptsname"))?;
    let slave = nix::fcntl::open(Path::new(&name), OFlag::O_RDWR | OFlag::O_NOCTTY, nix::sys::stat::Mode::empty()).map_err(sys("open pty slave"))?;
    if width > 0 && height > 0 {
        let ws = libc::winsize { ws_row: height, ws_col: width, ws_xpixel: 0, ws_ypixel: 0 };
        // A size the pty does not take leaves the default: not worth failing the start.
        let _ = crate::sys::set_window_size(&slave, &ws);
    }
    nix::unistd::dup2_stdin(&slave).map_err(sys("dup2 pty slave"))?;
    nix::unistd::dup2_stdout(&slave).map_err(sys("dup2 pty slave"))?;
    nix::unistd::dup2_stderr(&slave).map_err(sys("dup2 pty slave"))?;
    crate::sys::set_controlling_terminal(&std::io::stdin()).map_err(|e| TtyError::Sys { what: "TIOCSCTTY", source: io_to_nix(e) })?;
    Ok(OwnedFd::from(master))
}

fn io_to_nix(e: std::io::Error) -> nix::Error {
    nix::Error::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Connects to the console socket (in the runtime, before clone, so the path is resolved on
/// the host and a bad path fails early).
pub fn connect_console_socket(path: &Path) -> Result<std::os::unix::net::UnixStream, TtyError> {
    std::os::unix::net::UnixStream::connect(path).map_err(|source| TtyError::Socket { path: path.display().to_string(), source })
}

pub fn send_master(sock: &std::os::unix::net::UnixStream, master: BorrowedFd<'_>) -> Result<(), TtyError> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let fds = [master.as_raw_fd()];
    let name = b"/dev/ptmx";
    let iov = [std::io::IoSlice::new(name)];
    sendmsg::<()>(sock.as_fd().as_raw_fd(), &iov, &[ControlMessage::ScmRights(&fds)], MsgFlags::empty(), None)
        .map_err(sys("send pty master to console socket"))?;
    Ok(())
}

/// Copies stdin → master and master → stdout until the master hangs up (the container's
/// side closed) or `stop` returns true. Puts the local terminal in raw mode meanwhile.
/// Gives the container's pty the size of our own terminal (stdin), if stdin is one: at the
/// start of a proxied session and on every SIGWINCH, so full-screen programs in the container
/// follow the caller's window.
pub fn copy_window_size(master: BorrowedFd<'_>) {
    // stdin may be anything: a non-terminal only makes the call fail.
    if let Ok(ws) = crate::sys::window_size(&std::io::stdin()) {
        let _ = crate::sys::set_window_size(&master, &ws);
    }
}

pub fn proxy(master: &OwnedFd, mut stop: impl FnMut() -> bool) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::termios;
    let stdin = std::io::stdin();
    copy_window_size(master.as_fd());
    let saved = termios::tcgetattr(&stdin).ok();
    if let Some(t) = &saved {
        let mut raw = t.clone();
        termios::cfmakeraw(&mut raw);
        let _ = termios::tcsetattr(&stdin, termios::SetArg::TCSANOW, &raw);
    }
    let mut buf = [0u8; 8192];
    let mut stdin_open = true;
    loop {
        if stop() {
            break;
        }
        let sin = stdin.as_fd();
        let mut fds = vec![PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        if stdin_open {
            fds.push(PollFd::new(sin, PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(nix::Error::EINTR) => continue,
            Err(_) => break,
        }
        let m_rev = fds[0].revents().unwrap_or(PollFlags::empty());
        let s_rev = fds.get(1).and_then(|f| f.revents()).unwrap_or(PollFlags::empty());
        if m_rev.intersects(PollFlags::POLLIN) {
            match nix::unistd::read(master, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let _ = nix::unistd::write(std::io::stdout(), &buf[..n]);
                }
            }
        } else if m_rev.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
            break;
        }
        if s_rev.intersects(PollFlags::POLLIN | PollFlags::POLLHUP) {
            match nix::unistd::read(std::io::stdin(), &mut buf) {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) => {
                    let _ = nix::unistd::write(master, &buf[..n]);
                }
            }
        }
    }
    if let Some(t) = &saved {
        let _ = termios::tcsetattr(&stdin, termios::SetArg::TCSANOW, t);
    }
}
