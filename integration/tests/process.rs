//! The container process: rlimits, user, umask, cwd, env, names, oomScoreAdj, sysctl, args
//! lookup, capabilities, the console socket and preserved fds.

use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::time::Duration;

use integration::*;

#[test]
fn rlimits() {
    let ctx = Ctx::new("rlimits");
    let mut b = ctx.bundle("b");
    let o = ctx.probe(&mut b, &["ulimit", "nofile"]);
    assert_eq!(o.out(), "1024 1024", "template RLIMIT_NOFILE");
    b.set(
        "process/rlimits",
        json!([
            {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 800},
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096},
            {"type": "RLIMIT_NPROC", "soft": 321, "hard": 654}
        ]),
    );
    assert_eq!(ctx.probe(&mut b, &["ulimit", "nofile"]).out(), "512 800");
    assert_eq!(ctx.probe(&mut b, &["ulimit", "core"]).out(), "0 4096");
    assert_eq!(ctx.probe(&mut b, &["ulimit", "nproc"]).out(), "321 654");
}

#[test]
fn user_groups_and_umask() {
    let ctx = Ctx::new("user");
    let mut b = ctx.bundle("b");
    let o = ctx.probe(&mut b, &["id"]);
    assert_eq!(o.out(), "uid=0 euid=0 suid=0 gid=0 egid=0 sgid=0 groups=", "default user");
    b.set("process/user", json!({"uid": 1000, "gid": 1001, "additionalGids": [10, 20], "umask": 0o027}));
    let o = ctx.probe(&mut b, &["id"]);
    o.expect_ok("id");
    assert_eq!(o.out(), "uid=1000 euid=1000 suid=1000 gid=1001 egid=1001 sgid=1001 groups=10,20");
    assert_eq!(ctx.probe(&mut b, &["umask"]).out(), "0027");
    // HOME comes from the container's /etc/passwd.
    assert_eq!(ctx.probe(&mut b, &["env", "HOME"]).out(), "/home/user");
    // Files are created with that identity and umask.
    let o = ctx.sh(&mut b, "/probe write /tmp/f x >/dev/null && /probe stat /tmp/f");
    assert!(o.stdout.contains("mode=0640 uid=1000 gid=1001"), "{}", o.stdout);
    // A non-root user without capabilities cannot get root back.
    let o = ctx.probe(&mut b, &["setuid", "0"]);
    o.expect_code(1, "setuid(0) as user 1000");
    assert_eq!(o.out(), "EPERM");
}

#[test]
fn cwd_env_hostname_domainname() {
    let ctx = Ctx::new("procmisc");
    let mut b = ctx.bundle("b");
    assert_eq!(ctx.probe(&mut b, &["cwd"]).out(), "/");
    b.set("process/cwd", json!("/etc"));
    assert_eq!(ctx.probe(&mut b, &["cwd"]).out(), "/etc");
    b.set("process/env", json!(["PATH=/bin", "FOO=bar baz", "EMPTY="]));
    assert_eq!(ctx.probe(&mut b, &["env", "FOO"]).out(), "bar baz");
    assert_eq!(ctx.probe(&mut b, &["env", "EMPTY"]).code, 0);
    let o = ctx.probe(&mut b, &["env", "TERM"]);
    o.expect_code(3, "TERM is not set when env does not give it");
    // The runtime's own environment does not leak in.
    b.probe(&["env"]);
    ctx.write_config(&b, "envleak");
    ctx.track("envleak");
    let mut c = ctx.cmd(&["run", "--bundle", b.dir.to_str().unwrap(), "envleak"]);
    c.env("OCIRT_IT_LEAK", "1");
    let o = ctx.spawn(c, "run with an extra env var").wait(CMD_TIMEOUT);
    o.expect_ok("run probe env");
    assert!(!o.stdout.contains("OCIRT_IT_LEAK") && !o.stdout.contains("CARGO"), "{}", o.stdout);
    b.set("hostname", json!("box-1"));
    b.set("domainname", json!("example.org"));
    assert_eq!(ctx.probe(&mut b, &["hostname"]).out(), "box-1");
    assert_eq!(ctx.probe(&mut b, &["domainname"]).out(), "example.org");
    let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_ne!(host.trim(), "box-1", "the host's hostname changed");
}

/// Whether this test process has capability `bit` in its effective set.
fn has_cap(bit: u32) -> bool {
    let s = fs::read_to_string("/proc/self/status").unwrap();
    let l = s.lines().find(|l| l.starts_with("CapEff:")).unwrap();
    let v = u64::from_str_radix(l.split_whitespace().nth(1).unwrap(), 16).unwrap();
    v & (1 << bit) != 0
}

#[test]
fn oom_score_adj() {
    let ctx = Ctx::new("oomadj");
    let mut b = ctx.bundle("b");
    b.set("process/oomScoreAdj", json!(500));
    assert_eq!(ctx.probe(&mut b, &["read", "/proc/self/oom_score_adj"]).out(), "500");
    // Lowering it needs CAP_SYS_RESOURCE, which some CI sandboxes withhold from the runtime
    // itself: then create must fail cleanly, naming the field.
    b.set("process/oomScoreAdj", json!(-17));
    if has_cap(24) {
        assert_eq!(ctx.probe(&mut b, &["read", "/proc/self/oom_score_adj"]).out(), "-17");
    } else {
        let line = ctx.create(&b, "low", &[]).expect_error("oomScoreAdj -17 without CAP_SYS_RESOURCE");
        assert!(line.contains("oomScoreAdj"), "{line}");
        ctx.assert_no_residue("failed create (oomScoreAdj)");
    }
}

#[test]
fn sysctl_in_ipc_namespace() {
    let ctx = Ctx::new("sysctl");
    let mut b = ctx.bundle("b");
    let host = fs::read_to_string("/proc/sys/kernel/msgmax").unwrap();
    let want = if host.trim() == "4321" { "4322" } else { "4321" };
    b.set("linux/sysctl", json!({"kernel.msgmax": want}));
    let o = ctx.probe(&mut b, &["read", "/proc/sys/kernel/msgmax"]);
    o.expect_ok("read msgmax");
    assert_eq!(o.out(), want);
    assert_eq!(fs::read_to_string("/proc/sys/kernel/msgmax").unwrap(), host, "the host's msgmax changed");
    // An unknown sysctl fails create with its name.
    b.set("linux/sysctl", json!({"kernel.no_such_sysctl_xyz": "1"}));
    let id = ctx.next_id();
    let line = ctx.create(&b, &id, &[]).expect_error("unknown sysctl");
    assert!(line.contains("kernel.no_such_sysctl_xyz"), "{line}");
    ctx.assert_no_residue("failed create (unknown sysctl)");
}

#[test]
fn args_path_lookup() {
    let ctx = Ctx::new("pathlookup");
    let mut b = ctx.bundle("b");
    // busybox applets from /bin through the default PATH.
    b.args(&["true"]);
    ctx.run(&b, "t1", &[]).expect_ok("true via PATH");
    // A custom PATH inside the rootfs.
    fs::create_dir_all(b.host_path("/opt/tools")).unwrap();
    fs::copy(probe_host_path(), b.host_path("/opt/tools/myprobe")).unwrap();
    b.set("process/env", json!(["PATH=/opt/tools:/bin"]));
    b.args(&["myprobe", "exit", "4"]);
    ctx.run(&b, "t2", &[]).expect_code(4, "myprobe via PATH");
    // The host's PATH is not used: a program only the host has is not found.
    b.set("process/env", json!(["PATH=/bin"]));
    b.args(&["myprobe", "exit", "4"]);
    let line = ctx.create(&b, "t3", &[]).expect_error("program not in the container PATH");
    assert!(line.contains("myprobe"), "{line}");
    ctx.assert_no_residue("failed create (not in PATH)");
}

#[test]
fn missing_executable_fails_create_without_residue() {
    let ctx = Ctx::new("missingexe");
    let mut b = ctx.bundle("b");
    b.args(&["/no/such/program", "arg"]);
    let line = ctx.create(&b, "m1", &[]).expect_error("create with a missing executable");
    assert!(line.contains("/no/such/program"), "{line}");
    ctx.assert_no_residue("failed create (missing executable)");
    // Not executable.
    b.put_file("/notexec", "#!/bin/sh\necho hi\n", 0o644);
    b.args(&["/notexec"]);
    let line = ctx.create(&b, "m2", &[]).expect_error("create with a non-executable file");
    assert!(line.contains("/notexec"), "{line}");
    ctx.assert_no_residue("failed create (not executable)");
    // A directory.
    b.args(&["/etc"]);
    let line = ctx.create(&b, "m3", &[]).expect_error("create with a directory as program");
    assert!(line.contains("/etc"), "{line}");
    ctx.assert_no_residue("failed create (directory)");
    // positive control.
    b.probe(&["exit", "0"]);
    ctx.run(&b, "m4", &[]).expect_ok("control");
}

fn cap_line(out: &str, key: &str) -> u64 {
    let l = out.lines().find(|l| l.starts_with(key)).unwrap_or_else(|| panic!("no {key} in {out}"));
    u64::from_str_radix(l.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

const CAP_NET_BIND_SERVICE: u64 = 1 << 10;

#[test]
fn capabilities_exact_sets() {
    let ctx = Ctx::new("caps");
    let mut b = ctx.bundle("b");
    let only = json!(["CAP_NET_BIND_SERVICE"]);
    b.set("process/capabilities", json!({"bounding": only, "effective": only, "permitted": only, "inheritable": only, "ambient": only}));
    b.set("process/user", json!({"uid": 1000, "gid": 1000}));
    let o = ctx.probe(&mut b, &["caps"]);
    o.expect_ok("caps");
    for key in ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
        assert_eq!(cap_line(&o.stdout, key), CAP_NET_BIND_SERVICE, "{key} in\n{}", o.stdout);
    }
    assert!(o.stdout.contains("NoNewPrivs:\t1"), "{}", o.stdout);
    // It works: a non-root user binds a privileged port.
    let port = (1000 + std::process::id() % 23).to_string();
    let o = ctx.probe(&mut b, &["bind", &port]);
    o.expect_ok("bind a port < 1024 with ambient CAP_NET_BIND_SERVICE");
    // control: without the ambient set, user 1000 has no effective capabilities.
    b.set("process/capabilities", json!({"bounding": only, "effective": only, "permitted": only, "inheritable": only}));
    let o = ctx.probe(&mut b, &["caps"]);
    assert_eq!(cap_line(&o.stdout, "CapEff:"), 0, "{}", o.stdout);
    assert_eq!(cap_line(&o.stdout, "CapAmb:"), 0, "{}", o.stdout);
    let o = ctx.probe(&mut b, &["bind", &port]);
    o.expect_code(1, "bind < 1024 without capabilities");
    assert_eq!(o.out(), "EACCES");
    // Root with the template's three capabilities: exactly those.
    let mut b2 = ctx.bundle("b2");
    let o = ctx.probe(&mut b2, &["caps"]);
    let want = (1 << 29) | (1 << 5) | CAP_NET_BIND_SERVICE; // AUDIT_WRITE, KILL, NET_BIND_SERVICE
    assert_eq!(cap_line(&o.stdout, "CapEff:"), want, "{}", o.stdout);
    assert_eq!(cap_line(&o.stdout, "CapBnd:"), want, "{}", o.stdout);
    // ... so privileged operations fail.
    let o = ctx.probe(&mut b2, &["sethostname", "x"]);
    o.expect_code(1, "sethostname without CAP_SYS_ADMIN");
    assert_eq!(o.out(), "EPERM");
}

/// The runtime reads the bounding and ambient sets back from /proc/self/status only when
/// that file is on procfs. Here the container has no /proc and its rootfs ships a file there
/// claiming an empty bounding set: were it believed, nothing would be dropped, and root
/// regains its bounding set at execve (no no_new_privs here), so CAP_SYS_ADMIN would work.
#[test]
fn a_fake_proc_status_in_the_rootfs_is_not_believed() {
    let ctx = Ctx::new("capfake");
    let mut b = ctx.bundle("b");
    b.unmount("/proc");
    b.remove("linux/maskedPaths");
    b.remove("linux/readonlyPaths");
    b.set("process/user", json!({"uid": 0, "gid": 0}));
    b.set("process/noNewPrivileges", json!(false));
    b.put_file("/proc/self/status", "Name:\tfake\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\n", 0o644);
    let none = json!([]);
    b.set("process/capabilities", json!({"bounding": none, "effective": none, "permitted": none, "inheritable": none, "ambient": none}));
    let o = ctx.probe(&mut b, &["sethostname", "x"]);
    o.expect_code(1, "sethostname with an empty bounding set");
    assert_eq!(o.out(), "EPERM");
    // Control: keeping CAP_SYS_ADMIN in the bounding set alone is enough for root to have it
    // after execve, so the refusal above was the bounding set's doing.
    b.set("process/capabilities", json!({"bounding": ["CAP_SYS_ADMIN"], "effective": none, "permitted": none, "inheritable": none, "ambient": none}));
    ctx.probe(&mut b, &["sethostname", "x"]).expect_ok("sethostname with CAP_SYS_ADMIN in the bounding set");
}

// ---- console socket -------------------------------------------------------------------

/// Receives one fd sent with SCM_RIGHTS on a connected unix socket.
fn recv_fd(sock: &std::os::unix::net::UnixStream) -> OwnedFd {
    let mut data = [0u8; 256];
    let mut iov = libc::iovec { iov_base: data.as_mut_ptr() as *mut libc::c_void, iov_len: data.len() };
    // Room for one fd (CMSG_SPACE(sizeof(int))), 8-aligned.
    let mut cbuf = [0u64; 8];
    // SAFETY: a zeroed msghdr is valid; pointers below outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = std::mem::size_of_val(&cbuf) as _;
    // SAFETY: recvmsg on a valid socket with the buffers set up above.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    assert!(n >= 0, "recvmsg: {}", std::io::Error::last_os_error());
    // SAFETY: walking the control messages the kernel filled in.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const i32);
                return OwnedFd::from_raw_fd(fd);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    panic!("no SCM_RIGHTS fd received ({n} bytes of data)");
}

#[test]
fn console_socket_receives_pty_master() {
    let ctx = Ctx::new("console");
    let mut b = ctx.bundle("b");
    b.set("process/terminal", json!(true));
    b.set("process/consoleSize", json!({"height": 33, "width": 111}));
    b.sh("/probe tty; echo done-$((6*7))");
    let sock_path = ctx.base.join("console.sock");
    let listener = UnixListener::bind(&sock_path).unwrap();
    let acceptor = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        recv_fd(&s)
    });
    // Without --console-socket, a terminal container cannot be created.
    let line = ctx.create(&b, "noconsole", &[]).expect_error("terminal without --console-socket");
    assert!(line.contains("console"), "{line}");
    ctx.assert_no_residue("failed create (no console socket)");

    ctx.create(&b, "con", &["--console-socket", sock_path.to_str().unwrap()]).expect_ok("create with console socket");
    let master = acceptor.join().expect("console socket got the pty master");
    ctx.start("con").expect_ok("start");
    let mut f = fs::File::from(master);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    use std::io::Read;
    while std::time::Instant::now() < deadline && !String::from_utf8_lossy(&out).contains("done-42") {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.raw_os_error() == Some(libc::EIO) => break, // slave closed
            Err(e) => panic!("read pty master: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("fd0=tty rows=33 cols=111"), "{text}");
    assert!(text.contains("fd1=tty") && text.contains("fd2=tty"), "{text}");
    assert!(text.contains("done-42"), "{text}");
    ctx.wait_for_status("con", "stopped", Duration::from_secs(10));
}

// ---- preserve-fds ---------------------------------------------------------------------

#[test]
fn preserve_fds_passes_fd3_and_closes_others() {
    let ctx = Ctx::new("preservefds");
    let mut b = ctx.bundle("b");
    b.probe(&["fds"]);
    ctx.write_config(&b, "pf");
    ctx.track("pf");
    let f3 = fs::File::create(ctx.base.join("preserved-three")).unwrap();
    let f4 = fs::File::create(ctx.base.join("not-preserved-four")).unwrap();
    // Copies at high numbers, so that dup2 onto 3 and 4 never is a no-op that keeps
    // FD_CLOEXEC (the files themselves may well have been opened as fd 3 or 4).
    // SAFETY: F_DUPFD_CLOEXEC on fds we own.
    let high = |f: &fs::File| unsafe { OwnedFd::from_raw_fd(libc::fcntl(f.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 100)) };
    let (h3, h4) = (high(&f3), high(&f4));
    let (fd3, fd4) = (h3.as_raw_fd(), h4.as_raw_fd());
    assert!(fd3 >= 100 && fd4 >= 100);
    let bundle = b.dir.to_string_lossy().into_owned();
    let mut c = ctx.cmd(&["run", "--preserve-fds", "1", "--bundle", &bundle, "pf"]);
    // SAFETY: only dup2 (async-signal-safe) between fork and exec.
    unsafe {
        c.pre_exec(move || {
            if libc::dup2(fd3, 3) < 0 || libc::dup2(fd4, 4) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = ctx.spawn(c, "run --preserve-fds 1").wait(CMD_TIMEOUT);
    o.expect_ok("run --preserve-fds 1");
    let fds: Vec<&str> = o.stdout.lines().collect();
    assert!(fds.iter().any(|l| l.starts_with("3 -> ") && l.contains("preserved-three")), "fd 3 not passed: {fds:?}");
    assert!(!fds.iter().any(|l| l.starts_with("4 -> ")), "fd 4 leaked: {fds:?}");
    assert!(!fds.iter().any(|l| l.contains("not-preserved-four")), "fd 4's file leaked: {fds:?}");
    for l in &fds {
        let n: i32 = l.split(" -> ").next().unwrap().parse().unwrap();
        assert!(n <= 3, "unexpected fd in the container: {l} (all: {fds:?})");
    }
    // control: without --preserve-fds, fd 3 is closed too.
    let mut c = ctx.cmd(&["run", "--bundle", &bundle, "pf"]);
    // SAFETY: as above.
    unsafe {
        c.pre_exec(move || {
            if libc::dup2(fd3, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = ctx.spawn(c, "run without --preserve-fds").wait(CMD_TIMEOUT);
    o.expect_ok("run");
    assert!(!o.stdout.lines().any(|l| l.starts_with("3 -> ")), "fd 3 leaked without --preserve-fds: {}", o.stdout);
    drop((f3, f4, h3, h4));
}

#[test]
fn run_foreground_proxies_a_terminal() {
    let ctx = Ctx::new("runtty");
    let mut b = ctx.bundle("b");
    b.set("process/terminal", json!(true));
    b.sh("/probe tty; sleep 0.3; exit 6");
    let o = ctx.run(&b, "tty", &[]);
    o.expect_code(6, "run of a terminal container (stdin /dev/null)");
    assert!(o.stdout.contains("fd0=tty") && o.stdout.contains("fd1=tty"), "{o:?}");
    assert!(ctx.state_residue().is_empty());
}

/// `run` proxying a terminal gives the container's pty the caller's window size at start and
/// again after the caller's terminal is resized (SIGWINCH), as a user resizing a window sees.
#[test]
fn run_foreground_follows_the_callers_window_size() {
    use std::io::Read;
    use std::os::fd::FromRawFd;
    let ctx = Ctx::new("winsize");
    let mut b = ctx.bundle("b");
    b.set("process/terminal", json!(true));
    // Reports its size, waits for a resize, reports again.
    b.sh("stty size; i=0; while [ \"$(stty size)\" = \"30 100\" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; stty size");
    let id = "winsize";
    ctx.write_config(&b, id);
    ctx.track(id);
    let (mut master, mut slave) = (0, 0);
    let ws = libc::winsize { ws_row: 30, ws_col: 100, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: openpty fills two fds; the name and termios pointers may be null.
    assert_eq!(unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &ws) }, 0);
    // SAFETY: both fds were just opened by openpty and are owned here.
    let (master_f, slave_f) = unsafe { (std::fs::File::from_raw_fd(master), std::fs::File::from_raw_fd(slave)) };
    let bundle = b.dir.to_string_lossy().into_owned();
    let mut c = ctx.cmd(&["run", "--bundle", &bundle, id]);
    c.stdin(slave_f.try_clone().unwrap());
    let running = ctx.spawn(c, "runtime run (terminal, stdin a pty)");
    drop(slave_f);
    // The first size comes through stdout (a file), the caller's terminal is only stdin.
    let start = std::time::Instant::now();
    let first = loop {
        let out = running.stdout_now();
        if let Some(l) = out.lines().next().filter(|l| l.split_whitespace().count() == 2) {
            break l.trim().to_string();
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no stty size after 20 s\nstdout: {out:?}\nstderr: {}", running.stderr_now());
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(first, "30 100", "the container's pty should start at the caller's size");
    let ws = libc::winsize { ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCSWINSZ on the pty master we own, with a valid winsize.
    assert_eq!(unsafe { libc::ioctl(master, libc::TIOCSWINSZ, &ws) }, 0);
    // The kernel signals the terminal's foreground process group; the runtime is not in it
    // (stdin only), so send the signal as a job-control shell would.
    // SAFETY: kill of the runtime process this test started.
    unsafe { libc::kill(running.pid(), libc::SIGWINCH) };
    let o = running.wait(Duration::from_secs(20));
    o.expect_ok("run with a resized terminal");
    let lines: Vec<&str> = o.stdout.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    assert_eq!(lines, ["30 100", "40 120"], "{o:?}");
    let mut rest = Vec::new();
    let _ = (&master_f).take(0).read_to_end(&mut rest);
}
