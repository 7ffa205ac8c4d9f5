//! The compile side of gen: profile sources to a target tree, one module per
//! stage, data flowing one way:
//! `load` → `validate` (+ `lints`) → `derive` → `render` (with `views` and the `catalog`
//! of artifact kinds) → manifest (`compile`) → `output`.
//! `explain`, `graph`, `schema` and `ansible` read the same checked model.
//! What a value may look like is in `shapes`, `schedule` and `credential`;
//! how it is quoted for each file format, in `escape`.

pub mod ansible;
pub mod artifact_kind;
pub mod calendar;
pub mod catalog;
pub mod compile;
pub mod credential;
pub mod derive;
pub mod escape;
pub mod explain;
pub mod graph;
pub mod job_model;
pub mod lints;
pub mod load;
pub mod model;
pub mod model_alerting;
pub mod output;
pub mod profile;
pub mod profile_alerting;
pub mod profile_error;
pub mod profile_jobs;
pub mod profile_roles;
pub mod render;
pub mod schedule;
pub mod schema;
pub mod shapes;
pub mod source;
pub mod units;
pub mod validate;
pub mod views;
