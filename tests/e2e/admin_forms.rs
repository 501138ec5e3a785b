//! Admin forms that arrive after their session ended keep what was typed,
//! over HTTP against a real `gazette serve`: an organisation profile edit,
//! a settings change and a logo form (its file dropped, chosen again) are
//! carried through the sign-in page (a wrong password first), come back on
//! a "not saved yet" page with a new CSRF token, are not saved by the
//! sign-in, are refused when replayed with the old token, and are saved by
//! the page's button. A kept form's target outside the admin is not
//! followed, a cross-site post is not carried, passwords never travel, a
//! form with another session's token is shown again instead of applied,
//! and an editor who signs in with an admin's kept form is still refused.
//! Profile validation messages come in French for a French browser.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeMap;

use common::{Env, PNG, unescape};
use gazette_store::{Backend, Store};
use serde_json::Value;

const ADMIN_PASSWORD: &str = "correct horse battery staple";
const EDITOR_PASSWORD: &str = "an editor's password, long";

/// The value of attribute `attr` in the first tag of `html` containing `marker`.
fn attr_after(html: &str, marker: &str, attr: &str) -> Option<String> {
    let at = html.find(marker)?;
    let start = html[..at + 1].rfind('<')?;
    let tag = &html[start..start + html[start..].find('>')?];
    let key = format!("{attr}=\"");
    let v = &tag[tag.find(&key)? + key.len()..];
    Some(unescape(&v[..v.find('"')?]))
}

/// Every `<input type="hidden" name=… value=…>` of the form posting to `action`, in order.
fn hidden_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let form_at = html
        .match_indices("<form")
        .map(|(i, _)| i)
        .find(|&i| {
            let tag = &html[i..i + html[i..].find('>').unwrap()];
            tag.contains("action=") && attr_after(&html[i..], "<form", "action").as_deref() == Some(action)
        })
        .unwrap_or_else(|| panic!("a form posting to {action}"));
    let form = &html[form_at..form_at + html[form_at..].find("</form>").unwrap()];
    form.match_indices("<input type=\"hidden\"")
        .map(|(i, _)| {
            let tag = &form[i..i + form[i..].find('>').unwrap()];
            let get = |a: &str| {
                let key = format!("{a}=\"");
                let v = &tag[tag.find(&key).unwrap() + key.len()..];
                unescape(&v[..v.find('"').unwrap()])
            };
            (get("name"), get("value"))
        })
        .collect()
}

/// A browser: its cookies kept by hand, redirects not followed.
struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
    lang: &'static str,
}

/// A response, read.
struct Page {
    status: u16,
    location: String,
    body: String,
}

impl Browser {
    fn new(base: &str) -> Browser {
        Browser {
            base: base.to_owned(),
            client: common::client_builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            lang: "en",
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, resp: reqwest::Response) -> Page {
        for c in resp.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Page {
            status,
            location,
            body: resp.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("accept-language", self.lang)
            .send()
            .await
            .unwrap();
        self.read(resp).await
    }

    async fn post_with(&mut self, path: &str, fields: &[(&str, &str)], extra: &[(&str, &str)]) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("accept-language", self.lang)
            .header("content-type", "application/x-www-form-urlencoded");
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let resp = req.body(body).send().await.unwrap();
        self.read(resp).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_with(path, fields, &[]).await
    }

    /// A multipart post: text fields, then one file part.
    async fn post_multipart(&mut self, path: &str, fields: &[(&str, &str)], file: (&str, &[u8])) -> Page {
        let boundary = "gazette-test-boundary-7d0c1f";
        let mut body: Vec<u8> = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n",
                file.0
            )
            .as_bytes(),
        );
        body.extend_from_slice(file.1);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .await
            .unwrap();
        self.read(resp).await
    }

    /// Signs in through the form (with `stash` when the page carried one).
    async fn sign_in(&mut self, user: &str, password: &str, stash: Option<&str>) -> Page {
        if !self.cookies.contains_key("gazette_form") {
            self.get("/admin/login").await;
        }
        let token = self
            .cookies
            .get("gazette_form")
            .cloned()
            .expect("the sign-in form's cookie");
        let mut fields = vec![
            ("_csrf", token.as_str()),
            ("username", user),
            ("password", password),
            ("next", "/admin"),
        ];
        if let Some(s) = stash {
            fields.push(("stash", s));
        }
        self.post("/admin/login", &fields).await
    }

    /// The CSRF token of a signed-in page's forms.
    async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        attr_after(&page.body, "name=\"_csrf\"", "value").unwrap()
    }
}

/// The carried fields of a sign-in page, as JSON.
fn stash_of(page: &Page) -> (String, Value) {
    let raw = attr_after(&page.body, "name=\"stash\"", "value").expect("the sign-in page carries the form");
    let json: Value = serde_json::from_str(&raw).unwrap();
    (raw, json)
}

fn field<'a>(stash: &'a Value, name: &str) -> Option<&'a str> {
    stash["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == name)
        .and_then(|p| p[1].as_str())
}

fn as_refs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn forms_posted_after_the_session_ended_are_kept() {
    let Some(env) = Env::new(Backend::Sqlite).await else {
        return;
    };
    let server = env.serve(&["--demo"]);
    env.create_user(&["marie", "--role", "admin", "--name", "Marie Dubois"], ADMIN_PASSWORD);
    env.create_user(&["edna", "--role", "editor"], EDITOR_PASSWORD);
    let store = Store::connect(env.database_url(), 1).await.unwrap();
    let org_before = store.get_organisation().await.unwrap();

    // French validation messages on the organisation's profile.
    let mut b = Browser::new(&server.base);
    b.lang = "fr";
    assert_eq!(b.sign_in("marie", ADMIN_PASSWORD, None).await.status, 303);
    let csrf = b.csrf("/admin/organisation").await;
    let refused = b
        .post(
            "/admin/organisation",
            &[
                ("_csrf", &csrf),
                ("org-name", " "),
                ("org-country", "XX"),
                ("org-legal_form", "cooperative"),
                ("org-website", "ftp://example.org"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    let text = unescape(&refused.body);
    assert!(text.contains("L’organisation doit avoir un nom."), "{text}");
    assert!(text.contains("« XX » n’est pas un code de pays"), "{text}");
    assert!(
        text.contains("« ftp://example.org » n’est pas une adresse web"),
        "{text}"
    );
    b.lang = "en";
    let refused = b
        .post("/admin/organisation", &[("_csrf", &csrf), ("org-name", "")])
        .await;
    assert!(
        unescape(&refused.body).contains("The organisation needs a name."),
        "{}",
        refused.body
    );

    // The session ends (signed out in another window); this page keeps its old cookie.
    let old_session = b.cookies["gazette_session"].clone();
    assert_eq!(b.post("/admin/logout", &[("_csrf", &csrf)]).await.status, 303);
    b.cookies.insert("gazette_session".into(), old_session);
    let typed = [
        ("_csrf", csrf.as_str()),
        ("org-name", "Sunfield Renamed"),
        ("org-description", "Typed while the session\nhad ended."),
        ("org-website", ""),
        ("org-country", "FR"),
        ("org-legal_form", "cooperative"),
        ("org-sectors", "energy"),
        ("org-languages", "fr, en"),
    ];
    let login = b.post("/admin/organisation", &typed).await;
    assert_eq!(login.status, 401);
    assert!(
        login.body.contains("Your session had ended, so nothing was saved"),
        "{}",
        login.body
    );
    assert!(!login.body.contains(&csrf), "the old CSRF token is not carried");
    let (stash, json) = stash_of(&login);
    assert_eq!(json["target"], "/admin/organisation");
    assert_eq!(field(&json, "org-name"), Some("Sunfield Renamed"));
    assert_eq!(
        field(&json, "org-description"),
        Some("Typed while the session\nhad ended.")
    );
    assert_eq!(field(&json, "_csrf"), None);

    // A wrong password keeps carrying it.
    let wrong = b.sign_in("marie", "not the password at all", Some(&stash)).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(stash_of(&wrong).1, json);

    // Signed in: the "not saved yet" page, with a fresh token; nothing saved.
    let kept = b.sign_in("marie", ADMIN_PASSWORD, Some(&stash)).await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    let text = unescape(&kept.body);
    assert!(text.contains("Your change to Organisation is not saved yet"), "{text}");
    assert!(text.contains("Sunfield Renamed"), "the typed values are shown");
    assert!(text.contains("<dt>Name</dt>"), "labelled as on the page: {text}");
    assert!(text.contains("<dt>Description</dt>"), "labelled as on the page: {text}");
    let fields = hidden_fields(&kept.body, "/admin/organisation");
    let new_csrf = fields.iter().find(|(k, _)| k == "_csrf").unwrap().1.clone();
    assert_ne!(new_csrf, csrf);
    assert_eq!(
        store.get_organisation().await.unwrap().name,
        org_before.name,
        "the sign-in saves nothing"
    );

    // Replayed with the old token, the new session still refuses it.
    let replay = b.post("/admin/organisation", &typed).await;
    assert_eq!(replay.status, 403);
    assert!(
        unescape(&replay.body).contains("security token was out of date"),
        "{}",
        replay.body
    );
    assert_eq!(store.get_organisation().await.unwrap().name, org_before.name);

    // The page's button saves it.
    let saved = b.post("/admin/organisation", &as_refs(&fields)).await;
    assert_eq!(
        (saved.status, saved.location.as_str()),
        (303, "/admin/organisation?done=profile_saved")
    );
    let org = store.get_organisation().await.unwrap();
    assert_eq!(org.name, "Sunfield Renamed");
    assert_eq!(org.description, "Typed while the session\nhad ended.");

    // A settings change from a browser whose cookie is gone altogether.
    let mut c = Browser::new(&server.base);
    let settings = [
        ("_csrf", "a token of a session long gone"),
        ("set-name", "Kept Through Sign-In"),
        ("set-default_language", "en"),
        ("set-footer", "Footer typed while signed out."),
        // The rest of the page's fields, as the browser sends them.
        ("set-time_zone", "UTC"),
        ("set-comment_policy", "open"),
        ("set-primary_color", "#1d6b4f"),
        ("set-accent_color", "#f2a900"),
    ];
    let login = c.post("/admin/settings", &settings).await;
    assert_eq!(login.status, 401);
    let (stash, json) = stash_of(&login);
    assert_eq!(json["target"], "/admin/settings");
    let kept = c.sign_in("marie", ADMIN_PASSWORD, Some(&stash)).await;
    assert_eq!(kept.status, 200);
    let text = unescape(&kept.body);
    assert!(text.contains("Your change to Settings is not saved yet"), "{text}");
    assert!(text.contains("Footer typed while signed out."), "{text}");
    assert!(
        store.list_instance_settings().await.unwrap().is_empty(),
        "nothing saved yet"
    );
    let fields = hidden_fields(&kept.body, "/admin/settings");
    let saved = c.post("/admin/settings", &as_refs(&fields)).await;
    assert_eq!(
        (saved.status, saved.location.as_str()),
        (303, "/admin/settings?done=settings_saved")
    );
    let stored: BTreeMap<String, String> = store
        .list_instance_settings()
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.name, s.value))
        .collect();
    assert_eq!(
        stored.get("instance.name").map(String::as_str),
        Some("Kept Through Sign-In")
    );
    assert_eq!(
        stored.get("theme.footer").map(String::as_str),
        Some("Footer typed while signed out.")
    );
    let home = c.get("/").await;
    assert!(home.body.contains("Footer typed while signed out."));

    // With a live session but another session's token: shown again, not
    // applied (in French for a French browser).
    c.lang = "fr";
    let stale = c
        .post(
            "/admin/settings",
            &[
                ("_csrf", "stale"),
                ("set-name", "Not Applied"),
                ("set-default_language", "en"),
            ],
        )
        .await;
    assert_eq!(stale.status, 403);
    assert!(unescape(&stale.body).contains("Not Applied"));
    assert!(
        unescape(&stale.body).contains("Votre modification de « Réglages » n’est pas encore enregistrée"),
        "{}",
        stale.body
    );
    assert!(unescape(&stale.body).contains("son jeton de sécurité était périmé"));
    c.lang = "en";
    let name = store.list_instance_settings().await.unwrap();
    assert!(name.iter().any(|s| s.value == "Kept Through Sign-In"));

    // A kept form's target outside the admin is never followed.
    for target in [
        "https://evil.example/admin/settings",
        "//evil.example/admin",
        "/admin/../evil",
    ] {
        let mut d = Browser::new(&server.base);
        let forged = serde_json::json!({"target": target, "fields": [["set-name", "Evil"]]}).to_string();
        let r = d.sign_in("marie", ADMIN_PASSWORD, Some(&forged)).await;
        assert_eq!((r.status, r.location.as_str()), (303, "/admin"), "{target}");
    }
    // A cross-site post is not carried through the sign-in…
    let mut e = Browser::new(&server.base);
    let cross = e
        .post_with(
            "/admin/settings",
            &settings,
            &[("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status, 401);
    assert!(!cross.body.contains("name=\"stash\""), "{}", cross.body);
    let cross = e
        .post_with("/admin/settings", &settings, &[("origin", "https://evil.example")])
        .await;
    assert!(!cross.body.contains("name=\"stash\""));
    // …nor shown again with a live session and a wrong token.
    let cross = c
        .post_with(
            "/admin/settings",
            &[("_csrf", "forged"), ("set-name", "Evil")],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status, 403);
    assert!(!unescape(&cross.body).contains("Evil"));

    // Passwords never travel.
    let mut f = Browser::new(&server.base);
    let pw = f
        .post(
            "/admin/account/password",
            &[
                ("_csrf", "x"),
                ("current_password", "old secret words"),
                ("new_password", "new secret words"),
            ],
        )
        .await;
    assert_eq!(pw.status, 401);
    assert!(!pw.body.contains("secret words"));
    let tokens = f
        .post(
            "/admin/tokens",
            &[("_csrf", "x"), ("name", "newsletter"), ("password", "hunter2 words")],
        )
        .await;
    let (_, json) = stash_of(&tokens);
    assert_eq!(field(&json, "name"), Some("newsletter"));
    assert!(!tokens.body.contains("hunter2"));

    // Role checks still apply: an editor signing in with an admin's form.
    let mut g = Browser::new(&server.base);
    let login = g
        .post(
            "/admin/organisation",
            &[("_csrf", "x"), ("org-name", "Edited By An Editor")],
        )
        .await;
    let (stash, _) = stash_of(&login);
    let kept = g.sign_in("edna", EDITOR_PASSWORD, Some(&stash)).await;
    assert_eq!(kept.status, 200);
    let fields = hidden_fields(&kept.body, "/admin/organisation");
    assert_eq!(g.post("/admin/organisation", &as_refs(&fields)).await.status, 403);
    assert_eq!(store.get_organisation().await.unwrap().name, "Sunfield Renamed");

    // A logo form: its text is kept, its file must be chosen again.
    let mut h = Browser::new(&server.base);
    let login = h
        .post_multipart(
            "/admin/organisation/logo",
            &[
                ("_csrf", "x"),
                ("logo-alt", "Sunfield logo, typed signed out"),
                ("logo-existing", ""),
            ],
            ("logo-file", PNG),
        )
        .await;
    assert_eq!(login.status, 401);
    let (stash, json) = stash_of(&login);
    assert_eq!(json["files"], serde_json::json!(["logo-file"]));
    assert_eq!(json["multipart"], true);
    let kept = h.sign_in("marie", ADMIN_PASSWORD, Some(&stash)).await;
    let text = unescape(&kept.body);
    assert!(text.contains("choose it again here"), "{text}");
    assert!(kept.body.contains("type=\"file\""));
    assert!(kept.body.contains("enctype=\"multipart/form-data\""));
    let fields = hidden_fields(&kept.body, "/admin/organisation/logo");
    let saved = h
        .post_multipart("/admin/organisation/logo", &as_refs(&fields), ("logo-file", PNG))
        .await;
    assert_eq!(
        (saved.status, saved.location.as_str()),
        (303, "/admin/organisation?done=logo_saved")
    );
    let logo = store.get_organisation().await.unwrap().logo.expect("a logo");
    let media = store.find_media(&logo).await.unwrap().unwrap();
    assert_eq!(media.alt, "Sunfield logo, typed signed out");
}
