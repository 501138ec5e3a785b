//! One-time password links by mail: `gazette user create --email` and
//! `gazette user reset-password` mail the link through a real SMTP exchange
//! with a server written here on loopback, and the mailed link sets the
//! password; a failing mail server loses nothing (the link is printed and
//! works); a wrong `[mail]` config stops every command naming the key.
//!
//! The newsletter end to end against aiosmtpd (a real SMTP server from
//! PyPI, tests/smtp): subscribe, confirm by the mailed link, an article
//! published by `gazette publish` mailed in the reader's language with
//! both parts and the one-click unsubscribe headers, unsubscribe in one
//! click, and the queue resumed after a restart; on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::smtp::SmtpServer;
use common::{ClosedPort, Env, last_line};

fn with_mail(env: Env, port: u16) -> Env {
    env.with_env("GAZETTE_MAIL__HOST", "127.0.0.1")
        .with_env("GAZETTE_MAIL__PORT", &port.to_string())
        .with_env("GAZETTE_MAIL__TLS", "none")
        .with_env("GAZETTE_MAIL__FROM", "Coop news <news@coop.example>")
        .with_env("GAZETTE_MAIL__TIMEOUT_SECONDS", "10")
}

/// The `gazette_form` cookie and hidden `_csrf` value of a reset page.
fn form_token(headers: &reqwest::header::HeaderMap, html: &str) -> (String, String) {
    let cookie = headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("gazette_form="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = html
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_links_are_mailed_and_work() {
    let smtp = SmtpServer::start().await;
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let env = with_mail(env, smtp.port);
    let out = env.run(&[
        "user",
        "create",
        "ana",
        "--role",
        "editor",
        "--email",
        "ana@coop.example",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = last_line(&String::from_utf8_lossy(&out.stdout)).to_owned();
    assert!(printed.contains("/admin/reset/"), "{printed}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("mailed to ana@coop.example"));

    let mail = smtp.message_to("ana@coop.example").await;
    assert_eq!(mail.mail_from, "news@coop.example");
    assert_eq!(mail.header("To"), Some("ana@coop.example"));
    // lettre quotes the display name (RFC 5322 allows both forms).
    assert_eq!(mail.header("From"), Some("\"Coop news\" <news@coop.example>"));
    let text = mail.text();
    assert!(text.contains(&printed), "the mail carries the printed link:\n{text}");
    assert!(text.contains("`ana`"));

    // reset-password mails a fresh link too; the mailed one is the one used.
    let out = env.ok(&["user", "reset-password", "ana"]);
    let second = last_line(&out).to_owned();
    assert_ne!(second, printed);
    let mailed = common::eventually("the second mail", std::time::Duration::from_secs(20), || async {
        smtp.received().iter().map(|m| m.text()).find(|t| t.contains(&second))
    })
    .await;
    let link = mailed
        .lines()
        .find(|l| l.contains("/admin/reset/"))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(link, second);

    let server = env.serve(&[]);
    let path = &link[link.find("/admin/reset/").unwrap()..];
    let client = common::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client.get(server.url(path)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    let html = page.text().await.unwrap();
    let (cookie, csrf) = form_token(&headers, &html);
    let password = "a mailed link set this";
    let done = client
        .post(server.url(path))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        // The password has spaces: `+` is their form encoding.
        .body(format!(
            "_csrf={csrf}&password={p}&password_again={p}",
            p = password.replace(' ', "+")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert!(
        env.ok(&["user", "list"])
            .lines()
            .any(|l| l.starts_with("ana") && l.contains("active")),
        "the password is set"
    );
    // Used once: the link is spent.
    assert_eq!(client.get(server.url(path)).send().await.unwrap().status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_send_keeps_the_link() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    // Nothing listens there.
    let down = ClosedPort::bind();
    let env = with_mail(env, down.port);
    env.ok(&["user", "create", "bo", "--role", "editor"]);
    // Without an address nothing is tried; with one, the failure is told.
    env.ok(&["user", "set-email", "bo", "bo@coop.example"]);
    let out = env.run(&["user", "reset-password", "bo"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("could not mail the link to bo@coop.example"),
        "{stderr}"
    );
    let link = last_line(&String::from_utf8_lossy(&out.stdout)).to_owned();
    let server = env.serve(&[]);
    let path = &link[link.find("/admin/reset/").unwrap()..];
    let page = common::http_get(server.url(path)).await.unwrap();
    assert_eq!(page.status(), 200, "the printed link works although the mail failed");

    // A bad address is refused, naming it, and nothing changes.
    let err = env.fails(&["user", "set-email", "bo", "not-an-address"]);
    assert!(err.contains("not-an-address"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_mail_config_names_the_key() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let no_from = env.with_env("GAZETTE_MAIL__HOST", "smtp.coop.example");
    let err = no_from.fails(&["serve", "--listen", "127.0.0.1:0"]);
    assert!(err.contains("mail.from"), "{err}");
    let plain = no_from
        .with_env("GAZETTE_MAIL__FROM", "news@coop.example")
        .with_env("GAZETTE_MAIL__TLS", "none");
    let err = plain.fails(&["user", "list"]);
    assert!(err.contains("mail.tls"), "{err}");
    let bad_tls = plain.with_env("GAZETTE_MAIL__TLS", "ssl");
    let err = bad_tls.fails(&["user", "list"]);
    assert!(err.contains("mail.tls") && err.contains("GAZETTE_MAIL__TLS"), "{err}");
}

// ---------------------------------------------------------------------------
// The newsletter, against aiosmtpd (a real SMTP server from PyPI).
// ---------------------------------------------------------------------------

use common::smtp::{Aiosmtpd, Stored};
use std::time::Duration;

fn http() -> reqwest::Client {
    common::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Fills and sends the subscription form as a browser would: the footer's
/// GET, then the page's POST with its cookie and token.
async fn subscribe(server: &common::Server, email: &str, lang: &str) -> (reqwest::StatusCode, String) {
    let client = http();
    let page = client
        .get(server.url(&format!("/subscribe?email={email}&lang={lang}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("value=\"{email}\"")),
        "the footer's address is kept"
    );
    let cookie = headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("gazette_subscribe="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = html
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let done = client
        .post(server.url("/subscribe"))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(common::form_body(&[("_csrf", &csrf), ("email", email), ("lang", lang)]))
        .send()
        .await
        .unwrap();
    (done.status(), done.text().await.unwrap())
}

/// The link in a confirmation mail.
fn confirm_link(mail: &Stored) -> String {
    let text = mail.part("text/plain").unwrap();
    text.split_whitespace()
        .find(|w| w.contains("/newsletter/confirm/"))
        .unwrap()
        .to_owned()
}

fn article_file(env: &Env, slug: &str, en_title: &str, fr_title: &str) -> std::path::PathBuf {
    env.write(
        &format!("{slug}.fr.md"),
        format!("---\ntitle: \"{fr_title}\"\nsummary: Le chapeau en français.\nlanguage: fr\n---\nCorps.\n"),
    );
    env.write(
        &format!("{slug}.md"),
        format!(
            "---\nslug: {slug}\nkind: news\ntitle: \"{en_title}\"\nsummary: The standfirst in English.\nlanguage: en\n\
             translations:\n  fr: {slug}.fr.md\nauthor: ana\ncover:\n  src: cover.png\n  alt: Solar panels on a school roof\n---\nBody.\n"
        ),
    )
}

async fn newsletter_end_to_end(backend: gazette_store::Backend) {
    let smtp = Aiosmtpd::start().await;
    let Some(env) = Env::new(backend).await else {
        return;
    };
    let env = with_mail(env, smtp.port);
    env.ok(&[
        "init",
        "--org-name",
        "Test Coop",
        "--country",
        "FR",
        "--legal-form",
        "cooperative",
    ]);
    env.write("cover.png", common::PNG);
    let token = last_line(&env.ok(&["token", "create", "setup"])).to_owned();
    let server = env.serve(&[]);
    let client = http();
    let put = client
        .put(server.url("/api/organisation"))
        .bearer_auth(&token)
        .json(
            &serde_json::json!({"name": "Test Coop", "username": "news", "country": "FR",
            "legal_form": "cooperative", "languages": ["en", "fr"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());
    let author = client
        .post(server.url("/api/authors"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"username": "ana", "name": "Ana Pereira"}))
        .send()
        .await
        .unwrap();
    assert!(author.status().is_success(), "{}", author.text().await.unwrap());

    // Every public page offers the form, saying what the address is for.
    let home = client.get(server.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("action=\"/subscribe\""), "{home}");
    assert!(
        home.contains("nothing else"),
        "the footer says the address serves nothing else"
    );
    let fr = client
        .get(server.url("/subscribe?lang=fr"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(fr.contains("rien d’autre"), "and says so in French: {fr}");

    // A post without the form's own cookie and token is refused, and mails nothing.
    let forged = client
        .post(server.url("/subscribe"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=victim%40coop.example&lang=en")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    // Three readers ask; lea never confirms.
    let (status, sent) = subscribe(&server, "ana@readers.example", "fr").await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(subscribe(&server, "bo@readers.example", "en").await.0, 200);
    assert_eq!(subscribe(&server, "lea@readers.example", "en").await.0, 200);
    let confirm_ana = smtp
        .wait_for("ana@readers.example", "the confirmation", |m| {
            m.header("Subject").is_some_and(|s| s.contains("confirmez"))
        })
        .await;
    assert_eq!(confirm_ana.mail_from, "news@coop.example");
    let confirm_bo = smtp.wait_for("bo@readers.example", "the confirmation", |_| true).await;
    smtp.wait_for("lea@readers.example", "the confirmation", |_| true).await;

    // Before anyone confirmed, a publish mails nothing.
    env.ok(&[
        "publish",
        common::path(&article_file(&env, "early", "Early news", "Nouvelles précoces")),
    ]);

    // Following the links confirms.
    for mail in [&confirm_ana, &confirm_bo] {
        let link = confirm_link(mail);
        let path = &link[link.find("/newsletter/").unwrap()..];
        let page = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(page.status(), 200);
    }
    // Asking again for a confirmed address answers the same, and sends nothing.
    let (status, again) = subscribe(&server, "ana@readers.example", "fr").await;
    assert_eq!((status, again), (reqwest::StatusCode::OK, sent));
    // A forged link confirms nothing.
    let link = confirm_link(&confirm_ana);
    let forged = format!("{}x", &link[link.find("/newsletter/").unwrap()..]);
    assert_eq!(client.get(server.url(&forged)).send().await.unwrap().status(), 404);

    // `gazette publish` in another process: the server mails it at once.
    env.ok(&[
        "publish",
        common::path(&article_file(&env, "solar", "Solar roofs", "Toits solaires")),
    ]);
    let to_ana = smtp
        .wait_for("ana@readers.example", "the article", |m| m.part("text/html").is_some())
        .await;
    assert!(
        to_ana.header("Subject").unwrap().contains("Toits solaires"),
        "in her language"
    );
    let html = to_ana.part("text/html").unwrap();
    let text = to_ana.part("text/plain").unwrap();
    assert!(html.contains("Le chapeau en français") && text.contains("Le chapeau en français"));
    assert!(html.contains("alt=\"Solar panels on a school roof\""), "{html}");
    assert!(text.contains("Solar panels on a school roof"));
    assert!(html.contains("/articles/solar/fr") && text.contains("/articles/solar/fr"));
    assert_eq!(
        to_ana.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let unsubscribe = to_ana
        .header("List-Unsubscribe")
        .unwrap()
        .trim_matches(['<', '>'])
        .to_owned();
    let to_bo = smtp
        .wait_for("bo@readers.example", "the article", |m| m.part("text/html").is_some())
        .await;
    assert!(to_bo.header("Subject").unwrap().contains("Solar roofs"));
    // Once each, the early article to nobody, the unconfirmed address only its confirmation.
    assert_eq!(smtp.to("ana@readers.example").len(), 2, "one confirmation, one article");
    assert_eq!(smtp.to("lea@readers.example").len(), 1);
    assert!(
        smtp.received()
            .iter()
            .all(|m| !m.header("Subject").unwrap_or("").contains("Early news")
                && !m.header("Subject").unwrap_or("").contains("précoces")),
        "nothing for the article published before anyone confirmed"
    );

    // An edit sends nothing (checked below: the next mail bo gets is the next article).
    env.ok(&[
        "publish",
        "--update",
        common::path(&article_file(
            &env,
            "solar",
            "Solar roofs (corrected)",
            "Toits solaires (corrigé)",
        )),
    ]);

    // One click, without a session or a cookie.
    let path = &unsubscribe[unsubscribe.find("/newsletter/").unwrap()..];
    let one_click = client
        .post(server.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(one_click.status(), 200);

    // The server stops; an article published meanwhile goes out after the restart.
    drop(server);
    env.ok(&[
        "publish",
        common::path(&article_file(&env, "wind", "Wind coop", "Coopérative éolienne")),
    ]);
    let server = env.serve(&[]);
    let next = smtp
        .wait_for("bo@readers.example", "the article published while stopped", |m| {
            m.header("Subject").is_some_and(|s| s.contains("Wind coop"))
        })
        .await;
    assert!(next.part("text/plain").is_some());
    let bo: Vec<String> = smtp
        .to("bo@readers.example")
        .iter()
        .filter_map(|m| m.header("Subject").map(str::to_owned))
        .collect();
    assert_eq!(bo.len(), 3, "confirmation, solar, wind; nothing for the edit: {bo:?}");
    assert!(smtp.to("ana@readers.example").len() == 2, "nothing after unsubscribing");

    // The admin page: counts per language, the export, a removal.
    let password = "newsletter admin password";
    env.create_user(&["boss", "--role", "admin"], password);
    assert_eq!(
        client
            .get(server.url("/admin/newsletter"))
            .send()
            .await
            .unwrap()
            .status(),
        303,
        "signed-in only"
    );
    let login = client.get(server.url("/admin/login")).send().await.unwrap();
    let form = common::cookie_value(&login, "gazette_form").unwrap();
    let signed = client
        .post(server.url("/admin/login"))
        .header("cookie", format!("gazette_form={form}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(common::form_body(&[
            ("_csrf", &form),
            ("username", "boss"),
            ("password", password),
            ("next", "/admin"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303);
    let session = format!(
        "gazette_session={}",
        common::cookie_value(&signed, "gazette_session").unwrap()
    );
    let page = client
        .get(server.url("/admin/newsletter"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("subscriber-counts") && page.contains("<td>1</td><td>1</td>"),
        "{page}"
    );
    let csrf = page
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let csv = || async {
        client
            .get(server.url("/admin/newsletter/subscribers.csv"))
            .header("cookie", &session)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let before = csv().await;
    assert!(
        before.contains("bo@readers.example,en,confirmed,") && before.contains("lea@readers.example,en,pending,"),
        "{before}"
    );
    assert!(!before.contains("ana@"), "an unsubscribed address is gone: {before}");
    let remove = |token: String| {
        client
            .post(server.url("/admin/newsletter/remove"))
            .header("cookie", &session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(common::form_body(&[
                ("_csrf", &token),
                ("email", "lea@readers.example"),
            ]))
            .send()
    };
    assert_eq!(remove("forged".into()).await.unwrap().status(), 403);
    assert_eq!(remove(csrf).await.unwrap().status(), 200);
    assert!(!csv().await.contains("lea@"));
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn newsletter_on_sqlite() {
    newsletter_end_to_end(gazette_store::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn newsletter_on_postgres() {
    newsletter_end_to_end(gazette_store::Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_mail_no_newsletter() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    env.ok(&[
        "init",
        "--org-name",
        "Test Coop",
        "--country",
        "FR",
        "--legal-form",
        "cooperative",
    ]);
    let server = env.serve(&[]);
    let home = http().get(server.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(!home.contains("/subscribe"), "no form without [mail]");
    assert_eq!(http().get(server.url("/subscribe")).send().await.unwrap().status(), 404);
}

/// The newsletter benchmark (docs/benchmarks.md): one article to 10,000
/// confirmed subscribers through aiosmtpd on loopback, and how long
/// `gazette publish` takes before subscribers, with them, and while the
/// worker sends. Run with `scripts/bench-newsletter`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: scripts/bench-newsletter"]
async fn newsletter_throughput() {
    let subscribers: usize = std::env::var("GAZETTE_BENCH_SUBSCRIBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let smtp = Aiosmtpd::start_with(&["--count-only"]).await;
    let backend = match std::env::var("GAZETTE_BENCH_BACKEND").as_deref() {
        Ok("postgres") => gazette_store::Backend::Postgres,
        _ => gazette_store::Backend::Sqlite,
    };
    let env = Env::new(backend).await.expect("a database");
    let env = with_mail(env, smtp.port).with_env("GAZETTE_MAIL__NEWSLETTER_PER_SECOND", "100000");
    env.ok(&[
        "init",
        "--org-name",
        "Test Coop",
        "--country",
        "FR",
        "--legal-form",
        "cooperative",
    ]);
    env.write("cover.png", common::PNG);
    let token = last_line(&env.ok(&["token", "create", "setup"])).to_owned();
    let server = env.serve(&[]);
    let author = http()
        .post(server.url("/api/authors"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"username": "ana", "name": "Ana Pereira"}))
        .send()
        .await
        .unwrap();
    assert!(author.status().is_success());
    let publish = |slug: &str| {
        let file = article_file(&env, slug, &format!("News {slug}"), &format!("Nouvelles {slug}"));
        let started = std::time::Instant::now();
        env.ok(&["publish", common::path(&file)]);
        started.elapsed()
    };
    let baseline = publish("baseline");

    let store = gazette_store::Store::connect(env.database_url(), 2).await.unwrap();
    let emails: Vec<String> = (0..subscribers).map(|i| format!("reader{i}@readers.example")).collect();
    gazette_store::testing::seed_subscribers(&store, &emails, "en")
        .await
        .unwrap();
    gazette_store::testing::settle(&store).await.unwrap();

    let started = std::time::Instant::now();
    let with_subscribers = publish("big");
    // Another article while the first is being sent: it must not wait.
    let during = publish("during");
    let expected = (2 * subscribers) as u64;
    let done = common::eventually("every mail at the SMTP server", Duration::from_secs(600), || async {
        (smtp.counted() >= expected).then(|| started.elapsed())
    })
    .await;
    let rate = expected as f64 / done.as_secs_f64();
    println!(
        "newsletter benchmark ({backend:?}): {expected} mails ({subscribers} subscribers × 2 articles) in {:.1} s = {rate:.0} mails/s; \
         gazette publish: {:.0} ms without subscribers, {:.0} ms with {subscribers}, {:.0} ms while sending",
        done.as_secs_f64(),
        baseline.as_secs_f64() * 1000.0,
        with_subscribers.as_secs_f64() * 1000.0,
        during.as_secs_f64() * 1000.0,
    );
    assert!(rate >= 200.0, "{rate:.0} mails/s is under the 200 asked for");
    drop(server);
}
