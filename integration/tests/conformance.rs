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
