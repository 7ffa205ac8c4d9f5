//! gen compiles typed deployment profiles into a reproducible, content-hashed
//! tree of host configuration files, shows how it differs from a live host, and
//! applies it atomically with rollback.
//!
//! This crate is the command line only; the work is done by the crates it
//! wires together:
//! - `gen-target`: the manifest, the tree layout and the vocabulary both sides share;
//! - `gen-compile`: `load` → `validate` → `derive` → `render` → manifest → `output`;
//! - `gen-live`: `actual` → `plan` → `diff` / `apply` (+ `generation`, `activate`);
//! - `gen-check`: the real validators, run on a staged copy of a host's tree.

pub mod cli;
pub mod colour;
pub mod commands;
pub mod complete;
pub mod manual;
pub mod sandboxes;
