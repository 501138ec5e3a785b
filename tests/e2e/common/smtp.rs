//! A small SMTP server on loopback for tests: it answers EHLO, MAIL, RCPT,
//! DATA and QUIT as a real server would (RFC 5321 replies, dot-unstuffing)
//! and records every accepted message. No TLS: Gazette allows `tls = "none"`
//! only for a loopback relay, which is what this is.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// Headers and body as sent after DATA.
    pub data: String,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        let (head, _) = self.data.split_once("\r\n\r\n")?;
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The body, decoded when it is in base64.
    pub fn text(&self) -> String {
        let (_, body) = self.data.split_once("\r\n\r\n").unwrap_or(("", &self.data));
        if self
            .header("Content-Transfer-Encoding")
            .is_some_and(|e| e.eq_ignore_ascii_case("base64"))
        {
            let joined: String = body.lines().map(str::trim).collect();
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(joined).unwrap()).unwrap()
        } else {
            body.to_owned()
        }
    }
}

pub struct SmtpServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl SmtpServer {
    /// Listens on 127.0.0.1 on an ephemeral port, for as long as the test runs.
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = session(sock, store).await;
                });
            }
        });
        SmtpServer { port, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (polling, with a deadline) for a message to `to`.
    pub async fn message_to(&self, to: &str) -> Received {
        super::eventually(&format!("a mail to {to}"), Duration::from_secs(20), || async {
            self.received().into_iter().find(|m| m.rcpt_to.iter().any(|r| r == to))
        })
        .await
    }
}

async fn session(sock: tokio::net::TcpStream, store: Arc<Mutex<Vec<Received>>>) -> std::io::Result<()> {
    let (read, mut write) = sock.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 test.local ESMTP ready\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-test.local greets you\r\n250-8BITMIME\r\n250 SIZE 10000000\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().trim_matches(['<', '>']).to_owned();
            b"250 sender ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
            b"250 recipient ok\r\n"
        } else if upper.starts_with("DATA") {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if lines.read_line(&mut l).await? == 0 {
                    return Ok(());
                }
                if l == ".\r\n" {
                    break;
                }
                // Dot-unstuffing (RFC 5321, 4.5.2).
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
            }
            store.lock().unwrap().push(Received {
                mail_from: std::mem::take(&mut from),
                rcpt_to: std::mem::take(&mut to),
                data,
            });
            b"250 queued\r\n"
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 command not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}

/// A message as aiosmtpd (tests/smtp/sink.py) received and parsed it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Stored {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub headers: Vec<(String, String)>,
    pub parts: Vec<StoredPart>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct StoredPart {
    pub content_type: String,
    pub text: String,
}

impl Stored {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The decoded text of the first part of this type.
    pub fn part(&self, content_type: &str) -> Option<&str> {
        self.parts
            .iter()
            .find(|p| p.content_type == content_type)
            .map(|p| p.text.as_str())
    }
}

/// A real SMTP server, aiosmtpd from PyPI, on loopback: installed into
/// tests/smtp/.venv by scripts/test (and .ci/run). Every accepted message
/// is a JSON file in a directory of its own; the process ends when this
/// value is dropped (its standard input closes, and it is killed).
pub struct Aiosmtpd {
    pub port: u16,
    dir: std::path::PathBuf,
    child: tokio::process::Child,
}

impl Aiosmtpd {
    /// The virtualenv's Python, with aiosmtpd.
    pub fn python() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/smtp/.venv/bin/python")
    }

    pub async fn start() -> Aiosmtpd {
        Self::start_with(&[]).await
    }

    pub async fn start_with(extra: &[&str]) -> Aiosmtpd {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let python = Self::python();
        assert!(
            python.exists(),
            "aiosmtpd is not installed: run scripts/test, or python3 -m venv tests/smtp/.venv && \
             tests/smtp/.venv/bin/pip install -r tests/smtp/requirements.txt"
        );
        let dir = std::env::temp_dir().join(format!("gazette-smtp-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = tokio::process::Command::new(python)
            .arg(root.join("tests/smtp/sink.py"))
            .arg("--dir")
            .arg(&dir)
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("aiosmtpd did not start within 30 s")
            .unwrap()
            .expect("aiosmtpd exited before listening");
        let port = line.strip_prefix("port ").unwrap().trim().parse().unwrap();
        Aiosmtpd { port, dir, child }
    }

    /// Every message received so far, in the order received.
    pub fn received(&self) -> Vec<Stored> {
        let mut names: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }

    /// Messages to `to`.
    pub fn to(&self, to: &str) -> Vec<Stored> {
        self.received()
            .into_iter()
            .filter(|m| m.rcpt_tos.iter().any(|r| r == to))
            .collect()
    }

    /// Waits (polling, with a deadline) for a message to `to` matching `f`.
    pub async fn wait_for(&self, to: &str, what: &str, f: impl Fn(&Stored) -> bool) -> Stored {
        super::eventually(&format!("{what} to {to}"), Duration::from_secs(30), || async {
            self.to(to).into_iter().find(|m| f(m))
        })
        .await
    }

    /// What `--count-only` counted (written every 1,000 messages).
    pub fn counted(&self) -> u64 {
        std::fs::read_to_string(self.dir.join("count"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
