//! Config: `tailgate.yml`, parsed with serde and validated into domain types.

mod model;

pub use model::*;
