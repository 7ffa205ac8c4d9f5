//! Live-host support: user and group names ↔ numeric ids, read from the real
//! system's `/etc/passwd` and `/etc/group`. `gen apply` runs on the target host,
//! so the host's own account database decides what `postgres` means, even when
//! `--root` points elsewhere (tests, chroots being prepared). A tiny parser is
//! enough: both files are `name:x:id:…` lines, and it keeps gen free of `unsafe`
//! and of libc's NSS (which a static binary cannot load anyway).

use std::collections::BTreeMap;

use camino::Utf8Path;

use gen_target::error::{Error, Result};

pub const PASSWD: &str = "/etc/passwd";
pub const GROUP: &str = "/etc/group";

/// The names and ids of one system's users and groups.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    users: BTreeMap<String, u32>,
    groups: BTreeMap<String, u32>,
}

impl Accounts {
    /// The accounts of the machine gen runs on.
    pub fn system() -> Result<Accounts> {
        Accounts::from_files(Utf8Path::new(PASSWD), Utf8Path::new(GROUP))
    }

    pub fn from_files(passwd: &Utf8Path, group: &Utf8Path) -> Result<Accounts> {
        let read =
            |path: &Utf8Path| std::fs::read_to_string(path).map_err(|e| Error::read(path, e));
        Ok(Accounts {
            users: parse(&read(passwd)?),
            groups: parse(&read(group)?),
        })
    }

    pub fn uid(&self, name: &str) -> Option<u32> {
        self.users.get(name).copied()
    }

    pub fn gid(&self, name: &str) -> Option<u32> {
        self.groups.get(name).copied()
    }

    /// The user name of `uid`, or the number itself when no user has it.
    pub fn user_name(&self, uid: u32) -> String {
        name_of(&self.users, uid)
    }

    pub fn group_name(&self, gid: u32) -> String {
        name_of(&self.groups, gid)
    }
}

/// `name:password:id:…` lines; comments, blank and malformed lines are skipped.
/// The first line naming an id or a name wins, as with `getpwnam`.
fn parse(text: &str) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut fields = line.split(':');
        let (Some(name), Some(_), Some(id)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if let Ok(id) = id.parse::<u32>() {
            if !name.is_empty() {
                out.entry(name.to_string()).or_insert(id);
            }
        }
    }
    out
}

fn name_of(map: &BTreeMap<String, u32>, id: u32) -> String {
    map.iter()
        .find(|(_, v)| **v == id)
        .map(|(k, _)| k.clone())
        .unwrap_or_else(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_passwd_lines() {
        let map = parse("root:x:0:0:root:/root:/bin/bash\n# c\n\nbroken\npostgres:x:101:104::/:/bin/sh\nroot:x:5:5::/:\n");
        assert_eq!(map.get("root"), Some(&0));
        assert_eq!(map.get("postgres"), Some(&101));
        assert_eq!(map.len(), 2);
        assert_eq!(name_of(&map, 101), "postgres");
        assert_eq!(name_of(&map, 4242), "4242");
    }
}
