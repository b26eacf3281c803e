//! The network guard: on the host network, a container's reach is exactly what its
//! annotations declare, for every protocol and call path (issue 9, items 1-5).
//!
//! Each class has a host-side witness (a listener holding a token the container is never
//! told, a UDP receiver, a host client) and a positive control beside it: the declared
//! port still works, and a control container without the network rules does reach the
//! forbidden target with the same probe verb, so a broken probe cannot pass.
//!
//! The containers here run WITHOUT seccomp: the BPF guard must close these paths on its
//! own (the shipped profiles are a second layer, and io_uring would bypass them anyway).
//! Landlock's TCP rules stay on, as spec-gen writes them.
//!
//! docs/security.md, "Host network", maps each class to its mechanism and to these tests.

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use integration::checks::*;
use integration::*;

const NET_UDP_BIND: &str = "org.ocirt.net.udp.bind";
const NET_UDP_CONNECT: &str = "org.ocirt.net.udp.connect";
const NET_UNIX_BIND: &str = "org.ocirt.net.unix.bind";
const DATA: &str = "/data";

struct Svc {
    b: Bundle,
    data: PathBuf,
}

/// A container like a spec-gen service on the host network (no capabilities,
/// no_new_privs, read-only root, Landlock fs rules) with TCP lists `bind`/`connect`, and
/// no seccomp profile (see the module docs).
fn guarded(ctx: &Ctx, name: &str, bind: &[u16], connect: &[u16]) -> Svc {
    let mut b = ctx.bundle(name);
    let data = ctx.dir(&format!("{name}-data"));
    b.set("process/terminal", json!(false));
    b.set("process/user", json!({"uid": 0, "gid": 0}));
    b.set("process/noNewPrivileges", json!(true));
    let none: [&str; 0] = [];
    b.set("process/capabilities", json!({"bounding": none, "effective": none, "inheritable": none, "permitted": none, "ambient": none}));
    b.set("root", json!({"path": "rootfs", "readonly": true}));
    b.set("linux/namespaces", json!([{"type": "mount"}, {"type": "pid"}, {"type": "ipc"}, {"type": "uts"}]));
    b.remove("linux/seccomp");
    b.mount(DATA, "bind", data.to_str().unwrap(), &["bind", "rw", "nosuid", "nodev", "noexec"]);
    fs::create_dir_all(b.host_path(DATA)).unwrap();
    b.set(
        "annotations",
        json!({
            LL_FS_EXEC: r#"["/"]"#,
            LL_FS_WRITE: format!(r#"["/tmp", "/dev", "{DATA}"]"#),
            LL_NET_BIND: serde_json::to_string(bind).unwrap(),
            LL_NET_CONNECT: serde_json::to_string(connect).unwrap(),
        }),
    );
    Svc { b, data }
}

/// The control: the same container without any network rule.
fn unguarded(b: &mut Bundle) {
    b.remove(&format!("annotations/{LL_NET_BIND}"));
    b.remove(&format!("annotations/{LL_NET_CONNECT}"));
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("0.0.0.0:0").unwrap().local_addr().unwrap().port()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("0.0.0.0:0").unwrap().local_addr().unwrap().port()
}

/// Whether this host can load the guard's LSM layer (abstract unix binds, families).
fn lsm_layer() -> bool {
    let o = Ctx::new("net_features").rt(&["features"]);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("features is JSON");
    let g = v["annotations"]["org.ocirt.net.guard"].as_str().expect("org.ocirt.net.guard in features").to_string();
    assert!(g.contains("tcp/udp port lists on every call path") && g.contains(": enforced;"), "{g}");
    g.ends_with("non-IP socket families: enforced")
}

// ================================================================== 1 + 2: TCP reach

/// MPTCP connect, TCP fast open through sendto/sendmsg/sendmmsg (v4 and v6, and over
/// MPTCP), the same through io_uring, and plain connect never reach a host listener on an undeclared port: its token
/// is never read and it never accepts. The declared port still connects (also by fast
/// open), and a container without the rules reaches the forbidden listener with the same
/// verbs.
#[test]
fn tcp_reach_is_exactly_the_connect_list() {
    let ctx = Ctx::new("net_reach");
    let secret = token("forbidden");
    let open = token("declared");
    let forbidden = HostListener::new(&secret);
    let allowed = HostListener::new(&open);
    let (fp, ap) = (forbidden.port.to_string(), allowed.port.to_string());
    let mut s = guarded(&ctx, "g", &[free_tcp_port()], &[allowed.port]);
    let r = probes(
        &ctx,
        &mut s.b,
        &[
            &["tcp-reach", "connect", "127.0.0.1", &fp],
            &["tcp-reach", "connect", "::1", &fp],
            &["tcp-reach", "mptcp", "127.0.0.1", &fp],
            &["tcp-reach", "mptcp", "::1", &fp],
            &["tcp-reach", "fo-sendto", "127.0.0.1", &fp],
            &["tcp-reach", "fo-sendto", "::1", &fp],
            &["tcp-reach", "fo-sendmsg", "127.0.0.1", &fp],
            &["tcp-reach", "fo-sendmsg", "::1", &fp],
            &["tcp-reach", "fo-sendmmsg", "127.0.0.1", &fp],
            &["tcp-reach", "mptcp-fo-sendto", "127.0.0.1", &fp],
            &["tcp-reach", "fo-sendto", "::ffff:127.0.0.1", &fp],
            // io_uring, which seccomp never sees
            &["uring-net", "socket-mptcp", "127.0.0.1", &fp],
            &["uring-net", "fo-sendmsg", "127.0.0.1", &fp],
            &["uring-net", "connect", "::1", &fp],
            // positive controls
            &["tcp-reach", "connect", "127.0.0.1", &ap],
            &["tcp-reach", "fo-sendto", "::1", &ap],
            &["tcp-reach", "mptcp", "127.0.0.1", &ap],
            &["uring-net", "fo-sendmsg", "::1", &ap],
        ],
    );
    for (i, o) in r[..14].iter().enumerate() {
        if i < 2 || i == 13 {
            // Plain connect(2) meets Landlock first (EACCES); the guard is behind it.
            assert!(o.code == 1 && (o.out() == "EACCES" || o.out() == "EPERM"), "plain connect: {} {}", o.stdout, o.stderr);
            continue;
        }
        denied(o, "EPERM", &format!("forbidden reach #{i}"));
        assert!(!o.stdout.contains(&secret));
    }
    assert_eq!(worked(&r[14], "connect to the declared port"), format!("read {open}"));
    assert_eq!(worked(&r[15], "fast open to the declared port"), format!("read {open}"));
    // MPTCP is refused outright, even to a declared port.
    denied(&r[16], "EPERM", "MPTCP socket");
    assert_eq!(worked(&r[17], "io_uring fast open to the declared port"), format!("read {open}"));
    assert_eq!(forbidden.count(), 0, "the forbidden listener accepted a connection from the guarded container");

    // Control: without the network rules, the same verbs reach the forbidden listener.
    unguarded(&mut s.b);
    let r = probes(
        &ctx,
        &mut s.b,
        &[
            &["tcp-reach", "mptcp", "127.0.0.1", &fp],
            &["tcp-reach", "fo-sendmsg", "::1", &fp],
            &["tcp-reach", "mptcp-fo-sendto", "127.0.0.1", &fp],
            &["uring-net", "fo-sendmsg", "127.0.0.1", &fp],
        ],
    );
    for o in &r {
        assert_eq!(worked(o, "control reach"), format!("read {secret}"));
    }
    assert!(forbidden.count() >= 4);
}

// ================================================================== 3: listen

/// Runs `tcp-listen` in a container in the background; once the port file appears, the
/// host tries to connect. Returns (host connected?, container output).
fn listen_witness(ctx: &Ctx, s: &mut Svc, args: &[&str]) -> (Option<bool>, Output) {
    let file = s.data.join(args[2].trim_start_matches("/data/"));
    let _ = fs::remove_file(&file);
    s.b.probe(args);
    let id = ctx.next_id();
    let mut run = ctx.spawn_run(&s.b, &id, &[]);
    let start = Instant::now();
    let mut connected = None;
    while start.elapsed() < Duration::from_secs(10) {
        if let Ok(p) = fs::read_to_string(&file) {
            if let Ok(port) = p.trim().parse::<u16>() {
                let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
                connected = Some(TcpStream::connect_timeout(&addr, Duration::from_millis(1500)).is_ok());
                break;
            }
        }
        if run.wait_timeout(Duration::from_millis(20)).is_some() {
            break;
        }
    }
    (connected, run.wait(CMD_TIMEOUT))
}

/// listen() without bind (the kernel picks an ephemeral port on 0.0.0.0) gives no
/// listener a host client can reach; MPTCP listeners are refused; a declared port binds,
/// listens and accepts the host's connection. Control: without the rules the unbound
/// listener is reachable.
#[test]
fn listen_is_exactly_the_bind_list() {
    let ctx = Ctx::new("net_listen");
    let declared = free_tcp_port();
    let other = free_tcp_port().to_string();
    let mut s = guarded(&ctx, "g", &[declared], &[]);

    let (host, o) = listen_witness(&ctx, &mut s, &["tcp-listen", "unbound", "/data/p1", "3"]);
    if o.code == 1 {
        // The LSM layer refuses the listen() itself.
        denied(&o, "EPERM", "listen without bind");
        assert_eq!(host, None);
    } else {
        assert_eq!(host, Some(false), "a host client reached the autobound listener\n{}", o.stdout);
        assert_eq!(o.code, 3, "container saw a connection: {}", o.stdout);
    }
    let (host, o) = listen_witness(&ctx, &mut s, &["tcp-listen", &declared.to_string(), "/data/p2", "5"]);
    assert_eq!(host, Some(true), "host could not reach the declared listener: {} {}", o.stdout, o.stderr);
    assert!(worked(&o, "declared listener").ends_with("accepted"));

    let r = probes(
        &ctx,
        &mut s.b,
        &[
            &["tcp-listen", &other, "/data/p3", "0", "mptcp"],
            &["tcp-listen", &declared.to_string(), "/data/p4", "0", "mptcp"],
            &["tcp-listen", "unbound", "/data/p5", "0", "mptcp"],
        ],
    );
    for (i, o) in r.iter().enumerate() {
        denied(o, "EPERM", &format!("listen #{i}"));
    }

    // Control: without the rules, the unbound listener is reachable from the host.
    unguarded(&mut s.b);
    let (host, o) = listen_witness(&ctx, &mut s, &["tcp-listen", "unbound", "/data/p7", "5"]);
    assert_eq!(host, Some(true), "control: {} {}", o.stdout, o.stderr);
    assert!(worked(&o, "control listener").ends_with("accepted"));
}

// ================================================================== 4: abstract unix

/// Abstract unix names: with the LSM layer, an undeclared name (and the autobind form)
/// cannot be bound and a host client finds nothing there, a declared one works. Without
/// it (this kernel refuses BPF LSM programs), a config that declares names fails to start
/// in required mode with one clear error, and starts in best-effort mode. Filesystem unix
/// sockets work in every case.
#[test]
fn abstract_unix_binds_are_declared_or_refused() {
    let ctx = Ctx::new("net_unix");
    let name = token("ocirt-squat");
    let mut s = guarded(&ctx, "g", &[], &[]);
    annotate(&mut s.b, NET_UNIX_BIND, r#"["ocirt-declared"]"#);
    if lsm_layer() {
        let r = probes(&ctx, &mut s.b, &[&["abstract-bind", &name], &["abstract-bind", "-"], &["abstract-bind", "ocirt-declared"], &["unix-bind", "/tmp/s"]]);
        denied(&r[0], "EPERM", "undeclared abstract name");
        denied(&r[1], "EPERM", "autobind form");
        assert_eq!(worked(&r[2], "declared abstract name"), "bound");
        assert_eq!(worked(&r[3], "filesystem socket"), "connected");
        // Host witness: nobody holds the undeclared name.
        let o = Command::new(probe_host_path()).args(["abstract-connect", &name]).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "ECONNREFUSED");
    } else {
        let id = ctx.next_id();
        let o = ctx.create(&s.b, &id, &[]);
        let e = o.expect_error("create with org.ocirt.net.unix.bind and no BPF LSM");
        assert!(e.contains(NET_UNIX_BIND) && e.contains("best-effort") && e.contains("BPF LSM"), "{e}");
        ctx.assert_no_residue("refused create");
        annotate(&mut s.b, LL_COMPAT, "best-effort");
        let r = probes(&ctx, &mut s.b, &[&["unix-bind", "/tmp/s"], &["tcp-reach", "fo-sendto", "127.0.0.1", "1"]]);
        assert_eq!(worked(&r[0], "filesystem socket"), "connected");
        // Best effort still runs the rest of the guard.
        denied(&r[1], "EPERM", "undeclared TCP port under best-effort");
    }
}

use std::process::Command;

// ================================================================== 5: UDP

/// UDP reach is the declared lists: sends to the declared port arrive (connected and
/// unconnected, v4 and v4-mapped v6), sends elsewhere are refused and never arrive, only
/// declared ports bind, UDP-Lite is refused. Without UDP lists UDP sockets are refused;
/// without any rule the same send arrives (control).
#[test]
fn udp_is_exactly_the_udp_lists() {
    let ctx = Ctx::new("net_udp");
    let good = UdpSocket::bind("127.0.0.1:0").unwrap();
    let bad = UdpSocket::bind("127.0.0.1:0").unwrap();
    for u in [&good, &bad] {
        u.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    }
    let (gp, bp) = (good.local_addr().unwrap().port().to_string(), bad.local_addr().unwrap().port().to_string());
    let ub = free_udp_port();
    let other = free_udp_port().to_string();
    let mut s = guarded(&ctx, "g", &[], &[]);
    annotate(&mut s.b, NET_UDP_CONNECT, &format!("[{gp}]"));
    annotate(&mut s.b, NET_UDP_BIND, &format!("[{ub}]"));
    let r = probes(
        &ctx,
        &mut s.b,
        &[
            &["udp-send", "127.0.0.1", &gp],
            &["udp-connect-send", "127.0.0.1", &gp],
            &["udp-send", "::ffff:127.0.0.1", &gp],
            &["udp-send", "127.0.0.1", &bp],
            &["udp-connect-send", "127.0.0.1", &bp],
            &["udp-send", "::ffff:127.0.0.1", &bp],
            &["udp-bind", &ub.to_string()],
            &["udp-bind", &other],
            &["udp-bind", "0"],
            &["socket", "inet", "dgram", "136"],
        ],
    );
    for o in &r[0..3] {
        assert_eq!(worked(o, "send to the declared port"), "sent 6");
    }
    for (i, o) in r.iter().enumerate().take(6).skip(3) {
        denied(o, "EPERM", &format!("send to an undeclared port #{i}"));
    }
    assert_eq!(worked(&r[6], "bind the declared UDP port"), format!("bound {ub}"));
    denied(&r[7], "EPERM", "bind an undeclared UDP port");
    denied(&r[8], "EPERM", "bind an ephemeral UDP port");
    denied(&r[9], "EPERM", "UDP-Lite socket");
    let mut buf = [0u8; 64];
    for i in 0..3 {
        let n = good.recv(&mut buf).unwrap_or_else(|e| panic!("declared receiver, datagram {i}: {e}"));
        assert_eq!(&buf[..n], b"probe\n");
    }
    assert!(bad.recv(&mut buf).is_err(), "a datagram reached the undeclared receiver");

    // No UDP list: UDP sockets are refused (TCP rules alone turn the guard on).
    let mut t = guarded(&ctx, "t", &[], &[]);
    denied(&ctx.probe(&mut t.b, &["udp-send", "127.0.0.1", &bp]), "EPERM", "UDP without a UDP list");
    // Control: without any rule the same send arrives.
    unguarded(&mut t.b);
    assert_eq!(worked(&ctx.probe(&mut t.b, &["udp-send", "127.0.0.1", &bp]), "control send"), "sent 6");
    let n = bad.recv(&mut buf).expect("control datagram");
    assert_eq!(&buf[..n], b"probe\n");
}

// ================================================================== fail closed, residue

/// A malformed network annotation is one clear error naming the key, the value and the
/// fix; nothing is left behind.
#[test]
fn bad_network_annotations_are_refused() {
    let ctx = Ctx::new("net_bad");
    let mut s = guarded(&ctx, "g", &[], &[]);
    for (key, value, want) in [
        (NET_UDP_CONNECT, r#"["53"]"#, "JSON numbers"),
        (NET_UDP_BIND, "[70000]", "0-65535"),
        (NET_UNIX_BIND, r#"[""]"#, "empty"),
        ("org.ocirt.net.udp.binds", "[]", NET_UDP_BIND),
    ] {
        annotate(&mut s.b, key, value);
        let id = ctx.next_id();
        let e = ctx.create(&s.b, &id, &[]).expect_error(key);
        assert!(e.contains(key) && e.contains(want) && e.contains("config.json"), "{key}: {e}");
        ctx.assert_no_residue(key);
        s.b.remove(&format!("annotations/{key}"));
    }
}

const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;

/// Ids of the programs attached to cgroup dir `dir` for `attach_type`.
fn attached(dir: &std::path::Path, attach_type: u32) -> Vec<u32> {
    let f = fs::File::open(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut ids = [0u32; 16];
    let mut attr = [0u8; 128];
    attr[0..4].copy_from_slice(&(std::os::fd::AsRawFd::as_raw_fd(&f) as u32).to_ne_bytes());
    attr[4..8].copy_from_slice(&attach_type.to_ne_bytes());
    attr[16..24].copy_from_slice(&(ids.as_mut_ptr() as u64).to_ne_bytes());
    attr[24..28].copy_from_slice(&16u32.to_ne_bytes());
    // SAFETY: BPF_PROG_QUERY writes at most 16 ids into `ids` and the count into `attr`.
    let r = unsafe { libc::syscall(libc::SYS_bpf, BPF_PROG_QUERY, attr.as_mut_ptr(), attr.len()) };
    assert!(r == 0, "BPF_PROG_QUERY {}: {}", dir.display(), std::io::Error::last_os_error());
    let n = u32::from_ne_bytes(attr[24..28].try_into().unwrap()) as usize;
    ids[..n].to_vec()
}

fn prog_exists(id: u32) -> bool {
    let mut attr = [0u8; 128];
    attr[0..4].copy_from_slice(&id.to_ne_bytes());
    // SAFETY: BPF_PROG_GET_FD_BY_ID reads the id from `attr`; a returned fd is closed here.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, BPF_PROG_GET_FD_BY_ID, attr.as_mut_ptr(), attr.len()) };
    if fd >= 0 {
        // SAFETY: closing the fd the kernel just gave us.
        unsafe { libc::close(fd as i32) };
        return true;
    }
    false
}

/// The guard's programs sit on the container's cgroup2 node while it runs, and are gone
/// from the kernel after delete.
#[test]
fn guard_programs_go_with_the_container() {
    let ctx = Ctx::new("net_residue");
    let mut s = guarded(&ctx, "g", &[8080], &[5432]);
    s.b.probe(&["sleep", "30"]);
    let id = ctx.next_id();
    ctx.run_detached(&s.b, &id);
    // The container's cgroup2 node: under the `unified` mount on hybrid hosts.
    let rel = ctx.cgroup_path(&id).trim_start_matches('/').to_string();
    let dir = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .iter()
        .map(|r| std::path::Path::new(r).join(&rel))
        .find(|d| d.join("cgroup.procs").exists() && !d.join("tasks").exists())
        .expect("the container's cgroup2 node");
    // sock_create(2), ingress(0), bind4(8), connect6(11)
    let mut ids = vec![];
    for t in [2u32, 0, 8, 11] {
        let a = attached(&dir, t);
        assert_eq!(a.len(), 1, "attach type {t}: {a:?}");
        ids.extend(a);
    }
    assert!(ids.iter().all(|&i| prog_exists(i)));
    ctx.delete(&id, true).expect_ok("delete --force");
    assert!(!dir.exists());
    wait_until(Duration::from_secs(10), "the guard's programs to be freed", || ids.iter().all(|&i| !prog_exists(i)).then_some(()));
}

// ================================================================== the guard's timing

/// A createContainer hook runs in the container's cgroup before the container's process
/// does: the guard must be attached by then, however long loading it takes. The runtime's
/// own bpf(2) calls are slowed by 150 ms each under strace (only the runtime is traced), so
/// a guard attached while the init prepares the root would come too late for the hook. The
/// hook (the host's probe, before pivot_root) tries an MPTCP connection, which the guard
/// refuses outright; control: without the network rules the same hook reads the token.
#[test]
fn the_guard_is_in_place_before_a_create_container_hook_runs() {
    if std::process::Command::new("strace").arg("-V").output().is_err() {
        panic!("strace is not installed: scripts/setup.sh installs it");
    }
    let ctx = Ctx::new("net_hook");
    let secret = token("hook");
    let forbidden = HostListener::new(&secret);
    let out = ctx.dir("hook-out").join("reach");
    let script = format!("{} tcp-reach mptcp 127.0.0.1 {} > {} 2>&1; exit 0", probe_host_path().display(), forbidden.port, out.display());
    let mut s = guarded(&ctx, "g", &[], &[]);
    s.b.push("hooks/createContainer", json!({"path": "/bin/sh", "args": ["sh", "-c", script]}));
    s.b.probe(&["exit", "0"]);
    let run = |b: &Bundle| {
        let id = ctx.next_id();
        ctx.write_config(b, &id);
        ctx.track(&id);
        let mut c = std::process::Command::new("strace");
        c.args(["-qq", "-o", "/dev/null", "-e", "trace=bpf", "-e", "inject=bpf:delay_enter=150000"]);
        c.arg(runtime_bin()).arg("--root").arg(&ctx.root).args(["run", "--bundle"]).arg(&b.dir).arg(&id).stdin(std::process::Stdio::null());
        ctx.spawn(c, "strace (bpf slowed) runtime run").wait(Duration::from_secs(60)).expect_ok("run with the hook");
        fs::read_to_string(&out).expect("the hook wrote its result")
    };
    let guarded_out = run(&s.b);
    assert!(guarded_out.lines().any(|l| l.trim() == "EPERM") && !guarded_out.contains(&secret), "the hook ran before the guard was attached: {guarded_out:?}");
    assert_eq!(forbidden.count(), 0, "the forbidden listener accepted the hook's connection");
    // Control: the same hook in the same container without the network rules.
    unguarded(&mut s.b);
    let open_out = run(&s.b);
    assert_eq!(open_out.trim(), format!("read {secret}"), "control hook: {open_out}");
    ctx.assert_no_residue("after the hook runs");
}
