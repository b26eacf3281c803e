//! Escapes through the runtime's file and exec paths: bind sources the container can
//! redirect, the runtime binary run as a `#!` interpreter, `exec` re-reading config.json,
//! stale LISTEN_FDS, NOTIFY_SOCKET naming a non-socket, `exec -d` escaping the pid tree.
//! Each negative check has its positive control beside it.

use std::hash::{Hash, Hasher};
use std::os::fd::AsRawFd;
use std::os::unix::fs::symlink;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::Duration;

use integration::*;

fn running(ctx: &Ctx, b: &mut Bundle) -> String {
    b.probe(&["sleep", "30"]);
    let id = ctx.next_id();
    ctx.run_detached(b, &id);
    id
}

/// Content hash and mtime of a host file.
fn fingerprint(p: &Path) -> (u64, std::time::SystemTime) {
    let bytes = std::fs::read(p).unwrap();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    (h.finish(), std::fs::metadata(p).unwrap().modified().unwrap())
}

// ---- item 7: the runtime binary as an interpreter -------------------------------------

/// Copies the runtime binary's shared libraries (and loader) into the rootfs, so that if the
/// kernel were made to run the runtime inside the container it would really start, as it
/// would in an image with glibc; without them the attack fails with ENOENT by accident.
fn add_runtime_libs(b: &Bundle) {
    let out = std::process::Command::new("ldd").arg(runtime_bin()).output().expect("ldd");
    for word in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        if word.starts_with('/') && Path::new(word).is_file() {
            let dest = b.host_path(word);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(word, &dest).unwrap();
        }
    }
}

#[test]
fn runtime_binary_is_never_run_as_an_interpreter() {
    let ctx = Ctx::new("shebang");
    let mut b = ctx.bundle("b");
    b.set("process/cwd", json!("/"));
    add_runtime_libs(&b);
    // Harmless look-alikes where a parser that splits on \v, \f, \r (or resolves a relative
    // interpreter before chdir) would look; the kernel's names lead to /proc/self/exe.
    std::fs::create_dir_all(b.host_path("/t")).unwrap();
    for (tag, c) in [("v", "\x0b"), ("f", "\x0c"), ("r", "\r")] {
        symlink("/probe", b.host_path(&format!("/t/i{tag}"))).unwrap();
        symlink("/proc/self/exe", b.host_path(&format!("/t/i{tag}{c}"))).unwrap();
        b.put_file(&format!("/t/s{tag}"), &format!("#!/t/i{tag}{c}\n"), 0o755);
    }
    // Relative interpreter: "rt" in the exec's --cwd is the runtime; "rt" in / is not.
    symlink("/probe", b.host_path("/rt")).unwrap();
    std::fs::create_dir_all(b.host_path("/w")).unwrap();
    symlink("/proc/self/exe", b.host_path("/w/rt")).unwrap();
    b.put_file("/t/rel", "#!rt\n", 0o755);
    // Nested: a script whose interpreter is a script naming the runtime.
    b.put_file("/t/n2", "#!/proc/self/exe\n", 0o755);
    b.put_file("/t/n1", "#!/t/n2 -x\n", 0o755);
    // Positive controls.
    b.put_file("/t/ok", "#!/bin/sh\necho ran $0 $1\n", 0o755);
    b.put_file("/t/ok-nested", "#! /t/ok  arg\n", 0o755);
    let id = running(&ctx, &mut b);
    let before = fingerprint(runtime_bin());

    for (what, opts, prog) in [
        ("\\v", None, "/t/sv"),
        ("\\f", None, "/t/sf"),
        ("\\r", None, "/t/sr"),
        ("relative, resolved in --cwd", Some("/w"), "/t/rel"),
        ("nested", None, "/t/n1"),
        ("directly", None, "/proc/self/exe"),
    ] {
        let mut cmd = vec!["exec"];
        if let Some(cwd) = opts {
            cmd.extend(["--cwd", cwd]);
        }
        cmd.extend([id.as_str(), prog]);
        let e = ctx.rt(&cmd).expect_error(what);
        assert!(e.contains("runtime binary"), "{what}: {e}");
    }
    assert_eq!(fingerprint(runtime_bin()), before, "the host's runtime binary changed");

    // Controls: normal scripts (also nested, with an argument) run, and a program run
    // through its fd keeps its own name.
    let o = ctx.rt(&["exec", &id, "/t/ok", "a"]);
    assert_eq!(o.expect_ok("#!/bin/sh script").out(), "ran /t/ok a");
    let o = ctx.rt(&["exec", "--cwd", "/w", &id, "/t/ok-nested", "z"]);
    assert_eq!(o.expect_ok("nested script").out(), "ran /t/ok arg");
    let o = ctx.rt(&["exec", &id, "/probe", "read", "/proc/self/comm"]);
    assert_eq!(o.expect_ok("comm").out(), "probe");
    ctx.delete(&id, true).expect_ok("delete");
}

// ---- item 8: exec uses what create accepted --------------------------------------------

#[test]
fn exec_keeps_the_restrictions_accepted_at_create() {
    let ctx = Ctx::new("exec_snapshot");
    let mut b = ctx.bundle("b");
    let caps = json!(["CAP_NET_BIND_SERVICE"]);
    b.set("process/capabilities", json!({"bounding": caps, "effective": caps, "permitted": caps}));
    b.set("process/noNewPrivileges", json!(true));
    b.set(
        "linux/seccomp",
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdirat", "mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 36}]
        }),
    );
    let id = running(&ctx, &mut b);
    let caps_before = ctx.rt(&["exec", &id, "/probe", "caps"]).expect_ok("caps before").out().to_string();
    assert!(caps_before.contains("Seccomp:\t2") && caps_before.contains("NoNewPrivs:\t1"), "{caps_before}");
    assert!(caps_before.contains("CapEff:\t0000000000000400"), "{caps_before}");

    // The bundle's file is rewritten: no seccomp, every capability, no no_new_privs.
    let mut loose = b.config.clone();
    loose["linux"].as_object_mut().unwrap().remove("seccomp");
    let all = json!(["CAP_SYS_ADMIN", "CAP_NET_BIND_SERVICE", "CAP_DAC_OVERRIDE"]);
    loose["process"]["capabilities"] = json!({"bounding": all, "effective": all, "permitted": all});
    loose["process"]["noNewPrivileges"] = json!(false);
    loose["linux"]["cgroupsPath"] = json!(ctx.cgroup_path("other"));
    std::fs::write(b.dir.join("config.json"), serde_json::to_string(&loose).unwrap()).unwrap();

    let caps_after = ctx.rt(&["exec", &id, "/probe", "caps"]).expect_ok("caps after").out().to_string();
    assert_eq!(caps_after, caps_before, "exec followed the rewritten config.json");
    let o = ctx.rt(&["exec", &id, "/probe", "mkdir", "/tmp/x"]);
    assert!(o.out().contains("ENAMETOOLONG"), "seccomp rule still applies: {}", o.out());

    // Control: the rewritten file really is looser (a new container from it shows that).
    let mut fresh = ctx.bundle("fresh");
    fresh.config = loose;
    fresh.config["linux"].as_object_mut().unwrap().remove("cgroupsPath");
    let o = ctx.probe(&mut fresh, &["caps"]);
    let out = o.expect_ok("caps of the loose config").out().to_string();
    assert!(out.contains("Seccomp:\t0") && out.contains("NoNewPrivs:\t0"), "{out}");
    ctx.delete(&id, true).expect_ok("delete");
}

// ---- item 9: LISTEN_FDS -------------------------------------------------------------

/// `runtime run` with `fd` as its fd 3 and LISTEN_FDS=1; LISTEN_PID is the runtime's own
/// pid when `own_pid`, else 1.
fn run_with_fd3(ctx: &Ctx, b: &mut Bundle, fd: i32, own_pid: bool, probe: &[&str]) -> Output {
    b.probe(probe);
    let id = ctx.next_id();
    ctx.write_config(b, &id);
    ctx.track(&id);
    let listen_pid = if own_pid { "$$" } else { "1" };
    let mut c = std::process::Command::new("/bin/sh");
    c.arg("-c")
        .arg(format!("export LISTEN_PID={listen_pid} LISTEN_FDS=1 LISTEN_FDNAMES=web; exec \"$0\" \"$@\""))
        .arg(runtime_bin())
        .arg("--root")
        .arg(&ctx.root)
        .args(["run", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .stdin(std::process::Stdio::null());
    // SAFETY: dup2 is async-signal-safe; fd stays open in the parent until the child runs.
    unsafe {
        c.pre_exec(move || {
            // dup2 onto itself keeps close-on-exec: clear it then.
            let r = if fd == 3 { libc::fcntl(3, libc::F_SETFD, 0) } else { libc::dup2(fd, 3) };
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    ctx.spawn(c, "runtime run with LISTEN_FDS").wait(CMD_TIMEOUT)
}

#[test]
fn stale_listen_fds_pass_nothing() {
    let ctx = Ctx::new("listen_fds");
    let secret = ctx.dir("host-secret");
    std::fs::write(secret.join("key"), "s3cret").unwrap();
    let dir = std::fs::File::open(&secret).unwrap();
    let mut b = ctx.bundle("b");

    // Stale: LISTEN_PID is not the runtime. The host directory is not passed on.
    let o = run_with_fd3(&ctx, &mut b, dir.as_raw_fd(), false, &["fds"]);
    let out = o.expect_ok("stale LISTEN_FDS").out().to_string();
    assert!(!out.lines().any(|l| l.starts_with("3 ")), "fd 3 reached the container: {out}");
    let o = run_with_fd3(&ctx, &mut b, dir.as_raw_fd(), false, &["env", "LISTEN_FDS"]);
    o.expect_code(3, "LISTEN_FDS not set in the container");

    // Our pid, but not a socket: refused with a clear error, nothing left behind.
    let o = run_with_fd3(&ctx, &mut b, dir.as_raw_fd(), true, &["fds"]);
    let e = o.expect_error("LISTEN_FDS with a directory");
    assert!(e.contains("fd 3 is not a socket"), "{e}");
    ctx.assert_no_residue("refused LISTEN_FDS");

    // Control: our pid and a listening socket: passed, with the systemd variables.
    let sock = std::os::unix::net::UnixListener::bind(ctx.base.join("l.sock")).unwrap();
    let o = run_with_fd3(&ctx, &mut b, sock.as_raw_fd(), true, &["fds"]);
    let out = o.expect_ok("socket activation").out().to_string();
    assert!(out.lines().any(|l| l.starts_with("3 ") && l.contains("socket")), "{out}");
    let o = run_with_fd3(&ctx, &mut b, sock.as_raw_fd(), true, &["env"]);
    let env = o.expect_ok("env").out().to_string();
    assert!(env.contains("LISTEN_FDS=1") && env.contains("LISTEN_PID=1") && env.contains("LISTEN_FDNAMES=web"), "{env}");
}

// ---- issue 10 item 2: exec -d stays in the container's process tree ---------------------

#[test]
fn detached_exec_is_a_child_of_the_container_init() {
    let ctx = Ctx::new("exec_detach");
    let mut b = ctx.bundle("b");
    b.set("annotations", json!({"org.ocirt.init": "true"}));
    b.probe(&["sleep", "3"]);
    let id = ctx.next_id();
    let run = ctx.spawn_run(&b, &id, &[]);
    ctx.wait_for_status(&id, "running", Duration::from_secs(5));
    let init_pid = ctx.state(&id)["pid"].as_i64().unwrap() as i32;

    let pid_file = ctx.base.join("exec.pid");
    let pf = pid_file.to_string_lossy().into_owned();
    ctx.rt(&["exec", "-d", "--pid-file", &pf, &id, "/probe", "sleep", "1"]).expect_ok("exec -d");
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    ctx.track_pid(pid);
    // The reported pid is the program itself, and its parent is the container's init.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the reported pid is alive");
    assert!(status.contains("Name:\tprobe"), "{status}");
    let ppid = status.lines().find_map(|l| l.strip_prefix("PPid:")).unwrap().trim().to_string();
    assert_eq!(ppid, init_pid.to_string(), "exec -d process is not a child of the container init");
    // Seen from inside: parent is pid 1.
    let o = ctx.rt(&[
        "exec",
        &id,
        "/bin/sh",
        "-c",
        "for p in /proc/[0-9]*; do grep -q '^Name:.*probe' $p/status && grep -q 'sleep.1' $p/cmdline 2>/dev/null && grep PPid $p/status; done; true",
    ]);
    assert!(o.expect_ok("ppid inside").out().contains("PPid:\t1"), "{}", o.out());

    // The init reaps it and the foreground run returns when the main process ends.
    let o = run.wait(CMD_TIMEOUT);
    o.expect_ok("foreground run with a detached exec");
    // Control: a foreground exec still returns the program's exit status.
    let mut c = ctx.bundle("c");
    let cid = running(&ctx, &mut c);
    ctx.rt(&["exec", &cid, "/bin/sh", "-c", "exit 7"]).expect_code(7, "foreground exec status");
    // A detached program that cannot be exec'd (noexec mount) is an error, not a silent 0.
    ctx.rt(&["exec", &cid, "/bin/sh", "-c", "cp /probe /dev/shm/p && chmod 755 /dev/shm/p"]).expect_ok("copy to a noexec mount");
    let e = ctx.rt(&["exec", "-d", &cid, "/dev/shm/p", "id"]).expect_error("exec -d from a noexec mount");
    assert!(e.contains("/dev/shm/p") && e.contains("EACCES") || e.contains("ermission denied"), "{e}");
    ctx.rt(&["exec", &cid, "/dev/shm/p", "id"]).expect_code(126, "foreground exec from a noexec mount");
    ctx.delete(&cid, true).expect_ok("delete");
}

// ---- item 6: bind sources the container can change --------------------------------------

fn bind(b: &mut Bundle, dest: &str, src: &Path, opts: &[&str]) {
    let mut o = vec!["rbind"];
    o.extend_from_slice(opts);
    b.mount(dest, "bind", &src.to_string_lossy(), &o);
}

#[test]
fn nested_bind_source_replaced_by_a_symlink_is_refused() {
    let ctx = Ctx::new("bind_nested");
    let site = ctx.dir("site");
    std::fs::create_dir_all(site.join("uploads")).unwrap();
    std::fs::create_dir_all(site.join("deep/er")).unwrap();
    let mut b = ctx.bundle("b");
    bind(&mut b, "/var/www", &site, &["rw"]);
    bind(&mut b, "/srv/uploads", &site.join("uploads"), &["rw"]);
    bind(&mut b, "/srv/deeper", &site.join("deep/er"), &["ro"]);

    // Control: the legitimate layout starts.
    ctx.sh(&mut b, "ls /srv/uploads /srv/deeper").expect_ok("nested sources as real dirs");
    // The container swaps the inner source for a link to /.
    ctx.sh(&mut b, "rm -r /var/www/uploads && ln -s / /var/www/uploads").expect_ok("container plants a link");
    assert!(std::fs::symlink_metadata(site.join("uploads")).unwrap().file_type().is_symlink());
    // The next start refuses, naming the entry and the link; the host's root is never mounted.
    let id = ctx.next_id();
    b.probe(&["ls", "/srv/uploads"]);
    let o = ctx.run(&b, &id, &[]);
    let e = o.expect_error("start after the swap");
    assert!(e.contains("mounts[") && e.contains("/srv/uploads") && e.contains("container can write"), "{e}");
    ctx.assert_no_residue("refused bind source");
    // Then a parent directory of another source instead: also refused.
    std::fs::remove_file(site.join("uploads")).unwrap();
    std::fs::create_dir(site.join("uploads")).unwrap();
    std::fs::create_dir_all(ctx.base.join("elsewhere/er")).unwrap();
    ctx.sh(&mut b, &format!("rm -r /var/www/deep && ln -s {} /var/www/deep", ctx.base.join("elsewhere").display()))
        .expect_ok("container plants a link on the way");
    b.probe(&["ls", "/srv/deeper"]);
    let id = ctx.next_id();
    let e = ctx.run(&b, &id, &[]).expect_error("parent swapped");
    assert!(e.contains("/srv/deeper") && e.contains("deep") && e.contains("container can write"), "{e}");
}

#[test]
fn bind_source_inside_a_writable_rootfs_is_not_redirected() {
    let ctx = Ctx::new("bind_in_rootfs");
    let mut b = ctx.bundle("b");
    b.set("root/readonly", json!(false));
    std::fs::create_dir_all(b.host_path("/data/sub")).unwrap();
    let src = b.host_path("/data/sub");
    bind(&mut b, "/mnt/sub", &src, &["ro"]);
    ctx.sh(&mut b, "ls /mnt/sub").expect_ok("control: source inside the rootfs");
    ctx.sh(&mut b, "rm -r /data/sub && ln -s / /data/sub").expect_ok("container plants a link");
    let id = ctx.next_id();
    b.probe(&["ls", "/mnt/sub"]);
    let e = ctx.run(&b, &id, &[]).expect_error("link in the writable rootfs");
    assert!(e.contains("container can write"), "{e}");
}

#[test]
fn trusted_symlinks_in_bind_sources_still_work() {
    let ctx = Ctx::new("bind_trusted");
    let data = ctx.dir("hostdata");
    std::fs::write(data.join("f"), "hello").unwrap();
    let link = ctx.base.join("link");
    symlink(&data, &link).unwrap();
    let mut b = ctx.bundle("b");
    bind(&mut b, "/mnt/d", &link, &["ro"]);
    let o = ctx.probe(&mut b, &["read", "/mnt/d/f"]);
    assert_eq!(o.expect_ok("source through a host-made symlink").out(), "hello");
}

#[test]
fn bind_sources_under_root_only_dirs_work_in_a_user_namespace() {
    use std::os::unix::fs::PermissionsExt;
    let ctx = Ctx::new("bind_userns");
    let private = ctx.dir("private");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::create_dir_all(private.join("shared")).unwrap();
    std::fs::set_permissions(private.join("shared"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(private.join("shared/f"), "inside").unwrap();
    let mut b = ctx.bundle("b");
    b.namespace("user");
    b.namespace("network");
    b.set("linux/uidMappings", json!([{"containerID": 0, "hostID": 200000, "size": 65536}]));
    b.set("linux/gidMappings", json!([{"containerID": 0, "hostID": 200000, "size": 65536}]));
    // /mnt exists in the rootfs: the mapped root may not create mount points there.
    bind(&mut b, "/mnt", &private.join("shared"), &["ro"]);
    let o = ctx.probe(&mut b, &["read", "/mnt/f"]);
    assert_eq!(o.expect_ok("bind source below a 0700 dir, mapped root").out(), "inside");
}

// ---- item 10: NOTIFY_SOCKET naming something else than a socket --------------------------

#[test]
fn notify_socket_naming_a_directory_is_not_mounted() {
    let ctx = Ctx::new("notify_dir");
    let hostdir = ctx.dir("not-a-socket");
    std::fs::write(hostdir.join("secret"), "x").unwrap();
    let mut b = ctx.bundle("b");
    b.push("mounts", json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}));
    b.probe(&["ls", "/run"]);
    let o = ctx.run_with_env(&b, &[("NOTIFY_SOCKET", hostdir.as_os_str())]);
    let out = o.expect_ok("run").out().to_string();
    assert!(!out.contains("notify"), "something was mounted for NOTIFY_SOCKET: {out}");
    assert!(o.stderr.contains("not a socket"), "{}", o.stderr);
    // Control: a real socket is passed (integration/tests/notify.rs checks READY=1 arrives).
    let sock = ctx.base.join("n.sock");
    let _s = std::os::unix::net::UnixDatagram::bind(&sock).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
    b.sh("/probe stat /run/notify/notify.sock; /probe chmod /run/notify/notify.sock 777; /probe notify READY=1");
    let o = ctx.run_with_env(&b, &[("NOTIFY_SOCKET", sock.as_os_str())]);
    let out = o.expect_ok("run").out().to_string();
    assert!(out.contains("type=socket") && out.contains("EROFS") && out.ends_with("sent"), "{out}");
    // The socket works, but its host inode cannot be changed from inside.
    assert_eq!(std::fs::metadata(&sock).unwrap().permissions().mode(), mode);
    let mut buf = [0u8; 16];
    _s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let n = _s.recv(&mut buf).expect("READY=1 through the read-only bind");
    assert_eq!(&buf[..n], b"READY=1");
}
