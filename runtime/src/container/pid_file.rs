//! `--pid-file` of create, run and exec.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("--pid-file {path}: {source}")]
pub struct PidFileError {
    path: PathBuf,
    source: std::io::Error,
}

/// Written atomically (temp file + rename) so a manager polling it never reads a partial pid.
pub fn write(path: &Path, pid: i32) -> Result<(), PidFileError> {
    let tmp = path.with_extension("pid-tmp");
    std::fs::write(&tmp, pid.to_string()).map_err(|source| PidFileError { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, path).map_err(|source| PidFileError { path: path.to_path_buf(), source })
}
