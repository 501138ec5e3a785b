//! Loading: defaults, then the TOML file, then the `GAZETTE_*` variables,
//! each value through its key's setter; unknown keys become warnings.

use std::path::Path;

use gazette_web::mail::MailTls;

use super::keys::{Setter, find_key, sections};
use super::{CONFIG_FILE_ENV, Config, ConfigError, ENV_PREFIX, KEYS, Key, Loaded, MailConfig};

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

#[cfg(test)]
// A failing unwrap is a failing test, which is what it should be.
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::PathBuf;

    use gazette_federation::FederationMode;

    use super::*;
    use crate::config::normalise_public_url;

    const EXAMPLE: &str = include_str!("../../../../config/gazette.example.toml");

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
        assert_eq!(c.database.max_connections, None);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
        assert_eq!(c.database.connections("sqlite://x.db"), cores.clamp(2, 8));
        assert_eq!(c.database.connections("postgres://localhost/x"), 8);
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
        assert_eq!(c.database.max_connections, Some(20));
        assert_eq!(c.database.connections("sqlite://x.db"), 20);
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
        assert_eq!(c.database.max_connections, Some(12));
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
