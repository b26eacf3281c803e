//! sd_notify relay for a foreground `run` under a service manager.
//!
//! systemd takes a notification only from a process it can tie to the unit (with
//! NotifyAccess=main, from the main process only), and learns the sender from the socket's
//! credentials. A process in the container has another pid namespace and may sit in a cgroup
//! systemd does not look at, so its READY=1 would be dropped. Instead the runtime binds a
//! socket of its own, which the container gets as its NOTIFY_SOCKET (only that socket is
//! mounted, never a directory), and forwards what the service says from `runtime run`
//! itself: the unit's main process, so the unit can keep NotifyAccess=main.
//!
//! Only state keys a service legitimately reports are forwarded. MAINPID= is dropped (the
//! unit's main process stays the runtime, whose exit is the service's), and so are
//! NOTIFYACCESS=, FDSTORE=/FDNAME= and anything else that would change how systemd treats
//! the unit. Ancillary data (passed fds) is never read, so the kernel closes it.

use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("NOTIFY_SOCKET={0:?}: not an absolute path or an abstract (@) socket name")]
    BadAddress(String),
    #[error("notify relay socket {path}: {err}")]
    Bind { path: PathBuf, err: std::io::Error },
}

/// The keys forwarded to the service manager.
const FORWARDED: &[&str] =
    &["READY", "RELOADING", "STOPPING", "STATUS", "ERRNO", "BUSERROR", "WATCHDOG", "WATCHDOG_USEC", "EXTEND_TIMEOUT_USEC", "MONOTONIC_USEC"];

enum Target {
    Path(PathBuf),
    Abstract(Vec<u8>),
}

pub struct Relay {
    inner: UnixDatagram,
    path: PathBuf,
    out: UnixDatagram,
    target: Target,
}

impl Relay {
    /// Binds the relay socket at `<root>/.notify/<id>.sock` when NOTIFY_SOCKET is set, and
    /// removes NOTIFY_SOCKET from our environment (hooks and anything we start must not
    /// notify on the unit's behalf).
    pub fn open(root: &Path, id: &str) -> Result<Option<Relay>, NotifyError> {
        let Some(addr) = std::env::var_os("NOTIFY_SOCKET") else { return Ok(None) };
        std::env::remove_var("NOTIFY_SOCKET");
        let bytes = addr.as_encoded_bytes();
        let target = match bytes.first() {
            Some(b'/') => Target::Path(PathBuf::from(&addr)),
            Some(b'@') if bytes.len() > 1 => Target::Abstract(bytes[1..].to_vec()),
            _ => return Err(NotifyError::BadAddress(addr.to_string_lossy().into_owned())),
        };
        if let Target::Path(p) = &target {
            use std::os::unix::fs::FileTypeExt;
            // Nothing to relay to (and a sign of a misconfigured caller): the container gets
            // no NOTIFY_SOCKET, as when the runtime passes the host's socket itself.
            if !std::fs::metadata(p).is_ok_and(|m| m.file_type().is_socket()) {
                crate::log::warn(&format!("NOTIFY_SOCKET={} is not a socket; not passed to the container", p.display()));
                return Ok(None);
            }
        }
        let dir = root.join(".notify");
        let path = dir.join(format!("{id}.sock"));
        let bind = |err| NotifyError::Bind { path: path.clone(), err };
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new().mode(0o700).recursive(true).create(&dir).map_err(bind)?;
        }
        // A socket left by a runtime that was killed: nobody else binds here.
        let _ = std::fs::remove_file(&path);
        let inner = UnixDatagram::bind(&path).map_err(bind)?;
        // The service may run as any user: the socket is reached only through the mount of
        // this one inode (the directory above it is 0700).
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).map_err(bind)?;
        inner.set_nonblocking(true).map_err(bind)?;
        let out = UnixDatagram::unbound().map_err(bind)?;
        Ok(Some(Relay { inner, path, out, target }))
    }

    /// The socket to mount into the container as its NOTIFY_SOCKET.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Forwards every datagram waiting on the relay socket. Never blocks.
    pub fn pump(&self) {
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.inner.recv(&mut buf) {
            if let Some(msg) = filter(&buf[..n]) {
                if let Err(e) = self.send(msg.as_bytes()) {
                    crate::log::warn(&format!("notify relay: forwarding {msg:?}: {e}"));
                }
            }
        }
    }

    fn send(&self, msg: &[u8]) -> std::io::Result<usize> {
        match &self.target {
            Target::Path(p) => self.out.send_to(msg, p),
            Target::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                let a = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                self.out.send_to_addr(msg, &a)
            }
        }
    }
}

impl AsFd for Relay {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        if let Some(d) = self.path.parent() {
            // Fails while another container's relay is in it.
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// `WATCHDOG_USEC=N` for the service, when systemd set a watchdog for us (WATCHDOG_PID, if
/// set, is our pid): its WATCHDOG=1 pings come through the relay. WATCHDOG_PID is not passed
/// on: the service's pid in its namespace is not ours, and sd_watchdog_enabled() would say no.
/// Both are removed from our environment.
pub fn watchdog_env() -> Option<String> {
    let usec = std::env::var("WATCHDOG_USEC").ok();
    let pid = std::env::var("WATCHDOG_PID").ok();
    std::env::remove_var("WATCHDOG_USEC");
    std::env::remove_var("WATCHDOG_PID");
    let ours = pid.is_none_or(|p| p.trim().parse::<u32>().ok() == Some(std::process::id()));
    let usec: u64 = usec?.trim().parse().ok().filter(|u| *u > 0)?;
    ours.then(|| format!("WATCHDOG_USEC={usec}"))
}

/// The lines of a notification that are forwarded, or None if none is.
fn filter(msg: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(msg).ok()?;
    let kept: Vec<&str> = text.split('\n').filter(|l| l.split_once('=').is_some_and(|(k, _)| FORWARDED.contains(&k))).collect();
    (!kept.is_empty()).then(|| kept.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_state_keys_pass() {
        assert_eq!(filter(b"READY=1").as_deref(), Some("READY=1"));
        assert_eq!(filter(b"READY=1\nSTATUS=up\nMAINPID=1\n").as_deref(), Some("READY=1\nSTATUS=up"));
        assert_eq!(filter(b"MAINPID=4242"), None);
        assert_eq!(filter(b"NOTIFYACCESS=all\nFDSTORE=1"), None);
        assert_eq!(filter(b"RELOADING=1\nMONOTONIC_USEC=5").as_deref(), Some("RELOADING=1\nMONOTONIC_USEC=5"));
        assert_eq!(filter(b"\xff\xfe"), None);
    }

    #[test]
    fn relays_to_the_managers_socket() {
        let base = std::env::temp_dir().join(format!("ocirt-notify-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let host = UnixDatagram::bind(base.join("host.sock")).unwrap();
        let relay = Relay {
            inner: UnixDatagram::bind(base.join("relay.sock")).unwrap(),
            path: base.join("relay.sock"),
            out: UnixDatagram::unbound().unwrap(),
            target: Target::Path(base.join("host.sock")),
        };
        relay.inner.set_nonblocking(true).unwrap();
        let svc = UnixDatagram::unbound().unwrap();
        svc.send_to(b"MAINPID=1", relay.path()).unwrap();
        svc.send_to(b"READY=1\nMAINPID=1", relay.path()).unwrap();
        relay.pump();
        host.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 64];
        let n = host.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        assert!(host.recv(&mut buf).is_err(), "the MAINPID-only message is not forwarded");
        drop(relay);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
