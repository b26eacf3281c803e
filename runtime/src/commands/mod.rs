//! One module per verb; each exposes its clap arguments and a `run` returning the exit code.

pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod features;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;
pub mod update;

use crate::{Cli, Command};

pub fn dispatch(cli: &Cli) -> anyhow::Result<i32> {
    match &cli.command {
        Command::Create(a) => create::run(cli, a),
        Command::Start(a) => start::run(cli, a),
        Command::State(a) => state::run(cli, a),
        Command::Kill(a) => kill::run(cli, a),
        Command::Delete(a) => delete::run(cli, a),
        Command::Run(a) => run::run(cli, a),
        Command::Exec(a) => exec::run(cli, a),
        Command::List(a) => list::run(cli, a),
        Command::Pause(a) => pause::run(cli, a, true),
        Command::Resume(a) => pause::run(cli, a, false),
        Command::Ps(a) => ps::run(cli, a),
        Command::Update(a) => update::run(cli, a),
        Command::Events(a) => events::run(cli, a),
        Command::Spec(a) => spec::run(a, spec::rootless_wanted(cli.rootless.as_deref())?),
        Command::Features => features::run(),
    }
}
