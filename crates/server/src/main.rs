//! The `gazette` binary: parses the command line and runs it.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than glibc's malloc: in the coordinator's ingest profile
/// glibc's allocator took about 14% of the server's CPU (consolidating and
/// splitting chunks for bodies of tens of kilobytes); with mimalloc the
/// ingest rate rose 8% and page and WebFinger hits 5–15% (docs/benchmarks.md,
/// "mimalloc"). Built without transparent huge pages (`no_thp`): with them,
/// on a kernel that gives them to every mapping, the idle heap grew from 9
/// to 33 MiB; without, 11 MiB. Version 2 of mimalloc (`v2`), not the
/// crate's default 3: version 3 keeps freed pages for a second before
/// giving them back, and with one heap per thread (some thirty threads in
/// a fan-out) its peak under the preview stampede was 51–54 MiB of heap
/// against 31–44 with version 2, at the same read throughput
/// (docs/benchmarks.md, "sixth session"). SQLite's own allocations stay
/// with glibc.
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
