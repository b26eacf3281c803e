//! podman drives this runtime (issue 12): rootful `run`, `-d` + `exec` + `stop` + `rm`,
//! `exec -it`, `pause`/`unpause`, `--init`, `--read-only`, `--tmpfs` and `--uidmap`;
//! rootless (user ocirt-rootless, made by scripts/setup-podman.sh) `run`, `-d`, `exec`,
//! `stop`, `rm`; with runc as the control where the output can be compared. Also, without
//! podman: `tmpcopyup` in a config, the rootless default state root, and a rootless
//! `runtime run` of a `spec --rootless` bundle by hand.
//!
//! podman never touches the system's storage or config here: every call gets its own
//! `--root`/`--runroot`/`--tmpdir`, CONTAINERS_CONF/CONTAINERS_STORAGE_CONF files in the
//! test's directory, HOME and XDG dirs there, `--cgroup-manager cgroupfs`, `--events-backend
//! file`, `--network host`, and the runtime by path. Rootful: our runtime gets the test's
//! `--root` (`--runtime-flag root=`) and `--cgroup-parent` is the test's cgroup prefix, so
//! the harness's residue checks (state, cgroups, mounts) cover what podman made through us.
//! `podman import` as root writes a blob cache to /var/lib/containers/cache: it runs in a
//! private mount namespace with a tmpfs on /var/lib, so that nothing lands there.
//!
//! A missing podman (or the test user) skips a test, unless OCIRT_REQUIRE_ALL is set.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use integration::*;

const USER: &str = "ocirt-rootless";
const PODMAN_TIMEOUT: Duration = Duration::from_secs(120);
/// Our runtime's own debug line (commands/create.rs), written on every create with a
/// seccomp profile (podman always sends one): proof that podman ran this runtime.
const OUR_DEBUG_LINE: &str = " instructions";

/// Where `tool` is: on PATH, or in the usual directories (root's sbin may be off PATH).
fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Whether the test can run: podman (and conmon, catatonit) are installed; else it skips,
/// or fails under OCIRT_REQUIRE_ALL.
fn podman_available(test: &str) -> bool {
    let missing: Vec<&str> = ["podman", "conmon", "catatonit", "newuidmap", "runc", "script", "setpriv", "unshare"]
        .into_iter()
        .filter(|t| find_tool(t).is_none() && !Path::new("/usr/libexec/podman").join(t).is_file())
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(std::env::var_os("OCIRT_REQUIRE_ALL").is_none(), "{test}: OCIRT_REQUIRE_ALL is set but {missing:?} are not installed: run scripts/setup-podman.sh");
    eprintln!("{test}: skipped: {missing:?} not installed (scripts/setup-podman.sh installs them)");
    false
}

/// uid and gid of the rootless test user, or a skip (a failure under OCIRT_REQUIRE_ALL).
fn rootless_user(test: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let ids = passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&USER)).then(|| Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?))).flatten()
    });
    let has_range = |f: &str| fs::read_to_string(f).unwrap_or_default().lines().any(|l| l.starts_with(&format!("{USER}:")));
    match ids {
        Some(ids) if has_range("/etc/subuid") && has_range("/etc/subgid") => Some(ids),
        _ => {
            assert!(
                std::env::var_os("OCIRT_REQUIRE_ALL").is_none(),
                "{test}: OCIRT_REQUIRE_ALL is set but user {USER} (with /etc/subuid and /etc/subgid ranges) is missing: run scripts/setup-podman.sh"
            );
            eprintln!("{test}: skipped: no user {USER} with subordinate ids (scripts/setup-podman.sh makes it)");
            None
        }
    }
}

/// A runtime binary the test user can execute (the build tree may not be reachable).
fn runtime_for_user(ctx: &Ctx) -> PathBuf {
    let p = ctx.base.join("runtime");
    if !p.exists() {
        fs::copy(runtime_bin(), &p).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    p
}

fn chown_r(p: &Path, uid: u32, gid: u32) {
    let st = Command::new("chown").arg("-R").arg(format!("{uid}:{gid}")).arg(p).status().unwrap();
    assert!(st.success(), "chown -R {}", p.display());
}

/// podman with everything of its own under `dir`.
struct Podman<'a> {
    ctx: &'a Ctx,
    dir: PathBuf,
    runtime: PathBuf,
    /// Rootful: our runtime's --root and --log (the test's).
    flags: Vec<String>,
    user: Option<(u32, u32)>,
    cgroup_parent: Option<String>,
    /// podman refuses a runroot longer than 50 characters: a short directory of its own
    /// (named like the harness's, so a killed run's is swept), removed on drop.
    runroot: PathBuf,
}

impl Drop for Podman<'_> {
    fn drop(&mut self) {
        if self.user.is_some() {
            self.stop_pause_process();
        }
        if mounts_under(&self.runroot).is_empty() {
            let _ = fs::remove_dir_all(&self.runroot);
        }
    }
}

impl<'a> Podman<'a> {
    fn new(ctx: &'a Ctx, name: &str, runtime: &Path, user: Option<(u32, u32)>) -> Podman<'a> {
        let dir = ctx.dir(name);
        for d in ["home", "xdg", "tmp"] {
            fs::create_dir_all(dir.join(d)).unwrap();
        }
        fs::set_permissions(dir.join("xdg"), fs::Permissions::from_mode(0o700)).unwrap();
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let runroot = PathBuf::from(format!("/tmp/ocirt-it-{}-rr{}", std::process::id(), SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst)));
        fs::create_dir_all(&runroot).unwrap();
        // Within the caller's hard limits (the test session lacks CAP_SYS_RESOURCE).
        fs::write(
            dir.join("containers.conf"),
            "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]\n[engine]\nevents_logger = \"file\"\ncgroup_manager = \"cgroupfs\"\n",
        )
        .unwrap();
        fs::write(
            dir.join("storage.conf"),
            format!("[storage]\ndriver = \"vfs\"\ngraphroot = \"{}/root\"\nrunroot = \"{}\"\n", dir.display(), runroot.display()),
        )
        .unwrap();
        if let Some((uid, gid)) = user {
            chown_r(&dir, uid, gid);
            chown_r(&runroot, uid, gid);
        }
        Podman { ctx, dir, runtime: runtime.to_path_buf(), flags: vec![], user, cgroup_parent: None, runroot }
    }

    /// Rootful podman with our runtime, its state in the test's --root. podman 4.3 leaves
    /// `--runtime-flag`s out of its `delete` calls (which then look in the default root), so
    /// the runtime is given as a script that passes --root (and --log, --debug) itself.
    fn ours(ctx: &'a Ctx) -> Podman<'a> {
        let dir = ctx.dir("podman");
        let log = dir.join("runtime.log");
        let wrapper = dir.join("runtime-with-root");
        write_script(&wrapper, &format!("exec '{}' --root '{}' --log '{}' --debug \"$@\"", runtime_bin().display(), ctx.root.display(), log.display()));
        let mut p = Podman::new(ctx, "podman", &wrapper, None);
        p.cgroup_parent = Some(ctx.cg_prefix.clone());
        p
    }

    /// Rootful podman with runc: the control, with its state in the test's directory.
    fn runc(ctx: &'a Ctx) -> Podman<'a> {
        let dir = ctx.dir("podman-runc");
        let wrapper = dir.join("runc-with-root");
        let runc = find_tool("runc").expect("runc (checked by podman_available)");
        write_script(&wrapper, &format!("exec '{}' --root '{}' \"$@\"", runc.display(), dir.join("runc-state").display()));
        let mut p = Podman::new(ctx, "podman-runc", &wrapper, None);
        // Under the test's prefix too: podman's default parent (/libpod_parent, with conmon's
        // cgroup in it) would be left on the machine.
        p.cgroup_parent = Some(ctx.cg_prefix.clone());
        p
    }

    fn is_ours(&self) -> bool {
        self.dir.ends_with("podman") || self.dir.ends_with("rl-ours")
    }

    fn command(&self, args: &[&str]) -> Command {
        let d = &self.dir;
        let mut c = match self.user {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.args(["--reuid", &uid.to_string(), "--regid", &gid.to_string(), "--init-groups", "podman"]);
                c.env_clear().env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").env("USER", USER);
                c
            }
            None => Command::new("podman"),
        };
        c.env("HOME", d.join("home"))
            .env("XDG_RUNTIME_DIR", d.join("xdg"))
            .env("XDG_CONFIG_HOME", d.join("home/.config"))
            .env("XDG_DATA_HOME", d.join("home/.local/share"))
            .env("CONTAINERS_CONF", d.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", d.join("storage.conf"))
            .args(["--root", &d.join("root").to_string_lossy(), "--runroot", &self.runroot.to_string_lossy()])
            .args(["--tmpdir", &d.join("tmp").to_string_lossy(), "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
            .args(["--events-backend", "file", "--runtime", &self.runtime.to_string_lossy()]);
        for f in &self.flags {
            c.arg("--runtime-flag").arg(f);
        }
        c.args(args).stdin(Stdio::null());
        c
    }

    #[track_caller]
    fn run(&self, args: &[&str]) -> Output {
        self.ctx.spawn(self.command(args), &format!("podman {}", args.join(" "))).wait(PODMAN_TIMEOUT)
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        o.expect_ok(&format!("podman {} ({})", args.join(" "), self.runtime.display()));
        o.stdout
    }

    /// `podman run --rm --network host [--cgroup-parent P] [extra] IMAGE sh -c SCRIPT`.
    #[track_caller]
    fn sh(&self, extra: &[&str], script: &str) -> Output {
        let mut args = vec!["run", "--rm", "--network", "host"];
        if let Some(p) = &self.cgroup_parent {
            args.extend(["--cgroup-parent", p]);
        }
        args.extend_from_slice(extra);
        args.extend(["localhost/ocirt-test:1", "sh", "-c", script]);
        self.run(&args)
    }

    /// Imports `rootfs` as localhost/ocirt-test:1 (root: in a private mount namespace, see
    /// the module docs).
    fn import(&self, rootfs: &Path) {
        let tar = self.dir.join("rootfs.tar");
        let st = Command::new("tar").arg("-C").arg(rootfs).arg("-cf").arg(&tar).arg(".").status().unwrap();
        assert!(st.success(), "tar of the test rootfs");
        if let Some((uid, gid)) = self.user {
            chown_r(&tar, uid, gid);
        }
        let tar = tar.to_string_lossy().into_owned();
        let args = ["import", &tar, "localhost/ocirt-test:1"];
        let o = if self.user.is_some() {
            self.run(&args)
        } else {
            let inner = self.command(&args);
            let mut c = Command::new("unshare");
            c.args(["--mount", "--propagation", "private", "sh", "-c", "mount -t tmpfs ocirt-podman-import /var/lib && exec \"$0\" \"$@\""]);
            c.arg(inner.get_program()).args(inner.get_args());
            for (k, v) in inner.get_envs() {
                match v {
                    Some(v) => c.env(k, v),
                    None => c.env_remove(k),
                };
            }
            c.stdin(Stdio::null());
            self.ctx.spawn(c, "podman import").wait(PODMAN_TIMEOUT)
        };
        o.expect_ok("podman import");
    }

    /// The full id of container `name`.
    fn id(&self, name: &str) -> String {
        self.ok(&["inspect", "--format", "{{.Id}}", name]).trim().to_string()
    }

    /// No container left in podman, no conmon (or other process) naming one of `ids`.
    #[track_caller]
    fn assert_clean(&self, ids: &[String]) {
        let left = self.ok(&["ps", "-a", "-q"]);
        assert!(left.trim().is_empty(), "podman still lists containers: {left}");
        let mounts = mounts_under(&self.runroot);
        assert!(mounts.is_empty(), "mounts left under podman's runroot: {mounts:?}");
        for id in ids {
            let procs = processes_naming(id);
            assert!(procs.is_empty(), "processes still name container {id}: {procs:?}");
        }
    }

    /// podman (with cgroupfs) puts conmon in `<cgroup-parent>/conmon` of each v1 controller
    /// and never removes it, nor the parent it made for that: podman's leftovers, the same
    /// with runc. Removed here once our runtime's own `libpod-ID` directories are checked gone.
    #[track_caller]
    fn remove_podman_cgroups(&self) {
        let Some(prefix) = &self.cgroup_parent else { return };
        for h in cgroup_hierarchies() {
            let p = h.join(prefix.trim_start_matches('/'));
            if !p.is_dir() || !h.join("cgroup.procs").exists() {
                continue;
            }
            for e in fs::read_dir(&p).unwrap().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                assert!(!name.starts_with("libpod-"), "the container's cgroup is left: {}", e.path().display());
                if name == "conmon" {
                    wait_until(Duration::from_secs(10), "conmon's cgroup to empty", || fs::remove_dir(e.path()).ok());
                }
            }
            let _ = fs::remove_dir(&p);
        }
    }

    /// Rootless podman keeps a pause process holding its user namespace: ours to end.
    fn stop_pause_process(&self) {
        for f in [self.dir.join("tmp/pause.pid"), self.dir.join("xdg/libpod/tmp/pause.pid")] {
            let Ok(text) = fs::read_to_string(&f) else { continue };
            let Ok(pid) = text.trim().parse::<i32>() else { continue };
            // Only that pid, and only while it is podman's pause process of this test's user.
            let cmd = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let uid = self.user.map(|(u, _)| u.to_string()).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd);
            if (cmd.contains("catatonit") || cmd.contains("pause"))
                && status.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some(&uid))
            {
                // SAFETY: a process podman started for this test (pid and owner checked).
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }

    fn runtime_log(&self) -> String {
        fs::read_to_string(self.dir.join("runtime.log")).unwrap_or_default()
    }
}

/// Live processes (not zombies) whose command line contains `needle`.
fn processes_naming(needle: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.bytes().all(|b| b.is_ascii_digit()) || name == me {
                return None;
            }
            let cmd = fs::read(e.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            cmd.contains(needle).then(|| format!("{name}: {cmd}"))
        })
        .collect()
}

/// The test image: busybox rootfs plus content for the copy-up checks.
fn image_rootfs(ctx: &Ctx) -> PathBuf {
    let r = ctx.base.join("image");
    make_rootfs(&r);
    fill_copyup_content(&r.join("data"));
    for d in ["var/tmp", "run"] {
        fs::create_dir_all(r.join(d)).unwrap();
        fs::write(r.join(d).join("from-image"), format!("{d}\n")).unwrap();
    }
    r
}

/// A directory with what a copy must keep: modes, owners, a symlink (to a host-looking
/// absolute path, copied as a link, never followed), nested directories.
fn fill_copyup_content(d: &Path) {
    fs::create_dir_all(d.join("sub/deep")).unwrap();
    fs::write(d.join("file"), "content\n").unwrap();
    fs::write(d.join("sub/deep/leaf"), "leaf\n").unwrap();
    fs::set_permissions(d.join("file"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::set_permissions(d.join("sub"), fs::Permissions::from_mode(0o1751)).unwrap();
    fs::set_permissions(d, fs::Permissions::from_mode(0o750)).unwrap();
    std::os::unix::fs::chown(d.join("sub"), Some(5), Some(6)).unwrap();
    std::os::unix::fs::chown(d.join("sub/deep/leaf"), Some(1000), Some(1000)).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", d.join("link")).unwrap();
}

/// What the container sees of a copied directory: names, types, modes, owners, link
/// targets (times are left out: runc does not keep them).
const LIST_DATA: &str = "cd /data && stat -c '%n %F %a %u:%g' . file sub sub/deep sub/deep/leaf link && readlink link && cat file sub/deep/leaf";
/// The per-mount options and the filesystem type of the mount at /data.
const MOUNT_OF_DATA: &str = "grep ' /data ' /proc/self/mountinfo | sed 's/^[^ ]* [^ ]* [^ ]* [^ ]* [^ ]* \\([^ ]*\\).* - \\([^ ]*\\) .*/\\1 \\2/'";

// ---- rootful ------------------------------------------------------------------------------

#[test]
fn podman_run_detach_exec_stop_rm() {
    if !podman_available("podman_run_detach_exec_stop_rm") {
        return;
    }
    let ctx = Ctx::new("podman_lifecycle");
    let p = Podman::ours(&ctx);
    p.import(&image_rootfs(&ctx));

    let o = p.sh(&[], "echo hello from podman; exit 3");
    assert_eq!(o.code, 3, "run's exit status: {o:?}");
    assert!(o.stdout.contains("hello from podman"), "{o:?}");
    assert!(p.runtime_log().contains(OUR_DEBUG_LINE), "podman did not run our runtime: {}", p.runtime_log());

    let cg = ctx.cg_prefix.clone();
    let name = "lc";
    p.ok(&["run", "-d", "--name", name, "--network", "host", "--cgroup-parent", &cg, "localhost/ocirt-test:1", "sleep", "1000"]);
    let id = p.id(name);
    // Ours: the container is in our state root, and its cgroup under the test's prefix.
    let st: Value = serde_json::from_str(&ctx.rt(&["state", &id]).expect_ok("state of podman's container").stdout).unwrap();
    assert_eq!(st["status"], "running", "{st}");
    ctx.track_pid(st["pid"].as_i64().unwrap() as i32);
    assert!(ctx.cgroup_residue().iter().any(|c| c.join(format!("libpod-{id}")).is_dir()), "no cgroup libpod-{id} under {cg}");

    // exec: output and exit status come back (conmon reaps the program: exec -d under a
    // subreaper keeps runc's shape), also for a program that is not there.
    let o = p.run(&["exec", name, "sh", "-c", "echo in-exec; exit 7"]);
    assert_eq!((o.code, o.stdout.trim()), (7, "in-exec"), "{o:?}");
    assert_eq!(p.run(&["exec", name, "/nonexistent"]).code, 127);
    p.ok(&["exec", "-d", name, "sleep", "2"]);

    p.ok(&["stop", "-t", "1", name]);
    assert_eq!(p.ok(&["inspect", "--format", "{{.State.Status}}", name]).trim(), "exited");
    p.ok(&["rm", name]);
    assert!(!ctx.root.join(&id).exists(), "state of {id} left after podman rm");
    p.assert_clean(&[id]);
    p.remove_podman_cgroups();
}

#[test]
fn podman_exec_tty_pause_unpause_and_init() {
    if !podman_available("podman_exec_tty_pause_unpause_and_init") {
        return;
    }
    let ctx = Ctx::new("podman_tty");
    let p = Podman::ours(&ctx);
    p.import(&image_rootfs(&ctx));
    let cg = ctx.cg_prefix.clone();
    p.ok(&["run", "-d", "--name", "t", "--network", "host", "--cgroup-parent", &cg, "localhost/ocirt-test:1", "sleep", "1000"]);
    let id = p.id("t");

    // exec -it: a pty (script(1) gives podman one), its size, and the exit status.
    let cmd = p.command(&["exec", "-it", "t", "sh", "-c", "tty; test -t 0 && echo stdin-is-a-tty; exit 4"]);
    let line = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy().replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut s = Command::new("script");
    s.args(["-qec", &line, "/dev/null"]);
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            s.env(k, v);
        }
    }
    let o = ctx.spawn(s, "script podman exec -it").wait(PODMAN_TIMEOUT);
    assert_eq!(o.code, 4, "exec -it status: {o:?}");
    assert!(o.stdout.contains("/dev/pts/") && o.stdout.contains("stdin-is-a-tty"), "exec -it had no pty: {o:?}");

    // pause/unpause: podman's view and ours agree, and the container runs again after.
    p.ok(&["pause", "t"]);
    assert_eq!(ctx.status(&id), "paused");
    assert_eq!(p.ok(&["inspect", "--format", "{{.State.Status}}", "t"]).trim(), "paused");
    p.ok(&["unpause", "t"]);
    assert_eq!(ctx.status(&id), "running");
    assert_eq!(p.run(&["exec", "t", "true"]).code, 0, "exec after unpause");
    p.ok(&["rm", "-f", "-t", "0", "t"]);

    // --init: catatonit is pid 1 and runs the command; our runtime made it.
    let o = p.sh(&["--init"], "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo pid=$$");
    o.expect_ok("podman run --init");
    assert!(o.stdout.contains("/run/podman-init -- sh -c"), "pid 1 is not podman's init: {o:?}");
    assert!(!o.stdout.contains("pid=1\n"), "the command is pid 1 despite --init: {o:?}");
    p.assert_clean(&[id]);
    p.remove_podman_cgroups();
}

#[test]
fn podman_read_only_and_tmpfs_copy_up_as_runc_does() {
    if !podman_available("podman_read_only_and_tmpfs_copy_up_as_runc_does") {
        return;
    }
    let ctx = Ctx::new("podman_ro");
    let image = image_rootfs(&ctx);
    let ours = Podman::ours(&ctx);
    let runc = Podman::runc(&ctx);
    ours.import(&image);
    runc.import(&image);
    let ro_script = "touch /x 2>/dev/null && echo root-writable; for d in /tmp /var/tmp /run; do touch $d/new && echo $d writable; done; \
                     cat /var/tmp/from-image /run/from-image; stat -c '%n %a' /tmp /var/tmp /run";
    let tmpfs_script = format!("{LIST_DATA}; {MOUNT_OF_DATA}; touch /data/new && echo data-writable");
    let mut seen = vec![];
    for p in [&runc, &ours] {
        let ro = p.sh(&["--read-only"], ro_script);
        ro.expect_ok(&format!("--read-only ({})", p.runtime.display()));
        let tmpfs = p.sh(&["--tmpfs", "/data"], &tmpfs_script);
        tmpfs.expect_ok(&format!("--tmpfs ({})", p.runtime.display()));
        seen.push((ro.stdout, tmpfs.stdout));
    }
    let (runc_seen, ours_seen) = (&seen[0], &seen[1]);
    // The control shows what podman expects: a read-only root, writable tmpfs dirs that
    // start with the image's content, and the image's modes and owners under --tmpfs.
    assert!(
        !runc_seen.0.contains("root-writable") && runc_seen.0.contains("/run writable") && runc_seen.0.contains("var/tmp\nrun\n"),
        "runc control: {}",
        runc_seen.0
    );
    assert!(
        runc_seen.1.contains(" tmpfs\n") && runc_seen.1.contains("sub directory 1751 5:6") && runc_seen.1.contains("data-writable"),
        "runc control: {}",
        runc_seen.1
    );
    assert_eq!(ours_seen.0, runc_seen.0, "--read-only: ours differs from runc");
    assert_eq!(ours_seen.1, runc_seen.1, "--tmpfs /data: ours differs from runc");
    assert!(ours.runtime_log().contains(OUR_DEBUG_LINE), "podman did not run our runtime");
    ours.assert_clean(&[]);
    ours.remove_podman_cgroups();
    runc.assert_clean(&[]);
}

#[test]
fn podman_uidmap_with_sources_only_root_can_reach() {
    if !podman_available("podman_uidmap_with_sources_only_root_can_reach") {
        return;
    }
    let ctx = Ctx::new("podman_uidmap");
    let image = image_rootfs(&ctx);
    // A volume under a directory only root can traverse, and podman's storage (with the
    // container's /etc/hosts and friends, bind-mounted) under another.
    let secret = ctx.dir("secret");
    fs::create_dir_all(secret.join("vol")).unwrap();
    fs::write(secret.join("vol/file"), "volume content\n").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o700)).unwrap();
    let vol = format!("{}:/vol", secret.join("vol").display());
    let script = "cat /proc/self/uid_map | tr -s ' '; cat /vol/file; test -s /etc/hosts && echo hosts-ok; id -u";
    let mut seen = vec![];
    for p in [Podman::runc(&ctx), Podman::ours(&ctx)] {
        p.import(&image);
        for d in [p.dir.join("root"), p.runroot.clone()] {
            fs::set_permissions(d, fs::Permissions::from_mode(0o700)).unwrap();
        }
        let o = p.sh(&["--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536", "-v", &vol], script);
        o.expect_ok(&format!("--uidmap ({})", p.runtime.display()));
        seen.push(o.stdout);
        if p.is_ours() {
            assert!(p.runtime_log().contains(OUR_DEBUG_LINE), "podman did not run our runtime");
        }
        p.assert_clean(&[]);
        p.remove_podman_cgroups();
    }
    assert!(seen[0].contains(" 0 100000 65536") && seen[0].contains("volume content") && seen[0].contains("hosts-ok"), "runc control: {}", seen[0]);
    assert_eq!(seen[1], seen[0], "--uidmap: ours differs from runc");
}

// ---- rootless -----------------------------------------------------------------------------

#[test]
fn rootless_podman_run_detach_exec_stop_rm() {
    if !podman_available("rootless_podman_run_detach_exec_stop_rm") {
        return;
    }
    let Some(user) = rootless_user("rootless_podman_run_detach_exec_stop_rm") else { return };
    let ctx = Ctx::new("podman_rootless");
    let image = image_rootfs(&ctx);
    let rt = runtime_for_user(&ctx);
    let mut ids = vec![];
    let mut copies = vec![];
    let runc = find_tool("runc").expect("runc (checked by podman_available)");
    for (p, ours) in [(Podman::new(&ctx, "rl-runc", &runc, Some(user)), false), (Podman::new(&ctx, "rl-ours", &rt, Some(user)), true)] {
        p.import(&image);
        let what = p.runtime.display().to_string();
        // tmpcopyup in podman's user namespace: owners are the mapped ones.
        let o = p.sh(&["--read-only", "--tmpfs", "/data"], &format!("{LIST_DATA}; cat /var/tmp/from-image; touch /x 2>/dev/null || echo ro-root"));
        copies.push(o.expect_ok(&format!("rootless --read-only --tmpfs ({what})")).stdout.clone());
        let o = p.sh(&[], "id -u; cat /proc/self/uid_map | tr -s ' '; echo hi > /tmp/x && cat /tmp/x; exit 3");
        assert_eq!(o.code, 3, "rootless run ({what}): {o:?}");
        assert!(o.stdout.starts_with("0\n") && o.stdout.contains(&format!(" 0 {} 1", user.0)) && o.stdout.contains("hi"), "rootless run ({what}): {o:?}");

        p.ok(&["run", "-d", "--name", "r", "--network", "host", "localhost/ocirt-test:1", "sleep", "1000"]);
        let id = p.id("r");
        if ours {
            // The runtime, root of podman's user namespace with no --root, keeps its state
            // under $XDG_RUNTIME_DIR/ocirt (runc's rule), where podman's next calls find it.
            let st = p.dir.join("xdg/ocirt").join(&id).join("state.json");
            assert!(st.is_file(), "no state at {}", st.display());
        }
        let o = p.run(&["exec", "r", "sh", "-c", "echo in-exec; exit 6"]);
        assert_eq!((o.code, o.stdout.trim()), (6, "in-exec"), "rootless exec ({what}): {o:?}");
        p.ok(&["stop", "-t", "1", "r"]);
        p.ok(&["rm", "r"]);
        if ours {
            let left: Vec<_> = fs::read_dir(p.dir.join("xdg/ocirt")).unwrap().flatten().map(|e| e.file_name()).collect();
            assert!(left.is_empty(), "state left in $XDG_RUNTIME_DIR/ocirt: {left:?}");
        }
        p.assert_clean(std::slice::from_ref(&id));
        ids.push(id);
    }
    assert!(copies[0].contains("sub directory 1751 5:6") && copies[0].contains("var/tmp\nro-root"), "runc control: {}", copies[0]);
    assert_eq!(copies[1], copies[0], "rootless --read-only --tmpfs: ours differs from runc");
}

// ---- without podman -----------------------------------------------------------------------

#[test]
fn tmpcopyup_fills_the_tmpfs_from_the_image_directory() {
    let ctx = Ctx::new("tmpcopyup");
    let mut b = ctx.bundle("b");
    fill_copyup_content(&b.rootfs.join("data"));
    let tmpfs = |opts: &[&str]| json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": opts});
    b.push("mounts", tmpfs(&["nosuid", "nodev", "tmpcopyup", "ro"]));
    let o = ctx.sh(&mut b, &format!("{LIST_DATA}; {MOUNT_OF_DATA}; touch /data/new 2>/dev/null || echo read-only"));
    let out = o.expect_ok("tmpcopyup").stdout.clone();
    for want in [
        ". directory 750 0:0",
        "file regular file 640 0:0",
        "sub directory 1751 5:6",
        "sub/deep/leaf regular file 644 1000:1000",
        "link symbolic link 777 0:0\n/etc/passwd\n",
        "content\nleaf\n",
        "ro,nosuid,nodev,relatime tmpfs",
        "read-only",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    // Control: the same tmpfs without tmpcopyup is empty.
    let n = b.config["mounts"].as_array().unwrap().len();
    b.set(&format!("mounts/{}", n - 1), tmpfs(&["nosuid", "nodev"]));
    let o = ctx.sh(&mut b, "ls -A /data | wc -l");
    assert_eq!(o.expect_ok("tmpfs without tmpcopyup").out(), "0");

    // On a bind it would mean nothing: refused by name, nothing left.
    b.set(&format!("mounts/{}", n - 1), json!({"destination": "/data", "type": "bind", "source": "/tmp", "options": ["bind", "tmpcopyup"]}));
    let id = ctx.next_id();
    let e = ctx.create(&b, &id, &[]).expect_error("tmpcopyup on a bind");
    assert!(e.contains("config.json") && e.contains("tmpcopyup") && e.contains("bind"), "{e}");
    ctx.assert_no_residue_for(&id, "refused tmpcopyup");
}

#[test]
fn tmpcopyup_copies_a_symlink_and_never_what_it_points_to() {
    // The image's /data holds links to the host's /etc/shadow-like file and to `..`: a copy
    // that followed them would put host content (or the whole rootfs) into the tmpfs.
    let ctx = Ctx::new("tmpcopyup_links");
    let mut b = ctx.bundle("b");
    let host_secret = ctx.base.join("host-secret");
    fs::write(&host_secret, "HOST SECRET\n").unwrap();
    let d = b.rootfs.join("data");
    fs::create_dir_all(&d).unwrap();
    std::os::unix::fs::symlink(&host_secret, d.join("secret")).unwrap();
    std::os::unix::fs::symlink("..", d.join("up")).unwrap();
    b.push("mounts", json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "size=1m"]}));
    let o = ctx.sh(&mut b, "ls -l /data | tr -s ' ' | cut -d' ' -f1,9-; cat /data/secret 2>&1; ls -A /data | wc -l");
    let out = o.expect_ok("tmpcopyup with links").stdout.clone();
    assert!(out.contains(&format!("lrwxrwxrwx secret -> {}", host_secret.display())) && out.contains("lrwxrwxrwx up -> .."), "{out}");
    assert!(!out.contains("HOST SECRET"), "host content reached the container: {out}");
    assert!(out.trim_end().ends_with("\n2"), "the tmpfs holds more than the two links: {out}");
}

// ---- rootless by hand ---------------------------------------------------------------------

#[test]
fn rootless_default_state_root_is_under_xdg_runtime_dir() {
    let ctx = Ctx::new("rootless_root");
    let xdg = ctx.dir("xdg");
    // Real root keeps /run/ocirt even with XDG_RUNTIME_DIR set (runc's rule).
    let o = Command::new(runtime_bin()).args(["state", "no-such-ctr"]).env("XDG_RUNTIME_DIR", &xdg).output().unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("looked in /run/ocirt"), "root: {e}");
    let Some((uid, gid)) = rootless_user("rootless_default_state_root_is_under_xdg_runtime_dir") else { return };
    chown_r(&xdg, uid, gid);
    let rt = runtime_for_user(&ctx);
    let as_user_with = |args: &[&str], env_xdg: Option<&std::path::Path>| {
        let mut c = Command::new("setpriv");
        c.args(["--reuid", &uid.to_string(), "--regid", &gid.to_string(), "--clear-groups"]).arg(&rt).args(args).env_clear().env("PATH", "/usr/bin:/bin");
        if let Some(x) = env_xdg {
            c.env("XDG_RUNTIME_DIR", x).current_dir(&ctx.base);
        }
        c.output().unwrap()
    };
    let as_user = |args: &[&str], env_xdg: bool| as_user_with(args, env_xdg.then_some(xdg.as_path()));
    // A relative XDG_RUNTIME_DIR is ignored (the XDG spec's rule), even where it names the
    // same directory from the working directory: the fallback is used.
    let rel = xdg.strip_prefix(&ctx.base).unwrap();
    let o = as_user_with(&["state", "no-such-ctr"], Some(rel));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("/run/ocirt") && !e.contains("xdg/ocirt"), "relative XDG_RUNTIME_DIR: {e}");
    let o = as_user(&["state", "no-such-ctr"], true);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains(&format!("looked in {}/ocirt", xdg.display())), "rootless: {e}");
    // Control: without XDG_RUNTIME_DIR a user falls back to /run/ocirt, as runc does.
    let o = as_user(&["state", "no-such-ctr"], false);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("/run/ocirt") && !e.contains(&xdg.display().to_string()), "{e}");
}

#[test]
fn rootless_run_by_hand_from_spec_rootless() {
    let Some((uid, gid)) = rootless_user("rootless_run_by_hand_from_spec_rootless") else { return };
    let ctx = Ctx::new("rootless_hand");
    let rt = runtime_for_user(&ctx);
    let home = ctx.dir("hand");
    let (xdg, bundle) = (home.join("xdg"), home.join("bundle"));
    fs::create_dir_all(&xdg).unwrap();
    make_rootfs(&bundle.join("rootfs"));
    fs::create_dir_all(bundle.join("rootfs/data")).unwrap();
    fs::write(bundle.join("rootfs/data/in-image"), "x").unwrap();
    chown_r(&home, uid, gid);
    fs::set_permissions(&xdg, fs::Permissions::from_mode(0o700)).unwrap();
    let as_user = |args: &[&str]| -> Output {
        let mut c = Command::new("setpriv");
        c.args(["--reuid", &uid.to_string(), "--regid", &gid.to_string(), "--clear-groups"])
            .arg(&rt)
            .args(args)
            .current_dir(&bundle)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("XDG_RUNTIME_DIR", &xdg)
            .stdin(Stdio::null());
        ctx.spawn(c, &format!("rootless runtime {}", args.join(" "))).wait(CMD_TIMEOUT)
    };
    as_user(&["spec", "--rootless"]).expect_ok("spec --rootless");
    let mut config: Value = serde_json::from_str(&fs::read_to_string(bundle.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["linux"]["uidMappings"], json!([{"containerID": 0, "hostID": uid, "size": 1}]));
    assert!(config["linux"].get("resources").is_none(), "{config}");
    config["process"]["terminal"] = json!(false);
    config["mounts"].as_array_mut().unwrap().push(json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"]}));
    let write = |c: &Value| {
        fs::write(bundle.join("config.json"), serde_json::to_string(c).unwrap()).unwrap();
        chown_r(&bundle.join("config.json"), uid, gid);
    };
    config["process"]["args"] = json!(["sh", "-c", "id -u; tr -s ' ' < /proc/self/uid_map; ls /data; ls /sys/fs/cgroup >/dev/null && echo sys-ok"]);
    write(&config);
    let o = as_user(&["run", "hand-1"]);
    o.expect_ok("rootless run by hand");
    assert!(o.stdout.starts_with("0\n") && o.stdout.contains(&format!(" 0 {uid} 1")) && o.stdout.contains("in-image") && o.stdout.contains("sys-ok"), "{o:?}");

    // -d, exec (joins the user namespace first), kill, delete; state under $XDG_RUNTIME_DIR.
    config["process"]["args"] = json!(["sleep", "1000"]);
    write(&config);
    as_user(&["run", "-d", "hand-2"]).expect_ok("rootless run -d");
    assert!(xdg.join("ocirt/hand-2/state.json").is_file());
    let o = as_user(&["exec", "hand-2", "sh", "-c", "id -u; exit 5"]);
    assert_eq!((o.code, o.out()), (5, "0"), "{o:?}");
    as_user(&["kill", "hand-2", "KILL"]).expect_ok("kill");
    as_user(&["delete", "--force", "hand-2"]).expect_ok("delete");
    assert!(!xdg.join("ocirt/hand-2").exists());

    // A limit needs a cgroup the user cannot make: refused, naming it, nothing left.
    config["linux"]["resources"] = json!({"pids": {"limit": 64}});
    write(&config);
    let e = as_user(&["run", "hand-3"]).expect_error("rootless limit");
    assert!(e.contains("linux.resources.pids") && e.contains("rootless") && e.contains("remove linux.resources.pids"), "{e}");
    assert!(!xdg.join("ocirt/hand-3").exists(), "state left by the refused run");
}

// ---- exec -d under a subreaper, without podman ----------------------------------------------

/// What conmon and containerd's shim rely on: they are child subreapers, run `exec -d
/// --pid-file`, and learn the program's exit status by reaping it. A python3 stand-in does
/// the same; the control, not a subreaper, cannot reap the program (it is adopted inside
/// the container: `escapes_files::detached_exec_is_a_child_of_the_container_init`).
#[test]
fn exec_detach_under_a_subreaper_is_adopted_and_reaped_by_it() {
    let Some(python) = find_tool("python3") else {
        assert!(std::env::var_os("OCIRT_REQUIRE_ALL").is_none(), "OCIRT_REQUIRE_ALL is set but python3 is missing");
        eprintln!("exec_detach_under_a_subreaper_is_adopted_and_reaped_by_it: skipped: no python3");
        return;
    };
    // The supervisor (the python stand-in for conmon or containerd's shim) makes the
    // container and execs into it, as they do: the runtime reads who adopted the init.
    let ctx = Ctx::new("exec_subreaper");
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    let script = ctx.base.join("reaper.py");
    fs::write(
        &script,
        r#"import ctypes, os, subprocess, sys, time
rt, root, bundle, cid, pidfile, subreaper = sys.argv[1:7]
if subreaper == "1":
    assert ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
r = subprocess.run([rt, "--root", root, "run", "-d", "--bundle", bundle, cid])
assert r.returncode == 0, r
r = subprocess.run([rt, "--root", root, "exec", "-d", "--pid-file", pidfile, cid, "/bin/sh", "-c", "sleep 0.5; exit 9"])
assert r.returncode == 0, r
pid = int(open(pidfile).read())
try:
    while True:
        p, st = os.waitpid(-1, 0)
        if p == pid:
            print("reaped", os.waitstatus_to_exitcode(st))
            break
except ChildProcessError:
    print("not our child")
"#,
    )
    .unwrap();
    let run = |subreaper: &str, pid_file: &str| {
        let id = ctx.next_id();
        ctx.write_config(&b, &id);
        ctx.track(&id);
        let pid_file = ctx.base.join(pid_file);
        let mut c = Command::new(&python);
        c.arg(&script).arg(runtime_bin()).arg(&ctx.root).arg(&b.dir).arg(&id).arg(&pid_file).arg(subreaper).stdin(Stdio::null());
        let o = ctx.spawn(c, "python3 reaper.py").wait(CMD_TIMEOUT);
        if let Ok(p) = fs::read_to_string(&pid_file) {
            ctx.track_pid(p.trim().parse().unwrap_or(0));
        }
        o
    };
    let o = run("1", "with.pid");
    assert_eq!(o.expect_ok("subreaper").out(), "reaped 9", "{o:?}");
    let o = run("0", "without.pid");
    assert_eq!(o.expect_ok("no subreaper").out(), "not our child", "{o:?}");
}
