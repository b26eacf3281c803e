//! Landlock sandboxing for the container process, configured through
//! annotations (the runtime-spec has no Landlock field).
//!
//! Two phases:
//! * [`policy_from_annotations`] runs in the runtime before the container is
//!   cloned.  It parses and validates every `org.ocirt.landlock.*` annotation
//!   and never touches the kernel.
//! * [`LandlockPolicy::apply`] runs in the container init after `pivot_root`
//!   (so every path is a container path), after the uid switch and the
//!   capability drop, and before seccomp.  It opens the granted paths,
//!   builds the ruleset and restricts the calling thread.  It never sets
//!   `no_new_privs`: that is the caller's decision (`process.noNewPrivileges`).
//!
//! Annotation keys:
//!
//! | key | value | meaning |
//! |---|---|---|
//! | `org.ocirt.landlock.fs.read`    | JSON array of absolute paths | read files, list dirs beneath |
//! | `org.ocirt.landlock.fs.exec`    | JSON array of absolute paths | read + execute beneath |
//! | `org.ocirt.landlock.fs.write`   | JSON array of absolute paths | every filesystem right of the effective ABI beneath |
//! | `org.ocirt.landlock.net.bind`   | JSON array of TCP ports | only these ports may be bound |
//! | `org.ocirt.landlock.net.connect`| JSON array of TCP ports | only these ports may be connected to |
//! | `org.ocirt.landlock.scope`      | JSON array of `"abstract-unix-socket"`, `"signal"` | IPC scoping |
//! | `org.ocirt.landlock.compat`     | `required` (default) or `best-effort` | what to do when the kernel cannot enforce everything |
//!
//! The presence of any `fs.*` key makes the filesystem "handled": everything
//! not granted is denied.  A present `net.*` key (even `[]`) handles that
//! network operation.
//!
//! Compatibility decisions (see `resolve`):
//! * filesystem handling needs ABI 1 in best-effort mode but **ABI 3** in
//!   required mode: before ABI 3 `truncate(2)` is not controlled, so a
//!   read-only grant would still let the container truncate files;
//! * TCP bind/connect need ABI 4; scopes need ABI 6;
//! * the filesystem rights are those of the effective ABI, i.e. the running
//!   kernel's version capped at [`ABI_CEILING`] (the newest ABI this code
//!   was written against), so a crate upgrade does not widen the handled set
//!   by itself.
//! * in required mode a granted path that does not exist is an error; in
//!   best-effort mode it is skipped (skipping only removes access).

use std::collections::HashMap;
use std::fmt;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, RestrictSelfError, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetError, RulesetStatus, Scope, ABI,
};

/// Prefix shared by every annotation this module owns.
use ocirt_contract::annotations as keys;
const PREFIX: &str = keys::LANDLOCK_PREFIX;

/// Annotation keys (fixed: other code depends on them).
pub(crate) const KEY_FS_READ: &str = keys::LANDLOCK_FS_READ;
pub(crate) const KEY_FS_EXEC: &str = keys::LANDLOCK_FS_EXEC;
pub(crate) const KEY_FS_WRITE: &str = keys::LANDLOCK_FS_WRITE;
pub(crate) const KEY_NET_BIND: &str = keys::LANDLOCK_NET_BIND;
pub(crate) const KEY_NET_CONNECT: &str = keys::LANDLOCK_NET_CONNECT;
pub(crate) const KEY_SCOPE: &str = keys::LANDLOCK_SCOPE;
pub(crate) const KEY_COMPAT: &str = keys::LANDLOCK_COMPAT;

const ALL_KEYS: [&str; 7] = [KEY_FS_READ, KEY_FS_EXEC, KEY_FS_WRITE, KEY_NET_BIND, KEY_NET_CONNECT, KEY_SCOPE, KEY_COMPAT];

const SCOPE_ABSTRACT_UNIX: &str = "abstract-unix-socket";
const SCOPE_SIGNAL: &str = "signal";

/// Newest Landlock ABI whose filesystem rights we hand out.  Kernels that
/// report a newer version are treated as this one.
const ABI_CEILING: u32 = 10;

/// Minimum ABI for each feature.
const FS_MIN_ABI_BEST_EFFORT: u32 = 1;
/// Required mode wants `LANDLOCK_ACCESS_FS_TRUNCATE` (ABI 3) so that a read
/// grant really is read-only.
const FS_MIN_ABI_REQUIRED: u32 = 3;
const NET_MIN_ABI: u32 = 4;
const SCOPE_MIN_ABI: u32 = 6;

/// `LANDLOCK_CREATE_RULESET_VERSION` from `<linux/landlock.h>`.
const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;

/// Errors from parsing the annotations or from applying the policy.
#[derive(Debug, thiserror::Error)]
pub enum LandlockError {
    /// A key under `org.ocirt.landlock.` that this runtime does not know.
    #[error(
        "annotation {key}: unknown landlock annotation; the valid keys are {valid} (check the spelling or remove it)",
        valid = ALL_KEYS.join(", ")
    )]
    UnknownKey { key: String },

    /// The value of a known key is malformed.
    #[error("annotation {key}: {reason}")]
    InvalidValue { key: &'static str, reason: String },

    /// `compat` was given without anything to restrict.
    #[error("annotation {KEY_COMPAT}: set without any landlock rule; add one of the org.ocirt.landlock.fs.*, net.* or scope annotations, or remove it")]
    CompatWithoutRules,

    /// Required mode, and the running kernel cannot enforce a requested feature.
    #[error(
        "annotation {key}: {feature} needs landlock ABI {needed} but {kernel}; run on a newer kernel or set {KEY_COMPAT} to \"best-effort\"",
        kernel = KernelAbiText(*.kernel_abi)
    )]
    Unsupported { key: &'static str, feature: &'static str, needed: u32, kernel_abi: u32 },

    /// A granted path could not be opened inside the container.
    #[error(
        "annotation {key}: cannot open {path} in the container: {source}; create it in the rootfs, fix the path, or set {KEY_COMPAT} to \"best-effort\" to skip missing paths",
        path = .path.display()
    )]
    Path {
        key: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `landlock_restrict_self` refused with EPERM: no `no_new_privs` and no
    /// `CAP_SYS_ADMIN`.
    #[error(
        "landlock: the kernel refused to restrict the container process (EPERM): it has neither no_new_privs nor CAP_SYS_ADMIN; set process.noNewPrivileges to true or remove the org.ocirt.landlock.* annotations"
    )]
    NeedNoNewPrivs,

    /// Any other failure while building or enforcing the ruleset.
    #[error("landlock: {step} failed: {source}")]
    Ruleset {
        step: &'static str,
        #[source]
        source: RulesetError,
    },

    /// Required mode, and the library reports the ruleset as not fully enforced.
    #[error("landlock: the ruleset is only {status} on this kernel (landlock ABI {kernel_abi}); set {KEY_COMPAT} to \"best-effort\" to accept that")]
    NotFullyEnforced { status: &'static str, kernel_abi: u32 },
}

/// Formats the kernel part of an [`LandlockError::Unsupported`] message.
struct KernelAbiText(u32);

impl fmt::Display for KernelAbiText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            write!(f, "landlock is not available on the running kernel (not built in, or not enabled with the lsm= boot parameter)")
        } else {
            write!(f, "the running kernel only supports landlock ABI {}", self.0)
        }
    }
}

/// Filesystem part of a policy: which hierarchies get which rights.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FsPolicy {
    /// The first fs key present (sorted order), named in error messages.
    key: &'static str,
    read: Vec<PathBuf>,
    exec: Vec<PathBuf>,
    write: Vec<PathBuf>,
}

/// A validated Landlock policy.  Built by [`policy_from_annotations`] in
/// the runtime, enforced by [`LandlockPolicy::apply`] in the container init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandlockPolicy {
    /// `Some` when any `fs.*` key is present: the filesystem is handled.
    fs: Option<FsPolicy>,
    /// `Some` when `net.bind` is present: TCP bind is handled.
    bind: Option<Vec<u16>>,
    /// `Some` when `net.connect` is present: TCP connect is handled.
    connect: Option<Vec<u16>>,
    scope_abstract_unix: bool,
    scope_signal: bool,
    required: bool,
}

/// What will actually be enforced on a given kernel (output of `resolve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Resolved {
    /// Effective ABI used to pick filesystem rights.
    abi: u32,
    fs: bool,
    bind: bool,
    connect: bool,
    scope_abstract_unix: bool,
    scope_signal: bool,
}

impl Resolved {
    fn is_empty(&self) -> bool {
        !(self.fs || self.bind || self.connect || self.scope_abstract_unix || self.scope_signal)
    }
}

/// Parses and validates the `org.ocirt.landlock.*` annotations.
///
/// Returns `Ok(None)` when no such key is present.
pub fn policy_from_annotations(a: &HashMap<String, String>) -> Result<Option<LandlockPolicy>, LandlockError> {
    // Typo protection first, in a stable order so the error is deterministic.
    let mut ours: Vec<&String> = a.keys().filter(|k| is_landlock_key(k)).collect();
    if ours.is_empty() {
        return Ok(None);
    }
    ours.sort();
    if let Some(bad) = ours.iter().find(|k| !ALL_KEYS.contains(&k.as_str())) {
        return Err(LandlockError::UnknownKey { key: (*bad).clone() });
    }

    let get = |key: &str| a.get(key).map(String::as_str);

    let read = get(KEY_FS_READ).map(|v| parse_paths(KEY_FS_READ, v)).transpose()?;
    let exec = get(KEY_FS_EXEC).map(|v| parse_paths(KEY_FS_EXEC, v)).transpose()?;
    let write = get(KEY_FS_WRITE).map(|v| parse_paths(KEY_FS_WRITE, v)).transpose()?;
    let fs = if read.is_some() || exec.is_some() || write.is_some() {
        let key = if exec.is_some() {
            KEY_FS_EXEC
        } else if read.is_some() {
            KEY_FS_READ
        } else {
            KEY_FS_WRITE
        };
        Some(FsPolicy { key, read: read.unwrap_or_default(), exec: exec.unwrap_or_default(), write: write.unwrap_or_default() })
    } else {
        None
    };

    let bind = get(KEY_NET_BIND).map(|v| parse_ports(KEY_NET_BIND, v)).transpose()?;
    let connect = get(KEY_NET_CONNECT).map(|v| parse_ports(KEY_NET_CONNECT, v)).transpose()?;

    let (scope_abstract_unix, scope_signal) = match get(KEY_SCOPE) {
        Some(v) => parse_scope(v)?,
        None => (false, false),
    };

    let required = match get(KEY_COMPAT) {
        None | Some("required") => true,
        Some("best-effort") => false,
        Some(other) => {
            return Err(LandlockError::InvalidValue {
                key: KEY_COMPAT,
                reason: format!("{other:?} is not a compatibility mode; use required or best-effort (plain text, not JSON-quoted)"),
            })
        }
    };

    let policy = LandlockPolicy { fs, bind, connect, scope_abstract_unix, scope_signal, required };
    if policy.fs.is_none() && policy.bind.is_none() && policy.connect.is_none() && get(KEY_SCOPE).is_none() {
        return Err(LandlockError::CompatWithoutRules);
    }
    Ok(Some(policy))
}

/// True for keys this module owns (or that look like a misspelling of one).
fn is_landlock_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    lower.starts_with(PREFIX) || lower == PREFIX.trim_end_matches('.')
}

/// Parses `value` as a JSON array; `example` shows the expected form.
fn parse_array(key: &'static str, value: &str, example: &str) -> Result<Vec<serde_json::Value>, LandlockError> {
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Array(items)) => Ok(items),
        Ok(other) => Err(LandlockError::InvalidValue { key, reason: format!("expected a JSON array such as {example}, got {}", json_kind(&other)) }),
        Err(e) => Err(LandlockError::InvalidValue { key, reason: format!("value is not valid JSON ({e}); expected a JSON array such as {example}") }),
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn parse_paths(key: &'static str, value: &str) -> Result<Vec<PathBuf>, LandlockError> {
    let mut out: Vec<PathBuf> = Vec::new();
    for item in parse_array(key, value, r#"["/data"]"#)? {
        let s = match item {
            serde_json::Value::String(s) => s,
            other => return Err(LandlockError::InvalidValue { key, reason: format!("{other} is not a path; write paths as JSON strings") }),
        };
        let bad = |why: &str| LandlockError::InvalidValue { key, reason: format!("{s:?} {why}") };
        if s.is_empty() {
            return Err(bad("is empty; use an absolute container path such as \"/data\""));
        }
        if !s.starts_with('/') {
            return Err(bad("is not an absolute container path; start it with /"));
        }
        if s.contains('\0') {
            return Err(bad("contains a NUL byte"));
        }
        let p = PathBuf::from(&s);
        if p.components().any(|c| c == Component::ParentDir) {
            return Err(bad("contains a .. component; write the resolved path"));
        }
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

fn parse_ports(key: &'static str, value: &str) -> Result<Vec<u16>, LandlockError> {
    let mut out: Vec<u16> = Vec::new();
    for item in parse_array(key, value, "[80, 443]")? {
        let port = match &item {
            serde_json::Value::Number(n) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
            serde_json::Value::String(s) => {
                return Err(LandlockError::InvalidValue {
                    key,
                    reason: format!("{s:?} is not a TCP port (0-65535); write ports as JSON numbers, e.g. [80, 443]"),
                })
            }
            _ => None,
        };
        match port {
            Some(p) => {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
            None => return Err(LandlockError::InvalidValue { key, reason: format!("{item} is not a TCP port (0-65535)") }),
        }
    }
    Ok(out)
}

fn parse_scope(value: &str) -> Result<(bool, bool), LandlockError> {
    let mut unix = false;
    let mut signal = false;
    for item in parse_array(KEY_SCOPE, value, r#"["signal"]"#)? {
        match item.as_str() {
            Some(SCOPE_ABSTRACT_UNIX) => unix = true,
            Some(SCOPE_SIGNAL) => signal = true,
            _ => {
                return Err(LandlockError::InvalidValue {
                    key: KEY_SCOPE,
                    reason: format!("{item} is not a landlock scope; use \"{SCOPE_ABSTRACT_UNIX}\" and/or \"{SCOPE_SIGNAL}\""),
                })
            }
        }
    }
    Ok((unix, signal))
}

/// The Landlock ABI version the running kernel enforces, 0 if Landlock is
/// not built in or not enabled.
pub fn kernel_abi() -> u32 {
    // SAFETY: landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)
    // only queries the ABI version; it reads no memory and creates no fd.
    let v = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<libc::c_void>(), 0usize, LANDLOCK_CREATE_RULESET_VERSION) };
    if v < 0 {
        0
    } else {
        u32::try_from(v).unwrap_or(0)
    }
}

/// Maps an effective ABI number to the crate's enum.
fn abi_enum(abi: u32) -> ABI {
    // ABI::from(i32) saturates at the newest ABI the crate knows; the
    // ceiling keeps us at the newest one we chose.
    ABI::from(abi.min(ABI_CEILING) as i32)
}

/// Rights for `fs.read`.
fn read_rights() -> BitFlags<AccessFs> {
    AccessFs::ReadFile | AccessFs::ReadDir
}

/// Rights for `fs.exec`.
fn exec_rights() -> BitFlags<AccessFs> {
    read_rights() | AccessFs::Execute
}

/// Rights for `fs.write` (and the handled set): everything of the ABI.
fn all_fs_rights(abi: u32) -> BitFlags<AccessFs> {
    AccessFs::from_all(abi_enum(abi))
}

impl LandlockPolicy {
    /// True unless `org.ocirt.landlock.compat` is `best-effort`.
    pub fn is_required(&self) -> bool {
        self.required
    }

    /// Decides what can be enforced on a kernel with Landlock ABI
    /// `kernel_abi` (0 = none).  Pure: the unit tests feed it every ABI.
    ///
    /// Required mode: any requested feature the kernel lacks is an error.
    /// Best-effort mode: such features are dropped.
    fn resolve(&self, kernel_abi: u32) -> Result<Resolved, LandlockError> {
        let abi = kernel_abi.min(ABI_CEILING);
        let mut out = Resolved { abi, fs: false, bind: false, connect: false, scope_abstract_unix: false, scope_signal: false };
        let fs_min = if self.required { FS_MIN_ABI_REQUIRED } else { FS_MIN_ABI_BEST_EFFORT };
        let fs_key = self.fs.as_ref().map_or(KEY_FS_READ, |fs| fs.key);
        // (requested, key, feature, needed ABI, where to record it)
        let wants: [(bool, &'static str, &'static str, u32, &mut bool); 5] = [
            (self.fs.is_some(), fs_key, "filesystem restriction (with truncate control)", fs_min, &mut out.fs),
            (self.bind.is_some(), KEY_NET_BIND, "TCP bind restriction", NET_MIN_ABI, &mut out.bind),
            (self.connect.is_some(), KEY_NET_CONNECT, "TCP connect restriction", NET_MIN_ABI, &mut out.connect),
            (self.scope_abstract_unix, KEY_SCOPE, "abstract unix socket scoping", SCOPE_MIN_ABI, &mut out.scope_abstract_unix),
            (self.scope_signal, KEY_SCOPE, "signal scoping", SCOPE_MIN_ABI, &mut out.scope_signal),
        ];
        for (requested, key, feature, needed, slot) in wants {
            if !requested {
                continue;
            }
            if kernel_abi >= needed {
                *slot = true;
            } else if self.required {
                return Err(LandlockError::Unsupported { key, feature, needed, kernel_abi });
            }
        }
        Ok(out)
    }

    /// Enforces the policy on the calling thread (and its future children).
    ///
    /// Call after `pivot_root` (paths are container paths), after the uid
    /// switch and capability drop, before seccomp.  Does not set
    /// `no_new_privs`: without it the kernel demands `CAP_SYS_ADMIN`, and
    /// its refusal is returned as [`LandlockError::NeedNoNewPrivs`].
    pub fn apply(&self) -> Result<(), LandlockError> {
        let kernel = kernel_abi();
        let plan = self.resolve(kernel)?;
        if plan.is_empty() {
            // Only reachable in best-effort mode: nothing is enforceable.
            return Ok(());
        }

        // Open every granted hierarchy first, so path errors come before any
        // kernel object is created.
        let mut path_rules: Vec<(OwnedFd, BitFlags<AccessFs>)> = Vec::new();
        if let (true, Some(fs)) = (plan.fs, &self.fs) {
            let groups: [(&'static str, &Vec<PathBuf>, BitFlags<AccessFs>); 3] =
                [(KEY_FS_READ, &fs.read, read_rights()), (KEY_FS_EXEC, &fs.exec, exec_rights()), (KEY_FS_WRITE, &fs.write, all_fs_rights(plan.abi))];
            for (key, paths, rights) in groups {
                for path in paths {
                    match open_beneath(path, rights, plan.abi) {
                        Ok(rule) => path_rules.push(rule),
                        Err(e) if !self.required && matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
                            // Best effort: a missing hierarchy just gets no access.
                        }
                        Err(source) => return Err(LandlockError::Path { key, path: path.clone(), source }),
                    }
                }
            }
        }

        let rs = |step: &'static str| move |source: RulesetError| LandlockError::Ruleset { step, source };

        // Everything passed below is supported by the kernel (resolve()
        // checked), so the library must not silently drop anything.
        let mut ruleset = Ruleset::default().set_compatibility(CompatLevel::HardRequirement);
        if plan.fs {
            ruleset = ruleset.handle_access(all_fs_rights(plan.abi)).map_err(rs("handling filesystem access"))?;
        }
        let mut net: BitFlags<AccessNet> = BitFlags::EMPTY;
        if plan.bind {
            net |= AccessNet::BindTcp;
        }
        if plan.connect {
            net |= AccessNet::ConnectTcp;
        }
        if !net.is_empty() {
            ruleset = ruleset.handle_access(net).map_err(rs("handling network access"))?;
        }
        let mut scopes: BitFlags<Scope> = BitFlags::EMPTY;
        if plan.scope_abstract_unix {
            scopes |= Scope::AbstractUnixSocket;
        }
        if plan.scope_signal {
            scopes |= Scope::Signal;
        }
        if !scopes.is_empty() {
            ruleset = ruleset.scope(scopes).map_err(rs("setting scopes"))?;
        }

        let mut created = ruleset.create().map_err(rs("creating the ruleset"))?;
        for (fd, rights) in path_rules {
            created = created.add_rule(PathBeneath::new(fd, rights)).map_err(rs("adding a filesystem rule"))?;
        }
        if let (true, Some(ports)) = (plan.bind, &self.bind) {
            for &port in ports {
                created = created.add_rule(NetPort::new(port, AccessNet::BindTcp)).map_err(rs("adding a TCP bind rule"))?;
            }
        }
        if let (true, Some(ports)) = (plan.connect, &self.connect) {
            for &port in ports {
                created = created.add_rule(NetPort::new(port, AccessNet::ConnectTcp)).map_err(rs("adding a TCP connect rule"))?;
            }
        }

        let status = match created.no_new_privs(false).restrict_self() {
            Ok(status) => status,
            Err(RulesetError::RestrictSelf(RestrictSelfError::RestrictSelfCall { source, .. })) if source.raw_os_error() == Some(libc::EPERM) => {
                return Err(LandlockError::NeedNoNewPrivs)
            }
            Err(e) => return Err(rs("restricting the process")(e)),
        };
        match status.ruleset {
            RulesetStatus::FullyEnforced => Ok(()),
            RulesetStatus::PartiallyEnforced if self.required => Err(LandlockError::NotFullyEnforced { status: "partially enforced", kernel_abi: kernel }),
            RulesetStatus::NotEnforced if self.required => Err(LandlockError::NotFullyEnforced { status: "not enforced", kernel_abi: kernel }),
            _ => Ok(()),
        }
    }
}

/// Opens `path` with `O_PATH` and trims `rights` to what the kernel
/// accepts for that inode type (directory rights are invalid on files).
fn open_beneath(path: &Path, rights: BitFlags<AccessFs>, abi: u32) -> Result<(OwnedFd, BitFlags<AccessFs>), std::io::Error> {
    use nix::fcntl::OFlag;
    use nix::sys::stat::{Mode, SFlag};
    let fd = nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())?;
    let st = nix::sys::stat::fstat(&fd)?;
    let is_dir = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFDIR;
    let rights = if is_dir { rights } else { rights & AccessFs::from_file(abi_enum(abi)) };
    Ok((fd, rights))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::unix::fs::PermissionsExt;

    fn ann(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<Option<LandlockPolicy>, LandlockError> {
        policy_from_annotations(&ann(pairs))
    }

    fn parse_ok(pairs: &[(&str, &str)]) -> LandlockPolicy {
        parse(pairs).unwrap_or_else(|e| panic!("{pairs:?} should parse: {e}")).expect("policy expected")
    }

    fn parse_err(pairs: &[(&str, &str)]) -> String {
        match parse(pairs) {
            Err(e) => e.to_string(),
            Ok(p) => panic!("{pairs:?} should fail, got {p:?}"),
        }
    }

    // ---------------------------------------------------------------
    // Annotation parsing
    // ---------------------------------------------------------------

    #[test]
    fn no_landlock_keys_gives_none() {
        assert!(parse(&[]).unwrap().is_none());
        assert!(parse(&[("org.opencontainers.image.ref.name", "x"), ("org.ocirt.other", "1")]).unwrap().is_none());
    }

    #[test]
    fn full_policy_parses() {
        let p = parse_ok(&[
            (KEY_FS_READ, r#"["/etc", "/usr/share", "/etc"]"#),
            (KEY_FS_EXEC, r#"["/usr/bin"]"#),
            (KEY_FS_WRITE, r#"["/tmp", "/var/lib/app"]"#),
            (KEY_NET_BIND, "[8080, 0]"),
            (KEY_NET_CONNECT, "[443, 65535, 443]"),
            (KEY_SCOPE, r#"["abstract-unix-socket", "signal"]"#),
            (KEY_COMPAT, "best-effort"),
            ("unrelated.key", "whatever"),
        ]);
        let fs = p.fs.as_ref().unwrap();
        assert_eq!(fs.read, vec![PathBuf::from("/etc"), PathBuf::from("/usr/share")]);
        assert_eq!(fs.exec, vec![PathBuf::from("/usr/bin")]);
        assert_eq!(fs.write, vec![PathBuf::from("/tmp"), PathBuf::from("/var/lib/app")]);
        assert_eq!(p.bind, Some(vec![8080, 0]));
        assert_eq!(p.connect, Some(vec![443, 65535]));
        assert!(p.scope_abstract_unix && p.scope_signal);
        assert!(!p.is_required());
    }

    #[test]
    fn single_fs_key_handles_fs_and_defaults_to_required() {
        let p = parse_ok(&[(KEY_FS_EXEC, "[]")]);
        assert_eq!(p.fs, Some(FsPolicy { key: KEY_FS_EXEC, read: vec![], exec: vec![], write: vec![] }));
        assert_eq!(p.bind, None);
        assert_eq!(p.connect, None);
        assert!(p.is_required());
        let p = parse_ok(&[(KEY_FS_WRITE, r#"["/"]"#), (KEY_COMPAT, "required")]);
        assert!(p.is_required());
        assert_eq!(p.fs.unwrap().write, vec![PathBuf::from("/")]);
    }

    #[test]
    fn empty_net_arrays_still_handle() {
        let p = parse_ok(&[(KEY_NET_BIND, "[]")]);
        assert_eq!(p.bind, Some(vec![]));
        assert_eq!(p.connect, None);
        assert!(p.fs.is_none());
        let p = parse_ok(&[(KEY_NET_CONNECT, " [ ] ")]);
        assert_eq!(p.connect, Some(vec![]));
    }

    #[test]
    fn scope_subsets() {
        let p = parse_ok(&[(KEY_SCOPE, r#"["signal"]"#)]);
        assert!(p.scope_signal && !p.scope_abstract_unix);
        let p = parse_ok(&[(KEY_SCOPE, r#"["abstract-unix-socket","abstract-unix-socket"]"#)]);
        assert!(!p.scope_signal && p.scope_abstract_unix);
        // An empty scope list is a (useless but valid) explicit policy.
        let p = parse_ok(&[(KEY_SCOPE, "[]")]);
        assert!(!p.scope_signal && !p.scope_abstract_unix);
    }

    #[test]
    fn unknown_keys_rejected() {
        for key in [
            "org.ocirt.landlock.fs.reed",
            "org.ocirt.landlock.fs",
            "org.ocirt.landlock.net.bind_udp",
            "org.ocirt.landlock.",
            "org.ocirt.landlock",
            "org.ocirt.Landlock.fs.read",
            "ORG.OCIRT.LANDLOCK.SCOPE",
        ] {
            let e = parse_err(&[(key, "[]")]);
            assert!(e.starts_with(&format!("annotation {key}: unknown landlock annotation")), "{e}");
            assert!(e.contains(KEY_FS_READ), "{e}");
        }
        // Even next to valid keys.
        let e = parse_err(&[(KEY_FS_READ, "[]"), ("org.ocirt.landlock.fs.writ", "[]")]);
        assert!(e.contains("org.ocirt.landlock.fs.writ: unknown"), "{e}");
    }

    #[test]
    fn bad_path_values_rejected() {
        for key in [KEY_FS_READ, KEY_FS_EXEC, KEY_FS_WRITE] {
            let cases: &[(&str, &str)] = &[
                ("/etc", "not valid JSON"),
                ("/etc", "expected a JSON array such as [\"/data\"]"),
                ("", "not valid JSON"),
                ("[\"/etc\"", "not valid JSON"),
                ("{\"a\":1}", "got an object"),
                ("\"/etc\"", "got a string"),
                ("null", "got null"),
                ("[1]", "1 is not a path"),
                ("[[\"/etc\"]]", "is not a path"),
                ("[null]", "null is not a path"),
                ("[\"\"]", "is empty"),
                ("[\"etc\"]", "not an absolute container path"),
                ("[\"./etc\"]", "not an absolute container path"),
                ("[\"/etc/../root\"]", ".. component"),
                ("[\"/a\\u0000b\"]", "NUL"),
            ];
            for (value, want) in cases {
                let e = parse_err(&[(key, value)]);
                assert!(e.starts_with(&format!("annotation {key}: ")), "{value}: {e}");
                assert!(e.contains(want), "{value}: {e}");
            }
        }
    }

    #[test]
    fn bad_port_values_rejected() {
        for key in [KEY_NET_BIND, KEY_NET_CONNECT] {
            let e = parse_err(&[(key, "[70000]")]);
            assert_eq!(e, format!("annotation {key}: 70000 is not a TCP port (0-65535)"));
            let cases: &[(&str, &str)] = &[
                ("[-1]", "-1 is not a TCP port"),
                ("[65536]", "65536 is not a TCP port"),
                ("[80.5]", "80.5 is not a TCP port"),
                ("[1e3]", "is not a TCP port"),
                ("[\"80\"]", "write ports as JSON numbers"),
                ("[true]", "true is not a TCP port"),
                ("[null]", "null is not a TCP port"),
                ("80", "expected a JSON array such as [80, 443], got a number"),
                ("[80,", "not valid JSON"),
                ("", "not valid JSON"),
            ];
            for (value, want) in cases {
                let e = parse_err(&[(key, value)]);
                assert!(e.starts_with(&format!("annotation {key}: ")), "{value}: {e}");
                assert!(e.contains(want), "{value}: {e}");
            }
        }
    }

    #[test]
    fn bad_scope_values_rejected() {
        let cases: &[(&str, &str)] = &[
            ("[\"signals\"]", "\"signals\" is not a landlock scope"),
            ("[\"abstract_unix_socket\"]", "is not a landlock scope"),
            ("[\"Signal\"]", "is not a landlock scope"),
            ("[1]", "1 is not a landlock scope"),
            ("\"signal\"", "got a string"),
            ("signal", "not valid JSON"),
        ];
        for (value, want) in cases {
            let e = parse_err(&[(KEY_SCOPE, value)]);
            assert!(e.starts_with(&format!("annotation {KEY_SCOPE}: ")), "{value}: {e}");
            assert!(e.contains(want), "{value}: {e}");
        }
    }

    #[test]
    fn bad_compat_values_rejected() {
        for value in ["", "Required", "besteffort", "\"required\"", "soft", "hard"] {
            let e = parse_err(&[(KEY_FS_READ, "[]"), (KEY_COMPAT, value)]);
            assert!(e.starts_with(&format!("annotation {KEY_COMPAT}: ")), "{value}: {e}");
            assert!(e.contains("use required or best-effort"), "{value}: {e}");
        }
        // compat alone restricts nothing: reject it.
        let e = parse_err(&[(KEY_COMPAT, "required")]);
        assert!(e.contains("set without any landlock rule"), "{e}");
    }

    #[test]
    fn error_messages_are_lowercase() {
        let errors = [
            parse_err(&[("org.ocirt.landlock.x", "[]")]),
            parse_err(&[(KEY_NET_BIND, "[70000]")]),
            parse_err(&[(KEY_COMPAT, "x"), (KEY_FS_READ, "[]")]),
            LandlockError::NeedNoNewPrivs.to_string(),
            parse_ok(&[(KEY_SCOPE, r#"["signal"]"#)]).resolve(0).unwrap_err().to_string(),
        ];
        for e in errors {
            let first = e.chars().next().unwrap();
            assert!(first.is_lowercase(), "{e}");
        }
    }

    // ---------------------------------------------------------------
    // Compatibility decisions (pure, every ABI)
    // ---------------------------------------------------------------

    #[test]
    fn resolve_required_mode() {
        let fs = parse_ok(&[(KEY_FS_READ, r#"["/"]"#)]);
        for k in 0..FS_MIN_ABI_REQUIRED {
            let e = fs.resolve(k).unwrap_err();
            assert!(matches!(e, LandlockError::Unsupported { needed: 3, key, .. } if key == KEY_FS_READ), "{e}");
        }
        for k in FS_MIN_ABI_REQUIRED..=12 {
            let r = fs.resolve(k).unwrap();
            assert!(r.fs && !r.bind && !r.connect);
            assert_eq!(r.abi, k.min(ABI_CEILING));
        }

        let net = parse_ok(&[(KEY_NET_CONNECT, "[443]")]);
        for k in 0..NET_MIN_ABI {
            let e = net.resolve(k).unwrap_err().to_string();
            assert!(e.starts_with("annotation org.ocirt.landlock.net.connect: TCP connect"), "{e}");
            assert!(e.contains("needs landlock ABI 4"), "{e}");
            assert!(e.contains("best-effort"), "{e}");
        }
        assert!(net.resolve(4).unwrap().connect);

        let scope = parse_ok(&[(KEY_SCOPE, r#"["signal"]"#), (KEY_NET_BIND, "[80]")]);
        assert!(scope.resolve(5).is_err());
        let r = scope.resolve(6).unwrap();
        assert!(r.scope_signal && !r.scope_abstract_unix && r.bind);

        // No landlock at all.
        let e = scope.resolve(0).unwrap_err().to_string();
        assert!(e.contains("landlock is not available on the running kernel"), "{e}");
        // Older kernel: names the version.
        let e = scope.resolve(5).unwrap_err().to_string();
        assert!(e.contains("only supports landlock ABI 5"), "{e}");
    }

    #[test]
    fn resolve_best_effort_drops_what_is_missing() {
        let p = parse_ok(&[
            (KEY_FS_WRITE, r#"["/tmp"]"#),
            (KEY_NET_BIND, "[]"),
            (KEY_NET_CONNECT, "[80]"),
            (KEY_SCOPE, r#"["signal","abstract-unix-socket"]"#),
            (KEY_COMPAT, "best-effort"),
        ]);
        let r = p.resolve(0).unwrap();
        assert!(r.is_empty());
        let r = p.resolve(1).unwrap();
        assert!(r.fs && !r.bind && !r.connect && !r.scope_signal);
        let r = p.resolve(3).unwrap();
        assert!(r.fs && !r.bind);
        let r = p.resolve(4).unwrap();
        assert!(r.fs && r.bind && r.connect && !r.scope_signal && !r.scope_abstract_unix);
        let r = p.resolve(6).unwrap();
        assert!(r.fs && r.bind && r.connect && r.scope_signal && r.scope_abstract_unix);
        assert_eq!(p.resolve(99).unwrap().abi, ABI_CEILING);
    }

    #[test]
    fn fs_rights_per_abi() {
        // read never includes execute or any write right.
        assert!(!read_rights().contains(AccessFs::Execute));
        assert!(exec_rights().contains(AccessFs::Execute));
        // write includes truncate from ABI 3, refer from 2, ioctl_dev from 5.
        assert!(!all_fs_rights(1).contains(AccessFs::Refer));
        assert!(all_fs_rights(2).contains(AccessFs::Refer));
        assert!(all_fs_rights(3).contains(AccessFs::Truncate));
        assert!(!all_fs_rights(4).contains(AccessFs::IoctlDev));
        assert!(all_fs_rights(7).contains(AccessFs::IoctlDev));
        assert!(all_fs_rights(7).contains(exec_rights()));
    }

    // ---------------------------------------------------------------
    // Real enforcement, in forked children
    // ---------------------------------------------------------------

    /// Runs `f` in a forked child and returns its exit code (128+sig when
    /// killed).  The child never returns into the test harness.
    fn in_child<F: FnOnce() -> i32>(f: F) -> i32 {
        // SAFETY: fork in a test process; the child only runs `f` (plain
        // syscalls and allocations, glibc's malloc is fork-safe) and then
        // leaves with _exit, never returning into the harness.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
        if pid == 0 {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
            // SAFETY: terminating the forked child without running the
            // parent's atexit handlers or flushing its duplicated buffers.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waiting for our own child; status is a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(r, pid);
        if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            128 + libc::WTERMSIG(status)
        }
    }

    /// Writes a diagnostic to the real stderr (the harness's capture does
    /// not see the child's output).
    fn child_say(msg: &str) {
        let line = format!("child: {msg}\n");
        // SAFETY: writing a valid buffer of the given length to fd 2.
        unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
    }

    macro_rules! check {
        ($code:expr, $cond:expr) => {
            if !$cond {
                child_say(&format!("check {} failed: {}", $code, stringify!($cond)));
                return $code;
            }
        };
    }

    fn errno_of<T>(r: std::io::Result<T>) -> Option<i32> {
        r.err().and_then(|e| e.raw_os_error())
    }

    fn set_nnp() {
        // SAFETY: prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) takes no pointers.
        let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        assert_eq!(r, 0);
    }

    fn get_nnp() -> i32 {
        // SAFETY: prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) takes no pointers.
        unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) }
    }

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> Self {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let p = std::env::temp_dir().join(format!("ll-test-{}-{}-{}", std::process::id(), tag, N.fetch_add(1, Ordering::SeqCst)));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn js(paths: &[&Path]) -> String {
        serde_json::to_string(&paths.iter().map(|p| p.to_str().unwrap()).collect::<Vec<_>>()).unwrap()
    }

    /// A test that cannot run here says so, and fails instead when OCIRT_REQUIRE_ALL is set
    /// (scripts/test.sh sets it: CI must not pass on tests it skipped).
    fn skip(why: &str) -> bool {
        if std::env::var_os("OCIRT_REQUIRE_ALL").is_some() {
            panic!("OCIRT_REQUIRE_ALL is set but this test cannot run here: {why}");
        }
        eprintln!("SKIPPED: {why}");
        false
    }

    fn need_abi(n: u32) -> bool {
        let k = kernel_abi();
        if k < n {
            skip(&format!("kernel landlock ABI {k} < {n}"))
        } else {
            true
        }
    }

    #[test]
    fn kernel_abi_reports_a_version() {
        let k = kernel_abi();
        // This machine runs ABI 7; anywhere else, at least be consistent
        // with the crate's own probe.
        let st = Ruleset::default().handle_access(AccessFs::ReadFile).and_then(|r| r.create());
        if k == 0 {
            assert!(st.is_ok()); // best-effort dummy ruleset
        } else {
            assert!(k >= 1);
        }
        eprintln!("kernel landlock ABI: {k}");
    }

    #[test]
    fn fs_write_read_exec_enforced() {
        if !need_abi(3) {
            return;
        }
        let base = TempDir::new("fs");
        let rw = base.0.join("rw");
        let ro = base.0.join("ro");
        let bin = base.0.join("bin");
        let outside = base.0.join("outside");
        for d in [&rw, &ro, &bin, &outside] {
            std::fs::create_dir(d).unwrap();
        }
        std::fs::write(ro.join("file"), "ro-data").unwrap();
        std::fs::write(outside.join("secret"), "secret").unwrap();
        // An executable in the read-only dir, one in the exec dir.
        for d in [&ro, &bin] {
            let p = d.join("true");
            std::fs::copy("/bin/true", &p).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        // Exec needs the dynamic loader and libc: grant the system dirs.
        let mut exec: Vec<&Path> = vec![&bin];
        let sys: Vec<PathBuf> = ["/usr", "/bin", "/lib", "/lib64", "/etc"].iter().map(PathBuf::from).filter(|p| p.exists()).collect();
        exec.extend(sys.iter().map(PathBuf::as_path));
        let policy = parse_ok(&[(KEY_FS_WRITE, &js(&[&rw])), (KEY_FS_READ, &js(&[&ro, &ro.join("file")])), (KEY_FS_EXEC, &js(&exec))]);

        let code = in_child(|| {
            // Positive controls before restriction.
            check!(2, std::fs::read(outside.join("secret")).is_ok());
            check!(3, policy.apply().is_ok());
            // Still no NNP: apply() must not set it.
            check!(4, get_nnp() == 0);
            // Write beneath the allowed dir works (positive control).
            check!(10, std::fs::write(rw.join("new"), "x").is_ok());
            check!(11, std::fs::create_dir(rw.join("sub")).is_ok());
            check!(12, std::fs::write(rw.join("sub/f"), "y").is_ok());
            check!(13, std::fs::remove_file(rw.join("new")).is_ok());
            check!(14, std::fs::read(rw.join("sub/f")).map(|v| v == b"y").unwrap_or(false));
            // Outside: everything denied.
            check!(20, errno_of(std::fs::write(outside.join("x"), "x")) == Some(libc::EACCES));
            check!(21, errno_of(std::fs::read(outside.join("secret"))) == Some(libc::EACCES));
            check!(22, errno_of(std::fs::read_dir(&outside)) == Some(libc::EACCES));
            check!(23, errno_of(std::fs::write(base.0.join("top"), "x")) == Some(libc::EACCES));
            // Read-only dir: read yes, write/create/truncate no.
            let mut s = String::new();
            check!(30, std::fs::File::open(ro.join("file")).and_then(|mut f| f.read_to_string(&mut s)).is_ok());
            check!(31, s == "ro-data");
            check!(32, std::fs::read_dir(&ro).is_ok());
            check!(33, errno_of(std::fs::OpenOptions::new().append(true).open(ro.join("file"))) == Some(libc::EACCES));
            check!(34, errno_of(std::fs::write(ro.join("new"), "x")) == Some(libc::EACCES));
            let c = std::ffi::CString::new(ro.join("file").into_os_string().into_encoded_bytes()).unwrap();
            // SAFETY: c is a valid NUL-terminated path.
            let r = unsafe { libc::truncate(c.as_ptr(), 0) };
            check!(35, r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EACCES));
            // Exec: allowed in the exec dir, denied in the read-only dir.
            check!(40, std::process::Command::new(bin.join("true")).status().map(|s| s.success()).unwrap_or(false));
            check!(41, errno_of(std::process::Command::new(ro.join("true")).status()) == Some(libc::EACCES));
            0
        });
        assert_eq!(code, 0, "child failed check {code}");
        // The parent is not restricted.
        std::fs::write(outside.join("after"), "x").unwrap();
    }

    #[test]
    fn tcp_connect_and_bind_enforced() {
        if !need_abi(4) {
            return;
        }
        let allowed = TcpListener::bind("127.0.0.1:0").unwrap();
        let denied = TcpListener::bind("127.0.0.1:0").unwrap();
        let pa = allowed.local_addr().unwrap();
        let pd = denied.local_addr().unwrap();
        // Two ports that were free a moment ago, for bind.
        let free = |_: ()| TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (bind_ok, bind_no) = (free(()), free(()));
        let policy = parse_ok(&[(KEY_NET_CONNECT, &format!("[{}]", pa.port())), (KEY_NET_BIND, &format!("[{bind_ok}]"))]);
        let code = in_child(|| {
            // Control: both reachable before restriction.
            check!(2, TcpStream::connect(pd).is_ok());
            check!(3, policy.apply().is_ok());
            check!(10, TcpStream::connect(pa).and_then(|mut s| s.write_all(b"hi")).is_ok());
            check!(11, errno_of(TcpStream::connect(pd)) == Some(libc::EACCES));
            check!(20, TcpListener::bind(("127.0.0.1", bind_ok)).is_ok());
            check!(21, errno_of(TcpListener::bind(("127.0.0.1", bind_no))) == Some(libc::EACCES));
            // Port 0 (ephemeral) was not granted either.
            check!(22, errno_of(TcpListener::bind("127.0.0.1:0")) == Some(libc::EACCES));
            // The filesystem is not handled by this policy.
            check!(30, std::fs::read("/proc/self/status").is_ok());
            0
        });
        assert_eq!(code, 0, "child failed check {code}");
    }

    #[test]
    fn scopes_enforced() {
        if !need_abi(6) {
            return;
        }
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
        let name = format!("ll-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let _listener = UnixListener::bind_addr(&addr).unwrap();
        let policy = parse_ok(&[(KEY_SCOPE, r#"["abstract-unix-socket","signal"]"#)]);
        let code = in_child(|| {
            // SAFETY: getppid has no preconditions.
            let parent = unsafe { libc::getppid() };
            // Controls before restriction.
            check!(2, UnixStream::connect_addr(&addr).is_ok());
            // SAFETY: signal 0 only checks permission.
            check!(3, unsafe { libc::kill(parent, 0) } == 0);
            check!(4, policy.apply().is_ok());
            check!(10, errno_of(UnixStream::connect_addr(&addr)) == Some(libc::EPERM));
            // SAFETY: signal 0 only checks permission.
            let r = unsafe { libc::kill(parent, 0) };
            check!(11, r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM));
            // Signals to itself are still allowed.
            // SAFETY: signal 0 to ourselves.
            check!(12, unsafe { libc::kill(libc::getpid(), 0) } == 0);
            0
        });
        assert_eq!(code, 0, "child failed check {code}");
    }

    #[test]
    fn without_nnp_and_cap_sys_admin_the_kernel_refuses() {
        if !need_abi(1) {
            return;
        }
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            skip("needs root to drop privileges");
            return;
        }
        let base = TempDir::new("nnp");
        let policy = parse_ok(&[(KEY_FS_WRITE, &js(&[&base.0])), (KEY_COMPAT, "best-effort")]);
        let code = in_child(|| {
            check!(2, get_nnp() == 0);
            // Switching every uid away from 0 without keepcaps clears the
            // permitted and effective capability sets.
            // SAFETY: plain setresgid/setresuid calls.
            check!(3, unsafe { libc::setresgid(65534, 65534, 65534) } == 0);
            // SAFETY: as above.
            check!(4, unsafe { libc::setresuid(65534, 65534, 65534) } == 0);
            // Best-effort does not hide this refusal.
            check!(5, matches!(policy.apply(), Err(LandlockError::NeedNoNewPrivs)));
            check!(6, get_nnp() == 0);
            // Once the caller sets NNP it works.
            set_nnp();
            check!(7, policy.apply().is_ok());
            0
        });
        assert_eq!(code, 0, "child failed check {code}");
        let msg = LandlockError::NeedNoNewPrivs.to_string();
        assert!(msg.contains("noNewPrivileges"), "{msg}");
    }

    #[test]
    fn missing_path_required_fails_best_effort_skips() {
        if !need_abi(3) {
            return;
        }
        let base = TempDir::new("missing");
        let missing = base.0.join("does-not-exist");
        let rw = base.0.join("rw");
        std::fs::create_dir(&rw).unwrap();
        let required = parse_ok(&[(KEY_FS_WRITE, &js(&[&rw, &missing]))]);
        let best = parse_ok(&[(KEY_FS_WRITE, &js(&[&missing, &rw])), (KEY_COMPAT, "best-effort")]);
        let code = in_child(|| {
            match required.apply() {
                Err(LandlockError::Path { key, path, source }) => {
                    check!(2, key == KEY_FS_WRITE);
                    check!(3, path == missing);
                    check!(4, source.raw_os_error() == Some(libc::ENOENT));
                }
                other => {
                    child_say(&format!("unexpected {other:?}"));
                    return 5;
                }
            }
            // Nothing was enforced by the failed attempt.
            check!(6, std::fs::write(base.0.join("still-free"), "x").is_ok());
            check!(7, best.apply().is_ok());
            check!(8, std::fs::write(rw.join("ok"), "x").is_ok());
            check!(9, errno_of(std::fs::write(base.0.join("denied"), "x")) == Some(libc::EACCES));
            0
        });
        assert_eq!(code, 0, "child failed check {code}");
    }

    /// Makes landlock_create_ruleset fail with ENOSYS in the calling
    /// process, i.e. simulates a kernel without Landlock.
    fn hide_landlock() -> bool {
        #[cfg(target_arch = "x86_64")]
        const AUDIT_ARCH: u32 = 0xC000_003E;
        #[cfg(target_arch = "aarch64")]
        const AUDIT_ARCH: u32 = 0xC000_00B7;
        let nr = libc::SYS_landlock_create_ruleset as u32;
        let ld_w_abs = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
        let jeq = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
        let ret = (libc::BPF_RET | libc::BPF_K) as u16;
        let stmt = |code: u16, k: u32| libc::sock_filter { code, jt: 0, jf: 0, k };
        let jump = |code: u16, k: u32, jt: u8, jf: u8| libc::sock_filter { code, jt, jf, k };
        // seccomp_data: nr at offset 0, arch at offset 4.
        let prog = [
            stmt(ld_w_abs, 4),
            jump(jeq, AUDIT_ARCH, 1, 0),
            stmt(ret, libc::SECCOMP_RET_ALLOW),
            stmt(ld_w_abs, 0),
            jump(jeq, nr, 0, 1),
            stmt(ret, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
            stmt(ret, libc::SECCOMP_RET_ALLOW),
        ];
        let fprog = libc::sock_fprog { len: prog.len() as u16, filter: prog.as_ptr() as *mut libc::sock_filter };
        // SAFETY: fprog points at `prog`, which outlives the call; the
        // kernel copies the program.  Root has CAP_SYS_ADMIN, so no NNP is
        // needed (and we must not set it: the test checks it stays off).
        let r = unsafe { libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &fprog as *const libc::sock_fprog) };
        r == 0
    }

    #[test]
    fn required_mode_fails_without_landlock_best_effort_passes() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            skip("needs CAP_SYS_ADMIN to install seccomp without NNP");
            return;
        }
        let base = TempDir::new("nolandlock");
        let required = parse_ok(&[(KEY_FS_WRITE, &js(&[&base.0]))]);
        let best = parse_ok(&[(KEY_FS_WRITE, &js(&[&base.0])), (KEY_NET_CONNECT, "[1]"), (KEY_COMPAT, "best-effort")]);
        let code = in_child(|| {
            check!(2, hide_landlock());
            check!(3, kernel_abi() == 0);
            match required.apply() {
                Err(LandlockError::Unsupported { kernel_abi: 0, key, .. }) => {
                    check!(4, key == KEY_FS_WRITE)
                }
                other => {
                    child_say(&format!("unexpected {other:?}"));
                    return 5;
                }
            }
            check!(6, best.apply().is_ok());
            // Nothing enforced.
            check!(7, std::fs::write(base.0.join("free"), "x").is_ok());
            0
        });
        assert_eq!(code, 0, "child failed check {code}");
    }

    #[test]
    fn required_mode_with_supported_features_succeeds_as_root_without_nnp() {
        if !need_abi(6) {
            return;
        }
        let base = TempDir::new("req");
        let policy = parse_ok(&[
            (KEY_FS_READ, r#"["/"]"#),
            (KEY_FS_WRITE, &js(&[&base.0])),
            (KEY_NET_BIND, "[]"),
            (KEY_NET_CONNECT, "[]"),
            (KEY_SCOPE, r#"["signal","abstract-unix-socket"]"#),
            (KEY_COMPAT, "required"),
        ]);
        let code = in_child(|| {
            check!(2, get_nnp() == 0);
            check!(3, policy.apply().is_ok());
            check!(4, get_nnp() == 0);
            check!(5, std::fs::read("/proc/self/status").is_ok());
            check!(6, errno_of(std::fs::write(base.0.with_extension("outside"), "x")) == Some(libc::EACCES));
            check!(7, std::fs::write(base.0.join("ok"), "x").is_ok());
            check!(8, errno_of(TcpListener::bind("127.0.0.1:0")) == Some(libc::EACCES));
            // Stacking a second policy works too (layers).
            check!(9, policy.apply().is_ok());
            0
        });
        assert_eq!(code, 0, "child failed check {code}");
    }
}
