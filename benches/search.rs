//! Search benchmark: ldfi vs random vs exhaustive on a fixed list of configurations.
//!
//! For each configuration: the gross fault-space size, the ldfi verdict with its executions
//! and wall time, random search over many seeds (executions and time to the first
//! counterexample, mean and max), and exhaustive search. Every search gets a wall-clock
//! timeout; a search that hits it is reported as budget-exhausted ("timeout").
//!
//! Run: `cargo bench --bench search [-- [SUBSTRING...] [--timeout SECS] [--seeds N] [--max-runs N] [--jobs N]]`
//! (`--jobs` is the ldfi worker count, default 1 so that numbers are single-threaded).
//! Prints a Markdown table and writes JSON to `target/bench-search.json` (in the crate
//! root, whatever `CARGO_TARGET_DIR` says).

/// The binary's allocator, so that the bench measures what `ldfi` runs: the search builds
/// and drops many small vectors and maps, where mimalloc is faster than the system's.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use ldfi::search::{self, Outcome, SearchParams, Strategy, Verdict};
use num_bigint::BigUint;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Config {
    spec: &'static str,
    eot: u32,
    eff: u32,
    crashes: u32,
    /// What the spec's header (or our own reasoning, for the scaled spec) says.
    expect: &'static str,
}

const fn cfg(spec: &'static str, eot: u32, eff: u32, crashes: u32, expect: &'static str) -> Config {
    Config { spec, eot, eff, crashes, expect }
}

const CONFIGS: &[Config] = &[
    // counterexample cases
    cfg("specs/broadcast/oneshot.ded", 4, 2, 0, "counterexample"),
    cfg("specs/broadcast/retry.ded", 4, 2, 1, "counterexample"),
    cfg("specs/broadcast/classic.ded", 5, 3, 0, "counterexample"),
    cfg("specs/commit/2pc.ded", 5, 0, 1, "counterexample"),
    cfg("specs/commit/2pc_ctp.ded", 8, 0, 1, "counterexample"),
    cfg("specs/commit/3pc.ded", 9, 7, 1, "counterexample"),
    cfg("specs/commit/3pc.ded", 8, 7, 0, "counterexample"),
    cfg("specs/commit/3pc.ded", 8, 6, 1, "counterexample"),
    cfg("specs/replication/isr.ded", 6, 4, 1, "counterexample"),
    cfg("specs/consensus/paxos_molly.ded", 7, 6, 1, "counterexample"),
    // certification cases
    cfg("specs/broadcast/retry.ded", 25, 23, 0, "certified"),
    cfg("specs/broadcast/redundant.ded", 8, 6, 1, "certified"),
    cfg("specs/broadcast/ack_relay.ded", 8, 6, 1, "certified"),
    cfg("specs/broadcast/ack.ded", 7, 6, 0, "certified"),
    cfg("specs/consensus/paxos.ded", 8, 3, 1, "certified"),
    cfg("specs/consensus/paxos.ded", 8, 5, 0, "certified"),
    cfg("specs/consensus/paxos.ded", 8, 4, 1, "certified"),
    // The Molly-style synod (issue 12); both need the header's nodes=.
    cfg("specs/consensus/paxos_molly.ded", 8, 3, 1, "certified"),
    cfg("specs/consensus/paxos_molly.ded", 10, 3, 1, "certified"),
    cfg("specs/consensus/paxos_molly.ded", 8, 3, 2, "certified"),
    cfg("specs/consensus/paxos_molly.ded", 6, 3, 2, "certified"),
    cfg("specs/consensus/paxos_molly5.ded", 10, 0, 2, "certified"),
    cfg("benches/scaled.ded", 30, 28, 0, "certified"),
];

struct Opts {
    filters: Vec<String>,
    timeout: Duration,
    seeds: u64,
    max_runs: u64,
    jobs: usize,
}

fn parse_args() -> Opts {
    let mut o = Opts {
        filters: Vec::new(),
        timeout: Duration::from_secs(60),
        seeds: 25,
        max_runs: 10_000,
        jobs: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => {} // passed by `cargo bench`
            "--timeout" => {
                o.timeout = Duration::from_secs_f64(
                    args.next().and_then(|v| v.parse().ok()).expect("--timeout SECS"),
                )
            }
            "--seeds" => o.seeds = args.next().and_then(|v| v.parse().ok()).expect("--seeds N"),
            "--jobs" => o.jobs = args.next().and_then(|v| v.parse().ok()).expect("--jobs N"),
            "--max-runs" => {
                o.max_runs = args.next().and_then(|v| v.parse().ok()).expect("--max-runs N")
            }
            s if s.starts_with('-') => eprintln!("ignoring unknown flag {s}"),
            s => o.filters.push(s.to_string()),
        }
    }
    o
}

fn short_space(n: &BigUint) -> String {
    let s = n.to_string();
    if s.len() <= 9 {
        return s;
    }
    let bits = n.bits();
    // n = m * 2^k with m small? Print as a power of two when it is one-ish, else scientific.
    format!("{}.{}e{} (~2^{})", &s[..1], &s[1..3], s.len() - 1, bits - 1)
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 0.001 {
        format!("{:.0} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.2} s", s)
    }
}

fn stats_json(o: &Outcome) -> Value {
    json!({
        "verdict": o.verdict.name(),
        "executions": o.stats.executions,
        "hypotheses": o.stats.hypotheses,
        "eval_s": o.stats.eval_time.as_secs_f64(),
        "lineage_s": o.stats.lineage_time.as_secs_f64(),
        "solve_s": o.stats.solve_time.as_secs_f64(),
        "total_s": o.stats.total_time.as_secs_f64(),
        "firings": o.stats.firings,
        "timesteps": o.stats.timesteps,
        "memo_hits": o.stats.memo_hits,
        "budget": o.budget,
    })
}

fn cell(o: &Outcome) -> String {
    let v = match o.verdict {
        Verdict::Counterexample => "cex",
        Verdict::Certified => "cert",
        Verdict::FaultFreeViolation => "ffv",
        Verdict::BudgetExhausted => {
            if o.budget.as_deref().is_some_and(|b| b.contains("timeout")) {
                "timeout"
            } else {
                "budget"
            }
        }
    };
    if o.stats.timesteps > 0 {
        // The exhaustive search shares prefixes: report the timesteps it simulated too.
        return format!(
            "{v}: {} runs ({} steps), {}",
            o.stats.executions,
            o.stats.timesteps,
            secs(o.stats.total_time)
        );
    }
    format!("{v}: {} runs, {}", o.stats.executions, secs(o.stats.total_time))
}

fn main() {
    let opts = parse_args();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut rows = Vec::new();
    let mut json_rows = Vec::new();
    for c in CONFIGS {
        let label = format!(
            "{} ({},{},{})",
            c.spec.trim_start_matches("specs/").trim_end_matches(".ded"),
            c.eot,
            c.eff,
            c.crashes
        );
        if !opts.filters.is_empty() && !opts.filters.iter().any(|f| label.contains(f.as_str())) {
            continue;
        }
        let files = vec![root.join(c.spec)];
        let Ok((program, headers)) = ldfi::app::load(&files, false) else {
            eprintln!("{label}: failed to load");
            continue;
        };
        let bounds = ldfi::cli::BoundsArgs {
            eot: Some(c.eot),
            eff: Some(c.eff),
            crashes: Some(c.crashes),
            nodes: None,
        };
        // The first header line still supplies `nodes=` (the Molly synods need it); the
        // bounds above override the rest.
        let first = headers.first().cloned();
        let prep = match ldfi::app::resolve(program, headers, first.as_ref(), &bounds, &files) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{label}: {e}");
                continue;
            }
        };
        let base =
            SearchParams { timeout: Some(opts.timeout), ..prep.search_params(Strategy::Ldfi) };
        let run =
            |p: &SearchParams| search::search(&prep.program, p, None).expect("evaluation error");

        eprintln!("{label}: ldfi ...");
        let ldfi = run(&base);
        eprintln!("  {}", cell(&ldfi));

        // Random: many seeds for counterexample cases; a single seed for certification cases
        // (random can never certify, so every seed just burns the whole budget).
        let seeds = if ldfi.verdict == Verdict::Certified || c.expect == "certified" {
            1
        } else {
            opts.seeds
        };
        eprintln!("{label}: random x{seeds} ...");
        let mut r_runs = Vec::new();
        let mut r_times = Vec::new();
        let mut r_found = 0u64;
        let mut r_json = Vec::new();
        let started = Instant::now();
        for seed in 0..seeds {
            let o = run(&SearchParams {
                strategy: Strategy::Random,
                seed,
                max_runs: Some(opts.max_runs),
                ..base.clone()
            });
            if o.verdict == Verdict::Counterexample {
                r_found += 1;
            }
            r_runs.push(o.stats.executions);
            r_times.push(o.stats.total_time);
            r_json.push(json!({"seed": seed, "stats": stats_json(&o)}));
        }
        let r_mean = r_runs.iter().sum::<u64>() as f64 / r_runs.len().max(1) as f64;
        let r_max = r_runs.iter().copied().max().unwrap_or(0);
        let r_tmean = r_times.iter().sum::<Duration>() / r_times.len().max(1) as u32;
        let r_tmax = r_times.iter().copied().max().unwrap_or_default();
        let censored = if r_found < seeds { ">=" } else { "" };
        let random_cell = format!(
            "{r_found}/{seeds} found; mean {censored}{r_mean:.1} / max {censored}{r_max} runs; mean {} / max {}",
            secs(r_tmean),
            secs(r_tmax)
        );
        eprintln!("  {random_cell} (wall {})", secs(started.elapsed()));

        eprintln!("{label}: exhaustive ...");
        let ex = run(&SearchParams { strategy: Strategy::Exhaustive, ..base.clone() });
        eprintln!("  {}", cell(&ex));

        let agree = match (ldfi.verdict, ex.verdict) {
            (Verdict::BudgetExhausted, _) | (_, Verdict::BudgetExhausted) => "n/a",
            (a, b) if a == b => "yes",
            _ => "**NO**",
        };
        if agree == "**NO**" {
            eprintln!(
                "!!! {label}: ldfi says {} but exhaustive says {}",
                ldfi.verdict.name(),
                ex.verdict.name()
            );
        }
        // The verdict column: ldfi's, or exhaustive's (marked) when ldfi ran out of budget.
        let verdict =
            if ldfi.verdict == Verdict::BudgetExhausted && ex.verdict != Verdict::BudgetExhausted {
                format!("{} (by exhaustive)", ex.verdict.name())
            } else {
                ldfi.verdict.name().to_string()
            };
        rows.push(format!(
            "| {} | {}/{}/{} | {} | {} (expect {}) | {} | {} | {} | {} |",
            c.spec.trim_start_matches("specs/").trim_end_matches(".ded"),
            c.eot,
            c.eff,
            c.crashes,
            short_space(&ldfi.stats.fault_space),
            verdict,
            c.expect,
            cell(&ldfi),
            random_cell,
            cell(&ex),
            agree
        ));
        json_rows.push(json!({
            "spec": c.spec,
            "eot": c.eot, "eff": c.eff, "crashes": c.crashes,
            "nodes": prep.nodes.len(),
            "expect": c.expect,
            "fault_space": ldfi.stats.fault_space.to_string(),
            "ldfi": stats_json(&ldfi),
            "random": {
                "seeds": seeds, "found": r_found, "max_runs": opts.max_runs,
                "mean_executions": r_mean, "max_executions": r_max,
                "mean_s": r_tmean.as_secs_f64(), "max_s": r_tmax.as_secs_f64(),
                "per_seed": r_json,
            },
            "exhaustive": stats_json(&ex),
            "ldfi_exhaustive_agree": agree,
        }));
    }

    println!();
    println!(
        "Timeout per search: {} s; random: max {} runs per seed.",
        opts.timeout.as_secs_f64(),
        opts.max_runs
    );
    println!();
    println!("| spec | eot/eff/crashes | fault space | verdict | ldfi | random (runs to first cex) | exhaustive | ldfi = exhaustive |");
    println!("|---|---|---:|---|---|---|---|---|");
    for r in &rows {
        println!("{r}");
    }

    let target = root.join("target");
    let _ = std::fs::create_dir_all(&target);
    let out = target.join("bench-search.json");
    let doc = json!({
        "schema": "ldfi-bench-search/1",
        "timeout_s": opts.timeout.as_secs_f64(),
        "random_max_runs": opts.max_runs,
        "configs": json_rows,
    });
    match std::fs::write(&out, serde_json::to_string_pretty(&doc).unwrap_or_default()) {
        Ok(()) => println!("\nJSON written to {}", out.display()),
        Err(e) => eprintln!("cannot write {}: {e}", out.display()),
    }
}
