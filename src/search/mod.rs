//! Search: find a fault scenario that violates the invariant, or certify that none exists
//! within the bounds. Strategies: `ldfi` (lineage → SAT → next minimal hypothesis, learning
//! from every good run), the baselines `random` and `exhaustive`, and `auto` (the default),
//! which runs `ldfi` and `exhaustive` in deterministic alternation (see [`race`]).

pub mod encode;
mod placement;

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
    Ldfi,
    Random,
    Exhaustive,
}

impl Strategy {
    pub fn parse(s: &str) -> Option<Strategy> {
        match s {
            "auto" => Some(Strategy::Auto),
            "ldfi" => Some(Strategy::Ldfi),
            "random" => Some(Strategy::Random),
            "exhaustive" => Some(Strategy::Exhaustive),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Auto => "auto",
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
    pub negative_support: bool,
    pub tuple_cap: usize,
    /// Workers for `auto`: with two or more, its two strategies run at once (the result does
    /// not depend on it). Each strategy is itself sequential.
    pub jobs: usize,
    /// `auto`'s lead, in work units: a verdict ldfi reaches alone within it decides, and
    /// exhaustive does not start ([`DEFAULT_LEAD`]; the tests of the race's rule use less).
    pub lead: u64,
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
            let params = SearchParams { strategy: Strategy::Ldfi, ..params.clone() };
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
        None => d.run(&Scenario::default(), params.strategy == Strategy::Ldfi)?,
    };
    let verdict = if baseline.is_violation() {
        Verdict::FaultFreeViolation
    } else if single_scenario(params) {
        // The failure-free run was the whole fault space.
        Verdict::Certified
    } else {
        let exhausted = match params.strategy {
            Strategy::Ldfi | Strategy::Auto => ldfi(&mut d, &baseline)?,
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

/// On one core: how far ahead in work one strategy may get before the other takes its turn.
const SLICE: u64 = 10_000;
/// `auto`'s default lead ([`SearchParams::lead`]): a verdict ldfi reaches alone within this
/// much work (about 5 ms) decides, and exhaustive does not start; past it, exhaustive
/// starts at ldfi's next check (in its setup and learning too; on one core, the race starts
/// over, taking turns) and the race's rule holds. Below it, running exhaustive beside ldfi
/// costs more than it saves: ldfi runs 20-60 % slower with exhaustive on the other core
/// (seed 99: 0.18 ms alone, 0.29 ms beside it), and exhaustive, started late and cold, must
/// still reach ldfi's work before ldfi's verdict can stand; on one core, the race's turns
/// cost the same. Seeds 0-399, min of 2 to 4 interleaved runs, geometric mean of the ratio
/// to exhaustive, 2 jobs: 500: 0.215, 2,000: 0.202, 4,000: 0.197, 16,000: 0.191 (no lead at
/// all: 0.192); 1 job: 500: 0.256, 16,000: 0.195; the worst case 3.57 at 500 and 4.47 at
/// 16,000 with 2 jobs (exhaustive deciding a search of a fraction of a millisecond, which
/// now waits for ldfi's lead), 6.69 and 4.25 with 1 (BENCHMARKS.md, issue 12, session 18;
/// session 15 measured 300 to 1,000). About 5 ms is nothing next to the searches exhaustive
/// wins by far (the Molly synod: 0.3-3 s). The same on one core and two, so that the
/// decider does not depend on `--jobs`.
pub const DEFAULT_LEAD: u64 = 16_000;
/// How much each side's work counts on the shared clock (ldfi, exhaustive). Equal: the
/// units above are fitted to wall time on both sides, so the loser reaches the winner's
/// work at about the time the winner finishes.
const CLOCK_WEIGHT: [u64; 2] = [1, 1];

/// `auto`: ldfi first, alone, for its lead ([`SearchParams::lead`]) of work: a verdict
/// within it decides. Past it, ldfi and the memoized exhaustive search run on one logical
/// clock of deterministic work (firings, simulated timesteps, memo lookups, executions, encoding
/// operations, solver propagations and decisions: [`Driver::work`], weighed by
/// [`CLOCK_WEIGHT`]). **The strategy that reaches a verdict with less work decides** (ldfi
/// on a tie); the other stops as soon as its own work passes the winner's, or, when ldfi
/// certified, as soon as exhaustive's floor ([`Driver::certify_floor`], a lower bound on
/// the work of its own certification) does: exhaustive can then only certify too, with
/// at least that much work, so it need not get there. That rule depends only on work
/// counts, never on timing, so the outcome is the same on every machine and for any
/// `--jobs`. What `--jobs` changes is only how the two share the machine: with one job
/// they take turns on one core (the one behind computes; it hands over once it is
/// [`SLICE`] units ahead), with two or more they run at once on two cores, and the wall
/// time is about the faster strategy's alone (BENCHMARKS.md, "auto"). Both strategies
/// begin with the failure-free run, evaluated once, with lineage (ldfi reads it; exhaustive
/// only accounts for its firings, as it would for its own run): when it violates the
/// invariant, or when the bounds allow no fault at all, it is the verdict before either
/// strategy does anything else, and exhaustive (which needs nothing more than the run) is
/// named as the decider.
fn race(
    program: &Program,
    params: &SearchParams,
    progress: Option<ProgressFn>,
    stop: &AtomicBool,
) -> Result<Outcome, EvalError> {
    let started = Instant::now();
    let alternate = params.jobs <= 1;
    // Running at once, the exhaustive side takes one of the workers.
    let jobs = if alternate { 1 } else { params.jobs - 1 };
    let ld_params = SearchParams { strategy: Strategy::Ldfi, jobs, ..params.clone() };
    let ex_params = SearchParams { strategy: Strategy::Exhaustive, jobs: 1, ..params.clone() };
    // Both strategies begin with the failure-free run, evaluated once, here, with lineage:
    // recording it costs ~5 % over a plain run on the generated population, where a second,
    // plain run cost every race ldfi decided 10-25 % of its time (BENCHMARKS.md, "auto",
    // session 15). When it violates, or when it is the whole fault space, it is the verdict,
    // and neither strategy has anything left to do.
    let base = evaluate(program, params, &Scenario::default(), true)?;
    if base.0.is_violation() || single_scenario(params) {
        let (outcome, _) =
            search_paced(program, &ex_params, progress, stop, Pace::default(), Some(base))?;
        return Ok(decided_alone(outcome, started));
    }
    // ldfi reaches no verdict before it has set up its encoder and learned its failure-free
    // run, so its work at any verdict is at least that run's (lineage) firings and one
    // execution's fixed cost. Exhaustive, alone up to that floor, decides by the rule above
    // whenever it finishes below it, and ldfi need not start at all: the small searches,
    // where ldfi's fixed cost is the whole cost.
    let floor = ldfi_floor(base.0.firings) * CLOCK_WEIGHT[0];
    // Whether ldfi can reach a verdict within its lead (at its floor, at the least).
    let lead = floor <= params.lead;
    let sides = (&ld_params, &ex_params);
    let ran = if alternate {
        one_core(program, sides, progress, stop, base, (floor, lead))?
    } else {
        two_cores(program, sides, progress, stop, base, (floor, lead))?
    };
    let (ld, ex, baton) = match ran {
        Ran::Lead(mut ld) => {
            ld.stats.total_time = started.elapsed();
            ld.race = Some(Race {
                decided_by: Strategy::Ldfi,
                other: Strategy::Exhaustive,
                other_executions: 0,
                work: (ld.stats.work, 0),
                by_floor: false,
                by_lead: true,
            });
            return Ok(*ld);
        }
        Ran::Alone(alone) => {
            let (mut ex, ld) = *alone;
            restore_baseline(program, params, &mut ex, ld)?;
            return Ok(decided_alone(ex, started));
        }
        Ran::Both(both) => *both,
    };
    let (ld, ex) = (ld.map(|(o, _)| o), ex.map(|(o, _)| o));
    let turns = baton.state.lock().unwrap_or_else(|e| e.into_inner());
    // Without a verdict (both out of budget), ldfi's partial outcome is reported.
    let decider = turns.decider().unwrap_or(0);
    let (mut outcome, strategies) = if decider == 0 {
        (ld?, (Strategy::Ldfi, Strategy::Exhaustive))
    } else {
        let mut ex = ex?;
        restore_baseline(program, params, &mut ex, ld.ok())?;
        (ex, (Strategy::Exhaustive, Strategy::Ldfi))
    };
    let decider = if strategies.0 == Strategy::Ldfi { 0 } else { 1 };
    outcome.stats.total_time = started.elapsed();
    let reached = turns.verdict_at[decider].unwrap_or(turns.work[decider]);
    let (other_executions, other_work) = turns.history_at(1 - decider, reached);
    outcome.race = Some(Race {
        decided_by: strategies.0,
        other: strategies.1,
        other_executions,
        work: (reached / CLOCK_WEIGHT[decider], other_work / CLOCK_WEIGHT[1 - decider]),
        by_floor: decider == 0 && turns.ldfi_certified,
        by_lead: false,
    });
    Ok(outcome)
}

/// One side's search in an `auto` race (the flag: it stopped at its work cap).
type Side = Result<(Outcome, bool), EvalError>;

/// A stand-in for the shared failure-free run, for the exhaustive side of a race: it reads
/// nothing of the run but its verdict and its firings (its search simulates from the
/// start), and an outcome it decides gets the real run back ([`restore_baseline`]).
fn accounted(run: &Run) -> Run {
    Run {
        eot: run.eot,
        nodes: run.nodes.clone(),
        scenario: run.scenario.clone(),
        tuples: eval::Tuples::default(),
        lineage: None,
        messages: Vec::new(),
        violations: run.violations.clone(),
        firings: run.firings,
        warnings: run.warnings.clone(),
    }
}

/// Give an outcome exhaustive decided the shared failure-free run (with its lineage, what
/// explaining a counterexample needs), from ldfi's outcome; evaluated again only when ldfi
/// has none to give (it failed with an evaluation error in a later run).
fn restore_baseline(
    program: &Program,
    params: &SearchParams,
    ex: &mut Outcome,
    ld: Option<Outcome>,
) -> Result<(), EvalError> {
    if ex.baseline.lineage.is_some() {
        return Ok(());
    }
    ex.baseline = match ld {
        Some(ld) => ld.baseline,
        None => evaluate(program, params, &Scenario::default(), true)?.0,
    };
    Ok(())
}

/// How the two sides of an `auto` race ran.
enum Ran {
    /// ldfi reached its verdict within its lead; exhaustive did not start.
    Lead(Box<Outcome>),
    /// Exhaustive decided below ldfi's floor: ldfi could not win (it did not start, or was
    /// abandoned; its outcome, if any, holds the failure-free run).
    Alone(Box<(Outcome, Option<Outcome>)>),
    /// Both searched (ldfi, exhaustive), paced by the baton.
    Both(Box<(Side, Side, Baton)>),
}

/// ldfi reached a verdict within its lead (`lead` work units).
fn within_lead(ld: &Side, lead: u64) -> bool {
    matches!(ld, Ok((o, _)) if o.verdict != Verdict::BudgetExhausted && o.stats.work <= lead)
}

/// ldfi's least work at any verdict, given its failure-free run's firings: that run (with
/// lineage) and one execution's fixed cost.
fn ldfi_floor(baseline_firings: u64) -> u64 {
    lineage_firings_work(baseline_firings) + WORK_PER_EXECUTION
}

/// The work of `firings` rule firings in ldfi's lineage-recording runs.
fn lineage_firings_work(firings: u64) -> u64 {
    firings.saturating_mul(LINEAGE_FIRING_QUARTERS) / 4
}

/// Exhaustive reached a verdict with less work than ldfi's `floor`.
fn below(ex: &Outcome, floor: u64) -> bool {
    ex.verdict != Verdict::BudgetExhausted && ex.stats.work * CLOCK_WEIGHT[1] < floor
}

/// `auto` on one core: ldfi alone up to its lead (when its floor is within it), then
/// exhaustive alone up to ldfi's floor; when neither decided, the race runs in full,
/// taking turns from the start. Each prefix that did not decide is thrown away; none is
/// run twice, since ldfi's search is deterministic: without a verdict within its lead, it
/// has none within any smaller cap either.
fn one_core(
    program: &Program,
    (ld_params, ex_params): (&SearchParams, &SearchParams),
    progress: Option<ProgressFn>,
    stop: &AtomicBool,
    (base, base_time): (Run, Duration),
    (floor, lead): (u64, bool),
) -> Result<Ran, EvalError> {
    let (base, base_time) = if lead {
        // The cap stops the search loop, the bound the encoder's setup and learning too.
        let bound = AtomicU64::new(ld_params.lead);
        let pace = Pace { work_cap: Some(ld_params.lead), cancel: Some(&bound), ..Pace::default() };
        let ld = search_paced(program, ld_params, progress, stop, pace, Some((base, base_time)));
        if within_lead(&ld, ld_params.lead) {
            return Ok(Ran::Lead(Box::new(ld?.0)));
        }
        match ld {
            Ok((ld, _)) => (ld.baseline, base_time),
            // The race meets the same error again, and reports it by its rule.
            Err(_) => evaluate(program, ld_params, &Scenario::default(), true)?,
        }
    } else {
        (base, base_time)
    };
    let cap = floor.saturating_sub(1) / CLOCK_WEIGHT[1];
    let pace = Pace { work_cap: Some(cap), ..Pace::default() };
    let baseline = Some((base, base_time));
    let (ex, capped) = search_paced(program, ex_params, None, stop, pace, baseline)?;
    if !capped && below(&ex, floor) {
        return Ok(Ran::Alone(Box::new((ex, None))));
    }
    // ldfi has no verdict within its lead or its floor is past it (then so is any verdict
    // of its): neither a prefix of ldfi nor one of exhaustive decides, and the two take
    // turns from the start.
    let baton = Baton::new(true);
    let sides = (ld_params, ex_params);
    let (ld, ex) = race_threads(program, sides, progress, stop, &baton, (ex.baseline, base_time));
    Ok(Ran::Both(Box::new((ld, ex, baton))))
}

/// `auto` on two cores or more: ldfi runs on this thread and exhaustive beside it, on
/// another core (see `placement`; when ldfi finishes before the other core has begun
/// exhaustive, this thread runs exhaustive itself, which stops at its first check that
/// ldfi's verdict took less work). ldfi stops as soon as its work passes exhaustive's
/// verdict, even inside its setup (`cancel`).
fn two_cores(
    program: &Program,
    (ld_params, ex_params): (&SearchParams, &SearchParams),
    progress: Option<ProgressFn>,
    stop: &AtomicBool,
    (base, base_time): (Run, Duration),
    (floor, lead): (u64, bool),
) -> Result<Ran, EvalError> {
    let baton = Baton::new(false);
    let cancel = AtomicU64::new(u64::MAX);
    let stand_in = (accounted(&base), base_time);
    let exhaustive = || {
        let pacer = Pacer { baton: &baton, me: 1 };
        let pace = Pace { pacer: Some(&pacer), ..Pace::default() };
        let ex = search_paced(program, ex_params, None, stop, pace, Some(stand_in));
        if let Ok((o, _)) = &ex {
            if o.verdict != Verdict::BudgetExhausted {
                // ldfi has lost once its work passes exhaustive's (at once, below the floor).
                cancel.store(o.stats.work * CLOCK_WEIGHT[1] / CLOCK_WEIGHT[0], Ordering::Relaxed);
            }
        }
        ex
    };
    let ldfi = |start: &dyn Fn()| {
        // Exhaustive starts once ldfi's work passes its lead, or at once when ldfi cannot
        // reach a verdict within it.
        if !lead {
            start();
        }
        // ldfi's work at any verdict is at least its floor (its failure-free run and one
        // execution): once that passes exhaustive's verdict, ldfi has lost, and its search
        // returns at its first check.
        let pacer = Pacer { baton: &baton, me: 0 };
        let pace = Pace {
            pacer: Some(&pacer),
            cancel: Some(&cancel),
            lead: lead.then_some((ld_params.lead, start)),
            ..Pace::default()
        };
        let ld = search_paced(program, ld_params, progress, stop, pace, Some((base, base_time)));
        if !within_lead(&ld, ld_params.lead) {
            // Its verdict came past the lead before a check started exhaustive (or it has
            // none): exhaustive runs now, and stops as soon as the rule allows.
            start();
        }
        ld
    };
    // ldfi, which decides most races, on this thread: the helper, woken on the other core,
    // took ~2.3x as long as this thread for the same small ldfi search (0.13 vs 0.056 ms;
    // cold caches or the virtual CPU's wake-up: not isolated). Seeds 0-399, min of 2
    // interleaved runs: geometric-mean ratio to exhaustive 0.322 this way round, 0.342 the
    // other (which is better only below 0.5 ms, where exhaustive decides); measured again
    // after the clock's refit (session 10): 0.265 this way, 0.290 the other (min of 4).
    let (ld, ex) = placement::join_later(ldfi, exhaustive);
    Ok(match ex {
        None => Ran::Lead(Box::new(ld?.0)),
        // Below ldfi's floor, whatever ldfi did was bound to lose (as on one core, where it
        // does not start); ldfi gives up before its verdict only then.
        Some(Ok((ex, _))) if below(&ex, floor) => {
            Ran::Alone(Box::new((ex, ld.ok().map(|(o, _)| o))))
        }
        Some(ex) => Ran::Both(Box::new((ld, ex, baton))),
    })
}

/// An outcome exhaustive reached before ldfi did anything: by the failure-free run, or
/// below ldfi's floor.
fn decided_alone(mut ex: Outcome, started: Instant) -> Outcome {
    ex.stats.total_time = started.elapsed();
    ex.race = Some(Race {
        decided_by: Strategy::Exhaustive,
        other: Strategy::Ldfi,
        other_executions: 0,
        work: (ex.stats.work, 0),
        by_floor: false,
        by_lead: false,
    });
    ex
}

/// The full race of [`race`] on two threads: ldfi on this one, exhaustive (given its
/// failure-free run) on another, paced by `baton`.
#[allow(clippy::type_complexity)]
fn race_threads(
    program: &Program,
    (ld_params, ex_params): (&SearchParams, &SearchParams),
    progress: Option<ProgressFn>,
    stop: &AtomicBool,
    baton: &Baton,
    base: (Run, Duration),
) -> (Result<(Outcome, bool), EvalError>, Result<(Outcome, bool), EvalError>) {
    let stand_in = (accounted(&base.0), base.1);
    std::thread::scope(|s| {
        let ex = s.spawn(move || {
            let pacer = Pacer { baton, me: 1 };
            let pace = Pace { pacer: Some(&pacer), ..Pace::default() };
            search_paced(program, ex_params, None, stop, pace, Some(stand_in))
        });
        let pacer = Pacer { baton, me: 0 };
        let pace = Pace { pacer: Some(&pacer), ..Pace::default() };
        let ld = search_paced(program, ld_params, progress, stop, pace, Some(base));
        let ex = ex.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (ld, ex)
    })
}

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

/// The shared state of an `auto` search.
struct Baton {
    state: std::sync::Mutex<Turns>,
    turn_changed: std::sync::Condvar,
}

impl Baton {
    fn new(alternate: bool) -> Baton {
        Baton {
            state: std::sync::Mutex::new(Turns { alternate, ..Turns::default() }),
            turn_changed: std::sync::Condvar::new(),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Turns {
    /// One core: the sides take turns (else both run at once).
    alternate: bool,
    /// Whose turn it is when alternating (0 = ldfi, 1 = exhaustive).
    holder: usize,
    /// Weighted work each has done so far.
    work: [u64; 2],
    /// Exhaustive's weighted [`Driver::certify_floor`]: it cannot certify with less work.
    floor: u64,
    /// Which have ended.
    ended: [bool; 2],
    /// The weighted work at which each side reached its verdict (`None`: no verdict yet, or
    /// it ended without one).
    verdict_at: [Option<u64>; 2],
    /// Whether ldfi's verdict is a certification.
    ldfi_certified: bool,
    /// Each side's budget checks, oldest first (one per number of executions), for what the
    /// loser had done when the winner's verdict beat it. Entries no verdict can need any
    /// more are dropped.
    history: [Vec<Check>; 2],
}

/// One side's state at a budget check (work and floor weighted).
#[derive(Debug, Clone, Copy)]
struct Check {
    work: u64,
    executions: u64,
    floor: u64,
}

impl Turns {
    /// The other side reached a verdict with less work than `me` has now done (or as much,
    /// when `me` is the exhaustive side, which loses ties): `me` can no longer win. When
    /// ldfi certified, exhaustive can only certify too (every run is good), so it has lost
    /// as soon as its floor, a lower bound on the work of its certification, reaches
    /// ldfi's: with no need to work that far.
    fn beaten(&self, me: usize) -> bool {
        self.verdict_at[1 - me].is_some_and(|w| {
            if me == 0 {
                self.work[me] > w
            } else {
                self.work[me] >= w || (self.ldfi_certified && self.floor >= w)
            }
        })
    }

    /// The side that reached a verdict with less weighted work (ldfi on a tie).
    fn decider(&self) -> Option<usize> {
        match self.verdict_at {
            [Some(a), Some(b)] => Some(if a <= b { 0 } else { 1 }),
            [Some(_), None] => Some(0),
            [None, Some(_)] => Some(1),
            [None, None] => None,
        }
    }

    /// Record a budget check of `me`: its executions so far at its current work.
    fn note(&mut self, me: usize, executions: u64) {
        let floor = if me == 1 { self.floor } else { self.work[me] };
        let check = Check { work: self.work[me], executions, floor };
        let rival = self.work[1 - me];
        let h = &mut self.history[me];
        if h.last().is_none_or(|c| c.executions != executions) {
            h.push(check);
        }
        // The other side's verdict, if any, comes at or above its current work: only the
        // last entry at or below it can still be asked for (by work, or by floor), and
        // those after it.
        if h.len() > 64 {
            let by_work = h.partition_point(|c| c.work <= rival).saturating_sub(1);
            let by_floor = h.partition_point(|c| c.floor < rival).saturating_sub(1);
            h.drain(..by_work.min(by_floor));
        }
    }

    /// (executions, weighted work) of `side` when a verdict at work `w` beat it: at its
    /// last budget check at or below `w` or, for exhaustive against a certification, its
    /// last one whose floor was still below `w`.
    fn history_at(&self, side: usize, w: u64) -> (u64, u64) {
        let h = &self.history[side];
        let i = if side == 1 && self.ldfi_certified {
            h.partition_point(|c| c.floor < w)
        } else {
            h.partition_point(|c| c.work <= w)
        };
        match i {
            0 => (0, 0),
            i => (h[i - 1].executions, h[i - 1].work),
        }
    }
}

/// One strategy's side of the [`Baton`].
struct Pacer<'b> {
    baton: &'b Baton,
    me: usize,
}

impl Pacer<'_> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Turns> {
        self.baton.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait for the first turn; the returned guard ends this side when dropped.
    fn begin(&self) -> EndTurn<'_> {
        let st = self.lock();
        drop(self.wait_turn(st));
        EndTurn { pacer: self, decisive: false, certified: false, work: 0 }
    }

    /// When alternating, block until it is this side's turn or the other has ended.
    fn wait_turn<'g>(
        &'g self,
        mut st: std::sync::MutexGuard<'g, Turns>,
    ) -> std::sync::MutexGuard<'g, Turns> {
        let other = 1 - self.me;
        while st.alternate && st.holder != self.me && !st.ended[other] {
            st = self.baton.turn_changed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st
    }

    /// Report the (unweighted) work and executions so far; when alternating, hand the turn
    /// over when [`SLICE`] ahead of the other. False when the other side has won (this one
    /// must stop).
    fn tick(&self, work: u64, executions: u64, floor: u64) -> bool {
        let me = self.me;
        let mut st = self.lock();
        st.work[me] = work * CLOCK_WEIGHT[me];
        if me == 1 {
            st.floor = floor * CLOCK_WEIGHT[me];
        }
        st.note(me, executions);
        let other = 1 - me;
        if st.alternate && !st.ended[other] && st.work[me] > st.work[other] + SLICE {
            st.holder = other;
            self.baton.turn_changed.notify_all();
            st = self.wait_turn(st);
        }
        !st.beaten(me)
    }
}

/// Ends one side of an `auto` search when dropped (on every return path, errors included):
/// records whether it reached a verdict, and at what work, and gives the other side the
/// turn for good.
struct EndTurn<'b> {
    pacer: &'b Pacer<'b>,
    decisive: bool,
    certified: bool,
    work: u64,
}

impl Drop for EndTurn<'_> {
    fn drop(&mut self) {
        let me = self.pacer.me;
        let mut st = self.pacer.lock();
        st.ended[me] = true;
        st.work[me] = st.work[me].max(self.work * CLOCK_WEIGHT[me]);
        if self.decisive {
            st.verdict_at[me] = Some(st.work[me]);
            st.ldfi_certified |= me == 0 && self.certified;
        }
        st.holder = 1 - me;
        self.pacer.baton.turn_changed.notify_all();
    }
}

fn to_scenario(h: &Hypothesis) -> Scenario {
    let mut s =
        Scenario { omissions: h.omissions.iter().copied().collect(), crashes: h.crashes.clone() };
    s.crashes.sort_unstable();
    s
}

/// How many hypotheses one round of the LDFI loop holds: each is minimal given what was
/// known when the round began, and the round's runs are learned from together at its end,
/// which keeps the encoder's incremental growth in few, larger steps (measured against the
/// parallel batch it replaced: see BENCHMARKS.md, issue 12, session 11).
pub const ROUND: usize = 4;

/// The LDFI loop. Returns true when the hypotheses are exhausted (or, with `--all`, when
/// the search ended without running out of budget).
fn ldfi(d: &mut Driver, baseline: &Run) -> Result<bool, EvalError> {
    let p = d.params;
    // During its setup, ldfi's work is its floor (its baseline and one execution) plus the
    // setup's own work, which the encoder adds as it goes.
    let setup_base = ldfi_floor(d.work());
    let (lead, cancel) = (d.lead, d.cancel);
    let go_on = move |work: u64| {
        if let Some((lead, start)) = lead {
            if work > lead {
                // Past the lead: the rival starts (later calls do nothing).
                start();
            }
        }
        cancel.is_none_or(|c| work <= c.load(Ordering::Relaxed))
    };
    let watch: Option<(encode::Watch, u64)> =
        (lead.is_some() || cancel.is_some()).then_some((&go_on, setup_base));
    let mut enc =
        Encoder::new(d.program, p.eot, p.eff, p.crashes, &p.nodes, p.negative_support, watch);
    if let Ok(spec) = std::env::var("LDFI_AUDIT") {
        match audit_scenario(d.program, &p.nodes, &spec) {
            Ok(s) => enc.audit(&s)?,
            Err(e) => eprintln!("LDFI_AUDIT ignored: {e}"),
        }
    }
    ldfi_work(d, &mut enc);
    let t0 = Instant::now();
    if !enc.cancelled() {
        enc.learn(baseline, &Hypothesis::default());
        enc.block_equivalents(baseline);
    }
    d.stats.lineage_time += t0.elapsed();
    if enc.cancelled() {
        // Lost during the setup or while learning (the encoding may be incomplete): stop
        // before using it.
        d.budget = Some("the other strategy decided first".into());
        return Ok(false);
    }
    let mut size = 1usize;
    let mut tried = std::collections::HashSet::new();
    let trace = std::env::var_os("LDFI_TRACE").is_some();
    loop {
        ldfi_work(d, &mut enc);
        if d.out_of_budget() {
            return Ok(false);
        }
        // A round's hypotheses are solved and run one at a time, and learned from together
        // at its end: a counterexample stops the search before anything else is solved or
        // run.
        let mut round = enc.begin_round(ROUND);
        let mut ran: Vec<(Hypothesis, Option<Run>)> = Vec::with_capacity(ROUND);
        loop {
            let full = p.max_runs.is_some_and(|max| d.stats.executions >= max);
            if !ran.is_empty() && (full || d.out_of_budget()) {
                break;
            }
            let t0 = Instant::now();
            let next = enc.next_in_round(&mut round, &mut size);
            d.stats.solve_time += t0.elapsed();
            d.stats.clauses = enc.clauses as u64;
            ldfi_work(d, &mut enc);
            let Some(h) = next else { break };
            if trace {
                for why in enc.traces.drain(..) {
                    eprintln!("hypothesis {h:?}:\n  {}", why.join("\n  "));
                }
            }
            if !tried.insert(h.clone()) {
                // The encoding guarantees progress; if it ever fails to, stop rather than loop.
                d.budget = Some("internal: a hypothesis repeated; the search stopped".into());
                return Ok(false);
            }
            d.stats.hypotheses += 1;
            let run = d.record(evaluate(d.program, p, &to_scenario(&h), true)?);
            if !run.is_violation() {
                // Whatever else the run teaches (at the round's end), the fault sets that
                // give this very run are decided now.
                enc.block_equivalents(&run);
                ran.push((h, Some(run)));
            } else if d.found(run) {
                return Ok(true);
            } else {
                // With `--all`, the search goes on; the round's end blocks it.
                ran.push((h, None));
            }
        }
        enc.end_round(round);
        if ran.is_empty() {
            return Ok(true);
        }
        for (h, run) in &ran {
            let Some(run) = run else {
                enc.block(h);
                continue;
            };
            ldfi_work(d, &mut enc);
            let t0 = Instant::now();
            enc.learn(run, h);
            d.stats.lineage_time += t0.elapsed();
            if enc.cancelled() {
                // Lost while learning (the encoding is incomplete): never solve it.
                d.budget = Some("the other strategy decided first".into());
                return Ok(false);
            }
        }
    }
}

/// Bring ldfi's work beyond evaluation up to date: the extra weight of its lineage
/// firings, the encoder's setup (the firings of its over-approximation), each execution's
/// fixed cost, encoding and solving.
fn ldfi_work(d: &mut Driver, enc: &mut Encoder) {
    d.stats.encoding_ops = enc.encoding_ops();
    d.stats.solver_work = enc.solver_work();
    // `work` counts each firing once; a lineage firing weighs more.
    d.extra_work = lineage_firings_work(d.stats.firings) - d.stats.firings
        + enc.setup_work()
        + d.stats.executions * WORK_PER_EXECUTION
        + d.stats.encoding_ops / OPS_PER_WORK
        + d.stats.solver_work / SOLVER_PER_WORK;
    // What the encoder adds to while it learns is its own operations (for `cancelled`).
    enc.set_base_work(d.work() - d.stats.encoding_ops / OPS_PER_WORK);
}

/// `LDFI_AUDIT=a->b@2,c@4` (debugging): the scenario whose real run every clause of the
/// encoding is checked against.
fn audit_scenario(program: &Program, nodes: &[Sym], spec: &str) -> Result<Scenario, String> {
    let mut faults = crate::faults::FaultSet::default();
    for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (what, time) =
            item.rsplit_once('@').ok_or(format!("`{item}`: expected X->Y@T or N@T"))?;
        let time: u32 = time.parse().map_err(|_| format!("`{item}`: bad time"))?;
        let fault = match what.split_once("->") {
            Some((from, to)) => {
                crate::faults::Fault::Omit { from: from.into(), to: to.into(), time }
            }
            None => crate::faults::Fault::Crash { node: what.into(), time },
        };
        faults.0.insert(fault);
    }
    Scenario::from_faults(program, nodes, &faults)
}

/// Random fault injection: a uniform number of crashes at random times, and each possible
/// omission with probability 1/4. Never certifies.
fn random(d: &mut Driver) -> Result<bool, EvalError> {
    let p = d.params;
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let n = p.nodes.len();
    loop {
        if d.params.max_runs.is_none() && d.stats.executions >= 10_000 {
            d.budget = Some("random search stopped after 10000 runs (set --max-runs)".into());
            return Ok(false);
        }
        if d.out_of_budget() {
            return Ok(false);
        }
        let mut s = Scenario::default();
        let k = rng.gen_range(0..=p.crashes.min(n as u32)) as usize;
        let mut pool = p.nodes.clone();
        for _ in 0..k {
            let i = rng.gen_range(0..pool.len());
            let node = pool.swap_remove(i);
            s.crashes.push((node, rng.gen_range(1..=p.eot)));
        }
        s.crashes.sort_unstable();
        for t in 1..p.eff {
            for &a in &p.nodes {
                for &b in &p.nodes {
                    if a != b && rng.gen_bool(0.25) {
                        s.omissions.insert((a, b, t));
                    }
                }
            }
        }
        let mut run = d.run(&s, false)?;
        if run.is_violation() {
            // Report only the omissions that hit a message: the others changed nothing, and
            // replaying the smaller set gives the same run.
            run.scenario = effective(&run);
            if d.found(run) {
                return Ok(true);
            }
        }
    }
}

/// The scenario of a run without the omissions of channels that carried no message.
fn effective(run: &Run) -> Scenario {
    let mut s = run.scenario.clone();
    s.omissions.retain(|&(a, b, t)| {
        run.messages.iter().any(|m| {
            (m.from, m.to, m.send_time) == (a, b, t) && m.status == eval::MsgStatus::Omitted
        })
    });
    s
}

/// Every crash choice: up to `crashes` distinct nodes, each with a time in 1..=EOT.
fn crash_choices(nodes: &[Sym], eot: u32, crashes: u32) -> Vec<Vec<(Sym, u32)>> {
    let mut out = vec![Vec::new()];
    fn rec(
        nodes: &[Sym],
        eot: u32,
        left: u32,
        start: usize,
        cur: &mut Vec<(Sym, u32)>,
        out: &mut Vec<Vec<(Sym, u32)>>,
    ) {
        if left == 0 {
            return;
        }
        for i in start..nodes.len() {
            for t in 1..=eot {
                cur.push((nodes[i], t));
                out.push(cur.clone());
                rec(nodes, eot, left - 1, i + 1, cur, out);
                cur.pop();
            }
        }
    }
    rec(nodes, eot, crashes, 0, &mut Vec::new(), &mut out);
    out
}

/// Exhaustive search over every distinct effective fault set, step by step: for each crash
/// choice, simulate timestep by timestep from the state entering timestep 1; after each
/// timestep t < EFF, branch over every subset of the channels that carry a delivered message
/// sent at t (the empty subset first, then by size), so that omitting an unsent message is
/// never tried and each effective fault set is reached exactly once. Branches that reach the
/// same state entering a timestep share everything after it: that state (a [`Frontier`]) is
/// memoized once its whole subtree is known to be good, and later branches reaching it are
/// cut. Returns true when every set was covered (or a counterexample stopped the search),
/// false when the budget ran out.
fn exhaustive(d: &mut Driver) -> Result<bool, EvalError> {
    exhaustive_with(d, true)
}

/// Bytes of memo keys kept (an estimate, with the set's overhead): when the memo reaches it,
/// it is emptied and fills again with the states of the current part of the search, where
/// most hits are. Forgetting is sound: a forgotten state is only explored again.
const MEMO_MAX_BYTES: usize = 64 << 20;

/// The states entering a timestep whose subtrees are known to hold only good runs, for one
/// crash choice. Keys are frontiers with their tuples interned as u32 ids.
#[derive(Default)]
struct Memo {
    /// Per relation: tuple values -> id.
    ids: Vec<FxHashMap<Box<[Value]>, u32>>,
    next_id: u32,
    good: FxHashSet<Box<[u32]>>,
    bytes: usize,
}

impl Memo {
    fn intern(&mut self, rel: RelId, vals: &[Value]) -> u32 {
        let rel = rel as usize;
        if self.ids.len() <= rel {
            self.ids.resize_with(rel + 1, FxHashMap::default);
        }
        if let Some(&id) = self.ids[rel].get(vals) {
            return id;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.ids[rel].insert(vals.into(), id);
        id
    }

    /// Intern what the frontiers after a timestep are made of: for each input (in
    /// [`Stepped::inputs`] order) the index of its channel in `channels` and its id, and the
    /// past tuples as (timestep, id).
    fn successors(&mut self, stepped: &Stepped, channels: &[(Sym, Sym)]) -> Successors {
        let inputs = stepped
            .inputs()
            .map(|(ch, rel, vals)| {
                let ch = ch.and_then(|c| channels.binary_search(&c).ok());
                (ch, self.intern(rel, vals))
            })
            .collect();
        let past = stepped.past().iter().flat_map(|(t, rel, vals)| [*t, self.intern(*rel, vals)]);
        Successors { time: stepped.time + 1, inputs, past: past.collect() }
    }

    fn insert(&mut self, key: Box<[u32]>) {
        if self.bytes >= MEMO_MAX_BYTES {
            self.clear();
        }
        self.bytes += key.len() * 4 + 48;
        self.good.insert(key);
    }

    /// Forget the good states (a new crash choice changes every state's future).
    fn clear(&mut self) {
        self.good = FxHashSet::default();
        self.bytes = 0;
    }
}

/// The interned ingredients of the frontiers that follow one timestep.
struct Successors {
    time: u32,
    /// (index of the channel that can cut it, tuple id), sorted by tuple: equal ids adjacent.
    inputs: Vec<(Option<usize>, u32)>,
    /// (timestep, tuple id) of the past tuples, flattened.
    past: Vec<u32>,
}

impl Successors {
    /// The canonical key of the frontier where the channels marked in `omitted` are cut:
    /// its time, the number of its inputs, their ids (deduplicated, in tuple order), then its
    /// past tuples. Interning is injective, so equal keys mean equal frontiers.
    fn key(&self, omitted: &[bool]) -> Box<[u32]> {
        let mut k = Vec::with_capacity(2 + self.inputs.len() + self.past.len());
        k.push(self.time);
        k.push(0);
        for &(ch, id) in &self.inputs {
            if ch.is_some_and(|c| omitted[c]) || (k.len() > 2 && k[k.len() - 1] == id) {
                continue;
            }
            k.push(id);
        }
        k[1] = (k.len() - 2) as u32;
        k.extend_from_slice(&self.past);
        k.into()
    }
}

/// How a subtree of the exhaustive search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Every leaf is a good run.
    Good,
    /// Some leaf violated the invariant (and the search goes on: `--all`).
    Bad,
    /// The search must stop: a counterexample without `--all`, or the budget ran out.
    Stop,
}

/// The fixed context of one crash choice in the exhaustive search, and the path.
struct Walk<'s, 'p> {
    stepper: &'s Stepper<'p>,
    crashes: &'s [(Sym, u32)],
    /// Omissions chosen on the current path.
    omissions: Vec<(Sym, Sym, u32)>,
    /// `None` when memoization is off (tests compare both).
    memo: Option<&'s mut Memo>,
    last_leaf: Instant,
}

/// The exhaustive search, with or without memoization.
fn exhaustive_with(d: &mut Driver, memoize: bool) -> Result<bool, EvalError> {
    let p = d.params;
    let run_params =
        RunParams { eot: p.eot, nodes: p.nodes.clone(), lineage: false, tuple_cap: p.tuple_cap };
    let mut memo = Memo::default();
    let choices = crash_choices(&p.nodes, p.eot, p.crashes);
    let choices_len = choices.len();
    for (i, crashes) in choices.into_iter().enumerate() {
        let not_started = (choices_len - i - 1) as u64;
        d.left = Some(Left { not_started, choice_began: d.stats.timesteps });
        let s = Scenario { omissions: Default::default(), crashes };
        let stepper = Stepper::new(d.program, &run_params, &s);
        memo.clear();
        let mut walk = Walk {
            stepper: &stepper,
            crashes: &s.crashes,
            omissions: Vec::new(),
            memo: memoize.then_some(&mut memo),
            last_leaf: Instant::now(),
        };
        if visit(d, &mut walk, &stepper.start())? == Flow::Stop {
            return Ok(d.budget.is_none());
        }
    }
    Ok(true)
}

/// Compute the timestep `at` enters and explore every omission choice from there on.
fn visit(d: &mut Driver, w: &mut Walk, at: &Frontier) -> Result<Flow, EvalError> {
    if d.out_of_budget() {
        return Ok(Flow::Stop);
    }
    let t0 = Instant::now();
    let stepped = w.stepper.step(at)?;
    d.stats.eval_time += t0.elapsed();
    d.stats.timesteps += 1;
    d.stats.firings += stepped.firings;
    d.tick();
    let t = stepped.time;
    if t >= d.params.eot {
        return leaf(d, w, stepped.violated);
    }
    let channels = if t < d.params.eff { stepped.channels() } else { Vec::new() };
    let mut flow = Flow::Good;
    let successors = w.memo.as_deref_mut().map(|memo| memo.successors(&stepped, &channels));
    let mut omitted = vec![false; channels.len()];
    let mut subsets = Subsets::new(channels.len());
    while let Some(picked) = subsets.next() {
        // Checked per branch too: a node can have a huge number of memo-cut branches.
        if d.out_of_budget() {
            return Ok(Flow::Stop);
        }
        omitted.iter_mut().for_each(|o| *o = false);
        picked.iter().for_each(|&i| omitted[i] = true);
        let key = match (w.memo.as_deref(), &successors) {
            (Some(memo), Some(succ)) => {
                let key = succ.key(&omitted);
                if memo.good.contains(&key) {
                    d.stats.memo_hits += 1;
                    continue;
                }
                Some(key)
            }
            _ => None,
        };
        let omit: Vec<(Sym, Sym)> = picked.iter().map(|&i| channels[i]).collect();
        let next = stepped.frontier(&omit);
        let depth = w.omissions.len();
        w.omissions.extend(omit.iter().map(|&(a, b)| (a, b, t)));
        let sub = visit(d, w, &next)?;
        w.omissions.truncate(depth);
        match sub {
            Flow::Stop => return Ok(Flow::Stop),
            Flow::Bad => flow = Flow::Bad,
            Flow::Good => {
                if let (Some(memo), Some(key)) = (w.memo.as_deref_mut(), key) {
                    memo.insert(key);
                }
            }
        }
    }
    Ok(flow)
}

/// A complete execution reached EOT: account for it, and replay it when it violates.
fn leaf(d: &mut Driver, w: &mut Walk, violated: bool) -> Result<Flow, EvalError> {
    if w.omissions.is_empty() && w.crashes.is_empty() {
        // The failure-free run: the search already ran it as its baseline (and it is good).
        return Ok(Flow::Good);
    }
    let scenario =
        Scenario { omissions: w.omissions.iter().copied().collect(), crashes: w.crashes.to_vec() };
    d.stats.executions += 1;
    if d.runs.len() < MAX_RUN_RECORDS {
        d.runs.push(RunRecord {
            scenario: scenario.clone(),
            violated,
            micros: w.last_leaf.elapsed().as_micros() as u64,
        });
    }
    w.last_leaf = Instant::now();
    d.tick();
    if !violated {
        return Ok(Flow::Good);
    }
    // Report a real run: replay the scenario from timestep 1.
    let (run, dt) = evaluate(d.program, d.params, &scenario, false)?;
    d.stats.eval_time += dt;
    if !run.is_violation() {
        d.budget = Some(format!(
            "internal: the step-wise and replayed runs of {} disagree; the search stopped",
            scenario.to_faults(d.program)
        ));
        return Ok(Flow::Stop);
    }
    Ok(if d.found(run) { Flow::Stop } else { Flow::Bad })
}

/// The subsets of `0..n` as sorted index lists: the empty set first, then by size, each
/// size in lexicographic order.
struct Subsets {
    n: usize,
    cur: Vec<usize>,
    started: bool,
}

impl Subsets {
    fn new(n: usize) -> Subsets {
        Subsets { n, cur: Vec::new(), started: false }
    }

    fn next(&mut self) -> Option<&[usize]> {
        if !self.started {
            self.started = true;
            return Some(&self.cur);
        }
        let (n, k) = (self.n, self.cur.len());
        // Advance the rightmost index that can move, and reset the ones after it.
        if let Some(i) = (0..k).rev().find(|&i| self.cur[i] < n - k + i) {
            self.cur[i] += 1;
            for j in i + 1..k {
                self.cur[j] = self.cur[j - 1] + 1;
            }
            return Some(&self.cur);
        }
        if k == n {
            return None;
        }
        self.cur = (0..k + 1).collect();
        Some(&self.cur)
    }
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
            for strategy in [Strategy::Ldfi, Strategy::Exhaustive] {
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
            let (ld, ex) = (alone(Strategy::Ldfi), alone(Strategy::Exhaustive));
            // In the race both sides share ldfi's failure-free run (with lineage), whose
            // firings exhaustive accounts for in place of its own plain run's.
            let ex_work = ex.stats.work - ex.baseline.firings + ld.baseline.firings;
            let (wl, wx) = (ld.stats.work * CLOCK_WEIGHT[0], ex_work * CLOCK_WEIGHT[1]);
            let cheaper = if wl <= wx { Strategy::Ldfi } else { Strategy::Exhaustive };
            for jobs in [1, 2] {
                let o = search(&p, &SearchParams { jobs, ..params.clone() }, None).expect("auto");
                let race = o.race.expect("race");
                let what = format!("{path} jobs {jobs}: ldfi {wl}, exhaustive {wx}");
                assert_eq!(race.decided_by, cheaper, "{what}");
                let winner = if cheaper == Strategy::Ldfi { &ld } else { &ex };
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
                let alone = SearchParams { strategy: Strategy::Ldfi, ..params.clone() };
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
            let alone = SearchParams { strategy: Strategy::Ldfi, ..params.clone() };
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
                    assert_eq!(race.decided_by, Strategy::Ldfi, "{what}");
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
                assert_eq!(race.decided_by, Strategy::Ldfi, "{path}");
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
