//! Outputs that scale with the protocol (issue 13, item 6): the terminal and SVG space-time
//! diagrams of runs with many nodes, the DOT lane order, fault-space sizes in text and JSON,
//! the progress line and what the HTML index explains.

use ldfi::analysis::ir::Program;
use ldfi::eval::{self, Run, RunParams, Scenario};
use ldfi::report::{dot, html, space, text};
use ldfi::search::Progress;
use num_bigint::BigUint;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn compile(src: &str) -> Program {
    let loaded = ldfi::syntax::load_str("test.ded", src).map_err(|e| e.1).expect("loads");
    ldfi::analysis::analyze(&loaded.program).program.expect("analyses")
}

/// `s` sends `m` to `n` receivers `r0..`, who all gossip it on; facts name every node.
fn broadcast(n: usize, gossip: bool) -> String {
    let mut out = String::new();
    for i in 0..n {
        out.push_str(&format!("member(\"s\", \"r{i}\")@1;\n"));
        if gossip {
            for j in 0..n {
                if i != j {
                    out.push_str(&format!("member(\"r{i}\", \"r{j}\")@1;\n"));
                }
            }
        }
    }
    out.push_str("val(\"s\", \"m\")@1;\nmember(N, P)@next :- member(N, P);\nval(N, V)@next :- val(N, V);\nval(P, V)@async :- val(N, V), member(N, P);\npre(N, V) :- member(_, N), val(\"s\", V);\npost(N, V) :- val(N, V);\n");
    out
}

/// A run of `src` over its inferred nodes, omitting the given messages.
fn run(src: &str, eot: u32, omit: &[(&str, &str, u32)]) -> (Program, Run) {
    let mut p = compile(src);
    let mut scenario = Scenario::default();
    for &(a, b, t) in omit {
        let (a, b) = (p.symbols.intern(a), p.symbols.intern(b));
        scenario.omissions.insert((a, b, t));
    }
    let params = RunParams {
        eot,
        nodes: p.inferred_nodes.clone(),
        lineage: true,
        tuple_cap: eval::DEFAULT_TUPLE_CAP,
    };
    let r = eval::run(&p, &params, &scenario).expect("runs");
    (p, r)
}

/// The header row's column titles of a terminal diagram.
fn columns(diagram: &str) -> Vec<String> {
    let head = diagram.lines().next().expect("a header row");
    head.split('|').skip(1).map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect()
}

#[test]
fn a_wide_terminal_diagram_elides_lanes_and_names_lost_destinations() {
    let (p, r) = run(&broadcast(30, false), 3, &[("s", "r25", 1)]);
    let d = text::diagram(&p, &r);
    let cols = columns(&d);
    assert_eq!(cols.len(), text::TEXT_LANES, "{d}");
    assert_eq!(cols.last().map(String::as_str), Some("+22 others"), "{d}");
    assert!(cols.contains(&"r25".to_string()), "the end of the lost message keeps a lane: {d}");
    let row1 = d.lines().nth(1).expect("row 1");
    assert!(row1.contains("✗r25 →rest"), "the lost message is named, the rest summed up: {d}");
    assert!(d.contains("22 of 31 nodes share the column `+22 others`"), "{d}");
    assert!(d.lines().all(|l| l.chars().count() < 250), "{d}");
}

#[test]
fn a_small_terminal_diagram_is_unchanged() {
    let (p, r) = run(&broadcast(2, false), 2, &[("s", "r1", 1)]);
    let d = text::diagram(&p, &r);
    assert!(d.starts_with("  t | s       | r0  | r1  |\n  1 | →r0 ✗r1 |     |     |\n"), "{d}");
    assert!(!d.contains("others") && !d.contains("cut with"), "{d}");
}

/// Every `<text class="mlabel ...">` of an SVG: (x, y, anchor, text).
fn labels(svg: &str) -> Vec<(f64, f64, String, String)> {
    let attr = |tag: &str, name: &str| -> String {
        let key = format!("{name}=\"");
        let start = tag.find(&key).map(|i| i + key.len()).unwrap_or(0);
        tag[start..].split('"').next().unwrap_or("").to_string()
    };
    svg.split("<text class=\"mlabel")
        .skip(1)
        .map(|rest| {
            let tag = &rest[..rest.find('>').expect("tag ends")];
            let body = &rest
                [rest.find('>').expect("tag ends") + 1..rest.find("</text>").expect("text ends")];
            let num = |n: &str| attr(tag, n).parse::<f64>().expect("a number");
            (num("x"), num("y"), attr(tag, "text-anchor"), body.replace("&gt;", ">"))
        })
        .collect()
}

#[test]
fn svg_labels_never_overlap_and_wide_runs_share_a_lane() {
    // Ten gossiping nodes: ninety channels a timestep, whose labels used to pile up.
    let (p, r) = run(&broadcast(9, true), 3, &[("s", "r4", 1)]);
    let svg = html::spacetime_svg(&p, &r);
    let boxes: Vec<(f64, f64, f64, f64)> = labels(&svg)
        .iter()
        .map(|(x, y, anchor, t)| {
            let w = t.chars().count() as f64 * 6.4 + 4.0;
            let x0 = if anchor == "end" { x - w + 2.0 } else { x - 2.0 };
            (x0, y - 11.0, x0 + w, y + 3.0)
        })
        .collect();
    assert!(boxes.len() >= 20, "most channels keep a label: {}", boxes.len());
    for (i, a) in boxes.iter().enumerate() {
        for b in &boxes[i + 1..] {
            let overlap = a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3;
            assert!(!overlap, "labels overlap: {a:?} {b:?}");
        }
    }
    assert!(
        labels(&svg).iter().any(|l| l.3 == "val →r4"),
        "the lost message's label names its destination"
    );
    let (p, r) = run(&broadcast(40, false), 3, &[]);
    let svg = html::spacetime_svg(&p, &r);
    assert_eq!(svg.matches("<g class=\"lane-head").count(), html::SVG_LANES);
    assert!(svg.contains(">+26 others</text>"), "the shared lane is named");
    assert!(
        labels(&svg).iter().any(|l| l.3 == "val →26 nodes"),
        "the grouped arrow says how many nodes it goes to"
    );
    let steps: std::collections::BTreeSet<u32> = r.messages.iter().map(|m| m.send_time).collect();
    assert_eq!(
        svg.matches("<g class=\"group msg delivered\"").count(),
        steps.len(),
        "one arrow a timestep for the 26 messages to the shared lane"
    );
    assert!(svg.contains("data-count=\"26\""), "the group says how many messages it stands for");
}

#[test]
fn dot_lanes_keep_node_order_beside_timestep_labels() {
    let (p, r) = run(&broadcast(3, false), 3, &[]);
    let d = dot::spacetime_dot(&p, &r);
    assert!(d.contains("t1 [shape=plaintext, style=\"\", width=0.6, label=\"t = 1\""), "{d}");
    assert!(
        d.contains(
            "{ rank=same; time; h0; h1; h2; h3; time -> h0 -> h1 -> h2 -> h3 [style=invis]; }"
        ),
        "{d}"
    );
    assert!(d.contains("t3 -> e0_3 -> e1_3 -> e2_3 -> e3_3 [style=invis]"), "{d}");
    let order: Vec<&str> = ["\"s\"", "\"r0\"", "\"r1\"", "\"r2\""]
        .iter()
        .map(|n| &d[d.find(&format!("label={n}")).expect(n)..])
        .collect();
    assert!(order.windows(2).all(|w| w[0].len() > w[1].len()), "heads in node order");
}

#[test]
fn fault_spaces_are_short_in_text_and_exact_in_json() {
    assert_eq!(space::approx(&BigUint::from(832u32)), "832");
    assert_eq!(space::approx(&(BigUint::from(1u32) << 760u32)), "2^760");
    assert_eq!(space::approx(&(BigUint::from(21u32) << 2400u32)), "≈6.2e723");
    let dir = scratch("space");
    let spec = dir.join("wide.ded");
    std::fs::write(&spec, broadcast(19, false)).expect("write");
    let spec = spec.display().to_string();
    let (_, out) = ldfi(&["check", &spec, "-t", "3", "-f", "3"]);
    assert!(out.contains("stats: fault space 2^760 scenarios;"), "{out}");
    let (_, out) = ldfi(&["check", &spec, "-t", "3", "-f", "3", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    let exact = (BigUint::from(1u32) << 760u32).to_string();
    assert_eq!(json["stats"]["fault_space"], serde_json::Value::String(exact));
    assert_eq!(json["stats"]["fault_space_approx"], "2^760");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn progress_lines_show_the_exhaustive_search_working() {
    let p = Progress { executions: 1, timesteps: 40_100, memo_hits: 7 };
    assert_eq!(
        text::progress_line(&p, true, Duration::from_secs(1)),
        "1 execution, 40100 timesteps simulated, 7 branches cut, 40.1k timesteps/s"
    );
    assert_eq!(
        text::progress_line(&p, false, Duration::from_secs(4)),
        "1 execution, 0 executions/s"
    );
}

fn ldfi(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ldfi")).args(args).output().expect("runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ldfi-outputs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn the_index_explains_the_invariant_the_pages_and_the_coverage() {
    let dir = scratch("index");
    let (code, _) = ldfi(&[
        "check",
        "specs/broadcast/retry.ded",
        "-c",
        "0",
        "--report",
        &dir.display().to_string(),
    ]);
    assert_eq!(code, 0, "certified");
    let index = std::fs::read_to_string(dir.join("index.html")).expect("index");
    assert!(index.contains("<h2>What was covered</h2>"), "{index}");
    assert!(index.contains("a fault space of 64 scenarios"), "{index}");
    assert!(index.contains("Not covered: runs longer than EOT"), "{index}");
    assert!(index.contains("pre(N, M) :- log(N, M), notin crash(N, N, _);"), "{index}");
    assert!(index.contains("post(N, M) :- log(N, M)"), "{index}");
    assert!(index.contains("Header line used: <code>line 1: // ldfi: eot=4 eff=2 crashes=0 expect=certified</code>"), "{index}");
    assert!(index.contains("up to 40 pages (a page re-runs its execution with lineage"), "{index}");
    let _ = std::fs::remove_dir_all(&dir);
}
