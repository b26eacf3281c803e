//! Walks the rootfs and every bind-mounted tree once, checking symbolic
//! links (dangling, looping, or resolving differently inside the container
//! than on the host) and setuid/setgid files.

use super::{Report, Severity, Target};
use crate::rootpath::{Place, ResolveError, View};
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The container paths the rootfs's package manager owns: every file dpkg unpacked
/// (var/lib/dpkg/info/*.list) and every link update-alternatives manages. Such links come
/// back as they are whenever the rootfs is rebuilt, so "fix it" is not the operator's to do.
fn package_paths(rootfs: &Path) -> HashSet<String> {
    let mut owned = HashSet::new();
    let Ok(entries) = std::fs::read_dir(rootfs.join("var/lib/dpkg/info")) else {
        return owned;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if !name.to_string_lossy().ends_with(".list") {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(e.path()) {
            owned.extend(text.lines().filter(|l| l.starts_with('/')).map(str::to_string));
        }
    }
    owned
}

fn is_alternatives_link(cpath: &str, target: &str) -> bool {
    cpath.starts_with("/etc/alternatives/") || target.starts_with("/etc/alternatives/")
}

/// Relative path from container directory `from` to container path `to`.
fn relative(from: &str, to: &str) -> String {
    let f: Vec<&str> = from.split('/').filter(|c| !c.is_empty()).collect();
    let t: Vec<&str> = to.split('/').filter(|c| !c.is_empty()).collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; f.len() - common];
    parts.extend(&t[common..]);
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// Where a link's own target points inside the container, without following
/// further links: `..` stops at the root, as it does in the container.
fn lexical_target(dir: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') { Vec::new() } else { dir.split('/').filter(|c| !c.is_empty()).collect() };
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

fn parent(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &p[..i],
    }
}

struct Walk<'a> {
    t: &'a Target,
    view: &'a View,
    /// Container mount points; the rootfs walk does not descend into them.
    mount_points: Vec<String>,
    report: &'a mut Report,
    /// Paths the rootfs's packages own (see [`package_paths`]).
    packaged: HashSet<String>,
    /// Package-owned links that resolve differently on the host: reported as one note.
    packaged_links: Vec<(String, String)>,
}

impl Walk<'_> {
    fn dir(&mut self, host: &Path, cpath: &str, dev: u64, depth: usize) {
        if depth > 64 {
            return;
        }
        let Ok(entries) = std::fs::read_dir(host) else {
            return;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let c = if cpath == "/" { format!("/{name}") } else { format!("{cpath}/{name}") };
            let h = e.path();
            let Ok(md) = std::fs::symlink_metadata(&h) else {
                continue;
            };
            if md.file_type().is_symlink() {
                self.symlink(&h, &c);
            } else if md.is_dir() {
                if md.dev() != dev || self.mount_points.contains(&c) {
                    continue;
                }
                self.dir(&h, &c, dev, depth + 1);
            } else if md.is_file() && md.mode() & 0o6000 != 0 {
                self.setid(&h, &c, md.mode());
            }
        }
    }

    fn setid(&mut self, host: &Path, cpath: &str, mode: u32) {
        let what = match (mode & 0o4000 != 0, mode & 0o2000 != 0) {
            (true, true) => "setuid and setgid",
            (true, false) => "setuid",
            _ => "setgid",
        };
        let hp = host.display().to_string();
        if self.t.no_new_privileges {
            self.report.add(
                Severity::Note,
                hp.clone(),
                format!("{cpath} is {what}; it is inert here: no_new_privs and nosuid mounts keep it from gaining privileges"),
                format!("nothing is required; `chmod u-s,g-s {hp}` makes that plain"),
            );
        } else {
            self.report.add(
                Severity::Warning,
                hp.clone(),
                format!("{cpath} is {what} and no_new_privileges is off, so it can raise privileges"),
                format!("keep no_new_privileges = true or `chmod u-s,g-s {hp}`"),
            );
        }
    }

    fn symlink(&mut self, host: &Path, cpath: &str) {
        let target = std::fs::read_link(host).map(|t| t.display().to_string()).unwrap_or_default();
        let hp = host.display().to_string();
        let inside = match self.view.resolve(cpath, true) {
            Ok(r) => r,
            Err(ResolveError::Loop { .. }) => {
                self.report.add(
                    Severity::Warning,
                    hp.clone(),
                    format!("symbolic link {cpath} -> {target} loops"),
                    format!("remove it (rm {hp}) or point it at a real file"),
                );
                return;
            }
            Err(e) => {
                self.report.add(
                    Severity::Warning,
                    hp.clone(),
                    format!("dangling symbolic link {cpath} -> {target}: {e}"),
                    format!("remove it (rm {hp}) or install what it points to"),
                );
                return;
            }
        };
        let Place::Host(inside_host) = inside.place else {
            return;
        };
        let on_host: Result<PathBuf, _> = std::fs::canonicalize(host);
        if on_host.as_ref().ok() == Some(&inside_host) {
            return;
        }
        let seen_from_host = match &on_host {
            Ok(p) => format!("to the host's {} when followed on the host", p.display()),
            Err(_) => "to nothing when followed on the host (it dangles there)".into(),
        };
        if self.packaged.contains(cpath) || is_alternatives_link(cpath, &target) {
            self.packaged_links.push((cpath.to_string(), target));
            return;
        }
        let kind = if target.starts_with('/') { "absolute symbolic link" } else { "symbolic link" };
        let rel = relative(parent(cpath), &lexical_target(parent(cpath), &target));
        self.report.add(
            Severity::Warning,
            hp.clone(),
            format!(
                "{kind} {cpath} -> {target} resolves to {} inside the container ({}) but {seen_from_host}; host tools that follow it (backups, copies, bind sources) reach other files",
                inside.container,
                inside_host.display()
            ),
            format!("make it relative and inside the tree: ln -sfn {rel} {hp}"),
        );
    }
}

pub fn check(t: &Target, view: &View, r: &mut Report) {
    let mut mount_points: Vec<String> = t.opaque.clone();
    mount_points.extend(t.binds.iter().map(|b| b.target.clone()));
    let mut w = Walk { t, view, mount_points, report: r, packaged: package_paths(&t.rootfs), packaged_links: Vec::new() };
    if let Ok(md) = std::fs::metadata(&t.rootfs) {
        w.dir(&t.rootfs, "/", md.dev(), 0);
    }
    // The rootfs's own packages ship many absolute links (Debian: /etc/alternatives, /lib
    // compatibility links, certificates): right inside the container, wrong only for host
    // tools that follow them, and not the operator's to edit (a rebuild brings them back).
    // One note for all of them keeps the warnings for what the operator can act on.
    if let Some((first, target)) = w.packaged_links.first().cloned() {
        let n = w.packaged_links.len();
        let root = t.rootfs.display().to_string();
        w.report.add(
            Severity::Note,
            root.clone(),
            format!(
                "{n} symbolic link(s) owned by the rootfs's packages (dpkg, update-alternatives) resolve inside the container but not when followed on the host, e.g. {first} -> {target}"
            ),
            format!("nothing to change in the rootfs; host tools (backups, copies, bind sources) should not follow links under {root}"),
        );
    }
    for b in &t.binds {
        let Ok(md) = std::fs::metadata(&b.source) else {
            continue;
        };
        if md.is_dir() {
            w.dir(&b.source, &b.target, md.dev(), 0);
        } else if md.is_file() && md.mode() & 0o6000 != 0 {
            w.setid(&b.source, &b.target, md.mode());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{lexical_target, relative};

    #[test]
    fn lexical() {
        assert_eq!(lexical_target("/usr/bin", "../../../../etc/passwd"), "/etc/passwd");
        assert_eq!(lexical_target("/usr/bin", "/etc/alternatives/php"), "/etc/alternatives/php");
        assert_eq!(lexical_target("/usr/bin", "php8"), "/usr/bin/php8");
    }

    #[test]
    fn relative_paths() {
        assert_eq!(relative("/usr/bin", "/etc/alternatives/php"), "../../etc/alternatives/php");
        assert_eq!(relative("/", "/run"), "run");
        assert_eq!(relative("/var", "/run"), "../run");
        assert_eq!(relative("/a/b", "/a/b/c"), "c");
    }
}
