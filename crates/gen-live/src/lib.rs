//! The live side of gen: what happens on the target host. `actual` scans the
//! live root, `plan` compares it with a host's manifest, `live_diff` (against
//! the host) and `tree_diff` (against an older tree, for review) make diffs
//! that `diff` prints (`review`: the whole tree as one pull-request comment), `apply` writes the plan atomically and records a `generation` for rollback,
//! `activate` asks systemd for what the changes need, `health` runs the
//! tree's health gate after it. `root_dir` is the one
//! module that touches the live disk, through directory handles only.
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
pub mod firewall_guard;
pub mod generation;
pub mod health;
pub mod live_diff;
pub mod packages;
pub mod plan;
pub mod review;
pub mod root_dir;
pub mod tree_diff;
