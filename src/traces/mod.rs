//! Trace-driven LDFI (`ldfi traces`): lineage from the request traces a system already
//! records instead of from a spec, after Alvaro et al., "Automating Failure Testing
//! Research at Internet Scale" (SoCC 2016).
//!
//! Each successful request's call graph is the lineage of its success; requests are
//! grouped into classes; for each class the solver proposes the smallest sets of services
//! (or calls) whose failure could cut every way the class was seen to succeed. Each
//! experiment injects one set; `--learn` reads the traces recorded while it ran: requests
//! that still succeeded show redundancy (their paths are learned), a request that failed
//! is a bug. Stages: [`formats`] (OTLP/JSON, Jaeger, Zipkin -> spans), [`lineage`] (spans
//! -> requests and what they needed), [`solve`] (minimal cuts with rustsat), [`state`]
//! (the learned state, experiments, the `--learn` step), [`inject`] (Istio and Toxiproxy
//! fault specs), and the text rendering here.

pub mod formats;
pub mod inject;
pub mod lineage;
pub mod solve;
pub mod state;

use crate::cli::Format;
use clap::Args;
use state::{FaultOn, State};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Default fault budget.
pub const DEFAULT_FAULTS: u32 = 2;

#[derive(Debug, Clone, Args)]
pub struct TracesArgs {
    /// Trace files (OTLP/JSON, Jaeger JSON or Zipkin v2 JSON; told apart by content). With
    /// `--learn`, the traces recorded while the experiment ran.
    #[arg(required = true, value_name = "FILES")]
    pub files: Vec<PathBuf>,
    /// Largest number of faults in one experiment (default 2; with `--learn`, the
    /// previous state's).
    #[arg(long, short = 'k', value_name = "K")]
    pub faults: Option<u32>,
    /// What fails: a whole service, or one call edge caller -> callee (default service).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub fault_on: Option<FaultOn>,
    /// Group requests by this root-span attribute (default: root service + operation).
    #[arg(long, value_name = "ATTR")]
    pub group_by: Option<String>,
    /// The state of the previous step (its `--format json` output or `--state` file): the
    /// FILES are the traces recorded while one of its experiments ran.
    #[arg(long, value_name = "PREVIOUS.json")]
    pub learn: Option<PathBuf>,
    /// With `--learn`: which of the previous step's experiments ran (its id; default 1).
    #[arg(long, value_name = "ID", requires = "learn")]
    pub experiment: Option<u32>,
    /// Output format on stdout (json = the state document).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the state document to FILE (may be the `--learn` file).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Write each experiment's fault specs into DIR (`eN.istio.json`, `eN.toxiproxy.json`).
    #[arg(long, value_name = "DIR")]
    pub inject_dir: Option<PathBuf>,
    /// Propose at most this many experiments.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_experiments: usize,
}

/// Exit codes: 0 experiments proposed or none left, 1 a bug, 2 an error.
pub fn main(args: &TracesArgs) -> u8 {
    match run(args) {
        Ok((state, text)) => {
            let out = match args.format {
                Format::Text => text,
                Format::Json => to_json(&state) + "\n",
            };
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes());
            u8::from(!state.bugs.is_empty())
        }
        Err(e) => {
            eprintln!("{e}");
            crate::app::EXIT_ERROR
        }
    }
}

/// The state document as pretty JSON (deterministic).
pub fn to_json(state: &State) -> String {
    serde_json::to_string_pretty(state).unwrap_or_default()
}

/// Do the work: returns the new state and its text rendering, or an error message.
pub fn run(args: &TracesArgs) -> Result<(State, String), String> {
    let mut spans = Vec::new();
    for f in &args.files {
        spans.extend(formats::read_file(f).map_err(|e| e.to_string())?);
    }
    let mut warnings = Vec::new();
    let mut state = match &args.learn {
        None => {
            let mut s = State::new(
                args.fault_on.unwrap_or(FaultOn::Service),
                args.faults.unwrap_or(DEFAULT_FAULTS),
                args.group_by.clone(),
            );
            let reqs = lineage::requests(&spans, &grouping(&s.group_by));
            if reqs.is_empty() {
                return Err(no_requests(args));
            }
            s.learn(&reqs, true);
            s
        }
        Some(prev) => {
            let mut s = read_state(prev)?;
            if let Some(on) = args.fault_on.filter(|on| *on != s.fault_on) {
                return Err(format!(
                    "error: --fault-on {} differs from {}'s `{}`\n  = hint: a campaign keeps one fault model; start a new one without --learn",
                    on.name(), prev.display(), s.fault_on.name()
                ));
            }
            if args.group_by.is_some() && args.group_by != s.group_by {
                return Err(format!(
                    "error: --group-by differs from {}'s grouping\n  = hint: a campaign keeps one grouping; drop --group-by with --learn",
                    prev.display()
                ));
            }
            if let Some(k) = args.faults {
                s.faults = k;
            }
            let id = args.experiment.unwrap_or(1);
            let Some(exp) = s.experiments.iter().find(|e| e.id == id) else {
                return Err(format!(
                    "error: {} proposes no experiment {id} ({})\n  = hint: pass the id of the experiment that ran with --experiment",
                    prev.display(),
                    if s.experiments.is_empty() { "it proposes none".to_owned() } else { format!("ids 1..{}", s.experiments.len()) }
                ));
            };
            let faults = exp.faults.clone();
            let reqs = lineage::requests(&spans, &grouping(&s.group_by));
            if reqs.is_empty() {
                return Err(no_requests(args));
            }
            warnings = s.record_experiment(&faults, &reqs);
            s
        }
    };
    state.propose(args.max_experiments);
    if let Some(path) = &args.state {
        std::fs::write(path, to_json(&state) + "\n")
            .map_err(|e| format!("error: cannot write {}: {e}", path.display()))?;
    }
    if let Some(dir) = &args.inject_dir {
        write_inject(dir, &state)?;
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let text = render(&state, spans.len(), args.files.len());
    Ok((state, text))
}

fn grouping(group_by: &Option<String>) -> lineage::Grouping {
    match group_by {
        Some(a) => lineage::Grouping::Attribute(a.clone()),
        None => lineage::Grouping::RootOperation,
    }
}

fn no_requests(args: &TracesArgs) -> String {
    let files: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
    format!(
        "error: {}: no spans, so no request to learn from\n  = hint: record traces while requests run (OTLP/JSON, Jaeger or Zipkin export)",
        files.join(", ")
    )
}

/// Read a previous state document, checking its schema tag.
pub fn read_state(path: &std::path::Path) -> Result<State, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("error: cannot read {}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!("error: {}:{}:{}: {e}\n  = hint: pass the JSON that `ldfi traces --format json` or `--state` wrote", path.display(), e.line(), e.column())
    })?;
    let schema = v.get("schema").and_then(|s| s.as_str()).unwrap_or("");
    if schema != state::SCHEMA {
        return Err(format!(
            "error: {}: schema `{schema}` is not `{}`\n  = hint: pass the JSON that `ldfi traces --format json` or `--state` wrote",
            path.display(),
            state::SCHEMA
        ));
    }
    serde_json::from_value(v).map_err(|e| {
        format!(
            "error: {}: {e}\n  = hint: the state document is documented in docs/traces-schema.md",
            path.display()
        )
    })
}

fn write_inject(dir: &std::path::Path, state: &State) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("error: cannot create {}: {e}", dir.display()))?;
    for e in &state.experiments {
        let mut files = vec![("istio", &e.inject.istio)];
        if !e.inject.toxiproxy.is_empty() {
            files.push(("toxiproxy", &e.inject.toxiproxy));
        }
        for (what, docs) in files {
            let path = dir.join(format!("e{}.{what}.json", e.id));
            let body = serde_json::to_string_pretty(docs).unwrap_or_default() + "\n";
            std::fs::write(&path, body)
                .map_err(|err| format!("error: cannot write {}: {err}", path.display()))?;
        }
    }
    Ok(())
}

fn plural(n: impl Into<u64>, word: &str) -> String {
    let many = if word.ends_with('s') { format!("{word}es") } else { format!("{word}s") };
    crate::report::count(n.into(), word, &many)
}

/// The text report: what was learned, what ran, the bugs, the next experiments.
pub fn render(state: &State, spans: usize, files: usize) -> String {
    let mut o = String::new();
    let ok: u64 = state.classes.iter().map(|c| c.requests).sum();
    let _ = writeln!(
        o,
        "ldfi traces: {}, {}; {}; faults on {}s, at most {}",
        plural(files as u64, "file"),
        plural(spans as u64, "span"),
        plural(state.classes.len() as u64, "request class"),
        state.fault_on.name(),
        state.faults
    );
    for c in &state.classes {
        let _ = write!(
            o,
            "class `{}`: {} learned, {}",
            c.name,
            plural(c.requests, "successful request"),
            plural(c.paths.len() as u64, "distinct path")
        );
        if c.failed_without_faults > 0 {
            let _ = write!(
                o,
                " ({} without injected faults)",
                plural(c.failed_without_faults, "failed request")
            );
        }
        o.push('\n');
        for (i, p) in c.paths.iter().enumerate() {
            let _ = write!(
                o,
                "  path {}: {}  ({}, e.g. trace {})",
                i + 1,
                p.text,
                plural(p.requests, "request"),
                p.example_trace
            );
            if !p.tolerated.is_empty() {
                let _ = write!(o, "  fallback after failed {}", p.tolerated.join(", "));
            }
            o.push('\n');
        }
    }
    let _ = ok;
    for r in &state.history {
        let _ = writeln!(
            o,
            "ran {}: {} ({}, {} failed, {})",
            r.faults.join(" + "),
            match r.outcome {
                state::Outcome::Survived => "survived",
                state::Outcome::Failed => "FAILED",
            },
            plural(r.requests, "request"),
            r.failed,
            plural(r.new_paths, "new path")
        );
    }
    for b in &state.bugs {
        let _ = writeln!(
            o,
            "BUG: with {} failed, {} of `{}` failed (a missing fallback?); trace {}:",
            b.faults.join(" + "),
            plural(b.requests, "request"),
            b.class,
            b.trace_id,
        );
        for s in &b.spans {
            let _ = writeln!(o, "    {s}");
        }
    }
    if state.experiments.is_empty() {
        let _ = writeln!(
            o,
            "no experiment left: no set of at most {} that the traces do not show the system surviving",
            plural(state.faults, "fault")
        );
        return o;
    }
    let _ =
        writeln!(o, "{}, smallest first:", plural(state.experiments.len() as u64, "experiment"));
    for e in &state.experiments {
        let targets: Vec<String> = e
            .targets
            .iter()
            .map(|t| match t.cuts.len() {
                1 => format!("the only path of `{}`", t.class),
                n => format!("all {n} paths of `{}`", t.class),
            })
            .collect();
        let _ =
            writeln!(o, "  #{} fail {}  (cuts {})", e.id, e.faults.join(" + "), targets.join("; "));
    }
    let _ = writeln!(
        o,
        "next: inject #1 (Istio/Toxiproxy specs: --inject-dir DIR or --format json), record traces, then\n  ldfi traces --learn STATE.json NEW_TRACES... --experiment 1 --state STATE.json"
    );
    o
}
