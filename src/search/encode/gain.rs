//! Negative support: gains and losses of tuples under a hypothesis.
//!
//! A gain G(q, P, t) ("a tuple matching P appears at t that the run lacks") is reasoned
//! about per rule instance: relations no fault can change fix variables and let rule
//! conditions prune the instance; body atoms the run lacks must all be gained, atoms it has
//! must still hold, a certainly-blocking `notin` must lose its tuples, a message needs a live
//! sender, and a message the run lost to its own faults may simply arrive again. A loss
//! L(r, P, t) is some matching tuple of the run lost; the `crash` relation gains and loses
//! through the crash variables directly.

use super::lineage::RunEncoding;
use super::lower::Absence;
use super::pattern::{at, atom_pattern, determined, extend, matches, show_pattern};
use super::pattern::{conditions_hold, conditions_may_hold};
use super::statics::{domain_tuples, MAX_SPLIT, SATURATION_LIMIT};
use super::{Encoder, Pattern};
use crate::analysis::ir::{ArgPat, HeadTerm, IrRule, RelId, Value};
use crate::syntax::ast::{AggKind, HeadAnn};
use rustsat::types::Lit;

/// A rule under a (partial) binding of its variables, evaluated at `body_t`.
struct Instance<'a> {
    rule: &'a IrRule,
    binding: &'a [Option<Value>],
    /// The rule derives the relation being asked about (else another of its component).
    derives_q: bool,
    body_t: u32,
}

/// How an aggregate's extreme can reach a wanted value (see `extreme_move`).
enum Move {
    /// Only by a new binding beyond the run's extreme.
    Gain,
    /// Only by losing every binding of the run beyond this value.
    Shed(Value),
}

/// Most rule instances one rule is split into by its stable atoms.
pub(super) const MAX_INSTANCES: usize = 64;

impl RunEncoding<'_> {
    /// G(q, P, t): faults can make a tuple of q matching the pattern P appear at t that the
    /// run does not have (negative support). A relation gains only through a rule deriving
    /// it (or another relation of its same-time recursive component) whose input changes: a
    /// positive body atom gains, a negated one loses a matching tuple, an aggregated one
    /// changes either way, or a node crashes (the `crash` relation gains). The head's bound
    /// values flow into the body atoms' patterns. Same-time inputs come from lower components
    /// and `@next`/`@async` inputs from t-1, so the implications are well-founded: the solver
    /// cannot claim a gain out of thin air. A pattern whose every possible tuple is already
    /// present cannot gain at all.
    pub(super) fn gain_var(
        &mut self,
        enc: &mut Encoder,
        q: RelId,
        pattern: &[Option<Value>],
        t: u32,
    ) -> Option<Lit> {
        if t == 0 || t > self.run.eot || enc.stable[q as usize] {
            return None;
        }
        let program = enc.program;
        if Some(q) == program.crash_rel {
            return self.crash_gain_var(enc, pattern);
        }
        let key = (q, Pattern::from(pattern), t);
        if let Some(&g) = self.gain.get(&key) {
            return g;
        }
        // No run within the bounds can have such a tuple.
        if !enc.possible(q, pattern, t) {
            self.gain.insert(key, None);
            return None;
        }
        // A run with no tuple matching P at t gains one exactly when the hypothesis's own
        // run has one: the same meaning whatever run lacks it. So every such run refers to
        // one shared literal E, and each adds its own necessary conditions for it
        // (E -> its G): a gain claimed for one run must be possible by what every run that
        // lacks the pattern knows. Only E -> G is valid, never G -> E: the G of a run is a
        // hash-consed definition (or a single cause) that may stand for other things too.
        // Inside its own encoding, a pattern gets an unconstrained stand-in: never shared.
        if self.has_match(q, pattern, t) || self.active.contains(&key) {
            return self.new_gain_var(enc, q, pattern, t, &key);
        }
        let shared = enc.shared.gains.get(&key).copied();
        if shared == Some(None) {
            // Some run found that no hypothesis can make such a tuple appear.
            self.gain.insert(key, None);
            return None;
        }
        let g = self.new_gain_var(enc, q, pattern, t, &key);
        let e = match (shared.flatten(), g) {
            (Some(e), _) => e,
            (None, None) => {
                enc.shared.gains.insert(key.clone(), None);
                return None;
            }
            (None, Some(_)) => {
                // E: a whole tuple appears exactly when it holds, so its E is its shared
                // h(x), which the runs that have it constrain too; otherwise a fresh
                // variable.
                let e = if pattern.iter().all(Option::is_some) {
                    let vals: Vec<Value> = pattern.iter().flatten().copied().collect();
                    enc.tuple_lit((q, t, vals.into()), true).0
                } else {
                    enc.lit()
                };
                enc.shared.gains.insert(key.clone(), Some(e));
                e
            }
        };
        match g {
            Some(g) => enc.clause_once(&[!e, g]),
            None => enc.clause_once(&[!e]),
        }
        self.gain.insert(key, Some(e));
        Some(e)
    }

    /// G(q, P, t) encoded from this run (see [`RunEncoding::gain_var`]).
    fn new_gain_var(
        &mut self,
        enc: &mut Encoder,
        q: RelId,
        pattern: &[Option<Value>],
        t: u32,
        key: &(RelId, Pattern, u32),
    ) -> Option<Lit> {
        let program = enc.program;
        // An open pattern over small known domains: only its absent tuples can appear, and
        // each of them binds more of the rules that could derive it.
        if let Some(missing) = self.missing_candidates(enc, q, pattern, t) {
            let lits: Vec<Lit> =
                missing.iter().filter_map(|c| self.gain_var(enc, q, c, t)).collect();
            let g = enc.or_var(lits);
            self.gain.insert(key.clone(), g);
            return g;
        }
        if let Some(&g) = self.gain.get(key) {
            return g;
        }
        // The recursion below never comes back to (q, P, t): edges inside q's same-time
        // component are skipped and every other edge goes to a lower component or an earlier
        // time. Should it ever come back, an unconstrained literal stands in (it may be set
        // true freely: an over-approximation, never a missed gain).
        if !self.active.insert(key.clone()) {
            return Some(enc.lit());
        }
        let causes = self.rederive_causes(enc, q, pattern, t);
        self.active.remove(key);
        let g = enc.or_var(causes);
        if let Some(g) = g {
            enc.name(g, || format!("gain {}@{t}", show_pattern(program, q, pattern)));
        }
        self.gain.insert(key.clone(), g);
        g
    }

    /// The ways a tuple of q matching P can get a derivation at t that the run does not
    /// have: a rule deriving q (or its same-time component) whose input changes.
    pub(super) fn rederive_causes(
        &mut self,
        enc: &mut Encoder,
        q: RelId,
        pattern: &[Option<Value>],
        t: u32,
    ) -> Vec<Lit> {
        let program = enc.program;
        let scc = program.same_time_scc[q as usize];
        let mut cl = Vec::new();
        let heads = std::rc::Rc::clone(&enc.components[scc as usize]);
        for &head in heads.iter() {
            for &rid in &program.rules_by_head[head as usize] {
                let rule = &program.rules[rid as usize];
                let body_t = if rule.ann == HeadAnn::None { t } else { t - 1 };
                if body_t == 0 {
                    continue;
                }
                // In a recursive component another tuple of q (or of the component) may be
                // gained from outside and derive P inside it: only the component as a whole
                // has external causes, so no rule is narrowed by P there.
                let binding = if head == q && !enc.recursive[scc as usize] {
                    rule.bind_head(pattern)
                } else {
                    Some(vec![None; rule.nvars])
                };
                let Some(binding) = binding else { continue };
                for binding in self.instances(enc, rule, binding, body_t) {
                    let inst = Instance { rule, binding: &binding, derives_q: head == q, body_t };
                    cl.extend(self.instance_cause(enc, &inst, pattern, t));
                }
            }
        }
        if enc.recursive[scc as usize] {
            for &head in heads.iter() {
                let any = vec![None; program.rels[head as usize].arity];
                cl.extend(self.redelivery_causes(enc, head, &any, t));
            }
        } else {
            cl.extend(self.redelivery_causes(enc, q, pattern, t));
        }
        cl
    }

    /// A message of q the run sent but lost (omitted, or its sender was down) arrives
    /// under a hypothesis that does not repeat that fault, with no change to its inputs.
    fn redelivery_causes(
        &mut self,
        enc: &mut Encoder,
        q: RelId,
        pattern: &[Option<Value>],
        t: u32,
    ) -> Vec<Lit> {
        let run = self.run;
        let mut out = Vec::new();
        for m in &run.messages {
            if m.rel != q
                || m.send_time + 1 != t
                || m.status == crate::eval::MsgStatus::Delivered
                || !matches(pattern, &m.vals)
            {
                continue;
            }
            let mut needs = Vec::new();
            if m.send_time < enc.eff {
                needs.push(!enc.omit_var(m.from, m.to, m.send_time));
            }
            needs.extend(enc.down_var(m.from, m.send_time).map(|d| !d));
            if !needs.is_empty() {
                out.push(enc.and_var(needs));
            }
        }
        out
    }

    /// The bindings a new firing of `rule` can have, as far as the run's stable relations
    /// (the same in every run, see [`stable_relations`](super::statics::stable_relations))
    /// and the rule's conditions tell: the binding extended by every combination of matching
    /// stable tuples, minus those a condition rejects. Aggregate rules (whose groups mix
    /// bindings) and combinations beyond a small cap keep the binding unextended.
    pub(super) fn instances(
        &self,
        enc: &Encoder,
        rule: &IrRule,
        binding: Vec<Option<Value>>,
        body_t: u32,
    ) -> Vec<Vec<Option<Value>>> {
        let (pos, _) = &enc.atoms[rule.id as usize];
        let mut out = vec![binding];
        if rule.agg.is_none() {
            for (i, &(p, time)) in rule.positives.iter().enumerate() {
                if !enc.stable[p as usize] {
                    continue;
                }
                let Some(pt) = at(time, body_t) else { continue };
                let Some(store) = self.run.tuples.store(pt) else { return Vec::new() };
                let mut next = Vec::new();
                for b in &out {
                    let pat = atom_pattern(&pos[i], b);
                    for &id in &store.rels[p as usize].list {
                        let vals = &self.run.tuples.rec(id).vals;
                        if !matches(&pat, vals) {
                            continue;
                        }
                        if let Some(e) = extend(b, &pos[i], vals) {
                            next.push(e);
                        }
                    }
                }
                if next.len() > MAX_INSTANCES {
                    break;
                }
                out = next;
            }
        }
        out.retain(|b| conditions_may_hold(enc.program, rule, b));
        out
    }

    /// The literal of "the rule instance fires anew" (`None` when it cannot).
    fn instance_cause(
        &mut self,
        enc: &mut Encoder,
        inst: &Instance,
        pattern: &[Option<Value>],
        t: u32,
    ) -> Option<Lit> {
        let program = enc.program;
        let Instance { rule, binding, derives_q, body_t } = *inst;
        let scc = program.same_time_scc[rule.head_rel as usize];
        let rid = rule.id;
        let atoms = std::rc::Rc::clone(&enc.atoms);
        let (pos, neg) = &atoms[rid as usize];
        // Losing bindings only changes the value of a group that has bindings: a
        // group absent from the run cannot appear by losses.
        let agg_change = match rule.agg {
            None => false,
            Some(col) if derives_q => self.group_exists(rule.head_rel, pattern, col, t),
            Some(_) => true,
        };
        // A new firing needs every body atom to hold: an atom with no matching tuple
        // in the run must gain one, and a negated atom that certainly blocks (every
        // column fixed by the head or a wildcard) must lose its tuples. These are
        // required together; only when there are none can any single change of an
        // input be the cause.
        let mut required = Vec::new();
        let mut changes = Vec::new();
        // Atoms the run has that must still hold.
        let mut still = Vec::new();
        let mut impossible = false;
        // A count can only reach a value at or above its current one by gaining a
        // binding, and one below it only by losing one.
        let (mut gain_like, mut loss_like) =
            match self.count_direction(enc, rule, derives_q, pattern, t) {
                Some(std::cmp::Ordering::Less) => (false, true),
                Some(_) => (true, false),
                None => (true, true),
            };
        // A `max` (`min`) only rises (falls) by gaining a binding, and only falls (rises) to
        // the wanted value when every binding of the run beyond it is lost.
        match self.extreme_move(enc, rule, derives_q, pattern, t) {
            Some(Move::Gain) => loss_like = false,
            Some(Move::Shed(want)) => {
                gain_like = false;
                required.extend(self.bindings_beyond(enc, rule, binding, body_t, want));
            }
            None => {}
        }
        for (i, &(p, time)) in rule.positives.iter().enumerate() {
            let Some(pt) = at(time, body_t) else { continue };
            let pat = atom_pattern(&pos[i], binding);
            if enc.stable[p as usize] {
                // The same in every run: it holds exactly when it holds in this one.
                if !self.has_match(p, &pat, pt) {
                    return None;
                }
                continue;
            }
            let internal =
                rule.ann == HeadAnn::None && pt == t && program.same_time_scc[p as usize] == scc;
            if internal {
                if agg_change && loss_like {
                    changes.extend(self.loss_var(enc, p, &pat, pt));
                }
                continue;
            }
            if !self.has_match(p, &pat, pt) {
                match self.gain_var(enc, p, &pat, pt) {
                    Some(g) => required.push(g),
                    None => impossible = true,
                }
                continue;
            }
            let gain = self.gain_var(enc, p, &pat, pt);
            if gain_like {
                changes.extend(gain);
            }
            if agg_change && loss_like {
                changes.extend(self.loss_var(enc, p, &pat, pt));
            }
            // The atom must still hold: one of its tuples in the run, or a new one.
            let matching = self.matching(p, &pat, pt);
            if matching.len() <= MAX_SPLIT {
                let mut alts: Vec<Lit> =
                    matching.into_iter().map(|id| self.holds_var(enc, id)).collect();
                alts.extend(gain);
                still.extend(enc.or_var(alts));
            }
        }
        for (i, &(n, time)) in rule.negatives.iter().enumerate() {
            let Some(nt) = at(time, body_t) else { continue };
            // A plain rule's negated atom that certainly blocks must be absent.
            if rule.agg.is_none() && enc.negative_support && determined(&neg[i], binding) {
                let pat = atom_pattern(&neg[i], binding);
                match self.absence(enc, n, &pat, nt) {
                    Absence::Needs(lits) => still.extend(lits),
                    Absence::Never => return None,
                    Absence::Unknown => {}
                }
            }
            if Some(n) != program.crash_rel {
                let pat = atom_pattern(&neg[i], binding);
                let loss = self.loss_var(enc, n, &pat, nt);
                if determined(&neg[i], binding) && self.has_match(n, &pat, nt) {
                    match loss {
                        Some(l) => required.push(l),
                        None => impossible = true,
                    }
                    continue;
                }
                if gain_like {
                    changes.extend(loss);
                }
                if agg_change && loss_like {
                    // A negated atom that starts blocking a binding changes the result.
                    changes.extend(self.gain_var(enc, n, &pat, nt));
                }
            } else {
                // The run's own crashes that match may not happen under the hypothesis:
                // that unblocks the atom. When it certainly blocks, they must not happen.
                let pat = atom_pattern(&neg[i], binding);
                let spared = self.crash_loss_var(enc, &pat);
                if determined(&neg[i], binding) && spared.is_some() {
                    required.extend(spared);
                } else if gain_like {
                    changes.extend(spared);
                }
                if agg_change && loss_like {
                    changes.extend(self.anycrash_var(enc));
                }
            }
        }
        if impossible {
            return None;
        }
        // A message is only sent by a sender that is still up.
        let mut alive = None;
        if rule.ann == HeadAnn::Async {
            let sender = match rule.location {
                ArgPat::Const(c) => Some(c),
                ArgPat::Bind(v) | ArgPat::Check(v) => binding[v as usize],
                ArgPat::Wild => None,
            };
            if let Some(Value::Sym(n)) = sender {
                alive = enc.down_var(n, body_t).map(|d| !d);
            }
        }
        if required.is_empty() {
            required.push(enc.or_var(changes)?);
        }
        required.extend(alive);
        required.extend(still);
        Some(enc.and_var(required))
    }

    /// For a `max` or `min` rule deriving q (and only it) whose pattern fixes the extreme
    /// of a group the run has, how the wanted value can come about: by a new binding beyond
    /// the run's extreme, or by shedding every binding of the run beyond the wanted value.
    /// `None` when unknown (equal values, incomparable ones, another rule for q).
    fn extreme_move(
        &self,
        enc: &Encoder,
        rule: &IrRule,
        derives_q: bool,
        pattern: &[Option<Value>],
        t: u32,
    ) -> Option<Move> {
        let col = rule.agg.filter(|_| derives_q)?;
        let kind = match rule.head.get(col) {
            Some(HeadTerm::Agg(k @ (AggKind::Max | AggKind::Min), _)) => *k,
            _ => return None,
        };
        if enc.program.rules_by_head[rule.head_rel as usize].len() != 1 {
            return None;
        }
        let want = pattern.get(col).copied().flatten()?;
        let id = self.group_tuple(rule.head_rel, pattern, col, t)?;
        let have = self.run.tuples.rec(id).vals[col];
        let ord = enc.program.symbols.compare(want, have)?;
        match (kind, ord) {
            (_, std::cmp::Ordering::Equal) => None,
            (AggKind::Max, std::cmp::Ordering::Greater)
            | (AggKind::Min, std::cmp::Ordering::Less) => Some(Move::Gain),
            _ => Some(Move::Shed(want)),
        }
    }

    /// b(x) of every tuple x of the run that certainly is a binding of the aggregate rule's
    /// group (under `binding`) with a value beyond `want` (above it for `max`, below for
    /// `min`): they must all be lost for the extreme to reach `want`. Only for a rule whose
    /// one unstable positive atom carries the aggregated variable and which negates nothing
    /// (a binding then holds exactly when that atom's tuple does); otherwise, or for tuples
    /// whose conditions cannot be decided, nothing is required (which is weaker, never
    /// wrong).
    fn bindings_beyond(
        &mut self,
        enc: &mut Encoder,
        rule: &IrRule,
        binding: &[Option<Value>],
        body_t: u32,
        want: Value,
    ) -> Vec<Lit> {
        let Some(col) = rule.agg else { return Vec::new() };
        let Some(&HeadTerm::Agg(kind, var)) = rule.head.get(col) else { return Vec::new() };
        if !rule.negatives.is_empty() {
            return Vec::new();
        }
        let atoms = std::rc::Rc::clone(&enc.atoms);
        let (pos, _) = &atoms[rule.id as usize];
        let unstable: Vec<usize> = (0..rule.positives.len())
            .filter(|&i| !enc.stable[rule.positives[i].0 as usize])
            .collect();
        let [i] = unstable[..] else { return Vec::new() };
        let (p, time) = rule.positives[i];
        let Some(pt) = at(time, body_t) else { return Vec::new() };
        let pat = atom_pattern(&pos[i], binding);
        let mut out = Vec::new();
        for id in self.matching(p, &pat, pt) {
            let vals = self.run.tuples.rec(id).vals.clone();
            let Some(b) = extend(binding, &pos[i], &vals) else { continue };
            let Some(value) = b[var as usize] else { continue };
            let beyond = match (kind, enc.program.symbols.compare(value, want)) {
                (AggKind::Max, Some(o)) => o.is_gt(),
                (AggKind::Min, Some(o)) => o.is_lt(),
                _ => false,
            };
            if !beyond || conditions_hold(enc.program, rule, &b) != Some(true) {
                continue;
            }
            // The stable atoms are the same in every run: the binding needs a match.
            let stable_ok = (0..rule.positives.len()).filter(|&j| j != i).all(|j| {
                let (sr, st) = rule.positives[j];
                at(st, body_t).is_some_and(|st| self.has_match(sr, &atom_pattern(&pos[j], &b), st))
            });
            if stable_ok {
                out.push(self.tuple_var(enc, id));
            }
        }
        out
    }

    /// For a `count` rule deriving q whose pattern fixes the count of a group the run has:
    /// how the wanted count compares with the run's. Unknown (`None`) when another rule
    /// derives q too: the run's tuple for the group may then be that rule's count, not
    /// this one's (each aggregate rule counts its own bindings).
    fn count_direction(
        &self,
        enc: &Encoder,
        rule: &IrRule,
        derives_q: bool,
        pattern: &[Option<Value>],
        t: u32,
    ) -> Option<std::cmp::Ordering> {
        let col = rule.agg.filter(|_| derives_q)?;
        if !matches!(rule.head.get(col), Some(HeadTerm::Agg(AggKind::Count, _)))
            || enc.program.rules_by_head[rule.head_rel as usize].len() != 1
        {
            return None;
        }
        let Some(Value::Int(want)) = pattern.get(col).copied().flatten() else { return None };
        let id = self.group_tuple(rule.head_rel, pattern, col, t)?;
        match self.run.tuples.rec(id).vals[col] {
            Value::Int(have) => Some(want.cmp(&have)),
            Value::Sym(_) => None,
        }
    }

    /// The tuples of q matching the pattern that are absent at t, as fully bound patterns,
    /// when the open columns have known domains and there are few candidates; `None` when
    /// they cannot be enumerated (or the pattern is already fully bound and absent).
    fn missing_candidates(
        &self,
        enc: &Encoder,
        q: RelId,
        pattern: &[Option<Value>],
        t: u32,
    ) -> Option<Vec<Pattern>> {
        let open = pattern.iter().any(Option::is_none);
        let missing: Vec<Pattern> = domain_tuples(enc, q, pattern, SATURATION_LIMIT)?
            .into_iter()
            .filter(|c| self.run.tuples.find(q, c, t).is_none())
            .map(|c| c.into_iter().map(Some).collect())
            .collect();
        if !open && !missing.is_empty() {
            return None;
        }
        if missing.len() > MAX_SPLIT {
            return None;
        }
        Some(missing)
    }

    /// L(r, P, t): some tuple of r matching P at t is lost.
    pub(super) fn loss_var(
        &mut self,
        enc: &mut Encoder,
        r: RelId,
        pattern: &[Option<Value>],
        t: u32,
    ) -> Option<Lit> {
        if t == 0 || t > self.run.eot || enc.stable[r as usize] {
            return None;
        }
        let key = (r, Pattern::from(pattern), t);
        if let Some(&l) = self.loss.get(&key) {
            return l;
        }
        let ids = self.matching(r, pattern, t);
        if ids.is_empty() {
            self.loss.insert(key, None);
            return None;
        }
        let lits: Vec<Lit> = ids.into_iter().map(|id| self.tuple_var(enc, id)).collect();
        let l = enc.or_var(lits);
        if let Some(l) = l {
            enc.name(l, || format!("loss {}@{t}", show_pattern(enc.program, r, pattern)));
        }
        self.loss.insert(key, l);
        l
    }

    /// `notin crash(_, n, t)` can become false: n (any node when the pattern leaves it open)
    /// crashes at t (at any time when open), other than by a crash of this run's own.
    fn crash_gain_var(&mut self, enc: &mut Encoder, pattern: &[Option<Value>]) -> Option<Lit> {
        let node = pattern.get(1).copied().flatten();
        let time = pattern.get(2).copied().flatten();
        if node.is_none() && time.is_none() {
            return self.anycrash_var(enc);
        }
        let lits: Vec<Lit> = enc
            .crashes_matching(pattern)
            .filter(|(c, _)| !self.crashes.contains(c))
            .map(|(_, l)| l)
            .collect();
        enc.or_var(lits)
    }

    /// Some crash tuple of the run matching a `crash(obs, n, t)` pattern is absent under the
    /// hypothesis: one of the run's own matching crashes does not happen (`None` when the
    /// run has none).
    fn crash_loss_var(&mut self, enc: &mut Encoder, pattern: &[Option<Value>]) -> Option<Lit> {
        let observed = pattern
            .first()
            .copied()
            .flatten()
            .is_none_or(|o| matches!(o, Value::Sym(s) if enc.nodes.contains(&s)));
        if !observed {
            return None;
        }
        let lits: Vec<Lit> = enc
            .crashes_matching(pattern)
            .filter(|(c, _)| self.crashes.contains(c))
            .map(|(_, l)| !l)
            .collect();
        enc.or_var(lits)
    }

    /// Some crash other than this run's own happens.
    fn anycrash_var(&mut self, enc: &mut Encoder) -> Option<Lit> {
        if let Some(a) = self.anycrash {
            return a;
        }
        let lits: Vec<Lit> =
            enc.crash.iter().filter(|(c, _)| !self.crashes.contains(c)).map(|(_, &l)| l).collect();
        let a = enc.or_var(lits);
        self.anycrash = Some(a);
        a
    }
}
