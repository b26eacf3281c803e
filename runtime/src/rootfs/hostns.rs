//! Containers without a mount namespace of their own.
//!
//! The runtime-spec: a namespace type that `linux.namespaces` does not list is inherited
//! from the runtime. Without `mount` the container shares the runtime's mount namespace, as
//! with runc: its mounts are made in that namespace under the rootfs, and its process is
//! chroot'ed into the rootfs (pivot_root would move the host's own root).
//!
//! What differs from runc: nothing is left behind. The mounts under the rootfs that existed
//! before `create` are recorded (by mount id) in the state; a failed create and `delete`
//! detach every other mount at or below the rootfs, so the host's mount table is as before.
//! Anything that would change a host mount rather than make one under the rootfs
//! (maskedPaths, readonlyPaths, root.readonly, rootfsPropagation) is refused by config.rs.
//!
//! A chroot is no mount isolation: a process with CAP_SYS_CHROOT can leave it. A config
//! that omits the mount namespace asks for exactly that (docs/security.md).

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{nix_err, RootfsError};

/// The rootfs of a container sharing the host's mount namespace, and the ids of the
/// mounts at or below it that were there before its create (not ours to remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostMounts {
    pub rootfs: PathBuf,
    pub before: Vec<u64>,
    /// The namespace the ids belong to (inode of /proc/self/ns/mnt at create).
    #[serde(default)]
    pub mntns: u64,
}

fn own_mntns() -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self/ns/mnt").map(|m| m.ino())
}

/// (mount id, mount point) of every mount at or below `rootfs`, in mountinfo order (a
/// mount comes after the one it is mounted on).
fn mounts_at_or_below(mountinfo: &str, rootfs: &Path) -> Vec<(u64, PathBuf)> {
    mountinfo
        .lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            let id = f.next()?.parse().ok()?;
            let mp = PathBuf::from(crate::mountinfo::unescape(f.nth(3)?));
            mp.starts_with(rootfs).then_some((id, mp))
        })
        .collect()
}

fn read_mountinfo() -> std::io::Result<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
}

/// Notes what is mounted at or below `rootfs` now, before the container makes anything.
pub fn snapshot(rootfs: &Path) -> std::io::Result<HostMounts> {
    let before = mounts_at_or_below(&read_mountinfo()?, rootfs).into_iter().map(|(id, _)| id).collect();
    Ok(HostMounts { rootfs: rootfs.to_path_buf(), before, mntns: own_mntns()? })
}

/// Detaches every mount at or below the rootfs that was not there before, deepest first.
pub fn unmount_ours(h: &HostMounts) -> std::io::Result<()> {
    if own_mntns()? != h.mntns {
        // Mount ids are per namespace: here they would name someone else's mounts.
        return Err(std::io::Error::other(format!(
            "the container's mounts are in mount namespace {} and this runtime runs in another: run delete from the namespace create ran in",
            h.mntns
        )));
    }
    let mut ours: Vec<(u64, PathBuf)> = mounts_at_or_below(&read_mountinfo()?, &h.rootfs).into_iter().filter(|(id, _)| !h.before.contains(id)).collect();
    ours.reverse();
    for (_, mp) in ours {
        match nix::mount::umount2(&mp, nix::mount::MntFlags::MNT_DETACH | nix::mount::MntFlags::UMOUNT_NOFOLLOW) {
            // Gone with its parent (detached as a whole) already.
            Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
            Err(e) => return Err(std::io::Error::new(std::io::Error::from(e).kind(), format!("unmount {}: {e}", mp.display()))),
        }
    }
    Ok(())
}

/// The rootfs as an fd, for the mount plan (no bind of it onto itself: nothing pivots).
pub fn open_rootfs(rootfs: &Path) -> Result<OwnedFd, RootfsError> {
    std::fs::File::open(rootfs).map(OwnedFd::from).map_err(super::io_err("open rootfs", rootfs.display()))
}

/// Enters the rootfs with chroot(2): the root of the shared namespace stays the host's.
pub fn enter(root: &OwnedFd) -> Result<(), RootfsError> {
    nix::unistd::fchdir(root).map_err(nix_err("chdir", "rootfs"))?;
    nix::unistd::chroot(".").map_err(nix_err("chroot", "rootfs"))?;
    nix::unistd::chdir("/").map_err(nix_err("chdir", "/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_mounts_at_or_below_with_escapes() {
        let mi = "20 1 0:1 / / rw - ext4 /dev/vda rw\n\
                  30 20 0:2 / /b/root rw - none none rw\n\
                  31 30 0:3 / /b/root/proc rw - proc proc rw\n\
                  32 20 0:4 / /b/rootfs2 rw - tmpfs tmpfs rw\n\
                  33 30 0:5 / /b/root/my\\040dir rw - tmpfs tmpfs rw\n";
        let m = mounts_at_or_below(mi, Path::new("/b/root"));
        assert_eq!(m, vec![(30, "/b/root".into()), (31, "/b/root/proc".into()), (33, "/b/root/my dir".into())]);
    }
}
