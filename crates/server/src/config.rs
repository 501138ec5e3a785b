//! Configuration: built-in defaults, then an optional TOML file, then
//! `GAZETTE_<SECTION>__<KEY>` environment variables; the CLI overrides last.
//!
//! Every key is listed once in [`KEYS`] with the setter that parses and checks
//! it. Unknown keys are collected as warnings rather than refused, so a config
//! written for a newer Gazette still starts an older one; a known key with a
//! wrong value is an error naming the key (and the variable, for the env).
//!
//! This file holds the typed configuration and its defaults; `keys` lists
//! the keys and their setters, `load` reads the file and the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use gazette_core::Language;
use gazette_core::local_time::Tz;
use gazette_federation::signatures::knock::SignaturePolicy;
use gazette_federation::{CommentPolicy, FederationMode};
use gazette_web::mail::MailTls;
use serde::Serialize;

/// The variable the CLI reads the config file path from. It is not a config
/// key, so the loader must not warn about it.
pub const CONFIG_FILE_ENV: &str = "GAZETTE_CONFIG";

const ENV_PREFIX: &str = "GAZETTE_";

mod keys;
mod load;

pub use keys::{KEYS, Key, check_database_url, normalise_public_url};
pub use load::{load, load_str};

/// Everything the server can be configured with. Fields are plain and public
/// so the CLI can apply its flags after loading.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Config {
    pub instance: InstanceConfig,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub media: MediaConfig,
    pub theme: ThemeConfig,
    pub federation: FederationConfig,
    pub admin: AdminConfig,
    pub network: NetworkConfig,
    pub mail: MailConfig,
    pub log: LogConfig,
    pub metrics: MetricsConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceConfig {
    /// Origin the instance is reached at, without trailing slash, e.g.
    /// `https://news.example.org`. Every public link and ActivityPub id
    /// starts with it. Until the instance's recorded URL is settled (see
    /// `crate::identity`), the configured one or the built-in default.
    pub public_url: String,
    /// Whether `public_url` was given (config file, environment or flag)
    /// rather than left at its default. Not a key: a written config that
    /// names `public_url` reads back as configured.
    #[serde(skip)]
    pub public_url_configured: bool,
    pub name: String,
    pub default_language: Language,
    /// The time zone the admin shows and reads times in (an IANA name as
    /// the tz database spells it), unless a user chose their own.
    #[serde(serialize_with = "zone_name")]
    pub time_zone: Tz,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Where the SQLite database and uploaded media live by default.
    pub data_dir: PathBuf,
    /// A connection whose request headers take longer is closed.
    pub header_read_timeout_seconds: u64,
    /// A request taking longer (its body included) answers 503.
    pub request_timeout_seconds: u64,
    /// Open connections at most; one more gets a 503 and is closed.
    pub max_connections: u64,
    /// Connections kept open between requests: past this many open, each
    /// closes after its answer; 0: none kept.
    pub keep_alive_connections: u64,
    /// Requests handled at once at most; past it, 503 with `Retry-After`.
    pub max_in_flight: u64,
    /// Inbox posts one remote server may have in progress; past it, 429.
    pub max_inbox_per_host: u64,
    /// Bytes of whole public answers kept in memory; 0: no cache.
    pub response_cache_bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DatabaseConfig {
    /// `sqlite:…`, `postgres:…` or `postgresql:…`; `None` means SQLite in
    /// `data_dir` (see [`Config::database_url`]).
    pub url: Option<String>,
    /// Connections kept open at most; `None`: see [`DatabaseConfig::connections`].
    pub max_connections: Option<u32>,
}

impl DatabaseConfig {
    /// The connections to open at most for `url`: the configured number,
    /// else on SQLite (where they are the readers) one per core, from 2 to
    /// 8, and 8 on PostgreSQL. A SQLite reader runs on the core that asked:
    /// more readers than cores read no faster (the coordinator's ingest took
    /// as many articles per second with 2 as with 8 on 2 cores) but each
    /// keeps a thread, SQLite's copy of the schema and its own page cache
    /// (the preview stampede's peak was 64–66 MiB with 2 against 84 with 8,
    /// when each reader also mapped the file; docs/benchmarks.md).
    pub fn connections(&self, url: &str) -> u32 {
        match self.max_connections {
            Some(n) => n,
            None if url.starts_with("sqlite:") => std::thread::available_parallelism()
                .map_or(2, |n| u32::try_from(n.get()).unwrap_or(8))
                .clamp(2, 8),
            None => 8,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MediaConfig {
    pub max_upload_bytes: u64,
    /// Images with more pixels (width × height) are refused.
    pub max_image_pixels: u64,
    /// Images wider or taller than this are refused.
    pub max_image_side: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThemeConfig {
    /// Folder whose `templates/` and `static/` override the built-in ones.
    pub dir: Option<PathBuf>,
    /// `#rrggbb`, lower case.
    pub primary_color: String,
    /// `#rrggbb`, lower case.
    pub accent_color: String,
    /// Extra text shown in the page footer.
    pub footer: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FederationConfig {
    /// Whether remote actors may resolve to loopback or private network
    /// addresses (only for local testing).
    pub allow_private_addresses: bool,
    /// The unit of the delivery retry schedule, in milliseconds: one second
    /// in production. Tests shrink it to run the real schedule quickly.
    pub delivery_backoff_unit_ms: u64,
    /// The delivery worker's longest sleep, in seconds: a fallback, since
    /// the database's change watch wakes it within a moment of any write.
    pub delivery_poll_seconds: u64,
    /// Followers of the organisation and authors wait for approval.
    pub manually_approves_followers: bool,
    /// Who sees replies at once: `open`, `followers_only` or `moderated`.
    pub comment_policy: CommentPolicy,
    /// Who may quote articles that set no policy of their own (FEP-044f):
    /// `everyone`, `followers` or `nobody`.
    pub quote_policy: gazette_federation::QuotePolicy,
    /// `open` (everyone but blocked domains) or `allowlist` (only the
    /// domains on the allowlist: a closed network).
    pub mode: FederationMode,
    /// AS2 documents answer only signed GETs (Mastodon's secure mode).
    pub authorized_fetch: bool,
    /// How deliveries and signed GETs are signed: `double-knock` (RFC 9421
    /// first, draft-cavage after a refusal, remembered per host),
    /// `rfc9421` or `draft-cavage`.
    pub signature: SignaturePolicy,
    /// Days the old keys (RSA and Ed25519) stay served after `gazette keys rotate` (0: retired at once).
    pub key_grace_days: u64,
    /// Seconds a remote Ed25519 key (one that verified a proof) is used
    /// from the store before it is read again from its controller, so a
    /// key its owner retired stops vouching here (default a day).
    pub remote_key_check_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdminConfig {
    /// A signed-in session ends after this many minutes without a request.
    pub session_idle_minutes: u64,
    /// How long a `gazette user reset-password` link works.
    pub reset_link_hours: u64,
    /// Password checks (argon2, 19 MiB each) running at once at most.
    pub password_checks: u64,
}

/// Optional SMTP for mailing one-time password links. Empty `host`: off.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MailConfig {
    pub host: String,
    pub port: u64,
    /// `starttls`, `tls` or `none` (a relay on this machine only).
    pub tls: MailTls,
    pub username: String,
    pub password: String,
    /// The sender, `news@coop.example` or `Coop news <news@coop.example>`.
    pub from: String,
    pub timeout_seconds: u64,
    /// Newsletter mails sent per second at most.
    pub newsletter_per_second: u64,
}

/// The network coordinator role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkConfig {
    /// This instance aggregates its member organisations' articles into one
    /// shared feed, re-published by a network actor.
    pub enabled: bool,
    /// Username of the network actor, `@{username}@{host}`.
    pub username: String,
    /// Display name of the network.
    pub name: String,
    /// Short description of the network (plain text).
    pub summary: String,
    /// The home page (`/`) is the shared feed rather than the coordinator
    /// organisation's own articles.
    pub home: bool,
    /// The network's logo heading its pages: an `http(s)` URL or a path on
    /// this site (`/media/…`); none shows the organisation's logo.
    pub logo: Option<String>,
    /// Most outbox pages read when backfilling a new member.
    pub backfill_max_pages: u64,
    /// Most articles read when backfilling a new member.
    pub backfill_max_items: u64,
    /// Article activities accepted per second from one member's host…
    pub member_rate_per_second: u64,
    /// …and in one burst; past that the inbox answers 429 with Retry-After.
    pub member_burst: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogConfig {
    /// A `tracing` filter: a level (`info`) or directives (`gazette=debug,info`).
    pub level: String,
    /// `text` (one line of `name=value` fields) or `json` (one object a line).
    pub format: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsConfig {
    /// `off`, `loopback` or `token`.
    pub access: String,
    /// The bearer token when `access = "token"`.
    pub token: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            access: "off".into(),
            token: String::new(),
        }
    }
}

impl MetricsConfig {
    /// The web layer's access rule (checked when the config was read).
    pub fn access(&self) -> gazette_web::MetricsAccess {
        match self.access.as_str() {
            "loopback" => gazette_web::MetricsAccess::Loopback,
            "token" => gazette_web::MetricsAccess::Token(self.token.clone()),
            _ => gazette_web::MetricsAccess::Off,
        }
    }
}

impl Default for InstanceConfig {
    fn default() -> Self {
        InstanceConfig {
            public_url: "http://127.0.0.1:8080".into(),
            public_url_configured: false,
            name: "Gazette".into(),
            // A literal in the ISO 639-1 table: this cannot fail, and `Default`
            // cannot return an error, so a panic here would be a bug in core.
            default_language: Language::parse("en").expect("`en` is a known language tag"),
            time_zone: Tz::UTC,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            header_read_timeout_seconds: 10,
            request_timeout_seconds: 60,
            max_connections: 1024,
            keep_alive_connections: 128,
            max_in_flight: 256,
            max_inbox_per_host: 16,
            response_cache_bytes: 16 << 20,
        }
    }
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            max_upload_bytes: 10 * 1024 * 1024,
            max_image_pixels: 40_000_000,
            max_image_side: 10_000,
        }
    }
}

impl Default for ThemeConfig {
    fn default() -> Self {
        ThemeConfig {
            dir: None,
            primary_color: "#1d6b4f".into(),
            accent_color: "#f2a900".into(),
            footer: String::new(),
        }
    }
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig {
            allow_private_addresses: false,
            delivery_backoff_unit_ms: 1000,
            delivery_poll_seconds: 5,
            manually_approves_followers: false,
            comment_policy: CommentPolicy::Open,
            quote_policy: gazette_federation::QuotePolicy::Everyone,
            mode: FederationMode::Open,
            authorized_fetch: false,
            signature: SignaturePolicy::DoubleKnock,
            key_grace_days: 7,
            remote_key_check_seconds: 86_400,
        }
    }
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            session_idle_minutes: 720,
            reset_link_hours: 24,
            password_checks: 2,
        }
    }
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            enabled: false,
            username: "network".into(),
            name: "Network".into(),
            summary: String::new(),
            home: false,
            logo: None,
            backfill_max_pages: 50,
            backfill_max_items: 1000,
            member_rate_per_second: 500,
            member_burst: 2000,
        }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            host: String::new(),
            port: 587,
            tls: MailTls::StartTls,
            username: String::new(),
            password: String::new(),
            from: String::new(),
            timeout_seconds: 30,
            newsletter_per_second: 10,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

impl Config {
    /// The configured database URL, or SQLite at `<data_dir>/gazette.db`.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.server.data_dir.join("gazette.db").display()),
        }
    }
}

/// A loaded configuration and what the caller should log about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub config: Config,
    /// Unknown keys and variables, one readable sentence each.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: line {line}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// `key` is dotted, e.g. `database.max_connections`.
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

/// Writes a time zone as its tz database name (as the config file spells it).
fn zone_name<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}
