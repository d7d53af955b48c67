//! Reports: text for the terminal (tables per timestep, space-time diagrams, lineage trees,
//! search outcomes) and the versioned JSON schema.

pub mod dot;
pub mod html;
pub mod json;
pub mod lanes;
pub mod space;
pub mod text;

/// `n` followed by the word for one thing or for several: `1 execution`, `2 executions`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
