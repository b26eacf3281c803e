//! Fault injection: `runtime run` under strace, with one syscall failing (EIO) or the caller
//! being SIGKILLed at the Nth call of that syscall, across every syscall family the start
//! path makes, in the runtime and in the container's init alike (`strace -f`).
//!
//! For every trial the outcome must be one of
//! - the container ran anyway (the call was one whose failure is tolerated), exit 0;
//! - one clear error: exit 1, no panic, a non-empty message;
//! - the process was killed (SIGKILL trials): exit 137;
//!
//! and afterwards `delete --force` (which must succeed or say the container does not exist)
//! leaves nothing: no state entry, nothing else in the state root (the parents' registry),
//! no cgroup and no cgroup parent the runtime made, no mount, no live process of that
//! container. The calls that make and remove owned things (mkdir, rmdir, unlink) are each
//! tried at every call, the others at the first, middle and last.
//!
//! The positive control: the same bundle runs to exit 0 under strace without injection, and
//! every syscall listed here really is made by a plain run (so a trial cannot pass because
//! its injection never fired).

use integration::*;
use std::collections::HashMap;
use std::fs;
use std::process::Command;
use std::time::Duration;

/// The syscall families of the start path (runtime and init), from `strace -f -c` of a run.
const SYSCALLS: &[&str] = &[
    "openat2",
    "openat",
    "close",
    "fcntl",
    "statx",
    "fstatfs",
    "newfstatat",
    "read",
    "write",
    "mkdir",
    "mkdirat",
    "readlink",
    "mount",
    "mknodat",
    "move_mount",
    "open_tree",
    "fchownat",
    "fchmodat",
    "mount_setattr",
    "symlinkat",
    "rename",
    "prlimit64",
    "capset",
    "capget",
    "sendmsg",
    "recvmsg",
    "chdir",
    "fchdir",
    "clone",
    "clone3",
    "pivot_root",
    "umount2",
    "sethostname",
    "socketpair",
    "fsopen",
    "fsmount",
    "fsconfig",
    "setgroups",
    "close_range",
    "setresuid",
    "setresgid",
    "flock",
    "unshare",
    "keyctl",
    "prctl",
    "getdents64",
    "execve",
    "seccomp",
    "landlock_create_ruleset",
    "landlock_add_rule",
    "landlock_restrict_self",
    "unlink",
    "unlinkat",
    "rmdir",
    "kill",
    "wait4",
];

fn strace_available() -> bool {
    Command::new("strace").arg("-V").output().map(|o| o.status.success()).unwrap_or(false)
}

/// A small hardened-ish bundle: seccomp off (strace's injection does the failing), Landlock
/// on (so its syscalls are on the path), the harness's cgroup prefix.
fn bundle(ctx: &Ctx) -> Bundle {
    let mut b = ctx.bundle("faults");
    b.args(&["/bin/true"]);
    b.set("process.noNewPrivileges", json!(true));
    b.set("annotations", json!({ "org.ocirt.landlock.fs.exec": "[\"/\"]", "org.ocirt.landlock.fs.write": "[\"/tmp\"]" }));
    b
}

/// `strace -f [inject] runtime --root R run --bundle B ID`.
fn traced_run(ctx: &Ctx, b: &Bundle, id: &str, strace_args: &[String]) -> Output {
    ctx.write_config(b, id);
    ctx.track(id);
    let mut c = Command::new("strace");
    c.args(["-f", "-qq", "-o", "/dev/null"]).args(strace_args);
    c.arg(runtime_bin()).arg("--root").arg(&ctx.root);
    c.args(["run", "--bundle"]).arg(&b.dir).arg(id).stdin(std::process::Stdio::null());
    ctx.spawn(c, &format!("strace {} runtime run {id}", strace_args.join(" "))).wait(Duration::from_secs(60))
}

/// Live processes whose command line names this test's state root and `id` (the runtime and
/// its forked init keep the command line they were started with).
fn live_processes_of(ctx: &Ctx, id: &str) -> Vec<i32> {
    let root = ctx.root.to_string_lossy().into_owned();
    let mut found = vec![];
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(cmd) = fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let args: Vec<String> = cmd.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if args.contains(&root) && args.iter().any(|a| a == id) && proc_start(pid).is_some_and(|(_, zombie)| !zombie) {
            found.push(pid);
        }
    }
    found
}

/// How often each syscall is made by one plain run, from strace -c.
fn call_counts(ctx: &Ctx, b: &Bundle) -> HashMap<String, u64> {
    let id = ctx.next_id();
    let summary = ctx.base.join("strace-c.txt");
    ctx.write_config(b, &id);
    ctx.track(&id);
    let mut c = Command::new("strace");
    c.args(["-f", "-c", "-o"]).arg(&summary).arg(runtime_bin()).arg("--root").arg(&ctx.root);
    c.args(["run", "--bundle"]).arg(&b.dir).arg(&id).stdin(std::process::Stdio::null());
    let o = ctx.spawn(c, "strace -c runtime run").wait(Duration::from_secs(60));
    o.expect_ok("positive control: the bundle runs under strace without injection");
    let text = fs::read_to_string(&summary).unwrap();
    let mut counts = HashMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        // "% time  seconds  usecs/call  calls  [errors]  syscall"
        if f.len() >= 5 && f[0].parse::<f64>().is_ok() {
            if let (Ok(calls), Some(name)) = (f[3].parse::<u64>(), f.last()) {
                counts.insert(name.to_string(), calls);
            }
        }
    }
    counts
}

/// The calls that make and remove what a container owns (cgroup directories, parents and
/// their registry, state files): a fault at any one of them must leave a state that the
/// cleanup still understands, so each of their calls is a trial point.
const EVERY_CALL: &[&str] = &["mkdir", "rmdir", "unlink"];

/// Trial points for `sc` made `n` times: every call for [`EVERY_CALL`], else the first,
/// the middle and the last call.
fn points(sc: &str, n: u64) -> Vec<u64> {
    if EVERY_CALL.contains(&sc) {
        return (1..=n).collect();
    }
    let mut p = vec![1, n.div_ceil(2), n];
    p.dedup();
    p
}

/// Checks one trial; returns what went wrong (empty: nothing). Residue is cleaned up either
/// way so that one failure does not spill into the next trial.
fn check_trial(ctx: &Ctx, id: &str, what: &str, o: &Output, killed_ok: bool) -> Vec<String> {
    let mut bad = vec![];
    let first_line = |s: &str| s.lines().find(|l| !l.trim().is_empty()).unwrap_or("").to_string();
    if o.stderr.contains("panicked") {
        bad.push(format!("{what}: the runtime panicked: {}", o.stderr.lines().find(|l| l.contains("panicked") || l.contains("should")).unwrap_or("")));
    }
    match o.code {
        0 => {}
        1 if !o.stderr.trim().is_empty() => {}
        // The container's own program could not be exec'd: run exits as a shell would.
        126 | 127 if o.stderr.contains("exec") => {}
        137 if killed_ok => {}
        other => bad.push(format!("{what}: exit {other}: {}", first_line(&o.stderr))),
    }
    let d = ctx.rt(&["delete", "--force", id]);
    if !(d.ok() || d.stderr.contains("does not exist")) {
        bad.push(format!("{what}: delete --force failed: {}", first_line(&d.stderr)));
    }
    let alive = wait_until_gone(ctx, id);
    if !alive.is_empty() {
        bad.push(format!("{what}: processes of {id} still alive after delete --force: {alive:?}"));
        for p in alive {
            // SAFETY: plain kill of a process this test's runtime started for this container.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
    }
    if ctx.root.join(id).exists() {
        bad.push(format!("{what}: state entry of {id} left"));
        let _ = fs::remove_dir_all(ctx.root.join(id));
    }
    // Trials run one at a time and each is deleted: nothing else of the state root (a
    // hidden claim, the shared parents' registry) may outlive it.
    for e in ctx.state_residue() {
        bad.push(format!("{what}: state root entry left: {e}"));
        let _ = fs::remove_dir_all(ctx.root.join(&e));
    }
    for h in cgroup_hierarchies() {
        let p = h.join(ctx.cgroup_path(id).trim_start_matches('/'));
        if p.exists() {
            bad.push(format!("{what}: cgroup left: {}", p.display()));
            let _ = fs::remove_dir(&p);
        }
        // The shared parent (the harness's prefix) was made by the runtime for this
        // container alone: the last one out removes it.
        let parent = h.join(ctx.cg_prefix.trim_start_matches('/'));
        if parent.exists() {
            bad.push(format!("{what}: cgroup parent left: {}", parent.display()));
            let _ = fs::remove_dir(&parent);
        }
    }
    bad
}

/// An init whose runtime was killed notices the closed sync socket and exits: give it a
/// moment, then report what is still alive.
fn wait_until_gone(ctx: &Ctx, id: &str) -> Vec<i32> {
    for _ in 0..100 {
        let alive = live_processes_of(ctx, id);
        if alive.is_empty() {
            return alive;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    live_processes_of(ctx, id)
}

fn trials(mode: &str) {
    if !strace_available() {
        panic!("strace is not installed: scripts/setup.sh installs it");
    }
    let ctx = Ctx::new(&format!("faults-{mode}"));
    let b = bundle(&ctx);
    let counts = call_counts(&ctx, &b);
    let mut ran = 0;
    let mut failures = vec![];
    for sc in SYSCALLS {
        // A failing close(2) cannot be acted on, and std asserts that closedir succeeds;
        // killing the caller at a close is still tried.
        if mode == "eio" && *sc == "close" {
            continue;
        }
        let Some(&n) = counts.get(*sc) else { continue };
        for k in points(sc, n) {
            let id = ctx.next_id();
            let inject = match mode {
                "eio" => format!("inject={sc}:error=EIO:when={k}"),
                _ => format!("inject={sc}:signal=SIGKILL:when={k}"),
            };
            let args = vec![format!("-e"), format!("trace={sc}"), "-e".into(), inject.clone()];
            let o = traced_run(&ctx, &b, &id, &args);
            // The dynamic loader reading the runtime's own libraries: not the runtime's code
            // (the deployed binary is static, docs/operations.md).
            if o.stderr.contains("error while loading shared libraries") {
                let _ = ctx.rt(&["delete", "--force", &id]);
                continue;
            }
            failures.extend(check_trial(&ctx, &id, &format!("{inject} ({sc} made {n} times)"), &o, mode == "kill"));
            ran += 1;
        }
    }
    // The injections must have covered the start path, not a handful of calls.
    let covered = SYSCALLS.iter().filter(|s| counts.contains_key(**s)).count();
    assert!(covered >= 30, "only {covered} of the listed syscalls were made by a plain run: {counts:?}");
    assert!(failures.is_empty(), "{} of {ran} trials failed:\n{}", failures.len(), failures.join("\n"));
    eprintln!("faults/{mode}: {ran} trials over {covered} syscalls, no residue");
}

#[test]
fn injected_eio_at_every_syscall_family_leaves_nothing() {
    trials("eio");
}

#[test]
fn sigkill_at_every_syscall_family_leaves_nothing() {
    trials("kill");
}
