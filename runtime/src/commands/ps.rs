//! `ps`: the processes in a container's cgroup.
//!
//! As runc: `--format json` prints the pids; otherwise ps(1) runs with the given options
//! (default `-ef`) and only its header and the lines whose PID column names a process of the
//! container are printed.

use anyhow::{bail, Context};
use clap::Args;

use crate::state::ContainerDir;
use crate::{cgroups, Cli};

#[derive(Args, Debug)]
pub struct PsArgs {
    /// Output format: table or json
    #[arg(short, long, default_value = "table")]
    pub format: String,
    /// Container id
    pub id: String,
    /// Options for ps(1) (default -ef), e.g. `-o pid,comm`
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

pub fn run(cli: &Cli, a: &PsArgs) -> anyhow::Result<i32> {
    let dir = ContainerDir::open(&cli.root, &a.id, false)?;
    let st = dir.load()?;
    let mut pids = cgroups::pids(&st.cgroup_path, &st.id)?;
    pids.sort_unstable();
    let out = match a.format.as_str() {
        "json" => format!("{}\n", serde_json::to_string(&pids)?),
        "table" => {
            let args: Vec<&str> = if a.ps_args.is_empty() { vec!["-ef"] } else { a.ps_args.iter().map(String::as_str).collect() };
            let o = std::process::Command::new("ps").args(&args).stdin(std::process::Stdio::null()).output().context("run ps(1)")?;
            if !o.status.success() {
                bail!("ps {}: {}: {}", args.join(" "), o.status, String::from_utf8_lossy(&o.stderr).trim());
            }
            filter(&String::from_utf8_lossy(&o.stdout), &pids).with_context(|| format!("ps {}", args.join(" ")))?
        }
        other => bail!("--format {other:?}: use table or json"),
    };
    crate::output::print(&out)?;
    Ok(0)
}

/// ps(1)'s header, then its lines whose PID column is one of `pids`.
fn filter(ps_out: &str, pids: &[i32]) -> anyhow::Result<String> {
    let mut lines = ps_out.lines();
    let header = lines.next().unwrap_or_default();
    let Some(col) = header.split_whitespace().position(|f| f == "PID") else {
        bail!("no PID column in the output (add pid to -o)");
    };
    let mut out = format!("{header}\n");
    for l in lines {
        if l.split_whitespace().nth(col).and_then(|p| p.parse::<i32>().ok()).is_some_and(|p| pids.binary_search(&p).is_ok()) {
            out.push_str(l);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::filter;

    #[test]
    fn keeps_the_header_and_the_containers_lines() {
        let ps = "UID   PID  PPID CMD\nroot    1     0 init\nroot   42     1 sleep 42\nroot  420    42 sh\n";
        assert_eq!(filter(ps, &[42]).unwrap(), "UID   PID  PPID CMD\nroot   42     1 sleep 42\n");
        assert_eq!(filter("  PID COMMAND\n   7 a\n", &[7]).unwrap(), "  PID COMMAND\n   7 a\n");
        assert!(filter("COMMAND\nsh\n", &[1]).unwrap_err().to_string().contains("PID"));
    }
}
