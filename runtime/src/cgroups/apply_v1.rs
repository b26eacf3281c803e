//! `linux.resources` on cgroup v1 (and hybrid) hosts, written straight into the container's
//! directories: only the files the config sets, each opened once, the same files and
//! values libcgroups' v1 controllers write, in the same order within a controller.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxCpu, LinuxDeviceCgroup, LinuxMemory, LinuxResources};

use super::layout::{Hierarchy, Layout};
use super::CgroupError;

fn io_fail(dir: &Path, file: &str, what: &str, e: std::io::Error) -> CgroupError {
    CgroupError::Manager { path: dir.join(file), msg: format!("{what}: {e}") }
}

fn open_w(dir: &Path, file: &str) -> std::io::Result<File> {
    std::fs::OpenOptions::new().write(true).open(dir.join(file))
}

/// One value into one control file (open, write, close).
pub(super) fn write(dir: &Path, file: &str, data: &str) -> Result<(), CgroupError> {
    let mut f = open_w(dir, file).map_err(|e| io_fail(dir, file, "open", e))?;
    f.write_all(data.as_bytes()).map_err(|e| io_fail(dir, file, &format!("write {data:?}"), e))
}

/// Like [`write`], but a missing file is reported as `Ok(false)` (optional interface files).
fn write_if_present(dir: &Path, file: &str, data: &str) -> Result<bool, CgroupError> {
    match open_w(dir, file) {
        Ok(mut f) => f.write_all(data.as_bytes()).map(|()| true).map_err(|e| io_fail(dir, file, &format!("write {data:?}"), e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_fail(dir, file, "open", e)),
    }
}

fn missing(field: &str, ctl: &str) -> CgroupError {
    CgroupError::Unsupported(format!("{field} needs the {ctl} cgroup controller, which this host does not mount as cgroup v1: remove {field}"))
}

/// The container's directory in the hierarchy carrying `ctl`, or the error naming `field`.
fn dir_for(l: &Layout, rel: &Path, ctl: &str, field: &str) -> Result<PathBuf, CgroupError> {
    l.v1(ctl).map(|h| h.path.join(rel)).ok_or_else(|| missing(field, ctl))
}

/// Applies `res` to the container's cgroup `rel` (relative to each hierarchy root).
pub fn apply(l: &Layout, rel: &Path, res: &LinuxResources) -> Result<(), CgroupError> {
    if let Some(m) = res.memory() {
        memory(&dir_for(l, rel, "memory", "linux.resources.memory")?, m)?;
    }
    if let Some(cpu) = res.cpu() {
        cpu_v1(l, rel, cpu)?;
    }
    if let Some(p) = res.pids() {
        let v = if p.limit() > 0 { p.limit().to_string() } else { "max".to_string() };
        write(&dir_for(l, rel, "pids", "linux.resources.pids")?, "pids.max", &v)?;
    }
    if let Some(b) = res.block_io() {
        blkio(&dir_for(l, rel, "blkio", "linux.resources.blockIO")?, b)?;
    }
    if let Some(h) = res.hugepage_limits().as_ref().filter(|h| !h.is_empty()) {
        let dir = dir_for(l, rel, "hugetlb", "linux.resources.hugepageLimits")?;
        for lim in h {
            let digits: String = lim.page_size().chars().take_while(|c| c.is_ascii_digit()).collect();
            let ok = digits.parse::<u64>().is_ok_and(|n| n.is_power_of_two());
            if !ok {
                return Err(CgroupError::Unsupported(format!(
                    "linux.resources.hugepageLimits: page size {:?} is not a power of two with a unit (like \"2MB\"): fix pageSize",
                    lim.page_size()
                )));
            }
            let v = lim.limit().to_string();
            write(&dir, &format!("hugetlb.{}.limit_in_bytes", lim.page_size()), &v)?;
            write_if_present(&dir, &format!("hugetlb.{}.rsvd.limit_in_bytes", lim.page_size()), &v)?;
        }
    }
    if let Some(n) = res.network() {
        // Two controllers (often, not always, mounted together): each only when its field is set.
        if let Some(id) = n.class_id() {
            write(&dir_for(l, rel, "net_cls", "linux.resources.network.classID")?, "net_cls.classid", &id.to_string())?;
        }
        if let Some(p) = n.priorities() {
            let map: String = p.iter().map(|p| p.to_string()).collect();
            write(&dir_for(l, rel, "net_prio", "linux.resources.network.priorities")?, "net_prio.ifpriomap", map.trim())?;
        }
    }
    if let Some(d) = res.devices().as_ref().filter(|d| !d.is_empty()) {
        devices(&dir_for(l, rel, "devices", "linux.resources.devices")?, d)?;
    }
    Ok(())
}

fn memory(dir: &Path, m: &LinuxMemory) -> Result<(), CgroupError> {
    const LIMIT: &str = "memory.limit_in_bytes";
    const MEMSW: &str = "memory.memsw.limit_in_bytes";
    let limit = m.limit().unwrap_or(0);
    // A limit of -1 (unlimited) with no swap given lifts the swap limit too.
    let swap = m.swap().unwrap_or(if m.limit() == Some(-1) { -1 } else { 0 });
    let try_limit = |v: i64| -> std::io::Result<()> { open_w(dir, LIMIT)?.write_all(v.to_string().as_bytes()) };
    let limit_err = |v: i64, e: std::io::Error| {
        let hint = if e.raw_os_error() == Some(libc::EBUSY) { " (the container already uses more: raise linux.resources.memory.limit)" } else { "" };
        io_fail(dir, LIMIT, &format!("write {v}{hint}"), e)
    };
    // memory+swap may never be below memory: the order of the two writes depends on
    // whether the limits go up or down, so memory goes first, and second after EINVAL.
    match (limit != 0, swap != 0) {
        (true, true) if swap == -1 => {
            write(dir, MEMSW, "-1")?;
            try_limit(limit).map_err(|e| limit_err(limit, e))?;
        }
        (true, true) => match try_limit(limit) {
            Ok(()) => write(dir, MEMSW, &swap.to_string())?,
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                write(dir, MEMSW, &swap.to_string())?;
                try_limit(limit).map_err(|e| limit_err(limit, e))?;
            }
            Err(e) => return Err(limit_err(limit, e)),
        },
        (true, false) => try_limit(limit).map_err(|e| limit_err(limit, e))?,
        (false, true) => write(dir, MEMSW, &swap.to_string())?,
        (false, false) => {}
    }
    if let Some(r) = m.reservation().filter(|r| *r != 0) {
        write(dir, "memory.soft_limit_in_bytes", &r.to_string())?;
    }
    // A new memory cgroup inherits its parent's setting: state it, as libcgroups did.
    write(dir, "memory.oom_control", if m.disable_oom_killer() == Some(true) { "1" } else { "0" })?;
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(CgroupError::Unsupported(format!("linux.resources.memory.swappiness {s} is out of range: give 0 to 100")));
        }
        write(dir, "memory.swappiness", &s.to_string())?;
    }
    #[allow(deprecated)]
    if let Some(k) = m.kernel() {
        write(dir, "memory.kmem.limit_in_bytes", &k.to_string())?;
    }
    if let Some(k) = m.kernel_tcp() {
        write(dir, "memory.kmem.tcp.limit_in_bytes", &k.to_string())?;
    }
    Ok(())
}

/// Whether `c` sets a file of the cpu controller (the rest of it is cpuset's).
pub fn needs_cpu(c: &LinuxCpu) -> bool {
    c.shares().is_some()
        || c.period().is_some()
        || c.quota().is_some()
        || c.burst().is_some()
        || c.realtime_period().is_some()
        || c.realtime_runtime().is_some()
        || c.idle().is_some()
}

fn cpu_v1(l: &Layout, rel: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    let nz = |v: Option<u64>| v.filter(|v| *v != 0).map(|v| v.to_string());
    let nzi = |v: Option<i64>| v.filter(|v| *v != 0).map(|v| v.to_string());
    let files: [(&str, Option<String>); 7] = [
        ("cpu.shares", nz(c.shares())),
        ("cpu.cfs_period_us", nz(c.period())),
        ("cpu.cfs_quota_us", nzi(c.quota())),
        ("cpu.cfs_burst_us", c.burst().map(|v| v.to_string())),
        ("cpu.rt_runtime_us", nzi(c.realtime_runtime())),
        ("cpu.rt_period_us", nz(c.realtime_period())),
        ("cpu.idle", c.idle().map(|v| v.to_string())),
    ];
    if needs_cpu(c) {
        let dir = dir_for(l, rel, "cpu", "linux.resources.cpu")?;
        for (file, v) in files.iter() {
            if let Some(v) = v {
                write(&dir, file, v)?;
            }
        }
    }
    if c.cpus().is_some() || c.mems().is_some() {
        let h = l.v1("cpuset").ok_or_else(|| missing("linux.resources.cpu.cpus/mems", "cpuset"))?;
        let dir = h.path.join(rel);
        // The kernel takes only a subset of the parent's cpus and mems (EACCES otherwise), and
        // a parent this create made (`testdir/x/ctr`) is still empty: fill the parents first.
        if let Some(parent) = dir.parent().filter(|p| p.starts_with(&h.path)) {
            for (file, set) in [("cpuset.cpus", c.cpus().is_some()), ("cpuset.mems", c.mems().is_some())] {
                if set {
                    inherit(&h.path, parent, file, &|_| false)?;
                }
            }
        }
        if let Some(v) = c.cpus() {
            write(&dir, "cpuset.cpus", v)?;
        }
        if let Some(v) = c.mems() {
            write(&dir, "cpuset.mems", v)?;
        }
    }
    Ok(())
}

fn blkio(dir: &Path, b: &oci_spec::runtime::LinuxBlockIo) -> Result<(), CgroupError> {
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        // CFQ's file, else BFQ's (newer kernels have only the latter).
        if !write_if_present(dir, "blkio.weight", &w.to_string())? {
            write(dir, "blkio.bfq.weight", &w.to_string())?;
        }
    }
    let lists = [
        ("blkio.throttle.read_bps_device", b.throttle_read_bps_device()),
        ("blkio.throttle.write_bps_device", b.throttle_write_bps_device()),
        ("blkio.throttle.read_iops_device", b.throttle_read_iops_device()),
        ("blkio.throttle.write_iops_device", b.throttle_write_iops_device()),
    ];
    for (file, list) in lists {
        for t in list.iter().flatten() {
            write(dir, file, &format!("{}:{} {}", t.major(), t.minor(), t.rate()))?;
        }
    }
    Ok(())
}

/// Devices that stay usable whatever the config's rules (after them, as libcgroups and
/// runc add them): mknod of any node, the standard character devices, /dev/console,
/// ptys and tun.
const DEFAULT_ALLOW: &[&str] = &[
    "c 1:3 rwm",
    "c 1:5 rwm",
    "c 1:7 rwm",
    "c 5:0 rwm",
    "c 1:9 rwm",
    "c 1:8 rwm",
    "c *:* m",
    "b *:* m",
    "c 5:1 rwm",
    "c 136:* rwm",
    "c 5:2 rwm",
    "c 10:200 rwm",
];

/// The config's rules in order, then the defaults: devices.allow and devices.deny are each
/// opened once and take one rule per write.
fn devices(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    let mut allow: Option<File> = None;
    let mut deny: Option<File> = None;
    let mut put = |is_allow: bool, rule: &str| -> Result<(), CgroupError> {
        let (slot, file) = if is_allow { (&mut allow, "devices.allow") } else { (&mut deny, "devices.deny") };
        if slot.is_none() {
            *slot = Some(open_w(dir, file).map_err(|e| io_fail(dir, file, "open", e))?);
        }
        let f = slot.as_mut().expect("opened above");
        f.write_all(rule.as_bytes()).map_err(|e| io_fail(dir, file, &format!("write {rule:?}"), e))
    };
    for r in rules {
        put(r.allow(), &r.to_string())?;
    }
    for r in DEFAULT_ALLOW {
        put(true, r)?;
    }
    Ok(())
}

/// Gives a new cpuset cgroup (and each new parent) its parent's cpus and mems: the kernel
/// refuses a task in a cpuset whose cpus or mems are empty.
pub fn fill_cpuset(h: &Hierarchy, dir: &Path, res: &LinuxResources, fresh: &dyn Fn(&Path) -> bool) -> Result<(), CgroupError> {
    let cpu = res.cpu().as_ref();
    for (file, set) in [("cpuset.cpus", cpu.is_some_and(|c| c.cpus().is_some())), ("cpuset.mems", cpu.is_some_and(|c| c.mems().is_some()))] {
        if !set {
            inherit(&h.path, dir, file, fresh)?;
        }
    }
    Ok(())
}

fn inherit(root: &Path, dir: &Path, file: &str, fresh: &dyn Fn(&Path) -> bool) -> Result<String, CgroupError> {
    if !fresh(dir) {
        let v = super::read_small(&dir.join(file)).map_err(|e| io_fail(dir, file, "read", e))?;
        if !v.trim().is_empty() {
            return Ok(v);
        }
    }
    let parent = match dir.parent() {
        Some(p) if dir != root && p.starts_with(root) => p,
        _ => return Err(CgroupError::Manager { path: dir.join(file), msg: "empty at the hierarchy root: the host's cpuset is unusable".into() }),
    };
    let pv = inherit(root, parent, file, fresh)?;
    write(dir, file, pv.trim())?;
    Ok(pv)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refusal names the field whose controller is missing: cpu.cpus and cpu.mems are
    /// cpuset's, network.classID net_cls's and network.priorities net_prio's.
    #[test]
    fn each_field_is_named_with_its_own_controller() {
        let needed = |v: serde_json::Value| -> Vec<(&'static str, &'static str)> {
            let res: LinuxResources = serde_json::from_value(v).unwrap();
            crate::cgroups::controllers_needed(&res).collect()
        };
        assert_eq!(needed(serde_json::json!({"cpu": {"cpus": "0"}})), [("cpuset", "linux.resources.cpu.cpus")]);
        assert_eq!(needed(serde_json::json!({"cpu": {"mems": "0"}})), [("cpuset", "linux.resources.cpu.mems")]);
        assert_eq!(needed(serde_json::json!({"cpu": {"shares": 512, "cpus": "0"}})), [("cpu", "linux.resources.cpu"), ("cpuset", "linux.resources.cpu.cpus")]);
        assert_eq!(needed(serde_json::json!({"cpu": {"burst": 1000}})), [("cpu", "linux.resources.cpu")]);
        // Control: an empty cpu object still asks for the cpu controller, as before.
        assert_eq!(needed(serde_json::json!({"cpu": {}})), [("cpu", "linux.resources.cpu")]);
        assert_eq!(
            needed(serde_json::json!({"network": {"priorities": [{"name": "eth0", "priority": 1}]}})),
            [("net_prio", "linux.resources.network.priorities")]
        );
        assert_eq!(needed(serde_json::json!({"network": {"classID": 1}})), [("net_cls", "linux.resources.network.classID")]);
        assert_eq!(needed(serde_json::json!({"pids": {"limit": 5}})), [("pids", "linux.resources.pids")]);
    }

    /// A scratch directory removed however the test ends (a failed assertion unwinds
    /// through this).
    struct Cleanup(std::path::PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn resources_go_to_the_files_the_config_names_only() {
        let base = std::env::temp_dir().join(format!("ocirt-cg-apply-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let mem = base.join("memory");
        let pids = base.join("pids");
        let cpu = base.join("cpu,cpuacct");
        let devs = base.join("devices");
        for d in [&mem, &pids, &cpu, &devs] {
            std::fs::create_dir_all(d.join("c")).unwrap();
        }
        for (d, f) in [
            (&mem, "memory.limit_in_bytes"),
            (&mem, "memory.oom_control"),
            (&pids, "pids.max"),
            (&cpu, "cpu.shares"),
            (&cpu, "cpu.cfs_quota_us"),
            (&cpu, "cpu.cfs_period_us"),
            (&devs, "devices.allow"),
            (&devs, "devices.deny"),
        ] {
            std::fs::write(d.join("c").join(f), "").unwrap();
        }
        let h = |p: &Path, c: &[&str]| Hierarchy { path: p.to_path_buf(), controllers: c.iter().map(|s| s.to_string()).collect(), v2: false, read_only: false };
        let l = Layout { unified: false, hierarchies: vec![h(&mem, &["memory"]), h(&pids, &["pids"]), h(&cpu, &["cpu", "cpuacct"]), h(&devs, &["devices"])] };
        let res: LinuxResources = serde_json::from_value(serde_json::json!({
            "memory": {"limit": 1048576},
            "pids": {"limit": 0},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000},
            "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}]
        }))
        .unwrap();
        apply(&l, Path::new("c"), &res).unwrap();
        let rd = |d: &Path, f: &str| std::fs::read_to_string(d.join("c").join(f)).unwrap();
        assert_eq!(rd(&mem, "memory.limit_in_bytes"), "1048576");
        assert_eq!(rd(&mem, "memory.oom_control"), "0");
        assert_eq!(rd(&pids, "pids.max"), "max");
        assert_eq!(rd(&cpu, "cpu.shares"), "512");
        assert_eq!(rd(&cpu, "cpu.cfs_quota_us"), "50000");
        // Plain files append: every rule of the config, then the defaults, in order.
        assert_eq!(rd(&devs, "devices.deny"), "a *:* rwm");
        assert_eq!(rd(&devs, "devices.allow"), format!("c 1:3 rw{}", DEFAULT_ALLOW.concat()));
        // A resource whose controller is not mounted fails with its field named.
        let e = apply(&l, Path::new("c"), &serde_json::from_value(serde_json::json!({"blockIO": {"weight": 10}})).unwrap()).unwrap_err().to_string();
        assert!(e.contains("linux.resources.blockIO") && e.contains("blkio"), "{e}");
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn cpuset_is_filled_from_the_nearest_parent_that_has_one() {
        let base = std::env::temp_dir().join(format!("ocirt-cg-cpuset-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let _cleanup = Cleanup(base.clone());
        let leaf = base.join("p/c");
        std::fs::create_dir_all(&leaf).unwrap();
        for (d, v) in [(&base, "0-1\n"), (&base.join("p"), ""), (&leaf, "")] {
            std::fs::write(d.join("cpuset.cpus"), v).unwrap();
            std::fs::write(d.join("cpuset.mems"), if v.is_empty() { "" } else { "0\n" }).unwrap();
        }
        let h = Hierarchy { path: base.clone(), controllers: vec!["cpuset".into()], v2: false, read_only: false };
        fill_cpuset(&h, &leaf, &LinuxResources::default(), &|_| false).unwrap();
        assert_eq!(std::fs::read_to_string(leaf.join("cpuset.cpus")).unwrap(), "0-1");
        assert_eq!(std::fs::read_to_string(base.join("p/cpuset.mems")).unwrap(), "0");
        std::fs::write(base.join("cpuset.mems"), "").unwrap();
        std::fs::write(leaf.join("cpuset.mems"), "").unwrap();
        std::fs::write(base.join("p/cpuset.mems"), "").unwrap();
        assert!(fill_cpuset(&h, &leaf, &LinuxResources::default(), &|_| false).is_err(), "an empty root is an error, not an empty cpuset");
        // Directories this create made are written without being read.
        std::fs::write(base.join("cpuset.mems"), "0\n").unwrap();
        // (plain files are not truncated by a write; a one-byte stale value is overwritten whole)
        std::fs::write(leaf.join("cpuset.cpus"), "x").unwrap();
        let made = [base.join("p"), leaf.clone()];
        fill_cpuset(&h, &leaf, &LinuxResources::default(), &|d: &Path| made.iter().any(|m| m == d)).unwrap();
        assert_eq!(std::fs::read_to_string(leaf.join("cpuset.cpus")).unwrap(), "0-1");
        std::fs::remove_dir_all(&base).unwrap();
    }
    #[test]
    fn a_cpuset_limit_fills_the_new_parents_first() {
        let base = std::env::temp_dir().join(format!("ocirt-cg-cpuset-limit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let _cleanup = Cleanup(base.clone());
        let leaf = base.join("testdir/x/c");
        std::fs::create_dir_all(&leaf).unwrap();
        for d in [base.clone(), base.join("testdir"), base.join("testdir/x"), leaf.clone()] {
            let root = d == base;
            std::fs::write(d.join("cpuset.cpus"), if root { "0-1\n" } else { "" }).unwrap();
            std::fs::write(d.join("cpuset.mems"), if root { "0\n" } else { "" }).unwrap();
        }
        let l = Layout { unified: false, hierarchies: vec![Hierarchy { path: base.clone(), controllers: vec!["cpuset".into()], v2: false, read_only: false }] };
        // Only cpus is set: the parents get the root's cpus (the kernel refuses "1" under an
        // empty parent); their mems are left to the fill that follows the create.
        let res: LinuxResources = serde_json::from_value(serde_json::json!({"cpu": {"cpus": "1"}})).unwrap();
        apply(&l, Path::new("testdir/x/c"), &res).unwrap();
        let rd = |d: &str, f: &str| std::fs::read_to_string(base.join(d).join(f)).unwrap();
        assert_eq!(rd("testdir", "cpuset.cpus"), "0-1");
        assert_eq!(rd("testdir/x", "cpuset.cpus"), "0-1");
        assert_eq!(rd("testdir/x/c", "cpuset.cpus"), "1");
        assert_eq!(rd("testdir/x", "cpuset.mems"), "");
    }
}
