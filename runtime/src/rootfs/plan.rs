//! The mount plan: every entry of `mounts` parsed and checked in the runtime, before clone.
//! A bad option, a missing bind source or an unsupported feature fails here, with the index
//! of the entry, and nothing has been touched yet.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount;

use super::RootfsError;

#[derive(Debug, Clone, PartialEq)]
pub enum MountKind {
    /// bind or rbind of a host path.
    Bind { recursive: bool },
    /// cgroup (v1 hierarchies) or cgroup2, set up to show the container's own cgroup.
    Cgroup,
    /// Any other filesystem type, mounted with mount(2).
    Fs,
}

#[derive(Debug, Clone)]
pub struct PlannedMount {
    pub index: usize,
    pub kind: MountKind,
    pub fstype: String,
    pub source: Option<PathBuf>,
    pub dest: PathBuf,
    /// MS_* flags for mount(2) (Fs kinds).
    pub flags: libc::c_ulong,
    /// MOUNT_ATTR_* to set / clear on the top mount, and recursively (rro, rnosuid, ...).
    pub attr_set: u64,
    pub attr_clr: u64,
    pub rattr_set: u64,
    pub rattr_clr: u64,
    /// MS_SHARED / MS_SLAVE / MS_PRIVATE / MS_UNBINDABLE, possibly with MS_REC.
    pub propagation: libc::c_ulong,
    pub data: String,
    /// The source is not a directory: the mount point must be a file.
    pub file_target: bool,
    /// Bind kinds: the source as a detached mount with the entry's attributes, made by the
    /// runtime before clone (sources.rs); the init only moves it into place.
    pub tree: Option<std::sync::Arc<std::os::fd::OwnedFd>>,
    /// `tmpcopyup` (tmpfs only): the new tmpfs starts with a copy of the directory it
    /// covers (copyup.rs).
    pub copyup: bool,
}

struct Opt {
    flag: libc::c_ulong,
    attr: u64,
    clear: bool,
}

/// Every flag-like mount option: (name, MS_* flag, MOUNT_ATTR_* attribute, clears it). The
/// planner and `features` both read this table, so what is advertised is what is accepted.
/// An option with an attribute also has a recursive form, "r" + name (rro, rnosuid, ...).
const FLAG_OPTIONS: &[(&str, libc::c_ulong, u64, bool)] = {
    use libc::*;
    &[
        ("ro", MS_RDONLY, MOUNT_ATTR_RDONLY, false),
        ("rw", MS_RDONLY, MOUNT_ATTR_RDONLY, true),
        ("nosuid", MS_NOSUID, MOUNT_ATTR_NOSUID, false),
        ("suid", MS_NOSUID, MOUNT_ATTR_NOSUID, true),
        ("nodev", MS_NODEV, MOUNT_ATTR_NODEV, false),
        ("dev", MS_NODEV, MOUNT_ATTR_NODEV, true),
        ("noexec", MS_NOEXEC, MOUNT_ATTR_NOEXEC, false),
        ("exec", MS_NOEXEC, MOUNT_ATTR_NOEXEC, true),
        ("noatime", MS_NOATIME, MOUNT_ATTR_NOATIME, false),
        ("atime", MS_NOATIME, MOUNT_ATTR_NOATIME, true),
        ("nodiratime", MS_NODIRATIME, MOUNT_ATTR_NODIRATIME, false),
        ("diratime", MS_NODIRATIME, MOUNT_ATTR_NODIRATIME, true),
        // MOUNT_ATTR_RELATIME is 0 (the atime field's default), so relatime has no
        // attribute to set and no recursive form here.
        ("relatime", MS_RELATIME, 0, false),
        ("norelatime", MS_RELATIME, 0, true),
        ("strictatime", MS_STRICTATIME, MOUNT_ATTR_STRICTATIME, false),
        ("nostrictatime", MS_STRICTATIME, MOUNT_ATTR_STRICTATIME, true),
        ("nosymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW, false),
        ("symfollow", 0, MOUNT_ATTR_NOSYMFOLLOW, true),
        ("sync", MS_SYNCHRONOUS, 0, false),
        ("async", MS_SYNCHRONOUS, 0, true),
        ("dirsync", MS_DIRSYNC, 0, false),
        ("mand", MS_MANDLOCK, 0, false),
        ("nomand", MS_MANDLOCK, 0, true),
        ("silent", MS_SILENT, 0, false),
        ("loud", MS_SILENT, 0, true),
        ("lazytime", MS_LAZYTIME, 0, false),
        ("nolazytime", MS_LAZYTIME, 0, true),
        ("iversion", MS_I_VERSION, 0, false),
        ("noiversion", MS_I_VERSION, 0, true),
    ]
};

const PROPAGATION_OPTIONS: &[(&str, libc::c_ulong)] = &[
    ("private", libc::MS_PRIVATE),
    ("rprivate", libc::MS_PRIVATE | libc::MS_REC),
    ("shared", libc::MS_SHARED),
    ("rshared", libc::MS_SHARED | libc::MS_REC),
    ("slave", libc::MS_SLAVE),
    ("rslave", libc::MS_SLAVE | libc::MS_REC),
    ("unbindable", libc::MS_UNBINDABLE),
    ("runbindable", libc::MS_UNBINDABLE | libc::MS_REC),
];

/// Options that are neither flags nor propagation, handled by name in `plan_one`.
const OTHER_OPTIONS: &[&str] = &["bind", "rbind", "defaults", "remount", "tmpcopyup"];

fn flag_opt(name: &str) -> Option<Opt> {
    FLAG_OPTIONS.iter().find(|(n, ..)| *n == name).map(|&(_, flag, attr, clear)| Opt { flag, attr, clear })
}

fn propagation_opt(name: &str) -> Option<libc::c_ulong> {
    PROPAGATION_OPTIONS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
}

/// Every mount option the planner accepts by name, sorted (for `features`). Filesystem data
/// options (size=, mode=, ...) are passed through to mount(2) and are not listed.
pub fn supported_options() -> Vec<String> {
    let mut v: Vec<String> = FLAG_OPTIONS
        .iter()
        .flat_map(|&(n, _, attr, _)| std::iter::once(n.to_string()).chain((attr != 0).then(|| format!("r{n}"))))
        .chain(PROPAGATION_OPTIONS.iter().map(|(n, _)| n.to_string()))
        .chain(OTHER_OPTIONS.iter().map(|n| n.to_string()))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Builds the plan. `bundle` anchors relative bind sources, as the runtime-spec says.
pub fn build(mounts: &[Mount], bundle: &Path) -> Result<Vec<PlannedMount>, RootfsError> {
    mounts.iter().enumerate().map(|(i, m)| plan_one(i, m, bundle)).collect()
}

fn plan_one(index: usize, m: &Mount, bundle: &Path) -> Result<PlannedMount, RootfsError> {
    let dest = m.destination().clone();
    let fail = |msg: String| RootfsError::Plan { index, dest: dest.display().to_string(), msg };
    let fstype = m.typ().clone().unwrap_or_default();
    let opts = m.options().clone().unwrap_or_default();
    let mut p = PlannedMount {
        index,
        kind: MountKind::Fs,
        fstype: fstype.clone(),
        source: m.source().clone(),
        dest: dest.clone(),
        flags: 0,
        attr_set: 0,
        attr_clr: 0,
        rattr_set: 0,
        rattr_clr: 0,
        propagation: 0,
        data: String::new(),
        file_target: false,
        tree: None,
        copyup: false,
    };
    let mut data = Vec::new();
    let mut bind = fstype == "bind";
    let mut recursive = false;
    for o in &opts {
        let o = o.as_str();
        if o == "bind" {
            bind = true;
        } else if o == "rbind" {
            bind = true;
            recursive = true;
        } else if o == "remount" || o == "defaults" || o.is_empty() {
            // "defaults" means no flags; "remount" has no meaning on a fresh mount.
        } else if o == "idmap" || o == "ridmap" {
            return Err(fail(format!("option {o:?}: idmapped mounts are not supported: remove it")));
        } else if o == "tmpcopyup" {
            p.copyup = true;
        } else if let Some(prop) = propagation_opt(o) {
            p.propagation = prop;
        } else if let Some(f) = flag_opt(o) {
            if f.clear {
                p.flags &= !f.flag;
                p.attr_set &= !f.attr;
                p.attr_clr |= f.attr;
            } else {
                p.flags |= f.flag;
                p.attr_set |= f.attr;
                p.attr_clr &= !f.attr;
            }
        } else if let Some(f) = o.strip_prefix('r').and_then(flag_opt).filter(|f| f.attr != 0) {
            // Recursive attributes (rro, rnosuid, rnoexec, ...) via mount_setattr(AT_RECURSIVE).
            if f.clear {
                p.rattr_set &= !f.attr;
                p.rattr_clr |= f.attr;
            } else {
                p.rattr_set |= f.attr;
                p.rattr_clr &= !f.attr;
            }
        } else {
            data.push(o.to_string());
        }
    }
    p.data = data.join(",");
    // The atime attributes are one field; clearing one means "relatime" unless another is set.
    if p.attr_set & libc::MOUNT_ATTR__ATIME != 0 {
        p.attr_clr |= libc::MOUNT_ATTR__ATIME;
    }
    if p.rattr_set & libc::MOUNT_ATTR__ATIME != 0 {
        p.rattr_clr |= libc::MOUNT_ATTR__ATIME;
    }
    if bind {
        p.kind = MountKind::Bind { recursive };
        let src = m.source().clone().ok_or_else(|| fail("a bind mount needs a source: set \"source\"".into()))?;
        // Opened (and its type learnt) by sources.rs, which does not follow a symlink the
        // container could have planted, as a plain stat here would.
        let src = if src.is_absolute() { src } else { bundle.join(src) };
        // Filesystem data (mode=755, size=1k: what a tmpfs entry carries, often copied into a
        // bind entry by generators) means nothing to a bind; mount(2) ignores it there, and
        // runc passes it along, so it is accepted and dropped. A bare word that is no flag
        // we know is most likely a misspelt one (nosiud): refused, since ignoring it would
        // silently drop the protection it was meant to ask for.
        if let Some(word) = data.iter().find(|d| !d.contains('=')) {
            return Err(fail(format!(
                "unknown mount option {word:?} for a bind mount (not a mount flag; filesystem data such as mode=755 is ignored for binds): fix or remove it"
            )));
        }
        if p.copyup {
            return Err(fail("option \"tmpcopyup\" applies to tmpfs mounts only, not to a bind mount: remove it".into()));
        }
        p.data.clear();
        p.source = Some(src);
    } else {
        match fstype.as_str() {
            "" => return Err(fail("missing \"type\": give the filesystem type (proc, sysfs, tmpfs, bind, ...)".into())),
            "cgroup" | "cgroup2" => p.kind = MountKind::Cgroup,
            _ => {}
        }
        if p.rattr_set != 0 || p.rattr_clr != 0 {
            // Fresh filesystems have no submounts: a recursive attribute is the plain one.
            p.attr_set |= p.rattr_set;
            p.attr_clr |= p.rattr_clr;
            p.flags |= attrs_to_flags(p.rattr_set);
        }
        if p.copyup && fstype != "tmpfs" {
            // runc ignores it on other types; a copy the config asked for and did not get
            // would leave the directory empty instead.
            return Err(fail(format!("option \"tmpcopyup\" applies to tmpfs mounts only, not {fstype:?}: remove it or make the entry a tmpfs")));
        }
        if !known_fs(&fstype) {
            return Err(fail(format!("filesystem type {fstype:?} is not available on this kernel (see /proc/filesystems)")));
        }
    }
    Ok(p)
}

fn attrs_to_flags(attr: u64) -> libc::c_ulong {
    let mut f = 0;
    if attr & libc::MOUNT_ATTR_RDONLY != 0 {
        f |= libc::MS_RDONLY;
    }
    if attr & libc::MOUNT_ATTR_NOSUID != 0 {
        f |= libc::MS_NOSUID;
    }
    if attr & libc::MOUNT_ATTR_NODEV != 0 {
        f |= libc::MS_NODEV;
    }
    if attr & libc::MOUNT_ATTR_NOEXEC != 0 {
        f |= libc::MS_NOEXEC;
    }
    f
}

fn known_fs(t: &str) -> bool {
    // Common types are known without reading /proc/filesystems (the start path is hot).
    if matches!(t, "proc" | "sysfs" | "tmpfs" | "devpts" | "mqueue" | "cgroup" | "cgroup2" | "bind" | "overlay" | "ramfs") {
        return true;
    }
    std::fs::read_to_string("/proc/filesystems").map(|s| s.lines().any(|l| l.split_whitespace().last() == Some(t))).unwrap_or(true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_advertised_option_is_accepted() {
        let bundle = std::path::Path::new("/");
        for o in super::supported_options() {
            let m = oci_spec::runtime::MountBuilder::default().destination("/mnt").typ("tmpfs").source("tmpfs").options(vec![o.clone()]).build().unwrap();
            let p = super::build(&[m], bundle).unwrap_or_else(|e| panic!("{o}: {e}"));
            assert!(p[0].data.is_empty(), "{o} was passed to mount(2) as data");
        }
        assert!(!super::supported_options().contains(&"rrelatime".to_string()));
    }

    use super::*;
    use oci_spec::runtime::MountBuilder;

    fn m(dest: &str, typ: &str, src: &str, opts: &[&str]) -> Mount {
        MountBuilder::default().destination(dest).typ(typ).source(src).options(opts.iter().map(|s| s.to_string()).collect::<Vec<_>>()).build().unwrap()
    }

    #[test]
    fn options_become_flags_data_and_attrs() {
        let p = build(&[m("/dev", "tmpfs", "tmpfs", &["nosuid", "strictatime", "mode=755", "size=65536k"])], Path::new("/")).unwrap();
        assert_eq!(p[0].flags, libc::MS_NOSUID | libc::MS_STRICTATIME);
        assert_eq!(p[0].data, "mode=755,size=65536k");
        let p = build(&[m("/x", "bind", "/tmp", &["rbind", "ro", "rnosuid", "rprivate"])], Path::new("/")).unwrap();
        assert_eq!(p[0].kind, MountKind::Bind { recursive: true });
        assert_eq!(p[0].attr_set, libc::MOUNT_ATTR_RDONLY);
        assert_eq!(p[0].rattr_set, libc::MOUNT_ATTR_NOSUID);
        assert_eq!(p[0].propagation, libc::MS_PRIVATE | libc::MS_REC);
        let p = build(&[m("/x", "none", "/tmp", &["bind", "rw", "ro", "rw"])], Path::new("/")).unwrap();
        assert_eq!(p[0].attr_set & libc::MOUNT_ATTR_RDONLY, 0);
    }

    #[test]
    fn bad_entries_fail_with_their_index() {
        let mut p = build(&[m("/a", "tmpfs", "tmpfs", &[]), m("/x", "bind", "/nonexistent-src", &["bind"])], Path::new("/")).unwrap();
        let e = crate::rootfs::sources::open_all(&mut p, Path::new("/nonexistent-root"), false).unwrap_err().to_string();
        assert!(e.starts_with("mounts[1] (/x)") && e.contains("/nonexistent-src") && e.contains("create it"), "{e}");
        let e = build(&[m("/x", "nosuchfs", "x", &[])], Path::new("/")).unwrap_err().to_string();
        assert!(e.contains("nosuchfs"), "{e}");
        let e = build(&[m("/x", "bind", "/tmp", &["idmap"])], Path::new("/")).unwrap_err().to_string();
        assert!(e.contains("idmap"), "{e}");
        // tmpcopyup copies into a fresh tmpfs; anywhere else it would be silently dropped.
        let e = build(&[m("/x", "bind", "/tmp", &["bind", "tmpcopyup"])], Path::new("/")).unwrap_err().to_string();
        assert!(e.starts_with("mounts[0] (/x)") && e.contains("tmpcopyup") && e.contains("bind"), "{e}");
        let e = build(&[m("/x", "proc", "proc", &["tmpcopyup"])], Path::new("/")).unwrap_err().to_string();
        assert!(e.contains("tmpcopyup") && e.contains("\"proc\""), "{e}");
        assert!(build(&[m("/x", "tmpfs", "tmpfs", &["tmpcopyup", "ro"])], Path::new("/")).unwrap()[0].copyup);
        let e = build(&[m("/x", "bind", "/tmp", &["bind", "nosiud"])], Path::new("/")).unwrap_err().to_string();
        assert!(e.starts_with("mounts[0] (/x)") && e.contains("\"nosiud\""), "{e}");
    }

    #[test]
    fn filesystem_data_on_a_bind_is_dropped_as_mount_2_would() {
        let p = build(&[m("/x", "bind", "/tmp", &["bind", "nosuid", "strictatime", "mode=755", "size=1k", "private"])], Path::new("/")).unwrap();
        assert_eq!(p[0].kind, MountKind::Bind { recursive: false });
        assert_eq!(p[0].data, "");
        assert_eq!(p[0].attr_set & libc::MOUNT_ATTR_NOSUID, libc::MOUNT_ATTR_NOSUID);
        assert_eq!(p[0].propagation, libc::MS_PRIVATE);
    }
}
