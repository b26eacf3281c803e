//! The runtime's syscall boundary: thin wrappers over what nix does not wrap (clone as fork,
//! openat2, the new mount API, pidfd, close_range), or wraps in a shape that does not fit
//! (kill with any signal number, including real-time ones; `_exit`). Each returns
//! std::io::Result with errno preserved. Everything else calls nix directly.
//!
//! Not here, by design: the BPF syscalls of netguard/ and the seccomp filter's BPF and
//! install (seccomp/bpf.rs, seccomp/install.rs) are their own boundary, each a small module
//! built around one kernel interface; the Landlock syscalls stay in landlock.rs and
//! capget/capset/PR_CAPBSET_* in capabilities.rs for the same reason. What else is unsafe
//! outside this file is not a syscall: fork/clone (single-threaded), taking ownership of an
//! fd received with SCM_RIGHTS, borrowing an fd number given by the service manager.

use std::ffi::CString;
use std::io::{Error, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

fn cstr(p: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes()).map_err(|_| Error::from_raw_os_error(libc::EINVAL))
}

fn check(r: libc::c_long) -> Result<libc::c_long> {
    if r < 0 {
        Err(Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// clone(2) with fork semantics (no new stack: the child runs on a copy-on-write copy of ours)
/// and namespace flags. Returns 0 in the child and the child's pid in the parent.
///
/// # Safety
/// The caller must be single-threaded (true for this binary: it never spawns threads), as
/// with fork(2): the child may only rely on state that the copy preserves.
pub unsafe fn clone_fork(flags: libc::c_ulong) -> Result<i32> {
    // SAFETY: raw clone with a null stack behaves like fork(2); the caller upholds the
    // single-thread requirement documented above. x86_64 argument order: flags, stack,
    // parent_tid, child_tid, tls.
    let r = unsafe { libc::syscall(libc::SYS_clone, flags | libc::SIGCHLD as libc::c_ulong, 0usize, 0usize, 0usize, 0usize) };
    check(r).map(|r| r as i32)
}

/// clone3(2) with fork semantics, like [`clone_fork`], born in the cgroup2 directory
/// `cgroup` (CLONE_INTO_CGROUP): the child never exists outside it, and no migration takes
/// the cgroup core's global threadgroup lock, whose writer waits for an RCU grace period
/// (milliseconds on an idle machine: the single largest wait of a start).
///
/// # Safety
/// As for [`clone_fork`]: the caller must be single-threaded.
pub unsafe fn clone3_into_cgroup(flags: libc::c_ulong, cgroup: RawFd) -> Result<i32> {
    // The kernel's struct clone_args (include/uapi/linux/sched.h), all fields u64, sized by
    // the last field used: CLONE_ARGS_SIZE_VER2 (88 bytes).
    #[repr(C)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    let args = CloneArgs {
        flags: flags | CLONE_INTO_CGROUP,
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: libc::SIGCHLD as u64,
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: cgroup as u64,
    };
    // SAFETY: with no stack given the child runs on a copy-on-write copy of ours, as after
    // fork(2); `args` outlives the call and the kernel reads exactly `size` bytes of it. The
    // caller upholds the single-thread requirement.
    let r = unsafe { libc::syscall(libc::SYS_clone3, &args as *const CloneArgs, std::mem::size_of::<CloneArgs>()) };
    check(r).map(|r| r as i32)
}

/// openat2 with RESOLVE_IN_ROOT: `path` is resolved as if `root` were "/", so `..` and
/// absolute symlinks cannot leave it; magic links (/proc/self/fd/...) are refused.
pub fn open_in_root(root: RawFd, path: &Path, flags: i32) -> Result<OwnedFd> {
    openat2(root, path, flags, libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS)
}

/// openat2(2) relative to `dir` (or AT_FDCWD) with the given RESOLVE_* flags; always
/// close-on-exec.
pub fn openat2(dir: RawFd, path: &Path, flags: i32, resolve: u64) -> Result<OwnedFd> {
    let c = cstr(path)?;
    let mut how: libc::open_how = unsafe_zeroed_open_how();
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.resolve = resolve;
    // SAFETY: `c` and `how` live across the call; the kernel reads `size` bytes of `how`.
    let r = unsafe { libc::syscall(libc::SYS_openat2, dir, c.as_ptr(), &how as *const libc::open_how, std::mem::size_of::<libc::open_how>()) };
    // SAFETY: on success the kernel returned a new fd that nobody else owns.
    check(r).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

fn unsafe_zeroed_open_how() -> libc::open_how {
    // SAFETY: open_how is a plain C struct of integers; all-zero is its documented default.
    unsafe { std::mem::zeroed() }
}

/// open_tree(2): a detached copy of the mount at `path` (OPEN_TREE_CLONE), recursive if asked.
pub fn open_tree(dirfd: RawFd, path: &Path, recursive: bool, empty_path: bool) -> Result<OwnedFd> {
    let c = cstr(path)?;
    let mut flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC;
    if recursive {
        flags |= libc::AT_RECURSIVE as u32;
    }
    if empty_path {
        flags |= libc::AT_EMPTY_PATH as u32;
    }
    // SAFETY: `c` outlives the call; flags are plain integers.
    let r = unsafe { libc::syscall(libc::SYS_open_tree, dirfd, c.as_ptr(), flags) };
    // SAFETY: a fresh fd on success.
    check(r).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// mount_setattr(2) on the mount referred to by `fd` (AT_EMPTY_PATH).
pub fn mount_setattr(fd: RawFd, recursive: bool, set: u64, clr: u64, propagation: u64) -> Result<()> {
    let mut attr: libc::mount_attr = libc::mount_attr { attr_set: set, attr_clr: clr, propagation, userns_fd: 0 };
    let mut flags = libc::AT_EMPTY_PATH as u32;
    if recursive {
        flags |= libc::AT_RECURSIVE as u32;
    }
    // SAFETY: `attr` lives across the call and its size is passed; "" is a valid C string.
    let r =
        unsafe { libc::syscall(libc::SYS_mount_setattr, fd, c"".as_ptr(), flags, &mut attr as *mut libc::mount_attr, std::mem::size_of::<libc::mount_attr>()) };
    check(r).map(|_| ())
}

/// move_mount(2) of the detached mount `from` onto the directory/file `to` (both fds).
pub fn move_mount(from: RawFd, to: RawFd) -> Result<()> {
    let flags = libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_EMPTY_PATH;
    // SAFETY: plain fds and empty C strings.
    let r = unsafe { libc::syscall(libc::SYS_move_mount, from, c"".as_ptr(), to, c"".as_ptr(), flags) };
    check(r).map(|_| ())
}

/// pidfd_open(2).
pub fn pidfd_open(pid: i32) -> Result<OwnedFd> {
    // SAFETY: plain integers.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a fresh fd on success.
    check(r).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Marks every fd >= `first` close-on-exec (close_range with CLOSE_RANGE_CLOEXEC).
pub fn cloexec_from(first: u32) -> Result<()> {
    // SAFETY: plain integers; only fd flags change.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    check(r).map(|_| ())
}

/// The magic-link path that names an open fd, for syscalls that only take paths (mount(2)).
/// The kernel follows it to the exact file the fd refers to, not to whatever the path says now.
pub fn fd_path(fd: &impl AsRawFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// Waits up to `timeout_ms` for the process behind `pidfd` to exit. Ok(true) if it did.
pub fn wait_pidfd(pidfd: &OwnedFd, timeout_ms: i32) -> Result<bool> {
    let mut pfd = libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    loop {
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if r < 0 {
            let e = Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        return Ok(r > 0);
    }
}

/// kill(2) with a raw signal number: nix's Signal has no real-time signals, which `kill`
/// and the signal forwarder must pass on.
pub fn kill(pid: i32, sig: i32) -> Result<()> {
    // SAFETY: plain integers; a bad pid or signal is an errno, not undefined behaviour.
    let r = unsafe { libc::kill(pid, sig) };
    check(r as libc::c_long).map(|_| ())
}

/// Closes a raw fd that an object in this (forked) process's memory owns but that will never
/// be dropped here: the child of a clone closes its copies of the parent's fds this way.
pub fn close_inherited(fd: RawFd) {
    // SAFETY: the owning object is never used or dropped again in this process (the caller
    // runs a body that never returns), so nothing closes or reuses the fd after us.
    unsafe { libc::close(fd) };
}

/// _exit(2): ends a forked copy of the runtime (the init, exec's child) without running the
/// atexit handlers or flushing the stdio buffers that belong to the runtime.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes a plain integer and never returns.
    unsafe { libc::_exit(code) }
}

/// setdomainname(2); nix wraps only sethostname. A name with a NUL byte is EINVAL.
pub fn setdomainname(name: &str) -> Result<()> {
    let c = CString::new(name).map_err(|_| Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `c` outlives the call and the length is that of its bytes without the NUL.
    let r = unsafe { libc::setdomainname(c.as_ptr(), name.len()) };
    check(r as libc::c_long).map(|_| ())
}

/// How a child of ours ended, without reaping it (waitid with WNOWAIT|WNOHANG): Some((si_code,
/// si_status)) once it has ended, None while it runs. Raw values, unlike nix's WaitStatus,
/// so that a real-time signal is reported too.
pub fn peek_exit(pid: i32) -> Result<Option<(i32, i32)>> {
    // SAFETY: siginfo_t is plain data; all-zero is a valid value (and si_pid 0 = not ended).
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid on a pid with a valid out-pointer; WNOWAIT leaves the child unreaped.
    let r = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOWAIT | libc::WNOHANG) };
    check(r as libc::c_long)?;
    // SAFETY: waitid filled info, or left it zeroed when the child has not ended.
    let (got, status) = unsafe { (info.si_pid(), info.si_status()) };
    Ok((got == pid).then_some((info.si_code, status)))
}

/// flock(2); nix's free function is deprecated for an owning wrapper that does not fit a
/// lock held by a long-lived File. Retries on EINTR.
pub fn flock(fd: &impl AsRawFd, op: i32) -> Result<()> {
    loop {
        // SAFETY: flock on an fd the caller holds open; no memory is passed.
        let r = unsafe { libc::flock(fd.as_raw_fd(), op) };
        match check(r as libc::c_long) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other.map(|_| ()),
        }
    }
}

/// Closes every fd from `first` on (close_range without flags).
pub fn close_from(first: u32) -> Result<()> {
    // SAFETY: plain integers; the caller uses none of those fds again.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0u32) };
    check(r).map(|_| ())
}

/// KEYCTL_JOIN_SESSION_KEYRING: joins a new session keyring called `name`.
pub fn join_session_keyring(name: &std::ffi::CStr) -> Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: an integer operation and a NUL-terminated string that outlives the call; the
    // kernel only reads it.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    check(r).map(|_| ())
}

/// ioprio_set(IOPRIO_WHO_PROCESS, 0 = this process, IOPRIO_PRIO_VALUE(class, level)).
pub fn ioprio_set_self(class: i64, level: i64) -> Result<()> {
    // SAFETY: plain integers.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_set, 1, 0, (class << 13) | level) };
    check(r).map(|_| ())
}

/// struct sched_attr (include/uapi/linux/sched/types.h), without the util-clamp fields.
#[repr(C)]
pub struct SchedAttr {
    pub size: u32,
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

/// sched_setattr(2) for this thread; `size` is filled in here.
pub fn sched_setattr_self(mut attr: SchedAttr) -> Result<()> {
    attr.size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: a valid sched_attr of the size it declares; pid 0 = this thread.
    let r = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
    check(r).map(|_| ())
}

/// execveat(fd, "", argv, envp, AT_EMPTY_PATH): runs the file behind `fd`. Returns only on
/// failure, with the errno.
pub fn execveat_fd(fd: &impl AsRawFd, argv: &[CString], env: &[CString]) -> Error {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = env.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: NUL-terminated arrays of pointers to C strings that outlive the call; an empty
    // path with AT_EMPTY_PATH names the fd itself.
    unsafe { libc::syscall(libc::SYS_execveat, fd.as_raw_fd(), c"".as_ptr(), a.as_ptr(), e.as_ptr(), libc::AT_EMPTY_PATH) };
    Error::last_os_error()
}

/// The terminal size of `fd` (TIOCGWINSZ); an error if it is not a terminal.
pub fn window_size(fd: &impl AsRawFd) -> Result<libc::winsize> {
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one winsize into the struct we pass.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    check(r as libc::c_long).map(|_| ws)
}

/// TIOCSWINSZ on `fd`.
pub fn set_window_size(fd: &impl AsRawFd, ws: &libc::winsize) -> Result<()> {
    // SAFETY: TIOCSWINSZ reads one winsize from the pointer, which is valid.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, ws as *const libc::winsize) };
    check(r as libc::c_long).map(|_| ())
}

/// TIOCSCTTY: `fd`'s terminal becomes our session's controlling terminal (never stolen).
pub fn set_controlling_terminal(fd: &impl AsRawFd) -> Result<()> {
    // SAFETY: an integer request and argument 0 (do not steal).
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    check(r as libc::c_long).map(|_| ())
}

/// What the extended-attribute calls act on: an open fd (f*xattr), or a path whose last
/// component is not followed (l*xattr; for symlinks and device nodes, which cannot be opened
/// for it: an O_PATH fd is refused by f*xattr).
#[derive(Clone, Copy)]
pub enum XattrOf<'a> {
    Fd(std::os::fd::BorrowedFd<'a>),
    Path(&'a std::ffi::CStr),
}

/// Calls `f(buf, len)` (a listxattr or getxattr) with a buffer as large as the value, asked
/// first with size 0; grows it again if the value grew in between (ERANGE).
fn xattr_read(f: impl Fn(*mut libc::c_char, usize) -> libc::ssize_t) -> Result<Vec<u8>> {
    loop {
        let want = check(f(std::ptr::null_mut(), 0) as libc::c_long)? as usize;
        if want == 0 {
            return Ok(vec![]);
        }
        let mut buf = vec![0u8; want];
        match check(f(buf.as_mut_ptr().cast(), buf.len()) as libc::c_long) {
            Ok(n) => {
                buf.truncate(n as usize);
                return Ok(buf);
            }
            Err(e) if e.raw_os_error() == Some(libc::ERANGE) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The names of the extended attributes of `of`, NUL-separated (flistxattr/llistxattr).
pub fn xattr_list(of: XattrOf) -> Result<Vec<u8>> {
    match of {
        // SAFETY: a valid fd; the buffer is writable for `n` bytes (null with n = 0).
        XattrOf::Fd(fd) => xattr_read(|b, n| unsafe { libc::flistxattr(fd.as_raw_fd(), b, n) }),
        // SAFETY: a C string; as above.
        XattrOf::Path(p) => xattr_read(|b, n| unsafe { libc::llistxattr(p.as_ptr(), b, n) }),
    }
}

/// The value of extended attribute `name` of `of` (fgetxattr/lgetxattr).
pub fn xattr_get(of: XattrOf, name: &std::ffi::CStr) -> Result<Vec<u8>> {
    match of {
        // SAFETY: a valid fd and C string; the buffer is writable for `n` bytes.
        XattrOf::Fd(fd) => xattr_read(|b, n| unsafe { libc::fgetxattr(fd.as_raw_fd(), name.as_ptr(), b.cast(), n) }),
        // SAFETY: C strings; as above.
        XattrOf::Path(p) => xattr_read(|b, n| unsafe { libc::lgetxattr(p.as_ptr(), name.as_ptr(), b.cast(), n) }),
    }
}

/// Sets extended attribute `name` of `of` to `value` (fsetxattr/lsetxattr, created or replaced).
pub fn xattr_set(of: XattrOf, name: &std::ffi::CStr, value: &[u8]) -> Result<()> {
    let r = match of {
        // SAFETY: a valid fd and C string; the value is readable for its length.
        XattrOf::Fd(fd) => unsafe { libc::fsetxattr(fd.as_raw_fd(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0) },
        // SAFETY: C strings; as above.
        XattrOf::Path(p) => unsafe { libc::lsetxattr(p.as_ptr(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0) },
    };
    check(r as libc::c_long).map(|_| ())
}
