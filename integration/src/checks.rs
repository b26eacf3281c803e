//! Assertions and runners shared by the escape tests (escapes*.rs): the probe's exit-code
//! contract (0 worked, 1 failed with the errno name on stdout, 3 a negative result), several
//! probe commands in one container, the shipped seccomp profiles and the annotation keys.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{Bundle, Ctx, Output};
use serde_json::{json, Value};

pub const LL_FS_EXEC: &str = "org.ocirt.landlock.fs.exec";
pub const LL_FS_WRITE: &str = "org.ocirt.landlock.fs.write";
pub const LL_NET_BIND: &str = "org.ocirt.landlock.net.bind";
pub const LL_NET_CONNECT: &str = "org.ocirt.landlock.net.connect";
pub const LL_SCOPE: &str = "org.ocirt.landlock.scope";
pub const LL_COMPAT: &str = "org.ocirt.landlock.compat";

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace dir").to_path_buf()
}

/// A shipped seccomp profile, read from the workspace at test time.
pub fn profile(name: &str) -> Value {
    let p = workspace().join("seccomp-profiles").join(format!("{name}.json"));
    let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn annotate(b: &mut Bundle, key: &str, value: &str) {
    b.set(&format!("annotations/{key}"), json!(value));
}

/// A free TCP port on 127.0.0.1 at the time of the call.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The probe's syscall failed with `errno` (exit 1, errno name on stdout).
#[track_caller]
pub fn denied(o: &Output, errno: &str, what: &str) {
    assert!(
        o.code == 1 && o.out() == errno,
        "{what}: expected the probe to fail with {errno}, got exit {}\nstdout: {}\nstderr: {}",
        o.code,
        o.stdout,
        o.stderr
    );
}

/// The probe's action worked (exit 0); returns stdout.
#[track_caller]
pub fn worked<'a>(o: &'a Output, what: &str) -> &'a str {
    assert!(o.code == 0, "{what}: expected the probe to succeed, got exit {}\nstdout: {}\nstderr: {}", o.code, o.stdout, o.stderr);
    o.out()
}

/// The probe ran and reported a negative result (exit 3).
#[track_caller]
pub fn negative(o: &Output, what: &str) {
    assert!(o.code == 3, "{what}: expected the negative result (exit 3), got exit {}\nstdout: {}\nstderr: {}", o.code, o.stdout, o.stderr);
}

/// Runs several probe commands, one after the other, in one container; returns one
/// [`Output`] per command (its exit code and stdout; stderr is the container's whole
/// stderr, for diagnostics).
#[track_caller]
pub fn probes(ctx: &Ctx, b: &mut Bundle, cmds: &[&[&str]]) -> Vec<Output> {
    let mut script = String::new();
    for c in cmds {
        script.push_str("/probe");
        for a in *c {
            assert!(!a.contains('\''), "no quotes in probe arguments: {a}");
            script.push_str(&format!(" '{a}'"));
        }
        script.push_str("; echo \"@@rc=$?\"\n");
    }
    let o = ctx.sh(b, &script);
    assert_eq!(o.code, 0, "probe script failed (exit {})\nscript:\n{script}\nstdout: {}\nstderr: {}", o.code, o.stdout, o.stderr);
    let mut res = vec![];
    let mut cur = String::new();
    for line in o.stdout.lines() {
        if let Some(rc) = line.strip_prefix("@@rc=") {
            res.push(Output { code: rc.trim().parse().unwrap(), stdout: std::mem::take(&mut cur), stderr: o.stderr.clone() });
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    assert_eq!(res.len(), cmds.len(), "probe script: expected {} results\nstdout: {}\nstderr: {}", cmds.len(), o.stdout, o.stderr);
    res
}

/// A random token, `TAG-<16 hex digits>`: what a host-side witness knows and the container is
/// never told.
pub fn token(tag: &str) -> String {
    let mut b = [0u8; 8];
    fs::File::open("/dev/urandom").unwrap().read_exact(&mut b).unwrap();
    format!("{tag}-{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>())
}

/// A host TCP listener on [::]:0 (v4 and v6) that writes `token` to every connection and
/// counts them, until dropped: the host-side witness. A probe that prints the token has
/// really reached it.
pub struct HostListener {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl HostListener {
    pub fn new(token: &str) -> HostListener {
        let l = TcpListener::bind("[::]:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let (accepted, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let (a, s, t) = (accepted.clone(), stop.clone(), format!("{token}\n"));
        std::thread::spawn(move || {
            let start = Instant::now();
            while !s.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(120) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        a.fetch_add(1, Ordering::SeqCst);
                        let _ = c.set_nonblocking(false);
                        let _ = c.write_all(t.as_bytes());
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        HostListener { port, accepted, stop }
    }

    /// Connections accepted so far.
    pub fn count(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for HostListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
