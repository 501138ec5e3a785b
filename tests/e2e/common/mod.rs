//! Helpers for end-to-end tests: run the real `gazette` binary against a
//! throw-away SQLite or PostgreSQL database, start servers on ephemeral
//! ports, and poll (never sleep) until something holds.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use gazette_store::Backend;
use gazette_store::testing::TestDb;

pub mod fediverse;
pub mod remote;
pub mod sink;
pub mod smtp;

/// A 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// One instance's files and database; removed on drop.
pub struct Env {
    pub dir: PathBuf,
    pub backend: Backend,
    /// Keeps the PostgreSQL database alive (and drops it at the end).
    db: Option<TestDb>,
    database_url: String,
    extra_env: Vec<(String, String)>,
    /// Fixed port of a federated instance (see [`Env::federated`]).
    port: Option<u16>,
    /// The socket bound on that port, until a server takes it.
    listener: std::sync::Mutex<Option<std::net::TcpListener>>,
}

impl Env {
    /// `None` for PostgreSQL when it is not configured (and not required).
    pub async fn new(backend: Backend) -> Option<Env> {
        // reqwest is built without a TLS provider of its own (see gazette-federation).
        gazette_federation::install_crypto_provider();
        let dir = std::env::temp_dir().join(format!("gazette-e2e-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).unwrap();
        let (db, database_url) = match backend {
            Backend::Sqlite => (None, format!("sqlite://{}/data/gazette.db", dir.display())),
            Backend::Postgres => {
                let admin = TestDb::postgres_url()?;
                let (url, name) = TestDb::create_pg_database(&admin).await.unwrap();
                // Opened only to own the database's lifetime; the binary migrates it.
                let db = TestDb::postgres_existing(&admin, &url, &name).await;
                (Some(db), url)
            }
        };
        Some(Env {
            dir,
            backend,
            db,
            database_url,
            extra_env: Vec::new(),
            port: None,
            listener: std::sync::Mutex::new(None),
        })
    }

    /// The database every command of this instance uses, for tests that
    /// open it with the store API beside the binary.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.extra_env.push((key.into(), value.into()));
        self
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gazette"));
        cmd.current_dir(&self.dir)
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.join("data"))
            .env("GAZETTE_DATABASE__URL", &self.database_url)
            .env("GAZETTE_LOG__LEVEL", "warn")
            .env_remove("GAZETTE_CONFIG")
            .env_remove("GAZETTE_TEST_POSTGRES_URL")
            .env_remove("GAZETTE_TEST_REQUIRE_POSTGRES")
            .env_remove("RUST_LOG");
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs a command to completion (killed, failing the test, after
    /// [`COMMAND_LIMIT`]).
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::null());
        output_within(&mut cmd, &format!("gazette {}", args.join(" ")), COMMAND_LIMIT)
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "`gazette {}` failed:\nstdout: {}\nstderr: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command that must fail; returns its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "`gazette {}` should have failed:\nstdout: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `gazette user create ARGS… --password-stdin`, the password written to
    /// its standard input; panics with its error output when it fails.
    pub fn create_user(&self, args: &[&str], password: &str) {
        use std::io::Write;
        let mut full = vec!["user", "create"];
        full.extend_from_slice(args);
        full.push("--password-stdin");
        let mut child = self
            .command(&full)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "user create {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Makes this instance `http://localhost:PORT` for every command (the
    /// CLI must name actors as the server does) with private addresses
    /// allowed, as federation tests need: activitypub_federation refuses
    /// IP-literal hosts, and loopback is private. The port is bound here and
    /// kept until [`Env::serve_federated`] hands the socket to the server,
    /// so no other process can take it in between.
    pub fn federated(mut self) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        self.port = Some(port);
        *self.listener.get_mut().unwrap() = Some(listener);
        self.with_env("GAZETTE_INSTANCE__PUBLIC_URL", &format!("http://localhost:{port}"))
            .with_env("GAZETTE_FEDERATION__ALLOW_PRIVATE_ADDRESSES", "true")
    }

    /// Starts `gazette serve` on the port chosen by [`Env::federated`].
    pub fn serve_federated(&self, extra: &[&str]) -> Server {
        self.serve_federated_with(extra, &[])
    }

    /// [`Env::serve_federated`] with more environment for this server only
    /// (the CLI commands of this instance keep theirs).
    pub fn serve_federated_with(&self, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let port = self.port.expect("call Env::federated first");
        let mut args = vec!["serve", "--listen-stdin"];
        args.extend_from_slice(extra);
        let mut cmd = self.command(&args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        // The socket bound by `federated`, or, for a server started again
        // after one that has exited, the same port bound anew.
        let listener = self.listener.lock().unwrap().take().unwrap_or_else(|| {
            std::net::TcpListener::bind(("127.0.0.1", port))
                .unwrap_or_else(|e| panic!("port {port} of this instance's public URL: {e}"))
        });
        cmd.stdin(std::os::fd::OwnedFd::from(listener));
        let mut server = spawn_listening(cmd);
        server.base = format!("http://localhost:{port}");
        server
    }

    /// Starts `gazette serve` on an ephemeral port.
    pub fn serve(&self, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut child = self
            .command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let base = wait_listening(&mut child);
        Server { child, base }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        self.db.take();
    }
}

/// Spawns `gazette serve` and waits for its "listening on" line.
pub fn spawn_listening(mut cmd: Command) -> Server {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let base = wait_listening(&mut child);
    Server { child, base }
}

/// How long one CLI command of a test may run before it is killed.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(180);

/// How long `gazette serve` may take to print its "listening on" line.
const LISTEN_LIMIT: Duration = Duration::from_secs(90);

/// Waits for the "listening on URL" line of a started `gazette serve`;
/// kills it and fails the test if it exits first or stays silent past
/// [`LISTEN_LIMIT`].
fn wait_listening(child: &mut Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.trim().to_owned());
                return;
            }
        }
    });
    match rx.recv_timeout(LISTEN_LIMIT) {
        Ok(base) => base,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("gazette serve printed no \"listening on\" line within {LISTEN_LIMIT:?}");
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            let status = child.wait().unwrap();
            panic!("gazette serve exited before listening: {status}");
        }
    }
}

/// Runs `cmd` (standard input as the caller set it: inherited by default) to
/// completion and returns what it wrote; kills it and fails the test,
/// naming `what`, if it runs longer than `limit`.
pub fn output_within(cmd: &mut Command, what: &str, limit: Duration) -> Output {
    use std::io::Read;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{what}` did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// `Command::output` with a deadline ([`COMMAND_LIMIT`]), for commands a
/// test builds itself.
pub trait OutputBounded {
    fn output_bounded(&mut self) -> Output;
}

impl OutputBounded for Command {
    fn output_bounded(&mut self) -> Output {
        let what = format!("{self:?}");
        output_within(self.stdin(Stdio::null()), &what, COMMAND_LIMIT)
    }
}

/// A loopback port where nothing listens, for as long as this lives: its
/// socket is bound and never listens, so connections are refused and no
/// other process can take the port (a public URL that must not answer, an
/// SMTP server that is down).
pub struct ClosedPort {
    _socket: tokio::net::TcpSocket,
    pub port: u16,
}

impl ClosedPort {
    pub fn bind() -> ClosedPort {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = socket.local_addr().unwrap().port();
        ClosedPort { _socket: socket, port }
    }
}

/// A running `gazette serve`; killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A number no other call in this process returns (time-based, so unlikely in another).
pub fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ N.fetch_add(1, Ordering::Relaxed)
}

/// A remote `Person` as a follower's server would describe it (`name` may be empty).
pub fn remote_person(id: &str, name: &str) -> gazette_core::RemoteActor {
    let url = url::Url::parse(id).unwrap();
    gazette_core::RemoteActor {
        id: id.into(),
        kind: "Person".into(),
        preferred_username: id.rsplit('/').next().unwrap().into(),
        name: name.into(),
        host: url.host_str().unwrap().into(),
        inbox: format!("{id}/inbox"),
        shared_inbox: None,
        url: None,
        icon: None,
        public_key_id: format!("{id}#main-key"),
        public_key_pem: "PEM".into(),
        moved_to: None,
        refreshed_at: chrono::Utc::now(),
    }
}

/// The value a response's `Set-Cookie` gives cookie `name`.
pub fn cookie_value(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

/// An `application/x-www-form-urlencoded` body.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// Undoes the HTML escaping of attribute values and text (named and numeric entities).
pub fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let Some(end) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..end];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") || e.starts_with("#X") => {
                u32::from_str_radix(&e[2..], 16).ok().and_then(char::from_u32)
            }
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

pub fn last_line(s: &str) -> &str {
    s.trim_end().lines().last().unwrap_or("")
}

pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Instantiates each async test body once per backend.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread")] async fn $name() {
                if let Some(env) = super::common::Env::new(gazette_store::Backend::Sqlite).await { super::$name(env).await }
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread")] async fn $name() {
                if let Some(env) = super::common::Env::new(gazette_store::Backend::Postgres).await { super::$name(env).await }
            })*
        }
    };
}

/// What a child script wrote and how it ended (see [`run_with_deadline`]).
pub struct ScriptRun {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a child process (a Node script, say) with a hard deadline: its
/// output is streamed to the test's output line by line as it comes (so a
/// hang shows its last step at once), and the process is killed when the
/// deadline passes or the test ends, and the panic names the last lines it
/// printed.
pub async fn run_with_deadline(mut cmd: tokio::process::Command, what: &str, deadline: Duration) -> ScriptRun {
    use tokio::io::AsyncBufReadExt;
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut err = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut stdout, mut stderr) = (String::new(), String::new());
    let (mut out_open, mut err_open) = (true, true);
    let until = tokio::time::Instant::now() + deadline;
    while out_open || err_open {
        tokio::select! {
            line = out.next_line(), if out_open => match line {
                Ok(Some(l)) => { println!("[{what}] {l}"); stdout.push_str(&l); stdout.push('\n'); }
                _ => out_open = false,
            },
            line = err.next_line(), if err_open => match line {
                Ok(Some(l)) => { eprintln!("[{what}] {l}"); stderr.push_str(&l); stderr.push('\n'); }
                _ => err_open = false,
            },
            _ = tokio::time::sleep_until(until) => {
                let _ = child.kill().await;
                let tail: Vec<&str> = stdout.lines().chain(stderr.lines()).rev().take(15).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                panic!("{what} did not finish within {deadline:?}; its last lines:\n{}", tail.join("\n"));
            }
        }
    }
    let status = match tokio::time::timeout_at(until, child.wait()).await {
        Ok(status) => status.unwrap(),
        Err(_) => {
            let _ = child.kill().await;
            panic!("{what} closed its output but did not exit within {deadline:?}");
        }
    };
    ScriptRun {
        success: status.success(),
        stdout,
        stderr,
    }
}

/// How long a test's HTTP request may take before it fails.
pub const HTTP_LIMIT: Duration = Duration::from_secs(60);

/// An HTTP client builder for tests: every request fails after
/// [`HTTP_LIMIT`] instead of hanging the test.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(HTTP_LIMIT)
        .connect_timeout(Duration::from_secs(10))
}

/// A test HTTP client with [`HTTP_LIMIT`].
pub fn test_client() -> reqwest::Client {
    client_builder().build().unwrap()
}

/// `GET url` with [`HTTP_LIMIT`] (what `reqwest::get` does, bounded).
pub async fn http_get(url: impl reqwest::IntoUrl) -> reqwest::Result<reqwest::Response> {
    test_client().get(url).send().await
}
