//! `exec`: a second process inside a running container gets the container's namespaces,
//! cgroup, user, capabilities, no_new_privs and seccomp filter — never more.

use std::time::Duration;

use integration::*;

fn running(ctx: &Ctx, b: &mut Bundle) -> String {
    b.probe(&["sleep", "30"]);
    let id = ctx.next_id();
    ctx.run_detached(b, &id);
    id
}

#[test]
fn exec_joins_the_container_and_keeps_its_restrictions() {
    let ctx = Ctx::new("exec_join");
    let mut b = ctx.bundle("b");
    b.set("hostname", json!("exec-box"));
    b.set("process/user", json!({"uid": 1000, "gid": 1000}));
    let caps = json!(["CAP_NET_BIND_SERVICE"]);
    // A non-root user keeps capabilities across execve only through the ambient set.
    b.set("process/capabilities", json!({"bounding": caps, "effective": caps, "permitted": caps, "inheritable": caps, "ambient": caps}));
    b.set(
        "linux/seccomp",
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdirat", "mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 36}]
        }),
    );
    let id = running(&ctx, &mut b);

    // Same uts namespace, same pid namespace (its init is pid 1), same cgroup.
    let o = ctx.rt(&["exec", &id, "/probe", "hostname"]);
    assert_eq!(o.expect_ok("exec hostname").out(), "exec-box");
    let o = ctx.rt(&["exec", &id, "/bin/sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; grep pids /proc/self/cgroup"]);
    let out = o.expect_ok("exec sh").out().to_string();
    assert!(out.contains("/probe sleep 30"), "{out}");
    // Its cgroup namespace too: the container's cgroup is its "/".
    assert!(out.contains("pids:/\n") || out.ends_with("pids:/"), "{out}");
    let host_procs = std::fs::read_to_string(ctx.cgroup_dir("pids", &id).join("cgroup.procs")).unwrap();
    assert_eq!(host_procs.lines().count(), 1, "only the init between execs: {host_procs}");
    let o = ctx.rt(&["exec", &id, "/bin/sh", "-c", "wc -l < /sys/fs/cgroup/pids/cgroup.procs"]);
    let n: usize = o.expect_ok("count procs").out().trim().parse().unwrap();
    assert!(n >= 2, "the exec'd shell is in the container's cgroup: {n}");
    // The config's user, capability sets, no_new_privs and seccomp filter.
    let o = ctx.rt(&["exec", &id, "/probe", "id"]);
    assert!(o.expect_ok("exec id").out().contains("uid=1000"), "{}", o.out());
    let o = ctx.rt(&["exec", &id, "/probe", "caps"]);
    let caps = o.expect_ok("exec caps").out().to_string();
    assert!(caps.contains("CapEff:\t0000000000000400") || caps.contains("CapEff: 0000000000000400"), "{caps}");
    assert!(caps.contains("CapBnd:\t0000000000000400") || caps.contains("CapBnd: 0000000000000400"), "{caps}");
    let o = ctx.rt(&["exec", &id, "/probe", "mkdir", "/tmp/x"]);
    assert!(o.out().contains("ENAMETOOLONG"), "the container's seccomp rule applies: {}", o.out());
    // Positive control: the same call without the rule works in a container without it.
    let mut plain = ctx.bundle("plain");
    let plain_id = running(&ctx, &mut plain);
    let o = ctx.rt(&["exec", &plain_id, "/probe", "mkdir", "/tmp/x"]);
    o.expect_ok("mkdir without the seccomp rule");

    // Exit status, --env, --cwd, --user.
    let o = ctx.rt(&["exec", "--env", "FOO=bar", "--cwd", "/tmp", &id, "/bin/sh", "-c", "echo $FOO $(pwd); exit 7"]);
    o.expect_code(7, "exec exit status");
    assert_eq!(o.out(), "bar /tmp");
    let o = ctx.rt(&["exec", "--user", "0:0", &id, "/probe", "id"]);
    assert!(o.expect_ok("exec --user").out().contains("uid=0"), "{}", o.out());

    // Nothing to exec into once stopped; an unknown program is a clear error.
    let e = ctx.rt(&["exec", &id, "no-such-program"]).expect_error("unknown program");
    assert!(e.contains("no-such-program"), "{e}");
    ctx.kill(&id, "KILL").expect_ok("kill");
    ctx.wait_for_status(&id, "stopped", Duration::from_secs(5));
    let e = ctx.rt(&["exec", &id, "/probe", "id"]).expect_error("exec into a stopped container");
    assert!(e.contains("stopped"), "{e}");
    ctx.delete(&id, false).expect_ok("delete");
    ctx.delete(&plain_id, true).expect_ok("delete");
}

/// process.scheduler, ioPriority and execCPUAffinity are applied; AppArmor/SELinux, which
/// this runtime cannot apply, are refused rather than silently dropped (fail closed).
#[test]
fn placement_is_applied_and_unsupported_protections_refused() {
    let ctx = Ctx::new("placement");
    let mut b = ctx.bundle("b");
    b.set("process/ioPriority", json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0}));
    b.set("process/scheduler", json!({"policy": "SCHED_BATCH", "nice": 5}));
    b.set("process/execCPUAffinity", json!({"final": "0"}));
    let o = ctx.sh(&mut b, "grep -E '^policy' /proc/self/sched; grep Cpus_allowed_list /proc/self/status; cut -d' ' -f19 /proc/self/stat");
    let out = o.expect_ok("placement").out().to_string();
    assert!(out.contains("policy") && out.lines().next().unwrap().trim_end().ends_with('3'), "SCHED_BATCH: {out}");
    // The whole line: "0-1" also starts with "0".
    assert!(out.lines().any(|l| l == "Cpus_allowed_list:\t0"), "execCPUAffinity final 0: {out}");
    assert!(out.trim_end().ends_with('5'), "nice 5: {out}");
    // Control: without them the defaults hold.
    let mut plain = ctx.bundle("plain");
    let o = ctx.sh(&mut plain, "grep -E '^policy' /proc/self/sched; cut -d' ' -f19 /proc/self/stat; grep Cpus_allowed_list /proc/self/status");
    let out = o.expect_ok("defaults").out().to_string();
    let lines: Vec<&str> = out.lines().collect();
    // The default nice value is the caller's (a test run under `nice` passes on its own).
    let ours = std::fs::read_to_string("/proc/self/stat").unwrap();
    let our_nice = ours[ours.rfind(')').unwrap() + 2..].split(' ').nth(16).unwrap().to_string();
    assert!(lines[0].trim_end().ends_with('0') && lines[1].trim() == our_nice, "nice {our_nice} expected: {out}");
    // On a machine with more than one CPU the default affinity is wider than "0", so the
    // check above can tell the setting from the default.
    let ncpu = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if ncpu > 1 {
        assert!(lines.iter().any(|l| l.starts_with("Cpus_allowed_list:") && *l != "Cpus_allowed_list:\t0"), "{out}");
    }

    for (field, value) in [("process/apparmorProfile", json!("docker-default")), ("process/selinuxLabel", json!("system_u:system_r:svirt_lxc_net_t:s0"))] {
        let mut b = ctx.bundle("refused");
        b.sh("true");
        b.set(field, value);
        let id = ctx.next_id();
        let e = ctx.create(&b, &id, &[]).expect_error("unsupported protection");
        assert!(e.contains(field.rsplit('/').next().unwrap()), "{e}");
        ctx.assert_no_residue_for(&id, "refused config");
    }
}
