//! Lineage to SAT: fault variables, the Tseitin-style encoding of "this fault set can break
//! that good outcome", and the incremental solver that yields minimal hypotheses, smallest
//! first (DESIGN.md, "The LDFI search").
//!
//! For a good run with fault set F, b(x) ("x is lost") implies that every firing of x is broken; a
//! firing is broken only if a body tuple is lost, its message is omitted or its sender is
//! down, or (negative support) a relation it read with `notin` (or aggregated over) can gain a
//! tuple. Only these one-way implications are encoded, so a satisfying assignment can claim
//! more breakage than is real (an extra run) but never less (a missed bug). The clause group
//! of F is guarded by `AND F`, so runs teach the solver without excluding other hypotheses.
//!
//! A gain ("a tuple matching P appears at t that the run lacks") is reasoned about per rule
//! instance: relations no fault can change fix variables and let rule conditions prune the
//! instance; body atoms the run lacks must all be gained, atoms it has must still hold, a
//! certainly-blocking `notin` must lose its tuples, a message needs a live sender, and a
//! message the run lost to its own faults may simply arrive again.
//!
//! b(x) and h(x) mean "absent / may be present under the hypothesis", whatever run
//! x was seen in, so they are one variable per tuple shared by every learned run, and every
//! constraint is valid under any hypothesis (not only under the run's own faults). Definitions
//! are hash-consed and clauses added once, so the formula grows only by what a run adds.

use crate::analysis::ir::{
    ArgPat, HeadTerm, IrExpr, IrRule, Program, RelId, Step, Sym, TimeRef, Value,
};
use crate::eval::{Run, Source, TupleId};
use crate::syntax::ast::{AggKind, HeadAnn};
use rustc_hash::FxHashMap;
use rustsat::encodings::card::{BoundUpper, BoundUpperIncremental, Totalizer};
use rustsat::instances::{BasicVarManager, ManageVars};
use rustsat::solvers::{Solve, SolveIncremental, SolverResult};
use rustsat::types::{Clause, Lit, TernaryVal};
use std::collections::BTreeMap;

#[cfg(not(feature = "cadical"))]
pub type Backend = rustsat_batsat::BasicSolver;
#[cfg(feature = "cadical")]
pub type Backend = rustsat_cadical::CaDiCaL<'static, 'static>;

/// A hypothesis: omissions (from, to, time) and crashes (node, time).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hypothesis {
    pub omissions: Vec<(Sym, Sym, u32)>,
    pub crashes: Vec<(Sym, u32)>,
}

impl Hypothesis {
    pub fn len(&self) -> usize {
        self.omissions.len() + self.crashes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub struct Encoder<'p> {
    program: &'p Program,
    eot: u32,
    eff: u32,
    nodes: Vec<Sym>,
    negative_support: bool,
    solver: Backend,
    vm: BasicVarManager,
    omit: BTreeMap<(Sym, Sym, u32), Lit>,
    crash: BTreeMap<(Sym, u32), Lit>,
    down: FxHashMap<(Sym, u32), Lit>,
    /// Every fault variable, in creation order (the inputs of the totalizer).
    faults: Vec<Lit>,
    tot: Totalizer,
    /// Argument patterns of each rule's (positive, negated) atoms.
    atoms: std::rc::Rc<Vec<RuleAtoms>>,
    /// Static value domain of each column of each relation.
    domains: Vec<Vec<Domain>>,
    /// Relations faults cannot change (see [`stable_relations`]).
    stable: Vec<bool>,
    /// The relations of each same-time component.
    components: Vec<std::rc::Rc<Vec<RelId>>>,
    /// Whether each same-time component is recursive (a same-time rule reads it).
    recursive: Vec<bool>,
    /// Number of clauses added (for stats).
    pub clauses: usize,
    /// Debugging aid (`LDFI_TRACE=1`): a description of each auxiliary variable, so the
    /// variables a hypothesis's model sets can be printed.
    trace: Option<FxHashMap<u32, String>>,
    /// With `LDFI_TRACE`: the traced variables of each hypothesis of the last batch.
    pub traces: Vec<Vec<String>>,
    /// `LDFI_AUDIT` (debugging): every clause is checked against a real run.
    audit: Option<Audit>,
    /// Shared across runs (see [`Encoder::learn`]): b(x) and h(x) of every tuple by
    /// identity, the definition literals by what they define, and the clauses added.
    shared: Shared,
}

/// `LDFI_AUDIT`: the tuples of a real run, its faults, and the tuple behind each b/h variable.
struct Audit {
    present: rustc_hash::FxHashSet<TupleKey>,
    scenario: crate::eval::Scenario,
    meaning: FxHashMap<u32, (TupleKey, bool)>,
}

impl Audit {
    /// The value of a literal in the audited run, when its variable has a known meaning.
    fn value(&self, enc: &Encoder, l: Lit) -> Option<bool> {
        let v = l.var().idx32();
        let is = |x: &Lit| x.var().idx32() == v;
        let val = if let Some((k, holds)) = self.meaning.get(&v) {
            self.present.contains(k) == *holds
        } else if let Some((o, _)) = enc.omit.iter().find(|(_, x)| is(x)) {
            self.scenario.omissions.contains(o)
        } else if let Some((c, _)) = enc.crash.iter().find(|(_, x)| is(x)) {
            self.scenario.crashes.contains(c)
        } else if let Some(((n, t), _)) = enc.down.iter().find(|(_, x)| is(x)) {
            self.scenario.crashes.iter().any(|(m, ct)| m == n && ct <= t)
        } else {
            return None;
        };
        Some(val == l.is_pos())
    }

    /// Print a clause whose literals all have known values and are all false.
    fn check(&self, enc: &Encoder, lits: &[Lit]) {
        let values: Option<Vec<bool>> = lits.iter().map(|&l| self.value(enc, l)).collect();
        if values.is_some_and(|v| v.iter().all(|b| !b)) {
            let shown: Vec<String> = lits
                .iter()
                .map(|&l| {
                    let sign = if l.is_pos() { "" } else { "not " };
                    match self.meaning.get(&l.var().idx32()) {
                        Some(((rel, t, vals), holds)) => format!(
                            "{sign}{}({}@{t})",
                            if *holds { "holds" } else { "lost" },
                            enc.program.show_tuple(*rel, vals)
                        ),
                        None => format!("{sign}fault var {}", l.var().idx32()),
                    }
                })
                .collect();
            eprintln!("LDFI_AUDIT: clause false in the audited run: {}", shown.join(" or "));
        }
    }
}

/// Variables and clauses shared by the encodings of all runs.
///
/// b(x) means "x is absent under the hypothesis" and h(x) "x may be present under it":
/// neither depends on the run x was seen in, and every run's lineage gives valid necessary
/// conditions for them, so a tuple met in several runs gets one variable constrained by all
/// of them. Definition variables (`v -> OR lits`, `v -> AND lits`) are hash-consed on their
/// literals, and clauses are added once: a run that repeats most of an earlier run's lineage
/// adds almost nothing to the solver.
#[derive(Default)]
struct Shared {
    lost: FxHashMap<TupleKey, Lit>,
    holds: FxHashMap<TupleKey, Lit>,
    or_defs: FxHashMap<Box<[Lit]>, Lit>,
    and_defs: FxHashMap<Box<[Lit]>, Lit>,
    /// `v <- OR lits` (v is implied by each literal: a lower bound).
    implied_defs: FxHashMap<Box<[Lit]>, Lit>,
    clauses: rustc_hash::FxHashSet<Box<[Lit]>>,
}

/// A tuple's identity across runs: relation, time, values.
type TupleKey = (RelId, u32, Box<[Value]>);

impl<'p> Encoder<'p> {
    pub fn new(
        program: &'p Program,
        eot: u32,
        eff: u32,
        crashes: u32,
        nodes: &[Sym],
        negative_support: bool,
    ) -> Self {
        let atoms: Vec<RuleAtoms> = program.rules.iter().map(rule_atoms).collect();
        let domains = domains(program, &atoms);
        let mut enc = Encoder {
            program,
            eot,
            eff,
            nodes: nodes.to_vec(),
            negative_support,
            solver: Backend::default(),
            vm: BasicVarManager::default(),
            omit: BTreeMap::new(),
            crash: BTreeMap::new(),
            down: FxHashMap::default(),
            faults: Vec::new(),
            tot: Totalizer::default(),
            atoms: std::rc::Rc::new(atoms),
            domains,
            stable: stable_relations(program),
            components: components(program),
            recursive: recursive_components(program),
            clauses: 0,
            trace: std::env::var_os("LDFI_TRACE").map(|_| FxHashMap::default()),
            traces: Vec::new(),
            audit: None,
            shared: Shared::default(),
        };
        enc.crash_vars(crashes);
        let crash_lits: Vec<Lit> = enc.crash.values().copied().collect();
        enc.tot.extend(crash_lits);
        enc
    }

    fn lit(&mut self) -> Lit {
        self.vm.new_var().pos_lit()
    }

    /// A literal implying the disjunction of `lits` (`None` when empty; the literal itself
    /// when there is one). Equal disjunctions share one literal.
    fn or_var(&mut self, mut lits: Vec<Lit>) -> Option<Lit> {
        lits.sort_unstable();
        lits.dedup();
        match lits.len() {
            0 => None,
            1 => Some(lits[0]),
            _ => {
                if let Some(&v) = self.shared.or_defs.get(lits.as_slice()) {
                    return Some(v);
                }
                let v = self.lit();
                let mut cl = vec![!v];
                cl.extend(&lits);
                self.clause(&cl);
                self.shared.or_defs.insert(lits.into(), v);
                Some(v)
            }
        }
    }

    /// A literal implying every literal of `lits` (which must not be empty). Equal
    /// conjunctions share one literal.
    fn and_var(&mut self, mut lits: Vec<Lit>) -> Lit {
        lits.sort_unstable();
        lits.dedup();
        if lits.len() == 1 {
            return lits[0];
        }
        if let Some(&v) = self.shared.and_defs.get(lits.as_slice()) {
            return v;
        }
        let v = self.lit();
        for &l in &lits {
            self.clause(&[!v, l]);
        }
        self.shared.and_defs.insert(lits.into(), v);
        v
    }

    /// A literal implied by each literal of `lits` (`None` when empty).
    fn implied_var(&mut self, mut lits: Vec<Lit>) -> Option<Lit> {
        lits.sort_unstable();
        lits.dedup();
        match lits.len() {
            0 => None,
            1 => Some(lits[0]),
            _ => {
                if let Some(&v) = self.shared.implied_defs.get(lits.as_slice()) {
                    return Some(v);
                }
                let v = self.lit();
                for &l in &lits {
                    self.clause(&[!l, v]);
                }
                self.shared.implied_defs.insert(lits.into(), v);
                Some(v)
            }
        }
    }

    /// Add a clause unless the same clause was added before.
    fn clause_once(&mut self, lits: &[Lit]) {
        if let Some(audit) = &self.audit {
            audit.check(self, lits);
        }
        let mut key = lits.to_vec();
        key.sort_unstable();
        key.dedup();
        if self.shared.clauses.insert(key.into()) {
            self.clause(lits);
        }
    }

    /// The shared b(x) (`holds == false`) or h(x) variable of a tuple, and whether it is new.
    fn tuple_lit(&mut self, key: TupleKey, holds: bool) -> (Lit, bool) {
        let map = if holds { &self.shared.holds } else { &self.shared.lost };
        if let Some(&l) = map.get(&key) {
            return (l, false);
        }
        let l = self.lit();
        if let Some(audit) = &mut self.audit {
            audit.meaning.insert(l.var().idx32(), (key.clone(), holds));
        }
        let map = if holds { &mut self.shared.holds } else { &mut self.shared.lost };
        map.insert(key, l);
        (l, true)
    }

    fn clause(&mut self, lits: &[Lit]) {
        self.clauses += 1;
        // The in-memory backends only fail on out-of-memory.
        let _ = self.solver.add_clause(lits.iter().copied().collect::<Clause>());
    }

    /// Crash variables c(n, t) for t in 1..=EOT, at most one per node, and at most `crashes`
    /// crashed nodes.
    fn crash_vars(&mut self, crashes: u32) {
        if crashes == 0 {
            return;
        }
        let mut crashed = Vec::new();
        for n in self.nodes.clone() {
            let lits: Vec<Lit> = (1..=self.eot)
                .map(|t| {
                    let l = self.lit();
                    self.crash.insert((n, t), l);
                    self.faults.push(l);
                    l
                })
                .collect();
            // At most one crash time per node (pairwise; EOT is small).
            for i in 0..lits.len() {
                for j in i + 1..lits.len() {
                    self.clause(&[!lits[i], !lits[j]]);
                }
            }
            let any = self.lit();
            let mut cl = vec![!any];
            cl.extend(&lits);
            self.clause(&cl);
            for l in &lits {
                self.clause(&[!*l, any]);
            }
            crashed.push(any);
        }
        if (crashes as usize) < crashed.len() {
            let mut card: Totalizer = crashed.into_iter().collect();
            let mut cls = rustsat::instances::Cnf::new();
            let _ = card.encode_ub(crashes as usize..=crashes as usize, &mut cls, &mut self.vm);
            for cl in cls {
                self.clauses += 1;
                let _ = self.solver.add_clause(cl);
            }
            if let Ok(units) = card.enforce_ub(crashes as usize) {
                for u in units {
                    self.clause(&[u]);
                }
            }
        }
    }

    fn omit_var(&mut self, from: Sym, to: Sym, t: u32) -> Lit {
        if let Some(&l) = self.omit.get(&(from, to, t)) {
            return l;
        }
        let l = self.lit();
        self.omit.insert((from, to, t), l);
        self.faults.push(l);
        self.tot.extend([l]);
        l
    }

    /// d(n, t): n crashed at some time <= t (an equivalence).
    fn down_var(&mut self, n: Sym, t: u32) -> Option<Lit> {
        if self.crash.is_empty() || t == 0 {
            return None;
        }
        if let Some(&l) = self.down.get(&(n, t)) {
            return Some(l);
        }
        // d(n, t) <-> c(n, t) or d(n, t - 1): both directions, since "the sender is up" is
        // used as a condition (not d) as well as "the sender is down" as a cause (d).
        let l = self.lit();
        self.down.insert((n, t), l);
        let mut cl = vec![!l];
        if let Some(&c) = self.crash.get(&(n, t)) {
            cl.push(c);
            self.clause(&[!c, l]);
        }
        if let Some(prev) = self.down_var(n, t - 1) {
            cl.push(prev);
            self.clause(&[!prev, l]);
        }
        self.clause(&cl);
        Some(l)
    }

    /// The crash variable behind a tuple `crash(obs, n, ct)`, which is present (at every
    /// node) exactly when n crashes at ct; `None` when obs is not a node or no such variable.
    fn crash_var_of(&self, vals: &[Value]) -> Option<Lit> {
        let [Value::Sym(obs), Value::Sym(n), Value::Int(ct)] = vals else { return None };
        if !self.nodes.contains(obs) {
            return None;
        }
        self.crash.get(&(*n, u32::try_from(*ct).ok()?)).copied()
    }

    /// The crash variables whose tuples match a `crash(_, n, t)` pattern (open columns match
    /// any node or time).
    fn crashes_matching(
        &self,
        pattern: &[Option<Value>],
    ) -> impl Iterator<Item = (&(Sym, u32), Lit)> + '_ {
        let node = pattern.get(1).copied().flatten();
        let time = pattern.get(2).copied().flatten();
        self.crash
            .iter()
            .filter(move |((n, t), _)| {
                node.is_none_or(|v| v == Value::Sym(*n))
                    && time.is_none_or(|v| v == Value::Int(*t as i64))
            })
            .map(|(c, &l)| (c, l))
    }

    fn hypothesis_lits(&mut self, h: &Hypothesis) -> Vec<Lit> {
        let mut lits: Vec<Lit> =
            h.omissions.iter().map(|&(a, b, t)| self.omit_var(a, b, t)).collect();
        lits.extend(h.crashes.iter().filter_map(|c| self.crash.get(c).copied()));
        lits
    }

    /// Learn from a good run with fault set `h`: `(AND h) -> the run's good outcome is
    /// broken`.
    ///
    /// Omissions of channels that carried no message in the run changed nothing, so they are
    /// left out of the guard: the lesson then holds for every superset of the effective faults.
    pub fn learn(&mut self, run: &Run, h: &Hypothesis) {
        let effective = Hypothesis {
            omissions: h
                .omissions
                .iter()
                .copied()
                .filter(|&(a, b, t)| {
                    run.messages.iter().any(|m| {
                        (m.from, m.to, m.send_time) == (a, b, t)
                            && m.status == crate::eval::MsgStatus::Omitted
                    })
                })
                .collect(),
            crashes: h.crashes.clone(),
        };
        let guard: Vec<Lit> = self.hypothesis_lits(&effective).into_iter().map(|l| !l).collect();
        let mut enc = RunEncoding {
            run,
            crashes: h.crashes.clone(),
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
        };
        let mut goal = guard;
        if let (Some(pre), Some(post)) = (self.program.pre_rel, self.program.post_rel) {
            for id in run.tuples_at(pre, self.eot) {
                let vals = &run.tuples.rec(id).vals;
                if let Some(p) = run.tuples.find(post, vals, self.eot) {
                    // A violation: the post tuple is lost while its pre tuple may still hold.
                    let b = enc.tuple_var(self, p);
                    let h = enc.holds_var(self, id);
                    if self.negative_support {
                        // Its lower bounds show when post certainly stays (e.g. re-derived).
                        enc.holds_var(self, p);
                    }
                    goal.push(self.and_var(vec![b, h]));
                }
            }
            if self.negative_support {
                let any = vec![None; self.program.rels[pre as usize].arity];
                if let Some(g) = enc.gain_var(self, pre, &any, self.eot) {
                    goal.push(g);
                }
            }
        }
        enc.drain(self);
        self.clause(&goal);
    }

    /// Forbid a fault set and all its supersets (used after a counterexample with `--all`).
    pub fn block(&mut self, h: &Hypothesis) {
        let cl: Vec<Lit> = self.hypothesis_lits(h).into_iter().map(|l| !l).collect();
        self.clause(&cl);
    }

    /// Up to `cap` distinct hypotheses of the smallest size the solver allows now (fewer when
    /// the size would grow), or none when the space is exhausted (certified). They are all
    /// minimal given what is known before any of them runs.
    pub fn next_batch(&mut self, min_size: &mut usize, cap: usize) -> Vec<Hypothesis> {
        let act = self.lit();
        let mut out: Vec<Hypothesis> = Vec::new();
        let first_size = *min_size;
        while out.len() < cap {
            let Some(h) = self.next_with(min_size, act) else { break };
            if self.trace.is_some() {
                let t = self.trace_model();
                self.traces.push(t);
            }
            // Block it for the rest of this batch only (the activation literal is retired).
            let mut cl = vec![!act];
            cl.extend(self.hypothesis_lits(&h).into_iter().map(|l| !l));
            self.clause(&cl);
            let grew = *min_size != first_size;
            if grew && !out.is_empty() {
                break;
            }
            out.push(h);
            if grew {
                break;
            }
        }
        self.clause(&[!act]);
        out
    }

    /// The next hypothesis of smallest size under the batch activation literal.
    fn next_with(&mut self, min_size: &mut usize, act: Lit) -> Option<Hypothesis> {
        loop {
            let mut cls = rustsat::instances::Cnf::new();
            let k = *min_size;
            let _ = self.tot.encode_ub_change(k..=k, &mut cls, &mut self.vm);
            for cl in cls {
                self.clauses += 1;
                let _ = self.solver.add_clause(cl);
            }
            let mut assumps = self.tot.enforce_ub(k).unwrap_or_default();
            assumps.push(act);
            match self.solver.solve_assumps(&assumps) {
                Ok(SolverResult::Sat) => return Some(self.model()),
                Ok(SolverResult::Unsat) => {}
                _ => return None,
            }
            match self.solver.solve_assumps(&[act]) {
                Ok(SolverResult::Sat) => *min_size += 1,
                _ => return None,
            }
        }
    }

    /// Debugging aid (`LDFI_AUDIT`): from now on, check every clause added against the real
    /// run of `scenario` (every variable of a tuple, fault or crash has a true value there;
    /// a sound clause is never false). Violations are printed on stderr.
    pub fn audit(
        &mut self,
        scenario: &crate::eval::Scenario,
    ) -> Result<(), crate::eval::EvalError> {
        let params = crate::eval::RunParams {
            eot: self.eot,
            nodes: self.nodes.clone(),
            lineage: false,
            tuple_cap: crate::eval::DEFAULT_TUPLE_CAP,
        };
        let run = crate::eval::run(self.program, &params, scenario)?;
        let present = run.tuples.recs.iter().map(|r| (r.rel, r.time, r.vals.clone())).collect();
        self.audit =
            Some(Audit { present, scenario: scenario.clone(), meaning: FxHashMap::default() });
        Ok(())
    }

    /// Describe a variable for `LDFI_TRACE` (the first description of a positive literal
    /// wins: hash-consed literals serve several definitions).
    fn name(&mut self, l: Lit, what: impl FnOnce() -> String) {
        if let Some(t) = &mut self.trace {
            if l.is_pos() {
                t.entry(l.var().idx32()).or_insert_with(what);
            }
        }
    }

    /// The described variables the current model sets true (debugging aid).
    pub fn trace_model(&self) -> Vec<String> {
        let Some(t) = &self.trace else { return Vec::new() };
        let mut out: Vec<(u32, &String)> = t
            .iter()
            .filter(|(&v, _)| {
                matches!(
                    self.solver.lit_val(rustsat::types::Var::new(v).pos_lit()),
                    Ok(TernaryVal::True)
                )
            })
            .map(|(v, s)| (*v, s))
            .collect();
        out.sort();
        out.into_iter().map(|(_, s)| s.clone()).collect()
    }

    fn model(&self) -> Hypothesis {
        let val = |l: Lit| matches!(self.solver.lit_val(l), Ok(TernaryVal::True));
        Hypothesis {
            omissions: self.omit.iter().filter(|(_, &l)| val(l)).map(|(k, _)| *k).collect(),
            crashes: self.crash.iter().filter(|(_, &l)| val(l)).map(|(k, _)| *k).collect(),
        }
    }

    /// A deterministic measure of the SAT solver's work so far: its propagations (0 with a
    /// backend that does not count them).
    pub fn solver_work(&self) -> u64 {
        #[cfg(not(feature = "cadical"))]
        {
            use batsat::interface::SolverInterface;
            self.solver.batsat_ref().num_propagations()
        }
        #[cfg(feature = "cadical")]
        {
            0
        }
    }

    pub fn fault_vars(&self) -> usize {
        self.faults.len()
    }
}

/// The variables of one run's encoding.
struct RunEncoding<'r> {
    run: &'r Run,
    /// The run's crashes (node, time): their crash tuples are the run's own, not gains.
    crashes: Vec<(Sym, u32)>,
    /// b(x) of the run's tuples met so far (shared literals, each tuple encoded once per run).
    tuple: FxHashMap<TupleId, Lit>,
    gain: FxHashMap<(RelId, Pattern, u32), Option<Lit>>,
    loss: FxHashMap<(RelId, Pattern, u32), Option<Lit>>,
    anycrash: Option<Option<Lit>>,
    queue: Vec<TupleId>,
    /// h(x): x may still hold under the hypothesis (an over-approximation of holding).
    holds: FxHashMap<TupleId, Lit>,
    hqueue: Vec<TupleId>,
    /// Gain patterns being encoded (a guard against recursion; see `gain_var`).
    active: rustc_hash::FxHashSet<(RelId, Pattern, u32)>,
    /// b(z) of tuples the run lacks, given their lower bound in this run.
    absent: FxHashMap<TupleKey, Lit>,
    /// Tuples whose h got instance lower bounds in this run, with the depth used.
    lowered: FxHashMap<TupleKey, u32>,
    /// nd(x): x gets a derivation the run does not have (for the run's tuples).
    new_derivation: FxHashMap<TupleId, Option<Lit>>,
}

impl RunEncoding<'_> {
    fn key(&self, id: TupleId) -> TupleKey {
        let r = self.run.tuples.rec(id);
        (r.rel, r.time, r.vals.clone())
    }

    /// b(x) of a tuple of the run (queued for encoding the first time it is met).
    fn tuple_var(&mut self, enc: &mut Encoder, id: TupleId) -> Lit {
        self.run_tuple_var(enc, id, false)
    }

    /// h(x) of a tuple of the run (queued for encoding the first time it is met).
    fn holds_var(&mut self, enc: &mut Encoder, id: TupleId) -> Lit {
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
    fn drain(&mut self, enc: &mut Encoder) {
        loop {
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

    /// For a lower bound on a firing of the run: the extra clause literals its rule needs
    /// (`Some(vec![])` for plain rules), or `None` when the firing's tuple cannot be
    /// certified this way (aggregates other than a `count` over positive atoms, whose
    /// value also needs no binding to appear).
    fn lower_firing_conditions(
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
        let binding = bind_head(rule, &head)?;
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
                    if let Some(binding) = bind_head(rule, &head) {
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

    /// A literal that certainly breaks a firing of the run (implied by each of: a body tuple
    /// lost, its message cut, a negated atom certainly present, a `count` gaining a binding),
    /// given the upper-bound `causes` whose first entries are the body tuples' b(y); `None`
    /// when the firing's tuple cannot be bounded this way.
    fn firing_breakers(
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
        for n in lineage.negs_of(f).to_vec() {
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

    /// G(q, P, t): faults can make a tuple of q matching the pattern P appear at t that the
    /// run does not have (negative support). A relation gains only through a rule deriving
    /// it (or another relation of its same-time recursive component) whose input changes: a
    /// positive body atom gains, a negated one loses a matching tuple, an aggregated one
    /// changes either way, or a node crashes (the `crash` relation gains). The head's bound
    /// values flow into the body atoms' patterns. Same-time inputs come from lower components
    /// and `@next`/`@async` inputs from t-1, so the implications are well-founded: the solver
    /// cannot claim a gain out of thin air. A pattern whose every possible tuple is already
    /// present cannot gain at all.
    fn gain_var(
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
        // An open pattern over small known domains: only its absent tuples can appear, and
        // each of them binds more of the rules that could derive it.
        if let Some(missing) = self.missing_candidates(enc, q, pattern, t) {
            let lits: Vec<Lit> =
                missing.iter().filter_map(|c| self.gain_var(enc, q, c, t)).collect();
            let g = enc.or_var(lits);
            self.gain.insert(key, g);
            return g;
        }
        if let Some(&g) = self.gain.get(&key) {
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
        self.active.remove(&key);
        let g = enc.or_var(causes);
        if let Some(g) = g {
            enc.name(g, || format!("gain {}@{t}", show_pattern(program, q, pattern)));
        }
        self.gain.insert(key, g);
        g
    }

    /// The ways a tuple of q matching P can get a derivation at t that the run does not
    /// have: a rule deriving q (or its same-time component) whose input changes.
    fn rederive_causes(
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
                    bind_head(rule, pattern)
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
    /// (the same in every run, see [`stable_relations`]) and the rule's conditions tell: the
    /// binding extended by every combination of matching stable tuples, minus those a
    /// condition rejects. Aggregate rules (whose groups mix bindings) and combinations beyond
    /// a small cap keep the binding unextended.
    fn instances(
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
        let (gain_like, loss_like) = match self.count_direction(rule, derives_q, pattern, t) {
            Some(std::cmp::Ordering::Less) => (false, true),
            Some(_) => (true, false),
            None => (true, true),
        };
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

    /// For a `count` rule deriving q whose pattern fixes the count of a group the run has:
    /// how the wanted count compares with the run's.
    fn count_direction(
        &self,
        rule: &IrRule,
        derives_q: bool,
        pattern: &[Option<Value>],
        t: u32,
    ) -> Option<std::cmp::Ordering> {
        let col = rule.agg.filter(|_| derives_q)?;
        if !matches!(rule.head.get(col), Some(HeadTerm::Agg(AggKind::Count, _))) {
            return None;
        }
        let Some(Value::Int(want)) = pattern.get(col).copied().flatten() else { return None };
        let id = self.group_tuple(rule.head_rel, pattern, col, t)?;
        match self.run.tuples.rec(id).vals[col] {
            Value::Int(have) => Some(want.cmp(&have)),
            Value::Sym(_) => None,
        }
    }

    /// The tuples of r at t, borrowed from the run (empty outside 1..=EOT).
    fn tuples(&self, r: RelId, t: u32) -> &[TupleId] {
        self.run.tuples.store(t).map_or(&[], |s| &s.rels[r as usize].list)
    }

    /// The tuples of r at t matching the pattern.
    fn matching(&self, r: RelId, pattern: &[Option<Value>], t: u32) -> Vec<TupleId> {
        self.tuples(r, t)
            .iter()
            .copied()
            .filter(|&id| matches(pattern, &self.run.tuples.rec(id).vals))
            .collect()
    }

    /// Some tuple of r at t matches the pattern.
    fn has_match(&self, r: RelId, pattern: &[Option<Value>], t: u32) -> bool {
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
    fn group_exists(&self, q: RelId, pattern: &[Option<Value>], agg_col: usize, t: u32) -> bool {
        self.group_tuple(q, pattern, agg_col, t).is_some()
    }

    /// The run's tuple of q at t for the group the pattern names (every column but the
    /// aggregated `agg_col`).
    fn group_tuple(
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
    fn loss_var(
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

/// What "no tuple of a relation matching a pattern is present" takes.
enum Absence {
    /// Every one of these literals: b(z) of each candidate tuple, or "not crashed".
    Needs(Vec<Lit>),
    /// Never: a tuple no fault can remove matches.
    Never,
    /// The candidates cannot be enumerated.
    Unknown,
}

/// How many rule levels the lower bounds of a tuple the run lacks follow.
const LOWER_DEPTH: u32 = 6;

/// Lower bounds: what certainly holds, or is certainly lost, under a hypothesis. They are
/// clauses `b(x) <- ...` and `h(x) <- ...` that the true meaning of every variable satisfies
/// (x really absent, really present), so like the upper bounds they never exclude a real
/// violation; they let the solver see, for instance, that an abort the hypothesis cannot
/// prevent does arrive, and so blocks a `notin` that a hypothesis relied on.
impl RunEncoding<'_> {
    /// What it takes for no tuple of q matching the pattern to be present at t.
    fn absence(
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
    fn instance_lowers(&mut self, enc: &mut Encoder, key: TupleKey, h: Lit, depth: u32) {
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
        for &rid in &program.rules_by_head[q as usize] {
            let rule = &program.rules[rid as usize];
            if rule.agg.is_some() {
                continue;
            }
            let body_t = if rule.ann == HeadAnn::None { t } else { t - 1 };
            if body_t == 0 {
                continue;
            }
            let Some(binding) = bind_head(rule, &pattern) else { continue };
            for (b, choice) in self.lower_instances(enc, rule, binding, body_t) {
                if let Some(conds) =
                    self.instance_lower(enc, rule, &b, &choice, body_t, &vals, depth)
                {
                    let mut cl = vec![h];
                    cl.extend(conds);
                    enc.clause_once(&cl);
                }
            }
        }
    }

    /// The rule instances of [`RunEncoding::instances`], with every body atom the binding
    /// leaves open split over its candidate tuples (static domains): each instance comes
    /// with the tuple chosen for each such atom. Empty when there would be too many.
    #[allow(clippy::type_complexity)]
    fn lower_instances(
        &self,
        enc: &Encoder,
        rule: &IrRule,
        binding: Vec<Option<Value>>,
        body_t: u32,
    ) -> Vec<(Vec<Option<Value>>, Vec<Option<Vec<Value>>>)> {
        let (pos, _) = &enc.atoms[rule.id as usize];
        let n = rule.positives.len();
        let mut out: Vec<(Vec<Option<Value>>, Vec<Option<Vec<Value>>>)> = self
            .instances(enc, rule, binding, body_t)
            .into_iter()
            .map(|b| (b, vec![None; n]))
            .collect();
        for (i, &(p, time)) in rule.positives.iter().enumerate() {
            if enc.stable[p as usize]
                || Some(p) == enc.program.crash_rel
                || at(time, body_t).is_none()
            {
                continue;
            }
            let mut next = Vec::new();
            for (b, choice) in out {
                let pat = atom_pattern(&pos[i], &b);
                if pat.iter().all(Option::is_some) {
                    next.push((b, choice));
                    continue;
                }
                let Some(cands) = domain_tuples(enc, p, &pat, MAX_SPLIT) else { return Vec::new() };
                for vals in cands {
                    let Some(e) = extend(&b, &pos[i], &vals) else { continue };
                    let mut c = choice.clone();
                    c[i] = Some(vals);
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

    /// The clause literals (negated conditions) under which a fully bound rule instance
    /// certainly derives `head`; `None` when that cannot be stated.
    #[allow(clippy::too_many_arguments)]
    fn instance_lower(
        &mut self,
        enc: &mut Encoder,
        rule: &IrRule,
        binding: &[Option<Value>],
        choice: &[Option<Vec<Value>>],
        body_t: u32,
        head: &[Value],
        depth: u32,
    ) -> Option<Vec<Lit>> {
        for (term, v) in rule.head.iter().zip(head) {
            let HeadTerm::Expr(e) = term else { return None };
            if eval_bound(e, binding)? != *v {
                return None;
            }
        }
        if !conditions_hold(enc.program, rule, binding)? {
            return None;
        }
        let atoms = std::rc::Rc::clone(&enc.atoms);
        let (pos, neg) = &atoms[rule.id as usize];
        let mut cl = Vec::new();
        for (i, &(p, time)) in rule.positives.iter().enumerate() {
            let pt = at(time, body_t)?;
            let vals: Vec<Value> = match &choice[i] {
                Some(v) => v.clone(),
                None => atom_pattern(&pos[i], binding).iter().copied().collect::<Option<_>>()?,
            };
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
        Some(cl)
    }

    /// nd(x) for a tuple of the run: x gets a derivation the run does not have.
    fn nd_var(&mut self, enc: &mut Encoder, id: TupleId) -> Option<Lit> {
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
}

/// Every tuple of q matching the pattern over the static column domains; `None` when an open
/// column's domain is unknown or there would be more than `limit` tuples.
fn domain_tuples(
    enc: &Encoder,
    q: RelId,
    pattern: &[Option<Value>],
    limit: usize,
) -> Option<Vec<Vec<Value>>> {
    let mut out: Vec<Vec<Value>> = vec![Vec::new()];
    for (col, p) in pattern.iter().enumerate() {
        let values: Vec<Value> = match p {
            Some(v) => vec![*v],
            None => enc.domains[q as usize][col].as_ref()?.iter().copied().collect(),
        };
        if out.len() * values.len() > limit {
            return None;
        }
        out = out
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push(*v);
                    c
                })
            })
            .collect();
    }
    Some(out)
}

/// A tuple pattern: `None` matches any value.
type Pattern = Box<[Option<Value>]>;

/// A rule under a (partial) binding of its variables, evaluated at `body_t`.
struct Instance<'a> {
    rule: &'a IrRule,
    binding: &'a [Option<Value>],
    /// The rule derives the relation being asked about (else another of its component).
    derives_q: bool,
    body_t: u32,
}

/// Most rule instances one rule is split into by its stable atoms.
const MAX_INSTANCES: usize = 64;

/// False when a condition of the rule is certainly false under the binding (every variable
/// it reads is bound); conditions that cannot be evaluated count as possibly true.
fn conditions_may_hold(program: &Program, rule: &IrRule, binding: &[Option<Value>]) -> bool {
    rule.full.steps.iter().all(|step| match step {
        Step::Filter { lhs, op, rhs } => condition(program, lhs, *op, rhs, binding) != Some(false),
        _ => true,
    })
}

/// True when every condition of the rule is certainly true under the binding; `None` when
/// one cannot be evaluated.
fn conditions_hold(program: &Program, rule: &IrRule, binding: &[Option<Value>]) -> Option<bool> {
    for step in &rule.full.steps {
        if let Step::Filter { lhs, op, rhs } = step {
            if !condition(program, lhs, *op, rhs, binding)? {
                return Some(false);
            }
        }
    }
    Some(true)
}

/// The value of one condition under a partial binding (`None`: unbound or not comparable).
fn condition(
    program: &Program,
    lhs: &IrExpr,
    op: crate::syntax::ast::CmpOp,
    rhs: &IrExpr,
    binding: &[Option<Value>],
) -> Option<bool> {
    use crate::syntax::ast::CmpOp;
    let (a, b) = (eval_bound(lhs, binding)?, eval_bound(rhs, binding)?);
    Some(match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        _ => {
            let ord = program.symbols.compare(a, b)?;
            match op {
                CmpOp::Lt => ord.is_lt(),
                CmpOp::Gt => ord.is_gt(),
                CmpOp::Le => ord.is_le(),
                CmpOp::Ge => ord.is_ge(),
                CmpOp::Eq | CmpOp::Ne => unreachable!("handled above"),
            }
        }
    })
}

/// The value of an expression under a partial binding; `None` when a variable is unbound
/// or the arithmetic fails (the evaluator reports those).
fn eval_bound(e: &IrExpr, binding: &[Option<Value>]) -> Option<Value> {
    use crate::syntax::ast::BinOp;
    match e {
        IrExpr::Var(v) => binding[*v as usize],
        IrExpr::Const(c) => Some(*c),
        IrExpr::Neg(a) => match eval_bound(a, binding)? {
            Value::Int(x) => x.checked_neg().map(Value::Int),
            Value::Sym(_) => None,
        },
        IrExpr::Bin(op, a, b) => {
            let (Value::Int(x), Value::Int(y)) = (eval_bound(a, binding)?, eval_bound(b, binding)?)
            else {
                return None;
            };
            match op {
                BinOp::Add => x.checked_add(y),
                BinOp::Sub => x.checked_sub(y),
                BinOp::Mul => x.checked_mul(y),
                BinOp::Div => x.checked_div(y),
                BinOp::Mod => x.checked_rem(y),
            }
            .map(Value::Int)
        }
    }
}

/// Whether each same-time component is recursive: a same-time rule deriving one of its
/// relations reads one of them (positively or negated) at the same time.
fn recursive_components(program: &Program) -> Vec<bool> {
    let n = program.same_time_scc.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
    let mut out = vec![false; n];
    for rule in &program.rules {
        if rule.ann != HeadAnn::None {
            continue;
        }
        let c = program.same_time_scc[rule.head_rel as usize];
        let reads_own = rule
            .positives
            .iter()
            .chain(rule.negatives.iter())
            .any(|&(r, time)| time == TimeRef::Now && program.same_time_scc[r as usize] == c);
        if reads_own {
            out[c as usize] = true;
        }
    }
    out
}

/// The relations of each same-time component, indexed by component.
fn components(program: &Program) -> Vec<std::rc::Rc<Vec<RelId>>> {
    let n = program.same_time_scc.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
    let mut out = vec![Vec::new(); n];
    for (r, &c) in program.same_time_scc.iter().enumerate() {
        out[c as usize].push(r as RelId);
    }
    out.into_iter().map(std::rc::Rc::new).collect()
}

/// Relations whose tuples are the same in every run: they do not depend, through any rule,
/// on a message (`@async` head) or on the crash oracle. Faults cannot change them.
fn stable_relations(program: &Program) -> Vec<bool> {
    let mut stable = vec![true; program.rels.len()];
    if let Some(c) = program.crash_rel {
        stable[c as usize] = false;
    }
    for rule in &program.rules {
        if rule.ann == HeadAnn::Async {
            stable[rule.head_rel as usize] = false;
        }
    }
    loop {
        let mut changed = false;
        for rule in &program.rules {
            let h = rule.head_rel as usize;
            if stable[h]
                && rule
                    .positives
                    .iter()
                    .chain(rule.negatives.iter())
                    .any(|&(r, _)| !stable[r as usize])
            {
                stable[h] = false;
                changed = true;
            }
        }
        if !changed {
            return stable;
        }
    }
}

fn show_pattern(program: &Program, rel: RelId, pattern: &[Option<Value>]) -> String {
    let args: Vec<String> = pattern
        .iter()
        .map(|p| p.map_or("_".to_string(), |v| program.symbols.show(v).to_string()))
        .collect();
    format!("{}({})", program.rel_name(rel), args.join(", "))
}

fn matches(pattern: &[Option<Value>], vals: &[Value]) -> bool {
    pattern.iter().zip(vals).all(|(p, v)| p.is_none_or(|p| p == *v))
}

/// The time a body atom reads when its rule's body is evaluated at `body_t`.
fn at(time: TimeRef, body_t: u32) -> Option<u32> {
    match time {
        TimeRef::Now => Some(body_t),
        TimeRef::At(a) if a <= body_t => Some(a),
        TimeRef::At(_) => None,
    }
}

/// Bind a rule's head variables to the values a pattern fixes; `None` when a constant in
/// the head contradicts the pattern (the rule cannot produce such a tuple).
fn bind_head(rule: &IrRule, pattern: &[Option<Value>]) -> Option<Vec<Option<Value>>> {
    let mut binding = vec![None; rule.nvars];
    for (term, want) in rule.head.iter().zip(pattern) {
        let Some(want) = want else { continue };
        match term {
            HeadTerm::Expr(IrExpr::Var(v)) => match binding[*v as usize] {
                Some(old) if old != *want => return None,
                _ => binding[*v as usize] = Some(*want),
            },
            HeadTerm::Expr(IrExpr::Const(c)) if c != want => return None,
            _ => {}
        }
    }
    Some(binding)
}

/// The pattern of a body atom under a partial binding of the rule's variables.
fn atom_pattern(args: &[ArgPat], binding: &[Option<Value>]) -> Pattern {
    args.iter()
        .map(|a| match *a {
            ArgPat::Const(c) => Some(c),
            ArgPat::Bind(v) | ArgPat::Check(v) => binding[v as usize],
            ArgPat::Wild => None,
        })
        .collect()
}

/// The binding extended by matching an atom against a tuple; `None` when they disagree (a
/// constant, or a variable bound to another value, possibly earlier in the same atom).
fn extend(
    binding: &[Option<Value>],
    args: &[ArgPat],
    vals: &[Value],
) -> Option<Vec<Option<Value>>> {
    let mut e = binding.to_vec();
    for (a, v) in args.iter().zip(vals.iter()) {
        match a {
            ArgPat::Bind(x) | ArgPat::Check(x) => match e[*x as usize] {
                Some(old) if old != *v => return None,
                _ => e[*x as usize] = Some(*v),
            },
            ArgPat::Const(c) if c != v => return None,
            _ => {}
        }
    }
    Some(e)
}

/// Every column of the atom is a constant, a wildcard or a variable the binding fixes: a
/// matching tuple then blocks a `notin` of it whatever the rest of the binding.
fn determined(args: &[ArgPat], binding: &[Option<Value>]) -> bool {
    args.iter().all(|a| match *a {
        ArgPat::Bind(v) | ArgPat::Check(v) => binding[v as usize].is_some(),
        ArgPat::Const(_) | ArgPat::Wild => true,
    })
}

/// The argument patterns of a rule's (positive, negated) atoms, in source order.
type RuleAtoms = (Vec<Vec<ArgPat>>, Vec<Vec<ArgPat>>);

/// The argument patterns of each rule's positive and negated atoms, in source order.
fn rule_atoms(rule: &IrRule) -> RuleAtoms {
    let mut pos = vec![Vec::new(); rule.positives.len()];
    let mut neg = vec![Vec::new(); rule.negatives.len()];
    for step in &rule.full.steps {
        match step {
            Step::Scan { args, lit, .. } => pos[*lit] = args.clone(),
            Step::Absent { args, lit, .. } => neg[*lit] = args.clone(),
            Step::Filter { .. } => {}
        }
    }
    (pos, neg)
}

/// Most absent candidates an open pattern is split into.
const MAX_SPLIT: usize = 16;
/// Most candidate tuples a saturation check enumerates.
const SATURATION_LIMIT: usize = 4096;
/// Largest value domain kept per column (beyond it the domain counts as unknown).
const DOMAIN_LIMIT: usize = 1024;

/// A column's possible values: `None` when unknown (arithmetic, aggregates, too many).
type Domain = Option<std::collections::BTreeSet<Value>>;

/// Static value domains of every column of every relation: the constants of facts and rule
/// heads, flowing through rule variables (a least fixpoint over sets; arithmetic, `count`
/// and `sum` make a column unknown). Every tuple of any run has its values in these domains.
fn domains(program: &Program, atoms: &[RuleAtoms]) -> Vec<Vec<Domain>> {
    let mut dom: Vec<Vec<Domain>> =
        program.rels.iter().map(|r| vec![Some(Default::default()); r.arity]).collect();
    if let Some(c) = program.crash_rel {
        dom[c as usize] = vec![None; 3];
    }
    for f in &program.facts {
        for (col, v) in f.vals.iter().enumerate() {
            if let Some(d) = &mut dom[f.rel as usize][col] {
                d.insert(*v);
            }
        }
    }
    loop {
        let mut changed = false;
        for rule in &program.rules {
            let pos = &atoms[rule.id as usize].0;
            // A variable ranges over the intersection of the domains of its positive columns.
            let mut var: Vec<Option<Domain>> = vec![None; rule.nvars];
            for (i, args) in pos.iter().enumerate() {
                let rel = rule.positives[i].0 as usize;
                for (col, a) in args.iter().enumerate() {
                    if let ArgPat::Bind(v) | ArgPat::Check(v) = a {
                        let d = dom[rel][col].clone();
                        let slot = &mut var[*v as usize];
                        *slot = Some(match (slot.take(), d) {
                            (None, d) => d,
                            (Some(None), d) => d,
                            (Some(Some(a)), None) => Some(a),
                            (Some(Some(a)), Some(b)) => Some(a.intersection(&b).copied().collect()),
                        });
                    }
                }
            }
            for (col, term) in rule.head.iter().enumerate() {
                let add: Domain = match term {
                    HeadTerm::Expr(IrExpr::Const(c)) => Some([*c].into_iter().collect()),
                    HeadTerm::Expr(IrExpr::Var(v)) => var[*v as usize].clone().flatten(),
                    HeadTerm::Agg(AggKind::Min | AggKind::Max, v) => {
                        var[*v as usize].clone().flatten()
                    }
                    _ => None,
                };
                let slot = &mut dom[rule.head_rel as usize][col];
                let Some(cur) = slot else { continue };
                match add {
                    None => {
                        *slot = None;
                        changed = true;
                    }
                    Some(a) => {
                        let before = cur.len();
                        cur.extend(a);
                        if cur.len() > DOMAIN_LIMIT {
                            *slot = None;
                            changed = true;
                        } else if cur.len() != before {
                            changed = true;
                        }
                    }
                }
            }
        }
        if !changed {
            return dom;
        }
    }
}
