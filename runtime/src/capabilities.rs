//! Capability sets exactly as `process.capabilities` says, in an order the kernel accepts.
//!
//! - The bounding set is dropped first, while we still hold CAP_SETPCAP.
//! - The uid switch happens between `drop_bounding` and `apply` with keep-caps set, so a
//!   non-root user keeps the permitted set the config grants (setresuid would clear it).
//! - Inheritable, then effective before permitted: shrinking permitted below the current
//!   effective set fails with EPERM.
//! - Ambient last: it must be a subset of permitted ∩ inheritable.

use caps::{CapSet, CapsHashSet, Capability as Cap};
use oci_spec::runtime::{Capabilities, LinuxCapabilities};

#[derive(Debug, thiserror::Error)]
pub enum CapsError {
    #[error("process.capabilities.{set}: {cap}: not known to this kernel or library")]
    Unknown { set: &'static str, cap: String },
    #[error("process.capabilities.{set}: {source}")]
    Apply { set: &'static str, source: caps::errors::CapsError },
}

/// Converts one OCI set; an unknown name is an error naming the field.
fn convert(set: &'static str, c: &Option<Capabilities>) -> Result<CapsHashSet, CapsError> {
    let mut out = CapsHashSet::new();
    for cap in c.iter().flatten() {
        // oci-spec displays CAP_SYS_ADMIN as "SYS_ADMIN"; caps parses "CAP_SYS_ADMIN".
        let name = format!("CAP_{cap}");
        let parsed: Cap = name.parse().map_err(|_| CapsError::Unknown { set, cap: name.clone() })?;
        out.insert(parsed);
    }
    Ok(out)
}

/// The five sets, converted up front (in the runtime, before clone).
pub struct CapPlan {
    bounding: CapsHashSet,
    effective: CapsHashSet,
    permitted: CapsHashSet,
    inheritable: CapsHashSet,
    ambient: CapsHashSet,
}

impl CapPlan {
    /// No `capabilities` object means no capabilities at all (fail closed), as in runc.
    pub fn from_config(c: Option<&LinuxCapabilities>) -> Result<CapPlan, CapsError> {
        let none = LinuxCapabilities::default();
        let c = c.unwrap_or(&none);
        Ok(CapPlan {
            bounding: convert("bounding", c.bounding())?,
            effective: convert("effective", c.effective())?,
            permitted: convert("permitted", c.permitted())?,
            inheritable: convert("inheritable", c.inheritable())?,
            ambient: convert("ambient", c.ambient())?,
        })
    }

    /// Step 1, before the uid switch.
    pub fn drop_bounding(&self) -> Result<(), CapsError> {
        let current = caps::read(None, CapSet::Bounding).map_err(|source| CapsError::Apply { set: "bounding", source })?;
        for cap in current.difference(&self.bounding) {
            caps::drop(None, CapSet::Bounding, *cap).map_err(|source| CapsError::Apply { set: "bounding", source })?;
        }
        Ok(())
    }

    /// Step 2, after the uid switch.
    pub fn apply(&self) -> Result<(), CapsError> {
        let e = |set| move |source| CapsError::Apply { set, source };
        caps::set(None, CapSet::Inheritable, &self.inheritable).map_err(e("inheritable"))?;
        caps::set(None, CapSet::Effective, &self.effective).map_err(e("effective"))?;
        caps::set(None, CapSet::Permitted, &self.permitted).map_err(e("permitted"))?;
        // Ambient: clear first, then raise each (the caps crate raises one at a time). The
        // kernel only allows what is in both permitted and inheritable; like runc and crun we
        // skip the rest (`runc spec` itself lists ambient caps it leaves out of inheritable).
        // Skipping only ever grants less than asked.
        caps::clear(None, CapSet::Ambient).map_err(e("ambient"))?;
        for cap in self.ambient.iter().filter(|c| self.permitted.contains(c) && self.inheritable.contains(c)) {
            caps::raise(None, CapSet::Ambient, *cap).map_err(e("ambient"))?;
        }
        Ok(())
    }
}
