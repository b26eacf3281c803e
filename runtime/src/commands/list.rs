//! `list`: every container under --root.

use clap::Args;

use crate::state::{list_ids, ContainerDir};
use crate::Cli;

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Output format: table or json
    #[arg(short, long, default_value = "table")]
    pub format: String,
    /// Print only the ids
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(cli: &Cli, a: &ListArgs) -> anyhow::Result<i32> {
    let mut rows = vec![];
    for id in list_ids(&cli.root)? {
        let Ok(dir) = ContainerDir::open(&cli.root, &id, false) else { continue };
        match dir.load() {
            Ok(st) => {
                let status = st.status(&dir);
                rows.push(st.oci_state(status));
            }
            // An entry without a readable state (an older runtime killed mid-create, or a
            // damaged file) is shown, so that it can be seen and deleted, not hidden.
            Err(_) => rows.push(
                serde_json::json!({"ociVersion": "1.2.0", "id": id, "status": "stopped", "pid": 0, "bundle": "", "rootfs": "", "created": "", "owner": ""}),
            ),
        }
    }
    use std::fmt::Write;
    let mut out = String::new();
    if a.quiet {
        for r in &rows {
            let _ = writeln!(out, "{}", r["id"].as_str().unwrap_or_default());
        }
    } else {
        match a.format.as_str() {
            "json" => out = format!("{}\n", serde_json::to_string(&rows)?),
            "table" => {
                let _ = writeln!(out, "{:<20} {:<8} {:<10} {:<40} {:<32} OWNER", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
                for r in &rows {
                    let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                    let _ = writeln!(out, "{:<20} {:<8} {:<10} {:<40} {:<32} {}", s("id"), r["pid"], s("status"), s("bundle"), s("created"), s("owner"));
                }
            }
            other => anyhow::bail!("--format {other:?}: use table or json"),
        }
    }
    crate::output::print(&out)?;
    Ok(0)
}
