//! The `maillage` binary: logging, the async runtime, and the command line
//! (`maillage::cli`).

/// mimalloc rather than glibc's malloc: the SQLite driver's worker thread allocates the
/// rows that the runtime's threads free, and glibc serialises such cross-thread frees on
/// the allocating arena's lock (futex waits on every page of records; see
/// docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,wasmtime=warn,cranelift=warn".into()),
        )
        .init();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(maillage::cli::run_process()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
