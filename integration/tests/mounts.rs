//! Mount types and options, root.readonly, maskedPaths, readonlyPaths, devices.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use integration::*;

/// A host directory with one file, for bind sources.
fn source_dir(ctx: &Ctx, name: &str) -> std::path::PathBuf {
    let d = ctx.dir(name);
    fs::write(d.join("file"), "host-content").unwrap();
    fs::set_permissions(&d, fs::Permissions::from_mode(0o777)).unwrap();
    d
}

fn mountinfo(ctx: &Ctx, b: &mut Bundle) -> String {
    let o = ctx.probe(b, &["mounts"]);
    o.expect_ok("probe mounts");
    o.stdout
}

#[test]
fn bind_ro_and_rw() {
    let ctx = Ctx::new("bindrorw");
    let src = source_dir(&ctx, "src");
    let mut b = ctx.bundle("b");
    b.mount("/ro", "bind", src.to_str().unwrap(), &["bind", "ro"]);
    b.mount("/rw", "bind", src.to_str().unwrap(), &["bind", "rw"]);
    let o = ctx.probe(&mut b, &["read", "/ro/file"]);
    o.expect_ok("read through ro bind");
    assert_eq!(o.stdout, "host-content");
    let o = ctx.probe(&mut b, &["write", "/ro/new", "x"]);
    o.expect_code(1, "write to a ro bind");
    assert_eq!(o.out(), "EROFS");
    assert!(!src.join("new").exists());
    // positive control: the rw bind of the same source is writable and reaches the host.
    ctx.probe(&mut b, &["write", "/rw/new", "through-rw"]).expect_ok("write to a rw bind");
    assert_eq!(fs::read_to_string(src.join("new")).unwrap(), "through-rw");
    // A file bind mount.
    let mut b2 = ctx.bundle("b2");
    b2.mount("/etc/hostfile", "bind", src.join("file").to_str().unwrap(), &["bind", "ro"]);
    let o = ctx.probe(&mut b2, &["read", "/etc/hostfile"]);
    o.expect_ok("read file bind");
    assert_eq!(o.stdout, "host-content");
}

#[test]
fn bind_relative_source_is_relative_to_bundle() {
    let ctx = Ctx::new("bindrel");
    let mut b = ctx.bundle("b");
    let src = b.dir.join("data");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), "bundle-data").unwrap();
    b.mount("/data", "bind", "data", &["bind", "ro"]);
    let o = ctx.probe(&mut b, &["read", "/data/f"]);
    o.expect_ok("read relative bind");
    assert_eq!(o.stdout, "bundle-data");
}

#[test]
fn nosuid_bind() {
    let ctx = Ctx::new("nosuid");
    let src = ctx.dir("suid");
    // A setuid-root copy of the probe on the host.
    let suid = src.join("probe-suid");
    fs::copy(probe_host_path(), &suid).unwrap();
    fs::set_permissions(&suid, fs::Permissions::from_mode(0o4755)).unwrap();
    let mut b = ctx.bundle("b");
    b.set("process/user", json!({"uid": 1000, "gid": 1000}));
    b.set("process/noNewPrivileges", json!(false));
    b.mount("/suid", "bind", src.to_str().unwrap(), &["bind", "ro"]);
    b.mount("/nosuid", "bind", src.to_str().unwrap(), &["bind", "ro", "nosuid"]);
    // control: without nosuid the setuid bit gives euid 0.
    let o = ctx.probe(&mut b, &["exec", "/suid/probe-suid", "id"]);
    o.expect_ok("setuid probe");
    assert!(o.stdout.contains("euid=0"), "setuid bit not honoured without nosuid: {}", o.stdout);
    let o = ctx.probe(&mut b, &["exec", "/nosuid/probe-suid", "id"]);
    o.expect_ok("setuid probe on nosuid");
    assert!(o.stdout.contains("uid=1000 euid=1000"), "nosuid did not stop the setuid bit: {}", o.stdout);
    let mi = mountinfo(&ctx, &mut b);
    assert!(mount_opts(&mi, "/nosuid").contains(&"nosuid".to_string()), "{mi}");
    assert!(!mount_opts(&mi, "/suid").contains(&"nosuid".to_string()), "{mi}");
}

#[test]
fn nodev_bind() {
    let ctx = Ctx::new("nodev");
    let src = ctx.dir("devsrc");
    let node = src.join("null");
    let c = std::ffi::CString::new(node.to_str().unwrap()).unwrap();
    // SAFETY: valid C string; creates a char device 1:3 (/dev/null) in our test dir.
    assert_eq!(unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) }, 0);
    let mut b = ctx.bundle("b");
    b.mount("/dev-ok", "bind", src.to_str().unwrap(), &["bind"]);
    b.mount("/dev-no", "bind", src.to_str().unwrap(), &["bind", "nodev"]);
    ctx.probe(&mut b, &["write", "/dev-ok/null", "x"]).expect_ok("device node usable without nodev");
    let o = ctx.probe(&mut b, &["write", "/dev-no/null", "x"]);
    o.expect_code(1, "device node on nodev");
    assert_eq!(o.out(), "EACCES");
}

#[test]
fn noexec_bind() {
    let ctx = Ctx::new("noexec");
    let src = ctx.dir("bin");
    fs::copy(probe_host_path(), src.join("p")).unwrap();
    fs::set_permissions(src.join("p"), fs::Permissions::from_mode(0o755)).unwrap();
    let mut b = ctx.bundle("b");
    b.mount("/x", "bind", src.to_str().unwrap(), &["bind", "ro"]);
    b.mount("/nx", "bind", src.to_str().unwrap(), &["bind", "ro", "noexec"]);
    let o = ctx.probe(&mut b, &["exec", "/x/p", "exit", "5"]);
    o.expect_code(5, "exec from an exec mount");
    let o = ctx.probe(&mut b, &["exec", "/nx/p", "exit", "5"]);
    o.expect_code(1, "exec from a noexec mount");
    assert_eq!(o.out(), "EACCES");
}

#[test]
fn rbind_and_recursive_readonly() {
    let ctx = Ctx::new("rro");
    let src = source_dir(&ctx, "tree");
    let sub = src.join("sub");
    fs::create_dir_all(&sub).unwrap();
    mount_tmpfs(&sub, "mode=777");
    ctx.track_host_mount(&sub);
    fs::write(sub.join("inner"), "in-submount").unwrap();
    let mut b = ctx.bundle("b");
    b.mount("/plain", "bind", src.to_str().unwrap(), &["bind"]);
    b.mount("/rb", "bind", src.to_str().unwrap(), &["rbind", "ro"]);
    b.mount("/rro", "bind", src.to_str().unwrap(), &["rbind", "rro"]);
    // bind (not rbind) does not carry the submount.
    let o = ctx.probe(&mut b, &["read", "/plain/sub/inner"]);
    o.expect_code(1, "submount through a non-recursive bind");
    assert_eq!(o.out(), "ENOENT");
    // rbind carries it; "ro" makes only the top read-only.
    let o = ctx.probe(&mut b, &["read", "/rb/sub/inner"]);
    o.expect_ok("submount through rbind");
    assert_eq!(o.stdout, "in-submount");
    assert_eq!(ctx.probe(&mut b, &["write", "/rb/top", "x"]).out(), "EROFS");
    ctx.probe(&mut b, &["write", "/rb/sub/w1", "x"]).expect_ok("submount of an rbind,ro stays writable");
    // rro: the submount is read-only too.
    assert_eq!(ctx.probe(&mut b, &["write", "/rro/top", "x"]).out(), "EROFS");
    let o = ctx.probe(&mut b, &["write", "/rro/sub/w2", "x"]);
    o.expect_code(1, "write into a submount of an rro bind");
    assert_eq!(o.out(), "EROFS");
    assert!(!sub.join("w2").exists());
    // The host's submount itself is untouched (still writable here).
    fs::write(sub.join("host-w"), "x").expect("host submount became read-only");
}

#[test]
fn tmpfs_mode_and_size() {
    let ctx = Ctx::new("tmpfs");
    let mut b = ctx.bundle("b");
    b.mount("/t", "tmpfs", "tmpfs", &["nosuid", "nodev", "mode=0710", "size=1m"]);
    let o = ctx.probe(&mut b, &["stat", "/t"]);
    o.expect_ok("stat tmpfs");
    assert!(o.stdout.contains("type=dir mode=0710"), "{}", o.stdout);
    let mi = mountinfo(&ctx, &mut b);
    assert_eq!(mount_fstype(&mi, "/t").as_deref(), Some("tmpfs"), "{mi}");
    let so = super_opts(&mi, "/t");
    assert!(so.contains(&"size=1024k".to_string()), "{so:?}");
    let opts = mount_opts(&mi, "/t");
    assert!(opts.contains(&"nosuid".into()) && opts.contains(&"nodev".into()), "{opts:?}");
    // The size is enforced: 2 MB do not fit, 100 KB do.
    let o = ctx.sh(&mut b, "head -c 2000000 /dev/zero > /t/big; /probe stat /t/big");
    let size: u64 = o.stdout.split_whitespace().find_map(|f| f.strip_prefix("size=")).and_then(|s| s.parse().ok()).unwrap_or(0);
    assert!(size > 0 && size <= 1024 * 1024, "a 1 MB tmpfs took {size} bytes: {}", o.stdout);
    ctx.sh(&mut b, "head -c 100000 /dev/zero > /t/small").expect_ok("100 KB in a 1 MB tmpfs");
}

#[test]
fn proc_sysfs_devpts_mqueue_cgroup() {
    let ctx = Ctx::new("fstypes");
    let mut b = ctx.bundle("b");
    let mi = mountinfo(&ctx, &mut b);
    for (mp, fs) in
        [("/proc", "proc"), ("/sys", "sysfs"), ("/dev", "tmpfs"), ("/dev/pts", "devpts"), ("/dev/shm", "tmpfs"), ("/dev/mqueue", "mqueue"), ("/tmp", "tmpfs")]
    {
        assert_eq!(mount_fstype(&mi, mp).as_deref(), Some(fs), "{mp} in:\n{mi}");
    }
    let proc_opts = mount_opts(&mi, "/proc");
    for o in ["nosuid", "nodev", "noexec"] {
        assert!(proc_opts.contains(&o.to_string()), "/proc lacks {o}: {proc_opts:?}");
    }
    assert!(mount_opts(&mi, "/sys").contains(&"ro".to_string()), "sysfs not ro");
    // proc is the container's own: pid 1 is the probe.
    let o = ctx.probe(&mut b, &["read", "/proc/1/cmdline"]);
    assert!(o.stdout.starts_with("/probe"), "{:?}", o.stdout);
    // sysfs is read-only.
    let o = ctx.probe(&mut b, &["write", "/sys/kernel/uevent_helper", "x"]);
    o.expect_code(1, "write to ro sysfs");
    assert_eq!(o.out(), "EROFS");
    // devpts: a private instance with its ptmx, /dev/ptmx links to it.
    let o = ctx.probe(&mut b, &["stat", "/dev/pts/ptmx"]);
    assert!(o.stdout.contains("type=char") && o.stdout.contains("rdev=5:2"), "{}", o.stdout);
    let o = ctx.probe(&mut b, &["stat", "/dev/ptmx"]);
    assert!(o.stdout.contains("type=symlink") || o.stdout.contains("rdev=5:2"), "{}", o.stdout);
    // cgroup (v1 host): the container's own memory cgroup, read-only.
    let o = ctx.probe(&mut b, &["ls", "/sys/fs/cgroup/memory"]);
    o.expect_ok("ls cgroup mount");
    assert!(o.stdout.contains("memory.limit_in_bytes"), "{}", o.stdout);
    let o = ctx.probe(&mut b, &["write", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "1000000"]);
    o.expect_code(1, "write to ro cgroup mount");
    assert_eq!(o.out(), "EROFS");
    // mqueue is usable (a file can be listed; the mount exists and is writable).
    ctx.probe(&mut b, &["ls", "/dev/mqueue"]).expect_ok("ls mqueue");
}

#[test]
fn mount_propagation_options() {
    let ctx = Ctx::new("propagation");
    let src = source_dir(&ctx, "psrc");
    let mut b = ctx.bundle("b");
    b.mount("/shared", "bind", src.to_str().unwrap(), &["rbind", "rshared"]);
    b.mount("/private", "bind", src.to_str().unwrap(), &["rbind", "rprivate"]);
    b.mount("/unbind", "bind", src.to_str().unwrap(), &["rbind", "runbindable"]);
    let mi = mountinfo(&ctx, &mut b);
    let optional = |mp: &str| -> String {
        let l = mountinfo_entries(&mi, mp).last().copied().unwrap_or_else(|| panic!("{mp} not mounted:\n{mi}"));
        let before = l.split(" - ").next().unwrap();
        before.split(' ').skip(6).collect::<Vec<_>>().join(" ")
    };
    let mut bad = vec![];
    if !optional("/shared").contains("shared:") {
        bad.push(format!("rshared mount is not shared: {:?}", optional("/shared")));
    }
    if optional("/private").contains("shared:") || optional("/private").contains("master:") {
        bad.push(format!("rprivate mount is not private: {:?}", optional("/private")));
    }
    if !optional("/unbind").contains("unbindable") {
        bad.push(format!("runbindable mount is not unbindable: {:?}", optional("/unbind")));
    }
    assert!(bad.is_empty(), "{}\n{mi}", bad.join("\n"));
}

#[test]
fn root_readonly() {
    let ctx = Ctx::new("rootro");
    let mut b = ctx.bundle("b");
    assert_eq!(b.get("root/readonly"), &json!(true), "the spec template has a read-only root");
    let o = ctx.probe(&mut b, &["write", "/newfile", "x"]);
    o.expect_code(1, "write to read-only /");
    assert_eq!(o.out(), "EROFS");
    ctx.probe(&mut b, &["write", "/tmp/f", "x"]).expect_ok("write to /tmp tmpfs under a read-only root");
    assert!(!b.host_path("/newfile").exists());
    // control: a writable root.
    b.set("root/readonly", json!(false));
    ctx.probe(&mut b, &["write", "/newfile", "x"]).expect_ok("write to a writable /");
    assert_eq!(fs::read_to_string(b.host_path("/newfile")).unwrap(), "x");
}

#[test]
fn masked_paths() {
    let ctx = Ctx::new("masked");
    let mut b = ctx.bundle("b");
    b.put_file("/etc/secret", "top-secret", 0o644);
    b.put_file("/secrets/a", "aaa", 0o644);
    // control first.
    let o = ctx.probe(&mut b, &["read", "/etc/secret"]);
    assert_eq!(o.stdout, "top-secret");
    assert_eq!(ctx.probe(&mut b, &["ls", "/secrets"]).out(), "a");
    b.push("linux/maskedPaths", json!("/etc/secret"));
    b.push("linux/maskedPaths", json!("/secrets"));
    b.push("linux/maskedPaths", json!("/does/not/exist"));
    let o = ctx.probe(&mut b, &["read", "/etc/secret"]);
    o.expect_ok("read masked file");
    assert_eq!(o.stdout, "", "masked file not empty");
    // A masked directory shows nothing: runc lists it as empty; a mode-000 mask that
    // refuses the listing (EACCES without CAP_DAC_OVERRIDE) hides it just as well.
    let o = ctx.probe(&mut b, &["ls", "/secrets"]);
    assert!((o.code == 0 && o.out().is_empty()) || o.out() == "EACCES", "masked dir: {o:?}");
    let o = ctx.probe(&mut b, &["read", "/secrets/a"]);
    assert_ne!(o.code, 0, "a file in a masked dir is readable: {o:?}");
    assert!(!o.stdout.contains("aaa"));
    // With CAP_DAC_OVERRIDE the listing works and is empty.
    b.set("process/capabilities", json!({"bounding": ["CAP_DAC_OVERRIDE"], "effective": ["CAP_DAC_OVERRIDE"], "permitted": ["CAP_DAC_OVERRIDE"]}));
    let o = ctx.probe(&mut b, &["ls", "/secrets"]);
    o.expect_ok("ls masked dir with CAP_DAC_OVERRIDE");
    assert_eq!(o.out(), "", "masked dir not empty");
    // Masked /proc entries from the template.
    let o = ctx.probe(&mut b, &["read", "/proc/keys"]);
    assert_eq!(o.stdout, "", "/proc/keys (masked by the template) readable");
    let o = ctx.probe(&mut b, &["read", "/proc/timer_list"]);
    assert_eq!(o.stdout, "", "/proc/timer_list (masked by the template) readable");
    // Nothing changed on disk.
    assert_eq!(fs::read_to_string(b.host_path("/etc/secret")).unwrap(), "top-secret");
}

#[test]
fn readonly_paths() {
    let ctx = Ctx::new("ropaths");
    let mut b = ctx.bundle("b");
    b.set("root/readonly", json!(false));
    fs::create_dir_all(b.host_path("/data")).unwrap();
    ctx.probe(&mut b, &["write", "/data/f", "x"]).expect_ok("control: /data writable");
    b.push("linux/readonlyPaths", json!("/data"));
    let o = ctx.probe(&mut b, &["write", "/data/g", "x"]);
    o.expect_code(1, "write under a readonlyPath");
    assert_eq!(o.out(), "EROFS");
    // The template's /proc/sys is read-only.
    let o = ctx.probe(&mut b, &["write", "/proc/sys/kernel/hostname", "x"]);
    o.expect_code(1, "write to /proc/sys");
    assert_eq!(o.out(), "EROFS");
}

#[test]
fn devices() {
    let ctx = Ctx::new("devices");
    let mut b = ctx.bundle("b");
    // Defaults.
    for (dev, rdev) in [("null", "1:3"), ("zero", "1:5"), ("full", "1:7"), ("random", "1:8"), ("urandom", "1:9"), ("tty", "5:0")] {
        let o = ctx.probe(&mut b, &["stat", &format!("/dev/{dev}")]);
        o.expect_ok(&format!("stat /dev/{dev}"));
        assert!(o.stdout.contains("type=char mode=0666") && o.stdout.contains(&format!("rdev={rdev}")), "/dev/{dev}: {}", o.stdout);
    }
    ctx.probe(&mut b, &["write", "/dev/null", "x"]).expect_ok("write /dev/null");
    for l in ["fd", "stdin", "stdout", "stderr"] {
        let o = ctx.probe(&mut b, &["stat", &format!("/dev/{l}")]);
        assert!(o.stdout.contains("type=symlink"), "/dev/{l}: {}", o.stdout);
    }
    // linux.devices with mode, uid, gid.
    b.push("linux/devices", json!({"path": "/dev/mydev", "type": "c", "major": 1, "minor": 5, "fileMode": 0o640, "uid": 1000, "gid": 1000}));
    b.push("linux/devices", json!({"path": "/dev/sub/blk", "type": "b", "major": 7, "minor": 200, "fileMode": 0o600}));
    b.push("linux/resources/devices", json!({"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"}));
    let o = ctx.probe(&mut b, &["stat", "/dev/mydev"]);
    o.expect_ok("stat /dev/mydev");
    assert!(o.stdout.contains("type=char mode=0640 uid=1000 gid=1000") && o.stdout.contains("rdev=1:5"), "{}", o.stdout);
    let o = ctx.probe(&mut b, &["stat", "/dev/sub/blk"]);
    o.expect_ok("stat /dev/sub/blk");
    assert!(o.stdout.contains("type=block mode=0600 uid=0 gid=0") && o.stdout.contains("rdev=7:200"), "{}", o.stdout);
    // The device cgroup (template: deny all but the defaults) forbids mknod of other devices.
    let o = ctx.probe(&mut b, &["mknod", "/dev/sda-x", "8", "0", "b"]);
    assert_ne!(o.code, 0, "mknod of a block device succeeded: {}", o.stdout);
}

#[test]
fn atime_symfollow_and_recursive_flags() {
    let ctx = Ctx::new("mntflags");
    let src = source_dir(&ctx, "fsrc");
    let sub = src.join("sub");
    fs::create_dir_all(&sub).unwrap();
    mount_tmpfs(&sub, "mode=777");
    ctx.track_host_mount(&sub);
    let mut b = ctx.bundle("b");
    b.mount("/a", "bind", src.to_str().unwrap(), &["rbind", "noatime", "nosymfollow", "rnoexec", "rnodev"]);
    b.mount("/s", "tmpfs", "tmpfs", &["strictatime", "noexec", "ro"]);
    let mi = mountinfo(&ctx, &mut b);
    let a = mount_opts(&mi, "/a");
    for o in ["noatime", "nosymfollow", "noexec", "nodev"] {
        assert!(a.contains(&o.to_string()), "/a lacks {o}: {a:?}");
    }
    let asub = mount_opts(&mi, "/a/sub");
    assert!(asub.contains(&"noexec".into()) && asub.contains(&"nodev".into()), "recursive flags missed the submount: {asub:?}");
    assert!(!asub.contains(&"noatime".into()), "non-recursive noatime reached the submount: {asub:?}");
    let s = mount_opts(&mi, "/s");
    assert!(s.contains(&"ro".into()) && s.contains(&"noexec".into()) && !s.contains(&"relatime".into()), "{s:?}");
    // nosymfollow: a symlink on that mount is not followed.
    fs::write(src.join("target"), "t").unwrap();
    std::os::unix::fs::symlink("target", src.join("link")).unwrap();
    let o = ctx.probe(&mut b, &["read", "/a/link"]);
    o.expect_code(1, "read through a symlink on a nosymfollow mount");
    assert_eq!(o.out(), "ELOOP");
    assert_eq!(ctx.probe(&mut b, &["read", "/a/target"]).out(), "t");
}
