//! Update: change a live container's cgroup limits.
//!
//! The change is merged into the resources the container has now (the config snapshot in
//! its state directory, which earlier updates rewrote), applied through libcgroups to the
//! container's cgroup (v1, cgroup2 or hybrid: libcgroups picks), and only then recorded,
//! so a later `update` or `exec` starts from what is really in force.

use std::path::Path;

use serde_json::Value;

use libcgroups::common::{create_cgroup_manager, CgroupConfig, CgroupManager, ControllerOpt};
use oci_spec::runtime::LinuxResources;

use crate::cgroups::CgroupError;
use crate::state::{ContainerDir, StateError, Status};

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("container {0} is stopped: there is no cgroup to update")]
    Stopped(String),
    #[error(transparent)]
    Snapshot(#[from] super::snapshot::SnapshotError),
    /// The change, or the resources merged with it, is not valid linux.resources.
    #[error("{what}: {msg}")]
    Invalid { what: String, msg: String },
    #[error(transparent)]
    Unsupported(#[from] CgroupError),
    /// libcgroups' errors carry their cause as text.
    #[error("cgroup {}: {msg}", path.display())]
    Apply { path: std::path::PathBuf, msg: String },
}

fn invalid(what: impl Into<String>, msg: impl ToString) -> UpdateError {
    UpdateError::Invalid { what: what.into(), msg: msg.to_string() }
}

/// The sections `update` changes; the others (devices, hugepages, network, ...) are fixed
/// at create, and asking to change them is an error rather than a silent no-op.
const UPDATABLE: [&str; 4] = ["memory", "cpu", "pids", "blockIO"];

/// Applies `change` (a partial linux.resources object, checked by [`resources_from_json`]
/// or built from runc's flags) to the container's cgroup, then records it.
pub fn update(root: &Path, id: &str, change: &Value) -> Result<(), UpdateError> {
    let dir = ContainerDir::open(root, id, true)?;
    let st = dir.load()?;
    if matches!(st.status(&dir), Status::Stopped) {
        return Err(UpdateError::Stopped(id.to_string()));
    }
    let mut spec = super::snapshot::load(&dir)?;
    let linux = spec.linux().clone().unwrap_or_default();
    let mut current = serde_json::to_value(linux.resources().clone().unwrap_or_default()).map_err(|e| invalid("the current resources", e))?;
    let in_force = current.clone();
    let change = only_updatable(change, &current)?;
    merge(&mut current, &change);
    let merged: LinuxResources = serde_json::from_value(current).map_err(|e| invalid("the merged resources", e))?;
    crate::cgroups::check_supported(&merged)?;
    if let Err(e) = apply(&st.cgroup_path, id, &merged) {
        // libcgroups writes one file after another: a failure half-way (a cpu value the
        // kernel refuses after the memory limit went in) would leave the cgroup changed
        // while the snapshot and the error say nothing was. Put back what was in force.
        let before = match restore_point(&in_force, &change) {
            Ok(b) => b,
            Err(r) => return Err(invalid(format!("{e}"), format!("the cgroup may be half-changed, and the limits in force could not be rebuilt to put back ({r}): run `update` with the limits the container had"))),
        };
        return Err(match apply(&st.cgroup_path, id, &before) {
            Ok(()) => e,
            Err(undo) => {
                let msg = |e: UpdateError| match e {
                    UpdateError::Apply { msg, .. } => msg,
                    other => other.to_string(),
                };
                UpdateError::Apply { path: st.cgroup_path.clone(), msg: format!("{}; restoring the limits in force failed too: {}", msg(e), msg(undo)) }
            }
        });
    }
    let mut linux = linux;
    linux.set_resources(Some(merged));
    spec.set_linux(Some(linux));
    // Replaced atomically: a reader (exec, a concurrent update waiting on the lock) sees
    // the old or the new one, never half.
    super::snapshot::replace(&dir, &spec)?;
    Ok(())
}

/// linux.resources' members (runtime-spec).
const SECTIONS: [&str; 9] = ["devices", "memory", "cpu", "pids", "blockIO", "hugepageLimits", "network", "rdma", "unified"];

/// The largest `-r` document read: containerd's, with the container's device rules, is a
/// few KiB. Without a bound, `-r /dev/zero` (or an endless stdin) grew the runtime until
/// the OOM killer came.
pub const MAX_DOCUMENT: u64 = 1 << 20;

/// Reads a `-r` document from `r` (`name` for messages), at most [`MAX_DOCUMENT`] bytes.
pub fn read_document(name: &str, r: impl std::io::Read) -> Result<String, UpdateError> {
    use std::io::Read;
    let mut text = String::new();
    r.take(MAX_DOCUMENT + 1).read_to_string(&mut text).map_err(|e| invalid(format!("read {name}"), e))?;
    if text.len() as u64 > MAX_DOCUMENT {
        return Err(invalid(name, format!("longer than {} KiB: not a linux.resources object", MAX_DOCUMENT / 1024)));
    }
    Ok(text)
}

/// A `-r` document (`name` says where it came from): a linux.resources object. Sections
/// other than the updatable ones may only restate what is in force ([`update`] checks):
/// containerd sends the container's whole resources, device rules included, with only the
/// limits changed. The result is the typed form re-serialised, so that the fixed sections
/// compare field by field with the config snapshot's.
pub fn resources_from_json(name: &str, text: &str) -> Result<Value, UpdateError> {
    let v: Value = serde_json::from_str(text).map_err(|e| invalid(format!("{name}: not JSON"), e))?;
    if !v.is_object() {
        return Err(invalid(name, "expected a linux.resources object, e.g. {\"memory\":{\"limit\":268435456}}"));
    }
    // Typed once, so a wrong type names its field now rather than after the merge.
    let typed = match serde_json::from_value::<LinuxResources>(v.clone()) {
        Ok(t) => t,
        Err(e) => {
            // Searched for only in a document of a size people and clients write: each
            // trial parses the whole document again.
            let searched = if text.len() <= 64 * 1024 { culprit(&v) } else { None };
            let at = match searched {
                Some(field) => format!(" (field `{field}`)"),
                None => String::new(),
            };
            return Err(invalid(format!("{name}: not a valid linux.resources object{at}"), e));
        }
    };
    serde_json::to_value(typed).map_err(|e| invalid(name, e))
}

/// The field that makes `doc` fail as linux.resources, as a dotted path (`memory.limit`,
/// `devices.0.major`): serde's message says what was wrong ("invalid type: string, expected
/// i64") but not where. Found by taking out one member at a time: the one whose removal
/// makes the document valid is the culprit, and the search goes on inside it. A required
/// member taken out still fails, so it is never blamed for a sibling. Only on the error
/// path, on a document a person or a client wrote (small).
fn culprit(doc: &Value) -> Option<String> {
    // Each trial copies and parses the document: bounded, so a wide document (30000 keys
    // took minutes) costs at most a few ms; past the budget the path found so far is named.
    const TRIALS: usize = 256;
    let budget = std::cell::Cell::new(TRIALS);
    let ok = |d: &Value| {
        budget.set(budget.get().saturating_sub(1));
        serde_json::from_value::<LinuxResources>(d.clone()).is_ok()
    };
    if ok(doc) {
        return None;
    }
    let mut path: Vec<String> = vec![];
    'down: loop {
        let pointer: String = path.iter().map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1"))).collect();
        let keys: Vec<String> = match doc.pointer(&pointer)? {
            // Unknown members are ignored by the parser, never a culprit: at the top, only
            // linux.resources' own are tried.
            Value::Object(m) if path.is_empty() => m.keys().filter(|k| SECTIONS.contains(&k.as_str())).cloned().collect(),
            Value::Object(m) => m.keys().cloned().collect(),
            Value::Array(a) => (0..a.len()).map(|i| i.to_string()).collect(),
            _ => break,
        };
        for k in keys {
            if budget.get() == 0 {
                break 'down;
            }
            let mut d = doc.clone();
            match d.pointer_mut(&pointer)? {
                Value::Object(m) => {
                    m.remove(&k);
                }
                Value::Array(a) => {
                    a.remove(k.parse().ok()?);
                }
                _ => return None,
            }
            if ok(&d) {
                path.push(k);
                continue 'down;
            }
        }
        break;
    }
    (!path.is_empty()).then(|| path.join("."))
}

/// The change without its fixed sections, each of which must equal what is in force
/// (absent, null and empty count as the same: Go's encoders keep or drop empty lists as
/// they please). A real change to one is refused by name.
fn only_updatable(change: &Value, current: &Value) -> Result<Value, UpdateError> {
    fn empty(v: Option<&Value>) -> bool {
        match v {
            None | Some(Value::Null) => true,
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Object(o)) => o.is_empty(),
            _ => false,
        }
    }
    let mut change = change.clone();
    if let Value::Object(map) = &mut change {
        let fixed: Vec<String> = map.keys().filter(|k| !UPDATABLE.contains(&k.as_str())).cloned().collect();
        for k in fixed {
            let (asked, have) = (map.get(&k), current.get(&k));
            if !((empty(asked) && empty(have)) || asked == have) {
                return Err(invalid(
                    format!("field `{k}`"),
                    format!("cannot be updated on a live container (only {}): remove it, or give it as the container has it", UPDATABLE.join(", ")),
                ));
            }
            map.remove(&k);
        }
    }
    Ok(change)
}

/// What to write back after a failed update: the resources in force, plus the kernel's
/// "no limit" value for each limit the change set that the container did not have (the
/// failed attempt may already have written it). Fields without such a value (cpuset lists,
/// realtime, blkio weights) are restored only when the container had them.
fn restore_point(before: &Value, change: &Value) -> Result<LinuxResources, UpdateError> {
    const UNSET: [(&str, &str, i64); 7] = [
        ("memory", "limit", -1),
        ("memory", "reservation", -1),
        ("memory", "swap", -1),
        ("pids", "limit", -1),
        ("cpu", "shares", 1024),
        ("cpu", "quota", -1),
        ("cpu", "period", 100_000),
    ];
    let mut restore = before.clone();
    for (section, field, none) in UNSET {
        let asked = change.get(section).and_then(|s| s.get(field)).is_some_and(|v| !v.is_null());
        let had = before.get(section).and_then(|s| s.get(field)).is_some_and(|v| !v.is_null());
        if asked && !had {
            merge(&mut restore, &serde_json::json!({ section: { field: none } }));
        }
    }
    // Never empty resources on failure: applying those would write nothing and report the
    // old limits as restored.
    serde_json::from_value(restore).map_err(|e| invalid("the limits to restore after the failed update", e))
}

/// Objects merge key by key; anything else replaces.
fn merge(into: &mut Value, change: &Value) {
    match (into, change) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// Writes the updatable sections to the cgroup. Only those: re-applying device rules
/// would open a moment of deny-all for a running container, and nothing else changed.
fn apply(path: &Path, id: &str, res: &LinuxResources) -> Result<(), UpdateError> {
    let mut only = LinuxResources::default();
    only.set_memory(*res.memory());
    only.set_cpu(res.cpu().clone());
    only.set_pids(*res.pids());
    only.set_block_io(res.block_io().clone());
    let mgr = create_cgroup_manager(CgroupConfig { cgroup_path: path.to_path_buf(), systemd_cgroup: false, container_name: id.to_string() })
        .map_err(|e| UpdateError::Apply { path: path.to_path_buf(), msg: e.to_string() })?;
    // libcgroups rewrites memory.oom_control with every memory change: keep what the
    // container was created with.
    let disable_oom_killer = res.memory().and_then(|m| m.disable_oom_killer()).unwrap_or(false);
    let opt = ControllerOpt { resources: &only, disable_oom_killer, oom_score_adj: None, freezer_state: None };
    mgr.apply(&opt).map_err(|e| UpdateError::Apply { path: path.to_path_buf(), msg: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Read;

    #[test]
    fn fixed_sections_pass_only_when_unchanged() {
        let devs = json!([{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]);
        let typed = |v: Value| resources_from_json("test", &v.to_string()).unwrap();
        let current = typed(json!({"devices": devs, "memory": {"limit": 100}}));
        // containerd's shape: the whole resources, devices as they are, a new limit.
        let change = typed(json!({"devices": devs, "memory": {"limit": 200}, "hugepageLimits": []}));
        assert_eq!(only_updatable(&change, &current).unwrap(), json!({"memory": {"limit": 200}}));
        // A different device rule is a change that cannot be made live: refused by name.
        let change = typed(json!({"devices": [{"allow": true, "access": "rwm"}], "memory": {"limit": 200}}));
        let e = only_updatable(&change, &current).unwrap_err().to_string();
        assert!(e.contains("field `devices`"), "{e}");
        let e = only_updatable(&typed(json!({"network": {"classID": 5}})), &current).unwrap_err().to_string();
        assert!(e.contains("field `network`"), "{e}");
    }

    #[test]
    fn a_wrong_type_is_found_by_its_path() {
        assert_eq!(culprit(&json!({"memory": {"limit": 5, "swap": "x"}, "pids": {"limit": 3}})).as_deref(), Some("memory.swap"));
        assert_eq!(culprit(&json!({"devices": [{"allow": true, "access": "rwm"}, {"allow": true, "major": "x"}]})).as_deref(), Some("devices.1.major"));
        // Control: a valid document has no culprit.
        assert_eq!(culprit(&json!({"memory": {"limit": 5}})), None);
        // A wide document is searched within a budget: its unknown members are not tried.
        let mut wide: serde_json::Map<String, Value> = (0..5000).map(|i| (format!("a{i}"), json!(1))).collect();
        wide.insert("pids".into(), json!({"limit": "x"}));
        assert_eq!(culprit(&Value::Object(wide)).as_deref(), Some("pids.limit"));
        let e = read_document("big", std::io::repeat(b' ').take(MAX_DOCUMENT + 1)).unwrap_err().to_string();
        assert!(e.contains("big") && e.contains("longer than 1024 KiB"), "{e}");
        assert_eq!(read_document("small", &b"{}"[..]).unwrap(), "{}");
        let e = resources_from_json("r.json", r#"{"cpu":{"shares":-1}}"#).unwrap_err().to_string();
        assert!(e.contains("r.json") && e.contains("field `cpu.shares`"), "{e}");
    }

    #[test]
    fn a_failed_update_restores_limits_it_added_to_no_limit() {
        let before = json!({"memory": {"limit": 100}, "cpu": {"shares": 512}});
        let r = restore_point(&before, &json!({"memory": {"limit": 200, "swap": 300}, "pids": {"limit": 5}, "cpu": {"shares": 2}})).unwrap();
        let r = serde_json::to_value(r).unwrap();
        assert_eq!(r, json!({"memory": {"limit": 100, "swap": -1}, "pids": {"limit": -1}, "cpu": {"shares": 512}}));
    }

    #[test]
    fn merge_keeps_what_the_change_does_not_name() {
        let mut cur = json!({"memory": {"limit": 100, "disableOOMKiller": true}, "devices": [{"allow": false, "access": "rwm"}]});
        merge(&mut cur, &json!({"memory": {"limit": 200}, "pids": {"limit": 5}}));
        assert_eq!(cur, json!({"memory": {"limit": 200, "disableOOMKiller": true}, "devices": [{"allow": false, "access": "rwm"}], "pids": {"limit": 5}}));
    }
}
