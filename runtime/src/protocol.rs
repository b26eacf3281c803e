//! The runtime ⇄ container-init protocol: typed messages over a SOCK_SEQPACKET socketpair.
//!
//! One datagram is one JSON-encoded [`Message`]; a file descriptor (the console's pty master)
//! rides along as SCM_RIGHTS. SEQPACKET keeps message boundaries, and a peer that dies shows
//! up as end-of-file, so neither side can hang on a dead partner.
//!
//! ```text
//!   runtime (parent)                          init (child, in the new namespaces)
//!   ----------------                          -----------------------------------
//!   clone() ---------------------------------> waits
//!   joins cgroup, writes uid/gid maps
//!   Proceed --------------------------------->
//!                                             joins/creates the remaining namespaces,
//!                                             prepares the rootfs (mounts, devices)
//!           <-------------------------------- RunCreateRuntimeHooks
//!   runs prestart + createRuntime hooks
//!   HooksDone ------------------------------->
//!                                             createContainer hooks, pivot_root, masks,
//!                                             console, user, caps, Landlock, seccomp
//!           <-------------------------------- Console (pty master as SCM_RIGHTS), if terminal
//!           <-------------------------------- Ready (waiting on the exec fifo)
//!   writes state.json, --pid-file; exits (create) or starts and waits (run)
//!
//!   At any point:  <------------------------- Log { level, msg }
//!                  <------------------------- Error { msg }   (then the init exits)
//! ```
//! A failure inside the container therefore becomes the runtime's own error message.
//!
//! Size: a datagram is at most [`MAX_DATAGRAM`] bytes. The sender shortens the text of a Log or
//! Error to [`MAX_TEXT`] bytes and says how much it cut (a hook can print any amount to
//! stderr), so every message fits; a datagram that still arrives cut short is reported as
//! such, never as a JSON syntax error.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Message {
    /// parent → init: cgroup joined and id maps written; go on.
    Proceed,
    /// init → parent: namespaces and mounts are ready; run createRuntime hooks now.
    RunCreateRuntimeHooks,
    /// parent → init: the hooks succeeded.
    HooksDone,
    /// init → parent: the pty master follows as SCM_RIGHTS.
    Console,
    /// init → parent: everything is set up; the init waits on the exec fifo.
    Ready,
    /// init → parent: a log record to print on the runtime's log.
    Log { level: String, msg: String },
    /// init → parent: setup failed; the init exits after sending this.
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
    #[error("sync socket: expected {expected}, got {got:?}")]
    Unexpected { expected: &'static str, got: Message },
    #[error("{0}")]
    FromInit(String),
}

/// The receive buffer: every message the sender builds fits in it.
pub const MAX_DATAGRAM: usize = 16 * 1024;
/// The longest Log or Error text sent whole; longer ones are cut (with a note of how much).
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

/// One end of the sync socket.
pub struct Channel {
    fd: OwnedFd,
}

pub fn pair() -> Result<(Channel, Channel), ProtocolError> {
    let (a, b) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
        .map_err(ProtocolError::Socket)?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl std::os::fd::AsFd for Channel {
    /// For waiting on the socket beside other fds (create also waits on signals).
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Channel {
    pub fn send(&self, msg: &Message) -> Result<(), ProtocolError> {
        self.send_with_fd(msg, None)
    }

    pub fn send_with_fd(&self, msg: &Message, fd: Option<RawFd>) -> Result<(), ProtocolError> {
        let cut;
        let msg = match msg {
            Message::Error { msg: t } if t.len() > MAX_TEXT => {
                cut = Message::Error { msg: bounded(t).into_owned() };
                &cut
            }
            Message::Log { level, msg: t } if t.len() > MAX_TEXT => {
                cut = Message::Log { level: level.clone(), msg: bounded(t).into_owned() };
                &cut
            }
            m => m,
        };
        let data = serde_json::to_vec(msg).expect("messages serialise");
        let iov = [IoSlice::new(&data)];
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
    pub fn recv_with_fd(&self) -> Result<(Message, Option<OwnedFd>), ProtocolError> {
        // Messages are small JSON; a stack buffer avoids touching 64 KiB of heap per message.
        let mut buf = [0u8; MAX_DATAGRAM];
        let mut cmsg = nix::cmsg_space!([RawFd; 1]);
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
                Err(e) => return Err(ProtocolError::Recv(e)),
            }
        };
        if n == 0 {
            return Err(ProtocolError::Eof);
        }
        let msg = serde_json::from_slice(&buf[..n]).map_err(ProtocolError::Decode)?;
        Ok((msg, fd))
    }

    /// Waits for `expected`, printing any Log records on the way and turning an Error from
    /// the init into this side's error.
    pub fn expect(&self, expected: &'static str) -> Result<(Message, Option<OwnedFd>), ProtocolError> {
        loop {
            let (msg, fd) = self.recv_with_fd()?;
            match msg {
                Message::Log { level, msg } => crate::log::write(&level, &msg),
                Message::Error { msg } => return Err(ProtocolError::FromInit(msg)),
                m if variant_name(&m) == expected => return Ok((m, fd)),
                got => return Err(ProtocolError::Unexpected { expected, got }),
            }
        }
    }
}

fn variant_name(m: &Message) -> &'static str {
    match m {
        Message::Proceed => "Proceed",
        Message::RunCreateRuntimeHooks => "RunCreateRuntimeHooks",
        Message::HooksDone => "HooksDone",
        Message::Console => "Console",
        Message::Ready => "Ready",
        Message::Log { .. } => "Log",
        Message::Error { .. } => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_fds_cross() {
        let (a, b) = pair().unwrap();
        a.send(&Message::Log { level: "debug".into(), msg: "hi".into() }).unwrap();
        a.send(&Message::Ready).unwrap();
        assert_eq!(b.expect("Ready").unwrap().0, Message::Ready);
        let f = std::fs::File::open("/dev/null").unwrap();
        a.send_with_fd(&Message::Console, Some(f.as_raw_fd())).unwrap();
        let (m, fd) = b.recv_with_fd().unwrap();
        assert_eq!(m, Message::Console);
        assert!(fd.is_some());
        a.send(&Message::Error { msg: "mount /proc: EPERM".into() }).unwrap();
        assert_eq!(b.expect("Ready").err().unwrap().to_string(), "mount /proc: EPERM");
        drop(a);
        assert!(matches!(b.recv_with_fd(), Err(ProtocolError::Eof)));
    }

    #[test]
    fn long_errors_arrive_cut_with_a_note() {
        let (a, b) = pair().unwrap();
        // A hook that wrote 20 kB (multi-byte characters included) to stderr.
        let long = format!("hook failed: {}", "é".repeat(10_000));
        a.send(&Message::Error { msg: long.clone() }).unwrap();
        let err = b.expect("Ready").err().unwrap().to_string();
        assert!(err.starts_with("hook failed: é"), "{err}");
        assert!(err.ends_with("more bytes cut]"), "{}", &err[err.len() - 40..]);
        assert!(err.len() < MAX_DATAGRAM);
        // A datagram longer than the buffer is reported as cut short, not as bad JSON.
        let raw = vec![b'x'; MAX_DATAGRAM + 10];
        nix::sys::socket::send(a.fd.as_raw_fd(), &raw, MsgFlags::empty()).unwrap();
        assert!(matches!(b.recv_with_fd(), Err(ProtocolError::Truncated)));
    }
}
