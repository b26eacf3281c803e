//! `linux.seccomp` → stacked BPF filters. See the module documentation in `mod.rs` for
//! the semantics; this file is the mechanics.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag, LinuxSeccompOperator};
use seccompiler::{BackendError, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule};

use super::bpf::{self, Prefix, SeccompData};
use super::syscalls::{self, arch_name, Native};
use super::{CompiledSeccomp, Filter, SeccompError};

/// A kernel filter result: `SECCOMP_RET_*` action bits | 16 bits of data.
type Ret = u32;

const ALLOW: Ret = libc::SECCOMP_RET_ALLOW;
const MAX_ERRNO: u32 = 4095;

/// One (syscall, action, rules) triple from the profile, after name resolution.
struct Entry {
    nr: u32,
    ret: Ret,
    /// Index of the `syscalls[]` entry it came from.
    order: usize,
    /// ORed rules of ANDed conditions; empty means "the syscall number alone matches".
    rules: Vec<SeccompRule>,
}

/// Validates `cfg` and compiles it into filters in install order.
///
/// Runs in the runtime process before the container is created, so every error is
/// reported before anything exists. Rejects `SCMP_ACT_NOTIFY`, `listenerPath`,
/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`, argument indexes above 5, errno values out
/// of range, architecture lists without the native architecture, and profiles too large
/// for the kernel.
pub fn compile(cfg: &LinuxSeccomp) -> Result<CompiledSeccomp, SeccompError> {
    compile_with(cfg, true)
}

/// [`compile`], with the unconditional syscalls searched ([`bpf::dispatch`]) or, with
/// `search` false, left in seccompiler's chain: the tests compare the two.
pub(crate) fn compile_with(cfg: &LinuxSeccomp, search: bool) -> Result<CompiledSeccomp, SeccompError> {
    let native = syscalls::NATIVE.ok_or(SeccompError::UnsupportedHostArch(std::env::consts::ARCH))?;

    if cfg.listener_path().is_some() {
        return Err(SeccompError::ListenerNotSupported);
    }
    let default = resolve_action(cfg.default_action(), cfg.default_errno_ret(), Site::Default)?;
    let flags = resolve_flags(cfg.flags().as_deref().unwrap_or(&[]))?;
    let ignored_archs = check_architectures(cfg.architectures().as_deref().unwrap_or(&[]), native)?;

    // Resolve every entry and name.
    let mut entries: Vec<Entry> = Vec::new();
    let mut skipped: BTreeSet<&str> = BTreeSet::new();
    let mut newest_named: Option<u32> = None;
    for (i, sc) in cfg.syscalls().as_deref().unwrap_or(&[]).iter().enumerate() {
        let ret = resolve_action(sc.action(), sc.errno_ret(), Site::Syscall(i))?;
        let rules = rules_for(sc.args().as_deref().unwrap_or(&[]), i)?;
        for (j, name) in sc.names().iter().enumerate() {
            if name.is_empty() {
                return Err(SeccompError::InvalidField { field: format!("linux.seccomp.syscalls[{i}].names[{j}]"), reason: "empty syscall name".into() });
            }
            let Some(nr) = syscalls::resolve(name) else {
                skipped.insert(name);
                continue;
            };
            newest_named = newest_named.max(Some(nr));
            // A rule with the default action changes nothing (runc skips these too).
            if ret != default {
                entries.push(Entry { nr, ret, order: i, rules: rules.clone() });
            }
        }
    }

    let mut filters: Vec<Filter> = Vec::new();

    // Per-action groups, the first-listed group installed last so it wins ties.
    let mut groups: Vec<(Ret, usize, Vec<&Entry>)> = Vec::new();
    for e in entries.iter().filter(|e| e.ret != ALLOW) {
        match groups.iter_mut().find(|g| g.0 == e.ret) {
            Some(g) => g.2.push(e),
            None => groups.push((e.ret, e.order, vec![e])),
        }
    }
    groups.sort_by_key(|g| Reverse(g.1));

    // Without a base filter, a guard answers x32 and foreign-architecture syscalls.
    let guard = (default == ALLOW)
        .then(|| Filter { label: "guard".into(), insns: bpf::guard(Prefix { audit_arch: native.audit, x32_enosys: native.has_x32, enosys_above: None }) });
    for (ret, _, members) in &groups {
        let label = ret_name(*ret);
        let insns = if search {
            let mut insns = bpf::prefix(Prefix { audit_arch: native.audit, x32_enosys: false, enosys_above: None });
            insns.extend(body(members, ALLOW, *ret, native, &label)?);
            insns
        } else {
            bpf::from_seccompiler(&build(members.iter().copied(), ALLOW, *ret, native, &label)?)
        };
        filters.push(Filter { label, insns });
    }
    if default != ALLOW {
        let label = format!("base (default {})", ret_name(default));
        let stub = enosys_stub_applies(default).then_some(newest_named).flatten();
        let mut insns = bpf::prefix(Prefix { audit_arch: native.audit, x32_enosys: native.has_x32, enosys_above: stub });
        if search {
            insns.extend(body(&entries.iter().collect::<Vec<_>>(), default, ALLOW, native, &label)?);
        } else {
            insns.extend(bpf::from_seccompiler(&build(entries.iter(), default, ALLOW, native, &label)?));
        }
        filters.push(Filter { label, insns });
    }

    let filters = order_for_install(guard, filters, flags, native)?;
    check_sizes(&filters)?;

    Ok(CompiledSeccomp { filters, flags, skipped: skipped.into_iter().map(str::to_owned).collect(), ignored_archs })
}

/// runc's rule: no `ENOSYS` stub when the default lets syscalls through anyway (`ALLOW`,
/// `LOG`, and `TRACE`, whose tracer should handle new syscalls itself), nor when the
/// default already is `ERRNO(ENOSYS)`.
fn enosys_stub_applies(default: Ret) -> bool {
    let action = default & libc::SECCOMP_RET_ACTION_FULL;
    let permissive = action == libc::SECCOMP_RET_ALLOW || action == libc::SECCOMP_RET_LOG || action == libc::SECCOMP_RET_TRACE;
    !permissive && default != bpf::ret_errno(libc::ENOSYS)
}

/// The body of one filter (after the architecture check): the syscalls matched by number
/// alone are searched ([`bpf::dispatch`]: `on_match`); the others, and the syscalls whose
/// rules look at arguments, go on to seccompiler's chain over the latter (`on_match` when
/// a rule holds, else `mismatch`), or straight to `mismatch` when there are none.
fn body(entries: &[&Entry], mismatch: Ret, on_match: Ret, native: Native, label: &str) -> Result<Vec<libc::sock_filter>, SeccompError> {
    let unconditional: BTreeSet<u32> = entries.iter().filter(|e| e.rules.is_empty()).map(|e| e.nr).collect();
    let numbers: Vec<u32> = unconditional.iter().copied().collect();
    let mut v = vec![bpf::stmt(bpf::LD_W_ABS, bpf::OFF_NR)];
    v.extend(bpf::dispatch(&numbers, on_match));
    let conditional: Vec<&Entry> = entries.iter().copied().filter(|e| !unconditional.contains(&e.nr)).collect();
    if conditional.is_empty() {
        v.push(bpf::stmt(bpf::RET_K, mismatch));
    } else {
        v.extend(bpf::from_seccompiler(&build(conditional.into_iter(), mismatch, on_match, native, label)?));
    }
    Ok(v)
}

/// Builds one seccompiler filter over `entries`.
fn build<'a>(entries: impl Iterator<Item = &'a Entry>, mismatch: Ret, on_match: Ret, native: Native, label: &str) -> Result<BpfProgram, SeccompError> {
    let mut map: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let mut unconditional: BTreeSet<i64> = BTreeSet::new();
    for e in entries {
        let nr = i64::from(e.nr);
        if e.rules.is_empty() {
            unconditional.insert(nr);
            map.entry(nr).or_default();
            continue;
        }
        let rules = map.entry(nr).or_default();
        for r in &e.rules {
            if !rules.contains(r) {
                rules.push(r.clone());
            }
        }
    }
    // An unconditional rule matches every call, so conditions for that syscall are moot.
    for nr in unconditional {
        if let Some(rules) = map.get_mut(&nr) {
            rules.clear();
        }
    }
    let backend = |source: BackendError| match source {
        BackendError::FilterTooLarge(len) => SeccompError::FilterTooLarge { filter: label.to_owned(), len, max: bpf::MAX_INSNS_PER_FILTER },
        source => SeccompError::Backend { filter: label.to_owned(), source },
    };
    let filter = SeccompFilter::new(map, to_action(mismatch), to_action(on_match), native.target).map_err(backend)?;
    BpfProgram::try_from(filter).map_err(backend)
}

/// Puts the guard first and any filter that would deny the install-time `seccomp(2)`
/// call last; errors if more than one filter would deny it.
#[allow(clippy::useless_conversion)] // c_ulong is u64 only on 64-bit targets
fn order_for_install(guard: Option<Filter>, filters: Vec<Filter>, flags: libc::c_ulong, native: Native) -> Result<Vec<Filter>, SeccompError> {
    // The call `install` makes (the pointer argument is a stack address we cannot know;
    // try a null and a typical stack address).
    let denies = |f: &Filter| {
        [0u64, 0x7ffc_0000_1000].iter().any(|&ptr| {
            let call = SeccompData {
                nr: libc::SYS_seccomp as i32,
                arch: native.audit,
                ip: 0,
                args: [u64::from(libc::SECCOMP_SET_MODE_FILTER), u64::from(flags), ptr, 0, 0, 0],
            };
            match bpf::run(&f.insns, &call) {
                Some(r) => {
                    let a = r & libc::SECCOMP_RET_ACTION_FULL;
                    a != libc::SECCOMP_RET_ALLOW && a != libc::SECCOMP_RET_LOG
                }
                None => true,
            }
        })
    };
    let (mut ordered, denying): (Vec<Filter>, Vec<Filter>) = filters.into_iter().partition(|f| !denies(f));
    if denying.len() > 1 {
        let names: Vec<String> = denying.iter().map(|f| format!("the {} filter", f.label)).collect();
        return Err(SeccompError::SelfBlocking(names.join(" and ")));
    }
    ordered.extend(denying);
    if let Some(g) = guard {
        ordered.insert(0, g);
    }
    Ok(ordered)
}

fn check_sizes(filters: &[Filter]) -> Result<(), SeccompError> {
    for f in filters {
        if f.insns.len() > bpf::MAX_INSNS_PER_FILTER {
            return Err(SeccompError::FilterTooLarge { filter: f.label.clone(), len: f.insns.len(), max: bpf::MAX_INSNS_PER_FILTER });
        }
    }
    let total: usize = filters.iter().map(|f| f.insns.len() + bpf::PATH_OVERHEAD_PER_FILTER).sum();
    if total > bpf::MAX_INSNS_PER_PATH {
        return Err(SeccompError::TotalTooLarge { count: filters.len(), total, max: bpf::MAX_INSNS_PER_PATH });
    }
    Ok(())
}

/// Where an action came from, to name the fields in error messages.
#[derive(Clone, Copy)]
enum Site {
    Default,
    Syscall(usize),
}

impl Site {
    fn action_field(self) -> String {
        match self {
            Site::Default => "linux.seccomp.defaultAction".into(),
            Site::Syscall(i) => format!("linux.seccomp.syscalls[{i}].action"),
        }
    }
    fn errno_field(self) -> String {
        match self {
            Site::Default => "linux.seccomp.defaultErrnoRet".into(),
            Site::Syscall(i) => format!("linux.seccomp.syscalls[{i}].errnoRet"),
        }
    }
}

/// OCI action (+ errnoRet, default EPERM) → kernel return value.
fn resolve_action(action: LinuxSeccompAction, errno_ret: Option<u32>, site: Site) -> Result<Ret, SeccompError> {
    let data = |max: u32, what: &str| -> Result<u32, SeccompError> {
        let v = errno_ret.unwrap_or(libc::EPERM as u32);
        if v > max {
            return Err(SeccompError::InvalidField { field: site.errno_field(), reason: format!("{v} is out of range for {what} (0 to {max})") });
        }
        Ok(v)
    };
    Ok(match action {
        LinuxSeccompAction::ScmpActAllow => ALLOW,
        LinuxSeccompAction::ScmpActErrno => libc::SECCOMP_RET_ERRNO | data(MAX_ERRNO, "SCMP_ACT_ERRNO")?,
        LinuxSeccompAction::ScmpActTrace => libc::SECCOMP_RET_TRACE | data(libc::SECCOMP_RET_DATA, "SCMP_ACT_TRACE")?,
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => libc::SECCOMP_RET_KILL_THREAD,
        LinuxSeccompAction::ScmpActKillProcess => libc::SECCOMP_RET_KILL_PROCESS,
        LinuxSeccompAction::ScmpActTrap => libc::SECCOMP_RET_TRAP,
        LinuxSeccompAction::ScmpActLog => libc::SECCOMP_RET_LOG,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(SeccompError::UnsupportedAction {
                field: site.action_field(),
                action: "SCMP_ACT_NOTIFY",
                reason: "this runtime does not implement seccomp user notification \
                         (no seccomp agent support)",
            });
        }
    })
}

fn to_action(r: Ret) -> SeccompAction {
    let data = r & libc::SECCOMP_RET_DATA;
    match r & libc::SECCOMP_RET_ACTION_FULL {
        libc::SECCOMP_RET_ALLOW => SeccompAction::Allow,
        libc::SECCOMP_RET_ERRNO => SeccompAction::Errno(data),
        libc::SECCOMP_RET_TRACE => SeccompAction::Trace(data),
        libc::SECCOMP_RET_KILL_PROCESS => SeccompAction::KillProcess,
        libc::SECCOMP_RET_KILL_THREAD => SeccompAction::KillThread,
        libc::SECCOMP_RET_TRAP => SeccompAction::Trap,
        libc::SECCOMP_RET_LOG => SeccompAction::Log,
        _ => unreachable!("resolve_action only produces the actions above"),
    }
}

/// "SCMP_ACT_ERRNO(38)" etc., for labels and messages.
pub(crate) fn ret_name(r: Ret) -> String {
    let data = r & libc::SECCOMP_RET_DATA;
    match r & libc::SECCOMP_RET_ACTION_FULL {
        libc::SECCOMP_RET_ALLOW => "SCMP_ACT_ALLOW".into(),
        libc::SECCOMP_RET_ERRNO => format!("SCMP_ACT_ERRNO({data})"),
        libc::SECCOMP_RET_TRACE => format!("SCMP_ACT_TRACE({data})"),
        libc::SECCOMP_RET_KILL_PROCESS => "SCMP_ACT_KILL_PROCESS".into(),
        libc::SECCOMP_RET_KILL_THREAD => "SCMP_ACT_KILL_THREAD".into(),
        libc::SECCOMP_RET_TRAP => "SCMP_ACT_TRAP".into(),
        libc::SECCOMP_RET_LOG => "SCMP_ACT_LOG".into(),
        other => format!("action {other:#x}"),
    }
}

fn resolve_flags(flags: &[LinuxSeccompFilterFlag]) -> Result<libc::c_ulong, SeccompError> {
    let mut bits = 0;
    for (index, f) in flags.iter().enumerate() {
        bits |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                return Err(SeccompError::UnsupportedFlag {
                    index,
                    flag: "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
                    reason: "it only applies to seccomp user notification (SCMP_ACT_NOTIFY), \
                             which this runtime does not implement",
                });
            }
        };
    }
    Ok(bits)
}

/// Accepts the native architecture (or `SCMP_ARCH_NATIVE`); returns the others, which
/// are not filtered. An empty list means "native".
fn check_architectures(archs: &[Arch], native: Native) -> Result<Vec<&'static str>, SeccompError> {
    let mut has_native = archs.is_empty();
    let mut ignored: Vec<&'static str> = Vec::new();
    for &a in archs {
        if a == Arch::ScmpArchNative || a == native.oci {
            has_native = true;
        } else if !ignored.contains(&arch_name(a)) {
            ignored.push(arch_name(a));
        }
    }
    if !has_native {
        return Err(SeccompError::Architecture(format!(
            "[{}] does not include the native architecture {}, so the filter would kill every \
             process; add {} or SCMP_ARCH_NATIVE",
            ignored.join(", "),
            native.oci_name,
            native.oci_name
        )));
    }
    Ok(ignored)
}

/// The rules of one `syscalls[i]` entry: all conditions ANDed in one rule, or, when an
/// argument index repeats, one rule per condition (ORed), as runc does.
fn rules_for(args: &[LinuxSeccompArg], i: usize) -> Result<Vec<SeccompRule>, SeccompError> {
    if args.is_empty() {
        return Ok(Vec::new());
    }
    let mut seen = [false; 6];
    let mut repeated = false;
    let mut conds = Vec::with_capacity(args.len());
    for (j, a) in args.iter().enumerate() {
        let index = a.index();
        if index > 5 {
            return Err(SeccompError::InvalidField {
                field: format!("linux.seccomp.syscalls[{i}].args[{j}].index"),
                reason: format!("{index} is out of range (a syscall has arguments 0 to 5)"),
            });
        }
        repeated |= std::mem::replace(&mut seen[index], true);
        let (op, value) = match a.op() {
            LinuxSeccompOperator::ScmpCmpNe => (SeccompCmpOp::Ne, a.value()),
            LinuxSeccompOperator::ScmpCmpLt => (SeccompCmpOp::Lt, a.value()),
            LinuxSeccompOperator::ScmpCmpLe => (SeccompCmpOp::Le, a.value()),
            LinuxSeccompOperator::ScmpCmpEq => (SeccompCmpOp::Eq, a.value()),
            LinuxSeccompOperator::ScmpCmpGe => (SeccompCmpOp::Ge, a.value()),
            LinuxSeccompOperator::ScmpCmpGt => (SeccompCmpOp::Gt, a.value()),
            // libseccomp's convention: value is the mask, valueTwo the datum.
            LinuxSeccompOperator::ScmpCmpMaskedEq => (SeccompCmpOp::MaskedEq(a.value()), a.value_two().unwrap_or(0)),
        };
        let internal = |source| SeccompError::Backend { filter: format!("linux.seccomp.syscalls[{i}].args[{j}]"), source };
        conds.push(SeccompCondition::new(index as u8, SeccompCmpArgLen::Qword, op, value).map_err(internal)?);
    }
    let internal = |source| SeccompError::Backend { filter: format!("linux.seccomp.syscalls[{i}].args"), source };
    if repeated {
        conds.into_iter().map(|c| SeccompRule::new(vec![c]).map_err(internal)).collect()
    } else {
        Ok(vec![SeccompRule::new(conds).map_err(internal)?])
    }
}
