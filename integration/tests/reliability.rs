//! Reliability: a signal at any instant of a foreground `run` (systemd stopping a unit that
//! is still starting, a Ctrl-C) ends it with 128+N or the container's own status, and never
//! leaves a state directory, a cgroup, a mount or a live init behind. Output errors
//! (a full disk, a closed pipe) are reported, not panics.

use std::fs;
use std::os::fd::FromRawFd;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use integration::*;

/// A small deterministic generator (no rand crate in the workspace): delays differ between
/// trials and runs, and a failing seed is printed so it can be replayed.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Processes whose command line or environment mentions `marker`: a container init before
/// its exec still has the runtime's command line (which names our state dir); after it, its
/// environment holds the marker we put in `process.env`.
fn live_processes_marked(marker: &str) -> Vec<i32> {
    let mut found = vec![];
    for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        if pid == std::process::id() as i32 {
            continue;
        }
        let mentions = |f: &str| fs::read(e.path().join(f)).is_ok_and(|b| b.windows(marker.len()).any(|w| w == marker.as_bytes()));
        if mentions("cmdline") || mentions("environ") {
            // A zombie is not a live init (its parent reaps it in a moment).
            if proc_start(pid).is_some_and(|(_, zombie)| !zombie) {
                found.push(pid);
            }
        }
    }
    found
}

/// Waits until `pid` has run its first instruction, seen as a non-empty blocked-signal mask.
/// Before that, during the exec and the dynamic loader, no program can handle a signal; a
/// signal there ends the runtime before it has made anything (bench/signal-soak.sh counts
/// that window too).
fn wait_until_blocking(pid: i32) {
    // Polled without a pause: a create takes a few milliseconds, less than wait_until's
    // 10 ms step, and the delays below count from this moment.
    let start = Instant::now();
    loop {
        let blocking = fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| status.lines().find_map(|l| l.strip_prefix("SigBlk:")).map(|b| !b.trim().trim_start_matches('0').is_empty()));
        if blocking == Some(true) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "timed out waiting for the runtime to block signals");
        std::thread::yield_now();
    }
}

/// Runs `trials` foreground runs, each signalled after a random 0..max_delay_ms.
fn signal_soak(name: &str, trials: u32, max_delay_ms: u64) {
    let ctx = Ctx::new(name);
    let marker = format!("OCIRT_SOAK={}", ctx.base.display());
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "0.03"]);
    b.push("process/env", json!(marker));
    // Control: undisturbed, the container's own status comes back and nothing is left.
    ctx.run(&b, "control", &[]).expect_ok("control run");
    ctx.assert_no_residue("control run");

    let seed = std::env::var("SOAK_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        Instant::now().elapsed().as_nanos() as u64 ^ std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    let mut rng = Lcg(seed);
    // SOAK_FROM_SPAWN=1 (bench/signal-soak.sh): delays count from the spawn, so the exec
    // window, which no program can guard, is measured too.
    let from_spawn = std::env::var_os("SOAK_FROM_SPAWN").is_some();
    let mut by_outcome = std::collections::BTreeMap::<String, u32>::new();
    for t in 0..trials {
        let id = format!("t{t}");
        let sig = if rng.next() % 2 == 0 { libc::SIGTERM } else { libc::SIGINT };
        let delay = Duration::from_micros(rng.next() % (max_delay_ms * 1000 + 1));
        let mut r = ctx.spawn_run(&b, &id, &[]);
        if !from_spawn {
            wait_until_blocking(r.pid());
        }
        std::thread::sleep(delay);
        // SAFETY: kill(2) on our own child, which we have not reaped yet.
        unsafe { libc::kill(r.pid(), sig) };
        let deadline = Instant::now() + CMD_TIMEOUT;
        let st = loop {
            if let Some(st) = r.child.try_wait().expect("try_wait") {
                break st;
            }
            assert!(Instant::now() < deadline, "trial {t} (seed {seed}): run did not end");
            std::thread::sleep(Duration::from_millis(2));
        };
        let what = format!("trial {t} (seed {seed}, signal {sig} after {delay:?})");
        let stderr = r.stderr_now();
        if from_spawn && st.signal() == Some(sig) {
            // Killed during the exec, before its first instruction: it must have made nothing.
            ctx.assert_no_residue_for(&id, &what);
            assert!(live_processes_marked(&ctx.base.display().to_string()).is_empty(), "{what}: processes left alive");
            *by_outcome.entry("killed before main".into()).or_default() += 1;
            continue;
        }
        assert!(st.signal().is_none(), "{what}: the runtime died of signal {:?} itself\nstderr: {stderr}", st.signal());
        let code = st.code().unwrap();
        assert!(code == 0 || code == 128 + sig, "{what}: exit {code}, expected 0 (the container's own status) or {}\nstderr: {stderr}", 128 + sig);
        ctx.assert_no_residue_for(&id, &what);
        // The cgroup is gone, so no init lives in it; this also catches one that was cloned
        // but not yet placed in its cgroup.
        let live = live_processes_marked(&ctx.base.display().to_string());
        assert!(live.is_empty(), "{what}: processes left alive: {live:?}");
        *by_outcome.entry(if code == 0 { "container finished".into() } else { format!("stopped, exit {code}") }).or_default() += 1;
    }
    eprintln!("{name}: {trials} trials, seed {seed}: {by_outcome:?}");
    // The delays must really cover the start: some trials stopped during setup.
    assert!(by_outcome.keys().any(|k| k.starts_with("stopped")), "no trial was stopped: the signal never came during setup ({by_outcome:?})");
}

#[test]
fn signal_during_run_leaves_nothing() {
    let trials = std::env::var("SOAK_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    signal_soak("sigsoak", trials, 40);
}

#[test]
fn signal_during_create_leaves_nothing() {
    let ctx = Ctx::new("sigcreate");
    let mut b = ctx.bundle("b");
    b.probe(&["exit", "0"]);
    ctx.create(&b, "control", &[]).expect_ok("control create");
    ctx.delete("control", true).expect_ok("delete control");
    let mut stopped = 0;
    // Delays of 0 to 9.5 ms in 0.5 ms steps: a create of the debug build takes about 8.
    for t in 0..20u64 {
        let id = format!("c{t}");
        ctx.write_config(&b, &id);
        ctx.track(&id);
        let bundle = b.dir.to_string_lossy().into_owned();
        let mut r = ctx.spawn(ctx.cmd(&["create", "--bundle", &bundle, &id]), "create");
        wait_until_blocking(r.pid());
        std::thread::sleep(Duration::from_micros(t * 500));
        // SAFETY: kill(2) on our own unreaped child.
        unsafe { libc::kill(r.pid(), libc::SIGTERM) };
        let st = r.child.wait().expect("wait");
        assert!(st.signal().is_none(), "create {t}: died of the signal itself: {}", r.stderr_now());
        match st.code() {
            Some(143) => {
                stopped += 1;
                ctx.assert_no_residue_for(&id, &format!("create {t} stopped"));
                assert!(r.stderr_now().contains("SIGTERM"), "create {t}: the error does not say why: {}", r.stderr_now());
            }
            Some(0) => {
                ctx.delete(&id, true).expect_ok("delete");
            }
            other => panic!("create {t}: exit {other:?}: {}", r.stderr_now()),
        }
    }
    assert!(stopped > 0, "no create was stopped by its signal");
}

/// `state` into a full device: one error line and exit 1, no panic. Into a closed pipe:
/// silent death by SIGPIPE, as runc and coreutils end (the reader chose to stop).
#[test]
fn output_errors_are_reported_not_panics() {
    let ctx = Ctx::new("outerr");
    let mut b = ctx.bundle("b");
    b.probe(&["sigwait"]);
    ctx.run_detached(&b, "c");
    // Control: to a normal file it works.
    let o = ctx.rt(&["state", "c"]);
    o.expect_ok("state to a file");
    assert!(o.stdout.contains("\"id\""), "{}", o.stdout);

    for verb in [&["state", "c"][..], &["list"], &["list", "--format", "json"], &["ps", "c"], &["features"]] {
        let full = fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
        let o = ctx.cmd(verb).stdout(full).stderr(Stdio::piped()).output().expect("run");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{verb:?} > /dev/full: {:?}: {err}", o.status);
        let lines: Vec<_> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{verb:?} > /dev/full: {err}");
        assert!(lines[0].contains("stdout") && lines[0].contains("No space left"), "{verb:?}: {err}");
        assert!(!err.contains("panicked"), "{verb:?}: {err}");

        // A pipe whose reader is gone before the command starts, so every write meets EPIPE.
        let mut fds = [0; 2];
        // SAFETY: pipe(2) into a two-int array; both ends become ours.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: the fds were just made and are owned by nothing else.
        let (rd, wr) = unsafe { (std::os::fd::OwnedFd::from_raw_fd(fds[0]), std::os::fd::OwnedFd::from_raw_fd(fds[1])) };
        drop(rd);
        let o = ctx.cmd(verb).stdout(wr).stderr(Stdio::piped()).output().expect("run");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.signal(), Some(libc::SIGPIPE), "{verb:?} | (closed): {:?}: {err}", o.status);
        assert!(err.trim().is_empty(), "{verb:?} | (closed): said something: {err}");
    }
    ctx.kill("c", "KILL").expect_ok("kill");
    ctx.delete("c", true).expect_ok("delete");
}

/// An init that the OOM killer ends during setup: the error says so and names the limit
/// (it said "the container's init exited before it was ready").
#[test]
fn oom_during_setup_is_named() {
    let ctx = Ctx::new("oomsetup");
    let mut b = ctx.bundle("b");
    b.probe(&["exit", "0"]);
    // Control: a workable limit runs.
    b.set("linux/resources/memory", json!({"limit": 64 << 20}));
    ctx.run(&b, "control", &[]).expect_ok("control with 64 MiB");
    b.set("linux/resources/memory", json!({"limit": 16384}));
    let o = ctx.run(&b, "small", &[]);
    let line = o.expect_error("run with a 16 KiB memory limit");
    assert!(line.contains("OOM killer") && line.contains("linux.resources.memory.limit") && line.contains("16384"), "{line}");
    ctx.assert_no_residue_for("small", "OOM during setup");
}

/// An init killed by a signal during setup: the error names the signal (it said "sync
/// socket send: EPIPE"). A createRuntime hook, which runs while the init waits, kills it.
#[test]
fn init_killed_during_setup_names_the_signal() {
    let ctx = Ctx::new("killsetup");
    let mut b = ctx.bundle("b");
    b.probe(&["exit", "0"]);
    let hook = ctx.base.join("hook.sh");
    let hook_body = |sig: &str| format!("pid=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p'); [ -n \"$pid\" ] && kill -{sig} \"$pid\"; exit 0");
    // Control: the same hook with signal 0 (only a liveness check) lets the run finish.
    write_script(&hook, &hook_body("0"));
    b.set("hooks", json!({"createRuntime": [{"path": hook.to_str().unwrap()}]}));
    ctx.run(&b, "control", &[]).expect_ok("control: hook sends signal 0");
    write_script(&hook, &hook_body("KILL"));
    let o = ctx.run(&b, "killed", &[]);
    let line = o.expect_error("init killed by the hook");
    assert!(line.contains("killed by SIGKILL before it was ready"), "{line}");
    ctx.assert_no_residue_for("killed", "init killed during setup");
}
