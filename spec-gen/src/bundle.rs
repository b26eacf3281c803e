//! Service description → config.json.

use crate::accounts::{AccountError, Accounts, Identity};
use crate::load::{LoadError, Service};
use crate::mounts::{MountError, MountPlan};
use crate::oci;
use crate::rootpath::View;
use crate::seccomp::SeccompError;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// runc's default masked paths, plus /sys/devices/virtual/powercap, plus everything that
/// describes the kernel itself (symbols, build configuration, BTF, allocator and memory
/// layout, modules, tracing and debugging interfaces) which no service reads but an
/// exploit uses to locate kernel objects. /sys/kernel is masked entry by entry, not as a
/// whole, because /sys/kernel/mm/transparent_hugepage is read by allocators and databases
/// (glibc's hugetlb tunable, jemalloc, Redis, MongoDB). Paths missing on the host kernel
/// are skipped by the runtime.
pub const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/config.gz",
    "/proc/dma",
    "/proc/iomem",
    "/proc/ioports",
    "/proc/kallsyms",
    "/proc/key-users",
    "/proc/kmsg",
    "/proc/kpagecgroup",
    "/proc/kpagecount",
    "/proc/kpageflags",
    "/proc/modules",
    "/proc/mtrr",
    "/proc/pagetypeinfo",
    "/proc/slabinfo",
    "/proc/vmallocinfo",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
    "/sys/kernel/boot_params",
    "/sys/kernel/btf",
    "/sys/kernel/debug",
    "/sys/kernel/irq",
    "/sys/kernel/notes",
    "/sys/kernel/security",
    "/sys/kernel/slab",
    "/sys/kernel/tracing",
    "/sys/kernel/vmcoreinfo",
    "/sys/module",
];

/// sysctls every bundle sets. vm.memfd_noexec=2 (Linux 6.3+, per PID namespace, and
/// every bundle has its own): memfd_create(MFD_EXEC) is refused and other memfds are
/// sealed non-executable, so memfd_create + execveat cannot run code that never touched
/// the (noexec) filesystem. JITs that map memfds PROT_EXEC are not affected.
pub const SYSCTLS: &[(&str, &str)] = &[("vm.memfd_noexec", "2")];

pub const READONLY_PATHS: &[&str] = &["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

pub const CPU_PERIOD: u64 = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Mount(#[from] MountError),
    #[error("{location}: error: {error}\n  fix: {fix}", fix = error.fix())]
    Account { location: String, error: AccountError },
    #[error("{location}: error: {error}\n  fix: {fix}", fix = error.fix())]
    Seccomp { location: String, error: SeccompError },
    #[error("{0}: error: the rootfs path is not valid UTF-8\n  fix: rename the directory")]
    NotUtf8(PathBuf),
}

/// Everything decided about a service, shared by `bundle`, `explain` and `unit`.
#[derive(Debug, Clone)]
pub struct Plan {
    pub id: String,
    pub identity: Identity,
    pub mounts: MountPlan,
    /// Chosen seccomp profile name or path, and where it came from.
    pub seccomp_choice: String,
    pub seccomp_file: Option<PathBuf>,
    pub landlock: Option<crate::landlock::Rules>,
    pub config: oci::Config,
}

fn identity(svc: &Service) -> Result<Identity, BundleError> {
    let p = &svc.desc.process;
    let accounts = Accounts::read(&View::new(&svc.rootfs)).map_err(|error| BundleError::Account { location: svc.location(&p.user.span()), error })?;
    let extra: Vec<_> = p.supplementary_groups.iter().map(|g| g.get_ref()).collect();
    accounts.resolve(p.user.get_ref(), p.group.as_ref().map(|g| g.get_ref()), &extra).map_err(|error| {
        let span = match &error {
            AccountError::UnknownGroup(n) => {
                p.group.iter().chain(&p.supplementary_groups).find(|g| g.get_ref().to_string() == *n).map_or(p.user.span(), |g| g.span())
            }
            _ => p.user.span(),
        };
        BundleError::Account { location: svc.location(&span), error }
    })
}

fn environment(svc: &Service, id: &Identity) -> Vec<String> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert("PATH".into(), DEFAULT_PATH.into());
    if let Some(h) = &id.home {
        env.insert("HOME".into(), h.clone());
    }
    env.extend(svc.env.clone());
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

fn resources(svc: &Service) -> oci::Resources {
    let r = &svc.desc.resources;
    oci::Resources {
        devices: crate::devices::rules(&svc.desc.devices),
        memory: r.memory.as_ref().map(|m| oci::Memory { limit: i64::try_from(m.get_ref().0).unwrap_or(i64::MAX) }),
        cpu: r.cpus.as_ref().map(|c| oci::Cpu { quota: (c.get_ref() * CPU_PERIOD as f64).round() as i64, period: CPU_PERIOD }),
        pids: r.pids.as_ref().map(|p| oci::Pids { limit: *p.get_ref() }),
    }
}

pub fn plan(svc: &Service) -> Result<Plan, BundleError> {
    let d = &svc.desc;
    let id = svc.id();
    let identity = identity(svc)?;
    let mounts = crate::mounts::plan(svc)?;

    let choice = crate::seccomp::choose(d.security.seccomp.as_ref().map(|s| s.get_ref().as_str()), d.network.uses_udp());
    let loaded = crate::seccomp::load(&choice, &svc.dir).map_err(|error| BundleError::Seccomp {
        location: match &d.security.seccomp {
            Some(s) => svc.location(&s.span()),
            None => svc.file.display().to_string(),
        },
        error,
    })?;
    let (seccomp_file, seccomp) = match loaded {
        Some((p, v)) => (Some(p), Some(v)),
        None => (None, None),
    };

    let landlock = crate::landlock::rules(svc, &mounts.writable);
    let mut annotations = landlock.as_ref().map(crate::landlock::annotations).unwrap_or_default();
    if d.lifecycle.init {
        annotations.insert(ocirt_contract::annotations::INIT.to_string(), "true".to_string());
    }

    let caps: Vec<String> = {
        let mut c: Vec<String> = d.security.capabilities.iter().map(|c| c.get_ref().0.clone()).collect();
        c.sort();
        c.dedup();
        c
    };
    let mut args = vec![d.process.command.get_ref().clone()];
    args.extend(d.process.args.iter().cloned());

    let mut namespaces = vec!["pid", "ipc", "uts", "mount"];
    if d.network.private {
        namespaces.push("network");
    }

    let root_path = svc.rootfs.to_str().ok_or_else(|| BundleError::NotUtf8(svc.rootfs.clone()))?.to_string();
    let config = oci::Config {
        oci_version: oci::OCI_VERSION.into(),
        process: oci::Process {
            terminal: false,
            user: oci::User { uid: identity.uid, gid: identity.gid, umask: d.process.umask.map(|m| m.0), additional_gids: identity.additional_gids.clone() },
            args,
            env: environment(svc, &identity),
            cwd: crate::load::clean_container_path(d.process.workdir.get_ref()),
            capabilities: oci::Capabilities {
                bounding: caps.clone(),
                effective: caps.clone(),
                inheritable: caps.clone(),
                permitted: caps.clone(),
                ambient: caps,
            },
            rlimits: d.rlimits.entries().into_iter().map(|(kind, l)| oci::Rlimit { kind: kind.into(), hard: l.hard, soft: l.soft }).collect(),
            no_new_privileges: d.security.no_new_privileges,
        },
        root: oci::Root { path: root_path, readonly: d.filesystem.readonly_root },
        hostname: d.name.get_ref().clone(),
        mounts: mounts.mounts.clone(),
        linux: oci::Linux {
            resources: resources(svc),
            // Not `/ocirt/{id}` written here: the same bundle may be run under other ids.
            cgroups_path: None,
            namespaces: namespaces.into_iter().map(|k| oci::Namespace { kind: k.into() }).collect(),
            devices: crate::devices::nodes(&d.devices),
            seccomp,
            masked_paths: MASKED_PATHS.iter().map(|s| s.to_string()).collect(),
            readonly_paths: READONLY_PATHS.iter().map(|s| s.to_string()).collect(),
            sysctl: SYSCTLS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        },
        annotations,
    };
    Ok(Plan { id, identity, mounts, seccomp_choice: choice, seccomp_file, landlock, config })
}
