//! Attacks on the paths added in the 2026-11-28 round: tmpcopyup of a hostile image
//! directory, `update -r` fuzzing, rootless state roots, exec -d's reaper choice.

use integration::*;
use std::fs;

/// `depth` directories `a/a/a/...` under `d`, made relative to a directory fd (the full
/// path is longer than PATH_MAX).
fn nest(d: &std::path::Path, depth: usize) {
    use std::ffi::CString;
    // SAFETY: plain libc calls on a path we own; each fd is closed after use.
    unsafe {
        let mut fd = libc::open(CString::new(d.as_os_str().as_encoded_bytes()).unwrap().as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
        assert!(fd >= 0);
        for _ in 0..depth {
            assert_eq!(libc::mkdirat(fd, c"a".as_ptr(), 0o755), 0);
            let next = libc::openat(fd, c"a".as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
            assert!(next >= 0);
            libc::close(fd);
            fd = next;
        }
        libc::close(fd);
    }
}

fn copyup_bundle(ctx: &Ctx, opts: &[&str]) -> (Bundle, std::path::PathBuf) {
    let mut b = ctx.bundle("b");
    let d = b.rootfs.join("data");
    fs::create_dir_all(&d).unwrap();
    b.push("mounts", json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": opts}));
    (b, d)
}

fn write_file(p: &std::path::Path, len: usize) {
    fs::write(p, vec![b'x'; len]).unwrap();
}

// ---- tmpcopyup: a hostile image directory -------------------------------------------------

#[test]
fn tmpcopyup_refuses_nesting_deeper_than_the_limit_with_one_clear_error() {
    // 2000 levels overflowed the init's stack (SIGSEGV, "has overflowed its stack" and no
    // path). Now: one error line naming the path and the limit, nothing left behind.
    let ctx = Ctx::new("copyup_deep");
    let (mut b, d) = copyup_bundle(&ctx, &["tmpcopyup"]);
    nest(&d, 3000);
    let id = ctx.next_id();
    let e = ctx.create(&b, &id, &[]).expect_error("tmpcopyup of a 3000-deep tree");
    assert!(e.contains("tmpcopyup") && e.contains("/data/a/a/a") && e.contains("nested deeper than 256"), "{e}");
    ctx.assert_no_residue_for(&id, "too deep tmpcopyup");
    // Control: 256 levels (the limit) are copied, all of them.
    fs::remove_dir_all(&d).unwrap();
    fs::create_dir_all(&d).unwrap();
    nest(&d, 256);
    let o = ctx.sh(&mut b, "cd /data; i=0; while cd a 2>/dev/null; do i=$((i+1)); done; echo $i");
    assert_eq!(o.expect_ok("tmpcopyup of 256 levels").out(), "256");
}

#[test]
fn tmpcopyup_destination_that_is_a_symlink_copies_from_inside_the_rootfs_only() {
    // The image's /data is a symlink to a host directory (absolute, and by `..`): the
    // destination is resolved inside the rootfs, so neither the tmpfs nor its copy can
    // come from the host's directory.
    let ctx = Ctx::new("copyup_dest_link");
    let host = ctx.dir("host-dir");
    fs::write(host.join("secret"), "HOST SECRET\n").unwrap();
    for (i, target) in [host.display().to_string(), format!("../../../../../../..{}", host.display())].iter().enumerate() {
        let mut b = ctx.bundle(&format!("b{i}"));
        // The host directory is under /tmp: the image's own /tmp must not be covered.
        b.unmount("/tmp");
        std::os::unix::fs::symlink(target, b.rootfs.join("data")).unwrap();
        b.push("mounts", json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "size=1m"]}));
        // Not in the rootfs: refused, naming the entry.
        let id = ctx.next_id();
        let e = ctx.create(&b, &id, &[]).expect_error("tmpcopyup onto a symlink to a host directory");
        assert!(e.contains("/data") && e.contains("cannot be resolved inside the rootfs"), "{e}");
        ctx.assert_no_residue_for(&id, "tmpcopyup onto a symlink to a host directory");
        // The same path inside the rootfs: that is what is copied, never the host's.
        let inside = b.rootfs.join(host.strip_prefix("/").unwrap());
        fs::create_dir_all(&inside).unwrap();
        fs::write(inside.join("secret"), "rootfs copy\n").unwrap();
        let o = ctx.sh(&mut b, "cat /data/secret 2>&1");
        assert_eq!(o.expect_ok("tmpcopyup onto a symlink resolved in the rootfs").out(), "rootfs copy", "via {target}");
        assert_eq!(fs::read_to_string(host.join("secret")).unwrap(), "HOST SECRET\n");
        assert!(mounts_under(&host).is_empty(), "a mount on the host directory");
    }
}

#[test]
fn tmpcopyup_keeps_hard_links_so_a_linked_file_is_copied_once() {
    // One 1 MiB file under 16 names: copied name by name it needs 16 MiB of a 4 MiB tmpfs
    // (an image can make the copy any multiple of its own size).
    let ctx = Ctx::new("copyup_links");
    let (mut b, d) = copyup_bundle(&ctx, &["tmpcopyup", "size=4m"]);
    fs::create_dir_all(d.join("sub")).unwrap();
    write_file(&d.join("big"), 1 << 20);
    for i in 0..15 {
        let dir = if i % 2 == 0 { d.clone() } else { d.join("sub") };
        fs::hard_link(d.join("big"), dir.join(format!("name{i}"))).unwrap();
    }
    let o = ctx.sh(&mut b, "stat -c '%i %h %s' /data/big /data/name* /data/sub/name* | sort -u; echo hi >> /data/sub/name1; tail -c 3 /data/name0");
    let out = o.expect_ok("tmpcopyup of hard links").stdout.clone();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "all 16 names are one inode with 16 links in the copy: {out}");
    assert!(lines[0].ends_with(" 16 1048576") && lines[1] == "hi", "{out}");
    // Negative control: the same bytes as 16 separate files do not fit; one error line
    // names the file that did not, and nothing is left.
    let mut b2 = ctx.bundle("b2");
    let d2 = b2.rootfs.join("data");
    fs::create_dir_all(&d2).unwrap();
    for i in 0..16 {
        write_file(&d2.join(format!("f{i:02}")), 1 << 20);
    }
    b2.push("mounts", json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "size=4m"]}));
    let id = ctx.next_id();
    let e = ctx.create(&b2, &id, &[]).expect_error("tmpcopyup that does not fit");
    assert!(e.contains("tmpcopyup: copy /data/f") && e.contains("No space left"), "{e}");
    ctx.assert_no_residue_for(&id, "tmpcopyup that does not fit");
}

#[test]
fn tmpcopyup_keeps_holes_so_a_sparse_file_is_not_inflated() {
    // A 1 GiB file with 4 KiB of data takes 4 KiB in the image; written out in full it
    // would fill any tmpfs (here 8 MiB).
    let ctx = Ctx::new("copyup_sparse");
    let (mut b, d) = copyup_bundle(&ctx, &["tmpcopyup", "size=8m"]);
    let f = fs::File::create(d.join("sparse")).unwrap();
    f.set_len(1 << 30).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &[b'D'; 4096], 512 << 20).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, b"END", (1 << 30) - 3).unwrap();
    drop(f);
    let o = ctx.sh(&mut b, "stat -c %s /data/sparse; du -k /data/sparse | cut -f1; dd if=/data/sparse bs=1M skip=512 count=1 2>/dev/null | tr -d '\\0' | wc -c; tail -c 3 /data/sparse; echo");
    let out = o.expect_ok("tmpcopyup of a sparse file").stdout.clone();
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l[0], "1073741824", "{out}");
    assert!(l[1].parse::<u64>().unwrap() <= 64, "the copy is not sparse: {out}");
    assert_eq!((l[2], l[3]), ("4096", "END"), "{out}");
}

#[test]
fn tmpcopyup_error_for_a_name_with_a_newline_stays_one_line() {
    // The image's names are untrusted: a newline in one must not split (or forge) the
    // runtime's error line.
    let ctx = Ctx::new("copyup_newline");
    let (b, d) = copyup_bundle(&ctx, &["tmpcopyup", "size=1m"]);
    write_file(&d.join("big\nruntime: forged line"), 2 << 20);
    let id = ctx.next_id();
    let e = ctx.create(&b, &id, &[]).expect_error("tmpcopyup of a name with a newline");
    assert!(e.contains("/data/big\\nruntime: forged line") && e.contains("No space left"), "{e}");
    ctx.assert_no_residue_for(&id, "tmpcopyup with a newline name");
}

// ---- update -r: hostile or broken documents -----------------------------------------------

fn update_r(ctx: &Ctx, id: &str, doc: &str) -> Output {
    let f = ctx.base.join("resources.json");
    fs::write(&f, doc).unwrap();
    ctx.rt(&["update", "-r", f.to_str().unwrap(), id])
}

fn read_trim(p: &std::path::Path) -> String {
    fs::read_to_string(p).unwrap().trim().to_string()
}

/// A created container with a 64 MiB memory limit and 512 cpu shares, for the update
/// tests; returns its id and its memory.limit_in_bytes file.
fn limited_container(ctx: &Ctx) -> (String, std::path::PathBuf) {
    let mut b = ctx.bundle("b");
    b.set("linux/resources/memory", json!({"limit": 64 * 1024 * 1024}));
    b.set("linux/resources/cpu", json!({"shares": 512}));
    b.args(&["sleep", "100"]);
    let id = ctx.next_id();
    ctx.create_ok(&b, &id);
    let mem = ctx.cgroup_dir("memory", &id).join("memory.limit_in_bytes");
    (id, mem)
}

#[test]
fn update_with_a_wrong_type_names_the_field_and_changes_nothing() {
    let ctx = Ctx::new("update_fuzz");
    let (id, mem) = limited_container(&ctx);
    let cpu = ctx.cgroup_dir("cpu", &id).join("cpu.shares");
    let cases = [
        (r#"{"memory":{"limit":"x"}}"#, "memory.limit"),
        (r#"{"memory":{"limit":99999999999999999999}}"#, "memory.limit"),
        (r#"{"cpu":{"shares":1e3},"memory":{"limit":1}}"#, "cpu.shares"),
        (r#"{"memory":{"limit":100000000},"pids":{"limit":{"a":[null]}}}"#, "pids.limit"),
        (r#"{"memory":null,"cpu":[1,2]}"#, "`cpu`"),
        (r#"{"blockIO":{"weightDevice":[{"major":8,"minor":0,"weight":10},{"major":"8","minor":0}]}}"#, "blockIO.weightDevice.1.major"),
        // A required member cannot be taken out to test it: the search stops at its object.
        (r#"{"devices":[{"allow":"yes"}]}"#, "devices.0"),
    ];
    for (doc, field) in cases {
        let e = update_r(&ctx, &id, doc).expect_error(doc);
        assert!(e.contains(&format!("field `{}", field.trim_matches('`'))), "{doc}: the error does not name {field}: {e}");
        assert_eq!((read_trim(&mem), read_trim(&cpu)), ("67108864".into(), "512".into()), "{doc} changed the cgroup");
    }
    // Control: a valid document goes in.
    update_r(&ctx, &id, r#"{"memory":{"limit":100000000},"cpu":{"shares":256}}"#).expect_ok("a valid update");
    assert_eq!((read_trim(&mem), read_trim(&cpu)), ("99999744".into(), "256".into()));
}

#[test]
fn update_reads_a_bounded_document_and_answers_a_wide_one_quickly() {
    // `-r /dev/zero` or an endless stdin grew the runtime until the OOM killer; a 380 KB
    // document with 30000 members and one wrong type took minutes (the field search).
    let ctx = Ctx::new("update_bounded");
    let (id, mem) = limited_container(&ctx);
    let e = ctx.rt_within(&["update", "-r", "/dev/zero", &id], std::time::Duration::from_secs(10)).expect_error("-r /dev/zero");
    assert!(e.contains("/dev/zero") && e.contains("longer than 1024 KiB"), "{e}");
    let mut c = ctx.cmd(&["update", "-r", "-", &id]);
    c.stdin(fs::File::open("/dev/zero").unwrap());
    let e = ctx.spawn(c, "update -r - < /dev/zero").wait(std::time::Duration::from_secs(10)).expect_error("-r - from /dev/zero");
    assert!(e.contains("stdin") && e.contains("longer than 1024 KiB"), "{e}");
    let mut wide: serde_json::Map<String, Value> = (0..30000).map(|i| (format!("a{i}"), json!(1))).collect();
    wide.insert("memory".into(), json!({"limit": "x"}));
    // Bounded by the harness's command timeout (minutes before the fix), not timed here.
    let e = update_r(&ctx, &id, &Value::Object(wide).to_string()).expect_error("a wide document");
    assert!(e.contains("invalid type"), "{e}");
    assert_eq!(read_trim(&mem), "67108864");
    // Control: a valid document of the same width goes in (unknown members are ignored).
    let mut wide: serde_json::Map<String, Value> = (0..30000).map(|i| (format!("a{i}"), json!(1))).collect();
    wide.insert("memory".into(), json!({"limit": 100000000}));
    update_r(&ctx, &id, &Value::Object(wide).to_string()).expect_ok("a wide valid document");
    assert_eq!(read_trim(&mem), "99999744");
}

#[test]
fn update_refused_half_way_puts_back_what_it_wrote() {
    // When memory goes in first and then the kernel refuses cpu.cfs_period_us=1, the error
    // said nothing was changed and the snapshot kept the old limit, but the cgroup had the
    // new one.
    let ctx = Ctx::new("update_half");
    let (id, mem) = limited_container(&ctx);
    // libcgroups visits the controllers in a HashMap's order, new in every process: memory
    // goes in before cpu about every other time, so the attempt is made several times.
    for attempt in 0..10 {
        let e = update_r(&ctx, &id, r#"{"memory":{"limit":100000000},"cpu":{"period":1}}"#).expect_error("cpu period 1");
        assert!(e.contains("cpu.cfs_period_us"), "{e}");
        assert_eq!(read_trim(&mem), "67108864", "attempt {attempt}: the failed update left its memory limit in force");
    }
    // The snapshot is unchanged too: a later update that does not name memory re-applies
    // the memory limit from it.
    update_r(&ctx, &id, r#"{"cpu":{"shares":256}}"#).expect_ok("a valid update after the failed one");
    assert_eq!(read_trim(&mem), "67108864");
    // Control: the same memory limit with a valid period goes in.
    update_r(&ctx, &id, r#"{"memory":{"limit":100000000},"cpu":{"period":200000}}"#).expect_ok("valid period");
    assert_eq!(read_trim(&mem), "99999744");

    // A limit the container did not have is taken out again (back to no limit).
    let mut b2 = ctx.bundle("b2");
    b2.args(&["sleep", "100"]);
    let id2 = ctx.next_id();
    ctx.create_ok(&b2, &id2);
    let mem2 = ctx.cgroup_dir("memory", &id2).join("memory.limit_in_bytes");
    let unlimited = read_trim(&mem2);
    for attempt in 0..10 {
        update_r(&ctx, &id2, r#"{"memory":{"limit":100000000},"cpu":{"period":1}}"#).expect_error("cpu period 1, no limit before");
        assert_eq!(read_trim(&mem2), unlimited, "attempt {attempt}: the failed update left a memory limit on a container that had none");
    }
}

// ---- the state root: another user's directory ---------------------------------------------

fn chmod(p: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_state_root_another_user_can_write_is_refused() {
    // XDG_RUNTIME_DIR=/tmp (a common stand-in) gives a rootless runtime /tmp/ocirt as its
    // state root, which any user can make first: their state.json would choose the pids
    // `kill` and `delete` signal, with our privileges.
    let ctx = Ctx::new("state_root");
    let mut b = ctx.bundle("b");
    b.args(&["sleep", "100"]);
    fs::create_dir_all(&ctx.root).unwrap();
    std::os::unix::fs::chown(&ctx.root, Some(12345), Some(12345)).unwrap();
    let id = ctx.next_id();
    let e = ctx.create(&b, &id, &[]).expect_error("create in another user's state root");
    assert!(e.contains(&ctx.root.display().to_string()) && e.contains("owned by uid 12345"), "{e}");
    assert!(fs::read_dir(&ctx.root).unwrap().next().is_none(), "something was made in the refused root");
    // A forged container in it is not read either: not even `state`.
    fs::create_dir(ctx.root.join("forged")).unwrap();
    fs::write(ctx.root.join("forged/state.json"), "{}").unwrap();
    let e = ctx.rt(&["kill", "forged", "KILL"]).expect_error("kill in another user's state root");
    assert!(e.contains("owned by uid 12345"), "{e}");
    fs::remove_dir_all(ctx.root.join("forged")).unwrap();

    // Control: the same root owned by us works.
    std::os::unix::fs::chown(&ctx.root, Some(0), Some(0)).unwrap();
    ctx.create_ok(&b, &id);
    assert_eq!(ctx.status(&id), "created");
    // Writable by others, or inside a directory others can write that is not sticky:
    // refused for a container that exists too.
    chmod(&ctx.root, 0o777);
    let e = ctx.rt(&["state", &id]).expect_error("a world-writable state root");
    assert!(e.contains("mode 777"), "{e}");
    // `list` says so too, rather than listing nothing (a failed check is not an empty root).
    let e = ctx.rt(&["list", "-q"]).expect_error("list of a world-writable state root");
    assert!(e.contains("mode 777") && e.contains(&ctx.root.display().to_string()), "{e}");
    chmod(&ctx.root, 0o700);
    // Control: the same root, safe again, lists the container.
    assert_eq!(ctx.rt(&["list", "-q"]).expect_ok("list").out(), id);
    chmod(&ctx.base, 0o777);
    let e = ctx.rt(&["state", &id]).expect_error("a state root in a world-writable directory");
    assert!(e.contains(&format!("{} (above the state root) has mode 777", ctx.base.display())), "{e}");
    // Control: sticky, as /tmp is.
    chmod(&ctx.base, 0o1777);
    assert_eq!(ctx.status(&id), "created");
    chmod(&ctx.base, 0o755);
    // A directory above owned by another user, who could rename the root away and put
    // their own in its place.
    std::os::unix::fs::chown(&ctx.base, Some(12345), None).unwrap();
    let e = ctx.rt(&["state", &id]).expect_error("a state root in another user's directory");
    assert!(e.contains(&format!("{} (above the state root) is owned by uid 12345", ctx.base.display())), "{e}");
    std::os::unix::fs::chown(&ctx.base, Some(0), None).unwrap();
    assert_eq!(ctx.status(&id), "created");
    ctx.delete(&id, true).expect_ok("delete");
    // A symlink above the root owned by another user, who could point it elsewhere: refused
    // although every real directory passes. Control: the same link owned by root.
    let real = ctx.dir("real-parent");
    fs::create_dir(real.join("r")).unwrap();
    chmod(&real.join("r"), 0o700);
    let link = ctx.base.join("link-parent");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(12345), None).unwrap();
    let list_via_link = || {
        let o = std::process::Command::new(runtime_bin()).arg("--root").arg(link.join("r")).args(["list", "-q"]).output().unwrap();
        (o.status.success(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (ok, e) = list_via_link();
    assert!(!ok && e.contains("link-parent (above the state root) is owned by uid 12345"), "{e}");
    std::os::unix::fs::lchown(&link, Some(0), None).unwrap();
    let (ok, e) = list_via_link();
    assert!(ok, "a root-owned symlink above the root: {e}");
    ctx.assert_no_residue("state root checks");
}

// ---- tmpcopyup under fault injection ------------------------------------------------------

fn strace_available(test: &str) -> bool {
    if std::process::Command::new("strace").arg("-V").output().is_ok_and(|o| o.status.success()) {
        return true;
    }
    assert!(std::env::var_os("OCIRT_REQUIRE_ALL").is_none(), "{test}: OCIRT_REQUIRE_ALL is set but strace is not installed");
    eprintln!("{test}: skipped: strace not installed");
    false
}

/// `strace -f -e inject=... runtime --root R run --bundle B ID`.
fn traced_run(ctx: &Ctx, b: &Bundle, id: &str, inject: Option<&str>) -> Output {
    ctx.write_config(b, id);
    ctx.track(id);
    let mut c = std::process::Command::new("strace");
    c.args(["-f", "-qq", "-o", "/dev/null"]);
    if let Some(i) = inject {
        c.arg("-e").arg(format!("inject={i}"));
    }
    c.arg(runtime_bin()).arg("--root").arg(&ctx.root).args(["run", "--bundle"]).arg(&b.dir).arg(id).stdin(std::process::Stdio::null());
    ctx.spawn(c, &format!("strace {inject:?} runtime run {id}")).wait(std::time::Duration::from_secs(60))
}

#[test]
fn tmpcopyup_fails_closed_at_each_of_its_syscalls() {
    // Every call the copy makes (and only it, on this path) fails once with EIO, at its
    // first and second use: the container must not run, the one error line names
    // tmpcopyup, the step and the path, and nothing is left.
    if !strace_available("tmpcopyup_fails_closed_at_each_of_its_syscalls") {
        return;
    }
    let ctx = Ctx::new("copyup_faults");
    let (mut b, d) = copyup_bundle(&ctx, &["tmpcopyup", "size=4m"]);
    fs::create_dir_all(d.join("sub/deeper")).unwrap();
    write_file(&d.join("sub/file"), 200_000);
    fs::hard_link(d.join("sub/file"), d.join("linked")).unwrap();
    let f = fs::File::create(d.join("sparse")).unwrap();
    f.set_len(1 << 20).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, b"data", 300_000).unwrap();
    drop(f);
    std::os::unix::fs::symlink("sub/file", d.join("sym")).unwrap();
    b.args(&["sh", "-c", "stat -c %h /data/linked; tr -d '\\0' < /data/sparse"]);
    // Positive control: the same run without injection copies everything.
    let id = ctx.next_id();
    let o = traced_run(&ctx, &b, &id, None);
    assert_eq!(o.expect_ok("traced run without injection").stdout, "2\ndata", "{o:?}");
    ctx.assert_no_residue_for(&id, "the control run");
    let trials = [
        ("fchown", "owner"),
        ("fchmod", "mode"),
        ("utimensat", "times"),
        ("linkat", "hard link"),
        ("lseek", "copy"),
        ("ftruncate", "copy"),
        ("pwrite64", "copy"),
        ("getdents64", "read directory"),
    ];
    for (sys, step) in trials {
        for when in [1, 2] {
            if sys == "linkat" && when == 2 {
                continue; // one link in the image
            }
            let id = ctx.next_id();
            let o = traced_run(&ctx, &b, &id, Some(&format!("{sys}:error=EIO:when={when}")));
            let e = o.expect_error(&format!("{sys} fails at call {when}"));
            assert!(e.contains("tmpcopyup: ") && e.contains(step) && e.contains(" /data") && e.contains("Input/output error"), "{sys}@{when}: {e}");
            let del = ctx.rt(&["delete", "--force", &id]);
            assert!(del.ok() || del.stderr.contains("does not exist"), "{sys}@{when}: delete: {del:?}");
            ctx.assert_no_residue_for(&id, &format!("{sys}@{when}"));
        }
    }
}

// ---- rootless: a limit whose controller was not delegated ---------------------------------

fn chown_r(p: &std::path::Path, uid: u32, gid: u32) {
    let st = std::process::Command::new("chown").arg("-R").arg(format!("{uid}:{gid}")).arg(p).status().unwrap();
    assert!(st.success(), "chown -R {}", p.display());
}

#[test]
fn rootless_refuses_a_shared_xdg_runtime_dir_and_copies_hard_links_in_its_user_namespace() {
    // The real scenario: XDG_RUNTIME_DIR=/tmp-like (sticky, world-writable), where another
    // user made `ocirt` first. The rootless runtime must not put (or read) state there.
    let Some((uid, gid)) = rootless_user("rootless_refuses_a_shared_xdg_runtime_dir_and_copies_hard_links_in_its_user_namespace") else { return };
    let ctx = Ctx::new("rootless_xdg");
    let rt = ctx.base.join("runtime");
    fs::copy(runtime_bin(), &rt).unwrap();
    chmod(&rt, 0o755);
    let home = ctx.dir("home");
    let (own_xdg, shared) = (home.join("xdg"), ctx.dir("shared"));
    fs::create_dir_all(&own_xdg).unwrap();
    let b = ctx.bundle("home/b");
    let rootless: Value = {
        let o = std::process::Command::new(&rt).args(["spec", "--rootless", "--bundle"]).arg(&home).output().unwrap();
        assert!(o.status.success(), "{o:?}");
        serde_json::from_str(&fs::read_to_string(home.join("config.json")).unwrap()).unwrap()
    };
    let mut config = rootless;
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(["true"]);
    config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
    config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    fs::write(b.dir.join("config.json"), serde_json::to_string(&config).unwrap()).unwrap();
    chown_r(&home, uid, gid);
    chmod(&own_xdg, 0o700);
    chmod(&shared, 0o1777);
    // Another user's `ocirt` in the shared directory.
    fs::create_dir(shared.join("ocirt")).unwrap();
    chmod(&shared.join("ocirt"), 0o777);
    std::os::unix::fs::chown(shared.join("ocirt"), Some(12345), Some(12345)).unwrap();
    let as_user = |xdg: &std::path::Path, args: &[&str]| -> Output {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid", &uid.to_string(), "--regid", &gid.to_string(), "--clear-groups"])
            .arg(&rt)
            .args(args)
            .current_dir(&b.dir)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("XDG_RUNTIME_DIR", xdg)
            .stdin(std::process::Stdio::null());
        ctx.spawn(c, &format!("rootless runtime {}", args.join(" "))).wait(CMD_TIMEOUT)
    };
    let e = as_user(&shared, &["run", "x1"]).expect_error("rootless run with a shared XDG_RUNTIME_DIR");
    assert!(e.contains(&shared.join("ocirt").display().to_string()) && e.contains("owned by uid 12345"), "{e}");
    assert!(fs::read_dir(shared.join("ocirt")).unwrap().next().is_none(), "state was written into another user's directory");
    // Control: the user's own XDG_RUNTIME_DIR works, and leaves nothing.
    as_user(&own_xdg, &["run", "x1"]).expect_ok("rootless run with its own XDG_RUNTIME_DIR");
    assert!(!own_xdg.join("ocirt/x1").exists());

    // tmpcopyup in the user namespace keeps hard links too, set-id and read-only files
    // included (linkat's protected_hardlinks rule holds there: root of the namespace owns them).
    let d = b.rootfs.join("data");
    fs::create_dir_all(&d).unwrap();
    write_file(&d.join("ro"), 10);
    chmod(&d.join("ro"), 0o400);
    write_file(&d.join("suid"), 10);
    chown_r(&d, uid, gid);
    chmod(&d.join("suid"), 0o4755);
    fs::hard_link(d.join("ro"), d.join("ro2")).unwrap();
    fs::hard_link(d.join("suid"), d.join("suid2")).unwrap();
    config["mounts"].as_array_mut().unwrap().push(json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"]}));
    config["process"]["args"] = json!(["sh", "-c", "stat -c '%n %h %a %u' /data/ro /data/ro2 /data/suid /data/suid2"]);
    fs::write(b.dir.join("config.json"), serde_json::to_string(&config).unwrap()).unwrap();
    let o = as_user(&own_xdg, &["run", "x2"]);
    assert_eq!(o.expect_ok("rootless tmpcopyup with hard links").stdout, "/data/ro 2 400 0\n/data/ro2 2 400 0\n/data/suid 2 4755 0\n/data/suid2 2 4755 0\n");
}

#[test]
fn update_under_fault_injection_leaves_every_limit_as_it_was() {
    // Each of the first writes of an update fails once (EIO): whichever controller libcgroups
    // reached first, the cgroup is back to what is in force when the error is reported.
    if !strace_available("update_under_fault_injection_leaves_every_limit_as_it_was") {
        return;
    }
    let ctx = Ctx::new("update_faults");
    let mut b = ctx.bundle("b");
    b.set("linux/resources/memory", json!({"limit": 64 * 1024 * 1024}));
    b.set("linux/resources/cpu", json!({"shares": 512}));
    b.set("linux/resources/pids", json!({"limit": 20}));
    b.args(&["sleep", "100"]);
    let id = ctx.next_id();
    ctx.create_ok(&b, &id);
    let files = [
        ctx.cgroup_dir("memory", &id).join("memory.limit_in_bytes"),
        ctx.cgroup_dir("cpu", &id).join("cpu.shares"),
        ctx.cgroup_dir("pids", &id).join("pids.max"),
    ];
    let read = || files.iter().map(|f| read_trim(f)).collect::<Vec<_>>();
    let before = read();
    let update = |inject: Option<String>| {
        let mut c = std::process::Command::new("strace");
        c.args(["-f", "-qq", "-o", "/dev/null"]);
        if let Some(i) = &inject {
            c.arg("-e").arg(i);
        }
        c.arg(runtime_bin()).arg("--root").arg(&ctx.root).args(["update", "--memory", "100m", "--cpu-share", "256", "--pids-limit", "50"]).arg(&id);
        ctx.spawn(c, &format!("strace {inject:?} update")).wait(CMD_TIMEOUT)
    };
    for when in 1..=8 {
        let o = update(Some(format!("inject=write:error=EIO:when={when}")));
        let e = o.expect_error(&format!("update with write {when} failing"));
        assert!(e.contains("Input/output error") && e.contains("/sys/fs/cgroup/"), "write {when}: {e}");
        assert_eq!(read(), before, "write {when} failed and the update stayed half in force: {e}");
    }
    // Control: the same update without injection changes all three.
    update(None).expect_ok("update without injection");
    assert_eq!(read(), ["104857600", "256", "50"]);
}
