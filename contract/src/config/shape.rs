//! The JSON shape of config.json, checked before typing it.
//!
//! serde's derived structs also accept a JSON array (fields by position), so `"user": []`
//! became uid 0 and a top-level `[]` became a config. Here every place where the
//! runtime-spec defines an object must hold an object (or null); and no string, anywhere,
//! may hold a NUL byte (it cannot reach the kernel, and would fail at exec without the
//! field's name).

use serde_json::Value;

/// What a JSON value must look like.
pub enum Shape {
    /// An object (or null); the listed members are checked further.
    Obj(&'static [(&'static str, Shape)]),
    /// If an array, each element is checked.
    List(&'static Shape),
    /// If an object with free keys, each value is checked.
    Map(&'static Shape),
    /// Anything (strings, numbers, arrays of strings...).
    Leaf,
}

use Shape::{Leaf, List, Map, Obj};

const OBJ: Shape = Obj(&[]);
const OBJS: Shape = List(&OBJ);

const PROCESS: Shape =
    Obj(&[("user", OBJ), ("capabilities", OBJ), ("consoleSize", OBJ), ("rlimits", OBJS), ("ioPriority", OBJ), ("scheduler", OBJ), ("execCPUAffinity", OBJ)]);

const HOOKS: Shape =
    Obj(&[("prestart", OBJS), ("createRuntime", OBJS), ("createContainer", OBJS), ("startContainer", OBJS), ("poststart", OBJS), ("poststop", OBJS)]);

const BLOCK_IO: Shape = Obj(&[
    ("weightDevice", OBJS),
    ("throttleReadBpsDevice", OBJS),
    ("throttleWriteBpsDevice", OBJS),
    ("throttleReadIOPSDevice", OBJS),
    ("throttleWriteIOPSDevice", OBJS),
]);

const RESOURCES: Shape = Obj(&[
    ("devices", OBJS),
    ("memory", OBJ),
    ("cpu", OBJ),
    ("pids", OBJ),
    ("blockIO", BLOCK_IO),
    ("hugepageLimits", OBJS),
    ("network", Obj(&[("priorities", OBJS)])),
    ("rdma", Map(&OBJ)),
    ("unified", OBJ),
]);

const SECCOMP: Shape = Obj(&[("syscalls", List(&Obj(&[("args", OBJS)])))]);

const LINUX: Shape = Obj(&[
    ("namespaces", OBJS),
    ("uidMappings", OBJS),
    ("gidMappings", OBJS),
    ("devices", OBJS),
    ("resources", RESOURCES),
    ("seccomp", SECCOMP),
    ("sysctl", OBJ),
    ("intelRdt", OBJ),
    ("personality", OBJ),
    ("timeOffsets", Map(&OBJ)),
    ("memoryPolicy", OBJ),
    ("netDevices", Map(&OBJ)),
]);

/// config.json as a whole.
pub const SPEC: Shape = Obj(&[
    ("process", PROCESS),
    ("root", OBJ),
    ("mounts", List(&Obj(&[("uidMappings", OBJS), ("gidMappings", OBJS)]))),
    ("hooks", HOOKS),
    ("linux", LINUX),
    ("annotations", OBJ),
    ("vm", OBJ),
]);

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks `v` against `shape`. On error `at` holds the field's path ("process.user").
pub fn check(v: &Value, shape: &Shape, at: &mut String) -> Result<(), String> {
    match (shape, v) {
        (Obj(_) | Map(_), Value::Null) => Ok(()),
        (Obj(members), Value::Object(map)) => {
            for (k, val) in map {
                let sub = members.iter().find(|(name, _)| name == k).map(|(_, s)| s).unwrap_or(&Leaf);
                let len = at.len();
                if !at.is_empty() {
                    at.push('.');
                }
                at.push_str(k);
                check_key(k)?;
                check(val, sub, at)?;
                at.truncate(len);
            }
            Ok(())
        }
        (Obj(_), other) => Err(format!("expected an object {{...}}, found {}: write it as an object", kind(other))),
        (Map(s), Value::Object(map)) => {
            for (k, val) in map {
                let len = at.len();
                at.push('.');
                at.push_str(k);
                check_key(k)?;
                check(val, s, at)?;
                at.truncate(len);
            }
            Ok(())
        }
        (List(s), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let len = at.len();
                at.push_str(&format!("[{i}]"));
                check(item, s, at)?;
                at.truncate(len);
            }
            Ok(())
        }
        (_, Value::String(s)) if s.contains('\0') => Err(format!("{s:?} contains a NUL byte: remove it")),
        (_, Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let len = at.len();
                at.push_str(&format!("[{i}]"));
                check(item, &Leaf, at)?;
                at.truncate(len);
            }
            Ok(())
        }
        // Free-form objects (annotations, sysctl, resources.unified...): only their strings.
        (_, Value::Object(_)) => check(v, &OBJ, at),
        _ => Ok(()),
    }
}

fn check_key(k: &str) -> Result<(), String> {
    if k.contains('\0') {
        return Err(format!("the key {k:?} contains a NUL byte: remove it"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> Option<(String, String)> {
        let v: Value = serde_json::from_str(json).unwrap();
        let mut at = String::new();
        check(&v, &SPEC, &mut at).err().map(|e| (at, e))
    }

    #[test]
    fn arrays_for_objects_are_refused() {
        assert_eq!(err("[]").unwrap().0, "");
        assert_eq!(err(r#"{"process":{"user":[]}}"#).unwrap().0, "process.user");
        assert_eq!(err(r#"{"linux":{"namespaces":[["pid"]]}}"#).unwrap().0, "linux.namespaces[0]");
        assert_eq!(err(r#"{"linux":{"resources":{"memory":[1]}}}"#).unwrap().0, "linux.resources.memory");
        assert_eq!(err(r#"{"hooks":{"poststop":[[]]}}"#).unwrap().0, "hooks.poststop[0]");
    }

    #[test]
    fn nul_bytes_name_the_field() {
        assert_eq!(err(r#"{"process":{"args":["sleep","1\u0000"]}}"#).unwrap().0, "process.args[1]");
        assert_eq!(err(r#"{"process":{"env":["A=\u0000"]}}"#).unwrap().0, "process.env[0]");
        assert_eq!(err(r#"{"hostname":"a\u0000b"}"#).unwrap().0, "hostname");
        assert_eq!(err(r#"{"mounts":[{"destination":"/x","options":["ro","\u0000"]}]}"#).unwrap().0, "mounts[0].options[1]");
        assert_eq!(err(r#"{"linux":{"sysctl":{"net.a\u0000":"1"}}}"#).unwrap().0, "linux.sysctl.net.a\0");
    }

    #[test]
    fn good_shapes_pass() {
        assert!(err(r#"{"process":{"user":{"uid":0},"args":["a"],"rlimits":[{"type":"RLIMIT_NOFILE"}]},"linux":{"resources":null,"sysctl":{}}}"#).is_none());
    }
}
