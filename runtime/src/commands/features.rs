//! `features`: runtime-spec features.json describing what this build really implements.

pub fn run() -> anyhow::Result<i32> {
    let v = serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.0",
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": crate::rootfs::plan::supported_options(),
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": caps::all().iter().map(|c| c.to_string()).collect::<std::collections::BTreeSet<_>>(),
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false, "rdma": false},
            "seccomp": {
                "enabled": true,
                "actions": crate::seccomp::supported_actions(),
                "operators": crate::seccomp::supported_operators(),
                "archs": crate::seccomp::supported_archs(),
                "knownFlags": crate::seccomp::supported_flags(),
                "supportedFlags": crate::seccomp::supported_flags()
            },
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": false}},
            "netDevices": {"enabled": false}
        },
        "annotations": {
            "org.opencontainers.runc.checkpoint.enabled": "false",
            "org.ocirt.landlock.abi": crate::landlock::kernel_abi().to_string(),
            "org.ocirt.init": "true|false: keep a minimal init as PID 1 (signals forwarded, orphans reaped)",
            "org.ocirt.net.keys": "org.ocirt.net.udp.bind, org.ocirt.net.udp.connect, org.ocirt.net.unix.bind (with org.ocirt.landlock.net.bind/connect for TCP)",
            "org.ocirt.net.guard": crate::netguard::features(),
            "org.ocirt.landlock.keys": "org.ocirt.landlock.fs.read, org.ocirt.landlock.fs.exec, org.ocirt.landlock.fs.write, org.ocirt.landlock.net.bind, org.ocirt.landlock.net.connect, org.ocirt.landlock.scope, org.ocirt.landlock.compat"
        }
    });
    crate::output::print(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
    Ok(0)
}
