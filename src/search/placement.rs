//! Where `auto` runs its second side. On Linux, a new or woken thread is queued on the core
//! of the thread that started or woke it, and on some virtual machines (this project's
//! 2-core CI machine among them) it waits there while that thread stays busy, until it
//! blocks or the scheduler rebalances (a median of 0.26 ms behind a parent busy for 0.2 ms,
//! 2.3 ms behind one busy for 3 ms: BENCHMARKS.md, "auto's second thread"), longer than
//! most of the searches `auto` races.
//!
//! [`join_later`] runs the second side on a helper thread that the calling thread keeps
//! for its lifetime (one per calling thread, started at its first race: a thread-local
//! resource, as a thread pool is, holding no search state). Before waking the helper the
//! caller pins it to another core, so that it starts there at once; running, it allows
//! itself the caller's cores again. When the caller's own side finishes before the helper
//! has begun (a search of a fraction of a millisecond), the caller takes the job back and
//! runs it itself, as a work-stealing pool's owner pops its own job: the smallest searches
//! pay no thread at all (the job then sees that the race is decided, and returns). A new
//! thread (the helper's first start, or a plain scoped spawn when the helper is busy) is
//! placed the same way: the caller yields once after the spawn, and the thread's first act
//! is to move itself to the other core. Elsewhere, and when the process may use one core
//! only, nothing is pinned.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

/// Run `main` on this thread and `side` beside it, on this thread's helper (on another core
/// when there is one), and return both results; the side starts only when `main` calls the
/// `start` it is given (later calls do nothing): until then no other thread is woken, which
/// costs the calling thread ~11 µs on this project's 2-core virtual machine, and the helper
/// ~30-70 µs more to run (BENCHMARKS.md, "Issue 12, session 15"). `None` for the side when
/// `main` never started it (it did not run). Once started, `side` runs either at the same
/// time as `main` or, when the helper had not begun it by the time `main` returned, on this
/// thread after `main`: it must be right either way. A panic on either side is resumed here, once `side`
/// has finished or been taken back.
pub(super) fn join_later<A, B, M, S>(main: M, side: S) -> (A, Option<B>)
where
    B: Send,
    M: FnOnce(&dyn Fn()) -> A,
    S: FnOnce() -> B + Send,
{
    let result: Mutex<Option<std::thread::Result<B>>> = Mutex::new(None);
    let job = || *lock(&result) = Some(catch_unwind(AssertUnwindSafe(side)));
    let mut main = Some(main);
    let mut job = Some(job);
    let ran = HELPER.try_with(|cell| {
        // Busy (a race inside a race): the fallback below.
        let mut helper = cell.try_borrow_mut().ok()?;
        if helper.is_none() {
            *helper = Helper::start();
        }
        let helper = helper.as_ref()?;
        let (main, job) = (main.take()?, job.take()?);
        Some(helper.beside(main, job))
    });
    let a = match (ran.ok().flatten(), main, job) {
        (Some(a), _, _) => a,
        (None, Some(main), Some(job)) => std::thread::scope(|s| {
            let handle = RefCell::new(None);
            let job = Cell::new(Some(job));
            let start = || {
                if let Some(job) = job.take() {
                    *handle.borrow_mut() = Some(spawn_elsewhere(s, job));
                }
            };
            let a = main(&start);
            if let Some(Err(panic)) = handle.into_inner().map(|h| h.join()) {
                resume_unwind(panic);
            }
            a
        }),
        (None, _, _) => unreachable!("the helper runs both sides once taken"),
    };
    match result.into_inner().unwrap_or_else(|e| e.into_inner()) {
        None => (a, None),
        Some(Ok(b)) => (a, Some(b)),
        Some(Err(panic)) => resume_unwind(panic),
    }
}

thread_local! {
    /// This thread's helper, started at its first [`join_later`].
    static HELPER: RefCell<Option<Helper>> = const { RefCell::new(None) };
}

/// A job handed to a helper; its true lifetime is [`Helper::beside`]'s call.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// What a helper is doing.
enum Slot {
    /// Waiting for a job.
    Idle,
    /// A job is waiting for it (the caller may take it back).
    Posted(Job),
    /// It runs the job.
    Running,
    /// The caller's thread has ended: the helper ends too.
    Exit,
}

/// State shared by a helper thread and the thread that owns it.
struct Shared {
    slot: Mutex<Slot>,
    changed: Condvar,
    /// The helper's thread id, once it runs (0 before), for pinning it from the owner.
    tid: AtomicI64,
    /// Jobs finished so far (the owner spins on it before it sleeps: see `reclaim`).
    finished: AtomicU64,
}

/// How long the owner spins for the helper to finish its job before it sleeps: a sleeping
/// thread woken from another core takes ~25 µs to run again here (a whole small search's
/// margin), and ldfi, when the race is decided, stops within a few microseconds.
const SPIN: Duration = Duration::from_micros(200);

/// A helper thread, owned by one calling thread.
struct Helper {
    shared: Arc<Shared>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Helper {
    /// Start a helper thread (placed on another core), or `None` when no thread can start.
    fn start() -> Option<Helper> {
        let shared = Arc::new(Shared {
            slot: Mutex::new(Slot::Idle),
            changed: Condvar::new(),
            tid: AtomicI64::new(0),
            finished: AtomicU64::new(0),
        });
        let target = imp::elsewhere();
        let moves = target.is_some();
        let theirs = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("ldfi-helper".into())
            .spawn(move || {
                if let Some(target) = &target {
                    imp::move_to(target);
                }
                theirs.tid.store(imp::thread_id(), Ordering::Release);
                serve(&theirs, target.as_ref());
            })
            .ok()?;
        if moves {
            std::thread::yield_now();
        }
        Some(Helper { shared })
    }

    /// Run `main`, which posts `job` when it calls the `start` it is given; then, if it was
    /// posted, take the job back if the helper has not begun it (and run it here) or wait
    /// for the helper to finish it.
    fn beside<'j, A>(
        &self,
        main: impl FnOnce(&dyn Fn()) -> A,
        job: impl FnOnce() + Send + 'j,
    ) -> A {
        let job: Box<dyn FnOnce() + Send + 'j> = Box::new(job);
        // SAFETY: only the lifetime is erased. The job borrows from the caller's frame, and
        // it is never used after this call: unposted, it is dropped here; posted, `Reclaim`
        // (also when `main` panics) either takes it back from the slot, or waits until the
        // helper has finished running it.
        let job: Job = unsafe { std::mem::transmute::<Box<dyn FnOnce() + Send + 'j>, Job>(job) };
        let waiting = Cell::new(Some(job));
        let reclaim = Reclaim { shared: &self.shared, finished: Cell::new(None) };
        let start = || {
            let Some(job) = waiting.take() else { return };
            reclaim.finished.set(Some(self.shared.finished.load(Ordering::Acquire)));
            {
                let mut slot = lock(&self.shared.slot);
                debug_assert!(matches!(*slot, Slot::Idle));
                *slot = Slot::Posted(job);
            }
            let tid = self.shared.tid.load(Ordering::Acquire);
            if tid != 0 {
                imp::pin_elsewhere(tid);
            }
            self.shared.changed.notify_all();
        };
        let a = main(&start);
        if let Some(job) = reclaim.take_back() {
            job();
        }
        a
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        *lock(&self.shared.slot) = Slot::Exit;
        self.shared.changed.notify_all();
    }
}

/// Ends a [`Helper::beside`]: the posted job is taken back, or has finished, when it drops.
struct Reclaim<'h> {
    shared: &'h Shared,
    /// [`Shared::finished`] before the job was posted (`None`: not posted).
    finished: Cell<Option<u64>>,
}

impl Reclaim<'_> {
    /// The job, when the helper has not begun it; otherwise `None` once it has finished (or
    /// when it was never posted).
    fn take_back(self) -> Option<Job> {
        let job = self.finished.get().and_then(|f| reclaim(self.shared, f));
        std::mem::forget(self);
        job
    }
}

impl Drop for Reclaim<'_> {
    fn drop(&mut self) {
        // Unwinding from `main`: the job is dropped unrun, or waited for.
        if let Some(f) = self.finished.get() {
            drop(reclaim(self.shared, f));
        }
    }
}

/// Take the posted job back, or wait until the helper has finished it (`finished`: the
/// helper's count of finished jobs before it was posted).
fn reclaim(shared: &Shared, finished: u64) -> Option<Job> {
    let mut slot = lock(&shared.slot);
    let mut spun = false;
    loop {
        match std::mem::replace(&mut *slot, Slot::Idle) {
            Slot::Posted(job) => return Some(job),
            Slot::Running if !spun => {
                *slot = Slot::Running;
                drop(slot);
                spin_until(|| shared.finished.load(Ordering::Acquire) != finished, SPIN);
                spun = true;
                slot = lock(&shared.slot);
            }
            Slot::Running => {
                *slot = Slot::Running;
                slot = shared.changed.wait(slot).unwrap_or_else(|e| e.into_inner());
            }
            Slot::Idle => return None,
            Slot::Exit => unreachable!("the owner is alive"),
        }
    }
}

/// The helper thread's loop: take each posted job, run it, report it done.
fn serve(shared: &Shared, target: Option<&imp::Target>) {
    loop {
        let job = {
            let mut slot = lock(&shared.slot);
            loop {
                match std::mem::replace(&mut *slot, Slot::Idle) {
                    Slot::Posted(job) => {
                        *slot = Slot::Running;
                        break job;
                    }
                    Slot::Exit => return,
                    other => {
                        *slot = other;
                        slot = shared.changed.wait(slot).unwrap_or_else(|e| e.into_inner());
                    }
                }
            }
        };
        if let Some(target) = target {
            imp::widen(target);
        }
        // The job catches its own panics (see `join_later`).
        job();
        *lock(&shared.slot) = Slot::Idle;
        shared.finished.fetch_add(1, Ordering::Release);
        shared.changed.notify_all();
    }
}

/// Spin until `done` or for at most `limit`.
fn spin_until(done: impl Fn() -> bool, limit: Duration) {
    let start = Instant::now();
    while !done() {
        for _ in 0..64 {
            std::hint::spin_loop();
        }
        if start.elapsed() > limit {
            return;
        }
    }
}

/// Spawn `f` on a scoped thread, started on a core other than the caller's when there is
/// one.
fn spawn_elsewhere<'scope, T, F>(s: &'scope Scope<'scope, '_>, f: F) -> ScopedJoinHandle<'scope, T>
where
    T: Send + 'scope,
    F: FnOnce() -> T + Send + 'scope,
{
    let target = imp::elsewhere();
    let moves = target.is_some();
    let handle = s.spawn(move || {
        if let Some(target) = target {
            imp::move_to(&target);
        }
        f()
    });
    if moves {
        // Let the new thread run (on this core, where it was queued) and move itself.
        std::thread::yield_now();
    }
    handle
}

#[cfg(target_os = "linux")]
mod imp {
    const SET_SIZE: usize = std::mem::size_of::<libc::cpu_set_t>();

    /// Where a new thread should move: another core, and the cores it may use afterwards.
    pub(super) struct Target {
        core: usize,
        allowed: libc::cpu_set_t,
    }

    /// The calling thread's affinity mask.
    fn mask() -> Option<libc::cpu_set_t> {
        // SAFETY: cpu_set_t is plain data (all zeroes is the empty set), and the size given
        // is the size of the set passed.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            (libc::sched_getaffinity(0, SET_SIZE, &mut set) == 0).then_some(set)
        }
    }

    /// Set the calling thread's affinity mask (a failure changes nothing).
    fn set_mask(set: &libc::cpu_set_t) {
        // SAFETY: the set is a valid cpu_set_t of the size given.
        unsafe {
            libc::sched_setaffinity(0, SET_SIZE, set);
        }
    }

    /// The core the calling thread runs on.
    fn current_core() -> Option<usize> {
        // SAFETY: sched_getcpu has no preconditions.
        usize::try_from(unsafe { libc::sched_getcpu() }).ok()
    }

    /// The first core after `current` (cyclically) in `allowed`, other than `current`.
    fn other_core(allowed: &libc::cpu_set_t, current: usize) -> Option<usize> {
        let n = libc::CPU_SETSIZE as usize;
        (1..n).map(|i| (current + i) % n).find(|&c| {
            // SAFETY: c < CPU_SETSIZE, within the set.
            unsafe { libc::CPU_ISSET(c, allowed) }
        })
    }

    /// Another core the calling thread may use, if any.
    pub(super) fn elsewhere() -> Option<Target> {
        let allowed = mask()?;
        let core = other_core(&allowed, current_core()?)?;
        Some(Target { core, allowed })
    }

    /// This thread's kernel id.
    pub(super) fn thread_id() -> i64 {
        // SAFETY: gettid has no preconditions.
        unsafe { libc::syscall(libc::SYS_gettid) }
    }

    /// Pin thread `tid` (of this process) to a core other than the caller's, if any.
    pub(super) fn pin_elsewhere(tid: i64) {
        let Some(target) = elsewhere() else { return };
        let Ok(tid) = libc::pid_t::try_from(tid) else { return };
        let one = single(target.core);
        // SAFETY: the set is a valid cpu_set_t of the size given; a failure changes nothing.
        unsafe {
            libc::sched_setaffinity(tid, SET_SIZE, &one);
        }
    }

    /// Allow the calling thread the target's cores again.
    pub(super) fn widen(target: &Target) {
        set_mask(&target.allowed);
    }

    /// The set holding `core` alone.
    fn single(core: usize) -> libc::cpu_set_t {
        // SAFETY: all zeroes is the empty set; the core < CPU_SETSIZE (from `other_core`).
        unsafe {
            let mut one: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(core, &mut one);
            one
        }
    }

    /// Move the calling thread to the target core, then allow it the target's cores again
    /// (it stays where it now runs until the scheduler has a reason to move it).
    pub(super) fn move_to(target: &Target) {
        set_mask(&single(target.core));
        set_mask(&target.allowed);
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    /// No placement here.
    pub(super) enum Target {}

    pub(super) fn elsewhere() -> Option<Target> {
        None
    }

    pub(super) fn move_to(target: &Target) {
        match *target {}
    }

    pub(super) fn thread_id() -> i64 {
        0
    }

    pub(super) fn pin_elsewhere(_tid: i64) {}

    pub(super) fn widen(target: &Target) {
        match *target {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`join_later`] with the side started at once.
    fn join_elsewhere<A, B, M, S>(main: M, side: S) -> (A, B)
    where
        B: Send,
        M: FnOnce() -> A,
        S: FnOnce() -> B + Send,
    {
        let (a, b) = join_later(
            |start| {
                start();
                main()
            },
            side,
        );
        (a, b.expect("the side job was started"))
    }

    #[test]
    fn a_side_never_started_never_runs_and_one_started_runs_once() {
        let hits = std::sync::atomic::AtomicU32::new(0);
        let side = || hits.fetch_add(1, Ordering::Relaxed);
        let (a, b) = join_later(|_start| 1, side);
        assert_eq!((a, b, hits.load(Ordering::Relaxed)), (1, None, 0));
        for late in [false, true] {
            let (a, b) = join_later(
                |start| {
                    if late {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    start();
                    start();
                    2
                },
                || hits.fetch_add(1, Ordering::Relaxed),
            );
            assert_eq!((a, b.is_some()), (2, true));
        }
        assert_eq!(hits.load(Ordering::Relaxed), 2);
        // A race inside a race takes the fallback (a scoped thread), started late too.
        let (a, b) = join_elsewhere(|| join_later(|start| start(), || 3), || 4);
        assert_eq!((a.1, b), (Some(3), 4));
    }

    #[test]
    fn the_spawned_thread_runs_and_returns() {
        let out = std::thread::scope(|s| spawn_elsewhere(s, || 6 * 7).join().expect("joined"));
        assert_eq!(out, 42);
    }

    #[test]
    fn both_sides_run_once_whoever_runs_the_side() {
        // A long main side lets the helper take the job; an instant one usually takes it
        // back. Either way each side runs exactly once and sees its borrows.
        let hits = std::sync::atomic::AtomicU32::new(0);
        for spin in [0u64, 2_000_000] {
            for _ in 0..50 {
                let (a, b) = join_elsewhere(
                    || (0..spin).fold(0u64, |x, i| x.wrapping_add(i)) + 1,
                    || hits.fetch_add(1, Ordering::Relaxed) + 1,
                );
                assert!(a >= 1 && b >= 1);
            }
        }
        assert_eq!(hits.load(Ordering::Relaxed), 100);
    }

    #[test]
    fn a_race_inside_a_race_falls_back_to_a_thread() {
        let (a, b) = join_elsewhere(|| join_elsewhere(|| 1, || 2), || 3);
        assert_eq!((a, b), ((1, 2), 3));
    }

    #[test]
    fn a_panicking_side_is_resumed_here() {
        let caught = catch_unwind(|| join_elsewhere(|| 1, || -> u32 { panic!("side") }));
        assert!(caught.is_err());
        // The helper survives for the next race.
        assert_eq!(join_elsewhere(|| 4, || 5), (4, 5));
    }
}
