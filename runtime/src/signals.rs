//! Signal names and numbers for `kill` and for forwarding in `run`.

use nix::sys::signal::Signal;

/// Parses "TERM", "SIGTERM", "sigterm", "15" or "RTMIN+3" into a signal number.
pub fn parse(s: &str) -> Option<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some(rest) = name.strip_prefix("RTMIN") {
        let off: i32 = if rest.is_empty() { 0 } else { rest.strip_prefix('+')?.parse().ok()? };
        let n = libc::SIGRTMIN() + off;
        return (n <= libc::SIGRTMAX()).then_some(n);
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        let off: i32 = if rest.is_empty() { 0 } else { rest.strip_prefix('-')?.parse().ok()? };
        let n = libc::SIGRTMAX() - off;
        return (n >= libc::SIGRTMIN()).then_some(n);
    }
    format!("SIG{name}").parse::<Signal>().ok().map(|s| s as i32)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_and_numbers() {
        assert_eq!(super::parse("KILL"), Some(9));
        assert_eq!(super::parse("SIGTERM"), Some(15));
        assert_eq!(super::parse("hup"), Some(1));
        assert_eq!(super::parse("10"), Some(10));
        assert_eq!(super::parse("RTMIN+1"), Some(libc::SIGRTMIN() + 1));
        assert_eq!(super::parse("NOPE"), None);
        assert_eq!(super::parse("0"), None);
    }
}
