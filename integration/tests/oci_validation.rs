//! The OCI runtime-tools validation programs against the built runtime (issue 12):
//! scripts/oci-validation.sh builds the suite once into /var/cache/ocirt/oci-validation/KEY
//! (KEY hashes the script) and runs every program; the outcome of each must be the one listed
//! in integration/oci-validation.expected, and the runtime must leave nothing behind.
//!
//! The build needs deb.debian.org. When the archive cannot be reached the tests skip, unless
//! OCIRT_REQUIRE_ALL is set (CI), where that fails them; OCIRT_E2E=0 skips them, as it does
//! the other end-to-end tests. Any other build failure fails them.

use integration::*;
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A cold build downloads about 45 MB and compiles 59 Go programs (0.5 to 2.5 min here).
const BUILD_LIMIT: Duration = Duration::from_secs(20 * 60);
/// A run takes under a minute; each program has its own 120 s limit inside the script.
const RUN_LIMIT: Duration = Duration::from_secs(20 * 60);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn script() -> PathBuf {
    workspace().join("scripts/oci-validation.sh")
}

fn expected_file() -> PathBuf {
    workspace().join("integration/oci-validation.expected")
}

/// `pass NAME` / `fail NAME` lines, `#` comments: program name -> whether it must pass.
fn expected() -> BTreeMap<String, bool> {
    let path = expected_file();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut m = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        let (outcome, name) = match line.split_whitespace().collect::<Vec<_>>()[..] {
            ["pass", name] => (true, name),
            ["fail", name] => (false, name),
            _ => panic!("{}:{}: {line:?}: write `pass NAME` or `fail NAME`", path.display(), n + 1),
        };
        assert!(m.insert(name.to_string(), outcome).is_none(), "{}:{}: {name} is listed twice: keep one line", path.display(), n + 1);
    }
    m
}

/// Runs the script with `args` in its own process group (killed whole if it overruns:
/// the programs it starts are its children).
fn script_cmd(ctx: &Ctx, args: &[&str], env: &[(&str, &Path)], limit: Duration) -> Output {
    let mut c = Command::new("bash");
    c.arg(script()).args(args).stdin(Stdio::null()).process_group(0);
    for (k, v) in env {
        c.env(k, v);
    }
    let what = format!("scripts/oci-validation.sh {}", args.join(" "));
    let mut r = ctx.spawn(c, &what);
    match r.wait_timeout(limit) {
        Some(o) => o,
        None => {
            // TERM first, so that the script removes its scratch build directory.
            for sig in [libc::SIGTERM, libc::SIGKILL] {
                // SAFETY: kill(2) on the process group of the script we started (its pid).
                unsafe { libc::kill(-r.pid(), sig) };
                if r.wait_timeout(Duration::from_secs(5)).is_some() {
                    break;
                }
            }
            panic!("{what} did not finish within {limit:?}\nstdout: {}\nstderr: {}", r.stdout_now(), r.stderr_now());
        }
    }
}

/// Builds the suite (or finds it cached). False: skipped, the archive cannot be reached.
fn suite_ready(ctx: &Ctx, test: &str) -> bool {
    if std::env::var("OCIRT_E2E").as_deref() == Ok("0") {
        eprintln!("{test}: skipped (OCIRT_E2E=0)");
        return false;
    }
    let t = Instant::now();
    let o = script_cmd(ctx, &["build"], &[], BUILD_LIMIT);
    match o.code {
        0 => {
            eprintln!("{test}: suite {} in {:?}", o.out(), t.elapsed());
            true
        }
        3 => {
            assert!(
                std::env::var_os("OCIRT_REQUIRE_ALL").is_none(),
                "{test}: OCIRT_REQUIRE_ALL is set but the suite cannot be built, the archive is out of reach:\n{}",
                o.stderr.trim()
            );
            eprintln!("{test}: skipped: the suite cannot be built here (no archive):\n{}", o.stderr.trim());
            false
        }
        c => panic!("{test}: scripts/oci-validation.sh build failed (exit {c}):\nstdout: {}\nstderr: {}", o.stdout, o.stderr),
    }
}

/// A run's report: outcome per program, residue found, residue the script could not remove.
struct Report {
    outcomes: BTreeMap<String, bool>,
    residue: Vec<String>,
    still: Vec<String>,
    logs: PathBuf,
}

fn run_suite(ctx: &Ctx, runtime: &Path, programs: &[&str]) -> Report {
    let logs = ctx.dir("results");
    let mut args = vec!["run", runtime.to_str().unwrap()];
    args.extend_from_slice(programs);
    let t = Instant::now();
    let o = script_cmd(ctx, &args, &[("OCI_VALIDATION_OUT", &logs)], RUN_LIMIT);
    let took = t.elapsed();
    assert!(o.code == 0 || o.code == 4, "scripts/oci-validation.sh run failed (exit {}):\nstdout: {}\nstderr: {}", o.code, o.stdout, o.stderr);
    let mut r = Report { outcomes: BTreeMap::new(), residue: vec![], still: vec![], logs };
    for line in o.stdout.lines() {
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        match tag {
            "PASS" | "FAIL" => {
                r.outcomes.insert(rest.to_string(), tag == "PASS");
            }
            "RESIDUE" => r.residue.push(rest.to_string()),
            "STILL" => r.still.push(rest.to_string()),
            _ => {}
        }
    }
    assert_eq!(o.code == 4, !r.residue.is_empty(), "exit {} does not match the residue lines:\n{}", o.code, o.stdout);
    // (with the wait for another run's lock, if there was one)
    eprintln!("{}: {} program(s) run against {} in {took:?}", ctx.name, r.outcomes.len(), runtime.display());
    r
}

/// The last lines of a program's log, for a failure message.
fn log_tail(logs: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(logs.join(format!("{name}.log"))).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].iter().map(|l| format!("    | {l}\n")).collect()
}

#[test]
fn every_program_passes_or_fails_as_listed() {
    let ctx = Ctx::new("oci_validation");
    if !suite_ready(&ctx, "every_program_passes_or_fails_as_listed") {
        return;
    }
    let want = expected();
    let got = run_suite(&ctx, runtime_bin(), &[]);
    let file = expected_file();
    let mut problems = vec![];
    for (name, &pass) in &got.outcomes {
        match want.get(name) {
            None => problems.push(format!(
                "{name}: a program not listed in {} ({}s here): add `{} {name}` (and its reason, if it fails, to docs/operations.md)",
                file.display(),
                if pass { "pass" } else { "fail" },
                if pass { "pass" } else { "fail" }
            )),
            Some(true) if !pass => problems.push(format!(
                "{name}: now FAILS (listed as pass); its log, {}:\n{}",
                got.logs.join(format!("{name}.log")).display(),
                log_tail(&got.logs, name)
            )),
            Some(false) if pass => problems.push(format!(
                "{name}: now PASSES (listed as fail): if that is a fix, write `pass {name}` in {} and remove it from the failures in docs/operations.md",
                file.display()
            )),
            Some(_) => {}
        }
    }
    for name in want.keys().filter(|n| !got.outcomes.contains_key(*n)) {
        problems.push(format!("{name}: listed in {} but not run (no such program in the suite any more?)", file.display()));
    }
    for r in &got.residue {
        problems.push(format!("the runtime left {r}"));
    }
    for s in &got.still {
        problems.push(format!("and the script could not remove {s}"));
    }
    let passed = got.outcomes.values().filter(|p| **p).count();
    eprintln!("oci-validation: {passed} of {} programs pass", got.outcomes.len());
    assert!(problems.is_empty(), "OCI validation suite (logs in {}):\n  {}", got.logs.display(), problems.join("\n  "));
}

/// The residue check of the script really finds what a runtime leaves: a wrapper whose
/// `delete` does nothing leaves a created container (state, init process, cgroups) behind,
/// which must be reported and then removed by the script. Beside it, the same program with
/// the real runtime leaves nothing.
#[test]
fn residue_of_a_leaky_runtime_is_reported_and_removed() {
    let ctx = Ctx::new("oci_residue");
    if !suite_ready(&ctx, "residue_of_a_leaky_runtime_is_reported_and_removed") {
        return;
    }
    let clean = run_suite(&ctx, runtime_bin(), &["create"]);
    assert_eq!(clean.outcomes.get("create"), Some(&true), "the real runtime should pass `create`: {}", log_tail(&clean.logs, "create"));
    assert!(clean.residue.is_empty(), "the real runtime left {:?}", clean.residue);

    let leaky = ctx.dir("bin").join("leaky-runtime");
    write_script(
        &leaky,
        &format!("for a; do [ \"$a\" = delete ] && [ -z \"$OCI_VALIDATION_CLEANUP\" ] && exit 0; done\nexec {} \"$@\"", runtime_bin().display()),
    );
    let _ = std::fs::remove_dir_all(ctx.base.join("results"));
    let r = run_suite(&ctx, &leaky, &["create"]);
    for kind in ["state:", "process:", "cgroup:"] {
        assert!(r.residue.iter().any(|l| l.starts_with(kind)), "a container left created should be reported as `{kind}` residue; got {:?}", r.residue);
    }
    assert!(r.still.is_empty(), "the script should remove what it reported; left {:?}", r.still);
}
