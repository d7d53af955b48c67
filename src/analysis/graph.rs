//! Dependency-graph analyses over relations, with `crepe` for the reachability closure:
//! stratification, negative cycles, and same-time strongly connected components (which the
//! search's negative support walks).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The kind of a dependency edge from a body relation to a head relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    Pos,
    /// Through `notin`.
    Neg,
    /// Into an aggregate head.
    Agg,
}

impl EdgeKind {
    pub fn is_negative(self) -> bool {
        self != EdgeKind::Pos
    }
}

/// An edge `from -> to` with the index of the rule that makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Edge {
    pub from: u32,
    pub to: u32,
    pub kind: EdgeKind,
    pub rule: usize,
}

mod reach {
    use crepe::crepe;
    crepe! {
        @input
        pub struct E(pub u32, pub u32);
        @output
        pub struct Reach(pub u32, pub u32);
        Reach(a, b) <- E(a, b);
        Reach(a, c) <- Reach(a, b), E(b, c);
    }

    pub fn closure(edges: impl IntoIterator<Item = (u32, u32)>) -> Vec<(u32, u32)> {
        let mut rt = Crepe::new();
        rt.extend(edges.into_iter().map(|(a, b)| E(a, b)));
        let (reach,) = rt.run();
        reach.into_iter().map(|Reach(a, b)| (a, b)).collect()
    }
}

/// A cycle through a negative edge among same-time rules: the relations in order, the
/// edges between them (the last edge closes the cycle).
#[derive(Debug, Clone)]
pub struct NegCycle {
    pub edges: Vec<Edge>,
}

/// Strata of the same-time dependency graph, or the negative cycles that prevent them.
pub fn stratify(nrels: usize, edges: &[Edge]) -> Result<Vec<usize>, Vec<NegCycle>> {
    let reach: BTreeSet<(u32, u32)> =
        reach::closure(edges.iter().map(|e| (e.from, e.to))).into_iter().collect();
    let mut cycles = Vec::new();
    let mut reported: BTreeSet<(u32, u32)> = BTreeSet::new();
    let mut sorted: Vec<&Edge> = edges.iter().filter(|e| e.kind.is_negative()).collect();
    sorted.sort();
    for e in sorted {
        let closes = e.from == e.to || reach.contains(&(e.to, e.from));
        // One cycle per pair of relations is enough to explain the problem.
        let key = (e.from.min(e.to), e.from.max(e.to));
        if closes && reported.insert(key) {
            let mut path = shortest_path(edges, e.to, e.from);
            path.push(*e);
            cycles.push(NegCycle { edges: path });
        }
    }
    if !cycles.is_empty() {
        return Err(cycles);
    }
    // Longest-path layering: stratum(to) >= stratum(from), > for negative edges. Without
    // negative cycles this converges within nrels rounds.
    let mut stratum = vec![0usize; nrels];
    for _ in 0..=nrels {
        let mut changed = false;
        for e in edges {
            let need = stratum[e.from as usize] + usize::from(e.kind.is_negative());
            if stratum[e.to as usize] < need {
                stratum[e.to as usize] = need;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    Ok(stratum)
}

/// Breadth-first shortest path of edges from `from` to `to` (empty when from == to).
fn shortest_path(edges: &[Edge], from: u32, to: u32) -> Vec<Edge> {
    if from == to {
        return Vec::new();
    }
    let mut prev: BTreeMap<u32, Edge> = BTreeMap::new();
    let mut queue = VecDeque::from([from]);
    while let Some(n) = queue.pop_front() {
        for e in edges.iter().filter(|e| e.from == n) {
            if e.to != from && !prev.contains_key(&e.to) {
                prev.insert(e.to, *e);
                if e.to == to {
                    let mut path = vec![*e];
                    let mut cur = e.from;
                    while cur != from {
                        let p = prev[&cur];
                        path.push(p);
                        cur = p.from;
                    }
                    path.reverse();
                    return path;
                }
                queue.push_back(e.to);
            }
        }
    }
    Vec::new()
}

/// Strongly connected components of the same-time dependency graph: `scc[q]` is the smallest
/// relation id of q's component (relations on a same-time cycle share one id).
pub fn sccs(nrels: usize, edges: &[Edge]) -> Vec<u32> {
    let reach: BTreeSet<(u32, u32)> =
        reach::closure(edges.iter().map(|e| (e.from, e.to))).into_iter().collect();
    (0..nrels as u32)
        .map(|q| (0..q).find(|&p| reach.contains(&(p, q)) && reach.contains(&(q, p))).unwrap_or(q))
        .collect()
}
