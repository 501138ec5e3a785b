//! `bench_network seed`: the coordinator's database with the benchmark's
//! members (approved, as `gazette network approve` leaves them) and
//! articles, written with the store's own methods: each generated
//! `Article` goes through `item_from_object` (what the inbox does with a
//! member's `Create`) and `upsert_network_items`, the statements of
//! `upsert_network_item`, 500 articles per transaction.

use std::time::Instant;

use chrono::Utc;
use gazette_core::MemberStatus;
use gazette_store::Store;

use crate::common::BoxError;
use crate::corpus;

pub(crate) async fn run(store: &Store, members: usize, articles: u64, port_base: u16) -> Result<(), BoxError> {
    store.migrate().await?;
    let started = Instant::now();
    let specs: Vec<corpus::MemberSpec> = (0..members).map(|n| corpus::member(n, port_base)).collect();
    for m in &specs {
        store
            .request_membership(
                &m.actor,
                &m.host,
                &m.handle(),
                &format!("http://{}/inbox", m.host),
                &m.profile,
                MemberStatus::Requested,
            )
            .await?;
        store.set_member_status(&m.actor, MemberStatus::Approved).await?;
    }
    println!("{members} approved members in {:.1} s", started.elapsed().as_secs_f64());

    let started = Instant::now();
    let now = Utc::now();
    let mut batch = Vec::with_capacity(500);
    let mut inserted = 0usize;
    for n in 0..articles {
        let m = &specs[corpus::author_of(n, specs.len())];
        let object = corpus::article(m, n, "seed-", now);
        batch.push(gazette_federation::network::item_from_object(&object, &m.actor)?);
        if batch.len() == 500 || n + 1 == articles {
            let writes = store.upsert_network_items(&batch).await?;
            inserted += writes
                .iter()
                .filter(|w| **w == gazette_store::ItemWrite::Inserted)
                .count();
            batch.clear();
            if (n + 1) % 10_000 == 0 {
                eprintln!("  {} articles…", n + 1);
            }
        }
    }
    println!(
        "{articles} articles ({inserted} new) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
