//! Search: find a fault scenario that violates the invariant, or certify that none exists
//! within the bounds. Strategies: `ldfi` (lineage → SAT → next minimal hypothesis, learning
//! from every good run), and the baselines `random` and `exhaustive`.

pub mod encode;

use crate::analysis::ir::{Program, Sym};
use crate::eval::{self, EvalError, Run, RunParams, Scenario};
use encode::{Encoder, Hypothesis};
use num_bigint::BigUint;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Ldfi,
    Random,
    Exhaustive,
}

impl Strategy {
    pub fn parse(s: &str) -> Option<Strategy> {
        match s {
            "ldfi" => Some(Strategy::Ldfi),
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
    pub negative_support: bool,
    pub tuple_cap: usize,
    /// Worker threads for evaluating a round of hypotheses (the result does not depend on it).
    pub jobs: usize,
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
    pub executions: u64,
    pub hypotheses: u64,
    pub eval_time: Duration,
    pub lineage_time: Duration,
    pub solve_time: Duration,
    pub total_time: Duration,
    pub firings: u64,
    /// Clauses given to the SAT solver (ldfi strategy).
    pub clauses: u64,
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
    let mut crash_choices = BigUint::from(0u32);
    let mut binom = BigUint::from(1u32);
    for k in 0..=crashes.min(nodes as u32) as usize {
        if k > 0 {
            binom = binom * BigUint::from(nodes - k + 1) / BigUint::from(k);
        }
        crash_choices += &binom * BigUint::from(eot).pow(k as u32);
    }
    let channels = (nodes * nodes.saturating_sub(1)) as u64 * eff.saturating_sub(1) as u64;
    crash_choices * (BigUint::from(1u32) << channels)
}

struct Driver<'p> {
    program: &'p Program,
    params: &'p SearchParams,
    started: Instant,
    stats: Stats,
    runs: Vec<RunRecord>,
    counterexamples: Vec<Run>,
    budget: Option<String>,
    progress: Option<&'p dyn Fn(u64)>,
    stop: &'p AtomicBool,
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
        if let Some(p) = self.progress {
            p(self.stats.executions);
        }
        run
    }

    /// Evaluate scenarios with lineage, in parallel on `jobs` workers. With one worker they
    /// are evaluated lazily, so nothing runs after the search stops. The caller records them
    /// in order.
    fn run_batch(&mut self, scenarios: &[Scenario]) -> Result<Vec<Timed>, EvalError> {
        let (program, params) = (self.program, self.params);
        if params.jobs <= 1 || scenarios.len() <= 1 {
            return Ok(scenarios.iter().map(|s| evaluate(program, params, s, true)).collect());
        }
        let pool = rayon::ThreadPoolBuilder::new().num_threads(params.jobs).build();
        let work = || scenarios.par_iter().map(|s| evaluate(program, params, s, true)).collect();
        Ok(match pool {
            Ok(pool) => pool.install(work),
            Err(_) => work(),
        })
    }

    /// True when the budget (max runs or timeout) is spent.
    fn out_of_budget(&mut self) -> bool {
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

/// Evaluate one scenario, timed.
fn evaluate(program: &Program, params: &SearchParams, scenario: &Scenario, lineage: bool) -> Timed {
    let t0 = Instant::now();
    let run_params = RunParams {
        eot: params.eot,
        nodes: params.nodes.clone(),
        lineage,
        tuple_cap: params.tuple_cap,
    };
    let run = eval::run(program, &run_params, scenario)?;
    Ok((run, t0.elapsed()))
}

/// Run a search. `progress` is called after each execution with the count so far.
pub fn search(
    program: &Program,
    params: &SearchParams,
    progress: Option<&dyn Fn(u64)>,
) -> Result<Outcome, EvalError> {
    search_until(program, params, progress, &AtomicBool::new(false))
}

/// Run a search that stops cleanly, with the partial result, once `stop` is set (Ctrl-C).
pub fn search_until(
    program: &Program,
    params: &SearchParams,
    progress: Option<&dyn Fn(u64)>,
    stop: &AtomicBool,
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
    };
    let baseline = d.run(&Scenario::default(), params.strategy == Strategy::Ldfi)?;
    let verdict = if baseline.is_violation() {
        Verdict::FaultFreeViolation
    } else {
        let exhausted = match params.strategy {
            Strategy::Ldfi => ldfi(&mut d, &baseline)?,
            Strategy::Random => random(&mut d)?,
            Strategy::Exhaustive => exhaustive(&mut d, &baseline)?,
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
    Ok(Outcome {
        verdict,
        baseline,
        counterexamples: d.counterexamples,
        runs: d.runs,
        stats: d.stats,
        budget: d.budget,
    })
}

fn to_scenario(h: &Hypothesis) -> Scenario {
    let mut s =
        Scenario { omissions: h.omissions.iter().copied().collect(), crashes: h.crashes.clone() };
    s.crashes.sort_unstable();
    s
}

/// How many hypotheses one round of the LDFI loop generates before running them. The
/// rounds do not depend on `--jobs`, so the output is the same for any number of workers;
/// `--jobs` only runs a round's hypotheses in parallel.
pub const ROUND: usize = 4;

/// The LDFI loop. Returns true when the hypotheses are exhausted (or, with `--all`, when
/// the search ended without running out of budget).
fn ldfi(d: &mut Driver, baseline: &Run) -> Result<bool, EvalError> {
    let p = d.params;
    let mut enc = Encoder::new(d.program, p.eot, p.eff, p.crashes, &p.nodes, p.negative_support);
    let t0 = Instant::now();
    enc.learn(baseline, &Hypothesis::default());
    d.stats.lineage_time += t0.elapsed();
    let mut size = 1usize;
    let mut tried = std::collections::HashSet::new();
    loop {
        if d.out_of_budget() {
            return Ok(false);
        }
        let t0 = Instant::now();
        let mut batch = enc.next_batch(&mut size, ROUND);
        if std::env::var_os("LDFI_TRACE").is_some() {
            for (h, why) in batch.iter().zip(enc.traces.drain(..)) {
                eprintln!("hypothesis {h:?}:\n  {}", why.join("\n  "));
            }
        }
        d.stats.solve_time += t0.elapsed();
        d.stats.clauses = enc.clauses as u64;
        if batch.is_empty() {
            return Ok(true);
        }
        if let Some(max) = p.max_runs {
            batch.truncate(max.saturating_sub(d.stats.executions).max(1) as usize);
        }
        for h in &batch {
            if !tried.insert(h.clone()) {
                // The encoding guarantees progress; if it ever fails to, stop rather than loop.
                d.budget = Some("internal: a hypothesis repeated; the search stopped".into());
                return Ok(false);
            }
        }
        let scenarios: Vec<Scenario> = batch.iter().map(to_scenario).collect();
        let mut runs = d.run_batch(&scenarios)?.into_iter();
        for h in &batch {
            d.stats.hypotheses += 1;
            let Some(run) = runs.next() else { break };
            let run = d.record(run?);
            if run.is_violation() {
                enc.block(h);
                if d.found(run) {
                    return Ok(true);
                }
                continue;
            }
            let t0 = Instant::now();
            enc.learn(&run, h);
            d.stats.lineage_time += t0.elapsed();
        }
    }
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

/// Exhaustive search over every distinct effective fault set: for each crash choice, omit
/// subsets of the channels (sender, receiver, time) that actually carry a message, branching
/// in time order so that each effective set is run exactly once. Returns true when every set
/// was tried (or a counterexample stopped the search), false when the budget ran out.
fn exhaustive(d: &mut Driver, baseline: &Run) -> Result<bool, EvalError> {
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
        drop(run);
        if !explore(d, &s, None, chans)? {
            return Ok(d.budget.is_none());
        }
    }
    Ok(true)
}

/// Channels of a run that faults could cut: (time, from, to) of delivered messages between
/// distinct nodes sent before EFF, in order.
fn channels(run: &Run, eff: u32) -> Vec<(u32, Sym, Sym)> {
    let mut ch: Vec<(u32, Sym, Sym)> = run
        .messages
        .iter()
        .filter(|m| m.from != m.to && m.send_time < eff && m.status == eval::MsgStatus::Delivered)
        .map(|m| (m.send_time, m.from, m.to))
        .collect();
    ch.sort_unstable();
    ch.dedup();
    ch
}

/// Explore the omission subsets that extend `s` with the run's channels after `cursor`.
/// Only the channel list of each run is kept along the depth-first path, not the run.
/// Returns false when the search must stop (counterexample found without --all, or budget).
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
        if r.is_violation() {
            if d.found(r) {
                return Ok(false);
            }
        } else {
            // Free the run before going deeper: only its channels are needed.
            drop(r);
        }
        if !explore(d, &next, Some(ch), sub)? {
            return Ok(false);
        }
    }
    Ok(true)
}
