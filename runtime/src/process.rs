//! The last steps before a container process runs its program, shared by the container's
//! init and by `exec`: limits, finding the program, identity, capabilities, cwd, fds,
//! no_new_privs, Landlock, seccomp, execve.
//!
//! Order, and why:
//! - rlimits and oom_score_adj first, while privileged: raising a hard limit or lowering
//!   the score needs capabilities that are dropped below.
//! - The program is looked up (container PATH) as root before any "ready" report, so a typo
//!   fails `create`/`exec` with a clear message. After chdir it is opened once and executed
//!   through that fd; the runtime's own binary is refused, also as a `#!` interpreter at any
//!   depth (CVE-2019-5736 class, see shebang.rs).
//! - The bounding set is dropped while CAP_SETPCAP is still held. Without no_new_privs,
//!   Landlock and seccomp need CAP_SYS_ADMIN, so they go before the uid switch (the profile
//!   must then allow the remaining setup syscalls, as with runc).
//! - keep-caps across setresuid keeps the permitted set the config grants; then the exact
//!   sets; umask; chdir as the user (a directory only root may enter is an error).
//! - Every fd past stdio and the preserved ones becomes close-on-exec before any seccomp
//!   filter (the profile need not allow close_range); after chdir the cwd is checked to be
//!   inside the container (a leaked host directory fd would not be: CVE-2024-21626).
//! - With no_new_privs: set it, then Landlock; seccomp waits until just before execve so the
//!   filter only has to allow execveat (how the program is run), not the sync socket or the
//!   start barrier.

mod security;
mod shebang;

pub use security::{Security, SecurityError};

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::sys::resource::Resource;
use oci_spec::runtime::Process;

use crate::setup_error::{step, SetupError};

/// What execve needs, built before the last privileges go (no allocation after seccomp).
pub struct ExecPlan<'a> {
    /// The program, opened close-on-exec after chdir; executed through this fd (execveat),
    /// never by path again.
    prog: std::os::fd::OwnedFd,
    /// Shown in errors.
    exe: String,
    argv: Vec<CString>,
    env: Vec<CString>,
    nnp: bool,
    /// Keep a minimal init as PID 1 (reaper.rs) and run the program as its child.
    pub reaper: bool,
    /// Set when a runtime still waits for the outcome (a detached `exec`): a failure to
    /// start the program goes there instead of to stderr, so the runtime reports it once.
    pub report: Option<&'a dyn Fn(&str)>,
}

pub fn finalize<'a>(process: &Process, sec: &Security, extra_env: &[String]) -> Result<ExecPlan<'a>, SetupError> {
    // The signal mask survives execve: whatever the runtime had blocked (for forwarding)
    // must not stay blocked in the container's program.
    step!("signal mask", nix::sys::signal::SigSet::empty().thread_set_mask())?;
    for r in process.rlimits().iter().flatten() {
        let (name, resource) = rlimit_resource(r.typ());
        if let Err(e) = nix::sys::resource::setrlimit(resource, r.soft(), r.hard()) {
            return Err(SetupError::step(
                format!("process.rlimits {name} {}:{}", r.soft(), r.hard()),
                format!("{} (a hard limit above the runtime's own needs CAP_SYS_RESOURCE: lower it)", std::io::Error::from(e)),
            ));
        }
    }
    if let Some(adj) = process.oom_score_adj() {
        step!("process.oomScoreAdj", std::fs::write("/proc/self/oom_score_adj", adj.to_string()))?;
    }
    if let Some(io) = process.io_priority() {
        step!("process.ioPriority", set_io_priority(io))?;
    }
    if let Some(s) = process.scheduler() {
        step!("process.scheduler", set_scheduler(s))?;
    }
    if let Some(cpus) = process.exec_cpu_affinity().as_ref().and_then(|a| a.cpu_affinity_final().clone().or_else(|| a.initial().clone())) {
        step!("process.execCPUAffinity", set_affinity(&cpus))?;
    }

    let env = build_env(process, extra_env);
    let argv: Vec<String> = process.args().clone().unwrap_or_default();
    let first = argv.first().ok_or_else(|| SetupError::step("process.args", "empty"))?;
    // A relative name with a '/' is resolved against process.cwd, as the kernel would, so it
    // is looked up only after chdir below; anything else is checked now, before "ready".
    let relative = first.contains('/') && !first.starts_with('/');
    let exe = if relative { PathBuf::from(first) } else { step!("process.args[0]", find_executable(first, &env))? };

    let nnp = process.no_new_privileges().unwrap_or(false);
    // Before any filter: without no_new_privs the profile is installed below, and marking
    // fds close-on-exec (close_range) must not depend on the profile allowing it.
    step!("close inherited fds", crate::sys::cloexec_from(3 + sec.preserve_fds))?;
    step!("capabilities", sec.caps.drop_bounding())?;
    if !nnp {
        if let Some(l) = &sec.landlock {
            step!("landlock", l.apply())?;
        }
        if let Some(s) = &sec.seccomp {
            // The cwd check below calls getcwd, which the profile may refuse: check the
            // same path now, before the filter (as root; chdir as the user follows).
            if nix::unistd::chdir(process.cwd()).is_ok() {
                step!("process.cwd", check_cwd_inside(false))?;
            }
            step!("linux.seccomp", s.install())?;
        }
    }
    let user = process.user();
    step!("keep capabilities across the uid switch", caps::securebits::set_keepcaps(true))?;
    if sec.setgroups_allowed {
        let gids: Vec<nix::unistd::Gid> = user.additional_gids().iter().flatten().map(|g| nix::unistd::Gid::from_raw(*g)).collect();
        step!("process.user.additionalGids", nix::unistd::setgroups(&gids))?;
    } else if user.additional_gids().as_ref().is_some_and(|g| !g.is_empty()) {
        // Asked for and not possible: refused, not dropped.
        step!(
            "process.user.additionalGids",
            Err::<(), _>(std::io::Error::other(
                "setgroups(2) is not allowed in this user namespace (no gid map, or a rootless runtime, which must deny it): remove additionalGids"
            ))
        )?;
    }
    let gid = nix::unistd::Gid::from_raw(user.gid());
    step!("process.user.gid", nix::unistd::setresgid(gid, gid, gid))?;
    let uid = nix::unistd::Uid::from_raw(user.uid());
    step!("process.user.uid", nix::unistd::setresuid(uid, uid, uid))?;
    step!("keep capabilities across the uid switch", caps::securebits::set_keepcaps(false))?;
    step!("capabilities", sec.caps.apply())?;
    if let Some(mask) = user.umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    step!(format!("process.cwd {}", process.cwd().display()), nix::unistd::chdir(process.cwd()))?;
    step!("process.cwd", check_cwd_inside(!nnp && sec.seccomp.is_some()))?;
    let cstr = |s: &str| CString::new(s.as_bytes()).map_err(|_| SetupError::step("process.args", format!("{s:?} contains a NUL byte")));
    let argv: Vec<CString> = argv.iter().map(|s| cstr(s)).collect::<Result<_, _>>()?;
    let (prog, argv) = step!("process.args[0]", shebang::open_program(exe.as_os_str().as_bytes(), argv, sec.self_exe))?;
    if nnp {
        step!("process.noNewPrivileges", nix::sys::prctl::set_no_new_privs())?;
        if let Some(l) = &sec.landlock {
            step!("landlock", l.apply())?;
        }
    }
    Ok(ExecPlan { prog, exe: exe.display().to_string(), argv, env: env.iter().map(|s| cstr(s)).collect::<Result<_, _>>()?, nnp, reaper: false, report: None })
}

/// seccomp (with no_new_privs) and execve. Never returns: on failure the error goes to the
/// process's stderr (the runtime may be gone) and it exits, so a filter that cannot be
/// installed never lets the program run unfiltered.
pub fn exec(plan: &ExecPlan, sec: &Security) -> ! {
    if plan.nnp {
        if let Some(s) = &sec.seccomp {
            if let Err(e) = s.install() {
                fail_report(plan, &format!("linux.seccomp: {e}"));
                crate::sys::exit_now(1)
            }
        }
    }
    if plan.reaper {
        // Returns only in the child that is to run the program.
        crate::reaper::split();
    }
    let err = shebang::exec_fd(&plan.prog, &plan.argv, &plan.env);
    let hint = match err.raw_os_error() {
        Some(libc::EPERM | libc::ENOSYS) if sec.seccomp.is_some() => " (the program is run with execveat: the seccomp profile must allow it)",
        _ => "",
    };
    fail_report(plan, &format!("exec {}: {err}{hint}", plan.exe));
    crate::sys::exit_now(if err.raw_os_error() == Some(libc::ENOENT) { 127 } else { 126 })
}

/// A failure after the last "ready": to the waiting runtime if there is one (which prints
/// it), else to stderr.
fn fail_report(plan: &ExecPlan, msg: &str) {
    match plan.report {
        Some(report) => report(msg),
        None => eprintln!("runtime: {msg}"),
    }
}

fn set_io_priority(io: &oci_spec::runtime::LinuxIOPriority) -> Result<(), String> {
    use oci_spec::runtime::IOPriorityClass as C;
    let class: i64 = match io.class() {
        C::IoprioClassRt => 1,
        C::IoprioClassBe => 2,
        C::IoprioClassIdle => 3,
    };
    if !(0..=7).contains(&io.priority()) {
        return Err(format!("priority {} is outside 0-7", io.priority()));
    }
    // IOPRIO_PRIO_VALUE(class, data) = class << 13 | data.
    crate::sys::ioprio_set_self(class, io.priority()).map_err(|e| e.to_string())
}

fn set_scheduler(s: &oci_spec::runtime::Scheduler) -> Result<(), String> {
    use oci_spec::runtime::{LinuxSchedulerFlag as F, LinuxSchedulerPolicy as P};
    let policy = match s.policy() {
        P::SchedOther => 0,
        P::SchedFifo => 1,
        P::SchedRr => 2,
        P::SchedBatch => 3,
        P::SchedIso => return Err("SCHED_ISO is not implemented by Linux".into()),
        P::SchedIdle => 5,
        P::SchedDeadline => 6,
    };
    let mut flags = 0u64;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            F::SchedResetOnFork => 0x01,
            F::SchedFlagReclaim => 0x02,
            F::SchedFlagDLOverrun => 0x04,
            F::SchedFlagKeepPolicy => 0x08,
            F::SchedFlagKeepParams => 0x10,
            F::SchedFlagUtilClampMin => 0x20,
            F::SchedFlagUtilClampMax => 0x40,
        };
    }
    let attr = crate::sys::SchedAttr {
        size: 0,
        policy,
        flags,
        nice: s.nice().unwrap_or(0),
        priority: s.priority().unwrap_or(0) as u32,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
    };
    crate::sys::sched_setattr_self(attr).map_err(|e| e.to_string())
}

/// "0-3,7" → sched_setaffinity.
fn set_affinity(list: &str) -> Result<(), String> {
    let mut set = nix::sched::CpuSet::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<usize>(), b.trim().parse::<usize>()),
            None => (part.trim().parse::<usize>(), part.trim().parse::<usize>()),
        };
        let (Ok(a), Ok(b)) = (a, b) else { return Err(format!("{list:?} is not a CPU list like \"0-3,7\"")) };
        for cpu in a..=b {
            set.set(cpu).map_err(|e| format!("cpu {cpu}: {e}"))?;
        }
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).map_err(|e| e.to_string())
}

fn build_env(process: &Process, extra: &[String]) -> Vec<String> {
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

/// The working directory is inside the container's root (CVE-2024-21626 class: a cwd
/// outside it shows as "(unreachable)" or ENOENT). `filtered`: a seccomp filter is in place
/// and the same path passed this check before it; an errno the filter may have made up
/// (anything but ENOENT) then says nothing about the directory.
fn check_cwd_inside(filtered: bool) -> Result<(), String> {
    match nix::unistd::getcwd() {
        Ok(p) if p.is_absolute() && !p.as_os_str().as_bytes().starts_with(b"(unreachable)") => Ok(()),
        Ok(p) => Err(format!("working directory {} is outside the container", p.display())),
        Err(e) if filtered && e != nix::Error::ENOENT => Ok(()),
        Err(e) => Err(format!("working directory is outside the container ({e})")),
    }
}

/// The name (for messages) and resource number of an OCI rlimit type.
fn rlimit_resource(t: oci_spec::runtime::PosixRlimitType) -> (&'static str, Resource) {
    use oci_spec::runtime::PosixRlimitType as T;
    match t {
        T::RlimitAs => ("RLIMIT_AS", Resource::RLIMIT_AS),
        T::RlimitCore => ("RLIMIT_CORE", Resource::RLIMIT_CORE),
        T::RlimitCpu => ("RLIMIT_CPU", Resource::RLIMIT_CPU),
        T::RlimitData => ("RLIMIT_DATA", Resource::RLIMIT_DATA),
        T::RlimitFsize => ("RLIMIT_FSIZE", Resource::RLIMIT_FSIZE),
        T::RlimitLocks => ("RLIMIT_LOCKS", Resource::RLIMIT_LOCKS),
        T::RlimitMemlock => ("RLIMIT_MEMLOCK", Resource::RLIMIT_MEMLOCK),
        T::RlimitMsgqueue => ("RLIMIT_MSGQUEUE", Resource::RLIMIT_MSGQUEUE),
        T::RlimitNice => ("RLIMIT_NICE", Resource::RLIMIT_NICE),
        T::RlimitNofile => ("RLIMIT_NOFILE", Resource::RLIMIT_NOFILE),
        T::RlimitNproc => ("RLIMIT_NPROC", Resource::RLIMIT_NPROC),
        T::RlimitRss => ("RLIMIT_RSS", Resource::RLIMIT_RSS),
        T::RlimitRtprio => ("RLIMIT_RTPRIO", Resource::RLIMIT_RTPRIO),
        T::RlimitRttime => ("RLIMIT_RTTIME", Resource::RLIMIT_RTTIME),
        T::RlimitSigpending => ("RLIMIT_SIGPENDING", Resource::RLIMIT_SIGPENDING),
        T::RlimitStack => ("RLIMIT_STACK", Resource::RLIMIT_STACK),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rlimit_names() {
        use oci_spec::runtime::PosixRlimitType as T;
        assert_eq!(rlimit_resource(T::RlimitNofile), ("RLIMIT_NOFILE", Resource::RLIMIT_NOFILE));
        assert_eq!(rlimit_resource(T::RlimitRttime), ("RLIMIT_RTTIME", Resource::RLIMIT_RTTIME));
    }

    #[test]
    fn affinity_lists() {
        assert!(set_affinity("0").is_ok());
        assert!(set_affinity("x-y").unwrap_err().contains("CPU list"));
    }

    #[test]
    fn path_lookup() {
        let env = vec!["PATH=/nonexistent:/bin".to_string()];
        assert_eq!(find_executable("sh", &env).unwrap(), PathBuf::from("/bin/sh"));
        assert!(find_executable("definitely-not-a-program", &env).unwrap_err().contains("not found in $PATH"));
    }
}
