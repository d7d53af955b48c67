//! The LDFI loop: learn the failure-free run, then solve for the next minimal hypotheses a
//! round at a time, run them, and learn from every good run (the encoding itself is
//! [`super::encode`]).

use super::*;

pub(super) fn to_scenario(h: &Hypothesis) -> Scenario {
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
pub(super) fn ldfi(d: &mut Driver, baseline: &Run) -> Result<bool, EvalError> {
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
pub(super) fn ldfi_work(d: &mut Driver, enc: &mut Encoder) {
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
pub(super) fn audit_scenario(
    program: &Program,
    nodes: &[Sym],
    spec: &str,
) -> Result<Scenario, String> {
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
