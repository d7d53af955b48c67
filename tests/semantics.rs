//! Execution semantics (LANGUAGE.md §4-§6), checked two ways:
//!
//! 1. One focused test per rule of §4 (and the lineage and invariant rules of §5-§6), each
//!    on a tiny program whose model was computed by hand and is written out literally.
//! 2. A deliberately naive reference evaluator (`reference`, below), written for clarity
//!    over the AST with plain string/integer values: per timestep, every rule over every
//!    binding until nothing changes, stratum by stratum, no indexes, no semi-naive rounds.
//!    Its model (every tuple at every timestep, as `rel("a", 1)@t` strings) must equal
//!    `ldfi::eval::run`'s on every spec under `specs/` (each header line's bounds, the
//!    failure-free run plus random fault scenarios) and on a few hundred random programs.

use ldfi::analysis::ir::{Program, Sym, Value};
use ldfi::eval::{self, EvalError, MsgStatus, Run, RunParams, Scenario, Source};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

// ───────────────────────────── helpers ─────────────────────────────

/// Load and analyse a program from text; panics with the diagnostics on any error.
fn compile(text: &str) -> Program {
    let loaded = match ldfi::syntax::load_str("test.ded", text) {
        Ok(l) => l,
        Err((_, diags)) => panic!("load failed: {diags:?}\n{text}"),
    };
    let analysis = ldfi::analysis::analyze(&loaded.program);
    match analysis.program {
        Some(p) => p,
        None => panic!("analysis failed: {:?}\n{text}", analysis.diagnostics),
    }
}

fn sym(p: &mut Program, name: &str) -> Sym {
    p.symbols.intern(name)
}

/// Run with node names and faults given as strings.
fn try_run(
    text: &str,
    eot: u32,
    nodes: &[&str],
    omissions: &[(&str, &str, u32)],
    crashes: &[(&str, u32)],
    lineage: bool,
    tuple_cap: usize,
) -> (Program, Result<Run, EvalError>) {
    let mut p = compile(text);
    let nodes: Vec<Sym> = nodes.iter().map(|n| sym(&mut p, n)).collect();
    let mut scenario = Scenario::default();
    for &(a, b, t) in omissions {
        let (a, b) = (sym(&mut p, a), sym(&mut p, b));
        scenario.omissions.insert((a, b, t));
    }
    for &(n, t) in crashes {
        let n = sym(&mut p, n);
        scenario.crashes.push((n, t));
    }
    scenario.crashes.sort_unstable();
    let params = RunParams { eot, nodes, lineage, tuple_cap };
    let r = eval::run(&p, &params, &scenario);
    (p, r)
}

fn run_ok(
    text: &str,
    eot: u32,
    nodes: &[&str],
    omissions: &[(&str, &str, u32)],
    crashes: &[(&str, u32)],
) -> (Program, Run) {
    let (p, r) = try_run(text, eot, nodes, omissions, crashes, true, eval::DEFAULT_TUPLE_CAP);
    match r {
        Ok(run) => (p, run),
        Err(e) => panic!("run failed: {e:?}"),
    }
}

/// The tuples of `rel` at `t`, shown as `rel("a", 1)`.
fn at(p: &Program, run: &Run, rel: &str, t: u32) -> BTreeSet<String> {
    let Some(r) = p.rel(rel) else { panic!("no relation {rel}") };
    run.tuples_at(r, t).into_iter().map(|id| p.show_tuple(r, &run.tuples.rec(id).vals)).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Assert the exact contents of `rel` at each timestep 1..=expected.len().
fn assert_timeline(p: &Program, run: &Run, rel: &str, expected: &[&[&str]]) {
    assert!(!expected.is_empty());
    for (i, want) in expected.iter().enumerate() {
        let t = i as u32 + 1;
        assert_eq!(at(p, run, rel, t), set(want), "`{rel}` at timestep {t}");
    }
}

fn find(p: &mut Program, run: &Run, rel: &str, vals: &[Value], t: u32) -> u32 {
    let r = p.rel(rel).expect("relation");
    match run.tuples.find(r, vals, t) {
        Some(id) => id,
        None => panic!("{}@{t} not in the run", p.show_tuple(r, vals)),
    }
}

// ───────────────────────── §4 focused tests ─────────────────────────

const EMPTY3: &[&[&str]] = &[&[], &[], &[]];
const EMPTY4: &[&[&str]] = &[&[], &[], &[], &[]];

#[test]
fn fact_holds_only_at_its_timestep() {
    let text = r#"
        p("a", 1)@2;
        p("a", 2)@4;
        p("a", 3)@9;
        q(N, X) :- p(N, X);
    "#;
    let (p, run) = run_ok(text, 5, &["a"], &[], &[]);
    let tl: &[&[&str]] = &[&[], &[r#"p("a", 1)"#], &[], &[r#"p("a", 2)"#], &[]];
    assert_timeline(&p, &run, "p", tl);
    let tl: &[&[&str]] = &[&[], &[r#"q("a", 1)"#], &[], &[r#"q("a", 2)"#], &[]];
    assert_timeline(&p, &run, "q", tl);
    // A fact after EOT is never seen: there is no timestep 9 and no tuple 3 anywhere.
    assert!(run.tuples.store(6).is_none());
    assert!(run.tuples.recs.iter().all(|r| r.vals[1] != Value::Int(3)));
}

#[test]
fn next_carries_to_the_following_timestep_only() {
    let text = r#"
        p("a", 1)@1;
        p(N, X)@next :- p(N, X);
        q(N, X + 1)@next :- p(N, X);
        once(N, X)@next :- p(N, X), X == 1, notin started(N);
        started(N) :- q(N, _);
    "#;
    let (p, run) = run_ok(text, 4, &["a"], &[], &[]);
    let tl: &[&[&str]] = &[&[r#"p("a", 1)"#] as &[&str]; 4];
    assert_timeline(&p, &run, "p", tl);
    let tl: &[&[&str]] = &[&[], &[r#"q("a", 2)"#], &[r#"q("a", 2)"#], &[r#"q("a", 2)"#]];
    assert_timeline(&p, &run, "q", tl);
    // `once` is derived at 1 only (q exists from 2 on), so it holds at 2 and is gone at 3.
    let tl: &[&[&str]] = &[&[], &[r#"once("a", 1)"#], &[], &[]];
    assert_timeline(&p, &run, "once", tl);
}

#[test]
fn message_is_delivered_at_the_next_timestep() {
    let text = r#"
        link("a", "b")@1;
        m(M, N)@async :- link(N, M);
    "#;
    let (p, run) = run_ok(text, 3, &["a", "b"], &[], &[]);
    let tl: &[&[&str]] = &[&[], &[r#"m("b", "a")"#], &[]];
    assert_timeline(&p, &run, "m", tl);
    assert_eq!(run.messages.len(), 1);
    let m = &run.messages[0];
    assert_eq!(
        (p.symbols.name(m.from), p.symbols.name(m.to), m.send_time, m.status),
        ("a", "b", 1, MsgStatus::Delivered)
    );
}

#[test]
fn omission_loses_exactly_that_message() {
    let text = r#"
        link("a", "b")@1;
        link("a", "c")@1;
        link(N, M)@next :- link(N, M);
        m(M, N, T)@async :- link(N, M), tick(N, T);
        tick("a", 1)@1;
        tick(N, T + 1)@next :- tick(N, T);
    "#;
    let (p, run) = run_ok(text, 4, &["a", "b", "c"], &[("a", "b", 1)], &[]);
    let tl: &[&[&str]] = &[
        &[],
        &[r#"m("c", "a", 1)"#],
        &[r#"m("b", "a", 2)"#, r#"m("c", "a", 2)"#],
        &[r#"m("b", "a", 3)"#, r#"m("c", "a", 3)"#],
    ];
    assert_timeline(&p, &run, "m", tl);
    let lost: Vec<_> = run
        .messages
        .iter()
        .filter(|m| m.status != MsgStatus::Delivered)
        .map(|m| (p.symbols.name(m.from), p.symbols.name(m.to), m.send_time, m.status))
        .collect();
    assert_eq!(lost, vec![("a", "b", 1, MsgStatus::Omitted)]);
}

/// `a` sends to `b` only at time 2; `b` pings `a` at every step; `a` counts locally.
const CRASH_PROG: &str = r#"
    go("a", "b")@2;
    m(M, N)@async :- go(N, M);
    st("a", 0)@1;
    st(N, I + 1)@next :- st(N, I);
    ping("b", "a")@1;
    ping(N, M)@next :- ping(N, M);
    pong(M, N)@async :- ping(N, M);
"#;

#[test]
fn crash_before_the_send_silences_it() {
    let (p, run) = run_ok(CRASH_PROG, 4, &["a", "b"], &[], &[("a", 1)]);
    assert_timeline(&p, &run, "m", EMPTY4);
    let m: Vec<_> =
        run.messages.iter().filter(|m| p.symbols.name(m.from) == "a").map(|m| m.status).collect();
    assert_eq!(m, vec![MsgStatus::SenderCrashed]);
    crashed_node_keeps_state_and_receives(&p, &run);
}

#[test]
fn crash_at_the_send_time_silences_it() {
    let (p, run) = run_ok(CRASH_PROG, 4, &["a", "b"], &[], &[("a", 2)]);
    assert_timeline(&p, &run, "m", EMPTY4);
    crashed_node_keeps_state_and_receives(&p, &run);
}

#[test]
fn crash_after_the_send_does_not_affect_it() {
    let (p, run) = run_ok(CRASH_PROG, 4, &["a", "b"], &[], &[("a", 3)]);
    let tl: &[&[&str]] = &[&[], &[], &[r#"m("b", "a")"#], &[]];
    assert_timeline(&p, &run, "m", tl);
    crashed_node_keeps_state_and_receives(&p, &run);
}

fn crashed_node_keeps_state_and_receives(p: &Program, run: &Run) {
    let tl: &[&[&str]] =
        &[&[r#"st("a", 0)"#], &[r#"st("a", 1)"#], &[r#"st("a", 2)"#], &[r#"st("a", 3)"#]];
    assert_timeline(p, run, "st", tl);
    let tl: &[&[&str]] =
        &[&[], &[r#"pong("a", "b")"#], &[r#"pong("a", "b")"#], &[r#"pong("a", "b")"#]];
    assert_timeline(p, run, "pong", tl);
}

#[test]
fn crash_oracle_is_visible_everywhere_at_every_timestep() {
    let text = r#"
        x("a")@1;
        x(N)@next :- x(N);
        seen(N, C, T) :- x(N), crash(N, C, T);
        alive(N) :- x(N), notin crash(N, N, _);
    "#;
    let (p, run) = run_ok(text, 4, &["a", "b"], &[], &[("b", 4)]);
    let crash: &[&str] = &[r#"crash("a", "b", 4)"#, r#"crash("b", "b", 4)"#];
    assert_timeline(&p, &run, "crash", &[crash; 4]);
    let tl: &[&[&str]] = &[&[r#"seen("a", "b", 4)"#] as &[&str]; 4];
    assert_timeline(&p, &run, "seen", tl);
    let tl: &[&[&str]] = &[&[r#"alive("a")"#] as &[&str]; 4];
    assert_timeline(&p, &run, "alive", tl);

    // The crashed node itself sees its own crash from timestep 1 on.
    let (p, run) = run_ok(text, 3, &["a", "b"], &[], &[("a", 3)]);
    let tl: &[&[&str]] = &[&[r#"seen("a", "a", 3)"#] as &[&str]; 3];
    assert_timeline(&p, &run, "seen", tl);
    assert_timeline(&p, &run, "alive", EMPTY3);
}

#[test]
fn self_message_is_delivered_even_when_crashed() {
    let text = r#"
        tok("a", 1)@1;
        tok(N, I + 1)@async :- tok(N, I);
    "#;
    let (p, run) = run_ok(text, 4, &["a", "b"], &[], &[("a", 1)]);
    let tl: &[&[&str]] =
        &[&[r#"tok("a", 1)"#], &[r#"tok("a", 2)"#], &[r#"tok("a", 3)"#], &[r#"tok("a", 4)"#]];
    assert_timeline(&p, &run, "tok", tl);
    assert!(run.messages.iter().all(|m| m.status == MsgStatus::Delivered));
}

#[test]
fn nothing_is_delivered_past_eot() {
    let text = r#"
        link("a", "b")@1;
        link(N, M)@next :- link(N, M);
        m(M, N)@async :- link(N, M);
        k(N, M)@next :- link(N, M);
    "#;
    let (p, run) = run_ok(text, 2, &["a", "b"], &[], &[]);
    let tl: &[&[&str]] = &[&[], &[r#"m("b", "a")"#]];
    assert_timeline(&p, &run, "m", tl);
    assert!(run.tuples.store(3).is_none(), "a timestep after EOT was computed");
    assert_eq!(run.tuples.recs.iter().map(|r| r.time).max(), Some(2));
    assert!(!run.messages.iter().any(|m| m.send_time == 2 && m.status == MsgStatus::Delivered));
}

#[test]
fn messages_to_a_non_node_are_dropped_with_a_warning() {
    let text = r#"
        link("a", "z")@1;
        link("a", "b")@1;
        m(M, N)@async :- link(N, M);
    "#;
    let (p, run) = run_ok(text, 3, &["a", "b"], &[], &[]);
    let tl: &[&[&str]] = &[&[], &[r#"m("b", "a")"#], &[]];
    assert_timeline(&p, &run, "m", tl);
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
    assert!(run.warnings[0].contains("\"z\""), "{:?}", run.warnings);

    // A sender that is not a node cannot send either (S or R not a node).
    let text = r#"
        link("z", "a")@1;
        m(M, N)@async :- link(N, M);
    "#;
    let (p, run) = run_ok(text, 3, &["a", "b"], &[], &[]);
    assert_timeline(&p, &run, "m", EMPTY3);
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
}

#[test]
fn body_time_annotations_read_past_current_and_future() {
    let text = r#"
        c("a", 1)@1;
        c(N, I + 1)@next :- c(N, I);
        d(N, I) :- c(N, I);
        past(N, I) :- c(N, _), d(N, I)@2;
        now(N, I) :- c(N, _), d(N, I)@3;
        fut(N, I) :- c(N, _), d(N, I)@4;
        no(N) :- c(N, _), notin d(N, 2)@2;
    "#;
    let (p, run) = run_ok(text, 4, &["a"], &[], &[]);
    let tl: &[&[&str]] = &[&[], &[r#"past("a", 2)"#], &[r#"past("a", 2)"#], &[r#"past("a", 2)"#]];
    assert_timeline(&p, &run, "past", tl);
    let tl: &[&[&str]] = &[&[], &[], &[r#"now("a", 3)"#], &[r#"now("a", 3)"#]];
    assert_timeline(&p, &run, "now", tl);
    let tl: &[&[&str]] = &[&[], &[], &[], &[r#"fut("a", 4)"#]];
    assert_timeline(&p, &run, "fut", tl);
    // At 1, `d@2` reads nothing so the negation holds; from 2 on d("a", 2)@2 exists.
    let tl: &[&[&str]] = &[&[r#"no("a")"#], &[], &[], &[]];
    assert_timeline(&p, &run, "no", tl);
}

#[test]
fn stratified_negation() {
    let text = r#"
        e("a", 1)@1; e("a", 2)@1; e("a", 3)@1; e("b", 5)@1;
        reach(N, X) :- e(N, X), X > 1;
        small(N, X) :- e(N, X), notin reach(N, X);
        top(N) :- e(N, _), notin small(N, _);
        none(N) :- top(N), notin small("a", 9);
    "#;
    let (p, run) = run_ok(text, 1, &["a", "b"], &[], &[]);
    assert_eq!(
        at(&p, &run, "reach", 1),
        set(&[r#"reach("a", 2)"#, r#"reach("a", 3)"#, r#"reach("b", 5)"#])
    );
    assert_eq!(at(&p, &run, "small", 1), set(&[r#"small("a", 1)"#]));
    assert_eq!(at(&p, &run, "top", 1), set(&[r#"top("b")"#]));
    assert_eq!(at(&p, &run, "none", 1), set(&[r#"none("b")"#]));
}

#[test]
fn aggregates_range_over_distinct_bindings() {
    let text = r#"
        val("a", "k1", 3)@1; val("a", "k2", 5)@1; val("a", "k3", 5)@1; val("a", "k4", -2)@1;
        grp("a")@1; grp("b")@1;
        s(N, sum<V>) :- val(N, _, V);
        sk(N, sum<V>) :- val(N, K, V);
        cv(N, count<V>) :- val(N, _, V);
        ck(N, count<K>) :- val(N, K, _);
        lo(N, min<V>) :- val(N, _, V);
        hi(N, max<V>) :- val(N, _, V);
        lok(N, min<K>) :- val(N, K, _);
        hik(N, max<K>) :- val(N, K, V), V < 5;
        empty(G, count<V>) :- grp(G), val(G, _, V);
        big(N, V, count<K>) :- val(N, K, V);
    "#;
    let (p, run) = run_ok(text, 1, &["a", "b"], &[], &[]);
    // The bindings of sum<V> over val(N, _, V) are (N, V) pairs: {3, 5, -2} -> 6;
    // over val(N, K, V) they are triples and both 5s count: 3 + 5 + 5 - 2 = 11.
    assert_eq!(at(&p, &run, "s", 1), set(&[r#"s("a", 6)"#]));
    assert_eq!(at(&p, &run, "sk", 1), set(&[r#"sk("a", 11)"#]));
    assert_eq!(at(&p, &run, "cv", 1), set(&[r#"cv("a", 3)"#]));
    assert_eq!(at(&p, &run, "ck", 1), set(&[r#"ck("a", 4)"#]));
    assert_eq!(at(&p, &run, "lo", 1), set(&[r#"lo("a", -2)"#]));
    assert_eq!(at(&p, &run, "hi", 1), set(&[r#"hi("a", 5)"#]));
    assert_eq!(at(&p, &run, "lok", 1), set(&[r#"lok("a", "k1")"#]));
    assert_eq!(at(&p, &run, "hik", 1), set(&[r#"hik("a", "k4")"#]));
    // "b" has no bindings: no tuple (not a count of 0).
    assert_eq!(at(&p, &run, "empty", 1), set(&[r#"empty("a", 3)"#]));
    assert_eq!(
        at(&p, &run, "big", 1),
        set(&[r#"big("a", -2, 1)"#, r#"big("a", 3, 1)"#, r#"big("a", 5, 2)"#])
    );
}

fn expect_arith(text: &str) {
    let (_, r) = try_run(text, 2, &["a"], &[], &[], false, eval::DEFAULT_TUPLE_CAP);
    match r {
        Err(EvalError::Arithmetic { .. }) => {}
        other => panic!(
            "expected an arithmetic error, got {:?}\n{text}",
            other.map(|r| r.tuples.recs.len())
        ),
    }
}

#[test]
fn arithmetic_overflow_and_division_by_zero_are_errors() {
    expect_arith(r#"x("a", 9223372036854775807)@1; y(N, I + 1) :- x(N, I);"#);
    expect_arith(r#"x("a", -9223372036854775807)@1; y(N, I - 2) :- x(N, I);"#);
    expect_arith(r#"x("a", 9223372036854775807)@1; y(N, I * 2) :- x(N, I);"#);
    expect_arith(r#"x("a", 7)@1; z("a", 0)@1; y(N, I / J) :- x(N, I), z(N, J);"#);
    expect_arith(r#"x("a", 7)@1; z("a", 0)@1; y(N, I % J) :- x(N, I), z(N, J);"#);
    expect_arith(r#"x("a", 7)@1; z("a", 0)@1; y(N) :- x(N, I), z(N, J), I / J > 1;"#);
    expect_arith(r#"x("a", 9223372036854775807)@1; y(N, I + 1)@next :- x(N, I);"#);
    expect_arith(r#"x("a", 9223372036854775807)@1; y(N, I + 1)@async :- x(N, I);"#);
    // sum<> overflow
    expect_arith(
        r#"x("a", 1, 9223372036854775807)@1; x("a", 2, 1)@1; s(N, sum<V>) :- x(N, _, V);"#,
    );
    // i64::MIN / -1
    expect_arith(r#"x("a", -9223372036854775807)@1; y(N, (I - 1) / -1) :- x(N, I);"#);
    // Truncation toward zero, and no error when in range.
    let text = r#"x("a", -7)@1; y(N, I / 2, I % 2, 7 / -2, 7 % -2) :- x(N, I);"#;
    let (p, run) = run_ok(text, 1, &["a"], &[], &[]);
    assert_eq!(at(&p, &run, "y", 1), set(&[r#"y("a", -3, -1, -3, 1)"#]));
}

#[test]
fn runaway_same_time_recursion_hits_the_cap() {
    let text = r#"p("a", 0)@1; p(N, X + 1) :- p(N, X);"#;
    let (_, r) = try_run(text, 2, &["a"], &[], &[], false, 1000);
    match r {
        Err(EvalError::Runaway { rel, time, cap }) => {
            assert_eq!((rel.as_str(), time, cap), ("p", 1, 1000));
        }
        other => panic!("expected a runaway error, got {:?}", other.map(|r| r.tuples.recs.len())),
    }
}

#[test]
fn same_time_recursion_computes_the_closure() {
    let text = r#"
        e("a", 1, 2)@1; e("a", 2, 3)@1; e("a", 3, 4)@1; e("a", 4, 2)@1; e("a", 5, 1)@1;
        tc(N, X, Y) :- e(N, X, Y);
        tc(N, X, Z) :- tc(N, X, Y), e(N, Y, Z);
        tc2(N, X, Y) :- e(N, X, Y);
        tc2(N, X, Z) :- tc2(N, X, Y), tc2(N, Y, Z);
    "#;
    let (p, run) = run_ok(text, 1, &["a"], &[], &[]);
    let mut want = BTreeSet::new();
    for (x, ys) in
        [(1, &[2, 3, 4][..]), (2, &[2, 3, 4]), (3, &[2, 3, 4]), (4, &[2, 3, 4]), (5, &[1, 2, 3, 4])]
    {
        for y in ys {
            want.insert(format!("(\"a\", {x}, {y})"));
        }
    }
    let strip = |s: BTreeSet<String>, rel: &str| -> BTreeSet<String> {
        s.into_iter().map(|t| t.trim_start_matches(rel).to_string()).collect()
    };
    assert_eq!(want.len(), 16);
    assert_eq!(strip(at(&p, &run, "tc", 1), "tc"), want);
    assert_eq!(strip(at(&p, &run, "tc2", 1), "tc2"), want);
}

#[test]
fn lineage_records_every_derivation() {
    let text = r#"
        a("n", 1)@1; b("n", 1)@1;
        c(N, X) :- a(N, X);
        c(N, X) :- b(N, X);
        s("n", 1)@1; s("n", 2)@1; e("n", 1, 2)@1;
        r(N, X) :- s(N, X);
        r(N, X) :- r(N, Y), e(N, Y, X);
        link("n", "m")@1;
        msg(M, N)@async :- link(N, M);
        a(N, X)@next :- a(N, X);
    "#;
    let (mut p, run) = run_ok(text, 2, &["n", "m"], &[], &[]);
    let lin = run.lineage.as_ref().expect("lineage");
    let (n, m) = (Value::Sym(sym(&mut p, "n")), Value::Sym(sym(&mut p, "m")));
    let one = Value::Int(1);
    let two = Value::Int(2);

    // c("n", 1) at 1: once from a, once from b.
    let c = find(&mut p, &run, "c", &[n, one], 1);
    let mut bodies: Vec<String> = lin
        .firings_of(c)
        .map(|f| {
            let body: Vec<String> = lin
                .body_of(f)
                .iter()
                .map(|&id| p.show_tuple(run.tuples.rec(id).rel, &run.tuples.rec(id).vals))
                .collect();
            body.join(" & ")
        })
        .collect();
    bodies.sort();
    assert_eq!(bodies, vec![r#"a("n", 1)"#.to_string(), r#"b("n", 1)"#.to_string()]);

    // r("n", 2): from s("n", 2) and from r("n", 1) & e("n", 1, 2) (recursive stratum).
    let r2 = find(&mut p, &run, "r", &[n, two], 1);
    let mut bodies: Vec<Vec<String>> = lin
        .firings_of(r2)
        .map(|f| {
            lin.body_of(f)
                .iter()
                .map(|&id| p.show_tuple(run.tuples.rec(id).rel, &run.tuples.rec(id).vals))
                .collect()
        })
        .collect();
    bodies.sort();
    assert_eq!(
        bodies,
        vec![
            vec![r#"r("n", 1)"#.to_string(), r#"e("n", 1, 2)"#.to_string()],
            vec![r#"s("n", 2)"#.to_string()]
        ]
    );

    // Facts are recorded as such.
    let a1 = find(&mut p, &run, "a", &[n, one], 1);
    let f: Vec<_> = lin.firings_of(a1).collect();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].source, Source::Fact);

    // The @next carry of a("n", 1) into 2 is recorded, with its body at 1.
    let a2 = find(&mut p, &run, "a", &[n, one], 2);
    let f: Vec<_> = lin.firings_of(a2).collect();
    assert_eq!(f.len(), 1);
    assert!(matches!(f[0].source, Source::Rule(_)));
    assert_eq!(lin.body_of(f[0]), &[a1]);
    assert_eq!(f[0].msg, None);

    // The async firing carries its message n -> m @1.
    let got = find(&mut p, &run, "msg", &[m, n], 2);
    let f: Vec<_> = lin.firings_of(got).collect();
    assert_eq!(f.len(), 1);
    let id = f[0].msg.expect("an async firing records its message") as usize;
    let msg = &run.messages[id];
    assert_eq!((Value::Sym(msg.to), msg.send_time, msg.status), (m, 1, MsgStatus::Delivered));
    assert_eq!(p.symbols.name(msg.from), "n");
    assert_eq!(p.symbols.name(msg.to), "m");
    let link = find(&mut p, &run, "link", &[n, m], 1);
    assert_eq!(lin.body_of(f[0]), &[link]);
}

#[test]
fn lineage_records_each_derivation_once() {
    // `p` is recursive within the timestep, and one of its rules also reads p@1: at t = 2
    // that atom reads a past state, yet it must not re-fire in every semi-naive round.
    let text = r#"
        p("a", 1)@1;
        s("a")@1;
        s(N)@next :- s(N);
        e("a", 1, 2)@1; e("a", 2, 3)@1; e("a", 3, 4)@1;
        e(N, X, Y)@next :- e(N, X, Y);
        p(N, X) :- p(N, X)@1, s(N);
        p(N, Y) :- p(N, X), e(N, X, Y);
    "#;
    let (mut p, run) = run_ok(text, 2, &["a"], &[], &[]);
    let lin = run.lineage.as_ref().expect("lineage");
    let a = Value::Sym(sym(&mut p, "a"));
    let tl: &[&[&str]] = &[
        &[r#"p("a", 1)"#, r#"p("a", 2)"#, r#"p("a", 3)"#, r#"p("a", 4)"#],
        &[r#"p("a", 1)"#, r#"p("a", 2)"#, r#"p("a", 3)"#, r#"p("a", 4)"#],
    ];
    assert_timeline(&p, &run, "p", tl);
    // p("a", 1) at 2 has exactly one derivation: p("a", 1)@1 & s("a")@2.
    let id = find(&mut p, &run, "p", &[a, Value::Int(1)], 2);
    let bodies: Vec<Vec<u32>> = lin.firings_of(id).map(|f| lin.body_of(f).to_vec()).collect();
    assert_eq!(bodies.len(), 1, "p(\"a\", 1)@2 has {} firings: {bodies:?}", bodies.len());
    // Every firing of every tuple is a distinct derivation.
    for t in 0..run.tuples.recs.len() as u32 {
        let mut seen = BTreeSet::new();
        for f in lin.firings_of(t) {
            let key = (format!("{:?}", f.source), lin.body_of(f).to_vec(), f.msg);
            let rec = run.tuples.rec(t);
            assert!(
                seen.insert(key.clone()),
                "{}@{} has the firing {key:?} twice",
                p.show_tuple(rec.rel, &rec.vals),
                rec.time
            );
        }
    }
}

#[test]
fn negation_records_negative_support() {
    let text = r#"
        x("a", 1)@1; y("a", 2)@1;
        z(N, X) :- x(N, X), notin y(N, X), notin y(N, _)@2;
    "#;
    let (mut p, run) = run_ok(text, 1, &["a"], &[], &[]);
    let lin = run.lineage.as_ref().expect("lineage");
    let a = Value::Sym(sym(&mut p, "a"));
    let z = find(&mut p, &run, "z", &[a, Value::Int(1)], 1);
    let f: Vec<_> = lin.firings_of(z).collect();
    assert_eq!(f.len(), 1);
    let y = p.rel("y").expect("y");
    let negs: Vec<_> = lin.negs_of(f[0]).map(|n| (n.rel, n.time, n.pattern.to_vec())).collect();
    assert_eq!(negs, vec![(y, 1, vec![Some(a), Some(Value::Int(1))]), (y, 2, vec![Some(a), None])]);
}

#[test]
fn pre_without_post_at_eot_is_a_violation() {
    let text = r#"
        pre("a", 1)@3; pre("a", 2)@3; post("a", 2)@3;
        pre("a", 7)@2;
    "#;
    let (p, run) = run_ok(text, 3, &["a"], &[], &[]);
    assert!(run.is_violation());
    let v: BTreeSet<String> = run
        .violations
        .iter()
        .map(|&id| p.show_tuple(run.tuples.rec(id).rel, &run.tuples.rec(id).vals))
        .collect();
    assert_eq!(v, set(&[r#"pre("a", 1)"#]));

    let text = r#"pre("a", 1)@3; post("a", 1)@3; pre("a", 7)@2;"#;
    let (_, run) = run_ok(text, 3, &["a"], &[], &[]);
    assert!(!run.is_violation());
    assert!(run.violations.is_empty());
}

// ───────────────────────── reference evaluator ─────────────────────────

/// A naive evaluator of LANGUAGE.md §4 over the AST, written for clarity, not speed.
mod reference {
    use ldfi::syntax::ast::*;
    use std::collections::{BTreeMap, BTreeSet};

    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum V {
        Int(i64),
        Str(String),
    }

    impl V {
        fn show(&self) -> String {
            match self {
                V::Int(i) => i.to_string(),
                V::Str(s) => format!("{s:?}"),
            }
        }
    }

    /// One timestep: relation name -> tuples.
    type Db = BTreeMap<String, BTreeSet<Vec<V>>>;
    type Binding = BTreeMap<String, V>;

    #[derive(Debug, Clone, Default)]
    pub struct Faults {
        pub omissions: BTreeSet<(String, String, u32)>,
        pub crashes: Vec<(String, u32)>,
    }

    /// What a run computes.
    pub struct Output {
        /// Every tuple at every timestep as `rel(args)@t`.
        pub model: BTreeSet<String>,
        /// For every tuple `rel(args)@t`, its derivations, each shown as
        /// `source | body tuples | negated patterns | message` (see `Firing::show`).
        pub lineage: BTreeMap<String, BTreeSet<String>>,
    }

    /// One derivation of a head.
    pub struct Firing {
        head: Vec<V>,
        sender: Option<V>,
        /// Positive body tuples, `rel(args)@time`.
        body: Vec<String>,
        /// Negated atoms, `rel(pattern)@time` with `_` for wildcards.
        negs: Vec<String>,
    }

    impl Firing {
        fn show(&self, source: &str, msg: &str) -> String {
            let mut body = self.body.clone();
            body.sort();
            body.dedup();
            let mut negs = self.negs.clone();
            negs.sort();
            negs.dedup();
            format!("{source} | {} | {} | {msg}", body.join(" & "), negs.join(" & "))
        }
    }

    fn show_tuple(rel: &str, vals: &[V], t: u32) -> String {
        let args: Vec<String> = vals.iter().map(V::show).collect();
        format!("{rel}({})@{t}", args.join(", "))
    }

    pub fn run(
        prog: &Program,
        eot: u32,
        nodes: &[String],
        faults: &Faults,
    ) -> Result<Output, String> {
        let mut lineage: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut note = |rel: &str, vals: &[V], t: u32, what: String| {
            lineage.entry(show_tuple(rel, vals, t)).or_default().insert(what);
        };
        let rules: Vec<&Rule> = prog
            .clauses
            .iter()
            .filter_map(|c| if let Clause::Rule(r) = c { Some(r) } else { None })
            .collect();
        let strata = stratify(&rules)?;
        let nstrata = rules.iter().map(|r| strata[&r.head.rel.name] + 1).max().unwrap_or(0);
        let mut states: Vec<Db> = Vec::new();
        // Inputs of the next timestep with their derivation.
        let mut pending: Vec<(String, Vec<V>, String)> = Vec::new();
        for t in 1..=eot {
            let mut db = Db::new();
            for c in &prog.clauses {
                if let Clause::Fact(f) = c {
                    if f.time.map(|x| x.0) == Some(t as i64) {
                        let vals = f
                            .args
                            .iter()
                            .map(|e| eval(e, &Binding::new()))
                            .collect::<Result<Vec<_>, _>>()?;
                        note(&f.rel.name, &vals, t, "fact |  |  | ".to_string());
                        db.entry(f.rel.name.clone()).or_default().insert(vals);
                    }
                }
            }
            for (rel, vals, what) in pending.drain(..) {
                note(&rel, &vals, t, what);
                db.entry(rel).or_default().insert(vals);
            }
            // The crash oracle: crash(n, c, T) at every node n, at every timestep.
            for n in nodes {
                for (c, ct) in &faults.crashes {
                    let vals = vec![V::Str(n.clone()), V::Str(c.clone()), V::Int(*ct as i64)];
                    note("crash", &vals, t, "crash |  |  | ".to_string());
                    db.entry("crash".to_string()).or_default().insert(vals);
                }
            }
            // Deductive rules, stratum by stratum, naively to a fixpoint.
            for s in 0..nstrata {
                loop {
                    let mut changed = false;
                    for r in &rules {
                        if r.head.ann() != HeadAnn::None || strata[&r.head.rel.name] != s {
                            continue;
                        }
                        for f in fire(r, &db, &states, t)? {
                            changed |=
                                db.entry(r.head.rel.name.clone()).or_default().insert(f.head);
                        }
                    }
                    if !changed {
                        break;
                    }
                }
            }
            // Every derivation of the same-time rules, on the final state.
            for (i, r) in rules.iter().enumerate() {
                if r.head.ann() == HeadAnn::None {
                    for f in fire(r, &db, &states, t)? {
                        note(&r.head.rel.name, &f.head, t, f.show(&format!("rule {i}"), ""));
                    }
                }
            }
            // @next and @async on the final state of t.
            for (i, r) in rules.iter().enumerate() {
                match r.head.ann() {
                    HeadAnn::None => {}
                    HeadAnn::Next => {
                        for f in fire(r, &db, &states, t)? {
                            if t < eot {
                                let what = f.show(&format!("rule {i}"), "");
                                pending.push((r.head.rel.name.clone(), f.head, what));
                            }
                        }
                    }
                    HeadAnn::Async => {
                        for f in fire(r, &db, &states, t)? {
                            let (vals, sender) = (&f.head, &f.sender);
                            let is_node = |v: &V| matches!(v, V::Str(s) if nodes.contains(s));
                            let (Some(V::Str(from)), V::Str(to)) = (&sender, &vals[0]) else {
                                continue;
                            };
                            if !is_node(&V::Str(from.clone())) || !is_node(&vals[0]) || t == eot {
                                continue;
                            }
                            let lost = from != to
                                && (faults.omissions.contains(&(from.clone(), to.clone(), t))
                                    || faults.crashes.iter().any(|(c, ct)| c == from && *ct <= t));
                            if !lost {
                                let what =
                                    f.show(&format!("rule {i}"), &format!("{from}->{to}@{t}"));
                                pending.push((r.head.rel.name.clone(), f.head.clone(), what));
                            }
                        }
                    }
                }
            }
            states.push(db);
        }
        let mut model = BTreeSet::new();
        for (i, db) in states.iter().enumerate() {
            for (rel, tuples) in db {
                for vals in tuples {
                    model.insert(show_tuple(rel, vals, i as u32 + 1));
                }
            }
        }
        Ok(Output { model, lineage })
    }

    /// Strata of relations over same-time rules: a head is at least as high as its positive
    /// body relations and strictly higher than its negated ones and than the body of an
    /// aggregate.
    fn stratify(rules: &[&Rule]) -> Result<BTreeMap<String, usize>, String> {
        let mut s: BTreeMap<String, usize> = BTreeMap::new();
        for r in rules {
            s.entry(r.head.rel.name.clone()).or_insert(0);
            for l in &r.body {
                if let Literal::Pos(a) | Literal::Neg(a) = l {
                    s.entry(a.rel.name.clone()).or_insert(0);
                }
            }
        }
        let limit = s.len() + 1;
        for _ in 0..=limit {
            let mut changed = false;
            for r in rules.iter().filter(|r| r.head.ann() == HeadAnn::None) {
                let agg = r.head.args.iter().any(|a| matches!(a, HeadArg::Agg(_)));
                for l in &r.body {
                    let need = match l {
                        Literal::Pos(a) => s[&a.rel.name] + usize::from(agg),
                        Literal::Neg(a) => s[&a.rel.name] + 1,
                        Literal::Cond(_) => continue,
                    };
                    if s[&r.head.rel.name] < need {
                        if need > limit {
                            return Err("unstratifiable".into());
                        }
                        s.insert(r.head.rel.name.clone(), need);
                        changed = true;
                    }
                }
            }
            if !changed {
                return Ok(s);
            }
        }
        Err("unstratifiable".into())
    }

    /// The tuples an atom reads at timestep t.
    fn source<'a>(a: &Atom, db: &'a Db, states: &'a [Db], t: u32) -> Option<&'a BTreeSet<Vec<V>>> {
        let which = match a.time {
            None => db,
            Some(BodyTime::Int(at, _)) if (at as u32) < t => &states[at as usize - 1],
            Some(BodyTime::Int(at, _)) if at as u32 == t => db,
            Some(_) => return None,
        };
        which.get(&a.rel.name)
    }

    /// Match a tuple against atom arguments, extending the binding.
    fn unify(args: &[Expr], vals: &[V], b: &Binding) -> Option<Binding> {
        let mut b = b.clone();
        for (e, v) in args.iter().zip(vals) {
            match &e.kind {
                ExprKind::Wildcard => {}
                ExprKind::Var(x) => match b.get(x) {
                    Some(old) if old != v => return None,
                    Some(_) => {}
                    None => {
                        b.insert(x.clone(), v.clone());
                    }
                },
                _ => {
                    if eval(e, &b).ok().as_ref() != Some(v) {
                        return None;
                    }
                }
            }
        }
        Some(b)
    }

    /// The timestep an atom reads at t (`@T` atoms read T, even beyond t).
    fn time_of(a: &Atom, t: u32) -> u32 {
        match a.time {
            Some(BodyTime::Int(at, _)) => at as u32,
            _ => t,
        }
    }

    /// Every derivation of a rule on the given state: head, sender (the rule's location),
    /// body tuples and negated patterns. An aggregate gives one derivation per group, whose
    /// body and negations are the union of its bindings' (an `@async` aggregate is grouped
    /// per sender: each node aggregates its own bindings into its own message).
    fn fire(r: &Rule, db: &Db, states: &[Db], t: u32) -> Result<Vec<Firing>, String> {
        let pos: Vec<&Atom> = r
            .body
            .iter()
            .filter_map(|l| if let Literal::Pos(a) = l { Some(a) } else { None })
            .collect();
        // All bindings of the positive atoms, in source order (nested loops), with the
        // tuples they used.
        let mut bindings: Vec<(Binding, Vec<String>)> = vec![(Binding::new(), Vec::new())];
        for a in &pos {
            let mut next = Vec::new();
            let empty = BTreeSet::new();
            let tuples = source(a, db, states, t).unwrap_or(&empty);
            for (b, used) in &bindings {
                for vals in tuples {
                    if let Some(b2) = unify(&a.args, vals, b) {
                        let mut used = used.clone();
                        used.push(show_tuple(&a.rel.name, vals, time_of(a, t)));
                        next.push((b2, used));
                    }
                }
            }
            bindings = next;
        }
        // Negations and conditions.
        let mut kept = Vec::new();
        'b: for (b, used) in bindings {
            let mut negs = Vec::new();
            for l in &r.body {
                match l {
                    Literal::Pos(_) => {}
                    Literal::Neg(a) => {
                        if let Some(tuples) = source(a, db, states, t) {
                            if tuples.iter().any(|vals| unify(&a.args, vals, &b).is_some()) {
                                continue 'b;
                            }
                        }
                        let mut pattern = Vec::new();
                        for e in &a.args {
                            pattern.push(match e.kind {
                                ExprKind::Wildcard => "_".to_string(),
                                _ => eval(e, &b)?.show(),
                            });
                        }
                        negs.push(format!(
                            "notin {}({})@{}",
                            a.rel.name,
                            pattern.join(", "),
                            time_of(a, t)
                        ));
                    }
                    Literal::Cond(c) => {
                        if !compare(&eval(&c.lhs, &b)?, c.op, &eval(&c.rhs, &b)?)? {
                            continue 'b;
                        }
                    }
                }
            }
            kept.push((b, used, negs));
        }
        let location = |b: &Binding| -> Option<V> {
            let first = pos.first()?.args.first()?;
            match &first.kind {
                ExprKind::Wildcard => None,
                _ => eval(first, b).ok(),
            }
        };
        let agg = r.head.args.iter().position(|a| matches!(a, HeadArg::Agg(_)));
        let Some(agg_pos) = agg else {
            let mut out = Vec::new();
            for (b, body, negs) in kept {
                let mut head = Vec::new();
                for a in &r.head.args {
                    if let HeadArg::Expr(e) = a {
                        head.push(eval(e, &b)?);
                    }
                }
                out.push(Firing { head, sender: location(&b), body, negs });
            }
            return Ok(out);
        };
        let HeadArg::Agg(g) = &r.head.args[agg_pos] else { unreachable!() };
        // Distinct bindings (the binding maps only hold named variables), grouped.
        type Group = BTreeMap<Binding, (Option<V>, Vec<String>, Vec<String>)>;
        let per_sender = r.head.ann() == HeadAnn::Async;
        let mut groups: BTreeMap<(Option<V>, Vec<V>), Group> = BTreeMap::new();
        for (b, used, negs) in kept {
            let mut key = Vec::new();
            for a in &r.head.args {
                if let HeadArg::Expr(e) = a {
                    key.push(eval(e, &b)?);
                }
            }
            let loc = location(&b);
            let sender_key = if per_sender { loc.clone() } else { None };
            let entry = groups.entry((sender_key, key)).or_default().entry(b).or_insert((
                loc,
                Vec::new(),
                Vec::new(),
            ));
            entry.1.extend(used);
            entry.2.extend(negs);
        }
        let mut out = Vec::new();
        for ((_, key), bs) in groups {
            let values: Vec<&V> = bs.keys().map(|b| &b[&g.var.name]).collect();
            let result = match g.kind {
                AggKind::Count => V::Int(values.len() as i64),
                AggKind::Sum => {
                    let mut s: i64 = 0;
                    for v in &values {
                        let V::Int(x) = v else { return Err("sum over a string".into()) };
                        s = s.checked_add(*x).ok_or("sum overflow")?;
                    }
                    V::Int(s)
                }
                AggKind::Min | AggKind::Max => {
                    let mut best = values[0].clone();
                    for v in &values[1..] {
                        let lt = compare(v, CmpOp::Lt, &best)?;
                        let gt = compare(v, CmpOp::Gt, &best)?;
                        if (g.kind == AggKind::Min && lt) || (g.kind == AggKind::Max && gt) {
                            best = (*v).clone();
                        }
                    }
                    best
                }
            };
            let sender = bs.values().next().and_then(|(s, _, _)| s.clone());
            let body: Vec<String> =
                bs.values().flat_map(|(_, used, _)| used.iter().cloned()).collect();
            let mut negs: Vec<String> = Vec::new();
            for n in bs.values().flat_map(|(_, _, negs)| negs.iter()) {
                if !negs.contains(n) {
                    negs.push(n.clone());
                }
            }
            let mut vals = key.into_iter();
            let mut head = Vec::new();
            for i in 0..r.head.args.len() {
                head.push(if i == agg_pos {
                    result.clone()
                } else {
                    vals.next().expect("group value")
                });
            }
            out.push(Firing { head, sender, body, negs });
        }
        Ok(out)
    }

    fn eval(e: &Expr, b: &Binding) -> Result<V, String> {
        Ok(match &e.kind {
            ExprKind::Var(x) => b.get(x).cloned().ok_or_else(|| format!("unbound {x}"))?,
            ExprKind::Wildcard => return Err("wildcard in an expression".into()),
            ExprKind::Str(s) => V::Str(s.clone()),
            ExprKind::Int(i) => V::Int(*i),
            ExprKind::Neg(a) => match eval(a, b)? {
                V::Int(x) => V::Int(x.checked_neg().ok_or("negation overflow")?),
                V::Str(_) => return Err("negating a string".into()),
            },
            ExprKind::Bin(op, l, r) => {
                let (V::Int(x), V::Int(y)) = (eval(l, b)?, eval(r, b)?) else {
                    return Err("arithmetic on a string".into());
                };
                let v = match op {
                    BinOp::Add => x.checked_add(y),
                    BinOp::Sub => x.checked_sub(y),
                    BinOp::Mul => x.checked_mul(y),
                    BinOp::Div => x.checked_div(y),
                    BinOp::Mod => x.checked_rem(y),
                };
                V::Int(v.ok_or("arithmetic error")?)
            }
        })
    }

    fn compare(a: &V, op: CmpOp, b: &V) -> Result<bool, String> {
        let ord = match (a, b) {
            (V::Int(x), V::Int(y)) => Some(x.cmp(y)),
            (V::Str(x), V::Str(y)) => Some(x.cmp(y)),
            _ => None,
        };
        Ok(match op {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            _ => {
                let o = ord.ok_or("ordering a string against an integer")?;
                match op {
                    CmpOp::Lt => o.is_lt(),
                    CmpOp::Gt => o.is_gt(),
                    CmpOp::Le => o.is_le(),
                    _ => o.is_ge(),
                }
            }
        })
    }
}

// ───────────────────────── agreement with the reference ─────────────────────────

/// ldfi's model of a run in the reference's format.
fn ldfi_model(p: &Program, run: &Run) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for t in 1..=run.eot {
        for rel in 0..p.rels.len() as u32 {
            for id in run.tuples_at(rel, t) {
                out.insert(format!("{}@{t}", p.show_tuple(rel, &run.tuples.rec(id).vals)));
            }
        }
    }
    out
}

/// Compare both evaluators on one scenario; returns a description of any difference.
fn compare_models(
    ast: &ldfi::syntax::ast::Program,
    p: &Program,
    eot: u32,
    nodes: &[Sym],
    scenario: &Scenario,
) -> Result<(), String> {
    let name = |s: Sym| p.symbols.name(s).to_string();
    let faults = reference::Faults {
        omissions: scenario.omissions.iter().map(|&(a, b, t)| (name(a), name(b), t)).collect(),
        crashes: scenario.crashes.iter().map(|&(n, t)| (name(n), t)).collect(),
    };
    let node_names: Vec<String> = nodes.iter().map(|&n| name(n)).collect();
    let want = reference::run(ast, eot, &node_names, &faults);
    let params = RunParams { eot, nodes: nodes.to_vec(), lineage: false, tuple_cap: 200_000 };
    let got = eval::run(p, &params, scenario);
    let faults = scenario.to_faults(p);
    let diff = |what: &str,
                want: &BTreeSet<String>,
                got: &BTreeSet<String>|
     -> Result<(), String> {
        if want == got {
            return Ok(());
        }
        let missing: Vec<_> = want.difference(got).take(10).collect();
        let extra: Vec<_> = got.difference(want).take(10).collect();
        Err(format!(
            "{what} differ under {faults} (eot={eot}, nodes={node_names:?}):\n  only in reference: {missing:?}\n  only in ldfi: {extra:?}"
        ))
    };
    match (want, got) {
        (Ok(want), Ok(run)) => {
            diff("models", &want.model, &ldfi_model(p, &run))?;
            // The same run with lineage: same model, and the same derivations.
            let params = RunParams { lineage: true, ..params };
            let run =
                eval::run(p, &params, scenario).map_err(|e| format!("with lineage: {e:?}"))?;
            diff("models (with lineage)", &want.model, &ldfi_model(p, &run))?;
            let got = ldfi_lineage(p, &run);
            for (tuple, firings) in &want.lineage {
                let none = BTreeSet::new();
                diff(&format!("derivations of {tuple}"), firings, got.get(tuple).unwrap_or(&none))?;
            }
            for tuple in got.keys() {
                if !want.lineage.contains_key(tuple) {
                    return Err(format!("ldfi has derivations of {tuple}, the reference has none"));
                }
            }
            Ok(())
        }
        (Err(_), Err(_)) => Ok(()),
        (Ok(_), Err(e)) => {
            Err(format!("ldfi failed ({e:?}) where the reference did not under {faults}"))
        }
        (Err(e), Ok(_)) => {
            Err(format!("the reference failed ({e}) where ldfi did not under {faults}"))
        }
    }
}

/// ldfi's lineage in the reference's format: tuple -> set of
/// `source | body tuples | negated patterns | message`.
fn ldfi_lineage(p: &Program, run: &Run) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let lin = run.lineage.as_ref().expect("lineage");
    let show = |id: u32| {
        let rec = run.tuples.rec(id);
        format!("{}@{}", p.show_tuple(rec.rel, &rec.vals), rec.time)
    };
    let mut out = std::collections::BTreeMap::new();
    for id in 0..run.tuples.recs.len() as u32 {
        let mut firings = BTreeSet::new();
        for f in lin.firings_of(id) {
            let source = match f.source {
                Source::Fact => "fact".to_string(),
                Source::Crash => "crash".to_string(),
                Source::Rule(r) => format!("rule {r}"),
            };
            let mut body: Vec<String> = lin.body_of(f).iter().map(|&b| show(b)).collect();
            body.sort();
            body.dedup();
            let mut negs: Vec<String> = lin
                .negs_of(f)
                .map(|n| {
                    let pat: Vec<String> = n
                        .pattern
                        .iter()
                        .map(|v| v.map_or("_".to_string(), |v| p.symbols.show(v).to_string()))
                        .collect();
                    format!("notin {}({})@{}", p.rel_name(n.rel), pat.join(", "), n.time)
                })
                .collect();
            negs.sort();
            negs.dedup();
            let msg = f.msg.map_or(String::new(), |m| {
                let m = &run.messages[m as usize];
                format!("{}->{}@{}", p.symbols.name(m.from), p.symbols.name(m.to), m.send_time)
            });
            firings.insert(format!(
                "{source} | {} | {} | {msg}",
                body.join(" & "),
                negs.join(" & ")
            ));
        }
        out.insert(show(id), firings);
    }
    out
}

/// A random fault scenario within the bounds.
fn random_scenario(
    rng: &mut ChaCha8Rng,
    nodes: &[Sym],
    eot: u32,
    eff: u32,
    crashes: u32,
) -> Scenario {
    let mut s = Scenario::default();
    let k = rng.gen_range(0..=crashes.min(nodes.len() as u32));
    let mut pool = nodes.to_vec();
    for _ in 0..k {
        let n = pool.swap_remove(rng.gen_range(0..pool.len()));
        s.crashes.push((n, rng.gen_range(1..=eot)));
    }
    s.crashes.sort_unstable();
    for t in 1..eff {
        for &a in nodes {
            for &b in nodes {
                if a != b && rng.gen_bool(0.25) {
                    s.omissions.insert((a, b, t));
                }
            }
        }
    }
    s
}

fn spec_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("readable dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "ded") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new("specs"), &mut out);
    out
}

/// A header line's configuration of a spec, resolved as `ldfi check FILE` resolves it.
fn resolve_header(
    program: &Program,
    headers: &[ldfi::config::HeaderConfig],
    h: &ldfi::config::HeaderConfig,
    file: &Path,
) -> ldfi::app::Prepared {
    ldfi::app::resolve(
        program.clone(),
        headers.to_vec(),
        Some(h),
        &ldfi::cli::BoundsArgs::default(),
        &[file.to_path_buf()],
    )
    .unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), h.line))
}

#[test]
fn reference_agrees_on_every_spec() {
    let files = spec_files();
    assert!(files.len() >= 10, "expected the spec corpus under specs/, found {files:?}");
    let mut failures = Vec::new();
    let mut compared = 0;
    for file in &files {
        let loaded = match ldfi::syntax::load(&[file.as_path()]) {
            Ok(l) => l,
            Err((_, d)) => panic!("{}: {d:?}", file.display()),
        };
        let analysis = ldfi::analysis::analyze(&loaded.program);
        let program = analysis
            .program
            .unwrap_or_else(|| panic!("{}: {:?}", file.display(), analysis.diagnostics));
        let headers = if loaded.headers.is_empty() {
            vec![Default::default()]
        } else {
            loaded.headers.clone()
        };
        for (hi, h) in headers.iter().enumerate() {
            let prepared = resolve_header(&program, &loaded.headers, h, file);
            let mut rng = ChaCha8Rng::seed_from_u64(0x5eed + hi as u64 * 7919 + compared as u64);
            let mut scenarios = vec![Scenario::default()];
            for _ in 0..3 {
                scenarios.push(random_scenario(
                    &mut rng,
                    &prepared.nodes,
                    prepared.eot,
                    prepared.eff,
                    prepared.crashes,
                ));
            }
            for s in &scenarios {
                compared += 1;
                if let Err(e) = compare_models(
                    &loaded.program,
                    &prepared.program,
                    prepared.eot,
                    &prepared.nodes,
                    s,
                ) {
                    failures.push(format!("{}:{}: {e}", file.display(), h.line));
                }
            }
        }
    }
    assert!(compared >= 40, "only {compared} runs compared");
    assert!(failures.is_empty(), "{} disagreement(s):\n{}", failures.len(), failures.join("\n"));
}

/// `eval::possible` over-approximates every run within the bounds: each tuple of a run under
/// any scenario is in it at the same timestep (the search prunes on this, so a miss here
/// would be a wrong certification), and it stays within its firing budget or says so.
#[test]
fn over_approximation_holds_every_run_of_every_spec() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for file in &spec_files() {
        let Ok(loaded) = ldfi::syntax::load(&[file.as_path()]) else { continue };
        let Some(program) = ldfi::analysis::analyze(&loaded.program).program else { continue };
        for (hi, h) in loaded.headers.iter().enumerate() {
            let prepared = resolve_header(&program, &loaded.headers, h, file);
            let params = RunParams {
                eot: prepared.eot,
                nodes: prepared.nodes.clone(),
                lineage: false,
                tuple_cap: 200_000,
            };
            let p = &prepared.program;
            let Some(over) = eval::possible(p, &params, prepared.crashes > 0, 200_000, u64::MAX)
            else {
                continue;
            };
            // A budget below what it takes gives up rather than a partial answer.
            assert!(
                over.firings == 0
                    || eval::possible(p, &params, prepared.crashes > 0, 200_000, over.firings - 1)
                        .is_none(),
                "{}:{}: a partial over-approximation under a firing budget",
                file.display(),
                h.line
            );
            let mut rng = ChaCha8Rng::seed_from_u64(0x0bad + hi as u64);
            let mut scenarios = vec![Scenario::default()];
            for _ in 0..6 {
                scenarios.push(random_scenario(
                    &mut rng,
                    &prepared.nodes,
                    prepared.eot,
                    prepared.eff,
                    prepared.crashes,
                ));
            }
            // Crash tuples are held only when a rule reads them positively (the search
            // models them by its crash variables, and `notin` always succeeds here).
            let skip = |rel| Some(rel) == p.crash_rel && !eval::over_holds_crashes(p);
            for sc in &scenarios {
                let Ok(run) = eval::run(p, &params, sc) else { continue };
                checked += 1;
                for rec in run.tuples.recs.iter().filter(|r| !skip(r.rel)) {
                    if over.tuples.find(rec.rel, &rec.vals, rec.time).is_none() {
                        failures.push(format!(
                            "{}:{}: {}{:?}@{} under {} is not in the over-approximation",
                            file.display(),
                            h.line,
                            p.rel_name(rec.rel),
                            rec.vals,
                            rec.time,
                            sc.to_faults(p)
                        ));
                        break;
                    }
                }
            }
        }
    }
    assert!(checked >= 100, "only {checked} runs checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ───────────────────────── random programs ─────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Node,
    Sym,
    Int,
}

/// A generator of small random Dedalus programs (see the module docs).
struct Gen {
    rng: ChaCha8Rng,
    nodes: Vec<String>,
    rels: Vec<(String, Vec<Ty>)>,
}

impl Gen {
    fn new(seed: u64) -> Gen {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = rng.gen_range(2..=3);
        let nodes = ["a", "b", "c"][..n].iter().map(|s| s.to_string()).collect();
        let nrels = rng.gen_range(3..=6);
        let mut rels = Vec::new();
        for i in 0..nrels {
            let arity = rng.gen_range(1..=3);
            let mut tys = vec![Ty::Node];
            for _ in 1..arity {
                tys.push(match rng.gen_range(0..10) {
                    0..=2 => Ty::Node,
                    3..=5 => Ty::Sym,
                    _ => Ty::Int,
                });
            }
            rels.push((format!("r{i}"), tys));
        }
        Gen { rng, nodes, rels }
    }

    fn constant(&mut self, ty: Ty) -> String {
        match ty {
            Ty::Node => format!("{:?}", self.nodes[self.rng.gen_range(0..self.nodes.len())]),
            Ty::Sym => format!("{:?}", ["x", "y", "z"][self.rng.gen_range(0..3)]),
            Ty::Int => self.rng.gen_range(0..4).to_string(),
        }
    }

    fn fact(&mut self, rel: usize, time: u32) -> String {
        let (name, tys) = self.rels[rel].clone();
        let args: Vec<String> = tys.iter().map(|&t| self.constant(t)).collect();
        format!("{name}({})@{time};", args.join(", "))
    }

    /// A bound variable of the type, if any.
    fn bound_var(&mut self, vars: &[(String, Ty)], ty: Ty) -> Option<String> {
        let c: Vec<&String> = vars.iter().filter(|(_, t)| *t == ty).map(|(v, _)| v).collect();
        if c.is_empty() {
            None
        } else {
            Some(c[self.rng.gen_range(0..c.len())].clone())
        }
    }

    /// A positive atom, binding fresh variables.
    fn pos_atom(
        &mut self,
        vars: &mut Vec<(String, Ty)>,
        first: bool,
        nfresh: &mut usize,
    ) -> String {
        let rel = self.rng.gen_range(0..self.rels.len());
        let (name, tys) = self.rels[rel].clone();
        let mut args = Vec::new();
        for (i, &ty) in tys.iter().enumerate() {
            let roll = self.rng.gen_range(0..100);
            let arg = if i == 0 && first {
                *nfresh += 1;
                let v = format!("N{nfresh}");
                vars.push((v.clone(), ty));
                v
            } else if roll < 45 && self.bound_var(vars, ty).is_some() {
                self.bound_var(vars, ty).expect("bound")
            } else if roll < 57 {
                self.constant(ty)
            } else if roll < 65 && i > 0 {
                "_".to_string()
            } else {
                *nfresh += 1;
                let v = format!(
                    "{}{nfresh}",
                    match ty {
                        Ty::Node => "N",
                        Ty::Sym => "S",
                        Ty::Int => "I",
                    }
                );
                vars.push((v.clone(), ty));
                v
            };
            args.push(arg);
        }
        let time = if !first && self.rng.gen_bool(0.08) {
            format!("@{}", self.rng.gen_range(1..=3))
        } else {
            String::new()
        };
        format!("{name}({}){time}", args.join(", "))
    }

    fn neg_atom(&mut self, vars: &[(String, Ty)]) -> String {
        let rel = self.rng.gen_range(0..self.rels.len());
        let (name, tys) = self.rels[rel].clone();
        let mut args = Vec::new();
        for &ty in &tys {
            let roll = self.rng.gen_range(0..100);
            let arg = match self.bound_var(vars, ty) {
                Some(v) if roll < 60 => v,
                _ if roll < 80 => self.constant(ty),
                _ => "_".to_string(),
            };
            args.push(arg);
        }
        let time = if self.rng.gen_bool(0.1) {
            format!("@{}", self.rng.gen_range(1..=3))
        } else {
            String::new()
        };
        format!("notin {name}({}){time}", args.join(", "))
    }

    fn condition(&mut self, vars: &[(String, Ty)]) -> Option<String> {
        let (v, ty) = vars[self.rng.gen_range(0..vars.len())].clone();
        let other = match self.bound_var(vars, ty) {
            Some(w) if w != v && self.rng.gen_bool(0.6) => w,
            _ => self.constant(ty),
        };
        let op = ["==", "!=", "<", ">", "<=", ">="][self.rng.gen_range(0..6)];
        Some(format!("{v} {op} {other}"))
    }

    fn rule(&mut self, allow_agg: bool) -> String {
        let ann = match self.rng.gen_range(0..8) {
            0..=2 => "",
            3..=4 => "@next",
            _ => "@async",
        };
        let mut vars = Vec::new();
        let mut fresh = 0;
        let npos = self.rng.gen_range(1..=3);
        let mut body = Vec::new();
        for i in 0..npos {
            body.push(self.pos_atom(&mut vars, i == 0, &mut fresh));
        }
        if self.rng.gen_bool(0.3) {
            let n = self.neg_atom(&vars);
            body.insert(self.rng.gen_range(1..=body.len()), n);
        }
        if ann == "@async" && self.rng.gen_bool(0.7) {
            // Route through the full-mesh `link` relation.
            body.push("link(N1, D)".to_string());
            vars.push(("D".to_string(), Ty::Node));
        }
        if self.rng.gen_bool(0.1) {
            body.push("notin crash(N1, N1, _)".to_string());
        }
        if self.rng.gen_bool(0.3) {
            if let Some(c) = self.condition(&vars) {
                body.push(c);
            }
        }
        let head_rel = self.rng.gen_range(0..self.rels.len());
        let (name, tys) = self.rels[head_rel].clone();
        let mut args = Vec::new();
        let agg = allow_agg
            && ann != "@async"
            && tys.len() >= 2
            && *tys.last().expect("arity") == Ty::Int
            && self.rng.gen_bool(0.25);
        for (i, &ty) in tys.iter().enumerate() {
            if i == 0 && ann == "@async" && self.rng.gen_bool(0.8) {
                // Prefer a destination other than the sender (N1).
                let others: Vec<String> = vars
                    .iter()
                    .filter(|(v, t)| *t == Ty::Node && v != "N1")
                    .map(|(v, _)| v.clone())
                    .collect();
                if !others.is_empty() {
                    args.push(others[self.rng.gen_range(0..others.len())].clone());
                    continue;
                }
            }
            if agg && i == tys.len() - 1 {
                let int_var = self.bound_var(&vars, Ty::Int);
                let kind = self.rng.gen_range(0..4);
                let arg = match (kind, int_var) {
                    (1, Some(v)) => format!("sum<{v}>"),
                    (2, Some(v)) => format!("min<{v}>"),
                    (3, Some(v)) => format!("max<{v}>"),
                    _ => {
                        let (v, _) = vars[self.rng.gen_range(0..vars.len())].clone();
                        format!("count<{v}>")
                    }
                };
                args.push(arg);
                continue;
            }
            let arg = match self.bound_var(&vars, ty) {
                Some(v) if ty == Ty::Int && !ann.is_empty() && self.rng.gen_bool(0.3) => {
                    format!("{v} + 1")
                }
                Some(v) if self.rng.gen_bool(0.85) => v,
                _ => self.constant(ty),
            };
            args.push(arg);
        }
        format!("{name}({}){ann} :- {};", args.join(", "), body.join(", "))
    }

    fn program(&mut self) -> String {
        let mut out = Vec::new();
        let nfacts = self.rng.gen_range(4..=10);
        for _ in 0..nfacts {
            let rel = self.rng.gen_range(0..self.rels.len());
            let time = if self.rng.gen_bool(0.7) { 1 } else { self.rng.gen_range(2..=4) };
            let f = self.fact(rel, time);
            out.push(f);
        }
        for a in &self.nodes {
            for b in &self.nodes {
                if a != b {
                    out.push(format!("link({a:?}, {b:?})@1;"));
                }
            }
        }
        out.push("link(N, M)@next :- link(N, M);".to_string());
        // Persist some relations.
        for i in 0..self.rels.len() {
            if self.rng.gen_bool(0.5) {
                let (name, tys) = self.rels[i].clone();
                let vars: Vec<String> = (0..tys.len()).map(|j| format!("V{j}")).collect();
                out.push(format!("{name}({0})@next :- {name}({0});", vars.join(", ")));
            }
        }
        let nrules = self.rng.gen_range(3..=8);
        for _ in 0..nrules {
            let r = self.rule(true);
            out.push(r);
        }
        out.join("\n")
    }
}

#[test]
fn reference_agrees_on_random_programs() {
    let cases: u64 =
        std::env::var("LDFI_SEMANTICS_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(600);
    let mut accepted = 0;
    let mut failures = Vec::new();
    let (mut nonempty, mut tuples, mut msgs) = (0, 0, 0);
    let mut rejected = std::collections::BTreeMap::new();
    for seed in 0..cases {
        let mut g = Gen::new(seed);
        let text = g.program();
        let Ok(loaded) = ldfi::syntax::load_str("gen.ded", &text) else { continue };
        let analysis = ldfi::analysis::analyze(&loaded.program);
        let Some(mut program) = analysis.program else {
            for d in analysis.diagnostics.iter().filter(|d| d.is_error()) {
                *rejected.entry(d.code).or_insert(0) += 1;
            }
            continue;
        };
        accepted += 1;
        let nodes: Vec<Sym> = g.nodes.iter().map(|n| program.symbols.intern(n)).collect();
        let eot = g.rng.gen_range(3..=5);
        let eff = g.rng.gen_range(0..=eot.min(3));
        let crashes = g.rng.gen_range(0..=1);
        let mut scenarios = vec![Scenario::default()];
        for _ in 0..2 {
            scenarios.push(random_scenario(&mut g.rng, &nodes, eot, eff, crashes));
        }
        for s in &scenarios {
            let params =
                RunParams { eot, nodes: nodes.clone(), lineage: false, tuple_cap: 200_000 };
            if let Ok(r) = eval::run(&program, &params, s) {
                tuples += r.tuples.recs.len();
                msgs += r.messages.len();
                if r.tuples.recs.len() > 5 {
                    nonempty += 1;
                }
            }
            if let Err(e) = compare_models(&loaded.program, &program, eot, &nodes, s) {
                failures.push(format!("seed {seed}: {e}\nprogram:\n{text}\n"));
                break;
            }
        }
    }
    println!("{accepted} of {cases} programs accepted, {nonempty} non-trivial runs, {tuples} tuples, {msgs} messages; rejections: {rejected:?}");
    assert!(accepted * 2 >= cases, "only {accepted} of {cases} generated programs passed analysis");
    assert!(
        nonempty >= accepted,
        "the generated programs are too trivial ({nonempty} non-trivial runs)"
    );
    assert!(
        failures.is_empty(),
        "{} disagreement(s), first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(3)].join("\n")
    );
}
