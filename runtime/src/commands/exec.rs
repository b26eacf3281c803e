//! `exec`: run another process inside a running container (container/exec.rs).

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use crate::container::exec::{self, Options};
use crate::container::exec_process::Overrides;
use crate::Cli;

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// JSON file with the process to run (runtime-spec `process` object)
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Detach: do not wait for the process
    #[arg(short, long)]
    pub detach: bool,
    /// Write the process's pid (as the host sees it) to this file
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master when --tty is given
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Allocate a terminal
    #[arg(short, long)]
    pub tty: bool,
    /// Working directory in the container
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Extra environment variables (KEY=VALUE)
    #[arg(short, long)]
    pub env: Vec<String>,
    /// UID[:GID] to run as
    #[arg(short, long)]
    pub user: Option<String>,
    /// Extra supplementary group ids
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Add a capability (CAP_NAME) to the process's sets
    #[arg(short = 'c', long)]
    pub cap: Vec<String>,
    /// Set no_new_privs for the process
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Pass this many extra fds (3, 4, ...) through to the process
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Refused when set: SELinux is not supported
    #[arg(long = "process-label", hide = true)]
    pub process_label: Option<String>,
    /// Refused when set: AppArmor is not supported
    #[arg(long, hide = true)]
    pub apparmor: Option<String>,
    /// Container id
    pub id: String,
    /// Command and arguments (when --process is not given)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn run(cli: &Cli, a: &ExecArgs) -> anyhow::Result<i32> {
    // Fail closed: a confinement asked for on the command line that we cannot apply.
    if a.apparmor.as_deref().is_some_and(|p| !p.is_empty()) {
        bail!("exec --apparmor: AppArmor is not supported by this runtime: drop the flag");
    }
    if a.process_label.as_deref().is_some_and(|l| !l.is_empty()) {
        bail!("exec --process-label: SELinux is not supported by this runtime: drop the flag");
    }
    let process = Overrides {
        process_file: a.process.clone(),
        command: a.command.clone(),
        tty: a.tty,
        cwd: a.cwd.clone(),
        env: a.env.clone(),
        user: a.user.clone(),
        additional_gids: a.additional_gids.clone(),
        caps: a.cap.clone(),
        no_new_privs: a.no_new_privs,
    };
    let o = Options { process, detach: a.detach, pid_file: a.pid_file.clone(), console_socket: a.console_socket.clone(), preserve_fds: a.preserve_fds };
    Ok(exec::exec(&cli.root, &a.id, &o)?)
}
