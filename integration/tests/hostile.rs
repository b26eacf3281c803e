//! Hostile rootfs: symlinks that point mount destinations, devices and masked paths at
//! host paths, absolutely and with ../ escapes. The host side is a decoy directory in the
//! test's temp dir (never a real system path). The container may refuse (one clear error,
//! no residue) or keep everything inside the rootfs; the decoy must never receive a mount
//! or a write.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use integration::*;

/// Snapshot of a directory tree: relative path -> (type, content for files).
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                out.insert(rel, "dir".into());
                walk(base, &p, out);
            } else if m.is_file() {
                out.insert(rel, format!("file:{}", fs::read_to_string(&p).unwrap_or_default()));
            } else {
                out.insert(rel, format!("other:{:?}", m.file_type()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

struct Hostile {
    ctx: Ctx,
    b: Bundle,
    /// The decoy "host" tree the symlinks point at.
    host: PathBuf,
    /// Where the createContainer hook dumps the container's pre-pivot mountinfo.
    mountinfo_dump: PathBuf,
}

impl Hostile {
    fn new(name: &str) -> Hostile {
        let ctx = Ctx::new(name);
        let host = ctx.dir("host");
        for d in ["proc", "tmp", "dev", "mnt", "sys", "etc"] {
            fs::create_dir_all(host.join(d)).unwrap();
        }
        fs::write(host.join("null"), "decoy-null").unwrap();
        fs::write(host.join("secret"), "host-secret").unwrap();
        fs::write(host.join("etc/passwd"), "host-passwd").unwrap();
        let mut b = ctx.bundle("b");
        b.set("root/readonly", json!(false));
        let mountinfo_dump = ctx.base.join("prepivot-mountinfo");
        let hook = ctx.base.join("dump-mountinfo.sh");
        write_script(&hook, &format!("cat /proc/self/mountinfo > {}", mountinfo_dump.display()));
        b.push("hooks/createContainer", json!({"path": hook, "args": ["dump.sh"], "env": ["PATH=/usr/bin:/bin"]}));
        Hostile { ctx, b, host, mountinfo_dump }
    }

    /// Replaces `container_path` in the rootfs with a symlink to `target`.
    fn link(&self, container_path: &str, target: &str) {
        let p = self.b.host_path(container_path);
        if p.is_dir() && !p.is_symlink() {
            fs::remove_dir_all(&p).unwrap();
        } else if p.exists() || p.is_symlink() {
            fs::remove_file(&p).unwrap();
        }
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        symlink(target, &p).unwrap();
    }

    /// "../" repeated enough to climb from `container_path`'s directory in the rootfs to
    /// the host's /, followed by the host path `to`.
    fn escape(&self, container_path: &str, to: &Path) -> String {
        let depth = self.b.host_path(container_path).parent().unwrap().components().count() + 3;
        format!("{}{}", "../".repeat(depth), to.display().to_string().trim_start_matches('/'))
    }

    /// Runs the container with `script`; checks the decoy and returns true if it ran.
    fn check(&mut self, what: &str, script: &str) -> bool {
        self.check_out(what, script).0
    }

    fn check_out(&mut self, what: &str, script: &str) -> (bool, Output) {
        let before = snapshot(&self.host);
        self.b.sh(&format!("{script}; echo container-ran"));
        let id = self.ctx.next_id();
        let _ = fs::remove_file(&self.mountinfo_dump);
        let o = self.ctx.run(&self.b, &id, &[]);
        let ran = o.stdout.contains("container-ran");
        if !ran {
            // Refused: one clear error line, nothing left behind.
            let line = o.expect_error(&format!("{what}: refused container"));
            assert!(!line.is_empty());
            self.ctx.assert_no_residue(&format!("{what}: refused create"));
        }
        let after = snapshot(&self.host);
        assert_eq!(before, after, "{what}: the host decoy {} changed (container output: {o:?})", self.host.display());
        if let Ok(mi) = fs::read_to_string(&self.mountinfo_dump) {
            let host = self.host.display().to_string();
            let bad: Vec<&str> = mi.lines().filter(|l| l.split(' ').nth(4).is_some_and(|mp| mp == host || mp.starts_with(&format!("{host}/")))).collect();
            assert!(bad.is_empty(), "{what}: mounts landed on the host decoy:\n{}", bad.join("\n"));
        }
        assert!(mounts_under(&self.host).is_empty(), "{what}: host mount on the decoy: {:?}", mounts_under(&self.host));
        (ran, o)
    }
}

#[test]
fn proc_symlink_absolute_and_relative() {
    let mut h = Hostile::new("hostproc");
    let target = h.host.join("proc");
    h.link("/proc", target.to_str().unwrap());
    let ran = h.check("/proc -> absolute host path", "/probe read /proc/self/status >/dev/null; /probe write /proc/pwned x");
    if ran {
        // proc was mounted inside the rootfs (the symlink resolved within it).
        let o = h.ctx.sh(&mut h.b, "/probe read /proc/1/cmdline");
        assert!(o.stdout.contains("sh") || o.stdout.contains("probe"), "{o:?}");
    }
    let rel = h.escape("/proc", &h.host.join("proc"));
    h.link("/proc", &rel);
    h.check("/proc -> ../../ host path", "/probe write /proc/pwned x");
    // The same absolute target also exists inside the rootfs: resolved in the root, the
    // symlink leads there, and proc is mounted inside the rootfs.
    // (The decoy lives under /tmp: drop the /tmp tmpfs, which would cover that copy.)
    let shadow = h.b.host_path(target.to_str().unwrap());
    fs::create_dir_all(&shadow).unwrap();
    h.b.unmount("/tmp");
    h.link("/proc", target.to_str().unwrap());
    let (ran, o) = h.check_out("/proc -> absolute path that also exists in the rootfs", "/probe read /proc/self/stat >/dev/null && echo proc-ok");
    assert!(ran && o.stdout.contains("proc-ok"), "a symlink that resolves inside the rootfs should be usable: {o:?}");
}

#[test]
fn tmp_symlink_to_host() {
    let mut h = Hostile::new("hosttmp");
    // Control: with a real /tmp the same script runs and writes into the container's tmpfs
    // (so a refusal below is the symlink's doing, and the decoy check can see a write).
    assert!(h.check("/tmp a real directory", "/probe write /tmp/pwned x"), "control: the container should run");
    let target = h.host.join("tmp");
    h.link("/tmp", target.to_str().unwrap());
    let (ran, o) = h.check_out("/tmp -> absolute host path", "/probe write /tmp/pwned x");
    assert!(!ran && o.stderr.contains("cannot be resolved inside the rootfs"), "a /tmp link out of the rootfs must be refused: {o:?}");
    let rel = h.escape("/tmp", &h.host.join("tmp"));
    h.link("/tmp", &rel);
    let (ran, o) = h.check_out("/tmp -> ../../ host path", "/probe write /tmp/pwned x");
    assert!(!ran && o.stderr.contains("cannot be resolved inside the rootfs"), "{o:?}");
}

#[test]
fn dev_symlink_to_host() {
    let mut h = Hostile::new("hostdev");
    assert!(h.check("/dev a real directory", "/probe write /dev/pwned x; echo x > /dev/null"), "control: the container should run");
    let target = h.host.join("dev");
    h.link("/dev", target.to_str().unwrap());
    let (ran, o) = h.check_out("/dev -> host path (tmpfs /dev)", "/probe write /dev/pwned x; echo x > /dev/null");
    assert!(!ran && o.stderr.contains("cannot be resolved inside the rootfs"), "a /dev link out of the rootfs must be refused: {o:?}");
    // Without the /dev tmpfs, device nodes are created in the rootfs's /dev: through the link?
    h.b.unmount("/dev");
    h.b.unmount("/dev/pts");
    h.b.unmount("/dev/shm");
    h.b.unmount("/dev/mqueue");
    let rel = h.escape("/dev", &h.host.join("dev"));
    h.link("/dev", &rel);
    let (ran, o) = h.check_out("/dev -> ../../ host path (no tmpfs)", "/probe write /dev/pwned x");
    assert!(!ran && o.stderr.contains("cannot be resolved inside the rootfs"), "{o:?}");
}

#[test]
fn dev_null_symlink_to_host_file() {
    let mut h = Hostile::new("hostnull");
    h.b.unmount("/dev");
    h.b.unmount("/dev/pts");
    h.b.unmount("/dev/shm");
    h.b.unmount("/dev/mqueue");
    fs::create_dir_all(h.b.host_path("/dev")).unwrap();
    let target = h.host.join("null");
    h.link("/dev/null", target.to_str().unwrap());
    let ran = h.check("/dev/null -> absolute host file", "echo pwned > /dev/null; /probe write /dev/null pwned");
    if ran {
        let o = h.ctx.probe(&mut h.b, &["stat", "/dev/null"]);
        assert!(o.stdout.contains("type=char") && o.stdout.contains("rdev=1:3"), "/dev/null in the container is not the null device: {o:?}");
    }
    let rel = h.escape("/dev/null", &h.host.join("null"));
    h.link("/dev/null", &rel);
    h.check("/dev/null -> ../../ host file", "echo pwned > /dev/null");
    // With maskedPaths the runtime binds /dev/null over files: it must not use a fake one.
    h.b.push("linux/maskedPaths", json!("/etc/passwd"));
    h.check("/dev/null -> host file, with maskedPaths", "/probe read /etc/passwd");
}

#[test]
fn bind_destination_through_symlink() {
    let mut h = Hostile::new("hostbind");
    let src = h.ctx.dir("bindsrc");
    fs::write(src.join("from-src"), "src").unwrap();
    let target = h.host.join("mnt");
    h.link("/mnt", target.to_str().unwrap());
    h.b.mount("/mnt/data", "bind", src.to_str().unwrap(), &["bind", "rw"]);
    let ran = h.check("bind onto /mnt/data, /mnt -> absolute host path", "/probe read /mnt/data/from-src; /probe write /mnt/data/written x");
    if ran {
        assert_eq!(fs::read_to_string(src.join("written")).unwrap_or_default(), "x", "the bind mount did not land inside the container");
    }
    let rel = h.escape("/mnt", &h.host.join("mnt"));
    h.link("/mnt", &rel);
    h.check("bind onto /mnt/data, /mnt -> ../../ host path", "/probe write /mnt/data/w2 x");
    // The destination itself is the symlink.
    h.b.unmount("/mnt/data");
    h.b.mount("/mnt", "bind", src.to_str().unwrap(), &["bind", "rw"]);
    h.check("bind onto /mnt, itself a ../../ symlink", "/probe write /mnt/w3 x");
    // tmpfs onto a symlinked destination.
    h.b.unmount("/mnt");
    h.b.mount("/mnt", "tmpfs", "tmpfs", &["mode=755"]);
    let abs = h.host.join("mnt");
    h.link("/mnt", abs.to_str().unwrap());
    h.check("tmpfs onto /mnt -> absolute host path", "/probe write /mnt/w4 x");
}

#[test]
fn masked_and_readonly_paths_through_symlinks() {
    let mut h = Hostile::new("hostmask");
    let secret = h.host.join("secret");
    h.link("/etc/masklink", secret.to_str().unwrap());
    let rel = h.escape("/etc/masklink2", &h.host.join("secret"));
    h.link("/etc/masklink2", &rel);
    let etc = h.host.join("etc");
    h.link("/rolink", etc.to_str().unwrap());
    h.b.push("linux/maskedPaths", json!("/etc/masklink"));
    h.b.push("linux/maskedPaths", json!("/etc/masklink2"));
    h.b.push("linux/readonlyPaths", json!("/rolink"));
    h.check("maskedPaths/readonlyPaths through host symlinks", "/probe read /etc/masklink; /probe read /etc/masklink2; /probe write /rolink/pwned x");
    // The contents of the host file never reach the container.
    let o = h.ctx.sh(&mut h.b, "/probe read /etc/masklink; /probe read /etc/masklink2");
    assert!(!o.stdout.contains("host-secret"), "{o:?}");
    assert_eq!(fs::read_to_string(&secret).unwrap(), "host-secret");
}

#[test]
fn cwd_through_symlink_to_host() {
    let mut h = Hostile::new("hostcwd");
    // process.cwd through a symlink pointing at a host path stays in the container.
    let etc = h.host.join("etc");
    h.link("/work", etc.to_str().unwrap());
    h.b.set("process/cwd", json!("/work"));
    let ran = h.check("cwd -> absolute host path", "/probe cwd; /probe write ./pwned x");
    if ran {
        let o = h.ctx.sh(&mut h.b, "/probe read ./passwd");
        assert!(!o.stdout.contains("host-passwd"), "cwd escaped to the host: {o:?}");
    }
}
