//! The shipped nginx site (deploy/nginx-gazette.conf) in front of Gazette,
//! run for real with Debian's nginx on loopback: the file is taken as it is
//! with its TLS parts swapped for plain HTTP (see the markers it documents),
//! and through it actor ids use the public URL, WebFinger answers, a signed
//! POST to an inbox verifies (so the proxy passes `Host` through) and
//! `gazette doctor` passes. nginx must be installed (`apt-get install
//! nginx`; .ci/run installs it): without it this test fails, it never skips.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use common::fediverse::{self, SignedPost};
use common::{Env, OutputBounded, Server, eventually};
use gazette_store::Backend;
use rsa::RsaPrivateKey;
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(30);
const SITE: &str = include_str!("../../deploy/nginx-gazette.conf");

/// Debian's nginx binary; a missing one fails the test with what to do.
fn nginx_binary() -> PathBuf {
    let candidates = [PathBuf::from("/usr/sbin/nginx"), PathBuf::from("/usr/bin/nginx")];
    candidates.into_iter().find(|p| p.exists()).unwrap_or_else(|| {
        panic!("nginx is not installed: run `apt-get install -y nginx` (.ci/run installs it); this test needs the real nginx")
    })
}

/// The shipped site with its TLS parts replaced by plain HTTP on `port`,
/// proxying to `upstream`, its cache under `dir`.
fn derive_site(port: u16, upstream: &str, dir: &Path) -> String {
    let mut out = Vec::new();
    let mut in_tls = false;
    let mut listened = false;
    for line in SITE.lines() {
        let trimmed = line.trim();
        if trimmed == "# tls-begin" {
            in_tls = true;
            continue;
        }
        if trimmed == "# tls-end" {
            in_tls = false;
            continue;
        }
        if in_tls {
            continue;
        }
        if line.trim_end().ends_with("; # tls-listen") {
            if !listened {
                out.push(format!("    listen 127.0.0.1:{port};"));
                listened = true;
            }
            continue;
        }
        out.push(
            line.replace("news.example.org", "localhost")
                .replace("127.0.0.1:8080", upstream)
                .replace("/var/cache/nginx/gazette", &dir.join("cache").display().to_string()),
        );
    }
    assert!(listened && !in_tls, "deploy/nginx-gazette.conf lost its tls markers");
    out.join("\n")
}

/// A running nginx; stopped on drop with SIGTERM, which stops its workers
/// too (a SIGKILL to the master would leave them serving), then SIGKILL if
/// it is still there after a deadline.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts nginx with `site`, serving on `listener` (the site's `listen`
/// address): nginx takes it over as an inherited socket (its `NGINX`
/// variable, as in a binary upgrade), so the port stays ours throughout.
fn start_nginx(dir: &Path, site: &str, listener: &TcpListener) -> Nginx {
    let site_file = dir.join("site.conf");
    std::fs::write(&site_file, site).unwrap();
    let d = dir.display();
    let conf = format!(
        "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nworker_processes 1;\nevents {{ worker_connections 256; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include {};\n}}\n",
        site_file.display()
    );
    let conf_file = dir.join("nginx.conf");
    std::fs::write(&conf_file, conf).unwrap();
    let check = Command::new(nginx_binary())
        .env("NGINX", "0;")
        .stdin(OwnedFd::from(listener.try_clone().unwrap()))
        .arg("-t")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf_file)
        .output_bounded();
    assert!(
        check.status.success(),
        "nginx -t refused the derived site:\n{}\n{site}",
        String::from_utf8_lossy(&check.stderr)
    );
    let child = Command::new(nginx_binary())
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf_file)
        .args(["-g", "daemon off;"])
        .env("NGINX", "0;")
        .stdin(OwnedFd::from(listener.try_clone().unwrap()))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Nginx(child)
}

/// `gazette serve --demo` serving on `listener`, with authorized fetch on or off.
fn serve(env: &Env, listener: &TcpListener, authorized_fetch: bool) -> Server {
    let mut cmd = env.command(&["serve", "--demo", "--listen-stdin"]);
    cmd.env("GAZETTE_FEDERATION__AUTHORIZED_FETCH", authorized_fetch.to_string())
        .stdin(OwnedFd::from(listener.try_clone().unwrap()));
    common::spawn_listening(cmd)
}

/// A loopback "remote server" publishing one actor with `key`.
async fn start_remote(key: &RsaPrivateKey) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let id = format!("{base}/users/alice");
    let pem = fediverse::public_pem(key);
    let doc = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": "Person",
        "preferredUsername": "alice",
        "inbox": format!("{id}/inbox"),
        "outbox": format!("{id}/outbox"),
        "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": pem },
    });
    let app = Router::new()
        .route(
            "/users/alice",
            axum::routing::get(|State(doc): State<Value>| async move {
                ([("content-type", "application/activity+json")], doc.to_string())
            }),
        )
        .route(
            "/users/alice/inbox",
            axum::routing::post(|| async { axum::http::StatusCode::ACCEPTED }),
        )
        .with_state(doc);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    id
}

/// POSTs `body` to `url` signed by `key_id` over `(request-target) host date
/// digest`, with `signed_host` as the signed Host.
async fn signed_post(url: &str, signed_host: &str, key: &RsaPrivateKey, key_id: &str, body: &[u8]) -> (u16, String) {
    SignedPost::new(key, key_id)
        .signed_host(signed_host)
        .send(url, body)
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn gazette_behind_the_shipped_nginx_site() {
    nginx_binary();
    let env = Env::new(Backend::Sqlite).await.unwrap();
    // Both ports bound here and handed to nginx and Gazette (again at each
    // restart), so no other process can take them in between.
    let nginx_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let nginx_port = nginx_listener.local_addr().unwrap().port();
    let gazette_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let gazette_listen = gazette_listener.local_addr().unwrap().to_string();
    let public = format!("http://localhost:{nginx_port}");
    let env = env
        .with_env("GAZETTE_INSTANCE__PUBLIC_URL", &public)
        .with_env("GAZETTE_FEDERATION__ALLOW_PRIVATE_ADDRESSES", "true");
    let nginx_dir = env.dir.join("nginx");
    std::fs::create_dir_all(&nginx_dir).unwrap();
    let site = derive_site(nginx_port, &gazette_listen, &nginx_dir);
    let nginx = start_nginx(&nginx_dir, &site, &nginx_listener);
    let server = serve(&env, &gazette_listener, false);
    let http = common::test_client();
    let healthz = format!("{public}/healthz");
    up(&healthz).await;

    // Ids on the public URL.
    let org = format!("{public}/users/demo");
    let actor: Value = http
        .get(&org)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(actor["id"], org, "{actor}");
    assert_eq!(actor["inbox"], format!("{org}/inbox"), "{actor}");
    let instance = http
        .get(format!("{public}/actor"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(instance.status(), 200);

    // WebFinger through the proxy.
    let finger: Value = http
        .get(format!(
            "{public}/.well-known/webfinger?resource=acct:demo@localhost:{nginx_port}"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        finger["links"].as_array().unwrap().iter().any(|l| l["href"] == org),
        "{finger}"
    );

    // A signed Follow verifies: nginx passed Host as the sender signed it.
    let key = fediverse::new_key();
    let alice = start_remote(&key).await;
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{alice}/follows/1"),
        "type": "Follow",
        "actor": alice,
        "object": org,
    });
    let body = serde_json::to_vec(&follow).unwrap();
    let host = format!("localhost:{nginx_port}");
    let key_id = format!("{alice}#main-key");
    let inbox = format!("{org}/inbox");
    let (status, text) = signed_post(&inbox, &host, &key, &key_id, &body).await;
    assert!(
        (200..300).contains(&status),
        "signed POST through nginx: {status} {text}"
    );
    // Signed for another Host (what a proxy rewriting Host would make of it): refused.
    let (status, _) = signed_post(&inbox, &gazette_listen, &key, &key_id, &body).await;
    assert_eq!(status, 401, "a signature over another Host must not verify");

    // `gazette doctor` through the proxy.
    let out = env.run(&["doctor"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("OK   reachable: {healthz}")) && stdout.contains("OK   signed fetch"),
        "{stdout}"
    );

    // With authorized fetch on, the server verifies doctor's signed fetch…
    drop(server);
    let _server = serve(&env, &gazette_listener, true);
    up(&healthz).await;
    let out = env.run(&["doctor"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("OK   signed fetch"), "{stdout}");
    // … so a proxy that drops the port from Host (`$host`) is caught.
    drop(nginx);
    let broken = site.replace("proxy_set_header Host $http_host;", "proxy_set_header Host $host;");
    assert_ne!(broken, site);
    let _nginx = start_nginx(&nginx_dir, &broken, &nginx_listener);
    up(&healthz).await;
    let out = env.run(&["doctor"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("FAIL signed fetch") && stdout.contains("$http_host"),
        "{stdout}"
    );
}

/// Waits until `healthz` answers 200.
async fn up(healthz: &str) {
    let http = common::test_client();
    eventually("Gazette through nginx", DEADLINE, || async {
        match http.get(healthz).send().await {
            Ok(r) if r.status() == 200 => Some(()),
            _ => None,
        }
    })
    .await;
}
