//! The `random` strategy: seeded random fault injection, a baseline that never certifies.

use super::*;

/// Random fault injection: a uniform number of crashes at random times, and each possible
/// omission with probability 1/4. Never certifies.
pub(super) fn random(d: &mut Driver) -> Result<bool, EvalError> {
    let p = d.params;
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let n = p.nodes.len();
    loop {
        if d.params.max_runs.is_none() && d.stats.executions >= 10_000 {
            d.budget = Some("random search stopped after 10000 runs (set --max-runs)".into());
            return Ok(false);
        }
        if d.out_of_budget() {
            return Ok(false);
        }
        let mut s = Scenario::default();
        let k = rng.gen_range(0..=p.crashes.min(n as u32)) as usize;
        let mut pool = p.nodes.clone();
        for _ in 0..k {
            let i = rng.gen_range(0..pool.len());
            let node = pool.swap_remove(i);
            s.crashes.push((node, rng.gen_range(1..=p.eot)));
        }
        s.crashes.sort_unstable();
        for t in 1..p.eff {
            for &a in &p.nodes {
                for &b in &p.nodes {
                    if a != b && rng.gen_bool(0.25) {
                        s.omissions.insert((a, b, t));
                    }
                }
            }
        }
        let mut run = d.run(&s, false)?;
        if run.is_violation() {
            // Report only the omissions that hit a message: the others changed nothing, and
            // replaying the smaller set gives the same run.
            run.scenario = effective(&run);
            if d.found(run) {
                return Ok(true);
            }
        }
    }
}
