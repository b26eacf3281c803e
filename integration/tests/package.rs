//! The Debian package (packaging/build-deb.sh): it installs with dpkg, puts working binaries,
//! man pages, completions, the template unit and the seccomp profiles in place, runs a
//! container from /usr/bin, and removes without leaving its files.
//!
//! scripts/test.sh builds the package first and passes it in OCIRT_DEB; without it the test
//! builds it (a release build, several minutes). It installs into the system, so it refuses
//! to run where an `ocirt` package is already installed rather than replace it.

use integration::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn sh(cmd: &str) -> (i32, String, String) {
    let o = Command::new("bash").arg("-c").arg(cmd).output().expect("bash");
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn package() -> PathBuf {
    if let Some(p) = std::env::var_os("OCIRT_DEB").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/build-deb.sh");
    let (code, out, err) = sh(&format!("bash {}", script.display()));
    assert_eq!(code, 0, "build-deb.sh failed:\n{err}");
    PathBuf::from(out.lines().last().unwrap_or_default().trim())
}

fn installed() -> bool {
    sh("dpkg-query -W -f='${Status}' ocirt 2>/dev/null").1.contains("ok installed")
}

/// Removes the package even when an assertion fails half-way.
struct Removal;
impl Drop for Removal {
    fn drop(&mut self) {
        if installed() {
            let _ = sh("dpkg --purge ocirt");
        }
    }
}

#[test]
fn debian_package_installs_runs_and_removes_cleanly() {
    assert!(!installed(), "an ocirt package is already installed here: this test would replace it; remove it first (dpkg --purge ocirt)");
    let deb = package();
    assert!(deb.is_file(), "no package at {}", deb.display());
    let (_, files, _) = sh(&format!("dpkg-deb -c {} | awk '{{print $NF}}' | sed 's|^\\./|/|'", deb.display()));
    let files: Vec<String> = files.lines().filter(|l| !l.ends_with('/')).map(str::to_string).collect();
    for want in [
        "/usr/bin/runtime",
        "/usr/bin/spec-gen",
        "/usr/share/man/man8/runtime.8.gz",
        "/usr/share/man/man8/runtime-run.8.gz",
        "/usr/share/man/man1/spec-gen.1.gz",
        "/usr/share/bash-completion/completions/runtime",
        "/usr/share/zsh/vendor-completions/_runtime",
        "/usr/share/fish/vendor_completions.d/runtime.fish",
        "/usr/lib/systemd/system/ocirt@.service",
        "/usr/share/ocirt/seccomp-profiles/default.json",
        "/usr/share/doc/ocirt/docs/security.md",
    ] {
        assert!(files.iter().any(|f| f == want), "{want} is not in the package: {files:?}");
    }

    let _removal = Removal;
    let (code, _, err) = sh(&format!("dpkg -i {}", deb.display()));
    assert_eq!(code, 0, "dpkg -i failed:\n{err}");

    // The version names the commit it was built from, as the package's version does.
    let (code, version, _) = sh("/usr/bin/runtime --version");
    assert_eq!(code, 0);
    assert!(version.contains("(commit ") && !version.contains("commit unknown"), "{version}");
    let (_, pkg_version, _) = sh("dpkg-query -W -f='${Version}' ocirt");
    let hash = version.split("commit ").nth(1).unwrap_or("").trim_end_matches(|c: char| !c.is_ascii_hexdigit()).split('-').next().unwrap_or("").to_string();
    assert!(!hash.is_empty() && pkg_version.contains(&hash), "package version {pkg_version} does not carry the commit of {version}");
    let (_, sg_version, _) = sh("/usr/bin/spec-gen --version");
    assert!(sg_version.contains(&hash), "{sg_version}");

    // Man pages are found by man(1), for the program and for each verb.
    for page in ["runtime", "runtime-run", "runtime-exec", "spec-gen", "spec-gen-bundle"] {
        let (code, path, err) = sh(&format!("man -w {page}"));
        assert_eq!(code, 0, "man -w {page}: {err}");
        assert!(path.trim().starts_with("/usr/share/man/"), "man -w {page}: {path}");
    }
    let (code, text, _) = sh("zcat /usr/share/man/man8/runtime-run.8.gz");
    assert!(code == 0 && text.contains("detach") && text.contains("pid\\-file"), "the run page does not document its options:\n{text}");

    // A container from the installed binary, and a bundle from the installed spec-gen with no
    // profile directory beside it but the package's.
    let ctx = Ctx::new("package");
    let mut b = ctx.bundle("pkg");
    b.args(&["/bin/sh", "-c", "echo from-the-package"]);
    let id = ctx.next_id();
    ctx.write_config(&b, &id);
    ctx.track(&id);
    let mut c = Command::new("/usr/bin/runtime");
    c.arg("--root").arg(&ctx.root).args(["run", "--bundle"]).arg(&b.dir).arg(&id).stdin(std::process::Stdio::null());
    let o = ctx.spawn(c, "/usr/bin/runtime run").wait(Duration::from_secs(30));
    o.expect_ok("run with the installed runtime");
    assert_eq!(o.stdout.trim(), "from-the-package");
    let svc = ctx.base.join("svc.toml");
    std::fs::write(&svc, format!("name = \"pkg\"\nrootfs = \"{}\"\n[process]\ncommand = \"/bin/sh\"\nuser = \"root\"\n", b.rootfs.display())).unwrap();
    let out_dir = ctx.base.join("svc-bundle");
    let (code, _, err) = sh(&format!("cd / && /usr/bin/spec-gen bundle {} --output {}", svc.display(), out_dir.display()));
    assert_eq!(code, 0, "installed spec-gen bundle: {err}");
    let cfg: Value = serde_json::from_str(&std::fs::read_to_string(out_dir.join("config.json")).unwrap()).unwrap();
    assert!(cfg["linux"]["seccomp"]["defaultAction"].is_string(), "no seccomp profile in the generated bundle");

    // Removal leaves none of the package's files.
    let (code, _, err) = sh("dpkg --purge ocirt");
    assert_eq!(code, 0, "dpkg --purge: {err}");
    assert!(!installed());
    let left: Vec<&String> = files.iter().filter(|f| Path::new(f).exists()).collect();
    assert!(left.is_empty(), "files left after dpkg --purge: {left:?}");
    let (code, _, _) = sh("man -w runtime");
    assert_ne!(code, 0, "man still finds runtime(8) after removal");
}
