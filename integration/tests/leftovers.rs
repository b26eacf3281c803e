//! The red-team leftovers of the 2026-11-28 round: an unreadable uid_map, a rootless cpuset
//! limit without the cpuset controller, extended attributes through tmpcopyup, a damaged
//! state file under the cgroup claim index.

use integration::*;
use std::fs;
use std::process::{Command, Stdio};

fn tool_available(test: &str, tool: &str) -> bool {
    if Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok() {
        return true;
    }
    assert!(std::env::var_os("OCIRT_REQUIRE_ALL").is_none(), "{test}: OCIRT_REQUIRE_ALL is set but {tool} is not installed");
    eprintln!("{test}: skipped: {tool} not installed");
    false
}

/// The runtime's stderr without strace's own notes.
fn runtime_lines(e: &str) -> Vec<&str> {
    e.lines().filter(|l| !l.starts_with("strace: ")).collect()
}

// ---- /proc/self/uid_map unreadable ---------------------------------------------------------

/// `runtime --root R ARGS` under strace; with `fail`, the syscall (`fail.1`) on the path
/// `fail.0` (and on nothing else: `-P` filters on the path) fails with EACCES.
fn traced(ctx: &Ctx, fail: Option<(&str, &str)>, args: &[&str]) -> Output {
    let mut c = Command::new("strace");
    c.args(["-f", "-qq", "-o", "/dev/null"]);
    if let Some((path, call)) = fail {
        c.args(["-P", path, "-e", &format!("inject={call}:error=EACCES")]);
    }
    c.arg(runtime_bin()).arg("--root").arg(&ctx.root).args(args).stdin(Stdio::null());
    ctx.spawn(c, &format!("strace (failing {fail:?}) runtime {}", args.join(" "))).wait(CMD_TIMEOUT)
}

const UID_MAP: Option<(&str, &str)> = Some(("/proc/self/uid_map", "openat"));

#[test]
fn an_unreadable_uid_map_fails_closed_with_one_error_naming_it() {
    if !tool_available("an_unreadable_uid_map_fails_closed_with_one_error_naming_it", "strace") {
        return;
    }
    let ctx = Ctx::new("uidmap_eacces");
    let mut b = ctx.bundle("b");
    b.args(&["true"]);
    // Positive control: the same commands, traced, without the injection.
    let id = ctx.next_id();
    ctx.write_config(&b, &id);
    ctx.track(&id);
    traced(&ctx, None, &["run", "--bundle", b.dir.to_str().unwrap(), &id]).expect_ok("traced run without injection");
    traced(&ctx, None, &["list", "-q"]).expect_ok("traced list without injection");
    ctx.assert_no_residue_for(&id, "the control run");
    // Every command that needs the answer: run (state root check, cgroup plan), list (state
    // root check), and spec --rootless auto (which asks whether this runtime is rootless).
    let id = ctx.next_id();
    ctx.write_config(&b, &id);
    ctx.track(&id);
    let cases: [(&str, Vec<&str>); 3] = [
        ("run", vec!["run", "--bundle", b.dir.to_str().unwrap(), &id]),
        ("list", vec!["list", "-q"]),
        ("spec --rootless auto", vec!["--rootless", "auto", "spec", "--bundle", ctx.base.to_str().unwrap()]),
    ];
    for (what, args) in cases {
        let o = traced(&ctx, UID_MAP, &args);
        let e = &o.stderr;
        assert!(!o.ok(), "{what} with /proc/self/uid_map unreadable succeeded: {o:?}");
        let lines = runtime_lines(e);
        assert_eq!(lines.len(), 1, "{what}: one error line expected: {e}");
        assert!(lines[0].contains("/proc/self/uid_map: Permission denied") && lines[0].contains("user namespace"), "{what}: {e}");
    }
    assert!(!ctx.base.join("config.json").exists(), "spec wrote a config on a guess");
    ctx.assert_no_residue_for(&id, "the refused run");
    // Control for spec: without injection it writes the (rootful) template.
    traced(&ctx, None, &["--rootless", "auto", "spec", "--bundle", ctx.base.to_str().unwrap()]).expect_ok("spec --rootless auto");
    assert!(ctx.base.join("config.json").is_file());
}

/// Siblings: the runtime's own cgroup (below which a relative cgroupsPath goes) and the
/// init's host pid (the hooks' state) were "/" and 0 when /proc could not be read.
#[test]
fn unreadable_proc_self_cgroup_and_proc_self_fail_closed() {
    if !tool_available("unreadable_proc_self_cgroup_and_proc_self_fail_closed", "strace") {
        return;
    }
    let ctx = Ctx::new("procself_eacces");
    let mut b = ctx.bundle("b");
    b.args(&["true"]);
    let cases = [
        // A relative cgroupsPath: its place comes from /proc/self/cgroup.
        (("/proc/self/cgroup", "openat"), Some(format!("{}/rel", ctx.cg_prefix.trim_start_matches('/'))), "/proc/self/cgroup: Permission denied"),
        // The init reads its host pid from /proc/self (the host's /proc, before pivot_root).
        (("/proc/self", "readlink,readlinkat"), None, "read this process's host pid from /proc/self: Permission denied"),
    ];
    for (fail, cgroups_path, want) in cases {
        let run = |fail: Option<(&str, &str)>| {
            let id = ctx.next_id();
            // write_config sets <prefix>/<id>; a relative path replaces it.
            ctx.write_config(&b, &id);
            if let Some(p) = &cgroups_path {
                let cfg = b.dir.join("config.json");
                let mut v: Value = serde_json::from_str(&fs::read_to_string(&cfg).unwrap()).unwrap();
                v["linux"]["cgroupsPath"] = json!(format!("{p}/{id}"));
                fs::write(&cfg, v.to_string()).unwrap();
            }
            ctx.track(&id);
            (traced(&ctx, fail, &["run", "--bundle", b.dir.to_str().unwrap(), &id]), id)
        };
        // Positive control: the same run, traced, without the failure.
        let (o, id) = run(None);
        o.expect_ok(&format!("control for {fail:?}"));
        ctx.assert_no_residue_for(&id, "the control run");
        let (o, id) = run(Some(fail));
        assert!(!o.ok(), "{fail:?} failing: the run succeeded: {o:?}");
        let lines = runtime_lines(&o.stderr);
        assert!(lines.len() == 1 && lines[0].contains(want), "{fail:?}: one error line with {want:?} expected: {o:?}");
        let del = ctx.rt(&["delete", "--force", &id]);
        assert!(del.ok() || del.stderr.contains("does not exist"), "{fail:?}: delete: {del:?}");
        ctx.assert_no_residue_for(&id, &format!("{fail:?}"));
    }
}
