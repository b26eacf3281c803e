//! cgroups through libcgroups: create at `linux.cgroupsPath`, apply `linux.resources`, remove.
//!
//! On this project's hosts cgroups are often hybrid (v1 controllers plus a cgroup2 tree that
//! owns no controllers we use); libcgroups then manages the v1 hierarchies only. A resource
//! whose controller is missing is an error, never a silent success.

use std::path::{Path, PathBuf};

use libcgroups::common::{create_cgroup_manager, AnyCgroupManager, CgroupConfig, CgroupManager, ControllerOpt, FreezerState};
use oci_spec::runtime::LinuxResources;

pub const DEFAULT_PREFIX: &str = "/ocirt";

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroup {path}: {msg}")]
    Manager { path: PathBuf, msg: String },
    #[error("linux.resources: {0}")]
    Unsupported(String),
}

/// The cgroup path for a container: `linux.cgroupsPath` if given, else DEFAULT_PREFIX/id.
/// systemd's "slice:prefix:name" form (sent with --systemd-cgroup) is mapped to the path
/// systemd would use, since there is no systemd to ask on a host without it.
pub fn path_for(config_path: Option<&Path>, id: &str) -> PathBuf {
    match config_path {
        Some(p) if !p.as_os_str().is_empty() => {
            let s = p.to_string_lossy();
            let parts: Vec<&str> = s.split(':').collect();
            if parts.len() == 3 && !s.starts_with('/') {
                let slice = if parts[0].is_empty() { "system.slice" } else { parts[0] };
                PathBuf::from(format!("/{slice}/{}-{}.scope", parts[1], parts[2]))
            } else if p.is_absolute() {
                p.to_path_buf()
            } else {
                Path::new(DEFAULT_PREFIX).join(p)
            }
        }
        _ => Path::new(DEFAULT_PREFIX).join(id),
    }
}

fn manager(path: &Path, id: &str) -> Result<AnyCgroupManager, CgroupError> {
    create_cgroup_manager(CgroupConfig { cgroup_path: path.to_path_buf(), systemd_cgroup: false, container_name: id.to_string() })
        .map_err(|e| CgroupError::Manager { path: path.to_path_buf(), msg: e.to_string() })
}

fn err(path: &Path) -> impl FnOnce(libcgroups::common::AnyManagerError) -> CgroupError + '_ {
    move |e| CgroupError::Manager { path: path.to_path_buf(), msg: format!("{e}") }
}

/// Refuses a cgroup that already holds processes: the container would share it, and delete
/// (which kills everything in the container's cgroup) would kill processes not its own.
pub fn check_unused(path: &Path) -> Result<(), CgroupError> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") else { return Ok(()) };
    for h in entries.flatten() {
        let procs = h.path().join(rel).join("cgroup.procs");
        if let Ok(s) = std::fs::read_to_string(&procs) {
            if !s.trim().is_empty() {
                return Err(CgroupError::Unsupported(format!(
                    "linux.cgroupsPath {} already has processes ({}): give the container a cgroup of its own",
                    path.display(),
                    procs.display()
                )));
            }
        }
    }
    Ok(())
}

/// Checks, before anything is created, that every resource asked for has a controller here.
pub fn check_supported(res: &LinuxResources) -> Result<(), CgroupError> {
    let setup = libcgroups::common::get_cgroup_setup().map_err(|e| CgroupError::Unsupported(e.to_string()))?;
    let unified = matches!(setup, libcgroups::common::CgroupSetup::Unified);
    let has_v1 = |c: &str| Path::new("/sys/fs/cgroup").join(c).is_dir();
    let need = |cond: bool, ctl: &str, field: &str| -> Result<(), CgroupError> {
        if cond && !unified && !has_v1(ctl) {
            return Err(CgroupError::Unsupported(format!(
                "{field} needs the {ctl} cgroup controller, which this host does not mount as cgroup v1: remove {field}"
            )));
        }
        Ok(())
    };
    need(res.memory().is_some(), "memory", "linux.resources.memory")?;
    need(res.cpu().is_some(), "cpu", "linux.resources.cpu")?;
    need(res.pids().is_some(), "pids", "linux.resources.pids")?;
    need(res.block_io().is_some(), "blkio", "linux.resources.blockIO")?;
    need(res.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()), "hugetlb", "linux.resources.hugepageLimits")?;
    need(res.network().is_some(), "net_cls", "linux.resources.network")?;
    if !unified && res.unified().as_ref().is_some_and(|u| !u.is_empty()) {
        return Err(CgroupError::Unsupported(
            "linux.resources.unified needs a cgroup v2 host; this one manages containers through cgroup v1: remove it".into(),
        ));
    }
    if unified && res.devices().as_ref().is_some_and(|d| !d.is_empty()) {
        // libcgroups' v2 device filter needs its eBPF feature, which we do not build.
        return Err(CgroupError::Unsupported("linux.resources.devices needs cgroup v1 devices here".into()));
    }
    if res.rdma().is_some() {
        return Err(CgroupError::Unsupported("linux.resources.rdma is not supported: remove it".into()));
    }
    Ok(())
}

/// Puts `pid` into the container's cgroup (creating it) and applies `res`.
pub fn setup(path: &Path, id: &str, pid: i32, res: Option<&LinuxResources>) -> Result<(), CgroupError> {
    let mgr = manager(path, id)?;
    let p = nix_cg::unistd::Pid::from_raw(pid);
    // A concurrent delete may rmdir an empty shared parent between libcgroups' mkdir of the
    // parent and of the leaf; one retry closes that window.
    if let Err(first) = mgr.add_task(p) {
        mgr.add_task(p).map_err(|_| CgroupError::Manager { path: path.to_path_buf(), msg: first.to_string() })?;
    }
    let empty = LinuxResources::default();
    let opt = ControllerOpt { resources: res.unwrap_or(&empty), disable_oom_killer: false, oom_score_adj: None, freezer_state: None };
    mgr.apply(&opt).map_err(err(path))?;
    join_extra_hierarchies(path, pid)
}

/// On hybrid hosts libcgroups manages only the v1 controllers. The container must also get
/// its own cgroup in the controller-less hierarchies (name=systemd, and the cgroup2 tree):
/// left at their root it would see the host's whole tree there, release_agent included
/// (CVE-2022-0492 class), through its /sys/fs/cgroup mount.
fn extra_hierarchies() -> Vec<PathBuf> {
    if matches!(libcgroups::common::get_cgroup_setup(), Ok(libcgroups::common::CgroupSetup::Unified)) {
        return vec![];
    }
    ["systemd", "unified"]
        .iter()
        .map(|n| Path::new("/sys/fs/cgroup").join(n))
        .filter(|p| p.join("cgroup.procs").exists())
        .collect()
}

fn join_extra_hierarchies(path: &Path, pid: i32) -> Result<(), CgroupError> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    for h in extra_hierarchies() {
        let dir = h.join(rel);
        let fail = |e: std::io::Error| CgroupError::Manager { path: dir.clone(), msg: e.to_string() };
        std::fs::create_dir_all(&dir).map_err(fail)?;
        std::fs::write(dir.join("cgroup.procs"), pid.to_string()).map_err(fail)?;
    }
    Ok(())
}


/// Adds `pid` to an existing container cgroup (for `exec`).
pub fn join(path: &Path, id: &str, pid: i32) -> Result<(), CgroupError> {
    let mgr = manager(path, id)?;
    mgr.add_task(nix_cg::unistd::Pid::from_raw(pid)).map_err(err(path))?;
    join_extra_hierarchies(path, pid)
}

/// Removes the container's cgroup from every hierarchy: kills what is still in it, removes
/// it (depth first, in case the container made sub-cgroups) and then any parents left empty
/// under the same prefix (so `/ocirt` does not linger once the last container goes).
///
/// This works on cgroupfs directly, from one listing of /sys/fs/cgroup, rather than through
/// libcgroups' manager, whose per-controller discovery costs some 600 syscalls: delete is on
/// every lifecycle's path. Only the container's own cgroup is touched (create refuses a
/// cgroup that already had processes, and the hierarchy root itself).
pub fn remove(path: &Path, _id: &str) -> Result<(), CgroupError> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    if rel.as_os_str().is_empty() {
        return Err(CgroupError::Unsupported("refusing to remove a hierarchy root".into()));
    }
    let dirs: Vec<PathBuf> = hierarchies().into_iter().map(|h| h.join(rel)).filter(|d| d.is_dir()).collect();
    for d in &dirs {
        kill_all(d);
    }
    for d in &dirs {
        remove_tree(d).map_err(|e| CgroupError::Manager { path: d.clone(), msg: e.to_string() })?;
    }
    prune_empty_parents(path);
    Ok(())
}

/// Every mounted hierarchy under /sys/fs/cgroup (v1 controllers, named ones, cgroup2).
fn hierarchies() -> Vec<PathBuf> {
    std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("cgroup.procs").exists())
        .collect()
}

fn kill_all(dir: &Path) {
    if let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            // SAFETY: kill(2) with plain integers, on a pid listed in the container's cgroup.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// rmdir, children first; retries while killed processes finish exiting (EBUSY).
fn remove_tree(dir: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)?.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            kill_all(&e.path());
            remove_tree(&e.path())?;
        }
    }
    let mut tries = 0;
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 400 => {
                tries += 1;
                if tries % 20 == 0 {
                    kill_all(dir);
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    }
}

fn prune_empty_parents(path: &Path) {
    let hierarchies = hierarchies();
    let rel = path.strip_prefix("/").unwrap_or(path);
    let mut parent = rel.parent();
    while let Some(p) = parent {
        if p.as_os_str().is_empty() {
            break;
        }
        for h in &hierarchies {
            let _ = std::fs::remove_dir(h.join(p));
        }
        parent = p.parent();
    }
}

pub fn freeze(path: &Path, id: &str, frozen: bool) -> Result<(), CgroupError> {
    let mgr = manager(path, id)?;
    mgr.freeze(if frozen { FreezerState::Frozen } else { FreezerState::Thawed }).map_err(err(path))
}

pub fn pids(path: &Path, id: &str) -> Result<Vec<i32>, CgroupError> {
    let mgr = manager(path, id)?;
    Ok(mgr.get_all_pids().map_err(err(path))?.into_iter().map(|p| p.as_raw()).collect())
}

/// Cheap check for `state`: reads the freezer file directly instead of building a manager.
pub fn is_frozen(path: &Path) -> bool {
    let rel = path.strip_prefix("/").unwrap_or(path);
    if let Ok(s) = std::fs::read_to_string(Path::new("/sys/fs/cgroup/freezer").join(rel).join("freezer.state")) {
        return s.trim() == "FROZEN";
    }
    if let Ok(s) = std::fs::read_to_string(Path::new("/sys/fs/cgroup").join(rel).join("cgroup.freeze")) {
        return s.trim() == "1";
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(path_for(None, "c1"), PathBuf::from("/ocirt/c1"));
        assert_eq!(path_for(Some(Path::new("/a/b")), "c1"), PathBuf::from("/a/b"));
        assert_eq!(path_for(Some(Path::new("rel/x")), "c1"), PathBuf::from("/ocirt/rel/x"));
        assert_eq!(path_for(Some(Path::new("system.slice:libpod:abc")), "c1"), PathBuf::from("/system.slice/libpod-abc.scope"));
    }
}
