//! The compiled "process security" of a container process: capability sets, seccomp filter,
//! Landlock policy and the facts the last steps need. Built by the runtime before clone, the
//! same way for the container's init (`create`) and for a process `exec` starts, from the
//! config create accepted; applied inside the container by [`super::finalize`] and
//! [`super::exec`], which also apply the process's own rlimits and no_new_privs.

use oci_spec::runtime::{Linux, Process};

use crate::capabilities::{CapPlan, CapsError};
use crate::landlock::{LandlockError, LandlockPolicy};
use crate::seccomp::{CompiledSeccomp, SeccompError};

pub struct Security {
    pub caps: CapPlan,
    pub seccomp: Option<CompiledSeccomp>,
    pub landlock: Option<LandlockPolicy>,
    /// False in a user namespace without a gid map, where setgroups(2) is refused.
    pub setgroups_allowed: bool,
    pub preserve_fds: u32,
    /// (st_dev, st_ino) of the runtime binary.
    pub self_exe: (u64, u64),
}

#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error(transparent)]
    Caps(#[from] CapsError),
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    #[error(transparent)]
    Landlock(#[from] LandlockError),
    #[error("stat /proc/self/exe: {0}")]
    SelfExe(std::io::Error),
}

impl Security {
    /// `in_userns`: the process will live in a user namespace (new or joined) of its own.
    pub fn compile(
        process: &Process,
        linux: &Linux,
        annotations: Option<&std::collections::HashMap<String, String>>,
        in_userns: bool,
        preserve_fds: u32,
    ) -> Result<Security, SecurityError> {
        let caps = CapPlan::from_config(process.capabilities().as_ref())?;
        let seccomp = match linux.seccomp() {
            Some(s) => {
                let c = crate::seccomp::compile(s)?;
                if crate::log::debug_enabled() {
                    for name in c.skipped() {
                        crate::log::debug(&format!("seccomp: syscall {name:?} is unknown to this runtime; rule skipped"));
                    }
                    for arch in c.ignored_architectures() {
                        crate::log::debug(&format!("seccomp: architecture {arch} is not filtered; its syscalls are refused"));
                    }
                    crate::log::debug(&format!("seccomp: {} filters, {} instructions", c.filter_count(), c.instruction_count()));
                }
                Some(c)
            }
            None => None,
        };
        let landlock = match annotations {
            Some(a) => crate::landlock::policy_from_annotations(a)?,
            None => None,
        };
        if let Some(l) = landlock.as_ref().filter(|_| crate::log::debug_enabled()) {
            crate::log::debug(&format!(
                "landlock: {} (kernel ABI {})",
                if l.is_required() { "required" } else { "best effort" },
                crate::landlock::kernel_abi()
            ));
        }
        let self_exe = std::fs::metadata("/proc/self/exe").map(|m| {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino())
        });
        Ok(Security {
            caps,
            seccomp,
            landlock,
            // A runtime that is not root denies setgroups(2) in the user namespace it makes
            // (rootless::deny_setgroups): additionalGids are then refused, not dropped.
            setgroups_allowed: !(in_userns && (linux.gid_mappings().is_none() || !nix::unistd::geteuid().is_root())),
            preserve_fds,
            self_exe: self_exe.map_err(SecurityError::SelfExe)?,
        })
    }
}
