//! Run parameters: the bounds of a search and the expected verdicts that a spec's header
//! lines carry (`// ldfi: eot=4 eff=2 crashes=0 expect=counterexample`).

use crate::syntax::ast::Span;
use serde::Serialize;

/// The verdict a header line expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expect {
    /// No fault scenario within the bounds violates the invariant.
    Certified,
    /// Some fault scenario within the bounds violates the invariant (and the fault-free
    /// run does not).
    Counterexample,
    /// The failure-free run already violates the invariant.
    FaultFreeViolation,
}

impl Expect {
    pub fn name(self) -> &'static str {
        match self {
            Expect::Certified => "certified",
            Expect::Counterexample => "counterexample",
            Expect::FaultFreeViolation => "fault-free-violation",
        }
    }
    pub fn parse(s: &str) -> Option<Expect> {
        match s {
            "certified" => Some(Expect::Certified),
            "counterexample" => Some(Expect::Counterexample),
            "fault-free-violation" => Some(Expect::FaultFreeViolation),
            _ => None,
        }
    }
}

/// One `// ldfi: ...` header line: every key is optional; what is missing comes from the
/// command line or the defaults.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HeaderConfig {
    pub eot: Option<u32>,
    pub eff: Option<u32>,
    pub crashes: Option<u32>,
    pub nodes: Option<Vec<String>>,
    pub expect: Option<Expect>,
    /// `strategy=auto|ldfi|random|exhaustive` (default auto).
    pub strategy: Option<String>,
    /// Span of the whole header line (for error messages and test names).
    pub span: Option<Span>,
    /// 1-based line number in its file.
    pub line: usize,
}

/// Fully resolved bounds of one search.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Bounds {
    pub eot: u32,
    pub eff: u32,
    pub crashes: u32,
}
