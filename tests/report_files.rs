//! The HTML report and DOT files as files (no browser): `--report` and `--dot` on `check`
//! and `run`, self-contained pages (no URLs), escaping, deterministic output.

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

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-files-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `http://` or `https://` reference in a page other than the SVG namespace.
fn urls(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for scheme in ["http://", "https://"] {
        for (i, _) in html.match_indices(scheme) {
            let rest: String =
                html[i..].chars().take_while(|c| !c.is_whitespace() && *c != '"').collect();
            if rest != "http://www.w3.org/2000/svg" {
                out.push(rest);
            }
        }
    }
    out
}

/// Mask measured times (`0.21 ms`) so that two reports can be compared.
fn mask_times(html: &str) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    let mut chars = html.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || (c == '.' && !digits.is_empty()) {
            digits.push(c);
            continue;
        }
        if !digits.is_empty() {
            let is_time = c == ' ' && chars.peek() == Some(&'m');
            out.push_str(if is_time && digits.contains('.') { "#" } else { &digits });
            digits.clear();
        }
        out.push(c);
    }
    out.push_str(&digits);
    out
}

const XSS_SPEC: &str = r#"// A one-shot message whose payload is markup: the report must show it as text.
begin("a", "b", "<script>alert(1)</script>")@1;
log(A, B, P) :- begin(A, B, P);
log(A, B, P)@next :- log(A, B, P);
got(B, A, P)@async :- begin(A, B, P);
got(B, A, P)@next :- got(B, A, P);
pre(B, P) :- log(_, B, P);
post(B, P) :- got(B, _, P);
"#;

#[test]
fn check_writes_a_self_contained_report_and_dot_files() {
    let dir = scratch("2pc");
    let (report, dot) = (dir.join("report"), dir.join("dot"));
    let (code, out, err) = ldfi(&[
        "check",
        "specs/commit/2pc.ded",
        "-t",
        "5",
        "-f",
        "0",
        "-c",
        "1",
        "--report",
        report.to_str().unwrap(),
        "--dot",
        dot.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!("report written to {}", report.join("index.html").display())),
        "{out}"
    );
    let index = read(&report.join("index.html"));
    assert!(urls(&index).is_empty(), "external references: {:?}", urls(&index));
    assert!(!index.contains("<script"), "the report needs no scripts");
    assert!(!index.contains("<link"), "the stylesheet is inline");
    assert!(index.contains("COUNTEREXAMPLE"));
    assert!(index.contains("16 scenarios"), "fault-space size on the index");
    // The first row of the runs table is the counterexample, with a page.
    let body = &index[index.find("<tbody>").expect("a runs table")..];
    let first_row = &body[..body.find("</tr>").unwrap()];
    assert!(first_row.contains("class=\"cx\""), "{first_row}");
    let page = first_row
        .split("href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the counterexample row links to its page");
    let cx = read(&report.join(page));
    assert!(urls(&cx).is_empty(), "external references: {:?}", urls(&cx));
    assert!(cx.contains("class=\"spacetime\"") && cx.contains("class=\"lineage\""));
    assert!(cx.contains("class=\"edge cut\""), "the cut message is highlighted");
    assert!(cx.contains("id=\"t5\""), "relations per timestep up to EOT");
    assert!(report.join("run-0.html").exists(), "the failure-free run has a page");
    let run0 = read(&report.join("run-0.html"));
    assert!(run0.contains("(failure-free)"));
    for name in ["run-0-lineage.dot", "run-0-spacetime.dot"] {
        let text = read(&dot.join(name));
        assert!(text.starts_with("digraph "), "{name}: {text}");
        assert_eq!(text.matches('{').count(), text.matches('}').count(), "{name}");
    }
    let n = page.trim_start_matches("run-").trim_end_matches(".html");
    let lineage = read(&dot.join(format!("run-{n}-lineage.dot")));
    assert!(lineage.contains("label=\"cut\""), "{lineage}");
    let spacetime = read(&dot.join(format!("run-{n}-spacetime.dot")));
    assert!(spacetime.contains("CRASH"), "{spacetime}");
}

#[test]
fn reports_are_deterministic_apart_from_measured_times() {
    let dir = scratch("determinism");
    let mut pages = Vec::new();
    for k in 0..2 {
        let report = dir.join(format!("r{k}"));
        let (code, out, err) = ldfi(&[
            "check",
            "specs/broadcast/retry.ded",
            "-t",
            "4",
            "-f",
            "2",
            "-c",
            "1",
            "--report",
            report.to_str().unwrap(),
        ]);
        assert_eq!(code, 1, "{out}{err}");
        let mut names: Vec<String> = std::fs::read_dir(&report)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        let texts: Vec<String> = names.iter().map(|n| mask_times(&read(&report.join(n)))).collect();
        pages.push((names, texts));
    }
    assert_eq!(pages[0].0, pages[1].0);
    for (a, b) in pages[0].1.iter().zip(&pages[1].1) {
        assert_eq!(a, b);
    }
}

#[test]
fn spec_strings_are_escaped_everywhere() {
    let dir = scratch("xss");
    let spec = dir.join("xss.ded");
    std::fs::write(&spec, XSS_SPEC).unwrap();
    let (report, dot) = (dir.join("report"), dir.join("dot"));
    let (code, out, err) = ldfi(&[
        "check",
        spec.to_str().unwrap(),
        "-t",
        "3",
        "-f",
        "2",
        "-c",
        "0",
        "--report",
        report.to_str().unwrap(),
        "--dot",
        dot.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    for entry in std::fs::read_dir(&report).unwrap() {
        let html = read(&entry.unwrap().path());
        assert!(!html.contains("<script"), "unescaped markup:\n{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }
    let lineage = read(&dot.join("run-0-lineage.dot"));
    assert!(lineage.contains(r#"\"<script>alert(1)</script>\""#), "{lineage}");
}

#[test]
fn run_writes_a_report_too() {
    let dir = scratch("run");
    let report = dir.join("report");
    let dot = dir.join("dot");
    let (code, out, err) = ldfi(&[
        "run",
        "specs/commit/2pc.ded",
        "-t",
        "5",
        "--crash",
        "c@2",
        "--report",
        report.to_str().unwrap(),
        "--dot",
        dot.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("report written to"), "{out}");
    let index = read(&report.join("index.html"));
    assert!(index.contains("crash c@2") && index.contains("VIOLATED"), "{index}");
    let page = read(&report.join("run-0.html"));
    assert!(page.contains("failure-free"), "compared with the failure-free run");
    assert!(dot.join("run-0-spacetime.dot").exists());
    // With --format json stdout stays JSON; the notice goes to stderr.
    let (code, out, err) = ldfi(&[
        "run",
        "specs/commit/2pc.ded",
        "-t",
        "5",
        "--format",
        "json",
        "--report",
        dir.join("json").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok(), "{out}");
    assert!(err.contains("report written to"), "{err}");
}

#[test]
fn an_unwritable_report_directory_is_an_error() {
    let dir = scratch("unwritable");
    let file = dir.join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let (code, out, err) =
        ldfi(&["run", "specs/commit/2pc.ded", "-t", "5", "--report", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("could not write the report"), "{err}");
}
