//! Golden tests of the diagnostics for deliberately broken specs.
//!
//! Every `tests/broken/*.ded` is linted through the library (load + static analysis) and
//! its rendered diagnostics (color off) are compared with `tests/broken/NAME.expected`.
//! Run with `LDFI_BLESS=1` to (re)write the expected files. A case whose `.expected` is
//! missing is skipped with a notice (its checker may not exist yet); a case that produces
//! no diagnostic at all is never blessed, because every broken spec must be reported.
//! Files in subdirectories (e.g. `tests/broken/inc/`) are helpers that cases include.

use ldfi::diag::{render_all, Diagnostic};
use ldfi::syntax::{self, SourceMap};
use std::path::{Path, PathBuf};

/// The `.ded` cases, sorted, as paths relative to the crate root (so that rendered file
/// names are the same on every machine).
fn cases() -> Vec<PathBuf> {
    let dir = Path::new("tests/broken");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("tests/broken exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "ded"))
        .collect();
    out.sort();
    out
}

/// What `ldfi lint` would print for one spec, and the diagnostics themselves.
fn lint(path: &Path) -> (String, Vec<Diagnostic>) {
    let (sources, diags): (SourceMap, Vec<Diagnostic>) = match syntax::load(&[path]) {
        Err(failed) => failed,
        Ok(loaded) => {
            let mut diags = loaded.warnings;
            diags.extend(ldfi::analysis::analyze(&loaded.program).diagnostics);
            (loaded.sources, diags)
        }
    };
    (render_all(&diags, &sources, false), diags)
}

#[test]
fn broken_specs_match_their_golden_diagnostics() {
    // Integration tests run in the crate root, so the relative paths above resolve.
    let bless = std::env::var_os("LDFI_BLESS").is_some_and(|v| v != "0");
    let mut failures = Vec::new();
    let mut compared = 0;
    for case in cases() {
        let expected_path = case.with_extension("expected");
        let (actual, diags) = lint(&case);
        if bless {
            if diags.is_empty() {
                println!("notice: not blessing {}: it produced no diagnostic", case.display());
            } else {
                std::fs::write(&expected_path, &actual).expect("write expected file");
                println!("blessed {}", expected_path.display());
            }
            continue;
        }
        let Ok(expected) = std::fs::read_to_string(&expected_path) else {
            println!("notice: skipping {}: no {}", case.display(), expected_path.display());
            continue;
        };
        compared += 1;
        if diags.is_empty() {
            failures.push(format!("{}: no diagnostic at all", case.display()));
        } else if actual != expected {
            failures.push(format!(
                "{}: diagnostics differ (LDFI_BLESS=1 rewrites the expected file)\n\
                 --- expected\n{expected}\n+++ actual\n{actual}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(bless || compared > 0, "no golden file was compared");
}

#[test]
fn every_rejected_case_reports_an_error_with_a_span() {
    for case in cases() {
        if let Err((sources, diags)) = syntax::load(&[&case]) {
            for d in &diags {
                if let Some((span, _)) = d.primary {
                    let len = sources.file(span.file).text.len() as u32;
                    assert!(span.start <= span.end && span.end <= len, "{}: {d:?}", case.display());
                }
            }
            assert!(diags.iter().any(Diagnostic::is_error), "{}", case.display());
        }
    }
}
