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
    std::fs::write(t.path().join("rootfs/etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    // The command must exist in the rootfs (spec-gen looks it up, as the runtime would).
    std::fs::create_dir_all(t.path().join("rootfs/bin")).unwrap();
    std::fs::write(t.path().join("rootfs/bin/true"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(t.path().join("rootfs/bin/true"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(t.path().join("service.toml"), text).unwrap();
    let service = t.path().join("service.toml");
    let out = t.path().join("out");
    let mut args = vec!["bundle", service.to_str().unwrap(), "--output", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = run(&args);
    (t, o)
}

fn assert_rejected(dir: &Path, o: &std::process::Output, location: &str, words: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "expected exit 1, got {:?}:\n{err}", o.status);
    assert!(err.contains(&format!("service.toml:{location}")), "no service.toml:{location} in:\n{err}");
    assert!(err.contains("fix: "), "no fix in:\n{err}");
    for w in words {
        assert!(err.contains(w), "no `{w}` in:\n{err}");
    }
    assert!(!dir.join("out").exists(), "output was written despite the error");
    assert_eq!(err.matches("error:").count(), 1, "expected one error:\n{err}");
}

#[test]
fn unknown_key() {
    let (t, o) = bundle(&BASE.replace("user = \"root\"", "user = \"root\"\ncolour = \"blue\""), &[]);
    assert_rejected(t.path(), &o, "7:1", &["unknown field `colour`", "remove the key"]);
}

#[test]
fn top_level_key_below_a_table() {
    let (t, o) = bundle(&format!("{BASE}syslog = true\n"), &[]);
    assert_rejected(t.path(), &o, "10:1", &["unknown field `syslog`", "top-level key"]);
}

#[test]
fn wrong_type() {
    let (t, o) = bundle(&BASE.replace("[network]", "[network]\nudp = \"yes\""), &[]);
    assert_rejected(t.path(), &o, "9:7", &["invalid type", "expected a boolean"]);
}

#[test]
fn port_out_of_range() {
    let (t, o) = bundle(&BASE.replace("[8080]", "[8080, 70000]"), &[]);
    assert_rejected(t.path(), &o, "9:19", &["port 70000 is out of range", "from 1 to 65535"]);
}

#[test]
fn missing_rootfs() {
    let (t, o) = bundle(&BASE.replace("rootfs = \"rootfs\"", "rootfs = \"nowhere\""), &[]);
    assert_rejected(t.path(), &o, "2:10", &["nowhere does not exist", "spec-gen rootfs"]);
}

#[test]
fn missing_required_key() {
    let (t, o) = bundle(&BASE.replace("user = \"root\"\n", ""), &[]);
    assert_rejected(t.path(), &o, "4:1", &["missing field `user`"]);
}

#[test]
fn unknown_user() {
    let (t, o) = bundle(&BASE.replace("user = \"root\"", "user = \"nobody\""), &[]);
    assert_rejected(t.path(), &o, "6:8", &["user `nobody` is not in the rootfs's /etc/passwd"]);
}

#[test]
fn bad_capability_and_signal() {
    let (t, o) = bundle(&format!("{BASE}\n[security]\ncapabilities = [\"CAP_SYS_GODMODE\"]\n"), &[]);
    assert_rejected(t.path(), &o, "12:16", &["not a Linux capability"]);
    let (t, o) = bundle(&format!("{BASE}\n[lifecycle]\nstop_signal = \"SIGNOPE\"\n"), &[]);
    assert_rejected(t.path(), &o, "12:15", &["not a signal name"]);
}

#[test]
fn relative_container_path() {
    let (t, o) = bundle(&format!("{BASE}\n[filesystem]\ntmpfs = [{{ path = \"cache\" }}]\n"), &[]);
    assert_rejected(t.path(), &o, "12:", &["tmpfs path `cache` is not an absolute container path"]);
}

#[test]
fn placeholder_without_instance() {
    let (t, o) = bundle(&BASE.replace("/bin/true", "/bin/{instance}"), &[]);
    assert_rejected(t.path(), &o, "5:17", &["no instance was given", "--instance"]);
}

#[test]
fn undeclared_instance() {
    let (t, o) = bundle(&format!("{BASE}\n[instances.a]\ntcp_bind = [81]\n"), &["--instance", "b"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("service.toml: error: instance `b` is not declared"), "{err}");
    assert!(err.contains("use one of: a"), "{err}");
    assert!(!t.path().join("out").exists());
}

#[test]
fn duplicate_mount_target() {
    let text = format!("{BASE}\n[[bind]]\nsource = \"rootfs\"\ntarget = \"/data\"\n\n[[bind]]\nsource = \"rootfs\"\ntarget = \"/data/\"\n");
    let (t, o) = bundle(&text, &[]);
    assert_rejected(t.path(), &o, "17:10", &["/data is already mounted by line 13"]);
}

#[test]
fn syntax_error() {
    let (t, o) = bundle(&BASE.replace("name = \"bad\"", "name = \"bad"), &[]);
    assert_rejected(t.path(), &o, "1:", &["error:"]);
}

// --- Descriptions the runtime would refuse, or turn into something else (issue 10.7) ---

/// Rejected with one error that names the dotted key and says `words`; nothing written.
fn assert_refused(text: &str, key: &str, words: &[&str]) {
    let (t, o) = bundle(text, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "expected exit 1 for `{key}`, got {:?}:\n{err}", o.status);
    assert!(err.contains("service.toml:"), "no position in:\n{err}");
    assert!(err.contains(&format!("`{key}`")), "the error does not name `{key}`:\n{err}");
    assert!(err.contains("fix: "), "no fix in:\n{err}");
    for w in words {
        assert!(err.contains(w), "no `{w}` in:\n{err}");
    }
    assert_eq!(err.matches("error:").count(), 1, "expected one error:\n{err}");
    assert!(!t.path().join("out").exists(), "output was written despite the error");
}

/// The positive control beside every case: BASE (plus `extra`) is accepted.
fn assert_accepted(text: &str) {
    let (t, o) = bundle(text, &[]);
    assert_eq!(o.status.code(), Some(0), "the control was refused:\n{}", stderr(&o));
    assert!(t.path().join("out/config.json").is_file());
}

#[test]
fn nul_bytes_are_refused_naming_the_key() {
    assert_accepted(&BASE.replace("user = \"root\"", "user = \"root\"\nargs = [\"a\"]\nenv = { A = \"b\" }"));
    assert_refused(&BASE.replace("user = \"root\"", "user = \"root\"\nargs = [\"a\\u0000b\"]"), "process.args[0]", &["NUL"]);
    assert_refused(&BASE.replace("user = \"root\"", "user = \"root\"\nenv = { A = \"b\\u0000\" }"), "process.env.A", &["NUL"]);
    assert_refused(&BASE.replace("/bin/true", "/bin/true\\u0000"), "process.command", &["NUL"]);
}

#[test]
fn command_must_exist_in_the_rootfs() {
    assert_accepted(&BASE.replace("/bin/true", "true"));
    assert_refused(&BASE.replace("/bin/true", "/bin/sleep"), "process.command", &["/bin/sleep does not exist in the rootfs"]);
    assert_refused(&BASE.replace("/bin/true", "sleep"), "process.command", &["`sleep` is not in any PATH directory"]);
}

#[test]
fn limits_the_kernel_refuses_or_ignores() {
    let with = |table: &str| format!("{BASE}\n{table}\n");
    assert_accepted(&with("[resources]\npids = 4194304\ncpus = 0.01\n\n[rlimits]\nnofile = 16"));
    assert_refused(&with("[resources]\npids = 9223372036854775807"), "resources.pids", &["PID_MAX_LIMIT"]);
    assert_refused(&with("[rlimits]\nnofile = 5"), "rlimits.nofile", &["below 16"]);
    // 1e-9 CPUs used to become quota 0: no CPU limit at all.
    assert_refused(&with("[resources]\ncpus = 1e-9"), "resources.cpus", &["smallest CPU limit", "at least 0.01"]);
    assert_refused(&with("[resources]\ncpus = 0.004"), "resources.cpus", &["at least 0.01"]);
}

#[test]
fn mounts_over_the_runtime_s_own_are_refused() {
    let with = |table: &str| format!("{BASE}\n{table}\n");
    assert_accepted(&with("[filesystem]\ntmpfs = [{ path = \"/srv/cache\" }]"));
    assert_refused(&with("[filesystem]\ntmpfs = [{ path = \"/proc\" }]"), "filesystem.tmpfs[0].path", &["/proc", "runtime mounts itself"]);
    assert_refused(&with("[[bind]]\nsource = \"rootfs\"\ntarget = \"/proc/sys\""), "bind[0].target", &["/proc"]);
    assert_refused(&with("[[bind]]\nsource = \"rootfs\"\ntarget = \"/sys\""), "bind[0].target", &["/sys"]);
    assert_refused(&with("[filesystem]\ntmpfs = [{ path = \"/dev/pts\" }]"), "filesystem.tmpfs[0].path", &["runtime makes itself"]);
}

#[test]
fn oversized_values_are_refused() {
    let with = |table: &str| format!("{BASE}\n{table}\n");
    let long = format!("/{}", "a/".repeat(5000));
    assert_refused(&with(&format!("[filesystem]\ntmpfs = [{{ path = \"{long}\" }}]")), "filesystem.tmpfs[0].path", &["PATH_MAX"]);
    let component = format!("/{}", "b".repeat(300));
    assert_refused(&with(&format!("[[bind]]\nsource = \"rootfs\"\ntarget = \"{component}\"")), "bind[0].target", &["NAME_MAX"]);
    // 10 MB of arguments: execve would refuse them after the whole container was made.
    let args: Vec<String> = (0..100_000).map(|_| format!("\"{}\"", "x".repeat(100))).collect();
    let text = BASE.replace("user = \"root\"", &format!("user = \"root\"\nargs = [{}]", args.join(",")));
    assert_refused(&text, "process.args", &["execve takes at most"]);
    let one = BASE.replace("user = \"root\"", &format!("user = \"root\"\nargs = [\"{}\"]", "y".repeat(200_000)));
    assert_refused(&one, "process.args", &["MAX_ARG_STRLEN"]);
}

#[test]
fn every_positioned_error_names_its_key() {
    // Errors from toml/serde (type, unknown key) name the key too, not only line:col.
    assert_refused(&BASE.replace("[network]", "[network]\nudp = \"yes\""), "network.udp", &["invalid type"]);
    assert_refused(&BASE.replace("user = \"root\"", "user = \"root\"\ncolour = \"blue\""), "process.colour", &["unknown field"]);
    assert_refused(&BASE.replace("[8080]", "[8080, 70000]"), "network.tcp_bind[1]", &["70000"]);
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
