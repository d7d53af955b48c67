//! The HTML report (`--report DIR`): a folder that opens from disk with no server and no
//! network. Everything is inline: CSS in each page, diagrams as inline SVG, no scripts.
//!
//! - `index.html`: the search at a glance (verdict, bounds, fault-space size, executions,
//!   times), the counterexamples with the why-not of their missing `post` tuple (down to
//!   the injected faults), and a table of runs
//!   (fault set, verdict, time), counterexamples first.
//! - `run-N.html` (N = execution number, 0 = the failure-free run): a space-time diagram,
//!   the lineage graph of `post` (time as the vertical axis, laid out here: rows by timestep,
//!   columns by order) and every relation per timestep.
//!
//! Every string that comes from a spec goes through [`esc`]. Output is deterministic: the
//! only numbers that vary between two reports of the same search are measured times.

use super::dot::{self, EdgeKind, LineageGraph, NodeKind};
use super::lanes::{listing, short_name, split_messages, Lane, Lanes};
use super::text;
use crate::analysis::ir::{Program, Sym, Value};
use crate::eval::{self, MsgStatus, Run, RunParams, Scenario};
use crate::lineage::{self, Explanation};
use crate::search::{Outcome, Verdict};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::io;
use std::path::{Path, PathBuf};

/// Most run pages written for one search (counterexamples and the failure-free run first;
/// further runs are re-executed with lineage to get a page, up to this many pages).
pub const MAX_PAGES: usize = 40;
/// Most rows in the index's table of runs.
pub const MAX_ROWS: usize = 5000;

/// What the report says about where it comes from.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub files: Vec<String>,
    /// `eot=5 eff=0 crashes=1 nodes=c, a, b`
    pub bounds: String,
    /// The strategy of a search (empty for `ldfi run`).
    pub strategy: String,
    /// The command that replays a run, without fault flags (`ldfi run FILE -t 5 -f 0`).
    pub replay: String,
    /// The header line whose bounds were used (`line 3: eot=5 eff=0 ...`), if any.
    pub header: Option<String>,
}

/// A header line as `line 3: eot=5 eff=0 crashes=1 expect=certified` (its keys in the
/// canonical order; free text after ` -- ` is not kept).
pub fn header_text(h: &crate::config::HeaderConfig) -> String {
    let mut keys = Vec::new();
    if let Some(v) = h.eot {
        keys.push(format!("eot={v}"));
    }
    if let Some(v) = h.eff {
        keys.push(format!("eff={v}"));
    }
    if let Some(v) = h.crashes {
        keys.push(format!("crashes={v}"));
    }
    if let Some(v) = &h.nodes {
        keys.push(format!("nodes={}", v.join(",")));
    }
    if let Some(v) = h.expect {
        keys.push(format!("expect={}", v.name()));
    }
    if let Some(v) = &h.strategy {
        keys.push(format!("strategy={v}"));
    }
    format!("line {}: // ldfi: {}", h.line, keys.join(" "))
}

/// A run that gets a page of its own.
#[derive(Debug, Clone)]
pub struct RunPage<'a> {
    /// Execution number (0 = the failure-free run); the page is `run-{index}.html`.
    pub index: usize,
    /// The run, with lineage.
    pub run: Cow<'a, Run>,
    pub counterexample: bool,
    pub micros: Option<u64>,
}

/// A row of the index's table of runs.
#[derive(Debug, Clone)]
pub struct Row {
    pub index: usize,
    pub faults: String,
    pub violated: bool,
    pub counterexample: bool,
    pub micros: Option<u64>,
    pub page: bool,
}

/// The runs of a report: the failure-free run (with lineage), the pages and the table rows.
#[derive(Debug, Clone)]
pub struct Pages<'a> {
    pub baseline: Cow<'a, Run>,
    pub pages: Vec<RunPage<'a>>,
    pub rows: Vec<Row>,
}

/// Escape text for HTML element content and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn ms(micros: u64) -> String {
    format!("{:.2} ms", micros as f64 / 1000.0)
}

fn dur(d: std::time::Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Re-run a scenario with lineage (for runs the search executed without it).
fn rerun(program: &Program, eot: u32, nodes: &[Sym], scenario: &Scenario) -> Option<Run> {
    let params =
        RunParams { eot, nodes: nodes.to_vec(), lineage: true, tuple_cap: eval::DEFAULT_TUPLE_CAP };
    eval::run(program, &params, scenario).ok()
}

/// The run itself when it has lineage, else a re-run with lineage (or the run as is when
/// that fails).
fn with_lineage<'a>(program: &Program, run: &'a Run) -> Cow<'a, Run> {
    if run.lineage.is_some() {
        return Cow::Borrowed(run);
    }
    rerun(program, run.eot, &run.nodes, &run.scenario).map_or(Cow::Borrowed(run), Cow::Owned)
}

fn has_faults(s: &Scenario) -> bool {
    !s.omissions.is_empty() || !s.crashes.is_empty()
}

/// Execution numbers of the counterexamples, in the order found.
fn counterexample_indices(outcome: &Outcome) -> Vec<usize> {
    if outcome.verdict == Verdict::FaultFreeViolation {
        return vec![0];
    }
    let mut used = BTreeSet::new();
    let mut out = Vec::new();
    for (k, cx) in outcome.counterexamples.iter().enumerate() {
        let found = outcome
            .runs
            .iter()
            .enumerate()
            .position(|(i, r)| r.violated && r.scenario == cx.scenario && !used.contains(&i));
        let i = found.unwrap_or(outcome.runs.len() + k);
        used.insert(i);
        out.push(i);
    }
    out
}

/// The pages and rows of a search report.
pub fn outcome_pages<'a>(program: &Program, outcome: &'a Outcome) -> Pages<'a> {
    let baseline = with_lineage(program, &outcome.baseline);
    let cx = counterexample_indices(outcome);
    let micros = |i: usize| outcome.runs.get(i).map(|r| r.micros);
    let mut pages = Vec::new();
    if outcome.verdict == Verdict::FaultFreeViolation {
        pages.push(RunPage {
            index: 0,
            run: baseline.clone(),
            counterexample: true,
            micros: micros(0),
        });
    } else {
        for (run, &i) in outcome.counterexamples.iter().zip(&cx) {
            let run = with_lineage(program, run);
            pages.push(RunPage { index: i, run, counterexample: true, micros: micros(i) });
        }
        pages.push(RunPage {
            index: 0,
            run: baseline.clone(),
            counterexample: false,
            micros: micros(0),
        });
    }
    for (i, r) in outcome.runs.iter().enumerate() {
        if pages.len() >= MAX_PAGES {
            break;
        }
        if i == 0 || cx.contains(&i) {
            continue;
        }
        if let Some(run) = rerun(program, baseline.eot, &baseline.nodes, &r.scenario) {
            pages.push(RunPage {
                index: i,
                run: Cow::Owned(run),
                counterexample: false,
                micros: Some(r.micros),
            });
        }
    }
    let paged: BTreeSet<usize> = pages.iter().map(|p| p.index).collect();
    let row = |i: usize, scenario: &Scenario, violated: bool, micros: Option<u64>| Row {
        index: i,
        faults: scenario.to_faults(program).to_string(),
        violated,
        counterexample: cx.contains(&i),
        micros,
        page: paged.contains(&i),
    };
    let mut rows = Vec::new();
    for (k, &i) in cx.iter().enumerate() {
        match outcome.runs.get(i) {
            Some(r) => rows.push(row(i, &r.scenario, r.violated, Some(r.micros))),
            None => {
                let run = outcome.counterexamples.get(k).unwrap_or(&outcome.baseline);
                rows.push(row(i, &run.scenario, true, None));
            }
        }
    }
    for (i, r) in outcome.runs.iter().enumerate() {
        if !cx.contains(&i) {
            rows.push(row(i, &r.scenario, r.violated, Some(r.micros)));
        }
    }
    Pages { baseline, pages, rows }
}

/// The pages and rows of a single-run report (`ldfi run`): the run is page 0; the
/// failure-free run is computed to show what the faults cut.
pub fn run_pages<'a>(program: &Program, run: &'a Run) -> Pages<'a> {
    let page = with_lineage(program, run);
    let baseline = if has_faults(&run.scenario) {
        rerun(program, run.eot, &run.nodes, &Scenario::default()).map_or(page.clone(), Cow::Owned)
    } else {
        page.clone()
    };
    let rows = vec![Row {
        index: 0,
        faults: run.scenario.to_faults(program).to_string(),
        violated: run.is_violation(),
        counterexample: run.is_violation(),
        micros: None,
        page: true,
    }];
    let pages =
        vec![RunPage { index: 0, run: page, counterexample: run.is_violation(), micros: None }];
    Pages { baseline, pages, rows }
}

/// Write the report of a search into `dir`; returns the path of `index.html`.
pub fn write_check(
    dir: &Path,
    program: &Program,
    outcome: &Outcome,
    meta: &Meta,
) -> io::Result<PathBuf> {
    let pages = outcome_pages(program, outcome);
    let index = check_index(program, outcome, meta, &pages);
    write_all(dir, program, meta, &pages, &index)
}

/// Write the report of one run (`ldfi run`) into `dir`; returns the path of `index.html`.
pub fn write_run(dir: &Path, program: &Program, run: &Run, meta: &Meta) -> io::Result<PathBuf> {
    let pages = run_pages(program, run);
    let index = run_index(program, run, meta, &pages);
    write_all(dir, program, meta, &pages, &index)
}

fn write_all(
    dir: &Path,
    program: &Program,
    meta: &Meta,
    pages: &Pages,
    index: &str,
) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    for p in &pages.pages {
        let html = run_page(program, p, &pages.baseline, meta);
        std::fs::write(dir.join(format!("run-{}.html", p.index)), html)?;
    }
    let path = dir.join("index.html");
    std::fs::write(&path, index)?;
    Ok(path)
}

const CSS: &str = r#"
:root { --delivered:#2563eb; --omitted:#dc2626; --lost:#ea580c; --crash:#7f1d1d; --ok:#15803d; --muted:#6b7280; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans", sans-serif; color:#111827; margin:0; background:#f9fafb; }
main { padding: 18px 28px 40px; max-width: 1500px; }
h1 { font-size: 22px; margin: 6px 0 10px; }
h2 { font-size: 18px; margin: 26px 0 8px; border-bottom: 1px solid #e5e7eb; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
code, .mono, td.v { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; font-size: 13px; }
a { color: #1d4ed8; }
nav { font-size: 14px; margin-bottom: 4px; }
.banner { padding: 12px 16px; border-radius: 8px; font-weight: 600; font-size: 17px; margin: 8px 0 14px; border: 1px solid; }
.banner small { display:block; font-weight: 400; font-size: 13px; margin-top: 3px; }
.banner.bad { background:#fef2f2; border-color:#fecaca; color:#991b1b; }
.banner.good { background:#f0fdf4; border-color:#bbf7d0; color:#166534; }
.banner.warn { background:#fffbeb; border-color:#fde68a; color:#92400e; }
dl.glance { display:grid; grid-template-columns: max-content 1fr; gap: 3px 18px; margin: 0 0 10px; }
dl.glance dt { color: var(--muted); }
dl.glance dd { margin: 0; }
.card h2 { margin-top: 4px; }
.scroll { max-height: 340px; overflow: auto; display: inline-block; border: 1px solid #e5e7eb; }
.card { background: white; border: 1px solid #e5e7eb; border-radius: 8px; padding: 10px 16px; margin: 10px 0; }
ul.tight { margin: 4px 0; padding-left: 22px; }
table.runs { border-collapse: collapse; background: white; }
table.runs th, table.runs td { border: 1px solid #e5e7eb; padding: 3px 10px; text-align: left; }
table.runs th { background: #f3f4f6; position: sticky; top: 0; }
table.runs td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.cx td { background: #fef2f2; }
.tag { display:inline-block; font-size: 12px; font-weight: 600; padding: 0 7px; border-radius: 9px; }
.tag.cx { background:#dc2626; color:white; }
.tag.violated { background:#fee2e2; color:#991b1b; }
.tag.ok { background:#dcfce7; color:#166534; }
.figure { background: white; border: 1px solid #e5e7eb; border-radius: 8px; padding: 8px; overflow: auto; max-height: 900px; }
.legend { display:flex; flex-wrap: wrap; gap: 4px 18px; margin: 6px 0; font-size: 13px; color:#374151; }
.legend span { display:inline-flex; align-items:center; gap:6px; }
.caption { font-size: 13px; color: #374151; margin: 4px 0; }
svg text { font-family: "DejaVu Sans", "Liberation Sans", sans-serif; }
svg .mono { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 11px; }
svg .grid { stroke:#e5e7eb; stroke-width:1; }
svg .tlabel { fill: var(--muted); font-size: 12px; }
svg .lane { stroke:#374151; stroke-width:2; }
svg .lane.after-crash { stroke:#9ca3af; stroke-dasharray: 3 4; }
svg .lane.others { stroke:#9ca3af; stroke-dasharray: 8 4; }
svg .lane-head.others .lane-box { fill:#f3f4f6; stroke-dasharray: 4 3; }
svg .event { fill:#374151; }
svg .event.after-crash { fill:white; stroke:#9ca3af; }
svg .lane-name { font-weight: 600; font-size: 14px; fill:#111827; }
svg .lane-box { fill:#e5e7eb; stroke:#9ca3af; }
svg .msg line, svg .msg path { fill:none; stroke-width: 2; }
svg .msg.delivered line, svg .msg.delivered path { stroke: var(--delivered); }
svg .msg.delivered polygon { fill: var(--delivered); }
svg .msg.self path { stroke: #60a5fa; stroke-width: 1.5; }
svg .msg.self polygon { fill: #60a5fa; }
svg .msg.omitted line { stroke: var(--omitted); stroke-dasharray: 6 4; }
svg .msg.omitted .mark { stroke: var(--omitted); stroke-width: 3; }
svg .msg.crashed line { stroke: var(--lost); stroke-dasharray: 2 3; }
svg .msg.crashed .mark { stroke: var(--lost); stroke-width: 3; }
svg .msg:hover line, svg .msg:hover path { stroke-width: 4; }
svg .mlabel { font-size: 11px; paint-order: stroke; stroke: white; stroke-width: 3px; stroke-linejoin: round; }
svg .mlabel.delivered { fill: #1e40af; } svg .mlabel.omitted { fill: #b91c1c; } svg .mlabel.crashed { fill: #c2410c; }
svg .crash line { stroke: var(--crash); stroke-width: 4; stroke-linecap: round; opacity: 0.85; }
svg .crash text { fill: var(--crash); font-weight: 700; font-size: 12px; paint-order: stroke; stroke: white; stroke-width: 4px; stroke-linejoin: round; }
svg .band { fill: #f9fafb; } svg .band.odd { fill: #f3f4f6; }
svg .tuple rect { fill: white; stroke: #6b7280; stroke-width: 1.2; }
svg .tuple.root rect { fill:#dcfce7; stroke: var(--ok); stroke-width: 2.2; }
svg .tuple.fact rect { fill:#f3f4f6; }
svg .tuple.crash rect { fill:#ede9fe; stroke:#6d28d9; }
svg .tuple.lost rect { fill:#fee2e2; stroke: var(--omitted); stroke-dasharray: 4 3; }
svg .tuple.lost text { fill: #991b1b; }
svg .tuple:hover rect { stroke-width: 3; }
svg .edge path { fill:none; stroke-width: 1.3; }
svg .edge.rule path { stroke:#4b5563; } svg .edge.rule polygon { fill:#4b5563; }
svg .edge.next path { stroke:#b6bcc6; stroke-dasharray: 2 3; } svg .edge.next polygon { fill:#b6bcc6; }
svg .edge.message path { stroke: var(--delivered); stroke-width: 2; } svg .edge.message polygon { fill: var(--delivered); }
svg .edge.cut path { stroke: var(--omitted); stroke-width: 3.5; stroke-dasharray: 7 4; } svg .edge.cut polygon { fill: var(--omitted); }
svg .edge:hover path { stroke-width: 4; }
.steps { display:flex; flex-direction: column; gap: 6px; }
.step { background:white; border:1px solid #e5e7eb; border-radius: 8px; padding: 4px 12px 10px; }
.rels { display:flex; flex-wrap: wrap; gap: 10px; align-items: flex-start; }
table.rel { border-collapse: collapse; font-size: 13px; }
table.rel caption { text-align: left; font-weight: 600; font-size: 13px; padding: 2px 0; }
table.rel caption .count { color: var(--muted); font-weight: 400; }
table.rel td { border: 1px solid #e5e7eb; padding: 1px 7px; }
table.rel tr.new td { background: #ecfdf5; }
.why { font-size: 13px; } ul.why { list-style: none; margin: 2px 0 2px 6px; padding-left: 14px; border-left: 2px solid #e5e7eb; }
.why-node.absent { color: #991b1b; } .why-node.holds { color: #166534; } .why-node.seen { color: var(--muted); }
.why-rule { color: var(--muted); } .why-reason { margin-left: 4px; }
table.rel tr.missing td { background: #fef2f2; color: #991b1b; text-decoration: line-through; }
"#;

/// The head of a page with the inline stylesheet.
fn page_head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        esc(title)
    )
}

const PAGE_FOOT: &str = "</main>\n</body>\n</html>\n";

fn verdict_banner(program: &Program, outcome: &Outcome, meta: &Meta) -> String {
    let b = esc(&meta.bounds);
    match outcome.verdict {
        Verdict::Certified => format!("<div class=\"banner good\">CERTIFIED: no fault scenario within {b} violates the invariant.<small>A bounded guarantee: longer runs, later omissions or more crashes are not covered.</small></div>\n"),
        Verdict::Counterexample => {
            let faults = outcome.counterexamples.first().map(|r| r.scenario.to_faults(program).to_string()).unwrap_or_default();
            format!("<div class=\"banner bad\">COUNTEREXAMPLE: <span class=\"mono\">{}</span> breaks the invariant.<small>within {b}</small></div>\n", esc(&faults))
        }
        Verdict::FaultFreeViolation => format!("<div class=\"banner bad\">VIOLATED WITHOUT FAULTS: the failure-free run already breaks the invariant.<small>within {b}</small></div>\n"),
        Verdict::BudgetExhausted => format!(
            "<div class=\"banner warn\">BUDGET EXHAUSTED: {}; no counterexample found so far, not certified.<small>within {b}</small></div>\n",
            esc(outcome.budget.as_deref().unwrap_or("budget spent"))
        ),
    }
}

fn glance(items: &[(&str, String)]) -> String {
    let mut out = String::from("<dl class=\"glance\">\n");
    for (k, v) in items {
        let _ = writeln!(out, "<dt>{}</dt><dd>{v}</dd>", esc(k));
    }
    out.push_str("</dl>\n");
    out
}

/// Violations, the why-not explanation and the replay command of a run, as HTML.
fn run_facts(program: &Program, run: &Run, baseline: &Run, meta: &Meta) -> String {
    let mut out = String::new();
    let violations = text::violations(program, run);
    if !violations.is_empty() {
        out.push_str("<p><b>Violated:</b></p><ul class=\"tight\">\n");
        for v in violations {
            let _ = writeln!(out, "<li class=\"mono\">{}</li>", esc(&v));
        }
        out.push_str("</ul>\n");
    }
    if run.is_violation() && has_faults(&run.scenario) && baseline.lineage.is_some() {
        if let Some(e) = lineage::explain_violation(program, run, baseline) {
            out.push_str(&explanation_html(&e));
        }
    }
    if !meta.replay.is_empty() {
        let flags = text::replay_flags(program, run);
        let cmd =
            if flags.is_empty() { meta.replay.clone() } else { format!("{} {flags}", meta.replay) };
        let _ = writeln!(out, "<p>Replay: <code>{}</code></p>", esc(&cmd));
    }
    out
}

// ---- the counterexample explanation ------------------------------------------------------

/// The why-not explanation of a counterexample: the tree as nested lists, then the same path
/// as a lineage graph of the faulty run (tuples it lacks dashed red, the faults that cut
/// them as crash boxes).
fn explanation_html(e: &Explanation) -> String {
    let mut out = format!(
        "<p><b>Why <span class=\"mono\">{}@{}</span> does not hold</b>, down to the injected faults (the derivations of the failure-free run, each with the literal that fails here):</p>\n<div class=\"why\">",
        esc(&e.root.tuple),
        e.root.time
    );
    explanation_node_html(&e.root, &mut out);
    out.push_str("</div>\n");
    let list = |fs: &[crate::faults::Fault]| {
        fs.iter().map(|f| esc(&f.to_string())).collect::<Vec<_>>().join(", ")
    };
    if !e.faults.is_empty() {
        let _ =
            writeln!(out, "<p>Faults reached: <span class=\"mono\">{}</span></p>", list(&e.faults));
    }
    if !e.other_faults.is_empty() {
        let _ = writeln!(
            out,
            "<p>Faults not on this path: <span class=\"mono\">{}</span></p>",
            list(&e.other_faults)
        );
    }
    let g = explanation_graph(e);
    if !g.nodes.is_empty() {
        out.push_str("<p class=\"caption\">The same path in the lineage of this run, time flowing down: red dashed boxes are tuples this run lacks (the failure-free run had them), white boxes tuples it has, violet boxes the injected faults; arrows go from a cause to what it explains.</p>\n");
        let _ = writeln!(out, "<div class=\"figure\">{}</div>", lineage_svg(&g));
    }
    out
}

fn explanation_node_html(n: &lineage::Node, out: &mut String) {
    let class = match n.kind {
        lineage::NodeKind::Absent => "absent",
        lineage::NodeKind::Holds => "holds",
        lineage::NodeKind::Fault => "fault",
        lineage::NodeKind::Seen | lineage::NodeKind::Truncated => "seen",
    };
    let _ = write!(out, "<div class=\"why-node {class} mono\">{}</div>", esc(&text::node_line(n)));
    if n.reasons.is_empty() {
        return;
    }
    out.push_str("<ul class=\"why\">");
    let mut last_rule: Option<&str> = None;
    for r in &n.reasons {
        out.push_str("<li>");
        if r.rule.as_deref() != last_rule {
            let _ = write!(
                out,
                "<div class=\"why-rule\">by <code>{}</code></div>",
                esc(r.rule.as_deref().unwrap_or("the fault scenario"))
            );
            last_rule = r.rule.as_deref();
        }
        let _ = write!(out, "<div class=\"why-reason mono\">{}</div>", esc(&text::reason_line(r)));
        for c in r.children.iter().filter(|c| c.kind != lineage::NodeKind::Fault) {
            explanation_node_html(c, out);
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
}

/// The explanation as a lineage graph: one box per tuple (or fault) it names, an edge from
/// each cause to what it explains.
fn explanation_graph(e: &Explanation) -> LineageGraph {
    let mut g = LineageGraph { compared: true, ..LineageGraph::default() };
    let mut index: BTreeMap<(String, u32), usize> = BTreeMap::new();
    let mut edges: BTreeSet<(usize, usize, bool)> = BTreeSet::new();
    graph_node(&e.root, true, &mut g, &mut index, &mut edges);
    g.edges = edges
        .into_iter()
        .map(|(from, to, cut)| dot::LinEdge {
            from,
            to,
            kind: if cut { EdgeKind::Cut } else { EdgeKind::Rule },
            label: String::new(),
        })
        .collect();
    g
}

/// Add a node's causes, then the node, to the graph; returns its index. Causes thus get
/// smaller ids than what they explain, which the layout's same-time ordering relies on.
fn graph_node(
    n: &lineage::Node,
    root: bool,
    g: &mut LineageGraph,
    index: &mut BTreeMap<(String, u32), usize>,
    edges: &mut BTreeSet<(usize, usize, bool)>,
) -> usize {
    let key = (n.tuple.clone(), n.time);
    let mut causes = Vec::new();
    for r in &n.reasons {
        for c in &r.children {
            let i = graph_node(c, false, g, index, edges);
            causes.push((i, c.kind == lineage::NodeKind::Fault));
        }
    }
    let me = match index.get(&key) {
        Some(&i) => i,
        None => {
            let kind = match n.kind {
                _ if root => NodeKind::Root,
                lineage::NodeKind::Fault => NodeKind::Crash,
                _ => NodeKind::Derived,
            };
            let label = if n.since < n.time {
                format!("{} ({}..{})", n.tuple, n.since, n.time)
            } else {
                n.tuple.clone()
            };
            g.nodes.push(dot::LinNode {
                tuple: g.nodes.len() as u32,
                time: n.time,
                label,
                kind,
                lost: n.kind == lineage::NodeKind::Absent,
                detail: text::node_line(n),
            });
            index.insert(key, g.nodes.len() - 1);
            g.nodes.len() - 1
        }
    };
    for (c, cut) in causes {
        if c != me {
            edges.insert((c, me, cut));
        }
    }
    me
}

/// The spec's `pre` and `post` rules and the header line used, as a card.
fn spec_card(program: &Program, meta: &Meta) -> String {
    let mut out = String::from("<div class=\"card\" id=\"spec\"><h2>The invariant</h2>\n");
    let rules: Vec<&str> = [program.pre_rel, program.post_rel]
        .into_iter()
        .flatten()
        .flat_map(|rel| program.rules.iter().filter(move |r| r.head_rel == rel))
        .map(|r| r.text.as_str())
        .collect();
    if rules.is_empty() {
        out.push_str("<p>The spec defines no <code>pre</code>/<code>post</code> rules.</p>\n");
    } else {
        out.push_str("<p class=\"caption\">A run violates the spec when a <code>pre</code> tuple holds at EOT without its <code>post</code> tuple. The rules:</p>\n<ul class=\"tight\">\n");
        for r in rules {
            let _ = writeln!(out, "<li class=\"mono\">{}</li>", esc(r));
        }
        out.push_str("</ul>\n");
    }
    match &meta.header {
        Some(h) => {
            let _ = writeln!(out, "<p>Header line used: <code>{}</code> (flags on the command line override it).</p>", esc(h));
        }
        None => out.push_str("<p>No header line was used: the bounds come from the command line and the defaults.</p>\n"),
    }
    out.push_str("</div>\n");
    out
}

/// On a certified result: what the guarantee covers and what it does not.
fn coverage_card(outcome: &Outcome, meta: &Meta) -> String {
    let s = &outcome.stats;
    let how = match meta.strategy.as_str() {
        "exhaustive" => format!(
            "every distinct effective fault set was run or cut: {} executions, {} timesteps simulated, {} branches cut because they reached a state already explored and found good",
            s.executions, s.timesteps, s.memo_hits
        ),
        _ => format!(
            "{} executions and {} hypotheses: after each good run the solver learned what would have to fail to break its lineage, until no fault set within the bounds was left that could",
            s.executions, s.hypotheses
        ),
    };
    format!(
        "<div class=\"card\" id=\"covered\"><h2>What was covered</h2>\n<p>Every fault scenario within <span class=\"mono\">{}</span>: a fault space of {} scenarios (each choice of up to the allowed crashes, each at a timestep, times each set of omissions sent before EFF). Covered by {}.</p>\n<p>Not covered: runs longer than EOT, omissions sent at or after EFF, more crashes, other nodes.</p></div>\n",
        esc(&meta.bounds),
        esc(&super::space::approx(&s.fault_space)),
        esc(&how)
    )
}

/// Why only some runs have a page.
fn pages_caption(outcome: &Outcome, pages: &Pages) -> String {
    let mut text = format!(
        "Every execution of the search in order (#0 is the failure-free run), counterexamples first. {} of them have a page: the counterexamples, the failure-free run, then the first other runs, up to {MAX_PAGES} pages (a page re-runs its execution with lineage, which the search does not keep).",
        pages.pages.len()
    );
    let listed = outcome.runs.len() as u64;
    if outcome.stats.executions > listed {
        let _ = write!(
            text,
            " The search ran {} executions; it keeps the first {listed} (the table lists those).",
            outcome.stats.executions
        );
    }
    if pages.rows.len() > MAX_ROWS {
        let _ = write!(text, " The table shows the first {MAX_ROWS} rows.");
    }
    text
}

fn verdict_tag(row: &Row) -> &'static str {
    if row.counterexample {
        "<span class=\"tag cx\">counterexample</span>"
    } else if row.violated {
        "<span class=\"tag violated\">violated</span>"
    } else {
        "<span class=\"tag ok\">invariant holds</span>"
    }
}

/// The table of runs, counterexamples first.
fn runs_table(rows: &[Row]) -> String {
    let mut out = String::from("<div class=\"scroll\"><table class=\"runs\" id=\"runs\">\n<thead><tr><th>#</th><th>fault set</th><th>verdict</th><th>time</th><th>page</th></tr></thead>\n<tbody>\n");
    for r in rows.iter().take(MAX_ROWS) {
        let link = if r.page {
            format!("<a href=\"run-{0}.html\">run-{0}.html</a>", r.index)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "<tr id=\"row-{}\"{}><td class=\"num\">{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{link}</td></tr>",
            r.index,
            if r.counterexample { " class=\"cx\"" } else { "" },
            r.index,
            esc(&r.faults),
            verdict_tag(r),
            r.micros.map(ms).unwrap_or_default()
        );
    }
    out.push_str("</tbody>\n</table></div>\n");
    if rows.len() > MAX_ROWS {
        let _ =
            writeln!(out, "<p class=\"caption\">… and {} more runs.</p>", rows.len() - MAX_ROWS);
    }
    out
}

/// The index of a search report.
pub fn check_index(program: &Program, outcome: &Outcome, meta: &Meta, pages: &Pages) -> String {
    let files = meta.files.join(" ");
    let mut out = page_head(&format!("ldfi check {files}"));
    let _ = writeln!(out, "<h1>ldfi check <span class=\"mono\">{}</span></h1>", esc(&files));
    out.push_str(&verdict_banner(program, outcome, meta));
    let s = &outcome.stats;
    out.push_str(&glance(&[
        ("verdict", esc(outcome.verdict.name())),
        ("bounds", format!("<span class=\"mono\">{}</span>", esc(&meta.bounds))),
        ("strategy", esc(&meta.strategy)),
        ("fault space", format!("{} scenarios", super::space::approx(&s.fault_space))),
        ("executions", s.executions.to_string()),
        ("hypotheses", s.hypotheses.to_string()),
        ("rule firings", s.firings.to_string()),
        (
            "time",
            format!(
                "{} total (evaluation {}, lineage and encoding {}, solving {})",
                dur(s.total_time),
                dur(s.eval_time),
                dur(s.lineage_time),
                dur(s.solve_time)
            ),
        ),
    ]));
    if outcome.verdict == Verdict::Certified {
        out.push_str(&coverage_card(outcome, meta));
    }
    out.push_str(&spec_card(program, meta));
    out.push_str("<h2>Runs</h2>\n");
    let _ = writeln!(out, "<p class=\"caption\">{}</p>", esc(&pages_caption(outcome, pages)));
    out.push_str(&runs_table(&pages.rows));
    let cx: Vec<&RunPage> = pages.pages.iter().filter(|p| p.counterexample).collect();
    for (k, p) in cx.iter().enumerate() {
        let faults = p.run.scenario.to_faults(program).to_string();
        let _ = writeln!(
            out,
            "<div class=\"card cx\" id=\"counterexample-{}\"><h2>Counterexample{}: <span class=\"mono\">{}</span></h2>",
            k + 1,
            if cx.len() > 1 { format!(" #{}", k + 1) } else { String::new() },
            esc(&faults)
        );
        out.push_str(&run_facts(program, &p.run, &pages.baseline, meta));
        if k == 0 {
            out.push_str(&spacetime_legend());
            let _ = writeln!(out, "<div class=\"figure\">{}</div>", spacetime_svg(program, &p.run));
        }
        let _ = writeln!(
            out,
            "<p><a href=\"run-{0}.html\">Run #{0}: space-time diagram, lineage and every relation per timestep →</a></p></div>",
            p.index
        );
    }
    out.push_str(PAGE_FOOT);
    out
}

/// The index of a single-run report.
pub fn run_index(program: &Program, run: &Run, meta: &Meta, pages: &Pages) -> String {
    let files = meta.files.join(" ");
    let faults = run.scenario.to_faults(program).to_string();
    let mut out = page_head(&format!("ldfi run {files}"));
    let _ = writeln!(out, "<h1>ldfi run <span class=\"mono\">{}</span></h1>", esc(&files));
    let banner = match (program.pre_rel.zip(program.post_rel), run.is_violation()) {
        (None, _) => "<div class=\"banner warn\">No invariant: the spec defines no <code>pre</code>/<code>post</code> relations.</div>\n".to_string(),
        (Some(_), true) => format!("<div class=\"banner bad\">Invariant VIOLATED at EOT {} with <span class=\"mono\">{}</span>.</div>\n", run.eot, esc(&faults)),
        (Some(_), false) => format!("<div class=\"banner good\">Invariant holds at EOT {} with <span class=\"mono\">{}</span>: every pre tuple has its post tuple.</div>\n", run.eot, esc(&faults)),
    };
    out.push_str(&banner);
    out.push_str(&glance(&[
        ("bounds", format!("<span class=\"mono\">{}</span>", esc(&meta.bounds))),
        ("faults", format!("<span class=\"mono\">{}</span>", esc(&faults))),
        ("messages", run.messages.len().to_string()),
        ("rule firings", run.firings.to_string()),
    ]));
    out.push_str(&run_facts(program, run, &pages.baseline, meta));
    out.push_str(&spec_card(program, meta));
    out.push_str("<h2>Runs</h2>\n");
    out.push_str(&runs_table(&pages.rows));
    out.push_str(PAGE_FOOT);
    out
}

/// The page of one run.
pub fn run_page(program: &Program, page: &RunPage, baseline: &Run, meta: &Meta) -> String {
    let run = &*page.run;
    let faults = run.scenario.to_faults(program).to_string();
    let mut out = page_head(&format!("run #{}: {faults}", page.index));
    out.push_str("<nav><a href=\"index.html\">← index</a></nav>\n");
    let tag = if page.counterexample {
        "<span class=\"tag cx\">counterexample</span>"
    } else if run.is_violation() {
        "<span class=\"tag violated\">violated</span>"
    } else {
        "<span class=\"tag ok\">invariant holds</span>"
    };
    let _ = writeln!(
        out,
        "<h1>Run #{}{}: <span class=\"mono\">{}</span> {tag}</h1>",
        page.index,
        if page.index == 0 && !has_faults(&run.scenario) { " (failure-free)" } else { "" },
        esc(&faults)
    );
    let mut items = vec![("bounds", format!("<span class=\"mono\">{}</span>", esc(&meta.bounds)))];
    if let Some(m) = page.micros {
        items.push(("evaluation time", ms(m)));
    }
    items.push(("messages", run.messages.len().to_string()));
    out.push_str(&glance(&items));
    out.push_str(&run_facts(program, run, baseline, meta));

    out.push_str("<h2 id=\"spacetime\">Space-time diagram</h2>\n");
    out.push_str("<p class=\"caption\">One lane per node, time flowing down. A message sent at t arrives at t+1. Hover an arrow for its tuple.</p>\n");
    out.push_str(&spacetime_legend());
    let _ = writeln!(out, "<div class=\"figure\">{}</div>", spacetime_svg(program, run));

    out.push_str("<h2 id=\"lineage\">Lineage of <code>post</code></h2>\n");
    let (reference, faulty) = dot::lineage_pair(run, Some(baseline));
    let g = dot::lineage_graph(program, reference, faulty);
    let caption = if g.unavailable {
        "No lineage: the spec has no <code>post</code> relation or the run recorded none."
            .to_string()
    } else if g.compared {
        "The lineage of the <code>post</code> tuples in the <b>failure-free</b> run (what this run should have derived), time flowing down. Red dashed arrows are messages the faults of this run cut; red dashed boxes are tuples this run lost.".to_string()
    } else if g.nodes.is_empty() {
        "No <code>post</code> tuple holds at EOT in this run.".to_string()
    } else {
        "The lineage of the <code>post</code> tuples at EOT in this run, time flowing down: each arrow goes from a tuple to a tuple derived from it. Hover a box for its derivations.".to_string()
    };
    let _ = writeln!(out, "<p class=\"caption\">{caption}</p>");
    if g.truncated {
        let _ = writeln!(out, "<p class=\"caption\">The graph has more than {} tuples: it shows the ones closest to <code>post</code>.</p>", dot::MAX_LINEAGE_NODES);
    }
    if !g.nodes.is_empty() {
        out.push_str(&lineage_legend(g.compared));
        let _ = writeln!(out, "<div class=\"figure\">{}</div>", lineage_svg(&g));
    }

    out.push_str("<h2 id=\"relations\">Relations per timestep</h2>\n");
    let compare = has_faults(&run.scenario) && !std::ptr::eq(run, baseline);
    if compare {
        out.push_str("<p class=\"caption\">Green rows are not in the failure-free run; red struck-through rows are in the failure-free run but not in this one.</p>\n");
    }
    out.push_str(&tables_html(program, run, compare.then_some(baseline)));
    out.push_str(PAGE_FOOT);
    out
}

/// Every non-empty relation at every timestep, compared with `baseline` when given.
pub fn tables_html(program: &Program, run: &Run, baseline: Option<&Run>) -> String {
    let mut rels: Vec<u32> = (0..program.rels.len() as u32).collect();
    rels.sort_by(|a, b| program.rel_name(*a).cmp(program.rel_name(*b)));
    let show = |vals: &[Value]| -> Vec<String> {
        vals.iter().map(|v| program.symbols.show(*v).to_string()).collect()
    };
    let mut out = String::from("<div class=\"steps\">\n");
    for t in 1..=run.eot {
        let _ = writeln!(
            out,
            "<section class=\"step\" id=\"t{t}\"><h3>t = {t}</h3><div class=\"rels\">"
        );
        for &rel in &rels {
            // (cells, class): present rows, then rows only the baseline has.
            let mut rows: BTreeMap<Vec<String>, &str> = BTreeMap::new();
            for id in run.tuples_at(rel, t) {
                let vals = &run.tuples.rec(id).vals;
                let new = baseline.is_some_and(|b| b.tuples.find(rel, vals, t).is_none());
                rows.insert(show(vals), if new { "new" } else { "" });
            }
            let present = rows.len();
            if let Some(b) = baseline {
                for id in b.tuples_at(rel, t) {
                    let vals = &b.tuples.rec(id).vals;
                    if run.tuples.find(rel, vals, t).is_none() {
                        rows.insert(show(vals), "missing");
                    }
                }
            }
            if rows.is_empty() {
                continue;
            }
            let _ = write!(
                out,
                "<table class=\"rel\"><caption>{} <span class=\"count\">({present})</span></caption><tbody>",
                esc(program.rel_name(rel))
            );
            for (cells, class) in rows {
                if class.is_empty() {
                    out.push_str("<tr>");
                } else {
                    let _ = write!(out, "<tr class=\"{class}\">");
                }
                for c in cells {
                    let _ = write!(out, "<td class=\"v\">{}</td>", esc(&c));
                }
                out.push_str("</tr>");
            }
            out.push_str("</tbody></table>\n");
        }
        out.push_str("</div></section>\n");
    }
    out.push_str("</div>\n");
    out
}

// ---- SVG helpers -------------------------------------------------------------------------

/// A filled triangle with its tip at (x2, y2), pointing away from (x1, y1).
fn arrowhead(x1: f64, y1: f64, x2: f64, y2: f64, size: f64) -> String {
    let (dx, dy) = (x2 - x1, y2 - y1);
    let len = (dx * dx + dy * dy).sqrt().max(1e-6);
    let (ux, uy) = (dx / len, dy / len);
    let (bx, by) = (x2 - ux * size, y2 - uy * size);
    let (nx, ny) = (-uy * size * 0.5, ux * size * 0.5);
    format!(
        "<polygon points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\"/>",
        x2,
        y2,
        bx + nx,
        by + ny,
        bx - nx,
        by - ny
    )
}

/// An ✗ of two strokes centred on (x, y).
fn cross(x: f64, y: f64, r: f64, class: &str) -> String {
    format!(
        "<line class=\"{class}\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/><line class=\"{class}\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>",
        x - r, y - r, x + r, y + r, x - r, y + r, x + r, y - r
    )
}

/// A bar across the direction (x1, y1) → (x2, y2), centred on (x2, y2).
fn tee(x1: f64, y1: f64, x2: f64, y2: f64, r: f64, class: &str) -> String {
    let (dx, dy) = (x2 - x1, y2 - y1);
    let len = (dx * dx + dy * dy).sqrt().max(1e-6);
    let (nx, ny) = (-dy / len * r, dx / len * r);
    format!(
        "<line class=\"{class}\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>",
        x2 + nx,
        y2 + ny,
        x2 - nx,
        y2 - ny
    )
}

fn svg_open(class: &str, w: f64, h: f64, label: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"{class}\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" role=\"img\" aria-label=\"{}\">",
        esc(label)
    )
}

fn icon(body: &str) -> String {
    format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"44\" height=\"18\" viewBox=\"0 0 44 18\">{body}</svg>")
}

/// The legend of the space-time diagram (HTML with small inline SVG icons).
pub fn spacetime_legend() -> String {
    let delivered = icon(&format!(
        "<g class=\"msg-icon delivered\" style=\"stroke:var(--delivered);fill:var(--delivered)\"><line x1=\"2\" y1=\"9\" x2=\"34\" y2=\"9\" stroke-width=\"2\"/>{}</g>",
        arrowhead(2.0, 9.0, 42.0, 9.0, 9.0)
    ));
    let omitted = icon(&format!(
        "<g style=\"stroke:var(--omitted)\"><line x1=\"2\" y1=\"9\" x2=\"28\" y2=\"9\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>{}</g>",
        cross(33.0, 9.0, 5.0, "x").replace("<line", "<line stroke-width=\"3\"")
    ));
    let lost = icon(&format!(
        "<g style=\"stroke:var(--lost)\"><line x1=\"2\" y1=\"9\" x2=\"30\" y2=\"9\" stroke-width=\"2\" stroke-dasharray=\"2 3\"/>{}</g>",
        tee(2.0, 9.0, 31.0, 9.0, 7.0, "x").replace("<line", "<line stroke-width=\"3\"")
    ));
    let crash = icon(&format!(
        "<g style=\"stroke:var(--crash)\" stroke-linecap=\"round\"><line x1=\"22\" y1=\"0\" x2=\"22\" y2=\"18\" stroke=\"#374151\" stroke-width=\"2\"/>{}</g>",
        cross(22.0, 9.0, 6.0, "x").replace("<line", "<line stroke-width=\"4\"")
    ));
    let after = icon("<line x1=\"22\" y1=\"0\" x2=\"22\" y2=\"18\" stroke=\"#9ca3af\" stroke-width=\"2\" stroke-dasharray=\"3 4\"/><circle cx=\"22\" cy=\"9\" r=\"4\" fill=\"white\" stroke=\"#9ca3af\"/>");
    let selfmsg = icon("<path d=\"M14 3 C 34 3, 34 15, 16 15\" fill=\"none\" stroke=\"#60a5fa\" stroke-width=\"1.5\"/><polygon points=\"14,15 21,11.5 21,18.5\" fill=\"#60a5fa\"/>");
    format!(
        "<div class=\"legend\"><span>{delivered} delivered (arrives at t+1)</span><span>{omitted} omitted (lost by the fault scenario)</span><span>{lost} lost: sender crashed</span><span>{crash} crash of the node</span><span>{after} crashed (still computes, sends nothing)</span><span>{selfmsg} message to itself</span></div>\n"
    )
}

/// The legend of the lineage graph.
pub fn lineage_legend(compared: bool) -> String {
    let boxi = |fill: &str, stroke: &str, dash: &str| {
        icon(&format!("<rect x=\"4\" y=\"2\" width=\"36\" height=\"14\" rx=\"4\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"{dash}/>"))
    };
    let edge = |stroke: &str, width: f64, dash: &str| {
        icon(&format!(
            "<line x1=\"2\" y1=\"9\" x2=\"34\" y2=\"9\" stroke=\"{stroke}\" stroke-width=\"{width}\"{dash}/><g fill=\"{stroke}\">{}</g>",
            arrowhead(2.0, 9.0, 42.0, 9.0, 9.0)
        ))
    };
    let mut out = String::from("<div class=\"legend\">");
    let _ = write!(out, "<span>{} <code>post</code> at EOT</span>", boxi("#dcfce7", "#15803d", ""));
    let _ = write!(out, "<span>{} derived tuple</span>", boxi("white", "#6b7280", ""));
    let _ = write!(out, "<span>{} fact</span>", boxi("#f3f4f6", "#6b7280", ""));
    let _ = write!(out, "<span>{} crash tuple</span>", boxi("#ede9fe", "#6d28d9", ""));
    if compared {
        let _ = write!(
            out,
            "<span>{} lost in this run</span>",
            boxi("#fee2e2", "#dc2626", " stroke-dasharray=\"4 3\"")
        );
    }
    let _ = write!(out, "<span>{} same-step rule</span>", edge("#4b5563", 1.3, ""));
    let _ = write!(
        out,
        "<span>{} <code>@next</code> (kept to the next step)</span>",
        edge("#b6bcc6", 1.3, " stroke-dasharray=\"2 3\"")
    );
    let _ = write!(out, "<span>{} message (<code>@async</code>)</span>", edge("#2563eb", 2.0, ""));
    if compared {
        let _ = write!(
            out,
            "<span>{} message cut by the faults</span>",
            edge("#dc2626", 3.5, " stroke-dasharray=\"7 4\"")
        );
    }
    out.push_str("</div>\n");
    out
}

// ---- the space-time diagram --------------------------------------------------------------

const ST_LEFT: f64 = 64.0;
const ST_TOP: f64 = 62.0;
const ST_ROW: f64 = 70.0;

fn msg_class(status: MsgStatus, selfmsg: bool) -> &'static str {
    match status {
        _ if selfmsg => "self",
        MsgStatus::Delivered => "delivered",
        MsgStatus::Omitted => "omitted",
        MsgStatus::SenderCrashed => "crashed",
    }
}

/// Most lanes of the SVG space-time diagram: a wider run shows the fifteen nodes that matter
/// most and a last lane, `+N others`, for the rest (see [`lanes`]).
pub const SVG_LANES: usize = 16;
/// Longest node name on a lane head (the full name is in its hover text).
pub const SVG_NAME: usize = 24;
/// Approximate advance of one character of an 11px label.
const LABEL_CHAR: f64 = 6.4;

/// One arrow of the diagram: a message between two nodes with lanes of their own, or every
/// message of one timestep, pair of lanes and status when one end is the "others" lane.
struct Arrow {
    t: u32,
    a: usize,
    b: usize,
    status: MsgStatus,
    /// Hover text.
    title: String,
    /// `data-from` / `data-to` (names; `+N others` for a group's shared end).
    from: String,
    to: String,
    rels: BTreeSet<String>,
    /// The destinations, named in the label of a group or of a lost message.
    dests: BTreeSet<String>,
    /// Messages it stands for (1 for a single message).
    count: usize,
}

/// The arrows of a run: one per message between shown lanes, one per group otherwise.
fn arrows(program: &Program, run: &Run, lanes: &Lanes) -> Vec<Arrow> {
    let name = |s: Sym| program.symbols.name(s).to_string();
    let (direct, groups) = split_messages(run, lanes);
    let mut out: Vec<Arrow> = direct
        .into_iter()
        .map(|m| Arrow {
            t: m.send_time,
            a: lanes.column(lanes.lane(m.from)),
            b: lanes.column(lanes.lane(m.to)),
            status: m.status,
            title: dot::message_text(program, m),
            from: name(m.from),
            to: name(m.to),
            rels: BTreeSet::from([program.rel_name(m.rel).to_string()]),
            dests: BTreeSet::from([short_name(&name(m.to), SVG_NAME)]),
            count: 1,
        })
        .collect();
    for ((t, a, b, _), msgs) in groups {
        let title = listing(msgs.iter().map(|m| dot::message_text(program, m)), msgs.len());
        let end = |lane: usize, n: Sym| {
            if lane == lanes.shown.len() {
                lanes.others_label()
            } else {
                name(n)
            }
        };
        out.push(Arrow {
            t,
            a,
            b,
            status: msgs[0].status,
            title,
            from: end(a, msgs[0].from),
            to: end(b, msgs[0].to),
            rels: msgs.iter().map(|m| program.rel_name(m.rel).to_string()).collect(),
            dests: msgs.iter().map(|m| short_name(&name(m.to), SVG_NAME)).collect(),
            count: msgs.len(),
        });
    }
    out.sort_by_key(|r| (r.t, r.a, r.b));
    out
}

/// The label of a channel: the relations it carried, and where it went when the arrow does
/// not show it (a lost message stops short; the "others" lane stands for many nodes).
fn channel_label(arrows: &[&Arrow], named: bool) -> String {
    let rels: BTreeSet<&str> =
        arrows.iter().flat_map(|r| r.rels.iter().map(String::as_str)).collect();
    let mut text = rels.into_iter().collect::<Vec<_>>().join(", ");
    if named {
        let dests: BTreeSet<&str> =
            arrows.iter().flat_map(|r| r.dests.iter().map(String::as_str)).collect();
        if dests.len() == 1 {
            let _ = write!(text, " →{}", dests.iter().next().copied().unwrap_or_default());
        } else {
            let _ = write!(text, " →{} nodes", dests.len());
        }
    }
    text
}

/// A label's box (x0, y0, x1, y1) for text at (x, y) with the given anchor.
type Rect = (f64, f64, f64, f64);

fn label_rect(x: f64, y: f64, anchor: &str, text: &str) -> Rect {
    let w = text.chars().count() as f64 * LABEL_CHAR + 4.0;
    let x0 = match anchor {
        "end" => x - w + 2.0,
        "middle" => x - w / 2.0,
        _ => x - 2.0,
    };
    (x0, y - 11.0, x0 + w, y + 3.0)
}

fn overlaps(a: &Rect, b: &Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// The space-time (Lamport) diagram of a run: one vertical lane per node, one row per
/// timestep, one arrow (an SVG group of class `msg`) per message of the run. A run with
/// more than [`SVG_LANES`] nodes draws the messages to and from the shared last lane as one
/// arrow per timestep, lanes and status (a group of class `group msg`). Channel labels
/// never overlap: a label goes at the first free place along its arrow, and is left out
/// (its arrow's hover text still says it) when there is none.
pub fn spacetime_svg(program: &Program, run: &Run) -> String {
    let lanes = Lanes::select(run, SVG_LANES);
    let name = |s: Sym| program.symbols.name(s).to_string();
    let mut heads: Vec<(String, String)> =
        lanes.shown.iter().map(|&n| (short_name(&name(n), SVG_NAME), name(n))).collect();
    if lanes.elided > 0 {
        let hidden = run.nodes.iter().filter(|&&n| lanes.lane(n) == Lane::Others).map(|&n| name(n));
        heads.push((lanes.others_label(), listing(hidden, lanes.elided)));
    }
    let gap =
        heads.iter().map(|(h, _)| h.chars().count() as f64 * 9.0 + 40.0).fold(190.0, f64::max);
    let n = heads.len().max(1) as f64;
    let x = |i: usize| ST_LEFT + gap * (i as f64 + 0.5);
    let y = |t: u32| ST_TOP + ST_ROW * (t as f64 - 1.0) + 16.0;
    let width = ST_LEFT + gap * n + 30.0;
    let height = y(run.eot) + 40.0;
    let mut out = svg_open("spacetime", width, height, "space-time diagram");
    for t in 1..=run.eot {
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{:.0}\" y1=\"{:.1}\" x2=\"{:.0}\" y2=\"{:.1}\"/><text class=\"tlabel\" x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">t = {t}</text>",
            ST_LEFT - 6.0, y(t), width - 10.0, y(t), ST_LEFT - 12.0, y(t) + 4.0
        );
    }
    // Lanes, events and crashes (drawn last, on top of the messages).
    let mut crashes = String::new();
    for (i, (head, full)) in heads.iter().enumerate() {
        let others = i == lanes.shown.len();
        let node = lanes.shown.get(i).copied();
        let label = esc(head);
        let w = head.chars().count() as f64 * 9.0 + 24.0;
        let _ = write!(
            out,
            "<g class=\"lane-head{}\"><title>{}</title><rect class=\"lane-box\" x=\"{:.1}\" y=\"14\" width=\"{w:.1}\" height=\"26\" rx=\"6\"/><text class=\"lane-name\" x=\"{:.1}\" y=\"32\" text-anchor=\"middle\">{label}</text></g>",
            if others { " others" } else { "" },
            esc(full),
            x(i) - w / 2.0,
            x(i)
        );
        let crash = node.and_then(|n| run.scenario.crash_time(n)).filter(|&c| c <= run.eot);
        let (top, bottom) = (y(1) - 18.0, y(run.eot) + 18.0);
        let split = crash.map_or(bottom, y);
        let _ = write!(
            out,
            "<line class=\"lane{cls}\" x1=\"{0:.1}\" y1=\"{top:.1}\" x2=\"{0:.1}\" y2=\"{split:.1}\"/>",
            x(i),
            cls = if others { " others" } else { "" }
        );
        if split < bottom {
            let _ = write!(out, "<line class=\"lane after-crash\" x1=\"{0:.1}\" y1=\"{split:.1}\" x2=\"{0:.1}\" y2=\"{bottom:.1}\"/>", x(i));
        }
        for t in 1..=run.eot {
            let after = crash.is_some_and(|c| c < t);
            let _ = write!(
                out,
                "<circle class=\"event{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\"/>",
                if after { " after-crash" } else { "" },
                x(i),
                y(t)
            );
        }
    }
    for &(node, c) in &run.scenario.crashes {
        if c == 0 || c > run.eot {
            continue;
        }
        let i = lanes.column(lanes.lane(node));
        let who = esc(&name(node));
        let _ = write!(
            crashes,
            "<g class=\"crash\"><title>{who} crashes at {c}: from then on it sends nothing (it still computes)</title>{}<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">CRASH</text></g>",
            cross(x(i), y(c), 9.0, "x"),
            x(i) - 14.0,
            y(c) + 4.0
        );
    }
    // Messages, grouped by channel so that parallel arrows do not overlap.
    let arrows = arrows(program, run, &lanes);
    let mut channels: BTreeMap<(u32, usize, usize), Vec<&Arrow>> = BTreeMap::new();
    for r in &arrows {
        channels.entry((r.t, r.a, r.b)).or_default().push(r);
    }
    let others_col = lanes.shown.len();
    for (&(t, a, b), ids) in &channels {
        let count = ids.len() as f64;
        for (j, r) in ids.iter().enumerate() {
            let class = msg_class(r.status, a == b);
            let group =
                if r.count > 1 || a == others_col || b == others_col { "group " } else { "" };
            let _ = write!(
                out,
                "<g class=\"{group}msg {class}\" data-from=\"{}\" data-to=\"{}\" data-sent=\"{t}\"{}><title>{}</title>",
                esc(&r.from),
                esc(&r.to),
                if group.is_empty() { String::new() } else { format!(" data-count=\"{}\"", r.count) },
                esc(&r.title)
            );
            if a == b {
                let off = 8.0 * j as f64;
                let (x0, y0, y1) = (x(a) + 5.0, y(t) + 4.0, y(t + 1) - 4.0);
                let bulge = x0 + 34.0 + off;
                let _ = write!(
                    out,
                    "<path d=\"M{x0:.1} {y0:.1} C {bulge:.1} {y0:.1}, {bulge:.1} {y1:.1}, {:.1} {y1:.1}\"/>{}",
                    x0 + 3.0,
                    arrowhead(bulge - 10.0, y1 - 2.0, x0 + 1.0, y1, 8.0)
                );
            } else {
                let off = (j as f64 - (count - 1.0) / 2.0) * 6.0;
                let (mut x1, mut y1, mut x2, mut y2) = (x(a), y(t), x(b), y(t + 1));
                let (dx, dy) = (x2 - x1, y2 - y1);
                let len = (dx * dx + dy * dy).sqrt();
                let (ux, uy) = (dx / len, dy / len);
                let (nx, ny) = (-uy * off, ux * off);
                x1 += ux * 6.0 + nx;
                y1 += uy * 6.0 + ny;
                x2 -= ux * 7.0 - nx;
                y2 -= uy * 7.0 - ny;
                match r.status {
                    MsgStatus::Delivered => {
                        let _ = write!(
                            out,
                            "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\"/>{}",
                            arrowhead(x1, y1, x2, y2, 10.0)
                        );
                    }
                    status => {
                        let (qx, qy) = (x1 + (x2 - x1) * 0.62, y1 + (y2 - y1) * 0.62);
                        let mark = if status == MsgStatus::Omitted {
                            cross(qx, qy, 6.0, "mark")
                        } else {
                            tee(x1, y1, qx, qy, 8.0, "mark")
                        };
                        let _ = write!(out, "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{qx:.1}\" y2=\"{qy:.1}\"/>{mark}");
                    }
                }
            }
            out.push_str("</g>");
        }
    }
    // One label per channel, self-messages first (their place is fixed), then lost
    // messages, then the rest; each at the first place along its arrow that is free.
    let mut order: Vec<(u32, usize, usize)> = channels.keys().copied().collect();
    order.sort_by_key(|k| (k.1 != k.2, channels[k][0].status == MsgStatus::Delivered));
    let mut placed: Vec<Rect> = Vec::new();
    let mut labels: BTreeMap<(u32, usize, usize), String> = BTreeMap::new();
    for (t, a, b) in order {
        let ids = &channels[&(t, a, b)];
        let lost = ids[0].status != MsgStatus::Delivered;
        let text = channel_label(ids, a != b && (lost || a == others_col || b == others_col));
        let class = msg_class(ids[0].status, false);
        let count = ids.len() as f64;
        let candidates: Vec<(f64, f64, &str)> = if a == b {
            vec![(x(a) + 44.0 + 8.0 * (count - 1.0), (y(t) + y(t + 1)) / 2.0 + 4.0, "start")]
        } else {
            let anchor = if b > a { "start" } else { "end" };
            [0.26, 0.42, 0.58, 0.18, 0.34, 0.5, 0.66, 0.74, 0.82]
                .iter()
                .map(|f| {
                    let lx = x(a) + (x(b) - x(a)) * f;
                    (lx, y(t) + (y(t + 1) - y(t)) * f - 4.0, anchor)
                })
                .collect()
        };
        let free = candidates.iter().find(|(lx, ly, anchor)| {
            let r = label_rect(*lx, *ly, anchor, &text);
            !placed.iter().any(|p| overlaps(p, &r))
        });
        let Some(&(lx, ly, anchor)) = free else { continue };
        placed.push(label_rect(lx, ly, anchor, &text));
        labels.insert(
            (t, a, b),
            format!(
                "<text class=\"mlabel {class}\" x=\"{lx:.1}\" y=\"{ly:.1}\" text-anchor=\"{anchor}\">{}</text>",
                esc(&text)
            ),
        );
    }
    out.push_str(&crashes);
    for l in labels.values() {
        out.push_str(l);
    }
    out.push_str("</svg>");
    out
}

// ---- the lineage graph -------------------------------------------------------------------

const LG_LEFT: f64 = 70.0;
const LG_ROW: f64 = 44.0;
const LG_BOX_H: f64 = 24.0;
const LG_GAP: f64 = 14.0;
const LG_CHAR: f64 = 6.7;
const LG_MAX_LABEL: usize = 44;

/// A node's position: (x of the left edge, y of the top edge, width).
type Place = (f64, f64, f64);

fn short_label(label: &str) -> String {
    if label.chars().count() <= LG_MAX_LABEL {
        return label.to_string();
    }
    let mut s: String = label.chars().take(LG_MAX_LABEL - 1).collect();
    s.push('…');
    s
}

fn box_width(label: &str) -> f64 {
    short_label(label).chars().count() as f64 * LG_CHAR + 16.0
}

/// Depth of each node within its timestep: 0 for tuples derived from earlier timesteps
/// (or facts), else one more than the deepest same-time tuple of its first derivation.
/// Only edges from older tuples count (tuple ids grow with derivation order), so the depth
/// is well defined even when recursive rules re-derive tuples.
fn depths(g: &LineageGraph) -> Vec<usize> {
    let mut order: Vec<usize> = (0..g.nodes.len()).collect();
    order.sort_by_key(|&i| g.nodes[i].tuple);
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); g.nodes.len()];
    for e in &g.edges {
        preds[e.to].push(e.from);
    }
    let mut depth = vec![0usize; g.nodes.len()];
    for &i in &order {
        let n = &g.nodes[i];
        depth[i] = preds[i]
            .iter()
            .filter(|&&p| g.nodes[p].time == n.time && g.nodes[p].tuple < n.tuple)
            .map(|&p| depth[p] + 1)
            .max()
            .unwrap_or(0);
    }
    depth
}

/// A timestep's band in the lineage graph: (timestep, top, bottom).
type Band = (u32, f64, f64);

/// Where everything of the lineage graph goes.
struct Layout {
    place: Vec<Place>,
    bands: Vec<Band>,
    width: f64,
    height: f64,
}

/// Centres of the nodes of one row packed left to right in the given order.
fn pack_row(row: &[usize], widths: &[f64], centers: &mut [f64]) {
    let mut cursor = LG_LEFT;
    for &i in row {
        centers[i] = cursor + widths[i] / 2.0;
        cursor += widths[i] + LG_GAP;
    }
}

/// One barycentre sweep: reorder each row (top-down, or bottom-up when `up`) by the mean
/// centre of each node's neighbours (`preds` going down, successors going up).
fn sweep(
    rows: &mut [Vec<usize>],
    nbrs: &[Vec<usize>],
    widths: &[f64],
    centers: &mut [f64],
    up: bool,
) {
    let order: Vec<usize> =
        if up { (0..rows.len()).rev().collect() } else { (0..rows.len()).collect() };
    for r in order {
        let key = |i: usize| -> f64 {
            let xs: Vec<f64> = nbrs[i].iter().map(|&p| centers[p]).collect();
            if xs.is_empty() {
                centers[i]
            } else {
                xs.iter().sum::<f64>() / xs.len() as f64
            }
        };
        let mut keyed: Vec<(f64, usize)> = rows[r].iter().map(|&i| (key(i), i)).collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        rows[r] = keyed.into_iter().map(|(_, i)| i).collect();
        pack_row(&rows[r], widths, centers);
    }
}

/// Lay the graph out: rows by (timestep, depth), top to bottom; within a row, an order
/// that keeps derivations short (barycentre sweeps down, up and down), then each node as
/// close as it fits below the mean x of the tuples it was derived from.
fn layout(g: &LineageGraph) -> Layout {
    let depth = depths(g);
    let mut keyed: BTreeMap<(u32, usize), Vec<usize>> = BTreeMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        keyed.entry((n.time, depth[i])).or_default().push(i);
    }
    let times: Vec<u32> = keyed.keys().map(|k| k.0).collect();
    let mut rows: Vec<Vec<usize>> = keyed.into_values().collect();
    for row in &mut rows {
        row.sort_by(|&a, &b| g.nodes[a].label.cmp(&g.nodes[b].label).then(a.cmp(&b)));
    }
    let (mut preds, mut succs) = (vec![Vec::new(); g.nodes.len()], vec![Vec::new(); g.nodes.len()]);
    for e in &g.edges {
        preds[e.to].push(e.from);
        succs[e.from].push(e.to);
    }
    let widths: Vec<f64> = g.nodes.iter().map(|n| box_width(&n.label)).collect();
    let mut centers = vec![0.0; g.nodes.len()];
    for row in &rows {
        pack_row(row, &widths, &mut centers);
    }
    sweep(&mut rows, &preds, &widths, &mut centers, false);
    sweep(&mut rows, &succs, &widths, &mut centers, true);
    sweep(&mut rows, &preds, &widths, &mut centers, false);
    let max_width = rows
        .iter()
        .map(|row| LG_LEFT + row.iter().map(|&i| widths[i] + LG_GAP).sum::<f64>())
        .fold(0.0, f64::max);
    // Final coordinates: top-down, each node under its predecessors when there is room.
    let mut place: Vec<Place> = vec![(0.0, 0.0, 0.0); g.nodes.len()];
    let mut placed = vec![false; g.nodes.len()];
    let mut bands: Vec<Band> = Vec::new();
    let (mut y, mut width) = (16.0, 0.0f64);
    for (r, row) in rows.iter().enumerate() {
        let t = times[r];
        if bands.last().map(|b| b.0) != Some(t) {
            if let Some(b) = bands.last_mut() {
                b.2 = y;
                y += 10.0;
            }
            bands.push((t, y, y));
            y += 8.0;
        }
        let mut cursor = LG_LEFT;
        // What the rest of the row needs: no node goes so far right that the row would be
        // wider than the widest packed row.
        let mut rest: f64 = row.iter().map(|&i| widths[i] + LG_GAP).sum();
        for &i in row {
            let limit = max_width - rest;
            rest -= widths[i] + LG_GAP;
            let xs: Vec<f64> = preds[i]
                .iter()
                .filter(|&&p| placed[p])
                .map(|&p| place[p].0 + place[p].2 / 2.0)
                .collect();
            let want = if xs.is_empty() {
                cursor
            } else {
                xs.iter().sum::<f64>() / xs.len() as f64 - widths[i] / 2.0
            };
            let x = want.min(limit).max(cursor);
            place[i] = (x, y, widths[i]);
            placed[i] = true;
            cursor = x + widths[i] + LG_GAP;
        }
        width = width.max(cursor);
        y += LG_ROW;
    }
    if let Some(b) = bands.last_mut() {
        b.2 = y;
    }
    Layout { place, bands, width: width + 10.0, height: y + 10.0 }
}

/// The curve and arrowhead of an edge between boxes whose top-centres are `from` and `to`:
/// down into the top of a later row, or, within a row (or upwards, for re-derivations),
/// into the bottom of the head.
fn edge_path(from: (f64, f64), to: (f64, f64), size: f64) -> String {
    let ((x1, top1), (x2, top2)) = (from, to);
    let y1 = top1 + LG_BOX_H;
    let (y2, c1, c2, tip) = if top2 > y1 {
        let bend = ((top2 - y1) / 2.0).max(22.0);
        (top2 - 1.0, y1 + bend, top2 - 1.0 - bend, -size)
    } else {
        let y2 = top2 + LG_BOX_H + 1.0;
        (y2, y1 + 18.0, y2 + 18.0, size)
    };
    format!(
        "<path d=\"M{x1:.1} {y1:.1} C {x1:.1} {c1:.1}, {x2:.1} {c2:.1}, {x2:.1} {y2:.1}\"/>{}",
        arrowhead(x2, y2 + tip, x2, y2, size)
    )
}

fn node_class(n: &dot::LinNode) -> String {
    let kind = match n.kind {
        NodeKind::Root => "root",
        NodeKind::Fact => "fact",
        NodeKind::Crash => "crash",
        NodeKind::Derived => "derived",
    };
    if n.lost {
        format!("tuple {kind} lost")
    } else {
        format!("tuple {kind}")
    }
}

/// The lineage graph as SVG, laid out here (no Graphviz): time as the vertical axis.
pub fn lineage_svg(g: &LineageGraph) -> String {
    let Layout { place, bands, width, height } = layout(g);
    let mut out = svg_open("lineage", width, height, "lineage graph of post");
    for (k, &(t, top, bottom)) in bands.iter().enumerate() {
        let _ = write!(
            out,
            "<rect class=\"band{}\" x=\"0\" y=\"{top:.1}\" width=\"{width:.0}\" height=\"{:.1}\"/><text class=\"tlabel\" x=\"10\" y=\"{:.1}\">t = {t}</text>",
            if k % 2 == 1 { " odd" } else { "" },
            bottom - top,
            top + 22.0
        );
    }
    // Edges under the nodes; cut edges last so that they are on top.
    let mut edges: Vec<&dot::LinEdge> = g.edges.iter().collect();
    edges.sort_by_key(|e| e.kind);
    for e in edges {
        let (fx, fy, fw) = place[e.from];
        let (tx, ty, tw) = place[e.to];
        let size = if e.kind == EdgeKind::Cut { 11.0 } else { 8.0 };
        let _ = write!(
            out,
            "<g class=\"edge {}\"><title>{}</title>{}</g>",
            e.kind.class(),
            esc(&e.label),
            edge_path((fx + fw / 2.0, fy), (tx + tw / 2.0, ty), size)
        );
    }
    for (i, n) in g.nodes.iter().enumerate() {
        let (x, y, w) = place[i];
        let _ = write!(
            out,
            "<g class=\"{}\"><title>{}</title><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{LG_BOX_H}\" rx=\"6\"/><text class=\"mono\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>",
            node_class(n),
            esc(&n.detail),
            x + w / 2.0,
            y + 16.0,
            esc(&short_label(&n.label))
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert(\"x\" & 'y')</script>"),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
    }

    #[test]
    fn long_labels_are_shortened() {
        let long = "r".repeat(100);
        assert_eq!(short_label(&long).chars().count(), LG_MAX_LABEL);
        assert_eq!(short_label("p(1)"), "p(1)");
    }

    #[test]
    fn arrowheads_point_along_the_line() {
        assert_eq!(
            arrowhead(0.0, 0.0, 10.0, 0.0, 4.0),
            "<polygon points=\"10.0,0.0 6.0,2.0 6.0,-2.0\"/>"
        );
    }
}
