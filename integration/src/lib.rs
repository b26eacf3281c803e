//! Shared harness for the integration tests: drives the built `runtime` binary the way a
//! user (or containerd) would, against throw-away bundles.
//!
//! Every test makes one [`Ctx`]. It owns
//! - a unique temp directory under /tmp (bundles, the `--root` state dir, captured output),
//! - a unique cgroup prefix `/ocirt-it-<pid>-<n>`: every container's `linux.cgroupsPath`
//!   is `<prefix>/<id>` unless the test sets one itself,
//! - the list of container ids and init pids it made.
//!
//! Dropping the `Ctx` (also while unwinding from a failed assertion) runs
//! `runtime delete --force` for each container, then looks for residue: a mount under the
//! temp dir in our /proc/self/mountinfo, a cgroup directory with the prefix in any
//! hierarchy under /sys/fs/cgroup, anything left in the state dir, a container init that
//! is still alive. Residue is cleaned up (so one broken test does not spill into the
//! next) and then fails the test, unless it is already failing.
//!
//! Nothing here kills by name: only pids this process started (the runtime commands) or
//! pids the runtime reported for our own containers.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use serde_json::{json, Value};

pub mod checks;

/// Where the probe lives inside every test rootfs.
pub const PROBE: &str = "/probe";
/// How long a runtime command may take before the harness kills it and fails the test.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(30);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The static probe binary built by build.rs.
pub fn probe_host_path() -> &'static Path {
    Path::new(env!("PROBE_PATH"))
}

fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf()
}

/// The runtime binary: $RUNTIME_BIN, else the newer of target/{release,debug}/runtime; if
/// neither exists, `cargo build -p runtime` is run once.
pub fn runtime_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("RUNTIME_BIN") {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "RUNTIME_BIN={} does not exist", p.display());
            return p;
        }
        let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_dir().join("target"));
        let release = target.join("release/runtime");
        let debug = target.join("debug/runtime");
        let mtime = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
        match (mtime(&release), mtime(&debug)) {
            (Some(r), Some(d)) => return if r > d { release } else { debug },
            (Some(_), None) => return release,
            (None, Some(_)) => return debug,
            (None, None) => {}
        }
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "-p", "runtime"])
            .current_dir(workspace_dir())
            .status()
            .expect("run cargo build -p runtime");
        assert!(status.success(), "cargo build -p runtime failed");
        assert!(debug.is_file(), "cargo build -p runtime did not produce {}", debug.display());
        debug
    })
}

/// The config `runtime spec` writes, read once, with `process.terminal` false.
pub fn spec_template() -> Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("ocirt-it-spec-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            let out = Command::new(runtime_bin()).arg("spec").arg("--bundle").arg(&dir).output().expect("runtime spec");
            assert!(out.status.success(), "runtime spec failed: {}", String::from_utf8_lossy(&out.stderr));
            let text = fs::read_to_string(dir.join("config.json")).expect("runtime spec wrote no config.json");
            fs::remove_dir_all(&dir).unwrap();
            let mut v: Value = serde_json::from_str(&text).expect("runtime spec wrote invalid JSON");
            v["process"]["terminal"] = json!(false);
            v
        })
        .clone()
}

/// Exit code, stdout and stderr of one finished command.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit code, or 128+N when killed by signal N.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn ok(&self) -> bool {
        self.code == 0
    }
    /// Panics with everything we know unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32, what: &str) -> &Self {
        assert_eq!(self.code, code, "{what}: expected exit {code}, got {}\nstdout: {}\nstderr: {}", self.code, self.stdout, self.stderr);
        self
    }
    #[track_caller]
    pub fn expect_ok(&self, what: &str) -> &Self {
        self.expect_code(0, what)
    }
    /// A runtime error: exit 1 and exactly one non-empty line on stderr. Returns the line.
    #[track_caller]
    pub fn expect_error(&self, what: &str) -> String {
        assert_eq!(self.code, 1, "{what}: expected the runtime to fail with exit 1, got {}\nstdout: {}\nstderr: {}", self.code, self.stdout, self.stderr);
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{what}: expected exactly one error line on stderr, got {}:\n{}", lines.len(), self.stderr);
        lines[0].to_string()
    }
    /// stdout trimmed.
    pub fn out(&self) -> &str {
        self.stdout.trim()
    }
}

fn status_code(st: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
}

/// A started command whose stdout/stderr go to files (a container's init inherits the
/// runtime's stdio, so pipes would stay open as long as the container lives).
pub struct Running {
    pub child: Child,
    pub out_path: PathBuf,
    pub err_path: PathBuf,
    pub what: String,
}

impl Running {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
    pub fn stdout_now(&self) -> String {
        fs::read_to_string(&self.out_path).unwrap_or_default()
    }
    pub fn stderr_now(&self) -> String {
        fs::read_to_string(&self.err_path).unwrap_or_default()
    }
    /// Waits up to `limit`; on timeout kills the command (our own child) and panics.
    #[track_caller]
    pub fn wait(mut self, limit: Duration) -> Output {
        match self.wait_timeout(limit) {
            Some(o) => o,
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{} did not finish within {limit:?}\nstdout: {}\nstderr: {}", self.what, self.stdout_now(), self.stderr_now());
            }
        }
    }
    /// None if it is still running after `limit`.
    pub fn wait_timeout(&mut self, limit: Duration) -> Option<Output> {
        let start = Instant::now();
        let mut nap = Duration::from_millis(2);
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return Some(Output { code: status_code(st), stdout: self.stdout_now(), stderr: self.stderr_now() });
            }
            if start.elapsed() >= limit {
                return None;
            }
            std::thread::sleep(nap);
            nap = (nap * 2).min(Duration::from_millis(25));
        }
    }
}

impl Drop for Running {
    /// A command still running when its handle goes (a test failed half-way) is killed:
    /// it is our own child, and a hung `run` would otherwise keep its container locked.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `f` every few ms until it returns Some, or panics after `limit`.
#[track_caller]
pub fn wait_until<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > limit {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// (start time, zombie) of a pid, from /proc/PID/stat.
pub fn proc_start(pid: i32) -> Option<(u64, bool)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f.get(19)?.parse().ok()?, f.first() == Some(&"Z") || f.first() == Some(&"X")))
}

/// True while `pid` with that start time exists and is not a zombie.
pub fn pid_alive(pid: i32, start: u64) -> bool {
    matches!(proc_start(pid), Some((s, false)) if s == start)
}

/// One bundle directory: `config` is edited by the test and written by [`Ctx::create`] and
/// friends (with the cgroup path filled in for the id) or by [`Bundle::write`].
pub struct Bundle {
    pub dir: PathBuf,
    pub rootfs: PathBuf,
    pub config: Value,
    /// Written verbatim instead of `config` when set (malformed-config tests).
    pub raw_config: Option<String>,
}

fn split_path(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

impl Bundle {
    /// Sets `process.args`.
    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.config["process"]["args"] = json!(args);
        self
    }
    /// `process.args` = the probe with these arguments.
    pub fn probe(&mut self, args: &[&str]) -> &mut Self {
        let mut v = vec![PROBE];
        v.extend_from_slice(args);
        self.args(&v)
    }
    /// `process.args` = busybox sh -c SCRIPT.
    pub fn sh(&mut self, script: &str) -> &mut Self {
        self.args(&["/bin/sh", "-c", script])
    }
    /// Sets a value at a '/'-separated path ("process/user/uid", "mounts/3/options"),
    /// creating missing objects on the way. Numeric components index arrays.
    pub fn set(&mut self, path: &str, v: Value) -> &mut Self {
        fn go(cur: &mut Value, parts: &[&str], v: Value) {
            let Some((first, rest)) = parts.split_first() else {
                *cur = v;
                return;
            };
            if let (Value::Array(a), Ok(i)) = (&mut *cur, first.parse::<usize>()) {
                return go(&mut a[i], rest, v);
            }
            if !cur.is_object() {
                *cur = json!({});
            }
            let next = cur.as_object_mut().unwrap().entry(first.to_string()).or_insert(Value::Null);
            go(next, rest, v)
        }
        go(&mut self.config, &split_path(path), v);
        self
    }
    /// Removes the value at a '/'-separated path, if present.
    pub fn remove(&mut self, path: &str) -> &mut Self {
        let parts = split_path(path);
        let (last, parents) = parts.split_last().expect("non-empty path");
        let mut cur = &mut self.config;
        for p in parents {
            cur = match cur {
                Value::Object(o) => match o.get_mut(*p) {
                    Some(v) => v,
                    None => return self,
                },
                Value::Array(a) => match p.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                    Some(v) => v,
                    None => return self,
                },
                _ => return self,
            };
        }
        match cur {
            Value::Object(o) => {
                o.remove(*last);
            }
            Value::Array(a) => {
                if let Ok(i) = last.parse::<usize>() {
                    if i < a.len() {
                        a.remove(i);
                    }
                }
            }
            _ => {}
        }
        self
    }
    /// Appends to the array at `path` (created if missing).
    pub fn push(&mut self, path: &str, v: Value) -> &mut Self {
        let parts = split_path(path);
        let mut cur = &mut self.config;
        for p in &parts {
            cur = match cur {
                Value::Array(a) => &mut a[p.parse::<usize>().expect("array index")],
                other => {
                    if !other.is_object() {
                        *other = json!({});
                    }
                    other.as_object_mut().unwrap().entry(p.to_string()).or_insert(Value::Null)
                }
            };
        }
        if !cur.is_array() {
            *cur = json!([]);
        }
        cur.as_array_mut().unwrap().push(v);
        self
    }
    pub fn get(&self, path: &str) -> &Value {
        let mut cur = &self.config;
        for p in split_path(path) {
            cur = match cur {
                Value::Array(a) => p.parse::<usize>().ok().and_then(|i| a.get(i)).unwrap_or(&Value::Null),
                _ => cur.get(p).unwrap_or(&Value::Null),
            };
        }
        cur
    }
    /// Adds a mount entry.
    pub fn mount(&mut self, dest: &str, typ: &str, source: &str, options: &[&str]) -> &mut Self {
        self.push("mounts", json!({"destination": dest, "type": typ, "source": source, "options": options}))
    }
    /// Removes every mount whose destination is `dest`.
    pub fn unmount(&mut self, dest: &str) -> &mut Self {
        if let Some(a) = self.config["mounts"].as_array_mut() {
            a.retain(|m| m["destination"] != json!(dest));
        }
        self
    }
    /// Adds a namespace of `typ` unless it is there.
    pub fn namespace(&mut self, typ: &str) -> &mut Self {
        let present = self.config["linux"]["namespaces"].as_array().is_some_and(|a| a.iter().any(|n| n["type"] == json!(typ)));
        if !present {
            self.push("linux/namespaces", json!({"type": typ}));
        }
        self
    }
    /// Writes `config.json` as is (raw_config if set).
    pub fn write(&self) {
        let text = match &self.raw_config {
            Some(r) => r.clone(),
            None => serde_json::to_string_pretty(&self.config).unwrap(),
        };
        fs::write(self.dir.join("config.json"), text).expect("write config.json");
    }
    /// A path inside the rootfs, on the host.
    pub fn host_path(&self, container_path: &str) -> PathBuf {
        self.rootfs.join(container_path.trim_start_matches('/'))
    }
    /// Writes a file into the rootfs (creating parents).
    pub fn put_file(&self, container_path: &str, content: &str, mode: u32) {
        let p = self.host_path(container_path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, content).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// Per-test context; see the module docs.
pub struct Ctx {
    pub name: String,
    /// The test's temp directory.
    pub base: PathBuf,
    /// `--root` for every runtime command of this test.
    pub root: PathBuf,
    /// The cgroup prefix, e.g. "/ocirt-it-1234-7" (no trailing slash).
    pub cg_prefix: String,
    ids: Mutex<Vec<String>>,
    pids: Mutex<Vec<(i32, u64)>>,
    /// Host mounts the test made itself (e.g. a submount in a bind source): unmounted first.
    host_mounts: Mutex<Vec<PathBuf>>,
    seq: AtomicUsize,
}

impl Ctx {
    pub fn new(name: &str) -> Ctx {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let base = PathBuf::from(format!("/tmp/ocirt-it-{pid}-{n}-{name}"));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(&base).expect("create test dir");
        fs::set_permissions(&base, fs::Permissions::from_mode(0o755)).unwrap();
        let ctx = Ctx {
            name: name.to_string(),
            root: base.join("state"),
            base,
            cg_prefix: format!("/ocirt-it-{pid}-{n}"),
            ids: Mutex::new(vec![]),
            pids: Mutex::new(vec![]),
            host_mounts: Mutex::new(vec![]),
            seq: AtomicUsize::new(0),
        };
        let _ = runtime_bin();
        static SWEEP: OnceLock<()> = OnceLock::new();
        SWEEP.get_or_init(sweep_dead_runs);
        ctx
    }

    /// A fresh id, unique within this test.
    pub fn next_id(&self) -> String {
        format!("{}-{}", self.name.replace('_', "-"), self.seq.fetch_add(1, Ordering::SeqCst))
    }

    /// A directory under the test dir (created).
    pub fn dir(&self, name: &str) -> PathBuf {
        let p = self.base.join(name);
        fs::create_dir_all(&p).unwrap();
        p
    }

    /// A busybox + probe rootfs and the spec template in `<base>/<name>/`.
    pub fn bundle(&self, name: &str) -> Bundle {
        let dir = self.base.join(name);
        let rootfs = dir.join("rootfs");
        make_rootfs(&rootfs);
        Bundle { dir, rootfs, config: spec_template(), raw_config: None }
    }

    /// Remembers a container so that Drop deletes it and checks its residue.
    pub fn track(&self, id: &str) {
        let mut ids = self.ids.lock().unwrap();
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    }

    /// Remembers a container init pid whose death Drop checks.
    pub fn track_pid(&self, pid: i32) {
        if pid > 0 {
            if let Some((start, _)) = proc_start(pid) {
                self.pids.lock().unwrap().push((pid, start));
            }
        }
    }

    /// Registers a host mount the test made; Drop unmounts it before checking residue.
    pub fn track_host_mount(&self, p: &Path) {
        self.host_mounts.lock().unwrap().push(p.to_path_buf());
    }

    /// Writes the bundle's config for container `id`: `linux.cgroupsPath` defaults to
    /// `<prefix>/<id>`.
    pub fn write_config(&self, b: &Bundle, id: &str) {
        if b.raw_config.is_some() {
            b.write();
            return;
        }
        let mut c = b.config.clone();
        if c["linux"].get("cgroupsPath").is_none() {
            if !c["linux"].is_object() {
                c["linux"] = json!({});
            }
            c["linux"]["cgroupsPath"] = json!(self.cgroup_path(id));
        }
        fs::write(b.dir.join("config.json"), serde_json::to_string_pretty(&c).unwrap()).expect("write config.json");
    }

    /// The cgroup path the harness gives container `id`.
    pub fn cgroup_path(&self, id: &str) -> String {
        format!("{}/{id}", self.cg_prefix)
    }

    /// The host directory of container `id`'s cgroup in v1 hierarchy `controller`.
    pub fn cgroup_dir(&self, controller: &str, id: &str) -> PathBuf {
        Path::new("/sys/fs/cgroup").join(controller).join(self.cgroup_path(id).trim_start_matches('/'))
    }

    /// A runtime command with this test's --root; stdin is /dev/null.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(runtime_bin());
        c.arg("--root").arg(&self.root).args(args).stdin(Stdio::null());
        c
    }

    /// Spawns `c` with stdout/stderr sent to fresh files in the test dir.
    #[track_caller]
    pub fn spawn(&self, c: Command, what: &str) -> Running {
        self.try_spawn(c, what).unwrap_or_else(|e| panic!("spawn {what}: {e}"))
    }

    /// Like [`Ctx::spawn`], without panicking. A binary that is missing or busy for a moment
    /// (cargo relinking it while the suite runs) is retried for a few seconds.
    pub fn try_spawn(&self, mut c: Command, what: &str) -> std::io::Result<Running> {
        let k = self.seq.fetch_add(1, Ordering::SeqCst);
        let out_path = self.base.join(format!("cmd-{k}.out"));
        let err_path = self.base.join(format!("cmd-{k}.err"));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            c.stdout(fs::File::create(&out_path)?).stderr(fs::File::create(&err_path)?);
            match c.spawn() {
                Ok(child) => return Ok(Running { child, out_path, err_path, what: what.to_string() }),
                Err(e) if (e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ETXTBSY)) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Runs a runtime command to completion (bounded by CMD_TIMEOUT).
    #[track_caller]
    pub fn rt(&self, args: &[&str]) -> Output {
        self.spawn(self.cmd(args), &format!("runtime {}", args.join(" "))).wait(CMD_TIMEOUT)
    }

    /// Runs a runtime command bounded by `limit` (panics naming the command if it hangs).
    #[track_caller]
    pub fn rt_within(&self, args: &[&str], limit: Duration) -> Output {
        self.spawn(self.cmd(args), &format!("runtime {}", args.join(" "))).wait(limit)
    }

    /// `create --bundle B ID [extra...]`, after writing B's config for ID.
    #[track_caller]
    pub fn create(&self, b: &Bundle, id: &str, extra: &[&str]) -> Output {
        self.write_config(b, id);
        self.create_no_write(b, id, extra)
    }

    /// `create` without (re)writing config.json.
    #[track_caller]
    pub fn create_no_write(&self, b: &Bundle, id: &str, extra: &[&str]) -> Output {
        self.track(id);
        let bundle = b.dir.to_string_lossy().into_owned();
        let mut args = vec!["create", "--bundle", &bundle];
        args.extend_from_slice(extra);
        args.push(id);
        let o = self.rt(&args);
        if o.ok() {
            self.track_pid(self.state_pid(id));
        }
        o
    }

    /// `create` that must succeed; returns the init's pid.
    #[track_caller]
    pub fn create_ok(&self, b: &Bundle, id: &str) -> i32 {
        self.create(b, id, &[]).expect_ok(&format!("create {id}"));
        self.state_pid(id)
    }

    #[track_caller]
    pub fn start(&self, id: &str) -> Output {
        self.rt(&["start", id])
    }

    /// `state ID`, parsed; panics if it fails.
    #[track_caller]
    pub fn state(&self, id: &str) -> Value {
        let o = self.rt(&["state", id]);
        o.expect_ok(&format!("state {id}"));
        serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("state {id}: invalid JSON ({e}): {}", o.stdout))
    }

    #[track_caller]
    pub fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap_or_default().to_string()
    }

    fn state_pid(&self, id: &str) -> i32 {
        let o = self.rt(&["state", id]);
        serde_json::from_str::<Value>(&o.stdout).ok().and_then(|v| v["pid"].as_i64()).unwrap_or(0) as i32
    }

    #[track_caller]
    pub fn kill(&self, id: &str, sig: &str) -> Output {
        self.rt(&["kill", id, sig])
    }

    #[track_caller]
    pub fn delete(&self, id: &str, force: bool) -> Output {
        if force {
            self.rt(&["delete", "--force", id])
        } else {
            self.rt(&["delete", id])
        }
    }

    /// Waits (bounded) until `state` reports `status`.
    #[track_caller]
    pub fn wait_for_status(&self, id: &str, status: &str, limit: Duration) {
        let start = Instant::now();
        loop {
            let last;
            let o = self.rt_within(&["state", id], limit.max(Duration::from_secs(2)));
            if o.ok() {
                let v: Value = serde_json::from_str(&o.stdout).unwrap_or(Value::Null);
                last = v["status"].as_str().unwrap_or_default().to_string();
                if last == status {
                    return;
                }
            } else {
                last = o.stderr.trim().to_string();
            }
            if start.elapsed() > limit {
                panic!("container {id}: waited {limit:?} for status {status}, last seen: {last}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `run --bundle B [extra...] ID` in the foreground, to completion.
    #[track_caller]
    pub fn run(&self, b: &Bundle, id: &str, extra: &[&str]) -> Output {
        self.spawn_run(b, id, extra).wait(CMD_TIMEOUT)
    }

    /// `run -d --bundle B ID` (config written for ID), then waits until ID is running.
    #[track_caller]
    pub fn run_detached(&self, b: &Bundle, id: &str) {
        self.write_config(b, id);
        self.track(id);
        let bundle = b.dir.to_string_lossy().into_owned();
        self.rt(&["run", "-d", "--bundle", &bundle, id]).expect_ok("run -d");
        self.wait_for_status(id, "running", Duration::from_secs(5));
    }

    /// `run --bundle B ID` in the foreground under a fresh id, with `env` added to the
    /// runtime's environment (NOTIFY_SOCKET, WATCHDOG_*, ...); waits for it.
    pub fn run_with_env(&self, b: &Bundle, env: &[(&str, &std::ffi::OsStr)]) -> Output {
        let id = self.next_id();
        self.write_config(b, &id);
        self.track(&id);
        let bundle = b.dir.to_string_lossy().into_owned();
        let mut cmd = self.cmd(&["run", "--bundle", &bundle, &id]);
        cmd.envs(env.iter().copied());
        self.spawn(cmd, &format!("runtime run with {env:?}")).wait(CMD_TIMEOUT)
    }

    /// Starts `run --bundle B [extra...] ID` and returns without waiting.
    pub fn spawn_run(&self, b: &Bundle, id: &str, extra: &[&str]) -> Running {
        self.write_config(b, id);
        self.track(id);
        let bundle = b.dir.to_string_lossy().into_owned();
        let mut args = vec!["run", "--bundle", &bundle];
        args.extend_from_slice(extra);
        args.push(id);
        self.spawn(self.cmd(&args), &format!("runtime {}", args.join(" ")))
    }

    /// Runs the bundle with `process.args` = probe ARGS under a fresh id; returns its output.
    #[track_caller]
    pub fn probe(&self, b: &mut Bundle, args: &[&str]) -> Output {
        b.probe(args);
        let id = self.next_id();
        self.run(b, &id, &[])
    }

    /// Runs the bundle with `sh -c SCRIPT` under a fresh id.
    #[track_caller]
    pub fn sh(&self, b: &mut Bundle, script: &str) -> Output {
        b.sh(script);
        let id = self.next_id();
        self.run(b, &id, &[])
    }

    /// Cgroup directories with our prefix, in every hierarchy.
    pub fn cgroup_residue(&self) -> Vec<PathBuf> {
        cgroup_hierarchies().into_iter().map(|h| h.join(self.cg_prefix.trim_start_matches('/'))).filter(|p| p.exists()).collect()
    }

    /// Mount points under the test dir, in our mount namespace (deepest last).
    pub fn mount_residue(&self) -> Vec<String> {
        mounts_under(&self.base)
    }

    /// Entries left in the state dir.
    pub fn state_residue(&self) -> Vec<String> {
        fs::read_dir(&self.root).into_iter().flatten().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()
    }

    /// Container pids still alive.
    pub fn pid_residue(&self) -> Vec<i32> {
        self.pids.lock().unwrap().iter().filter(|(p, s)| pid_alive(*p, *s)).map(|(p, _)| *p).collect()
    }

    /// Asserts (now, mid-test) that nothing is left for a container that failed to be made:
    /// no state entry, no cgroup with our prefix, no mount under the test dir.
    #[track_caller]
    pub fn assert_no_residue(&self, what: &str) {
        let r = self.residue_report();
        assert!(r.is_empty(), "{what}: residue:\n{}", r.join("\n"));
    }

    /// Like [`Ctx::assert_no_residue`] but only for container `id` (others may be alive):
    /// no state entry and no cgroup directory for it.
    #[track_caller]
    pub fn assert_no_residue_for(&self, id: &str, what: &str) {
        let mut r = vec![];
        if self.root.join(id).exists() {
            r.push(format!("state entry left: {}", self.root.join(id).display()));
        }
        for h in cgroup_hierarchies() {
            let p = h.join(self.cgroup_path(id).trim_start_matches('/'));
            if p.exists() {
                r.push(format!("cgroup left: {}", p.display()));
            }
        }
        for m in self.mount_residue() {
            r.push(format!("mount left: {m}"));
        }
        assert!(r.is_empty(), "{what}: residue of {id}:\n{}", r.join("\n"));
    }

    fn residue_report(&self) -> Vec<String> {
        let mut r = vec![];
        for m in self.mount_residue() {
            r.push(format!("mount left: {m}"));
        }
        for c in self.cgroup_residue() {
            r.push(format!("cgroup left: {}", c.display()));
        }
        for s in self.state_residue() {
            r.push(format!("state entry left: {}", self.root.join(s).display()));
        }
        for p in self.pid_residue() {
            r.push(format!("container process still alive: pid {p}"));
        }
        r
    }

    fn cleanup_residue(&self) {
        for p in self.pid_residue() {
            // SAFETY: a container init of ours (pid and start time checked just now).
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        for c in self.cgroup_residue() {
            remove_cgroup_tree(&c);
        }
        for m in self.mount_residue().iter().rev() {
            umount_detach(Path::new(m));
        }
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        let panicking = std::thread::panicking();
        let mut problems = vec![];
        for m in self.host_mounts.lock().unwrap().iter().rev() {
            umount_detach(m);
        }
        let ids = self.ids.lock().unwrap().clone();
        for id in &ids {
            let o = match self.try_spawn(self.cmd(&["delete", "--force", id]), "delete --force") {
                Ok(mut r) => r.wait_timeout(CMD_TIMEOUT),
                Err(e) => {
                    problems.push(format!("cleanup: cannot run delete --force {id}: {e}"));
                    continue;
                }
            };
            match o {
                Some(o) if o.ok() => {}
                Some(o) => problems.push(format!("cleanup: delete --force {id} failed (exit {}): {}", o.code, o.stderr.trim())),
                None => problems.push(format!("cleanup: delete --force {id} hung")),
            }
        }
        // The runtime waits for the init to die; give zombies' parents a moment anyway.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.pid_residue().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        problems.extend(self.residue_report());
        if !problems.is_empty() {
            self.cleanup_residue();
        }
        if self.mount_residue().is_empty() {
            let _ = fs::remove_dir_all(&self.base);
        } else {
            problems.push(format!("mounts still under {} after cleanup: not removing it", self.base.display()));
        }
        if !problems.is_empty() {
            let msg = format!("test {}: residue after cleanup:\n  {}", self.name, problems.join("\n  "));
            if panicking {
                eprintln!("{msg}");
            } else {
                panic!("{msg}");
            }
        }
    }
}

/// The pid in a name "ocirt-it-<pid>-..." if that process is gone (a killed earlier run).
fn dead_run_pid(name: &str) -> Option<i32> {
    let pid: i32 = name.strip_prefix("ocirt-it-")?.split('-').next()?.parse().ok()?;
    (pid as u32 != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()).then_some(pid)
}

/// Leftovers of earlier harness runs that were killed before their Drop ran: temp dirs
/// without mounts are removed, and empty cgroup dirs rmdir'ed. Nothing is killed, and only
/// names of processes that no longer exist are touched.
fn sweep_dead_runs() {
    for e in fs::read_dir("/tmp").into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if dead_run_pid(&name).is_some() && e.path().is_dir() && mounts_under(&e.path()).is_empty() {
            let _ = fs::remove_dir_all(e.path());
        }
    }
    for h in cgroup_hierarchies() {
        for e in fs::read_dir(&h).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if dead_run_pid(&name).is_some() {
                rmdir_empty_tree(&e.path());
            }
        }
    }
}

fn rmdir_empty_tree(p: &Path) {
    for e in fs::read_dir(p).into_iter().flatten().flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            rmdir_empty_tree(&e.path());
        }
    }
    let _ = fs::remove_dir(p);
}

/// Every mounted cgroup hierarchy under /sys/fs/cgroup (v1 controllers and cgroup2).
pub fn cgroup_hierarchies() -> Vec<PathBuf> {
    let mut v = vec![];
    for e in fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() && !fs::symlink_metadata(&p).map(|m| m.file_type().is_symlink()).unwrap_or(true) {
            v.push(p);
        }
    }
    v.push(PathBuf::from("/sys/fs/cgroup"));
    v
}

fn remove_cgroup_tree(p: &Path) {
    let mut subdirs = vec![];
    for e in fs::read_dir(p).into_iter().flatten().flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            subdirs.push(e.path());
        }
    }
    for d in subdirs {
        remove_cgroup_tree(&d);
    }
    if let Ok(procs) = fs::read_to_string(p.join("cgroup.procs")) {
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            // SAFETY: a process in one of this test's own cgroups.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    for _ in 0..50 {
        if fs::remove_dir(p).is_ok() || !p.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Mount points (from /proc/self/mountinfo) at or below `dir`.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let d = dir.to_string_lossy().into_owned();
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines().filter_map(|l| l.split(' ').nth(4)).map(unescape_mountinfo).filter(|m| m == &d || m.starts_with(&format!("{d}/"))).collect()
}

fn unescape_mountinfo(s: &str) -> String {
    s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
}

pub fn umount_detach(p: &Path) {
    let c = std::ffi::CString::new(p.to_string_lossy().as_bytes()).unwrap();
    // SAFETY: a valid C string; MNT_DETACH on a path under our own test dir.
    unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
}

/// Mounts a tmpfs on a host directory (for tests that need a submount in a bind source).
pub fn mount_tmpfs(p: &Path, opts: &str) {
    let c = std::ffi::CString::new(p.to_string_lossy().as_bytes()).unwrap();
    let t = std::ffi::CString::new("tmpfs").unwrap();
    let o = std::ffi::CString::new(opts).unwrap();
    // SAFETY: valid C strings.
    let r = unsafe { libc::mount(t.as_ptr(), c.as_ptr(), t.as_ptr(), 0, o.as_ptr() as *const libc::c_void) };
    assert_eq!(r, 0, "mount tmpfs on {}: {}", p.display(), std::io::Error::last_os_error());
}

/// busybox (with applet links in /bin), the probe at /probe, /etc/passwd and /etc/group with
/// root and user 1000, and the usual empty mount points.
pub fn make_rootfs(rootfs: &Path) {
    static APPLETS: OnceLock<Vec<String>> = OnceLock::new();
    let busybox = ["/bin/busybox", "/usr/bin/busybox"].into_iter().map(Path::new).find(|p| p.is_file()).expect("busybox not found: install busybox-static");
    let applets = APPLETS.get_or_init(|| {
        let o = Command::new(busybox).arg("--list").output().expect("busybox --list");
        String::from_utf8_lossy(&o.stdout).lines().map(|s| s.trim().to_string()).filter(|s| !s.is_empty() && s != "busybox").collect()
    });
    for d in ["bin", "etc", "tmp", "proc", "sys", "dev", "root", "home/user", "mnt", "usr/bin", "var"] {
        fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    fs::set_permissions(rootfs.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    fs::copy(busybox, rootfs.join("bin/busybox")).expect("copy busybox");
    for a in applets {
        let _ = symlink("busybox", rootfs.join("bin").join(a));
    }
    fs::copy(probe_host_path(), rootfs.join("probe")).expect("copy probe");
    fs::set_permissions(rootfs.join("probe"), fs::Permissions::from_mode(0o755)).unwrap();
    let mut f = fs::File::create(rootfs.join("etc/passwd")).unwrap();
    writeln!(f, "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh").unwrap();
    fs::write(rootfs.join("etc/group"), "root:x:0:\nuser:x:1000:\n").unwrap();
    let c = std::ffi::CString::new(rootfs.join("home/user").to_string_lossy().as_bytes()).unwrap();
    // SAFETY: valid C string.
    unsafe { libc::chown(c.as_ptr(), 1000, 1000) };
}

/// Lines of a mountinfo text whose mount point is exactly `mp`.
pub fn mountinfo_entries<'a>(mountinfo: &'a str, mp: &str) -> Vec<&'a str> {
    mountinfo.lines().filter(|l| l.split(' ').nth(4) == Some(mp)).collect()
}

/// Mount options (per-mount, field 6) of the last mount at `mp`.
pub fn mount_opts(mountinfo: &str, mp: &str) -> Vec<String> {
    mountinfo_entries(mountinfo, mp).last().and_then(|l| l.split(' ').nth(5)).map(|o| o.split(',').map(String::from).collect()).unwrap_or_default()
}

/// The filesystem type of the last mount at `mp`.
pub fn mount_fstype(mountinfo: &str, mp: &str) -> Option<String> {
    let l = mountinfo_entries(mountinfo, mp).last().copied()?;
    let after = l.split(" - ").nth(1)?;
    after.split(' ').next().map(String::from)
}

/// Super-block options of the last mount at `mp`.
pub fn super_opts(mountinfo: &str, mp: &str) -> Vec<String> {
    let Some(l) = mountinfo_entries(mountinfo, mp).last().copied() else { return vec![] };
    l.split(" - ").nth(1).and_then(|a| a.split(' ').nth(2)).map(|o| o.split(',').map(String::from).collect()).unwrap_or_default()
}

/// Writes an executable shell script on the host.
pub fn write_script(path: &Path, body: &str) {
    fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// The unprivileged user the rootless tests run as (scripts/setup-podman.sh makes it).
pub const ROOTLESS_USER: &str = "ocirt-rootless";

/// uid and gid of [`ROOTLESS_USER`], or a skip for `test` (a failure under
/// OCIRT_REQUIRE_ALL).
pub fn rootless_user(test: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let ids = passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&ROOTLESS_USER)).then(|| Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?))).flatten()
    });
    if ids.is_none() {
        assert!(
            std::env::var_os("OCIRT_REQUIRE_ALL").is_none(),
            "{test}: OCIRT_REQUIRE_ALL is set but user {ROOTLESS_USER} is missing: run scripts/setup-podman.sh"
        );
        eprintln!("{test}: skipped: no user {ROOTLESS_USER} (scripts/setup-podman.sh makes it)");
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> Bundle {
        Bundle {
            dir: PathBuf::from("/nonexistent"),
            rootfs: PathBuf::from("/nonexistent/rootfs"),
            config: json!({"a": {"b": [1, {"c": 2}]}}),
            raw_config: None,
        }
    }

    #[test]
    fn set_get_remove_push() {
        let mut b = bundle();
        b.set("a/b/1/c", json!(3));
        assert_eq!(b.get("a/b/1/c"), &json!(3));
        b.set("x/y/z", json!("new"));
        assert_eq!(b.config["x"]["y"]["z"], "new");
        b.push("a/b", json!(4));
        assert_eq!(b.get("a/b/2"), &json!(4));
        b.push("list/here", json!(1));
        assert_eq!(b.config["list"]["here"], json!([1]));
        b.remove("a/b/0");
        assert_eq!(b.get("a/b"), &json!([{"c": 3}, 4]));
        b.remove("no/such/path");
        b.remove("x");
        assert!(b.config.get("x").is_none());
        assert_eq!(b.get("missing/deep"), &Value::Null);
    }

    #[test]
    fn mountinfo_helpers() {
        let mi = "65 42 254:0 /r / ro,relatime shared:1 - ext4 /dev/vda rw,discard\n\
                  83 65 0:46 / /tmp rw,nosuid,nodev - tmpfs tmpfs rw,size=1024k,mode=700\n";
        assert_eq!(mount_fstype(mi, "/tmp").as_deref(), Some("tmpfs"));
        assert_eq!(mount_opts(mi, "/tmp"), ["rw", "nosuid", "nodev"]);
        assert_eq!(super_opts(mi, "/tmp"), ["rw", "size=1024k", "mode=700"]);
        assert_eq!(mount_fstype(mi, "/"), Some("ext4".into()));
        assert!(mountinfo_entries(mi, "/nope").is_empty());
    }

    #[test]
    fn dead_run_names() {
        assert_eq!(dead_run_pid(&format!("ocirt-it-{}-3-x", std::process::id())), None);
        assert_eq!(dead_run_pid("ocirt-it-1-3-x"), None, "pid 1 is alive");
        assert_eq!(dead_run_pid("something-else"), None);
        assert_eq!(dead_run_pid("ocirt-it-999999999-0-x"), Some(999999999));
    }
}
