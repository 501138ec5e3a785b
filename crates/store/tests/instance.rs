//! The instance-wide rows and signals on SQLite and PostgreSQL: the public
//! URL recorded once (the first process wins, a replacement says what it
//! replaced), the change watch that wakes a server when another process
//! queues work, the inbox's answers kept for a moment and forgotten when
//! another process changes them, and the blank check `gazette restore`
//! relies on.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chrono::Utc;
use gazette_core::{FollowStatus, MemberProfile, MemberStatus, RemoteActor};
use gazette_store::testing::TestDb;
use gazette_store::{KnownScheme, PublicUrlSource, SenderLists, SignatureScheme, Store};

gazette_store::each_backend!(
    db:
    public_url_is_recorded_once,
    an_announced_write_is_reported,
    concurrent_announcements_share_notifications,
    another_connections_write_is_reported,
    only_writes_readers_see_are_content,
    every_table_is_classified_for_the_content_signal,
    a_migrated_database_is_not_blank,
    signature_schemes_are_remembered_per_host,
    sender_answers_follow_the_lists,
    member_answers_follow_other_processes,
    follower_inboxes_follow_the_follows
);

async fn public_url_is_recorded_once(db: &TestDb) {
    let store = &db.store;
    assert_eq!(store.find_public_url().await.unwrap(), None);
    let first = store
        .record_public_url("http://127.0.0.1:8080", PublicUrlSource::Bound)
        .await
        .unwrap();
    assert_eq!(first.url, "http://127.0.0.1:8080");
    assert_eq!(first.source, PublicUrlSource::Bound);
    // A second process recording its own URL gets the first one back.
    let other = Store::connect(&db.url, 1).await.unwrap();
    let second = other
        .record_public_url("https://news.example.org", PublicUrlSource::Configured)
        .await
        .unwrap();
    assert_eq!(second, first);
    // Replacing says what was there.
    let replaced = other
        .replace_public_url("https://news.example.org", PublicUrlSource::Configured)
        .await
        .unwrap();
    assert_eq!(replaced, Some(first));
    let now = store.find_public_url().await.unwrap().unwrap();
    assert_eq!(now.url, "https://news.example.org");
    assert_eq!(now.source, PublicUrlSource::Configured);
    other.close().await;
}

/// A write no trigger notifies (here the health probe's row; in the
/// server a profile, a reply, settings) reaches other processes once the
/// writer announces it, as every successful write request and CLI command does.
async fn an_announced_write_is_reported(db: &TestDb) {
    let mut changes = db.store.changes().await.unwrap();
    let other = Store::connect(&db.url, 1).await.unwrap();
    other.probe_write().await.unwrap();
    other.announce_change().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), changes.changed())
        .await
        .expect("the announced write is reported")
        .unwrap();
    other.close().await;
}

/// A busy inbox announces every activity it accepts: calls made while a
/// notification is on its way share the next one, and each call returns
/// only once a notification sent after it went out.
async fn concurrent_announcements_share_notifications(db: &TestDb) {
    const CALLS: usize = 40;
    if db.store.backend() != gazette_store::Backend::Postgres {
        // SQLite's change counter needs no announcement.
        db.store.announce_change().await.unwrap();
        return;
    }
    let mut listener = sqlx::postgres::PgListener::connect(&db.url).await.unwrap();
    listener.listen("gazette_changes").await.unwrap();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..CALLS {
        let store = db.store.clone();
        calls.spawn(async move { store.announce_change().await });
    }
    while let Some(done) = calls.join_next().await {
        done.unwrap().unwrap();
    }
    // Notifications arrive in the order they were sent: once this one is
    // heard, every announcement's has been.
    sqlx::query("SELECT pg_notify('gazette_changes', 'end of test')")
        .execute(&mut *listener_free_connection(&db.url).await)
        .await
        .unwrap();
    let mut writes = 0;
    loop {
        let heard = tokio::time::timeout(Duration::from_secs(10), listener.recv())
            .await
            .expect("the notifications arrive")
            .unwrap();
        match heard.payload() {
            "end of test" => break,
            "write" => writes += 1,
            _ => {}
        }
    }
    assert!(writes >= 1, "no notification sent");
    assert!(writes < CALLS, "{writes} notifications for {CALLS} concurrent calls");
}

async fn listener_free_connection(url: &str) -> sqlx::pool::PoolConnection<sqlx::Postgres> {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap()
        .acquire()
        .await
        .unwrap()
}

async fn another_connections_write_is_reported(db: &TestDb) {
    let mut changes = db.store.changes().await.unwrap();
    // Nothing written yet: nothing to report.
    assert!(
        tokio::time::timeout(Duration::from_millis(400), changes.changed())
            .await
            .is_err(),
        "a change reported before any write"
    );
    // Another process queues a delivery.
    let other = Store::connect(&db.url, 1).await.unwrap();
    other
        .enqueue_delivery(
            "https://news.example.org/activities/1",
            "https://news.example.org/users/news",
            "{}",
            &["https://remote.example/inbox".to_owned()],
        )
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), changes.changed())
        .await
        .expect("the write is reported")
        .unwrap();
    // What a woken server does first (publish what is due, claim deliveries)
    // writes nothing when nothing is due, and must not wake it again: it
    // would loop.
    assert!(other.publish_due(chrono::Utc::now()).await.unwrap().is_empty());
    other
        .enqueue_delivery(
            "https://news.example.org/activities/1",
            "https://news.example.org/users/news",
            "{}",
            &["https://remote.example/inbox".to_owned()],
        )
        .await
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(400), changes.changed())
            .await
            .is_err(),
        "a change reported for writes that changed nothing"
    );
    other.close().await;
}

/// Queued deliveries and their bookkeeping wake a server without emptying
/// its page cache; a write readers can see (a remote actor, shown beside
/// its reply) is reported as content, on SQLite by the counting triggers
/// alone (announcing is a no-op there).
async fn only_writes_readers_see_are_content(db: &TestDb) {
    let mut changes = db.store.changes().await.unwrap();
    let other = Store::connect(&db.url, 1).await.unwrap();
    other
        .enqueue_delivery(
            "https://news.example.org/activities/2",
            "https://news.example.org/users/news",
            "{}",
            &["https://remote.example/inbox".to_owned()],
        )
        .await
        .unwrap();
    let change = tokio::time::timeout(Duration::from_secs(10), changes.changed())
        .await
        .expect("the queued delivery is reported")
        .unwrap();
    assert!(!change.content, "queued work reported as a change readers see");
    other
        .upsert_remote_actor(&gazette_core::RemoteActor {
            id: "https://remote.example/users/ana".into(),
            kind: "Person".into(),
            preferred_username: "ana".into(),
            name: "Ana".into(),
            host: "remote.example".into(),
            inbox: "https://remote.example/users/ana/inbox".into(),
            shared_inbox: None,
            url: None,
            icon: None,
            public_key_id: "https://remote.example/users/ana#main-key".into(),
            public_key_pem: String::new(),
            moved_to: None,
            refreshed_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    other.announce_change().await.unwrap();
    let change = tokio::time::timeout(Duration::from_secs(10), changes.changed())
        .await
        .expect("the profile write is reported")
        .unwrap();
    assert!(change.content, "a write readers see reported as bookkeeping");
    other.close().await;
}

async fn every_table_is_classified_for_the_content_signal(db: &TestDb) {
    assert_eq!(db.store.change_signal_gaps().await.unwrap(), Vec::<String>::new());
}

async fn a_migrated_database_is_not_blank(db: &TestDb) {
    assert!(!db.store.is_blank().await.unwrap());
    assert!(db.store.pending_migrations().await.unwrap().is_empty());
}

/// What the double-knock learned about a host is read back by another
/// process, and a later lesson replaces it.
async fn signature_schemes_are_remembered_per_host(db: &TestDb) {
    let store = &db.store;
    assert_eq!(store.find_signature_scheme("peer.example").await.unwrap(), None);
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    store
        .remember_signature_scheme("peer.example", SignatureScheme::DraftCavage, at)
        .await
        .unwrap();
    store
        .remember_signature_scheme("other.example:8443", SignatureScheme::Rfc9421, at)
        .await
        .unwrap();
    let other = Store::connect(&db.url, 1).await.unwrap();
    assert_eq!(
        other.find_signature_scheme("peer.example").await.unwrap(),
        Some(KnownScheme {
            scheme: SignatureScheme::DraftCavage,
            learned_at: at
        })
    );
    let later = at + chrono::Duration::days(8);
    other
        .remember_signature_scheme("peer.example", SignatureScheme::Rfc9421, later)
        .await
        .unwrap();
    let known = store.find_signature_scheme("peer.example").await.unwrap().unwrap();
    assert_eq!((known.scheme, known.learned_at), (SignatureScheme::Rfc9421, later));
    assert_eq!(
        store
            .find_signature_scheme("other.example:8443")
            .await
            .unwrap()
            .unwrap()
            .scheme,
        SignatureScheme::Rfc9421
    );
    other.close().await;
}

/// The inbox's answers about senders are reused, but a list written through
/// the same store changes them at once, and one written by another process
/// (here a second store on the same database) once the change watch's
/// `recheck_inbox_caches` has run.
async fn sender_answers_follow_the_lists(db: &TestDb) {
    let store = &db.store;
    let other = Store::connect(&db.url, 1).await.unwrap();
    let hosts = vec!["m.example".to_owned()];
    let actor = Some("https://m.example/users/a");
    let check = store.sender_check(&hosts, actor).await.unwrap();
    assert_eq!((check.blocked_hosts.len(), check.unlisted_hosts.len()), (0, 1));
    store.recheck_inbox_caches().await.unwrap();
    assert_eq!(
        store.sender_lists_seen(),
        Some(SenderLists {
            domain_blocks: 0,
            domain_allows: 0,
            actor_blocks: 0
        })
    );

    // Through this store: at once.
    store.add_domain_allow("m.example").await.unwrap();
    assert!(
        store
            .sender_check(&hosts, actor)
            .await
            .unwrap()
            .unlisted_hosts
            .is_empty()
    );
    store
        .add_actor_block("https://m.example/users/a", "spam")
        .await
        .unwrap();
    assert!(store.sender_check(&hosts, actor).await.unwrap().actor_blocked);

    // Through another process: seen once the lists are read again (until
    // then the answer may be reused for up to a second).
    other.remove_actor_block("https://m.example/users/a").await.unwrap();
    other.add_domain_block("m.example", "spam").await.unwrap();
    store.recheck_inbox_caches().await.unwrap();
    let fresh = store.sender_check(&hosts, actor).await.unwrap();
    assert!(!fresh.actor_blocked && fresh.blocked_hosts == hosts, "{fresh:?}");
    assert_eq!(
        store.sender_lists_seen(),
        Some(SenderLists {
            domain_blocks: 1,
            domain_allows: 1,
            actor_blocks: 0
        })
    );
    // A reason changed: the answer is the same.
    other.add_domain_block("m.example", "another reason").await.unwrap();
    store.recheck_inbox_caches().await.unwrap();
    assert_eq!(store.sender_check(&hosts, actor).await.unwrap(), fresh);
}

/// The inbox's answers about which member is on a host are reused too: a
/// member written by another process (a second store on the same
/// database) is seen once the change watch's `recheck_inbox_caches` ran.
async fn member_answers_follow_other_processes(db: &TestDb) {
    let store = &db.store;
    let other = Store::connect(&db.url, 1).await.unwrap();
    let actor = "https://m.example/users/org";
    let profile = MemberProfile {
        name: "Mutual M".into(),
        ..MemberProfile::default()
    };
    other
        .request_membership(
            actor,
            "m.example",
            "org@m.example",
            "https://m.example/inbox",
            &profile,
            MemberStatus::Requested,
        )
        .await
        .unwrap();
    let status = |store: &Store| {
        let store = store.clone();
        async move { store.member_on_host("m.example").await.unwrap().map(|m| m.status) }
    };
    assert_eq!(status(store).await, Some(MemberStatus::Requested));
    store.recheck_inbox_caches().await.unwrap();

    other.set_member_status(actor, MemberStatus::Approved).await.unwrap();
    store.recheck_inbox_caches().await.unwrap();
    assert_eq!(status(store).await, Some(MemberStatus::Approved));

    // Its activity, noted through this store, changes the kept copy in place.
    store.touch_member(actor).await.unwrap();
    let kept = store.member_on_host("m.example").await.unwrap().unwrap();
    assert!(kept.last_activity_at.is_some());

    other.set_member_status(actor, MemberStatus::Suspended).await.unwrap();
    store.recheck_inbox_caches().await.unwrap();
    assert_eq!(status(store).await, Some(MemberStatus::Suspended));
    other.close().await;
}

/// Where the network actor's boosts go is reused too: a follow written
/// through this store is seen at once, one written by another process once
/// the change watch's `recheck_inbox_caches` ran.
async fn follower_inboxes_follow_the_follows(db: &TestDb) {
    let store = &db.store;
    let other = Store::connect(&db.url, 1).await.unwrap();
    let network = "https://here.example/users/network";
    let follower = |id: &str, host: &str| RemoteActor {
        id: id.into(),
        kind: "Person".into(),
        preferred_username: "f".into(),
        name: "Follower".into(),
        host: host.into(),
        inbox: format!("{id}/inbox"),
        shared_inbox: Some(format!("https://{host}/inbox")),
        url: None,
        icon: None,
        public_key_id: format!("{id}#main-key"),
        public_key_pem: "PEM".into(),
        moved_to: None,
        refreshed_at: Utc::now(),
    };
    let (a, b) = (
        follower("https://a.example/users/f", "a.example"),
        follower("https://b.example/users/f", "b.example"),
    );
    assert!(store.follower_inboxes_of(network).await.unwrap().is_empty());
    store.recheck_inbox_caches().await.unwrap();

    // Through this store: at once.
    store.upsert_remote_actor(&a).await.unwrap();
    store
        .add_follower(network, &a.id, "f-a", FollowStatus::Accepted)
        .await
        .unwrap();
    assert_eq!(
        store.follower_inboxes_of(network).await.unwrap(),
        ["https://a.example/inbox"]
    );

    // Through another process: once the follows are read again.
    other.upsert_remote_actor(&b).await.unwrap();
    other
        .add_follower(network, &b.id, "f-b", FollowStatus::Accepted)
        .await
        .unwrap();
    store.recheck_inbox_caches().await.unwrap();
    assert_eq!(
        store.follower_inboxes_of(network).await.unwrap(),
        ["https://a.example/inbox", "https://b.example/inbox"]
    );
    other.remove_follower(network, &a.id).await.unwrap();
    store.recheck_inbox_caches().await.unwrap();
    assert_eq!(
        store.follower_inboxes_of(network).await.unwrap(),
        ["https://b.example/inbox"]
    );
    // Gone through this store: at once.
    store.remove_follower(network, &b.id).await.unwrap();
    assert!(store.follower_inboxes_of(network).await.unwrap().is_empty());
    other.close().await;
}
