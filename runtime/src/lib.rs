//! `runtime`: a hardened OCI runtime with runc's command-line contract.
//!
//! The binary (main.rs) only calls [`main`]. This file is the thin CLI: it parses flags
//! (runc's names and defaults), sets up logging and hands each verb to its module under
//! `commands/`. Everything with behaviour lives elsewhere; docs/architecture.md explains the
//! process model. The CLI definition is public so that the packaging's doc generator
//! (src/bin/ocirt-docgen.rs) writes man pages and completions from the same source.

mod capabilities;
mod cgroup_placement;
mod cgroups;
mod commands;
mod container;
/// The config checks live in the contract crate, shared with spec-gen.
use ocirt_contract::config;
mod diagnose;
mod exec_reaper;
mod foreground;
mod hooks;
mod init;
mod landlock;
mod log;
mod memory;
mod mountinfo;
mod namespaces;
mod netguard;
mod notify;
mod output;
mod process;
mod protocol;
mod reaper;
mod rootfs;
mod rootless;
mod seccomp;
mod setup_error;
mod signals;
mod state;
mod sys;
mod tty;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Where container state lives unless --root says otherwise (runc uses /run/runc); a
/// rootless caller's default is under $XDG_RUNTIME_DIR (state::default_root).
pub const DEFAULT_ROOT: &str = "/run/ocirt";
/// Where `runtime run NAME` looks for a bundle called NAME when NAME is not a path.
pub const BUNDLE_STORE: &str = "/var/lib/ocirt/bundles";

#[derive(Parser, Debug)]
#[command(name = "runtime", version = env!("OCIRT_VERSION"), about = "A hardened OCI container runtime (runc-compatible CLI)")]
pub struct Cli {
    /// Directory for container state (one subdirectory per container); rootless:
    /// $XDG_RUNTIME_DIR/ocirt
    #[arg(long, global = true, default_value_os_t = state::default_root())]
    pub root: PathBuf,
    /// Write log messages to this file instead of stderr
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log format: text or json
    #[arg(long = "log-format", global = true, default_value = "text")]
    pub log_format: String,
    /// Also log debug messages
    #[arg(long, global = true)]
    pub debug: bool,
    /// Accepted for compatibility; cgroupfs is used when systemd is not PID 1
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// runc's rootless mode (true, false, auto): detected, not chosen, except that
    /// `spec --rootless` writes a config for a rootless `run`
    #[arg(long, global = true, hide = true, num_args = 0..=1, default_missing_value = "true")]
    pub rootless: Option<String>,
    /// Accepted for compatibility; ignored
    #[arg(long, global = true, hide = true)]
    pub criu: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a container: set it up and leave its process waiting for `start`
    Create(commands::create::CreateArgs),
    /// Start a created container: its process execs the configured program
    Start(commands::start::StartArgs),
    /// Print the state of a container as JSON
    State(commands::state::StateArgs),
    /// Send a signal to the container's init process (default SIGTERM)
    Kill(commands::kill::KillArgs),
    /// Delete a container and everything the runtime made for it
    Delete(commands::delete::DeleteArgs),
    /// Create and start a container; in the foreground unless -d
    Run(commands::run::RunArgs),
    /// Run another process inside a running container
    Exec(commands::exec::ExecArgs),
    /// List containers
    #[command(alias = "ls")]
    List(commands::list::ListArgs),
    /// Suspend all processes of a container (cgroup freezer)
    Pause(commands::pause::PauseArgs),
    /// Resume a paused container
    Resume(commands::pause::PauseArgs),
    /// List the processes of a container
    Ps(commands::ps::PsArgs),
    /// Change a live container's cgroup limits (runc's flags, or -r FILE|-)
    Update(commands::update::UpdateArgs),
    /// Print the container's resource statistics and OOM events as JSON lines
    Events(commands::events::EventsArgs),
    /// Write a starter config.json (with --rootless: one for a rootless `run` by the caller)
    Spec(commands::spec::SpecArgs),
    /// Print the runtime-spec features.json of what this runtime implements
    Features,
}

/// The whole program: parse, dispatch, exit with the verb's status.
/// Blocks the signals that setup defers (signals.rs). The binary calls it from an
/// `.init_array` constructor, before the Rust runtime and main: the library itself does not,
/// so that other users of it (the doc generator, tests) keep their signals.
#[doc(hidden)]
pub fn block_signals_before_main() {
    signals::block_for_setup();
}

pub fn main() -> ! {
    // Before anything else: a signal during create must not kill us half-way (signals.rs).
    signals::block_for_setup();
    let cli = Cli::parse();
    log::init(cli.log.as_deref(), &cli.log_format, cli.debug);
    let result = match &cli.command {
        Command::Create(_) | Command::Run(_) => {
            signals::open_setup_fd().map_err(|e| anyhow::anyhow!("signalfd for the signals that may stop create: {e}")).and_then(|()| commands::dispatch(&cli))
        }
        // exec keeps them blocked: its forwarder passes them on to the process it starts.
        Command::Exec(_) => commands::dispatch(&cli),
        _ => {
            signals::restore();
            commands::dispatch(&cli)
        }
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            // Anywhere in the chain: the library's typed errors carry it as a source.
            if let Some(signals::Interrupted(sig)) = err.chain().find_map(|c| c.downcast_ref::<signals::Interrupted>()) {
                log::error(&err.to_string());
                std::process::exit(128 + sig);
            }
            log::error(&error_chain(&err));
            std::process::exit(1);
        }
    }
}

/// "context: cause: cause", leaving out a cause whose text the previous link already
/// includes (our error types print their source inline).
pub fn error_chain(err: &anyhow::Error) -> String {
    chain_text(err.chain())
}

/// [`error_chain`] for a typed error of the library.
pub fn error_text(err: &(dyn std::error::Error + 'static)) -> String {
    chain_text(std::iter::successors(Some(err), |e| e.source()))
}

fn chain_text<'a>(chain: impl Iterator<Item = &'a (dyn std::error::Error + 'static)>) -> String {
    let mut out = String::new();
    for cause in chain {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
