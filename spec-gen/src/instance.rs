//! Instances (`name@instance`): the `{instance}` placeholder and the
//! `[instances.NAME]` override tables.
//!
//! The placeholder is replaced in the description, command, args, workdir,
//! environment values, env file paths, bind sources and targets, writable
//! paths, tmpfs paths, Landlock paths and the units in `lifecycle.after` and
//! `lifecycle.requires`. Ports are numbers, so they change
//! per instance through the override table instead.

use crate::description::Description;

pub const PLACEHOLDER: &str = "{instance}";

/// Instance names: what systemd accepts and what keeps ids and paths simple.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.') && !s.starts_with('.')
}

/// Replaces the placeholder everywhere it is allowed.
pub fn substitute(desc: &mut Description, instance: &str) {
    let sub = |s: &mut String| {
        if s.contains(PLACEHOLDER) {
            *s = s.replace(PLACEHOLDER, instance);
        }
    };
    sub(&mut desc.description);
    let p = &mut desc.process;
    sub(p.command.get_mut());
    p.args.iter_mut().for_each(sub);
    sub(p.workdir.get_mut());
    p.env.values_mut().for_each(sub);
    p.env_files.iter_mut().for_each(|s| sub(s.get_mut()));
    for b in &mut desc.binds {
        sub(b.source.get_mut());
        sub(b.target.get_mut());
    }
    desc.filesystem.writable.iter_mut().for_each(|s| sub(s.get_mut()));
    desc.filesystem.tmpfs.iter_mut().for_each(|t| sub(t.path.get_mut()));
    let lc = &mut desc.lifecycle;
    lc.after.iter_mut().chain(lc.requires.iter_mut()).for_each(sub);
    let l = &mut desc.security.landlock;
    for list in [&mut l.read, &mut l.write] {
        list.iter_mut().for_each(|s| sub(s.get_mut()));
    }
    if let Some(exec) = &mut l.exec {
        exec.iter_mut().for_each(|s| sub(s.get_mut()));
    }
}

/// Applies `[instances.NAME]`, if there is one.
pub fn apply_override(desc: &mut Description, instance: &str) {
    let Some(ov) = desc.instances.remove(instance) else {
        return;
    };
    let ov = ov.into_inner();
    if let Some(d) = ov.description {
        desc.description = d;
    }
    if let Some(args) = ov.args {
        desc.process.args = args;
    }
    desc.process.env.extend(ov.env);
    if let Some(p) = ov.tcp_bind {
        desc.network.tcp_bind = p;
    }
    if let Some(p) = ov.tcp_connect {
        desc.network.tcp_connect = p;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("a"));
        assert!(valid_name("eu-1.b_2"));
        assert!(!valid_name(""));
        assert!(!valid_name("a/b"));
        assert!(!valid_name("a@b"));
        assert!(!valid_name(".x"));
    }
}
