//! Configuration: built-in defaults, then an optional TOML file, then
//! `GAZETTE_<SECTION>__<KEY>` environment variables; the CLI overrides last.
//!
//! Every key is listed once in [`KEYS`] with the setter that parses and checks
//! it. Unknown keys are collected as warnings rather than refused, so a config
//! written for a newer Gazette still starts an older one; a known key with a
//! wrong value is an error naming the key (and the variable, for the env).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
    /// Requests handled at once at most; past it, 503 with `Retry-After`.
    pub max_in_flight: u64,
    /// Inbox posts one remote server may have in progress; past it, 429.
    pub max_inbox_per_host: u64,
    /// Bytes of whole public answers kept in memory; 0: no cache.
    pub response_cache_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatabaseConfig {
    /// `sqlite:…`, `postgres:…` or `postgresql:…`; `None` means SQLite in
    /// `data_dir` (see [`Config::database_url`]).
    pub url: Option<String>,
    pub max_connections: u32,
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
    /// `open` (everyone but blocked domains) or `allowlist` (only the
    /// domains on the allowlist: a closed network).
    pub mode: FederationMode,
    /// AS2 documents answer only signed GETs (Mastodon's secure mode).
    pub authorized_fetch: bool,
    /// How deliveries and signed GETs are signed: `double-knock` (RFC 9421
    /// first, draft-cavage after a refusal, remembered per host),
    /// `rfc9421` or `draft-cavage`.
    pub signature: SignaturePolicy,
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
            max_in_flight: 256,
            max_inbox_per_host: 16,
            response_cache_bytes: 16 << 20,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: None,
            max_connections: 8,
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
            mode: FederationMode::Open,
            authorized_fetch: false,
            signature: SignaturePolicy::DoubleKnock,
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

/// How a key's value is parsed before its setter checks it further.
#[derive(Clone, Copy)]
enum Setter {
    Text(fn(&mut Config, &str) -> Result<(), String>),
    /// Receives a number already known to be > 0.
    PositiveInt(fn(&mut Config, u64) -> Result<(), String>),
    /// Receives a number already known to be >= 0.
    Int(fn(&mut Config, u64) -> Result<(), String>),
    Bool(fn(&mut Config, bool)),
}

/// One configuration key.
#[derive(Clone, Copy)]
pub struct Key {
    pub section: &'static str,
    pub name: &'static str,
    set: Setter,
}

/// Writes a time zone as its tz database name (as the config file spells it).
fn zone_name<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

impl Key {
    /// `section.name`, as used in error messages.
    pub fn path(&self) -> String {
        format!("{}.{}", self.section, self.name)
    }

    /// `GAZETTE_SECTION__NAME`.
    pub fn env_name(&self) -> String {
        format!(
            "{ENV_PREFIX}{}__{}",
            self.section.to_ascii_uppercase(),
            self.name.to_ascii_uppercase()
        )
    }
}

/// Every key Gazette knows, in the order of the example config file.
pub const KEYS: &[Key] = &[
    Key {
        section: "instance",
        name: "public_url",
        set: Setter::Text(|c, v| {
            c.instance.public_url = normalise_public_url(v)?;
            c.instance.public_url_configured = true;
            Ok(())
        }),
    },
    Key {
        section: "instance",
        name: "name",
        set: Setter::Text(|c, v| {
            c.instance.name = non_empty(v)?.to_owned();
            Ok(())
        }),
    },
    Key {
        section: "instance",
        name: "default_language",
        set: Setter::Text(|c, v| {
            c.instance.default_language = Language::parse(v)?;
            Ok(())
        }),
    },
    Key {
        section: "instance",
        name: "time_zone",
        set: Setter::Text(|c, v| {
            c.instance.time_zone =
                gazette_core::local_time::parse_zone("instance.time_zone", v).map_err(|e| e.message)?;
            Ok(())
        }),
    },
    Key {
        section: "server",
        name: "listen",
        set: Setter::Text(|c, v| {
            c.server.listen = v
                .trim()
                .parse()
                .map_err(|_| format!("expected an IP address and port such as 127.0.0.1:8080, got {v:?}"))?;
            Ok(())
        }),
    },
    Key {
        section: "server",
        name: "data_dir",
        set: Setter::Text(|c, v| {
            c.server.data_dir = PathBuf::from(non_empty(v)?);
            Ok(())
        }),
    },
    Key {
        section: "server",
        name: "header_read_timeout_seconds",
        set: Setter::PositiveInt(|c, n| {
            c.server.header_read_timeout_seconds = n;
            Ok(())
        }),
    },
    Key {
        section: "server",
        name: "request_timeout_seconds",
        set: Setter::PositiveInt(|c, n| {
            c.server.request_timeout_seconds = n;
            Ok(())
        }),
    },
    Key {
        section: "server",
        name: "max_connections",
        set: Setter::PositiveInt(|c, n| {
            c.server.max_connections = n;
            Ok(())
        }),
    },
    Key {
        section: "server",
        name: "max_in_flight",
        set: Setter::PositiveInt(|c, n| {
            c.server.max_in_flight = n;
            Ok(())
        }),
    },
    Key {
        section: "server",
        name: "max_inbox_per_host",
        set: Setter::PositiveInt(|c, n| {
            c.server.max_inbox_per_host = n;
            Ok(())
        }),
    },
    Key {
        section: "server",
        name: "response_cache_bytes",
        set: Setter::Int(|c, n| {
            c.server.response_cache_bytes = n;
            Ok(())
        }),
    },
    Key {
        section: "database",
        name: "url",
        set: Setter::Text(|c, v| {
            c.database.url = check_database_url(v)?;
            Ok(())
        }),
    },
    Key {
        section: "database",
        name: "max_connections",
        set: Setter::PositiveInt(|c, n| {
            c.database.max_connections =
                u32::try_from(n).map_err(|_| format!("expected at most {}, got {n}", u32::MAX))?;
            Ok(())
        }),
    },
    Key {
        section: "media",
        name: "max_upload_bytes",
        set: Setter::PositiveInt(|c, n| {
            c.media.max_upload_bytes = n;
            Ok(())
        }),
    },
    Key {
        section: "media",
        name: "max_image_pixels",
        set: Setter::PositiveInt(|c, n| {
            c.media.max_image_pixels = n;
            Ok(())
        }),
    },
    Key {
        section: "media",
        name: "max_image_side",
        set: Setter::PositiveInt(|c, n| {
            c.media.max_image_side = n;
            Ok(())
        }),
    },
    Key {
        section: "theme",
        name: "dir",
        set: Setter::Text(|c, v| {
            // Empty means "no theme", so an env variable can unset a file value.
            c.theme.dir = Some(v.trim()).filter(|v| !v.is_empty()).map(PathBuf::from);
            Ok(())
        }),
    },
    Key {
        section: "theme",
        name: "primary_color",
        set: Setter::Text(|c, v| {
            c.theme.primary_color = hex_color(v)?;
            Ok(())
        }),
    },
    Key {
        section: "theme",
        name: "accent_color",
        set: Setter::Text(|c, v| {
            c.theme.accent_color = hex_color(v)?;
            Ok(())
        }),
    },
    Key {
        section: "theme",
        name: "footer",
        set: Setter::Text(|c, v| {
            c.theme.footer = v.trim().to_owned();
            Ok(())
        }),
    },
    Key {
        section: "federation",
        name: "allow_private_addresses",
        set: Setter::Bool(|c, b| c.federation.allow_private_addresses = b),
    },
    Key {
        section: "federation",
        name: "manually_approves_followers",
        set: Setter::Bool(|c, b| c.federation.manually_approves_followers = b),
    },
    Key {
        section: "federation",
        name: "comment_policy",
        set: Setter::Text(|c, v| {
            let v = v.trim();
            c.federation.comment_policy = CommentPolicy::parse(v)
                .ok_or_else(|| format!("expected `open`, `followers_only` or `moderated`, got `{v}`"))?;
            Ok(())
        }),
    },
    Key {
        section: "federation",
        name: "mode",
        set: Setter::Text(|c, v| {
            let v = v.trim();
            c.federation.mode =
                FederationMode::parse(v).ok_or_else(|| format!("expected `open` or `allowlist`, got `{v}`"))?;
            Ok(())
        }),
    },
    Key {
        section: "federation",
        name: "authorized_fetch",
        set: Setter::Bool(|c, b| c.federation.authorized_fetch = b),
    },
    Key {
        section: "federation",
        name: "signature",
        set: Setter::Text(|c, v| {
            let v = v.trim();
            c.federation.signature = SignaturePolicy::parse(v)
                .ok_or_else(|| format!("expected `double-knock`, `rfc9421` or `draft-cavage`, got `{v}`"))?;
            Ok(())
        }),
    },
    Key {
        section: "federation",
        name: "delivery_backoff_unit_ms",
        set: Setter::PositiveInt(|c, n| {
            c.federation.delivery_backoff_unit_ms = n;
            Ok(())
        }),
    },
    Key {
        section: "federation",
        name: "delivery_poll_seconds",
        set: Setter::PositiveInt(|c, n| {
            c.federation.delivery_poll_seconds = n.min(3600);
            Ok(())
        }),
    },
    Key {
        section: "admin",
        name: "session_idle_minutes",
        set: Setter::PositiveInt(|c, n| {
            c.admin.session_idle_minutes = n;
            Ok(())
        }),
    },
    Key {
        section: "admin",
        name: "reset_link_hours",
        set: Setter::PositiveInt(|c, n| {
            c.admin.reset_link_hours = n;
            Ok(())
        }),
    },
    Key {
        section: "admin",
        name: "password_checks",
        set: Setter::PositiveInt(|c, n| {
            c.admin.password_checks = n;
            Ok(())
        }),
    },
    Key {
        section: "network",
        name: "enabled",
        set: Setter::Bool(|c, b| c.network.enabled = b),
    },
    Key {
        section: "network",
        name: "username",
        set: Setter::Text(|c, v| {
            let v = non_empty(v)?.to_ascii_lowercase();
            if !v.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') || v.len() > 64 {
                return Err(format!("expected letters, digits and `_` (at most 64), got {v:?}"));
            }
            c.network.username = v;
            Ok(())
        }),
    },
    Key {
        section: "network",
        name: "name",
        set: Setter::Text(|c, v| {
            c.network.name = non_empty(v)?.to_owned();
            Ok(())
        }),
    },
    Key {
        section: "network",
        name: "summary",
        set: Setter::Text(|c, v| {
            c.network.summary = v.trim().to_owned();
            Ok(())
        }),
    },
    Key {
        section: "network",
        name: "home",
        set: Setter::Bool(|c, b| c.network.home = b),
    },
    Key {
        section: "network",
        name: "logo",
        set: Setter::Text(|c, v| {
            let v = v.trim();
            c.network.logo = if v.is_empty() {
                None
            } else if gazette_core::links::page_link(v).is_some() {
                Some(v.to_owned())
            } else {
                return Err(format!(
                    "expected an http(s) URL or a path such as /media/logo.png, got {v:?}"
                ));
            };
            Ok(())
        }),
    },
    Key {
        section: "network",
        name: "backfill_max_pages",
        set: Setter::PositiveInt(|c, n| {
            c.network.backfill_max_pages = n.min(10_000);
            Ok(())
        }),
    },
    Key {
        section: "network",
        name: "backfill_max_items",
        set: Setter::PositiveInt(|c, n| {
            c.network.backfill_max_items = n.min(1_000_000);
            Ok(())
        }),
    },
    Key {
        section: "mail",
        name: "host",
        set: Setter::Text(|c, v| {
            let v = v.trim();
            if v.contains(['/', ':', ' ', '@']) && !v.starts_with('[') {
                return Err(format!(
                    "expected a host name or address without scheme or port, got {v:?}"
                ));
            }
            c.mail.host = v.to_owned();
            Ok(())
        }),
    },
    Key {
        section: "mail",
        name: "port",
        set: Setter::PositiveInt(|c, n| {
            if n > 65535 {
                return Err(format!("expected a port from 1 to 65535, got {n}"));
            }
            c.mail.port = n;
            Ok(())
        }),
    },
    Key {
        section: "network",
        name: "member_rate_per_second",
        set: Setter::PositiveInt(|c, n| {
            c.network.member_rate_per_second = n.min(1_000_000);
            Ok(())
        }),
    },
    Key {
        section: "mail",
        name: "tls",
        set: Setter::Text(|c, v| {
            let v = v.trim();
            c.mail.tls = MailTls::parse(v).ok_or_else(|| format!("expected `starttls`, `tls` or `none`, got `{v}`"))?;
            Ok(())
        }),
    },
    Key {
        section: "mail",
        name: "username",
        set: Setter::Text(|c, v| {
            c.mail.username = v.trim().to_owned();
            Ok(())
        }),
    },
    Key {
        section: "mail",
        name: "password",
        set: Setter::Text(|c, v| {
            c.mail.password = v.to_owned();
            Ok(())
        }),
    },
    Key {
        section: "mail",
        name: "from",
        set: Setter::Text(|c, v| {
            let v = v.trim();
            if !v.is_empty() && (!v.contains('@') || v.contains(['\r', '\n'])) {
                return Err(format!("expected a mail address such as news@coop.example, got {v:?}"));
            }
            c.mail.from = v.to_owned();
            Ok(())
        }),
    },
    Key {
        section: "mail",
        name: "timeout_seconds",
        set: Setter::PositiveInt(|c, n| {
            c.mail.timeout_seconds = n.min(3600);
            Ok(())
        }),
    },
    Key {
        section: "mail",
        name: "newsletter_per_second",
        set: Setter::PositiveInt(|c, n| {
            c.mail.newsletter_per_second = n.min(100_000);
            Ok(())
        }),
    },
    Key {
        section: "network",
        name: "member_burst",
        set: Setter::PositiveInt(|c, n| {
            c.network.member_burst = n.min(10_000_000);
            Ok(())
        }),
    },
    Key {
        section: "log",
        name: "level",
        set: Setter::Text(|c, v| {
            let v = non_empty(v)?;
            // Parse now so a typo fails at startup, not silently at the first log line.
            tracing_subscriber::EnvFilter::try_new(v)
                .map_err(|e| format!("not a log level or filter such as `info` or `gazette=debug,info`: {e}"))?;
            c.log.level = v.to_owned();
            Ok(())
        }),
    },
    Key {
        section: "log",
        name: "format",
        set: Setter::Text(|c, v| {
            let v = v.trim();
            if !matches!(v, "text" | "json") {
                return Err(format!("expected `text` or `json`, got `{v}`"));
            }
            c.log.format = v.to_owned();
            Ok(())
        }),
    },
    Key {
        section: "metrics",
        name: "access",
        set: Setter::Text(|c, v| {
            let v = v.trim();
            if !matches!(v, "off" | "loopback" | "token") {
                return Err(format!("expected `off`, `loopback` or `token`, got `{v}`"));
            }
            c.metrics.access = v.to_owned();
            Ok(())
        }),
    },
    Key {
        section: "metrics",
        name: "token",
        set: Setter::Text(|c, v| {
            c.metrics.token = v.trim().to_owned();
            Ok(())
        }),
    },
];

fn find_key(section: &str, name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.section == section && k.name == name)
}

fn sections() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for k in KEYS {
        if !out.contains(&k.section) {
            out.push(k.section);
        }
    }
    out
}

/// Loads the configuration: defaults, then `file` if given (it must exist),
/// then the `GAZETTE_*` variables of `env`.
pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Loaded, ConfigError> {
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
                path: path.to_owned(),
                source,
            })?;
            build(Some((path, &text)), env)
        }
        None => build(None, env),
    }
}

/// Like [`load`] with the file's text already in memory; `path` names it in
/// messages.
pub fn load_str(
    path: &Path,
    text: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Loaded, ConfigError> {
    build(Some((path, text)), env)
}

/// Where a raw value came from, for parsing and error messages.
enum Raw<'a> {
    Toml(&'a toml::Value),
    Env { var: &'a str, value: &'a str },
}

fn build(file: Option<(&Path, &str)>, env: impl IntoIterator<Item = (String, String)>) -> Result<Loaded, ConfigError> {
    let mut config = Config::default();
    let mut warnings = Vec::new();

    if let Some((path, text)) = file {
        let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_owned(),
            line: e.span().map_or(1, |s| line_at(text, s.start)),
            message: e.message().trim().to_owned(),
        })?;
        apply_table(&mut config, path, &table, &mut warnings)?;
    }

    // Sorted so that messages come out in a stable order.
    let mut vars: Vec<(String, String)> = env.into_iter().filter(|(k, _)| k.starts_with(ENV_PREFIX)).collect();
    vars.sort();
    for (var, value) in &vars {
        if var == CONFIG_FILE_ENV {
            continue;
        }
        let rest = &var[ENV_PREFIX.len()..];
        let Some((section, name)) = rest.split_once("__") else {
            warnings.push(format!(
                "unknown environment variable {var}: configuration variables are named GAZETTE_<SECTION>__<KEY>, e.g. GAZETTE_DATABASE__URL"
            ));
            continue;
        };
        match find_key(&section.to_ascii_lowercase(), &name.to_ascii_lowercase()) {
            Some(key) => apply(&mut config, key, Raw::Env { var, value })?,
            None => warnings.push(format!(
                "unknown environment variable {var}: `{}.{}` is not a configuration key",
                section.to_ascii_lowercase(),
                name.to_ascii_lowercase()
            )),
        }
    }

    check_mail(&config.mail)?;
    if config.metrics.access == "token" && config.metrics.token.len() < 16 {
        return Err(ConfigError::Invalid {
            key: "metrics.token".into(),
            message: "required when metrics.access is `token`: at least 16 characters the scraper sends as \
                      `Authorization: Bearer …`"
                .into(),
        });
    }
    Ok(Loaded { config, warnings })
}

/// The `[mail]` keys that only make sense together.
fn check_mail(m: &MailConfig) -> Result<(), ConfigError> {
    let invalid = |key: &str, message: &str| ConfigError::Invalid {
        key: format!("mail.{key}"),
        message: message.to_owned(),
    };
    if m.host.is_empty() {
        return Ok(());
    }
    if m.from.is_empty() {
        return Err(invalid(
            "from",
            "required when mail.host is set: the sender address of the mails",
        ));
    }
    if m.username.is_empty() != m.password.is_empty() {
        let key = if m.username.is_empty() { "username" } else { "password" };
        return Err(invalid(
            key,
            "mail.username and mail.password are set together (or neither)",
        ));
    }
    let local = m.host == "localhost" || m.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if m.tls == MailTls::None && !local {
        return Err(invalid(
            "tls",
            "`none` sends mail unencrypted: only allowed for a relay on this machine (localhost); use `starttls` or `tls`",
        ));
    }
    Ok(())
}

impl MailConfig {
    /// The web layer's mail settings, `None` when mail is off.
    pub fn settings(&self, public_url: &str) -> Option<gazette_web::mail::MailSettings> {
        if self.host.is_empty() {
            return None;
        }
        let hello_name = url::Url::parse(public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".into());
        Some(gazette_web::mail::MailSettings {
            host: self.host.clone(),
            port: u16::try_from(self.port).unwrap_or(587),
            tls: self.tls,
            username: Some(self.username.clone()).filter(|u| !u.is_empty()),
            password: Some(self.password.clone()).filter(|p| !p.is_empty()),
            from: self.from.clone(),
            timeout: std::time::Duration::from_secs(self.timeout_seconds),
            hello_name,
            newsletter_per_second: u32::try_from(self.newsletter_per_second).unwrap_or(u32::MAX),
        })
    }
}

fn apply_table(
    config: &mut Config,
    path: &Path,
    table: &toml::Table,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let known_sections = sections();
    for (section, value) in table {
        if !known_sections.contains(&section.as_str()) {
            let what = if value.is_table() {
                format!("section [{section}]")
            } else {
                format!("key `{section}`")
            };
            warnings.push(format!(
                "{}: unknown {what} (keys live in the sections {})",
                path.display(),
                known_sections
                    .iter()
                    .map(|s| format!("[{s}]"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            continue;
        }
        let Some(entries) = value.as_table() else {
            return Err(ConfigError::Invalid {
                key: section.clone(),
                message: format!("expected a section [{section}] with keys, got {}", describe(value)),
            });
        };
        for (name, value) in entries {
            match find_key(section, name) {
                Some(key) => apply(config, key, Raw::Toml(value))?,
                None => {
                    let known: Vec<&str> = KEYS.iter().filter(|k| k.section == section).map(|k| k.name).collect();
                    warnings.push(format!(
                        "{}: unknown key `{section}.{name}` (known keys in [{section}]: {})",
                        path.display(),
                        known.join(", ")
                    ));
                }
            }
        }
    }
    Ok(())
}

fn apply(config: &mut Config, key: &Key, raw: Raw<'_>) -> Result<(), ConfigError> {
    let result = match key.set {
        Setter::Text(set) => text(&raw).and_then(|v| set(config, &v)),
        Setter::PositiveInt(set) => positive_int(&raw).and_then(|n| set(config, n)),
        Setter::Int(set) => non_negative_int(&raw).and_then(|n| set(config, n)),
        Setter::Bool(set) => boolean(&raw).map(|b| set(config, b)),
    };
    result.map_err(|message| ConfigError::Invalid {
        key: key.path(),
        message: match raw {
            Raw::Toml(_) => message,
            Raw::Env { var, .. } => format!("{message} (from {var})"),
        },
    })
}

fn text(raw: &Raw<'_>) -> Result<String, String> {
    match raw {
        Raw::Toml(toml::Value::String(s)) => Ok(s.clone()),
        Raw::Toml(v) => Err(format!("expected a string, got {}", describe(v))),
        Raw::Env { value, .. } => Ok((*value).to_owned()),
    }
}

fn non_negative_int(raw: &Raw<'_>) -> Result<u64, String> {
    let n = match raw {
        Raw::Toml(toml::Value::Integer(n)) => u64::try_from(*n).ok(),
        Raw::Toml(_) => None,
        Raw::Env { value, .. } => value.trim().parse::<u64>().ok(),
    };
    n.ok_or_else(|| "expected a whole number, 0 or more".to_owned())
}

fn positive_int(raw: &Raw<'_>) -> Result<u64, String> {
    let n = match raw {
        Raw::Toml(toml::Value::Integer(n)) => u64::try_from(*n).ok(),
        Raw::Toml(_) => None,
        Raw::Env { value, .. } => value.trim().parse::<u64>().ok(),
    };
    match n {
        Some(n) if n > 0 => Ok(n),
        _ => Err(format!("expected a positive integer, got {}", shown(raw))),
    }
}

fn boolean(raw: &Raw<'_>) -> Result<bool, String> {
    let b = match raw {
        Raw::Toml(toml::Value::Boolean(b)) => Some(*b),
        Raw::Toml(_) => None,
        Raw::Env { value, .. } => match value.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" => Some(false),
            _ => None,
        },
    };
    b.ok_or_else(|| format!("expected true or false, got {}", shown(raw)))
}

/// The value as the user wrote it, for "got …" in messages.
fn shown(raw: &Raw<'_>) -> String {
    match raw {
        Raw::Toml(v) => describe(v),
        Raw::Env { value, .. } => format!("{value:?}"),
    }
}

fn describe(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Table(_) => "a table".into(),
        toml::Value::Array(_) => "a list".into(),
        other => other.to_string(),
    }
}

/// 1-based line of byte `offset` in `text`.
fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn non_empty(v: &str) -> Result<&str, String> {
    let v = v.trim();
    if v.is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(v)
    }
}

/// Checks that `s` is the origin of an http(s) site and returns it without a
/// trailing slash. Paths are refused because every page, feed and ActivityPub
/// id is served from the root of the host.
/// Public so the CLI can check `--public-url` the same way.
pub fn normalise_public_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    let not_http = || format!("must be an http(s) URL such as https://news.example.org, got {s:?}");
    let url = url::Url::parse(s).map_err(|_| not_http())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(not_http());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("must not contain a user name or password, got {s:?}"));
    }
    if url.path() != "/" {
        return Err(format!(
            "must not have a path (got {:?}): Gazette is served from the root of its host",
            url.path()
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("must not have a query or fragment, got {s:?}"));
    }
    Ok(url.origin().ascii_serialization())
}

/// Accepts sqlite:, postgres: and postgresql: URLs; empty means the default
/// (SQLite in `data_dir`). Public so the CLI can check `--database-url` too.
pub fn check_database_url(v: &str) -> Result<Option<String>, String> {
    let v = v.trim();
    if v.is_empty() {
        // Empty falls back to SQLite in data_dir, so an env variable can undo a file value.
        return Ok(None);
    }
    if ["sqlite:", "postgres:", "postgresql:"].iter().any(|p| v.starts_with(p)) {
        Ok(Some(v.to_owned()))
    } else {
        let scheme = v.split_once(':').map_or(v, |(s, _)| s);
        Err(format!(
            "unsupported database {scheme:?}: expected a sqlite:, postgres: or postgresql: URL"
        ))
    }
}

fn hex_color(v: &str) -> Result<String, String> {
    let v = v.trim();
    match v.strip_prefix('#') {
        Some(hex) if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) => Ok(v.to_ascii_lowercase()),
        _ => Err(format!("expected a colour such as #1d6b4f, got {v:?}")),
    }
}

#[cfg(test)]
// A failing unwrap is a failing test, which is what it should be.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../config/gazette.example.toml");

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn from_file(text: &str) -> Result<Loaded, ConfigError> {
        load_str(Path::new("gazette.toml"), text, Vec::new())
    }

    fn err(r: Result<Loaded, ConfigError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn defaults() {
        let l = load(None, Vec::new()).unwrap();
        assert!(l.warnings.is_empty());
        let c = l.config;
        assert_eq!(c.instance.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.instance.name, "Gazette");
        assert_eq!(c.instance.default_language.as_str(), "en");
        assert_eq!(c.instance.time_zone.name(), gazette_core::local_time::DEFAULT_ZONE);
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.server.data_dir, PathBuf::from("./data"));
        assert_eq!(c.database.url, None);
        assert_eq!(c.database_url(), "sqlite://./data/gazette.db");
        assert_eq!(c.database.max_connections, 8);
        assert_eq!(c.media.max_upload_bytes, 10 * 1024 * 1024);
        assert_eq!(c.theme.dir, None);
        assert_eq!(c.theme.primary_color, "#1d6b4f");
        assert_eq!(c.theme.accent_color, "#f2a900");
        assert_eq!(c.theme.footer, "");
        assert!(!c.federation.allow_private_addresses);
        assert_eq!(c.federation.delivery_backoff_unit_ms, 1000);
        assert_eq!(c.log.level, "info");
    }

    #[test]
    fn example_file_loads_without_warnings_and_documents_every_key() {
        let l = load_str(Path::new("gazette.example.toml"), EXAMPLE, Vec::new()).unwrap();
        assert_eq!(l.warnings, Vec::<String>::new());
        assert_eq!(l.config, Config::default());
        for key in KEYS {
            let mut section = "";
            let mut found = false;
            for line in EXAMPLE.lines() {
                let line = line.trim();
                if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                    section = s;
                }
                let uncommented = line.trim_start_matches('#').trim_start();
                if section == key.section && uncommented.starts_with(&format!("{} =", key.name)) {
                    found = true;
                }
            }
            assert!(found, "{} is not in the example file", key.path());
            assert!(
                EXAMPLE.contains(&key.env_name()),
                "{} is not named in the example file",
                key.env_name()
            );
        }
    }

    #[test]
    fn serialised_config_reads_back() {
        let defaults = toml::to_string(&Config::default()).unwrap();
        // Written out, the default URL is a URL someone gave.
        let mut configured = Config::default();
        configured.instance.public_url_configured = true;
        assert_eq!(
            from_file(&defaults).unwrap(),
            Loaded {
                config: configured,
                warnings: Vec::new()
            }
        );

        let mut c = Config::default();
        c.database.url = Some("postgres://u@db/gazette".into());
        c.theme.dir = Some(PathBuf::from("/srv/theme"));
        c.federation.allow_private_addresses = true;
        c.federation.delivery_backoff_unit_ms = 20;
        let text = toml::to_string(&c).unwrap();
        let l = from_file(&text).unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        c.instance.public_url_configured = true;
        assert_eq!(l.config, c);
    }

    #[test]
    fn file_values() {
        let l = from_file(
            r##"
[instance]
public_url = "https://News.Example.org/"
name = "Coop News"
default_language = "pt-br"
time_zone = "europe/lisbon"

[server]
listen = "0.0.0.0:3000"
data_dir = "/var/lib/gazette"

[database]
max_connections = 20

[media]
max_upload_bytes = 1048576

[theme]
dir = "/srv/theme"
primary_color = "#AABBCC"
footer = "Made by a cooperative"

[federation]
allow_private_addresses = true
delivery_backoff_unit_ms = 50

[log]
level = "gazette=debug,info"
"##,
        )
        .unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let c = l.config;
        assert_eq!(c.instance.public_url, "https://news.example.org");
        assert_eq!(c.instance.name, "Coop News");
        assert_eq!(c.instance.default_language.as_str(), "pt-BR");
        assert_eq!(c.instance.time_zone.name(), "Europe/Lisbon");
        assert_eq!(c.server.listen.to_string(), "0.0.0.0:3000");
        assert_eq!(c.database_url(), "sqlite:///var/lib/gazette/gazette.db");
        assert_eq!(c.database.max_connections, 20);
        assert_eq!(c.media.max_upload_bytes, 1_048_576);
        assert_eq!(c.theme.dir, Some(PathBuf::from("/srv/theme")));
        assert_eq!(c.theme.primary_color, "#aabbcc");
        assert_eq!(c.theme.accent_color, "#f2a900");
        assert_eq!(c.theme.footer, "Made by a cooperative");
        assert!(c.federation.allow_private_addresses);
        assert_eq!(c.federation.delivery_backoff_unit_ms, 50);
        assert_eq!(c.log.level, "gazette=debug,info");
    }

    #[test]
    fn env_beats_file() {
        let file = "[database]\nurl = \"sqlite://file.db\"\nmax_connections = 3\n[instance]\nname = \"From file\"\n";
        let l = load_str(
            Path::new("gazette.toml"),
            file,
            env(&[
                ("GAZETTE_DATABASE__URL", "postgres://gazette@db/gazette"),
                ("GAZETTE_DATABASE__MAX_CONNECTIONS", "12"),
                ("GAZETTE_INSTANCE__PUBLIC_URL", "https://example.org"),
                ("GAZETTE_SERVER__LISTEN", "[::1]:9000"),
                ("GAZETTE_FEDERATION__ALLOW_PRIVATE_ADDRESSES", "true"),
                ("GAZETTE_CONFIG", "gazette.toml"),
                ("PATH", "/usr/bin"),
            ]),
        )
        .unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let c = l.config;
        assert_eq!(c.database_url(), "postgres://gazette@db/gazette");
        assert_eq!(c.database.max_connections, 12);
        assert_eq!(c.instance.name, "From file");
        assert_eq!(c.instance.public_url, "https://example.org");
        assert_eq!(c.server.listen.to_string(), "[::1]:9000");
        assert!(c.federation.allow_private_addresses);

        // An empty variable unsets an optional value from the file.
        let l = load_str(Path::new("gazette.toml"), file, env(&[("GAZETTE_DATABASE__URL", "")])).unwrap();
        assert_eq!(l.config.database_url(), "sqlite://./data/gazette.db");
    }

    #[test]
    fn unknown_keys_are_warnings() {
        let l = from_file("listen = \"1\"\n[instance]\ntitel = \"x\"\nname = \"N\"\n[themes]\ndir = \"t\"\n").unwrap();
        assert_eq!(l.config.instance.name, "N");
        assert_eq!(l.warnings.len(), 3, "{:?}", l.warnings);
        assert!(
            l.warnings
                .iter()
                .any(|w| w.contains("gazette.toml") && w.contains("`instance.titel`"))
        );
        assert!(l.warnings.iter().any(|w| w.contains("section [themes]")));
        assert!(l.warnings.iter().any(|w| w.contains("key `listen`")));

        let l = load(
            None,
            env(&[
                ("GAZETTE_INSTANCE__TITEL", "x"),
                ("GAZETTE_DATABASE_URL", "sqlite://x"),
                ("GAZETTE_NOPE__X", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(l.warnings.len(), 3, "{:?}", l.warnings);
        assert!(
            l.warnings
                .iter()
                .any(|w| w.contains("GAZETTE_INSTANCE__TITEL") && w.contains("instance.titel"))
        );
        assert!(
            l.warnings
                .iter()
                .any(|w| w.contains("GAZETTE_DATABASE_URL") && w.contains("GAZETTE_<SECTION>__<KEY>"))
        );
        assert!(l.warnings.iter().any(|w| w.contains("GAZETTE_NOPE__X")));
        assert_eq!(l.config, Config::default());
    }

    #[test]
    fn federation_safety_keys() {
        let l = load(
            None,
            env(&[
                ("GAZETTE_FEDERATION__MODE", "allowlist"),
                ("GAZETTE_FEDERATION__AUTHORIZED_FETCH", "true"),
            ]),
        )
        .unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        assert_eq!(l.config.federation.mode, FederationMode::Allowlist);
        assert!(l.config.federation.authorized_fetch);
        let c = Config::default();
        assert_eq!(
            (c.federation.mode.as_str(), c.federation.authorized_fetch),
            ("open", false)
        );
        assert_eq!(
            err(from_file("[federation]\nmode = \"closed\"\n")),
            "federation.mode: expected `open` or `allowlist`, got `closed`"
        );
    }

    #[test]
    fn wrong_values_name_the_key() {
        assert_eq!(
            err(from_file("[database]\nmax_connections = \"abc\"\n")),
            r#"database.max_connections: expected a positive integer, got "abc""#
        );
        assert_eq!(
            err(from_file("[database]\nmax_connections = 0\n")),
            "database.max_connections: expected a positive integer, got 0"
        );
        assert_eq!(
            err(load(None, env(&[("GAZETTE_DATABASE__MAX_CONNECTIONS", "abc")]))),
            r#"database.max_connections: expected a positive integer, got "abc" (from GAZETTE_DATABASE__MAX_CONNECTIONS)"#
        );
        assert_eq!(
            err(load(
                None,
                env(&[("GAZETTE_FEDERATION__ALLOW_PRIVATE_ADDRESSES", "maybe")])
            )),
            r#"federation.allow_private_addresses: expected true or false, got "maybe" (from GAZETTE_FEDERATION__ALLOW_PRIVATE_ADDRESSES)"#
        );
        assert!(
            err(from_file("[instance]\npublic_url = \"ftp://example.org\"\n"))
                .starts_with("instance.public_url: must be an http(s) URL")
        );
        assert!(err(from_file("[instance]\nname = 5\n")).starts_with("instance.name: expected a string, got 5"));
        assert!(
            err(from_file("[instance]\ndefault_language = \"xx\"\n"))
                .starts_with("instance.default_language: unknown language tag")
        );
        assert_eq!(
            err(from_file("[instance]\ntime_zone = \"Europe/Parris\"\n")),
            "instance.time_zone: `Europe/Parris` is not a time zone name such as Europe/Paris or UTC"
        );
        assert!(
            err(from_file("[server]\nlisten = \"localhost\"\n"))
                .starts_with("server.listen: expected an IP address and port")
        );
        assert!(
            err(from_file("[database]\nurl = \"mysql://x\"\n"))
                .starts_with("database.url: unsupported database \"mysql\"")
        );
        assert!(
            err(from_file("[theme]\nprimary_color = \"green\"\n"))
                .starts_with("theme.primary_color: expected a colour")
        );
        assert!(
            err(from_file("[federation]\nallow_private_addresses = \"yes\"\n"))
                .starts_with("federation.allow_private_addresses: expected true or false")
        );
        assert!(err(from_file("[log]\nlevel = \"gazette=loud\"\n")).starts_with("log.level: not a log level"));
        assert!(err(from_file("[log]\nformat = \"xml\"\n")).starts_with("log.format: expected `text` or `json`"));
        assert!(err(from_file("[metrics]\naccess = \"open\"\n")).starts_with("metrics.access: expected"));
        assert!(err(from_file("[metrics]\naccess = \"token\"\n")).starts_with("metrics.token: required"));
        assert!(err(from_file("instance = 3\n")).starts_with("instance: expected a section [instance]"));
        assert!(
            err(load(None, env(&[("GAZETTE_INSTANCE__PUBLIC_URL", "example.org")])))
                .ends_with("(from GAZETTE_INSTANCE__PUBLIC_URL)")
        );
    }

    #[test]
    fn mail_keys_are_checked_together() {
        let l = from_file("[mail]\nhost = \"smtp.coop.example\"\nfrom = \"news@coop.example\"\n").unwrap();
        let m = l.config.mail.settings("https://news.coop.example").unwrap();
        assert_eq!(
            (m.port, m.tls, m.hello_name.as_str()),
            (587, gazette_web::mail::MailTls::StartTls, "news.coop.example")
        );
        assert!(Config::default().mail.settings("http://x.example").is_none());
        assert!(err(from_file("[mail]\nhost = \"smtp.coop.example\"\n")).starts_with("mail.from: required"));
        assert!(
            err(from_file(
                "[mail]\nhost = \"smtp.coop.example\"\nfrom = \"a@b.example\"\ntls = \"none\"\n"
            ))
            .starts_with("mail.tls:")
        );
        assert!(from_file("[mail]\nhost = \"127.0.0.1\"\nfrom = \"a@b.example\"\ntls = \"none\"\n").is_ok());
        assert!(
            err(from_file(
                "[mail]\nhost = \"smtp.coop.example\"\nfrom = \"a@b.example\"\nusername = \"u\"\n"
            ))
            .starts_with("mail.password:")
        );
        assert!(err(from_file("[mail]\ntls = \"ssl\"\n")).starts_with("mail.tls: expected"));
        assert!(err(from_file("[mail]\nport = 70000\n")).starts_with("mail.port:"));
        assert!(err(from_file("[mail]\nhost = \"smtp://x\"\n")).starts_with("mail.host:"));
        let env = env(&[("GAZETTE_MAIL__FROM", "nobody")]);
        assert!(load(None, env).unwrap_err().to_string().contains("GAZETTE_MAIL__FROM"));
    }

    #[test]
    fn syntax_and_io_errors_name_the_file() {
        let e = err(from_file("[instance]\nname = \"Gazette\"\npublic_url = \n"));
        assert!(e.starts_with("gazette.toml: line 3: "), "{e}");
        let e = err(load(Some(Path::new("/nonexistent/gazette.toml")), Vec::new()));
        assert!(
            e.starts_with("cannot read config file /nonexistent/gazette.toml: "),
            "{e}"
        );
    }

    #[test]
    fn public_url_normalisation() {
        let n = |s: &str| normalise_public_url(s);
        assert_eq!(n("https://example.org/").unwrap(), "https://example.org");
        assert_eq!(n(" https://Example.ORG ").unwrap(), "https://example.org");
        assert_eq!(n("https://example.org:443").unwrap(), "https://example.org");
        assert_eq!(n("http://localhost:8081/").unwrap(), "http://localhost:8081");
        assert_eq!(n("http://[::1]:8080").unwrap(), "http://[::1]:8080");
        assert!(
            n("https://example.org/blog")
                .unwrap_err()
                .contains("must not have a path")
        );
        assert!(n("https://example.org/?a=1").unwrap_err().contains("query"));
        assert!(n("https://example.org/#top").unwrap_err().contains("fragment"));
        assert!(n("https://user:pw@example.org").unwrap_err().contains("password"));
        assert!(n("example.org").unwrap_err().contains("http(s)"));
        assert!(n("mailto:a@example.org").unwrap_err().contains("http(s)"));
        assert!(n("").unwrap_err().contains("http(s)"));
    }
}
