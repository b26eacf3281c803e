//! OCI hooks: order, the state each one sees, failures and timeouts.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use integration::*;

const T: Duration = Duration::from_secs(10);

/// The logging hook: appends "NAME STATUS PID ID HOOKVAR" to the log given as $2.
const LOG_HOOK: &str = r#"name=$1; log=$2
json=$(cat)
if [ -n "$HOOKDELAY" ]; then sleep "$HOOKDELAY"; fi
status=$(printf '%s' "$json" | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p')
pid=$(printf '%s' "$json" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
id=$(printf '%s' "$json" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')
echo "$name $status $pid $id ${HOOKVAR:-unset}" >> "$log""#;

/// A bundle with /hooks bound from a host dir that holds the hook script and its log.
fn hook_bundle(ctx: &Ctx) -> (Bundle, PathBuf) {
    let mut b = ctx.bundle("b");
    let dir = ctx.dir("hooks");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    write_script(&dir.join("hook.sh"), LOG_HOOK);
    b.mount("/hooks", "bind", dir.to_str().unwrap(), &["bind", "rw"]);
    (b, dir)
}

fn hook(path: &Path, name: &str, log: &str) -> Value {
    json!({"path": path, "args": ["hook.sh", name, log], "env": ["PATH=/usr/bin:/bin", format!("HOOKVAR={name}-env")]})
}

#[test]
fn hooks_order_and_state() {
    let ctx = Ctx::new("hookorder");
    let (mut b, dir) = hook_bundle(&ctx);
    let host_script = dir.join("hook.sh");
    let host_log = dir.join("log");
    let hl = host_log.to_str().unwrap();
    b.probe(&["sleep", "30"]);
    b.push("hooks/prestart", hook(&host_script, "prestart", hl));
    b.push("hooks/createRuntime", hook(&host_script, "createRuntime", hl));
    // createContainer runs in the container's mount namespace before pivot_root: host paths.
    b.push("hooks/createContainer", hook(&host_script, "createContainer", hl));
    // startContainer runs in the container: container paths (the bind of the hooks dir).
    // It takes a moment (as a real one may): poststart must still come after it, since the
    // user program is only executed after the startContainer hooks.
    let mut start_hook = hook(Path::new("/hooks/hook.sh"), "startContainer", "/hooks/log");
    start_hook["env"].as_array_mut().unwrap().push(json!("HOOKDELAY=0.3"));
    b.push("hooks/startContainer", start_hook);
    b.push("hooks/poststart", hook(&host_script, "poststart", hl));
    b.push("hooks/poststop", hook(&host_script, "poststop", hl));
    let pid = ctx.create_ok(&b, "h");
    let read = || fs::read_to_string(&host_log).unwrap_or_default();
    let names = |s: &str| s.lines().map(|l| l.split(' ').next().unwrap_or_default().to_string()).collect::<Vec<_>>();
    assert_eq!(names(&read()), ["prestart", "createRuntime", "createContainer"], "after create:\n{}", read());
    ctx.start("h").expect_ok("start");
    wait_until(T, "startContainer and poststart", || (read().lines().count() >= 5).then_some(()));
    assert_eq!(names(&read()), ["prestart", "createRuntime", "createContainer", "startContainer", "poststart"], "after start:\n{}", read());
    ctx.kill("h", "KILL").expect_ok("kill");
    ctx.wait_for_status("h", "stopped", T);
    ctx.delete("h", false).expect_ok("delete");
    let log = read();
    assert_eq!(names(&log), ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"], "{log}");
    let want_status = ["creating", "creating", "creating", "created", "running", "stopped"];
    for (line, want) in log.lines().zip(want_status) {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f.len(), 5, "{line}");
        assert_eq!(f[1], want, "status seen by {}: {line}", f[0]);
        if f[0] != "poststop" {
            assert_eq!(f[2], pid.to_string(), "pid seen by {}: {line}", f[0]);
        }
        assert_eq!(f[3], "h", "id seen by {}", f[0]);
        assert_eq!(f[4], format!("{}-env", f[0]), "hook env not passed to {}", f[0]);
    }
}

/// A failing hook of `kind` makes create fail naming the hook, with no residue.
fn failing_create_hook(kind: &str) {
    let ctx = Ctx::new(&format!("hookfail-{kind}"));
    let mut b = ctx.bundle("b");
    let script = ctx.base.join("fail.sh");
    let marker = ctx.base.join("fail-ran");
    write_script(&script, &format!("touch {}; echo hook-says-no >&2; exit 3", marker.display()));
    b.probe(&["sleep", "30"]);
    // control: with a succeeding hook of the same kind create works.
    let ok_script = ctx.base.join("ok.sh");
    write_script(&ok_script, "cat >/dev/null; exit 0");
    b.push(&format!("hooks/{kind}"), json!({"path": ok_script, "args": ["ok.sh"]}));
    ctx.create_ok(&b, "ok");
    ctx.delete("ok", true).expect_ok("delete control");
    b.remove("hooks");
    b.push(&format!("hooks/{kind}"), json!({"path": script, "args": ["fail.sh"], "env": ["PATH=/usr/bin:/bin"]}));
    // A few times: the error path has had races (an extra stderr line from the init).
    for i in 0..4 {
        let _ = std::fs::remove_file(&marker);
        let o = ctx.create(&b, &format!("bad{i}"), &[]);
        let line = o.expect_error(&format!("create with a failing {kind} hook (attempt {i})"));
        assert!(marker.exists(), "the {kind} hook did not run");
        assert!(line.contains(kind), "error does not name the hook kind: {line}");
        assert!(line.contains("hook-says-no") || line.contains("exit status: 3") || line.contains("exit code 3"), "{line}");
        ctx.assert_no_residue(&format!("failed create ({kind} hook)"));
    }
}

#[test]
fn failing_prestart_hook() {
    failing_create_hook("prestart");
}

#[test]
fn failing_create_runtime_hook() {
    failing_create_hook("createRuntime");
}

#[test]
fn failing_create_container_hook() {
    failing_create_hook("createContainer");
}

#[test]
fn hook_timeout() {
    let ctx = Ctx::new("hooktimeout");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    let script = ctx.base.join("slow.sh");
    let pidfile = ctx.base.join("slow.pid");
    write_script(&script, &format!("echo $$ > {}; exec sleep 20", pidfile.display()));
    b.push("hooks/createRuntime", json!({"path": script, "args": ["slow.sh"], "env": ["PATH=/usr/bin:/bin"], "timeout": 1}));
    let start = Instant::now();
    let line = ctx.create(&b, "t", &[]).expect_error("create with a hook that times out");
    let took = start.elapsed();
    assert!(took < Duration::from_secs(8), "the 1 s hook timeout took {took:?}");
    assert!(line.contains("createRuntime") && line.contains("timed out"), "{line}");
    ctx.assert_no_residue("failed create (hook timeout)");
    // The hook was killed.
    let hook_pid: i32 = fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    wait_until(T, "timed-out hook killed", || proc_start(hook_pid).is_none_or(|(_, z)| z).then_some(()));
    // control: a hook that finishes within its timeout.
    write_script(&script, "exit 0");
    ctx.create_ok(&b, "t2");
}

#[test]
fn failing_poststart_and_poststop_only_warn() {
    let ctx = Ctx::new("hookwarn");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    let script = ctx.base.join("fail.sh");
    write_script(&script, "exit 1");
    b.push("hooks/poststart", json!({"path": script, "args": ["fail.sh"]}));
    b.push("hooks/poststop", json!({"path": script, "args": ["fail.sh"]}));
    ctx.create_ok(&b, "w");
    let o = ctx.start("w");
    o.expect_ok("start with a failing poststart hook");
    assert!(o.stderr.contains("poststart"), "no warning for the failing poststart hook: {:?}", o.stderr);
    assert_eq!(ctx.status("w"), "running");
    let o = ctx.delete("w", true);
    o.expect_ok("delete with a failing poststop hook");
    assert!(o.stderr.contains("poststop"), "no warning for the failing poststop hook: {:?}", o.stderr);
    assert!(ctx.state_residue().is_empty());
}

#[test]
fn missing_hook_binary_fails_create() {
    let ctx = Ctx::new("hookmissing");
    let mut b = ctx.bundle("b");
    b.probe(&["exit", "0"]);
    b.push("hooks/createRuntime", json!({"path": "/nonexistent/hook-binary"}));
    let line = ctx.create(&b, "x", &[]).expect_error("create with a missing hook binary");
    assert!(line.contains("/nonexistent/hook-binary"), "{line}");
    ctx.assert_no_residue("failed create (missing hook)");
}

/// The hooks that run after create (startContainer, poststart, poststop) are those of the
/// config create accepted: a bundle whose config.json is rewritten after create does not
/// change them. Control: a container created from the rewritten bundle runs the new hooks,
/// so the rewrite is real and would have been seen had the runtime read the bundle again.
#[test]
fn hooks_after_create_come_from_the_accepted_config() {
    let ctx = Ctx::new("hookaccepted");
    let (mut b, dir) = hook_bundle(&ctx);
    let host_script = dir.join("hook.sh");
    let host_log = dir.join("log");
    let hl = host_log.to_str().unwrap();
    b.probe(&["sleep", "30"]);
    let set_hooks = |b: &mut Bundle, tag: &str| {
        b.remove("hooks");
        b.push("hooks/startContainer", hook(Path::new("/hooks/hook.sh"), &format!("{tag}-startContainer"), "/hooks/log"));
        b.push("hooks/poststart", hook(&host_script, &format!("{tag}-poststart"), hl));
        b.push("hooks/poststop", hook(&host_script, &format!("{tag}-poststop"), hl));
    };
    set_hooks(&mut b, "accepted");
    ctx.create_ok(&b, "a");
    // The bundle changes under the created container: other hooks, another program.
    set_hooks(&mut b, "edited");
    b.probe(&["exit", "0"]);
    ctx.write_config(&b, "a");
    let read = || fs::read_to_string(&host_log).unwrap_or_default();
    let names = |s: &str| s.lines().map(|l| l.split(' ').next().unwrap_or_default().to_string()).collect::<Vec<_>>();
    ctx.start("a").expect_ok("start after the bundle was edited");
    wait_until(T, "startContainer and poststart", || (read().lines().count() >= 2).then_some(()));
    assert_eq!(ctx.status("a"), "running", "the accepted program (sleep) runs, not the edited one");
    ctx.kill("a", "KILL").expect_ok("kill");
    ctx.wait_for_status("a", "stopped", T);
    ctx.delete("a", false).expect_ok("delete");
    assert_eq!(names(&read()), ["accepted-startContainer", "accepted-poststart", "accepted-poststop"], "{}", read());

    // Control: the edited bundle, created anew, runs the edited hooks.
    fs::remove_file(&host_log).unwrap();
    ctx.create_ok(&b, "c");
    ctx.start("c").expect_ok("start the control");
    ctx.wait_for_status("c", "stopped", T);
    ctx.delete("c", false).expect_ok("delete the control");
    assert_eq!(names(&read()), ["edited-startContainer", "edited-poststart", "edited-poststop"], "{}", read());
    ctx.assert_no_residue("hooks from the accepted config");
}
