//! The checked writer for what commands print on stdout (`state`, `list`, `ps`, `features`).
//!
//! `println!` panics when stdout fails: `runtime state ID > /dev/full` aborted with a panic
//! and `| head -1` panicked on the broken pipe. Here a write error is one error line and
//! exit 1; a reader that has gone (EPIPE) ends the runtime by SIGPIPE, silently, as runc and
//! coreutils end (a shell shows 141): the consumer chose to stop reading, nothing failed.

use std::io::Write;

#[derive(Debug, thiserror::Error)]
#[error("write to stdout: {0}")]
pub struct OutputError(std::io::Error);

/// Writes `text` (the whole output, so it goes out in as few writes as possible) and flushes.
pub fn print(text: &str) -> Result<(), OutputError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => die_of_sigpipe(),
        Err(e) => Err(OutputError(e)),
    }
}

fn die_of_sigpipe() -> ! {
    // Rust starts with SIGPIPE ignored; put back the default and take it, so our parent sees
    // what it would see from any Unix tool whose reader went away.
    use nix::sys::signal::{raise, signal, SigHandler, SigSet, Signal};
    // SAFETY: installs the default disposition, which runs no code of ours.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
    let mut set = SigSet::empty();
    set.add(Signal::SIGPIPE);
    let _ = set.thread_unblock();
    let _ = raise(Signal::SIGPIPE);
    std::process::exit(141)
}
