//! `spec-gen rootfs`: busybox builds always; mmdebstrap builds only with
//! SPEC_GEN_TEST_MMDEBSTRAP=1 (they download packages and take a minute).

mod common;

use common::*;
use std::path::Path;

#[test]
fn busybox_rootfs_lock_and_rebuild() {
    let t = tempfile::tempdir().unwrap();
    let service = busybox_bundle_dir(t.path());
    let root = t.path().join("rootfs");
    let link = std::fs::read_link(root.join("usr/bin/wget")).unwrap();
    assert_eq!(link, Path::new("../../bin/busybox"), "applet links are relative");
    assert!(std::fs::read_to_string(root.join("etc/passwd")).unwrap().contains("www:x:1000:1000:"));
    assert!(root.join("srv/www").is_dir(), "mount points are created");
    let lock = std::fs::read_to_string(t.path().join("rootfs.lock")).unwrap();
    assert!(lock.contains("kind = \"busybox\"") && lock.contains("sha256 = "), "{lock}");

    // Rebuild from the lock.
    let again = t.path().join("again");
    let lock2 = t.path().join("again.lock");
    ok(&[
        "rootfs",
        service.to_str().unwrap(),
        "--output",
        again.to_str().unwrap(),
        "--lock",
        lock2.to_str().unwrap(),
        "--from-lock",
        t.path().join("rootfs.lock").to_str().unwrap(),
    ]);
    assert_eq!(lock, std::fs::read_to_string(&lock2).unwrap());

    // A lock that does not match refuses, and leaves nothing behind.
    let bad = t.path().join("bad.lock");
    std::fs::write(&bad, lock.replace("sha256 = \"", "sha256 = \"00")).unwrap();
    let third = t.path().join("third");
    let o = run(&["rootfs", service.to_str().unwrap(), "--output", third.to_str().unwrap(), "--from-lock", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("but the lock file wants"), "{}", stderr(&o));
    assert!(!third.exists());
    let leftovers: Vec<_> = std::fs::read_dir(t.path()).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().contains("building")).collect();
    assert!(leftovers.is_empty(), "staging directories left behind");

    // An existing, non-empty output is refused.
    let o = run(&["rootfs", service.to_str().unwrap(), "--output", root.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists and is not empty"), "{}", stderr(&o));
}

#[test]
fn mmdebstrap_rootfs() {
    if std::env::var_os("SPEC_GEN_TEST_MMDEBSTRAP").is_none_or(|v| v != "1") {
        eprintln!("NOTICE: set SPEC_GEN_TEST_MMDEBSTRAP=1 to build a Debian rootfs with mmdebstrap (downloads packages)");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let service = t.path().join("service.toml");
    std::fs::write(
        &service,
        "name = \"deb\"\nrootfs = \"rootfs\"\n\n[process]\ncommand = \"/bin/busybox\"\nargs = [\"true\"]\nuser = \"app\"\n\n[rootfs_build]\npackages = [\"busybox\"]\nusers = [{ name = \"app\", uid = 1000 }]\n",
    )
    .unwrap();
    let o = ok(&["rootfs", service.to_str().unwrap(), "--output", t.path().join("rootfs").to_str().unwrap()]);
    assert!(stderr(&o).contains("installed beyond the requested list"), "{}", stderr(&o));
    let lock = std::fs::read_to_string(t.path().join("rootfs.lock")).unwrap();
    assert!(lock.contains("kind = \"debian\"") && lock.contains("busybox = "), "{lock}");
    assert!(lock.contains("libc6 = "), "{lock}");
    let c = run(&["check", service.to_str().unwrap()]);
    assert!(stdout(&c).contains("check: 0 error(s)"), "{}", stdout(&c));
    let again = t.path().join("again");
    ok(&["rootfs", service.to_str().unwrap(), "--output", again.to_str().unwrap(), "--from-lock", t.path().join("rootfs.lock").to_str().unwrap()]);
}
