//! `events [--stats] [--interval D] ID`: runc's event stream, one JSON object per line
//! (container/events.rs).

use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

use crate::Cli;

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Print the statistics once and exit
    #[arg(long)]
    pub stats: bool,
    /// Time between two statistics events (e.g. 5s, 500ms, 1m)
    #[arg(long, default_value = "5s")]
    pub interval: String,
    /// Container id
    pub id: String,
}

pub fn run(cli: &Cli, a: &EventsArgs) -> anyhow::Result<i32> {
    let interval = parse_duration(&a.interval).with_context(|| format!("--interval {:?}", a.interval))?;
    crate::container::events::events(&cli.root, &a.id, interval, a.stats)?;
    Ok(0)
}

/// "5s", "250ms", "1m", "1h", or plain seconds.
fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let t = s.trim();
    let end = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(end);
    let n: f64 = num.parse().map_err(|_| anyhow::anyhow!("not a duration (e.g. 5s, 500ms)"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => bail!("unknown unit {unit:?} (use ms, s, m or h)"),
    };
    if secs <= 0.0 || !secs.is_finite() {
        bail!("must be greater than zero");
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5x").is_err());
    }
}
