//! `spec-gen check`: findings about a rootfs and the service that runs in it.
//!
//! Each finding names the path concerned and the fix. Errors make the check
//! fail (exit code 1); warnings and notes do not.

mod command;
mod elf;
mod perms;
mod target;
mod tree;

pub use elf::{read as read_elf, ElfInfo};
pub use target::{Bind, Target, TargetError, UserRef};

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// The file or directory concerned (a host path, or file:line).
    pub path: String,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: {}: {}\n  fix: {}", self.severity, self.path, self.message, self.fix)
    }
}

/// Collects findings.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn add(&mut self, severity: Severity, path: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) {
        self.findings.push(Finding { severity, path: path.into(), message: message.into(), fix: fix.into() });
    }

    pub fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }

    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }

    /// Errors first, then warnings, then notes; stable within each.
    pub fn sorted(&self) -> Vec<&Finding> {
        let mut v: Vec<&Finding> = self.findings.iter().collect();
        v.sort_by_key(|f| f.severity);
        v
    }

    pub fn summary(&self) -> String {
        format!("{} error(s), {} warning(s), {} note(s)", self.count(Severity::Error), self.count(Severity::Warning), self.count(Severity::Note))
    }
}

/// Runs every check on a target.
pub fn run(t: &Target) -> Report {
    let mut r = Report::default();
    if !t.rootfs.is_dir() {
        r.add(
            Severity::Error,
            t.rootfs.display().to_string(),
            "the rootfs does not exist or is not a directory",
            "build it with `spec-gen rootfs SERVICE.toml --output DIR`, or point `spec-gen check --rootfs DIR` at a built one (`bash scripts/mediawiki.sh rootfs SERVICE.toml` prints the cached rootfs of the repository's services, building it if needed)",
        );
        return r;
    }
    perms::rootfs_owner(t, &mut r);
    let view = t.view();
    target::check_binds(t, &view, &mut r);
    target::check_user(t, &view, &mut r);
    target::check_writable(t, &view, &mut r);
    let exec_dirs = command::check(t, &view, &mut r);
    perms::exec_path(t, &view, &exec_dirs, &mut r);
    tree::check(t, &view, &mut r);
    r
}
