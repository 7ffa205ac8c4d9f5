//! One module per CLI command: each wires pipeline stages together and prints.

pub mod build;
pub mod check;
