//! Config: `tailgate.yml`, parsed with serde and validated into domain types.

mod model;
pub mod units;

pub use model::*;
