//! Executing the mount plan inside the container's mount namespace, before pivot_root.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use super::plan::{MountKind, PlannedMount};
use super::resolve::{ensure, Kind};
use super::{io_err, nix_err, RootfsError};
use crate::sys;

/// Mounts every planned entry, in order, under the rootfs behind `root`.
/// `cgroup_path` is the container's cgroup, shown at /sys/fs/cgroup on cgroup v1.
pub fn mount_all(root: &OwnedFd, plan: &[PlannedMount], cgroup_path: &Path, cgroupns: bool) -> Result<(), RootfsError> {
    for m in plan {
        mount_one(root, m, cgroup_path, cgroupns).map_err(|e| RootfsError::Plan { index: m.index, dest: m.dest.display().to_string(), msg: e.to_string() })?;
    }
    Ok(())
}

fn mount_one(root: &OwnedFd, m: &PlannedMount, cgroup_path: &Path, cgroupns: bool) -> Result<(), RootfsError> {
    let kind = if m.file_target { Kind::File } else { Kind::Dir };
    let target = ensure(root, &m.dest, kind)?;
    match &m.kind {
        MountKind::Bind { .. } => {
            // Opened, checked and given its attributes by the runtime (sources.rs): no host
            // path is resolved here.
            let tree = m.tree.as_ref().ok_or_else(|| RootfsError::Refused("internal: bind source was not opened before clone".into()))?;
            sys::move_mount(tree.as_raw_fd(), target.as_raw_fd()).map_err(io_err("move_mount onto", m.dest.display()))?;
            // Replaced by a clone of itself made now: the tree made before clone has a lower
            // mount id than everything in our new namespace, and /proc/self/mountinfo lists
            // mounts by id (kernel >= 6.8), so it would show first instead of in the config's
            // order (runtime-tools' `mounts` program checks that order, as runc passes it).
            // A detached tree from the parent namespace cannot be cloned (EINVAL), an
            // attached one can; the clone keeps the attributes and the source opened before
            // clone.
            let placed = super::resolve::open(root, &m.dest).map_err(io_err("resolve", m.dest.display()))?;
            let recursive = matches!(m.kind, MountKind::Bind { recursive: true });
            let fresh = sys::open_tree(placed.as_raw_fd(), Path::new(""), recursive, true).map_err(io_err("clone bind mount at", m.dest.display()))?;
            nix::mount::umount2(sys::fd_path(&placed).as_str(), nix::mount::MntFlags::MNT_DETACH)
                .map_err(nix_err("replace bind mount at", m.dest.display()))?;
            sys::move_mount(fresh.as_raw_fd(), target.as_raw_fd()).map_err(io_err("move_mount onto", m.dest.display()))?;
            propagate(&fresh, m)?;
        }
        MountKind::Cgroup => mount_cgroup(root, m, &target, cgroup_path, cgroupns)?,
        MountKind::Fs => {
            let source = m.source.as_ref().map(|s| s.display().to_string()).unwrap_or_else(|| m.fstype.clone());
            let t = sys::fd_path(&target);
            let data = if m.data.is_empty() { None } else { Some(m.data.as_str()) };
            // tmpcopyup: the directory is opened before the tmpfs covers it, and the tmpfs
            // stays writable until the copy is in (copyup.rs).
            let image = if m.copyup { Some(super::copyup::open_dir(&target).map_err(io_err("open for tmpcopyup", m.dest.display()))?) } else { None };
            let flags = if m.copyup { m.flags & !libc::MS_RDONLY } else { m.flags };
            match nix::mount::mount(Some(source.as_str()), t.as_str(), Some(m.fstype.as_str()), nix::mount::MsFlags::from_bits_retain(flags), data) {
                Ok(()) => {}
                // sysfs cannot be mounted in a user namespace that does not own the network
                // namespace; runc falls back to a recursive bind of the host's /sys.
                Err(nix::Error::EPERM) if m.fstype == "sysfs" => {
                    let tree = sys::open_tree(libc::AT_FDCWD, Path::new("/sys"), true, false).map_err(io_err("open_tree", "/sys"))?;
                    sys::mount_setattr(tree.as_raw_fd(), true, flags_to_attrs(m.flags), 0, 0).map_err(io_err("mount_setattr", "/sys"))?;
                    sys::move_mount(tree.as_raw_fd(), target.as_raw_fd()).map_err(io_err("move_mount onto", m.dest.display()))?;
                }
                Err(e) => {
                    let opts = if m.data.is_empty() { String::new() } else { format!(", options {:?}", m.data) };
                    return Err(nix_err("mount", format!("{} ({}{opts})", m.dest.display(), m.fstype))(e));
                }
            }
            if let Some(image) = image {
                copy_up(root, m, &image)?;
            }
            if m.propagation != 0 {
                let fresh = super::resolve::open(root, &m.dest).map_err(io_err("resolve", m.dest.display()))?;
                nix::mount::mount::<str, str, str, str>(None, sys::fd_path(&fresh).as_str(), None, nix::mount::MsFlags::from_bits_retain(m.propagation), None)
                    .map_err(nix_err("set propagation of", m.dest.display()))?;
            }
        }
    }
    Ok(())
}

/// Fills the tmpfs just mounted at `m.dest` from the directory it covers, then makes it
/// read-only if the entry says so.
fn copy_up(root: &OwnedFd, m: &PlannedMount, image: &OwnedFd) -> Result<(), RootfsError> {
    let fresh = super::resolve::open(root, &m.dest).map_err(io_err("resolve", m.dest.display()))?;
    let dir = super::copyup::open_dir(&fresh).map_err(io_err("open for tmpcopyup", m.dest.display()))?;
    super::copyup::copy_root_mode(image, &dir, &m.dest).map_err(|e| RootfsError::Refused(e.to_string()))?;
    super::copyup::copy_dir(image, &dir, &m.dest).map_err(|e| RootfsError::Refused(e.to_string()))?;
    if m.flags & libc::MS_RDONLY != 0 {
        sys::mount_setattr(fresh.as_raw_fd(), false, libc::MOUNT_ATTR_RDONLY, 0, 0).map_err(io_err("make read-only after tmpcopyup", m.dest.display()))?;
    }
    Ok(())
}

fn flags_to_attrs(f: libc::c_ulong) -> u64 {
    let mut a = 0;
    if f & libc::MS_RDONLY != 0 {
        a |= libc::MOUNT_ATTR_RDONLY;
    }
    if f & libc::MS_NOSUID != 0 {
        a |= libc::MOUNT_ATTR_NOSUID;
    }
    if f & libc::MS_NODEV != 0 {
        a |= libc::MOUNT_ATTR_NODEV;
    }
    if f & libc::MS_NOEXEC != 0 {
        a |= libc::MOUNT_ATTR_NOEXEC;
    }
    a
}

/// Applies the recursive attributes to the whole detached tree, then the plain ones to its
/// top mount only (as runc does for `ro` on an rbind).
pub fn set_attrs(tree: &OwnedFd, m: &PlannedMount) -> Result<(), RootfsError> {
    if m.rattr_set != 0 || m.rattr_clr != 0 {
        sys::mount_setattr(tree.as_raw_fd(), true, m.rattr_set, m.rattr_clr, 0).map_err(io_err("mount_setattr (recursive)", m.dest.display()))?;
    }
    if m.attr_set != 0 || m.attr_clr != 0 {
        sys::mount_setattr(tree.as_raw_fd(), false, m.attr_set, m.attr_clr, 0).map_err(io_err("mount_setattr", m.dest.display()))?;
    }
    Ok(())
}

fn propagate(tree: &OwnedFd, m: &PlannedMount) -> Result<(), RootfsError> {
    if m.propagation == 0 {
        return Ok(());
    }
    let rec = m.propagation & libc::MS_REC != 0;
    sys::mount_setattr(tree.as_raw_fd(), rec, 0, 0, m.propagation & !libc::MS_REC).map_err(io_err("set propagation of", m.dest.display()))
}

/// cgroup2 hosts: a cgroup2 mount (inside a cgroup namespace it shows the container's own
/// cgroup). v1/hybrid hosts: a tmpfs with one directory per hierarchy, each the container's
/// own cgroup from that hierarchy (a fresh mount in a cgroup namespace, else a bind).
fn mount_cgroup(root: &OwnedFd, m: &PlannedMount, target: &OwnedFd, cgroup_path: &Path, cgroupns: bool) -> Result<(), RootfsError> {
    let unified = crate::cgroups::layout().unified;
    let ro = m.flags & libc::MS_RDONLY != 0;
    let base = (m.flags & !libc::MS_RDONLY) | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    if unified || m.fstype == "cgroup2" {
        let t = sys::fd_path(target);
        return nix::mount::mount(
            Some("cgroup2"),
            t.as_str(),
            Some("cgroup2"),
            nix::mount::MsFlags::from_bits_retain(m.flags | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC),
            None::<&str>,
        )
        .map_err(nix_err("mount cgroup2 on", m.dest.display()));
    }
    let t = sys::fd_path(target);
    nix::mount::mount(Some("tmpfs"), t.as_str(), Some("tmpfs"), nix::mount::MsFlags::from_bits_retain(base), Some("mode=755"))
        .map_err(nix_err("mount tmpfs on", m.dest.display()))?;
    let rel = cgroup_path.strip_prefix("/").unwrap_or(cgroup_path);
    // The tmpfs was just mounted here, private to this namespace and empty: its directories
    // are made and opened relative to one fd, with no path resolution from the root each.
    let dir = super::resolve::open(root, &m.dest).map_err(io_err("resolve", m.dest.display()))?;
    // The hierarchies the runtime found once (crate::cgroups::layout), not a listing and a
    // statfs of each.
    for h in &crate::cgroups::layout().hierarchies {
        let Some(name) = h.path.file_name() else { continue };
        let fstype = if h.v2 { "cgroup2" } else { "cgroup" };
        let host = &h.path;
        let dest = m.dest.join(name);
        let sub = mkdir_open(&dir, name).map_err(io_err("make", dest.display()))?;
        if cgroupns {
            let opts = if h.v2 { None } else { Some(options_of(host)) };
            nix::mount::mount(
                Some("cgroup"),
                sys::fd_path(&sub).as_str(),
                Some(fstype),
                nix::mount::MsFlags::from_bits_retain(base | if ro { libc::MS_RDONLY } else { 0 }),
                opts.as_deref(),
            )
            .map_err(nix_err("mount cgroup on", dest.display()))?;
        } else {
            let own = host.join(rel);
            let tree = match sys::open_tree(libc::AT_FDCWD, &own, false, false) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    sys::open_tree(libc::AT_FDCWD, host, false, false).map_err(io_err("open_tree", host.display()))?
                }
                r => r.map_err(io_err("open_tree", own.display()))?,
            };
            let attrs = libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV | libc::MOUNT_ATTR_NOEXEC | if ro { libc::MOUNT_ATTR_RDONLY } else { 0 };
            sys::mount_setattr(tree.as_raw_fd(), false, attrs, 0, 0).map_err(io_err("mount_setattr", own.display()))?;
            sys::move_mount(tree.as_raw_fd(), sub.as_raw_fd()).map_err(io_err("move_mount onto", dest.display()))?;
        }
    }
    if ro {
        let fresh = super::resolve::open(root, &m.dest).map_err(io_err("resolve", m.dest.display()))?;
        sys::mount_setattr(fresh.as_raw_fd(), false, libc::MOUNT_ATTR_RDONLY, 0, 0).map_err(io_err("make read-only", m.dest.display()))?;
    }
    Ok(())
}

/// mkdirat + an O_PATH open of the new directory, without following a symlink.
fn mkdir_open(dir: &OwnedFd, name: &std::ffi::OsStr) -> std::io::Result<OwnedFd> {
    use nix::fcntl::OFlag;
    nix::sys::stat::mkdirat(dir, name, nix::sys::stat::Mode::from_bits_truncate(0o755))?;
    // A path-only fd of a directory, no symlink followed.
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    Ok(nix::fcntl::openat(dir, name, flags, nix::sys::stat::Mode::empty())?)
}

/// The controller options of a v1 hierarchy ("memory", "cpu", "name=systemd"), from its name.
fn options_of(host: &Path) -> String {
    let name = host.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if name == "systemd" {
        "none,name=systemd".into()
    } else {
        name
    }
}
