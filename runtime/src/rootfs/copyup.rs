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
//! times, hard links between regular files, holes in sparse files. Not kept: extended
//! attributes (file capabilities included). Any step that fails (a full tmpfs, an owner the
//! user namespace does not map, a device node in a user namespace, nesting deeper than
//! [`MAX_DEPTH`]) fails the container, naming the path (control characters escaped).

use std::collections::HashMap;
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
    move |source| CopyError { what, path: printable(path), source }
}

/// A path for an error line: the image's names are untrusted and may hold a newline or
/// other control characters, which would split or forge the runtime's one-line error.
fn printable(path: &Path) -> String {
    path.to_string_lossy().chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
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

/// Deepest directory nesting copied. The image is untrusted: each level holds two fds
/// and a name, so an unbounded nesting would exhaust the init's fds (or, copied
/// recursively, its stack: 2000 levels overflowed it). Real images stay far below this.
pub const MAX_DEPTH: usize = 256;

/// One directory being copied: its fds (None for the top, which the caller owns), the
/// names still to copy, and what to give the copy once its content is in.
struct Level {
    fds: Option<(OwnedFd, OwnedFd)>,
    names: std::vec::IntoIter<CString>,
    name: CString,
    st: Option<libc::stat>,
}

/// Copies the content of directory `src` into directory `dst` (both opened O_RDONLY).
/// `shown` is the container path of `src`, for messages.
///
/// Iterative (an explicit stack, bounded by [`MAX_DEPTH`]), so an image's nesting cannot
/// overflow the init's stack. Hard links between regular files are kept as links, so an
/// image cannot make the copy larger than itself by naming one big file many times; holes
/// in sparse files stay holes for the same reason.
pub fn copy_dir(src: &OwnedFd, dst: &OwnedFd, shown: &Path) -> Result<(), CopyError> {
    let mut c = Copier { shown, dst_root: dst, links: HashMap::new(), buf: vec![] };
    let top = names(src).map_err(err("read directory", shown))?;
    let mut stack = vec![Level { fds: None, names: top.into_iter(), name: CString::default(), st: None }];
    while let Some(level) = stack.last_mut() {
        let Some(name) = level.names.next() else {
            let done = stack.pop().expect("a level");
            if let (Some((_, to)), Some(st)) = (&done.fds, &done.st) {
                finish_fd(to, st).map_err(|e| c.error("set owner, mode and times of", &stack, &done.name, e))?;
            }
            continue;
        };
        let (s, d) = match &level.fds {
            Some((s, d)) => (s.as_raw_fd(), d.as_raw_fd()),
            None => (src.as_raw_fd(), dst.as_raw_fd()),
        };
        if let Some((fds, st)) = c.copy_entry(s, d, &name, &stack)? {
            if stack.len() > MAX_DEPTH {
                return Err(c.error("copy", &stack, &name, std::io::Error::other(format!("directories nested deeper than {MAX_DEPTH} levels"))));
            }
            let inner = names(&fds.0).map_err(|e| c.error("read directory", &stack, &name, e))?;
            stack.push(Level { fds: Some(fds), names: inner.into_iter(), name, st: Some(st) });
        }
    }
    Ok(())
}

/// A directory just made in the copy: (image fd, copy fd) and the image's stat of it.
type Descend = ((OwnedFd, OwnedFd), libc::stat);

struct Copier<'a> {
    shown: &'a Path,
    dst_root: &'a OwnedFd,
    /// (dev, inode) of an image file with more than one name -> where its first copy is
    /// (relative to the tmpfs root) and the copy's inode.
    links: HashMap<(u64, u64), (Vec<u8>, u64)>,
    buf: Vec<u8>,
}

impl Copier<'_> {
    /// The path below the tmpfs root of `name` in the directory on top of `stack`.
    fn rel(stack: &[Level], name: &CStr) -> Vec<u8> {
        let mut p = vec![];
        for l in stack.iter().skip(1) {
            p.extend_from_slice(l.name.to_bytes());
            p.push(b'/');
        }
        p.extend_from_slice(name.to_bytes());
        p
    }

    fn error(&self, what: &'static str, stack: &[Level], name: &CStr, source: std::io::Error) -> CopyError {
        let path = self.shown.join(OsStr::from_bytes(&Self::rel(stack, name)));
        CopyError { what, path: printable(&path), source }
    }

    /// Copies one entry; a directory is made and opened, and returned (with its stat) for
    /// the caller to descend into.
    fn copy_entry(&mut self, s: RawFd, d: RawFd, name: &CStr, stack: &[Level]) -> Result<Option<Descend>, CopyError> {
        let fail = |what: &'static str| move |e: std::io::Error| (what, e);
        let r = (|| {
            let st = lstat_at(s, name).map_err(fail("stat"))?;
            let perm = st.st_mode & 0o7777;
            match st.st_mode & libc::S_IFMT {
                libc::S_IFDIR => {
                    // SAFETY: valid dirfd and C string; mkdirat does not follow a final symlink.
                    cvt(unsafe { libc::mkdirat(d, name.as_ptr(), 0o700) }).map_err(fail("make directory"))?;
                    let from = open_at(s, name, libc::O_RDONLY | libc::O_DIRECTORY, 0).map_err(fail("open directory"))?;
                    let to = open_at(d, name, libc::O_RDONLY | libc::O_DIRECTORY, 0).map_err(fail("open copy of directory"))?;
                    same_kind(&from, &st).map_err(fail("open directory"))?;
                    return Ok(Some(((from, to), st)));
                }
                libc::S_IFREG => {
                    let key = (st.st_dev, st.st_ino);
                    if st.st_nlink > 1 {
                        if let Some((first, ino)) = self.links.get(&key) {
                            self.link(first, *ino, d, name).map_err(fail("hard link"))?;
                            return Ok(None);
                        }
                    }
                    // O_NONBLOCK: if the name was swapped for a FIFO since the stat, the open must not
                    // hang; the type is checked again on the fd.
                    let from = open_at(s, name, libc::O_RDONLY | libc::O_NOCTTY | libc::O_NONBLOCK, 0).map_err(fail("open"))?;
                    same_kind(&from, &st).map_err(fail("open"))?;
                    let to = open_at(d, name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 0o600).map_err(fail("create"))?;
                    copy_data(&from, &to, st.st_size as u64, &mut self.buf).map_err(fail("copy"))?;
                    finish_fd(&to, &st).map_err(fail("set owner, mode and times of"))?;
                    if st.st_nlink > 1 {
                        let ino = fstat(to.as_raw_fd()).map_err(fail("stat copy of"))?.st_ino;
                        self.links.insert(key, (Self::rel(stack, name), ino));
                    }
                }
                libc::S_IFLNK => {
                    let target = readlink_at(s, name).map_err(fail("read symlink"))?;
                    // SAFETY: valid C strings and dirfd.
                    cvt(unsafe { libc::symlinkat(target.as_ptr(), d, name.as_ptr()) }).map_err(fail("make symlink"))?;
                    // SAFETY: valid dirfd and C string; AT_SYMLINK_NOFOLLOW changes the link itself.
                    cvt(unsafe { libc::fchownat(d, name.as_ptr(), st.st_uid, st.st_gid, libc::AT_SYMLINK_NOFOLLOW) }).map_err(fail("set owner of"))?;
                    set_times_at(d, name, &st).map_err(fail("set times of"))?;
                }
                kind @ (libc::S_IFIFO | libc::S_IFCHR | libc::S_IFBLK | libc::S_IFSOCK) => {
                    // SAFETY: valid dirfd and C string; mknodat does not follow a final symlink.
                    cvt(unsafe { libc::mknodat(d, name.as_ptr(), kind | 0o600, st.st_rdev) }).map_err(fail("make node"))?;
                    // SAFETY: as above; the node was just made here, a plain file in our tmpfs.
                    cvt(unsafe { libc::fchownat(d, name.as_ptr(), st.st_uid, st.st_gid, libc::AT_SYMLINK_NOFOLLOW) }).map_err(fail("set owner of"))?;
                    // SAFETY: as above (fchmodat never follows for a non-symlink it just made).
                    cvt(unsafe { libc::fchmodat(d, name.as_ptr(), perm, 0) }).map_err(fail("set mode of"))?;
                    set_times_at(d, name, &st).map_err(fail("set times of"))?;
                }
                _ => return Err(("copy", std::io::Error::from_raw_os_error(libc::EINVAL))),
            }
            Ok(None)
        })();
        r.map_err(|(what, e)| self.error(what, stack, name, e))
    }

    /// Links `name` in `d` to the copy made earlier at `first` (below the tmpfs root). The
    /// way there is resolved beneath the root without following any symlink, and the
    /// result must be the inode made then.
    fn link(&self, first: &[u8], ino: u64, d: RawFd, name: &CStr) -> std::io::Result<()> {
        let (parent, last) = match first.iter().rposition(|&b| b == b'/') {
            Some(i) => (Some(&first[..i]), &first[i + 1..]),
            None => (None, first),
        };
        let held;
        let pfd = match parent {
            Some(p) => {
                let how = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_XDEV;
                held = crate::sys::openat2(self.dst_root.as_raw_fd(), Path::new(OsStr::from_bytes(p)), libc::O_PATH | libc::O_DIRECTORY, how)?;
                held.as_raw_fd()
            }
            None => self.dst_root.as_raw_fd(),
        };
        let last = cstr(OsStr::from_bytes(last))?;
        // SAFETY: valid dirfds and C strings; flags 0: a final symlink is not followed.
        cvt(unsafe { libc::linkat(pfd, last.as_ptr(), d, name.as_ptr(), 0) })?;
        if lstat_at(d, name)?.st_ino != ino {
            return Err(std::io::Error::other("changed while being copied"));
        }
        Ok(())
    }
}

/// Copies `size` bytes of file data, leaving holes as holes (SEEK_DATA/SEEK_HOLE; a
/// filesystem without them is copied whole). The copy ends at the size the stat saw.
fn copy_data(from: &OwnedFd, to: &OwnedFd, size: u64, buf: &mut Vec<u8>) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let (f, t) = (from.as_raw_fd(), to.as_raw_fd());
    // SAFETY: borrowed as Files for their read_at/write_at only; ManuallyDrop keeps the fds.
    let (rf, wf) = unsafe { (std::mem::ManuallyDrop::new(std::fs::File::from_raw_fd(f)), std::mem::ManuallyDrop::new(std::fs::File::from_raw_fd(t))) };
    if buf.is_empty() {
        buf.resize(128 * 1024, 0);
    }
    let seek = |off: u64, whence: libc::c_int| -> std::io::Result<Option<u64>> {
        // SAFETY: a valid fd; lseek only moves its offset.
        let r = unsafe { libc::lseek(f, off as libc::off_t, whence) };
        if r >= 0 {
            return Ok(Some(r as u64));
        }
        match std::io::Error::last_os_error() {
            e if e.raw_os_error() == Some(libc::ENXIO) => Ok(None),
            e => Err(e),
        }
    };
    let mut off = 0u64;
    while off < size {
        let (start, end) = match seek(off, libc::SEEK_DATA) {
            Ok(None) => break,
            Ok(Some(start)) => (start, seek(start, libc::SEEK_HOLE)?.unwrap_or(size).min(size)),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => (off, size),
            Err(e) => return Err(e),
        };
        let mut pos = start;
        while pos < end {
            let want = buf.len().min((end - pos) as usize);
            let n = rf.read_at(&mut buf[..want], pos)?;
            if n == 0 {
                break;
            }
            wf.write_all_at(&buf[..n], pos)?;
            pos += n as u64;
        }
        off = end.max(start + 1);
    }
    // SAFETY: a valid fd; sets the size, so trailing holes stay holes.
    cvt(unsafe { libc::ftruncate(t, size as libc::off_t) })?;
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
