//! A bind source inside a directory the container can write (another read-write bind's
//! source, a writable rootfs) is refused by `bundle` and reported by `check`: the container
//! could swap it for a symlink and have the runtime mount what that names.

mod common;

use common::*;

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        for d in ["rootfs/bin", "rootfs/etc", "rootfs/data/sub", "site/uploads", "other"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        std::fs::write(dir.path().join("rootfs/etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        std::fs::copy("/bin/busybox", dir.path().join("rootfs/bin/busybox")).expect("busybox-static is installed");
        Setup { dir }
    }

    fn write(&self, extra: &str) -> std::path::PathBuf {
        let text = format!("name = \"nested\"\nrootfs = \"rootfs\"\n\n[process]\ncommand = \"/bin/busybox\"\nuser = \"root\"\n{extra}");
        let p = self.dir.path().join("service.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    fn bundle(&self, extra: &str) -> std::process::Output {
        let s = self.write(extra);
        let out = self.dir.path().join("out");
        run(&["bundle", s.to_str().unwrap(), "--output", out.to_str().unwrap()])
    }

    fn check(&self, extra: &str) -> std::process::Output {
        let s = self.write(extra);
        run(&["check", s.to_str().unwrap()])
    }
}

const NESTED: &str = r#"
[[bind]]
source = "site"
target = "/var/www"
mode = "rw"

[[bind]]
source = "site/uploads"
target = "/srv/uploads"
"#;

const SIBLINGS: &str = r#"
[[bind]]
source = "site"
target = "/var/www"
mode = "rw"

[[bind]]
source = "other"
target = "/srv/uploads"
"#;

#[test]
fn bundle_refuses_a_source_inside_a_read_write_source() {
    let s = Setup::new();
    let o = s.bundle(NESTED);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("service.toml:") && err.contains("site/uploads") && err.contains("read-write bind for /var/www"), "{err}");
    assert!(err.contains("fix: "), "{err}");
    assert!(!s.dir.path().join("out").exists(), "a bundle was written");
    // Control: side by side is fine.
    let o = s.bundle(SIBLINGS);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn bundle_refuses_a_source_inside_a_writable_rootfs() {
    let s = Setup::new();
    let extra = "\n[filesystem]\nreadonly_root = false\n\n[[bind]]\nsource = \"rootfs/data/sub\"\ntarget = \"/mnt\"\n";
    let o = s.bundle(extra);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("rootfs/data/sub") && err.contains("readonly_root"), "{err}");
    // Control: with a read-only rootfs the same source is fine.
    let o = s.bundle(&extra.replace("readonly_root = false", "readonly_root = true"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn check_reports_nested_sources_in_a_bundle() {
    let s = Setup::new();
    // A bundle made by hand (spec-gen itself would refuse): check reads its config.json.
    let o = s.bundle(SIBLINGS);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let cfg_path = s.dir.path().join("out/config.json");
    let text = std::fs::read_to_string(&cfg_path).unwrap();
    let other = s.dir.path().join("other").display().to_string();
    let inner = s.dir.path().join("site/uploads").display().to_string();
    std::fs::write(&cfg_path, text.replace(&format!("\"{other}\""), &format!("\"{inner}\""))).unwrap();
    let o = run(&["check", s.dir.path().join("out").to_str().unwrap()]);
    let out = stdout(&o) + &stderr(&o);
    assert_ne!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("error: ") && out.contains("site/uploads") && out.contains("read-write bind for /var/www"), "{out}");
    // Control: the description with siblings checks clean of this error.
    let o = s.check(SIBLINGS);
    let out = stdout(&o) + &stderr(&o);
    assert!(!out.contains("lies inside"), "{out}");
}
