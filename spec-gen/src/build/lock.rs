//! The lock file: exactly what a rootfs was built from, so that it can be
//! built again the same way.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot read lock file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("lock file {path} is not valid: {reason}")]
    Parse { path: String, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// "debian" or "busybox".
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// SOURCE_DATE_EPOCH the rootfs was built with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_date_epoch: Option<u64>,
    /// The description's package list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requested: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busybox: Option<BusyboxLock>,
    /// Every installed package and its exact version.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub packages: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusyboxLock {
    pub source: String,
    pub sha256: String,
    pub version: String,
}

impl Lock {
    pub fn read(path: &Path) -> Result<Lock, LockError> {
        let text = std::fs::read_to_string(path).map_err(|e| LockError::Read { path: path.display().to_string(), source: e })?;
        toml::from_str(&text).map_err(|e| LockError::Parse { path: path.display().to_string(), reason: e.to_string() })
    }

    pub fn to_text(&self) -> String {
        let body = toml::to_string(self).expect("lock serialises");
        format!("# spec-gen rootfs lock. Rebuild with: spec-gen rootfs SERVICE.toml --output DIR --from-lock THIS_FILE\n{body}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut l = Lock {
            kind: "debian".into(),
            suite: Some("bookworm".into()),
            architecture: Some("amd64".into()),
            source_date_epoch: Some(1),
            requested: vec!["busybox".into()],
            busybox: None,
            packages: BTreeMap::new(),
        };
        l.packages.insert("libc6".into(), "2.36-9+deb12u4".into());
        let t = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(t.path(), l.to_text()).unwrap();
        assert_eq!(Lock::read(t.path()).unwrap(), l);
    }
}
