//! OCI `linux.seccomp` support: validation and compilation to classic BPF in the runtime
//! process ([`compile`]), installation in the container init ([`CompiledSeccomp::install`]).
//!
//! # How a profile becomes kernel filters
//!
//! seccompiler produces filters with a single "match" action each, so a profile is
//! compiled into a *stack* of filters. The kernel runs every installed filter for every
//! syscall and acts on the result with the highest precedence
//! (`KILL_PROCESS > KILL_THREAD > TRAP > ERRNO > TRACE > LOG > ALLOW`); among results of
//! equal precedence (two `ERRNO`s with different errno values, say) the filter installed
//! **last** wins.
//!
//! * **Action groups**: one filter per distinct action (action *and* its errno/trace
//!   value, so `ERRNO(1)` and `ERRNO(38)` are separate groups) other than `ALLOW` and the
//!   default action. It returns that action for the calls its rules match and `ALLOW`
//!   otherwise.
//! * **Base filter** (only when the default action is not `ALLOW`): holds every rule of
//!   the profile, returns `ALLOW` when any rule matches and the default action otherwise.
//!   Whenever a group matches, the base matches too and says `ALLOW`, so the group's
//!   action wins; whenever no rule matches, every group says `ALLOW` and the default
//!   action wins. The base filter never ties with a group.
//! * **Guard filter** (only when there is no base filter): kills foreign-architecture
//!   syscalls and answers x32 syscalls with `ENOSYS` (see below).
//!
//! Inside a group or base filter, after the architecture check, the syscalls that a rule
//! matches by number alone are found by a binary search over intervals of the number line
//! ([`bpf::dispatch`]); only the syscalls whose rules look at arguments go on to
//! seccompiler's chain of compares. The chain alone made every call, and the kernel at
//! install (it runs a new filter for each of ~450 numbers to fill its cache of
//! always-allowed syscalls), walk past every listed syscall: the default profile's base
//! filter was 1,825 instructions with a longest path of 638; searched it is 637 and 80.
//! `seccomp::tests::searched_dispatch_answers_every_call_as_the_chain_does` checks that
//! both give the same answer for every number, x32, a foreign architecture and a grid of
//! argument values, for every shipped profile and a few of every shape.
//!
//! Install order: guard, groups, base. The base goes after the groups because an
//! allow-list base usually denies `seccomp(2)` itself, which would make installing any
//! later filter fail. [`compile`] checks this by running every filter on the exact
//! `seccomp(2)` call [`CompiledSeccomp::install`] will make: a filter that would deny it
//! is moved to the end, and a profile in which two filters would deny it is rejected
//! with a clear error instead of failing half-installed inside the container.
//!
//! # Semantics chosen where the OCI spec is silent
//!
//! * **Overlapping rules with different actions.** When one call matches rules with
//!   different actions, the action with the highest kernel precedence wins (so a
//!   conditional `ERRNO` rule beats an unconditional `ALLOW` rule for the same syscall).
//!   Between equal-precedence actions (different errno values, or different trace
//!   values) the rule listed **first** in the profile wins: groups are installed in
//!   reverse order of first appearance. libseccomp resolves such overlaps through its
//!   internal tree layout (an unconditional rule swallows conditional ones regardless of
//!   action); for the common non-overlapping profiles both give the same result.
//! * **Rules whose action equals the default action** are dropped (runc does the same;
//!   libseccomp rejects them).
//! * **Arguments.** All conditions of one syscall entry are ANDed, except when an
//!   argument index repeats within the entry: then every condition becomes its own rule
//!   and they are ORed, like runc. Values are compared as full 64-bit values.
//!   `SCMP_CMP_MASKED_EQ` follows libseccomp: `value` is the mask, `valueTwo` the datum.
//! * **Unknown syscall names** are skipped (see [`CompiledSeccomp::skipped`]).
//! * **`ENOSYS` for syscalls newer than the profile.** When the default action denies
//!   (anything but `ALLOW`, `LOG` and `TRACE`, and not already `ERRNO(ENOSYS)`), a
//!   syscall whose number is *greater than the highest number named anywhere in the
//!   profile* gets `ENOSYS` instead of the default action. Such a syscall did not exist
//!   when the profile was written, so `ENOSYS` ("not implemented") lets libc fall back
//!   to the older call (clone3 → clone, faccessat2 → faccessat, ...). A syscall with a
//!   *lower* number that the profile does not list was known to the author and left out
//!   on purpose, so it gets the default action. This is runc's rule.
//! * **Architectures.** Only the native ABI is filtered. Syscalls made through another
//!   ABI (i386 `int 0x80` on x86_64, 32-bit arm on aarch64) are answered with
//!   `KILL_PROCESS`, by every filter, since the rules cannot be translated for them and
//!   letting them through would bypass the profile; that is also seccompiler's built-in
//!   behaviour. x32 syscalls (native arch with bit 30 set in the number) get `ENOSYS`,
//!   as on a kernel built without x32 support. `SCMP_ARCH_X86`/`SCMP_ARCH_X32` (and
//!   other foreign architectures) may be listed next to the native one; they are
//!   accepted, handled as just described and reported by
//!   [`CompiledSeccomp::ignored_architectures`]. A non-empty list without the native
//!   architecture is an error, because the filter would kill every process.
//! * **Flags.** `SECCOMP_FILTER_FLAG_TSYNC`, `_LOG` and `_SPEC_ALLOW` are passed to every
//!   `seccomp(2)` call. `SCMP_ACT_NOTIFY`, `listenerPath` and
//!   `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` (meaningful only with notification) are
//!   rejected.

mod bpf;
mod install;
mod syscalls;
mod translate;

#[cfg(test)]
mod tests;

pub use translate::compile;

/// Errors from validating, compiling or installing a seccomp profile. Messages are
/// lowercase and name the offending field of `config.json`.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// An action this runtime cannot implement (only `SCMP_ACT_NOTIFY`).
    #[error("{field}: {action} is not supported: {reason}")]
    UnsupportedAction { field: String, action: &'static str, reason: &'static str },

    /// `listenerPath` is set (seccomp user notification).
    #[error(
        "linux.seccomp.listenerPath: seccomp user notification is not supported by this \
         runtime (no seccomp agent support); remove listenerPath and any SCMP_ACT_NOTIFY rules"
    )]
    ListenerNotSupported,

    /// A flag this runtime cannot honour.
    #[error("linux.seccomp.flags[{index}]: {flag} is not supported: {reason}")]
    UnsupportedFlag { index: usize, flag: &'static str, reason: &'static str },

    /// Unusable `architectures` list.
    #[error("linux.seccomp.architectures: {0}")]
    Architecture(String),

    /// Seccomp filtering is not implemented for the architecture this binary runs on.
    #[error("linux.seccomp: seccomp filtering is not supported on this architecture ({0})")]
    UnsupportedHostArch(&'static str),

    /// A malformed field (empty name, argument index out of range, errno out of range).
    #[error("{field}: {reason}")]
    InvalidField { field: String, reason: String },

    /// One filter exceeds the kernel's per-filter instruction limit.
    #[error(
        "linux.seccomp: the {filter} filter needs {len} BPF instructions, more than the \
         kernel's limit of {max} per filter; shorten the profile (fewer argument conditions)"
    )]
    FilterTooLarge { filter: String, len: usize, max: usize },

    /// The whole stack exceeds the kernel's per-process instruction limit.
    #[error(
        "linux.seccomp: the {count} stacked filters need {total} BPF instructions \
         (including the kernel's overhead of 4 per filter), more than the kernel's limit \
         of {max}; shorten the profile"
    )]
    TotalTooLarge { count: usize, total: usize, max: usize },

    /// More than one filter would deny the `seccomp(2)` calls that install the later ones.
    #[error(
        "linux.seccomp: seccomp(2) itself would be denied by {0}, so the stacked filters \
         could not all be installed; allow seccomp(2), or deny it only through the default \
         action or a single rule action"
    )]
    SelfBlocking(String),

    /// seccompiler rejected a filter we built (internal error).
    #[error("linux.seccomp: building the {filter} filter failed: {source}")]
    Backend {
        filter: String,
        #[source]
        source: seccompiler::BackendError,
    },

    /// `seccomp(2)` failed while installing filter `index` (1-based) of `count`.
    #[error(
        "seccomp(2) failed to install filter {index} of {count}: {}{}",
        std::io::Error::from_raw_os_error(*errno),
        install::errno_hint(*errno)
    )]
    Install { index: usize, count: usize, errno: i32 },

    /// `SECCOMP_FILTER_FLAG_TSYNC` could not synchronise thread `tid`.
    #[error(
        "seccomp(2) failed to install filter {index} of {count}: \
         SECCOMP_FILTER_FLAG_TSYNC could not synchronize thread {tid}"
    )]
    Tsync { index: usize, count: usize, tid: i64 },
}

/// One kernel filter, ready to install.
pub(crate) struct Filter {
    /// Human-readable role, for errors and `Debug` ("base", "SCMP_ACT_ERRNO(38)", ...).
    pub(crate) label: String,
    pub(crate) insns: Vec<libc::sock_filter>,
}

/// A validated, compiled profile: the filters in install order plus the flags for
/// `seccomp(2)`. Built by [`compile`] in the runtime process; installed by
/// [`CompiledSeccomp::install`] in the container init.
pub struct CompiledSeccomp {
    pub(crate) filters: Vec<Filter>,
    pub(crate) flags: libc::c_ulong,
    pub(crate) skipped: Vec<String>,
    pub(crate) ignored_archs: Vec<&'static str>,
}

impl CompiledSeccomp {
    /// Installs the filters into the calling thread (all threads with
    /// `SECCOMP_FILTER_FLAG_TSYNC`). Meant to be the last thing before `execve`.
    ///
    /// Does not allocate and does not set `no_new_privs`: the caller must have set it or
    /// hold `CAP_SYS_ADMIN`. On error some filters may already be installed, so the
    /// caller must not exec the container process.
    pub fn install(&self) -> Result<(), SeccompError> {
        install::install(self)
    }

    /// Number of kernel filters [`install`](Self::install) will load.
    pub fn filter_count(&self) -> usize {
        self.filters.len()
    }

    /// Total number of BPF instructions across all filters.
    pub fn instruction_count(&self) -> usize {
        self.filters.iter().map(|f| f.insns.len()).sum()
    }

    /// Syscall names in the profile that this runtime does not know for the native
    /// architecture; their rules were skipped (worth a debug log line). Sorted, unique.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// Architectures listed in the profile that are not filtered (see the module
    /// documentation for how their syscalls are handled).
    pub fn ignored_architectures(&self) -> &[&'static str] {
        &self.ignored_archs
    }
}

impl std::fmt::Debug for CompiledSeccomp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let filters: Vec<String> = self.filters.iter().map(|x| format!("{} ({} insns)", x.label, x.insns.len())).collect();
        f.debug_struct("CompiledSeccomp")
            .field("filters", &filters)
            .field("flags", &self.flags)
            .field("skipped", &self.skipped)
            .field("ignored_architectures", &self.ignored_archs)
            .finish()
    }
}

/// Actions accepted in `defaultAction` and `syscalls[].action` (for `features`).
pub fn supported_actions() -> &'static [&'static str] {
    &["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"]
}

/// Argument operators accepted in `syscalls[].args[].op` (for `features`).
pub fn supported_operators() -> &'static [&'static str] {
    &["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"]
}

/// Architectures whose syscalls are actually filtered: only the native one (for
/// `features`). Other architectures are accepted in a profile but not filtered.
pub fn supported_archs() -> &'static [&'static str] {
    syscalls::NATIVE_ARCH_NAMES
}

/// Filter flags accepted in `linux.seccomp.flags` (for `features`).
pub fn supported_flags() -> &'static [&'static str] {
    &["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"]
}
