//! The runtime's shipped seccomp profiles (`default.json`, `strict.json`, `udp.json`),
//! generated from [`source::GROUPS`]. Run `cargo run -p seccomp-profiles --bin
//! gen-profiles` after editing the source; a test checks that the committed files match.

pub mod source;

use serde::Serialize;
use source::{Group, Op, Profile, GROUPS};

/// Architectures written into every profile. Runtimes filter the native one; listing
/// both lets the same file work on x86_64 and aarch64 hosts.
pub const ARCHITECTURES: &[&str] = &["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"];

/// Markers around the generated part of README.md.
pub const README_BEGIN: &str = "<!-- BEGIN GENERATED GROUPS (gen-profiles) -->";
pub const README_END: &str = "<!-- END GENERATED GROUPS -->";

// The JSON shapes, with fields in the order they are written (serde keeps declaration
// order, independent of serde_json's map implementation).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SeccompJson {
    default_action: &'static str,
    default_errno_ret: u32,
    architectures: &'static [&'static str],
    syscalls: Vec<SyscallJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SyscallJson {
    names: Vec<&'static str>,
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errno_ret: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    args: Vec<ArgJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArgJson {
    index: u32,
    value: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_two: Option<u64>,
    op: &'static str,
}

fn sorted_names(g: &Group) -> Vec<&'static str> {
    let mut v = g.syscalls.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// The `syscalls` entries one group contributes to `profile`.
fn entries(g: &Group, profile: Profile) -> Vec<SyscallJson> {
    let allowed = g.allow_in.contains(&profile);
    if g.args.is_empty() {
        let (action, errno_ret) = if allowed { ("SCMP_ACT_ALLOW", None) } else { ("SCMP_ACT_ERRNO", Some(g.deny_errno)) };
        return vec![SyscallJson { names: sorted_names(g), action, errno_ret, args: Vec::new() }];
    }
    let (action, errno_ret) = match (allowed, g.deny_errno) {
        (true, _) => ("SCMP_ACT_ALLOW", None),
        // A conditional allowance that does not apply: the default action covers it.
        (false, source::EPERM) => return Vec::new(),
        // Only the errno differs from the default (see source.rs).
        (false, errno) => ("SCMP_ACT_ERRNO", Some(errno)),
    };
    g.args
        .iter()
        .map(|alternative| SyscallJson {
            names: sorted_names(g),
            action,
            errno_ret,
            args: alternative
                .iter()
                .map(|a| match a.op {
                    Op::Eq => ArgJson { index: a.index, value: a.value, value_two: None, op: "SCMP_CMP_EQ" },
                    // OCI/libseccomp: value is the mask, valueTwo the datum.
                    Op::MaskedEq { mask } => ArgJson { index: a.index, value: mask, value_two: Some(a.value), op: "SCMP_CMP_MASKED_EQ" },
                })
                .collect(),
        })
        .collect()
}

/// The `linux.seccomp` object of `profile` as pretty JSON with a trailing newline.
pub fn render(profile: Profile) -> String {
    let doc = SeccompJson {
        default_action: "SCMP_ACT_ERRNO",
        default_errno_ret: source::EPERM,
        architectures: ARCHITECTURES,
        syscalls: GROUPS.iter().flat_map(|g| entries(g, profile)).collect(),
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("profile serialises");
    s.push('\n');
    s
}

/// Every generated file: (path relative to the crate directory, contents).
pub fn profile_files() -> Vec<(String, String)> {
    Profile::ALL.iter().map(|&p| (format!("{}.json", p.name()), render(p))).collect()
}

fn verdict(g: &Group, p: Profile) -> String {
    let allowed = g.allow_in.contains(&p);
    match (allowed, g.args.is_empty(), g.deny_errno) {
        (true, true, _) => "allow".into(),
        (true, false, _) => "allow if args match".into(),
        (false, false, e) if e == source::EPERM => "deny (EPERM)".into(),
        (false, false, source::EPROTONOSUPPORT) => "EPROTONOSUPPORT if args match".into(),
        (false, false, e) => format!("errno {e} if args match"),
        (false, true, source::ENOSYS) => "deny (ENOSYS)".into(),
        (false, true, e) if e == source::EPERM => "deny (EPERM)".into(),
        (false, true, e) => format!("deny (errno {e})"),
    }
}

fn describe_args(g: &Group) -> String {
    let alternatives: Vec<String> = g
        .args
        .iter()
        .map(|alt| {
            let conds: Vec<String> = alt
                .iter()
                .map(|a| match a.op {
                    Op::Eq => format!("arg{} == {}", a.index, number(a.value)),
                    Op::MaskedEq { mask } => {
                        format!("arg{} & {:#x} == {}", a.index, mask, number(a.value))
                    }
                })
                .collect();
            format!("`{}`", conds.join(" && "))
        })
        .collect();
    alternatives.join(" or ")
}

/// Small numbers in decimal, large ones (flags, masks) in hex.
fn number(v: u64) -> String {
    if v < 0x1000 {
        v.to_string()
    } else {
        format!("{v:#x}")
    }
}

/// The generated README section (between the markers, markers excluded).
pub fn readme_section() -> String {
    let mut out = String::new();
    out.push_str("| group | default | strict | udp |\n|---|---|---|---|\n");
    for g in GROUPS {
        out.push_str(&format!(
            "| [{id}](#{id}) | {} | {} | {} |\n",
            verdict(g, Profile::Default),
            verdict(g, Profile::Strict),
            verdict(g, Profile::Udp),
            id = g.id
        ));
    }
    for g in GROUPS {
        out.push_str(&format!("\n### {}\n\n{}\n\n", g.id, g.reason));
        let names: Vec<String> = sorted_names(g).iter().map(|n| format!("`{n}`")).collect();
        out.push_str(&format!("Syscalls: {}.\n", names.join(", ")));
        if !g.args.is_empty() {
            out.push_str(&format!("\nAllowed when {}.\n", describe_args(g)));
        }
    }
    out
}

/// `readme` with the generated section replaced; `None` if the markers are missing.
pub fn update_readme(readme: &str) -> Option<String> {
    let begin = readme.find(README_BEGIN)? + README_BEGIN.len();
    let end = readme[begin..].find(README_END)? + begin;
    Some(format!("{}\n{}\n{}", &readme[..begin], readme_section(), &readme[end..]))
}
