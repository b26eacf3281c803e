//! The host's cgroup layout, derived once per process from one read of
//! /proc/self/mountinfo: which hierarchies are mounted under /sys/fs/cgroup and which
//! controllers each one carries. Replaces per-call discovery (a statfs of the root and of
//! every hierarchy, a directory listing, a stat per entry, /proc/self/cgroup) on the start
//! path. The clone of the container init inherits the cached description.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// One hierarchy mounted at /sys/fs/cgroup/<name> (or at /sys/fs/cgroup on a cgroup2 host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub path: PathBuf,
    /// cgroup v1 controllers bound to it (`cpu`, `memory`, ...); empty for a named
    /// hierarchy (name=systemd) and for cgroup2.
    pub controllers: Vec<String>,
    pub v2: bool,
    /// Mounted read-only (mount or superblock option `ro`): a hierarchy systemd did not
    /// delegate; the container gets no directory there.
    pub read_only: bool,
}

impl Hierarchy {
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// /sys/fs/cgroup itself is cgroup2 (no v1 hierarchies).
    pub unified: bool,
    pub hierarchies: Vec<Hierarchy>,
}

impl Layout {
    /// The v1 hierarchy that carries `controller`, if mounted.
    pub fn v1(&self, controller: &str) -> Option<&Hierarchy> {
        self.hierarchies.iter().find(|h| !h.v2 && h.has(controller))
    }
}

static LAYOUT: OnceLock<Result<Layout, String>> = OnceLock::new();
static NONE: Layout = Layout { unified: false, hierarchies: vec![] };

fn read() -> &'static Result<Layout, String> {
    LAYOUT.get_or_init(|| std::fs::read_to_string("/proc/self/mountinfo").map(|s| parse(&s)).map_err(|e| format!("/proc/self/mountinfo: {e}")))
}

/// The layout of this process's mount namespace, read once; the error if mountinfo could
/// not be read (never "no hierarchies": a hierarchy left out would leave the container at
/// its root there, and its directory unrecorded).
pub fn checked() -> Result<&'static Layout, String> {
    read().as_ref().map_err(Clone::clone)
}

/// Like [`checked`], for the paths where an unreadable layout already failed earlier in
/// this process (create checks it first) or where "none" is the safe answer.
pub fn layout() -> &'static Layout {
    read().as_ref().unwrap_or(&NONE)
}

const V1_CONTROLLERS: &[&str] =
    &["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb", "net_cls", "net_prio", "perf_event", "rdma", "misc"];

/// Builds the layout from mountinfo text. A later mount at the same place hides an earlier
/// one (a tmpfs over /sys/fs/cgroup/unified hides that cgroup2 tree); a mount on
/// /sys/fs/cgroup itself hides everything mounted below it before.
pub fn parse(mountinfo: &str) -> Layout {
    let root = Path::new(CGROUP_ROOT);
    // (mount point, fstype, super options, read-only), last mount per point wins.
    let mut mounts: Vec<(PathBuf, String, String, bool)> = vec![];
    for line in mountinfo.lines() {
        let mut it = line.split(' ');
        let Some(point) = it.nth(4) else { continue };
        let point = PathBuf::from(crate::mountinfo::unescape(point));
        if point != root && point.parent() != Some(root) {
            continue;
        }
        let ro = |opts: &str| opts.split(',').any(|o| o == "ro");
        let mount_ro = ro(it.next().unwrap_or(""));
        let mut rest = it.skip_while(|f| *f != "-");
        rest.next();
        let fstype = rest.next().unwrap_or("").to_string();
        let superopts = rest.nth(1).unwrap_or("").to_string();
        let read_only = mount_ro || ro(&superopts);
        if point == root {
            mounts.clear();
        } else {
            mounts.retain(|(p, ..)| *p != point);
        }
        mounts.push((point, fstype, superopts, read_only));
    }
    let mut l = Layout::default();
    if let Some((_, t, _, read_only)) = mounts.iter().find(|(p, ..)| p == root) {
        if t == "cgroup2" {
            l.unified = true;
            l.hierarchies.push(Hierarchy { path: root.to_path_buf(), controllers: vec![], v2: true, read_only: *read_only });
            return l;
        }
    }
    for (p, t, opts, read_only) in mounts {
        if p == root {
            continue;
        }
        match t.as_str() {
            "cgroup2" => l.hierarchies.push(Hierarchy { path: p, controllers: vec![], v2: true, read_only }),
            "cgroup" => {
                let controllers = opts.split(',').filter(|o| V1_CONTROLLERS.contains(o)).map(str::to_string).collect();
                l.hierarchies.push(Hierarchy { path: p, controllers, v2: false, read_only });
            }
            _ => {}
        }
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:5 - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 23 0:40 / /sys/fs/cgroupx rw - cgroup cgroup rw,pids
";

    #[test]
    fn hybrid() {
        let l = parse(HYBRID);
        assert!(!l.unified);
        let paths: Vec<_> = l.hierarchies.iter().map(|h| h.path.to_str().unwrap()).collect();
        assert_eq!(paths, ["/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"]);
        assert_eq!(l.v1("cpuacct").unwrap().path, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert!(l.v1("pids").is_none(), "a mount outside /sys/fs/cgroup is not used");
        assert!(l.hierarchies[3].controllers.is_empty(), "name=systemd carries no controller");
        assert_eq!(l.hierarchies.iter().find(|h| h.v2).unwrap().path, Path::new("/sys/fs/cgroup/unified"));
    }

    #[test]
    fn read_only_mounts_are_marked() {
        // As inside a systemd-nspawn machine: v1 controllers mounted ro, cgroup2 rw.
        let ro = "\
31 23 0:28 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
35 31 0:32 / /sys/fs/cgroup/memory ro,nosuid,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup ro,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
        let l = parse(ro);
        let marks: Vec<_> = l.hierarchies.iter().map(|h| (h.path.to_str().unwrap(), h.read_only)).collect();
        assert_eq!(marks, [("/sys/fs/cgroup/memory", true), ("/sys/fs/cgroup/pids", true), ("/sys/fs/cgroup/unified", false)]);
        assert!(parse(HYBRID).hierarchies.iter().all(|h| !h.read_only));
    }

    #[test]
    fn later_mounts_hide_earlier_ones() {
        let hidden = format!("{HYBRID}60 31 0:50 / /sys/fs/cgroup/unified rw - tmpfs ocirt-bench-cg rw,size=1024k\n");
        let l = parse(&hidden);
        assert!(l.hierarchies.iter().find(|h| h.v2).is_none());
        let over_root = format!("{HYBRID}61 23 0:51 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        let l = parse(&over_root);
        assert!(l.unified);
        assert_eq!(l.hierarchies.len(), 1);
        assert_eq!(l.hierarchies[0].path, Path::new(CGROUP_ROOT));
    }

    #[test]
    fn escapes_and_junk() {
        assert_eq!(parse("garbage\n\n1 2 3\n"), Layout::default());
    }
}
