//! `auto`: ldfi and the memoized exhaustive search raced on one clock of deterministic
//! work ([`race`]): ldfi's lead, exhaustive's floor, the one-core and two-core schedules,
//! and the baton the two sides pass.

use super::*;

/// On one core: how far ahead in work one strategy may get before the other takes its turn.
pub(super) const SLICE: u64 = 10_000;
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
pub(super) const CLOCK_WEIGHT: [u64; 2] = [1, 1];

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
pub(super) fn race(
    program: &Program,
    params: &SearchParams,
    progress: Option<ProgressFn>,
    stop: &AtomicBool,
) -> Result<Outcome, EvalError> {
    let started = Instant::now();
    let alternate = params.jobs <= 1;
    // Running at once, the exhaustive side takes one of the workers.
    let jobs = if alternate { 1 } else { params.jobs - 1 };
    let ld_params = SearchParams { strategy: Strategy::Learn, jobs, ..params.clone() };
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
                decided_by: Strategy::Learn,
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
        (ld?, (Strategy::Learn, Strategy::Exhaustive))
    } else {
        let mut ex = ex?;
        restore_baseline(program, params, &mut ex, ld.ok())?;
        (ex, (Strategy::Exhaustive, Strategy::Learn))
    };
    let decider = if strategies.0 == Strategy::Learn { 0 } else { 1 };
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
pub(super) type Side = Result<(Outcome, bool), EvalError>;

/// A stand-in for the shared failure-free run, for the exhaustive side of a race: it reads
/// nothing of the run but its verdict and its firings (its search simulates from the
/// start), and an outcome it decides gets the real run back ([`restore_baseline`]).
pub(super) fn accounted(run: &Run) -> Run {
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
pub(super) fn restore_baseline(
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
pub(super) enum Ran {
    /// ldfi reached its verdict within its lead; exhaustive did not start.
    Lead(Box<Outcome>),
    /// Exhaustive decided below ldfi's floor: ldfi could not win (it did not start, or was
    /// abandoned; its outcome, if any, holds the failure-free run).
    Alone(Box<(Outcome, Option<Outcome>)>),
    /// Both searched (ldfi, exhaustive), paced by the baton.
    Both(Box<(Side, Side, Baton)>),
}

/// ldfi reached a verdict within its lead (`lead` work units).
pub(super) fn within_lead(ld: &Side, lead: u64) -> bool {
    matches!(ld, Ok((o, _)) if o.verdict != Verdict::BudgetExhausted && o.stats.work <= lead)
}

/// ldfi's least work at any verdict, given its failure-free run's firings: that run (with
/// lineage) and one execution's fixed cost.
pub(super) fn ldfi_floor(baseline_firings: u64) -> u64 {
    lineage_firings_work(baseline_firings) + WORK_PER_EXECUTION
}

/// The work of `firings` rule firings in ldfi's lineage-recording runs.
pub(super) fn lineage_firings_work(firings: u64) -> u64 {
    firings.saturating_mul(LINEAGE_FIRING_QUARTERS) / 4
}

/// Exhaustive reached a verdict with less work than ldfi's `floor`.
pub(super) fn below(ex: &Outcome, floor: u64) -> bool {
    ex.verdict != Verdict::BudgetExhausted && ex.stats.work * CLOCK_WEIGHT[1] < floor
}

/// `auto` on one core: ldfi alone up to its lead (when its floor is within it), then
/// exhaustive alone up to ldfi's floor; when neither decided, the race runs in full,
/// taking turns from the start. Each prefix that did not decide is thrown away; none is
/// run twice, since ldfi's search is deterministic: without a verdict within its lead, it
/// has none within any smaller cap either.
pub(super) fn one_core(
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
pub(super) fn two_cores(
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
pub(super) fn decided_alone(mut ex: Outcome, started: Instant) -> Outcome {
    ex.stats.total_time = started.elapsed();
    ex.race = Some(Race {
        decided_by: Strategy::Exhaustive,
        other: Strategy::Learn,
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
pub(super) fn race_threads(
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

/// The shared state of an `auto` search.
pub(super) struct Baton {
    pub(super) state: std::sync::Mutex<Turns>,
    pub(super) turn_changed: std::sync::Condvar,
}

impl Baton {
    pub(super) fn new(alternate: bool) -> Baton {
        Baton {
            state: std::sync::Mutex::new(Turns { alternate, ..Turns::default() }),
            turn_changed: std::sync::Condvar::new(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct Turns {
    /// One core: the sides take turns (else both run at once).
    pub(super) alternate: bool,
    /// Whose turn it is when alternating (0 = ldfi, 1 = exhaustive).
    pub(super) holder: usize,
    /// Weighted work each has done so far.
    pub(super) work: [u64; 2],
    /// Exhaustive's weighted [`Driver::certify_floor`]: it cannot certify with less work.
    pub(super) floor: u64,
    /// Which have ended.
    pub(super) ended: [bool; 2],
    /// The weighted work at which each side reached its verdict (`None`: no verdict yet, or
    /// it ended without one).
    pub(super) verdict_at: [Option<u64>; 2],
    /// Whether ldfi's verdict is a certification.
    pub(super) ldfi_certified: bool,
    /// Each side's budget checks, oldest first (one per number of executions), for what the
    /// loser had done when the winner's verdict beat it. Entries no verdict can need any
    /// more are dropped.
    pub(super) history: [Vec<Check>; 2],
}

/// One side's state at a budget check (work and floor weighted).
#[derive(Debug, Clone, Copy)]
pub(super) struct Check {
    pub(super) work: u64,
    pub(super) executions: u64,
    pub(super) floor: u64,
}

impl Turns {
    /// The other side reached a verdict with less work than `me` has now done (or as much,
    /// when `me` is the exhaustive side, which loses ties): `me` can no longer win. When
    /// ldfi certified, exhaustive can only certify too (every run is good), so it has lost
    /// as soon as its floor, a lower bound on the work of its certification, reaches
    /// ldfi's: with no need to work that far.
    pub(super) fn beaten(&self, me: usize) -> bool {
        self.verdict_at[1 - me].is_some_and(|w| {
            if me == 0 {
                self.work[me] > w
            } else {
                self.work[me] >= w || (self.ldfi_certified && self.floor >= w)
            }
        })
    }

    /// The side that reached a verdict with less weighted work (ldfi on a tie).
    pub(super) fn decider(&self) -> Option<usize> {
        match self.verdict_at {
            [Some(a), Some(b)] => Some(if a <= b { 0 } else { 1 }),
            [Some(_), None] => Some(0),
            [None, Some(_)] => Some(1),
            [None, None] => None,
        }
    }

    /// Record a budget check of `me`: its executions so far at its current work.
    pub(super) fn note(&mut self, me: usize, executions: u64) {
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
    pub(super) fn history_at(&self, side: usize, w: u64) -> (u64, u64) {
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
pub(super) struct Pacer<'b> {
    pub(super) baton: &'b Baton,
    pub(super) me: usize,
}

impl Pacer<'_> {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Turns> {
        self.baton.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait for the first turn; the returned guard ends this side when dropped.
    pub(super) fn begin(&self) -> EndTurn<'_> {
        let st = self.lock();
        drop(self.wait_turn(st));
        EndTurn { pacer: self, decisive: false, certified: false, work: 0 }
    }

    /// When alternating, block until it is this side's turn or the other has ended.
    pub(super) fn wait_turn<'g>(
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
    pub(super) fn tick(&self, work: u64, executions: u64, floor: u64) -> bool {
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
pub(super) struct EndTurn<'b> {
    pacer: &'b Pacer<'b>,
    pub(super) decisive: bool,
    pub(super) certified: bool,
    pub(super) work: u64,
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
