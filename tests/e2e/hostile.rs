//! Hostile clients against a real `gazette serve` on loopback: a huge
//! anonymous upload is refused before it is read, sign-in attempts sent all
//! at once are counted before any password is checked, a client that sends
//! its headers a byte at a time is cut off, one connection too many is
//! answered 503, and an API token stops working when its owner is disabled.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::{Env, Server, cookie_value, form_body};
use gazette_store::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PASSWORD: &str = "correct horse battery staple";

fn client() -> reqwest::Client {
    common::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn address(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Reads what the server sends until it closes the connection or `limit`
/// passes; `None` when it was still open then.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

/// Reads one response's head (status line and headers).
async fn read_head(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 1];
    let deadline = Instant::now() + Duration::from_secs(30);
    while !got.ends_with(b"\r\n\r\n") {
        assert!(
            Instant::now() < deadline,
            "no response head: {:?}",
            String::from_utf8_lossy(&got)
        );
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed before a response: {:?}", String::from_utf8_lossy(&got));
        got.push(buf[0]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn a_huge_anonymous_upload_is_refused_unread() {
    let env = Env::new(Backend::Sqlite).await.unwrap();
    let server = env.serve(&[]);
    for path in [
        "/admin/media",
        "/admin/articles/new",
        "/admin/organisation/logo",
        "/admin/authors/someone/avatar",
        "/api/media",
    ] {
        let mut stream = TcpStream::connect(address(&server)).await.unwrap();
        // 1,000 MB announced, a few bytes sent: the answer must come
        // without the rest (before, the whole body was read first).
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: 1000000000\r\n\r\nalt=a",
            address(&server)
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let started = Instant::now();
        let head = read_head(&mut stream).await;
        let status = head.split(' ').nth(1).unwrap();
        assert!(matches!(status, "413" | "401"), "{path}: {head}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{path}: answered only after {:?}",
            started.elapsed()
        );
    }
}

/// The same without a length (chunked) and with a session cookie that is no
/// longer valid: read only up to the bound for a post without a session,
/// then refused (before, all of it was read).
#[tokio::test]
async fn an_endless_upload_with_an_ended_session_is_cut_short() {
    let env = Env::new(Backend::Sqlite).await.unwrap();
    let server = env.serve(&[]);
    let stream = TcpStream::connect(address(&server)).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /admin/media HTTP/1.1\r\nHost: {}\r\nCookie: gazette_session=ended\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n",
        address(&server)
    );
    const TOTAL: usize = 400 * 1024 * 1024;
    let sender = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await.unwrap();
        let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "a".repeat(64 * 1024));
        let mut sent = 0;
        while sent < TOTAL {
            if writer.write_all(chunk.as_bytes()).await.is_err() {
                break;
            }
            sent += 64 * 1024;
        }
        sent
    });
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(60), reader.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        assert!(n > 0, "closed without an answer");
        got.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8_lossy(&got).into_owned();
    assert!(
        answer.starts_with("HTTP/1.1 401") || answer.starts_with("HTTP/1.1 413"),
        "{answer}"
    );
    drop(reader);
    let sent = sender.await.unwrap();
    assert!(sent < 100 * 1024 * 1024, "{sent} bytes were taken before the answer");
}

/// Sixty wrong passwords at once for one account with a limit of five:
/// at most five are checked (401), the rest refused unchecked (429), or
/// turned away while the password checks are busy (503). Before, the count
/// was read before the check and written after it, and 59 were checked.
#[tokio::test]
async fn concurrent_sign_ins_cannot_outrun_the_limit() {
    let env = Env::new(Backend::Sqlite).await.unwrap();
    env.create_user(&["marie", "--role", "admin"], PASSWORD);
    let server = env.serve(&[]);
    let http = client();
    let form = http.get(server.url("/admin/login")).send().await.unwrap();
    let token = cookie_value(&form, "gazette_form").unwrap();

    let attempt = |username: String, forwarded: String| {
        let http = http.clone();
        let url = server.url("/admin/login");
        let token = token.clone();
        async move {
            let body = form_body(&[
                ("_csrf", token.as_str()),
                ("username", username.as_str()),
                ("password", "not the password at all"),
                ("next", "/admin"),
            ]);
            http.post(url)
                .header("cookie", format!("gazette_form={token}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-forwarded-for", forwarded)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let tally = |statuses: Vec<u16>| {
        let count = |s: u16| statuses.iter().filter(|x| **x == s).count();
        assert_eq!(
            count(401) + count(429) + count(503),
            statuses.len(),
            "unexpected answers: {statuses:?}"
        );
        count(401)
    };

    // One account, sixty addresses.
    let one_account: Vec<_> = (0..60)
        .map(|i| tokio::spawn(attempt("marie".into(), format!("192.0.2.{i}"))))
        .collect();
    let mut statuses = Vec::new();
    for t in one_account {
        statuses.push(t.await.unwrap());
    }
    let checked = tally(statuses);
    assert!(
        (1..=5).contains(&checked),
        "{checked} passwords checked for one account"
    );

    // One address, three hundred accounts.
    let one_address: Vec<_> = (0..300)
        .map(|i| tokio::spawn(attempt(format!("user{i}"), "198.51.100.7".into())))
        .collect();
    let mut statuses = Vec::new();
    for t in one_address {
        statuses.push(t.await.unwrap());
    }
    let checked = tally(statuses);
    assert!(
        (1..=20).contains(&checked),
        "{checked} passwords checked from one address"
    );
}

/// A client that sends its request a byte at a time is disconnected once
/// the header read timeout passes (before, it held the connection forever).
#[tokio::test]
async fn slow_headers_are_cut_off() {
    let env = Env::new(Backend::Sqlite)
        .await
        .unwrap()
        .with_env("GAZETTE_SERVER__HEADER_READ_TIMEOUT_SECONDS", "2");
    let server = env.serve(&[]);
    let mut stream = TcpStream::connect(address(&server)).await.unwrap();
    let request = format!("GET / HTTP/1.1\r\nHost: {}\r\nX-Slow: ", address(&server));
    let started = Instant::now();
    let mut closed = false;
    for byte in request.bytes().chain(std::iter::repeat(b'a')) {
        if stream.write_all(&[byte]).await.is_err() {
            closed = true;
            break;
        }
        // One byte every half second, as a slow-loris client sends them;
        // see whether the server has hung up meanwhile.
        if let Some(rest) = read_until_closed(&mut stream, Duration::from_millis(500)).await {
            assert!(!rest.contains("200 OK"), "{rest}");
            closed = true;
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            break;
        }
    }
    assert!(closed, "still connected after {:?}", started.elapsed());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "cut off only after {:?}",
        started.elapsed()
    );
}

/// With room for two connections both answering something (a sign-in
/// form whose body is still coming), a third is answered 503 with
/// `Retry-After` and closed; once one of the two goes, a new one is served.
#[tokio::test]
async fn one_connection_too_many_gets_503() {
    let (_env, server) = two_connection_server().await;
    let request = healthz_request(&server);
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(busy_connection(&server).await);
    }
    let mut third = TcpStream::connect(address(&server)).await.unwrap();
    third.write_all(request.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut third, Duration::from_secs(30)).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after: "), "{answer}");

    drop(held.pop());
    common::eventually("a free connection slot", Duration::from_secs(30), || async {
        let mut s = TcpStream::connect(address(&server)).await.ok()?;
        s.write_all(request.as_bytes()).await.ok()?;
        read_head(&mut s).await.starts_with("HTTP/1.1 200").then_some(())
    })
    .await;
}

/// With room for two connections both answering, a third waits a moment
/// instead of being turned away: the first of the two to finish its answer
/// closes and gives it its place.
#[tokio::test]
async fn a_new_connection_gets_the_place_of_one_that_finishes() {
    let (_env, server) = two_connection_server().await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(busy_connection(&server).await);
    }
    let mut third = TcpStream::connect(address(&server)).await.unwrap();
    let request = healthz_request(&server);
    third.write_all(request.as_bytes()).await.unwrap();
    // The first sign-in form's body ends: its answer comes, then its place goes.
    held[0].write_all(&[b'x'; 90]).await.unwrap();
    let answer = read_until_closed(&mut held[0], Duration::from_secs(30)).await;
    assert!(
        answer.is_some_and(|a| a.contains("HTTP/1.1 ")),
        "the finished form is answered and closed"
    );
    let head = read_head(&mut third).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

/// A server with room for two connections (the environment keeps its
/// directory while it runs).
async fn two_connection_server() -> (Env, Server) {
    let env = Env::new(Backend::Sqlite)
        .await
        .unwrap()
        .with_env("GAZETTE_SERVER__MAX_CONNECTIONS", "2");
    let server = env.serve(&[]);
    (env, server)
}

fn healthz_request(server: &Server) -> String {
    format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", address(server))
}

/// A connection whose request is being answered: a sign-in form announced
/// with `Expect: 100-continue`, whose body is sent only in part once the
/// server asked for it (so its handler is running, waiting for the rest).
async fn busy_connection(server: &Server) -> TcpStream {
    let mut s = TcpStream::connect(address(server)).await.unwrap();
    let head = format!(
        "POST /admin/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 100\r\nExpect: 100-continue\r\n\r\n",
        address(server)
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let continue_head = read_head(&mut s).await;
    assert!(continue_head.starts_with("HTTP/1.1 100"), "{continue_head}");
    s.write_all(b"username=a").await.unwrap();
    s
}

/// With room for two connections kept alive between requests (as every
/// server fetching a preview leaves one), a third is served: the oldest
/// idle one is closed to make room for it.
#[tokio::test]
async fn idle_connections_make_room_for_a_new_one() {
    let (_env, server) = two_connection_server().await;
    let request = healthz_request(&server);
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(address(&server)).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let head = read_head(&mut s).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        held.push(s);
    }
    let mut third = TcpStream::connect(address(&server)).await.unwrap();
    third.write_all(request.as_bytes()).await.unwrap();
    let head = read_head(&mut third).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // The first one was closed for it (what is left of its answer, then the end).
    let oldest = &mut held[0];
    assert!(
        read_until_closed(oldest, Duration::from_secs(30)).await.is_some(),
        "the oldest idle connection is still open"
    );
    // The newer one still serves.
    let newer = &mut held[1];
    newer.write_all(request.as_bytes()).await.unwrap();
    // (After the rest of its first answer's body.)
    let head = read_head(newer).await;
    assert!(head.contains("HTTP/1.1 200"), "{head}");
}

/// Past `server.keep_alive_connections` open, a connection answers with
/// `Connection: close` and closes (a crowd of servers each fetching a
/// preview once does not stay connected); the ones within it stay open.
#[tokio::test]
async fn connections_past_the_keep_alive_budget_close_after_answering() {
    let env = Env::new(Backend::Sqlite)
        .await
        .unwrap()
        .with_env("GAZETTE_SERVER__KEEP_ALIVE_CONNECTIONS", "1");
    let server = env.serve(&[]);
    let request = healthz_request(&server);
    let mut first = TcpStream::connect(address(&server)).await.unwrap();
    first.write_all(request.as_bytes()).await.unwrap();
    let head = read_head(&mut first).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(!head.to_ascii_lowercase().contains("connection: close"), "{head}");

    let mut second = TcpStream::connect(address(&server)).await.unwrap();
    second.write_all(request.as_bytes()).await.unwrap();
    let head = read_head(&mut second).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains("connection: close"), "{head}");
    assert!(
        read_until_closed(&mut second, Duration::from_secs(30)).await.is_some(),
        "the connection past the budget is still open"
    );

    // The first one, within the budget, still serves.
    first.write_all(request.as_bytes()).await.unwrap();
    let head = read_head(&mut first).await;
    assert!(head.contains("HTTP/1.1 200"), "{head}");
}

/// A token made for a user stops working when `gazette user disable`
/// disables them (before, tokens had no owner and kept working).
#[tokio::test]
async fn tokens_die_with_their_owner() {
    let env = Env::new(Backend::Sqlite).await.unwrap();
    env.create_user(&["alice", "--role", "admin"], PASSWORD);
    env.create_user(&["bob", "--role", "admin"], PASSWORD);
    let out = env.ok(&["token", "create", "alice-ci", "--user", "alice", "--expires-days", "30"]);
    let secret = common::last_line(&out).trim().to_owned();
    let server = env.serve(&[]);
    let http = client();
    let get = || http.get(server.url("/api/articles")).bearer_auth(&secret).send();
    assert_eq!(get().await.unwrap().status(), 200);
    let listed = env.ok(&["token", "list"]);
    let row = listed.lines().find(|l| l.contains("alice-ci")).unwrap();
    assert!(row.split_whitespace().any(|w| w == "alice"), "{listed}");
    assert!(row.split_whitespace().any(|w| w == "-"), "not revoked yet: {row}");

    env.ok(&["user", "disable", "alice"]);
    assert_eq!(get().await.unwrap().status(), 401);
    let listed = env.ok(&["token", "list"]);
    let row = listed.lines().find(|l| l.contains("alice-ci")).unwrap();
    // Every column filled in: created, expires, last used, revoked.
    assert!(!row.split_whitespace().any(|w| w == "-"), "not revoked: {row}");
    // A token for a disabled user cannot be made.
    let refused = env.fails(&["token", "create", "again", "--user", "alice"]);
    assert!(refused.contains("disabled"), "{refused}");
}
