//! `tmpcopyup` (podman's `--read-only` and `--tmpfs`): a tmpfs mounted over an image
//! directory starts with a copy of that directory's content, as with runc and crun.
//!
//! The init opens the image directory before the tmpfs covers it (an fd keeps reaching the
//! covered directory), mounts the tmpfs writable, copies, then applies the entry's
//! read-only flag if it has one. Everything is copied relative to directory fds that were
//! opened with O_NOFOLLOW, entry by entry: a symlink in the image (the container's own
//! content) is copied as a symlink and never followed, so the copy cannot read a host file
//! or write outside the new tmpfs. Kept: modes (setuid bits included, set after the owner),
//! owners, symlinks, nested directories, FIFOs and device nodes, access and modification
//! times. Not kept: hard links (each name gets its own copy) and extended attributes. Any
//! step that fails (a full tmpfs, an owner the user namespace does not map, a device node
//! in a user namespace) fails the container, naming the path.

use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
#[error("tmpcopyup: {what} {path}: {source}")]
pub struct CopyError {
    what: &'static str,
    path: String,
    source: std::io::Error,
}

fn err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CopyError + 'a {
    move |source| CopyError { what, path: path.display().to_string(), source }
}

fn cvt(r: libc::c_int) -> std::io::Result<libc::c_int> {
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cstr(name: &OsStr) -> std::io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))
}

/// openat relative to `dir`, never following a final symlink.
fn open_at(dir: RawFd, name: &CStr, flags: i32, mode: libc::mode_t) -> std::io::Result<OwnedFd> {
    // SAFETY: a valid dirfd and C string; the flags include O_NOFOLLOW and O_CLOEXEC.
    let fd = cvt(unsafe { libc::openat(dir, name.as_ptr(), flags | libc::O_NOFOLLOW | libc::O_CLOEXEC, mode as libc::c_uint) })?;
    // SAFETY: the kernel just returned this fd; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens a directory for reading (the image directory, or the fresh tmpfs) from an O_PATH fd.
pub fn open_dir(path_fd: &OwnedFd) -> std::io::Result<OwnedFd> {
    open_at(path_fd.as_raw_fd(), c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)
}

fn lstat_at(dir: RawFd, name: &CStr) -> std::io::Result<libc::stat> {
    // SAFETY: a zeroed stat is a valid out-buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid dirfd, C string and out-buffer.
    cvt(unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) })?;
    Ok(st)
}

fn fstat(fd: RawFd) -> std::io::Result<libc::stat> {
    // SAFETY: a zeroed stat is a valid out-buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd and out-buffer.
    cvt(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st)
}

/// The names in a directory, without "." and "..". Reads through a duplicate of `dir`, so
/// the caller's fd (and its offset) stays its own.
fn names(dir: &OwnedFd) -> std::io::Result<Vec<CString>> {
    let dup = dir.try_clone()?;
    // SAFETY: fdopendir takes over the duplicate fd (released by closedir below).
    let d = unsafe { libc::fdopendir(dup.as_raw_fd()) };
    if d.is_null() {
        return Err(std::io::Error::last_os_error());
    }
    std::mem::forget(dup);
    let mut out = vec![];
    let result = loop {
        // SAFETY: errno is thread-local; cleared so that end-of-directory and an error differ.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: `d` is an open DIR stream.
        let e = unsafe { libc::readdir64(d) };
        if e.is_null() {
            let errno = std::io::Error::last_os_error();
            break if errno.raw_os_error() == Some(0) { Ok(()) } else { Err(errno) };
        }
        // SAFETY: d_name is a NUL-terminated name inside the entry readdir returned.
        let name = unsafe { CStr::from_ptr((*e).d_name.as_ptr()) };
        if name != c"." && name != c".." {
            out.push(name.to_owned());
        }
    };
    // SAFETY: `d` is open and closed exactly once.
    unsafe { libc::closedir(d) };
    result.map(|()| out)
}

/// Copies the content of directory `src` into directory `dst` (both opened O_RDONLY).
/// `shown` is the container path of `src`, for messages.
pub fn copy_dir(src: &OwnedFd, dst: &OwnedFd, shown: &Path) -> Result<(), CopyError> {
    for name in names(src).map_err(err("read directory", shown))? {
        let path = shown.join(OsStr::from_bytes(name.to_bytes()));
        copy_entry(src, dst, &name, &path)?;
    }
    Ok(())
}

fn copy_entry(src: &OwnedFd, dst: &OwnedFd, name: &CStr, path: &Path) -> Result<(), CopyError> {
    let (s, d) = (src.as_raw_fd(), dst.as_raw_fd());
    let st = lstat_at(s, name).map_err(err("stat", path))?;
    let perm = st.st_mode & 0o7777;
    match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => {
            // SAFETY: valid dirfd and C string; mkdirat does not follow a final symlink.
            cvt(unsafe { libc::mkdirat(d, name.as_ptr(), 0o700) }).map_err(err("make directory", path))?;
            let from = open_at(s, name, libc::O_RDONLY | libc::O_DIRECTORY, 0).map_err(err("open directory", path))?;
            let to = open_at(d, name, libc::O_RDONLY | libc::O_DIRECTORY, 0).map_err(err("open copy of directory", path))?;
            same_kind(&from, &st).map_err(err("open directory", path))?;
            copy_dir(&from, &to, path)?;
            finish_fd(&to, &st).map_err(err("set owner, mode and times of", path))?;
        }
        libc::S_IFREG => {
            // O_NONBLOCK: if the name was swapped for a FIFO since the stat, the open must not
            // hang; the type is checked again on the fd.
            let from = open_at(s, name, libc::O_RDONLY | libc::O_NOCTTY | libc::O_NONBLOCK, 0).map_err(err("open", path))?;
            same_kind(&from, &st).map_err(err("open", path))?;
            let to = open_at(d, name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 0o600).map_err(err("create", path))?;
            let (mut r, mut w) = (std::fs::File::from(from), std::fs::File::from(to));
            std::io::copy(&mut r, &mut w).map_err(err("copy", path))?;
            finish_fd(&w.into(), &st).map_err(err("set owner, mode and times of", path))?;
        }
        libc::S_IFLNK => {
            let target = readlink_at(s, name).map_err(err("read symlink", path))?;
            // SAFETY: valid C strings and dirfd.
            cvt(unsafe { libc::symlinkat(target.as_ptr(), d, name.as_ptr()) }).map_err(err("make symlink", path))?;
            // SAFETY: valid dirfd and C string; AT_SYMLINK_NOFOLLOW changes the link itself.
            cvt(unsafe { libc::fchownat(d, name.as_ptr(), st.st_uid, st.st_gid, libc::AT_SYMLINK_NOFOLLOW) }).map_err(err("set owner of", path))?;
            set_times_at(d, name, &st).map_err(err("set times of", path))?;
        }
        kind @ (libc::S_IFIFO | libc::S_IFCHR | libc::S_IFBLK | libc::S_IFSOCK) => {
            // SAFETY: valid dirfd and C string; mknodat does not follow a final symlink.
            cvt(unsafe { libc::mknodat(d, name.as_ptr(), kind | 0o600, st.st_rdev) }).map_err(err("make node", path))?;
            // SAFETY: as above; the node was just made here, a plain file in our tmpfs.
            cvt(unsafe { libc::fchownat(d, name.as_ptr(), st.st_uid, st.st_gid, libc::AT_SYMLINK_NOFOLLOW) }).map_err(err("set owner of", path))?;
            // SAFETY: as above (fchmodat never follows for a non-symlink it just made).
            cvt(unsafe { libc::fchmodat(d, name.as_ptr(), perm, 0) }).map_err(err("set mode of", path))?;
            set_times_at(d, name, &st).map_err(err("set times of", path))?;
        }
        _ => return Err(CopyError { what: "copy", path: path.display().to_string(), source: std::io::Error::from_raw_os_error(libc::EINVAL) }),
    }
    Ok(())
}

/// The fd is still the kind of file the stat saw (the name was not swapped in between).
fn same_kind(fd: &OwnedFd, st: &libc::stat) -> std::io::Result<()> {
    let now = fstat(fd.as_raw_fd())?;
    if (now.st_dev, now.st_ino, now.st_mode & libc::S_IFMT) != (st.st_dev, st.st_ino, st.st_mode & libc::S_IFMT) {
        return Err(std::io::Error::other("changed while being copied"));
    }
    Ok(())
}

/// Owner first (chown clears setuid/setgid), then the mode, then the times.
fn finish_fd(fd: &OwnedFd, st: &libc::stat) -> std::io::Result<()> {
    let f = fd.as_raw_fd();
    // SAFETY: a valid fd.
    cvt(unsafe { libc::fchown(f, st.st_uid, st.st_gid) })?;
    // SAFETY: a valid fd.
    cvt(unsafe { libc::fchmod(f, st.st_mode & 0o7777) })?;
    let times = [libc::timespec { tv_sec: st.st_atime, tv_nsec: st.st_atime_nsec }, libc::timespec { tv_sec: st.st_mtime, tv_nsec: st.st_mtime_nsec }];
    // SAFETY: a valid fd and a two-element timespec array.
    cvt(unsafe { libc::futimens(f, times.as_ptr()) })?;
    Ok(())
}

fn set_times_at(dir: RawFd, name: &CStr, st: &libc::stat) -> std::io::Result<()> {
    let times = [libc::timespec { tv_sec: st.st_atime, tv_nsec: st.st_atime_nsec }, libc::timespec { tv_sec: st.st_mtime, tv_nsec: st.st_mtime_nsec }];
    // SAFETY: valid dirfd, C string and two-element timespec array; the link itself is changed.
    cvt(unsafe { libc::utimensat(dir, name.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) })?;
    Ok(())
}

fn readlink_at(dir: RawFd, name: &CStr) -> std::io::Result<CString> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: valid dirfd and C string; buf is writable for its length.
    let n = unsafe { libc::readlinkat(dir, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if n as usize >= buf.len() {
        return Err(std::io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    buf.truncate(n as usize);
    cstr(OsStr::from_bytes(&buf))
}

/// The mode the tmpfs root takes: the image directory's own (runc does the same), so that
/// a copied 0750 or 01777 directory keeps its permissions.
pub fn copy_root_mode(src: &OwnedFd, dst: &OwnedFd, shown: &Path) -> Result<(), CopyError> {
    let st = fstat(src.as_raw_fd()).map_err(err("stat", shown))?;
    // SAFETY: a valid fd.
    cvt(unsafe { libc::fchmod(dst.as_raw_fd(), st.st_mode & 0o7777) }).map_err(err("set mode of", shown))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

    fn dirfd(p: &Path) -> OwnedFd {
        std::fs::File::open(p).unwrap().into()
    }

    #[test]
    fn copies_modes_owners_links_and_nested_dirs_without_following_links() {
        let base = std::env::temp_dir().join(format!("ocirt-copyup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (src, dst, secret) = (base.join("src"), base.join("dst"), base.join("secret"));
        std::fs::create_dir_all(src.join("a/b/c")).unwrap();
        std::fs::create_dir_all(&dst).unwrap();
        std::fs::write(&secret, "host secret").unwrap();
        std::fs::write(src.join("a/b/c/file"), "deep").unwrap();
        std::fs::write(src.join("suid"), "x").unwrap();
        std::fs::set_permissions(src.join("suid"), std::fs::Permissions::from_mode(0o4711)).unwrap();
        std::fs::set_permissions(src.join("a/b"), std::fs::Permissions::from_mode(0o1750)).unwrap();
        std::os::unix::fs::chown(src.join("a/b/c/file"), Some(1234), Some(5678)).unwrap();
        std::os::unix::fs::lchown(src.join("a"), Some(42), Some(43)).unwrap();
        symlink(&secret, src.join("escape")).unwrap();
        symlink("a/b", src.join("rel")).unwrap();
        std::os::unix::fs::lchown(src.join("rel"), Some(7), Some(8)).unwrap();
        nix::unistd::mkfifo(&src.join("fifo"), nix::sys::stat::Mode::from_bits_truncate(0o640)).unwrap();

        copy_dir(&dirfd(&src), &dirfd(&dst), Path::new("/img")).unwrap();

        assert_eq!(std::fs::read_to_string(dst.join("a/b/c/file")).unwrap(), "deep");
        let m = std::fs::metadata(dst.join("a/b/c/file")).unwrap();
        assert_eq!((m.uid(), m.gid()), (1234, 5678));
        assert_eq!(std::fs::metadata(dst.join("suid")).unwrap().mode() & 0o7777, 0o4711);
        assert_eq!(std::fs::metadata(dst.join("a/b")).unwrap().mode() & 0o7777, 0o1750);
        let a = std::fs::metadata(dst.join("a")).unwrap();
        assert_eq!((a.uid(), a.gid()), (42, 43));
        // Links are copied as links, never followed: the host file's content is not copied.
        let l = std::fs::symlink_metadata(dst.join("escape")).unwrap();
        assert!(l.file_type().is_symlink());
        assert_eq!(std::fs::read_link(dst.join("escape")).unwrap(), secret);
        let r = std::fs::symlink_metadata(dst.join("rel")).unwrap();
        assert!(r.file_type().is_symlink() && r.uid() == 7 && r.gid() == 8);
        let f = std::fs::symlink_metadata(dst.join("fifo")).unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&f.file_type()));
        assert_eq!(f.mode() & 0o7777, 0o640);
        // Times kept.
        assert_eq!(std::fs::metadata(src.join("a/b/c/file")).unwrap().mtime(), m.mtime());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_failed_copy_names_the_container_path() {
        let base = std::env::temp_dir().join(format!("ocirt-copyup-full-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("src")).unwrap();
        std::fs::create_dir_all(base.join("dst/exists")).unwrap();
        std::fs::create_dir_all(base.join("src/exists")).unwrap();
        // The destination already has the name: EEXIST, reported with the container path.
        let e = copy_dir(&dirfd(&base.join("src")), &dirfd(&base.join("dst")), Path::new("/img")).unwrap_err().to_string();
        assert!(e.contains("/img/exists") && e.contains("tmpcopyup"), "{e}");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
