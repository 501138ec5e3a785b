//! One-time password links by mail: `gazette user create --email` and
//! `gazette user reset-password` mail the link through a real SMTP exchange
//! with a server written here on loopback, and the mailed link sets the
//! password; a failing mail server loses nothing (the link is printed and
//! works); a wrong `[mail]` config stops every command naming the key.

#![allow(clippy::unwrap_used)]

mod common;

use common::smtp::SmtpServer;
use common::{Env, free_port, last_line};

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
    assert_eq!(mail.header("From"), Some("Coop news <news@coop.example>"));
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
    let client = reqwest::Client::builder()
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
    let env = with_mail(env, free_port());
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
    let page = reqwest::get(server.url(path)).await.unwrap();
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
