//! `ldfi test`: every header configuration of every spec under the given paths is a test
//! case; each runs its search and compares the verdict with the header's `expect=`.

use crate::app::{self, Prepared};
use crate::cli::{BoundsArgs, TestArgs};
use crate::config::{Expect, HeaderConfig};
use crate::search::{self, SearchParams, Strategy, Verdict};
use rayon::prelude::*;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One header line of one spec.
#[derive(Debug, Clone)]
pub struct Case {
    pub file: PathBuf,
    pub header: HeaderConfig,
}

impl Case {
    /// `FILE:LINE` of its header line, or just `FILE` for a file-level entry (line 0:
    /// a file that does not load or has no header line).
    pub fn name(&self) -> String {
        match self.header.line {
            0 => self.file.display().to_string(),
            line => format!("{}:{line}", self.file.display()),
        }
    }
    /// The JUnit test name: stable across runs (the verdict and the execution count are
    /// not part of it, so CI test history follows a case when they change).
    pub fn junit_name(&self) -> String {
        match self.header.line {
            0 => "file".to_string(),
            line => format!("line {line}"),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Status {
    Pass,
    Fail(String),
    /// No `expect=` on the header line.
    Skip(String),
    Error(String),
}

#[derive(Debug, Clone)]
pub struct CaseResult {
    pub case: Case,
    pub status: Status,
    pub summary: String,
    pub time: Duration,
}

/// `.ded` files under the paths, sorted; directories are walked recursively.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        walk(p, &mut out)?;
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(p: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
    if meta.is_dir() {
        let entries = std::fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        children.sort();
        for c in children {
            if c.is_dir() || c.extension().is_some_and(|e| e == "ded") {
                walk(&c, out)?;
            }
        }
    } else {
        out.push(p.to_path_buf());
    }
    Ok(())
}

/// What `ldfi test` does with one file.
#[derive(Debug, Clone)]
pub enum Entry {
    /// One header line to run.
    Run(Case),
    /// The file does not load or does not pass the static checks: a failure.
    Broken { file: PathBuf, message: String },
    /// The file loads but has no `// ldfi:` header line: skipped, and counted.
    NoHeader { file: PathBuf },
}

/// The entries of the files: one per header line. A file that fails to load or to pass
/// the static checks becomes one failing entry; a file without header lines one skipped
/// entry.
pub fn cases(files: &[PathBuf]) -> Vec<Entry> {
    let mut out = Vec::new();
    for f in files {
        match app::load_quiet(std::slice::from_ref(f)) {
            Ok((_, headers, _, _)) if headers.is_empty() => {
                out.push(Entry::NoHeader { file: f.clone() })
            }
            Ok((_, headers, _, _)) => out.extend(
                headers.into_iter().map(|h| Entry::Run(Case { file: f.clone(), header: h })),
            ),
            Err(failure) => out.push(Entry::Broken {
                file: f.clone(),
                message: crate::diag::render_all(&failure.diags, &failure.sources, false),
            }),
        }
    }
    out
}

fn verdict_matches(v: Verdict, e: Expect) -> bool {
    matches!(
        (v, e),
        (Verdict::Certified, Expect::Certified)
            | (Verdict::Counterexample, Expect::Counterexample)
            | (Verdict::FaultFreeViolation, Expect::FaultFreeViolation)
    )
}

/// Run one case.
pub fn run_case(case: &Case) -> CaseResult {
    let t0 = Instant::now();
    let (status, summary) = match run_inner(case) {
        Ok(x) => x,
        Err(e) => (Status::Error(e.clone()), e),
    };
    CaseResult { case: case.clone(), status, summary, time: t0.elapsed() }
}

fn run_inner(case: &Case) -> Result<(Status, String), String> {
    let files = vec![case.file.clone()];
    let (program, headers, _, _) = app::load_quiet(&files)
        .map_err(|f| crate::diag::render_all(&f.diags, &f.sources, false))?;
    let p: Prepared =
        app::resolve(program, headers, Some(&case.header), &BoundsArgs::default(), &files)?;
    let strategy = match case.header.strategy.as_deref() {
        None => Strategy::Ldfi,
        Some(s) => Strategy::parse(s).ok_or_else(|| format!("unknown strategy `{s}`"))?,
    };
    let params =
        SearchParams { timeout: Some(Duration::from_secs(600)), ..p.search_params(strategy) };
    let o = search::search(&p.program, &params, None).map_err(|e| e.to_diagnostic().message)?;
    let executions = crate::report::count(o.stats.executions, "execution", "executions");
    let mut summary = format!("{} -> {} ({})", p.bounds_text(), o.verdict.name(), executions);
    if let Some(cx) = o.counterexamples.first() {
        let _ = write!(summary, " [{}]", cx.scenario.to_faults(&p.program));
    }
    let status = match case.header.expect {
        None => Status::Skip("no expect= on the header line".into()),
        Some(e) if verdict_matches(o.verdict, e) => Status::Pass,
        Some(e) => Status::Fail(format!("expected {}, got {}", e.name(), o.verdict.name())),
    };
    Ok((status, summary))
}

/// `ldfi test`
pub fn main(args: &TestArgs) -> u8 {
    let defaulted = args.paths.is_empty();
    let paths = if defaulted { vec![PathBuf::from("specs")] } else { args.paths.clone() };
    let fail = |d: crate::diag::Diagnostic| {
        eprint!("{}", crate::diag::render(&d, &crate::syntax::SourceMap::default(), false));
        app::EXIT_ERROR
    };
    let files = match collect(&paths) {
        Ok(f) => f,
        Err(e) if defaulted => {
            return fail(
                crate::diag::Diagnostic::error("no-specs", e)
                    .note("without paths, `ldfi test` runs the specs under `specs` (the default)")
                    .hint("pass the spec files or directories to test: `ldfi test my_specs/`"),
            )
        }
        Err(e) => {
            return fail(
                crate::diag::Diagnostic::error("no-specs", e)
                    .hint("pass existing spec files or directories"),
            )
        }
    };
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        // A CI job with a wrong path must not pass forever.
        return fail(
            crate::diag::Diagnostic::error(
                "no-specs",
                format!("no *.ded files under {}", shown.join(", ")),
            )
            .hint(
                "`ldfi test` runs the header lines (`// ldfi: ...`) of *.ded files; check the path",
            ),
        );
    }
    let mut all = cases(&files);
    if let Some(shard) = args.shard {
        all = all
            .into_iter()
            .enumerate()
            .filter(|(i, _)| (*i as u32) % shard.count == shard.index - 1)
            .map(|(_, c)| c)
            .collect();
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.jobs.unwrap_or(1).max(1)).build();
    let run_all = || -> Vec<CaseResult> {
        all.par_iter()
            .map(|c| match c {
                Entry::Run(case) => run_case(case),
                Entry::Broken { file, message } => CaseResult {
                    case: Case { file: file.clone(), header: HeaderConfig::default() },
                    status: Status::Error(message.clone()),
                    summary: "does not load".into(),
                    time: Duration::ZERO,
                },
                Entry::NoHeader { file } => CaseResult {
                    case: Case { file: file.clone(), header: HeaderConfig::default() },
                    status: Status::Skip("no `// ldfi:` header line".into()),
                    summary: "not a test".into(),
                    time: Duration::ZERO,
                },
            })
            .collect()
    };
    let results = match pool {
        Ok(pool) => pool.install(run_all),
        Err(_) => run_all(),
    };
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for r in &results {
        let (tag, extra) = match &r.status {
            Status::Pass => {
                passed += 1;
                ("PASS", String::new())
            }
            Status::Fail(m) => {
                failed += 1;
                ("FAIL", format!("\n     {m}"))
            }
            Status::Error(m) => {
                failed += 1;
                ("ERROR", format!("\n     {}", m.trim_end().replace('\n', "\n     ")))
            }
            Status::Skip(m) => {
                skipped += 1;
                ("SKIP", format!(" ({m})"))
            }
        };
        println!(
            "{tag:<5} {}  {}  {:.0} ms{extra}",
            r.case.name(),
            r.summary,
            r.time.as_secs_f64() * 1000.0
        );
    }
    println!("\n{passed} passed, {failed} failed, {skipped} skipped");
    if let Some(path) = &args.junit {
        if let Err(e) = std::fs::write(path, junit(&results)) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return app::EXIT_ERROR;
        }
    }
    if failed > 0 {
        app::EXIT_VIOLATION
    } else {
        app::EXIT_OK
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// JUnit XML for CI systems.
pub fn junit(results: &[CaseResult]) -> String {
    let failures = results.iter().filter(|r| matches!(r.status, Status::Fail(_))).count();
    let errors = results.iter().filter(|r| matches!(r.status, Status::Error(_))).count();
    let skipped = results.iter().filter(|r| matches!(r.status, Status::Skip(_))).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"ldfi\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n",
        results.len()
    );
    for r in results {
        let _ = write!(
            out,
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">",
            xml(&r.case.file.display().to_string()),
            xml(&r.case.junit_name()),
            r.time.as_secs_f64()
        );
        match &r.status {
            Status::Pass => {}
            Status::Fail(m) => {
                let _ = write!(out, "<failure message=\"{}\"/>", xml(m));
            }
            Status::Error(m) => {
                let _ = write!(out, "<error message=\"{}\"/>", xml(m));
            }
            Status::Skip(m) => {
                let _ = write!(out, "<skipped message=\"{}\"/>", xml(m));
            }
        }
        let _ = write!(out, "<system-out>{}</system-out>", xml(&r.summary));
        out.push_str("</testcase>\n");
    }
    out.push_str("</testsuite>\n");
    out
}
