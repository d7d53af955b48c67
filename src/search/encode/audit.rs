//! Debugging aids, off unless their environment variable is set: `LDFI_AUDIT` checks every
//! clause added against a real run (a sound clause is never false there), and `LDFI_TRACE`
//! names auxiliary variables so the ones a hypothesis's model sets can be printed.

use super::{Encoder, TupleKey};
use rustc_hash::FxHashMap;
use rustsat::solvers::Solve;
use rustsat::types::{Lit, TernaryVal};

/// `LDFI_AUDIT`: the tuples of a real run, its faults, and the tuple behind each b/h variable.
pub(super) struct Audit {
    present: rustc_hash::FxHashSet<TupleKey>,
    scenario: crate::eval::Scenario,
    pub(super) meaning: FxHashMap<u32, (TupleKey, bool)>,
}

impl Audit {
    /// The value of a literal in the audited run, when its variable has a known meaning.
    fn value(&self, enc: &Encoder, l: Lit) -> Option<bool> {
        let v = l.var().idx32();
        let is = |x: &Lit| x.var().idx32() == v;
        let val = if let Some((k, holds)) = self.meaning.get(&v) {
            self.present.contains(k) == *holds
        } else if let Some((o, _)) = enc.omit.iter().find(|(_, x)| is(x)) {
            self.scenario.omissions.contains(o)
        } else if let Some((c, _)) = enc.crash.iter().find(|(_, x)| is(x)) {
            self.scenario.crashes.contains(c)
        } else if let Some(((n, t), _)) = enc.down.iter().find(|(_, x)| is(x)) {
            self.scenario.crashes.iter().any(|(m, ct)| m == n && ct <= t)
        } else {
            return None;
        };
        Some(val == l.is_pos())
    }

    /// Print a clause whose literals all have known values and are all false.
    pub(super) fn check(&self, enc: &Encoder, lits: &[Lit]) {
        let values: Option<Vec<bool>> = lits.iter().map(|&l| self.value(enc, l)).collect();
        if values.is_some_and(|v| v.iter().all(|b| !b)) {
            let shown: Vec<String> = lits
                .iter()
                .map(|&l| {
                    let sign = if l.is_pos() { "" } else { "not " };
                    match self.meaning.get(&l.var().idx32()) {
                        Some(((rel, t, vals), holds)) => format!(
                            "{sign}{}({}@{t})",
                            if *holds { "holds" } else { "lost" },
                            enc.program.show_tuple(*rel, vals)
                        ),
                        None => format!("{sign}fault var {}", l.var().idx32()),
                    }
                })
                .collect();
            eprintln!("LDFI_AUDIT: clause false in the audited run: {}", shown.join(" or "));
        }
    }
}

impl<'p> Encoder<'p> {
    /// Debugging aid (`LDFI_AUDIT`): from now on, check every clause added against the real
    /// run of `scenario` (every variable of a tuple, fault or crash has a true value there;
    /// a sound clause is never false). Violations are printed on stderr.
    pub fn audit(
        &mut self,
        scenario: &crate::eval::Scenario,
    ) -> Result<(), crate::eval::EvalError> {
        let params = crate::eval::RunParams {
            eot: self.eot,
            nodes: self.nodes.clone(),
            lineage: false,
            tuple_cap: crate::eval::DEFAULT_TUPLE_CAP,
        };
        let run = crate::eval::run(self.program, &params, scenario)?;
        let present = run.tuples.recs.iter().map(|r| (r.rel, r.time, r.vals.clone())).collect();
        self.audit =
            Some(Audit { present, scenario: scenario.clone(), meaning: FxHashMap::default() });
        Ok(())
    }

    /// Describe a variable for `LDFI_TRACE` (the first description of a positive literal
    /// wins: hash-consed literals serve several definitions).
    pub(super) fn name(&mut self, l: Lit, what: impl FnOnce() -> String) {
        if let Some(t) = &mut self.trace {
            if l.is_pos() {
                t.entry(l.var().idx32()).or_insert_with(what);
            }
        }
    }

    /// The described variables the current model sets true (debugging aid).
    pub fn trace_model(&self) -> Vec<String> {
        let Some(t) = &self.trace else { return Vec::new() };
        let mut out: Vec<(u32, &String)> = t
            .iter()
            .filter(|(&v, _)| {
                matches!(
                    self.solver.lit_val(rustsat::types::Var::new(v).pos_lit()),
                    Ok(TernaryVal::True)
                )
            })
            .map(|(v, s)| (*v, s))
            .collect();
        out.sort();
        out.into_iter().map(|(_, s)| s.clone()).collect()
    }
}
