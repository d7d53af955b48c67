//! Evaluation throughput: one failure-free run per spec, with lineage recording on and off.
//!
//! Every `.ded` file under `specs/` (bounds from its first header line) plus
//! `benches/scaled.ded`. Criterion measures the time per run; a summary at the end prints
//! rule firings per run and firings per second (firings / mean time of a timed loop).
//!
//! Run: `cargo bench --bench eval` (optionally with a criterion filter, e.g. `-- paxos`).

/// The binary's allocator, so that the bench measures what `ldfi` runs: the search builds
/// and drops many small vectors and maps, where mimalloc is faster than the system's.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{black_box, Criterion};
use ldfi::eval::{self, RunParams, Scenario};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Case {
    name: String,
    program: ldfi::analysis::ir::Program,
    params: RunParams,
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "ded") {
            out.push(p);
        }
    }
}

fn load(root: &Path, path: &Path) -> Result<Case, String> {
    let files = vec![path.to_path_buf()];
    let (program, headers) =
        ldfi::app::load(&files, false).map_err(|c| format!("load failed (exit {c})"))?;
    let first = headers.first().cloned();
    let prep = ldfi::app::resolve(
        program,
        headers,
        first.as_ref(),
        &ldfi::cli::BoundsArgs::default(),
        &files,
    )?;
    let name = path.strip_prefix(root).unwrap_or(path).with_extension("").display().to_string();
    let name = name.trim_start_matches("specs/").to_string();
    let params = RunParams {
        eot: prep.eot,
        nodes: prep.nodes,
        lineage: false,
        tuple_cap: eval::DEFAULT_TUPLE_CAP,
    };
    Ok(Case { name, program: prep.program, params })
}

/// Mean time of one run, timed over at least `min` of wall time (and at least 5 runs).
fn timed(case: &Case, lineage: bool, min: Duration) -> (Duration, u64) {
    let params = RunParams { lineage, ..case.params.clone() };
    let scenario = Scenario::default();
    let firings = eval::run(&case.program, &params, &scenario).map(|r| r.firings).unwrap_or(0);
    let t0 = Instant::now();
    let mut n = 0u32;
    while n < 5 || t0.elapsed() < min {
        black_box(eval::run(&case.program, &params, &scenario).ok());
        n += 1;
    }
    (t0.elapsed() / n, firings)
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    collect(&root.join("specs"), &mut paths);
    paths.push(root.join("benches/scaled.ded"));
    let mut cases = Vec::new();
    for p in &paths {
        match load(&root, p) {
            Ok(c) => cases.push(c),
            Err(e) => eprintln!("skipping {}: {e}", p.display()),
        }
    }

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    // The filter given on the command line (if any) also restricts the summary.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    for case in &cases {
        for lineage in [false, true] {
            let id = format!("eval/{}/{}", case.name, if lineage { "lineage" } else { "plain" });
            let params = RunParams { lineage, ..case.params.clone() };
            c.bench_function(&id, |b| {
                b.iter(|| black_box(eval::run(&case.program, &params, &Scenario::default()).ok()))
            });
        }
    }
    c.final_summary();

    println!();
    println!("## Evaluation throughput (failure-free run, bounds from the first header)");
    println!();
    println!("| spec | eot | nodes | firings/run | time/run (no lineage) | firings/s (no lineage) | time/run (lineage) | firings/s (lineage) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut total_f = 0u64;
    let mut total_plain = Duration::ZERO;
    let mut total_lin = Duration::ZERO;
    for case in &cases {
        if let Some(f) = &filter {
            if !format!("eval/{}/", case.name).contains(f.as_str()) {
                continue;
            }
        }
        let (plain, firings) = timed(case, false, Duration::from_millis(300));
        let (lin, _) = timed(case, true, Duration::from_millis(300));
        total_f += firings;
        total_plain += plain;
        total_lin += lin;
        let rate = |d: Duration| if d.is_zero() { 0.0 } else { firings as f64 / d.as_secs_f64() };
        println!(
            "| {} | {} | {} | {} | {:.1} µs | {:.2} M | {:.1} µs | {:.2} M |",
            case.name,
            case.params.eot,
            case.params.nodes.len(),
            firings,
            plain.as_secs_f64() * 1e6,
            rate(plain) / 1e6,
            lin.as_secs_f64() * 1e6,
            rate(lin) / 1e6
        );
    }
    if !total_plain.is_zero() {
        println!(
            "| **all (sum)** | | | {} | {:.1} µs | {:.2} M | {:.1} µs | {:.2} M |",
            total_f,
            total_plain.as_secs_f64() * 1e6,
            total_f as f64 / total_plain.as_secs_f64() / 1e6,
            total_lin.as_secs_f64() * 1e6,
            total_f as f64 / total_lin.as_secs_f64() / 1e6
        );
    }
}
