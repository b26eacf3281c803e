//! Ownership of cgroups and of state entries: a container's delete kills and removes only
//! what its create made; a killed create leaves an entry that can be seen and removed; an
//! init that survives SIGKILL keeps its state.
//!
//! Witnesses are host-side: processes this test starts itself (`sleep`), cgroup directories
//! it makes itself, both checked after the runtime acted.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use integration::*;

const T: Duration = Duration::from_secs(10);

/// The hierarchies the runtime manages: every cgroup mount under /sys/fs/cgroup.
fn hierarchies() -> Vec<PathBuf> {
    fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| p.join("cgroup.procs").exists())
        .collect()
}

fn cg(h: &str, path: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup").join(h).join(path.trim_start_matches('/'))
}

fn alive(p: i32) -> bool {
    proc_start(p).is_some_and(|(_, z)| !z)
}

/// A host `sleep` started by the test, killed (by its own handle) when dropped.
struct Bystander(Child);

impl Bystander {
    fn start() -> Bystander {
        Bystander(Command::new("sleep").arg("120").spawn().expect("spawn sleep"))
    }
    fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for Bystander {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Removes test-made cgroup dirs (deepest first) once they are empty.
fn rmdir_all(dirs: &[PathBuf]) {
    let mut v = dirs.to_vec();
    v.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in v {
        wait_until(T, "test cgroup empty", || fs::read_to_string(d.join("cgroup.procs")).map(|s| s.trim().is_empty()).unwrap_or(true).then_some(()));
        let _ = fs::remove_dir(&d);
    }
}

#[test]
fn two_containers_cannot_share_a_cgroup() {
    let ctx = Ctx::new("cgshare");
    let shared = format!("{}/shared", ctx.cg_prefix);
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "60"]);
    b.set("linux/cgroupsPath", json!(shared));
    let first = ctx.create_ok(&b, "first");
    ctx.start("first").expect_ok("start first");

    // Same bundle, same cgroupsPath, another id: refused, naming the owner.
    let line = ctx.create_no_write(&b, "second", &[]).expect_error("second create into the first's cgroup");
    assert!(line.contains("\"first\"") && line.contains(&shared), "the error should name the container that owns the cgroup: {line}");
    assert!(!ctx.root.join("second").exists(), "refused create left a state entry");
    assert!(alive(first), "the refused create killed the first container");
    assert_eq!(ctx.status("first"), "running");

    // Inside or around another container's cgroup is the same thing.
    for (id, p) in [("inner", format!("{shared}/inner")), ("outer", ctx.cg_prefix.clone())] {
        b.set("linux/cgroupsPath", json!(p));
        let line = ctx.create(&b, id, &[]).expect_error("create nested with another container's cgroup");
        assert!(line.contains("\"first\""), "{line}");
    }
    assert!(alive(first) && ctx.status("first") == "running");

    // A stopped container still owns its cgroup until it is deleted.
    ctx.kill("first", "KILL").expect_ok("kill first");
    ctx.wait_for_status("first", "stopped", T);
    b.set("linux/cgroupsPath", json!(shared));
    ctx.create(&b, "second", &[]).expect_error("create into a stopped container's cgroup");
    // Positive control: once the owner is deleted, the cgroup can be had.
    ctx.delete("first", false).expect_ok("delete first");
    ctx.create(&b, "second", &[]).expect_ok("create after the owner was deleted");
    ctx.delete("second", true).expect_ok("delete second");
}

#[test]
fn existing_cgroup_in_use_below_is_refused_and_survives() {
    let ctx = Ctx::new("cgbusy");
    let pre = format!("{}/pre", ctx.cg_prefix);
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    b.set("linux/cgroupsPath", json!(pre));
    // One case per kind of hierarchy: a v1 controller, the named systemd one, cgroup2.
    for h in ["pids", "systemd", "unified"] {
        if !cg(h, "").join("cgroup.procs").exists() {
            continue;
        }
        let child = cg(h, &format!("{pre}/child"));
        fs::create_dir_all(&child).unwrap();
        let sleep = Bystander::start();
        fs::write(child.join("cgroup.procs"), sleep.pid().to_string()).expect("move the bystander into the child cgroup");
        let line = ctx.create(&b, "c", &[]).expect_error(&format!("create over a busy child cgroup in {h}"));
        assert!(line.contains("already has processes") && line.contains(&format!("{h}/")), "{h}: {line}");
        assert!(!ctx.root.join("c").exists(), "{h}: refused create left a state entry");
        ctx.delete("c", true).expect_ok("delete --force of the refused id");
        assert!(alive(sleep.pid()), "{h}: the bystander in the child cgroup was killed");
        assert!(child.is_dir() && cg(h, &pre).is_dir(), "{h}: the pre-existing cgroup was removed");
        for other in hierarchies() {
            let leaf = other.join(pre.trim_start_matches('/'));
            assert!(!leaf.exists() || other.ends_with(h), "the refused create left {}", leaf.display());
        }
        drop(sleep);
        rmdir_all(&[child, cg(h, &pre), cg(h, &ctx.cg_prefix)]);
    }
    // Positive control: an existing cgroup with nobody in it is taken, and the container
    // runs in it; delete kills what is in it but leaves the directory it did not make.
    let empty = cg("pids", &pre);
    fs::create_dir_all(&empty).unwrap();
    let pid = ctx.create_ok(&b, "c");
    ctx.start("c").expect_ok("start in an existing empty cgroup");
    let procs = fs::read_to_string(empty.join("cgroup.procs")).unwrap();
    assert!(procs.lines().any(|l| l.trim() == pid.to_string()), "init {pid} not in {}: {procs}", empty.display());
    ctx.delete("c", true).expect_ok("delete");
    assert!(!alive(pid));
    assert!(empty.is_dir(), "delete removed a cgroup directory the runtime did not make");
    assert!(!cg("memory", &pre).exists(), "delete left the cgroup it made in memory");
    rmdir_all(&[empty, cg("pids", &ctx.cg_prefix)]);
}

#[test]
fn parents_are_removed_only_if_the_runtime_made_them() {
    let ctx = Ctx::new("cgparent");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    // A parent the host made (empty) in every hierarchy.
    let kept: Vec<PathBuf> = hierarchies().iter().map(|h| h.join(format!("{}/kept", ctx.cg_prefix).trim_start_matches('/'))).collect();
    for d in &kept {
        fs::create_dir_all(d).unwrap();
    }
    b.set("linux/cgroupsPath", json!(format!("{}/kept/c", ctx.cg_prefix)));
    ctx.create_ok(&b, "c");
    ctx.delete("c", true).expect_ok("delete c");
    for d in &kept {
        assert!(d.is_dir(), "delete removed {}, an (empty) parent the runtime did not make", d.display());
        assert!(!d.join("c").exists(), "delete left its own cgroup {}", d.join("c").display());
    }
    // Positive control: parents the runtime made go with the last container under them.
    let made = format!("{}/kept/made", ctx.cg_prefix);
    for id in ["x", "y"] {
        b.set("linux/cgroupsPath", json!(format!("{made}/{id}")));
        ctx.create_ok(&b, id);
    }
    ctx.delete("x", true).expect_ok("delete x");
    assert!(cg("pids", &made).is_dir(), "a parent still holding y was removed");
    assert!(!cg("pids", &format!("{made}/x")).exists());
    ctx.delete("y", true).expect_ok("delete y");
    for h in hierarchies() {
        let d = h.join(made.trim_start_matches('/'));
        assert!(!d.exists(), "the parent the runtime made is left: {}", d.display());
    }
    assert!(kept.iter().all(|d| d.is_dir()));
    assert!(ctx.state_residue().is_empty(), "state dir not empty: {:?}", ctx.state_residue());
    let mut all = kept.clone();
    all.extend(hierarchies().iter().map(|h| h.join(ctx.cg_prefix.trim_start_matches('/'))));
    rmdir_all(&all);
}

#[test]
fn second_create_of_a_live_id_says_already_exists() {
    let ctx = Ctx::new("dupid");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    let pid = ctx.create_ok(&b, "dup");
    ctx.start("dup").expect_ok("start");
    // Same bundle, same id (and so the same cgroup): the id answers first.
    let line = ctx.create(&b, "dup", &[]).expect_error("second create of a running id");
    assert!(line.contains("already exists"), "{line}");
    assert!(!line.contains("cgroup"), "the id should be refused before any cgroup check: {line}");
    assert!(alive(pid), "the refused create harmed the running container");
    assert_eq!(ctx.status("dup"), "running");
    assert_eq!(ctx.state("dup")["pid"].as_i64(), Some(pid as i64));
    ctx.delete("dup", true).expect_ok("delete");
}

#[test]
fn runtime_killed_at_any_point_of_create_leaves_a_removable_entry() {
    let ctx = Ctx::new("killpoints");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    // Parents of the container's cgroup made by this create too: the path is two deep.
    b.set("linux/cgroupsPath", json!(format!("{}/p/k", ctx.cg_prefix)));
    ctx.write_config(&b, "k");
    ctx.track("k");
    let bundle = b.dir.to_string_lossy().into_owned();
    let mut killed_at = vec![];
    for (call, max) in [("mkdir", 24), ("renameat2", 2), ("rename", 6), ("write", 16)] {
        for n in 1..=max {
            let mut c = Command::new("strace");
            c.args(["-qq", "-o", "/dev/null", "-e", &format!("inject={call}:signal=SIGKILL:when={n}"), "--"]);
            c.arg(runtime_bin()).arg("--root").arg(&ctx.root).args(["create", "--bundle", &bundle, "k"]);
            let o = ctx.spawn(c, &format!("create killed at {call} #{n}")).wait(CMD_TIMEOUT);
            if o.ok() {
                // Fewer such calls than n: the create finished; that is the control.
                assert_eq!(ctx.status("k"), "created", "{call} #{n}");
            } else {
                killed_at.push(format!("{call}#{n}"));
                // Seen in full or not at all: never an entry that list hides.
                let l = ctx.rt(&["list", "--format", "json"]);
                l.expect_ok("list after a killed create");
                let rows: Value = serde_json::from_str(&l.stdout).unwrap();
                let listed = rows.as_array().unwrap().iter().any(|r| r["id"] == "k");
                assert_eq!(listed, ctx.root.join("k").exists(), "{call} #{n}: list and the state dir disagree: {}", l.stdout);
                if listed {
                    let st = ctx.rt(&["state", "k"]);
                    st.expect_ok(&format!("{call} #{n}: state of the half-made entry"));
                }
            }
            ctx.delete("k", true).expect_ok(&format!("{call} #{n}: delete --force"));
            ctx.assert_no_residue(&format!("create killed at {call} #{n}, then delete --force"));
        }
    }
    assert!(killed_at.len() >= 10, "the injection hit too few points: {killed_at:?}");
    // And the id is free again.
    ctx.create(&b, "k", &[]).expect_ok("create after all that");
    ctx.delete("k", true).expect_ok("delete");
}

#[test]
fn an_entry_without_state_is_listed_and_deletable() {
    // What an older runtime killed between its mkdir and its first write left behind.
    let ctx = Ctx::new("nostate");
    let mut b = ctx.bundle("b");
    b.probe(&["exit", "0"]);
    fs::create_dir_all(ctx.root.join("bare")).unwrap();
    ctx.track("bare");
    let l = ctx.rt(&["list", "-q"]);
    l.expect_ok("list");
    assert_eq!(l.out(), "bare", "list hides the entry");
    assert_eq!(ctx.status("bare"), "stopped");
    let line = ctx.create(&b, "bare", &[]).expect_error("create over the entry");
    assert!(line.contains("already exists"), "{line}");
    ctx.delete("bare", false).expect_ok("delete of the entry");
    assert!(!ctx.root.join("bare").exists());
    // Positive control: the id is free again.
    ctx.create(&b, "bare", &[]).expect_ok("create after delete");
    ctx.delete("bare", true).expect_ok("delete");
}

#[test]
fn delete_force_keeps_the_state_while_the_init_outlives_sigkill() {
    let ctx = Ctx::new("stuck");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "60"]);
    let pid = ctx.create_ok(&b, "s");
    ctx.start("s").expect_ok("start");
    // A task frozen by the v1 freezer does not act on SIGKILL until thawed: the init is
    // stuck, deterministically. The freeze is in a sub-cgroup, so the container itself does
    // not look paused (delete --force would thaw that).
    let sub = ctx.cgroup_dir("freezer", "s").join("stuck");
    fs::create_dir(&sub).unwrap();
    // Thaws on drop, also when an assertion fails: a frozen init would outlive the test.
    struct Thaw(PathBuf);
    impl Drop for Thaw {
        fn drop(&mut self) {
            let _ = fs::write(self.0.join("freezer.state"), "THAWED");
        }
    }
    let thaw = Thaw(sub.clone());
    fs::write(sub.join("cgroup.procs"), pid.to_string()).unwrap();
    fs::write(sub.join("freezer.state"), "FROZEN").unwrap();
    wait_until(T, "frozen", || (fs::read_to_string(sub.join("freezer.state")).unwrap_or_default().trim() == "FROZEN").then_some(()));
    let o = ctx.rt(&["delete", "--force", "s"]);
    let kept = ctx.root.join("s/state.json").exists();
    let cgroup_kept = ctx.cgroup_dir("pids", "s").is_dir();
    let still_there = alive(pid);
    drop(thaw);
    assert!(!o.ok(), "delete --force reported success while the init {pid} was still there: {o:?}");
    let line = o.expect_error("delete --force over a stuck init");
    assert!(line.contains("container init still running"), "{line}");
    assert!(still_there, "the init was not stuck after all: the test proves nothing");
    assert!(kept, "the state was removed although the init still exists");
    assert!(cgroup_kept, "the cgroup was removed although the init still exists");
    // Positive control: once the init can die, the same command finishes the job.
    ctx.delete("s", true).expect_ok("delete --force after the thaw");
    assert!(!alive(pid));
    ctx.assert_no_residue("after the second delete --force");
}

#[test]
fn kill_phrases_and_kill_all_of_a_stopped_container() {
    let ctx = Ctx::new("killstop");
    let mut b = ctx.bundle("b");
    b.probe(&["exit", "0"]);
    ctx.create_ok(&b, "k");
    ctx.start("k").expect_ok("start");
    ctx.wait_for_status("k", "stopped", T);
    // containerd sends `kill --all ID 9` to stopped containers and expects success.
    ctx.rt(&["kill", "--all", "k", "9"]).expect_ok("kill --all of a stopped container");
    let line = ctx.kill("k", "9").expect_error("kill of a stopped container");
    assert!(line.contains("container not running"), "{line}");
    let line = ctx.kill("nosuch", "9").expect_error("kill of an unknown id");
    assert!(line.contains("does not exist"), "{line}");
    // Control: a running container is killed by the same command.
    b.probe(&["sleep", "30"]);
    let pid = ctx.create_ok(&b, "r");
    ctx.start("r").expect_ok("start r");
    ctx.rt(&["kill", "--all", "r", "9"]).expect_ok("kill --all of a running container");
    wait_until(T, "r's init gone", || (!alive(pid)).then_some(()));
    ctx.delete("k", false).expect_ok("delete k");
    ctx.delete("r", false).expect_ok("delete r");
}

/// Where the claim index (runtime/src/state/claims.rs) records who owns cgroup path `p`.
fn claim_marker(root: &Path, p: &str) -> PathBuf {
    let mut m = root.join(".cgroup-claims");
    for c in p.trim_start_matches('/').split('/') {
        m = m.join("c").join(c);
    }
    m.join("owner")
}

#[test]
fn a_stale_cgroup_claim_is_taken_over() {
    let ctx = Ctx::new("cgstale");
    let p = format!("{}/c", ctx.cg_prefix);
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    b.set("linux/cgroupsPath", json!(p));
    ctx.create_ok(&b, "old");
    let marker = claim_marker(&ctx.root, &p);
    // Alone in its root, a container's state file is its claim: no index yet.
    assert!(!ctx.root.join(".cgroup-claims").exists(), "a lone container made a claim index");
    // Control: while "old" is stored, its cgroup is refused, naming it; the second create
    // indexed the root from old's state on the way.
    let line = ctx.create(&b, "new", &[]).expect_error("create into old's cgroup");
    assert!(line.contains("\"old\""), "{line}");
    let saved = fs::read(&marker).expect("the claim index records old's cgroup");
    assert_eq!(saved, b"old");
    ctx.delete("old", true).expect_ok("delete old");
    assert!(!ctx.root.join(".cgroup-claims").exists(), "delete left the claim index behind");

    // A delete killed between removing its entry and releasing its claim leaves the marker
    // of a container that is gone: put it back by hand. The next create takes it over.
    fs::create_dir_all(marker.parent().unwrap()).unwrap();
    fs::write(&marker, &saved).unwrap();
    let pid = ctx.create_ok(&b, "new");
    ctx.start("new").expect_ok("start in the cgroup of the stale claim");
    assert_eq!(fs::read(&marker).unwrap(), b"new", "the claim was not taken over");
    let procs = fs::read_to_string(cg("pids", &p).join("cgroup.procs")).unwrap();
    assert!(procs.lines().any(|l| l.trim() == pid.to_string()), "init {pid} not in its cgroup: {procs}");
    ctx.delete("new", true).expect_ok("delete new");

    // The same with the id reused: "old" is stored again with another cgroup, so a marker
    // naming it on `p` is stale too.
    // (The marker is put back first: an index, once there, holds every stored container's
    // claim, since only a build from all their state files makes one.)
    fs::create_dir_all(marker.parent().unwrap()).unwrap();
    fs::write(&marker, &saved).unwrap();
    b.set("linux/cgroupsPath", json!(format!("{}/other", ctx.cg_prefix)));
    ctx.create_ok(&b, "old");
    b.set("linux/cgroupsPath", json!(p));
    ctx.create_ok(&b, "new");
    assert_eq!(fs::read(&marker).unwrap(), b"new");
    // Control: "old" still owns its own cgroup.
    b.set("linux/cgroupsPath", json!(format!("{}/other", ctx.cg_prefix)));
    let line = ctx.create(&b, "third", &[]).expect_error("create into old's new cgroup");
    assert!(line.contains("\"old\""), "{line}");
    for id in ["old", "new"] {
        ctx.delete(id, true).expect_ok("delete");
    }
    ctx.assert_no_residue("after the stale claims");
}
