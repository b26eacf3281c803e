//! How a container process enters its cgroups (runtime/src/cgroups.rs, `Entry`): the init and
//! every exec'd process are born in the container's cgroup2 directory (clone3 with
//! CLONE_INTO_CGROUP) and move themselves into each v1 one before anything else they do. A
//! kernel or filter without clone3 falls back to the runtime writing the pid; a cgroup the
//! process cannot enter fails the create, naming the cgroup, and leaves nothing behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use integration::*;

const T: Duration = Duration::from_secs(60);

fn strace_available() -> bool {
    if Command::new("strace").arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success()) {
        return true;
    }
    panic!("strace is not installed: scripts/setup.sh installs it");
}

/// `strace -f [ARGS] runtime --root R CMD...` with the test's residue tracking; the trace
/// goes to `log`.
fn traced_to(ctx: &Ctx, log: &Path, strace_args: &[String], rt_args: &[&str], what: &str) -> Output {
    let mut c = Command::new("strace");
    // Detached from each container process at its execve: a traced `run -d` returns while
    // its container goes on running untraced.
    c.args(["-f", "--detach-on=execve", "-qq", "-o"]).arg(log).args(strace_args);
    c.arg(runtime_bin()).arg("--root").arg(&ctx.root).args(rt_args).stdin(Stdio::null());
    ctx.spawn(c, what).wait(T)
}

fn traced(ctx: &Ctx, strace_args: &[String], rt_args: &[&str], what: &str) -> Output {
    traced_to(ctx, Path::new("/dev/null"), strace_args, rt_args, what)
}

/// (controllers, path) of each line of a /proc/PID/cgroup.
fn cgroup_lines(s: &str) -> Vec<(String, String)> {
    s.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let (_, ctl, path) = (it.next()?, it.next()?, it.next()?);
            Some((ctl.to_string(), path.to_string()))
        })
        .collect()
}

/// Asserts that `pid` is in container `id`'s cgroup in every hierarchy the host has.
#[track_caller]
fn assert_in_container_cgroups(ctx: &Ctx, id: &str, pid: i32, what: &str) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let want = ctx.cgroup_path(id);
    let lines = cgroup_lines(&s);
    assert!(lines.len() >= 2, "{what}: /proc/{pid}/cgroup lists {} hierarchies:\n{s}", lines.len());
    for (ctl, path) in &lines {
        // A v1 hierarchy with no controller named is not mounted on this host (net_prio and
        // the like live co-mounted): every listed hierarchy must hold the container.
        assert_eq!(path, &want, "{what}: in hierarchy {ctl:?} the process is at {path}, not the container's {want}:\n{s}");
    }
    let unified = lines.iter().any(|(ctl, _)| ctl.is_empty());
    assert!(unified || !Path::new("/sys/fs/cgroup/unified/cgroup.procs").exists(), "{what}: no cgroup2 line:\n{s}");
}

/// A running container whose init sleeps, started by a traced `run -d`; returns its id, its
/// init's pid and the trace.
fn sleeping(ctx: &Ctx, b: &mut Bundle, strace_args: &[String]) -> (String, i32, String) {
    b.probe(&["sleep", "30"]);
    let id = ctx.next_id();
    ctx.write_config(b, &id);
    ctx.track(&id);
    let bundle = b.dir.to_str().unwrap().to_string();
    let log = ctx.dir("traces").join(format!("{id}.run"));
    traced_to(ctx, &log, strace_args, &["run", "-d", "--bundle", &bundle, &id], "traced run -d").expect_ok("run -d");
    let pid = ctx.state(&id)["pid"].as_i64().unwrap() as i32;
    ctx.track_pid(pid);
    (id, pid, std::fs::read_to_string(&log).unwrap())
}

#[test]
fn init_and_exec_are_in_every_cgroup_of_the_container_with_and_without_clone3() {
    strace_available();
    let ctx = Ctx::new("cg_entry");
    let trace = |extra: &[&str]| -> Vec<String> { ["-e", "trace=clone3,clone"].iter().chain(extra).map(|s| s.to_string()).collect() };
    let born = trace(&[]);
    let no_clone3 = trace(&["-e", "inject=clone3:error=ENOSYS"]);
    for (label, args) in [("clone3", &born), ("no clone3 (fallback)", &no_clone3)] {
        let mut b = ctx.bundle(&format!("b{}", label.len()));
        let (id, pid, log) = sleeping(&ctx, &mut b, args);
        // Which path ran: born into the cgroup2 directory, or the fallback after the refusal.
        if Path::new("/sys/fs/cgroup/unified/cgroup.procs").exists() {
            let into = log.lines().any(|l| l.contains("clone3(") && l.contains("CLONE_INTO_CGROUP"));
            assert!(into, "{label}: no clone3 with CLONE_INTO_CGROUP in the trace:\n{log}");
            let refused = log.lines().any(|l| l.contains("clone3(") && l.contains("(INJECTED)"));
            assert_eq!(refused, args == &no_clone3, "{label}: clone3 refused?\n{log}");
        }
        assert_in_container_cgroups(&ctx, &id, pid, &format!("{label}: the init"));
        // The exec'd process sees itself from inside the container's cgroup namespace, whose
        // root is the init's cgroup: "/" in every hierarchy means it is there too (left in
        // the runtime's cgroup it would see a path above "/").
        let o = traced(&ctx, args, &["exec", &id, "/bin/sh", "-c", "cat /proc/self/cgroup"], "traced exec");
        let seen = o.expect_ok("exec cat /proc/self/cgroup").out().to_string();
        let lines = cgroup_lines(&seen);
        assert!(lines.len() >= 2, "{label}: exec saw {seen}");
        for (ctl, path) in &lines {
            assert_eq!(path, "/", "{label}: the exec'd process is outside the container's cgroup in {ctl:?}:\n{seen}");
        }
        // The host's side of the same: the init is listed in the container's pids cgroup.
        let procs = std::fs::read_to_string(ctx.cgroup_dir("pids", &id).join("cgroup.procs")).unwrap();
        assert!(procs.lines().any(|l| l.trim() == pid.to_string()), "{label}: the init is not in the pids cgroup: {procs}");
        ctx.delete(&id, true).expect_ok("delete --force");
        ctx.assert_no_residue_for(&id, label);
    }
}

#[test]
fn a_v1_cgroup_the_init_cannot_enter_fails_the_create_naming_it_and_leaves_nothing() {
    strace_available();
    let ctx = Ctx::new("cg_entry_fail");
    let mut b = ctx.bundle("b");
    b.probe(&["exit", "0"]);
    let bundle = b.dir.to_str().unwrap().to_string();

    // Positive control: the same bundle, traced the same way without the injection, runs.
    let id = ctx.next_id();
    ctx.write_config(&b, &id);
    ctx.track(&id);
    let tasks: PathBuf = ctx.cgroup_dir("pids", &id).join("tasks");
    let watch = vec!["-P".to_string(), tasks.display().to_string(), "-e".to_string(), "trace=write".to_string()];
    traced(&ctx, &watch, &["run", "--bundle", &bundle, &id], "traced run (control)").expect_ok("run without injection");
    ctx.assert_no_residue("after the control run");

    // The init's own write of "0" into the pids hierarchy's tasks file is refused.
    let id = ctx.next_id();
    ctx.write_config(&b, &id);
    ctx.track(&id);
    let tasks: PathBuf = ctx.cgroup_dir("pids", &id).join("tasks");
    let inject = vec![
        "-P".to_string(),
        tasks.display().to_string(),
        "-e".to_string(),
        "trace=write".to_string(),
        "-e".to_string(),
        "inject=write:error=EACCES".to_string(),
    ];
    let o = traced(&ctx, &inject, &["run", "--bundle", &bundle, &id], "traced run (refused tasks)");
    let err = o.expect_error("an init that cannot enter its pids cgroup");
    assert!(err.contains("config.json"), "the error names the config: {err}");
    assert!(err.contains(&ctx.cgroup_dir("pids", &id).display().to_string()), "the error names the cgroup: {err}");
    assert!(err.contains("EACCES") || err.contains("ermission denied"), "the error gives the cause: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one error line: {err}");
    ctx.assert_no_residue("after the refused create");
}
