//! Seccomp profiles: found by name in the profile directories, or given by
//! path, and embedded whole into config.json's `linux.seccomp`.
//!
//! Search order for a name: `$SPEC_GEN_PROFILES`, then
//! /usr/local/share/ocirt/seccomp-profiles, /usr/share/ocirt/seccomp-profiles (the Debian
//! package); after those, the shipped profiles as they were when the binary was built
//! (embedded), so an installed spec-gen works with nothing beside it. A profile file holds either the `linux.seccomp` object itself or a config
//! fragment `{"linux":{"seccomp":…}}`.

use serde_json::Value;
use std::path::{Path, PathBuf};

pub const BUILTIN: &[&str] = &["default", "strict", "udp", "unconfined"];
pub const INSTALLED_DIR: &str = "/usr/local/share/ocirt/seccomp-profiles";
pub const PACKAGE_DIR: &str = "/usr/share/ocirt/seccomp-profiles";

/// The shipped profiles as they were when this binary was built.
const EMBEDDED: &[(&str, &str)] = &[
    ("default", include_str!("../../seccomp-profiles/default.json")),
    ("strict", include_str!("../../seccomp-profiles/strict.json")),
    ("udp", include_str!("../../seccomp-profiles/udp.json")),
];
pub const SOURCE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../seccomp-profiles");

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("seccomp profile `{name}` was not found (looked for {name}.json in {searched})")]
    NotFound { name: String, searched: String },
    #[error("cannot read seccomp profile {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("seccomp profile {path} is not valid: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

impl SeccompError {
    pub fn fix(&self) -> &'static str {
        match self {
            SeccompError::NotFound { .. } => "install the profiles into /usr/local/share/ocirt/seccomp-profiles or point SPEC_GEN_PROFILES at their directory",
            SeccompError::Read { .. } => "check the file's path and permissions",
            SeccompError::Invalid { .. } => "the file must hold an OCI linux.seccomp object (with defaultAction) or {\"linux\":{\"seccomp\":{…}}}",
        }
    }
}

pub fn is_builtin(s: &str) -> bool {
    BUILTIN.contains(&s)
}

/// The directories searched for named profiles, in order.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("SPEC_GEN_PROFILES").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(d));
    }
    dirs.push(PathBuf::from(INSTALLED_DIR));
    dirs.push(PathBuf::from(PACKAGE_DIR));
    dirs
}

/// Picks the profile name: an explicit one wins, else `udp` when UDP is allowed.
pub fn choose(explicit: Option<&str>, udp: bool) -> String {
    match explicit {
        Some(s) => s.to_string(),
        None if udp => "udp".into(),
        None => "default".into(),
    }
}

/// Finds a named profile's file.
pub fn locate(name: &str) -> Result<PathBuf, SeccompError> {
    let dirs = search_dirs();
    for d in &dirs {
        let p = d.join(format!("{name}.json"));
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(SeccompError::NotFound { name: name.to_string(), searched: dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ") })
}

/// Loads a profile by name or path; `None` for "unconfined".
pub fn load(choice: &str, base: &Path) -> Result<Option<(PathBuf, Value)>, SeccompError> {
    if choice == "unconfined" {
        return Ok(None);
    }
    let embedded = EMBEDDED.iter().find(|(n, _)| *n == choice).map(|(_, t)| *t);
    let (path, text) = match (is_builtin(choice), locate(choice), embedded) {
        (true, Ok(p), _) => {
            let t = std::fs::read_to_string(&p).map_err(|e| SeccompError::Read { path: p.clone(), source: e })?;
            (p, t)
        }
        (true, Err(_), Some(t)) => (PathBuf::from(format!("{choice}.json, built into spec-gen")), t.to_string()),
        (true, Err(e), None) => return Err(e),
        (false, _, _) => {
            let p = crate::load::host_path(base, choice);
            let t = std::fs::read_to_string(&p).map_err(|e| SeccompError::Read { path: p.clone(), source: e })?;
            (p, t)
        }
    };
    let v: Value = serde_json::from_str(&text).map_err(|e| SeccompError::Invalid { path: path.clone(), reason: e.to_string() })?;
    let obj = extract(v).ok_or_else(|| SeccompError::Invalid { path: path.clone(), reason: "no defaultAction and no linux.seccomp object".into() })?;
    serde_json::from_value::<oci_spec::runtime::LinuxSeccomp>(obj.clone()).map_err(|e| SeccompError::Invalid { path: path.clone(), reason: e.to_string() })?;
    Ok(Some((path, obj)))
}

fn extract(v: Value) -> Option<Value> {
    if v.get("defaultAction").is_some() {
        return Some(v);
    }
    if let Some(s) = v.get("linux").and_then(|l| l.get("seccomp")) {
        return Some(s.clone());
    }
    v.get("seccomp").filter(|s| s.get("defaultAction").is_some()).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let bare = serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO"});
        assert_eq!(extract(bare.clone()), Some(bare.clone()));
        assert_eq!(extract(serde_json::json!({"linux": {"seccomp": bare.clone()}})), Some(bare));
        assert_eq!(extract(serde_json::json!({"x": 1})), None);
        assert_eq!(choose(None, true), "udp");
        assert_eq!(choose(None, false), "default");
        assert_eq!(choose(Some("strict"), true), "strict");
    }

    #[test]
    fn embedded_profiles_are_the_shipped_ones_and_load_without_files() {
        for (name, text) in EMBEDDED {
            let on_disk = std::fs::read_to_string(Path::new(SOURCE_DIR).join(format!("{name}.json"))).unwrap();
            assert_eq!(*text, on_disk, "{name}.json changed since the build");
        }
        // No profile directory holds it: the built-in copy is used.
        let dirs_have = |n: &str| search_dirs().iter().any(|d| d.join(format!("{n}.json")).is_file());
        if !dirs_have("strict") {
            let (path, v) = load("strict", Path::new("/")).unwrap().unwrap();
            assert!(path.display().to_string().contains("built into spec-gen"), "{}", path.display());
            assert!(v.get("defaultAction").is_some());
        }
    }
}
