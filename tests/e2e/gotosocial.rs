//! A loopback peer that behaves like GoToSocial where Gazette once tripped:
//! it answers 418 to any request without a `User-Agent`, serves its actors
//! and statuses only to GETs signed by Gazette's instance actor (the
//! signature is checked against the key Gazette publishes at `/actor`), and
//! has no shared inbox. Every kind of request Gazette makes is sent to it:
//! the actor fetch that verifies an inbox POST from it, the `Accept`
//! delivered to its actor inbox, WebFinger (`gazette follow`, the "follow
//! from your server" page), the object fetches of `gazette like`, `boost`
//! and `reply` and their deliveries. The test fails if any request reaches
//! the peer without Gazette's User-Agent, that is if any path bypasses the
//! shared client. The peer verifies draft-cavage only: Gazette's first
//! signed GET, RFC 9421, is refused once, and draft-cavage is remembered for
//! the host from then on (the double-knock). It also checks the instance actor's plain
//! `preferredUsername` with a port in the public URL, and that failures of
//! the peer are reported with its host, status and message.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::fediverse::{self, AS2, SignedPost};
use common::{Env, eventually};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(30);

/// The peer's one key, made once per test process.
fn key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(fediverse::new_key)
}

/// One request the peer received.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    user_agent: Option<String>,
    /// The `keyId` of its signature, if it had a valid one.
    signed_by: Option<String>,
    /// What the peer answered.
    status: u16,
    body: Value,
    /// Whether it was signed with RFC 9421 (`Signature-Input`), which this
    /// peer, like GoToSocial, does not verify.
    rfc9421: bool,
}

/// The GoToSocial-like peer at `http://localhost:PORT`: `@alice`, her status
/// `/users/alice/statuses/1`, and a WebFinger that answers 500 for `@broken`.
#[derive(Clone)]
struct Peer {
    base: String,
    /// Gazette's instance actor id, whose key must sign every GET of an actor or status.
    gazette_actor: String,
    gazette_key: Arc<Mutex<Option<RsaPublicKey>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Peer {
    async fn start(gazette_base: &str) -> Peer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let peer = Peer {
            base: format!("http://localhost:{port}"),
            gazette_actor: format!("{gazette_base}/actor"),
            gazette_key: Arc::default(),
            seen: Arc::default(),
        };
        let app = Router::new().fallback(peer_request).with_state(peer.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        peer
    }

    fn host(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    fn alice(&self) -> String {
        format!("{}/users/alice", self.base)
    }

    fn status(&self) -> String {
        format!("{}/users/alice/statuses/1", self.base)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits for a POST to alice's inbox whose activity matches `pred`.
    async fn wait_for(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Seen {
        eventually(what, DEADLINE, || async {
            self.seen()
                .into_iter()
                .find(|s| s.method == Method::POST && s.path == "/users/alice/inbox" && pred(&s.body))
        })
        .await
    }

    /// Gazette's instance key, fetched once (as GoToSocial would, with a User-Agent).
    async fn gazette_key(&self) -> RsaPublicKey {
        if let Some(k) = self.gazette_key.lock().unwrap().clone() {
            return k;
        }
        let actor: Value = common::test_client()
            .get(&self.gazette_actor)
            .header("accept", AS2)
            .header("user-agent", "peer-test")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let key = fediverse::actor_key(&actor);
        *self.gazette_key.lock().unwrap() = Some(key.clone());
        key
    }

    /// The `keyId` of a GET signed by Gazette's instance actor, or why not.
    async fn check_signature(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<String, String> {
        let signature = headers
            .get("signature")
            .and_then(|v| v.to_str().ok())
            .ok_or("no Signature header")?;
        let field = |name: &str| fediverse::signature_field(signature, name);
        let key_id = field("keyId").ok_or("no keyId")?;
        if key_id.split('#').next() != Some(self.gazette_actor.as_str()) {
            return Err(format!("signed by {key_id}, not by Gazette's instance actor"));
        }
        let signed = field("headers").ok_or("no headers")?;
        let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let lines: Vec<String> = signed
            .split(' ')
            .map(|h| match h {
                "(request-target)" => format!("(request-target): {} {target}", method.as_str().to_lowercase()),
                other => format!(
                    "{other}: {}",
                    headers.get(other).and_then(|v| v.to_str().ok()).unwrap_or_default()
                ),
            })
            .collect();
        let signature = field("signature").ok_or("no signature")?;
        fediverse::verify(&self.gazette_key().await, &lines, &signature)?;
        Ok(key_id)
    }

    fn actor_document(&self) -> Value {
        let id = self.alice();
        // GoToSocial: no endpoints.sharedInbox, key id `{actor}/main-key`.
        json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": id, "type": "Person", "preferredUsername": "alice", "name": "Alice on GoToSocial",
            "inbox": format!("{id}/inbox"), "outbox": format!("{id}/outbox"),
            "followers": format!("{id}/followers"), "following": format!("{id}/following"),
            "publicKey": {
                "id": format!("{id}/main-key"), "owner": id,
                "publicKeyPem": fediverse::public_pem(key()),
            },
        })
    }

    fn status_document(&self) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": self.status(), "type": "Note", "attributedTo": self.alice(),
            "content": "<p>Hello from GoToSocial</p>", "published": "2026-12-01T10:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        })
    }
}

async fn peer_request(
    State(peer): State<Peer>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let path = uri.path().to_owned();
    let mut signed_by = None;
    let (status, mut answer): (StatusCode, Response) = if user_agent.is_none() {
        let body = json!({ "error": "I'm a teapot: no user-agent sent with request" });
        (StatusCode::IM_A_TEAPOT, axum::Json(body).into_response())
    } else if method == Method::POST && path == "/users/alice/inbox" {
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED.into_response())
    } else if method == Method::GET && path == "/.well-known/webfinger" {
        let resource = uri.query().unwrap_or_default().replace("%3A", ":").replace("%40", "@");
        if resource.contains("acct:broken@") {
            let body = json!({ "error": "Internal Server Error: database is down" });
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body).into_response())
        } else if resource.contains(&format!("acct:alice@{}", peer.host())) {
            let jrd = json!({
                "subject": format!("acct:alice@{}", peer.host()),
                "links": [
                    { "rel": "self", "type": AS2, "href": peer.alice() },
                    { "rel": "http://ostatus.org/schema/1.0/subscribe", "template": format!("{}/authorize_interaction?uri={{uri}}", peer.base) },
                ],
            });
            (
                StatusCode::OK,
                ([("content-type", "application/jrd+json")], jrd.to_string()).into_response(),
            )
        } else {
            let body = json!({ "error": "Not Found" });
            (StatusCode::NOT_FOUND, axum::Json(body).into_response())
        }
    } else if method == Method::GET && path.starts_with("/users/") {
        match peer.check_signature(&method, &uri, &headers).await {
            Err(why) => {
                let body = json!({ "error": format!("Unauthorized: {why}") });
                (StatusCode::UNAUTHORIZED, axum::Json(body).into_response())
            }
            Ok(key_id) => {
                signed_by = Some(key_id);
                let doc = match path.as_str() {
                    "/users/alice" => Some(peer.actor_document()),
                    "/users/alice/statuses/1" => Some(peer.status_document()),
                    _ => None,
                };
                match doc {
                    Some(doc) => (
                        StatusCode::OK,
                        ([("content-type", "application/activity+json")], doc.to_string()).into_response(),
                    ),
                    None => {
                        let body = json!({ "error": "Not Found: status not found" });
                        (StatusCode::NOT_FOUND, axum::Json(body).into_response())
                    }
                }
            }
        }
    } else {
        (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND.into_response())
    };
    peer.seen.lock().unwrap().push(Seen {
        method,
        path,
        user_agent,
        signed_by,
        status: status.as_u16(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        rfc9421: headers.contains_key("signature-input"),
    });
    *answer.status_mut() = status;
    answer
}

/// `body` signed as alice, as GoToSocial signs its POSTs (hs2019 over
/// `(request-target) host date digest`, key id `{actor}/main-key`).
async fn post_as_alice(peer: &Peer, inbox: &str, activity: &Value) -> (u16, String) {
    SignedPost::new(key(), format!("{}/main-key", peer.alice()))
        .algorithm("hs2019")
        .send(inbox, &serde_json::to_vec(activity).unwrap())
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_to_a_gotosocial_like_peer_carries_the_user_agent() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let env = env.federated();
    let server = env.serve_federated(&["--demo"]);
    let gazette = server.base.clone();
    let gazette_host = gazette.trim_start_matches("http://").to_owned();
    let peer = Peer::start(&gazette).await;
    let user_agent = format!("Gazette/{} (+{gazette})", env!("CARGO_PKG_VERSION"));
    let http = common::test_client();

    // The instance actor has a plain name although the public URL has a port,
    // and WebFinger finds it under that name.
    let actor: Value = http
        .get(server.url("/actor"))
        .header("accept", AS2)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(actor["preferredUsername"], "localhost");
    let jrd: Value = http
        .get(server.url(&format!(
            "/.well-known/webfinger?resource=acct:localhost@{gazette_host}"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jrd["subject"], format!("acct:localhost@{gazette_host}"));
    assert_eq!(jrd["links"][0]["href"], server.url("/actor"));
    // Its outbox exists (GoToSocial counts posts through it).
    let outbox: Value = http
        .get(server.url("/actor/outbox"))
        .header("accept", AS2)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(outbox["totalItems"], 0);

    // Alice follows the organisation: to verify the POST Gazette fetches her
    // actor (signed GET), then delivers the Accept to her own inbox.
    let follow_id = format!("{}/follows/1", peer.alice());
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": follow_id, "type": "Follow", "actor": peer.alice(), "object": server.url("/users/demo"),
    });
    let (status, body) = post_as_alice(&peer, &server.url("/users/demo/inbox"), &follow).await;
    assert_eq!(status, 202, "Follow refused: {body}");
    peer.wait_for("the Accept of alice's Follow", |b| {
        b["type"] == "Accept" && b["object"]["id"] == follow_id
    })
    .await;

    // The organisation follows alice by handle: WebFinger, then a Follow.
    let out = env.ok(&["follow", &format!("@alice@{}", peer.host())]);
    assert!(out.contains("follow request sent"), "{out}");
    peer.wait_for("the organisation's Follow", |b| {
        b["type"] == "Follow" && b["object"] == peer.alice()
    })
    .await;

    // Like, boost and reply: each fetches the status (signed), then delivers.
    env.ok(&["like", &peer.status()]);
    env.ok(&["boost", &peer.status()]);
    env.ok(&["reply", &peer.status(), "Thank you, Alice!"]);
    for kind in ["Like", "Announce", "Create"] {
        peer.wait_for(kind, |b| b["type"] == kind).await;
    }

    // "Follow from your server": the web process's WebFinger lookup.
    let no_redirects = common::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_redirects
        .get(server.url(&format!("/follow?target=demo&handle=@alice@{}", peer.host())))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_redirection(), "{}", resp.status());
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{}/authorize_interaction?uri=acct%3Ademo%40", peer.base)),
        "{location}"
    );

    // Failures name the host, the status and the peer's own message.
    let err = env.fails(&["follow", &format!("@broken@{}", peer.host())]);
    assert!(
        err.contains(&format!(
            "{} answered HTTP 500 Internal Server Error: Internal Server Error: database is down",
            peer.host()
        )),
        "{err}"
    );
    let err = env.fails(&["like", &format!("{}/users/alice/statuses/404", peer.base)]);
    assert!(
        err.contains(&format!(
            "{} answered HTTP 404 Not Found: Not Found: status not found",
            peer.host()
        )),
        "{err}"
    );

    // Every request carried Gazette's User-Agent; every GET of an actor or a
    // status was signed by the instance actor; nothing was refused for
    // either reason but the first knock with RFC 9421, which this peer does
    // not verify (after the first draft-cavage GET it accepted, nothing is
    // signed RFC 9421 any more: the host is remembered); and each kind of
    // request was seen.
    let seen = peer.seen();
    let refused: Vec<&Seen> = seen.iter().filter(|s| s.status == 401).collect();
    assert!(
        !refused.is_empty() && refused.iter().all(|s| s.rfc9421 && s.method == Method::GET),
        "only RFC 9421 GETs are refused, and the first one is: {seen:#?}"
    );
    let learned = seen
        .iter()
        .position(|s| s.method == Method::GET && !s.rfc9421 && s.signed_by.is_some())
        .unwrap();
    assert!(
        seen[learned..].iter().all(|s| !s.rfc9421),
        "draft-cavage is remembered for the host: {seen:#?}"
    );
    for s in seen.iter().filter(|s| !s.rfc9421) {
        assert_eq!(
            s.user_agent.as_deref(),
            Some(user_agent.as_str()),
            "{} {} reached the peer without Gazette's User-Agent",
            s.method,
            s.path
        );
        assert_ne!(s.status, 418, "{} {}", s.method, s.path);
        assert_ne!(
            s.status, 401,
            "{} {} was not signed by the instance actor",
            s.method, s.path
        );
    }
    let count = |method: Method, path: &str| seen.iter().filter(|s| s.method == method && s.path == path).count();
    assert!(count(Method::GET, "/users/alice") >= 1, "actor fetch");
    assert!(count(Method::GET, "/users/alice/statuses/1") >= 3, "status fetches");
    assert!(count(Method::GET, "/.well-known/webfinger") >= 3, "WebFinger lookups");
    assert!(count(Method::POST, "/users/alice/inbox") >= 5, "deliveries");
    assert!(
        seen.iter()
            .filter(|s| s.method == Method::GET && s.path.starts_with("/users/") && !s.rfc9421)
            .all(|s| s.signed_by.is_some() || s.status == 404),
        "unsigned GETs: {seen:?}"
    );
}
