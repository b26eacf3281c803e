//! spec-gen command line. Library errors carry their own `file:line: error:`
//! prefix and fix; this file only dispatches and sets the exit code.

use anyhow::{bail, Context, Result};
use clap::Parser;
use spec_gen::build::{self, BuildOptions};
use spec_gen::cli::{Cli, Cmd};
use spec_gen::lint::{self, Target};
use spec_gen::load::{load, LoadOptions};
use spec_gen::unit::{self, UnitOptions};
use spec_gen::{bundle, explain, oci, output, structure};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const STRICT: LoadOptions = LoadOptions { require_paths: true, template: false };
const LENIENT: LoadOptions = LoadOptions { require_paths: false, template: false };

fn cmd_bundle(service: &Path, out: &Path, instance: Option<&str>) -> Result<()> {
    let svc = load(service, instance, STRICT)?;
    let plan = bundle::plan(&svc)?;
    let json = oci::to_json(&plan.config);
    let value: serde_json::Value = serde_json::from_str(&json).context("reparsing the generated config")?;
    let problems = structure::check(&value);
    if !problems.is_empty() {
        bail!("internal error: the generated config.json is not valid:\n  {}", problems.join("\n  "));
    }
    let path = out.join("config.json");
    output::write_atomic(&path, json.as_bytes())?;
    eprintln!("spec-gen: wrote {}", path.display());
    Ok(())
}

fn cmd_unit(service: &Path, bundle: &Path, runtime: &Path, template: bool, instance: Option<&str>) -> Result<()> {
    let svc = load(service, instance, LoadOptions { require_paths: false, template })?;
    let bundle = std::path::absolute(bundle).with_context(|| format!("cannot make {} absolute", bundle.display()))?;
    let u = unit::render(&svc, &UnitOptions { bundle, runtime: runtime.to_path_buf(), template })?;
    print!("{}", u.text);
    eprintln!("spec-gen: install it as /etc/systemd/system/{}", u.file_name);
    Ok(())
}

fn cmd_check(target: &Path, instance: Option<&str>, rootfs: Option<&Path>) -> Result<bool> {
    let (mut t, problems) = if target.is_dir() {
        Target::from_bundle(target)?
    } else {
        let svc = load(target, instance, LENIENT)?;
        (Target::from_service(&svc), Vec::new())
    };
    if let Some(r) = rootfs {
        t.rootfs = std::fs::canonicalize(r).with_context(|| format!("--rootfs {}", r.display()))?;
    }
    let mut report = lint::run(&t);
    for p in problems {
        report.add(lint::Severity::Error, target.join("config.json").display().to_string(), p, "regenerate the bundle with `spec-gen bundle`");
    }
    for f in report.sorted() {
        println!("{f}");
    }
    println!("check: {}", report.summary());
    Ok(!report.has_errors())
}

fn cmd_rootfs(service: &Path, out: &Path, lock: Option<&Path>, from_lock: Option<&Path>, instance: Option<&str>) -> Result<()> {
    let svc = load(service, instance, LENIENT)?;
    let lock = lock.map(Path::to_path_buf).unwrap_or_else(|| {
        let mut s = out.as_os_str().to_os_string();
        s.push(".lock");
        PathBuf::from(s)
    });
    let built = build::build(&svc, &BuildOptions { output: out.to_path_buf(), lock: lock.clone(), from_lock: from_lock.map(Path::to_path_buf) })?;
    eprintln!("spec-gen: built {} ({} package(s) recorded); lock written to {}", out.display(), built.lock.packages.len(), lock.display());
    if !built.base.is_empty() {
        eprintln!("spec-gen: installed beyond the requested list, base system ({}): {}", built.base.len(), built.base.join(" "));
    }
    if !built.dependencies.is_empty() {
        eprintln!("spec-gen: installed beyond the requested list, dependencies ({}): {}", built.dependencies.len(), built.dependencies.join(" "));
    }
    Ok(())
}

fn cmd_explain(service: &Path, instance: Option<&str>) -> Result<()> {
    // From the description alone: the rootfs and bind sources need not exist yet.
    let svc = load(service, instance, LENIENT)?;
    let plan = bundle::plan(&svc)?;
    print!("{}", explain::explain(&svc, &plan));
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Cmd::Bundle { service, output, instance } => cmd_bundle(service, output, instance.as_deref()).map(|_| true),
        Cmd::Unit { service, bundle, runtime, template, instance } => cmd_unit(service, bundle, runtime, *template, instance.as_deref()).map(|_| true),
        Cmd::Check { target, instance, rootfs } => cmd_check(target, instance.as_deref(), rootfs.as_deref()),
        Cmd::Rootfs { service, output, lock, from_lock, instance } => {
            cmd_rootfs(service, output, lock.as_deref(), from_lock.as_deref(), instance.as_deref()).map(|_| true)
        }
        Cmd::Explain { service, instance } => cmd_explain(service, instance.as_deref()).map(|_| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::from(1)
        }
    }
}
