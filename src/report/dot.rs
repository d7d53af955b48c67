//! Graphviz DOT output (`--dot DIR`) and the lineage graph model that the HTML report lays
//! out itself.
//!
//! The lineage graph of a run is built from the `post` tuples at EOT backwards through every
//! recorded firing: nodes are tuples, an edge `body -> head` says that the body tuple was
//! used to derive the head. When a faulty run is compared with the failure-free run, the
//! graph is the failure-free lineage with the tuples the faulty run lost and the messages
//! its faults cut marked. Writing DOT needs no Graphviz; render the files with
//! `dot -Tsvg run-1-lineage.dot` if you have it.

use super::html::{self, RunPage};
use super::lanes::{listing, short_name, split_messages, Lanes};
use crate::analysis::ir::{Program, Sym};
use crate::eval::{Message, MsgStatus, Run, Source, TupleId};
use crate::search::Outcome;
use crate::syntax::ast::HeadAnn;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::io;
use std::path::Path;

/// Largest number of tuples drawn in one lineage graph (breadth first from the roots).
pub const MAX_LINEAGE_NODES: usize = 400;

/// What a lineage node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A `post` tuple at EOT: a root of the graph.
    Root,
    /// A fact of the spec (no rule derived it).
    Fact,
    /// A `crash` tuple from the fault scenario.
    Crash,
    /// Derived by rules.
    Derived,
}

/// How a body tuple reached its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeKind {
    /// An `@next` rule: the tuple carried to the next timestep at the same node.
    Next,
    /// A same-timestep rule.
    Rule,
    /// An `@async` rule: the head rode on a message.
    Message,
    /// A message that the faults of the compared run cut.
    Cut,
}

impl EdgeKind {
    pub fn class(self) -> &'static str {
        match self {
            EdgeKind::Next => "next",
            EdgeKind::Rule => "rule",
            EdgeKind::Message => "message",
            EdgeKind::Cut => "cut",
        }
    }
}

/// A tuple in the lineage graph.
#[derive(Debug, Clone)]
pub struct LinNode {
    pub tuple: TupleId,
    pub time: u32,
    /// `rel(vals)` as written in a spec.
    pub label: String,
    pub kind: NodeKind,
    /// The compared faulty run does not have this tuple at this timestep.
    pub lost: bool,
    /// Every derivation of the tuple, one per line (for hover text).
    pub detail: String,
}

/// A derivation edge from a body tuple to the head it helped derive.
#[derive(Debug, Clone)]
pub struct LinEdge {
    pub from: usize,
    pub to: usize,
    pub kind: EdgeKind,
    /// The rule (and message) of the derivation.
    pub label: String,
}

/// The lineage of a run's `post` tuples.
#[derive(Debug, Clone, Default)]
pub struct LineageGraph {
    pub nodes: Vec<LinNode>,
    pub edges: Vec<LinEdge>,
    /// More than [`MAX_LINEAGE_NODES`] tuples: the graph shows the ones closest to the roots.
    pub truncated: bool,
    /// The graph is the failure-free lineage compared with a faulty run.
    pub compared: bool,
    /// The run has no lineage recorded or the spec no `post` relation.
    pub unavailable: bool,
}

/// Which lineage to draw for a run: a violated faulty run is explained by the failure-free
/// lineage it broke (`(baseline, Some(run))`); any other run by its own lineage.
pub fn lineage_pair<'r>(run: &'r Run, baseline: Option<&'r Run>) -> (&'r Run, Option<&'r Run>) {
    let faulty = !run.scenario.omissions.is_empty() || !run.scenario.crashes.is_empty();
    match baseline {
        Some(b) if faulty && run.is_violation() && !b.is_violation() && b.lineage.is_some() => {
            (b, Some(run))
        }
        _ => (run, None),
    }
}

/// Did the scenario of `faulty` cut message `m` (of another run)?
pub fn is_cut(m: &Message, faulty: &Run) -> bool {
    let omitted = faulty.scenario.omissions.contains(&(m.from, m.to, m.send_time));
    let crashed =
        faulty.scenario.crash_time(m.from).is_some_and(|c| c <= m.send_time) && m.from != m.to;
    omitted || crashed
}

/// `a->b sent at 2` for a message.
pub fn message_text(program: &Program, m: &Message) -> String {
    format!(
        "{}->{} sent at {}, {}: {}",
        program.symbols.name(m.from),
        program.symbols.name(m.to),
        m.send_time,
        status_text(m.status, m.send_time),
        program.show_tuple(m.rel, &m.vals)
    )
}

/// `delivered at 3`, `omitted`, `lost: sender crashed`.
pub fn status_text(status: MsgStatus, send_time: u32) -> String {
    match status {
        MsgStatus::Delivered => format!("delivered at {}", send_time + 1),
        MsgStatus::Omitted => "omitted (lost)".to_string(),
        MsgStatus::SenderCrashed => "lost: sender crashed".to_string(),
    }
}

/// The lineage graph of the `post` tuples at EOT of `reference`, compared with `faulty`.
pub fn lineage_graph(program: &Program, reference: &Run, faulty: Option<&Run>) -> LineageGraph {
    let (Some(lineage), Some(post)) = (&reference.lineage, program.post_rel) else {
        return LineageGraph { unavailable: true, ..LineageGraph::default() };
    };
    let mut roots = reference.tuples_at(post, reference.eot);
    roots.sort_by_key(|&id| program.show_tuple(post, &reference.tuples.rec(id).vals));
    let mut g = LineageGraph { compared: faulty.is_some(), ..LineageGraph::default() };
    let mut index: BTreeMap<TupleId, usize> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::new();
    for &r in &roots {
        index.insert(r, g.nodes.len());
        g.nodes.push(lin_node(program, reference, faulty, r, NodeKind::Root));
        queue.push_back(r);
    }
    let mut edges: BTreeMap<(usize, usize), (EdgeKind, String)> = BTreeMap::new();
    while let Some(head) = queue.pop_front() {
        let h = index[&head];
        for f in lineage.firings_of(head) {
            let kind = edge_kind(program, reference, faulty, f.source, f.msg);
            let label = firing_text(program, reference, f.source, f.msg);
            for &b in lineage.body_of(f) {
                let from = match index.get(&b) {
                    Some(&i) => i,
                    None if g.nodes.len() < MAX_LINEAGE_NODES => {
                        let kind = node_kind(lineage.firings_of(b).map(|f| f.source));
                        index.insert(b, g.nodes.len());
                        g.nodes.push(lin_node(program, reference, faulty, b, kind));
                        queue.push_back(b);
                        g.nodes.len() - 1
                    }
                    None => {
                        g.truncated = true;
                        continue;
                    }
                };
                let e = edges.entry((from, h)).or_insert((kind, label.clone()));
                if kind > e.0 {
                    *e = (kind, label.clone());
                }
            }
        }
    }
    g.edges = edges
        .into_iter()
        .map(|((from, to), (kind, label))| LinEdge { from, to, kind, label })
        .collect();
    g
}

fn node_kind(sources: impl Iterator<Item = Source>) -> NodeKind {
    let sources: Vec<Source> = sources.collect();
    if sources.iter().any(|s| matches!(s, Source::Rule(_))) {
        NodeKind::Derived
    } else if sources.contains(&Source::Crash) {
        NodeKind::Crash
    } else {
        NodeKind::Fact
    }
}

fn edge_kind(
    program: &Program,
    run: &Run,
    faulty: Option<&Run>,
    source: Source,
    msg: Option<u32>,
) -> EdgeKind {
    if let Some(m) = msg.and_then(|m| run.messages.get(m as usize)) {
        return match faulty {
            Some(f) if is_cut(m, f) => EdgeKind::Cut,
            _ => EdgeKind::Message,
        };
    }
    match source {
        Source::Rule(r) if program.rules[r as usize].ann == HeadAnn::Next => EdgeKind::Next,
        _ => EdgeKind::Rule,
    }
}

/// `fact`, `crash oracle`, or the rule's text with its message.
fn firing_text(program: &Program, run: &Run, source: Source, msg: Option<u32>) -> String {
    match source {
        Source::Fact => "fact".to_string(),
        Source::Crash => "crash oracle (fault scenario)".to_string(),
        Source::Rule(r) => {
            let mut d = program.rules[r as usize].text.clone();
            if let Some(m) = msg.and_then(|m| run.messages.get(m as usize)) {
                let _ = write!(d, "  [message {}]", message_text(program, m));
            }
            d
        }
    }
}

fn lin_node(
    program: &Program,
    run: &Run,
    faulty: Option<&Run>,
    id: TupleId,
    kind: NodeKind,
) -> LinNode {
    let rec = run.tuples.rec(id);
    let label = program.show_tuple(rec.rel, &rec.vals);
    let lost = faulty.is_some_and(|f| f.tuples.find(rec.rel, &rec.vals, rec.time).is_none());
    let mut detail = format!("{label}@{}", rec.time);
    if lost {
        detail.push_str("  (lost in the faulty run)");
    }
    if let Some(lineage) = &run.lineage {
        for f in lineage.firings_of(id) {
            let _ = write!(detail, "\n  by {}", firing_text(program, run, f.source, f.msg));
            for n in lineage.negs_of(f) {
                let args: Vec<String> = n
                    .pattern
                    .iter()
                    .map(|v| v.map_or("_".to_string(), |v| program.symbols.show(v).to_string()))
                    .collect();
                let _ = write!(
                    detail,
                    "\n    relying on notin {}({})@{}",
                    program.rel_name(n.rel),
                    args.join(", "),
                    n.time
                );
            }
        }
    }
    LinNode { tuple: id, time: rec.time, label, kind, lost, detail }
}

/// A DOT double-quoted string body: backslashes, quotes and newlines escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The lineage graph in DOT: one cluster per timestep, time flowing down. Labels are cut
/// to [`DOT_NAME`] characters (the tooltip has the whole tuple).
pub fn lineage_dot(g: &LineageGraph) -> String {
    let mut out = String::from("digraph lineage {\n  rankdir=TB;\n  newrank=true;\n");
    out.push_str("  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"monospace\", fontsize=10];\n");
    out.push_str("  edge [color=\"#6b7280\"];\n");
    let mut by_time: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        by_time.entry(n.time).or_default().push(i);
    }
    for (t, ids) in &by_time {
        let _ = writeln!(
            out,
            "  subgraph cluster_t{t} {{\n    label=\"t = {t}\";\n    color=\"#d1d5db\";"
        );
        for &i in ids {
            let n = &g.nodes[i];
            let (fill, color, style) = match (n.kind, n.lost) {
                (_, true) => ("#fee2e2", "#dc2626", "rounded,filled,dashed"),
                (NodeKind::Root, _) => ("#dcfce7", "#15803d", "rounded,filled,bold"),
                (NodeKind::Fact, _) => ("#f3f4f6", "#374151", "rounded,filled"),
                (NodeKind::Crash, _) => ("#ede9fe", "#6d28d9", "rounded,filled"),
                (NodeKind::Derived, _) => ("white", "#374151", "rounded,filled"),
            };
            let _ = writeln!(
                out,
                "    n{i} [label={}, tooltip={}, fillcolor=\"{fill}\", color=\"{color}\", style=\"{style}\"];",
                quote(&short_name(&n.label, DOT_NAME)),
                quote(&n.detail)
            );
        }
        out.push_str("  }\n");
    }
    for e in &g.edges {
        let attrs = match e.kind {
            EdgeKind::Next => "color=\"#9ca3af\", style=dotted",
            EdgeKind::Rule => "color=\"#4b5563\"",
            EdgeKind::Message => "color=\"#2563eb\", penwidth=1.5",
            EdgeKind::Cut => {
                "color=\"#dc2626\", penwidth=3, style=dashed, label=\"cut\", fontcolor=\"#dc2626\""
            }
        };
        let _ = writeln!(out, "  n{} -> n{} [{attrs}, tooltip={}];", e.from, e.to, quote(&e.label));
    }
    if g.truncated {
        let _ = writeln!(
            out,
            "  truncated [shape=note, label=\"graph truncated to the {MAX_LINEAGE_NODES} tuples closest to post\"];"
        );
    }
    out.push_str("}\n");
    out
}

/// Most lanes of the DOT space-time diagram (the last is `+N others` for wider runs).
pub const DOT_LANES: usize = 40;
/// Longest node name on a DOT lane head (the full name is its tooltip).
pub const DOT_NAME: usize = 48;

/// The DOT attributes of a message edge of the given status.
fn msg_attrs(status: MsgStatus) -> &'static str {
    match status {
        MsgStatus::Delivered => "color=\"#2563eb\"",
        MsgStatus::Omitted => "color=\"#dc2626\", style=dashed, arrowhead=tee, label=\"✗\"",
        MsgStatus::SenderCrashed => "color=\"#ea580c\", style=dotted, arrowhead=tee",
    }
}

/// The space-time diagram in DOT: one column of events per node, in node order, left of
/// them a column of timestep labels (`t = 1` ...), messages as edges from (sender, t) to
/// (receiver, t+1), lost messages red/orange and dashed, crashes marked. Invisible edges
/// within each rank keep the columns in node order. A run with more than [`DOT_LANES`]
/// nodes draws the rest as one `+N others` column, with one edge per timestep, pair of
/// columns and status for the messages to or from it.
pub fn spacetime_dot(program: &Program, run: &Run) -> String {
    let lanes = Lanes::select(run, DOT_LANES);
    let name = |s: Sym| program.symbols.name(s).to_string();
    let mut out =
        String::from("digraph spacetime {\n  rankdir=TB;\n  newrank=true;\n  splines=true;\n");
    out.push_str(
        "  node [shape=circle, width=0.12, label=\"\", style=filled, fillcolor=\"#111827\"];\n",
    );
    out.push_str("  time [shape=plaintext, style=\"\", label=\"\"];\n");
    for t in 1..=run.eot {
        let _ = writeln!(
            out,
            "  t{t} [shape=plaintext, style=\"\", width=0.6, label={}, fontname=\"sans-serif\", fontcolor=\"#6b7280\"];",
            quote(&format!("t = {t}"))
        );
    }
    let mut chain = String::from("time");
    for t in 1..=run.eot {
        let _ = write!(chain, " -> t{t}");
    }
    let _ = writeln!(out, "  {chain} [style=invis, weight=100];");
    let mut heads: Vec<(String, String, Option<Sym>)> =
        lanes.shown.iter().map(|&n| (short_name(&name(n), DOT_NAME), name(n), Some(n))).collect();
    if lanes.elided > 0 {
        heads.push((lanes.others_label(), format!("{} nodes without a lane", lanes.elided), None));
    }
    for (i, (head, full, node)) in heads.iter().enumerate() {
        let dashed = if node.is_none() { ", style=\"rounded,filled,dashed\"" } else { "" };
        let _ = writeln!(
            out,
            "  h{i} [shape=box, width=1, label={}, tooltip={}, style=\"rounded,filled\", fillcolor=\"#e5e7eb\", fontname=\"sans-serif\"{dashed}];",
            quote(head),
            quote(full)
        );
        let crash = node.and_then(|n| run.scenario.crash_time(n));
        for t in 1..=run.eot {
            let crashed_here = crash == Some(t);
            let after = crash.is_some_and(|c| c < t);
            let attrs = if crashed_here {
                format!("shape=box, width=0, label={}, fillcolor=\"#fecaca\", color=\"#b91c1c\", fontcolor=\"#b91c1c\"", quote("CRASH"))
            } else if after {
                "fillcolor=\"#d1d5db\", color=\"#9ca3af\"".to_string()
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  e{i}_{t} [{attrs}{}tooltip={}];",
                if attrs.is_empty() { "" } else { ", " },
                quote(&format!("{head} at {t}"))
            );
        }
        let _ = write!(out, "  h{i} -> e{i}_1 [arrowhead=none, weight=100");
        out.push_str("];\n");
        for t in 1..run.eot {
            let style = if crash.is_some_and(|c| c <= t) { "dashed" } else { "solid" };
            let _ = writeln!(out, "  e{i}_{t} -> e{i}_{} [arrowhead=none, weight=100, style={style}, color=\"#6b7280\"];", t + 1);
        }
    }
    // One rank per row; invisible edges within it keep the columns in node order.
    let row = |first: &str, cell: &dyn Fn(usize) -> String| {
        let names: Vec<String> =
            std::iter::once(first.to_string()).chain((0..heads.len()).map(cell)).collect();
        format!("  {{ rank=same; {}; {} [style=invis]; }}\n", names.join("; "), names.join(" -> "))
    };
    out.push_str(&row("time", &|i| format!("h{i}")));
    for t in 1..=run.eot {
        out.push_str(&row(&format!("t{t}"), &|i| format!("e{i}_{t}")));
    }
    let (direct, groups) = split_messages(run, &lanes);
    for m in direct {
        let _ = writeln!(
            out,
            "  e{}_{} -> e{}_{} [{}, constraint=false, tooltip={}];",
            lanes.column(lanes.lane(m.from)),
            m.send_time,
            lanes.column(lanes.lane(m.to)),
            m.send_time + 1,
            msg_attrs(m.status),
            quote(&message_text(program, m))
        );
    }
    for ((t, a, b, _), msgs) in groups {
        let tip = listing(msgs.iter().map(|m| message_text(program, m)), msgs.len());
        let _ = writeln!(
            out,
            "  e{a}_{t} -> e{b}_{} [{}, constraint=false, xlabel={}, tooltip={}];",
            t + 1,
            msg_attrs(msgs[0].status),
            quote(&if msgs.len() == 1 {
                "1 message".to_string()
            } else {
                format!("{} messages", msgs.len())
            }),
            quote(&tip)
        );
    }
    out.push_str("}\n");
    out
}

/// Write `run-N-lineage.dot` and `run-N-spacetime.dot` for each page of a search report.
pub fn write_check(dir: &Path, program: &Program, outcome: &Outcome) -> io::Result<Vec<String>> {
    let pages = html::outcome_pages(program, outcome);
    write_pages(dir, program, &pages.pages, Some(&*pages.baseline))
}

/// Write the DOT files of a single run (`ldfi run`).
pub fn write_run(dir: &Path, program: &Program, run: &Run) -> io::Result<Vec<String>> {
    let pages = html::run_pages(program, run);
    write_pages(dir, program, &pages.pages, Some(&*pages.baseline))
}

fn write_pages(
    dir: &Path,
    program: &Program,
    pages: &[RunPage],
    baseline: Option<&Run>,
) -> io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut written = BTreeSet::new();
    for p in pages {
        let (reference, faulty) = lineage_pair(&p.run, baseline);
        let g = lineage_graph(program, reference, faulty);
        let lin = format!("run-{}-lineage.dot", p.index);
        std::fs::write(dir.join(&lin), lineage_dot(&g))?;
        let st = format!("run-{}-spacetime.dot", p.index);
        std::fs::write(dir.join(&st), spacetime_dot(program, &p.run))?;
        written.insert(lin);
        written.insert(st);
    }
    Ok(written.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_quotes_and_backslashes() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quote("x\ny"), "\"x\\ny\"");
    }
}
