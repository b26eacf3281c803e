//! `exec`: run another process inside a running container (what `podman exec`, `ctr task
//! exec` and Kubernetes probes use).
//!
//! The new process joins every namespace of the container's init that differs from ours,
//! joins the container's cgroup, and then goes through exactly the same final steps as the
//! init (process.rs): the container's seccomp filter and Landlock policy, the capability
//! sets, no_new_privs. It is never more privileged than the config allows.

use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use oci_spec::runtime::{Capability, LinuxNamespaceType, Process};

use crate::capabilities::CapPlan;
use crate::protocol::{self, FromInit, InitEnd, ToInit};
use crate::state::{ContainerDir, Status};
use crate::{cgroups, namespaces, Cli};

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// JSON file with the process to run (runtime-spec `process` object)
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Detach: do not wait for the process
    #[arg(short, long)]
    pub detach: bool,
    /// Write the process's pid (as the host sees it) to this file
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master when --tty is given
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Allocate a terminal
    #[arg(short, long)]
    pub tty: bool,
    /// Working directory in the container
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Extra environment variables (KEY=VALUE)
    #[arg(short, long)]
    pub env: Vec<String>,
    /// UID[:GID] to run as
    #[arg(short, long)]
    pub user: Option<String>,
    /// Extra supplementary group ids
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Add a capability (CAP_NAME) to the process's sets
    #[arg(short = 'c', long)]
    pub cap: Vec<String>,
    /// Set no_new_privs for the process
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Pass this many extra fds (3, 4, ...) through to the process
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Refused when set: SELinux is not supported
    #[arg(long = "process-label", hide = true)]
    pub process_label: Option<String>,
    /// Refused when set: AppArmor is not supported
    #[arg(long, hide = true)]
    pub apparmor: Option<String>,
    /// Container id
    pub id: String,
    /// Command and arguments (when --process is not given)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

fn build_process(a: &ExecArgs, base: &Process) -> anyhow::Result<Process> {
    if let Some(p) = &a.process {
        let bytes = std::fs::read(p).with_context(|| format!("--process {}", p.display()))?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let process: Process =
            serde_path_to_error::deserialize(de).map_err(|e| anyhow::anyhow!("--process {}: field `{}`: {}", p.display(), e.path(), e.inner()))?;
        if process.apparmor_profile().as_ref().is_some_and(|v| !v.is_empty()) || process.selinux_label().as_ref().is_some_and(|v| !v.is_empty()) {
            bail!("--process {}: field `apparmorProfile`/`selinuxLabel`: not supported by this runtime: remove it", p.display());
        }
        return Ok(process);
    }
    if a.command.is_empty() {
        bail!("exec: give a command to run, or --process FILE");
    }
    let mut p = base.clone();
    p.set_args(Some(a.command.clone()));
    p.set_terminal(Some(a.tty));
    let mut env = base.env().clone().unwrap_or_default();
    env.extend(a.env.iter().cloned());
    p.set_env(Some(env));
    if let Some(cwd) = &a.cwd {
        p.set_cwd(cwd.clone());
    }
    if let Some(u) = &a.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u.parse::<u32>()?, g.parse::<u32>()?),
            None => (u.parse::<u32>().context("--user: give a numeric UID[:GID]")?, 0),
        };
        let user = p.user_mut();
        user.set_uid(uid);
        user.set_gid(gid);
    }
    if !a.additional_gids.is_empty() {
        p.user_mut().set_additional_gids(Some(a.additional_gids.clone()));
    }
    if a.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if !a.cap.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        for name in &a.cap {
            let c: Capability = serde_json::from_value(serde_json::Value::from(name.as_str()))
                .map_err(|_| anyhow::anyhow!("--cap {name:?}: not a capability name (e.g. CAP_NET_RAW)"))?;
            let add = |s: &Option<oci_spec::runtime::Capabilities>| {
                let mut s = s.clone().unwrap_or_default();
                s.insert(c);
                Some(s)
            };
            caps.set_bounding(add(caps.bounding()));
            caps.set_effective(add(caps.effective()));
            caps.set_permitted(add(caps.permitted()));
        }
        p.set_capabilities(Some(caps));
    }
    Ok(p)
}

pub fn run(cli: &Cli, a: &ExecArgs) -> anyhow::Result<i32> {
    // Fail closed: a confinement asked for on the command line that we cannot apply.
    if a.apparmor.as_deref().is_some_and(|p| !p.is_empty()) {
        bail!("exec --apparmor: AppArmor is not supported by this runtime: drop the flag");
    }
    if a.process_label.as_deref().is_some_and(|l| !l.is_empty()) {
        bail!("exec --process-label: SELinux is not supported by this runtime: drop the flag");
    }
    let dir = ContainerDir::open(&cli.root, &a.id, false)?;
    let st = dir.load()?;
    match st.status(&dir) {
        Status::Running | Status::Created => {}
        s => bail!("cannot exec in container {} in state {s}: it must be running", a.id),
    }
    let spec = load_snapshot(&dir)?;
    let base = spec.process().clone().context("the container's config snapshot has no process")?;
    let process = build_process(a, &base)?;
    let u = process.user();
    crate::config::check_user_ids(u.uid(), u.gid(), u.additional_gids().as_deref().unwrap_or(&[]))
        .map_err(|(field, msg)| anyhow::anyhow!("exec: user.{field} (from --user, --additional-gids or --process): {msg}"))?;
    if process.terminal().unwrap_or(false) && a.console_socket.is_none() && a.detach {
        bail!("exec --tty --detach needs --console-socket");
    }
    let linux = spec.linux().clone().unwrap_or_default();
    let caps = CapPlan::from_config(process.capabilities().as_ref())?;
    let seccomp = linux.seccomp().as_ref().map(crate::seccomp::compile).transpose()?;
    let landlock = crate::landlock::policy_from_annotations(&spec.annotations().clone().unwrap_or_default())?;
    let console_sock = match (&a.console_socket, process.terminal().unwrap_or(false)) {
        (Some(p), true) => Some(crate::tty::connect_console_socket(p)?),
        _ => None,
    };
    let self_exe = std::fs::metadata("/proc/self/exe").map(|m| (m.dev(), m.ino()))?;

    // The namespaces to join: every one of the init's that is not already ours.
    let mut join: Vec<(LinuxNamespaceType, OwnedFd)> = vec![];
    let mut pid_ns = None;
    let mut userns = false;
    // A container without a mount namespace of its own shares ours and lives chroot'ed in
    // its rootfs (rootfs/hostns.rs): the new process must enter that root too, or it would
    // run at the host's.
    let mut chroot_to = None;
    for (t, name) in [
        (LinuxNamespaceType::User, "user"),
        (LinuxNamespaceType::Ipc, "ipc"),
        (LinuxNamespaceType::Uts, "uts"),
        (LinuxNamespaceType::Network, "net"),
        (LinuxNamespaceType::Pid, "pid"),
        (LinuxNamespaceType::Cgroup, "cgroup"),
        (LinuxNamespaceType::Time, "time"),
        (LinuxNamespaceType::Mount, "mnt"),
    ] {
        let theirs = format!("/proc/{}/ns/{name}", st.pid);
        let (Ok(m1), Ok(m2)) = (std::fs::metadata(&theirs), std::fs::metadata(format!("/proc/self/ns/{name}"))) else { continue };
        if m1.ino() == m2.ino() {
            if t == LinuxNamespaceType::Mount {
                let root = format!("/proc/{}/root", st.pid);
                chroot_to = Some(OwnedFd::from(std::fs::File::open(&root).with_context(|| format!("open {root}"))?));
            }
            continue;
        }
        let fd: OwnedFd = std::fs::File::open(&theirs).with_context(|| format!("open {theirs}"))?.into();
        if t == LinuxNamespaceType::Pid {
            pid_ns = Some(theirs);
        } else {
            userns |= t == LinuxNamespaceType::User;
            join.push((t, fd));
        }
    }
    if !st.init_alive() {
        bail!("container {} stopped while exec was being prepared", a.id);
    }
    // exec -d: under a subreaper (conmon, containerd's shim) the program is our child, as
    // with runc, so that it reaps it and learns its status; else it is forked inside.
    let split = a.detach && !crate::subreaper::orphans_go_to_a_subreaper()?;
    crate::rootless::join_user_namespace_first(&mut join)?;
    let back = match &pid_ns {
        Some(p) => Some(namespaces::enter_pid_for_children(&PathBuf::from(p))?),
        None => None,
    };
    // Blocked before the child exists so that no signal meant for it is lost; the child
    // inherits the mask and clears it before exec.
    let forwarder = if a.detach { None } else { Some(crate::foreground::Forwarder::new()?) };
    let (parent_chan, child_chan) = protocol::pair()?;
    // SAFETY: single-threaded process (see create.rs).
    let pid = match unsafe { crate::sys::clone_fork(0) } {
        Ok(0) => {
            drop(parent_chan);
            // SAFETY: our copy of the lock fd; see create.rs.
            unsafe { libc::close(dir.lock_fd()) };
            std::mem::forget(dir);
            drop(console_sock);
            let sec = crate::process::Security {
                caps: &caps,
                seccomp: seccomp.as_ref(),
                landlock: landlock.as_ref(),
                setgroups_allowed: !(userns && (linux.gid_mappings().is_none() || crate::rootless::setgroups_denied())),
                preserve_fds: a.preserve_fds,
                self_exe,
            };
            tenant(&child_chan, join, chroot_to, &process, &sec, a.detach, split)
        }
        Ok(pid) => pid,
        Err(e) => bail!("clone: {e}"),
    };
    if let Some(b) = back {
        namespaces::leave_pid_for_children(b);
    }
    drop(child_chan);
    let result = (|| -> anyhow::Result<(Option<OwnedFd>, i32)> {
        cgroups::join(&st.cgroup_path, &st.id, pid, st.cgroup_dirs.as_ref())?;
        parent_chan.send(&ToInit::Proceed)?;
        let mut console = None;
        loop {
            let (msg, fd) = parent_chan.recv_with_fd()?;
            match msg {
                FromInit::Ready if a.detach => {
                    // Split: the program's process, forked inside the container by our
                    // child: its pid as we see it, then the word to exec.
                    let program = if split {
                        let pidfd = fd.context("detached exec: Ready without the program's pidfd")?;
                        let program = pidfd_pid(&pidfd)?;
                        parent_chan.send(&ToInit::Proceed)?;
                        program
                    } else {
                        pid
                    };
                    // The socket closes (close-on-exec) once the program runs: return then,
                    // as for a foreground exec, not while the runtime's code still runs there.
                    return match parent_chan.recv_with_fd() {
                        Err(protocol::ProtocolError::Eof) => Ok((console, program)),
                        Ok((FromInit::Error { msg }, _)) => bail!("{msg}"),
                        Ok((other, _)) => bail!("sync socket: unexpected {other:?}"),
                        Err(e) => Err(e.into()),
                    };
                }
                FromInit::Error { msg } => bail!("{msg}"),
                FromInit::Console => {
                    let master = fd.context("console message without a pty fd")?;
                    match &console_sock {
                        Some(s) => {
                            use std::os::fd::AsFd;
                            crate::tty::send_master(s, master.as_fd())?;
                        }
                        None => console = Some(master),
                    }
                }
                FromInit::Ready => return Ok((console, pid)),
                FromInit::RunCreateRuntimeHooks => bail!("sync socket: unexpected RunCreateRuntimeHooks from exec's child"),
            }
        }
    })();
    let (console, program) = match result {
        Ok(c) => c,
        Err(e) => {
            // SAFETY: kill/waitpid on our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            return Err(e);
        }
    };
    if split {
        // Our child forked the program and exits: reap it so it leaves no zombie.
        // SAFETY: waitpid on our own child.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    }
    if let Some(p) = &a.pid_file {
        super::create::write_pid_file(p, program)?;
    }
    if a.detach {
        return Ok(0);
    }
    drop(dir);
    Ok(forwarder.map(|f| f.wait(pid, console.as_ref())).transpose().with_context(|| format!("exec in container {}", a.id))?.unwrap_or(0))
}

/// The config `create` accepted (state dir), not the bundle's config.json: that file may
/// have been rewritten since, and must not decide an exec'd process's confinement.
fn load_snapshot(dir: &ContainerDir) -> anyhow::Result<oci_spec::runtime::Spec> {
    let path = dir.config_snapshot();
    let bytes = std::fs::read(&path)
        .with_context(|| format!("{}: the config accepted at create (a container made by an older runtime has none: recreate it)", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{}: corrupt config snapshot", path.display()))
}

/// The pid (in our pid namespace) of the process behind a pidfd, from its fdinfo.
fn pidfd_pid(pidfd: &OwnedFd) -> anyhow::Result<i32> {
    use std::os::fd::AsRawFd;
    let path = format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd());
    let info = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
    let pid = info.lines().find_map(|l| l.strip_prefix("Pid:")).and_then(|v| v.trim().parse::<i32>().ok());
    match pid {
        Some(p) if p > 0 => Ok(p),
        _ => bail!("detached exec: the program's process is gone before it ran ({path}: no live pid)"),
    }
}

/// `exec -d`: the program must end up a child of the container's init, not of whoever
/// reaps orphans on the host. An orphan goes to the reaper of its *parent's* pid namespace,
/// so the split happens here, in a process that is already inside the container's pid
/// namespace: the child runs the program, this process reports it and exits. The child
/// waits for the runtime's Proceed, so its pid is known (and written to --pid-file) before
/// the program can run and exit. Returns Ok only in the child.
fn split_detached(chan: &InitEnd) -> Result<(), String> {
    // SAFETY: single-threaded process.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            if chan.expect(ToInit::Proceed).is_err() {
                // SAFETY: plain _exit.
                unsafe { libc::_exit(1) }
            }
            Ok(())
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            use std::os::fd::AsRawFd;
            let code = match crate::sys::pidfd_open(child.as_raw()) {
                Ok(pidfd) => i32::from(chan.send_with_fd(&FromInit::Ready, Some(pidfd.as_raw_fd())).is_err()),
                Err(e) => {
                    let _ = chan.send_error(&format!("detached exec: pidfd_open: {e}"));
                    1
                }
            };
            // SAFETY: plain _exit; the child is orphaned to the container's init.
            unsafe { libc::_exit(code) }
        }
        Err(e) => Err(format!("detached exec: fork inside the container: {e}")),
    }
}

/// The child side: join, then the shared final steps, then exec.
fn tenant(
    chan: &InitEnd,
    join: Vec<(LinuxNamespaceType, OwnedFd)>,
    chroot_to: Option<OwnedFd>,
    process: &Process,
    sec: &crate::process::Security,
    detach: bool,
    split: bool,
) -> ! {
    let fail = |msg: String| -> ! {
        let _ = chan.send_error(&msg);
        // SAFETY: plain _exit.
        unsafe { libc::_exit(1) }
    };
    // Never dumpable while the runtime's code runs in the container (as the init, step 2).
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        fail(format!("prctl(PR_SET_DUMPABLE, 0): {}", std::io::Error::last_os_error()));
    }
    if let Err(e) = chan.expect(ToInit::Proceed) {
        fail(e.to_string());
    }
    for (t, fd) in &join {
        if let Err(e) = namespaces::join(*t, fd) {
            fail(e.to_string());
        }
    }
    drop(join);
    if let Some(root) = chroot_to {
        if let Err(e) = crate::rootfs::hostns::enter(&root) {
            fail(format!("enter the container's root: {e}"));
        }
    }
    let _ = nix::unistd::setsid();
    if process.terminal().unwrap_or(false) {
        let (w, h) = process.console_size().map(|b| (b.width() as u16, b.height() as u16)).unwrap_or((0, 0));
        match crate::tty::open_container_pty(w, h) {
            Ok(master) => {
                use std::os::fd::AsRawFd;
                if let Err(e) = chan.send_with_fd(&FromInit::Console, Some(master.as_raw_fd())) {
                    fail(e.to_string());
                }
            }
            Err(e) => fail(format!("process.terminal: {e}")),
        }
    }
    let mut plan = match crate::process::finalize(process, sec, &[]) {
        Ok(p) => p,
        Err(e) => fail(e.to_string()),
    };
    if split {
        if let Err(e) = split_detached(chan) {
            fail(e);
        }
    } else if chan.send(&FromInit::Ready).is_err() {
        // SAFETY: plain _exit.
        unsafe { libc::_exit(1) }
    }
    let report = |msg: &str| {
        let _ = chan.send_error(msg);
    };
    if detach {
        plan.report = Some(&report);
    }
    crate::process::exec(&plan, sec)
}
