//! Upgrading from old releases: a database as the first release left it
//! (186c473: its one migration, its record in `gazette_migrations`, an
//! organisation, an author, a published article in two languages with tags,
//! an API token) and one as the first federating release left it (4eaa0f0:
//! three migrations, the same content plus the author's key pair, a
//! follower on another server and its like), built from the SQL in
//! tests/fixtures/upgrade, are migrated by today's binary on SQLite and
//! PostgreSQL and then served with their old content: the article's pages,
//! its AS2 object, its author with the same key, the follower, the token.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::Env;
use common::fediverse::as2;
use gazette_store::Backend;
use serde_json::Value;

both_backends!(
    first_release_database_upgrades_and_serves_its_articles,
    first_federating_release_database_keeps_its_keys_and_followers,
);

const ARTICLE_ID: &str = "018cc2a5a26013b4c5d6e7f8091a2b3c";
const SLUG: &str = "solar-roof-on-the-old-mill";
/// The secret of the API token stored in the fixture (only its hash is there).
const OLD_TOKEN: &str = "gzt_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// The public URL of the instance in the first federating release's fixture.
const FEDERATING_ORIGIN: &str = "https://news.pont.example";

/// Loads an old release's database (`sqlite` or `postgres` SQL, for the
/// backend of `env`) into the empty database of `env`; returns that SQL.
async fn load(env: &Env, sqlite: &'static str, postgres: &'static str) -> &'static str {
    let sql = match env.backend {
        Backend::Sqlite => {
            std::fs::create_dir_all(env.dir.join("data")).unwrap();
            sqlite
        }
        Backend::Postgres => postgres,
    };
    gazette_store::testing::run_script(env.database_url(), sql)
        .await
        .unwrap();
    sql
}

/// `gazette migrate --check` lists every migration after `last_applied`
/// (and none before) and changes nothing; `gazette migrate` applies them.
fn check_then_migrate(env: &Env, last_applied: i64, first_pending: &str) {
    let check = env.ok(&["migrate", "--check"]);
    for version in 1..=last_applied {
        assert!(!check.contains(&format!("migration {version} (")), "{check}");
    }
    assert!(check.contains(&format!("would apply {first_pending}")), "{check}");
    assert!(
        check.contains("would apply migration 27 (instance identity)"),
        "{check}"
    );
    assert_eq!(env.ok(&["migrate", "--check"]), check, "--check changed the database");

    env.ok(&["migrate"]);
    let done = env.ok(&["migrate", "--check"]);
    assert!(done.contains("up to date"), "{done}");
}

async fn first_release_database_upgrades_and_serves_its_articles(env: Env) {
    let env = env.federated();
    load(
        &env,
        include_str!("../fixtures/upgrade/first_release_sqlite.sql"),
        include_str!("../fixtures/upgrade/first_release_postgres.sql"),
    )
    .await;
    check_then_migrate(&env, 1, "migration 2 (federation)");

    let server = env.serve_federated(&[]);
    check_old_content(&server.base, &server).await;
}

async fn first_federating_release_database_keeps_its_keys_and_followers(env: Env) {
    let env = env.with_env("GAZETTE_INSTANCE__PUBLIC_URL", FEDERATING_ORIGIN);
    let sql = load(
        &env,
        include_str!("../fixtures/upgrade/first_federated_release_sqlite.sql"),
        include_str!("../fixtures/upgrade/first_federated_release_postgres.sql"),
    )
    .await;
    check_then_migrate(&env, 3, "migration 4 (network)");

    // Served on loopback for the instance at its old public URL.
    let server = env.serve(&[]);
    check_old_content(FEDERATING_ORIGIN, &server).await;

    // The author signs with the key its followers already know.
    let begin = sql.find("-----BEGIN PUBLIC KEY-----").unwrap();
    let end = sql.find("-----END PUBLIC KEY-----").unwrap() + "-----END PUBLIC KEY-----".len();
    let actor: Value = as2(&server.url("/users/amelie_durand")).await;
    assert_eq!(actor["id"], format!("{FEDERATING_ORIGIN}/users/amelie_durand"));
    assert_eq!(
        actor["publicKey"]["publicKeyPem"].as_str().unwrap().trim(),
        &sql[begin..end],
        "{actor}"
    );

    // Its follower and the follower's like are still there.
    let followers: Value = as2(&server.url("/users/amelie_durand/followers")).await;
    assert_eq!(followers["totalItems"], 1, "{followers}");
    let listed = env.ok(&["followers", "list"]);
    assert!(listed.contains("https://social.example/users/lea"), "{listed}");
    let object: Value = as2(&server.url(&format!("/objects/{ARTICLE_ID}"))).await;
    assert_eq!(object["likes"]["totalItems"], 1, "{object}");
}

/// The first release's content, served by `server` for the instance at
/// `origin`: the article's pages in both languages, its AS2 object, its
/// author, and the API with the first release's token.
async fn check_old_content(origin: &str, server: &common::Server) {
    let http = common::test_client();

    // The page in the article's default language, and its translation.
    let page = http
        .get(server.url(&format!("/articles/{SLUG}/en")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("A solar roof on the old mill"), "{html}");
    assert!(html.contains("<strong>members voted</strong>"), "{html}");
    assert!(html.contains("Amélie Durand"), "{html}");
    let fr = http
        .get(server.url(&format!("/articles/{SLUG}/fr")))
        .send()
        .await
        .unwrap();
    assert_eq!(fr.status(), 200);
    let html = fr.text().await.unwrap();
    assert!(html.contains("Un toit solaire sur le vieux moulin"), "{html}");

    // The same article as an AS2 object, attributed to its old author.
    let object: Value = as2(&server.url(&format!("/objects/{ARTICLE_ID}"))).await;
    assert_eq!(object["type"], "Article", "{object}");
    assert_eq!(object["id"], format!("{origin}/objects/{ARTICLE_ID}"));
    assert_eq!(object["nameMap"]["en"], "A solar roof on the old mill", "{object}");
    assert_eq!(
        object["nameMap"]["fr"], "Un toit solaire sur le vieux moulin",
        "{object}"
    );
    assert!(
        object["contentMap"]["en"]
            .as_str()
            .unwrap()
            .contains("<strong>members voted</strong>"),
        "{object}"
    );
    assert_eq!(object["attributedTo"], format!("{origin}/users/amelie_durand"));
    assert!(
        object["published"].as_str().unwrap().starts_with("2024-01-02T10:00:00"),
        "{object}"
    );
    let tags: Vec<&str> = object["tag"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(tags, ["#solar", "#housing"], "{object}");

    // The author's actor, with a key (made now if the release had none).
    let actor: Value = as2(&server.url("/users/amelie_durand")).await;
    assert_eq!(actor["name"], "Amélie Durand", "{actor}");
    assert!(
        actor["publicKey"]["publicKeyPem"]
            .as_str()
            .unwrap()
            .contains("PUBLIC KEY"),
        "{actor}"
    );

    // The API token made by the first release still opens the API.
    let api: Value = http
        .get(server.url(&format!("/api/articles/{SLUG}")))
        .bearer_auth(OLD_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["id"], ARTICLE_ID, "{api}");
}
