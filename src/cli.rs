//! The command line: clap argument types for every subcommand and the dispatcher.
//!
//! This module only parses arguments (and owns `lint`, `completions` and `man`, which
//! need nothing but the front end or clap); `check`, `run` and `explain` live in `app`,
//! `test` in `testrunner`.
//!
//! Exit codes: 0 success, 1 counterexample (for `check`), 2 usage or spec error.

use crate::analysis;
use crate::diag::{self, Diagnostic};
use crate::syntax::{self, SourceMap};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Exit code: a usage error or an error in the spec.
pub const EXIT_USAGE: u8 = 2;

/// ldfi: lineage-driven fault injection for Dedalus specs.
#[derive(Debug, Parser)]
#[command(name = "ldfi", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// When to color diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Color when stderr is a terminal and NO_COLOR is not set.
    Auto,
    /// Always color.
    Always,
    /// Plain text.
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and statically check specs; print every diagnostic.
    Lint(LintArgs),
    /// Search for a fault scenario that violates the spec's invariant.
    Check(CheckArgs),
    /// Simulate one run (optionally with given faults) and print it.
    Run(RunArgs),
    /// Explain why a tuple holds (its lineage), or why not.
    Explain(ExplainArgs),
    /// Run every spec's header configurations against their `expect=`.
    Test(TestArgs),
    /// Propose fault experiments from recorded request traces (OTLP, Jaeger, Zipkin).
    Traces(crate::traces::TracesArgs),
    /// Print a shell completion script (e.g. `ldfi completions bash > ~/.local/share/bash-completion/completions/ldfi`).
    Completions(CompletionsArgs),
    /// Print the man page (roff), e.g. `ldfi man | man -l -`.
    Man,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Args)]
pub struct LintArgs {
    /// Spec files; each is linted on its own with its includes (see `--merge`).
    #[arg(required = true, value_name = "FILES")]
    pub files: Vec<PathBuf>,
    /// Diagnostics as text on stderr, or as one JSON object on stdout (docs/json-schema.md).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Load all FILES in order as one program (Molly style) instead of one by one.
    #[arg(long)]
    pub merge: bool,
}

/// The bounds of a run or search (override the spec's header line).
#[derive(Debug, Clone, Default, Args)]
pub struct BoundsArgs {
    /// End of time: timesteps are 1..EOT.
    #[arg(long, short = 't', visible_alias = "EOT", value_name = "N")]
    pub eot: Option<u32>,
    /// End of finite failures: omissions only at send times t < EFF (0 = none).
    #[arg(long, short = 'f', visible_alias = "EFF", value_name = "N")]
    pub eff: Option<u32>,
    /// Largest number of nodes that may crash in one run.
    #[arg(long, short = 'c', value_name = "N")]
    pub crashes: Option<u32>,
    /// The nodes of the run, comma separated (default: inferred from the facts).
    #[arg(long, short = 'N', value_name = "a,b,c", value_delimiter = ',', value_parser = node_name)]
    pub nodes: Option<Vec<String>>,
}

/// Where and how results are written.
#[derive(Debug, Clone, Default, Args)]
pub struct OutputArgs {
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write an HTML report into DIR.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Write Graphviz DOT files into DIR.
    #[arg(long, value_name = "DIR")]
    pub dot: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Strategy {
    /// One exact SAT model of every run within the bounds (the lineage of every run at
    /// once), solved smallest counterexample first; every model is replayed. `auto`, the
    /// default of earlier versions, is another name for it.
    #[default]
    #[value(alias = "auto")]
    Ldfi,
    /// Seeded random fault scenarios (a baseline).
    Random,
    /// Every distinct effective fault scenario (the referee).
    Exhaustive,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Spec files; each is checked on its own with its includes (see `--merge`).
    #[arg(required = true, value_name = "FILES")]
    pub files: Vec<PathBuf>,
    /// Load all FILES in order as one program (Molly style) instead of one by one.
    #[arg(long)]
    pub merge: bool,
    #[command(flatten)]
    pub bounds: BoundsArgs,
    /// Search strategy.
    #[arg(long, value_enum)]
    pub strategy: Option<Strategy>,
    /// Stop after this many executions.
    #[arg(long, value_name = "N")]
    pub max_runs: Option<u64>,
    /// Stop after this long: seconds (`30`, `1.5`) or with a unit (`30s`, `2m`, `1h`, `500ms`).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub timeout: Option<std::time::Duration>,
    /// Seed for the random strategy.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Keep searching after the first counterexample and report all of them.
    #[arg(long)]
    pub all: bool,
    /// Accepted for scripts written for earlier versions; no effect (every search is
    /// sequential).
    #[arg(long, value_name = "N", hide = true)]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Accepted for scripts written for earlier versions (and Molly's); no effect: the
    /// exact model always accounts for `notin`.
    #[arg(long, hide = true)]
    pub no_negative_support: bool,
    /// Error out when one timestep holds more tuples than this (runaway rules).
    #[arg(long, value_name = "N", default_value_t = crate::eval::DEFAULT_TUPLE_CAP)]
    pub tuple_cap: usize,
    /// The memory budget of `ldfi`'s exact model: the most rule instances its grounding
    /// may visit (each costs about 100 bytes); past it, a clear error.
    #[arg(long, value_name = "N", default_value_t = crate::search::DEFAULT_GROUND_CAP)]
    pub ground_cap: u64,
    /// Work units (about one rule firing each) of exhaustive search `ldfi` tries before it
    /// grounds its model (0: none).
    #[arg(long, value_name = "N", default_value_t = crate::search::PROBE_WORK)]
    pub probe_work: u64,
}

/// `--omit a->b@2`: the message from `a` to `b` sent at time 2 is lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OmitArg {
    pub from: String,
    pub to: String,
    pub time: u32,
}

/// `--crash b@3`: node `b` crashes at time 3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashArg {
    pub node: String,
    pub time: u32,
}

/// `--shard I/N`: run the I-th of N slices of the specs (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardArg {
    pub index: u32,
    pub count: u32,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Spec files, loaded in order as one program.
    #[arg(required = true, value_name = "FILES")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub faults: FaultArgs,
}

/// A run's bounds, faults and output options (shared by `run` and `explain`).
#[derive(Debug, Clone, Default, Args)]
pub struct FaultArgs {
    #[command(flatten)]
    pub bounds: BoundsArgs,
    /// Omit a message: `FROM->TO@T` (repeatable).
    #[arg(long, value_name = "FROM->TO@T")]
    pub omit: Vec<OmitArg>,
    /// Crash a node: `NODE@T` (repeatable).
    #[arg(long, value_name = "NODE@T")]
    pub crash: Vec<CrashArg>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Do not record lineage (faster).
    #[arg(long)]
    pub no_lineage: bool,
    /// Error out when one timestep holds more tuples than this (runaway rules).
    #[arg(long, value_name = "N", default_value_t = crate::eval::DEFAULT_TUPLE_CAP)]
    pub tuple_cap: usize,
}

#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// Spec files, loaded in order as one program.
    #[arg(required = true, value_name = "FILES")]
    pub files: Vec<PathBuf>,
    /// The tuple to explain, e.g. `post("r1", "hello")@4`.
    /// Write it right after the files (options go after it).
    #[arg(value_name = "TUPLE")]
    pub tuple: String,
    #[command(flatten)]
    pub faults: FaultArgs,
}

#[derive(Debug, Clone, Args)]
pub struct TestArgs {
    /// Spec files or directories to search for `*.ded` (default: `specs`).
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,
    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Run only the I-th of N slices of the specs (1-based), e.g. `--shard 2/4`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<ShardArg>,
    /// Worker threads.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
}

/// A node name given to `--nodes`: not empty, no blanks around it.
fn node_name(s: &str) -> Result<String, String> {
    let name = s.trim();
    if name.is_empty() {
        return Err("empty node name: give node names separated by commas, e.g. `-N a,b,c`".into());
    }
    Ok(name.to_owned())
}

/// Parse a duration: a non-negative number of seconds (`30`, `1.5`), or a number with the
/// unit `ms`, `s`, `m` or `h` (`500ms`, `30s`, `2m`, `1.5h`). A tiny parser, because
/// `humantime` takes neither bare numbers nor fractions, which are what users type here.
pub fn duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "`{s}`: unknown unit `{unit}`; write e.g. `30`, `1.5`, `30s`, `2m`, `500ms`"
            ))
        }
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration; write e.g. `30`, `1.5`, `30s`, `2m`"))?;
    std::time::Duration::try_from_secs_f64(value * scale)
        .map_err(|_| format!("`{s}`: the duration is too large"))
}

/// Parse `NODE@T` with T a positive integer.
fn node_at(s: &str, what: &str, example: &str) -> Result<(String, u32), String> {
    let (node, time) =
        s.rsplit_once('@').ok_or_else(|| format!("expected {what}, e.g. `{example}`"))?;
    if node.is_empty() {
        return Err(format!("missing node name before `@` (expected {what}, e.g. `{example}`)"));
    }
    match time.parse::<u32>() {
        Ok(t) if t >= 1 => Ok((node.to_owned(), t)),
        _ => Err(format!(
            "`{time}` is not a timestep: write a positive integer after `@`, e.g. `{example}`"
        )),
    }
}

impl FromStr for OmitArg {
    type Err = String;
    fn from_str(s: &str) -> Result<OmitArg, String> {
        let (link, time) = node_at(s, "FROM->TO@T", "a->b@2")?;
        let (from, to) = link.split_once("->").ok_or("expected FROM->TO@T, e.g. `a->b@2`")?;
        if from.is_empty() || to.is_empty() {
            return Err("both nodes are needed: FROM->TO@T, e.g. `a->b@2`".to_owned());
        }
        if from == to {
            return Err(format!("`{from}->{to}`: a message to oneself is never lost"));
        }
        Ok(OmitArg { from: from.to_owned(), to: to.to_owned(), time })
    }
}

impl FromStr for CrashArg {
    type Err = String;
    fn from_str(s: &str) -> Result<CrashArg, String> {
        let (node, time) = node_at(s, "NODE@T", "b@3")?;
        Ok(CrashArg { node, time })
    }
}

impl FromStr for ShardArg {
    type Err = String;
    fn from_str(s: &str) -> Result<ShardArg, String> {
        let bad = || format!("`{s}`: expected I/N with 1 <= I <= N, e.g. `2/4`");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(ShardArg { index, count })
    }
}

impl fmt::Display for OmitArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}->{}@{}", self.from, self.to, self.time)
    }
}

impl fmt::Display for CrashArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.node, self.time)
    }
}

/// Entry point of the binary: parse `std::env::args` and run. Returns the exit code.
pub fn main() -> u8 {
    run_from(std::env::args_os())
}

/// Parse the given arguments (the first is the program name) and run.
pub fn run_from<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout and succeed; usage errors exit 2.
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { 0 };
        }
    };
    let color = use_color(cli.color);
    match cli.command {
        Command::Completions(args) => completions(args.shell, &mut std::io::stdout()),
        Command::Man => man(&mut std::io::stdout()),
        Command::Lint(args) => lint(&args, color),
        Command::Check(args) => crate::app::check(&args, color),
        Command::Run(args) => crate::app::run(&args, color),
        Command::Explain(args) => crate::app::explain(&args, color),
        Command::Test(args) => crate::testrunner::main(&args),
        Command::Traces(args) => crate::app::traces(&args),
    }
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
        }
    }
}

/// `ldfi completions SHELL`: the completion script, generated from the clap definitions.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) -> u8 {
    use clap::CommandFactory;
    clap_complete::generate(shell, &mut Cli::command(), "ldfi", out);
    0
}

/// `ldfi man`: the man page (roff), generated from the clap definitions.
pub fn man(out: &mut dyn std::io::Write) -> u8 {
    use clap::CommandFactory;
    match clap_mangen::Man::new(Cli::command()).render(out) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: cannot write the man page: {e}");
            EXIT_USAGE
        }
    }
}

/// The result of linting one unit: one named file with its includes (or, with `--merge`,
/// every named file as one program).
pub struct Linted {
    pub sources: SourceMap,
    pub diags: Vec<Diagnostic>,
    /// (files loaded, clauses, header lines) when the unit loaded.
    pub counts: Option<(usize, usize, usize)>,
}

impl Linted {
    pub fn errors(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }
}

/// Load and statically check one unit.
pub fn lint_unit(paths: &[&Path]) -> Linted {
    match syntax::load(paths) {
        Err((sources, diags)) => Linted { sources, diags, counts: None },
        Ok(loaded) => {
            let analysis = analysis::analyze(&loaded.program);
            let mut diags = loaded.warnings;
            diags.extend(analysis.diagnostics);
            let counts =
                (loaded.sources.files.len(), loaded.program.clauses.len(), loaded.headers.len());
            Linted { sources: loaded.sources, diags, counts: Some(counts) }
        }
    }
}

/// The units of a command line: each named file on its own, or all of them together.
pub fn units(files: &[PathBuf], merge: bool) -> Vec<Vec<&Path>> {
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    if merge {
        vec![paths]
    } else {
        paths.into_iter().map(|p| vec![p]).collect()
    }
}

/// `ldfi lint FILES...`: load, check, print every diagnostic; exit 2 on any error.
pub fn lint(args: &LintArgs, color: bool) -> u8 {
    let units = units(&args.files, args.merge);
    let linted: Vec<Linted> = units.iter().map(|u| lint_unit(u)).collect();
    let errors: usize = linted.iter().map(Linted::errors).sum();
    let total: usize = linted.iter().map(|l| l.diags.len()).sum();
    let warnings = total - errors;
    if args.format == Format::Json {
        println!("{}", lint_json(&units, &linted));
        return if errors > 0 { EXIT_USAGE } else { 0 };
    }
    let rendered: Vec<String> = linted
        .iter()
        .filter(|l| !l.diags.is_empty())
        .map(|l| diag::render_all(&l.diags, &l.sources, color))
        .collect();
    if !rendered.is_empty() {
        eprint!("{}", rendered.join("\n"));
    }
    if errors > 0 {
        eprintln!(
            "\nlint failed: {errors} error{}, {warnings} warning{}",
            plural(errors),
            plural(warnings)
        );
        return EXIT_USAGE;
    }
    let sum = |f: fn(&(usize, usize, usize)) -> usize| -> usize {
        linted.iter().filter_map(|l| l.counts.as_ref()).map(f).sum()
    };
    let (files, clauses, headers) = (sum(|c| c.0), sum(|c| c.1), sum(|c| c.2));
    let w = if warnings > 0 {
        format!(", {warnings} warning{}", plural(warnings))
    } else {
        String::new()
    };
    println!(
        "ok: {files} file{}, {clauses} clause{}, {headers} header line{}{w}",
        plural(files),
        plural(clauses),
        plural(headers)
    );
    0
}

/// `lint --format json`: one object for the whole command line (docs/json-schema.md).
fn lint_json(units: &[Vec<&Path>], linted: &[Linted]) -> String {
    #[derive(serde::Serialize)]
    struct Unit {
        files: Vec<String>,
        ok: bool,
        errors: usize,
        warnings: usize,
    }
    #[derive(serde::Serialize)]
    struct LintJson {
        schema_version: u32,
        ok: bool,
        errors: usize,
        warnings: usize,
        units: Vec<Unit>,
        diagnostics: Vec<diag::DiagnosticJson>,
    }
    let units: Vec<Unit> = units
        .iter()
        .zip(linted)
        .map(|(u, l)| Unit {
            files: u.iter().map(|p| p.display().to_string()).collect(),
            ok: l.errors() == 0,
            errors: l.errors(),
            warnings: l.diags.len() - l.errors(),
        })
        .collect();
    let errors = units.iter().map(|u| u.errors).sum();
    let warnings = units.iter().map(|u| u.warnings).sum();
    let diagnostics =
        linted.iter().flat_map(|l| l.diags.iter().map(|d| diag::to_json(d, &l.sources))).collect();
    let out = LintJson {
        schema_version: crate::report::json::SCHEMA_VERSION,
        ok: errors == 0,
        errors,
        warnings,
        units,
        diagnostics,
    };
    serde_json::to_string_pretty(&out).unwrap_or_default()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("ldfi").chain(args.iter().copied()))
    }

    #[test]
    fn check_flags_and_aliases() {
        let cli = parse(&[
            "check",
            "a.ded",
            "b.ded",
            "--EOT",
            "5",
            "-f",
            "2",
            "-c",
            "1",
            "-N",
            "a,b",
            "--strategy",
            "exhaustive",
            "--all",
            "--format",
            "json",
        ])
        .expect("parses");
        let Command::Check(c) = cli.command else { panic!("not check") };
        assert_eq!(c.files.len(), 2);
        assert_eq!((c.bounds.eot, c.bounds.eff, c.bounds.crashes), (Some(5), Some(2), Some(1)));
        assert_eq!(c.bounds.nodes, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(c.strategy, Some(Strategy::Exhaustive));
        assert!(c.all);
        assert_eq!(c.output.format, Format::Json);
    }

    #[test]
    fn run_faults() {
        let cli =
            parse(&["run", "a.ded", "--omit", "a->b@2", "--omit", "b->c@1", "--crash", "b@3"])
                .expect("parses");
        let Command::Run(r) = cli.command else { panic!("not run") };
        assert_eq!(r.faults.omit[0], OmitArg { from: "a".into(), to: "b".into(), time: 2 });
        assert_eq!(r.faults.crash[0].to_string(), "b@3");
        for bad in ["a-b@2", "a->a@2", "a->b@0", "a->b", "->b@1"] {
            assert!(parse(&["run", "x.ded", "--omit", bad]).is_err(), "{bad}");
        }
        assert!(parse(&["run", "x.ded", "--crash", "b@x"]).is_err());
    }

    #[test]
    fn explain_files_then_tuple() {
        let cli = parse(&["explain", "a.ded", "b.ded", "post(\"a\")@4", "--crash", "a@2"])
            .expect("parses");
        let Command::Explain(e) = cli.command else { panic!("not explain") };
        assert_eq!(e.files.len(), 2);
        assert_eq!(e.tuple, "post(\"a\")@4");
    }

    #[test]
    fn test_shard() {
        let cli = parse(&["test", "--shard", "2/4", "--junit", "j.xml"]).expect("parses");
        let Command::Test(t) = cli.command else { panic!("not test") };
        assert_eq!(t.shard, Some(ShardArg { index: 2, count: 4 }));
        assert!(parse(&["test", "--shard", "5/4"]).is_err());
        assert!(parse(&["test", "--shard", "0/4"]).is_err());
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["", "x", "2x", "-1", "1.2.3s", "1e400"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_node_names_are_rejected() {
        assert!(parse(&["check", "a.ded", "-N", ""]).is_err());
        assert!(parse(&["check", "a.ded", "-N", "a,,b"]).is_err());
        let cli = parse(&["check", "a.ded", "-N", "a, b"]).expect("parses");
        let Command::Check(c) = cli.command else { panic!("not check") };
        assert_eq!(c.bounds.nodes, Some(vec!["a".to_owned(), "b".to_owned()]));
    }

    #[test]
    fn usage_errors_exit_2() {
        assert_eq!(run_from(["ldfi", "check"]), EXIT_USAGE);
        assert_eq!(run_from(["ldfi", "frobnicate"]), EXIT_USAGE);
    }
}
