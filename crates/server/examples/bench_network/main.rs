//! The network coordinator benchmark (run by `scripts/bench-network`,
//! results in docs/benchmarks.md). Goals, with 100,000 articles from 200
//! members: a filtered feed page under 50 ms at p99, a full-text search
//! under 100 ms at p99, on SQLite and PostgreSQL, and at least 500 member
//! articles per second through the inbox.
//!
//! ```text
//! bench_network seed --database-url URL [--members 200] [--articles 100000] [--member-port-base 19100]
//! bench_network measure --base http://127.0.0.1:PORT [--requests 200] [--seconds 10] [--concurrency 8]
//! bench_network ingest --target http://localhost:PORT --database-url URL [--articles 20000]
//!     [--concurrency 64] [--rate 0] [--server-pid PID] [--members 200] [--member-port-base 19100]
//! ```
//!
//! The members live on `localhost:{member-port-base + n}`: `seed` records
//! them there and `ingest` serves them there (same numbers for both).

#[path = "../../../delivery/examples/common/mod.rs"]
mod common;
mod corpus;
mod ingest;
mod measure;
mod seed;

use std::time::Duration;

use common::{BoxError, Flags};
use gazette_store::Store;

fn main() -> Result<(), BoxError> {
    let command = std::env::args().nth(1).unwrap_or_default();
    // Flags::parse reads every argument after the program name; the
    // command is the first, so it is dropped from what Flags sees.
    let flags = Flags::parse_from(
        std::env::args().skip(2),
        &[
            "database-url",
            "members",
            "articles",
            "member-port-base",
            "base",
            "requests",
            "seconds",
            "concurrency",
            "target",
            "rate",
            "server-pid",
        ],
    )?;
    gazette_federation::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench")
        .enable_all()
        .build()?;
    let members: usize = flags.get("members", 200)?;
    let port_base: u16 = flags.get("member-port-base", 19100)?;
    let database = || {
        flags
            .str("database-url")
            .map(str::to_owned)
            .ok_or_else(|| BoxError::from("--database-url is required"))
    };
    match command.as_str() {
        "seed" => rt.block_on(async {
            let store = Store::connect(&database()?, 4).await?;
            let r = seed::run(&store, members, flags.get("articles", 100_000)?, port_base).await;
            store.close().await;
            r
        }),
        "measure" => rt.block_on(measure::run(measure::Settings {
            base: flags
                .str("base")
                .ok_or("--base http://127.0.0.1:PORT is required")?
                .trim_end_matches('/')
                .to_owned(),
            requests: flags.get("requests", 200)?,
            duration: Duration::from_secs(flags.get("seconds", 10)?),
            concurrency: flags.get("concurrency", 8)?,
            port_base,
        })),
        "ingest" => rt.block_on(async {
            let store = Store::connect(&database()?, 2).await?;
            let r = ingest::run(
                &store,
                ingest::Settings {
                    target: flags
                        .str("target")
                        .ok_or("--target http://localhost:PORT is required")?
                        .trim_end_matches('/')
                        .to_owned(),
                    members,
                    articles: flags.get("articles", 20_000)?,
                    concurrency: flags.get("concurrency", 64)?,
                    rate: flags.get("rate", 0.0)?,
                    port_base,
                    server_pid: flags.str("server-pid").map(str::parse).transpose()?,
                },
            )
            .await;
            store.close().await;
            r
        }),
        other => Err(format!("unknown command `{other}`: seed, measure or ingest").into()),
    }
}
