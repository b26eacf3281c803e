//! cgroups (v1 hierarchies): limits applied, enforced, and removed with the container.

use std::fs;
use std::time::Duration;

use integration::*;

const T: Duration = Duration::from_secs(10);

fn read_trim(p: &std::path::Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display())).trim().to_string()
}

#[test]
fn limits_are_applied() {
    let ctx = Ctx::new("cglimits");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    b.set("linux/resources/memory", json!({"limit": 64 * 1024 * 1024}));
    b.set("linux/resources/pids", json!({"limit": 20}));
    b.set("linux/resources/cpu", json!({"quota": 50000, "period": 100000, "shares": 512}));
    let pid = ctx.create_ok(&b, "lim");
    ctx.start("lim").expect_ok("start");
    assert_eq!(read_trim(&ctx.cgroup_dir("memory", "lim").join("memory.limit_in_bytes")), (64 * 1024 * 1024).to_string());
    assert_eq!(read_trim(&ctx.cgroup_dir("pids", "lim").join("pids.max")), "20");
    assert_eq!(read_trim(&ctx.cgroup_dir("cpu", "lim").join("cpu.cfs_quota_us")), "50000");
    assert_eq!(read_trim(&ctx.cgroup_dir("cpu", "lim").join("cpu.cfs_period_us")), "100000");
    assert_eq!(read_trim(&ctx.cgroup_dir("cpu", "lim").join("cpu.shares")), "512");
    // The init is in the container's cgroup in every hierarchy we manage.
    let cg = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for ctl in ["memory", "pids", "cpu", "freezer", "devices"] {
        let line = cg.lines().find(|l| l.split(':').nth(1).is_some_and(|c| c.split(',').any(|x| x == ctl))).unwrap_or_else(|| panic!("no {ctl} in {cg}"));
        assert!(line.ends_with(&ctx.cgroup_path("lim")), "{ctl}: {line}");
    }
    ctx.delete("lim", true).expect_ok("delete");
    for ctl in ["memory", "pids", "cpu"] {
        assert!(!ctx.cgroup_dir(ctl, "lim").exists(), "{ctl} cgroup left after delete");
    }
}

#[test]
fn memory_limit_oom_kills() {
    let ctx = Ctx::new("cgoom");
    let mut b = ctx.bundle("b");
    b.set("linux/resources/memory", json!({"limit": 32 * 1024 * 1024}));
    // control: well under the limit.
    let o = ctx.probe(&mut b, &["alloc", "8"]);
    o.expect_ok("alloc 8 MB under a 32 MB limit");
    assert_eq!(o.out(), "allocated 8 MB");
    // past the limit: the kernel OOM-kills the process; run reports 128+9.
    let o = ctx.probe(&mut b, &["alloc", "200"]);
    o.expect_code(137, "alloc 200 MB under a 32 MB limit");
}

#[test]
fn pids_limit_stops_forks() {
    let ctx = Ctx::new("cgpids");
    let mut b = ctx.bundle("b");
    let script = "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1 & done; echo all-started";
    // control: sh + 10 sleeps fit in 100.
    b.set("linux/resources/pids", json!({"limit": 100}));
    let o = ctx.sh(&mut b, script);
    o.expect_ok("10 forks under pids.max=100");
    assert_eq!(o.out(), "all-started");
    // With 5 the shell's fork fails (busybox sh gives up with "can't fork").
    b.set("linux/resources/pids", json!({"limit": 5}));
    let o = ctx.sh(&mut b, script);
    assert!(!o.stdout.contains("all-started"), "10 forks succeeded under pids.max=5: {o:?}");
    assert!(o.stderr.contains("fork") && o.stderr.contains("Resource temporarily unavailable"), "{o:?}");
}

#[test]
fn unsupported_resource_fails_before_anything_exists() {
    let ctx = Ctx::new("cgunsup");
    let mut b = ctx.bundle("b");
    b.probe(&["exit", "0"]);
    b.set("linux/resources/unified", json!({"memory.max": "1000000"}));
    let line = ctx.create(&b, "u", &[]).expect_error("linux.resources.unified on a v1 host");
    assert!(line.contains("unified"), "{line}");
    ctx.assert_no_residue("failed create (unified on v1)");
}

#[test]
fn cgroup_removed_when_container_exits_and_is_deleted() {
    let ctx = Ctx::new("cgremove");
    let mut b = ctx.bundle("b");
    // A container without its own pid namespace leaves a background child behind its init;
    // delete must still remove the cgroup (killing the straggler).
    b.remove("linux/namespaces/0");
    assert!(!b.get("linux/namespaces").as_array().unwrap().iter().any(|n| n["type"] == "pid"));
    b.sh("sleep 30 & echo child=$!; exec /probe sleep 30");
    ctx.create_ok(&b, "nopidns");
    ctx.start("nopidns").expect_ok("start");
    let dir = ctx.cgroup_dir("pids", "nopidns");
    wait_until(T, "two processes in the cgroup", || {
        let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        (procs.lines().count() >= 2).then_some(())
    });
    let procs: Vec<i32> = fs::read_to_string(dir.join("cgroup.procs")).unwrap().lines().filter_map(|l| l.parse().ok()).collect();
    for p in &procs {
        ctx.track_pid(*p);
    }
    ctx.delete("nopidns", true).expect_ok("delete --force");
    assert!(!dir.exists(), "cgroup left after delete");
    for p in procs {
        assert!(proc_start(p).is_none_or(|(_, z)| z), "process {p} of the container survived delete");
    }
}

#[test]
fn delete_never_kills_processes_that_are_not_the_containers() {
    // An existing cgroup (ours, under the test prefix) that already holds a process we
    // started. A container put there must either be refused at create, or its delete must
    // leave that process alone: removing "the container's cgroup" must not turn into
    // SIGKILL for whatever else lives in it (with cgroupsPath "/" that would be the host).
    let ctx = Ctx::new("cgforeign");
    let path = format!("{}/shared", ctx.cg_prefix);
    let dir = std::path::Path::new("/sys/fs/cgroup/pids").join(path.trim_start_matches('/'));
    fs::create_dir_all(&dir).unwrap();
    let mut bystander = std::process::Command::new("sleep").arg("60").spawn().expect("spawn sleep");
    let bpid = bystander.id() as i32;
    fs::write(dir.join("cgroup.procs"), bpid.to_string()).expect("move the bystander into the cgroup");
    let alive = |p: i32| proc_start(p).is_some_and(|(_, z)| !z);

    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    b.set("linux/cgroupsPath", json!(path));
    let o = ctx.create(&b, "intruder", &[]);
    if o.ok() {
        ctx.start("intruder").expect_ok("start");
        let d = ctx.delete("intruder", true);
        let survived = alive(bpid);
        let _ = bystander.kill();
        let _ = bystander.wait();
        d.expect_ok("delete --force");
        assert!(survived, "delete --force of the container SIGKILLed pid {bpid}, a process outside the container that shared its (pre-existing) cgroup");
    } else {
        let line = o.expect_error("create in a non-empty cgroup");
        assert!(line.contains("cgroup"), "{line}");
        assert!(alive(bpid), "a refused create killed the bystander");
        let _ = bystander.kill();
        let _ = bystander.wait();
    }
    // Give the kernel a moment to empty the cgroup before the residue check rmdirs it.
    wait_until(T, "bystander gone from the cgroup", || fs::read_to_string(dir.join("cgroup.procs")).map(|s| s.trim().is_empty()).unwrap_or(true).then_some(()));
    let _ = fs::remove_dir(&dir);
    let _ = fs::remove_dir(dir.parent().unwrap()); // the test prefix, made by create_dir_all
}
