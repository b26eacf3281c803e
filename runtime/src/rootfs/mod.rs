//! The container's filesystem: a mount plan validated in the runtime before anything is
//! touched (bubblewrap's "plan, then execute"), then executed by the init inside its new
//! mount namespace; pivot_root; masked and read-only paths.
//!
//! Bind sources are opened by the runtime before clone, refusing symlinks the container
//! could have planted, and mounted from those fds (sources.rs).
//!
//! Every destination is resolved with openat2(RESOLVE_IN_ROOT) against an fd of the rootfs,
//! and mounts are made onto that fd (move_mount, or mount(2) through /proc/self/fd/N), so a
//! symlink planted in the rootfs can never redirect a mount onto the host.

pub mod copyup;
pub mod devices;
pub mod hostns;
pub mod mounts;
pub mod paths;
pub mod pivot;
pub mod plan;
pub mod resolve;
pub mod sources;

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("mounts[{index}] ({dest}): {msg}")]
    Plan { index: usize, dest: String, msg: String },
    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: String, source: std::io::Error },
    #[error("{0}")]
    Refused(String),
}

pub fn io_err(what: &'static str, path: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> RootfsError {
    let path = path.to_string();
    move |source| RootfsError::Io { what, path, source }
}

pub fn nix_err(what: &'static str, path: impl std::fmt::Display) -> impl FnOnce(nix::Error) -> RootfsError {
    let path = path.to_string();
    move |e| RootfsError::Io { what, path, source: std::io::Error::from_raw_os_error(e as i32) }
}
