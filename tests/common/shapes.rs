//! A generator of small random protocol programs in shapes that the generators of `gen.rs`
//! (`Gen`, `ProtocolGen`) do not produce, for the shapes sweep (`tests/shapes.rs`).
//! Include with `#[path = "common/shapes.rs"] mod shapes;` (from `tests/`).
//!
//! Each program runs one or two protocol families (relation names prefixed `f1_`, `f2_`) over
//! a `peer` mesh, may decorate one of their observable relations `o(N, X)`, and states a
//! `pre(N, X)`/`post(N, X)` invariant (sometimes `pre(N)`/`post(N)`) over one of them.
//! [`ShapesGen::shape`] names what a program holds, e.g. `relay+gossip+strata+inv:agree`.
//!
//! Families:
//! * **relay**: multi-hop forwarding chains (a -> b -> c, sometimes a shortcut a -> c), with
//!   or without retries (`@next` persistence of the send, until a hop-by-hop ack arrives);
//!   relays forward once on receipt, while unacked, or only until a timestep
//!   (`notin got(N, D)@k`); sometimes a bypass of a next hop that crashed early
//!   (`crash(N, B, T), T < k`);
//! * **vote**: a coordinator asks members and counts acks or weighted acks (`count<A>`,
//!   `sum<W>`, `max<W>`), deciding on `K >= quorum`, `K == exact`, `K > M / 2` or `K <= q`,
//!   or the "big/done" shape through `notin`; members ack only while not crashed
//!   (`notin crash(A, A, _)`, `notin crash(A, _, t)`) and may crash before or after acking;
//!   the coordinator may ack itself while not crashed; the decision is broadcast;
//! * **commit**: two-phase commit (Y/N votes, a majority count, abort on a `N` vote or on a
//!   timeout read through `start(C, X)@1` and a tick counter), the decision broadcast;
//! * **gossip**: values gossiped to peers and aggregated in `@async` heads
//!   (`tot(P, N, max<X>)@async`, `min`, `count<M>` sent as a message, or everything sent to one
//!   aggregator node `tot("a", N, max<X>)@async :- .., N != "a"`), re-aggregated locally and
//!   persisted under `notin in(N, _, _)`;
//! * **register**: registers overwritten through `notin` (`reg(N, V)@next :- reg(N, V),
//!   notin upd(N, _, _)`, or versioned `reg(N, V, K)` through `notin newer(N)` and a
//!   `stale` version check), one or two writes, flooded or retried by the writer (who reads
//!   its write with `wr(N, V, K)@1`);
//! * **failover**: a backup takes over when its primary crashed early, `crash(N, P, T)` read
//!   positively with the time compared (`T < k`, `T <= k`), and replicates its value.
//!
//! Decorations:
//! * **strata**: negation one to four strata deep (`z1 :- o, notin o@k; z2 :- o, notin z1;
//!   ...`, the first step also `notin` another family's relation, a positive `o@k` or
//!   `notin crash(N, N, _)`), sometimes broadcast and persisted;
//! * **read@T**: positive `w :- o(N, X)@k` and `w :- o(N, X), notin o(N, X)@k`.
//!
//! `@T` reads use `k` in 1..=min(EOT, 4) and sometimes EOT + 1, so many of them read a time
//! later than the current one, which reads nothing.
//!
//! Invariants (`inv:*`): agreement (`notin gdis(X)`, optionally among live nodes), delivery
//! to every live neighbour (`notin missing(_, X)`), "someone else has it" (or the holder
//! crashed), "a given node has it", "it was there by time k" (`o(N, X)@k`), "it is a given
//! value", and a family's own goal ("the end of the chain got it", "a member got the
//! decision"). `pre` may be filtered by crashes (`notin crash(N, N, _)`,
//! `notin crash(N, N, 1)`, `crash(N, C, T), T >= k`, `notin crash(N, _, k)`).
//!
//! Bounds: 2-4 nodes, EOT 3-6, EFF 0..=EOT, 0-2 crashes; EFF is capped by the number of
//! nodes, and further for gossip and for two families, so that the exhaustive referee stays
//! fast (a few ms for most cases, rarely over a second).
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Bounds drawn for a generated program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShapeBounds {
    pub eot: u32,
    pub eff: u32,
    pub crashes: u32,
}

/// A relation `rel(N, X)` a family exposes for decorations and invariants (node, value).
#[derive(Debug, Clone)]
struct Obs {
    rel: String,
    /// Integer values (else strings).
    int: bool,
    /// Values it may hold.
    vals: Vec<String>,
    /// The relation `link(N, P)` over which it should spread (for a "missing" invariant).
    link: String,
    /// Meant to reach several nodes (else it stays at one: no "missing"/"other" invariant).
    spread: bool,
}

/// The families, with repetitions for their weights.
const FAMILIES: [&str; 10] = [
    "relay", "relay", "vote", "vote", "commit", "gossip", "gossip", "register", "register",
    "failover",
];

/// Random programs in the shapes listed in the module documentation.
pub struct ShapesGen {
    pub rng: ChaCha8Rng,
    pub nodes: Vec<String>,
    /// Bounds of the last program (set by [`ShapesGen::program`]).
    pub bounds: ShapeBounds,
    /// The families, decorations and invariant form of the last program, e.g.
    /// `["relay", "strata", "inv:agree"]`.
    pub families: Vec<&'static str>,
    out: Vec<String>,
    /// Relations `pre`/`post` forms can use: observables of the families and decorations.
    obs: Vec<Obs>,
    /// A natural (pre body, post body) pair offered by a family, over `N, X`.
    goals: Vec<(String, String)>,
    /// Counter for the names of decoration relations.
    fresh: usize,
    /// EOT, drawn first (programs read timesteps relative to it).
    eot: u32,
}

impl ShapesGen {
    pub fn new(seed: u64) -> ShapesGen {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = [2, 2, 3, 3, 3, 4][rng.gen_range(0..6)];
        let nodes = ["a", "b", "c", "d"][..n].iter().map(|s| s.to_string()).collect();
        ShapesGen {
            rng,
            nodes,
            bounds: ShapeBounds { eot: 4, eff: 0, crashes: 0 },
            families: Vec::new(),
            out: Vec::new(),
            obs: Vec::new(),
            goals: Vec::new(),
            fresh: 0,
            eot: 4,
        }
    }

    /// The bounds of the last program.
    pub fn bounds(&self) -> ShapeBounds {
        self.bounds
    }

    /// The families, decorations and invariant form of the last program, joined with `+`.
    pub fn shape(&self) -> String {
        self.families.join("+")
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }

    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.rng.gen_range(0..xs.len())].clone()
    }

    /// A random node name, quoted.
    fn node(&mut self) -> String {
        let n = self.pick(&self.nodes.clone());
        format!("{n:?}")
    }

    /// The nodes in random order.
    fn shuffled(&mut self) -> Vec<String> {
        let mut v = self.nodes.clone();
        for i in (1..v.len()).rev() {
            let j = self.rng.gen_range(0..=i);
            v.swap(i, j);
        }
        v
    }

    /// A timestep for a `@T` read: usually within 1..=EOT, sometimes EOT + 1 (reads nothing).
    fn read_time(&mut self) -> u32 {
        if self.chance(0.15) {
            self.eot + 1
        } else {
            self.rng.gen_range(1..=self.eot.min(4))
        }
    }

    fn push(&mut self, line: String) {
        self.out.push(line);
    }

    /// A rule from a head and optional body parts.
    fn rule(&mut self, head: &str, body: Vec<Option<String>>) {
        let body: Vec<String> = body.into_iter().flatten().collect();
        self.out.push(format!("{head} :- {};", body.join(", ")));
    }

    fn maybe(&mut self, p: f64, text: &str) -> Option<String> {
        self.rng.gen_bool(p).then(|| text.to_string())
    }

    // ─────────────────────────── families ───────────────────────────

    /// Multi-hop forwarding along a chain of nodes.
    fn relay(&mut self, p: &str) {
        let order = self.shuffled();
        let len = self.rng.gen_range(2..=order.len());
        let chain = &order[..len];
        let (src, end) = (chain[0].clone(), chain[len - 1].clone());
        for w in chain.windows(2) {
            self.push(format!("{p}hop({:?}, {:?})@1;", w[0], w[1]));
        }
        if len >= 3 && self.chance(0.25) {
            self.push(format!("{p}hop({src:?}, {end:?})@1;"));
        }
        self.push(format!("{p}hop(N, M)@next :- {p}hop(N, M);"));
        self.push(format!("{p}data({src:?}, \"d1\")@1;"));
        if self.chance(0.5) {
            self.push(format!("{p}orig({src:?}, \"d1\")@1;"));
            self.push(format!("{p}orig(N, D)@next :- {p}orig(N, D);"));
        }
        let acks = self.chance(0.35);
        let retry = self.chance(0.55);
        if retry {
            let until = (acks && self.chance(0.7)).then(|| format!("notin {p}ackd(N, D)"));
            self.rule(&format!("{p}data(N, D)@next"), vec![Some(format!("{p}data(N, D)")), until]);
        }
        let guard = self.maybe(0.2, "notin crash(N, N, _)");
        self.rule(
            &format!("{p}fw(M, D)@async"),
            vec![Some(format!("{p}data(N, D)")), Some(format!("{p}hop(N, M)")), guard],
        );
        self.push(format!("{p}got(N, D) :- {p}fw(N, D);"));
        self.push(format!("{p}got(N, D)@next :- {p}got(N, D);"));
        match self.rng.gen_range(0..4) {
            // Forward once, on receipt.
            0 => self.push(format!("{p}fw(M, D)@async :- {p}fw(N, D), {p}hop(N, M);")),
            // Forward while not acked.
            1 | 2 => {
                let until = acks.then(|| format!("notin {p}hack(N, M, D)"));
                self.rule(
                    &format!("{p}fw(M, D)@async"),
                    vec![Some(format!("{p}got(N, D)")), Some(format!("{p}hop(N, M)")), until],
                );
            }
            // Forward only until a timestep: the read of a later time reads nothing.
            _ => {
                let k = self.read_time();
                self.push(format!(
                    "{p}fw(M, D)@async :- {p}got(N, D), {p}hop(N, M), notin {p}got(N, D)@{k};"
                ));
            }
        }
        if len >= 3 && self.chance(0.25) {
            // Bypass the next hop when it crashed early.
            let k = self.rng.gen_range(2..=4);
            self.push(format!(
                "{p}fw(M, D)@async :- {p}got(N, D), {p}hop(N, B), {p}hop(B, M), crash(N, B, T), T < {k};"
            ));
        }
        if acks {
            self.push(format!("{p}ha(P, N, D)@async :- {p}fw(N, D), {p}hop(P, N);"));
            self.push(format!("{p}hack(N, M, D) :- {p}ha(N, M, D);"));
            self.push(format!("{p}hack(N, M, D)@next :- {p}hack(N, M, D);"));
            self.push(format!("{p}ackd(N, D) :- {p}hack(N, _, D), {p}data(N, D);"));
        }
        self.obs.push(Obs {
            rel: format!("{p}got"),
            int: false,
            vals: vec!["\"d1\"".into()],
            link: format!("{p}hop"),
            spread: true,
        });
        // Whatever some node got, the end of the chain got too.
        self.goals.push((format!("{p}got(N, X)"), format!("{p}got(N, X), {p}got({end:?}, X)")));
        if self.out.iter().any(|l| l.starts_with(&format!("{p}orig("))) {
            let alive = self.maybe(0.6, "notin crash(N, N, _)");
            let alive = alive.map_or(String::new(), |a| format!(", {a}"));
            self.goals.push((
                format!("{p}orig(N, X){alive}"),
                format!("{p}orig(N, X), {p}got({end:?}, X)"),
            ));
        }
    }

    /// A coordinator counts acks (or weighted acks) and decides on a threshold.
    fn vote(&mut self, p: &str) {
        let order = self.shuffled();
        let c = order[0].clone();
        let mut members: Vec<String> =
            order[1..].iter().filter(|_| self.rng.gen_bool(0.8)).cloned().collect();
        if members.is_empty() || self.chance(0.4) {
            members.push(c.clone());
        }
        let weighted = self.chance(0.3);
        for a in &members {
            if weighted {
                let w = self.rng.gen_range(1..=4);
                self.push(format!("{p}mem({c:?}, {a:?}, {w})@1;"));
            } else {
                self.push(format!("{p}mem({c:?}, {a:?})@1;"));
            }
        }
        let mem = |v: &str| {
            if weighted {
                format!("{p}mem(C, {v}, _)")
            } else {
                format!("{p}mem(C, {v})")
            }
        };
        if weighted {
            self.push(format!("{p}mem(C, A, W)@next :- {p}mem(C, A, W);"));
        } else {
            self.push(format!("{p}mem(C, A)@next :- {p}mem(C, A);"));
        }
        self.push(format!("{p}go({c:?}, \"x\")@1;"));
        if self.chance(0.4) {
            let until = self.maybe(0.6, &format!("notin {p}dec(C, X)"));
            self.rule(&format!("{p}go(C, X)@next"), vec![Some(format!("{p}go(C, X)")), until]);
        }
        let cguard = self.maybe(0.2, "notin crash(C, C, _)");
        self.rule(
            &format!("{p}ask(A, C, X)@async"),
            vec![Some(format!("{p}go(C, X)")), Some(mem("A")), cguard],
        );
        if !members.contains(&c) && self.chance(0.35) {
            // The coordinator acks itself, only while not crashed.
            self.push(format!("{p}ack(C, C, X) :- {p}go(C, X), notin crash(C, C, _);"));
        }
        let aguard = match self.rng.gen_range(0..6) {
            0..=2 => Some("notin crash(A, A, _)".to_string()),
            3 => {
                let t = self.rng.gen_range(1..=3);
                Some(format!("notin crash(A, _, {t})"))
            }
            _ => None,
        };
        self.rule(
            &format!("{p}ack(C, A, X)@async"),
            vec![Some(format!("{p}ask(A, C, X)")), aguard],
        );
        if self.chance(0.85) {
            self.push(format!("{p}ack(C, A, X)@next :- {p}ack(C, A, X);"));
        }
        let m = members.len() as i64;
        match self.rng.gen_range(0..10) {
            // The "big/done" shape: decide unless a given member acked.
            0 => {
                let b = self.pick(&members);
                self.push(format!("{p}big(C) :- {p}ack(C, {b:?}, _);"));
                self.push(format!("{p}dec(C, X) :- {p}ack(C, _, X), notin {p}big(C);"));
            }
            _ => {
                if weighted && self.chance(0.6) {
                    let agg = self.pick(&["sum", "max"]);
                    self.push(format!(
                        "{p}cnt(C, X, {agg}<W>) :- {p}ack(C, A, X), {p}mem(C, A, W);"
                    ));
                } else {
                    self.push(format!("{p}cnt(C, X, count<A>) :- {p}ack(C, A, X);"));
                }
                let hi = if weighted { 4 * m } else { m };
                let q = self.rng.gen_range(1..=hi.max(1));
                match self.rng.gen_range(0..8) {
                    0..=3 => self.push(format!("{p}dec(C, X) :- {p}cnt(C, X, K), K >= {q};")),
                    4 | 5 => self.push(format!("{p}dec(C, X) :- {p}cnt(C, X, K), K == {q};")),
                    6 => {
                        self.push(format!("{p}pc(C, count<A>) :- {};", mem("A")));
                        self.push(format!(
                            "{p}dec(C, X) :- {p}cnt(C, X, K), {p}pc(C, M), K > M / 2;"
                        ));
                    }
                    _ => self.push(format!("{p}dec(C, X) :- {p}cnt(C, X, K), K <= {q};")),
                }
            }
        }
        if self.chance(0.8) {
            self.push(format!("{p}dec(C, X)@next :- {p}dec(C, X);"));
        }
        self.rule(
            &format!("{p}fin(A, X)@async"),
            vec![Some(format!("{p}dec(C, X)")), Some(mem("A"))],
        );
        if self.chance(0.5) {
            self.push(format!("{p}fin(C, X) :- {p}dec(C, X);"));
        }
        self.push(format!("{p}fin(A, X)@next :- {p}fin(A, X);"));
        let vals = vec!["\"x\"".to_string()];
        // Two members of one coordinator.
        self.push(format!("{p}co(A, B) :- {}, {}, A != B;", mem("A"), mem("B")));
        self.obs.push(Obs {
            rel: format!("{p}fin"),
            int: false,
            vals: vals.clone(),
            link: format!("{p}co"),
            spread: true,
        });
        self.obs.push(Obs {
            rel: format!("{p}dec"),
            int: false,
            vals,
            link: "peer".into(),
            spread: false,
        });
        // The coordinator decided: every member knows.
        let b = self.pick(&members);
        self.goals.push((format!("{p}dec(N, X)"), format!("{p}dec(N, X), {p}fin({b:?}, X)")));
    }

    /// Two-phase commit with Y/N votes, a majority, and abort on a timeout.
    fn commit(&mut self, p: &str) {
        let order = self.shuffled();
        let c = order[0].clone();
        for a in &order {
            if *a == c || self.chance(0.8) {
                self.push(format!("{p}part({c:?}, {a:?})@1;"));
            }
        }
        self.push(format!("{p}part(C, A)@next :- {p}part(C, A);"));
        self.push(format!("{p}start({c:?}, \"x\")@1;"));
        for a in &order {
            if self.chance(0.85) {
                self.push(format!("{p}can({a:?}, \"x\")@1;"));
            }
        }
        self.push(format!("{p}can(A, X)@next :- {p}can(A, X);"));
        let g = self.maybe(0.2, "notin crash(C, C, _)");
        self.rule(
            &format!("{p}prep(A, C, X)@async"),
            vec![Some(format!("{p}start(C, X)")), Some(format!("{p}part(C, A)")), g],
        );
        self.push(format!("{p}vote(C, A, X, \"Y\")@async :- {p}prep(A, C, X), {p}can(A, X);"));
        self.push(format!(
            "{p}vote(C, A, X, \"N\")@async :- {p}prep(A, C, X), notin {p}can(A, X);"
        ));
        self.push(format!("{p}vote(C, A, X, V)@next :- {p}vote(C, A, X, V);"));
        self.push(format!("{p}ycnt(C, X, count<A>) :- {p}vote(C, A, X, \"Y\");"));
        self.push(format!("{p}pcnt(C, count<A>) :- {p}part(C, A);"));
        self.push(format!(
            "{p}commit(C, X) :- {p}ycnt(C, X, K), {p}pcnt(C, M), K > M / 2, notin {p}abort(C, X);"
        ));
        self.push(format!("{p}abort(C, X) :- {p}vote(C, _, X, \"N\");"));
        if self.chance(0.7) {
            // Abort on a timeout unless a commit was seen.
            for n in self.nodes.clone() {
                self.push(format!("{p}tk({n:?}, 1)@1;"));
            }
            self.push(format!("{p}tk(N, T + 1)@next :- {p}tk(N, T);"));
            self.push(format!("{p}was(C, X)@next :- {p}commit(C, X);"));
            self.push(format!("{p}was(C, X)@next :- {p}was(C, X);"));
            let k = self.rng.gen_range(2..=4);
            self.push(format!(
                "{p}abort(C, X) :- {p}start(C, X)@1, {p}tk(C, T), T >= {k}, notin {p}was(C, X);"
            ));
        }
        self.push(format!("{p}commit(C, X)@next :- {p}commit(C, X);"));
        self.push(format!("{p}abort(C, X)@next :- {p}abort(C, X), notin {p}commit(C, X);"));
        self.push(format!("{p}dec(C, X, \"c\") :- {p}commit(C, X);"));
        self.push(format!("{p}dec(C, X, \"a\") :- {p}abort(C, X);"));
        self.push(format!("{p}dec(A, X, V)@async :- {p}dec(C, X, V), {p}part(C, A);"));
        self.push(format!("{p}dec(A, X, V)@next :- {p}dec(A, X, V);"));
        self.push(format!("{p}dv(N, V) :- {p}dec(N, _, V);"));
        let vals = vec!["\"c\"".to_string(), "\"a\"".to_string()];
        self.obs.push(Obs {
            rel: format!("{p}dv"),
            int: false,
            vals,
            link: "peer".into(),
            spread: true,
        });
    }

    /// Gossip of values with aggregates in `@async` heads.
    fn gossip(&mut self, p: &str) {
        let nodes = self.nodes.clone();
        for n in &nodes {
            if self.chance(0.85) {
                let x = self.rng.gen_range(1..=5);
                self.push(format!("{p}own({n:?}, {x})@1;"));
            }
        }
        if self.chance(0.7) {
            self.push(format!("{p}own(N, X)@next :- {p}own(N, X);"));
        }
        self.push(format!("{p}in(N, N, X) :- {p}own(N, X);"));
        let guard = match self.rng.gen_range(0..6) {
            0 => Some("notin crash(N, _, 1)".to_string()),
            1 => Some("notin crash(N, N, _)".to_string()),
            _ => None,
        };
        self.rule(
            &format!("{p}in(P, N, X)@async"),
            vec![Some(format!("{p}own(N, X)")), Some("peer(N, P)".to_string()), guard],
        );
        if self.chance(0.8) {
            self.push(format!("{p}in(N, M, X)@next :- {p}in(N, M, X);"));
        }
        let (send, local) = match self.rng.gen_range(0..4) {
            0 => ("min<X>", "min<X>"),
            1 => ("count<M>", "max<X>"),
            _ => ("max<X>", "max<X>"),
        };
        let body =
            if send == "count<M>" { format!("{p}in(N, M, _)") } else { format!("{p}in(N, _, X)") };
        if self.chance(0.4) {
            // Everyone reports to one aggregator.
            let a = self.node();
            self.push(format!("{p}tot({a}, N, {send})@async :- {body}, N != {a};"));
        } else {
            self.push(format!("{p}tot(P, N, {send})@async :- {body}, peer(N, P);"));
        }
        self.push(format!("{p}agg(N, {local}) :- {p}tot(N, _, X);"));
        if self.chance(0.75) {
            self.push(format!("{p}agg(N, X)@next :- {p}agg(N, X), notin {p}in(N, _, _);"));
        } else {
            self.push(format!("{p}agg(N, X)@next :- {p}agg(N, X);"));
        }
        self.push(format!("{p}obs(N, X) :- {p}agg(N, X);"));
        let vals = (1..=5).map(|x| x.to_string()).collect();
        self.obs.push(Obs {
            rel: format!("{p}obs"),
            int: true,
            vals,
            link: "peer".into(),
            spread: true,
        });
    }

    /// Registers overwritten through `notin`.
    fn register(&mut self, p: &str) {
        let unversioned = self.chance(0.4);
        for n in self.nodes.clone() {
            if unversioned {
                self.push(format!("{p}reg({n:?}, \"v0\")@1;"));
            } else {
                self.push(format!("{p}reg({n:?}, \"v0\", 0)@1;"));
            }
        }
        let w = self.node();
        self.push(format!("{p}wr({w}, \"v1\", 1)@1;"));
        if self.chance(0.35) {
            let w2 = self.node();
            let t = self.rng.gen_range(1..=2);
            self.push(format!("{p}wr({w2}, \"v2\", 2)@{t};"));
        }
        self.push(format!("{p}upd(N, V, K) :- {p}wr(N, V, K);"));
        if self.chance(0.5) {
            // Flooding: every receiver passes it on.
            self.push(format!("{p}wr(P, V, K)@async :- {p}wr(N, V, K), peer(N, P);"));
        } else {
            // The writer retries; receivers only apply.
            self.push(format!("{p}src(N, V, K) :- {p}wr(N, V, K)@1;"));
            let until = self.maybe(0.3, "notin crash(N, N, _)");
            self.rule(
                &format!("{p}src(N, V, K)@next"),
                vec![Some(format!("{p}src(N, V, K)")), until],
            );
            self.push(format!("{p}wr(P, V, K)@async :- {p}src(N, V, K), peer(N, P);"));
        }
        if unversioned {
            // Unversioned: the value is kept unless any newer one arrives.
            self.push(format!("{p}reg(N, V)@next :- {p}upd(N, V, _);"));
            self.push(format!("{p}reg(N, V)@next :- {p}reg(N, V), notin {p}upd(N, _, _);"));
            self.push(format!("{p}val(N, V) :- {p}reg(N, V);"));
            let vals = ["\"v0\"", "\"v1\"", "\"v2\""].map(String::from).to_vec();
            self.obs.push(Obs {
                rel: format!("{p}val"),
                int: false,
                vals,
                link: "peer".into(),
                spread: true,
            });
            return;
        }
        let newer = if self.chance(0.5) {
            self.push(format!("{p}newer(N) :- {p}upd(N, _, _);"));
            format!("notin {p}newer(N)")
        } else {
            format!("notin {p}upd(N, _, _)")
        };
        if self.chance(0.4) {
            // Keep the highest version of the updates.
            self.push(format!("{p}stale(N, K) :- {p}upd(N, _, K), {p}upd(N, _, J), J > K;"));
            self.push(format!("{p}reg(N, V, K)@next :- {p}upd(N, V, K), notin {p}stale(N, K);"));
        } else {
            self.push(format!("{p}reg(N, V, K)@next :- {p}upd(N, V, K);"));
        }
        self.push(format!("{p}reg(N, V, K)@next :- {p}reg(N, V, K), {newer};"));
        self.push(format!("{p}val(N, V) :- {p}reg(N, V, _);"));
        let vals = ["\"v0\"", "\"v1\"", "\"v2\""].map(String::from).to_vec();
        self.obs.push(Obs {
            rel: format!("{p}val"),
            int: false,
            vals,
            link: "peer".into(),
            spread: true,
        });
    }

    /// A backup takes over when the primary crashed early (a positive read of `crash`).
    fn failover(&mut self, p: &str) {
        let order = self.shuffled();
        let (pri, bk) = (order[0].clone(), order[1].clone());
        self.push(format!("{p}fv({pri:?}, \"p1\")@1;"));
        self.push(format!("{p}bk({bk:?}, {pri:?})@1;"));
        self.push(format!("{p}bk(N, P)@next :- {p}bk(N, P);"));
        if self.chance(0.7) {
            self.push(format!("{p}fv(N, X)@next :- {p}fv(N, X);"));
        }
        let k = self.rng.gen_range(2..=4);
        let cmp = self.pick(&["<", "<=", "<"]);
        self.push(format!("{p}take(N, \"b1\") :- {p}bk(N, P), crash(N, P, T), T {cmp} {k};"));
        self.push(format!("{p}fv(N, X) :- {p}take(N, X);"));
        let guard = self.maybe(0.4, "notin crash(N, N, _)");
        self.rule(
            &format!("{p}rep(M, X)@async"),
            vec![Some(format!("{p}fv(N, X)")), Some("peer(N, M)".to_string()), guard],
        );
        self.push(format!("{p}rep(N, X)@next :- {p}rep(N, X);"));
        self.push(format!("{p}val(N, X) :- {p}rep(N, X);"));
        if self.chance(0.6) {
            self.push(format!("{p}val(N, X) :- {p}fv(N, X);"));
        }
        let vals = vec!["\"p1\"".to_string(), "\"b1\"".to_string()];
        self.obs.push(Obs {
            rel: format!("{p}val"),
            int: false,
            vals,
            link: "peer".into(),
            spread: true,
        });
    }

    // ─────────────────────────── decorations ───────────────────────────

    /// Negation several strata deep over `o`, with `@T` reads.
    fn strata(&mut self, o: &Obs) -> Obs {
        let depth = self.rng.gen_range(1..=4);
        let mut prev: Option<String> = None;
        let mut last = String::new();
        for _ in 0..depth {
            self.fresh += 1;
            let z = format!("z{}", self.fresh);
            let neg = match &prev {
                None => {
                    let k = self.read_time();
                    let others: Vec<Obs> = self
                        .obs
                        .iter()
                        .filter(|x| x.int == o.int && x.rel != o.rel)
                        .cloned()
                        .collect();
                    match self.rng.gen_range(0..20) {
                        0..=3 if !others.is_empty() => {
                            format!("notin {}(N, X)", self.pick(&others).rel)
                        }
                        4..=6 => format!("{}(N, X)@{k}", o.rel),
                        7 | 8 => "notin crash(N, N, _)".to_string(),
                        _ => format!("notin {}(N, X)@{k}", o.rel),
                    }
                }
                Some(prev) => format!("notin {prev}(N, X)"),
            };
            let extra = if prev.is_some() && self.chance(0.15) {
                let other = self.pick(&self.obs.clone());
                (other.int == o.int && other.rel != o.rel)
                    .then(|| format!("notin {}(N, X)", other.rel))
            } else {
                None
            };
            self.rule(
                &format!("{z}(N, X)"),
                vec![Some(format!("{}(N, X)", o.rel)), Some(neg), extra],
            );
            prev = Some(z.clone());
            last = z;
        }
        let mut link = o.link.clone();
        if self.chance(0.6) {
            self.fresh += 1;
            let z = format!("z{}", self.fresh);
            self.push(format!("{z}(P, X)@async :- {last}(N, X), peer(N, P);"));
            self.push(format!("{z}(N, X)@next :- {z}(N, X);"));
            last = z;
            link = "peer".to_string();
        }
        Obs { rel: last, link, ..o.clone() }
    }

    /// A positive read of a fixed timestep.
    fn read_at(&mut self, o: &Obs) -> Obs {
        self.fresh += 1;
        let w = format!("w{}", self.fresh);
        let k = self.read_time();
        self.push(format!("{w}(N, X) :- {}(N, X)@{k};", o.rel));
        if self.chance(0.5) {
            self.push(format!("{w}(N, X) :- {}(N, X), notin {}(N, X)@{k};", o.rel, o.rel));
        }
        Obs { rel: w, ..o.clone() }
    }

    // ─────────────────────────── invariant ───────────────────────────

    /// A filter on `pre(N, ...)` by crashes.
    fn pre_filter(&mut self) -> Option<String> {
        match self.rng.gen_range(0..12) {
            0..=2 => Some("notin crash(N, N, _)".to_string()),
            3 => Some("notin crash(N, N, 1)".to_string()),
            4 => {
                let c = self.node();
                let k = self.rng.gen_range(2..=3);
                Some(format!("crash(N, {c}, T), T >= {k}"))
            }
            5 => {
                let k = self.rng.gen_range(2..=3);
                Some(format!("notin crash(N, _, {k})"))
            }
            _ => None,
        }
    }

    fn invariant(&mut self) {
        if !self.goals.is_empty() && self.chance(0.25) {
            let (pre, post) = self.pick(&self.goals.clone());
            let f = self.pre_filter().map_or(String::new(), |f| format!(", {f}"));
            self.push(format!("pre(N, X) :- {pre}{f};"));
            self.push(format!("post(N, X) :- {post};"));
            self.families.push("inv:goal");
            return;
        }
        let o = if self.chance(0.7) {
            self.obs.last().expect("an observable").clone()
        } else {
            self.pick(&self.obs.clone())
        };
        let r = o.rel.clone();
        let unary = self.chance(0.15);
        let (head_pre, head_post) =
            if unary { ("pre(N)", "post(N)") } else { ("pre(N, X)", "post(N, X)") };
        let f = self.pre_filter();
        self.rule(head_pre, vec![Some(format!("{r}(N, X)")), f]);
        let mut form = self.rng.gen_range(0..11);
        while !o.spread && (3..=6).contains(&form) {
            form = self.rng.gen_range(0..11);
        }
        match form {
            // Agreement.
            0..=2 => {
                self.families.push("inv:agree");
                let g = self.maybe(0.35, "notin crash(M, M, _), notin crash(N, N, _)");
                self.rule(
                    "gdis(X)",
                    vec![
                        Some(format!("{r}(N, X)")),
                        Some(format!("{r}(M, Y)")),
                        Some("X != Y".to_string()),
                        g,
                    ],
                );
                self.push(format!("{head_post} :- {r}(N, X), notin gdis(X);"));
            }
            // Every live peer has it.
            3..=4 => {
                self.families.push("inv:missing");
                let g = self.maybe(0.7, "notin crash(P, P, _)");
                self.rule(
                    "missing(N, X)",
                    vec![
                        Some(format!("{r}(N, X)")),
                        Some(format!("{}(N, P)", o.link)),
                        Some(format!("notin {r}(P, X)")),
                        g,
                    ],
                );
                self.push(format!("{head_post} :- {r}(N, X), notin missing(_, X);"));
            }
            // Someone else has it (or the holder crashed).
            5..=6 => {
                self.families.push("inv:other");
                self.push(format!("{head_post} :- {r}(N, X), {r}(M, X), N != M;"));
                if self.chance(0.6) {
                    self.push(format!("{head_post} :- {r}(N, X), crash(N, _, _);"));
                }
            }
            // A given node has it.
            7..=8 => {
                self.families.push("inv:node");
                let c = self.node();
                self.push(format!("{head_post} :- {r}(N, X), {r}({c}, X);"));
                if self.chance(0.3) {
                    self.push(format!("{head_post} :- {r}(N, X), crash(_, {c}, _);"));
                }
            }
            // It was there by a given time already.
            9 => {
                self.families.push("inv:by");
                let k = self.rng.gen_range(2..=self.eot);
                self.push(format!("{head_post} :- {r}(N, X), {r}(N, X)@{k};"));
                if self.chance(0.4) {
                    self.push(format!("{head_post} :- {r}(N, X), crash(_, N, T), T <= {k};"));
                }
            }
            // It is a given value.
            _ => {
                self.families.push("inv:value");
                let v = self.pick(&o.vals);
                self.push(format!("{head_post} :- {r}(N, X), X == {v};"));
            }
        }
    }

    /// A new program; its bounds are in [`ShapesGen::bounds`] afterwards.
    pub fn program(&mut self) -> String {
        self.out.clear();
        self.obs.clear();
        self.goals.clear();
        self.families.clear();
        self.fresh = 0;
        let n = self.nodes.len() as u32;
        self.eot = self.rng.gen_range(3..=6);
        let full = self.chance(0.8);
        for a in self.nodes.clone() {
            for b in self.nodes.clone() {
                if a != b && (full || self.chance(0.7)) {
                    self.push(format!("peer({a:?}, {b:?})@1;"));
                }
            }
        }
        self.push("peer(N, P)@next :- peer(N, P);".to_string());
        let count = if self.chance(0.65) { 1 } else { 2 };
        for i in 0..count {
            let p = ["f1_", "f2_"][i];
            let family = loop {
                let f = self.pick(&FAMILIES);
                // One gossip at most: two are too slow for the referee.
                if !(f == "gossip" && self.families.contains(&"gossip")) {
                    break f;
                }
            };
            self.families.push(family);
            match family {
                "relay" => self.relay(p),
                "vote" => self.vote(p),
                "commit" => self.commit(p),
                "gossip" => self.gossip(p),
                "register" => self.register(p),
                _ => self.failover(p),
            }
        }
        if self.chance(0.45) {
            let o = self.pick(&self.obs.clone());
            let z = self.strata(&o);
            self.obs.push(z);
            self.families.push("strata");
        }
        if self.chance(0.2) {
            let o = self.pick(&self.obs.clone());
            let w = self.read_at(&o);
            self.obs.push(w);
            self.families.push("read@T");
        }
        if self.chance(0.05) {
            // A message to a node that is not part of the run.
            self.push("ghost(\"zz\", \"g\")@1;".to_string());
            self.push("ghost2(P, X)@async :- ghost(N, X), peer(P, N);".to_string());
        }
        self.invariant();
        // Bounds: EFF up to EOT, capped so that the lossy channels stay few.
        let eot = self.eot;
        let mut eff = match self.rng.gen_range(0..10) {
            0 | 1 => 0,
            2..=4 => eot,
            _ => self.rng.gen_range(1..=eot),
        };
        let mut crashes = [0, 1, 1, 2, 2][self.rng.gen_range(0..5)].min(n);
        eff = eff.min(match n {
            2 => 6,
            3 => 4,
            _ => 2,
        });
        // Gossip sends on every channel at every step, and two families send more than one:
        // fewer lossy steps keep the exhaustive referee fast.
        let gossip = self.families.contains(&"gossip");
        let two = count == 2;
        match n {
            3 if gossip && two => eff = eff.min((3 - crashes).max(1)),
            3 if gossip => eff = eff.min(4 - crashes),
            3 if two && crashes == 2 => eff = eff.min(3),
            4 if gossip && two => eff = eff.min(1),
            4 if gossip && self.chance(0.8) => eff = eff.min(1),
            4 if gossip => (eff, crashes) = (eff.min(2), crashes.min(1)),
            4 if two && crashes == 2 && self.chance(0.7) => eff = eff.min(1),
            _ => {}
        }
        self.bounds = ShapeBounds { eot, eff, crashes };
        self.out.join("\n")
    }
}
