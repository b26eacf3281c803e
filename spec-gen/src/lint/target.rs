//! What is checked: a rootfs and the service's view of it, taken from a
//! service description or from a bundle's config.json.

use super::{Report, Severity};
use crate::accounts::Accounts;
use crate::load::{clean_container_path, Service};
use crate::rootpath::{Place, View};
use crate::values::IdSpec;
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("error: cannot read {path}: {source}\n  fix: give a bundle directory that holds config.json, or a service description")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("error: {path} is not JSON: {reason}\n  fix: regenerate it with `spec-gen bundle`")]
    Json { path: PathBuf, reason: String },
    #[error("error: {path}: {what} is missing\n  fix: regenerate it with `spec-gen bundle`")]
    Missing { path: PathBuf, what: &'static str },
}

#[derive(Debug, Clone)]
pub enum UserRef {
    /// From a description: names are looked up in the rootfs.
    Spec { user: IdSpec, group: Option<IdSpec>, extra: Vec<IdSpec>, origin: String },
    /// From config.json.
    Numeric { uid: u32, gid: u32 },
}

#[derive(Debug, Clone)]
pub struct Bind {
    pub target: String,
    pub source: PathBuf,
    pub rw: bool,
    /// Where it was declared (file:line).
    pub origin: String,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub rootfs: PathBuf,
    pub command: String,
    pub workdir: String,
    pub path_env: String,
    pub ld_library_path: Option<String>,
    pub user: UserRef,
    pub binds: Vec<Bind>,
    /// Mount points whose content exists only at run time.
    pub opaque: Vec<String>,
    /// Rootfs directories that must exist to be kept writable, with their origin.
    pub writable: Vec<(String, String)>,
    pub no_new_privileges: bool,
    pub syslog: bool,
    /// The rootfs is mounted read-write in the container.
    pub rootfs_writable: bool,
}

impl Target {
    pub fn from_service(svc: &Service) -> Target {
        let d = &svc.desc;
        let mut opaque: Vec<String> = crate::mounts::OPAQUE.iter().map(|s| s.to_string()).collect();
        opaque.extend(d.filesystem.tmpfs.iter().map(|t| clean_container_path(t.path.get_ref())));
        Target {
            rootfs: svc.rootfs.clone(),
            command: d.process.command.get_ref().clone(),
            workdir: clean_container_path(d.process.workdir.get_ref()),
            path_env: svc.env.get("PATH").cloned().unwrap_or_else(|| crate::bundle::DEFAULT_PATH.into()),
            ld_library_path: svc.env.get("LD_LIBRARY_PATH").cloned(),
            user: UserRef::Spec {
                user: d.process.user.get_ref().clone(),
                group: d.process.group.as_ref().map(|g| g.get_ref().clone()),
                extra: d.process.supplementary_groups.iter().map(|g| g.get_ref().clone()).collect(),
                origin: svc.location(&d.process.user.span()),
            },
            binds: d
                .binds
                .iter()
                .map(|b| Bind {
                    target: clean_container_path(b.target.get_ref()),
                    source: svc.host_path(b.source.get_ref()),
                    rw: b.mode == crate::description::Access::Rw,
                    origin: svc.location(&b.source.span()),
                })
                .collect(),
            opaque,
            writable: d.filesystem.writable.iter().map(|w| (clean_container_path(w.get_ref()), svc.location(&w.span()))).collect(),
            no_new_privileges: d.security.no_new_privileges,
            syslog: d.syslog,
            rootfs_writable: !d.filesystem.readonly_root,
        }
    }

    /// Reads a bundle; also returns config.json's structural problems.
    pub fn from_bundle(dir: &Path) -> Result<(Target, Vec<String>), TargetError> {
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(|e| TargetError::Read { path: path.clone(), source: e })?;
        let v: Value = serde_json::from_str(&text).map_err(|e| TargetError::Json { path: path.clone(), reason: e.to_string() })?;
        let problems = crate::structure::check(&v);
        let missing = |what| TargetError::Missing { path: path.clone(), what };
        let root = v.pointer("/root/path").and_then(Value::as_str).ok_or_else(|| missing("root.path"))?;
        let args = v.pointer("/process/args").and_then(Value::as_array).ok_or_else(|| missing("process.args"))?;
        let command = args.first().and_then(Value::as_str).ok_or_else(|| missing("process.args[0]"))?;
        let env: Vec<&str> = v.pointer("/process/env").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let get_env = |k: &str| env.iter().find_map(|e| e.strip_prefix(k).and_then(|r| r.strip_prefix('='))).map(str::to_string);
        let num = |p: &str| v.pointer(p).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
        let mut binds = Vec::new();
        let mut opaque = Vec::new();
        for (i, m) in v.pointer("/mounts").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let dest = m.get("destination").and_then(Value::as_str).unwrap_or("/");
            let opts: Vec<&str> = m.get("options").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            let is_bind = m.get("type").and_then(Value::as_str) == Some("bind") || opts.contains(&"bind") || opts.contains(&"rbind");
            if is_bind {
                let src = m.get("source").and_then(Value::as_str).unwrap_or("");
                binds.push(Bind {
                    target: clean_container_path(dest),
                    source: crate::load::host_path(dir, src),
                    rw: !opts.contains(&"ro"),
                    origin: format!("{} mounts[{i}]", path.display()),
                });
            } else {
                opaque.push(clean_container_path(dest));
            }
        }
        let root = crate::load::host_path(dir, root);
        let t = Target {
            rootfs: root.canonicalize().unwrap_or(root),
            command: command.to_string(),
            workdir: v.pointer("/process/cwd").and_then(Value::as_str).map_or("/".into(), clean_container_path),
            path_env: get_env("PATH").unwrap_or_else(|| crate::bundle::DEFAULT_PATH.into()),
            ld_library_path: get_env("LD_LIBRARY_PATH"),
            user: UserRef::Numeric { uid: num("/process/user/uid"), gid: num("/process/user/gid") },
            syslog: binds.iter().any(|b| b.target == "/dev/log"),
            binds: binds.into_iter().filter(|b| b.target != "/dev/log").collect(),
            opaque,
            writable: Vec::new(),
            no_new_privileges: v.pointer("/process/noNewPrivileges").and_then(Value::as_bool).unwrap_or(false),
            rootfs_writable: !v.pointer("/root/readonly").and_then(Value::as_bool).unwrap_or(false),
        };
        Ok((t, problems))
    }

    /// The container's file system as seen from the host.
    pub fn view(&self) -> View {
        let mut v = View::new(&self.rootfs);
        for o in &self.opaque {
            v.opaque(o);
        }
        for b in &self.binds {
            v.bind(&b.target, &b.source);
        }
        v
    }
}

pub fn check_binds(t: &Target, _view: &View, r: &mut Report) {
    let rootfs_only = View::new(&t.rootfs);
    let mut rw: Vec<crate::mounts::WritableSource> = Vec::new();
    if t.rootfs_writable {
        rw.push(crate::mounts::WritableSource { host: t.rootfs.clone(), what: "the rootfs (it is writable)".into() });
    }
    for b in t.binds.iter().filter(|b| b.rw) {
        rw.push(crate::mounts::WritableSource { host: b.source.clone(), what: format!("the read-write bind for {}", b.target) });
    }
    for (p, _) in &t.writable {
        rw.push(crate::mounts::WritableSource { host: t.rootfs.join(p.trim_start_matches('/')), what: format!("filesystem.writable {p}") });
    }
    for b in &t.binds {
        // A rootfs directory bound onto itself (filesystem.writable) is the rootfs's own.
        if b.source == t.rootfs.join(b.target.trim_start_matches('/')) {
            continue;
        }
        if let Some(w) = crate::mounts::writable_holder(&b.source, &rw) {
            r.add(
                Severity::Error,
                b.source.display().to_string(),
                format!(
                    "bind source for {} (declared at {}) lies inside {}, {}: the container could replace it, or a directory on the way, by a symlink and have the runtime mount what that names",
                    b.target, b.origin, w.host.display(), w.what
                ),
                format!("use a source outside every read-write bind source and outside a writable rootfs, or make {} read-only", w.what),
            );
        }
    }
    for b in &t.binds {
        if std::fs::symlink_metadata(&b.source).is_err() {
            r.add(
                Severity::Error,
                b.source.display().to_string(),
                format!("bind source for {} does not exist (declared at {})", b.target, b.origin),
                "create it on the host or correct the bind's source",
            );
            continue;
        }
        match rootfs_only.resolve(&b.target, true) {
            Ok(res) if res.container != b.target => r.add(
                Severity::Warning,
                t.rootfs.join(b.target.trim_start_matches('/')).display().to_string(),
                format!("bind target {} goes through a symbolic link and lands on {}", b.target, res.container),
                format!("use {} as the target", res.container),
            ),
            Ok(_) => {}
            Err(_) => r.add(
                Severity::Note,
                t.rootfs.join(b.target.trim_start_matches('/')).display().to_string(),
                format!("bind target {} does not exist in the rootfs; the runtime will have to create it", b.target),
                format!("create it in the rootfs: mkdir -p {}", t.rootfs.join(b.target.trim_start_matches('/')).display()),
            ),
        }
    }
    if t.syslog && std::fs::metadata("/dev/log").is_err() {
        r.add(
            Severity::Warning,
            "/dev/log",
            "syslog = true but the host has no /dev/log socket",
            "run a syslog daemon or journald on the host, or drop syslog = true",
        );
    }
}

pub fn check_user(t: &Target, view: &View, r: &mut Report) {
    let accounts = match Accounts::read(view) {
        Ok(a) => a,
        Err(e) => {
            r.add(Severity::Error, t.rootfs.join("etc").display().to_string(), e.to_string(), e.fix());
            return;
        }
    };
    let uid = match &t.user {
        UserRef::Spec { user, group, extra, origin } => {
            let extra: Vec<&IdSpec> = extra.iter().collect();
            match accounts.resolve(user, group.as_ref(), &extra) {
                Ok(id) => id.uid,
                Err(e) => {
                    r.add(Severity::Error, origin.clone(), e.to_string(), e.fix());
                    return;
                }
            }
        }
        UserRef::Numeric { uid, gid } => {
            if accounts.user_by_uid(*uid).is_none() {
                r.add(
                    Severity::Note,
                    t.rootfs.join("etc/passwd").display().to_string(),
                    format!("uid {uid} (gid {gid}) has no entry in the rootfs's /etc/passwd"),
                    "add an entry if the program looks up its own user name or home",
                );
            }
            *uid
        }
    };
    if uid == 0 {
        r.add(
            Severity::Warning,
            t.rootfs.join("etc/passwd").display().to_string(),
            "the service runs as root (uid 0) inside the container",
            "set process.user to an unprivileged account",
        );
    }
}

pub fn check_writable(t: &Target, view: &View, r: &mut Report) {
    for (w, origin) in &t.writable {
        let problem = match view.resolve(w, true) {
            Ok(res) => match res.place {
                Place::Host(h) if h.is_dir() => None,
                Place::Host(_) => Some(format!("{} is not a directory", res.container)),
                Place::Opaque(m) => Some(format!("it is below {m}, which is mounted at run time")),
            },
            Err(e) => Some(e.to_string()),
        };
        if let Some(p) = problem {
            r.add(
                Severity::Error,
                origin.clone(),
                format!("writable path {w} cannot be kept writable: {p}"),
                format!("create it: mkdir -p {}", t.rootfs.join(w.trim_start_matches('/')).display()),
            );
        }
    }
}
