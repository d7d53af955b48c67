//! Which nodes get a lane of their own in a space-time diagram (terminal, SVG and DOT), and
//! how long node names are shortened, so that a diagram of a wide protocol (hundreds of
//! nodes, a 64k-character name) stays readable and bounded in size.
//!
//! When a run has more nodes than a diagram has lanes, the nodes that matter most keep a
//! lane (a crashed node, an end of a lost message, a sender, a receiver, then node order)
//! and the others share one last lane, "+N others". Lanes are always in node order.

use crate::analysis::ir::{Program, Sym};
use crate::eval::{Message, MsgStatus, Run};
use std::collections::BTreeMap;

/// Where a node is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lane {
    /// Its own lane, by position among the shown lanes.
    Node(usize),
    /// The shared lane of the nodes without a lane of their own (the last one).
    Others,
}

/// The lanes of one diagram.
#[derive(Debug, Clone)]
pub struct Lanes {
    /// The nodes with a lane of their own, in node order.
    pub shown: Vec<Sym>,
    /// How many nodes share the "others" lane (0: every node has its own lane).
    pub elided: usize,
    lane_of: BTreeMap<Sym, usize>,
}

impl Lanes {
    /// At most `max` lanes (at least 2) for the nodes of `run`.
    pub fn select(run: &Run, max: usize) -> Lanes {
        let max = max.max(2);
        let nodes = &run.nodes;
        let shown: Vec<Sym> = if nodes.len() <= max {
            nodes.clone()
        } else {
            let rank = importance(run);
            let mut order: Vec<usize> = (0..nodes.len()).collect();
            order.sort_by_key(|&i| (std::cmp::Reverse(rank.get(&nodes[i]).copied()), i));
            let mut keep: Vec<usize> = order.into_iter().take(max - 1).collect();
            keep.sort_unstable();
            keep.into_iter().map(|i| nodes[i]).collect()
        };
        let lane_of = shown.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        Lanes { elided: nodes.len() - shown.len(), shown, lane_of }
    }

    /// The lane a node is drawn in.
    pub fn lane(&self, node: Sym) -> Lane {
        self.lane_of.get(&node).map_or(Lane::Others, |&i| Lane::Node(i))
    }

    /// Number of lanes drawn (the shown nodes, plus one when some share the last lane).
    pub fn count(&self) -> usize {
        self.shown.len() + usize::from(self.elided > 0)
    }

    /// Column index of a lane (the "others" lane is the last column).
    pub fn column(&self, lane: Lane) -> usize {
        match lane {
            Lane::Node(i) => i,
            Lane::Others => self.shown.len(),
        }
    }

    /// The header of the "others" lane: `+4990 others`.
    pub fn others_label(&self) -> String {
        format!("+{} others", self.elided)
    }
}

/// Most lines of the hover text of a lane or an arrow that stands for many.
pub const LIST_LINES: usize = 20;

/// The first [`LIST_LINES`] of `total` items, one a line, then `… and N more`.
pub fn listing(items: impl Iterator<Item = String>, total: usize) -> String {
    let mut lines: Vec<String> = items.take(LIST_LINES).collect();
    if total > LIST_LINES {
        lines.push(format!("… and {} more", total - LIST_LINES));
    }
    lines.join("\n")
}

/// A bundle of messages to or from the "others" lane: (send time, column of the sender,
/// column of the receiver, status).
pub type GroupKey = (u32, usize, usize, u8);

/// The messages of a run as a diagram with these lanes draws them: those between two
/// shown lanes one by one (in run order), those to or from the "others" lane bundled by
/// [`GroupKey`] (in key order, each bundle in run order).
pub fn split_messages<'r>(
    run: &'r Run,
    lanes: &Lanes,
) -> (Vec<&'r Message>, BTreeMap<GroupKey, Vec<&'r Message>>) {
    let mut direct = Vec::new();
    let mut groups: BTreeMap<GroupKey, Vec<&Message>> = BTreeMap::new();
    for m in &run.messages {
        let (la, lb) = (lanes.lane(m.from), lanes.lane(m.to));
        if la == Lane::Others || lb == Lane::Others {
            let status = match m.status {
                MsgStatus::Delivered => 0,
                MsgStatus::Omitted => 1,
                MsgStatus::SenderCrashed => 2,
            };
            groups
                .entry((m.send_time, lanes.column(la), lanes.column(lb), status))
                .or_default()
                .push(m);
        } else {
            direct.push(m);
        }
    }
    (direct, groups)
}

/// How much a node matters to a reader, per node: 4 crashed, 3 an end of a lost message,
/// 2 sends to another node, 1 receives from another node (a node absent is idle).
fn importance(run: &Run) -> BTreeMap<Sym, u8> {
    let mut rank: BTreeMap<Sym, u8> = BTreeMap::new();
    let mut raise = |n: Sym, r: u8| {
        let e = rank.entry(n).or_insert(0);
        *e = (*e).max(r);
    };
    for &(n, _) in &run.scenario.crashes {
        raise(n, 4);
    }
    for m in run.messages.iter().filter(|m| m.from != m.to) {
        if m.status == MsgStatus::Delivered {
            raise(m.from, 2);
            raise(m.to, 1);
        } else {
            raise(m.from, 3);
            raise(m.to, 3);
        }
    }
    rank
}

/// A name cut to at most `max` characters, the last being `…` when it was cut.
pub fn short_name(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_string();
    }
    let mut s: String = name.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// Most nodes named in a one-line list of nodes (the bounds line).
pub const LIST_NODES: usize = 12;
/// Longest node name in a one-line list of nodes.
pub const LIST_NAME: usize = 32;

/// `s, r1, r2` for a few nodes; `a, b, …, l … and 4988 more (5000 nodes)` for many, each
/// name cut to [`LIST_NAME`] characters.
pub fn node_list(program: &Program, nodes: &[Sym]) -> String {
    let mut names: Vec<String> = nodes
        .iter()
        .take(LIST_NODES)
        .map(|&n| short_name(program.symbols.name(n), LIST_NAME))
        .collect();
    if nodes.len() > LIST_NODES {
        names.push(format!("… and {} more ({} nodes)", nodes.len() - LIST_NODES, nodes.len()));
    }
    names.join(", ")
}

/// True when some node name of the run is longer than `max` characters.
pub fn any_name_cut(program: &Program, nodes: &[Sym], max: usize) -> bool {
    nodes.iter().any(|&n| program.symbols.name(n).chars().count() > max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_with_an_ellipsis() {
        assert_eq!(short_name("abcdef", 4), "abc…");
        assert_eq!(short_name("abcd", 4), "abcd");
        assert_eq!(short_name("ééééé", 3).chars().count(), 3);
    }
}
