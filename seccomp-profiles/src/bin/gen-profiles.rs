//! Regenerates the shipped profiles and the group section of README.md from
//! `src/source.rs`.
//!
//! Usage: `cargo run -p seccomp-profiles --bin gen-profiles [DIR]`; DIR defaults to the
//! crate's own directory. The output is deterministic.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args_os().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let mut files = seccomp_profiles::profile_files();
    let readme_path = dir.join("README.md");
    match std::fs::read_to_string(&readme_path) {
        Ok(current) => match seccomp_profiles::update_readme(&current) {
            Some(updated) => files.push(("README.md".into(), updated)),
            None => {
                eprintln!("gen-profiles: {} lacks the markers {} / {}", readme_path.display(), seccomp_profiles::README_BEGIN, seccomp_profiles::README_END);
                return ExitCode::FAILURE;
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("gen-profiles: no README.md in {}, not generating its group section", dir.display());
        }
        Err(e) => {
            eprintln!("gen-profiles: cannot read {}: {e}", readme_path.display());
            return ExitCode::FAILURE;
        }
    }
    for (name, contents) in files {
        let path = dir.join(&name);
        let unchanged = std::fs::read_to_string(&path).is_ok_and(|old| old == contents);
        if unchanged {
            println!("unchanged {}", path.display());
            continue;
        }
        if let Err(e) = std::fs::write(&path, contents) {
            eprintln!("gen-profiles: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}
