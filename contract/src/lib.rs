//! What spec-gen and the runtime must agree on, in one place: the checks a config.json must
//! pass (`config`: spec-gen refuses exactly what `runtime create` would refuse) and the keys
//! of the `org.ocirt.*` annotations that carry what the OCI spec has no field for
//! (`annotations`).

pub mod annotations;
pub mod config;
