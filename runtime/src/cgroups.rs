//! cgroups: create at `linux.cgroupsPath`, apply `linux.resources`, remove.
//!
//! On this project's hosts cgroups are often hybrid (v1 controllers plus a cgroup2 tree that
//! owns no controllers we use). There the runtime writes the control files itself
//! (`apply_v1`), from the layout read once from mountinfo (`layout`); libcgroups is used on
//! cgroup2-only hosts and for freeze and pids. A resource whose controller is missing is an
//! error, never a silent success.
//!
//! Ownership: `create` makes the container's cgroup directories itself and records each one
//! it made (or took over) in the container's state with its inode number ([`Ownership`]).
//! `delete` kills and removes only those, and only while the inode still matches: never a
//! cgroup that another container or the host uses, never a parent that existed before.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use libcgroups::common::{create_cgroup_manager, AnyCgroupManager, CgroupConfig, CgroupManager, ControllerOpt, FreezerState};
use oci_spec::runtime::LinuxResources;

mod apply_v1;
pub use apply_v1::needs_cpu;
mod layout;

pub use layout::layout;
use layout::CGROUP_ROOT;

pub const DEFAULT_PREFIX: &str = "/ocirt";

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroup {path}: {msg}")]
    Manager { path: PathBuf, msg: String },
    #[error("linux.resources: {0}")]
    Unsupported(String),
    #[error("linux.cgroupsPath {path}: {msg}")]
    NotOurs { path: PathBuf, msg: String },
}

/// What a recorded cgroup directory is to the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DirKind {
    /// The container's cgroup, made by its create: killed in and removed at delete.
    Leaf,
    /// The container's cgroup, which existed (empty) before: killed in, never removed.
    Adopted,
    /// A parent made by the runtime (by this create or, shared, by another container's):
    /// rmdir'ed at delete if empty, so the last container under it removes it.
    Parent,
}

/// One recorded directory, as a host path in one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedDir {
    pub path: PathBuf,
    /// The directory's inode number (kernfs never reuses one soon): a directory removed and
    /// made again by someone else under the same name is not ours. None: recorded before
    /// its mkdir (the runtime died before it could look), so it is only rmdir'ed if empty.
    #[serde(default)]
    pub ino: Option<u64>,
    pub kind: DirKind,
}

/// The cgroup directories a container owns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    pub dirs: Vec<OwnedDir>,
}

fn not_ours(path: &Path, msg: String) -> CgroupError {
    CgroupError::NotOurs { path: path.to_path_buf(), msg }
}

/// Every mounted hierarchy: /sys/fs/cgroup itself on a cgroup2-only host, else each
/// hierarchy mounted under it (v1 controllers, name=systemd, the hybrid cgroup2 tree).
/// A listing that fails is an error, never "no such hierarchy": a hierarchy left out of
/// the plan would leave the container at its root there, and no cleanup would know it.
/// The list comes from the layout read once from /proc/self/mountinfo.
pub fn hierarchies() -> Result<Vec<PathBuf>, CgroupError> {
    Ok(checked_layout()?.hierarchies.iter().map(|h| h.path.clone()).collect())
}

pub use layout::Hierarchy;

/// The mounted hierarchies as the layout read them (empty if mountinfo could not be read:
/// `hierarchies()` reports that error where it matters).
pub fn layout_hierarchies() -> &'static [Hierarchy] {
    layout::checked().map(|l| l.hierarchies.as_slice()).unwrap_or(&[])
}

/// The host's layout, or the error that mountinfo could not be read or lists no hierarchy.
fn checked_layout() -> Result<&'static layout::Layout, CgroupError> {
    let l = layout::checked()
        .map_err(|msg| CgroupError::Manager { path: PathBuf::from(CGROUP_ROOT), msg: format!("cannot list the cgroup hierarchies: {msg}") })?;
    if l.hierarchies.is_empty() {
        return Err(CgroupError::Unsupported(format!("no cgroup hierarchy is mounted under {CGROUP_ROOT} (read from /proc/self/mountinfo): mount cgroups")));
    }
    Ok(l)
}

fn relative(path: &Path) -> Result<&Path, CgroupError> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    if rel.as_os_str().is_empty() || rel.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
        return Err(not_ours(path, "names a hierarchy root or has `..` in it: give the container a cgroup of its own".into()));
    }
    Ok(rel)
}

/// The container's cgroup directory in every hierarchy, recorded before anything is made
/// (the claim writes this plan into the first state).
pub fn plan(path: &Path) -> Result<Ownership, CgroupError> {
    let rel = relative(path)?;
    let rootless = crate::rootless::rootless().map_err(|e| CgroupError::Manager { path: path.to_path_buf(), msg: e.to_string() })?;
    Ok(Ownership {
        dirs: crate::cgroup_placement::usable(hierarchies()?)
            .into_iter()
            .filter(|h| !rootless || crate::cgroup_placement::rootless_can_make(h, rel))
            .map(|h| OwnedDir { path: h.join(rel), ino: None, kind: DirKind::Leaf })
            .collect(),
    })
}

/// Refuses a cgroup that is, contains or lies inside another stored container's cgroup (its
/// delete would kill this one's processes, or this one's its).
pub fn check_claims(path: &Path, claims: &[crate::state::CgroupClaim], root: &Path) -> Result<(), CgroupError> {
    for c in claims {
        let other = Path::new("/").join(c.cgroup_path.strip_prefix("/").unwrap_or(&c.cgroup_path));
        let mine = Path::new("/").join(path.strip_prefix("/").unwrap_or(path));
        if mine.starts_with(&other) || other.starts_with(&mine) {
            let how = if mine == other {
                "is already"
            } else if mine.starts_with(&other) {
                "lies inside"
            } else {
                "contains"
            };
            return Err(not_ours(
                path,
                format!(
                    "{how} the cgroup of container {:?} ({}, in {}): give each container its own cgroupsPath (or delete {:?} first)",
                    c.id,
                    other.display(),
                    root.display(),
                    c.id
                ),
            ));
        }
    }
    Ok(())
}

/// Parents the runtime made, shared by every container under them: one entry per directory
/// in `<root>/.cgroup-parents`, named `<dev>-<ino>` of the directory. Whichever container
/// goes last removes the parent; a directory not listed (made by someone else) is never
/// removed.
///
/// The entries one create makes (a lone container's parent in each of ~10 hierarchies) are
/// hard links of one file that lists their directories, a line each: a link allocates no
/// inode, and on a disk-backed state root a new inode is the costliest metadata step of a
/// start (ext4 looks through the group's recently freed inodes for each).
pub struct ParentRegistry {
    dir: PathBuf,
    root: PathBuf,
    /// The container on whose behalf the registry is used.
    me: String,
    /// This create's first entry, which the next ones link to.
    first: std::cell::RefCell<Option<PathBuf>>,
}

impl ParentRegistry {
    pub fn new(root: &Path, me: &str) -> ParentRegistry {
        ParentRegistry { dir: root.join(".cgroup-parents"), root: root.to_path_buf(), me: me.to_string(), first: Default::default() }
    }

    /// True if another container is stored in this root (it may be under a busy parent).
    fn others_remain(&self) -> bool {
        std::fs::read_dir(&self.root).into_iter().flatten().flatten().any(|e| e.file_name().to_str().is_some_and(|n| !n.starts_with('.') && n != self.me))
    }

    fn entry(&self, m: &std::fs::Metadata) -> PathBuf {
        self.dir.join(format!("{}-{}", m.dev(), m.ino()))
    }

    /// Lists `dir` (just made, `m` its metadata). The entry holds the directory's path (with
    /// those of the other entries it is a link of), so that [`ParentRegistry::sweep`] can
    /// tell an entry whose directory is gone.
    fn add(&self, dir: &Path, m: &std::fs::Metadata) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::DirBuilderExt;
        let e = self.entry(m);
        let mut line = dir.as_os_str().as_bytes().to_vec();
        line.push(b'\n');
        if let Some(first) = self.first.borrow().as_ref() {
            // The path first, then the name: a crash in between leaves a line no entry
            // names, which the sweep ignores. A first entry gone meanwhile: a file of its own.
            let appended = std::fs::OpenOptions::new().append(true).open(first).and_then(|mut f| f.write_all(&line));
            if appended.is_ok() {
                // An entry of an earlier directory with the same device and inode is stale.
                let _ = std::fs::remove_file(&e);
                if std::fs::hard_link(first, &e).is_ok() {
                    return Ok(());
                }
            }
        }
        // Usually the registry exists (the create before listed its first parent in it).
        let written = match std::fs::write(&e, &line) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                // A delete may rmdir the registry (empty) between our mkdir and the file: retry once.
                let mut r = Err(err);
                for _ in 0..2 {
                    std::fs::DirBuilder::new().mode(0o700).recursive(true).create(&self.dir)?;
                    r = std::fs::write(&e, &line);
                    if !matches!(&r, Err(err) if err.kind() == std::io::ErrorKind::NotFound) {
                        break;
                    }
                }
                r
            }
            r => r,
        };
        written?;
        *self.first.borrow_mut() = Some(e);
        Ok(())
    }

    /// Drops the entries whose directory is gone (a delete killed, or an unlink that
    /// failed, between a parent's rmdir and the removal of its entry: nobody could ever
    /// look it up again by device and inode), then the registry itself if it is empty.
    /// An empty entry (an older runtime's, or one being written) is left alone. An empty
    /// registry that cannot be removed is an error (the state is kept, a later delete
    /// finishes); one that still has entries is another container's business.
    fn sweep(&self) -> Result<(), CgroupError> {
        use std::os::unix::ffi::OsStringExt;
        for e in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let Ok(body) = std::fs::read(e.path()) else { continue };
            if body.is_empty() {
                continue;
            }
            // Stale when none of the listed directories is the one the entry is named after
            // (gone, or another directory by now). A line that cannot be looked at for any
            // other reason than its absence keeps the entry.
            let mut stale = true;
            for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let dir = PathBuf::from(std::ffi::OsString::from_vec(line.to_vec()));
                match std::fs::symlink_metadata(&dir) {
                    Ok(m) if self.entry(&m).file_name() == Some(e.file_name().as_os_str()) => stale = false,
                    Ok(_) => {}
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(_) => stale = false,
                }
            }
            if stale {
                let _ = std::fs::remove_file(e.path());
            }
        }
        match std::fs::remove_dir(&self.dir) {
            Err(e) if !matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTEMPTY) | Some(libc::EEXIST)) => {
                Err(CgroupError::Manager { path: self.dir.clone(), msg: format!("cannot remove the empty parent registry: {e}") })
            }
            _ => Ok(()),
        }
    }

    fn contains(&self, m: &std::fs::Metadata) -> bool {
        self.entry(m).exists()
    }

    fn forget(&self, m: &std::fs::Metadata) {
        self.forget_entry(m);
        self.remove_if_empty();
    }

    fn forget_entry(&self, m: &std::fs::Metadata) {
        let _ = std::fs::remove_file(self.entry(m));
    }

    /// The last one out removes the registry itself (fails while it has entries).
    fn remove_if_empty(&self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// A control file's whole content: open, read, close (no stat for a size hint, no second
/// read to see EOF when a short read already said so; kernfs files are small).
pub(crate) fn read_small(p: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(p)?;
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    loop {
        let n = f.read(&mut buf[len..])?;
        len += n;
        if n == 0 || len < buf.len() {
            break;
        }
        buf.resize(buf.len() * 2, 0);
    }
    buf.truncate(len);
    String::from_utf8(buf).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

fn ino(p: &Path) -> std::io::Result<u64> {
    std::fs::metadata(p).map(|m| m.ino())
}

/// Makes the container's cgroup in every hierarchy as planned, recording what it made.
/// A cgroup that exists already is taken over only if no process is in it or anywhere
/// below it. Missing parents are recorded (`save` is called) before they are made, so a
/// runtime killed half-way leaves nothing unrecorded. A new directory is empty by
/// definition: only existing ones are walked.
pub fn make_dirs(
    path: &Path,
    own: &mut Ownership,
    reg: &ParentRegistry,
    mut save: impl FnMut(&Ownership) -> Result<(), CgroupError>,
) -> Result<(), CgroupError> {
    let mut made = vec![];
    let r = make_leaves(path, own, reg, &mut save, &mut made);
    if r.is_err() {
        // Planned directories not looked at yet may be someone else's: not this cleanup's.
        // One this create made but could not stat (its inode unknown) stays recorded: the
        // cleanup removes it only while it is empty.
        own.dirs.retain(|d| d.ino.is_some() || made.contains(&d.path));
    }
    r
}

fn make_leaves(
    path: &Path,
    own: &mut Ownership,
    reg: &ParentRegistry,
    save: &mut impl FnMut(&Ownership) -> Result<(), CgroupError>,
    made: &mut Vec<PathBuf>,
) -> Result<(), CgroupError> {
    let leaves: Vec<PathBuf> = own.dirs.iter().filter(|d| d.kind == DirKind::Leaf && d.ino.is_none()).map(|d| d.path.clone()).collect();
    let fail = |p: &Path, e: std::io::Error| CgroupError::Manager { path: p.to_path_buf(), msg: e.to_string() };
    let mkdir = |leaf: &Path| match std::fs::create_dir(leaf) {
        Ok(()) => Ok(Some(true)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Some(false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(fail(leaf, e)),
    };
    let mut existing = vec![];
    let mut orphans = vec![];
    for leaf in &leaves {
        // The hierarchies mirror each other: once one says the parent is missing (the first
        // container under a new parent), the others are taken as missing it too, and made
        // with the parents below (a leaf whose parent did exist is then simply made there).
        if !orphans.is_empty() {
            orphans.push(leaf);
            continue;
        }
        match mkdir(leaf)? {
            Some(true) => {
                made.push(leaf.clone());
                record(own, leaf, DirKind::Leaf)?
            }
            Some(false) => existing.push(leaf),
            None => orphans.push(leaf),
        }
    }
    // Rare (the first container under a new parent): one state write for all of them. A
    // concurrent delete may remove an empty parent between its mkdir and the leaf's: the
    // parents are made again, a few times, before that is an error.
    for attempt in 1..=3 {
        if orphans.is_empty() {
            break;
        }
        make_parents(&orphans, own, reg, save, made)?;
        let mut again = vec![];
        for leaf in orphans {
            match mkdir(leaf)? {
                Some(true) => {
                    made.push(leaf.clone());
                    record(own, leaf, DirKind::Leaf)?
                }
                Some(false) => existing.push(leaf),
                None if attempt < 3 => again.push(leaf),
                None => return Err(fail(leaf, std::io::Error::from_raw_os_error(libc::ENOENT))),
            }
        }
        orphans = again;
    }
    // Only directories that existed before are walked: a new one is empty by definition.
    for leaf in existing {
        if let Err(e) = check_subtree_unused(path, leaf) {
            // Not ours: forget it, so the cleanup of this create does not touch it.
            own.dirs.retain(|d| &d.path != leaf);
            return Err(e);
        }
        record(own, leaf, DirKind::Adopted)?;
    }
    Ok(())
}

/// Notes the identity of a directory just made (or checked and taken over).
fn record(own: &mut Ownership, dir: &Path, kind: DirKind) -> Result<(), CgroupError> {
    let i = ino(dir).map_err(|e| CgroupError::Manager { path: dir.to_path_buf(), msg: e.to_string() })?;
    if let Some(d) = own.dirs.iter_mut().find(|d| d.path == dir) {
        d.ino = Some(i);
        d.kind = kind;
    }
    Ok(())
}

/// `<hierarchy root>/ocirt`: the parent of the default cgroup path `/ocirt/<id>`.
fn is_default_parent(d: &Path, unified: bool) -> bool {
    let top = Path::new(CGROUP_ROOT);
    let root = if unified { Some(top) } else { d.parent().and_then(Path::parent) };
    d.file_name() == Path::new(DEFAULT_PREFIX).file_name() && root == Some(top) && (unified || d.parent() != Some(top))
}

/// Makes the missing parents of `leaves`. Each is first recorded in this container's state
/// (so a runtime killed right after the mkdir still leaves it recorded), then made, then
/// listed in the registry, where every later container under it finds it.
fn make_parents(
    leaves: &[&PathBuf],
    own: &mut Ownership,
    reg: &ParentRegistry,
    save: &mut impl FnMut(&Ownership) -> Result<(), CgroupError>,
    made: &mut Vec<PathBuf>,
) -> Result<(), CgroupError> {
    let mut missing = vec![];
    for leaf in leaves {
        // The leaf's mkdir said ENOENT: its parent is missing (made meanwhile by someone
        // else, the parent's mkdir below says so); look further up only from there.
        let mut chain = vec![];
        let mut p = leaf.parent();
        while let Some(d) = p {
            if !chain.is_empty() && d.exists() {
                break;
            }
            chain.push(d.to_path_buf());
            p = d.parent();
        }
        // Outermost first.
        missing.extend(chain.into_iter().rev());
    }
    for m in &missing {
        own.dirs.retain(|d| &d.path != m);
        own.dirs.push(OwnedDir { path: m.clone(), ino: None, kind: DirKind::Parent });
    }
    save(own)?;
    for m in &missing {
        match std::fs::create_dir(m) {
            Ok(()) => {
                made.push(m.clone());
                let fail = |e: std::io::Error| CgroupError::Manager { path: m.clone(), msg: e.to_string() };
                let md = std::fs::metadata(m).map_err(fail)?;
                // Identity first: if listing it fails, this create's cleanup still knows
                // the directory as its own.
                if let Some(d) = own.dirs.iter_mut().find(|d| &d.path == m) {
                    d.ino = Some(md.ino());
                }
                reg.add(m, &md).map_err(|e| CgroupError::Manager { path: reg.dir.clone(), msg: e.to_string() })?;
            }
            // Made by someone else meanwhile: not ours.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => own.dirs.retain(|d| &d.path != m),
            Err(e) => return Err(CgroupError::Manager { path: m.clone(), msg: e.to_string() }),
        }
    }
    Ok(())
}

/// Fails if any cgroup at or below `dir` has a process: the container would share it, and
/// its delete would kill what is not its own. Stops at the first process found.
fn check_subtree_unused(path: &Path, dir: &Path) -> Result<(), CgroupError> {
    let procs = dir.join("cgroup.procs");
    match std::fs::read_to_string(&procs) {
        Ok(s) if !s.trim().is_empty() => {
            return Err(not_ours(
                path,
                format!("the existing cgroup {} already has processes ({}): give the container a cgroup of its own", dir.display(), procs.display()),
            ))
        }
        Ok(_) => {}
        Err(e) => return Err(not_ours(path, format!("cannot check that {} is unused: {e}", procs.display()))),
    }
    let entries = std::fs::read_dir(dir).map_err(|e| not_ours(path, format!("cannot list {}: {e}", dir.display())))?;
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            check_subtree_unused(path, &e.path())?;
        }
    }
    Ok(())
}

/// Kills and removes what `own` records, and only while each directory is still the one
/// recorded. Then climbs from each cgroup towards the hierarchy root, removing parents the
/// runtime made (listed in the registry, or recorded by this create) while they are empty;
/// it stops at the first busy one (another container is still under it) and at the first
/// one the runtime did not make, so no parent that existed before is ever removed.
pub fn remove_owned(own: &Ownership, reg: &ParentRegistry) -> Result<(), CgroupError> {
    let still_ours = |d: &OwnedDir| match d.ino {
        Some(i) => ino(&d.path).is_ok_and(|now| now == i),
        None => false,
    };
    let mut leaves: Vec<&OwnedDir> = own.dirs.iter().filter(|d| d.kind != DirKind::Parent && still_ours(d)).collect();
    // A stopped container's cgroups hold no process and no child: one rmdir each, which the
    // kernel refuses (EBUSY, ENOTEMPTY) otherwise. A process of the container is in its
    // subtree in every hierarchy where it still is, so a hierarchy whose rmdir succeeded
    // had none; the rest take the full path below (kill everywhere first, then remove).
    leaves.retain(|d| {
        if d.kind != DirKind::Leaf {
            return true;
        }
        match std::fs::remove_dir(&d.path) {
            Ok(()) => false,
            Err(e) => e.kind() != std::io::ErrorKind::NotFound,
        }
    });
    for d in &leaves {
        kill_tree(&d.path);
    }
    for d in &leaves {
        if d.kind == DirKind::Leaf {
            remove_tree(&d.path).map_err(|e| CgroupError::Manager { path: d.path.clone(), msg: e.to_string() })?;
        }
    }
    // Recorded before their mkdir, never looked at: rmdir only, which fails unless empty.
    for d in own.dirs.iter().filter(|d| d.kind == DirKind::Leaf && d.ino.is_none()) {
        let _ = std::fs::remove_dir(&d.path);
    }
    // An unreadable layout reads as "not unified": every /sys/fs/cgroup/<x> is then taken
    // for a hierarchy root, which is never removed (the safe side).
    let unified = layout().unified;
    // From each cgroup upwards; then from each parent this create recorded, innermost
    // first: a create that failed before it made (or recorded) its leaves still removes the
    // parents it made.
    let leaf_parents = own.dirs.iter().filter(|d| d.kind != DirKind::Parent).filter_map(|d| d.path.parent());
    let made_parents = own.dirs.iter().rev().filter(|d| d.kind == DirKind::Parent).map(|d| d.path.as_path());
    let mut r = Ok(());
    for start in leaf_parents.chain(made_parents) {
        if let Err(e) = remove_parents(start, own, reg, unified) {
            // The others are still tried; the first error is reported, and the state kept.
            r = r.and(Err(e));
        }
    }
    r.and(reg.sweep())
}

/// Removes `start` and the directories above it while they are parents the runtime made
/// and empty. Busy (EBUSY, ENOTEMPTY) ends the climb; any other failure is an error, so
/// that the caller keeps the state and a later `delete` can finish.
fn remove_parents(start: &Path, own: &Ownership, reg: &ParentRegistry, unified: bool) -> Result<(), CgroupError> {
    let top = Path::new(CGROUP_ROOT);
    let fail = |d: &Path, e: std::io::Error| CgroupError::Manager { path: d.to_path_buf(), msg: e.to_string() };
    let mut p = Some(start);
    while let Some(d) = p {
        // Never a hierarchy root (/sys/fs/cgroup/<h>, or /sys/fs/cgroup on cgroup2 hosts).
        if d == top || (!unified && d.parent() == Some(top)) {
            return Ok(());
        }
        let md = match std::fs::symlink_metadata(d) {
            Ok(md) => md,
            // Gone already (or never made: a create killed half-way); look further up.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                p = d.parent();
                continue;
            }
            Err(e) => return Err(fail(d, e)),
        };
        // Made by this create (recorded with this identity), or listed by whichever create
        // made it; the registry is only looked at when the record does not say.
        let recorded = own.dirs.iter().any(|o| o.kind == DirKind::Parent && o.path == d && o.ino.is_none_or(|i| i == md.ino()));
        // The runtime's own default parent (/ocirt under a hierarchy root) is the runtime's
        // whatever root made it: containers of several --roots share it, and the list of
        // parents is per root, so the last one out of any root removes it when empty.
        if !recorded && !reg.contains(&md) && !is_default_parent(d, unified) {
            return Ok(());
        }
        match std::fs::remove_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::ENOTEMPTY)) => {
                // Busy. If no container of this root is left, what keeps it busy is not ours
                // (a container of another root, a host process): nobody here will ever remove
                // it, so the entry goes and the directory stays.
                if reg.contains(&md) && !reg.others_remain() {
                    reg.forget(&md);
                }
                return Ok(());
            }
            Err(e) => return Err(fail(d, e)),
        }
        reg.forget_entry(&md);
        p = d.parent();
    }
    Ok(())
}

/// Every process in the container's recorded cgroups (still the recorded directories),
/// sub-cgroups included, each pid once.
pub fn owned_pids(own: &Ownership) -> Vec<i32> {
    fn walk(dir: &Path, out: &mut Vec<i32>) {
        if let Ok(procs) = read_small(&dir.join("cgroup.procs")) {
            out.extend(procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&e.path(), out);
            }
        }
    }
    let mut v = vec![];
    for d in own.dirs.iter().filter(|d| d.kind != DirKind::Parent) {
        if d.ino.is_some_and(|i| ino(&d.path).is_ok_and(|now| now == i)) {
            walk(&d.path, &mut v);
        }
    }
    v.sort_unstable();
    v.dedup();
    v
}

fn kill_tree(dir: &Path) {
    kill_all(dir);
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            kill_tree(&e.path());
        }
    }
}

/// The cgroup path for a container: `linux.cgroupsPath` if absolute; relative or absent, see
/// [`crate::cgroup_placement`] (below the runtime's own cgroup, or DEFAULT_PREFIX/id).
/// systemd's "slice:prefix:name" form (sent with --systemd-cgroup) is mapped to the path
/// systemd would use, since there is no systemd to ask on a host without it.
pub fn path_for(config_path: Option<&Path>, id: &str) -> Result<PathBuf, CgroupError> {
    let below_own = |rel: Option<&Path>, id| {
        crate::cgroup_placement::below_own(rel, id, DEFAULT_PREFIX)
            .map_err(|e| CgroupError::NotOurs { path: rel.map_or_else(|| "(absent)".into(), Path::to_path_buf), msg: e.to_string() })
    };
    Ok(match config_path {
        Some(p) if !p.as_os_str().is_empty() => {
            let s = p.to_string_lossy();
            let parts: Vec<&str> = s.split(':').collect();
            if parts.len() == 3 && !s.starts_with('/') {
                let slice = if parts[0].is_empty() { "system.slice" } else { parts[0] };
                PathBuf::from(format!("/{slice}/{}-{}.scope", parts[1], parts[2]))
            } else if p.is_absolute() {
                p.to_path_buf()
            } else {
                below_own(Some(p), id)?
            }
        }
        _ => below_own(None, id)?,
    })
}

fn manager(path: &Path, id: &str) -> Result<AnyCgroupManager, CgroupError> {
    create_cgroup_manager(CgroupConfig { cgroup_path: path.to_path_buf(), systemd_cgroup: false, container_name: id.to_string() })
        .map_err(|e| CgroupError::Manager { path: path.to_path_buf(), msg: e.to_string() })
}

fn err(path: &Path) -> impl FnOnce(libcgroups::common::AnyManagerError) -> CgroupError + '_ {
    move |e| CgroupError::Manager { path: path.to_path_buf(), msg: format!("{e}") }
}

/// The v1 controller (and the config field) each resource the config sets needs; "" for
/// `unified`, which only cgroup2 has. One table for the support and rootless checks.
pub fn controllers_needed(res: &LinuxResources) -> impl Iterator<Item = (&'static str, &'static str)> {
    // cpu.cpus and cpu.mems are the cpuset controller's (a hierarchy of its own on v1): a
    // refusal names them, not the cpu controller that carries the rest of the object.
    let cpu = res.cpu().as_ref();
    let cpu_ctl = cpu.is_some_and(|c| apply_v1::needs_cpu(c) || (c.cpus().is_none() && c.mems().is_none()));
    // So are net_cls and net_prio, which linux.resources.network sets one field each of.
    let net = res.network().as_ref();
    [
        (res.memory().is_some(), "memory", "linux.resources.memory"),
        (cpu_ctl, "cpu", "linux.resources.cpu"),
        (cpu.is_some_and(|c| c.cpus().is_some()), "cpuset", "linux.resources.cpu.cpus"),
        (cpu.is_some_and(|c| c.mems().is_some()), "cpuset", "linux.resources.cpu.mems"),
        (res.pids().is_some(), "pids", "linux.resources.pids"),
        (res.block_io().is_some(), "blkio", "linux.resources.blockIO"),
        (res.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()), "hugetlb", "linux.resources.hugepageLimits"),
        (net.is_some_and(|n| n.class_id().is_some() || n.priorities().is_none()), "net_cls", "linux.resources.network.classID"),
        (net.is_some_and(|n| n.priorities().is_some()), "net_prio", "linux.resources.network.priorities"),
        (res.devices().as_ref().is_some_and(|d| !d.is_empty()), "devices", "linux.resources.devices"),
        (res.unified().as_ref().is_some_and(|u| !u.is_empty()), "", "linux.resources.unified"),
    ]
    .into_iter()
    .filter_map(|(asked, ctl, field)| asked.then_some((ctl, field)))
}

/// Checks, before anything is created, that every resource asked for has a controller here.
pub fn check_supported(res: &LinuxResources) -> Result<(), CgroupError> {
    let l = checked_layout()?;
    let unified = l.unified;
    // `devices` and `unified` are checked below, with messages of their own.
    if !unified {
        for (ctl, field) in controllers_needed(res).filter(|(ctl, _)| !matches!(*ctl, "devices" | "")) {
            if l.v1(ctl).is_none() {
                return Err(CgroupError::Unsupported(format!(
                    "{field} needs the {ctl} cgroup controller, which this host does not mount as cgroup v1: remove {field}"
                )));
            }
        }
    }
    crate::cgroup_placement::check_writable(res).map_err(|e| CgroupError::Unsupported(e.to_string()))?;
    if !unified && res.unified().as_ref().is_some_and(|u| !u.is_empty()) {
        return Err(CgroupError::Unsupported(
            "linux.resources.unified needs a cgroup v2 host; this one manages containers through cgroup v1: remove it".into(),
        ));
    }
    if unified && res.devices().as_ref().is_some_and(|d| !d.is_empty()) {
        // libcgroups' v2 device filter needs its eBPF feature, which we do not build.
        return Err(CgroupError::Unsupported("linux.resources.devices needs cgroup v1 devices here".into()));
    }
    if res.rdma().is_some() {
        return Err(CgroupError::Unsupported("linux.resources.rdma is not supported: remove it".into()));
    }
    Ok(())
}

/// The container's cgroups, opened for a new process to enter by itself.
///
/// Why by itself: a pid written into `cgroup.procs` (or `tasks`) by another process makes
/// the cgroup core take its global threadgroup lock for writing, and that writer waits for
/// an RCU grace period: 7–20 ms per start on this kind of machine, more than all our own
/// work. A single-threaded process writing "0" (itself) into a v1 `tasks` file skips that
/// lock; a process cloned with CLONE_INTO_CGROUP is born in its cgroup2 directory without
/// any migration. The files are opened by the runtime before the clone: the kernel checks
/// a v1 move against the credentials of whoever opened the file, so the child may already
/// be in a user namespace of its own.
pub struct Entry {
    v1_tasks: Vec<(PathBuf, OwnedFd)>,
    v2: Option<(PathBuf, OwnedFd)>,
}

impl Entry {
    /// The cgroup2 directory to clone into, if the container has one.
    pub fn v2_dir(&self) -> Option<RawFd> {
        self.v2.as_ref().map(|(_, fd)| fd.as_raw_fd())
    }

    /// In the new process, before anything else: moves itself into every v1 directory.
    /// The error names the directory; the caller reports it and exits.
    pub fn enter_v1(self) -> Result<(), String> {
        for (dir, fd) in &self.v1_tasks {
            // One byte: a short write is not possible, only a refusal.
            nix::unistd::write(fd, b"0").map_err(|e| format!("cgroup {}: enter it (write 0 to tasks): {e}", dir.display()))?;
        }
        Ok(())
    }

    /// In the runtime, when the clone could not be born in the cgroup2 directory (a kernel
    /// or a seccomp filter without clone3): moves `pid` there the slow way.
    pub fn place_v2(&self, pid: i32) -> Result<(), CgroupError> {
        match &self.v2 {
            Some((dir, _)) => apply_v1::write(dir, "cgroup.procs", &pid.to_string()),
            None => Ok(()),
        }
    }
}

/// Makes the container's cgroups ready for its init (made by [`make_dirs`], recorded in
/// `own`): applies `res` and opens the [`Entry`], all before the clone, so the init is never
/// outside its limits. `None` on cgroup2-only hosts: there the pid is placed after the clone
/// ([`setup_after_clone`]).
///
/// No libcgroups manager on v1 and hybrid hosts: its v1 controllers are found through
/// pathrs' procfs handle, which panics (an abort in release builds, skipping every
/// cleanup) when an fstat of /proc fails, and it would only re-discover what `own` and the
/// layout hold. The runtime writes the files the config sets ([`apply_v1`]), then the init
/// enters every recorded directory (v1 controllers, name=systemd, the cgroup2 tree: left at
/// a root the container would see the host's whole tree there, release_agent included,
/// CVE-2022-0492 class). cgroup2-only hosts use libcgroups for limits, which also delegates
/// controllers down the path: that happens after the clone ([`setup_after_clone`]).
pub fn prepare(path: &Path, res: Option<&LinuxResources>, own: &Ownership) -> Result<Option<Entry>, CgroupError> {
    let placed = |e: crate::cgroup_placement::PlacementError| CgroupError::Manager { path: path.to_path_buf(), msg: e.to_string() };
    let empty = LinuxResources::default();
    let res = res.unwrap_or(&empty);
    let made: Vec<PathBuf> = own.dirs.iter().filter(|d| d.kind != DirKind::Parent).map(|d| d.path.clone()).collect();
    crate::cgroup_placement::check_rootless_limits(res, &made, path).map_err(placed)?;
    crate::cgroup_placement::make_room(path, *res != empty).map_err(placed)?;
    let l = checked_layout()?;
    if l.unified {
        return Ok(None);
    }
    if crate::cgroup_placement::v1_read_only() {
        // check_supported refused each limit whose hierarchy is read-only; this is the
        // backstop for a mix (the read-only hierarchies have no directory of the container).
        let mut others = res.clone();
        others.set_devices(None);
        if others != empty || res.devices().as_ref().is_some_and(|d| !d.is_empty()) {
            return Err(CgroupError::Unsupported(
                "linux.resources: some cgroup v1 hierarchies are read-only here (not delegated to this service), and limits need them writable: remove linux.resources, or run where root can write /sys/fs/cgroup".into(),
            ));
        }
        return entry(l, own, Some(res)).map(Some);
    }
    apply_v1::apply(l, relative(path)?, res)?;
    entry(l, own, Some(res)).map(Some)
}

/// cgroup2-only hosts ([`prepare`] said `None`): puts `pid` into the container's cgroup
/// and applies `res` through libcgroups.
pub fn setup_after_clone(path: &Path, id: &str, pid: i32, res: Option<&LinuxResources>, own: &Ownership) -> Result<(), CgroupError> {
    let empty = LinuxResources::default();
    let res = res.unwrap_or(&empty);
    add_task(own, pid)?;
    if *res == empty {
        return Ok(());
    }
    let mgr = manager(path, id)?;
    let opt = ControllerOpt { resources: res, disable_oom_killer: oom_killer_disabled(Some(res)), oom_score_adj: None, freezer_state: None };
    mgr.apply(&opt).map_err(err(path))
}

/// The directories of the container a process enters (not the parents), as `own` recorded
/// them.
fn entered(own: &Ownership) -> impl Iterator<Item = &OwnedDir> {
    own.dirs.iter().filter(|d| d.kind != DirKind::Parent && d.ino.is_some())
}

/// Opens the [`Entry`] of every directory the container owns, in every hierarchy.
/// `fill`: the resources of a create, whose new v1 cpuset directories get their parent's
/// cpus and mems first (the kernel takes no task into an empty cpuset); an exec joins a
/// cpuset that holds the init already (`None`).
fn entry(l: &layout::Layout, own: &Ownership, fill: Option<&LinuxResources>) -> Result<Entry, CgroupError> {
    // A directory this create made is empty (or holds its parent's values already): it is
    // written without being read first.
    let fresh = |d: &Path| own.dirs.iter().any(|o| o.path == d && o.ino.is_some() && o.kind != DirKind::Adopted);
    let mut e = Entry { v1_tasks: Vec::new(), v2: None };
    for d in entered(own) {
        let h = l.hierarchies.iter().find(|h| d.path.starts_with(&h.path));
        if let (Some(res), Some(h)) = (fill, h.filter(|h| !h.v2 && h.has("cpuset"))) {
            apply_v1::fill_cpuset(h, &d.path, res, &fresh)?;
        }
        let open_err = |what: &str, e: std::io::Error| CgroupError::Manager { path: d.path.clone(), msg: format!("open {what}: {e}") };
        if h.is_some_and(|h| h.v2) && e.v2.is_none() {
            let fd = std::fs::File::open(&d.path).map_err(|x| open_err("the directory", x))?;
            e.v2 = Some((d.path.clone(), fd.into()));
        } else {
            let fd = std::fs::OpenOptions::new().write(true).open(d.path.join("tasks")).map_err(|x| open_err("tasks", x))?;
            e.v1_tasks.push((d.path.clone(), fd.into()));
        }
    }
    Ok(e)
}

/// Writes `pid` into `cgroup.procs` of every cgroup the container owns, in every hierarchy:
/// the slow way ([`Entry`] says why), for cgroup2-only hosts.
fn add_task(own: &Ownership, pid: i32) -> Result<(), CgroupError> {
    let pid = pid.to_string();
    for d in entered(own) {
        apply_v1::write(&d.path, "cgroup.procs", &pid)?;
    }
    Ok(())
}

/// `linux.resources.memory.disableOOMKiller` for libcgroups on cgroup2 hosts (v1 writes
/// memory.oom_control in [`apply_v1`]); cgroup v2 has no such switch and, like runc, it is
/// not applied there (memory.oom.group is a different thing).
fn oom_killer_disabled(res: Option<&LinuxResources>) -> bool {
    res.and_then(|r| r.memory().as_ref()).and_then(|m| m.disable_oom_killer()).unwrap_or(false)
}

/// How an `exec`'d process enters an existing container cgroup: born into the directories its
/// create recorded ([`Entry`]), or (`None`), on cgroup2-only hosts and for a state written
/// before they were recorded, placed after the clone by [`join`].
pub fn prepare_join(own: Option<&Ownership>) -> Result<Option<Entry>, CgroupError> {
    let l = checked_layout()?;
    match own {
        Some(own) if !l.unified => entry(l, own, None).map(Some),
        _ => Ok(None),
    }
}

/// Adds `pid` to an existing container cgroup after the clone ([`prepare_join`] said
/// `None`): into the directories its create recorded (no libcgroups
/// manager, so no pathrs; see [`prepare`]), or, for a state written before they were
/// recorded, into the container's directory in every hierarchy.
pub fn join(path: &Path, id: &str, pid: i32, own: Option<&Ownership>) -> Result<(), CgroupError> {
    let l = checked_layout()?;
    if let Some(own) = own {
        return add_task(own, pid);
    }
    if l.unified {
        let mgr = manager(path, id)?;
        return mgr.add_task(nix_cg::unistd::Pid::from_raw(pid)).map_err(err(path));
    }
    let rel = relative(path)?;
    let pid = pid.to_string();
    for h in crate::cgroup_placement::usable(l.hierarchies.iter().map(|h| h.path.clone()).collect()) {
        apply_v1::write(&h.join(rel), "cgroup.procs", &pid)?;
    }
    Ok(())
}

/// Removes the cgroup of a container whose state predates [`Ownership`]: kills what is in
/// it and removes it in every hierarchy. Parents are left alone (nothing says who made them).
pub fn remove_unrecorded(path: &Path) -> Result<(), CgroupError> {
    let rel = relative(path)?;
    let dirs: Vec<PathBuf> = hierarchies()?.into_iter().map(|h| h.join(rel)).filter(|d| d.is_dir()).collect();
    for d in &dirs {
        kill_tree(d);
    }
    for d in &dirs {
        remove_tree(d).map_err(|e| CgroupError::Manager { path: d.clone(), msg: e.to_string() })?;
    }
    Ok(())
}

fn kill_all(dir: &Path) {
    if let Ok(procs) = read_small(&dir.join("cgroup.procs")) {
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            // A pid listed in the container's cgroup; one gone since is not an error.
            let _ = crate::sys::kill(pid, libc::SIGKILL);
        }
    }
}

/// rmdir, children first; retries while killed processes finish exiting (EBUSY).
fn remove_tree(dir: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)?.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            kill_all(&e.path());
            remove_tree(&e.path())?;
        }
    }
    let mut tries = 0;
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 400 => {
                tries += 1;
                if tries % 20 == 0 {
                    kill_all(dir);
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    }
}

pub fn freeze(path: &Path, id: &str, frozen: bool) -> Result<(), CgroupError> {
    if crate::cgroup_placement::v1_read_only() {
        return crate::cgroup_placement::freeze_v2(path, frozen).map_err(|e| CgroupError::Manager { path: path.to_path_buf(), msg: e.to_string() });
    }
    let mgr = manager(path, id)?;
    mgr.freeze(if frozen { FreezerState::Frozen } else { FreezerState::Thawed }).map_err(err(path))
}

pub fn pids(path: &Path, id: &str) -> Result<Vec<i32>, CgroupError> {
    if crate::cgroup_placement::v1_read_only() {
        let rel = path.strip_prefix("/").unwrap_or(path);
        let dirs = crate::cgroup_placement::usable(hierarchies()?).into_iter().map(|h| OwnedDir {
            ino: ino(&h.join(rel)).ok(),
            path: h.join(rel),
            kind: DirKind::Leaf,
        });
        return Ok(owned_pids(&Ownership { dirs: dirs.collect() }));
    }
    let mgr = manager(path, id)?;
    Ok(mgr.get_all_pids().map_err(err(path))?.into_iter().map(|p| p.as_raw()).collect())
}

/// Cheap check for `state`: reads the freezer file directly instead of building a manager.
pub fn is_frozen(path: &Path) -> bool {
    let rel = path.strip_prefix("/").unwrap_or(path);
    if let Ok(s) = read_small(&Path::new("/sys/fs/cgroup/freezer").join(rel).join("freezer.state")) {
        return s.trim() == "FROZEN";
    }
    if let Ok(s) = std::fs::read_to_string(Path::new("/sys/fs/cgroup").join(rel).join("cgroup.freeze")) {
        return s.trim() == "1";
    }
    crate::cgroup_placement::is_frozen_v2(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(path_for(None, "c1").unwrap(), PathBuf::from("/ocirt/c1"));
        assert!(is_default_parent(Path::new("/sys/fs/cgroup/pids/ocirt"), false));
        assert!(is_default_parent(Path::new("/sys/fs/cgroup/ocirt"), true));
        assert!(!is_default_parent(Path::new("/sys/fs/cgroup/ocirt"), false), "a v1 hierarchy named ocirt is a root");
        assert!(!is_default_parent(Path::new("/sys/fs/cgroup/pids/x/ocirt"), false));
        assert!(!is_default_parent(Path::new("/sys/fs/cgroup/pids/other"), false));
        assert_eq!(path_for(Some(Path::new("/a/b")), "c1").unwrap(), PathBuf::from("/a/b"));
        assert_eq!(path_for(Some(Path::new("rel/x")), "c1").unwrap(), crate::cgroup_placement::own_cgroup().unwrap().join("rel/x"));
        assert_eq!(path_for(Some(Path::new("system.slice:libpod:abc")), "c1").unwrap(), PathBuf::from("/system.slice/libpod-abc.scope"));
        assert!(relative(Path::new("/")).is_err());
        assert!(relative(Path::new("/a/../b")).is_err());
        assert_eq!(relative(Path::new("/a/b")).unwrap(), Path::new("a/b"));
    }

    fn claim(id: &str, p: &str) -> crate::state::CgroupClaim {
        serde_json::from_value(serde_json::json!({"id": id, "cgroup_path": p})).unwrap()
    }

    #[test]
    fn claims_of_other_containers_are_refused_with_their_name() {
        let root = Path::new("/run/x");
        let others = [claim("a", "/ocirt/a"), claim("deep", "/ocirt/p/q")];
        assert!(check_claims(Path::new("/ocirt/b"), &others, root).is_ok());
        assert!(check_claims(Path::new("/ocirt/ab"), &others, root).is_ok(), "a name prefix is not a path prefix");
        assert!(check_claims(Path::new("/ocirt/p/r"), &others, root).is_ok());
        for (mine, how) in [("/ocirt/a", "is already"), ("/ocirt/a/sub", "lies inside"), ("/ocirt/p", "contains"), ("/ocirt", "contains")] {
            let e = check_claims(Path::new(mine), &others, root).unwrap_err().to_string();
            assert!(e.contains(how) && e.contains(mine), "{mine}: {e}");
        }
        let e = check_claims(Path::new("/ocirt/a"), &others, root).unwrap_err().to_string();
        assert!(e.contains("\"a\"") && e.contains("/run/x"), "{e}");
    }

    /// A create that failed after making parents but before recording any leaf (a mkdir or
    /// the registry failing) still removes the parents it made, innermost first, and no
    /// parent it did not make.
    #[test]
    fn remove_owned_removes_recorded_parents_without_leaves() {
        let base = std::env::temp_dir().join(format!("ocirt-cg-unit-p-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let pre = base.join("pre");
        let (outer, inner) = (pre.join("a"), pre.join("a/b"));
        std::fs::create_dir_all(&inner).unwrap();
        let reg = ParentRegistry::new(&base.join("state"), "c");
        let rec = |p: &Path| OwnedDir { path: p.to_path_buf(), ino: Some(ino(p).unwrap()), kind: DirKind::Parent };
        let own = Ownership { dirs: vec![rec(&outer), rec(&inner)] };
        remove_owned(&own, &reg).unwrap();
        assert!(!outer.exists() && pre.is_dir());
        std::fs::remove_dir_all(&base).unwrap();
    }

    /// An entry whose directory is gone (a delete killed between the rmdir and the
    /// unlink) is dropped by the next removal; a live directory's entry and an empty
    /// (older or half-written) entry stay.
    #[test]
    fn stale_registry_entries_are_swept() {
        let base = std::env::temp_dir().join(format!("ocirt-cg-unit-s-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (gone, live) = (base.join("gone"), base.join("live"));
        std::fs::create_dir_all(&gone).unwrap();
        std::fs::create_dir_all(&live).unwrap();
        let reg = ParentRegistry::new(&base.join("state"), "c");
        reg.add(&gone, &std::fs::metadata(&gone).unwrap()).unwrap();
        reg.add(&live, &std::fs::metadata(&live).unwrap()).unwrap();
        // One create's entries are links of one file (one inode), listing both directories.
        let (eg, el) = (reg.entry(&std::fs::metadata(&gone).unwrap()), reg.entry(&std::fs::metadata(&live).unwrap()));
        assert_eq!(ino(&eg).unwrap(), ino(&el).unwrap(), "entries of one create share their inode");
        assert_eq!(std::fs::read_to_string(&el).unwrap().lines().count(), 2);
        std::fs::write(reg.dir.join("1-2"), "").unwrap();
        std::fs::remove_dir(&gone).unwrap();
        remove_owned(&Ownership::default(), &reg).unwrap();
        let left: Vec<_> = std::fs::read_dir(&reg.dir).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left.len(), 2, "{left:?}");
        assert!(reg.contains(&std::fs::metadata(&live).unwrap()));
        std::fs::remove_file(reg.dir.join("1-2")).unwrap();
        reg.forget(&std::fs::metadata(&live).unwrap());
        assert!(!reg.dir.exists(), "the last one out removes the registry");
        std::fs::remove_dir_all(&base).unwrap();
    }

    /// remove_owned on plain directories (no cgroupfs needed): identity, kinds, parents.
    #[test]
    fn remove_owned_touches_only_recorded_directories_that_are_still_the_same() {
        let base = std::env::temp_dir().join(format!("ocirt-cg-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let pre = base.join("pre"); // existed before: never removed
        let made = pre.join("made"); // made by the runtime, registered
        let leaf = made.join("leaf");
        let child = leaf.join("sub"); // made inside the container's cgroup by the container
        let adopted = pre.join("adopted");
        let replaced = pre.join("replaced");
        let busy = pre.join("busy"); // made by the runtime, but someone else's cgroup is in it
        let busy_leaf = busy.join("leaf");
        for d in [&child, &adopted, &replaced, &busy_leaf, &busy.join("foreign")] {
            std::fs::create_dir_all(d).unwrap();
        }
        let reg = ParentRegistry::new(&base.join("state"), "c");
        reg.add(&made, &std::fs::metadata(&made).unwrap()).unwrap();
        reg.add(&busy, &std::fs::metadata(&busy).unwrap()).unwrap();
        let rec = |p: &Path, kind| OwnedDir { path: p.to_path_buf(), ino: Some(ino(p).unwrap()), kind };
        let mut stale = rec(&replaced, DirKind::Leaf);
        stale.ino = Some(stale.ino.unwrap() + 1_000_000); // someone else's directory by now
        let own = Ownership { dirs: vec![rec(&leaf, DirKind::Leaf), rec(&adopted, DirKind::Adopted), stale, rec(&busy_leaf, DirKind::Leaf)] };
        remove_owned(&own, &reg).unwrap();
        assert!(!leaf.exists() && !made.exists(), "own leaf and the registered parent go");
        // No container of this root is left to empty `busy`: its entry goes, the directory stays.
        assert!(!busy_leaf.exists() && busy.join("foreign").is_dir());
        assert!(adopted.is_dir() && replaced.is_dir() && pre.is_dir(), "adopted, replaced and pre-existing stay");
        assert!(!base.join("state/.cgroup-parents").exists(), "empty registry removed");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
