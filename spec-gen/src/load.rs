//! Reading a service description: TOML parsing, instance handling and the
//! checks that need more than one key. Every error names `file:line:col`
//! and says how to fix it.

use crate::description::Description;
use crate::envfile;
use crate::instance;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read the service description: {source}\n  fix: check the path and its permissions")]
    Read { path: String, source: io::Error },
    #[error("{location}: error: {message}\n  fix: {fix}")]
    Invalid { location: String, message: String, fix: String },
}

#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Fail when the rootfs directory or a bind source is missing (`bundle`);
    /// `check` loads without it and reports those as findings.
    pub require_paths: bool,
    /// Load for a template unit: `{instance}` becomes systemd's `%i` and no
    /// instance is needed.
    pub template: bool,
}

/// A checked service description, with its instance applied.
#[derive(Debug)]
pub struct Service {
    /// The file as named on the command line.
    pub file: PathBuf,
    /// Absolute directory of the file: the base of relative paths.
    pub dir: PathBuf,
    pub source: String,
    pub desc: Description,
    pub instance: Option<String>,
    /// Absolute host path of the rootfs.
    pub rootfs: PathBuf,
    /// Environment from the env files, then the inline table.
    pub env: BTreeMap<String, String>,
}

/// 1-based line and column of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Joins a host path to a base directory and removes `.` and `..` lexically.
pub fn host_path(base: &Path, p: &str) -> PathBuf {
    let joined = base.join(p);
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The longest path the kernel resolves (PATH_MAX, with its NUL) and path component.
pub const PATH_MAX: usize = 4095;
pub const NAME_MAX: usize = 255;

/// Checks a container path: absolute, no `..`, no NUL, within the kernel's length limits.
pub fn container_path_problem(p: &str) -> Option<&'static str> {
    if p.len() > PATH_MAX {
        Some("is longer than the kernel's 4095-byte PATH_MAX")
    } else if p.split('/').any(|c| c.len() > NAME_MAX) {
        Some("has a component longer than the kernel's 255-byte NAME_MAX")
    } else if !p.starts_with('/') {
        Some("is not an absolute container path")
    } else if p.split('/').any(|c| c == "..") {
        Some("contains `..`")
    } else if p.contains('\0') {
        Some("contains a NUL byte")
    } else {
        None
    }
}

/// Removes duplicate and trailing slashes.
pub fn clean_container_path(p: &str) -> String {
    let parts: Vec<&str> = p.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    format!("/{}", parts.join("/"))
}

impl Service {
    pub fn name(&self) -> &str {
        self.desc.name.get_ref()
    }

    /// Container id and cgroup leaf: `name` or `name@instance`.
    pub fn id(&self) -> String {
        match &self.instance {
            Some(i) => format!("{}@{i}", self.name()),
            None => self.name().to_string(),
        }
    }

    pub fn location(&self, span: &Range<usize>) -> String {
        locate(&self.file, &self.source, Some(span))
    }

    pub fn invalid(&self, span: &Range<usize>, message: String, fix: impl Into<String>) -> LoadError {
        LoadError::Invalid { location: self.location(span), message, fix: fix.into() }
    }

    pub fn host_path(&self, p: &str) -> PathBuf {
        host_path(&self.dir, p)
    }
}

/// `file:line:col (key)`: the position, and the dotted key it falls in, so that the error
/// names what to change even when the reader has no editor at hand.
fn locate(file: &Path, source: &str, span: Option<&Range<usize>>) -> String {
    match span {
        Some(s) => {
            let (l, c) = line_col(source, s.start);
            match key_at(source, s.start) {
                Some(key) => format!("{}:{l}:{c}: `{key}`", file.display()),
                None => format!("{}:{l}:{c}", file.display()),
            }
        }
        None => file.display().to_string(),
    }
}

/// The dotted key path ("process.command", "bind[1].target") whose key or value holds byte
/// `offset` of `source`. Parsed again with spans (only on the error path); the recoverable
/// parser still gives the keys before a syntax error.
pub fn key_at(source: &str, offset: usize) -> Option<String> {
    let (table, _) = toml::de::DeTable::parse_recoverable(source);
    let path = in_table(table.get_ref(), offset)?;
    Some(path)
}

fn covers(r: &Range<usize>, offset: usize) -> bool {
    r.start <= offset && (offset < r.end || (r.is_empty() && r.start == offset))
}

/// A [table] header's spans cover only the header, its keys lie after it: so an entry
/// matches when its key, its value or anything below it covers the offset.
fn in_table(t: &toml::de::DeTable, offset: usize) -> Option<String> {
    for (k, v) in t.iter() {
        let key: &str = k.get_ref().as_ref();
        if let Some(below) = in_value(v.get_ref(), offset) {
            return Some(format!("{key}{below}"));
        }
        if covers(&k.span(), offset) || covers(&v.span(), offset) {
            return Some(key.to_string());
        }
    }
    None
}

/// The path below `v` (".key" or "[i]..."), if something below it covers the offset.
fn in_value(v: &toml::de::DeValue, offset: usize) -> Option<String> {
    match v {
        toml::de::DeValue::Table(t) => in_table(t, offset).map(|p| format!(".{p}")),
        toml::de::DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            in_value(item.get_ref(), offset).map(|p| format!("[{i}]{p}")).or_else(|| covers(&item.span(), offset).then(|| format!("[{i}]")))
        }),
        _ => None,
    }
}

/// Derives a fix from one of serde's or toml's own messages.
fn fix_for(message: &str) -> String {
    const TOP: &[&str] = &["name", "description", "rootfs", "syslog"];
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let key = rest.split('`').next().unwrap_or("");
        if TOP.contains(&key) {
            return format!("`{key}` is a top-level key: move it above the first [table] header");
        }
        return "remove the key or correct its spelling (the valid keys are listed above; docs/service-format.md describes each)".into();
    }
    if message.starts_with("missing field") {
        return "add the missing key (docs/service-format.md describes it)".into();
    }
    if message.starts_with("invalid type") {
        return "change the value to the type named after `expected`".into();
    }
    if message.starts_with("unknown variant") {
        return "use one of the values listed after `expected`".into();
    }
    if message.contains("duplicate key") {
        return "keep only one of the two keys".into();
    }
    "correct the TOML at this position (docs/service-format.md shows the syntax)".into()
}

fn from_toml_error(file: &Path, source: &str, e: &toml::de::Error) -> LoadError {
    let full = e.message().trim();
    let (message, fix) = match full.split_once("; fix: ") {
        Some((m, f)) => (m.to_string(), f.to_string()),
        None => (full.to_string(), fix_for(full)),
    };
    LoadError::Invalid { location: locate(file, source, e.span().as_ref()), message, fix }
}

pub fn load(file: &Path, instance: Option<&str>, opts: LoadOptions) -> Result<Service, LoadError> {
    let source = std::fs::read_to_string(file).map_err(|e| LoadError::Read { path: file.display().to_string(), source: e })?;
    let mut desc: Description = toml::from_str(&source).map_err(|e| from_toml_error(file, &source, &e))?;
    if let Some(span) = nul_string(&source) {
        return Err(LoadError::Invalid {
            location: locate(file, &source, Some(&span)),
            message: "the value contains a NUL byte (\\u0000), which no path, argument or environment string can hold".into(),
            fix: "remove the \\u0000 escape".into(),
        });
    }
    let abs = std::path::absolute(file).map_err(|e| LoadError::Read { path: file.display().to_string(), source: e })?;
    let dir = abs.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"));
    let whole_file = |message: String, fix: String| LoadError::Invalid { location: file.display().to_string(), message, fix };

    for (name, ov) in &desc.instances {
        if !instance::valid_name(name) {
            return Err(LoadError::Invalid {
                location: locate(file, &source, Some(&ov.span())),
                message: format!("instance name `{name}` is not allowed"),
                fix: "use letters, digits, `_`, `-` and `.` only".into(),
            });
        }
    }
    match instance {
        Some(i) => {
            if !instance::valid_name(i) {
                return Err(whole_file(format!("instance name `{i}` is not allowed"), "use letters, digits, `_`, `-` and `.` only (at most 64)".into()));
            }
            if !desc.instances.is_empty() && !desc.instances.contains_key(i) {
                let known: Vec<&str> = desc.instances.keys().map(String::as_str).collect();
                return Err(whole_file(format!("instance `{i}` is not declared"), format!("add an [instances.{i}] table or use one of: {}", known.join(", "))));
            }
            instance::apply_override(&mut desc, i);
            instance::substitute(&mut desc, i);
        }
        None if opts.template => instance::substitute(&mut desc, "%i"),
        None => {
            if let Some(at) = source.find(instance::PLACEHOLDER) {
                return Err(LoadError::Invalid {
                    location: locate(file, &source, Some(&(at..at))),
                    message: "the description uses {instance} but no instance was given".into(),
                    fix: "pass --instance NAME".into(),
                });
            }
        }
    }
    desc.instances.clear();

    let rootfs_raw = desc.rootfs.get_ref().clone();
    let mut rootfs = host_path(&dir, &rootfs_raw);
    if let Ok(c) = rootfs.canonicalize() {
        rootfs = c;
    }
    let mut svc = Service { file: file.to_path_buf(), dir, source, desc, instance: instance.map(str::to_string), rootfs, env: BTreeMap::new() };
    validate(&mut svc, opts)?;
    Ok(svc)
}

fn validate(svc: &mut Service, opts: LoadOptions) -> Result<(), LoadError> {
    let d = &svc.desc;
    let name = d.name.get_ref();
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if !name_ok {
        return Err(svc.invalid(
            &d.name.span(),
            format!("service name `{name}` is not allowed"),
            "start with a letter or digit and use letters, digits, `_`, `-` and `.` only (at most 64)",
        ));
    }
    if opts.require_paths && !svc.rootfs.is_dir() {
        return Err(svc.invalid(
            &d.rootfs.span(),
            format!("rootfs {} does not exist or is not a directory", svc.rootfs.display()),
            format!(
                "build it with `spec-gen rootfs {} --output {}` or correct the path (relative paths start at the description's directory)",
                svc.file.display(),
                svc.rootfs.display()
            ),
        ));
    }
    if d.process.command.get_ref().trim().is_empty() {
        return Err(svc.invalid(&d.process.command.span(), "empty command".into(), "name the program to run"));
    }
    check_container_path(svc, d.process.workdir.get_ref(), &d.process.workdir.span(), "workdir")?;

    let mut targets: BTreeMap<String, Range<usize>> = BTreeMap::new();
    let mut claim = |svc: &Service, path: &str, span: Range<usize>| -> Result<(), LoadError> {
        let clean = clean_container_path(path);
        if clean == "/" {
            return Err(svc.invalid(&span, "cannot mount over /".into(), "pick a directory below /"));
        }
        if let Some(why) = runtime_mount_problem(&clean) {
            return Err(svc.invalid(&span, format!("{clean} {why}"), "pick a path outside /proc, /sys and the runtime's /dev mounts"));
        }
        if let Some(prev) = targets.get(&clean) {
            let (l, _) = line_col(&svc.source, prev.start);
            return Err(svc.invalid(&span, format!("{clean} is already mounted by line {l}"), "keep one mount per container path"));
        }
        targets.insert(clean, span);
        Ok(())
    };
    for b in &d.binds {
        check_container_path(svc, b.target.get_ref(), &b.target.span(), "bind target")?;
        claim(svc, b.target.get_ref(), b.target.span())?;
        let src = svc.host_path(b.source.get_ref());
        if opts.require_paths && std::fs::symlink_metadata(&src).is_err() {
            return Err(svc.invalid(
                &b.source.span(),
                format!("bind source {} does not exist", src.display()),
                "create it on the host or correct the path (relative paths start at the description's directory)",
            ));
        }
    }
    for w in &d.filesystem.writable {
        check_container_path(svc, w.get_ref(), &w.span(), "writable path")?;
        claim(svc, w.get_ref(), w.span())?;
    }
    for t in &d.filesystem.tmpfs {
        check_container_path(svc, t.path.get_ref(), &t.path.span(), "tmpfs path")?;
        claim(svc, t.path.get_ref(), t.path.span())?;
    }
    let mut device_paths = BTreeSet::new();
    for dev in &d.devices {
        let p = dev.path.get_ref();
        if !device_paths.insert(clean_container_path(p)) {
            return Err(svc.invalid(&dev.path.span(), format!("device {p} is declared twice"), "keep one [[device]] table per path"));
        }
        check_container_path(svc, p, &dev.path.span(), "device path")?;
        if !p.starts_with("/dev/") {
            return Err(svc.invalid(&dev.path.span(), format!("device {p} is not below /dev"), "put device nodes in /dev"));
        }
    }
    let l = &d.security.landlock;
    for p in l.read.iter().chain(&l.write).chain(l.exec.iter().flatten()) {
        check_container_path(svc, p.get_ref(), &p.span(), "Landlock path")?;
    }
    if l.enabled && !d.security.no_new_privileges {
        let at = svc.source.find("no_new_privileges").unwrap_or(0);
        return Err(svc.invalid(
            &(at..at),
            "no_new_privileges = false cannot be combined with Landlock (Landlock needs no_new_privs)".into(),
            "set security.landlock.enabled = false as well, or keep no_new_privileges = true",
        ));
    }
    if let Some(s) = &d.security.seccomp {
        let v = s.get_ref();
        if !crate::seccomp::is_builtin(v) && !v.contains('/') && !v.ends_with(".json") {
            return Err(svc.invalid(
                &s.span(),
                format!("unknown seccomp profile `{v}`"),
                "use \"default\", \"strict\", \"udp\", \"unconfined\" or a path to a profile file (e.g. \"./profile.json\")",
            ));
        }
        if opts.require_paths && !crate::seccomp::is_builtin(v) && !svc.host_path(v).is_file() {
            return Err(svc.invalid(
                &s.span(),
                format!("seccomp profile {} does not exist", svc.host_path(v).display()),
                "correct the path (relative paths start at the description's directory)",
            ));
        }
    }
    let r = &d.resources;
    if let Some(m) = &r.memory {
        if m.get_ref().0 < 1 << 20 {
            return Err(svc.invalid(&m.span(), format!("memory limit {} is below 1 MiB", m.get_ref().0), "give at least \"1M\""));
        }
    }
    if let Some(c) = &r.cpus {
        let v = *c.get_ref();
        if !(v > 0.0 && v <= 1024.0) {
            return Err(svc.invalid(&c.span(), format!("cpus = {v} is out of range"), "give a positive number of CPUs, e.g. 0.5"));
        }
        // Below the kernel's minimum quota the limit would round to 0, which the runtime
        // reads as "no limit": refused rather than rounded, so the number written is the
        // number enforced.
        let min = MIN_CPU_QUOTA as f64 / crate::bundle::CPU_PERIOD as f64;
        if (v * crate::bundle::CPU_PERIOD as f64).round() < MIN_CPU_QUOTA as f64 {
            return Err(svc.invalid(
                &c.span(),
                format!("cpus = {v} is below the kernel's smallest CPU limit ({MIN_CPU_QUOTA} µs per {} µs period, {min} CPUs)", crate::bundle::CPU_PERIOD),
                format!("give at least {min}, or remove `cpus` for no CPU limit"),
            ));
        }
    }
    if let Some(p) = &r.pids {
        if *p.get_ref() < 1 || *p.get_ref() > MAX_PIDS {
            return Err(svc.invalid(
                &p.span(),
                format!("pids = {} is out of range", p.get_ref()),
                format!("give 1 to {MAX_PIDS} (the kernel's PID_MAX_LIMIT)"),
            ));
        }
    }
    if let Some(n) = &d.rlimits.nofile {
        if n.soft < MIN_NOFILE {
            let span = key_span(&svc.source, &["rlimits", "nofile"]).unwrap_or(0..0);
            return Err(svc.invalid(
                &span,
                format!("nofile = {} is below {MIN_NOFILE}: the runtime opens files in the container after setting it, and the program needs some", n.soft),
                format!("give at least {MIN_NOFILE} (Landlock paths need one more each)"),
            ));
        }
    }

    // Environment: env files first, then the inline table.
    let mut env = BTreeMap::new();
    for f in d.process.env_files.iter().filter(|_| !opts.template) {
        let path = svc.host_path(f.get_ref());
        let text = std::fs::read_to_string(&path)
            .map_err(|e| svc.invalid(&f.span(), format!("cannot read env file {}: {e}", path.display()), "create the file or correct the path"))?;
        let pairs = envfile::parse(&text).map_err(|e| LoadError::Invalid {
            location: format!("{}:{}", path.display(), e.line),
            message: e.message.clone(),
            fix: "write one KEY=VALUE per line; `#` starts a comment".into(),
        })?;
        env.extend(pairs);
    }
    for (k, v) in &d.process.env {
        if !envfile::valid_name(k) {
            let at = svc.source.find(k.as_str()).unwrap_or(0);
            return Err(svc.invalid(
                &(at..at),
                format!("`{k}` is not a valid environment variable name"),
                "use letters, digits and `_`, not starting with a digit",
            ));
        }
        env.insert(k.clone(), v.clone());
    }
    svc.env = env;
    check_exec(svc, opts)?;

    let net = &svc.desc.network;
    if net.udp && net.udp_bind.is_empty() && net.udp_connect.is_empty() && svc.desc.security.landlock.enabled {
        let at = svc.source.find("udp").unwrap_or(0);
        return Err(svc.invalid(
            &(at..at),
            "`network.udp = true` declares no UDP port, and the network guard refuses UDP to every undeclared port".into(),
            "list the ports in network.udp_connect (e.g. [53] for DNS) and/or network.udp_bind",
        ));
    }
    for name in &net.abstract_unix_bind {
        let n = name.get_ref();
        let problem = if n.is_empty() {
            Some("is empty")
        } else if n.len() > 107 {
            Some("is longer than 107 bytes, the most an abstract unix name can hold")
        } else if n.contains('\0') {
            Some("contains a NUL byte")
        } else {
            None
        };
        if let Some(p) = problem {
            return Err(svc.invalid(
                &name.span(),
                format!("abstract unix name {n:?} {p}"),
                "write the name that follows the leading NUL byte, e.g. \"my-service.sock\"",
            ));
        }
    }
    let d = &mut svc.desc;
    for ports in [&mut d.network.tcp_bind, &mut d.network.tcp_connect, &mut d.network.udp_bind, &mut d.network.udp_connect] {
        let set: BTreeSet<_> = ports.drain(..).collect();
        ports.extend(set);
    }
    Ok(())
}

use crate::runtime_config::{MAX_PIDS, MIN_CPU_QUOTA, MIN_NOFILE};

/// Container paths the runtime mounts itself (spec-gen's standard mounts): a bind, tmpfs or
/// writable path there would hide or fight them, and the runtime needs /proc for masking.
fn runtime_mount_problem(clean: &str) -> Option<&'static str> {
    let under = |top: &str| clean == top || clean.starts_with(&format!("{top}/"));
    if under("/proc") || under("/sys") {
        Some("is inside /proc or /sys, which the runtime mounts itself")
    } else if ["/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"].contains(&clean) {
        Some("is a mount the runtime makes itself")
    } else {
        None
    }
}

/// The span of the first string value (or key) holding a NUL byte, anywhere.
fn nul_string(source: &str) -> Option<Range<usize>> {
    let (table, _) = toml::de::DeTable::parse_recoverable(source);
    fn in_table(t: &toml::de::DeTable) -> Option<Range<usize>> {
        t.iter().find_map(|(k, v)| {
            let key: &str = k.get_ref().as_ref();
            if key.contains('\0') {
                return Some(k.span());
            }
            in_value(v)
        })
    }
    fn in_value(v: &toml::Spanned<toml::de::DeValue>) -> Option<Range<usize>> {
        match v.get_ref() {
            toml::de::DeValue::String(s) => s.contains('\0').then(|| v.span()),
            toml::de::DeValue::Table(t) => in_table(t),
            toml::de::DeValue::Array(a) => a.iter().find_map(in_value),
            _ => None,
        }
    }
    in_table(table.get_ref())
}

/// The span of the value at a key path (["process", "args"]), for errors about values
/// that the model keeps without a span.
pub fn key_span(source: &str, path: &[&str]) -> Option<Range<usize>> {
    let (table, _) = toml::de::DeTable::parse_recoverable(source);
    let mut t = table.get_ref();
    for (i, key) in path.iter().enumerate() {
        let (_, v) = t.iter().find(|(k, _)| {
            let k: &str = k.get_ref().as_ref();
            k == *key
        })?;
        if i + 1 == path.len() {
            return Some(v.span());
        }
        match v.get_ref() {
            toml::de::DeValue::Table(inner) => t = inner,
            _ => return None,
        }
    }
    None
}

/// What execve would refuse (E2BIG, the runtime's own check), and a command that is not in
/// the rootfs: both fail only at the very end of `create`.
fn check_exec(svc: &Service, opts: LoadOptions) -> Result<(), LoadError> {
    let d = &svc.desc;
    let mut args = vec![d.process.command.get_ref().clone()];
    args.extend(d.process.args.iter().cloned());
    let env: Vec<String> = svc.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let stack = d.rlimits.stack.map(|l| l.soft);
    if let Err((field, msg)) = crate::runtime_config::check_exec_size(&args, &env, stack) {
        let (key, at) = if field.starts_with("process.env") { ("env", "env") } else { ("args", "args") };
        let span = key_span(&svc.source, &["process", at]).unwrap_or_else(|| d.process.command.span());
        return Err(svc.invalid(&span, format!("process.{key}: {msg}"), "shorten it: pass large data in a file or a bind mount"));
    }
    if opts.require_paths && svc.rootfs.is_dir() && !opts.template {
        let path_env = svc.env.get("PATH").cloned().unwrap_or_else(|| crate::bundle::DEFAULT_PATH.into());
        if let Err(why) = find_command(svc, &path_env) {
            return Err(svc.invalid(&d.process.command.span(), why, "install the program in the rootfs, give its absolute path, or set PATH in [process.env]"));
        }
    }
    Ok(())
}

/// Looks the command up as execvp would, inside the rootfs (symlinks resolved there).
fn find_command(svc: &Service, path_env: &str) -> Result<(), String> {
    use crate::rootpath::{Place, View};
    use std::os::unix::fs::PermissionsExt;
    let view = View::new(&svc.rootfs);
    let command = svc.desc.process.command.get_ref();
    let executable = |p: &str| -> Option<bool> {
        match view.resolve(p, true).ok()?.place {
            Place::Host(h) if h.is_file() => Some(std::fs::metadata(&h).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)),
            // Under a run-time mount (a bind, /tmp...): cannot be checked here.
            Place::Opaque(_) => Some(true),
            _ => None,
        }
    };
    if command.contains('/') {
        let p = if command.starts_with('/') { command.clone() } else { format!("{}/{command}", svc.desc.process.workdir.get_ref().trim_end_matches('/')) };
        return match executable(&p) {
            Some(true) => Ok(()),
            Some(false) => Err(format!("command {p} is not executable in the rootfs")),
            None => Err(format!("command {p} does not exist in the rootfs {}", svc.rootfs.display())),
        };
    }
    let found = path_env.split(':').filter(|d| d.starts_with('/')).any(|dir| executable(&format!("{}/{command}", dir.trim_end_matches('/'))) == Some(true));
    if found {
        Ok(())
    } else {
        Err(format!("command `{command}` is not in any PATH directory of the rootfs {} (PATH={path_env})", svc.rootfs.display()))
    }
}

fn check_container_path(svc: &Service, p: &str, span: &Range<usize>, what: &str) -> Result<(), LoadError> {
    match container_path_problem(p) {
        Some(problem) => Err(svc.invalid(span, format!("{what} `{p}` {problem}"), "write an absolute path inside the container, e.g. \"/srv/data\"")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_at_offsets() {
        let src = "name = \"x\"\n\n[process]\ncommand = \"/bin/true\"\nenv = { A = \"1\" }\n\n[[bind]]\nsource = \"/a\"\ntarget = \"/b\"\n\n[[bind]]\nsource = \"/c\"\ntarget = \"/d\"\n";
        let at = |needle: &str| key_at(src, src.find(needle).unwrap());
        assert_eq!(at("\"x\"").as_deref(), Some("name"));
        assert_eq!(at("command").as_deref(), Some("process.command"));
        assert_eq!(at("\"/bin/true\"").as_deref(), Some("process.command"));
        assert_eq!(at("\"1\"").as_deref(), Some("process.env.A"));
        assert_eq!(at("\"/b\"").as_deref(), Some("bind[0].target"));
        assert_eq!(at("\"/c\"").as_deref(), Some("bind[1].source"));
    }

    #[test]
    fn positions() {
        assert_eq!(line_col("a\nbc\nd", 0), (1, 1));
        assert_eq!(line_col("a\nbc\nd", 3), (2, 2));
        assert_eq!(line_col("a\nbc\nd", 5), (3, 1));
    }

    #[test]
    fn paths() {
        assert_eq!(host_path(Path::new("/a/b"), "../c/./d"), PathBuf::from("/a/c/d"));
        assert_eq!(host_path(Path::new("/a/b"), "/x"), PathBuf::from("/x"));
        assert_eq!(clean_container_path("/a//b/"), "/a/b");
        assert!(container_path_problem("a/b").is_some());
        assert!(container_path_problem("/a/../b").is_some());
        assert!(container_path_problem("/a/b").is_none());
    }
}
