//! The abstract syntax tree of a spec, with byte spans on every node.
//!
//! The AST is what the parser produces and what `analysis` checks and lowers. It is a plain
//! tree of owned data: includes are already resolved (the loader splices the clauses of every
//! file, in order, each file once), so a `Program` is the whole spec.

use serde::Serialize;

/// Index of a loaded source file in the [`crate::syntax::SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FileId(pub u32);

/// A byte range `start..end` inside one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span { file, start: start as u32, end: end as u32 }
    }
    /// The smallest span covering both (must be in the same file).
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// A name with where it was written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole program: the clauses of every loaded file, in load order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Program {
    pub clauses: Vec<Clause>,
}

#[derive(Debug, Clone, Serialize)]
pub enum Clause {
    Fact(Fact),
    Rule(Rule),
}

/// `rel(c1, ..., ck)@T;`. `time` is `None` when the `@T` is missing (an error the checker
/// reports with a hint suggesting `@1`).
#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    pub rel: Ident,
    pub args: Vec<Expr>,
    pub time: Option<(i64, Span)>,
    pub span: Span,
}

/// `head[@next|@async] :- body;`
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub head: Head,
    pub body: Vec<Literal>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum HeadAnn {
    /// No annotation: a deductive rule, evaluated within the timestep.
    None,
    /// `@next`: the head holds at t+1 at the same node.
    Next,
    /// `@async`: the head is a message to the node in its first column, delivered at t+1.
    Async,
}

/// What was written after `@` on a rule head. Anything other than `next`/`async` is kept so
/// that the checker can reject it with a precise span.
#[derive(Debug, Clone, Serialize)]
pub enum HeadTime {
    None,
    Next(Span),
    Async(Span),
    /// `@3`, `@T`, `@foo` on a head: always an error.
    Other(String, Span),
}

#[derive(Debug, Clone, Serialize)]
pub struct Head {
    pub rel: Ident,
    pub args: Vec<HeadArg>,
    pub time: HeadTime,
    pub span: Span,
}

impl Head {
    pub fn ann(&self) -> HeadAnn {
        match self.time {
            HeadTime::Next(_) => HeadAnn::Next,
            HeadTime::Async(_) => HeadAnn::Async,
            _ => HeadAnn::None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub enum HeadArg {
    Expr(Expr),
    Agg(Aggregate),
}

impl HeadArg {
    pub fn span(&self) -> Span {
        match self {
            HeadArg::Expr(e) => e.span,
            HeadArg::Agg(a) => a.span,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AggKind {
    Count,
    Sum,
    Min,
    Max,
}

impl AggKind {
    pub fn name(self) -> &'static str {
        match self {
            AggKind::Count => "count",
            AggKind::Sum => "sum",
            AggKind::Min => "min",
            AggKind::Max => "max",
        }
    }
}

/// `count<V>`, `sum<V>`, `min<V>`, `max<V>` in a head.
#[derive(Debug, Clone, Serialize)]
pub struct Aggregate {
    pub kind: AggKind,
    pub var: Ident,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub enum Literal {
    /// A positive body atom.
    Pos(Atom),
    /// `notin rel(args)`.
    Neg(Atom),
    /// `Expr op Expr`.
    Cond(Condition),
}

/// A body atom `rel(args)` with an optional `@T` (T a positive integer constant).
#[derive(Debug, Clone, Serialize)]
pub struct Atom {
    pub rel: Ident,
    pub args: Vec<Expr>,
    pub time: Option<BodyTime>,
    pub span: Span,
}

/// What follows `@` on a body atom. Only integer constants are meaningful; the others are
/// kept so that the checker can reject them precisely.
#[derive(Debug, Clone, Serialize)]
pub enum BodyTime {
    Int(i64, Span),
    /// `@next`, `@async`, `@T`: errors in a body.
    Other(String, Span),
}

#[derive(Debug, Clone, Serialize)]
pub struct Condition {
    pub lhs: Expr,
    pub op: CmpOp,
    pub rhs: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Gt => ">",
            CmpOp::Le => "<=",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub enum ExprKind {
    /// A variable (any identifier in argument position other than `_`).
    Var(String),
    /// `_`: a fresh anonymous variable at each occurrence.
    Wildcard,
    /// A string literal, escapes already decoded.
    Str(String),
    /// An integer literal (a leading `-` on a literal folds into it).
    Int(i64),
    /// `a op b`.
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// `-e` on a non-literal.
    Neg(Box<Expr>),
}

impl Expr {
    /// The variables of the expression, in order of appearance (wildcards excluded).
    pub fn vars<'a>(&'a self, out: &mut Vec<(&'a str, Span)>) {
        match &self.kind {
            ExprKind::Var(v) => out.push((v, self.span)),
            ExprKind::Bin(_, a, b) => {
                a.vars(out);
                b.vars(out);
            }
            ExprKind::Neg(a) => a.vars(out),
            ExprKind::Wildcard | ExprKind::Str(_) | ExprKind::Int(_) => {}
        }
    }
    /// True when the expression is a plain variable, wildcard or constant (no arithmetic).
    pub fn is_simple(&self) -> bool {
        !matches!(self.kind, ExprKind::Bin(..) | ExprKind::Neg(_))
    }
}
