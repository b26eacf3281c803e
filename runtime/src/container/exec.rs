//! Exec: run another process inside a running container (what `podman exec`, `ctr task
//! exec` and Kubernetes probes use).
//!
//! The new process is spawned like the init (spawn.rs), joins every namespace of the
//! container's init that differs from ours, joins the container's cgroup, and then goes
//! through exactly the same final steps as the init (process.rs) with process security
//! compiled the same way from the config create accepted: seccomp, Landlock, capabilities,
//! no_new_privs, rlimits. It is never more privileged than that config allows.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespaceType, Process};

use super::exec_process::{self, Overrides, ProcessError};
use super::spawn::{self, SpawnError};
use crate::cgroups::{self, CgroupError};
use crate::namespaces;
use crate::process::{Security, SecurityError};
use crate::protocol::{FromInit, InitEnd, ProtocolError, ToInit};
use crate::state::{ContainerDir, ContainerState, StateError, Status};

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot exec in container {id} in state {status}: it must be running")]
    NotRunning { id: String, status: Status },
    #[error(transparent)]
    Snapshot(#[from] super::snapshot::SnapshotError),
    #[error("the container's config snapshot has no process")]
    NoProcess,
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error("exec: user.{field} (from --user, --additional-gids or --process): {msg}")]
    User { field: String, msg: String },
    #[error("exec --tty --detach needs --console-socket")]
    TtyDetach,
    #[error(transparent)]
    Security(#[from] SecurityError),
    #[error(transparent)]
    Console(#[from] crate::tty::TtyError),
    #[error("open {path}: {source}")]
    Open { path: String, source: std::io::Error },
    #[error("container {0} stopped while exec was being prepared")]
    Stopped(String),
    #[error("rootless exec: {0}")]
    Rootless(std::io::Error),
    #[error("block signals for forwarding: {0}")]
    Signals(nix::Error),
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error("detached exec: Ready without the program's pidfd")]
    NoPidfd,
    #[error("detached exec: the program's process is gone before it ran ({path}: no live pid)")]
    ProgramGone { path: String },
    /// The child's report of what failed once the program was to run.
    #[error("{0}")]
    Child(String),
    #[error("sync socket: unexpected {0}")]
    Unexpected(String),
    #[error(transparent)]
    PidFile(#[from] super::pid_file::PidFileError),
    #[error("exec in container {id}: {source}")]
    Wait { id: String, source: crate::foreground::WaitError },
}

fn open_error(path: &str) -> impl FnOnce(std::io::Error) -> ExecError + '_ {
    move |source| ExecError::Open { path: path.to_string(), source }
}

pub struct Options {
    pub process: Overrides,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub preserve_fds: u32,
}

/// Runs the process; returns its exit status (0 when detached).
pub fn exec(root: &Path, id: &str, o: &Options) -> Result<i32, ExecError> {
    let dir = ContainerDir::open(root, id, false)?;
    let st = dir.load()?;
    match st.status(&dir) {
        Status::Running | Status::Created => {}
        status => return Err(ExecError::NotRunning { id: id.to_string(), status }),
    }
    let spec = super::snapshot::load(&dir)?;
    let base = spec.process().clone().ok_or(ExecError::NoProcess)?;
    let process = exec_process::build(&o.process, &base)?;
    let u = process.user();
    crate::config::check_user_ids(u.uid(), u.gid(), u.additional_gids().as_deref().unwrap_or(&[])).map_err(|(field, msg)| ExecError::User { field, msg })?;
    let terminal = process.terminal().unwrap_or(false);
    if terminal && o.console_socket.is_none() && o.detach {
        return Err(ExecError::TtyDetach);
    }
    let joins = joins_of(&st)?;
    let linux = spec.linux().clone().unwrap_or_default();
    let sec = Security::compile(&process, &linux, spec.annotations().as_ref(), joins.userns, o.preserve_fds)?;
    let console_sock = match (&o.console_socket, terminal) {
        (Some(p), true) => Some(crate::tty::connect_console_socket(p)?),
        _ => None,
    };
    if !st.init_alive() {
        return Err(ExecError::Stopped(id.to_string()));
    }
    // Blocked before the child exists so that no signal meant for it is lost; the child
    // inherits the mask and clears it before exec.
    let forwarder = if o.detach { None } else { Some(crate::foreground::Forwarder::new().map_err(ExecError::Signals)?) };
    let mut close_in_child = vec![dir.lock_fd()];
    close_in_child.extend(console_sock.as_ref().map(|s| s.as_raw_fd()));
    let Joins { mut setns, pid_ns, chroot_to, .. } = joins;
    // Before the pid namespace is entered for the child: a runtime that is not root needs
    // the container's user namespace to join the rest (rootless.rs).
    crate::rootless::join_user_namespace_first(&mut setns).map_err(ExecError::Rootless)?;
    let detach = o.detach;
    // exec -d: forked inside the container for its init to reap, unless a supervisor above
    // the init reaps it as runc's contract has it (exec_reaper.rs).
    let split = detach && !crate::exec_reaper::caller_reaps(st.pid, sec.self_exe);
    let entry = cgroups::prepare_join(st.cgroup_dirs.as_ref())?;
    let after_clone = entry.is_none();
    let spawned = spawn::spawn(CloneFlags::empty(), pid_ns.as_deref(), &close_in_child, entry, move |chan| {
        tenant(&chan, setns, chroot_to, &process, &sec, detach, split)
    })?;
    let pid = spawned.child.pid();
    // On any error the child is killed and reaped (spawned is dropped).
    if after_clone {
        cgroups::join(&st.cgroup_path, &st.id, pid, st.cgroup_dirs.as_ref())?;
    }
    let ready = spawn::serve(&spawned.chan, console_sock.as_ref(), None)?;
    let program = if o.detach {
        // Split: the program's process, forked inside the container by our child: its pid
        // as we see it, then the word to exec. Otherwise our child is the program, left to
        // the caller's subreaper when we exit.
        let program = if split {
            let pidfd = ready.fd.ok_or(ExecError::NoPidfd)?;
            let program = pidfd_pid(&pidfd)?;
            spawned.chan.send(&ToInit::Proceed)?;
            program
        } else {
            pid
        };
        // The socket closes (close-on-exec) once the program runs: return then, as for a
        // foreground exec, not while the runtime's code still runs there.
        match spawned.chan.recv_with_fd() {
            Err(ProtocolError::Eof) => {}
            Ok((FromInit::Error { msg }, _)) => return Err(ExecError::Child(msg)),
            Ok((other, _)) => return Err(ExecError::Unexpected(format!("{other:?}"))),
            Err(e) => return Err(e.into()),
        }
        if split {
            // Our child forked the program and exits: reap it so it leaves no zombie.
            spawned.child.reap();
        } else {
            spawned.child.keep();
        }
        program
    } else {
        spawned.child.keep()
    };
    if let Some(p) = &o.pid_file {
        super::pid_file::write(p, program)?;
    }
    if o.detach {
        return Ok(0);
    }
    drop(dir);
    let waited = forwarder.map(|f| f.wait(pid, ready.console.as_ref())).transpose();
    Ok(waited.map_err(|source| ExecError::Wait { id: id.to_string(), source })?.unwrap_or(0))
}

/// What the new process must enter to be in the container.
struct Joins {
    /// Every namespace of the init's that is not already ours (the pid namespace apart).
    setns: Vec<(LinuxNamespaceType, OwnedFd)>,
    /// The init's pid namespace, entered for our children before clone.
    pid_ns: Option<PathBuf>,
    userns: bool,
    /// A container without a mount namespace of its own shares ours and lives chroot'ed in
    /// its rootfs (rootfs/hostns.rs): the new process must enter that root too, or it would
    /// run at the host's.
    chroot_to: Option<OwnedFd>,
}

fn joins_of(st: &ContainerState) -> Result<Joins, ExecError> {
    use std::os::unix::fs::MetadataExt;
    let mut j = Joins { setns: vec![], pid_ns: None, userns: false, chroot_to: None };
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
        let ours = format!("/proc/self/ns/{name}");
        // Only a namespace type this kernel lacks is skipped: any other failed read would
        // leave the process in the runtime's namespace of that type (fail closed).
        let m2 = match std::fs::metadata(&ours) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(open_error(&ours)(e)),
        };
        let m1 = std::fs::metadata(&theirs).map_err(open_error(&theirs))?;
        if m1.ino() == m2.ino() {
            if t == LinuxNamespaceType::Mount {
                let root = format!("/proc/{}/root", st.pid);
                j.chroot_to = Some(OwnedFd::from(std::fs::File::open(&root).map_err(open_error(&root))?));
            }
            continue;
        }
        let fd: OwnedFd = std::fs::File::open(&theirs).map_err(open_error(&theirs))?.into();
        if t == LinuxNamespaceType::Pid {
            j.pid_ns = Some(PathBuf::from(theirs));
        } else {
            j.userns |= t == LinuxNamespaceType::User;
            j.setns.push((t, fd));
        }
    }
    Ok(j)
}

/// The pid (in our pid namespace) of the process behind a pidfd, from its fdinfo.
fn pidfd_pid(pidfd: &OwnedFd) -> Result<i32, ExecError> {
    let path = format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd());
    let info = std::fs::read_to_string(&path).map_err(open_error(&path))?;
    let pid = info.lines().find_map(|l| l.strip_prefix("Pid:")).and_then(|v| v.trim().parse::<i32>().ok());
    match pid {
        Some(p) if p > 0 => Ok(p),
        _ => Err(ExecError::ProgramGone { path }),
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
                crate::sys::exit_now(1)
            }
            Ok(())
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            let code = match crate::sys::pidfd_open(child.as_raw()) {
                Ok(pidfd) => i32::from(chan.send_with_fd(&FromInit::Ready, Some(pidfd.as_raw_fd())).is_err()),
                Err(e) => {
                    let _ = chan.send_error(&format!("detached exec: pidfd_open: {e}"));
                    1
                }
            };
            // The child is orphaned to the container's init.
            crate::sys::exit_now(code)
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
    sec: &Security,
    detach: bool,
    split: bool,
) -> ! {
    let fail = |msg: String| -> ! { spawn::fail(chan, &msg) };
    // Never dumpable while the runtime's code runs in the container (as the init, step 2).
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        fail(format!("prctl(PR_SET_DUMPABLE, 0): {e}"));
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
    if let Err(e) = spawn::child_terminal(chan, process) {
        fail(e.to_string());
    }
    let mut plan = match crate::process::finalize(process, sec, &[]) {
        Ok(p) => p,
        Err(e) => fail(e.to_string()),
    };
    if split {
        if let Err(e) = split_detached(chan) {
            fail(e);
        }
    }
    let report = |msg: &str| {
        let _ = chan.send_error(msg);
    };
    if detach {
        plan.report = Some(&report);
    }
    if !split && chan.send(&FromInit::Ready).is_err() {
        crate::sys::exit_now(1)
    }
    crate::process::exec(&plan, sec)
}
