//! Scalar value types of a service description.
//!
//! Each type checks its own range while it is deserialized, so that a bad
//! value is reported with the position of the value in the TOML file. Custom
//! messages carry their fix after a `; fix: ` separator, which the loader
//! splits off (see `load.rs`).

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A TCP port, 1 to 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Port(pub u16);

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Port;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a TCP port number from 1 to 65535")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Port, E> {
                if (1..=65535).contains(&v) {
                    Ok(Port(v as u16))
                } else {
                    Err(E::custom(format!("port {v} is out of range; fix: use a TCP port from 1 to 65535")))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Port, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Port, E> {
                Err(E::custom(format!("port \"{v}\" is a string; fix: write the port as a bare number, e.g. 8080")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A user or group given by name or by number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdSpec {
    Name(String),
    Id(u32),
}

impl fmt::Display for IdSpec {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            IdSpec::Name(n) => f.write_str(n),
            IdSpec::Id(i) => write!(f, "{i}"),
        }
    }
}

impl<'de> Deserialize<'de> for IdSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IdSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a user or group name, or a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IdSpec, E> {
                u32::try_from(v).map(IdSpec::Id).map_err(|_| E::custom(format!("id {v} is out of range; fix: use a number from 0 to 4294967295")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IdSpec, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IdSpec, E> {
                if v.is_empty() {
                    return Err(E::custom("empty user or group name; fix: give a name or a number"));
                }
                if v.bytes().all(|b| b.is_ascii_digit()) {
                    return v.parse().map(IdSpec::Id).map_err(|_| E::custom(format!("id {v} is out of range; fix: use a number below 2^32")));
                }
                if v.contains(':') || v.contains('\n') {
                    return Err(E::custom(format!("`{v}` is not a valid name; fix: give the user and the group as separate keys")));
                }
                Ok(IdSpec::Name(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A permission mode: an integer (write it in TOML as `0o660`) or an octal string ("0660").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode(pub u32);

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Mode;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mode such as 0o644 or \"0644\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Mode, E> {
                if (0..=0o7777).contains(&v) {
                    Ok(Mode(v as u32))
                } else {
                    Err(E::custom(format!("mode {v} is out of range; fix: write an octal mode such as 0o644 or \"0644\"")))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Mode, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Mode, E> {
                let digits = v.strip_prefix("0o").unwrap_or(v);
                match u32::from_str_radix(digits, 8) {
                    Ok(m) if m <= 0o7777 && !digits.is_empty() => Ok(Mode(m)),
                    _ => Err(E::custom(format!("mode \"{v}\" is not an octal mode; fix: write it like \"0644\" or 0o644"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A size in bytes: an integer, or a string with a binary suffix K, M, G or T ("256M").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl Size {
    pub fn parse(s: &str) -> Option<u64> {
        let t = s.trim();
        let t = t.strip_suffix("iB").or_else(|| t.strip_suffix('B')).unwrap_or(t);
        let (num, mult) = match t.chars().last()? {
            'k' | 'K' => (&t[..t.len() - 1], 1u64 << 10),
            'm' | 'M' => (&t[..t.len() - 1], 1 << 20),
            'g' | 'G' => (&t[..t.len() - 1], 1 << 30),
            't' | 'T' => (&t[..t.len() - 1], 1 << 40),
            _ => (t, 1),
        };
        num.trim().parse::<u64>().ok()?.checked_mul(mult)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let b = self.0;
        for (unit, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] {
            if b >= 1 << shift && b % (1 << shift) == 0 {
                return write!(f, "{} {unit}", b >> shift);
            }
        }
        write!(f, "{b} bytes")
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size such as \"64M\" or a number of bytes")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v).map(Size).map_err(|_| E::custom(format!("size {v} is negative; fix: give a size such as \"64M\"")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                Ok(Size(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
                Size::parse(v)
                    .map(Size)
                    .ok_or_else(|| E::custom(format!("\"{v}\" is not a size; fix: write a number with an optional K, M, G or T suffix, e.g. \"64M\"")))
            }
        }
        d.deserialize_any(V)
    }
}

const SIGNALS: &[&str] = &[
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP",
    "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// A signal name, normalised to the `SIGTERM` form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal(pub String);

impl Signal {
    /// The signal's number on Linux (SIGNALS lists signals 1 to 31 in order).
    pub fn number(&self) -> i32 {
        let bare = self.0.strip_prefix("SIG").unwrap_or(&self.0);
        SIGNALS.iter().position(|s| *s == bare).map_or(15, |i| i as i32 + 1)
    }
}

impl Default for Signal {
    fn default() -> Self {
        Signal("SIGTERM".into())
    }
}

impl<'de> Deserialize<'de> for Signal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let up = s.to_ascii_uppercase();
        let bare = up.strip_prefix("SIG").unwrap_or(&up);
        if SIGNALS.contains(&bare) {
            Ok(Signal(format!("SIG{bare}")))
        } else {
            Err(de::Error::custom(format!("`{s}` is not a signal name; fix: use a name such as \"SIGTERM\", \"SIGINT\" or \"SIGQUIT\"")))
        }
    }
}

/// The capabilities Linux knows, without the `CAP_` prefix.
pub const CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// A capability name, normalised to the `CAP_NET_BIND_SERVICE` form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Capability(pub String);

impl<'de> Deserialize<'de> for Capability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let up = s.to_ascii_uppercase();
        let bare = up.strip_prefix("CAP_").unwrap_or(&up);
        if CAPABILITIES.contains(&bare) {
            Ok(Capability(format!("CAP_{bare}")))
        } else {
            Err(de::Error::custom(format!("`{s}` is not a Linux capability; fix: use a name such as \"CAP_NET_BIND_SERVICE\" (see capabilities(7))")))
        }
    }
}

/// Soft and hard values of one resource limit; `u64::MAX` means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub soft: u64,
    pub hard: u64,
}

pub const UNLIMITED: u64 = u64::MAX;

fn limit_scalar<E: de::Error>(v: LimitScalar) -> Result<u64, E> {
    match v {
        LimitScalar::Int(i) => u64::try_from(i).map_err(|_| E::custom(format!("limit {i} is negative; fix: use a number or \"unlimited\""))),
        LimitScalar::Str(s) if s == "unlimited" || s == "infinity" => Ok(UNLIMITED),
        LimitScalar::Str(s) => s.parse().map_err(|_| E::custom(format!("`{s}` is not a limit; fix: use a number or \"unlimited\""))),
    }
}

enum LimitScalar {
    Int(i64),
    Str(String),
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Limit;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a limit: a number, \"unlimited\", \"SOFT:HARD\" or [SOFT, HARD]")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Limit, E> {
                let n = limit_scalar(LimitScalar::Int(v))?;
                Ok(Limit { soft: n, hard: n })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Limit, E> {
                Ok(Limit { soft: v, hard: v })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Limit, E> {
                let lim = match v.split_once(':') {
                    Some((s, h)) => Limit { soft: limit_scalar(LimitScalar::Str(s.to_string()))?, hard: limit_scalar(LimitScalar::Str(h.to_string()))? },
                    None => {
                        let n = limit_scalar(LimitScalar::Str(v.to_string()))?;
                        Limit { soft: n, hard: n }
                    }
                };
                check_order(lim)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Limit, A::Error> {
                let mut vals = Vec::new();
                while let Some(v) = seq.next_element::<toml::Value>()? {
                    let s = match v {
                        toml::Value::Integer(i) => LimitScalar::Int(i),
                        toml::Value::String(s) => LimitScalar::Str(s),
                        other => return Err(de::Error::custom(format!("`{other}` is not a limit; fix: use a number or \"unlimited\""))),
                    };
                    vals.push(limit_scalar(s)?);
                }
                match vals[..] {
                    [soft, hard] => check_order(Limit { soft, hard }),
                    _ => Err(de::Error::custom("a limit array needs two values; fix: write [SOFT, HARD]")),
                }
            }
        }
        d.deserialize_any(V)
    }
}

fn check_order<E: de::Error>(l: Limit) -> Result<Limit, E> {
    if l.soft > l.hard {
        Err(E::custom(format!("soft limit {} is above hard limit {}; fix: make the soft limit at most the hard limit", l.soft, l.hard)))
    } else {
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct W<T> {
        v: T,
    }

    fn parse<T: for<'a> Deserialize<'a>>(s: &str) -> Result<T, toml::de::Error> {
        toml::from_str::<W<T>>(&format!("v = {s}")).map(|w| w.v)
    }

    #[test]
    fn sizes() {
        assert_eq!(Size::parse("64M"), Some(64 << 20));
        assert_eq!(Size::parse("1GiB"), Some(1 << 30));
        assert_eq!(Size::parse("512"), Some(512));
        assert_eq!(Size::parse("x"), None);
        assert_eq!(Size(64 << 20).to_string(), "64 MiB");
    }

    #[test]
    fn ports() {
        assert_eq!(parse::<Port>("8080").unwrap(), Port(8080));
        let e = parse::<Port>("70000").unwrap_err();
        assert!(e.message().contains("out of range"), "{e}");
        assert!(parse::<Port>("0").is_err());
    }

    #[test]
    fn modes_and_ids() {
        assert_eq!(parse::<Mode>("0o640").unwrap(), Mode(0o640));
        assert_eq!(parse::<Mode>("\"0640\"").unwrap(), Mode(0o640));
        assert!(parse::<Mode>("\"rw\"").is_err());
        assert_eq!(parse::<IdSpec>("\"33\"").unwrap(), IdSpec::Id(33));
        assert_eq!(parse::<IdSpec>("\"www\"").unwrap(), IdSpec::Name("www".into()));
        assert!(parse::<IdSpec>("-1").is_err());
    }

    #[test]
    fn limits_signals_caps() {
        assert_eq!(parse::<Limit>("[10, 20]").unwrap(), Limit { soft: 10, hard: 20 });
        assert_eq!(parse::<Limit>("\"unlimited\"").unwrap().hard, UNLIMITED);
        assert_eq!(parse::<Limit>("\"5:7\"").unwrap(), Limit { soft: 5, hard: 7 });
        assert!(parse::<Limit>("[20, 10]").is_err());
        assert_eq!(parse::<Signal>("\"term\"").unwrap().0, "SIGTERM");
        assert!(parse::<Signal>("\"SIGFOO\"").is_err());
        assert_eq!(parse::<Capability>("\"net_bind_service\"").unwrap().0, "CAP_NET_BIND_SERVICE");
        assert!(parse::<Capability>("\"CAP_GODMODE\"").is_err());
    }
}
