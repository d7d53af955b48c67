//! Node inference (LANGUAGE.md §3): a column is location-typed when it is the first column
//! of its relation or a rule variable links it to a location-typed column. The nodes are the
//! constants written in location-typed columns of facts (and of rule heads).

use super::ir::{Interner, RelId, Sym};
use crate::syntax::ast::{self, Clause, ExprKind, HeadArg, Literal};
use std::collections::HashMap;

/// Union-find over (relation, column) slots.
struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra] = rb;
        }
    }
}

/// Infer the node set, in order of first appearance in the program text.
pub fn infer(
    program: &ast::Program,
    rel_ids: &HashMap<String, RelId>,
    symbols: &mut Interner,
) -> Vec<Sym> {
    // Slot numbering: (rel, col) -> index. Columns are bounded by each relation's arity.
    let mut slot_of: HashMap<(RelId, usize), usize> = HashMap::new();
    let slot = |rel: RelId, col: usize, slots: &mut HashMap<(RelId, usize), usize>| {
        let n = slots.len();
        *slots.entry((rel, col)).or_insert(n)
    };
    let mut links: Vec<(usize, usize)> = Vec::new();
    let mut firsts: Vec<usize> = Vec::new();
    for clause in &program.clauses {
        let Clause::Rule(r) = clause else { continue };
        let mut var_slots: HashMap<&str, Vec<usize>> = HashMap::new();
        let head_rel = rel_ids[&r.head.rel.name];
        for (col, arg) in r.head.args.iter().enumerate() {
            if let HeadArg::Expr(ast::Expr { kind: ExprKind::Var(v), .. }) = arg {
                var_slots.entry(v).or_default().push(slot(head_rel, col, &mut slot_of));
            }
        }
        for lit in &r.body {
            if let Literal::Pos(a) | Literal::Neg(a) = lit {
                let rel = rel_ids[&a.rel.name];
                for (col, arg) in a.args.iter().enumerate() {
                    if let ExprKind::Var(v) = &arg.kind {
                        var_slots.entry(v).or_default().push(slot(rel, col, &mut slot_of));
                    }
                }
            }
        }
        for slots in var_slots.values() {
            for w in slots.windows(2) {
                links.push((w[0], w[1]));
            }
        }
    }
    for &rel in rel_ids.values() {
        firsts.push(slot(rel, 0, &mut slot_of));
    }
    let mut facts_slots = Vec::new();
    for clause in &program.clauses {
        if let Clause::Fact(f) = clause {
            let rel = rel_ids[&f.rel.name];
            for (col, arg) in f.args.iter().enumerate() {
                if let ExprKind::Str(s) = &arg.kind {
                    facts_slots.push((slot(rel, col, &mut slot_of), s.as_str()));
                }
            }
        }
    }
    let mut uf = UnionFind { parent: (0..slot_of.len()).collect() };
    for (a, b) in links {
        uf.union(a, b);
    }
    let mut located = vec![false; slot_of.len()];
    for f in firsts {
        let root = uf.find(f);
        located[root] = true;
    }
    let mut nodes: Vec<Sym> = Vec::new();
    for (s, name) in facts_slots {
        let root = uf.find(s);
        if located[root] {
            let sym = symbols.intern(name);
            if !nodes.contains(&sym) {
                nodes.push(sym);
            }
        }
    }
    nodes
}
