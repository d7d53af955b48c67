//! Lineage queries over a run: why a tuple does *not* hold (why-not), followed down to the
//! injected faults. This is what a counterexample is explained by, in text, JSON and HTML,
//! and what `ldfi explain` prints for an absent tuple.
//!
//! The explanation is differential when a reference run (the failure-free run) is given:
//! a tuple the faulty run lacks but the reference had is explained by the reference's own
//! derivations (its rule instances), each with the one body literal that fails in the
//! faulty run; a `notin q(..)` that fails is explained by why the blocking `q` tuple holds
//! in the faulty run, and that in turn by the part of its derivation the reference run did
//! not have (a body tuple it lacked, or a `notin` its tuples used to block); a lost message
//! by the fault that cut it (an omission, or the sender's crash at or before the send).
//! Without a reference, rule instances are enumerated by a partial join over the faulty
//! run (the first body literal without a match fails). `@next` persistence chains are
//! collapsed into one node ("absent at 2..4", "held since 2"), shared subtrees are shown
//! once, and depth and size are capped so that the explanation stays short.

use crate::analysis::ir::{
    ArgPat, HeadTerm, IrExpr, IrRule, Program, RelId, Step, Sym, TimeRef, Value,
};
use crate::eval::{self, Firing, NegRef, Run, RunParams, Source, TupleId};
use crate::faults::Fault;
use crate::syntax::ast::HeadAnn;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeSet;

/// Deepest tuple node of an explanation (deeper ones are cut with a `truncated` node).
pub const MAX_DEPTH: usize = 12;
/// Most tuple nodes in one explanation.
pub const MAX_NODES: usize = 60;
/// Most tuples followed per literal (blocking tuples of a failing `notin`, matches of a
/// pattern in the reference run); the others are counted in [`Reason::more`].
pub const MAX_BRANCH: usize = 2;
/// Most rule instances enumerated per rule when there is no reference derivation.
const MAX_INSTANCES: usize = 4;

/// What a node of the explanation says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeKind {
    /// The tuple (pattern) does not hold in the faulty run at times `since..=time`.
    Absent,
    /// The tuple holds in the faulty run, since `since` (carried by `@next` up to `time`).
    Holds,
    /// An injected fault (`fault`).
    Fault,
    /// The same tuple is explained earlier in the tree.
    Seen,
    /// The depth or size cap was reached.
    Truncated,
}

/// One node of a why-not explanation.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub kind: NodeKind,
    /// `rel(args)` as ldfi prints tuples (`_` for any value); for a fault, the fault.
    pub tuple: String,
    pub time: u32,
    /// First time of a collapsed `@next` chain (equal to `time` when there is none).
    pub since: u32,
    /// Whether the tuple held at `time` in the reference (failure-free) run; `null`
    /// without a reference run.
    pub in_reference: Option<bool>,
    /// The injected fault of a `fault` node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// Why an `absent` node has no reasons (no rule derives the relation, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Why: for `absent`, the failing literal of each rule instance that could derive it;
    /// for `holds`, the parts of its derivation the reference run lacked. Sorted by time.
    pub reasons: Vec<Reason>,
}

/// One step of an explanation: a rule instance and its literal that matters.
#[derive(Debug, Clone, Serialize)]
pub struct Reason {
    /// The timestep of the instance's head.
    pub time: u32,
    /// The rule's text (`null` for a fact or the crash oracle).
    pub rule: Option<String>,
    /// The literal: `log("r1", "m")@3`, `notin missing(_, _, "m")@4`, `message s->r1@1`,
    /// `X > 2`.
    pub literal: String,
    /// What is the matter with it: `does not hold`, `holds`, `omitted`, ...
    pub status: String,
    /// The explanation of the literal.
    pub children: Vec<Node>,
    /// Further tuples of the literal that are not followed ([`MAX_BRANCH`]).
    pub more: usize,
}

/// The why-not of one missing tuple, down to the injected faults.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub root: Node,
    /// The injected faults the explanation reaches, in fault order.
    pub faults: Vec<Fault>,
    /// The faults of the run's scenario the explanation does not reach (they matter for
    /// something else, e.g. for the `pre` tuple to hold, or not at all).
    pub other_faults: Vec<Fault>,
    /// The explanation is told against a reference (failure-free) run.
    pub against_reference: bool,
}

/// Visit every node, parents first.
pub fn walk<'a>(n: &'a Node, f: &mut impl FnMut(&'a Node)) {
    f(n);
    for r in &n.reasons {
        for c in &r.children {
            walk(c, f);
        }
    }
}

/// The run with lineage recorded (re-evaluated when it was run without).
pub fn with_lineage<'a>(program: &Program, run: &'a Run) -> Cow<'a, Run> {
    if run.lineage.is_some() {
        return Cow::Borrowed(run);
    }
    let params = RunParams {
        eot: run.eot,
        nodes: run.nodes.clone(),
        lineage: true,
        tuple_cap: eval::DEFAULT_TUPLE_CAP,
    };
    match eval::run(program, &params, &run.scenario) {
        Ok(r) => Cow::Owned(r),
        Err(_) => Cow::Borrowed(run),
    }
}

/// Why the `post` tuple of the first violated `pre` tuple of `faulty` does not hold,
/// against the failure-free `reference` run. `None` when the run violates nothing.
pub fn explain_violation(program: &Program, faulty: &Run, reference: &Run) -> Option<Explanation> {
    let &v = faulty.violations.first()?;
    let post = program.post_rel?;
    let vals: Vec<Value> = faulty.tuples.rec(v).vals.to_vec();
    let f = with_lineage(program, faulty);
    let g = with_lineage(program, reference);
    Some(why_not(program, &f, Some(&g), post, &vals, faulty.eot))
}

/// Why `rel(vals)@time` does not hold in `run`; against `reference` when given.
pub fn why_not(
    program: &Program,
    run: &Run,
    reference: Option<&Run>,
    rel: RelId,
    vals: &[Value],
    time: u32,
) -> Explanation {
    let mut x = Explainer {
        program,
        f: run,
        g: reference.filter(|g| g.lineage.is_some()),
        seen: BTreeSet::new(),
        nodes: 0,
        faults: BTreeSet::new(),
    };
    let pattern: Vec<Option<Value>> = vals.iter().map(|v| Some(*v)).collect();
    let root = x.absent(rel, &pattern, time, 0);
    let other_faults =
        run.scenario.to_faults(program).0.into_iter().filter(|f| !x.faults.contains(f)).collect();
    let against_reference = x.g.is_some();
    Explanation { root, faults: x.faults.into_iter().collect(), other_faults, against_reference }
}

/// A tuple pattern: `None` is any value.
type Pattern = Vec<Option<Value>>;

/// What a node stands for, to show shared subtrees once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Absent(RelId, Pattern, u32),
    Holds(RelId, Vec<Value>, u32),
}

struct Explainer<'a> {
    program: &'a Program,
    /// The run being explained.
    f: &'a Run,
    /// The reference run (with lineage).
    g: Option<&'a Run>,
    seen: BTreeSet<Key>,
    nodes: usize,
    faults: BTreeSet<Fault>,
}

fn matches(pattern: &[Option<Value>], vals: &[Value]) -> bool {
    pattern.iter().zip(vals).all(|(p, v)| p.is_none_or(|p| p == *v))
}

fn ground(vals: &[Value]) -> Pattern {
    vals.iter().map(|v| Some(*v)).collect()
}

/// The tuples of `run` matching a pattern at a time, in insertion order.
fn matching(run: &Run, rel: RelId, pattern: &[Option<Value>], time: u32) -> Vec<TupleId> {
    let Some(store) = run.tuples.store(time) else { return Vec::new() };
    let Some(rs) = store.rels.get(rel as usize) else { return Vec::new() };
    if pattern.iter().all(Option::is_some) {
        let vals: Vec<Value> = pattern.iter().flatten().copied().collect();
        return rs.get(&vals).into_iter().collect();
    }
    rs.list.iter().copied().filter(|&id| matches(pattern, &run.tuples.rec(id).vals)).collect()
}

/// Same firing up to recording order (rules can rederive a tuple the same way).
fn firing_key(run: &Run, f: &Firing) -> (Source, Vec<TupleId>, Vec<NegRef>, Option<u32>) {
    let l = run.lineage.as_ref().expect("lineage");
    (f.source, l.body_of(f).to_vec(), l.negs_of(f).cloned().collect(), f.msg)
}

impl<'a> Explainer<'a> {
    fn show(&self, rel: RelId, pattern: &[Option<Value>]) -> String {
        let args: Vec<String> = pattern
            .iter()
            .map(|v| v.map_or("_".to_string(), |v| self.program.symbols.show(v).to_string()))
            .collect();
        format!("{}({})", self.program.rel_name(rel), args.join(", "))
    }

    fn name(&self, s: Sym) -> String {
        self.program.symbols.name(s).to_string()
    }

    fn in_g(&self, rel: RelId, pattern: &[Option<Value>], time: u32) -> Option<bool> {
        self.g.map(|g| !matching(g, rel, pattern, time).is_empty())
    }

    /// Enter a key: `Some` stub (`seen`/`truncated`) when the key was shown or a cap is
    /// reached, `None` when the node is to be explained.
    fn enter(&mut self, key: Key, label: String, time: u32, depth: usize) -> Option<Node> {
        let stub = |kind| Node {
            kind,
            tuple: label.clone(),
            time,
            since: time,
            in_reference: None,
            fault: None,
            note: None,
            reasons: Vec::new(),
        };
        if self.seen.contains(&key) {
            return Some(stub(NodeKind::Seen));
        }
        if depth >= MAX_DEPTH || self.nodes >= MAX_NODES {
            return Some(stub(NodeKind::Truncated));
        }
        self.seen.insert(key);
        self.nodes += 1;
        None
    }

    fn fault_node(&mut self, fault: Fault, time: u32) -> Node {
        self.faults.insert(fault.clone());
        Node {
            kind: NodeKind::Fault,
            tuple: fault.to_string(),
            time,
            since: time,
            in_reference: None,
            fault: Some(fault),
            note: None,
            reasons: Vec::new(),
        }
    }

    // ---- why not ------------------------------------------------------------------------

    /// Why no tuple matching `rel(pattern)` holds at `time`, following `@next` chains back.
    fn absent(&mut self, rel: RelId, pattern: &[Option<Value>], time: u32, depth: usize) -> Node {
        let label = self.show(rel, pattern);
        let key = Key::Absent(rel, pattern.to_vec(), time);
        if let Some(stub) = self.enter(key, label.clone(), time, depth) {
            return stub;
        }
        let in_reference = self.in_g(rel, pattern, time);
        let ground = pattern.iter().all(Option::is_some);
        // A pattern the reference matched: explain each tuple it had.
        if !ground && in_reference == Some(true) {
            let g = self.g.expect("reference");
            let ids = matching(g, rel, pattern, time);
            let more = ids.len().saturating_sub(MAX_BRANCH);
            let children = ids
                .iter()
                .take(MAX_BRANCH)
                .map(|&id| self.absent(rel, &ground_of(g, id), time, depth + 1))
                .collect();
            let reason = Reason {
                time,
                rule: None,
                literal: format!("{label}@{time}"),
                status: "matched these tuples in the failure-free run".into(),
                children,
                more,
            };
            return Node {
                kind: NodeKind::Absent,
                tuple: label,
                time,
                since: time,
                in_reference,
                fault: None,
                note: None,
                reasons: vec![reason],
            };
        }
        let mut since = time;
        let mut reasons = Vec::new();
        let mut t = time;
        loop {
            let (carry, mut rs) = self.absent_reasons(rel, pattern, t, depth);
            reasons.append(&mut rs);
            // Follow the chain only while the predecessor is absent for the same reason.
            let next = t - 1;
            if !carry || next == 0 {
                break;
            }
            let key = Key::Absent(rel, pattern.to_vec(), next);
            if !self.seen.insert(key) {
                break;
            }
            since = next;
            t = next;
        }
        reasons.sort_by_key(|r| r.time);
        let note = reasons.is_empty().then(|| self.no_reason(rel, since)).flatten();
        Node {
            kind: NodeKind::Absent,
            tuple: label,
            time,
            since,
            in_reference,
            fault: None,
            note,
            reasons,
        }
    }

    /// Why an absent tuple has no failing rule instance to show.
    fn no_reason(&self, rel: RelId, since: u32) -> Option<String> {
        let rules = &self.program.rules_by_head[rel as usize];
        Some(if rel == self.program.crash_rel.unwrap_or(RelId::MAX) {
            "the scenario crashes no such node".to_string()
        } else if rules.is_empty() {
            format!("no fact gives it and no rule derives `{}`", self.program.rel_name(rel))
        } else if since <= 1 {
            "no fact gives it at 1 and only same-step rules could derive it".to_string()
        } else {
            return None;
        })
    }

    /// The failing literal of every instance deriving `rel(pattern)@t`, and whether one of
    /// them is an `@next` carry of the same pattern from `t - 1` (not included: the caller
    /// follows the chain).
    fn absent_reasons(
        &mut self,
        rel: RelId,
        pattern: &[Option<Value>],
        t: u32,
        depth: usize,
    ) -> (bool, Vec<Reason>) {
        if let Some(g) = self.g {
            let ids = matching(g, rel, pattern, t);
            if let Some(&id) = ids.first() {
                return self.reference_reasons(g, id, depth);
            }
        }
        self.instance_reasons(rel, pattern, t, depth)
    }

    /// Differential: the reference derivations of tuple `id` (of `g`), each with the one
    /// literal that fails in the faulty run.
    fn reference_reasons(&mut self, g: &'a Run, id: TupleId, depth: usize) -> (bool, Vec<Reason>) {
        let lineage = g.lineage.as_ref().expect("reference lineage");
        let rec = g.tuples.rec(id);
        let mut seen = rustc_hash::FxHashSet::default();
        let mut carry = false;
        let mut reasons = Vec::new();
        for f in lineage.firings_of(id) {
            if !seen.insert(firing_key(g, f)) {
                continue;
            }
            let Source::Rule(r) = f.source else {
                // A fact or a crash tuple of the reference run: the faulty run differs in
                // its scenario, not in a derivation.
                continue;
            };
            let rule = &self.program.rules[r as usize];
            let body = lineage.body_of(f);
            // The carry of this very tuple from the previous timestep.
            if rule.ann == HeadAnn::Next
                && body.iter().any(|&b| {
                    let br = g.tuples.rec(b);
                    br.rel == rec.rel && br.vals == rec.vals && br.time + 1 == rec.time
                })
                && lineage.negs_of(f).len() == 0
                && self.f.tuples.find(rec.rel, &rec.vals, rec.time - 1).is_none()
            {
                carry = true;
                continue;
            }
            if let Some(reason) = self.broken_firing(g, f, rule, rec.time, depth) {
                reasons.push(reason);
            }
        }
        (carry, reasons)
    }

    /// The literal of a reference firing that fails in the faulty run: its message was
    /// lost, a body tuple is absent, or a `notin` now has a match.
    fn broken_firing(
        &mut self,
        g: &'a Run,
        f: &Firing,
        rule: &IrRule,
        time: u32,
        depth: usize,
    ) -> Option<Reason> {
        let lineage = g.lineage.as_ref().expect("reference lineage");
        let reason = |literal: String, status: String, children: Vec<Node>, more| Reason {
            time,
            rule: Some(rule.text.clone()),
            literal,
            status,
            children,
            more,
        };
        for &b in lineage.body_of(f) {
            let br = g.tuples.rec(b);
            if self.f.tuples.find(br.rel, &br.vals, br.time).is_none() {
                let child = self.absent(br.rel, &ground(&br.vals), br.time, depth + 1);
                let literal = format!("{}@{}", self.show(br.rel, &ground(&br.vals)), br.time);
                return Some(reason(literal, "does not hold".into(), vec![child], 0));
            }
        }
        for n in lineage.negs_of(f) {
            if let Some(r) = self.blocked(n, depth) {
                return Some(reason(r.0, r.1, r.2, r.3));
            }
        }
        if let Some(m) = f.msg.map(|m| &g.messages[m as usize]) {
            if let Some(node) = self.lost_message(m.from, m.to, m.send_time) {
                let literal =
                    format!("message {}->{}@{}", self.name(m.from), self.name(m.to), m.send_time);
                let status = match node.fault {
                    Some(Fault::Crash { ref node, time: c }) => {
                        format!("lost: sender {node} crashed at {c}")
                    }
                    _ => "omitted".to_string(),
                };
                return Some(reason(literal, status, vec![node], 0));
            }
        }
        None
    }

    /// A `notin` that fails in the faulty run: the tuples that block it, explained.
    fn blocked(&mut self, n: &NegRef, depth: usize) -> Option<(String, String, Vec<Node>, usize)> {
        let mut ids = matching(self.f, n.rel, &n.pattern, n.time);
        if ids.is_empty() {
            return None;
        }
        self.rank(&mut ids);
        let more = ids.len().saturating_sub(MAX_BRANCH);
        let children: Vec<Node> =
            ids.iter().take(MAX_BRANCH).map(|&id| self.holds(id, depth + 1)).collect();
        let literal = format!("notin {}@{}", self.show(n.rel, &n.pattern), n.time);
        let status = if children.len() + more == 1 {
            "is false: this tuple holds"
        } else {
            "is false: these tuples hold"
        };
        Some((literal, status.into(), children, more))
    }

    /// Order blocking tuples: new in the faulty run first, then by display.
    fn rank(&self, ids: &mut [TupleId]) {
        let key = |id: TupleId| {
            let r = self.f.tuples.rec(id);
            let old = self.g.is_some_and(|g| g.tuples.find(r.rel, &r.vals, r.time).is_some());
            (old, self.show(r.rel, &ground(&r.vals)))
        };
        ids.sort_by_cached_key(|&id| key(id));
    }

    /// The fault that lost message from->to sent at `t` in the faulty run, if it was lost.
    fn lost_message(&mut self, from: Sym, to: Sym, t: u32) -> Option<Node> {
        if from == to {
            return None;
        }
        let sc = &self.f.scenario;
        if let Some(c) = sc.crash_time(from).filter(|&c| c <= t) {
            let fault = Fault::Crash { node: self.name(from), time: c };
            return Some(self.fault_node(fault, c));
        }
        if sc.omissions.contains(&(from, to, t)) {
            let fault = Fault::Omit { from: self.name(from), to: self.name(to), time: t };
            return Some(self.fault_node(fault, t));
        }
        None
    }

    /// Without a reference derivation: enumerate the instances of each rule deriving the
    /// pattern by a partial join over the faulty run; each fails at its first literal.
    fn instance_reasons(
        &mut self,
        rel: RelId,
        pattern: &[Option<Value>],
        t: u32,
        depth: usize,
    ) -> (bool, Vec<Reason>) {
        let program = self.program;
        let mut carry = false;
        let mut reasons = Vec::new();
        for &r in &program.rules_by_head[rel as usize] {
            let rule = &program.rules[r as usize];
            let body_t = match rule.ann {
                HeadAnn::None => t,
                _ if t <= 1 => continue,
                _ => t - 1,
            };
            let Some(binding) = rule.bind_head(pattern) else { continue };
            let mut fails = Vec::new();
            partial_join(program, self.f, rule, &rule.full.steps, 0, binding, body_t, &mut fails);
            let mut shown = BTreeSet::new();
            for fail in fails {
                if let Failure::Positive(prel, ref p, _) = fail {
                    if rule.ann == HeadAnn::Next && prel == rel && p.as_slice() == pattern {
                        carry = true;
                        continue;
                    }
                }
                if shown.len() >= MAX_INSTANCES {
                    break;
                }
                if !shown.insert(format!("{fail:?}")) {
                    continue;
                }
                if let Some(reason) = self.failure_reason(rule, fail, t, depth) {
                    reasons.push(reason);
                }
            }
        }
        (carry, reasons)
    }

    fn failure_reason(
        &mut self,
        rule: &IrRule,
        fail: Failure,
        t: u32,
        depth: usize,
    ) -> Option<Reason> {
        let reason = |literal: String, status: &str, children: Vec<Node>, more| Reason {
            time: t,
            rule: Some(rule.text.clone()),
            literal,
            status: status.to_string(),
            children,
            more,
        };
        Some(match fail {
            Failure::Positive(rel, p, pt) => {
                let literal = format!("{}@{pt}", self.show(rel, &p));
                let child = self.absent(rel, &p, pt, depth + 1);
                reason(literal, "does not hold", vec![child], 0)
            }
            Failure::Negated(n) => {
                let (literal, status, children, more) = self.blocked(&n, depth)?;
                reason(literal, &status, children, more)
            }
            Failure::Condition(text) => reason(text, "is false", Vec::new(), 0),
            Failure::Message(from, to, st) => {
                let node = self.lost_message(from, to, st)?;
                let literal = format!("message {}->{}@{st}", self.name(from), self.name(to));
                reason(literal, "lost", vec![node], 0)
            }
        })
    }

    // ---- why it holds -------------------------------------------------------------------

    /// Why tuple `id` of the faulty run holds: the part of its derivation that the
    /// reference run did not have, after following its `@next` chain back.
    fn holds(&mut self, id: TupleId, depth: usize) -> Node {
        let f = self.f;
        let rec = f.tuples.rec(id);
        let (rel, vals) = (rec.rel, rec.vals.to_vec());
        let label = self.show(rel, &ground(&vals));
        if let Some(stub) =
            self.enter(Key::Holds(rel, vals.clone(), rec.time), label.clone(), rec.time, depth)
        {
            return stub;
        }
        let in_reference = self.in_g(rel, &ground(&vals), rec.time);
        let mut node = Node {
            kind: NodeKind::Holds,
            tuple: label,
            time: rec.time,
            since: rec.time,
            in_reference,
            fault: None,
            note: None,
            reasons: Vec::new(),
        };
        if in_reference == Some(true) {
            return node;
        }
        let Some(lineage) = &f.lineage else { return node };
        // Walk the carry chain back while the reference lacks the tuple too.
        let mut cur = id;
        loop {
            let r = f.tuples.rec(cur);
            let prev = lineage.firings_of(cur).find_map(|fi| {
                let Source::Rule(ru) = fi.source else { return None };
                if self.program.rules[ru as usize].ann != HeadAnn::Next {
                    return None;
                }
                lineage.body_of(fi).iter().copied().find(|&b| {
                    let br = f.tuples.rec(b);
                    br.rel == r.rel && br.vals == r.vals && br.time + 1 == r.time
                })
            });
            match prev {
                Some(p) if self.in_g(rel, &ground(&vals), f.tuples.rec(p).time) != Some(true) => {
                    self.seen.insert(Key::Holds(rel, vals.clone(), f.tuples.rec(p).time));
                    cur = p;
                }
                _ => break,
            }
        }
        node.since = f.tuples.rec(cur).time;
        // The first non-carry firing with a part the reference lacked.
        let firings: Vec<&Firing> = lineage.firings_of(cur).collect();
        for fi in firings {
            if let Some(reason) = self.appeared(cur, fi, depth) {
                node.reasons.push(reason);
                break;
            }
        }
        node
    }

    /// What made a firing of the faulty run possible that the reference run lacked.
    fn appeared(&mut self, head: TupleId, fi: &Firing, depth: usize) -> Option<Reason> {
        let f = self.f;
        let lineage = f.lineage.as_ref()?;
        let time = f.tuples.rec(head).time;
        match fi.source {
            Source::Fact => None,
            Source::Crash => {
                let vals = &f.tuples.rec(head).vals;
                let (Some(Value::Sym(n)), Some(Value::Int(ct))) = (vals.get(1), vals.get(2)) else {
                    return None;
                };
                let node = self
                    .fault_node(Fault::Crash { node: self.name(*n), time: *ct as u32 }, *ct as u32);
                Some(Reason {
                    time,
                    rule: None,
                    literal: "crash oracle".into(),
                    status: "the scenario crashes this node".into(),
                    children: vec![node],
                    more: 0,
                })
            }
            Source::Rule(r) => {
                let program = self.program;
                let rule = &program.rules[r as usize];
                let reason = |literal: String, status: &str, children, more| Reason {
                    time,
                    rule: Some(rule.text.clone()),
                    literal,
                    status: status.to_string(),
                    children,
                    more,
                };
                if rule.ann == HeadAnn::Next
                    && lineage.body_of(fi).iter().any(|&b| {
                        let br = f.tuples.rec(b);
                        let hr = f.tuples.rec(head);
                        br.rel == hr.rel && br.vals == hr.vals
                    })
                {
                    return None;
                }
                if self.g.is_none() {
                    // Without a reference nothing tells which part matters: list the body.
                    let mut parts: Vec<String> = lineage
                        .body_of(fi)
                        .iter()
                        .map(|&b| {
                            let br = f.tuples.rec(b);
                            format!("{}@{}", self.show(br.rel, &ground(&br.vals)), br.time)
                        })
                        .collect();
                    parts.extend(
                        lineage
                            .negs_of(fi)
                            .map(|n| format!("notin {}@{}", self.show(n.rel, &n.pattern), n.time)),
                    );
                    return Some(reason(parts.join(", "), "hold", Vec::new(), 0));
                }
                for &b in lineage.body_of(fi) {
                    let br = f.tuples.rec(b);
                    if self.in_g(br.rel, &ground(&br.vals), br.time) == Some(false) {
                        let literal =
                            format!("{}@{}", self.show(br.rel, &ground(&br.vals)), br.time);
                        let child = self.holds(b, depth + 1);
                        return Some(reason(
                            literal,
                            "holds (it did not in the failure-free run)",
                            vec![child],
                            0,
                        ));
                    }
                }
                for n in lineage.negs_of(fi) {
                    let g = self.g?;
                    let ids = matching(g, n.rel, &n.pattern, n.time);
                    if ids.is_empty() {
                        continue;
                    }
                    let literal = format!("notin {}@{}", self.show(n.rel, &n.pattern), n.time);
                    let more = ids.len().saturating_sub(MAX_BRANCH);
                    let children = ids
                        .iter()
                        .take(MAX_BRANCH)
                        .map(|&id| self.absent(n.rel, &ground_of(g, id), n.time, depth + 1))
                        .collect();
                    return Some(reason(
                        literal,
                        "is true (it was false in the failure-free run)",
                        children,
                        more,
                    ));
                }
                // An aggregate over fewer bindings: the reference's value of the same group
                // is what is missing.
                let pos = rule.agg?;
                let g = self.g?;
                let hr = f.tuples.rec(head);
                let mut group: Pattern = ground(&hr.vals);
                group[pos] = None;
                let ids: Vec<TupleId> = matching(g, hr.rel, &group, time)
                    .into_iter()
                    .filter(|&id| f.tuples.find(hr.rel, &g.tuples.rec(id).vals, time).is_none())
                    .collect();
                if ids.is_empty() {
                    return None;
                }
                let more = ids.len().saturating_sub(MAX_BRANCH);
                let children = ids
                    .iter()
                    .take(MAX_BRANCH)
                    .map(|&id| self.absent(hr.rel, &ground_of(g, id), time, depth + 1))
                    .collect();
                Some(reason(
                    format!("{}@{time}", self.show(hr.rel, &group)),
                    "aggregates other bindings than in the failure-free run, which had",
                    children,
                    more,
                ))
            }
        }
    }
}

fn ground_of(run: &Run, id: TupleId) -> Pattern {
    ground(&run.tuples.rec(id).vals)
}

/// Why a partial rule instance does not derive: its first literal without a match.
#[derive(Debug, Clone)]
enum Failure {
    /// No tuple matches this positive atom (pattern, time).
    Positive(RelId, Pattern, u32),
    /// A tuple matches this negated atom.
    Negated(NegRef),
    /// A condition is false (its text with the binding).
    Condition(String),
    /// Every literal holds; the head is a message from->to sent at the time, lost.
    Message(Sym, Sym, u32),
}

/// Cap on recorded failures per rule (the join can branch).
const MAX_FAILURES: usize = 32;

#[allow(clippy::too_many_arguments)]
fn partial_join(
    program: &Program,
    run: &Run,
    rule: &IrRule,
    steps: &[Step],
    i: usize,
    binding: Vec<Option<Value>>,
    t: u32,
    out: &mut Vec<Failure>,
) {
    if out.len() >= MAX_FAILURES {
        return;
    }
    let Some(step) = steps.get(i) else {
        if rule.ann == HeadAnn::Async {
            let from = value_of(rule.location, &binding);
            let to = match rule.head.first() {
                Some(HeadTerm::Expr(e)) => e.eval_partial(&binding),
                _ => None,
            };
            if let (Some(Value::Sym(a)), Some(Value::Sym(b))) = (from, to) {
                out.push(Failure::Message(a, b, t));
            }
        }
        return;
    };
    let at = |time: TimeRef| match time {
        TimeRef::Now => Some(t),
        TimeRef::At(a) if a <= t => Some(a),
        TimeRef::At(_) => None,
    };
    match step {
        Step::Scan { rel, time, args, .. } => {
            let pattern: Pattern = args.iter().map(|a| value_of(*a, &binding)).collect();
            let Some(bt) = at(*time) else {
                out.push(Failure::Positive(*rel, pattern, t));
                return;
            };
            let ids = matching(run, *rel, &pattern, bt);
            if ids.is_empty() {
                out.push(Failure::Positive(*rel, pattern, bt));
                return;
            }
            for id in ids {
                let vals = &run.tuples.rec(id).vals;
                let mut b = binding.clone();
                for (a, v) in args.iter().zip(vals.iter()) {
                    if let ArgPat::Bind(x) | ArgPat::Check(x) = a {
                        b[*x as usize] = Some(*v);
                    }
                }
                partial_join(program, run, rule, steps, i + 1, b, t, out);
            }
        }
        Step::Absent { rel, time, args, .. } => {
            let pattern: Pattern = args.iter().map(|a| value_of(*a, &binding)).collect();
            if let Some(bt) = at(*time) {
                if !matching(run, *rel, &pattern, bt).is_empty() {
                    out.push(Failure::Negated(NegRef {
                        rel: *rel,
                        time: bt,
                        pattern: pattern.into_boxed_slice(),
                    }));
                    return;
                }
            }
            partial_join(program, run, rule, steps, i + 1, binding, t, out);
        }
        Step::Filter { lhs, op, rhs } => {
            let (a, b) = (lhs.eval_partial(&binding), rhs.eval_partial(&binding));
            if let (Some(a), Some(b)) = (a, b) {
                if !compare(program, a, *op, b) {
                    let show = |e: &IrExpr| show_expr(program, rule, e, &binding);
                    out.push(Failure::Condition(format!(
                        "{} {} {}",
                        show(lhs),
                        op.symbol(),
                        show(rhs)
                    )));
                    return;
                }
            }
            partial_join(program, run, rule, steps, i + 1, binding, t, out);
        }
    }
}

fn value_of(a: ArgPat, binding: &[Option<Value>]) -> Option<Value> {
    match a {
        ArgPat::Const(c) => Some(c),
        ArgPat::Bind(v) | ArgPat::Check(v) => binding[v as usize],
        ArgPat::Wild => None,
    }
}

/// A condition under values; an ordering of a string against an integer counts as true
/// (no failure is claimed that evaluation would have reported as an error).
fn compare(program: &Program, a: Value, op: crate::syntax::ast::CmpOp, b: Value) -> bool {
    use crate::syntax::ast::CmpOp;
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        _ => program.symbols.compare(a, b).is_none_or(|o| match op {
            CmpOp::Lt => o.is_lt(),
            CmpOp::Gt => o.is_gt(),
            CmpOp::Le => o.is_le(),
            _ => o.is_ge(),
        }),
    }
}

/// An expression with its variables' values substituted where bound.
fn show_expr(program: &Program, rule: &IrRule, e: &IrExpr, binding: &[Option<Value>]) -> String {
    let show = |e| show_expr(program, rule, e, binding);
    match e {
        IrExpr::Var(v) => match binding[*v as usize] {
            Some(x) => program.symbols.show(x).to_string(),
            None => rule.var_names[*v as usize].clone(),
        },
        IrExpr::Const(c) => program.symbols.show(*c).to_string(),
        IrExpr::Neg(a) => format!("-{}", show(a)),
        IrExpr::Bin(op, a, b) => format!("({} {} {})", show(a), op.symbol(), show(b)),
    }
}
