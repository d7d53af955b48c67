//! One run's encoding: b(x) ("x is lost") and h(x) ("x may still hold") of the run's
//! tuples, from the firings that derived them.
//!
//! For a good run with fault set F, b(x) implies that every firing of x is broken; a
//! firing is broken only if a body tuple is lost, its message is omitted or its sender is
//! down, or (negative support, see `gain`) a relation it read with `notin` (or aggregated
//! over) can gain a tuple. Only these one-way implications are encoded, so a satisfying
//! assignment can claim more breakage than is real (an extra run) but never less (a missed
//! bug). The clause group of F is guarded by `AND F` (see [`Encoder::learn`]), so runs
//! teach the solver without excluding other hypotheses. h(x) implies that some firing of x
//! survives or x gets a new derivation.

use super::lower::{Absence, LOWER_DEPTH};
use super::pattern::{at, atom_pattern, matches};
use super::{Encoder, Pattern, TupleKey};
use crate::analysis::ir::{RelId, Sym, Value};
use crate::eval::{Run, Source, TupleId};
use crate::syntax::ast::HeadAnn;
use rustc_hash::FxHashMap;
use rustsat::types::Lit;

/// The variables of one run's encoding.
pub(super) struct RunEncoding<'r> {
    pub(super) run: &'r Run,
    /// The run's crashes (node, time): their crash tuples are the run's own, not gains.
    pub(super) crashes: Vec<(Sym, u32)>,
    /// b(x) of the run's tuples met so far (shared literals, each tuple encoded once per run).
    tuple: FxHashMap<TupleId, Lit>,
    pub(super) gain: FxHashMap<(RelId, Pattern, u32), Option<Lit>>,
    pub(super) loss: FxHashMap<(RelId, Pattern, u32), Option<Lit>>,
    pub(super) anycrash: Option<Option<Lit>>,
    queue: Vec<TupleId>,
    /// h(x): x may still hold under the hypothesis (an over-approximation of holding).
    holds: FxHashMap<TupleId, Lit>,
    hqueue: Vec<TupleId>,
    /// Gain patterns being encoded (a guard against recursion; see `gain_var`).
    pub(super) active: rustc_hash::FxHashSet<(RelId, Pattern, u32)>,
    /// b(z) of tuples the run lacks, given their lower bound in this run.
    pub(super) absent: FxHashMap<TupleKey, Lit>,
    /// Tuples whose h got instance lower bounds in this run, with the depth used.
    pub(super) lowered: FxHashMap<TupleKey, u32>,
    /// nd(x): x gets a derivation the run does not have (for the run's tuples).
    pub(super) new_derivation: FxHashMap<TupleId, Option<Lit>>,
}

impl<'r> RunEncoding<'r> {
    /// An empty encoding of `run`, whose own crashes are `crashes`.
    pub(super) fn new(run: &'r Run, crashes: Vec<(Sym, u32)>) -> Self {
        RunEncoding {
            run,
            crashes,
            tuple: FxHashMap::default(),
            gain: FxHashMap::default(),
            loss: FxHashMap::default(),
            anycrash: None,
            queue: Vec::new(),
            holds: FxHashMap::default(),
            hqueue: Vec::new(),
            active: Default::default(),
            absent: FxHashMap::default(),
            lowered: FxHashMap::default(),
            new_derivation: FxHashMap::default(),
        }
    }

    fn key(&self, id: TupleId) -> TupleKey {
        let r = self.run.tuples.rec(id);
        (r.rel, r.time, r.vals.clone())
    }

    /// b(x) of a tuple of the run (queued for encoding the first time it is met).
    pub(super) fn tuple_var(&mut self, enc: &mut Encoder, id: TupleId) -> Lit {
        self.run_tuple_var(enc, id, false)
    }

    /// h(x) of a tuple of the run (queued for encoding the first time it is met).
    pub(super) fn holds_var(&mut self, enc: &mut Encoder, id: TupleId) -> Lit {
        self.run_tuple_var(enc, id, true)
    }

    fn run_tuple_var(&mut self, enc: &mut Encoder, id: TupleId, holds: bool) -> Lit {
        let (map, queue) = if holds {
            (&mut self.holds, &mut self.hqueue)
        } else {
            (&mut self.tuple, &mut self.queue)
        };
        if let Some(&l) = map.get(&id) {
            return l;
        }
        let run = self.run;
        let r = run.tuples.rec(id);
        let (l, new) = enc.tuple_lit((r.rel, r.time, r.vals.clone()), holds);
        if new {
            enc.name(l, || {
                let what = if holds { "holds" } else { "lost" };
                format!("{what} {}@{}", enc.program.show_tuple(r.rel, &r.vals), r.time)
            });
        }
        map.insert(id, l);
        queue.push(id);
        l
    }

    /// Encode the lineage of every queued tuple (both directions), then forbid a tuple to be
    /// both lost and holding.
    pub(super) fn drain(&mut self, enc: &mut Encoder) {
        loop {
            if enc.cancelled() {
                return;
            }
            if let Some(id) = self.queue.pop() {
                self.encode_tuple(enc, id);
            } else if let Some(id) = self.hqueue.pop() {
                self.encode_holds(enc, id);
            } else {
                break;
            }
        }
        let mut both: Vec<(Lit, Lit)> =
            self.holds.iter().filter_map(|(id, &h)| self.tuple.get(id).map(|&b| (b, h))).collect();
        both.sort_unstable();
        for (b, h) in both {
            enc.clause_once(&[!b, !h]);
        }
    }

    /// h(x) -> some firing of x survives (its body holds, its message is not cut) or x gets
    /// a new derivation. Negated atoms are ignored here, which only makes h easier to
    /// satisfy: h over-approximates holding, so a real violation always satisfies the goal.
    fn encode_holds(&mut self, enc: &mut Encoder, id: TupleId) {
        let run = self.run;
        let Some(lineage) = &run.lineage else { return };
        let h = self.holds[&id];
        let rec = run.tuples.rec(id);
        let firings: Vec<_> = lineage.firings_of(id).collect();
        // Facts and stable tuples hold under every hypothesis; a crash tuple holds exactly
        // when its crash is chosen.
        if enc.stable[rec.rel as usize] || firings.iter().any(|f| f.source == Source::Fact) {
            enc.clause_once(&[h]);
            return;
        }
        if firings.iter().any(|f| f.source == Source::Crash) {
            if let Some(c) = enc.crash_var_of(&rec.vals) {
                enc.clause_once(&[h, !c]);
            }
            return;
        }
        if firings.is_empty() {
            return;
        }
        let mut cl = vec![!h];
        for f in firings {
            // Upper bound: the firing survives only if its body holds, its message gets
            // through and (with negative support) its negated atoms stay absent.
            let mut needs = Vec::new();
            let mut can_survive = true;
            let mut body: Vec<TupleId> = lineage.body_of(f).to_vec();
            body.sort_unstable();
            body.dedup();
            let body_holds: Vec<Lit> = body.iter().map(|&y| self.holds_var(enc, y)).collect();
            needs.extend(&body_holds);
            let mut cut = Vec::new();
            if let Some(m) = f.msg {
                let msg = &run.messages[m as usize];
                if msg.from != msg.to {
                    if msg.send_time < enc.eff {
                        let o = enc.omit_var(msg.from, msg.to, msg.send_time);
                        needs.push(!o);
                        cut.push(o);
                    }
                    for t in 1..=msg.send_time {
                        if let Some(&c) = enc.crash.get(&(msg.from, t)) {
                            needs.push(!c);
                            cut.push(c);
                        }
                    }
                }
            }
            let Source::Rule(rid) = f.source else { continue };
            let rule = &enc.program.rules[rid as usize];
            // Lower bound: every body tuple holds, nothing cut, every negated atom absent.
            let mut lower = self.lower_firing_conditions(enc, rule, f, rec.time);
            if enc.negative_support {
                for n in lineage.negs_of(f) {
                    match self.absence(enc, n.rel, &n.pattern, n.time) {
                        Absence::Needs(lits) => {
                            if let Some(l) = &mut lower {
                                l.extend(lits.iter().map(|&x| !x));
                            }
                            needs.extend(lits);
                        }
                        Absence::Never => {
                            can_survive = false;
                            lower = None;
                        }
                        Absence::Unknown => lower = None,
                    }
                }
            } else {
                lower = None;
            }
            if let Some(mut lower) = lower {
                lower.push(h);
                lower.extend(body_holds.iter().map(|&l| !l));
                lower.extend(&cut);
                enc.clause_once(&lower);
            }
            if !can_survive {
                continue;
            }
            if needs.is_empty() {
                // This firing cannot be cut: x holds whatever the faults.
                return;
            }
            cl.push(enc.and_var(needs));
        }
        if enc.negative_support {
            cl.extend(self.nd_var(enc, id));
            // Lower bounds from rule instances the run did not fire.
            let key = self.key(id);
            self.instance_lowers(enc, key, h, LOWER_DEPTH);
        }
        enc.clause_once(&cl);
    }

    fn encode_tuple(&mut self, enc: &mut Encoder, id: TupleId) {
        let run = self.run;
        let Some(lineage) = &run.lineage else { return };
        let b = self.tuple[&id];
        let firings: Vec<_> = lineage.firings_of(id).collect();
        // Facts and stable tuples cannot be lost; a crash tuple is absent exactly when its
        // crash is not chosen.
        let stable = enc.stable[run.tuples.rec(id).rel as usize];
        if stable || firings.is_empty() || firings.iter().any(|f| f.source == Source::Fact) {
            enc.clause_once(&[!b]);
            return;
        }
        if firings.iter().any(|f| f.source == Source::Crash) {
            match enc.crash_var_of(&run.tuples.rec(id).vals) {
                Some(c) => enc.clause_once(&[!b, !c]),
                None => enc.clause_once(&[!b]),
            }
            return;
        }
        // Lower bound: x is lost when every firing is certainly broken and it gets no new
        // derivation; `breakers` of a firing each certainly break it.
        let mut lower = enc.negative_support;
        let mut broken = Vec::new();
        for f in firings {
            let mut causes = Vec::new();
            let mut body: Vec<TupleId> = lineage.body_of(f).to_vec();
            body.sort_unstable();
            body.dedup();
            for y in body {
                causes.push(self.tuple_var(enc, y));
            }
            let Source::Rule(rule) = f.source else { continue };
            let rule = &enc.program.rules[rule as usize];
            let head_time = run.tuples.rec(id).time;
            if let Some(m) = f.msg {
                let msg = &run.messages[m as usize];
                if msg.from != msg.to {
                    if msg.send_time < enc.eff {
                        causes.push(enc.omit_var(msg.from, msg.to, msg.send_time));
                    }
                    if let Some(d) = enc.down_var(msg.from, msg.send_time) {
                        causes.push(d);
                    }
                }
            }
            if lower {
                match self.firing_breakers(enc, rule, f, head_time, &causes) {
                    Some(k) => broken.push(k),
                    None => lower = false,
                }
            }
            if enc.negative_support {
                for n in lineage.negs_of(f) {
                    if let Some(g) = self.gain_var(enc, n.rel, &n.pattern, n.time) {
                        causes.push(g);
                    }
                }
                if rule.agg.is_some() {
                    // An aggregate changes when its group gains a binding.
                    let head: Pattern = run.tuples.rec(id).vals.iter().map(|v| Some(*v)).collect();
                    if let Some(binding) = rule.bind_head(&head) {
                        let body_time =
                            if rule.ann == HeadAnn::None { head_time } else { head_time - 1 };
                        let atoms = std::rc::Rc::clone(&enc.atoms);
                        let (pos, neg) = &atoms[rule.id as usize];
                        for (i, &(rel, time)) in rule.positives.iter().enumerate() {
                            let Some(pt) = at(time, body_time) else { continue };
                            let pat = atom_pattern(&pos[i], &binding);
                            causes.extend(self.gain_var(enc, rel, &pat, pt));
                        }
                        // ... or when a negated atom stops blocking a binding.
                        for (i, &(rel, time)) in rule.negatives.iter().enumerate() {
                            let Some(nt) = at(time, body_time) else { continue };
                            if Some(rel) != enc.program.crash_rel {
                                let pat = atom_pattern(&neg[i], &binding);
                                causes.extend(self.loss_var(enc, rel, &pat, nt));
                            }
                        }
                    }
                }
            }
            match enc.or_var(causes) {
                Some(fv) => enc.clause_once(&[!b, fv]),
                None => {
                    // This firing cannot be broken: x cannot be lost.
                    enc.clause_once(&[!b]);
                    return;
                }
            }
        }
        if lower {
            let mut cl = vec![b];
            cl.extend(self.nd_var(enc, id));
            cl.extend(broken.into_iter().map(|k| !k));
            enc.clause_once(&cl);
        }
    }

    /// The tuples of r at t, borrowed from the run (empty outside 1..=EOT).
    fn tuples(&self, r: RelId, t: u32) -> &[TupleId] {
        self.run.tuples.store(t).map_or(&[], |s| &s.rels[r as usize].list)
    }

    /// The tuples of r at t matching the pattern.
    pub(super) fn matching(&self, r: RelId, pattern: &[Option<Value>], t: u32) -> Vec<TupleId> {
        self.tuples(r, t)
            .iter()
            .copied()
            .filter(|&id| matches(pattern, &self.run.tuples.rec(id).vals))
            .collect()
    }

    /// Some tuple of r at t matches the pattern.
    pub(super) fn has_match(&self, r: RelId, pattern: &[Option<Value>], t: u32) -> bool {
        let Some(store) = self.run.tuples.store(t) else { return false };
        if pattern.iter().all(Option::is_some) {
            let vals: Vec<Value> = pattern.iter().map(|p| p.unwrap_or(Value::Int(0))).collect();
            return store.rels[r as usize].get(&vals).is_some();
        }
        store.rels[r as usize]
            .list
            .iter()
            .any(|&id| matches(pattern, &self.run.tuples.rec(id).vals))
    }

    /// Some tuple of q at t matches the pattern on every column but `agg_col`.
    pub(super) fn group_exists(
        &self,
        q: RelId,
        pattern: &[Option<Value>],
        agg_col: usize,
        t: u32,
    ) -> bool {
        self.group_tuple(q, pattern, agg_col, t).is_some()
    }

    /// The run's tuple of q at t for the group the pattern names (every column but the
    /// aggregated `agg_col`).
    pub(super) fn group_tuple(
        &self,
        q: RelId,
        pattern: &[Option<Value>],
        agg_col: usize,
        t: u32,
    ) -> Option<TupleId> {
        self.tuples(q, t).iter().copied().find(|&id| {
            let vals = &self.run.tuples.rec(id).vals;
            pattern
                .iter()
                .zip(vals.iter())
                .enumerate()
                .all(|(c, (p, v))| c == agg_col || p.is_none_or(|p| p == *v))
        })
    }
}
