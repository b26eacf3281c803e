//! Loading and validating a bundle's config.json.
//!
//! Parsing is oci-spec's serde model read through serde_path_to_error, so a type error names
//! the JSON path ("process.capabilities.bounding[2]") instead of only a line and column.
//! `validate` then checks what the types cannot: everything is checked here, before anything
//! is created, so that a bad config leaves nothing behind.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

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
    let rootfs = if root.path().is_absolute() { root.path().clone() } else { bundle.join(root.path()) };
    let rootfs = std::fs::canonicalize(&rootfs).map_err(|e| {
        invalid(&path, "root.path", &format!("{}: {e}: create the rootfs directory or fix the path", rootfs.display()))
    })?;
    if !rootfs.is_dir() {
        return Err(invalid(&path, "root.path", &format!("{} is not a directory", rootfs.display())));
    }
    let cfg = Config { spec, path, bundle, rootfs };
    validate(&cfg)?;
    Ok(cfg)
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Spec, ConfigError> {
    // The common case is a valid config: plain serde_json. Only when that fails is the file
    // read again through serde_path_to_error, whose (large) code then names the field. This
    // keeps the error path's code off the start path.
    if let Ok(spec) = serde_json::from_slice::<Spec>(bytes) {
        return Ok(spec);
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
    if let Some(rl) = process.rlimits() {
        let mut seen = HashSet::new();
        for (i, r) in rl.iter().enumerate() {
            if r.soft() > r.hard() {
                return Err(invalid(p, &format!("process.rlimits[{i}]"), "soft limit is above the hard limit"));
            }
            if !seen.insert(format!("{:?}", r.typ())) {
                return Err(invalid(p, &format!("process.rlimits[{i}].type"), "duplicate rlimit type"));
            }
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
                return Err(invalid(p, &format!("linux.devices[{i}].path"), &format!("{:?} must be a plain absolute path under /dev (no \".\" or \"..\")", d.path())));
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
        let e = parse_str(r#"{"ociVersion":"1.2.0","process":{"cwd":"/","user":{"uid":0,"gid":0},"capabilities":{"bounding":["CAP_FOO"]}}}"#).err().unwrap().to_string();
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
