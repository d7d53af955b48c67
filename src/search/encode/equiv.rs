//! Fault sets a run has already decided: after a run, every fault set whose run is
//! provably the very same run is ruled out with one clause ([`Encoder::block_equivalents`]),
//! whatever the lineage encoding can or cannot prove about it.
//!
//! Two fault sets give the same run when, timestep by timestep, they deliver the same
//! messages and supply the same crash tuples. Against the run of a fault set `h`, a fault
//! set `g` does exactly that when
//!
//! - every message the run sent at t < EFF to another node is omitted by `g` exactly when
//!   `h` omitted it (omissions of channels that carried nothing are free);
//! - every node `h` leaves up, `g` leaves up;
//! - every node `h` crashes at T, `g` crashes within T's *silent window* `[lo, hi]`: `lo - 1`
//!   is the node's last send to another node before T (0 if none), `hi` its first send at
//!   or after T (EOT if none). The node sends nothing to another node at `lo..hi - 1`, so no
//!   message is delivered or lost differently; its sends from `hi` on are lost either way.
//!
//! The window needs the crash tuple's time to be invisible: the `crash` relation holds
//! `crash(n, c, T)` at every timestep, so a rule that reads T (a constant, a variable used
//! anywhere else in the rule, or an aggregate's binding) could tell two crash times apart.
//! Then the window is the crash time alone. When no rule reads `crash` at all, a crash
//! matters only by the messages it loses: a node `h` leaves up may crash after its last send,
//! and a node `h` crashes after its last send may as well stay up.
//!
//! By induction over time the two runs hold the same tuples, so `g`'s run is the good run
//! already seen and never a counterexample: the clause "`g` differs from all of this" is sound.
//! It matters for protocols whose nodes are silent for stretches (acceptors that answer
//! requests, timers with a period above 1): a crash one step later in such a stretch changes
//! nothing, while the lineage encoding, which must allow that one more round of messages
//! might go out, cannot rule it out.

use super::Encoder;
use crate::analysis::ir::{ArgPat, HeadTerm, IrExpr, IrRule, Program, Step, Sym, VarId};
use crate::eval::{MsgStatus, Run};
use rustsat::types::Lit;

/// What the program's rules can see of a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CrashView {
    /// No rule reads `crash`: a crash matters only by the messages it loses.
    Unread,
    /// Rules read which nodes crashed, never when.
    Untimed,
    /// Some rule can tell two crash times of a node apart.
    Timed,
}

/// What the program's rules can see of a crash (module doc).
pub(super) fn crash_view(program: &Program) -> CrashView {
    let Some(crash) = program.crash_rel else { return CrashView::Unread };
    let mut view = CrashView::Unread;
    for rule in &program.rules {
        for (i, step) in rule.full.steps.iter().enumerate() {
            let (Step::Scan { rel, args, .. } | Step::Absent { rel, args, .. }) = step else {
                continue;
            };
            if *rel != crash {
                continue;
            }
            view = CrashView::Untimed;
            let timed = match args.get(2) {
                Some(ArgPat::Wild) | None => false,
                Some(ArgPat::Bind(v)) => var_used_elsewhere(rule, *v, i),
                Some(ArgPat::Check(_) | ArgPat::Const(_)) => true,
            };
            if timed {
                return CrashView::Timed;
            }
        }
    }
    view
}

/// Whether `v`, bound as the crash time by step `at`, is read anywhere else in the rule (a
/// later atom, a condition, the head) or is part of an aggregate's bindings.
fn var_used_elsewhere(rule: &IrRule, v: VarId, at: usize) -> bool {
    if rule.agg.is_some() && rule.binding_vars.contains(&v) {
        return true;
    }
    let in_args = |args: &[ArgPat]| {
        args.iter().any(|a| matches!(a, ArgPat::Bind(w) | ArgPat::Check(w) if *w == v))
    };
    let steps = rule.full.steps.iter().enumerate().any(|(i, step)| match step {
        Step::Scan { args, .. } | Step::Absent { args, .. } => {
            // The crash atom itself: only its other columns (`crash(X, T, T)` reads T twice).
            let args = if i == at { &args[..2] } else { &args[..] };
            in_args(args)
        }
        Step::Filter { lhs, rhs, .. } => expr_uses(lhs, v) || expr_uses(rhs, v),
    });
    steps
        || rule.head.iter().any(|t| match t {
            HeadTerm::Expr(e) => expr_uses(e, v),
            HeadTerm::Agg(_, w) => *w == v,
        })
}

fn expr_uses(e: &IrExpr, v: VarId) -> bool {
    let mut vars = Vec::new();
    e.vars(&mut vars);
    vars.contains(&v)
}

/// The times at which `n` sent a message to another node in `run` (delivered or not).
fn sends_to_others(run: &Run, n: Sym) -> impl Iterator<Item = u32> + '_ {
    run.messages.iter().filter(move |m| m.from == n && m.to != n).map(|m| m.send_time)
}

/// The silent window `[lo, hi]` of node `n` crashed at `tc` in `run` (module doc), and
/// whether `n` sends nothing to another node from `tc` on.
fn silent_window(run: &Run, n: Sym, tc: u32, eot: u32) -> (u32, u32, bool) {
    let (mut lo, mut hi, mut silent_after) = (1, eot, true);
    for t in sends_to_others(run, n) {
        if t < tc {
            lo = lo.max(t + 1);
        } else {
            hi = hi.min(t);
            silent_after = false;
        }
    }
    (lo, hi, silent_after)
}

impl Encoder<'_> {
    /// Rule out every fault set whose run is `run` itself (`run` is the good run of `h`;
    /// module doc): one clause saying the hypothesis differs from `h` in a fault that
    /// changes a message or a crash tuple.
    pub fn block_equivalents(&mut self, run: &Run) {
        let mut cl = Vec::new();
        if !self.crash.is_empty() {
            for n in self.nodes.clone() {
                self.differs_in_crash(run, n, &mut cl);
            }
        }
        self.ops += run.messages.len() as u64;
        for m in &run.messages {
            if m.from == m.to || m.send_time >= self.eff {
                continue;
            }
            match m.status {
                MsgStatus::Delivered => cl.push(self.omit_var(m.from, m.to, m.send_time)),
                MsgStatus::Omitted => cl.push(!self.omit_var(m.from, m.to, m.send_time)),
                // Lost to a crash from the end of the sender's window on: either way.
                MsgStatus::SenderCrashed => {}
            }
        }
        cl.sort_unstable();
        cl.dedup();
        self.clause(&cl);
    }

    /// Push the literals that say a hypothesis treats node `n` differently from `run`'s
    /// scenario in a way the run could see: crashed at a time that loses other messages, or
    /// with a crash tuple the rules can tell apart.
    fn differs_in_crash(&mut self, run: &Run, n: Sym, cl: &mut Vec<Lit>) {
        let view = self.crash_view;
        match run.scenario.crash_time(n) {
            None if view == CrashView::Unread => {
                // A crash after n's last send loses nothing: only earlier ones differ.
                let last = sends_to_others(run, n).max().unwrap_or(0);
                cl.extend(self.down_var(n, last));
            }
            None => cl.extend(self.crashed.get(&n).copied()),
            Some(tc) if view == CrashView::Timed => {
                cl.extend(self.crash.get(&(n, tc)).map(|&c| !c))
            }
            Some(tc) => {
                let (lo, hi, silent_after) = silent_window(run, n, tc, self.eot);
                // Crashed within [lo, hi] is d(n, hi) and not d(n, lo - 1); when n sends
                // nothing from tc on and no rule reads crashes, staying up is the same too.
                if !(silent_after && view == CrashView::Unread) {
                    cl.extend(self.down_var(n, hi).map(|d| !d));
                }
                cl.extend(self.down_var(n, lo - 1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{RunParams, Scenario};
    use crate::search::encode::Hypothesis;

    fn program(text: &str) -> Program {
        let loaded = crate::syntax::load_str("t.ded", text).expect("loads");
        crate::analysis::analyze(&loaded.program).program.expect("analyzes")
    }

    /// b pings a at 1, 4 and 7, and is silent in between.
    const PINGS: &str = r#"
        peer("b", "a")@1;
        peer(N, M)@next :- peer(N, M);
        tick("b", 1)@1;
        tick(N, T + 1)@next :- tick(N, T);
        ping(M, N)@async :- peer(N, M), tick(N, T), T % 3 == 1;
        heard(A)@next :- heard(A);
        heard(A) :- ping(A, _);
        pre(A) :- heard(A);
        post(A) :- heard(A), notin crash(A, A, _);
    "#;

    fn run(p: &Program, crashes: &[(&str, u32)], omissions: &[(&str, &str, u32)]) -> Run {
        let sym = |s: &str| p.symbols.get(s).expect("a node");
        let scenario = Scenario {
            omissions: omissions.iter().map(|&(a, b, t)| (sym(a), sym(b), t)).collect(),
            crashes: crashes.iter().map(|&(n, t)| (sym(n), t)).collect(),
        };
        let params = RunParams {
            eot: 8,
            nodes: p.inferred_nodes.clone(),
            lineage: false,
            tuple_cap: crate::eval::DEFAULT_TUPLE_CAP,
        };
        crate::eval::run(p, &params, &scenario).expect("runs")
    }

    /// Every single fault the solver still allows, as (node, time) crashes (with no
    /// omissions possible).
    fn single_crashes_left(p: &Program, ran: &[Run]) -> Vec<(String, u32)> {
        let nodes = p.inferred_nodes.clone();
        let mut enc = Encoder::new(p, 8, 0, 1, &nodes, true, None);
        for r in ran {
            enc.block_equivalents(r);
        }
        let mut size = 1;
        let found: Vec<Hypothesis> = enc.next_batch(&mut size, 100);
        let mut out: Vec<(String, u32)> = found
            .iter()
            .map(|h| {
                assert!(h.omissions.is_empty() && h.crashes.len() == 1, "{h:?}");
                let (n, t) = h.crashes[0];
                (p.symbols.name(n).to_string(), t)
            })
            .collect();
        out.sort();
        out
    }

    fn every_crash_but(skip: &[(&str, u32)]) -> Vec<(String, u32)> {
        let mut out = Vec::new();
        for n in ["a", "b"] {
            for t in 1..=8 {
                if !skip.contains(&(n, t)) {
                    out.push((n.to_string(), t));
                }
            }
        }
        out
    }

    #[test]
    fn a_crash_anywhere_in_a_silent_stretch_is_the_same_run() {
        let p = program(PINGS);
        assert_eq!(crash_view(&p), CrashView::Untimed);
        let base = run(&p, &[], &[]);
        let b3 = run(&p, &[("b", 3)], &[]);
        // b sends at 1 and 4: crashing it at 2, 3 or 4 loses exactly the sends from 4 on.
        assert_eq!(silent_window(&b3, p.symbols.get("b").unwrap(), 3, 8), (2, 4, false));
        let left = single_crashes_left(&p, &[base, b3]);
        assert_eq!(left, every_crash_but(&[("b", 2), ("b", 3), ("b", 4)]));
        // After the last send the window reaches EOT.
        let b8 = run(&p, &[("b", 8)], &[]);
        assert_eq!(silent_window(&b8, p.symbols.get("b").unwrap(), 8, 8), (8, 8, true));
        let b7 = run(&p, &[("b", 7)], &[]);
        assert_eq!(silent_window(&b7, p.symbols.get("b").unwrap(), 7, 8), (5, 7, false));
        // a never sends: any crash time of a is the same run.
        let a2 = run(&p, &[("a", 2)], &[]);
        let left = single_crashes_left(&p, &[run(&p, &[], &[]), a2]);
        assert_eq!(
            left,
            every_crash_but(&[
                ("a", 1),
                ("a", 2),
                ("a", 3),
                ("a", 4),
                ("a", 5),
                ("a", 6),
                ("a", 7),
                ("a", 8)
            ])
        );
    }

    #[test]
    fn a_rule_that_reads_the_crash_time_keeps_each_time_apart() {
        let p = program(&format!("{PINGS}\nlate(A) :- crash(A, _, T), T > 2;"));
        assert_eq!(crash_view(&p), CrashView::Timed);
        let left = single_crashes_left(&p, &[run(&p, &[], &[]), run(&p, &[("b", 3)], &[])]);
        assert_eq!(left, every_crash_but(&[("b", 3)]));
    }

    #[test]
    fn without_a_rule_reading_crash_a_crash_after_the_last_send_is_no_crash() {
        let p = program(
            &PINGS.replace("post(A) :- heard(A), notin crash(A, A, _);", "post(A) :- heard(A);"),
        );
        assert_eq!(crash_view(&p), CrashView::Unread);
        // a never sends, so crashing it changes nothing; nor does crashing b after 7.
        let base = run(&p, &[], &[]);
        let mut left = vec![];
        for t in 1..=7 {
            left.push(("b".to_string(), t));
        }
        assert_eq!(single_crashes_left(&p, std::slice::from_ref(&base)), left);
        let b3 = run(&p, &[("b", 3)], &[]);
        left.retain(|(_, t)| !(2..=4).contains(t));
        assert_eq!(single_crashes_left(&p, &[base, b3]), left);
    }

    #[test]
    fn which_reads_of_crash_can_tell_its_time() {
        let with =
            |rule: &str| crash_view(&program(&format!("{PINGS}\n{rule}"))) == CrashView::Timed;
        assert!(!with("gone(A, B) :- peer(A, B), crash(A, B, _);"));
        assert!(!with("gone(A, B) :- peer(A, B), crash(A, B, T);"));
        assert!(!with("up(A, B) :- peer(A, B), notin crash(A, B, _);"));
        assert!(with("gone(A, T) :- peer(A, B), crash(A, B, T);"));
        assert!(with("gone(A, B) :- peer(A, B), crash(A, B, 3);"));
        assert!(with("gone(A, B) :- peer(A, B), tick(A, T), crash(A, B, T);"));
        assert!(with("gone(A, B) :- peer(A, B), crash(A, B, T), tick(A, T);"));
        assert!(with("gone(A, B) :- peer(A, B), tick(A, T), notin crash(A, B, T);"));
        assert!(with("n(A, count<B>) :- peer(A, B), crash(A, B, T);"));
    }

    #[test]
    fn omissions_that_lose_nothing_are_the_same_run() {
        let p = program(PINGS);
        let nodes = p.inferred_nodes.clone();
        // eff 3: the only message that can be lost is b -> a at 1. Either it is lost or not,
        // whatever else is omitted (nothing else is sent before 3).
        let mut enc = Encoder::new(&p, 8, 3, 0, &nodes, true, None);
        enc.block_equivalents(&run(&p, &[], &[]));
        let mut size = 1;
        let found = enc.next_batch(&mut size, 100);
        let b = p.symbols.get("b").unwrap();
        let a = p.symbols.get("a").unwrap();
        assert_eq!(found, vec![Hypothesis { omissions: vec![(b, a, 1)], crashes: vec![] }]);
        enc.block_equivalents(&run(&p, &[], &[("b", "a", 1), ("b", "a", 2)]));
        let mut size = 1;
        assert!(enc.next_batch(&mut size, 100).is_empty(), "both runs are known");
    }
}
