//! Escape attempts from a container configured the way spec-gen configures a service:
//! host networking, a rw bind mount of a host directory, root inside, mount/pid/ipc/uts
//! namespaces, runc's masked and read-only paths, no capabilities, no_new_privs, the
//! default seccomp profile, Landlock (exec of the rootfs, writes to /tmp, /dev and the bind
//! target, one TCP bind port, one TCP connect port, abstract-unix and signal scoping), a
//! read-only root with a tmpfs /tmp.
//!
//! Every attack is shown blocked in that configuration, next to a positive control that
//! proves the setup works (an allowed port connects, an allowed path is writable, an
//! allowed syscall succeeds) and, wherever this machine allows it, a control container
//! with the protection removed in which the same probe verb gets a *different* outcome:
//! a broken configuration cannot pass these tests by accident. Where the outcome is the
//! same for reasons of the machine (no kernel modules, unprivileged BPF disabled), the
//! test says so.
//!
//! docs/security.md maps every path to its mechanism and to the test here.

use std::fs;
use std::net::{TcpListener, UdpSocket};
use std::os::fd::FromRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use integration::checks::*;
use integration::*;

// ------------------------------------------------------------------ configuration

/// Container path of the rw bind mount of a host directory.
const DATA: &str = "/data";

const LL_KEYS: [&str; 6] = [LL_FS_EXEC, LL_FS_WRITE, LL_NET_BIND, LL_NET_CONNECT, LL_SCOPE, LL_COMPAT];

/// Ports used when a test does not exercise the network (the policy must name some).
const UNUSED_BIND: u16 = 8080;
const UNUSED_CONNECT: u16 = 5432;

/// A bundle configured like a spec-gen service, and the host side of its /data bind.
struct Svc {
    b: Bundle,
    data: PathBuf,
}

/// The hardened configuration (see the module docs); `bind`/`connect` are the only TCP
/// ports Landlock lets the container bind and connect to.
fn hardened(ctx: &Ctx, name: &str, bind: u16, connect: u16) -> Svc {
    let mut b = ctx.bundle(name);
    let data = ctx.dir(&format!("{name}-data"));
    b.set("process/terminal", json!(false));
    b.set("process/user", json!({"uid": 0, "gid": 0}));
    b.set("process/noNewPrivileges", json!(true));
    set_caps(&mut b, &[]);
    b.set("root", json!({"path": "rootfs", "readonly": true}));
    b.set("linux/namespaces", json!([{"type": "mount"}, {"type": "pid"}, {"type": "ipc"}, {"type": "uts"}]));
    b.set(
        "linux/maskedPaths",
        json!([
            "/proc/acpi",
            "/proc/asound",
            "/proc/kcore",
            "/proc/keys",
            "/proc/latency_stats",
            "/proc/timer_list",
            "/proc/timer_stats",
            "/proc/sched_debug",
            "/sys/firmware",
            "/proc/scsi",
            "/sys/devices/virtual/powercap"
        ]),
    );
    b.set("linux/readonlyPaths", json!(["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]));
    b.set("linux/seccomp", profile("default"));
    // spec-gen's mount options: nosuid everywhere, nodev but on /dev, noexec on writables.
    b.unmount("/tmp");
    b.mount("/tmp", "tmpfs", "tmpfs", &["nosuid", "nodev", "noexec", "mode=1777", "size=16m"]);
    b.mount(DATA, "bind", data.to_str().unwrap(), &["bind", "rw", "nosuid", "nodev", "noexec"]);
    fs::create_dir_all(b.host_path(DATA)).unwrap();
    b.set(
        "annotations",
        json!({
            LL_FS_EXEC: r#"["/"]"#,
            LL_FS_WRITE: format!(r#"["/tmp", "/dev", "{DATA}"]"#),
            LL_NET_BIND: format!("[{bind}]"),
            LL_NET_CONNECT: format!("[{connect}]"),
            LL_SCOPE: r#"["abstract-unix-socket", "signal"]"#,
        }),
    );
    Svc { b, data }
}

/// Sets all five capability sets to `caps`.
fn set_caps(b: &mut Bundle, caps: &[&str]) {
    let v = json!(caps);
    b.set("process/capabilities", json!({"bounding": v, "effective": v, "inheritable": v, "permitted": v, "ambient": v}));
}

fn no_seccomp(b: &mut Bundle) {
    b.remove("linux/seccomp");
}

fn no_landlock(b: &mut Bundle) {
    for k in LL_KEYS {
        b.remove(&format!("annotations/{k}"));
    }
}

/// Removes one namespace type from linux.namespaces.
fn drop_namespace(b: &mut Bundle, typ: &str) {
    if let Some(a) = b.config["linux"]["namespaces"].as_array_mut() {
        a.retain(|n| n["type"] != json!(typ));
    }
}

fn set_opts(b: &mut Bundle, dest: &str, opts: &[&str]) {
    if let Some(a) = b.config["mounts"].as_array_mut() {
        for m in a.iter_mut().filter(|m| m["destination"] == json!(dest)) {
            m["options"] = json!(opts);
        }
    }
}

// ------------------------------------------------------------------ assertions

/// Runs a shell script; returns the output.
#[track_caller]
fn sh(ctx: &Ctx, b: &mut Bundle, script: &str) -> Output {
    ctx.sh(b, script)
}

// ------------------------------------------------------------------ host helpers

/// A host process owned by the test (killed on drop).
struct HostChild(Child);

impl HostChild {
    fn sleep() -> HostChild {
        let c = Command::new(probe_host_path()).args(["sleep", "60"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn host sleeper");
        HostChild(c)
    }
    fn pid(&self) -> i32 {
        self.0.id() as i32
    }
    fn alive(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }
}

impl Drop for HostChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `runtime run` for `b` with `fd` passed as the container's fd 3 (--preserve-fds 1).
#[track_caller]
fn run_with_fd3(ctx: &Ctx, b: &Bundle, fd: i32) -> Output {
    let id = ctx.next_id();
    ctx.write_config(b, &id);
    ctx.track(&id);
    let bundle = b.dir.to_string_lossy().into_owned();
    let mut c = ctx.cmd(&["run", "--bundle", &bundle, "--preserve-fds", "1", &id]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(move || {
            if fd != 3 && libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::fcntl(3, libc::F_SETFD, 0);
            Ok(())
        });
    }
    ctx.spawn(c, "runtime run --preserve-fds 1").wait(CMD_TIMEOUT)
}

/// One probe command in its own container.
#[track_caller]
fn probe1(ctx: &Ctx, b: &mut Bundle, args: &[&str]) -> Output {
    ctx.probe(b, args)
}

// ================================================================== baseline

/// The configuration every other test starts from is really in force, and the service's
/// legitimate needs work: this is the positive control for the whole file.
#[test]
fn hardened_baseline_is_in_force_and_usable() {
    let ctx = Ctx::new("esc_baseline");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    let host_net = fs::read_link("/proc/self/ns/net").unwrap().to_string_lossy().into_owned();
    let r = probes(
        &ctx,
        &mut s.b,
        &[
            &["caps"],
            &["id"],
            &["ns"],
            &["write", "/data/from-container", "hello"],
            &["write", "/tmp/t", "x"],
            &["write", "/dev/null", "x"],
            &["write", "/etc/new", "x"],
            &["write", "/probe", "x"],
            &["read", "/etc/passwd"],
            &["read", "/proc/keys"],
            &["ls", "/sys/firmware"],
            &["mounts"],
        ],
    );
    let caps = worked(&r[0], "caps");
    for k in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert!(caps.contains(&format!("{k}:\t0000000000000000")), "{k} not empty:\n{caps}");
    }
    assert!(caps.contains("NoNewPrivs:\t1"), "{caps}");
    assert!(caps.contains("Seccomp:\t2"), "seccomp filter mode expected:\n{caps}");
    assert!(worked(&r[1], "id").starts_with("uid=0 euid=0"), "root inside: {}", r[1].stdout);
    // Host networking: the same network namespace as the test.
    assert!(worked(&r[2], "ns").contains(&host_net), "expected the host network namespace {host_net}:\n{}", r[2].stdout);
    // Writable: the bind target (seen on the host), /tmp, /dev/null.
    worked(&r[3], "write /data");
    assert_eq!(fs::read_to_string(s.data.join("from-container")).unwrap(), "hello");
    worked(&r[4], "write /tmp");
    worked(&r[5], "write /dev/null");
    // Not writable: the read-only root.
    denied(&r[6], "EROFS", "write /etc/new on the read-only root");
    assert!(r[7].code == 1, "the probe binary must not be writable: {:?}", r[7]);
    // Readable: the rootfs (Landlock fs.exec ["/"] grants read).
    assert!(worked(&r[8], "read /etc/passwd").contains("root:x:0:0"));
    // Masked: /proc/keys reads empty, /sys/firmware is an empty directory.
    assert_eq!(worked(&r[9], "read /proc/keys"), "");
    // /sys/firmware: covered by an empty, read-only, mode 000 tmpfs (EACCES without
    // CAP_DAC_OVERRIDE, empty with it).
    assert!(r[10].code == 1 && r[10].out() == "EACCES" || r[10].code == 0 && r[10].out().is_empty(), "/sys/firmware not masked: {:?}", r[10]);
    let mi = worked(&r[11], "mounts");
    assert!(mount_opts(mi, "/").contains(&"ro".to_string()), "/ must be read-only:\n{mi}");
    assert!(mount_opts(mi, "/proc/sys").contains(&"ro".to_string()), "/proc/sys must be read-only:\n{mi}");
    for mp in ["/tmp", DATA] {
        let o = mount_opts(mi, mp);
        for f in ["nosuid", "nodev", "noexec"] {
            assert!(o.contains(&f.to_string()), "{mp} lacks {f}: {o:?}");
        }
    }
}

// ================================================================== filesystem escapes

/// Double chroot: chroot into a subdirectory, walk up with `..` from the cwd left outside
/// it, chroot again. Blocked by the missing CAP_SYS_CHROOT (the default profile allows
/// chroot(2) itself); even with the capability, pivot_root leaves nothing above the
/// container's root to walk up to.
#[test]
fn chroot_escape_is_contained() {
    let ctx = Ctx::new("esc_chroot");
    // A directory that exists on the host only.
    let marker = ctx.dir("host-only-marker");
    let m = marker.to_str().unwrap();
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    assert!(!s.b.host_path(m).exists());

    denied(&probe1(&ctx, &mut s.b, &["chroot-escape", m]), "EPERM", "chroot without CAP_SYS_CHROOT");

    // With CAP_SYS_CHROOT (and no Landlock/seccomp) chroot works, and the walk up stays
    // inside: a different outcome, so the capability really is what refused it above.
    set_caps(&mut s.b, &["CAP_SYS_CHROOT"]);
    no_seccomp(&mut s.b);
    no_landlock(&mut s.b);
    negative(&probe1(&ctx, &mut s.b, &["chroot-escape", m]), "chroot-escape with CAP_SYS_CHROOT after pivot_root");
    // --no-pivot (MS_MOVE + chroot): the old root lies under the rootfs mount; `..` at the
    // top crosses back down into the mount stacked on it, so this walk stays inside too.
    s.b.probe(&["chroot-escape", m]);
    let id = ctx.next_id();
    negative(&ctx.run(&s.b, &id, &["--no-pivot"]), "chroot-escape with CAP_SYS_CHROOT under --no-pivot");

    // The probe does detect an escape where there is one: run on the host, chrooted into
    // a subdirectory of the test dir, it walks up to the real root and sees the marker.
    let work = ctx.dir("host-chroot-work");
    let o = Command::new(probe_host_path()).args(["chroot-escape", m, work.to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "host control: the probe must report an escape: {}", String::from_utf8_lossy(&o.stdout));
}

/// /proc/1/root and /proc/<host pid>/root: the pid namespace hides host processes; without
/// it Landlock (cross-domain ptrace access) and the empty capability sets (no
/// CAP_SYS_PTRACE towards a process with more capabilities) refuse the link.
#[test]
fn proc_pid_root_does_not_reach_the_host() {
    let ctx = Ctx::new("esc_procroot");
    let marker = ctx.dir("host-only-marker");
    let marker_name = marker.file_name().unwrap().to_str().unwrap().to_string();
    let mut host = HostChild::sleep();
    let hp = host.pid().to_string();
    // The host child runs in the host's / with its cwd irrelevant; its root is the host's.
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);

    let r = probes(&ctx, &mut s.b, &[&["open-root", "1"], &["open-root", &hp], &["ls", "/proc"]]);
    // /proc/1 is the container's own init: its root is the container's root.
    let own = worked(&r[0], "open-root 1");
    assert!(own.lines().any(|l| l == "probe") && !own.lines().any(|l| l == "work"), "/proc/1/root must be the container root:\n{own}");
    denied(&r[1], "ENOENT", "open-root of a host pid inside a pid namespace");
    assert!(!worked(&r[2], "ls /proc").lines().any(|l| l == hp), "host pid {hp} visible in the container's /proc");

    // Without the pid namespace the host process is visible; Landlock refuses its root.
    drop_namespace(&mut s.b, "pid");
    set_caps(&mut s.b, &["CAP_SYS_PTRACE"]);
    denied(&probe1(&ctx, &mut s.b, &["open-root", &hp]), "EACCES", "open-root of a host pid with Landlock");
    // ... and so does the capability check when Landlock is off.
    no_landlock(&mut s.b);
    set_caps(&mut s.b, &[]);
    denied(&probe1(&ctx, &mut s.b, &["open-root", &hp]), "EACCES", "open-root of a host pid without CAP_SYS_PTRACE");
    // Control: with CAP_SYS_PTRACE, no Landlock, no pid namespace, the host's root is
    // listed (the marker's parent, the host's /tmp, is under it).
    set_caps(&mut s.b, &["CAP_SYS_PTRACE"]);
    let tmp_listing = format!("tmp/{}", ctx.base.file_name().unwrap().to_str().unwrap());
    let r = probes(&ctx, &mut s.b, &[&["open-root", &hp], &["ls", &format!("/proc/{hp}/root/{tmp_listing}")]]);
    assert!(worked(&r[0], "control: open-root of a host pid").lines().any(|l| l == "tmp"), "{}", r[0].stdout);
    assert!(worked(&r[1], "control: list the host's test dir").lines().any(|l| l == marker_name), "{}", r[1].stdout);
    assert!(host.alive());
}

/// ptrace of another process: seccomp denies ptrace(2) (and process_vm_*, kcmp); across
/// the container boundary Landlock denies it as well, and the pid namespace hides host
/// processes in the first place.
#[test]
fn ptrace_is_refused() {
    let ctx = Ctx::new("esc_ptrace");
    let mut host = HostChild::sleep();
    let hp = host.pid().to_string();
    let sibling = "/probe sleep 20 & T=$!; /probe ptrace $T; echo \"@@rc=$?\"; kill $T";
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);

    // A sibling in the same container.
    let o = sh(&ctx, &mut s.b, sibling);
    assert!(o.stdout.contains("EPERM\n@@rc=1"), "ptrace of a sibling must fail with EPERM: {o:?}");
    // Control: without seccomp the same attach works (same uid, same Landlock domain).
    let mut c = hardened(&ctx, "c", UNUSED_BIND, UNUSED_CONNECT);
    no_seccomp(&mut c.b);
    let o = sh(&ctx, &mut c.b, sibling);
    assert!(o.stdout.contains("attached\n@@rc=0"), "control: ptrace of a sibling without seccomp must work: {o:?}");

    // A host process, with the pid namespace removed so that its pid is reachable.
    drop_namespace(&mut s.b, "pid");
    set_caps(&mut s.b, &["CAP_SYS_PTRACE"]);
    denied(&probe1(&ctx, &mut s.b, &["ptrace", &hp]), "EPERM", "ptrace of a host process (seccomp + Landlock)");
    no_seccomp(&mut s.b);
    denied(&probe1(&ctx, &mut s.b, &["ptrace", &hp]), "EPERM", "ptrace of a host process (Landlock alone)");
    // Control: no seccomp, no Landlock, CAP_SYS_PTRACE: attached to the host process.
    no_landlock(&mut s.b);
    assert_eq!(worked(&probe1(&ctx, &mut s.b, &["ptrace", &hp]), "control: ptrace of a host process"), "attached");
    assert!(host.alive());
}

/// The major:minor of the device holding the host's root filesystem.
fn host_root_dev() -> (String, String) {
    let mi = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let l = mountinfo_entries(&mi, "/").last().copied().expect("no / in mountinfo").to_string();
    let mm = l.split(' ').nth(2).unwrap().to_string();
    let (a, b) = mm.split_once(':').unwrap();
    (a.to_string(), b.to_string())
}

/// mknod of the host's disk and opening it: seccomp refuses device nodes, the capability
/// set lacks CAP_MKNOD; a node that did get made cannot be opened: /tmp (and every
/// writable mount but /dev) is nodev, and the devices cgroup denies everything but the
/// default devices.
///
/// Machine fact: here even the host's root cannot open /dev/vda (EPERM from the VM's own
/// device policy), so the layer-by-layer controls use /dev/loop0 (7:0) instead, a block
/// device this machine lets root open.
#[test]
fn host_disk_device_node_is_refused() {
    let ctx = Ctx::new("esc_mknod");
    let (maj, min) = host_root_dev();
    // `head` reports the open error on stderr; "@@open" marks a successful open.
    let attempt =
        |path: &str, maj: &str, min: &str| format!("/probe mknod {path} {maj} {min} b; echo \"@@rc=$?\"; head -c 16 {path} >/dev/null && echo @@open; ");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    let script = format!("{}{}mkfifo /tmp/fifo && echo fifo-ok", attempt("/tmp/disk", &maj, &min), attempt("/dev/disk", &maj, &min));
    let o = sh(&ctx, &mut s.b, &script);
    assert!(o.stdout.starts_with("EPERM\n@@rc=1\nEPERM\n@@rc=1\n"), "mknod of the host disk must fail with EPERM: {o:?}");
    assert!(!o.stdout.contains("@@open"), "{o:?}");
    // Positive control: non-device nodes (FIFOs) are allowed by the profile.
    assert!(o.stdout.contains("fifo-ok"), "mkfifo must work: {o:?}");
    // CAP_MKNOD alone does not help: seccomp still refuses.
    set_caps(&mut s.b, &["CAP_MKNOD"]);
    let o = sh(&ctx, &mut s.b, &attempt("/dev/disk", &maj, &min));
    assert!(o.stdout.starts_with("EPERM\n@@rc=1\n"), "mknod with CAP_MKNOD under seccomp: {o:?}");

    // With seccomp off, CAP_MKNOD granted and Landlock still on (it allows making block
    // devices beneath /tmp and /dev), the nodes are made but cannot be opened.
    no_seccomp(&mut s.b);
    let script = format!("{}{}", attempt("/tmp/loop", "7", "0"), attempt("/dev/loop", "7", "0"));
    let o = sh(&ctx, &mut s.b, &script);
    assert_eq!(o.stdout, "created\n@@rc=0\ncreated\n@@rc=0\n", "{o:?}");
    assert!(o.stderr.contains("/tmp/loop: Permission denied"), "nodev on /tmp must refuse the open (EACCES): {o:?}");
    assert!(o.stderr.contains("/dev/loop: Operation not permitted"), "the devices cgroup must refuse the open (EPERM): {o:?}");
    // Control: with the device allowed in the devices cgroup, the node on /dev (not
    // nodev) opens.
    s.b.push("linux/resources/devices", json!({"allow": true, "type": "b", "major": 7, "minor": 0, "access": "r"}));
    let o = sh(&ctx, &mut s.b, &attempt("/dev/loop", "7", "0"));
    assert_eq!(o.stdout, "created\n@@rc=0\n@@open\n", "control: the node must open when every layer is off: {o:?}");
}

/// open_by_handle_at ("shocker"): seccomp denies name_to_handle_at/open_by_handle_at;
/// without seccomp the kernel still wants CAP_DAC_READ_SEARCH.
#[test]
fn open_by_handle_at_is_refused() {
    let ctx = Ctx::new("esc_handle");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    denied(&probe1(&ctx, &mut s.b, &["open-by-handle", "/"]), "EPERM", "open-by-handle");
    set_caps(&mut s.b, &["CAP_DAC_READ_SEARCH"]);
    denied(&probe1(&ctx, &mut s.b, &["open-by-handle", "/"]), "EPERM", "open-by-handle with CAP_DAC_READ_SEARCH (seccomp alone)");
    no_seccomp(&mut s.b);
    assert_eq!(worked(&probe1(&ctx, &mut s.b, &["open-by-handle", "/"]), "control: open-by-handle without seccomp, with CAP_DAC_READ_SEARCH"), "opened");
    set_caps(&mut s.b, &[]);
    denied(&probe1(&ctx, &mut s.b, &["open-by-handle", "/"]), "EPERM", "open-by-handle without seccomp and without CAP_DAC_READ_SEARCH");
}

/// init_module/finit_module: seccomp answers EPERM. This kernel has no module support,
/// so without seccomp the answer is ENOSYS (not success): still a different outcome.
#[test]
fn kernel_modules_are_refused() {
    let ctx = Ctx::new("esc_modules");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    set_caps(&mut s.b, &["CAP_SYS_MODULE"]);
    let r = probes(&ctx, &mut s.b, &[&["init-module"], &["finit-module"]]);
    denied(&r[0], "EPERM", "init_module");
    denied(&r[1], "EPERM", "finit_module");
    no_seccomp(&mut s.b);
    let r = probes(&ctx, &mut s.b, &[&["init-module"], &["finit-module"]]);
    // Machine fact: CONFIG_MODULES=n here. On a modular kernel CAP_SYS_MODULE would be
    // the remaining barrier (the hardened config has no capabilities).
    assert!(r[0].out() != "EPERM" && r[1].out() != "EPERM", "control: without seccomp the kernel answers (ENOSYS here): {r:?}");
}

/// Writes to /proc/sys, /proc/sysrq-trigger and /sys: read-only mounts (readonlyPaths,
/// sysfs and cgroupfs mounted ro) and Landlock (no write grant outside /tmp, /dev,
/// /data). core_pattern is the classic root-in-container escape ("|/path" runs as host
/// root); the controls use the container's own UTS-namespaced hostname sysctl and its own
/// cgroup instead, which are safe to write.
#[test]
fn proc_sys_and_sysfs_are_not_writable() {
    let ctx = Ctx::new("esc_procsys");
    let core_before = fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    let targets: [&[&str]; 8] = [
        &["write", "/proc/sys/kernel/core_pattern", "|/data/x"],
        &["write", "/proc/sys/kernel/hostname", "changed"],
        &["write", "/proc/sysrq-trigger", "h"],
        &["write", "/sys/kernel/profiling", "1"],
        &["write", "/sys/fs/cgroup/pids/pids.max", "100"],
        &["write", "/sys/fs/cgroup/systemd/release_agent", "/data/x"],
        // Host networking: /proc/sys/net is the host's network namespace.
        &["write", "/proc/sys/net/ipv4/ip_forward", "1"],
        &["write", "/sys/kernel/uevent_helper", "/data/x"],
    ];
    let r = probes(&ctx, &mut s.b, &targets);
    for (o, t) in r.iter().zip(targets) {
        assert_eq!(o.code, 1, "{t:?} must fail: {o:?}");
    }
    denied(&r[0], "EROFS", "core_pattern");
    denied(&r[1], "EROFS", "kernel/hostname");
    // Machine fact: no CONFIG_MAGIC_SYSRQ here, so /proc/sysrq-trigger does not exist.
    assert!(["EROFS", "ENOENT"].contains(&r[2].out()), "{:?}", r[2]);
    denied(&r[3], "EROFS", "/sys/kernel/profiling");
    denied(&r[4], "EROFS", "own cgroup's pids.max");
    assert!(["EROFS", "ENOENT"].contains(&r[5].out()), "{:?}", r[5]);
    denied(&r[6], "EROFS", "net/ipv4/ip_forward of the host's network namespace");
    // Machine fact: no CONFIG_UEVENT_HELPER here; creating the file fails on the ro sysfs.
    assert!(["EROFS", "ENOENT"].contains(&r[7].out()), "{:?}", r[7]);
    assert_eq!(fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(), core_before, "the host's core_pattern changed");

    // Landlock alone (read-only paths removed, /sys and /sys/fs/cgroup mounted rw).
    s.b.set("linux/readonlyPaths", json!([]));
    set_opts(&mut s.b, "/sys", &["nosuid", "noexec", "nodev"]);
    set_opts(&mut s.b, "/sys/fs/cgroup", &["nosuid", "noexec", "nodev", "relatime"]);
    let ra = "/sys/fs/cgroup/systemd/release_agent";
    let ra_before = fs::read_to_string(ra).ok();
    let safe: [&[&str]; 3] = [&["write", "/proc/sys/kernel/hostname", "changed"], &["write", "/sys/fs/cgroup/pids/pids.max", "100"], &["write", ra, "/data/x"]];
    let r = probes(&ctx, &mut s.b, &safe);
    denied(&r[0], "EACCES", "kernel/hostname with Landlock alone");
    denied(&r[1], "EACCES", "own pids.max with Landlock alone");
    // The container has its own cgroup in the name=systemd hierarchy too, so the host's
    // release_agent (only at a hierarchy's root) is not in its view at all.
    if ra_before.is_some() {
        denied(&r[2], "EACCES", "release_agent with Landlock alone");
        let mut nl = hardened(&ctx, "nl", UNUSED_BIND, UNUSED_CONNECT);
        no_landlock(&mut nl.b);
        set_opts(&mut nl.b, "/sys/fs/cgroup", &["nosuid", "noexec", "nodev", "relatime"]);
        let seen = probe1(&ctx, &mut nl.b, &["read", ra]);
        denied(&seen, "ENOENT", "the host's release_agent is not in the container's cgroup view");
        let o = probe1(&ctx, &mut nl.b, &["write", ra, "/data/x"]);
        let after = fs::read_to_string(ra).ok();
        if after != ra_before {
            let _ = fs::write(ra, ra_before.as_deref().unwrap_or("").trim_end());
        }
        assert_eq!(o.code, 1, "release_agent without Landlock: {o:?}");
        assert_eq!(after, ra_before, "the host's release_agent changed");
    }
    // Control: nothing but the container's own namespace and cgroup: both writes land.
    no_landlock(&mut s.b);
    let r = probes(
        &ctx,
        &mut s.b,
        &[
            &["write", "/proc/sys/kernel/hostname", "changed"],
            &["hostname"],
            &["write", "/sys/fs/cgroup/pids/pids.max", "100"],
            &["read", "/sys/fs/cgroup/pids/pids.max"],
        ],
    );
    worked(&r[0], "control: kernel/hostname");
    assert_eq!(worked(&r[1], "hostname"), "changed");
    worked(&r[2], "control: own pids.max");
    assert_eq!(worked(&r[3], "pids.max"), "100");
}

/// The kernel keyring: seccomp denies add_key/keyctl/request_key; /proc/keys is masked;
/// the runtime gives the container a fresh session keyring.
#[test]
fn keyring_is_refused() {
    let ctx = Ctx::new("esc_keyring");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    denied(&probe1(&ctx, &mut s.b, &["keyctl"]), "EPERM", "add_key");
    no_seccomp(&mut s.b);
    assert!(worked(&probe1(&ctx, &mut s.b, &["keyctl"]), "control: add_key without seccomp").starts_with("key "));
}

/// User namespaces (the usual first step of kernel exploits: they hand out "root" over
/// namespaced objects): seccomp allows clone/unshare only without CLONE_NEW* flags.
#[test]
fn user_namespaces_are_refused() {
    let ctx = Ctx::new("esc_userns");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    let verbs: [&[&str]; 4] = [&["unshare-user"], &["clone-user"], &["unshare", "net"], &["clone", "mnt"]];
    let r = probes(&ctx, &mut s.b, &verbs);
    for (o, v) in r.iter().zip(verbs) {
        denied(o, "EPERM", &format!("{v:?}"));
    }
    // Positive control: plain clone (fork) is allowed: the shell ran the probes above.
    no_seccomp(&mut s.b);
    let r = probes(&ctx, &mut s.b, &[&["unshare-user"], &["clone-user"]]);
    assert_eq!(worked(&r[0], "control: unshare-user"), "unshared");
    assert_eq!(worked(&r[1], "control: clone-user"), "cloned");
}

/// A setuid-root binary run as uid 1000 does not gain uid 0: no_new_privs. (The rootfs
/// mount itself is not nosuid, so this is the only layer for binaries in the image; every
/// writable mount is nosuid and noexec on top.)
#[test]
fn setuid_binary_does_not_grant_root() {
    let ctx = Ctx::new("esc_setuid");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    let suid = s.b.host_path("/suid-probe");
    fs::copy(probe_host_path(), &suid).unwrap();
    std::os::unix::fs::chown(&suid, Some(0), Some(0)).unwrap();
    fs::set_permissions(&suid, fs::Permissions::from_mode(0o4755)).unwrap();
    s.b.set("process/user", json!({"uid": 1000, "gid": 1000}));
    s.b.args(&["/suid-probe", "id"]);
    let id = ctx.next_id();
    let o = ctx.run(&s.b, &id, &[]);
    assert!(worked(&o, "setuid binary").starts_with("uid=1000 euid=1000 suid=1000"), "{o:?}");
    let r = probes(&ctx, &mut s.b, &[&["setuid", "0"]]);
    denied(&r[0], "EPERM", "setuid(0) as uid 1000");
    // Control: the same container with noNewPrivileges false: euid 0.
    s.b.set("process/noNewPrivileges", json!(false));
    s.b.args(&["/suid-probe", "id"]);
    let id = ctx.next_id();
    let o = ctx.run(&s.b, &id, &[]);
    assert!(worked(&o, "control: setuid binary without no_new_privs").starts_with("uid=1000 euid=0"), "{o:?}");
}

// ================================================================== network

/// Services on the host's localhost: Landlock's TCP connect rule lets the container reach
/// its one allowed port and nothing else, over IPv4 and IPv6.
#[test]
fn tcp_connect_only_to_the_allowed_port() {
    let ctx = Ctx::new("esc_connect");
    let allowed = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let ap = allowed.local_addr().unwrap().port().to_string();
    let op = other.local_addr().unwrap().port().to_string();
    let other6 = TcpListener::bind("[::1]:0").ok();
    let op6 = other6.as_ref().map(|l| l.local_addr().unwrap().port().to_string());
    let mut s = hardened(&ctx, "b", UNUSED_BIND, allowed.local_addr().unwrap().port());
    let (c1, c2) = (["connect", "127.0.0.1", &ap], ["connect", "127.0.0.1", &op]);
    let mut cmds: Vec<&[&str]> = vec![&c1, &c2];
    let v6: [&str; 3];
    if let Some(p) = &op6 {
        v6 = ["connect", "::1", p];
        cmds.push(&v6);
    }
    let r = probes(&ctx, &mut s.b, &cmds);
    assert_eq!(worked(&r[0], "connect to the allowed port"), "connected");
    denied(&r[1], "EACCES", "connect to a host service on another port");
    if r.len() > 2 {
        denied(&r[2], "EACCES", "connect to a host service on ::1");
    }
    // Control: without Landlock the host service on the other port is reachable.
    no_landlock(&mut s.b);
    assert_eq!(worked(&probe1(&ctx, &mut s.b, &["connect", "127.0.0.1", &op]), "control: connect without Landlock"), "connected");
}

/// Landlock's TCP bind rule: the service may listen on its port only.
#[test]
fn tcp_bind_only_to_the_allowed_port() {
    let ctx = Ctx::new("esc_bind");
    let (bp, other) = (free_port(), free_port());
    let mut s = hardened(&ctx, "b", bp, UNUSED_CONNECT);
    let (bps, os) = (bp.to_string(), other.to_string());
    let r = probes(&ctx, &mut s.b, &[&["bind", &bps], &["bind", &os], &["bind", &os, "::1"]]);
    assert_eq!(worked(&r[0], "bind the allowed port"), format!("bound {bp}"));
    denied(&r[1], "EACCES", "bind another port");
    denied(&r[2], "EACCES", "bind another port on ::1");
    no_landlock(&mut s.b);
    assert_eq!(worked(&probe1(&ctx, &mut s.b, &["bind", &os]), "control: bind without Landlock"), format!("bound {other}"));
}

/// Abstract unix sockets live in the network namespace, which is the host's: Landlock's
/// abstract-unix-socket scope refuses connecting to sockets created outside the
/// container's domain (D-Bus, X11, systemd's and containerd's abstract sockets).
#[test]
fn abstract_unix_socket_of_the_host_is_refused() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener};
    let ctx = Ctx::new("esc_abstract");
    let name = format!("ocirt-esc-{}-abstract", std::process::id());
    let _l = UnixListener::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    // Positive control: a listener inside the container (same domain) is reachable.
    let o = sh(
        &ctx,
        &mut s.b,
        &format!(
            "/probe abstract-listen inner >/tmp/l & i=0; until grep -q listening /tmp/l || [ $i -ge 200 ]; do sleep 0.05; i=$((i+1)); done; \
             /probe abstract-connect inner; /probe abstract-connect {name}; wait"
        ),
    );
    assert!(o.stdout.starts_with("connected\nEPERM\n"), "inner connect must work, the host's must be refused: {o:?}");
    no_landlock(&mut s.b);
    assert_eq!(worked(&probe1(&ctx, &mut s.b, &["abstract-connect", &name]), "control: without Landlock scoping"), "connected");
}

/// UDP: Landlock (ABI < 10) cannot filter UDP, so the default profile refuses UDP sockets;
/// the udp profile allows them (positive control: a datagram reaches a host socket).
#[test]
fn udp_is_refused_by_default_and_allowed_by_the_udp_profile() {
    let ctx = Ctx::new("esc_udp");
    let host = UdpSocket::bind("127.0.0.1:0").unwrap();
    host.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let port = host.local_addr().unwrap().port().to_string();
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    let r = probes(&ctx, &mut s.b, &[&["udp-send", "127.0.0.1", &port], &["socket", "inet", "dgram"], &["socket", "inet6", "dgram"]]);
    denied(&r[0], "EPERM", "udp-send under the default profile");
    denied(&r[1], "EPERM", "socket(AF_INET, SOCK_DGRAM)");
    denied(&r[2], "EPERM", "socket(AF_INET6, SOCK_DGRAM)");
    s.b.set("linux/seccomp", profile("udp"));
    // The network guard refuses UDP sockets unless a UDP list is declared (escapes_net.rs).
    annotate(&mut s.b, "org.ocirt.net.udp.connect", &format!("[{port}]"));
    assert_eq!(worked(&probe1(&ctx, &mut s.b, &["udp-send", "127.0.0.1", &port]), "udp-send under the udp profile"), "sent 6");
    let mut buf = [0u8; 64];
    let n = host.recv(&mut buf).expect("the host socket must receive the datagram");
    assert_eq!(&buf[..n], b"probe\n");
}

/// Raw and packet sockets (sniffing and spoofing on the host's interfaces): seccomp allows
/// only unix, TCP, UDP (udp profile) and netlink-route sockets; CAP_NET_RAW is not granted.
#[test]
fn raw_and_packet_sockets_are_refused() {
    let ctx = Ctx::new("esc_raw");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    set_caps(&mut s.b, &["CAP_NET_RAW"]);
    let cmds: [&[&str]; 6] = [
        &["socket", "inet", "raw"],
        &["socket", "inet6", "raw"],
        &["socket", "packet", "raw"],
        &["socket", "inet", "dgram", "1"],
        &["socket", "inet", "stream"],
        &["socket", "netlink", "raw"],
    ];
    let r = probes(&ctx, &mut s.b, &cmds);
    for i in 0..4 {
        denied(&r[i], "EPERM", &format!("{:?} with CAP_NET_RAW under seccomp", cmds[i]));
    }
    // Positive controls: TCP and netlink-route sockets are allowed.
    worked(&r[4], "TCP socket");
    worked(&r[5], "netlink route socket");
    // Without seccomp, the missing capability still refuses raw and packet sockets.
    no_seccomp(&mut s.b);
    set_caps(&mut s.b, &[]);
    let r = probes(&ctx, &mut s.b, &cmds[..3]);
    for (i, o) in r.iter().enumerate() {
        denied(o, "EPERM", &format!("{:?} without CAP_NET_RAW", cmds[i]));
    }
    // Control: no seccomp, CAP_NET_RAW, and no network rules (the network guard refuses
    // raw IP sockets on its own, escapes_net.rs): all three open.
    set_caps(&mut s.b, &["CAP_NET_RAW"]);
    no_landlock(&mut s.b);
    let r = probes(&ctx, &mut s.b, &cmds[..3]);
    for (i, o) in r.iter().enumerate() {
        worked(o, &format!("control: {:?} with CAP_NET_RAW, no seccomp", cmds[i]));
    }
}

/// Host networking means the host's interfaces: changing them needs CAP_NET_ADMIN, which
/// is not granted (netlink-route sockets themselves are allowed, for getifaddrs). The
/// control sets lo's MTU to the value it already has, so it changes nothing.
#[test]
fn host_network_configuration_is_refused() {
    let ctx = Ctx::new("esc_netadmin");
    let mtu = fs::read_to_string("/sys/class/net/lo/mtu").unwrap().trim().to_string();
    let script = format!("ip link set dev lo mtu {mtu}; echo \"@@rc=$?\"");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    let o = sh(&ctx, &mut s.b, &script);
    assert!(o.stdout.contains("@@rc=1") || o.stdout.contains("@@rc=2"), "ip link set must fail: {o:?}");
    assert!(o.stderr.contains("Operation not permitted"), "{o:?}");
    // Control: with CAP_NET_ADMIN (and no seccomp, no Landlock) the same request is accepted.
    set_caps(&mut s.b, &["CAP_NET_ADMIN"]);
    no_seccomp(&mut s.b);
    no_landlock(&mut s.b);
    let o = sh(&ctx, &mut s.b, &script);
    assert!(o.stdout.contains("@@rc=0"), "control: ip link set with CAP_NET_ADMIN: {o:?}");
    assert_eq!(fs::read_to_string("/sys/class/net/lo/mtu").unwrap().trim(), mtu);
}

// ================================================================== kernel interfaces

/// mount(2) (a fresh cgroup v1 hierarchy with a release_agent, a procfs without the masks,
/// ...): seccomp denies the mount family, Landlock refuses any mount by a sandboxed
/// process, and CAP_SYS_ADMIN is not granted. Each layer is shown alone.
#[test]
fn mount_is_refused_by_each_layer() {
    let ctx = Ctx::new("esc_mount");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    denied(&probe1(&ctx, &mut s.b, &["mount", "/tmp"]), "EPERM", "mount (all layers)");
    set_caps(&mut s.b, &["CAP_SYS_ADMIN"]);
    let mut seccomp_only = hardened(&ctx, "c", UNUSED_BIND, UNUSED_CONNECT);
    set_caps(&mut seccomp_only.b, &["CAP_SYS_ADMIN"]);
    no_landlock(&mut seccomp_only.b);
    denied(&probe1(&ctx, &mut seccomp_only.b, &["mount", "/tmp"]), "EPERM", "mount with CAP_SYS_ADMIN, seccomp alone");
    no_seccomp(&mut s.b);
    denied(&probe1(&ctx, &mut s.b, &["mount", "/tmp"]), "EPERM", "mount with CAP_SYS_ADMIN, Landlock alone");
    no_landlock(&mut s.b);
    set_caps(&mut s.b, &[]);
    denied(&probe1(&ctx, &mut s.b, &["mount", "/tmp"]), "EPERM", "mount without CAP_SYS_ADMIN, no seccomp, no Landlock");
    set_caps(&mut s.b, &["CAP_SYS_ADMIN"]);
    assert_eq!(worked(&probe1(&ctx, &mut s.b, &["mount", "/tmp"]), "control: mount with every layer off"), "mounted");
}

/// bpf(2): seccomp denies it. Machine fact: kernel.unprivileged_bpf_disabled is 2 here, so
/// without seccomp and without CAP_BPF the kernel refuses too (same EPERM); the control
/// grants CAP_BPF.
#[test]
fn bpf_is_refused() {
    let ctx = Ctx::new("esc_bpf");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    set_caps(&mut s.b, &["CAP_BPF"]);
    denied(&probe1(&ctx, &mut s.b, &["bpf"]), "EPERM", "bpf with CAP_BPF under seccomp");
    no_seccomp(&mut s.b);
    assert!(worked(&probe1(&ctx, &mut s.b, &["bpf"]), "control: bpf with CAP_BPF, no seccomp").starts_with("map fd"));
}

/// perf_event_open (kernel info leaks, a long record of exploitable bugs): seccomp denies
/// it; without seccomp a self-monitoring counter opens (perf_event_paranoid is 2 here).
#[test]
fn perf_event_open_is_refused() {
    let ctx = Ctx::new("esc_perf");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    denied(&probe1(&ctx, &mut s.b, &["perf-event-open"]), "EPERM", "perf_event_open");
    no_seccomp(&mut s.b);
    assert!(worked(&probe1(&ctx, &mut s.b, &["perf-event-open"]), "control: perf_event_open without seccomp").starts_with("fd "));
}

/// userfaultfd (used to win kernel races): seccomp denies it, also in user-mode-only form.
#[test]
fn userfaultfd_is_refused() {
    let ctx = Ctx::new("esc_uffd");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    denied(&probe1(&ctx, &mut s.b, &["userfaultfd", "user"]), "EPERM", "userfaultfd");
    no_seccomp(&mut s.b);
    assert!(worked(&probe1(&ctx, &mut s.b, &["userfaultfd", "user"]), "control: userfaultfd without seccomp").starts_with("fd "));
}

/// io_uring: seccomp answers ENOSYS so programs fall back to other I/O.
#[test]
fn io_uring_gets_enosys() {
    let ctx = Ctx::new("esc_iouring");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    denied(&probe1(&ctx, &mut s.b, &["io-uring-setup"]), "ENOSYS", "io_uring_setup");
    no_seccomp(&mut s.b);
    assert!(worked(&probe1(&ctx, &mut s.b, &["io-uring-setup"]), "control: io_uring_setup without seccomp").starts_with("fd "));
}

/// personality(2): only PER_LINUX, PER_LINUX32 and the query are allowed; flags such as
/// ADDR_NO_RANDOMIZE (turning ASLR off to make exploits reliable) are refused.
#[test]
fn personality_flags_are_refused() {
    let ctx = Ctx::new("esc_persona");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    let cmds: [&[&str]; 3] = [&["personality", "0x0040000"], &["personality", "query"], &["personality", "linux"]];
    let r = probes(&ctx, &mut s.b, &cmds);
    denied(&r[0], "EPERM", "personality(ADDR_NO_RANDOMIZE)");
    worked(&r[1], "personality query");
    worked(&r[2], "personality(PER_LINUX)");
    no_seccomp(&mut s.b);
    assert_eq!(worked(&probe1(&ctx, &mut s.b, &["personality", "0x0040000"]), "control: personality without seccomp"), "previous 0x0");
}

// ================================================================== processes

/// Signals to host processes: the pid namespace hides them (kill by number reaches
/// nothing, a pidfd passed in from the host is outside the namespace); without the pid
/// namespace, Landlock's signal scope refuses. Root in the container is root on the host,
/// so without both the signal lands.
#[test]
fn signals_to_host_processes_are_refused() {
    let ctx = Ctx::new("esc_signal");
    let mut host = HostChild::sleep();
    let hp = host.pid().to_string();
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    denied(&probe1(&ctx, &mut s.b, &["kill", &hp, "TERM"]), "ESRCH", "kill of a host pid from a pid namespace");
    // A pidfd for the host process, handed in as fd 3: pidfd_send_signal(3, SIGTERM).
    // SAFETY: pidfd_open on our own child.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, host.pid(), 0) } as i32;
    assert!(pidfd >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
    s.b.probe(&["syscall", &libc::SYS_pidfd_send_signal.to_string(), "3", "15", "0", "0"]);
    let o = run_with_fd3(&ctx, &s.b, pidfd);
    // EINVAL: the pidfd's process is outside the caller's pid namespace.
    denied(&o, "EINVAL", "pidfd_send_signal to a host process from a pid namespace");
    assert!(host.alive(), "the host process was killed through the pidfd");
    // SAFETY: our own fd.
    unsafe { libc::close(pidfd) };

    drop_namespace(&mut s.b, "pid");
    denied(&probe1(&ctx, &mut s.b, &["kill", &hp, "TERM"]), "EPERM", "kill of a host pid with Landlock signal scope");
    assert!(host.alive());
    // Control: no pid namespace, no Landlock: the host process dies.
    no_landlock(&mut s.b);
    assert_eq!(worked(&probe1(&ctx, &mut s.b, &["kill", &hp, "TERM"]), "control: kill without Landlock"), "sent");
    wait_until(Duration::from_secs(5), "the host process to die", || (!host.alive()).then_some(()));
}

// ================================================================== the runtime binary

/// CVE-2019-5736 class: the container must never get a handle on the runtime's binary.
/// The init refuses to exec the runtime itself (`/proc/self/exe`, directly or as a
/// script's interpreter), and while the init still runs the runtime's code (the created
/// state) it is not dumpable, so another process in its pid namespace cannot open
/// /proc/1/exe.
#[test]
fn runtime_binary_is_not_reachable() {
    let ctx = Ctx::new("esc_selfexe");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    s.b.args(&["/proc/self/exe", "--help"]);
    let line = ctx.create(&s.b, "direct", &[]).expect_error("exec /proc/self/exe");
    assert!(line.contains("runtime binary"), "{line}");
    ctx.assert_no_residue("after refusing /proc/self/exe");
    s.b.put_file("/evil.sh", "#!/proc/self/exe\n", 0o755);
    s.b.args(&["/evil.sh"]);
    let line = ctx.create(&s.b, "script", &[]).expect_error("a #!/proc/self/exe script");
    assert!(line.contains("runtime binary"), "{line}");
    ctx.assert_no_residue("after refusing #!/proc/self/exe");

    // Container A, created: its pid 1 is the runtime, waiting for `start`.
    let mut a = hardened(&ctx, "a", UNUSED_BIND, UNUSED_CONNECT);
    a.b.probe(&["sigwait"]);
    let apid = ctx.create_ok(&a.b, "a");
    let rt_exe = fs::read_link(format!("/proc/{apid}/exe")).unwrap();
    assert_eq!(fs::canonicalize(&rt_exe).unwrap(), fs::canonicalize(runtime_bin()).unwrap(), "A's init must still be the runtime");
    // Container B joins A's pid namespace; without Landlock, so that only the init's
    // non-dumpable flag stands between B and the runtime binary.
    let mut b = hardened(&ctx, "b2", UNUSED_BIND, UNUSED_CONNECT);
    no_landlock(&mut b.b);
    let pidns = format!("/proc/{apid}/ns/pid");
    b.b.set("linux/namespaces", json!([{"type": "mount"}, {"type": "pid", "path": pidns}, {"type": "ipc"}, {"type": "uts"}]));
    let cmds: [&[&str]; 3] = [&["read", "/proc/1/comm"], &["read", "/proc/1/exe"], &["append", "/proc/1/exe", "x"]];
    let r = probes(&ctx, &mut b.b, &cmds);
    // comm: the runtime binary's file name, cut to 15 bytes by the kernel.
    let comm: String = runtime_bin().file_name().unwrap().to_string_lossy().chars().take(15).collect();
    assert_eq!(worked(&r[0], "B sees A's init"), comm, "B must share A's pid namespace");
    denied(&r[1], "EACCES", "B reading the runtime binary through /proc/1/exe");
    denied(&r[2], "EACCES", "B opening the runtime binary for writing through /proc/1/exe");
    // Control: once A runs the probe (dumpable), B can read /proc/1/exe (and still not
    // write it: the file is being executed and A's root is read-only).
    ctx.start("a").expect_ok("start a");
    wait_until(Duration::from_secs(5), "A's init to exec the probe", || {
        fs::read_link(format!("/proc/{apid}/exe")).ok().filter(|p| p.ends_with("probe")).map(|_| ())
    });
    // (The binary is not valid UTF-8: show its ELF magic through head/tail.)
    let o = sh(&ctx, &mut b.b, "/probe read /proc/1/comm; head -c 4 /proc/1/exe | tail -c 3; echo; /probe append /proc/1/exe x; echo \"@@rc=$?\"");
    assert!(o.stdout.starts_with("probe\nELF\n"), "control: B must read the dumpable process's binary: {o:?}");
    assert!(o.stdout.ends_with("@@rc=1\n"), "writing a running binary must fail: {o:?}");
    // The runtime binary on the host is untouched.
    assert_eq!(fs::read_link(format!("/proc/{apid}/exe")).ok().map(|p| p.ends_with("probe")), Some(true));
}

// ================================================================== seccomp translation

/// An ERRNO rule with errnoRet, defaultErrnoRet, an unknown syscall name (skipped, and
/// reported with --debug), ENOSYS for a syscall newer than the profile, the default
/// errno for an older unlisted one: end to end, in a container.
#[test]
fn seccomp_profile_translation_end_to_end() {
    let ctx = Ctx::new("esc_seccomp");
    let mut p = profile("default");
    // defaultErrnoRet EXDEV (18) instead of EPERM.
    p["defaultErrnoRet"] = json!(18);
    // Remove mkdir/mkdirat (allowed group), getxattrat (464, allowed) and everything
    // numbered above 467 (file_getattr 468, file_setattr 469, listns 470), so that 467 is
    // the highest number the profile names.
    let gone = ["mkdir", "mkdirat", "getxattrat", "file_getattr", "file_setattr", "listns"];
    for sc in p["syscalls"].as_array_mut().unwrap() {
        sc["names"].as_array_mut().unwrap().retain(|n| !gone.contains(&n.as_str().unwrap()));
    }
    p["syscalls"].as_array_mut().unwrap().retain(|sc| !sc["names"].as_array().unwrap().is_empty());
    // mkdir/mkdirat: ERRNO with errnoRet ENAMETOOLONG (36).
    p["syscalls"].as_array_mut().unwrap().push(json!({"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 36}));
    // An unknown name, with a known one in the same entry.
    p["syscalls"].as_array_mut().unwrap().push(json!({"names": ["ocirt_no_such_syscall", "getpid"], "action": "SCMP_ACT_ALLOW"}));
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    s.b.set("linux/seccomp", p);
    let cmds: [&[&str]; 5] = [&["mkdir", "/tmp/d"], &["syscall", "464"], &["syscall", "469"], &["syscall", "1000"], &["write", "/tmp/ok", "x"]];
    let mut script = String::new();
    for c in cmds {
        script.push_str(&format!("/probe {}; echo \"@@rc=$?\"\n", c.join(" ")));
    }
    s.b.sh(&script);
    let id = ctx.next_id();
    let o = ctx.run(&s.b, &id, &["--debug"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stderr.contains("ocirt_no_such_syscall"), "the skipped name must be reported with --debug: {}", o.stderr);
    let res: Vec<&str> = o.stdout.split("@@rc=").collect();
    assert!(res[0].starts_with("ENAMETOOLONG\n"), "ERRNO rule errnoRet: {o:?}");
    assert!(res[1].contains("EXDEV\n"), "unlisted older syscall (getxattrat) gets defaultErrnoRet: {o:?}");
    assert!(res[2].contains("ENOSYS\n"), "syscall newer than the profile (file_setattr) gets ENOSYS: {o:?}");
    assert!(res[3].contains("ENOSYS\n"), "syscall 1000 gets ENOSYS: {o:?}");
    assert!(res[4].contains("wrote 1\n"), "allowed syscalls work: {o:?}");

    // Controls: the shipped profile allows 464 and 469 (the kernel answers EINVAL for the
    // zero arguments), and without seccomp mkdir works.
    s.b.set("linux/seccomp", profile("default"));
    let r = probes(&ctx, &mut s.b, &[&["syscall", "464"], &["syscall", "469"], &["syscall", "470"], &["mkdir", "/tmp/d"]]);
    denied(&r[0], "EINVAL", "getxattrat under the default profile reaches the kernel");
    denied(&r[1], "EINVAL", "file_setattr under the default profile reaches the kernel");
    denied(&r[2], "EPERM", "listns is denied by the default profile");
    worked(&r[3], "mkdir under the default profile");
}

/// Seccomp user notification is not supported: create fails before anything exists.
#[test]
fn seccomp_notify_and_listener_path_are_refused() {
    let ctx = Ctx::new("esc_notify");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    s.b.probe(&["id"]);
    s.b.push("linux/seccomp/syscalls", json!({"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}));
    let line = ctx.create(&s.b, "notify", &[]).expect_error("SCMP_ACT_NOTIFY");
    assert!(line.contains("SCMP_ACT_NOTIFY") && line.contains("not supported"), "{line}");
    ctx.assert_no_residue("after refusing SCMP_ACT_NOTIFY");

    s.b.set("linux/seccomp", profile("default"));
    s.b.set("linux/seccomp/listenerPath", json!("/run/seccomp-agent.sock"));
    let line = ctx.create(&s.b, "listener", &[]).expect_error("listenerPath");
    assert!(line.contains("listenerPath") && line.contains("not supported"), "{line}");
    ctx.assert_no_residue("after refusing listenerPath");
}

// ================================================================== Landlock

/// compat "required" (the default): a granted path missing from the rootfs fails create
/// with a message naming the annotation, and leaves nothing behind; "best-effort" skips
/// the path and starts, with the rest of the policy in force.
#[test]
fn landlock_required_refuses_to_start_when_a_rule_cannot_be_enforced() {
    let ctx = Ctx::new("esc_llcompat");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    annotate(&mut s.b, LL_FS_WRITE, r#"["/tmp", "/dev", "/data", "/srv/missing"]"#);
    s.b.probe(&["id"]);
    let line = ctx.create(&s.b, "required", &[]).expect_error("required + missing path");
    assert!(line.contains(LL_FS_WRITE) && line.contains("/srv/missing"), "{line}");
    ctx.assert_no_residue("after the Landlock failure");

    annotate(&mut s.b, LL_COMPAT, "best-effort");
    let r = probes(&ctx, &mut s.b, &[&["write", "/data/x", "1"], &["write", "/etc/x", "1"], &["caps"]]);
    worked(&r[0], "best-effort: the granted bind target is writable");
    assert!(r[1].code == 1, "best-effort: / stays read-only: {:?}", r[1]);
    // The root is read-only anyway; show Landlock itself in force: with a writable root,
    // a write outside the grants is refused by Landlock (EACCES), not by the mount.
    s.b.set("root/readonly", json!(false));
    let r = probes(&ctx, &mut s.b, &[&["write", "/etc/x", "1"], &["write", "/tmp/x", "1"]]);
    denied(&r[0], "EACCES", "best-effort Landlock refuses writes outside the grants");
    worked(&r[1], "best-effort Landlock allows /tmp");
    // Control: without Landlock the writable root accepts the write.
    no_landlock(&mut s.b);
    worked(&probe1(&ctx, &mut s.b, &["write", "/etc/x", "1"]), "control: writable root without Landlock");
}

// ================================================================== capabilities

/// A config keeping CAP_NET_BIND_SERVICE only: every set reads back as exactly that bit,
/// and it does what it is for (binding a port below 1024), which fails without it.
#[test]
fn capability_sets_read_back_exactly() {
    let ctx = Ctx::new("esc_caps");
    // A free privileged port on the host network.
    let low = (600u16..1000).find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok()).expect("a free port below 1000");
    let mut s = hardened(&ctx, "b", low, UNUSED_CONNECT);
    set_caps(&mut s.b, &["CAP_NET_BIND_SERVICE"]);
    let lows = low.to_string();
    let r = probes(&ctx, &mut s.b, &[&["caps"], &["bind", &lows]]);
    let caps = worked(&r[0], "caps");
    for k in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert!(caps.contains(&format!("{k}:\t0000000000000400")), "{k} must be CAP_NET_BIND_SERVICE only:\n{caps}");
    }
    assert_eq!(worked(&r[1], "bind a low port with CAP_NET_BIND_SERVICE"), format!("bound {low}"));
    set_caps(&mut s.b, &[]);
    denied(&probe1(&ctx, &mut s.b, &["bind", &lows]), "EACCES", "control: bind a low port without the capability");
}

// ================================================================== terminals

/// TIOCSTI (pushing input into a terminal the container inherited from the host): the
/// init starts a new session, so an inherited host tty is not the container's controlling
/// terminal, and TIOCSTI on another tty needs CAP_SYS_ADMIN. Machine fact:
/// dev.tty.legacy_tiocsti is 1 here, so the kernel's own switch is not what stops it.
#[test]
fn tiocsti_into_an_inherited_host_tty_is_refused() {
    let ctx = Ctx::new("esc_tiocsti");
    // SAFETY: plain libc pty calls on fds we own.
    let (master, slave) = unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(m >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(m, name.as_mut_ptr(), name.len()), 0);
        let s = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(s >= 0, "open pty slave: {}", std::io::Error::last_os_error());
        (m, s)
    };
    let run = |b: &Bundle| {
        let id = ctx.next_id();
        ctx.write_config(b, &id);
        ctx.track(&id);
        let bundle = b.dir.to_string_lossy().into_owned();
        let mut c = ctx.cmd(&["run", "--bundle", &bundle, &id]);
        // SAFETY: a close-on-exec dup of our own open fd (other tests spawn concurrently).
        c.stdin(unsafe { Stdio::from_raw_fd(libc::fcntl(slave, libc::F_DUPFD_CLOEXEC, 0)) });
        ctx.spawn(c, "runtime run with a host tty on stdin").wait(CMD_TIMEOUT)
    };
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    s.b.probe(&["tiocsti"]);
    denied(&run(&s.b), "EPERM", "TIOCSTI into the inherited host tty");
    // Control: with CAP_SYS_ADMIN the same ioctl injects (into our own pty: harmless).
    set_caps(&mut s.b, &["CAP_SYS_ADMIN"]);
    assert_eq!(worked(&run(&s.b), "control: TIOCSTI with CAP_SYS_ADMIN"), "injected");
    // SAFETY: our own fds.
    unsafe {
        libc::close(slave);
        libc::close(master);
    }
}

// ================================================================== runtime CVE classes

/// CVE-2021-30465 class: a symlink in the rootfs must not redirect a mount onto the host.
/// Destinations are resolved inside the rootfs (openat2 RESOLVE_IN_ROOT), so a relative
/// symlink climbing out and an absolute one both land inside the container.
#[test]
fn mount_destination_symlinks_stay_inside_the_rootfs() {
    let ctx = Ctx::new("esc_symlinkmnt");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    let mnt = s.b.host_path("/mnt");
    std::os::unix::fs::symlink("../../../../../../../../../../etc", mnt.join("climb")).unwrap();
    std::os::unix::fs::symlink("/var", mnt.join("abs")).unwrap();
    s.b.mount("/mnt/climb", "tmpfs", "tmpfs", &["nosuid", "nodev", "noexec", "size=1m"]);
    s.b.mount("/mnt/abs", "tmpfs", "tmpfs", &["nosuid", "nodev", "noexec", "size=1m"]);
    let r = probes(&ctx, &mut s.b, &[&["mounts"], &["read", "/etc/passwd"]]);
    let mi = worked(&r[0], "mounts");
    assert_eq!(mount_fstype(mi, "/etc").as_deref(), Some("tmpfs"), "the climbing symlink must resolve to the container's /etc:\n{mi}");
    assert_eq!(mount_fstype(mi, "/var").as_deref(), Some("tmpfs"), "the absolute symlink must resolve to the container's /var:\n{mi}");
    denied(&r[1], "ENOENT", "the container's /etc is covered by the tmpfs");
    // The host's /etc is untouched (and the container never saw it).
    assert!(Path::new("/etc/passwd").exists());
}

/// CVE-2024-21626 class: process.cwd through /proc/self/fd/N must not leave the container
/// with a host directory as its working directory. Every N either fails create with a
/// message or gives a cwd inside the container.
#[test]
fn leaked_fd_cwd_is_refused() {
    let ctx = Ctx::new("esc_fdcwd");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    s.b.probe(&["cwd"]);
    for n in 3..=9 {
        s.b.set("process/cwd", json!(format!("/proc/self/fd/{n}")));
        let id = format!("fd{n}");
        let o = ctx.run(&s.b, &id, &[]);
        eprintln!("cwd /proc/self/fd/{n}: exit {} {} {}", o.code, o.out(), o.stderr.trim());
        if o.code == 0 {
            let cwd = o.out();
            assert!(cwd.starts_with('/') && !cwd.contains("unreachable"), "cwd /proc/self/fd/{n} left the container: {o:?}");
            assert!(!cwd.starts_with(ctx.base.to_str().unwrap()), "cwd /proc/self/fd/{n} is a host path: {cwd}");
        } else {
            let line = o.expect_error(&format!("cwd /proc/self/fd/{n}"));
            assert!(line.contains("process.cwd"), "the error must name process.cwd: {line}");
        }
        ctx.delete(&id, true);
    }
    ctx.assert_no_residue("after the cwd attempts");
}

/// CVE-2025-31133 class: masking binds the container's /dev/null over files; a /dev/null
/// that is not the null device (here a symlink to core_pattern in a /dev bound from the
/// host) must make create fail, not expose the symlink's target read-write.
#[test]
fn masking_refuses_a_fake_dev_null() {
    let ctx = Ctx::new("esc_fakenull");
    let mut s = hardened(&ctx, "b", UNUSED_BIND, UNUSED_CONNECT);
    let dev = ctx.dir("fake-dev");
    std::os::unix::fs::symlink("/proc/sys/kernel/core_pattern", dev.join("null")).unwrap();
    s.b.unmount("/dev/pts");
    s.b.unmount("/dev/shm");
    s.b.unmount("/dev/mqueue");
    s.b.unmount("/dev");
    s.b.mount("/dev", "bind", dev.to_str().unwrap(), &["bind", "rw", "nosuid", "noexec"]);
    s.b.probe(&["id"]);
    let line = ctx.create(&s.b, "fake", &[]).expect_error("a symlinked /dev/null");
    assert!(line.contains("/dev/null") && line.contains("null device"), "{line}");
    ctx.assert_no_residue("after refusing the fake /dev/null");
    // Control: the same /dev with a real null device works.
    fs::remove_file(dev.join("null")).unwrap();
    let c = std::ffi::CString::new(dev.join("null").to_str().unwrap()).unwrap();
    // SAFETY: mknod of a char device in our own test dir.
    let r = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    assert_eq!(r, 0);
    worked(&probe1(&ctx, &mut s.b, &["read", "/proc/keys"]), "control: masking with a real /dev/null");
}
