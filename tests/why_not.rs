//! The counterexample explanation (issue 13, item 3): the why-not of the violated `post`
//! tuple in the faulty run, followed down to the injected faults, in the library
//! (`ldfi::lineage`), the terminal, the JSON and the HTML report, and `ldfi explain`.

use ldfi::analysis::ir::Program;
use ldfi::eval::{self, Run, RunParams, Scenario};
use ldfi::faults::{Fault, FaultSet};
use ldfi::lineage::{self, Explanation, Node, NodeKind};
use std::path::{Path, PathBuf};
use std::process::Command;

fn ldfi(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ldfi"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the ldfi binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn spec(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("specs").join(rel)
}

fn omit(from: &str, to: &str, time: u32) -> Fault {
    Fault::Omit { from: from.into(), to: to.into(), time }
}

fn crash(node: &str, time: u32) -> Fault {
    Fault::Crash { node: node.into(), time }
}

/// Run a spec with and without the faults (both with lineage).
fn runs(rel: &str, eot: u32, faults: &[Fault]) -> (Program, Run, Run) {
    let (program, _) = ldfi::app::load(&[spec(rel)], false).expect("the spec loads");
    let nodes = program.inferred_nodes.clone();
    let params =
        RunParams { eot, nodes: nodes.clone(), lineage: true, tuple_cap: eval::DEFAULT_TUPLE_CAP };
    let set = FaultSet(faults.iter().cloned().collect());
    let scenario = Scenario::from_faults(&program, &nodes, &set).expect("the faults name nodes");
    let faulty = eval::run(&program, &params, &scenario).expect("the faulty run");
    let good = eval::run(&program, &params, &Scenario::default()).expect("the good run");
    assert!(faulty.is_violation() && !good.is_violation(), "{rel}: not a counterexample");
    (program, faulty, good)
}

fn explain(rel: &str, eot: u32, faults: &[Fault]) -> Explanation {
    let (program, faulty, good) = runs(rel, eot, faults);
    lineage::explain_violation(&program, &faulty, &good).expect("a violation to explain")
}

fn nodes(e: &Explanation) -> Vec<&Node> {
    let mut out = Vec::new();
    lineage::walk(&e.root, &mut |n| out.push(n));
    out
}

/// The literals of every reason in the tree, in tree order.
fn literals(e: &Explanation) -> Vec<String> {
    nodes(e).iter().flat_map(|n| n.reasons.iter().map(|r| r.literal.clone())).collect()
}

fn holds(e: &Explanation, tuple: &str) -> bool {
    nodes(e).iter().any(|n| n.kind == NodeKind::Holds && n.tuple == tuple)
}

#[test]
fn retry_names_the_missing_tuple_and_both_faults_but_not_the_irrelevant_cut_messages() {
    let faults = [omit("s", "r1", 1), crash("s", 2)];
    let e = explain("broadcast/retry.ded", 4, &faults);
    assert_eq!(e.root.tuple, r#"post("r2", "m")"#);
    assert_eq!(e.root.kind, NodeKind::Absent);
    // post fails on its notin, blocked by missing("r2", "r1", "m"): r1 never got "m".
    assert_eq!(e.root.reasons[0].literal, r#"notin missing(_, _, "m")@4"#);
    assert!(holds(&e, r#"missing("r2", "r1", "m")"#), "{e:#?}");
    assert_eq!(e.faults, faults.to_vec());
    assert!(e.other_faults.is_empty());
    let all = format!("{e:?}");
    assert!(!all.contains("s->r2"), "the messages to r2 did not matter: {all}");
    // The @next chain of log("r1", "m") is one node, its reasons sorted by time.
    let chain = nodes(&e)
        .into_iter()
        .find(|n| n.kind == NodeKind::Absent && n.tuple == r#"log("r1", "m")"#)
        .expect("log(r1, m) is explained");
    assert_eq!((chain.since, chain.time), (2, 4));
    let times: Vec<u32> = chain.reasons.iter().map(|r| r.time).collect();
    assert_eq!(times, vec![2, 3, 4]);
    assert_eq!(chain.reasons[0].literal, "message s->r1@1");
    assert_eq!(chain.reasons[0].children[0].fault, Some(omit("s", "r1", 1)));
    // missing("s", "r1", "m") rests on the same absence: shown once.
    assert!(nodes(&e).iter().any(|n| n.kind == NodeKind::Seen && n.tuple == r#"log("r1", "m")"#));
}

#[test]
fn three_phase_commit_through_notin_reaches_the_omitted_precommit() {
    // omit c->b@3, crash c@6: b times out and aborts while a commits.
    let faults = [omit("c", "b", 3), crash("c", 6)];
    let e = explain("commit/3pc.ded", 8, &faults);
    assert_eq!(e.root.tuple, r#"post("a", "t1")"#);
    assert_eq!(e.root.reasons[0].literal, r#"notin real(_, "t1", "abort")@8"#);
    assert!(holds(&e, r#"real("b", "t1", "abort")"#), "{e:#?}");
    // The abort appeared because a notin became true: b lacks the precommit.
    let lits = literals(&e);
    assert!(lits.contains(&r#"notin a_pre("b", "t1")@5"#.to_string()), "{lits:?}");
    assert!(lits.contains(&"message c->b@3".to_string()), "{lits:?}");
    assert_eq!(e.faults, vec![omit("c", "b", 3)]);
    // The crash makes a commit (pre holds), it does not break post: said, not hidden.
    assert_eq!(e.other_faults, vec![crash("c", 6)]);
}

#[test]
fn three_phase_commit_with_two_crashes_reaches_the_agent_crash_through_an_aggregate() {
    let faults = [crash("a", 4), crash("c", 6)];
    let e = explain("commit/3pc.ded", 8, &faults);
    let lits = literals(&e);
    assert!(lits.contains(&r#"notin c_has_all_acks("c", "t1")@6"#.to_string()), "{lits:?}");
    assert!(lits.contains(&"message a->c@4".to_string()), "{lits:?}");
    assert!(e.faults.contains(&crash("a", 4)), "{:?}", e.faults);
}

#[test]
fn two_phase_commit_reaches_the_coordinator_crash_through_the_lost_decisions() {
    let e = explain("commit/2pc.ded", 5, &[crash("c", 3)]);
    assert_eq!(e.faults, vec![crash("c", 3)]);
    let lits = literals(&e);
    assert!(lits.contains(&"message c->a@3".to_string()), "{lits:?}");
    assert!(lits.contains(&"message c->a@4".to_string()), "{lits:?}");
}

#[test]
fn paxos_bad_quorum_follows_a_new_aggregate_value_back_to_the_lost_prepare() {
    // The violated post never held in the failure-free run: its rule instances in the faulty
    // run are enumerated, and the new maxb("a3", 1) is explained by the missing maxb("a3", 2).
    let e = explain("consensus/paxos_bad_quorum.ded", 8, &[omit("p2", "a3", 3)]);
    assert_eq!(e.root.in_reference, Some(false));
    assert!(holds(&e, r#"conflict("p1", "x")"#), "{e:#?}");
    assert!(holds(&e, r#"maxb("a3", 1)"#), "{e:#?}");
    assert_eq!(e.faults, vec![omit("p2", "a3", 3)]);
}

#[test]
fn replication_names_the_crash_oracle_and_both_lost_replications() {
    let faults = [omit("l", "f1", 2), omit("l", "f2", 2), crash("l", 5)];
    let e = explain("replication/isr.ded", 6, &faults);
    assert_eq!(e.faults, faults.to_vec());
    assert!(holds(&e, r#"crash("l", "l", 5)"#), "{e:#?}");
}

#[test]
fn explanations_are_deterministic() {
    let faults = [omit("c", "b", 3), crash("c", 6)];
    let a = serde_json::to_string(&explain("commit/3pc.ded", 8, &faults)).unwrap();
    let b = serde_json::to_string(&explain("commit/3pc.ded", 8, &faults)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn check_prints_the_why_not_instead_of_the_cut_messages() {
    let (code, out, err) =
        ldfi(&["check", "specs/broadcast/retry.ded", "-t", "4", "-f", "2", "-c", "1"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains(r#"why post("r2", "m")@4 does not hold"#), "{out}");
    assert!(out.contains(r#"missing("r2", "r1", "m")@4 holds"#), "{out}");
    assert!(out.contains("message s->r1@1 omitted (FAULT omit s->r1@1)"), "{out}");
    assert!(out.contains("FAULT crash s@2"), "{out}");
    assert!(out.contains("faults reached: omit s->r1@1, crash s@2"), "{out}");
    assert!(!out.contains("s->r2@2"), "{out}");
    assert!(!out.contains("rested on"), "{out}");
}

#[test]
fn check_json_carries_the_structured_explanation() {
    let (code, out, err) = ldfi(&[
        "check",
        "specs/broadcast/retry.ded",
        "-t",
        "4",
        "-f",
        "2",
        "-c",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let e = &v["counterexamples"][0]["explanation"];
    assert_eq!(e["root"]["kind"], "absent");
    assert_eq!(e["root"]["tuple"], r#"post("r2", "m")"#);
    assert_eq!(e["root"]["in_reference"], true);
    let reason = &e["root"]["reasons"][0];
    assert_eq!(reason["rule"], "post(N, M) :- log(N, M), notin missing(_, _, M);");
    assert_eq!(reason["children"][0]["kind"], "holds");
    assert_eq!(reason["children"][0]["tuple"], r#"missing("r2", "r1", "m")"#);
    let faults: Vec<String> =
        e["faults"].as_array().unwrap().iter().map(|f| f["kind"].to_string()).collect();
    assert_eq!(faults, vec!["\"omit\"", "\"crash\""]);
    assert_eq!(e["faults"][1]["node"], "s");
}

#[test]
fn html_report_shows_the_why_not_tree_and_its_graph() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("why-not-report");
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    let (code, _, err) = ldfi(&[
        "check",
        "specs/broadcast/retry.ded",
        "-t",
        "4",
        "-f",
        "2",
        "-c",
        "1",
        "--strategy",
        "ldfi",
        "--report",
        d,
    ]);
    assert_eq!(code, 1, "{err}");
    // The counterexample's page (pages are numbered by execution).
    let page = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("run-")))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .find(|page| {
            page.contains("<title>run #") && page.contains("omit s-&gt;r1@1, crash s@2</title>")
        })
        .expect("a page for the counterexample");
    assert!(page.contains("class=\"why-node holds mono\">missing(&quot;r2&quot;, &quot;r1&quot;, &quot;m&quot;)@4 holds"), "{page}");
    assert!(page.contains("FAULT omit s-&gt;r1@1"), "{page}");
    assert!(page.contains("The same path in the lineage of this run"), "{page}");
    assert!(!page.contains("s-&gt;r2@2"), "the irrelevant cut messages are gone");
    let index = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(
        index.contains("Faults reached: <span class=\"mono\">omit s-&gt;r1@1, crash s@2</span>")
    );
}

#[test]
fn explain_of_an_absent_tuple_names_each_rule_instance_and_its_failing_literal() {
    // Without faults there is no reference: the instances are enumerated in the run.
    let (code, out, err) =
        ldfi(&["explain", "specs/broadcast/retry.ded", r#"missing("r1", "r2", "m")@3"#, "-t", "4"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(r#"@3 notin log("r2", "m")@3 is false: this tuple holds"#), "{out}");
    assert!(out.contains(r#"log("r2", "m")@3 holds (since 2, carried by @next)"#), "{out}");
    // With faults, the same command tells it against the failure-free run.
    let (code, out, err) = ldfi(&[
        "explain",
        "specs/broadcast/retry.ded",
        r#"post("r2", "m")@4"#,
        "-t",
        "4",
        "-f",
        "2",
        "--omit",
        "s->r1@1",
        "--crash",
        "s@2",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("faults reached: omit s->r1@1, crash s@2"), "{out}");
}
