//! The command resolves inside the rootfs, and so do its `#!` interpreter,
//! its ELF interpreter and every DT_NEEDED library, transitively.

use super::elf::{self, ElfInfo};
use super::{Report, Severity, Target};
use crate::rootpath::{Place, View};
use std::collections::{BTreeSet, VecDeque};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

const MAX_SCRIPT_DEPTH: usize = 4;

/// A file found inside the container.
struct Found {
    container: String,
    host: PathBuf,
}

fn parent(p: &str) -> String {
    match p.rfind('/') {
        Some(0) | None => "/".into(),
        Some(i) => p[..i].to_string(),
    }
}

fn find_file(view: &View, cpath: &str) -> Option<Found> {
    let r = view.resolve(cpath, true).ok()?;
    match r.place {
        Place::Host(h) if h.is_file() => Some(Found { container: r.container, host: h }),
        _ => None,
    }
}

fn is_executable(f: &Found) -> bool {
    std::fs::metadata(&f.host).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// Locates the command the way execvp would, inside the container.
fn locate(t: &Target, view: &View) -> Result<Found, String> {
    if t.command.contains('/') {
        let p = if t.command.starts_with('/') { t.command.clone() } else { format!("{}/{}", t.workdir, t.command) };
        return find_file(view, &p).ok_or_else(|| format!("command {p} does not exist inside the rootfs"));
    }
    for dir in t.path_env.split(':').filter(|d| d.starts_with('/')) {
        if let Some(f) = find_file(view, &format!("{dir}/{}", t.command)) {
            if is_executable(&f) {
                return Ok(f);
            }
        }
    }
    Err(format!("command `{}` is not in any PATH directory inside the rootfs (PATH={})", t.command, t.path_env))
}

/// Reads `#!interpreter [arg]`.
fn shebang(f: &Found) -> Option<String> {
    let bytes = std::fs::read(&f.host).ok()?;
    let line = bytes.strip_prefix(b"#!")?.split(|b| *b == b'\n').next()?;
    let line = String::from_utf8_lossy(line);
    line.split_whitespace().next().map(str::to_string)
}

/// Library directories from /etc/ld.so.conf inside the container.
fn ld_so_conf(view: &View, file: &str, depth: usize, out: &mut Vec<String>) {
    let Some(host) = view.host_file(file) else {
        return;
    };
    let Ok(text) = std::fs::read_to_string(host) else {
        return;
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(pattern) = line.strip_prefix("include").map(str::trim) {
            if depth < 4 {
                for inc in glob(view, pattern) {
                    ld_so_conf(view, &inc, depth + 1, out);
                }
            }
        } else if line.starts_with('/') {
            out.push(line.to_string());
        }
    }
}

/// Expands a `dir/prefix*suffix` pattern inside the container.
fn glob(view: &View, pattern: &str) -> Vec<String> {
    let dir = parent(pattern);
    let name = &pattern[pattern.rfind('/').map_or(0, |i| i + 1)..];
    let Some((pre, suf)) = name.split_once('*') else {
        return vec![pattern.to_string()];
    };
    let Some(host) = view.host_file(&dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = std::fs::read_dir(host)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(pre) && n.ends_with(suf) && n.len() >= pre.len() + suf.len())
        .collect();
    names.sort();
    names.into_iter().map(|n| format!("{}/{n}", dir.trim_end_matches('/'))).collect()
}

fn default_dirs(info: &ElfInfo, conf: &[String]) -> Vec<String> {
    let mut dirs: Vec<String> = conf.to_vec();
    if let Some(triple) = elf::multiarch(info.is_64, info.machine) {
        dirs.push(format!("/lib/{triple}"));
        dirs.push(format!("/usr/lib/{triple}"));
    }
    if info.is_64 {
        dirs.push("/lib64".into());
        dirs.push("/usr/lib64".into());
    }
    dirs.extend(["/lib", "/usr/lib", "/usr/local/lib"].map(String::from));
    dirs
}

struct LibSearch<'a> {
    view: &'a View,
    conf: Vec<String>,
    ld_library_path: Vec<String>,
}

impl LibSearch<'_> {
    fn find(&self, name: &str, wanted: &ElfInfo, by: &Found, by_info: &ElfInfo, exe: &ElfInfo) -> Option<(Found, ElfInfo)> {
        let origin = parent(&by.container);
        let expand = |d: &String| d.replace("$ORIGIN", &origin).replace("${ORIGIN}", &origin);
        let mut dirs: Vec<String> = Vec::new();
        if by_info.runpath.is_empty() {
            dirs.extend(by_info.rpath.iter().map(expand));
            dirs.extend(exe.rpath.iter().map(expand));
        }
        dirs.extend(self.ld_library_path.iter().cloned());
        dirs.extend(by_info.runpath.iter().map(expand));
        dirs.extend(default_dirs(wanted, &self.conf));
        let candidates: Vec<String> = if name.contains('/') {
            vec![name.to_string()]
        } else {
            dirs.iter().filter(|d| d.starts_with('/')).map(|d| format!("{}/{name}", d.trim_end_matches('/'))).collect()
        };
        for c in candidates {
            let Some(f) = find_file(self.view, &c) else {
                continue;
            };
            if let Ok(Some(info)) = elf::read(&f.host) {
                if info.is_64 == wanted.is_64 && info.machine == wanted.machine {
                    return Some((f, info));
                }
            }
        }
        None
    }
}

/// Checks the command; returns the container directories it executes from.
pub fn check(t: &Target, view: &View, r: &mut Report) -> BTreeSet<String> {
    let mut dirs: BTreeSet<String> = t.path_env.split(':').filter(|d| d.starts_with('/')).map(String::from).collect();
    let rootfs = t.rootfs.display().to_string();
    let mut found = match locate(t, view) {
        Ok(f) => f,
        Err(msg) => {
            r.add(Severity::Error, rootfs, msg, "install the program in the rootfs (rootfs_build.packages) or give its absolute container path");
            return dirs;
        }
    };
    for depth in 0.. {
        dirs.insert(parent(&found.container));
        let host = found.host.display().to_string();
        if !is_executable(&found) {
            r.add(Severity::Error, host.clone(), format!("{} is not executable", found.container), format!("chmod +x {host}"));
        }
        if let Some(interp) = shebang(&found) {
            if depth >= MAX_SCRIPT_DEPTH {
                r.add(Severity::Error, host, "too many nested #! interpreters", "point the script at a binary interpreter");
                return dirs;
            }
            match find_file(view, &interp) {
                Some(f) => {
                    found = f;
                    continue;
                }
                None => {
                    r.add(
                        Severity::Error,
                        host,
                        format!("the script's interpreter {interp} does not exist inside the rootfs"),
                        "install the interpreter in the rootfs or fix the #! line",
                    );
                    return dirs;
                }
            }
        }
        break;
    }
    let host = found.host.display().to_string();
    let exe = match elf::read(&found.host) {
        Ok(Some(info)) => info,
        Ok(None) => {
            r.add(Severity::Error, host, format!("{} is neither an ELF program nor a #! script", found.container), "point the command at a program");
            return dirs;
        }
        Err(e) => {
            r.add(Severity::Error, host, e.to_string(), "replace the file with a valid program");
            return dirs;
        }
    };
    if let Some(m) = elf::host_machine() {
        if exe.machine != m {
            r.add(
                Severity::Error,
                host.clone(),
                format!("{} is built for {} but this host is {}", found.container, elf::machine_name(exe.machine), elf::machine_name(m)),
                "install the rootfs for the host's architecture",
            );
        }
    }
    if let Some(interp) = &exe.interpreter {
        match find_file(view, interp) {
            Some(f) => {
                dirs.insert(parent(&f.container));
            }
            None => r.add(
                Severity::Error,
                host.clone(),
                format!("the ELF interpreter {interp} of {} does not exist inside the rootfs", found.container),
                "install the C library (e.g. libc6) in the rootfs, or use a statically linked program",
            ),
        }
    }
    let mut conf = Vec::new();
    ld_so_conf(view, "/etc/ld.so.conf", 0, &mut conf);
    let search = LibSearch {
        view,
        conf,
        ld_library_path: t.ld_library_path.iter().flat_map(|p| p.split(':')).filter(|d| d.starts_with('/')).map(String::from).collect(),
    };
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<(String, Found, ElfInfo)> =
        exe.needed.iter().map(|n| (n.clone(), Found { container: found.container.clone(), host: found.host.clone() }, exe.clone())).collect();
    while let Some((name, by, by_info)) = queue.pop_front() {
        if !seen.insert(name.clone()) {
            continue;
        }
        match search.find(&name, &exe, &by, &by_info, &exe) {
            Some((f, info)) => {
                dirs.insert(parent(&f.container));
                for n in &info.needed {
                    queue.push_back((n.clone(), Found { container: f.container.clone(), host: f.host.clone() }, info.clone()));
                }
            }
            None => r.add(
                Severity::Error,
                by.host.display().to_string(),
                format!("library {name} needed by {} is not found inside the rootfs", by.container),
                "install the package that provides it in the rootfs (rootfs_build.packages)",
            ),
        }
    }
    dirs
}
