//! Escapes from the outside review that are closed by the shipped seccomp profiles, by
//! spec-gen's defaults and by the runtime checking every security step:
//!
//! - set-id files planted in a read-write bind (they are set-id-root programs on the host),
//! - MPTCP sockets and TCP Fast Open sends (both sidestep connect-time network checks),
//!   each refused by the seccomp profile alone and by the BPF network guard alone,
//! - memfd_create + execveat running code although every writable mount is noexec,
//! - kernel information (symbols, BTF, allocator state) readable in a generated bundle,
//! - fail-open steps: a failed or ineffective prctl/capset/keyctl in the container's init,
//!   injected with strace, must stop the start with one clear error and no residue,
//! - a profile without close_range when noNewPrivileges is false (the runtime must not
//!   need it after installing the filter).
//!
//! Each negative result has a positive control beside it (the same container does the
//! harmless variant) and, where it makes sense, a control container without the
//! protection in which the same probe verb succeeds.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use integration::checks::{profile, token, workspace, HostListener};
use integration::*;

const DATA: &str = "/data";

/// Root inside, no capabilities, no_new_privs, the default profile, host networking, a rw
/// bind of a host directory at /data (nosuid, as spec-gen mounts binds).
fn hardened(ctx: &Ctx, name: &str) -> (Bundle, PathBuf) {
    let mut b = ctx.bundle(name);
    let data = ctx.dir(&format!("{name}-data"));
    b.set("process/user", json!({"uid": 0, "gid": 0}));
    b.set("process/noNewPrivileges", json!(true));
    let none = json!([]);
    b.set("process/capabilities", json!({"bounding": none, "effective": none, "inheritable": none, "permitted": none, "ambient": none}));
    b.set("linux/namespaces", json!([{"type": "mount"}, {"type": "pid"}, {"type": "ipc"}, {"type": "uts"}]));
    b.set("linux/seccomp", profile("default"));
    b.mount(DATA, "bind", data.to_str().unwrap(), &["bind", "rw", "nosuid", "nodev", "noexec"]);
    fs::create_dir_all(b.host_path(DATA)).unwrap();
    (b, data)
}

/// Runs `script` in the bundle; returns "key value" lines as a map (first word → rest).
fn run_lines(ctx: &Ctx, b: &mut Bundle, script: &str) -> std::collections::BTreeMap<String, String> {
    let o = ctx.sh(b, script);
    o.expect_ok("script");
    o.stdout.lines().filter_map(|l| l.split_once(' ').map(|(k, v)| (k.to_string(), v.trim().to_string()))).collect()
}

fn host_mode(p: &Path) -> Option<u32> {
    fs::symlink_metadata(p).ok().map(|m| m.permissions().mode() & 0o7777)
}

// ------------------------------------------------------------------ set-id files (item 12)

const SETID_WAYS: [&str; 8] = ["chmod", "fchmod", "fchmodat", "fchmodat2", "mknod", "open", "openat", "creat"];

fn setid_script() -> String {
    let mut s = String::new();
    for how in SETID_WAYS.iter().chain(["openat2"].iter()) {
        s.push_str(&format!("echo \"{how} $(/probe setid {DATA}/f-{how} {how} 2>/dev/null)\"; "));
    }
    s.push_str(&format!("echo \"plain $(/probe setid {DATA}/f-plain plain 2>/dev/null)\""));
    s
}

#[test]
fn setid_bits_cannot_be_planted_in_a_rw_bind() {
    let ctx = Ctx::new("setid");
    let (mut b, data) = hardened(&ctx, "hard");
    let got = run_lines(&ctx, &mut b, &setid_script());
    for how in SETID_WAYS {
        assert_eq!(got.get(how).map(String::as_str), Some("EPERM"), "{how}: {got:?}");
        // Host witness: whatever the call left behind carries no set-id bit.
        if let Some(m) = host_mode(&data.join(format!("f-{how}"))) {
            assert_eq!(m & 0o6000, 0, "{how}: host file has mode {m:o}");
        }
    }
    // openat2 hides its mode in memory: refused as "not implemented" so callers fall back.
    assert_eq!(got.get("openat2").map(String::as_str), Some("ENOSYS"), "{got:?}");
    assert!(host_mode(&data.join("f-openat2")).is_none());
    // Positive control: ordinary mode changes work, and the host sees them.
    assert_eq!(got.get("plain").map(String::as_str), Some("mode 0755"), "{got:?}");
    assert_eq!(host_mode(&data.join("f-plain")), Some(0o755));

    // Control container without the profile: the same verbs plant set-id-root files.
    let (mut c, cdata) = hardened(&ctx, "control");
    c.remove("linux/seccomp");
    let got = run_lines(&ctx, &mut c, &setid_script());
    for how in SETID_WAYS.iter().chain(["openat2"].iter()) {
        assert_eq!(got.get(*how).map(String::as_str), Some("mode 6755"), "control {how}: {got:?}");
        let f = cdata.join(format!("f-{how}"));
        assert_eq!(host_mode(&f), Some(0o6755), "control {how} on the host");
        fs::remove_file(&f).unwrap();
    }
}

// ------------------------------------------------------------------ MPTCP and TCP Fast Open

#[test]
fn mptcp_gets_eprotonosupport_and_tcp_still_works() {
    let ctx = Ctx::new("mptcp");
    let (mut b, _) = hardened(&ctx, "hard");
    let script =
        "for f in inet inet6; do echo \"mptcp-$f $(/probe socket $f stream 262 2>/dev/null)\"; echo \"tcp-$f $(/probe socket $f stream 6 2>/dev/null)\"; done";
    let got = run_lines(&ctx, &mut b, script);
    for f in ["inet", "inet6"] {
        assert_eq!(got[&format!("mptcp-{f}")], "EPROTONOSUPPORT", "{got:?}");
        assert_eq!(got[&format!("tcp-{f}")], "socket ok", "{got:?}");
    }
    // Control: this kernel has MPTCP enabled, and without the profile the socket is made.
    assert_eq!(fs::read_to_string("/proc/sys/net/mptcp/enabled").unwrap_or_default().trim(), "1", "the control needs net.mptcp.enabled=1 on the host");
    b.remove("linux/seccomp");
    let got = run_lines(&ctx, &mut b, script);
    assert_eq!(got["mptcp-inet"], "socket ok", "control: {got:?}");
}

/// One line per probe: `KEY <probe output>` (`read TOKEN`, `sent 1`, or an errno name).
fn probe_script(cmds: &[(&str, String)]) -> String {
    cmds.iter().map(|(k, c)| format!("echo \"{k} $(/probe {c} 2>/dev/null)\"; ")).collect()
}

/// The network guard alone: Landlock's fs and TCP rules (connect only to `connect`), which
/// put the BPF guard in place, and no seccomp profile.
fn guard_only(b: &mut Bundle, connect: u16) {
    b.remove("linux/seccomp");
    let bind = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    b.set(
        "annotations",
        json!({
            "org.ocirt.landlock.fs.exec": r#"["/"]"#,
            "org.ocirt.landlock.fs.write": r#"["/tmp", "/dev", "/data"]"#,
            "org.ocirt.landlock.net.bind": format!("[{bind}]"),
            "org.ocirt.landlock.net.connect": format!("[{connect}]"),
        }),
    );
}

/// Neither layer: no profile, no network annotation.
fn unprotected(b: &mut Bundle) {
    b.remove("linux/seccomp");
    b.remove("annotations");
}

/// MPTCP, one layer at a time. Landlock's TCP rules only cover IPPROTO_TCP sockets, so
/// MPTCP needs a layer of its own, and there are two:
/// (i) the seccomp profile alone (no network annotations): the socket fails with
///     EPROTONOSUPPORT, as on a kernel without MPTCP, while plain TCP still reaches the host;
/// (ii) the BPF network guard alone (network annotations, no profile): MPTCP is refused with
///     EPERM, even to a declared port, while plain TCP to the declared port works;
/// (iii) the control with neither reaches the forbidden host listener over MPTCP.
#[test]
fn mptcp_is_refused_by_each_layer_alone() {
    let ctx = Ctx::new("mptcpll");
    assert_eq!(fs::read_to_string("/proc/sys/net/mptcp/enabled").unwrap_or_default().trim(), "1", "the control needs net.mptcp.enabled=1 on the host");
    let (secret, open) = (token("forbidden"), token("declared"));
    let forbidden = HostListener::new(&secret);
    let declared = HostListener::new(&open);
    let (fp, dp) = (forbidden.port, declared.port);

    // (i) The profile alone.
    let (mut b, _) = hardened(&ctx, "b");
    let got = run_lines(
        &ctx,
        &mut b,
        &probe_script(&[
            ("mptcp4", format!("tcp-reach mptcp 127.0.0.1 {fp}")),
            ("mptcp6", format!("tcp-reach mptcp ::1 {fp}")),
            ("tcp", format!("tcp-reach connect 127.0.0.1 {fp}")),
        ]),
    );
    assert_eq!(got["mptcp4"], "EPROTONOSUPPORT", "the profile: {got:?}");
    assert_eq!(got["mptcp6"], "EPROTONOSUPPORT", "the profile: {got:?}");
    assert_eq!(got["tcp"], format!("read {secret}"), "positive control: plain TCP under the profile: {got:?}");
    assert_eq!(forbidden.count(), 1, "only the plain connection reached the host");

    // (ii) The network guard alone.
    guard_only(&mut b, dp);
    let got = run_lines(
        &ctx,
        &mut b,
        &probe_script(&[
            ("mptcp", format!("tcp-reach mptcp 127.0.0.1 {fp}")),
            ("mptcp-declared", format!("tcp-reach mptcp 127.0.0.1 {dp}")),
            ("tcp-declared", format!("tcp-reach connect 127.0.0.1 {dp}")),
        ]),
    );
    assert_eq!(got["mptcp"], "EPERM", "the guard: {got:?}");
    assert_eq!(got["mptcp-declared"], "EPERM", "the guard refuses MPTCP outright: {got:?}");
    assert_eq!(got["tcp-declared"], format!("read {open}"), "positive control: the declared port: {got:?}");
    assert_eq!(forbidden.count(), 1, "the guarded container reached the forbidden listener");

    // (iii) Neither: the same verb reaches the forbidden listener, so the probe works.
    unprotected(&mut b);
    let got = run_lines(&ctx, &mut b, &probe_script(&[("mptcp", format!("tcp-reach mptcp 127.0.0.1 {fp}"))]));
    assert_eq!(got["mptcp"], format!("read {secret}"), "control without either layer: {got:?}");
    assert_eq!(forbidden.count(), 2);
}

/// TCP Fast Open sends (MSG_FASTOPEN on sendto/sendmsg/sendmmsg) connect without
/// connect(2), which is all Landlock sees. One layer at a time:
/// (i) the seccomp profile alone refuses the sends (EPERM) while connect + send and
///     TCP_FASTOPEN_CONNECT (which goes through connect(2)) still reach the host;
/// (ii) the BPF network guard alone (its connect hooks run on the fast-open path too)
///     refuses them to an undeclared port (EPERM), a fast-open send to the declared port
///     works, and connect after TCP_FASTOPEN_CONNECT meets Landlock (EACCES);
/// (iii) the control with neither reaches the forbidden host listener by fast open.
#[test]
fn tcp_fast_open_sends_are_refused_and_plain_sends_work() {
    let ctx = Ctx::new("tfo");
    assert_ne!(
        fs::read_to_string("/proc/sys/net/ipv4/tcp_fastopen").unwrap_or_default().trim(),
        "0",
        "the control needs client TFO (net.ipv4.tcp_fastopen & 1)"
    );
    let (secret, open) = (token("forbidden"), token("declared"));
    let forbidden = HostListener::new(&secret);
    let declared = HostListener::new(&open);
    let (fp, dp) = (forbidden.port, declared.port);
    let sends = |port: u16| {
        vec![
            ("sendto", format!("tcp-reach fo-sendto 127.0.0.1 {port}")),
            ("sendto6", format!("tcp-reach fo-sendto ::1 {port}")),
            ("sendmsg", format!("tcp-reach fo-sendmsg 127.0.0.1 {port}")),
            ("sendmmsg", format!("tcp-reach fo-sendmmsg 127.0.0.1 {port}")),
        ]
    };

    // (i) The profile alone.
    let (mut b, _) = hardened(&ctx, "hard");
    let mut cmds = sends(fp);
    cmds.push(("plain", format!("tcp-reach connect 127.0.0.1 {fp}")));
    cmds.push(("fastopen-connect", format!("tfo-send 127.0.0.1 {fp} fastopen-connect")));
    let got = run_lines(&ctx, &mut b, &probe_script(&cmds));
    for k in ["sendto", "sendto6", "sendmsg", "sendmmsg"] {
        assert_eq!(got[k], "EPERM", "the profile, {k}: {got:?}");
    }
    assert_eq!(got["plain"], format!("read {secret}"), "positive control: connect + send under the profile: {got:?}");
    assert_eq!(got["fastopen-connect"], "sent 1", "TCP_FASTOPEN_CONNECT stays allowed: {got:?}");
    assert_eq!(forbidden.count(), 2, "only connect(2)-based connections reached the host");

    // (ii) The network guard alone.
    guard_only(&mut b, dp);
    let mut cmds = sends(fp);
    cmds.push(("declared", format!("tcp-reach fo-sendto 127.0.0.1 {dp}")));
    cmds.push(("fastopen-connect", format!("tfo-send 127.0.0.1 {fp} fastopen-connect")));
    let got = run_lines(&ctx, &mut b, &probe_script(&cmds));
    for k in ["sendto", "sendto6", "sendmsg", "sendmmsg"] {
        assert_eq!(got[k], "EPERM", "the guard, {k}: {got:?}");
    }
    assert_eq!(got["declared"], format!("read {open}"), "positive control: fast open to the declared port: {got:?}");
    assert_eq!(got["fastopen-connect"], "EACCES", "Landlock sees connect after TCP_FASTOPEN_CONNECT: {got:?}");
    assert_eq!(forbidden.count(), 2, "the guarded container reached the forbidden listener");

    // (iii) Neither: the same sends reach the forbidden listener, so the probe works.
    unprotected(&mut b);
    let got = run_lines(&ctx, &mut b, &probe_script(&sends(fp)[..3]));
    for k in ["sendto", "sendto6", "sendmsg"] {
        assert_eq!(got[k], format!("read {secret}"), "control without either layer, {k}: {got:?}");
    }
    assert_eq!(forbidden.count(), 5);
}

// ------------------------------------------------------------------ memfd execution (item 13)

#[test]
fn memfd_noexec_sysctl_stops_running_code_from_memory() {
    let ctx = Ctx::new("memfd");
    let host_before = fs::read_to_string("/proc/sys/vm/memfd_noexec").unwrap();
    let script = "echo \"exec $(/probe memfd-exec exec 2>/dev/null)\"; echo \"plain $(/probe memfd-exec plain 2>/dev/null)\"; echo \"file $(/probe exec /probe env HOME)\"; echo \"sysctl $(cat /proc/sys/vm/memfd_noexec)\"";
    let (mut b, _) = hardened(&ctx, "hard");
    b.set("linux/sysctl", json!({"vm.memfd_noexec": "2"}));
    let got = run_lines(&ctx, &mut b, script);
    assert_eq!(got["sysctl"], "2", "{got:?}");
    assert_eq!(got["exec"], "EACCES", "memfd_create(MFD_EXEC): {got:?}");
    assert_eq!(got["plain"], "EACCES", "execveat of a sealed memfd: {got:?}");
    assert_eq!(got["file"], "/root", "positive control: a program from the rootfs runs: {got:?}");
    // Witness: the container's PID namespace has its own value; the host's is unchanged.
    assert_eq!(fs::read_to_string("/proc/sys/vm/memfd_noexec").unwrap(), host_before);

    // Control: without the sysctl (and this host at 0) the memfd runs.
    assert_eq!(host_before.trim(), "0", "the control needs vm.memfd_noexec=0 on the host");
    b.remove("linux/sysctl");
    let got = run_lines(&ctx, &mut b, script);
    assert_eq!(got["plain"], "ran", "control: {got:?}");
}

// ------------------------------------------------------------------ generated bundles (13, 16)

fn spec_gen_bin() -> PathBuf {
    let p = runtime_bin().with_file_name("spec-gen");
    if !p.is_file() {
        let st = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "-p", "spec-gen"])
            .current_dir(workspace())
            .status()
            .unwrap();
        assert!(st.success());
    }
    p
}

fn spec_gen(args: &[&str]) {
    let out = Command::new(spec_gen_bin()).args(args).output().unwrap();
    assert!(out.status.success(), "spec-gen {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The busybox service generated by spec-gen, with the probe in its rootfs.
fn generated(ctx: &Ctx) -> (PathBuf, Value) {
    let src = workspace().join("bundles/busybox");
    let svc_dir = ctx.dir("svc");
    fs::copy(src.join("service.toml"), svc_dir.join("service.toml")).unwrap();
    fs::create_dir_all(svc_dir.join("www")).unwrap();
    let svc = svc_dir.join("service.toml");
    let svc = svc.to_str().unwrap();
    spec_gen(&["rootfs", svc, "--output", svc_dir.join("rootfs").to_str().unwrap()]);
    fs::copy(probe_host_path(), svc_dir.join("rootfs/probe")).unwrap();
    let bundle = ctx.dir("bundle");
    spec_gen(&["bundle", svc, "--output", bundle.to_str().unwrap()]);
    let cfg: Value = serde_json::from_str(&fs::read_to_string(bundle.join("config.json")).unwrap()).unwrap();
    (bundle, cfg)
}

/// Kernel-information paths: files must read as empty, directories list nothing.
const KERNEL_FILES: [&str; 9] = [
    "/proc/kallsyms",
    "/proc/config.gz",
    "/proc/slabinfo",
    "/proc/vmallocinfo",
    "/proc/timer_list",
    "/proc/sched_debug",
    "/proc/iomem",
    "/sys/kernel/vmcoreinfo",
    "/sys/kernel/notes",
];
const KERNEL_DIRS: [&str; 6] = ["/sys/kernel/btf", "/sys/kernel/debug", "/sys/kernel/tracing", "/sys/kernel/slab", "/sys/firmware", "/sys/module"];

fn info_script() -> String {
    let mut s = String::new();
    for f in KERNEL_FILES {
        s.push_str(&format!("echo \"{f} $(cat {f} 2>/dev/null | wc -c)\"; "));
    }
    for d in KERNEL_DIRS {
        s.push_str(&format!("echo \"{d} $(ls -A {d} 2>/dev/null | wc -l)\"; "));
    }
    for f in ["/proc/self/status", "/proc/cpuinfo", "/sys/kernel/mm/transparent_hugepage/enabled"] {
        s.push_str(&format!("echo \"{f} $(cat {f} 2>/dev/null | wc -c)\"; "));
    }
    s.push_str("echo \"memfd $(/probe memfd-exec plain 2>/dev/null)\"; echo \"sysctl $(cat /proc/sys/vm/memfd_noexec)\"");
    s
}

fn run_generated(ctx: &Ctx, bundle: &Path, cfg: &Value) -> std::collections::BTreeMap<String, String> {
    let mut cfg = cfg.clone();
    let id = ctx.next_id();
    cfg["linux"]["cgroupsPath"] = json!(ctx.cgroup_path(&id));
    // Root inside, so that root-only files (slabinfo, vmallocinfo) would be readable.
    cfg["process"]["user"] = json!({"uid": 0, "gid": 0});
    cfg["process"]["args"] = json!(["/bin/sh", "-c", info_script()]);
    fs::write(bundle.join("config.json"), serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
    ctx.track(&id);
    let o = ctx.rt(&["run", "--bundle", bundle.to_str().unwrap(), &id]);
    o.expect_ok("run the generated bundle");
    o.stdout.lines().filter_map(|l| l.split_once(' ').map(|(k, v)| (k.to_string(), v.trim().to_string()))).collect()
}

#[test]
fn generated_bundle_hides_kernel_information_and_runs_no_memfd() {
    let ctx = Ctx::new("kinfo");
    let host_memfd = fs::read_to_string("/proc/sys/vm/memfd_noexec").unwrap();
    let (bundle, cfg) = generated(&ctx);
    assert_eq!(cfg["linux"]["sysctl"]["vm.memfd_noexec"], json!("2"), "spec-gen sets the sysctl");
    let got = run_generated(&ctx, &bundle, &cfg);
    for p in KERNEL_FILES.iter().chain(KERNEL_DIRS.iter()) {
        assert_eq!(got.get(*p).map(String::as_str), Some("0"), "{p} is visible: {got:?}");
    }
    // Positive controls: what services do read still works.
    for p in ["/proc/self/status", "/proc/cpuinfo", "/sys/kernel/mm/transparent_hugepage/enabled"] {
        assert_ne!(got.get(p).map(String::as_str), Some("0"), "{p} must stay readable: {got:?}");
    }
    assert_eq!(got["sysctl"], "2");
    assert_eq!(got["memfd"], "EACCES", "{got:?}");
    assert_eq!(fs::read_to_string("/proc/sys/vm/memfd_noexec").unwrap(), host_memfd, "host value changed");

    // Control: the same bundle without the masks and the sysctl shows the kernel's
    // information (so the zeros above come from the masks) and runs the memfd.
    let mut open = cfg.clone();
    open["linux"]["maskedPaths"] = json!([]);
    open["linux"].as_object_mut().unwrap().remove("sysctl");
    let got = run_generated(&ctx, &bundle, &open);
    for p in ["/proc/kallsyms", "/proc/config.gz", "/proc/slabinfo", "/sys/kernel/vmcoreinfo", "/sys/kernel/btf", "/sys/module"] {
        assert_ne!(got.get(p).map(String::as_str), Some("0"), "control: {p} should be visible without the mask: {got:?}");
    }
    assert_eq!(got["memfd"], "ran", "control: {got:?}");
}

// ------------------------------------------------------------------ fail-open steps (item 14)

/// `strace -f` around `runtime run`, tracing `calls` into `trace`, with an optional
/// injection. strace's exit status is the runtime's.
fn strace_run(ctx: &Ctx, b: &Bundle, id: &str, calls: &str, inject: Option<&str>, extra: &[&str]) -> (Output, String) {
    ctx.write_config(b, id);
    ctx.track(id);
    let trace = ctx.base.join(format!("{id}.strace"));
    let mut c = Command::new("strace");
    c.args(["-f", "-qq", "-o"]).arg(&trace).args(["-e", &format!("trace={calls}")]);
    // Several injections are separated by ';'.
    for i in inject.into_iter().flat_map(|i| i.split(';')) {
        c.args(["-e", &format!("inject={i}")]);
    }
    c.arg(runtime_bin()).arg("--root").arg(&ctx.root).args(["run", "--bundle", b.dir.to_str().unwrap()]).args(extra).arg(id).stdin(Stdio::null());
    let o = ctx.spawn(c, &format!("strace runtime run {id}")).wait(Duration::from_secs(60));
    (o, fs::read_to_string(&trace).unwrap_or_default())
}

/// The 1-based index, among the prctl calls of the process that made it, of the first
/// prctl whose arguments start with `args`.
fn prctl_index(trace: &str, args: &str) -> usize {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for line in trace.lines() {
        let Some((pid, rest)) = line.split_once(' ') else { continue };
        let rest = rest.trim_start();
        if !rest.starts_with("prctl(") {
            continue;
        }
        let n = counts.entry(pid).or_default();
        *n += 1;
        if rest["prctl(".len()..].starts_with(args) {
            return *n;
        }
    }
    panic!("no prctl({args}...) in the trace:\n{trace}");
}

#[test]
fn failed_or_ineffective_security_steps_stop_the_start() {
    assert!(Command::new("strace").arg("-V").output().is_ok_and(|o| o.status.success()), "strace is needed (scripts/setup.sh installs it)");
    let ctx = Ctx::new("failopen");
    let mut b = ctx.bundle("b");
    let caps = json!(["CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    b.set("process/capabilities", json!({"bounding": caps, "effective": caps, "inheritable": [], "permitted": caps, "ambient": []}));
    b.probe(&["caps"]);

    // Positive control under strace, which also tells where the calls to hit are.
    let id = ctx.next_id();
    let (o, trace) = strace_run(&ctx, &b, &id, "prctl,keyctl,capset,capget,setsid", None, &[]);
    o.expect_ok("the same container under strace without injection");
    assert!(o.stdout.contains("CapBnd:\t0000000000000420"), "bounding set is KILL|NET_BIND_SERVICE:\n{}", o.stdout);
    assert!(o.stdout.contains("CapAmb:\t0000000000000000"), "{}", o.stdout);
    let dumpable = prctl_index(&trace, "PR_SET_DUMPABLE");
    let drop = prctl_index(&trace, "PR_CAPBSET_DROP, CAP_SYS_ADMIN");
    let clear_ambient = prctl_index(&trace, "PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL");
    // The sets are read back from /proc/self/status, believed only on procfs. With fstatfs
    // failing that file is not believed and every capability is asked for with prctl: the
    // container still starts with the same sets (positive control of that path), and the
    // calls to hit there are found in its trace.
    let no_status = "fstatfs:error=EIO";
    let id = ctx.next_id();
    let (o, trace) = strace_run(&ctx, &b, &id, "prctl,keyctl,capset,capget,setsid,fstatfs", Some(no_status), &[]);
    o.expect_ok("the same container with /proc/self/status not believed");
    assert!(o.stdout.contains("CapBnd:\t0000000000000420"), "bounding set is KILL|NET_BIND_SERVICE:\n{}", o.stdout);
    assert!(trace.contains("PR_CAPBSET_READ"), "no per-capability read-back without a usable /proc/self/status:\n{trace}");
    let drop_nostatus = prctl_index(&trace, "PR_CAPBSET_DROP, CAP_SYS_ADMIN");
    let read = prctl_index(&trace, "PR_CAPBSET_READ, CAP_SYS_ADMIN");
    let ambient_read = prctl_index(&trace, "PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_SYS_ADMIN");

    let cases: Vec<(String, &str)> = vec![
        (format!("prctl:error=EIO:when={dumpable}"), "PR_SET_DUMPABLE"),
        (format!("prctl:error=EIO:when={drop}"), "PR_CAPBSET_DROP(CAP_SYS_ADMIN) failed: Input/output error"),
        // The kernel says "done" but did nothing: the read-back catches it.
        (format!("prctl:retval=0:when={drop}"), "the bounding set still holds CAP_SYS_ADMIN"),
        (format!("{no_status};prctl:retval=0:when={drop_nostatus}"), "the bounding set still holds CAP_SYS_ADMIN"),
        (format!("{no_status};prctl:error=EIO:when={read}"), "PR_CAPBSET_READ(CAP_SYS_ADMIN) failed"),
        ("capset:retval=0".into(), "the effective set still holds"),
        ("capset:error=EPERM".into(), "capset(effective, permitted, inheritable) failed"),
        ("capget:error=EIO".into(), "capget failed"),
        (format!("prctl:error=EIO:when={clear_ambient}"), "PR_CAP_AMBIENT_CLEAR_ALL failed"),
        (format!("{no_status};prctl:error=EIO:when={ambient_read}"), "PR_CAP_AMBIENT_IS_SET(CAP_SYS_ADMIN) failed"),
        ("keyctl:error=EDQUOT".into(), "key quota"),
        ("keyctl:error=EPERM".into(), "--no-new-keyring"),
        ("setsid:error=EPERM".into(), "setsid"),
    ];
    for (inject, want) in &cases {
        let id = ctx.next_id();
        // strace tampers only with traced calls: fstatfs is traced for the cases that fail it.
        let (o, _) = strace_run(&ctx, &b, &id, "prctl,keyctl,capset,capget,setsid,fstatfs", Some(inject), &[]);
        let line = o.expect_error(&format!("inject {inject}"));
        assert!(line.contains(want), "inject {inject}: expected {want:?} in {line:?}");
        assert!(!o.stdout.contains("CapBnd"), "inject {inject}: the container ran:\n{}", o.stdout);
        ctx.assert_no_residue_for(&id, &format!("inject {inject}"));
    }

    // Tolerated on purpose: a kernel without keyrings (ENOSYS) has nothing to leak, and
    // --no-new-keyring knowingly keeps the caller's keyring (no keyctl call at all).
    let id = ctx.next_id();
    let (o, _) = strace_run(&ctx, &b, &id, "keyctl", Some("keyctl:error=ENOSYS"), &[]);
    o.expect_ok("keyctl ENOSYS");
    assert!(o.stdout.contains("CapBnd:\t0000000000000420"), "{}", o.stdout);
    let id = ctx.next_id();
    let (o, trace) = strace_run(&ctx, &b, &id, "keyctl", Some("keyctl:error=EPERM"), &["--no-new-keyring"]);
    o.expect_ok("--no-new-keyring");
    assert!(!trace.contains("keyctl("), "{trace}");
}

// ------------------------------------------------------------------ close_range (issue 12)

#[test]
fn profile_without_close_range_starts_without_no_new_privs() {
    let ctx = Ctx::new("closerange");
    let (mut b, _) = hardened(&ctx, "b");
    let mut p = profile("default");
    for e in p["syscalls"].as_array_mut().unwrap() {
        if let Some(names) = e["names"].as_array_mut() {
            names.retain(|n| n != "close_range");
        }
    }
    b.set("linux/seccomp", p);
    b.set("process/noNewPrivileges", json!(false));
    // close_range(0, 0, CLOSE_RANGE_CLOEXEC): denied inside, so the profile really lacks it.
    let nr = "436"; // close_range, the same number on x86_64 and aarch64
    let o = ctx.probe(&mut b, &["syscall", nr, "0", "0", "4"]);
    assert_eq!((o.code, o.out()), (1, "EPERM"), "close_range inside: {o:?}");
    // Positive control: with the full default profile the same call works.
    b.set("linux/seccomp", profile("default"));
    let o = ctx.probe(&mut b, &["syscall", nr, "0", "0", "4"]);
    assert_eq!((o.code, o.out()), (0, "ret 0"), "close_range with the default profile: {o:?}");
}
