//! The commands behind the CLI (`check`, `run`, `explain`, `test`): load and analyse a spec,
//! resolve its bounds (command line, then the spec's header line, then Molly's defaults),
//! call the pipeline and print. The clap definitions live in `cli`.

use crate::analysis::{self, ir};
use crate::cli::{BoundsArgs, CheckArgs, ExplainArgs, FaultArgs, Format, RunArgs};
use crate::config::HeaderConfig;
use crate::diag::{self, Diagnostic};
use crate::eval::{self, RunParams, Scenario};
use crate::faults::{Fault, FaultSet};
use crate::report;
use crate::search::{self, SearchParams, Strategy};
use crate::syntax::{self, ast};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const EXIT_OK: u8 = 0;
pub const EXIT_VIOLATION: u8 = 1;
pub const EXIT_ERROR: u8 = 2;
pub const EXIT_BUDGET: u8 = 3;

/// Molly's defaults, so that Molly users get the bounds they expect.
pub const DEFAULT_EOT: u32 = 3;
pub const DEFAULT_EFF: u32 = 2;
pub const DEFAULT_CRASHES: u32 = 0;

/// A loaded, checked spec with resolved bounds.
pub struct Prepared {
    pub program: ir::Program,
    pub headers: Vec<HeaderConfig>,
    pub eot: u32,
    pub eff: u32,
    pub crashes: u32,
    pub nodes: Vec<ir::Sym>,
    pub files: Vec<String>,
}

impl Prepared {
    /// Search parameters for these bounds with every option at its default (no budget,
    /// seed 0, first counterexample only, negative support on, one worker).
    pub fn search_params(&self, strategy: Strategy) -> SearchParams {
        SearchParams {
            eot: self.eot,
            eff: self.eff,
            crashes: self.crashes,
            nodes: self.nodes.clone(),
            strategy,
            max_runs: None,
            timeout: None,
            seed: 0,
            all: false,
            negative_support: true,
            tuple_cap: crate::eval::DEFAULT_TUPLE_CAP,
            jobs: 1,
        }
    }

    pub fn bounds_text(&self) -> String {
        format!(
            "eot={} eff={} crashes={} nodes={}",
            self.eot,
            self.eff,
            self.crashes,
            report::lanes::node_list(&self.program, &self.nodes)
        )
    }
}

/// Load and analyse files, printing diagnostics. `Err` carries the exit code.
pub fn load(files: &[PathBuf], color: bool) -> Result<(ir::Program, Vec<HeaderConfig>), u8> {
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let loaded = match syntax::load(&paths) {
        Ok(l) => l,
        Err((sources, diags)) => {
            eprint!("{}", diag::render_all(&diags, &sources, color));
            return Err(EXIT_ERROR);
        }
    };
    let analysis = analysis::analyze(&loaded.program);
    let mut diags = loaded.warnings.clone();
    diags.extend(analysis.diagnostics);
    if !diags.is_empty() {
        eprint!("{}", diag::render_all(&diags, &loaded.sources, color));
    }
    match analysis.program {
        Some(p) => Ok((p, loaded.headers)),
        None => Err(EXIT_ERROR),
    }
}

fn usage(msg: impl Into<String>, color: bool) -> u8 {
    let d = Diagnostic::error("usage", msg);
    eprint!("{}", diag::render_all(&[d], &Default::default(), color));
    EXIT_ERROR
}

/// Resolve bounds: command line over header line over defaults; check they make sense.
pub fn resolve(
    mut program: ir::Program,
    headers: Vec<HeaderConfig>,
    header: Option<&HeaderConfig>,
    args: &BoundsArgs,
    files: &[PathBuf],
) -> Result<Prepared, String> {
    let h = header.cloned().unwrap_or_default();
    let eot = args.eot.or(h.eot).unwrap_or(DEFAULT_EOT);
    let eff = args.eff.or(h.eff).unwrap_or(DEFAULT_EFF.min(eot));
    let crashes = args.crashes.or(h.crashes).unwrap_or(DEFAULT_CRASHES);
    let names = args.nodes.clone().or(h.nodes);
    let nodes: Vec<ir::Sym> = match names {
        Some(names) => {
            let mut v = Vec::new();
            for n in names {
                let s = program.symbols.intern(n.trim());
                if !v.contains(&s) {
                    v.push(s);
                }
            }
            v
        }
        None => program.inferred_nodes.clone(),
    };
    if eot == 0 {
        return Err("impossible bounds: EOT must be at least 1 (timesteps are 1..EOT)".into());
    }
    if eot > 10_000 {
        return Err(format!("impossible bounds: EOT {eot} is larger than the supported 10000"));
    }
    if eff > eot {
        return Err(format!("impossible bounds: EFF {eff} is after EOT {eot}; omissions happen at send times t < EFF <= EOT"));
    }
    if nodes.is_empty() {
        return Err(
            "no nodes: no fact names a node in a location column; pass --nodes a,b,c".into()
        );
    }
    if crashes as usize > nodes.len() {
        return Err(format!("impossible bounds: {crashes} crashes but only {} nodes", nodes.len()));
    }
    Ok(Prepared {
        program,
        headers,
        eot,
        eff,
        crashes,
        nodes,
        files: files.iter().map(|p| p.display().to_string()).collect(),
    })
}

fn prepare(files: &[PathBuf], args: &BoundsArgs, color: bool) -> Result<Prepared, u8> {
    let (program, headers) = load(files, color)?;
    let first = headers.first().cloned();
    resolve(program, headers, first.as_ref(), args, files).map_err(|m| usage(m, color))
}

fn fault_set(args: &FaultArgs) -> FaultSet {
    let mut set = FaultSet::default();
    for o in &args.omit {
        set.0.insert(Fault::Omit { from: o.from.clone(), to: o.to.clone(), time: o.time });
    }
    for c in &args.crash {
        set.0.insert(Fault::Crash { node: c.node.clone(), time: c.time });
    }
    set
}

/// Simulate one run with the given faults.
fn simulate(
    args: &FaultArgs,
    files: &[PathBuf],
    color: bool,
    lineage: bool,
) -> Result<(Prepared, eval::Run), u8> {
    let p = prepare(files, &args.bounds, color)?;
    let faults = fault_set(args);
    let scenario =
        Scenario::from_faults(&p.program, &p.nodes, &faults).map_err(|m| usage(m, color))?;
    if scenario.crashes.len() > p.crashes as usize && args.bounds.crashes.is_some() {
        return Err(usage(
            format!("{} crashes given but --crashes is {}", scenario.crashes.len(), p.crashes),
            color,
        ));
    }
    for &(_, _, t) in &scenario.omissions {
        if t >= p.eff && p.eff > 0 {
            eprintln!(
                "warning: an omission at {t} is at or after EFF {}; it is applied anyway",
                p.eff
            );
        }
    }
    let params =
        RunParams { eot: p.eot, nodes: p.nodes.clone(), lineage, tuple_cap: args.tuple_cap };
    match eval::run(&p.program, &params, &scenario) {
        Ok(run) => {
            for w in &run.warnings {
                eprintln!("warning: {w}");
            }
            Ok((p, run))
        }
        Err(e) => {
            eprint!("{}", diag::render_all(&[e.to_diagnostic()], &Default::default(), color));
            Err(EXIT_ERROR)
        }
    }
}

/// `ldfi run`
pub fn run(args: &RunArgs, color: bool) -> u8 {
    let (p, run) = match simulate(&args.faults, &args.files, color, !args.faults.no_lineage) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let faults = run.scenario.to_faults(&p.program);
    if args.faults.output.format == Format::Json {
        let json = serde_json::json!({
            "schema_version": report::json::SCHEMA_VERSION,
            "bounds": { "eot": p.eot, "eff": p.eff, "crashes": p.crashes,
                        "nodes": p.nodes.iter().map(|n| p.program.symbols.name(*n)).collect::<Vec<_>>() },
            "faults": faults,
            "violated": run.is_violation(),
            "violations": report::text::violations(&p.program, &run),
            "messages": report::json::messages(&p.program, &run),
        });
        println!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
    } else {
        println!("run of {} with {} ({})", p.files.join(" "), faults, p.bounds_text());
        print!("{}", report::text::tables(&p.program, &run));
        println!("── messages ──");
        print!("{}", report::text::diagram(&p.program, &run));
        print_invariant(&p.program, &run);
    }
    let replay = format!("ldfi run {} -t {} -f {}", p.files.join(" "), p.eot, p.eff);
    let meta = report_meta(&p, "", replay);
    let json = args.faults.output.format == Format::Json;
    if let Some(dir) = &args.faults.output.report {
        let written = report::html::write_run(dir, &p.program, &run, &meta);
        if let Err(code) = announce(written, "report", json) {
            return code;
        }
    }
    if let Some(dir) = &args.faults.output.dot {
        let written = report::dot::write_run(dir, &p.program, &run);
        if let Err(code) = announce(written.map(|_| dir.clone()), "DOT files", json) {
            return code;
        }
    }
    if run.is_violation() {
        EXIT_VIOLATION
    } else {
        EXIT_OK
    }
}

fn print_invariant(program: &ir::Program, run: &eval::Run) {
    match (program.pre_rel, program.post_rel) {
        (Some(_), Some(_)) if run.is_violation() => {
            println!("invariant VIOLATED at EOT {}:", run.eot);
            for v in report::text::violations(program, run) {
                println!("  {v}");
            }
        }
        (Some(_), Some(_)) => println!("invariant holds at EOT {}: every pre tuple has its post tuple", run.eot),
        _ => println!("no invariant: the spec defines no `pre`/`post` relations, so it can be simulated but not checked"),
    }
}

/// Parse `rel(args)@T` into a relation, values and a time.
fn parse_tuple(
    text: &str,
    program: &ir::Program,
) -> Result<(ir::RelId, Vec<ir::Value>, Option<u32>), String> {
    let src = format!("{};", text.trim().trim_end_matches(';'));
    let loaded = syntax::load_str("<tuple>", &src)
        .map_err(|_| format!("`{text}` is not a tuple; write it like post(\"r1\", \"hello\")@4"))?;
    let Some(ast::Clause::Fact(f)) = loaded.program.clauses.first() else {
        return Err(format!("`{text}` is not a tuple; write it like post(\"r1\", \"hello\")@4"));
    };
    let rel = program
        .rel(&f.rel.name)
        .ok_or_else(|| format!("the spec has no relation `{}`", f.rel.name))?;
    let mut vals = Vec::new();
    for a in &f.args {
        let v = match &a.kind {
            ast::ExprKind::Str(s) => ir::Value::Sym(
                program.symbols.get(s).ok_or_else(|| format!("no tuple mentions \"{s}\""))?,
            ),
            ast::ExprKind::Int(i) => ir::Value::Int(*i),
            _ => return Err(format!("`{text}`: arguments must be constants")),
        };
        vals.push(v);
    }
    Ok((rel, vals, f.time.map(|(t, _)| t as u32)))
}

/// `ldfi explain`
pub fn explain(args: &ExplainArgs, color: bool) -> u8 {
    let (p, run) = match simulate(&args.faults, &args.files, color, true) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let (rel, vals, time) = match parse_tuple(&args.tuple, &p.program) {
        Ok(x) => x,
        Err(m) => return usage(m, color),
    };
    let time = time.unwrap_or(p.eot);
    let shown = format!("{}@{}", p.program.show_tuple(rel, &vals), time);
    if let Some(id) = run.tuples.find(rel, &vals, time) {
        println!("{shown} holds. Its derivations:");
        print!("{}", report::text::why(&p.program, &run, id));
        return EXIT_OK;
    }
    println!("{shown} does not hold.");
    let when: Vec<String> = (1..=run.eot)
        .filter(|&t| run.tuples.find(rel, &vals, t).is_some())
        .map(|t| t.to_string())
        .collect();
    if when.is_empty() {
        println!("  it holds at no timestep of this run.");
    } else {
        println!("  it holds at timesteps {} (explain one of those to see why).", when.join(", "));
    }
    let rules: Vec<&ir::IrRule> = p.program.rules.iter().filter(|r| r.head_rel == rel).collect();
    if rules.is_empty() {
        println!("  no rule derives `{}`; only facts could.", p.program.rel_name(rel));
    } else {
        println!("  the rules that could derive it (none fired with these values at {time}):");
        for r in rules {
            println!("    {}", r.text);
        }
    }
    EXIT_OK
}

/// Search parameters from the prepared spec and the check flags.
pub fn search_params(p: &Prepared, strategy: Strategy, args: &CheckArgs) -> SearchParams {
    SearchParams {
        max_runs: args.max_runs,
        timeout: args.timeout.map(Duration::from_secs),
        seed: args.seed.unwrap_or(0),
        all: args.all,
        negative_support: !args.no_negative_support,
        tuple_cap: args.tuple_cap,
        jobs: args.jobs.unwrap_or(1).max(1),
        ..p.search_params(strategy)
    }
}

fn strategy_of(args: &CheckArgs, header: Option<&HeaderConfig>) -> Result<Strategy, String> {
    if let Some(s) = args.strategy {
        return Ok(match s {
            crate::cli::Strategy::Ldfi => Strategy::Ldfi,
            crate::cli::Strategy::Random => Strategy::Random,
            crate::cli::Strategy::Exhaustive => Strategy::Exhaustive,
        });
    }
    match header.and_then(|h| h.strategy.as_deref()) {
        None => Ok(Strategy::Ldfi),
        Some(s) => {
            Strategy::parse(s).ok_or_else(|| format!("unknown strategy `{s}` in the header line"))
        }
    }
}

/// `ldfi check`
pub fn check(args: &CheckArgs, color: bool) -> u8 {
    let p = match prepare(&args.files, &args.bounds, color) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if p.program.pre_rel.is_none() || p.program.post_rel.is_none() {
        return usage("the spec defines no `pre` and `post` relations: there is no invariant to check (use `ldfi run` to simulate it)", color);
    }
    let strategy = match strategy_of(args, p.headers.first()) {
        Ok(s) => s,
        Err(m) => return usage(m, color),
    };
    let params = search_params(&p, strategy, args);
    let counters = std::sync::Arc::new(Counters::default());
    let exhaustive = strategy == Strategy::Exhaustive;
    let bar = progress_bar(args.output.format == Format::Text, exhaustive, &counters);
    let tick = |p: &search::Progress| {
        if bar.is_some() {
            counters.store(p);
        }
    };
    // Ctrl-C stops the search cleanly and reports what it found so far.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&stop);
    let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed));
    let result = search::search_until(&p.program, &params, Some(&tick), &stop);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            eprint!("{}", diag::render_all(&[e.to_diagnostic()], &Default::default(), color));
            return EXIT_ERROR;
        }
    };
    if args.output.format == Format::Json {
        let bounds = report::json::Bounds {
            eot: p.eot,
            eff: p.eff,
            crashes: p.crashes,
            nodes: p.nodes.iter().map(|n| p.program.symbols.name(*n).to_string()).collect(),
        };
        let r = report::json::report(&p.program, &outcome, &p.files, bounds, strategy.name());
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    } else {
        println!(
            "ldfi check {} ({}, strategy {})",
            p.files.join(" "),
            p.bounds_text(),
            strategy.name()
        );
        let replay = format!("ldfi run {} -t {} -f {}", p.files.join(" "), p.eot, p.eff);
        print!("{}", report::text::outcome(&p.program, &outcome, &p.bounds_text(), &replay));
    }
    let replay = format!("ldfi run {} -t {} -f {}", p.files.join(" "), p.eot, p.eff);
    let meta = report_meta(&p, strategy.name(), replay);
    let json = args.output.format == Format::Json;
    if let Some(dir) = &args.output.report {
        let written = report::html::write_check(dir, &p.program, &outcome, &meta);
        if let Err(code) = announce(written, "report", json) {
            return code;
        }
    }
    if let Some(dir) = &args.output.dot {
        let written = report::dot::write_check(dir, &p.program, &outcome);
        if let Err(code) = announce(written.map(|_| dir.clone()), "DOT files", json) {
            return code;
        }
    }
    match outcome.verdict {
        search::Verdict::Certified => EXIT_OK,
        search::Verdict::Counterexample | search::Verdict::FaultFreeViolation => EXIT_VIOLATION,
        search::Verdict::BudgetExhausted => EXIT_BUDGET,
    }
}

/// What the HTML report says about the spec and its bounds.
fn report_meta(p: &Prepared, strategy: &str, replay: String) -> report::html::Meta {
    report::html::Meta {
        files: p.files.clone(),
        bounds: p.bounds_text(),
        strategy: strategy.to_string(),
        replay,
        header: p.headers.first().map(report::html::header_text),
    }
}

/// Print where a report went (on stderr with `--format json`, to keep stdout JSON).
fn announce(written: std::io::Result<PathBuf>, what: &str, json: bool) -> Result<(), u8> {
    match written {
        Ok(path) if json => eprintln!("{what} written to {}", path.display()),
        Ok(path) => println!("{what} written to {}", path.display()),
        Err(e) => {
            eprintln!("error: could not write the {what}: {e}");
            return Err(EXIT_ERROR);
        }
    }
    Ok(())
}

/// What the search has done so far, shared with the progress bar's drawing thread.
#[derive(Default)]
struct Counters {
    executions: std::sync::atomic::AtomicU64,
    timesteps: std::sync::atomic::AtomicU64,
    memo_hits: std::sync::atomic::AtomicU64,
}

impl Counters {
    fn store(&self, p: &search::Progress) {
        use std::sync::atomic::Ordering::Relaxed;
        self.executions.store(p.executions, Relaxed);
        self.timesteps.store(p.timesteps, Relaxed);
        self.memo_hits.store(p.memo_hits, Relaxed);
    }
    fn load(&self) -> search::Progress {
        use std::sync::atomic::Ordering::Relaxed;
        search::Progress {
            executions: self.executions.load(Relaxed),
            timesteps: self.timesteps.load(Relaxed),
            memo_hits: self.memo_hits.load(Relaxed),
        }
    }
}

/// A progress spinner on a terminal (stderr) for text output, nothing otherwise (not for
/// JSON, not when stderr is not a terminal, not under CI): elapsed time, executions and,
/// for the exhaustive search, timesteps simulated, branches cut and a rate.
fn progress_bar(
    text: bool,
    exhaustive: bool,
    counters: &std::sync::Arc<Counters>,
) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !text || !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
        return None;
    }
    let counters = std::sync::Arc::clone(counters);
    let work = move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
        let line = report::text::progress_line(&counters.load(), exhaustive, state.elapsed());
        let _ = w.write_str(&line);
    };
    let style = indicatif::ProgressStyle::with_template("{spinner} {elapsed} {work}").ok()?;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(style.with_key("work", work));
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}
