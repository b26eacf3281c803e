//! Device nodes, declared like a chroot kit's mknod lines, and the cgroup
//! device rules: deny everything, then allow the standard nodes every
//! container gets plus the declared ones.

use crate::description::{Device, DeviceKind};
use crate::oci;

/// The nodes the runtime creates in every container (runtime-spec "Default
/// Devices") and /dev/pts/*, with their major:minor.
pub const STANDARD: &[(&str, i64, Option<i64>)] = &[
    ("/dev/null", 1, Some(3)),
    ("/dev/zero", 1, Some(5)),
    ("/dev/full", 1, Some(7)),
    ("/dev/random", 1, Some(8)),
    ("/dev/urandom", 1, Some(9)),
    ("/dev/tty", 5, Some(0)),
    ("/dev/ptmx", 5, Some(2)),
    ("/dev/pts/*", 136, None),
];

pub fn nodes(devices: &[Device]) -> Vec<oci::Device> {
    let mut out: Vec<oci::Device> = devices
        .iter()
        .map(|d| oci::Device {
            path: crate::load::clean_container_path(d.path.get_ref()),
            kind: d.kind.letter().to_string(),
            major: i64::from(d.major),
            minor: i64::from(d.minor),
            file_mode: d.mode.map_or(0o600, |m| m.0),
            uid: d.uid,
            gid: d.gid,
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

pub fn rules(devices: &[Device]) -> Vec<oci::DeviceRule> {
    let mut rules = vec![oci::DeviceRule { allow: false, kind: None, major: None, minor: None, access: "rwm".into() }];
    for (_, major, minor) in STANDARD {
        rules.push(oci::DeviceRule { allow: true, kind: Some("c".into()), major: Some(*major), minor: *minor, access: "rwm".into() });
    }
    for d in nodes(devices) {
        if d.kind == DeviceKind::Fifo.letter() {
            continue; // FIFOs are not subject to the device controller
        }
        rules.push(oci::DeviceRule { allow: true, kind: Some(d.kind.clone()), major: Some(d.major), minor: Some(d.minor), access: "rwm".into() });
    }
    rules
}
