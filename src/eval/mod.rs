//! Evaluation: the timestep loop of LANGUAGE.md §4 under a fault scenario. Stratified
//! semi-naive fixpoint per timestep over interned tuples with hash indexes; `@next` carries
//! and `@async` messages between timesteps; lineage (every firing of every tuple) recorded as
//! an arena of ids when asked for. [`Stepper`] computes a run one timestep at a time from
//! any [`Frontier`] (the state entering a timestep), for searches that share the common
//! prefixes of their runs. Knows nothing of SAT.

pub mod store;

use crate::analysis::ir::*;
use crate::diag::Diagnostic;
use crate::faults::{Fault, FaultSet};
use crate::syntax::ast::{AggKind, BinOp, CmpOp, HeadAnn, Span};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;
use std::ops::Range;
pub use store::{TupleId, TupleRec, Tuples};

/// Default cap on the number of tuples in one timestep.
pub const DEFAULT_TUPLE_CAP: usize = 1_000_000;

/// Parameters of one run.
#[derive(Debug, Clone)]
pub struct RunParams {
    pub eot: u32,
    pub nodes: Vec<Sym>,
    /// Record lineage (needed by the LDFI search and `explain`; off for a verdict only).
    pub lineage: bool,
    /// Error out when one timestep holds more tuples than this.
    pub tuple_cap: usize,
}

/// A fault scenario over interned node names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scenario {
    pub omissions: std::collections::BTreeSet<(Sym, Sym, u32)>,
    /// (node, crash time), sorted by node.
    pub crashes: Vec<(Sym, u32)>,
}

impl Scenario {
    /// Intern a fault set. Unknown node names are an error.
    pub fn from_faults(
        program: &Program,
        nodes: &[Sym],
        faults: &FaultSet,
    ) -> Result<Scenario, String> {
        let node = |name: &str| -> Result<Sym, String> {
            program.symbols.get(name).filter(|s| nodes.contains(s)).ok_or_else(|| {
                format!(
                    "`{name}` is not a node of this run (nodes: {})",
                    show_nodes(program, nodes)
                )
            })
        };
        let mut s = Scenario::default();
        for f in &faults.0 {
            match f {
                Fault::Omit { from, to, time } => {
                    s.omissions.insert((node(from)?, node(to)?, *time));
                }
                Fault::Crash { node: n, time } => {
                    let n = node(n)?;
                    if s.crashes.iter().any(|(m, _)| *m == n) {
                        return Err(format!("node `{}` crashes twice", program.symbols.name(n)));
                    }
                    s.crashes.push((n, *time));
                }
            }
        }
        s.crashes.sort_unstable();
        Ok(s)
    }
    pub fn crash_time(&self, node: Sym) -> Option<u32> {
        self.crashes.iter().find(|(n, _)| *n == node).map(|(_, t)| *t)
    }
    /// The fault set with node names.
    pub fn to_faults(&self, program: &Program) -> FaultSet {
        let name = |s: Sym| program.symbols.name(s).to_string();
        let mut set = FaultSet::default();
        for &(from, to, time) in &self.omissions {
            set.0.insert(Fault::Omit { from: name(from), to: name(to), time });
        }
        for &(node, time) in &self.crashes {
            set.0.insert(Fault::Crash { node: name(node), time });
        }
        set
    }
}

pub fn show_nodes(program: &Program, nodes: &[Sym]) -> String {
    nodes.iter().map(|n| program.symbols.name(*n)).collect::<Vec<_>>().join(", ")
}

/// Where a tuple came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// A fact of the program.
    Fact,
    /// The crash oracle of the scenario.
    Crash,
    Rule(RuleId),
}

/// One derivation of a tuple.
#[derive(Debug, Clone)]
pub struct Firing {
    pub source: Source,
    pub head: TupleId,
    /// Range into [`Lineage::body`]: the positive body tuples, in body order.
    pub body: Range<u32>,
    /// Range into [`Lineage::negs`]: the negated atoms the firing relied on.
    pub negs: Range<u32>,
    /// The message it rode on (for `@async` heads).
    pub msg: Option<u32>,
}

/// An absent tuple pattern a firing relied on: `notin rel(pattern)` read at `time`
/// (`None` entries are wildcards).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NegRef {
    pub rel: RelId,
    pub time: u32,
    pub pattern: Box<[Option<Value>]>,
}

/// The distinct negated atoms a run's firings relied on, each stored once: firings refer to
/// them by index. Most firings of a rule repeat a few `notin` patterns, and a pattern per
/// firing was one allocation per copy (measured: recording lineage cost 15-35 % over a plain
/// run on the generated population's fault-free violations; BENCHMARKS.md, session 16).
#[derive(Debug, Default)]
struct NegTable {
    list: Vec<NegRef>,
    /// The newest id of each hash; older ones with the same hash are chained in `next`.
    heads: FxHashMap<u64, u32>,
    next: Vec<u32>,
}

impl NegTable {
    const END: u32 = u32::MAX;

    /// The id of `notin rel(pattern)` read at `time`, added when new.
    fn intern(&mut self, rel: RelId, time: u32, pattern: &[Option<Value>]) -> u32 {
        use std::hash::{Hash, Hasher};
        let mut h = rustc_hash::FxHasher::default();
        (rel, time, pattern).hash(&mut h);
        let h = h.finish();
        let mut id = self.heads.get(&h).copied().unwrap_or(Self::END);
        while id != Self::END {
            let n = &self.list[id as usize];
            if n.rel == rel && n.time == time && *n.pattern == *pattern {
                return id;
            }
            id = self.next[id as usize];
        }
        let id = self.list.len() as u32;
        self.list.push(NegRef { rel, time, pattern: pattern.into() });
        self.next.push(self.heads.insert(h, id).unwrap_or(Self::END));
        id
    }
}

/// The lineage of a run: every firing of every tuple.
#[derive(Debug, Clone, Default)]
pub struct Lineage {
    pub firings: Vec<Firing>,
    pub body: Vec<TupleId>,
    /// The negated atoms of each firing, as indices into `neg_list`.
    negs: Vec<u32>,
    /// The run's distinct negated atoms, each once ([`NegTable`]).
    neg_list: Vec<NegRef>,
    /// Firings of each tuple (CSR: `by_head[off[t]..off[t+1]]`).
    off: Vec<u32>,
    by_head: Vec<u32>,
}

impl Lineage {
    /// The firings that derived a tuple.
    pub fn firings_of(&self, t: TupleId) -> impl Iterator<Item = &Firing> {
        let (a, b) = (self.off[t as usize] as usize, self.off[t as usize + 1] as usize);
        self.by_head[a..b].iter().map(move |&f| &self.firings[f as usize])
    }
    /// A negated atom by its index (as in [`AggRow::negs`]).
    pub fn neg(&self, id: u32) -> &NegRef {
        &self.neg_list[id as usize]
    }
    /// The indices of a firing's negated atoms (for [`Lineage::neg`]).
    pub fn neg_ids(&self, f: &Firing) -> &[u32] {
        &self.negs[f.negs.start as usize..f.negs.end as usize]
    }
    pub fn body_of(&self, f: &Firing) -> &[TupleId] {
        &self.body[f.body.start as usize..f.body.end as usize]
    }
    pub fn negs_of(&self, f: &Firing) -> impl ExactSizeIterator<Item = &NegRef> + Clone + '_ {
        let ids = &self.negs[f.negs.start as usize..f.negs.end as usize];
        ids.iter().map(|&n| &self.neg_list[n as usize])
    }
    fn index(&mut self, ntuples: usize) {
        let mut counts = vec![0u32; ntuples + 1];
        for f in &self.firings {
            counts[f.head as usize + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let mut fill = counts.clone();
        self.by_head = vec![0; self.firings.len()];
        for (i, f) in self.firings.iter().enumerate() {
            let slot = &mut fill[f.head as usize];
            self.by_head[*slot as usize] = i as u32;
            *slot += 1;
        }
        self.off = counts;
    }
}

/// What happened to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MsgStatus {
    Delivered,
    /// Lost by an omission of the scenario.
    Omitted,
    /// Lost because its sender had crashed.
    SenderCrashed,
}

/// A message sent by an `@async` rule at `send_time` (delivered at `send_time + 1`).
#[derive(Debug, Clone)]
pub struct Message {
    pub from: Sym,
    pub to: Sym,
    pub send_time: u32,
    pub rel: RelId,
    pub vals: Box<[Value]>,
    pub status: MsgStatus,
}

/// A complete run.
#[derive(Debug, Clone)]
pub struct Run {
    pub eot: u32,
    pub nodes: Vec<Sym>,
    pub scenario: Scenario,
    pub tuples: Tuples,
    pub lineage: Option<Lineage>,
    pub messages: Vec<Message>,
    /// `pre` tuples at EOT without their `post` tuple.
    pub violations: Vec<TupleId>,
    /// Rule firings (derivations, including ones that found an existing tuple).
    pub firings: u64,
    pub warnings: Vec<String>,
}

impl Run {
    pub fn is_violation(&self) -> bool {
        !self.violations.is_empty()
    }
    /// The tuples of a relation at a timestep, in insertion order.
    pub fn tuples_at(&self, rel: RelId, time: u32) -> Vec<TupleId> {
        self.tuples.store(time).map_or(Vec::new(), |s| s.rels[rel as usize].list.clone())
    }
}

/// A run-time error: arithmetic, types, or runaway evaluation.
#[derive(Debug, Clone)]
pub enum EvalError {
    Arithmetic {
        span: Span,
        rule: String,
        what: String,
        binding: String,
        time: u32,
    },
    Runaway {
        rel: String,
        time: u32,
        cap: usize,
    },
    /// More rule firings than the evaluation's budget (only [`possible`] sets one).
    Budget {
        time: u32,
        cap: u64,
    },
    /// Grounding the exact model took more rule firings than its budget (`--ground-cap`).
    GroundBudget {
        time: u32,
        cap: u64,
    },
    /// A check inside ldfi failed (a bug: report it).
    Internal(String),
}

impl EvalError {
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            EvalError::Arithmetic { span, rule, what, binding, time } => {
                Diagnostic::error("arithmetic", format!("{what} at timestep {time}"))
                    .at(*span, format!("in this rule, with {binding}"))
                    .note(format!("rule: {rule}"))
                    .hint("integers are 64-bit and checked; guard the rule with a condition")
            }
            EvalError::Runaway { rel, time, cap } => Diagnostic::error(
                "runaway",
                format!("timestep {time} holds more than {cap} tuples; `{rel}` keeps growing"),
            )
            .hint("a same-time rule probably derives new values forever (e.g. `p(X+1) :- p(X);`); derive it with `@next`, bound it with a condition, or raise --tuple-cap"),
            EvalError::Budget { time, cap } => Diagnostic::error(
                "budget",
                format!("timestep {time} took the evaluation past its budget of {cap} rule firings"),
            )
            .hint("lower the bounds (--eot, --nodes) or simplify the rules that join many tuples"),
            EvalError::GroundBudget { time, cap } => Diagnostic::error(
                "budget",
                format!("the exact model needs more than {cap} rule instances (--ground-cap), reached while grounding timestep {time}"),
            )
            .hint("raise --ground-cap (each instance costs about 100 bytes of memory), lower --eot or --nodes, or search with --strategy exhaustive"),
            EvalError::Internal(what) => Diagnostic::error("internal", what.clone())
                .hint("this is a bug in ldfi; please report it with the spec and the command"),
        }
    }
}

/// Run the program under a scenario.
pub fn run(program: &Program, params: &RunParams, scenario: &Scenario) -> Result<Run, EvalError> {
    let mut engine = Engine::new(program, params, scenario);
    for t in 1..=params.eot {
        engine.step(t)?;
    }
    Ok(engine.finish())
}

/// Every tuple that can exist at each timestep in *any* run of the program within the bounds
/// (an over-approximation of all fault scenarios at once; [`ground`] tightens it): every
/// message is delivered, every crash tuple a scenario could supply is present (when a rule
/// reads `crash` positively, see [`over_holds_crashes`]; otherwise none is), `notin`
/// always succeeds, a `count` takes every value from 1 to its group's size and a `min` or
/// `max` every value of its group. Faults only remove messages and add crash tuples, so by
/// induction over time and strata each tuple of a real run is one of these. `None` when the
/// program has a `sum` (whose values this cannot bound), or the evaluation errs or holds
/// more than `cap` tuples at a timestep, or takes more than `firing_cap` rule firings in
/// all (a deterministic bound on its cost: it is a pruning, worth only so much time).
pub fn possible(
    program: &Program,
    params: &RunParams,
    crashes: bool,
    cap: usize,
    firing_cap: u64,
) -> Option<Run> {
    let params = RunParams { lineage: false, tuple_cap: cap, ..params.clone() };
    let scenario = Scenario::default();
    let mut engine = Engine::new(program, &params, &scenario);
    engine.over = Some(crashes && over_holds_crashes(program));
    engine.firing_cap = firing_cap;
    for t in 1..=params.eot {
        engine.step(t).ok()?;
    }
    Some(engine.finish())
}

/// Whether [`possible`] and [`ground`] hold the crash tuples: only when some rule reads
/// `crash` positively. A `notin crash` is decided by the crash variables of the exact
/// model, so without such a rule the N x N x EOT crash tuples of every timestep would be
/// inserted for nothing.
pub fn over_holds_crashes(program: &Program) -> bool {
    let crash = program.crash_rel;
    crash.is_some()
        && program.rules.iter().any(|r| r.positives.iter().any(|&(rel, _)| Some(rel) == crash))
}

/// Most distinct values a `sum` may take across runs when grounding.
pub const MAX_SUMS: usize = 4096;

/// One aggregate group of an over-approximated run at one timestep, for grounding: the
/// rule, the timestep its body is evaluated at, the sender (for `@async` heads), the group's
/// head values (every head term but the aggregate, in order), the aggregated value of each
/// distinct binding, and every firing as (binding, body tuples, negated atoms).
#[derive(Debug, Clone)]
pub struct GroundAgg {
    pub rule: RuleId,
    pub time: u32,
    pub sender: Value,
    pub group: Box<[Value]>,
    pub values: Vec<Value>,
    pub rows: Vec<AggRow>,
}

/// One firing of an aggregate rule: the binding it gives (an index into
/// [`GroundAgg::values`]), its positive body tuples and its negated atoms (indices for
/// [`Lineage::neg`]).
#[derive(Debug, Clone)]
pub struct AggRow {
    pub binding: u32,
    pub body: Box<[TupleId]>,
    pub negs: Box<[u32]>,
}

/// The ground program of every run within the bounds: [`possible`]'s over-approximation
/// (every message delivered, every crash tuple present when a rule reads `crash`
/// positively, every `notin` true, every aggregate value a subset of its group can give)
/// with its lineage, which records every rule instance that can fire in any run (its
/// positive body tuples, its negated atoms and the message it rides on), and the groups of
/// every aggregate. `tuple_cap` bounds each timestep's tuples and `firing_cap` the rule
/// firings in all.
pub fn ground(
    program: &Program,
    params: &RunParams,
    eff: u32,
    crashes: bool,
    firing_cap: u64,
) -> Result<(Run, Vec<GroundAgg>), EvalError> {
    let params = RunParams { lineage: true, ..params.clone() };
    let scenario = Scenario::default();
    let mut engine = Engine::new(program, &params, &scenario);
    engine.over = Some(crashes && over_holds_crashes(program));
    engine.firing_cap = firing_cap;
    engine.tight = true;
    engine.ground_eff = eff;
    engine.ground_crashes = crashes;
    for t in 1..=params.eot {
        engine.step(t)?;
    }
    let aggs = std::mem::take(&mut engine.ground_aggs);
    Ok((engine.finish(), aggs))
}

/// The state of a run entering a timestep: everything the rest of the run depends on, for a
/// fixed crash set and whatever omissions are chosen from this timestep on. Program facts
/// of later timesteps and the crash oracle come from the program and the scenario, so they
/// are not part of it. Two frontiers that are equal lead to the same tuples at every later
/// timestep under the same later faults, which is what makes a frontier a sound memo key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frontier {
    /// The timestep about to be computed (1-based).
    pub time: u32,
    /// The inputs of `time` carried from `time - 1`: `@next` heads and delivered messages,
    /// as (relation, values), sorted and deduplicated (their derivations do not matter).
    pub inputs: Vec<(RelId, Box<[Value]>)>,
    /// The tuples of earlier timesteps that `@T` body literals can still read (T < `time`):
    /// (T, relation, values), sorted. Empty for programs without absolute-time reads.
    pub past: Vec<(u32, RelId, store::Vals)>,
}

/// One input of the next timestep produced by [`Stepper::step`]: its tuple and, for a
/// message between distinct nodes, the channel (sender, receiver) it rides on.
#[derive(Debug, Clone)]
struct NextInput {
    channel: Option<(Sym, Sym)>,
    rel: RelId,
    vals: Box<[Value]>,
}

/// The result of computing one timestep with a [`Stepper`].
#[derive(Debug, Clone)]
pub struct Stepped {
    /// The timestep computed.
    pub time: u32,
    /// At EOT: some `pre` tuple lacks its `post` tuple. Always false before EOT.
    pub violated: bool,
    /// Rule firings of this timestep.
    pub firings: u64,
    next: Vec<NextInput>,
    past: Vec<(u32, RelId, store::Vals)>,
}

impl Stepped {
    /// The channels (sender, receiver), between distinct nodes, of the messages sent at
    /// `time` that will be delivered at `time + 1`: the channels an omission at `time` can
    /// cut. Sorted, deduplicated. Messages to oneself are never lost and messages of crashed
    /// senders are already lost, so neither appears.
    pub fn channels(&self) -> Vec<(Sym, Sym)> {
        let mut ch: Vec<(Sym, Sym)> = self.next.iter().filter_map(|i| i.channel).collect();
        ch.sort_unstable();
        ch.dedup();
        ch
    }

    /// The state entering `time + 1` when the scenario omits the channels `omit` at `time`
    /// (every message sent at `time` on them is lost; `omit` must be sorted).
    pub fn frontier(&self, omit: &[(Sym, Sym)]) -> Frontier {
        let mut inputs: Vec<(RelId, Box<[Value]>)> = self
            .next
            .iter()
            .filter(|i| i.channel.is_none_or(|c| omit.binary_search(&c).is_err()))
            .map(|i| (i.rel, i.vals.clone()))
            .collect();
        inputs.dedup();
        Frontier { time: self.time + 1, inputs, past: self.past.clone() }
    }

    /// The inputs of `time + 1` before any omission at `time`, sorted by (relation, values)
    /// (equal tuples are adjacent), each with the channel it rides on when an omission at
    /// `time` can cut it. Filtering out the omitted channels and merging equal tuples gives
    /// [`Frontier::inputs`] of [`Stepped::frontier`], in the same order.
    pub fn inputs(&self) -> impl Iterator<Item = (Option<(Sym, Sym)>, RelId, &[Value])> {
        self.next.iter().map(|i| (i.channel, i.rel, &*i.vals))
    }

    /// [`Frontier::past`] of the frontiers that follow this timestep.
    pub fn past(&self) -> &[(u32, RelId, store::Vals)] {
        &self.past
    }
}

/// Timestep-by-timestep evaluation without lineage, resumable from any [`Frontier`]: the
/// building block of a search that branches on the faults of each timestep and shares the
/// computation of common prefixes. Running `step` from [`Stepper::start`] through EOT with
/// `frontier(omit_t)` at each t computes the same tuples as [`run`] with those omissions.
///
/// The scenario given to the stepper supplies the crashes (the crash oracle and the
/// messages lost by crashed senders); its omissions should be empty, since omissions are
/// chosen per timestep through [`Stepped::frontier`].
pub struct Stepper<'p> {
    program: &'p Program,
    params: RunParams,
    scenario: &'p Scenario,
    /// (T, relation) of every `@T` body literal (positive or negated), sorted, deduplicated.
    past_reads: Vec<(u32, RelId)>,
}

impl<'p> Stepper<'p> {
    /// A stepper for `program` under the crashes of `scenario`. Lineage is never recorded.
    pub fn new(program: &'p Program, params: &RunParams, scenario: &'p Scenario) -> Stepper<'p> {
        let mut past_reads: Vec<(u32, RelId)> = program
            .rules
            .iter()
            .flat_map(|r| r.positives.iter().chain(&r.negatives))
            .filter_map(|&(rel, time)| match time {
                TimeRef::At(at) => Some((at, rel)),
                TimeRef::Now => None,
            })
            .collect();
        past_reads.sort_unstable();
        past_reads.dedup();
        Stepper {
            program,
            params: RunParams { lineage: false, ..params.clone() },
            scenario,
            past_reads,
        }
    }

    /// True when some body literal reads a fixed timestep (`@T`), so that frontiers carry
    /// tuples of past timesteps.
    pub fn reads_past(&self) -> bool {
        !self.past_reads.is_empty()
    }

    /// The state entering timestep 1.
    pub fn start(&self) -> Frontier {
        Frontier { time: 1, inputs: Vec::new(), past: Vec::new() }
    }

    /// Compute timestep `at.time` from the state entering it.
    pub fn step(&self, at: &Frontier) -> Result<Stepped, EvalError> {
        let t = at.time;
        let program = self.program;
        let mut engine = Engine::new(program, &self.params, self.scenario);
        // Stores of earlier timesteps: only those `@T` literals read hold tuples; the others
        // are never read and stay empty placeholders.
        for time in 1..t {
            let store = if self.past_reads.iter().any(|&(pt, _)| pt == time) {
                store::TimeStore::new(program)
            } else {
                store::TimeStore::empty()
            };
            engine.tuples.times.push(store);
        }
        for (time, rel, vals) in &at.past {
            engine.tuples.insert(*rel, vals, *time, 0);
        }
        engine.next_fact = program.facts.partition_point(|f| f.time < t);
        engine.pending = at
            .inputs
            .iter()
            .map(|(rel, vals)| Pending {
                certain: false,
                rel: *rel,
                vals: vals.clone(),
                source: Source::Fact,
                body: 0..0,
                negs: 0..0,
                msg: None,
            })
            .collect();
        engine.step(t)?;
        let violated = t == self.params.eot && !engine.violations().is_empty();
        let mut next: Vec<NextInput> = std::mem::take(&mut engine.pending)
            .into_iter()
            .map(|p| {
                let channel = p
                    .msg
                    .map(|id| &engine.messages[id as usize])
                    .filter(|m| m.from != m.to && m.send_time == t)
                    .map(|m| (m.from, m.to));
                NextInput { channel, rel: p.rel, vals: p.vals }
            })
            .collect();
        next.sort_unstable_by(|a, b| (a.rel, &a.vals).cmp(&(b.rel, &b.vals)));
        let mut past = at.past.clone();
        let store = engine.tuples.store(t).expect("the timestep just computed");
        for &(_, rel) in self.past_reads.iter().filter(|&&(pt, _)| pt == t) {
            for &id in &store.rels[rel as usize].list {
                past.push((t, rel, engine.tuples.rec(id).vals.clone()));
            }
        }
        past.sort_unstable();
        Ok(Stepped { time: t, violated, firings: engine.firings, next, past })
    }
}

/// How a positive literal is filtered by semi-naive round.
#[derive(Debug, Clone, Copy)]
enum RoundFilter {
    All,
    Below(u32),
    Exactly(u32),
}

impl RoundFilter {
    #[inline]
    fn accepts(self, round: u32) -> bool {
        match self {
            RoundFilter::All => true,
            RoundFilter::Below(q) => round < q,
            RoundFilter::Exactly(q) => round == q,
        }
    }
}

/// Head tuples produced by evaluating one rule (flat buffers).
#[derive(Default)]
struct Out {
    arity: usize,
    vals: Vec<Value>,
    /// Sender (rule location) of each head.
    senders: Vec<Value>,
    body: Vec<TupleId>,
    body_off: Vec<u32>,
    negs: Vec<u32>,
    neg_off: Vec<u32>,
    /// Grounding: whether each head is derived in every run.
    certain: Vec<bool>,
}

impl Out {
    fn new(arity: usize) -> Out {
        Out { arity, body_off: vec![0], neg_off: vec![0], ..Out::default() }
    }
    fn len(&self) -> usize {
        self.senders.len()
    }
    fn head(&self, i: usize) -> &[Value] {
        &self.vals[i * self.arity..(i + 1) * self.arity]
    }
    /// Body tuples of head i (empty when lineage is off).
    fn body(&self, i: usize) -> &[TupleId] {
        if self.body_off.len() <= i + 1 {
            return &[];
        }
        &self.body[self.body_off[i] as usize..self.body_off[i + 1] as usize]
    }
    fn negs(&self, i: usize) -> &[u32] {
        if self.neg_off.len() <= i + 1 {
            return &[];
        }
        &self.negs[self.neg_off[i] as usize..self.neg_off[i + 1] as usize]
    }
}

/// An input of the next timestep with its derivation.
struct Pending {
    /// Grounding: it arrives in every run.
    certain: bool,
    rel: RelId,
    vals: Box<[Value]>,
    source: Source,
    /// Ranges into the engine's `pending_body` and `pending_negs` (empty without lineage).
    body: Range<u32>,
    negs: Range<u32>,
    msg: Option<u32>,
}

/// A message's identity: (from, to, send time, relation, values).
type MsgKey = (Sym, Sym, u32, RelId, Box<[Value]>);

/// An aggregate group: its distinct bindings, their aggregated values, the sender, and the
/// body tuples and negated atoms of every binding (the lineage of the result).
struct AggGroup {
    /// Each distinct binding and its index in `values`.
    bindings: FxHashMap<Vec<Value>, u32>,
    values: Vec<Value>,
    /// Grounding only: every firing of the group as (binding index, body tuples, negated
    /// atoms).
    rows: Vec<AggRow>,
    /// Grounding only: whether each binding holds in every run.
    certain: Vec<bool>,
    sender: Value,
    body: Vec<TupleId>,
    negs: Vec<u32>,
}

/// A derivation to record: where it came from and what it used.
struct Derivation<'a> {
    /// Grounding: the firing happens in every run (see [`Engine::certain`]).
    certain: bool,
    source: Source,
    body: &'a [TupleId],
    /// Ids in the engine's [`NegTable`].
    negs: &'a [u32],
    msg: Option<u32>,
}

struct Engine<'p> {
    program: &'p Program,
    params: &'p RunParams,
    scenario: &'p Scenario,
    is_node: FxHashSet<Sym>,
    tuples: Tuples,
    lineage: Option<Lineage>,
    /// The negated atoms of the lineage (empty without it).
    negtab: NegTable,
    messages: Vec<Message>,
    msg_ids: FxHashMap<MsgKey, u32>,
    pending: Vec<Pending>,
    /// The body tuples and negated atoms of the pending inputs (see [`Pending`]).
    pending_body: Vec<TupleId>,
    pending_negs: Vec<u32>,
    next_fact: usize,
    firings: u64,
    warnings: Vec<String>,
    warned: FxHashSet<Value>,
    round: u32,
    /// Over-approximate every run at once (see [`possible`]); `Some(true)` when crashes are
    /// possible.
    over: Option<bool>,
    /// Most rule firings the whole evaluation may take ([`EvalError::Budget`] beyond).
    firing_cap: u64,
    /// Grounding ([`ground`]): the groups of every aggregate rule at every timestep.
    ground_aggs: Vec<GroundAgg>,
    /// Grounding: track which tuples hold in every run (`certain`, by tuple id) and use it to
    /// tighten the over-approximation: a `notin` that a certain tuple matches fails in every
    /// run, and an aggregate's values are bounded by its certain bindings.
    tight: bool,
    certain: Vec<bool>,
    /// Grounding: EFF, and whether crashes are possible (messages are certain otherwise).
    ground_eff: u32,
    ground_crashes: bool,
}

impl<'p> Engine<'p> {
    fn new(program: &'p Program, params: &'p RunParams, scenario: &'p Scenario) -> Engine<'p> {
        Engine {
            program,
            params,
            scenario,
            is_node: params.nodes.iter().copied().collect(),
            tuples: Tuples::default(),
            lineage: params.lineage.then(Lineage::default),
            negtab: NegTable::default(),
            messages: Vec::new(),
            msg_ids: FxHashMap::default(),
            pending: Vec::new(),
            pending_body: Vec::new(),
            pending_negs: Vec::new(),
            next_fact: 0,
            firings: 0,
            warnings: Vec::new(),
            warned: FxHashSet::default(),
            round: 0,
            over: None,
            firing_cap: u64::MAX,
            ground_aggs: Vec::new(),
            tight: false,
            certain: Vec::new(),
            ground_eff: 0,
            ground_crashes: true,
        }
    }

    fn finish(mut self) -> Run {
        let violations = self.violations();
        if let Some(l) = &mut self.lineage {
            l.index(self.tuples.recs.len());
            l.neg_list = std::mem::take(&mut self.negtab.list);
        }
        Run {
            eot: self.params.eot,
            nodes: self.params.nodes.clone(),
            scenario: self.scenario.clone(),
            tuples: self.tuples,
            lineage: self.lineage,
            messages: self.messages,
            violations,
            firings: self.firings,
            warnings: self.warnings,
        }
    }

    fn violations(&self) -> Vec<TupleId> {
        let (Some(pre), Some(post)) = (self.program.pre_rel, self.program.post_rel) else {
            return Vec::new();
        };
        let Some(store) = self.tuples.store(self.params.eot) else { return Vec::new() };
        store.rels[pre as usize]
            .list
            .iter()
            .copied()
            .filter(|&id| store.rels[post as usize].get(&self.tuples.rec(id).vals).is_none())
            .collect()
    }

    /// Insert a tuple at timestep t with a firing; returns true when the tuple is new.
    fn add(
        &mut self,
        rel: RelId,
        vals: &[Value],
        t: u32,
        d: Derivation,
    ) -> Result<bool, EvalError> {
        let Derivation { certain, source, body, negs, msg } = d;
        let (id, new) = self.tuples.insert(rel, vals, t, self.round);
        if self.tight {
            if new {
                self.certain.push(certain);
            } else if certain {
                self.certain[id as usize] = true;
            }
        }
        if let Some(l) = &mut self.lineage {
            let b0 = l.body.len() as u32;
            l.body.extend_from_slice(body);
            let n0 = l.negs.len() as u32;
            l.negs.extend_from_slice(negs);
            l.firings.push(Firing {
                source,
                head: id,
                body: b0..l.body.len() as u32,
                negs: n0..l.negs.len() as u32,
                msg,
            });
        }
        if new && self.tuples.times[t as usize - 1].count > self.params.tuple_cap {
            return Err(EvalError::Runaway {
                rel: self.program.rel_name(rel).to_string(),
                time: t,
                cap: self.params.tuple_cap,
            });
        }
        Ok(new)
    }

    fn step(&mut self, t: u32) -> Result<(), EvalError> {
        let store = match self.tuples.times.last() {
            Some(prev) => store::TimeStore::sized_like(self.program, prev),
            None => store::TimeStore::new(self.program),
        };
        self.tuples.times.push(store);
        self.round = 0;
        self.inputs(t)?;
        for stratum in 0..self.program.strata.len() {
            self.fixpoint(stratum, t)?;
        }
        self.round = 0;
        self.inductive(t)?;
        Ok(())
    }

    /// Facts at t, carries and messages from t-1, and the crash oracle.
    fn inputs(&mut self, t: u32) -> Result<(), EvalError> {
        let program = self.program;
        while let Some(f) = program.facts.get(self.next_fact) {
            if f.time > t {
                break;
            }
            if f.time == t {
                self.add(
                    f.rel,
                    &f.vals,
                    t,
                    Derivation {
                        certain: true,
                        source: Source::Fact,
                        body: &[],
                        negs: &[],
                        msg: None,
                    },
                )?;
            }
            self.next_fact += 1;
        }
        let (mut body, mut negs) =
            (std::mem::take(&mut self.pending_body), std::mem::take(&mut self.pending_negs));
        for p in std::mem::take(&mut self.pending) {
            let d = Derivation {
                certain: p.certain,
                source: p.source,
                body: &body[p.body.start as usize..p.body.end as usize],
                negs: &negs[p.negs.start as usize..p.negs.end as usize],
                msg: p.msg,
            };
            self.add(p.rel, &p.vals, t, d)?;
        }
        // The buffers are kept for the next timestep's inputs.
        body.clear();
        negs.clear();
        (self.pending_body, self.pending_negs) = (body, negs);
        let every_crash: Vec<(Sym, u32)> = match self.over {
            Some(true) => self
                .params
                .nodes
                .iter()
                .flat_map(|&c| (1..=self.params.eot).map(move |ct| (c, ct)))
                .collect(),
            _ => Vec::new(),
        };
        let crashes = if self.over.is_some() { &every_crash } else { &self.scenario.crashes };
        if let Some(crash) = program.crash_rel {
            for &n in &self.params.nodes {
                for &(c, ct) in crashes {
                    let vals = [Value::Sym(n), Value::Sym(c), Value::Int(ct as i64)];
                    self.add(
                        crash,
                        &vals,
                        t,
                        Derivation {
                            certain: false,
                            source: Source::Crash,
                            body: &[],
                            negs: &[],
                            msg: None,
                        },
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Semi-naive fixpoint of one stratum at timestep t.
    fn fixpoint(&mut self, stratum: usize, t: u32) -> Result<(), EvalError> {
        let program = self.program;
        let rules = &program.strata[stratum];
        self.round += 1;
        let first = self.round;
        let mut new = 0usize;
        for &r in rules {
            let rule = &program.rules[r as usize];
            let filters = self.filters(rule, t, None, first);
            let out = self.derive(rule, &rule.full, &filters, t)?;
            new += self.insert_out(rule, &out, t)?;
        }
        while new > 0 {
            self.round += 1;
            let q = self.round;
            new = 0;
            for &r in rules {
                let rule = &program.rules[r as usize];
                for plan in &rule.deltas {
                    // A delta literal `@T` with T != t reads a fixed past (or no) state: it
                    // has no new tuples this round.
                    let reads_now = plan.delta.is_none_or(|d| match rule.positives[d].1 {
                        TimeRef::Now => true,
                        TimeRef::At(at) => at == t,
                    });
                    if !reads_now {
                        continue;
                    }
                    let filters = self.filters(rule, t, plan.delta, q);
                    let out = self.derive(rule, plan, &filters, t)?;
                    new += self.insert_out(rule, &out, t)?;
                }
            }
        }
        Ok(())
    }

    /// Round filters of a rule's positive literals for a plan at round q.
    fn filters(&self, rule: &IrRule, t: u32, delta: Option<usize>, q: u32) -> Vec<RoundFilter> {
        rule.positives
            .iter()
            .enumerate()
            .map(|(i, &(rel, time))| {
                let current = match time {
                    TimeRef::Now => true,
                    TimeRef::At(at) => at == t,
                };
                let same = rule.ann == HeadAnn::None
                    && self.program.rels[rel as usize].stratum == rule.stratum;
                if !current || !same {
                    return RoundFilter::All;
                }
                match delta {
                    None => RoundFilter::Below(q),
                    Some(d) if i == d => RoundFilter::Exactly(q - 1),
                    Some(d) if i < d => RoundFilter::Below(q - 1),
                    Some(_) => RoundFilter::Below(q),
                }
            })
            .collect()
    }

    fn insert_out(&mut self, rule: &IrRule, out: &Out, t: u32) -> Result<usize, EvalError> {
        let mut new = 0;
        for i in 0..out.len() {
            let d = Derivation {
                certain: out.certain.get(i).copied().unwrap_or(false),
                source: Source::Rule(rule.id),
                body: out.body(i),
                negs: out.negs(i),
                msg: None,
            };
            if self.add(rule.head_rel, out.head(i), t, d)? {
                new += 1;
            }
        }
        Ok(new)
    }

    /// `@next` and `@async` rules on the final state of t.
    fn inductive(&mut self, t: u32) -> Result<(), EvalError> {
        let program = self.program;
        for &r in &program.next_rules {
            let rule = &program.rules[r as usize];
            let filters = vec![RoundFilter::All; rule.positives.len()];
            let out = self.derive(rule, &rule.full, &filters, t)?;
            if t == self.params.eot {
                continue;
            }
            for i in 0..out.len() {
                let (body, negs) = self.pending_lineage(&out, i);
                self.pending.push(Pending {
                    certain: out.certain.get(i).copied().unwrap_or(false),
                    rel: rule.head_rel,
                    vals: out.head(i).into(),
                    source: Source::Rule(rule.id),
                    body,
                    negs,
                    msg: None,
                });
            }
        }
        for &r in &program.async_rules {
            let rule = &program.rules[r as usize];
            let filters = vec![RoundFilter::All; rule.positives.len()];
            let out = self.derive(rule, &rule.full, &filters, t)?;
            for i in 0..out.len() {
                self.send(rule, &out, i, t);
            }
        }
        Ok(())
    }

    fn warn_not_node(&mut self, v: Value, rule: &IrRule) {
        if self.warned.insert(v) {
            self.warnings.push(format!(
                "messages to or from {} are dropped: it is not a node of the run (rule: {})",
                self.program.symbols.show(v),
                rule.text
            ));
        }
    }

    /// Route one `@async` head: deliver at t+1, or lose it.
    fn send(&mut self, rule: &IrRule, out: &Out, i: usize, t: u32) {
        let vals = out.head(i);
        let (from, to) = match (out.senders[i], vals[0]) {
            (Value::Sym(f), Value::Sym(r))
                if self.is_node.contains(&f) && self.is_node.contains(&r) =>
            {
                (f, r)
            }
            (f, r) => {
                let bad =
                    if matches!(f, Value::Sym(s) if self.is_node.contains(&s)) { r } else { f };
                self.warn_not_node(bad, rule);
                return;
            }
        };
        if t == self.params.eot {
            return;
        }
        let status = if from == to {
            MsgStatus::Delivered
        } else if self.scenario.crash_time(from).is_some_and(|c| c <= t) {
            MsgStatus::SenderCrashed
        } else if self.scenario.omissions.contains(&(from, to, t)) {
            MsgStatus::Omitted
        } else {
            MsgStatus::Delivered
        };
        let key = (from, to, t, rule.head_rel, Box::<[Value]>::from(vals));
        let next_id = self.messages.len() as u32;
        let id = *self.msg_ids.entry(key).or_insert(next_id);
        if id == next_id {
            self.messages.push(Message {
                from,
                to,
                send_time: t,
                rel: rule.head_rel,
                vals: vals.into(),
                status,
            });
        }
        if status == MsgStatus::Delivered {
            let (body, negs) = self.pending_lineage(out, i);
            // Grounding: a message arrives in every run when it goes to its sender, or when
            // no omission (t >= EFF) and no crash can stop it.
            let sure = from == to || (t >= self.ground_eff && !self.ground_crashes);
            self.pending.push(Pending {
                certain: sure && out.certain.get(i).copied().unwrap_or(false),
                rel: rule.head_rel,
                vals: vals.into(),
                source: Source::Rule(rule.id),
                body,
                negs,
                msg: Some(id),
            });
        }
    }

    /// Keep head i's body tuples and negated atoms for its input at the next timestep.
    fn pending_lineage(&mut self, out: &Out, i: usize) -> (Range<u32>, Range<u32>) {
        let b0 = self.pending_body.len() as u32;
        self.pending_body.extend_from_slice(out.body(i));
        let n0 = self.pending_negs.len() as u32;
        self.pending_negs.extend_from_slice(out.negs(i));
        (b0..self.pending_body.len() as u32, n0..self.pending_negs.len() as u32)
    }

    /// Evaluate a rule's plan (with aggregation when its head has one).
    fn derive(
        &mut self,
        rule: &IrRule,
        plan: &Plan,
        filters: &[RoundFilter],
        t: u32,
    ) -> Result<Out, EvalError> {
        let memo_vars: &[Option<Box<[VarId]>>] =
            if self.lineage.is_some() { &[] } else { &plan.memo };
        let mut ctx = JoinCtx {
            program: self.program,
            tuples: &self.tuples,
            rule,
            filters,
            t,
            lineage: self.lineage.is_some(),
            negtab: &mut self.negtab,
            pattern: Vec::new(),
            binding: vec![Value::Int(0); rule.nvars],
            body: vec![0; rule.positives.len()],
            negs: Vec::new(),
            keys: vec![Vec::new(); plan.steps.len()],
            out: Out::new(rule.head.len()),
            groups: BTreeMap::new(),
            firings: 0,
            budget: self.firing_cap.saturating_sub(self.firings),
            memo_vars,
            memo: vec![FxHashSet::default(); memo_vars.len()],
            memo_key: Vec::new(),
            over: self.over.is_some(),
            tight: self.tight,
            certain: &self.certain,
            uncertain_negs: 0,
            crashes: self.ground_crashes,
        };
        let cap = self.firing_cap;
        ctx.join(&plan.steps, 0).map_err(|e| match e {
            EvalError::Budget { time, .. } => EvalError::Budget { time, cap },
            e => e,
        })?;
        self.firings += ctx.firings;
        match rule.agg {
            None => Ok(ctx.out),
            Some(pos) => ctx.aggregate(pos, &mut self.ground_aggs),
        }
    }
}

/// The part of an index bucket (in insertion order, so by nondecreasing round) derived in
/// rounds `lo..hi`.
fn rounds_slice<'t>(tuples: &Tuples, ids: &'t [TupleId], lo: u32, hi: u32) -> &'t [TupleId] {
    let a = ids.partition_point(|&id| tuples.rec(id).round < lo);
    let b = ids.partition_point(|&id| tuples.rec(id).round < hi);
    &ids[a..b.max(a)]
}

struct JoinCtx<'a> {
    program: &'a Program,
    tuples: &'a Tuples,
    rule: &'a IrRule,
    filters: &'a [RoundFilter],
    t: u32,
    lineage: bool,
    /// The run's negated atoms (with lineage).
    negtab: &'a mut NegTable,
    /// Scratch buffer of a negated atom's pattern.
    pattern: Vec<Option<Value>>,
    binding: Vec<Value>,
    /// Body tuple per positive literal (source order).
    body: Vec<TupleId>,
    /// The negated atoms of the binding so far ([`NegTable`] ids).
    negs: Vec<u32>,
    keys: Vec<Vec<Value>>,
    out: Out,
    /// The groups of an aggregate rule's bindings so far (see [`JoinCtx::add_row`]).
    groups: BTreeMap<Vec<Value>, AggGroup>,
    firings: u64,
    /// Most firings this join may take (see [`Engine::firing_cap`]).
    budget: u64,
    /// The memoized join levels ([`Plan::memo`]); empty when recording lineage, where every
    /// firing counts.
    memo_vars: &'a [Option<Box<[VarId]>>],
    /// Per memoized level, the values of its variables already evaluated.
    memo: Vec<FxHashSet<Box<[Value]>>>,
    memo_key: Vec<Value>,
    /// Over-approximating (see [`possible`]): `notin` succeeds, aggregates take every
    /// value a subset of the group can give.
    over: bool,
    /// Grounding ([`Engine::tight`]): the certain tuples, and how many `notin`s of the
    /// binding so far some (uncertain) tuple matches.
    tight: bool,
    certain: &'a [bool],
    uncertain_negs: u32,
    /// Grounding: crashes are possible (a `notin crash` is then never certain).
    crashes: bool,
}

impl<'a> JoinCtx<'a> {
    fn store_for(&self, rel: RelId, time: TimeRef) -> Option<&'a store::RelStore> {
        let at = match time {
            TimeRef::Now => self.t,
            TimeRef::At(at) if at <= self.t => at,
            TimeRef::At(_) => return None,
        };
        let tuples: &'a Tuples = self.tuples;
        // A placeholder store of a timestep nothing reads (see [`Stepper`]) has no relations.
        tuples.store(at).and_then(|s| s.rels.get(rel as usize))
    }

    fn value(&self, pat: ArgPat) -> Option<Value> {
        match pat {
            ArgPat::Const(c) => Some(c),
            ArgPat::Check(v) | ArgPat::Bind(v) => Some(self.binding[v as usize]),
            ArgPat::Wild => None,
        }
    }

    fn join(&mut self, steps: &[Step], i: usize) -> Result<(), EvalError> {
        if let Some(Some(vars)) = self.memo_vars.get(i) {
            let mut key = std::mem::take(&mut self.memo_key);
            key.clear();
            key.extend(vars.iter().map(|&v| self.binding[v as usize]));
            let seen = self.memo[i].contains(key.as_slice());
            if !seen {
                self.memo[i].insert(key.as_slice().into());
            }
            self.memo_key = key;
            if seen {
                return Ok(());
            }
        }
        let Some(step) = steps.get(i) else { return self.emit() };
        match step {
            Step::Scan { rel, time, args, key, lit } => {
                let Some(store) = self.store_for(*rel, *time) else { return Ok(()) };
                let mut kbuf = std::mem::take(&mut self.keys[i]);
                kbuf.clear();
                kbuf.extend(
                    key.iter().map(|&c| self.value(args[c as usize]).unwrap_or(Value::Int(0))),
                );
                let filter = self.filters[*lit];
                let tuples = self.tuples;
                // Without bound columns, a round filter selects a contiguous slice: semi-naive
                // rounds then touch only their delta, not the whole relation.
                let candidates = match (key.is_empty(), filter) {
                    (true, RoundFilter::Exactly(q)) => store.in_rounds(q, q + 1),
                    (true, RoundFilter::Below(q)) => store.in_rounds(0, q),
                    (false, RoundFilter::Exactly(q)) => {
                        rounds_slice(tuples, store.lookup(key, &kbuf), q, q + 1)
                    }
                    (false, RoundFilter::Below(q)) => {
                        rounds_slice(tuples, store.lookup(key, &kbuf), 0, q)
                    }
                    (_, RoundFilter::All) => store.lookup(key, &kbuf),
                };
                for &id in candidates {
                    let rec = tuples.rec(id);
                    if !filter.accepts(rec.round) || !self.matches(args, &rec.vals) {
                        continue;
                    }
                    self.body[*lit] = id;
                    self.join(steps, i + 1)?;
                }
                self.keys[i] = kbuf;
                Ok(())
            }
            Step::Absent { rel, time, args, key, .. } => {
                // Over-approximating, `notin` always succeeds (and, when grounding, the
                // pattern it relied on is recorded like any other).
                let mut uncertain = false;
                let found = match self.store_for(*rel, *time) {
                    _ if self.over && !self.tight => false,
                    None => false,
                    Some(store) => {
                        let kbuf: Vec<Value> = key
                            .iter()
                            .map(|&c| self.value(args[c as usize]).unwrap_or(Value::Int(0)))
                            .collect();
                        let single;
                        let ids: &[TupleId] = if key.len() == args.len() {
                            single = store.get(&kbuf);
                            single.as_slice()
                        } else {
                            store.lookup(key, &kbuf)
                        };
                        if self.tight {
                            // Fails in every run only when a certain tuple matches. Crash
                            // tuples are not held here: faults decide them.
                            uncertain = !ids.is_empty()
                                || (self.crashes && Some(*rel) == self.program.crash_rel);
                            ids.iter().any(|&id| self.certain[id as usize])
                        } else {
                            !ids.is_empty()
                        }
                    }
                };
                if found {
                    return Ok(());
                }
                self.uncertain_negs += u32::from(uncertain);
                if self.lineage {
                    let at = match time {
                        TimeRef::Now => self.t,
                        TimeRef::At(a) => *a,
                    };
                    let mut pattern = std::mem::take(&mut self.pattern);
                    pattern.clear();
                    pattern.extend(args.iter().map(|a| self.value(*a)));
                    let id = self.negtab.intern(*rel, at, &pattern);
                    self.pattern = pattern;
                    self.negs.push(id);
                }
                let r = self.join(steps, i + 1);
                if self.lineage {
                    self.negs.pop();
                }
                self.uncertain_negs -= u32::from(uncertain);
                r
            }
            Step::Filter { lhs, op, rhs } => {
                let a = self.eval(lhs)?;
                let b = self.eval(rhs)?;
                if self.compare(a, *op, b)? {
                    self.join(steps, i + 1)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Match a tuple against an atom's patterns, binding `Bind` variables.
    #[inline]
    fn matches(&mut self, args: &[ArgPat], vals: &[Value]) -> bool {
        for (pat, &v) in args.iter().zip(vals.iter()) {
            match *pat {
                ArgPat::Bind(var) => self.binding[var as usize] = v,
                ArgPat::Check(var) => {
                    if self.binding[var as usize] != v {
                        return false;
                    }
                }
                ArgPat::Const(c) => {
                    if c != v {
                        return false;
                    }
                }
                ArgPat::Wild => {}
            }
        }
        true
    }

    fn sender(&self) -> Value {
        self.value(self.rule.location).unwrap_or(Value::Int(0))
    }

    /// A complete binding: produce the head (or an aggregate row).
    fn emit(&mut self) -> Result<(), EvalError> {
        self.firings += 1;
        if self.firings > self.budget {
            return Err(EvalError::Budget { time: self.t, cap: self.budget });
        }
        let sender = self.sender();
        let certain = self.tight
            && self.uncertain_negs == 0
            && self.body.iter().all(|&b| self.certain[b as usize]);
        if let Some(pos) = self.rule.agg {
            let mut group = Vec::with_capacity(self.rule.head.len() - 1);
            let mut agg = Value::Int(0);
            for (i, term) in self.rule.head.iter().enumerate() {
                match term {
                    HeadTerm::Expr(e) => group.push(self.eval(e)?),
                    HeadTerm::Agg(_, v) if i == pos => agg = self.binding[*v as usize],
                    HeadTerm::Agg(..) => {}
                }
            }
            self.add_row(group, agg, sender, certain);
            return Ok(());
        }
        for term in &self.rule.head {
            if let HeadTerm::Expr(e) = term {
                let v = self.eval(e)?;
                self.out.vals.push(v);
            }
        }
        self.out.senders.push(sender);
        self.out.certain.push(certain);
        if self.lineage {
            self.out.body.extend_from_slice(&self.body);
            self.out.body_off.push(self.out.body.len() as u32);
            self.out.negs.extend_from_slice(&self.negs);
            self.out.neg_off.push(self.out.negs.len() as u32);
        }
        Ok(())
    }

    /// Add one binding of an aggregate rule to its group (grouped as the join goes, so the
    /// memory is one entry per distinct binding, not per firing).
    fn add_row(&mut self, group: Vec<Value>, value: Value, sender: Value, certain: bool) {
        // A message carries one sender's aggregate: `@async` groups are per sender.
        let mut key = Vec::with_capacity(group.len() + 1);
        if self.rule.ann == HeadAnn::Async {
            key.push(sender);
        }
        key.extend(group);
        let entry = self.groups.entry(key).or_insert_with(|| AggGroup {
            bindings: FxHashMap::default(),
            values: Vec::new(),
            rows: Vec::new(),
            certain: Vec::new(),
            sender,
            body: Vec::new(),
            negs: Vec::new(),
        });
        let binding: Vec<Value> =
            self.rule.binding_vars.iter().map(|v| self.binding[*v as usize]).collect();
        let next = entry.values.len() as u32;
        let index = *entry.bindings.entry(binding).or_insert(next);
        if index == next {
            entry.values.push(value);
            entry.certain.push(false);
        }
        if certain {
            entry.certain[index as usize] = true;
        }
        if self.over && self.lineage {
            entry.rows.push(AggRow {
                binding: index,
                body: self.body.as_slice().into(),
                negs: self.negs.as_slice().into(),
            });
        } else if self.lineage {
            for &b in &self.body {
                if !entry.body.contains(&b) {
                    entry.body.push(b);
                }
            }
            for &n in &self.negs {
                if !entry.negs.contains(&n) {
                    entry.negs.push(n);
                }
            }
        }
    }

    /// Compute one head per group of aggregate rows.
    fn aggregate(mut self, pos: usize, ground: &mut Vec<GroundAgg>) -> Result<Out, EvalError> {
        let kind = match self.rule.head[pos] {
            HeadTerm::Agg(k, _) => k,
            HeadTerm::Expr(_) => AggKind::Count,
        };
        let per_sender = self.rule.ann == HeadAnn::Async;
        let groups = std::mem::take(&mut self.groups);
        let mut out = Out::new(self.rule.head.len());
        for (key, group) in groups {
            if self.over {
                let group_vals = &key[usize::from(per_sender)..];
                self.possible_results(kind, group_vals, &group, pos, &mut out)?;
                if self.lineage {
                    ground.push(GroundAgg {
                        rule: self.rule.id,
                        time: self.t,
                        sender: group.sender,
                        group: group_vals.into(),
                        values: group.values,
                        rows: group.rows,
                    });
                }
                continue;
            }
            let result = self.fold(kind, &group.values)?;
            let mut g = key.into_iter().skip(usize::from(per_sender));
            for i in 0..self.rule.head.len() {
                out.vals.push(if i == pos { result } else { g.next().unwrap_or(Value::Int(0)) });
            }
            out.senders.push(group.sender);
            if self.lineage {
                out.body.extend_from_slice(&group.body);
                out.body_off.push(out.body.len() as u32);
                out.negs.extend(group.negs);
                out.neg_off.push(out.negs.len() as u32);
            }
        }
        Ok(out)
    }

    /// Over-approximating: one head per value the aggregate of a non-empty subset of the
    /// group's bindings can take (a `count` 1..=n, a `min` or `max` any of the values).
    fn possible_results(
        &self,
        kind: AggKind,
        group_vals: &[Value],
        group: &AggGroup,
        pos: usize,
        out: &mut Out,
    ) -> Result<(), EvalError> {
        let (results, certain) = if self.tight {
            self.bounded_results(kind, group)?
        } else {
            let results: Vec<Value> = match kind {
                AggKind::Count => (1..=group.values.len() as i64).map(Value::Int).collect(),
                AggKind::Min | AggKind::Max => {
                    let mut v = group.values.clone();
                    v.sort_unstable();
                    v.dedup();
                    v
                }
                AggKind::Sum => return Err(self.error("sum<> cannot be over-approximated".into())),
            };
            (results, false)
        };
        for result in results {
            let mut g = group_vals.iter();
            for i in 0..self.rule.head.len() {
                out.vals.push(if i == pos { result } else { *g.next().unwrap_or(&Value::Int(0)) });
            }
            out.senders.push(group.sender);
            out.certain.push(certain);
        }
        Ok(())
    }

    /// Grounding: the values an aggregate can take in some run, given which bindings are
    /// certain (every run has them): a `count` at least the certain ones, a `min` (`max`)
    /// no greater (smaller) than the certain ones', a `sum` the certain values plus any
    /// subset of the others. Certain itself when every binding is.
    fn bounded_results(
        &self,
        kind: AggKind,
        group: &AggGroup,
    ) -> Result<(Vec<Value>, bool), EvalError> {
        let n = group.values.len();
        let sure: Vec<Value> =
            (0..n).filter(|&i| group.certain[i]).map(|i| group.values[i]).collect();
        if sure.len() == n {
            return Ok((vec![self.fold(kind, &group.values)?], true));
        }
        let results = match kind {
            AggKind::Count => (sure.len().max(1) as i64..=n as i64).map(Value::Int).collect(),
            AggKind::Min | AggKind::Max => {
                let mut v = group.values.clone();
                if !sure.is_empty() {
                    let bound = self.fold(kind, &sure)?;
                    let mut keep = Vec::with_capacity(v.len());
                    for x in v {
                        let ord = self.program.symbols.compare(x, bound).ok_or_else(|| {
                            self.error(format!("{}<> mixes strings and integers", kind.name()))
                        })?;
                        let within = if kind == AggKind::Min { ord.is_le() } else { ord.is_ge() };
                        if within {
                            keep.push(x);
                        }
                    }
                    v = keep;
                }
                v.sort_unstable();
                v.dedup();
                v
            }
            AggKind::Sum => {
                let others: Vec<Value> =
                    (0..n).filter(|&i| !group.certain[i]).map(|i| group.values[i]).collect();
                let mut sums = self.subset_sums(&others)?;
                if !sure.is_empty() {
                    let Value::Int(base) = self.fold(AggKind::Sum, &sure)? else {
                        return Err(self.error("sum<> over a string".into()));
                    };
                    sums.push(Value::Int(0));
                    let mut shifted = Vec::with_capacity(sums.len());
                    for s in sums {
                        let Value::Int(s) = s else { continue };
                        let total = s
                            .checked_add(base)
                            .ok_or_else(|| self.error("sum<> overflows 64 bits".into()))?;
                        shifted.push(Value::Int(total));
                    }
                    shifted.sort_unstable();
                    shifted.dedup();
                    sums = shifted;
                }
                sums
            }
        };
        Ok((results, false))
    }

    /// Every sum of a non-empty subset of `values` (grounding a `sum`), sorted; an error
    /// beyond [`MAX_SUMS`] distinct sums, on a string, or on overflow.
    fn subset_sums(&self, values: &[Value]) -> Result<Vec<Value>, EvalError> {
        let mut sums: std::collections::BTreeSet<i64> = Default::default();
        for v in values {
            let Value::Int(x) = *v else {
                return Err(
                    self.error(format!("sum<> over the string {}", self.program.symbols.show(*v)))
                );
            };
            let mut next = sums.clone();
            next.insert(x);
            for s in &sums {
                let total =
                    s.checked_add(x).ok_or_else(|| self.error("sum<> overflows 64 bits".into()))?;
                next.insert(total);
            }
            if next.len() > MAX_SUMS {
                return Err(
                    self.error(format!("sum<> can take more than {MAX_SUMS} values across runs"))
                );
            }
            sums = next;
        }
        Ok(sums.into_iter().map(Value::Int).collect())
    }

    fn fold(&self, kind: AggKind, values: &[Value]) -> Result<Value, EvalError> {
        match kind {
            AggKind::Count => Ok(Value::Int(values.len() as i64)),
            AggKind::Sum => {
                let mut sum: i64 = 0;
                for v in values {
                    let Value::Int(x) = *v else {
                        return Err(self.error(format!(
                            "sum<> over the string {}",
                            self.program.symbols.show(*v)
                        )));
                    };
                    sum = sum
                        .checked_add(x)
                        .ok_or_else(|| self.error("sum<> overflows 64 bits".into()))?;
                }
                Ok(Value::Int(sum))
            }
            AggKind::Min | AggKind::Max => {
                let mut best = values[0];
                for &v in &values[1..] {
                    let ord = self.program.symbols.compare(v, best).ok_or_else(|| {
                        self.error(format!("{}<> mixes strings and integers", kind.name()))
                    })?;
                    let better = if kind == AggKind::Min { ord.is_lt() } else { ord.is_gt() };
                    if better {
                        best = v;
                    }
                }
                Ok(best)
            }
        }
    }

    fn error(&self, what: String) -> EvalError {
        let binding: Vec<String> = self
            .rule
            .var_names
            .iter()
            .enumerate()
            .filter(|(v, _)| self.rule.binding_vars.contains(&(*v as VarId)))
            .map(|(v, name)| format!("{name} = {}", self.program.symbols.show(self.binding[v])))
            .collect();
        EvalError::Arithmetic {
            span: self.rule.span,
            rule: self.rule.text.clone(),
            what,
            binding: if binding.is_empty() { "no variables".into() } else { binding.join(", ") },
            time: self.t,
        }
    }

    fn eval(&self, e: &IrExpr) -> Result<Value, EvalError> {
        match e {
            IrExpr::Var(v) => Ok(self.binding[*v as usize]),
            IrExpr::Const(c) => Ok(*c),
            IrExpr::Neg(a) => match self.eval(a)? {
                Value::Int(x) => x
                    .checked_neg()
                    .map(Value::Int)
                    .ok_or_else(|| self.error(format!("-({x}) overflows 64 bits"))),
                v => Err(self
                    .error(format!("cannot negate the string {}", self.program.symbols.show(v)))),
            },
            IrExpr::Bin(op, a, b) => {
                let (x, y) = match (self.eval(a)?, self.eval(b)?) {
                    (Value::Int(x), Value::Int(y)) => (x, y),
                    (va, vb) => {
                        return Err(self.error(format!(
                            "arithmetic on a string: {} {} {}",
                            self.program.symbols.show(va),
                            op.symbol(),
                            self.program.symbols.show(vb)
                        )))
                    }
                };
                let r = match op {
                    BinOp::Add => x.checked_add(y),
                    BinOp::Sub => x.checked_sub(y),
                    BinOp::Mul => x.checked_mul(y),
                    BinOp::Div if y == 0 => {
                        return Err(self.error(format!("division by zero: {x} / 0")))
                    }
                    BinOp::Mod if y == 0 => {
                        return Err(self.error(format!("division by zero: {x} % 0")))
                    }
                    BinOp::Div => x.checked_div(y),
                    BinOp::Mod => x.checked_rem(y),
                };
                r.map(Value::Int)
                    .ok_or_else(|| self.error(format!("{x} {} {y} overflows 64 bits", op.symbol())))
            }
        }
    }

    fn compare(&self, a: Value, op: CmpOp, b: Value) -> Result<bool, EvalError> {
        match op {
            CmpOp::Eq => return Ok(a == b),
            CmpOp::Ne => return Ok(a != b),
            _ => {}
        }
        let ord = self.program.symbols.compare(a, b).ok_or_else(|| {
            self.error(format!(
                "cannot order {} against {}",
                self.program.symbols.show(a),
                self.program.symbols.show(b)
            ))
        })?;
        Ok(match op {
            CmpOp::Lt => ord.is_lt(),
            CmpOp::Gt => ord.is_gt(),
            CmpOp::Le => ord.is_le(),
            CmpOp::Ge => ord.is_ge(),
            CmpOp::Eq | CmpOp::Ne => unreachable!("handled above"),
        })
    }
}
