//! Who reaps an `exec -d` program, and therefore who can learn its exit status.
//!
//! runc's contract, which containerd's shim and conmon are built on: the program is left a
//! child of the runtime, so when the runtime exits it is adopted by the caller's child
//! subreaper (the shim, conmon), which reaps it and reports its exit status (`ctr task exec`,
//! CRI `ExecSync`, `podman exec`). Without that, those callers wait forever for the exit.
//!
//! Where no subreaper exists, that orphan goes to the host's pid 1, and a pid 1 that does not
//! reap (some VM and container sandboxes) leaves it a zombie inside the container's pid
//! namespace, which blocks the namespace's teardown and so the container init's exit. There
//! the program is forked inside the container instead and the container's init reaps it
//! (docs/architecture.md, `exec -d`).
//!
//! The choice is read from the container's init: a container made by a supervisor that
//! reaps (the shim, conmon) has its init adopted by that supervisor when `create` exits. An
//! init whose parent is pid 1, or the foreground `runtime run` that made it, has no such
//! supervisor above it.

use std::os::unix::fs::MetadataExt;

/// True when the program should be left to the caller's subreaper (runc's behaviour): the
/// container's init has a parent that is neither pid 1 nor a foreground run of this runtime
/// (`self_exe` is our executable's (dev, inode)). Anything unreadable answers false: the
/// container's init then reaps, which never hangs.
pub fn caller_reaps(init_pid: i32, self_exe: (u64, u64)) -> bool {
    let Some(ppid) = parent_of(init_pid) else { return false };
    if ppid <= 1 {
        return false;
    }
    match std::fs::metadata(format!("/proc/{ppid}/exe")) {
        Ok(m) => (m.dev(), m.ino()) != self_exe,
        Err(_) => false,
    }
}

/// The parent pid, from /proc/PID/stat (procfs parses the command name, which may hold
/// spaces and parentheses).
fn parent_of(pid: i32) -> Option<i32> {
    Some(procfs::process::Process::new(pid).ok()?.stat().ok()?.ppid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_of_self_is_our_parent() {
        let me = std::process::id() as i32;
        assert_eq!(parent_of(me), Some(std::os::unix::process::parent_id() as i32));
        assert_eq!(parent_of(-5), None);
    }

    #[test]
    fn a_child_of_this_process_is_not_handed_to_a_caller() {
        // Our own child: its parent runs our executable (the foreground-run case).
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let exe = std::fs::metadata("/proc/self/exe").unwrap();
        let ours = (exe.dev(), exe.ino());
        assert!(!caller_reaps(child.id() as i32, ours));
        // Control: the same child seen as made by another program (a shim) is handed over.
        assert!(caller_reaps(child.id() as i32, (0, 0)));
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn an_init_that_is_gone_is_never_handed_to_a_caller() {
        // The init died (and was reaped) between exec's checks: nothing to read, so the
        // answer is the one that cannot hang (the container's init would reap).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        assert_eq!(parent_of(pid), None);
        assert!(!caller_reaps(pid, (0, 0)));
    }
}
