//! The JSON output of `ldfi check --format json` (schema version 1, documented in
//! `docs/json-schema.md`). Field names are stable; new fields may be added.

use crate::analysis::ir::Program;
use crate::eval::{MsgStatus, Run};
use crate::faults::FaultSet;
use crate::search::Outcome;
use serde::Serialize;

pub const SCHEMA_VERSION: u32 = 2;

#[derive(Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub files: Vec<String>,
    pub bounds: Bounds,
    pub strategy: String,
    /// With strategy `ldfi`: what reached the verdict: `exact-model`, `probe` (the short
    /// exhaustive search before grounding) or `exhaustive` (the exact model is not
    /// available for the spec: `stats.fallback` says why); null for the other strategies.
    pub decided_by: Option<String>,
    pub verdict: String,
    pub budget: Option<String>,
    pub counterexamples: Vec<Counterexample>,
    pub runs: Vec<RunJson>,
    pub stats: Stats,
}

#[derive(Serialize)]
pub struct Bounds {
    pub eot: u32,
    pub eff: u32,
    pub crashes: u32,
    pub nodes: Vec<String>,
}

#[derive(Serialize)]
pub struct Counterexample {
    pub faults: FaultSet,
    pub violations: Vec<Violation>,
    pub messages: Vec<MessageJson>,
    /// Messages in the failure-free lineage of the missing `post` tuple that the faults cut
    /// (whether or not they mattered; `explanation` says what did).
    pub cut: Vec<String>,
    /// Why the first missing `post` tuple does not hold, down to the injected faults.
    pub explanation: Option<crate::lineage::Explanation>,
}

#[derive(Serialize)]
pub struct Violation {
    pub pre: String,
    pub missing_post: String,
}

#[derive(Serialize)]
pub struct MessageJson {
    pub from: String,
    pub to: String,
    pub sent: u32,
    pub tuple: String,
    /// `delivered`, `omitted` or `sender-crashed`.
    pub status: &'static str,
}

#[derive(Serialize)]
pub struct RunJson {
    pub faults: FaultSet,
    pub violated: bool,
    pub micros: u64,
}

#[derive(Serialize)]
pub struct Stats {
    /// Exact gross size of the fault space, as a decimal string (it can exceed 64 bits);
    /// `None` (null) above 2^65536, whose decimal alone would take seconds to write.
    pub fault_space: Option<String>,
    /// The size as the text output writes it: `832`, `2^1980` or `≈3.2e731`.
    pub fault_space_approx: String,
    pub executions: u64,
    pub hypotheses: u64,
    pub eval_ms: f64,
    pub lineage_ms: f64,
    pub solve_ms: f64,
    pub total_ms: f64,
    pub firings: u64,
    pub clauses: u64,
    /// Timesteps simulated one by one (exhaustive strategy; 0 for the others).
    pub timesteps: u64,
    /// Branches cut by memoization (exhaustive strategy; 0 for the others).
    pub memo_hits: u64,
    /// Deterministic work units (about one rule firing each) evaluation spent.
    pub work: u64,
    /// ldfi: the exact model's ground tuples, rule instances and variables (its clauses
    /// are `clauses`), the solver calls, and the models whose replay did not violate.
    pub ground_atoms: u64,
    pub ground_instances: u64,
    pub vars: u64,
    pub solver_calls: u64,
    pub spurious: u64,
    /// ldfi: why the exact model was not available, when the exhaustive referee decided.
    pub fallback: Option<String>,
    /// ldfi: the counterexample was found, but the solver's budget ran out before it showed
    /// that none with fewer faults exists.
    pub minimality_unproven: bool,
}

pub fn messages(program: &Program, run: &Run) -> Vec<MessageJson> {
    run.messages
        .iter()
        .map(|m| MessageJson {
            from: program.symbols.name(m.from).to_string(),
            to: program.symbols.name(m.to).to_string(),
            sent: m.send_time,
            tuple: program.show_tuple(m.rel, &m.vals),
            status: match m.status {
                MsgStatus::Delivered => "delivered",
                MsgStatus::Omitted => "omitted",
                MsgStatus::SenderCrashed => "sender-crashed",
            },
        })
        .collect()
}

pub fn report(
    program: &Program,
    o: &Outcome,
    files: &[String],
    bounds: Bounds,
    strategy: &str,
) -> Report {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let counterexamples = o
        .counterexamples
        .iter()
        .map(|run| {
            let violations = run
                .violations
                .iter()
                .map(|&id| {
                    let rec = run.tuples.rec(id);
                    Violation {
                        pre: program.show_tuple(rec.rel, &rec.vals),
                        missing_post: program
                            .post_rel
                            .map_or(String::new(), |p| program.show_tuple(p, &rec.vals)),
                    }
                })
                .collect();
            let cut = run
                .violations
                .first()
                .and_then(|&v| {
                    let vals = &run.tuples.rec(v).vals;
                    program.post_rel.and_then(|p| o.baseline.tuples.find(p, vals, o.baseline.eot))
                })
                .map_or(Vec::new(), |p| super::text::cut_messages(program, &o.baseline, p, run));
            Counterexample {
                faults: run.scenario.to_faults(program),
                violations,
                messages: messages(program, run),
                cut,
                explanation: crate::lineage::explain_violation(program, run, &o.baseline),
            }
        })
        .collect();
    Report {
        schema_version: SCHEMA_VERSION,
        files: files.to_vec(),
        bounds,
        strategy: strategy.to_string(),
        decided_by: (strategy == "ldfi").then(|| {
            if o.stats.decided_by_probe {
                "probe"
            } else if o.stats.fallback.is_some() {
                "exhaustive"
            } else {
                "exact-model"
            }
            .to_string()
        }),
        verdict: o.verdict.name().to_string(),
        budget: o.budget.clone(),
        counterexamples,
        runs: o
            .runs
            .iter()
            .map(|r| RunJson {
                faults: r.scenario.to_faults(program),
                violated: r.violated,
                micros: r.micros,
            })
            .collect(),
        stats: Stats {
            fault_space: super::space::exact(&o.stats.fault_space),
            fault_space_approx: super::space::approx(&o.stats.fault_space),
            executions: o.stats.executions,
            hypotheses: o.stats.hypotheses,
            eval_ms: ms(o.stats.eval_time),
            lineage_ms: ms(o.stats.lineage_time),
            solve_ms: ms(o.stats.solve_time),
            total_ms: ms(o.stats.total_time),
            firings: o.stats.firings,
            clauses: o.stats.clauses,
            timesteps: o.stats.timesteps,
            memo_hits: o.stats.memo_hits,
            work: o.stats.work,
            ground_atoms: o.stats.ground_atoms,
            ground_instances: o.stats.ground_instances,
            vars: o.stats.vars,
            solver_calls: o.stats.solver_calls,
            spurious: o.stats.spurious,
            fallback: o.stats.fallback.clone(),
            minimality_unproven: o.stats.minimality_unproven,
        },
    }
}
