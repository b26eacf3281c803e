//! Where the container's cgroup goes (runtime/src/cgroup_placement.rs), on this host: a
//! runtime started in a cgroup that was delegated to it (systemd's `Delegate=yes` marks it
//! with the xattr trusted.delegate) puts a container without `cgroupsPath` inside it, limits
//! applied there; without the mark it uses /ocirt/<id>; a relative `cgroupsPath` lies below
//! the runtime's own cgroup either way.

use integration::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const UNIFIED: &str = "/sys/fs/cgroup/unified";

/// A cgroup2 directory standing in for a unit's cgroup, removed on drop.
struct Unit {
    dirs: Vec<PathBuf>,
    rel: String,
}

impl Unit {
    fn new(ctx: &Ctx, delegated: bool) -> Unit {
        let rel = format!("{}/unit.service", ctx.cg_prefix);
        let top = Path::new(UNIFIED).join(ctx.cg_prefix.trim_start_matches('/'));
        let dir = Path::new(UNIFIED).join(rel.trim_start_matches('/'));
        fs::create_dir_all(&dir).unwrap();
        if delegated {
            let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: NUL-terminated strings; value and length passed together.
            let r = unsafe { libc::setxattr(c.as_ptr(), c"trusted.delegate".as_ptr(), b"1".as_ptr().cast(), 1, 0) };
            assert_eq!(r, 0, "setxattr trusted.delegate: {}", std::io::Error::last_os_error());
        }
        Unit { dirs: vec![dir, top], rel }
    }

    /// `runtime run -d` started from inside the unit's cgroup.
    fn run_detached(&self, ctx: &Ctx, b: &Bundle, id: &str) {
        ctx.track(id);
        let procs = Path::new(UNIFIED).join(self.rel.trim_start_matches('/')).join("cgroup.procs");
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!("echo $$ > {} && exec \"$0\" \"$@\"", procs.display()))
            .arg(runtime_bin())
            .arg("--root")
            .arg(&ctx.root)
            .args(["run", "-d", "--bundle"])
            .arg(&b.dir)
            .arg(id)
            .stdin(std::process::Stdio::null());
        ctx.spawn(c, "runtime run -d inside the unit's cgroup").wait(CMD_TIMEOUT).expect_ok("run -d");
    }
}

impl Drop for Unit {
    fn drop(&mut self) {
        for d in &self.dirs {
            let _ = fs::remove_dir(d);
        }
    }
}

fn bundle(ctx: &Ctx, cgroups_path: Option<&str>, memory: bool) -> Bundle {
    let mut b = ctx.bundle("b");
    b.probe(&["sleep", "30"]);
    let mut c = b.config.clone();
    match cgroups_path {
        Some(p) => c["linux"]["cgroupsPath"] = json!(p),
        None => {
            c["linux"].as_object_mut().unwrap().remove("cgroupsPath");
        }
    }
    if memory {
        c["linux"]["resources"] = json!({"memory": {"limit": 67108864}});
    }
    fs::write(b.dir.join("config.json"), serde_json::to_string_pretty(&c).unwrap()).unwrap();
    b
}

fn procs(dir: &Path) -> String {
    fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default()
}

#[test]
fn default_cgroup_lies_inside_a_delegated_cgroup_with_limits_applied() {
    let ctx = Ctx::new("placement_delegated");
    let unit = Unit::new(&ctx, true);
    let b = bundle(&ctx, None, true);
    let id = ctx.next_id();
    unit.run_detached(&ctx, &b, &id);
    let inside = format!("{}/{id}", unit.rel.trim_start_matches('/'));
    assert!(!procs(&Path::new(UNIFIED).join(&inside)).trim().is_empty(), "no process in {UNIFIED}/{inside}");
    let limit = fs::read_to_string(Path::new("/sys/fs/cgroup/memory").join(&inside).join("memory.limit_in_bytes")).unwrap();
    assert_eq!(limit.trim(), "67108864", "memory limit applied in the container's cgroup inside the unit");
    ctx.rt(&["delete", "--force", &id]).expect_ok("delete");
    assert!(!Path::new(UNIFIED).join(&inside).exists(), "the container's cgroup is removed, the unit's stays");
    assert!(Path::new(UNIFIED).join(unit.rel.trim_start_matches('/')).is_dir());
}

#[test]
fn without_delegation_the_default_is_ocirt_id_and_relative_paths_nest_below_our_own() {
    let ctx = Ctx::new("placement_plain");
    let unit = Unit::new(&ctx, false);
    // Control for the test above: the same start without the mark lands in /ocirt/<id>.
    let b = bundle(&ctx, None, false);
    let id = ctx.next_id();
    unit.run_detached(&ctx, &b, &id);
    assert!(!procs(&Path::new(UNIFIED).join("ocirt").join(&id)).trim().is_empty(), "not in /ocirt/{id}");
    assert!(!Path::new(UNIFIED).join(unit.rel.trim_start_matches('/')).join(&id).exists());
    ctx.rt(&["delete", "--force", &id]).expect_ok("delete");

    // A relative cgroupsPath: below the runtime's own cgroup, delegated or not (runc's rule).
    let b = bundle(&ctx, Some("rel/c"), false);
    let id = ctx.next_id();
    unit.run_detached(&ctx, &b, &id);
    let inside = Path::new(UNIFIED).join(unit.rel.trim_start_matches('/')).join("rel/c");
    assert!(!procs(&inside).trim().is_empty(), "not in {}", inside.display());
    ctx.rt(&["delete", "--force", &id]).expect_ok("delete");
    assert!(!inside.exists() && !inside.parent().unwrap().exists(), "the container's cgroup and the parent made for it are removed");
}
