//! Where a container's cgroup goes, and which hierarchies it can be made in.
//!
//! - `linux.cgroupsPath` absolute: that path, in every hierarchy.
//! - relative: below the runtime's own cgroup (runc's rule), read from /proc/self/cgroup in
//!   the hierarchy that names services (the cgroup2 tree, else name=systemd).
//! - absent: below the runtime's own cgroup, as `<own>/<id>`, when that cgroup was delegated
//!   to us (systemd's `Delegate=yes` marks it with the xattr `trusted.delegate` or
//!   `user.delegate`); else `/ocirt/<id>`. Under systemd the container so lands inside the
//!   unit: systemd accounts for it, `systemctl status` lists its processes, and the unit's
//!   stop and kill reach it.
//!
//! A v1 controller hierarchy mounted read-only (one systemd did not delegate, e.g. in a
//! booted container on a hybrid host) is skipped when no limit needs its controller; a limit
//! that needs it is refused before anything is made ([`check_writable`]).

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PlacementError {
    #[error("{field} needs the {ctl} cgroup controller, and {mount} is read-only here (the controller is not delegated to this service): run the container where root can write that hierarchy (a unit on the host, not in a booted container), or remove {field} and set the limit on the unit instead ({unit_hint})")]
    NotDelegated { field: &'static str, ctl: &'static str, mount: String, unit_hint: &'static str },
    #[error("cgroup {path}: {msg}")]
    Io { path: PathBuf, msg: String },
    #[error("{field} sets a limit, which needs the {ctl} cgroup controller, and this rootless runtime cannot make {dir} (no write access: the host's cgroups belong to root): remove {field} to run without that limit, run the runtime as root, or have root delegate a cgroup of the {ctl} controller to this user")]
    Rootless { field: &'static str, ctl: &'static str, dir: String },
    #[error(transparent)]
    UidMap(#[from] crate::rootless::UidMapError),
}

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The runtime's own cgroup, as a path inside the hierarchy that names services: the cgroup2
/// line (`0::`) when there is one, else name=systemd, else the root.
/// Unreadable is an error: "/" would put a relative cgroupsPath at the hierarchy's root,
/// outside the unit that delegated our cgroup.
pub fn own_cgroup() -> Result<PathBuf, PlacementError> {
    const P: &str = "/proc/self/cgroup";
    let s = std::fs::read_to_string(P).map_err(|e| PlacementError::Io {
        path: P.into(),
        msg: format!("{e}: cannot tell which cgroup this runtime runs in, below which a relative or absent linux.cgroupsPath goes"),
    })?;
    let find = |prefix: &str| s.lines().find_map(|l| l.strip_prefix(prefix).map(|p| p.trim().to_string()));
    let p = find("0::").or_else(|| s.lines().find_map(|l| l.split_once(":name=systemd:").map(|(_, p)| p.trim().to_string())));
    match p {
        // "/.." and the like: our cgroup lies outside our cgroup namespace; nothing to nest in.
        Some(p) if p.starts_with('/') && !p.split('/').any(|c| c == "..") => Ok(PathBuf::from(p)),
        _ => Ok(PathBuf::from("/")),
    }
}

/// The directory of `cg` in the cgroup2 tree (the whole mount on a cgroup2 host, `unified`
/// on a hybrid one), if the host has one.
fn cgroup2_dir(cg: &Path) -> Option<PathBuf> {
    let rel = cg.strip_prefix("/").unwrap_or(cg);
    let root = Path::new(CGROUP_ROOT);
    if root.join("cgroup.controllers").exists() {
        return Some(root.join(rel));
    }
    let u = root.join("unified");
    u.join("cgroup.procs").exists().then(|| u.join(rel))
}

/// True when systemd (or another manager) delegated `cg` to the processes in it.
fn delegated(cg: &Path) -> bool {
    let Some(dir) = cgroup2_dir(cg) else { return false };
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else { return false };
    ["trusted.delegate\0", "user.delegate\0"].iter().any(|name| {
        let mut v = [0u8; 8];
        // SAFETY: both strings are NUL-terminated; the buffer's length is passed with it.
        let n = unsafe { libc::getxattr(c.as_ptr(), name.as_ptr().cast(), v.as_mut_ptr().cast(), v.len()) };
        n > 0 && matches!(&v[..n as usize], b"1" | b"1\n" | b"true" | b"yes")
    })
}

/// The container's cgroup path for a `cgroupsPath` that is relative (runc's rule), or
/// absent (`None`).
pub fn below_own(rel: Option<&Path>, id: &str, default_prefix: &str) -> Result<PathBuf, PlacementError> {
    let own = own_cgroup()?;
    Ok(match rel {
        Some(r) => own.join(r),
        None if own != Path::new("/") && delegated(&own) => own.join(id),
        None => Path::new(default_prefix).join(id),
    })
}

/// The read-only hierarchies, from the layout read once from /proc/self/mountinfo (an
/// unreadable layout fails create where the hierarchies are listed; here it means none).
fn read_only_hierarchies() -> Vec<&'static crate::cgroups::Hierarchy> {
    crate::cgroups::layout_hierarchies().iter().filter(|h| h.read_only).collect()
}

/// True when some v1 controller hierarchy is mounted read-only: the container then gets no
/// directory there, and libcgroups (which wants one in every v1 hierarchy it knows) is not
/// used for it.
pub fn v1_read_only() -> bool {
    read_only_hierarchies().iter().any(|h| !h.v2 && !h.controllers.is_empty())
}

/// The hierarchies a container's cgroup is made in: all, less read-only ones.
pub fn usable(hierarchies: Vec<PathBuf>) -> Vec<PathBuf> {
    let ro = read_only_hierarchies();
    hierarchies.into_iter().filter(|h| !ro.iter().any(|r| r.path == *h)).collect()
}

/// Refuses a limit whose v1 controller is mounted read-only, naming the controller and the
/// unit setting that can carry the limit instead. Nothing asked: no error.
pub fn check_writable(res: &oci_spec::runtime::LinuxResources) -> Result<(), PlacementError> {
    // The v1 hierarchy that carries the controller (co-mounted ones included, cpu,cpuacct);
    // a cgroup2-only host has none, and nothing to refuse.
    let need = |cond: bool, ctl: &'static str, field: &'static str, unit_hint: &'static str| -> Result<(), PlacementError> {
        match crate::cgroups::layout_hierarchies().iter().find(|h| !h.v2 && h.has(ctl)) {
            Some(h) if cond && h.read_only => Err(PlacementError::NotDelegated { field, ctl, mount: h.path.display().to_string(), unit_hint }),
            _ => Ok(()),
        }
    };
    need(res.memory().is_some(), "memory", "linux.resources.memory", "MemoryMax=")?;
    let cpu = res.cpu().as_ref();
    need(cpu.is_some_and(|c| (c.cpus().is_none() && c.mems().is_none()) || crate::cgroups::needs_cpu(c)), "cpu", "linux.resources.cpu", "CPUQuota=")?;
    need(cpu.is_some_and(|c| c.cpus().is_some()), "cpuset", "linux.resources.cpu.cpus", "AllowedCPUs=")?;
    need(cpu.is_some_and(|c| c.mems().is_some()), "cpuset", "linux.resources.cpu.mems", "AllowedMemoryNodes=")?;
    need(res.pids().is_some(), "pids", "linux.resources.pids", "TasksMax=")?;
    need(res.block_io().is_some(), "blkio", "linux.resources.blockIO", "IOWeight=")?;
    need(res.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()), "hugetlb", "linux.resources.hugepageLimits", "no unit setting")?;
    let net = res.network().as_ref();
    need(net.is_some_and(|n| n.class_id().is_some() || n.priorities().is_none()), "net_cls", "linux.resources.network.classID", "no unit setting")?;
    need(net.is_some_and(|n| n.priorities().is_some()), "net_prio", "linux.resources.network.priorities", "no unit setting")?;
    need(res.devices().as_ref().is_some_and(|d| !d.is_empty()), "devices", "linux.resources.devices", "DevicePolicy=closed")?;
    Ok(())
}

// ---- rootless (podman's rootless mode, `runtime run` by a user) ------------------------
// A rootless runtime cannot write the host's cgroup hierarchies unless someone delegated a
// subtree to the user. As with runc, a hierarchy where the container's cgroup cannot be
// made is then skipped, and the container stays in the caller's cgroup there; but a limit
// that needs such a hierarchy is refused (security fails closed), never silently dropped.

/// Rootless only: whether the container's cgroup `rel` can be made (or joined) in hierarchy
/// `h`: write access to its deepest existing directory (to `cgroup.procs` if the leaf
/// exists). Root in the initial user namespace does not ask (cgroups::plan).
pub fn rootless_can_make(h: &Path, rel: &Path) -> bool {
    let leaf = h.join(rel);
    let mut dir = leaf.as_path();
    // A directory that cannot even be looked up (EACCES on the way) cannot be made either.
    while !dir.exists() {
        match dir.parent() {
            Some(p) if p.starts_with(h) => dir = p,
            _ => return false,
        }
    }
    let target = if dir == leaf { leaf.join("cgroup.procs") } else { dir.to_path_buf() };
    let Ok(c) = std::ffi::CString::new(target.as_os_str().as_encoded_bytes()) else { return false };
    // SAFETY: a NUL-terminated path; faccessat only reads it.
    unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::W_OK, libc::AT_EACCESS) == 0 }
}

/// Rootless only: refuses a limit whose controller's hierarchy got no directory of the
/// container (`made`: the directories planned and made), naming the field and the fix.
pub fn check_rootless_limits(res: &oci_spec::runtime::LinuxResources, made: &[PathBuf], cgroup: &Path) -> Result<(), PlacementError> {
    if !crate::rootless::rootless()? {
        return Ok(());
    }
    let hierarchies = crate::cgroups::layout_hierarchies();
    for (ctl, field) in crate::cgroups::controllers_needed(res) {
        // The v1 hierarchy of the controller, else the cgroup2 tree (a cgroup2 host).
        let h = hierarchies.iter().find(|h| !h.v2 && h.has(ctl)).or_else(|| hierarchies.iter().find(|h| h.v2));
        match h {
            Some(h) if made.iter().any(|d| d.starts_with(&h.path)) => {}
            h => {
                return Err(PlacementError::Rootless {
                    field,
                    ctl,
                    dir: h.map(|h| h.path.join(cgroup.strip_prefix("/").unwrap_or(cgroup)).display().to_string()).unwrap_or_else(|| CGROUP_ROOT.into()),
                })
            }
        }
    }
    Ok(())
}

/// cgroup2's no-internal-processes rule: controllers can be enabled for the container's
/// cgroup only if its parent chain below our own cgroup holds no process. When the container
/// lies below our own cgroup on a cgroup2 host and limits are asked for, the runtime moves
/// itself into a sibling leaf `<own>/runtime` first (systemd's own processes for the unit,
/// ExecStopPost and the like, go to `.control` in a delegated unit).
pub fn make_room(path: &Path, wants_limits: bool) -> Result<(), PlacementError> {
    if !wants_limits || !Path::new(CGROUP_ROOT).join("cgroup.controllers").exists() {
        return Ok(());
    }
    let own = own_cgroup()?;
    if own == Path::new("/") || !path.starts_with(&own) || path == own {
        return Ok(());
    }
    let Some(dir) = cgroup2_dir(&own.join("runtime")) else { return Ok(()) };
    let fail = |e: std::io::Error| PlacementError::Io { path: dir.clone(), msg: e.to_string() };
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(fail(e)),
    }
    std::fs::write(dir.join("cgroup.procs"), "0").map_err(fail)
}

/// pause/resume through cgroup2's `cgroup.freeze` (in the hybrid host's unified tree too):
/// used where the v1 freezer is read-only. Waits until `cgroup.events` says it is done.
pub fn freeze_v2(path: &Path, frozen: bool) -> Result<(), PlacementError> {
    let dir = cgroup2_dir(path)
        .ok_or_else(|| PlacementError::Io { path: path.to_path_buf(), msg: "no cgroup2 tree to freeze in, and the v1 freezer is read-only".into() })?;
    let fail = |e: std::io::Error| PlacementError::Io { path: dir.clone(), msg: e.to_string() };
    std::fs::write(dir.join("cgroup.freeze"), if frozen { "1" } else { "0" }).map_err(fail)?;
    let want = if frozen { "frozen 1" } else { "frozen 0" };
    for _ in 0..200 {
        if std::fs::read_to_string(dir.join("cgroup.events")).map_err(fail)?.lines().any(|l| l == want) {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Err(PlacementError::Io { path: dir.clone(), msg: format!("still not `{want}` after 1 s") })
}

/// True if the container's cgroup2 directory is frozen (see [`freeze_v2`]).
pub fn is_frozen_v2(path: &Path) -> bool {
    cgroup2_dir(path).and_then(|d| std::fs::read_to_string(d.join("cgroup.freeze")).ok()).is_some_and(|s| s.trim() == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_nest_below_our_own_cgroup() {
        let own = own_cgroup().unwrap();
        assert!(own.is_absolute());
        assert_eq!(below_own(Some(Path::new("c/x")), "id", "/ocirt").unwrap(), own.join("c/x"));
    }
}
