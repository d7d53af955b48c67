//! Population benchmark: the default strategy (`auto`; `LDFI_POP_STRATEGY=ldfi` for pure
//! lineage-driven search) against the memoized exhaustive
//! search, side by side, over two populations:
//!
//! * **specs**: every header configuration of every bundled spec under `specs/`, plus the
//!   few configurations in `EXTRA` that are too large for a header line;
//! * **generated**: N random programs from `tests/common/gen.rs` at larger bounds than the
//!   agreement test uses (EOT 5 to 7, EFF 0 or 3 to EOT - 1, 1 or 2 crashes).
//!
//! For each case both searches run in this process, one after the other, each with a
//! wall-clock timeout: exhaustive on one thread, the measured strategy with `LDFI_POP_JOBS`
//! workers (default: the machine's cores, as `ldfi check`; `auto` then runs its two
//! strategies at once). Their verdicts must agree (a disagreement
//! is printed loudly and makes the process exit with status 1). Per case it reports the
//! wall time of each search (`Stats.total_time`; a search under 200 ms is repeated up to 5
//! times (`LDFI_POP_REPEATS`) within 100 ms each and the fastest run is kept, to damp
//! scheduler noise), the process's
//! CPU time (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`, all threads) and the ratio
//! ldfi / exhaustive. Per population: the geometric mean of the ratios and the worst case,
//! over the cases where both searches finished; cases where one search timed out are
//! listed apart (their ratio is then only a bound).
//!
//! Finally the targets of issue 12 are checked and printed as PASS / FAIL lines: the Molly
//! Paxos (`specs/consensus/paxos_molly.ded`) at 8/3/1, 10/3/1, 8/3/2 and 6/3/2 at least 10x
//! faster with ldfi than exhaustive with the same verdict; the 5-acceptor variant at EOT 10
//! with 2 crashes: a verdict in under 10 s; over the generated population a geometric-mean
//! ratio <= 0.2 and no case above 1.0.
//!
//! Run: `cargo bench --bench population`. Environment:
//! `LDFI_POP_N` (generated programs, default 2000), `LDFI_POP_SEED` (first seed, default 0),
//! `LDFI_POP_TIMEOUT` (seconds per search, default 10), `LDFI_POP_SPECS=0` / `LDFI_POP_GEN=0`
//! (skip a population), `LDFI_POP_FILTER` (only spec cases whose label contains it),
//! `LDFI_POP_STRATEGY` (the measured strategy, default `ldfi`),
//! `LDFI_POP_REPEATS` (runs of a fast search, the fastest kept; default 5),
//! `LDFI_POP_DUMP=DIR` (write each generated program to `DIR/gen-SEED.ded`, its first line
//! the `ldfi check` bounds of its case, to reproduce it from the command line).
//! Prints Markdown to stdout, progress to stderr, and JSON to `target/bench-population.json`.

/// The binary's allocator, so that the bench measures what `ldfi` runs: the search builds
/// and drops many small vectors and maps, where mimalloc is faster than the system's.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../tests/common/gen.rs"]
mod gen;

use ldfi::analysis::ir::{Program, Sym};
use ldfi::search::{self, Outcome, SearchParams, Strategy, Verdict};
use rand::Rng;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The search configurations the issue-12 targets name.
const PAXOS3: &str = "specs/consensus/paxos_molly.ded";
const PAXOS5: &str = "specs/consensus/paxos_molly5.ded";
/// Exhaustive searches shorter than this are "trivial" in the summary's second row.
const NONTRIVIAL: Duration = Duration::from_millis(10);
/// Configurations outside the header lines (exhaustive cannot finish them, so `ldfi test`
/// must not run them), measured with the spec's first header for everything else.
const EXTRA: &[(&str, u32, u32, u32)] = &[(PAXOS5, 10, 2, 2), (PAXOS5, 10, 3, 2)];
/// (eot, eff, crashes) of the Molly Paxos that must be 10x faster under ldfi.
const PAXOS3_TARGETS: &[(u32, u32, u32)] = &[(8, 3, 1), (10, 3, 1), (8, 3, 2), (6, 3, 2)];

struct Opts {
    n: u64,
    seed: u64,
    timeout: Duration,
    specs: bool,
    generated: bool,
    filter: Option<String>,
    /// `LDFI_POP_DUMP`: a directory to write each generated program to, with its bounds.
    dump: Option<PathBuf>,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v} is not a valid value")),
        Err(_) => default,
    }
}

fn opts() -> Opts {
    Opts {
        n: env_or("LDFI_POP_N", 2000),
        seed: env_or("LDFI_POP_SEED", 0),
        timeout: Duration::from_secs_f64(env_or("LDFI_POP_TIMEOUT", 10.0)),
        specs: env_or("LDFI_POP_SPECS", 1u8) != 0,
        generated: env_or("LDFI_POP_GEN", 1u8) != 0,
        filter: std::env::var("LDFI_POP_FILTER").ok(),
        dump: std::env::var_os("LDFI_POP_DUMP").map(PathBuf::from),
    }
}

/// CPU time of the process (`CLOCK_PROCESS_CPUTIME_ID`, nanosecond resolution: the work of
/// every thread of the search).
fn thread_cpu() -> Option<Duration> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec it is given.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// One search, timed.
struct Timed {
    outcome: Outcome,
    wall: Duration,
    cpu: Option<Duration>,
}

impl Timed {
    fn timed_out(&self) -> bool {
        self.outcome.verdict == Verdict::BudgetExhausted
    }
}

/// Run a search; a fast one is repeated (up to `LDFI_POP_REPEATS` runs, default 5, within
/// 100 ms per run) and the fastest kept: on a loaded machine one preemption can turn a 1 ms
/// search into 20 ms of wall time.
fn timed_search(program: &Program, params: &SearchParams) -> Result<Timed, String> {
    let mut best: Option<Timed> = None;
    let mut spent = Duration::ZERO;
    let repeats: u32 = env_or("LDFI_POP_REPEATS", 5);
    for _ in 0..repeats.max(1) {
        let c0 = thread_cpu();
        let outcome = search::search(program, params, None).map_err(|e| format!("{e:?}"))?;
        let cpu = match (c0, thread_cpu()) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        };
        let wall = outcome.stats.total_time;
        spent += wall;
        if best.as_ref().is_none_or(|b| wall < b.wall) {
            best = Some(Timed { outcome, wall, cpu });
        }
        if wall >= Duration::from_millis(200) || spent >= Duration::from_millis(100) * repeats {
            break;
        }
    }
    Ok(best.expect("at least one run"))
}

/// How the two searches of one case compare.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ratio {
    /// Both finished: ldfi / exhaustive.
    Exact(f64),
    /// Exhaustive timed out, ldfi did not: the true ratio is at most this.
    AtMost(f64),
    /// ldfi timed out, exhaustive did not: the true ratio is at least this.
    AtLeast(f64),
    /// Both timed out.
    Unknown,
}

fn ratio(ldfi: &Timed, ex: &Timed) -> Ratio {
    let r = ldfi.wall.as_secs_f64() / ex.wall.as_secs_f64().max(1e-9);
    match (ldfi.timed_out(), ex.timed_out()) {
        (false, false) => Ratio::Exact(r),
        (false, true) => Ratio::AtMost(r),
        (true, false) => Ratio::AtLeast(r),
        (true, true) => Ratio::Unknown,
    }
}

fn ratio_text(r: Ratio) -> String {
    match r {
        Ratio::Exact(x) => format!("{x:.3}"),
        Ratio::AtMost(x) => format!("<= {x:.3}"),
        Ratio::AtLeast(x) => format!(">= {x:.3}"),
        Ratio::Unknown => "?".into(),
    }
}

/// One compared case.
struct Case {
    population: &'static str,
    label: String,
    bounds: (u32, u32, u32),
    ldfi: Timed,
    ex: Timed,
}

impl Case {
    fn ratio(&self) -> Ratio {
        ratio(&self.ldfi, &self.ex)
    }
    fn cpu_ratio(&self) -> Option<f64> {
        Some(self.ldfi.cpu?.as_secs_f64() / self.ex.cpu?.as_secs_f64().max(1e-9))
    }
    /// Both verdicts known and different.
    fn disagrees(&self) -> bool {
        let (a, b) = (self.ldfi.outcome.verdict, self.ex.outcome.verdict);
        a != b && a != Verdict::BudgetExhausted && b != Verdict::BudgetExhausted
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 0.001 {
        format!("{:.0} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

fn short(v: Verdict) -> &'static str {
    match v {
        Verdict::Certified => "cert",
        Verdict::Counterexample => "cex",
        Verdict::FaultFreeViolation => "ffv",
        Verdict::BudgetExhausted => "timeout",
    }
}

fn cell(t: &Timed) -> String {
    let cpu = t.cpu.map_or(String::new(), |c| format!(" (cpu {})", secs(c)));
    format!(
        "{} {} runs, {}{cpu}",
        short(t.outcome.verdict),
        t.outcome.stats.executions,
        secs(t.wall)
    )
}

fn geomean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    Some((xs.iter().map(|x| x.max(1e-9).ln()).sum::<f64>() / xs.len() as f64).exp())
}

/// Run both strategies on one configuration.
fn compare(
    population: &'static str,
    label: String,
    program: &Program,
    base: &SearchParams,
) -> Result<Case, String> {
    eprint!("{label}: ");
    let strategy = std::env::var("LDFI_POP_STRATEGY")
        .ok()
        .and_then(|s| Strategy::parse(&s))
        .unwrap_or(Strategy::Ldfi);
    let ldfi = timed_search(program, &SearchParams { strategy, ..base.clone() })?;
    eprint!("ldfi {} | ", cell(&ldfi));
    let ex =
        timed_search(program, &SearchParams { strategy: Strategy::Exhaustive, ..base.clone() })?;
    eprintln!("exhaustive {}", cell(&ex));
    let case = Case { population, label, bounds: (base.eot, base.eff, base.crashes), ldfi, ex };
    if case.disagrees() {
        eprintln!(
            "!!! DISAGREEMENT on {}: ldfi says {}, exhaustive says {}",
            case.label,
            case.ldfi.outcome.verdict.name(),
            case.ex.outcome.verdict.name()
        );
    }
    Ok(case)
}

fn base_params(
    eot: u32,
    eff: u32,
    crashes: u32,
    nodes: Vec<Sym>,
    timeout: Duration,
) -> SearchParams {
    SearchParams {
        timeout: Some(timeout),
        ..SearchParams::new(eot, eff, crashes, nodes, Strategy::Ldfi)
    }
}

fn spec_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "ded") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

/// Every header configuration of every spec under `specs/`.
fn spec_cases(root: &Path, o: &Opts, errors: &mut Vec<String>) -> Vec<Case> {
    let mut out = Vec::new();
    for file in spec_files(&root.join("specs")) {
        let rel = file.strip_prefix(root).unwrap_or(&file).display().to_string();
        let files = vec![file.clone()];
        let Ok((program, headers)) = ldfi::app::load(&files, false) else {
            errors.push(format!("{rel}: does not load"));
            continue;
        };
        if program.pre_rel.is_none() || program.post_rel.is_none() {
            continue;
        }
        let first = headers.first().cloned().unwrap_or_default();
        let configs = headers
            .iter()
            .map(|h| (h.clone(), ldfi::cli::BoundsArgs::default(), h.line.to_string()))
            .chain(EXTRA.iter().filter(|x| x.0 == rel).map(|&(_, eot, eff, crashes)| {
                let b = ldfi::cli::BoundsArgs {
                    eot: Some(eot),
                    eff: Some(eff),
                    crashes: Some(crashes),
                    nodes: None,
                };
                (first.clone(), b, "extra".to_string())
            }));
        for (h, bounds, line) in configs {
            let p = match ldfi::app::resolve(
                program.clone(),
                headers.clone(),
                Some(&h),
                &bounds,
                &files,
            ) {
                Ok(p) => p,
                Err(e) => {
                    errors.push(format!("{rel}:{line}: {e}"));
                    continue;
                }
            };
            let label = format!("{rel}:{line} ({}/{}/{})", p.eot, p.eff, p.crashes);
            if o.filter.as_deref().is_some_and(|f| !label.contains(f)) {
                continue;
            }
            let base = base_params(p.eot, p.eff, p.crashes, p.nodes.clone(), o.timeout);
            match compare("specs", label, &p.program, &base) {
                Ok(c) => out.push(c),
                Err(e) => errors.push(format!("{rel}:{line}: {e}")),
            }
        }
    }
    out
}

/// The bounds of a generated case, drawn after the program from the same generator.
fn gen_bounds(g: &mut gen::Gen) -> (u32, u32, u32) {
    let eot = g.rng.gen_range(5..=7);
    let eff = if g.rng.gen_bool(0.1) { 0 } else { g.rng.gen_range(3..eot) };
    let crashes = if g.rng.gen_bool(0.3) { 1 } else { 2 };
    (eot, eff, crashes.min(g.nodes.len() as u32))
}

/// N generated programs; returns the cases and how many programs the front end rejected.
fn generated_cases(o: &Opts, errors: &mut Vec<String>) -> (Vec<Case>, u64) {
    let mut out = Vec::new();
    let mut rejected = 0;
    for seed in o.seed..o.seed + o.n {
        let mut g = gen::Gen::new(seed);
        let text = g.program();
        let Ok(loaded) = ldfi::syntax::load_str("gen.ded", &text) else {
            rejected += 1;
            continue;
        };
        let Some(mut program) = ldfi::analysis::analyze(&loaded.program).program else {
            rejected += 1;
            continue;
        };
        let nodes: Vec<Sym> = g.nodes.iter().map(|n| program.symbols.intern(n)).collect();
        let (eot, eff, crashes) = gen_bounds(&mut g);
        let label = format!("gen seed {seed} ({eot}/{eff}/{crashes}, {} nodes)", nodes.len());
        if let Some(dir) = &o.dump {
            // Reproducible from the CLI: `ldfi check DIR/gen-SEED.ded -t .. -f .. -c .. -N ..`.
            let header = format!(
                "// gen seed {seed}: ldfi check -t {eot} -f {eff} -c {crashes} -N {}\n",
                g.nodes.join(",")
            );
            let path = dir.join(format!("gen-{seed}.ded"));
            if let Err(e) = std::fs::write(&path, header + &text) {
                errors.push(format!("{}: {e}", path.display()));
            }
        }
        let base = base_params(eot, eff, crashes, nodes, o.timeout);
        match compare("generated", label, &program, &base) {
            Ok(c) => out.push(c),
            Err(e) => errors.push(format!("gen seed {seed}: {e}")),
        }
    }
    (out, rejected)
}

/// The summary of one population, as a Markdown row.
fn summary(name: &str, cases: &[&Case]) -> String {
    let exact: Vec<(f64, &Case)> = cases
        .iter()
        .filter_map(|c| match c.ratio() {
            Ratio::Exact(r) => Some((r, *c)),
            _ => None,
        })
        .collect();
    let rs: Vec<f64> = exact.iter().map(|x| x.0).collect();
    let cpu: Vec<f64> = exact.iter().filter_map(|(_, c)| c.cpu_ratio()).collect();
    let worst = exact.iter().max_by(|a, b| a.0.total_cmp(&b.0));
    let worst_cpu = cpu.iter().copied().reduce(f64::max);
    let count = |f: fn(Ratio) -> bool| cases.iter().filter(|c| f(c.ratio())).count();
    let fmt = |x: Option<f64>| x.map_or("n/a".to_string(), |x| format!("{x:.3}"));
    let ex_total: Duration = exact.iter().map(|(_, c)| c.ex.wall).sum();
    let ld_total: Duration = exact.iter().map(|(_, c)| c.ldfi.wall).sum();
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        cases.len(),
        exact.len(),
        fmt(geomean(&rs)),
        worst.map_or("n/a".into(), |(r, c)| format!("{r:.3} ({})", c.label)),
        fmt(geomean(&cpu)),
        fmt(worst_cpu),
        count(|r| matches!(r, Ratio::AtMost(_))),
        count(|r| matches!(r, Ratio::AtLeast(_))),
        count(|r| r == Ratio::Unknown),
        secs(ld_total),
        secs(ex_total),
    )
}

/// Sort key for "worst first": lower bounds count as their bound, unknowns last.
fn badness(r: Ratio) -> f64 {
    match r {
        Ratio::Exact(x) | Ratio::AtLeast(x) | Ratio::AtMost(x) => x,
        Ratio::Unknown => f64::NEG_INFINITY,
    }
}

fn case_row(c: &Case) -> String {
    format!(
        "| {} | {} | {} | {} | {} |",
        c.label,
        cell(&c.ldfi),
        cell(&c.ex),
        ratio_text(c.ratio()),
        c.cpu_ratio().map_or("n/a".into(), |r| format!("{r:.3}"))
    )
}

/// PASS/FAIL lines for the issue-12 targets.
fn targets(specs: &[Case], generated: &[Case]) -> Vec<String> {
    let mut out = Vec::new();
    let mark = |ok: bool| if ok { "PASS" } else { "FAIL" };
    for &(t, f, c) in PAXOS3_TARGETS {
        let found = specs.iter().find(|x| x.label.starts_with(PAXOS3) && x.bounds == (t, f, c));
        out.push(match found {
            None => format!("- n/a  {PAXOS3} {t}/{f}/{c}: no such header line"),
            Some(x) => {
                let ok = matches!(x.ratio(), Ratio::Exact(r) if r <= 0.1) && !x.disagrees();
                format!(
                    "- {} {PAXOS3} {t}/{f}/{c}: ldfi >= 10x faster, same verdict (ratio {}; ldfi {}; exhaustive {})",
                    mark(ok),
                    ratio_text(x.ratio()),
                    cell(&x.ldfi),
                    cell(&x.ex)
                )
            }
        });
    }
    let p5: Vec<&Case> = specs
        .iter()
        .filter(|x| x.label.starts_with(PAXOS5) && x.bounds.0 == 10 && x.bounds.2 == 2)
        .collect();
    if p5.is_empty() {
        out.push(format!("- n/a  {PAXOS5} at EOT 10 with 2 crashes: no such header line"));
    }
    for x in p5 {
        let ok = !x.ldfi.timed_out() && x.ldfi.wall < Duration::from_secs(10) && !x.disagrees();
        out.push(format!(
            "- {} {PAXOS5} {}/{}/{}: ldfi verdict in < 10 s ({})",
            mark(ok),
            x.bounds.0,
            x.bounds.1,
            x.bounds.2,
            cell(&x.ldfi)
        ));
    }
    let rs: Vec<f64> = generated
        .iter()
        .filter_map(|c| match c.ratio() {
            Ratio::Exact(r) => Some(r),
            _ => None,
        })
        .collect();
    let g = geomean(&rs);
    out.push(format!(
        "- {} generated: geometric-mean ratio <= 0.2 ({})",
        mark(g.is_some_and(|g| g <= 0.2)),
        g.map_or("n/a".into(), |g| format!("{g:.3}"))
    ));
    if generated.is_empty() {
        out.push("- n/a  generated: no case above 1.0 (no generated cases)".into());
    } else {
        let worst = generated.iter().map(|c| badness(c.ratio())).fold(f64::NEG_INFINITY, f64::max);
        let ldfi_timeouts = generated.iter().filter(|c| c.ldfi.timed_out()).count();
        out.push(format!(
            "- {} generated: no case above 1.0 (worst {worst:.3}; ldfi timeouts {ldfi_timeouts})",
            mark(worst <= 1.0 && ldfi_timeouts == 0)
        ));
    }
    out
}

fn timed_json(t: &Timed) -> Value {
    json!({
        "verdict": t.outcome.verdict.name(),
        "executions": t.outcome.stats.executions,
        "work": t.outcome.stats.work,
        "firings": t.outcome.stats.firings,
        "timesteps": t.outcome.stats.timesteps,
        "memo_hits": t.outcome.stats.memo_hits,
        "ground_atoms": t.outcome.stats.ground_atoms,
        "clauses": t.outcome.stats.clauses,
        "solver_calls": t.outcome.stats.solver_calls,
        "wall_s": t.wall.as_secs_f64(),
        "eval_s": t.outcome.stats.eval_time.as_secs_f64(),
        "lineage_s": t.outcome.stats.lineage_time.as_secs_f64(),
        "solve_s": t.outcome.stats.solve_time.as_secs_f64(),
        "cpu_s": t.cpu.map(|c| c.as_secs_f64()),
        "budget": t.outcome.budget,
    })
}

fn case_json(c: &Case) -> Value {
    let (kind, r) = match c.ratio() {
        Ratio::Exact(r) => ("exact", Some(r)),
        Ratio::AtMost(r) => ("at_most", Some(r)),
        Ratio::AtLeast(r) => ("at_least", Some(r)),
        Ratio::Unknown => ("unknown", None),
    };
    json!({
        "population": c.population,
        "label": c.label,
        "eot": c.bounds.0, "eff": c.bounds.1, "crashes": c.bounds.2,
        "ldfi": timed_json(&c.ldfi),
        "exhaustive": timed_json(&c.ex),
        "ratio": r, "ratio_kind": kind,
        "cpu_ratio": c.cpu_ratio(),
        "disagree": c.disagrees(),
    })
}

fn main() {
    let o = opts();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut errors = Vec::new();
    let specs = if o.specs { spec_cases(&root, &o, &mut errors) } else { Vec::new() };
    let (generated, rejected) =
        if o.generated { generated_cases(&o, &mut errors) } else { (Vec::new(), 0) };

    println!();
    println!(
        "Timeout per search: {} s; generated: {} programs from seed {} ({} rejected by the front end).",
        o.timeout.as_secs_f64(),
        o.n,
        o.seed,
        rejected
    );
    println!();
    println!("| population | cases | both finished | geomean ldfi/exh (wall) | worst (wall) | geomean (cpu) | worst (cpu) | exh timeout (ratio <=) | ldfi timeout (ratio >=) | both timeout | ldfi total | exhaustive total |");
    println!("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, pop) in [("bundled specs", &specs), ("generated", &generated)] {
        let refs: Vec<&Case> = pop.iter().collect();
        println!("{}", summary(name, &refs));
        // Where exhaustive needs under 10 ms, both times are mostly fixed costs and noise.
        let big: Vec<&Case> = refs.iter().copied().filter(|c| c.ex.wall >= NONTRIVIAL).collect();
        println!("{}", summary(&format!("{name}, exhaustive >= 10 ms"), &big));
        let ffv: Vec<&Case> = refs
            .iter()
            .copied()
            .filter(|c| c.ex.outcome.verdict == Verdict::FaultFreeViolation)
            .collect();
        println!("{}", summary(&format!("{name}, fault-free violations only"), &ffv));
    }
    println!();
    println!("Issue-12 targets:");
    println!();
    for l in targets(&specs, &generated) {
        println!("{l}");
    }

    let header =
        "| case | ldfi | exhaustive | ratio (wall) | ratio (cpu) |\n|---|---|---|---:|---:|";
    for (name, pop) in [("bundled specs", &specs), ("generated", &generated)] {
        let mut worst: Vec<&Case> = pop.iter().collect();
        worst.sort_by(|a, b| badness(b.ratio()).total_cmp(&badness(a.ratio())));
        println!();
        println!("Worst 10, {name}:");
        println!();
        println!("{header}");
        for c in worst.iter().take(10) {
            println!("{}", case_row(c));
        }
    }
    let odd: Vec<&Case> = specs
        .iter()
        .chain(&generated)
        .filter(|c| c.disagrees() || c.ldfi.timed_out() || c.ex.timed_out())
        .collect();
    if !odd.is_empty() {
        println!();
        println!("Timeouts and disagreements:");
        println!();
        println!("{header}");
        for c in &odd {
            println!("{}", case_row(c));
        }
    }
    if o.specs {
        println!();
        println!("All bundled spec configurations:");
        println!();
        println!("{header}");
        for c in &specs {
            println!("{}", case_row(c));
        }
    }

    let disagreements: Vec<&Case> =
        specs.iter().chain(&generated).filter(|c| c.disagrees()).collect();
    for c in &disagreements {
        eprintln!(
            "!!! DISAGREEMENT on {}: ldfi says {}, exhaustive says {}",
            c.label,
            c.ldfi.outcome.verdict.name(),
            c.ex.outcome.verdict.name()
        );
    }
    for e in &errors {
        eprintln!("error: {e}");
    }

    let target = root.join("target");
    let _ = std::fs::create_dir_all(&target);
    let out = target.join("bench-population.json");
    let doc = json!({
        "schema": "ldfi-bench-population/1",
        "timeout_s": o.timeout.as_secs_f64(),
        "n": o.n, "seed": o.seed, "rejected": rejected,
        "cases": specs.iter().chain(&generated).map(case_json).collect::<Vec<_>>(),
        "errors": errors,
    });
    match std::fs::write(&out, serde_json::to_string_pretty(&doc).unwrap_or_default()) {
        Ok(()) => println!("\nJSON written to {}", out.display()),
        Err(e) => eprintln!("cannot write {}: {e}", out.display()),
    }
    if !disagreements.is_empty() {
        eprintln!("{} disagreement(s) between ldfi and exhaustive", disagreements.len());
        std::process::exit(1);
    }
}
