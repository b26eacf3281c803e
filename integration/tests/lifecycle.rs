//! Lifecycle and state transitions, `run`, signals, unknown ids, list, concurrency.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use integration::*;

const T: Duration = Duration::from_secs(10);

/// A bundle whose process waits for a signal; `shared` is a host dir bound rw at /shared.
fn waiting_bundle(ctx: &Ctx, name: &str) -> (Bundle, std::path::PathBuf) {
    let mut b = ctx.bundle(name);
    let shared = ctx.dir(&format!("{name}-shared"));
    b.mount("/shared", "bind", shared.to_str().unwrap(), &["rbind", "rw"]);
    (b, shared)
}

#[test]
fn create_start_kill_delete() {
    let ctx = Ctx::new("lifecycle");
    let (mut b, shared) = waiting_bundle(&ctx, "b");
    b.sh("echo started > /shared/marker; exec /probe sigwait");
    let id = "c1";
    let pidfile = ctx.base.join("c1.pid");
    ctx.create(&b, id, &["--pid-file", pidfile.to_str().unwrap()]).expect_ok("create");

    // created: pid file written, pid alive, state says created, process has not run.
    let st = ctx.state(id);
    assert_eq!(st["status"], "created", "{st}");
    assert_eq!(st["id"], id);
    assert_eq!(st["ociVersion"].as_str().map(|s| s.starts_with("1.")), Some(true), "{st}");
    assert_eq!(Path::new(st["bundle"].as_str().unwrap()), fs::canonicalize(&b.dir).unwrap());
    assert!(st["created"].as_str().is_some_and(|s| !s.is_empty()), "{st}");
    let pid: i32 = fs::read_to_string(&pidfile).expect("pid file").trim().parse().expect("pid file holds a number");
    assert_eq!(st["pid"].as_i64(), Some(pid as i64), "pid file and state disagree");
    assert!(proc_start(pid).is_some_and(|(_, z)| !z), "init {pid} is not alive after create");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!shared.join("marker").exists(), "the process ran before start");
    assert!(ctx.root.join(id).is_dir(), "no state dir for a created container");
    assert!(ctx.cgroup_dir("pids", id).is_dir(), "no pids cgroup for a created container");

    // start: running, the process runs.
    ctx.start(id).expect_ok("start");
    wait_until(T, "marker written by the container", || shared.join("marker").exists().then_some(()));
    assert_eq!(ctx.status(id), "running");
    assert_eq!(ctx.state(id)["pid"].as_i64(), Some(pid as i64));

    // kill: stopped, pid reported as 0 (or gone).
    ctx.kill(id, "KILL").expect_ok("kill");
    ctx.wait_for_status(id, "stopped", T);

    // delete: state and cgroup gone.
    ctx.delete(id, false).expect_ok("delete stopped");
    assert!(!ctx.root.join(id).exists(), "state dir left after delete");
    assert!(!ctx.cgroup_dir("pids", id).exists(), "cgroup left after delete");
    let line = ctx.rt(&["state", id]).expect_error("state after delete");
    assert!(line.contains(id), "{line}");
}

#[test]
fn kill_default_signal_is_term_and_delete_after_exit() {
    let ctx = Ctx::new("killterm");
    let mut b = ctx.bundle("b");
    b.probe(&["sigwait", "TERM"]);
    ctx.create_ok(&b, "c");
    ctx.start("c").expect_ok("start");
    assert_eq!(ctx.status("c"), "running");
    ctx.kill("c", "TERM").expect_ok("kill TERM");
    ctx.wait_for_status("c", "stopped", T);
    assert_eq!(ctx.state("c")["pid"].as_i64().unwrap_or(0), 0, "a stopped container reports pid 0");
    // kill of a stopped container fails.
    ctx.kill("c", "KILL").expect_error("kill a stopped container");
    ctx.delete("c", false).expect_ok("delete");
}

#[test]
fn run_foreground_exit_codes() {
    let ctx = Ctx::new("runcodes");
    let mut b = ctx.bundle("b");
    let o = ctx.probe(&mut b, &["exit", "0"]);
    o.expect_ok("run exit 0");
    let o = ctx.probe(&mut b, &["exit", "3"]);
    o.expect_code(3, "run exit 3");
    // run deletes the container afterwards.
    assert!(ctx.state_residue().is_empty(), "run left state: {:?}", ctx.state_residue());
    // stdout of the container reaches run's stdout.
    let o = ctx.probe(&mut b, &["hostname"]);
    o.expect_ok("hostname");
    assert_eq!(o.out(), "container");
}

#[test]
fn run_foreground_killed_container_is_128_plus_signal() {
    let ctx = Ctx::new("runkilled");
    let mut b = ctx.bundle("b");
    b.probe(&["sigwait", "USR2"]);
    let r = ctx.spawn_run(&b, "k", &[]);
    wait_until(T, "probe waiting", || r.stdout_now().contains("waiting").then_some(()));
    // Other commands must work on a container that `run` keeps in the foreground.
    ctx.rt_within(&["kill", "k", "KILL"], Duration::from_secs(5)).expect_ok("kill during a foreground run");
    let o = r.wait(T);
    o.expect_code(128 + 9, "run of a SIGKILLed container");
    assert!(ctx.state_residue().is_empty(), "run left state: {:?}", ctx.state_residue());
}

#[test]
fn run_forwards_signals() {
    let ctx = Ctx::new("runsig");
    let mut b = ctx.bundle("b");
    b.probe(&["sigwait", "TERM", "USR1"]);
    let r = ctx.spawn_run(&b, "s", &[]);
    wait_until(T, "probe waiting", || r.stdout_now().contains("waiting").then_some(()));
    // SAFETY: kill(2) on the runtime process we spawned.
    assert_eq!(unsafe { libc::kill(r.pid(), libc::SIGUSR1) }, 0);
    let o = r.wait(T);
    o.expect_ok("run after forwarding USR1");
    assert!(o.stdout.contains("SIGUSR1"), "USR1 did not reach the container: {}", o.stdout);

    let r = ctx.spawn_run(&b, "s2", &[]);
    wait_until(T, "probe waiting", || r.stdout_now().contains("waiting").then_some(()));
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(r.pid(), libc::SIGTERM) }, 0);
    let o = r.wait(T);
    o.expect_ok("run after forwarding TERM");
    assert!(o.stdout.contains("SIGTERM"), "TERM did not reach the container: {}", o.stdout);
}

#[test]
fn run_detached() {
    let ctx = Ctx::new("rund");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    let pidfile = ctx.base.join("d.pid");
    let o = ctx.run(&b, "d", &["-d", "--pid-file", pidfile.to_str().unwrap()]);
    o.expect_ok("run -d");
    let st = ctx.state("d");
    assert_eq!(st["status"], "running", "{st}");
    let pid: i64 = fs::read_to_string(&pidfile).expect("pid file").trim().parse().unwrap();
    assert_eq!(st["pid"].as_i64(), Some(pid));
    ctx.track_pid(pid as i32);
    // delete of a running container needs --force.
    let line = ctx.delete("d", false).expect_error("delete running without --force");
    assert!(line.contains('d'), "{line}");
    assert_eq!(ctx.status("d"), "running", "a refused delete changed the container");
    ctx.delete("d", true).expect_ok("delete --force running");
    assert!(!pid_alive(pid as i32, proc_start(pid as i32).map(|s| s.0).unwrap_or(0)), "init survived delete --force");
    assert!(ctx.state_residue().is_empty());
}

#[test]
fn start_twice_fails() {
    let ctx = Ctx::new("start2");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    ctx.create_ok(&b, "c");
    ctx.start("c").expect_ok("first start");
    let line = ctx.start("c").expect_error("second start");
    assert!(line.contains('c'), "{line}");
    assert_eq!(ctx.status("c"), "running");
    // A container that exited cannot be started either.
    let mut b2 = ctx.bundle("b2");
    b2.probe(&["exit", "0"]);
    ctx.create_ok(&b2, "e");
    ctx.start("e").expect_ok("start e");
    ctx.wait_for_status("e", "stopped", T);
    ctx.start("e").expect_error("start of a stopped container");
}

#[test]
fn unknown_ids() {
    let ctx = Ctx::new("unknown");
    let id = "no-such-container-xyz";
    for args in [vec!["state", id], vec!["kill", id, "TERM"], vec!["delete", id], vec!["start", id], vec!["pause", id], vec!["ps", id]] {
        let line = ctx.rt(&args).expect_error(&args.join(" "));
        assert!(line.contains(id), "{}: error does not name the id: {line}", args.join(" "));
    }
    ctx.rt(&["delete", "--force", id]).expect_ok("delete --force of an unknown id");
    // Invalid ids are refused too, without touching anything outside --root.
    let line = ctx.rt(&["state", "../etc"]).expect_error("state ../etc");
    assert!(line.contains("../etc"), "{line}");
}

#[test]
fn list_shows_containers() {
    let ctx = Ctx::new("list");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    ctx.create_ok(&b, "aa");
    ctx.create_ok(&b, "bb");
    ctx.start("bb").expect_ok("start bb");
    let o = ctx.rt(&["list", "-q"]);
    o.expect_ok("list -q");
    let ids: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(ids, vec!["aa", "bb"]);
    let o = ctx.rt(&["list", "--format", "json"]);
    o.expect_ok("list json");
    let v: Value = serde_json::from_str(&o.stdout).expect("list json is JSON");
    let arr = v.as_array().expect("array");
    let status = |id: &str| arr.iter().find(|c| c["id"] == id).map(|c| c["status"].as_str().unwrap_or_default().to_string());
    assert_eq!(status("aa").as_deref(), Some("created"));
    assert_eq!(status("bb").as_deref(), Some("running"));
    let o = ctx.rt(&["list"]);
    o.expect_ok("list");
    assert!(o.stdout.lines().count() == 3 && o.stdout.contains("aa") && o.stdout.contains("running"), "{}", o.stdout);
    ctx.delete("aa", false).expect_ok("delete created container");
    let o = ctx.rt(&["list", "-q"]);
    assert_eq!(o.out(), "bb");
}

#[test]
fn state_and_list_during_foreground_run() {
    let ctx = Ctx::new("listfg");
    let mut b = ctx.bundle("b");
    b.probe(&["sigwait", "TERM"]);
    let r = ctx.spawn_run(&b, "fg", &[]);
    wait_until(T, "probe waiting", || r.stdout_now().contains("waiting").then_some(()));
    let quick = Duration::from_secs(5);
    let o = ctx.rt_within(&["state", "fg"], quick);
    o.expect_ok("state during a foreground run");
    assert!(o.stdout.contains("\"running\""), "{}", o.stdout);
    let o = ctx.rt_within(&["list", "-q"], quick);
    assert_eq!(o.out(), "fg");
    ctx.rt_within(&["kill", "fg", "TERM"], quick).expect_ok("kill TERM during a foreground run");
    let o = r.wait(T);
    o.expect_ok("run after TERM");
    assert!(o.stdout.contains("SIGTERM"), "{}", o.stdout);
}

#[test]
fn delete_created_container_never_runs_it() {
    let ctx = Ctx::new("delcreated");
    let (mut b, shared) = waiting_bundle(&ctx, "b");
    b.sh("echo ran > /shared/marker");
    let pid = ctx.create_ok(&b, "c");
    ctx.delete("c", false).expect_ok("delete created");
    std::thread::sleep(Duration::from_millis(100));
    assert!(!shared.join("marker").exists(), "deleting a created container ran its process");
    assert!(proc_start(pid).is_none_or(|(_, z)| z), "init {pid} survived delete");
}

#[test]
fn concurrent_create_of_one_id() {
    let ctx = Ctx::new("concreate");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    ctx.write_config(&b, "same");
    ctx.track("same");
    let bundle = b.dir.to_string_lossy().into_owned();
    let running: Vec<Running> = (0..4).map(|_| ctx.spawn(ctx.cmd(&["create", "--bundle", &bundle, "same"]), "concurrent create")).collect();
    let outs: Vec<Output> = running.into_iter().map(|r| r.wait(CMD_TIMEOUT)).collect();
    let ok = outs.iter().filter(|o| o.ok()).count();
    assert_eq!(ok, 1, "exactly one concurrent create must win: {outs:#?}");
    for o in outs.iter().filter(|o| !o.ok()) {
        let line = o.expect_error("losing create");
        assert!(line.contains("same"), "{line}");
    }
    let st = ctx.state("same");
    assert_eq!(st["status"], "created");
    ctx.track_pid(st["pid"].as_i64().unwrap() as i32);
    ctx.start("same").expect_ok("start the winner");
    assert_eq!(ctx.status("same"), "running");
}

#[test]
fn concurrent_start_and_delete() {
    let ctx = Ctx::new("constartdel");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    for round in 0..3 {
        let id = format!("r{round}");
        ctx.create_ok(&b, &id);
        let cmds: Vec<Vec<&str>> =
            vec![vec!["start", &id], vec!["delete", "--force", &id], vec!["state", &id], vec!["kill", &id, "KILL"], vec!["state", &id], vec!["delete", &id]];
        let running: Vec<Running> = cmds.iter().map(|a| ctx.spawn(ctx.cmd(a), &a.join(" "))).collect();
        for (a, r) in cmds.iter().zip(running) {
            let o = r.wait(CMD_TIMEOUT);
            // Every command either succeeds or fails cleanly with one line.
            if !o.ok() {
                o.expect_error(&a.join(" "));
            }
            if a[0] == "state" && o.ok() {
                let v: Value = serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("state printed invalid JSON ({e}): {}", o.stdout));
                assert_eq!(v["id"], id.as_str());
            }
        }
        // Whatever happened, the container is gone or in a consistent state; force-delete works.
        let o = ctx.rt(&["state", &id]);
        if o.ok() {
            let v: Value = serde_json::from_str(&o.stdout).expect("state JSON");
            assert!(["created", "running", "stopped"].contains(&v["status"].as_str().unwrap_or_default()), "{v}");
        }
        ctx.delete(&id, true).expect_ok("final delete --force");
        ctx.rt(&["state", &id]).expect_error("state after delete");
        assert!(ctx.cgroup_residue().is_empty(), "round {round}: cgroup left: {:?}", ctx.cgroup_residue());
    }
}

#[test]
fn delete_force_after_runtime_sigkilled_mid_create() {
    let ctx = Ctx::new("midcreate");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    let marker = ctx.base.join("hook-started");
    let hook = ctx.base.join("slow-hook.sh");
    write_script(&hook, &format!("echo $$ > {m}.tmp; mv {m}.tmp {m}; exec sleep 30", m = marker.display()));
    b.push("hooks/createRuntime", json!({"path": hook, "args": ["slow-hook.sh"], "env": ["PATH=/usr/bin:/bin"]}));
    ctx.write_config(&b, "m");
    ctx.track("m");
    let bundle = b.dir.to_string_lossy().into_owned();
    let mut r = ctx.spawn(ctx.cmd(&["create", "--bundle", &bundle, "m"]), "create with slow hook");
    let hook_pid: i32 = wait_until(T, "hook started", || fs::read_to_string(&marker).ok().and_then(|s| s.trim().parse().ok()));
    // The init exists by now (hooks run after it set up the mounts).
    let st: Value = serde_json::from_str(&fs::read_to_string(ctx.root.join("m/state.json")).expect("state.json during create")).unwrap();
    let init_pid = st["pid"].as_i64().unwrap_or(0) as i32;
    assert!(init_pid > 0, "no init pid recorded during create: {st}");
    assert!(ctx.cgroup_dir("pids", "m").is_dir(), "the cgroup should exist while createRuntime hooks run");
    ctx.track_pid(init_pid);
    // SAFETY: SIGKILL to the runtime process we spawned.
    unsafe { libc::kill(r.pid(), libc::SIGKILL) };
    let o = r.wait_timeout(T).expect("killed runtime exits");
    assert_eq!(o.code, 128 + 9);
    // The orphaned hook is ours too (we started the runtime that started it): end it by pid.
    if let Some((start, _)) = proc_start(hook_pid) {
        if pid_alive(hook_pid, start) {
            // SAFETY: the hook process whose pid it wrote itself.
            unsafe { libc::kill(hook_pid, libc::SIGKILL) };
        }
    }
    ctx.rt(&["delete", "--force", "m"]).expect_ok("delete --force after a killed create");
    wait_until(T, "init gone", || (!pid_alive(init_pid, proc_start(init_pid).map(|s| s.0).unwrap_or(0))).then_some(()));
    ctx.assert_no_residue("after delete --force of a half-made container");
}

#[test]
fn run_with_bundle_dir_argument() {
    let ctx = Ctx::new("runconv");
    let name = format!("conv-bundle-{}", std::process::id());
    let mut b = ctx.bundle(&name);
    b.probe(&["exit", "7"]);
    ctx.write_config(&b, &name); // the id will be the directory's base name
    ctx.track(&name);
    let cwd = ctx.dir("elsewhere");
    assert!(!cwd.join("config.json").exists());
    let mut c = ctx.cmd(&["run", b.dir.to_str().unwrap()]);
    c.current_dir(&cwd);
    let o = ctx.spawn(c, "run DIR").wait(CMD_TIMEOUT);
    o.expect_code(7, "run DIR (bundle from the argument)");
    // With --keep the container stays, under the directory's base name.
    b.probe(&["exit", "0"]);
    ctx.write_config(&b, &name);
    let mut c = ctx.cmd(&["run", "--keep", b.dir.to_str().unwrap()]);
    c.current_dir(&cwd);
    ctx.spawn(c, "run --keep DIR").wait(CMD_TIMEOUT).expect_ok("run --keep DIR");
    let st = ctx.state(&name);
    assert_eq!(st["status"], "stopped");
    assert_eq!(Path::new(st["bundle"].as_str().unwrap()), fs::canonicalize(&b.dir).unwrap());
    ctx.delete(&name, false).expect_ok("delete kept container");
}

#[test]
fn pause_and_resume() {
    let ctx = Ctx::new("pause");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    ctx.create_ok(&b, "p");
    ctx.start("p").expect_ok("start");
    ctx.rt(&["pause", "p"]).expect_ok("pause");
    assert_eq!(ctx.status("p"), "paused");
    let frozen = fs::read_to_string(ctx.cgroup_dir("freezer", "p").join("freezer.state")).unwrap();
    assert_eq!(frozen.trim(), "FROZEN");
    ctx.rt(&["resume", "p"]).expect_ok("resume");
    assert_eq!(ctx.status("p"), "running");
    let o = ctx.rt(&["ps", "--format", "json", "p"]);
    o.expect_ok("ps");
    let pids: Value = serde_json::from_str(&o.stdout).expect("ps json");
    assert!(pids.as_array().is_some_and(|a| !a.is_empty()), "{pids}");
    // A paused container can be force-deleted.
    ctx.rt(&["pause", "p"]).expect_ok("pause again");
    ctx.delete("p", true).expect_ok("delete --force paused");
}

#[test]
fn default_cgroup_path_is_under_ocirt() {
    let ctx = Ctx::new("defcg");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    b.set("linux/cgroupsPath", json!(""));
    let id = format!("it-defcg-{}-{}", std::process::id(), ctx.next_id());
    ctx.create_ok(&b, &id);
    let dir = Path::new("/sys/fs/cgroup/pids/ocirt").join(&id);
    assert!(dir.is_dir(), "{} missing", dir.display());
    ctx.delete(&id, true).expect_ok("delete");
    assert!(!dir.exists(), "{} left after delete", dir.display());
}

#[test]
fn kill_signals_by_name_number_and_all() {
    let ctx = Ctx::new("killsigs");
    let mut b = ctx.bundle("b");
    b.probe(&["sigwait", "USR1", "HUP"]);
    ctx.create_ok(&b, "n");
    ctx.start("n").expect_ok("start");
    let line = ctx.kill("n", "NOSUCHSIG").expect_error("kill with an invalid signal");
    assert!(line.contains("NOSUCHSIG"), "{line}");
    assert_eq!(ctx.status("n"), "running");
    ctx.kill("n", "10").expect_ok("kill by number (SIGUSR1)");
    ctx.wait_for_status("n", "stopped", T);
    // --all signals every process in the container's cgroup.
    b.sh("/probe sleep 30 & exec /probe sleep 30");
    ctx.create_ok(&b, "all");
    ctx.start("all").expect_ok("start");
    let procs = ctx.cgroup_dir("pids", "all").join("cgroup.procs");
    wait_until(T, "two processes", || (fs::read_to_string(&procs).unwrap_or_default().lines().count() >= 2).then_some(()));
    ctx.rt(&["kill", "--all", "all", "SIGKILL"]).expect_ok("kill --all");
    ctx.wait_for_status("all", "stopped", T);
    wait_until(T, "cgroup empty", || fs::read_to_string(&procs).unwrap_or_default().trim().is_empty().then_some(()));
}

#[test]
fn create_with_relative_bundle_records_absolute_path() {
    let ctx = Ctx::new("relbundle");
    let mut b = ctx.bundle("b");
    b.probe(&["exit", "0"]);
    ctx.write_config(&b, "r");
    ctx.track("r");
    let mut c = ctx.cmd(&["create", "--bundle", ".", "r"]);
    c.current_dir(&b.dir);
    ctx.spawn(c, "create --bundle .").wait(CMD_TIMEOUT).expect_ok("create --bundle .");
    let st = ctx.state("r");
    ctx.track_pid(st["pid"].as_i64().unwrap_or(0) as i32);
    assert_eq!(Path::new(st["bundle"].as_str().unwrap()), fs::canonicalize(&b.dir).unwrap(), "{st}");
    assert_eq!(Path::new(st["rootfs"].as_str().unwrap()), fs::canonicalize(&b.rootfs).unwrap(), "{st}");
}

#[test]
fn spec_features_and_log_file() {
    let ctx = Ctx::new("specfeat");
    let dir = ctx.dir("specdir");
    ctx.rt(&["spec", "--bundle", dir.to_str().unwrap()]).expect_ok("spec");
    let v: Value = serde_json::from_str(&fs::read_to_string(dir.join("config.json")).unwrap()).expect("spec JSON");
    assert_eq!(v["process"]["terminal"], true);
    assert_eq!(v["process"]["args"], json!(["sh"]));
    assert_eq!(v["root"], json!({"path": "rootfs", "readonly": true}));
    assert_eq!(v["hostname"], "container");
    let line = ctx.rt(&["spec", "--bundle", dir.to_str().unwrap()]).expect_error("spec over an existing config.json");
    assert!(line.contains("config.json"), "{line}");

    let o = ctx.rt(&["features"]);
    o.expect_ok("features");
    let f: Value = serde_json::from_str(&o.stdout).expect("features JSON");
    assert!(f["ociVersionMin"].is_string() && f["ociVersionMax"].is_string(), "{f}");
    assert!(f["linux"]["namespaces"].as_array().is_some_and(|a| a.contains(&json!("pid"))), "{f}");

    // --log with json: the error lands in the file as a JSON object naming the id.
    let log = ctx.base.join("runtime.log");
    let o = ctx.rt(&["--log", log.to_str().unwrap(), "--log-format", "json", "state", "nope-id"]);
    assert_eq!(o.code, 1);
    let text = fs::read_to_string(&log).expect("log file written");
    let last = text.lines().last().expect("a log line");
    let entry: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {last}"));
    assert!(entry.to_string().contains("nope-id"), "{entry}");
}

#[test]
fn init_killed_while_created() {
    let ctx = Ctx::new("killcreated");
    let (mut b, shared) = waiting_bundle(&ctx, "b");
    b.sh("echo ran > /shared/marker");
    let pid = ctx.create_ok(&b, "c");
    // `kill` of a created container is allowed (runc semantics) and stops it.
    ctx.kill("c", "KILL").expect_ok("kill a created container");
    ctx.wait_for_status("c", "stopped", T);
    let line = ctx.start("c").expect_error("start after the init was killed");
    assert!(line.contains('c'), "{line}");
    assert!(!shared.join("marker").exists(), "the process ran");
    ctx.delete("c", false).expect_ok("delete");
    assert!(proc_start(pid).is_none_or(|(_, z)| z));

    // The init dies behind the runtime's back (SIGKILL by pid): state says stopped.
    let pid = ctx.create_ok(&b, "d");
    // SAFETY: kill(2) on the init of our own container.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    ctx.wait_for_status("d", "stopped", T);
    assert_eq!(ctx.state("d")["pid"].as_i64().unwrap_or(0), 0);
    ctx.start("d").expect_error("start of a container whose init died");
    ctx.delete("d", false).expect_ok("delete");
}

#[test]
fn ids_and_paths() {
    let ctx = Ctx::new("ids");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    ctx.write_config(&b, "x");
    let bundle = b.dir.to_string_lossy().into_owned();
    for bad in ["../escape", "a/b", ".hidden", "with space", ""] {
        let o = ctx.rt(&["create", "--bundle", &bundle, bad]);
        let line = o.expect_error(&format!("create with id {bad:?}"));
        assert!(line.contains("id"), "{line}");
    }
    assert!(!ctx.base.join("escape").exists(), "an id escaped --root");
    ctx.assert_no_residue("after invalid ids");
    // A relative --pid-file is relative to the cwd; a deep --root is created.
    let deep = ctx.base.join("deep/er/root");
    let mut c = Command::new(runtime_bin());
    c.arg("--root").arg(&deep).args(["create", "--bundle", &bundle, "--pid-file", "rel.pid", "x"]).current_dir(&ctx.base);
    ctx.spawn(c, "create with a deep root").wait(CMD_TIMEOUT).expect_ok("create with --root that does not exist yet");
    let pid: i32 = fs::read_to_string(ctx.base.join("rel.pid")).expect("relative pid file").trim().parse().unwrap();
    ctx.track_pid(pid);
    assert!(deep.join("x").is_dir());
    let mut c = Command::new(runtime_bin());
    c.arg("--root").arg(&deep).args(["delete", "--force", "x"]);
    ctx.spawn(c, "delete in the deep root").wait(CMD_TIMEOUT).expect_ok("delete --force");
    assert!(fs::read_dir(&deep).unwrap().next().is_none(), "state left in the deep root");
    // list on an empty or missing root.
    let mut c = Command::new(runtime_bin());
    c.arg("--root").arg(ctx.base.join("never-created")).args(["list", "-q"]);
    let o = ctx.spawn(c, "list on a missing root").wait(CMD_TIMEOUT);
    o.expect_ok("list on a missing root");
    assert_eq!(o.out(), "");
}

#[test]
fn concurrent_creates_and_deletes_share_a_cgroup_parent() {
    let ctx = Ctx::new("cgrace");
    for round in 0..3 {
        let ids: Vec<String> = (0..4).map(|i| format!("r{round}-{i}")).collect();
        // One config per id (the cgroup path is in config.json): one bundle dir each.
        let mut bundles = vec![];
        for id in &ids {
            let mut bi = ctx.bundle(&format!("b-{id}"));
            bi.probe(&["sleep", "30"]);
            ctx.write_config(&bi, id);
            ctx.track(id);
            bundles.push(bi);
        }
        let creates: Vec<Running> =
            ids.iter().zip(&bundles).map(|(id, bi)| ctx.spawn(ctx.cmd(&["create", "--bundle", bi.dir.to_str().unwrap(), id]), "create")).collect();
        for (id, r) in ids.iter().zip(creates) {
            r.wait(CMD_TIMEOUT).expect_ok(&format!("concurrent create {id}"));
            ctx.track_pid(ctx.state(id)["pid"].as_i64().unwrap_or(0) as i32);
        }
        for id in &ids {
            for ctl in ["pids", "memory", "freezer"] {
                assert!(ctx.cgroup_dir(ctl, id).is_dir(), "{ctl} cgroup of {id} missing");
            }
        }
        // Deletes of some race with creates of others under the same parent.
        let more: Vec<String> = (0..2).map(|i| format!("r{round}-new{i}")).collect();
        let mut more_bundles = vec![];
        for id in &more {
            let mut bi = ctx.bundle(&format!("b-{id}"));
            bi.probe(&["sleep", "30"]);
            ctx.write_config(&bi, id);
            ctx.track(id);
            more_bundles.push(bi);
        }
        let mut running: Vec<(String, Running)> =
            ids.iter().map(|id| (format!("delete {id}"), ctx.spawn(ctx.cmd(&["delete", "--force", id]), "delete"))).collect();
        for (id, bi) in more.iter().zip(&more_bundles) {
            running.push((format!("create {id}"), ctx.spawn(ctx.cmd(&["create", "--bundle", bi.dir.to_str().unwrap(), id]), "create")));
        }
        for (what, r) in running {
            r.wait(CMD_TIMEOUT).expect_ok(&what);
        }
        for id in &more {
            ctx.track_pid(ctx.state(id)["pid"].as_i64().unwrap_or(0) as i32);
            for ctl in ["pids", "memory", "freezer"] {
                assert!(ctx.cgroup_dir(ctl, id).is_dir(), "round {round}: {ctl} cgroup of {id} missing after racing deletes");
            }
            let procs = fs::read_to_string(ctx.cgroup_dir("pids", id).join("cgroup.procs")).unwrap_or_default();
            assert!(!procs.trim().is_empty(), "round {round}: {id}'s init is not in its pids cgroup");
        }
        for id in &ids {
            assert!(!ctx.cgroup_dir("pids", id).exists(), "{id}'s cgroup left");
        }
        for id in &more {
            ctx.delete(id, true).expect_ok("delete");
        }
        assert!(ctx.cgroup_residue().is_empty(), "round {round}: {:?}", ctx.cgroup_residue());
    }
}

/// The default parent `/ocirt` is shared by containers of every `--root`; the parent list
/// is per root, so the container that goes last (of whichever root) must still remove it when
/// it is empty. Two roots overlap here: the one that made the parent goes first.
#[test]
fn default_parent_goes_with_the_last_container_of_any_root() {
    let a = Ctx::new("defpa");
    let b = Ctx::new("defpb");
    let id = |ctx: &Ctx| format!("it-defp-{}-{}", std::process::id(), ctx.next_id());
    let (ida, idb) = (id(&a), id(&b));
    let mut ba = a.bundle("b");
    ba.probe(&["sleep", "30"]);
    ba.set("linux/cgroupsPath", json!(""));
    let mut bb = b.bundle("b");
    bb.probe(&["sleep", "30"]);
    bb.set("linux/cgroupsPath", json!(""));
    a.create_ok(&ba, &ida);
    b.create_ok(&bb, &idb);
    a.delete(&ida, true).expect_ok("delete in the first root");
    let parent = Path::new("/sys/fs/cgroup/pids/ocirt");
    assert!(parent.join(&idb).is_dir(), "the other root's container keeps its cgroup");
    b.delete(&idb, true).expect_ok("delete in the second root");
    // Other tests may use /ocirt at the same time: it must be gone, or hold something else.
    wait_until(T, "/ocirt removed or in use by others", || {
        let others = fs::read_dir(parent).map(|d| d.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())).count());
        match others {
            Err(_) => Some(()),
            Ok(n) if n > 0 => Some(()),
            Ok(_) => None,
        }
    });
}
