//! Search: find a fault scenario that violates the invariant, or certify that none exists
//! within the bounds. Strategies: `ldfi` (the default: one exact SAT model of every bounded
//! run, `exact.rs`), and the baselines `exhaustive` (the memoized referee,
//! `exhaustive.rs`) and `random` (`random.rs`).
//!
//! This file holds the public types, the entry points and the [`Driver`] every strategy
//! runs on (its executions, budget and deterministic work clock).

mod exact;
mod exhaustive;
mod random;

pub use exact::{GroundSize, DEFAULT_GROUND_CAP, PROBE_WORK};
use exhaustive::*;
use random::*;

use crate::analysis::ir::{Program, RelId, Sym, Value};
use crate::eval::{self, EvalError, Frontier, Run, RunParams, Scenario, Stepped, Stepper};
use num_bigint::BigUint;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The SAT solver behind the exact model and the trace mode: pure-Rust BatSat by default
/// (with [`Limits`], so that Ctrl-C, `--timeout` and conflict budgets stop a solve),
/// CaDiCaL with the `cadical` feature.
#[cfg(not(feature = "cadical"))]
pub type Backend = rustsat_batsat::Solver<Limits>;
#[cfg(feature = "cadical")]
pub type Backend = rustsat_cadical::CaDiCaL<'static, 'static>;

/// What stops a BatSat solve early: an interrupt flag (Ctrl-C), a deadline (`--timeout`)
/// and a budget of conflicts (deterministic).
#[derive(Default)]
pub struct Limits {
    pub interrupt: Option<Arc<AtomicBool>>,
    pub deadline: Option<Instant>,
    /// Conflicts so far (learnt clauses), over every solve.
    pub conflicts: u64,
    /// Stop once `conflicts` reaches this.
    pub max_conflicts: Option<u64>,
}

impl batsat::Callbacks for Limits {
    fn on_new_clause(&mut self, _c: &[batsat::Lit], kind: batsat::clause::Kind) {
        if matches!(kind, batsat::clause::Kind::Learnt) {
            self.conflicts += 1;
        }
    }
    fn stop(&self) -> bool {
        self.max_conflicts.is_some_and(|m| self.conflicts >= m)
            || self.interrupt.as_ref().is_some_and(|i| i.load(Ordering::Relaxed))
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The exact model of every bounded run (`exact.rs`), the default.
    Ldfi,
    Random,
    Exhaustive,
}

impl Strategy {
    /// A strategy by name; `auto` (the default of earlier versions) is the default now.
    pub fn parse(s: &str) -> Option<Strategy> {
        match s {
            "ldfi" | "auto" => Some(Strategy::Ldfi),
            "random" => Some(Strategy::Random),
            "exhaustive" => Some(Strategy::Exhaustive),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Ldfi => "ldfi",
            Strategy::Random => "random",
            Strategy::Exhaustive => "exhaustive",
        }
    }
}

/// Everything a search needs besides the program.
#[derive(Debug, Clone)]
pub struct SearchParams {
    pub eot: u32,
    pub eff: u32,
    pub crashes: u32,
    pub nodes: Vec<Sym>,
    pub strategy: Strategy,
    pub max_runs: Option<u64>,
    pub timeout: Option<Duration>,
    pub seed: u64,
    /// Keep searching after the first counterexample.
    pub all: bool,
    pub tuple_cap: usize,
    /// Most rule firings the grounding of the exact model may take
    /// ([`DEFAULT_GROUND_CAP`]): its memory budget.
    pub ground_cap: u64,
    /// Work units of exhaustive search the `ldfi` strategy tries before grounding
    /// ([`PROBE_WORK`]; 0: none).
    pub probe_work: u64,
}

impl SearchParams {
    /// Parameters for these bounds with every option at its default (no budget, seed 0,
    /// first counterexample only).
    pub fn new(
        eot: u32,
        eff: u32,
        crashes: u32,
        nodes: Vec<Sym>,
        strategy: Strategy,
    ) -> SearchParams {
        SearchParams {
            eot,
            eff,
            crashes,
            nodes,
            strategy,
            max_runs: None,
            timeout: None,
            seed: 0,
            all: false,
            tuple_cap: eval::DEFAULT_TUPLE_CAP,
            ground_cap: DEFAULT_GROUND_CAP,
            probe_work: PROBE_WORK,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Certified,
    Counterexample,
    FaultFreeViolation,
    BudgetExhausted,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Certified => "certified",
            Verdict::Counterexample => "counterexample",
            Verdict::FaultFreeViolation => "fault-free-violation",
            Verdict::BudgetExhausted => "budget-exhausted",
        }
    }
}

/// How many executions an outcome lists one by one (long exhaustive or random searches run
/// hundreds of thousands; their memory would grow without bound).
pub const MAX_RUN_RECORDS: usize = 1_000;

/// One execution of the search.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub scenario: Scenario,
    pub violated: bool,
    pub micros: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Gross size of the fault space: every crash choice times every omission subset.
    pub fault_space: BigUint,
    /// Complete executions, the baseline included. For `exhaustive`, the leaves evaluated
    /// to EOT: branches cut by memoization are not counted, and replaying a violating leaf
    /// to report it is not counted again.
    pub executions: u64,
    pub hypotheses: u64,
    pub eval_time: Duration,
    pub lineage_time: Duration,
    pub solve_time: Duration,
    pub total_time: Duration,
    pub firings: u64,
    /// Clauses of the exact model (ldfi strategy).
    pub clauses: u64,
    /// Timesteps simulated one by one (exhaustive strategy; its executions share prefixes).
    pub timesteps: u64,
    /// Branches the exhaustive strategy cut because they reached a state whose future was
    /// already explored and found good.
    pub memo_hits: u64,
    /// Deterministic work units spent by evaluation (see `Driver::work`).
    pub work: u64,
    /// The exact model (`ldfi`): ground atoms (tuples at timesteps), ground rule instances,
    /// variables and clauses.
    pub ground_atoms: u64,
    pub ground_instances: u64,
    pub vars: u64,
    /// Solver calls, and models whose replay did not violate (excluded by loop formulas).
    pub solver_calls: u64,
    pub spurious: u64,
    /// The exhaustive probe that runs before grounding decided the search.
    pub decided_by_probe: bool,
    /// Why the exact model could not be built, when the exhaustive referee decided instead.
    pub fallback: Option<String>,
    /// The exact search found a counterexample, but its solver budget ran out before it
    /// showed that none with fewer faults exists.
    pub minimality_unproven: bool,
}

/// The progress callback of a search.
pub type ProgressFn<'a> = &'a (dyn Fn(&Progress) + Sync);

/// What a search has done so far, for a progress display (passed after every execution
/// and, for `exhaustive`, after every simulated timestep).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub executions: u64,
    pub timesteps: u64,
    pub memo_hits: u64,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub verdict: Verdict,
    /// The failure-free run.
    pub baseline: Run,
    /// Violating runs, in the order found (the first is the reported counterexample).
    pub counterexamples: Vec<Run>,
    /// The first [`MAX_RUN_RECORDS`] executions (`stats.executions` counts them all).
    pub runs: Vec<RunRecord>,
    pub stats: Stats,
    /// Why the budget ran out, when it did.
    pub budget: Option<String>,
}

/// Gross fault-space size: sum over k <= crashes of C(n, k) * eot^k crash choices, times
/// 2^(n(n-1)(eff-1)) omission subsets.
pub fn fault_space(nodes: usize, eot: u32, eff: u32, crashes: u32) -> BigUint {
    let crash_choices = crash_choice_count(nodes, eot, crashes);
    let channels = (nodes * nodes.saturating_sub(1)) as u64 * eff.saturating_sub(1) as u64;
    crash_choices * (BigUint::from(1u32) << channels)
}

/// Crash choices: sum over k <= crashes of C(n, k) * eot^k.
fn crash_choice_count(nodes: usize, eot: u32, crashes: u32) -> BigUint {
    let mut count = BigUint::from(0u32);
    let mut binom = BigUint::from(1u32);
    for k in 0..=crashes.min(nodes as u32) as usize {
        if k > 0 {
            binom = binom * BigUint::from(nodes - k + 1) / BigUint::from(k);
        }
        count += &binom * BigUint::from(eot).pow(k as u32);
    }
    count
}

struct Driver<'p> {
    program: &'p Program,
    params: &'p SearchParams,
    started: Instant,
    stats: Stats,
    runs: Vec<RunRecord>,
    counterexamples: Vec<Run>,
    budget: Option<String>,
    progress: Option<ProgressFn<'p>>,
    stop: &'p Arc<AtomicBool>,
    /// Stop once the work passes this (the exact search's exhaustive probe); `capped`
    /// records that it did.
    work_cap: Option<u64>,
    capped: bool,
}

impl<'p> Driver<'p> {
    fn run(&mut self, scenario: &Scenario, lineage: bool) -> Result<Run, EvalError> {
        let timed = evaluate(self.program, self.params, scenario, lineage)?;
        Ok(self.record(timed))
    }

    /// Account for an evaluated run (in the order the search consumes runs).
    fn record(&mut self, (run, dt): (Run, Duration)) -> Run {
        self.stats.eval_time += dt;
        self.stats.executions += 1;
        self.stats.firings += run.firings;
        if self.runs.len() < MAX_RUN_RECORDS {
            self.runs.push(RunRecord {
                scenario: run.scenario.clone(),
                violated: run.is_violation(),
                micros: dt.as_micros() as u64,
            });
        }
        self.tick();
        run
    }

    /// Tell the progress display what the search has done so far.
    fn tick(&self) {
        if let Some(p) = self.progress {
            let s = &self.stats;
            p(&Progress {
                executions: s.executions,
                timesteps: s.timesteps,
                memo_hits: s.memo_hits,
            });
        }
    }

    /// Deterministic work done so far, in units of about one rule firing (~0.3 µs):
    /// evaluation and exhaustive bookkeeping (a timestep's frontiers, a memo lookup).
    fn work(&self) -> u64 {
        self.stats.firings
            + self.stats.timesteps * WORK_PER_TIMESTEP
            + self.stats.memo_hits / MEMO_HITS_PER_WORK
    }

    /// True when the budget (work cap, Ctrl-C, max runs or timeout) is spent.
    fn out_of_budget(&mut self) -> bool {
        if self.work_cap.is_some_and(|cap| self.work() > cap) {
            self.capped = true;
            self.budget = Some("work cap reached".into());
            return true;
        }
        if self.stop.load(Ordering::Relaxed) {
            self.budget = Some("interrupted (Ctrl-C)".into());
            return true;
        }
        if let Some(max) = self.params.max_runs {
            if self.stats.executions >= max {
                self.budget = Some(format!("--max-runs {max} reached"));
                return true;
            }
        }
        if let Some(limit) = self.params.timeout {
            if self.started.elapsed() >= limit {
                self.budget = Some(format!("--timeout {}s reached", limit.as_secs_f64()));
                return true;
            }
        }
        false
    }

    /// Record a violating run; true when the search should stop.
    fn found(&mut self, run: Run) -> bool {
        self.counterexamples.push(run);
        !self.params.all
    }
}

/// An evaluated run and how long it took, or the evaluation error.
type Timed = Result<(Run, Duration), EvalError>;

fn run_params(params: &SearchParams, lineage: bool) -> RunParams {
    RunParams { eot: params.eot, nodes: params.nodes.clone(), lineage, tuple_cap: params.tuple_cap }
}

/// Evaluate one scenario, timed.
fn evaluate(program: &Program, params: &SearchParams, scenario: &Scenario, lineage: bool) -> Timed {
    let t0 = Instant::now();
    let run = eval::run(program, &run_params(params, lineage), scenario)?;
    Ok((run, t0.elapsed()))
}

/// Run a search. `progress` is called after each execution (and each timestep of the
/// exhaustive search) with what was done so far.
pub fn search(
    program: &Program,
    params: &SearchParams,
    progress: Option<ProgressFn>,
) -> Result<Outcome, EvalError> {
    search_until(program, params, progress, &Arc::new(AtomicBool::new(false)))
}

/// True when the bounds allow one scenario only, the failure-free run: no crash, and no
/// omission (they happen at send times before EFF, and time starts at 1).
fn single_scenario(params: &SearchParams) -> bool {
    params.crashes == 0 && params.eff <= 1
}

/// Run a search that stops cleanly, with the partial result, once `stop` is set (Ctrl-C).
pub fn search_until(
    program: &Program,
    params: &SearchParams,
    progress: Option<ProgressFn>,
    stop: &Arc<AtomicBool>,
) -> Result<Outcome, EvalError> {
    let mut d = Driver {
        program,
        params,
        started: Instant::now(),
        stats: Stats {
            fault_space: fault_space(params.nodes.len(), params.eot, params.eff, params.crashes),
            ..Stats::default()
        },
        runs: Vec::new(),
        counterexamples: Vec::new(),
        budget: None,
        progress,
        stop,
        work_cap: None,
        capped: false,
    };
    let baseline = d.run(&Scenario::default(), false)?;
    let verdict = if baseline.is_violation() {
        Verdict::FaultFreeViolation
    } else if single_scenario(params) {
        // The failure-free run was the whole fault space.
        Verdict::Certified
    } else {
        let exhausted = match params.strategy {
            Strategy::Ldfi => exact::exact(&mut d)?,
            Strategy::Random => random(&mut d)?,
            Strategy::Exhaustive => exhaustive(&mut d)?,
        };
        if !d.counterexamples.is_empty() {
            Verdict::Counterexample
        } else if exhausted {
            Verdict::Certified
        } else {
            Verdict::BudgetExhausted
        }
    };
    d.stats.total_time = d.started.elapsed();
    d.stats.work = d.work();
    Ok(Outcome {
        verdict,
        baseline,
        counterexamples: d.counterexamples,
        runs: d.runs,
        stats: d.stats,
        budget: d.budget,
    })
}

// The work clock, in units of about one rule firing of the exhaustive search (~0.29 µs;
// fitted on 369 generated programs, BENCHMARKS.md "The work clock"): 3.2-3.6 µs per
// simulated timestep, 0.09-0.18 µs per memo hit.

/// Work units of a timestep the exhaustive search simulates, besides its firings (the
/// frontier of every branch is built and interned).
const WORK_PER_TIMESTEP: u64 = 11;
/// Memo hits per work unit (a branch cut by the memo: its key is built and looked up).
const MEMO_HITS_PER_WORK: u64 = 2;

/// Give an outcome's counterexamples, and the failure-free run they are explained against,
/// the lineage their explanations read (searches evaluate runs without lineage). Certified
/// and fault-free-violation reports read none, so they get none. Called by the front end
/// before it reports, so that the report's cost stays out of the search (and its
/// statistics).
pub fn explainable(
    program: &Program,
    params: &SearchParams,
    outcome: &mut Outcome,
) -> Result<(), EvalError> {
    if outcome.counterexamples.is_empty() {
        return Ok(());
    }
    if outcome.baseline.lineage.is_none() {
        outcome.baseline = evaluate(program, params, &Scenario::default(), true)?.0;
    }
    for cx in &mut outcome.counterexamples {
        if cx.lineage.is_none() {
            *cx = evaluate(program, params, &cx.scenario, true)?.0;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The exhaustive search before it went step-wise, kept as a reference: for each crash
    /// choice, a depth-first search over omission subsets of the channels a run actually
    /// used, in time order, re-running the whole execution from timestep 1 for every set.
    fn exhaustive_rerun(d: &mut Driver, baseline: &Run) -> Result<bool, EvalError> {
        let p = d.params;
        for crashes in crash_choices(&p.nodes, p.eot, p.crashes) {
            let s = Scenario { omissions: Default::default(), crashes };
            let run = if s.crashes.is_empty() {
                baseline.clone()
            } else {
                if d.out_of_budget() {
                    return Ok(false);
                }
                let r = d.run(&s, false)?;
                if r.is_violation() && d.found(r.clone()) {
                    return Ok(true);
                }
                r
            };
            let chans = channels(&run, p.eff);
            if !explore(d, &s, None, chans)? {
                return Ok(d.budget.is_none());
            }
        }
        Ok(true)
    }

    fn channels(run: &Run, eff: u32) -> Vec<(u32, Sym, Sym)> {
        let mut ch: Vec<(u32, Sym, Sym)> = run
            .messages
            .iter()
            .filter(|m| {
                m.from != m.to && m.send_time < eff && m.status == eval::MsgStatus::Delivered
            })
            .map(|m| (m.send_time, m.from, m.to))
            .collect();
        ch.sort_unstable();
        ch.dedup();
        ch
    }

    fn explore(
        d: &mut Driver,
        s: &Scenario,
        cursor: Option<(u32, Sym, Sym)>,
        chans: Vec<(u32, Sym, Sym)>,
    ) -> Result<bool, EvalError> {
        for ch in chans {
            if cursor.is_some_and(|c| ch <= c) {
                continue;
            }
            if d.out_of_budget() {
                return Ok(false);
            }
            let mut next = s.clone();
            next.omissions.insert((ch.1, ch.2, ch.0));
            let r = d.run(&next, false)?;
            let sub = channels(&r, d.params.eff);
            if r.is_violation() && d.found(r) {
                return Ok(false);
            }
            if !explore(d, &next, Some(ch), sub)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A fault set, comparable: (omissions, crashes), both sorted.
    type FaultKey = (Vec<(Sym, Sym, u32)>, Vec<(Sym, u32)>);

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    enum Mode {
        Rerun,
        Stepwise,
        Memoized,
    }

    /// Run one exhaustive variant with `--all`: (verdict, violating fault sets, stats).
    fn search_with(
        program: &Program,
        eot: u32,
        eff: u32,
        crashes: u32,
        mode: Mode,
    ) -> (bool, BTreeSet<FaultKey>, Stats) {
        let params = SearchParams {
            all: true,
            ..SearchParams::new(
                eot,
                eff,
                crashes,
                program.inferred_nodes.clone(),
                Strategy::Exhaustive,
            )
        };
        let stop = Arc::new(AtomicBool::new(false));
        let mut d = Driver {
            program,
            params: &params,
            started: Instant::now(),
            stats: Stats::default(),
            runs: Vec::new(),
            counterexamples: Vec::new(),
            budget: None,
            progress: None,
            stop: &stop,
            work_cap: None,
            capped: false,
        };
        let baseline = d.run(&Scenario::default(), false).expect("baseline");
        assert!(!baseline.is_violation());
        let done = match mode {
            Mode::Rerun => exhaustive_rerun(&mut d, &baseline),
            Mode::Stepwise => exhaustive_with(&mut d, false),
            Mode::Memoized => exhaustive_with(&mut d, true),
        }
        .expect("search");
        let found: BTreeSet<FaultKey> = d
            .counterexamples
            .iter()
            .map(|r| {
                assert!(r.is_violation(), "{mode:?}: a reported run does not violate");
                let mut crashes = r.scenario.crashes.clone();
                crashes.sort_unstable();
                (r.scenario.omissions.iter().copied().collect(), crashes)
            })
            .collect();
        assert_eq!(found.len(), d.counterexamples.len(), "{mode:?}: a fault set reported twice");
        (done, found, d.stats)
    }

    /// A negation of a fixed past timestep (`notin got(N)@3`).
    const PAST_NEGATION: &str = r#"
        link("a", "b")@1;
        link(N, M)@next :- link(N, M);
        src("a")@1;
        src(N)@next :- src(N);
        item("b", 1)@1;
        item(N, X)@next :- item(N, X);
        got(D)@async :- src(N), link(N, D), tick(N, T), T <= 3;
        tick("a", 1)@1;
        tick(N, T + 1)@next :- tick(N, T);
        late(N) :- item(N, _), notin got(N)@3;
        pre(N) :- item(N, _);
        post(N) :- item(N, _), notin late(N);
    "#;

    /// Positive reads of fixed past timesteps: b must have heard from a at 2 or at 3.
    const PAST_READ: &str = r#"
        link("a", "b")@1;
        link("b", "a")@1;
        link(N, M)@next :- link(N, M);
        ping(M, N)@async :- link(N, M);
        heard(N) :- ping(N, _)@2;
        heard(N) :- ping(N, _)@3;
        heard(N)@next :- heard(N);
        pre(N) :- link(N, _);
        post(N) :- heard(N);
        post(N) :- crash(_, N, _);
    "#;

    /// A bundled spec by its path, or a program's source (when it is not a `.ded` path).
    fn load(path: &str) -> Program {
        let loaded = if path.ends_with(".ded") {
            crate::syntax::load(&[std::path::Path::new(path)]).expect("spec loads")
        } else {
            crate::syntax::load_str("case.ded", path).expect("case loads")
        };
        crate::analysis::analyze(&loaded.program).program.expect("spec analyzes")
    }

    /// Step-wise exploration reaches exactly the fault sets the full re-runs tried (one leaf
    /// per distinct effective fault set), and memoization changes neither the verdict nor the
    /// violating fault sets, while it does cut branches.
    #[test]
    fn memoized_exhaustive_agrees_with_full_reruns() {
        let cases = [
            // Retries subsume early omissions: many branches reach the same state.
            ("specs/broadcast/retry.ded", 6, 4, 0, false),
            ("specs/broadcast/retry.ded", 4, 2, 1, true),
            ("specs/broadcast/classic.ded", 5, 3, 0, true),
            ("specs/broadcast/ack.ded", 6, 6, 0, true),
            ("specs/broadcast/redundant.ded", 5, 3, 1, false),
            ("specs/commit/2pc_timeout.ded", 6, 5, 0, false),
            ("specs/commit/2pc.ded", 5, 3, 1, true),
            // `@T` literals: frontiers carry past tuples.
            ("specs/lang/time.ded", 5, 4, 1, false),
            (PAST_NEGATION, 5, 4, 0, true),
            (PAST_READ, 5, 4, 1, true),
        ];
        let mut hits = 0;
        for (path, eot, eff, crashes, bug) in cases {
            let program = load(path);
            let what = format!("{path} -t {eot} -f {eff} -c {crashes}");
            let (done_r, found_r, stats_r) = search_with(&program, eot, eff, crashes, Mode::Rerun);
            let (done_s, found_s, stats_s) =
                search_with(&program, eot, eff, crashes, Mode::Stepwise);
            let (done_m, found_m, stats_m) =
                search_with(&program, eot, eff, crashes, Mode::Memoized);
            assert!(done_r && done_s && done_m, "{what}: a search did not finish");
            assert_eq!(found_r.is_empty(), !bug, "{what}: unexpected verdict");
            assert_eq!(found_s, found_r, "{what}: step-wise and re-run counterexamples differ");
            assert_eq!(found_m, found_r, "{what}: memoized and re-run counterexamples differ");
            // One leaf per effective fault set, as many as full re-runs (both count the
            // baseline once).
            assert_eq!(stats_s.executions, stats_r.executions, "{what}: leaves differ");
            assert_eq!(stats_s.memo_hits, 0);
            assert!(stats_m.executions <= stats_s.executions, "{what}");
            assert!(stats_m.timesteps <= stats_s.timesteps, "{what}");
            hits += stats_m.memo_hits;
            if path.ends_with("retry.ded") && !bug {
                assert!(stats_m.memo_hits > 0, "{what}: no memo hit");
                assert!(stats_m.executions * 2 < stats_s.executions, "{what}: {stats_m:?}");
            }
        }
        assert!(hits > 0);
    }

    #[test]
    fn subsets_come_empty_first_then_by_size() {
        let mut s = Subsets::new(3);
        let mut all = Vec::new();
        while let Some(x) = s.next() {
            all.push(x.to_vec());
        }
        let expect: Vec<Vec<usize>> = vec![
            vec![],
            vec![0],
            vec![1],
            vec![2],
            vec![0, 1],
            vec![0, 2],
            vec![1, 2],
            vec![0, 1, 2],
        ];
        assert_eq!(all, expect);
        let mut s = Subsets::new(0);
        assert_eq!(s.next(), Some(&[][..]));
        assert_eq!(s.next(), None);
    }
}
