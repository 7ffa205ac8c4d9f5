mod build_check;
mod build_errors;
mod bundled;
mod fixtures;
mod fuzz;
mod regressions;
mod reproducible;
pub mod support;
mod tooling;
