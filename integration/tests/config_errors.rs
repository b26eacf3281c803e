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
        let o = if verb == "create" {
            ctx.create(&b, &id, &[])
        } else {
            ctx.run(&b, &id, &[])
        };
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
