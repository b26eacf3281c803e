//! Landlock rules, carried to the runtime as `org.ocirt.landlock.*`
//! annotations whose values are JSON text.
//!
//! Derived policy: read+execute beneath `/` (the rootfs is read-only, so this
//! adds no write), full access beneath each writable place (/dev for the
//! device nodes, tmpfs mounts, read-write binds, writable paths), and TCP
//! bind/connect only on the declared ports. The network keys are written
//! even when empty, so that an undeclared port is refused.

use crate::description::{Compat, Scope};
use crate::load::{clean_container_path, Service};
use std::collections::BTreeMap;

use ocirt_contract::annotations as keys;
pub const FS_READ: &str = keys::LANDLOCK_FS_READ;
pub const FS_EXEC: &str = keys::LANDLOCK_FS_EXEC;
pub const FS_WRITE: &str = keys::LANDLOCK_FS_WRITE;
pub const NET_BIND: &str = keys::LANDLOCK_NET_BIND;
pub const NET_CONNECT: &str = keys::LANDLOCK_NET_CONNECT;
pub const SCOPE: &str = keys::LANDLOCK_SCOPE;
pub const COMPAT: &str = keys::LANDLOCK_COMPAT;
/// The runtime's network guard (with the TCP lists above): UDP ports and abstract unix
/// names. Written only when declared: without a UDP list the guard refuses UDP, and an
/// abstract-name list needs the BPF LSM on the host.
pub const NET_UDP_BIND: &str = keys::NET_UDP_BIND;
pub const NET_UDP_CONNECT: &str = keys::NET_UDP_CONNECT;
pub const NET_UNIX_BIND: &str = keys::NET_UNIX_BIND;

/// The rules, before they are turned into annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub read: Vec<String>,
    pub exec: Vec<String>,
    pub write: Vec<String>,
    pub bind: Vec<u16>,
    pub connect: Vec<u16>,
    /// `Some` when the service uses UDP.
    pub udp: Option<(Vec<u16>, Vec<u16>)>,
    pub unix_bind: Vec<String>,
    pub scope: Vec<&'static str>,
    pub compat: &'static str,
}

/// `None` when the description turns Landlock off.
pub fn rules(svc: &Service, writable: &[String]) -> Option<Rules> {
    let l = &svc.desc.security.landlock;
    if !l.enabled {
        return None;
    }
    let clean = |v: &[toml::Spanned<String>]| -> Vec<String> {
        let mut out: Vec<String> = v.iter().map(|s| clean_container_path(s.get_ref())).collect();
        out.sort();
        out.dedup();
        out
    };
    let exec = match &l.exec {
        Some(v) => clean(v),
        None => vec!["/".to_string()],
    };
    let mut write: Vec<String> = writable.to_vec();
    write.extend(clean(&l.write));
    let write = crate::mounts::minimal_cover(write);
    let mut scope: Vec<Scope> = l.scope.clone().unwrap_or_else(|| vec![Scope::AbstractUnixSocket, Scope::Signal]);
    scope.sort();
    scope.dedup();
    let net = &svc.desc.network;
    Some(Rules {
        read: clean(&l.read),
        exec,
        write,
        bind: net.tcp_bind.iter().map(|p| p.0).collect(),
        connect: net.tcp_connect.iter().map(|p| p.0).collect(),
        udp: net.uses_udp().then(|| (net.udp_bind.iter().map(|p| p.0).collect(), net.udp_connect.iter().map(|p| p.0).collect())),
        unix_bind: {
            let mut v: Vec<String> = net.abstract_unix_bind.iter().map(|s| s.get_ref().clone()).collect();
            v.sort();
            v.dedup();
            v
        },
        scope: scope.into_iter().map(Scope::as_str).collect(),
        compat: match l.compat.unwrap_or(Compat::Required) {
            Compat::Required => "required",
            Compat::BestEffort => "best-effort",
        },
    })
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain values serialise")
}

pub fn annotations(r: &Rules) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert(FS_READ.into(), json(&r.read));
    a.insert(FS_EXEC.into(), json(&r.exec));
    a.insert(FS_WRITE.into(), json(&r.write));
    a.insert(NET_BIND.into(), json(&r.bind));
    a.insert(NET_CONNECT.into(), json(&r.connect));
    a.insert(SCOPE.into(), json(&r.scope));
    a.insert(COMPAT.into(), r.compat.into());
    if let Some((bind, connect)) = &r.udp {
        a.insert(NET_UDP_BIND.into(), json(bind));
        a.insert(NET_UDP_CONNECT.into(), json(connect));
    }
    if !r.unix_bind.is_empty() {
        a.insert(NET_UNIX_BIND.into(), json(&r.unix_bind));
    }
    a
}
