//! Bind sources, opened once by the runtime before clone and mounted from that fd.
//!
//! A bind source is a host path, but part of it may be writable by the container: a source
//! inside another read-write bind source (`site` at /var/www and `site/uploads` at
//! /srv/uploads), or inside a writable rootfs. The container can replace such a part by a
//! symlink (to `/`, say), and a runtime that follows it at the next start mounts whatever
//! the link names, read-write, into the container.
//!
//! So every source is resolved here, as host root, before any namespace or uid switch:
//! - Fast path: openat2 with RESOLVE_NO_SYMLINKS. A path without any symlink cannot be
//!   redirected, whoever can write along it. One syscall for the common case.
//! - Otherwise the path is walked one component at a time (O_PATH|O_NOFOLLOW). A symlink
//!   is followed only where the container cannot have made it: in a directory that is not
//!   a container-writable directory (the rootfs when writable, every read-write bind
//!   source) nor below one. Those are known by (st_dev, st_ino), so a second host path to
//!   the same directory is recognised too.
//! - The fd is then cloned into a detached mount (open_tree on the fd), its attributes set,
//!   and the init only moves that mount into place: it never resolves a host path itself.
//!   That is also why this works when the init is the root of a new user namespace, which
//!   may not search the directories a source lies in.

use std::ffi::OsStr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::plan::{MountKind, PlannedMount};
use super::{io_err, RootfsError};
use crate::sys;

/// Symlinks followed in one source before giving up (the kernel's MAXSYMLINKS).
const MAX_LINKS: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: the symlink {link} lies in a directory the container can write ({anchor} or below); refusing to follow it: make the source a path without container-writable symlinks")]
    UntrustedLink { path: String, link: String, anchor: String },
    #[error("{path}: more than {MAX_LINKS} symlinks")]
    TooManyLinks { path: String },
}

/// A directory the container can write, by identity.
struct Anchor {
    id: (u64, u64),
    shown: PathBuf,
}

/// Opens every bind source of `plan` not opened yet and turns it into a detached mount with
/// the entry's attributes. `rootfs_writable`: the rootfs is mounted read-write in the
/// container.
///
/// A rootless runtime (not root: `runtime run` of a `spec --rootless` bundle by a user) may
/// not clone mounts (open_tree needs CAP_SYS_ADMIN over the mount namespace), and a mount
/// of the host's namespace cannot be cloned from inside the container's new one. Its
/// sources are checked here and left for the init, which calls this again in its own mount
/// namespace (as root of its user namespace, with the caller's access to host paths) before
/// it mounts anything: the same resolution rules, by the same code.
pub fn open_all(plan: &mut [PlannedMount], rootfs: &Path, rootfs_writable: bool) -> Result<(), RootfsError> {
    let mut anchors: Option<Vec<Anchor>> = None;
    for i in 0..plan.len() {
        let MountKind::Bind { recursive } = plan[i].kind else { continue };
        if plan[i].tree.is_some() {
            continue;
        }
        let src = plan[i].source.clone().expect("planned bind has a source");
        let fail = |msg: String| RootfsError::Plan { index: plan[i].index, dest: plan[i].dest.display().to_string(), msg };
        let fd = match open_no_symlinks(&src) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) || e.raw_os_error() == Some(libc::EXDEV) => {
                let anchors = anchors.get_or_insert_with(|| writable_dirs(plan, rootfs, rootfs_writable));
                walk(&src, anchors).map_err(|e| fail(format!("bind source {e}")))?
            }
            Err(e) => return Err(fail(format!("bind source {}: {e}: create it or fix \"source\"", src.display()))),
        };
        let st = nix::sys::stat::fstat(&fd).map_err(|e| fail(format!("bind source {}: {}", src.display(), std::io::Error::from(e))))?;
        plan[i].file_target = st.st_mode & libc::S_IFMT != libc::S_IFDIR;
        let tree = match sys::open_tree(fd.as_raw_fd(), Path::new(""), recursive, true) {
            Ok(t) => t,
            Err(e) if e.raw_os_error() == Some(libc::EPERM) && !nix::unistd::geteuid().is_root() => continue,
            Err(e) => return Err(io_err("open_tree", src.display())(e)),
        };
        super::mounts::set_attrs(&tree, &plan[i])?;
        plan[i].tree = Some(Arc::new(tree));
    }
    Ok(())
}

/// Whether some bind source is left for the init to open (see [`open_all`]).
pub fn deferred(plan: &[PlannedMount]) -> bool {
    plan.iter().any(|m| matches!(m.kind, MountKind::Bind { .. }) && m.tree.is_none())
}

/// A detached bind mount of exactly the file behind `fd` (already opened and checked).
pub fn tree_of(fd: &OwnedFd) -> std::io::Result<Arc<OwnedFd>> {
    sys::open_tree(fd.as_raw_fd(), Path::new(""), false, true).map(Arc::new)
}

/// The rootfs (when writable) and every read-write bind source, by identity. A path that
/// cannot be stat'ed is simply not an anchor: its own open fails later with a clear error.
fn writable_dirs(plan: &[PlannedMount], rootfs: &Path, rootfs_writable: bool) -> Vec<Anchor> {
    let mut out = vec![];
    let mut add = |p: &Path| {
        if let Ok(m) = std::fs::metadata(p) {
            use std::os::unix::fs::MetadataExt;
            out.push(Anchor { id: (m.dev(), m.ino()), shown: p.to_path_buf() });
        }
    };
    if rootfs_writable {
        add(rootfs);
    }
    for m in plan {
        let ro = (m.attr_set | m.rattr_set) & libc::MOUNT_ATTR_RDONLY != 0;
        if matches!(m.kind, MountKind::Bind { .. }) && !ro {
            if let Some(s) = &m.source {
                add(s);
            }
        }
    }
    out
}

fn open_no_symlinks(path: &Path) -> std::io::Result<OwnedFd> {
    openat2(libc::AT_FDCWD, path.as_os_str(), libc::O_PATH, libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS)
}

fn openat2(dir: RawFd, name: &OsStr, flags: i32, resolve: u64) -> std::io::Result<OwnedFd> {
    sys::openat2(dir, Path::new(name), flags, resolve)
}

/// One directory on the walk: its fd, its path (for messages), and the container-writable
/// directory it is, or lies below, if any.
struct Step {
    fd: OwnedFd,
    path: PathBuf,
    writable: Option<PathBuf>,
}

/// Resolves `path` component by component from `/`, following a symlink only when the
/// directory holding it is not container-writable.
fn walk(path: &Path, anchors: &[Anchor]) -> Result<OwnedFd, SourceError> {
    let shown = path.display().to_string();
    let io = |source: std::io::Error| SourceError::Io { path: shown.clone(), source };
    let anchor_of = |fd: &OwnedFd| -> std::io::Result<Option<PathBuf>> {
        let st = nix::sys::stat::fstat(fd)?;
        Ok(anchors.iter().find(|a| a.id == (st.st_dev, st.st_ino)).map(|a| a.shown.clone()))
    };
    let root = || -> std::io::Result<Step> {
        let fd = openat2(libc::AT_FDCWD, OsStr::new("/"), libc::O_PATH | libc::O_DIRECTORY, 0)?;
        let writable = anchor_of(&fd)?;
        Ok(Step { fd, path: PathBuf::from("/"), writable })
    };
    let mut stack = vec![root().map_err(io)?];
    // Components still to resolve, next one last.
    let mut todo: Vec<std::ffi::OsString> = components(path);
    let mut links = 0;
    while let Some(name) = todo.pop() {
        if name == "." {
            continue;
        }
        if name == ".." {
            if stack.len() > 1 {
                stack.pop();
            }
            continue;
        }
        let top = stack.last().expect("the root stays");
        let fd = openat2(top.fd.as_raw_fd(), &name, libc::O_PATH | libc::O_NOFOLLOW, libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS).map_err(io)?;
        let st = nix::sys::stat::fstat(&fd).map_err(|e| io(e.into()))?;
        let here = top.path.join(&name);
        if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
            if let Some(anchor) = &top.writable {
                return Err(SourceError::UntrustedLink { path: shown, link: here.display().to_string(), anchor: anchor.display().to_string() });
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(SourceError::TooManyLinks { path: shown });
            }
            let target = readlink(&fd).map_err(io)?;
            let target = Path::new(&target);
            if target.is_absolute() {
                stack.truncate(1);
            }
            todo.extend(components(target));
            continue;
        }
        let writable = match &top.writable {
            Some(a) => Some(a.clone()),
            None => anchor_of(&fd).map_err(io)?,
        };
        stack.push(Step { fd, path: here, writable });
    }
    let last = stack.pop().expect("the root stays");
    Ok(last.fd)
}

/// The components of `p` in reverse order (a stack: next one last).
fn components(p: &Path) -> Vec<std::ffi::OsString> {
    let mut v: Vec<std::ffi::OsString> = p
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            Component::CurDir => Some(".".into()),
            Component::RootDir | Component::Prefix(_) => None,
        })
        .collect();
    v.reverse();
    v
}

fn readlink(fd: &OwnedFd) -> std::io::Result<std::ffi::OsString> {
    // An O_PATH fd of a symlink with an empty path reads that link.
    Ok(nix::fcntl::readlinkat(fd, c"")?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt};

    fn ident(p: &Path) -> (u64, u64) {
        let m = std::fs::metadata(p).unwrap();
        (m.dev(), m.ino())
    }

    #[test]
    fn links_in_writable_dirs_are_refused_and_trusted_ones_followed() {
        let base = std::env::temp_dir().join(format!("ocirt-sources-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let site = base.join("site");
        std::fs::create_dir_all(site.join("real")).unwrap();
        std::fs::create_dir_all(base.join("host/data")).unwrap();
        // What the container did: its `uploads` is now a link to the host's root.
        symlink("/", site.join("uploads")).unwrap();
        // A host-made link outside any writable dir: legitimate.
        symlink(base.join("host/data"), base.join("trusted")).unwrap();
        let anchors = vec![Anchor { id: ident(&site), shown: site.clone() }];

        let e = walk(&site.join("uploads"), &anchors).unwrap_err().to_string();
        assert!(e.contains("container can write") && e.contains("uploads"), "{e}");
        let e = walk(&site.join("uploads/etc"), &anchors).unwrap_err().to_string();
        assert!(e.contains("container can write"), "{e}");
        // The same dir reached through a trusted link is still recognised as writable.
        symlink(&site, base.join("alias")).unwrap();
        let e = walk(&base.join("alias/uploads"), &anchors).unwrap_err().to_string();
        assert!(e.contains("container can write"), "{e}");
        // Positive controls: a trusted link is followed; a real dir inside the writable one opens.
        let fd = walk(&base.join("trusted"), &anchors).unwrap();
        let st = nix::sys::stat::fstat(&fd).unwrap();
        assert_eq!((st.st_dev, st.st_ino), ident(&base.join("host/data")));
        walk(&site.join("real"), &anchors).unwrap();
        walk(&base.join("host/../site/real/."), &anchors).unwrap();
        // The fast path refuses any link, so the walk is what runs for these.
        assert_eq!(open_no_symlinks(&base.join("trusted")).unwrap_err().raw_os_error(), Some(libc::ELOOP));
        std::fs::remove_dir_all(&base).unwrap();
    }
}
