//! Reports: text for the terminal (tables per timestep, space-time diagrams, lineage trees,
//! search outcomes) and the versioned JSON schema.

pub mod dot;
pub mod html;
pub mod json;
pub mod lanes;
pub mod space;
pub mod text;
