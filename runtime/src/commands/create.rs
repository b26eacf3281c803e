//! `create`: set up a container and leave its init waiting for `start` (container/create.rs).

use std::path::PathBuf;

use clap::Args;

use crate::container::create::{self, Options};
use crate::Cli;

#[derive(Args, Debug, Clone)]
pub struct CreateArgs {
    /// Path to the bundle directory (holding config.json)
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub launch: LaunchArgs,
    /// Container id
    pub id: String,
}

/// The options `create` and `run` share (runc's names).
#[derive(Args, Debug, Clone)]
pub struct LaunchArgs {
    /// Write the container init's pid to this file
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master when process.terminal is true
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Pass this many extra fds (3, 4, ...) through to the container
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Use MS_MOVE + chroot instead of pivot_root (for a rootfs on ramfs)
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not create a new session keyring for the container
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
}

impl LaunchArgs {
    pub fn options(&self, cli: &Cli, bundle: PathBuf, id: String, foreground: bool) -> Options {
        Options {
            root: cli.root.clone(),
            bundle,
            id,
            pid_file: self.pid_file.clone(),
            console_socket: self.console_socket.clone(),
            preserve_fds: self.preserve_fds,
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            foreground,
        }
    }
}

pub fn run(cli: &Cli, a: &CreateArgs) -> anyhow::Result<i32> {
    create::launch(&a.launch.options(cli, a.bundle.clone(), a.id.clone(), false))?.finish_create();
    Ok(0)
}
