//! The default search against the exhaustive referee on the protocol shapes of
//! `common/shapes.rs` (multi-hop relays, votes decided by `count`, gossip with aggregates in
//! `@async` heads, registers overwritten through `notin`, positive reads of `crash`, `@T`
//! reads, negation several strata deep).
//!
//! For each seed: both searches reach the same verdict, and every counterexample lies within
//! the bounds and violates the invariant when its scenario is replayed without lineage.
//! `LDFI_SHAPES_CASES` sets the number of cases (default 1500, 30-40 s in release on two
//! cores, mostly the referee), `LDFI_PROPTEST_SEED` the first seed (default 0). With
//! `LDFI_SHAPES_VERBOSE` set, every case prints a line: its seed, shape, bounds, verdict and
//! the time of each search. A failing case prints its program under a `// ldfi:` header line
//! (bounds and the referee's verdict as `expect=`), ready to save as a `.ded` file and rerun
//! with `ldfi test FILE` (or add to `tests/regressions/`).

#[path = "common/shapes.rs"]
mod shapes;

use ldfi::analysis::ir::{Program, Sym};
use ldfi::eval::{self, Run, RunParams};
use ldfi::search::{search, Outcome, SearchParams, Strategy, Verdict};
use shapes::{ShapeBounds, ShapesGen};
use std::time::{Duration, Instant};

/// The strategy under test (compared with [`Strategy::Exhaustive`]).
const DEFAULT: Strategy = Strategy::Ldfi;

/// The budget of each search: a case where either search runs out of it is skipped.
const MAX_RUNS: u64 = 20_000;
const TIMEOUT: Duration = Duration::from_secs(5);

fn params(b: ShapeBounds, nodes: &[Sym], strategy: Strategy) -> SearchParams {
    SearchParams {
        max_runs: Some(MAX_RUNS),
        timeout: Some(TIMEOUT),
        ..SearchParams::new(b.eot, b.eff, b.crashes, nodes.to_vec(), strategy)
    }
}

/// What is wrong with a reported counterexample, if anything: outside the bounds, or its
/// scenario replayed without lineage does not violate the invariant.
fn check_counterexample(p: &Program, b: ShapeBounds, nodes: &[Sym], run: &Run) -> Option<String> {
    let s = &run.scenario;
    let faults = s.to_faults(p);
    for &(from, to, t) in &s.omissions {
        if from == to || !nodes.contains(&from) || !nodes.contains(&to) || t < 1 || t >= b.eff {
            return Some(format!("omission outside the bounds in {faults}"));
        }
    }
    if s.crashes.len() > b.crashes as usize {
        return Some(format!("{} crashes > {} in {faults}", s.crashes.len(), b.crashes));
    }
    for (i, &(n, t)) in s.crashes.iter().enumerate() {
        if !nodes.contains(&n) || t < 1 || t > b.eot || s.crashes[..i].iter().any(|c| c.0 == n) {
            return Some(format!("crash outside the bounds in {faults}"));
        }
    }
    let rp = RunParams {
        eot: b.eot,
        nodes: nodes.to_vec(),
        lineage: false,
        tuple_cap: eval::DEFAULT_TUPLE_CAP,
    };
    match eval::run(p, &rp, s) {
        Ok(r) if r.is_violation() => None,
        Ok(_) => Some(format!("replaying {faults} does not violate the invariant")),
        Err(e) => Some(format!("replaying {faults} fails: {e:?}")),
    }
}

fn first_cx(p: &Program, o: &Outcome) -> String {
    o.counterexamples.first().map_or(String::new(), |r| format!(" ({})", r.scenario.to_faults(p)))
}

enum Compared {
    Agree(Verdict),
    Skipped(String),
}

/// A failed comparison: what went wrong, and the referee's verdict when it has one.
type Failed = (String, Option<Verdict>);

/// Both searches on one program; `times` gets the time each took (default, exhaustive).
/// `Err` describes a disagreement or a bad counterexample.
fn compare(
    p: &Program,
    b: ShapeBounds,
    nodes: &[Sym],
    times: &mut [Duration; 2],
) -> Result<Compared, Failed> {
    let name = DEFAULT.name();
    let t0 = Instant::now();
    let de = search(p, &params(b, nodes, DEFAULT), None);
    let t1 = Instant::now();
    let ex = search(p, &params(b, nodes, Strategy::Exhaustive), None)
        .map_err(|e| (format!("exhaustive search failed: {e:?}"), None))?;
    *times = [t1 - t0, t1.elapsed()];
    let referee = Some(ex.verdict).filter(|&v| v != Verdict::BudgetExhausted);
    let de = de.map_err(|e| (format!("{name} search failed: {e:?}"), referee))?;
    for (who, o) in [(name, &de), ("exhaustive", &ex)] {
        for cx in &o.counterexamples {
            if let Some(e) = check_counterexample(p, b, nodes, cx) {
                return Err((format!("{who} counterexample: {e}"), referee));
            }
        }
        if o.verdict == Verdict::Counterexample && o.counterexamples.is_empty() {
            return Err((format!("{who} says counterexample but reports none"), referee));
        }
    }
    for (who, o) in [(name, &de), ("exhaustive", &ex)] {
        if o.verdict == Verdict::BudgetExhausted {
            return Ok(Compared::Skipped(format!(
                "{who}: {} after {} runs",
                o.budget.clone().unwrap_or_default(),
                o.stats.executions
            )));
        }
    }
    if de.verdict != ex.verdict {
        let why = format!(
            "{name} says {} after {} runs{}, exhaustive says {} after {} runs{}",
            de.verdict.name(),
            de.stats.executions,
            first_cx(p, &de),
            ex.verdict.name(),
            ex.stats.executions,
            first_cx(p, &ex)
        );
        return Err((why, referee));
    }
    Ok(Compared::Agree(de.verdict))
}

fn env_u64(var: &str, default: u64) -> u64 {
    std::env::var(var).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

#[test]
fn default_search_agrees_with_exhaustive_on_protocol_shapes() {
    let cases = env_u64("LDFI_SHAPES_CASES", 1500);
    let base = env_u64("LDFI_PROPTEST_SEED", 0);
    let verbose = std::env::var_os("LDFI_SHAPES_VERBOSE").is_some();
    let started = Instant::now();
    let (mut rejected, mut cert, mut cx, mut ffv) = (0u64, 0u64, 0u64, 0u64);
    let mut skipped = Vec::new();
    let mut rejections = Vec::new();
    // (one-line summary, the failing program in full)
    let mut failures: Vec<(String, String)> = Vec::new();
    for seed in base..base + cases {
        let mut g = ShapesGen::new(seed);
        let text = g.program();
        let b = g.bounds();
        let what = format!(
            "seed {seed} [{}] eot={} eff={} crashes={} nodes={}",
            g.shape(),
            b.eot,
            b.eff,
            b.crashes,
            g.nodes.join(",")
        );
        let loaded = match ldfi::syntax::load_str("gen.ded", &text) {
            Ok(l) => l,
            Err((_, d)) => {
                rejected += 1;
                rejections.push(format!("{what}: {d:?}\n{text}\n"));
                continue;
            }
        };
        let analysis = ldfi::analysis::analyze(&loaded.program);
        let Some(mut program) = analysis.program else {
            rejected += 1;
            rejections.push(format!("{what}: {:?}\n{text}\n", analysis.diagnostics));
            continue;
        };
        let nodes: Vec<Sym> = g.nodes.iter().map(|n| program.symbols.intern(n)).collect();
        let mut times = [Duration::ZERO; 2];
        let result = compare(&program, b, &nodes, &mut times);
        if verbose {
            let v = match &result {
                Ok(Compared::Agree(v)) => v.name(),
                Ok(Compared::Skipped(_)) => "skipped",
                Err(_) => "FAILED",
            };
            println!("case {what}: {v} ({:.1?} + {:.1?})", times[0], times[1]);
        }
        match result {
            Ok(Compared::Agree(Verdict::Certified)) => cert += 1,
            Ok(Compared::Agree(Verdict::Counterexample)) => cx += 1,
            Ok(Compared::Agree(_)) => ffv += 1,
            Ok(Compared::Skipped(why)) => skipped.push(format!("{what}: {why}")),
            Err((why, referee)) => {
                let expect = referee.map_or(String::new(), |v| format!(" expect={}", v.name()));
                let header = format!(
                    "// ldfi: eot={} eff={} crashes={} nodes={}{expect} -- seed {seed} [{}]",
                    b.eot,
                    b.eff,
                    b.crashes,
                    g.nodes.join(","),
                    g.shape()
                );
                failures.push((format!("{what}: {why}"), format!("{header}\n{text}\n")));
            }
        }
    }
    let compared = cases - rejected - skipped.len() as u64;
    println!(
        "{cases} cases in {:.1?}: {rejected} rejected, {} skipped, {compared} compared \
         ({cert} certified, {cx} counterexample, {ffv} fault-free violation), {} failure(s) \
         ({} vs exhaustive)",
        started.elapsed(),
        skipped.len(),
        failures.len(),
        DEFAULT.name()
    );
    for s in &skipped {
        println!("note: skipped {s}");
    }
    for r in rejections.iter().take(3) {
        println!("note: rejected {r}");
    }
    for (line, _) in &failures {
        println!("FAIL {line}");
    }
    for (_, program) in failures.iter().take(3) {
        println!("{program}");
    }
    assert!(rejected * 10 <= cases, "{rejected} of {cases} generated programs were rejected");
    assert!(skipped.len() as u64 * 50 <= cases, "{} of {cases} cases skipped", skipped.len());
    assert!(
        cert * 10 >= compared && cx * 10 >= compared,
        "verdicts too lopsided: {cert} certified, {cx} counterexamples of {compared}"
    );
    assert!(
        failures.is_empty(),
        "{} failure(s) of {}; first ones:\n{}",
        failures.len(),
        DEFAULT.name(),
        failures.iter().take(3).map(|f| f.0.as_str()).collect::<Vec<_>>().join("\n")
    );
}
