//! Bad configs: each fails `create` with exit 1 and one stderr line that names config.json
//! and the offending field, and leaves no state directory and no cgroup. Every case runs
//! beside a positive control: the same bundle with the unmodified config works.

use integration::*;

/// Creates with `edit` applied to a good config; asserts a clean failure naming `field`.
fn expect_config_error(name: &str, field: &str, edit: impl FnOnce(&mut Bundle)) {
    let ctx = Ctx::new(name);
    let mut b = ctx.bundle("b");
    b.probe(&["exit", "0"]);
    // control.
    ctx.run(&b, "control", &[]).expect_ok(&format!("{name}: control run with the good config"));
    edit(&mut b);
    for verb in ["create", "run"] {
        let id = ctx.next_id();
        let o = if verb == "create" { ctx.create(&b, &id, &[]) } else { ctx.run(&b, &id, &[]) };
        let line = o.expect_error(&format!("{name}: {verb} with a bad config"));
        assert!(line.contains("config.json"), "{name}: {verb}: the error does not name config.json: {line}");
        assert!(line.contains(field), "{name}: {verb}: the error does not name the field {field:?}: {line}");
        assert!(!ctx.root.join(&id).exists(), "{name}: {verb}: state dir left");
        ctx.assert_no_residue(&format!("{name}: {verb} with a bad config"));
    }
}

#[test]
fn malformed_json() {
    expect_config_error("badjson", "JSON", |b| {
        let text = serde_json::to_string_pretty(&b.config).unwrap();
        b.raw_config = Some(text[..text.len() / 2].to_string());
    });
}

#[test]
fn trailing_garbage_json() {
    expect_config_error("garbagejson", "JSON", |b| {
        b.raw_config = Some(format!("{} }}", serde_json::to_string(&b.config).unwrap()));
    });
}

#[test]
fn uid_as_string() {
    expect_config_error("uidstring", "process.user.uid", |b| {
        b.set("process/user/uid", json!("0"));
    });
}

#[test]
fn unknown_capability() {
    expect_config_error("unknowncap", "process.capabilities.bounding[1]", |b| {
        b.set("process/capabilities/bounding", json!(["CAP_KILL", "CAP_DOES_NOT_EXIST"]));
    });
}

#[test]
fn unknown_namespace_type() {
    expect_config_error("unknownns", "linux.namespaces[5].type", |b| {
        b.push("linux/namespaces", json!({"type": "bogus"}));
    });
}

#[test]
fn duplicate_namespace() {
    expect_config_error("dupns", "linux.namespaces", |b| {
        b.push("linux/namespaces", json!({"type": "ipc"}));
    });
}

#[test]
fn missing_process() {
    expect_config_error("noprocess", "process", |b| {
        b.remove("process");
    });
}

#[test]
fn empty_args() {
    expect_config_error("emptyargs", "process.args", |b| {
        b.set("process/args", json!([]));
    });
}

#[test]
fn relative_root_path_to_missing_dir() {
    expect_config_error("badroot", "root.path", |b| {
        b.set("root/path", json!("no-such-rootfs"));
    });
}

#[test]
fn missing_root() {
    expect_config_error("noroot", "root", |b| {
        b.remove("root");
    });
}

#[test]
fn bad_bind_mount_option() {
    expect_config_error("badbindopt", "mounts[8]", |b| {
        b.mount("/x", "bind", "/tmp", &["bind", "bogusopt"]);
    });
}

#[test]
fn bad_tmpfs_mount_option() {
    expect_config_error("badtmpfsopt", "mounts[8]", |b| {
        b.mount("/x", "tmpfs", "tmpfs", &["size=lots"]);
    });
}

#[test]
fn unknown_filesystem_type() {
    expect_config_error("badfstype", "mounts[8]", |b| {
        b.mount("/x", "nosuchfs", "none", &[]);
    });
}

#[test]
fn missing_bind_source() {
    expect_config_error("nobindsrc", "mounts[8]", |b| {
        b.mount("/x", "bind", "/nonexistent/bind/source", &["bind"]);
    });
}

#[test]
fn relative_mount_destination() {
    expect_config_error("reldest", "mounts[8].destination", |b| {
        b.mount("relative/dest", "tmpfs", "tmpfs", &[]);
    });
}

#[test]
fn env_without_equals() {
    expect_config_error("badenv", "process.env[1]", |b| {
        b.set("process/env", json!(["PATH=/bin", "NOEQUALS"]));
    });
}

#[test]
fn relative_cwd() {
    expect_config_error("relcwd", "process.cwd", |b| {
        b.set("process/cwd", json!("relative/dir"));
    });
}

#[test]
fn hostname_without_uts_namespace() {
    expect_config_error("hostnonuts", "hostname", |b| {
        let ns: Vec<Value> = b.get("linux/namespaces").as_array().unwrap().iter().filter(|n| n["type"] != "uts").cloned().collect();
        b.set("linux/namespaces", json!(ns));
    });
}

#[test]
fn rlimit_soft_above_hard() {
    expect_config_error("rlimitorder", "process.rlimits[0]", |b| {
        b.set("process/rlimits", json!([{"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}]));
    });
}

#[test]
fn unknown_rlimit_type() {
    expect_config_error("rlimittype", "process.rlimits[0]", |b| {
        b.set("process/rlimits", json!([{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]));
    });
}

#[test]
fn missing_oci_version() {
    expect_config_error("noversion", "ociVersion", |b| {
        b.remove("ociVersion");
    });
}

#[test]
fn negative_memory_limit_type() {
    expect_config_error("memtype", "linux.resources.memory.limit", |b| {
        b.set("linux/resources/memory/limit", json!("64M"));
    });
}

#[test]
fn missing_bundle_dir() {
    let ctx = Ctx::new("nobundle");
    let missing = ctx.base.join("no-such-bundle");
    let o = ctx.rt(&["create", "--bundle", missing.to_str().unwrap(), "x"]);
    let line = o.expect_error("create with a missing bundle");
    assert!(line.contains("config.json") && line.contains("no-such-bundle"), "{line}");
    ctx.assert_no_residue("create with a missing bundle");
}

#[test]
fn device_path_escaping_dev() {
    // "/dev/../x" passes a component-wise starts_with("/dev") but names /x.
    expect_config_error("devdotdot", "linux.devices[0].path", |b| {
        b.push("linux/devices", json!({"path": "/dev/../evil-dev", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666}));
    });
}

#[test]
fn device_outside_dev() {
    expect_config_error("devoutside", "linux.devices[0].path", |b| {
        b.push("linux/devices", json!({"path": "/etc/evil-dev", "type": "c", "major": 1, "minor": 3}));
    });
}

// --- Errors that used to fail late, or not at all (issue 10.6, 9.15) ---

#[test]
fn masked_paths_without_proc_mount() {
    // Used to fail inside the container with "stat /dev/null: No such file or directory".
    expect_config_error("noproc", "linux.maskedPaths", |b| {
        b.unmount("/proc");
    });
}

#[test]
fn nofile_too_low_names_the_limit() {
    // Used to fail at exec with "process.args[0]: /probe: Too many open files".
    expect_config_error("nofile0", "process.rlimits[0]", |b| {
        b.set("process/rlimits", json!([{"type": "RLIMIT_NOFILE", "soft": 0, "hard": 1024}]));
    });
    // Positive control: the floor itself runs, and the program sees it.
    let ctx = Ctx::new("nofilefloor");
    let mut b = ctx.bundle("b");
    b.set("process/rlimits", json!([{"type": "RLIMIT_NOFILE", "soft": 16, "hard": 1024}]));
    let o = ctx.probe(&mut b, &["ulimit", "nofile"]);
    o.expect_ok("nofile 16");
    assert_eq!(o.out(), "16 1024");
}

#[test]
fn nul_bytes_name_the_field() {
    for (name, field, path, v) in [
        ("nularg", "process.args[2]", "process/args", json!(["/probe", "sleep", "1\u{0}"])),
        ("nulenv", "process.env[1]", "process/env", json!(["PATH=/bin", "A=b\u{0}c"])),
        ("nulhost", "hostname", "hostname", json!("h\u{0}st")),
        ("nulcwd", "process.cwd", "process/cwd", json!("/\u{0}tmp")),
    ] {
        expect_config_error(name, field, |b| {
            b.set(path, v);
        });
    }
    expect_config_error("nulmountopt", "mounts[8].options[1]", |b| {
        b.mount("/x", "tmpfs", "tmpfs", &["nosuid", "size=1m\u{0}"]);
    });
}

#[test]
fn empty_root_path() {
    // "" used to make the bundle directory the rootfs.
    expect_config_error("emptyroot", "root.path", |b| {
        b.set("root/path", json!(""));
    });
}

#[test]
fn arrays_where_objects_belong() {
    // `"user": []` used to run as uid 0.
    expect_config_error("userarray", "process.user", |b| {
        b.set("process/user", json!([]));
    });
    expect_config_error("toparray", "(top level)", |b| {
        b.raw_config = Some("[]".into());
    });
    expect_config_error("nsarray", "linux.namespaces[0]", |b| {
        b.set("linux/namespaces", json!([["pid"]]));
    });
}

#[test]
fn ids_outside_the_int32_range() {
    // 4294967295 is (uid_t)-1: setresuid(-1) means "unchanged", i.e. uid 0 stays.
    expect_config_error("uidmax", "process.user.uid", |b| {
        b.set("process/user/uid", json!(4294967295u32));
    });
    expect_config_error("gidmax", "process.user.gid", |b| {
        b.set("process/user/gid", json!(4294967295u32));
    });
    expect_config_error("agidmax", "process.user.additionalGids[1]", |b| {
        b.set("process/user/additionalGids", json!([5, 2147483648u32]));
    });
    // Positive control: the largest valid id is really used.
    let ctx = Ctx::new("uidtop");
    let mut b = ctx.bundle("b");
    b.set("process/user/uid", json!(2147483647u32));
    b.set("process/user/gid", json!(2147483647u32));
    let o = ctx.probe(&mut b, &["id"]);
    o.expect_ok("uid 2147483647");
    assert!(o.out().contains("uid=2147483647 euid=2147483647"), "{}", o.out());
}

#[test]
fn exec_user_outside_the_int32_range() {
    let ctx = Ctx::new("execuid");
    let mut b = ctx.bundle("b");
    b.probe(&["sigwait"]);
    ctx.run_detached(&b, "c");
    let o = ctx.rt(&["exec", "--user", "1000:1000", "c", "/probe", "id"]);
    o.expect_ok("exec --user 1000 (control)");
    assert!(o.out().contains("uid=1000 euid=1000"), "{}", o.out());
    for user in ["4294967295", "0:4294967295", "2147483648:0"] {
        let o = ctx.rt(&["exec", "--user", user, "c", "/probe", "id"]);
        let line = o.expect_error(&format!("exec --user {user}"));
        assert!(line.contains("user.") && line.contains("outside 0..=2147483647"), "{line}");
        assert!(!o.stdout.contains("uid="), "exec --user {user} ran: {}", o.stdout);
    }
    let o = ctx.rt(&["exec", "--additional-gids", "4294967295", "c", "/probe", "id"]);
    let line = o.expect_error("exec --additional-gids 4294967295");
    assert!(line.contains("additionalGids[0]"), "{line}");
    ctx.kill("c", "KILL").expect_ok("kill");
    ctx.delete("c", true).expect_ok("delete");
}

/// A harmless network sysctl whose host value we can compare before and after.
const WITNESS: &str = "net.ipv4.tcp_keepalive_probes";
fn host_witness() -> String {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_keepalive_probes").unwrap().trim().to_string()
}

#[test]
fn net_sysctl_with_host_network_is_refused() {
    let before = host_witness();
    let other = if before == "7" { "8" } else { "7" };
    // The template shares the host's network namespace.
    expect_config_error("netsysctl", &format!("linux.sysctl.{WITNESS}"), |b| {
        b.set("linux/sysctl", json!({ WITNESS: other }));
    });
    assert_eq!(host_witness(), before, "the host's {WITNESS} changed");
    // Joining the host's network namespace by path (here: this test's own) is sharing it too.
    expect_config_error("netsysctlpath", &format!("linux.sysctl.{WITNESS}"), |b| {
        b.push("linux/namespaces", json!({"type": "network", "path": format!("/proc/{}/ns/net", std::process::id())}));
        b.set("linux/sysctl", json!({ WITNESS: other }));
    });
    assert_eq!(host_witness(), before, "the host's {WITNESS} changed");
    // Positive control: with its own network namespace the same sysctl is applied, in there.
    let ctx = Ctx::new("netsysctlok");
    let mut b = ctx.bundle("b");
    b.namespace("network");
    b.set("linux/sysctl", json!({ WITNESS: other }));
    let o = ctx.probe(&mut b, &["read", "/proc/sys/net/ipv4/tcp_keepalive_probes"]);
    o.expect_ok("net sysctl in a network namespace");
    assert_eq!(o.out(), other);
    assert_eq!(host_witness(), before, "the host's {WITNESS} changed");
}

#[test]
fn sysctls_outside_the_container_namespaces_are_refused() {
    let drop_ns = |b: &mut Bundle, t: &str| {
        let ns: Vec<Value> = b.get("linux/namespaces").as_array().unwrap().iter().filter(|n| n["type"] != t).cloned().collect();
        b.set("linux/namespaces", json!(ns));
    };
    let swappiness = std::fs::read_to_string("/proc/sys/vm/swappiness").unwrap();
    // Not namespaced at all: refused whatever the namespaces.
    expect_config_error("vmsysctl", "linux.sysctl.vm.swappiness", |b| {
        b.namespace("network");
        b.set("linux/sysctl", json!({"vm.swappiness": "7"}));
    });
    assert_eq!(std::fs::read_to_string("/proc/sys/vm/swappiness").unwrap(), swappiness);
    expect_config_error("kernelsysctl", "linux.sysctl.kernel.panic", |b| {
        b.set("linux/sysctl", json!({"kernel.panic": "0"}));
    });
    // IPC and UTS sysctls need their namespace.
    expect_config_error("ipcsysctl", "linux.sysctl.kernel.shmmni", |b| {
        drop_ns(b, "ipc");
        b.set("linux/sysctl", json!({"kernel.shmmni": "100"}));
    });
    expect_config_error("mqsysctl", "linux.sysctl.fs.mqueue.msg_max", |b| {
        drop_ns(b, "ipc");
        b.unmount("/dev/mqueue");
        b.set("linux/sysctl", json!({"fs.mqueue.msg_max": "11"}));
    });
    expect_config_error("utssysctl", "linux.sysctl.kernel.domainname", |b| {
        drop_ns(b, "uts");
        b.remove("hostname");
        b.set("linux/sysctl", json!({"kernel.domainname": "x"}));
    });
    // Positive controls: with their namespaces they apply inside (vm.memfd_noexec is per
    // pid namespace since Linux 6.3; spec-gen sets it).
    let ctx = Ctx::new("nssysctlok");
    let mut b = ctx.bundle("b");
    b.set("linux/sysctl", json!({"kernel.shmmni": "100", "vm.memfd_noexec": "1"}));
    let o = ctx.probe(&mut b, &["read", "/proc/sys/kernel/shmmni"]);
    o.expect_ok("ipc sysctl in an ipc namespace");
    assert_eq!(o.out(), "100");
    let o = ctx.probe(&mut b, &["read", "/proc/sys/vm/memfd_noexec"]);
    o.expect_ok("vm.memfd_noexec in a pid namespace");
    assert_eq!(o.out(), "1");
}

#[test]
fn nofile_floor_counts_passed_through_fds() {
    // 12 fds passed with --preserve-fds sit below everything the runtime opens afterwards.
    let ctx = Ctx::new("nofilepreserve");
    let mut b = ctx.bundle("b");
    b.probe(&["exit", "0"]);
    b.set("process/rlimits", json!([{"type": "RLIMIT_NOFILE", "soft": 16, "hard": 1024}]));
    ctx.run(&b, "control16", &[]).expect_ok("nofile 16 without passed fds (control)");
    let o = ctx.run(&b, "pf16", &["--preserve-fds", "12"]);
    let line = o.expect_error("nofile 16 with 12 passed fds");
    assert!(line.contains("process.rlimits") && line.contains("12 passed-through") && line.contains("at least 19"), "{line}");
    ctx.assert_no_residue_for("pf16", "refused for nofile");
    // Control: at the floor, with the 12 fds really open (so the runtime's own fds sit above
    // them, as in use), the container runs.
    b.set("process/rlimits", json!([{"type": "RLIMIT_NOFILE", "soft": 19, "hard": 1024}]));
    ctx.write_config(&b, "pf19");
    ctx.track("pf19");
    let bundle = b.dir.to_string_lossy().into_owned();
    let mut c = ctx.cmd(&["run", "--preserve-fds", "12", "--bundle", &bundle, "pf19"]);
    // SAFETY: only dup2 (async-signal-safe) between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut c, || {
            for fd in 3..15 {
                if libc::dup2(0, fd) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    ctx.spawn(c, "run --preserve-fds 12").wait(CMD_TIMEOUT).expect_ok("nofile 19 with 12 open passed fds (control)");
}
