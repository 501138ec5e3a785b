//! The `gazette` binary: parses the command line and runs it.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than glibc's malloc: in the coordinator's ingest profile
/// glibc's allocator took about 14% of the server's CPU (consolidating and
/// splitting chunks for bodies of tens of kilobytes); with mimalloc the
/// ingest rate rose 8% and page and WebFinger hits 5–15% (docs/benchmarks.md,
/// "mimalloc"). Built without transparent huge pages (`no_thp`): with them,
/// on a kernel that gives them to every mapping, the idle heap grew from 9
/// to 33 MiB; without, 11 MiB. SQLite's own allocations stay with glibc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = gazette::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(gazette::commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
