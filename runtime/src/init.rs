//! The container's init: everything that happens inside the new namespaces, from clone to
//! execve, as one linear sequence. Each step's comment says why it sits where it does.
//!
//! This runs in a forked copy of the runtime (no re-exec): all parsing, validation and
//! compilation (mount plan, seccomp BPF, Landlock policy, capability sets) was done by the
//! runtime before clone, so the init only executes a plan. Failures are sent back over the
//! sync socket as `Message::Error` and become the runtime's error; the init then exits.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::capabilities::CapPlan;
use crate::landlock::LandlockPolicy;
use crate::protocol::{Channel, Message};
use crate::rootfs::{self, devices, plan::PlannedMount};
use crate::seccomp::CompiledSeccomp;

/// Everything the init needs, prepared by the runtime before clone.
pub struct InitArgs {
    pub id: String,
    pub spec: Spec,
    pub rootfs: PathBuf,
    pub mounts: Vec<PlannedMount>,
    pub devices: Vec<devices::Dev>,
    pub join_ns: Vec<(LinuxNamespaceType, OwnedFd)>,
    pub unshare_cgroup: bool,
    pub new_userns: bool,
    pub cgroup_path: PathBuf,
    pub caps: CapPlan,
    pub seccomp: Option<CompiledSeccomp>,
    pub landlock: Option<LandlockPolicy>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// Read end of the start barrier (the exec fifo, opened O_RDWR so open never blocks).
    pub fifo: OwnedFd,
    /// The runtime's own executable, to refuse exec'ing it inside the container.
    pub self_exe: (u64, u64),
    pub extra_env: Vec<String>,
    pub has_runtime_hooks: bool,
    pub bundle: PathBuf,
    /// Filled in by the init itself.
    pub host_pid: u32,
}

struct Fail(String);

impl<E: std::fmt::Display> From<E> for Fail {
    fn from(e: E) -> Self {
        Fail(e.to_string())
    }
}

macro_rules! step {
    ($what:expr, $e:expr) => {
        $e.map_err(|e| Fail(format!("{}: {}", $what, e)))
    };
}

/// Entry point in the child after clone. Never returns.
pub fn run(args: InitArgs, chan: Channel) -> ! {
    let code = match sequence(args, &chan) {
        Ok(never) => match never {},
        Err(Fail(msg)) => {
            // The runtime may have exited already (after create); then stderr is all we have.
            if chan.send(&Message::Error { msg: msg.clone() }).is_err() {
                eprintln!("runtime init: {msg}");
            }
            1
        }
    };
    // SAFETY: _exit skips atexit handlers and stdio flushing that belong to the runtime.
    unsafe { libc::_exit(code) }
}

enum Never {}

fn sequence(mut a: InitArgs, chan: &Channel) -> Result<Never, Fail> {
    // 1. Wait until the runtime has put us in the cgroup and written our id maps: before
    //    that, memory we touch is charged elsewhere and, in a user namespace, we have no uid.
    chan.expect("Proceed")?;
    // Our pid as the runtime sees it, for the hooks' state: /proc is still the host's here.
    a.host_pid = std::fs::read_link("/proc/self").ok().and_then(|p| p.to_str().and_then(|s| s.parse().ok())).unwrap_or(0);

    // In a new user namespace we start as an unmapped uid: become its root now that the
    // maps exist, or creating mount points would fail with EOVERFLOW.
    if a.new_userns {
        step!("become root of the user namespace", nix::unistd::setresgid(0.into(), 0.into(), 0.into()))?;
        step!("become root of the user namespace", nix::unistd::setresuid(0.into(), 0.into(), 0.into()))?;
    }

    // 2. Never dumpable while we still run the runtime's code: other processes in the
    //    container cannot ptrace us or open /proc/1/exe (the runtime binary) through us.
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };

    // 3. Join existing namespaces, user first: it decides which others we may join.
    for (t, fd) in &a.join_ns {
        step!(format!("join {t} namespace"), crate::namespaces::join(*t, fd))?;
    }
    a.join_ns.clear();
    // 4. A new cgroup namespace only now, after the runtime moved us into our cgroup, so its
    //    root is the container's cgroup.
    if a.unshare_cgroup {
        step!("unshare cgroup namespace", nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP))?;
    }
    // 5. Our own session: detaches from the runtime's terminal; required for a ctty later.
    let _ = nix::unistd::setsid();
    // 6. A fresh session keyring, so the container cannot read the host's keys.
    if !a.no_new_keyring {
        let name = CString::new(format!("_ses.{}", a.id)).unwrap_or_default();
        // SAFETY: keyctl with a valid C string; ENOSYS/EPERM are tolerated (no keyrings).
        unsafe { libc::syscall(libc::SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, name.as_ptr()) };
    }

    let linux = a.spec.linux().clone().unwrap_or_default();
    let process = a.spec.process().clone().expect("validated: process present");

    // 7. The rootfs, while host paths (bind sources, the host's /proc) are still reachable.
    let root = step!("prepare rootfs", rootfs::pivot::prepare(&a.rootfs, linux.rootfs_propagation().as_deref().is_some_and(|p| p.contains("private"))))?;
    step!("mounts", rootfs::mounts::mount_all(&root, &a.mounts, &a.cgroup_path, a.unshare_cgroup))?;
    let dev_is_bind = a.mounts.iter().any(|m| m.dest == Path::new("/dev") && matches!(m.kind, rootfs::plan::MountKind::Bind { .. }));
    if !dev_is_bind {
        step!("devices", devices::create_all(&root, &a.devices, a.new_userns))?;
        let pts = a.mounts.iter().any(|m| m.dest == Path::new("/dev/pts"));
        step!("/dev symlinks", devices::symlinks(&root, pts))?;
    }

    // 8. createRuntime (and prestart) hooks run in the runtime's namespaces but must see the
    //    container's mounts in place and precede pivot_root: ask the runtime now.
    if a.has_runtime_hooks {
        chan.send(&Message::RunCreateRuntimeHooks)?;
        chan.expect("HooksDone")?;
    }
    // 9. createContainer hooks: in the container's mount namespace, before pivot_root.
    if let Some(h) = a.spec.hooks().as_ref().and_then(|h| h.create_container().clone()) {
        let st = hook_state_json(&a, "creating");
        step!("createContainer hooks", crate::hooks::run_all("createContainer", &h, st.as_bytes()))?;
    }

    // 10. The runtime's own binary, identified before we leave the host's view, so that the
    //     final exec can refuse to run it inside the container (CVE-2019-5736 class).
    // 11. Enter the rootfs. From here on every path is a container path.
    step!("enter rootfs", rootfs::pivot::pivot(&root, a.no_pivot))?;
    drop(root);
    let root: OwnedFd = step!("open /", std::fs::File::open("/"))?.into();

    // 12. sysctls before readonlyPaths: /proc/sys is usually one of them.
    for (k, v) in linux.sysctl().iter().flatten() {
        let p = format!("/proc/sys/{}", k.replace('.', "/"));
        step!(format!("linux.sysctl {k}"), std::fs::write(&p, v))?;
    }
    // 13. Masks and read-only views, then propagation and the read-only root: the order
    //     runc uses, so a masked path is hidden before / stops being writable.
    step!("linux.maskedPaths", rootfs::paths::mask(&root, linux.masked_paths().as_deref().unwrap_or(&[])))?;
    step!("linux.readonlyPaths", rootfs::paths::make_readonly(&root, linux.readonly_paths().as_deref().unwrap_or(&[])))?;
    step!("linux.rootfsPropagation", rootfs::pivot::set_root_propagation(linux.rootfs_propagation().as_deref().unwrap_or("")))?;
    if a.spec.root().as_ref().and_then(|r| r.readonly()).unwrap_or(false) {
        step!("root.readonly", rootfs::pivot::make_root_readonly())?;
    }
    drop(root);

    // 14. Names, then the terminal (it needs the container's devpts, hence after pivot).
    if let Some(h) = a.spec.hostname().as_ref().filter(|h| !h.is_empty()) {
        step!("hostname", nix::unistd::sethostname(h))?;
    }
    if let Some(d) = a.spec.domainname().as_ref().filter(|d| !d.is_empty()) {
        let c = CString::new(d.as_bytes()).unwrap_or_default();
        // SAFETY: valid pointer and length.
        if unsafe { libc::setdomainname(c.as_ptr(), d.len()) } != 0 {
            return Err(Fail(format!("domainname: {}", std::io::Error::last_os_error())));
        }
    }
    if process.terminal().unwrap_or(false) {
        let (w, h) = process.console_size().map(|b| (b.width() as u16, b.height() as u16)).unwrap_or((0, 0));
        let master = step!("process.terminal", crate::tty::open_container_pty(w, h))?;
        chan.send_with_fd(&Message::Console, Some(master.as_raw_fd()))?;
    }

    // 15. Limits while still privileged: raising a hard rlimit or lowering oom_score_adj
    //     needs capabilities we are about to drop.
    for r in process.rlimits().iter().flatten() {
        let debug = format!("{:?}", r.typ());
        let name = format!("RLIMIT_{}", debug.to_ascii_uppercase().trim_start_matches("RLIMIT"));
        let res = rlimit_resource(&debug);
        let lim = libc::rlimit { rlim_cur: r.soft(), rlim_max: r.hard() };
        // SAFETY: a valid rlimit struct for a valid resource number.
        if unsafe { libc::setrlimit(res as _, &lim) } != 0 {
            return Err(Fail(format!(
                "process.rlimits {} {}:{}: {} (a hard limit above the runtime's own needs CAP_SYS_RESOURCE: lower it)",
                name, r.soft(), r.hard(), std::io::Error::last_os_error()
            )));
        }
    }
    if let Some(adj) = process.oom_score_adj() {
        step!("process.oomScoreAdj", std::fs::write("/proc/self/oom_score_adj", adj.to_string()))?;
    }
    if let Some(p) = linux.personality() {
        let dom = if format!("{:?}", p.domain()).contains("32") { 0x0008 } else { 0 };
        step!("linux.personality", nix::sys::personality::set(nix::sys::personality::Persona::from_bits_retain(dom)))?;
    }

    // 16. Find the program now, as root and before Ready, so a typo fails `create` with a
    //     clear message instead of a container that dies at `start`.
    let env = build_env(&process, &a.extra_env);
    let argv: Vec<String> = process.args().clone().unwrap_or_default();
    let exe = step!("process.args[0]", find_executable(&argv[0], &env))?;
    step!("process.args[0]", refuse_runtime_binary(&exe, a.self_exe))?;

    // 17. Identity and privileges. Order matters:
    //     bounding set first (needs CAP_SETPCAP); without no_new_privs, Landlock and seccomp
    //     need CAP_SYS_ADMIN, so they go before the uid switch (the profile must then allow
    //     the remaining setup syscalls, as with runc); keep-caps across setresuid keeps the
    //     permitted set; then the exact sets; then no_new_privs and Landlock. With
    //     no_new_privs, seccomp waits until just before execve (step 20).
    let nnp = process.no_new_privileges().unwrap_or(false);
    step!("capabilities", a.caps.drop_bounding())?;
    if !nnp {
        if let Some(l) = &a.landlock {
            step!("landlock", l.apply())?;
        }
        if let Some(s) = &a.seccomp {
            step!("linux.seccomp", s.install())?;
        }
    }
    let user = process.user();
    step!("keep capabilities across the uid switch", caps::securebits::set_keepcaps(true))?;
    let gids: Vec<nix::unistd::Gid> = user.additional_gids().iter().flatten().map(|g| nix::unistd::Gid::from_raw(*g)).collect();
    if !(a.new_userns && linux.gid_mappings().is_none()) {
        step!("process.user.additionalGids", nix::unistd::setgroups(&gids))?;
    }
    let gid = nix::unistd::Gid::from_raw(user.gid());
    step!("process.user.gid", nix::unistd::setresgid(gid, gid, gid))?;
    let uid = nix::unistd::Uid::from_raw(user.uid());
    step!("process.user.uid", nix::unistd::setresuid(uid, uid, uid))?;
    step!("keep capabilities across the uid switch", caps::securebits::set_keepcaps(false))?;
    step!("capabilities", a.caps.apply())?;
    if let Some(mask) = user.umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    // The working directory as the user (a directory only root may enter is an error).
    step!(format!("process.cwd {}", process.cwd().display()), nix::unistd::chdir(process.cwd()))?;
    // 18. Nothing but stdio, the preserved fds and our own close-on-exec fds may cross
    //     execve; then the cwd must be inside the container, which a leaked directory fd of
    //     the host would violate (CVE-2024-21626 class).
    step!("close inherited fds", crate::sys::cloexec_from(3 + a.preserve_fds))?;
    check_cwd_inside()?;
    if nnp {
        step!("process.noNewPrivileges", nix::sys::prctl::set_no_new_privs())?;
        if let Some(l) = &a.landlock {
            step!("landlock", l.apply())?;
        }
    }

    // 19. Ready: the runtime records us as created. Then wait for `start` on the fifo.
    let c_exe = CString::new(exe.as_os_str().as_bytes()).map_err(|_| Fail("process.args[0]: contains NUL".into()))?;
    let c_argv: Vec<CString> = argv.iter().map(|s| CString::new(s.as_bytes()).unwrap_or_default()).collect();
    let c_env: Vec<CString> = env.iter().map(|s| CString::new(s.as_bytes()).unwrap_or_default()).collect();
    chan.send(&Message::Ready)?;
    let mut b = [0u8; 1];
    loop {
        match nix::unistd::read(&a.fifo, &mut b) {
            Ok(1) => break,
            Err(nix::Error::EINTR) => continue,
            _ => {
                // SAFETY: plain _exit.
                unsafe { libc::_exit(1) }
            }
        }
    }
    if let Some(h) = a.spec.hooks().as_ref().and_then(|h| h.start_container().clone()) {
        let st = hook_state_json(&a, "created");
        if let Err(e) = crate::hooks::run_all("startContainer", &h, st.as_bytes()) {
            eprintln!("runtime init: {e}");
            // SAFETY: plain _exit.
            unsafe { libc::_exit(1) }
        }
    }
    // 20. seccomp as late as possible (as runc does): the filter then only has to allow
    //     execve, not the sync socket, the fifo or the hooks. If it cannot be installed the
    //     container does not run: fail closed.
    if nnp {
        if let Some(s) = &a.seccomp {
            if let Err(e) = s.install() {
                eprintln!("runtime init: linux.seccomp: {e}");
                // SAFETY: plain _exit.
                unsafe { libc::_exit(1) }
            }
        }
    }
    // 21. exec. On failure the runtime is gone; stderr is the container's, so say it there.
    let err = nix::unistd::execve(&c_exe, &c_argv, &c_env).unwrap_err();
    eprintln!("runtime init: exec {}: {err}", exe.display());
    // SAFETY: plain _exit.
    unsafe { libc::_exit(if err == nix::Error::ENOENT { 127 } else { 126 }) }
}

fn hook_state_json(a: &InitArgs, status: &str) -> String {
    serde_json::json!({
        "ociVersion": a.spec.version(),
        "id": a.id,
        "status": status,
        "pid": a.host_pid,
        "bundle": a.bundle,
        "annotations": a.spec.annotations().clone().unwrap_or_default(),
    })
    .to_string()
}

fn build_env(process: &oci_spec::runtime::Process, extra: &[String]) -> Vec<String> {
    let mut env: Vec<String> = process.env().clone().unwrap_or_default();
    env.extend(extra.iter().cloned());
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", home_of(process.user().uid())));
    }
    env
}

/// HOME from the container's /etc/passwd, "/" when the user has no entry (as runc does).
fn home_of(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() >= 6 && f[2].parse() == Ok(uid)).then(|| f[5].to_string())
            })
        })
        .unwrap_or_else(|| "/".into())
}

/// PATH lookup inside the container, with the container's PATH.
fn find_executable(name: &str, env: &[String]) -> Result<PathBuf, String> {
    let is_exec = |p: &Path| {
        std::fs::metadata(p).map(|m| {
            use std::os::unix::fs::PermissionsExt;
            m.is_file() && m.permissions().mode() & 0o111 != 0
        })
    };
    if name.contains('/') {
        let p = PathBuf::from(name);
        return match is_exec(&p) {
            Ok(true) => Ok(p),
            Ok(false) => Err(format!("{name:?}: not an executable file")),
            Err(e) => Err(format!("{name:?}: {e}")),
        };
    }
    let path = env.iter().rev().find_map(|e| e.strip_prefix("PATH=")).unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let p = Path::new(dir).join(name);
        if matches!(is_exec(&p), Ok(true)) {
            return Ok(p);
        }
    }
    Err(format!("exec: {name:?}: executable file not found in $PATH"))
}

/// Refuses to exec the runtime's own binary, directly or as a script's interpreter
/// (`#!/proc/self/exe`): that would run the runtime inside the container, where a process
/// could reopen it for writing once it exits.
fn refuse_runtime_binary(exe: &Path, self_exe: (u64, u64)) -> Result<(), String> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let mut cur = exe.to_path_buf();
    for _ in 0..5 {
        let f = std::fs::File::open(&cur).map_err(|e| format!("{}: {e}", cur.display()))?;
        let m = f.metadata().map_err(|e| e.to_string())?;
        if (m.dev(), m.ino()) == self_exe {
            return Err(format!("{} is the runtime binary itself; refusing to execute it in the container", cur.display()));
        }
        let mut head = [0u8; 256];
        let n = (&f).read(&mut head).unwrap_or(0);
        if n < 2 || &head[..2] != b"#!" {
            return Ok(());
        }
        let line = &head[2..n];
        let line = line.split(|&c| c == b'\n').next().unwrap_or(&[]);
        let interp = String::from_utf8_lossy(line);
        let Some(first) = interp.split_whitespace().next() else { return Ok(()) };
        cur = PathBuf::from(first);
    }
    Ok(())
}

fn check_cwd_inside() -> Result<(), Fail> {
    match nix::unistd::getcwd() {
        Ok(p) if p.is_absolute() && !p.as_os_str().as_bytes().starts_with(b"(unreachable)") => Ok(()),
        Ok(p) => Err(Fail(format!("process.cwd: working directory {} is outside the container", p.display()))),
        Err(e) => Err(Fail(format!("process.cwd: working directory is outside the container ({e})"))),
    }
}

fn rlimit_resource(name: &str) -> i32 {
    // oci-spec's Debug names are RlimitNofile-style; map by suffix.
    let n = name.to_ascii_uppercase();
    let n = n.trim_start_matches("RLIMIT");
    match n {
        "AS" => libc::RLIMIT_AS as i32,
        "CORE" => libc::RLIMIT_CORE as i32,
        "CPU" => libc::RLIMIT_CPU as i32,
        "DATA" => libc::RLIMIT_DATA as i32,
        "FSIZE" => libc::RLIMIT_FSIZE as i32,
        "LOCKS" => libc::RLIMIT_LOCKS as i32,
        "MEMLOCK" => libc::RLIMIT_MEMLOCK as i32,
        "MSGQUEUE" => libc::RLIMIT_MSGQUEUE as i32,
        "NICE" => libc::RLIMIT_NICE as i32,
        "NOFILE" => libc::RLIMIT_NOFILE as i32,
        "NPROC" => libc::RLIMIT_NPROC as i32,
        "RSS" => libc::RLIMIT_RSS as i32,
        "RTPRIO" => libc::RLIMIT_RTPRIO as i32,
        "RTTIME" => libc::RLIMIT_RTTIME as i32,
        "SIGPENDING" => libc::RLIMIT_SIGPENDING as i32,
        "STACK" => libc::RLIMIT_STACK as i32,
        _ => -1,
    }
}
