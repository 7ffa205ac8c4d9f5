//! Validate stage, the data tier's roles and databases: `postgres.roles`,
//! `postgres.databases` and `postgres.extension_packages`, or the older
//! shorthands `postgres.database`, `users`, `extensions` and
//! `replication_user`, expanded here into the same model. One thing spelt
//! both ways is refused at the shorthand, so the profile says it once.

use std::collections::BTreeMap;

use super::Checker;
use crate::derive::extensions::{package_for, ExtensionPackage};
use crate::model::{DatabaseSpec, RoleSpec};
use crate::profile::{GrantLevel, Postgres};
use crate::source::push_key;
use gen_target::host_path::shown;

/// The roles and databases of the data tier, checked.
pub(super) struct DataModel {
    pub roles: BTreeMap<String, RoleSpec>,
    pub databases: BTreeMap<String, DatabaseSpec>,
    pub extension_packages: BTreeMap<String, String>,
    /// The application database: `postgres.database`, or the first of
    /// `postgres.databases` by name.
    pub database: String,
    /// The roles that are not the replication role, sorted.
    pub users: Vec<String>,
    pub replication_user: String,
}

/// A predefined role (`pg_read_all_stats`, `pg_monitor`, …) a role may be a member of.
fn is_predefined_role(name: &str) -> bool {
    name.starts_with("pg_")
}

/// A Debian package name: lowercase letters, digits and `+-.`, starting with a letter or digit.
fn is_debian_package(name: &str) -> bool {
    name.len() >= 2
        && name.len() <= 100
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
}

impl Checker<'_> {
    /// Reads the roles and databases (either spelling) into one model.
    /// `replicas` says whether any host streams from the primary: then
    /// exactly one role replicates.
    pub(super) fn data_model(&mut self, pg: &Postgres, replicas: bool) -> DataModel {
        let mut roles = self.declared_roles(pg);
        self.shorthand_users(pg, &mut roles);
        let replication_user = self.replication_role(pg, &mut roles, replicas);
        let users: Vec<String> = roles
            .iter()
            .filter(|(_, r)| !r.replication)
            .map(|(name, _)| name.clone())
            .collect();
        if users.is_empty() {
            self.fail(
                "postgres",
                "`[postgres]` declares no role to log in as",
                "declare one under `[postgres.roles.<name>]` (or list it in `postgres.users`)",
            );
        }
        self.memberships(&roles);
        let extension_packages = self.extension_packages(pg);
        let databases = self.databases(pg, &roles, &users);
        for (name, db) in &databases {
            self.extension_package_known(pg, name, db, &extension_packages);
        }
        let database = databases.keys().next().cloned().unwrap_or_default();
        let database = pg.database.clone().unwrap_or(database);
        DataModel {
            roles,
            databases,
            extension_packages,
            database,
            users,
            replication_user,
        }
    }

    fn declared_roles(&mut self, pg: &Postgres) -> BTreeMap<String, RoleSpec> {
        let mut out = BTreeMap::new();
        for (name, decl) in pg.roles.iter().flatten() {
            let key = push_key("postgres.roles", name);
            self.sql_name(&key, name, "role");
            self.check(
                !is_predefined_role(name),
                &key,
                || format!("`{key}`: role names starting with `pg_` are reserved by PostgreSQL"),
                "name the role after the application; a predefined role goes in `member_of`",
            );
            if let Some(file) = &decl.password_file {
                self.secret_path(&format!("{key}.password_file"), file);
            }
            if decl.connection_limit == Some(0) {
                self.fail(
                    &format!("{key}.connection_limit"),
                    format!("`{key}.connection_limit` is 0: the role could never log in"),
                    "leave it out for no limit, or give the connections the role needs",
                );
            }
            out.insert(
                name.clone(),
                RoleSpec {
                    password_file: decl.password_file.clone(),
                    connection_limit: decl.connection_limit,
                    member_of: decl.member_of.clone().unwrap_or_default(),
                    replication: decl.replication.unwrap_or(false),
                },
            );
        }
        out
    }

    /// `postgres.users`: login roles without a password file (as before:
    /// their passwords are set outside gen).
    fn shorthand_users(&mut self, pg: &Postgres, roles: &mut BTreeMap<String, RoleSpec>) {
        let Some(users) = &pg.users else { return };
        if pg.roles.is_some() {
            self.fail(
                "postgres.users",
                "`postgres.users` and `postgres.roles` both declare roles",
                "move each user into `[postgres.roles.<name>]` and remove `postgres.users`",
            );
            return;
        }
        if users.is_empty() {
            self.fail(
                "postgres.users",
                "`postgres.users` lists no role",
                "list the roles the services log in as",
            );
        }
        for (i, user) in users.iter().enumerate() {
            self.sql_name(&format!("postgres.users[{i}]"), user, "role");
            roles.entry(user.clone()).or_default();
        }
    }

    /// The one role replicas stream as: declared with `replication = true`,
    /// or `postgres.replication_user` (default `replicator`, as before the
    /// roles table; without a password file its password is set outside gen).
    fn replication_role(
        &mut self,
        pg: &Postgres,
        roles: &mut BTreeMap<String, RoleSpec>,
        replicas: bool,
    ) -> String {
        let replicating: Vec<String> = roles
            .iter()
            .filter(|(_, r)| r.replication)
            .map(|(name, _)| name.clone())
            .collect();
        if let Some(second) = replicating.get(1) {
            let key = format!("{}.replication", push_key("postgres.roles", second));
            self.fail(
                &key,
                format!(
                    "`{key}`: `{}` and `{second}` both replicate",
                    replicating[0]
                ),
                "replicas stream as one role: keep `replication = true` on one of them",
            );
        }
        if let Some(first) = replicating.first() {
            if pg.replication_user.is_some() {
                self.fail(
                    "postgres.replication_user",
                    format!("`postgres.replication_user` and `postgres.roles.{first}.replication` both name the replication role"),
                    "remove `postgres.replication_user`",
                );
            }
            return first.clone();
        }
        let name = pg
            .replication_user
            .clone()
            .unwrap_or_else(|| "replicator".into());
        self.sql_name("postgres.replication_user", &name, "role");
        if roles.contains_key(&name) {
            if pg.replication_user.is_some() || replicas {
                let key = push_key("postgres.roles", &name);
                self.fail(
                    "postgres.replication_user",
                    format!("`postgres.replication_user`: `{name}` is also an application role (`{key}`)"),
                    "replicas stream as a role of their own: name another one",
                );
            }
            return name;
        }
        if pg.roles.is_some() && replicas && pg.replication_user.is_none() {
            self.fail(
                "postgres.roles",
                "replicas stream from the primary but no role in `postgres.roles` has `replication = true`",
                "declare one, e.g. `[postgres.roles.replicator]` with `replication = true` and its `password_file`",
            );
        }
        if replicas || pg.replication_user.is_some() {
            roles.insert(
                name.clone(),
                RoleSpec {
                    replication: true,
                    ..RoleSpec::default()
                },
            );
        }
        name
    }

    /// `member_of` names declared or predefined roles, never the role itself.
    fn memberships(&mut self, roles: &BTreeMap<String, RoleSpec>) {
        for (name, role) in roles {
            for (i, parent) in role.member_of.iter().enumerate() {
                let key = format!("{}.member_of[{i}]", push_key("postgres.roles", name));
                if parent == name {
                    self.fail(
                        &key,
                        format!("`{key}`: `{name}` cannot be a member of itself"),
                        "remove it",
                    );
                } else if !roles.contains_key(parent) && !is_predefined_role(parent) {
                    self.fail(
                        &key,
                        format!("`{key}`: role `{}` is not declared", shown(parent)),
                        "declare it under `[postgres.roles.<name>]`, or name a predefined role such as `pg_read_all_stats`",
                    );
                }
            }
        }
    }

    fn extension_packages(&mut self, pg: &Postgres) -> BTreeMap<String, String> {
        let declared = pg.extension_packages.clone().unwrap_or_default();
        for (ext, package) in &declared {
            let key = push_key("postgres.extension_packages", ext);
            self.extension_name(&key, ext);
            self.check(
                is_debian_package(package),
                &key,
                || format!("`{key}`: `{}` is not a Debian package name", shown(package)),
                "for example `postgresql-16-pg-hashids`",
            );
        }
        declared
    }

    fn extension_name(&mut self, key: &str, ext: &str) {
        self.check(
            super::postgres::is_extension_name(ext),
            key,
            || format!("`{key}`: `{}` is not an extension name", shown(ext)),
            "for example `pg_stat_statements`, `uuid-ossp`, `vector`",
        );
    }

    fn databases(
        &mut self,
        pg: &Postgres,
        roles: &BTreeMap<String, RoleSpec>,
        users: &[String],
    ) -> BTreeMap<String, DatabaseSpec> {
        let mut out = BTreeMap::new();
        if let Some(name) = &pg.database {
            if pg.databases.is_some() {
                self.fail(
                    "postgres.database",
                    "`postgres.database` and `postgres.databases` both declare databases",
                    "move it into `[postgres.databases.<name>]` and remove `postgres.database`",
                );
            }
            self.sql_name("postgres.database", name, "database");
            let extensions = pg.extensions.clone().unwrap_or_default();
            for (i, ext) in extensions.iter().enumerate() {
                self.extension_name(&format!("postgres.extensions[{i}]"), ext);
            }
            // The shorthand's roles are the application's: the first owns
            // the database, the others read and write in it.
            let owner = users.first().cloned().unwrap_or_default();
            let grants = users
                .iter()
                .skip(1)
                .map(|u| (u.clone(), GrantLevel::Write))
                .collect();
            out.insert(
                name.clone(),
                DatabaseSpec {
                    owner,
                    extensions,
                    grants,
                },
            );
        } else if pg.extensions.is_some() {
            self.fail(
                "postgres.extensions",
                "`postgres.extensions` belongs to `postgres.database`, which this profile does not use",
                "list the extensions under `[postgres.databases.<name>] extensions`",
            );
        }
        if pg.database.is_some() {
            return out;
        }
        let Some(declared) = &pg.databases else {
            self.fail(
                "postgres",
                "`[postgres]` declares no database",
                "declare one under `[postgres.databases.<name>]` with its `owner`",
            );
            return out;
        };
        if declared.is_empty() {
            self.fail(
                "postgres.databases",
                "`postgres.databases` is empty",
                "declare the application's database with its `owner`",
            );
        }
        for (name, decl) in declared {
            let key = push_key("postgres.databases", name);
            self.sql_name(&key, name, "database");
            let owner = match &decl.owner {
                Some(owner) => {
                    if roles.get(owner).is_none_or(|r| r.replication) {
                        self.fail(
                            &format!("{key}.owner"),
                            format!("`{key}.owner`: role `{}` is not declared", shown(owner)),
                            "name one of `postgres.roles` (not the replication role)",
                        );
                    }
                    owner.clone()
                }
                None if users.len() == 1 => users[0].clone(),
                None => {
                    self.fail(
                        &key,
                        format!(
                            "`{key}` has no `owner` and {} roles could own it",
                            users.len()
                        ),
                        "set `owner` to the role the application's schema belongs to",
                    );
                    String::new()
                }
            };
            let extensions = decl.extensions.clone().unwrap_or_default();
            for (i, ext) in extensions.iter().enumerate() {
                self.extension_name(&format!("{key}.extensions[{i}]"), ext);
            }
            let grants = decl.grants.clone().unwrap_or_default();
            for role in grants.keys() {
                let grant_key = format!("{key}.grants.{role}");
                if roles.get(role).is_none_or(|r| r.replication) {
                    self.fail(
                        &push_key(&format!("{key}.grants"), role),
                        format!("`{grant_key}`: role `{}` is not declared", shown(role)),
                        "grant to one of `postgres.roles` (not the replication role)",
                    );
                } else if *role == owner {
                    self.fail(
                        &push_key(&format!("{key}.grants"), role),
                        format!("`{grant_key}`: `{role}` owns `{name}` already"),
                        "an owner has every privilege: remove the grant",
                    );
                }
            }
            out.insert(
                name.clone(),
                DatabaseSpec {
                    owner,
                    extensions,
                    grants,
                },
            );
        }
        out
    }

    /// Every extension has a package gen knows, or the profile names one.
    fn extension_package_known(
        &mut self,
        pg: &Postgres,
        database: &str,
        db: &DatabaseSpec,
        declared: &BTreeMap<String, String>,
    ) {
        for (i, ext) in db.extensions.iter().enumerate() {
            if package_for(ext, pg.version, declared) != ExtensionPackage::Unknown {
                continue;
            }
            let key = if pg.database.is_some() {
                format!("postgres.extensions[{i}]")
            } else {
                format!(
                    "{}.extensions[{i}]",
                    push_key("postgres.databases", database)
                )
            };
            self.fail(
                &key,
                format!("`{key}`: unknown-extension-package: gen does not know which Debian package provides extension `{}`", shown(ext)),
                "name it under `[postgres.extension_packages]`, e.g. `pg_hashids = \"postgresql-16-pg-hashids\"`",
            );
        }
    }
}
