//! containerd drives the runtime (issue 12, "Kubernetes / CRI"): `ctr` through containerd's
//! runc v2 shim with `--runc-binary`, and the CRI plugin (the path the kubelet takes) with a
//! runtime handler `ocirt` whose BinaryName is the runtime, checked step by step by our own
//! CRI client (integration/cri/cri_client.py). Every case runs with runc too, as the control:
//! a broken setup fails there as well instead of passing.
//!
//! Each test runs a private containerd (its own config, root, state, socket and opt dirs in
//! the test's temp dir, cgroups under the test's prefix, images imported from an OCI archive
//! built by integration/cri/make_image.py: no registry is needed) and stops it at the end, then
//! checks that nothing is left: no shim or container process, no mount under the temp dir, no
//! cgroup, no runtime state, no shim socket.
//!
//! Needs containerd, ctr, runc and the CRI client's venv (scripts/setup-cri.sh); skipped
//! without them unless OCIRT_REQUIRE_ALL is set.

use integration::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BUSYBOX_IMAGE: &str = "localhost/ocirt-busybox:cri";
const PAUSE_IMAGE: &str = "localhost/ocirt-pause:cri";
const RUNC: &str = "/usr/sbin/runc";
/// containerd 1.6 puts its shims' sockets here whatever its config says.
const SHIM_SOCKETS: &str = "/run/containerd/s";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn cri_dir() -> PathBuf {
    workspace().join("integration/cri")
}

/// A test that cannot run here: skipped, or a failure under OCIRT_REQUIRE_ALL.
fn skip(test: &str, why: &str) {
    assert!(std::env::var_os("OCIRT_REQUIRE_ALL").is_none(), "{test}: OCIRT_REQUIRE_ALL is set but {why} (run scripts/setup-cri.sh)");
    eprintln!("{test}: skipped: {why} (scripts/setup-cri.sh installs it)");
}

fn find_tool(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin", "/sbin"].iter().map(|d| Path::new(d).join(name)).find(|p| p.is_file())
}

/// The venv scripts/setup-cri.sh made for the current requirements.txt (it keeps a copy of
/// the file it was made from).
fn venv_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("OCIRT_CRI_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let want = fs::read_to_string(cri_dir().join("requirements.txt")).ok()?;
    let cache = std::env::var_os("OCIRT_CACHE").map(PathBuf::from).unwrap_or_else(|| "/var/cache/ocirt".into());
    fs::read_dir(cache.join("cri"))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|d| d.join(".complete").exists())
        .find(|d| fs::read_to_string(d.join("requirements.txt")).ok().as_deref() == Some(want.as_str()))
        .map(|d| d.join("bin/python3"))
}

struct Tools {
    containerd: PathBuf,
    ctr: PathBuf,
    python: PathBuf,
}

fn tools(test: &str) -> Option<Tools> {
    let found = (find_tool("containerd"), find_tool("ctr"), find_tool("containerd-shim-runc-v2"), Path::new(RUNC).is_file(), venv_python());
    match found {
        (Some(containerd), Some(ctr), Some(_), true, Some(python)) => Some(Tools { containerd, ctr, python }),
        (None, ..) | (_, None, ..) | (_, _, None, ..) => {
            skip(test, "containerd, ctr or containerd-shim-runc-v2 is not installed");
            None
        }
        (_, _, _, false, _) => {
            skip(test, &format!("{RUNC} (the control) is not installed"));
            None
        }
        (.., None) => {
            skip(test, "the CRI client's venv is not in /var/cache/ocirt/cri");
            None
        }
    }
}

/// Our pid as a child subreaper: containerd's shims daemonize, so they are orphaned; as a
/// subreaper this test process adopts them (the machine's pid 1 may not reap) and can reap
/// them when they exit.
fn become_subreaper() {
    // SAFETY: prctl with integer arguments.
    let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(r, 0, "PR_SET_CHILD_SUBREAPER: {}", std::io::Error::last_os_error());
}

fn run_cmd(c: &mut Command, what: &str, limit: Duration) -> Output {
    let mut child = c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("{what}: {e}"));
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            let o = child.wait_with_output().unwrap();
            use std::os::unix::process::ExitStatusExt;
            let code = o.status.code().unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0));
            return Output { code, stdout: String::from_utf8_lossy(&o.stdout).into_owned(), stderr: String::from_utf8_lossy(&o.stderr).into_owned() };
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("{what}: still running after {limit:?}\nstdout: {}\nstderr: {}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A private containerd for one test, stopped (and checked for leftovers) by [`Containerd::stop`].
struct Containerd {
    child: Option<Child>,
    dir: PathBuf,
    sock: PathBuf,
    ctr: PathBuf,
    /// (namespace, id) of every task shim started: their sockets must be gone at the end.
    tasks: std::sync::Mutex<Vec<(String, String)>>,
}

impl Containerd {
    /// Starts containerd with runtime handlers `ocirt` (state under `ocirt_root`) and `runc`
    /// (state under `<dir>/runc-root`), imports the test images into `namespaces`.
    fn start(ctx: &Ctx, t: &Tools, ocirt_root: &Path, namespaces: &[&str]) -> Containerd {
        become_subreaper();
        let dir = ctx.dir("containerd");
        let sock = dir.join("containerd.sock");
        let d = dir.display();
        let config = format!(
            r#"version = 2
root = "{d}/root"
state = "{d}/state"
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  # This machine's bounding set lacks CAP_SYS_RESOURCE: the sandbox's default
  # oom_score_adj of -998 could not be set by any runtime.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{d}/cni/bin"
    conf_dir = "{d}/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "{RUNC}"
        Root = "{d}/runc-root"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.ocirt]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.ocirt.options]
        BinaryName = "{rt}"
        Root = "{root}"
"#,
            sock = sock.display(),
            rt = runtime_bin().display(),
            root = ocirt_root.display(),
        );
        fs::write(dir.join("config.toml"), config).unwrap();
        let log = fs::File::create(dir.join("containerd.log")).unwrap();
        let child = Command::new(&t.containerd)
            .arg("--config")
            .arg(dir.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start containerd");
        let c = Containerd { child: Some(child), dir, sock, ctr: t.ctr.clone(), tasks: Default::default() };
        let ready = Instant::now();
        while !c.ctr(&["version"], None).ok() {
            assert!(ready.elapsed() < Duration::from_secs(30), "containerd did not answer within 30s:\n{}", c.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        let tar = c.dir.join("images.tar");
        let pause = format!("{PAUSE_IMAGE}=/bin/sh,-c,trap 'exit 0' TERM INT; sleep 2147483647 & wait");
        let o = run_cmd(
            Command::new(&t.python).arg(cri_dir().join("make_image.py")).arg("--out").arg(&tar).arg("--probe").arg(probe_host_path()).args([
                "--image",
                &format!("{BUSYBOX_IMAGE}=/bin/sh"),
                "--image",
                &pause,
            ]),
            "make_image.py",
            Duration::from_secs(60),
        );
        o.expect_ok("make_image.py");
        for ns in namespaces {
            c.ctr(&["images", "import", &tar.to_string_lossy()], Some(ns)).expect_ok("ctr images import");
        }
        c
    }

    fn ctr(&self, args: &[&str], ns: Option<&str>) -> Output {
        let mut c = Command::new(&self.ctr);
        c.arg("--address").arg(&self.sock);
        if let Some(ns) = ns {
            c.args(["--namespace", ns]);
        }
        c.args(args);
        run_cmd(&mut c, &format!("ctr {}", args.join(" ")), Duration::from_secs(60))
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default()
    }

    /// Our shims: processes whose arguments name our socket.
    fn shims(&self) -> Vec<i32> {
        let sock = self.sock.to_string_lossy().into_owned();
        fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                let cmd = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                cmd.split(|b| *b == 0).any(|a| a == sock.as_bytes()) && !fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e.ends_with("ctr"))
            })
            .collect()
    }

    /// Stops containerd and returns what it left: live shims (killed), new shim sockets.
    fn stop(mut self) -> Vec<String> {
        let mut left = vec![];
        if let Some(mut child) = self.child.take() {
            // SAFETY: our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let start = Instant::now();
            while child.try_wait().unwrap().is_none() {
                if start.elapsed() > Duration::from_secs(15) {
                    left.push("containerd did not stop on SIGTERM within 15s".into());
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // A shim outlives containerd only if a task was left behind.
        let start = Instant::now();
        while !self.shims().is_empty() && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(50));
        }
        for pid in self.shims() {
            left.push(format!("shim still running: pid {pid}"));
            // SAFETY: a shim of our private containerd (its arguments name our socket).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        reap_adopted_shims();
        for (ns, id) in self.tasks.lock().unwrap().iter() {
            let p = self.shim_socket(ns, id);
            if p.exists() {
                left.push(format!("shim socket of {ns}/{id} left: {}", p.display()));
                let _ = fs::remove_file(&p);
            }
        }
        left
    }

    /// Where containerd 1.6 puts the socket of the shim for task `id`: a sha256 of our
    /// address, the namespace and the id (a CRI pod's containers share their sandbox's shim).
    fn shim_socket(&self, ns: &str, id: &str) -> PathBuf {
        let name = format!("{}/{ns}/{id}", self.sock.display());
        let mut c = Command::new("sha256sum");
        c.stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = c.spawn().expect("sha256sum");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(name.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let hex = String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_string();
        Path::new(SHIM_SOCKETS).join(hex)
    }

    fn track_task(&self, ns: &str, id: &str) {
        self.tasks.lock().unwrap().push((ns.to_string(), id.to_string()));
    }
}

impl Drop for Containerd {
    /// A test that failed half-way still stops its containerd, its shims and what runs under
    /// them (the Ctx then reports and clears mounts and cgroups).
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            for shim in self.shims() {
                kill_tree(shim);
            }
            std::thread::sleep(Duration::from_millis(200));
            reap_adopted_shims();
            for (ns, id) in self.tasks.lock().unwrap().iter() {
                let _ = fs::remove_file(self.shim_socket(ns, id));
            }
        }
    }
}

/// SIGKILL to a process of ours and all its descendants (children first found, then each).
fn kill_tree(pid: i32) {
    let mut todo = vec![pid];
    let mut all = vec![];
    while let Some(p) = todo.pop() {
        all.push(p);
        for e in fs::read_dir("/proc").unwrap().flatten() {
            let Some(c) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
            let Ok(stat) = fs::read_to_string(format!("/proc/{c}/stat")) else { continue };
            let Some(close) = stat.rfind(')') else { continue };
            if stat[close + 2..].split_whitespace().nth(1) == Some(p.to_string().as_str()) {
                todo.push(c);
            }
        }
    }
    for p in all {
        // SAFETY: a shim of our private containerd or a process under it.
        unsafe { libc::kill(p, libc::SIGKILL) };
    }
}

fn list(dir: &Path) -> Vec<String> {
    fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()
}

/// Reaps the exited shims this process adopted as subreaper (zombies whose parent is us and
/// whose name is the shim's): only those, never a child some other code waits for.
fn reap_adopted_shims() {
    let me = std::process::id().to_string();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let comm = &stat[open + 1..close];
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        if comm.starts_with("containerd-shim") && f.first() == Some(&"Z") && f.get(1) == Some(&me.as_str()) {
            // SAFETY: waitpid on a zombie child of ours.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
        }
    }
}

/// Removes the per-namespace directories the shim makes under a runtime's root; they must be
/// empty (rmdir fails otherwise, and the entry is reported).
fn clear_runtime_root(root: &Path) -> Vec<String> {
    let mut left = vec![];
    for ns in list(root) {
        let p = root.join(&ns);
        if fs::remove_dir(&p).is_err() {
            left.push(format!("runtime state left: {} holds {:?}", p.display(), list(&p)));
        }
    }
    left
}

/// What runc leaves by design: the parent cgroup of the containers (the kubelet owns the
/// pod's cgroup). Removed here so the control leaves nothing either.
fn remove_parent_cgroup(parent: &str) {
    for h in cgroup_hierarchies() {
        let p = h.join(parent.trim_start_matches('/'));
        if p.exists() {
            let _ = fs::remove_dir(&p);
        }
    }
}

fn host_netns() -> String {
    fs::read_link("/proc/self/ns/net").unwrap().to_string_lossy().into_owned()
}

/// `ctr run` (foreground, exit status, host network), then `run -d`, `task exec` (status
/// and output), `task ps`, `task kill` (the container's TERM trap runs), `task delete` and
/// `container rm`; with our runtime and with runc.
#[test]
fn ctr_runs_execs_kills_and_deletes() {
    let Some(t) = tools("ctr_runs_execs_kills_and_deletes") else { return };
    let ctx = Ctx::new("cri_ctr");
    let ns = "ocirt-ctr";
    let cd = Containerd::start(&ctx, &t, &ctx.base.join("unused-ocirt-root"), &[ns]);
    let fifo = ctx.dir("fifo");
    let fifo = fifo.to_string_lossy().into_owned();
    let mut problems = vec![];
    for (name, bin, cg_parent) in
        [("runc", PathBuf::from(RUNC), format!("{}-runc", ctx.cg_prefix)), ("ocirt", runtime_bin().to_path_buf(), ctx.cg_prefix.clone())]
    {
        let rt_root = ctx.base.join(format!("ctr-root-{name}"));
        let bin = bin.to_string_lossy().into_owned();
        let root = rt_root.to_string_lossy().into_owned();
        let common = |id: &str| -> Vec<String> {
            ["--fifo-dir", &fifo, "--net-host", "--runc-binary", &bin, "--runc-root", &root, "--cgroup", &format!("{cg_parent}/{id}")]
                .iter()
                .map(|s| s.to_string())
                .collect()
        };
        let ctr_run = |id: &str, detach: bool, script: &str| -> Output {
            let mut args: Vec<String> = vec!["run".into(), if detach { "-d" } else { "--rm" }.into()];
            args.extend(common(id));
            args.extend([BUSYBOX_IMAGE, id, "/bin/sh", "-c", script].iter().map(|s| s.to_string()));
            cd.ctr(&args.iter().map(String::as_str).collect::<Vec<_>>(), Some(ns))
        };

        // Foreground: output, exit status and the host's network namespace.
        let id = format!("fg-{name}");
        cd.track_task(ns, &id);
        let o = ctr_run(&id, false, "readlink /proc/self/ns/net; exit 3");
        o.expect_code(3, &format!("[{name}] ctr run --rm"));
        assert_eq!(o.out(), host_netns(), "[{name}] ctr run --net-host: not the host's network namespace");
        assert!(!rt_root.join(ns).join(&id).exists(), "[{name}] state of {id} left after ctr run --rm");
        // Control for --net-host: without it, a network namespace of the container's own.
        let id = format!("netns-{name}");
        cd.track_task(ns, &id);
        let mut args = common(&id);
        args.retain(|a| a != "--net-host");
        let mut argv: Vec<&str> = vec!["run", "--rm"];
        argv.extend(args.iter().map(String::as_str));
        argv.extend([BUSYBOX_IMAGE, &id, "readlink", "/proc/self/ns/net"]);
        let o = cd.ctr(&argv, Some(ns));
        o.expect_ok(&format!("[{name}] ctr run --rm without --net-host"));
        assert!(o.out().starts_with("net:[") && o.out() != host_netns(), "[{name}] without --net-host: {:?}", o.out());

        // Detached, then exec, ps, kill, delete.
        let id = format!("bg-{name}");
        cd.track_task(ns, &id);
        ctr_run(&id, true, "trap 'exit 7' TERM; echo up; sleep 100000 & wait").expect_ok(&format!("[{name}] ctr run -d"));
        wait_until(Duration::from_secs(20), "the task to run", || {
            cd.ctr(&["task", "ls"], Some(ns)).stdout.lines().any(|l| l.starts_with(&id) && l.contains("RUNNING")).then_some(())
        });
        assert!(rt_root.join(ns).join(&id).exists(), "[{name}] the task is not in {}: --runc-binary was not used", rt_root.display());
        let o = cd.ctr(&["task", "exec", "--fifo-dir", &fifo, "--exec-id", "e1", &id, "/bin/sh", "-c", "echo in-exec; exit 5"], Some(ns));
        o.expect_code(5, &format!("[{name}] ctr task exec"));
        assert_eq!(o.out(), "in-exec", "[{name}] ctr task exec output");
        let o = cd.ctr(&["task", "ps", &id], Some(ns));
        o.expect_ok(&format!("[{name}] ctr task ps"));
        assert!(o.stdout.lines().count() >= 3, "[{name}] ctr task ps: expected the shell and its sleep:\n{}", o.stdout);
        // pause/resume go through the runtime; the state is what `ctr task ls` reports.
        let task_state =
            || cd.ctr(&["task", "ls"], Some(ns)).stdout.lines().find(|l| l.starts_with(&id)).map(|l| l.split_whitespace().last().unwrap_or("").to_string());
        cd.ctr(&["task", "pause", &id], Some(ns)).expect_ok(&format!("[{name}] ctr task pause"));
        assert_eq!(task_state().as_deref(), Some("PAUSED"), "[{name}] after pause");
        cd.ctr(&["task", "resume", &id], Some(ns)).expect_ok(&format!("[{name}] ctr task resume"));
        assert_eq!(task_state().as_deref(), Some("RUNNING"), "[{name}] after resume");
        // The shim's own statistics, read from the cgroup the runtime made.
        let o = cd.ctr(&["task", "metrics", &id], Some(ns));
        o.expect_ok(&format!("[{name}] ctr task metrics"));
        assert!(o.stdout.contains("memory.usage_in_bytes") || o.stdout.contains("memory.usage"), "[{name}] ctr task metrics:\n{}", o.stdout);
        cd.ctr(&["task", "kill", &id], Some(ns)).expect_ok(&format!("[{name}] ctr task kill"));
        wait_until(Duration::from_secs(20), "the task to stop", || {
            cd.ctr(&["task", "ls"], Some(ns)).stdout.lines().any(|l| l.starts_with(&id) && l.contains("STOPPED")).then_some(())
        });
        // ctr 1.6 has no `task wait`; `task delete` reports a non-zero status (the trap's).
        let o = cd.ctr(&["task", "delete", &id], Some(ns));
        o.expect_ok(&format!("[{name}] ctr task delete"));
        assert!(o.stderr.contains("exit code 7"), "[{name}] the TERM trap's status 7 is not reported: {o:?}");
        cd.ctr(&["container", "rm", &id], Some(ns)).expect_ok(&format!("[{name}] ctr container rm"));
        problems.extend(clear_runtime_root(&rt_root).into_iter().map(|p| format!("[{name}] {p}")));
        if name == "runc" {
            remove_parent_cgroup(&cg_parent);
        }
    }
    problems.extend(cd.stop());
    assert!(problems.is_empty(), "residue:\n{}", problems.join("\n"));
}

/// The CRI path: our client runs a pod on the host network with handler `runc` (control) and
/// then `ocirt`, each step checked (integration/cri/cri_client.py lists them).
#[test]
fn cri_pod_lifecycle_with_runtime_handler() {
    let Some(t) = tools("cri_pod_lifecycle_with_runtime_handler") else { return };
    let ctx = Ctx::new("cri_pod");
    let cd = Containerd::start(&ctx, &t, &ctx.root, &["k8s.io"]);
    let runc_root = cd.dir.join("runc-root");
    let mut problems = vec![];
    let runs = [("runc", &runc_root, format!("{}-runc", ctx.cg_prefix)), ("ocirt", &ctx.root, ctx.cg_prefix.clone())];
    // Each handler twice: a pid namespace per container (the kubelet's default), then one
    // for the whole pod (shareProcessNamespace: the containers join the sandbox's).
    for ((handler, root, cg_parent), share_pid) in runs.iter().flat_map(|r| [(r.clone(), false), (r.clone(), true)]) {
        let work = ctx.dir(&format!("client-{handler}-{share_pid}"));
        let mut c = Command::new(&t.python);
        c.arg(cri_dir().join("cri_client.py")).arg("--socket").arg(&cd.sock);
        c.args(["--handler", handler, "--image", BUSYBOX_IMAGE, "--cgroup-parent", &cg_parent, "--name", &format!("pod-{handler}-{share_pid}")]);
        c.arg("--runtime-root").arg(root.join("k8s.io")).arg("--work").arg(&work);
        if share_pid {
            c.arg("--share-pid");
        }
        let o = run_cmd(&mut c, &format!("cri_client.py --handler {handler}"), Duration::from_secs(300));
        eprintln!("{}{}", o.stdout, o.stderr);
        for pod in o.stdout.lines().filter_map(|l| l.split_once("pod sandbox id: ")).map(|(_, id)| id.trim()) {
            cd.track_task("k8s.io", pod);
        }
        assert!(
            o.ok() && o.stdout.contains("all steps passed"),
            "CRI client with handler {handler} (shared pid namespace: {share_pid}) failed (exit {}):\n{}{}\ncontainerd log (tail):\n{}",
            o.code,
            o.stdout,
            o.stderr,
            cd.log().lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
        );
        problems.extend(clear_runtime_root(root).into_iter().map(|p| format!("[{handler}] {p}")));
        if handler == "runc" {
            remove_parent_cgroup(&cg_parent);
        }
    }
    problems.extend(cd.stop());
    assert!(problems.is_empty(), "residue:\n{}", problems.join("\n"));
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].split_whitespace().nth(1)?.parse().ok()
}

/// The runtime's side of `ctr task exec` and `ExecSync`, without containerd: this test
/// process plays the shim, a child subreaper that adopts the container's init when `create`
/// exits, and must then be the one to reap the `exec -d` program and read its exit status
/// (containerd waits for nothing else). The setup is checked first (the init's parent is
/// us): were we not a subreaper, the init would go to pid 1 and the program to the init, and
/// the wait below would fail. The other side, a foreground `run` whose init reaps the
/// program, is escapes_files.rs's `detached_exec_is_a_child_of_the_container_init`.
#[test]
fn detached_exec_is_reaped_by_the_supervisor() {
    become_subreaper();
    let ctx = Ctx::new("cri_reap");
    let mut b = ctx.bundle("b");
    b.sh("sleep 100");
    let id = ctx.next_id();
    let init = ctx.create_ok(&b, &id);
    ctx.start(&id).expect_ok("start");
    let me = std::process::id() as i32;
    assert_eq!(parent_of(init), Some(me), "setup: the container's init was not adopted by this (subreaper) process");

    for status in [5, 0] {
        let pid_file = ctx.base.join(format!("exec-{status}.pid"));
        let script = format!("exit {status}");
        ctx.rt(&["exec", "-d", "--pid-file", &pid_file.to_string_lossy(), &id, "/bin/sh", "-c", &script]).expect_ok("exec -d");
        let pid: i32 = fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
        let mut st = 0;
        // SAFETY: waitpid on the pid the runtime reported, which must have become our child.
        let r = unsafe { libc::waitpid(pid, &mut st, 0) };
        assert_eq!(r, pid, "exec -d: the program (pid {pid}) was not handed to the supervisor: {}", std::io::Error::last_os_error());
        assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == status, "exec -d program's status: {st:#x}, expected exit {status}");
    }

    ctx.kill(&id, "KILL").expect_ok("kill");
    ctx.delete(&id, true).expect_ok("delete");
    // The init is our adopted child too: reap it.
    // SAFETY: waitpid on our adopted child.
    let r = unsafe { libc::waitpid(init, std::ptr::null_mut(), 0) };
    assert_eq!(r, init, "reap the container's init");
}
