//! The `ldfi` binary: everything lives in the library; see [`ldfi::cli`].

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(ldfi::cli::main())
}
