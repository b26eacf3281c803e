//! Resolving and creating paths strictly inside the rootfs.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::{io_err, RootfsError};
use crate::sys::open_in_root;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Dir,
    File,
}

/// Lexically normalises an absolute container path ("/a/./b/../c" → "a/c", relative to root).
pub fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// Opens `path` (a container path) as O_PATH, resolved inside `root`.
pub fn open(root: &OwnedFd, path: &Path) -> std::io::Result<OwnedFd> {
    let rel = clean(path);
    let rel = if rel.as_os_str().is_empty() { PathBuf::from(".") } else { rel };
    open_in_root(root.as_raw_fd(), &rel, libc::O_PATH)
}

/// Opens `path` inside `root`, creating missing directories (0755) and, for Kind::File, an
/// empty final file. Each component is created with mkdirat/openat relative to an fd that
/// was itself resolved inside the root, so nothing is ever created outside it.
///
/// The deepest existing ancestor is found first, walking up (usually the parent exists: one
/// look); from there each created component is opened once, resolved inside the root again,
/// and that fd is the parent of the next one (no reopening of every ancestor per component).
pub fn ensure(root: &OwnedFd, path: &Path, kind: Kind) -> Result<OwnedFd, RootfsError> {
    let rel = clean(path);
    if let Ok(fd) = open(root, &rel) {
        return Ok(fd);
    }
    let comps: Vec<_> = rel.components().collect();
    let prefix = |n: usize| -> PathBuf { comps[..n].iter().collect() };
    let dir_flags = libc::O_PATH | libc::O_DIRECTORY;
    // The deepest ancestor that exists (the root itself at worst).
    let mut have = comps.len().saturating_sub(1);
    let mut parent = loop {
        if have == 0 {
            break open_in_root(root.as_raw_fd(), Path::new("."), dir_flags).map_err(io_err("resolve", "/"))?;
        }
        match open_in_root(root.as_raw_fd(), &prefix(have), dir_flags) {
            Ok(fd) => break fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => have -= 1,
            Err(e) => return Err(io_err("resolve", format!("/{}", prefix(have).display()))(e)),
        }
    };
    for i in have..comps.len() {
        let last = i + 1 == comps.len();
        let cur = prefix(i + 1);
        let name = CString::new(comps[i].as_os_str().as_bytes()).map_err(|_| RootfsError::Refused(format!("bad path {path:?}")))?;
        let shown = format!("/{}", cur.display());
        let made = if last && kind == Kind::File {
            // O_CREAT|O_EXCL never follows a symlink; the fd is closed at once.
            let flags = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW;
            nix::fcntl::openat(&parent, name.as_c_str(), flags, Mode::from_bits_truncate(0o644)).map(drop)
        } else {
            // mkdirat never follows a final symlink.
            nix::sys::stat::mkdirat(&parent, name.as_c_str(), Mode::from_bits_truncate(0o755))
        };
        match made {
            Ok(()) | Err(nix::Error::EEXIST) => {}
            Err(e) => return Err(io_err("create mount point", shown)(e.into())),
        }
        // Resolved inside the root again: whatever is there now (made by us or planted in
        // between) is only ever reached without leaving the root.
        let flags = if last { libc::O_PATH } else { dir_flags };
        parent = open_in_root(root.as_raw_fd(), &cur, flags).map_err(|_| {
            RootfsError::Refused(format!(
                "{shown} exists but cannot be resolved inside the rootfs (a dangling or escaping symlink?): remove it from the rootfs"
            ))
        })?;
    }
    Ok(parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning() {
        assert_eq!(clean(Path::new("/a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(clean(Path::new("/../../etc")), PathBuf::from("etc"));
    }

    #[test]
    fn symlinks_stay_inside_the_root() {
        let base = std::env::temp_dir().join(format!("ocirt-resolve-{}", std::process::id()));
        let root = base.join("root");
        let outside = base.join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("evil")).unwrap();
        std::os::unix::fs::symlink("../../../..", root.join("up")).unwrap();
        let rfd: OwnedFd = std::fs::File::open(&root).unwrap().into();
        // The absolute symlink resolves to root/<outside path>, which does not exist: the
        // mount point is refused rather than created anywhere.
        let e = ensure(&rfd, Path::new("/evil/sub"), Kind::Dir).unwrap_err().to_string();
        assert!(e.contains("/evil") && e.contains("symlink"), "{e}");
        assert!(!outside.join("sub").exists(), "escaped the root");
        // Once the target exists inside the root, the same link resolves there.
        std::fs::create_dir_all(root.join(outside.strip_prefix("/").unwrap())).unwrap();
        ensure(&rfd, Path::new("/evil/sub"), Kind::Dir).unwrap();
        assert!(!outside.join("sub").exists(), "escaped the root");
        assert!(root.join(outside.strip_prefix("/").unwrap()).join("sub").is_dir());
        ensure(&rfd, Path::new("/up/x"), Kind::File).unwrap();
        assert!(root.join("x").is_file());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
