//! gen compiles typed deployment profiles into a reproducible, content-hashed
//! tree of host configuration files, shows how it differs from a live host, and
//! applies it atomically with rollback.
//!
//! The pipeline, one module per stage, data flowing one way:
//! `load` → `validate` → `derive` → `render` → `manifest` → `output`, then on
//! the live host `actual` → `plan` → `diff` / `apply` (+ `generation`, `activate`).

pub mod accounts;
pub mod activate;
pub mod actual;
pub mod ansible;
pub mod apply;
pub mod atomic;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod commands;
pub mod compile;
pub mod derive;
pub mod diff;
pub mod error;
pub mod explain;
pub mod fault;
pub mod generation;
pub mod graph;
pub mod load;
pub mod manifest;
pub mod model;
pub mod output;
pub mod parallel;
pub mod plan;
pub mod profile;
pub mod progress;
pub mod render;
pub mod schema;
pub mod source;
pub mod syntax;
pub mod units;
pub mod validate;
pub mod views;
