//! `update`: change a live container's cgroup limits (runc's flags and `-r FILE|-`).
//!
//! The change is merged into the resources the container has now (the config snapshot in
//! its state directory, which earlier updates rewrote), applied through libcgroups to the
//! container's cgroup (v1, cgroup2 or hybrid: libcgroups picks), and only then recorded,
//! so a later `update` or `exec` starts from what is really in force.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::{json, Map, Value};

use libcgroups::common::{create_cgroup_manager, CgroupConfig, CgroupManager, ControllerOpt};
use oci_spec::runtime::{LinuxResources, Spec};

use crate::state::{ContainerDir, Status};
use crate::Cli;

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// Container id
    pub id: String,
    /// Read the resources (runtime-spec linux.resources JSON) from FILE, or stdin with `-`;
    /// the flags are then not used
    #[arg(short = 'r', long = "resources", value_name = "FILE|-")]
    pub resources: Option<String>,
    /// Block IO weight, 10..=1000
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period in microseconds
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota in microseconds per period (-1: none)
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(long = "cpu-share", alias = "cpu-shares")]
    pub cpu_share: Option<u64>,
    /// Realtime period in microseconds
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<u64>,
    /// Realtime runtime in microseconds per period
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPUs to run on (cpuset list, e.g. 0-1)
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes to use (cpuset list)
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Memory limit in bytes (k, m, g suffixes; -1: none)
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory + swap limit in bytes (-1: unlimited swap)
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Memory soft limit in bytes
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Obsolete (the kernel ignores kernel-memory limits since 5.4); accepted and ignored
    #[arg(long = "kernel-memory", hide = true)]
    pub kernel_memory: Option<String>,
    /// Obsolete; accepted and ignored
    #[arg(long = "kernel-memory-tcp", hide = true)]
    pub kernel_memory_tcp: Option<String>,
    /// Maximum number of pids (0 or -1: no limit)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
}

/// The sections `update` changes; the others (devices, hugepages, network, ...) are fixed
/// at create, and asking to change them is an error rather than a silent no-op.
const UPDATABLE: [&str; 4] = ["memory", "cpu", "pids", "blockIO"];

pub fn run(cli: &Cli, a: &UpdateArgs) -> anyhow::Result<i32> {
    let dir = ContainerDir::open(&cli.root, &a.id, true)?;
    let st = dir.load()?;
    if matches!(st.status(&dir), Status::Stopped) {
        bail!("container {} is stopped: there is no cgroup to update", a.id);
    }
    let snapshot = dir.config_snapshot();
    let mut spec: Spec = serde_json::from_slice(&std::fs::read(&snapshot).with_context(|| format!("read {}", snapshot.display()))?)
        .with_context(|| format!("{}: corrupt config snapshot", snapshot.display()))?;
    let linux = spec.linux().clone().unwrap_or_default();
    let mut current = serde_json::to_value(linux.resources().clone().unwrap_or_default())?;
    let change = match &a.resources {
        Some(src) => from_file(src, &current)?,
        None => from_flags(a)?,
    };
    merge(&mut current, &change);
    let merged: LinuxResources = serde_json::from_value(current).context("the merged resources")?;
    crate::cgroups::check_supported(&merged)?;
    apply(&st.cgroup_path, &a.id, &merged)?;
    let mut linux = linux;
    linux.set_resources(Some(merged));
    spec.set_linux(Some(linux));
    record(&snapshot, &spec)?;
    Ok(0)
}

/// `-r FILE` or `-r -`: a linux.resources object. Sections other than the updatable ones
/// must restate what is in force (`current`): containerd sends the container's whole
/// resources, device rules included, with only the limits changed.
fn from_file(src: &str, current: &Value) -> anyhow::Result<Value> {
    let (name, text) = if src == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("read resources from stdin")?;
        ("stdin".to_string(), s)
    } else {
        (src.to_string(), std::fs::read_to_string(src).with_context(|| format!("-r {src}"))?)
    };
    let mut v: Value = serde_json::from_str(&text).with_context(|| format!("{name}: not JSON"))?;
    if !v.is_object() {
        bail!("{name}: expected a linux.resources object, e.g. {{\"memory\":{{\"limit\":268435456}}}}");
    }
    // Typed once, so a wrong type names its field now rather than after the merge; the
    // typed form (re-serialised) is also what the fixed sections are compared in.
    let typed =
        serde_json::to_value(serde_json::from_value::<LinuxResources>(v.clone()).with_context(|| format!("{name}: not a valid linux.resources object"))?)?;
    let map = v.as_object_mut().expect("checked above");
    let fixed: Vec<String> = map.keys().filter(|k| !UPDATABLE.contains(&k.as_str())).cloned().collect();
    for k in fixed {
        if !same_section(typed.get(&k), current.get(&k)) {
            bail!("{name}: field `{k}`: cannot be updated on a live container (only {}): remove it, or give it as the container has it", UPDATABLE.join(", "));
        }
        map.remove(&k);
    }
    Ok(v)
}

/// Whether a fixed section restates what is in force; an absent section and an empty or
/// null one are the same (Go's encoders drop or keep empty lists as they please).
fn same_section(asked: Option<&Value>, have: Option<&Value>) -> bool {
    fn empty(v: Option<&Value>) -> bool {
        match v {
            None | Some(Value::Null) => true,
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Object(o)) => o.is_empty(),
            _ => false,
        }
    }
    (empty(asked) && empty(have)) || asked == have
}

fn from_flags(a: &UpdateArgs) -> anyhow::Result<Value> {
    let mut mem = Map::new();
    for (key, flag, v) in
        [("limit", "--memory", &a.memory), ("swap", "--memory-swap", &a.memory_swap), ("reservation", "--memory-reservation", &a.memory_reservation)]
    {
        if let Some(s) = v {
            mem.insert(key.into(), json!(parse_bytes(s).with_context(|| format!("{flag} {s:?}"))?));
        }
    }
    if a.kernel_memory.is_some() || a.kernel_memory_tcp.is_some() {
        crate::log::warn("--kernel-memory is obsolete (the kernel ignores it since 5.4): ignored");
    }
    let mut cpu = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            cpu.insert(k.into(), v);
        }
    };
    put("shares", a.cpu_share.map(|v| json!(v)));
    put("period", a.cpu_period.map(|v| json!(v)));
    put("quota", a.cpu_quota.map(|v| json!(v)));
    put("realtimePeriod", a.cpu_rt_period.map(|v| json!(v)));
    put("realtimeRuntime", a.cpu_rt_runtime.map(|v| json!(v)));
    put("cpus", a.cpuset_cpus.clone().map(Value::from));
    put("mems", a.cpuset_mems.clone().map(Value::from));
    let mut out = Map::new();
    if !mem.is_empty() {
        out.insert("memory".into(), Value::Object(mem));
    }
    if !cpu.is_empty() {
        out.insert("cpu".into(), Value::Object(cpu));
    }
    if let Some(l) = a.pids_limit {
        out.insert("pids".into(), json!({ "limit": l }));
    }
    if let Some(w) = a.blkio_weight {
        if !(10..=1000).contains(&w) {
            bail!("--blkio-weight {w}: the kernel takes 10..=1000");
        }
        out.insert("blockIO".into(), json!({ "weight": w }));
    }
    Ok(Value::Object(out))
}

/// "512m", "1G", "1048576", "-1" (runc's RAMInBytes: binary units).
fn parse_bytes(s: &str) -> anyhow::Result<i64> {
    let t = s.trim();
    if t == "-1" {
        return Ok(-1);
    }
    let lower = t.to_ascii_lowercase();
    let digits_end = lower.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(lower.len());
    let (num, unit) = lower.split_at(digits_end);
    let n: f64 = num.parse().map_err(|_| anyhow::anyhow!("not a size (use bytes, or k/m/g/t suffixes)"))?;
    let mult: f64 = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0f64.powi(4),
        _ => bail!("unknown unit {unit:?} (use k, m, g or t)"),
    };
    let v = n * mult;
    if !(0.0..=i64::MAX as f64).contains(&v) {
        bail!("out of range");
    }
    Ok(v as i64)
}

/// Objects merge key by key; anything else replaces.
fn merge(into: &mut Value, change: &Value) {
    match (into, change) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// Writes the updatable sections to the cgroup. Only those: re-applying device rules
/// would open a moment of deny-all for a running container, and nothing else changed.
fn apply(path: &Path, id: &str, res: &LinuxResources) -> anyhow::Result<()> {
    let mut only = LinuxResources::default();
    only.set_memory(*res.memory());
    only.set_cpu(res.cpu().clone());
    only.set_pids(*res.pids());
    only.set_block_io(res.block_io().clone());
    let mgr = create_cgroup_manager(CgroupConfig { cgroup_path: path.to_path_buf(), systemd_cgroup: false, container_name: id.to_string() })
        .map_err(|e| anyhow::anyhow!("cgroup {}: {e}", path.display()))?;
    // libcgroups rewrites memory.oom_control with every memory change: keep what the
    // container was created with.
    let disable_oom_killer = res.memory().and_then(|m| m.disable_oom_killer()).unwrap_or(false);
    let opt = ControllerOpt { resources: &only, disable_oom_killer, oom_score_adj: None, freezer_state: None };
    mgr.apply(&opt).map_err(|e| anyhow::anyhow!("cgroup {}: {e}", path.display()))
}

/// The snapshot is replaced atomically: a reader (exec, a concurrent update waiting on
/// the lock) sees the old or the new one, never half.
fn record(path: &Path, spec: &Spec) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("json.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp).with_context(|| format!("write {}", tmp.display()))?;
    f.write_all(&serde_json::to_vec(spec)?).with_context(|| format!("write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replace {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("1048576").unwrap(), 1 << 20);
        assert_eq!(parse_bytes("512m").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("2kb").unwrap(), 2048);
        assert_eq!(parse_bytes("-1").unwrap(), -1);
        assert!(parse_bytes("12x").is_err());
        assert!(parse_bytes("m").is_err());
    }

    #[test]
    fn fixed_sections_pass_only_when_unchanged() {
        let dir = std::env::temp_dir().join(format!("ocirt-update-test-{}", std::process::id()));
        let devs = json!([{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]);
        let typed_devs = serde_json::to_value(serde_json::from_value::<LinuxResources>(json!({"devices": devs})).unwrap()).unwrap();
        let current = json!({"devices": typed_devs["devices"].clone(), "memory": {"limit": 100}});
        let file = |v: Value| {
            std::fs::write(&dir, v.to_string()).unwrap();
            from_file(dir.to_str().unwrap(), &current)
        };
        // containerd's shape: the whole resources, devices as they are, a new limit.
        let v = file(json!({"devices": devs, "memory": {"limit": 200}, "hugepageLimits": []})).unwrap();
        assert_eq!(v, json!({"memory": {"limit": 200}}));
        // A different device rule is a change that cannot be made live: refused by name.
        let e = file(json!({"devices": [{"allow": true, "access": "rwm"}], "memory": {"limit": 200}})).unwrap_err().to_string();
        assert!(e.contains("field `devices`"), "{e}");
        let e = file(json!({"network": {"classID": 5}})).unwrap_err().to_string();
        assert!(e.contains("field `network`"), "{e}");
        std::fs::remove_file(&dir).unwrap();
    }

    #[test]
    fn merge_keeps_what_the_change_does_not_name() {
        let mut cur = json!({"memory": {"limit": 100, "disableOOMKiller": true}, "devices": [{"allow": false, "access": "rwm"}]});
        merge(&mut cur, &json!({"memory": {"limit": 200}, "pids": {"limit": 5}}));
        assert_eq!(cur, json!({"memory": {"limit": 200, "disableOOMKiller": true}, "devices": [{"allow": false, "access": "rwm"}], "pids": {"limit": 5}}));
    }
}
