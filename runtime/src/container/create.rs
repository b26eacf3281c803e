//! Create: set up a container and leave its init waiting for `start`.
//!
//! The runtime validates and compiles everything first (config, mount plan, process
//! security, cgroup support), then claims the id, clones the init into its new namespaces
//! (spawn.rs), puts it in its cgroup, and serves it over the sync socket until it reports
//! Ready. Any failure after the id is claimed is undone by [`CreateGuard`]: the half-made
//! init is killed (its mounts die with its mount namespace), its cgroup and its state
//! directory are removed.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxNamespaceType;

use super::activation;
use super::spawn;
use crate::config::{self, Config, ConfigError};
use crate::init::InitArgs;
use crate::namespaces;
use crate::rootfs::{devices, plan};
use crate::signals::Interrupted;
use crate::state::StateError;
use crate::state::{ContainerDir, ContainerState, Status};
use crate::{cgroups, hooks};

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The config (at `path`) asks for something this runtime refuses; `msg` names the field
    /// and the fix.
    #[error("{}: {msg}", path.display())]
    Refused { path: PathBuf, msg: String },
    /// Applying what the config at `path` asks for failed.
    #[error("{}: {source}", path.display())]
    Applying { path: PathBuf, source: Box<dyn std::error::Error + Send + Sync> },
    #[error("{}: linux.resources: {source}", path.display())]
    Resources { path: PathBuf, source: cgroups::CgroupError },
    /// A linux.* step of the runtime's own (time namespace, id maps); `what` names it.
    #[error("{what}: {source}")]
    Step { what: String, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Console(#[from] crate::tty::TtyError),
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
    #[error(transparent)]
    Namespace(#[from] crate::namespaces::NamespaceError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    UidMap(#[from] crate::rootless::UidMapError),
    #[error(transparent)]
    Snapshot(#[from] super::snapshot::SnapshotError),
    #[error(transparent)]
    PidFile(#[from] super::pid_file::PidFileError),
    #[error(transparent)]
    Spawn(#[from] spawn::SpawnError),
    /// A fatal signal during create; kept as a source so that main finds it in the chain.
    #[error("{0}")]
    Interrupted(#[source] Interrupted),
}

impl From<Interrupted> for CreateError {
    fn from(i: Interrupted) -> Self {
        CreateError::Interrupted(i)
    }
}

/// The error of applying the config at `path`.
fn at<E: std::error::Error + Send + Sync + 'static>(path: &Path) -> impl FnOnce(E) -> CreateError + '_ {
    move |e| CreateError::Applying { path: path.to_path_buf(), source: Box::new(e) }
}

fn refused(path: &Path, msg: impl Into<String>) -> CreateError {
    CreateError::Refused { path: path.to_path_buf(), msg: msg.into() }
}

fn step(what: &str) -> impl FnOnce(std::io::Error) -> CreateError + '_ {
    move |source| CreateError::Step { what: what.to_string(), source }
}

/// What `create` and `run` are asked for (runc's options).
pub struct Options {
    /// The --root the state lives under.
    pub root: PathBuf,
    pub bundle: PathBuf,
    pub id: String,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub preserve_fds: u32,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    /// `run` without -d: it may proxy a terminal and relay sd_notify itself.
    pub foreground: bool,
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
        if let Some(c) = self.guard.child.take() {
            c.keep();
        }
        (self.dir, self.state, self.console)
    }
}

/// Undoes a partial create on drop unless disarmed.
struct CreateGuard {
    armed: bool,
    root: PathBuf,
    id: String,
    dir_path: PathBuf,
    /// The init, once it is Ready (before that, `launch` holds it): killed and reaped first.
    child: Option<spawn::Child>,
    /// What this create made (or took over) of the cgroup so far: only that is undone.
    cgroup: cgroups::Ownership,
    /// No mount namespace: the mounts the init made live on in the host's; detached here.
    host_mounts: Option<crate::rootfs::hostns::HostMounts>,
    /// The cgroup path claimed in the root's index (state/claims.rs): released last.
    cgroup_path: PathBuf,
}

impl Drop for CreateGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        drop(self.child.take());
        if let Some(h) = &self.host_mounts {
            if let Err(e) = crate::rootfs::hostns::unmount_ours(h) {
                // The state entry is the only record of those mounts: kept, as for cgroups.
                crate::log::warn(&format!("cleanup of container {}: {e}: its state is kept; run `delete --force {}` to finish", self.id, self.id));
                return;
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
fn prepare(o: &Options, relay: Option<&Path>) -> Result<Prepared, CreateError> {
    let cfg = config::load(&o.bundle)?;
    let spec = &cfg.spec;
    let linux = spec.linux().clone().unwrap_or_default();
    let process = spec.process().as_ref().expect("validated");
    let ns = namespaces::Plan::from_config(linux.namespaces().as_ref());
    let has_mnt = ns.has_new(LinuxNamespaceType::Mount) || ns.join.iter().any(|(t, _)| *t == LinuxNamespaceType::Mount);
    if !has_mnt && o.no_pivot {
        // runc's words: --no-pivot moves the rootfs onto "/", which here is the host's.
        return Err(refused(
            &cfg.path,
            "field `linux.namespaces`: unable to use no-pivot without a private MNT namespace: add {\"type\":\"mount\"} or drop --no-pivot",
        ));
    }
    let terminal = process.terminal().unwrap_or(false);
    if terminal && o.console_socket.is_none() && !o.foreground {
        return Err(refused(&cfg.path, "field `process.terminal` is true: pass --console-socket (or set terminal to false)"));
    }
    let console_sock = match (&o.console_socket, terminal) {
        (Some(p), true) => Some(crate::tty::connect_console_socket(p)?),
        _ => None,
    };
    let mut mounts = plan::build(spec.mounts().as_deref().unwrap_or(&[]), &cfg.bundle).map_err(|e| refused(&cfg.path, format!("field `{e}`")))?;
    // Every bind source opened now, as host root, before any namespace or uid switch.
    let rootfs_writable = !spec.root().as_ref().and_then(|r| r.readonly()).unwrap_or(false);
    crate::rootfs::sources::open_all(&mut mounts, &cfg.rootfs, rootfs_writable).map_err(|e| refused(&cfg.path, format!("field `{e}`")))?;
    let notify = activation::notify_socket_mount(&mounts, relay);
    if let Some(m) = &notify {
        mounts.push(m.clone());
    }
    let mut devs = devices::defaults();
    devs.extend(devices::from_config(linux.devices().as_deref().unwrap_or(&[])));
    let netguard = spec.annotations().as_ref().map(crate::netguard::prepare).transpose().map_err(at(&cfg.path))?.flatten();
    if let Some(r) = linux.resources() {
        cgroups::check_supported(r).map_err(at(&cfg.path))?;
    }
    if let Some(p) = linux.rootfs_propagation() {
        let ok = ["", "shared", "rshared", "slave", "rslave", "private", "rprivate", "unbindable", "runbindable"];
        if !ok.contains(&p.as_str()) {
            return Err(refused(&cfg.path, format!("field `linux.rootfsPropagation`: unknown value {p:?}")));
        }
    }
    let join_ns = namespaces::open_all(&ns)?;
    let mut extra_env = vec![];
    if notify.is_some() {
        extra_env.push(format!("NOTIFY_SOCKET={}", activation::NOTIFY_IN_CONTAINER));
        if relay.is_some() {
            extra_env.extend(crate::notify::watchdog_env());
        }
    }
    let mut preserve = o.preserve_fds;
    if let Some(passed) = activation::socket_activation().map_err(at(&cfg.path))? {
        extra_env.push(format!("LISTEN_FDS={}", passed.count));
        extra_env.push("LISTEN_PID=1".into());
        if let Some(names) = passed.names {
            extra_env.push(format!("LISTEN_FDNAMES={names}"));
        }
        preserve += passed.count;
    }
    if let Some(soft) = config::nofile_soft(spec).filter(|_| preserve > 0) {
        config::check_nofile(spec, soft, preserve).map_err(|m| refused(&cfg.path, format!("field `process.rlimits` (RLIMIT_NOFILE): {m}")))?;
    }
    let new_userns = ns.has_new(LinuxNamespaceType::User);
    let security = crate::process::Security::compile(process, &linux, spec.annotations().as_ref(), new_userns, preserve).map_err(at(&cfg.path))?;
    let cgroup_path = cgroups::path_for(linux.cgroups_path().as_deref(), &o.id).map_err(at(&cfg.path))?;
    let hooks = spec.hooks().clone().unwrap_or_default();
    let has_runtime_hooks = hooks.prestart().as_ref().is_some_and(|h| !h.is_empty()) || hooks.create_runtime().as_ref().is_some_and(|h| !h.is_empty());
    let init = InitArgs {
        id: o.id.clone(),
        spec: cfg.spec.clone(),
        rootfs: cfg.rootfs.clone(),
        mounts,
        devices: devs,
        join_ns,
        unshare_cgroup: ns.unshare_cgroup,
        new_userns,
        cgroup_path: cgroup_path.clone(),
        security,
        no_pivot: o.no_pivot,
        host_mntns: !has_mnt,
        no_new_keyring: o.no_new_keyring,
        fifo: None,
        extra_env,
        has_runtime_hooks,
        bundle: cfg.bundle.clone(),
        host_pid: 0,
    };
    Ok(Prepared { cfg, ns, init, console_sock, cgroup_path, netguard })
}

/// Create, shared with `run`.
pub fn launch(o: &Options) -> Result<Launched, CreateError> {
    // Asked first (cached): the state root check, the cgroup plan and the claim depend on
    // it, and an unreadable uid_map should not reach the user behind the config's name.
    crate::rootless::rootless()?;
    // The relay's socket lives in the state root: the root is checked, and a live id refused,
    // before anything is bound or unlinked there (ContainerDir::create decides again below).
    let relay = if o.foreground && std::env::var_os("NOTIFY_SOCKET").is_some() {
        crate::state::ContainerDir::check_new(&o.root, &o.id)?;
        crate::notify::Relay::open(&o.root, &o.id)?
    } else {
        None
    };
    let Prepared { cfg, ns, mut init, console_sock, cgroup_path, netguard } = prepare(o, relay.as_ref().map(|r| r.path()))?;
    // A stop request that came while we validated: nothing is made yet.
    crate::signals::check()?;
    let planned = cgroups::plan(&cgroup_path).map_err(at(&cfg.path))?;
    let mut state = ContainerState {
        id: o.id.clone(),
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
        let snap = crate::rootfs::hostns::snapshot(&cfg.rootfs).map_err(step("read /proc/self/mountinfo"))?;
        state.host_mounts = Some(snap);
    }
    // The id is claimed first, with the cgroup directories this create may make already in
    // its state: a second create of a live id says "already exists", and a runtime killed
    // from here on leaves an entry that `delete` can clean up completely.
    let dir = ContainerDir::create(&o.root, &o.id, &state)?;
    let mut guard = CreateGuard {
        armed: true,
        root: o.root.clone(),
        id: o.id.clone(),
        dir_path: dir.dir.clone(),
        child: None,
        cgroup: planned,
        host_mounts: state.host_mounts.clone(),
        cgroup_path: cgroup_path.clone(),
    };
    claim_cgroup(&o.root, &o.id, &cgroup_path, &mut guard.cgroup, &dir, &mut state, &cfg.path)?;
    super::snapshot::save(&dir, &cfg.spec)?;

    // The start barrier: a fifo the init holds open read-write (so opening never blocks)
    // and reads one byte from; `start` writes that byte.
    let fifo = dir.fifo_path();
    let what = |verb: &str| format!("{verb} {}", fifo.display());
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).map_err(|e| step(&what("mkfifo"))(e.into()))?;
    init.fifo = Some(std::fs::OpenOptions::new().read(true).write(true).open(&fifo).map_err(|e| step(&what("open"))(e))?.into());

    let linux = cfg.spec.linux().clone().unwrap_or_default();
    if ns.new_time {
        setup_time_namespace(&linux)?;
    }
    let mut close_in_child = vec![dir.lock_fd()];
    close_in_child.extend(console_sock.as_ref().map(|s| s.as_raw_fd()));
    // Limits are in place before the init exists; it is born in (or enters first thing) the
    // cgroups they are in, so it never runs outside them.
    let resources = |source| CreateError::Resources { path: cfg.path.clone(), source };
    let entry = cgroups::prepare(&cgroup_path, linux.resources().as_ref(), &guard.cgroup).map_err(resources)?;
    let after_clone = entry.is_none();
    // Dropped before the guard on any error: the init is killed and reaped (and its socket
    // closed) before the guard removes what was made for it.
    let spawned =
        spawn::spawn(ns.clone_flags, ns.join_pid.as_deref(), &close_in_child, entry, move |chan| crate::init::run(init, chan)).map_err(|e| match e {
            spawn::SpawnError::Cgroup(source) => resources(source),
            e => e.into(),
        })?;
    let pid = spawned.child.pid();
    state.pid = pid;
    // Without its start time the init would read as stopped (init_alive) and never be
    // killed by delete: a failed read fails the create, which the guard undoes.
    state.pid_start = crate::state::proc_start_time(pid)
        .map(|(s, _)| s)
        .ok_or_else(|| step("read the init's start time from /proc/PID/stat")(std::io::Error::other(format!("/proc/{pid}/stat unreadable"))))?;

    if after_clone {
        cgroups::setup_after_clone(&cgroup_path, &o.id, pid, linux.resources().as_ref(), &guard.cgroup).map_err(resources)?;
    }
    if ns.has_new(LinuxNamespaceType::User) {
        write_id_maps(pid, &linux)?;
    }
    // The init's pid is on disk before Proceed: a runtime killed after it leaves an init
    // that works on until it next speaks, in cgroups that `delete --force` can only empty
    // by killing that pid (ownership::runtime_killed_at_any_point_of_create_leaves_a_removable_entry).
    dir.save(&state)?;
    // The network guard is attached before the first program of the container's runs: the
    // process itself (after Ready) or a createContainer hook, which the init runs in the
    // container's cgroup without asking first. Without such hooks it is loaded and attached
    // (~0.4 ms of BPF verification) while the init prepares the root on another CPU.
    let early_guard = state.hooks.as_ref().is_some_and(|h| h.create_container().as_ref().is_some_and(|c| !c.is_empty()));
    let attach_guard = || match &netguard {
        Some(g) => g.attach(&cgroup_path).map_err(at(&cfg.path)),
        None => Ok(()),
    };
    if early_guard {
        attach_guard()?;
    }
    let broken = |e: spawn::SpawnError| match e {
        spawn::SpawnError::Interrupted(i) => CreateError::Interrupted(i),
        e => {
            // The sync socket broke: say how the init died (a signal, the OOM killer).
            let limit = linux.resources().as_ref().and_then(|r| r.memory().as_ref()).and_then(|m| m.limit());
            let why = Some(&e).filter(|e| e.is_broken_channel()).and_then(|_| crate::diagnose::explain_init_death(pid, &cgroup_path, limit));
            // Setup inside the container failed: say which config it came from.
            refused(&cfg.path, why.unwrap_or_else(|| crate::error_text(&e)))
        }
    };
    spawn::proceed(&spawned.chan).map_err(broken)?;
    if !early_guard {
        attach_guard()?;
    }
    let runtime_hooks = || -> Result<(), hooks::HookError> {
        let st = hooks::state_json(&state, "creating");
        let h = state.hooks.clone().unwrap_or_default();
        // prestart is deprecated but honoured; it runs with createRuntime, before it.
        hooks::run_all("prestart", h.prestart().as_deref().unwrap_or(&[]), &st)?;
        hooks::run_all("createRuntime", h.create_runtime().as_deref().unwrap_or(&[]), &st)
    };
    let served = spawn::serve_after(&spawned.chan, console_sock.as_ref(), Some(&runtime_hooks));
    let console = served.map(|r| r.console).map_err(broken)?;
    guard.child = Some(spawned.child);
    state.phase = Status::Created;
    dir.save(&state)?;
    if let Some(p) = &o.pid_file {
        super::pid_file::write(p, pid)?;
    }
    // Last look before the caller keeps the container: the guard still undoes everything.
    crate::signals::check()?;
    // On record: the init may wait for `start` now (until this, a runtime killed leaves an
    // init that exits by itself).
    spawned.chan.send(&crate::protocol::ToInit::Recorded).map_err(|e| broken(e.into()))?;
    Ok(Launched { dir, state, console, notify: relay, guard })
}

/// Refuses a cgroup another stored container owns (in this --root and in the default one),
/// then makes the container's cgroup directories, recording in the state what was made.
/// Runs after the id is claimed: two creates racing for one cgroup then see each other.
fn claim_cgroup(
    root: &Path,
    id: &str,
    path: &Path,
    own: &mut cgroups::Ownership,
    dir: &ContainerDir,
    state: &mut ContainerState,
    config: &Path,
) -> Result<(), CreateError> {
    // Root's default root is looked at too (a cgroup is host-wide), except by a rootless
    // runtime: it cannot lock or index root's directory, and it makes cgroups only where
    // it was delegated write access, which root's containers do not share.
    let default = Path::new(crate::DEFAULT_ROOT);
    let also: &[&Path] = if root != default && !crate::rootless::rootless()? { &[default] } else { &[] };
    if let Err(e) = crate::state::claims::claim(root, also, id, path) {
        // The planned directories may be another container's: this cleanup must not touch them.
        own.dirs.clear();
        return Err(at(config)(e));
    }
    cgroups::make_dirs(path, own, &cgroups::ParentRegistry::new(root, id), |o| {
        state.cgroup_dirs = Some(o.clone());
        dir.save(state).map_err(|e| cgroups::CgroupError::Manager { path: dir.dir.clone(), msg: e.to_string() })
    })
    .map_err(at(config))?;
    state.cgroup_dirs = Some(own.clone());
    Ok(())
}

fn setup_time_namespace(linux: &oci_spec::runtime::Linux) -> Result<(), CreateError> {
    nix::sched::unshare(nix::sched::CloneFlags::from_bits_retain(libc::CLONE_NEWTIME))
        .map_err(|e| step("linux.namespaces: create time namespace")(e.into()))?;
    if let Some(offsets) = linux.time_offsets() {
        let mut s = String::new();
        for (clock, off) in offsets {
            let name = match clock.as_str() {
                "monotonic" => "monotonic",
                "boottime" => "boottime",
                other => return Err(CreateError::Invalid(format!("linux.timeOffsets: unknown clock {other:?} (monotonic or boottime)"))),
            };
            s.push_str(&format!("{name} {} {}\n", off.secs().unwrap_or(0), off.nanosecs().unwrap_or(0)));
        }
        std::fs::write("/proc/self/timens_offsets", s).map_err(step("linux.timeOffsets: write /proc/self/timens_offsets"))?;
    }
    Ok(())
}

fn write_id_maps(pid: i32, linux: &oci_spec::runtime::Linux) -> Result<(), CreateError> {
    let fmt = |m: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        m.iter().flatten().map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size())).collect::<String>()
    };
    let uid = fmt(linux.uid_mappings());
    let gid = fmt(linux.gid_mappings());
    if uid.is_empty() || gid.is_empty() {
        return Err(CreateError::Invalid("linux.uidMappings/gidMappings: a new user namespace needs both mappings".into()));
    }
    crate::rootless::deny_setgroups(pid).map_err(step("linux.gidMappings: deny setgroups before the gid map (rootless)"))?;
    std::fs::write(format!("/proc/{pid}/uid_map"), uid).map_err(step("linux.uidMappings: write uid_map"))?;
    std::fs::write(format!("/proc/{pid}/gid_map"), gid).map_err(step("linux.gidMappings: write gid_map"))?;
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
