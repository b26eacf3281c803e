//! An optional minimal init for the container (annotation `org.ocirt.init: "true"`).
//!
//! A program that runs as PID 1 of its pid namespace gets no default signal actions: a
//! SIGTERM it installs no handler for is simply dropped, and orphans it never waits for stay
//! zombies. Services written for a normal system (busybox httpd, shell scripts) expect
//! neither. With the annotation, the init forks right before execve: the child runs the
//! program; PID 1 stays a few dozen lines of this file, already under the container's
//! identity, capabilities, no_new_privs, Landlock and seccomp filter, forwarding every signal
//! to the program, reaping every orphan, and exiting with the program's status.

use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};

pub const ANNOTATION: &str = ocirt_contract::annotations::INIT;

/// Returns in the child (which goes on to execve); never returns in the parent.
pub fn split() {
    // Block everything first so that no signal is lost between fork and the wait loop.
    let all = SigSet::all();
    if all.thread_block().is_err() {
        return;
    }
    // SAFETY: the process is single-threaded (the runtime never spawns threads).
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            let _ = SigSet::empty().thread_set_mask();
        }
        Ok(ForkResult::Parent { child }) => reap(child, &all),
        Err(e) => {
            eprintln!("runtime init: fork for org.ocirt.init: {e}; running the program as PID 1");
            let _ = SigSet::empty().thread_set_mask();
        }
    }
}

fn reap(child: Pid, all: &SigSet) -> ! {
    // This process never execs, so its close-on-exec fds would stay open: among them the
    // start fifo, whose hang-up is how `start` learns the program was exec'd. It needs none.
    // Nothing here uses an fd above 2 again.
    let _ = crate::sys::close_from(3);
    // Not dumpable, so nothing in the container can reach this process's executable.
    let _ = nix::sys::prctl::set_dumpable(false);
    loop {
        let sig = match all.wait() {
            Ok(s) => s,
            Err(_) => continue,
        };
        if sig != Signal::SIGCHLD {
            let _ = kill(child, sig);
            continue;
        }
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(p, code)) if p == child => exit(code),
                Ok(WaitStatus::Signaled(p, s, _)) if p == child => exit(128 + s as i32),
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    }
}

fn exit(code: i32) -> ! {
    crate::sys::exit_now(code)
}
