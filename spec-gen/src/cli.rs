//! spec-gen's command-line definition, in the library so that the packaging's doc generator
//! (packaging/docgen) writes man pages and completions from the same source as `--help`.

use crate::unit;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "spec-gen",
    version = env!("OCIRT_VERSION"),
    about = "Turn a service description into a hardened OCI bundle, systemd units and a rootfs"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Write DIR/config.json for the service.
    Bundle {
        /// The service description (TOML), e.g. bundles/mediawiki/service.toml.
        service: PathBuf,
        /// The bundle directory to write (created if missing).
        #[arg(long, short)]
        output: PathBuf,
        /// Instance name, for `name@instance` services.
        #[arg(long)]
        instance: Option<String>,
    },
    /// Print a systemd unit that runs the bundle.
    Unit {
        /// The service description (TOML).
        service: PathBuf,
        /// The bundle directory (with --template: a path holding %i).
        #[arg(long)]
        bundle: PathBuf,
        /// Absolute path of the OCI runtime.
        #[arg(long, default_value = unit::DEFAULT_RUNTIME)]
        runtime: PathBuf,
        /// Print a template unit, NAME@.service.
        #[arg(long, conflicts_with = "instance")]
        template: bool,
        /// Instance name, for `name@instance` services.
        #[arg(long)]
        instance: Option<String>,
    },
    /// Lint a service description or a bundle directory; exit code 1 on errors.
    Check {
        /// A service description (TOML) or a bundle directory (holding config.json).
        target: PathBuf,
        /// Instance name, for `name@instance` services.
        #[arg(long)]
        instance: Option<String>,
        /// Check this rootfs instead of the description's `rootfs` (for example the cached
        /// one that `bash scripts/mediawiki.sh rootfs SERVICE.toml` prints).
        #[arg(long)]
        rootfs: Option<PathBuf>,
    },
    /// Build the rootfs described by [rootfs_build] into DIR.
    Rootfs {
        /// The service description (TOML) whose [rootfs_build] table to build.
        service: PathBuf,
        /// The directory to build the rootfs in (must not exist or be empty).
        #[arg(long, short)]
        output: PathBuf,
        /// Where to write the lock file (default: DIR.lock).
        #[arg(long)]
        lock: Option<PathBuf>,
        /// Rebuild exactly what a lock file records.
        #[arg(long)]
        from_lock: Option<PathBuf>,
        /// Instance whose mount points to create, if the description uses {instance}.
        #[arg(long)]
        instance: Option<String>,
    },
    /// Say in plain words what the service may and may not do.
    Explain {
        /// The service description (TOML); its rootfs need not be built yet.
        service: PathBuf,
        /// Instance name, for `name@instance` services.
        #[arg(long)]
        instance: Option<String>,
    },
}
