//! The one error type of the steps that run inside the container before execve (init.rs,
//! process.rs, and `exec`'s child): which step failed and why. It travels back to the runtime
//! as `FromInit::Error` and becomes the runtime's error message.

use crate::namespaces::NamespaceError;
use crate::protocol::ProtocolError;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A setup step failed: `step` names it the way the config does (e.g. "linux.sysctl
    /// net.core.somaxconn", "process.cwd"), `cause` is the system's or the check's answer.
    #[error("{step}: {cause}")]
    Step { step: String, cause: String },
    /// The sync socket to the runtime failed (the runtime died, or a protocol error).
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error(transparent)]
    Namespace(#[from] NamespaceError),
}

impl SetupError {
    pub fn step(step: impl std::fmt::Display, cause: impl std::fmt::Display) -> Self {
        SetupError::Step { step: step.to_string(), cause: cause.to_string() }
    }
}

/// `step!("what", result)`: the result with its error turned into a [`SetupError::Step`]
/// naming the step.
macro_rules! step {
    ($what:expr, $e:expr) => {
        $e.map_err(|e| $crate::setup_error::SetupError::step($what, e))
    };
}
pub(crate) use step;
