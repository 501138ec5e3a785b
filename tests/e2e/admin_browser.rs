//! The admin in a real browser: Debian's headless Chromium, driven by
//! tests/browser/admin.mjs (playwright-core, axe-core), against a real
//! `gazette serve` with demo content. Signs in (after a wrong password and
//! a form without its CSRF token are refused), writes and publishes a
//! bilingual interview with a cover image (after a non-image file is
//! refused without losing the text), sees it on the public page, edits it,
//! gets a conflict for a stale save, unpublishes it, switches the interface
//! to French, and checks what an author-role user is refused. Then the
//! moderation and administration pages, on data seeded here through the
//! store (remote accounts, replies held under the `moderated` comment
//! policy, a follow waiting for approval, a report): approves a reply and
//! sees it on the public page, approves the follow, resolves the report,
//! blocks a server (after a bad domain is refused with the text kept) and
//! sees its reply purged, invites a user, creates, uses and revokes an API
//! token, edits the organisation's profile; and every role's forbidden
//! routes are refused (403). The image library (upload, a non-image refused,
//! alt text, a used image's delete refused), images inserted into the text
//! (without script, and by the toolbar) and shown on the public page, the
//! organisation's logo (its actor's `icon`), and an invitation mailed to a
//! real SMTP listener on loopback. A session ended mid-edit (old cookie,
//! or none) loses nothing: sign in, the typed text is back, unsaved, then saved.
//! Validation messages in French. The settings page (bad values refused
//! with the text kept; name, default language, follower approval and
//! footer changed and in effect at once on public pages, a cached article
//! page and the actor; one put back), the account page, and followers
//! counted and filtered by server, paged by cursor. axe-core checks every admin page visited;
//! screenshots go to target/screenshots/.
//!
//! A second test drives tests/browser/public.mjs over a coordinator's
//! public pages (the shared feed as the home page, its filters, chips and
//! search, a member's page, the about page) in four interface languages,
//! each audited with axe-core.
//!
//! Needs /usr/bin/chromium and `npm ci` in tests/browser (.ci/run and
//! scripts/test see to both), and Node 20 or later (the Node 22 that
//! tests/fedify pins is used when installed).

#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use chrono::Utc;
use common::smtp::SmtpServer;
use common::{Env, PNG, path, remote_person, run_with_deadline};
use gazette_core::{Comment, FollowStatus};
use gazette_store::{ArticleQuery, Store};

const ADMIN_PASSWORD: &str = "correct horse battery staple";
const WRITER_PASSWORD: &str = "a writer's own long password";
const EDITOR_PASSWORD: &str = "an editor's password, long";

/// What the moderation pages work on: two remote accounts' replies held
/// for approval on a published article, and a report about one of them.
/// Returns the article's slug.
async fn seed_moderation(store: &Store) -> String {
    let article = store
        .list_articles(&ArticleQuery::published(1, 0))
        .await
        .unwrap()
        .articles
        .remove(0);
    let ana = remote_person("https://friendly.example/users/ana", "");
    let troll = remote_person("https://spam.example/users/troll", "");
    let bob = remote_person("https://friendly.example/users/bob", "");
    for a in [&ana, &troll, &bob] {
        store.upsert_remote_actor(a).await.unwrap();
    }
    for (actor, text) in [
        (&ana, "Thank you for this interview, we run a school roof project too."),
        (&troll, "Buy cheap followers now"),
    ] {
        store
            .upsert_comment(&Comment {
                id: format!("{}/notes/1", actor.id),
                article_id: article.id.clone(),
                actor: actor.id.clone(),
                url: None,
                content_html: format!("<p>{text}</p>"),
                language: Some("en".into()),
                status: "pending".into(),
                published_at: Utc::now(),
                updated_at: Utc::now(),
            })
            .await
            .unwrap();
    }
    store
        .add_report(
            "https://friendly.example/flags/1",
            "https://friendly.example/actor",
            std::slice::from_ref(&troll.id),
            "Spam in the replies",
        )
        .await
        .unwrap();
    article.slug
}

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser")
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_in_headless_chromium() {
    let dir = browser_dir();
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is needed: apt-get install chromium (.ci/run does)"
    );
    assert!(
        dir.join("node_modules/playwright-core").exists() && dir.join("node_modules/axe-core").exists(),
        "run `npm ci` in tests/browser first (scripts/test does)"
    );
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    // Replies wait for approval, and so do follows. Invitations are mailed
    // to the SMTP server below. The instance is also a network coordinator,
    // so its network page is audited too.
    let smtp = SmtpServer::start().await;
    let env = env
        .with_env("GAZETTE_FEDERATION__COMMENT_POLICY", "moderated")
        .with_env("GAZETTE_FEDERATION__MANUALLY_APPROVES_FOLLOWERS", "true")
        .with_env("GAZETTE_MAIL__HOST", "127.0.0.1")
        .with_env("GAZETTE_MAIL__PORT", &smtp.port.to_string())
        .with_env("GAZETTE_MAIL__TLS", "none")
        .with_env("GAZETTE_MAIL__FROM", "news@coop.example")
        .with_env("GAZETTE_NETWORK__ENABLED", "true");
    // The demo content brings the authors; the server must seed it before users link to them.
    let server = env.serve(&["--demo"]);
    env.create_user(&["marie", "--role", "admin", "--name", "Marie Dubois"], ADMIN_PASSWORD);
    env.create_user(
        &["writer", "--role", "author", "--author", "tom_verbeke"],
        WRITER_PASSWORD,
    );
    env.create_user(&["edna", "--role", "editor"], EDITOR_PASSWORD);
    let store = Store::connect(env.database_url(), 1).await.unwrap();
    let slug = seed_moderation(&store).await;
    let org = store.get_organisation().await.unwrap();
    let bob = "https://friendly.example/users/bob";
    store
        .add_follower(
            &format!("{}/users/{}", server.base, org.username),
            bob,
            "https://friendly.example/follows/1",
            FollowStatus::Pending,
        )
        .await
        .unwrap();
    // Followers of an author on two servers: more than one page of them.
    let camille = format!("{}/users/camille_renard", server.base);
    for i in 0..60 {
        let host = if i < 2 { "other.example" } else { "many.example" };
        let id = format!("https://{host}/users/reader{i}");
        store.upsert_remote_actor(&remote_person(&id, "")).await.unwrap();
        store
            .add_follower(&camille, &id, &format!("{id}/follows/1"), FollowStatus::Accepted)
            .await
            .unwrap();
    }
    // Too short a password is refused, and nothing is created.
    let mut short = env
        .command(&["user", "create", "shorty", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    short.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let out = short.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10 characters"));
    assert!(!env.ok(&["user", "list"]).contains("shorty"));

    let image = env.write("cover.png", PNG);
    let not_image = env.write("notes.png", "this is text, not a picture");
    let screenshots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    // playwright-core needs Node 20 or later; Debian 12's is 18, so use the
    // Node 22 that tests/fedify pins when it is installed.
    let pinned = dir.join("../fedify/node_modules/node/bin/node");
    let node = if pinned.exists() { pinned } else { PathBuf::from("node") };
    let mut node = tokio::process::Command::new(node);
    node.arg(dir.join("admin.mjs"))
        .args(["--base", &server.base])
        .args(["--user", "marie", "--password", ADMIN_PASSWORD])
        .args(["--writer", "writer", "--writer-password", WRITER_PASSWORD])
        .args(["--editor", "edna", "--editor-password", EDITOR_PASSWORD])
        .args(["--slug", &slug, "--org", &org.username])
        .args(["--image", path(&image), "--not-image", path(&not_image)])
        .args(["--screenshots", path(&screenshots)])
        .args(["--profile", path(&env.dir.join("chromium-profile"))])
        .current_dir(&dir);
    // The script's own watchdog ends it after 240 s naming its step; this
    // deadline is the backstop if Node itself hangs.
    let run = run_with_deadline(node, "admin.mjs", Duration::from_secs(300)).await;
    let (stdout, stderr) = (&run.stdout, &run.stderr);
    assert!(
        run.success && stdout.contains("\"ok\":true"),
        "browser test failed:\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    // The last line lists every page axe-core checked (shown with --nocapture).
    println!("{}", stdout.lines().last().unwrap_or(""));
    assert!(screenshots.join("dashboard.png").exists());
    assert!(screenshots.join("editor-published.png").exists());
    assert!(screenshots.join("comments.png").exists());
    assert!(screenshots.join("blocks.png").exists());
    assert!(screenshots.join("settings.png").exists());
    assert!(screenshots.join("settings-errors.png").exists());
    assert!(screenshots.join("settings-fr.png").exists());
    assert!(screenshots.join("media.png").exists());
    assert!(screenshots.join("editor-inline-image.png").exists());
    assert!(screenshots.join("organisation-logo.png").exists());

    // The invitation went out by mail, with the link the page showed.
    let mail = smtp.message_to("eddie@coop.example").await;
    assert!(mail.text().contains("/admin/reset/"), "{}", mail.text());
    // The logo is the organisation actor's icon.
    let logo = store
        .get_organisation()
        .await
        .unwrap()
        .logo
        .expect("a logo was uploaded");
    let actor: serde_json::Value = common::test_client()
        .get(server.url(&format!("/users/{}", org.username)))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(actor["icon"]["type"], "Image");
    assert_eq!(actor["icon"]["mediaType"], "image/png");
    assert_eq!(actor["icon"]["url"], server.url(&format!("/media/{logo}")));
    assert_eq!(actor["icon"]["name"], "Sunfield cooperative logo");
    assert!(
        store.get_author("tom_verbeke").await.unwrap().avatar.is_some(),
        "the avatar was chosen"
    );

    // What the browser did is in the database.
    let visible = store.list_comments_by_status("visible", 10, 0).await.unwrap();
    assert_eq!(visible.len(), 1, "ana's reply was approved");
    assert_eq!(visible[0].actor.id, "https://friendly.example/users/ana");
    assert_eq!(store.count_comments_by_status("pending").await.unwrap(), 0);
    assert!(
        store
            .find_remote_actor("https://spam.example/users/troll")
            .await
            .unwrap()
            .is_none(),
        "blocking spam.example purged its account and reply"
    );
    assert!(store.is_domain_blocked("spam.example").await.unwrap());
    let org_id = format!("{}/users/{}", server.base, org.username);
    assert_eq!(
        store
            .count_followers_with_status(&org_id, FollowStatus::Accepted)
            .await
            .unwrap(),
        1,
        "bob's follow was approved"
    );
    assert!(
        store.list_reports(false).await.unwrap().is_empty(),
        "the report is resolved"
    );
    let eddie = store.get_user("eddie").await.unwrap();
    assert_eq!(eddie.role, gazette_store::Role::Editor);
    assert!(!eddie.has_password, "an invited user sets a password with the link");
    let tokens = store.list_tokens().await.unwrap();
    assert!(tokens.iter().any(|t| t.name == "newsletter" && t.revoked_at.is_some()));
    assert_eq!(
        store.get_organisation().await.unwrap().description,
        "Cooperatives sharing the sun, edited in the browser."
    );
    // The settings saved in the browser, by marie; the footer put back.
    let settings = store.list_instance_settings().await.unwrap();
    let names: Vec<&str> = settings.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "federation.manually_approves_followers",
            "instance.default_language",
            "instance.name"
        ]
    );
    let marie = store.get_user("marie").await.unwrap();
    assert!(
        settings
            .iter()
            .all(|s| s.updated_by.as_deref() == Some(marie.id.as_str()))
    );
    // The text typed while signed out was saved once signed in again.
    let saved = store
        .list_articles(&ArticleQuery {
            search: Some("school roof".into()),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        saved.articles.iter().any(|a| a
            .translations
            .iter()
            .any(|t| t.body_markdown.contains("Texte tapé hors session."))),
        "the French text typed while signed out was saved"
    );
    store.close().await;
}

/// The coordinator's public pages in the browser (tests/browser/public.mjs):
/// the shared feed as the home page (`network.home`), its facets, chips and
/// highlighted search, a member's page and the about page, audited with
/// axe-core in Dutch (Accept-Language), English, German and French (the
/// switch, remembered). Members and their articles are seeded through the
/// store, as the coordinator's inbox would have written them.
#[tokio::test(flavor = "multi_thread")]
async fn public_network_pages_in_headless_chromium() {
    let dir = browser_dir();
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is needed: apt-get install chromium (.ci/run does)"
    );
    assert!(
        dir.join("node_modules/playwright-core").exists() && dir.join("node_modules/axe-core").exists(),
        "run `npm ci` in tests/browser first (scripts/test does)"
    );
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let env = env
        .with_env("GAZETTE_NETWORK__ENABLED", "true")
        .with_env("GAZETTE_NETWORK__HOME", "true")
        .with_env("GAZETTE_NETWORK__NAME", "European SSE Network")
        .with_env(
            "GAZETTE_NETWORK__SUMMARY",
            "Cooperatives, mutuals and social enterprises publishing together.",
        );
    let server = env.serve(&["--demo"]);
    let store = Store::connect(env.database_url(), 1).await.unwrap();
    let members = [
        ("zon.example", "Zonnecoop", "BE", "cooperative", "energy", "nl"),
        ("mut.example", "Mutuelle Entraide", "FR", "mutual", "health", "fr"),
    ];
    for (host, name, country, form, sector, lang) in members {
        let actor = format!("https://{host}/users/org");
        let profile = gazette_core::MemberProfile {
            name: name.into(),
            url: Some(format!("https://{host}/")),
            country: Some(country.into()),
            legal_form: Some(form.into()),
            sectors: vec![sector.into()],
            languages: vec![lang.into()],
            logo: None,
        };
        store
            .request_membership(
                &actor,
                host,
                &format!("org@{host}"),
                &format!("{actor}/inbox"),
                &profile,
                gazette_core::MemberStatus::Approved,
            )
            .await
            .unwrap();
    }
    let items = [
        ("zon.example", "s1", "Solar roofs owned by the neighbours", "en", "news"),
        ("zon.example", "s2", "Zonnepanelen op de school", "nl", "news"),
        ("zon.example", "s3", "A wind cooperative turns ten", "en", "interview"),
        ("mut.example", "m1", "Une mutuelle pour les indépendants", "fr", "news"),
    ];
    for (n, (host, id, title, lang, kind)) in items.into_iter().enumerate() {
        let at = Utc::now() - chrono::Duration::hours(i64::try_from(n).unwrap());
        store
            .upsert_network_item(&gazette_core::NetworkItem {
                id: format!("https://{host}/objects/{id}"),
                member: format!("https://{host}/users/org"),
                attributed_to: None,
                url: Some(format!("https://{host}/articles/{id}")),
                kind: Some(kind.into()),
                language: Some(lang.into()),
                languages: vec![lang.into()],
                title: title.into(),
                summary_html: format!("<p>{title}.</p>"),
                content_html: format!("<p>{title}, in full.</p>"),
                tags: vec!["economy".into()],
                image_url: None,
                image_alt: None,
                published_at: at,
                updated_at: at,
            })
            .await
            .unwrap();
    }
    let screenshots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    let pinned = dir.join("../fedify/node_modules/node/bin/node");
    let node = if pinned.exists() { pinned } else { PathBuf::from("node") };
    let mut node = tokio::process::Command::new(node);
    node.arg(dir.join("public.mjs"))
        .args(["--base", &server.base, "--member", "org@zon.example"])
        .args(["--screenshots", path(&screenshots)])
        .args(["--profile", path(&env.dir.join("chromium-profile-public"))])
        .current_dir(&dir);
    // The script's own watchdog ends it after 240 s; this is the backstop.
    let run = run_with_deadline(node, "public.mjs", Duration::from_secs(300)).await;
    let (stdout, stderr) = (&run.stdout, &run.stderr);
    assert!(
        run.success && stdout.contains("\"ok\":true"),
        "browser test failed:\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    println!("{}", stdout.lines().last().unwrap_or(""));
    assert!(screenshots.join("public-feed-nl.png").exists());
    assert!(screenshots.join("public-about-de.png").exists());
    store.close().await;
}
