use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction};
use seccomp_profiles::source::{Profile, GROUPS};

const REGENERATE: &str = "regenerate with `cargo run -p seccomp-profiles --bin gen-profiles` and commit the result";

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_profiles_match_the_source() {
    for (name, want) in seccomp_profiles::profile_files() {
        let path = crate_dir().join(&name);
        let have = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}; {REGENERATE}", path.display()));
        assert!(have == want, "{} is out of date with src/source.rs; {REGENERATE}", path.display());
    }
}

#[test]
fn committed_readme_matches_the_source() {
    let path = crate_dir().join("README.md");
    let have = std::fs::read_to_string(&path).unwrap();
    let want = seccomp_profiles::update_readme(&have).expect("README.md lacks the generated-section markers");
    assert!(have == want, "the group section of {} is out of date; {REGENERATE}", path.display());
}

#[test]
fn generation_is_deterministic() {
    assert_eq!(seccomp_profiles::profile_files(), seccomp_profiles::profile_files());
    for (name, text) in seccomp_profiles::profile_files() {
        assert!(text.ends_with("}\n"), "{name} must end with a newline");
    }
}

#[test]
fn profiles_parse_as_oci_linux_seccomp() {
    for (name, text) in seccomp_profiles::profile_files() {
        let s: LinuxSeccomp = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActErrno, "{name}");
        assert_eq!(s.default_errno_ret(), Some(1), "{name}");
        let syscalls = s.syscalls().as_ref().unwrap();
        assert!(syscalls.len() > 40, "{name}");
        // Round trip: nothing in the file is lost or unknown to the OCI types.
        let back = serde_json::to_value(&s).unwrap();
        let orig: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, orig, "{name} does not round-trip through oci-spec");
    }
}

#[test]
fn groups_are_well_formed() {
    let mut ids = BTreeSet::new();
    for g in GROUPS {
        assert!(ids.insert(g.id), "duplicate group id {}", g.id);
        assert!(!g.reason.trim().is_empty(), "{} has no reason", g.id);
        assert!(!g.syscalls.is_empty(), "{} lists no syscalls", g.id);
        let mut names = g.syscalls.to_vec();
        names.sort_unstable();
        assert_eq!(names, g.syscalls, "{}: keep the syscall list sorted", g.id);
        names.dedup();
        assert_eq!(names.len(), g.syscalls.len(), "{}: duplicate syscall", g.id);
        for alt in g.args {
            assert!(!alt.is_empty(), "{}: empty argument alternative", g.id);
            let mut seen = BTreeSet::new();
            for a in alt.iter() {
                assert!(a.index <= 5, "{}: argument index {}", g.id, a.index);
                assert!(seen.insert(a.index), "{}: argument {} repeats within one alternative", g.id, a.index);
            }
        }
    }
}

#[test]
fn every_syscall_has_exactly_one_verdict_source() {
    // A name is either in exactly one unconditional group, or only in conditional ones.
    let mut unconditional: BTreeMap<&str, &str> = BTreeMap::new();
    let mut conditional: BTreeSet<&str> = BTreeSet::new();
    for g in GROUPS {
        for &name in g.syscalls {
            if g.args.is_empty() {
                if let Some(other) = unconditional.insert(name, g.id) {
                    panic!("{name} is in both {other} and {}", g.id);
                }
            } else {
                conditional.insert(name);
            }
        }
    }
    for name in &conditional {
        assert!(!unconditional.contains_key(name), "{name} is both conditional and in {}", unconditional[name]);
    }
}

/// Collects (names, action) per profile for a few semantic checks.
fn allowed_unconditionally(p: Profile) -> BTreeSet<String> {
    let s: LinuxSeccomp = serde_json::from_str(&seccomp_profiles::render(p)).unwrap();
    s.syscalls()
        .as_ref()
        .unwrap()
        .iter()
        .filter(|e| e.action() == LinuxSeccompAction::ScmpActAllow && e.args().as_ref().is_none_or(|a| a.is_empty()))
        .flat_map(|e| e.names().clone())
        .collect()
}

fn socket_rules(p: Profile) -> Vec<Vec<(usize, u64, Option<u64>)>> {
    let s: LinuxSeccomp = serde_json::from_str(&seccomp_profiles::render(p)).unwrap();
    s.syscalls()
        .as_ref()
        .unwrap()
        .iter()
        .filter(|e| e.names().iter().any(|n| n == "socket"))
        .filter(|e| {
            if e.action() == LinuxSeccompAction::ScmpActAllow {
                return true;
            }
            // The only other socket rule picks the errno for MPTCP (nothing allows it).
            assert_eq!(e.action(), LinuxSeccompAction::ScmpActErrno, "{e:?}");
            assert_eq!(e.errno_ret(), Some(93), "MPTCP gets EPROTONOSUPPORT: {e:?}");
            let args = e.args().as_ref().unwrap();
            assert!(args.iter().any(|a| a.index() == 2 && a.value() == 262), "{e:?}");
            false
        })
        .map(|e| e.args().as_ref().unwrap().iter().map(|a| (a.index(), a.value(), a.value_two())).collect())
        .collect()
}

#[test]
fn profile_differences_are_as_documented() {
    let d = allowed_unconditionally(Profile::Default);
    let s = allowed_unconditionally(Profile::Strict);
    let u = allowed_unconditionally(Profile::Udp);
    assert_eq!(d, u, "udp differs from default only in socket rules");
    let only_default: BTreeSet<&str> = d.difference(&s).map(String::as_str).collect();
    let expected: BTreeSet<&str> =
        ["chroot", "memfd_create", "setfsgid", "setfsuid", "setgid", "setgroups", "setregid", "setresgid", "setresuid", "setreuid", "setuid"].into();
    assert_eq!(only_default, expected);
    assert!(s.is_subset(&d));
    for dangerous in ["ptrace", "bpf", "mount", "keyctl", "add_key", "request_key", "clone3", "io_uring_setup", "unshare", "clone"] {
        assert!(!d.contains(dangerous), "{dangerous} must not be allowed unconditionally");
    }

    let dgram = |rules: &[Vec<(usize, u64, Option<u64>)>]| rules.iter().any(|r| r.contains(&(1, 0xf, Some(2))));
    let netlink = |rules: &[Vec<(usize, u64, Option<u64>)>]| rules.iter().any(|r| r.contains(&(0, 16, None)));
    assert!(!dgram(&socket_rules(Profile::Default)));
    assert!(!dgram(&socket_rules(Profile::Strict)));
    assert!(dgram(&socket_rules(Profile::Udp)));
    assert!(netlink(&socket_rules(Profile::Default)));
    assert!(!netlink(&socket_rules(Profile::Strict)));
    // No rule ever allows a socket family other than unix, inet, inet6 and netlink.
    for p in Profile::ALL {
        for r in socket_rules(p) {
            let family = r.iter().find(|a| a.0 == 0).map(|a| a.1);
            assert!(matches!(family, Some(1 | 2 | 10 | 16)), "{p:?}: {r:?}");
        }
    }
}

#[test]
fn mptcp_is_never_allowed_and_always_refused_with_eprotonosupport() {
    for p in Profile::ALL {
        for r in socket_rules(p) {
            assert!(!r.iter().any(|a| a.0 == 2 && a.1 == 262), "{p:?}: an allow rule names IPPROTO_MPTCP: {r:?}");
        }
        let text = seccomp_profiles::render(p);
        assert!(text.contains("\"errnoRet\": 93"), "{p:?} lacks the MPTCP errno rule");
    }
}

/// Every rule for a syscall that can set a mode or send with flags is conditional: the
/// set-id and MSG_FASTOPEN checks cannot be bypassed by an unconditional allow elsewhere.
#[test]
fn setid_and_fastopen_syscalls_are_only_conditionally_allowed() {
    for p in Profile::ALL {
        let unconditional = allowed_unconditionally(p);
        for name in ["chmod", "fchmod", "fchmodat", "fchmodat2", "mknod", "mknodat", "open", "openat", "creat", "openat2", "sendto", "sendmsg", "sendmmsg"] {
            assert!(!unconditional.contains(name), "{p:?}: {name} is allowed unconditionally");
        }
    }
}
