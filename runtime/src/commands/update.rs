//! `update`: change a live container's cgroup limits, from runc's flags or `-r FILE|-`
//! (container/update.rs).

use anyhow::{bail, Context};
use clap::Args;
use serde_json::{json, Map, Value};

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

pub fn run(cli: &Cli, a: &UpdateArgs) -> anyhow::Result<i32> {
    let change = match &a.resources {
        Some(src) => from_file(src)?,
        None => from_flags(a)?,
    };
    crate::container::update::update(&cli.root, &a.id, &change)?;
    Ok(0)
}

/// `-r FILE` or `-r -`: a linux.resources object; only the updatable sections.
fn from_file(src: &str) -> anyhow::Result<Value> {
    use crate::container::update::read_document;
    let (name, text) = if src == "-" {
        ("stdin".to_string(), read_document("stdin", std::io::stdin().lock())?)
    } else {
        (src.to_string(), read_document(src, std::fs::File::open(src).with_context(|| format!("-r {src}"))?)?)
    };
    Ok(crate::container::update::resources_from_json(&name, &text)?)
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
}
