//! Search: find a fault scenario that violates the invariant, or certify that none exists
//! within the bounds. Strategies: `ldfi` (lineage → SAT → next minimal hypothesis, learning
//! from every good run), the baselines `random` and `exhaustive`, and `auto` (the default),
//! which runs `ldfi` and `exhaustive` in deterministic alternation (see `race.rs`).
//!
//! This file holds the public types, the entry points and the [`Driver`] every strategy
//! runs on (its executions, budget, work clock and pacing hooks). Each strategy has its own
//! file: `ldfi.rs` (the LDFI loop; the encoding is [`encode`]), `exhaustive.rs` (the
//! memoized referee), `random.rs`, and `race.rs` (`auto`: the lead, the floor, the one-core
//! and two-core schedules and the baton). `placement.rs` pins `auto`'s helper thread.

pub mod encode;
mod exact;
mod exhaustive;
mod ldfi;
mod placement;
mod race;
mod random;

pub use exact::{DEFAULT_GROUND_CAP, PROBE_WORK};
use exhaustive::*;
pub use ldfi::ROUND;
use ldfi::*;
pub use race::DEFAULT_LEAD;
use race::*;
use random::*;

use crate::analysis::ir::{Program, RelId, Sym, Value};
use crate::eval::{self, EvalError, Frontier, Run, RunParams, Scenario, Stepped, Stepper};
use encode::{Encoder, Hypothesis, OPS_PER_WORK};
use num_bigint::BigUint;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// `ldfi` and `exhaustive` in strict alternation by deterministic work; the first to
    /// reach a verdict decides.
    Auto,
    /// The exact model of every bounded run (`exact.rs`), the default.
    Ldfi,
    /// The lineage-learning loop (`ldfi.rs`), `auto`'s partner.
    Learn,
    Random,
    Exhaustive,
}

impl Strategy {
    pub fn parse(s: &str) -> Option<Strategy> {
        match s {
            "auto" => Some(Strategy::Auto),
            "ldfi" => Some(Strategy::Ldfi),
            "learn" => Some(Strategy::Learn),
            "random" => Some(Strategy::Random),
            "exhaustive" => Some(Strategy::Exhaustive),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Auto => "auto",
            Strategy::Ldfi => "ldfi",
            Strategy::Learn => "learn",
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
    pub negative_support: bool,
    pub tuple_cap: usize,
    /// Workers for `auto`: with two or more, its two strategies run at once (the result does
    /// not depend on it). Each strategy is itself sequential.
    pub jobs: usize,
    /// `auto`'s lead, in work units: a verdict ldfi reaches alone within it decides, and
    /// exhaustive does not start ([`DEFAULT_LEAD`]; the tests of the race's rule use less).
    pub lead: u64,
    /// Most rule firings the grounding of the exact model may take
    /// ([`exact::DEFAULT_GROUND_CAP`]): its memory budget.
    pub ground_cap: u64,
    /// Work units of exhaustive search the `ldfi` strategy tries before grounding
    /// ([`PROBE_WORK`]; 0: none).
    pub probe_work: u64,
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
    /// Clauses given to the SAT solver (ldfi strategy).
    pub clauses: u64,
    /// Timesteps simulated one by one (exhaustive strategy; its executions share prefixes).
    pub timesteps: u64,
    /// Branches the exhaustive strategy cut because they reached a state whose future was
    /// already explored and found good.
    pub memo_hits: u64,
    /// Deterministic work units spent (see `Driver::work`; `auto` alternates on them).
    pub work: u64,
    /// ldfi: encoding operations ([`Encoder::encoding_ops`]) and solver work
    /// ([`Encoder::solver_work`]), the two parts of its work beyond evaluation.
    pub encoding_ops: u64,
    pub solver_work: u64,
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
}

/// The progress callback of a search (called from the thread that runs ldfi, which under
/// `auto` may not be the caller's).
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
    /// With `auto`: which strategy decided, and what the other one had done by then.
    pub race: Option<Race>,
}

/// How an `auto` search ended: the strategy whose outcome this is, and the other one.
#[derive(Debug, Clone)]
pub struct Race {
    pub decided_by: Strategy,
    pub other: Strategy,
    /// Executions the other strategy ran before the verdict.
    pub other_executions: u64,
    /// Work units (see [`Driver::work`]) each had spent: (decider, other).
    pub work: (u64, u64),
    /// ldfi certified, and exhaustive lost to its floor: the work it had done plus one run
    /// to EOT for each crash choice it had left was already more than ldfi's (`other_*`
    /// are what it had done just before; zero when its first check was already beaten).
    pub by_floor: bool,
    /// ldfi reached its verdict within its lead ([`SearchParams::lead`] work units), before
    /// exhaustive started.
    pub by_lead: bool,
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
    stop: &'p AtomicBool,
    /// With `auto`: the turn-taking with the other strategy.
    pacer: Option<&'p Pacer<'p>>,
    /// Work beyond evaluation (ldfi: encoding and solving), in [`Driver::work`] units.
    extra_work: u64,
    /// Stop once the work passes this (see [`race`]); `capped` records that it did.
    work_cap: Option<u64>,
    capped: bool,
    /// `auto`: the work of the other strategy's verdict (`u64::MAX` while it has none);
    /// once this search's work passes it, the search has lost.
    cancel: Option<&'p AtomicU64>,
    /// `auto`, ldfi on two cores: once its work passes the lead, start exhaustive (called
    /// once, then cleared).
    lead: Option<(u64, &'p dyn Fn())>,
    /// Exhaustive: what is left of the fault space, for [`Driver::certify_floor`].
    left: Option<Left>,
    /// (work, executions) at the last report to the pacer.
    last_tick: (u64, u64),
}

/// Work between two reports to the other side of an `auto` search within one execution
/// (a report takes a lock; exhaustive checks its budget at every branch). Every new
/// execution is reported at once, so what the other side learns per execution is as with
/// a report at every check.
const TICK_WORK: u64 = 64;

/// The exhaustive search's crash choices still ahead of it: each explores, at the least,
/// its first path (no omission) from timestep 1 to EOT, for the memo is emptied between
/// crash choices.
#[derive(Debug, Clone, Copy)]
struct Left {
    /// Crash choices not started yet.
    not_started: u64,
    /// `stats.timesteps` when the current crash choice started.
    choice_began: u64,
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

    /// Deterministic work done so far, in units of about one rule firing: evaluation,
    /// exhaustive bookkeeping (a timestep's frontiers, a memo lookup), and `extra_work`.
    fn work(&self) -> u64 {
        self.stats.firings
            + self.stats.timesteps * WORK_PER_TIMESTEP
            + self.stats.memo_hits / MEMO_HITS_PER_WORK
            + self.extra_work
    }

    /// Exhaustive: a lower bound on its work at a certification: the work so far plus the
    /// timesteps every crash choice not yet explored will simulate at the least (EOT each;
    /// the current one's first path counts what it has simulated). It never decreases.
    /// Without a bound (other strategies), the work so far.
    fn certify_floor(&self) -> u64 {
        let now = self.work();
        let Some(l) = self.left else { return now };
        let eot = u64::from(self.params.eot);
        let current = eot.saturating_sub(self.stats.timesteps - l.choice_began);
        let timesteps = l.not_started.saturating_mul(eot).saturating_add(current);
        now.saturating_add(timesteps.saturating_mul(WORK_PER_TIMESTEP))
    }

    /// True when the budget (max runs or timeout) is spent, or, with `auto`, when the other
    /// strategy decided (this call is also where the turn passes to it).
    fn out_of_budget(&mut self) -> bool {
        if let Some((lead, start)) = self.lead {
            if self.work() > lead {
                start();
                self.lead = None;
            }
        }
        if self.cancel.is_some_and(|c| self.work() > c.load(Ordering::Relaxed)) {
            self.budget = Some("the other strategy decided first".into());
            return true;
        }
        if self.work_cap.is_some_and(|cap| self.work() > cap) {
            self.capped = true;
            self.budget = Some("work cap reached".into());
            return true;
        }
        if let Some(p) = self.pacer {
            let (work, executions) = (self.work(), self.stats.executions);
            if executions != self.last_tick.1 || work >= self.last_tick.0 + TICK_WORK {
                self.last_tick = (work, executions);
                if !p.tick(work, executions, self.certify_floor()) {
                    self.budget = Some("the other strategy decided first".into());
                    return true;
                }
            }
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
    search_until(program, params, progress, &AtomicBool::new(false))
}

/// Run a search that stops cleanly, with the partial result, once `stop` is set (Ctrl-C).
pub fn search_until(
    program: &Program,
    params: &SearchParams,
    progress: Option<ProgressFn>,
    stop: &AtomicBool,
) -> Result<Outcome, EvalError> {
    match params.strategy {
        // `--all` lists every minimal counterexample: that is ldfi's job alone.
        Strategy::Auto if params.all => {
            let params = SearchParams { strategy: Strategy::Learn, ..params.clone() };
            search_paced(program, &params, progress, stop, Pace::default(), None).map(|(o, _)| o)
        }
        Strategy::Auto => race(program, params, progress, stop),
        _ => search_paced(program, params, progress, stop, Pace::default(), None).map(|(o, _)| o),
    }
}

/// True when the bounds allow one scenario only, the failure-free run: no crash, and no
/// omission (they happen at send times before EFF, and time starts at 1).
fn single_scenario(params: &SearchParams) -> bool {
    params.crashes == 0 && params.eff <= 1
}

/// How one side of an `auto` search is paced (all `None` for a plain search).
#[derive(Default, Clone, Copy)]
struct Pace<'a> {
    /// Take turns with the other side through it.
    pacer: Option<&'a Pacer<'a>>,
    /// Stop once the work passes it.
    work_cap: Option<u64>,
    /// Abandon the search as soon as its work passes this (the rival's verdict's work).
    cancel: Option<&'a AtomicU64>,
    /// Once the work passes it, call the function (start the other side).
    lead: Option<(u64, &'a dyn Fn())>,
}

/// One strategy's search (not `auto`), paced by `pace` (the flag returned says it stopped
/// at its work cap). `baseline`, when given, is the failure-free run already evaluated
/// (with lineage for ldfi, which needs it; other strategies need none).
fn search_paced(
    program: &Program,
    params: &SearchParams,
    progress: Option<ProgressFn>,
    stop: &AtomicBool,
    pace: Pace,
    baseline: Option<(Run, Duration)>,
) -> Result<(Outcome, bool), EvalError> {
    let Pace { pacer, work_cap, cancel, lead } = pace;
    // Whatever way this returns, the other strategy gets the turn for good.
    let mut turn = pacer.map(|p| p.begin());
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
        pacer,
        extra_work: 0,
        work_cap,
        capped: false,
        cancel,
        lead,
        // Set by the exhaustive search as it starts each crash choice.
        left: None,
        last_tick: (0, u64::MAX),
    };
    let baseline = match baseline {
        Some(timed) => d.record(timed),
        None => d.run(&Scenario::default(), params.strategy == Strategy::Learn)?,
    };
    let verdict = if baseline.is_violation() {
        Verdict::FaultFreeViolation
    } else if single_scenario(params) {
        // The failure-free run was the whole fault space.
        Verdict::Certified
    } else {
        let exhausted = match params.strategy {
            Strategy::Ldfi => exact::exact(&mut d)?,
            Strategy::Learn | Strategy::Auto => ldfi(&mut d, &baseline)?,
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
    if let Some(t) = &mut turn {
        t.decisive = verdict != Verdict::BudgetExhausted;
        t.certified = verdict == Verdict::Certified;
        t.work = d.stats.work;
    }
    let capped = d.capped;
    let outcome = Outcome {
        verdict,
        baseline,
        counterexamples: d.counterexamples,
        runs: d.runs,
        stats: d.stats,
        budget: d.budget,
        race: None,
    };
    Ok((outcome, capped))
}

// The work clock, in units of about one rule firing of the exhaustive search (~0.29 µs).
// Fitted on the 369 generated programs of seeds 0-399 (each search alone on this thread,
// fastest of 5 and of 2 rounds; BENCHMARKS.md, "The work clock, refitted"): exhaustive
// 0.28-0.31 µs per firing, 3.2-3.6 µs per timestep, 0.09-0.18 µs per memo hit; ldfi
// 0.61-0.72 µs per firing (its runs record lineage), 0.12-0.18 µs per firing of its
// over-approximation, 0.08 µs per encoding operation, 0.27-0.33 µs per solver work unit,
// 43-54 µs per execution (a lineage run's setup, one solver call, the bookkeeping), and a
// fixed cost per search no larger than exhaustive's (both 15-34 µs, not counted).

/// Work units of a timestep the exhaustive search simulates, besides its firings (the
/// frontier of every branch is built and interned).
const WORK_PER_TIMESTEP: u64 = 11;
/// Memo hits per work unit (a branch cut by the memo: its key is built and looked up).
const MEMO_HITS_PER_WORK: u64 = 2;
/// ldfi: quarter work units of a rule firing in its runs, which record lineage (a firing
/// of exhaustive's plain runs is 4 quarters).
const LINEAGE_FIRING_QUARTERS: u64 = 9;
/// ldfi: work units of each execution besides its firings.
const WORK_PER_EXECUTION: u64 = 160;
/// ldfi: solver work ([`Encoder::solver_work`]) per work unit.
const SOLVER_PER_WORK: u64 = 1;

/// Give an outcome's counterexamples, and the failure-free run they are explained against,
/// the lineage their explanations read (the search evaluates runs without lineage where it
/// needs none: exhaustive always, ldfi never). Certified and fault-free-violation reports
/// read none, so they get none. Called by the front end before it reports, so that the
/// report's cost stays out of the search (and its statistics).
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
            eot,
            eff,
            crashes,
            nodes: program.inferred_nodes.clone(),
            strategy: Strategy::Exhaustive,
            max_runs: None,
            timeout: None,
            seed: 0,
            all: true,
            negative_support: true,
            tuple_cap: eval::DEFAULT_TUPLE_CAP,
            jobs: 1,
            lead: DEFAULT_LEAD,
            ground_cap: DEFAULT_GROUND_CAP,
            probe_work: PROBE_WORK,
        };
        let stop = AtomicBool::new(false);
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
            pacer: None,
            extra_work: 0,
            work_cap: None,
            capped: false,
            cancel: None,
            lead: None,
            left: None,
            last_tick: (0, u64::MAX),
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

    fn auto_params(
        program: &Program,
        eot: u32,
        eff: u32,
        crashes: u32,
        jobs: usize,
    ) -> SearchParams {
        SearchParams {
            eot,
            eff,
            crashes,
            nodes: program.inferred_nodes.clone(),
            strategy: Strategy::Auto,
            max_runs: None,
            timeout: None,
            seed: 0,
            all: false,
            negative_support: true,
            tuple_cap: eval::DEFAULT_TUPLE_CAP,
            jobs,
            lead: RULE_TEST_LEAD,
            ground_cap: DEFAULT_GROUND_CAP,
            probe_work: PROBE_WORK,
        }
    }

    /// The lead of the tests of the race's rule (`auto_params`): short, so that the small
    /// specs they search also race past it (the default's 5 ms would decide most of them).
    const RULE_TEST_LEAD: u64 = 500;

    /// What an outcome says, timings aside.
    fn summary(p: &Program, o: &Outcome) -> String {
        let race = o.race.as_ref().expect("auto reports which strategy decided");
        format!(
            "{} by {} after {} executions (other: {}); {:?}",
            o.verdict.name(),
            race.decided_by.name(),
            o.stats.executions,
            race.other_executions,
            o.counterexamples
                .iter()
                .map(|r| r.scenario.to_faults(p).to_string())
                .collect::<Vec<_>>()
        )
    }

    /// `auto` gives the same outcome on every run and for any number of jobs, and the
    /// verdict of the strategy that decided it.
    #[test]
    fn auto_is_deterministic_and_agrees_with_both_strategies() {
        for (path, eot, eff, crashes) in [
            ("specs/broadcast/retry.ded", 4, 2, 1),
            ("specs/broadcast/retry.ded", 25, 23, 0),
            ("specs/commit/3pc.ded", 9, 7, 1),
            ("specs/broadcast/ack.ded", 6, 4, 0),
        ] {
            let p = load(path);
            let params = auto_params(&p, eot, eff, crashes, 1);
            let mut first = search(&p, &params, None).expect("auto");
            for jobs in [1, 3] {
                let again =
                    search(&p, &auto_params(&p, eot, eff, crashes, jobs), None).expect("auto");
                assert_eq!(summary(&p, &first), summary(&p, &again), "{path} with {jobs} jobs");
            }
            for strategy in [Strategy::Learn, Strategy::Exhaustive] {
                let params = SearchParams { strategy, ..auto_params(&p, eot, eff, crashes, 1) };
                let o = search(&p, &params, None).expect("search");
                assert_eq!(
                    o.verdict,
                    first.verdict,
                    "{path}: {} disagrees with auto",
                    strategy.name()
                );
            }
            // Reports explain a counterexample from its lineage, whoever found it.
            explainable(&p, &params, &mut first).expect("replays");
            assert!(first.counterexamples.iter().all(|r| r.lineage.is_some()), "{path}");
            if !first.counterexamples.is_empty() {
                assert!(first.baseline.lineage.is_some(), "{path}");
            }
        }
    }

    /// The strategy that needs less (weighted) work alone decides the race, one core or
    /// two: work, not wall time, so the outcome is deterministic.
    #[test]
    fn auto_lets_the_cheaper_strategy_decide() {
        let mut seen = BTreeSet::new();
        for (path, eot, eff, crashes, nodes) in [
            ("specs/consensus/paxos.ded", 8, 3, 1, None),
            ("specs/broadcast/redundant.ded", 8, 6, 1, None),
            ("specs/consensus/paxos_molly.ded", 7, 6, 1, Some(["a", "b", "c"])),
            ("specs/commit/3pc.ded", 9, 7, 1, None),
        ] {
            let mut p = load(path);
            let mut params = auto_params(&p, eot, eff, crashes, 1);
            if let Some(names) = nodes {
                params.nodes = names.iter().map(|n| p.symbols.intern(n)).collect();
            }
            let alone = |strategy| {
                search(&p, &SearchParams { strategy, ..params.clone() }, None).expect("search")
            };
            let (ld, ex) = (alone(Strategy::Learn), alone(Strategy::Exhaustive));
            // In the race both sides share ldfi's failure-free run (with lineage), whose
            // firings exhaustive accounts for in place of its own plain run's.
            let ex_work = ex.stats.work - ex.baseline.firings + ld.baseline.firings;
            let (wl, wx) = (ld.stats.work * CLOCK_WEIGHT[0], ex_work * CLOCK_WEIGHT[1]);
            let cheaper = if wl <= wx { Strategy::Learn } else { Strategy::Exhaustive };
            for jobs in [1, 2] {
                let o = search(&p, &SearchParams { jobs, ..params.clone() }, None).expect("auto");
                let race = o.race.expect("race");
                let what = format!("{path} jobs {jobs}: ldfi {wl}, exhaustive {wx}");
                assert_eq!(race.decided_by, cheaper, "{what}");
                let winner = if cheaper == Strategy::Learn { &ld } else { &ex };
                assert_eq!(o.stats.executions, winner.stats.executions, "{what}");
                assert_eq!(o.verdict, winner.verdict, "{what}");
            }
            seen.insert(cheaper.name());
        }
        assert_eq!(seen.len(), 2, "expected clear wins for both strategies, saw {seen:?}");
    }

    /// Where exhaustive decides before ldfi starts (below ldfi's floor), ldfi alone really
    /// needs more work: the floor is a lower bound, so the shortcut keeps the race's rule.
    /// And a failure-free violation or a fault space of one scenario is decided by that run.
    #[test]
    fn auto_shortcuts_keep_the_rule() {
        let mut floor_cases = 0;
        for (path, eot, eff, crashes) in [
            ("specs/broadcast/retry.ded", 4, 2, 1),
            ("specs/broadcast/oneshot.ded", 4, 0, 1),
            ("specs/broadcast/classic.ded", 5, 3, 0),
            ("specs/commit/2pc.ded", 5, 3, 0),
            ("specs/fd/heartbeat.ded", 5, 3, 0),
            ("specs/commit/2pc.ded", 5, 0, 0),
        ] {
            let p = load(path);
            for jobs in [1, 2] {
                let params = auto_params(&p, eot, eff, crashes, jobs);
                let o = search(&p, &params, None).expect("auto");
                let race = o.race.expect("race");
                if race.work.1 != 0 || race.by_floor || race.by_lead {
                    continue;
                }
                assert_eq!(race.decided_by, Strategy::Exhaustive, "{path}");
                let alone = SearchParams { strategy: Strategy::Learn, ..params.clone() };
                let ld = search(&p, &alone, None).expect("ldfi");
                assert_eq!(ld.verdict, o.verdict, "{path}");
                if single_scenario(&params) {
                    assert_eq!(o.stats.executions, 1, "{path}: one scenario, one run");
                } else {
                    assert!(
                        ld.stats.work > race.work.0,
                        "{path}: ldfi {} vs {}",
                        ld.stats.work,
                        race.work.0
                    );
                    floor_cases += 1;
                }
            }
        }
        assert!(floor_cases > 0, "some search is decided below ldfi's floor");
    }

    /// A verdict ldfi reaches within its lead decides, before exhaustive starts, one core or
    /// two: it is ldfi's own (the same verdict, executions and work as ldfi alone), at most
    /// its lead's work. Past the lead, the race's rule holds and the lead is not claimed.
    #[test]
    fn a_verdict_within_the_lead_decides() {
        let mut seen = [0; 2];
        for (path, eot, eff, crashes) in [
            ("specs/broadcast/retry.ded", 4, 2, 1),
            ("specs/broadcast/oneshot.ded", 4, 0, 1),
            ("specs/broadcast/redundant.ded", 5, 3, 1),
            ("specs/commit/2pc.ded", 5, 3, 1),
            ("specs/consensus/paxos.ded", 5, 2, 1),
            ("specs/replication/chain.ded", 5, 2, 1),
            // Programs small enough for ldfi to finish within the lead.
            (PAST_NEGATION, 5, 4, 0),
            (PAST_NEGATION, 3, 2, 0),
            (PAST_READ, 5, 4, 1),
            (PAST_READ, 3, 2, 1),
        ] {
            let p = load(path);
            let params = auto_params(&p, eot, eff, crashes, 1);
            let alone = SearchParams { strategy: Strategy::Learn, ..params.clone() };
            let ld = search(&p, &alone, None).expect("ldfi");
            let within = ld.verdict != Verdict::BudgetExhausted && ld.stats.work <= params.lead;
            for jobs in [1, 2] {
                let o = search(&p, &SearchParams { jobs, ..params.clone() }, None).expect("auto");
                let race = o.race.expect("race");
                let what = format!("{path} jobs {jobs}: ldfi alone {}", ld.stats.work);
                if o.verdict == Verdict::FaultFreeViolation {
                    assert!(!race.by_lead, "{what}");
                    continue;
                }
                assert_eq!(race.by_lead, within, "{what}");
                if within {
                    assert_eq!(race.decided_by, Strategy::Learn, "{what}");
                    assert_eq!((o.verdict, o.stats.executions), (ld.verdict, ld.stats.executions));
                    assert_eq!((o.stats.work, race.work), (ld.stats.work, (ld.stats.work, 0)));
                }
                seen[usize::from(within)] += 1;
            }
        }
        assert!(seen[0] > 0 && seen[1] > 0, "searches both within and past the lead: {seen:?}");
    }

    /// Exhaustive's floor is a lower bound on the work of its certification: at every
    /// budget check of a search that certifies, the floor is at most the final work, and
    /// at the first check it is the baseline's firings plus EOT timesteps per crash choice.
    #[test]
    fn exhaustive_floor_bounds_its_certification() {
        let mut certified = 0;
        for (path, eot, eff, crashes) in [
            ("specs/broadcast/retry.ded", 4, 2, 1),
            ("specs/broadcast/redundant.ded", 5, 3, 1),
            ("specs/commit/2pc_ctp.ded", 5, 0, 1),
            ("specs/consensus/paxos.ded", 5, 2, 1),
            ("specs/replication/chain.ded", 5, 2, 1),
        ] {
            let p = load(path);
            let params = SearchParams {
                strategy: Strategy::Exhaustive,
                ..auto_params(&p, eot, eff, crashes, 1)
            };
            let baton = Baton::new(false);
            let pacer = Pacer { baton: &baton, me: 1 };
            let pace = Pace { pacer: Some(&pacer), ..Pace::default() };
            let stop = AtomicBool::new(false);
            let (o, _) = search_paced(&p, &params, None, &stop, pace, None).expect("search");
            if o.verdict != Verdict::Certified {
                continue;
            }
            certified += 1;
            let turns = baton.state.lock().expect("lock");
            let checks = &turns.history[1];
            let choices = u64::try_from(crash_choice_count(p.inferred_nodes.len(), eot, crashes))
                .expect("small");
            let first = o.baseline.firings + choices * u64::from(eot) * WORK_PER_TIMESTEP;
            assert_eq!(checks.first().map(|c| c.floor), Some(first), "{path}");
            for c in checks {
                assert!(c.floor <= o.stats.work, "{path}: floor {} > {}", c.floor, o.stats.work);
                assert!(c.floor >= c.work, "{path}");
            }
            assert!(checks.windows(2).all(|w| w[0].floor <= w[1].floor), "{path}: monotone");
        }
        assert!(certified >= 3, "most of these certify");
    }

    /// When ldfi certifies and exhaustive lost to its floor, the rule still holds:
    /// exhaustive alone needs at least as much work, and reaches the same verdict.
    #[test]
    fn beaten_by_the_floor_keeps_the_rule() {
        let mut cases = 0;
        for (path, eot, eff, crashes) in [
            ("specs/broadcast/redundant.ded", 5, 3, 1),
            ("specs/consensus/paxos.ded", 5, 2, 1),
            ("specs/replication/chain.ded", 5, 2, 1),
            ("specs/commit/2pc_ctp.ded", 5, 0, 1),
        ] {
            let p = load(path);
            for jobs in [1, 2] {
                let params = auto_params(&p, eot, eff, crashes, jobs);
                let o = search(&p, &params, None).expect("auto");
                let race = o.race.expect("race");
                if !race.by_floor {
                    continue;
                }
                cases += 1;
                assert_eq!(race.decided_by, Strategy::Learn, "{path}");
                let ex = SearchParams { strategy: Strategy::Exhaustive, ..params.clone() };
                let ex = search(&p, &ex, None).expect("exhaustive");
                assert_eq!(ex.verdict, Verdict::Certified, "{path}");
                assert!(
                    ex.stats.work >= race.work.0,
                    "{path}: {} < {}",
                    ex.stats.work,
                    race.work.0
                );
            }
        }
        assert!(cases > 0, "some certification is decided by exhaustive's floor");
    }
}
