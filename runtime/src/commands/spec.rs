//! `spec`: a starter config.json, hardened by default but shaped like runc's.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

#[derive(Args, Debug)]
pub struct SpecArgs {
    /// Directory to write config.json into
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
}

pub fn template() -> serde_json::Value {
    let caps = serde_json::json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    serde_json::json!({
        "ociVersion": "1.2.0",
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "container",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi", "/sys/devices/virtual/powercap"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// `spec --rootless` (a flag, as runc's; the global `--rootless true|auto` means the same).
pub fn rootless_wanted(flag: Option<&str>) -> Result<bool, crate::rootless::UidMapError> {
    match flag {
        Some("true") => Ok(true),
        Some("auto") => crate::rootless::rootless(),
        _ => Ok(false),
    }
}

/// The template for a rootless `run` by the user who asks (runc's `spec --rootless`): a user
/// namespace mapping only the caller's uid and gid to root; /sys as a read-only recursive
/// bind (sysfs cannot be mounted without the network namespace's owner), no cgroup mount
/// (a cgroup v1 hierarchy cannot be mounted in a user namespace; /sys/fs/cgroup comes with
/// /sys), no uid=/gid= mount options (those ids are not mapped), and no linux.resources
/// (the host's cgroups are not the user's: a limit would be refused).
pub fn rootless_template(uid: u32, gid: u32) -> serde_json::Value {
    let mut t = template();
    let mounts: Vec<serde_json::Value> = t["mounts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["destination"] != "/sys/fs/cgroup")
        .map(|mut m| {
            if m["destination"] == "/sys" {
                return serde_json::json!({"destination": "/sys", "type": "none", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
            }
            if let Some(opts) = m["options"].as_array_mut() {
                opts.retain(|o| o.as_str().is_some_and(|o| !o.starts_with("uid=") && !o.starts_with("gid=")));
            }
            m
        })
        .collect();
    t["mounts"] = mounts.into();
    let linux = &mut t["linux"];
    if let Some(o) = linux.as_object_mut() {
        o.remove("resources");
    }
    if let Some(ns) = linux["namespaces"].as_array_mut() {
        ns.retain(|n| n["type"] != "network" && n["type"] != "user");
        ns.push(serde_json::json!({"type": "user"}));
    }
    linux["uidMappings"] = serde_json::json!([{"containerID": 0, "hostID": uid, "size": 1}]);
    linux["gidMappings"] = serde_json::json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    t
}

pub fn run(a: &SpecArgs, rootless: bool) -> anyhow::Result<i32> {
    let path = a.bundle.join("config.json");
    if path.exists() {
        bail!("{} already exists: remove it first or pass --bundle DIR", path.display());
    }
    let config = if rootless { rootless_template(nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw()) } else { template() };
    let mut text = serde_json::to_string_pretty(&config)?;
    text.push('\n');
    std::fs::write(&path, text)?;
    Ok(0)
}
