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
