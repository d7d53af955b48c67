//! Lowering of a checked AST to the evaluation IR: dense relation ids, interned values,
//! numbered variables and join plans (with the index columns each step looks up).

use super::ir::*;
use crate::syntax::ast::{self, ExprKind, HeadAnn, HeadArg, Literal};
use std::collections::HashMap;

/// Numbering of a rule's variables, in order of first appearance in positive atoms.
struct Vars {
    ids: HashMap<String, VarId>,
    names: Vec<String>,
}

impl Vars {
    fn new(rule: &ast::Rule) -> Vars {
        let mut vars = Vars { ids: HashMap::new(), names: Vec::new() };
        for lit in &rule.body {
            if let Literal::Pos(a) = lit {
                for arg in &a.args {
                    if let ExprKind::Var(v) = &arg.kind {
                        vars.id(v);
                    }
                }
            }
        }
        vars
    }
    fn id(&mut self, name: &str) -> VarId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as VarId;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }
}

pub fn constant(symbols: &mut Interner, e: &ast::Expr) -> Option<Value> {
    match &e.kind {
        ExprKind::Str(s) => Some(Value::Sym(symbols.intern(s))),
        ExprKind::Int(i) => Some(Value::Int(*i)),
        ExprKind::Neg(inner) => match inner.kind {
            ExprKind::Int(i) => i.checked_neg().map(Value::Int),
            _ => None,
        },
        _ => None,
    }
}

fn expr(symbols: &mut Interner, vars: &mut Vars, e: &ast::Expr) -> IrExpr {
    match &e.kind {
        ExprKind::Var(v) => IrExpr::Var(vars.id(v)),
        ExprKind::Str(_) | ExprKind::Int(_) => {
            IrExpr::Const(constant(symbols, e).unwrap_or(Value::Int(0)))
        }
        ExprKind::Bin(op, a, b) => {
            IrExpr::Bin(*op, Box::new(expr(symbols, vars, a)), Box::new(expr(symbols, vars, b)))
        }
        ExprKind::Neg(a) => IrExpr::Neg(Box::new(expr(symbols, vars, a))),
        // Rejected by the checker; unreachable in a checked program.
        ExprKind::Wildcard => IrExpr::Const(Value::Int(0)),
    }
}

/// A body literal before planning.
enum Lit {
    Atom { neg: bool, rel: RelId, time: TimeRef, args: Vec<Option<AtomArg>>, pos_index: usize },
    Cond { lhs: IrExpr, op: ast::CmpOp, rhs: IrExpr },
}

/// An atom argument: a variable or a constant (`None` in the vector is a wildcard).
#[derive(Clone, Copy)]
enum AtomArg {
    Var(VarId),
    Const(Value),
}

impl Lit {
    fn vars(&self) -> Vec<VarId> {
        let mut out = Vec::new();
        match self {
            Lit::Atom { args, .. } => {
                for a in args.iter().flatten() {
                    if let AtomArg::Var(v) = a {
                        out.push(*v);
                    }
                }
            }
            Lit::Cond { lhs, rhs, .. } => {
                lhs.vars(&mut out);
                rhs.vars(&mut out);
            }
        }
        out
    }
}

/// Patterns and key columns of an atom given the variables bound before it.
fn patterns(args: &[Option<AtomArg>], bound: &mut [bool], binds: bool) -> (Vec<ArgPat>, Vec<u8>) {
    let mut pats = Vec::with_capacity(args.len());
    let mut key = Vec::new();
    let before: Vec<bool> = bound.to_vec();
    for (col, arg) in args.iter().enumerate() {
        let pat = match arg {
            None => ArgPat::Wild,
            Some(AtomArg::Const(c)) => {
                key.push(col as u8);
                ArgPat::Const(*c)
            }
            Some(AtomArg::Var(v)) if before[*v as usize] => {
                key.push(col as u8);
                ArgPat::Check(*v)
            }
            Some(AtomArg::Var(v)) if bound[*v as usize] => ArgPat::Check(*v),
            Some(AtomArg::Var(v)) => {
                if binds {
                    bound[*v as usize] = true;
                }
                ArgPat::Bind(*v)
            }
        };
        pats.push(pat);
    }
    (pats, key)
}

/// Build a plan: `first` (if any) is scanned first; then greedily the positive atom with the
/// most known columns (ties in source order); negations and conditions as soon as their
/// variables are bound.
fn plan(lits: &[Lit], nvars: usize, first: Option<usize>, delta: Option<usize>) -> Plan {
    let mut bound = vec![false; nvars];
    let mut done = vec![false; lits.len()];
    let mut steps = Vec::new();
    let mut next = first;
    loop {
        // Emit every ready negation/condition.
        for (i, lit) in lits.iter().enumerate() {
            let ready = !done[i]
                && match lit {
                    Lit::Atom { neg, .. } => *neg,
                    Lit::Cond { .. } => true,
                }
                && lit.vars().iter().all(|v| bound[*v as usize]);
            if ready {
                done[i] = true;
                steps.push(match lit {
                    Lit::Atom { rel, time, args, pos_index, .. } => {
                        let (args, key) = patterns(args, &mut bound, false);
                        Step::Absent { rel: *rel, time: *time, args, key, lit: *pos_index }
                    }
                    Lit::Cond { lhs, op, rhs } => {
                        Step::Filter { lhs: lhs.clone(), op: *op, rhs: rhs.clone() }
                    }
                });
            }
        }
        let pick = next.take().or_else(|| {
            let mut best: Option<(usize, usize)> = None;
            for (i, lit) in lits.iter().enumerate() {
                if let Lit::Atom { neg: false, args, .. } = lit {
                    if done[i] {
                        continue;
                    }
                    let known = args
                        .iter()
                        .filter(|a| match a {
                            Some(AtomArg::Const(_)) => true,
                            Some(AtomArg::Var(v)) => bound[*v as usize],
                            None => false,
                        })
                        .count();
                    if best.is_none_or(|(_, k)| known > k) {
                        best = Some((i, known));
                    }
                }
            }
            best.map(|(i, _)| i)
        });
        let Some(i) = pick else { break };
        done[i] = true;
        if let Lit::Atom { rel, time, args, pos_index, .. } = &lits[i] {
            let (args, key) = patterns(args, &mut bound, true);
            steps.push(Step::Scan { rel: *rel, time: *time, args, key, lit: *pos_index });
        }
    }
    Plan { steps, delta, memo: Vec::new() }
}

/// The join levels worth memoizing in a run without lineage ([`Plan::memo`]): level `i`
/// (before step `i`; `steps.len()` is the head) when a variable bound before it is read by
/// nothing from it on (a dead variable: bindings differing only in it repeat the rest), or
/// when step `i - 1` scans an atom with a wildcard (distinct tuples can give one binding).
/// Deeper levels without a new cause need no memo: their repeats come from a memoized one.
fn memo_levels(steps: &[Step], head_reads: &[VarId], nvars: usize) -> Vec<Option<Box<[VarId]>>> {
    let n = steps.len();
    // live[i]: read by a step >= i or by the head.
    let mut live = vec![vec![false; nvars]; n + 1];
    for &v in head_reads {
        live[n][v as usize] = true;
    }
    for i in (0..n).rev() {
        let mut l = live[i + 1].clone();
        let mut reads: Vec<VarId> = Vec::new();
        match &steps[i] {
            Step::Scan { args, .. } => {
                for a in args {
                    match *a {
                        ArgPat::Check(v) => reads.push(v),
                        ArgPat::Bind(v) => l[v as usize] = false,
                        _ => {}
                    }
                }
            }
            Step::Absent { args, .. } => {
                for a in args {
                    if let ArgPat::Check(v) | ArgPat::Bind(v) = *a {
                        reads.push(v);
                    }
                }
            }
            Step::Filter { lhs, rhs, .. } => {
                lhs.vars(&mut reads);
                rhs.vars(&mut reads);
            }
        }
        for v in reads {
            l[v as usize] = true;
        }
        live[i] = l;
    }
    let mut bound = vec![false; nvars];
    let mut dead = 0usize;
    let mut memo = Vec::with_capacity(n + 1);
    for i in 0..=n {
        if i > 0 {
            if let Step::Scan { args, .. } = &steps[i - 1] {
                for a in args {
                    if let ArgPat::Bind(v) = *a {
                        bound[v as usize] = true;
                    }
                }
            }
        }
        let now_dead = (0..nvars).filter(|&v| bound[v] && !live[i][v]).count();
        let wild = i > 0
            && matches!(&steps[i - 1], Step::Scan { args, .. } if args.contains(&ArgPat::Wild));
        memo.push((now_dead > dead || wild).then(|| {
            (0..nvars as VarId).filter(|&v| bound[v as usize] && live[i][v as usize]).collect()
        }));
        dead = now_dead;
    }
    // No level to memoize: an empty plan memo, so the evaluator allocates nothing for it.
    if memo.iter().all(Option::is_none) {
        memo.clear();
    }
    memo
}

/// Lower one checked rule.
pub fn rule(
    r: &ast::Rule,
    id: RuleId,
    rel_ids: &HashMap<String, RelId>,
    symbols: &mut Interner,
    rel_stratum: &[usize],
    text: String,
) -> IrRule {
    let mut vars = Vars::new(r);
    let mut lits = Vec::new();
    let mut positives = Vec::new();
    let mut negatives = Vec::new();
    for lit in &r.body {
        match lit {
            Literal::Pos(a) | Literal::Neg(a) => {
                let neg = matches!(lit, Literal::Neg(_));
                let time = match a.time {
                    Some(ast::BodyTime::Int(t, _)) => TimeRef::At(t as u32),
                    _ => TimeRef::Now,
                };
                let rel = rel_ids[&a.rel.name];
                let args = a
                    .args
                    .iter()
                    .map(|e| match &e.kind {
                        ExprKind::Var(v) => Some(AtomArg::Var(vars.id(v))),
                        ExprKind::Wildcard => None,
                        _ => Some(AtomArg::Const(constant(symbols, e).unwrap_or(Value::Int(0)))),
                    })
                    .collect();
                let pos_index = if neg { negatives.len() } else { positives.len() };
                if neg {
                    negatives.push((rel, time));
                } else {
                    positives.push((rel, time));
                }
                lits.push(Lit::Atom { neg, rel, time, args, pos_index });
            }
            Literal::Cond(c) => {
                let lhs = expr(symbols, &mut vars, &c.lhs);
                let rhs = expr(symbols, &mut vars, &c.rhs);
                lits.push(Lit::Cond { lhs, op: c.op, rhs });
            }
        }
    }
    let mut head = Vec::new();
    let mut agg = None;
    for (i, arg) in r.head.args.iter().enumerate() {
        match arg {
            HeadArg::Expr(e) => head.push(HeadTerm::Expr(expr(symbols, &mut vars, e))),
            HeadArg::Agg(g) => {
                agg = Some(i);
                head.push(HeadTerm::Agg(g.kind, vars.id(&g.var.name)));
            }
        }
    }
    let nvars = vars.names.len();
    let location = lits
        .iter()
        .find_map(|l| match l {
            Lit::Atom { neg: false, args, .. } => Some(match args.first() {
                Some(Some(AtomArg::Var(v))) => ArgPat::Bind(*v),
                Some(Some(AtomArg::Const(c))) => ArgPat::Const(*c),
                _ => ArgPat::Wild,
            }),
            _ => None,
        })
        .unwrap_or(ArgPat::Wild);
    // Named variables of positive atoms form an aggregate binding.
    let mut binding_vars: Vec<VarId> = Vec::new();
    for lit in &lits {
        if let Lit::Atom { neg: false, .. } = lit {
            for v in lit.vars() {
                if !binding_vars.contains(&v) {
                    binding_vars.push(v);
                }
            }
        }
    }
    // What the head reads: its expressions, the location (a message's sender) and, for an
    // aggregate, the aggregated variable and the binding it counts.
    let mut head_reads: Vec<VarId> = Vec::new();
    for term in &head {
        match term {
            HeadTerm::Expr(e) => e.vars(&mut head_reads),
            HeadTerm::Agg(_, v) => head_reads.push(*v),
        }
    }
    if let ArgPat::Bind(v) = location {
        head_reads.push(v);
    }
    if agg.is_some() {
        head_reads.extend_from_slice(&binding_vars);
    }
    let mut full = plan(&lits, nvars, None, None);
    full.memo = memo_levels(&full.steps, &head_reads, nvars);
    let head_rel = rel_ids[&r.head.rel.name];
    let ann = r.head.ann();
    let stratum = rel_stratum[head_rel as usize];
    // Semi-naive variants: one per positive atom that reads a relation of the rule's own
    // stratum (a same-time recursive rule). Aggregates and annotated heads need none.
    let mut deltas = Vec::new();
    if ann == HeadAnn::None && agg.is_none() {
        for (i, lit) in lits.iter().enumerate() {
            if let Lit::Atom { neg: false, rel, pos_index, .. } = lit {
                if rel_stratum[*rel as usize] == stratum {
                    let mut p = plan(&lits, nvars, Some(i), Some(*pos_index));
                    p.memo = memo_levels(&p.steps, &head_reads, nvars);
                    deltas.push(p);
                }
            }
        }
    }
    IrRule {
        id,
        head_rel,
        head,
        ann,
        nvars,
        var_names: vars.names,
        positives,
        negatives,
        full,
        deltas,
        location,
        agg,
        binding_vars,
        stratum,
        span: r.span,
        text,
    }
}
