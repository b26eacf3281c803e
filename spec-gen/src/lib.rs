//! spec-gen: turns a service description (TOML) into an OCI bundle, systemd
//! units, a rootfs, lint findings and a plain-words summary.
//!
//! Module map: `description`/`values` (the TOML model), `load` (parsing and
//! checks with file:line errors), `instance`, `envfile`, `accounts`,
//! `rootpath` (symlink resolution inside the rootfs), `bundle` with
//! `mounts`/`devices`/`landlock`/`seccomp` (config.json), `oci` (output
//! types), `structure` (schema checks), `unit`, `explain`, `lint`, `build`
//! (rootfs), `output` (atomic writes).

pub mod accounts;
pub mod build;
pub mod bundle;
pub mod cli;
pub mod description;
pub mod devices;
pub mod envfile;
pub mod explain;
pub mod instance;
pub mod landlock;
pub mod lint;
pub mod load;
pub mod mounts;
pub mod oci;
pub mod output;
pub mod rootpath;
pub mod seccomp;
pub mod structure;
pub mod unit;
pub mod values;

/// The runtime's own config.json checks, from the crate both share: spec-gen refuses what
/// `create` would refuse.
pub use ocirt_contract::config as runtime_config;
