//! Rootless operation: a runtime that is not root, or is root only of a user namespace
//! (rootless podman runs it so, in the user namespace it made for the user). Such a runtime
//! keeps its state under $XDG_RUNTIME_DIR (state::default_root) and makes no cgroup where
//! it has no write access (cgroup_placement::rootless_can_make).

use std::sync::OnceLock;

/// Whether this process is in a user namespace other than the initial one: there, the
/// identity map "0 0 4294967295" is the only line of uid_map. Unreadable counts as the
/// initial namespace.
pub fn in_user_namespace() -> bool {
    match std::fs::read_to_string("/proc/self/uid_map") {
        Ok(m) => m.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"],
        Err(_) => false,
    }
}

/// Not root, or root of a user namespace: the host's cgroups and /run are not ours to write.
/// Computed once per process (one read of uid_map when the euid is 0).
pub fn rootless() -> bool {
    static R: OnceLock<bool> = OnceLock::new();
    *R.get_or_init(|| !nix::unistd::geteuid().is_root() || in_user_namespace())
}
