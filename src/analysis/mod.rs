//! Analysis: name and arity tables, safety, stratification, locations and nodes, and the
//! lowering of the checked AST to the evaluation IR ([`ir::Program`]).

pub mod check;
pub mod graph;
pub mod ir;
pub mod lower;
pub mod nodes;
pub mod pretty;

use crate::diag::Diagnostic;
use crate::syntax::ast::{self, Clause, HeadAnn, HeadArg, Literal};
use graph::{Edge, EdgeKind};
use ir::{IrFact, RelId, RelInfo, Step};
use std::collections::HashMap;

/// The outcome of analysing a program: all diagnostics (errors and warnings), and the
/// lowered program when there was no error.
#[derive(Debug, Default)]
pub struct Analysis {
    pub diagnostics: Vec<Diagnostic>,
    pub program: Option<ir::Program>,
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.is_error())
    }
}

/// Check a parsed program (LANGUAGE.md §2) and lower it.
pub fn analyze(program: &ast::Program) -> Analysis {
    let mut diags = Vec::new();
    let table = check::arities(program, &mut diags);
    check::facts(program, &mut diags);
    let rules: Vec<&ast::Rule> = program
        .clauses
        .iter()
        .filter_map(|c| if let Clause::Rule(r) = c { Some(r) } else { None })
        .collect();
    for r in &rules {
        check::rule(r, &mut diags);
        check::singletons(r, &mut diags);
    }
    check::undefined(program, &mut diags);
    check::unused(program, &mut diags);
    check::types(program, &mut diags);

    // Stratification runs even when the checks above found errors, so that one `lint`
    // reports every error at once (it only needs the relation table).
    let rel_ids: HashMap<String, RelId> =
        table.keys().enumerate().map(|(i, name)| (name.clone(), i as RelId)).collect();
    let nrels = table.len();
    let same_time = edges(&rules, &rel_ids);
    let stratified = graph::stratify(nrels, &same_time);
    if let Err(cycles) = &stratified {
        let names: Vec<&String> = table.keys().collect();
        for c in cycles {
            diags.push(cycle_diagnostic(c, &names, &rules));
        }
    }
    let rel_stratum = match stratified {
        Ok(s) if !diags.iter().any(|d| d.is_error()) => s,
        _ => return Analysis { diagnostics: diags, program: None },
    };
    let mut program = lower_program(program, &rules, &table, rel_ids, rel_stratum);
    program.same_time_scc = graph::sccs(nrels, &same_time);
    Analysis { diagnostics: diags, program: Some(program) }
}

/// Same-time dependency edges (rules without a head annotation), for stratification.
fn edges(rules: &[&ast::Rule], rel_ids: &HashMap<String, RelId>) -> Vec<Edge> {
    let mut same_time = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let to = rel_ids[&r.head.rel.name];
        let is_agg = r.head.args.iter().any(|a| matches!(a, HeadArg::Agg(_)));
        for lit in &r.body {
            let (atom, neg) = match lit {
                Literal::Pos(a) => (a, false),
                Literal::Neg(a) => (a, true),
                Literal::Cond(_) => continue,
            };
            let kind = if neg {
                EdgeKind::Neg
            } else if is_agg {
                EdgeKind::Agg
            } else {
                EdgeKind::Pos
            };
            let e = Edge { from: rel_ids[&atom.rel.name], to, kind, rule: i };
            if r.head.ann() == HeadAnn::None {
                same_time.push(e);
            }
        }
    }
    same_time
}

fn cycle_diagnostic(c: &graph::NegCycle, names: &[&String], rules: &[&ast::Rule]) -> Diagnostic {
    let mut text = names[c.edges[0].from as usize].to_string();
    for e in &c.edges {
        let arrow = match e.kind {
            EdgeKind::Pos => " -> ",
            EdgeKind::Neg => " -[notin]-> ",
            EdgeKind::Agg => " -[aggregate]-> ",
        };
        text.push_str(arrow);
        text.push_str(names[e.to as usize]);
    }
    let neg = c.edges.iter().rev().find(|e| e.kind.is_negative()).unwrap_or(&c.edges[0]);
    let mut d = Diagnostic::error(
        "unstratifiable",
        format!(
            "`{}` depends on itself through {} within one timestep",
            names[neg.to as usize],
            if neg.kind == EdgeKind::Neg { "negation" } else { "an aggregate" }
        ),
    )
    .at(rules[neg.rule].span, "this rule closes the cycle")
    .note(format!("cycle: {text}"));
    for e in &c.edges {
        if e.rule != neg.rule {
            d = d.also(rules[e.rule].span, "part of the cycle");
        }
    }
    d.hint("break the cycle across time (derive one of its heads with `@next`), or remove the negation")
}

fn lower_program(
    program: &ast::Program,
    rules: &[&ast::Rule],
    table: &check::RelTable,
    rel_ids: HashMap<String, RelId>,
    rel_stratum: Vec<usize>,
) -> ir::Program {
    let mut p = ir::Program::default();
    for (name, (arity, span)) in table {
        let id = rel_ids[name];
        p.rels.push(RelInfo {
            name: name.clone(),
            arity: *arity,
            stratum: rel_stratum[id as usize],
            span: *span,
        });
    }
    for clause in &program.clauses {
        if let Clause::Fact(f) = clause {
            let vals = f
                .args
                .iter()
                .map(|a| lower::constant(&mut p.symbols, a).unwrap_or(ir::Value::Int(0)))
                .collect();
            let time = f.time.map_or(1, |(t, _)| t as u32);
            p.facts.push(IrFact { rel: rel_ids[&f.rel.name], vals, time, span: f.span });
        }
    }
    p.facts.sort_by_key(|f| f.time);
    for (i, r) in rules.iter().enumerate() {
        let text = pretty::rule(r);
        let rule = lower::rule(r, i as u32, &rel_ids, &mut p.symbols, &rel_stratum, text);
        p.rules.push(rule);
    }
    let nstrata =
        p.rules.iter().filter(|r| r.ann == HeadAnn::None).map(|r| r.stratum + 1).max().unwrap_or(0);
    p.strata = vec![Vec::new(); nstrata];
    for r in &p.rules {
        match r.ann {
            HeadAnn::None => p.strata[r.stratum].push(r.id),
            HeadAnn::Next => p.next_rules.push(r.id),
            HeadAnn::Async => p.async_rules.push(r.id),
        }
    }
    p.indexes = vec![Vec::new(); p.rels.len()];
    for r in &p.rules {
        for plan in std::iter::once(&r.full).chain(r.deltas.iter()) {
            for step in &plan.steps {
                let (rel, key) = match step {
                    Step::Scan { rel, key, .. } | Step::Absent { rel, key, .. } => (rel, key),
                    Step::Filter { .. } => continue,
                };
                if !p.indexes[*rel as usize].contains(key) {
                    p.indexes[*rel as usize].push(key.clone());
                }
            }
        }
    }
    p.crash_rel = rel_ids.get("crash").copied();
    p.pre_rel = rel_ids.get("pre").copied();
    p.post_rel = rel_ids.get("post").copied();
    p.rules_by_head = vec![Vec::new(); p.rels.len()];
    for r in &p.rules {
        p.rules_by_head[r.head_rel as usize].push(r.id);
    }
    p.inferred_nodes = nodes::infer(program, &rel_ids, &mut p.symbols);
    p.rel_ids = rel_ids.into_iter().collect();
    p
}
