//! Structural checks of a config.json against the runtime-spec schema
//! (config-schema.json, config-linux.json, defs.json): required fields,
//! types, integer ranges and enumerations for everything spec-gen writes.
//! `check` returns every problem found, each naming its JSON path.

use serde_json::{Map, Value};

const NAMESPACES: &[&str] = &["mount", "pid", "network", "uts", "ipc", "user", "cgroup", "time"];
const SECCOMP_ACTIONS: &[&str] = &[
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];
const SECCOMP_OPS: &[&str] = &["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"];

struct Checker {
    problems: Vec<String>,
}

#[derive(Clone, Copy)]
enum Int {
    U32,
    U64,
    I64,
}

impl Checker {
    fn bad(&mut self, path: &str, what: impl AsRef<str>) {
        self.problems.push(format!("{path}: {}", what.as_ref()));
    }

    fn object<'a>(&mut self, v: &'a Value, path: &str) -> Option<&'a Map<String, Value>> {
        let o = v.as_object();
        if o.is_none() {
            self.bad(path, "must be an object");
        }
        o
    }

    fn array<'a>(&mut self, v: &'a Value, path: &str) -> Option<&'a Vec<Value>> {
        let a = v.as_array();
        if a.is_none() {
            self.bad(path, "must be an array");
        }
        a
    }

    fn field<'a>(&mut self, o: &'a Map<String, Value>, key: &str, path: &str, required: bool) -> Option<&'a Value> {
        let v = o.get(key);
        if v.is_none() && required {
            self.bad(path, format!("required field `{key}` is missing"));
        }
        v
    }

    fn string(&mut self, v: &Value, path: &str) -> Option<String> {
        let s = v.as_str().map(str::to_string);
        if s.is_none() {
            self.bad(path, "must be a string");
        }
        s
    }

    fn abs_path(&mut self, v: &Value, path: &str) {
        if let Some(s) = self.string(v, path) {
            if !s.starts_with('/') {
                self.bad(path, format!("`{s}` must be an absolute path"));
            }
        }
    }

    fn boolean(&mut self, v: &Value, path: &str) {
        if !v.is_boolean() {
            self.bad(path, "must be a boolean");
        }
    }

    fn int(&mut self, v: &Value, path: &str, kind: Int) {
        let ok = match kind {
            Int::U32 => v.as_u64().is_some_and(|n| n <= u64::from(u32::MAX)),
            Int::U64 => v.as_u64().is_some(),
            Int::I64 => v.as_i64().is_some(),
        };
        if !ok {
            let name = match kind {
                Int::U32 => "uint32",
                Int::U64 => "uint64",
                Int::I64 => "int64",
            };
            self.bad(path, format!("must be an {name}"));
        }
    }

    fn one_of(&mut self, v: &Value, path: &str, allowed: &[&str]) {
        if let Some(s) = self.string(v, path) {
            if !allowed.contains(&s.as_str()) {
                self.bad(path, format!("`{s}` is not one of {}", allowed.join(", ")));
            }
        }
    }

    fn strings(&mut self, v: &Value, path: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(a) = self.array(v, path) {
            for (i, x) in a.iter().enumerate() {
                if let Some(s) = self.string(x, &format!("{path}[{i}]")) {
                    out.push(s);
                }
            }
        }
        out
    }

    fn opt<F: FnOnce(&mut Self, &Value, &str)>(&mut self, o: &Map<String, Value>, key: &str, path: &str, f: F) {
        if let Some(v) = o.get(key) {
            f(self, v, &format!("{path}.{key}"));
        }
    }

    fn process(&mut self, v: &Value, path: &str) {
        let Some(o) = self.object(v, path) else {
            return;
        };
        if let Some(cwd) = self.field(o, "cwd", path, true) {
            self.abs_path(cwd, &format!("{path}.cwd"));
        }
        if let Some(args) = self.field(o, "args", path, true) {
            if self.strings(args, &format!("{path}.args")).is_empty() {
                self.bad(&format!("{path}.args"), "must name at least the program");
            }
        }
        self.opt(o, "terminal", path, Self::boolean);
        self.opt(o, "noNewPrivileges", path, Self::boolean);
        self.opt(o, "env", path, |c, v, p| {
            for (i, e) in c.strings(v, p).iter().enumerate() {
                if !e.contains('=') {
                    c.bad(&format!("{p}[{i}]"), format!("`{e}` is not KEY=VALUE"));
                }
            }
        });
        if let Some(u) = self.field(o, "user", path, true) {
            let up = format!("{path}.user");
            if let Some(uo) = self.object(u, &up) {
                for k in ["uid", "gid"] {
                    if let Some(x) = self.field(uo, k, &up, true) {
                        self.int(x, &format!("{up}.{k}"), Int::U32);
                    }
                }
                self.opt(uo, "umask", &up, |c, v, p| c.int(v, p, Int::U32));
                self.opt(uo, "additionalGids", &up, |c, v, p| {
                    if let Some(a) = c.array(v, p) {
                        for (i, x) in a.iter().enumerate() {
                            c.int(x, &format!("{p}[{i}]"), Int::U32);
                        }
                    }
                });
            }
        }
        self.opt(o, "capabilities", path, |c, v, p| {
            let Some(co) = c.object(v, p) else { return };
            for (k, set) in co {
                if !["bounding", "effective", "inheritable", "permitted", "ambient"].contains(&k.as_str()) {
                    c.bad(p, format!("unknown capability set `{k}`"));
                }
                for (i, cap) in c.strings(set, &format!("{p}.{k}")).iter().enumerate() {
                    let bare = cap.strip_prefix("CAP_").unwrap_or("");
                    if !crate::values::CAPABILITIES.contains(&bare) {
                        c.bad(&format!("{p}.{k}[{i}]"), format!("`{cap}` is not a capability"));
                    }
                }
            }
        });
        self.opt(o, "rlimits", path, |c, v, p| {
            let Some(a) = c.array(v, p) else { return };
            for (i, r) in a.iter().enumerate() {
                let rp = format!("{p}[{i}]");
                let Some(ro) = c.object(r, &rp) else { continue };
                if let Some(t) = c.field(ro, "type", &rp, true) {
                    if let Some(s) = c.string(t, &format!("{rp}.type")) {
                        if !s.starts_with("RLIMIT_") {
                            c.bad(&format!("{rp}.type"), format!("`{s}` is not an RLIMIT_ name"));
                        }
                    }
                }
                for k in ["soft", "hard"] {
                    if let Some(x) = c.field(ro, k, &rp, true) {
                        c.int(x, &format!("{rp}.{k}"), Int::U64);
                    }
                }
            }
        });
    }

    fn mounts(&mut self, v: &Value, path: &str) {
        let Some(a) = self.array(v, path) else { return };
        for (i, m) in a.iter().enumerate() {
            let mp = format!("{path}[{i}]");
            let Some(mo) = self.object(m, &mp) else {
                continue;
            };
            if let Some(d) = self.field(mo, "destination", &mp, true) {
                self.abs_path(d, &format!("{mp}.destination"));
            }
            self.opt(mo, "type", &mp, |c, v, p| {
                c.string(v, p);
            });
            self.opt(mo, "source", &mp, |c, v, p| {
                c.string(v, p);
            });
            self.opt(mo, "options", &mp, |c, v, p| {
                c.strings(v, p);
            });
        }
    }

    fn seccomp(&mut self, v: &Value, path: &str) {
        let Some(o) = self.object(v, path) else {
            return;
        };
        if let Some(d) = self.field(o, "defaultAction", path, true) {
            self.one_of(d, &format!("{path}.defaultAction"), SECCOMP_ACTIONS);
        }
        self.opt(o, "defaultErrnoRet", path, |c, v, p| c.int(v, p, Int::U32));
        self.opt(o, "architectures", path, |c, v, p| {
            for (i, a) in c.strings(v, p).iter().enumerate() {
                if !a.starts_with("SCMP_ARCH_") {
                    c.bad(&format!("{p}[{i}]"), format!("`{a}` is not an SCMP_ARCH_ name"));
                }
            }
        });
        self.opt(o, "flags", path, |c, v, p| {
            c.strings(v, p);
        });
        self.opt(o, "syscalls", path, |c, v, p| {
            let Some(a) = c.array(v, p) else { return };
            for (i, s) in a.iter().enumerate() {
                let sp = format!("{p}[{i}]");
                let Some(so) = c.object(s, &sp) else { continue };
                if let Some(n) = c.field(so, "names", &sp, true) {
                    if c.strings(n, &format!("{sp}.names")).is_empty() {
                        c.bad(&format!("{sp}.names"), "must name at least one syscall");
                    }
                }
                if let Some(x) = c.field(so, "action", &sp, true) {
                    c.one_of(x, &format!("{sp}.action"), SECCOMP_ACTIONS);
                }
                c.opt(so, "errnoRet", &sp, |c, v, p| c.int(v, p, Int::U32));
                c.opt(so, "args", &sp, |c, v, p| {
                    let Some(args) = c.array(v, p) else { return };
                    for (j, arg) in args.iter().enumerate() {
                        let ap = format!("{p}[{j}]");
                        let Some(ao) = c.object(arg, &ap) else {
                            continue;
                        };
                        if let Some(x) = c.field(ao, "index", &ap, true) {
                            c.int(x, &format!("{ap}.index"), Int::U32);
                        }
                        if let Some(x) = c.field(ao, "value", &ap, true) {
                            c.int(x, &format!("{ap}.value"), Int::U64);
                        }
                        c.opt(ao, "valueTwo", &ap, |c, v, p| c.int(v, p, Int::U64));
                        if let Some(x) = c.field(ao, "op", &ap, true) {
                            c.one_of(x, &format!("{ap}.op"), SECCOMP_OPS);
                        }
                    }
                });
            }
        });
    }

    fn resources(&mut self, v: &Value, path: &str) {
        let Some(o) = self.object(v, path) else {
            return;
        };
        self.opt(o, "devices", path, |c, v, p| {
            let Some(a) = c.array(v, p) else { return };
            for (i, r) in a.iter().enumerate() {
                let rp = format!("{p}[{i}]");
                let Some(ro) = c.object(r, &rp) else { continue };
                if let Some(x) = c.field(ro, "allow", &rp, true) {
                    c.boolean(x, &format!("{rp}.allow"));
                }
                c.opt(ro, "type", &rp, |c, v, p| c.one_of(v, p, &["a", "b", "c"]));
                c.opt(ro, "major", &rp, |c, v, p| c.int(v, p, Int::I64));
                c.opt(ro, "minor", &rp, |c, v, p| c.int(v, p, Int::I64));
                c.opt(ro, "access", &rp, |c, v, p| {
                    if let Some(s) = c.string(v, p) {
                        if s.is_empty() || !s.chars().all(|ch| "rwm".contains(ch)) {
                            c.bad(p, format!("`{s}` is not a combination of r, w and m"));
                        }
                    }
                });
            }
        });
        self.opt(o, "memory", path, |c, v, p| {
            if let Some(mo) = c.object(v, p) {
                c.opt(mo, "limit", p, |c, v, p| c.int(v, p, Int::I64));
            }
        });
        self.opt(o, "cpu", path, |c, v, p| {
            if let Some(co) = c.object(v, p) {
                c.opt(co, "quota", p, |c, v, p| c.int(v, p, Int::I64));
                c.opt(co, "period", p, |c, v, p| c.int(v, p, Int::U64));
            }
        });
        self.opt(o, "pids", path, |c, v, p| {
            if let Some(po) = c.object(v, p) {
                if let Some(l) = c.field(po, "limit", p, true) {
                    c.int(l, &format!("{p}.limit"), Int::I64);
                }
            }
        });
    }

    fn linux(&mut self, v: &Value, path: &str) {
        let Some(o) = self.object(v, path) else {
            return;
        };
        self.opt(o, "namespaces", path, |c, v, p| {
            let Some(a) = c.array(v, p) else { return };
            let mut seen = Vec::new();
            for (i, n) in a.iter().enumerate() {
                let np = format!("{p}[{i}]");
                let Some(no) = c.object(n, &np) else { continue };
                if let Some(t) = c.field(no, "type", &np, true) {
                    c.one_of(t, &format!("{np}.type"), NAMESPACES);
                    if seen.contains(t) {
                        c.bad(&np, "duplicate namespace type");
                    }
                    seen.push(t.clone());
                }
                c.opt(no, "path", &np, Self::abs_path);
            }
        });
        self.opt(o, "devices", path, |c, v, p| {
            let Some(a) = c.array(v, p) else { return };
            for (i, d) in a.iter().enumerate() {
                let dp = format!("{p}[{i}]");
                let Some(dobj) = c.object(d, &dp) else {
                    continue;
                };
                if let Some(x) = c.field(dobj, "path", &dp, true) {
                    c.abs_path(x, &format!("{dp}.path"));
                }
                let kind = dobj.get("type").and_then(Value::as_str).unwrap_or("");
                if let Some(x) = c.field(dobj, "type", &dp, true) {
                    c.one_of(x, &format!("{dp}.type"), &["c", "b", "u", "p"]);
                }
                for k in ["major", "minor"] {
                    if let Some(x) = c.field(dobj, k, &dp, kind != "p") {
                        c.int(x, &format!("{dp}.{k}"), Int::I64);
                    }
                }
                for k in ["fileMode", "uid", "gid"] {
                    c.opt(dobj, k, &dp, |c, v, p| c.int(v, p, Int::U32));
                }
            }
        });
        self.opt(o, "resources", path, Self::resources);
        self.opt(o, "cgroupsPath", path, |c, v, p| {
            c.string(v, p);
        });
        self.opt(o, "seccomp", path, Self::seccomp);
        for k in ["maskedPaths", "readonlyPaths"] {
            self.opt(o, k, path, |c, v, p| {
                if let Some(a) = c.array(v, p) {
                    for (i, x) in a.iter().enumerate() {
                        c.abs_path(x, &format!("{p}[{i}]"));
                    }
                }
            });
        }
    }

    fn config(&mut self, v: &Value) {
        let Some(o) = self.object(v, "$") else { return };
        if let Some(ver) = self.field(o, "ociVersion", "$", true) {
            if let Some(s) = self.string(ver, "$.ociVersion") {
                if s.split('.').take(3).filter(|p| !p.is_empty()).count() < 3 {
                    self.bad("$.ociVersion", format!("`{s}` is not a SemVer version"));
                }
            }
        }
        if let Some(root) = self.field(o, "root", "$", true) {
            if let Some(ro) = self.object(root, "$.root") {
                if let Some(p) = self.field(ro, "path", "$.root", true) {
                    self.string(p, "$.root.path");
                }
                self.opt(ro, "readonly", "$.root", Self::boolean);
            }
        }
        self.opt(o, "process", "$", Self::process);
        self.opt(o, "hostname", "$", |c, v, p| {
            c.string(v, p);
        });
        self.opt(o, "mounts", "$", Self::mounts);
        self.opt(o, "linux", "$", Self::linux);
        self.opt(o, "annotations", "$", |c, v, p| {
            if let Some(ao) = c.object(v, p) {
                for (k, x) in ao {
                    c.string(x, &format!("{p}.{k}"));
                }
            }
        });
    }
}

/// Every structural problem of a config.json value; empty when it is valid.
pub fn check(config: &Value) -> Vec<String> {
    let mut c = Checker { problems: Vec::new() };
    c.config(config);
    if c.problems.is_empty() {
        if let Err(e) = serde_json::from_value::<oci_spec::runtime::Spec>(config.clone()) {
            c.problems.push(format!("$: the oci-spec parser rejects it: {e}"));
        }
    }
    if c.problems.is_empty() {
        // The runtime's own verdict (the same code `create` runs): what it would refuse,
        // spec-gen must not write.
        let bytes = serde_json::to_vec(config).unwrap_or_default();
        if let Err(e) = crate::runtime_config::check_bytes(std::path::Path::new("config.json"), &bytes) {
            c.problems.push(format!("the runtime would refuse it: {e}"));
        }
    }
    c.problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_problems() {
        let v = json!({
            "ociVersion": "1.2",
            "root": {},
            "process": {"cwd": "rel", "args": [], "user": {"uid": -1, "gid": 0},
                        "capabilities": {"bounding": ["CAP_NOPE"]}},
            "mounts": [{"type": "tmpfs"}],
            "linux": {"namespaces": [{"type": "pid"}, {"type": "pid"}, {"type": "bogus"}],
                      "seccomp": {"defaultAction": "ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW"}]},
                      "resources": {"devices": [{"allow": true, "access": "rwx"}]}}
        });
        let p = check(&v);
        let joined = p.join("\n");
        for needle in [
            "$.ociVersion",
            "$.root: required field `path`",
            "$.process.cwd",
            "$.process.args",
            "$.process.user.uid",
            "CAP_NOPE",
            "$.mounts[0]: required field `destination`",
            "duplicate namespace",
            "`bogus`",
            "$.linux.seccomp.defaultAction",
            "$.linux.seccomp.syscalls[0].names",
            "rwx",
        ] {
            assert!(joined.contains(needle), "missing {needle} in\n{joined}");
        }
    }

    #[test]
    fn accepts_minimal() {
        let v = json!({"ociVersion": "1.2.0", "root": {"path": "rootfs"},
                       "process": {"cwd": "/", "args": ["sh"], "user": {"uid": 0, "gid": 0}}});
        assert_eq!(check(&v), Vec::<String>::new());
    }
}
