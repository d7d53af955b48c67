//! Terminal output: relation tables per timestep, a space-time diagram (nodes as columns,
//! time as rows), lineage trees, and the outcome of a search.

use super::lanes::{any_name_cut, short_name, Lane, Lanes};
use crate::analysis::ir::{Program, Sym};
use crate::eval::{MsgStatus, Run, Source, TupleId};
use crate::lineage::{self, Explanation, NodeKind};
use crate::search::{Outcome, Progress, Verdict};
use std::collections::BTreeSet;
use std::fmt::Write;

pub fn tuple(program: &Program, run: &Run, id: TupleId) -> String {
    let rec = run.tuples.rec(id);
    format!("{}@{}", program.show_tuple(rec.rel, &rec.vals), rec.time)
}

/// Every non-empty relation at every timestep.
pub fn tables(program: &Program, run: &Run) -> String {
    let mut out = String::new();
    for t in 1..=run.eot {
        let _ = writeln!(out, "── timestep {t} ──");
        let mut rels: Vec<u32> = (0..program.rels.len() as u32).collect();
        rels.sort_by(|a, b| program.rel_name(*a).cmp(program.rel_name(*b)));
        for rel in rels {
            let mut rows: Vec<String> = run
                .tuples_at(rel, t)
                .iter()
                .map(|&id| program.show_tuple(rel, &run.tuples.rec(id).vals))
                .collect();
            if rows.is_empty() {
                continue;
            }
            rows.sort();
            for r in rows {
                let _ = writeln!(out, "  {r}");
            }
        }
    }
    out
}

/// Most columns of the terminal diagram: a run with more nodes shows the nine that matter
/// most and a last column, `+N others`, for the rest (see [`lanes`]).
pub const TEXT_LANES: usize = 10;
/// Longest node name in the terminal diagram; longer ones are cut with `…`.
pub const TEXT_NAME: usize = 16;
/// Most messages listed in one cell; the others are counted (`+4990→`).
pub const CELL_ENTRIES: usize = 4;

/// What one cell of the diagram shows: a crash, then distinct messages in send order.
#[derive(Debug, Clone, Default)]
struct Cell {
    crashes: Vec<String>,
    entries: Vec<(MsgStatus, String)>,
    seen: BTreeSet<String>,
    /// Receivers of delivered messages.
    delivered_to: BTreeSet<Sym>,
    /// Every receiver.
    sent_to: BTreeSet<Sym>,
}

impl Cell {
    fn add(&mut self, status: MsgStatus, to: Sym, entry: String) {
        if status == MsgStatus::Delivered {
            self.delivered_to.insert(to);
        }
        self.sent_to.insert(to);
        if self.seen.insert(entry.clone()) {
            self.entries.push((status, entry));
        }
    }

    /// The cell's text, whether some entries were only counted, and whether `→all` or
    /// `→rest` stands for messages to every other node. A node cell that
    /// reaches all `peers` other nodes (`peers` > 2) shows its delivered messages as `→all`,
    /// or `→rest` after the lost ones.
    fn render(&self, peers: usize) -> (String, bool, bool) {
        let mut parts = self.crashes.clone();
        if peers > 2 && self.sent_to.len() == peers && !self.delivered_to.is_empty() {
            let lost: Vec<&String> = self
                .entries
                .iter()
                .filter(|(st, _)| *st != MsgStatus::Delivered)
                .map(|(_, e)| e)
                .collect();
            if lost.len() < CELL_ENTRIES {
                parts.extend(lost.iter().map(|e| (*e).clone()));
                parts.push(if lost.is_empty() { "→all".into() } else { "→rest".into() });
                return (parts.join(" "), false, true);
            }
        }
        let cut = self.entries.len() > CELL_ENTRIES;
        if cut {
            // Lost messages first: they are what a reader looks for.
            let mut order: Vec<&(MsgStatus, String)> = self.entries.iter().collect();
            order.sort_by_key(|(st, _)| *st == MsgStatus::Delivered);
            parts.extend(order[..CELL_ENTRIES].iter().map(|(_, e)| e.clone()));
            for status in [MsgStatus::Omitted, MsgStatus::SenderCrashed, MsgStatus::Delivered] {
                let n = order[CELL_ENTRIES..].iter().filter(|(st, _)| *st == status).count();
                if n > 0 {
                    parts.push(format!("+{n}{}", mark(status)));
                }
            }
        } else {
            parts.extend(self.entries.iter().map(|(_, e)| e.clone()));
        }
        (parts.join(" "), cut, false)
    }
}

fn mark(status: MsgStatus) -> &'static str {
    match status {
        MsgStatus::Delivered => "→",
        MsgStatus::Omitted => "✗",
        MsgStatus::SenderCrashed => "✝",
    }
}

/// `text` padded with spaces to `width` characters (no formatting-width limit).
fn pad(out: &mut String, text: &str, width: usize) {
    out.push_str(text);
    let n = width.saturating_sub(text.chars().count());
    out.extend(std::iter::repeat_n(' ', n));
}

/// A space-time diagram: one column per node, one row per timestep. `→r1` is a message
/// delivered to r1 at t+1, `✗r2` a lost one, `CRASH` the crash of the node. Wide runs get
/// at most [`TEXT_LANES`] columns, names of at most [`TEXT_NAME`] characters and cells of
/// at most [`CELL_ENTRIES`] messages; a note under the diagram says what was left out.
pub fn diagram(program: &Program, run: &Run) -> String {
    let lanes = Lanes::select(run, TEXT_LANES);
    let name = |s: Sym| short_name(program.symbols.name(s), TEXT_NAME);
    let cols = lanes.count();
    let mut cells: Vec<Vec<Cell>> = vec![vec![Cell::default(); cols]; run.eot as usize];
    for m in &run.messages {
        if m.from == m.to || m.send_time == 0 || m.send_time > run.eot {
            continue;
        }
        let lane = lanes.lane(m.from);
        let entry = match lane {
            Lane::Node(_) => format!("{}{}", mark(m.status), name(m.to)),
            Lane::Others => format!("{}{}{}", name(m.from), mark(m.status), name(m.to)),
        };
        cells[m.send_time as usize - 1][lanes.column(lane)].add(m.status, m.to, entry);
    }
    for &(n, t) in &run.scenario.crashes {
        if (1..=run.eot).contains(&t) {
            let lane = lanes.lane(n);
            let text =
                if lane == Lane::Others { format!("CRASH {}", name(n)) } else { "CRASH".into() };
            cells[t as usize - 1][lanes.column(lane)].crashes.push(text);
        }
    }
    let (mut any_cut, mut any_all) = (false, false);
    let peers = run.nodes.len().saturating_sub(1);
    let rendered: Vec<Vec<String>> = cells
        .iter()
        .enumerate()
        .map(|(t, row)| {
            row.iter()
                .enumerate()
                .map(|(c, cell)| {
                    let (text, cut, all) =
                        if c < lanes.shown.len() { cell.render(peers) } else { cell.render(0) };
                    any_cut |= cut;
                    any_all |= all;
                    let crashed = lanes.shown.get(c).and_then(|&n| run.scenario.crash_time(n));
                    if text.is_empty() && crashed.is_some_and(|ct| (ct as usize) < t + 1) {
                        "·".to_string()
                    } else {
                        text
                    }
                })
                .collect()
        })
        .collect();
    let mut heads: Vec<String> = lanes.shown.iter().map(|&n| name(n)).collect();
    if lanes.elided > 0 {
        heads.push(lanes.others_label());
    }
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rendered
                .iter()
                .map(|r| r[c].chars().count())
                .chain([heads[c].chars().count(), 3])
                .max()
                .unwrap_or(3)
        })
        .collect();
    let mut out = String::new();
    out.push_str("  t |");
    for (c, head) in heads.iter().enumerate() {
        out.push(' ');
        pad(&mut out, head, widths[c]);
        out.push_str(" |");
    }
    out.push('\n');
    for (t, row) in rendered.iter().enumerate() {
        let _ = write!(out, "{:>3} |", t + 1);
        for (c, text) in row.iter().enumerate() {
            out.push(' ');
            pad(&mut out, text, widths[c]);
            out.push_str(" |");
        }
        out.push('\n');
    }
    out.push_str("    → delivered at t+1   ✗ omitted   ✝ lost: sender crashed   · crashed (still computes, sends nothing)\n");
    if lanes.elided > 0 {
        let _ = writeln!(
            out,
            "    {} of {} nodes share the column `{}` (lanes go first to crashed nodes, then to the ends of lost messages, senders, receivers); messages to them are named in their sender's cell",
            lanes.elided,
            run.nodes.len(),
            lanes.others_label()
        );
    }
    if any_name_cut(program, &run.nodes, TEXT_NAME) {
        let _ = writeln!(out, "    names longer than {TEXT_NAME} characters are cut with …");
    }
    if any_all {
        out.push_str("    →all: delivered to every other node   →rest: delivered to every other node not listed\n");
    }
    if any_cut {
        let _ = writeln!(
            out,
            "    a cell lists at most {CELL_ENTRIES} messages (lost ones first); +N→ +N✗ count the others"
        );
    }
    out
}

/// The lineage tree of a tuple: every derivation, shared subtrees printed once.
pub fn why(program: &Program, run: &Run, id: TupleId) -> String {
    let mut out = String::new();
    let mut seen = BTreeSet::new();
    why_rec(program, run, id, "", "", &mut seen, &mut out);
    out
}

fn why_rec(
    program: &Program,
    run: &Run,
    id: TupleId,
    first: &str,
    rest: &str,
    seen: &mut BTreeSet<TupleId>,
    out: &mut String,
) {
    let Some(lineage) = &run.lineage else { return };
    let label = tuple(program, run, id);
    if !seen.insert(id) {
        let _ = writeln!(out, "{first}{label}  (shown above)");
        return;
    }
    let _ = writeln!(out, "{first}{label}");
    let firings: Vec<_> = lineage.firings_of(id).collect();
    for (i, f) in firings.iter().enumerate() {
        let last = i + 1 == firings.len();
        let (branch, cont) = if last { ("└─ ", "   ") } else { ("├─ ", "│  ") };
        let desc = match f.source {
            Source::Fact => "fact".to_string(),
            Source::Crash => "crash oracle (fault scenario)".to_string(),
            Source::Rule(r) => {
                let mut d = format!("by {}", program.rules[r as usize].text);
                if let Some(m) = f.msg {
                    let m = &run.messages[m as usize];
                    let _ = write!(
                        d,
                        "  [message {}->{} sent at {}]",
                        program.symbols.name(m.from),
                        program.symbols.name(m.to),
                        m.send_time
                    );
                }
                d
            }
        };
        let _ = writeln!(out, "{rest}{branch}{desc}");
        let inner = format!("{rest}{cont}");
        let body = lineage.body_of(f);
        let negs = lineage.negs_of(f);
        for (j, &b) in body.iter().enumerate() {
            let last_child = j + 1 == body.len() && negs.len() == 0;
            let (b1, b2) = if last_child { ("└─ ", "   ") } else { ("├─ ", "│  ") };
            why_rec(program, run, b, &format!("{inner}{b1}"), &format!("{inner}{b2}"), seen, out);
        }
        for (j, n) in negs.clone().enumerate() {
            let b1 = if j + 1 == negs.len() { "└─ " } else { "├─ " };
            let args: Vec<String> = n
                .pattern
                .iter()
                .map(|v| v.map_or("_".to_string(), |v| program.symbols.show(v).to_string()))
                .collect();
            let _ = writeln!(
                out,
                "{inner}{b1}notin {}({})@{}",
                program.rel_name(n.rel),
                args.join(", "),
                n.time
            );
        }
    }
}

/// Messages in the lineage of `id` (in the run) that the scenario of `faulty` broke.
pub fn cut_messages(program: &Program, good: &Run, id: TupleId, faulty: &Run) -> Vec<String> {
    let Some(lineage) = &good.lineage else { return Vec::new() };
    let mut stack = vec![id];
    let mut seen = BTreeSet::new();
    let mut cut = BTreeSet::new();
    while let Some(t) = stack.pop() {
        if !seen.insert(t) {
            continue;
        }
        for f in lineage.firings_of(t) {
            stack.extend_from_slice(lineage.body_of(f));
            let Some(m) = f.msg else { continue };
            let m = &good.messages[m as usize];
            let omitted = faulty.scenario.omissions.contains(&(m.from, m.to, m.send_time));
            let crashed = faulty.scenario.crash_time(m.from).is_some_and(|c| c <= m.send_time)
                && m.from != m.to;
            if omitted || crashed {
                cut.insert(format!(
                    "{}->{}@{} {}{}",
                    program.symbols.name(m.from),
                    program.symbols.name(m.to),
                    m.send_time,
                    program.show_tuple(m.rel, &m.vals),
                    if omitted { " (omitted)" } else { " (sender crashed)" }
                ));
            }
        }
    }
    cut.into_iter().collect()
}

// ---- counterexample explanation (why-not of the violated post tuple) ---------------------

/// The why-not explanation of a counterexample as an indented tree, each line prefixed by
/// `indent`, ending with the injected faults it reaches.
pub fn explanation(e: &Explanation, indent: &str) -> String {
    let mut out = String::new();
    let to = if e.against_reference { ", down to the injected faults" } else { "" };
    let _ = writeln!(out, "{indent}why {}@{} does not hold{to}:", e.root.tuple, e.root.time);
    explain_node(&e.root, &format!("{indent}  "), &format!("{indent}  "), &mut out);
    let faults: Vec<String> = e.faults.iter().map(|f| f.to_string()).collect();
    if !faults.is_empty() {
        let _ = writeln!(out, "{indent}  faults reached: {}", faults.join(", "));
    }
    let others: Vec<String> = e.other_faults.iter().map(|f| f.to_string()).collect();
    if !others.is_empty() {
        let _ = writeln!(out, "{indent}  faults not on this path: {}", others.join(", "));
    }
    out
}

/// `log("r1", "m")@2..4`
fn node_times(n: &lineage::Node) -> String {
    if n.since < n.time {
        format!("{}@{}..{}", n.tuple, n.since, n.time)
    } else {
        format!("{}@{}", n.tuple, n.time)
    }
}

/// The one-line summary of an explanation node.
pub fn node_line(n: &lineage::Node) -> String {
    match n.kind {
        NodeKind::Absent if n.note.is_some() => {
            format!("{}@{} does not hold: {}", n.tuple, n.time, n.note.as_deref().unwrap_or(""))
        }
        NodeKind::Absent => {
            let at = if n.since < n.time {
                format!("at {}..{}", n.since, n.time)
            } else {
                format!("at {}", n.time)
            };
            let reference = match n.in_reference {
                Some(true) if n.since < n.time => {
                    " (it did in the failure-free run; @next has nothing to carry)"
                }
                Some(true) => " (it did in the failure-free run)",
                Some(false) => " (nor in the failure-free run)",
                None => "",
            };
            format!("{} does not hold {at}{reference}", n.tuple)
        }
        NodeKind::Holds => {
            let mut notes = Vec::new();
            if n.since < n.time {
                notes.push(format!("since {}, carried by @next", n.since));
            }
            match n.in_reference {
                Some(true) => notes.push("as in the failure-free run".into()),
                Some(false) => notes.push("not in the failure-free run".into()),
                None => {}
            }
            let notes =
                if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) };
            format!("{}@{} holds{notes}", n.tuple, n.time)
        }
        NodeKind::Fault => format!("FAULT {}", n.tuple),
        NodeKind::Seen => format!("{} (explained above)", node_times(n)),
        NodeKind::Truncated => {
            format!("{} (explanation cut here: depth or size limit)", node_times(n))
        }
    }
}

/// One reason: `@2 message s->r1@1 omitted`, with a lone fault inlined.
pub fn reason_line(r: &lineage::Reason) -> String {
    let mut line = format!("@{} {} {}", r.time, r.literal, r.status);
    if let [only] = r.children.as_slice() {
        if only.kind == NodeKind::Fault {
            let _ = write!(line, " (FAULT {})", only.tuple);
        }
    }
    if r.more > 0 {
        let _ = write!(line, " (and {} more)", r.more);
    }
    line
}

fn explain_node(n: &lineage::Node, first: &str, rest: &str, out: &mut String) {
    let _ = writeln!(out, "{first}{}", node_line(n));
    // Reasons grouped by rule, in order of first appearance; each group sorted by time.
    let mut groups: Vec<(Option<&str>, Vec<&lineage::Reason>)> = Vec::new();
    for r in &n.reasons {
        match groups.iter_mut().find(|(rule, _)| *rule == r.rule.as_deref()) {
            Some((_, g)) => g.push(r),
            None => groups.push((r.rule.as_deref(), vec![r])),
        }
    }
    for (gi, (rule, reasons)) in groups.iter().enumerate() {
        let last = gi + 1 == groups.len();
        let (branch, cont) = if last { ("└─ ", "   ") } else { ("├─ ", "│  ") };
        let _ = writeln!(out, "{rest}{branch}by {}", rule.unwrap_or("the fault scenario"));
        let inner = format!("{rest}{cont}");
        for r in reasons {
            // A body tuple whose own node says it all: print the node in its place.
            if let [only] = r.children.as_slice() {
                if r.literal == format!("{}@{}", only.tuple, only.time) && r.more == 0 {
                    explain_node(only, &format!("{inner}@{} ", r.time), &inner, out);
                    continue;
                }
            }
            let _ = writeln!(out, "{inner}{}", reason_line(r));
            let shown: Vec<&lineage::Node> = match r.children.as_slice() {
                [only] if only.kind == NodeKind::Fault => Vec::new(),
                cs => cs.iter().collect(),
            };
            for (ci, c) in shown.iter().enumerate() {
                let (b1, b2) =
                    if ci + 1 == shown.len() { ("└─ ", "   ") } else { ("├─ ", "│  ") };
                explain_node(c, &format!("{inner}{b1}"), &format!("{inner}{b2}"), out);
            }
        }
    }
}

/// The violated invariant tuples of a run, one line each.
pub fn violations(program: &Program, run: &Run) -> Vec<String> {
    run.violations
        .iter()
        .map(|&id| {
            let rec = run.tuples.rec(id);
            let post =
                program.post_rel.map_or("post".to_string(), |p| program.show_tuple(p, &rec.vals));
            format!(
                "{} holds at {} but {} does not",
                program.show_tuple(rec.rel, &rec.vals),
                run.eot,
                post
            )
        })
        .collect()
}

/// The progress line of a running search: `37 executions, 1.2k executions/s`, or for the
/// exhaustive search, whose executions share prefixes and can be few for a long time,
/// `3 executions, 120394 timesteps simulated, 5021 branches cut, 40.1k timesteps/s`.
pub fn progress_line(p: &Progress, exhaustive: bool, elapsed: std::time::Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = |n: u64| if secs > 0.0 { per_second(n as f64 / secs) } else { "-".to_string() };
    let executions = super::count(p.executions, "execution", "executions");
    if exhaustive {
        format!(
            "{executions}, {} timesteps simulated, {} branches cut, {} timesteps/s",
            p.timesteps,
            p.memo_hits,
            rate(p.timesteps)
        )
    } else {
        format!("{executions}, {} executions/s", rate(p.executions))
    }
}

/// `812`, `40.1k`, `2.3M`.
fn per_second(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.1}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn ms(d: std::time::Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The outcome of a search, for the terminal.
pub fn outcome(program: &Program, o: &Outcome, bounds: &str, replay: &str) -> String {
    let mut out = String::new();
    let s = &o.stats;
    match o.verdict {
        Verdict::Certified => {
            let _ = writeln!(
                out,
                "CERTIFIED: no fault scenario within {bounds} violates the invariant."
            );
            let _ = writeln!(out, "(a bounded guarantee: longer runs, later omissions or more crashes are not covered)");
        }
        Verdict::FaultFreeViolation => {
            let _ = writeln!(out, "VIOLATED WITHOUT FAULTS: the failure-free run already breaks the invariant ({bounds}).");
            for v in violations(program, &o.baseline) {
                let _ = writeln!(out, "  {v}");
            }
            out.push_str(&diagram(program, &o.baseline));
        }
        Verdict::BudgetExhausted => {
            let _ = writeln!(
                out,
                "BUDGET EXHAUSTED: {} (no counterexample found so far; not certified) within {bounds}.",
                o.budget.as_deref().unwrap_or("budget spent")
            );
        }
        Verdict::Counterexample => {
            for (i, run) in o.counterexamples.iter().enumerate() {
                let faults = run.scenario.to_faults(program);
                if i == 0 {
                    let _ = writeln!(out, "COUNTEREXAMPLE within {bounds}: {faults}");
                } else {
                    let _ = writeln!(out, "\nCOUNTEREXAMPLE #{}: {faults}", i + 1);
                }
                for v in violations(program, run) {
                    let _ = writeln!(out, "  violated: {v}");
                }
                out.push_str(&diagram(program, run));
                if let Some(e) = lineage::explain_violation(program, run, &o.baseline) {
                    out.push_str(&explanation(&e, "  "));
                }
                let _ = writeln!(out, "  replay: {replay} {}", replay_flags(program, run));
            }
        }
    }
    let _ = writeln!(
        out,
        "stats: fault space {} scenarios; {}; {}; eval {}, lineage+encoding {}, solving {}, total {}",
        super::space::approx(&s.fault_space),
        super::count(s.executions, "execution", "executions"),
        super::count(s.hypotheses, "hypothesis", "hypotheses"),
        ms(s.eval_time),
        ms(s.lineage_time),
        ms(s.solve_time),
        ms(s.total_time)
    );
    if s.timesteps > 0 {
        let _ = writeln!(
            out,
            "exhaustive: {} timesteps simulated, {} branches cut by memoization",
            s.timesteps, s.memo_hits
        );
    }
    if s.ground_atoms > 0 {
        let _ = writeln!(
            out,
            "exact model: {} ground tuples, {} rule instances, {} variables, {} clauses; {}, {} not replayed as violations",
            s.ground_atoms,
            s.ground_instances,
            s.vars,
            s.clauses,
            super::count(s.solver_calls, "solver call", "solver calls"),
            s.spurious
        );
    }
    if s.minimality_unproven {
        let _ = writeln!(
            out,
            "smallest not proven: the solver's budget ran out before it showed that no counterexample has fewer faults than this one"
        );
    }
    if s.decided_by_probe {
        let _ = writeln!(
            out,
            "decided by the short exhaustive probe that runs before the exact model is built"
        );
    }
    if let Some(why) = &s.fallback {
        let _ = writeln!(
            out,
            "decided by the exhaustive referee: the exact model is not available for this spec ({why})"
        );
    }
    out
}

/// `--omit 'a->b@1' --crash c@2` for a run's scenario (quoted: `>` is a shell redirection).
pub fn replay_flags(program: &Program, run: &Run) -> String {
    let mut parts = Vec::new();
    for &(a, b, t) in &run.scenario.omissions {
        parts.push(format!(
            "--omit '{}->{}@{}'",
            program.symbols.name(a),
            program.symbols.name(b),
            t
        ));
    }
    for &(n, t) in &run.scenario.crashes {
        parts.push(format!("--crash {}@{}", program.symbols.name(n), t));
    }
    parts.join(" ")
}
