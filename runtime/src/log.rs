//! Logging in runc's shape: text lines on stderr, or `--log FILE --log-format json` lines of
//! `{"level","msg","time"}` that containerd and podman read back when a command fails.
//! A tiny writer of our own: the start path should not pay for a logging framework.

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

struct Sink {
    file: Option<std::fs::File>,
    json: bool,
    debug: bool,
}

static SINK: OnceLock<Sink> = OnceLock::new();

pub fn init(path: Option<&Path>, format: &str, debug: bool) {
    let file = path.and_then(|p| std::fs::OpenOptions::new().create(true).append(true).open(p).ok());
    let _ = SINK.set(Sink { file, json: format == "json", debug });
}

pub fn debug_enabled() -> bool {
    SINK.get().is_some_and(|s| s.debug)
}

pub fn error(msg: &str) {
    write("error", msg);
}
pub fn warn(msg: &str) {
    write("warning", msg);
}
pub fn debug(msg: &str) {
    if debug_enabled() {
        write("debug", msg);
    }
}

/// Writes one record. Errors and warnings always reach stderr too, so a person at a terminal
/// sees them even when a manager asked for a log file.
pub fn write(level: &str, msg: &str) {
    let Some(sink) = SINK.get() else {
        to_stderr(format_args!("runtime: {msg}"));
        return;
    };
    if let Some(mut f) = sink.file.as_ref() {
        let line = if sink.json {
            format!("{{\"level\":{},\"msg\":{},\"time\":\"{}\"}}\n", serde_json::Value::from(level), serde_json::Value::from(msg), rfc3339_now())
        } else {
            format!("time=\"{}\" level={} msg={:?}\n", rfc3339_now(), level, msg)
        };
        let _ = f.write_all(line.as_bytes());
    }
    if sink.file.is_none() || level != "debug" {
        if level == "error" {
            to_stderr(format_args!("runtime: {msg}"));
        } else {
            to_stderr(format_args!("runtime: {level}: {msg}"));
        }
    }
}

/// eprintln! panics when stderr fails (2>/dev/full, a closed pipe); a log line that cannot
/// be written is lost, and the exit code still tells what happened.
fn to_stderr(line: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// UTC time as RFC 3339 with nanoseconds (what runc's state `created` holds).
pub fn rfc3339_now() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    rfc3339(d.as_secs() as i64, d.subsec_nanos())
}

pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil-from-days (Howard Hinnant's algorithm), valid for the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if mo <= 2 { y + 1 } else { y };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{nanos:09}Z")
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_known_instants() {
        assert_eq!(super::rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(super::rfc3339(1_795_435_200, 5), "2026-11-23T12:00:00.000000005Z");
        assert_eq!(super::rfc3339(951_782_400, 0), "2000-02-29T00:00:00.000000000Z");
    }
}
