//! Running an instance for real, through the real binary on SQLite and
//! PostgreSQL: one public URL for every process (recorded in the database,
//! refused when a process is configured otherwise, changed on purpose with
//! `gazette instance set-public-url`), deliveries that a CLI command queues
//! sent by the running server at once, `gazette backup` of a running
//! instance and `gazette restore` into an empty one, `gazette migrate
//! --check`, a SIGTERM that loses no delivery, and `gazette doctor`.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::sink::Sink;
use common::{ClosedPort, Env, OutputBounded, eventually, last_line, path};
use gazette_store::{Backend, Store};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Far below the delivery worker's fallback poll in these tests (see
/// [`POLL_SECONDS`]): a delivery that arrives within this waited for no poll.
const WOKEN_WITHIN: Duration = Duration::from_secs(10);
/// `federation.delivery_poll_seconds` here, so only a wake-up is quick.
const POLL_SECONDS: &str = "60";

both_backends!(
    one_public_url_for_every_process,
    backup_of_a_running_instance_restores_and_serves,
    migrate_check_says_what_would_run,
    sigterm_finishes_deliveries_in_flight_and_loses_none,
    doctor_passes_beside_a_running_server,
    doctor_fails_on_a_closed_port_and_an_empty_database,
);

mod sqlite_only {
    #[tokio::test(flavor = "multi_thread")]
    async fn unset_public_url_is_the_address_listened_on() {
        if let Some(env) = super::common::Env::new(gazette_store::Backend::Sqlite).await {
            super::unset_public_url_is_the_address_listened_on(env).await
        }
    }
}

// ---------------------------------------------------------------- a loopback inbox

/// Waits for the `Create` of the article `slug` at the sink.
async fn create_of(sink: &Sink, slug: &str, within: Duration) -> Value {
    eventually(
        &format!("the Create of {slug} at the follower's inbox"),
        within,
        || async {
            sink.received().into_iter().map(|(_, a)| a).find(|a| {
                a["type"] == "Create"
                    && a["object"]["url"]
                        .as_str()
                        .is_some_and(|u| u.ends_with(&format!("/articles/{slug}")))
            })
        },
    )
    .await
}

fn article_file(env: &Env, slug: &str) -> std::path::PathBuf {
    env.write(
        &format!("{slug}.md"),
        format!(
            "---\nslug: {slug}\nkind: news\ntitle: Published from the command line\nsummary: A standfirst.\n\
             language: en\nauthor: camille_renard\n---\nBody of {slug}.\n"
        ),
    )
}

async fn actor_id(base: &str, username: &str) -> String {
    let actor = common::fediverse::as2(&format!("{base}/users/{username}")).await;
    actor["id"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------- one public URL

/// The scenario: `gazette serve --demo --public-url URL` in one
/// terminal, `gazette publish FILE` with the data directory alone in
/// another; the CLI names the article with URL, and the server sends its
/// `Create` (ids on URL) to a follower at once.
async fn one_public_url_for_every_process(env: Env) {
    let env = env
        .with_env("GAZETTE_FEDERATION__ALLOW_PRIVATE_ADDRESSES", "true")
        .with_env("GAZETTE_FEDERATION__DELIVERY_POLL_SECONDS", POLL_SECONDS);
    let unanswered = ClosedPort::bind();
    let public = format!("http://localhost:{}", unanswered.port);
    let server = env.serve(&["--demo", "--public-url", &public]);
    let author = format!("{public}/users/camille_renard");
    assert_eq!(actor_id(&server.base, "camille_renard").await, author);

    let store = Store::connect(env.database_url(), 2).await.unwrap();
    let sink = Sink::start(Duration::ZERO).await;
    sink.follower(&store, &author, "reader").await;

    // Twice: each delivery comes well before the worker's fallback poll.
    for slug in ["from-the-cli", "from-the-cli-again"] {
        let out = env.ok(&["publish", path(&article_file(&env, slug))]);
        assert_eq!(last_line(&out), format!("{public}/articles/{slug}"), "{out}");
        let create = create_of(&sink, slug, WOKEN_WITHIN).await;
        assert_eq!(create["actor"], author, "{create}");
        assert!(create["id"].as_str().unwrap().starts_with(&public), "{create}");
        assert_eq!(create["object"]["attributedTo"], author, "{create}");
    }
    let shown = env.ok(&["instance", "show"]);
    assert!(shown.contains(&public) && shown.contains("configured"), "{shown}");

    // A process configured with another URL stops, naming both and the way out.
    let other = "http://news.example.org";
    let refused = env.fails(&["article", "list", "--public-url", other]);
    assert!(
        refused.contains(&public) && refused.contains(other) && refused.contains("gazette instance set-public-url"),
        "{refused}"
    );
    let refused = env
        .command(&["serve", "--listen", "127.0.0.1:0"])
        .env("GAZETTE_INSTANCE__PUBLIC_URL", other)
        .output_bounded();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains(&public));

    // A second server without a URL is the same instance: beside the first
    // on PostgreSQL, after it on SQLite (one writer).
    let second = match env.backend {
        Backend::Postgres => env.serve(&[]),
        Backend::Sqlite => {
            drop(server);
            env.serve(&[])
        }
    };
    assert_eq!(actor_id(&second.base, "camille_renard").await, author);
    drop(second);

    // Moving the instance on purpose: a warning, then every process follows.
    let moved_port = ClosedPort::bind();
    let moved = format!("http://localhost:{}", moved_port.port);
    let out = env.command(&["instance", "set-public-url", &moved]).output_bounded();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let warning = String::from_utf8_lossy(&out.stderr);
    assert!(warning.contains("will not follow"), "{warning}");
    let out = env.ok(&["publish", path(&article_file(&env, "after-the-move"))]);
    assert_eq!(last_line(&out), format!("{moved}/articles/after-the-move"), "{out}");
    assert!(
        env.fails(&["article", "list", "--public-url", &public])
            .contains(&moved)
    );
    store.close().await;
}

/// No URL configured anywhere: `gazette init` writes none, the first server
/// records the address it listens on and the CLI uses it; a later server
/// on another port records its own.
async fn unset_public_url_is_the_address_listened_on(env: Env) {
    env.ok(&["init"]);
    let config = std::fs::read_to_string(env.dir.join("gazette.toml")).unwrap();
    assert!(config.contains("# public_url"), "{config}");
    let before = env.ok(&["instance", "show"]);
    assert!(before.contains("none recorded"), "{before}");
    let server = env.serve(&["--demo"]);
    let out = env.ok(&["publish", path(&article_file(&env, "here"))]);
    assert_eq!(last_line(&out), server.url("/articles/here"), "{out}");
    drop(server);
    let server = env.serve(&[]);
    assert!(env.ok(&["instance", "show"]).contains(&server.base));
    assert_eq!(
        actor_id(&server.base, "camille_renard").await,
        server.url("/users/camille_renard")
    );
}

// ---------------------------------------------------------------- backups

async fn backup_of_a_running_instance_restores_and_serves(env: Env) {
    let server = env.serve(&["--demo"]);
    env.ok(&["publish", path(&article_file(&env, "before-the-backup"))]);
    let file = env.dir.join("copy.backup");
    let out = env.ok(&["backup", path(&file)]);
    assert!(out.contains("backup written"), "{out}");
    // Never overwritten.
    assert!(env.fails(&["backup", path(&file)]).contains("already exists"));
    let listed = env.ok(&["article", "list"]);
    assert!(listed.contains("4 of 4"), "{listed}");
    drop(server);

    let fresh = Env::new(env.backend).await.unwrap();
    if fresh.backend == Backend::Sqlite {
        let nothing = fresh.fails(&["backup", path(&fresh.dir.join("empty.backup"))]);
        assert!(nothing.contains("no database"), "{nothing}");
    }
    let out = fresh.ok(&["restore", path(&file)]);
    assert!(out.contains("restored"), "{out}");
    // Only into an empty data directory (or database).
    let refused = fresh.fails(&["restore", path(&file)]);
    assert!(refused.contains("not empty"), "{refused}");

    let restored = fresh.serve(&[]);
    assert_eq!(fresh.ok(&["article", "list"]), listed);
    for slug in slugs(&listed) {
        let page = common::http_get(restored.url(&format!("/articles/{slug}")))
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "{slug} after the restore");
    }
    let page = common::http_get(restored.url("/articles/before-the-backup"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Body of before-the-backup."), "{page}");
}

/// The slugs of the published articles in an `article list` table
/// (STATUS KIND DATE TIME LANGS SLUG TITLE).
fn slugs(listing: &str) -> Vec<String> {
    let slugs: Vec<String> = listing
        .lines()
        .filter(|l| l.starts_with("published "))
        .filter_map(|l| l.split_whitespace().nth(5).map(str::to_owned))
        .collect();
    assert_eq!(slugs.len(), 4, "{listing}");
    slugs
}

// ---------------------------------------------------------------- upgrades

async fn migrate_check_says_what_would_run(env: Env) {
    let fresh = env.ok(&["migrate", "--check"]);
    assert!(fresh.contains("would"), "{fresh}");
    assert!(
        fresh.contains("migration 27 (instance identity)") || fresh.contains("all"),
        "{fresh}"
    );
    // It changed nothing: the same answer again.
    assert_eq!(env.ok(&["migrate", "--check"]), fresh);
    env.ok(&["migrate"]);
    let done = env.ok(&["migrate", "--check"]);
    assert!(done.contains("up to date"), "{done}");
}

// ---------------------------------------------------------------- graceful shutdown

const FOLLOWERS: usize = 20;

/// SIGTERM while deliveries are in flight to a slow inbox and a request is
/// half sent: the server stops accepting connections, answers the request
/// (and stores its article), finishes the deliveries in flight and records
/// their results, hands back those not started, and exits cleanly within a
/// deadline; the next server sends the rest, each follower getting the
/// `Create` exactly once.
async fn sigterm_finishes_deliveries_in_flight_and_loses_none(env: Env) {
    let env = env.with_env("GAZETTE_FEDERATION__ALLOW_PRIVATE_ADDRESSES", "true");
    let unanswered = ClosedPort::bind();
    let public = format!("http://localhost:{}", unanswered.port);
    let mut server = env.serve(&["--demo", "--public-url", &public]);
    let author = format!("{public}/users/camille_renard");
    let store = Store::connect(env.database_url(), 2).await.unwrap();
    let sink = Sink::start(Duration::from_millis(1500)).await;
    for i in 0..FOLLOWERS {
        sink.follower(&store, &author, &format!("f{i}")).await;
    }
    let token = last_line(&env.ok(&["token", "create", "late"])).to_owned();
    env.ok(&["publish", path(&article_file(&env, "before-sigterm"))]);
    eventually("deliveries in flight", WOKEN_WITHIN, || async {
        (sink.in_flight() > 0).then_some(())
    })
    .await;

    // A request in flight at the signal: its headers sent, and the handler
    // waiting for its body (it asked for it: `100 Continue`).
    let body = serde_json::json!({
        "slug": "sent-during-shutdown", "kind": "news", "status": "draft", "language": "en",
        "author": "camille_renard",
        "translations": [{"language": "en", "title": "Sent during shutdown", "summary": "S", "body": "B"}]
    })
    .to_string();
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut request = tokio::net::TcpStream::connect(&addr).await.unwrap();
    request
        .write_all(
            format!(
                "POST /api/articles HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut interim = Vec::new();
    while !interim.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(request.read(&mut byte).await.unwrap(), 1, "closed before 100 Continue");
        interim.push(byte[0]);
    }
    assert!(
        interim.starts_with(b"HTTP/1.1 100"),
        "{}",
        String::from_utf8_lossy(&interim)
    );

    let stopping = std::time::Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    eventually(
        "the server to stop accepting connections",
        Duration::from_secs(30),
        || async { tokio::net::TcpStream::connect(&addr).await.is_err().then_some(()) },
    )
    .await;
    request.write_all(body.as_bytes()).await.unwrap();
    let mut answer = String::new();
    request.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "the request in flight was answered: {answer}"
    );
    let deadline = stopping + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "still running 30 s after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status after SIGTERM: {status}");
    // A request in flight at the signal was answered and recorded.
    let answered = sink.answered();
    assert!(
        answered > 0 && answered < FOLLOWERS,
        "{answered} answered before the exit"
    );
    let stats = store.delivery_stats().await.unwrap();
    let delivered: i64 = stats.iter().map(|h| h.delivered).sum();
    let pending: i64 = stats.iter().map(|h| h.pending + h.retrying).sum();
    assert_eq!(delivered as usize, answered, "{stats:?}");
    assert_eq!(pending as usize, FOLLOWERS - answered, "{stats:?}");
    assert!(
        common::http_get(server.url("/healthz")).await.is_err(),
        "no longer accepting"
    );
    assert!(
        env.ok(&["article", "show", "sent-during-shutdown"])
            .contains("status:    draft")
    );

    let again = env.serve(&[]);
    eventually("every follower to get the Create", Duration::from_secs(60), || async {
        (sink.answered() >= FOLLOWERS).then_some(())
    })
    .await;
    eventually("the queue to be empty", Duration::from_secs(30), || async {
        let stats = store.delivery_stats().await.unwrap();
        stats.iter().all(|h| h.pending == 0 && h.retrying == 0).then_some(())
    })
    .await;
    let received = sink.received();
    let inboxes: std::collections::HashSet<&str> = received.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(inboxes.len(), FOLLOWERS, "every follower once: {received:?}");
    assert_eq!(received.len(), FOLLOWERS, "nobody twice");
    drop(again);
    store.close().await;
}

// ---------------------------------------------------------------- doctor

/// `gazette doctor`'s output lines, each checked to be one of its three kinds.
fn doctor_lines(out: &std::process::Output) -> Vec<String> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    for line in &lines {
        assert!(
            line.starts_with("OK   ") || line.starts_with("WARN ") || line.starts_with("FAIL "),
            "not a doctor line: {line}\n{stdout}"
        );
    }
    lines
}

fn doctor_line<'a>(lines: &'a [String], check: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l[5..].starts_with(&format!("{check}:")))
        .unwrap_or_else(|| panic!("no `{check}` line in {lines:#?}"))
}

async fn doctor_passes_beside_a_running_server(env: Env) {
    let server = env.serve(&["--demo"]);
    // Keys are made on their actor's first fetch.
    actor_id(&server.base, "demo").await;
    let instance = common::test_client()
        .get(server.url("/actor"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(instance.status(), 200);
    let out = env.run(&["doctor"]);
    let lines = doctor_lines(&out);
    assert!(
        out.status.success(),
        "{lines:#?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!lines.iter().any(|l| l.starts_with("FAIL")), "{lines:#?}");
    for check in ["database", "reachable", "clock", "webfinger", "signed fetch", "queue"] {
        assert!(doctor_line(&lines, check).starts_with("OK"), "{lines:#?}");
    }
    assert!(
        doctor_line(&lines, "reachable").contains(&server.url("/healthz")),
        "{lines:#?}"
    );
}

async fn doctor_fails_on_a_closed_port_and_an_empty_database(env: Env) {
    let closed_port = ClosedPort::bind();
    let closed = format!("http://127.0.0.1:{}", closed_port.port);
    env.ok(&["init", "--public-url", &closed]);
    let out = env.run(&["doctor"]);
    let lines = doctor_lines(&out);
    assert!(!out.status.success(), "{lines:#?}");
    let reachable = doctor_line(&lines, "reachable");
    assert!(
        reachable.starts_with("FAIL") && reachable.contains(&closed),
        "{lines:#?}"
    );
    assert!(doctor_line(&lines, "database").starts_with("OK"), "{lines:#?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("check(s) failed"));
    assert!(doctor_line(&lines, "mail").starts_with("OK"), "{lines:#?}");

    // An SMTP server that does not answer, then a config that does not load.
    let smtp_down = ClosedPort::bind();
    let smtp = smtp_down.port.to_string();
    let out = env
        .command(&["doctor"])
        .env("GAZETTE_MAIL__HOST", "127.0.0.1")
        .env("GAZETTE_MAIL__PORT", &smtp)
        .env("GAZETTE_MAIL__TLS", "none")
        .env("GAZETTE_MAIL__FROM", "news@coop.example")
        .output_bounded();
    let lines = doctor_lines(&out);
    let mail = doctor_line(&lines, "mail");
    assert!(
        mail.starts_with("FAIL") && mail.contains(&format!("127.0.0.1:{smtp}")),
        "{lines:#?}"
    );
    let out = env
        .command(&["doctor"])
        .env("GAZETTE_MAIL__HOST", "127.0.0.1")
        .output_bounded();
    let lines = doctor_lines(&out);
    assert!(!out.status.success());
    let config = doctor_line(&lines, "config");
    assert!(config.starts_with("FAIL") && config.contains("mail.from"), "{lines:#?}");

    // Nothing initialised: no database file (SQLite) or no schema (PostgreSQL).
    let fresh = Env::new(env.backend).await.unwrap();
    let out = fresh.run(&["doctor"]);
    let lines = doctor_lines(&out);
    assert!(!out.status.success(), "{lines:#?}");
    let database = doctor_line(&lines, "database");
    assert!(
        database.starts_with("FAIL") && (database.contains("gazette init") || database.contains("gazette migrate")),
        "{lines:#?}"
    );
}
