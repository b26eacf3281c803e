//! maskedPaths and readonlyPaths, applied after pivot_root to container paths.
//!
//! A masked file gets /dev/null bound over it. That /dev/null is checked to really be the
//! null character device (1:3) before use: a rootfs that replaced it by a symlink or by
//! another file must not turn "masking" into exposing something (CVE-2025-31133 class).

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use super::resolve::open;
use super::{io_err, nix_err, RootfsError};
use crate::sys;

fn metadata_of(fd: &OwnedFd) -> std::io::Result<std::fs::Metadata> {
    std::fs::metadata(sys::fd_path(fd))
}

pub fn mask(root: &OwnedFd, paths: &[String]) -> Result<(), RootfsError> {
    if paths.is_empty() {
        return Ok(());
    }
    let null = open(root, Path::new("/dev/null")).map_err(io_err("resolve", "/dev/null"))?;
    let meta = metadata_of(&null).map_err(io_err("stat", "/dev/null"))?;
    if !meta.file_type().is_char_device() || meta.rdev() != libc::makedev(1, 3) {
        return Err(RootfsError::Refused("/dev/null in the container is not the null device (1:3); refusing to use it to mask paths".into()));
    }
    let null_path = sys::fd_path(&null);
    for p in paths {
        let target = match open(root, Path::new(p)) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(io_err("resolve masked path", p)(e)),
        };
        let at = sys::fd_path(&target);
        // A directory gets an empty read-only tmpfs, anything else the checked /dev/null
        // (both ends named by fd, so nothing is looked up by path again). Told apart by an
        // fstat of the O_PATH fd: a mount the kernel refuses with ENOTDIR costs as much as
        // one it makes (~20 µs, ten directories in the default list).
        let is_dir = nix::sys::stat::fstat(&target).map_err(nix_err("stat masked path", p))?.st_mode & libc::S_IFMT == libc::S_IFDIR;
        if is_dir {
            nix::mount::mount(
                Some("tmpfs"),
                at.as_str(),
                Some("tmpfs"),
                nix::mount::MsFlags::MS_RDONLY | nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV | nix::mount::MsFlags::MS_NOEXEC,
                Some("nr_inodes=1,mode=755"),
            )
            .map_err(nix_err("mask (tmpfs over)", p))?;
        } else {
            nix::mount::mount(Some(null_path.as_str()), at.as_str(), None::<&str>, nix::mount::MsFlags::MS_BIND, None::<&str>)
                .map_err(nix_err("mask (bind /dev/null over)", p))?;
        }
    }
    Ok(())
}

pub fn make_readonly(root: &OwnedFd, paths: &[String]) -> Result<(), RootfsError> {
    for p in paths {
        let target = match open(root, Path::new(p)) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(io_err("resolve readonly path", p)(e)),
        };
        let tree = sys::open_tree(target.as_raw_fd(), Path::new(""), true, true).map_err(io_err("open_tree", p))?;
        let attrs = libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV | libc::MOUNT_ATTR_NOEXEC;
        sys::mount_setattr(tree.as_raw_fd(), true, attrs, 0, 0).map_err(io_err("make read-only", p))?;
        sys::move_mount(tree.as_raw_fd(), target.as_raw_fd()).map_err(io_err("make read-only (move_mount)", p))?;
    }
    Ok(())
}
