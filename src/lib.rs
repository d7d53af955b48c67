//! ldfi: lineage-driven fault injection for distributed protocol specs.
//!
//! The pipeline, one module per stage (data flows one way):
//! `syntax` → `analysis` → `eval` → `lineage` → `search` → `report`; `cli` is the clap
//! front end and holds no logic. `traces` is the trace-driven mode (`ldfi traces`): its
//! lineage comes from recorded request traces instead of a spec, and it shares only the
//! SAT backend with `search`.

pub mod analysis;
pub mod app;
pub mod cli;
pub mod config;
pub mod diag;
pub mod eval;
pub mod faults;
pub mod lineage;
pub mod report;
pub mod search;
pub mod syntax;
pub mod testrunner;
pub mod traces;
