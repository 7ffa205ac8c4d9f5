//! Views of the exporter units gen writes in place of Debian's, and of the
//! program that gives redis_exporter its password map
//! (`derive::exporter_units` says why each).

use serde::Serialize;

use super::Scope;
use crate::derive::exporter_units::{self, ExporterUnit, REDIS_CREDENTIAL};

#[derive(Serialize)]
pub struct Unit<'a> {
    unit: ExporterUnit,
    /// Its `/etc/default` file.
    exporter_path: String,
    project: &'a str,
}

pub fn unit<'a>(scope: &Scope<'a>) -> Option<Unit<'a>> {
    let name = scope.spec.service.as_deref()?;
    let unit = exporter_units::units(scope.d, scope.host)
        .into_iter()
        .find(|u| u.exporter.name == name)?;
    Some(Unit {
        exporter_path: unit.exporter.path(),
        unit,
        project: &scope.d.project,
    })
}

#[derive(Serialize)]
pub struct RedisAuth<'a> {
    password_file: &'a str,
    credential: &'static str,
}

pub fn redis_auth<'a>(scope: &Scope<'a>) -> Option<RedisAuth<'a>> {
    let password_file = scope.d.redis.as_ref()?.password_file.as_deref()?;
    Some(RedisAuth {
        password_file,
        credential: REDIS_CREDENTIAL,
    })
}
