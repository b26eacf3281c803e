//! The red-team leftovers of the 2026-11-28 round: an unreadable uid_map, a rootless cpuset
//! limit without the cpuset controller, extended attributes through tmpcopyup, a damaged
//! state file under the cgroup claim index.

use integration::*;
use std::fs;
use std::path::{Path, PathBuf};
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

// ---- rootless: cpu delegated, cpuset not ---------------------------------------------------

fn chown_r(p: &Path, uid: u32, gid: u32) {
    let st = Command::new("chown").arg("-R").arg(format!("{uid}:{gid}")).arg(p).status().unwrap();
    assert!(st.success(), "chown -R {}", p.display());
}

/// Removes the delegated directory and the prefix above it when the test ends, passed or not.
struct Delegated(Vec<PathBuf>);

impl Drop for Delegated {
    fn drop(&mut self) {
        for d in &self.0 {
            let _ = fs::remove_dir(d);
        }
    }
}

#[test]
fn rootless_cpuset_fields_without_the_cpuset_controller_are_refused_by_name() {
    let test = "rootless_cpuset_fields_without_the_cpuset_controller_are_refused_by_name";
    let Some((uid, gid)) = rootless_user(test) else { return };
    // The v1 hierarchy of the cpu controller (cpu,cpuacct here), apart from cpuset's.
    let Some(cpu_h) = cgroup_hierarchies().into_iter().find(|h| {
        let n = h.file_name().unwrap().to_string_lossy().into_owned();
        n.split(',').any(|c| c == "cpu") && !n.split(',').any(|c| c == "cpuset")
    }) else {
        assert!(std::env::var_os("OCIRT_REQUIRE_ALL").is_none(), "{test}: no cgroup v1 cpu hierarchy apart from cpuset");
        eprintln!("{test}: skipped: no cgroup v1 cpu hierarchy apart from cpuset");
        return;
    };
    let ctx = Ctx::new("rootless_cpuset");
    let rt = ctx.base.join("runtime");
    fs::copy(runtime_bin(), &rt).unwrap();
    fs::set_permissions(&rt, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // Root delegates <prefix>/deleg of the cpu hierarchy to the user, and nothing else.
    let prefix = cpu_h.join(ctx.cg_prefix.trim_start_matches('/'));
    let deleg = prefix.join("deleg");
    fs::create_dir_all(&deleg).unwrap();
    let _cleanup = Delegated(vec![deleg.join("c1"), deleg.clone(), prefix.clone()]);
    chown_r(&deleg, uid, gid);
    let home = ctx.dir("home");
    let xdg = home.join("xdg");
    fs::create_dir_all(&xdg).unwrap();
    let b = ctx.bundle("home/b");
    let o = Command::new(&rt).args(["spec", "--rootless", "--bundle"]).arg(&home).output().unwrap();
    assert!(o.status.success(), "{o:?}");
    let mut config: Value = serde_json::from_str(&fs::read_to_string(home.join("config.json")).unwrap()).unwrap();
    config["process"]["terminal"] = json!(false);
    config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
    config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    config["linux"]["cgroupsPath"] = json!(format!("{}/deleg/c1", ctx.cg_prefix));
    let shares = deleg.join("c1/cpu.shares");
    config["process"]["args"] = json!(["cat", shares.to_str().unwrap()]);
    chown_r(&home, uid, gid);
    fs::set_permissions(&xdg, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let run = |cpu: Value, id: &str| -> Output {
        config_with(&b.dir, &config, cpu, uid, gid);
        let mut c = Command::new("setpriv");
        c.args(["--reuid", &uid.to_string(), "--regid", &gid.to_string(), "--clear-groups"])
            .arg(&rt)
            .args(["run", id])
            .current_dir(&b.dir)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("XDG_RUNTIME_DIR", &xdg)
            .stdin(Stdio::null());
        ctx.spawn(c, &format!("rootless runtime run {id}")).wait(CMD_TIMEOUT)
    };
    // Positive control: the delegated controller works (the container reads its own limit).
    let o = run(json!({"shares": 512}), "cpu-ok");
    assert_eq!(o.expect_ok("rootless run with cpu.shares in the delegated cpu hierarchy").out(), "512", "{o:?}");
    assert!(!deleg.join("c1").exists() && !xdg.join("ocirt/cpu-ok").exists(), "the control run left its cgroup or state");
    for field in ["cpus", "mems"] {
        let o = run(json!({"shares": 512, field: "0"}), &format!("cpuset-{field}"));
        let e = o.expect_error(&format!("rootless cpu.{field} without cpuset"));
        let name = format!("linux.resources.cpu.{field}");
        assert!(
            e.lines().count() == 1
                && e.contains(&format!("{name} sets a limit"))
                && e.contains("cpuset cgroup controller")
                && e.contains(&format!("remove {name}")),
            "{field}: {e}"
        );
        assert!(!e.contains("cpuset.cpus") && !e.contains("cpuset.mems"), "{field}: the error names a file, not the field: {e}");
        assert!(!deleg.join("c1").exists() && !xdg.join(format!("ocirt/cpuset-{field}")).exists(), "{field}: the refused run left its cgroup or state");
    }
}

fn config_with(bundle: &Path, base: &Value, cpu: Value, uid: u32, gid: u32) {
    let mut c = base.clone();
    c["linux"]["resources"] = json!({ "cpu": cpu });
    let p = bundle.join("config.json");
    fs::write(&p, serde_json::to_string(&c).unwrap()).unwrap();
    chown_r(&p, uid, gid);
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

// ---- tmpcopyup keeps extended attributes ---------------------------------------------------

fn cpath(p: &Path) -> std::ffi::CString {
    std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap()
}

/// lsetxattr (not followed).
fn set_xattr(p: &Path, name: &str, value: &[u8]) {
    let n = std::ffi::CString::new(name).unwrap();
    // SAFETY: C strings and a value readable for its length.
    let r = unsafe { libc::lsetxattr(cpath(p).as_ptr(), n.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    assert_eq!(r, 0, "lsetxattr {name} on {}: {}", p.display(), std::io::Error::last_os_error());
}

/// lgetxattr (not followed): None if the file has no such attribute.
fn get_xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    let n = std::ffi::CString::new(name).unwrap();
    let mut buf = vec![0u8; 4096];
    // SAFETY: C strings and a buffer writable for its length.
    let r = unsafe { libc::lgetxattr(cpath(p).as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        assert_eq!(e.raw_os_error(), Some(libc::ENODATA), "lgetxattr {name} on {}: {e}", p.display());
        return None;
    }
    buf.truncate(r as usize);
    Some(buf)
}

/// All attribute names of `p` (llistxattr, not followed).
fn list_xattrs(p: &Path) -> Vec<String> {
    let mut buf = vec![0u8; 4096];
    // SAFETY: a C string and a buffer writable for its length.
    let r = unsafe { libc::llistxattr(cpath(p).as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    assert!(r >= 0, "llistxattr {}: {}", p.display(), std::io::Error::last_os_error());
    buf.truncate(r as usize);
    buf.split(|&b| b == 0).filter(|n| !n.is_empty()).map(|n| String::from_utf8_lossy(n).into_owned()).collect()
}

/// security.capability, VFS_CAP_REVISION_2 with the effective flag: CAP_NET_RAW permitted.
fn net_raw_capability() -> Vec<u8> {
    let words: [u32; 5] = [0x0200_0000 | 1, 1 << 13, 0, 0, 0];
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// An image directory /data with: `plain` (no attributes: the control), `user` (user.*),
/// `capped` (security.capability), `dir` (user.* on a directory), `link` (trusted.* on a
/// symlink, reached by name), `labelled` (security.selinux, which is not copied by design).
fn xattr_image(ctx: &Ctx) -> (Bundle, PathBuf) {
    let mut b = ctx.bundle("b");
    let d = b.rootfs.join("data");
    fs::create_dir_all(d.join("dir")).unwrap();
    for f in ["plain", "user", "capped", "labelled"] {
        fs::write(d.join(f), f).unwrap();
    }
    std::os::unix::fs::symlink("plain", d.join("link")).unwrap();
    set_xattr(&d.join("user"), "user.note", b"kept");
    set_xattr(&d.join("capped"), "security.capability", &net_raw_capability());
    set_xattr(&d.join("dir"), "user.dirnote", b"dir kept");
    set_xattr(&d.join("link"), "trusted.linknote", b"link kept");
    set_xattr(&d.join("labelled"), "security.selinux", b"system_u:object_r:image_t:s0");
    b.push("mounts", json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "size=4m"]}));
    b.args(&["sleep", "100"]);
    (b, d)
}

#[test]
fn tmpcopyup_keeps_extended_attributes_and_file_capabilities() {
    let ctx = Ctx::new("copyup_xattrs");
    let (b, image) = xattr_image(&ctx);
    let id = ctx.next_id();
    ctx.run_detached(&b, &id);
    let pid = ctx.state(&id)["pid"].as_i64().unwrap();
    let copy = PathBuf::from(format!("/proc/{pid}/root/data"));
    // The copy is the tmpfs, not the image seen through it.
    let fs_type = Command::new("stat").args(["-f", "-c", "%T"]).arg(&copy).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&fs_type.stdout).trim(), "tmpfs");
    assert_eq!(get_xattr(&copy.join("user"), "user.note").as_deref(), Some(&b"kept"[..]));
    assert_eq!(get_xattr(&copy.join("capped"), "security.capability"), Some(net_raw_capability()));
    assert_eq!(get_xattr(&copy.join("dir"), "user.dirnote").as_deref(), Some(&b"dir kept"[..]));
    assert_eq!(get_xattr(&copy.join("link"), "trusted.linknote").as_deref(), Some(&b"link kept"[..]));
    if let Some(getcap) = ["/usr/sbin/getcap", "/sbin/getcap"].into_iter().find(|p| Path::new(p).exists()) {
        let o = Command::new(getcap).arg(copy.join("capped")).output().unwrap();
        assert!(String::from_utf8_lossy(&o.stdout).contains("cap_net_raw=ep"), "getcap: {o:?}");
    }
    // By design: the LSM label comes from the tmpfs, not the image.
    assert_eq!(get_xattr(&copy.join("labelled"), "security.selinux"), None);
    assert_eq!(fs::read_to_string(copy.join("labelled")).unwrap(), "labelled");
    // Control: a file without attributes has none in the copy either, and the image's
    // files keep theirs (the copy read them, it did not move them).
    assert_eq!(list_xattrs(&copy.join("plain")), Vec::<String>::new());
    assert_eq!(fs::read_to_string(copy.join("plain")).unwrap(), "plain");
    assert_eq!(get_xattr(&image.join("user"), "user.note").as_deref(), Some(&b"kept"[..]));
    ctx.kill(&id, "KILL");
    ctx.delete(&id, true);
    ctx.assert_no_residue_for(&id, "the run with attributes");
}

/// A POSIX ACL in its xattr form: user::rwx, user:1234:rwx, group::r-x, mask::rwx, other::r-x.
fn acl_with_user_1234() -> Vec<u8> {
    const UNDEFINED: u32 = u32::MAX;
    let entries: [(u16, u16, u32); 5] = [(0x01, 7, UNDEFINED), (0x02, 7, 1234), (0x04, 5, UNDEFINED), (0x10, 7, UNDEFINED), (0x20, 5, UNDEFINED)];
    let mut v = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in entries {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&perm.to_le_bytes());
        v.extend_from_slice(&id.to_le_bytes());
    }
    v
}

#[test]
fn tmpcopyup_keeps_acls_and_gives_the_root_its_default_acl_only_after_the_content() {
    // The image directory has a default ACL (granting uid 1234), set after its files were
    // made: they have none. Set on the tmpfs root before the copy, it would be inherited by
    // every copied file, granting uid 1234 what the image does not.
    let ctx = Ctx::new("copyup_acls");
    let mut b = ctx.bundle("b");
    let d = b.rootfs.join("data");
    fs::create_dir_all(&d).unwrap();
    fs::write(d.join("bare"), "bare").unwrap();
    fs::write(d.join("granted"), "granted").unwrap();
    set_xattr(&d.join("granted"), "system.posix_acl_access", &acl_with_user_1234());
    set_xattr(&d, "system.posix_acl_default", &acl_with_user_1234());
    b.push("mounts", json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"]}));
    b.args(&["sleep", "100"]);
    let id = ctx.next_id();
    ctx.run_detached(&b, &id);
    let pid = ctx.state(&id)["pid"].as_i64().unwrap();
    let copy = PathBuf::from(format!("/proc/{pid}/root/data"));
    assert_eq!(get_xattr(&copy, "system.posix_acl_default"), Some(acl_with_user_1234()), "the root's default ACL");
    assert_eq!(get_xattr(&copy.join("granted"), "system.posix_acl_access"), Some(acl_with_user_1234()), "a file's ACL");
    // Control: the file without an ACL in the image has none in the copy.
    assert_eq!(list_xattrs(&copy.join("bare")), Vec::<String>::new());
    ctx.kill(&id, "KILL");
    ctx.delete(&id, true);
    ctx.assert_no_residue_for(&id, "the run with ACLs");
}

#[test]
fn tmpcopyup_fails_closed_when_the_tmpfs_refuses_an_attribute() {
    // The tmpfs refusing an attribute (EOPNOTSUPP injected into the set, as a tmpfs without
    // a handler for it answers) fails the start with one line naming the file and the
    // attribute; a file that silently lost its capabilities would run differently.
    if !tool_available("tmpcopyup_fails_closed_when_the_tmpfs_refuses_an_attribute", "strace") {
        return;
    }
    let ctx = Ctx::new("copyup_xattr_fail");
    let (mut b, _) = xattr_image(&ctx);
    b.args(&["true"]);
    let run = |inject: Option<&str>| {
        let id = ctx.next_id();
        ctx.write_config(&b, &id);
        ctx.track(&id);
        let mut c = Command::new("strace");
        c.args(["-f", "-qq", "-o", "/dev/null"]);
        if let Some(i) = inject {
            c.args(["-e", &format!("inject={i}")]);
        }
        c.arg(runtime_bin()).arg("--root").arg(&ctx.root).args(["run", "--bundle"]).arg(&b.dir).arg(&id).stdin(Stdio::null());
        (ctx.spawn(c, &format!("strace {inject:?} runtime run")).wait(CMD_TIMEOUT), id)
    };
    // Positive control: the same traced run without injection.
    let (o, id) = run(None);
    o.expect_ok("traced run without injection");
    ctx.assert_no_residue_for(&id, "the control run");
    for (inject, want) in [
        // Files and directories are set through their fd, a symlink by name.
        ("fsetxattr:error=EOPNOTSUPP", ["copy extended attributes of /data/", ": Operation not supported"]),
        ("lsetxattr:error=EOPNOTSUPP", ["copy extended attributes of /data/link: trusted.linknote", ": Operation not supported"]),
        ("flistxattr:error=EIO", ["copy extended attributes of /data", "Input/output error"]),
    ] {
        let (o, id) = run(Some(inject));
        let e = o.expect_error(inject);
        assert!(e.starts_with("runtime: ") || e.contains("tmpcopyup: "), "{inject}: {e}");
        assert!(want.iter().all(|w| e.contains(w)), "{inject}: {want:?} expected in {e}");
        let del = ctx.rt(&["delete", "--force", &id]);
        assert!(del.ok() || del.stderr.contains("does not exist"), "{inject}: delete: {del:?}");
        ctx.assert_no_residue_for(&id, inject);
    }
}

// ---- cgroup claim index: a damaged state file in a root without index ----------------------

#[test]
fn a_damaged_state_file_in_a_root_without_index_is_named_and_delete_force_clears_it() {
    let ctx = Ctx::new("claims_damaged");
    let mut b = ctx.bundle("b");
    b.args(&["true"]);
    // A root as an older runtime left it: a container entry, no claim index. Its state file
    // is cut short, so its cgroup is unknown.
    fs::create_dir_all(&ctx.root).unwrap();
    fs::set_permissions(&ctx.root, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let bad = ctx.root.join("bad");
    fs::create_dir_all(&bad).unwrap();
    fs::write(bad.join("state.json"), r#"{"id": "bad", "cgroup_pa"#).unwrap();
    let id = ctx.next_id();
    let o = ctx.run(&b, &id, &[]);
    let e = o.expect_error("run beside a damaged state file");
    assert!(e.contains(&format!("{}: damaged container state", bad.join("state.json").display())) && e.contains("delete --force bad"), "{e}");
    assert!(!ctx.root.join(".cgroup-claims").exists() && !ctx.root.join(".cgroup-claims.building").exists(), "a partial index was left");
    assert!(!ctx.root.join(&id).exists(), "the refused run left its state");
    // The fix the message names works, and the root is healthy again (positive control).
    ctx.rt(&["delete", "--force", "bad"]).expect_ok("delete --force of the damaged container");
    assert!(!bad.exists());
    let id = ctx.next_id();
    ctx.run(&b, &id, &[]).expect_ok("run in the repaired root");
    ctx.assert_no_residue("damaged state");
}
