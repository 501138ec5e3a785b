//! `gazette doctor`: checks an installation the way a sysadmin would, one
//! line per check (`OK`, `WARN` or `FAIL`, with what to do), and fails when
//! any check fails. It reads the database but changes nothing: no
//! migration, no key generation, no public URL recorded.

use std::path::Path;
use std::time::{Duration, SystemTime};

use chrono::Utc;
use gazette_delivery::SigningKey;
use gazette_federation::Urls;
use gazette_federation::keys::{INSTANCE_KEY, ORGANISATION_KEY};
use gazette_store::Store;
use gazette_web::DeliveryReport;

use crate::config::Config;
use crate::error::CliError;

/// Below this much free space on the data directory's file system: WARN.
const LOW_DISK_BYTES: u64 = 1024 * 1024 * 1024;
/// … or below this share of it.
const LOW_DISK_PERCENT: u64 = 5;
/// How long one network check may take.
const NET_TIMEOUT: Duration = Duration::from_secs(5);
/// Clock difference with the public URL's `Date` header: WARN above, FAIL
/// above the skew signatures tolerate.
const CLOCK_WARN_SECS: i64 = 30;
const CLOCK_FAIL_SECS: i64 = 300;
/// A delivery waiting longer than this (retries included): WARN.
const STALE_QUEUE_SECS: i64 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Ok,
    Warn,
    Fail,
}

/// How many checks failed so far (lines are printed as they come).
#[derive(Default)]
struct Report {
    failures: usize,
}

impl Report {
    fn line(&mut self, level: Level, check: &str, text: impl AsRef<str>) {
        let tag = match level {
            Level::Ok => "OK  ",
            Level::Warn => "WARN",
            Level::Fail => {
                self.failures += 1;
                "FAIL"
            }
        };
        println!("{tag} {check}: {}", text.as_ref());
    }
}

/// Prints the line for a configuration that does not load (the other checks
/// cannot run without it).
pub fn config_failed(error: &CliError) -> CliError {
    println!("FAIL config: {error} (fix the file or setting named, then run `gazette doctor` again)");
    CliError::Usage("doctor: 1 check failed".into())
}

/// `gazette doctor`.
pub async fn run(config: &Config) -> Result<(), CliError> {
    let mut report = Report::default();
    report.line(
        Level::Ok,
        "config",
        format!("loaded (data directory {})", config.server.data_dir.display()),
    );
    let store = database(config, &mut report).await;
    disk(config, &mut report);
    let mut public_url = config.instance.public_url.clone();
    let mut org = None;
    let mut instance_key = None;
    if let Some(store) = &store {
        public_url = recorded_url(config, store, &mut report).await.unwrap_or(public_url);
        instance_key = keys(store, &mut report).await;
        org = match store.find_organisation().await {
            Ok(Some(o)) => Some(o.username),
            Ok(None) => {
                report.line(
                    Level::Warn,
                    "organisation",
                    "no organisation profile yet: create it with `gazette init --org-name …` or at /admin",
                );
                None
            }
            Err(e) => {
                report.line(Level::Fail, "organisation", format!("cannot read it: {e}"));
                None
            }
        };
        queue(store, &mut report).await;
    }
    mail(config, &mut report).await;
    let urls = Urls::new(&public_url);
    let instance_key = instance_key.as_ref().map(|(f, p)| (f.as_str(), p.as_str()));
    public(&urls, org.as_deref(), instance_key, &mut report).await;
    if let Some(store) = store {
        store.close().await;
    }
    match report.failures {
        0 => Ok(()),
        n => Err(CliError::Usage(format!("doctor: {n} check(s) failed"))),
    }
}

/// Database reachable and migrations applied; the store is kept for the
/// checks that read it.
async fn database(config: &Config, report: &mut Report) -> Option<Store> {
    let url = config.database_url();
    if let Some(file) = crate::backup::sqlite_file(&url).filter(|f| !f.exists()) {
        report.line(
            Level::Fail,
            "database",
            format!(
                "no database at {} (run `gazette init`, or check --data-dir / server.data_dir)",
                file.display()
            ),
        );
        return None;
    }
    let store = match Store::connect(&url, 2).await {
        Ok(s) => s,
        Err(e) => {
            report.line(
                Level::Fail,
                "database",
                format!("cannot connect: {e} (check database.url and that the database server runs)"),
            );
            return None;
        }
    };
    match store.pending_migrations().await {
        Ok(p) if p.is_empty() => report.line(Level::Ok, "database", "reachable, migrations up to date"),
        Ok(p) => report.line(
            Level::Fail,
            "database",
            format!(
                "{} migration(s) not applied (first: {} {}): run `gazette migrate` (after a backup)",
                p.len(),
                p[0].version,
                p[0].description
            ),
        ),
        Err(e) => report.line(Level::Fail, "database", format!("cannot read the migrations: {e}")),
    }
    Some(store)
}

/// The recorded public URL, when it disagrees with the configured one: FAIL.
async fn recorded_url(config: &Config, store: &Store, report: &mut Report) -> Option<String> {
    match store.find_public_url().await {
        Ok(Some(r)) if config.instance.public_url_configured && r.url != config.instance.public_url => {
            report.line(
                Level::Fail,
                "public URL",
                format!(
                    "recorded {} but configured {}: set instance.public_url to the recorded one, \
                     or move on purpose with `gazette instance set-public-url`",
                    r.url, config.instance.public_url
                ),
            );
            Some(r.url)
        }
        Ok(Some(r)) => {
            report.line(Level::Ok, "public URL", &r.url);
            Some(r.url)
        }
        Ok(None) => {
            report.line(
                Level::Warn,
                "public URL",
                format!(
                    "none recorded yet (the first `gazette serve` records it); using {}",
                    config.instance.public_url
                ),
            );
            None
        }
        Err(e) => {
            report.line(Level::Fail, "public URL", format!("cannot read it: {e}"));
            None
        }
    }
}

/// Free space where the data directory lives.
fn disk(config: &Config, report: &mut Report) {
    let dir = &config.server.data_dir;
    if !dir.exists() {
        report.line(
            Level::Warn,
            "disk",
            format!("data directory {} does not exist (yet)", dir.display()),
        );
        return;
    }
    match free_space(dir) {
        Ok((free, total)) => {
            let percent = free.saturating_mul(100).checked_div(total).unwrap_or(100);
            let text = format!("{} free of {} ({percent}%) on {}", gib(free), gib(total), dir.display());
            if free < LOW_DISK_BYTES || percent < LOW_DISK_PERCENT {
                report.line(
                    Level::Warn,
                    "disk",
                    format!("{text}: free some space (old backups, logs) or grow the disk"),
                );
            } else {
                report.line(Level::Ok, "disk", text);
            }
        }
        Err(e) => report.line(Level::Warn, "disk", format!("cannot measure free space: {e}")),
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1024.0 * 1024.0 * 1024.0))
}

/// (available, total) bytes of the file system holding `dir`, from POSIX `df -P`.
fn free_space(dir: &Path) -> Result<(u64, u64), String> {
    let out = std::process::Command::new("df")
        .arg("-Pk")
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run df: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.lines().nth(1).unwrap_or("").split_whitespace().collect();
    let number = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (number(1), number(3)) {
        (Some(total), Some(avail)) => Ok((avail * 1024, total * 1024)),
        _ => Err(format!("unexpected df output: {text}")),
    }
}

/// The instance and organisation keys; the instance key (its key id
/// fragment and private PEM) is returned for the signed self-fetch.
async fn keys(store: &Store, report: &mut Report) -> Option<(String, String)> {
    let mut found = None;
    for (name, key) in [("instance", INSTANCE_KEY), ("organisation", ORGANISATION_KEY)] {
        match store.find_current_actor_key(key).await {
            Ok(Some(current)) => match SigningKey::from_pem("", &current.private_key_pem) {
                Ok(_) => {
                    report.line(Level::Ok, "keys", format!("{name} actor key present"));
                    if key == INSTANCE_KEY {
                        found = Some((current.key_fragment, current.private_key_pem));
                    }
                }
                Err(e) => report.line(
                    Level::Fail,
                    "keys",
                    format!("{name} actor key unusable: {e} (restore it from a backup)"),
                ),
            },
            Ok(None) => report.line(
                Level::Warn,
                "keys",
                format!("{name} actor has no key yet: `gazette serve` makes it on first use"),
            ),
            Err(e) => report.line(Level::Fail, "keys", format!("cannot read the {name} key: {e}")),
        }
    }
    found
}

/// Pending deliveries and open circuit breakers, as `gazette deliveries` counts them.
async fn queue(store: &Store, report: &mut Report) {
    let delivery = match DeliveryReport::load(store, Utc::now()).await {
        Ok(r) => r,
        Err(e) => {
            report.line(Level::Fail, "queue", format!("cannot read the delivery queue: {e}"));
            return;
        }
    };
    let t = &delivery.totals;
    let open: Vec<&str> = delivery
        .hosts
        .iter()
        .filter(|h| h.circuit_open_until.is_some())
        .map(|h| h.host.as_str())
        .take(5)
        .collect();
    let oldest = match store.find_oldest_waiting_delivery().await {
        Ok(o) => o,
        Err(e) => {
            report.line(Level::Fail, "queue", format!("cannot read the delivery queue: {e}"));
            return;
        }
    };
    let age = oldest.map(|o| (Utc::now() - o).num_seconds().max(0));
    let text = format!(
        "{} pending, {} retrying, {} given up, oldest waiting {}, {} host(s) with an open circuit breaker",
        t.pending,
        t.retrying,
        t.given_up,
        age.map_or_else(|| "none".to_owned(), |s| format!("{s}s")),
        t.open_circuits
    );
    if age.is_some_and(|s| s > STALE_QUEUE_SECS) {
        report.line(
            Level::Warn,
            "queue",
            format!(
                "{text}: a delivery has waited over an hour; is `gazette serve` running? `gazette deliveries` shows why"
            ),
        );
    } else if open.is_empty() {
        report.line(Level::Ok, "queue", text);
    } else {
        report.line(
            Level::Warn,
            "queue",
            format!(
                "{text} ({}): those servers failed repeatedly; `gazette deliveries` shows their last error",
                open.join(", ")
            ),
        );
    }
}

/// A TCP connection to the SMTP server, when `[mail]` is set.
async fn mail(config: &Config, report: &mut Report) {
    let mail = &config.mail;
    if mail.host.is_empty() {
        report.line(
            Level::Ok,
            "mail",
            "not configured (one-time links are printed, not mailed)",
        );
        return;
    }
    let addr = format!("{}:{}", mail.host, mail.port);
    match tokio::time::timeout(NET_TIMEOUT, tokio::net::TcpStream::connect(&addr)).await {
        Ok(Ok(_)) => report.line(Level::Ok, "mail", format!("{addr} accepts connections")),
        Ok(Err(e)) => report.line(
            Level::Fail,
            "mail",
            format!("cannot connect to {addr}: {e} (check mail.host and mail.port, and the firewall)"),
        ),
        Err(_) => report.line(
            Level::Fail,
            "mail",
            format!(
                "no answer from {addr} within {}s (check mail.host, mail.port and the firewall)",
                NET_TIMEOUT.as_secs()
            ),
        ),
    }
}

/// The checks through the public URL: reachability (`/healthz`), the clock,
/// WebFinger and a signed self-fetch of the organisation actor.
async fn public(urls: &Urls, org: Option<&str>, key: Option<(&str, &str)>, report: &mut Report) {
    let http = gazette_http::HttpConfig {
        allow_private_addresses: true,
        connect_timeout: NET_TIMEOUT,
        request_timeout: NET_TIMEOUT,
        ..gazette_http::HttpConfig::new(urls.base())
    };
    let client = match gazette_http::build_client(&http) {
        Ok(c) => c,
        Err(e) => {
            report.line(Level::Fail, "public URL", format!("cannot set up the HTTP client: {e}"));
            return;
        }
    };
    let healthz = urls.url("/healthz");
    let response = match client.get(&healthz).send().await {
        Ok(r) => r,
        Err(e) => {
            report.line(
                Level::Fail,
                "reachable",
                format!(
                    "{healthz}: {} (is `gazette serve` running, and does the reverse proxy forward to it?)",
                    gazette_http::error_chain(&e)
                ),
            );
            return;
        }
    };
    let status = response.status();
    let date = response
        .headers()
        .get("date")
        .and_then(|d| d.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d).ok());
    if status.is_success() {
        report.line(Level::Ok, "reachable", format!("{healthz} answers {status}"));
    } else {
        report.line(
            Level::Fail,
            "reachable",
            format!("{healthz} answers {status} (see the server's log: the database may be read-only or full)"),
        );
    }
    clock(date, report);
    let Some(org) = org else {
        return;
    };
    let actor = urls.actor(org);
    webfinger(&client, urls, org, &actor, report).await;
    match key {
        Some(key) => self_fetch(&client, urls, &actor, key, report).await,
        None => report.line(
            Level::Warn,
            "signed fetch",
            "skipped: the instance actor has no key yet",
        ),
    }
}

fn clock(date: Option<SystemTime>, report: &mut Report) {
    let Some(date) = date else {
        report.line(Level::Warn, "clock", "skipped: the answer had no Date header");
        return;
    };
    let theirs = chrono::DateTime::<Utc>::from(date);
    let diff = (Utc::now() - theirs).num_seconds().abs();
    let text = format!("{diff}s from the server's Date header");
    if diff > CLOCK_FAIL_SECS {
        report.line(
            Level::Fail,
            "clock",
            format!("{text}: signatures will be refused; run NTP (systemd-timesyncd or chrony) on both machines"),
        );
    } else if diff > CLOCK_WARN_SECS {
        report.line(
            Level::Warn,
            "clock",
            format!("{text}: run NTP (systemd-timesyncd or chrony)"),
        );
    } else {
        report.line(Level::Ok, "clock", text);
    }
}

async fn webfinger(client: &gazette_http::Client, urls: &Urls, org: &str, actor: &str, report: &mut Report) {
    let resource = format!("acct:{org}@{}", urls.host());
    let url = format!("{}/.well-known/webfinger?resource={resource}", urls.base());
    let body = match client.get(&url).send().await {
        Ok(r) if r.status().is_success() => r.json::<serde_json::Value>().await.ok(),
        Ok(r) => {
            report.line(Level::Fail, "webfinger", format!("{url} answers {}", r.status()));
            return;
        }
        Err(e) => {
            report.line(
                Level::Fail,
                "webfinger",
                format!("{url}: {}", gazette_http::error_chain(&e)),
            );
            return;
        }
    };
    let links_to_actor = body
        .as_ref()
        .and_then(|b| b.get("links"))
        .and_then(|l| l.as_array())
        .is_some_and(|links| {
            links
                .iter()
                .any(|l| l.get("href").and_then(|h| h.as_str()) == Some(actor))
        });
    if links_to_actor {
        report.line(Level::Ok, "webfinger", format!("{resource} → {actor}"));
    } else {
        report.line(
            Level::Fail,
            "webfinger",
            format!("{resource} does not link to {actor}: does the proxy forward /.well-known/ to Gazette?"),
        );
    }
}

/// GETs the organisation actor signed with the instance key. The answer's id
/// must be the URL asked for; a server with authorized fetch on also checks
/// the signature against the `Host` it receives, so a proxy that rewrites
/// `Host` fails here.
async fn self_fetch(
    client: &gazette_http::Client,
    urls: &Urls,
    actor: &str,
    (fragment, pem): (&str, &str),
    report: &mut Report,
) {
    const HINT: &str = "check that the reverse proxy passes the Host header with its port (nginx: `proxy_set_header Host $http_host`) and `X-Forwarded-Proto`";
    let signed = url::Url::parse(actor).map_err(|e| e.to_string()).and_then(|url| {
        let key_id = urls.key_id_with(&urls.instance_actor(), fragment);
        let key = SigningKey::from_pem_with_key_id(&key_id, pem).map_err(|e| e.to_string())?;
        key.sign_get(&url, SystemTime::now()).map_err(|e| e.to_string())
    });
    let signed = match signed {
        Ok(s) => s,
        Err(e) => {
            report.line(
                Level::Fail,
                "signed fetch",
                format!("cannot sign a GET of {actor}: {e}"),
            );
            return;
        }
    };
    let response = client
        .get(actor)
        .header("accept", "application/activity+json")
        .header("date", &signed.date)
        .header("signature", &signed.signature)
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => {
            report.line(
                Level::Fail,
                "signed fetch",
                format!("{actor}: {}", gazette_http::error_chain(&e)),
            );
            return;
        }
    };
    let status = response.status();
    if !status.is_success() {
        report.line(
            Level::Fail,
            "signed fetch",
            format!("{actor} answers {status} to a GET signed by the instance actor: {HINT}"),
        );
        return;
    }
    let id = response
        .json::<serde_json::Value>()
        .await
        .ok()
        .and_then(|b| b.get("id").and_then(|i| i.as_str()).map(str::to_owned));
    if id.as_deref() == Some(actor) {
        report.line(Level::Ok, "signed fetch", format!("{actor} answers with its own id"));
    } else {
        report.line(
            Level::Fail,
            "signed fetch",
            format!("{actor} answers with id {}: {HINT}", id.as_deref().unwrap_or("(none)")),
        );
    }
}
