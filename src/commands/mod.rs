//! One module per CLI command: each wires pipeline stages together and prints.

pub mod activate;
pub mod ansible;
pub mod apply;
pub mod build;
pub mod check;
pub mod diff;
pub mod explain;
pub mod fmt;
pub mod graph;
pub mod init;
pub mod install_validators;
pub mod lints;
pub mod live;
pub mod plan;
pub mod rollback;
