//! Entering the rootfs: pivot_root (or the documented --no-pivot fallback: MS_MOVE + chroot,
//! for a rootfs on a ramfs/initramfs where pivot_root is impossible; it leaves the old root
//! reachable to a process that can chroot, so it is never the default).

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::{io_err, nix_err, RootfsError};

/// Makes every mount in our new namespace a slave (or private), so that nothing done for the
/// container propagates back to the host, and binds the rootfs onto itself: pivot_root needs
/// the new root to be a mount point. Returns an fd of the rootfs mount.
pub fn prepare(rootfs: &Path, private: bool) -> Result<OwnedFd, RootfsError> {
    let prop = if private { MsFlags::MS_PRIVATE } else { MsFlags::MS_SLAVE };
    mount::<str, str, str, str>(None, "/", None, prop | MsFlags::MS_REC, None).map_err(nix_err("make / a slave mount", "/"))?;
    mount::<Path, Path, str, str>(Some(rootfs), rootfs, None, MsFlags::MS_BIND | MsFlags::MS_REC, None)
        .map_err(nix_err("bind rootfs onto itself", rootfs.display()))?;
    let f = std::fs::File::open(rootfs).map_err(io_err("open rootfs", rootfs.display()))?;
    Ok(f.into())
}

pub fn pivot(root: &OwnedFd, no_pivot: bool) -> Result<(), RootfsError> {
    nix::unistd::fchdir(root).map_err(nix_err("chdir", "rootfs"))?;
    if no_pivot {
        mount::<str, str, str, str>(Some("."), "/", None, MsFlags::MS_MOVE, None).map_err(nix_err("move rootfs to /", "."))?;
        nix::unistd::chroot(".").map_err(nix_err("chroot", "."))?;
    } else {
        // pivot_root(".", ".") stacks the old root on top of the new one; unmounting it then
        // needs no directory for it inside the rootfs. We step into the old root through an
        // fd taken before the pivot, so the recursive slave change below touches only the
        // old root's tree and not the container's mounts (whose propagation is set already).
        let old_root = std::fs::File::open("/").map_err(io_err("open old root", "/"))?;
        nix::unistd::pivot_root(".", ".").map_err(nix_err("pivot_root", "rootfs"))?;
        nix::unistd::fchdir(&old_root).map_err(nix_err("chdir to old root", "/"))?;
        mount::<str, str, str, str>(None, ".", None, MsFlags::MS_SLAVE | MsFlags::MS_REC, None).map_err(nix_err("make old root a slave", "."))?;
        umount2(".", MntFlags::MNT_DETACH).map_err(nix_err("detach old root", "."))?;
    }
    nix::unistd::chdir("/").map_err(nix_err("chdir", "/"))?;
    let _ = root.as_raw_fd();
    Ok(())
}

/// rootfsPropagation, applied to the new "/" once it is the root.
pub fn set_root_propagation(p: &str) -> Result<(), RootfsError> {
    let f = match p {
        "" => return Ok(()),
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        other => return Err(RootfsError::Refused(format!("linux.rootfsPropagation: unknown value {other:?}"))),
    };
    mount::<str, str, str, str>(None, "/", None, f, None).map_err(nix_err("set rootfsPropagation on", "/"))
}

/// root.readonly: only the root mount itself; mounts on top (tmpfs /tmp, binds) keep theirs.
pub fn make_root_readonly() -> Result<(), RootfsError> {
    let root = std::fs::File::open("/").map_err(io_err("open", "/"))?;
    crate::sys::mount_setattr(root.as_raw_fd(), false, libc::MOUNT_ATTR_RDONLY, 0, 0).map_err(io_err("make / read-only", "/"))
}
