//! Upgrading from the first release: a database as that release left it
//! (its one migration, its record in `gazette_migrations`, an organisation,
//! an author, a published article in two languages with tags, an API
//! token; built from tests/fixtures/upgrade/first_release_*.sql) is
//! migrated by today's binary, on SQLite and PostgreSQL, and then served
//! with its old content: the article's pages, its AS2 object and its author.

#![allow(clippy::unwrap_used)]

mod common;

use common::Env;
use gazette_store::Backend;
use serde_json::Value;

both_backends!(first_release_database_upgrades_and_serves_its_articles);

const ARTICLE_ID: &str = "018cc2a5a26013b4c5d6e7f8091a2b3c";
const SLUG: &str = "solar-roof-on-the-old-mill";
/// The secret of the API token stored in the fixture (only its hash is there).
const OLD_TOKEN: &str = "gzt_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// Loads the first release's database into the (empty) database of `env`.
async fn load_first_release(env: &Env) {
    let sql = match env.backend {
        Backend::Sqlite => {
            std::fs::create_dir_all(env.dir.join("data")).unwrap();
            include_str!("fixtures/upgrade/first_release_sqlite.sql")
        }
        Backend::Postgres => include_str!("fixtures/upgrade/first_release_postgres.sql"),
    };
    gazette_store::testing::run_script(env.database_url(), sql)
        .await
        .unwrap();
}

async fn first_release_database_upgrades_and_serves_its_articles(env: Env) {
    let env = env.federated();
    load_first_release(&env).await;

    // --check names every migration after the first, and applies none.
    let check = env.ok(&["migrate", "--check"]);
    assert!(!check.contains("migration 1 ("), "{check}");
    assert!(check.contains("would apply migration 2 (federation)"), "{check}");
    assert!(
        check.contains("would apply migration 27 (instance identity)"),
        "{check}"
    );
    assert_eq!(env.ok(&["migrate", "--check"]), check, "--check changed the database");

    env.ok(&["migrate"]);
    let done = env.ok(&["migrate", "--check"]);
    assert!(done.contains("up to date"), "{done}");

    let server = env.serve_federated(&[]);
    let http = reqwest::Client::new();

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
    let object: Value = http
        .get(server.url(&format!("/objects/{ARTICLE_ID}")))
        .header("Accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(object["type"], "Article", "{object}");
    assert_eq!(object["id"], server.url(&format!("/objects/{ARTICLE_ID}")));
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
    assert_eq!(object["attributedTo"], server.url("/users/amelie_durand"));
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

    // The author's actor, now that the schema has keys for it.
    let actor: Value = http
        .get(server.url("/users/amelie_durand"))
        .header("Accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
