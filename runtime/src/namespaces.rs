//! Which namespaces the container gets: new ones become clone(2) flags, existing ones (a
//! `path`) are joined with setns(2). Host networking is simply the absence of a `network`
//! entry, as in runc.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("linux.namespaces: join {typ} namespace {path}: {source}")]
    Join { typ: String, path: PathBuf, source: nix::Error },
    #[error("linux.namespaces: setns into the {typ} namespace: {source}")]
    Setns { typ: String, source: nix::Error },
    #[error("linux.namespaces: open {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
}

pub fn flag(t: LinuxNamespaceType) -> CloneFlags {
    CloneFlags::from_bits_retain(t as i32)
}

pub struct Plan {
    /// Namespaces created by clone(2) itself.
    pub clone_flags: CloneFlags,
    /// Created by the init with unshare(2) after it joined its cgroup, so that the cgroup
    /// namespace's root is the container's cgroup rather than the runtime's.
    pub unshare_cgroup: bool,
    /// New time namespace: unshared by the runtime before clone (it applies to children only).
    pub new_time: bool,
    /// Existing namespaces to join, user first (it decides what the others may do).
    pub join: Vec<(LinuxNamespaceType, PathBuf)>,
    /// An existing pid namespace; joined by the runtime before clone (applies to children).
    pub join_pid: Option<PathBuf>,
}

impl Plan {
    pub fn from_config(ns: Option<&Vec<LinuxNamespace>>) -> Plan {
        let mut plan = Plan { clone_flags: CloneFlags::empty(), unshare_cgroup: false, new_time: false, join: vec![], join_pid: None };
        for n in ns.into_iter().flatten() {
            match (n.typ(), n.path()) {
                (LinuxNamespaceType::Pid, Some(p)) => plan.join_pid = Some(p.clone()),
                (t, Some(p)) => plan.join.push((t, p.clone())),
                (LinuxNamespaceType::Cgroup, None) => plan.unshare_cgroup = true,
                (LinuxNamespaceType::Time, None) => plan.new_time = true,
                (t, None) => plan.clone_flags |= flag(t),
            }
        }
        plan.join.sort_by_key(|(t, _)| if *t == LinuxNamespaceType::User { 0 } else { 1 });
        plan
    }

    pub fn has_new(&self, t: LinuxNamespaceType) -> bool {
        self.clone_flags.contains(flag(t))
    }
}

/// Opens every namespace to join up front, in the runtime, so that a bad path fails before
/// anything is cloned and the init only has to call setns on open fds.
pub fn open_all(plan: &Plan) -> Result<Vec<(LinuxNamespaceType, OwnedFd)>, NamespaceError> {
    plan.join
        .iter()
        .map(|(t, p)| std::fs::File::open(p).map(|f| (*t, OwnedFd::from(f))).map_err(|source| NamespaceError::Open { path: p.clone(), source }))
        .collect()
}

pub fn join(t: LinuxNamespaceType, fd: &OwnedFd) -> Result<(), NamespaceError> {
    nix::sched::setns(fd.as_fd(), flag(t)).map_err(|source| NamespaceError::Setns { typ: t.to_string(), source })
}

/// Joins `path` as the pid namespace for our future children; returns a handle to go back.
pub fn enter_pid_for_children(path: &Path) -> Result<OwnedFd, NamespaceError> {
    let own = std::fs::File::open("/proc/self/ns/pid").map_err(|source| NamespaceError::Open { path: "/proc/self/ns/pid".into(), source })?;
    let target = std::fs::File::open(path).map_err(|source| NamespaceError::Open { path: path.to_path_buf(), source })?;
    nix::sched::setns(target.as_fd(), CloneFlags::CLONE_NEWPID).map_err(|source| NamespaceError::Join {
        typ: "pid".into(),
        path: path.to_path_buf(),
        source,
    })?;
    Ok(OwnedFd::from(own))
}

pub fn leave_pid_for_children(own: OwnedFd) {
    let _ = nix::sched::setns(own.as_fd(), CloneFlags::CLONE_NEWPID);
}
