//! Tuple patterns (`None` matches any value), rule bindings and rule conditions under a
//! partial binding: the small pure helpers the gain and lower-bound reasoning share.

use super::Pattern;
use crate::analysis::ir::Value;
use crate::analysis::ir::{ArgPat, IrExpr, IrRule, Program, RelId, Step, TimeRef};

/// False when a condition of the rule is certainly false under the binding (every variable
/// it reads is bound); conditions that cannot be evaluated count as possibly true.
pub(super) fn conditions_may_hold(
    program: &Program,
    rule: &IrRule,
    binding: &[Option<Value>],
) -> bool {
    rule.full.steps.iter().all(|step| match step {
        Step::Filter { lhs, op, rhs } => condition(program, lhs, *op, rhs, binding) != Some(false),
        _ => true,
    })
}

/// True when every condition of the rule is certainly true under the binding; `None` when
/// one cannot be evaluated.
pub(super) fn conditions_hold(
    program: &Program,
    rule: &IrRule,
    binding: &[Option<Value>],
) -> Option<bool> {
    for step in &rule.full.steps {
        if let Step::Filter { lhs, op, rhs } = step {
            if !condition(program, lhs, *op, rhs, binding)? {
                return Some(false);
            }
        }
    }
    Some(true)
}

/// The value of one condition under a partial binding (`None`: unbound or not comparable).
fn condition(
    program: &Program,
    lhs: &IrExpr,
    op: crate::syntax::ast::CmpOp,
    rhs: &IrExpr,
    binding: &[Option<Value>],
) -> Option<bool> {
    use crate::syntax::ast::CmpOp;
    let (a, b) = (lhs.eval_partial(binding)?, rhs.eval_partial(binding)?);
    Some(match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        _ => {
            let ord = program.symbols.compare(a, b)?;
            match op {
                CmpOp::Lt => ord.is_lt(),
                CmpOp::Gt => ord.is_gt(),
                CmpOp::Le => ord.is_le(),
                CmpOp::Ge => ord.is_ge(),
                CmpOp::Eq | CmpOp::Ne => unreachable!("handled above"),
            }
        }
    })
}

pub(super) fn show_pattern(program: &Program, rel: RelId, pattern: &[Option<Value>]) -> String {
    let args: Vec<String> = pattern
        .iter()
        .map(|p| p.map_or("_".to_string(), |v| program.symbols.show(v).to_string()))
        .collect();
    format!("{}({})", program.rel_name(rel), args.join(", "))
}

pub(super) fn matches(pattern: &[Option<Value>], vals: &[Value]) -> bool {
    pattern.iter().zip(vals).all(|(p, v)| p.is_none_or(|p| p == *v))
}

/// The time a body atom reads when its rule's body is evaluated at `body_t`.
pub(super) fn at(time: TimeRef, body_t: u32) -> Option<u32> {
    match time {
        TimeRef::Now => Some(body_t),
        TimeRef::At(a) if a <= body_t => Some(a),
        TimeRef::At(_) => None,
    }
}

/// The pattern of a body atom under a partial binding of the rule's variables.
pub(super) fn atom_pattern(args: &[ArgPat], binding: &[Option<Value>]) -> Pattern {
    args.iter()
        .map(|a| match *a {
            ArgPat::Const(c) => Some(c),
            ArgPat::Bind(v) | ArgPat::Check(v) => binding[v as usize],
            ArgPat::Wild => None,
        })
        .collect()
}

/// The binding extended by matching an atom against a tuple; `None` when they disagree (a
/// constant, or a variable bound to another value, possibly earlier in the same atom).
pub(super) fn extend(
    binding: &[Option<Value>],
    args: &[ArgPat],
    vals: &[Value],
) -> Option<Vec<Option<Value>>> {
    let mut e = binding.to_vec();
    for (a, v) in args.iter().zip(vals.iter()) {
        match a {
            ArgPat::Bind(x) | ArgPat::Check(x) => match e[*x as usize] {
                Some(old) if old != *v => return None,
                _ => e[*x as usize] = Some(*v),
            },
            ArgPat::Const(c) if c != v => return None,
            _ => {}
        }
    }
    Some(e)
}

/// Every column of the atom is a constant, a wildcard or a variable the binding fixes: a
/// matching tuple then blocks a `notin` of it whatever the rest of the binding.
pub(super) fn determined(args: &[ArgPat], binding: &[Option<Value>]) -> bool {
    args.iter().all(|a| match *a {
        ArgPat::Bind(v) | ArgPat::Check(v) => binding[v as usize].is_some(),
        ArgPat::Const(_) | ArgPat::Wild => true,
    })
}
