//! The config `create` accepted, kept in the state directory (0600). Everything after create
//! that needs the container's config reads this (`exec`: seccomp, capabilities, Landlock and
//! the base process; `update`: the resources), never the bundle's config.json, which may
//! have been rewritten since. The hooks of start and delete come from the same accepted
//! config: create copies its `hooks` into state.json (state.rs), which those verbs read
//! anyway, so they cost no second file.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use oci_spec::runtime::Spec;

use crate::state::ContainerDir;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{path}: the config accepted at create (a container made by an older runtime has none: recreate it): {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: corrupt config snapshot: {source}")]
    Corrupt { path: PathBuf, source: serde_json::Error },
}

/// Written once, by create, before the init exists.
pub fn save(dir: &ContainerDir, spec: &Spec) -> Result<(), SnapshotError> {
    let path = dir.config_snapshot();
    let write = |path: &PathBuf| -> std::io::Result<()> {
        let data = serde_json::to_vec(spec).map_err(std::io::Error::other)?;
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?.write_all(&data)
    };
    write(&path).map_err(|source| SnapshotError::Write { path, source })
}

pub fn load(dir: &ContainerDir) -> Result<Spec, SnapshotError> {
    let path = dir.config_snapshot();
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(source) => return Err(SnapshotError::Read { path, source }),
    };
    serde_json::from_slice(&bytes).map_err(|source| SnapshotError::Corrupt { path, source })
}

/// Replaces the snapshot (`update` records the resources it applied): written beside it and
/// renamed over it, so a reader never sees half a config.
pub fn replace(dir: &ContainerDir, spec: &Spec) -> Result<(), SnapshotError> {
    let path = dir.config_snapshot();
    let tmp = path.with_extension("json.tmp");
    let write = || -> std::io::Result<()> {
        let data = serde_json::to_vec(spec).map_err(std::io::Error::other)?;
        let _ = std::fs::remove_file(&tmp);
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?.write_all(&data)?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|source| SnapshotError::Write { path: path.clone(), source })
}
