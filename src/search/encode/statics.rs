//! What the encoding knows about the program before any run: the static value domain of
//! every column, the relations no fault can change, the same-time components (and which
//! are recursive), and the argument patterns of each rule's atoms.

use super::Encoder;
use crate::analysis::ir::Value;
use crate::analysis::ir::{ArgPat, HeadTerm, IrExpr, IrRule, Program, RelId, Step, TimeRef};
use crate::syntax::ast::{AggKind, HeadAnn};

/// Every tuple of q matching the pattern over the static column domains; `None` when an open
/// column's domain is unknown or there would be more than `limit` tuples.
pub(super) fn domain_tuples(
    enc: &Encoder,
    q: RelId,
    pattern: &[Option<Value>],
    limit: usize,
) -> Option<Vec<Vec<Value>>> {
    let mut columns: Vec<&[Value]> = Vec::with_capacity(pattern.len());
    let mut count = 1usize;
    for (col, p) in pattern.iter().enumerate() {
        let values: &[Value] = match p {
            Some(v) => std::slice::from_ref(v),
            None => enc.domains[q as usize][col].as_ref()?,
        };
        count = count.saturating_mul(values.len());
        if count > limit {
            return None;
        }
        columns.push(values);
    }
    // Every combination, the first column most significant (odometer order).
    let mut out = Vec::with_capacity(count);
    let mut digits = vec![0usize; columns.len()];
    for _ in 0..count {
        out.push(columns.iter().zip(&digits).map(|(vals, &d)| vals[d]).collect());
        for (d, vals) in digits.iter_mut().zip(&columns).rev() {
            *d += 1;
            if *d < vals.len() {
                break;
            }
            *d = 0;
        }
    }
    Some(out)
}

/// Whether each same-time component is recursive: a same-time rule deriving one of its
/// relations reads one of them (positively or negated) at the same time.
pub(super) fn recursive_components(program: &Program) -> Vec<bool> {
    let n = program.same_time_scc.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
    let mut out = vec![false; n];
    for rule in &program.rules {
        if rule.ann != HeadAnn::None {
            continue;
        }
        let c = program.same_time_scc[rule.head_rel as usize];
        let reads_own = rule
            .positives
            .iter()
            .chain(rule.negatives.iter())
            .any(|&(r, time)| time == TimeRef::Now && program.same_time_scc[r as usize] == c);
        if reads_own {
            out[c as usize] = true;
        }
    }
    out
}

/// The relations of each same-time component, indexed by component.
pub(super) fn components(program: &Program) -> Vec<std::rc::Rc<Vec<RelId>>> {
    let n = program.same_time_scc.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
    let mut out = vec![Vec::new(); n];
    for (r, &c) in program.same_time_scc.iter().enumerate() {
        out[c as usize].push(r as RelId);
    }
    out.into_iter().map(std::rc::Rc::new).collect()
}

/// Relations whose tuples are the same in every run: they do not depend, through any rule,
/// on a message (`@async` head) or on the crash oracle. Faults cannot change them.
pub(super) fn stable_relations(program: &Program) -> Vec<bool> {
    let mut stable = vec![true; program.rels.len()];
    if let Some(c) = program.crash_rel {
        stable[c as usize] = false;
    }
    for rule in &program.rules {
        if rule.ann == HeadAnn::Async {
            stable[rule.head_rel as usize] = false;
        }
    }
    loop {
        let mut changed = false;
        for rule in &program.rules {
            let h = rule.head_rel as usize;
            if stable[h]
                && rule
                    .positives
                    .iter()
                    .chain(rule.negatives.iter())
                    .any(|&(r, _)| !stable[r as usize])
            {
                stable[h] = false;
                changed = true;
            }
        }
        if !changed {
            return stable;
        }
    }
}

/// The argument patterns of a rule's (positive, negated) atoms, in source order.
pub(super) type RuleAtoms = (Vec<Vec<ArgPat>>, Vec<Vec<ArgPat>>);

/// The argument patterns of each rule's positive and negated atoms, in source order.
pub(super) fn rule_atoms(rule: &IrRule) -> RuleAtoms {
    let mut pos = vec![Vec::new(); rule.positives.len()];
    let mut neg = vec![Vec::new(); rule.negatives.len()];
    for step in &rule.full.steps {
        match step {
            Step::Scan { args, lit, .. } => pos[*lit] = args.clone(),
            Step::Absent { args, lit, .. } => neg[*lit] = args.clone(),
            Step::Filter { .. } => {}
        }
    }
    (pos, neg)
}

/// Most absent candidates an open pattern is split into.
pub(super) const MAX_SPLIT: usize = 16;
/// Most candidate tuples a saturation check enumerates.
pub(super) const SATURATION_LIMIT: usize = 4096;
/// Largest value domain kept per column (beyond it the domain counts as unknown).
const DOMAIN_LIMIT: usize = 1024;

/// A column's possible values: `None` when unknown (arithmetic, aggregates, too many).
pub(super) type Domain = Option<std::collections::BTreeSet<Value>>;
/// A known domain's values in order.
pub(super) type DomainList = Option<Vec<Value>>;

/// Static value domains of every column of every relation: the constants of facts and rule
/// heads, flowing through rule variables (a least fixpoint over sets; arithmetic, `count`
/// and `sum` make a column unknown). Every tuple of any run has its values in these domains.
pub(super) fn domains(program: &Program, atoms: &[RuleAtoms]) -> Vec<Vec<Domain>> {
    let mut dom: Vec<Vec<Domain>> =
        program.rels.iter().map(|r| vec![Some(Default::default()); r.arity]).collect();
    if let Some(c) = program.crash_rel {
        dom[c as usize] = vec![None; 3];
    }
    for f in &program.facts {
        for (col, v) in f.vals.iter().enumerate() {
            if let Some(d) = &mut dom[f.rel as usize][col] {
                d.insert(*v);
            }
        }
    }
    loop {
        let mut changed = false;
        for rule in &program.rules {
            let pos = &atoms[rule.id as usize].0;
            // A variable ranges over the intersection of the domains of its positive columns.
            let mut var: Vec<Option<Domain>> = vec![None; rule.nvars];
            for (i, args) in pos.iter().enumerate() {
                let rel = rule.positives[i].0 as usize;
                for (col, a) in args.iter().enumerate() {
                    if let ArgPat::Bind(v) | ArgPat::Check(v) = a {
                        let d = dom[rel][col].clone();
                        let slot = &mut var[*v as usize];
                        *slot = Some(match (slot.take(), d) {
                            (None, d) => d,
                            (Some(None), d) => d,
                            (Some(Some(a)), None) => Some(a),
                            (Some(Some(a)), Some(b)) => Some(a.intersection(&b).copied().collect()),
                        });
                    }
                }
            }
            for (col, term) in rule.head.iter().enumerate() {
                let add: Domain = match term {
                    HeadTerm::Expr(IrExpr::Const(c)) => Some([*c].into_iter().collect()),
                    HeadTerm::Expr(IrExpr::Var(v)) => var[*v as usize].clone().flatten(),
                    HeadTerm::Agg(AggKind::Min | AggKind::Max, v) => {
                        var[*v as usize].clone().flatten()
                    }
                    _ => None,
                };
                let slot = &mut dom[rule.head_rel as usize][col];
                let Some(cur) = slot else { continue };
                match add {
                    None => {
                        *slot = None;
                        changed = true;
                    }
                    Some(a) => {
                        let before = cur.len();
                        cur.extend(a);
                        if cur.len() > DOMAIN_LIMIT {
                            *slot = None;
                            changed = true;
                        } else if cur.len() != before {
                            changed = true;
                        }
                    }
                }
            }
        }
        if !changed {
            return dom;
        }
    }
}

/// The domains as sorted value lists (what [`domain_tuples`] enumerates).
pub(super) fn domain_lists(domains: Vec<Vec<Domain>>) -> Vec<Vec<DomainList>> {
    let list = |d: Domain| d.map(|set| set.into_iter().collect());
    domains.into_iter().map(|cols| cols.into_iter().map(list).collect()).collect()
}
