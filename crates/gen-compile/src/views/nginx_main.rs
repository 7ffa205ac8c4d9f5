//! View of nginx's main file: the worker limits derived from the host's
//! cores (`derive::nginx_main`).

use serde::Serialize;

use super::Scope;
use crate::derive::nginx_main::{self, Workers};

#[derive(Serialize)]
pub struct Conf<'a> {
    workers: Workers,
    project: &'a str,
}

pub fn conf<'a>(scope: &Scope<'a>) -> Conf<'a> {
    Conf {
        workers: nginx_main::workers(scope.host),
        project: &scope.d.project,
    }
}
