//! /dev: the default devices, `linux.devices`, and the standard symlinks.
//!
//! A device that does not exist yet is created with mknodat inside the resolved /dev; one
//! that exists in the rootfs already gets the host's node bind-mounted over it, so the rootfs
//! on disk is never modified. The runtime-spec's default set is always provided.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use nix::sys::stat::{FchmodatFlags, Mode, SFlag};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::resolve::{ensure, open, Kind};
use super::{io_err, RootfsError};
use crate::sys;

pub struct Dev {
    pub path: PathBuf,
    /// S_IFCHR, S_IFBLK or S_IFIFO.
    pub kind: libc::mode_t,
    pub major: i64,
    pub minor: i64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

pub fn defaults() -> Vec<Dev> {
    [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)]
        .into_iter()
        .map(|(n, ma, mi)| Dev { path: Path::new("/dev").join(n), kind: libc::S_IFCHR, major: ma, minor: mi, mode: 0o666, uid: 0, gid: 0 })
        .collect()
}

pub fn from_config(devs: &[LinuxDevice]) -> Vec<Dev> {
    devs.iter()
        .map(|d| Dev {
            path: d.path().clone(),
            kind: match d.typ() {
                LinuxDeviceType::B => libc::S_IFBLK,
                LinuxDeviceType::P => libc::S_IFIFO,
                // "c", "u" (unbuffered character) and "a" (only meaningful in cgroup rules).
                _ => libc::S_IFCHR,
            },
            major: d.major(),
            minor: d.minor(),
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        })
        .collect()
}

/// Creates every device. `userns`: mknod is not permitted there, so bind the host's node.
pub fn create_all(root: &OwnedFd, devs: &[Dev], userns: bool) -> Result<(), RootfsError> {
    for d in devs {
        create_one(root, d, userns)?;
    }
    Ok(())
}

fn create_one(root: &OwnedFd, d: &Dev, userns: bool) -> Result<(), RootfsError> {
    let parent_path = d.path.parent().unwrap_or(Path::new("/dev"));
    let name = d.path.file_name().ok_or_else(|| RootfsError::Refused(format!("bad device path {}", d.path.display())))?;
    let fifo = d.kind == libc::S_IFIFO;
    if fifo {
        // A FIFO needs no privilege (mknod of one is allowed in a user namespace) and has no
        // host node to borrow: it is made, or kept if the rootfs has one there already (a
        // rootfs without a /dev tmpfs keeps the one an earlier run made).
        if let Ok(existing) = open(root, &d.path) {
            let is_fifo = std::fs::File::from(existing).metadata().map(|m| m.file_type().is_fifo()).unwrap_or(false);
            if is_fifo {
                return Ok(());
            }
        }
    } else if userns || open(root, &d.path).is_ok() {
        // A device node in a user namespace, or one the rootfs already has, is the host's
        // node bind-mounted (mknod would fail, or change the rootfs on disk).
        return bind_host_node(root, d);
    }
    let parent = ensure(root, parent_path, Kind::Dir)?;
    let cname = CString::new(name.to_string_lossy().as_bytes()).map_err(|_| RootfsError::Refused("bad device name".into()))?;
    let dev = if fifo { 0 } else { nix::sys::stat::makedev(d.major as u64, d.minor as u64) };
    // mknodat creates exactly this name in that directory.
    if let Err(e) = nix::sys::stat::mknodat(&parent, cname.as_c_str(), SFlag::from_bits_truncate(d.kind), Mode::from_bits_truncate(d.mode), dev) {
        let e = std::io::Error::from(e);
        if e.raw_os_error() == Some(libc::EEXIST) && fifo {
            return Err(RootfsError::Refused(format!(
                "{} (a FIFO in linux.devices) exists in the rootfs as something else: remove it from the rootfs or from linux.devices, or mount a tmpfs on /dev",
                d.path.display()
            )));
        }
        if e.raw_os_error() == Some(libc::EPERM) && !fifo {
            return bind_host_node(root, d);
        }
        if e.raw_os_error() == Some(libc::EEXIST) {
            return Err(RootfsError::Refused(format!(
                "{} exists in the rootfs but does not resolve inside it (a dangling or escaping symlink?): remove it, or mount a tmpfs on /dev",
                d.path.display()
            )));
        }
        return Err(io_err("mknod", d.path.display())(e));
    }
    // mknod applies the umask; set the exact mode and owner the config asked for.
    nix::sys::stat::fchmodat(&parent, cname.as_c_str(), Mode::from_bits_truncate(d.mode), FchmodatFlags::FollowSymlink)
        .map_err(|e| io_err("chmod", d.path.display())(e.into()))?;
    let (uid, gid) = (Some(nix::unistd::Uid::from_raw(d.uid)), Some(nix::unistd::Gid::from_raw(d.gid)));
    nix::unistd::fchownat(&parent, cname.as_c_str(), uid, gid, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
        .map_err(|e| io_err("chown", d.path.display())(e.into()))?;
    Ok(())
}

fn bind_host_node(root: &OwnedFd, d: &Dev) -> Result<(), RootfsError> {
    let host = &d.path;
    let target = ensure(root, &d.path, Kind::File)?;
    let tree = sys::open_tree(libc::AT_FDCWD, host, false, false).map_err(io_err("open_tree", host.display()))?;
    sys::move_mount(tree.as_raw_fd(), target.as_raw_fd()).map_err(io_err("bind device onto", d.path.display()))
}

/// /dev/fd, /dev/std{in,out,err} and /dev/ptmx, as every container runtime provides them.
pub fn symlinks(root: &OwnedFd, with_pts: bool) -> Result<(), RootfsError> {
    let dev = ensure(root, Path::new("/dev"), Kind::Dir)?;
    let mut links = vec![("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"), ("/proc/self/fd/1", "stdout"), ("/proc/self/fd/2", "stderr")];
    if with_pts {
        links.push(("pts/ptmx", "ptmx"));
    }
    for (target, name) in links {
        // symlinkat creates only this name.
        if let Err(e) = nix::unistd::symlinkat(target, &dev, name) {
            let e = std::io::Error::from(e);
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(io_err("symlink", format!("/dev/{name}"))(e));
            }
            if name == "ptmx" {
                // An existing /dev/ptmx node (rootfs on disk) would be the host's pty
                // multiplexer; cover it with the container's own devpts ptmx instead.
                let pts = open(root, Path::new("/dev/pts/ptmx")).map_err(io_err("resolve", "/dev/pts/ptmx"))?;
                let tree = sys::open_tree(pts.as_raw_fd(), Path::new(""), false, true).map_err(io_err("open_tree", "/dev/pts/ptmx"))?;
                let tgt = open(root, Path::new("/dev/ptmx")).map_err(io_err("resolve", "/dev/ptmx"))?;
                sys::move_mount(tree.as_raw_fd(), tgt.as_raw_fd()).map_err(io_err("bind onto", "/dev/ptmx"))?;
            }
        }
    }
    Ok(())
}
