//! The admin in local time, over HTTP against a real `gazette serve` with
//! demo content: the instance's time zone set on the settings page (an
//! unknown one refused, named), an article scheduled in the editor as
//! Europe/Paris wall-clock time stored at the right UTC instant and shown
//! back in that zone; a time the spring change skips refused with the text
//! kept, one the autumn change repeats taken at its first occurrence and
//! said so; a user's own zone on the account page changing what they see;
//! and the followers page searched by name and handle, paged with the
//! search kept.

#![allow(clippy::unwrap_used)]

use crate::common;

use chrono::{DateTime, Utc};
use common::{Env, cookie_value, form_body, remote_person, unescape};
use gazette_core::FollowStatus;
use gazette_store::{Backend, Store};

const PASSWORD: &str = "a long enough admin password";

/// A signed-in admin: the session cookie by hand, redirects not followed.
struct Browser {
    base: String,
    session: String,
    client: reqwest::Client,
}

impl Browser {
    async fn sign_in(base: &str) -> Browser {
        let client = common::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let resp = client.get(format!("{base}/admin/login")).send().await.unwrap();
        let form = cookie_value(&resp, "gazette_form").unwrap();
        let resp = client
            .post(format!("{base}/admin/login"))
            .header("cookie", format!("gazette_form={form}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[
                ("_csrf", &form),
                ("username", "ines"),
                ("password", PASSWORD),
                ("next", "/admin"),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303, "sign-in refused");
        Browser {
            base: base.to_owned(),
            session: cookie_value(&resp, "gazette_session").unwrap(),
            client,
        }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("gazette_session={}", self.session))
            .header("accept-language", "en")
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// Posts a form; the status, the `Location` and the body.
    async fn post(&self, path: &str, content_type: &str, body: String) -> (u16, String, String) {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", format!("gazette_session={}", self.session))
            .header("accept-language", "en")
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let location = resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (resp.status().as_u16(), location, resp.text().await.unwrap())
    }

    async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
        self.post(path, "application/x-www-form-urlencoded", form_body(fields))
            .await
    }

    /// The editor's multipart form.
    async fn post_editor(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
        let boundary = "----gazette-test-boundary";
        let mut body = String::new();
        for (name, value) in fields {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        self.post(path, &format!("multipart/form-data; boundary={boundary}"), body)
            .await
    }
}

/// The CSRF token of the forms on a page.
fn csrf(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a form with a CSRF token");
    let rest = &html[at + "name=\"_csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The `value` of the input with `id`, as the page shows it (entities as sent).
fn input_value(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no input {id}"));
    let rest = &html[at..];
    let v = rest.find("value=\"").unwrap() + "value=\"".len();
    rest[v..v + rest[v..].find('"').unwrap()].to_owned()
}

fn pairs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The editor fields of a news article by the demo author, scheduled at `at`.
fn article_fields<'a>(csrf: &'a str, title: &'a str, at: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("_csrf", csrf),
        ("action", "schedule"),
        ("kind", "news"),
        ("author", "camille_renard"),
        ("slug", ""),
        ("tags", ""),
        ("publish_at", at),
        ("tr-0-language", "en"),
        ("tr-0-title", title),
        ("tr-0-summary", "A summer solar roof open day."),
        ("tr-0-body", "Members visit the new roof."),
    ]
}

#[tokio::test]
async fn schedules_and_shows_times_in_local_time() {
    let Some(env) = Env::new(Backend::Sqlite).await else {
        return;
    };
    let server = env.serve(&["--demo"]);
    env.create_user(&["ines", "--role", "admin"], PASSWORD);
    let store = Store::connect(env.database_url(), 1).await.unwrap();
    let admin = Browser::sign_in(&server.base).await;

    // The instance's zone, on the settings page: an unknown name is
    // refused, named, with what was typed kept.
    let (status, page) = admin.get("/admin/settings").await;
    assert_eq!(status, 200);
    assert!(page.contains("Times in UTC"), "the frame names the zone");
    let token = csrf(&page);
    let name = unescape(&input_value(&page, "set-name"));
    let language = input_value(&page, "set-default_language");
    let settings = |zone: &'static str| {
        vec![
            ("_csrf", token.clone()),
            ("set-name", name.clone()),
            ("set-default_language", language.clone()),
            ("set-time_zone", zone.to_owned()),
            ("set-comment_policy", "open".to_owned()),
            ("set-primary_color", "#1d6b4f".to_owned()),
            ("set-accent_color", "#f2a900".to_owned()),
            ("set-footer", String::new()),
        ]
    };
    let (status, _, page) = admin
        .post_form("/admin/settings", &pairs(&settings("Europe/Parris")))
        .await;
    assert_eq!(status, 422);
    assert!(
        page.contains("“Europe/Parris” is not a time zone name"),
        "the unknown zone is named"
    );
    assert_eq!(input_value(&page, "set-time_zone"), "Europe/Parris");
    let (status, location, _) = admin
        .post_form("/admin/settings", &pairs(&settings("europe/paris")))
        .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/admin/settings?done=settings_saved")
    );
    assert_eq!(
        store.instance_setting("instance.time_zone").await.unwrap().as_deref(),
        Some("Europe/Paris")
    );

    // The comment policy and the theme colours are settings too: a pale
    // main colour (white text on it) and a bad policy are refused, named.
    let published = store
        .list_articles(&gazette_store::ArticleQuery::published(1, 0))
        .await
        .unwrap()
        .articles
        .remove(0);
    let article_url = format!("{}/articles/{}", server.base, published.slug);
    let before = common::http_get(&article_url).await.unwrap().text().await.unwrap();
    assert!(
        before.contains("/theme.css?primary=%231d6b4f"),
        "the page is rendered (and cached) with the file's colours"
    );
    let (_, page) = admin.get("/admin/settings").await;
    let token = csrf(&page);
    let mut theme = settings("Europe/Paris");
    theme[0].1 = token.clone();
    theme[4].1 = "closed".into();
    theme[5].1 = "#F2A900".into();
    theme[6].1 = "blue".into();
    let (status, _, page) = admin.post_form("/admin/settings", &pairs(&theme)).await;
    assert_eq!(status, 422);
    assert!(page.contains("“closed” is not a comment policy"));
    assert!(page.contains("White text on #f2a900 has a contrast of only 2.0:1"));
    assert!(page.contains("“blue” is not a colour written #rrggbb"));
    assert_eq!(input_value(&page, "set-primary_color"), "#F2A900", "kept as typed");
    theme[4].1 = "moderated".into();
    theme[5].1 = "#204A87".into();
    theme[6].1 = "#f5c211".into();
    let (status, _, _) = admin.post_form("/admin/settings", &pairs(&theme)).await;
    assert_eq!(status, 303);
    let home = common::http_get(format!("{}/", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("/theme.css?primary=%23204a87&amp;accent=%23f5c211"),
        "the public pages use the new colours at once"
    );
    let after = common::http_get(&article_url).await.unwrap().text().await.unwrap();
    assert!(
        after.contains("/theme.css?primary=%23204a87"),
        "a cached article page is not served stale"
    );
    let (_, comments) = admin.get("/admin/comments").await;
    assert!(comments.contains("comment policy: moderated"));

    // Scheduled as Paris summer time: stored in UTC, two hours earlier.
    let (_, page) = admin.get("/admin/articles/new").await;
    assert!(page.contains("Publication date and time (Europe/Paris)"));
    let token = csrf(&page);
    let (status, location, _) = admin
        .post_editor(
            "/admin/articles/new",
            &article_fields(&token, "Open day on the roof", "2030-07-14T09:30"),
        )
        .await;
    assert_eq!(status, 303, "scheduled");
    let id = location
        .strip_prefix("/admin/articles/")
        .and_then(|r| r.split_once('?'))
        .map(|(id, _)| id.to_owned())
        .unwrap();
    let stored = store.get_article(&id).await.unwrap();
    assert_eq!(stored.published_at, Some(utc("2030-07-14T07:30:00Z")));
    let (_, editor) = admin.get(&location).await;
    assert_eq!(input_value(&editor, "publish_at"), "2030-07-14T09:30");
    let (_, list) = admin.get("/admin/articles?status=scheduled").await;
    assert!(list.contains("2030-07-14 09:30 CEST"), "the list shows local time");
    assert!(list.contains("datetime=\"2030-07-14T07:30:00Z\""));

    // 31 March 2030, 02:30 never happens in Paris: refused, naming it,
    // everything typed kept.
    let (status, _, page) = admin
        .post_editor(
            "/admin/articles/new",
            &article_fields(&token, "Spring assembly", "2030-03-31T02:30"),
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        page.contains("2030-03-31 02:30 does not exist in Europe/Paris"),
        "the skipped time and zone are named"
    );
    assert_eq!(input_value(&page, "publish_at"), "2030-03-31T02:30");
    assert!(page.contains("Spring assembly") && page.contains("A summer solar roof open day."));

    // 27 October 2030, 02:30 happens twice: the first (summer time) is taken, and said.
    let (status, location, _) = admin
        .post_editor(
            "/admin/articles/new",
            &article_fields(&token, "Autumn assembly", "2030-10-27T02:30"),
        )
        .await;
    assert_eq!(status, 303);
    let autumn = location
        .strip_prefix("/admin/articles/")
        .and_then(|r| r.split_once('?'))
        .map(|(id, _)| id.to_owned())
        .unwrap();
    assert_eq!(
        store.get_article(&autumn).await.unwrap().published_at,
        Some(utc("2030-10-27T00:30:00Z"))
    );
    let (_, editor) = admin.get(&location).await;
    assert!(
        editor.contains("2030-10-27 02:30 happens twice in Europe/Paris") && editor.contains("UTC+02:00"),
        "the repeated time is explained"
    );

    // A user's own zone wins over the instance's; an unknown one is refused.
    let (_, account) = admin.get("/admin/account").await;
    let token = csrf(&account);
    let (status, _, page) = admin
        .post_form(
            "/admin/account/time_zone",
            &[("_csrf", &token), ("time_zone", "Europe/Lisboa")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("“Europe/Lisboa” is not a time zone name"));
    assert_eq!(input_value(&page, "account-time_zone"), "Europe/Lisboa");
    let (status, location, _) = admin
        .post_form(
            "/admin/account/time_zone",
            &[("_csrf", &token), ("time_zone", "Europe/Lisbon")],
        )
        .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/admin/account?done=time_zone_saved")
    );
    let (_, editor) = admin.get(&format!("/admin/articles/{id}")).await;
    assert_eq!(input_value(&editor, "publish_at"), "2030-07-14T08:30");
    assert!(editor.contains("Times in Europe/Lisbon"));
    // Saved again as shown: the instant does not move.
    let token = csrf(&editor);
    let version = {
        let v = editor.find("name=\"version\" value=\"").unwrap() + "name=\"version\" value=\"".len();
        editor[v..v + editor[v..].find('"').unwrap()].to_owned()
    };
    let mut fields = article_fields(&token, "Open day on the roof", "2030-07-14T08:30");
    fields.push(("version", &version));
    let (status, _, _) = admin.post_editor(&format!("/admin/articles/{id}"), &fields).await;
    assert_eq!(status, 303);
    assert_eq!(
        store.get_article(&id).await.unwrap().published_at,
        Some(utc("2030-07-14T07:30:00Z"))
    );

    // Followers searched by name or handle, paged with the search kept.
    let org = store.get_organisation().await.unwrap();
    let local = format!("{}/users/{}", server.base, org.username);
    let mut marie = Vec::new();
    for i in 0..55 {
        let a = remote_person(
            &format!("https://social{}.example/users/m{i}", i % 3),
            &format!("Marie-Hélène {i}"),
        );
        marie.push(a.preferred_username.clone());
        store.upsert_remote_actor(&a).await.unwrap();
        store
            .add_follower(&local, &a.id, &format!("{}/follow", a.id), FollowStatus::Accepted)
            .await
            .unwrap();
    }
    let other = remote_person("https://elsewhere.example/users/jon", "Jon Doe");
    store.upsert_remote_actor(&other).await.unwrap();
    store
        .add_follower(&local, &other.id, "https://elsewhere.example/f", FollowStatus::Accepted)
        .await
        .unwrap();
    let (status, page) = admin
        .get(&format!("/admin/followers?actor={}&q=marie-helene", org.username))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("whose name or handle contains “marie-helene”"));
    assert!(!page.contains("@jon@elsewhere.example"));
    assert_eq!(page.matches("Marie-Hélène ").count(), 50, "a page of matches");
    let at = page.find("rel=\"next\"").expect("an older page");
    let href_start = page[..at].rfind("href=\"").unwrap() + "href=\"".len();
    let older = unescape(&page[href_start..href_start + page[href_start..].find('"').unwrap()]);
    assert!(older.contains("q=marie-helene"), "{older}");
    let (_, page) = admin.get(&older).await;
    assert_eq!(page.matches("Marie-Hélène ").count(), 5, "the rest of the matches");
    let (_, page) = admin
        .get(&format!("/admin/followers?actor={}&q=%40jon%40elsewhere", org.username))
        .await;
    assert!(page.contains("@jon@elsewhere.example"));
    assert!(!page.contains("Marie-Hélène"));
}
