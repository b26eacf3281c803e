//! Saying why a container init died before it was ready.
//!
//! When the init dies during setup the runtime only sees its end of the sync socket close:
//! "exited before it was ready", "sync socket send: EPIPE" or "ECONNRESET", which do not
//! say what happened. Here the init's exit status is read (without reaping it: the create
//! guard still reaps and cleans up) and, for a SIGKILL, the cgroup's OOM-kill counter, so
//! the error names the signal, or the OOM killer and the memory limit to raise.

use std::path::Path;
use std::time::{Duration, Instant};

/// How the init ended, if it has. Waits briefly: the socket closes a moment before the
/// exit status is posted.
fn status(pid: i32) -> Option<(i32, i32)> {
    let deadline = Instant::now() + Duration::from_millis(500);
    loop {
        // Not reaped (WNOWAIT): the create guard reaps it.
        if let Some(ended) = crate::sys::peek_exit(pid).ok()? {
            return Some(ended);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The OOM kills counted for the cgroup at `rel` (cgroup2 memory.events, or v1
/// memory.oom_control), in any hierarchy that has the file.
fn oom_kills(rel: &Path) -> u64 {
    let rel = rel.strip_prefix("/").unwrap_or(rel);
    let candidates = [
        Path::new("/sys/fs/cgroup").join(rel).join("memory.events"),
        Path::new("/sys/fs/cgroup/unified").join(rel).join("memory.events"),
        Path::new("/sys/fs/cgroup/memory").join(rel).join("memory.oom_control"),
    ];
    candidates
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter_map(|text| text.lines().find_map(|l| l.strip_prefix("oom_kill ").and_then(|n| n.trim().parse::<u64>().ok())))
        .max()
        .unwrap_or(0)
}

/// One sentence on how init `pid` ended, or None if it still lives (then the original
/// error stands). `memory_limit` is linux.resources.memory.limit, for the advice.
pub fn explain_init_death(pid: i32, cgroup: &Path, memory_limit: Option<i64>) -> Option<String> {
    let (code, st) = status(pid)?;
    Some(match code {
        libc::CLD_EXITED => format!("the container's init exited with status {st} before it was ready"),
        libc::CLD_KILLED | libc::CLD_DUMPED if st == libc::SIGKILL && oom_kills(cgroup) > 0 => match memory_limit {
            Some(l) => {
                format!("the container's init was killed by the OOM killer during setup: linux.resources.memory.limit ({l} bytes) is too small; raise it")
            }
            None => "the container's init was killed by the OOM killer during setup (its cgroup ran out of memory): raise linux.resources.memory.limit".into(),
        },
        _ => format!("the container's init was killed by {} before it was ready", crate::signals::name(st)),
    })
}
