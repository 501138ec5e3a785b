//! Every configuration key, listed once in [`KEYS`] with the setter that
//! parses and checks its value, and the checks those setters share.

use std::path::PathBuf;

use gazette_core::Language;
use gazette_federation::signatures::knock::SignaturePolicy;
use gazette_federation::{CommentPolicy, FederationMode};
use gazette_web::mail::MailTls;

use super::{Config, ENV_PREFIX};

/// How a key's value is parsed before its setter checks it further.
#[derive(Clone, Copy)]
pub(super) enum Setter {
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
    pub(super) set: Setter,
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
        name: "keep_alive_connections",
        set: Setter::Int(|c, n| {
            c.server.keep_alive_connections = n;
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
                Some(u32::try_from(n).map_err(|_| format!("expected at most {}, got {n}", u32::MAX))?);
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
        name: "quote_policy",
        set: Setter::Text(|c, v| {
            let v = v.trim();
            c.federation.quote_policy = gazette_federation::QuotePolicy::parse(v)
                .ok_or_else(|| format!("expected `everyone`, `followers` or `nobody`, got `{v}`"))?;
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
        section: "federation",
        name: "key_grace_days",
        set: Setter::Int(|c, n| {
            if n > 365 {
                return Err(format!("{n} days: at most 365"));
            }
            c.federation.key_grace_days = n;
            Ok(())
        }),
    },
    Key {
        section: "federation",
        name: "remote_key_check_seconds",
        set: Setter::PositiveInt(|c, n| {
            if n > 30 * 86_400 {
                return Err(format!("{n} seconds: at most 2592000 (30 days)"));
            }
            c.federation.remote_key_check_seconds = n;
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

pub(super) fn find_key(section: &str, name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.section == section && k.name == name)
}

pub(super) fn sections() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for k in KEYS {
        if !out.contains(&k.section) {
            out.push(k.section);
        }
    }
    out
}

pub(super) fn non_empty(v: &str) -> Result<&str, String> {
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

pub(super) fn hex_color(v: &str) -> Result<String, String> {
    let v = v.trim();
    match v.strip_prefix('#') {
        Some(hex) if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) => Ok(v.to_ascii_lowercase()),
        _ => Err(format!("expected a colour such as #1d6b4f, got {v:?}")),
    }
}
