//! A fake fediverse server in the test process, for the inbox and safety
//! tests: actor documents shaped like one software's (Mastodon, Pleroma,
//! Akkoma, Misskey, Lemmy, GoToSocial), inboxes that record everything
//! Gazette sends, and signed POSTs from its actors.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rsa::RsaPrivateKey;
use serde_json::{Value, json};

use super::eventually;
use super::fediverse::{self, SignedPost};

/// How long [`Remote`]'s waits wait.
const DEADLINE: Duration = Duration::from_secs(30);

/// Two RSA-2048 keys, made once per test process: the one every fake actor
/// publishes, and a stranger's.
pub fn keys() -> &'static (RsaPrivateKey, RsaPrivateKey) {
    static KEYS: OnceLock<(RsaPrivateKey, RsaPrivateKey)> = OnceLock::new();
    KEYS.get_or_init(|| (fediverse::new_key(), fediverse::new_key()))
}

/// How one fediverse software shapes its actors and signs its POSTs.
#[derive(Debug, Clone, Copy)]
pub struct Flavour {
    pub name: &'static str,
    /// `endpoints.sharedInbox` at `/inbox`; GoToSocial has none.
    pub shared_inbox: bool,
    /// What follows the actor id in its key id.
    pub key_suffix: &'static str,
    pub algorithm: &'static str,
    /// The headers its signatures cover, in its order.
    pub signed: &'static str,
    pub content_type: &'static str,
}

pub const MASTODON: Flavour = Flavour {
    name: "mastodon",
    shared_inbox: true,
    key_suffix: "#main-key",
    algorithm: "rsa-sha256",
    signed: "(request-target) host date digest content-type",
    content_type: "application/activity+json; charset=utf-8",
};

pub const FLAVOURS: &[Flavour] = &[
    MASTODON,
    Flavour {
        name: "pleroma",
        shared_inbox: true,
        key_suffix: "#main-key",
        algorithm: "rsa-sha256",
        signed: "(request-target) content-length date digest host",
        content_type: "application/activity+json; charset=utf-8",
    },
    Flavour {
        name: "akkoma",
        shared_inbox: true,
        key_suffix: "#main-key",
        algorithm: "rsa-sha256",
        signed: "(request-target) content-length date digest host",
        content_type: "application/activity+json; charset=utf-8",
    },
    Flavour {
        name: "misskey",
        shared_inbox: true,
        key_suffix: "#main-key",
        algorithm: "rsa-sha256",
        signed: "(request-target) date host digest",
        content_type: "application/activity+json; charset=utf-8",
    },
    Flavour {
        name: "lemmy",
        shared_inbox: true,
        key_suffix: "#main-key",
        algorithm: "hs2019",
        signed: "(request-target) content-type date digest host",
        content_type: "application/activity+json",
    },
    Flavour {
        name: "gotosocial",
        shared_inbox: false,
        key_suffix: "/main-key",
        algorithm: "hs2019",
        signed: "(request-target) host date digest",
        content_type: "application/activity+json",
    },
];

/// One request Gazette sent to a fake remote server.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub path: String,
    pub headers: HeaderMap,
    pub raw: Vec<u8>,
    pub body: Value,
}

#[derive(Default)]
struct RemoteState {
    /// Actor paths that now answer 410 Gone.
    gone: HashSet<String>,
    /// Fields set on an actor's document (by path), over the usual ones.
    fields: Vec<(String, &'static str, Value)>,
    received: Vec<Delivery>,
    /// Paths of every other request (what Gazette fetched, or tried to).
    gets: Vec<String>,
    /// Other documents served (by path): notes, collections, their pages.
    documents: Vec<(String, Value)>,
}

/// A fake fediverse server on `http://localhost:PORT`: actor documents at
/// `/users/…`, `/u/…` (Lemmy people) and `/c/…` (Lemmy communities, as
/// `Group`s), and inboxes at `/inbox` and `{actor}/inbox` that record
/// everything and answer 202.
#[derive(Clone)]
pub struct Remote {
    pub flavour: Flavour,
    pub base: String,
    /// The key every actor publishes; [`Remote::rotate_key`] changes it.
    public_pem: Arc<Mutex<String>>,
    state: Arc<Mutex<RemoteState>>,
}

impl Remote {
    pub async fn start(flavour: Flavour) -> Remote {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let public_pem = fediverse::public_pem(&keys().0);
        let remote = Remote {
            flavour,
            base: format!("http://localhost:{port}"),
            public_pem: Arc::new(Mutex::new(public_pem)),
            state: Arc::default(),
        };
        let app = Router::new().fallback(remote_request).with_state(remote.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        remote
    }

    /// The id of the actor at `path` (`users/alice`).
    pub fn actor(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    pub fn key_id(&self, actor: &str) -> String {
        format!("{actor}{}", self.flavour.key_suffix)
    }

    pub fn actor_document(&self, path: &str) -> Option<Value> {
        let kind = match path.split('/').next()? {
            "users" | "u" => "Person",
            "c" => "Group",
            _ => return None,
        };
        let name = path.rsplit('/').next()?;
        if name.is_empty() || path.ends_with("/inbox") {
            return None;
        }
        let id = self.actor(path);
        let mut doc = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": id,
            "type": kind,
            "preferredUsername": name,
            "name": format!("{name} on {}", self.flavour.name),
            "inbox": format!("{id}/inbox"),
            "outbox": format!("{id}/outbox"),
            "followers": format!("{id}/followers"),
            "publicKey": { "id": self.key_id(&id), "owner": id, "publicKeyPem": *self.public_pem.lock().unwrap() },
        });
        if self.flavour.shared_inbox {
            doc["endpoints"] = json!({ "sharedInbox": format!("{}/inbox", self.base) });
        }
        for (p, key, value) in &self.state.lock().unwrap().fields {
            if p == path {
                doc[*key] = value.clone();
            }
        }
        Some(doc)
    }

    /// The actor at `path` publishes `key: value` from now on.
    pub fn set_field(&self, path: &str, key: &'static str, value: Value) {
        self.state.lock().unwrap().fields.push((path.to_owned(), key, value));
    }

    /// Every actor of this server publishes `key` from now on.
    pub fn rotate_key(&self, key: &RsaPrivateKey) {
        *self.public_pem.lock().unwrap() = fediverse::public_pem(key);
    }

    /// Serves `doc` at `path` (`notes/1`) from now on.
    pub fn serve(&self, path: &str, doc: Value) {
        self.state.lock().unwrap().documents.push((path.to_owned(), doc));
    }

    /// Whether Gazette asked for `path` (`/notes/1`).
    pub fn fetched(&self, path: &str) -> bool {
        self.state.lock().unwrap().gets.iter().any(|g| g == path)
    }

    pub fn set_gone(&self, path: &str) {
        self.state.lock().unwrap().gone.insert(path.to_owned());
    }

    pub fn received(&self) -> Vec<Delivery> {
        self.state.lock().unwrap().received.clone()
    }

    /// `localhost:PORT`, as blocks and the allowlist name it.
    pub fn host(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// The id of the person `name` (`/users/{name}`).
    pub fn user(&self, name: &str) -> String {
        self.actor(&format!("users/{name}"))
    }

    /// The activities POSTed to its inboxes so far.
    pub fn posts(&self) -> Vec<Value> {
        self.received().into_iter().map(|d| d.body).collect()
    }

    /// How many other requests (fetches) it has had.
    pub fn gets(&self) -> usize {
        self.state.lock().unwrap().gets.len()
    }

    /// Waits for an activity of `kind` whose `object` (or its id) is `object`.
    pub async fn wait_for(&self, kind: &str, object: &str) -> Value {
        eventually(&format!("a {kind} of {object} at {}", self.base), DEADLINE, || async {
            self.posts()
                .into_iter()
                .find(|a| a["type"] == kind && (a["object"] == object || a["object"]["id"] == object))
        })
        .await
    }

    /// Waits for any activity of `kind`.
    pub async fn wait_for_type(&self, kind: &str) -> Value {
        eventually(&format!("a {kind} at {}", self.base), DEADLINE, || async {
            self.posts().into_iter().find(|a| a["type"] == kind)
        })
        .await
    }

    /// A fresh activity by the person `name` here.
    pub fn activity(&self, name: &str, kind: &str, object: Value) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/activities/{}", self.base, super::unique()),
            "type": kind, "actor": self.user(name), "object": object,
        })
    }

    /// POSTs `activity` to `inbox`, signed as its actor with the key every
    /// actor here publishes; the status and the answer.
    pub async fn deliver(&self, inbox: &str, activity: &Value) -> (u16, String) {
        let key_id = self.key_id(activity["actor"].as_str().unwrap());
        SignedPost::new(&keys().0, key_id)
            .algorithm(self.flavour.algorithm)
            .send(inbox, &serde_json::to_vec(activity).unwrap())
            .await
    }

    /// Waits for an `Accept` at `inbox_path` whose object is the follow `follow_id`.
    pub async fn wait_for_accept(&self, inbox_path: &str, follow_id: &str) -> Delivery {
        eventually(
            &format!("an Accept of {follow_id} at {inbox_path}"),
            DEADLINE,
            || async {
                self.received()
                    .into_iter()
                    .find(|d| d.path == inbox_path && d.body["type"] == "Accept" && d.body["object"]["id"] == follow_id)
            },
        )
        .await
    }
}

/// Every request to a fake remote server: actor documents on GET, inboxes on POST.
async fn remote_request(
    State(remote): State<Remote>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let path = uri.path().trim_start_matches('/').to_owned();
    if method == axum::http::Method::POST && (path == "inbox" || path.ends_with("/inbox")) {
        remote.state.lock().unwrap().received.push(Delivery {
            path: uri.path().to_owned(),
            headers,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            raw: body.to_vec(),
        });
        return StatusCode::ACCEPTED.into_response();
    }
    remote.state.lock().unwrap().gets.push(uri.path().to_owned());
    if method != axum::http::Method::GET {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    if remote.state.lock().unwrap().gone.contains(&path) {
        let tombstone = json!({ "@context": "https://www.w3.org/ns/activitystreams", "id": remote.actor(&path), "type": "Tombstone" });
        return (StatusCode::GONE, as2_headers(remote.flavour), tombstone.to_string()).into_response();
    }
    let served = remote
        .state
        .lock()
        .unwrap()
        .documents
        .iter()
        .rev()
        .find(|(p, _)| *p == path)
        .map(|(_, d)| d.clone());
    if let Some(doc) = served {
        return (as2_headers(remote.flavour), doc.to_string()).into_response();
    }
    match remote.actor_document(&path) {
        Some(doc) => (as2_headers(remote.flavour), doc.to_string()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn as2_headers(flavour: Flavour) -> [(&'static str, &'static str); 1] {
    [("content-type", flavour.content_type)]
}
