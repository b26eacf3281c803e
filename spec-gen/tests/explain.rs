//! `spec-gen explain` works from the description alone, before its rootfs exists.

use std::path::Path;
use std::process::Command;

fn spec_gen(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_spec-gen")).args(args).output().expect("run spec-gen");
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn mediawiki() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bundles/mediawiki/service.toml");
    p.to_string_lossy().into_owned()
}

#[test]
fn explain_without_a_rootfs() {
    let svc = mediawiki();
    // The repository holds the description but never the rootfs (it is cached elsewhere).
    assert!(!Path::new(&svc).with_file_name("rootfs").exists());
    let (code, out, err) = spec_gen(&["explain", &svc]);
    assert_eq!(code, 0, "explain failed without a rootfs:\n{err}");
    assert!(out.contains("(not built yet"), "{out}");
    assert!(out.contains("Keeps the capabilities CAP_KILL, CAP_SETGID, CAP_SETUID"), "{out}");
    // Root with three capabilities is not "root with no capabilities".
    assert!(!out.contains("with no capabilities"), "{out}");
    assert!(out.contains("limited to the capabilities listed under Privileges"), "{out}");
}

#[test]
fn check_says_how_to_find_the_rootfs() {
    let svc = mediawiki();
    let (code, out, _) = spec_gen(&["check", &svc]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--rootfs DIR") && out.contains("scripts/mediawiki.sh rootfs"), "{out}");
    // --rootfs points it elsewhere: a missing directory is one clear error.
    let (code, _, err) = spec_gen(&["check", &svc, "--rootfs", "/nonexistent/rootfs"]);
    assert_eq!(code, 1);
    assert!(err.contains("--rootfs /nonexistent/rootfs"), "{err}");
}
