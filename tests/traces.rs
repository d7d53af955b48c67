//! `ldfi traces` end to end on the fixtures of tests/traces/ (written by
//! tests/traces/gen_fixtures.py): the example system of a client, two web servers, two API
//! servers and two databases, in OTLP/JSON, Jaeger and Zipkin form.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/traces").join(name)
}

fn ldfi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ldfi")).args(args).output().expect("ldfi runs")
}

fn json(args: &[&str]) -> Value {
    let mut all = vec!["traces"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = ldfi(&all);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json output")
}

fn experiments(state: &Value) -> Vec<Vec<String>> {
    state["experiments"]
        .as_array()
        .expect("experiments")
        .iter()
        .map(|e| {
            e["faults"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_owned()).collect()
        })
        .collect()
}

fn pairs(list: &[[&str; 2]]) -> Vec<Vec<String>> {
    list.iter().map(|p| p.iter().map(|s| s.to_string()).collect()).collect()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ldfi-traces-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn every_format_proposes_exactly_the_same_tier_pairs() {
    let same_tier = pairs(&[["api-1", "api-2"], ["db-1", "db-2"], ["web-1", "web-2"]]);
    for f in ["all_paths.otlp.jsonl", "all_paths.jaeger.json", "all_paths.zipkin.json"] {
        let s = json(&[fixture(f).to_str().unwrap(), "--faults", "2"]);
        assert_eq!(experiments(&s), same_tier, "{f}");
        let class = &s["classes"][0];
        assert_eq!(class["name"], "client GET /checkout", "{f}");
        assert_eq!(class["paths"].as_array().unwrap().len(), 8, "{f}");
        assert_eq!(
            s["experiments"][0]["targets"][0]["cuts"],
            serde_json::json!([1, 2, 3, 4, 5, 6, 7, 8])
        );
        // One fault is never enough: every service has a replica the traces saw working.
        assert!(experiments(&json(&[fixture(f).to_str().unwrap(), "--faults", "1"])).is_empty());
    }
}

#[test]
fn mixed_pairs_until_the_traces_show_every_combination() {
    // Only w1-a1-d1 and w2-a2-d2 seen: any pair with one service of each path cuts both.
    let s = json(&[fixture("two_paths.otlp.jsonl").to_str().unwrap()]);
    let exps = experiments(&s);
    assert_eq!(exps.len(), 9);
    assert!(exps.contains(&vec!["api-2".to_owned(), "web-1".to_owned()]));
    assert!(exps.contains(&vec!["api-1".to_owned(), "api-2".to_owned()]));
}

#[test]
fn formats_agree_and_file_order_does_not_matter() {
    let otlp = fixture("all_paths.otlp.jsonl");
    let jaeger = fixture("all_paths.jaeger.json");
    let zipkin = fixture("all_paths.zipkin.json");
    let one = json(&[otlp.to_str().unwrap()]);
    // The same traces in all three formats: duplicates count once, in any order.
    let a = json(&[otlp.to_str().unwrap(), jaeger.to_str().unwrap(), zipkin.to_str().unwrap()]);
    let b = json(&[zipkin.to_str().unwrap(), otlp.to_str().unwrap(), jaeger.to_str().unwrap()]);
    assert_eq!(a, b);
    assert_eq!(a["classes"], one["classes"]);
    assert_eq!(experiments(&a), experiments(&one));
}

#[test]
fn call_faults_cut_the_client_side_edges() {
    // Every API server reaches every database: cutting calls there takes four faults;
    // only the client's two calls can be cut with two.
    let s = json(&[fixture("all_paths.jaeger.json").to_str().unwrap(), "--fault-on", "call"]);
    assert_eq!(experiments(&s), pairs(&[["client->web-1", "client->web-2"]]));
}

#[test]
fn a_tolerated_failure_is_a_learned_fallback() {
    // web-1 -> api-1 failed once and web-1 answered via api-2: api-1 alone is no cut.
    let s = json(&[fixture("fallback.jaeger.json").to_str().unwrap()]);
    assert_eq!(
        experiments(&s),
        vec![
            vec!["db-1".to_owned()],
            vec!["web-1".to_owned()],
            vec!["api-1".to_owned(), "api-2".to_owned()]
        ]
    );
    assert_eq!(s["classes"][0]["paths"][1]["tolerated"], serde_json::json!(["web-1->api-1"]));
    assert_eq!(s["classes"][0]["paths"][1]["text"], "client -> web-1 -> api-2 -> db-1");
}

#[test]
fn the_learn_loop_drops_survived_experiments_and_reports_bugs() {
    let s0 = tmp("s0.json");
    let s1 = tmp("s1.json");
    let first =
        json(&[fixture("fallback.jaeger.json").to_str().unwrap(), "--state", s0.to_str().unwrap()]);
    assert_eq!(first["experiments"][0]["faults"], serde_json::json!(["db-1"]));
    // The state file is the JSON output, byte for byte.
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&s0).unwrap()).unwrap();
    assert_eq!(written, first);
    // Experiment 1 (db-1 down): api-1 fell back to db-2; the request survived.
    let after = json(&[
        "--learn",
        s0.to_str().unwrap(),
        fixture("learn_db1_survived.zipkin.json").to_str().unwrap(),
        "--state",
        s1.to_str().unwrap(),
    ]);
    assert_eq!(after["history"][0]["outcome"], "survived");
    assert_eq!(after["history"][0]["new_paths"], 1);
    let exps = experiments(&after);
    assert!(!exps.contains(&vec!["db-1".to_owned()]), "{exps:?}");
    assert_eq!(exps[0], vec!["web-1".to_owned()]);
    assert_eq!(after["verdict"], "experiments");
    // Experiment 1 now is web-1 down, and the client has no fallback: a bug (exit 1).
    let out = ldfi(&[
        "traces",
        "--learn",
        s1.to_str().unwrap(),
        fixture("learn_web1_failed.otlp.jsonl").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let bug: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(bug["verdict"], "bug");
    assert_eq!(bug["bugs"][0]["faults"], serde_json::json!(["web-1"]));
    assert_eq!(bug["bugs"][0]["trace_id"], "000000e1000000000000000000000001");
    assert_eq!(bug["bugs"][0]["spans"][0], "client GET /checkout [ERROR]");
    // No superset of the failed experiment is proposed.
    assert!(experiments(&bug).iter().all(|e| !e.contains(&"web-1".to_owned())));
    let text = ldfi(&[
        "traces",
        "--learn",
        s1.to_str().unwrap(),
        fixture("learn_web1_failed.otlp.jsonl").to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("BUG: with web-1 failed, 1 request of `client GET /checkout` failed"),
        "{text}"
    );
}

fn dns1123(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The required fields of an Istio `networking.istio.io/v1` VirtualService with an HTTP
/// abort fault.
fn check_istio(doc: &Value, with_source_match: bool) {
    assert_eq!(doc["apiVersion"], "networking.istio.io/v1");
    assert_eq!(doc["kind"], "VirtualService");
    assert!(dns1123(doc["metadata"]["name"].as_str().expect("metadata.name")), "{doc}");
    let hosts = doc["spec"]["hosts"].as_array().expect("spec.hosts");
    assert!(!hosts.is_empty() && hosts.iter().all(|h| h.as_str().is_some_and(|h| !h.is_empty())));
    let http = doc["spec"]["http"].as_array().expect("spec.http");
    let mut faults = 0;
    for route in http {
        let dests = route["route"].as_array().expect("http[].route");
        assert!(dests
            .iter()
            .all(|d| d["destination"]["host"].as_str().is_some_and(|h| !h.is_empty())));
        if let Some(abort) = route.get("fault").map(|f| &f["abort"]) {
            faults += 1;
            let status = abort["httpStatus"].as_u64().expect("httpStatus");
            assert!((200..=599).contains(&status));
            let pct = abort["percentage"]["value"].as_f64().expect("percentage.value");
            assert!((0.0..=100.0).contains(&pct));
            if with_source_match {
                assert!(route["match"][0]["sourceLabels"]["app"].is_string(), "{route}");
            }
        }
    }
    assert!(faults >= 1);
}

/// The required fields of a Toxiproxy toxic (`POST /proxies/{proxy}/toxics`).
fn check_toxic(item: &Value) {
    assert!(item["proxy"].as_str().is_some_and(|p| !p.is_empty()));
    let t = &item["toxic"];
    assert!(t["name"].as_str().is_some_and(|n| !n.is_empty()));
    let kinds = [
        "latency",
        "down",
        "bandwidth",
        "slow_close",
        "timeout",
        "reset_peer",
        "slicer",
        "limit_data",
    ];
    assert!(kinds.contains(&t["type"].as_str().unwrap()));
    assert!(["upstream", "downstream"].contains(&t["stream"].as_str().unwrap()));
    assert!((0.0..=1.0).contains(&t["toxicity"].as_f64().unwrap()));
    assert!(t["attributes"]["timeout"].as_u64().is_some());
}

#[test]
fn fault_specs_are_valid_istio_and_toxiproxy_documents() {
    let dir = tmp("inject");
    let s = json(&[
        fixture("all_paths.otlp.jsonl").to_str().unwrap(),
        "--inject-dir",
        dir.to_str().unwrap(),
    ]);
    for e in s["experiments"].as_array().unwrap() {
        let id = e["id"].as_u64().unwrap();
        let istio = e["inject"]["istio"].as_array().unwrap();
        assert_eq!(istio.len(), 2, "one VirtualService per failed service");
        istio.iter().for_each(|d| check_istio(d, false));
        let hosts: Vec<&Value> = istio.iter().map(|d| &d["spec"]["hosts"][0]).collect();
        assert_eq!(hosts, e["faults"].as_array().unwrap().iter().collect::<Vec<_>>());
        e["inject"]["toxiproxy"].as_array().unwrap().iter().for_each(check_toxic);
        // The files written by --inject-dir parse back to the same documents.
        let file: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("e{id}.istio.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(&file, &e["inject"]["istio"]);
        let file: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("e{id}.toxiproxy.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(&file, &e["inject"]["toxiproxy"]);
    }
    let calls = json(&[fixture("two_paths.otlp.jsonl").to_str().unwrap(), "--fault-on", "call"]);
    let mut n = 0;
    for e in calls["experiments"].as_array().unwrap() {
        for d in e["inject"]["istio"].as_array().unwrap() {
            check_istio(d, true);
            n += 1;
        }
    }
    assert!(n > 0);
}

#[test]
fn bad_input_is_an_error_with_a_location_not_a_panic() {
    let bad = tmp("bad.json");
    std::fs::write(
        &bad,
        "{\"resourceSpans\": [{\"scopeSpans\": [{\"spans\": [{\"traceId\": \"zz\"}]}]}]}\n",
    )
    .unwrap();
    let out = ldfi(&["traces", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.json:1:"), "{err}");
    assert!(err.contains("hint:") && err.contains("OTLP"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let other = tmp("other.json");
    std::fs::write(&other, "{\"schema\": \"something-else\"}").unwrap();
    let out = ldfi(&[
        "traces",
        "--learn",
        other.to_str().unwrap(),
        fixture("two_paths.otlp.jsonl").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("schema"));

    let state = tmp("state-for-bad-id.json");
    json(&[fixture("two_paths.otlp.jsonl").to_str().unwrap(), "--state", state.to_str().unwrap()]);
    let out = ldfi(&[
        "traces",
        "--learn",
        state.to_str().unwrap(),
        fixture("two_paths.otlp.jsonl").to_str().unwrap(),
        "--experiment",
        "99",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no experiment 99"));
}

/// The crash pair of the first counterexample `ldfi check` prints for the spec twin.
fn first_counterexample(strategy: &str) -> Vec<String> {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/services/web_tiers.ded");
    let out = ldfi(&["check", spec.to_str().unwrap(), "--strategy", strategy, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let faults = v["counterexamples"][0]["faults"].as_array().unwrap();
    assert!(faults.iter().all(|f| f["kind"] == "crash"), "{faults:?}");
    let mut nodes: Vec<String> =
        faults.iter().map(|f| f["node"].as_str().unwrap().to_owned()).collect();
    nodes.sort();
    nodes
}

#[test]
fn the_spec_twin_names_a_same_tier_pair() {
    let same_tier = pairs(&[["a1", "a2"], ["d1", "d2"], ["w1", "w2"]]);
    for strategy in ["ldfi", "exhaustive"] {
        let pair = first_counterexample(strategy);
        assert!(same_tier.contains(&pair), "{strategy}: {pair:?}");
    }
}
