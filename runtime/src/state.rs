//! Per-container state under `--root`: `<root>/<id>/state.json`, the exec fifo, and a lock.
//!
//! - The id is claimed together with the first state.json: the directory is built under a
//!   hidden temporary name and renamed to the id with RENAME_NOREPLACE. Two concurrent
//!   `create`s of one id cannot both succeed, and no reader ever sees an id without its
//!   state (a runtime killed before the rename leaves only a hidden `.new.PID.ID`, which
//!   `delete` of that id sweeps once PID is gone).
//! - Every command that reads or changes a container holds `flock` on the directory, so
//!   `start`, `kill` and `delete` on one id are serialised.
//! - state.json is written to a temporary file and renamed, so a reader never sees half of it.
//! - The init's start time (from /proc/PID/stat) is stored beside its pid: a pid that was
//!   recycled by another process is never taken for the container and never signalled.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub mod claims;

pub const STATE_FILE: &str = "state.json";
pub const EXEC_FIFO: &str = "exec.fifo";
/// Name prefix of a container directory being built (ids cannot start with '.').
const CLAIM_PREFIX: &str = ".new.";

/// The state root when `--root` is not given: `$XDG_RUNTIME_DIR/ocirt` for a rootless
/// caller, else /run/ocirt (crate::DEFAULT_ROOT). runc's rule, so that rootless podman
/// (which passes no --root) finds its containers where it made them: a caller that is not
/// root, or root of a user namespace other than the initial one whose USER is not "root",
/// honours XDG_RUNTIME_DIR; real root keeps /run/ocirt even with XDG_RUNTIME_DIR set.
pub fn default_root() -> PathBuf {
    // A relative XDG_RUNTIME_DIR is ignored, as the XDG base directory spec says.
    let xdg = std::env::var_os("XDG_RUNTIME_DIR").filter(|x| Path::new(x).is_absolute());
    match xdg {
        // An unreadable uid_map picks /run/ocirt here (clap wants a value), and no command
        // uses it: rootless::check_state_root, which every use of a root passes first,
        // fails on the same cached error.
        Some(x)
            if honours_xdg(nix::unistd::geteuid().is_root(), || crate::rootless::in_user_namespace().unwrap_or(false), std::env::var_os("USER").as_deref()) =>
        {
            Path::new(&x).join("ocirt")
        }
        _ => PathBuf::from(crate::DEFAULT_ROOT),
    }
}

fn honours_xdg(euid_root: bool, in_userns: impl FnOnce() -> bool, user: Option<&std::ffi::OsStr>) -> bool {
    if !euid_root {
        return true;
    }
    in_userns() && user.is_none_or(|u| u != "root")
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("container {0:?} does not exist (looked in {1})")]
    NotFound(String, PathBuf),
    #[error("container with id {0:?} already exists: delete it first or pick another id")]
    Exists(String),
    #[error("invalid container id {0:?}: use letters, digits, '_', '+', '-', '.', '@' (not starting with '.')")]
    BadId(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: corrupt state file: {source}")]
    Corrupt { path: PathBuf, source: serde_json::Error },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io { path: path.to_path_buf(), source }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// What the runtime remembers between commands. Hooks are copied in at create so that
/// `start` and `delete` do not depend on the bundle still being there.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerState {
    pub id: String,
    /// 0 until the init has been cloned.
    pub pid: i32,
    /// Start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat).
    pub pid_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    /// Set once create finished; `start` moves it to started.
    pub phase: Status,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    pub cgroup_path: PathBuf,
    #[serde(default)]
    pub hooks: Option<oci_spec::runtime::Hooks>,
    #[serde(default)]
    pub oci_version: String,
    /// The container has its own pid namespace: killing its init kills everything in it.
    #[serde(default)]
    pub own_pid_ns: bool,
    /// The cgroup directories this container's create made or took over, with their
    /// identity: `delete` kills and removes only these. None in states written before the
    /// runtime kept this record.
    #[serde(default)]
    pub cgroup_dirs: Option<crate::cgroups::Ownership>,
    /// Set when the container shares the runtime's mount namespace: its mounts live there
    /// and `delete` detaches them (rootfs/hostns.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_mounts: Option<crate::rootfs::hostns::HostMounts>,
}

pub fn validate_id(id: &str) -> Result<(), StateError> {
    let ok = !id.is_empty() && id.len() <= 1024 && !id.starts_with('.') && id.chars().all(|c| c.is_ascii_alphanumeric() || "_+-.@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(StateError::BadId(id.to_string()))
    }
}

/// An open, locked container directory.
pub struct ContainerDir {
    pub dir: PathBuf,
    lock: File,
}

impl ContainerDir {
    /// Makes the root if needed, checks it (rootless::check_state_root), and refuses an id
    /// that exists: the cheap early answer; [`ContainerDir::create`]'s rename decides.
    pub fn check_new(root: &Path, id: &str) -> Result<(), StateError> {
        validate_id(id)?;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(root).map_err(io(root))?;
        crate::rootless::check_state_root(root).map_err(io(root))?;
        if root.join(id).exists() {
            return Err(StateError::Exists(id.to_string()));
        }
        Ok(())
    }

    /// Claims `id` under `root` with `first` as its state. Fails if the id exists.
    pub fn create(root: &Path, id: &str, first: &ContainerState) -> Result<ContainerDir, StateError> {
        Self::check_new(root, id)?;
        let dir = root.join(id);
        let tmp = root.join(format!("{CLAIM_PREFIX}{}.{id}", std::process::id()));
        // A leftover of an earlier run of ours with the same pid (pid reuse): dead by definition.
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::DirBuilder::new().mode(0o700).create(&tmp).map_err(io(&tmp))?;
        let built = (|| {
            let lock = File::open(&tmp).map_err(io(&tmp))?;
            flock(&lock, libc::LOCK_EX).map_err(io(&tmp))?;
            let cd = ContainerDir { dir: tmp.clone(), lock };
            cd.save(first)?;
            rename_noreplace(&tmp, &dir).map_err(|e| match e.raw_os_error() {
                Some(libc::EEXIST) | Some(libc::ENOTEMPTY) => StateError::Exists(id.to_string()),
                _ => StateError::Io { path: dir.clone(), source: e },
            })?;
            Ok(ContainerDir { dir: dir.clone(), lock: cd.lock })
        })();
        if built.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        built
    }

    /// Opens an existing container directory and locks it (exclusive or shared).
    pub fn open(root: &Path, id: &str, exclusive: bool) -> Result<ContainerDir, StateError> {
        validate_id(id)?;
        match crate::rootless::check_state_root(root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            r => r.map_err(io(root))?,
        }
        let dir = root.join(id);
        let lock = match File::open(&dir) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StateError::NotFound(id.to_string(), root.to_path_buf())),
            Err(e) => return Err(StateError::Io { path: dir, source: e }),
        };
        flock(&lock, if exclusive { libc::LOCK_EX } else { libc::LOCK_SH }).map_err(io(&dir))?;
        // The directory may have been deleted while we waited for the lock.
        if !dir.join(STATE_FILE).exists() && !dir.exists() {
            return Err(StateError::NotFound(id.to_string(), root.to_path_buf()));
        }
        Ok(ContainerDir { dir, lock })
    }

    pub fn load(&self) -> Result<ContainerState, StateError> {
        let path = self.dir.join(STATE_FILE);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt { path, source })
    }

    /// Atomic replace: write a temporary file in the same directory, fsync-free rename.
    pub fn save(&self, st: &ContainerState) -> Result<(), StateError> {
        let tmp = self.dir.join(".state.json.tmp");
        let path = self.dir.join(STATE_FILE);
        let data = serde_json::to_vec(st).expect("state serialises");
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&data).map_err(io(&tmp))?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(io(&path))
    }

    pub fn fifo_path(&self) -> PathBuf {
        self.dir.join(EXEC_FIFO)
    }

    /// Removes the directory and everything in it. The lock fd stays valid until drop.
    pub fn remove(&self) -> Result<(), StateError> {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StateError::Io { path: self.dir.clone(), source: e }),
        }
    }

    /// Lets other commands in while a foreground `run` waits for its container.
    pub fn unlock(&self) {
        let _ = flock(&self.lock, libc::LOCK_UN);
    }

    pub fn relock(&self) -> Result<(), StateError> {
        flock(&self.lock, libc::LOCK_EX).map_err(io(&self.dir))
    }

    pub fn lock_fd(&self) -> i32 {
        self.lock.as_raw_fd()
    }

    /// The config `create` accepted, written beside the state (0600): `exec` reads this, never
    /// the bundle's config.json, which may have changed since.
    pub fn config_snapshot(&self) -> PathBuf {
        self.dir.join("config.json")
    }
}

fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
    renameat2(AT_FDCWD, from, AT_FDCWD, to, RenameFlags::RENAME_NOREPLACE).map_err(std::io::Error::from)
}

/// Removes the hidden half-built directories of `id` left by `create`s that were killed
/// before their claim was complete (their pid no longer exists).
pub fn sweep_dead_claims(root: &Path, id: &str) {
    for e in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(CLAIM_PREFIX)) else { continue };
        let Some((pid, claimed)) = rest.split_once('.') else { continue };
        if claimed == id && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn flock(f: &File, op: i32) -> std::io::Result<()> {
    crate::sys::flock(f, op)
}

/// Start time of `pid` (clock ticks since boot) and whether it is a zombie, or None if gone.
/// Parsed by the procfs crate (comm may hold spaces and parentheses).
pub fn proc_start_time(pid: i32) -> Option<(u64, bool)> {
    let stat = procfs::process::Process::new(pid).ok()?.stat().ok()?;
    Some((stat.starttime, matches!(stat.state, 'Z' | 'X')))
}

impl ContainerState {
    /// True if the recorded init is still the same live process.
    pub fn init_alive(&self) -> bool {
        if self.pid <= 0 {
            return false;
        }
        matches!(proc_start_time(self.pid), Some((start, zombie)) if start == self.pid_start && !zombie)
    }

    /// True if `pid` still names our init, even as an unreaped zombie (safe to signal/reap).
    pub fn init_pid_is_ours(&self) -> bool {
        self.pid > 0 && matches!(proc_start_time(self.pid), Some((start, _)) if start == self.pid_start)
    }

    /// The status a reader should see, derived from the process and the fifo.
    pub fn status(&self, dir: &ContainerDir) -> Status {
        if self.phase == Status::Creating {
            return if self.init_alive() { Status::Creating } else { Status::Stopped };
        }
        if !self.init_alive() {
            return Status::Stopped;
        }
        if crate::cgroups::is_frozen(&self.cgroup_path) {
            return Status::Paused;
        }
        if dir.fifo_path().exists() {
            Status::Created
        } else {
            Status::Running
        }
    }

    /// The runtime-spec state object (runc's shape, with `paused` possible).
    pub fn oci_state(&self, status: Status) -> serde_json::Value {
        let pid = if matches!(status, Status::Stopped) { 0 } else { self.pid };
        let mut v = serde_json::json!({
            "ociVersion": if self.oci_version.is_empty() { "1.2.0" } else { &self.oci_version },
            "id": self.id,
            "status": status.to_string(),
            "pid": pid,
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": self.owner,
        });
        if !self.annotations.is_empty() {
            v["annotations"] = serde_json::to_value(&self.annotations).unwrap_or_default();
        }
        v
    }
}

/// Ids of every container under `root`, sorted: every directory with a valid id as its
/// name, with or without a readable state.json (`list` shows those as stopped).
/// The ids stored under `root`, sorted. A root that does not exist holds none; one that
/// cannot be read, or fails the ownership check (rootless::check_state_root), is an error,
/// not an empty list.
pub fn list_ids(root: &Path) -> Result<Vec<String>, StateError> {
    match crate::rootless::check_state_root(root) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        r => r.map_err(io(root))?,
    }
    let mut ids = vec![];
    for e in std::fs::read_dir(root).map_err(io(root))? {
        let e = e.map_err(io(root))?;
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            if let Some(n) = e.file_name().to_str().filter(|n| validate_id(n).is_ok()) {
                ids.push(n.to_string());
            }
        }
    }
    ids.sort();
    Ok(ids)
}

/// What a container's state says about its cgroup: enough to index a root made by an older
/// runtime (claims.rs), without parsing the rest of its state.
#[derive(Debug, Deserialize)]
pub struct CgroupClaim {
    pub id: String,
    pub cgroup_path: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(validate_id("abc-1.2_x@y").is_ok());
        for bad in ["", "../x", "a/b", ".hidden", "sp ace"] {
            assert!(validate_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn own_start_time_is_readable() {
        let me = std::process::id() as i32;
        let (t, z) = proc_start_time(me).unwrap();
        assert!(t > 0 && !z);
    }

    #[test]
    fn create_is_exclusive_and_save_load_round_trips() {
        let root = std::env::temp_dir().join(format!("ocirt-state-test-{}", std::process::id()));
        let st = ContainerState {
            id: "c1".into(),
            pid: 0,
            pid_start: 0,
            bundle: "/b".into(),
            rootfs: "/b/r".into(),
            created: "x".into(),
            owner: "root".into(),
            phase: Status::Creating,
            annotations: Default::default(),
            cgroup_path: "/x".into(),
            hooks: None,
            oci_version: "1.2.0".into(),
            own_pid_ns: true,
            cgroup_dirs: None,
            host_mounts: None,
        };
        let d = ContainerDir::create(&root, "c1", &st).unwrap();
        // Claimed together with its first state: never an id without state.json.
        assert_eq!(d.load().unwrap().id, "c1");
        assert!(matches!(ContainerDir::create(&root, "c1", &st), Err(StateError::Exists(_))));
        assert_eq!(list_ids(&root).unwrap(), ["c1"], "no temporary directory left by the refused claim");
        // A half-built directory of a dead create is swept for its id only.
        let dead = root.join(format!("{CLAIM_PREFIX}999999999.c2"));
        let live = root.join(format!("{CLAIM_PREFIX}{}.c2", std::process::id()));
        std::fs::create_dir(&dead).unwrap();
        std::fs::create_dir(&live).unwrap();
        sweep_dead_claims(&root, "c3");
        assert!(dead.exists());
        sweep_dead_claims(&root, "c2");
        assert!(!dead.exists() && live.exists());
        std::fs::remove_dir(&live).unwrap();
        d.save(&st).unwrap();
        d.remove().unwrap();
        std::fs::remove_dir(&root).unwrap();
    }

    #[test]
    fn who_honours_xdg_runtime_dir() {
        use std::ffi::OsStr;
        // Not root: always. Real root: never. Root of a user namespace (rootless podman's
        // runtime): unless USER says root.
        assert!(honours_xdg(false, || unreachable!(), None));
        assert!(!honours_xdg(true, || false, Some(OsStr::new("alice"))));
        assert!(honours_xdg(true, || true, Some(OsStr::new("alice"))));
        assert!(honours_xdg(true, || true, Some(OsStr::new(""))));
        assert!(honours_xdg(true, || true, None));
        assert!(!honours_xdg(true, || true, Some(OsStr::new("root"))));
    }
}
