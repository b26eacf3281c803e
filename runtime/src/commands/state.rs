//! `state`: the runtime-spec state of a container, as runc prints it.

use clap::Args;

use crate::state::{ContainerDir, StateError};
use crate::Cli;

#[derive(Args, Debug)]
pub struct StateArgs {
    /// Container id
    pub id: String,
}

pub fn run(cli: &Cli, a: &StateArgs) -> anyhow::Result<i32> {
    let dir = ContainerDir::open(&cli.root, &a.id, false)?;
    let st = match dir.load() {
        Ok(st) => st,
        // An entry without state.json (an older runtime killed between its mkdir and its
        // first write): nothing was made for it. Shown as `list` shows it, so it can be deleted.
        Err(StateError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            let v =
                serde_json::json!({"ociVersion": "1.2.0", "id": a.id, "status": "stopped", "pid": 0, "bundle": "", "rootfs": "", "created": "", "owner": ""});
            println!("{}", serde_json::to_string_pretty(&v)?);
            return Ok(0);
        }
        Err(e) => return Err(e.into()),
    };
    let status = st.status(&dir);
    crate::output::print(&format!("{}\n", serde_json::to_string_pretty(&st.oci_state(status))?))?;
    Ok(0)
}
