//! A `gazette serve --demo` for the benchmarks of this folder that drive
//! the real binary (bench_delivery, bench_stampede; included by path): a
//! fresh data directory, a loopback port, its CLI beside it, an API
//! token, and the process killed on drop.

// Each benchmark uses what it needs of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The server and where it runs; killed (and its directory removed) on drop.
pub(crate) struct Gazette {
    child: Child,
    bin: PathBuf,
    dir: PathBuf,
    database_url: String,
    /// The address it listens on.
    pub(crate) listen: SocketAddr,
    /// Its public URL, `http://localhost:PORT`.
    pub(crate) public: String,
}

impl Gazette {
    /// Starts `bin serve --demo` on `database_url` (an empty database), in
    /// a directory of its own named after `name`, and waits until it listens.
    pub(crate) fn start(bin: &Path, database_url: &str, name: &str) -> Result<Gazette, BoxError> {
        // Commands run in the directory: a relative path would not resolve there.
        let bin = std::fs::canonicalize(bin)?;
        let dir = std::env::temp_dir().join(format!("gazette-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        // Bound here and handed over, so no one else can take the port first.
        let socket = std::net::TcpListener::bind("127.0.0.1:0")?;
        let listen = socket.local_addr()?;
        let public = format!("http://localhost:{}", listen.port());
        let serve = ["serve", "--demo", "--listen-stdin", "--public-url", &public];
        let mut child = cli(&bin, &dir, database_url, &serve)
            .stdin(Stdio::from(std::os::fd::OwnedFd::from(socket)))
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no standard output")?;
        let gazette = Gazette {
            child,
            bin,
            dir,
            database_url: database_url.to_owned(),
            listen,
            public,
        };
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.starts_with("listening on ") => break,
                Some(Ok(_)) => {}
                _ => return Err("gazette serve exited before listening".into()),
            }
        }
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Ok(gazette)
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A CLI command on the same database and data directory.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        cli(&self.bin, &self.dir, &self.database_url, args)
    }

    /// The directory commands run in (for files they read).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new admin API token.
    pub(crate) fn token(&self) -> Result<String, BoxError> {
        let out = self.command(&["token", "create", "bench"]).output()?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .trim_end()
            .lines()
            .last()
            .unwrap_or_default()
            .to_owned())
    }
}

/// `bin ARGS` on `database_url`, with `dir` as its data directory's parent
/// and working directory, allowed to reach loopback peers, quiet.
fn cli(bin: &Path, dir: &Path, database_url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("GAZETTE_DATABASE__URL", database_url)
        .env("GAZETTE_FEDERATION__ALLOW_PRIVATE_ADDRESSES", "true")
        .env("GAZETTE_LOG__LEVEL", "error")
        .env_remove("GAZETTE_CONFIG")
        .env_remove("GAZETTE_TEST_POSTGRES_URL")
        .current_dir(dir);
    cmd
}

impl Drop for Gazette {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
