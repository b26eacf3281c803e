//! Network guard: the container's reach on the network is exactly what its annotations
//! declare, for every protocol and call path, enforced by BPF programs attached to the
//! container's cgroup2 node.
//!
//! Landlock's TCP rules (org.ocirt.landlock.net.*) only see bind(2)/connect(2) on TCP
//! sockets; MPTCP, TCP fast open (sendto/sendmsg with MSG_FASTOPEN), listen() on an unbound
//! socket, abstract unix names and UDP all pass beside them. Once any network annotation is
//! present, the guard attaches:
//!
//! | program | hook | closes |
//! |---|---|---|
//! | socket_create | LSM (per cgroup) | families other than unix/IP/netlink-route; IP protocols other than TCP and (declared) UDP: MPTCP, SCTP, raw, ping |
//! | socket_bind | LSM (per cgroup) | abstract unix names (and the autobind form) not declared |
//! | socket_listen | LSM (per cgroup) | listen() on a port not in the TCP bind list, including autobind (port 0) |
//! | bind4/6 | cgroup sock_addr | TCP/UDP bind outside the lists |
//! | connect4/6 | cgroup sock_addr | TCP/UDP connect outside the lists; also runs on the TCP fast-open path (pre_connect) |
//! | sendmsg4/6 | cgroup sock_addr | unconnected UDP sends outside the UDP connect list |
//!
//! The programs run in the kernel's socket code, so io_uring and every syscall variant
//! meet them. They are owned by the cgroup: removing it at delete removes them.
//!
//! Two phases like Landlock: [`prepare`] (in `create` before the id is claimed: parse,
//! probe the host, generate the bytecode; no side effects) and [`Plan::attach`] (after the
//! init is in its cgroup, before it is told to proceed).

mod asm;
pub mod bpf;
mod btf;
mod policy;
mod programs;

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use policy::{KEY_COMPAT, OWN_KEYS};

const LSM_ID_BPF: u64 = 109;
const SYS_LSM_LIST_MODULES: libc::c_long = 461;
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

#[derive(Debug, thiserror::Error)]
pub enum NetGuardError {
    #[error("annotation {key}: unknown network annotation; the valid keys are {valid} (check the spelling or remove it)", valid = OWN_KEYS.join(", "))]
    UnknownKey { key: String },
    #[error("annotation {key}: {reason}")]
    InvalidValue { key: &'static str, reason: String },
    #[error("network guard (org.ocirt.landlock.net.* / org.ocirt.net.*): {what}; {fix}, or set {KEY_COMPAT} to \"best-effort\" to run without it")]
    Unavailable { what: String, fix: &'static str },
}

/// One program, ready to load.
#[derive(Debug, Clone)]
struct Prog {
    name: &'static str,
    /// False for the LSM layer unless abstract names are declared: like its absence, a
    /// refusal by the kernel then leaves a warning instead of stopping the container.
    essential: bool,
    prog_type: u32,
    attach_type: u32,
    attach_btf_id: u32,
    insns: Vec<asm::Insn>,
}

/// The compiled guard for one container.
#[derive(Debug, Clone)]
pub struct Plan {
    progs: Vec<Prog>,
    required: bool,
}

/// Required mode: an error. Best effort: a warning, and the step is skipped.
fn fail_or_warn(required: bool, e: NetGuardError) -> Result<(), NetGuardError> {
    if required {
        return Err(e);
    }
    crate::log::warn(&format!("{e} (continuing without it)"));
    Ok(())
}

/// Whether the BPF LSM is among the active LSMs. Loading and attaching LSM programs
/// succeeds even when it is not, and they then never run: asking the kernel is the only
/// way not to be fooled.
pub fn bpf_lsm_active() -> Result<bool, String> {
    let mut ids = [0u64; 32];
    let mut size: u32 = std::mem::size_of_val(&ids) as u32;
    // SAFETY: lsm_list_modules(2) writes at most `size` bytes into `ids` and the needed
    // size into `size`; both live for the call.
    let n = unsafe { libc::syscall(SYS_LSM_LIST_MODULES, ids.as_mut_ptr(), &mut size as *mut u32, 0u32) };
    if n < 0 {
        return Err(format!("lsm_list_modules: {}", std::io::Error::last_os_error()));
    }
    Ok(ids[..(n as usize).min(ids.len())].contains(&LSM_ID_BPF))
}

fn is_cgroup2(fd: &OwnedFd) -> bool {
    // SAFETY: fstatfs on an fd we own into a zeroed struct that lives for the call.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: see above.
    (unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) } == 0) && st.f_type as i64 == CGROUP2_SUPER_MAGIC
}

/// The container's directory in the cgroup2 tree: /sys/fs/cgroup/unified/<path> on a
/// hybrid host, /sys/fs/cgroup/<path> on a unified one. Checked to really be cgroup2.
fn open_cgroup2(cgroup: &Path) -> Result<(OwnedFd, PathBuf), String> {
    let rel = cgroup.strip_prefix("/").unwrap_or(cgroup);
    let mut tried = vec![];
    for root in ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"] {
        let dir = Path::new(root).join(rel);
        match nix::fcntl::open(&dir, nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
        {
            Ok(fd) if is_cgroup2(&fd) => return Ok((fd, dir)),
            Ok(_) => tried.push(format!("{} is not in a cgroup2 hierarchy", dir.display())),
            Err(e) => tried.push(format!("{}: {e}", dir.display())),
        }
    }
    Err(tried.join("; "))
}

fn cgroup2_mounted() -> bool {
    ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .iter()
        .any(|p| nix::sys::statfs::statfs(*p).map(|s| s.filesystem_type().0 == CGROUP2_SUPER_MAGIC).unwrap_or(false))
}

/// The kernel's BTF, mapped read-only (Linux 6.16+ maps it straight from kernel memory,
/// no copy) or else read (sysfs hands it out 4 KiB per read: some 1,350 reads).
enum BtfBytes {
    Mapped(*const u8, usize),
    Read(Vec<u8>),
}

impl BtfBytes {
    fn open() -> Result<Self, String> {
        let f = std::fs::File::open(VMLINUX_BTF).map_err(|e| format!("open {VMLINUX_BTF}: {e}"))?;
        let len = f.metadata().map_err(|e| format!("stat {VMLINUX_BTF}: {e}"))?.len() as usize;
        // SAFETY: a fresh read-only private mapping of a file we opened; it is unmapped in
        // Drop and only read through the slice `bytes` borrows from self.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, f.as_raw_fd(), 0) };
        if p != libc::MAP_FAILED && len > 0 {
            return Ok(BtfBytes::Mapped(p as *const u8, len));
        }
        std::fs::read(VMLINUX_BTF).map(BtfBytes::Read).map_err(|e| format!("read {VMLINUX_BTF}: {e}"))
    }

    fn bytes(&self) -> &[u8] {
        match self {
            // SAFETY: the mapping is `len` readable bytes and lives as long as self.
            BtfBytes::Mapped(p, len) => unsafe { std::slice::from_raw_parts(*p, *len) },
            BtfBytes::Read(v) => v,
        }
    }
}

impl Drop for BtfBytes {
    fn drop(&mut self) {
        if let BtfBytes::Mapped(p, len) = self {
            // SAFETY: unmapping the mapping made in open(); no slice of it outlives self.
            unsafe { libc::munmap(*p as *mut libc::c_void, *len) };
        }
    }
}

/// Reads the hook ids and struct offsets the LSM programs need from the kernel's BTF.
fn lsm_layout() -> Result<([u32; 3], programs::Layout), String> {
    let data = BtfBytes::open()?;
    let b = btf::Btf::parse(data.bytes()).map_err(|e| format!("{VMLINUX_BTF}: {e}"))?;
    let s = |e: btf::BtfError| format!("{VMLINUX_BTF}: {e}");
    let (ids, [socket, sock]) = b.lookup(["bpf_lsm_socket_create", "bpf_lsm_socket_bind", "bpf_lsm_socket_listen"], ["socket", "sock"]).map_err(s)?;
    let off = |v: u32| i16::try_from(v).map_err(|_| format!("{VMLINUX_BTF}: struct offset {v} out of range"));
    let layout = programs::Layout {
        socket_sk: off(b.offset("socket", socket, &["sk"]).map_err(s)?)?,
        sock_num: off(b.offset("sock", sock, &["__sk_common", "skc_num"]).map_err(s)?)?,
        sock_family: off(b.offset("sock", sock, &["__sk_common", "skc_family"]).map_err(s)?)?,
    };
    Ok((ids, layout))
}

/// Why the LSM layer cannot be used here, or its hook ids and struct layout.
fn lsm_support() -> Result<([u32; 3], programs::Layout), (String, &'static str)> {
    match bpf_lsm_active() {
        Ok(true) => {}
        Ok(false) => return Err(("the BPF LSM is not active on this kernel".into(), "add bpf to the lsm= boot parameter")),
        Err(e) => return Err((format!("cannot tell whether the BPF LSM is active ({e})"), "run on Linux 6.8 or later with bpf in lsm=")),
    }
    if let Err(e) = bpf::lsm_programs_loadable() {
        return Err((
            format!("the kernel refuses to load BPF LSM programs ({e})"),
            "run on a kernel that allows BPF LSM programs (no lockdown or build patch forbidding BTF-attached BPF)",
        ));
    }
    lsm_layout().map_err(|e| (e, "run on a kernel with BTF (CONFIG_DEBUG_INFO_BTF)"))
}

/// Parses the annotations and generates the programs. `Ok(None)`: no network rules.
///
/// Two layers. The cgroup socket hooks (sock_create, bind, connect, sendmsg, and an
/// ingress filter for listeners) close MPTCP, fast open, listen-autobind and UDP on their
/// own and are required. The LSM programs add what no cgroup hook can see: socket
/// families other than IP, abstract unix binds, and a clean EPERM at listen(). They are
/// required when `org.ocirt.net.unix.bind` is given (only they can enforce it), and
/// applied where the kernel allows otherwise.
pub fn prepare(annotations: &HashMap<String, String>) -> Result<Option<Plan>, NetGuardError> {
    let Some(p) = policy::from_annotations(annotations)? else { return Ok(None) };
    let started = std::time::Instant::now();
    let mut progs = vec![];
    if !cgroup2_mounted() {
        fail_or_warn(
            p.required,
            NetGuardError::Unavailable {
                what: "this host has no cgroup2 hierarchy (neither /sys/fs/cgroup/unified nor /sys/fs/cgroup is cgroup2) to attach the guard to".into(),
                fix: "mount cgroup2",
            },
        )?;
        return Ok(Some(Plan { progs, required: p.required }));
    }
    let prog = |name, prog_type, attach_type, insns| Prog { name, essential: true, prog_type, attach_type, attach_btf_id: 0, insns };
    progs.push(prog("sock_create", bpf::PROG_TYPE_CGROUP_SOCK, bpf::ATTACH_INET_SOCK_CREATE, programs::inet_sock_create(&p)));
    let none: Vec<u16> = vec![];
    let udp_bind = p.udp_bind.as_ref().unwrap_or(&none);
    let udp_connect = p.udp_connect.as_ref().unwrap_or(&none);
    let sa = |name, attach_type, tcp: Option<&Vec<u16>>, udp: &Vec<u16>| {
        prog(name, bpf::PROG_TYPE_CGROUP_SOCK_ADDR, attach_type, programs::sock_addr(tcp.map(Vec::as_slice), udp))
    };
    // A hook is needed when its TCP list restricts something or when UDP sockets can exist.
    if p.tcp_bind.is_some() || p.udp_enabled() {
        progs.push(sa("bind4", bpf::ATTACH_INET4_BIND, p.tcp_bind.as_ref(), udp_bind));
        progs.push(sa("bind6", bpf::ATTACH_INET6_BIND, p.tcp_bind.as_ref(), udp_bind));
    }
    if let Some(bind) = &p.tcp_bind {
        progs.push(prog("listen_ingress", bpf::PROG_TYPE_CGROUP_SKB, bpf::ATTACH_INGRESS, programs::skb_ingress(bind)));
    }
    if p.tcp_connect.is_some() || p.udp_enabled() {
        progs.push(sa("connect4", bpf::ATTACH_INET4_CONNECT, p.tcp_connect.as_ref(), udp_connect));
        progs.push(sa("connect6", bpf::ATTACH_INET6_CONNECT, p.tcp_connect.as_ref(), udp_connect));
    }
    if p.udp_enabled() {
        progs.push(sa("sendmsg4", bpf::ATTACH_UDP4_SENDMSG, None, udp_connect));
        progs.push(sa("sendmsg6", bpf::ATTACH_UDP6_SENDMSG, None, udp_connect));
    }
    match lsm_support() {
        Ok((ids, layout)) => {
            let lsm = |name, id, insns| Prog {
                name,
                essential: p.unix_bind_declared,
                prog_type: bpf::PROG_TYPE_LSM,
                attach_type: bpf::ATTACH_LSM_CGROUP,
                attach_btf_id: id,
                insns,
            };
            progs.push(lsm("socket_create", ids[0], programs::socket_create(&p)));
            progs.push(lsm("socket_bind", ids[1], programs::socket_bind(&p)));
            if let Some(bind) = &p.tcp_bind {
                progs.push(lsm("socket_listen", ids[2], programs::socket_listen(bind, layout)));
            }
        }
        Err((what, fix)) if p.unix_bind_declared => fail_or_warn(
            p.required,
            NetGuardError::Unavailable {
                what: format!("{} is set, and only the BPF LSM can check abstract unix binds, but {what}", policy::KEY_UNIX_BIND),
                fix,
            },
        )?,
        Err((what, _)) => crate::log::debug(&format!(
            "network guard: LSM layer skipped ({what}): abstract unix binds are not checked, other socket families are left to seccomp"
        )),
    }
    crate::log::debug(&format!(
        "network guard: {} programs ({}), compiled in {:?}",
        progs.len(),
        if p.required { "required" } else { "best effort" },
        started.elapsed()
    ));
    Ok(Some(Plan { progs, required: p.required }))
}

impl Plan {
    /// Loads the programs and attaches them to the container's cgroup2 node (`cgroup` is
    /// the container's cgroup path, as for the v1 hierarchies).
    pub fn attach(&self, cgroup: &Path) -> Result<(), NetGuardError> {
        if self.progs.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let (dir, dir_path) = match open_cgroup2(cgroup) {
            Ok(v) => v,
            Err(e) => {
                return fail_or_warn(
                    self.required,
                    NetGuardError::Unavailable {
                        what: format!("no cgroup2 node for the container ({e})"),
                        fix: "give the container a cgroup in the cgroup2 tree",
                    },
                )
            }
        };
        for p in &self.progs {
            let spec = bpf::ProgSpec { prog_type: p.prog_type, attach_type: p.attach_type, attach_btf_id: p.attach_btf_id, insns: &p.insns };
            let fd = match bpf::load(&spec, p.name) {
                Ok(fd) => fd,
                Err(e) => {
                    fail_or_warn(
                        self.required && p.essential,
                        NetGuardError::Unavailable {
                            what: format!(
                                "the kernel refused to load the {} program: {} (verifier: {})",
                                p.name,
                                e.err,
                                if e.log.is_empty() { "no log" } else { &e.log }
                            ),
                            fix: "report this with the kernel version",
                        },
                    )?;
                    continue;
                }
            };
            if let Err(e) = bpf::attach(&dir, &fd, p.attach_type) {
                fail_or_warn(
                    self.required && p.essential,
                    NetGuardError::Unavailable {
                        what: format!("cannot attach the {} program to {}: {e}", p.name, dir_path.display()),
                        fix: "check that the runtime runs as root with CAP_BPF/CAP_SYS_ADMIN",
                    },
                )?;
            }
        }
        crate::log::debug(&format!("network guard: loaded and attached to {} in {:?}", dir_path.display(), started.elapsed()));
        Ok(())
    }
}

/// For `runtime features`: what this host can enforce.
pub fn features() -> String {
    let core = if cgroup2_mounted() { "enforced" } else { "unavailable (no cgroup2 hierarchy; required mode refuses to start)" };
    let lsm = match lsm_support() {
        Ok(_) => "enforced".to_string(),
        Err((what, _)) => format!("unavailable ({what})"),
    };
    format!("tcp/udp port lists on every call path, mptcp/sctp/raw refused, listen without bind unreachable: {core}; abstract unix binds and non-IP socket families: {lsm}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The BTF-derived layout (read as a host with the BPF LSM would, timed).
    #[test]
    fn lsm_layout_reads_vmlinux_btf() {
        if !Path::new(VMLINUX_BTF).exists() {
            return;
        }
        let t = std::time::Instant::now();
        let (ids, l) = lsm_layout().unwrap();
        eprintln!("vmlinux BTF: ids {ids:?} layout {l:?} in {:?}", t.elapsed());
        assert!(ids.iter().all(|&i| i > 0));
        assert_eq!(l.sock_family, l.sock_num + 2);
    }

    #[test]
    fn required_fails_best_effort_warns() {
        let e = || NetGuardError::Unavailable { what: "x".into(), fix: "y" };
        let msg = fail_or_warn(true, e()).unwrap_err().to_string();
        assert!(msg.contains("best-effort") && msg.contains(KEY_COMPAT), "{msg}");
        assert!(fail_or_warn(false, e()).is_ok());
    }

    #[test]
    fn attach_refuses_a_directory_outside_cgroup2() {
        let plan = Plan { progs: vec![Prog { name: "x", essential: true, prog_type: 0, attach_type: 0, attach_btf_id: 0, insns: vec![] }], required: true };
        let e = plan.attach(Path::new("/ocirt-netguard-test-no-such-cgroup")).unwrap_err().to_string();
        assert!(e.contains("no cgroup2 node") && e.contains("best-effort"), "{e}");
        let lenient = Plan { required: false, ..plan };
        assert!(lenient.attach(Path::new("/ocirt-netguard-test-no-such-cgroup")).is_ok());
    }

    #[test]
    fn programs_per_policy() {
        if !cgroup2_mounted() {
            return;
        }
        let lsm = lsm_support().is_ok();
        let names = |pairs: &[(&str, &str)]| -> Vec<&'static str> {
            prepare(&ann(pairs)).unwrap().unwrap().progs.iter().map(|p| p.name).filter(|n| !n.starts_with("socket_")).collect()
        };
        assert_eq!(
            names(&[(policy::KEY_TCP_BIND, "[80]"), (policy::KEY_TCP_CONNECT, "[]")]),
            ["sock_create", "bind4", "bind6", "listen_ingress", "connect4", "connect6"]
        );
        assert_eq!(names(&[(policy::KEY_UDP_CONNECT, "[53]")]), ["sock_create", "bind4", "bind6", "connect4", "connect6", "sendmsg4", "sendmsg6"]);
        assert!(prepare(&ann(&[])).unwrap().is_none());
        // Declared abstract names need the LSM layer: without it, required mode refuses.
        let r = prepare(&ann(&[(policy::KEY_UNIX_BIND, "[]")]));
        assert_eq!(r.is_ok(), lsm, "{:?}", r.err().map(|e| e.to_string()));
        if !lsm {
            let e = prepare(&ann(&[(policy::KEY_UNIX_BIND, "[]")])).unwrap_err().to_string();
            assert!(e.contains(policy::KEY_UNIX_BIND) && e.contains("best-effort"), "{e}");
            assert!(prepare(&ann(&[(policy::KEY_UNIX_BIND, "[]"), (KEY_COMPAT, "best-effort")])).is_ok());
        }
    }

    /// Every generated program passes this kernel's verifier (load only, no attach).
    #[test]
    fn programs_load() {
        if nix::unistd::geteuid().as_raw() != 0 || !cgroup2_mounted() {
            return;
        }
        let full: &[(&str, &str)] =
            &[(policy::KEY_TCP_BIND, "[80, 8080]"), (policy::KEY_TCP_CONNECT, "[443]"), (policy::KEY_UDP_CONNECT, "[53]"), (policy::KEY_UDP_BIND, "[]")];
        // Empty lists leave one exit unreachable: it must be left out, not emitted.
        let empty: &[(&str, &str)] = &[(policy::KEY_TCP_BIND, "[]"), (policy::KEY_TCP_CONNECT, "[]")];
        let udp_only: &[(&str, &str)] = &[(policy::KEY_UDP_CONNECT, "[]")];
        for pairs in [full, empty, udp_only] {
            let p = prepare(&ann(pairs)).unwrap().unwrap();
            assert!(p.progs.len() >= 6);
            for prog in &p.progs {
                let spec = bpf::ProgSpec { prog_type: prog.prog_type, attach_type: prog.attach_type, attach_btf_id: prog.attach_btf_id, insns: &prog.insns };
                if let Err(e) = bpf::load(&spec, prog.name) {
                    panic!("{pairs:?} {}: {} ({})", prog.name, e.err, e.log);
                }
            }
        }
        // The LSM programs, where this kernel loads them (with abstract names to compare).
        if let Ok((ids, layout)) = lsm_support() {
            let pol = policy::from_annotations(&ann(&[
                (policy::KEY_TCP_BIND, "[80]"),
                (policy::KEY_UNIX_BIND, r#"["a", "exactly8", "a-longer-name-of-more-than-sixteen-bytes"]"#),
            ]))
            .unwrap()
            .unwrap();
            for (name, id, insns) in [
                ("socket_create", ids[0], programs::socket_create(&pol)),
                ("socket_bind", ids[1], programs::socket_bind(&pol)),
                ("socket_listen", ids[2], programs::socket_listen(&[80], layout)),
            ] {
                let spec = bpf::ProgSpec { prog_type: bpf::PROG_TYPE_LSM, attach_type: bpf::ATTACH_LSM_CGROUP, attach_btf_id: id, insns: &insns };
                if let Err(e) = bpf::load(&spec, name) {
                    panic!("{name}: {} ({})", e.err, e.log);
                }
            }
        }
    }
}
