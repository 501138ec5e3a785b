//! The outbound delivery queue on SQLite and PostgreSQL: queueing and dedupe,
//! claiming under leases (also by two processes at once), the retry
//! schedule, the circuit breaker, unavailable hosts, statistics and purging.
//! Times are passed in, so days of retries run without waiting.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gazette_store::testing::TestDb;
use gazette_store::{DeliveryOutcome, DeliveryResult, DeliveryStatus, Recorded, RetryPolicy, Store};

// Each test gets the whole `TestDb`: some open a second connection pool on
// the same database.
gazette_store::each_backend!(
    threads 4; db:
    enqueue_dedupes_inboxes,
    claim_honours_due_time_lease_and_host_caps,
    expired_lease_makes_a_row_claimable_again,
    concurrent_claimers_never_share_a_row,
    retries_follow_the_backoff_then_give_up,
    refusals_give_up_at_once,
    circuit_opens_and_closes,
    unavailable_hosts_are_skipped_until_they_speak,
    stats_count_per_host_and_purge_cleans_up,
    retry_after_is_honoured,
    throttling_does_not_open_the_circuit,
    oldest_waiting_delivery,
    followers_digests_ride_with_their_deliveries,
    follower_sync_reads_and_claims,
);

const ACTOR: &str = "https://here.example/users/org";
const LEASE: Duration = Duration::from_secs(60);

fn inbox(host: &str, i: usize) -> String {
    format!("https://{host}/users/u{i}/inbox")
}

fn payload(id: &str) -> String {
    format!(r#"{{"id":"{id}","type":"Create","actor":"{ACTOR}"}}"#)
}

async fn enqueue(store: &Store, activity: &str, inboxes: &[String]) -> u64 {
    store
        .enqueue_delivery(activity, ACTOR, &payload(activity), inboxes)
        .await
        .unwrap()
}

/// Due for sure: rows are queued due "now". Microseconds, as stored.
fn soon() -> DateTime<Utc> {
    let t = Utc::now() + chrono::Duration::seconds(1);
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap()
}

fn secs(s: i64) -> chrono::Duration {
    chrono::Duration::seconds(s)
}

fn result(id: &str, host: &str, outcome: DeliveryOutcome) -> DeliveryResult {
    DeliveryResult {
        id: id.into(),
        host: host.into(),
        outcome,
    }
}

/// A policy whose breaker never opens, to look at one thing at a time.
fn no_breaker() -> RetryPolicy {
    RetryPolicy {
        circuit_threshold: i64::MAX,
        ..Default::default()
    }
}

async fn enqueue_dedupes_inboxes(db: &TestDb) {
    let store = &db.store;
    let shared = "https://m.example/inbox".to_owned();
    let inboxes = vec![
        shared.clone(),
        shared.clone(),
        inbox("m.example", 1),
        "https://gts.example/users/c/inbox".into(),
    ];
    assert_eq!(
        enqueue(store, "https://here.example/a/1", &inboxes).await,
        3,
        "the same inbox twice is one delivery"
    );
    assert_eq!(
        enqueue(store, "https://here.example/a/1", &inboxes).await,
        0,
        "an activity goes once per inbox"
    );
    assert_eq!(
        enqueue(store, "https://here.example/a/2", std::slice::from_ref(&shared)).await,
        1,
        "another activity goes again"
    );
    assert_eq!(enqueue(store, "https://here.example/a/3", &[]).await, 0);

    let rows = store.list_deliveries("https://here.example/a/1").await.unwrap();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r.status == DeliveryStatus::Pending && r.attempts == 0 && r.locked_until.is_none())
    );
    let hosts: Vec<&str> = rows.iter().map(|r| r.host.as_str()).collect();
    assert_eq!(hosts, ["gts.example", "m.example", "m.example"]);

    let bad = store
        .enqueue_delivery("https://here.example/a/4", ACTOR, "{}", &["mailto:x@y".into()])
        .await;
    assert!(bad.is_err(), "not an http(s) inbox");
    assert!(
        store
            .list_deliveries("https://here.example/a/4")
            .await
            .unwrap()
            .is_empty()
    );

    // The claimed delivery carries what signing and sending need.
    let claimed = store.claim_deliveries(soon(), LEASE, 10, 10, &[]).await.unwrap();
    assert_eq!(claimed.len(), 4);
    let d = claimed
        .iter()
        .find(|d| d.activity_id == "https://here.example/a/2")
        .unwrap();
    assert_eq!(
        (d.actor_id.as_str(), d.inbox.as_str(), d.host.as_str()),
        (ACTOR, shared.as_str(), "m.example")
    );
    assert_eq!(d.payload, payload("https://here.example/a/2"));
    assert_eq!(d.attempts, 0);
}

async fn claim_honours_due_time_lease_and_host_caps(db: &TestDb) {
    let store = &db.store;
    let mut inboxes: Vec<String> = (0..10).map(|i| inbox("a.example", i)).collect();
    inboxes.extend((0..2).map(|i| inbox("b.example", i)));
    assert_eq!(enqueue(store, "https://here.example/a/1", &inboxes).await, 12);

    let past = Utc::now() - secs(60);
    assert!(
        store
            .claim_deliveries(past, LEASE, 10, 10, &[])
            .await
            .unwrap()
            .is_empty(),
        "nothing is due yet"
    );

    let now = soon();
    let first = store.claim_deliveries(now, LEASE, 10, 2, &[]).await.unwrap();
    let count = |v: &[gazette_store::Delivery], h: &str| v.iter().filter(|d| d.host == h).count();
    assert_eq!(
        (count(&first, "a.example"), count(&first, "b.example")),
        (2, 2),
        "at most two per host"
    );
    assert!(first.iter().all(|d| d.locked_until == now + secs(60)));

    let second = store.claim_deliveries(now, LEASE, 10, 2, &[]).await.unwrap();
    assert_eq!(
        (count(&second, "a.example"), count(&second, "b.example")),
        (2, 0),
        "claimed rows are not claimed again"
    );
    let ids: HashSet<&str> = first.iter().chain(&second).map(|d| d.id.as_str()).collect();
    assert_eq!(ids.len(), 6);

    let skipped = store
        .claim_deliveries(now, LEASE, 10, 10, &["a.example".into()])
        .await
        .unwrap();
    assert!(skipped.is_empty(), "busy hosts are skipped");
    let rest = store.claim_deliveries(now, LEASE, 3, 10, &[]).await.unwrap();
    assert_eq!(rest.len(), 3, "the limit holds");

    // Released rows are due again at once, without an attempt counted.
    let released: Vec<String> = first.iter().map(|d| d.id.clone()).collect();
    store.release_deliveries(&released, now).await.unwrap();
    let again = store.claim_deliveries(now, LEASE, 10, 10, &[]).await.unwrap();
    let again_ids: HashSet<&str> = again.iter().map(|d| d.id.as_str()).collect();
    assert!(released.iter().all(|id| again_ids.contains(id.as_str())));
    assert!(again.iter().all(|d| d.attempts == 0));
}

async fn expired_lease_makes_a_row_claimable_again(db: &TestDb) {
    let store = &db.store;
    enqueue(store, "https://here.example/a/1", &[inbox("a.example", 1)]).await;
    let now = soon();
    // A worker claims the row and dies without a word.
    let crashed = store.claim_deliveries(now, LEASE, 10, 10, &[]).await.unwrap();
    assert_eq!(crashed.len(), 1);
    assert!(
        store
            .claim_deliveries(now + secs(59), LEASE, 10, 10, &[])
            .await
            .unwrap()
            .is_empty()
    );
    let taken_over = store
        .claim_deliveries(now + secs(60), LEASE, 10, 10, &[])
        .await
        .unwrap();
    assert_eq!(taken_over.len(), 1, "the lease ran out");
    assert_eq!(taken_over[0].id, crashed[0].id);

    // The new holder's result counts.
    let t = now + secs(61);
    let done = store
        .delivery_succeeded(&taken_over[0].id, "a.example", t)
        .await
        .unwrap();
    assert_eq!(done, Recorded::Delivered);
    assert_eq!(
        store
            .delivery_succeeded(&taken_over[0].id, "a.example", t)
            .await
            .unwrap(),
        Recorded::Ignored
    );
    let row = &store.list_deliveries("https://here.example/a/1").await.unwrap()[0];
    assert_eq!(
        (row.status, row.delivered_at, row.locked_until),
        (DeliveryStatus::Delivered, Some(t), None)
    );
}

async fn concurrent_claimers_never_share_a_row(db: &TestDb) {
    const ROWS: usize = 400;
    let inboxes: Vec<String> = (0..ROWS).map(|i| inbox(&format!("h{}.example", i % 40), i)).collect();
    assert_eq!(
        enqueue(&db.store, "https://here.example/a/1", &inboxes).await,
        ROWS as u64
    );
    // Two processes: two pools on one database, four claimers each.
    let other = Store::connect(&db.url, 4).await.unwrap();
    let now = soon();
    let mut tasks = Vec::new();
    for store in [db.store.clone(), other.clone()] {
        for _ in 0..4 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                let mut empty = 0;
                // Stop after a few empty claims in a row: with SKIP LOCKED a
                // claim may come back empty while others hold the rest.
                while empty < 5 {
                    let got = store.claim_deliveries(now, LEASE, 7, 100, &[]).await.unwrap();
                    if got.is_empty() {
                        empty += 1;
                        tokio::task::yield_now().await;
                    } else {
                        empty = 0;
                        mine.extend(got.into_iter().map(|d| d.id));
                    }
                }
                mine
            }));
        }
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a row was claimed twice");
    assert_eq!(all.len(), ROWS, "every row was claimed");
    other.close().await;
}

async fn retries_follow_the_backoff_then_give_up(db: &TestDb) {
    let store = &db.store;
    let policy = no_breaker();
    enqueue(store, "https://here.example/a/1", &[inbox("a.example", 1)]).await;
    let started = soon();
    let mut t = started;
    for failures in 1..=policy.max_retries {
        let claimed = store.claim_deliveries(t, LEASE, 10, 10, &[]).await.unwrap();
        assert_eq!(claimed.len(), 1, "due at failure {failures}");
        assert_eq!(claimed[0].attempts, failures - 1);
        let recorded = store
            .delivery_failed(&claimed[0].id, "a.example", t, "HTTP 503", true, &policy)
            .await
            .unwrap();
        let Recorded::RetryAt(at) = recorded else {
            panic!("failure {failures}: {recorded:?}")
        };
        let wait = (at - t).to_std().unwrap();
        assert!(
            policy.backoff_with_jitter(failures, 0) <= wait && wait <= policy.backoff_with_jitter(failures, 9),
            "failure {failures}: waits {wait:?}"
        );
        assert!(
            store
                .claim_deliveries(at - chrono::Duration::microseconds(1), LEASE, 10, 10, &[])
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.next_delivery_wakeup(t).await.unwrap(), Some(at));
        t = at;
    }
    let days = (t - started).num_seconds() as f64 / 86_400.0;
    assert!((2.0..2.2).contains(&days), "the last retry comes after {days} days");
    let claimed = store.claim_deliveries(t, LEASE, 10, 10, &[]).await.unwrap();
    let last = store
        .delivery_failed(&claimed[0].id, "a.example", t, "HTTP 503", true, &policy)
        .await
        .unwrap();
    assert_eq!(
        last,
        Recorded::GivenUp,
        "the first attempt and 16 retries, then no more"
    );
    let row = &store.list_deliveries("https://here.example/a/1").await.unwrap()[0];
    assert_eq!((row.status, row.attempts), (DeliveryStatus::GivenUp, 17));
    assert_eq!(row.last_error.as_deref(), Some("HTTP 503"));
    assert!(
        store
            .claim_deliveries(t + secs(86_400), LEASE, 10, 10, &[])
            .await
            .unwrap()
            .is_empty()
    );

    // A delivery failing past its maximum age is given up with retries left.
    enqueue(store, "https://here.example/a/2", &[inbox("a.example", 1)]).await;
    let old = soon() + chrono::Duration::from_std(policy.max_age).unwrap();
    let claimed = store.claim_deliveries(old, LEASE, 10, 10, &[]).await.unwrap();
    let recorded = store
        .delivery_failed(&claimed[0].id, "a.example", old, "timeout", true, &policy)
        .await
        .unwrap();
    assert_eq!(recorded, Recorded::GivenUp);
}

async fn refusals_give_up_at_once(db: &TestDb) {
    let store = &db.store;
    let policy = RetryPolicy::default();
    let inboxes = [inbox("gone.example", 1), inbox("private.example", 1)];
    enqueue(store, "https://here.example/a/1", &inboxes).await;
    let claimed = store.claim_deliveries(soon(), LEASE, 10, 10, &[]).await.unwrap();
    let by_host = |h: &str| claimed.iter().find(|d| d.host == h).unwrap().id.clone();
    let t = soon();
    let recorded = store
        .record_delivery_results(
            t,
            &[
                result(
                    &by_host("gone.example"),
                    "gone.example",
                    DeliveryOutcome::Rejected("HTTP 410 Gone".into()),
                ),
                result(
                    &by_host("private.example"),
                    "private.example",
                    DeliveryOutcome::Abandoned("refusing to deliver to a private address".into()),
                ),
            ],
            &policy,
        )
        .await
        .unwrap();
    assert_eq!(recorded, [Recorded::GivenUp, Recorded::GivenUp]);
    let rows = store.list_deliveries("https://here.example/a/1").await.unwrap();
    assert!(rows.iter().all(|r| r.status == DeliveryStatus::GivenUp));
    assert_eq!(rows[0].attempts, 1, "the host was asked once");
    assert_eq!(rows[1].attempts, 0, "the request was never sent");
    assert_eq!(
        rows[1].last_error.as_deref(),
        Some("refusing to deliver to a private address")
    );
    // An answer, even a refusal, shows the host is alive; an abandoned send says nothing about it.
    let stats = store.delivery_stats().await.unwrap();
    let gone = stats.iter().find(|s| s.host == "gone.example").unwrap();
    assert_eq!(
        (gone.given_up, gone.consecutive_failures, gone.last_failure_at),
        (1, 0, None)
    );
    let private = stats.iter().find(|s| s.host == "private.example").unwrap();
    assert_eq!((private.given_up, private.consecutive_failures), (1, 0));
}

async fn circuit_opens_and_closes(db: &TestDb) {
    let store = &db.store;
    let policy = RetryPolicy {
        circuit_threshold: 3,
        circuit_base: Duration::from_secs(60),
        circuit_max: Duration::from_secs(100),
        ..Default::default()
    };
    let inboxes: Vec<String> = (0..6).map(|i| inbox("down.example", i)).collect();
    enqueue(store, "https://here.example/a/1", &inboxes).await;
    enqueue(store, "https://here.example/a/1", &[inbox("up.example", 1)]).await;
    let t = soon();
    let claimed = store.claim_deliveries(t, LEASE, 10, 10, &[]).await.unwrap();
    let down: Vec<String> = claimed
        .iter()
        .filter(|d| d.host == "down.example")
        .map(|d| d.id.clone())
        .collect();
    assert_eq!(down.len(), 6);
    for id in &down[..3] {
        store
            .delivery_failed(id, "down.example", t, "connection refused", true, &policy)
            .await
            .unwrap();
    }
    let host =
        |stats: Vec<gazette_store::HostDeliveryStats>| stats.into_iter().find(|s| s.host == "down.example").unwrap();
    let s = host(store.delivery_stats().await.unwrap());
    assert_eq!((s.consecutive_failures, s.circuit_open_until), (3, Some(t + secs(60))));
    assert_eq!(s.last_error.as_deref(), Some("connection refused"));
    // The same in the few numbers `/metrics` shows: nothing per host.
    let summary = store.delivery_summary(t + secs(1)).await.unwrap();
    assert_eq!(summary.open_circuits, 1);
    assert_eq!(
        (summary.pending + summary.retrying, summary.delivered, summary.given_up),
        (7, 0, 0)
    );
    assert!(summary.oldest_pending.is_some_and(|at| at <= Utc::now()));
    assert_eq!(store.delivery_summary(t + secs(61)).await.unwrap().open_circuits, 0);

    // While the circuit is open the host's rows wait, others go on.
    store.release_deliveries(&down[3..], t).await.unwrap();
    let up = claimed.iter().find(|d| d.host == "up.example").unwrap();
    store.release_deliveries(std::slice::from_ref(&up.id), t).await.unwrap();
    let during = store.claim_deliveries(t + secs(1), LEASE, 10, 10, &[]).await.unwrap();
    assert_eq!(
        during.iter().map(|d| d.host.as_str()).collect::<Vec<_>>(),
        ["up.example"]
    );
    store
        .delivery_succeeded(&during[0].id, "up.example", t + secs(1))
        .await
        .unwrap();
    let wake = store.next_delivery_wakeup(t + secs(1)).await.unwrap().unwrap();
    assert!(wake <= t + secs(60), "a worker wakes when the circuit closes");

    // When it closes, the rows go again; another failure opens it for longer (up to the cap).
    let after = store.claim_deliveries(t + secs(60), LEASE, 10, 10, &[]).await.unwrap();
    assert!(after.len() >= 3 && after.iter().all(|d| d.host == "down.example"));
    let t2 = t + secs(60);
    store
        .delivery_failed(&after[0].id, "down.example", t2, "timeout", true, &policy)
        .await
        .unwrap();
    assert_eq!(
        host(store.delivery_stats().await.unwrap()).circuit_open_until,
        Some(t2 + secs(100))
    );
    assert!(
        store
            .claim_deliveries(t2 + secs(99), LEASE, 10, 10, &[])
            .await
            .unwrap()
            .is_empty()
    );

    // One success closes it at once.
    store
        .delivery_succeeded(&after[1].id, "down.example", t2)
        .await
        .unwrap();
    let s = host(store.delivery_stats().await.unwrap());
    assert_eq!(
        (s.consecutive_failures, s.circuit_open_until, s.last_success_at),
        (0, None, Some(t2))
    );
    store
        .release_deliveries(std::slice::from_ref(&after[2].id), t2)
        .await
        .unwrap();
    assert_eq!(store.claim_deliveries(t2, LEASE, 10, 10, &[]).await.unwrap().len(), 1);
}

async fn unavailable_hosts_are_skipped_until_they_speak(db: &TestDb) {
    let store = &db.store;
    let policy = RetryPolicy {
        max_age: Duration::from_secs(30 * 86_400),
        ..no_breaker()
    };
    enqueue(
        store,
        "https://here.example/a/1",
        &[inbox("dead.example", 1), inbox("dead.example", 2)],
    )
    .await;
    let t0 = soon();
    let claimed = store.claim_deliveries(t0, LEASE, 10, 10, &[]).await.unwrap();
    store
        .delivery_failed(&claimed[0].id, "dead.example", t0, "connection refused", true, &policy)
        .await
        .unwrap();
    store
        .release_deliveries(std::slice::from_ref(&claimed[1].id), t0 + secs(86_400 * 8))
        .await
        .unwrap();

    // Six days later it still fails: not yet unavailable.
    let t1 = t0 + secs(6 * 86_400);
    let again = store.claim_deliveries(t1, LEASE, 10, 10, &[]).await.unwrap();
    assert_eq!(again.len(), 1);
    let r = store
        .delivery_failed(&again[0].id, "dead.example", t1, "connection refused", true, &policy)
        .await
        .unwrap();
    assert!(matches!(r, Recorded::RetryAt(_)));
    assert!(!store.delivery_stats().await.unwrap()[0].unavailable);

    // Seven days after the first failure it is marked unavailable and everything to it is given up.
    let t2 = t0 + secs(7 * 86_400);
    let again = store.claim_deliveries(t2, LEASE, 10, 10, &[]).await.unwrap();
    let r = store
        .delivery_failed(&again[0].id, "dead.example", t2, "connection refused", true, &policy)
        .await
        .unwrap();
    assert_eq!(r, Recorded::GivenUp);
    let stats = store.delivery_stats().await.unwrap();
    assert!(stats[0].unavailable);
    assert_eq!((stats[0].pending, stats[0].retrying, stats[0].given_up), (0, 0, 2));
    let rows = store.list_deliveries("https://here.example/a/1").await.unwrap();
    assert!(rows.iter().all(|r| r.status == DeliveryStatus::GivenUp));
    assert!(rows[1].last_error.as_deref().unwrap().starts_with("host unavailable"));

    // New deliveries to it are skipped…
    let inboxes = [inbox("dead.example", 1), inbox("live.example", 1)];
    assert_eq!(enqueue(store, "https://here.example/a/2", &inboxes).await, 1);
    // …until it sends us something: then it is alive again.
    assert!(store.host_alive("Dead.Example").await.unwrap());
    assert!(!store.host_alive("dead.example").await.unwrap(), "already alive");
    assert!(!store.host_alive("never.example").await.unwrap());
    let s = store
        .delivery_stats()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.host == "dead.example")
        .unwrap();
    assert_eq!(
        (s.unavailable, s.consecutive_failures, s.failing_since),
        (false, 0, None)
    );
    assert_eq!(enqueue(store, "https://here.example/a/3", &inboxes).await, 2);
}

async fn stats_count_per_host_and_purge_cleans_up(db: &TestDb) {
    let store = &db.store;
    let policy = no_breaker();
    let a: Vec<String> = (0..4).map(|i| inbox("a.example", i)).collect();
    enqueue(store, "https://here.example/a/1", &a).await;
    enqueue(store, "https://here.example/a/2", &[inbox("b.example", 1)]).await;
    let t = soon();
    let claimed = store
        .claim_deliveries(t, LEASE, 10, 10, &["b.example".into()])
        .await
        .unwrap();
    assert_eq!(claimed.len(), 4);
    let results = vec![
        result(&claimed[0].id, "a.example", DeliveryOutcome::Delivered),
        result(&claimed[1].id, "a.example", DeliveryOutcome::Retry("HTTP 502".into())),
        result(
            &claimed[2].id,
            "a.example",
            DeliveryOutcome::Rejected("HTTP 404".into()),
        ),
    ];
    let recorded = store.record_delivery_results(t, &results, &policy).await.unwrap();
    assert!(matches!(
        recorded[..],
        [Recorded::Delivered, Recorded::RetryAt(_), Recorded::GivenUp]
    ));
    store
        .release_deliveries(std::slice::from_ref(&claimed[3].id), t)
        .await
        .unwrap();

    let stats = store.delivery_stats().await.unwrap();
    let hosts: Vec<&str> = stats.iter().map(|s| s.host.as_str()).collect();
    assert_eq!(hosts, ["a.example", "b.example"]);
    let (sa, sb) = (&stats[0], &stats[1]);
    assert_eq!((sa.pending, sa.retrying, sa.delivered, sa.given_up), (1, 1, 1, 1));
    assert_eq!((sb.pending, sb.retrying, sb.delivered, sb.given_up), (1, 0, 0, 0));
    // The 404 came after the 502: the host answered, so no failure streak.
    assert_eq!(
        (sa.consecutive_failures, sa.last_error.as_deref()),
        (0, Some("HTTP 502"))
    );
    assert!(!sa.unavailable && sa.last_success_at == Some(t));

    // Purging keeps pending rows and the activities they need.
    assert_eq!(
        store.purge_delivered(Utc::now() - secs(3600)).await.unwrap(),
        0,
        "nothing old enough"
    );
    assert_eq!(store.purge_delivered(Utc::now() + secs(1)).await.unwrap(), 2);
    let left = store.list_deliveries("https://here.example/a/1").await.unwrap();
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|r| r.status == DeliveryStatus::Pending));
    let due = store
        .claim_deliveries(t + secs(3600), LEASE, 10, 10, &[])
        .await
        .unwrap();
    assert_eq!(due.len(), 3, "payloads of pending rows survive the purge");
    for d in &due {
        store.delivery_succeeded(&d.id, &d.host, t + secs(3600)).await.unwrap();
    }
    assert_eq!(store.purge_delivered(Utc::now() + secs(7200)).await.unwrap(), 3);
    assert!(
        store
            .list_deliveries("https://here.example/a/2")
            .await
            .unwrap()
            .is_empty()
    );
    // With its rows purged, an activity may be queued again.
    assert_eq!(
        enqueue(store, "https://here.example/a/2", &[inbox("b.example", 1)]).await,
        1
    );
}

/// A host that answers 429 or 503 with `Retry-After` is not tried again
/// before then, even when the backoff would come back sooner; a short
/// `Retry-After` does not shorten the backoff.
async fn retry_after_is_honoured(db: &TestDb) {
    let store = &db.store;
    let policy = no_breaker();
    enqueue(
        store,
        "https://here.example/a/1",
        &[inbox("a.example", 1), inbox("b.example", 1)],
    )
    .await;
    let t = soon();
    let claimed = store.claim_deliveries(t, LEASE, 10, 10, &[]).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let hour = Duration::from_secs(3600);
    let results = vec![
        result(
            &claimed[0].id,
            &claimed[0].host,
            DeliveryOutcome::RetryAfter("HTTP 429".into(), hour),
        ),
        result(
            &claimed[1].id,
            &claimed[1].host,
            DeliveryOutcome::RetryAfter("HTTP 503".into(), Duration::from_secs(1)),
        ),
    ];
    let recorded = store.record_delivery_results(t, &results, &policy).await.unwrap();
    let [Recorded::RetryAt(long), Recorded::RetryAt(short)] = recorded[..] else {
        panic!("{recorded:?}")
    };
    assert!((long - t).to_std().unwrap() >= hour, "{long} is sooner than asked");
    let backoff_floor = policy.backoff_with_jitter(1, 0);
    assert!(
        (short - t).to_std().unwrap() >= backoff_floor,
        "{short} is sooner than the backoff"
    );
    assert!((short - t).to_std().unwrap() < hour);
}

/// A host that answers 429 with `Retry-After` is throttling us, not down:
/// its rows wait as asked, but its circuit stays closed (other deliveries to
/// it go on as soon as it allows). A 503 still counts as a failure.
async fn throttling_does_not_open_the_circuit(db: &TestDb) {
    let store = &db.store;
    let policy = RetryPolicy {
        circuit_threshold: 2,
        ..Default::default()
    };
    let inboxes: Vec<String> = (0..3).map(|i| inbox("busy.example", i)).collect();
    enqueue(store, "https://here.example/a/1", &inboxes).await;
    let more: Vec<String> = (0..3).map(|i| inbox("sick.example", i)).collect();
    enqueue(store, "https://here.example/a/1", &more).await;
    let t = soon();
    let claimed = store.claim_deliveries(t, LEASE, 10, 10, &[]).await.unwrap();
    assert_eq!(claimed.len(), 6);
    let results: Vec<_> = claimed
        .iter()
        .map(|d| {
            let what = if d.host == "busy.example" {
                "HTTP 429 Too Many Requests"
            } else {
                "HTTP 503 Service Unavailable"
            };
            result(
                &d.id,
                &d.host,
                DeliveryOutcome::RetryAfter(what.into(), Duration::from_secs(2)),
            )
        })
        .collect();
    store.record_delivery_results(t, &results, &policy).await.unwrap();
    let stats = store.delivery_stats().await.unwrap();
    let host = |h: &str| stats.iter().find(|s| s.host == h).unwrap().clone();
    assert_eq!(host("busy.example").consecutive_failures, 0);
    assert_eq!(host("busy.example").circuit_open_until, None);
    assert_eq!(host("sick.example").consecutive_failures, 3);
    assert!(host("sick.example").circuit_open_until.is_some());
}

async fn oldest_waiting_delivery(db: &TestDb) {
    let store = &db.store;
    assert_eq!(store.find_oldest_waiting_delivery().await.unwrap(), None);
    let before = Utc::now() - chrono::TimeDelta::seconds(1);
    enqueue(store, "https://here.example/a/oldest", &[inbox("wait.example", 1)]).await;
    let oldest = store.find_oldest_waiting_delivery().await.unwrap().unwrap();
    assert!(oldest >= before && oldest <= Utc::now(), "{oldest}");
}

fn remote_actor(id: &str) -> gazette_core::RemoteActor {
    let origin_end = id[8..].find('/').unwrap() + 8;
    let (origin, host) = (&id[..origin_end], &id[8..origin_end]);
    gazette_core::RemoteActor {
        id: id.into(),
        kind: "Person".into(),
        preferred_username: id.rsplit('/').next().unwrap().into(),
        name: "Someone".into(),
        host: host.into(),
        inbox: format!("{id}/inbox"),
        shared_inbox: Some(format!("{origin}/inbox")),
        url: None,
        icon: None,
        public_key_id: format!("{id}#main-key"),
        public_key_pem: "PEM".into(),
        moved_to: None,
        refreshed_at: Utc::now(),
    }
}

/// FEP-8fcf: the digest of the actor's accepted followers on each host
/// (pending ones and other actors' followers left out), queued with the
/// delivery to that host and handed back when it is claimed.
async fn followers_digests_ride_with_their_deliveries(db: &TestDb) {
    use gazette_core::FollowStatus;
    let store = &db.store;
    let other = "https://here.example/users/camille";
    let ids = [
        "https://m.example/users/a",
        "https://m.example/users/b",
        "https://g.example:8443/users/c",
        "https://g.example:8443/users/pending",
        "https://p.example/users/d",
    ];
    for id in ids {
        store.upsert_remote_actor(&remote_actor(id)).await.unwrap();
    }
    for id in &ids[..3] {
        store
            .add_follower(ACTOR, id, &format!("{id}#f"), FollowStatus::Accepted)
            .await
            .unwrap();
    }
    store
        .add_follower(ACTOR, ids[3], "f", FollowStatus::Pending)
        .await
        .unwrap();
    store
        .add_follower(other, ids[4], "f", FollowStatus::Accepted)
        .await
        .unwrap();

    let digests = store.follower_digests(ACTOR).await.unwrap();
    assert_eq!(digests.len(), 2, "{digests:?}");
    assert_eq!(digests["m.example"], gazette_store::followers_digest([ids[0], ids[1]]));
    assert_eq!(digests["g.example:8443"], gazette_store::followers_digest([ids[2]]));
    assert_eq!(
        store.followers_on_host(ACTOR, "m.example").await.unwrap(),
        vec![ids[0].to_owned(), ids[1].to_owned()]
    );
    assert_eq!(
        store.followers_on_host(ACTOR, "g.example:8443").await.unwrap(),
        vec![ids[2].to_owned()]
    );
    assert!(store.followers_on_host(ACTOR, "p.example").await.unwrap().is_empty());

    let inboxes = vec![
        "https://m.example/inbox".to_owned(),
        "https://g.example:8443/inbox".to_owned(),
        "https://p.example/inbox".to_owned(),
    ];
    let activity = "https://here.example/a/sync";
    let queued = store
        .enqueue_delivery_with_digests(activity, ACTOR, &payload(activity), &inboxes, None, &digests)
        .await
        .unwrap();
    assert_eq!(queued, 3);
    store
        .enqueue_delivery("https://here.example/a/plain", ACTOR, &payload("x"), &inboxes[..1])
        .await
        .unwrap();
    let claimed = store.claim_deliveries(soon(), LEASE, 10, 10, &[]).await.unwrap();
    assert_eq!(claimed.len(), 4);
    for d in claimed {
        let expected = (d.activity_id == activity)
            .then(|| digests.get(&d.host).cloned())
            .flatten();
        assert_eq!(d.followers_digest, expected, "{} to {}", d.activity_id, d.host);
    }
}

/// The local follows of a remote actor, and the claim that lets one
/// comparison per actor and interval through.
async fn follower_sync_reads_and_claims(db: &TestDb) {
    let store = &db.store;
    let target = "https://m.example/users/a";
    store.upsert_remote_actor(&remote_actor(target)).await.unwrap();
    store
        .add_following(ACTOR, target, "https://here.example/f/1")
        .await
        .unwrap();
    store
        .add_following("https://here.example/users/net", target, "https://here.example/f/2")
        .await
        .unwrap();
    store
        .accept_following(target, "https://here.example/f/1")
        .await
        .unwrap();
    let follows = store.local_follows_of(target).await.unwrap();
    assert_eq!(follows.len(), 2);
    assert_eq!(follows[0].local_actor, "https://here.example/users/net");
    assert_eq!(follows[0].status, gazette_core::FollowStatus::Pending);
    assert_eq!(follows[1].local_actor, ACTOR);
    assert_eq!(follows[1].follow_id, "https://here.example/f/1");
    assert_eq!(follows[1].status, gazette_core::FollowStatus::Accepted);
    assert!(
        store
            .local_follows_of("https://m.example/users/nobody")
            .await
            .unwrap()
            .is_empty()
    );

    let every = Duration::from_secs(600);
    let t0 = Utc::now();
    assert!(store.claim_follower_sync(target, t0, every).await.unwrap());
    assert!(
        !store.claim_follower_sync(target, t0 + secs(1), every).await.unwrap(),
        "once per interval"
    );
    assert!(
        store
            .claim_follower_sync("https://m.example/users/b", t0, every)
            .await
            .unwrap(),
        "per actor"
    );
    assert!(
        store.claim_follower_sync(target, t0 + secs(601), every).await.unwrap(),
        "again after it"
    );
}
