//! Fault scenarios: message omissions and crashes (LANGUAGE.md §4) and their display. The
//! command-line forms (`a->b@2`, `b@3`) are parsed by `cli`.

use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;

/// One fault. Node names are the spec's node strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Fault {
    /// The message sent from `from` to `to` at time `time` is lost.
    Omit { from: String, to: String, time: u32 },
    /// `node` crashes at `time`: from then on it sends nothing.
    Crash { node: String, time: u32 },
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Omit { from, to, time } => write!(f, "omit {from}->{to}@{time}"),
            Fault::Crash { node, time } => write!(f, "crash {node}@{time}"),
        }
    }
}

/// A set of faults, ordered (omissions by (from, to, time), then crashes).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FaultSet(pub BTreeSet<Fault>);

impl FaultSet {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for FaultSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return write!(f, "no faults");
        }
        let parts: Vec<String> = self.0.iter().map(|x| x.to_string()).collect();
        write!(f, "{}", parts.join(", "))
    }
}
