//! The `ldfi` binary: everything lives in the library; see [`ldfi::cli`].

/// The allocator of the binary (and of the benches, which measure it): the search builds
/// and drops many small vectors and maps, where mimalloc is faster than the system's.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    restore_sigpipe();
    std::process::ExitCode::from(ldfi::cli::main())
}

/// Rust ignores SIGPIPE, so writing to a closed pipe (`ldfi run ... | head`) makes `println!`
/// panic. Like other Unix tools, ldfi should just end: restore the default action.
#[cfg(unix)]
fn restore_sigpipe() {
    // SAFETY: called first thing in main, before any other thread exists; it only resets
    // one signal's disposition to the default.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_sigpipe() {}
