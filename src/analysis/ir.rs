//! The evaluation IR: a checked program with relations as dense ids, values interned and
//! rules compiled to join plans. This is all the evaluator sees.

use crate::syntax::ast::{AggKind, BinOp, CmpOp, HeadAnn, Span};
use rustc_hash::FxHashMap;
use std::cmp::Ordering;
use std::fmt;

pub type RelId = u32;
pub type RuleId = u32;
pub type VarId = u32;
pub type Sym = u32;

/// A value: an interned string symbol or a 64-bit integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    Int(i64),
    Sym(Sym),
}

/// String interner: symbols are dense u32 ids in order of first appearance.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    names: Vec<String>,
    ids: FxHashMap<String, Sym>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as Sym;
        self.names.push(s.to_string());
        self.ids.insert(s.to_string(), id);
        id
    }
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }
    pub fn name(&self, id: Sym) -> &str {
        &self.names[id as usize]
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    /// Compare two values for `<`-style conditions: strings lexicographically, ints
    /// numerically; `None` when a string is ordered against an integer.
    pub fn compare(&self, a: Value, b: Value) -> Option<Ordering> {
        match (a, b) {
            (Value::Int(x), Value::Int(y)) => Some(x.cmp(&y)),
            (Value::Sym(x), Value::Sym(y)) => Some(self.name(x).cmp(self.name(y))),
            _ => None,
        }
    }
    /// Display a value as it would be written in a spec (`"s"`, `3`).
    pub fn show(&self, v: Value) -> ValueDisplay<'_> {
        ValueDisplay { interner: self, value: v }
    }
    /// `rel("a", 3)`
    pub fn show_tuple(&self, rel: &str, vals: &[Value]) -> String {
        let args: Vec<String> = vals.iter().map(|v| self.show(*v).to_string()).collect();
        format!("{}({})", rel, args.join(", "))
    }
}

pub struct ValueDisplay<'a> {
    interner: &'a Interner,
    value: Value,
}

impl fmt::Display for ValueDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Value::Int(i) => write!(f, "{i}"),
            Value::Sym(s) => write!(f, "{:?}", self.interner.name(s)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RelInfo {
    pub name: String,
    pub arity: usize,
    /// Stratum of the relation among same-time rules (0 for relations no same-time rule
    /// defines).
    pub stratum: usize,
    /// Where the relation is first mentioned.
    pub span: Span,
}

/// A fact `rel(vals)@time`.
#[derive(Debug, Clone)]
pub struct IrFact {
    pub rel: RelId,
    pub vals: Vec<Value>,
    pub time: u32,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum IrExpr {
    Var(VarId),
    Const(Value),
    Bin(BinOp, Box<IrExpr>, Box<IrExpr>),
    Neg(Box<IrExpr>),
}

#[derive(Debug, Clone)]
pub enum HeadTerm {
    Expr(IrExpr),
    Agg(AggKind, VarId),
}

/// How one argument of a body atom is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgPat {
    /// First occurrence of a variable: binds it.
    Bind(VarId),
    /// A variable bound earlier (or earlier in the same atom): must be equal.
    Check(VarId),
    Const(Value),
    /// `_`: anything.
    Wild,
}

/// Which timestep a body atom reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeRef {
    Now,
    /// `@T`: the final state of T when T < t, the current state when T = t, nothing after.
    At(u32),
}

/// One step of a join plan.
#[derive(Debug, Clone)]
pub enum Step {
    /// Match a positive atom. `key` lists the columns known before the step (constants and
    /// bound variables): the evaluator looks them up in the index over exactly those
    /// columns. `lit` is the atom's position among the rule's positive atoms.
    Scan { rel: RelId, time: TimeRef, args: Vec<ArgPat>, key: Vec<u8>, lit: usize },
    /// `notin rel(args)`: every argument is a constant, a bound variable or a wildcard.
    Absent { rel: RelId, time: TimeRef, args: Vec<ArgPat>, key: Vec<u8>, lit: usize },
    /// A condition over bound variables.
    Filter { lhs: IrExpr, op: CmpOp, rhs: IrExpr },
}

/// A join plan: the steps in order. `delta` is the positive literal (index among positive
/// atoms) that reads only the newest tuples in a semi-naive variant.
#[derive(Debug, Clone)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub delta: Option<usize>,
    /// Per join level (`0..=steps.len()`, the last one being the head): when some
    /// binding reaching that level can repeat in what the rest of the join reads, the
    /// variables it reads (sorted). A run that records no lineage evaluates the rest of the
    /// join once per distinct value of them: the same values give the same heads. Empty
    /// when no level needs it.
    pub memo: Vec<Option<Box<[VarId]>>>,
}

#[derive(Debug, Clone)]
pub struct IrRule {
    pub id: RuleId,
    pub head_rel: RelId,
    pub head: Vec<HeadTerm>,
    pub ann: HeadAnn,
    /// Number of variables (VarIds are 0..nvars).
    pub nvars: usize,
    pub var_names: Vec<String>,
    /// Positive atoms in source order: (rel, time).
    pub positives: Vec<(RelId, TimeRef)>,
    /// Negated atoms in source order: (rel, time).
    pub negatives: Vec<(RelId, TimeRef)>,
    /// The plan used when every atom reads the full state.
    pub full: Plan,
    /// Semi-naive variants, one per positive atom that reads a relation of the rule's own
    /// stratum at the current time.
    pub deltas: Vec<Plan>,
    /// The variable (or constant) giving the rule's location: first argument of its first
    /// positive atom.
    pub location: ArgPat,
    /// Index of the aggregate among head terms, if any.
    pub agg: Option<usize>,
    /// Variables that form an aggregate binding (named variables of the body).
    pub binding_vars: Vec<VarId>,
    pub stratum: usize,
    pub span: Span,
    /// The rule's source text, for messages and reports.
    pub text: String,
}

impl IrExpr {
    /// The variables the expression reads, appended to `out`.
    pub fn vars(&self, out: &mut Vec<VarId>) {
        match self {
            IrExpr::Var(v) => out.push(*v),
            IrExpr::Const(_) => {}
            IrExpr::Bin(_, a, b) => {
                a.vars(out);
                b.vars(out);
            }
            IrExpr::Neg(a) => a.vars(out),
        }
    }

    /// The value under a partial binding of the rule's variables; `None` when a variable is
    /// unbound or the arithmetic fails (the evaluator reports those). Shared by the search's
    /// encoding and the why-not explanations.
    pub fn eval_partial(&self, binding: &[Option<Value>]) -> Option<Value> {
        match self {
            IrExpr::Var(v) => binding[*v as usize],
            IrExpr::Const(c) => Some(*c),
            IrExpr::Neg(a) => match a.eval_partial(binding)? {
                Value::Int(x) => x.checked_neg().map(Value::Int),
                Value::Sym(_) => None,
            },
            IrExpr::Bin(op, a, b) => {
                let (Value::Int(x), Value::Int(y)) =
                    (a.eval_partial(binding)?, b.eval_partial(binding)?)
                else {
                    return None;
                };
                match op {
                    BinOp::Add => x.checked_add(y),
                    BinOp::Sub => x.checked_sub(y),
                    BinOp::Mul => x.checked_mul(y),
                    BinOp::Div => x.checked_div(y),
                    BinOp::Mod => x.checked_rem(y),
                }
                .map(Value::Int)
            }
        }
    }
}

impl IrRule {
    /// Bind the head's variables to the values a pattern fixes (`None` matches anything);
    /// `None` when a constant in the head, or a variable bound twice, contradicts the
    /// pattern (the rule cannot produce such a tuple). Shared by the search's encoding and
    /// the why-not explanations.
    pub fn bind_head(&self, pattern: &[Option<Value>]) -> Option<Vec<Option<Value>>> {
        let mut binding = vec![None; self.nvars];
        for (term, want) in self.head.iter().zip(pattern) {
            let Some(want) = want else { continue };
            match term {
                HeadTerm::Expr(IrExpr::Var(v)) => match binding[*v as usize] {
                    Some(old) if old != *want => return None,
                    _ => binding[*v as usize] = Some(*want),
                },
                HeadTerm::Expr(IrExpr::Const(c)) if c != want => return None,
                _ => {}
            }
        }
        Some(binding)
    }
}

/// The lowered, checked program.
#[derive(Debug, Clone, Default)]
pub struct Program {
    pub rels: Vec<RelInfo>,
    pub rel_ids: FxHashMap<String, RelId>,
    pub symbols: Interner,
    /// Facts sorted by time (stable).
    pub facts: Vec<IrFact>,
    pub rules: Vec<IrRule>,
    /// Same-time rules grouped by stratum, in ascending stratum order.
    pub strata: Vec<Vec<RuleId>>,
    /// `@next` rules.
    pub next_rules: Vec<RuleId>,
    /// `@async` rules.
    pub async_rules: Vec<RuleId>,
    /// Index column sets each relation needs (for Scan/Absent steps).
    pub indexes: Vec<Vec<Vec<u8>>>,
    pub crash_rel: Option<RelId>,
    pub pre_rel: Option<RelId>,
    pub post_rel: Option<RelId>,
    /// Nodes inferred from location-typed constants (LANGUAGE.md §3), in first-seen order.
    pub inferred_nodes: Vec<Sym>,
    /// Same-time strongly connected component of each relation (smallest member id).
    pub same_time_scc: Vec<u32>,
    /// The rules deriving each relation.
    pub rules_by_head: Vec<Vec<RuleId>>,
}

impl Program {
    pub fn rel(&self, name: &str) -> Option<RelId> {
        self.rel_ids.get(name).copied()
    }
    pub fn rel_name(&self, id: RelId) -> &str {
        &self.rels[id as usize].name
    }
    pub fn show_tuple(&self, rel: RelId, vals: &[Value]) -> String {
        self.symbols.show_tuple(self.rel_name(rel), vals)
    }
}
