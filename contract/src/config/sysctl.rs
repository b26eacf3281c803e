//! Which kernel namespace a sysctl belongs to. A sysctl is written from inside the
//! container: if its namespace is the host's (no new one in linux.namespaces, or a path to
//! the runtime's own), the write changes the host. Global sysctls change the host always.

use std::os::unix::fs::MetadataExt;

use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType as T};

/// The namespace `key` (dotted or slashed) is scoped to, or None for a global one.
pub fn namespace_of(key: &str) -> Option<T> {
    let k = key.replace('/', ".");
    const IPC: [&str; 11] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
        "kernel.msg_next_id",
        "kernel.sem_next_id",
        "kernel.shm_next_id",
    ];
    if k.starts_with("net.") {
        Some(T::Network)
    } else if k == "kernel.hostname" || k == "kernel.domainname" {
        Some(T::Uts)
    } else if IPC.contains(&k.as_str()) || k.starts_with("fs.mqueue.") {
        Some(T::Ipc)
    } else if k == "vm.memfd_noexec" || k == "kernel.ns_last_pid" {
        // Per pid namespace (memfd_noexec since Linux 6.3).
        Some(T::Pid)
    } else if k.starts_with("user.") {
        Some(T::User)
    } else {
        None
    }
}

fn name(t: T) -> &'static str {
    match t {
        T::Network => "network",
        T::Uts => "uts",
        T::Ipc => "ipc",
        T::Pid => "pid",
        T::User => "user",
        T::Mount => "mount",
        T::Cgroup => "cgroup",
        T::Time => "time",
    }
}

/// Ok if writing `key` inside the container stays inside it.
pub fn check(key: &str, namespaces: &[LinuxNamespace]) -> Result<(), String> {
    let Some(t) = namespace_of(key) else {
        return Err("is not namespaced: writing it would change the host kernel for everyone: remove it (set it on the host if the host should have it)".into());
    };
    let Some(ns) = namespaces.iter().find(|n| n.typ() == t) else {
        return Err(format!(
            "belongs to the {0} namespace, which the container shares with the host: add {{\"type\":\"{0}\"}} to linux.namespaces, or remove the sysctl",
            name(t)
        ));
    };
    if let Some(path) = ns.path() {
        // Joining the runtime's own namespace by path is sharing it all the same.
        let own = std::fs::metadata(format!("/proc/self/ns/{}", proc_name(t))).map(|m| (m.dev(), m.ino()));
        let joined = std::fs::metadata(path).map(|m| (m.dev(), m.ino()));
        match (own, joined) {
            (Ok(a), Ok(b)) if a != b => {}
            (Ok(_), Ok(_)) => {
                return Err(format!(
                    "linux.namespaces joins {} ({}), which is the host's {} namespace: the write would change the host; remove the sysctl",
                    path.display(),
                    name(t),
                    name(t)
                ))
            }
            (Err(e), _) | (_, Err(e)) => return Err(format!("cannot tell whether {} is the host's {} namespace: {e}", path.display(), name(t))),
        }
    }
    Ok(())
}

fn proc_name(t: T) -> &'static str {
    match t {
        T::Network => "net",
        other => name(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(namespace_of("net.ipv4.ip_forward"), Some(T::Network));
        assert_eq!(namespace_of("net/ipv4/ip_forward"), Some(T::Network));
        assert_eq!(namespace_of("kernel.shmmax"), Some(T::Ipc));
        assert_eq!(namespace_of("fs.mqueue.msg_max"), Some(T::Ipc));
        assert_eq!(namespace_of("kernel.hostname"), Some(T::Uts));
        assert_eq!(namespace_of("vm.memfd_noexec"), Some(T::Pid));
        assert_eq!(namespace_of("kernel.panic"), None);
        assert_eq!(namespace_of("vm.swappiness"), None);
        assert_eq!(namespace_of("kernel.shmmaxx"), None);
    }

    #[test]
    fn needs_its_namespace() {
        let ns = |t: T| oci_spec::runtime::LinuxNamespaceBuilder::default().typ(t).build().unwrap();
        assert!(check("net.ipv4.ip_forward", &[ns(T::Pid)]).is_err());
        assert!(check("net.ipv4.ip_forward", &[ns(T::Network)]).is_ok());
        assert!(check("vm.memfd_noexec", &[ns(T::Pid)]).is_ok());
        assert!(check("kernel.panic", &[ns(T::Pid), ns(T::Network)]).is_err());
        let host = oci_spec::runtime::LinuxNamespaceBuilder::default().typ(T::Network).path("/proc/self/ns/net").build().unwrap();
        assert!(check("net.ipv4.ip_forward", &[host]).unwrap_err().contains("host's network"));
    }
}
