//! The `org.ocirt.*` annotation keys: spec-gen writes them, the runtime reads them
//! (landlock.rs, netguard/, reaper.rs); `runtime features` lists them.

/// Keep a minimal init as PID 1: `"true"` or `"false"` (reaper.rs).
pub const INIT: &str = "org.ocirt.init";

/// Every Landlock key starts with this (an unknown one is refused).
pub const LANDLOCK_PREFIX: &str = "org.ocirt.landlock.";
/// JSON arrays of absolute container paths.
pub const LANDLOCK_FS_READ: &str = "org.ocirt.landlock.fs.read";
pub const LANDLOCK_FS_EXEC: &str = "org.ocirt.landlock.fs.exec";
pub const LANDLOCK_FS_WRITE: &str = "org.ocirt.landlock.fs.write";
/// JSON arrays of TCP ports; with either present the network guard also holds every other
/// protocol and call path to them.
pub const LANDLOCK_NET_BIND: &str = "org.ocirt.landlock.net.bind";
pub const LANDLOCK_NET_CONNECT: &str = "org.ocirt.landlock.net.connect";
/// JSON array of "abstract-unix-socket", "signal".
pub const LANDLOCK_SCOPE: &str = "org.ocirt.landlock.scope";
/// "required" (default) or "best-effort": what to do when the kernel cannot enforce a rule.
pub const LANDLOCK_COMPAT: &str = "org.ocirt.landlock.compat";

/// Every network-guard key of its own starts with this.
pub const NET_PREFIX: &str = "org.ocirt.net.";
/// JSON arrays of UDP ports.
pub const NET_UDP_BIND: &str = "org.ocirt.net.udp.bind";
pub const NET_UDP_CONNECT: &str = "org.ocirt.net.udp.connect";
/// JSON array of abstract unix socket names the service may bind.
pub const NET_UNIX_BIND: &str = "org.ocirt.net.unix.bind";
