//! The `ldfi` strategy (the default): one exact SAT model of every run within the bounds.
//!
//! The program is grounded once ([`eval::ground`]: the over-approximation of every run,
//! with the lineage of every rule instance that can fire in any of them), then encoded
//! exactly as LANGUAGE.md §4 says, over fault variables:
//!
//! - one literal per ground tuple and timestep, equivalent to the OR of its instances (Clark
//!   completion); an instance is the AND of its positive body tuples, the negation of each
//!   `notin` (the OR of the ground tuples its pattern matches at the timestep it reads; a
//!   read of a later timestep matches nothing) and, for a message between distinct nodes,
//!   "the channel is not omitted at the send time (when it is before EFF) and the sender
//!   is not down then";
//! - `omit(s, r, t)` for every channel that can carry a message at t < EFF; `crash(n, t)`
//!   with `down(n, t)` (crashed at or before t) as a ladder, at most one crash time per node
//!   and at most C crashed nodes (a totalizer); the `crash` relation is its crash variable;
//! - aggregates exactly: a literal per distinct binding of a group; `count` by a unary
//!   counter, `sum` by its subset sums, `min`/`max` by "some binding gives v and none gives
//!   a better value";
//! - the goal: some `pre` tuple at EOT without its `post` tuple.
//!
//! Every real run satisfies every clause (the soundness test checks it on every spec), so
//! UNSAT certifies. A model is a candidate: its fault set is replayed by the evaluator, and
//! only a replayed violation is reported. With positive recursion inside one timestep,
//! completion also admits self-supporting loops; a candidate that does not replay as a
//! violation yields its first unfounded set (the earliest timestep and stratum where the
//! model holds tuples the real run lacks), excluded by its loop formula (as ASSAT and
//! clasp do), and the solver is asked again. Smallest first: once a counterexample is
//! found, a totalizer over the fault variables bounds the next solve below its size,
//! until none is left.

use super::*;
use crate::analysis::ir::RuleId;
use crate::eval::{GroundAgg, Source, TupleId};
use crate::syntax::ast::{AggKind, HeadAnn};
use rustsat::encodings::card::{BoundUpper, BoundUpperIncremental, Totalizer};
use rustsat::instances::{BasicVarManager, Cnf, ManageVars};
use rustsat::solvers::{Solve, SolveIncremental, SolverResult};
use rustsat::types::{Lit, TernaryVal};
use std::collections::BTreeMap;

/// Default cap on the rule firings of the grounding (about its memory: each recorded
/// instance costs some 60 bytes with its body, and its clauses as much again).
pub const DEFAULT_GROUND_CAP: u64 = 20_000_000;

/// Work units of exhaustive search tried before grounding, at the least (about 30 ms):
/// counterexamples a depth-first search meets among its first leaves cost it less than
/// grounding would.
pub const PROBE_WORK: u64 = 100_000;

/// The probe's budget is also at least this many failure-free runs' worth of work (a
/// spec whose runs are dear is dear to ground too).
pub const PROBE_RUNS: u64 = 64;

/// A literal of the encoding, or a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum B {
    T,
    F,
    L(Lit),
}

impl std::ops::Not for B {
    type Output = B;
    fn not(self) -> B {
        match self {
            B::T => B::F,
            B::F => B::T,
            B::L(l) => B::L(!l),
        }
    }
}

/// What is known of a ground tuple's literal while the encoding is built.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// Not needed yet.
    Unset,
    /// Needed by an instance before its own definition (same-timestep recursion): a fresh
    /// variable, made equivalent to the definition when it comes.
    Ahead(Lit),
    Defined(B),
}

/// The exact encoding of one group of an aggregate rule at one timestep.
#[derive(Debug, Clone)]
enum AggEnc {
    /// `count`: `at_least[j]` holds when more than j bindings hold.
    Count(Vec<B>),
    /// `sum`: the literal of each possible sum.
    Sum(FxHashMap<i64, B>),
    /// `min`/`max`: each binding's literal.
    Extreme(Vec<B>),
}

/// How big the exact model is.
#[derive(Debug, Clone, Copy, Default)]
pub struct GroundSize {
    pub atoms: u64,
    pub instances: u64,
    pub vars: u64,
    pub clauses: u64,
}

/// An aggregate group's key: (rule, timestep, sender for `@async` heads, group values).
type AggKey = (RuleId, u32, Value, Box<[Value]>);

/// One firing of the ground program, copied out of the lineage.
struct GroundFiring {
    source: Source,
    body: Vec<TupleId>,
    negs: Vec<u32>,
    msg: Option<u32>,
}

impl GroundFiring {
    fn of(lineage: &eval::Lineage, f: &eval::Firing) -> GroundFiring {
        GroundFiring {
            source: f.source,
            body: lineage.body_of(f).to_vec(),
            negs: lineage.neg_ids(f).to_vec(),
            msg: f.msg,
        }
    }
}

/// The exact model of every run, and the solver holding it.
pub(super) struct Model<'p> {
    program: &'p Program,
    eot: u32,
    eff: u32,
    nodes: Vec<Sym>,
    /// The over-approximated run: its tuples are the ground atoms, its lineage the ground
    /// rule instances.
    over: Run,
    aggs: Vec<GroundAgg>,
    /// (rule, timestep, sender for `@async` heads, group values) → index in `aggs`.
    agg_index: FxHashMap<AggKey, usize>,
    agg_enc: FxHashMap<usize, AggEnc>,
    solver: Backend,
    vm: BasicVarManager,
    slots: Vec<Slot>,
    omit: BTreeMap<(Sym, Sym, u32), Lit>,
    crash: BTreeMap<(Sym, u32), Lit>,
    /// down(n, t): n crashed at a time <= t.
    down: FxHashMap<(Sym, u32), B>,
    /// Per node with crash variables: it crashes at some time.
    crashed: Vec<(Sym, Lit)>,
    /// The literal "some ground tuple matches" of each negated atom (by lineage index).
    negs: FxHashMap<u32, B>,
    /// Hash-consed conjunctions (sorted literals → their variable).
    ands: FxHashMap<Box<[Lit]>, Lit>,
    tot: Option<Totalizer>,
    /// While building: the clauses, handed to the solver by [`Model::flush`].
    pending: Option<Vec<rustsat::types::Clause>>,
    /// While building: per channel and send time, "a message is sent" of each message that
    /// can go on it (an omission is only worth choosing where one is).
    sent: Option<BTreeMap<(Sym, Sym, u32), Vec<B>>>,
    pub size: GroundSize,
}

/// Why the exact model cannot be built for a program; the search falls back to the
/// exhaustive referee.
#[derive(Debug)]
pub(super) enum Unsupported {
    /// The over-approximation itself failed on something no real run need reach (an
    /// arithmetic error on a binding that faults would rule out, an aggregate over mixed
    /// types, too many sums).
    Eval(String),
}

impl<'p> Model<'p> {
    /// Ground the program within the bounds and encode it. `Err(Ok(_))` when the model is
    /// unsupported (the caller falls back), `Err(Err(_))` on a hard error (the ground
    /// program is over its budget).
    pub(super) fn build(
        program: &'p Program,
        params: &SearchParams,
    ) -> Result<Model<'p>, Result<Unsupported, EvalError>> {
        Model::build_with(program, params, true)
    }

    /// [`Model::build`], with or without the goal clause (the soundness check asks whether
    /// a good run is a model of the rest).
    fn build_with(
        program: &'p Program,
        params: &SearchParams,
        with_goal: bool,
    ) -> Result<Model<'p>, Result<Unsupported, EvalError>> {
        let run_params = run_params(params, true);
        let (over, aggs) = match eval::ground(
            program,
            &run_params,
            params.eff,
            params.crashes > 0,
            params.ground_cap,
        ) {
            Ok(g) => g,
            Err(EvalError::Budget { time, cap }) => {
                return Err(Err(EvalError::GroundBudget { time, cap }))
            }
            Err(e @ EvalError::Runaway { .. }) => return Err(Err(e)),
            Err(e) => return Err(Ok(Unsupported::Eval(e.to_diagnostic().message))),
        };
        let mut agg_index = FxHashMap::default();
        for (i, g) in aggs.iter().enumerate() {
            let rule = &program.rules[g.rule as usize];
            let sender = if rule.ann == HeadAnn::Async { g.sender } else { Value::Int(0) };
            agg_index.insert((g.rule, g.time, sender, g.group.clone()), i);
        }
        let ntuples = over.tuples.recs.len();
        let mut m = Model {
            program,
            eot: params.eot,
            eff: params.eff,
            nodes: params.nodes.clone(),
            over,
            aggs,
            agg_index,
            agg_enc: FxHashMap::default(),
            solver: Backend::default(),
            vm: BasicVarManager::default(),
            slots: vec![Slot::Unset; ntuples],
            omit: BTreeMap::new(),
            crash: BTreeMap::new(),
            down: FxHashMap::default(),
            crashed: Vec::new(),
            negs: FxHashMap::default(),
            ands: FxHashMap::default(),
            tot: None,
            pending: Some(Vec::new()),
            sent: Some(BTreeMap::new()),
            size: GroundSize { atoms: ntuples as u64, ..GroundSize::default() },
        };
        m.crash_vars(params.crashes).map_err(Ok)?;
        for id in 0..ntuples as TupleId {
            let def = m.definition(id).map_err(Ok)?;
            match m.slots[id as usize] {
                Slot::Ahead(v) => m.equiv(v, def),
                _ => m.slots[id as usize] = Slot::Defined(def),
            }
        }
        if with_goal {
            let goal = m.goal();
            m.add(&[goal]);
        }
        m.effective_faults();
        m.flush();
        let mut faults: Vec<Lit> = m.omit.values().copied().collect();
        faults.extend(m.crashed.iter().map(|&(_, l)| l));
        m.tot = Some(faults.into_iter().collect());
        m.size.vars = u64::from(m.vm.n_used());
        Ok(m)
    }

    fn new_lit(&mut self) -> Lit {
        self.vm.new_var().pos_lit()
    }

    /// Add a clause over literals and constants (true constants satisfy it, false ones drop).
    fn add(&mut self, clause: &[B]) {
        let mut cl = rustsat::types::Clause::new();
        for b in clause {
            match b {
                B::T => return,
                B::F => {}
                B::L(l) => cl.add(*l),
            }
        }
        self.clause(cl);
    }

    /// Add a clause: to the buffer while the model is being built (see [`Model::flush`]),
    /// else to the solver.
    fn clause(&mut self, cl: rustsat::types::Clause) {
        self.size.clauses += 1;
        match self.pending.as_mut() {
            Some(buffer) => buffer.push(cl),
            None => {
                let _ = self.solver.add_clause(cl);
            }
        }
    }

    /// Hand the built model's clauses to the solver. (Branching on the fault variables
    /// only, with every definition left to unit propagation, was measured and rejected:
    /// 2x faster on some synod configurations, 3-7x slower on others; BENCHMARKS.md.)
    fn flush(&mut self) {
        for cl in self.pending.take().unwrap_or_default() {
            let _ = self.solver.add_clause(cl);
        }
    }

    fn equiv(&mut self, v: Lit, d: B) {
        self.add(&[B::L(!v), d]);
        self.add(&[B::L(v), !d]);
    }

    /// The conjunction of literals (hash-consed: the same conjunction is one variable).
    fn and(&mut self, items: &[B]) -> B {
        let mut lits: Vec<Lit> = Vec::with_capacity(items.len());
        for b in items {
            match b {
                B::T => {}
                B::F => return B::F,
                B::L(l) => lits.push(*l),
            }
        }
        lits.sort_unstable();
        lits.dedup();
        if lits.windows(2).any(|w| w[0] == !w[1]) {
            return B::F;
        }
        match lits.len() {
            0 => return B::T,
            1 => return B::L(lits[0]),
            _ => {}
        }
        if let Some(&v) = self.ands.get(lits.as_slice()) {
            return B::L(v);
        }
        let v = self.new_lit();
        let mut long = Vec::with_capacity(lits.len() + 1);
        long.push(B::L(v));
        for &l in &lits {
            self.add(&[B::L(!v), B::L(l)]);
            long.push(B::L(!l));
        }
        self.add(&long);
        self.ands.insert(lits.into(), v);
        B::L(v)
    }

    fn or(&mut self, items: &[B]) -> B {
        let neg: Vec<B> = items.iter().map(|&b| !b).collect();
        !self.and(&neg)
    }

    fn lit_of(&mut self, id: TupleId) -> B {
        match self.slots[id as usize] {
            Slot::Defined(b) => b,
            Slot::Ahead(v) => B::L(v),
            Slot::Unset => {
                let v = self.new_lit();
                self.slots[id as usize] = Slot::Ahead(v);
                B::L(v)
            }
        }
    }

    /// Crash variables: `crash(n, t)` for every node and timestep, `down(n, t)` as a ladder
    /// (which also makes the crash times of a node exclusive), and at most `crashes` nodes
    /// crashed.
    fn crash_vars(&mut self, crashes: u32) -> Result<(), Unsupported> {
        if crashes == 0 {
            return Ok(());
        }
        let mut crashed = Vec::new();
        for n in self.nodes.clone() {
            let mut prev = B::F;
            for t in 1..=self.eot {
                let c = self.new_lit();
                self.crash.insert((n, t), c);
                // At most one crash time: not crashed before if crashed now.
                self.add(&[B::L(!c), !prev]);
                let d = self.or(&[prev, B::L(c)]);
                self.down.insert((n, t), d);
                prev = d;
            }
            if let B::L(l) = prev {
                crashed.push((n, l));
            }
        }
        if (crashes as usize) < crashed.len() {
            let mut card: Totalizer = crashed.iter().map(|&(_, l)| l).collect();
            let mut cls = Cnf::new();
            let _ = card.encode_ub(crashes as usize..=crashes as usize, &mut cls, &mut self.vm);
            for cl in cls {
                self.clause(cl);
            }
            if let Ok(units) = card.enforce_ub(crashes as usize) {
                for u in units {
                    self.add(&[B::L(u)]);
                }
            }
        }
        self.crashed = crashed;
        Ok(())
    }

    /// Only effective fault sets: an omission cuts a message that is sent and that its
    /// sender's crash does not already lose. Any fault set gives the same run as its
    /// effective part, so this keeps every run (and the smallest fault set of each) while
    /// the solver no longer explores omissions that change nothing.
    fn effective_faults(&mut self) {
        let sent = self.sent.take().unwrap_or_default();
        for ((from, to, t), l) in self.omit.clone() {
            let down = self.down_at(from, t);
            self.add(&[B::L(!l), !down]);
            let mut cl = vec![B::L(!l)];
            cl.extend(sent.get(&(from, to, t)).into_iter().flatten().copied());
            self.add(&cl);
        }
    }

    fn down_at(&self, n: Sym, t: u32) -> B {
        self.down.get(&(n, t.min(self.eot))).copied().unwrap_or(B::F)
    }

    fn omit_var(&mut self, from: Sym, to: Sym, t: u32) -> B {
        if t == 0 || t >= self.eff {
            return B::F;
        }
        if let Some(&l) = self.omit.get(&(from, to, t)) {
            return B::L(l);
        }
        let l = self.new_lit();
        self.omit.insert((from, to, t), l);
        B::L(l)
    }

    /// A message sent at t from `from` to `to` is delivered.
    fn delivered(&mut self, from: Sym, to: Sym, t: u32) -> B {
        if from == to {
            return B::T;
        }
        let omitted = self.omit_var(from, to, t);
        let down = self.down_at(from, t);
        self.and(&[!omitted, !down])
    }

    /// The timestep at which a rule's body is evaluated for a head at `time`.
    fn fire_time(&self, rule: RuleId, time: u32) -> u32 {
        match self.program.rules[rule as usize].ann {
            HeadAnn::None => time,
            _ => time - 1,
        }
    }

    /// "Some ground tuple matches" for a negated atom read at `fire_time`.
    fn matches(&mut self, neg: u32, fire_time: u32) -> B {
        let lineage = self.over.lineage.as_ref().expect("grounding records lineage");
        let n = lineage.neg(neg).clone();
        if n.time > fire_time {
            // A read of a timestep not reached yet reads nothing.
            return B::F;
        }
        if let Some(&b) = self.negs.get(&neg) {
            return b;
        }
        let b = if Some(n.rel) == self.program.crash_rel {
            self.crash_matches(&n.pattern)
        } else {
            let ids = self.matching(n.rel, n.time, &n.pattern);
            let lits: Vec<B> = ids.into_iter().map(|id| self.lit_of(id)).collect();
            self.or(&lits)
        };
        self.negs.insert(neg, b);
        b
    }

    /// The ground tuples of `rel` at `time` that match a pattern (`None`: any value).
    fn matching(&self, rel: RelId, time: u32, pattern: &[Option<Value>]) -> Vec<TupleId> {
        let Some(store) = self.over.tuples.store(time) else { return Vec::new() };
        let Some(rs) = store.rels.get(rel as usize) else { return Vec::new() };
        if pattern.iter().all(Option::is_some) {
            let vals: Vec<Value> = pattern.iter().flatten().copied().collect();
            return rs.get(&vals).into_iter().collect();
        }
        let cols: Vec<u8> =
            pattern.iter().enumerate().filter(|(_, p)| p.is_some()).map(|(i, _)| i as u8).collect();
        let key: Vec<Value> = pattern.iter().flatten().copied().collect();
        let candidates = match rs.lookup_indexed(&cols, &key) {
            Some(ids) => ids,
            None => &rs.list,
        };
        let tuples = &self.over.tuples;
        candidates
            .iter()
            .copied()
            .filter(|&id| {
                let vals = &tuples.rec(id).vals;
                pattern.iter().zip(vals.iter()).all(|(p, v)| p.is_none_or(|p| p == *v))
            })
            .collect()
    }

    /// `crash(n, c, t)` holds at every timestep for every node n when c crashes at t.
    fn crash_matches(&mut self, pattern: &[Option<Value>]) -> B {
        let node_ok = |v: Option<Value>, nodes: &[Sym]| match v {
            None => true,
            Some(Value::Sym(s)) => nodes.contains(&s),
            Some(Value::Int(_)) => false,
        };
        if pattern.len() != 3 || !node_ok(pattern[0], &self.nodes) {
            return B::F;
        }
        let lits: Vec<B> = self
            .crash
            .iter()
            .filter(|((c, t), _)| {
                pattern[1].is_none_or(|v| v == Value::Sym(*c))
                    && pattern[2].is_none_or(|v| v == Value::Int(i64::from(*t)))
            })
            .map(|(_, &l)| B::L(l))
            .collect();
        self.or(&lits)
    }

    /// The literal of a ground tuple from its instances.
    fn definition(&mut self, id: TupleId) -> Result<B, Unsupported> {
        let lineage = self.over.lineage.as_ref().expect("grounding records lineage");
        let firings: Vec<GroundFiring> =
            lineage.firings_of(id).map(|f| GroundFiring::of(lineage, f)).collect();
        let mut instances = Vec::with_capacity(firings.len());
        for f in firings {
            self.size.instances += 1;
            let inst = self.firing(id, &f)?;
            if inst == B::T {
                return Ok(B::T);
            }
            instances.push(inst);
        }
        Ok(self.or(&instances))
    }

    /// The literal of one firing of ground tuple `id`.
    fn firing(&mut self, id: TupleId, f: &GroundFiring) -> Result<B, Unsupported> {
        let rec = self.over.tuples.rec(id);
        let (rel, time, vals) = (rec.rel, rec.time, rec.vals.clone());
        Ok(match f.source {
            Source::Fact => B::T,
            Source::Crash => match (vals.get(1), vals.get(2)) {
                (Some(Value::Sym(c)), Some(Value::Int(t))) => u32::try_from(*t)
                    .ok()
                    .and_then(|t| self.crash.get(&(*c, t)))
                    .map_or(B::F, |&l| B::L(l)),
                _ => B::F,
            },
            Source::Rule(r) if self.program.rules[r as usize].agg.is_some() => {
                self.agg_instance(r, rel, time, &vals, f.msg)?
            }
            Source::Rule(r) => {
                let fired = self.body(&f.body, &f.negs, self.fire_time(r, time));
                match f.msg {
                    Some(msg) => self.message(fired, msg),
                    None => fired,
                }
            }
        })
    }

    /// A rule instance's body holds at `fire`: its positive tuples, and no ground tuple
    /// matches any of its negated atoms.
    fn body(&mut self, body: &[TupleId], negs: &[u32], fire: u32) -> B {
        let mut lits: Vec<B> = body.iter().map(|&b| self.lit_of(b)).collect();
        for &n in negs {
            let m = self.matches(n, fire);
            lits.push(!m);
        }
        self.and(&lits)
    }

    /// A message is delivered: it is sent (`sent`) and its channel delivers it.
    fn message(&mut self, sent: B, msg: u32) -> B {
        let m = &self.over.messages[msg as usize];
        let (from, to, st) = (m.from, m.to, m.send_time);
        if let Some(by_channel) = self.sent.as_mut() {
            if from != to {
                by_channel.entry((from, to, st)).or_default().push(sent);
            }
        }
        let d = self.delivered(from, to, st);
        self.and(&[sent, d])
    }

    /// An instance of an aggregate rule's head: its group's aggregate takes the head's value
    /// (and, for a message, it is delivered).
    fn agg_instance(
        &mut self,
        r: RuleId,
        rel: RelId,
        time: u32,
        vals: &[Value],
        msg: Option<u32>,
    ) -> Result<B, Unsupported> {
        let rule = &self.program.rules[r as usize];
        let pos = rule.agg.unwrap_or(0);
        let fire = self.fire_time(r, time);
        let sender = match msg {
            Some(m) => Value::Sym(self.over.messages[m as usize].from),
            None => Value::Int(0),
        };
        let sender = if rule.ann == HeadAnn::Async { sender } else { Value::Int(0) };
        let group: Box<[Value]> =
            vals.iter().enumerate().filter(|&(i, _)| i != pos).map(|(_, v)| *v).collect();
        let Some(&g) = self.agg_index.get(&(r, fire, sender, group)) else {
            return Err(Unsupported::Eval(format!(
                "internal: no aggregate group for {}",
                self.program.show_tuple(rel, vals)
            )));
        };
        let value = self.agg_value(g, vals[pos])?;
        Ok(match msg {
            Some(msg) => self.message(value, msg),
            None => value,
        })
    }

    /// "The group's aggregate is `v`".
    fn agg_value(&mut self, g: usize, v: Value) -> Result<B, Unsupported> {
        if !self.agg_enc.contains_key(&g) {
            let enc = self.encode_group(g)?;
            self.agg_enc.insert(g, enc);
        }
        let enc = self.agg_enc[&g].clone();
        let kind = self.agg_kind(g);
        Ok(match enc {
            AggEnc::Count(at_least) => {
                let Value::Int(k) = v else { return Ok(B::F) };
                if k < 1 || k as usize > at_least.len() {
                    return Ok(B::F);
                }
                let more = at_least.get(k as usize).copied().unwrap_or(B::F);
                self.and(&[at_least[k as usize - 1], !more])
            }
            AggEnc::Sum(sums) => match v {
                Value::Int(s) => sums.get(&s).copied().unwrap_or(B::F),
                Value::Sym(_) => B::F,
            },
            AggEnc::Extreme(bindings) => {
                let values = self.aggs[g].values.clone();
                let mut some = Vec::new();
                let mut better = Vec::new();
                for (i, &x) in values.iter().enumerate() {
                    let ord = self.program.symbols.compare(x, v).ok_or_else(|| {
                        Unsupported::Eval(format!(
                            "{}<> over a group that mixes strings and integers",
                            kind.name()
                        ))
                    })?;
                    if ord.is_eq() {
                        some.push(bindings[i]);
                    } else if (kind == AggKind::Min && ord.is_lt())
                        || (kind == AggKind::Max && ord.is_gt())
                    {
                        better.push(bindings[i]);
                    }
                }
                let some = self.or(&some);
                let better = self.or(&better);
                self.and(&[some, !better])
            }
        })
    }

    fn agg_kind(&self, g: usize) -> AggKind {
        let rule = &self.program.rules[self.aggs[g].rule as usize];
        match rule.agg.map(|p| &rule.head[p]) {
            Some(crate::analysis::ir::HeadTerm::Agg(k, _)) => *k,
            _ => AggKind::Count,
        }
    }

    /// The literal of each distinct binding of a group, then its aggregate's encoding.
    fn encode_group(&mut self, g: usize) -> Result<AggEnc, Unsupported> {
        let fire = self.aggs[g].time;
        let n = self.aggs[g].values.len();
        let rows = self.aggs[g].rows.clone();
        let mut per_binding: Vec<Vec<B>> = vec![Vec::new(); n];
        for row in rows {
            self.size.instances += 1;
            let inst = self.body(&row.body, &row.negs, fire);
            per_binding[row.binding as usize].push(inst);
        }
        let bindings: Vec<B> = per_binding.iter().map(|insts| self.or(insts)).collect();
        Ok(match self.agg_kind(g) {
            AggKind::Count => AggEnc::Count(self.counter(&bindings)),
            AggKind::Sum => {
                let values = self.aggs[g].values.clone();
                AggEnc::Sum(self.sums(&bindings, &values)?)
            }
            AggKind::Min | AggKind::Max => AggEnc::Extreme(bindings),
        })
    }

    /// A unary counter: element j holds when more than j of `items` hold (a sequential
    /// counter with full equivalences, so it is exact both ways).
    fn counter(&mut self, items: &[B]) -> Vec<B> {
        // at[j]: more than j of the items seen so far hold.
        let mut at: Vec<B> = Vec::new();
        for &x in items {
            let mut next = Vec::with_capacity(at.len() + 1);
            for j in 0..=at.len() {
                let keep = at.get(j).copied().unwrap_or(B::F);
                let below = if j == 0 { B::T } else { at[j - 1] };
                let step = self.and(&[below, x]);
                next.push(self.or(&[keep, step]));
            }
            at = next;
        }
        at
    }

    /// The literal of every sum a subset of the bindings can give (non-empty subsets).
    fn sums(&mut self, items: &[B], values: &[Value]) -> Result<FxHashMap<i64, B>, Unsupported> {
        // None: no binding chosen so far.
        let mut states: BTreeMap<Option<i64>, B> = BTreeMap::from([(None, B::T)]);
        for (&x, &v) in items.iter().zip(values) {
            let Value::Int(v) = v else {
                return Err(Unsupported::Eval("sum<> over a string".into()));
            };
            let mut next: BTreeMap<Option<i64>, Vec<B>> = BTreeMap::new();
            for (&s, &b) in &states {
                let keep = self.and(&[b, !x]);
                next.entry(s).or_default().push(keep);
                let total = match s {
                    None => v,
                    Some(s) => s
                        .checked_add(v)
                        .ok_or_else(|| Unsupported::Eval("sum<> overflows 64 bits".into()))?,
                };
                let take = self.and(&[b, x]);
                next.entry(Some(total)).or_default().push(take);
            }
            if next.len() > eval::MAX_SUMS + 1 {
                return Err(Unsupported::Eval("sum<> takes too many values".into()));
            }
            states = BTreeMap::new();
            for (s, parts) in next {
                let b = self.or(&parts);
                if b != B::F {
                    states.insert(s, b);
                }
            }
        }
        Ok(states.into_iter().filter_map(|(s, b)| s.map(|s| (s, b))).collect())
    }

    /// Some `pre` tuple at EOT lacks its `post` tuple.
    fn goal(&mut self) -> B {
        let (Some(pre), Some(post)) = (self.program.pre_rel, self.program.post_rel) else {
            return B::F;
        };
        let Some(store) = self.over.tuples.store(self.eot) else { return B::F };
        let pres: Vec<TupleId> = store.rels[pre as usize].list.clone();
        let mut bad = Vec::with_capacity(pres.len());
        for p in pres {
            let vals = self.over.tuples.rec(p).vals.clone();
            let q = self.over.tuples.find(post, &vals, self.eot);
            let pl = self.lit_of(p);
            let ql = q.map_or(B::F, |q| self.lit_of(q));
            bad.push(self.and(&[pl, !ql]));
        }
        self.or(&bad)
    }

    fn value(&self, b: B) -> bool {
        match b {
            B::T => true,
            B::F => false,
            B::L(l) => matches!(self.solver.lit_val(l), Ok(TernaryVal::True)),
        }
    }

    /// The fault set of the solver's model.
    fn model(&self) -> Scenario {
        let val = |l: Lit| matches!(self.solver.lit_val(l), Ok(TernaryVal::True));
        let mut s = Scenario {
            omissions: self.omit.iter().filter(|(_, &l)| val(l)).map(|(k, _)| *k).collect(),
            crashes: self.crash.iter().filter(|(_, &l)| val(l)).map(|(k, _)| *k).collect(),
        };
        s.crashes.sort_unstable();
        s
    }

    /// The literals of a scenario's faults (a crash as its crash variable).
    fn fault_lits(&self, s: &Scenario) -> Vec<Lit> {
        let mut lits: Vec<Lit> =
            s.omissions.iter().filter_map(|k| self.omit.get(k)).copied().collect();
        lits.extend(s.crashes.iter().filter_map(|k| self.crash.get(k)).copied());
        lits
    }

    /// Rule out every superset of a fault set.
    fn block(&mut self, s: &Scenario) {
        let cl: Vec<B> = self.fault_lits(s).into_iter().map(|l| B::L(!l)).collect();
        self.add(&cl);
    }

    /// Stop solves at Ctrl-C and at the deadline.
    #[cfg(not(feature = "cadical"))]
    fn set_limits(&mut self, interrupt: &Arc<AtomicBool>, deadline: Option<Instant>) {
        let cb = self.solver.batsat_mut().cb_mut();
        cb.interrupt = Some(Arc::clone(interrupt));
        cb.deadline = deadline;
    }
    #[cfg(feature = "cadical")]
    fn set_limits(&mut self, _interrupt: &Arc<AtomicBool>, _deadline: Option<Instant>) {}

    /// Give the next solves `conflicts` more conflicts at most (`None`: no budget).
    #[cfg(not(feature = "cadical"))]
    fn conflict_budget(&mut self, conflicts: Option<u64>) {
        let cb = self.solver.batsat_mut().cb_mut();
        cb.max_conflicts = conflicts.map(|c| cb.conflicts + c);
    }
    #[cfg(feature = "cadical")]
    fn conflict_budget(&mut self, _conflicts: Option<u64>) {}

    /// Solve for a model with at most `bound` faults (`None`: any number); `None` when the
    /// solve was stopped (interrupt, deadline or conflict budget).
    fn solve(&mut self, bound: Option<usize>) -> Option<bool> {
        let mut assumps = Vec::new();
        if let (Some(k), Some(tot)) = (bound, self.tot.as_mut()) {
            let mut cls = Cnf::new();
            let _ = tot.encode_ub_change(k..=k, &mut cls, &mut self.vm);
            for cl in cls {
                self.size.clauses += 1;
                let _ = self.solver.add_clause(cl);
            }
            assumps = tot.enforce_ub(k).unwrap_or_default();
        }
        match self.solver.solve_assumps(&assumps) {
            Ok(SolverResult::Sat) => Some(true),
            Ok(SolverResult::Unsat) => Some(false),
            _ => None,
        }
    }

    /// A model that the real run of its fault set does not follow: find the earliest
    /// timestep and stratum where they differ, and exclude the model's unfounded tuples
    /// there by their loop formulas. False when the difference is not an unfounded set
    /// (which would be a bug in the encoding).
    fn exclude_unfounded(&mut self, real: &Run) -> bool {
        let program = self.program;
        let n = self.over.tuples.recs.len();
        let mut first: Option<(u32, usize)> = None;
        let mut unfounded: Vec<TupleId> = Vec::new();
        for id in 0..n as TupleId {
            let rec = self.over.tuples.rec(id);
            let (rel, time) = (rec.rel, rec.time);
            let stratum = program.rels[rel as usize].stratum;
            if first.is_some_and(|f| (time, stratum) > f) {
                continue;
            }
            let b = match self.slots[id as usize] {
                Slot::Defined(b) => b,
                Slot::Ahead(v) => B::L(v),
                Slot::Unset => continue,
            };
            let in_model = self.value(b);
            let in_real = real.tuples.find(rel, &rec.vals, time).is_some();
            if in_model == in_real {
                continue;
            }
            if !in_model {
                return false;
            }
            if first.is_none_or(|f| (time, stratum) < f) {
                first = Some((time, stratum));
                unfounded.clear();
            }
            unfounded.push(id);
        }
        if unfounded.is_empty() {
            return false;
        }
        let set: FxHashSet<TupleId> = unfounded.iter().copied().collect();
        // The external supports: instances of the set's tuples whose positive body lies
        // outside the set.
        let mut external = Vec::new();
        let lineage = self.over.lineage.as_ref().expect("grounding records lineage");
        let mut firings = Vec::new();
        for &id in &unfounded {
            for f in lineage.firings_of(id) {
                let body = lineage.body_of(f);
                if body.iter().any(|b| set.contains(b)) {
                    continue;
                }
                firings.push((id, GroundFiring::of(lineage, f)));
            }
        }
        for (id, f) in firings {
            // The firing's literal was built with the model (an error then was fatal).
            external.push(self.firing(id, &f).unwrap_or(B::T));
        }
        for &id in &unfounded {
            let a = self.lit_of(id);
            let mut cl = vec![!a];
            cl.extend(external.iter().copied());
            self.add(&cl);
        }
        true
    }
}

/// Statistics of the model, for the outcome.
fn record_size(d: &mut Driver, m: &Model) {
    d.stats.ground_atoms = m.size.atoms;
    d.stats.ground_instances = m.size.instances;
    d.stats.clauses = m.size.clauses;
    d.stats.vars = m.size.vars;
}

/// The `ldfi` search. Returns true when the search is complete (a counterexample was
/// found, or the model is unsatisfiable), false when the budget ran out.
pub(super) fn exact(d: &mut Driver) -> Result<bool, EvalError> {
    let p = d.params;
    // A short exhaustive probe first: where a depth-first search meets a counterexample at
    // its first leaves, it is cheaper than grounding.
    if !p.all && p.probe_work > 0 {
        let budget = p.probe_work.max(PROBE_RUNS * d.stats.firings);
        d.work_cap = Some(d.work() + budget);
        let done = exhaustive::exhaustive(d)?;
        let capped = d.capped;
        d.work_cap = None;
        d.capped = false;
        if !capped {
            if let Some(run) = d.counterexamples.pop() {
                let size = run.scenario.omissions.len() + run.scenario.crashes.len();
                let run = if size > 1 { shrink(d, run)? } else { run };
                d.counterexamples.push(run);
            }
            if done || !d.counterexamples.is_empty() {
                d.stats.decided_by_probe = true;
                return Ok(true);
            }
            // Out of the user's budget (Ctrl-C, --timeout, --max-runs).
            return Ok(false);
        }
        d.budget = None;
    }
    let t0 = Instant::now();
    let built = Model::build(d.program, p);
    d.stats.lineage_time += t0.elapsed();
    let mut m = match built {
        Ok(m) => m,
        Err(Err(e)) => return Err(e),
        Err(Ok(Unsupported::Eval(why))) => {
            d.stats.fallback = Some(why);
            return exhaustive::exhaustive(d);
        }
    };
    record_size(d, &m);
    m.set_limits(d.stop, p.timeout.map(|t| d.started + t));
    if p.all {
        return all_minimal(d, &mut m);
    }
    let mut bound: Option<usize> = None;
    // The smallest counterexample so far (the one reported).
    let mut best: Option<Run> = None;
    loop {
        if d.out_of_budget() {
            // A counterexample in hand is reported, though it may not be the smallest.
            return Ok(match best {
                Some(run) => {
                    d.found(run);
                    true
                }
                None => false,
            });
        }
        match candidate(d, &mut m, bound)? {
            Candidate::GaveUp => {
                // A counterexample in hand is reported: only its minimality is unproven.
                if let Some(run) = best {
                    if !d.out_of_budget() {
                        d.stats.minimality_unproven = true;
                    }
                    d.budget = None;
                    d.found(run);
                    return Ok(true);
                }
                return Ok(gave_up(d));
            }
            Candidate::None => {
                if let Some(run) = best {
                    d.found(run);
                }
                return Ok(true);
            }
            Candidate::Spurious => {}
            Candidate::Violation(run, eff) => {
                let size = eff.omissions.len() + eff.crashes.len();
                if size <= 1 {
                    d.found(*run);
                    return Ok(true);
                }
                best = Some(*run);
                bound = Some(size - 1);
                // Showing that nothing smaller exists can cost far more than finding it.
                m.conflict_budget(Some(MINIMIZE_CONFLICTS));
            }
        }
    }
}

/// A counterexample of the exhaustive probe (the first its depth-first order meets, not
/// always the smallest) with every fault it does not need dropped: while some single fault
/// can go and the run still violates, it goes. No single fault of the result can be
/// dropped, though another counterexample may have fewer faults (`--all` lists the
/// minimal ones, smallest first).
fn shrink(d: &mut Driver, mut run: Run) -> Result<Run, EvalError> {
    'again: loop {
        let s = run.scenario.clone();
        let mut without: Vec<Scenario> = Vec::new();
        for o in &s.omissions {
            let mut t = s.clone();
            t.omissions.remove(o);
            without.push(t);
        }
        for i in 0..s.crashes.len() {
            let mut t = s.clone();
            t.crashes.remove(i);
            without.push(t);
        }
        for t in without {
            let r = d.run(&t, false)?;
            if r.is_violation() {
                run = replay_effective(d, r)?.0;
                continue 'again;
            }
        }
        return Ok(run);
    }
}

/// Conflicts each solve for a smaller counterexample may take, once one is found: past it,
/// the counterexample in hand is reported, and the output says its minimality is unproven.
pub const MINIMIZE_CONFLICTS: u64 = 1_000;

/// What one solve gave.
enum Candidate {
    /// No model within the bound.
    None,
    /// The solver gave up (it should not: it has no limits).
    GaveUp,
    /// A model the real run does not follow, now excluded.
    Spurious,
    /// A real counterexample: its replayed run (of its effective fault set) and that set.
    Violation(Box<Run>, Scenario),
}

/// Solve within `bound` faults and replay the model's fault set.
fn candidate(d: &mut Driver, m: &mut Model, bound: Option<usize>) -> Result<Candidate, EvalError> {
    let t0 = Instant::now();
    let sat = m.solve(bound);
    d.stats.solve_time += t0.elapsed();
    d.stats.solver_calls += 1;
    record_size(d, m);
    match sat {
        None => return Ok(Candidate::GaveUp),
        Some(false) => return Ok(Candidate::None),
        Some(true) => {}
    }
    let scenario = m.model();
    d.stats.hypotheses += 1;
    let run = d.run(&scenario, false)?;
    if !run.is_violation() {
        d.stats.spurious += 1;
        if !m.exclude_unfounded(&run) {
            return Err(EvalError::Internal(format!(
                "the exact model and the evaluator disagree on the run of {}",
                scenario.to_faults(d.program)
            )));
        }
        return Ok(Candidate::Spurious);
    }
    let (run, eff) = replay_effective(d, run)?;
    Ok(Candidate::Violation(Box::new(run), eff))
}

/// A run and its effective fault set (the omissions that cut a message, and the crashes),
/// replayed under that set when the run's own has more (the same run, reported with only
/// the faults that matter).
fn replay_effective(d: &mut Driver, run: Run) -> Result<(Run, Scenario), EvalError> {
    let eff = exhaustive::effective(&run);
    let run = if eff == run.scenario { run } else { d.run(&eff, false)? };
    Ok((run, eff))
}

/// A solve was stopped: say why (Ctrl-C or `--timeout`, else the solver itself); the
/// search is not complete.
fn gave_up(d: &mut Driver) -> bool {
    if !d.out_of_budget() {
        d.budget = Some("the SAT solver stopped".into());
    }
    false
}

/// `--all`: every minimal counterexample (no proper subset of its faults violates), smallest
/// first. Each one found is blocked with all its supersets; the bound grows by one when no
/// more are within it, until the unbounded model is unsatisfiable.
fn all_minimal(d: &mut Driver, m: &mut Model) -> Result<bool, EvalError> {
    let mut k = 1;
    loop {
        if d.out_of_budget() {
            return Ok(false);
        }
        match candidate(d, m, Some(k))? {
            Candidate::GaveUp => return Ok(gave_up(d)),
            Candidate::Spurious => {}
            Candidate::Violation(run, eff) => {
                m.block(&eff);
                if d.found(*run) {
                    return Ok(true);
                }
            }
            Candidate::None => match candidate(d, m, None)? {
                Candidate::GaveUp => return Ok(gave_up(d)),
                Candidate::None => return Ok(true),
                // Something larger exists: look one size up (the model just found is solved
                // for again there, or a smaller one first).
                _ => k += 1,
            },
        }
    }
}

/// The soundness argument, executable: under the effective part of the fault set of
/// `scenario` (which gives the same run), the real run satisfies every clause of the model (built without its goal, which a good run
/// falsifies: [`Model::build_with`]). Fixes the fault variables and every ground tuple's
/// literal to the real run's values and asks the solver whether that is consistent.
/// Returns a description of the first inconsistency.
#[cfg(test)]
fn check_run_satisfies_model(
    m: &mut Model,
    params: &SearchParams,
    scenario: &Scenario,
) -> Result<(), String> {
    let program = m.program;
    let real =
        eval::run(program, &run_params(params, false), scenario).map_err(|e| format!("{e:?}"))?;
    // The model holds effective fault sets only; every fault set gives the same run as its
    // effective part.
    let effective = exhaustive::effective(&real);
    let scenario = &effective;
    let mut assumps = Vec::new();
    for (k, &l) in &m.omit {
        assumps.push(if scenario.omissions.contains(k) { l } else { !l });
    }
    for (&(n, t), &l) in &m.crash {
        assumps.push(if scenario.crash_time(n) == Some(t) { l } else { !l });
    }
    // Every real tuple must be a ground atom (crash tuples are the crash variables).
    for r in &real.tuples.recs {
        if Some(r.rel) != program.crash_rel && m.over.tuples.find(r.rel, &r.vals, r.time).is_none()
        {
            return Err(format!(
                "{}@{} holds in the real run but was not grounded",
                program.show_tuple(r.rel, &r.vals),
                r.time
            ));
        }
    }
    match m.solver.solve_assumps(&assumps) {
        Ok(SolverResult::Sat) => {}
        other => return Err(format!("the faults alone contradict the model: {other:?}")),
    }
    for id in 0..m.over.tuples.recs.len() as TupleId {
        let rec = m.over.tuples.rec(id);
        let holds = real.tuples.find(rec.rel, &rec.vals, rec.time).is_some();
        let b = m.lit_of(id);
        match if holds { b } else { !b } {
            B::T => {}
            B::F => {
                let rec = m.over.tuples.rec(id);
                return Err(format!(
                    "{}@{} is a constant the real run contradicts (real: {holds})",
                    program.show_tuple(rec.rel, &rec.vals),
                    rec.time
                ));
            }
            B::L(l) => assumps.push(l),
        }
    }
    match m.solver.solve_assumps(&assumps) {
        Ok(SolverResult::Sat) => Ok(()),
        _ => Err("the real run violates the model".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;
    use std::path::{Path, PathBuf};

    /// Every `.ded` file under the directories (sorted).
    fn spec_files(dirs: &[&str]) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "ded") {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        for d in dirs {
            walk(Path::new(d), &mut out);
        }
        out.sort();
        out
    }

    /// Every header configuration of the files with an invariant: (where, program, params,
    /// expected verdict).
    fn configurations(dirs: &[&str]) -> Vec<(String, Program, SearchParams, Option<String>)> {
        let mut out = Vec::new();
        for file in spec_files(dirs) {
            let Ok(loaded) = crate::syntax::load(&[file.as_path()]) else { continue };
            let Some(program) = crate::analysis::analyze(&loaded.program).program else {
                continue;
            };
            if program.pre_rel.is_none() || program.post_rel.is_none() {
                continue;
            }
            for h in &loaded.headers {
                let Ok(p) = crate::app::resolve(
                    program.clone(),
                    loaded.headers.clone(),
                    Some(h),
                    &crate::cli::BoundsArgs::default(),
                    std::slice::from_ref(&file),
                ) else {
                    continue;
                };
                let mut params = p.search_params(Strategy::Ldfi);
                params.probe_work = 0;
                let where_ = format!("{}:{} ({})", file.display(), h.line, p.bounds_text());
                out.push((where_, p.program, params, h.expect.map(|e| e.name().to_string())));
            }
        }
        out
    }

    /// The exact model alone (no exhaustive probe) reaches every header's verdict on every
    /// bundled spec and regression file, and every counterexample it reports replays.
    #[test]
    fn exact_model_reaches_every_header_verdict() {
        let mut checked = 0;
        let mut failures = Vec::new();
        for (where_, program, params, expect) in configurations(&["specs", "tests/regressions"]) {
            let o = match search(&program, &params, None) {
                Ok(o) => o,
                Err(e) => {
                    failures.push(format!("{where_}: {}", e.to_diagnostic().message));
                    continue;
                }
            };
            assert!(o.stats.fallback.is_none(), "{where_}: fell back: {:?}", o.stats.fallback);
            if let Some(e) = expect {
                if e != o.verdict.name() {
                    failures.push(format!("{where_}: expected {e}, got {}", o.verdict.name()));
                }
            }
            for cx in &o.counterexamples {
                let again = eval::run(&program, &run_params(&params, false), &cx.scenario)
                    .expect("replays");
                assert!(again.is_violation(), "{where_}: a reported counterexample is good");
            }
            checked += 1;
        }
        assert!(checked > 80, "only {checked} configurations");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// Fault sets to check a configuration's model against: none, every single fault, and
    /// random sets of two to four faults (seeded).
    fn fault_sets(params: &SearchParams, m: &Model, rng: &mut ChaCha8Rng) -> Vec<Scenario> {
        let omits: Vec<(Sym, Sym, u32)> = m.omit.keys().copied().collect();
        let crashes: Vec<(Sym, u32)> = m.crash.keys().copied().collect();
        let mut out = vec![Scenario::default()];
        for &o in omits.iter().take(40) {
            out.push(Scenario { omissions: [o].into_iter().collect(), crashes: Vec::new() });
        }
        for &c in crashes.iter().step_by(3).take(20) {
            out.push(Scenario { omissions: Default::default(), crashes: vec![c] });
        }
        for _ in 0..40 {
            let mut s = Scenario::default();
            for _ in 0..rng.gen_range(1..=4) {
                if let Some(&o) = omits.choose(rng) {
                    s.omissions.insert(o);
                }
            }
            let k = rng.gen_range(0..=params.crashes as usize);
            let mut nodes = params.nodes.clone();
            nodes.shuffle(rng);
            for &n in nodes.iter().take(k) {
                s.crashes.push((n, rng.gen_range(1..=params.eot)));
            }
            s.crashes.sort_unstable();
            out.push(s);
        }
        out
    }

    /// The soundness argument, executed: for many fault sets on every bundled spec and
    /// regression file, the real run (the evaluator's) is a model of the encoding with the
    /// fault variables fixed to the set. A clause that a real run violates would make
    /// certifications wrong; this finds it first.
    #[test]
    fn real_runs_satisfy_the_model() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut checked = 0;
        for (where_, program, params, _) in configurations(&["specs", "tests/regressions"]) {
            let Ok(mut m) = Model::build_with(&program, &params, false) else { continue };
            let sets = fault_sets(&params, &m, &mut rng);
            for s in sets {
                if let Err(e) = check_run_satisfies_model(&mut m, &params, &s) {
                    panic!("{where_}, faults {}: {e}", s.to_faults(&program));
                }
                checked += 1;
            }
        }
        assert!(checked > 1000, "only {checked} runs checked");
    }
}
