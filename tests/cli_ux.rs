//! The `ldfi` binary as a new user meets it: per-file lint/check, JSON output on success
//! and on error, argument checks of `run`/`explain`, the test runner's accounting, the
//! vacuity warnings, completions and the man page.

use std::path::PathBuf;
use std::process::{Command, Output};

const RETRY: &str = "specs/broadcast/retry.ded";

fn ldfi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ldfi"))
        .args(["--color", "never"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run ldfi")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\n{}", stdout(out), stderr(out)))
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-ux-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write spec");
    p.display().to_string()
}

#[test]
fn test_counts_broken_and_headerless_files() {
    let dir = scratch("test-dir");
    write(&dir, "broken.ded", "p(\"a\")@1\nq(");
    write(&dir, "unsafe.ded", "// ldfi: eot=2 expect=certified\np(\"a\")@1;\nq(N, Z) :- p(N);\n");
    write(&dir, "plain.ded", "p(\"a\")@1;\n");
    let out = ldfi(&["test", dir.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("0 passed, 2 failed, 1 skipped"), "{text}");
    assert!(text.contains("plain.ded") && text.contains("no `// ldfi:` header line"), "{text}");
    assert!(!text.contains(".ded:0"), "no line 0: {text}");
    assert!(text.contains("unsafe.ded:3:6"), "the analysis error is located: {text}");
}

#[test]
fn junit_names_do_not_carry_the_verdict_or_counts() {
    let dir = scratch("junit");
    let xml = dir.join("j.xml");
    let out = ldfi(&["test", "specs/broadcast/oneshot.ded", "--junit", xml.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = std::fs::read_to_string(&xml).unwrap();
    assert!(text.contains("name=\"line 1\""), "{text}");
    for line in text.lines().filter(|l| l.contains("<testcase")) {
        let name = line.split("name=\"").nth(1).unwrap().split('"').next().unwrap();
        assert!(!name.contains("execution") && !name.contains("->"), "{line}");
    }
}

#[test]
fn check_warns_when_nodes_drop_messages() {
    let out = ldfi(&["check", RETRY, "-t", "4", "-f", "2", "-N", "s,r1"]);
    assert!(stderr(&out).contains("\"r2\" are dropped"), "{}", stderr(&out));
}

#[test]
fn an_empty_node_name_is_rejected() {
    for nodes in ["", "s,,r1"] {
        let out = ldfi(&["check", RETRY, "-N", nodes]);
        assert_eq!(out.status.code(), Some(2), "{nodes:?}");
        assert!(stderr(&out).contains("empty node name"), "{}", stderr(&out));
    }
}

#[test]
fn explain_json_and_rejected_flags() {
    let out = ldfi(&["explain", RETRY, "post(\"r1\", \"m\")@4", "-t", "4", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let j = json(&out);
    assert_eq!(j["holds"], true);
    assert_eq!(j["lineage"][0]["tuple"], "post(\"r1\", \"m\")");
    assert!(j["lineage"][0]["derivations"][0]["body"].is_array());
    for flag in [&["--report", "x"][..], &["--dot", "x"], &["--no-lineage"]] {
        let mut args = vec!["explain", RETRY, "post(\"r1\", \"m\")@4", "-t", "4"];
        args.extend_from_slice(flag);
        let out = ldfi(&args);
        assert_eq!(out.status.code(), Some(2), "{flag:?}");
        assert!(stderr(&out).contains("on `explain`"), "{}", stderr(&out));
    }
}

#[test]
fn explain_rejects_a_wrong_arity_or_a_time_after_eot() {
    let out = ldfi(&["explain", RETRY, "post(\"r1\")@4", "-t", "4"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("has 1 argument but `post` has 2 columns"), "{}", stderr(&out));
    let out = ldfi(&["explain", RETRY, "post(\"r1\", \"m\")@9", "-t", "4"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("outside the run's 1..4"), "{}", stderr(&out));
}

#[test]
fn faults_outside_the_run_are_reported() {
    let out = ldfi(&["run", RETRY, "-t", "4", "--crash", "s@5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("after EOT 4"), "{}", stderr(&out));
    let out = ldfi(&["run", RETRY, "-t", "4", "--crash", "zz@2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`zz` is not a node"), "{}", stderr(&out));
    let out = ldfi(&["run", RETRY, "-t", "4", "--omit", "r1->s@1"]);
    assert!(stderr(&out).contains("--omit r1->s@1 matches no message"), "{}", stderr(&out));
    let out = ldfi(&["run", RETRY, "-t", "4", "--omit", "s->r1@1"]);
    assert!(!stderr(&out).contains("matches no message"), "{}", stderr(&out));
}

#[test]
fn a_type_error_at_run_time_points_into_the_spec() {
    let dir = scratch("types");
    let spec = write(
        &dir,
        "cmp.ded",
        "p(\"a\", 1)@1;\nq(N) :- p(N, X), X < \"z\";\npre(N) :- p(N, _);\npost(N) :- q(N);\n",
    );
    let out = ldfi(&["check", &spec, "-t", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cmp.ded:2:1"), "{}", stderr(&out));
    // lint sees it coming, at the condition.
    let out = ldfi(&["lint", &spec]);
    assert!(stderr(&out).contains("warning[type-mismatch]"), "{}", stderr(&out));
    assert!(stderr(&out).contains("cmp.ded:2:18"), "{}", stderr(&out));
}

#[test]
fn errors_with_format_json_are_json_on_stdout() {
    let out = ldfi(&["check", "tests/broken/syntax_missing_semicolon.ded", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let j = json(&out);
    assert_eq!(j["schema_version"], 2);
    assert!(j["error"].as_str().unwrap().contains("unexpected"), "{j}");
    assert_eq!(j["diagnostics"][0]["location"]["line"], 4);
    let out = ldfi(&["run", RETRY, "--crash", "s@9", "--format", "json"]);
    assert_eq!(json(&out)["diagnostics"][0]["code"], "usage");
}

#[test]
fn lint_json_has_every_diagnostic_with_its_location() {
    let out = ldfi(&["lint", "--format", "json", "tests/broken/all_errors_at_once.ded"]);
    assert_eq!(out.status.code(), Some(2));
    let j = json(&out);
    assert_eq!(j["ok"], false);
    assert_eq!(j["errors"], 2);
    let codes: Vec<&str> =
        j["diagnostics"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["unsafe-variable", "unstratifiable"]);
    assert_eq!(j["diagnostics"][0]["location"]["line"], 5);
    assert_eq!(j["diagnostics"][0]["location"]["column"], 8);
}

#[test]
fn files_are_linted_and_checked_one_by_one_unless_merged() {
    let dir = scratch("per-file");
    // Each file is fine alone; merged, `p` has two arities.
    let a = write(&dir, "a.ded", "p(\"a\")@1;\npre(N) :- p(N);\npost(N) :- p(N);\n");
    let b = write(&dir, "b.ded", "p(\"a\", 1)@1;\npre(N) :- p(N, _);\npost(N) :- p(N, _);\n");
    let out = ldfi(&["lint", &a, &b]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = ldfi(&["lint", "--merge", &a, &b]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("error[arity]"), "{}", stderr(&out));
    let out = ldfi(&["check", &a, &b, "-t", "2", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let j = json(&out);
    assert_eq!(j.as_array().map(Vec::len), Some(2), "{j}");
    assert_eq!(j[1]["files"][0], b.as_str());
    let out = ldfi(&["check", &a, &b, "-t", "2"]);
    assert_eq!(stdout(&out).matches("CERTIFIED").count(), 2, "{}", stdout(&out));
}

#[test]
fn a_vacuous_invariant_is_warned_about_and_pre_is_counted() {
    let dir = scratch("vacuous");
    let spec = write(
        &dir,
        "v.ded",
        "p(\"a\")@1;\nq(\"a\")@1;\npre(N) :- p(N), notin q(N);\npost(N) :- p(N), notin q(N);\n",
    );
    let out = ldfi(&["check", &spec, "-t", "2"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("warning[vacuous-pre]"), "{}", stderr(&out));
    assert!(stderr(&out).contains("warning[vacuous-post]"), "{}", stderr(&out));
    assert!(stdout(&out).contains("pre: 0 tuples at EOT"), "{}", stdout(&out));
    let j = json(&ldfi(&["check", &spec, "-t", "2", "--format", "json"]));
    assert_eq!(j["pre_tuples"], 0);
    assert_eq!(j["warnings"][0]["code"], "vacuous-pre");
    let out = ldfi(&["check", RETRY, "-t", "4", "-f", "2", "-c", "0"]);
    assert!(stdout(&out).contains("pre: 3 tuples at EOT"), "{}", stdout(&out));
    assert!(!stderr(&out).contains("vacuous"), "{}", stderr(&out));
}

#[test]
fn completions_and_man_page() {
    let out = ldfi(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("_ldfi()") && stdout(&out).contains("explain"));
    let out = ldfi(&["completions", "zsh"]);
    assert!(stdout(&out).contains("#compdef ldfi"));
    let out = ldfi(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains(".TH ldfi 1"), "{}", stdout(&out));
}

#[test]
fn timeout_takes_units() {
    for t in ["1.5", "30s", "2m", "500ms"] {
        let out = ldfi(&["check", RETRY, "-t", "4", "-c", "0", "--timeout", t]);
        assert_eq!(out.status.code(), Some(0), "{t}: {}", stderr(&out));
    }
    let out = ldfi(&["check", RETRY, "--timeout", "2x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown unit"), "{}", stderr(&out));
}

/// `ldfi run ... | head -1`: the reader closes the pipe early; ldfi must end without the
/// "failed printing to stdout" panic.
#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ldfi"))
        .args(["run", "specs/consensus/paxos_molly.ded", "-t", "12", "-N", "a,b,c"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ldfi starts");
    let mut first = [0u8; 16];
    child.stdout.take().expect("stdout").read_exact(&mut first).expect("some output");
    // The read end is dropped here: every later write of ldfi hits a closed pipe.
    let mut err = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut err).expect("stderr");
    let status = child.wait().expect("ldfi ends");
    assert!(!err.contains("panicked"), "ldfi panicked on a closed pipe:\n{err}");
    assert_ne!(status.code(), Some(101), "exit code 101 is a panic");
}

/// `check` says what decided (the exact model, or the exhaustive probe before it) with the
/// model's size, `auto` (the old default) is accepted as `ldfi`, and the counterexample is
/// explained whoever found it.
#[test]
fn check_says_what_decided_and_explains_the_counterexample() {
    // One message, sent once: omitting it loses `got("b")`.
    let dir = scratch("exact-decides");
    let tiny = write(
        &dir,
        "tiny.ded",
        "src(\"a\")@1;\nlink(\"a\", \"b\")@1;\nlink(N, M)@next :- link(N, M);\n\
         got(M)@async :- src(N), link(N, M);\ngot(N)@next :- got(N);\n\
         pre(M) :- link(_, M);\npost(M) :- got(M);\n",
    );
    // Without the probe, the exact model finds it: one solve for a model, one to show
    // nothing smaller exists is not needed for a single fault.
    let exact = ldfi(&["check", &tiny, "-t", "3", "-f", "2", "-c", "0", "--probe-work", "0"]);
    let out = stdout(&exact);
    assert_eq!(exact.status.code(), Some(1), "{}", stderr(&exact));
    assert!(out.contains("COUNTEREXAMPLE within eot=3 eff=2 crashes=0 nodes=a, b: omit a->b@1"));
    assert!(out.contains("exact model: "), "{out}");
    assert!(out.contains("1 solver call, 0 not replayed"), "{out}");
    assert!(out.contains("why post("), "{out}");
    // With the default probe, the exhaustive search meets it at its second leaf.
    let probed = ldfi(&["check", &tiny, "-t", "3", "-f", "2", "-c", "0", "--strategy", "auto"]);
    let out = stdout(&probed);
    assert_eq!(probed.status.code(), Some(1), "{}", stderr(&probed));
    assert!(out.contains("strategy ldfi"), "{out}");
    assert!(out.contains("decided by the short exhaustive probe"), "{out}");
    assert!(out.contains("why post("), "the probe's counterexample is explained: {out}");
    let exhaustive =
        ldfi(&["check", RETRY, "-t", "4", "-f", "2", "-c", "1", "--strategy", "exhaustive"]);
    assert!(stdout(&exhaustive).contains("why post("), "{}", stdout(&exhaustive));
}

/// `ldfi test` on a directory without spec files fails (a CI job with a wrong path must not
/// pass forever), and outside the repository it says that `specs` is the default.
#[test]
fn test_without_specs_is_an_error() {
    let dir = scratch("no-specs");
    let empty = ldfi(&["test", dir.to_str().unwrap()]);
    assert_eq!(empty.status.code(), Some(2), "{}", stdout(&empty));
    assert!(stderr(&empty).contains("error[no-specs]: no *.ded files under"), "{}", stderr(&empty));
    let outside = std::process::Command::new(env!("CARGO_BIN_EXE_ldfi"))
        .arg("test")
        .current_dir(&dir)
        .output()
        .expect("ldfi runs");
    assert_eq!(outside.status.code(), Some(2));
    let err = String::from_utf8_lossy(&outside.stderr);
    assert!(err.contains("error[no-specs]: specs:"), "{err}");
    assert!(err.contains("runs the specs under `specs` (the default)"), "{err}");
}

/// The exact model's memory budget: past `--ground-cap`, a clear error (exit 2) that names
/// the flag, never an abort.
#[test]
fn the_ground_cap_is_a_clear_error() {
    let out = ldfi(&[
        "check",
        "specs/broadcast/redundant.ded",
        "-t",
        "3000",
        "-f",
        "6",
        "-c",
        "1",
        "--ground-cap",
        "10000",
        "--probe-work",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "error[budget]: the exact model needs more than 10000 rule instances (--ground-cap)"
        ),
        "{err}"
    );
    assert!(err.contains("hint: raise --ground-cap"), "{err}");
}
