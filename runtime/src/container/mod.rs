//! The container library: the lifecycle, one module per step, under the thin CLI verbs of
//! commands/ (which only turn arguments into these calls and results into output and exit
//! codes). Verbs never call each other; what two verbs share lives here.
//!
//! - create.rs: validate and compile the config, claim the id, spawn the init, serve it to
//!   Ready (with rollback of everything made); activation.rs: what a service manager hands
//!   over (socket activation, NOTIFY_SOCKET).
//! - spawn.rs: the one clone-and-serve path that create and exec share (kill-and-reap
//!   rollback, protocol loop, console socket); the process security both compile is
//!   process/security.rs.
//! - start.rs, delete.rs (destroy: kill, unmount, cgroups, poststop hooks, state), run.rs
//!   (create + start + wait + delete), kill.rs.
//! - exec.rs (+ exec_process.rs: which process), snapshot.rs (the accepted config, read
//!   after create instead of the bundle's), pid_file.rs, locate.rs (`run NAME`).
//! - update.rs and events.rs: the engines of `update` and `events` (ps is small enough to
//!   stay in its verb).

pub mod activation;
pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod exec_process;
pub mod kill;
pub mod locate;
pub mod pid_file;
pub mod run;
pub mod snapshot;
pub mod spawn;
pub mod start;
pub mod update;
