//! What a service manager hands the container: systemd socket activation (LISTEN_FDS) and
//! the Type=notify socket (NOTIFY_SOCKET), each taken only when it is really ours and safe
//! to pass.

use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::rootfs::plan;

/// What was wrong with the sockets the service manager announced.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ActivationError(String);

/// The sockets systemd handed us (fds 3..3+count) and their names.
pub struct Activation {
    pub count: u32,
    pub names: Option<String>,
}

/// systemd socket activation, by systemd's own rule (sd_listen_fds): the fds are ours only
/// when LISTEN_PID is this process's pid. A LISTEN_FDS inherited from some ancestor names
/// whatever fds the caller happens to hold (a host directory, a log file): it is ignored and
/// those fds are closed before the container's program runs. When the pid matches, every
/// fd must be a socket, else create fails: passing a non-socket would hand a host file to
/// the container. The variables are removed from our environment either way, so nothing
/// we start later (hooks, a nested runtime) takes them as its own.
pub fn socket_activation() -> Result<Option<Activation>, ActivationError> {
    let fds = std::env::var("LISTEN_FDS").ok();
    let pid = std::env::var("LISTEN_PID").ok();
    let names = std::env::var("LISTEN_FDNAMES").ok();
    for v in ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"] {
        std::env::remove_var(v);
    }
    let Some(fds) = fds else { return Ok(None) };
    let ours = pid.as_deref().and_then(|p| p.trim().parse::<u32>().ok()) == Some(std::process::id());
    if !ours {
        crate::log::debug(&format!(
            "LISTEN_FDS={fds} ignored: LISTEN_PID={} is not this process ({})",
            pid.as_deref().unwrap_or("(unset)"),
            std::process::id()
        ));
        return Ok(None);
    }
    let count: u32 = fds.trim().parse().map_err(|_| ActivationError(format!("LISTEN_FDS={fds:?}: not a number of fds")))?;
    if count == 0 {
        return Ok(None);
    }
    for fd in 3..3 + count {
        // SAFETY: only looked at, for the duration of the fstat; the fd stays the caller's.
        // An fd that is not open gives EBADF.
        let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd as i32) };
        let st = match nix::sys::stat::fstat(borrowed) {
            Ok(st) => st,
            Err(e) => {
                let e = std::io::Error::from(e);
                return Err(ActivationError(format!("LISTEN_FDS={count}: fd {fd}: {e} (the service manager passed fewer fds than it announced)")));
            }
        };
        if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
            return Err(ActivationError(format!(
                "LISTEN_FDS={count}: fd {fd} is not a socket; refusing to pass a non-socket fd into the container (check the unit's socket activation, or unset LISTEN_FDS)"
            )));
        }
    }
    // LISTEN_FDNAMES is colon-separated, one name per fd; a mismatching list is dropped.
    let names = names.filter(|n| n.split(':').count() == count as usize);
    Ok(Some(Activation { count, names }))
}

/// Where the service manager's notify socket appears inside the container.
pub const NOTIFY_IN_CONTAINER: &str = "/run/notify/notify.sock";

/// systemd's Type=notify: when we are started with NOTIFY_SOCKET naming a socket file, the
/// service inside gets that socket bind-mounted and NOTIFY_SOCKET pointing at it, so its
/// READY=1 reaches the service manager. Only when the config gives /run a tmpfs (the rootfs
/// itself is not modified); abstract sockets are not passed (Landlock may scope them).
///
/// The path is opened once and must be a socket: a directory or file named there would be
/// bind-mounted read-write into the container. What is mounted is that opened socket, not
/// whatever the path names later. Anything else is left out, with a warning.
///
/// `relay`: the runtime's own relay socket (a foreground `run`, see [`crate::notify`]),
/// mounted instead of the manager's.
pub fn notify_socket_mount(mounts: &[plan::PlannedMount], relay: Option<&Path>) -> Option<plan::PlannedMount> {
    let sock = match relay {
        Some(r) => r.to_path_buf(),
        None => std::env::var_os("NOTIFY_SOCKET").map(PathBuf::from)?,
    };
    if !sock.is_absolute() {
        return None;
    }
    let fd: OwnedFd = match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_PATH).open(&sock) {
        Ok(f) => f.into(),
        Err(_) => return None,
    };
    let is_socket = std::fs::File::from(fd.try_clone().ok()?).metadata().map(|m| m.file_type().is_socket()).unwrap_or(false);
    if !is_socket {
        crate::log::warn(&format!("NOTIFY_SOCKET={} is not a socket; not passed to the container", sock.display()));
        return None;
    }
    if !mounts.iter().any(|m| m.dest == Path::new("/run") && m.fstype == "tmpfs") {
        crate::log::warn("NOTIFY_SOCKET is set but the config has no tmpfs on /run to put it in; not passed to the container");
        return None;
    }
    let m = oci_spec::runtime::MountBuilder::default()
        .destination(NOTIFY_IN_CONTAINER)
        .typ("bind")
        .source(sock)
        // Read-only: sending to a socket needs no write access to the mount, and the
        // container may not chmod, chown or touch the host's socket inode.
        .options(vec!["bind".to_string(), "ro".into(), "nosuid".into(), "nodev".into(), "noexec".into()])
        .build()
        .ok()?;
    let mut p = plan::build(&[m], Path::new("/")).ok()?.pop()?;
    p.index = mounts.len();
    p.file_target = true;
    let tree = crate::rootfs::sources::tree_of(&fd).ok()?;
    crate::rootfs::mounts::set_attrs(&tree, &p).ok()?;
    p.tree = Some(tree);
    Some(p)
}
