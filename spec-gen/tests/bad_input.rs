//! Bad descriptions: one clear error naming file:line and the fix, exit
//! code 1, and nothing written.

mod common;

use common::*;
use std::path::Path;

const BASE: &str = r#"name = "bad"
rootfs = "rootfs"

[process]
command = "/bin/true"
user = "root"

[network]
tcp_bind = [8080]
"#;

/// Writes a description (and a tiny rootfs) and runs `bundle` on it.
fn bundle(text: &str, extra: &[&str]) -> (tempfile::TempDir, std::process::Output) {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("rootfs/etc")).unwrap();
    std::fs::write(
        t.path().join("rootfs/etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(t.path().join("service.toml"), text).unwrap();
    let service = t.path().join("service.toml");
    let out = t.path().join("out");
    let mut args = vec![
        "bundle",
        service.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    (t, o)
}

fn assert_rejected(dir: &Path, o: &std::process::Output, location: &str, words: &[&str]) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "expected exit 1, got {:?}:\n{err}",
        o.status
    );
    assert!(
        err.contains(&format!("service.toml:{location}")),
        "no service.toml:{location} in:\n{err}"
    );
    assert!(err.contains("fix: "), "no fix in:\n{err}");
    for w in words {
        assert!(err.contains(w), "no `{w}` in:\n{err}");
    }
    assert!(
        !dir.join("out").exists(),
        "output was written despite the error"
    );
    assert_eq!(
        err.matches("error:").count(),
        1,
        "expected one error:\n{err}"
    );
}

#[test]
fn unknown_key() {
    let (t, o) = bundle(
        &BASE.replace("user = \"root\"", "user = \"root\"\ncolour = \"blue\""),
        &[],
    );
    assert_rejected(
        t.path(),
        &o,
        "7:1",
        &["unknown field `colour`", "remove the key"],
    );
}

#[test]
fn top_level_key_below_a_table() {
    let (t, o) = bundle(&format!("{BASE}syslog = true\n"), &[]);
    assert_rejected(
        t.path(),
        &o,
        "10:1",
        &["unknown field `syslog`", "top-level key"],
    );
}

#[test]
fn wrong_type() {
    let (t, o) = bundle(&BASE.replace("[network]", "[network]\nudp = \"yes\""), &[]);
    assert_rejected(t.path(), &o, "9:7", &["invalid type", "expected a boolean"]);
}

#[test]
fn port_out_of_range() {
    let (t, o) = bundle(&BASE.replace("[8080]", "[8080, 70000]"), &[]);
    assert_rejected(
        t.path(),
        &o,
        "9:19",
        &["port 70000 is out of range", "from 1 to 65535"],
    );
}

#[test]
fn missing_rootfs() {
    let (t, o) = bundle(
        &BASE.replace("rootfs = \"rootfs\"", "rootfs = \"nowhere\""),
        &[],
    );
    assert_rejected(
        t.path(),
        &o,
        "2:10",
        &["nowhere does not exist", "spec-gen rootfs"],
    );
}

#[test]
fn missing_required_key() {
    let (t, o) = bundle(&BASE.replace("user = \"root\"\n", ""), &[]);
    assert_rejected(t.path(), &o, "4:1", &["missing field `user`"]);
}

#[test]
fn unknown_user() {
    let (t, o) = bundle(&BASE.replace("user = \"root\"", "user = \"nobody\""), &[]);
    assert_rejected(
        t.path(),
        &o,
        "6:8",
        &["user `nobody` is not in the rootfs's /etc/passwd"],
    );
}

#[test]
fn bad_capability_and_signal() {
    let (t, o) = bundle(
        &format!("{BASE}\n[security]\ncapabilities = [\"CAP_SYS_GODMODE\"]\n"),
        &[],
    );
    assert_rejected(t.path(), &o, "12:16", &["not a Linux capability"]);
    let (t, o) = bundle(
        &format!("{BASE}\n[lifecycle]\nstop_signal = \"SIGNOPE\"\n"),
        &[],
    );
    assert_rejected(t.path(), &o, "12:15", &["not a signal name"]);
}

#[test]
fn relative_container_path() {
    let (t, o) = bundle(
        &format!("{BASE}\n[filesystem]\ntmpfs = [{{ path = \"cache\" }}]\n"),
        &[],
    );
    assert_rejected(
        t.path(),
        &o,
        "12:",
        &["tmpfs path `cache` is not an absolute container path"],
    );
}

#[test]
fn placeholder_without_instance() {
    let (t, o) = bundle(&BASE.replace("/bin/true", "/bin/{instance}"), &[]);
    assert_rejected(
        t.path(),
        &o,
        "5:17",
        &["no instance was given", "--instance"],
    );
}

#[test]
fn undeclared_instance() {
    let (t, o) = bundle(
        &format!("{BASE}\n[instances.a]\ntcp_bind = [81]\n"),
        &["--instance", "b"],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err.contains("service.toml: error: instance `b` is not declared"),
        "{err}"
    );
    assert!(err.contains("use one of: a"), "{err}");
    assert!(!t.path().join("out").exists());
}

#[test]
fn duplicate_mount_target() {
    let text = format!(
        "{BASE}\n[[bind]]\nsource = \"rootfs\"\ntarget = \"/data\"\n\n[[bind]]\nsource = \"rootfs\"\ntarget = \"/data/\"\n"
    );
    let (t, o) = bundle(&text, &[]);
    assert_rejected(
        t.path(),
        &o,
        "17:10",
        &["/data is already mounted by line 13"],
    );
}

#[test]
fn syntax_error() {
    let (t, o) = bundle(&BASE.replace("name = \"bad\"", "name = \"bad"), &[]);
    assert_rejected(t.path(), &o, "1:", &["error:"]);
}

#[test]
fn udp_without_ports() {
    let (t, o) = bundle(&format!("{BASE}udp = true\n"), &[]);
    assert_rejected(t.path(), &o, "10:1", &["network.udp = true", "udp_connect", "[53]"]);
}

#[test]
fn bad_abstract_unix_name() {
    let (t, o) = bundle(&format!("{BASE}abstract_unix_bind = [\"ok\", \"\"]\n"), &[]);
    assert_rejected(t.path(), &o, "10:29", &["abstract unix name \"\" is empty", "leading NUL"]);
}
