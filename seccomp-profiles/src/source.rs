//! The source of the shipped profiles: every syscall the kernel has, sorted into groups,
//! with the reason for each group's verdict. `gen-profiles` turns this into
//! `default.json`, `strict.json` and `udp.json` and into the group tables of README.md.
//!
//! Rules for editing:
//! * A group is either *unconditional* (`args` empty: the listed syscalls are allowed in
//!   `allow_in` and denied with `deny_errno` in the other profiles), or *conditional*
//!   (`args` non-empty: the syscalls are allowed in `allow_in` only when one of the
//!   argument sets matches; everywhere else the default action denies them, so nothing
//!   is emitted). A conditional group allowed nowhere whose `deny_errno` is not EPERM
//!   is emitted as an ERRNO rule with those arguments: it only picks the errno for calls
//!   that no allow rule matches (socket-mptcp), so a call that dodges it still gets the
//!   default EPERM.
//! * Argument conditions must *allow* the safe cases, never deny the unsafe ones: the
//!   kernel truncates `int` arguments to 32 bits while seccomp compares all 64, so a
//!   deny rule on an `int` could be dodged by setting upper bits, whereas an allow rule
//!   then simply does not match and the default action (EPERM) applies.
//! * Every syscall name appears in exactly one unconditional group, or only in
//!   conditional groups (the tests check this, and the runtime's tests check that every
//!   syscall the runtime knows is classified).

/// The profiles generated from the groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Profile {
    /// Services on the host network: TCP and Unix sockets, no UDP.
    Default,
    /// `Default` minus privilege changes, chroot, netlink, memfd and 32-bit personality.
    Strict,
    /// `Default` plus UDP sockets.
    Udp,
}

impl Profile {
    pub const ALL: [Profile; 3] = [Profile::Default, Profile::Strict, Profile::Udp];

    /// The file name stem (`default` → `default.json`).
    pub fn name(self) -> &'static str {
        match self {
            Profile::Default => "default",
            Profile::Strict => "strict",
            Profile::Udp => "udp",
        }
    }
}

use Profile::{Default, Strict, Udp};

const EVERYWHERE: &[Profile] = &[Default, Strict, Udp];
const NOT_STRICT: &[Profile] = &[Default, Udp];
const UDP_ONLY: &[Profile] = &[Udp];
const NOWHERE: &[Profile] = &[];

/// `SCMP_CMP_*` operators used by the groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    /// `(arg & mask) == datum`.
    MaskedEq {
        mask: u64,
    },
}

/// One argument condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arg {
    pub index: u32,
    pub op: Op,
    /// The compared value (the datum for `MaskedEq`).
    pub value: u64,
}

const fn eq(index: u32, value: u64) -> Arg {
    Arg { index, op: Op::Eq, value }
}

const fn masked(index: u32, mask: u64, value: u64) -> Arg {
    Arg { index, op: Op::MaskedEq { mask }, value }
}

/// A set of syscalls with one verdict per profile and the reason for it.
#[derive(Debug)]
pub struct Group {
    /// Short identifier, also the README heading.
    pub id: &'static str,
    /// Why the group is allowed / denied (goes into README.md).
    pub reason: &'static str,
    pub syscalls: &'static [&'static str],
    /// Alternatives (ORed); the conditions inside one alternative are ANDed. Empty for
    /// an unconditional group.
    pub args: &'static [&'static [Arg]],
    /// Profiles that allow the group.
    pub allow_in: &'static [Profile],
    /// The errno returned where the group is denied (unconditional groups only).
    pub deny_errno: u32,
}

pub const EPERM: u32 = 1;
pub const ENOSYS: u32 = 38;

// Constants used in argument conditions (x86_64 and aarch64 agree on all of them).
const AF_UNIX: u64 = 1;
const AF_INET: u64 = 2;
const AF_INET6: u64 = 10;
const AF_NETLINK: u64 = 16;
const SOCK_TYPE_MASK: u64 = 0xf; // the type without SOCK_NONBLOCK / SOCK_CLOEXEC
const SOCK_STREAM: u64 = 1;
const SOCK_DGRAM: u64 = 2;
const IPPROTO_DEFAULT: u64 = 0;
const IPPROTO_TCP: u64 = 6;
const IPPROTO_UDP: u64 = 17;
const IPPROTO_MPTCP: u64 = 262;
const NETLINK_ROUTE: u64 = 0;
/// CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET.
const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;
/// The same plus CLONE_NEWTIME (0x80), which only unshare/clone3 accept (in clone's
/// flags the low byte is the exit signal).
const UNSHARE_NAMESPACE_FLAGS: u64 = 0x7E02_0080;
const PER_LINUX: u64 = 0;
const PER_LINUX32: u64 = 0x0008;
const PERSONALITY_QUERY: u64 = 0xffff_ffff;
const S_IFMT: u64 = 0o170000;
const S_IFREG: u64 = 0o100000;
const S_IFIFO: u64 = 0o010000;
const S_IFSOCK: u64 = 0o140000;
/// S_ISUID | S_ISGID: the mode bits that make a file run with its owner's or group's ids.
const SETID_BITS: u64 = 0o6000;
/// O_CREAT | __O_TMPFILE (the same values on x86_64 and aarch64): the open flags under
/// which the kernel uses the mode argument at all.
const OPEN_CREATES: u64 = 0o100 | 0o20000000;
/// MSG_FASTOPEN: sendto/sendmsg connect a TCP socket and send in one call.
const MSG_FASTOPEN: u64 = 0x2000_0000;
pub const EPROTONOSUPPORT: u32 = 93;

const TCP: &[&[Arg]] = &[
    &[eq(0, AF_INET), masked(1, SOCK_TYPE_MASK, SOCK_STREAM), eq(2, IPPROTO_DEFAULT)],
    &[eq(0, AF_INET), masked(1, SOCK_TYPE_MASK, SOCK_STREAM), eq(2, IPPROTO_TCP)],
    &[eq(0, AF_INET6), masked(1, SOCK_TYPE_MASK, SOCK_STREAM), eq(2, IPPROTO_DEFAULT)],
    &[eq(0, AF_INET6), masked(1, SOCK_TYPE_MASK, SOCK_STREAM), eq(2, IPPROTO_TCP)],
];

const UDP: &[&[Arg]] = &[
    &[eq(0, AF_INET), masked(1, SOCK_TYPE_MASK, SOCK_DGRAM), eq(2, IPPROTO_DEFAULT)],
    &[eq(0, AF_INET), masked(1, SOCK_TYPE_MASK, SOCK_DGRAM), eq(2, IPPROTO_UDP)],
    &[eq(0, AF_INET6), masked(1, SOCK_TYPE_MASK, SOCK_DGRAM), eq(2, IPPROTO_DEFAULT)],
    &[eq(0, AF_INET6), masked(1, SOCK_TYPE_MASK, SOCK_DGRAM), eq(2, IPPROTO_UDP)],
];

/// mknod/mknodat are allowed for these file types only (`mode & S_IFMT`; 0 means a
/// regular file), and only without the set-id bits (the mask covers both, so the datum
/// requires them clear); `$index` is the position of the mode argument.
macro_rules! non_device_node {
    ($index:expr) => {
        &[
            &[masked($index, S_IFMT | SETID_BITS, 0)],
            &[masked($index, S_IFMT | SETID_BITS, S_IFREG)],
            &[masked($index, S_IFMT | SETID_BITS, S_IFIFO)],
            &[masked($index, S_IFMT | SETID_BITS, S_IFSOCK)],
        ]
    };
}
const MKNOD_ARGS: &[&[Arg]] = non_device_node!(1);
const MKNODAT_ARGS: &[&[Arg]] = non_device_node!(2);

/// open/openat: allowed when the call cannot create a file (no O_CREAT/O_TMPFILE, the
/// kernel then ignores the mode) or the mode has no set-id bit. `$flags`/`$mode` are the
/// argument positions.
macro_rules! open_without_setid {
    ($flags:expr, $mode:expr) => {
        &[&[masked($flags, OPEN_CREATES, 0)], &[masked($mode, SETID_BITS, 0)]]
    };
}

/// All groups, in the order they appear in the profiles and the README.
pub const GROUPS: &[Group] = &[
    // ------------------------------------------------------------------ allowed
    Group {
        id: "process-lifecycle",
        reason: "Starting programs, waiting for children, process groups and sessions, \
                 thread setup done by libc (set_tid_address, robust futex lists, rseq, \
                 arch_prctl), prctl (dumpable, pdeathsig, names), and signalling processes \
                 inside the container's PID namespace, also through pidfds. uretprobe is \
                 only reachable from the kernel's uprobe trampoline and must not crash \
                 processes traced from the host.",
        syscalls: &[
            "arch_prctl",
            "execve",
            "execveat",
            "exit",
            "exit_group",
            "fork",
            "get_robust_list",
            "get_thread_area",
            "getpgid",
            "getpgrp",
            "getpid",
            "getppid",
            "getsid",
            "gettid",
            "kill",
            "pause",
            "pidfd_open",
            "pidfd_send_signal",
            "prctl",
            "restart_syscall",
            "rseq",
            "set_robust_list",
            "set_thread_area",
            "set_tid_address",
            "setpgid",
            "setsid",
            "tgkill",
            "tkill",
            "uretprobe",
            "vfork",
            "wait4",
            "waitid",
        ],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "clone-without-namespaces",
        reason: "fork/pthread_create go through clone. Allowed only when no CLONE_NEW* \
                 namespace flag is set (a masked compare on the flags), so the container \
                 cannot create user namespaces (the usual first step of kernel exploits) \
                 or any other namespace.",
        syscalls: &["clone"],
        args: &[&[masked(0, CLONE_NAMESPACE_FLAGS, 0)]],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "unshare-without-namespaces",
        reason: "unshare(CLONE_FILES/CLONE_FS/CLONE_SYSVSEM) is harmless; creating \
                 namespaces (any CLONE_NEW* flag, including CLONE_NEWTIME and \
                 CLONE_NEWUSER) is refused for the same reason as with clone.",
        syscalls: &["unshare"],
        args: &[&[masked(0, UNSHARE_NAMESPACE_FLAGS, 0)]],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "self-sandboxing",
        reason: "Programs may restrict themselves further with seccomp and Landlock; both \
                 can only take rights away.",
        syscalls: &["landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "seccomp"],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "scheduling",
        reason: "CPU affinity, nice values, scheduling policies and I/O priorities of the \
                 container's own processes. Raising priority or real-time policies still \
                 needs CAP_SYS_NICE, and affinity is bounded by the cgroup's cpuset.",
        syscalls: &[
            "getcpu",
            "getpriority",
            "ioprio_get",
            "ioprio_set",
            "sched_get_priority_max",
            "sched_get_priority_min",
            "sched_getaffinity",
            "sched_getattr",
            "sched_getparam",
            "sched_getscheduler",
            "sched_rr_get_interval",
            "sched_setaffinity",
            "sched_setattr",
            "sched_setparam",
            "sched_setscheduler",
            "sched_yield",
            "setpriority",
        ],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "signals",
        reason: "Signal handlers, masks, queued signals and signalfd.",
        syscalls: &[
            "rt_sigaction",
            "rt_sigpending",
            "rt_sigprocmask",
            "rt_sigqueueinfo",
            "rt_sigreturn",
            "rt_sigsuspend",
            "rt_sigtimedwait",
            "rt_tgsigqueueinfo",
            "sigaltstack",
            "signalfd",
            "signalfd4",
        ],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "timers-and-clocks",
        reason: "Reading clocks, sleeping, interval timers, POSIX timers and timerfd. \
                 Setting the clock is in system-clock (denied).",
        syscalls: &[
            "alarm",
            "clock_getres",
            "clock_gettime",
            "clock_nanosleep",
            "getitimer",
            "gettimeofday",
            "nanosleep",
            "setitimer",
            "time",
            "timer_create",
            "timer_delete",
            "timer_getoverrun",
            "timer_gettime",
            "timer_settime",
            "timerfd_create",
            "timerfd_gettime",
            "timerfd_settime",
            "times",
        ],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "memory",
        reason: "Mapping and protecting memory, locking it (databases do: mlockall, \
                 MariaDB's --memlock; bounded by RLIMIT_MEMLOCK), protection keys, \
                 memory sealing and shadow stacks used by newer glibc, and NUMA policy \
                 for the process's own memory.",
        syscalls: &[
            "brk",
            "get_mempolicy",
            "madvise",
            "map_shadow_stack",
            "mbind",
            "membarrier",
            "mincore",
            "mlock",
            "mlock2",
            "mlockall",
            "mmap",
            "mprotect",
            "mremap",
            "mseal",
            "msync",
            "munlock",
            "munlockall",
            "munmap",
            "pkey_alloc",
            "pkey_free",
            "pkey_mprotect",
            "remap_file_pages",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "memfd",
        reason: "Anonymous memory files (used by GLib, systemd tools, some JITs). Denied in \
                 strict, where memfd_create + execveat would allow running programs that \
                 never touch the filesystem.",
        syscalls: &["memfd_create"],
        args: &[],
        allow_in: NOT_STRICT,
        deny_errno: EPERM,
    },
    Group {
        id: "file-io",
        reason: "Reading, writing and syncing files, zero-copy transfers (sendfile for web \
                 servers, splice/tee/vmsplice/copy_file_range), preallocation and read-ahead \
                 hints (databases), syncfs (PostgreSQL's recovery_init_sync_method).",
        syscalls: &[
            "cachestat",
            "copy_file_range",
            "fadvise64",
            "fallocate",
            "fdatasync",
            "fsync",
            "ftruncate",
            "lseek",
            "pread64",
            "preadv",
            "preadv2",
            "pwrite64",
            "pwritev",
            "pwritev2",
            "read",
            "readahead",
            "readv",
            "sendfile",
            "splice",
            "sync",
            "sync_file_range",
            "syncfs",
            "tee",
            "truncate",
            "vmsplice",
            "write",
            "writev",
        ],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "file-descriptors",
        reason: "Duplicating and closing descriptors, locks, pipes and eventfd. \
                 ioctl is allowed unconditionally: terminals, FIONBIO/FIONREAD and device \
                 ioctls are checked by the kernel against the container's devices (TIOCSTI \
                 injection is disabled by the kernel's dev.tty.legacy_tiocsti=0 since 6.2).",
        syscalls: &["close", "close_range", "dup", "dup2", "dup3", "eventfd", "eventfd2", "fcntl", "flock", "ioctl", "pipe", "pipe2"],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "open-without-setid",
        reason: "Opening files. A call that can create a file (O_CREAT or O_TMPFILE) must \
                 not ask for S_ISUID/S_ISGID in its mode: files the container creates in a \
                 read-write bind mount are host files, and a set-id file owned by the \
                 container's root is a set-id-root program for every host user (a nosuid \
                 bind only protects the container's view, not the host's). Without \
                 O_CREAT/O_TMPFILE the kernel ignores the mode, so any mode passes. \
                 Services never create set-id files at run time.",
        syscalls: &["open"],
        args: open_without_setid!(1, 2),
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "openat-without-setid",
        reason: "Same as open-without-setid for openat (flags are argument 2, the mode 3).",
        syscalls: &["openat"],
        args: open_without_setid!(2, 3),
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "creat-without-setid",
        reason: "creat always creates: its mode (argument 1) must not carry S_ISUID/S_ISGID.",
        syscalls: &["creat"],
        args: &[&[masked(1, SETID_BITS, 0)]],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "file-metadata",
        reason: "stat in all its forms, permission checks, ownership changes \
                 (privileged changes still need CAP_CHOWN/CAP_FOWNER; chown clears the \
                 set-id bits), timestamps, extended attributes and inode flags. Mode \
                 changes are in chmod-without-setid.",
        syscalls: &[
            "access",
            "chown",
            "faccessat",
            "faccessat2",
            "fchown",
            "fchownat",
            "fgetxattr",
            "file_getattr",
            "file_setattr",
            "flistxattr",
            "fremovexattr",
            "fsetxattr",
            "fstat",
            "fstatfs",
            "futimesat",
            "getxattr",
            "getxattrat",
            "lchown",
            "lgetxattr",
            "listxattr",
            "listxattrat",
            "llistxattr",
            "lremovexattr",
            "lsetxattr",
            "lstat",
            "newfstatat",
            "readlink",
            "readlinkat",
            "removexattr",
            "removexattrat",
            "setxattr",
            "setxattrat",
            "stat",
            "statfs",
            "statx",
            "umask",
            "utime",
            "utimensat",
            "utimes",
        ],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "chmod-without-setid",
        reason: "chmod and fchmod, only when the new mode (argument 1) has neither S_ISUID \
                 nor S_ISGID: a set-id file planted in a read-write bind is a set-id \
                 program on the host (see open-without-setid). Mode changes without those \
                 bits (chmod 0755, chmod g+w) work as before. The sticky bit is allowed.",
        syscalls: &["chmod", "fchmod"],
        args: &[&[masked(1, SETID_BITS, 0)]],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "fchmodat-without-setid",
        reason: "Same as chmod-without-setid for fchmodat and fchmodat2 (the mode is \
                 argument 2).",
        syscalls: &["fchmodat", "fchmodat2"],
        args: &[&[masked(2, SETID_BITS, 0)]],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "directories",
        reason: "Working directory, listing, creating, renaming and removing entries, hard \
                 and symbolic links.",
        syscalls: &[
            "chdir",
            "fchdir",
            "getcwd",
            "getdents",
            "getdents64",
            "link",
            "linkat",
            "mkdir",
            "mkdirat",
            "rename",
            "renameat",
            "renameat2",
            "rmdir",
            "symlink",
            "symlinkat",
            "unlink",
            "unlinkat",
        ],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "mknod-non-device",
        reason: "mknod for FIFOs, sockets and regular files (mkfifo uses it). Device nodes \
                 (S_IFCHR/S_IFBLK) are refused regardless of CAP_MKNOD: a container gets \
                 its devices from the runtime.",
        syscalls: &["mknod"],
        args: MKNOD_ARGS,
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "mknodat-non-device",
        reason: "Same as mknod-non-device for mknodat (the mode is argument 2).",
        syscalls: &["mknodat"],
        args: MKNODAT_ARGS,
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "polling",
        reason: "select/poll/epoll event loops (nginx, Apache's event MPM, PostgreSQL).",
        syscalls: &["epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait", "poll", "ppoll", "pselect6", "select"],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "futex",
        reason: "Thread synchronisation; every threaded program needs futex.",
        syscalls: &["futex", "futex_requeue", "futex_wait", "futex_waitv", "futex_wake"],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "file-watching",
        reason: "inotify, for programs that reload on configuration changes. fanotify is \
                 denied (see fanotify).",
        syscalls: &["inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch"],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "ipc",
        reason: "System V shared memory, semaphores and message queues (PostgreSQL, \
                 Apache's accept mutex, PHP's sysvsem) and POSIX message queues. They live \
                 in the container's IPC namespace.",
        syscalls: &[
            "mq_getsetattr",
            "mq_notify",
            "mq_open",
            "mq_timedreceive",
            "mq_timedsend",
            "mq_unlink",
            "msgctl",
            "msgget",
            "msgrcv",
            "msgsnd",
            "semctl",
            "semget",
            "semop",
            "semtimedop",
            "shmat",
            "shmctl",
            "shmdt",
            "shmget",
        ],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "linux-aio",
        reason: "Linux native AIO (MariaDB/InnoDB's innodb_use_native_aio, nginx's \
                 `aio on`). Its replacement io_uring is denied (see io-uring).",
        syscalls: &["io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup", "io_submit"],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "socket-operations",
        reason: "Everything done with a socket once it exists. What kind of socket may be \
                 created is decided by the socket-* groups below, so these need no \
                 arguments checks.",
        syscalls: &[
            "accept",
            "accept4",
            "bind",
            "connect",
            "getpeername",
            "getsockname",
            "getsockopt",
            "listen",
            "recvfrom",
            "recvmmsg",
            "recvmsg",
            "setsockopt",
            "shutdown",
        ],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "sendto-without-fastopen",
        reason: "sendto and sendmmsg, unless the flags (argument 3) carry MSG_FASTOPEN: a \
                 TCP Fast Open send connects the socket without going through connect(2), \
                 so connect-time checks (Landlock's connect rules) would never see the \
                 destination. Programs use connect + send instead (or the \
                 TCP_FASTOPEN_CONNECT socket option, which still calls connect).",
        syscalls: &["sendmmsg", "sendto"],
        args: &[&[masked(3, MSG_FASTOPEN, 0)]],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "sendmsg-without-fastopen",
        reason: "Same as sendto-without-fastopen for sendmsg (the flags are argument 2; the \
                 kernel ignores msg_flags inside the message header on send).",
        syscalls: &["sendmsg"],
        args: &[&[masked(2, MSG_FASTOPEN, 0)]],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "socket-unix",
        reason: "Unix domain sockets of any type: /dev/log, database sockets, FastCGI, \
                 nscd.",
        syscalls: &["socket"],
        args: &[&[eq(0, AF_UNIX)]],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "socketpair-unix",
        reason: "socketpair only exists for Unix sockets (nginx master/worker channels, \
                 Apache's mod_cgid).",
        syscalls: &["socketpair"],
        args: &[&[eq(0, AF_UNIX)]],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "socket-tcp",
        reason: "TCP over IPv4 and IPv6: the domain must be AF_INET/AF_INET6, the type \
                 masked with 0xf (which ignores SOCK_NONBLOCK and SOCK_CLOEXEC) must be \
                 SOCK_STREAM, and the protocol 0 or IPPROTO_TCP. MPTCP gets its own errno \
                 (see socket-mptcp); SCTP over SOCK_STREAM, raw sockets (SOCK_RAW), packet \
                 sockets (AF_PACKET) and every other family fall to the default action \
                 (EPERM).",
        syscalls: &["socket"],
        args: TCP,
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "socket-mptcp",
        reason: "Multipath TCP is refused with EPROTONOSUPPORT, what a kernel without MPTCP \
                 answers, so programs that try it first (Go listeners since Go 1.24, \
                 curl --mptcp) fall back to plain TCP. Landlock's TCP bind and \
                 connect rules do not cover MPTCP sockets, and MPTCP opens further subflows \
                 from inside the kernel, so an MPTCP socket would escape the network \
                 policy. This rule only chooses the errno: calls with \
                 stray upper bits in the protocol do not match it and get EPERM from the \
                 default action, since no rule allows them.",
        syscalls: &["socket"],
        args: &[&[eq(0, AF_INET), eq(2, IPPROTO_MPTCP)], &[eq(0, AF_INET6), eq(2, IPPROTO_MPTCP)]],
        allow_in: NOWHERE,
        deny_errno: EPROTONOSUPPORT,
    },
    Group {
        id: "socket-netlink-route",
        reason: "NETLINK_ROUTE only: glibc's getaddrinfo(AI_ADDRCONFIG), getifaddrs and \
                 if_nameindex read the interface list through it. Changing routes or \
                 addresses still needs CAP_NET_ADMIN. Other netlink families (audit, \
                 uevent, netfilter, ...) are refused. Strict drops it: those libc calls \
                 fall back to assuming IPv4 and IPv6 are both configured.",
        syscalls: &["socket"],
        args: &[&[eq(0, AF_NETLINK), eq(2, NETLINK_ROUTE)]],
        allow_in: NOT_STRICT,
        deny_errno: EPERM,
    },
    Group {
        id: "socket-udp",
        reason: "UDP over IPv4 and IPv6 (type SOCK_DGRAM after masking, protocol 0 or \
                 IPPROTO_UDP), only in udp.json. Without it DNS lookups over UDP fail, so \
                 a service that resolves names needs udp.json (or glibc's `options use-vc` \
                 in resolv.conf, or a resolver reachable over TCP). ICMP \"ping\" sockets \
                 (SOCK_DGRAM with IPPROTO_ICMP) stay denied.",
        syscalls: &["socket"],
        args: UDP,
        allow_in: UDP_ONLY,
        deny_errno: EPERM,
    },
    Group {
        id: "credentials-read",
        reason: "Reading user, group and capability sets; capset can only lower the \
                 process's own capabilities within its permitted set.",
        syscalls: &["capget", "capset", "getegid", "geteuid", "getgid", "getgroups", "getresgid", "getresuid", "getuid"],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "credentials-change",
        reason: "Servers that start as root and switch to an unprivileged user (nginx and \
                 Apache workers, PHP-FPM pools, su-exec/gosu in database images) need \
                 these; without CAP_SETUID/CAP_SETGID they fail anyway. Strict denies \
                 them: use it for services that start as their final user \
                 (process.user).",
        syscalls: &["setfsgid", "setfsuid", "setgid", "setgroups", "setregid", "setresgid", "setresuid", "setreuid", "setuid"],
        args: &[],
        allow_in: NOT_STRICT,
        deny_errno: EPERM,
    },
    Group {
        id: "chroot",
        reason: "Privilege-separated daemons chroot themselves (Postfix, vsftpd, PHP-FPM's \
                 `chroot`, Apache's ChrootDir); needs CAP_SYS_CHROOT. Denied in strict.",
        syscalls: &["chroot"],
        args: &[],
        allow_in: NOT_STRICT,
        deny_errno: EPERM,
    },
    Group {
        id: "resources-and-system-info",
        reason: "Resource limits (raising hard limits needs CAP_SYS_RESOURCE), usage, \
                 uname, sysinfo and getrandom.",
        syscalls: &["getrandom", "getrlimit", "getrusage", "prlimit64", "setrlimit", "sysinfo", "uname"],
        args: &[],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "personality-default",
        reason: "Only personality(PER_LINUX) and the query personality(0xffffffff). Flags \
                 such as ADDR_NO_RANDOMIZE (turns off ASLR for programs started \
                 afterwards), READ_IMPLIES_EXEC and UNAME26 are refused.",
        syscalls: &["personality"],
        args: &[&[eq(0, PER_LINUX)], &[eq(0, PERSONALITY_QUERY)]],
        allow_in: EVERYWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "personality-linux32",
        reason: "personality(PER_LINUX32), used by `linux32`/`setarch` to build 32-bit \
                 software; it only changes what uname reports. Not in strict.",
        syscalls: &["personality"],
        args: &[&[eq(0, PER_LINUX32)]],
        allow_in: NOT_STRICT,
        deny_errno: EPERM,
    },
    // ------------------------------------------------------------------ denied
    Group {
        id: "clone3",
        reason: "clone3 passes its flags in memory, where seccomp cannot check them for \
                 CLONE_NEW*. It returns ENOSYS so that glibc (pthread_create, posix_spawn) \
                 falls back to clone, whose flags are checked.",
        syscalls: &["clone3"],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: ENOSYS,
    },
    Group {
        id: "openat2",
        reason: "openat2 passes its flags and mode in memory (struct open_how), where \
                 seccomp cannot check them for the set-id bits (see open-without-setid). \
                 It returns ENOSYS, as on kernels before 5.6, so that callers \
                 (path-resolution libraries such as libpathrs, systemd's chase) fall back \
                 to openat, whose mode is checked.",
        syscalls: &["openat2"],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: ENOSYS,
    },
    Group {
        id: "namespaces",
        reason: "Joining or listing namespaces. Creating them is refused through the \
                 clone/unshare argument checks above.",
        syscalls: &["listns", "setns"],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "mount",
        reason: "Mounting, unmounting, pivot_root and the new mount API, also the \
                 statmount/listmount views of the mount table. The runtime builds the \
                 container's mounts; changing them from inside could undo masked and \
                 read-only paths.",
        syscalls: &[
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "listmount",
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "open_tree_attr",
            "pivot_root",
            "statmount",
            "umount2",
        ],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "keyring",
        reason: "The kernel keyring is not namespaced: keys could leak between containers \
                 of the same user, and keyctl has a long CVE history.",
        syscalls: &["add_key", "keyctl", "request_key"],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "kernel-modules",
        reason: "Loading or unloading kernel code.",
        syscalls: &["create_module", "delete_module", "finit_module", "get_kernel_syms", "init_module", "query_module"],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "kexec-and-reboot",
        reason: "Replacing the running kernel or rebooting.",
        syscalls: &["kexec_file_load", "kexec_load", "reboot"],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "other-processes-memory",
        reason: "ptrace, reading/writing another process's memory, comparing or stealing \
                 its file descriptors, and acting on its memory. Debuggers, strace and \
                 PHP-FPM's slowlog do not work under these profiles.",
        syscalls: &["kcmp", "pidfd_getfd", "process_madvise", "process_mrelease", "process_vm_readv", "process_vm_writev", "ptrace"],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "bpf-and-perf",
        reason: "eBPF programs and performance counters expose kernel internals and are \
                 frequent exploit targets.",
        syscalls: &["bpf", "lookup_dcookie", "perf_event_open"],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "userfaultfd",
        reason: "Lets a process stall the kernel at chosen points while it accesses user \
                 memory, a standard tool for winning kernel races.",
        syscalls: &["userfaultfd"],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "io-uring",
        reason: "io_uring has been the source of many kernel exploits and bypasses \
                 seccomp for the operations it performs. It returns ENOSYS so that \
                 programs (MariaDB, liburing users) fall back to Linux AIO or threads as \
                 on a kernel without io_uring.",
        syscalls: &["io_uring_enter", "io_uring_register", "io_uring_setup"],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: ENOSYS,
    },
    Group {
        id: "file-handles",
        reason: "open_by_handle_at can open any file of a mounted filesystem by inode, \
                 escaping the container's root (the \"shocker\" escape); name_to_handle_at \
                 is its other half.",
        syscalls: &["name_to_handle_at", "open_by_handle_at"],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "fanotify",
        reason: "Filesystem-wide event monitoring and permission decisions; not for \
                 services.",
        syscalls: &["fanotify_init", "fanotify_mark"],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "system-clock",
        reason: "The clock is shared with the host.",
        syscalls: &["adjtimex", "clock_adjtime", "clock_settime", "settimeofday"],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "host-administration",
        reason: "Host-wide administration: swap, process accounting, quotas, the kernel \
                 log, vhangup, and the host/domain name (the runtime sets the hostname).",
        syscalls: &["acct", "nfsservctl", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "swapoff", "swapon", "syslog", "vhangup"],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "legacy-and-hardware",
        reason: "Direct I/O-port access, LDT changes, and obsolete or never-implemented \
                 syscalls (uselib, ustat, sysfs, _sysctl, the old epoll calls, the \
                 reserved slots).",
        syscalls: &[
            "_sysctl",
            "afs_syscall",
            "epoll_ctl_old",
            "epoll_wait_old",
            "getpmsg",
            "ioperm",
            "iopl",
            "modify_ldt",
            "putpmsg",
            "security",
            "sysfs",
            "tuxcall",
            "uselib",
            "ustat",
            "vserver",
        ],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "numa-other-processes",
        reason: "Moving another process's pages between NUMA nodes.",
        syscalls: &["migrate_pages", "move_pages"],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "secret-memory",
        reason: "memfd_secret memory is invisible even to the kernel's own accesses; \
                 services do not need it.",
        syscalls: &["memfd_secret"],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: EPERM,
    },
    Group {
        id: "lsm-attributes",
        reason: "Reading and setting the process's LSM (SELinux/AppArmor/Smack) \
                 attributes through the new syscalls; the runtime sets them.",
        syscalls: &["lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr"],
        args: &[],
        allow_in: NOWHERE,
        deny_errno: EPERM,
    },
];
