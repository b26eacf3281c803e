//! `create`: set up a container and leave its init waiting for `start`.
//!
//! The runtime validates and compiles everything first (config, mount plan, capabilities,
//! seccomp, Landlock, cgroup support), then claims the id, clones the init into its new
//! namespaces, puts it in its cgroup, and drives it over the sync socket until it reports
//! Ready. Any failure after the id is claimed is undone by [`CreateGuard`]: the half-made
//! init is killed (its mounts die with its mount namespace), its cgroup and its state
//! directory are removed.

use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use oci_spec::runtime::LinuxNamespaceType;

use crate::capabilities::CapPlan;
use crate::config::{self, Config};
use crate::init::InitArgs;
use crate::namespaces;
use crate::protocol::{self, FromInit, RuntimeEnd, ToInit};
use crate::rootfs::{devices, plan};
use crate::state::{ContainerDir, ContainerState, Status};
use crate::{cgroups, hooks, Cli};

#[derive(Args, Debug, Clone)]
pub struct CreateArgs {
    /// Path to the bundle directory (holding config.json)
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub launch: LaunchArgs,
    /// Container id
    pub id: String,
}

/// The options `create` and `run` share (runc's names).
#[derive(Args, Debug, Clone)]
pub struct LaunchArgs {
    /// Write the container init's pid to this file
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master when process.terminal is true
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Pass this many extra fds (3, 4, ...) through to the container
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Use MS_MOVE + chroot instead of pivot_root (for a rootfs on ramfs)
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not create a new session keyring for the container
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
}

pub fn run(cli: &Cli, a: &CreateArgs) -> anyhow::Result<i32> {
    let launched = launch(cli, a, false)?;
    launched.finish_create();
    Ok(0)
}

/// A container whose init is waiting at the start barrier.
pub struct Launched {
    pub dir: ContainerDir,
    pub state: ContainerState,
    /// The pty master, when `run` proxies the terminal itself.
    pub console: Option<OwnedFd>,
    /// The sd_notify relay, when `run` in the foreground was given NOTIFY_SOCKET.
    pub notify: Option<crate::notify::Relay>,
    guard: CreateGuard,
}

impl Launched {
    /// Keeps the container: disarms the cleanup.
    pub fn finish_create(mut self) -> (ContainerDir, ContainerState, Option<OwnedFd>) {
        self.guard.armed = false;
        (self.dir, self.state, self.console)
    }
}

/// Undoes a partial create on drop unless disarmed.
struct CreateGuard {
    armed: bool,
    root: PathBuf,
    id: String,
    dir_path: PathBuf,
    pid: i32,
    /// What this create made (or took over) of the cgroup so far: only that is undone.
    cgroup: cgroups::Ownership,
    /// No mount namespace: the mounts the init made live on in the host's; detached here.
    host_mounts: Option<crate::rootfs::hostns::HostMounts>,
    cgroup_path: PathBuf,
}

impl Drop for CreateGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if self.pid > 0 {
            // SAFETY: kill/waitpid on our own direct child.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
                libc::waitpid(self.pid, std::ptr::null_mut(), 0);
            }
        }
        if let Some(h) = &self.host_mounts {
            if let Err(e) = crate::rootfs::hostns::unmount_ours(h) {
                crate::log::warn(&format!("cleanup: {e}"));
            }
        }
        if let Err(e) = cgroups::remove_owned(&self.cgroup, &cgroups::ParentRegistry::new(&self.root, &self.id)) {
            // The state entry records what is left: without it nothing could remove it.
            crate::log::warn(&format!("cleanup of container {}: {e}: its state is kept; run `delete --force {}` to finish", self.id, self.id));
            return;
        }
        let _ = std::fs::remove_dir_all(&self.dir_path);
        let _ = crate::state::claims::release(&self.root, &self.id, &self.cgroup_path);
    }
}

struct Prepared {
    cfg: Config,
    ns: namespaces::Plan,
    init: InitArgs,
    console_sock: Option<std::os::unix::net::UnixStream>,
    cgroup_path: PathBuf,
    netguard: Option<crate::netguard::Plan>,
}

/// Everything that can be checked without side effects, done before the id is claimed.
fn prepare(a: &CreateArgs, foreground: bool, relay: Option<&Path>) -> anyhow::Result<Prepared> {
    let cfg = config::load(&a.bundle)?;
    let spec = &cfg.spec;
    let linux = spec.linux().clone().unwrap_or_default();
    let process = spec.process().as_ref().expect("validated");
    let ns = namespaces::Plan::from_config(linux.namespaces().as_ref());
    let has_mnt = ns.has_new(LinuxNamespaceType::Mount) || ns.join.iter().any(|(t, _)| *t == LinuxNamespaceType::Mount);
    if !has_mnt && a.launch.no_pivot {
        // runc's words: --no-pivot moves the rootfs onto "/", which here is the host's.
        bail!(
            "{}: field `linux.namespaces`: unable to use no-pivot without a private MNT namespace: add {{\"type\":\"mount\"}} or drop --no-pivot",
            cfg.path.display()
        );
    }
    let terminal = process.terminal().unwrap_or(false);
    if terminal && a.launch.console_socket.is_none() && !foreground {
        bail!("{}: field `process.terminal` is true: pass --console-socket (or set terminal to false)", cfg.path.display());
    }
    let console_sock = match (&a.launch.console_socket, terminal) {
        (Some(p), true) => Some(crate::tty::connect_console_socket(p)?),
        _ => None,
    };
    let mut mounts = plan::build(spec.mounts().as_deref().unwrap_or(&[]), &cfg.bundle).map_err(|e| anyhow::anyhow!("{}: field `{e}`", cfg.path.display()))?;
    // Every bind source opened now, as host root, before any namespace or uid switch.
    let rootfs_writable = !spec.root().as_ref().and_then(|r| r.readonly()).unwrap_or(false);
    crate::rootfs::sources::open_all(&mut mounts, &cfg.rootfs, rootfs_writable).map_err(|e| anyhow::anyhow!("{}: field `{e}`", cfg.path.display()))?;
    let notify = notify_socket_mount(&mounts, relay);
    if let Some(m) = &notify {
        mounts.push(m.clone());
    }
    let mut devs = devices::defaults();
    devs.extend(devices::from_config(linux.devices().as_deref().unwrap_or(&[])));
    let caps = CapPlan::from_config(process.capabilities().as_ref()).with_context(|| cfg.path.display().to_string())?;
    let seccomp = match linux.seccomp() {
        Some(s) => {
            let c = crate::seccomp::compile(s).with_context(|| cfg.path.display().to_string())?;
            for name in c.skipped() {
                crate::log::debug(&format!("seccomp: syscall {name:?} is unknown to this runtime; rule skipped"));
            }
            for arch in c.ignored_architectures() {
                crate::log::debug(&format!("seccomp: architecture {arch} is not filtered; its syscalls are refused"));
            }
            crate::log::debug(&format!("seccomp: {} filters, {} instructions", c.filter_count(), c.instruction_count()));
            Some(c)
        }
        None => None,
    };
    let landlock = crate::landlock::policy_from_annotations(&spec.annotations().clone().unwrap_or_default()).with_context(|| cfg.path.display().to_string())?;
    if let Some(l) = &landlock {
        crate::log::debug(&format!("landlock: {} (kernel ABI {})", if l.is_required() { "required" } else { "best effort" }, crate::landlock::kernel_abi()));
    }
    let netguard = spec.annotations().as_ref().map(crate::netguard::prepare).transpose().with_context(|| cfg.path.display().to_string())?.flatten();
    if let Some(r) = linux.resources() {
        cgroups::check_supported(r).with_context(|| cfg.path.display().to_string())?;
    }
    if let Some(p) = linux.rootfs_propagation() {
        let ok = ["", "shared", "rshared", "slave", "rslave", "private", "rprivate", "unbindable", "runbindable"];
        if !ok.contains(&p.as_str()) {
            bail!("{}: field `linux.rootfsPropagation`: unknown value {p:?}", cfg.path.display());
        }
    }
    let join_ns = namespaces::open_all(&ns)?;
    let self_exe = std::fs::metadata("/proc/self/exe").map(|m| (m.dev(), m.ino())).context("stat /proc/self/exe")?;
    let mut extra_env = vec![];
    if notify.is_some() {
        extra_env.push(format!("NOTIFY_SOCKET={NOTIFY_IN_CONTAINER}"));
        if relay.is_some() {
            extra_env.extend(crate::notify::watchdog_env());
        }
    }
    let mut preserve = a.launch.preserve_fds;
    if let Some(passed) = socket_activation().with_context(|| cfg.path.display().to_string())? {
        extra_env.push(format!("LISTEN_FDS={}", passed.count));
        extra_env.push("LISTEN_PID=1".into());
        if let Some(names) = passed.names {
            extra_env.push(format!("LISTEN_FDNAMES={names}"));
        }
        preserve += passed.count;
    }
    if let Some(soft) = config::nofile_soft(spec).filter(|_| preserve > 0) {
        config::check_nofile(spec, soft, preserve).map_err(|m| anyhow::anyhow!("{}: field `process.rlimits` (RLIMIT_NOFILE): {m}", cfg.path.display()))?;
    }
    let cgroup_path = cgroups::path_for(linux.cgroups_path().as_deref(), &a.id);
    let hooks = spec.hooks().clone().unwrap_or_default();
    let has_runtime_hooks = hooks.prestart().as_ref().is_some_and(|h| !h.is_empty()) || hooks.create_runtime().as_ref().is_some_and(|h| !h.is_empty());
    let init = InitArgs {
        id: a.id.clone(),
        spec: cfg.spec.clone(),
        rootfs: cfg.rootfs.clone(),
        mounts,
        devices: devs,
        join_ns,
        unshare_cgroup: ns.unshare_cgroup,
        new_userns: ns.has_new(LinuxNamespaceType::User),
        cgroup_path: cgroup_path.clone(),
        caps,
        seccomp,
        landlock,
        no_pivot: a.launch.no_pivot,
        host_mntns: !has_mnt,
        no_new_keyring: a.launch.no_new_keyring,
        preserve_fds: preserve,
        fifo: None,
        self_exe,
        extra_env,
        has_runtime_hooks,
        bundle: cfg.bundle.clone(),
        host_pid: 0,
    };
    Ok(Prepared { cfg, ns, init, console_sock, cgroup_path, netguard })
}

/// The sockets systemd handed us (fds 3..3+count) and their names.
struct Activation {
    count: u32,
    names: Option<String>,
}

/// systemd socket activation, by systemd's own rule (sd_listen_fds): the fds are ours only
/// when LISTEN_PID is this process's pid. A LISTEN_FDS inherited from some ancestor names
/// whatever fds the caller happens to hold (a host directory, a log file): it is ignored and
/// those fds are closed before the container's program runs. When the pid matches, every
/// fd must be a socket, else create fails: passing a non-socket would hand a host file to
/// the container. The variables are removed from our environment either way, so nothing
/// we start later (hooks, a nested runtime) takes them as its own.
fn socket_activation() -> anyhow::Result<Option<Activation>> {
    let fds = std::env::var("LISTEN_FDS").ok();
    let pid = std::env::var("LISTEN_PID").ok();
    let names = std::env::var("LISTEN_FDNAMES").ok();
    for v in ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"] {
        std::env::remove_var(v);
    }
    let Some(fds) = fds else { return Ok(None) };
    let ours = pid.as_deref().and_then(|p| p.trim().parse::<u32>().ok()) == Some(std::process::id());
    if !ours {
        crate::log::debug(&format!(
            "LISTEN_FDS={fds} ignored: LISTEN_PID={} is not this process ({})",
            pid.as_deref().unwrap_or("(unset)"),
            std::process::id()
        ));
        return Ok(None);
    }
    let count: u32 = fds.trim().parse().map_err(|_| anyhow::anyhow!("LISTEN_FDS={fds:?}: not a number of fds"))?;
    if count == 0 {
        return Ok(None);
    }
    for fd in 3..3 + count {
        // SAFETY: a zeroed stat is a valid out-buffer; fstat only writes into it.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: as above; fd is a plain integer, an invalid one gives EBADF.
        if unsafe { libc::fstat(fd as i32, &mut st) } != 0 {
            bail!("LISTEN_FDS={count}: fd {fd}: {} (the service manager passed fewer fds than it announced)", std::io::Error::last_os_error());
        }
        if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
            bail!("LISTEN_FDS={count}: fd {fd} is not a socket; refusing to pass a non-socket fd into the container (check the unit's socket activation, or unset LISTEN_FDS)");
        }
    }
    // LISTEN_FDNAMES is colon-separated, one name per fd; a mismatching list is dropped.
    let names = names.filter(|n| n.split(':').count() == count as usize);
    Ok(Some(Activation { count, names }))
}

/// Where the service manager's notify socket appears inside the container.
const NOTIFY_IN_CONTAINER: &str = "/run/notify/notify.sock";

/// systemd's Type=notify: when we are started with NOTIFY_SOCKET naming a socket file, the
/// service inside gets that socket bind-mounted and NOTIFY_SOCKET pointing at it, so its
/// READY=1 reaches the service manager. Only when the config gives /run a tmpfs (the rootfs
/// itself is not modified); abstract sockets are not passed (Landlock may scope them).
///
/// The path is opened once and must be a socket: a directory or file named there would be
/// bind-mounted read-write into the container. What is mounted is that opened socket, not
/// whatever the path names later. Anything else is left out, with a warning.
///
/// `relay`: the runtime's own relay socket (a foreground `run`, see [`crate::notify`]),
/// mounted instead of the manager's.
fn notify_socket_mount(mounts: &[plan::PlannedMount], relay: Option<&Path>) -> Option<plan::PlannedMount> {
    let sock = match relay {
        Some(r) => r.to_path_buf(),
        None => std::env::var_os("NOTIFY_SOCKET").map(PathBuf::from)?,
    };
    if !sock.is_absolute() {
        return None;
    }
    let fd: OwnedFd = match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_PATH).open(&sock) {
        Ok(f) => f.into(),
        Err(_) => return None,
    };
    let is_socket = std::fs::File::from(fd.try_clone().ok()?).metadata().map(|m| m.file_type().is_socket()).unwrap_or(false);
    if !is_socket {
        crate::log::warn(&format!("NOTIFY_SOCKET={} is not a socket; not passed to the container", sock.display()));
        return None;
    }
    if !mounts.iter().any(|m| m.dest == Path::new("/run") && m.fstype == "tmpfs") {
        crate::log::warn("NOTIFY_SOCKET is set but the config has no tmpfs on /run to put it in; not passed to the container");
        return None;
    }
    let m = oci_spec::runtime::MountBuilder::default()
        .destination(NOTIFY_IN_CONTAINER)
        .typ("bind")
        .source(sock)
        // Read-only: sending to a socket needs no write access to the mount, and the
        // container may not chmod, chown or touch the host's socket inode.
        .options(vec!["bind".to_string(), "ro".into(), "nosuid".into(), "nodev".into(), "noexec".into()])
        .build()
        .ok()?;
    let mut p = plan::build(&[m], Path::new("/")).ok()?.pop()?;
    p.index = mounts.len();
    p.file_target = true;
    let tree = crate::rootfs::sources::tree_of(&fd).ok()?;
    crate::rootfs::mounts::set_attrs(&tree, &p).ok()?;
    p.tree = Some(tree);
    Some(p)
}

/// create, shared with `run`. `foreground`: `run` without -d, which may proxy a terminal.
pub fn launch(cli: &Cli, a: &CreateArgs, foreground: bool) -> anyhow::Result<Launched> {
    let relay = if foreground { crate::notify::Relay::open(&cli.root, &a.id)? } else { None };
    let Prepared { cfg, ns, mut init, console_sock, cgroup_path, netguard } = prepare(a, foreground, relay.as_ref().map(|r| r.path()))?;
    // A stop request that came while we validated: nothing is made yet.
    crate::signals::check()?;
    // The channel is made before the guard so that it is dropped after it: on an error the
    // guard kills the init first, so the init never sees the socket close and never prints
    // a second, misleading error of its own.
    let (parent_chan, child_chan) = protocol::pair()?;
    let planned = cgroups::plan(&cgroup_path).with_context(|| cfg.path.display().to_string())?;
    let mut state = ContainerState {
        id: a.id.clone(),
        pid: 0,
        pid_start: 0,
        bundle: cfg.bundle.clone(),
        rootfs: cfg.rootfs.clone(),
        created: crate::log::rfc3339_now(),
        owner: owner_name(nix::unistd::geteuid().as_raw()),
        phase: Status::Creating,
        annotations: cfg.spec.annotations().clone().unwrap_or_default(),
        cgroup_path: cgroup_path.clone(),
        hooks: cfg.spec.hooks().clone(),
        oci_version: cfg.spec.version().clone(),
        own_pid_ns: ns.has_new(LinuxNamespaceType::Pid) || ns.join_pid.is_some(),
        cgroup_dirs: Some(planned.clone()),
        host_mounts: None,
    };
    if init.host_mntns {
        let snap = crate::rootfs::hostns::snapshot(&cfg.rootfs).context("read /proc/self/mountinfo")?;
        state.host_mounts = Some(snap);
    }
    // The id is claimed first, with the cgroup directories this create may make already in
    // its state: a second create of a live id says "already exists", and a runtime killed
    // from here on leaves an entry that `delete` can clean up completely.
    let dir = ContainerDir::create(&cli.root, &a.id, &state)?;
    let mut guard = CreateGuard {
        armed: true,
        root: cli.root.clone(),
        id: a.id.clone(),
        dir_path: dir.dir.clone(),
        pid: 0,
        cgroup: planned,
        host_mounts: state.host_mounts.clone(),
        cgroup_path: cgroup_path.clone(),
    };
    claim_cgroup(cli, &a.id, &cgroup_path, &mut guard.cgroup, &dir, &mut state).with_context(|| cfg.path.display().to_string())?;
    save_config_snapshot(&dir.config_snapshot(), &cfg.spec)?;

    // The start barrier: a fifo the init holds open read-write (so opening never blocks)
    // and reads one byte from; `start` writes that byte.
    let fifo = dir.fifo_path();
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).with_context(|| format!("mkfifo {}", fifo.display()))?;
    init.fifo = Some(std::fs::OpenOptions::new().read(true).write(true).open(&fifo).with_context(|| format!("open {}", fifo.display()))?.into());

    let linux = cfg.spec.linux().clone().unwrap_or_default();
    if ns.new_time {
        setup_time_namespace(&linux)?;
    }
    let back_to_own_pidns = match &ns.join_pid {
        Some(p) => Some(namespaces::enter_pid_for_children(p)?),
        None => None,
    };
    // SAFETY: this process is single-threaded (the binary never spawns threads), which is
    // what a fork-style clone requires.
    let pid = unsafe { crate::sys::clone_fork(ns.clone_flags.bits() as libc::c_ulong) };
    let pid = match pid {
        Ok(0) => {
            drop(parent_chan);
            std::mem::forget(guard);
            // flock belongs to the open file: our inherited copy of the lock fd would keep
            // the container locked while we wait for `start`, which needs that lock.
            // SAFETY: closing our copy of an fd owned by `dir`, which we never use again.
            unsafe { libc::close(dir.lock_fd()) };
            std::mem::forget(dir);
            drop(console_sock);
            crate::init::run(init, child_chan)
        }
        Ok(pid) => pid,
        Err(e) => bail!("clone the container init (namespaces {:?}): {e}", ns.clone_flags),
    };
    if let Some(own) = back_to_own_pidns {
        namespaces::leave_pid_for_children(own);
    }
    drop(child_chan);
    drop(init);
    guard.pid = pid;
    state.pid = pid;
    state.pid_start = crate::state::proc_start_time(pid).map(|(s, _)| s).unwrap_or(0);
    dir.save(&state)?;

    cgroups::setup(&cgroup_path, &a.id, pid, linux.resources().as_ref(), &guard.cgroup).with_context(|| format!("{}: linux.resources", cfg.path.display()))?;
    // Before Proceed: the init must never run without the network guard.
    if let Some(g) = &netguard {
        g.attach(&cgroup_path).with_context(|| cfg.path.display().to_string())?;
    }
    if ns.has_new(LinuxNamespaceType::User) {
        write_id_maps(pid, &linux)?;
    }
    let driven = parent_chan.send(&ToInit::Proceed).map_err(anyhow::Error::from).and_then(|()| drive_init(&parent_chan, &state, console_sock.as_ref()));
    let console = driven.map_err(|e| {
        if e.is::<crate::signals::Interrupted>() {
            return e;
        }
        // The sync socket broke: say how the init died (a signal, the OOM killer).
        let limit = linux.resources().as_ref().and_then(|r| r.memory().as_ref()).and_then(|m| m.limit());
        let why = e
            .downcast_ref::<protocol::ProtocolError>()
            .filter(|p| matches!(p, protocol::ProtocolError::Eof | protocol::ProtocolError::Send(_) | protocol::ProtocolError::Recv(_)))
            .and_then(|_| crate::diagnose::explain_init_death(pid, &cgroup_path, limit));
        // Setup inside the container failed: say which config it came from.
        anyhow::anyhow!("{}: {}", cfg.path.display(), why.unwrap_or_else(|| crate::error_chain(&e)))
    })?;
    state.phase = Status::Created;
    dir.save(&state)?;
    if let Some(p) = &a.launch.pid_file {
        write_pid_file(p, pid)?;
    }
    // Last look before the caller keeps the container: the guard still undoes everything.
    crate::signals::check()?;
    Ok(Launched { dir, state, console, notify: relay, guard })
}

/// Refuses a cgroup another stored container owns (in this --root and in the default one),
/// then makes the container's cgroup directories, recording in the state what was made.
/// Runs after the id is claimed: two creates racing for one cgroup then see each other.
fn claim_cgroup(cli: &Cli, id: &str, path: &Path, own: &mut cgroups::Ownership, dir: &ContainerDir, state: &mut ContainerState) -> anyhow::Result<()> {
    let default = Path::new(crate::DEFAULT_ROOT);
    let also: &[&Path] = if cli.root != default { &[default] } else { &[] };
    if let Err(e) = crate::state::claims::claim(&cli.root, also, id, path) {
        // The planned directories may be another container's: this cleanup must not touch them.
        own.dirs.clear();
        return Err(e.into());
    }
    cgroups::make_dirs(path, own, &cgroups::ParentRegistry::new(&cli.root, id), |o| {
        state.cgroup_dirs = Some(o.clone());
        dir.save(state).map_err(|e| cgroups::CgroupError::Manager { path: dir.dir.clone(), msg: e.to_string() })
    })?;
    state.cgroup_dirs = Some(own.clone());
    Ok(())
}

/// Serves the init's requests until it is Ready. Returns the pty master if we keep it.
fn drive_init(chan: &RuntimeEnd, state: &ContainerState, console_sock: Option<&std::os::unix::net::UnixStream>) -> anyhow::Result<Option<OwnedFd>> {
    let mut console = None;
    loop {
        crate::signals::wait_readable(chan)?;
        let (msg, fd) = chan.recv_with_fd()?;
        match msg {
            FromInit::Error { msg } => bail!("{msg}"),
            FromInit::RunCreateRuntimeHooks => {
                let st = serde_json::to_vec(&hook_state(state, "creating"))?;
                let h = state.hooks.clone().unwrap_or_default();
                // prestart is deprecated but honoured; it runs with createRuntime, before it.
                hooks::run_all("prestart", h.prestart().as_deref().unwrap_or(&[]), &st)?;
                hooks::run_all("createRuntime", h.create_runtime().as_deref().unwrap_or(&[]), &st)?;
                chan.send(&ToInit::HooksDone)?;
            }
            FromInit::Console => {
                let master = fd.context("console message without a pty fd")?;
                match console_sock {
                    Some(sock) => {
                        use std::os::fd::AsFd;
                        crate::tty::send_master(sock, master.as_fd())?;
                    }
                    None => console = Some(master),
                }
            }
            FromInit::Ready => return Ok(console),
        }
    }
}

pub fn hook_state(st: &ContainerState, status: &str) -> serde_json::Value {
    let mut v = st.oci_state(Status::Created);
    v["status"] = serde_json::Value::from(status);
    v["pid"] = serde_json::Value::from(st.pid);
    v
}

fn setup_time_namespace(linux: &oci_spec::runtime::Linux) -> anyhow::Result<()> {
    nix::sched::unshare(nix::sched::CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)).context("linux.namespaces: create time namespace")?;
    if let Some(offsets) = linux.time_offsets() {
        let mut s = String::new();
        for (clock, off) in offsets {
            let name = match clock.as_str() {
                "monotonic" => "monotonic",
                "boottime" => "boottime",
                other => bail!("linux.timeOffsets: unknown clock {other:?} (monotonic or boottime)"),
            };
            s.push_str(&format!("{name} {} {}\n", off.secs().unwrap_or(0), off.nanosecs().unwrap_or(0)));
        }
        std::fs::write("/proc/self/timens_offsets", s).context("linux.timeOffsets: write /proc/self/timens_offsets")?;
    }
    Ok(())
}

fn write_id_maps(pid: i32, linux: &oci_spec::runtime::Linux) -> anyhow::Result<()> {
    let fmt = |m: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        m.iter().flatten().map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size())).collect::<String>()
    };
    let uid = fmt(linux.uid_mappings());
    let gid = fmt(linux.gid_mappings());
    if uid.is_empty() || gid.is_empty() {
        bail!("linux.uidMappings/gidMappings: a new user namespace needs both mappings");
    }
    std::fs::write(format!("/proc/{pid}/uid_map"), uid).context("linux.uidMappings: write uid_map")?;
    std::fs::write(format!("/proc/{pid}/gid_map"), gid).context("linux.gidMappings: write gid_map")?;
    Ok(())
}

/// The user name for `state`'s owner field, read from /etc/passwd directly: no NSS, so the
/// binary can be linked statically.
fn owner_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                (f.nth(1)? == uid.to_string()).then(|| name.to_string())
            })
        })
        .unwrap_or_else(|| uid.to_string())
}

/// The accepted config, for `exec`: the bundle's file may be rewritten after create, and
/// what an exec'd process gets (seccomp, capabilities, Landlock) must be what was accepted.
fn save_config_snapshot(path: &Path, spec: &oci_spec::runtime::Spec) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let data = serde_json::to_vec(spec).context("serialise the config snapshot")?;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).with_context(|| format!("write {}", path.display()))?;
    f.write_all(&data).with_context(|| format!("write {}", path.display()))
}

/// Written atomically (temp file + rename) so a manager polling it never reads a partial pid.
pub fn write_pid_file(path: &Path, pid: i32) -> anyhow::Result<()> {
    let tmp = path.with_extension("pid-tmp");
    std::fs::write(&tmp, pid.to_string()).with_context(|| format!("--pid-file {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("--pid-file {}", path.display()))?;
    Ok(())
}
