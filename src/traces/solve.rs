//! The trace solver: the minimal fault sets (at most K faults) that cut every observed
//! successful path of a request class, smallest first.
//!
//! One boolean per fault candidate ("this service is down" / "this call fails"); one
//! clause per distinct successful path ("at least one thing it needs fails"); a
//! totalizer bounds the number of faults. As in `check`'s LDFI loop (same rustsat backend,
//! same totalizer-with-assumptions scheme), the bound grows from 1, every model found is
//! minimal because all smaller cuts and their supersets are already blocked, and each is
//! blocked in turn. This is a minimal hitting-set enumeration; the call graphs make the
//! encoding much simpler than Datalog lineage.

use crate::search::Backend;
use rustsat::encodings::card::{BoundUpper, Totalizer};
use rustsat::instances::{BasicVarManager, Cnf, ManageVars};
use rustsat::solvers::{Solve, SolveIncremental, SolverResult};
use rustsat::types::{Clause, Lit, TernaryVal};

/// A hitting-set problem over candidates `0..n`.
#[derive(Debug, Clone, Default)]
pub struct Problem {
    /// The number of fault candidates.
    pub n: usize,
    /// Every successful path: the candidates it needs (one of them failing cuts it).
    pub paths: Vec<Vec<usize>>,
    /// Fault sets whose supersets must not be proposed (a run with them already failed).
    pub no_supersets: Vec<Vec<usize>>,
    /// Fault sets not to propose again (already run); their supersets stay allowed.
    pub not_exactly: Vec<Vec<usize>>,
}

/// The minimal cuts of `p` with at most `k` faults, smallest first and, within one size,
/// in the order the solver finds them (callers sort); at most `cap` of them.
pub fn minimal_cuts(p: &Problem, k: usize, cap: usize) -> Vec<Vec<usize>> {
    if p.n == 0 || k == 0 || p.paths.is_empty() || p.paths.iter().any(Vec::is_empty) {
        // Nothing to cut, or a path no candidate can cut.
        return Vec::new();
    }
    let mut vm = BasicVarManager::default();
    let vars: Vec<Lit> = (0..p.n).map(|_| vm.new_var().pos_lit()).collect();
    let mut solver = Backend::default();
    let add = |solver: &mut Backend, lits: Vec<Lit>| {
        // The in-memory backend only fails on out-of-memory.
        let _ = solver.add_clause(lits.into_iter().collect::<Clause>());
    };
    for path in &p.paths {
        add(&mut solver, path.iter().map(|&i| vars[i]).collect());
    }
    for set in &p.no_supersets {
        add(&mut solver, set.iter().map(|&i| !vars[i]).collect());
    }
    for set in &p.not_exactly {
        let lits = (0..p.n).map(|i| if set.contains(&i) { !vars[i] } else { vars[i] }).collect();
        add(&mut solver, lits);
    }
    let k = k.min(p.n);
    let mut tot: Totalizer = vars.iter().copied().collect();
    let mut cls = Cnf::new();
    let _ = tot.encode_ub(0..=k, &mut cls, &mut vm);
    for cl in cls {
        let _ = solver.add_clause(cl);
    }
    let mut out = Vec::new();
    for size in 1..=k {
        let assumps = tot.enforce_ub(size).unwrap_or_default();
        while out.len() < cap {
            match solver.solve_assumps(&assumps) {
                Ok(SolverResult::Sat) => {}
                _ => break,
            }
            let cut: Vec<usize> = (0..p.n)
                .filter(|&i| matches!(solver.lit_val(vars[i]), Ok(TernaryVal::True)))
                .collect();
            // Block it and every superset: a superset of a cut is never minimal.
            add(&mut solver, cut.iter().map(|&i| !vars[i]).collect());
            out.push(cut);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut v: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
        v.sort();
        v
    }

    #[test]
    fn three_tiers_of_two_with_every_combination_seen() {
        // web 0,1; api 2,3; db 4,5; every (web, api, db) path observed.
        let mut paths = Vec::new();
        for w in 0..2 {
            for a in 2..4 {
                for d in 4..6 {
                    paths.push(vec![w, a, d]);
                }
            }
        }
        let p = Problem { n: 6, paths, ..Problem::default() };
        assert_eq!(sorted(minimal_cuts(&p, 2, 100)), [vec![0, 1], vec![2, 3], vec![4, 5]]);
        assert!(minimal_cuts(&p, 1, 100).is_empty());
    }

    #[test]
    fn smallest_first_minimal_and_blocking() {
        // Paths {0,1} and {0,2}: {0} cuts both; {1,2} is the other minimal cut.
        let p = Problem { n: 3, paths: vec![vec![0, 1], vec![0, 2]], ..Problem::default() };
        assert_eq!(minimal_cuts(&p, 2, 100), [vec![0], vec![1, 2]]);
        let blocked = Problem { no_supersets: vec![vec![0]], ..p.clone() };
        assert_eq!(minimal_cuts(&blocked, 3, 100), [vec![1, 2]]);
        // Ran {0} already and it survived without showing a new path: {0} is not proposed
        // again, but its supersets are (with {0} gone they are minimal).
        let ran = Problem { not_exactly: vec![vec![0]], ..p.clone() };
        assert_eq!(sorted(minimal_cuts(&ran, 2, 100)), [vec![0, 1], vec![0, 2], vec![1, 2]]);
        assert_eq!(minimal_cuts(&p, 2, 1), [vec![0]]);
    }

    #[test]
    fn an_uncuttable_path_means_no_cut() {
        let p = Problem { n: 2, paths: vec![vec![0], vec![]], ..Problem::default() };
        assert!(minimal_cuts(&p, 2, 100).is_empty());
    }
}
