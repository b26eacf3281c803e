//! Helpers shared by the integration tests: running the binary, fixtures,
//! golden files (UPDATE_GOLDEN=1 rewrites them) and config invariants.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    manifest_dir().join("tests/fixtures")
}

pub fn profiles() -> PathBuf {
    fixtures().join("profiles")
}

/// The spec-gen binary, with the test seccomp profiles.
pub fn spec_gen() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_spec-gen"));
    c.env("SPEC_GEN_PROFILES", profiles());
    c
}

pub fn run(args: &[&str]) -> Output {
    spec_gen().args(args).output().expect("spec-gen runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs and insists on success.
pub fn ok(args: &[&str]) -> Output {
    let o = run(args);
    assert!(o.status.success(), "spec-gen {args:?} failed:\n{}{}", stdout(&o), stderr(&o));
    o
}

/// Copies the busybox service into `dir` and builds its rootfs there.
pub fn busybox_bundle_dir(dir: &Path) -> PathBuf {
    let src = manifest_dir().join("../bundles/busybox");
    std::fs::copy(src.join("service.toml"), dir.join("service.toml")).unwrap();
    std::fs::create_dir_all(dir.join("www")).unwrap();
    std::fs::copy(src.join("www/index.html"), dir.join("www/index.html")).unwrap();
    let service = dir.join("service.toml");
    ok(&["rootfs", service.to_str().unwrap(), "--output", dir.join("rootfs").to_str().unwrap()]);
    service
}

/// Replaces machine-specific directories with `@DIR@`.
pub fn normalize(text: &str, dirs: &[&Path]) -> String {
    let mut out = text.to_string();
    for d in dirs {
        let mut forms = vec![d.display().to_string()];
        if let Ok(c) = d.canonicalize() {
            forms.push(c.display().to_string());
        }
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        for f in forms {
            out = out.replace(&f, "@DIR@");
        }
    }
    out
}

/// Compares with tests/golden/NAME, or rewrites it when UPDATE_GOLDEN=1.
pub fn golden(name: &str, actual: &str) {
    let path = manifest_dir().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap();
        eprintln!("updated {}", path.display());
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing; run UPDATE_GOLDEN=1 cargo test -p spec-gen", path.display()));
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (e, a))| e != a)
            .take(10)
            .map(|(i, (e, a))| format!("line {}:\n  golden: {e}\n  actual: {a}", i + 1))
            .collect();
        panic!(
            "{} differs from the generated output (UPDATE_GOLDEN=1 cargo test -p spec-gen updates it after review):\n{}\n(golden {} lines, actual {} lines)",
            path.display(),
            diff.join("\n"),
            expected.lines().count(),
            actual.lines().count()
        );
    }
}

/// Structural validity plus the hardening invariants every config must keep.
pub fn assert_config_ok(text: &str) {
    assert!(text.ends_with("}\n"), "config.json must end with a newline");
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    let problems = spec_gen::structure::check(&v);
    assert!(problems.is_empty(), "structural problems: {problems:#?}");
    let spec: oci_spec::runtime::Spec = serde_json::from_value(v.clone()).unwrap();
    assert!(spec.root().as_ref().unwrap().path().is_absolute());
    for m in v["mounts"].as_array().unwrap() {
        let dest = m["destination"].as_str().unwrap();
        let opts: Vec<&str> = m["options"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
        assert!(opts.contains(&"nosuid"), "{dest} lacks nosuid");
        if dest != "/dev" && dest != "/dev/pts" {
            assert!(opts.contains(&"nodev"), "{dest} lacks nodev");
        }
    }
    for k in [
        "org.ocirt.landlock.fs.exec",
        "org.ocirt.landlock.fs.write",
        "org.ocirt.landlock.net.bind",
        "org.ocirt.landlock.net.connect",
        "org.ocirt.landlock.scope",
    ] {
        let a = v["annotations"][k].as_str().unwrap_or_else(|| panic!("{k} missing"));
        assert!(serde_json::from_str::<serde_json::Value>(a).unwrap().is_array(), "{k} is not a JSON array");
    }
    let masked: Vec<&str> = v["linux"]["maskedPaths"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    for p in ["/proc/kcore", "/proc/keys", "/sys/firmware", "/sys/devices/virtual/powercap"] {
        assert!(masked.contains(&p), "{p} not masked");
    }
    assert_eq!(v["linux"]["resources"]["devices"][0], serde_json::json!({"allow": false, "access": "rwm"}));
    assert_eq!(v["process"]["noNewPrivileges"], true);
}
