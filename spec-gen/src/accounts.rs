//! Users and groups from the rootfs's own /etc/passwd and /etc/group.

use crate::rootpath::View;
use crate::values::IdSpec;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("user `{0}` is not in the rootfs's /etc/passwd")]
    UnknownUser(String),
    #[error("group `{0}` is not in the rootfs's /etc/group")]
    UnknownGroup(String),
    #[error("uid {0} is not in the rootfs's /etc/passwd, so its primary group is unknown")]
    NoPrimaryGroup(u32),
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
}

impl AccountError {
    /// How to fix it.
    pub fn fix(&self) -> String {
        match self {
            AccountError::UnknownUser(n) => format!("add `{n}` to the rootfs's etc/passwd (rootfs_build.users does it for built rootfs) or give a numeric uid"),
            AccountError::UnknownGroup(n) => format!("add `{n}` to the rootfs's etc/group or give a numeric gid"),
            AccountError::NoPrimaryGroup(_) => "add `group = N` to [process]".into(),
            AccountError::Read { .. } => "check the rootfs's etc directory".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
}

#[derive(Debug, Default)]
pub struct Accounts {
    pub users: Vec<Account>,
    pub groups: Vec<Group>,
}

/// The identity the process runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub user_name: Option<String>,
    pub home: Option<String>,
}

fn read_in(view: &View, cpath: &str) -> Result<String, AccountError> {
    match view.host_file(cpath) {
        None => Ok(String::new()),
        Some(h) => std::fs::read_to_string(&h).map_err(|e| AccountError::Read { path: h.display().to_string(), source: e }),
    }
}

pub fn parse_passwd(text: &str) -> Vec<Account> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(Account { name: f[0].to_string(), uid: f[2].parse().ok()?, gid: f[3].parse().ok()?, home: f[5].to_string() })
        })
        .collect()
}

pub fn parse_group(text: &str) -> Vec<Group> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 3 {
                return None;
            }
            Some(Group { name: f[0].to_string(), gid: f[2].parse().ok()? })
        })
        .collect()
}

impl Accounts {
    pub fn read(view: &View) -> Result<Accounts, AccountError> {
        let mut a = Accounts { users: parse_passwd(&read_in(view, "/etc/passwd")?), groups: parse_group(&read_in(view, "/etc/group")?) };
        // No account files at all (`explain` before the rootfs is built): root is uid 0 and
        // group 0 on every system, so a description that names it can still be explained.
        if a.users.is_empty() && a.groups.is_empty() {
            a.users.push(Account { name: "root".into(), uid: 0, gid: 0, home: "/root".into() });
            a.groups.push(Group { name: "root".into(), gid: 0 });
        }
        Ok(a)
    }

    pub fn user_by_uid(&self, uid: u32) -> Option<&Account> {
        self.users.iter().find(|u| u.uid == uid)
    }

    fn gid(&self, g: &IdSpec) -> Result<u32, AccountError> {
        match g {
            IdSpec::Id(i) => Ok(*i),
            IdSpec::Name(n) => self.groups.iter().find(|x| &x.name == n).map(|x| x.gid).ok_or_else(|| AccountError::UnknownGroup(n.clone())),
        }
    }

    pub fn resolve(&self, user: &IdSpec, group: Option<&IdSpec>, extra: &[&IdSpec]) -> Result<Identity, AccountError> {
        let account = match user {
            IdSpec::Name(n) => Some(self.users.iter().find(|u| &u.name == n).ok_or_else(|| AccountError::UnknownUser(n.clone()))?),
            IdSpec::Id(i) => self.user_by_uid(*i),
        };
        let uid = match user {
            IdSpec::Id(i) => *i,
            IdSpec::Name(_) => account.map(|a| a.uid).unwrap_or_default(),
        };
        let gid = match group {
            Some(g) => self.gid(g)?,
            None => account.map(|a| a.gid).ok_or(AccountError::NoPrimaryGroup(uid))?,
        };
        let mut additional_gids = Vec::new();
        for g in extra {
            let id = self.gid(g)?;
            if !additional_gids.contains(&id) {
                additional_gids.push(id);
            }
        }
        Ok(Identity {
            uid,
            gid,
            additional_gids,
            user_name: account.map(|a| a.name.clone()),
            home: account.map(|a| a.home.clone()).filter(|h| h.starts_with('/')),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Accounts {
        Accounts {
            users: parse_passwd("root:x:0:0:root:/root:/bin/sh\nwww:x:33:34:www:/var/www:/bin/false\nbad line\n"),
            groups: parse_group("root:x:0:\nwww:x:34:\nlog:x:4:www\n"),
        }
    }

    #[test]
    fn by_name_and_number() {
        let d = db();
        let id = d.resolve(&IdSpec::Name("www".into()), None, &[&IdSpec::Name("log".into())]).unwrap();
        assert_eq!((id.uid, id.gid, id.additional_gids.clone()), (33, 34, vec![4]));
        assert_eq!(id.home.as_deref(), Some("/var/www"));
        let id = d.resolve(&IdSpec::Id(1234), Some(&IdSpec::Id(99)), &[]).unwrap();
        assert_eq!((id.uid, id.gid), (1234, 99));
        assert!(matches!(d.resolve(&IdSpec::Id(1234), None, &[]), Err(AccountError::NoPrimaryGroup(1234))));
        assert!(matches!(d.resolve(&IdSpec::Name("nobody".into()), None, &[]), Err(AccountError::UnknownUser(_))));
        assert!(matches!(d.resolve(&IdSpec::Name("www".into()), Some(&IdSpec::Name("staff".into())), &[]), Err(AccountError::UnknownGroup(_))));
    }
}
