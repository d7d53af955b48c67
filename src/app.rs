//! The commands behind the CLI (`check`, `run`, `explain`, `test`): load and analyse a spec,
//! resolve its bounds (command line, then the spec's header line, then Molly's defaults),
//! call the pipeline and print. The clap definitions live in `cli`.
//!
//! Every error goes to stderr as a rendered diagnostic; with `--format json` stdout also gets
//! a JSON error object (docs/json-schema.md), so a consumer of stdout always gets JSON.

use crate::analysis::{self, ir};
use crate::cli::{BoundsArgs, CheckArgs, ExplainArgs, FaultArgs, Format, RunArgs};
use crate::config::HeaderConfig;
use crate::diag::{self, Diagnostic};
use crate::eval::{self, RunParams, Scenario};
use crate::faults::{Fault, FaultSet};
use crate::report;
use crate::search::{self, SearchParams, Strategy};
use crate::syntax::{self, ast, SourceMap};
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
    /// The loaded sources, so that run-time errors can point into the spec.
    pub sources: SourceMap,
}

impl Prepared {
    /// Search parameters for these bounds with every option at its default (no budget,
    /// seed 0, first counterexample only).
    pub fn search_params(&self, strategy: Strategy) -> SearchParams {
        SearchParams::new(self.eot, self.eff, self.crashes, self.nodes.clone(), strategy)
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

/// How a command reports: color for text diagnostics, and whether stdout is JSON.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    pub color: bool,
    pub json: bool,
}

/// An error that stops a command: its diagnostics and the sources they point into.
#[derive(Debug, Default)]
pub struct Failure {
    pub sources: SourceMap,
    pub diags: Vec<Diagnostic>,
}

impl Failure {
    /// A usage error (bad bounds, faults or arguments): no location in a spec.
    pub fn usage(msg: impl Into<String>) -> Failure {
        Failure { sources: SourceMap::default(), diags: vec![Diagnostic::error("usage", msg)] }
    }
    fn with_sources(d: Diagnostic, sources: &SourceMap) -> Failure {
        Failure { sources: sources.clone(), diags: vec![d] }
    }
}

/// The JSON error object printed on stdout by `--format json` when a command fails.
pub fn error_json(f: &Failure) -> String {
    #[derive(serde::Serialize)]
    struct ErrorJson {
        schema_version: u32,
        error: String,
        diagnostics: Vec<diag::DiagnosticJson>,
    }
    let first = f.diags.iter().find(|d| d.is_error()).or(f.diags.first());
    let out = ErrorJson {
        schema_version: report::json::SCHEMA_VERSION,
        error: first.map_or_else(|| "error".to_string(), |d| d.message.clone()),
        diagnostics: f.diags.iter().map(|d| diag::to_json(d, &f.sources)).collect(),
    };
    serde_json::to_string_pretty(&out).unwrap_or_default()
}

/// Report a failure: rendered on stderr, and as a JSON error object on stdout with JSON.
fn fail(out: Out, f: Failure) -> u8 {
    eprint!("{}", diag::render_all(&f.diags, &f.sources, out.color));
    if out.json {
        println!("{}", error_json(&f));
    }
    EXIT_ERROR
}

/// Print warnings that do not stop the command (on stderr).
fn warn(out: Out, diags: &[Diagnostic], sources: &SourceMap) {
    if !diags.is_empty() {
        eprint!("{}", diag::render_all(diags, sources, out.color));
    }
}

/// A loaded, analysed spec: the program, its header lines, its sources and the warnings.
pub type LoadedSpec = (ir::Program, Vec<HeaderConfig>, SourceMap, Vec<Diagnostic>);

/// Load and analyse files without printing; errors come back as a [`Failure`] (with the
/// warnings found alongside them).
pub fn load_quiet(files: &[PathBuf]) -> Result<LoadedSpec, Failure> {
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let loaded = syntax::load(&paths).map_err(|(sources, diags)| Failure { sources, diags })?;
    let analysis = analysis::analyze(&loaded.program);
    let mut diags = loaded.warnings.clone();
    diags.extend(analysis.diagnostics);
    match analysis.program {
        Some(p) => Ok((p, loaded.headers, loaded.sources, diags)),
        None => Err(Failure { sources: loaded.sources, diags }),
    }
}

/// Load and analyse files; warnings are printed, errors come back as a [`Failure`].
pub fn load_spec(
    files: &[PathBuf],
    out: Out,
) -> Result<(ir::Program, Vec<HeaderConfig>, SourceMap), Failure> {
    let (program, headers, sources, warnings) = load_quiet(files)?;
    warn(out, &warnings, &sources);
    Ok((program, headers, sources))
}

/// Load and analyse files, printing diagnostics. `Err` carries the exit code.
pub fn load(files: &[PathBuf], color: bool) -> Result<(ir::Program, Vec<HeaderConfig>), u8> {
    let out = Out { color, json: false };
    load_spec(files, out).map(|(p, h, _)| (p, h)).map_err(|f| fail(out, f))
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
                if n.trim().is_empty() {
                    return Err(
                        "empty node name in the node list: name every node, e.g. `a,b,c`".into()
                    );
                }
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
        sources: SourceMap::default(),
    })
}

fn prepare(files: &[PathBuf], args: &BoundsArgs, out: Out) -> Result<Prepared, Failure> {
    let (program, headers, sources) = load_spec(files, out)?;
    let first = headers.first().cloned();
    let p = resolve(program, headers, first.as_ref(), args, files).map_err(Failure::usage)?;
    Ok(Prepared { sources, ..p })
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

/// Faults that cannot happen within the bounds: a crash after EOT.
fn check_faults(args: &FaultArgs, eot: u32) -> Result<(), String> {
    match args.crash.iter().find(|c| c.time > eot) {
        Some(c) => Err(format!(
            "--crash {c} is after EOT {eot}: a crash happens at a timestep 1..{eot} (raise --eot or crash earlier)"
        )),
        None => Ok(()),
    }
}

/// `--omit` arguments that match no message the run sent (they change nothing).
pub fn unmatched_omissions(program: &ir::Program, run: &eval::Run) -> Vec<String> {
    run.scenario
        .omissions
        .iter()
        .filter(|&&(from, to, t)| {
            !run.messages.iter().any(|m| m.from == from && m.to == to && m.send_time == t)
        })
        .map(|&(from, to, t)| {
            let (a, b) = (program.symbols.name(from), program.symbols.name(to));
            format!("--omit {a}->{b}@{t} matches no message: {a} sends nothing to {b} at {t} in this run, so it changes nothing")
        })
        .collect()
}

/// Simulate one run with the given faults.
fn simulate(
    args: &FaultArgs,
    files: &[PathBuf],
    out: Out,
    lineage: bool,
) -> Result<(Prepared, eval::Run), Failure> {
    let p = prepare(files, &args.bounds, out)?;
    check_faults(args, p.eot).map_err(Failure::usage)?;
    let faults = fault_set(args);
    let scenario = Scenario::from_faults(&p.program, &p.nodes, &faults).map_err(Failure::usage)?;
    if scenario.crashes.len() > p.crashes as usize && args.bounds.crashes.is_some() {
        return Err(Failure::usage(format!(
            "{} crashes given but --crashes is {}",
            scenario.crashes.len(),
            p.crashes
        )));
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
            for w in unmatched_omissions(&p.program, &run) {
                eprintln!("warning: {w}");
            }
            Ok((p, run))
        }
        Err(e) => Err(Failure::with_sources(e.to_diagnostic(), &p.sources)),
    }
}

/// `ldfi run`
pub fn run(args: &RunArgs, color: bool) -> u8 {
    let out = Out { color, json: args.faults.output.format == Format::Json };
    let (p, run) = match simulate(&args.faults, &args.files, out, !args.faults.no_lineage) {
        Ok(x) => x,
        Err(f) => return fail(out, f),
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

/// Parse `rel(args)@T` into a relation, values and a time (EOT when not given), checking
/// the arity and that the time lies in 1..=EOT.
fn parse_tuple(
    text: &str,
    program: &ir::Program,
    eot: u32,
) -> Result<(ir::RelId, Vec<ir::Value>, u32), String> {
    let src = format!("{};", text.trim().trim_end_matches(';'));
    let loaded = syntax::load_str("<tuple>", &src)
        .map_err(|_| format!("`{text}` is not a tuple; write it like post(\"r1\", \"hello\")@4"))?;
    let Some(ast::Clause::Fact(f)) = loaded.program.clauses.first() else {
        return Err(format!("`{text}` is not a tuple; write it like post(\"r1\", \"hello\")@4"));
    };
    let rel = program
        .rel(&f.rel.name)
        .ok_or_else(|| format!("the spec has no relation `{}`", f.rel.name))?;
    let arity = program.rels[rel as usize].arity;
    if f.args.len() != arity {
        return Err(format!(
            "`{text}` has {} argument{} but `{}` has {arity} column{}",
            f.args.len(),
            if f.args.len() == 1 { "" } else { "s" },
            f.rel.name,
            if arity == 1 { "" } else { "s" }
        ));
    }
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
    let time = match f.time {
        None => eot,
        Some((t, _)) if t >= 1 && t <= eot as i64 => t as u32,
        Some((t, _)) => {
            return Err(format!("`{text}`: timestep {t} is outside the run's 1..{eot} (EOT {eot})"))
        }
    };
    Ok((rel, vals, time))
}

/// Flags that `explain` accepts from the shared run options but cannot honour.
fn explain_rejects(args: &ExplainArgs) -> Option<&'static str> {
    let o = &args.faults.output;
    if o.report.is_some() {
        Some("`--report` is not available on `explain`: use `ldfi run ... --report DIR` for the HTML lineage graph")
    } else if o.dot.is_some() {
        Some("`--dot` is not available on `explain`: use `ldfi run ... --dot DIR` for the DOT lineage graph")
    } else if args.faults.no_lineage {
        Some("`--no-lineage` makes no sense on `explain`: the explanation is the lineage")
    } else {
        None
    }
}

/// `ldfi explain`
pub fn explain(args: &ExplainArgs, color: bool) -> u8 {
    let out = Out { color, json: args.faults.output.format == Format::Json };
    if let Some(m) = explain_rejects(args) {
        return fail(out, Failure::usage(m));
    }
    let (p, run) = match simulate(&args.faults, &args.files, out, true) {
        Ok(x) => x,
        Err(f) => return fail(out, f),
    };
    let (rel, vals, time) = match parse_tuple(&args.tuple, &p.program, p.eot) {
        Ok(x) => x,
        Err(m) => return fail(out, Failure::usage(m)),
    };
    let found = run.tuples.find(rel, &vals, time);
    let when: Vec<u32> =
        (1..=run.eot).filter(|&t| run.tuples.find(rel, &vals, t).is_some()).collect();
    let rules: Vec<&ir::IrRule> = p.program.rules.iter().filter(|r| r.head_rel == rel).collect();
    if out.json {
        let j = explain_json(&p.program, &run, (rel, &vals, time), found, &when, &rules);
        println!("{}", serde_json::to_string_pretty(&j).unwrap_or_default());
        return EXIT_OK;
    }
    let shown = format!("{}@{}", p.program.show_tuple(rel, &vals), time);
    if let Some(id) = found {
        println!("{shown} holds. Its derivations:");
        print!("{}", report::text::why(&p.program, &run, id));
        return EXIT_OK;
    }
    println!("{shown} does not hold.");
    if when.is_empty() {
        println!("  it holds at no timestep of this run.");
    } else {
        let when: Vec<String> = when.iter().map(u32::to_string).collect();
        println!("  it holds at timesteps {} (explain one of those to see why).", when.join(", "));
    }
    // With faults, the failure-free run is the reference the why-not is told against.
    let faulty = !run.scenario.omissions.is_empty() || !run.scenario.crashes.is_empty();
    let params = RunParams {
        eot: p.eot,
        nodes: p.nodes.clone(),
        lineage: true,
        tuple_cap: args.faults.tuple_cap,
    };
    let reference =
        if faulty { eval::run(&p.program, &params, &Scenario::default()).ok() } else { None };
    let e = crate::lineage::why_not(&p.program, &run, reference.as_ref(), rel, &vals, time);
    print!("{}", report::text::explanation(&e, ""));
    EXIT_OK
}

/// `explain --format json` (docs/json-schema.md).
#[derive(serde::Serialize)]
struct ExplainJson {
    schema_version: u32,
    tuple: String,
    time: u32,
    holds: bool,
    /// Every timestep at which the tuple holds in this run.
    holds_at: Vec<u32>,
    /// The tuple's lineage: the explained tuple first (empty when it does not hold), then
    /// every tuple its derivations used; `body` entries are indexes into this list.
    lineage: Vec<LineageTupleJson>,
    /// The rules that derive the tuple's relation.
    rules: Vec<String>,
}

#[derive(serde::Serialize)]
struct LineageTupleJson {
    tuple: String,
    time: u32,
    derivations: Vec<DerivationJson>,
}

#[derive(serde::Serialize)]
struct DerivationJson {
    /// `rule`, `fact` or `crash`.
    source: &'static str,
    rule: Option<String>,
    message: Option<MessageRefJson>,
    body: Vec<usize>,
    notin: Vec<String>,
}

#[derive(serde::Serialize)]
struct MessageRefJson {
    from: String,
    to: String,
    sent: u32,
}

/// `explain --format json`: the tuple, whether it holds, and its lineage as a list of
/// tuples (the first is the explained one) whose derivations point at others by index.
fn explain_json(
    program: &ir::Program,
    run: &eval::Run,
    (rel, vals, time): (ir::RelId, &[ir::Value], u32),
    found: Option<eval::TupleId>,
    when: &[u32],
    rules: &[&ir::IrRule],
) -> ExplainJson {
    let mut order: Vec<eval::TupleId> = found.into_iter().collect();
    let mut index: std::collections::HashMap<eval::TupleId, usize> =
        order.iter().map(|&id| (id, 0)).collect();
    let mut lineage_out = Vec::new();
    let mut next = 0;
    while next < order.len() {
        let id = order[next];
        next += 1;
        let mut derivations = Vec::new();
        let firings = run.lineage.iter().flat_map(|l| l.firings_of(id).map(move |f| (l, f)));
        for (lineage, f) in firings {
            let body = lineage
                .body_of(f)
                .iter()
                .map(|b| {
                    *index.entry(*b).or_insert_with(|| {
                        order.push(*b);
                        order.len() - 1
                    })
                })
                .collect();
            let notin = lineage
                .negs_of(f)
                .map(|n| {
                    let args: Vec<String> = n
                        .pattern
                        .iter()
                        .map(|v| v.map_or("_".to_string(), |v| program.symbols.show(v).to_string()))
                        .collect();
                    format!("{}({})@{}", program.rel_name(n.rel), args.join(", "), n.time)
                })
                .collect();
            let (source, rule) = match f.source {
                eval::Source::Fact => ("fact", None),
                eval::Source::Crash => ("crash", None),
                eval::Source::Rule(r) => ("rule", Some(program.rules[r as usize].text.clone())),
            };
            let message = f.msg.map(|m| {
                let m = &run.messages[m as usize];
                MessageRefJson {
                    from: program.symbols.name(m.from).to_string(),
                    to: program.symbols.name(m.to).to_string(),
                    sent: m.send_time,
                }
            });
            derivations.push(DerivationJson { source, rule, message, body, notin });
        }
        let rec = run.tuples.rec(id);
        lineage_out.push(LineageTupleJson {
            tuple: program.show_tuple(rec.rel, &rec.vals),
            time: rec.time,
            derivations,
        });
    }
    ExplainJson {
        schema_version: report::json::SCHEMA_VERSION,
        tuple: program.show_tuple(rel, vals),
        time,
        holds: found.is_some(),
        holds_at: when.to_vec(),
        lineage: lineage_out,
        rules: rules.iter().map(|r| r.text.clone()).collect(),
    }
}

/// Search parameters from the prepared spec and the check flags.
pub fn search_params(p: &Prepared, strategy: Strategy, args: &CheckArgs) -> SearchParams {
    SearchParams {
        max_runs: args.max_runs,
        timeout: args.timeout,
        seed: args.seed.unwrap_or(0),
        all: args.all,
        tuple_cap: args.tuple_cap,
        ground_cap: args.ground_cap,
        probe_work: args.probe_work,
        ..p.search_params(strategy)
    }
}

/// `--jobs` when not given: the machine's cores (the output does not depend on it).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
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

/// What the failure-free run says about the invariant: `pre` tuples at EOT, and whether
/// `post` ever holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vacuity {
    pub pre_at_eot: usize,
    pub post_ever: bool,
}

/// Count the failure-free run's `pre` tuples at EOT and look for any `post` tuple.
pub fn vacuity(program: &ir::Program, baseline: &eval::Run) -> Vacuity {
    let pre_at_eot = program.pre_rel.map_or(0, |r| baseline.tuples_at(r, baseline.eot).len());
    let post_ever = program
        .post_rel
        .is_some_and(|r| (1..=baseline.eot).any(|t| !baseline.tuples_at(r, t).is_empty()));
    Vacuity { pre_at_eot, post_ever }
}

/// Warnings for an invariant that the failure-free run cannot exercise.
pub fn vacuity_warnings(v: Vacuity, eot: u32) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if v.pre_at_eot == 0 {
        out.push(
            Diagnostic::warning(
                "vacuous-pre",
                format!("`pre` is empty at EOT {eot} in the failure-free run: unless faults derive `pre` tuples, no run can violate the invariant, and a certification says nothing"),
            )
            .hint("check that the facts start the protocol and that EOT leaves time for `pre` to be derived (`ldfi run FILE` shows every relation)"),
        );
    }
    if !v.post_ever {
        out.push(
            Diagnostic::warning(
                "vacuous-post",
                "`post` never holds in the failure-free run: the protocol never reaches its good outcome even without faults",
            )
            .hint("`ldfi run FILE` shows what the run derives; check the rules that lead to `post`"),
        );
    }
    out
}

/// The exit code of several checks: an error beats a violation, which beats an exhausted
/// budget, which beats a certification.
pub fn worst(codes: &[u8]) -> u8 {
    [EXIT_ERROR, EXIT_VIOLATION, EXIT_BUDGET]
        .into_iter()
        .find(|c| codes.contains(c))
        .unwrap_or(EXIT_OK)
}

/// `ldfi check`: each file on its own (or all as one program with `--merge`); with several
/// and `--format json`, a JSON array with one object per file.
pub fn check(args: &CheckArgs, color: bool) -> u8 {
    let out = Out { color, json: args.output.format == Format::Json };
    let units: Vec<Vec<PathBuf>> = if args.merge {
        vec![args.files.clone()]
    } else {
        args.files.iter().map(|f| vec![f.clone()]).collect()
    };
    let mut codes = Vec::new();
    let mut docs = Vec::new();
    for (i, files) in units.iter().enumerate() {
        if i > 0 && !out.json {
            println!();
        }
        let (code, doc) = match check_one(args, files, out) {
            Ok(x) => x,
            Err(f) => {
                eprint!("{}", diag::render_all(&f.diags, &f.sources, out.color));
                (EXIT_ERROR, out.json.then(|| error_json(&f)))
            }
        };
        codes.push(code);
        docs.extend(doc);
    }
    match docs.len() {
        0 => {}
        1 if units.len() == 1 => println!("{}", docs[0]),
        _ => println!("[\n{}\n]", docs.join(",\n")),
    }
    worst(&codes)
}

/// The check JSON: the versioned report plus what the failure-free run says about `pre`.
#[derive(serde::Serialize)]
struct CheckJson<'a> {
    #[serde(flatten)]
    report: &'a report::json::Report,
    /// `pre` tuples at EOT in the failure-free run.
    pre_tuples: usize,
    /// Warnings about the spec as a whole (e.g. a vacuous invariant).
    warnings: Vec<diag::DiagnosticJson>,
}

/// Check one unit; returns the exit code and, with JSON, the document to print.
fn check_one(
    args: &CheckArgs,
    files: &[PathBuf],
    out: Out,
) -> Result<(u8, Option<String>), Failure> {
    let p = prepare(files, &args.bounds, out)?;
    if p.program.pre_rel.is_none() || p.program.post_rel.is_none() {
        return Err(Failure::usage(format!("{}: the spec defines no `pre` and `post` relations: there is no invariant to check (use `ldfi run` to simulate it)", p.files.join(" "))));
    }
    let strategy = strategy_of(args, p.headers.first()).map_err(Failure::usage)?;
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
    let mut outcome = result.map_err(|e| Failure::with_sources(e.to_diagnostic(), &p.sources))?;
    search::explainable(&p.program, &params, &mut outcome)
        .map_err(|e| Failure::with_sources(e.to_diagnostic(), &p.sources))?;
    for w in &outcome.baseline.warnings {
        eprintln!("warning: {w}");
    }
    let vac = vacuity(&p.program, &outcome.baseline);
    let vac_warnings = vacuity_warnings(vac, p.eot);
    warn(out, &vac_warnings, &p.sources);
    let mut doc = None;
    if args.output.format == Format::Json {
        let bounds = report::json::Bounds {
            eot: p.eot,
            eff: p.eff,
            crashes: p.crashes,
            nodes: p.nodes.iter().map(|n| p.program.symbols.name(*n).to_string()).collect(),
        };
        let r = report::json::report(&p.program, &outcome, &p.files, bounds, strategy.name());
        let j = CheckJson {
            report: &r,
            pre_tuples: vac.pre_at_eot,
            warnings: vac_warnings.iter().map(|d| diag::to_json(d, &p.sources)).collect(),
        };
        doc = Some(serde_json::to_string_pretty(&j).unwrap_or_default());
    } else {
        println!(
            "ldfi check {} ({}, strategy {})",
            p.files.join(" "),
            p.bounds_text(),
            strategy.name()
        );
        let replay = format!("ldfi run {} -t {} -f {}", p.files.join(" "), p.eot, p.eff);
        print!("{}", report::text::outcome(&p.program, &outcome, &p.bounds_text(), &replay));
        println!(
            "pre: {} tuple{} at EOT in the failure-free run",
            vac.pre_at_eot,
            if vac.pre_at_eot == 1 { "" } else { "s" }
        );
    }
    let replay = format!("ldfi run {} -t {} -f {}", p.files.join(" "), p.eot, p.eff);
    let meta = report_meta(&p, strategy.name(), replay);
    let json = args.output.format == Format::Json;
    if let Some(dir) = &args.output.report {
        let written = report::html::write_check(dir, &p.program, &outcome, &meta);
        if let Err(code) = announce(written, "report", json) {
            return Ok((code, doc));
        }
    }
    if let Some(dir) = &args.output.dot {
        let written = report::dot::write_check(dir, &p.program, &outcome);
        if let Err(code) = announce(written.map(|_| dir.clone()), "DOT files", json) {
            return Ok((code, doc));
        }
    }
    let code = match outcome.verdict {
        search::Verdict::Certified => EXIT_OK,
        search::Verdict::Counterexample | search::Verdict::FaultFreeViolation => EXIT_VIOLATION,
        search::Verdict::BudgetExhausted => EXIT_BUDGET,
    };
    Ok((code, doc))
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

/// `ldfi traces`: trace-driven LDFI (see `crate::traces`).
pub fn traces(args: &crate::traces::TracesArgs) -> u8 {
    crate::traces::main(args)
}
