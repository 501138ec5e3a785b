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

/// mimalloc's `mi_option_purge_delay` (the position of that option in the
/// `mi_option_e` enum of mimalloc 2's `mimalloc.h`, which `libmimalloc-sys`
/// names only in part; the unit test below checks it against its default).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Memory freed is given back to the system at once, and SQLite's
/// connections allocate from one of glibc's arenas; each unless the
/// allocator's own variable (`MIMALLOC_PURGE_DELAY`, `MALLOC_ARENA_MAX`) says
/// otherwise. With mimalloc's default delay (10 ms, and ten times that for
/// whole segments), pages freed by a thread that then waits, as most do
/// between bursts, stayed committed: under the preview stampede its heap
/// peaked at 18–25 MiB, against 5–12 given back at once. Each SQLite
/// connection runs on its own thread, so glibc gave each an arena of its
/// own, and each kept what its page cache had freed: about 11 MiB at the
/// peak in all, against 6–9 in one arena (docs/benchmarks.md, "eighth
/// session"). Runs before the runtime's threads exist.
#[allow(unsafe_code)]
fn tune_allocators() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a mimalloc option (a plain integer it reads when it
        // schedules a purge), before any other thread exists to read it.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: glibc's mallopt with a documented parameter, called
        // before any other thread is started.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    }
}

fn main() -> ExitCode {
    tune_allocators();
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

#[cfg(test)]
mod tests {
    /// The option's number is mimalloc's purge delay: unset, it reads as
    /// mimalloc 2's documented default, 10 ms.
    #[test]
    #[allow(unsafe_code)]
    fn purge_delay_option_is_the_right_one() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads an option; no other effect.
        let delay = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(delay, 10);
    }
}
