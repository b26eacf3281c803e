//! `ps`: the processes in a container's cgroup.

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
    /// Accepted for compatibility with runc (ps options); ignored
    #[arg(trailing_var_arg = true)]
    pub ps_args: Vec<String>,
}

pub fn run(cli: &Cli, a: &PsArgs) -> anyhow::Result<i32> {
    let dir = ContainerDir::open(&cli.root, &a.id, false)?;
    let st = dir.load()?;
    let mut pids = cgroups::pids(&st.cgroup_path, &st.id)?;
    pids.sort_unstable();
    let mut out = String::new();
    if a.format == "json" {
        out = format!("{}\n", serde_json::to_string(&pids)?);
    } else {
        out.push_str("PID CMD\n");
        for p in pids {
            let cmd = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
            out.push_str(&format!("{p} {}\n", cmd.trim()));
        }
    }
    crate::output::print(&out)?;
    Ok(0)
}
