//! View of the pull-mode rollout files: the script, its service and timer.

use serde::Serialize;

use super::Scope;
use crate::model::{HostSpec, RolloutSpec};

#[derive(Serialize)]
pub struct Pull<'a> {
    project: &'a str,
    profile: &'a str,
    host: &'a HostSpec,
    rollout: &'a RolloutSpec,
}

pub fn pull<'a>(scope: &Scope<'a>) -> Option<Pull<'a>> {
    Some(Pull {
        project: &scope.d.project,
        profile: &scope.d.profile,
        host: scope.host,
        rollout: scope.d.rollout.as_ref()?,
    })
}
