mod ansible;
mod build_check;
mod build_errors;
mod bundled;
mod fixtures;
mod reproducible;
mod review;
pub mod support;
mod tooling;
