//! End to end: generate HTML reports for failing specs, open them from disk in headless
//! Chromium, assert on the rendered DOM, and save screenshots as test artifacts under
//! `target/report-artifacts/`.
//!
//! Needs `chromium` (Debian package `chromium`). Without it the tests are skipped with a
//! notice on stderr, so `cargo test` passes on a fresh machine; `.ci/run` installs Chromium
//! and sets `LDFI_REQUIRE_BROWSER=1`, which makes a missing browser a failure.
//! `LDFI_SKIP_BROWSER=1` skips them even when a browser is there.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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

/// The Chromium binary, or `None` when the browser tests are skipped (said loudly on stderr).
fn chromium() -> Option<PathBuf> {
    let env = |k: &str| std::env::var(k).is_ok_and(|v| v == "1");
    match browser_decision(find_chromium(), env("LDFI_REQUIRE_BROWSER"), env("LDFI_SKIP_BROWSER")) {
        Ok(Some(path)) => Some(path),
        Ok(None) => None,
        Err(msg) => panic!("{msg}"),
    }
}

/// The first Chromium-like browser on the usual paths or on `PATH`.
fn find_chromium() -> Option<PathBuf> {
    let names = ["chromium", "chromium-browser", "google-chrome"];
    let mut dirs: Vec<PathBuf> = vec![PathBuf::from("/usr/bin")];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.iter().flat_map(|d| names.iter().map(move |n| d.join(n))).find(|p| p.is_file())
}

/// Whether to run the browser tests: with a browser, run them (unless skipped on purpose);
/// without one, skip with a loud notice on a developer's machine, but fail where the
/// browser is required (CI sets `LDFI_REQUIRE_BROWSER=1` in `.ci/run`, which installs it).
fn browser_decision(
    found: Option<PathBuf>,
    require: bool,
    skip: bool,
) -> Result<Option<PathBuf>, String> {
    const NEED: &str = "the HTML report test needs headless Chromium \
                        (Debian: `apt-get install -y chromium`; `.ci/run` installs it)";
    match (found, require, skip) {
        (_, true, true) => {
            Err("LDFI_REQUIRE_BROWSER=1 and LDFI_SKIP_BROWSER=1 contradict each other".into())
        }
        (_, false, true) => {
            eprintln!("SKIPPED: LDFI_SKIP_BROWSER=1: not running the headless-browser test");
            Ok(None)
        }
        (Some(path), _, false) => Ok(Some(path)),
        (None, true, false) => {
            Err(format!("LDFI_REQUIRE_BROWSER=1 but no Chromium was found: {NEED}"))
        }
        (None, false, false) => {
            eprintln!(
                "SKIPPED: no Chromium found (looked for chromium, chromium-browser, \
                 google-chrome in /usr/bin and on PATH): {NEED}; \
                 set LDFI_REQUIRE_BROWSER=1 to make a missing browser a failure"
            );
            Ok(None)
        }
    }
}

#[test]
fn a_missing_browser_skips_unless_required() {
    let chrome = Some(PathBuf::from("/usr/bin/chromium"));
    assert_eq!(browser_decision(None, false, false), Ok(None));
    assert!(browser_decision(None, true, false).is_err());
    assert_eq!(browser_decision(chrome.clone(), true, false), Ok(chrome.clone()));
    assert_eq!(browser_decision(chrome.clone(), false, false), Ok(chrome.clone()));
    assert_eq!(browser_decision(chrome.clone(), false, true), Ok(None));
    assert!(browser_decision(chrome, true, true).is_err());
}

fn artifacts() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(tmp).join("report-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-browser-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run headless Chromium on a page with extra flags; returns stdout. Kills it after 120 s.
fn browse(chrome: &Path, page: &Path, extra: &[&str]) -> String {
    // A fresh profile per launch: parallel tests must not share one (Chromium locks it).
    static LAUNCHES: AtomicUsize = AtomicUsize::new(0);
    let n = LAUNCHES.fetch_add(1, Ordering::SeqCst);
    let profile = scratch(&format!("profile-{}-{n}", std::process::id()));
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let mut child = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chrome.display()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium failed on {url}: {status}");
            break;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish on {url} within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

fn dump_dom(chrome: &Path, page: &Path) -> String {
    let dom = browse(chrome, page, &["--dump-dom"]);
    assert!(dom.contains("</html>"), "no DOM dumped for {}:\n{dom}", page.display());
    dom
}

fn screenshot(chrome: &Path, page: &Path, name: &str) -> PathBuf {
    let path = artifacts().join(name);
    let _ = std::fs::remove_file(&path);
    browse(chrome, page, &[&format!("--screenshot={}", path.display()), "--window-size=1400,1000"]);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "screenshot {} is missing or empty", path.display());
    eprintln!("screenshot: {}", path.display());
    path
}

/// `crash a@1`, `omit a->b@1` from the JSON fault list.
fn fault_text(faults: &serde_json::Value) -> String {
    let parts: Vec<String> = faults
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| match f["kind"].as_str() {
            Some("crash") => format!("crash {}@{}", f["node"].as_str().unwrap_or("?"), f["time"]),
            _ => format!(
                "omit {}-&gt;{}@{}",
                f["from"].as_str().unwrap_or("?"),
                f["to"].as_str().unwrap_or("?"),
                f["time"]
            ),
        })
        .collect();
    parts.join(", ")
}

/// Check a spec with `--format json --report`, returning (report dir, JSON outcome).
fn check(name: &str, spec: &str, bounds: &[&str]) -> (PathBuf, serde_json::Value) {
    let report = scratch(name).join("report");
    let mut args = vec!["check", spec];
    args.extend_from_slice(bounds);
    args.extend_from_slice(&["--format", "json", "--report", report.to_str().unwrap()]);
    let (code, out, err) = ldfi(&args);
    assert_eq!(code, 1, "expected a counterexample:\n{out}{err}");
    assert!(err.contains("report written to"), "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON on stdout");
    (report, json)
}

/// The rendered table row of the first counterexample, and the page it links to.
fn counterexample_row(index_dom: &str) -> (String, String) {
    let body = &index_dom[index_dom.find("<tbody>").expect("a table of runs")..];
    let first = &body[..body.find("</tr>").expect("a row")];
    assert!(first.contains("class=\"cx\""), "the counterexample comes first: {first}");
    let page = first
        .split("href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the counterexample row links to its page")
        .to_string();
    (first.to_string(), page)
}

/// The rendered space-time SVG of a page.
fn spacetime(dom: &str) -> &str {
    let start = dom.find("class=\"spacetime\"").expect("a space-time diagram");
    let end = dom[start..].find("</svg>").expect("the diagram ends") + start;
    &dom[start..end]
}

#[test]
fn two_phase_commit_report_renders_in_chromium() {
    let Some(chrome) = chromium() else { return };
    let (report, json) = check("2pc", "specs/commit/2pc.ded", &["-t", "5", "-f", "0", "-c", "1"]);
    let cx = &json["counterexamples"][0];
    let faults = fault_text(&cx["faults"]);
    let messages = cx["messages"].as_array().expect("the run's messages");
    let index = report.join("index.html");
    let dom = dump_dom(&chrome, &index);
    assert!(dom.contains("COUNTEREXAMPLE"), "{dom}");
    let (row, page) = counterexample_row(&dom);
    assert!(row.contains(&faults), "row {row} should show {faults}");
    assert!(row.contains("counterexample"), "{row}");

    let page = report.join(page);
    let dom = dump_dom(&chrome, &page);
    let svg = spacetime(&dom);
    assert_eq!(
        svg.matches("<g class=\"msg ").count(),
        messages.len(),
        "one arrow per message of the run"
    );
    let lost = messages.iter().filter(|m| m["status"] != "delivered").count();
    let drawn_lost = svg.matches("<g class=\"msg omitted\"").count()
        + svg.matches("<g class=\"msg crashed\"").count();
    assert_eq!(drawn_lost, lost, "lost messages are marked");
    if faults.starts_with("crash") {
        assert!(svg.contains("class=\"crash\""), "the crash is marked");
    }
    assert!(dom.contains("class=\"edge cut\""), "the lineage highlights the cut message");
    assert!(dom.contains("Relations per timestep"));
    screenshot(&chrome, &index, "2pc-index.png");
    screenshot(&chrome, &page, "2pc-counterexample.png");
}

#[test]
fn markup_in_a_spec_renders_as_text() {
    let Some(chrome) = chromium() else { return };
    let dir = scratch("xss-spec");
    let spec = dir.join("xss.ded");
    std::fs::write(
        &spec,
        r#"// A one-shot message whose payload is markup: the report must show it as text.
begin("a", "b", "<script>alert(1)</script>")@1;
log(A, B, P) :- begin(A, B, P);
log(A, B, P)@next :- log(A, B, P);
got(B, A, P)@async :- begin(A, B, P);
got(B, A, P)@next :- got(B, A, P);
pre(B, P) :- log(_, B, P);
post(B, P) :- got(B, _, P);
"#,
    )
    .unwrap();
    let (report, json) = check("xss", spec.to_str().unwrap(), &["-t", "3", "-f", "2", "-c", "0"]);
    let index = report.join("index.html");
    let dom = dump_dom(&chrome, &index);
    let (_, page) = counterexample_row(&dom);
    let page = report.join(page);
    for dom in [dom, dump_dom(&chrome, &page)] {
        assert!(!dom.contains("<script"), "a script element was rendered:\n{dom}");
        assert!(
            dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "the payload shows as text:\n{dom}"
        );
    }
    let messages = json["counterexamples"][0]["messages"].as_array().map_or(0, Vec::len);
    let dom = dump_dom(&chrome, &page);
    assert_eq!(spacetime(&dom).matches("<g class=\"msg ").count(), messages);
    screenshot(&chrome, &page, "xss-counterexample.png");
}
