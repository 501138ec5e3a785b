//! Helpers shared by the federation benchmarks in this folder (and by
//! crates/server/examples/bench_network.rs, which includes it by path):
//! flags, CPU time read from `/proc` (per thread name, per process, whole
//! machine), latency percentiles, and signed inbox load ([`load`]). Linux
//! only, like the benchmarks.

#![allow(dead_code)]

pub(crate) mod load;

use std::collections::BTreeMap;
use std::error::Error;
use std::str::FromStr;

pub(crate) type BoxError = Box<dyn Error + Send + Sync>;

/// `--name value` flags; anything else is an error.
pub(crate) struct Flags(BTreeMap<String, String>);

impl Flags {
    pub(crate) fn parse(known: &[&str]) -> Result<Flags, BoxError> {
        Flags::parse_from(std::env::args().skip(1), known)
    }

    /// Like [`Flags::parse`], from `args` (e.g. after a command).
    pub(crate) fn parse_from(mut args: impl Iterator<Item = String>, known: &[&str]) -> Result<Flags, BoxError> {
        let mut map = BTreeMap::new();
        while let Some(arg) = args.next() {
            let name = arg
                .strip_prefix("--")
                .filter(|n| known.contains(n))
                .ok_or_else(|| format!("unknown argument `{arg}`; flags: --{}", known.join(" --")))?;
            let value = args.next().ok_or_else(|| format!("--{name} needs a value"))?;
            map.insert(name.to_owned(), value);
        }
        Ok(Flags(map))
    }

    pub(crate) fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, BoxError>
    where
        T::Err: std::fmt::Display,
    {
        match self.0.get(name) {
            Some(v) => v.parse().map_err(|e| format!("--{name} {v}: {e}").into()),
            None => Ok(default),
        }
    }

    pub(crate) fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// Clock ticks per second of `/proc` CPU times (100 on Linux).
const TICKS: f64 = 100.0;

/// utime + stime (seconds) of a `/proc/…/stat` line, and its `comm`.
fn parse_stat(stat: &str) -> Option<(String, f64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
    // After `comm`: state is field 3, utime 14 and stime 15 (1-based).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((comm, (utime + stime) / TICKS))
}

/// CPU seconds of this process's threads, summed per thread name (runtime
/// threads are named after their role).
pub(crate) fn thread_cpu() -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        if let Some((comm, secs)) = parse_stat(&stat) {
            *out.entry(group(&comm)).or_insert(0.0) += secs;
        }
    }
    out
}

/// Groups thread names: `sqlx-sqlite-worker-3` → `sqlite`.
fn group(comm: &str) -> String {
    if comm.starts_with("sqlx-sqlite") {
        "sqlite".to_owned()
    } else {
        comm.to_owned()
    }
}

/// CPU seconds of one process (all its threads).
pub(crate) fn process_cpu(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| parse_stat(&s))
        .map(|(_, secs)| secs)
        .unwrap_or(0.0)
}

/// CPU seconds of every process named `name` (e.g. `postgres`), live ones only.
pub(crate) fn processes_cpu(name: &str) -> f64 {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    procs
        .flatten()
        .filter_map(|p| std::fs::read_to_string(p.path().join("stat")).ok())
        .filter_map(|s| parse_stat(&s))
        .filter(|(comm, _)| comm == name)
        .map(|(_, secs)| secs)
        .sum()
}

/// Busy CPU seconds of the whole machine (all cores, everything but idle and iowait).
pub(crate) fn machine_busy() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return 0.0;
    };
    let Some(line) = stat.lines().next() else {
        return 0.0;
    };
    let v: Vec<f64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let total: f64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    (total - idle) / TICKS
}

/// The `p`th percentile (0–100) of sorted values.
pub(crate) fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
