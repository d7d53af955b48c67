//! The bundled spec library is the regression suite: `ldfi test specs` must pass, and a
//! deliberately wrong expectation must fail with a message that says what was expected.

use std::process::Command;

fn ldfi(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ldfi"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the ldfi binary runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn every_bundled_spec_meets_its_expectations() {
    let (code, out) = ldfi(&["test", "specs", "--jobs", "2"]);
    assert_eq!(code, 0, "ldfi test specs failed:\n{out}");
    assert!(out.contains(" 0 failed"), "{out}");
    let passed: usize = out
        .lines()
        .last()
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(passed >= 50, "expected the whole library to run, got:\n{out}");
}

#[test]
fn a_wrong_expectation_fails_clearly() {
    let dir = std::env::temp_dir().join(format!("ldfi-wrong-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/specs/broadcast/oneshot.ded"
    ))
    .unwrap();
    // The one-shot broadcast loses a message under omissions; claim the opposite.
    let body: String =
        spec.lines().filter(|l| !l.starts_with("// ldfi:")).collect::<Vec<_>>().join("\n");
    let wrong =
        format!("// ldfi: eot=4 eff=2 crashes=0 expect=certified -- wrong on purpose\n{body}\n");
    let path = dir.join("wrong.ded");
    std::fs::write(&path, wrong).unwrap();
    let junit = dir.join("junit.xml");
    let (code, out) = ldfi(&["test", path.to_str().unwrap(), "--junit", junit.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL"), "{out}");
    assert!(out.contains("expected certified, got counterexample"), "{out}");
    assert!(out.contains("0 passed, 1 failed"), "{out}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<failure message=\"expected certified, got counterexample\"/>"), "{xml}");
}

#[test]
fn shards_partition_the_cases() {
    let (_, all) = ldfi(&["test", "specs/broadcast"]);
    let count =
        |out: &str| out.lines().filter(|l| l.starts_with("PASS") || l.starts_with("FAIL")).count();
    let (_, a) = ldfi(&["test", "specs/broadcast", "--shard", "1/2"]);
    let (_, b) = ldfi(&["test", "specs/broadcast", "--shard", "2/2"]);
    assert_eq!(count(&a) + count(&b), count(&all));
    assert!(count(&a) > 0 && count(&b) > 0);
}

#[test]
fn check_exit_codes_follow_the_verdict() {
    let (code, out) =
        ldfi(&["check", "specs/broadcast/oneshot.ded", "-t", "4", "-f", "2", "-c", "0"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("COUNTEREXAMPLE"), "{out}");
    assert!(
        out.contains("2 executions"),
        "the lossy one-shot broadcast falls in 2 executions:\n{out}"
    );
    let (code, out) =
        ldfi(&["check", "specs/broadcast/retry.ded", "--eot", "4", "--EFF", "2", "--crashes", "0"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("CERTIFIED"), "{out}");
    let (code, out) =
        ldfi(&["check", "specs/broadcast/retry.ded", "-t", "4", "-f", "2", "-c", "1"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("crash s@2"), "retry breaks when the sender crashes mid-way:\n{out}");
    let (code, out) = ldfi(&[
        "check",
        "specs/consensus/paxos_molly.ded",
        "-t",
        "8",
        "-f",
        "3",
        "-c",
        "1",
        "--strategy",
        "ldfi",
        "--max-runs",
        "3",
    ]);
    // The Molly synod needs about 100 ldfi executions to certify at 8/3/1: 3 runs end
    // without a verdict.
    assert_eq!(code, 3, "{out}");
    let (code, out) = ldfi(&["check", "specs/broadcast/oneshot.ded", "-t", "2", "-f", "5"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("impossible bounds"), "{out}");
}

#[test]
fn json_output_has_the_schema_version_and_is_deterministic() {
    let args =
        ["check", "specs/broadcast/retry.ded", "-t", "4", "-f", "2", "-c", "1", "--format", "json"];
    let (code, a) = ldfi(&args);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&a).expect("valid JSON");
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["verdict"], "counterexample");
    assert!(v["counterexamples"][0]["faults"].as_array().is_some_and(|f| !f.is_empty()));
    let (_, b) = ldfi(&args);
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.contains("_ms") && !l.contains("micros"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&a), strip(&b), "same inputs, same output (timings aside)");
}

#[test]
fn run_replays_a_counterexample_and_explain_shows_lineage() {
    let (code, out) =
        ldfi(&["run", "specs/broadcast/oneshot.ded", "-t", "4", "-f", "2", "--omit", "s->r2@1"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("invariant VIOLATED"), "{out}");
    assert!(out.contains("✗r2"), "the diagram marks the lost message:\n{out}");
    let (code, out) =
        ldfi(&["explain", "specs/broadcast/oneshot.ded", "log(\"r1\", \"m\")@4", "-t", "4"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("holds"), "{out}");
    assert!(out.contains("message s->r1 sent at 1"), "{out}");
    let (code, out) = ldfi(&["run", "specs/broadcast/oneshot.ded", "--crash", "nobody@1"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("not a node"), "{out}");
}

#[test]
fn ctrl_c_stops_a_long_search_with_its_partial_result() {
    // The exhaustive search of the scaled spec (2^90 omission subsets after step 1) runs
    // far longer than this test waits.
    let child = Command::new(env!("CARGO_BIN_EXE_ldfi"))
        .args(["check", "benches/scaled.ded", "--strategy", "exhaustive"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the ldfi binary runs");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let status =
        Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    let out = child.wait_with_output().expect("ldfi exits");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("interrupted (Ctrl-C)"), "{text}");
    let stats = text.lines().find(|l| l.starts_with("stats: fault space"));
    assert!(
        stats.is_some_and(|l| l.contains(" execution")),
        "the partial stats are printed:\n{text}"
    );
}

#[test]
fn runaway_rules_hit_the_tuple_cap_quickly() {
    let dir = std::env::temp_dir().join(format!("ldfi-runaway-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("runaway.ded");
    std::fs::write(&path, "p(\"a\", 1)@1;\np(\"a\", X + 1) :- p(\"a\", X);\n").unwrap();
    let t0 = std::time::Instant::now();
    let (code, out) = ldfi(&["run", path.to_str().unwrap(), "--tuple-cap", "20000"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("error[runaway]") && out.contains("`p` keeps growing"), "{out}");
    // Semi-naive rounds read only their delta: 20000 rounds must not cost 20000^2 steps.
    assert!(t0.elapsed() < std::time::Duration::from_secs(10), "took {:?}", t0.elapsed());
}

#[test]
fn the_printed_replay_command_reproduces_the_counterexample_in_a_shell() {
    let (code, out) =
        ldfi(&["check", "specs/broadcast/retry.ded", "-t", "4", "-f", "2", "-c", "1"]);
    assert_eq!(code, 1, "{out}");
    let replay = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay: ldfi "))
        .unwrap_or_else(|| panic!("no replay line in:\n{out}"))
        .to_string();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("\"$LDFI\" {replay} > /dev/null"))
        .env("LDFI", env!("CARGO_BIN_EXE_ldfi"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("sh runs");
    assert_eq!(status.code(), Some(1), "`ldfi {replay}` should violate the invariant");
}
