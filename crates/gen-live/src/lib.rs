//! The live side of gen: what happens on the target host. `actual` scans the
//! live root, `plan` compares it with a host's manifest, `diff` shows it,
//! `apply` writes it atomically and records a `generation` for rollback,
//! `activate` asks systemd for what the changes need.
//!
//! This crate depends on the target layer only: it reads `generated/` and
//! its manifests and cannot render a template or read a profile, so a
//! server applies exactly what was reviewed.

pub mod accounts;
pub mod activate;
pub mod actual;
pub mod apply;
pub mod atomic;
pub mod diff;
pub mod fault;
pub mod generation;
pub mod plan;
