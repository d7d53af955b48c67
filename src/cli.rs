//! The command line: clap argument types for every subcommand and the dispatcher.
//!
//! This module only parses arguments and prints; the work lives in the library stages.
//! `lint` is implemented (load + static checks); `check`, `run`, `explain` and `test` parse
//! all their flags (DESIGN.md, "CLI") and are wired to the pipeline as it lands.
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
}

#[derive(Debug, Clone, Args)]
pub struct LintArgs {
    /// Spec files, loaded in order as one program.
    #[arg(required = true, value_name = "FILES")]
    pub files: Vec<PathBuf>,
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
    #[arg(long, short = 'N', value_name = "a,b,c", value_delimiter = ',')]
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
    /// ldfi and exhaustive taking turns by deterministic work; the first verdict decides.
    #[default]
    Auto,
    /// Lineage-driven: hypotheses from the lineage of good runs, solved with SAT.
    Ldfi,
    /// Seeded random fault scenarios (a baseline).
    Random,
    /// Every distinct effective fault scenario (the referee).
    Exhaustive,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Spec files, loaded in order as one program.
    #[arg(required = true, value_name = "FILES")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub bounds: BoundsArgs,
    /// Search strategy.
    #[arg(long, value_enum)]
    pub strategy: Option<Strategy>,
    /// Stop after this many executions.
    #[arg(long, value_name = "N")]
    pub max_runs: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Seed for the random strategy.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Keep searching after the first counterexample and report all of them.
    #[arg(long)]
    pub all: bool,
    /// Worker threads.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Ignore negative support (faster, may miss bugs hidden behind `notin`).
    #[arg(long)]
    pub no_negative_support: bool,
    /// Error out when one timestep holds more tuples than this (runaway rules).
    #[arg(long, value_name = "N", default_value_t = crate::eval::DEFAULT_TUPLE_CAP)]
    pub tuple_cap: usize,
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

/// `ldfi lint FILES...`: load, check, print every diagnostic; exit 2 on any error.
pub fn lint(args: &LintArgs, color: bool) -> u8 {
    let paths: Vec<&Path> = args.files.iter().map(PathBuf::as_path).collect();
    let (sources, diags, summary) = match syntax::load(&paths) {
        Err((sources, diags)) => (sources, diags, None),
        Ok(loaded) => {
            let analysis = analysis::analyze(&loaded.program);
            let mut diags = loaded.warnings;
            diags.extend(analysis.diagnostics);
            let summary = format!(
                "{} file{}, {} clause{}, {} header line{}",
                loaded.sources.files.len(),
                plural(loaded.sources.files.len()),
                loaded.program.clauses.len(),
                plural(loaded.program.clauses.len()),
                loaded.headers.len(),
                plural(loaded.headers.len()),
            );
            (loaded.sources, diags, Some(summary))
        }
    };
    report(&diags, &sources, color, summary)
}

/// Print diagnostics and a one-line verdict; the exit code says whether there was an error.
fn report(diags: &[Diagnostic], sources: &SourceMap, color: bool, summary: Option<String>) -> u8 {
    if !diags.is_empty() {
        eprint!("{}", diag::render_all(diags, sources, color));
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    match summary {
        Some(s) if errors == 0 => {
            let w = if warnings > 0 {
                format!(", {warnings} warning{}", plural(warnings))
            } else {
                String::new()
            };
            println!("ok: {s}{w}");
            0
        }
        _ => {
            eprintln!(
                "\nlint failed: {errors} error{}, {warnings} warning{}",
                plural(errors),
                plural(warnings)
            );
            EXIT_USAGE
        }
    }
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
    fn usage_errors_exit_2() {
        assert_eq!(run_from(["ldfi", "check"]), EXIT_USAGE);
        assert_eq!(run_from(["ldfi", "frobnicate"]), EXIT_USAGE);
    }
}
