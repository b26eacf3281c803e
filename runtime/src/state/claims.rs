//! The cgroup claim index: which stored container owns which cgroup path, looked up without
//! reading any other container's state.
//!
//! Layout under a `--root`: `.cgroup-claims/` mirrors the claimed cgroup paths as a tree of
//! directories; the path `/a/b` is the node `.cgroup-claims/c/a/c/b`, and a node that is
//! claimed holds a file `owner` with the claiming container's id. Component names only ever
//! appear under a `c` directory and `owner` only in a node, so no cgroup name can collide
//! with the index's own names.
//!
//! Why this shape: `create` must refuse a cgroup that is, lies inside or contains another
//! container's. With one file per claim that costs a look at each ancestor of the path
//! (one failed `openat` each) and one at the node's `c` (nothing below it, usually), no
//! matter how many containers are stored: reading every state file made a burst of 100
//! creates quadratic.
//!
//! Every change and every check holds `flock` on the root directory itself (nothing else
//! locks it), so a claim is atomic against other claims and releases in the same root; the
//! marker is still made with `O_EXCL`. Across roots (a create also looks at the default
//! root) the order is store-then-check, as before: two racing creates may both be refused,
//! never both accepted for the same root.
//!
//! A root that holds one container has no index: that container's state file is its claim
//! (a lone container's start makes no index nodes, which on a disk-backed root are the
//! costliest part of its metadata work); the create that makes it two builds the index from
//! the state files, as for a root made by an older runtime, below.
//!
//! A marker whose container is gone (its state directory removed by a delete killed before
//! it released the claim, or by hand) or whose id now names a container with another cgroup
//! is stale: it is taken over, never an error. A root that has containers but no index (made
//! by a runtime that predates it) is indexed once from their state files, built aside and
//! renamed into place when complete; a state file that cannot be read or parsed stops it,
//! named. Another root that a create looks at (the default one) is only read: its index if
//! it has one, else its state files.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use super::{CgroupClaim, STATE_FILE};

const INDEX: &str = ".cgroup-claims";
/// Where the index of a root without one is built before it is renamed to [`INDEX`].
const BUILDING: &str = ".cgroup-claims.building";
const CHILDREN: &str = "c";
const OWNER: &str = "owner";

#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("linux.cgroupsPath {0}: a cgroup path is `/`-separated names (no `.`, `..` or newline); use one like /ocirt/NAME")]
    BadPath(PathBuf),
    #[error(transparent)]
    Taken(#[from] crate::cgroups::CgroupError),
    #[error("{}: damaged container state ({why}): the cgroup of container {id:?} is unknown, so none can be claimed beside it; repair the file, or remove the container with `runtime delete --force {id}`", path.display())]
    Damaged { path: PathBuf, id: String, why: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ClaimError + '_ {
    move |source| ClaimError::Io { path: path.to_path_buf(), source }
}

/// The normalised components of a cgroup path (leading `/` optional).
fn components(path: &Path) -> Result<Vec<&std::ffi::OsStr>, ClaimError> {
    use std::os::unix::ffi::OsStrExt;
    let mut v = vec![];
    for c in path.components() {
        match c {
            Component::RootDir => {}
            // The kernel refuses a newline in a cgroup name (it would break /proc/PID/cgroup).
            Component::Normal(n) if !n.as_bytes().contains(&b'\n') => v.push(n),
            _ => return Err(ClaimError::BadPath(path.to_path_buf())),
        }
    }
    if v.is_empty() {
        return Err(ClaimError::BadPath(path.to_path_buf()));
    }
    Ok(v)
}

/// The index node of the path made of `comps`.
fn node(index: &Path, comps: &[&std::ffi::OsStr]) -> PathBuf {
    let mut p = index.to_path_buf();
    for c in comps {
        p.push(CHILDREN);
        p.push(c);
    }
    p
}

fn display(comps: &[&std::ffi::OsStr]) -> PathBuf {
    let mut p = PathBuf::from("/");
    p.extend(comps);
    p
}

/// An exclusive `flock` on the root directory, released on drop.
struct RootLock {
    /// The root, open: the lock lives as long as this file.
    dir: File,
}

impl RootLock {
    fn take(root: &Path) -> Result<RootLock, ClaimError> {
        let f = File::open(root).map_err(io(root))?;
        loop {
            // SAFETY: flock on a valid, owned fd; no memory is passed.
            if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(RootLock { dir: f });
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(io(root)(e));
            }
        }
    }
}

/// The id in a marker, or None if there is none. A marker that cannot be read is an error
/// (never "unclaimed").
fn read_owner(marker: &Path) -> Result<Option<String>, ClaimError> {
    let mut f = match File::open(marker) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(marker)(e)),
    };
    let mut s = String::new();
    f.read_to_string(&mut s).map_err(io(marker))?;
    Ok(Some(s))
}

/// Whether the container `id` stored in `root` still owns `path` (its state records it).
/// A state that cannot be read or parsed counts as owning it: refusing is the safe answer.
fn owner_holds(root: &Path, id: &str, path: &Path) -> bool {
    if super::validate_id(id).is_err() {
        return false;
    }
    match std::fs::read(root.join(id).join(STATE_FILE)) {
        Ok(bytes) => match serde_json::from_slice::<CgroupClaim>(&bytes) {
            Ok(c) => components(&c.cgroup_path).map(|v| display(&v)).is_ok_and(|p| p == path),
            Err(_) => true,
        },
        // The whole entry is gone: a delete that did not get to release its claim.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => root.join(id).symlink_metadata().is_ok(),
        Err(_) => true,
    }
}

/// A live claim on `path` in `root` other than `me`'s, as the error that names it.
fn conflict(root: &Path, marker: &Path, path: &Path, mine: &Path, me: &str) -> Result<Option<ClaimError>, ClaimError> {
    let Some(id) = read_owner(marker)? else { return Ok(None) };
    // Our own marker on our own path: a delete of an earlier container of this id that was
    // killed before its release; not a conflict.
    if (id == me && path == mine) || !owner_holds(root, &id, path) {
        return Ok(None);
    }
    let other = CgroupClaim { id, cgroup_path: path.to_path_buf() };
    Ok(crate::cgroups::check_claims(mine, std::slice::from_ref(&other), root).err().map(ClaimError::Taken))
}

/// Looks for a live claim in the subtree below `n` (usually there is none: one failed open).
fn conflict_below(root: &Path, n: &Path, at: &Path, mine: &Path, me: &str) -> Result<Option<ClaimError>, ClaimError> {
    let kids = n.join(CHILDREN);
    let rd = match std::fs::read_dir(&kids) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&kids)(e)),
    };
    for e in rd {
        let e = e.map_err(io(&kids))?;
        let child = e.path();
        let cpath = at.join(e.file_name());
        if let Some(c) = conflict(root, &child.join(OWNER), &cpath, mine, me)? {
            return Ok(Some(c));
        }
        if let Some(c) = conflict_below(root, &child, &cpath, mine, me)? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// Every claim conflicting with `comps` in `root`'s index: on an ancestor, and (unless the
/// node was just made, so that nothing can be on it or below it) on the path or below it.
fn check(root: &Path, comps: &[&std::ffi::OsStr], me: &str, fresh: bool) -> Result<(), ClaimError> {
    let index = root.join(INDEX);
    let mine = display(comps);
    let upto = if fresh { comps.len() - 1 } else { comps.len() };
    for depth in 1..=upto {
        let n = node(&index, &comps[..depth]);
        if let Some(c) = conflict(root, &n.join(OWNER), &display(&comps[..depth]), &mine, me)? {
            return Err(c);
        }
    }
    if fresh {
        return Ok(());
    }
    match conflict_below(root, &node(&index, comps), &mine, &mine, me)? {
        Some(c) => Err(c),
        None => Ok(()),
    }
}

/// The number of subdirectories of an open directory, when the filesystem counts them in
/// its link count (tmpfs, ext4, xfs do; btrfs reports 1, and then None).
fn subdirs(dir: &File) -> Result<Option<u64>, std::io::Error> {
    use std::os::unix::fs::MetadataExt;
    let n = dir.metadata()?.nlink();
    Ok(n.checked_sub(2).filter(|_| n >= 2))
}

/// The claims stored in `root`'s state files (for a root without an index), `skip`'s own
/// left out. A state that cannot be read or parsed is an error naming it: its cgroup is
/// unknown, so nothing could be claimed beside it safely. An entry without a state file
/// holds no claim (a delete that removed it first).
fn stored_claims(root: &Path, skip: &str) -> Result<Vec<CgroupClaim>, ClaimError> {
    let rd = match std::fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(io(root)(e)),
    };
    let mut out = vec![];
    for e in rd {
        let e = e.map_err(io(root))?;
        let name = e.file_name();
        // Not a container: the index, an entry being built (ids cannot start with '.').
        let Some(id) = name.to_str().filter(|n| *n != skip && super::validate_id(n).is_ok()) else { continue };
        let state = e.path().join(STATE_FILE);
        let bytes = match std::fs::read(&state) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(&state)(e)),
        };
        let damaged = |why: String| ClaimError::Damaged { path: state.clone(), id: id.to_string(), why };
        let c = serde_json::from_slice::<CgroupClaim>(&bytes).map_err(|e| damaged(e.to_string()))?;
        components(&c.cgroup_path).map_err(|_| damaged(format!("cgroup_path {:?} is not a cgroup path", c.cgroup_path)))?;
        out.push(c);
    }
    Ok(out)
}

/// Indexes the containers of a root that has none (made by an older runtime). Their state
/// files are read once; from then on every create and delete keeps the index. The index is
/// built beside its place and renamed into it only when complete: one that a failure (a
/// damaged state file) or a kill cut short would look complete to every later create, and
/// the containers it missed would hold no claim.
fn build_if_missing(root: &Path, me: &str) -> Result<(), ClaimError> {
    let index = root.join(INDEX);
    match index.symlink_metadata() {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&index)(e)),
    }
    // The caller holds the root's lock: a leftover here is a build that was killed.
    let building = root.join(BUILDING);
    match std::fs::remove_dir_all(&building) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&building)(e)),
        _ => {}
    }
    let built = stored_claims(root, me).and_then(|claims| {
        std::fs::DirBuilder::new().mode(0o700).create(&building).map_err(io(&building))?;
        for c in &claims {
            write_marker(&node(&building, &components(&c.cgroup_path)?), &c.id)?;
        }
        std::fs::rename(&building, &index).map_err(io(&index))
    });
    if built.is_err() {
        let _ = std::fs::remove_dir_all(&building);
    }
    built
}

/// Makes the node and its missing parents (deepest first: usually only the last is
/// missing). True if the node itself was made now.
fn make_node(n: &Path) -> Result<bool, ClaimError> {
    let mkdir = |p: &Path| std::fs::DirBuilder::new().mode(0o700).create(p);
    match mkdir(n) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = n.parent().expect("a node has a parent");
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(parent).map_err(io(parent))?;
            mkdir(n).map(|()| true).map_err(io(n))
        }
        Err(e) => Err(io(n)(e)),
    }
}

/// Makes the node (and its parents) and a marker naming `id` in it; a marker already there
/// is replaced (the caller established it is stale or `id`'s own).
fn write_marker(n: &Path, id: &str) -> Result<(), ClaimError> {
    make_node(n)?;
    put_marker(n, id)
}

fn put_marker(n: &Path, id: &str) -> Result<(), ClaimError> {
    let marker = n.join(OWNER);
    let open = || std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&marker);
    let mut f = match open() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(&marker).map_err(io(&marker))?;
            open()
        }
        r => r,
    }
    .map_err(io(&marker))?;
    f.write_all(id.as_bytes()).map_err(io(&marker))
}

/// Claims `path` for container `me` (whose state is already stored in `root`), refusing a
/// path that is, contains or lies inside another stored container's in `root` or in each
/// of `also` (looked at only, after the claim is stored).
pub fn claim(root: &Path, also: &[&Path], me: &str, path: &Path) -> Result<(), ClaimError> {
    let comps = components(path)?;
    {
        let lock = RootLock::take(root)?;
        // Only our own entry in the root (so no index either): nobody else's claim to read,
        // and none to record yet. A lone container's state file is its claim; the create
        // that makes it two indexes the root from the state files (build_if_missing).
        if subdirs(&lock.dir).map_err(io(root))? != Some(1) {
            build_if_missing(root, me)?;
            let index = root.join(INDEX);
            let n = node(&index, &comps);
            let fresh = make_node(&n)?;
            if let Err(e) = check(root, &comps, me, fresh) {
                prune(&index, &comps);
                return Err(e);
            }
            put_marker(&n, me)?;
        }
    }
    for other in also {
        // A root that does not exist or holds no directory at all has nobody stored.
        match other.metadata() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Ok(m) if std::os::unix::fs::MetadataExt::nlink(&m) == 2 => continue,
            _ => {}
        }
        let locked = match RootLock::take(other) {
            Ok(l) => l,
            Err(ClaimError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return release(root, me, path).and(Err(e)),
        };
        // Another root is read, never written: without an index there, its state files are.
        let r = match other.join(INDEX).symlink_metadata() {
            Ok(_) => check(other, &comps, "", false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                stored_claims(other, "").and_then(|claims| crate::cgroups::check_claims(&display(&comps), &claims, other).map_err(ClaimError::Taken))
            }
            Err(e) => Err(io(&other.join(INDEX))(e)),
        };
        drop(locked);
        if let Err(e) = r {
            // Refused: the claim just stored must not outlive this create.
            release(root, me, path)?;
            return Err(e);
        }
    }
    Ok(())
}

/// Drops `me`'s claim on `path` (after its state entry is gone), and the index nodes left
/// empty; a marker naming another container is left alone.
pub fn release(root: &Path, me: &str, path: &Path) -> Result<(), ClaimError> {
    let comps = components(path)?;
    let index = root.join(INDEX);
    let _lock = match RootLock::take(root) {
        Ok(l) => l,
        Err(ClaimError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let n = node(&index, &comps);
    let marker = n.join(OWNER);
    // Empty: a create killed between making the marker and writing its id (never one in
    // progress: that one holds the lock).
    if matches!(read_owner(&marker)?.as_deref(), Some(id) if id == me || id.is_empty()) {
        std::fs::remove_file(&marker).map_err(io(&marker))?;
    }
    prune(&index, &comps);
    Ok(())
}

/// Drops every stale claim naming `me`, wherever it is, and the index nodes left empty: for
/// a `delete` that finds no entry, no state.json or an unreadable one, so that the cgroup
/// path is unknown (a `run` or `delete` killed, or failing, between removing the entry and
/// releasing its claim leaves exactly that). A claim whose container `me` is stored again
/// with that cgroup (a create of the same id racing this delete) is live and stays. Walks the
/// whole index; rare.
pub fn release_stale_of(root: &Path, me: &str) -> Result<(), ClaimError> {
    let index = root.join(INDEX);
    if !index.exists() {
        return Ok(());
    }
    let _locked = match RootLock::take(root) {
        Ok(l) => l,
        Err(ClaimError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    /// True if `n` is empty afterwards.
    fn walk(root: &Path, n: &Path, at: &Path, me: &str) -> Result<bool, ClaimError> {
        let marker = n.join(OWNER);
        if matches!(read_owner(&marker)?.as_deref(), Some(id) if (id == me && !owner_holds(root, id, at)) || id.is_empty()) {
            std::fs::remove_file(&marker).map_err(io(&marker))?;
        }
        let kids = n.join(CHILDREN);
        for e in std::fs::read_dir(&kids).into_iter().flatten() {
            let e = e.map_err(io(&kids))?;
            if walk(root, &e.path(), &at.join(e.file_name()), me)? {
                let _ = std::fs::remove_dir(e.path());
            }
        }
        let _ = std::fs::remove_dir(&kids);
        Ok(std::fs::read_dir(n).map(|mut d| d.next().is_none()).unwrap_or(false))
    }
    if walk(root, &index, Path::new("/"), me)? {
        let _ = std::fs::remove_dir(&index);
    }
    Ok(())
}

/// Removes the empty nodes from `comps` up to the index itself. Stops at the first that is
/// not empty (another claim lives there or below); one that is missing (a create killed
/// while it made the nodes) is passed over.
fn prune(index: &Path, comps: &[&std::ffi::OsStr]) {
    let gone = |p: &Path| match std::fs::remove_dir(p) {
        Ok(()) => true,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    };
    for depth in (1..=comps.len()).rev() {
        let n = node(index, &comps[..depth]);
        if !gone(&n) || !gone(n.parent().expect("a node has a parent")) {
            return;
        }
    }
    gone(index);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(name: &str) -> PathBuf {
        let r = std::env::temp_dir().join(format!("ocirt-claims-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&r);
        std::fs::create_dir_all(&r).unwrap();
        r
    }

    /// A stored container as create leaves it: its directory and a state naming its cgroup.
    fn store(root: &Path, id: &str, cg: &str) {
        std::fs::create_dir_all(root.join(id)).unwrap();
        std::fs::write(root.join(id).join(STATE_FILE), serde_json::json!({"id": id, "cgroup_path": cg}).to_string()).unwrap();
    }

    fn unstore(root: &Path, id: &str) {
        std::fs::remove_dir_all(root.join(id)).unwrap();
    }

    #[test]
    fn same_inside_and_around_are_refused_siblings_are_not() {
        let r = root("nest");
        store(&r, "a", "/ocirt/a");
        claim(&r, &[], "a", Path::new("/ocirt/a")).unwrap();
        for (id, p, how) in [("b", "/ocirt/a", "is already"), ("c", "/ocirt/a/x", "lies inside"), ("d", "/ocirt", "contains")] {
            store(&r, id, p);
            let e = claim(&r, &[], id, Path::new(p)).unwrap_err().to_string();
            assert!(e.contains(how) && e.contains("\"a\""), "{p}: {e}");
            unstore(&r, id);
        }
        // Positive controls: a sibling, and a name that is a prefix but not a path prefix.
        for (id, p) in [("e", "/ocirt/b"), ("f", "ocirt/ab")] {
            store(&r, id, p);
            claim(&r, &[], id, Path::new(p)).unwrap();
        }
        for (id, p) in [("a", "/ocirt/a"), ("e", "/ocirt/b"), ("f", "/ocirt/ab")] {
            unstore(&r, id);
            release(&r, id, Path::new(p)).unwrap();
        }
        assert!(!r.join(INDEX).exists(), "the last release removes the index");
        std::fs::remove_dir(&r).unwrap();
    }

    #[test]
    fn stale_claims_are_taken_over() {
        let r = root("stale");
        store(&r, "old", "/p/c");
        claim(&r, &[], "old", Path::new("/p/c")).unwrap();
        // Control: while "old" is stored, its cgroup is refused.
        store(&r, "new", "/p/c");
        assert!(claim(&r, &[], "new", Path::new("/p/c")).is_err());
        // "old" is gone without releasing (a delete killed in between): taken over.
        unstore(&r, "old");
        claim(&r, &[], "new", Path::new("/p/c")).unwrap();
        assert_eq!(std::fs::read_to_string(node(&r.join(INDEX), &components(Path::new("/p/c")).unwrap()).join(OWNER)).unwrap(), "new");
        // The id reused for a container with another cgroup does not own the old path.
        store(&r, "x", "/q");
        write_marker(&node(&r.join(INDEX), &components(Path::new("/p")).unwrap()), "x").unwrap();
        store(&r, "y", "/p/d");
        claim(&r, &[], "y", Path::new("/p/d")).unwrap();
        // A release by someone who no longer owns the marker leaves it.
        release(&r, "old", Path::new("/p/c")).unwrap();
        assert!(check(&r, &components(Path::new("/p/c")).unwrap(), "z", false).is_err());
        for (id, p) in [("new", "/p/c"), ("y", "/p/d")] {
            unstore(&r, id);
            release(&r, id, Path::new(p)).unwrap();
        }
        // A live claim is not stale: it stays.
        store(&r, "z", "/z");
        claim(&r, &[], "z", Path::new("/z")).unwrap();
        release_stale_of(&r, "z").unwrap();
        assert!(check(&r, &components(Path::new("/z")).unwrap(), "w", false).is_err(), "a live claim was dropped");
        unstore(&r, "z");
        // "x" is stored with /q: its marker on /p is stale and goes, and so does z's now.
        release_stale_of(&r, "z").unwrap();
        release_stale_of(&r, "x").unwrap();
        assert!(!r.join(INDEX).exists());
        unstore(&r, "x");
        std::fs::remove_dir(&r).unwrap();
    }

    #[test]
    fn a_root_without_index_is_indexed_from_its_states_and_other_roots_are_checked() {
        let r = root("legacy");
        let d = root("default");
        store(&r, "old", "/l/a");
        store(&d, "dflt", "/l/b");
        store(&r, "n", "/l/b");
        let e = claim(&r, &[&d], "n", Path::new("/l/b")).unwrap_err().to_string();
        assert!(e.contains("\"dflt\""), "{e}");
        assert!(!r.join(INDEX).join(CHILDREN).join("l").join(CHILDREN).join("b").exists(), "a refused claim is released");
        store(&r, "m", "/l/a");
        let e = claim(&r, &[&d], "m", Path::new("/l/a")).unwrap_err().to_string();
        assert!(e.contains("\"old\""), "{e}");
        claim(&r, &[&d], "m", Path::new("/l/c")).unwrap();
        for bad in ["/", "/a/../b", "a/\nb"] {
            assert!(matches!(claim(&r, &[], "m", Path::new(bad)), Err(ClaimError::BadPath(_))), "{bad:?}");
        }
        std::fs::remove_dir_all(&r).unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_damaged_state_stops_the_index_build_by_name_and_leaves_no_partial_index() {
        let r = root("damaged");
        store(&r, "good", "/d/good");
        std::fs::create_dir_all(r.join("bad")).unwrap();
        std::fs::write(r.join("bad").join(STATE_FILE), "{\"id\": \"bad\", \"cgroup_pa").unwrap();
        store(&r, "n", "/d/n");
        let e = claim(&r, &[], "n", Path::new("/d/n")).unwrap_err().to_string();
        let bad = r.join("bad").join(STATE_FILE);
        assert!(e.contains(&format!("{}: damaged container state", bad.display())) && e.contains("delete --force bad"), "{e}");
        // Nothing half-built: neither the index (which would look complete) nor its draft.
        assert!(!r.join(INDEX).exists() && !r.join(BUILDING).exists());
        // A build killed half-way leaves a draft: the next build starts over without it.
        std::fs::create_dir_all(r.join(BUILDING).join("junk")).unwrap();
        // The file repaired, naming a cgroup: the index now built holds it, so it is refused.
        store(&r, "bad", "/d/bad");
        store(&r, "m", "/d/bad/x");
        let e = claim(&r, &[], "m", Path::new("/d/bad/x")).unwrap_err().to_string();
        assert!(e.contains("lies inside") && e.contains("\"bad\""), "{e}");
        assert!(r.join(INDEX).is_dir() && !r.join(BUILDING).exists());
        // Positive control: the healthy root takes a claim beside them.
        claim(&r, &[], "n", Path::new("/d/n")).unwrap();
        std::fs::remove_dir_all(&r).unwrap();
    }

    #[test]
    fn another_root_is_read_never_indexed() {
        let r = root("mine");
        let d = root("other");
        store(&d, "theirs", "/o/t");
        store(&r, "a", "/o/t/inner");
        let e = claim(&r, &[&d], "a", Path::new("/o/t/inner")).unwrap_err().to_string();
        assert!(e.contains("\"theirs\""), "{e}");
        assert!(!d.join(INDEX).exists() && !d.join(BUILDING).exists(), "the other root was written");
        // A damaged state there is named too (its cgroup could be this one).
        std::fs::create_dir_all(d.join("broken")).unwrap();
        std::fs::write(d.join("broken").join(STATE_FILE), "").unwrap();
        store(&r, "b", "/o/u");
        let e = claim(&r, &[&d], "b", Path::new("/o/u")).unwrap_err().to_string();
        assert!(e.contains(&d.join("broken").join(STATE_FILE).display().to_string()), "{e}");
        // Positive control: with it gone, a path beside the other root's is claimed, and
        // the other root still has no index.
        std::fs::remove_dir_all(d.join("broken")).unwrap();
        claim(&r, &[&d], "b", Path::new("/o/u")).unwrap();
        assert!(!d.join(INDEX).exists());
        std::fs::remove_dir_all(&r).unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }
}
