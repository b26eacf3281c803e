//! Writes the man pages and shell completions of `runtime` and `spec-gen` from the same clap
//! definitions that print their `--help` (packaging only; not installed).
//!
//! Usage: ocirt-docgen OUT_DIR
//! Produces OUT_DIR/man/runtime.8, runtime-VERB.8 for every verb, spec-gen.1 and
//! spec-gen-VERB.1, and OUT_DIR/completions/{bash,zsh,fish}/ for both programs.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

fn write_pages(cmd: &clap::Command, section: &str, man_dir: &Path) -> std::io::Result<usize> {
    let version = cmd.get_version().unwrap_or("").to_string();
    let top = cmd.get_name().to_string();
    let mut n = 0;
    let mut page = |c: clap::Command, name: String| -> std::io::Result<()> {
        // clap names are &'static str without its `string` feature; this program is short-lived.
        let leaked: &'static str = Box::leak(name.clone().into_boxed_str());
        let man =
            clap_mangen::Man::new(c.name(leaked).bin_name(leaked.replacen('-', " ", 1))).section(section).manual("ocirt").source(format!("ocirt {version}"));
        let mut buf = Vec::new();
        man.render(&mut buf)?;
        std::fs::write(man_dir.join(format!("{name}.{section}")), buf)?;
        n += 1;
        Ok(())
    };
    page(cmd.clone(), top.clone())?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        page(sub.clone(), format!("{top}-{}", sub.get_name()))?;
    }
    Ok(n)
}

fn main() -> std::io::Result<()> {
    let out = PathBuf::from(std::env::args_os().nth(1).ok_or_else(|| std::io::Error::other("usage: ocirt-docgen OUT_DIR"))?);
    let man_dir = out.join("man");
    std::fs::create_dir_all(&man_dir)?;
    let runtime = runtime::Cli::command();
    let spec_gen = spec_gen::cli::Cli::command();
    // runtime is an administrator's tool (section 8, like runc); spec-gen a user command.
    let mut pages = write_pages(&runtime, "8", &man_dir)?;
    pages += write_pages(&spec_gen, "1", &man_dir)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let dir = out.join("completions").join(shell.to_string());
        std::fs::create_dir_all(&dir)?;
        for mut cmd in [runtime.clone(), spec_gen.clone()] {
            let name = cmd.get_name().to_string();
            clap_complete::generate_to(shell, &mut cmd, name, &dir)?;
        }
    }
    eprintln!("ocirt-docgen: {pages} man pages and completions for bash, zsh and fish in {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every visible argument of every verb has a help line: the man pages and `--help` are
    /// generated from these, so an undescribed argument is an empty entry in both.
    #[test]
    fn every_argument_is_described() {
        let mut missing = vec![];
        for cmd in [runtime::Cli::command(), spec_gen::cli::Cli::command()] {
            let top = cmd.get_name().to_string();
            for sub in std::iter::once(&cmd).chain(cmd.get_subcommands()) {
                if sub.get_about().is_none() {
                    missing.push(format!("{top} {}: no description", sub.get_name()));
                }
                for a in sub.get_arguments().filter(|a| !a.is_hide_set()) {
                    if a.get_help().is_none() && a.get_long_help().is_none() && !["help", "version"].contains(&a.get_id().as_str()) {
                        missing.push(format!("{top} {}: --{} / <{}>", sub.get_name(), a.get_long().unwrap_or(""), a.get_id()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "arguments without help:\n{}", missing.join("\n"));
    }
}
