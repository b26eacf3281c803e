//! The process an `exec` runs: a runtime-spec `process` object from a file, or the
//! container's own process (from the accepted config) with the command line's overrides.

use std::path::PathBuf;

use oci_spec::runtime::{Capability, Process};

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("--process {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("--process {}: field `{field}`: {msg}", path.display())]
    Field { path: PathBuf, field: String, msg: String },
    #[error("exec: give a command to run, or --process FILE")]
    NoCommand,
    #[error("--user {0:?}: give a numeric UID[:GID]")]
    User(String),
    #[error("--cap {0:?}: not a capability name (e.g. CAP_NET_RAW)")]
    Cap(String),
}

/// runc's exec options that shape the process.
#[derive(Default)]
pub struct Overrides {
    /// `--process FILE`: the whole process; the other fields are then ignored, as in runc.
    pub process_file: Option<PathBuf>,
    pub command: Vec<String>,
    pub tty: bool,
    pub cwd: Option<PathBuf>,
    pub env: Vec<String>,
    /// UID[:GID]
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
}

pub fn build(o: &Overrides, base: &Process) -> Result<Process, ProcessError> {
    if let Some(p) = &o.process_file {
        let bytes = std::fs::read(p).map_err(|source| ProcessError::Read { path: p.clone(), source })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let process: Process = serde_path_to_error::deserialize(de).map_err(|e| ProcessError::Field {
            path: p.clone(),
            field: e.path().to_string(),
            msg: e.inner().to_string(),
        })?;
        if process.apparmor_profile().as_ref().is_some_and(|v| !v.is_empty()) || process.selinux_label().as_ref().is_some_and(|v| !v.is_empty()) {
            return Err(ProcessError::Field {
                path: p.clone(),
                field: "apparmorProfile`/`selinuxLabel".into(),
                msg: "not supported by this runtime: remove it".into(),
            });
        }
        return Ok(process);
    }
    if o.command.is_empty() {
        return Err(ProcessError::NoCommand);
    }
    let mut p = base.clone();
    p.set_args(Some(o.command.clone()));
    p.set_terminal(Some(o.tty));
    let mut env = base.env().clone().unwrap_or_default();
    env.extend(o.env.iter().cloned());
    p.set_env(Some(env));
    if let Some(cwd) = &o.cwd {
        p.set_cwd(cwd.clone());
    }
    if let Some(u) = &o.user {
        let bad = |_| ProcessError::User(u.clone());
        let (uid, gid) = match u.split_once(':') {
            Some((uid, gid)) => (uid.parse::<u32>().map_err(bad)?, gid.parse::<u32>().map_err(bad)?),
            None => (u.parse::<u32>().map_err(bad)?, 0),
        };
        let user = p.user_mut();
        user.set_uid(uid);
        user.set_gid(gid);
    }
    if !o.additional_gids.is_empty() {
        p.user_mut().set_additional_gids(Some(o.additional_gids.clone()));
    }
    if o.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if !o.caps.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        for name in &o.caps {
            let c: Capability = serde_json::from_value(serde_json::Value::from(name.as_str())).map_err(|_| ProcessError::Cap(name.clone()))?;
            let add = |s: &Option<oci_spec::runtime::Capabilities>| {
                let mut s = s.clone().unwrap_or_default();
                s.insert(c);
                Some(s)
            };
            caps.set_bounding(add(caps.bounding()));
            caps.set_effective(add(caps.effective()));
            caps.set_permitted(add(caps.permitted()));
        }
        p.set_capabilities(Some(caps));
    }
    Ok(p)
}
