//! The `exhaustive` strategy, the referee: every distinct effective fault scenario, timestep
//! by timestep from shared frontiers, with a memo of frontiers already found good.

use super::*;

/// The scenario of a run without the omissions of channels that carried no message.
pub(super) fn effective(run: &Run) -> Scenario {
    let mut s = run.scenario.clone();
    s.omissions.retain(|&(a, b, t)| {
        run.messages.iter().any(|m| {
            (m.from, m.to, m.send_time) == (a, b, t) && m.status == eval::MsgStatus::Omitted
        })
    });
    s
}

/// Every crash choice: up to `crashes` distinct nodes, each with a time in 1..=EOT.
pub(super) fn crash_choices(nodes: &[Sym], eot: u32, crashes: u32) -> Vec<Vec<(Sym, u32)>> {
    let mut out = vec![Vec::new()];
    pub(super) fn rec(
        nodes: &[Sym],
        eot: u32,
        left: u32,
        start: usize,
        cur: &mut Vec<(Sym, u32)>,
        out: &mut Vec<Vec<(Sym, u32)>>,
    ) {
        if left == 0 {
            return;
        }
        for i in start..nodes.len() {
            for t in 1..=eot {
                cur.push((nodes[i], t));
                out.push(cur.clone());
                rec(nodes, eot, left - 1, i + 1, cur, out);
                cur.pop();
            }
        }
    }
    rec(nodes, eot, crashes, 0, &mut Vec::new(), &mut out);
    out
}

/// Exhaustive search over every distinct effective fault set, step by step: for each crash
/// choice, simulate timestep by timestep from the state entering timestep 1; after each
/// timestep t < EFF, branch over every subset of the channels that carry a delivered message
/// sent at t (the empty subset first, then by size), so that omitting an unsent message is
/// never tried and each effective fault set is reached exactly once. Branches that reach the
/// same state entering a timestep share everything after it: that state (a [`Frontier`]) is
/// memoized once its whole subtree is known to be good, and later branches reaching it are
/// cut. Returns true when every set was covered (or a counterexample stopped the search),
/// false when the budget ran out.
pub(super) fn exhaustive(d: &mut Driver) -> Result<bool, EvalError> {
    exhaustive_with(d, true)
}

/// Bytes of memo keys kept (an estimate, with the set's overhead): when the memo reaches it,
/// it is emptied and fills again with the states of the current part of the search, where
/// most hits are. Forgetting is sound: a forgotten state is only explored again.
pub(super) const MEMO_MAX_BYTES: usize = 64 << 20;

/// The states entering a timestep whose subtrees are known to hold only good runs, for one
/// crash choice. Keys are frontiers with their tuples interned as u32 ids.
#[derive(Default)]
pub(super) struct Memo {
    /// Per relation: tuple values -> id.
    ids: Vec<FxHashMap<Box<[Value]>, u32>>,
    next_id: u32,
    good: FxHashSet<Box<[u32]>>,
    bytes: usize,
}

impl Memo {
    pub(super) fn intern(&mut self, rel: RelId, vals: &[Value]) -> u32 {
        let rel = rel as usize;
        if self.ids.len() <= rel {
            self.ids.resize_with(rel + 1, FxHashMap::default);
        }
        if let Some(&id) = self.ids[rel].get(vals) {
            return id;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.ids[rel].insert(vals.into(), id);
        id
    }

    /// Intern what the frontiers after a timestep are made of: for each input (in
    /// [`Stepped::inputs`] order) the index of its channel in `channels` and its id, and the
    /// past tuples as (timestep, id).
    pub(super) fn successors(&mut self, stepped: &Stepped, channels: &[(Sym, Sym)]) -> Successors {
        let inputs = stepped
            .inputs()
            .map(|(ch, rel, vals)| {
                let ch = ch.and_then(|c| channels.binary_search(&c).ok());
                (ch, self.intern(rel, vals))
            })
            .collect();
        let past = stepped.past().iter().flat_map(|(t, rel, vals)| [*t, self.intern(*rel, vals)]);
        Successors { time: stepped.time + 1, inputs, past: past.collect() }
    }

    pub(super) fn insert(&mut self, key: Box<[u32]>) {
        if self.bytes >= MEMO_MAX_BYTES {
            self.clear();
        }
        self.bytes += key.len() * 4 + 48;
        self.good.insert(key);
    }

    /// Forget the good states (a new crash choice changes every state's future).
    pub(super) fn clear(&mut self) {
        self.good = FxHashSet::default();
        self.bytes = 0;
    }
}

/// The interned ingredients of the frontiers that follow one timestep.
pub(super) struct Successors {
    time: u32,
    /// (index of the channel that can cut it, tuple id), sorted by tuple: equal ids adjacent.
    inputs: Vec<(Option<usize>, u32)>,
    /// (timestep, tuple id) of the past tuples, flattened.
    past: Vec<u32>,
}

impl Successors {
    /// The canonical key of the frontier where the channels marked in `omitted` are cut:
    /// its time, the number of its inputs, their ids (deduplicated, in tuple order), then its
    /// past tuples. Interning is injective, so equal keys mean equal frontiers.
    pub(super) fn key(&self, omitted: &[bool]) -> Box<[u32]> {
        let mut k = Vec::with_capacity(2 + self.inputs.len() + self.past.len());
        k.push(self.time);
        k.push(0);
        for &(ch, id) in &self.inputs {
            if ch.is_some_and(|c| omitted[c]) || (k.len() > 2 && k[k.len() - 1] == id) {
                continue;
            }
            k.push(id);
        }
        k[1] = (k.len() - 2) as u32;
        k.extend_from_slice(&self.past);
        k.into()
    }
}

/// How a subtree of the exhaustive search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    /// Every leaf is a good run.
    Good,
    /// Some leaf violated the invariant (and the search goes on: `--all`).
    Bad,
    /// The search must stop: a counterexample without `--all`, or the budget ran out.
    Stop,
}

/// The fixed context of one crash choice in the exhaustive search, and the path.
pub(super) struct Walk<'s, 'p> {
    stepper: &'s Stepper<'p>,
    crashes: &'s [(Sym, u32)],
    /// Omissions chosen on the current path.
    omissions: Vec<(Sym, Sym, u32)>,
    /// `None` when memoization is off (tests compare both).
    memo: Option<&'s mut Memo>,
    last_leaf: Instant,
}

/// The exhaustive search, with or without memoization.
pub(super) fn exhaustive_with(d: &mut Driver, memoize: bool) -> Result<bool, EvalError> {
    let p = d.params;
    let run_params =
        RunParams { eot: p.eot, nodes: p.nodes.clone(), lineage: false, tuple_cap: p.tuple_cap };
    let mut memo = Memo::default();
    let choices = crash_choices(&p.nodes, p.eot, p.crashes);
    for crashes in choices {
        let s = Scenario { omissions: Default::default(), crashes };
        let stepper = Stepper::new(d.program, &run_params, &s);
        memo.clear();
        let mut walk = Walk {
            stepper: &stepper,
            crashes: &s.crashes,
            omissions: Vec::new(),
            memo: memoize.then_some(&mut memo),
            last_leaf: Instant::now(),
        };
        if visit(d, &mut walk, &stepper.start())? == Flow::Stop {
            return Ok(d.budget.is_none());
        }
    }
    Ok(true)
}

/// Compute the timestep `at` enters and explore every omission choice from there on.
pub(super) fn visit(d: &mut Driver, w: &mut Walk, at: &Frontier) -> Result<Flow, EvalError> {
    if d.out_of_budget() {
        return Ok(Flow::Stop);
    }
    let t0 = Instant::now();
    let stepped = w.stepper.step(at)?;
    d.stats.eval_time += t0.elapsed();
    d.stats.timesteps += 1;
    d.stats.firings += stepped.firings;
    d.tick();
    let t = stepped.time;
    if t >= d.params.eot {
        return leaf(d, w, stepped.violated);
    }
    let channels = if t < d.params.eff { stepped.channels() } else { Vec::new() };
    let mut flow = Flow::Good;
    let successors = w.memo.as_deref_mut().map(|memo| memo.successors(&stepped, &channels));
    let mut omitted = vec![false; channels.len()];
    let mut subsets = Subsets::new(channels.len());
    while let Some(picked) = subsets.next() {
        // Checked per branch too: a node can have a huge number of memo-cut branches.
        if d.out_of_budget() {
            return Ok(Flow::Stop);
        }
        omitted.iter_mut().for_each(|o| *o = false);
        picked.iter().for_each(|&i| omitted[i] = true);
        let key = match (w.memo.as_deref(), &successors) {
            (Some(memo), Some(succ)) => {
                let key = succ.key(&omitted);
                if memo.good.contains(&key) {
                    d.stats.memo_hits += 1;
                    continue;
                }
                Some(key)
            }
            _ => None,
        };
        let omit: Vec<(Sym, Sym)> = picked.iter().map(|&i| channels[i]).collect();
        let next = stepped.frontier(&omit);
        let depth = w.omissions.len();
        w.omissions.extend(omit.iter().map(|&(a, b)| (a, b, t)));
        let sub = visit(d, w, &next)?;
        w.omissions.truncate(depth);
        match sub {
            Flow::Stop => return Ok(Flow::Stop),
            Flow::Bad => flow = Flow::Bad,
            Flow::Good => {
                if let (Some(memo), Some(key)) = (w.memo.as_deref_mut(), key) {
                    memo.insert(key);
                }
            }
        }
    }
    Ok(flow)
}

/// A complete execution reached EOT: account for it, and replay it when it violates.
pub(super) fn leaf(d: &mut Driver, w: &mut Walk, violated: bool) -> Result<Flow, EvalError> {
    if w.omissions.is_empty() && w.crashes.is_empty() {
        // The failure-free run: the search already ran it as its baseline (and it is good).
        return Ok(Flow::Good);
    }
    let scenario =
        Scenario { omissions: w.omissions.iter().copied().collect(), crashes: w.crashes.to_vec() };
    d.stats.executions += 1;
    if d.runs.len() < MAX_RUN_RECORDS {
        d.runs.push(RunRecord {
            scenario: scenario.clone(),
            violated,
            micros: w.last_leaf.elapsed().as_micros() as u64,
        });
    }
    w.last_leaf = Instant::now();
    d.tick();
    if !violated {
        return Ok(Flow::Good);
    }
    // Report a real run: replay the scenario from timestep 1.
    let (run, dt) = evaluate(d.program, d.params, &scenario, false)?;
    d.stats.eval_time += dt;
    if !run.is_violation() {
        d.budget = Some(format!(
            "internal: the step-wise and replayed runs of {} disagree; the search stopped",
            scenario.to_faults(d.program)
        ));
        return Ok(Flow::Stop);
    }
    Ok(if d.found(run) { Flow::Stop } else { Flow::Bad })
}

/// The subsets of `0..n` as sorted index lists: the empty set first, then by size, each
/// size in lexicographic order.
pub(super) struct Subsets {
    n: usize,
    cur: Vec<usize>,
    started: bool,
}

impl Subsets {
    pub(super) fn new(n: usize) -> Subsets {
        Subsets { n, cur: Vec::new(), started: false }
    }

    pub(super) fn next(&mut self) -> Option<&[usize]> {
        if !self.started {
            self.started = true;
            return Some(&self.cur);
        }
        let (n, k) = (self.n, self.cur.len());
        // Advance the rightmost index that can move, and reset the ones after it.
        if let Some(i) = (0..k).rev().find(|&i| self.cur[i] < n - k + i) {
            self.cur[i] += 1;
            for j in i + 1..k {
                self.cur[j] = self.cur[j - 1] + 1;
            }
            return Some(&self.cur);
        }
        if k == n {
            return None;
        }
        self.cur = (0..k + 1).collect();
        Some(&self.cur)
    }
}
