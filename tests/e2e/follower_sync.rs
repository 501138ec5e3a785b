//! Follower synchronisation (FEP-8fcf) with the Fedify peer: Gazette's
//! deliveries carry `Collection-Synchronization` with the digest the peer
//! computes from its own follows; the partial followers collection answers
//! only a signed GET from the host it is about; a peer that lost its record
//! of a follow repairs it after the next delivery (its `Undo` reaches
//! Gazette); and Gazette, when it lost its record of following the peer,
//! repairs it from the peer's own header (Fedify's `syncCollection`) by
//! undoing the follow the peer still lists.

#![allow(clippy::unwrap_used)]

use crate::common;
use crate::interop::start_peer_with;

use common::{Env, eventually, path};
use serde_json::{Value, json};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(60);

fn publish(env: &Env, slug: &str) {
    let file = env.write(
        &format!("{slug}.md"),
        format!(
            "---\nslug: {slug}\nkind: news\ntitle: Sync {slug}\nsummary: Followers in step.\nlanguage: en\n\
             author: camille_renard\n---\nBody.\n"
        ),
    );
    env.ok(&["publish", path(&file)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_carry_the_followers_digest_and_a_lost_follow_is_repaired() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let env = env.federated();
    let server = env.serve_federated(&["--demo"]);
    let peer = start_peer_with(&env.dir.join("peer"), &["--sync-followers"]);
    let peer_host = peer.base.trim_start_matches("http://").to_owned();
    let author = server.url("/users/camille_renard");
    let store = gazette_store::Store::connect(env.database_url(), 1).await.unwrap();

    peer.control("follow", json!({ "target": author })).await;
    peer.wait_for("Accept", |e| e["actor"] == author.as_str()).await;

    // The Create carries the header, and its digest is the peer's own view.
    publish(&env, "sync-one");
    let create = peer.wait_for("Create", |e| e["object"]["type"] == "Article").await;
    let sync = peer.event("collection-sync", |e| e["activity"] == create["id"]).await;
    assert_eq!(sync["sender"], author, "{sync}");
    assert_eq!(sync["matches"], true, "{sync}");
    assert_eq!(sync["sync"]["collectionId"], format!("{author}/followers"), "{sync}");
    let partial = sync["sync"]["url"].as_str().unwrap().to_owned();
    assert_eq!(partial, format!("{author}/followers_synchronization/{peer_host}"));
    assert_eq!(
        sync["sync"]["digest"],
        gazette_store::followers_digest([peer.actor.as_str()]),
        "{sync}"
    );

    // The partial collection: the peer's followers for a GET signed on its
    // host; nothing for an unsigned GET or one asking for another host.
    let listed = peer.control("signed-get", json!({ "url": partial })).await;
    assert_eq!(listed["status"], 200, "{listed}");
    assert_eq!(listed["body"]["orderedItems"], json!([peer.actor]), "{listed}");
    assert_eq!(listed["body"]["id"], partial.as_str());
    let unsigned = common::test_client()
        .get(&partial)
        .header("Accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let other = peer
        .control(
            "signed-get",
            json!({ "url": format!("{author}/followers_synchronization/elsewhere.example") }),
        )
        .await;
    assert_eq!(other["status"], 403, "{other}");

    // The peer loses its record of following the author: the next delivery
    // tells it, it reads the partial collection and undoes the follow, and
    // Gazette forgets the follower.
    let forgot = peer.control("forget-following", json!({ "target": author })).await;
    assert_eq!(forgot["had"], true);
    publish(&env, "sync-two");
    let repaired = peer.event("follower-sync", |e| e["sender"] == author.as_str()).await;
    assert_eq!(repaired["status"], 200, "{repaired}");
    assert_eq!(repaired["listed"], true, "{repaired}");
    assert_eq!(repaired["action"], "undo", "{repaired}");
    eventually("Gazette to drop the follower the peer undid", DEADLINE, || async {
        (store.count_followers(&author).await.unwrap() == 0).then_some(())
    })
    .await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gazette_repairs_its_follows_from_a_peers_header() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let env = env.federated();
    let server = env.serve_federated(&["--demo"]);
    let peer = start_peer_with(&env.dir.join("peer"), &[]);
    let store = gazette_store::Store::connect(env.database_url(), 1).await.unwrap();
    let org = store.find_organisation().await.unwrap().unwrap();
    let org_id = server.url(&format!("/users/{}", org.username));

    env.ok(&["follow", &peer.actor]);
    eventually("the peer to accept the organisation's follow", DEADLINE, || async {
        let f = store.find_following(&org_id, &peer.actor).await.unwrap()?;
        (f.status == gazette_core::FollowStatus::Accepted).then_some(())
    })
    .await;
    let followers = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(followers(peer.get("followers").await), vec![org_id.clone()]);

    // Gazette loses its record of the follow; the peer's next delivery to
    // its followers says the organisation follows it: Gazette reads the
    // peer's partial collection and undoes that follow.
    assert!(store.remove_following(Some(&org_id), &peer.actor).await.unwrap());
    peer.control("publish-note-to-followers", json!({})).await;
    peer.wait_for("Undo", |e| e["actor"] == org_id.as_str()).await;
    eventually(
        "the peer to forget the organisation as a follower",
        DEADLINE,
        || async { followers(peer.get("followers").await).is_empty().then_some(()) },
    )
    .await;
    let fetched: Vec<Value> = peer
        .events()
        .await
        .into_iter()
        .filter(|e| e["event"] == "signed-in" && e["method"] == "GET")
        .collect();
    assert!(
        fetched
            .iter()
            .any(|e| e["path"] == "/users/alice/followers" && e["status"] == 200),
        "Gazette read the peer's partial followers collection: {fetched:#?}"
    );
    store.close().await;
}
