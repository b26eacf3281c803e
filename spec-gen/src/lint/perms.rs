//! Ownership and permission checks: who on the host can change what the
//! service executes.

use super::{Report, Severity, Target};
use crate::rootpath::{Place, View};
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;

pub fn rootfs_owner(t: &Target, r: &mut Report) {
    let Ok(md) = std::fs::metadata(&t.rootfs) else {
        return;
    };
    let path = t.rootfs.display().to_string();
    if md.uid() != 0 {
        r.add(
            Severity::Warning,
            path.clone(),
            format!("the rootfs is owned by uid {}, so that host user can change what the service runs", md.uid()),
            format!("chown root:root {path}"),
        );
    }
    if md.mode() & 0o002 != 0 {
        r.add(Severity::Error, path.clone(), "the rootfs directory is world-writable", format!("chmod o-w {path}"));
    }
}

/// Every ancestor of a clean container path, itself included, `/` first.
fn ancestors(p: &str) -> Vec<String> {
    let mut out = vec!["/".to_string()];
    let mut cur = String::new();
    for c in p.split('/').filter(|c| !c.is_empty()) {
        cur.push('/');
        cur.push_str(c);
        out.push(cur.clone());
    }
    out
}

/// World-writable directories from which the service executes programs or
/// loads libraries, and their ancestors.
pub fn exec_path(_t: &Target, view: &View, dirs: &BTreeSet<String>, r: &mut Report) {
    let mut checked: BTreeSet<String> = BTreeSet::new();
    for d in dirs {
        let Ok(res) = view.resolve(d, true) else {
            continue;
        };
        for a in ancestors(&res.container) {
            if !checked.insert(a.clone()) {
                continue;
            }
            let Place::Host(h) = view.place(&a) else {
                continue;
            };
            let Ok(md) = std::fs::symlink_metadata(&h) else {
                continue;
            };
            if md.is_dir() && md.mode() & 0o002 != 0 {
                let host = h.display().to_string();
                r.add(
                    Severity::Error,
                    host.clone(),
                    format!("{a} is world-writable and on the exec path: any host user can plant programs or libraries there"),
                    format!("chmod o-w {host}"),
                );
            }
        }
    }
}
