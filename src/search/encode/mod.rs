//! Lineage to SAT: fault variables, the Tseitin-style encoding of "this fault set can break
//! that good outcome", and the incremental solver that yields minimal hypotheses, smallest
//! first (DESIGN.md, "The LDFI search").
//!
//! This module owns the [`Encoder`]: the fault variables (omissions, crashes, "down"), the
//! variables and clauses shared by every learned run (hash-consed definitions, clauses added
//! once), [`Encoder::learn`] and [`Encoder::block`], and the solver loop
//! ([`Encoder::next_batch`]) over a totalizer on the fault variables. The encoding itself
//! lives in the submodules:
//!
//! - `lineage`: one run's encoding ([`lineage::RunEncoding`]): b(x) and h(x) of the run's
//!   tuples from the firings that derived them (upper bounds).
//! - `gain`: negative support: what can make a tuple the run lacks appear (gains) or a
//!   tuple it has disappear (losses).
//! - `lower`: lower bounds: what certainly holds, or is certainly lost, under a hypothesis.
//! - `statics`: what is known about the program before any run (value domains, relations
//!   no fault can change, same-time components, rule atoms).
//! - `pattern`: tuple patterns, rule bindings and conditions under a partial binding.
//! - `equiv`: fault sets a run has already decided (the same run exactly), ruled out with
//!   one clause per run.
//! - `audit`: the debugging aids `LDFI_AUDIT` and `LDFI_TRACE`.
//!
//! b(x) and h(x) mean "absent / may be present under the hypothesis", whatever run
//! x was seen in, so they are one variable per tuple shared by every learned run, and every
//! constraint is valid under any hypothesis (not only under the run's own faults). Definitions
//! are hash-consed and clauses added once, so the formula grows only by what a run adds.

mod audit;
mod equiv;
mod gain;
mod lineage;
mod lower;
mod pattern;
mod statics;

use crate::analysis::ir::{Program, RelId, Sym, Value};
use crate::eval::Run;
use audit::Audit;
use lineage::RunEncoding;
use rustc_hash::FxHashMap;
use rustsat::encodings::card::{BoundUpper, BoundUpperIncremental, Totalizer};
use rustsat::instances::{BasicVarManager, ManageVars};
use rustsat::solvers::{Solve, SolveIncremental, SolverResult};
use rustsat::types::{Lit, TernaryVal};
use statics::{components, domain_lists, domains, recursive_components, rule_atoms};
use statics::{stable_relations, DomainList, RuleAtoms};
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

/// One round of the search: hypotheses of one size, each minimal given what was known when
/// the round began. Each is blocked, for the rest of the round only, under the round's
/// activation literal, so the round's hypotheses are distinct although none has been learned
/// from yet; [`Encoder::end_round`] retires the literal.
#[derive(Debug)]
pub struct Round {
    act: Lit,
    cap: usize,
    found: usize,
    over: bool,
}

/// `auto`'s watch over an ldfi search, called with the search's work at each of the
/// encoder's checks (during its setup and while it learns): it may start the rival search
/// (once ldfi's work passes its lead), and it says whether to go on (false once the rival
/// has decided with less work). Its answer must stay false once false: work only grows.
pub type Watch<'p> = &'p dyn Fn(u64) -> bool;

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
    /// Per node: it crashes at some time (an equivalence with its crash variables).
    crashed: FxHashMap<Sym, Lit>,
    down: FxHashMap<(Sym, u32), Lit>,
    /// Every fault variable, in creation order (the inputs of the totalizer).
    faults: Vec<Lit>,
    tot: Totalizer,
    /// Argument patterns of each rule's (positive, negated) atoms.
    atoms: std::rc::Rc<Vec<RuleAtoms>>,
    /// Static value domain of each column of each relation.
    domains: Vec<Vec<DomainList>>,
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
    /// Every tuple any run within the bounds can hold ([`crate::eval::possible`]): a gain no
    /// run can have is impossible, and a `notin` over tuples no run can have always holds.
    possible: Option<crate::eval::Run>,
    /// Whether `possible` has a tuple matching a pattern at a time (memoized).
    possible_cache: FxHashMap<(RelId, Pattern, u32), bool>,
    /// Rule firings computing `possible` took (also when it gave up).
    setup_firings: u64,
    /// Encoding operations so far, weighed by their literals or values (a deterministic
    /// measure of the encoding's cost: see [`Encoder::encoding_ops`]).
    ops: u64,
    /// `auto`: the search's watch (see [`Watch`]), told the search's work at each of the
    /// encoder's checks. Once it says stop, the search has lost: learning then stops early,
    /// leaving an encoding nobody will use.
    watch: Option<Watch<'p>>,
    /// The search's work besides the encoding operations (see [`Encoder::set_base_work`]).
    base_work: u64,
    /// What the rules can see of a crash (see [`equiv::crash_view`]).
    crash_view: equiv::CrashView,
}

/// Most tuples one timestep of the over-approximation of every run may hold; beyond it the
/// search goes without (it is only a pruning).
const POSSIBLE_CAP: usize = 100_000;

/// Most rule firings the over-approximation may take (about half a second): a pruning is
/// worth only so much time, and a deterministic bound keeps the output the same everywhere.
const POSSIBLE_FIRINGS: u64 = 5_000_000;

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
    /// G(q, P, t) of patterns the run that met them had no tuple of (see
    /// `RunEncoding::gain_var`): one literal for every run that lacks them, or `None` when
    /// a run found that no hypothesis can make such a tuple appear.
    gains: FxHashMap<(RelId, Pattern, u32), Option<Lit>>,
    /// Scratch buffer of `clause_once`.
    key: Vec<Lit>,
}

/// A tuple's identity across runs: relation, time, values.
type TupleKey = (RelId, u32, crate::eval::store::Vals);

/// A tuple pattern: `None` matches any value.
type Pattern = Box<[Option<Value>]>;

impl<'p> Encoder<'p> {
    pub fn new(
        program: &'p Program,
        eot: u32,
        eff: u32,
        crashes: u32,
        nodes: &[Sym],
        negative_support: bool,
        watch: Option<(Watch<'p>, u64)>,
    ) -> Self {
        let atoms: Vec<RuleAtoms> = program.rules.iter().map(rule_atoms).collect();
        let domains = domain_lists(domains(program, &atoms));
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
            crashed: FxHashMap::default(),
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
            possible: None,
            possible_cache: FxHashMap::default(),
            setup_firings: 0,
            ops: 0,
            watch: watch.map(|(w, _)| w),
            base_work: 0,
            crash_view: equiv::crash_view(program),
        };
        if negative_support {
            let params = crate::eval::RunParams {
                eot,
                nodes: nodes.to_vec(),
                lineage: false,
                tuple_cap: POSSIBLE_CAP,
            };
            (enc.possible, enc.setup_firings) = crate::eval::possible_counted(
                program,
                &params,
                crashes > 0,
                POSSIBLE_CAP,
                POSSIBLE_FIRINGS,
                |f| watch.is_none_or(|(go_on, base)| go_on(base + f / SETUP_FIRINGS_PER_WORK)),
            );
        }
        enc.crash_vars(crashes);
        let crash_lits: Vec<Lit> = enc.crash.values().copied().collect();
        enc.tot.extend(crash_lits);
        enc
    }

    /// Some run within the bounds can hold a tuple of q matching the pattern at t (true when
    /// that is not known).
    fn possible(&mut self, q: RelId, pattern: &[Option<Value>], t: u32) -> bool {
        self.ops += 1;
        let Some(run) = &self.possible else { return true };
        let key = (q, Pattern::from(pattern), t);
        if let Some(&p) = self.possible_cache.get(&key) {
            return p;
        }
        let list = run.tuples.store(t).map_or(&[][..], |store| &store.rels[q as usize].list);
        let found = list.iter().any(|&id| pattern::matches(pattern, &run.tuples.rec(id).vals));
        self.ops += list.len() as u64;
        self.possible_cache.insert(key, found);
        found
    }

    fn lit(&mut self) -> Lit {
        self.vm.new_var().pos_lit()
    }

    /// A literal implying the disjunction of `lits` (`None` when empty; the literal itself
    /// when there is one). Equal disjunctions share one literal.
    fn or_var(&mut self, mut lits: Vec<Lit>) -> Option<Lit> {
        self.ops += 1 + lits.len() as u64;
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
        self.ops += 1 + lits.len() as u64;
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
        self.ops += 1 + lits.len() as u64;
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
        self.ops += 1 + lits.len() as u64;
        if let Some(audit) = &self.audit {
            audit.check(self, lits);
        }
        // Most clauses of a run repeat an earlier run's: look up before allocating a key.
        let mut key = std::mem::take(&mut self.shared.key);
        key.clear();
        key.extend_from_slice(lits);
        key.sort_unstable();
        key.dedup();
        if !self.shared.clauses.contains(key.as_slice()) {
            self.shared.clauses.insert(key.as_slice().into());
            self.clause(lits);
        }
        self.shared.key = key;
    }

    /// The shared b(x) (`holds == false`) or h(x) variable of a tuple, and whether it is new.
    fn tuple_lit(&mut self, key: TupleKey, holds: bool) -> (Lit, bool) {
        self.ops += 1 + key.2.len() as u64;
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
        let _ = self.solver.add_clause_ref(lits);
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
            self.crashed.insert(n, any);
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

    /// Learn from a good run with fault set `h`: every counterexample breaks the run's good
    /// outcome (loses a `post` tuple of the run while its `pre` tuple holds, or gains a `pre`
    /// tuple the run lacks).
    ///
    /// With negative support, that lesson holds for every hypothesis, not only for supersets
    /// of `h`: a counterexample has a `pre` tuple without its `post`; if the run has that
    /// `pre` tuple it has its `post` too (the run is good), which is then lost, and otherwise
    /// the `pre` tuple is gained. Every other clause already holds under any hypothesis (b,
    /// h, gains and losses describe the hypothesis's own run, whatever run they were learned
    /// from), so the goal needs no guard, and a hypothesis that keeps this run's outcome is
    /// ruled out even when it is not a superset of `h` (measured: the Molly synod at 8/3/1
    /// certifies in 150 executions instead of 179, at 10/3/1 in 342 instead of 417).
    ///
    /// Without negative support the encoding ignores what a fault can make appear, so the
    /// lesson holds only for `h` and its supersets: `(AND h) -> broken`. Omissions of
    /// channels that carried no message in the run changed nothing, so they are left out of
    /// that guard: it then covers every superset of the effective faults.
    pub fn learn(&mut self, run: &Run, h: &Hypothesis) {
        let guard: Vec<Lit> = if self.negative_support {
            Vec::new()
        } else {
            let effective = effective_faults(run, h);
            self.hypothesis_lits(&effective).into_iter().map(|l| !l).collect()
        };
        let mut enc = RunEncoding::new(run, h.crashes.clone());
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
    /// the size would grow), or none when the space is exhausted (certified): a whole
    /// [`Round`] at once. They are all minimal given what is known before any of them runs.
    pub fn next_batch(&mut self, min_size: &mut usize, cap: usize) -> Vec<Hypothesis> {
        let mut round = self.begin_round(cap);
        let mut out = Vec::new();
        while let Some(h) = self.next_in_round(&mut round, min_size) {
            out.push(h);
        }
        self.end_round(round);
        out
    }

    /// Start a round of at most `cap` hypotheses, all minimal given what is known before
    /// any of them runs (see [`Round`]).
    pub fn begin_round(&mut self, cap: usize) -> Round {
        Round { act: self.lit(), cap, found: 0, over: false }
    }

    /// The round's next hypothesis, solved only when asked for (so a round cut short by a
    /// counterexample costs no further solve), or `None` when the round is over: `cap`
    /// found, or the smallest size would grow (a round holds one size; a round that begins
    /// at a new size holds that one hypothesis, so the runs of the smaller size are learned
    /// before the larger size's many candidates are explored). `None` as a round's first
    /// answer means the space is exhausted: certified. `min_size` is the smallest size
    /// left, and only grows.
    pub fn next_in_round(&mut self, r: &mut Round, min_size: &mut usize) -> Option<Hypothesis> {
        if r.over || r.found >= r.cap {
            return None;
        }
        let before = *min_size;
        let h = if r.found == 0 {
            self.next_with(min_size, r.act)?
        } else {
            match self.solve_within(before, r.act) {
                Ok(SolverResult::Sat) => self.model(),
                Ok(SolverResult::Unsat) => {
                    // Nothing of this size is left once this round's hypotheses are ruled
                    // out (they will be, by what their runs teach): the next round need not
                    // ask again.
                    *min_size += 1;
                    r.over = true;
                    return None;
                }
                _ => {
                    r.over = true;
                    return None;
                }
            }
        };
        if self.trace.is_some() {
            let t = self.trace_model();
            self.traces.push(t);
        }
        // Block it for the rest of this round only (the activation literal is retired).
        let mut cl = vec![!r.act];
        cl.extend(self.hypothesis_lits(&h).into_iter().map(|l| !l));
        self.clause(&cl);
        r.found += 1;
        r.over = *min_size != before;
        Some(h)
    }

    /// End a round: its hypotheses are no longer blocked by it (what their runs taught, or
    /// [`Encoder::block`], rules them out from now on).
    pub fn end_round(&mut self, r: Round) {
        self.clause(&[!r.act]);
    }

    /// Solve for a hypothesis of at most `k` faults under the round's activation literal.
    fn solve_within(&mut self, k: usize, act: Lit) -> Result<SolverResult, ()> {
        let mut cls = rustsat::instances::Cnf::new();
        let _ = self.tot.encode_ub_change(k..=k, &mut cls, &mut self.vm);
        for cl in cls {
            self.clauses += 1;
            let _ = self.solver.add_clause(cl);
        }
        let mut assumps = self.tot.enforce_ub(k).unwrap_or_default();
        assumps.push(act);
        self.solver.solve_assumps(&assumps).map_err(|_| ())
    }

    /// The next hypothesis of smallest size under the round's activation literal.
    fn next_with(&mut self, min_size: &mut usize, act: Lit) -> Option<Hypothesis> {
        loop {
            match self.solve_within(*min_size, act) {
                Ok(SolverResult::Sat) => return Some(self.model()),
                Ok(SolverResult::Unsat) => {}
                _ => return None,
            }
            match self.solver.solve_assumps(&[act]) {
                Ok(SolverResult::Sat) => *min_size += 1,
                _ => return None,
            }
            // No hypothesis has k faults or fewer, and this model is one: with exactly k + 1
            // it is a smallest, and the bounded solve would only look for one again.
            if self.model_size() == *min_size {
                return Some(self.model());
            }
        }
    }

    /// The faults true in the solver's model.
    fn model_size(&self) -> usize {
        let val = |l: &&Lit| matches!(self.solver.lit_val(**l), Ok(TernaryVal::True));
        self.faults.iter().filter(val).count()
    }

    fn model(&self) -> Hypothesis {
        let val = |l: Lit| matches!(self.solver.lit_val(l), Ok(TernaryVal::True));
        Hypothesis {
            omissions: self.omit.iter().filter(|(_, &l)| val(l)).map(|(k, _)| *k).collect(),
            crashes: self.crash.iter().filter(|(_, &l)| val(l)).map(|(k, _)| *k).collect(),
        }
    }

    /// True when the search this encoder serves has lost to its rival (see `watch`).
    pub fn cancelled(&self) -> bool {
        self.watch.is_some_and(|go_on| !go_on(self.base_work + self.ops / OPS_PER_WORK))
    }

    /// The search's work now, besides the encoding operations counted here (for `watch`).
    pub fn set_base_work(&mut self, work: u64) {
        self.base_work = work;
    }

    /// The work of the encoder's setup (its over-approximation of every run), in the
    /// search's work units: done before any run is learned.
    pub fn setup_work(&self) -> u64 {
        self.setup_firings / SETUP_FIRINGS_PER_WORK
    }

    /// Encoding operations so far: each clause, definition and tuple variable met (new or
    /// repeated) counts one plus its literals or values, each over-approximation lookup one
    /// plus the tuples it scans. Deterministic, and proportional to the encoding's time.
    pub fn encoding_ops(&self) -> u64 {
        self.ops
    }

    pub fn fault_vars(&self) -> usize {
        self.faults.len()
    }

    /// A deterministic measure of the SAT solver's work so far, in the search's work units
    /// (unlike wall time, the same on every machine and load): with batsat, its unit
    /// propagations and decisions ([`PROPAGATIONS_PER_WORK`], [`WORK_PER_DECISION`]); 0
    /// under the `cadical` backend, which does not expose comparable counts here.
    #[cfg(not(feature = "cadical"))]
    pub fn solver_work(&self) -> u64 {
        use batsat::SolverInterface;
        let s = self.solver.batsat_ref();
        s.num_propagations() / PROPAGATIONS_PER_WORK + s.num_decisions() * WORK_PER_DECISION
    }

    /// See the batsat version: the `cadical` backend reports no work (0).
    #[cfg(feature = "cadical")]
    pub fn solver_work(&self) -> u64 {
        0
    }
}

/// The faults of `h` that changed the run: its crashes, and the omissions of messages the
/// run actually sent (omitting a message that was never sent changes nothing).
fn effective_faults(run: &Run, h: &Hypothesis) -> Hypothesis {
    let sent_and_omitted = |&(a, b, t): &(Sym, Sym, u32)| {
        run.messages.iter().any(|m| {
            (m.from, m.to, m.send_time) == (a, b, t) && m.status == crate::eval::MsgStatus::Omitted
        })
    };
    Hypothesis {
        omissions: h.omissions.iter().copied().filter(sent_and_omitted).collect(),
        crashes: h.crashes.clone(),
    }
}

/// Encoding operations ([`Encoder::encoding_ops`]) per work unit of the search's clock.
pub const OPS_PER_WORK: u64 = 4;

/// Firings of the over-approximation of every run per work unit: no lineage and no
/// per-fault bookkeeping, so about half a firing of exhaustive's runs.
const SETUP_FIRINGS_PER_WORK: u64 = 2;

/// SAT solver propagations per work unit.
#[cfg(not(feature = "cadical"))]
const PROPAGATIONS_PER_WORK: u64 = 8;
/// Work units of one solver decision. A model assigns every variable of the formula, so a
/// solve that finds one costs about one decision per variable (most of them conflict-free):
/// on the synod at 10/3/1, 12M decisions and 59M propagations for 7,000 conflicts, and
/// decisions, not propagations, track the solving time as the formula grows (measured,
/// BENCHMARKS.md "auto").
#[cfg(not(feature = "cadical"))]
const WORK_PER_DECISION: u64 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    /// An encoder for classic broadcast (eot 5, eff 3) that has learned its good baseline
    /// run, and the work its solver did for one batch of hypotheses.
    fn one_batch() -> (usize, u64) {
        let loaded = crate::syntax::load(&[std::path::Path::new("specs/broadcast/classic.ded")])
            .expect("spec loads");
        let program = crate::analysis::analyze(&loaded.program).program.expect("spec analyzes");
        let nodes = program.inferred_nodes.clone();
        let params = crate::eval::RunParams {
            eot: 5,
            nodes: nodes.clone(),
            lineage: true,
            tuple_cap: crate::eval::DEFAULT_TUPLE_CAP,
        };
        let run = crate::eval::run(&program, &params, &Default::default()).expect("runs");
        let mut enc = Encoder::new(&program, 5, 3, 0, &nodes, true, None);
        enc.learn(&run, &Hypothesis::default());
        let mut min_size = 0;
        let batch = enc.next_batch(&mut min_size, 4);
        (batch.len(), enc.solver_work())
    }

    #[test]
    fn solver_work_is_deterministic() {
        let (found, work) = one_batch();
        assert!(found > 0, "the baseline's lesson leaves hypotheses to try");
        if cfg!(feature = "cadical") {
            assert_eq!(work, 0);
        } else {
            assert!(work > 0, "finding hypotheses propagates");
            assert_eq!(one_batch().1, work, "the same encoding does the same work");
        }
    }
}
