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
//! times, hard links between regular files, holes in sparse files, and extended attributes
//! ([`copy_xattrs`]: file capabilities, ACLs, user.* and trusted.*). Any step that fails (a
//! full tmpfs, an owner the user namespace does not map, a device node in a user namespace,
//! an extended attribute the tmpfs refuses, nesting deeper than [`MAX_DEPTH`]) fails the
//! container, naming the path (control characters escaped).

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FchmodatFlags, FileStat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid};

use crate::sys::XattrOf;

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
    printable_bytes(path.as_os_str().as_bytes())
}

fn printable_bytes(b: &[u8]) -> String {
    String::from_utf8_lossy(b).chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// nix's errno as the std error the messages (and their tests) expect.
fn io(e: nix::Error) -> std::io::Error {
    std::io::Error::from(e)
}

/// openat relative to `dir`, never following a final symlink.
fn open_at(dir: BorrowedFd, name: &CStr, flags: OFlag, mode: Mode) -> std::io::Result<OwnedFd> {
    nix::fcntl::openat(dir, name, flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, mode).map_err(io)
}

/// Opens a directory for reading (the image directory, or the fresh tmpfs) from an O_PATH fd.
pub fn open_dir(path_fd: &OwnedFd) -> std::io::Result<OwnedFd> {
    open_at(path_fd.as_fd(), c".", OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())
}

fn lstat_at(dir: BorrowedFd, name: &CStr) -> std::io::Result<FileStat> {
    nix::sys::stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(io)
}

fn fstat(fd: BorrowedFd) -> std::io::Result<FileStat> {
    nix::sys::stat::fstat(fd).map_err(io)
}

/// The names in a directory, without "." and "..". Reads through a duplicate of `dir`, so
/// the caller's fd (and its offset) stays its own.
fn names(dir: &OwnedFd) -> std::io::Result<Vec<CString>> {
    // The owning iterator: the borrowing one rewinds at its end (one more lseek, unchecked).
    let d = nix::dir::Dir::from_fd(dir.try_clone()?).map_err(io)?;
    let mut out = vec![];
    for e in d {
        let e = e.map_err(io)?;
        let name = e.file_name();
        if name != c"." && name != c".." {
            out.push(name.to_owned());
        }
    }
    Ok(out)
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
    st: Option<FileStat>,
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
            if let (Some((from, to)), Some(st)) = (&done.fds, &done.st) {
                finish_fd(from.as_fd(), to.as_fd(), st).map_err(|(what, e)| c.error(what, &stack, &done.name, e))?;
            }
            continue;
        };
        let (s, d) = match &stack.last().expect("a level").fds {
            Some((s, d)) => (s.as_fd(), d.as_fd()),
            None => (src.as_fd(), dst.as_fd()),
        };
        if let Some((fds, st)) = c.copy_entry(s, d, &name, &stack)? {
            if stack.len() > MAX_DEPTH {
                return Err(c.error("copy", &stack, &name, std::io::Error::other(format!("directories nested deeper than {MAX_DEPTH} levels"))));
            }
            let inner = names(&fds.0).map_err(|e| c.error("read directory", &stack, &name, e))?;
            stack.push(Level { fds: Some(fds), names: inner.into_iter(), name, st: Some(st) });
        }
    }
    // The tmpfs root's attributes last, as every directory's: a default ACL set before the
    // content would be inherited by copies whose image files have none.
    copy_xattrs(XattrOf::Fd(src.as_fd()), XattrOf::Fd(dst.as_fd())).map_err(|(what, e)| err(what, shown)(e))
}

/// A directory just made in the copy: (image fd, copy fd) and the image's stat of it.
type Descend = ((OwnedFd, OwnedFd), FileStat);

/// A failed step: what it was (for the message) and why.
type Step = (&'static str, std::io::Error);

fn step(what: &'static str) -> impl FnOnce(std::io::Error) -> Step {
    move |e| (what, e)
}

fn nstep(what: &'static str) -> impl FnOnce(nix::Error) -> Step {
    move |e| (what, io(e))
}

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
    fn copy_entry(&mut self, s: BorrowedFd, d: BorrowedFd, name: &CStr, stack: &[Level]) -> Result<Option<Descend>, CopyError> {
        let r = (|| {
            let st = lstat_at(s, name).map_err(step("stat"))?;
            let perm = Mode::from_bits_truncate(st.st_mode & 0o7777);
            let owner = (Some(Uid::from_raw(st.st_uid)), Some(Gid::from_raw(st.st_gid)));
            match st.st_mode & libc::S_IFMT {
                libc::S_IFDIR => {
                    nix::sys::stat::mkdirat(d, name, Mode::S_IRWXU).map_err(nstep("make directory"))?;
                    let dir = OFlag::O_RDONLY | OFlag::O_DIRECTORY;
                    let from = open_at(s, name, dir, Mode::empty()).map_err(step("open directory"))?;
                    let to = open_at(d, name, dir, Mode::empty()).map_err(step("open copy of directory"))?;
                    same_kind(&from, &st).map_err(step("open directory"))?;
                    return Ok(Some(((from, to), st)));
                }
                libc::S_IFREG => {
                    let key = (st.st_dev, st.st_ino);
                    if st.st_nlink > 1 {
                        if let Some((first, ino)) = self.links.get(&key) {
                            self.link(first, *ino, d, name).map_err(step("hard link"))?;
                            return Ok(None);
                        }
                    }
                    // O_NONBLOCK: if the name was swapped for a FIFO since the stat, the open must not
                    // hang; the type is checked again on the fd.
                    let from = open_at(s, name, OFlag::O_RDONLY | OFlag::O_NOCTTY | OFlag::O_NONBLOCK, Mode::empty()).map_err(step("open"))?;
                    same_kind(&from, &st).map_err(step("open"))?;
                    let to = open_at(d, name, OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL, Mode::S_IRUSR | Mode::S_IWUSR).map_err(step("create"))?;
                    copy_data(&from, &to, st.st_size as u64, &mut self.buf).map_err(step("copy"))?;
                    finish_fd(from.as_fd(), to.as_fd(), &st)?;
                    if st.st_nlink > 1 {
                        let ino = fstat(to.as_fd()).map_err(step("stat copy of"))?.st_ino;
                        self.links.insert(key, (Self::rel(stack, name), ino));
                    }
                }
                libc::S_IFLNK => {
                    let target = nix::fcntl::readlinkat(s, name).map_err(nstep("read symlink"))?;
                    nix::unistd::symlinkat(target.as_os_str(), d, name).map_err(nstep("make symlink"))?;
                    nix::unistd::fchownat(d, name, owner.0, owner.1, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(nstep("set owner of"))?;
                    copy_xattrs_at(s, d, name)?;
                    set_times_at(d, name, &st).map_err(step("set times of"))?;
                }
                kind @ (libc::S_IFIFO | libc::S_IFCHR | libc::S_IFBLK | libc::S_IFSOCK) => {
                    let kind = SFlag::from_bits_truncate(kind);
                    nix::sys::stat::mknodat(d, name, kind, Mode::S_IRUSR | Mode::S_IWUSR, st.st_rdev).map_err(nstep("make node"))?;
                    nix::unistd::fchownat(d, name, owner.0, owner.1, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(nstep("set owner of"))?;
                    // Not a symlink (just made here, in our tmpfs): following is moot.
                    nix::sys::stat::fchmodat(d, name, perm, FchmodatFlags::FollowSymlink).map_err(nstep("set mode of"))?;
                    copy_xattrs_at(s, d, name)?;
                    set_times_at(d, name, &st).map_err(step("set times of"))?;
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
    fn link(&self, first: &[u8], ino: u64, d: BorrowedFd, name: &CStr) -> std::io::Result<()> {
        let (parent, last) = match first.iter().rposition(|&b| b == b'/') {
            Some(i) => (Some(&first[..i]), &first[i + 1..]),
            None => (None, first),
        };
        let held;
        let pfd = match parent {
            Some(p) => {
                let how = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_XDEV;
                held = crate::sys::openat2(self.dst_root.as_raw_fd(), Path::new(OsStr::from_bytes(p)), libc::O_PATH | libc::O_DIRECTORY, how)?;
                held.as_fd()
            }
            None => self.dst_root.as_fd(),
        };
        // Flags empty: a final symlink is not followed.
        nix::unistd::linkat(pfd, OsStr::from_bytes(last), d, name, AtFlags::empty()).map_err(io)?;
        if lstat_at(d, name)?.st_ino != ino {
            return Err(std::io::Error::other("changed while being copied"));
        }
        Ok(())
    }
}

/// Copies `size` bytes of file data, leaving holes as holes (SEEK_DATA/SEEK_HOLE; a
/// filesystem without them is copied whole). The copy ends at the size the stat saw.
fn copy_data(from: &OwnedFd, to: &OwnedFd, size: u64, buf: &mut Vec<u8>) -> std::io::Result<()> {
    use nix::sys::uio::{pread, pwrite};
    use nix::unistd::Whence;
    if buf.is_empty() {
        buf.resize(128 * 1024, 0);
    }
    let seek = |off: u64, whence: Whence| -> std::io::Result<Option<u64>> {
        match nix::unistd::lseek(from.as_fd(), off as libc::off_t, whence) {
            Ok(r) => Ok(Some(r as u64)),
            Err(nix::Error::ENXIO) => Ok(None),
            Err(e) => Err(io(e)),
        }
    };
    let mut off = 0u64;
    while off < size {
        let (start, end) = match seek(off, Whence::SeekData) {
            Ok(None) => break,
            Ok(Some(start)) => (start, seek(start, Whence::SeekHole)?.unwrap_or(size).min(size)),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => (off, size),
            Err(e) => return Err(e),
        };
        let mut pos = start;
        while pos < end {
            let want = buf.len().min((end - pos) as usize);
            let n = match pread(from, &mut buf[..want], pos as libc::off_t) {
                Ok(0) => break,
                Ok(n) => n,
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(io(e)),
            };
            let mut done = 0;
            while done < n {
                match pwrite(to, &buf[done..n], (pos + done as u64) as libc::off_t) {
                    Ok(0) => return Err(std::io::Error::from(std::io::ErrorKind::WriteZero)),
                    Ok(w) => done += w,
                    Err(nix::Error::EINTR) => {}
                    Err(e) => return Err(io(e)),
                }
            }
            pos += n as u64;
        }
        off = end.max(start + 1);
    }
    // Sets the size, so trailing holes stay holes.
    nix::unistd::ftruncate(to.as_fd(), size as libc::off_t).map_err(io)
}

/// The fd is still the kind of file the stat saw (the name was not swapped in between).
fn same_kind(fd: &OwnedFd, st: &FileStat) -> std::io::Result<()> {
    let now = fstat(fd.as_fd())?;
    if (now.st_dev, now.st_ino, now.st_mode & libc::S_IFMT) != (st.st_dev, st.st_ino, st.st_mode & libc::S_IFMT) {
        return Err(std::io::Error::other("changed while being copied"));
    }
    Ok(())
}

/// Owner first (chown clears setuid/setgid and security.capability), then the mode, the
/// extended attributes of the image's file (open at `from`), then the times.
fn finish_fd(from: BorrowedFd, to: BorrowedFd, st: &FileStat) -> Result<(), Step> {
    let what = "set owner, mode and times of";
    nix::unistd::fchown(to, Some(Uid::from_raw(st.st_uid)), Some(Gid::from_raw(st.st_gid))).map_err(nstep(what))?;
    nix::sys::stat::fchmod(to, Mode::from_bits_truncate(st.st_mode & 0o7777)).map_err(nstep(what))?;
    copy_xattrs(XattrOf::Fd(from), XattrOf::Fd(to))?;
    let (atime, mtime) = times(st);
    nix::sys::stat::futimens(to, &atime, &mtime).map_err(nstep(what))
}

fn times(st: &FileStat) -> (TimeSpec, TimeSpec) {
    (TimeSpec::new(st.st_atime, st.st_atime_nsec), TimeSpec::new(st.st_mtime, st.st_mtime_nsec))
}

fn set_times_at(dir: BorrowedFd, name: &CStr, st: &FileStat) -> std::io::Result<()> {
    let (atime, mtime) = times(st);
    // The link itself is changed, never what it points to.
    nix::sys::stat::utimensat(dir, name, &atime, &mtime, UtimensatFlags::NoFollowSymlink).map_err(io)
}

/// Extended attributes kept from the image, and why the rest are not.
///
/// Copied: user.* (tmpfs holds them since Linux 6.6), trusted.* (listed and set only with
/// CAP_SYS_ADMIN over the initial user namespace: an init in a new user namespace sees none
/// to copy), security.* (security.capability, so a file with capabilities keeps them, and
/// IMA/EVM signatures) and the POSIX ACLs (system.posix_acl_access/default). Any of these the
/// tmpfs refuses fails the copy, naming the file and the attribute: a file that silently
/// lost its capabilities or its ACL would run or be reachable differently.
///
/// Not copied, by design: file capabilities whose root is another user namespace's (the
/// kernel answers EOVERFLOW and ignores them in this namespace, the image's file included);
/// the LSM labels (security.selinux, security.SMACK64*,
/// security.apparmor): the files of the copy get the label of the tmpfs (its `context=`
/// option, or the LSM's rule), as any file the container makes there; an image choosing its
/// own labels would choose its own policy. Other system.* attributes (NFSv4 ACLs, which only
/// NFS can hold): tmpfs has no place for them.
fn copied(name: &[u8]) -> bool {
    if name.starts_with(b"system.") {
        return name == b"system.posix_acl_access" || name == b"system.posix_acl_default";
    }
    !(name == b"security.selinux" || name.starts_with(b"security.SMACK64") || name == b"security.apparmor")
}

/// Copies the extended attributes of `from` onto `to` (see [`copied`]).
fn copy_xattrs(from: XattrOf, to: XattrOf) -> Result<(), Step> {
    const WHAT: &str = "copy extended attributes of";
    let list = match crate::sys::xattr_list(from) {
        Ok(l) => l,
        // A filesystem without extended attributes has none to copy.
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => return Ok(()),
        Err(e) => return Err((WHAT, e)),
    };
    for name in list.split(|&b| b == 0).filter(|n| !n.is_empty() && copied(n)) {
        let named = |e: std::io::Error| (WHAT, std::io::Error::new(e.kind(), format!("{}: {e}", printable_bytes(name))));
        let cname = CString::new(name).map_err(|_| named(std::io::Error::from_raw_os_error(libc::EINVAL)))?;
        let value = match crate::sys::xattr_get(from, &cname) {
            Ok(v) => v,
            // Removed since the list (the image changed under us): nothing to copy.
            Err(e) if e.raw_os_error() == Some(libc::ENODATA) => continue,
            // Capabilities of another user namespace's root: the kernel does not honour them
            // in this one (an exec of the image's file gets none either), and cannot express
            // them here.
            Err(e) if e.raw_os_error() == Some(libc::EOVERFLOW) && name == b"security.capability" => continue,
            Err(e) => return Err(named(e)),
        };
        crate::sys::xattr_set(to, &cname, &value).map_err(named)?;
    }
    Ok(())
}

/// [`copy_xattrs`] for a symlink or a node `name` in the image's `s` and the copy's `d`:
/// no fd can be opened on them for it, so they are reached by name through the directory
/// fds' /proc/self/fd links (the last component is not followed).
fn copy_xattrs_at(s: BorrowedFd, d: BorrowedFd, name: &CStr) -> Result<(), Step> {
    let at = |dir: BorrowedFd| {
        let mut p = crate::sys::fd_path(&dir).into_bytes();
        p.push(b'/');
        p.extend_from_slice(name.to_bytes());
        CString::new(p).map_err(|_| ("copy extended attributes of", std::io::Error::from_raw_os_error(libc::EINVAL)))
    };
    let (from, to) = (at(s)?, at(d)?);
    copy_xattrs(XattrOf::Path(&from), XattrOf::Path(&to))
}

/// The mode the tmpfs root takes: the image directory's own (runc does the same), so that
/// a copied 0750 or 01777 directory keeps its permissions. Its extended attributes follow
/// at the end of [`copy_dir`].
pub fn copy_root_mode(src: &OwnedFd, dst: &OwnedFd, shown: &Path) -> Result<(), CopyError> {
    let st = fstat(src.as_fd()).map_err(err("stat", shown))?;
    nix::sys::stat::fchmod(dst.as_fd(), Mode::from_bits_truncate(st.st_mode & 0o7777)).map_err(io).map_err(err("set mode of", shown))
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
