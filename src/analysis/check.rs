//! Static checks of LANGUAGE.md §2 over the AST: arity, fact shape, head annotations,
//! reserved relations, positive body atom, safety, unknown relations, and the warnings a
//! Datalog user expects (did-you-mean, unused relations, singleton variables, a string
//! ordered against an integer).

use crate::diag::Diagnostic;
use crate::syntax::ast::*;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Relations that ldfi provides and that specs may only read.
pub const RESERVED: [&str; 2] = ["crash", "clock"];

/// Name → (arity, first mention) for every relation of the program.
pub type RelTable = BTreeMap<String, (usize, Span)>;

/// Every atom of the program, with its relation name, arity and span.
fn atoms(program: &Program) -> Vec<(&Ident, usize, Span)> {
    let mut out = Vec::new();
    for clause in &program.clauses {
        match clause {
            Clause::Fact(f) => out.push((&f.rel, f.args.len(), f.span)),
            Clause::Rule(r) => {
                out.push((&r.head.rel, r.head.args.len(), r.head.span));
                for lit in &r.body {
                    if let Literal::Pos(a) | Literal::Neg(a) = lit {
                        out.push((&a.rel, a.args.len(), a.span));
                    }
                }
            }
        }
    }
    out
}

/// Build the relation table and report arity mismatches (one error per mismatching use).
pub fn arities(program: &Program, diags: &mut Vec<Diagnostic>) -> RelTable {
    let mut table: RelTable = BTreeMap::new();
    table.insert("crash".to_string(), (3, Span::new(FileId(0), 0, 0)));
    let mut first_use: HashMap<&str, Span> = HashMap::new();
    for (rel, arity, span) in atoms(program) {
        match table.get(&rel.name) {
            None => {
                table.insert(rel.name.clone(), (arity, span));
                first_use.insert(&rel.name, span);
            }
            Some(&(expected, _)) if expected != arity => {
                let mut d = Diagnostic::error(
                    "arity",
                    format!(
                        "relation `{}` is used with {} argument{} here but {} elsewhere",
                        rel.name,
                        arity,
                        plural(arity),
                        expected
                    ),
                )
                .at(span, format!("{arity} argument{}", plural(arity)));
                if let Some(&first) = first_use.get(rel.name.as_str()) {
                    d = d.also(first, format!("first used with {expected} here"));
                } else {
                    d = d.note(
                        "`crash(Node, CrashedNode, Time)` is provided by ldfi and has 3 columns",
                    );
                }
                diags.push(d.hint(
                    "a relation has one arity everywhere: rename one of them or fix the arguments",
                ));
            }
            Some(_) => {}
        }
    }
    if let (Some(pre), Some(post)) = (table.get("pre"), table.get("post")) {
        if pre.0 != post.0 {
            diags.push(
                Diagnostic::error(
                    "invariant-arity",
                    format!("`pre` has {} columns but `post` has {}", pre.0, post.0),
                )
                .at(post.1, format!("`post` with {} columns", post.0))
                .also(pre.1, format!("`pre` with {} columns", pre.0))
                .hint("the invariant compares pre and post tuples column by column: give them the same columns"),
            );
        }
    }
    table
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Checks on facts: time present and positive, constant arguments, not reserved.
pub fn facts(program: &Program, diags: &mut Vec<Diagnostic>) {
    for clause in &program.clauses {
        let Clause::Fact(f) = clause else { continue };
        reserved_head(&f.rel, "a fact", diags);
        match f.time {
            None => diags.push(
                Diagnostic::error("fact-time", format!("the fact `{}` has no timestep", f.rel.name))
                    .at(f.span, "missing `@T`")
                    .hint("a fact holds at one timestep: write it as `...@1;` to make it hold at the start"),
            ),
            Some((t, span)) if t < 1 || t > u32::MAX as i64 => diags.push(
                Diagnostic::error("fact-time", format!("timestep {t} is not a positive 32-bit integer"))
                    .at(span, "here")
                    .hint("timesteps start at 1"),
            ),
            Some(_) => {}
        }
        for arg in &f.args {
            if !matches!(arg.kind, ExprKind::Str(_) | ExprKind::Int(_)) {
                diags.push(
                    Diagnostic::error("fact-constant", "a fact's arguments must be constants")
                        .at(arg.span, "not a constant")
                        .hint("quote strings (\"a\") and write integers literally; variables are only meaningful in rules"),
                );
            }
        }
    }
}

fn reserved_head(rel: &Ident, what: &str, diags: &mut Vec<Diagnostic>) {
    if RESERVED.contains(&rel.name.as_str()) {
        diags.push(
            Diagnostic::error(
                "reserved",
                format!("`{}` is a relation ldfi provides; {what} cannot define it", rel.name),
            )
            .at(rel.span, "reserved relation")
            .hint(if rel.name == "crash" {
                "crash tuples come from the fault scenario (--crash n@t); rename your relation"
            } else {
                "rename your relation"
            }),
        );
    }
}

/// Checks on one rule: annotations, reserved heads, positive atom, body shapes, safety,
/// aggregates.
pub fn rule(r: &Rule, diags: &mut Vec<Diagnostic>) {
    reserved_head(&r.head.rel, "a rule", diags);
    if let HeadTime::Other(text, span) = &r.head.time {
        diags.push(
            Diagnostic::error("head-annotation", format!("a rule head cannot carry `@{text}`"))
                .at(*span, "not allowed on a head")
                .hint("use `@next` (holds at t+1 at the same node) or `@async` (a message), or no annotation"),
        );
    }
    let positives: Vec<&Atom> = r
        .body
        .iter()
        .filter_map(|l| if let Literal::Pos(a) = l { Some(a) } else { None })
        .collect();
    if positives.is_empty() {
        diags.push(
            Diagnostic::error("no-positive-atom", "a rule needs at least one positive body atom")
                .at(r.span, "only negations and conditions here")
                .hint("add an atom that binds the variables, e.g. `node(N)`"),
        );
    }
    for lit in &r.body {
        if let Literal::Pos(a) | Literal::Neg(a) = lit {
            body_atom_shape(a, diags);
        }
    }
    if let (HeadAnn::Async, Some(first)) = (r.head.ann(), positives.first()) {
        if let Some(arg) = first.args.first() {
            if !matches!(arg.kind, ExprKind::Var(_) | ExprKind::Str(_)) {
                diags.push(
                    Diagnostic::error("async-location", "an `@async` rule needs a sender: the first argument of its first positive atom")
                        .at(arg.span, "the sender's location")
                        .hint("name the node that sends, e.g. `msg(P, M)@async :- send(N, M), peer(N, P);`"),
                );
            }
        }
    }
    let bound: HashSet<&str> = positives
        .iter()
        .flat_map(|a| a.args.iter())
        .filter_map(|e| if let ExprKind::Var(v) = &e.kind { Some(v.as_str()) } else { None })
        .collect();
    // Without a positive atom every variable is unbound: one error says it all.
    if !positives.is_empty() {
        safety(r, &bound, diags);
    }
    aggregates(r, diags);
}

fn body_atom_shape(a: &Atom, diags: &mut Vec<Diagnostic>) {
    if let Some(BodyTime::Other(text, span)) = &a.time {
        diags.push(
            Diagnostic::error("body-annotation", format!("`@{text}` cannot annotate a body atom"))
                .at(*span, "expected a timestep number")
                .hint(
                    "a body atom reads the current timestep, or a fixed one with `@1`, `@2`, ...",
                ),
        );
    }
    if let Some(BodyTime::Int(t, span)) = &a.time {
        if *t < 1 || *t > u32::MAX as i64 {
            diags.push(
                Diagnostic::error(
                    "body-annotation",
                    format!("timestep {t} is not a positive 32-bit integer"),
                )
                .at(*span, "here")
                .hint("timesteps start at 1"),
            );
        }
    }
    for arg in &a.args {
        if !arg.is_simple() {
            diags.push(
                Diagnostic::error("body-expression", "arithmetic is not allowed in a body atom")
                    .at(arg.span, "an expression")
                    .hint("bind a variable and compare it in a condition, e.g. `p(X), Y == X + 1`"),
            );
        }
    }
}

fn safety(r: &Rule, bound: &HashSet<&str>, diags: &mut Vec<Diagnostic>) {
    // (variable, span, place) for each unbound variable, first occurrence per place.
    let mut unbound: Vec<(String, Span, &str)> = Vec::new();
    let mut note = |e: &Expr, place: &'static str| {
        let mut vars = Vec::new();
        e.vars(&mut vars);
        for (v, span) in vars {
            if !bound.contains(v) && !unbound.iter().any(|(u, _, p)| u == v && *p == place) {
                unbound.push((v.to_string(), span, place));
            }
        }
    };
    for arg in &r.head.args {
        match arg {
            HeadArg::Expr(e) => note(e, "the head"),
            HeadArg::Agg(a) => note(
                &Expr { kind: ExprKind::Var(a.var.name.clone()), span: a.var.span },
                "the aggregate",
            ),
        }
    }
    for lit in &r.body {
        match lit {
            Literal::Neg(a) => a.args.iter().for_each(|e| note(e, "a negated atom")),
            Literal::Cond(c) => {
                note(&c.lhs, "a condition");
                note(&c.rhs, "a condition");
            }
            Literal::Pos(_) => {}
        }
    }
    for (name, span, place) in unbound {
        diags.push(
            Diagnostic::error(
                "unsafe-variable",
                format!("variable `{name}` in {place} is not bound by a positive body atom"),
            )
            .at(span, "unbound")
            .hint(format!(
                "add a positive atom that mentions `{name}`, or use `_` if any value will do"
            )),
        );
    }
    for arg in &r.head.args {
        let mut wild = false;
        if let HeadArg::Expr(e) = arg {
            wildcard_in(e, &mut wild);
        }
        if wild {
            diags.push(
                Diagnostic::error("head-wildcard", "`_` cannot appear in a rule head")
                    .at(arg.span(), "which value should the head get?")
                    .hint("use a variable bound in the body"),
            );
        }
    }
    for lit in &r.body {
        let Literal::Cond(c) = lit else { continue };
        for side in [&c.lhs, &c.rhs] {
            let mut wild = false;
            wildcard_in(side, &mut wild);
            if wild {
                diags.push(
                    Diagnostic::error("condition-wildcard", "`_` cannot appear in a condition")
                        .at(side.span, "here")
                        .hint("compare a variable bound by a positive atom"),
                );
            }
        }
    }
}

fn wildcard_in(e: &Expr, found: &mut bool) {
    match &e.kind {
        ExprKind::Wildcard => *found = true,
        ExprKind::Bin(_, a, b) => {
            wildcard_in(a, found);
            wildcard_in(b, found);
        }
        ExprKind::Neg(a) => wildcard_in(a, found),
        _ => {}
    }
}

fn aggregates(r: &Rule, diags: &mut Vec<Diagnostic>) {
    let aggs: Vec<&Aggregate> = r
        .head
        .args
        .iter()
        .filter_map(|a| if let HeadArg::Agg(g) = a { Some(g) } else { None })
        .collect();
    if aggs.len() > 1 {
        diags.push(
            Diagnostic::error("aggregate", "a head can hold at most one aggregate")
                .at(aggs[1].span, "second aggregate")
                .hint("split the rule into one rule per aggregate"),
        );
    }
    if let Some(HeadArg::Agg(g)) = r.head.args.first() {
        diags.push(
            Diagnostic::error(
                "aggregate",
                "the first column (the location) cannot be an aggregate",
            )
            .at(g.span, "here")
            .hint("put the node that holds the result first"),
        );
    }
}

/// Warn about relations that are read but never defined by a fact or a rule head, with a
/// "did you mean" when a defined relation has a similar name.
pub fn undefined(program: &Program, diags: &mut Vec<Diagnostic>) {
    let mut defined: HashSet<&str> = RESERVED.iter().copied().collect();
    for clause in &program.clauses {
        match clause {
            Clause::Fact(f) => defined.insert(&f.rel.name),
            Clause::Rule(r) => defined.insert(&r.head.rel.name),
        };
    }
    let mut candidates: Vec<&str> = defined.iter().copied().collect();
    candidates.sort_unstable();
    let mut warned: HashSet<&str> = HashSet::new();
    for clause in &program.clauses {
        let Clause::Rule(r) = clause else { continue };
        for lit in &r.body {
            if let Literal::Pos(a) | Literal::Neg(a) = lit {
                if !defined.contains(a.rel.name.as_str()) && warned.insert(&a.rel.name) {
                    let hint = match similar(&a.rel.name, &candidates) {
                        Some(other) => format!("did you mean `{other}`?"),
                        None => {
                            "it is always empty: check the spelling, or add a fact or rule for it"
                                .to_string()
                        }
                    };
                    diags.push(
                        Diagnostic::warning(
                            "undefined-relation",
                            format!("relation `{}` is read but never defined", a.rel.name),
                        )
                        .at(a.rel.span, "no fact or rule defines this")
                        .hint(hint),
                    );
                }
            }
        }
    }
}

/// The candidate closest to `name` by edit distance (a swap of neighbours counts as one), if it is close enough to be a typo
/// (at most one edit per three characters); ties go to the first in `candidates`.
pub fn similar<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (name.chars().count().max(3)) / 3;
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), *c))
        .filter(|&(d, c)| d > 0 && d <= limit && c != name)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Warn about relations that are defined (by facts or rule heads) but never read by any
/// rule body. `pre` and `post` are read by the invariant; names starting with `_` are
/// exempt (a convention for relations kept for display). A spec without `pre` and `post`
/// is only simulated, so everything it derives is output: no warning there.
pub fn unused(program: &Program, diags: &mut Vec<Diagnostic>) {
    let defines = |name: &str| {
        program.clauses.iter().any(|c| match c {
            Clause::Fact(f) => f.rel.name == name,
            Clause::Rule(r) => r.head.rel.name == name,
        })
    };
    if !defines("pre") && !defines("post") {
        return;
    }
    let mut read: HashSet<&str> = ["pre", "post"].into_iter().collect();
    for clause in &program.clauses {
        let Clause::Rule(r) = clause else { continue };
        for lit in &r.body {
            if let Literal::Pos(a) | Literal::Neg(a) = lit {
                read.insert(&a.rel.name);
            }
        }
    }
    let mut warned: HashSet<&str> = HashSet::new();
    for clause in &program.clauses {
        let rel = match clause {
            Clause::Fact(f) => &f.rel,
            Clause::Rule(r) => &r.head.rel,
        };
        if read.contains(rel.name.as_str()) || rel.name.starts_with('_') {
            continue;
        }
        if warned.insert(&rel.name) {
            diags.push(
                Diagnostic::warning(
                    "unused-relation",
                    format!("relation `{}` is defined but never read", rel.name),
                )
                .at(rel.span, "no rule body reads this")
                .hint(format!(
                    "it cannot affect `pre` or `post`; remove it, read it, or rename it `_{}` to keep it for display",
                    rel.name
                )),
            );
        }
    }
}

/// Warn about named variables that occur only once in a rule (a typo, or a value that
/// should be `_`). Variables starting with `_` are exempt. A lone variable outside a
/// positive atom is already an unsafe-variable error, so only positive atoms are checked.
/// Rules with an aggregate head are exempt: there a named variable is part of the bindings
/// the aggregate ranges over (`sum<V> :- val(N, K, V)` sums V once per K), unlike `_`.
pub fn singletons(r: &Rule, diags: &mut Vec<Diagnostic>) {
    if r.head.args.iter().any(|a| matches!(a, HeadArg::Agg(_))) {
        return;
    }
    let mut count: HashMap<&str, usize> = HashMap::new();
    let mut all: Vec<(&str, Span)> = Vec::new();
    for arg in &r.head.args {
        match arg {
            HeadArg::Expr(e) => e.vars(&mut all),
            HeadArg::Agg(a) => all.push((&a.var.name, a.var.span)),
        }
    }
    let mut positive: Vec<(&str, Span)> = Vec::new();
    for lit in &r.body {
        match lit {
            Literal::Pos(a) => a.args.iter().for_each(|e| e.vars(&mut positive)),
            Literal::Neg(a) => a.args.iter().for_each(|e| e.vars(&mut all)),
            Literal::Cond(c) => {
                c.lhs.vars(&mut all);
                c.rhs.vars(&mut all);
            }
        }
    }
    for (v, _) in all.iter().chain(positive.iter()) {
        *count.entry(v).or_default() += 1;
    }
    // An `@async` rule's sender is the first argument of its first positive atom, which
    // `_` cannot be (`error[async-location]`): there, suggest a named `_V` only.
    let sender = (r.head.ann() == crate::syntax::ast::HeadAnn::Async)
        .then(|| {
            r.body.iter().find_map(|l| match l {
                Literal::Pos(a) => a.args.first().map(|e| {
                    let mut v = Vec::new();
                    e.vars(&mut v);
                    v.first().map(|&(_, span)| span)
                }),
                _ => None,
            })
        })
        .flatten()
        .flatten();
    for (v, span) in positive {
        if count[v] == 1 && !v.starts_with('_') {
            let hint = if Some(span) == sender {
                format!(
                    "it is this `@async` rule's sender, which needs a name: write `_{v}` if its value does not matter; otherwise check the spelling"
                )
            } else {
                format!("if any value will do, write `_` (or `_{v}`); otherwise check the spelling")
            };
            diags.push(
                Diagnostic::warning(
                    "singleton-variable",
                    format!("variable `{v}` appears only once in this rule"),
                )
                .at(span, "used nowhere else")
                .hint(hint),
            );
        }
    }
}

/// What a column or variable holds, as far as the facts and rules tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Str,
    /// Both (or a join of both): nothing can be said.
    Mixed,
}

fn join(a: Option<Kind>, b: Kind) -> Kind {
    match a {
        None => b,
        Some(k) if k == b => k,
        Some(_) => Kind::Mixed,
    }
}

type ColumnKinds<'a> = HashMap<(&'a str, usize), Kind>;

/// The kinds of a rule's variables, from the columns of its positive atoms.
fn var_kinds<'a>(r: &'a Rule, cols: &ColumnKinds<'a>) -> HashMap<&'a str, Kind> {
    let mut vars: HashMap<&str, Kind> = HashMap::new();
    for lit in &r.body {
        let Literal::Pos(a) = lit else { continue };
        for (i, e) in a.args.iter().enumerate() {
            if let (ExprKind::Var(v), Some(&k)) = (&e.kind, cols.get(&(a.rel.name.as_str(), i))) {
                let old = vars.get(v.as_str()).copied();
                vars.insert(v, join(old, k));
            }
        }
    }
    vars
}

/// The kind of an expression: literals and arithmetic are known, variables when bound.
fn expr_kind(e: &Expr, vars: &HashMap<&str, Kind>) -> Option<Kind> {
    match &e.kind {
        ExprKind::Int(_) | ExprKind::Bin(..) | ExprKind::Neg(_) => Some(Kind::Int),
        ExprKind::Str(_) => Some(Kind::Str),
        ExprKind::Var(v) => vars.get(v.as_str()).copied(),
        ExprKind::Wildcard => None,
    }
}

/// Column kinds from the facts, carried through rule heads to a fixpoint (each column can
/// only go from unknown to a kind to mixed, so this ends).
fn column_kinds(program: &Program) -> ColumnKinds<'_> {
    let mut cols: ColumnKinds = HashMap::new();
    cols.insert(("crash", 0), Kind::Str);
    cols.insert(("crash", 1), Kind::Str);
    cols.insert(("crash", 2), Kind::Int);
    for clause in &program.clauses {
        let Clause::Fact(f) = clause else { continue };
        for (i, a) in f.args.iter().enumerate() {
            if let Some(k) = expr_kind(a, &HashMap::new()) {
                let old = cols.get(&(f.rel.name.as_str(), i)).copied();
                cols.insert((&f.rel.name, i), join(old, k));
            }
        }
    }
    loop {
        let mut changed = false;
        for clause in &program.clauses {
            let Clause::Rule(r) = clause else { continue };
            let vars = var_kinds(r, &cols);
            for (i, arg) in r.head.args.iter().enumerate() {
                let k = match arg {
                    HeadArg::Expr(e) => expr_kind(e, &vars),
                    HeadArg::Agg(g) => match g.kind {
                        AggKind::Count | AggKind::Sum => Some(Kind::Int),
                        AggKind::Min | AggKind::Max => vars.get(g.var.name.as_str()).copied(),
                    },
                };
                if let Some(k) = k {
                    let key = (r.head.rel.name.as_str(), i);
                    let old = cols.get(&key).copied();
                    if old != Some(join(old, k)) {
                        cols.insert(key, join(old, k));
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            return cols;
        }
    }
}

/// Warn where a rule would order a string against an integer, or do arithmetic on a
/// string, whenever it fires: the run stops there with an error. The kinds come from the
/// facts through the rules; a column that holds both is not judged.
pub fn types(program: &Program, diags: &mut Vec<Diagnostic>) {
    let cols = column_kinds(program);
    for clause in &program.clauses {
        let Clause::Rule(r) = clause else { continue };
        let vars = var_kinds(r, &cols);
        let show = |k: Kind| if k == Kind::Int { "an integer" } else { "a string" };
        for lit in &r.body {
            let Literal::Cond(c) = lit else { continue };
            let ordering = !matches!(c.op, CmpOp::Eq | CmpOp::Ne);
            if let (true, Some(a), Some(b)) =
                (ordering, expr_kind(&c.lhs, &vars), expr_kind(&c.rhs, &vars))
            {
                if a != b && a != Kind::Mixed && b != Kind::Mixed {
                    diags.push(
                        Diagnostic::warning(
                            "type-mismatch",
                            format!(
                                "this condition orders {} against {}: the run stops with an error when the rule fires",
                                show(a),
                                show(b)
                            ),
                        )
                        .at(c.span, format!("{} {} {}", show(a), c.op.symbol(), show(b)))
                        .hint("strings order among strings and integers among integers; `==` and `!=` compare any two values"),
                    );
                }
            }
        }
        let mut exprs: Vec<&Expr> = Vec::new();
        for arg in &r.head.args {
            if let HeadArg::Expr(e) = arg {
                exprs.push(e);
            }
        }
        for lit in &r.body {
            if let Literal::Cond(c) = lit {
                exprs.push(&c.lhs);
                exprs.push(&c.rhs);
            }
        }
        for e in exprs.into_iter().filter(|e| !e.is_simple()) {
            let mut vs = Vec::new();
            e.vars(&mut vs);
            let strings = vs.iter().find(|(v, _)| vars.get(v) == Some(&Kind::Str));
            let literal = string_literal_in(e);
            if let Some(span) = strings.map(|(_, s)| *s).or(literal) {
                diags.push(
                    Diagnostic::warning(
                        "type-mismatch",
                        "arithmetic on a string: the run stops with an error when the rule fires",
                    )
                    .at(span, "a string")
                    .hint("arithmetic works on integers only"),
                );
            }
        }
    }
}

fn string_literal_in(e: &Expr) -> Option<Span> {
    match &e.kind {
        ExprKind::Str(_) => Some(e.span),
        ExprKind::Bin(_, a, b) => string_literal_in(a).or_else(|| string_literal_in(b)),
        ExprKind::Neg(a) => string_literal_in(a),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lint(src: &str) -> Vec<Diagnostic> {
        let loaded = crate::syntax::load_str("t.ded", src).expect("parses");
        crate::analysis::analyze(&loaded.program).diagnostics
    }

    fn codes(diags: &[Diagnostic]) -> Vec<&'static str> {
        diags.iter().map(|d| d.code).collect()
    }

    #[test]
    fn a_misspelt_relation_gets_a_did_you_mean() {
        let d = lint("bcast(\"a\", 1)@1;\npre(N) :- bcst(N, _);\npost(N) :- bcast(N, _);\n");
        let w = d.iter().find(|d| d.code == "undefined-relation").expect("warned");
        assert_eq!(w.hint.as_deref(), Some("did you mean `bcast`?"));
        assert_eq!(similar("zzzzz", &["bcast", "pre"]), None);
        assert_eq!(similar("pots", &["post", "pre"]), Some("post"));
    }

    #[test]
    fn singleton_variables_warn_unless_underscored() {
        let d = lint("p(\"a\", 1)@1;\npre(N) :- p(N, X);\npost(N) :- p(N, _Y);\n");
        let singles: Vec<&Diagnostic> =
            d.iter().filter(|d| d.code == "singleton-variable").collect();
        assert_eq!(singles.len(), 1, "{d:?}");
        assert!(singles[0].message.contains("`X`"));
        // Used twice (in a condition): no warning.
        let d = lint("p(\"a\", 1)@1;\npre(N) :- p(N, X), X > 0;\npost(N) :- p(N, _);\n");
        assert!(!codes(&d).contains(&"singleton-variable"), "{d:?}");
        // In an aggregate rule a named variable distinguishes bindings: no warning.
        let d = lint(
            "p(\"a\", 1)@1;\nc(N, count<N>) :- p(N, K);\npre(N) :- c(N, _);\npost(N) :- p(N, _);\n",
        );
        assert!(!codes(&d).contains(&"singleton-variable"), "{d:?}");
        // An `@async` rule's sender cannot be `_`: the hint says `_N`, never `_`.
        let d = lint(
            "peer(\"a\", \"b\")@1;\ngot(P)@async :- peer(N, P);\npre(N) :- got(N);\npost(N) :- got(N);\n",
        );
        let w = d.iter().find(|d| d.code == "singleton-variable").expect("a warning");
        let hint = w.hint.as_deref().unwrap_or("");
        assert!(hint.contains("write `_N`") && !hint.contains("write `_`"), "{hint}");
        let fixed = lint(
            "peer(\"a\", \"b\")@1;\ngot(P)@async :- peer(_N, P);\npre(N) :- got(N);\npost(N) :- got(N);\n",
        );
        assert!(fixed.iter().all(|d| !d.is_error()), "{fixed:?}");
    }

    #[test]
    fn unused_relations_warn_but_pre_post_and_notin_reads_count() {
        let d = lint(
            "p(\"a\")@1;\nq(\"a\")@1;\nlog(N) :- p(N);\npre(N) :- p(N), notin q(N);\npost(N) :- p(N);\n",
        );
        let unused: Vec<&String> =
            d.iter().filter(|d| d.code == "unused-relation").map(|d| &d.message).collect();
        assert_eq!(unused, vec!["relation `log` is defined but never read"]);
        let d = lint("p(\"a\")@1;\n_log(N) :- p(N);\npre(N) :- p(N);\npost(N) :- p(N);\n");
        assert!(!codes(&d).contains(&"unused-relation"), "{d:?}");
    }

    #[test]
    fn ordering_a_string_against_an_integer_is_caught_with_a_span() {
        let src = "p(\"a\", 1)@1;\nq(N, X) :- p(N, X);\nr(N) :- q(N, X), X < \"z\";\npre(N) :- r(N);\npost(N) :- r(N);\n";
        let d = lint(src);
        let w = d.iter().find(|d| d.code == "type-mismatch").expect("caught");
        let (span, _) = w.primary.as_ref().expect("located");
        assert_eq!(&src[span.start as usize..span.end as usize], "X < \"z\"");
        // Integers against integers, and `==` against anything, are fine.
        let d = lint("p(\"a\", 1)@1;\nr(N) :- p(N, X), X < 3, X != \"z\";\npre(N) :- r(N);\npost(N) :- r(N);\n");
        assert!(!codes(&d).contains(&"type-mismatch"), "{d:?}");
        // A column holding both kinds is not judged.
        let d = lint("p(\"a\", 1)@1;\np(\"a\", \"b\")@1;\nr(N) :- p(N, X), X < 3;\npre(N) :- r(N);\npost(N) :- r(N);\n");
        assert!(!codes(&d).contains(&"type-mismatch"), "{d:?}");
        let d = lint("p(\"a\", \"b\")@1;\nr(N, X + 1) :- p(N, X);\npre(N) :- r(N, _);\npost(N) :- r(N, _);\n");
        assert!(codes(&d).contains(&"type-mismatch"), "{d:?}");
    }

    #[test]
    fn errors_of_every_check_come_at_once() {
        // An unsafe variable and a negative cycle: both are reported in one pass.
        let d = lint("p(\"a\")@1;\nq(N) :- p(N), notin r(N);\nr(N) :- q(N);\ns(N, Z) :- p(N);\n");
        let c = codes(&d);
        assert!(c.contains(&"unsafe-variable") && c.contains(&"unstratifiable"), "{c:?}");
    }
}
