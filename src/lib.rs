//! gen compiles typed deployment profiles into a reproducible, content-hashed
//! tree of host configuration files, shows how it differs from a live host, and
//! applies it atomically with rollback.
//!
//! The pipeline, one module per stage, data flowing one way:
//! `load` → `validate` → `derive` → `render` → `manifest` → `output`.

pub mod catalog;
pub mod check;
pub mod cli;
pub mod commands;
pub mod compile;
pub mod derive;
pub mod error;
pub mod load;
pub mod manifest;
pub mod model;
pub mod output;
pub mod profile;
pub mod render;
pub mod source;
pub mod syntax;
pub mod units;
pub mod validate;
pub mod views;
