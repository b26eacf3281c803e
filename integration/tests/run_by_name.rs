//! `runtime run NAME` without --bundle and without ./config.json: NAME is a bundle directory
//! or a name registered in /var/lib/ocirt/bundles (how `scripts/mediawiki.sh` leaves the wiki
//! for `runtime run mediawiki-bundle`). The id is what the user typed, so `runtime kill NAME`
//! reaches what `run NAME` started; when nothing is found, one error lists every place looked.

use integration::*;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const STORE: &str = "/var/lib/ocirt/bundles";

/// A registration in the system's bundle store, removed on drop (also when a test fails).
struct Registered(PathBuf);
impl Registered {
    fn new(name: &str, bundle: &Path) -> Registered {
        std::fs::create_dir_all(STORE).unwrap();
        let link = Path::new(STORE).join(name);
        let _ = std::fs::remove_file(&link);
        symlink(bundle, &link).unwrap();
        Registered(link)
    }
}
impl Drop for Registered {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `runtime --root R run ARG` from directory `cwd`.
fn run_in(ctx: &Ctx, cwd: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(runtime_bin());
    c.arg("--root").arg(&ctx.root).args(args).current_dir(cwd).stdin(std::process::Stdio::null());
    ctx.spawn(c, &format!("runtime {}", args.join(" "))).wait(CMD_TIMEOUT)
}

#[test]
fn a_registered_name_runs_under_the_name_typed() {
    let ctx = Ctx::new("byname");
    let mut b = ctx.bundle("wiki-bundle-dir");
    b.sh("echo ran-by-name; sleep 30");
    let name = format!("ocirt-it-{}-byname", std::process::id());
    // The config is written for the name: the harness's cgroup prefix.
    ctx.write_config(&b, &name);
    ctx.track(&name);
    // Registered as a symlink whose target's base name differs from the name.
    let _reg = Registered::new(&name, &b.dir);
    let elsewhere = ctx.dir("elsewhere");
    let o = run_in(&ctx, &elsewhere, &["run", "-d", &name]);
    o.expect_ok("run -d NAME from the bundle store");
    // The id is the name typed, not the link target's directory name.
    assert_eq!(ctx.state(&name)["id"], json!(name));
    assert_eq!(ctx.state(&name)["status"], json!("running"));
    ctx.kill(&name, "KILL").expect_ok("kill NAME");
    ctx.wait_for_status(&name, "stopped", Duration::from_secs(5));
    ctx.delete(&name, false).expect_ok("delete NAME");

    // A path: its last component as typed is the id; `.../NAME/bundle` runs as NAME.
    let site = ctx.dir("mysite");
    std::fs::rename(&b.dir, site.join("bundle")).unwrap();
    let b2 = Bundle { dir: site.join("bundle"), rootfs: site.join("bundle/rootfs"), config: b.config.clone(), raw_config: None };
    ctx.write_config(&b2, "mysite");
    ctx.track("mysite");
    let arg = site.join("bundle").to_string_lossy().into_owned();
    run_in(&ctx, &elsewhere, &["run", "-d", &arg]).expect_ok("run -d PATH/bundle");
    assert_eq!(ctx.state("mysite")["status"], json!("running"));
    ctx.delete("mysite", true).expect_ok("delete --force mysite");
}

#[test]
fn nothing_found_names_every_place_looked() {
    let ctx = Ctx::new("byname_missing");
    let empty = ctx.dir("empty");
    let name = format!("ocirt-it-{}-nosuch", std::process::id());
    let o = run_in(&ctx, &empty, &["run", &name]);
    let line = o.expect_error("run of an unknown name");
    for place in ["./config.json".to_string(), format!("{name}/config.json"), format!("{STORE}/{name}/config.json")] {
        assert!(line.contains(&place), "the error should name {place}: {line}");
    }
    assert!(line.contains("--bundle"), "{line}");
    ctx.assert_no_residue("unknown name");
    // Control: the same name as a directory in the current directory is found.
    let b = ctx.bundle(&name);
    b.write();
    let mut b = b;
    b.sh("echo found-here");
    ctx.write_config(&b, &name);
    ctx.track(&name);
    let o = run_in(&ctx, &ctx.base, &["run", &name]);
    o.expect_ok("run NAME with ./NAME a bundle");
    assert_eq!(o.out(), "found-here");
}
