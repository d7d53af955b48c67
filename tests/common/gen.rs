//! Generators of small random Dedalus programs with a `pre`/`post` invariant, shared by the
//! agreement tests (`tests/agreement.rs`) and the population benchmark (`benches/`).
//! Include with `#[path = "common/gen.rs"] mod gen;` (from `tests/`) or
//! `#[path = "../tests/common/gen.rs"] mod gen;` (from `benches/`).
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Node,
    Sym,
    Int,
}

/// Small random programs with an invariant: a few relations (first column a node),
/// a full-mesh `link`, facts, persistence, `@next`/`@async`/plain rules with stratified
/// negation, and `pre`/`post` defined from them.
pub struct Gen {
    pub rng: ChaCha8Rng,
    pub nodes: Vec<String>,
    rels: Vec<(String, Vec<Ty>)>,
}

impl Gen {
    pub fn new(seed: u64) -> Gen {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = rng.gen_range(2..=3);
        let nodes = ["a", "b", "c"][..n].iter().map(|s| s.to_string()).collect();
        let nrels = rng.gen_range(2..=4);
        let mut rels = Vec::new();
        for i in 0..nrels {
            let arity = rng.gen_range(1..=3);
            let mut tys = vec![Ty::Node];
            for _ in 1..arity {
                tys.push(match rng.gen_range(0..10) {
                    0..=3 => Ty::Node,
                    4..=6 => Ty::Sym,
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
            Ty::Sym => format!("{:?}", ["x", "y"][self.rng.gen_range(0..2)]),
            Ty::Int => self.rng.gen_range(0..3).to_string(),
        }
    }

    /// A negated crash atom for a rule whose location variable is `N`: the node's own
    /// crash, a given node's crash, a crash at a given time, or a given node at a given time.
    fn crash_atom(&mut self) -> String {
        let c = self.constant(Ty::Node);
        let t = self.rng.gen_range(1..=3);
        match self.rng.gen_range(0..5) {
            0 | 1 => "notin crash(N, N, _)".to_string(),
            2 => format!("notin crash(_, {c}, _)"),
            3 => format!("notin crash(N, _, {t})"),
            _ => format!("notin crash(N, {c}, {t})"),
        }
    }

    fn bound_var(&mut self, vars: &[(String, Ty)], ty: Ty) -> Option<String> {
        let c: Vec<&String> = vars.iter().filter(|(_, t)| *t == ty).map(|(v, _)| v).collect();
        if c.is_empty() {
            None
        } else {
            Some(c[self.rng.gen_range(0..c.len())].clone())
        }
    }

    fn pos_atom(&mut self, vars: &mut Vec<(String, Ty)>, first: bool, fresh: &mut usize) -> String {
        let rel = self.rng.gen_range(0..self.rels.len());
        let (name, tys) = self.rels[rel].clone();
        let mut args = Vec::new();
        for (i, &ty) in tys.iter().enumerate() {
            let roll = self.rng.gen_range(0..100);
            let arg = if i == 0 && first {
                vars.push(("N".to_string(), ty));
                "N".to_string()
            } else if roll < 50 && self.bound_var(vars, ty).is_some() {
                self.bound_var(vars, ty).expect("bound")
            } else if roll < 60 {
                self.constant(ty)
            } else if roll < 68 && i > 0 {
                "_".to_string()
            } else {
                *fresh += 1;
                let v = format!(
                    "{}{fresh}",
                    match ty {
                        Ty::Node => "M",
                        Ty::Sym => "S",
                        Ty::Int => "I",
                    }
                );
                vars.push((v.clone(), ty));
                v
            };
            args.push(arg);
        }
        format!("{name}({})", args.join(", "))
    }

    fn neg_atom(&mut self, vars: &[(String, Ty)]) -> String {
        let rel = self.rng.gen_range(0..self.rels.len());
        let (name, tys) = self.rels[rel].clone();
        let mut args = Vec::new();
        for &ty in &tys {
            let roll = self.rng.gen_range(0..100);
            let arg = match self.bound_var(vars, ty) {
                Some(v) if roll < 65 => v,
                _ if roll < 80 => self.constant(ty),
                _ => "_".to_string(),
            };
            args.push(arg);
        }
        format!("notin {name}({})", args.join(", "))
    }

    /// A body over the random relations, with its bound variables.
    fn body(&mut self, max_pos: usize, async_route: bool) -> (Vec<String>, Vec<(String, Ty)>) {
        let mut vars = Vec::new();
        let mut fresh = 0;
        let mut body = Vec::new();
        for i in 0..self.rng.gen_range(1..=max_pos) {
            body.push(self.pos_atom(&mut vars, i == 0, &mut fresh));
        }
        if async_route {
            body.push("link(N, D)".to_string());
            vars.push(("D".to_string(), Ty::Node));
        }
        if self.rng.gen_bool(0.25) {
            let n = self.neg_atom(&vars);
            body.push(n);
        }
        if self.rng.gen_bool(0.15) {
            let (v, ty) = vars[self.rng.gen_range(0..vars.len())].clone();
            let c = self.constant(ty);
            body.push(format!("{v} {} {c}", ["==", "!=", "<", ">="][self.rng.gen_range(0..4)]));
        }
        (body, vars)
    }

    fn head(&mut self, name: &str, tys: &[Ty], vars: &[(String, Ty)], ann: &str) -> String {
        let mut args = Vec::new();
        for (i, &ty) in tys.iter().enumerate() {
            if i == 0
                && ann == "@async"
                && vars.iter().any(|(v, _)| v == "D")
                && self.rng.gen_bool(0.85)
            {
                args.push("D".to_string());
                continue;
            }
            let arg = match self.bound_var(vars, ty) {
                Some(v) if self.rng.gen_bool(0.9) => v,
                _ => self.constant(ty),
            };
            args.push(arg);
        }
        format!("{name}({}){ann}", args.join(", "))
    }

    pub fn program(&mut self) -> String {
        let mut out = Vec::new();
        for a in &self.nodes {
            for b in &self.nodes {
                if a != b {
                    out.push(format!("link({a:?}, {b:?})@1;"));
                }
            }
        }
        out.push("link(N, M)@next :- link(N, M);".to_string());
        for i in 0..self.rng.gen_range(2..=5) {
            let rel = if i == 0 { 0 } else { self.rng.gen_range(0..self.rels.len()) };
            let (name, tys) = self.rels[rel].clone();
            let args: Vec<String> = tys.iter().map(|&t| self.constant(t)).collect();
            let time = if i == 0 || self.rng.gen_bool(0.8) { 1 } else { 2 };
            out.push(format!("{name}({})@{time};", args.join(", ")));
        }
        let mut async_heads = Vec::new();
        for i in 0..self.rng.gen_range(2..=5) {
            let ann = match self.rng.gen_range(0..6) {
                _ if i == 0 => "@async",
                0..=1 => "",
                2 => "@next",
                _ => "@async",
            };
            let (body, vars) = if i == 0 {
                // A rule that surely fires: forward r0's facts to the other nodes.
                let tys = self.rels[0].1.clone();
                let mut vars = vec![("N".to_string(), Ty::Node), ("D".to_string(), Ty::Node)];
                let mut args = vec!["N".to_string()];
                for (j, &ty) in tys.iter().enumerate().skip(1) {
                    vars.push((format!("F{j}"), ty));
                    args.push(format!("F{j}"));
                }
                (vec![format!("r0({})", args.join(", ")), "link(N, D)".to_string()], vars)
            } else {
                self.body(2, ann == "@async")
            };
            let rel = self.rng.gen_range(0..self.rels.len());
            let (name, tys) = self.rels[rel].clone();
            let mut head = self.head(&name, &tys, &vars, ann);
            if ann != "@async"
                && tys.len() >= 2
                && tys[tys.len() - 1] == Ty::Int
                && self.rng.gen_bool(0.3)
            {
                // An aggregate in the last column.
                let (v, _) = vars[self.rng.gen_range(0..vars.len())].clone();
                let agg = match self.bound_var(&vars, Ty::Int) {
                    Some(i) if self.rng.gen_bool(0.5) => {
                        format!("{}<{i}>", ["sum", "min", "max"][self.rng.gen_range(0..3)])
                    }
                    _ => format!("count<{v}>"),
                };
                let cut = head.rfind(", ").expect("arity >= 2");
                head = format!("{}, {agg}){ann}", &head[..cut]);
            }
            out.push(format!("{head} :- {};", body.join(", ")));
            if ann == "@async" {
                async_heads.push(rel);
            }
        }
        for i in 0..self.rels.len() {
            let p = if async_heads.contains(&i) { 0.85 } else { 0.6 };
            if self.rng.gen_bool(p) {
                let (name, tys) = self.rels[i].clone();
                let vars: Vec<String> = (0..tys.len()).map(|j| format!("V{j}")).collect();
                out.push(format!("{name}({0})@next :- {name}({0});", vars.join(", ")));
            }
        }
        // The invariant: pre(N[, X]) and post(N[, X]).
        if self.rng.gen_bool(0.7) {
            // "Whatever N holds in R (a relation messages deliver), node C holds too".
            let rel = if self.rng.gen_bool(0.5) {
                async_heads[0]
            } else {
                async_heads[self.rng.gen_range(0..async_heads.len())]
            };
            let (name, tys) = self.rels[rel].clone();
            let mut vars = vec![("N".to_string(), Ty::Node)];
            let mut args = vec!["N".to_string()];
            for (j, &ty) in tys.iter().enumerate().skip(1) {
                vars.push((format!("X{j}"), ty));
                args.push(format!("X{j}"));
            }
            let mut body = vec![format!("{name}({})", args.join(", "))];
            if self.rng.gen_bool(0.3) {
                let n = self.neg_atom(&vars);
                body.push(n);
            }
            if self.rng.gen_bool(0.4) {
                let c = self.crash_atom();
                body.push(c);
            }
            let head_tys: Vec<Ty> =
                if self.rng.gen_bool(0.5) { vec![Ty::Node] } else { vec![Ty::Node, Ty::Node] };
            let head = self.head("pre", &head_tys, &vars, "");
            out.push(format!("{head} :- {};", body.join(", ")));
            args[0] = self.constant(Ty::Node);
            body.push(format!("{name}({})", args.join(", ")));
            out.push(format!("{} :- {};", head.replacen("pre", "post", 1), body.join(", ")));
            return out.join("\n");
        }
        let tys: Vec<Ty> =
            if self.rng.gen_bool(0.5) { vec![Ty::Node] } else { vec![Ty::Node, Ty::Node] };
        for rel in ["pre", "post"] {
            for _ in 0..self.rng.gen_range(1..=2) {
                let (mut body, vars) = self.body(2, false);
                if rel == "pre" && self.rng.gen_bool(0.4) {
                    let c = self.crash_atom();
                    body.push(c);
                }
                let head = self.head(rel, &tys, &vars, "");
                out.push(format!("{head} :- {};", body.join(", ")));
            }
        }
        out.join("\n")
    }
}

/// Programs shaped like small protocols, the class in which outside testing found wrong
/// certifications: per-node flags `sK(N, V)` moved by `@async` broadcasts over a `peer`
/// mesh, set or cleared by `notin` of other flags, counts over a message relation
/// (`cnt(N, V, count<S>) :- m(N, S, V)` with a threshold), senders guarded by
/// `notin crash(N, N, _)`, and an agreement invariant through
/// `missing(M, V) :- .., notin sK(N, V), notin crash(N, N, _)`. Bounds favour what those
/// bugs needed: 2 crashes, EFF = EOT, 2-4 nodes (crash times, 1 included, are searched).
pub struct ProtocolGen {
    pub rng: ChaCha8Rng,
    pub nodes: Vec<String>,
    flags: usize,
    msgs: usize,
}

/// Bounds drawn for a generated protocol.
pub struct GenBounds {
    pub eot: u32,
    pub eff: u32,
    pub crashes: u32,
}

impl ProtocolGen {
    pub fn new(seed: u64) -> ProtocolGen {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = [2, 2, 3, 3, 3, 4][rng.gen_range(0..6)];
        let nodes = ["a", "b", "c", "d"][..n].iter().map(|s| s.to_string()).collect();
        let flags = rng.gen_range(3..=5);
        ProtocolGen { rng, nodes, flags, msgs: 0 }
    }

    /// Bounds for this program: small enough for the memoized exhaustive search.
    pub fn bounds(&mut self) -> GenBounds {
        let n = self.nodes.len() as u32;
        let eot = if n >= 4 { self.rng.gen_range(3..=4) } else { self.rng.gen_range(3..=5) };
        let eff = match self.rng.gen_range(0..10) {
            0 => 0,
            1..=5 => eot,
            _ => self.rng.gen_range(1..=eot),
        };
        // Four nodes have 12 channels: at most one lossy timestep keeps the exhaustive
        // referee fast (its branching is every subset of the channels used at a step).
        let eff = if n >= 4 { eff.min(2) } else { eff.min(4) };
        let crashes = [0, 1, 2, 2, 2][self.rng.gen_range(0..5)].min(n);
        GenBounds { eot, eff, crashes }
    }

    fn flag(&mut self) -> String {
        format!("s{}", self.rng.gen_range(0..self.flags))
    }

    /// A source relation for a rule body: `init` or a flag.
    fn source(&mut self) -> String {
        if self.rng.gen_bool(0.35) {
            "init".to_string()
        } else {
            self.flag()
        }
    }

    fn maybe(&mut self, p: f64, text: String) -> Option<String> {
        self.rng.gen_bool(p).then_some(text)
    }

    fn rule(head: String, body: Vec<Option<String>>) -> String {
        let body: Vec<String> = body.into_iter().flatten().collect();
        format!("{head} :- {};", body.join(", "))
    }

    /// One to three rules deriving flag `s{i}`.
    fn flag_rules(&mut self, i: usize, out: &mut Vec<String>) {
        let s = format!("s{i}");
        for _ in 0..self.rng.gen_range(1..=3) {
            let src = self.source();
            match self.rng.gen_range(0..10) {
                // A broadcast of the flag's value to the peers.
                0..=2 => {
                    let guard = self.flag();
                    let body = vec![
                        Some(format!("{src}(N, V)")),
                        Some("peer(N, P)".to_string()),
                        self.maybe(0.3, format!("notin {guard}(N, V)")),
                        self.maybe(0.35, "notin crash(N, N, _)".to_string()),
                    ];
                    out.push(Self::rule(format!("{s}(P, V)@async"), body));
                }
                // A local step, possibly set by the absence of another flag.
                3..=5 => {
                    let src2 = self.source();
                    let guard = self.source();
                    let body = vec![
                        Some(format!("{src}(N, V)")),
                        self.maybe(0.25, format!("{src2}(N, V)")),
                        self.maybe(0.45, format!("notin {guard}(N, V)")),
                    ];
                    out.push(Self::rule(format!("{s}(N, V)"), body));
                }
                // Persistence, possibly until another flag is set.
                6..=7 => {
                    let guard = self.flag();
                    let body = vec![
                        Some(format!("{s}(N, V)")),
                        self.maybe(0.4, format!("notin {guard}(N, V)")),
                    ];
                    out.push(Self::rule(format!("{s}(N, V)@next"), body));
                }
                // A count of the peers that sent the value, against a threshold.
                _ => {
                    let m = if self.msgs > 0 && self.rng.gen_bool(0.5) {
                        self.rng.gen_range(0..self.msgs)
                    } else {
                        self.msgs += 1;
                        self.msgs - 1
                    };
                    let guard = self.flag();
                    let body = vec![
                        Some(format!("{src}(N, V)")),
                        Some("peer(N, P)".to_string()),
                        self.maybe(0.2, format!("notin {guard}(N, V)")),
                        self.maybe(0.4, "notin crash(N, N, _)".to_string()),
                    ];
                    out.push(Self::rule(format!("m{m}(P, N, V)@async"), body));
                    let k = self.rng.gen_range(1..=self.nodes.len().max(2) - 1);
                    out.push(format!("cnt_{s}(N, V, count<S>) :- m{m}(N, S, V);"));
                    out.push(format!("{s}(N, V) :- cnt_{s}(N, V, C), C >= {k};"));
                }
            }
        }
    }

    pub fn program(&mut self) -> String {
        let mut out = Vec::new();
        let full = self.rng.gen_bool(0.8);
        for a in &self.nodes {
            for b in &self.nodes {
                if a != b && (full || self.rng.gen_bool(0.6)) {
                    out.push(format!("peer({a:?}, {b:?})@1;"));
                }
            }
        }
        out.push("peer(N, P)@next :- peer(N, P);".to_string());
        let holders = self.rng.gen_range(1..=self.nodes.len());
        let value = ["v1", "v2"][self.rng.gen_range(0..2)];
        let mut init_nodes = self.nodes.clone();
        for _ in 0..self.nodes.len() - holders {
            let i = self.rng.gen_range(0..init_nodes.len());
            init_nodes.remove(i);
        }
        let time = if self.rng.gen_bool(0.8) { 1 } else { 2 };
        for n in init_nodes {
            let v = if self.rng.gen_bool(0.85) { value } else { "v3" };
            out.push(format!("init({n:?}, {v:?})@{time};"));
        }
        if self.rng.gen_bool(0.5) {
            out.push("init(N, V)@next :- init(N, V);".to_string());
        }
        for i in 0..self.flags {
            self.flag_rules(i, &mut out);
        }
        let x = self.flag();
        let with_missing = self.rng.gen_bool(0.75);
        if with_missing {
            let guard = self.rng.gen_bool(0.8).then(|| "notin crash(N, N, _)".to_string());
            out.push(Self::rule(
                "missing(M, V)".to_string(),
                vec![
                    Some(format!("{x}(M, V)")),
                    Some("peer(M, N)".to_string()),
                    Some(format!("notin {x}(N, V)")),
                    guard,
                ],
            ));
        }
        let crash_guard = self.maybe(0.7, "notin crash(N, N, _)".to_string());
        out.push(Self::rule(
            "pre(N, V)".to_string(),
            vec![Some(format!("{x}(N, V)")), crash_guard],
        ));
        if with_missing {
            out.push(format!("post(N, V) :- {x}(N, V), notin missing(_, V);"));
        } else {
            let y = self.flag();
            out.push(format!("post(N, V) :- {y}(N, V);"));
        }
        out.join("\n")
    }
}
