//! Namespaces: new ones, joining another container's, user namespaces with id maps, time
//! namespace offsets; plus create-time failures of the console socket and the pid file.

use std::collections::BTreeMap;
use std::fs;

use integration::*;

/// "type -> link target" from `probe ns`.
fn ns_of(o: &Output) -> BTreeMap<String, String> {
    o.stdout.lines().filter_map(|l| l.split_once(' ')).map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

fn host_ns(t: &str) -> String {
    fs::read_link(format!("/proc/self/ns/{t}")).unwrap().display().to_string()
}

#[test]
fn new_namespaces_differ_from_the_host() {
    let ctx = Ctx::new("nsnew");
    let mut b = ctx.bundle("b");
    b.namespace("network");
    let o = ctx.probe(&mut b, &["ns"]);
    o.expect_ok("probe ns");
    let ns = ns_of(&o);
    for t in ["pid", "ipc", "uts", "mnt", "cgroup", "net"] {
        assert_ne!(ns[t], host_ns(t), "{t} namespace is the host's");
    }
    assert_eq!(ns["user"], host_ns("user"), "no user namespace was asked for");
    // In the new network namespace only lo exists, and it is down.
    let o = ctx.probe(&mut b, &["connect", "127.0.0.1", "1", "1"]);
    o.expect_code(1, "connect in an empty netns");
    assert_eq!(o.out(), "ENETUNREACH");
    // control: without a network namespace the host's is shared.
    let mut b2 = ctx.bundle("b2");
    let ns = ns_of(&ctx.probe(&mut b2, &["ns"]));
    assert_eq!(ns["net"], host_ns("net"));
}

#[test]
fn join_another_containers_namespaces() {
    let ctx = Ctx::new("nsjoin");
    let mut b1 = ctx.bundle("b1");
    b1.probe(&["sleep", "30"]);
    b1.set("hostname", json!("first"));
    let pid = ctx.create_ok(&b1, "first");
    ctx.start("first").expect_ok("start first");
    let mut b2 = ctx.bundle("b2");
    b2.remove("hostname");
    let ns: Vec<Value> = b2
        .get("linux/namespaces")
        .as_array()
        .unwrap()
        .iter()
        .map(|n| match n["type"].as_str().unwrap() {
            t @ ("ipc" | "uts") => json!({"type": t, "path": format!("/proc/{pid}/ns/{t}")}),
            _ => n.clone(),
        })
        .collect();
    b2.set("linux/namespaces", json!(ns));
    let o = ctx.probe(&mut b2, &["ns"]);
    o.expect_ok("probe ns in the joining container");
    let joined = ns_of(&o);
    let first_ipc = fs::read_link(format!("/proc/{pid}/ns/ipc")).unwrap().display().to_string();
    let first_uts = fs::read_link(format!("/proc/{pid}/ns/uts")).unwrap().display().to_string();
    let first_pid = fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap().display().to_string();
    assert_eq!(joined["ipc"], first_ipc);
    assert_eq!(joined["uts"], first_uts);
    assert_ne!(joined["pid"], first_pid, "the pid namespace was not asked to be shared");
    assert_eq!(ctx.probe(&mut b2, &["hostname"]).out(), "first", "joined uts namespace shows its hostname");
    // A namespace path that does not exist is a config error.
    b2.set("linux/namespaces/1/path", json!("/proc/999999999/ns/ipc"));
    let line = ctx.create(&b2, "bad", &[]).expect_error("join a missing namespace");
    assert!(line.contains("linux.namespaces[1].path"), "{line}");
    ctx.assert_no_residue_for("bad", "failed create (missing namespace path)");
}

#[test]
fn user_namespace_with_id_maps() {
    let ctx = Ctx::new("userns");
    let mut b = ctx.bundle("b");
    b.namespace("user");
    b.set("linux/uidMappings", json!([{"containerID": 0, "hostID": 200000, "size": 65536}]));
    b.set("linux/gidMappings", json!([{"containerID": 0, "hostID": 200000, "size": 65536}]));
    // sysfs cannot be mounted without a netns of our own; the cgroup mount is host-owned.
    b.namespace("network");
    let o = ctx.probe(&mut b, &["read", "/proc/self/uid_map"]);
    o.expect_ok("read uid_map in a user namespace");
    let fields: Vec<&str> = o.stdout.split_whitespace().collect();
    assert_eq!(fields, ["0", "200000", "65536"], "{}", o.stdout);
    let o = ctx.probe(&mut b, &["id"]);
    assert!(o.stdout.starts_with("uid=0 euid=0"), "{o:?}");
    b.probe(&["sleep", "30"]);
    let pid = ctx.create_ok(&b, "u");
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    // After start the process runs as host uid 200000; before exec the init may still be
    // the runtime's fork, so look after start.
    ctx.start("u").expect_ok("start");
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_after = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(uid_after.split_whitespace().nth(1) == Some("200000"), "container root is not host uid 200000: {uid_after} (before start: {uid_line})");
    // Mappings without a user namespace are a config error.
    let mut b2 = ctx.bundle("b2");
    b2.set("linux/uidMappings", json!([{"containerID": 0, "hostID": 200000, "size": 1}]));
    let line = ctx.create(&b2, "bad", &[]).expect_error("id maps without a user namespace");
    assert!(line.contains("config.json") && line.contains("linux.uidMappings"), "{line}");
}

#[test]
fn time_namespace_offsets() {
    let ctx = Ctx::new("timens");
    let mut b = ctx.bundle("b");
    b.namespace("time");
    b.set("linux/timeOffsets", json!({"boottime": {"secs": 400 * 86400, "nanosecs": 0}}));
    let o = ctx.probe(&mut b, &["read", "/proc/uptime"]);
    o.expect_ok("read /proc/uptime");
    let up: f64 = o.stdout.split_whitespace().next().unwrap().parse().unwrap();
    let host: f64 = fs::read_to_string("/proc/uptime").unwrap().split_whitespace().next().unwrap().parse().unwrap();
    assert!(up >= host + 399.0 * 86400.0, "boottime offset not applied: container {up}, host {host}");
    // Offsets without a time namespace are a config error.
    b.set("linux/namespaces", json!(b.get("linux/namespaces").as_array().unwrap().iter().filter(|n| n["type"] != "time").cloned().collect::<Vec<_>>()));
    let line = ctx.create(&b, "bad", &[]).expect_error("timeOffsets without a time namespace");
    assert!(line.contains("linux.timeOffsets"), "{line}");
}

#[test]
fn bad_console_socket_and_pid_file_leave_nothing() {
    let ctx = Ctx::new("badpaths");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    b.set("process/terminal", json!(true));
    let missing = ctx.base.join("no-such.sock");
    let line = ctx.create(&b, "c1", &["--console-socket", missing.to_str().unwrap()]).expect_error("a console socket that does not exist");
    assert!(line.contains("no-such.sock"), "{line}");
    ctx.assert_no_residue("failed create (console socket)");
    b.set("process/terminal", json!(false));
    let bad_pid = ctx.base.join("no-such-dir/c2.pid");
    let line = ctx.create(&b, "c2", &["--pid-file", bad_pid.to_str().unwrap()]).expect_error("a pid file in a missing directory");
    assert!(line.contains("pid-file") || line.contains("c2.pid"), "{line}");
    ctx.assert_no_residue("failed create (pid file)");
    // control.
    let good = ctx.base.join("c3.pid");
    ctx.create(&b, "c3", &["--pid-file", good.to_str().unwrap()]).expect_ok("create with a good pid file");
    assert!(good.is_file());
}
