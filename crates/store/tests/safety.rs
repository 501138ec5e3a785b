//! Safety lists on SQLite and PostgreSQL: domain blocks (covering
//! subdomains, and ports when named), actor blocks, the allowlist, and the
//! purge of a blocked domain's actors, interactions, replies, follows,
//! network articles and unsent deliveries.

#![allow(clippy::unwrap_used)]

use chrono::Utc;
use gazette_core::validate::{self, NoLines};
use gazette_core::*;
use gazette_store::{DeliveryStatus, PurgeReport, Store};

gazette_store::each_backend!(
    domain_blocks_cover_subdomains,
    actor_blocks,
    allowlist,
    purge_removes_a_domains_content,
    allowlist_drops_pending_deliveries_elsewhere
);

const LOCAL: &str = "https://news.local/users/news";

fn remote(id: &str) -> RemoteActor {
    let host = id.split('/').nth(2).unwrap().to_owned();
    RemoteActor {
        id: id.into(),
        kind: "Person".into(),
        preferred_username: id.rsplit('/').next().unwrap().into(),
        name: "Someone".into(),
        shared_inbox: Some(format!("https://{host}/inbox")),
        host,
        inbox: format!("{id}/inbox"),
        url: None,
        icon: None,
        public_key_id: format!("{id}#main-key"),
        public_key_pem: "PEM".into(),
        moved_to: None,
        refreshed_at: Utc::now(),
    }
}

async fn article(store: &Store) -> Article {
    let a = AuthorInput {
        username: "lea".into(),
        name: "Léa".into(),
        ..Default::default()
    };
    store.create_author(&validate::author(&a).unwrap()).await.unwrap();
    let input = ArticleInput {
        slug: Some("a".into()),
        kind: "news".into(),
        status: Some("published".into()),
        language: "en".into(),
        translations: vec![TranslationInput {
            language: "en".into(),
            title: "T".into(),
            summary: "S".into(),
            body: "B".into(),
            ..Default::default()
        }],
        author: "lea".into(),
        ..Default::default()
    };
    let new = validate::article(&input, ArticleStatus::Draft, Utc::now(), &NoLines, &|_| 1).unwrap();
    store.create_article(&new).await.unwrap()
}

async fn domain_blocks_cover_subdomains(store: &Store) {
    assert!(!store.is_domain_blocked("example.org").await.unwrap());
    let block = store
        .add_domain_block("https://Example.ORG/about", "spam")
        .await
        .unwrap();
    assert_eq!((block.domain.as_str(), block.reason.as_str()), ("example.org", "spam"));
    for host in [
        "example.org",
        "social.example.org",
        "a.b.example.org:8443",
        "EXAMPLE.org",
    ] {
        assert!(store.is_domain_blocked(host).await.unwrap(), "{host}");
    }
    for host in ["notexample.org", "example.org.evil.net", "org", "localhost:8001"] {
        assert!(!store.is_domain_blocked(host).await.unwrap(), "{host}");
    }
    // Blocking again changes the reason and keeps one entry.
    store.add_domain_block("example.org", "harassment").await.unwrap();
    // A port narrows the block to that port.
    store.add_domain_block("localhost:8001", "").await.unwrap();
    assert!(store.is_domain_blocked("localhost:8001").await.unwrap());
    assert!(!store.is_domain_blocked("localhost:8002").await.unwrap());
    assert!(!store.is_domain_blocked("localhost").await.unwrap());
    let list = store.list_domain_blocks().await.unwrap();
    let names: Vec<(&str, &str)> = list.iter().map(|b| (b.domain.as_str(), b.reason.as_str())).collect();
    assert_eq!(names, [("example.org", "harassment"), ("localhost:8001", "")]);
    assert!(store.add_domain_block("not a domain", "").await.is_err());
    assert!(store.remove_domain_block("EXAMPLE.org.").await.unwrap());
    assert!(!store.remove_domain_block("example.org").await.unwrap());
    assert!(!store.is_domain_blocked("social.example.org").await.unwrap());
    let lists = store.domain_lists().await.unwrap();
    assert!(lists.is_blocked("localhost:8001") && !lists.is_blocked("example.org"));
}

async fn actor_blocks(store: &Store) {
    let troll = "https://m.example/users/troll";
    assert!(!store.is_actor_blocked(troll).await.unwrap());
    let b = store.add_actor_block(troll, "trolling").await.unwrap();
    assert_eq!((b.actor_id.as_str(), b.reason.as_str()), (troll, "trolling"));
    assert!(store.is_actor_blocked(troll).await.unwrap());
    assert!(!store.is_actor_blocked("https://m.example/users/other").await.unwrap());
    assert!(
        !store.is_domain_blocked("m.example").await.unwrap(),
        "an actor block is not a domain block"
    );
    assert!(store.add_actor_block("@troll@m.example", "").await.is_err());
    assert_eq!(store.list_actor_blocks().await.unwrap().len(), 1);
    assert!(store.remove_actor_block(troll).await.unwrap());
    assert!(!store.remove_actor_block(troll).await.unwrap());
    assert!(store.list_actor_blocks().await.unwrap().is_empty());

    // Handles find stored actors, ignoring case.
    store.upsert_remote_actor(&remote(troll)).await.unwrap();
    let found = store.find_remote_actor_by_handle("Troll", "M.example").await.unwrap();
    assert_eq!(found.unwrap().id, troll);
    assert!(
        store
            .find_remote_actor_by_handle("troll", "n.example")
            .await
            .unwrap()
            .is_none()
    );
}

async fn allowlist(store: &Store) {
    assert!(store.list_domain_allows().await.unwrap().is_empty());
    assert!(!store.is_domain_allowed("friends.example").await.unwrap());
    store.add_domain_allow("friends.example").await.unwrap();
    store.add_domain_allow("Friends.Example").await.unwrap();
    store.add_domain_allow("localhost:8001").await.unwrap();
    let list: Vec<String> = store
        .list_domain_allows()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.domain)
        .collect();
    assert_eq!(list, ["friends.example", "localhost:8001"]);
    assert!(store.is_domain_allowed("friends.example").await.unwrap());
    assert!(store.is_domain_allowed("social.friends.example").await.unwrap());
    assert!(!store.is_domain_allowed("strangers.example").await.unwrap());
    assert!(!store.is_domain_allowed("localhost:8002").await.unwrap());
    let lists = store.domain_lists().await.unwrap();
    assert!(lists.is_allowed("localhost:8001") && !lists.is_allowed("localhost:8002"));
    assert!(store.remove_domain_allow("friends.example").await.unwrap());
    assert!(!store.is_domain_allowed("friends.example").await.unwrap());
}

async fn purge_removes_a_domains_content(store: &Store) {
    let article = article(store).await;
    let blocked = ["https://bad.example/users/a", "https://social.bad.example/users/b"];
    let kept = ["https://good.example/users/c", "https://notbad.example/users/d"];
    for (i, id) in blocked.iter().chain(&kept).enumerate() {
        store.upsert_remote_actor(&remote(id)).await.unwrap();
        store
            .add_follower(LOCAL, id, &format!("{id}/follows/1"), FollowStatus::Accepted)
            .await
            .unwrap();
        store
            .add_interaction(&format!("{id}/likes/1"), "like", &article.id, id)
            .await
            .unwrap();
        store
            .upsert_comment(&Comment {
                id: format!("{id}/notes/{i}"),
                article_id: article.id.clone(),
                actor: (*id).to_owned(),
                url: None,
                content_html: "<p>Hi</p>".into(),
                language: None,
                status: "visible".into(),
                published_at: Utc::now(),
                updated_at: Utc::now(),
            })
            .await
            .unwrap();
        store
            .add_following(LOCAL, id, &format!("{LOCAL}/follows/{i}"))
            .await
            .unwrap();
        store
            .upsert_remote_article(&RemoteArticle {
                id: format!("{id}/articles/1"),
                actor: (*id).to_owned(),
                kind: "Article".into(),
                url: None,
                name: "N".into(),
                summary_html: String::new(),
                content_html: String::new(),
                language: None,
                image_url: None,
                image_alt: None,
                published_at: Utc::now(),
                updated_at: Utc::now(),
            })
            .await
            .unwrap();
    }
    let inboxes = store.follower_inboxes(&[LOCAL.to_owned()]).await.unwrap();
    assert_eq!(inboxes.len(), 4);
    let activity = "https://news.local/objects/1#create-1";
    assert_eq!(
        store.enqueue_delivery(activity, LOCAL, "{}", &inboxes).await.unwrap(),
        4
    );
    let counts = store.interaction_counts(&article.id).await.unwrap();
    assert_eq!((counts.likes, counts.replies), (4, 4));

    store.add_domain_block("bad.example", "").await.unwrap();
    let report = store.purge_domain("bad.example").await.unwrap();
    assert_eq!(
        report,
        PurgeReport {
            actors: 2,
            deliveries: 2
        }
    );

    for id in blocked {
        assert!(store.find_remote_actor(id).await.unwrap().is_none(), "{id}");
        assert!(!store.is_followed(id).await.unwrap(), "{id}");
    }
    for id in kept {
        assert!(store.find_remote_actor(id).await.unwrap().is_some(), "{id}");
        assert!(store.is_followed(id).await.unwrap(), "{id}");
    }
    assert_eq!(store.count_followers(LOCAL).await.unwrap(), 2);
    let counts = store.interaction_counts(&article.id).await.unwrap();
    assert_eq!((counts.likes, counts.replies), (2, 2));
    assert_eq!(store.list_following(LOCAL).await.unwrap().len(), 2);
    let (network, total) = store.list_remote_articles(10, 0).await.unwrap();
    assert_eq!(total, 2);
    assert!(network.iter().all(|(a, _)| !blocked.contains(&a.actor.as_str())));
    let mut left: Vec<String> = store
        .list_deliveries(activity)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.status == DeliveryStatus::Pending)
        .map(|d| d.host)
        .collect();
    left.sort();
    assert_eq!(left, ["good.example", "notbad.example"]);
    // Purging again finds nothing.
    assert_eq!(store.purge_domain("bad.example").await.unwrap(), PurgeReport::default());
}

/// Switching to allowlist mode (or taking a domain off the list) gives up
/// what was queued for hosts off the list; listed hosts and their
/// subdomains keep their deliveries.
async fn allowlist_drops_pending_deliveries_elsewhere(store: &Store) {
    let inboxes: Vec<String> = ["a.example", "news.b.example", "b.example", "c.example:8443"]
        .iter()
        .map(|h| format!("https://{h}/inbox"))
        .collect();
    assert_eq!(
        store
            .enqueue_delivery("https://news.local/activities/1", LOCAL, "{}", &inboxes)
            .await
            .unwrap(),
        4
    );
    store.add_domain_allow("b.example").await.unwrap();
    assert_eq!(store.drop_deliveries_outside_allowlist().await.unwrap(), 2);
    let mut left: Vec<String> = store
        .delivery_stats()
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.pending > 0)
        .map(|s| s.host)
        .collect();
    left.sort();
    assert_eq!(left, ["b.example", "news.b.example"]);
    assert_eq!(store.drop_deliveries_outside_allowlist().await.unwrap(), 0);
}
