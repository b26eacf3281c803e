//! Events: runc's event stream, one JSON object per line.
//!
//! `{"type":"stats","id":ID,"data":{cpu,memory,pids,blkio,hugetlb,...}}` every interval
//! (once with --stats), and `{"type":"oom","id":ID}` each time the kernel's OOM killer acts
//! in the container's cgroup. The shapes and field names are runc's (types/events.go), so
//! tools written for runc's events read ours; statistics come from libcgroups.
//!
//! OOM kills are counted by the cgroup itself (v1 memory.oom_control, v2 memory.events:
//! `oom_kill N`); the counter is read on a short tick, so a kill is reported within
//! [`OOM_TICK`] and none is lost between reads. The stream ends when the container stops.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use libcgroups::common::{create_cgroup_manager, CgroupConfig, CgroupManager};
use libcgroups::stats::{BlkioDeviceStat, MemoryData, Stats};

use crate::output::OutputError;
use crate::state::{ContainerDir, StateError, Status};

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("container {0} is not running")]
    NotRunning(String),
    /// libcgroups' errors carry their cause as text.
    #[error("cgroup {}{what}: {msg}", path.display())]
    Cgroup { path: PathBuf, what: &'static str, msg: String },
    #[error(transparent)]
    Output(#[from] OutputError),
}

const OOM_TICK: Duration = Duration::from_millis(100);

/// Streams the container's events until it stops (`stats_once`: one statistics event).
pub fn events(root: &Path, id: &str, interval: Duration, stats_once: bool) -> Result<(), EventsError> {
    let dir = ContainerDir::open(root, id, false)?;
    let st = dir.load()?;
    if matches!(st.status(&dir), Status::Stopped) {
        return Err(EventsError::NotRunning(id.to_string()));
    }
    let mgr = create_cgroup_manager(CgroupConfig { cgroup_path: st.cgroup_path.clone(), systemd_cgroup: false, container_name: id.to_string() })
        .map_err(|e| EventsError::Cgroup { path: st.cgroup_path.clone(), what: "", msg: e.to_string() })?;
    let stats_event = || -> Result<String, EventsError> {
        let s = mgr.stats().map_err(|e| EventsError::Cgroup { path: st.cgroup_path.clone(), what: " statistics", msg: e.to_string() })?;
        Ok(format!("{}\n", json!({"type": "stats", "id": id, "data": runc_stats(&s)})))
    };
    if stats_once {
        crate::output::print(&stats_event()?)?;
        return Ok(());
    }
    // Unlocked while we watch: the container may be paused, updated or deleted meanwhile.
    drop(dir);
    let oom_file = oom_counter_file(&st.cgroup_path);
    let mut ooms = oom_file.as_deref().map(read_oom_kills).unwrap_or(0);
    let mut next_stats = Instant::now();
    loop {
        if !st.init_alive() {
            return Ok(());
        }
        if let Some(f) = &oom_file {
            let now = read_oom_kills(f);
            for _ in ooms..now {
                crate::output::print(&format!("{}\n", json!({"type": "oom", "id": id})))?;
            }
            ooms = ooms.max(now);
        }
        if Instant::now() >= next_stats {
            // A cgroup removed under us (delete) ends the stream, as the container did.
            match stats_event() {
                Ok(line) => crate::output::print(&line)?,
                Err(_) if !st.init_alive() => return Ok(()),
                Err(e) => return Err(e),
            }
            next_stats += interval;
        }
        std::thread::sleep(OOM_TICK.min(interval));
    }
}

/// The file whose `oom_kill N` line counts the container's OOM kills.
fn oom_counter_file(cgroup: &Path) -> Option<PathBuf> {
    let rel = cgroup.strip_prefix("/").unwrap_or(cgroup);
    let root = Path::new("/sys/fs/cgroup");
    [root.join("memory").join(rel).join("memory.oom_control"), root.join(rel).join("memory.events")].into_iter().find(|p| p.exists())
}

fn read_oom_kills(f: &Path) -> u64 {
    std::fs::read_to_string(f).ok().and_then(|s| s.lines().find_map(|l| l.strip_prefix("oom_kill ").and_then(|n| n.trim().parse().ok()))).unwrap_or(0)
}

/// runc's `omitempty`: zero numbers and empty lists are left out.
fn put(m: &mut Map<String, Value>, k: &str, v: u64) {
    if v != 0 {
        m.insert(k.into(), json!(v));
    }
}

fn put_list(m: &mut Map<String, Value>, k: &str, v: &[u64]) {
    if !v.is_empty() {
        m.insert(k.into(), json!(v));
    }
}

fn memory_entry(d: &MemoryData) -> Value {
    let mut m = Map::new();
    m.insert("limit".into(), json!(d.limit));
    put(&mut m, "usage", d.usage);
    put(&mut m, "max", d.max_usage);
    m.insert("failcnt".into(), json!(d.fail_count));
    Value::Object(m)
}

fn blkio_entries(v: &[BlkioDeviceStat]) -> Option<Value> {
    if v.is_empty() {
        return None;
    }
    Some(Value::Array(
        v.iter()
            .map(|e| {
                let mut m = Map::new();
                put(&mut m, "major", e.major);
                put(&mut m, "minor", e.minor);
                if let Some(op) = e.op_type.as_ref().filter(|o| !o.is_empty()) {
                    m.insert("op".into(), json!(op));
                }
                put(&mut m, "value", e.value);
                Value::Object(m)
            })
            .collect(),
    ))
}

/// libcgroups' statistics in runc's `types.Stats` shape.
fn runc_stats(s: &Stats) -> Value {
    let u = &s.cpu.usage;
    let mut usage = Map::new();
    put(&mut usage, "total", u.usage_total);
    put_list(&mut usage, "percpu", &u.per_core_usage_total);
    put_list(&mut usage, "percpu_kernel", &u.per_core_usage_kernel);
    put_list(&mut usage, "percpu_user", &u.per_core_usage_user);
    usage.insert("kernel".into(), json!(u.usage_kernel));
    usage.insert("user".into(), json!(u.usage_user));
    let t = &s.cpu.throttling;
    let mut throttling = Map::new();
    put(&mut throttling, "periods", t.periods);
    put(&mut throttling, "throttledPeriods", t.throttled_periods);
    put(&mut throttling, "throttledTime", t.throttled_time);

    let mut memory = Map::new();
    put(&mut memory, "cache", s.memory.cache);
    memory.insert("usage".into(), memory_entry(&s.memory.memory));
    memory.insert("swap".into(), memory_entry(&s.memory.memswap));
    memory.insert("kernel".into(), memory_entry(&s.memory.kernel));
    memory.insert("kernelTCP".into(), memory_entry(&s.memory.kernel_tcp));
    if !s.memory.stats.is_empty() {
        let raw: std::collections::BTreeMap<_, _> = s.memory.stats.iter().collect();
        memory.insert("raw".into(), json!(raw));
    }

    let mut pids = Map::new();
    put(&mut pids, "current", s.pids.current);
    put(&mut pids, "limit", s.pids.limit);

    let b = &s.blkio;
    let mut blkio = Map::new();
    for (k, v) in [
        ("ioServiceBytesRecursive", &b.service_bytes),
        ("ioServicedRecursive", &b.serviced),
        ("ioQueueRecursive", &b.queued),
        ("ioServiceTimeRecursive", &b.service_time),
        ("ioWaitTimeRecursive", &b.wait_time),
        ("ioMergedRecursive", &b.merged),
        ("ioTimeRecursive", &b.time),
        ("sectorsRecursive", &b.sectors),
    ] {
        if let Some(e) = blkio_entries(v) {
            blkio.insert(k.into(), e);
        }
    }

    let hugetlb: Map<String, Value> = s
        .hugetlb
        .iter()
        .map(|(size, h)| {
            let mut m = Map::new();
            put(&mut m, "usage", h.usage);
            put(&mut m, "max", h.max_usage);
            m.insert("failcnt".into(), json!(h.fail_count));
            (size.clone(), Value::Object(m))
        })
        .collect();

    json!({
        "cpu": {"usage": usage, "throttling": throttling},
        "cpuset": {},
        "memory": memory,
        "pids": pids,
        "blkio": blkio,
        "hugetlb": hugetlb,
        "intel_rdt": {},
        "network_interfaces": null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_have_runcs_field_names() {
        let mut s = Stats::default();
        s.cpu.usage.usage_total = 10;
        s.cpu.usage.per_core_usage_total = vec![4, 6];
        s.memory.memory.usage = 4096;
        s.memory.memory.limit = 8192;
        s.pids.current = 3;
        let v = runc_stats(&s);
        assert_eq!(v["cpu"]["usage"]["total"], 10);
        assert_eq!(v["cpu"]["usage"]["percpu"], json!([4, 6]));
        assert_eq!(v["cpu"]["usage"]["kernel"], 0, "kernel and user are always there");
        assert!(v["cpu"]["throttling"].as_object().unwrap().is_empty(), "zero counters are omitted");
        assert_eq!(v["memory"]["usage"], json!({"limit": 8192, "usage": 4096, "failcnt": 0}));
        assert_eq!(v["pids"], json!({"current": 3}));
    }
}
