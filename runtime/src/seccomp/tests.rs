//! Tests: semantics through the BPF interpreter (fast, exhaustive), and the same
//! profiles installed for real in forked children (needs a kernel with seccomp; the
//! tests set no_new_privs in the child, so they do not need root).

use super::bpf::{self, SeccompData};
use super::*;
use oci_spec::runtime::LinuxSeccomp;

const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const KILL_PROCESS: u32 = libc::SECCOMP_RET_KILL_PROCESS;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;

fn errno(e: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | e as u32
}

fn profile(json: &str) -> LinuxSeccomp {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("bad test profile: {e}\n{json}"))
}

fn compiled(json: &str) -> CompiledSeccomp {
    compile(&profile(json)).unwrap_or_else(|e| panic!("compile failed: {e}\n{json}"))
}

fn compile_err(json: &str) -> String {
    match compile(&profile(json)) {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e.to_string(),
    }
}

fn nr(name: &str) -> i32 {
    syscalls::resolve(name).unwrap_or_else(|| panic!("{name} not in table")) as i32
}

fn native_audit() -> u32 {
    syscalls::NATIVE.unwrap().audit
}

/// What the kernel would answer, simulated: run every filter, combine like the kernel.
fn eval_arch(c: &CompiledSeccomp, arch: u32, nr: i32, args: [u64; 6]) -> u32 {
    let d = SeccompData { nr, arch, ip: 0, args };
    let results: Vec<u32> = c.filters.iter().map(|f| bpf::run(&f.insns, &d).unwrap_or_else(|| panic!("{} ran off its end", f.label))).collect();
    bpf::combine(&results)
}

fn eval(c: &CompiledSeccomp, nr: i32, args: [u64; 6]) -> u32 {
    eval_arch(c, native_audit(), nr, args)
}

fn eval0(c: &CompiledSeccomp, name: &str) -> u32 {
    eval(c, self::nr(name), [0; 6])
}

fn arg0(c: &CompiledSeccomp, name: &str, a0: u64) -> u32 {
    eval(c, self::nr(name), [a0, 0, 0, 0, 0, 0])
}

const GRID: &[u64] = &[
    0,
    1,
    4,
    5,
    6,
    7,
    0x107,
    0xff,
    0x1000_0000,
    0x7e02_0000,
    0xffff_fffe,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0004,
    0x1_0000_0005,
    0x1_0000_0006,
    0x2_0000_0005,
    0x1000_0000_0000_0005,
    0x1000_0000_0000_0105,
    u64::MAX - 1,
    u64::MAX,
];

// ---------------------------------------------------------------- argument operators

type Reference = fn(u64, u64) -> bool;
const COMPARISONS: &[(&str, Reference)] = &[
    ("SCMP_CMP_NE", |a, d| a != d),
    ("SCMP_CMP_LT", |a, d| a < d),
    ("SCMP_CMP_LE", |a, d| a <= d),
    ("SCMP_CMP_EQ", |a, d| a == d),
    ("SCMP_CMP_GE", |a, d| a >= d),
    ("SCMP_CMP_GT", |a, d| a > d),
];

#[test]
fn comparison_operators_match_64_bit_reference() {
    for &(op, reference) in COMPARISONS {
        for &datum in &[0u64, 5, 0xffff_ffff, 0x1_0000_0005, u64::MAX - 1] {
            for index in [0usize, 2, 5] {
                let c = compiled(&format!(
                    r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["getppid"],
                       "action":"SCMP_ACT_ERRNO","args":[{{"index":{index},"value":{datum},"op":"{op}"}}]}}]}}"#
                ));
                for &a in GRID {
                    let mut args = [0u64; 6];
                    args[index] = a;
                    let want = if reference(a, datum) { errno(libc::EPERM) } else { ALLOW };
                    assert_eq!(eval(&c, nr("getppid"), args), want, "{op} arg{index}={a:#x} datum={datum:#x}");
                }
            }
        }
    }
}

#[test]
fn masked_eq_uses_value_as_mask_and_value_two_as_datum() {
    // (mask, datum): the datum is masked too, as in libseccomp.
    for &(mask, datum) in
        &[(0xffu64, 7u64), (0xff, 0x107), (0x7e02_0000, 0), (0x1000_0000, 0x1000_0000), (0xf000_0000_0000_00ff, 0x1000_0000_0000_0005), (0, 0)]
    {
        let c = compiled(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["getppid"],
               "action":"SCMP_ACT_ERRNO","errnoRet":33,
               "args":[{{"index":1,"value":{mask},"valueTwo":{datum},"op":"SCMP_CMP_MASKED_EQ"}}]}}]}}"#
        ));
        for &a in GRID {
            let want = if a & mask == datum & mask { errno(33) } else { ALLOW };
            assert_eq!(eval(&c, nr("getppid"), [0, a, 0, 0, 0, 0]), want, "mask={mask:#x} datum={datum:#x} arg={a:#x}");
        }
    }
}

#[test]
fn masked_eq_without_value_two_means_datum_zero() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],
           "action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":255,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#,
    );
    assert_eq!(arg0(&c, "getppid", 0x100), errno(libc::EPERM));
    assert_eq!(arg0(&c, "getppid", 0x101), ALLOW);
}

#[test]
fn args_of_one_entry_are_anded() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO",
           "args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":1,"value":2,"op":"SCMP_CMP_EQ"}]}]}"#,
    );
    let g = nr("getppid");
    assert_eq!(eval(&c, g, [1, 2, 0, 0, 0, 0]), errno(libc::EPERM));
    assert_eq!(eval(&c, g, [1, 3, 0, 0, 0, 0]), ALLOW);
    assert_eq!(eval(&c, g, [0, 2, 0, 0, 0, 0]), ALLOW);
}

#[test]
fn repeated_arg_index_makes_each_arg_its_own_rule() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO",
           "args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":0,"value":2,"op":"SCMP_CMP_EQ"},
                   {"index":1,"value":9,"op":"SCMP_CMP_EQ"}]}]}"#,
    );
    let g = nr("getppid");
    assert_eq!(eval(&c, g, [1, 0, 0, 0, 0, 0]), errno(libc::EPERM));
    assert_eq!(eval(&c, g, [2, 0, 0, 0, 0, 0]), errno(libc::EPERM));
    assert_eq!(eval(&c, g, [3, 9, 0, 0, 0, 0]), errno(libc::EPERM));
    assert_eq!(eval(&c, g, [3, 0, 0, 0, 0, 0]), ALLOW);
}

#[test]
fn allow_rules_with_args_under_deny_default() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["getppid"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":4,"op":"SCMP_CMP_LE"}]},
            {"names":["getppid"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":100,"op":"SCMP_CMP_EQ"}]}]}"#,
    );
    for a in [0u64, 4, 100] {
        assert_eq!(arg0(&c, "getppid", a), ALLOW, "{a}");
    }
    for a in [5u64, 99, 0x1_0000_0000] {
        assert_eq!(arg0(&c, "getppid", a), errno(libc::EPERM), "{a}");
    }
}

// ---------------------------------------------------------------- precedence

#[test]
fn conditional_errno_beats_unconditional_allow() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["getppid","getpid"],"action":"SCMP_ACT_ALLOW"},
            {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
    );
    assert_eq!(arg0(&c, "getppid", 1), errno(13));
    assert_eq!(arg0(&c, "getppid", 0), ALLOW);
    assert_eq!(eval0(&c, "getpid"), ALLOW);
    assert_eq!(eval0(&c, "getuid"), errno(libc::EPERM));
}

#[test]
fn kill_beats_errno_and_errno_beats_trace_and_log() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["getppid"],"action":"SCMP_ACT_LOG"},
            {"names":["getppid"],"action":"SCMP_ACT_TRACE","errnoRet":7,"args":[{"index":0,"value":1,"op":"SCMP_CMP_GE"}]},
            {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"args":[{"index":0,"value":2,"op":"SCMP_CMP_GE"}]},
            {"names":["getppid"],"action":"SCMP_ACT_TRAP","args":[{"index":0,"value":3,"op":"SCMP_CMP_GE"}]},
            {"names":["getppid"],"action":"SCMP_ACT_KILL","args":[{"index":0,"value":4,"op":"SCMP_CMP_GE"}]},
            {"names":["getppid"],"action":"SCMP_ACT_KILL_PROCESS","args":[{"index":0,"value":5,"op":"SCMP_CMP_GE"}]}]}"#,
    );
    assert_eq!(arg0(&c, "getppid", 0), libc::SECCOMP_RET_LOG);
    assert_eq!(arg0(&c, "getppid", 1), libc::SECCOMP_RET_TRACE | 7);
    assert_eq!(arg0(&c, "getppid", 2), errno(13));
    assert_eq!(arg0(&c, "getppid", 3), libc::SECCOMP_RET_TRAP);
    assert_eq!(arg0(&c, "getppid", 4), libc::SECCOMP_RET_KILL_THREAD);
    assert_eq!(arg0(&c, "getppid", 5), KILL_PROCESS);
    assert_eq!(eval0(&c, "getpid"), ALLOW);
}

#[test]
fn equal_precedence_errno_first_listed_wins() {
    let cond = r#""args":[{"index":0,"value":5,"op":"SCMP_CMP_EQ"}]"#;
    for default in ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS"] {
        // Conditional first: it wins where it matches.
        let c = compiled(&format!(
            r#"{{"defaultAction":"{default}","syscalls":[
                {{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":25,{cond}}},
                {{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":18}}]}}"#
        ));
        assert_eq!(arg0(&c, "getppid", 5), errno(25), "{default}");
        assert_eq!(arg0(&c, "getppid", 6), errno(18), "{default}");
        // Unconditional first: it wins everywhere.
        let c = compiled(&format!(
            r#"{{"defaultAction":"{default}","syscalls":[
                {{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":18}},
                {{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":25,{cond}}}]}}"#
        ));
        assert_eq!(arg0(&c, "getppid", 5), errno(18), "{default}");
        assert_eq!(arg0(&c, "getppid", 6), errno(18), "{default}");
    }
}

#[test]
fn group_errno_is_not_overridden_by_default_errno() {
    // Default ERRNO(1) and a rule ERRNO(38): both are ERRNO, so install order decides
    // ties; the base filter must never tie with a group.
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"syscalls":[
            {"names":["getpid"],"action":"SCMP_ACT_ALLOW"},
            {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":38},
            {"names":["getuid"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"}]}]}"#,
    );
    assert_eq!(eval0(&c, "getppid"), errno(38));
    assert_eq!(eval0(&c, "getuid"), errno(13));
    assert_eq!(arg0(&c, "getuid", 1), errno(1));
    assert_eq!(eval0(&c, "getpid"), ALLOW);
    assert_eq!(eval0(&c, "getgid"), errno(1));
    assert_eq!(c.filters.last().unwrap().label, "base (default SCMP_ACT_ERRNO(1))");
}

#[test]
fn rules_with_the_default_action_are_dropped() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
            {"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    assert_eq!(c.filter_count(), 1);
    assert_eq!(eval0(&c, "getppid"), errno(libc::EPERM));
    let c = compiled(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ALLOW"}]}"#);
    assert_eq!(c.filter_count(), 1, "only the guard");
}

// ---------------------------------------------------------------- ENOSYS, x32, archs

const SMALL_ALLOWLIST: &str = r#"[{"names":["read","write","getrandom"],"action":"SCMP_ACT_ALLOW"}]"#;

#[test]
fn unlisted_newer_syscalls_get_enosys_older_get_the_default() {
    let c = compiled(&format!(r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":{SMALL_ALLOWLIST}}}"#));
    assert_eq!(eval0(&c, "read"), ALLOW);
    assert_eq!(eval0(&c, "getrandom"), ALLOW);
    assert!(nr("getppid") < nr("getrandom"));
    assert_eq!(eval0(&c, "getppid"), errno(libc::EPERM));
    assert!(nr("membarrier") > nr("getrandom"));
    assert_eq!(eval0(&c, "membarrier"), errno(libc::ENOSYS));
    assert_eq!(eval0(&c, "clone3"), errno(libc::ENOSYS));
    assert_eq!(eval(&c, 5000, [0; 6]), errno(libc::ENOSYS));

    let c = compiled(&format!(r#"{{"defaultAction":"SCMP_ACT_KILL_PROCESS","syscalls":{SMALL_ALLOWLIST}}}"#));
    assert_eq!(eval0(&c, "getppid"), KILL_PROCESS);
    assert_eq!(eval0(&c, "membarrier"), errno(libc::ENOSYS));

    // The rule counts towards "newest" even when it is dropped as redundant.
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["read"],"action":"SCMP_ACT_ALLOW"},{"names":["clone3"],"action":"SCMP_ACT_ERRNO"}]}"#,
    );
    assert_eq!(eval0(&c, "membarrier"), errno(libc::EPERM));
    assert_eq!(eval0(&c, "clone3"), errno(libc::EPERM));
    assert_eq!(eval0(&c, "mseal"), errno(libc::ENOSYS));
}

#[test]
fn no_enosys_stub_for_permissive_defaults() {
    for (default, want) in
        [("SCMP_ACT_ALLOW", ALLOW), ("SCMP_ACT_LOG", libc::SECCOMP_RET_LOG), ("SCMP_ACT_TRACE", libc::SECCOMP_RET_TRACE | libc::EPERM as u32)]
    {
        let c = compiled(&format!(
            r#"{{"defaultAction":"{default}","syscalls":[{{"names":["getppid"],"action":"SCMP_ACT_ERRNO"}},
               {{"names":["read"],"action":"SCMP_ACT_ALLOW"}}]}}"#
        ));
        assert_eq!(eval0(&c, "membarrier"), want, "{default}");
        assert_eq!(eval0(&c, "getppid"), errno(libc::EPERM), "{default}");
    }
    // A profile naming no known syscall has no "newest" syscall: everything is default.
    let c = compiled(r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["nope"],"action":"SCMP_ACT_ALLOW"}]}"#);
    assert_eq!(eval0(&c, "membarrier"), errno(libc::EPERM));
}

#[cfg(target_arch = "x86_64")]
#[test]
fn x32_gets_enosys_and_foreign_arch_is_killed() {
    for json in [
        format!(r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":{SMALL_ALLOWLIST}}}"#),
        format!(r#"{{"defaultAction":"SCMP_ACT_KILL_PROCESS","syscalls":{SMALL_ALLOWLIST}}}"#),
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO"}]}"#.into(),
        r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#.into(),
        r#"{"defaultAction":"SCMP_ACT_LOG","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"]}"#.into(),
    ] {
        let c = compiled(&json);
        for name in ["read", "getpid", "getppid"] {
            let x32 = (syscalls::X32_SYSCALL_BIT | nr(name) as u32) as i32;
            assert_eq!(eval(&c, x32, [0; 6]), errno(libc::ENOSYS), "{json}");
            assert_eq!(eval_arch(&c, AUDIT_ARCH_I386, nr(name), [0; 6]), KILL_PROCESS, "{json}");
        }
        assert_eq!(eval(&c, -1, [0; 6]), errno(libc::ENOSYS), "{json}");
    }
}

#[test]
fn architectures() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32","SCMP_ARCH_AARCH64","SCMP_ARCH_X86"]}"#,
    );
    let ignored = c.ignored_architectures().to_vec();
    assert!(!ignored.contains(&syscalls::NATIVE.unwrap().oci_name));
    assert_eq!(ignored.len(), 3, "{ignored:?}");
    compiled(r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_NATIVE"]}"#);
    compiled(r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":[]}"#);
    let e = compile_err(r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_S390X","SCMP_ARCH_PPC64LE"]}"#);
    assert!(e.starts_with("linux.seccomp.architectures: [SCMP_ARCH_S390X, SCMP_ARCH_PPC64LE] does not include"), "{e}");
}

// ---------------------------------------------------------------- names, errors

#[test]
fn unknown_names_are_skipped_and_reported() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["socketcall","getppid","no_such_syscall","_llseek","socketcall"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    assert_eq!(c.skipped(), ["_llseek", "no_such_syscall", "socketcall"]);
    assert_eq!(eval0(&c, "getppid"), ALLOW);
}

#[test]
fn notify_and_listener_are_rejected() {
    let e = compile_err(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ALLOW"},
            {"names":["getppid"],"action":"SCMP_ACT_ALLOW"},{"names":["getppid"],"action":"SCMP_ACT_ALLOW"},
            {"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    );
    assert!(e.starts_with("linux.seccomp.syscalls[3].action: SCMP_ACT_NOTIFY is not supported: "), "{e}");
    let e = compile_err(r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#);
    assert!(e.starts_with("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported: "), "{e}");
    let e = compile_err(r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/agent.sock"}"#);
    assert!(e.starts_with("linux.seccomp.listenerPath: "), "{e}");
    let e = compile_err(r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}"#);
    assert!(e.starts_with("linux.seccomp.flags[1]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported"), "{e}");
}

#[test]
fn malformed_fields_are_rejected_with_their_path() {
    let e = compile_err(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO",
           "args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
    );
    assert!(e.starts_with("linux.seccomp.syscalls[0].args[1].index: 6 is out of range"), "{e}");
    let e = compile_err(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":5000}"#);
    assert!(e.starts_with("linux.seccomp.defaultErrnoRet: 5000 is out of range"), "{e}");
    let e = compile_err(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_TRACE","errnoRet":70000}]}"#);
    assert!(e.starts_with("linux.seccomp.syscalls[0].errnoRet: 70000 is out of range"), "{e}");
    let e = compile_err(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid",""],"action":"SCMP_ACT_ERRNO"}]}"#);
    assert!(e.starts_with("linux.seccomp.syscalls[0].names[1]: empty syscall name"), "{e}");
}

#[test]
fn oversized_filter_is_rejected() {
    let args: Vec<String> = (0..1500).map(|v| format!(r#"{{"index":0,"value":{v},"op":"SCMP_CMP_EQ"}}"#)).collect();
    let e = compile_err(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["getppid"],"action":"SCMP_ACT_ERRNO","args":[{}]}}]}}"#,
        args.join(",")
    ));
    assert!(e.starts_with("linux.seccomp: the SCMP_ACT_ERRNO(1) filter needs "), "{e}");
    assert!(e.contains("limit of 4096 per filter"), "{e}");
}

#[test]
fn filter_denying_seccomp_is_installed_last() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["seccomp"],"action":"SCMP_ACT_ERRNO","errnoRet":38},
            {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
            {"names":["write","exit_group"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let labels: Vec<&str> = c.filters.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(labels, ["SCMP_ACT_ERRNO(13)", "base (default SCMP_ACT_ERRNO(1))", "SCMP_ACT_ERRNO(38)"]);
    assert_eq!(eval0(&c, "seccomp"), errno(38));
}

#[test]
fn seccomp_denied_by_two_filters_is_rejected() {
    let e = compile_err(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["seccomp"],"action":"SCMP_ACT_ERRNO","errnoRet":38,"args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
            {"names":["seccomp"],"action":"SCMP_ACT_TRAP","args":[{"index":1,"value":0,"op":"SCMP_CMP_EQ"}]}]}"#,
    );
    assert!(e.starts_with("linux.seccomp: seccomp(2) itself would be denied by the SCMP_ACT_"), "{e}");
}

#[test]
fn features_lists() {
    assert!(supported_actions().contains(&"SCMP_ACT_KILL_PROCESS"));
    assert!(!supported_actions().contains(&"SCMP_ACT_NOTIFY"));
    assert_eq!(supported_operators().len(), 7);
    assert_eq!(supported_flags().len(), 3);
    assert_eq!(supported_archs(), [syscalls::NATIVE.unwrap().oci_name]);
}

// ---------------------------------------------------------------- compile speed

/// A Docker-sized allow-list: 350 syscalls plus the usual argument rules.
fn big_allowlist() -> String {
    // The 350 oldest syscalls, minus the ones the argument rules below handle.
    let mut all: Vec<(&str, u32)> = syscalls::table().iter().map(|(k, v)| (*k, *v)).collect();
    all.sort_unstable_by_key(|e| e.1);
    let names: Vec<String> =
        all.iter().filter(|e| !["personality", "clone", "clone3", "socket"].contains(&e.0)).take(350).map(|e| format!("\"{}\"", e.0)).collect();
    format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,
            "architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
            "syscalls":[{{"names":[{}],"action":"SCMP_ACT_ALLOW"}},
            {{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":0,"op":"SCMP_CMP_EQ"}}]}},
            {{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":8,"op":"SCMP_CMP_EQ"}}]}},
            {{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":4294967295,"op":"SCMP_CMP_EQ"}}]}},
            {{"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}}]}},
            {{"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38}},
            {{"names":["socket"],"action":"SCMP_ACT_ERRNO","errnoRet":97,"args":[{{"index":0,"value":40,"op":"SCMP_CMP_EQ"}}]}}]}}"#,
        names.join(",")
    )
}

#[test]
fn compile_time_for_a_350_syscall_allowlist() {
    let p = profile(&big_allowlist());
    let c = compile(&p).unwrap(); // warm up (builds the name table once)
    let runs = 50;
    let start = std::time::Instant::now();
    for _ in 0..runs {
        std::hint::black_box(compile(std::hint::black_box(&p)).unwrap());
    }
    let per = start.elapsed() / runs;
    let sizes: Vec<String> = c.filters.iter().map(|f| format!("{}={}", f.label, f.insns.len())).collect();
    // Longest path through the base filter (an unlisted syscall below the newest one).
    let base = c.filters.last().unwrap();
    let steps = bpf::steps(&base.insns, &SeccompData { nr: 9999, arch: native_audit(), ip: 0, args: [0; 6] });
    let steps_worst = (0..500).map(|n| bpf::steps(&base.insns, &SeccompData { nr: n, arch: native_audit(), ip: 0, args: [0; 6] })).max().unwrap();
    println!(
        "seccomp compile: {per:?} per compile ({} filters, {} instructions: {}); base filter steps: \
         ENOSYS path {steps}, worst path for nr<500 {steps_worst}",
        c.filter_count(),
        c.instruction_count(),
        sizes.join(", ")
    );
    // What the kernel would refuse or what would make every syscall slow: each filter under
    // BPF_MAXINSNS, all of them under the kernel's per-path total, and no syscall decided
    // after walking the whole list (the speed itself is for the benchmark, not a test).
    for f in &c.filters {
        assert!(f.insns.len() < 4096, "filter {} has {} instructions (kernel limit 4096)", f.label, f.insns.len());
    }
    let total: usize = c.filters.iter().map(|f| f.insns.len() + 4).sum();
    assert!(total < 32768, "{total} instructions across stacked filters (kernel limit 32768)");
    assert!(steps_worst < base.insns.len(), "worst path {steps_worst} walks the whole filter of {}", base.insns.len());
    assert!(steps > 0 && steps < base.insns.len(), "ENOSYS path {steps} of {}", base.insns.len());
}

// ---------------------------------------------------------------- real kernel

/// Forks; the child sets no_new_privs, installs `c`, runs `body` (which fills a buffer
/// of results) and writes the results to a pipe. Returns the wait status and results.
/// The child only makes raw syscalls: it must not allocate (another test thread may hold
/// the allocator's lock at fork time) and must only use syscalls the profile allows
/// (write and exit_group at least).
fn run_in_child(c: &CompiledSeccomp, body: impl FnOnce(&mut [i64; 256]) -> usize) -> (i32, Vec<i64>) {
    use std::io::Read;
    use std::os::fd::FromRawFd;

    let mut fds = [0i32; 2];
    // SAFETY: `fds` is a writable array of two ints, as pipe2 expects.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: the child below only performs raw syscalls on memory prepared before the
    // fork and leaves with `_exit`; it never unwinds into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: plain syscalls with integer arguments or pointers to live locals.
        unsafe {
            libc::close(fds[0]);
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                libc::_exit(90);
            }
            let code = match c.install() {
                Ok(()) => 0,
                Err(SeccompError::Install { errno, .. }) => 100 + errno.min(100),
                Err(_) => 99,
            };
            if code != 0 {
                libc::_exit(code);
            }
            let mut buf = [0i64; 256];
            let n = body(&mut buf);
            libc::write(fds[1], buf.as_ptr().cast(), n * 8);
            libc::_exit(0);
        }
    }
    // SAFETY: closing our copy of the write end, which we own.
    unsafe { libc::close(fds[1]) };
    // SAFETY: fds[0] is an open pipe end that nothing else owns.
    let mut reader = unsafe { std::fs::File::from_raw_fd(fds[0]) };
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).unwrap();
    let mut status = 0;
    // SAFETY: waiting for our own child with a valid status pointer.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    let values = bytes.chunks_exact(8).map(|c| i64::from_ne_bytes(c.try_into().unwrap())).collect();
    (status, values)
}

/// A raw syscall returning `-errno` on failure. Does not allocate.
fn sys(nr: i64, a: [u64; 6]) -> i64 {
    // SAFETY: only used with syscalls whose arguments are integers or are ignored, or
    // with pointers the caller keeps alive.
    let r = unsafe { libc::syscall(nr as libc::c_long, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if r == -1 {
        -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        r
    }
}

fn exited_ok(status: i32) -> bool {
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

fn killed_by_sigsys(status: i32) -> bool {
    libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSYS
}

#[test]
fn kernel_allowlist_profile() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_NATIVE"],"syscalls":[
            {"names":["write","exit","exit_group","getpid","getpgid","getrandom"],"action":"SCMP_ACT_ALLOW"},
            {"names":["getuid"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
            {"names":["getpgid"],"action":"SCMP_ACT_ERRNO","errnoRet":33,"args":[{"index":0,"value":255,"valueTwo":7,"op":"SCMP_CMP_MASKED_EQ"}]},
            {"names":["getsid"],"action":"SCMP_ACT_ERRNO","errnoRet":25,"args":[{"index":0,"value":5,"op":"SCMP_CMP_EQ"}]},
            {"names":["getsid"],"action":"SCMP_ACT_ERRNO","errnoRet":18}]}"#,
    );
    let calls: Vec<(i64, [u64; 6])> = vec![
        (libc::SYS_getpid, [0; 6]),
        (libc::SYS_getuid, [0; 6]),
        (libc::SYS_getpgid, [0; 6]),
        (libc::SYS_getpgid, [0x107, 0, 0, 0, 0, 0]),
        (libc::SYS_getsid, [5, 0, 0, 0, 0, 0]),
        (libc::SYS_getsid, [6, 0, 0, 0, 0, 0]),
        (libc::SYS_getppid, [0; 6]),
        (libc::SYS_membarrier, [0; 6]),
        (i64::from(syscalls::X32_SYSCALL_BIT) | libc::SYS_getpid, [0; 6]),
        (libc::SYS_seccomp, [libc::SECCOMP_GET_ACTION_AVAIL as u64, 0, 0, 0, 0, 0]),
    ];
    let (status, got) = run_in_child(&c, |buf| {
        for (i, (nr, args)) in calls.iter().enumerate() {
            buf[i] = sys(*nr, *args);
        }
        calls.len()
    });
    assert!(exited_ok(status), "child status {status:#x}");
    assert!(got[0] > 0, "getpid {}", got[0]);
    let want_errno =
        [(1, libc::EACCES), (3, libc::EDOM), (4, libc::ENOTTY), (5, libc::EXDEV), (6, libc::EPERM), (7, libc::ENOSYS), (8, libc::ENOSYS), (9, libc::EPERM)];
    for (i, e) in want_errno {
        assert_eq!(got[i], -i64::from(e), "call {i} {:?}", calls[i]);
    }
    assert!(got[2] >= 0, "getpgid(0) {}", got[2]);
    // The interpreter agrees with the kernel on every call.
    for (i, (nr, args)) in calls.iter().enumerate() {
        let r = eval(&c, *nr as i32, *args);
        if r & libc::SECCOMP_RET_ACTION_FULL == libc::SECCOMP_RET_ERRNO {
            assert_eq!(got[i], -i64::from(r & libc::SECCOMP_RET_DATA), "call {i}");
        } else {
            assert_eq!(r, ALLOW, "call {i}");
        }
    }
}

#[test]
fn kernel_argument_operators_match_reference() {
    // Seven syscalls that ignore their arguments, one operator each.
    let targets = [
        (libc::SYS_getppid, "getppid", "SCMP_CMP_NE", 0usize),
        (libc::SYS_getuid, "getuid", "SCMP_CMP_LT", 1),
        (libc::SYS_getgid, "getgid", "SCMP_CMP_LE", 2),
        (libc::SYS_geteuid, "geteuid", "SCMP_CMP_EQ", 3),
        (libc::SYS_getegid, "getegid", "SCMP_CMP_GE", 4),
        (libc::SYS_getpgrp, "getpgrp", "SCMP_CMP_GT", 5),
        (libc::SYS_sched_yield, "sched_yield", "SCMP_CMP_MASKED_EQ", 1),
    ];
    let datum: u64 = 0x1_0000_0005;
    let mask: u64 = 0xf000_0000_ffff_00ff;
    let rules: Vec<String> = targets
        .iter()
        .map(|(_, name, op, index)| {
            if *op == "SCMP_CMP_MASKED_EQ" {
                format!(r#"{{"names":["{name}"],"action":"SCMP_ACT_ERRNO","args":[{{"index":{index},"value":{mask},"valueTwo":{datum},"op":"{op}"}}]}}"#)
            } else {
                format!(r#"{{"names":["{name}"],"action":"SCMP_ACT_ERRNO","args":[{{"index":{index},"value":{datum},"op":"{op}"}}]}}"#)
            }
        })
        .collect();
    let c = compiled(&format!(r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{}]}}"#, rules.join(",")));
    let (status, got) = run_in_child(&c, |buf| {
        let mut n = 0;
        for (nr, _, _, index) in &targets {
            for &v in GRID {
                let mut args = [0u64; 6];
                args[*index] = v;
                buf[n] = sys(*nr, args);
                n += 1;
            }
        }
        n
    });
    assert!(exited_ok(status), "child status {status:#x}");
    let mut n = 0;
    for (nr, name, op, index) in &targets {
        for &v in GRID {
            let want = match *op {
                "SCMP_CMP_MASKED_EQ" => v & mask == datum & mask,
                op => COMPARISONS.iter().find(|c| c.0 == op).unwrap().1(v, datum),
            };
            let kernel_denied = got[n] == -i64::from(libc::EPERM);
            assert_eq!(kernel_denied, want, "{name} {op} arg{index}={v:#x}");
            let mut args = [0u64; 6];
            args[*index] = v;
            assert_eq!(eval(&c, *nr as i32, args) != ALLOW, want, "interpreter {name} {op} {v:#x}");
            n += 1;
        }
    }
}

#[test]
fn kernel_kill_trap_and_log_actions() {
    for (action, killed) in
        [("SCMP_ACT_KILL_PROCESS", true), ("SCMP_ACT_KILL", true), ("SCMP_ACT_KILL_THREAD", true), ("SCMP_ACT_TRAP", true), ("SCMP_ACT_LOG", false)]
    {
        let c = compiled(&format!(r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["getppid"],"action":"{action}"}}]}}"#));
        let (status, got) = run_in_child(&c, |buf| {
            buf[0] = sys(libc::SYS_getppid, [0; 6]);
            1
        });
        if killed {
            assert!(killed_by_sigsys(status), "{action}: status {status:#x}");
        } else {
            assert!(exited_ok(status) && got[0] > 0, "{action}: status {status:#x} {got:?}");
        }
    }
}

#[test]
fn kernel_flags_are_passed() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
           "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#,
    );
    assert_eq!(c.flags, libc::SECCOMP_FILTER_FLAG_TSYNC | libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW);
    let (status, got) = run_in_child(&c, |buf| {
        buf[0] = sys(libc::SYS_getppid, [0; 6]);
        1
    });
    assert!(exited_ok(status), "status {status:#x}");
    assert_eq!(got, [-i64::from(libc::EACCES)]);
}

#[test]
fn kernel_profile_denying_seccomp_installs_completely() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["seccomp"],"action":"SCMP_ACT_ERRNO","errnoRet":38},
            {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
            {"names":["write","exit_group"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let (status, got) = run_in_child(&c, |buf| {
        buf[0] = sys(libc::SYS_seccomp, [libc::SECCOMP_GET_ACTION_AVAIL as u64, 0, 0, 0, 0, 0]);
        buf[1] = sys(libc::SYS_getppid, [0; 6]);
        buf[2] = sys(libc::SYS_getpid, [0; 6]);
        3
    });
    assert!(exited_ok(status), "status {status:#x}");
    assert_eq!(got, [-38, -i64::from(libc::EACCES), -i64::from(libc::EPERM)]);
}

#[test]
fn kernel_install_error_is_reported() {
    // A program the kernel must reject (unknown opcode) exercises the error path.
    let bogus = CompiledSeccomp {
        filters: vec![Filter { label: "bogus".into(), insns: vec![bpf::stmt(0xffff, 0)] }],
        flags: 0,
        skipped: Vec::new(),
        ignored_archs: Vec::new(),
    };
    let (status, _) = run_in_child(&bogus, |_| 0);
    assert!(libc::WIFEXITED(status), "status {status:#x}");
    assert_eq!(libc::WEXITSTATUS(status), 100 + libc::EINVAL);
    let msg = SeccompError::Install { index: 1, count: 1, errno: libc::EACCES }.to_string();
    assert!(msg.starts_with("seccomp(2) failed to install filter 1 of 1: "), "{msg}");
    assert!(msg.contains("no_new_privs"), "{msg}");
}

#[test]
fn kernel_big_allowlist_installs() {
    let c = compiled(&big_allowlist());
    let (status, got) = run_in_child(&c, |buf| {
        buf[0] = sys(libc::SYS_getppid, [0; 6]);
        buf[1] = sys(libc::SYS_personality, [0xffff_ffff, 0, 0, 0, 0, 0]);
        buf[2] = sys(libc::SYS_personality, [0x0040000, 0, 0, 0, 0, 0]);
        buf[3] = sys(libc::SYS_clone3, [0; 6]);
        4
    });
    assert!(exited_ok(status), "status {status:#x}");
    assert!(got[0] > 0, "getppid {}", got[0]);
    assert!(got[1] >= 0, "personality query {}", got[1]);
    assert_eq!(got[2], -i64::from(libc::EPERM), "personality(ADDR_NO_RANDOMIZE)");
    assert_eq!(got[3], -i64::from(libc::ENOSYS), "clone3");
}

// ---------------------------------------------------------------- shipped profiles

/// The profiles in seccomp-profiles/ (generated from seccomp-profiles/src/source.rs).
const SHIPPED: &[(&str, &str)] = &[
    ("default", include_str!("../../../seccomp-profiles/default.json")),
    ("strict", include_str!("../../../seccomp-profiles/strict.json")),
    ("udp", include_str!("../../../seccomp-profiles/udp.json")),
];

fn shipped(name: &str) -> CompiledSeccomp {
    compiled(SHIPPED.iter().find(|p| p.0 == name).unwrap().1)
}

#[test]
fn shipped_profiles_compile_and_classify_every_known_syscall() {
    for &(name, json) in SHIPPED {
        let p = profile(json);
        let c = compile(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        #[cfg(target_arch = "x86_64")]
        assert!(c.skipped().is_empty(), "{name}: unknown names {:?}", c.skipped());
        let listed: std::collections::BTreeSet<&str> =
            p.syscalls().as_deref().unwrap_or(&[]).iter().flat_map(|s| s.names().iter().map(String::as_str)).collect();
        let unclassified: Vec<&str> = syscalls::table().keys().copied().filter(|n| !listed.contains(n)).collect();
        assert!(unclassified.is_empty(), "{name}.json does not classify {unclassified:?}");
        let sizes: Vec<String> = c.filters.iter().map(|f| format!("{}={}", f.label, f.insns.len())).collect();
        println!("{name}.json: {} filters, {} instructions ({})", c.filter_count(), c.instruction_count(), sizes.join(", "));
    }
}

const AF_PACKET: u64 = 17;
const AF_NETLINK: u64 = 16;
const SOCK_STREAM: u64 = 1;
const SOCK_DGRAM: u64 = 2;
const SOCK_RAW: u64 = 3;
const SOCK_FLAGS: u64 = (libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) as u64;
const CLONE_NEWUSER: u64 = libc::CLONE_NEWUSER as u64;

fn socket(c: &CompiledSeccomp, family: u64, ty: u64, proto: u64) -> u32 {
    eval(c, nr("socket"), [family, ty, proto, 0, 0, 0])
}

#[test]
fn shipped_profiles_semantics() {
    let eperm = errno(libc::EPERM);
    let enosys = errno(libc::ENOSYS);
    for name in ["default", "strict", "udp"] {
        let c = shipped(name);
        let udp = name == "udp";
        let strict = name == "strict";
        let allow_if = |cond: bool| if cond { ALLOW } else { eperm };
        // sockets
        assert_eq!(socket(&c, 1, SOCK_DGRAM | SOCK_FLAGS, 0), ALLOW, "{name} unix");
        assert_eq!(socket(&c, 2, SOCK_STREAM | SOCK_FLAGS, 0), ALLOW, "{name} tcp4");
        assert_eq!(socket(&c, 10, SOCK_STREAM, 6), ALLOW, "{name} tcp6");
        assert_eq!(socket(&c, 2, SOCK_STREAM, 132), eperm, "{name} sctp");
        assert_eq!(socket(&c, 2 | 1 << 32, SOCK_STREAM, 0), eperm, "{name} upper bits");
        assert_eq!(socket(&c, 2, SOCK_DGRAM | SOCK_FLAGS, 0), allow_if(udp), "{name} udp4");
        assert_eq!(socket(&c, 10, SOCK_DGRAM, 17), allow_if(udp), "{name} udp6");
        assert_eq!(socket(&c, 2, SOCK_DGRAM, 1), eperm, "{name} icmp");
        assert_eq!(socket(&c, 2, SOCK_RAW, 255), eperm, "{name} raw");
        assert_eq!(socket(&c, AF_PACKET, SOCK_RAW, 0x300), eperm, "{name} packet");
        assert_eq!(socket(&c, AF_NETLINK, SOCK_RAW | SOCK_FLAGS, 0), allow_if(!strict), "{name} rtnetlink");
        assert_eq!(socket(&c, AF_NETLINK, SOCK_RAW, 9), eperm, "{name} audit netlink");
        assert_eq!(eval(&c, nr("socketpair"), [1, SOCK_STREAM, 0, 0, 0, 0]), ALLOW);
        // namespaces
        let sigchld = libc::SIGCHLD as u64;
        let thread_flags = (libc::CLONE_VM
            | libc::CLONE_FS
            | libc::CLONE_FILES
            | libc::CLONE_SIGHAND
            | libc::CLONE_THREAD
            | libc::CLONE_SYSVSEM
            | libc::CLONE_SETTLS
            | libc::CLONE_PARENT_SETTID
            | libc::CLONE_CHILD_CLEARTID) as u64;
        assert_eq!(arg0(&c, "clone", sigchld), ALLOW, "{name}");
        assert_eq!(arg0(&c, "clone", thread_flags), ALLOW, "{name}");
        assert_eq!(arg0(&c, "clone", CLONE_NEWUSER | sigchld), eperm, "{name}");
        assert_eq!(arg0(&c, "clone", libc::CLONE_NEWNET as u64), eperm, "{name}");
        assert_eq!(arg0(&c, "unshare", libc::CLONE_FILES as u64), ALLOW, "{name}");
        assert_eq!(arg0(&c, "unshare", CLONE_NEWUSER), eperm, "{name}");
        assert_eq!(arg0(&c, "unshare", 0x80), eperm, "{name} CLONE_NEWTIME");
        assert_eq!(eval0(&c, "setns"), eperm);
        assert_eq!(eval0(&c, "clone3"), enosys, "{name}");
        // personality
        assert_eq!(arg0(&c, "personality", 0), ALLOW);
        assert_eq!(arg0(&c, "personality", 0xffff_ffff), ALLOW);
        assert_eq!(arg0(&c, "personality", 8), allow_if(!strict), "{name}");
        assert_eq!(arg0(&c, "personality", libc::ADDR_NO_RANDOMIZE as u64), eperm);
        assert_eq!(arg0(&c, "personality", 0x0020000), eperm, "UNAME26");
        // mknod
        let mode = |t: u32| u64::from(t | 0o644);
        assert_eq!(eval(&c, nr("mknod"), [0, mode(libc::S_IFIFO), 0, 0, 0, 0]), ALLOW);
        assert_eq!(eval(&c, nr("mknod"), [0, mode(libc::S_IFCHR), 0x0103, 0, 0, 0]), eperm);
        assert_eq!(eval(&c, nr("mknodat"), [0, 0, mode(libc::S_IFSOCK), 0, 0, 0]), ALLOW);
        assert_eq!(eval(&c, nr("mknodat"), [0, 0, mode(libc::S_IFBLK), 0, 0, 0]), eperm);
        // denied groups and fallbacks
        for denied in [
            "mount",
            "umount2",
            "pivot_root",
            "keyctl",
            "add_key",
            "request_key",
            "bpf",
            "perf_event_open",
            "userfaultfd",
            "init_module",
            "finit_module",
            "delete_module",
            "kexec_load",
            "ptrace",
            "process_vm_readv",
            "process_vm_writev",
            "open_by_handle_at",
        ] {
            assert_eq!(eval0(&c, denied), eperm, "{name} {denied}");
        }
        for fallback in ["io_uring_setup", "io_uring_enter", "io_uring_register"] {
            assert_eq!(eval0(&c, fallback), enosys, "{name} {fallback}");
        }
        assert_eq!(eval(&c, 471, [0; 6]), enosys, "{name}: newer than the profile");
        // MPTCP: refused with the errno of a kernel without it, so programs fall back.
        let eprotonosupport = errno(libc::EPROTONOSUPPORT);
        assert_eq!(socket(&c, 2, SOCK_STREAM, 262), eprotonosupport, "{name} mptcp4");
        assert_eq!(socket(&c, 10, SOCK_STREAM | SOCK_FLAGS, 262), eprotonosupport, "{name} mptcp6");
        assert_eq!(socket(&c, 2, SOCK_STREAM, 262 | 1 << 32), eperm, "{name} mptcp upper bits");
        // TCP Fast Open sends (connect without connect(2)) are refused, other sends pass.
        let fastopen = libc::MSG_FASTOPEN as u64;
        let nosignal = libc::MSG_NOSIGNAL as u64;
        for (call, flags_at) in [("sendto", 3), ("sendmmsg", 3), ("sendmsg", 2)] {
            let mut a = [3, 0, 1, 0, 0, 0];
            a[flags_at] = nosignal;
            assert_eq!(eval(&c, nr(call), a), ALLOW, "{name} {call}");
            a[flags_at] = fastopen | nosignal;
            assert_eq!(eval(&c, nr(call), a), eperm, "{name} {call} MSG_FASTOPEN");
            a[flags_at] = fastopen | 1 << 32;
            assert_eq!(eval(&c, nr(call), a), eperm, "{name} {call} upper bits");
        }
        // Set-id bits: never through chmod, mknod or a creating open.
        for (call, mode_at) in [("fchmod", 1), ("fchmodat", 2), ("fchmodat2", 2)] {
            let mut a = [3, 0, 0, 0, 0, 0];
            a[mode_at] = 0o1777;
            assert_eq!(eval(&c, nr(call), a), ALLOW, "{name} {call} 1777");
            for bad in [0o4755, 0o2755, 0o6755, 0o4000 | 1 << 32] {
                a[mode_at] = bad;
                assert_eq!(eval(&c, nr(call), a), eperm, "{name} {call} {bad:o}");
            }
        }
        assert_eq!(eval(&c, nr("mknodat"), [0, 0, mode(libc::S_IFREG | 0o4000), 0, 0, 0]), eperm, "{name} mknodat setuid");
        assert_eq!(eval(&c, nr("mknodat"), [0, 0, mode(libc::S_IFIFO | 0o2000), 0, 0, 0]), eperm, "{name} mknodat setgid");
        let creat = libc::O_CREAT as u64;
        let tmpfile = libc::O_TMPFILE as u64;
        let rdwr = libc::O_RDWR as u64;
        assert_eq!(eval(&c, nr("openat"), [0, 0, rdwr, 0o6755, 0, 0]), ALLOW, "{name} openat without O_CREAT ignores the mode");
        assert_eq!(eval(&c, nr("openat"), [0, 0, rdwr | creat, 0o644, 0, 0]), ALLOW, "{name} openat O_CREAT 0644");
        assert_eq!(eval(&c, nr("openat"), [0, 0, rdwr | creat, 0o4755, 0, 0]), eperm, "{name} openat O_CREAT 4755");
        assert_eq!(eval(&c, nr("openat"), [0, 0, rdwr | tmpfile, 0o2755, 0, 0]), eperm, "{name} openat O_TMPFILE 2755");
        assert_eq!(eval0(&c, "openat2"), enosys, "{name} openat2");
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(eval(&c, nr("chmod"), [0, 0o755, 0, 0, 0, 0]), ALLOW, "{name} chmod");
            assert_eq!(eval(&c, nr("chmod"), [0, 0o4755, 0, 0, 0, 0]), eperm, "{name} chmod 4755");
            assert_eq!(eval(&c, nr("creat"), [0, 0o644, 0, 0, 0, 0]), ALLOW, "{name} creat");
            assert_eq!(eval(&c, nr("creat"), [0, 0o2755, 0, 0, 0, 0]), eperm, "{name} creat 2755");
            assert_eq!(eval(&c, nr("open"), [0, 0, 0o4755, 0, 0, 0]), ALLOW, "{name} open O_RDONLY");
            assert_eq!(eval(&c, nr("open"), [0, creat, 0o4755, 0, 0, 0]), eperm, "{name} open O_CREAT 4755");
            assert_eq!(eval(&c, nr("mknod"), [0, mode(libc::S_IFREG | 0o4000), 0, 0, 0, 0]), eperm, "{name} mknod setuid");
        }
        assert_eq!(eval0(&c, "setuid"), allow_if(!strict), "{name}");
        assert_eq!(eval0(&c, "chroot"), allow_if(!strict), "{name}");
        assert_eq!(eval0(&c, "memfd_create"), allow_if(!strict), "{name}");
        for allowed in [
            "read",
            "write",
            "openat",
            "execve",
            "epoll_wait",
            "sendfile",
            "io_submit",
            "shmget",
            "semop",
            "landlock_create_ruleset",
            "seccomp",
            "rseq",
            "futex",
        ] {
            assert_eq!(eval0(&c, allowed), ALLOW, "{name} {allowed}");
        }
    }
}

#[test]
fn kernel_shipped_profiles_in_a_child() {
    for name in ["default", "strict", "udp"] {
        let c = shipped(name);
        let (status, got) = run_in_child(&c, |buf| {
            let fastopen = libc::MSG_FASTOPEN as u64;
            let calls: [(i64, [u64; 6]); 15] = [
                (libc::SYS_socket, [2, SOCK_STREAM | SOCK_FLAGS, 0, 0, 0, 0]),
                (libc::SYS_socket, [2, SOCK_DGRAM | SOCK_FLAGS, 0, 0, 0, 0]),
                (libc::SYS_socket, [AF_PACKET, SOCK_RAW | SOCK_FLAGS, 0x300, 0, 0, 0]),
                (libc::SYS_socket, [AF_NETLINK, SOCK_RAW | SOCK_FLAGS, 0, 0, 0, 0]),
                (libc::SYS_unshare, [CLONE_NEWUSER, 0, 0, 0, 0, 0]),
                (libc::SYS_clone3, [0; 6]),
                (libc::SYS_io_uring_setup, [1, 0, 0, 0, 0, 0]),
                (libc::SYS_keyctl, [0, 0, 0, 0, 0, 0]),
                (libc::SYS_getppid, [0; 6]),
                // 9..: on fd -1 the kernel answers EBADF unless the filter answers first.
                (libc::SYS_socket, [2, SOCK_STREAM | SOCK_FLAGS, 262, 0, 0, 0]),
                (libc::SYS_sendto, [u64::MAX, 0, 0, fastopen, 0, 0]),
                (libc::SYS_sendto, [u64::MAX, 0, 0, 0, 0, 0]),
                (libc::SYS_sendmsg, [u64::MAX, 0, fastopen, 0, 0, 0]),
                (libc::SYS_fchmod, [u64::MAX, 0o4755, 0, 0, 0, 0]),
                (libc::SYS_fchmod, [u64::MAX, 0o755, 0, 0, 0, 0]),
            ];
            for (i, (nr, args)) in calls.iter().enumerate() {
                buf[i] = sys(*nr, *args);
            }
            calls.len()
        });
        assert!(exited_ok(status), "{name}: status {status:#x}");
        let ok = |v: i64| v >= 0;
        assert!(ok(got[0]), "{name} tcp socket {}", got[0]);
        assert_eq!(ok(got[1]), name == "udp", "{name} udp socket {}", got[1]);
        assert_eq!(got[2], -i64::from(libc::EPERM), "{name} packet socket");
        assert_eq!(ok(got[3]), name != "strict", "{name} rtnetlink {}", got[3]);
        assert_eq!(got[4], -i64::from(libc::EPERM), "{name} unshare(CLONE_NEWUSER)");
        assert_eq!(got[5], -i64::from(libc::ENOSYS), "{name} clone3");
        assert_eq!(got[6], -i64::from(libc::ENOSYS), "{name} io_uring_setup");
        assert_eq!(got[7], -i64::from(libc::EPERM), "{name} keyctl");
        assert!(ok(got[8]), "{name} getppid");
        let e = |n: i32| -i64::from(n);
        assert_eq!(got[9], e(libc::EPROTONOSUPPORT), "{name} mptcp socket");
        assert_eq!(got[10], e(libc::EPERM), "{name} sendto MSG_FASTOPEN");
        assert_eq!(got[11], e(libc::EBADF), "{name} sendto");
        assert_eq!(got[12], e(libc::EPERM), "{name} sendmsg MSG_FASTOPEN");
        assert_eq!(got[13], e(libc::EPERM), "{name} fchmod 4755");
        assert_eq!(got[14], e(libc::EBADF), "{name} fchmod 755");
    }
}

// ---------------------------------------------------------------- searched dispatch

/// Profiles the searched dispatch is checked on: the shipped ones, a Docker-sized list,
/// and small ones with every shape of rule (allow lists, deny lists, mixed actions,
/// argument rules on listed and unlisted syscalls, numbers 0 and the newest).
fn dispatch_profiles() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = SHIPPED.iter().map(|(n, j)| (n.to_string(), j.to_string())).collect();
    v.push(("big allowlist".into(), big_allowlist()));
    let newest = syscalls::table().values().copied().max().unwrap();
    let newest_name = syscalls::table().iter().find(|e| *e.1 == newest).unwrap().0;
    v.push((
        "edges".into(),
        format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                {{"names":["read","write","open","close"],"action":"SCMP_ACT_ALLOW"}},
                {{"names":["{newest_name}"],"action":"SCMP_ACT_ALLOW"}},
                {{"names":["mmap"],"action":"SCMP_ACT_ALLOW","args":[{{"index":2,"value":4,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}}]}},
                {{"names":["close"],"action":"SCMP_ACT_ERRNO","errnoRet":9,"args":[{{"index":0,"value":1000,"op":"SCMP_CMP_GT"}}]}},
                {{"names":["kill"],"action":"SCMP_ACT_KILL_PROCESS"}},
                {{"names":["getpid","gettid"],"action":"SCMP_ACT_TRAP"}}]}}"#
        ),
    ));
    v.push((
        "deny list".into(),
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["mount","umount2","ptrace","bpf","init_module"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
            {"names":["socket"],"action":"SCMP_ACT_ERRNO","errnoRet":97,"args":[{"index":0,"value":16,"op":"SCMP_CMP_EQ"}]},
            {"names":["kexec_load"],"action":"SCMP_ACT_KILL"}]}"#
            .into(),
    ));
    v.push(("empty allow list".into(), r#"{"defaultAction":"SCMP_ACT_KILL_PROCESS","syscalls":[]}"#.into()));
    v
}

#[test]
fn searched_dispatch_answers_every_call_as_the_chain_does() {
    // Every syscall number up to well past the newest, the x32 range, numbers with high
    // bits set, for the native architecture and a foreign one, with argument values
    // around every rule's constants.
    let newest = syscalls::table().values().copied().max().unwrap() as i32;
    let mut numbers: Vec<i32> = (0..=newest + 64).collect();
    numbers.extend((0..=newest + 64).map(|n| n | 0x4000_0000));
    numbers.extend([-1, i32::MAX, i32::MIN, 0x7fff_fffe]);
    let arg_sets: Vec<[u64; 6]> = GRID.iter().map(|&a| [a, a, a, a, a, a]).chain([[16, 2, 4, 0, 0, 0], [1001, 0, 4, 0, 0, 0], [8, 0, 0, 0, 0, 0]]).collect();
    for (name, json) in dispatch_profiles() {
        let p = profile(&json);
        let searched = translate::compile_with(&p, true).unwrap_or_else(|e| panic!("{name}: {e}"));
        let chained = translate::compile_with(&p, false).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut calls = 0;
        for arch in [native_audit(), AUDIT_ARCH_I386] {
            for &n in &numbers {
                for args in &arg_sets {
                    let (a, b) = (eval_arch(&searched, arch, n, *args), eval_arch(&chained, arch, n, *args));
                    assert_eq!(a, b, "{name}: arch {arch:#x} nr {n} args {args:?}: searched {a:#x}, chain {b:#x}");
                    calls += 1;
                }
            }
        }
        let (s, c) = (searched.instruction_count(), chained.instruction_count());
        println!("{name}: {calls} calls agree; {s} instructions searched, {c} chained");
    }
}

#[test]
fn searched_dispatch_is_short_for_a_large_profile() {
    // What the kernel pays per call and, ~450 times over, at install: the longest path
    // through the base filter of the default profile.
    let c = shipped("default");
    let base = c.filters.iter().find(|f| f.label.starts_with("base")).unwrap();
    let longest = (0..=450).map(|n| bpf::steps(&base.insns, &SeccompData { nr: n, arch: native_audit(), ip: 0, args: [0; 6] })).max().unwrap();
    let chained = translate::compile_with(&profile(SHIPPED[0].1), false).unwrap();
    let cbase = chained.filters.iter().find(|f| f.label.starts_with("base")).unwrap();
    let clongest = (0..=450).map(|n| bpf::steps(&cbase.insns, &SeccompData { nr: n, arch: native_audit(), ip: 0, args: [0; 6] })).max().unwrap();
    println!("default.json base filter: longest path {longest} instructions searched, {clongest} chained");
    assert!(longest * 4 < clongest, "the search is not shorter: {longest} vs {clongest}");
}

#[test]
fn dispatch_edges() {
    // Runs at 0, at u32::MAX, single numbers, and the empty set.
    let on = libc::SECCOMP_RET_ALLOW;
    let miss = errno(1);
    for set in [vec![], vec![0], vec![u32::MAX], vec![0, 1, 2, 5, 7, 8, u32::MAX - 1, u32::MAX], vec![3], (10..300).collect::<Vec<u32>>()] {
        let mut prog = vec![bpf::stmt(bpf::LD_W_ABS, bpf::OFF_NR)];
        prog.extend(bpf::dispatch(&set, on));
        prog.push(bpf::stmt(bpf::RET_K, miss));
        for n in (0..=310u32).chain([u32::MAX - 2, u32::MAX - 1, u32::MAX, 1 << 30]) {
            let got = bpf::run(&prog, &SeccompData { nr: n as i32, arch: 0, ip: 0, args: [0; 6] });
            let want = if set.contains(&n) { on } else { miss };
            assert_eq!(got, Some(want), "set {set:?}, nr {n}");
        }
    }
}
