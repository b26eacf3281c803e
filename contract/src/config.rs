//! Loading and validating a bundle's config.json.
//!
//! Parsing is oci-spec's serde model read through serde_path_to_error, so a type error names
//! the JSON path ("process.capabilities.bounding[2]") instead of only a line and column.
//! `validate` then checks what the types cannot: everything is checked here, before anything
//! is created, so that a bad config leaves nothing behind.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

// Explicit paths: spec-gen compiles this file too (#[path] from spec-gen/src/lib.rs), so that
// it refuses what the runtime would refuse; the paths resolve the same from both crates.
#[path = "config/shape.rs"]
mod shape;
#[path = "config/sysctl.rs"]
mod sysctl;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source} (is --bundle the directory that holds config.json?)")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: field `{field}`: {msg}")]
    Parse { path: PathBuf, field: String, msg: String },
    #[error("{path}: field `{field}`: {msg}")]
    Invalid { path: PathBuf, field: String, msg: String },
}

/// A config that passed `validate`, with the rootfs made absolute.
pub struct Config {
    pub spec: Spec,
    pub path: PathBuf,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
}

pub fn load(bundle: &Path) -> Result<Config, ConfigError> {
    let path = bundle.join("config.json");
    let bytes = std::fs::read(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
    let spec = parse(&path, &bytes)?;
    let bundle = std::fs::canonicalize(bundle).unwrap_or_else(|_| bundle.to_path_buf());
    let root = spec.root().as_ref().ok_or_else(|| invalid(&path, "root", "missing: set root.path to the rootfs directory (e.g. \"rootfs\")"))?;
    if root.path().as_os_str().is_empty() {
        // "" would join to the bundle directory itself and fail much later, inside.
        return Err(invalid(&path, "root.path", "is empty: set it to the rootfs directory (e.g. \"rootfs\")"));
    }
    let rootfs = if root.path().is_absolute() { root.path().clone() } else { bundle.join(root.path()) };
    let rootfs = std::fs::canonicalize(&rootfs)
        .map_err(|e| invalid(&path, "root.path", &format!("{}: {e}: create the rootfs directory or fix the path", rootfs.display())))?;
    if !rootfs.is_dir() {
        return Err(invalid(&path, "root.path", &format!("{} is not a directory", rootfs.display())));
    }
    let cfg = Config { spec, path, bundle, rootfs };
    validate(&cfg)?;
    Ok(cfg)
}

/// Everything `create` checks about a config.json that does not need the host: for tools
/// that write configs (spec-gen) and want the runtime's verdict before anyone runs them.
#[allow(dead_code)] // the runtime itself uses load(); spec-gen calls this
pub fn check_bytes(path: &Path, bytes: &[u8]) -> Result<Spec, ConfigError> {
    let spec = parse(path, bytes)?;
    let cfg = Config { spec, path: path.to_path_buf(), bundle: PathBuf::new(), rootfs: PathBuf::new() };
    validate(&cfg)?;
    Ok(cfg.spec)
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Spec, ConfigError> {
    // The common case is a valid config: one tokenisation into a Value, whose shape and
    // strings are checked (serde would take `[]` for an object, and a NUL byte would only
    // fail at exec without a field name), then typed without reading the bytes again. Only
    // when that fails is the file read again through serde_path_to_error, whose (large) code
    // then names the field. This keeps the error path's code off the start path.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        let mut at = String::new();
        if let Err(msg) = shape::check(&value, &shape::SPEC, &mut at) {
            return Err(ConfigError::Parse { path: path.to_path_buf(), field: if at.is_empty() { "(top level)".into() } else { at }, msg });
        }
        if let Ok(spec) = serde_json::from_value::<Spec>(value) {
            return Ok(spec);
        }
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let spec: Spec = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        let msg = if inner.is_syntax() || inner.is_eof() {
            format!("invalid JSON at line {} column {}: {inner}", inner.line(), inner.column())
        } else {
            inner.to_string()
        };
        ConfigError::Parse { path: path.to_path_buf(), field: if field == "." { "(top level)".into() } else { field }, msg }
    })?;
    // Trailing bytes (a second object, a stray brace) mean the file is not what was meant.
    de.end().map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        field: "(top level)".into(),
        msg: format!("invalid JSON at line {} column {}: {e}", e.line(), e.column()),
    })?;
    Ok(spec)
}

fn invalid(path: &Path, field: &str, msg: &str) -> ConfigError {
    ConfigError::Invalid { path: path.to_path_buf(), field: field.to_string(), msg: msg.to_string() }
}

/// The lowest RLIMIT_NOFILE soft limit accepted. After setting it the runtime still opens
/// files in the container before exec while it holds its own fds 0-4 (stdio, sync socket,
/// exec fifo): the program to run (measured: a static program fails below 5), and one fd per
/// Landlock path, all held at once. Below this it failed with "Too many open files" naming
/// the program, not the limit; 16 leaves the program itself a few.
pub const MIN_NOFILE: u64 = 16;
/// fds the init holds while it applies Landlock: stdio, sync socket, exec fifo, the ruleset.
const FDS_HELD: u64 = 6;

/// runc's bound: ids are non-negative int32s. 4294967295 is (uid_t)-1, which setresuid
/// reads as "leave unchanged": the process would silently keep uid 0.
pub const MAX_ID: u32 = i32::MAX as u32;

/// For config.json and for `exec --user`/`--additional-gids`: each id within 0..=MAX_ID.
/// The error is (field under process.user, message).
pub fn check_user_ids(uid: u32, gid: u32, additional: &[u32]) -> Result<(), (String, String)> {
    let bad = |field: String, v: u32| (field, format!("{v} is outside 0..={MAX_ID} ({v} as a 32-bit id means \"unchanged\" to the kernel): use a real id"));
    if uid > MAX_ID {
        return Err(bad("uid".into(), uid));
    }
    if gid > MAX_ID {
        return Err(bad("gid".into(), gid));
    }
    if let Some((i, g)) = additional.iter().enumerate().find(|(_, g)| **g > MAX_ID) {
        return Err(bad(format!("additionalGids[{i}]"), *g));
    }
    Ok(())
}

/// RLIMIT_NOFILE `soft` against what setup still opens after setting it. `preserved`: fds
/// passed through (--preserve-fds, LISTEN_FDS), which `create` knows and config.json not.
pub fn check_nofile(spec: &Spec, soft: u64, preserved: u32) -> Result<(), String> {
    let landlock_paths = landlock_path_count(spec);
    let floor = MIN_NOFILE.max(FDS_HELD + u64::from(preserved) + landlock_paths + 1);
    if soft >= floor {
        return Ok(());
    }
    let passed = if preserved > 0 { format!(", {preserved} passed-through fd(s)") } else { String::new() };
    Err(format!(
        "RLIMIT_NOFILE soft limit {soft} is below {floor}: after setting it the runtime still opens the program and \
         {landlock_paths} Landlock path(s) in the container beside its own {FDS_HELD} fds{passed}, and the program needs a few: \
         raise it to at least {floor}"
    ))
}

/// The soft RLIMIT_NOFILE the config sets, if any.
pub fn nofile_soft(spec: &Spec) -> Option<u64> {
    spec.process().as_ref()?.rlimits().as_ref()?.iter().find(|r| matches!(r.typ(), oci_spec::runtime::PosixRlimitType::RlimitNofile)).map(|r| r.soft())
}

/// Paths in the org.ocirt.landlock.fs.* annotations (the init holds one fd per path). A
/// malformed value counts 0 here: landlock.rs reports it with its own message.
fn landlock_path_count(spec: &Spec) -> u64 {
    let Some(a) = spec.annotations() else { return 0 };
    a.iter()
        .filter(|(k, _)| k.starts_with("org.ocirt.landlock.fs."))
        .filter_map(|(_, v)| serde_json::from_str::<Vec<serde_json::Value>>(v).ok())
        .map(|v| v.len() as u64)
        .sum()
}

/// The kernel's MAX_ARG_STRLEN: the longest single argument or environment string.
pub const MAX_ARG_STRLEN: usize = 32 * 4096;
/// The stack limit execve's argument space is derived from when the config sets none
/// (the usual 8 MiB default; a quarter of it may hold arguments and environment).
pub const DEFAULT_STACK: u64 = 8 << 20;

/// What execve would refuse with E2BIG, after the whole container was set up: one string
/// longer than MAX_ARG_STRLEN, or all of them (with their pointers) above a quarter of the
/// stack limit. The error is (field, message).
pub fn check_exec_size(args: &[String], env: &[String], stack_soft: Option<u64>) -> Result<(), (String, String)> {
    let mut total = 0usize;
    for (list, name) in [(args, "process.args"), (env, "process.env")] {
        for (i, s) in list.iter().enumerate() {
            if s.len() + 1 > MAX_ARG_STRLEN {
                return Err((
                    format!("{name}[{i}]"),
                    format!("is {} bytes; the kernel takes at most {} per string (MAX_ARG_STRLEN): pass large data in a file", s.len(), MAX_ARG_STRLEN - 1),
                ));
            }
            total += s.len() + 1 + std::mem::size_of::<usize>();
        }
    }
    let stack = stack_soft.unwrap_or(DEFAULT_STACK);
    let room = (stack / 4).min(usize::MAX as u64) as usize;
    if total > room {
        return Err((
            "process.args".into(),
            format!("arguments and environment take {total} bytes; execve takes at most {room} (a quarter of RLIMIT_STACK {stack}): pass large data in a file"),
        ));
    }
    Ok(())
}

/// The kernel's PID_MAX_LIMIT on 64-bit: pids.max refuses anything above it.
pub const MAX_PIDS: i64 = 4 * 1024 * 1024;
/// The smallest CFS quota (and period) the kernel takes, in microseconds.
pub const MIN_CPU_QUOTA: i64 = 1000;

/// Limits the kernel would refuse at cgroup setup with a bare EINVAL.
fn check_resources(r: &oci_spec::runtime::LinuxResources) -> Result<(), (String, String)> {
    if let Some(l) = r.pids().as_ref().map(|p| p.limit()) {
        if l > MAX_PIDS {
            return Err((
                "linux.resources.pids.limit".into(),
                format!("{l} is above the kernel's maximum {MAX_PIDS} (PID_MAX_LIMIT): give at most {MAX_PIDS}, or 0 for no limit"),
            ));
        }
    }
    if let Some(cpu) = r.cpu() {
        if let Some(q) = cpu.quota() {
            if q > 0 && q < MIN_CPU_QUOTA {
                return Err((
                    "linux.resources.cpu.quota".into(),
                    format!("{q} µs is below the kernel's minimum {MIN_CPU_QUOTA} µs per period: give at least {MIN_CPU_QUOTA} (0 or -1: no limit)"),
                ));
            }
        }
        if let Some(period) = cpu.period() {
            if period != 0 && !(1000..=1_000_000).contains(&period) {
                return Err(("linux.resources.cpu.period".into(), format!("{period} µs is outside the kernel's 1000..=1000000")));
            }
        }
    }
    Ok(())
}

fn has_proc_mount(spec: &Spec) -> bool {
    spec.mounts().iter().flatten().any(|m| {
        let dest = m.destination().components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect::<PathBuf>();
        dest == Path::new("/proc") && (m.typ().as_deref() == Some("proc") || m.source().as_deref() == Some(Path::new("/proc")))
    })
}

/// Without a mount namespace the container's mounts are made in the runtime's namespace,
/// under the rootfs (rootfs/hostns.rs). What would change a mount the host already has,
/// rather than add one under the rootfs, is refused.
fn check_shared_mount_ns(p: &Path, spec: &Spec) -> Result<(), ConfigError> {
    const ADD: &str = "add {\"type\":\"mount\"} to linux.namespaces";
    let linux = spec.linux().as_ref();
    if linux.is_some_and(|l| l.masked_paths().as_ref().is_some_and(|v| !v.is_empty()) || l.readonly_paths().as_ref().is_some_and(|v| !v.is_empty())) {
        // runc's own words for the same refusal.
        return Err(invalid(
            p,
            "linux.maskedPaths",
            &format!("unable to restrict sys entries without a private MNT namespace: {ADD}, or empty linux.maskedPaths and linux.readonlyPaths"),
        ));
    }
    if spec.root().as_ref().and_then(|r| r.readonly()).unwrap_or(false) {
        return Err(invalid(
            p,
            "root.readonly",
            &format!("without a private mount namespace this would make the host's mount holding the rootfs read-only: {ADD}, or set it to false"),
        ));
    }
    if linux.and_then(|l| l.rootfs_propagation().as_ref()).is_some_and(|r| !r.is_empty()) {
        return Err(invalid(
            p,
            "linux.rootfsPropagation",
            &format!("without a private mount namespace this would change the propagation of the host's root: {ADD}, or remove it"),
        ));
    }
    Ok(())
}

/// Semantic checks that the runtime-spec requires and serde cannot express.
pub fn validate(cfg: &Config) -> Result<(), ConfigError> {
    let p = &cfg.path;
    let spec = &cfg.spec;
    if spec.version().is_empty() {
        return Err(invalid(p, "ociVersion", "missing: set it to the runtime-spec version, e.g. \"1.2.0\""));
    }
    if !spec.version().starts_with("1.") {
        return Err(invalid(p, "ociVersion", &format!("{:?} is not a 1.x runtime-spec version", spec.version())));
    }
    let process = spec.process().as_ref().ok_or_else(|| invalid(p, "process", "missing: create and run need a process to start"))?;
    let args = process.args().as_ref().filter(|a| !a.is_empty());
    if args.is_none() && process.command_line().is_none() {
        return Err(invalid(p, "process.args", "missing or empty: give the program to run, e.g. [\"/bin/sh\"]"));
    }
    // Fail closed: a protection or placement the config asks for that this runtime cannot
    // apply here is an error, never silently dropped.
    if process.apparmor_profile().as_ref().is_some_and(|p| !p.is_empty()) {
        return Err(invalid(p, "process.apparmorProfile", "AppArmor is not supported by this runtime: remove the field (use seccomp and Landlock)"));
    }
    if process.selinux_label().as_ref().is_some_and(|l| !l.is_empty()) {
        return Err(invalid(p, "process.selinuxLabel", "SELinux is not supported by this runtime: remove the field"));
    }
    if let Some(s) = process.scheduler() {
        use oci_spec::runtime::LinuxSchedulerPolicy as P;
        if matches!(s.policy(), P::SchedIso) {
            return Err(invalid(p, "process.scheduler.policy", "SCHED_ISO does not exist in Linux: use SCHED_OTHER, SCHED_BATCH or SCHED_IDLE"));
        }
    }
    let user = process.user();
    check_user_ids(user.uid(), user.gid(), user.additional_gids().as_deref().unwrap_or(&[]))
        .map_err(|(field, msg)| invalid(p, &format!("process.user.{field}"), &msg))?;
    if !process.cwd().is_absolute() {
        return Err(invalid(p, "process.cwd", &format!("{:?} must be an absolute path", process.cwd())));
    }
    if let Some(env) = process.env() {
        for (i, e) in env.iter().enumerate() {
            if !e.contains('=') {
                return Err(invalid(p, &format!("process.env[{i}]"), &format!("{e:?} is not KEY=VALUE")));
            }
        }
    }
    let stack = process.rlimits().iter().flatten().find(|r| matches!(r.typ(), oci_spec::runtime::PosixRlimitType::RlimitStack)).map(|r| r.soft());
    check_exec_size(process.args().as_deref().unwrap_or(&[]), process.env().as_deref().unwrap_or(&[]), stack)
        .map_err(|(field, msg)| invalid(p, &field, &msg))?;
    if let Some(rl) = process.rlimits() {
        let mut seen = Vec::new();
        for (i, r) in rl.iter().enumerate() {
            if matches!(r.typ(), oci_spec::runtime::PosixRlimitType::RlimitNofile) {
                check_nofile(spec, r.soft(), 0).map_err(|msg| invalid(p, &format!("process.rlimits[{i}]"), &msg))?;
            }
            if r.soft() > r.hard() {
                return Err(invalid(p, &format!("process.rlimits[{i}]"), "soft limit is above the hard limit"));
            }
            if seen.contains(&r.typ()) {
                return Err(invalid(p, &format!("process.rlimits[{i}].type"), "duplicate rlimit type"));
            }
            seen.push(r.typ());
        }
    }
    let linux = spec.linux().as_ref();
    let namespaces = linux.and_then(|l| l.namespaces().as_ref());
    let mut seen = HashSet::new();
    let has = |t: LinuxNamespaceType| namespaces.is_some_and(|ns| ns.iter().any(|n| n.typ() == t));
    if let Some(ns) = namespaces {
        for (i, n) in ns.iter().enumerate() {
            if !seen.insert(n.typ()) {
                return Err(invalid(p, &format!("linux.namespaces[{i}].type"), &format!("namespace {} is listed twice", n.typ())));
            }
            if let Some(path) = n.path() {
                if !path.is_absolute() {
                    return Err(invalid(p, &format!("linux.namespaces[{i}].path"), "must be an absolute path"));
                }
                if let Err(e) = std::fs::metadata(path) {
                    return Err(invalid(p, &format!("linux.namespaces[{i}].path"), &format!("{}: {e}", path.display())));
                }
            }
        }
    }
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(invalid(p, "hostname", "setting a hostname needs a new uts namespace: add {\"type\":\"uts\"} to linux.namespaces"));
    }
    if spec.domainname().as_ref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(invalid(p, "domainname", "setting a domainname needs a new uts namespace: add {\"type\":\"uts\"} to linux.namespaces"));
    }
    if !has(LinuxNamespaceType::Mount) {
        check_shared_mount_ns(p, spec)?;
    }
    if let Some(linux) = linux {
        let userns = has(LinuxNamespaceType::User);
        if (linux.uid_mappings().is_some() || linux.gid_mappings().is_some()) && !userns {
            return Err(invalid(p, "linux.uidMappings", "id mappings need a user namespace: add {\"type\":\"user\"} to linux.namespaces"));
        }
        if linux.time_offsets().is_some() && !has(LinuxNamespaceType::Time) {
            return Err(invalid(p, "linux.timeOffsets", "time offsets need a time namespace: add {\"type\":\"time\"}"));
        }
        if let Some(sysctl) = linux.sysctl() {
            for key in sysctl.keys() {
                if key.contains("..") || key.starts_with('/') || key.is_empty() {
                    return Err(invalid(p, &format!("linux.sysctl.{key}"), "not a sysctl name"));
                }
                sysctl::check(key, namespaces.map(|v| v.as_slice()).unwrap_or(&[])).map_err(|msg| invalid(p, &format!("linux.sysctl.{key}"), &msg))?;
            }
        }
        // The runtime masks, makes read-only and writes sysctls through /proc inside the
        // container (by fd, /proc/self/fd/N): without a /proc mount that fails much later with
        // an error about /dev/null or a missing file.
        let needs_proc = [
            ("linux.maskedPaths", linux.masked_paths().as_ref().is_some_and(|v| !v.is_empty())),
            ("linux.readonlyPaths", linux.readonly_paths().as_ref().is_some_and(|v| !v.is_empty())),
            ("linux.sysctl", linux.sysctl().as_ref().is_some_and(|v| !v.is_empty())),
        ];
        if let Some((field, _)) = needs_proc.iter().find(|(_, used)| *used) {
            if !has_proc_mount(spec) {
                return Err(invalid(
                    p,
                    field,
                    "needs /proc inside the container, and `mounts` has no /proc: add \
                    {\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"} to mounts (or remove this field)",
                ));
            }
        }
        for (i, path) in linux.masked_paths().iter().flatten().enumerate() {
            if !path.starts_with('/') {
                return Err(invalid(p, &format!("linux.maskedPaths[{i}]"), "must be an absolute path"));
            }
        }
        for (i, path) in linux.readonly_paths().iter().flatten().enumerate() {
            if !path.starts_with('/') {
                return Err(invalid(p, &format!("linux.readonlyPaths[{i}]"), "must be an absolute path"));
            }
        }
        for (i, d) in linux.devices().iter().flatten().enumerate() {
            let plain = d.path().components().all(|c| matches!(c, std::path::Component::RootDir | std::path::Component::Normal(_)));
            if !d.path().is_absolute() || !plain || !d.path().starts_with("/dev") || d.path() == Path::new("/dev") {
                return Err(invalid(
                    p,
                    &format!("linux.devices[{i}].path"),
                    &format!("{:?} must be a plain absolute path under /dev (no \".\" or \"..\")", d.path()),
                ));
            }
        }
        if let Some(cp) = linux.cgroups_path() {
            if cp.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
                return Err(invalid(p, "linux.cgroupsPath", "must not contain \"..\""));
            }
            if !cp.as_os_str().is_empty() && !cp.components().any(|c| matches!(c, std::path::Component::Normal(_))) {
                return Err(invalid(p, "linux.cgroupsPath", "must name a cgroup below the hierarchy root, e.g. \"/ocirt/<id>\""));
            }
        }
        if let Some(r) = linux.resources() {
            check_resources(r).map_err(|(field, msg)| invalid(p, &field, &msg))?;
        }
        if linux.mount_label().as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(invalid(p, "linux.mountLabel", "SELinux is not supported by this runtime: remove the field"));
        }
        if linux.memory_policy().is_some() {
            return Err(invalid(p, "linux.memoryPolicy", "NUMA memory policies are not supported by this runtime: remove the field"));
        }
        if linux.net_devices().as_ref().is_some_and(|d| !d.is_empty()) {
            return Err(invalid(p, "linux.netDevices", "moving network devices is not supported by this runtime: remove the field"));
        }
        if linux.intel_rdt().is_some() {
            return Err(invalid(p, "linux.intelRdt", "Intel RDT is not supported by this runtime: remove the field"));
        }
        if linux.personality().is_some() {
            // handled in init; nothing to check beyond the enum
        }
    }
    if let Some(v) = spec.annotations().as_ref().and_then(|a| a.get("org.ocirt.init")) {
        if v != "true" && v != "false" {
            return Err(invalid(p, "annotations.org.ocirt.init", &format!("{v:?}: use \"true\" or \"false\"")));
        }
    }
    if let Some(mounts) = spec.mounts() {
        for (i, m) in mounts.iter().enumerate() {
            if !m.destination().is_absolute() {
                return Err(invalid(p, &format!("mounts[{i}].destination"), &format!("{:?} must be an absolute path", m.destination())));
            }
            if m.uid_mappings().is_some() || m.gid_mappings().is_some() {
                return Err(invalid(p, &format!("mounts[{i}].uidMappings"), "idmapped mounts are not supported: remove the mappings"));
            }
        }
    }
    if let Some(hooks) = spec.hooks() {
        let lists = [
            ("prestart", hooks.prestart()),
            ("createRuntime", hooks.create_runtime()),
            ("createContainer", hooks.create_container()),
            ("startContainer", hooks.start_container()),
            ("poststart", hooks.poststart()),
            ("poststop", hooks.poststop()),
        ];
        for (name, list) in lists {
            for (i, h) in list.iter().flatten().enumerate() {
                if !h.path().is_absolute() {
                    return Err(invalid(p, &format!("hooks.{name}[{i}].path"), "must be an absolute path"));
                }
                if h.timeout().is_some_and(|t| t <= 0) {
                    return Err(invalid(p, &format!("hooks.{name}[{i}].timeout"), "must be greater than zero"));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Spec, ConfigError> {
        parse(Path::new("/b/config.json"), s.as_bytes())
    }

    #[test]
    fn type_errors_name_the_field() {
        let e = parse_str(r#"{"ociVersion":"1.2.0","process":{"cwd":"/","user":{"uid":"zero","gid":0}}}"#).err().unwrap().to_string();
        assert!(e.contains("process.user.uid"), "{e}");
        let e = parse_str(r#"{"ociVersion":"1.2.0","process":{"cwd":"/","user":{"uid":0,"gid":0},"capabilities":{"bounding":["CAP_FOO"]}}}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("process.capabilities.bounding[0]") && e.contains("CAP_FOO"), "{e}");
        let e = parse_str(r#"{"ociVersion":"1.2.0","linux":{"namespaces":[{"type":"bogus"}]}}"#).err().unwrap().to_string();
        assert!(e.contains("linux.namespaces[0].type"), "{e}");
        let e = parse_str(r#"{"ociVersion":"1.2.0"} }"#).err().unwrap().to_string();
        assert!(e.contains("trailing"), "{e}");
        let e = parse_str("{\"ociVersion\": ").err().unwrap().to_string();
        assert!(e.contains("invalid JSON"), "{e}");
    }

    #[test]
    fn a_good_config_parses() {
        assert!(parse_str(r#"{"ociVersion":"1.2.0","process":{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0}},"root":{"path":"rootfs"}}"#).is_ok());
    }
}
