//! systemd Type=notify: with NOTIFY_SOCKET in the runtime's environment, the service inside
//! the container can tell the service manager it is ready.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use integration::*;

#[test]
fn ready_reaches_the_notify_socket() {
    let ctx = Ctx::new("notify");
    let sock_path = ctx.base.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();

    let mut b = ctx.bundle("b");
    b.push("mounts", json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}));
    b.probe(&["notify", "READY=1"]);
    let o = ctx.run_with_env(&b, &[("NOTIFY_SOCKET", sock_path.as_os_str())]);
    assert_eq!(o.expect_ok("notify").out(), "sent");
    let mut buf = [0u8; 64];
    let n = sock.recv(&mut buf).expect("a datagram from the container");
    assert_eq!(&buf[..n], b"READY=1");

    // Control: without NOTIFY_SOCKET the service sees none.
    let mut plain = ctx.bundle("plain");
    let o = ctx.probe(&mut plain, &["notify", "READY=1"]);
    o.expect_code(3, "no NOTIFY_SOCKET");
}

/// In the foreground the runtime relays: the container's socket is the runtime's own, and what
/// reaches the manager's socket is filtered (MAINPID= would move the unit's main process off
/// the runtime). Positive control in the same message: READY=1 and STATUS= pass.
#[test]
fn the_relay_forwards_state_and_drops_mainpid() {
    let ctx = Ctx::new("notify-relay");
    let sock_path = ctx.base.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut b = ctx.bundle("b");
    b.push("mounts", json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}));
    b.probe(&["notify", "MAINPID=1\nREADY=1\nSTATUS=up\nNOTIFYACCESS=all"]);
    let o = ctx.run_with_env(&b, &[("NOTIFY_SOCKET", sock_path.as_os_str())]);
    assert_eq!(o.expect_ok("notify").out(), "sent");
    let mut buf = [0u8; 128];
    let n = sock.recv(&mut buf).expect("a datagram relayed by the runtime");
    assert_eq!(std::str::from_utf8(&buf[..n]).unwrap(), "READY=1\nSTATUS=up");
    assert!(!ctx.root.join(".notify").exists(), "the relay socket is removed when run ends");
}

/// systemd's watchdog reaches the service through the relay: WATCHDOG_USEC is passed on when
/// it was meant for the runtime (WATCHDOG_PID unset or ours), not when it names another pid.
#[test]
fn watchdog_usec_is_passed_with_the_relay_only_when_meant_for_us() {
    let ctx = Ctx::new("notify-watchdog");
    let sock_path = ctx.base.join("notify.sock");
    let _sock = UnixDatagram::bind(&sock_path).unwrap();
    let mut b = ctx.bundle("b");
    b.push("mounts", json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}));
    b.probe(&["env", "WATCHDOG_USEC"]);
    for (pid, want) in [(None, Some("5000000")), (Some("1"), None)] {
        let mut env = vec![("NOTIFY_SOCKET", sock_path.as_os_str()), ("WATCHDOG_USEC", "5000000".as_ref())];
        env.extend(pid.map(|p: &str| ("WATCHDOG_PID", p.as_ref())));
        let o = ctx.run_with_env(&b, &env);
        match want {
            Some(v) => assert_eq!(o.expect_ok("watchdog").out(), v),
            None => {
                o.expect_code(3, "WATCHDOG_PID names another process");
            }
        }
    }
}

/// A second foreground `run` of a live id must not touch the first one's relay socket
/// (it used to unlink and rebind it before the id was found taken); control: the first
/// container's socket is there while it runs, and goes with it.
#[test]
fn a_second_run_of_a_live_id_leaves_its_relay_alone() {
    let ctx = Ctx::new("notify-twice");
    let sock_path = ctx.base.join("notify.sock");
    let _sock = UnixDatagram::bind(&sock_path).unwrap();
    let mut b = ctx.bundle("b");
    b.push("mounts", json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}));
    b.args(&["sleep", "100"]);
    let id = ctx.next_id();
    ctx.write_config(&b, &id);
    ctx.track(&id);
    let bundle = b.dir.to_string_lossy().into_owned();
    let run = || {
        let mut cmd = ctx.cmd(&["run", "--bundle", &bundle, &id]);
        cmd.env("NOTIFY_SOCKET", &sock_path);
        ctx.spawn(cmd, "runtime run with NOTIFY_SOCKET")
    };
    let first = run();
    ctx.wait_for_status(&id, "running", Duration::from_secs(10));
    let relay = ctx.root.join(".notify").join(format!("{id}.sock"));
    let ino = |p: &std::path::Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    let before = ino(&relay);
    let e = run().wait(CMD_TIMEOUT).expect_error("a second run of a live id");
    assert!(e.contains("already exists"), "{e}");
    assert_eq!(ino(&relay), before, "the live container's relay socket was replaced");
    ctx.kill(&id, "KILL").expect_ok("kill");
    first.wait(CMD_TIMEOUT);
    assert!(!relay.exists(), "the relay socket goes with its container");
}
