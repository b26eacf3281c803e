//! The container's init: everything that happens inside the new namespaces, from clone to
//! execve, as one linear sequence. Each step's comment says why it sits where it does.
//!
//! Steps 16-21 (the process itself) live in process.rs, shared with `exec`.
//!
//! This runs in a forked copy of the runtime (no re-exec): all parsing, validation and
//! compilation (mount plan, seccomp BPF, Landlock policy, capability sets) was done by the
//! runtime before clone, so the init only executes a plan. Failures are sent back over the
//! sync socket as `FromInit::Error` and become the runtime's error; the init then exits.

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::protocol::{FromInit, InitEnd, ToInit};
use crate::rootfs::{self, devices, plan::PlannedMount};
use crate::setup_error::{step, SetupError};

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
    /// Capabilities, seccomp, Landlock: compiled by the runtime as for `exec`.
    pub security: crate::process::Security,
    pub no_pivot: bool,
    /// No mount namespace of its own: mounts are made in the runtime's, then chroot
    /// (rootfs/hostns.rs).
    pub host_mntns: bool,
    pub no_new_keyring: bool,
    /// Read end of the start barrier (the exec fifo, opened O_RDWR so open never blocks).
    /// Set by `launch` once the container's state directory exists.
    pub fifo: Option<OwnedFd>,
    pub extra_env: Vec<String>,
    pub has_runtime_hooks: bool,
    pub bundle: PathBuf,
    /// Filled in by the init itself.
    pub host_pid: u32,
}

/// Entry point in the child after clone. Never returns.
pub fn run(args: InitArgs, chan: InitEnd) -> ! {
    let code = match sequence(args, &chan) {
        Ok(never) => match never {},
        Err(e) => {
            let msg = e.to_string();
            // The runtime may have exited already (after create); then stderr is all we have.
            if chan.send_error(&msg).is_err() {
                eprintln!("runtime init: {msg}");
            }
            1
        }
    };
    crate::sys::exit_now(code)
}

enum Never {}

fn sequence(mut a: InitArgs, chan: &InitEnd) -> Result<Never, SetupError> {
    // 1. Wait until the runtime has put us in the cgroup and written our id maps: before
    //    that, memory we touch is charged elsewhere and, in a user namespace, we have no uid.
    chan.expect(ToInit::Proceed)?;
    // Our pid as the runtime sees it, for the hooks' state: /proc is still the host's here.
    // Unreadable is an error: a hook given pid 0 would act on the wrong process (or none).
    let link = step!("read this process's host pid from /proc/self", std::fs::read_link("/proc/self"))?;
    a.host_pid = step!("read this process's host pid from /proc/self", link.to_str().and_then(|s| s.parse().ok()).ok_or(format!("{link:?} is not a pid")))?;

    // In a new user namespace we start as an unmapped uid: become its root now that the
    // maps exist, or creating mount points would fail with EOVERFLOW.
    if a.new_userns {
        step!("become root of the user namespace", nix::unistd::setresgid(0.into(), 0.into(), 0.into()))?;
        step!("become root of the user namespace", nix::unistd::setresuid(0.into(), 0.into(), 0.into()))?;
    }

    // 2. Never dumpable while we still run the runtime's code: other processes in the
    //    container cannot ptrace us or open /proc/1/exe (the runtime binary) through us.
    step!("prctl(PR_SET_DUMPABLE, 0)", nix::sys::prctl::set_dumpable(false))?;

    // 3. Join existing namespaces, user first: it decides which others we may join.
    for (t, fd) in &a.join_ns {
        crate::namespaces::join(*t, fd)?;
    }
    a.join_ns.clear();
    // 4. A new cgroup namespace only now, after the runtime moved us into our cgroup, so its
    //    root is the container's cgroup.
    if a.unshare_cgroup {
        step!("unshare cgroup namespace", nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP))?;
    }
    // 5. Our own session: detaches from the runtime's terminal; required for a ctty later.
    //    A fresh child is never a group leader, so a failure means something is wrong.
    step!("setsid", nix::unistd::setsid())?;
    // 6. A fresh session keyring, so the container cannot read the host's keys.
    if !a.no_new_keyring {
        join_session_keyring(&a.id)?;
    }

    let linux = a.spec.linux().clone().unwrap_or_default();
    let process = a.spec.process().clone().expect("validated: process present");

    // 7. The rootfs, while host paths (bind sources, the host's /proc) are still reachable.
    let root = if a.host_mntns {
        step!("open rootfs", rootfs::hostns::open_rootfs(&a.rootfs))?
    } else {
        step!("prepare rootfs", rootfs::pivot::prepare(&a.rootfs, linux.rootfs_propagation().as_deref().is_some_and(|p| p.contains("private"))))?
    };
    if rootfs::sources::deferred(&a.mounts) {
        let writable = !a.spec.root().as_ref().and_then(|r| r.readonly()).unwrap_or(false);
        step!("bind sources (rootless)", rootfs::sources::open_all(&mut a.mounts, &a.rootfs, writable))?;
    }
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
        chan.send(&FromInit::RunCreateRuntimeHooks)?;
        chan.expect(ToInit::HooksDone)?;
    }
    // 9. createContainer hooks: in the container's mount namespace, before pivot_root.
    if let Some(h) = a.spec.hooks().as_ref().and_then(|h| h.create_container().clone()) {
        let st = hook_state_json(&a, "creating");
        step!("createContainer hooks", crate::hooks::run_all("createContainer", &h, st.as_bytes()))?;
    }

    // 10. The runtime's own binary, identified before we leave the host's view, so that the
    //     final exec can refuse to run it inside the container (CVE-2019-5736 class).
    // 11. Enter the rootfs. From here on every path is a container path.
    if a.host_mntns {
        step!("enter rootfs (chroot: no mount namespace)", rootfs::hostns::enter(&root))?;
    } else {
        step!("enter rootfs", rootfs::pivot::pivot(&root, a.no_pivot))?;
    }
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
        step!("domainname", crate::sys::setdomainname(d))?;
    }
    crate::container::spawn::child_terminal(chan, &process)?;

    // 15. The container-wide execution domain.
    if let Some(p) = linux.personality() {
        // PER_LINUX32 is 0x0008 (linux/personality.h); PER_LINUX is 0.
        let dom = match p.domain() {
            oci_spec::runtime::LinuxPersonalityDomain::PerLinux32 => 0x0008,
            oci_spec::runtime::LinuxPersonalityDomain::PerLinux => 0,
        };
        step!("linux.personality", nix::sys::personality::set(nix::sys::personality::Persona::from_bits_retain(dom)))?;
    }

    // 16-18. The process itself: limits, the program, identity, capabilities, cwd, fds,
    //        no_new_privs and Landlock (see process.rs for the order and why).
    let sec = &a.security;
    let mut plan = crate::process::finalize(&process, sec, &a.extra_env)?;
    plan.reaper = a.spec.annotations().as_ref().and_then(|m| m.get(crate::reaper::ANNOTATION)).is_some_and(|v| v == "true");

    // 19. Ready: the runtime records us as created and says so (Recorded); a runtime that
    //     dies before that leaves nothing on record that would ever `start` us: exit. Then
    //     wait for `start` on the fifo.
    chan.send(&FromInit::Ready)?;
    if chan.expect(ToInit::Recorded).is_err() {
        crate::sys::exit_now(1);
    }
    let mut b = [0u8; 1];
    loop {
        let Some(fifo) = a.fifo.as_ref() else { return Err(SetupError::step("start barrier", "internal: no start fifo")) };
        match nix::unistd::read(fifo, &mut b) {
            Ok(1) => break,
            Err(nix::Error::EINTR) => continue,
            _ => crate::sys::exit_now(1),
        }
    }
    if let Some(h) = a.spec.hooks().as_ref().and_then(|h| h.start_container().clone()) {
        let st = hook_state_json(&a, "created");
        if let Err(e) = crate::hooks::run_all("startContainer", &h, st.as_bytes()) {
            eprintln!("runtime init: {e}");
            crate::sys::exit_now(1)
        }
    }
    // 20-21. seccomp as late as possible, then execve (process.rs).
    crate::process::exec(&plan, sec)
}

/// KEYCTL_JOIN_SESSION_KEYRING with a new named keyring. Only a kernel without keyrings
/// (ENOSYS: no keys to leak) lets the start continue; anything else, including EPERM from a
/// seccomp filter around the runtime, fails it with the way out (`--no-new-keyring` keeps
/// the caller's session keyring knowingly, as runc's flag does).
fn join_session_keyring(id: &str) -> Result<(), SetupError> {
    let name = CString::new(format!("_ses.{id}")).map_err(|_| SetupError::step("session keyring", "the container id contains a NUL byte"))?;
    let Err(err) = crate::sys::join_session_keyring(&name) else { return Ok(()) };
    let hint = match err.raw_os_error() {
        Some(libc::ENOSYS) => return Ok(()),
        Some(libc::EDQUOT) => {
            " (the key quota of this user is exhausted: raise /proc/sys/kernel/keys/maxkeys and maxbytes \
             (root_maxkeys/root_maxbytes for root) or clear unused keyrings, or pass --no-new-keyring to \
             keep the caller's session keyring)"
        }
        _ => " (pass --no-new-keyring to keep the caller's session keyring instead)",
    };
    Err(SetupError::step("join a new session keyring", format!("{err}{hint}")))
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
