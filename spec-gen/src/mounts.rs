//! The mount list: the standard kernel filesystems, tmpfs for /tmp and /run,
//! and what the description adds. Every mount gets nosuid; every mount but
//! /dev and /dev/pts (where device nodes must open) gets nodev; everything
//! writable gets noexec unless the description says `exec = true`.

use crate::description::Access;
use crate::load::{clean_container_path, Service};
use crate::oci::Mount;
use crate::rootpath::{Place, View};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("{location}: error: writable path {path} cannot be used: {reason}\n  fix: create the directory in the rootfs (mkdir -p {rootfs}{path}) or declare a [[filesystem.tmpfs]] there")]
    Writable { location: String, path: String, reason: String, rootfs: String },
    #[error(transparent)]
    Nested(#[from] NestedSource),
}

/// A bind source the container could redirect: inside a directory it can write.
#[derive(Debug, thiserror::Error)]
#[error("{location}: error: bind source {source_path} lies inside {outer}, which the container can write: it could replace {source_path} (or a directory on the way) by a symlink and have the runtime mount what that names\n  fix: use a source outside every read-write bind source and outside a writable rootfs (e.g. a sibling directory), or make {outer_what} read-only")]
pub struct NestedSource {
    pub location: String,
    pub source_path: String,
    pub outer: String,
    pub outer_what: String,
}

/// A host directory the container can write, and what makes it so (for messages).
#[derive(Debug, Clone)]
pub struct WritableSource {
    pub host: PathBuf,
    pub what: String,
}

/// The host path in the form used for comparison: resolved when it exists, so a second
/// name for the same directory (a host symlink) is recognised.
fn comparable(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The container-writable directory that holds `source` strictly inside it, if any.
pub fn writable_holder<'a>(source: &Path, writable: &'a [WritableSource]) -> Option<&'a WritableSource> {
    let src = comparable(source);
    writable.iter().find(|w| {
        let outer = comparable(&w.host);
        src != outer && (src.starts_with(&outer) || source.starts_with(&w.host) && source != w.host)
    })
}

/// The mounts and the container paths they make writable.
#[derive(Debug, Clone)]
pub struct MountPlan {
    pub mounts: Vec<Mount>,
    /// Writable container directories (tmpfs, rw binds, writable paths), sorted.
    pub writable: Vec<String>,
}

fn m(dest: &str, kind: &str, source: &str, opts: &[&str]) -> Mount {
    Mount { destination: dest.into(), kind: kind.into(), source: source.into(), options: opts.iter().map(|s| s.to_string()).collect() }
}

/// Mounts every container gets, in mount order.
pub fn standard() -> Vec<Mount> {
    vec![
        m("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        m("/dev", "tmpfs", "tmpfs", &["nosuid", "noexec", "strictatime", "mode=755", "size=65536k"]),
        m("/dev/pts", "devpts", "devpts", &["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        m("/dev/shm", "tmpfs", "shm", &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
        m("/dev/mqueue", "mqueue", "mqueue", &["nosuid", "noexec", "nodev"]),
        m("/sys", "sysfs", "sysfs", &["nosuid", "noexec", "nodev", "ro"]),
        m("/sys/fs/cgroup", "cgroup", "cgroup", &["nosuid", "noexec", "nodev", "relatime", "ro"]),
    ]
}

/// Container paths whose content is made at run time.
pub const OPAQUE: &[&str] = &["/proc", "/dev", "/sys", "/tmp", "/run"];

struct TmpfsSpec {
    path: String,
    mode: u32,
    uid: Option<u32>,
    gid: Option<u32>,
    size: Option<u64>,
    exec: bool,
}

fn tmpfs_mount(t: &TmpfsSpec) -> Mount {
    let mut opts = vec!["nosuid".to_string(), "nodev".to_string()];
    if !t.exec {
        opts.push("noexec".into());
    }
    opts.push(format!("mode={:o}", t.mode));
    if let Some(s) = t.size {
        opts.push(format!("size={s}"));
    }
    if let Some(u) = t.uid {
        opts.push(format!("uid={u}"));
    }
    if let Some(g) = t.gid {
        opts.push(format!("gid={g}"));
    }
    Mount { destination: t.path.clone(), kind: "tmpfs".into(), source: "tmpfs".into(), options: opts }
}

fn bind_mount(dest: &str, source: &str, rw: bool, exec: bool) -> Mount {
    let mut opts = vec!["bind", if rw { "rw" } else { "ro" }, "nosuid", "nodev"];
    if !exec {
        opts.push("noexec");
    }
    m(dest, "bind", source, &opts)
}

/// Finds a rootfs directory for `writable`, resolving symlinks inside the rootfs.
fn writable_dir(rootfs: &Path, path: &str) -> Result<(String, PathBuf), String> {
    let view = View::new(rootfs);
    let r = view.resolve(path, true).map_err(|e| e.to_string())?;
    match r.place {
        Place::Host(h) if h.is_dir() => Ok((r.container, h)),
        Place::Host(_) => Err(format!("{} is not a directory", r.container)),
        Place::Opaque(m) => Err(format!("it is below {m}, which is mounted at run time")),
    }
}

pub fn plan(svc: &Service) -> Result<MountPlan, MountError> {
    let d = &svc.desc;
    let mut extra: Vec<Mount> = Vec::new();
    let mut writable = vec!["/dev".to_string()];

    let mut tmpfs: Vec<TmpfsSpec> = vec![
        TmpfsSpec { path: "/tmp".into(), mode: 0o1777, uid: None, gid: None, size: None, exec: false },
        TmpfsSpec { path: "/run".into(), mode: 0o755, uid: None, gid: None, size: None, exec: false },
    ];
    for t in &d.filesystem.tmpfs {
        let path = clean_container_path(t.path.get_ref());
        let default_mode = if path == "/tmp" { 0o1777 } else { 0o755 };
        tmpfs.retain(|x| x.path != path);
        tmpfs.push(TmpfsSpec { path, mode: t.mode.map_or(default_mode, |m| m.0), uid: t.uid, gid: t.gid, size: t.size.map(|s| s.0), exec: t.exec });
    }
    for t in &tmpfs {
        extra.push(tmpfs_mount(t));
        writable.push(t.path.clone());
    }

    // Directories the container can write on the host: a writable rootfs, read-write
    // binds, the rootfs directories kept writable. No bind source may lie inside one.
    let mut rw_sources: Vec<WritableSource> = Vec::new();
    if !d.filesystem.readonly_root {
        rw_sources.push(WritableSource { host: svc.rootfs.clone(), what: "the rootfs (filesystem.readonly_root = false)".into() });
    }
    for b in d.binds.iter().filter(|b| b.mode == Access::Rw) {
        rw_sources.push(WritableSource { host: svc.host_path(b.source.get_ref()), what: format!("the read-write bind for {}", b.target.get_ref()) });
    }
    for w in &d.filesystem.writable {
        let p = clean_container_path(w.get_ref());
        rw_sources.push(WritableSource { host: svc.rootfs.join(p.trim_start_matches('/')), what: format!("filesystem.writable {p}") });
    }
    for b in &d.binds {
        let src = svc.host_path(b.source.get_ref());
        if let Some(w) = writable_holder(&src, &rw_sources) {
            return Err(NestedSource {
                location: svc.location(&b.source.span()),
                source_path: src.display().to_string(),
                outer: w.host.display().to_string(),
                outer_what: w.what.clone(),
            }
            .into());
        }
    }

    for b in &d.binds {
        let dest = clean_container_path(b.target.get_ref());
        let src = svc.host_path(b.source.get_ref());
        let rw = b.mode == Access::Rw;
        let exec = b.exec.unwrap_or(!rw);
        extra.push(bind_mount(&dest, &src.display().to_string(), rw, exec));
        if rw {
            writable.push(dest);
        }
    }

    for w in &d.filesystem.writable {
        let want = clean_container_path(w.get_ref());
        let (dest, host) = if svc.rootfs.is_dir() {
            writable_dir(&svc.rootfs, &want).map_err(|reason| MountError::Writable {
                location: svc.location(&w.span()),
                path: want.clone(),
                reason,
                rootfs: svc.rootfs.display().to_string(),
            })?
        } else {
            (want.clone(), svc.rootfs.join(want.trim_start_matches('/')))
        };
        extra.push(bind_mount(&dest, &host.display().to_string(), true, false));
        writable.push(dest);
    }

    if d.syslog {
        extra.push(bind_mount("/dev/log", "/dev/log", false, false));
    }

    extra.sort_by(|a, b| a.destination.cmp(&b.destination));
    let mut mounts = standard();
    mounts.extend(extra);

    if !d.filesystem.readonly_root {
        writable.push("/".into());
    }
    Ok(MountPlan { mounts, writable: minimal_cover(writable) })
}

/// Sorts, removes duplicates and paths already beneath another entry.
pub fn minimal_cover(mut paths: Vec<String>) -> Vec<String> {
    paths.sort();
    paths.dedup();
    let all = paths.clone();
    paths.retain(|p| !all.iter().any(|q| q != p && crate::rootpath::is_beneath(p, q)));
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_inside_writable_dirs_are_found() {
        let w = vec![WritableSource { host: "/srv/site".into(), what: "x".into() }];
        assert!(writable_holder(Path::new("/srv/site/uploads"), &w).is_some());
        assert!(writable_holder(Path::new("/srv/site"), &w).is_none());
        assert!(writable_holder(Path::new("/srv/site2"), &w).is_none());
        assert!(writable_holder(Path::new("/srv"), &w).is_none());
    }

    #[test]
    fn cover() {
        let v = minimal_cover(vec!["/run".into(), "/dev".into(), "/run/x".into(), "/tmp".into(), "/dev".into()]);
        assert_eq!(v, vec!["/dev", "/run", "/tmp"]);
        assert_eq!(minimal_cover(vec!["/a".into(), "/".into()]), vec!["/"]);
    }

    #[test]
    fn every_mount_is_nosuid_and_nodev_except_device_mounts() {
        for mnt in standard() {
            assert!(mnt.options.contains(&"nosuid".to_string()), "{}", mnt.destination);
            if mnt.destination != "/dev" && mnt.destination != "/dev/pts" {
                assert!(mnt.options.contains(&"nodev".to_string()), "{}", mnt.destination);
            }
        }
    }
}
