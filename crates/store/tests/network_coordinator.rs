//! The network coordinator's tables on SQLite and PostgreSQL: membership,
//! items written in order with tombstones, filters, cursors and search.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, Utc};
use gazette_core::network::{MATCH_END, MATCH_START};
use gazette_core::{FeedCursor, FeedFilter, FollowStatus, MemberProfile, MemberStatus, NetworkItem, RemoteActor};
use gazette_store::testing::TestDb;
use gazette_store::{Backend, Boost, ItemWrite, KeptCopy, RemoteMultikey, Store};

gazette_store::each_backend!(
    membership_requests_and_decisions,
    items_are_written_in_order_and_deletions_stick,
    a_batch_is_written_like_single_items,
    feed_filters_cursor_and_search,
    moderation_hides_without_losing,
    reruns_rate_limits_departures_and_groups,
    failed_backfills_wait_for_their_retry,
    boosts_are_recorded_with_the_write_once,
    tag_and_language_filters_page_in_feed_order,
    concurrent_articles_share_transactions,
    batches_are_answered_after_a_shared_flush,
    search_words_are_read_alike_on_both_sides,
    facet_counts_leave_out_their_own_filter,
    signed_objects_are_kept_per_item,
    retiring_a_remote_key_forgets_its_copies,
);

fn profile(name: &str, country: &str, legal_form: &str, sectors: &[&str]) -> MemberProfile {
    MemberProfile {
        name: name.into(),
        url: Some(format!("https://{}.example/", name.to_lowercase())),
        country: Some(country.into()),
        legal_form: Some(legal_form.into()),
        sectors: sectors.iter().map(|s| (*s).to_owned()).collect(),
        languages: vec!["en".into()],
        logo: None,
    }
}

async fn member(store: &Store, host: &str, name: &str, country: &str, legal_form: &str, sectors: &[&str]) -> String {
    let actor = format!("https://{host}/users/org");
    store
        .request_membership(
            &actor,
            host,
            &format!("org@{host}"),
            &format!("{actor}/inbox"),
            &profile(name, country, legal_form, sectors),
            MemberStatus::Requested,
        )
        .await
        .unwrap();
    store.set_member_status(&actor, MemberStatus::Approved).await.unwrap();
    actor
}

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minutes)
}

fn item(member: &str, id: &str, title: &str, body: &str, minutes: i64) -> NetworkItem {
    let host = member.split('/').nth(2).unwrap();
    NetworkItem {
        id: format!("https://{host}/objects/{id}"),
        member: member.into(),
        attributed_to: Some(format!("https://{host}/users/author")),
        url: Some(format!("https://{host}/articles/{id}")),
        kind: Some("news".into()),
        language: Some("en".into()),
        languages: vec!["en".into()],
        title: title.into(),
        summary_html: "<p>Standfirst</p>".into(),
        content_html: format!("<p>{body}</p>"),
        tags: vec![],
        image_url: None,
        image_alt: None,
        published_at: at(minutes),
        updated_at: at(minutes),
    }
}

/// The items a search for `q` finds in the visible feed, newest first.
async fn searched(store: &Store, q: &str) -> Vec<NetworkItem> {
    let filter = FeedFilter {
        q: Some(q.into()),
        ..Default::default()
    };
    let page = store.network_feed(&filter, None, 50).await.unwrap();
    page.entries.into_iter().map(|e| e.item).collect()
}

async fn membership_requests_and_decisions(store: &Store) {
    let actor = "https://a.example/users/org";
    let m = store
        .request_membership(
            actor,
            "a.example",
            "org@a.example",
            "https://a.example/inbox",
            &profile("Alpha", "BE", "cooperative", &["energy", "housing"]),
            MemberStatus::Requested,
        )
        .await
        .unwrap();
    assert_eq!(m.status, MemberStatus::Requested);
    assert_eq!(m.profile.sectors, vec!["energy", "housing"]);
    assert_eq!(m.backfill.state, "pending");
    let on_host = |store: &Store| {
        let store = store.clone();
        async move { store.member_on_host("a.example").await.unwrap().map(|m| m.status) }
    };
    assert_eq!(on_host(store).await, Some(MemberStatus::Requested));
    assert_eq!(store.member_on_host("b.example").await.unwrap(), None);
    assert_eq!(
        store.list_members(Some(MemberStatus::Requested)).await.unwrap().len(),
        1
    );

    let m = store.set_member_status(actor, MemberStatus::Approved).await.unwrap();
    assert_eq!(m.status, MemberStatus::Approved);
    assert!(m.decided_at.is_some());
    // The answer kept for the inbox is forgotten by the write.
    assert_eq!(on_host(store).await, Some(MemberStatus::Approved));
    assert_eq!(store.member_on_host("a.example").await.unwrap().unwrap().actor, actor);
    assert_eq!(store.members_to_backfill().await.unwrap().len(), 1);
    // Asking again does not undo the approval; the profile is refreshed.
    let again = store
        .request_membership(
            actor,
            "a.example",
            "org@a.example",
            "https://a.example/inbox",
            &profile("Alpha Coop", "BE", "cooperative", &["energy"]),
            MemberStatus::Requested,
        )
        .await
        .unwrap();
    assert_eq!(again.status, MemberStatus::Approved);
    assert_eq!(again.profile.name, "Alpha Coop");
    assert_eq!(again.profile.sectors, vec!["energy"]);
    // By handle, with or without @, any case.
    assert_eq!(
        store
            .find_member_by_name("@ORG@a.example")
            .await
            .unwrap()
            .unwrap()
            .actor,
        actor
    );

    // Removed members may ask again.
    store.set_member_status(actor, MemberStatus::Removed).await.unwrap();
    assert_eq!(on_host(store).await, Some(MemberStatus::Removed));
    let back = store
        .request_membership(
            actor,
            "a.example",
            "org@a.example",
            "https://a.example/inbox",
            &profile("Alpha", "BE", "cooperative", &[]),
            MemberStatus::Requested,
        )
        .await
        .unwrap();
    assert_eq!(back.status, MemberStatus::Requested);

    // Backfill progress is kept.
    let mut b = back.backfill.clone();
    b.next = Some("https://a.example/users/org/outbox?page=3".into());
    b.pages = 2;
    b.items = 40;
    store.save_backfill(actor, &b).await.unwrap();
    assert_eq!(store.get_member(actor).await.unwrap().backfill, b);

    assert!(store.count_member_signature_failure("a.example").await.unwrap());
    assert!(!store.count_member_signature_failure("nobody.example").await.unwrap());
    let health = store
        .member_health("https://coord.example/users/network")
        .await
        .unwrap();
    assert_eq!(health.len(), 1);
    assert_eq!(health[0].followed, "none");
    assert_eq!(health[0].member.signature_failures, 1);
    assert_eq!(health[0].articles, 0);

    let err = store
        .set_member_status("https://x.example/users/nobody", MemberStatus::Approved)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");
}

async fn items_are_written_in_order_and_deletions_stick(store: &Store) {
    let a = member(store, "a.example", "Alpha", "BE", "cooperative", &[]).await;
    let b = member(store, "b.example", "Beta", "FR", "mutual", &[]).await;
    let first = item(&a, "1", "First", "original", 0);
    assert_eq!(store.upsert_network_item(&first).await.unwrap(), ItemWrite::Inserted);

    // A newer edit replaces, an older one does not, the same one is harmless.
    let mut newer = first.clone();
    newer.title = "First, edited".into();
    newer.updated_at = at(10);
    assert_eq!(store.upsert_network_item(&newer).await.unwrap(), ItemWrite::Updated);
    assert_eq!(store.upsert_network_item(&first).await.unwrap(), ItemWrite::Stale);
    assert_eq!(store.upsert_network_item(&newer).await.unwrap(), ItemWrite::Updated);
    let stored = store.find_network_item(&first.id).await.unwrap().unwrap();
    assert_eq!(stored.title, "First, edited");
    assert_eq!(stored.languages, vec!["en"]);

    // Another member cannot take it over or delete it.
    let mut stolen = newer.clone();
    stolen.member = b.clone();
    stolen.updated_at = at(20);
    assert_eq!(
        store.upsert_network_item(&stolen).await.unwrap(),
        ItemWrite::OtherMember
    );
    assert_eq!(store.delete_network_item(&first.id, &b).await.unwrap(), None);

    // Deleted: gone from the feed, and a late Create or Update cannot revive it.
    store
        .set_item_announce(&first.id, Some("https://coord/announce/1"))
        .await
        .unwrap();
    assert_eq!(
        store.delete_network_item(&first.id, &a).await.unwrap(),
        Some(Some("https://coord/announce/1".to_owned()))
    );
    assert!(store.find_network_item(&first.id).await.unwrap().is_none());
    let mut late = newer.clone();
    late.updated_at = at(30);
    assert_eq!(store.upsert_network_item(&late).await.unwrap(), ItemWrite::Deleted);
    assert_eq!(store.delete_network_item(&first.id, &a).await.unwrap(), None);

    // A Delete before its Create (out of order) leaves a tombstone too.
    let second = item(&a, "2", "Second", "body", 5);
    assert_eq!(store.delete_network_item(&second.id, &a).await.unwrap(), Some(None));
    assert_eq!(store.upsert_network_item(&second).await.unwrap(), ItemWrite::Deleted);
    let page = store.network_feed(&FeedFilter::default(), None, 10).await.unwrap();
    assert!(page.entries.is_empty(), "{:?}", page.entries);
    let q = FeedFilter {
        q: Some("original".into()),
        ..Default::default()
    };
    assert!(store.network_feed(&q, None, 10).await.unwrap().entries.is_empty());
}

async fn a_batch_is_written_like_single_items(store: &Store) {
    let a = member(store, "a.example", "Alpha", "BE", "cooperative", &[]).await;
    let b = member(store, "b.example", "Beta", "FR", "mutual", &[]).await;
    let mut first = item(&a, "1", "Windmill shares", "turbine", 0);
    first.tags = vec!["energy".into()];
    let mut edited = first.clone();
    edited.title = "Windmill shares, edited".into();
    edited.updated_at = at(10);
    let mut stolen = edited.clone();
    stolen.member = b.clone();
    stolen.updated_at = at(20);
    let second = item(&b, "2", "Mutual aid", "kitchen", 1);
    let writes = store
        .upsert_network_items(&[first.clone(), edited, first, stolen, second])
        .await
        .unwrap();
    assert_eq!(
        writes,
        vec![
            ItemWrite::Inserted,
            ItemWrite::Updated,
            ItemWrite::Stale,
            ItemWrite::OtherMember,
            ItemWrite::Inserted
        ]
    );
    let page = store.network_feed(&FeedFilter::default(), None, 10).await.unwrap();
    let titles: Vec<&str> = page.entries.iter().map(|e| e.item.title.as_str()).collect();
    assert_eq!(titles, vec!["Mutual aid", "Windmill shares, edited"]);
    assert_eq!(page.entries[1].item.tags, vec!["energy"]);
    // The search index follows the batch: the edit once, not twice.
    let q = FeedFilter {
        q: Some("turbine".into()),
        ..Default::default()
    };
    let found = store.network_feed(&q, None, 10).await.unwrap();
    assert_eq!(found.entries.len(), 1);
    assert_eq!(found.entries[0].item.member, a);
    assert!(store.upsert_network_items(&[]).await.unwrap().is_empty());
}

async fn feed_filters_cursor_and_search(store: &Store) {
    let a = member(store, "a.example", "Alpha", "BE", "cooperative", &["energy"]).await;
    let b = member(store, "b.example", "Beta", "FR", "mutual", &["health"]).await;
    let mut interview = item(
        &a,
        "i1",
        "Solar cooperatives in Ghent",
        "Citizens own the rooftop panels",
        3,
    );
    interview.kind = Some("interview".into());
    interview.tags = vec!["energy".into(), "cooperatives".into()];
    interview.languages = vec!["en".into(), "nl".into()];
    store.upsert_network_item(&interview).await.unwrap();
    let mut french = item(&b, "f1", "Mutuelles et santé", "Une coopérative de santé à Lyon", 2);
    french.language = Some("fr".into());
    french.languages = vec!["fr".into()];
    french.tags = vec!["health".into()];
    store.upsert_network_item(&french).await.unwrap();
    for n in 0..3 {
        store
            .upsert_network_item(&item(&b, &format!("n{n}"), &format!("News {n}"), "plain news", -10 - n))
            .await
            .unwrap();
    }

    let titles =
        |page: &gazette_store::FeedPage| -> Vec<String> { page.entries.iter().map(|e| e.item.title.clone()).collect() };
    let all = store.network_feed(&FeedFilter::default(), None, 10).await.unwrap();
    assert_eq!(
        titles(&all),
        vec![
            "Solar cooperatives in Ghent",
            "Mutuelles et santé",
            "News 0",
            "News 1",
            "News 2"
        ]
    );
    assert!(all.next.is_none());
    assert_eq!(all.entries[0].member_name, "Alpha");
    assert_eq!(all.entries[0].country.as_deref(), Some("BE"));
    assert_eq!(all.entries[0].item.tags, vec!["cooperatives", "energy"]);

    // Cursor pagination: pages of two, no overlap, no gap.
    let mut seen = Vec::new();
    let mut cursor: Option<FeedCursor> = None;
    loop {
        let page = store
            .network_feed(&FeedFilter::default(), cursor.as_ref(), 2)
            .await
            .unwrap();
        seen.extend(titles(&page));
        match page.next {
            Some(c) => cursor = Some(FeedCursor::parse(&c.encode()).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen, titles(&all));

    let only = |f: FeedFilter| async move { titles(&store.network_feed(&f, None, 10).await.unwrap()) };
    let f = FeedFilter::default;
    assert_eq!(
        only(FeedFilter {
            language: Some("nl".into()),
            ..f()
        })
        .await,
        vec!["Solar cooperatives in Ghent"]
    );
    assert_eq!(
        only(FeedFilter {
            country: Some("FR".into()),
            ..f()
        })
        .await
        .len(),
        4
    );
    assert_eq!(
        only(FeedFilter {
            organisation: Some("@ORG@a.example".into()),
            ..f()
        })
        .await,
        vec!["Solar cooperatives in Ghent"]
    );
    assert_eq!(
        only(FeedFilter {
            kind: Some("interview".into()),
            ..f()
        })
        .await,
        vec!["Solar cooperatives in Ghent"]
    );
    assert_eq!(
        only(FeedFilter {
            sector: Some("health".into()),
            ..f()
        })
        .await
        .len(),
        4
    );
    assert_eq!(
        only(FeedFilter {
            legal_form: Some("cooperative".into()),
            ..f()
        })
        .await
        .len(),
        1
    );
    assert_eq!(
        only(FeedFilter {
            tag: Some("health".into()),
            ..f()
        })
        .await,
        vec!["Mutuelles et santé"]
    );
    assert!(
        only(FeedFilter {
            tag: Some("health".into()),
            country: Some("BE".into()),
            ..f()
        })
        .await
        .is_empty()
    );

    // Search: across languages, words anywhere, highlighted; syntax is text.
    let search = |q: &str| FeedFilter {
        q: Some(q.into()),
        ..f()
    };
    let found = store.network_feed(&search("rooftop panels"), None, 10).await.unwrap();
    assert_eq!(titles(&found), vec!["Solar cooperatives in Ghent"]);
    let snippet = found.entries[0].snippet.clone().unwrap();
    assert!(
        snippet.contains(&format!("{MATCH_START}rooftop{MATCH_END}")),
        "{snippet:?}"
    );
    let found = store.network_feed(&search("Lyon"), None, 10).await.unwrap();
    assert_eq!(titles(&found), vec!["Mutuelles et santé"]);
    let title = found.entries[0].title_highlighted.clone().unwrap();
    assert_eq!(title, "Mutuelles et santé");
    let found = store.network_feed(&search("ghent"), None, 10).await.unwrap();
    assert_eq!(
        found.entries[0].title_highlighted.as_deref(),
        Some(format!("Solar cooperatives in {MATCH_START}Ghent{MATCH_END}").as_str())
    );
    assert!(only(search("rooftop Lyon")).await.is_empty(), "every word is required");
    assert!(only(search("\"unbalanced AND (")).await.is_empty());
    assert!(only(search("nothing-like-this")).await.is_empty());
    assert_eq!(only(search("news")).await.len(), 3);
    assert_eq!(
        only(FeedFilter {
            q: Some("news".into()),
            organisation: Some("org@a.example".into()),
            ..f()
        })
        .await
        .len(),
        0
    );
    // An edit is searchable at once, the old words no more.
    let mut edited = interview.clone();
    edited.content_html = "<p>Wind turbines now</p>".into();
    edited.updated_at = at(50);
    store.upsert_network_item(&edited).await.unwrap();
    assert!(only(search("rooftop")).await.is_empty());
    assert_eq!(only(search("turbines")).await.len(), 1);
}

async fn moderation_hides_without_losing(store: &Store) {
    let a = member(store, "a.example", "Alpha", "BE", "cooperative", &[]).await;
    let one = item(&a, "1", "Kept", "text", 0);
    store.upsert_network_item(&one).await.unwrap();
    store.set_item_announce(&one.id, Some("announce-1")).await.unwrap();
    let count = || async {
        store
            .network_feed(&FeedFilter::default(), None, 10)
            .await
            .unwrap()
            .entries
            .len()
    };
    assert_eq!(count().await, 1);
    assert_eq!(
        store.hide_network_item(&one.id, true).await.unwrap().as_deref(),
        Some("announce-1")
    );
    assert_eq!(count().await, 0);
    store.hide_network_item(&one.id, false).await.unwrap();
    assert_eq!(count().await, 1);
    assert!(
        store
            .hide_network_item("https://a.example/objects/none", true)
            .await
            .is_err()
    );

    // A suspended member's items are hidden, and back when it is reinstated.
    store.set_member_status(&a, MemberStatus::Suspended).await.unwrap();
    assert_eq!(count().await, 0);
    assert!(store.find_network_item(&one.id).await.unwrap().is_some(), "kept");
    store.set_member_status(&a, MemberStatus::Approved).await.unwrap();
    assert_eq!(count().await, 1);
}

/// A failed backfill is taken again once its retry is due (saved with the
/// member, so a restart keeps to it), and at once when the coordinator
/// retries it; a finished one is not retried.
async fn failed_backfills_wait_for_their_retry(store: &Store) {
    let a = member(store, "a.example", "Alpha", "BE", "cooperative", &[]).await;
    assert!(store.take_backfill_rerun(&a).await.unwrap());
    let mut failed = store.get_member(&a).await.unwrap().backfill;
    failed.state = "failed".into();
    failed.error = Some("HTTP 503 from a.example".into());
    failed.attempts = 2;
    failed.retry_at = Some(Utc::now() + Duration::minutes(1));
    store.save_backfill(&a, &failed).await.unwrap();
    let saved = store.get_member(&a).await.unwrap().backfill;
    assert_eq!(saved.attempts, 2);
    assert_eq!(
        saved.retry_at.map(|t| t.timestamp_millis()),
        failed.retry_at.map(|t| t.timestamp_millis())
    );
    assert!(store.members_to_backfill().await.unwrap().is_empty(), "not due yet");
    failed.retry_at = Some(Utc::now() - Duration::seconds(1));
    store.save_backfill(&a, &failed).await.unwrap();
    assert_eq!(store.members_to_backfill().await.unwrap().len(), 1, "due");
    // Retried by the coordinator: pending at once, failures forgotten.
    failed.retry_at = Some(Utc::now() + Duration::hours(1));
    store.save_backfill(&a, &failed).await.unwrap();
    assert!(store.retry_backfill(&a).await.unwrap());
    let b = store.get_member(&a).await.unwrap().backfill;
    assert_eq!(
        (b.state.as_str(), b.attempts, b.retry_at, b.error.as_deref()),
        ("pending", 0, None, None)
    );
    assert_eq!(store.members_to_backfill().await.unwrap().len(), 1);
    let mut done = b;
    done.state = "done".into();
    store.save_backfill(&a, &done).await.unwrap();
    assert!(
        !store.retry_backfill(&a).await.unwrap(),
        "a finished backfill is not retried"
    );
    store.set_member_status(&a, MemberStatus::Suspended).await.unwrap();
    assert!(!store.retry_backfill(&a).await.unwrap(), "only approved members");
}

async fn reruns_rate_limits_departures_and_groups(store: &Store) {
    let a = member(store, "a.example", "Alpha", "BE", "cooperative", &[]).await;
    // Approval asks for a backfill from the first page, taken once.
    assert!(store.get_member(&a).await.unwrap().backfill.rerun);
    assert_eq!(store.members_to_backfill().await.unwrap().len(), 1);
    assert!(store.take_backfill_rerun(&a).await.unwrap());
    assert!(!store.take_backfill_rerun(&a).await.unwrap());
    let mut done = store.get_member(&a).await.unwrap().backfill;
    done.state = "done".into();
    store.save_backfill(&a, &done).await.unwrap();
    assert!(store.members_to_backfill().await.unwrap().is_empty());
    // The member's Accept asks again, even after a finished run.
    assert!(store.rerun_backfill(&a).await.unwrap());
    assert_eq!(store.members_to_backfill().await.unwrap().len(), 1);
    assert!(!store.rerun_backfill("https://x.example/users/nobody").await.unwrap());

    // Refusals for the rate count for approved members only.
    assert!(store.count_member_rate_limited("a.example").await.unwrap());
    assert!(store.count_member_rate_limited("a.example").await.unwrap());
    assert!(!store.count_member_rate_limited("z.example").await.unwrap());
    assert_eq!(store.get_member(&a).await.unwrap().rate_limited, 2);

    // Moderators' list: hidden ones apart, deleted ones not at all.
    let one = item(&a, "1", "One", "text", 0);
    let two = item(&a, "2", "Two", "text", 1);
    let three = item(&a, "3", "Three", "text", 2);
    for i in [&one, &two, &three] {
        store.upsert_network_item(i).await.unwrap();
    }
    store.hide_network_item(&two.id, true).await.unwrap();
    store.delete_network_item(&three.id, &a).await.unwrap();
    let (all, total) = store.moderation_items(false, 10, 0).await.unwrap();
    assert_eq!(total, 2);
    assert_eq!(all.iter().map(|i| i.title.as_str()).collect::<Vec<_>>(), ["Two", "One"]);
    assert!(all[0].hidden && !all[1].hidden);
    assert_eq!(all[0].member_name, "Alpha");
    let (hidden, total) = store.moderation_items(true, 10, 0).await.unwrap();
    assert_eq!((hidden.len(), total), (1, 1));
    assert!(store.find_moderated_item(&three.id).await.unwrap().is_none());
    assert!(store.find_moderated_item(&one.id).await.unwrap().is_some());

    // Leaving: out of the feed, kept; not for members already out.
    let left = store.mark_member_left(&a).await.unwrap().unwrap();
    assert_eq!(left.status, MemberStatus::Left);
    assert!(store.mark_member_left(&a).await.unwrap().is_none());
    assert!(
        store
            .network_feed(&FeedFilter::default(), None, 10)
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    assert_eq!(store.moderation_items(false, 10, 0).await.unwrap().1, 2);
    assert!(
        store
            .mark_member_left("https://x.example/users/nobody")
            .await
            .unwrap()
            .is_none()
    );

    // Member side: the networks whose follow was accepted.
    let local = "https://here.example/users/org";
    let group = |id: &str, kind: &str, name: &str| RemoteActor {
        id: id.into(),
        kind: kind.into(),
        preferred_username: "network".into(),
        name: name.into(),
        host: "net.example".into(),
        inbox: format!("{id}/inbox"),
        shared_inbox: None,
        url: Some("https://net.example/network/feed".into()),
        icon: None,
        public_key_id: format!("{id}#main-key"),
        public_key_pem: "pem".into(),
        moved_to: None,
        refreshed_at: chrono::DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap(),
    };
    let g = group("https://net.example/users/network", "Group", "The Network");
    let p = group("https://net.example/users/person", "Person", "Someone");
    store.upsert_remote_actor(&g).await.unwrap();
    store.upsert_remote_actor(&p).await.unwrap();
    store
        .add_following(local, &g.id, "https://here.example/f/1")
        .await
        .unwrap();
    store
        .add_following(local, &p.id, "https://here.example/f/2")
        .await
        .unwrap();
    assert!(store.accepted_groups(local).await.unwrap().is_empty(), "pending");
    let pending = store.find_following(local, &g.id).await.unwrap().unwrap();
    assert_eq!(
        (pending.follow_id.as_str(), pending.status),
        ("https://here.example/f/1", FollowStatus::Pending)
    );
    assert_eq!(
        store
            .find_following(local, "https://net.example/users/nobody")
            .await
            .unwrap(),
        None
    );
    assert!(
        !store
            .accept_following(&g.id, "https://here.example/f/other")
            .await
            .unwrap(),
        "another follow's Accept"
    );
    assert!(store.accept_following(&g.id, "https://here.example/f/1").await.unwrap());
    assert!(
        !store.accept_following(&g.id, "https://here.example/f/1").await.unwrap(),
        "accepted already: no change to report"
    );
    assert!(store.accept_following(&p.id, "https://here.example/f/2").await.unwrap());
    assert_eq!(
        store.find_following(local, &g.id).await.unwrap().unwrap().status,
        FollowStatus::Accepted
    );
    let groups = store.accepted_groups(local).await.unwrap();
    assert_eq!(groups, std::slice::from_ref(&g));
    // A refused follow (`Reject`) is forgotten: no longer a member.
    assert!(store.remove_following(None, &g.id).await.unwrap());
    assert!(store.accepted_groups(local).await.unwrap().is_empty());
}

async fn boosts_are_recorded_with_the_write_once(store: &Store) {
    let a = member(store, "a.example", "Alpha", "BE", "cooperative", &[]).await;
    let announce_of = |id: &str| {
        let store = store.clone();
        let id = id.to_owned();
        async move { store.find_moderated_item(&id).await.unwrap().unwrap().announce_id }
    };
    // A publication new to the feed: stored and boosted in one write.
    let mut tagged = item(&a, "1", "Tagged", "body", 0);
    tagged.tags = vec!["youth".into(), "housing".into(), "youth-work".into()];
    tagged.languages = vec!["en".into(), "fr".into()];
    assert_eq!(
        store
            .upsert_network_item_boosting(&tagged, Boost::IfNotYet("ann-1"))
            .await
            .unwrap(),
        (ItemWrite::Inserted, true)
    );
    assert_eq!(announce_of(&tagged.id).await.as_deref(), Some("ann-1"));
    let stored = store.find_network_item(&tagged.id).await.unwrap().unwrap();
    assert_eq!(stored.languages, vec!["en", "fr"]);
    let mut tags = stored.tags.clone();
    tags.sort();
    assert_eq!(tags, vec!["housing", "youth", "youth-work"]);
    // Its redelivery and its edit: no second boost, the first one kept.
    let mut edited = tagged.clone();
    edited.updated_at = at(5);
    edited.tags = vec!["youth".into()];
    assert_eq!(
        store
            .upsert_network_item_boosting(&edited, Boost::IfNotYet("ann-2"))
            .await
            .unwrap(),
        (ItemWrite::Updated, false)
    );
    assert_eq!(
        store
            .upsert_network_item_boosting(&edited, Boost::IfNew("ann-2"))
            .await
            .unwrap(),
        (ItemWrite::Updated, false)
    );
    assert_eq!(announce_of(&tagged.id).await.as_deref(), Some("ann-1"));
    assert_eq!(
        store.find_network_item(&tagged.id).await.unwrap().unwrap().tags,
        vec!["youth"]
    );

    // Stored first by a backfill (never boosted): an edit does not boost
    // it, the publication arriving late does, once.
    let backfilled = item(&a, "2", "Backfilled", "body", 1);
    assert_eq!(
        store
            .upsert_network_item_boosting(&backfilled, Boost::Never)
            .await
            .unwrap(),
        (ItemWrite::Inserted, false)
    );
    assert_eq!(announce_of(&backfilled.id).await, None);
    assert_eq!(
        store
            .upsert_network_item_boosting(&backfilled, Boost::IfNew("ann-3"))
            .await
            .unwrap(),
        (ItemWrite::Updated, false)
    );
    assert_eq!(
        store
            .upsert_network_item_boosting(&backfilled, Boost::IfNotYet("ann-3"))
            .await
            .unwrap(),
        (ItemWrite::Updated, true)
    );
    assert_eq!(announce_of(&backfilled.id).await.as_deref(), Some("ann-3"));

    // Hidden by a moderator, or deleted: never boosted.
    let hidden = item(&a, "3", "Hidden", "body", 2);
    store.upsert_network_item(&hidden).await.unwrap();
    store.hide_network_item(&hidden.id, true).await.unwrap();
    assert_eq!(
        store
            .upsert_network_item_boosting(&hidden, Boost::IfNotYet("ann-4"))
            .await
            .unwrap(),
        (ItemWrite::Updated, false)
    );
    assert_eq!(announce_of(&hidden.id).await, None);
    let gone = item(&a, "4", "Gone", "body", 3);
    store.delete_network_item(&gone.id, &a).await.unwrap();
    assert_eq!(
        store
            .upsert_network_item_boosting(&gone, Boost::IfNotYet("ann-5"))
            .await
            .unwrap(),
        (ItemWrite::Deleted, false)
    );
}

async fn tag_and_language_filters_page_in_feed_order(store: &Store) {
    let a = member(store, "a.example", "Alpha", "BE", "cooperative", &[]).await;
    let mut expected = Vec::new();
    for n in 0..7 {
        let mut it = item(&a, &format!("t{n}"), &format!("Item {n}"), "body", -n);
        it.tags = if n % 3 == 2 {
            vec!["other".into()]
        } else {
            vec!["youth".into(), "housing".into()]
        };
        it.languages = if n % 2 == 0 {
            vec!["it".into()]
        } else {
            vec!["it".into(), "en".into()]
        };
        it.kind = Some(if n == 4 { "news" } else { "interview" }.into());
        store.upsert_network_item(&it).await.unwrap();
        if n % 3 != 2 && n != 4 {
            expected.push(it.id.clone());
        }
    }
    // An edit that claims another date does not move the item.
    let mut moved = item(&a, "t0", "Item 0, edited", "body", -100);
    moved.updated_at = at(50);
    moved.tags = vec!["youth".into()];
    moved.languages = vec!["it".into()];
    moved.kind = Some("interview".into());
    assert_eq!(store.upsert_network_item(&moved).await.unwrap(), ItemWrite::Updated);

    let filter = FeedFilter {
        tag: Some("youth".into()),
        language: Some("it".into()),
        kind: Some("interview".into()),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut cursor: Option<FeedCursor> = None;
    loop {
        let page = store.network_feed(&filter, cursor.as_ref(), 2).await.unwrap();
        assert!(page.entries.len() <= 2);
        seen.extend(page.entries.iter().map(|e| e.item.id.clone()));
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, expected, "newest first, every match once, across pages");
    let english = store
        .network_feed(
            &FeedFilter {
                language: Some("en".into()),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    let ids: Vec<&str> = english.entries.iter().map(|e| e.item.id.as_str()).collect();
    assert_eq!(
        ids,
        ["t1", "t3", "t5"].map(|n| format!("https://a.example/objects/{n}")),
        "a language alone drives the walk too"
    );
}

/// Articles written at once share transactions; each caller still gets
/// its own answer, a redelivery racing its first delivery is stored and
/// boosted once, and an article that cannot be written fails alone.
async fn concurrent_articles_share_transactions(store: &Store) {
    let a = member(store, "a.example", "Alpha", "BE", "cooperative", &[]).await;
    let mut writes = Vec::new();
    for n in 0..120 {
        let store = store.clone();
        let article = item(&a, &format!("c{n}"), &format!("Concurrent {n}"), "shared commit", n);
        writes.push(tokio::spawn(async move {
            store
                .upsert_network_item_boosting(&article, Boost::IfNotYet(&format!("ann-{n}")))
                .await
        }));
    }
    // The same article twice at once, and one whose member is unknown.
    let twice = item(&a, "twice", "Twice", "sent twice", 500);
    for _ in 0..2 {
        let store = store.clone();
        let twice = twice.clone();
        writes.push(tokio::spawn(async move {
            store
                .upsert_network_item_boosting(&twice, Boost::IfNotYet("ann-twice"))
                .await
        }));
    }
    let stranger = item("https://z.example/users/org", "z", "Stranger", "no member", 600);
    let refused = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .upsert_network_item_boosting(&stranger, Boost::IfNotYet("ann-z"))
                .await
        })
    };
    let mut answers = Vec::new();
    for w in writes {
        answers.push(w.await.unwrap().unwrap());
    }
    assert!(refused.await.unwrap().is_err());
    assert!(
        answers[..120].iter().all(|a| *a == (ItemWrite::Inserted, true)),
        "{answers:?}"
    );
    let mut twice_answers = answers[120..].to_vec();
    twice_answers.sort_by_key(|a| a.0 != ItemWrite::Inserted);
    assert_eq!(
        twice_answers,
        vec![(ItemWrite::Inserted, true), (ItemWrite::Updated, false)]
    );
    let feed = store.network_feed(&FeedFilter::default(), None, 200).await.unwrap();
    assert_eq!(feed.entries.len(), 121);
    assert!(feed.entries.iter().all(|e| e.item.member == a));
    let q = FeedFilter {
        q: Some("shared commit".into()),
        ..Default::default()
    };
    assert_eq!(store.network_feed(&q, None, 200).await.unwrap().entries.len(), 120);
}

/// On SQLite a batch commits without waiting for the disk, and its writers
/// are answered after a flush of the log, which batches share; every
/// other write still waits for the disk at its commit.
async fn batches_are_answered_after_a_shared_flush(store: &Store) {
    let a = member(store, "a.example", "Alpha", "BE", "cooperative", &[]).await;
    let before = gazette_store::testing::wal_flush_state(store).await.unwrap();
    let mut writes = Vec::new();
    for n in 0..80 {
        let store = store.clone();
        let article = item(&a, &format!("f{n}"), &format!("Flushed {n}"), "on disk", n);
        writes.push(tokio::spawn(async move { store.upsert_network_item(&article).await }));
    }
    for w in writes {
        assert_eq!(w.await.unwrap().unwrap(), ItemWrite::Inserted);
    }
    let after = gazette_store::testing::wal_flush_state(store).await.unwrap();
    match (before, after) {
        (Some((before, _)), Some((after, synchronous))) => {
            let flushes = after - before;
            assert!((1..80).contains(&flushes), "{flushes} flushes for 80 articles");
            assert_eq!(synchronous, 2, "the writer is left at synchronous = FULL");
        }
        (None, None) => assert_eq!(store.backend(), Backend::Postgres),
        other => panic!("{other:?}"),
    }
    let feed = store.network_feed(&FeedFilter::default(), None, 100).await.unwrap();
    assert_eq!(feed.entries.len(), 80);
}

/// The index and a reader's query split words the same way: accents and
/// case as written, hyphens and apostrophes between words, punctuation
/// alone matches nothing.
async fn search_words_are_read_alike_on_both_sides(store: &Store) {
    let a = member(store, "a.example", "Alpha", "BE", "cooperative", &[]).await;
    let article = item(
        &a,
        "w1",
        "L'économie co-operative",
        "Une SCIC (société coopérative d'intérêt collectif) en 2024.",
        0,
    );
    store.upsert_network_item(&article).await.unwrap();
    store
        .upsert_network_item(&item(&a, "w2", "Operations", "nothing else", 1))
        .await
        .unwrap();
    let found = |q: &'static str| {
        let store = store.clone();
        async move {
            searched(&store, q)
                .await
                .into_iter()
                .map(|i| i.title)
                .collect::<Vec<_>>()
        }
    };
    let economie = vec!["L'économie co-operative".to_owned()];
    assert_eq!(found("ÉCONOMIE").await, economie);
    assert_eq!(
        found("economie").await,
        match store.backend() {
            // FTS5's tokenizer folds accents; PostgreSQL's `simple` words keep them.
            Backend::Sqlite => economie.clone(),
            Backend::Postgres => vec![],
        }
    );
    assert_eq!(found("co-operative").await, economie);
    assert_eq!(found("operative").await, economie);
    assert_eq!(found("d'intérêt 2024").await, economie);
    assert_eq!(found("scic)").await, economie);
    assert!(found("!!!").await.is_empty());
    assert!(found("opera").await.is_empty());
    let title = store
        .network_feed(
            &FeedFilter {
                q: Some("économie".into()),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap()
        .entries[0]
        .title_highlighted
        .clone()
        .unwrap();
    assert!(
        title.contains(&format!("{MATCH_START}économie{MATCH_END}")),
        "{title:?}"
    );
}

/// Items stored before migration 23 have no PostgreSQL search vector: the
/// store writes it when it starts, and they are found again.
#[tokio::test]
async fn search_vectors_filled_for_older_items_postgres() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let store = &db.store;
    let a = member(store, "a.example", "Alpha", "BE", "cooperative", &[]).await;
    store
        .upsert_network_item(&item(&a, "old", "Older turbines", "windmill cooperative", 0))
        .await
        .unwrap();
    store
        .delete_network_item(&item(&a, "gone", "", "", 1).id, &a)
        .await
        .unwrap();
    let search = |q: &'static str| {
        let store = store.clone();
        async move { searched(&store, q).await.len() }
    };
    assert_eq!(search("windmill").await, 1);
    // As the migration left them (through a second connection).
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(&db.url).await.unwrap();
    sqlx::query("UPDATE network_items SET search = NULL")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    assert_eq!(search("windmill").await, 0);
    assert!(store.migrate().await.unwrap().is_empty());
    assert_eq!(search("windmill").await, 1);
    assert_eq!(search("turbines").await, 1);
    assert_eq!(store.fill_feed_search_vectors().await.unwrap(), 0);
}

/// SQLite's full-text index reads its texts from the feed's rows (migration
/// 24): triggers keep it in step with every write, new items are appended
/// under the next key, and an index built by an older version is rebuilt.
/// FTS5's own integrity check compares the index with the rows.
#[tokio::test]
async fn feed_text_index_follows_every_write_sqlite() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else {
        return;
    };
    let store = &db.store;
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let check = |raw: sqlx::AnyPool| async move {
        sqlx::query("INSERT INTO network_items_fts (network_items_fts, rank) VALUES ('integrity-check', 1)")
            .execute(&raw)
            .await
            .expect("the full-text index matches the feed's rows");
    };
    let found = |q: &'static str| {
        let store = store.clone();
        async move {
            let mut ids: Vec<String> = searched(&store, q).await.into_iter().map(|i| i.id).collect();
            ids.sort();
            ids
        }
    };
    let a = member(store, "a.example", "Alpha", "BE", "cooperative", &[]).await;
    let one = item(&a, "1", "Solar roofs", "panels on every school", 0);
    let two = item(&a, "2", "Wind shares", "a turbine owned by villagers", 1);
    store.upsert_network_item(&one).await.unwrap();
    store.upsert_network_item(&two).await.unwrap();
    // Written together (one transaction, one multi-row insert).
    let mut writes = Vec::new();
    for n in 3..9 {
        let store = store.clone();
        let article = item(&a, &n.to_string(), &format!("Batch {n}"), "heat pumps for tenants", n);
        writes.push(tokio::spawn(async move { store.upsert_network_item(&article).await }));
    }
    for w in writes {
        assert_eq!(w.await.unwrap().unwrap(), ItemWrite::Inserted);
    }
    let keys: Vec<i64> = sqlx::query_scalar("SELECT fts_rowid FROM network_items ORDER BY fts_rowid")
        .fetch_all(&raw)
        .await
        .unwrap();
    assert_eq!(keys, (1..=8).collect::<Vec<i64>>(), "new items take the next keys");
    assert_eq!(found("tenants").await.len(), 6);

    // An edit, a deletion and a moderator's removal.
    let mut edited = one.clone();
    edited.title = "Solar cooperative".into();
    edited.content_html = "<p>batteries in the basement</p>".into();
    edited.updated_at = at(30);
    assert_eq!(store.upsert_network_item(&edited).await.unwrap(), ItemWrite::Updated);
    store.delete_network_item(&two.id, &a).await.unwrap();
    store
        .hide_network_item(&item(&a, "3", "", "", 0).id, true)
        .await
        .unwrap();
    check(raw.clone()).await;
    assert!(found("panels").await.is_empty(), "the old text is out of the index");
    assert_eq!(found("batteries").await, vec![one.id.clone()]);
    assert!(found("turbine").await.is_empty());
    assert_eq!(found("tenants").await.len(), 5, "the hidden item is not shown");

    // As an older version left the database: the index held its own copy
    // of the texts, under keys hashed from the ids.
    for sql in [
        "DROP TRIGGER network_items_fts_ai",
        "DROP TRIGGER network_items_fts_ad",
        "DROP TRIGGER network_items_fts_au",
        "DROP TABLE network_items_fts",
        "DROP VIEW network_item_texts",
        "DROP INDEX network_items_by_fts_rowid",
        "UPDATE network_items SET fts_rowid = 7919 * rowid + 104729 WHERE deleted_at IS NULL",
        "CREATE VIRTUAL TABLE network_items_fts USING fts5 (item_id UNINDEXED, title, body,
            tokenize = 'unicode61 remove_diacritics 2')",
        "INSERT INTO network_items_fts (rowid, item_id, title, body)
            SELECT fts_rowid, id, title, search_text FROM network_items WHERE deleted_at IS NULL",
        "DELETE FROM gazette_migrations WHERE version = 24",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&raw).await.unwrap();
    }
    assert_eq!(store.migrate().await.unwrap(), vec![24]);
    check(raw.clone()).await;
    assert_eq!(found("batteries").await, vec![one.id.clone()]);
    assert_eq!(found("tenants").await.len(), 5);
    let max: i64 = sqlx::query_scalar("SELECT MAX(fts_rowid) FROM network_items")
        .fetch_one(&raw)
        .await
        .unwrap();
    store
        .upsert_network_item(&item(&a, "9", "After", "compost", 40))
        .await
        .unwrap();
    let key: i64 = sqlx::query_scalar("SELECT fts_rowid FROM network_items WHERE id LIKE '%/objects/9'")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(key, max + 1);
    assert_eq!(found("compost").await.len(), 1);
    check(raw.clone()).await;
    raw.close().await;
}

/// Each facet counts the items every other filter lets through.
async fn facet_counts_leave_out_their_own_filter(store: &Store) {
    let a = member(store, "a.example", "Alpha", "BE", "cooperative", &["energy", "housing"]).await;
    let b = member(store, "b.example", "Beta", "FR", "mutual", &["health"]).await;
    let mut interview = item(&a, "i1", "Solar cooperatives", "Citizens own the panels", 3);
    interview.kind = Some("interview".into());
    interview.languages = vec!["en".into(), "nl".into()];
    store.upsert_network_item(&interview).await.unwrap();
    let mut french = item(&b, "f1", "Mutuelles et santé", "Une coopérative de santé", 2);
    french.language = Some("fr".into());
    french.languages = vec!["fr".into()];
    store.upsert_network_item(&french).await.unwrap();
    for n in 0..2 {
        store
            .upsert_network_item(&item(&b, &format!("n{n}"), &format!("News {n}"), "plain news", -n))
            .await
            .unwrap();
    }
    let pairs = |v: &[gazette_store::FacetCount]| -> Vec<(String, i64)> {
        v.iter().map(|c| (c.value.clone(), c.count)).collect()
    };
    let p =
        |items: &[(&str, i64)]| -> Vec<(String, i64)> { items.iter().map(|(v, n)| ((*v).to_owned(), *n)).collect() };

    let all = store.network_feed_facets(&FeedFilter::default()).await.unwrap();
    assert_eq!(pairs(&all.country), p(&[("FR", 3), ("BE", 1)]));
    assert_eq!(pairs(&all.kind), p(&[("news", 3), ("interview", 1)]));
    assert_eq!(pairs(&all.language), p(&[("en", 3), ("fr", 1), ("nl", 1)]));
    assert_eq!(pairs(&all.sector), p(&[("health", 3), ("energy", 1), ("housing", 1)]));
    assert_eq!(pairs(&all.legal_form), p(&[("mutual", 3), ("cooperative", 1)]));
    assert_eq!(
        pairs(&all.organisation),
        p(&[("org@b.example", 3), ("org@a.example", 1)])
    );
    assert_eq!(all.organisation[0].label.as_deref(), Some("Beta"));

    // A country chosen: the other facets narrow, the country facet does not.
    let fr = store
        .network_feed_facets(&FeedFilter {
            country: Some("FR".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(pairs(&fr.country), p(&[("FR", 3), ("BE", 1)]));
    assert_eq!(pairs(&fr.kind), p(&[("news", 3)]));
    assert_eq!(pairs(&fr.language), p(&[("en", 2), ("fr", 1)]));
    assert_eq!(pairs(&fr.organisation), p(&[("org@b.example", 3)]));

    // With a search and an organisation (the handle in any case).
    let searched = store
        .network_feed_facets(&FeedFilter {
            q: Some("news".into()),
            organisation: Some("Org@B.example".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(pairs(&searched.kind), p(&[("news", 2)]));
    assert_eq!(pairs(&searched.organisation), p(&[("org@b.example", 2)]));

    // Hidden items are not counted.
    store.hide_network_item(&french.id, true).await.unwrap();
    let after = store.network_feed_facets(&FeedFilter::default()).await.unwrap();
    assert_eq!(pairs(&after.language), p(&[("en", 3), ("nl", 1)]));
}

/// A member article's signed JSON is kept beside its item, replaced by a
/// later one, forgotten on request, and goes with the item.
async fn signed_objects_are_kept_per_item(store: &Store) {
    let m = member(store, "s.example", "Sigma", "BE", "cooperative", &["energy"]).await;
    let it = item(&m, "1", "Signed", "Body", 0);
    store.upsert_network_item(&it).await.unwrap();
    assert_eq!(store.find_network_item_object(&it.id).await.unwrap(), None);
    let copy = |json, proof_key| Some(KeptCopy { json, proof_key });
    store
        .set_network_item_object(&it.id, copy("{\"v\":1}", "https://s.example/u#k1"))
        .await
        .unwrap();
    store
        .set_network_item_object(&it.id, copy("{\"v\":2}", "https://s.example/u#k2"))
        .await
        .unwrap();
    assert_eq!(
        store.find_network_item_object(&it.id).await.unwrap().as_deref(),
        Some("{\"v\":2}")
    );
    assert!(
        store
            .network_items_proven_by("https://s.example/u#k1")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.network_items_proven_by("https://s.example/u#k2").await.unwrap(),
        std::slice::from_ref(&it.id)
    );
    store.set_network_item_object(&it.id, None).await.unwrap();
    assert_eq!(store.find_network_item_object(&it.id).await.unwrap(), None);
    assert!(
        store
            .network_items_proven_by("https://s.example/u#k2")
            .await
            .unwrap()
            .is_empty()
    );
    // An object for an item that is not stored is refused (foreign key).
    assert!(
        store
            .set_network_item_object("https://s.example/objects/none", copy("{}", "https://s.example/u#k1"))
            .await
            .is_err()
    );
}

/// A remote key is read again oldest first; retiring it forgets the
/// copies it vouched for, and only those, in one go.
async fn retiring_a_remote_key_forgets_its_copies(store: &Store) {
    let m = member(store, "r.example", "Rho", "BE", "cooperative", &["energy"]).await;
    let (a, b, c) = (
        item(&m, "1", "One", "Body", 0),
        item(&m, "2", "Two", "Body", 1),
        item(&m, "3", "Three", "Body", 2),
    );
    let (k1, k2) = (
        "https://r.example/users/rho#ed25519-key",
        "https://r.example/users/rho#ed25519-key-2",
    );
    let t0 = Utc::now() - Duration::hours(2);
    for (id, at) in [(k1, t0), (k2, t0 + Duration::hours(1))] {
        store
            .save_remote_multikey(&RemoteMultikey {
                id: id.into(),
                controller: "https://r.example/users/rho".into(),
                public_key_multibase: format!("z6Mk{}", &id[id.len() - 3..]),
                fetched_at: at,
            })
            .await
            .unwrap();
    }
    for (it, key) in [(&a, k1), (&b, k1), (&c, k2)] {
        store.upsert_network_item(it).await.unwrap();
        store
            .set_network_item_object(
                &it.id,
                Some(KeptCopy {
                    json: "{}",
                    proof_key: key,
                }),
            )
            .await
            .unwrap();
    }
    let ids = |keys: Vec<RemoteMultikey>| keys.into_iter().map(|k| k.id).collect::<Vec<_>>();
    let now = Utc::now();
    assert_eq!(
        ids(store.remote_multikeys_read_before(now, 10).await.unwrap()),
        [k1, k2]
    );
    assert_eq!(ids(store.remote_multikeys_read_before(now, 1).await.unwrap()), [k1]);
    assert_eq!(
        ids(store
            .remote_multikeys_read_before(t0 + Duration::minutes(30), 10)
            .await
            .unwrap()),
        [k1]
    );
    assert_eq!(
        ids(store.remote_multikeys_of("https://r.example/users/rho").await.unwrap()),
        [k1, k2]
    );
    let mut gone = vec![a.id.clone(), b.id.clone()];
    gone.sort();
    assert_eq!(store.retire_remote_multikey(k1).await.unwrap(), gone);
    assert_eq!(store.find_remote_multikey(k1).await.unwrap(), None);
    assert!(store.find_remote_multikey(k2).await.unwrap().is_some());
    assert_eq!(store.find_network_item_object(&a.id).await.unwrap(), None);
    assert_eq!(
        store.find_network_item_object(&c.id).await.unwrap().as_deref(),
        Some("{}")
    );
    // The items stay in the feed; only their copies went.
    assert!(store.find_network_item(&a.id).await.unwrap().is_some());
    assert!(store.retire_remote_multikey(k1).await.unwrap().is_empty());
}
