//! The runtime ⇄ container-init protocol: typed messages over a SOCK_SEQPACKET socketpair.
//!
//! Each direction has its own message type: the runtime sends [`ToInit`] and receives
//! [`FromInit`]; the init (or `exec`'s child) the reverse. A [`Channel`] is typed by both, so
//! a side cannot send the other side's message or wait for one that never comes its way.
//! One datagram is one JSON-encoded message; a file descriptor (the console's pty master, or
//! `exec -d`'s pidfd) rides along as SCM_RIGHTS. SEQPACKET keeps message boundaries, and a
//! peer that dies shows up as end-of-file, so neither side can hang on a dead partner.
//!
//! ```text
//!   runtime (create)                          init (child, in the new namespaces)
//!   ----------------                          -----------------------------------
//!   clone3() into the cgroup2 dir -----------> enters its v1 cgroups itself, waits
//!   writes uid/gid maps
//!   Proceed --------------------------------->
//!                                             joins/creates the remaining namespaces,
//!                                             prepares the rootfs (mounts, devices)
//!           <-------------------------------- RunCreateRuntimeHooks (only if there are any)
//!   runs prestart + createRuntime hooks
//!   HooksDone ------------------------------->
//!                                             createContainer hooks, pivot_root, masks,
//!                                             console, user, caps, Landlock, seccomp
//!           <-------------------------------- Console (pty master as SCM_RIGHTS), if terminal
//!           <-------------------------------- Ready
//!   writes state.json (created), --pid-file
//!   Recorded -------------------------------->  waits on the exec fifo for `start`
//!   exits (create) or starts and waits (run)
//!
//!   runtime (exec)                            exec's child (joins the container)
//!   --------------                            -----------------------------------
//!   clone3() into the cgroup2 dir -----------> enters its v1 cgroups itself, waits
//!   Proceed --------------------------------->
//!                                             setns, the final steps of process.rs
//!           <-------------------------------- Console (pty master), if terminal
//!           <-------------------------------- Ready; foreground: the child execs, and the
//!                                             socket's close-on-exec end hangs up
//!   exec -d only:
//!           <-------------------------------- Ready + pidfd of the forked program
//!   Proceed --------------------------------->  the child exits; the program execs
//!
//!   At any point:  <------------------------- Error { msg }   (then the sender exits;
//!                                             even before Proceed, if entering its
//!                                             cgroups failed)
//! ```
//! A failure inside the container therefore becomes the runtime's own error message.
//!
//! Size: a datagram is at most [`MAX_DATAGRAM`] bytes. The sender shortens an Error's text to
//! [`MAX_TEXT`] bytes and says how much it cut (a hook can print any amount to stderr), so
//! every message fits; a datagram that still arrives cut short is reported as such, never as
//! a JSON syntax error.

use std::io::{IoSlice, IoSliceMut};
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// runtime → init (or exec's child).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum ToInit {
    /// The cgroup is joined and the id maps are written (exec -d: the pidfd arrived); go on.
    Proceed,
    /// The createRuntime (and prestart) hooks succeeded.
    HooksDone,
    /// After Ready: the runtime has recorded the container as created. An init whose socket
    /// closes without it (its runtime died in between) exits instead of waiting for a
    /// `start` that nothing on record would ever send.
    Recorded,
}

/// init (or exec's child) → runtime.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum FromInit {
    /// Namespaces and mounts are ready; run the createRuntime hooks now.
    RunCreateRuntimeHooks,
    /// The pty master follows as SCM_RIGHTS.
    Console,
    /// Everything is set up (the init waits on the exec fifo; exec -d: a pidfd follows).
    Ready,
    /// Setup failed; the sender exits after sending this.
    Error { msg: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("socketpair: {0}")]
    Socket(nix::Error),
    #[error("sync socket send: {0}")]
    Send(nix::Error),
    #[error("sync socket receive: {0}")]
    Recv(nix::Error),
    #[error("the container's init exited before it was ready")]
    Eof,
    #[error("sync socket: malformed message: {0}")]
    Decode(serde_json::Error),
    #[error("sync socket: a message longer than {MAX_DATAGRAM} bytes arrived cut short")]
    Truncated,
    #[error("sync socket: expected {expected}, got {got}")]
    Unexpected { expected: String, got: String },
}

/// The receive buffer: every message the sender builds fits in it.
pub const MAX_DATAGRAM: usize = 16 * 1024;
/// The longest Error text sent whole; longer ones are cut (with a note of how much).
pub const MAX_TEXT: usize = 12 * 1024;

/// `text`, or its first MAX_TEXT bytes (at a character boundary) and a note of what was cut.
fn bounded(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_TEXT {
        return text.into();
    }
    let mut end = MAX_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} [... {} more bytes cut]", &text[..end], text.len() - end).into()
}

/// One end of the sync socket: sends `S`, receives `R`.
pub struct Channel<S, R> {
    fd: OwnedFd,
    dir: PhantomData<fn(S) -> R>,
}

/// The runtime's end.
pub type RuntimeEnd = Channel<ToInit, FromInit>;
/// The init's (or exec's child's) end.
pub type InitEnd = Channel<FromInit, ToInit>;

pub fn pair() -> Result<(RuntimeEnd, InitEnd), ProtocolError> {
    let (a, b) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC).map_err(ProtocolError::Socket)?;
    Ok((Channel { fd: a, dir: PhantomData }, Channel { fd: b, dir: PhantomData }))
}

impl<S, R> std::os::fd::AsFd for Channel<S, R> {
    /// For waiting on the socket beside other fds (create also waits on signals).
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl<S: Serialize, R: DeserializeOwned> Channel<S, R> {
    pub fn send(&self, msg: &S) -> Result<(), ProtocolError> {
        self.send_with_fd(msg, None)
    }

    pub fn send_with_fd(&self, msg: &S, fd: Option<RawFd>) -> Result<(), ProtocolError> {
        let data = serde_json::to_vec(msg).expect("messages serialise");
        self.send_bytes(&data, fd)
    }

    fn send_bytes(&self, data: &[u8], fd: Option<RawFd>) -> Result<(), ProtocolError> {
        let iov = [IoSlice::new(data)];
        let fds;
        let cmsgs: Vec<ControlMessage> = match fd {
            Some(f) => {
                fds = [f];
                vec![ControlMessage::ScmRights(&fds)]
            }
            None => vec![],
        };
        loop {
            match sendmsg::<()>(self.fd.as_raw_fd(), &iov, &cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
                Ok(_) => return Ok(()),
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(ProtocolError::Send(e)),
            }
        }
    }

    /// Receives one message and the fd that came with it, if any.
    pub fn recv_with_fd(&self) -> Result<(R, Option<OwnedFd>), ProtocolError> {
        // Messages are small JSON; a stack buffer avoids touching heap per message.
        let mut buf = [0u8; MAX_DATAGRAM];
        let mut cmsg = nix::cmsg_space!([RawFd; 1]);
        let mut reset_seen = false;
        let (n, fd) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(self.fd.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC) {
                Ok(m) => {
                    if m.flags.contains(MsgFlags::MSG_TRUNC) {
                        return Err(ProtocolError::Truncated);
                    }
                    let mut fd = None;
                    for c in m.cmsgs().map_err(ProtocolError::Recv)? {
                        if let ControlMessageOwned::ScmRights(fds) = c {
                            // SAFETY: the kernel just installed these fds in our table; we own them.
                            fd = fds.first().map(|&f| unsafe { OwnedFd::from_raw_fd(f) });
                        }
                    }
                    break (m.bytes, fd);
                }
                Err(nix::Error::EINTR) => continue,
                // A peer that exited with a message of ours unread (a child that failed
                // before it read Proceed) leaves one ECONNRESET ahead of what it had sent
                // (its Error): the kernel reports it once; what follows is read as usual.
                Err(nix::Error::ECONNRESET) if !reset_seen => reset_seen = true,
                Err(e) => return Err(ProtocolError::Recv(e)),
            }
        };
        if n == 0 {
            return Err(ProtocolError::Eof);
        }
        let msg = serde_json::from_slice(&buf[..n]).map_err(ProtocolError::Decode)?;
        Ok((msg, fd))
    }
}

impl InitEnd {
    /// Reports a setup failure to the runtime, its text bounded to fit one datagram.
    pub fn send_error(&self, msg: &str) -> Result<(), ProtocolError> {
        self.send(&FromInit::Error { msg: bounded(msg).into_owned() })
    }

    /// Waits for `want` from the runtime; anything else is a protocol error.
    pub fn expect(&self, want: ToInit) -> Result<Option<OwnedFd>, ProtocolError> {
        let (got, fd) = self.recv_with_fd()?;
        if got != want {
            return Err(ProtocolError::Unexpected { expected: format!("{want:?}"), got: format!("{got:?}") });
        }
        Ok(fd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_sent_before_proceed_was_read_is_not_lost() {
        // The child reports and exits without reading the Proceed already sent to it: the
        // kernel flags the runtime's socket with ECONNRESET ahead of the queued Error.
        let (runtime, init) = pair().unwrap();
        runtime.send(&ToInit::Proceed).unwrap();
        init.send_error("cgroup /x: enter it: EACCES").unwrap();
        drop(init);
        assert_eq!(runtime.recv_with_fd().unwrap().0, FromInit::Error { msg: "cgroup /x: enter it: EACCES".into() });
        assert!(matches!(runtime.recv_with_fd(), Err(ProtocolError::Eof)));
        // Control: a child that exits without a word is still end-of-file, not a hang.
        let (runtime, init) = pair().unwrap();
        runtime.send(&ToInit::Proceed).unwrap();
        drop(init);
        assert!(matches!(runtime.recv_with_fd(), Err(ProtocolError::Eof)), "a silent death reads as EOF");
    }

    #[test]
    fn messages_and_fds_cross() {
        let (runtime, init) = pair().unwrap();
        init.send(&FromInit::Ready).unwrap();
        assert_eq!(runtime.recv_with_fd().unwrap().0, FromInit::Ready);
        let f = std::fs::File::open("/dev/null").unwrap();
        init.send_with_fd(&FromInit::Console, Some(f.as_raw_fd())).unwrap();
        let (m, fd) = runtime.recv_with_fd().unwrap();
        assert_eq!(m, FromInit::Console);
        assert!(fd.is_some());
        runtime.send(&ToInit::Proceed).unwrap();
        init.expect(ToInit::Proceed).unwrap();
        runtime.send(&ToInit::HooksDone).unwrap();
        assert!(matches!(init.expect(ToInit::Proceed), Err(ProtocolError::Unexpected { .. })));
        init.send_error("mount /proc: EPERM").unwrap();
        assert_eq!(runtime.recv_with_fd().unwrap().0, FromInit::Error { msg: "mount /proc: EPERM".into() });
        drop(init);
        assert!(matches!(runtime.recv_with_fd(), Err(ProtocolError::Eof)));
    }

    #[test]
    fn long_errors_arrive_cut_with_a_note() {
        let (runtime, init) = pair().unwrap();
        // A hook that wrote 20 kB (multi-byte characters included) to stderr.
        let long = format!("hook failed: {}", "é".repeat(10_000));
        init.send_error(&long).unwrap();
        let FromInit::Error { msg: err } = runtime.recv_with_fd().unwrap().0 else { panic!("not an Error") };
        assert!(err.starts_with("hook failed: é"), "{err}");
        assert!(err.ends_with("more bytes cut]"), "{}", &err[err.len() - 40..]);
        assert!(err.len() < MAX_DATAGRAM);
        // A datagram longer than the buffer is reported as cut short, not as bad JSON.
        init.send_bytes(&vec![b'x'; MAX_DATAGRAM + 10], None).unwrap();
        assert!(matches!(runtime.recv_with_fd(), Err(ProtocolError::Truncated)));
    }
}
