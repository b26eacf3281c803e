//! `spec-gen rootfs`: builds a rootfs from `[rootfs_build]`.
//!
//! With a package list it runs mmdebstrap (variant minbase) with the host's
//! apt sources as the mirror; without one it makes a busybox rootfs from the
//! host's static busybox. Either way the result is built in a staging
//! directory beside the output and renamed into place only when complete,
//! and a lock file records exactly what went in.

mod busybox;
mod debian;
pub mod lock;

use crate::description::{BuildUser, RootfsBuild};
use crate::load::Service;
use lock::{Lock, LockError};
use std::io::IsTerminal;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("error: {0} already exists and is not empty\n  fix: remove it or choose another --output")]
    OutputExists(PathBuf),
    #[error("error: {what}: {source}\n  fix: {fix}")]
    Io { what: String, source: std::io::Error, fix: &'static str },
    #[error("error: {message}\n  fix: {fix}")]
    Failed { message: String, fix: String },
    #[error("error: {0}\n  fix: check the lock file or rebuild without --from-lock")]
    Lock(#[from] LockError),
}

impl BuildError {
    fn io(what: impl Into<String>, fix: &'static str) -> impl FnOnce(std::io::Error) -> BuildError {
        let what = what.into();
        move |source| BuildError::Io { what, source, fix }
    }
}

pub struct BuildOptions {
    pub output: PathBuf,
    /// Where to write the lock file.
    pub lock: PathBuf,
    /// Rebuild from this lock instead of the description's package list.
    pub from_lock: Option<PathBuf>,
}

/// Progress lines on stderr; only when stderr is a terminal.
pub struct Progress {
    on: bool,
    step: usize,
    steps: usize,
}

impl Progress {
    fn new(steps: usize) -> Progress {
        Progress { on: std::io::stderr().is_terminal(), step: 0, steps }
    }

    fn step(&mut self, what: &str) {
        self.step += 1;
        if self.on {
            eprintln!("spec-gen: [{}/{}] {what}", self.step, self.steps);
        }
    }
}

/// What a build made, for the caller to report.
pub struct Built {
    pub lock: Lock,
    /// Packages installed beyond the requested list (base system, then dependencies).
    pub base: Vec<String>,
    pub dependencies: Vec<String>,
}

fn empty_build() -> RootfsBuild {
    RootfsBuild { suite: None, packages: Vec::new(), busybox: None, directories: Vec::new(), users: Vec::new() }
}

pub fn build(svc: &Service, opts: &BuildOptions) -> Result<Built, BuildError> {
    let out = &opts.output;
    if out.exists() && std::fs::read_dir(out).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(BuildError::OutputExists(out.clone()));
    }
    let from_lock = opts.from_lock.as_deref().map(Lock::read).transpose()?;
    let default = empty_build();
    let spec = svc.desc.rootfs_build.as_ref().unwrap_or(&default);
    let debian = match &from_lock {
        Some(l) => l.kind == "debian",
        None => !spec.packages.is_empty(),
    };
    let staging = staging_dir(out)?;
    let result = (|| {
        let built = if debian { debian::build(svc, spec, &staging, from_lock.as_ref())? } else { busybox::build(spec, &staging, from_lock.as_ref())? };
        finish(svc, spec, &staging)?;
        Ok::<Built, BuildError>(built)
    })();
    let built = match result {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    if out.exists() {
        std::fs::remove_dir(out).map_err(BuildError::io(format!("cannot replace empty {}", out.display()), "remove it by hand"))?;
    }
    std::fs::rename(&staging, out)
        .map_err(BuildError::io(format!("cannot move {} to {}", staging.display(), out.display()), "check that both are on the same file system"))?;
    crate::output::write_atomic(&opts.lock, built.lock.to_text().as_bytes()).map_err(|e| BuildError::Io {
        what: format!("cannot write {}", e.path.display()),
        source: e.source,
        fix: "check the --lock path",
    })?;
    Ok(built)
}

fn staging_dir(out: &Path) -> Result<PathBuf, BuildError> {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(BuildError::io(format!("cannot create {}", parent.display()), "check the --output path"))?;
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "rootfs".into());
    let staging = parent.join(format!(".{name}.building-{}", std::process::id()));
    if staging.exists() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    std::fs::create_dir(&staging).map_err(BuildError::io(format!("cannot create {}", staging.display()), "check the --output path"))?;
    std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o755))
        .map_err(BuildError::io(format!("cannot chmod {}", staging.display()), "check the --output path"))?;
    Ok(staging)
}

fn mkdir(root: &Path, cpath: &str, mode: u32) -> Result<(), BuildError> {
    if let Some(problem) = crate::load::container_path_problem(cpath) {
        return Err(BuildError::Failed {
            message: format!("directory `{cpath}` {problem}"),
            fix: "write absolute container paths without `..` in rootfs_build.directories".into(),
        });
    }
    let p = root.join(cpath.trim_start_matches('/'));
    if std::fs::symlink_metadata(&p).is_ok() {
        return Ok(());
    }
    std::fs::create_dir_all(&p).map_err(BuildError::io(format!("cannot create {}", p.display()), "check the path"))?;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).map_err(BuildError::io(format!("cannot chmod {}", p.display()), "check the path"))
}

/// Adds accounts, requested directories and mount points.
fn finish(svc: &Service, spec: &RootfsBuild, root: &Path) -> Result<(), BuildError> {
    add_users(root, &spec.users)?;
    let d = &svc.desc;
    for dir in &spec.directories {
        mkdir(root, dir, 0o755)?;
    }
    // Mount points: the rootfs is read-only at run time, so make them now.
    for t in &d.filesystem.tmpfs {
        mkdir(root, t.path.get_ref(), 0o755)?;
    }
    for w in &d.filesystem.writable {
        mkdir(root, w.get_ref(), 0o755)?;
    }
    for b in &d.binds {
        let target = b.target.get_ref();
        if svc.host_path(b.source.get_ref()).is_dir() {
            mkdir(root, target, 0o755)?;
        } else {
            let p = root.join(target.trim_start_matches('/'));
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).map_err(BuildError::io(format!("cannot create {}", parent.display()), "check the path"))?;
            }
            if std::fs::symlink_metadata(&p).is_err() {
                std::fs::write(&p, b"").map_err(BuildError::io(format!("cannot create {}", p.display()), "check the path"))?;
            }
        }
    }
    Ok(())
}

fn add_users(root: &Path, users: &[BuildUser]) -> Result<(), BuildError> {
    if users.is_empty() {
        return Ok(());
    }
    let passwd_path = root.join("etc/passwd");
    let group_path = root.join("etc/group");
    let mut passwd = std::fs::read_to_string(&passwd_path).unwrap_or_default();
    let mut group = std::fs::read_to_string(&group_path).unwrap_or_default();
    let have_user = |text: &str, name: &str| text.lines().any(|l| l.split(':').next() == Some(name));
    for u in users {
        let bad = |s: &str| s.is_empty() || s.contains([':', '\n', '/']);
        if bad(&u.name) || u.home.as_deref().is_some_and(|h| h.contains([':', '\n'])) {
            return Err(BuildError::Failed {
                message: format!("rootfs_build.users entry `{}` is not a valid account", u.name),
                fix: "use a plain name without `:`, `/` or newlines".into(),
            });
        }
        let gid = u.gid.unwrap_or(u.uid);
        let home = u.home.clone().unwrap_or_else(|| "/nonexistent".into());
        if !have_user(&passwd, &u.name) {
            passwd.push_str(&format!("{}:x:{}:{gid}:{}:{home}:/bin/false\n", u.name, u.uid, u.name));
        }
        if !have_user(&group, &u.name) {
            group.push_str(&format!("{}:x:{gid}:\n", u.name));
        }
    }
    mkdir(root, "/etc", 0o755)?;
    std::fs::write(&passwd_path, passwd).map_err(BuildError::io(format!("cannot write {}", passwd_path.display()), "check the rootfs"))?;
    std::fs::write(&group_path, group).map_err(BuildError::io(format!("cannot write {}", group_path.display()), "check the rootfs"))
}
