//! A busybox rootfs: the host's static busybox, one symlink per applet,
//! and minimal /etc/passwd and /etc/group.

use super::lock::{BusyboxLock, Lock};
use super::{mkdir, BuildError, Built, Progress};
use crate::description::RootfsBuild;
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

pub const DEFAULT_BUSYBOX: &str = "/bin/busybox";

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP: &str = "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n";

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Relative link from `dir/name` (rootfs-relative) to bin/busybox.
fn link_target(applet: &str) -> String {
    let depth = applet.matches('/').count();
    if applet.starts_with("bin/") && depth == 1 {
        "busybox".into()
    } else {
        format!("{}bin/busybox", "../".repeat(depth))
    }
}

pub fn build(spec: &RootfsBuild, root: &Path, from_lock: Option<&Lock>) -> Result<Built, BuildError> {
    let mut progress = Progress::new(3);
    let src = from_lock.and_then(|l| l.busybox.as_ref().map(|b| b.source.clone())).or_else(|| spec.busybox.clone()).unwrap_or_else(|| DEFAULT_BUSYBOX.into());
    progress.step(&format!("checking {src}"));
    let bytes = std::fs::read(&src).map_err(BuildError::io(
        format!("cannot read busybox at {src}"),
        "install busybox-static (apt-get install busybox-static) or set rootfs_build.busybox",
    ))?;
    let info = crate::lint::read_elf(Path::new(&src))
        .ok()
        .flatten()
        .ok_or_else(|| BuildError::Failed { message: format!("{src} is not an ELF program"), fix: "point rootfs_build.busybox at a busybox binary".into() })?;
    if info.interpreter.is_some() || !info.needed.is_empty() {
        return Err(BuildError::Failed {
            message: format!("{src} is dynamically linked, so it cannot run alone in a rootfs"),
            fix: "install busybox-static (apt-get install busybox-static), which replaces it with a static build".into(),
        });
    }
    let sha256 = sha256_hex(&bytes);
    if let Some(expected) = from_lock.and_then(|l| l.busybox.as_ref()) {
        if expected.sha256 != sha256 {
            return Err(BuildError::Failed {
                message: format!("{src} has sha256 {sha256}, but the lock file wants {}", expected.sha256),
                fix: format!("install busybox version {} or rebuild without --from-lock", expected.version),
            });
        }
    }
    let list = Command::new(&src)
        .arg("--list-full")
        .output()
        .map_err(BuildError::io(format!("cannot run {src} --list-full"), "check that busybox runs on this host"))?;
    let version = Command::new(&src)
        .arg("--help")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).lines().next().map(|l| l.trim().to_string()))
        .unwrap_or_default();

    progress.step("laying out the rootfs");
    for (dir, mode) in [
        ("/bin", 0o755),
        ("/sbin", 0o755),
        ("/usr/bin", 0o755),
        ("/usr/sbin", 0o755),
        ("/etc", 0o755),
        ("/proc", 0o555),
        ("/sys", 0o555),
        ("/dev", 0o755),
        ("/run", 0o755),
        ("/var", 0o755),
        ("/root", 0o700),
        ("/tmp", 0o1777),
    ] {
        mkdir(root, dir, mode)?;
    }
    let dest = root.join("bin/busybox");
    std::fs::write(&dest, &bytes).map_err(BuildError::io(format!("cannot write {}", dest.display()), "check the --output path"))?;
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755))
        .map_err(BuildError::io(format!("cannot chmod {}", dest.display()), "check the --output path"))?;

    progress.step("linking applets");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let applet = applet.trim().trim_end_matches('/');
        if !applet.contains('/') || applet == "bin/busybox" || applet.split('/').any(|c| c == ".." || c.is_empty()) {
            continue;
        }
        let link = root.join(applet);
        if std::fs::symlink_metadata(&link).is_ok() {
            continue;
        }
        if let Some(parent) = link.parent() {
            std::fs::create_dir_all(parent).map_err(BuildError::io(format!("cannot create {}", parent.display()), "check the --output path"))?;
        }
        std::os::unix::fs::symlink(link_target(applet), &link)
            .map_err(BuildError::io(format!("cannot create {}", link.display()), "check the --output path"))?;
    }
    for (name, text) in [("etc/passwd", PASSWD), ("etc/group", GROUP), ("etc/hosts", "127.0.0.1 localhost\n::1 localhost\n")] {
        std::fs::write(root.join(name), text).map_err(BuildError::io(format!("cannot write {name}"), "check the --output path"))?;
    }
    Ok(Built {
        lock: Lock {
            kind: "busybox".into(),
            suite: None,
            architecture: Some(std::env::consts::ARCH.into()),
            source_date_epoch: None,
            requested: Vec::new(),
            busybox: Some(BusyboxLock { source: src, sha256, version }),
            packages: Default::default(),
        },
        base: Vec::new(),
        dependencies: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::link_target;

    #[test]
    fn relative_links() {
        assert_eq!(link_target("bin/ls"), "busybox");
        assert_eq!(link_target("sbin/ip"), "../bin/busybox");
        assert_eq!(link_target("usr/bin/wget"), "../../bin/busybox");
    }
}
