//! The service description: the TOML file a person writes.
//!
//! Every table refuses unknown keys, so a typo is an error with a position
//! rather than a silently ignored setting. docs/service-format.md documents
//! each key; keep the two in step.

use crate::values::{Capability, IdSpec, Limit, Mode, Port, Signal, Size};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

fn yes() -> bool {
    true
}

fn root_dir() -> Spanned<String> {
    Spanned::new(0..0, "/".to_string())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    /// Service name: container id, cgroup leaf and unit name.
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    /// The root directory; relative paths are relative to the description file.
    pub rootfs: Spanned<String>,
    /// Bind the host's /dev/log into the container.
    #[serde(default)]
    pub syslog: bool,
    pub process: Process,
    #[serde(default)]
    pub network: Network,
    #[serde(default, rename = "bind")]
    pub binds: Vec<Bind>,
    #[serde(default)]
    pub filesystem: Filesystem,
    #[serde(default, rename = "device")]
    pub devices: Vec<Device>,
    #[serde(default)]
    pub security: Security,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default)]
    pub rlimits: Rlimits,
    #[serde(default)]
    pub lifecycle: Lifecycle,
    #[serde(default)]
    pub instances: BTreeMap<String, Spanned<InstanceOverride>>,
    pub rootfs_build: Option<RootfsBuild>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Process {
    /// The program: an absolute container path, or a name looked up in PATH.
    pub command: Spanned<String>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default = "root_dir")]
    pub workdir: Spanned<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub env_files: Vec<Spanned<String>>,
    pub user: Spanned<IdSpec>,
    pub group: Option<Spanned<IdSpec>>,
    #[serde(default)]
    pub supplementary_groups: Vec<Spanned<IdSpec>>,
    /// umask of the process, e.g. "0027"; the runtime's default when absent.
    pub umask: Option<Mode>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// A private network namespace instead of the host's network.
    #[serde(default)]
    pub private: bool,
    /// TCP ports the service may listen on.
    #[serde(default)]
    pub tcp_bind: Vec<Port>,
    /// TCP ports the service may connect to.
    #[serde(default)]
    pub tcp_connect: Vec<Port>,
    /// Whether UDP is allowed; selects the `udp` seccomp profile. With Landlock on, the
    /// UDP ports must be listed in `udp_bind` / `udp_connect` (the network guard refuses
    /// the others).
    #[serde(default)]
    pub udp: bool,
    /// UDP ports the service may bind (receive on).
    #[serde(default)]
    pub udp_bind: Vec<Port>,
    /// UDP ports the service may send to, on any address (e.g. 53 for DNS).
    #[serde(default)]
    pub udp_connect: Vec<Port>,
    /// Abstract unix socket names (without the leading NUL byte) the service may bind.
    #[serde(default)]
    pub abstract_unix_bind: Vec<Spanned<String>>,
}

impl Network {
    /// UDP is used: `udp = true` or a UDP port list.
    pub fn uses_udp(&self) -> bool {
        self.udp || !self.udp_bind.is_empty() || !self.udp_connect.is_empty()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    #[default]
    Ro,
    Rw,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bind {
    /// Host path; relative paths are relative to the description file.
    pub source: Spanned<String>,
    /// Container path.
    pub target: Spanned<String>,
    #[serde(default)]
    pub mode: Access,
    /// Allow executing files from this mount (default: read-only binds yes, read-write binds no).
    pub exec: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filesystem {
    #[serde(default = "yes")]
    pub readonly_root: bool,
    /// Rootfs directories that stay writable (bound read-write onto themselves).
    #[serde(default)]
    pub writable: Vec<Spanned<String>>,
    #[serde(default)]
    pub tmpfs: Vec<Tmpfs>,
}

impl Default for Filesystem {
    fn default() -> Self {
        Filesystem { readonly_root: true, writable: Vec::new(), tmpfs: Vec::new() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tmpfs {
    pub path: Spanned<String>,
    pub mode: Option<Mode>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<Size>,
    #[serde(default)]
    pub exec: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum DeviceKind {
    #[serde(rename = "c")]
    Char,
    #[serde(rename = "b")]
    Block,
    #[serde(rename = "p")]
    Fifo,
}

impl DeviceKind {
    pub fn letter(self) -> &'static str {
        match self {
            DeviceKind::Char => "c",
            DeviceKind::Block => "b",
            DeviceKind::Fifo => "p",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    pub path: Spanned<String>,
    #[serde(rename = "type")]
    pub kind: DeviceKind,
    pub major: u32,
    pub minor: u32,
    pub mode: Option<Mode>,
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// Capabilities to keep; none by default.
    #[serde(default)]
    pub capabilities: Vec<Spanned<Capability>>,
    /// "default", "strict", "udp", "unconfined", or a path to a profile file.
    pub seccomp: Option<Spanned<String>>,
    #[serde(default = "yes")]
    pub no_new_privileges: bool,
    #[serde(default)]
    pub landlock: Landlock,
}

impl Default for Security {
    fn default() -> Self {
        Security { capabilities: Vec::new(), seccomp: None, no_new_privileges: true, landlock: Landlock::default() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compat {
    Required,
    BestEffort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    AbstractUnixSocket,
    Signal,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::AbstractUnixSocket => "abstract-unix-socket",
            Scope::Signal => "signal",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Landlock {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Read+execute grants; `["/"]` (the whole read-only rootfs) when absent.
    pub exec: Option<Vec<Spanned<String>>>,
    /// Extra read-only grants.
    #[serde(default)]
    pub read: Vec<Spanned<String>>,
    /// Extra full-access grants, beyond the derived writable places.
    #[serde(default)]
    pub write: Vec<Spanned<String>>,
    /// Scoping; both scopes when absent.
    pub scope: Option<Vec<Scope>>,
    pub compat: Option<Compat>,
}

impl Default for Landlock {
    fn default() -> Self {
        Landlock { enabled: true, exec: None, read: Vec::new(), write: Vec::new(), scope: None, compat: None }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Memory limit (cgroup memory.max).
    pub memory: Option<Spanned<Size>>,
    /// CPU time as a number of CPUs, e.g. 0.5.
    pub cpus: Option<Spanned<f64>>,
    /// Maximum number of tasks (cgroup pids.max).
    pub pids: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rlimits {
    pub core: Option<Limit>,
    pub cpu: Option<Limit>,
    pub data: Option<Limit>,
    pub fsize: Option<Limit>,
    pub locks: Option<Limit>,
    pub memlock: Option<Limit>,
    pub msgqueue: Option<Limit>,
    pub nice: Option<Limit>,
    pub nofile: Option<Limit>,
    pub nproc: Option<Limit>,
    pub rss: Option<Limit>,
    pub rtprio: Option<Limit>,
    pub rttime: Option<Limit>,
    pub sigpending: Option<Limit>,
    pub stack: Option<Limit>,
    #[serde(rename = "as")]
    pub address_space: Option<Limit>,
}

impl Rlimits {
    /// (RLIMIT_NAME, value) pairs in a fixed order; NOFILE defaults to 1024:1024.
    pub fn entries(&self) -> Vec<(&'static str, Limit)> {
        let nofile = self.nofile.unwrap_or(Limit { soft: 1024, hard: 1024 });
        let all = [
            ("RLIMIT_AS", self.address_space),
            ("RLIMIT_CORE", self.core),
            ("RLIMIT_CPU", self.cpu),
            ("RLIMIT_DATA", self.data),
            ("RLIMIT_FSIZE", self.fsize),
            ("RLIMIT_LOCKS", self.locks),
            ("RLIMIT_MEMLOCK", self.memlock),
            ("RLIMIT_MSGQUEUE", self.msgqueue),
            ("RLIMIT_NICE", self.nice),
            ("RLIMIT_NOFILE", Some(nofile)),
            ("RLIMIT_NPROC", self.nproc),
            ("RLIMIT_RSS", self.rss),
            ("RLIMIT_RTPRIO", self.rtprio),
            ("RLIMIT_RTTIME", self.rttime),
            ("RLIMIT_SIGPENDING", self.sigpending),
            ("RLIMIT_STACK", self.stack),
        ];
        all.into_iter().filter_map(|(n, l)| l.map(|l| (n, l))).collect()
    }
}

fn default_timeout() -> u32 {
    10
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    #[serde(default)]
    pub stop_signal: Signal,
    /// Seconds between the stop signal and SIGKILL.
    #[serde(default = "default_timeout")]
    pub stop_timeout: u32,
    /// The service reports readiness with sd_notify (Type=notify).
    #[serde(default)]
    pub notify: bool,
    /// Signal that asks the service to reload its configuration (`ExecReload=`).
    #[serde(default)]
    pub reload_signal: Option<Signal>,
    /// Keep the runtime's minimal init as PID 1 (signals forwarded, orphans reaped), for
    /// programs that do not handle being PID 1 (annotation org.ocirt.init).
    #[serde(default)]
    pub init: bool,
    /// systemd units this one starts after (`After=`), e.g. a database's.
    #[serde(default)]
    pub after: Vec<String>,
    /// systemd units this one needs (`Requires=`): started with it, and a stop of one of
    /// them stops this one too.
    #[serde(default)]
    pub requires: Vec<String>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            stop_signal: Signal::default(),
            stop_timeout: default_timeout(),
            notify: false,
            reload_signal: None,
            init: false,
            after: Vec::new(),
            requires: Vec::new(),
        }
    }
}

/// What one instance changes; everything else comes from the main description.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceOverride {
    pub description: Option<String>,
    /// Replaces process.args.
    pub args: Option<Vec<String>>,
    /// Added to (and overriding) process.env.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Replace network.tcp_bind / network.tcp_connect.
    pub tcp_bind: Option<Vec<Port>>,
    pub tcp_connect: Option<Vec<Port>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootfsBuild {
    /// Debian suite; the host's codename when absent.
    pub suite: Option<String>,
    /// Packages to install with mmdebstrap; empty means a busybox rootfs.
    #[serde(default)]
    pub packages: Vec<String>,
    /// Host path of a static busybox (busybox builds only).
    pub busybox: Option<String>,
    /// Directories to create inside the new rootfs.
    #[serde(default)]
    pub directories: Vec<String>,
    /// Accounts to add to /etc/passwd and /etc/group.
    #[serde(default)]
    pub users: Vec<BuildUser>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildUser {
    pub name: String,
    pub uid: u32,
    /// Primary group id; a group of the same name is created. Defaults to uid.
    pub gid: Option<u32>,
    pub home: Option<String>,
}
