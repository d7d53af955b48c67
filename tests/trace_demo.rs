//! The trace-driven LDFI demo end to end: build examples/trace-demo (its own package),
//! run `run-demo.sh`, which starts the real services on loopback ports, records their
//! OTLP/JSON traces and drives `ldfi traces` / `--learn` experiment by experiment, and
//! check that the loop stops at the planted bug (api-1 has no fallback to db-2, so
//! failing db-1 fails requests that api-2's fallback would have saved).

use serde_json::Value;
use std::path::Path;
use std::process::Command;

#[test]
fn the_demo_loop_finds_the_missing_fallback() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = std::env::temp_dir().join(format!("ldfi-trace-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    // Six ports per run; spread runs of parallel test processes apart.
    let base = 40_000 + (std::process::id() % 2_000) * 6;
    let out = Command::new("bash")
        .arg(root.join("examples/trace-demo/run-demo.sh"))
        .arg(&work)
        .env("LDFI", env!("CARGO_BIN_EXE_ldfi"))
        .env("DEMO_PORT_BASE", base.to_string())
        .output()
        .expect("run-demo.sh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    // The first experiment (api-1 down) survives through web-1's fallback to api-2 ...
    assert!(stdout.contains("ran api-1: survived"), "{stdout}");
    assert!(stdout.contains("fallback after failed web-1->api-1"), "{stdout}");
    // ... and the second (db-1 down) hits api-1's missing fallback.
    assert!(stdout.contains("BUG: with db-1 failed"), "{stdout}");
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["verdict"], "bug");
    assert_eq!(state["history"].as_array().unwrap().len(), 2);
    assert_eq!(state["bugs"][0]["faults"], serde_json::json!(["db-1"]));
    let spans: Vec<&str> =
        state["bugs"][0]["spans"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(spans.iter().any(|s| s.trim() == "api-1 GET db-1 [ERROR]"), "{spans:?}");
    // api-1 never tried db-2: that call is what is missing.
    assert!(!spans.iter().any(|s| s.contains("GET db-2")), "{spans:?}");
    let _ = std::fs::remove_dir_all(&work);
}
