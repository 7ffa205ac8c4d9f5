//! The target layer of gen: what the compile side produces and the live side
//! consumes, and nothing else. The manifest format, the generated tree's
//! layout, the activation and validator vocabulary and the one error type.
//!
//! Both sides stand on this crate and never on each other: the live side
//! (scan, plan, diff, apply, rollback) and the validators link no template
//! engine and no profile model, so a server applies what was reviewed and
//! cannot re-render it.

pub mod activation;
pub mod error;
pub mod error_code;
pub mod exposure;
pub mod host_path;
pub mod layout;
pub mod manifest;
pub mod parallel;
pub mod progress;
pub mod validator;

pub use activation::Activation;
pub use exposure::Exposure;
pub use validator::Validator;
