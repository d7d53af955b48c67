//! Tuple storage for one timestep: per relation a hash set of tuples (value slices → tuple
//! ids) and the hash indexes its join steps need, keyed by the bound columns.

use crate::analysis::ir::{Program, RelId, Value};
use rustc_hash::FxHashMap;

pub type TupleId = u32;

/// A tuple's values, shared by the run's arena, its timestep's set and whoever keys on the
/// tuple (the encoder): one allocation per tuple, and clones that only count references.
pub type Vals = std::sync::Arc<[Value]>;

/// An index: key values (the indexed columns) → tuple ids.
type Index = FxHashMap<Box<[Value]>, Vec<TupleId>>;

/// One relation's tuples at one timestep.
#[derive(Debug, Clone, Default)]
pub struct RelStore {
    set: FxHashMap<Vals, TupleId>,
    /// Tuple ids in insertion order.
    pub list: Vec<TupleId>,
    /// The semi-naive round of each tuple of `list` (nondecreasing: rounds only grow
    /// within a timestep), so that a round's tuples are a contiguous slice.
    rounds: Vec<u32>,
    /// (key columns, key values → tuple ids).
    indexes: Vec<(Vec<u8>, Index)>,
}

impl RelStore {
    fn new(index_cols: &[Vec<u8>]) -> RelStore {
        RelStore {
            set: FxHashMap::default(),
            list: Vec::new(),
            rounds: Vec::new(),
            indexes: index_cols
                .iter()
                .filter(|cols| !cols.is_empty())
                .map(|cols| (cols.clone(), FxHashMap::default()))
                .collect(),
        }
    }
    /// An empty store with room for as many tuples and index keys as `like` holds.
    fn sized_like(like: &RelStore) -> RelStore {
        let n = like.list.len();
        RelStore {
            set: FxHashMap::with_capacity_and_hasher(n, Default::default()),
            list: Vec::with_capacity(n),
            rounds: Vec::with_capacity(n),
            indexes: like
                .indexes
                .iter()
                .map(|(cols, index)| {
                    (
                        cols.clone(),
                        FxHashMap::with_capacity_and_hasher(index.len(), Default::default()),
                    )
                })
                .collect(),
        }
    }
    pub fn get(&self, vals: &[Value]) -> Option<TupleId> {
        self.set.get(vals).copied()
    }
    pub fn len(&self) -> usize {
        self.list.len()
    }
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
    /// Insert a tuple known to be absent.
    fn insert(&mut self, vals: &Vals, id: TupleId, round: u32) {
        self.set.insert(vals.clone(), id);
        self.list.push(id);
        self.rounds.push(round);
        for (cols, index) in &mut self.indexes {
            let key: Box<[Value]> = cols.iter().map(|&c| vals[c as usize]).collect();
            index.entry(key).or_default().push(id);
        }
    }
    /// The tuples derived in rounds `lo..hi`, in insertion order.
    pub fn in_rounds(&self, lo: u32, hi: u32) -> &[TupleId] {
        let a = self.rounds.partition_point(|&r| r < lo);
        let b = self.rounds.partition_point(|&r| r < hi);
        &self.list[a..b.max(a)]
    }

    /// The tuples whose `cols` hold `key` when an index over exactly `cols` exists (an empty
    /// `cols` means every tuple), `None` when there is no such index.
    pub fn lookup_indexed(&self, cols: &[u8], key: &[Value]) -> Option<&[TupleId]> {
        if cols.is_empty() {
            return Some(&self.list);
        }
        self.indexes
            .iter()
            .find(|(c, _)| c.as_slice() == cols)
            .map(|(_, index)| index.get(key).map_or(&[][..], |v| v.as_slice()))
    }

    /// The tuples whose `cols` hold `key` (an empty `cols` means every tuple; none without
    /// an index over exactly `cols`: the join plans ask only for indexed columns).
    pub fn lookup(&self, cols: &[u8], key: &[Value]) -> &[TupleId] {
        self.lookup_indexed(cols, key).unwrap_or(&[])
    }
}

/// A tuple in the run's arena.
#[derive(Debug, Clone)]
pub struct TupleRec {
    pub rel: RelId,
    pub time: u32,
    /// The semi-naive round that first derived it within its timestep (0 for inputs).
    pub round: u32,
    pub vals: Vals,
}

/// All tuples of one timestep.
#[derive(Debug, Clone)]
pub struct TimeStore {
    pub rels: Vec<RelStore>,
    pub count: usize,
}

impl TimeStore {
    pub fn new(program: &Program) -> TimeStore {
        TimeStore {
            rels: program.indexes.iter().map(|cols| RelStore::new(cols)).collect(),
            count: 0,
        }
    }
    /// An empty store sized for the tuples of `like` (the previous timestep's, which most
    /// of this one's repeat through persistence): its tables then do not grow tuple by tuple.
    pub fn sized_like(program: &Program, like: &TimeStore) -> TimeStore {
        if like.rels.len() != program.indexes.len() {
            return TimeStore::new(program);
        }
        TimeStore { rels: like.rels.iter().map(RelStore::sized_like).collect(), count: 0 }
    }
    /// A placeholder for a timestep whose tuples nothing will read: it holds no relation.
    pub fn empty() -> TimeStore {
        TimeStore { rels: Vec::new(), count: 0 }
    }
}

/// The arena of every tuple of a run plus the per-timestep stores.
#[derive(Debug, Clone, Default)]
pub struct Tuples {
    pub recs: Vec<TupleRec>,
    /// `times[t - 1]` is the store of timestep t.
    pub times: Vec<TimeStore>,
}

impl Tuples {
    pub fn store(&self, time: u32) -> Option<&TimeStore> {
        self.times.get((time as usize).wrapping_sub(1))
    }
    pub fn find(&self, rel: RelId, vals: &[Value], time: u32) -> Option<TupleId> {
        self.store(time)?.rels[rel as usize].get(vals)
    }
    /// Insert into timestep `time` (the last store); returns (id, was it new).
    pub fn insert(&mut self, rel: RelId, vals: &[Value], time: u32, round: u32) -> (TupleId, bool) {
        let store = &mut self.times[time as usize - 1];
        if let Some(id) = store.rels[rel as usize].get(vals) {
            return (id, false);
        }
        let id = self.recs.len() as TupleId;
        let vals: Vals = vals.into();
        store.rels[rel as usize].insert(&vals, id, round);
        store.count += 1;
        self.recs.push(TupleRec { rel, time, round, vals });
        (id, true)
    }
    pub fn rec(&self, id: TupleId) -> &TupleRec {
        &self.recs[id as usize]
    }
}
