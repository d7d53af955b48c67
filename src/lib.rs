//! ldfi: lineage-driven fault injection for distributed protocol specs.
//!
//! The pipeline, one module per stage (data flows one way):
//! `syntax` → `analysis` → `eval` → `lineage` → `search` → `report`; `cli` is the clap
//! front end and holds no logic.

pub mod analysis;
pub mod app;
pub mod cli;
pub mod config;
pub mod diag;
pub mod eval;
pub mod faults;
pub mod report;
pub mod search;
pub mod syntax;
pub mod testrunner;
pub mod traces;
