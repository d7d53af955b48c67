//! ldfi: lineage-driven fault injection for distributed protocol specs.
//!
//! The pipeline, one module per stage: `syntax` (files to AST) → `analysis` (checks and
//! lowering to the IR) → `eval` (runs under a fault scenario, with lineage; also the
//! grounding of every run at once) → `search` (the exact SAT model built from that
//! grounding, and the exhaustive and random baselines) → `lineage` (why / why-not
//! explanations of a counterexample) → `report` (text, JSON, HTML, DOT). `cli` is the clap
//! front end and `app` runs its commands. `traces` is the trace-driven mode (`ldfi
//! traces`): its lineage comes from recorded request traces instead of a spec, and it
//! shares only the SAT backend with `search`.

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
