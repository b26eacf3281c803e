//! Rootless operation: a runtime that is not root, or is root only of a user namespace
//! (rootless podman runs it so, in the user namespace it made for the user). Such a runtime
//! keeps its state under $XDG_RUNTIME_DIR (state::default_root) and makes no cgroup where
//! it has no write access (cgroup_placement::rootless_can_make).

use std::path::Path;
use std::sync::OnceLock;

/// /proc/self/uid_map could not be read or parsed. Whether this runtime is root of the host
/// or only of a user namespace is then unknown, and every answer that hangs on it (which
/// cgroups are ours to write, which owners above the state root are trusted, where the
/// default state root is) would be a guess: the command that needs it fails instead.
#[derive(Debug, Clone, thiserror::Error)]
#[error("/proc/self/uid_map: {0}: cannot tell whether this runtime runs in a user namespace; mount /proc and let the runtime read it")]
pub struct UidMapError(String);

/// Whether this process is in a user namespace other than the initial one: there, the
/// identity map "0 0 4294967295" is the only line of uid_map. Read once per process; a
/// failed read or a line that is not three numbers is an error (kept, so that every
/// caller in the process gets the same one).
pub fn in_user_namespace() -> Result<bool, UidMapError> {
    static U: OnceLock<Result<bool, UidMapError>> = OnceLock::new();
    U.get_or_init(|| {
        let m = std::fs::read_to_string("/proc/self/uid_map").map_err(|e| UidMapError(e.to_string()))?;
        parse_uid_map(&m).map_err(UidMapError)
    })
    .clone()
}

/// An empty map (a namespace whose map is not written yet) is a user namespace too.
fn parse_uid_map(m: &str) -> Result<bool, String> {
    let mut lines = Vec::new();
    for l in m.lines() {
        let f = l.split_whitespace().map(str::parse::<u32>).collect::<Result<Vec<_>, _>>();
        match f.as_deref() {
            Ok(&[inside, outside, count]) => lines.push([inside, outside, count]),
            _ => return Err(format!("unparseable line {l:?} (three numbers expected)")),
        }
    }
    Ok(lines != [[0, 0, u32::MAX]])
}

/// Not root, or root of a user namespace: the host's cgroups and /run are not ours to write.
/// Computed once per process (one read of uid_map when the euid is 0).
pub fn rootless() -> Result<bool, UidMapError> {
    static R: OnceLock<Result<bool, UidMapError>> = OnceLock::new();
    R.get_or_init(|| if nix::unistd::geteuid().is_root() { in_user_namespace() } else { Ok(true) }).clone()
}

/// Before an unprivileged runtime writes a child's gid_map, the kernel wants setgroups(2)
/// turned off for that user namespace ("deny"), so that nobody can drop a group that was
/// denying them access. Root (CAP_SETGID over the parent namespace) keeps it.
pub fn deny_setgroups(pid: i32) -> std::io::Result<()> {
    if nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let path = format!("/proc/{pid}/setgroups");
    std::fs::write(&path, "deny").map_err(|e| std::io::Error::new(e.kind(), format!("write {path}: {e}")))
}

/// `exec` by a runtime that is not root: the container's pid namespace (entered by the
/// runtime itself, for its children) can only be joined with CAP_SYS_ADMIN over the user
/// namespace that owns it, which the user holds once inside that user namespace (it made
/// it). So the runtime joins the container's user namespace first, and the child inherits
/// it instead of joining it again. Root joins everything from the child, as before.
pub fn join_user_namespace_first(join: &mut Vec<(oci_spec::runtime::LinuxNamespaceType, std::os::fd::OwnedFd)>) -> std::io::Result<()> {
    if nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let Some(i) = join.iter().position(|(t, _)| *t == oci_spec::runtime::LinuxNamespaceType::User) else { return Ok(()) };
    let (_, fd) = join.remove(i);
    nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWUSER)
        .map_err(|e| std::io::Error::new(std::io::Error::from(e).kind(), format!("join the container's user namespace: {e}")))
}

/// The state root must be this user's alone: state.json names the pids that `kill` and
/// `delete` signal and the cgroups and mounts they remove, so whoever can write it (or
/// swap the directory) acts with this runtime's privileges. That happens when the root sits
/// in a shared place: XDG_RUNTIME_DIR=/tmp is a common stand-in where no session made one,
/// and another user can make `/tmp/ocirt` first. Checked after the root exists and before
/// any container in it is read or claimed: the root itself (not followed if a symlink) is
/// owned by us and writable by nobody else; every directory above it is owned by root or
/// by us (its owner could rename ours away) and writable by nobody else unless sticky
/// (others cannot rename what is ours in a sticky directory). In a user namespace a
/// directory of an unmapped owner shows as the overflow uid, which is then accepted too:
/// rootless podman's runtime sees the host's /run so.
pub fn check_state_root(root: &Path) -> std::io::Result<()> {
    // A foreground `run` opens its root for create, start and delete: checked once per
    // process (whoever passes the check cannot be displaced by a user it refused).
    static PASSED: std::sync::Mutex<Option<std::path::PathBuf>> = std::sync::Mutex::new(None);
    let mut passed = PASSED.lock().unwrap_or_else(|e| e.into_inner());
    if passed.as_deref() == Some(root) {
        return Ok(());
    }
    check_state_root_now(root)?;
    *passed = Some(root.to_path_buf());
    Ok(())
}

fn check_state_root_now(root: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    // First: the same cached answer decided the default root (state::default_root), which
    // this then refuses when it was a guess.
    let userns = in_user_namespace().map_err(std::io::Error::other)?;
    let me = nix::unistd::geteuid().as_raw();
    let refuse = |what: String| {
        std::io::Error::other(format!(
            "{what}: another user could forge or swap the container state; use a --root (or XDG_RUNTIME_DIR) that is yours alone, mode 0700"
        ))
    };
    let m = std::fs::symlink_metadata(root)?;
    if !m.is_dir() {
        return Err(refuse("the state root is not a directory (a symlink is not followed)".into()));
    }
    if m.uid() != me {
        return Err(refuse(format!("the state root is owned by uid {}, not by this user (uid {me})", m.uid())));
    }
    if m.mode() & 0o022 != 0 {
        return Err(refuse(format!("the state root has mode {:o}, writable by others", m.mode() & 0o7777)));
    }
    let abs = if root.is_absolute() { root.to_path_buf() } else { std::env::current_dir()?.join(root) };
    let overflow = if userns { Some(overflow_uid()?) } else { None };
    // The directories above as named (a symlink among them must be root's or ours: its owner
    // could point it elsewhere) and as they really are (where the symlinks lead).
    let real = std::fs::canonicalize(&abs)?;
    for dir in abs.ancestors().skip(1).chain(real.ancestors().skip(1)) {
        let m = std::fs::symlink_metadata(dir)?;
        if m.uid() != 0 && m.uid() != me && Some(m.uid()) != overflow {
            return Err(refuse(format!("{} (above the state root) is owned by uid {}, who could rename it away", dir.display(), m.uid())));
        }
        if m.file_type().is_symlink() {
            continue;
        }
        if m.mode() & 0o022 != 0 && m.mode() & libc::S_ISVTX == 0 {
            return Err(refuse(format!("{} (above the state root) has mode {:o}, writable by others and not sticky", dir.display(), m.mode() & 0o7777)));
        }
    }
    Ok(())
}

/// The uid an unmapped owner shows as inside a user namespace. Unreadable is an error, not
/// "no overflow uid": the caller would refuse a good root with a misleading reason.
fn overflow_uid() -> std::io::Result<u32> {
    const P: &str = "/proc/sys/kernel/overflowuid";
    let s = std::fs::read_to_string(P).map_err(|e| std::io::Error::new(e.kind(), format!("{P}: {e}")))?;
    s.trim().parse().map_err(|e| std::io::Error::other(format!("{P}: {s:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::parse_uid_map;

    #[test]
    fn uid_map_parsing() {
        assert_eq!(parse_uid_map("         0          0 4294967295\n"), Ok(false));
        assert_eq!(parse_uid_map("0 1000 1\n1 100000 65536\n"), Ok(true));
        assert_eq!(parse_uid_map("0 0 4294967295\n1 1 1\n"), Ok(true));
        assert_eq!(parse_uid_map(""), Ok(true), "no map written yet");
        assert!(parse_uid_map("0 0\n").unwrap_err().contains("unparseable line \"0 0\""));
        assert!(parse_uid_map("0 0 x\n").is_err());
        assert!(parse_uid_map("0 0 4294967296\n").is_err());
    }
}
