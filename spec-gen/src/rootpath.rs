//! Container paths seen from the host: symlinks are resolved the way the
//! kernel resolves them inside the container (absolute links restart at the
//! container's root, `..` stops at it), never through the host's `/`.
//!
//! A [`View`] is the rootfs plus the mounts laid over it: bind mounts map a
//! container subtree to a host directory, opaque mounts (proc, sysfs, tmpfs)
//! hide whatever is below them until run time.

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{path} does not exist inside the container ({missing} is missing)")]
    Missing { path: String, missing: String },
    #[error("{path}: too many levels of symbolic links")]
    Loop { path: String },
    #[error("{path}: {component} is not a directory")]
    NotDir { path: String, component: String },
    #[error("cannot inspect {host}: {source}")]
    Io { host: PathBuf, source: io::Error },
}

/// Where a container path lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A host file or directory.
    Host(PathBuf),
    /// Below a mount whose content only exists at run time (its mount point).
    Opaque(String),
}

#[derive(Debug, Clone)]
pub struct Resolved {
    /// The path with every symlink resolved, as the container sees it.
    pub container: String,
    pub place: Place,
}

#[derive(Debug, Clone)]
enum Source {
    Host(PathBuf),
    Opaque,
}

#[derive(Debug, Clone)]
pub struct View {
    rootfs: PathBuf,
    /// Container mount point and what is mounted there; later entries win.
    mounts: Vec<(String, Source)>,
}

const MAX_LINKS: usize = 40;

fn components(p: &str) -> impl Iterator<Item = &str> {
    p.split('/').filter(|c| !c.is_empty() && *c != ".")
}

fn join(stack: &[String]) -> String {
    format!("/{}", stack.join("/"))
}

/// True if `path` is `base` or below it (container paths, both clean).
pub fn is_beneath(path: &str, base: &str) -> bool {
    base == "/" || path == base || path.strip_prefix(base).is_some_and(|r| r.starts_with('/'))
}

impl View {
    pub fn new(rootfs: &Path) -> Self {
        View { rootfs: rootfs.to_path_buf(), mounts: Vec::new() }
    }

    pub fn rootfs(&self) -> &Path {
        &self.rootfs
    }

    /// Adds a bind mount; the host source's own symlinks are the host's business.
    pub fn bind(&mut self, target: &str, source: &Path) {
        let src = source.canonicalize().unwrap_or_else(|_| source.to_path_buf());
        self.mounts.push((crate::load::clean_container_path(target), Source::Host(src)));
    }

    /// Adds a mount whose content is unknown before run time.
    pub fn opaque(&mut self, target: &str) {
        self.mounts.push((crate::load::clean_container_path(target), Source::Opaque));
    }

    /// The host place of a container path whose components are all real
    /// (already resolved) names.
    pub fn place(&self, cpath: &str) -> Place {
        for (target, src) in self.mounts.iter().rev() {
            if is_beneath(cpath, target) {
                return match src {
                    Source::Opaque => Place::Opaque(target.clone()),
                    Source::Host(h) => {
                        let rest = cpath[target.len()..].trim_start_matches('/');
                        Place::Host(if rest.is_empty() { h.clone() } else { h.join(rest) })
                    }
                };
            }
        }
        let rest = cpath.trim_start_matches('/');
        Place::Host(if rest.is_empty() { self.rootfs.clone() } else { self.rootfs.join(rest) })
    }

    /// Resolves a container path. With `follow_last` false a final symlink
    /// is returned itself, like lstat.
    pub fn resolve(&self, cpath: &str, follow_last: bool) -> Result<Resolved, ResolveError> {
        let mut todo: VecDeque<String> = components(cpath).map(str::to_string).collect();
        let mut stack: Vec<String> = Vec::new();
        let mut links = 0;
        if let Place::Opaque(m) = self.place("/") {
            return Ok(Resolved { container: clean(cpath), place: Place::Opaque(m) });
        }
        while let Some(comp) = todo.pop_front() {
            if comp == ".." {
                stack.pop();
                continue;
            }
            stack.push(comp);
            let cur = join(&stack);
            let last = todo.is_empty();
            let host = match self.place(&cur) {
                Place::Opaque(m) => {
                    stack.extend(todo.drain(..).filter(|c| c != ".."));
                    return Ok(Resolved { container: join(&stack), place: Place::Opaque(m) });
                }
                Place::Host(h) => h,
            };
            let md = match std::fs::symlink_metadata(&host) {
                Ok(md) => md,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ResolveError::Missing { path: clean(cpath), missing: cur }),
                Err(e) if e.raw_os_error() == Some(20) => return Err(ResolveError::NotDir { path: clean(cpath), component: cur }),
                Err(e) => return Err(ResolveError::Io { host, source: e }),
            };
            if md.file_type().is_symlink() && (!last || follow_last) {
                links += 1;
                if links > MAX_LINKS {
                    return Err(ResolveError::Loop { path: clean(cpath) });
                }
                let target = std::fs::read_link(&host).map_err(|e| ResolveError::Io { host: host.clone(), source: e })?;
                let target = target.to_string_lossy().into_owned();
                stack.pop();
                if target.starts_with('/') {
                    stack.clear();
                }
                for c in components(&target).collect::<Vec<_>>().into_iter().rev() {
                    todo.push_front(c.to_string());
                }
            } else if !last && !md.is_dir() {
                return Err(ResolveError::NotDir { path: clean(cpath), component: cur });
            }
        }
        let container = join(&stack);
        let place = self.place(&container);
        Ok(Resolved { container, place })
    }

    /// Host path of a container path, following symlinks inside the
    /// container; `None` when it is missing or below an opaque mount.
    pub fn host_file(&self, cpath: &str) -> Option<PathBuf> {
        match self.resolve(cpath, true).ok()?.place {
            Place::Host(h) => Some(h),
            Place::Opaque(_) => None,
        }
    }
}

fn clean(p: &str) -> String {
    crate::load::clean_container_path(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn resolves_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path().canonicalize().unwrap();
        std::fs::create_dir_all(r.join("usr/bin")).unwrap();
        std::fs::write(r.join("usr/bin/tool"), "x").unwrap();
        symlink("usr/bin", r.join("bin")).unwrap();
        symlink("/usr/bin/tool", r.join("usr/bin/abs")).unwrap();
        symlink("../../../../../../usr/bin/tool", r.join("usr/bin/climb")).unwrap();
        symlink("/etc/passwd", r.join("usr/bin/host")).unwrap();
        symlink("loop", r.join("loop")).unwrap();
        let v = View::new(&r);
        assert_eq!(v.resolve("/bin/tool", true).unwrap().container, "/usr/bin/tool");
        assert_eq!(v.resolve("/bin/abs", true).unwrap().place, Place::Host(r.join("usr/bin/tool")));
        assert_eq!(v.resolve("/bin/climb", true).unwrap().container, "/usr/bin/tool");
        assert_eq!(v.resolve("/bin/abs", false).unwrap().container, "/usr/bin/abs");
        assert!(matches!(v.resolve("/bin/host", true), Err(ResolveError::Missing { .. })));
        assert!(matches!(v.resolve("/loop", true), Err(ResolveError::Loop { .. })));
        assert!(matches!(v.resolve("/usr/bin/tool/x", true), Err(ResolveError::NotDir { .. })));
    }

    #[test]
    fn follows_mounts() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path().join("root");
        let data = t.path().join("data");
        std::fs::create_dir_all(r.join("srv")).unwrap();
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("f"), "x").unwrap();
        let mut v = View::new(&r);
        v.bind("/srv/data", &data);
        v.opaque("/proc");
        symlink("/srv/data/f", r.join("link")).unwrap();
        symlink("/proc/self/mounts", r.join("mtab")).unwrap();
        assert_eq!(v.host_file("/link").unwrap(), data.canonicalize().unwrap().join("f"));
        assert_eq!(v.resolve("/mtab", true).unwrap().place, Place::Opaque("/proc".into()));
    }
}
