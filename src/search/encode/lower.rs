//! Lower bounds: what certainly holds, or is certainly lost, under a hypothesis. They are
//! clauses `b(x) <- ...` and `h(x) <- ...` that the true meaning of every variable satisfies
//! (x really absent, really present), so like the upper bounds they never exclude a real
//! violation; they let the solver see, for instance, that an abort the hypothesis cannot
//! prevent does arrive, and so blocks a `notin` that a hypothesis relied on.

use super::gain::MAX_INSTANCES;
use super::lineage::RunEncoding;
use super::pattern::extend;
use super::pattern::{at, atom_pattern, conditions_hold, determined};
use super::statics::{domain_tuples, MAX_SPLIT};
use super::{Encoder, Pattern, TupleKey};
use crate::analysis::ir::{ArgPat, HeadTerm, IrRule, RelId, Value};
use crate::eval::TupleId;
use crate::syntax::ast::{AggKind, HeadAnn};
use rustsat::types::Lit;

/// The tuples chosen for the body atoms an instance's binding left open (atom index, tuple).
type Choice = Vec<(usize, Vec<Value>)>;

/// Every column of the atom is a constant or a variable the binding fixes (a wildcard
/// leaves it open).
fn bound(args: &[ArgPat], binding: &[Option<Value>]) -> bool {
    args.iter().all(|a| match *a {
        ArgPat::Const(_) => true,
        ArgPat::Bind(v) | ArgPat::Check(v) => binding[v as usize].is_some(),
        ArgPat::Wild => false,
    })
}

/// What "no tuple of a relation matching a pattern is present" takes.
pub(super) enum Absence {
    /// Every one of these literals: b(z) of each candidate tuple, or "not crashed".
    Needs(Vec<Lit>),
    /// Never: a tuple no fault can remove matches.
    Never,
    /// The candidates cannot be enumerated.
    Unknown,
}

/// How many rule levels the lower bounds of a tuple the run lacks follow.
pub(super) const LOWER_DEPTH: u32 = 6;

impl RunEncoding<'_> {
    /// What it takes for no tuple of q matching the pattern to be present at t.
    pub(super) fn absence(
        &mut self,
        enc: &mut Encoder,
        q: RelId,
        pattern: &[Option<Value>],
        t: u32,
    ) -> Absence {
        if Some(q) == enc.program.crash_rel {
            // crash(obs, n, ct) is present at every node exactly when n crashes at ct.
            let observed = pattern
                .first()
                .copied()
                .flatten()
                .is_none_or(|o| matches!(o, Value::Sym(s) if enc.nodes.contains(&s)));
            if !observed {
                return Absence::Needs(Vec::new());
            }
            return Absence::Needs(enc.crashes_matching(pattern).map(|(_, c)| !c).collect());
        }
        if enc.stable[q as usize] {
            return if self.has_match(q, pattern, t) {
                Absence::Never
            } else {
                Absence::Needs(Vec::new())
            };
        }
        // No run within the bounds can have a matching tuple.
        if !enc.possible(q, pattern, t) {
            return Absence::Needs(Vec::new());
        }
        let Some(cands) = domain_tuples(enc, q, pattern, MAX_SPLIT) else {
            return Absence::Unknown;
        };
        let mut lits = Vec::new();
        for vals in cands {
            match self.run.tuples.find(q, &vals, t) {
                Some(id) => {
                    // b(x) must hold; h(x) with its lower bounds (and the exclusion of b and
                    // h) shows when x certainly stays.
                    lits.push(self.tuple_var(enc, id));
                    self.holds_var(enc, id);
                }
                None => lits.push(self.absent_lost_var(enc, q, &vals, t)),
            }
        }
        Absence::Needs(lits)
    }

    /// b(z) for a tuple the run lacks: z stays absent unless it is gained (`b(z) or G(z)`),
    /// and cannot be both absent and certainly present.
    fn absent_lost_var(&mut self, enc: &mut Encoder, q: RelId, vals: &[Value], t: u32) -> Lit {
        let key: TupleKey = (q, t, vals.into());
        if let Some(&b) = self.absent.get(&key) {
            return b;
        }
        let (b, _) = enc.tuple_lit(key.clone(), false);
        self.absent.insert(key, b);
        let pattern: Pattern = vals.iter().map(|v| Some(*v)).collect();
        match self.gain_var(enc, q, &pattern, t) {
            None => enc.clause_once(&[b]),
            Some(g) => enc.clause_once(&[b, g]),
        }
        let h = self.present_lower(enc, q, vals, t, LOWER_DEPTH);
        enc.clause_once(&[!b, !h]);
        b
    }

    /// h(z) for a tuple the run lacks. Upper bound: present only if gained. Lower bounds
    /// (up to `depth` rule levels): present when some rule instance deriving it has every
    /// body atom present, every negated atom absent, its conditions true and its message
    /// delivered.
    fn present_lower(
        &mut self,
        enc: &mut Encoder,
        q: RelId,
        vals: &[Value],
        t: u32,
        depth: u32,
    ) -> Lit {
        let key: TupleKey = (q, t, vals.into());
        let (h, _) = enc.tuple_lit(key.clone(), true);
        if !self.lowered.contains_key(&key) {
            let pattern: Pattern = vals.iter().map(|v| Some(*v)).collect();
            match self.gain_var(enc, q, &pattern, t) {
                None => enc.clause_once(&[!h]),
                Some(g) => enc.clause_once(&[!h, g]),
            }
        }
        self.instance_lowers(enc, key, h, depth);
        h
    }

    /// Lower bounds of h(x) from every fully bound rule instance deriving x (up to `depth`
    /// rule levels; a tuple met again with more depth left is bounded again).
    pub(super) fn instance_lowers(&mut self, enc: &mut Encoder, key: TupleKey, h: Lit, depth: u32) {
        if self.lowered.get(&key).is_some_and(|&d| d >= depth) {
            return;
        }
        self.lowered.insert(key.clone(), depth);
        if depth == 0 {
            return;
        }
        let (q, t, vals) = key;
        let pattern: Pattern = vals.iter().map(|v| Some(*v)).collect();
        let program = enc.program;
        // One clause buffer for every instance of this tuple (the recursion below has its own).
        let mut cl = Vec::new();
        for &rid in &program.rules_by_head[q as usize] {
            let rule = &program.rules[rid as usize];
            if rule.agg.is_some() {
                continue;
            }
            let body_t = if rule.ann == HeadAnn::None { t } else { t - 1 };
            if body_t == 0 {
                continue;
            }
            let Some(binding) = rule.bind_head(&pattern) else { continue };
            for (b, choice) in self.lower_instances(enc, rule, binding, body_t) {
                cl.clear();
                cl.push(h);
                let at_depth = (body_t, &vals[..], depth);
                if self.instance_lower(enc, rule, &b, &choice, at_depth, &mut cl).is_some() {
                    enc.clause_once(&cl);
                }
            }
        }
    }

    /// The rule instances of [`RunEncoding::instances`], with every body atom the binding
    /// leaves open split over its candidate tuples (static domains): each instance comes
    /// with the tuple chosen for each such atom (atom index, tuple; in atom order). Empty
    /// when there would be too many.
    fn lower_instances(
        &self,
        enc: &Encoder,
        rule: &IrRule,
        binding: Vec<Option<Value>>,
        body_t: u32,
    ) -> Vec<(Vec<Option<Value>>, Choice)> {
        let (pos, _) = &enc.atoms[rule.id as usize];
        let mut out: Vec<(Vec<Option<Value>>, Choice)> = self
            .instances(enc, rule, binding, body_t)
            .into_iter()
            .map(|b| (b, Vec::new()))
            .collect();
        for (i, &(p, time)) in rule.positives.iter().enumerate() {
            if enc.stable[p as usize]
                || Some(p) == enc.program.crash_rel
                || at(time, body_t).is_none()
            {
                continue;
            }
            // Most instances bind the atom fully: they pass through untouched.
            if out.iter().all(|(b, _)| bound(&pos[i], b)) {
                if out.len() > MAX_INSTANCES {
                    return Vec::new();
                }
                continue;
            }
            let mut next = Vec::new();
            for (b, choice) in out {
                if bound(&pos[i], &b) {
                    next.push((b, choice));
                    continue;
                }
                let pat = atom_pattern(&pos[i], &b);
                let Some(cands) = domain_tuples(enc, p, &pat, MAX_SPLIT) else { return Vec::new() };
                for vals in cands {
                    let Some(e) = extend(&b, &pos[i], &vals) else { continue };
                    let mut c = choice.clone();
                    c.push((i, vals));
                    next.push((e, c));
                }
            }
            if next.len() > MAX_INSTANCES {
                return Vec::new();
            }
            out = next;
        }
        out
    }

    /// Append to `cl` the clause literals (negated conditions) under which a fully bound
    /// rule instance certainly derives `head`; `None` (with `cl` to be discarded) when that
    /// cannot be stated. `(body_t, head, depth)`: the body's time, the head tuple and the
    /// rule levels the lower bounds may still follow.
    fn instance_lower(
        &mut self,
        enc: &mut Encoder,
        rule: &IrRule,
        binding: &[Option<Value>],
        choice: &[(usize, Vec<Value>)],
        (body_t, head, depth): (u32, &[Value], u32),
        cl: &mut Vec<Lit>,
    ) -> Option<()> {
        for (term, v) in rule.head.iter().zip(head) {
            let HeadTerm::Expr(e) = term else { return None };
            if e.eval_partial(binding)? != *v {
                return None;
            }
        }
        if !conditions_hold(enc.program, rule, binding)? {
            return None;
        }
        let atoms = std::rc::Rc::clone(&enc.atoms);
        let (pos, neg) = &atoms[rule.id as usize];
        let mut vals: Vec<Value> = Vec::new();
        for (i, &(p, time)) in rule.positives.iter().enumerate() {
            let pt = at(time, body_t)?;
            vals.clear();
            match choice.iter().find(|(j, _)| *j == i) {
                Some((_, v)) => vals.extend_from_slice(v),
                None => {
                    for a in &pos[i] {
                        vals.push(match *a {
                            ArgPat::Const(c) => c,
                            ArgPat::Bind(v) | ArgPat::Check(v) => binding[v as usize]?,
                            ArgPat::Wild => return None,
                        });
                    }
                }
            }
            if Some(p) == enc.program.crash_rel {
                cl.push(!enc.crash_var_of(&vals)?);
                continue;
            }
            if enc.stable[p as usize] {
                self.run.tuples.find(p, &vals, pt)?;
                continue;
            }
            let h = match self.run.tuples.find(p, &vals, pt) {
                Some(id) => self.holds_var(enc, id),
                None if depth > 1 => self.present_lower(enc, p, &vals, pt, depth - 1),
                None => return None,
            };
            cl.push(!h);
        }
        for (i, &(n, time)) in rule.negatives.iter().enumerate() {
            let Some(nt) = at(time, body_t) else { continue };
            if !determined(&neg[i], binding) {
                return None;
            }
            let pat = atom_pattern(&neg[i], binding);
            match self.absence(enc, n, &pat, nt) {
                Absence::Needs(lits) => cl.extend(lits.into_iter().map(|l| !l)),
                Absence::Never | Absence::Unknown => return None,
            }
        }
        if rule.ann == HeadAnn::Async {
            let sender = match rule.location {
                ArgPat::Const(c) => Some(c),
                ArgPat::Bind(v) | ArgPat::Check(v) => binding[v as usize],
                ArgPat::Wild => None,
            };
            let (Some(Value::Sym(from)), Value::Sym(to)) = (sender, *head.first()?) else {
                return None;
            };
            if !enc.nodes.contains(&from) || !enc.nodes.contains(&to) || body_t >= self.run.eot {
                return None;
            }
            if from != to {
                if body_t < enc.eff {
                    cl.push(enc.omit_var(from, to, body_t));
                }
                cl.extend(enc.down_var(from, body_t));
            }
        }
        Some(())
    }

    /// nd(x) for a tuple of the run: x gets a derivation the run does not have.
    pub(super) fn nd_var(&mut self, enc: &mut Encoder, id: TupleId) -> Option<Lit> {
        if let Some(&l) = self.new_derivation.get(&id) {
            return l;
        }
        let rec = self.run.tuples.rec(id);
        let pattern: Pattern = rec.vals.iter().map(|v| Some(*v)).collect();
        let causes = self.rederive_causes(enc, rec.rel, &pattern, rec.time);
        let l = enc.or_var(causes);
        self.new_derivation.insert(id, l);
        l
    }

    /// For a lower bound on a firing of the run: the extra clause literals its rule needs
    /// (`Some(vec![])` for plain rules), or `None` when the firing's tuple cannot be
    /// certified this way (aggregates other than a `count` over positive atoms, whose
    /// value also needs no binding to appear).
    pub(super) fn lower_firing_conditions(
        &mut self,
        enc: &mut Encoder,
        rule: &IrRule,
        f: &crate::eval::Firing,
        head_time: u32,
    ) -> Option<Vec<Lit>> {
        let Some(col) = rule.agg else { return Some(Vec::new()) };
        if !matches!(rule.head.get(col), Some(HeadTerm::Agg(AggKind::Count, _)))
            || !rule.negatives.is_empty()
        {
            return None;
        }
        // The same bindings and no new one: every binding's atom gains nothing.
        let head: Pattern = self.run.tuples.rec(f.head).vals.iter().map(|v| Some(*v)).collect();
        let binding = rule.bind_head(&head)?;
        let body_t = if rule.ann == HeadAnn::None { head_time } else { head_time - 1 };
        let atoms = std::rc::Rc::clone(&enc.atoms);
        let (pos, _) = &atoms[rule.id as usize];
        let mut out = Vec::new();
        for (i, &(p, time)) in rule.positives.iter().enumerate() {
            let pt = at(time, body_t)?;
            let pat = atom_pattern(&pos[i], &binding);
            out.extend(self.gain_var(enc, p, &pat, pt));
        }
        Some(out)
    }

    /// A literal that certainly breaks a firing of the run (implied by each of: a body tuple
    /// lost, its message cut, a negated atom certainly present, a `count` gaining a binding),
    /// given the upper-bound `causes` whose first entries are the body tuples' b(y); `None`
    /// when the firing's tuple cannot be bounded this way.
    pub(super) fn firing_breakers(
        &mut self,
        enc: &mut Encoder,
        rule: &IrRule,
        f: &crate::eval::Firing,
        head_time: u32,
        causes: &[Lit],
    ) -> Option<Lit> {
        let mut breakers = self.lower_firing_conditions(enc, rule, f, head_time)?;
        // The body and message causes (everything in `causes` so far) certainly break it.
        breakers.extend(causes);
        let lineage = self.run.lineage.as_ref()?;
        for n in lineage.negs_of(f).cloned().collect::<Vec<_>>() {
            if Some(n.rel) == enc.program.crash_rel {
                if let Absence::Needs(lits) = self.absence(enc, n.rel, &n.pattern, n.time) {
                    breakers.extend(lits.into_iter().map(|l| !l));
                }
                continue;
            }
            // Any candidate certainly present blocks it (none is in the run: it fired).
            if let Some(cands) = domain_tuples(enc, n.rel, &n.pattern, MAX_SPLIT) {
                for vals in cands {
                    if self.run.tuples.find(n.rel, &vals, n.time).is_none() {
                        breakers.push(self.present_lower(enc, n.rel, &vals, n.time, LOWER_DEPTH));
                    }
                }
            }
        }
        enc.implied_var(breakers)
    }
}
