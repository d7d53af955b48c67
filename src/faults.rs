//! Fault scenarios: message omissions and crashes (LANGUAGE.md §4), their parsing from the
//! command line (`a->b@2`, `b@3`) and their display.

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
    pub fn crashes(&self) -> impl Iterator<Item = (&str, u32)> {
        self.0.iter().filter_map(|f| match f {
            Fault::Crash { node, time } => Some((node.as_str(), *time)),
            _ => None,
        })
    }
    pub fn omissions(&self) -> impl Iterator<Item = (&str, &str, u32)> {
        self.0.iter().filter_map(|f| match f {
            Fault::Omit { from, to, time } => Some((from.as_str(), to.as_str(), *time)),
            _ => None,
        })
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

/// Parse `a->b@2` (an omission).
pub fn parse_omission(s: &str) -> Result<Fault, String> {
    let hint = "expected FROM->TO@TIME, e.g. a->b@2";
    let (path, time) =
        s.rsplit_once('@').ok_or_else(|| format!("`{s}`: missing `@TIME`; {hint}"))?;
    let (from, to) = path.split_once("->").ok_or_else(|| format!("`{s}`: missing `->`; {hint}"))?;
    let time = parse_time(time).map_err(|e| format!("`{s}`: {e}; {hint}"))?;
    if from.is_empty() || to.is_empty() {
        return Err(format!("`{s}`: empty node name; {hint}"));
    }
    if from == to {
        return Err(format!("`{s}`: a node's messages to itself are never lost"));
    }
    Ok(Fault::Omit { from: from.into(), to: to.into(), time })
}

/// Parse `b@3` (a crash).
pub fn parse_crash(s: &str) -> Result<Fault, String> {
    let hint = "expected NODE@TIME, e.g. b@3";
    let (node, time) =
        s.rsplit_once('@').ok_or_else(|| format!("`{s}`: missing `@TIME`; {hint}"))?;
    let time = parse_time(time).map_err(|e| format!("`{s}`: {e}; {hint}"))?;
    if node.is_empty() {
        return Err(format!("`{s}`: empty node name; {hint}"));
    }
    Ok(Fault::Crash { node: node.into(), time })
}

fn parse_time(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(0) => Err("timesteps start at 1".into()),
        Ok(t) => Ok(t),
        Err(_) => Err(format!("`{s}` is not a timestep")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_faults() {
        assert_eq!(
            parse_omission("a->b@2"),
            Ok(Fault::Omit { from: "a".into(), to: "b".into(), time: 2 })
        );
        assert_eq!(parse_crash("b@3"), Ok(Fault::Crash { node: "b".into(), time: 3 }));
        assert!(parse_omission("a->a@2").is_err());
        assert!(parse_omission("ab@2").is_err());
        assert!(parse_crash("b@0").is_err());
        assert!(parse_crash("b").is_err());
    }
}
