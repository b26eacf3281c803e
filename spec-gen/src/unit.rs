//! systemd units that run a bundle with the runtime in the foreground.
//!
//! KillMode=mixed: the stop signal goes to the main process only, which is
//! `runtime run`; it forwards the signal to the container's init, so the
//! service shuts down the way it expects. After TimeoutStopSec the final
//! SIGKILL goes to every process left in the unit's cgroup, so nothing
//! outlives the unit. KillMode=control-group would instead signal every
//! container process directly and at once, past the runtime and the
//! container's own init; KillMode=process would leave stragglers behind.
//! With Delegate=yes the runtime puts the container's cgroup inside the
//! unit's (`<unit cgroup>/<id>`, see the runtime's cgroup_placement), so
//! systemd accounts for it and its stop and kill reach it. ExecStopPost
//! `delete --force` removes the container's state and its cgroup;
//! ExecStartPre does the same for a container left by a crash, before a
//! restart creates it anew.

use crate::load::Service;
use std::fmt::Write;
use std::path::{Path, PathBuf};

pub const DEFAULT_RUNTIME: &str = "/usr/local/bin/runtime";

#[derive(Debug, thiserror::Error)]
pub enum UnitError {
    #[error("error: the runtime path `{0}` is not absolute\n  fix: pass --runtime /absolute/path/to/runtime")]
    RuntimeNotAbsolute(String),
    #[error("error: a template's bundle path must differ per instance, and `{0}` does not\n  fix: put %i (or {{instance}}) in --bundle, e.g. /var/lib/ocirt/bundles/NAME@%i")]
    BundleNotPerInstance(String),
    #[error("error: `{0}` contains a newline\n  fix: use a path without control characters")]
    Control(String),
    #[error("error: {file}: field `lifecycle.{field}`: `{name}` is not a systemd unit name\n  fix: name a unit with its type, e.g. \"mariadb.service\" or \"mariadb@{{instance}}.service\" (letters, digits, `:_.@-` and `\\`)")]
    BadUnitName { file: String, field: &'static str, name: String },
}

/// The unit types a dependency may name.
const UNIT_SUFFIXES: &[&str] = &[".service", ".socket", ".target", ".mount", ".automount", ".path", ".timer", ".device", ".swap", ".slice", ".scope"];

/// A dependency as written into After=/Requires=: a unit name, with `{instance}` turned into
/// the `%i` specifier in a template (it was substituted already for a concrete instance).
/// Anything else is refused rather than quoted: a space would split it into two units, and
/// a `%` specifier other than `%i` would be expanded by systemd.
fn dependency(svc: &Service, field: &'static str, name: &str, template: bool) -> Result<String, UnitError> {
    let out = if template { name.replace(crate::instance::PLACEHOLDER, "%i") } else { name.to_string() };
    let plain = out.replace("%i", "");
    let stem_ok = UNIT_SUFFIXES
        .iter()
        .find_map(|s| plain.strip_suffix(s))
        .is_some_and(|stem| !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'.' | b'@' | b'-' | b'\\')));
    if !stem_ok || (out.contains("%i") && !template) {
        return Err(UnitError::BadUnitName { file: svc.file.display().to_string(), field, name: name.to_string() });
    }
    Ok(out)
}

#[derive(Debug, Clone)]
pub struct UnitOptions {
    pub bundle: PathBuf,
    pub runtime: PathBuf,
    pub template: bool,
}

pub struct Unit {
    /// e.g. `web.service` or `web@.service`.
    pub file_name: String,
    pub text: String,
}

/// Quotes one command-line word for ExecStart=: `$` and `%` are escaped
/// (except the `%i` specifier in templates) and words with spaces or quotes
/// are double-quoted.
fn word(s: &str, template: bool) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '%' if template && chars.peek() == Some(&'i') => out.push('%'),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    if out.is_empty() || out.chars().any(|c| c.is_whitespace() || c == '"' || c == '\'' || c == ';') {
        format!("\"{out}\"")
    } else {
        out
    }
}

fn path_word(p: &Path, template: bool) -> Result<String, UnitError> {
    let s = p.to_string_lossy();
    if s.contains('\n') || s.contains('\r') {
        return Err(UnitError::Control(s.into_owned()));
    }
    Ok(word(&s, template))
}

pub fn render(svc: &Service, opts: &UnitOptions) -> Result<Unit, UnitError> {
    let t = opts.template;
    if !opts.runtime.is_absolute() {
        return Err(UnitError::RuntimeNotAbsolute(opts.runtime.display().to_string()));
    }
    let bundle_s = opts.bundle.to_string_lossy().replace("{instance}", "%i");
    if t && !bundle_s.contains("%i") {
        return Err(UnitError::BundleNotPerInstance(opts.bundle.display().to_string()));
    }
    let bundle = PathBuf::from(&bundle_s);
    let name = svc.name();
    let (id, file_name) = if t {
        (format!("{name}@%i"), format!("{name}@.service"))
    } else {
        let id = svc.id();
        let f = format!("{id}.service");
        (id, f)
    };
    let d = &svc.desc;
    let runtime = path_word(&opts.runtime, t)?;
    let bundle = path_word(&bundle, t)?;
    let mut description = if d.description.trim().is_empty() { name.to_string() } else { d.description.clone() };
    description = description.split_whitespace().collect::<Vec<_>>().join(" ").replace('%', "%%");
    if t {
        description = description.replace("%%i", "%i");
        if !description.contains("%i") {
            description.push_str(" (instance %i)");
        }
    }
    let source = svc.file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();

    let mut u = String::new();
    let w = &mut u;
    let _ = writeln!(w, "# {file_name}: generated by spec-gen from {source}; regenerate it rather than editing it.");
    let _ = writeln!(w, "# Runs the OCI bundle {} with the runtime in the foreground.", bundle_s.replace('\n', " "));
    let _ = writeln!(w, "[Unit]");
    let _ = writeln!(w, "Description={description}");
    let _ = writeln!(w, "After=network.target");
    let after = d.lifecycle.after.iter().map(|n| dependency(svc, "after", n, t)).collect::<Result<Vec<_>, _>>()?;
    let requires = d.lifecycle.requires.iter().map(|n| dependency(svc, "requires", n, t)).collect::<Result<Vec<_>, _>>()?;
    if !after.is_empty() {
        let _ = writeln!(w, "After={}", after.join(" "));
    }
    if !requires.is_empty() {
        let _ = writeln!(w, "Requires={}", requires.join(" "));
    }
    let _ = writeln!(w);
    let _ = writeln!(w, "[Service]");
    if d.lifecycle.notify {
        let _ = writeln!(w, "# The service reports readiness through NOTIFY_SOCKET; the runtime relays it from the main process.");
        let _ = writeln!(w, "Type=notify");
        let _ = writeln!(w, "NotifyAccess=main");
    } else {
        let _ = writeln!(w, "Type=exec");
    }
    let _ = writeln!(w, "# A container left by a crash (state and cgroup) goes before the new one is made.");
    let _ = writeln!(w, "ExecStartPre=-{runtime} delete --force {id}");
    let _ = writeln!(w, "ExecStart={runtime} run --bundle {bundle} {id}");
    if let Some(sig) = &d.lifecycle.reload_signal {
        let _ = writeln!(w, "ExecReload={runtime} kill {id} {}", sig.0);
    }
    let _ = writeln!(w, "ExecStopPost={runtime} delete --force {id}");
    let _ = writeln!(w, "# mixed: the stop signal goes to the runtime, which forwards it to the container;");
    let _ = writeln!(w, "# the final SIGKILL reaches every process left in the unit.");
    let _ = writeln!(w, "KillMode=mixed");
    let _ = writeln!(w, "KillSignal={}", d.lifecycle.stop_signal.0);
    let _ = writeln!(w, "TimeoutStopSec={}", d.lifecycle.stop_timeout);
    let _ = writeln!(w, "# A service ended by the stop signal exits 128+N through the runtime: a clean stop.");
    let _ = writeln!(w, "SuccessExitStatus={}", 128 + d.lifecycle.stop_signal.number());
    let _ = writeln!(w, "# The runtime makes the container's cgroup inside the unit's (<unit>/<id>).");
    let _ = writeln!(w, "Delegate=yes");
    let _ = writeln!(w, "Restart=on-failure");
    let _ = writeln!(w, "RestartSec=2");
    let _ = writeln!(w);
    let _ = writeln!(w, "[Install]");
    let _ = writeln!(w, "WantedBy=multi-user.target");
    Ok(Unit { file_name, text: u })
}

#[cfg(test)]
mod tests {
    use super::word;

    #[test]
    fn quoting() {
        assert_eq!(word("/usr/bin/runtime", false), "/usr/bin/runtime");
        assert_eq!(word("/a b/c", false), "\"/a b/c\"");
        assert_eq!(word("/x/50%", false), "/x/50%%");
        assert_eq!(word("/x/%i", true), "/x/%i");
        assert_eq!(word("/x/%n", true), "/x/%%n");
        assert_eq!(word("$HOME", false), "$$HOME");
    }
}
