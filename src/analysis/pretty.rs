//! Printing AST rules back as source text (normalised spacing), for messages and reports.

use crate::syntax::ast::*;

pub fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Var(v) => v.clone(),
        ExprKind::Wildcard => "_".into(),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Int(i) => i.to_string(),
        ExprKind::Bin(op, a, b) => format!("{} {} {}", sub(a), op.symbol(), sub(b)),
        ExprKind::Neg(a) => format!("-{}", sub(a)),
    }
}

fn sub(e: &Expr) -> String {
    if e.is_simple() {
        expr(e)
    } else {
        format!("({})", expr(e))
    }
}

fn atom(a: &Atom) -> String {
    let args: Vec<String> = a.args.iter().map(expr).collect();
    let time = match &a.time {
        Some(BodyTime::Int(t, _)) => format!("@{t}"),
        Some(BodyTime::Other(s, _)) => format!("@{s}"),
        None => String::new(),
    };
    format!("{}({}){}", a.rel.name, args.join(", "), time)
}

pub fn rule(r: &Rule) -> String {
    let args: Vec<String> = r
        .head
        .args
        .iter()
        .map(|a| match a {
            HeadArg::Expr(e) => expr(e),
            HeadArg::Agg(g) => format!("{}<{}>", g.kind.name(), g.var.name),
        })
        .collect();
    let ann = match &r.head.time {
        HeadTime::None => String::new(),
        HeadTime::Next(_) => "@next".into(),
        HeadTime::Async(_) => "@async".into(),
        HeadTime::Other(s, _) => format!("@{s}"),
    };
    let body: Vec<String> = r
        .body
        .iter()
        .map(|l| match l {
            Literal::Pos(a) => atom(a),
            Literal::Neg(a) => format!("notin {}", atom(a)),
            Literal::Cond(c) => format!("{} {} {}", expr(&c.lhs), c.op.symbol(), expr(&c.rhs)),
        })
        .collect();
    format!("{}({}){} :- {};", r.head.rel.name, args.join(", "), ann, body.join(", "))
}
