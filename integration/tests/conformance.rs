//! runtime-spec conformance points that the runtime-tools validation suite found missing
//! (docs/operations.md, "OCI conformance"), each beside a positive control.

use std::fs;
use std::time::Duration;

use integration::*;

/// `linux.devices[].type = "p"` is a FIFO (config-linux.md, Devices), not a char device.
#[test]
fn fifo_devices_are_fifos() {
    let ctx = Ctx::new("cffifo");
    let mut b = ctx.bundle("b");
    b.push("linux/devices", json!({"path": "/dev/myfifo", "type": "p", "fileMode": 0o640, "uid": 1000, "gid": 1000}));
    // Control beside it: a char device from the same list.
    b.push("linux/devices", json!({"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666}));
    b.sh("/probe stat /dev/myfifo; /probe stat /dev/mynull");
    let o = ctx.run(&b, "f", &[]);
    o.expect_ok("run with a FIFO in linux.devices");
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(lines[0].starts_with("type=fifo mode=0640 uid=1000 gid=1000"), "{}", o.stdout);
    assert!(lines[1].starts_with("type=char mode=0666") && lines[1].contains("rdev=1:3"), "{}", o.stdout);
}

/// A FIFO the rootfs already has (no /dev tmpfs: an earlier run made it) is kept; anything
/// else at that path is refused with the path named, not replaced.
#[test]
fn fifo_device_over_an_existing_node() {
    let ctx = Ctx::new("cffifo2");
    let mut b = ctx.bundle("b");
    b.unmount("/dev");
    b.unmount("/dev/pts");
    b.unmount("/dev/shm");
    b.unmount("/dev/mqueue");
    b.push("linux/devices", json!({"path": "/dev/f", "type": "p", "fileMode": 0o600}));
    b.probe(&["stat", "/dev/f"]);
    let o = ctx.run(&b, "a", &[]);
    o.expect_ok("first run: the FIFO is made in the rootfs");
    assert!(o.out().starts_with("type=fifo"), "{}", o.stdout);
    let o = ctx.run(&b, "b", &[]);
    o.expect_ok("second run: the FIFO from the first is kept");
    assert!(o.out().starts_with("type=fifo"), "{}", o.stdout);
    fs::remove_file(b.host_path("/dev/f")).unwrap();
    fs::write(b.host_path("/dev/f"), "a file").unwrap();
    ctx.write_config(&b, "c");
    let o = ctx.create_no_write(&b, "c", &[]);
    let line = o.expect_error("a regular file where a FIFO is asked for");
    assert!(line.contains("/dev/f") && line.contains("FIFO"), "{line}");
    ctx.assert_no_residue_for("c", "refused FIFO");
}

/// Filesystem data options on a bind entry (what the validation suite's `mounts` program
/// sends: mode=755, size=1k) mean nothing to a bind: accepted and ignored, as mount(2) does
/// for runc. The flags beside them still apply; a misspelt flag is still refused.
#[test]
fn bind_mounts_ignore_filesystem_data_options() {
    let ctx = Ctx::new("cfbinddata");
    let src = ctx.dir("src");
    fs::write(src.join("f"), "hello").unwrap();
    let mut b = ctx.bundle("b");
    let s = src.to_string_lossy().into_owned();
    b.mount("/data", "bind", &s, &["bind", "nosuid", "strictatime", "mode=755", "size=1k", "ro", "private"]);
    b.sh("cat /data/f; echo; grep ' /data ' /proc/self/mountinfo; touch /data/g 2>/dev/null && echo WRITABLE; true");
    let o = ctx.run(&b, "d", &[]);
    o.expect_ok("bind with mode=/size= data");
    let mut lines = o.stdout.lines();
    assert_eq!(lines.next(), Some("hello"), "{}", o.stdout);
    let opts = mount_opts(&o.stdout, "/data");
    assert!(opts.iter().any(|x| x == "ro") && opts.iter().any(|x| x == "nosuid"), "flags beside the data still apply: {}", o.stdout);
    assert!(!o.stdout.contains("WRITABLE"));
    // The same entry with a misspelt flag instead of the data: refused, naming it.
    let mut b2 = ctx.bundle("b2");
    b2.mount("/data", "bind", &s, &["bind", "nosiud"]);
    b2.probe(&["exit", "0"]);
    let line = ctx.create(&b2, "bad", &[]).expect_error("bind with a misspelt flag");
    assert!(line.contains("nosiud") && line.contains("mounts["), "{line}");
    ctx.assert_no_residue_for("bad", "refused bind option");
}

fn oom_control(ctx: &Ctx, id: &str) -> String {
    fs::read_to_string(ctx.cgroup_dir("memory", id).join("memory.oom_control")).unwrap_or_default()
}

/// `linux.resources.memory.disableOOMKiller` (cgroup v1: memory.oom_control). With it, a
/// process past its limit waits instead of being killed; the control without it is killed
/// (and cgroups.rs's memory_limit_oom_kills shows the plain 137).
#[test]
fn disable_oom_killer_is_applied() {
    if !std::path::Path::new("/sys/fs/cgroup/memory").is_dir() {
        eprintln!("no cgroup v1 memory controller: disableOOMKiller has no v2 equivalent");
        return;
    }
    let ctx = Ctx::new("cfoom");
    let mut b = ctx.bundle("b");
    b.probe(&["alloc", "200"]);
    // Control: the same limit without the switch: killed.
    b.set("linux/resources/memory", json!({"limit": 32 * 1024 * 1024, "disableOOMKiller": false}));
    ctx.create_ok(&b, "ctl");
    assert!(oom_control(&ctx, "ctl").contains("oom_kill_disable 0"), "{}", oom_control(&ctx, "ctl"));
    ctx.start("ctl").expect_ok("start control");
    ctx.wait_for_status("ctl", "stopped", Duration::from_secs(10));
    ctx.delete("ctl", false).expect_ok("delete control");

    b.set("linux/resources/memory", json!({"limit": 32 * 1024 * 1024, "disableOOMKiller": true}));
    let pid = ctx.create_ok(&b, "off");
    assert!(oom_control(&ctx, "off").contains("oom_kill_disable 1"), "{}", oom_control(&ctx, "off"));
    ctx.start("off").expect_ok("start");
    wait_until(Duration::from_secs(10), "the container to hit its limit", || oom_control(&ctx, "off").contains("under_oom 1").then_some(()));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(ctx.status("off"), "running", "the OOM killer was not disabled");
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    ctx.delete("off", true).expect_ok("delete --force");
}

/// `ps ID [ps options]`: ps(1) runs with the options and only the container's lines are
/// kept, header first (runc). `--format json` still gives the bare pids.
#[test]
fn ps_passes_its_options_to_ps_and_keeps_only_the_containers_lines() {
    let ctx = Ctx::new("cfps");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    ctx.run_detached(&b, "p");
    let pid = ctx.state("p")["pid"].as_i64().unwrap();
    let o = ctx.rt(&["ps", "--format", "json", "p"]);
    o.expect_ok("ps --format json");
    assert_eq!(serde_json::from_str::<Value>(&o.stdout).unwrap(), json!([pid]));

    let o = ctx.rt(&["ps", "p", "-o", "pid,comm"]);
    o.expect_ok("ps p -o pid,comm");
    let lines: Vec<Vec<&str>> = o.stdout.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines, vec![vec!["PID", "COMMAND"], vec![&pid.to_string()[..], "probe"]], "{}", o.stdout);

    // Default options (-ef): the header and the init, and nothing of the host (this test).
    let o = ctx.rt(&["ps", "p"]);
    o.expect_ok("ps p");
    let mut lines = o.stdout.lines();
    assert!(lines.next().is_some_and(|h| h.contains("UID") && h.contains("PID")), "{}", o.stdout);
    let rest: Vec<&str> = lines.collect();
    assert_eq!(rest.len(), 1, "{}", o.stdout);
    assert_eq!(rest[0].split_whitespace().nth(1), Some(&pid.to_string()[..]), "{}", o.stdout);
    assert!(!o.stdout.contains(&format!(" {} ", std::process::id())));

    let line = ctx.rt(&["ps", "p", "-o", "comm"]).expect_error("ps without a PID column");
    assert!(line.contains("PID"), "{line}");
    ctx.delete("p", true).expect_ok("delete");
}

fn cg_read(ctx: &Ctx, ctl: &str, id: &str, file: &str) -> String {
    let p = ctx.cgroup_dir(ctl, id).join(file);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display())).trim().to_string()
}

/// `update` with runc's flags, then with `-r -`: applied to the live cgroup, merged with
/// what is in force (a later update starts from the earlier one), disableOOMKiller kept.
#[test]
fn update_changes_live_limits_and_remembers_them() {
    let ctx = Ctx::new("cfupdate");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    b.set("linux/resources", json!({"memory": {"limit": 64 << 20, "disableOOMKiller": true}, "pids": {"limit": 20}}));
    ctx.run_detached(&b, "u");
    assert_eq!(cg_read(&ctx, "memory", "u", "memory.limit_in_bytes"), (64u64 << 20).to_string());
    assert_eq!(cg_read(&ctx, "pids", "u", "pids.max"), "20");

    ctx.rt(&["update", "--memory", "128m", "--pids-limit", "30", "--cpu-period", "100000", "--cpu-quota", "50000", "--cpu-share", "512", "u"])
        .expect_ok("update with flags");
    assert_eq!(cg_read(&ctx, "memory", "u", "memory.limit_in_bytes"), (128u64 << 20).to_string());
    assert_eq!(cg_read(&ctx, "pids", "u", "pids.max"), "30");
    assert_eq!(cg_read(&ctx, "cpu", "u", "cpu.cfs_quota_us"), "50000");
    assert_eq!(cg_read(&ctx, "cpu", "u", "cpu.shares"), "512");
    assert!(cg_read(&ctx, "memory", "u", "memory.oom_control").contains("oom_kill_disable 1"), "update re-enabled the OOM killer");

    // -r - (stdin): only pids named; the memory limit of the first update stays in force
    // and is what a third update starts from.
    let res = ctx.base.join("res.json");
    fs::write(&res, r#"{"pids": {"limit": 40}}"#).unwrap();
    let o = ctx.cmd(&["update", "-r", "-", "u"]).stdin(fs::File::open(&res).unwrap()).output().unwrap();
    assert!(o.status.success(), "update -r -: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(cg_read(&ctx, "pids", "u", "pids.max"), "40");
    ctx.rt(&["update", "--memory-reservation", "32m", "u"]).expect_ok("update reservation");
    assert_eq!(cg_read(&ctx, "memory", "u", "memory.limit_in_bytes"), (128u64 << 20).to_string());
    assert_eq!(cg_read(&ctx, "memory", "u", "memory.soft_limit_in_bytes"), (32u64 << 20).to_string());
    assert_eq!(cg_read(&ctx, "pids", "u", "pids.max"), "40");

    // What cannot be changed live is refused, naming the field; nothing changes.
    fs::write(&res, r#"{"devices": [{"allow": true, "access": "rwm"}], "pids": {"limit": 50}}"#).unwrap();
    let line = ctx.rt(&["update", "-r", &res.to_string_lossy(), "u"]).expect_error("update devices");
    assert!(line.contains("devices"), "{line}");
    assert_eq!(cg_read(&ctx, "pids", "u", "pids.max"), "40");
    let line = ctx.rt(&["update", "--memory", "12q", "u"]).expect_error("bad size");
    assert!(line.contains("--memory"), "{line}");

    ctx.kill("u", "KILL").expect_ok("kill");
    ctx.wait_for_status("u", "stopped", Duration::from_secs(10));
    let line = ctx.rt(&["update", "--pids-limit", "5", "u"]).expect_error("update a stopped container");
    assert!(line.contains("stopped"), "{line}");
    ctx.delete("u", false).expect_ok("delete");
}

/// `events --stats` prints one stats event in runc's shape; `events` streams them and
/// reports an OOM kill in the container as {"type":"oom"}, and only then.
#[test]
fn events_stats_and_oom() {
    if !std::path::Path::new("/sys/fs/cgroup/memory").is_dir() {
        eprintln!("no cgroup v1 memory controller here");
        return;
    }
    let ctx = Ctx::new("cfevents");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "60"]);
    b.set("linux/resources", json!({"memory": {"limit": 32 << 20}, "pids": {"limit": 50}}));
    ctx.run_detached(&b, "e");
    let o = ctx.rt(&["events", "--stats", "e"]);
    o.expect_ok("events --stats");
    assert_eq!(o.stdout.lines().count(), 1, "{}", o.stdout);
    let v: Value = serde_json::from_str(o.out()).unwrap();
    assert_eq!(v["type"], "stats");
    assert_eq!(v["id"], "e");
    assert_eq!(v["data"]["memory"]["usage"]["limit"], json!(32u64 << 20), "{v}");
    assert!(v["data"]["memory"]["usage"]["usage"].as_u64().is_some_and(|u| u > 0), "{v}");
    assert!(v["data"]["pids"]["current"].as_u64().is_some_and(|n| n >= 1), "{v}");
    assert_eq!(v["data"]["pids"]["limit"], 50);
    assert!(v["data"]["cpu"]["usage"].get("kernel").is_some(), "{v}");

    let stream = ctx.spawn(ctx.cmd(&["events", "--interval", "200ms", "e"]), "events");
    let stats_lines = |s: &str| s.lines().filter(|l| l.contains("\"type\":\"stats\"")).count();
    wait_until(Duration::from_secs(10), "two stats events", || (stats_lines(&stream.stdout_now()) >= 2).then_some(()));
    assert!(!stream.stdout_now().contains("\"oom\""), "an oom event before any OOM: {}", stream.stdout_now());
    ctx.rt(&["exec", "e", "/probe", "alloc", "200"]).expect_code(137, "exec alloc 200 MB under 32 MB");
    wait_until(Duration::from_secs(10), "the oom event", || {
        stream.stdout_now().lines().any(|l| l == r#"{"id":"e","type":"oom"}"# || l == r#"{"type":"oom","id":"e"}"#).then_some(())
    });
    // The stream ends by itself when the container does.
    ctx.kill("e", "KILL").expect_ok("kill");
    let o = stream.wait(Duration::from_secs(10));
    o.expect_ok("events after the container stopped");
    ctx.delete("e", false).expect_ok("delete");
}

fn without_mount_ns(b: &mut Bundle) {
    if let Some(a) = b.config["linux"]["namespaces"].as_array_mut() {
        a.retain(|n| n["type"] != json!("mount"));
    }
}

fn ns_of(pid: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap().to_string_lossy().into_owned()
}

/// No `mount` in linux.namespaces: the container inherits the runtime's mount namespace
/// (config-linux.md, Namespaces), lives chroot'ed in its rootfs (exec too), and its mounts,
/// made in that namespace, are gone after delete (the harness checks our mount table).
#[test]
fn no_mount_namespace_is_inherited() {
    let ctx = Ctx::new("cfnomnt");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    without_mount_ns(&mut b);
    // What would change a host mount is refused first: masks (runc's message), read-only
    // root, root propagation. Nothing is left.
    b.set("linux/maskedPaths", json!(["/proc/kcore"]));
    let line = ctx.create(&b, "m", &[]).expect_error("maskedPaths without a mount namespace");
    assert!(line.contains("unable to restrict sys entries without a private MNT namespace"), "{line}");
    b.set("linux/maskedPaths", json!([]));
    b.set("linux/readonlyPaths", json!([]));
    b.set("root/readonly", json!(true));
    let line = ctx.create(&b, "r", &[]).expect_error("root.readonly without a mount namespace");
    assert!(line.contains("root.readonly"), "{line}");
    b.set("root/readonly", json!(false));
    ctx.assert_no_residue("refused configs without a mount namespace");

    let host_only = ctx.dir("host-only");
    assert!(host_only.is_dir());
    ctx.run_detached(&b, "n");
    let pid = ctx.state("n")["pid"].as_i64().unwrap().to_string();
    assert_eq!(ns_of(&pid), ns_of("self"), "the container did not inherit the runtime's mount namespace");
    // Its /proc (from `mounts`) is a mount in our namespace while it runs.
    let proc_mp = b.rootfs.join("proc");
    assert!(fs::read_to_string("/proc/self/mountinfo").unwrap().contains(&format!(" {} ", proc_mp.display())), "no /proc mount under the rootfs");
    // Its root is the rootfs, for the init and for exec: the host's files are not there.
    let root = fs::read_link(format!("/proc/{pid}/root")).unwrap();
    assert_eq!(root, b.rootfs);
    let o = ctx.rt(&["exec", "n", "/bin/sh", "-c", &format!("ls /probe && ls {} 2>&1; readlink /proc/self/ns/mnt", host_only.display())]);
    o.expect_ok("exec");
    assert!(o.stdout.starts_with("/probe\n") && o.stdout.contains("No such file"), "exec does not run in the rootfs: {}", o.stdout);
    assert!(o.stdout.contains(&ns_of("self")), "{}", o.stdout);
    ctx.delete("n", true).expect_ok("delete");
    assert!(!fs::read_to_string("/proc/self/mountinfo").unwrap().contains(&format!(" {} ", proc_mp.display())), "the container's /proc mount outlived it");

    // The control beside it: with a mount namespace, the container's is its own.
    let mut b2 = ctx.bundle("b2");
    b2.probe(&["sleep", "30"]);
    ctx.run_detached(&b2, "own");
    let pid = ctx.state("own")["pid"].as_i64().unwrap().to_string();
    assert_ne!(ns_of(&pid), ns_of("self"));
    ctx.delete("own", true).expect_ok("delete");
}

/// A create without a mount namespace that fails after its mounts were made (the program
/// does not exist) leaves none of them in the host's mount table.
#[test]
fn no_mount_namespace_failed_create_leaves_no_mounts() {
    let ctx = Ctx::new("cfnomnt2");
    let mut b = ctx.bundle("b");
    without_mount_ns(&mut b);
    b.set("linux/maskedPaths", json!([]));
    b.set("linux/readonlyPaths", json!([]));
    b.set("root/readonly", json!(false));
    b.args(&["/no/such/program"]);
    let line = ctx.create(&b, "f", &[]).expect_error("missing program");
    assert!(line.contains("/no/such/program"), "{line}");
    ctx.assert_no_residue("failed create without a mount namespace");
    // Control: the same bundle with a real program starts.
    b.probe(&["exit", "0"]);
    ctx.run(&b, "ok", &[]).expect_ok("run without a mount namespace");
    ctx.delete("ok", false);
    ctx.assert_no_residue("run without a mount namespace");
}

/// A profile that refuses getcwd (the validation suite's linux_seccomp program) does not
/// break the runtime's own check that the working directory is inside the container: with
/// noNewPrivileges false the filter is in place before that check runs (runc fails here).
#[test]
fn seccomp_profile_refusing_getcwd() {
    let ctx = Ctx::new("cfgetcwd");
    let mut b = ctx.bundle("b");
    b.set("linux/seccomp", json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}]}));
    b.probe(&["cwd"]);
    for nnp in [true, false] {
        b.set("process/noNewPrivileges", json!(nnp));
        let o = ctx.run(&b, &format!("n{nnp}"), &[]);
        // The filter works: the program's own getcwd is refused.
        assert!(o.stdout.contains("EPERM") || o.stderr.contains("EPERM"), "noNewPrivileges {nnp}: getcwd was not filtered: {o:?}");
        assert!(!o.stderr.contains("runtime"), "noNewPrivileges {nnp}: the runtime failed: {o:?}");
    }
}

/// Mounts appear in /proc/self/mountinfo in the config's order (runtime-tools' `mounts`
/// program checks it): bind entries, whose sources are opened before clone, included.
#[test]
fn mountinfo_lists_mounts_in_config_order() {
    let ctx = Ctx::new("cforder");
    let src = ctx.dir("src");
    let s = src.to_string_lossy().into_owned();
    let mut b = ctx.bundle("b");
    b.mount("/m1", "tmpfs", "tmpfs", &["nosuid"]);
    b.mount("/m2", "bind", &s, &["rbind", "ro"]);
    b.mount("/m3", "tmpfs", "tmpfs", &["nosuid"]);
    b.mount("/m4", "bind", &s, &["bind"]);
    b.sh("cat /proc/self/mountinfo");
    let o = ctx.run(&b, "o", &[]);
    o.expect_ok("run");
    let order: Vec<&str> = o.stdout.lines().filter_map(|l| l.split(' ').nth(4)).filter(|mp| mp.starts_with("/m")).collect();
    assert_eq!(order, ["/m1", "/m2", "/m3", "/m4"], "{}", o.stdout);
    assert!(mount_opts(&o.stdout, "/m2").iter().any(|x| x == "ro"), "the clone kept the attributes: {}", o.stdout);
}
