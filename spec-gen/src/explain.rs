//! `spec-gen explain`: what the service may and may not do, in plain words.

use crate::bundle::{Plan, MASKED_PATHS, READONLY_PATHS, SYSCTLS};
use crate::load::Service;
use crate::values::{Size, UNLIMITED};
use std::fmt::Write;

fn list(v: &[String]) -> String {
    v.join(", ")
}

fn ports(p: &[u16]) -> String {
    let s: Vec<String> = p.iter().map(u16::to_string).collect();
    s.join(", ")
}

fn limit(n: u64) -> String {
    if n == UNLIMITED {
        "unlimited".into()
    } else {
        n.to_string()
    }
}

pub fn explain(svc: &Service, plan: &Plan) -> String {
    let d = &svc.desc;
    let c = &plan.config;
    let mut o = String::new();
    let w = &mut o;
    let title = if d.description.is_empty() { String::new() } else { format!(": {}", d.description) };
    let _ = writeln!(w, "{}{title}", plan.id);
    let built = if std::path::Path::new(&c.root.path).is_dir() { "" } else { " (not built yet: `spec-gen rootfs` builds it)" };
    let _ = writeln!(
        w,
        "Container id {}, cgroup {}, rootfs {}{built}.",
        plan.id,
        c.linux
            .cgroups_path
            .clone()
            .unwrap_or_else(|| format!("/ocirt/{0} (one per container id; <unit cgroup>/{0} under a systemd unit with Delegate=yes)", plan.id)),
        c.root.path
    );

    let _ = writeln!(w, "\nRuns");
    let _ = writeln!(w, "  {}", c.process.args.join(" "));
    let id = &plan.identity;
    let who = match &id.user_name {
        Some(n) => format!("user {n} (uid {})", id.uid),
        None => format!("uid {}", id.uid),
    };
    let groups = if id.additional_gids.is_empty() {
        "no supplementary groups".to_string()
    } else {
        format!("supplementary groups {}", id.additional_gids.iter().map(u32::to_string).collect::<Vec<_>>().join(", "))
    };
    let _ = writeln!(w, "  as {who}, group {}, {groups}, in {}.", id.gid, c.process.cwd);
    if id.uid == 0 {
        if c.process.capabilities.bounding.is_empty() {
            let _ = writeln!(w, "  Runs as root inside the container; with no capabilities that is still limited, but a real user is better.");
        } else {
            let _ = writeln!(
                w,
                "  Runs as root inside the container, limited to the capabilities listed under Privileges; a real user is better where the program allows it."
            );
        }
    }

    let _ = writeln!(w, "\nFiles");
    let ro = if c.root.readonly { "the rootfs is read-only" } else { "the rootfs is WRITABLE (filesystem.readonly_root = false)" };
    match &plan.landlock {
        Some(l) => {
            let _ = writeln!(w, "  May read and execute beneath: {}; {ro}.", list(&l.exec));
            if !l.read.is_empty() {
                let _ = writeln!(w, "  May only read beneath: {}.", list(&l.read));
            }
            let _ = writeln!(w, "  May write only beneath: {}.", list(&l.write));
            let _ = writeln!(w, "  Landlock denies every other file access, even where Unix permissions would allow it.");
        }
        None => {
            let _ = writeln!(w, "  Landlock is OFF (security.landlock.enabled = false): only permissions and mounts limit file access; {ro}.");
        }
    }
    for m in &c.mounts {
        let noexec = m.options.iter().any(|o| o == "noexec");
        let rw = !m.options.iter().any(|o| o == "ro");
        match m.kind.as_str() {
            "tmpfs" if !m.destination.starts_with("/dev") => {
                let _ = writeln!(
                    w,
                    "  {}: empty tmpfs, lost at every stop{}.",
                    m.destination,
                    if noexec { ", nothing in it can be executed" } else { ", programs in it CAN be executed" }
                );
            }
            "bind" if m.destination == "/dev/log" => {
                let _ = writeln!(w, "  /dev/log: the host's syslog socket (syslog = true).");
            }
            "bind" => {
                // A file bound onto a file (a config file, a socket) is not a directory.
                let dir = !std::path::Path::new(&m.source).exists() || std::path::Path::new(&m.source).is_dir();
                let _ = writeln!(
                    w,
                    "  {}: host {} {}, {}{}.",
                    m.destination,
                    if dir { "directory" } else { "file" },
                    m.source,
                    if rw { "read-write" } else { "read-only" },
                    match (noexec, dir) {
                        (true, true) => ", nothing in it can be executed",
                        (true, false) => ", it cannot be executed",
                        (false, _) => "",
                    }
                );
            }
            _ => {}
        }
    }
    let _ = writeln!(w, "  Cannot see {} (masked).", MASKED_PATHS.join(", "));
    for (k, v) in SYSCTLS {
        let _ = writeln!(w, "  Kernel setting {k} = {v} in its own namespace.");
    }
    let _ = writeln!(w, "  Cannot change {} (read-only); /sys and /sys/fs/cgroup are read-only.", READONLY_PATHS.join(", "));

    let _ = writeln!(w, "\nNetwork");
    if d.network.private {
        let _ = writeln!(w, "  Has a private network namespace: it cannot reach the host's network interfaces.");
    } else {
        let _ = writeln!(w, "  Shares the host's network (no private network namespace).");
    }
    match &plan.landlock {
        Some(l) => {
            if l.bind.is_empty() {
                let _ = writeln!(w, "  May not listen on any TCP port.");
            } else {
                let _ = writeln!(w, "  May listen on TCP port(s) {} only.", ports(&l.bind));
            }
            if l.connect.is_empty() {
                let _ = writeln!(w, "  May not open TCP connections to any port.");
            } else {
                let _ = writeln!(w, "  May open TCP connections to port(s) {} only (any address).", ports(&l.connect));
            }
        }
        None => {
            let _ = writeln!(w, "  TCP ports are not restricted (Landlock is off).");
        }
    }
    match plan.landlock.as_ref().map(|l| &l.udp) {
        Some(Some((bind, connect))) => {
            let list = |p: &[u16]| if p.is_empty() { "no port".to_string() } else { format!("port(s) {}", ports(p)) };
            let _ = writeln!(w, "  May receive UDP on {} and send UDP to {} only (any address).", list(bind), list(connect));
        }
        Some(None) => {
            let _ = writeln!(w, "  May not use UDP.");
        }
        None if d.network.uses_udp() => {
            let _ = writeln!(w, "  May use UDP on any port (Landlock and the network guard are off).");
        }
        None => {
            let _ = writeln!(w, "  May not use UDP (network.udp = false).");
        }
    }
    if let Some(l) = &plan.landlock {
        if l.unix_bind.is_empty() {
            let _ = writeln!(w, "  May not bind abstract unix socket names (where the host's kernel lets the runtime check them).");
        } else {
            let _ = writeln!(w, "  May bind the abstract unix socket name(s) {} only.", l.unix_bind.join(", "));
        }
    }

    let _ = writeln!(w, "\nPrivileges");
    let caps = &c.process.capabilities.bounding;
    if caps.is_empty() {
        let _ = writeln!(w, "  No capabilities: cannot change file owners, bypass permissions, bind ports below 1024, load modules or change the system.");
    } else {
        let _ = writeln!(w, "  Keeps the capabilities {} (in every set); all others are gone.", list(caps));
    }
    if c.process.no_new_privileges {
        let _ = writeln!(w, "  Cannot gain privileges: no_new_privs is set and mounts are nosuid, so setuid programs are inert.");
    } else {
        let _ = writeln!(w, "  no_new_privs is OFF (security.no_new_privileges = false): setuid programs in the rootfs work.");
    }
    if let Some(l) = &plan.landlock {
        if l.scope.contains(&"signal") {
            let _ = writeln!(w, "  Cannot send signals to processes outside its sandbox.");
        }
        if l.scope.contains(&"abstract-unix-socket") {
            let _ = writeln!(w, "  Cannot connect to abstract unix sockets outside its sandbox.");
        }
        if l.compat == "required" {
            let _ = writeln!(w, "  The runtime refuses to start it on a kernel whose Landlock cannot enforce all of this.");
        } else {
            let _ = writeln!(w, "  On a kernel with an older Landlock, the runtime enforces what it can (compat = best-effort).");
        }
    }
    match &plan.seccomp_file {
        Some(p) => {
            let _ = writeln!(w, "  System calls are filtered by the seccomp profile \"{}\" ({}).", plan.seccomp_choice, p.display());
        }
        None => {
            let _ = writeln!(w, "  NO seccomp filter (security.seccomp = \"unconfined\").");
        }
    }
    let ns: Vec<&str> = c.linux.namespaces.iter().map(|n| n.kind.as_str()).collect();
    let _ = writeln!(w, "  Own namespaces: {}; sees only its own processes.", ns.join(", "));

    let _ = writeln!(w, "\nDevices");
    let _ = writeln!(w, "  The standard nodes: null, zero, full, random, urandom, tty, ptmx and its own pseudo-terminals.");
    for dev in &c.linux.devices {
        let _ = writeln!(w, "  Also {} ({} {}:{}, mode {:o}, owner {}:{}).", dev.path, dev.kind, dev.major, dev.minor, dev.file_mode, dev.uid, dev.gid);
    }
    let _ = writeln!(w, "  Every other device is denied by the cgroup device rules.");

    let _ = writeln!(w, "\nLimits");
    let r = &c.linux.resources;
    let mut any = false;
    if let Some(m) = &r.memory {
        let _ = writeln!(w, "  Memory: {}.", Size(m.limit as u64));
        any = true;
    }
    if let Some(cpu) = &r.cpu {
        let _ = writeln!(w, "  CPU: {} CPU(s) worth of time.", cpu.quota as f64 / cpu.period as f64);
        any = true;
    }
    if let Some(p) = &r.pids {
        let _ = writeln!(w, "  At most {} tasks (processes and threads).", p.limit);
        any = true;
    }
    if !any {
        let _ = writeln!(w, "  No memory, CPU or task limit (see [resources]).");
    }
    for rl in &c.process.rlimits {
        let _ = writeln!(w, "  {}: soft {}, hard {}.", rl.kind, limit(rl.soft), limit(rl.hard));
    }

    let _ = writeln!(w, "\nLifecycle");
    let l = &d.lifecycle;
    let _ = writeln!(w, "  Stopped with {}, killed {} s later if still running.", l.stop_signal.0, l.stop_timeout);
    if l.notify {
        let _ = writeln!(w, "  Counts as started when it reports READY=1 through sd_notify (Type=notify).");
    } else {
        let _ = writeln!(w, "  Counts as started as soon as the program runs (Type=exec).");
    }
    if let Some(sig) = &l.reload_signal {
        let _ = writeln!(w, "  `systemctl reload` sends it {}.", sig.0);
    }
    let _ = writeln!(w, "  Restarted by systemd when it fails.");
    o
}
