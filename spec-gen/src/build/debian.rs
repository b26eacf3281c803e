//! A Debian rootfs from a package list, with mmdebstrap (variant minbase).
//!
//! The mirror argument is the host's own apt sources file, so the host's
//! suites (updates, security) and mirrors are reused without naming one.

use super::lock::Lock;
use super::{BuildError, Built, Progress};
use crate::description::RootfsBuild;
use crate::load::Service;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

pub const SOURCES: &[&str] = &["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"];

fn host_codename() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines().find_map(|l| l.strip_prefix("VERSION_CODENAME=")).map(|v| v.trim_matches('"').to_string()).filter(|v| !v.is_empty())
}

fn valid_package(p: &str) -> bool {
    !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "+-.:=~_".contains(c)) && p.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// One installed package as dpkg sees it.
struct Installed {
    version: String,
    base: bool,
}

fn installed(root: &Path) -> Result<BTreeMap<String, Installed>, BuildError> {
    let admindir = root.join("var/lib/dpkg");
    let out = Command::new("dpkg-query")
        .arg(format!("--admindir={}", admindir.display()))
        .args(["-W", "-f", "${db:Status-Abbrev}\t${Package}\t${Version}\t${Priority}\t${Essential}\n"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(BuildError::io("cannot run dpkg-query", "install dpkg on the host"))?;
    if !out.status.success() {
        return Err(BuildError::Failed {
            message: format!("dpkg-query on {} failed ({})", admindir.display(), out.status),
            fix: "inspect the mmdebstrap output above".into(),
        });
    }
    let mut map = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() == 5 && f[0].starts_with("ii") {
            map.insert(f[1].to_string(), Installed { version: f[2].to_string(), base: f[3] == "required" || f[4] == "yes" });
        }
    }
    Ok(map)
}

pub fn build(svc: &Service, spec: &RootfsBuild, root: &Path, from_lock: Option<&Lock>) -> Result<Built, BuildError> {
    let mut progress = Progress::new(3);
    let sources = SOURCES.iter().find(|p| Path::new(p).is_file()).ok_or_else(|| BuildError::Failed {
        message: format!("the host has no apt sources file ({})", SOURCES.join(" or ")),
        fix: "configure apt on the host first".into(),
    })?;
    let suite = from_lock.and_then(|l| l.suite.clone()).or_else(|| spec.suite.clone()).or_else(host_codename).ok_or_else(|| BuildError::Failed {
        message: "no Debian suite given and the host's codename is unknown".into(),
        fix: "set rootfs_build.suite, e.g. \"bookworm\"".into(),
    })?;
    let requested: Vec<String> = match from_lock {
        Some(l) => l.requested.clone(),
        None => spec.packages.clone(),
    };
    let include: Vec<String> = match from_lock {
        Some(l) => l.packages.iter().map(|(p, v)| format!("{p}={v}")).collect(),
        None => spec.packages.clone(),
    };
    if let Some(bad) = include.iter().find(|p| !valid_package(p)) {
        return Err(BuildError::Failed {
            message: format!("`{bad}` is not a Debian package name"),
            fix: format!("correct rootfs_build.packages in {}", svc.file.display()),
        });
    }
    let epoch = from_lock
        .and_then(|l| l.source_date_epoch)
        .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()));

    progress.step(&format!("mmdebstrap {suite}: {} package(s) plus the minbase system", include.len()));
    let mut cmd = Command::new("mmdebstrap");
    cmd.arg("--variant=minbase").arg("--aptopt=Acquire::Languages \"none\"").env("SOURCE_DATE_EPOCH", epoch.to_string());
    if from_lock.is_some() {
        cmd.arg("--aptopt=APT::Get::allow-downgrades \"true\"");
    }
    if !include.is_empty() {
        cmd.arg(format!("--include={}", include.join(",")));
    }
    cmd.arg(&suite).arg(root).arg(sources);
    let status = cmd.status().map_err(BuildError::io("cannot run mmdebstrap", "install it on the host: apt-get install mmdebstrap"))?;
    if !status.success() {
        return Err(BuildError::Failed {
            message: format!("mmdebstrap failed ({status})"),
            fix: "read its output above; check the package names and the host's apt sources".into(),
        });
    }

    progress.step("reading the installed package list");
    let pkgs = installed(root)?;
    if let Some(l) = from_lock {
        let differ: Vec<String> = l.packages.iter().filter(|(p, v)| pkgs.get(*p).map(|i| &i.version) != Some(*v)).map(|(p, v)| format!("{p}={v}")).collect();
        if !differ.is_empty() {
            return Err(BuildError::Failed {
                message: format!("the rebuilt rootfs does not match the lock: {}", differ.join(", ")),
                fix: "the mirror no longer offers those versions; point the host's apt sources at a snapshot mirror".into(),
            });
        }
    }
    let wanted: BTreeSet<&str> = requested.iter().map(|p| p.split('=').next().unwrap_or(p)).collect();
    let mut base = Vec::new();
    let mut dependencies = Vec::new();
    for (name, i) in &pkgs {
        if wanted.contains(name.as_str()) {
            continue;
        }
        if i.base {
            base.push(name.clone());
        } else {
            dependencies.push(name.clone());
        }
    }
    progress.step("writing the lock");
    let arch =
        Command::new("dpkg").arg("--print-architecture").output().ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).filter(|s| !s.is_empty());
    Ok(Built {
        lock: Lock {
            kind: "debian".into(),
            suite: Some(suite),
            architecture: arch,
            source_date_epoch: Some(epoch),
            requested,
            busybox: None,
            packages: pkgs.into_iter().map(|(p, i)| (p, i.version)).collect(),
        },
        base,
        dependencies,
    })
}
