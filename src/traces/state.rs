//! The state of a trace-driven LDFI campaign: what was learned (per request class, the
//! distinct successful paths), which experiments ran and how they ended, the bugs found,
//! and the experiments proposed next. It is the `--format json` output and the
//! `--learn` input, so it is plain, versioned and deterministic (everything sorted), fit
//! for version control. The schema is documented in `docs/traces-schema.md`.

use super::inject;
use super::lineage::{call_text, Request};
use super::solve::{self, Problem};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The schema tag of the state document.
pub const SCHEMA: &str = "ldfi-traces/1";

/// What a fault is: a service down, or one call edge failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FaultOn {
    /// A service is down (every call to it fails).
    Service,
    /// One call edge fails (caller -> callee).
    Call,
}

impl FaultOn {
    pub fn name(self) -> &'static str {
        match self {
            FaultOn::Service => "service",
            FaultOn::Call => "call",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub schema: String,
    pub fault_on: FaultOn,
    /// The fault budget K.
    pub faults: u32,
    /// The root-span attribute requests are grouped by (`null`: root service + operation).
    pub group_by: Option<String>,
    /// `bug`, `experiments` (some proposed) or `exhausted` (none within the budget).
    pub verdict: String,
    pub classes: Vec<Class>,
    pub history: Vec<Ran>,
    pub bugs: Vec<Bug>,
    pub experiments: Vec<Experiment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Class {
    pub name: String,
    /// The service of the class's root spans: never a fault candidate.
    pub root_service: String,
    /// Successful requests seen.
    pub requests: u64,
    /// Requests that failed outside any experiment (in the first traces).
    pub failed_without_faults: u64,
    /// The distinct successful paths, sorted.
    pub paths: Vec<Path>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Path {
    /// The services this path needed, sorted (the root's included).
    pub services: Vec<String>,
    /// The calls it needed, `caller->callee`, sorted.
    pub calls: Vec<String>,
    /// `client -> web-1 -> api-1` for a chain, else the calls.
    pub text: String,
    pub requests: u64,
    /// The smallest trace id that took this path.
    pub example_trace: String,
    /// Failed calls some request on this path tolerated (learned fallbacks).
    pub tolerated: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every request still succeeded: the paths it used were learned.
    Survived,
    /// A request failed: a bug (see `bugs`).
    Failed,
}

/// An experiment that ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ran {
    pub faults: Vec<String>,
    pub outcome: Outcome,
    pub requests: u64,
    pub failed: u64,
    /// Successful paths not seen before.
    pub new_paths: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bug {
    /// The faults injected when the request failed.
    pub faults: Vec<String>,
    pub class: String,
    /// How many requests of the class failed under these faults.
    pub requests: u64,
    /// The smallest failing trace id, and its span tree below.
    pub trace_id: String,
    /// The failing request's span tree, one indented line per span.
    pub spans: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// 1-based rank (pass it to `--experiment`).
    pub id: u32,
    pub faults: Vec<String>,
    pub targets: Vec<Target>,
    /// Ready-to-apply fault specs.
    pub inject: inject::Inject,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub class: String,
    /// The 1-based numbers of the class's paths these faults cut (all of them).
    pub cuts: Vec<usize>,
}

impl State {
    pub fn new(fault_on: FaultOn, faults: u32, group_by: Option<String>) -> State {
        State {
            schema: SCHEMA.to_owned(),
            fault_on,
            faults,
            group_by,
            verdict: String::new(),
            classes: Vec::new(),
            history: Vec::new(),
            bugs: Vec::new(),
            experiments: Vec::new(),
        }
    }

    /// Learn the successful requests as paths of their classes; returns how many paths
    /// were new. Failed requests are counted (`failed_without_faults`) when `count_failed`.
    pub fn learn(&mut self, requests: &[Request], count_failed: bool) -> u64 {
        let mut new = 0;
        for r in requests {
            let i = match self.classes.binary_search_by(|c| c.name.cmp(&r.class)) {
                Ok(i) => i,
                Err(i) => {
                    self.classes.insert(
                        i,
                        Class {
                            name: r.class.clone(),
                            root_service: r.root_service.clone(),
                            requests: 0,
                            failed_without_faults: 0,
                            paths: Vec::new(),
                        },
                    );
                    i
                }
            };
            let class = &mut self.classes[i];
            if !r.ok {
                if count_failed {
                    class.failed_without_faults += 1;
                }
                continue;
            }
            class.requests += 1;
            let services: Vec<String> = r.services.iter().cloned().collect();
            let calls: Vec<String> = r.calls.iter().map(call_text).collect();
            let found = class.paths.iter_mut().find(|p| p.services == services && p.calls == calls);
            match found {
                Some(p) => {
                    p.requests += 1;
                    if r.trace_id < p.example_trace {
                        p.example_trace = r.trace_id.clone();
                    }
                    let tol: BTreeSet<String> =
                        p.tolerated.iter().chain(&r.tolerated).cloned().collect();
                    p.tolerated = tol.into_iter().collect();
                }
                None => {
                    new += 1;
                    class.paths.push(Path {
                        text: path_text(&r.root_service, &r.calls),
                        services,
                        calls,
                        requests: 1,
                        example_trace: r.trace_id.clone(),
                        tolerated: r.tolerated.iter().cloned().collect(),
                    });
                    // Paths read in text order; path numbers follow it.
                    class.paths.sort_by(|a, b| {
                        (&a.text, &a.services, &a.calls).cmp(&(&b.text, &b.services, &b.calls))
                    });
                }
            }
        }
        new
    }

    /// The names of what a path needs that can fail under this fault model.
    fn needs<'a>(&self, class: &Class, p: &'a Path) -> Vec<&'a String> {
        match self.fault_on {
            FaultOn::Service => p.services.iter().filter(|s| **s != class.root_service).collect(),
            FaultOn::Call => p.calls.iter().collect(),
        }
    }

    /// Recompute `experiments` and `verdict` from what is learned and what ran.
    pub fn propose(&mut self, cap: usize) {
        let mut by_faults: BTreeMap<Vec<String>, Vec<Target>> = BTreeMap::new();
        for class in &self.classes {
            for cut in self.class_cuts(class, cap) {
                let cuts = (1..=class.paths.len()).collect();
                by_faults.entry(cut).or_default().push(Target { class: class.name.clone(), cuts });
            }
        }
        let mut exps: Vec<(Vec<String>, Vec<Target>)> = by_faults.into_iter().collect();
        // Smallest first; then the ones that test more request classes at once; then by name.
        exps.sort_by(|a, b| {
            (a.0.len(), std::cmp::Reverse(a.1.len()), &a.0).cmp(&(
                b.0.len(),
                std::cmp::Reverse(b.1.len()),
                &b.0,
            ))
        });
        exps.truncate(cap);
        self.experiments = exps
            .into_iter()
            .enumerate()
            .map(|(i, (faults, targets))| {
                let id = i as u32 + 1;
                let inject = inject::specs(id, self.fault_on, &faults);
                Experiment { id, faults, targets, inject }
            })
            .collect();
        self.verdict = if !self.bugs.is_empty() {
            "bug"
        } else if !self.experiments.is_empty() {
            "experiments"
        } else {
            "exhausted"
        }
        .to_owned();
    }

    /// The minimal cuts of one class (fault names, sorted), given what already ran.
    fn class_cuts(&self, class: &Class, cap: usize) -> Vec<Vec<String>> {
        let names: Vec<&String> = class
            .paths
            .iter()
            .flat_map(|p| self.needs(class, p))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let index = |n: &String| names.binary_search(&n).ok();
        let paths = class
            .paths
            .iter()
            .map(|p| self.needs(class, p).into_iter().filter_map(index).collect());
        // A fault set with a fault this class does not know cannot be one of its models.
        let known = |faults: &[String]| faults.iter().map(index).collect::<Option<Vec<usize>>>();
        let mut p = Problem { n: names.len(), paths: paths.collect(), ..Problem::default() };
        for ran in &self.history {
            if let Some(set) = known(&ran.faults) {
                match ran.outcome {
                    Outcome::Failed => p.no_supersets.push(set),
                    Outcome::Survived => p.not_exactly.push(set),
                }
            }
        }
        let mut cuts: Vec<Vec<String>> = solve::minimal_cuts(&p, self.faults as usize, cap)
            .into_iter()
            .map(|cut| cut.into_iter().map(|i| names[i].clone()).collect())
            .collect();
        cuts.sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
        cuts
    }

    /// Record the outcome of experiment `faults` from the requests traced while it ran.
    /// Returns warnings (a success through an injected fault: was it injected?).
    pub fn record_experiment(&mut self, faults: &[String], requests: &[Request]) -> Vec<String> {
        let mut warnings = Vec::new();
        for r in requests.iter().filter(|r| r.ok) {
            let needed: Vec<String> = match self.fault_on {
                FaultOn::Service => {
                    r.services.iter().filter(|s| **s != r.root_service).cloned().collect()
                }
                FaultOn::Call => r.calls.iter().map(call_text).collect(),
            };
            if let Some(f) = faults.iter().find(|f| needed.contains(f)) {
                warnings.push(format!(
                    "trace {} succeeded through `{f}`, which the experiment should have failed: was the fault injected?",
                    r.trace_id
                ));
            }
        }
        let new_paths = self.learn(requests, false);
        let failed: Vec<&Request> = requests.iter().filter(|r| !r.ok).collect();
        for r in &failed {
            match self.bugs.iter_mut().find(|b| b.faults == faults && b.class == r.class) {
                Some(b) => {
                    b.requests += 1;
                    if r.trace_id < b.trace_id {
                        b.trace_id = r.trace_id.clone();
                        b.spans = r.tree.clone();
                    }
                }
                None => self.bugs.push(Bug {
                    faults: faults.to_vec(),
                    class: r.class.clone(),
                    requests: 1,
                    trace_id: r.trace_id.clone(),
                    spans: r.tree.clone(),
                }),
            }
        }
        self.bugs.sort_by(|a, b| (&a.faults, &a.class).cmp(&(&b.faults, &b.class)));
        self.history.push(Ran {
            faults: faults.to_vec(),
            outcome: if failed.is_empty() { Outcome::Survived } else { Outcome::Failed },
            requests: requests.len() as u64,
            failed: failed.len() as u64,
            new_paths,
        });
        warnings
    }
}

/// `client -> web-1 -> api-1` when the calls form one chain from the root, else the root
/// and its calls (`client: client->web-1, web-1->api-1, web-1->cache`).
pub fn path_text(root: &str, calls: &BTreeSet<(String, String)>) -> String {
    let mut chain = vec![root.to_owned()];
    let mut at = root;
    loop {
        let mut out = calls.iter().filter(|c| c.0 == at);
        match (out.next(), out.next()) {
            (Some(c), None) if !chain.contains(&c.1) => {
                chain.push(c.1.clone());
                at = &c.1;
            }
            (None, _) => break,
            _ => {
                let all: Vec<String> = calls.iter().map(call_text).collect();
                return format!("{root}: {}", all.join(", "));
            }
        }
    }
    if chain.len() == calls.len() + 1 {
        chain.join(" -> ")
    } else {
        let all: Vec<String> = calls.iter().map(call_text).collect();
        format!("{root}: {}", all.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(cs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
        cs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn path_text_chains_and_trees() {
        assert_eq!(path_text("c", &calls(&[("c", "w"), ("w", "a")])), "c -> w -> a");
        assert_eq!(path_text("c", &calls(&[])), "c");
        assert_eq!(
            path_text("c", &calls(&[("c", "w"), ("w", "a"), ("w", "b")])),
            "c: c->w, w->a, w->b"
        );
    }
}
