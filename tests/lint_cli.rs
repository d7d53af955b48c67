//! The `ldfi` binary: exit codes and output of `lint`, and usage errors.

use std::path::PathBuf;
use std::process::{Command, Output};

fn ldfi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ldfi")).args(args).output().expect("run ldfi")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A spec file in the temp directory, unique to this test process.
fn temp_spec(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("ldfi-lint-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write temp spec");
    path
}

#[test]
fn lint_rejects_a_broken_spec_with_exit_2() {
    let out = ldfi(&["lint", "--color", "never", "tests/broken/syntax_missing_semicolon.ded"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("error[syntax]: unexpected `log`"), "{err}");
    assert!(err.contains("tests/broken/syntax_missing_semicolon.ded:4:1"), "{err}");
    assert!(err.contains("hint: every clause ends with `;`"), "{err}");
}

#[test]
fn lint_accepts_a_good_spec_with_exit_0() {
    let spec = temp_spec(
        "good.ded",
        "// ldfi: eot=4 eff=2 crashes=0 expect=counterexample\n\
         peer(\"s\", \"r1\")@1;\nsend(\"s\", \"hello\")@1;\n\
         got(P, M)@async :- send(N, M), peer(N, P);\n\
         got(N, M)@next :- got(N, M);\n",
    );
    let out = ldfi(&["lint", spec.to_str().expect("utf-8 temp path")]);
    let _ = std::fs::remove_file(&spec);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("ok: 1 file, 4 clauses, 1 header line"), "{stdout}");
}

#[test]
fn lint_reports_a_missing_file() {
    let out = ldfi(&["lint", "tests/broken/there_is_no_such_spec.ded"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read `tests/broken/there_is_no_such_spec.ded`"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(ldfi(&["lint"]).status.code(), Some(2));
    assert_eq!(ldfi(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(ldfi(&["run", "x.ded", "--omit", "a-b@2"]).status.code(), Some(2));
    assert_eq!(ldfi(&["check", "x.ded", "--strategy", "magic"]).status.code(), Some(2));
    assert_eq!(ldfi(&["--help"]).status.code(), Some(0));
}

#[test]
fn a_missing_spec_file_is_a_clear_error() {
    let out = ldfi(&["check", "x.ded", "--eot", "4"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("x.ded"), "{}", stderr(&out));
}
