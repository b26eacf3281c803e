//! End-to-end: real services from Debian's archive, run from bundles that spec-gen generates,
//! checked over loopback HTTP.
//!
//! - `mediawiki_end_to_end`: scripts/mediawiki.sh (the README's main command) prepares a
//!   site in the test's temp dir (cached rootfs, install.php inside a container, `spec-gen
//!   bundle`); the test starts the bundle detached, waits for 200 on Main_Page, creates a
//!   page through the API and reads it back, probes what must stay closed, stops it with
//!   `runtime kill ID TERM` and checks that the stop was prompt and clean (Apache logged no
//!   error, MediaWiki logged nothing) and left no residue (mounts, cgroups, state, processes).
//! - `mediawiki_with_mariadb`: the same with `--db mariadb`: MariaDB in its own container
//!   (bundles/mariadb, data in the site), the wiki installed against it; both started
//!   detached, a page created through the API found in MariaDB's tables (mariadb client in
//!   the database's container), Landlock's connect allowlist shown from inside the wiki (the
//!   database's port connects, another port with a token listener is refused, the listener
//!   itself answering the host as the control), the wiki's unit ordered after the
//!   database's, the data surviving a new database container, then the main command itself
//!   (`--db mariadb --detach`: URL printed, page served) and its `stop` verb (wiki first,
//!   then the database), and no residue of any of the four containers.
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
use std::os::unix::fs::{symlink, MetadataExt};
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

/// The main command up to the point where it would run the wiki (`--prepare-only`): rootfs
/// (cached, or built under OCIRT_E2E=1), site directory, install in a container, bundle; it
/// must print the bundle directory last. One rootfs build at a time.
fn prepare_site(ctx: &Ctx, bins: &Path, site: &Path, port: u16, instance: &str, extra: &[&str], limit: Duration) -> Output {
    let _build = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let t = Instant::now();
    let mut c = Command::new("bash");
    c.arg(script())
        .args(["--prepare-only", "--port", &port.to_string(), "--instance", instance])
        .args(extra)
        .arg("--site")
        .arg(site)
        .arg("--state")
        .arg(&ctx.root)
        .env("OCIRT_BIN_DIR", bins)
        .stdin(Stdio::null());
    let what = format!("scripts/mediawiki.sh --prepare-only {}", extra.join(" "));
    let o = host(ctx, c, &what, limit);
    o.expect_ok(&what);
    eprintln!("{what}: prepared in {:?}", t.elapsed());
    let bundle = PathBuf::from(o.stdout.lines().last().unwrap_or_default().trim());
    assert_eq!(bundle, site.join("bundle"), "the script should print the bundle directory\n{}", o.stderr);
    o
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
        assert!(
            std::env::var_os("OCIRT_REQUIRE_ALL").is_none(),
            "{test}: OCIRT_REQUIRE_ALL is set but the rootfs of {} is not cached and OCIRT_E2E is not 1",
            service.display()
        );
        eprintln!("{test}: skipped: the rootfs of {} is not cached; run `{build_hint}` once, or set OCIRT_E2E=1 to build it here", service.display());
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
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default().split_whitespace().filter_map(|p| p.parse().ok()).collect()
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
    let prep = prepare_site(&ctx, &bins, &site, port, &instance, &[], Duration::from_secs(900));
    let bundle = site.join("bundle");
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
    api_edit(port, title, &text);
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

/// The account mariadbd runs as (`mariadb`, made by bundles/mariadb's [rootfs_build]).
fn server_ids(rootfs: &Path) -> (u32, u32) {
    let passwd = fs::read_to_string(rootfs.join("etc/passwd")).expect("read the MariaDB rootfs's /etc/passwd");
    let f: Vec<&str> = passwd.lines().find(|l| l.starts_with("mariadb:")).expect("no mariadb account in the MariaDB rootfs").split(':').collect();
    (f[2].parse().unwrap(), f[3].parse().unwrap())
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port` (while `alive` holds).
#[track_caller]
fn wait_for_port(port: u16, limit: Duration, mut alive: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).is_ok() {
            return start.elapsed();
        }
        assert!(alive(), "the container exited while waiting for port {port}");
        assert!(start.elapsed() < limit, "nothing accepted connections on 127.0.0.1:{port} within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `runtime exec` in a running container, to completion.
#[track_caller]
fn exec(ctx: &Ctx, id: &str, extra: &[&str], argv: &[&str]) -> Output {
    let mut args = vec!["exec"];
    args.extend_from_slice(extra);
    args.push(id);
    args.extend_from_slice(argv);
    ctx.rt_within(&args, Duration::from_secs(60))
}

#[test]
fn mediawiki_with_mariadb() {
    let wiki_service = workspace().join("bundles/mediawiki/service.toml");
    let db_service = workspace().join("bundles/mariadb/service.toml");
    let hint = "bash scripts/mediawiki.sh --db mariadb --prepare-only";
    if !(enabled("mediawiki_with_mariadb", &wiki_service, hint) && enabled("mediawiki_with_mariadb", &db_service, hint)) {
        return;
    }
    let ctx = Ctx::new("mw-mariadb");
    let bins = bin_dir(&ctx);
    let site = ctx.dir("site");
    let port = free_port();
    let db_port = loop {
        let p = free_port();
        if p != port {
            break p;
        }
    };
    let instance = format!("db{}", std::process::id());
    let id = format!("mediawiki@{instance}");
    let db_id = format!("mariadb@{instance}");
    let helpers = [format!("mariadb-setup@{instance}"), format!("mediawiki-install@{instance}")];

    // The main command with --db mariadb, up to the point where it would run the wiki: both
    // rootfs, the database set up (mariadb-install-db in a container) and started for the
    // installer, install.php against it, both bundles; the database stopped again.
    prepare_site(&ctx, &bins, &site, port, &instance, &["--db", "mariadb", "--db-port", &db_port.to_string()], Duration::from_secs(1200));
    let db_dir = site.join("db");
    let (server_uid, server_gid) = server_ids(&db_dir.join("rootfs"));
    // Its own fixed id, not Debian's dynamically numbered mysql account (uid 100 there, some
    // other system account on the host).
    assert_eq!((server_uid, server_gid), (60306, 60306), "the MariaDB rootfs's mariadb account");
    let settings = fs::read_to_string(site.join("LocalSettings.php")).unwrap();
    assert!(settings.contains("$wgDBtype = \"mysql\";"), "LocalSettings.php is not for MySQL/MariaDB");
    assert!(settings.contains("getenv( 'MW_DB_PORT' )"), "LocalSettings.php does not take the database port from MW_DB_PORT");
    assert!(!site.join("data/my_wiki.sqlite").exists(), "a SQLite database was made although --db mariadb");
    for secret in ["data/.admin-password", "data/.db-password", "db/setup/wiki.sql"] {
        assert!(!site.join(secret).exists(), "{secret} was left in the site");
    }
    let pw = fs::metadata(site.join("db-password")).unwrap();
    assert_eq!((pw.uid(), pw.mode() & 0o777), (0, 0o600), "site/db-password must be root's, 0600");
    let data = fs::metadata(db_dir.join("data")).unwrap();
    assert_eq!((data.uid(), data.gid(), data.mode() & 0o777), (server_uid, server_gid, 0o700), "site/db/data: owner and mode");
    assert!(db_dir.join("data/mysql").is_dir() && db_dir.join("data/my_wiki").is_dir(), "site/db/data holds no mysql/ or my_wiki/");
    // The database ran only for the installer: nothing of it, nor of the setup and install
    // containers, is left.
    assert!(ctx.state_residue().is_empty(), "--prepare-only left state: {:?}", ctx.state_residue());
    for i in helpers.iter().chain([&db_id]) {
        assert!(ocirt_cgroups(i).is_empty(), "{i} left its cgroup: {:?}", ocirt_cgroups(i));
    }
    assert!(port_is_free(db_port), "the database still listens after --prepare-only");

    // The generated configs: the wiki may bind its port and connect to the database's only;
    // the database binds its port, connects nowhere, runs as mysql with no capability.
    let wiki_cfg: Value = serde_json::from_str(&fs::read_to_string(site.join("bundle/config.json")).unwrap()).unwrap();
    assert_eq!(wiki_cfg["annotations"]["org.ocirt.landlock.net.bind"], json!(format!("[{port}]")));
    assert_eq!(wiki_cfg["annotations"]["org.ocirt.landlock.net.connect"], json!(format!("[{db_port}]")), "the wiki's connect allowlist");
    let db_cfg: Value = serde_json::from_str(&fs::read_to_string(db_dir.join("bundle/config.json")).unwrap()).unwrap();
    assert_eq!(db_cfg["annotations"]["org.ocirt.landlock.net.bind"], json!(format!("[{db_port}]")));
    assert_eq!(db_cfg["annotations"]["org.ocirt.landlock.net.connect"], json!("[]"));
    assert_eq!(db_cfg["process"]["user"]["uid"], json!(server_uid));
    assert_eq!(db_cfg["process"]["capabilities"]["bounding"], json!([]));
    assert_eq!(db_cfg["root"]["readonly"], json!(true));
    // No fixed cgroupsPath: the runtime gives each id its own cgroup, /ocirt/ID.
    assert!(db_cfg["linux"].get("cgroupsPath").is_none(), "{}", db_cfg["linux"]);

    // The units: the wiki's starts after the database's and requires it.
    let mut c = Command::new(bins.join("spec-gen"));
    c.arg("unit").arg(site.join("service.toml")).args(["--instance", &instance, "--bundle"]).arg(site.join("bundle"));
    let unit = host(&ctx, c, "spec-gen unit (wiki)", Duration::from_secs(30));
    unit.expect_ok("spec-gen unit for the wiki");
    assert!(unit.stdout.contains(&format!("\nAfter={db_id}.service\n")), "{}", unit.stdout);
    assert!(unit.stdout.contains(&format!("\nRequires={db_id}.service\n")), "{}", unit.stdout);

    // Start the database the way its unit does (detached here), then the wiki.
    let db_bundle = db_dir.join("bundle").to_string_lossy().into_owned();
    let bundle = site.join("bundle").to_string_lossy().into_owned();
    ctx.track(&db_id);
    let t0 = Instant::now();
    ctx.rt_within(&["run", "--detach", "--bundle", &db_bundle, &db_id], Duration::from_secs(60)).expect_ok("run --detach (MariaDB)");
    let db_pid = ctx.state(&db_id)["pid"].as_i64().unwrap() as i32;
    ctx.track_pid(db_pid);
    let db_alive = || proc_start(db_pid).is_some_and(|(_, zombie)| !zombie);
    wait_for_port(db_port, Duration::from_secs(60), db_alive);
    eprintln!("mediawiki+mariadb: MariaDB accepted connections {:?} after run --detach (port {db_port})", t0.elapsed());
    assert_eq!(uid_and_capeff(db_pid), Some((server_uid, 0)), "mariadbd should run as mariadb with no capability");

    ctx.track(&id);
    let t0 = Instant::now();
    ctx.rt_within(&["run", "--detach", "--bundle", &bundle, &id], Duration::from_secs(60)).expect_ok("run --detach (wiki)");
    let init = ctx.state(&id)["pid"].as_i64().unwrap() as i32;
    ctx.track_pid(init);
    let main_page = "/mediawiki/index.php/Main_Page";
    wait_for_200(port, main_page, Duration::from_secs(60), || proc_start(init).is_some_and(|(_, z)| !z));
    eprintln!("mediawiki+mariadb: first 200 on Main_Page {:?} after run --detach", t0.elapsed());
    let page = http(port, "GET", main_page, None).unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("MediaWiki 1.39"), "Main_Page does not come from MediaWiki 1.39");

    // A page created through the API, read back over HTTP, and found in MariaDB's tables.
    let title = "Ocirt MariaDB test";
    let text = format!("Stored in '''MariaDB''' by the ocirt integration test, database port {db_port}.");
    api_edit(port, title, &text);
    let raw = http(port, "GET", "/mediawiki/index.php?title=Ocirt_MariaDB_test&action=raw", None).unwrap();
    assert_eq!((raw.status, raw.body.as_str()), (200, text.as_str()), "the page read back differs");
    let sql = "select page_title from my_wiki.page order by page_id; select old_text from my_wiki.text order by old_id";
    let q = exec(&ctx, &db_id, &[], &["mariadb", "--batch", "--skip-column-names", "-e", sql]);
    q.expect_ok("mariadb client in the database's container");
    let rows: Vec<&str> = q.stdout.lines().collect();
    assert!(rows.contains(&"Main_Page") && rows.contains(&"Ocirt_MariaDB_test"), "pages in MariaDB: {rows:?}");
    assert!(rows.contains(&text.as_str()), "the page's text is not in MariaDB's text table: {rows:?}");

    // Landlock's connect allowlist, from inside the wiki's container as www-data: the
    // database's port connects (and MariaDB's greeting arrives), another loopback port where
    // a host listener waits with a token is refused, and the token is never read.
    let token = format!("ocirt-token-{}", std::process::id());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let php = format!(
        r#"foreach ([{db_port}, {other}] as $p) {{ $s = @fsockopen("127.0.0.1", $p, $e, $m, 3); if ($s) {{ stream_set_timeout($s, 3); echo "$p connected ", bin2hex(fread($s, 200)), "\n"; }} else {{ echo "$p refused $e $m\n"; }} }}"#
    );
    let probe = exec(&ctx, &id, &["--user", "33:33"], &["php8.2", "-r", &php]);
    probe.expect_ok("php in the wiki's container");
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let line = |p: u16| probe.stdout.lines().find(|l| l.starts_with(&format!("{p} "))).unwrap_or_default().to_string();
    assert!(
        line(db_port).starts_with(&format!("{db_port} connected ")) && line(db_port).contains(&hex("MariaDB")),
        "the wiki could not reach its database:\n{}",
        probe.stdout
    );
    assert_eq!(line(other), format!("{other} refused 13 Permission denied"), "Landlock let the wiki connect to another port:\n{}", probe.stdout);
    assert!(!probe.stdout.contains(&hex(&token)), "the token was read");
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the refused connection reached the listener: {other:?}"),
    }
    // Positive control for the listener: a host connection gets the token.
    let mut host_conn = TcpStream::connect(("127.0.0.1", other)).unwrap();
    let (mut served, _) = wait_until(Duration::from_secs(5), "the token listener accepts", || listener.accept().ok());
    served.set_nonblocking(false).unwrap();
    served.write_all(token.as_bytes()).unwrap();
    drop(served);
    let mut got = String::new();
    host_conn.read_to_string(&mut got).unwrap();
    assert_eq!(got, token, "the token listener does not work, so its refusal above proves nothing");
    // Over TCP only the wiki's account with its password gets in: not root (it logs in only
    // through the socket, inside the database's container), not a wrong password. From the
    // wiki's container, with PHP's mysqli; the good login is the control.
    let pass = fs::read_to_string(site.join("db-password")).unwrap().trim().to_string();
    let logins = format!(
        r#"mysqli_report(MYSQLI_REPORT_OFF); foreach ([["wiki", getenv("P")], ["root", ""], ["wiki", "wrong"], ["mariadb", ""]] as [$u, $p]) {{ $m = @new mysqli("127.0.0.1", $u, $p, "my_wiki", {db_port}); echo $u, $p === getenv("P") ? " good" : " bad", " ", $m->connect_errno ? "denied " . $m->connect_errno : "in", "\n"; }}"#
    );
    let o = exec(&ctx, &id, &["--user", "33:33", "--env", &format!("P={pass}")], &["php8.2", "-r", &logins]);
    o.expect_ok("mysqli logins from the wiki's container");
    assert_eq!(
        o.stdout.lines().collect::<Vec<_>>(),
        // 1698: root@localhost and mariadb@localhost exist (MariaDB counts loopback as
        // localhost) but their unix_socket plugin refuses a TCP login; 1045: wrong password.
        ["wiki good in", "root bad denied 1698", "wiki bad denied 1045", "mariadb bad denied 1698"],
        "logins over TCP"
    );
    // The database's own container may connect to no TCP port at all, its own included
    // (Landlock: errno 13); the wiki reaching that port above is the control.
    let out = exec(&ctx, &db_id, &[], &["mariadb", "-h", "127.0.0.1", "-P", &db_port.to_string(), "-e", "select 1"]);
    assert!(
        !out.ok() && out.stderr.contains("Can't connect to server on '127.0.0.1' (13)"),
        "the database's container connected over TCP:\n{}{}",
        out.stdout,
        out.stderr
    );

    // Stop: the wiki first, then the database (InnoDB flushes and exits on SIGTERM).
    let mut pids: Vec<(i32, u64)> = children(init).into_iter().filter_map(|p| proc_start(p).map(|s| (p, s.0))).collect();
    pids.push((init, proc_start(init).map(|p| p.0).unwrap_or(0)));
    pids.push((db_pid, proc_start(db_pid).map(|p| p.0).unwrap_or(0)));
    let took = stop(&ctx, &id, Duration::from_secs(8));
    eprintln!("mediawiki+mariadb: wiki stopped {took:?} after SIGTERM");
    ctx.delete(&id, false).expect_ok("delete the wiki");
    let took = stop(&ctx, &db_id, Duration::from_secs(60));
    eprintln!("mediawiki+mariadb: MariaDB stopped {took:?} after SIGTERM");
    assert!(took < Duration::from_secs(30), "MariaDB took {took:?} to stop");
    ctx.delete(&db_id, false).expect_ok("delete the database");
    assert!(port_is_free(port) && port_is_free(db_port), "a port is still taken after the stop");

    // The data lives in the site, not in the container: a new database container serves
    // the page written above.
    ctx.rt_within(&["run", "--detach", "--bundle", &db_bundle, &db_id], Duration::from_secs(60)).expect_ok("run --detach (MariaDB again)");
    let db_pid2 = ctx.state(&db_id)["pid"].as_i64().unwrap() as i32;
    ctx.track_pid(db_pid2);
    wait_for_port(db_port, Duration::from_secs(60), || proc_start(db_pid2).is_some_and(|(_, z)| !z));
    let q = exec(&ctx, &db_id, &[], &["mariadb", "--batch", "--skip-column-names", "-e", "select page_title from my_wiki.page"]);
    q.expect_ok("mariadb client after the restart");
    assert!(q.stdout.lines().any(|l| l == "Ocirt_MariaDB_test"), "the page is gone after a restart: {}", q.stdout);
    pids.push((db_pid2, proc_start(db_pid2).map(|p| p.0).unwrap_or(0)));
    stop(&ctx, &db_id, Duration::from_secs(60));
    ctx.delete(&db_id, false).expect_ok("delete the database");

    // The main command itself on the installed site: both containers started, the URL
    // printed once Main_Page answers; then its stop verb stops both.
    let script_cmd = |args: &[&str]| {
        let mut c = Command::new("bash");
        c.arg(script()).args(args).args(["--instance", &instance]).arg("--state").arg(&ctx.root).env("OCIRT_BIN_DIR", &bins).stdin(Stdio::null());
        c
    };
    let mut c = script_cmd(&["--detach", "--db", "mariadb", "--db-port", &db_port.to_string(), "--port", &port.to_string()]);
    c.arg("--site").arg(&site);
    let t = Instant::now();
    let o = host(&ctx, c, "scripts/mediawiki.sh --db mariadb --detach", Duration::from_secs(300));
    o.expect_ok("scripts/mediawiki.sh --db mariadb --detach");
    eprintln!("mediawiki+mariadb: the main command (set up already) printed the URL after {:?}", t.elapsed());
    assert!(o.stderr.contains(&format!("MediaWiki: http://127.0.0.1:{port}/mediawiki/index.php/Main_Page")), "no URL printed:\n{}", o.stderr);
    for i in [&id, &db_id] {
        let pid = ctx.state(i)["pid"].as_i64().unwrap() as i32;
        ctx.track_pid(pid);
        pids.push((pid, proc_start(pid).map(|p| p.0).unwrap_or(0)));
    }
    let r = http(port, "GET", "/mediawiki/index.php?title=Ocirt_MariaDB_test&action=raw", None).unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, text.as_str()), "the page through the main command's wiki");
    let stop_cmd = script_cmd(&["stop"]);
    let o = host(&ctx, stop_cmd, "scripts/mediawiki.sh stop", Duration::from_secs(120));
    o.expect_ok("scripts/mediawiki.sh stop");
    assert!(o.stderr.contains(&format!("stopped and removed {id}")) && o.stderr.contains(&format!("stopped and removed {db_id}")), "stop:\n{}", o.stderr);
    let wiki_at = o.stderr.find(&format!("removed {id}")).unwrap();
    assert!(wiki_at < o.stderr.find(&format!("removed {db_id}")).unwrap(), "the wiki should stop before its database:\n{}", o.stderr);
    assert!(port_is_free(port) && port_is_free(db_port), "a port is still taken after the stop verb");

    let log = fs::read_to_string(site.join("log/apache2/error.log")).unwrap_or_default();
    let bad: Vec<&str> = log.lines().filter(|l| ["warn]", "error]", "crit]", "alert]", "emerg]"].iter().any(|lvl| l.contains(lvl))).collect();
    assert!(bad.is_empty(), "Apache logged problems:\n{}", bad.join("\n"));
    let mw_logs: Vec<String> = fs::read_dir(site.join("log/mediawiki")).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert!(mw_logs.is_empty(), "MediaWiki logged errors: {mw_logs:?}");
    let ids: Vec<&str> = [id.as_str(), db_id.as_str()].into_iter().chain(helpers.iter().map(String::as_str)).collect();
    assert_gone(&ctx, &ids, &pids);
}

/// Wrong database options get one clear error and a non-zero exit before anything is built
/// or written; a site installed with one database is not run with the other. Needs no
/// rootfs (the checks come first), so it always runs.
#[test]
fn mediawiki_db_options_refused() {
    let ctx = Ctx::new("mw-dbopts");
    let bins = bin_dir(&ctx);
    let site = ctx.dir("site");
    let run = |args: &[&str]| {
        let mut c = Command::new("bash");
        c.arg(script()).args(args).arg("--site").arg(&site).arg("--state").arg(&ctx.root).env("OCIRT_BIN_DIR", &bins).stdin(Stdio::null());
        host(&ctx, c, "scripts/mediawiki.sh", Duration::from_secs(60))
    };
    let cases: [(&[&str], &str); 4] = [
        (&["--db", "postgres"], "--db wants sqlite or mariadb, not postgres"),
        (&["--db", "mariadb", "--db-port", "x"], "--db-port wants a number"),
        (&["--db", "mariadb", "--db-port", "70000"], "--db-port wants 1..65535"),
        (&["--db", "mariadb", "--port", "8099", "--db-port", "8099"], "--db-port must differ from --port (8099)"),
    ];
    for (args, want) in cases {
        let o = run(args);
        assert_ne!(o.code, 0, "{args:?} was accepted");
        assert!(o.stderr.contains(want), "{args:?}: expected `{want}` in:\n{}", o.stderr);
        assert_eq!(o.stderr.lines().filter(|l| l.contains("error")).count(), 1, "{args:?}: one error, not more:\n{}", o.stderr);
        assert_eq!(fs::read_dir(&site).unwrap().count(), 0, "{args:?} wrote into the site");
    }
    // A SQLite site is not run against MariaDB, nor a MariaDB site with SQLite, and the
    // refusal comes before any rootfs is looked at or built.
    for (installed, args, want) in [
        ("sqlite", &["--db", "mariadb"][..], "was installed with SQLite: drop --db mariadb"),
        ("mysql", &[][..], "was installed against MariaDB: add --db mariadb"),
    ] {
        fs::write(site.join("LocalSettings.php"), format!("<?php\n$wgDBtype = \"{installed}\";\n")).unwrap();
        let o = run(args);
        assert_ne!(o.code, 0, "a {installed} site was run with {args:?}");
        assert!(o.stderr.contains(want), "{installed} site, {args:?}: expected `{want}` in:\n{}", o.stderr);
        assert!(!o.stderr.contains("rootfs"), "{installed} site, {args:?}: the refusal should come before the rootfs:\n{}", o.stderr);
        let entries: Vec<String> = fs::read_dir(&site).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(entries, ["LocalSettings.php"], "{installed} site, {args:?}: the site changed");
    }
    ctx.assert_no_residue("after the refused runs");
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
    assert_eq!(
        fs::read_to_string(&committed).unwrap_or_default(),
        unit.stdout,
        "bundles/nginx/nginx-static@.service is stale: regenerate it (UPDATE_GOLDEN=1)"
    );
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

/// The main command as a new user runs it (no OCIRT_BIN_DIR): it builds and installs the
/// binaries (here into a private prefix) and registers the wiki's bundle, so that the
/// product's one-liner `runtime run mediawiki-bundle` starts the wiki by hand afterwards,
/// under the name typed.
#[test]
fn main_command_installs_and_registers_for_run_by_name() {
    let service = workspace().join("bundles/mediawiki/service.toml");
    if !enabled("main_command_installs_and_registers_for_run_by_name", &service, "bash scripts/mediawiki.sh --prepare-only") {
        return;
    }
    let ctx = Ctx::new("mwmain");
    let prefix = ctx.dir("prefix");
    let site = ctx.dir("site");
    let port = free_port();
    let instance = format!("main{}", std::process::id());
    let name = format!("mediawiki-bundle@{instance}");
    let store = Path::new("/var/lib/ocirt/bundles");
    struct Unregister(Vec<PathBuf>);
    impl Drop for Unregister {
        fn drop(&mut self) {
            for p in &self.0 {
                let _ = fs::remove_file(p);
            }
        }
    }
    let _unregister = Unregister(vec![store.join(&name), store.join(format!("mediawiki@{instance}"))]);
    {
        let _build = BUILD.lock().unwrap_or_else(|e| e.into_inner());
        let mut c = Command::new("bash");
        c.arg(script())
            .args(["--prepare-only", "--port", &port.to_string(), "--instance", &instance])
            .arg("--site")
            .arg(&site)
            .arg("--state")
            .arg(&ctx.root)
            .env_remove("OCIRT_BIN_DIR")
            .env("OCIRT_PREFIX", &prefix)
            .stdin(Stdio::null());
        let o = host(&ctx, c, "scripts/mediawiki.sh --prepare-only (installing)", Duration::from_secs(1500));
        o.expect_ok("the main command, installing");
        // The build shows its progress (cargo's own lines), not a silent wait.
        assert!(o.stderr.contains("Compiling") || o.stderr.contains("Finished"), "no build progress shown:\n{}", o.stderr);
        assert!(o.stderr.contains("runtime run mediawiki-bundle"), "the script should say how to run it by hand:\n{}", o.stderr);
    }
    let rt = prefix.join("bin/runtime");
    for bin in [&rt, &prefix.join("bin/spec-gen")] {
        let v = Command::new(bin).arg("--version").output().unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
        assert!(v.status.success() && String::from_utf8_lossy(&v.stdout).contains("commit"), "{}", bin.display());
    }
    for n in [name.clone(), format!("mediawiki@{instance}")] {
        assert_eq!(fs::read_link(store.join(&n)).ok(), Some(site.join("bundle")), "{n} is not registered");
    }

    // By hand, from anywhere: the name as typed becomes the container id.
    ctx.track(&name);
    let mut c = Command::new(&rt);
    c.arg("--root").arg(&ctx.root).args(["run", "--detach", &name]).current_dir("/").stdin(Stdio::null());
    ctx.spawn(c, "runtime run --detach mediawiki-bundle@I").wait(Duration::from_secs(60)).expect_ok("runtime run mediawiki-bundle");
    let init = ctx.state(&name)["pid"].as_i64().unwrap() as i32;
    ctx.track_pid(init);
    wait_for_200(port, "/mediawiki/index.php/Main_Page", Duration::from_secs(60), || proc_start(init).is_some_and(|(_, z)| !z));
    let took = stop(&ctx, &name, Duration::from_secs(8));
    eprintln!("mediawiki: run by name, 200, stopped in {took:?}");
    ctx.delete(&name, false).expect_ok("delete");
}

/// Creates or replaces page `title` through MediaWiki's API (an anonymous edit: the token is
/// "+\\") and checks that the API says it succeeded.
fn api_edit(port: u16, title: &str, text: &str) {
    let r = http(
        port,
        "POST",
        "/mediawiki/api.php",
        Some(&form(&[("action", "edit"), ("format", "json"), ("title", title), ("text", text), ("summary", "integration test"), ("token", "+\\")])),
    )
    .unwrap();
    assert_eq!(r.status, 200, "API edit: {}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("API edit answered no JSON ({e}): {}", r.body));
    assert_eq!(v["edit"]["result"], json!("Success"), "API edit: {}", r.body);
}
