//! The examples of docs/LANGUAGE.md are real: every ```ded block is a complete spec that
//! lints without errors, and a block with an `expect=` header line passes `ldfi test`.

use std::path::PathBuf;
use std::process::Command;

/// The ```ded blocks of a Markdown text, in order.
fn ded_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```ded") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), l) => {
                block.push_str(l);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

fn ldfi(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ldfi"))
        .args(["--color", "never"])
        .args(args)
        .output()
        .expect("run ldfi")
}

#[test]
fn language_reference_examples_lint_and_pass() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/LANGUAGE.md"))
        .expect("docs/LANGUAGE.md exists");
    let blocks = ded_blocks(&doc);
    assert!(blocks.len() >= 6, "expected the reference's examples, found {}", blocks.len());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lint-docs");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut tested = 0;
    for (i, block) in blocks.iter().enumerate() {
        let path = dir.join(format!("example{i}.ded"));
        std::fs::write(&path, block).unwrap();
        let file = path.to_str().unwrap();
        let out = ldfi(&["lint", file]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "example {i} does not lint:\n{block}\n{err}");
        assert!(!err.contains("warning"), "example {i} has warnings:\n{block}\n{err}");
        if block.contains("expect=") {
            let out = ldfi(&["test", file]);
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                out.status.code(),
                Some(0),
                "example {i} fails its header:\n{block}\n{text}"
            );
            assert!(text.contains(" 0 failed, 0 skipped"), "{text}");
            tested += 1;
        }
    }
    assert!(tested >= 5, "only {tested} examples carry an expect= header");
}

#[test]
fn ded_blocks_are_extracted() {
    let md = "text\n```ded\np(\"a\")@1;\n```\n```\nnot ded\n```\n```ded\nq(\"b\")@1;\n```\n";
    assert_eq!(ded_blocks(md), vec!["p(\"a\")@1;\n", "q(\"b\")@1;\n"]);
}
