//! End-to-end: real services from Debian's archive, run from bundles that spec-gen generates,
//! checked over loopback HTTP.
//!
//! - `mediawiki_end_to_end`: scripts/mediawiki.sh (the README's main command) prepares a
//!   site in the test's temp dir (cached rootfs, install.php inside a container, `spec-gen
//!   bundle`); the test starts the bundle detached, waits for 200 on Main_Page, creates a
//!   page through the API and reads it back, probes what must stay closed, stops it with
//!   `runtime kill ID TERM` and checks that the stop was prompt and clean (Apache logged no
//!   error, MediaWiki logged nothing) and left no residue (mounts, cgroups, state, processes).
//! - `nginx_instances`: bundles/nginx as two instances, nginx-static@a and @b, on their own
//!   ports; fetches from each, checks Landlock refuses instance a the port of instance b, and
//!   that the committed template unit is what `spec-gen unit --template` prints.
//!
//! They need a Debian rootfs (MediaWiki's is 566 MB, about a minute to build, downloading
//! packages), so each runs only when that rootfs is already in the cache
//! (/var/cache/ocirt/NAME-rootfs/KEY, see scripts/mediawiki.sh) or when OCIRT_E2E=1 (then it
//! builds it). Otherwise it prints why it skipped and passes. OCIRT_E2E=0 skips them always.

use integration::*;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Rootfs builds download and unpack hundreds of MB: one at a time.
static BUILD: Mutex<()> = Mutex::new(());

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A directory with `runtime` and `spec-gen` side by side (the script's OCIRT_BIN_DIR): the
/// harness's runtime, and the spec-gen built next to it (else the other profile's).
fn bin_dir(ctx: &Ctx) -> PathBuf {
    let rt = runtime_bin();
    let target = rt.parent().unwrap().parent().unwrap();
    let sg = [rt.with_file_name("spec-gen"), target.join("debug/spec-gen"), target.join("release/spec-gen")]
        .into_iter()
        .find(|p| p.is_file())
        .expect("spec-gen is not built: run `cargo build -p spec-gen` (scripts/test.sh builds every binary)");
    let dir = ctx.dir("bin");
    symlink(rt, dir.join("runtime")).unwrap();
    symlink(sg, dir.join("spec-gen")).unwrap();
    dir
}

fn script() -> PathBuf {
    workspace().join("scripts/mediawiki.sh")
}

/// Whether to run: OCIRT_E2E=1 always, OCIRT_E2E=0 never, otherwise when the service's rootfs
/// is cached.
fn enabled(test: &str, service: &Path, build_hint: &str) -> bool {
    match std::env::var("OCIRT_E2E").as_deref() {
        Ok("1") => return true,
        Ok("0") => {
            eprintln!("{test}: skipped (OCIRT_E2E=0)");
            return false;
        }
        _ => {}
    }
    let cached = Command::new("bash").arg(script()).arg("cached").arg(service).status().map(|s| s.success()).unwrap_or(false);
    if !cached {
        eprintln!(
            "{test}: skipped: the rootfs of {} is not cached; run `{build_hint}` once, or set OCIRT_E2E=1 to build it here",
            service.display()
        );
    }
    cached
}

/// Runs a host command to completion within `limit`, output captured to files in the test dir.
#[track_caller]
fn host(ctx: &Ctx, c: Command, what: &str, limit: Duration) -> Output {
    ctx.spawn(c, what).wait(limit)
}

/// A port nobody listens on now (the kernel's pick).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

struct Response {
    status: u16,
    headers: String,
    body: String,
}

/// One HTTP/1.1 request over loopback with `Connection: close`.
fn http(port: u16, method: &str, path: &str, form: Option<&str>) -> std::io::Result<Response> {
    let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: ocirt-integration\r\nConnection: close\r\n");
    if let Some(body) = form {
        req.push_str(&format!("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
    } else {
        req.push_str("\r\n");
    }
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    Ok(Response { status, headers: head.to_string(), body: if chunked { dechunk(body) } else { body.to_string() } })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("0").trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].strip_prefix("\r\n").unwrap_or(&rest[n..]);
    }
    out
}

/// application/x-www-form-urlencoded
fn form(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                b' ' => "+".into(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// Polls `path` until it answers 200 (while `alive` holds); returns the time it took.
#[track_caller]
fn wait_for_200(port: u16, path: &str, limit: Duration, mut alive: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        let last = match http(port, "GET", path, None) {
            Ok(r) if r.status == 200 => return start.elapsed(),
            Ok(r) => format!("HTTP {}", r.status),
            Err(e) => e.to_string(),
        };
        assert!(alive(), "the container exited while waiting for {path} on port {port} (last: {last})");
        assert!(start.elapsed() < limit, "no 200 from 127.0.0.1:{port}{path} within {limit:?} (last: {last})");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Uid (real) and effective capabilities of a process, from /proc.
fn uid_and_capeff(pid: i32) -> Option<(u32, u64)> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| s.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
    let uid = field("Uid:")?.split_whitespace().next()?.parse().ok()?;
    let cap = u64::from_str_radix(field("CapEff:")?, 16).ok()?;
    Some((uid, cap))
}

fn children(pid: i32) -> Vec<i32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Cgroup directories named `/ocirt/ID` in any hierarchy (the runtime's default cgroup for
/// an id; spec-gen writes no cgroupsPath).
fn ocirt_cgroups(id: &str) -> Vec<PathBuf> {
    cgroup_hierarchies().into_iter().map(|h| h.join("ocirt").join(id)).filter(|p| p.exists()).collect()
}

/// `kill ID TERM`, then waits for `stopped`; returns how long the stop took.
#[track_caller]
fn stop(ctx: &Ctx, id: &str, limit: Duration) -> Duration {
    let t = Instant::now();
    ctx.kill(id, "TERM").expect_ok(&format!("kill {id} TERM"));
    ctx.wait_for_status(id, "stopped", limit);
    t.elapsed()
}

/// Stops and deletes a container at the end of a test, then checks what it leaves behind.
#[track_caller]
fn assert_gone(ctx: &Ctx, ids: &[&str], pids: &[(i32, u64)]) {
    for id in ids {
        assert!(ocirt_cgroups(id).is_empty(), "cgroup left for {id}: {:?}", ocirt_cgroups(id));
        let o = ctx.rt(&["state", id]);
        assert!(!o.ok(), "state of {id} still exists after delete: {}", o.stdout);
    }
    for (pid, start) in pids {
        assert!(!pid_alive(*pid, *start), "process {pid} of the container still runs");
    }
    assert!(mounts_under(&ctx.base).is_empty(), "mounts left: {:?}", mounts_under(&ctx.base));
    ctx.assert_no_residue("after delete");
}

#[test]
fn mediawiki_end_to_end() {
    let service = workspace().join("bundles/mediawiki/service.toml");
    if !enabled("mediawiki_end_to_end", &service, "bash scripts/mediawiki.sh --prepare-only") {
        return;
    }
    let ctx = Ctx::new("mediawiki");
    let bins = bin_dir(&ctx);
    let site = ctx.dir("site");
    let port = free_port();
    let instance = format!("it{}", std::process::id());
    let id = format!("mediawiki@{instance}");

    // The main command, up to the point where it would run the wiki: rootfs (cached, or
    // built under OCIRT_E2E=1), site directory, install.php in a container, bundle.
    let prep = {
        let _build = BUILD.lock().unwrap_or_else(|e| e.into_inner());
        let t = Instant::now();
        let mut c = Command::new("bash");
        c.arg(script())
            .args(["--prepare-only", "--port", &port.to_string(), "--instance", &instance])
            .arg("--site")
            .arg(&site)
            .arg("--state")
            .arg(&ctx.root)
            .env("OCIRT_BIN_DIR", &bins)
            .stdin(Stdio::null());
        let o = host(&ctx, c, "scripts/mediawiki.sh --prepare-only", Duration::from_secs(900));
        o.expect_ok("scripts/mediawiki.sh --prepare-only");
        eprintln!("mediawiki: prepared (rootfs, install, bundle) in {:?}", t.elapsed());
        o
    };
    let bundle = PathBuf::from(prep.stdout.lines().last().unwrap_or_default().trim());
    assert_eq!(bundle, site.join("bundle"), "the script should print the bundle directory\n{}", prep.stderr);
    assert!(site.join("LocalSettings.php").is_file(), "install left no LocalSettings.php:\n{}", prep.stderr);
    assert!(!site.join("data/.admin-password").exists(), "the installer's password file was left in data/");
    assert!(site.join("data/my_wiki.sqlite").is_file(), "no SQLite database in the site's data/");
    assert!(ocirt_cgroups(&format!("mediawiki-install@{instance}")).is_empty(), "the install container left its cgroup");
    assert!(ctx.state_residue().is_empty(), "the install container left state: {:?}", ctx.state_residue());

    // The generated config is what the description says: Landlock binds only our port.
    let config: Value = serde_json::from_str(&fs::read_to_string(bundle.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["annotations"]["org.ocirt.landlock.net.bind"], json!(format!("[{port}]")), "Landlock bind list");
    assert_eq!(config["root"]["readonly"], json!(true));
    // No fixed cgroupsPath: the runtime gives each id its own cgroup, /ocirt/ID.
    assert!(config["linux"].get("cgroupsPath").is_none(), "{}", config["linux"]);

    // A stop right after `run -d` returns, before Apache has installed its SIGTERM handler,
    // must not be lost: the minimal init (lifecycle.init) is PID 1 and passes it on.
    ctx.track(&id);
    let bundle_s = bundle.to_string_lossy().into_owned();
    assert_eq!(config["annotations"]["org.ocirt.init"], json!("true"), "the wiki runs under the minimal init");
    ctx.rt_within(&["run", "--detach", "--bundle", &bundle_s, &id], Duration::from_secs(60)).expect_ok("run --detach (early stop)");
    let early = ctx.state(&id)["pid"].as_i64().unwrap() as i32;
    ctx.track_pid(early);
    let took = stop(&ctx, &id, Duration::from_secs(8));
    eprintln!("mediawiki: SIGTERM right after run -d stopped it in {took:?}");
    ctx.delete(&id, false).expect_ok("delete after the early stop");

    // Cold start: run -d to the first 200 on Main_Page.
    let t0 = Instant::now();
    ctx.rt_within(&["run", "--detach", "--bundle", &bundle_s, &id], Duration::from_secs(60)).expect_ok("run --detach");
    let run_returned = t0.elapsed();
    let init = ctx.state(&id)["pid"].as_i64().unwrap() as i32;
    ctx.track_pid(init);
    let main_page = "/mediawiki/index.php/Main_Page";
    let alive = || proc_start(init).is_some_and(|(_, zombie)| !zombie);
    wait_for_200(port, main_page, Duration::from_secs(60), alive);
    let cold = t0.elapsed();
    eprintln!("mediawiki: run --detach returned after {run_returned:?}; first 200 on Main_Page after {cold:?} (port {port})");
    let t = Instant::now();
    let again = http(port, "GET", main_page, None).unwrap();
    assert_eq!(again.status, 200);
    eprintln!("mediawiki: a warm Main_Page took {:?}", t.elapsed());
    assert!(again.body.contains("MediaWiki 1.39"), "Main_Page does not come from MediaWiki 1.39");
    assert!(again.body.contains(&format!("http://127.0.0.1:{port}/mediawiki/api.php")), "$wgServer does not carry the port");

    // PID 1 is the minimal init; its one child is Apache's parent: root with exactly SETUID,
    // SETGID and KILL; its workers are www-data with no capability left.
    let top = children(init);
    assert_eq!(top.len(), 1, "the minimal init should have exactly one child (Apache): {top:?}");
    let apache = top[0];
    let (uid, cap) = uid_and_capeff(apache).expect("read Apache's status");
    assert_eq!(uid, 0, "Apache's parent should run as root");
    let want = (1u64 << 5) | (1 << 6) | (1 << 7); // KILL, SETGID, SETUID
    assert_eq!(cap, want, "Apache's parent capabilities: {cap:#x}");
    let workers = children(apache);
    assert!(!workers.is_empty(), "Apache has no worker processes");
    let mut pids: Vec<(i32, u64)> = vec![];
    for w in &workers {
        let (uid, cap) = uid_and_capeff(*w).expect("read a worker's status");
        assert_eq!((uid, cap), (33, 0), "worker {w} should be www-data with no capability");
        pids.push((*w, proc_start(*w).unwrap().0));
    }

    // Create a page through the API (anonymous edit: the token is "+\") and read it back.
    let title = "Ocirt integration test";
    let text = format!("Written by the '''ocirt''' integration test through the API, port {port}.");
    let r = http(port, "POST", "/mediawiki/api.php", Some(&form(&[("action", "edit"), ("format", "json"), ("title", title), ("text", &text), ("summary", "integration test"), ("token", "+\\")]))).unwrap();
    assert_eq!(r.status, 200, "API edit: {}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("API edit answered no JSON ({e}): {}", r.body));
    assert_eq!(v["edit"]["result"], json!("Success"), "API edit: {}", r.body);
    let raw = http(port, "GET", "/mediawiki/index.php?title=Ocirt_integration_test&action=raw", None).unwrap();
    assert_eq!(raw.status, 200);
    assert_eq!(raw.body, text, "the page read back differs");
    let view = http(port, "GET", "/mediawiki/index.php/Ocirt_integration_test", None).unwrap();
    assert_eq!(view.status, 200);
    assert!(view.body.contains("<b>ocirt</b>"), "the page is not rendered:\n{}", view.body);
    let q = http(port, "GET", "/mediawiki/api.php?action=query&list=allpages&format=json", None).unwrap();
    assert!(q.body.contains(title), "the new page is not listed: {}", q.body);

    // What must stay closed: the SQLite file (403), PHP in the uploads directory.
    let db = http(port, "GET", "/mediawiki/data/my_wiki.sqlite", None).unwrap();
    assert_eq!(db.status, 403, "the SQLite database must not be served");
    let upload = site.join("images/ocirt-probe.php");
    fs::write(&upload, "<?php echo 'PHP' . 'RAN';\n").unwrap();
    let u = http(port, "GET", "/mediawiki/images/ocirt-probe.php", None).unwrap();
    assert!(!u.body.contains("PHPRAN"), "PHP ran from the uploads directory");
    fs::remove_file(&upload).unwrap();

    // Stop with SIGTERM: Apache must exit promptly (it needs CAP_KILL to stop its workers;
    // without it this takes 10 s) and clean.
    let took = stop(&ctx, &id, Duration::from_secs(8));
    eprintln!("mediawiki: SIGTERM to stopped in {took:?}");
    assert!(took < Duration::from_secs(3), "Apache took {took:?} to stop");
    ctx.delete(&id, false).expect_ok("delete");

    let log = fs::read_to_string(site.join("log/apache2/error.log")).unwrap_or_default();
    assert!(log.contains("caught SIGTERM, shutting down"), "Apache did not log a SIGTERM shutdown:\n{log}");
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| ["warn]", "error]", "crit]", "alert]", "emerg]"].iter().any(|lvl| l.contains(lvl)))
        // The denied request for the SQLite file above.
        .filter(|l| !(l.contains("AH01630") && l.contains("my_wiki.sqlite")))
        .collect();
    assert!(bad.is_empty(), "Apache logged problems:\n{}", bad.join("\n"));
    let mw_logs: Vec<String> = fs::read_dir(site.join("log/mediawiki")).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert!(mw_logs.is_empty(), "MediaWiki logged errors: {mw_logs:?}");

    pids.push((init, proc_start(init).map(|p| p.0).unwrap_or(0)));
    assert_gone(&ctx, &[&id], &pids);
}

/// Copies what a bundle directory needs into `dir`, with `rootfs` linked to the cache.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&p, &t);
        } else if e.file_type().unwrap().is_file() {
            fs::copy(&p, &t).unwrap();
        }
    }
}

#[test]
fn nginx_instances() {
    let src = workspace().join("bundles/nginx");
    let service_src = src.join("service.toml");
    if !enabled("nginx_instances", &service_src, "bash scripts/mediawiki.sh rootfs bundles/nginx/service.toml --instance a") {
        return;
    }
    let ctx = Ctx::new("nginx");
    let bins = bin_dir(&ctx);
    let sg = bins.join("spec-gen");
    let ports = [("a", 8181u16), ("b", 8182u16)];
    for (i, p) in ports {
        assert!(port_is_free(p), "port {p} (instance {i}) is taken: stop what listens there first");
    }

    // The template unit committed beside the description is what spec-gen prints.
    let mut c = Command::new(&sg);
    c.args(["unit"]).arg(&service_src).args(["--template", "--bundle", "/var/lib/ocirt/bundles/nginx-static@%i"]);
    let unit = host(&ctx, c, "spec-gen unit --template", Duration::from_secs(30));
    unit.expect_ok("spec-gen unit --template");
    let committed = src.join("nginx-static@.service");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&committed, &unit.stdout).unwrap();
    }
    assert_eq!(fs::read_to_string(&committed).unwrap_or_default(), unit.stdout, "bundles/nginx/nginx-static@.service is stale: regenerate it (UPDATE_GOLDEN=1)");
    assert!(unit.stdout.contains("ExecStart=/usr/local/bin/runtime run --bundle /var/lib/ocirt/bundles/nginx-static@%i nginx-static@%i"));

    let rootfs = {
        let _build = BUILD.lock().unwrap_or_else(|e| e.into_inner());
        let mut c = Command::new("bash");
        c.arg(script()).arg("rootfs").arg(&service_src).args(["--instance", "a"]).env("OCIRT_BIN_DIR", &bins).stdin(Stdio::null());
        let o = host(&ctx, c, "scripts/mediawiki.sh rootfs bundles/nginx/service.toml", Duration::from_secs(900));
        o.expect_ok("build or find the nginx rootfs");
        PathBuf::from(o.stdout.trim())
    };
    let dir = ctx.dir("nginx");
    copy_tree(&src, &dir);
    symlink(&rootfs, dir.join("rootfs")).unwrap();

    let mut pids = vec![];
    let mut ids = vec![];
    for (inst, port) in ports {
        let bundle = ctx.dir(&format!("bundle-{inst}"));
        let mut c = Command::new(&sg);
        c.arg("bundle").arg(dir.join("service.toml")).args(["--instance", inst, "--output"]).arg(&bundle);
        host(&ctx, c, "spec-gen bundle", Duration::from_secs(30)).expect_ok(&format!("spec-gen bundle --instance {inst}"));
        let config: Value = serde_json::from_str(&fs::read_to_string(bundle.join("config.json")).unwrap()).unwrap();
        assert_eq!(config["annotations"]["org.ocirt.landlock.net.bind"], json!(format!("[{port}]")));
        let id = format!("nginx-static@{inst}");
        ctx.track(&id);
        let t = Instant::now();
        ctx.rt(&["run", "--detach", "--bundle", &bundle.to_string_lossy(), &id]).expect_ok(&format!("run --detach {id}"));
        let init = ctx.state(&id)["pid"].as_i64().unwrap() as i32;
        ctx.track_pid(init);
        let took = wait_for_200(port, "/", Duration::from_secs(20), || proc_start(init).is_some_and(|(_, z)| !z));
        eprintln!("nginx: {id} answered 200 {:?} after run --detach", t.elapsed().max(took));
        // nginx runs entirely as www-data without capabilities.
        assert_eq!(uid_and_capeff(init), Some((33, 0)), "nginx master of {id}");
        pids.push((init, proc_start(init).unwrap().0));
        ids.push(id);
    }
    for (inst, port) in ports {
        let r = http(port, "GET", "/", None).unwrap();
        assert_eq!(r.status, 200);
        assert!(r.body.contains(&format!("Served by nginx-static@{inst}")), "port {port} answered with another site:\n{}", r.body);
        assert!(r.headers.to_ascii_lowercase().contains(&format!("x-instance: {inst}")), "headers from port {port}:\n{}", r.headers);
        assert_eq!(http(port, "GET", "/missing", None).unwrap().status, 404);
    }

    // Landlock: instance a's sandbox cannot listen on instance b's port, even with b's config.
    let neg = ctx.dir("neg");
    let mut config: Value = serde_json::from_str(&fs::read_to_string(ctx.base.join("bundle-a/config.json")).unwrap()).unwrap();
    config["process"]["args"] = json!(["/usr/sbin/nginx", "-c", "/etc/ocirt/b.conf", "-e", "stderr"]);
    let neg_id = "nginx-neg";
    config["linux"]["cgroupsPath"] = json!(ctx.cgroup_path(neg_id));
    fs::write(neg.join("config.json"), serde_json::to_string_pretty(&config).unwrap()).unwrap();
    ctx.track(neg_id);
    let o = ctx.rt(&["run", "--bundle", &neg.to_string_lossy(), neg_id]);
    assert_ne!(o.code, 0, "nginx bound another instance's port:\n{}", o.stderr);
    assert!(o.stderr.contains("127.0.0.1:8182 failed (13: Permission denied)"), "expected a refused bind:\n{}", o.stderr);

    for id in &ids {
        let took = stop(&ctx, id, Duration::from_secs(5));
        eprintln!("nginx: {id} stopped {took:?} after SIGTERM");
        assert!(took < Duration::from_secs(2), "{id} took {took:?} to stop");
        ctx.delete(id, false).expect_ok("delete");
    }
    for (_, port) in ports {
        assert!(port_is_free(port), "port {port} still taken after the stop");
    }
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_gone(&ctx, &id_refs, &pids);
}
