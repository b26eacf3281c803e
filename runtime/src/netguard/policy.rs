//! The guard's policy, read from annotations. Parsing never touches the kernel.

use std::collections::HashMap;

use super::NetGuardError;

pub const KEY_TCP_BIND: &str = ocirt_contract::annotations::LANDLOCK_NET_BIND;
pub const KEY_TCP_CONNECT: &str = ocirt_contract::annotations::LANDLOCK_NET_CONNECT;
pub const KEY_UDP_BIND: &str = ocirt_contract::annotations::NET_UDP_BIND;
pub const KEY_UDP_CONNECT: &str = ocirt_contract::annotations::NET_UDP_CONNECT;
pub const KEY_UNIX_BIND: &str = ocirt_contract::annotations::NET_UNIX_BIND;
pub const KEY_COMPAT: &str = ocirt_contract::annotations::LANDLOCK_COMPAT;

/// Our own keys (the TCP lists and compat belong to the landlock annotation family).
pub const OWN_KEYS: [&str; 3] = [KEY_UDP_BIND, KEY_UDP_CONNECT, KEY_UNIX_BIND];
const OWN_PREFIX: &str = ocirt_contract::annotations::NET_PREFIX;

/// Longest abstract name: sun_path is 108 bytes and the first is the NUL.
const MAX_ABSTRACT: usize = 107;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetPolicy {
    /// `None`: the TCP operation is not port-restricted (its key is absent).
    pub tcp_bind: Option<Vec<u16>>,
    pub tcp_connect: Option<Vec<u16>>,
    /// `None`: no UDP key given; UDP sockets are then refused altogether.
    pub udp_bind: Option<Vec<u16>>,
    pub udp_connect: Option<Vec<u16>>,
    /// Abstract unix names (without the leading NUL) the container may bind.
    pub unix_bind: Vec<Vec<u8>>,
    /// The unix key was given (even `[]`): the abstract-bind check is then required.
    pub unix_bind_declared: bool,
    pub required: bool,
}

impl NetPolicy {
    pub fn udp_enabled(&self) -> bool {
        self.udp_bind.is_some() || self.udp_connect.is_some()
    }
}

/// `Ok(None)` when no network key is present: the guard is then off.
pub fn from_annotations(a: &HashMap<String, String>) -> Result<Option<NetPolicy>, NetGuardError> {
    let mut own: Vec<&String> = a.keys().filter(|k| k.to_ascii_lowercase().starts_with(OWN_PREFIX)).collect();
    own.sort();
    if let Some(bad) = own.iter().find(|k| !OWN_KEYS.contains(&k.as_str())) {
        return Err(NetGuardError::UnknownKey { key: (*bad).clone() });
    }
    let get = |k: &str| a.get(k).map(String::as_str);
    if own.is_empty() && get(KEY_TCP_BIND).is_none() && get(KEY_TCP_CONNECT).is_none() {
        return Ok(None);
    }
    let ports = |k: &'static str| get(k).map(|v| parse_ports(k, v)).transpose();
    let unix_bind = match get(KEY_UNIX_BIND) {
        Some(v) => parse_names(v)?,
        None => vec![],
    };
    let required = match get(KEY_COMPAT) {
        None | Some("required") => true,
        Some("best-effort") => false,
        Some(other) => {
            return Err(NetGuardError::InvalidValue { key: KEY_COMPAT, reason: format!("{other:?} is not a compatibility mode; use required or best-effort") })
        }
    };
    Ok(Some(NetPolicy {
        tcp_bind: ports(KEY_TCP_BIND)?,
        tcp_connect: ports(KEY_TCP_CONNECT)?,
        udp_bind: ports(KEY_UDP_BIND)?,
        udp_connect: ports(KEY_UDP_CONNECT)?,
        unix_bind,
        unix_bind_declared: get(KEY_UNIX_BIND).is_some(),
        required,
    }))
}

fn array(key: &'static str, value: &str, example: &str) -> Result<Vec<serde_json::Value>, NetGuardError> {
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Array(v)) => Ok(v),
        Ok(_) => Err(NetGuardError::InvalidValue { key, reason: format!("{value:?} is not a JSON array; write e.g. {example}") }),
        Err(e) => Err(NetGuardError::InvalidValue { key, reason: format!("value is not valid JSON ({e}); write e.g. {example}") }),
    }
}

fn parse_ports(key: &'static str, value: &str) -> Result<Vec<u16>, NetGuardError> {
    let mut out = vec![];
    for item in array(key, value, "[53]")? {
        let p = item
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| NetGuardError::InvalidValue { key, reason: format!("{item} is not a port (0-65535); write ports as JSON numbers, e.g. [53]") })?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

fn parse_names(value: &str) -> Result<Vec<Vec<u8>>, NetGuardError> {
    let key = KEY_UNIX_BIND;
    let mut out: Vec<Vec<u8>> = vec![];
    for item in array(key, value, r#"["my-service.sock"]"#)? {
        let s = item.as_str().ok_or_else(|| NetGuardError::InvalidValue {
            key,
            reason: format!("{item} is not a name; write abstract socket names as JSON strings without the leading NUL, e.g. [\"my-service.sock\"]"),
        })?;
        let bad = |why: &str| NetGuardError::InvalidValue { key, reason: format!("{s:?} {why}") };
        if s.is_empty() {
            return Err(bad("is empty; write the name that follows the leading NUL byte"));
        }
        if s.len() > MAX_ABSTRACT {
            return Err(bad(&format!("is longer than {MAX_ABSTRACT} bytes, the most an abstract unix name can hold")));
        }
        if s.contains('\0') {
            return Err(bad("contains a NUL byte; write the name without the leading NUL"));
        }
        if !out.iter().any(|n| n == s.as_bytes()) {
            out.push(s.as_bytes().to_vec());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Option<NetPolicy>, NetGuardError> {
        from_annotations(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn off_without_network_keys() {
        assert_eq!(parse(&[("org.ocirt.landlock.fs.read", "[\"/\"]")]).unwrap(), None);
    }

    #[test]
    fn tcp_keys_turn_it_on_and_udp_stays_refused() {
        let p = parse(&[(KEY_TCP_BIND, "[8080]")]).unwrap().unwrap();
        assert_eq!(p.tcp_bind, Some(vec![8080]));
        assert_eq!(p.tcp_connect, None);
        assert!(!p.udp_enabled());
        assert!(p.required);
    }

    #[test]
    fn full_policy() {
        let p = parse(&[
            (KEY_TCP_CONNECT, "[]"),
            (KEY_UDP_CONNECT, "[53, 53]"),
            (KEY_UDP_BIND, "[5353]"),
            (KEY_UNIX_BIND, r#"["svc"]"#),
            (KEY_COMPAT, "best-effort"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(p.udp_connect, Some(vec![53]));
        assert_eq!(p.udp_bind, Some(vec![5353]));
        assert_eq!(p.unix_bind, vec![b"svc".to_vec()]);
        assert!(p.udp_enabled());
        assert!(!p.required);
    }

    #[test]
    fn bad_values_name_key_value_and_fix() {
        let e = parse(&[(KEY_UDP_CONNECT, "[\"53\"]")]).unwrap_err().to_string();
        assert!(e.contains(KEY_UDP_CONNECT) && e.contains("\"53\"") && e.contains("JSON numbers"), "{e}");
        let e = parse(&[(KEY_UDP_BIND, "[70000]")]).unwrap_err().to_string();
        assert!(e.contains("70000") && e.contains("0-65535"), "{e}");
        let e = parse(&[(KEY_UDP_BIND, "53")]).unwrap_err().to_string();
        assert!(e.contains("not a JSON array"), "{e}");
        let e = parse(&[(KEY_UNIX_BIND, "[\"\"]")]).unwrap_err().to_string();
        assert!(e.contains(KEY_UNIX_BIND) && e.contains("empty"), "{e}");
        let long = format!("[\"{}\"]", "x".repeat(108));
        assert!(parse(&[(KEY_UNIX_BIND, &long)]).unwrap_err().to_string().contains("107"));
        let e = parse(&[("org.ocirt.net.udp.binds", "[]")]).unwrap_err().to_string();
        assert!(e.contains("org.ocirt.net.udp.binds") && e.contains(KEY_UDP_BIND), "{e}");
    }
}
