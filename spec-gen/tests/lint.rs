//! `spec-gen check` on small hostile rootfs trees built in temp dirs.

mod common;

use common::*;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    /// A rootfs with a static busybox as /bin/busybox and two accounts.
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let t = Tree { dir };
        for d in ["bin", "etc", "usr/bin", "usr/local/bin", "tmp"] {
            std::fs::create_dir_all(t.root().join(d)).unwrap();
        }
        std::fs::write(t.root().join("etc/passwd"), "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/bin/false\n").unwrap();
        std::fs::write(t.root().join("etc/group"), "root:x:0:\napp:x:1000:\n").unwrap();
        std::fs::copy("/bin/busybox", t.root().join("bin/busybox")).expect("busybox-static is installed");
        t
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    fn path(&self, p: &str) -> PathBuf {
        self.root().join(p)
    }

    fn describe(&self, command: &str, extra: &str) -> PathBuf {
        let text = format!("name = \"lint\"\nrootfs = \"rootfs\"\n\n[process]\ncommand = \"{command}\"\nuser = \"app\"\n{extra}");
        let p = self.dir.path().join("service.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Runs check; returns (exit code, stdout).
    fn check(&self, command: &str, extra: &str) -> (i32, String) {
        let s = self.describe(command, extra);
        let o = run(&["check", s.to_str().unwrap()]);
        (o.status.code().unwrap(), stdout(&o) + &stderr(&o))
    }
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn has(out: &str, severity: &str, words: &[&str]) -> bool {
    out.split("\n")
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| w[0].starts_with(&format!("{severity}: ")) && words.iter().all(|x| w[0].contains(x)) && w[1].trim_start().starts_with("fix: "))
}

#[test]
fn clean_static_rootfs_passes() {
    let t = Tree::new();
    let (code, out) = t.check("/bin/busybox", "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("check: 0 error(s)"), "{out}");
    assert!(!out.contains("symbolic link") && !out.contains("setuid"), "{out}");
}

#[test]
fn absolute_symlink_escaping_the_rootfs() {
    let t = Tree::new();
    std::fs::create_dir_all(t.path("etc/alternatives")).unwrap();
    std::fs::write(t.path("usr/bin/php8"), "x").unwrap();
    symlink("/usr/bin/php8", t.path("etc/alternatives/php")).unwrap();
    symlink("/etc/alternatives/php", t.path("usr/bin/php")).unwrap();
    symlink("../../../../../../../../etc/passwd", t.path("usr/bin/climb")).unwrap();
    // A deploy tool's absolute link, not the packages': the operator's to fix.
    std::fs::create_dir_all(t.path("srv/app/releases/1")).unwrap();
    symlink("/srv/app/releases/1", t.path("srv/app/current")).unwrap();
    // A link dpkg unpacked (listed in var/lib/dpkg/info/*.list): grouped into one note.
    std::fs::create_dir_all(t.path("var/lib/dpkg/info")).unwrap();
    std::fs::create_dir_all(t.path("lib")).unwrap();
    symlink("/usr/bin/php8", t.path("lib/php-compat")).unwrap();
    std::fs::write(t.path("var/lib/dpkg/info/php.list"), "/.\n/lib\n/lib/php-compat\n").unwrap();
    let (code, out) = t.check("/bin/busybox", "");
    assert_eq!(code, 0, "warnings only:\n{out}");
    assert!(has(&out, "warning", &["absolute symbolic link /srv/app/current -> /srv/app/releases/1", "resolves to /srv/app/releases/1 inside"]), "{out}");
    assert!(out.contains("ln -sfn releases/1"), "{out}");
    // Package-owned links (update-alternatives, dpkg) are not warnings but one note.
    assert!(!out.contains("warning: ") || !out.contains("link /usr/bin/php ->"), "{out}");
    assert!(!out.contains("link /lib/php-compat ->"), "{out}");
    assert!(has(&out, "note", &["3 symbolic link(s) owned by the rootfs's packages"]), "{out}");
    assert!(has(&out, "warning", &["symbolic link /usr/bin/climb", "resolves to /etc/passwd inside the container", "but to the host's /etc/passwd"]), "{out}");
}

#[test]
fn dangling_and_looping_links() {
    let t = Tree::new();
    symlink("/nonexistent/file", t.path("etc/dangling")).unwrap();
    symlink("loop", t.path("etc/loop")).unwrap();
    // Pointing into /proc is fine: it is mounted at run time.
    symlink("../proc/self/mounts", t.path("etc/mtab")).unwrap();
    let (code, out) = t.check("/bin/busybox", "");
    assert_eq!(code, 0, "{out}");
    assert!(has(&out, "warning", &["dangling symbolic link /etc/dangling -> /nonexistent/file"]), "{out}");
    assert!(has(&out, "warning", &["/etc/loop -> loop loops"]), "{out}");
    assert!(!out.contains("/etc/mtab"), "{out}");
}

#[test]
fn setuid_file_is_reported_inert() {
    let t = Tree::new();
    std::fs::write(t.path("usr/bin/su"), "x").unwrap();
    chmod(&t.path("usr/bin/su"), 0o4755);
    let (code, out) = t.check("/bin/busybox", "");
    assert_eq!(code, 0, "{out}");
    assert!(has(&out, "note", &["/usr/bin/su is setuid", "inert", "no_new_privs"]), "{out}");
    let (_, out) = t.check("/bin/busybox", "\n[security]\nno_new_privileges = false\nlandlock = { enabled = false }\n");
    assert!(has(&out, "warning", &["/usr/bin/su is setuid", "can raise privileges"]), "{out}");
}

#[test]
fn world_writable_directory_on_the_exec_path() {
    let t = Tree::new();
    chmod(&t.path("usr/local/bin"), 0o777);
    let (code, out) = t.check("busybox", "");
    assert_eq!(code, 1, "{out}");
    assert!(has(&out, "error", &["/usr/local/bin is world-writable and on the exec path"]), "{out}");
    assert!(out.contains("chmod o-w"), "{out}");
    // /tmp is world-writable too, but nothing executes from it.
    assert!(!out.contains("/tmp is world-writable"), "{out}");
}

#[test]
fn missing_command_and_script_interpreter() {
    let t = Tree::new();
    let (code, out) = t.check("/usr/bin/nothere", "");
    assert_eq!(code, 1);
    assert!(has(&out, "error", &["command /usr/bin/nothere does not exist inside the rootfs"]), "{out}");
    let (code, out) = t.check("nothere", "");
    assert_eq!(code, 1);
    assert!(has(&out, "error", &["`nothere` is not in any PATH directory"]), "{out}");
    std::fs::write(t.path("usr/bin/script"), "#!/usr/bin/python3 -u\nprint(1)\n").unwrap();
    chmod(&t.path("usr/bin/script"), 0o755);
    let (code, out) = t.check("/usr/bin/script", "");
    assert_eq!(code, 1);
    assert!(has(&out, "error", &["interpreter /usr/bin/python3 does not exist"]), "{out}");
    std::fs::write(t.path("usr/bin/noexec"), "#!/bin/busybox sh\n").unwrap();
    chmod(&t.path("usr/bin/noexec"), 0o644);
    let (_, out) = t.check("/usr/bin/noexec", "");
    assert!(has(&out, "error", &["/usr/bin/noexec is not executable"]), "{out}");
}

/// Host path of a dynamically linked program and its loader, if this host has them.
fn dynamic_program() -> Option<(PathBuf, spec_gen::lint::ElfInfo)> {
    let p = PathBuf::from("/bin/true").canonicalize().ok()?;
    let info = spec_gen::lint::read_elf(&p).ok()??;
    info.interpreter.as_ref()?;
    Some((p, info))
}

#[test]
fn missing_elf_interpreter_and_library() {
    let Some((prog, info)) = dynamic_program() else {
        if std::env::var_os("OCIRT_REQUIRE_ALL").is_some() {
            panic!("OCIRT_REQUIRE_ALL is set but this test cannot run here: no dynamically linked /bin/true");
        }
        eprintln!("skipped: no dynamically linked /bin/true on this host");
        return;
    };
    let t = Tree::new();
    std::fs::copy(&prog, t.path("usr/bin/prog")).unwrap();
    let interp = info.interpreter.clone().unwrap();
    let (code, out) = t.check("/usr/bin/prog", "");
    assert_eq!(code, 1, "{out}");
    assert!(has(&out, "error", &[&format!("ELF interpreter {interp} of /usr/bin/prog does not exist")]), "{out}");

    // With the loader but without libc, the library is reported.
    let dest = t.path(interp.trim_start_matches('/'));
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::copy(Path::new(&interp).canonicalize().unwrap(), &dest).unwrap();
    let (code, out) = t.check("/usr/bin/prog", "");
    assert_eq!(code, 1, "{out}");
    let libc = info.needed.iter().find(|n| n.starts_with("libc.so")).unwrap();
    assert!(has(&out, "error", &[&format!("library {libc} needed by /usr/bin/prog is not found")]), "{out}");

    // With every library copied in (to /usr/lib, a default directory), it passes.
    std::fs::create_dir_all(t.path("usr/lib")).unwrap();
    for lib in &info.needed {
        let host = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib", "/lib/aarch64-linux-gnu"]
            .iter()
            .map(|d| Path::new(d).join(lib))
            .find(|p| p.exists());
        let Some(host) = host else {
            assert!(std::env::var_os("OCIRT_REQUIRE_ALL").is_none(), "OCIRT_REQUIRE_ALL is set but {lib} is not on the host");
            eprintln!("skipped the positive half: {lib} not found on the host");
            return;
        };
        std::fs::copy(host.canonicalize().unwrap(), t.path("usr/lib").join(lib)).unwrap();
    }
    let (code, out) = t.check("/usr/bin/prog", "");
    assert_eq!(code, 0, "{out}");
}

#[test]
fn bind_mounted_tree_and_bind_sources() {
    let t = Tree::new();
    let site = t.dir.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    symlink("/etc/passwd", site.join("users")).unwrap();
    std::fs::create_dir_all(t.path("srv")).unwrap();
    let extra = "\n[[bind]]\nsource = \"site\"\ntarget = \"/srv/site\"\n\n[[bind]]\nsource = \"gone\"\ntarget = \"/srv/gone\"\n";
    let (code, out) = t.check("/bin/busybox", extra);
    assert_eq!(code, 1, "{out}");
    assert!(has(&out, "warning", &["absolute symbolic link /srv/site/users -> /etc/passwd", "inside the container", "but to the host's /etc/passwd"]), "{out}");
    assert!(has(&out, "error", &["bind source for /srv/gone does not exist", "service.toml:"]), "{out}");
}

#[test]
fn unknown_user_and_bundle_mode() {
    let t = Tree::new();
    let s = t.describe("/bin/busybox", "");
    std::fs::write(&s, std::fs::read_to_string(&s).unwrap().replace("user = \"app\"", "user = \"ghost\"")).unwrap();
    let o = run(&["check", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(has(&stdout(&o), "error", &["service.toml:6:8", "user `ghost` is not in the rootfs's /etc/passwd"]), "{}", stdout(&o));

    // A bundle directory is checked from its config.json.
    let s = t.describe("/bin/busybox", "");
    let bundle = t.dir.path().join("bundle");
    ok(&["bundle", s.to_str().unwrap(), "--output", bundle.to_str().unwrap()]);
    let o = run(&["check", bundle.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    std::fs::remove_file(t.path("bin/busybox")).unwrap();
    let o = run(&["check", bundle.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(has(&stdout(&o), "error", &["command /bin/busybox does not exist"]), "{}", stdout(&o));
}
