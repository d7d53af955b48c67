//! The parser driver: runs the lalrpop grammar (`grammar/spec.lalrpop`) over the lexer's
//! tokens and turns every lexical and syntax error into a [`Diagnostic`] (code `syntax`)
//! with the span of the offending token, a short summary of what was expected and a hint.
//!
//! The output is a list of [`Item`]s: the clauses of one file and its `include`s, which the
//! loader resolves and splices.

use crate::diag::Diagnostic;
use crate::syntax::ast::{
    AggKind, Aggregate, Atom, BinOp, BodyTime, Clause, Expr, ExprKind, Fact, FileId, Head, HeadArg,
    HeadTime, Ident, Literal, Rule, Span,
};
use crate::syntax::lexer::{self, LexError, Spanned, Tok};
use lalrpop_util::{ErrorRecovery, ParseError};

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused_parens, dead_code)]
    spec
);

/// One top-level item of a file.
#[derive(Debug, Clone)]
pub enum Item {
    /// `include "path";`
    Include {
        path: String,
        path_span: Span,
        span: Span,
    },
    Clause(Clause),
    /// A clause that did not parse (its error is reported separately).
    Error,
}

/// What follows `@`: an integer or a name, with the span of `@...`.
#[derive(Debug, Clone)]
pub enum Ann {
    Int(i64, Span),
    Name(String, Span),
}

type Recovery = ErrorRecovery<usize, Tok, LexError>;

/// The parser's state: the file being parsed and the errors found so far.
#[derive(Debug)]
pub struct Ctx {
    file: FileId,
    /// Syntax errors the grammar recovered from.
    pub errors: Vec<Recovery>,
    /// Errors found by grammar actions (well-formed tokens in a place they cannot be).
    pub diags: Vec<Diagnostic>,
}

impl Ctx {
    pub fn span(&self, l: usize, r: usize) -> Span {
        Span::new(self.file, l, r)
    }

    pub fn expr(&self, kind: ExprKind, l: usize, r: usize) -> Expr {
        Expr { kind, span: self.span(l, r) }
    }

    pub fn bin(&self, op: BinOp, a: Expr, b: Expr, l: usize, r: usize) -> Expr {
        self.expr(ExprKind::Bin(op, Box::new(a), Box::new(b)), l, r)
    }

    /// `-e`: folds into an integer literal when it can.
    pub fn neg(&self, e: Expr, l: usize, r: usize) -> Expr {
        match e.kind {
            ExprKind::Int(n) if n.checked_neg().is_some() => {
                self.expr(ExprKind::Int(n.wrapping_neg()), l, r)
            }
            _ => self.expr(ExprKind::Neg(Box::new(e)), l, r),
        }
    }

    pub fn aggregate(&mut self, kind: Ident, var: Ident, l: usize, r: usize) -> HeadArg {
        let span = self.span(l, r);
        let agg_kind = match kind.name.as_str() {
            "count" => AggKind::Count,
            "sum" => AggKind::Sum,
            "min" => AggKind::Min,
            "max" => AggKind::Max,
            other => {
                self.diags.push(
                    Diagnostic::error("syntax", format!("unknown aggregate `{other}`"))
                        .at(kind.span, "not an aggregate")
                        .hint("the aggregates are `count<V>`, `sum<V>`, `min<V>` and `max<V>`"),
                );
                AggKind::Count
            }
        };
        HeadArg::Agg(Aggregate { kind: agg_kind, var, span })
    }

    pub fn fact(
        &mut self,
        atom: (Ident, Vec<HeadArg>, usize, usize),
        ann: Option<Ann>,
        l: usize,
        r: usize,
    ) -> Item {
        let (rel, head_args, _, _) = atom;
        let mut args = Vec::with_capacity(head_args.len());
        for arg in head_args {
            match arg {
                HeadArg::Expr(e) => args.push(e),
                HeadArg::Agg(a) => self.diags.push(
                    Diagnostic::error("syntax", "an aggregate cannot appear in a fact")
                        .at(a.span, "aggregate in a fact")
                        .hint("aggregates belong in rule heads, e.g. `n(count<X>) :- p(X);`"),
                ),
            }
        }
        let time = match ann {
            None => None,
            Some(Ann::Int(n, span)) => Some((n, span)),
            Some(Ann::Name(name, span)) => {
                let message = format!("a fact's time must be an integer, not `{name}`");
                let hint = "a fact holds at one timestep, e.g. `@1`; \
                            `@next` and `@async` belong on rule heads (`head@next :- body;`)";
                let d = Diagnostic::error("syntax", message).at(span, "not an integer timestep");
                self.diags.push(d.hint(hint));
                None
            }
        };
        Item::Clause(Clause::Fact(Fact { rel, args, time, span: self.span(l, r) }))
    }

    pub fn rule(
        &mut self,
        atom: (Ident, Vec<HeadArg>, usize, usize),
        ann: Option<Ann>,
        body: Vec<Literal>,
        l: usize,
        r: usize,
    ) -> Item {
        let (rel, args, hl, hr) = atom;
        let time = match ann {
            None => HeadTime::None,
            Some(Ann::Name(name, span)) if name == "next" => HeadTime::Next(span),
            Some(Ann::Name(name, span)) if name == "async" => HeadTime::Async(span),
            Some(Ann::Name(name, span)) => HeadTime::Other(name, span),
            Some(Ann::Int(n, span)) => HeadTime::Other(n.to_string(), span),
        };
        let head_end = match &time {
            HeadTime::Next(s) | HeadTime::Async(s) | HeadTime::Other(_, s) => s.end as usize,
            HeadTime::None => hr,
        };
        let head = Head { rel, args, time, span: self.span(hl, head_end) };
        Item::Clause(Clause::Rule(Rule { head, body, span: self.span(l, r) }))
    }

    pub fn body_atom(
        &self,
        rel: Ident,
        args: Vec<Expr>,
        ann: Option<Ann>,
        l: usize,
        r: usize,
    ) -> Atom {
        let time = ann.map(|a| match a {
            Ann::Int(n, span) => BodyTime::Int(n, span),
            Ann::Name(name, span) => BodyTime::Other(name, span),
        });
        Atom { rel, args, time, span: self.span(l, r) }
    }
}

/// Parse one file. Returns its items and every lexical and syntax error found, in source
/// order. Parsing stops at the first lexical error (its later syntax errors would be noise),
/// but every lexical error of the file is reported.
pub fn parse(file: FileId, text: &str) -> (Vec<Item>, Vec<Diagnostic>) {
    let mut lexed = lexer::lex(file, text);
    if let Some(err) = too_complex(file, &lexed.tokens) {
        let i = lexed.errors.partition_point(|(at, _)| *at <= err.0);
        lexed.errors.insert(i, err);
    }
    let stop = lexed.errors.first().map(|(at, _)| *at);
    let tokens = lexed.tokens.iter().filter(|(s, _, _)| stop.is_none_or(|at| *s < at));
    let mut stream: Vec<Result<Spanned, LexError>> = tokens.cloned().map(Ok).collect();
    if stop.is_some() {
        stream.push(Err(LexError::InvalidChar));
    }
    let mut ctx = Ctx { file, errors: Vec::new(), diags: Vec::new() };
    let result = spec::ItemsParser::new().parse(&mut ctx, stream);
    let errors = ErrorContext { file, text, tokens: &lexed.tokens };
    let mut diags: Vec<(usize, Diagnostic)> = lexed.errors;
    for rec in std::mem::take(&mut ctx.errors) {
        diags.extend(errors.convert(rec.error));
    }
    let items = match result {
        Ok(items) => items,
        Err(e) => {
            diags.extend(errors.convert(e));
            Vec::new()
        }
    };
    diags.extend(
        ctx.diags.into_iter().map(|d| (d.primary.as_ref().map_or(0, |p| p.0.start as usize), d)),
    );
    (items, finish(diags))
}

/// The most arithmetic operators one clause may hold. Expressions are trees as deep as
/// their operator count, and deep trees would exhaust the stack of every recursive pass
/// (including dropping them); real specs use a handful.
pub const MAX_OPERATORS_PER_CLAUSE: usize = 512;

/// The first clause with more than [`MAX_OPERATORS_PER_CLAUSE`] operators, as an error.
fn too_complex(file: FileId, tokens: &[Spanned]) -> Option<(usize, Diagnostic)> {
    let mut count = 0;
    for (l, tok, r) in tokens {
        match tok {
            Tok::Semi => count = 0,
            Tok::Plus | Tok::Minus | Tok::Star | Tok::Slash | Tok::Percent => count += 1,
            _ => {}
        }
        if count > MAX_OPERATORS_PER_CLAUSE {
            let message = format!(
                "clause too complex: more than {MAX_OPERATORS_PER_CLAUSE} arithmetic operators"
            );
            let d = Diagnostic::error("syntax", message)
                .at(Span::new(file, *l, *r), "the limit is reached here")
                .hint("split the computation over several rules");
            return Some((*l, d));
        }
    }
    None
}

/// Sort by position and drop exact duplicates (a failed recovery can repeat its error).
fn finish(mut diags: Vec<(usize, Diagnostic)>) -> Vec<Diagnostic> {
    diags.sort_by_key(|(at, _)| *at);
    let mut out: Vec<Diagnostic> = Vec::with_capacity(diags.len());
    for (_, d) in diags {
        let dup = out.iter().any(|o| {
            o.message == d.message
                && o.primary.as_ref().map(|p| p.0) == d.primary.as_ref().map(|p| p.0)
        });
        if !dup {
            out.push(d);
        }
    }
    out
}

/// What the error converter needs to know about the file.
struct ErrorContext<'a> {
    file: FileId,
    text: &'a str,
    tokens: &'a [Spanned],
}

impl ErrorContext<'_> {
    /// Turn a lalrpop error into a diagnostic (lexer errors are already reported).
    fn convert(&self, err: ParseError<usize, Tok, LexError>) -> Option<(usize, Diagnostic)> {
        match err {
            ParseError::User { .. } => None,
            ParseError::UnrecognizedToken { token: (l, tok, r), expected } => {
                Some((l, self.unexpected(l, r, &tok.to_string(), &expected)))
            }
            ParseError::UnrecognizedEof { location, expected } => {
                Some((location, self.unexpected_eof(location, &expected)))
            }
            ParseError::ExtraToken { token: (l, tok, r) } => Some((
                l,
                Diagnostic::error("syntax", format!("unexpected {tok}"))
                    .at(self.span(l, r), "expected the end of the file"),
            )),
            ParseError::InvalidToken { location } => Some((
                location,
                Diagnostic::error("syntax", "invalid token")
                    .at(self.span(location, location + 1), "here"),
            )),
        }
    }

    /// A span clamped to the file.
    fn span(&self, l: usize, r: usize) -> Span {
        let len = self.text.len();
        let l = l.min(len);
        let r = r.clamp(l, len);
        Span::new(self.file, l, r)
    }

    /// The token that ends before `at`, if any.
    fn token_before(&self, at: usize) -> Option<&Spanned> {
        let i = self.tokens.partition_point(|(s, _, _)| *s < at);
        i.checked_sub(1).and_then(|i| self.tokens.get(i))
    }

    fn unexpected(&self, l: usize, r: usize, found: &str, expected: &[String]) -> Diagnostic {
        let summary = expected::summarize(expected);
        let mut d = Diagnostic::error("syntax", format!("unexpected {found}, expected {summary}"))
            .at(self.span(l, r), format!("expected {summary}"));
        if expected::has(expected, ";") {
            if let Some((pl, _, pr)) = self.token_before(l) {
                if self.text.get(*pr..l).is_some_and(|gap| gap.contains('\n')) {
                    d = d.also(self.span(*pl, *pr), "the clause probably ends here");
                }
            }
        }
        match expected::hint(expected, Some(found)) {
            Some(h) => d.hint(h),
            None => d,
        }
    }

    fn unexpected_eof(&self, at: usize, expected: &[String]) -> Diagnostic {
        let summary = expected::summarize(expected);
        let start = self.token_before(at.max(1)).map_or(at, |(l, _, _)| *l);
        let d = Diagnostic::error("syntax", format!("unexpected end of file, expected {summary}"))
            .at(self.span(start, at), format!("the file ends here; expected {summary} after this"));
        match expected::hint(expected, None) {
            Some(h) => d.hint(h),
            None => d,
        }
    }
}

/// Summaries of lalrpop's expected-token sets and hints derived from them.
mod expected {
    /// Terminal names as lalrpop reports them, unquoted (`";"` becomes `;`).
    fn clean(name: &str) -> &str {
        name.strip_prefix('"').and_then(|n| n.strip_suffix('"')).unwrap_or(name)
    }

    pub fn has(expected: &[String], name: &str) -> bool {
        expected.iter().any(|e| clean(e) == name)
    }

    const EXPR_START: &[&str] = &["Ident", "Str", "Int", "_", "(", "-"];
    const ARITH: &[&str] = &["+", "-", "*", "/", "%"];
    const CMP: &[&str] = &["==", "!=", "<", ">", "<=", ">="];

    /// Display order and wording of single tokens.
    const SINGLE: &[(&str, &str)] = &[
        (";", "`;`"),
        (":-", "`:-`"),
        ("@", "`@`"),
        (")", "`)`"),
        (",", "`,`"),
        ("(", "`(`"),
        ("Ident", "a name"),
        ("Str", "a string"),
        ("Int", "an integer"),
        ("_", "`_`"),
        ("notin", "`notin`"),
        ("include", "`include`"),
        ("-", "`-`"),
        (">", "`>`"),
        ("<", "`<`"),
    ];

    /// If every token of `group` is expected, replace them by `words`.
    fn take_group(left: &mut Vec<&str>, parts: &mut Vec<String>, group: &[&str], words: &str) {
        if group.iter().all(|g| left.contains(g)) {
            left.retain(|t| !group.contains(t));
            parts.push(words.to_owned());
        }
    }

    /// Say what was expected in a few words instead of listing every terminal.
    pub fn summarize(expected: &[String]) -> String {
        let mut left: Vec<&str> = expected.iter().map(|e| clean(e)).collect();
        if left.contains(&",") && !left.contains(&">") {
            // A lone `<` among head arguments is an aggregate's `count<V>`: not worth saying.
            left.retain(|t| *t != "<");
        }
        let mut parts: Vec<String> = Vec::new();
        take_group(&mut left, &mut parts, &["include", "Ident"], "a clause");
        let literal_start = [&["notin"], EXPR_START].concat();
        let literal = "a body literal (an atom, `notin` or a condition)";
        take_group(&mut left, &mut parts, &literal_start, literal);
        take_group(&mut left, &mut parts, EXPR_START, "an expression");
        take_group(&mut left, &mut parts, CMP, "a comparison (`==`, `!=`, `<`, `>`, `<=`, `>=`)");
        take_group(&mut left, &mut parts, ARITH, "an operator");
        let mut singles: Vec<String> = Vec::new();
        for (name, words) in SINGLE {
            if left.contains(name) {
                singles.push((*words).to_owned());
            }
        }
        let rest = left.iter().filter(|t| !SINGLE.iter().any(|(n, _)| n == *t));
        singles.extend(rest.map(|t| format!("`{t}`")));
        singles.extend(parts);
        join_or(&singles)
    }

    fn join_or(items: &[String]) -> String {
        match items {
            [] => "nothing more".to_owned(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        }
    }

    /// A hint for the most common mistakes, judged from what was expected.
    pub fn hint(expected: &[String], found: Option<&str>) -> Option<String> {
        if has(expected, ";") {
            return Some("every clause ends with `;`".to_owned());
        }
        if expected.len() == 1 && has(expected, "(") {
            return Some(
                "relations are always written with parentheses, e.g. `done()` or `log(N, M)`"
                    .to_owned(),
            );
        }
        if found == Some("`:-`") && has(expected, ")") {
            return Some("close the argument list with `)` before `:-`".to_owned());
        }
        if has(expected, "Int") && has(expected, "Ident") && expected.len() == 2 {
            return Some(
                "write a timestep like `@1`, or `@next`/`@async` on a rule head".to_owned(),
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Vec<Item> {
        let (items, diags) = parse(FileId(0), text);
        assert!(diags.is_empty(), "{text}: {diags:#?}");
        items
    }

    fn errs(text: &str) -> Vec<String> {
        parse(FileId(0), text).1.into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn molly_clauses_parse() {
        let items = ok(r#"
            include "x.ded";
            node("a", "b")@1;
            log(N, M)@next :- log(N, M);
            missing(N) :- node(N, _), notin crash(X, X, _), notin bcast(N, M)@1;
            cnt(N, count<I>) :- log(N, I);
            ack(S, N, T-1)@async :- got(N, S, T), T > 1, Cnt2 > Cnt1 / 2;
            z() :- q(-1, -(X), (X + 2) * 3 % 4);
            empty();
        "#);
        assert_eq!(items.len(), 8);
    }

    #[test]
    fn fact_without_time_has_no_time() {
        match ok("p(1);").first() {
            Some(Item::Clause(Clause::Fact(f))) => assert!(f.time.is_none()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn head_annotations() {
        let items = ok("a(X)@3 :- b(X); a(X)@T :- b(X)@next;");
        let Some(Item::Clause(Clause::Rule(r))) = items.first() else { panic!() };
        assert!(matches!(r.head.time, HeadTime::Other(ref s, _) if s == "3"));
        let Some(Item::Clause(Clause::Rule(r))) = items.get(1) else { panic!() };
        assert!(matches!(
            r.body.first(),
            Some(Literal::Pos(Atom { time: Some(BodyTime::Other(..)), .. }))
        ));
    }

    #[test]
    fn several_errors_are_reported() {
        let e = errs("a(1)@1\nb(2)@1;\nc(X) :- ;\nd(1)@1;");
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].contains("expected `;`"), "{e:?}");
    }

    #[test]
    fn huge_expressions_are_refused() {
        let text = format!("p(X) :- q(X), X > {}1;", "1+".repeat(MAX_OPERATORS_PER_CLAUSE + 1));
        assert_eq!(errs(&text).len(), 1);
        let text = format!("p(X) :- q(X), X > {}1;", "1+".repeat(MAX_OPERATORS_PER_CLAUSE));
        assert!(errs(&text).is_empty());
    }

    #[test]
    fn eof_and_lex_errors() {
        assert_eq!(errs("a(1)@1").len(), 1);
        assert_eq!(errs("a(\"x)@1;\nb(1)@1;"), vec!["unterminated string literal"]);
        assert_eq!(errs("a(1)@next;"), vec!["a fact's time must be an integer, not `next`"]);
        assert_eq!(errs("a(foo<X>) :- b(X);"), vec!["unknown aggregate `foo`"]);
    }
}
