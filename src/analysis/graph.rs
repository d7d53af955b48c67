//! Dependency-graph analyses over relations, with `crepe` for the closures: same-time
//! reachability (stratification and negative cycles) and parity reachability (which losses
//! can make which relations gain tuples, for negative support in the search).

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

mod parity {
    use crepe::crepe;
    crepe! {
        @input
        pub struct PE(pub u32, pub u32, pub u8);
        @output
        pub struct Par(pub u32, pub u32, pub u8);
        // u8 on edges: 0 positive, 1 negation (flips parity), 2 aggregate (either parity).
        Par(a, b, 0) <- PE(a, b, 0);
        Par(a, b, 1) <- PE(a, b, 1);
        Par(a, b, 0) <- PE(a, b, 2);
        Par(a, b, 1) <- PE(a, b, 2);
        Par(a, c, p) <- Par(a, b, p), PE(b, c, 0);
        Par(a, c, q) <- Par(a, b, p), PE(b, c, 1), let q = 1 - p;
        Par(a, c, 0) <- Par(a, b, _), PE(b, c, 2);
        Par(a, c, 1) <- Par(a, b, _), PE(b, c, 2);
    }

    pub fn closure(edges: impl IntoIterator<Item = (u32, u32, u8)>) -> Vec<(u32, u32, u8)> {
        let mut rt = Crepe::new();
        rt.extend(edges.into_iter().map(|(a, b, k)| PE(a, b, k)));
        let (par,) = rt.run();
        par.into_iter().map(|Par(a, b, p)| (a, b, p)).collect()
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

/// Parity reachability over the full dependency graph (same-time and temporal rules).
/// Returns, for each relation q, the relations whose loss can make q gain a tuple (reach q
/// with odd parity), and whether a gain of `crash` can make q gain (reach with even parity).
pub fn gain_sources(
    nrels: usize,
    edges: &[Edge],
    crash: Option<u32>,
) -> (Vec<Vec<u32>>, Vec<bool>) {
    let par = parity::closure(edges.iter().map(|e| {
        let k = match e.kind {
            EdgeKind::Pos => 0,
            EdgeKind::Neg => 1,
            EdgeKind::Agg => 2,
        };
        (e.from, e.to, k)
    }));
    let mut loss = vec![BTreeSet::new(); nrels];
    let mut crash_gain = vec![false; nrels];
    for (a, b, p) in par {
        if p == 1 {
            loss[b as usize].insert(a);
        }
        if p == 0 && Some(a) == crash {
            crash_gain[b as usize] = true;
        }
    }
    (loss.into_iter().map(|s| s.into_iter().collect()).collect(), crash_gain)
}
