//! Where `auto` starts its second thread. On Linux, a new thread is queued on its parent's
//! core, and on some virtual machines (this project's 2-core CI machine among them) it
//! waits there while the parent stays busy, until the parent blocks or the scheduler
//! rebalances (a median of 0.26 ms behind a parent busy for 0.2 ms, 2.3 ms behind one busy
//! for 3 ms: BENCHMARKS.md, "auto's second thread"), longer than most of the searches
//! `auto` races. So the parent yields
//! once after the spawn, and the new thread's first act is to move itself to another core
//! the process may use, then to allow itself the parent's cores again (it stays where it
//! moved). Measured here: the new thread runs on the other core ~0.15 ms after the spawn,
//! and the parent loses about as much. Elsewhere, and when the process may use one core
//! only, this is a plain scoped spawn.

use std::thread::{Scope, ScopedJoinHandle};

/// Spawn `f` on a scoped thread, started on a core other than the caller's when there is
/// one.
pub(super) fn spawn_elsewhere<'scope, T, F>(
    s: &'scope Scope<'scope, '_>,
    f: F,
) -> ScopedJoinHandle<'scope, T>
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

    /// Move the calling thread to the target core, then allow it the target's cores again
    /// (it stays where it now runs until the scheduler has a reason to move it).
    pub(super) fn move_to(target: &Target) {
        // SAFETY: all zeroes is the empty set; the core < CPU_SETSIZE (from `other_core`).
        let one = unsafe {
            let mut one: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(target.core, &mut one);
            one
        };
        set_mask(&one);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spawned_thread_runs_and_returns() {
        let out = std::thread::scope(|s| spawn_elsewhere(s, || 6 * 7).join().expect("joined"));
        assert_eq!(out, 42);
    }
}
