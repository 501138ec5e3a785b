//! What each subcommand does. Output meant for scripts goes to stdout (the
//! article URL or token secret on the last line); logs go to stderr.
//!
//! This file holds the dispatch, configuration and logging setup, `init`,
//! `serve` and tokens; `articles` and `fediverse` hold the rest.

use std::io::Write;
use std::path::PathBuf;

use chrono::Utc;
use gazette_core::{Article, Country, InteractionKind, LegalForm, Organisation};
use gazette_store::Store;
use tokio::sync::watch;

use crate::app;
use crate::cli::{Cli, Command, DemoCommand, GlobalOpts, InitArgs, InstanceCommand, ServeArgs, TokenCommand};
use crate::config::{self, CONFIG_FILE_ENV, Config};
use crate::error::CliError;

mod articles;
mod fediverse;
mod quotes;

use articles::article;
use fediverse::{deliveries, follow, followers, following, interaction, reports};

pub use articles::publish;
pub(crate) use articles::publish_parsed;

/// Runs one command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let mut config = match load_config(&cli.global, matches!(cli.command, Command::Demo(_))) {
        Ok(c) => c,
        Err(e) if matches!(cli.command, Command::Doctor) => return Err(crate::doctor::config_failed(&e)),
        Err(e) => return Err(e),
    };
    // Every command that names actors or articles uses the instance's
    // recorded public URL (see `identity`); these settle it themselves,
    // change it, or never name anything.
    if !matches!(
        cli.command,
        Command::Init(_)
            | Command::Serve(_)
            | Command::Migrate(_)
            | Command::Instance(_)
            | Command::Backup { .. }
            | Command::Restore { .. }
            | Command::Doctor
            | Command::Demo(_)
    ) {
        crate::identity::settle_for_command(&mut config).await?;
    }
    // On PostgreSQL the triggers announce article and delivery writes
    // only; a running server must also hear of profiles, users, replies
    // and blocks written here, to empty its cache of public answers.
    let announce = (!matches!(
        cli.command,
        Command::Serve(_) | Command::Migrate(_) | Command::Backup { .. } | Command::Doctor | Command::Demo(_)
    ))
    .then(|| config.clone())
    .filter(|c| c.database_url().starts_with("postgres"));
    let result = match cli.command {
        Command::Init(args) => init(&cli.global, &mut config, args).await,
        Command::Serve(args) => serve(config, args).await,
        Command::Migrate(args) if args.check => crate::backup::migrate_check(&config).await,
        Command::Migrate(_) => {
            let store = app::open_store(&config).await?;
            println!("database is up to date ({})", redact(&config.database_url()));
            store.close().await;
            Ok(())
        }
        Command::Instance(InstanceCommand::Show) => crate::identity::show(&config).await,
        Command::Instance(InstanceCommand::SetPublicUrl { url }) => {
            crate::identity::set_public_url(&config, &url).await
        }
        Command::Backup { file } => crate::backup::backup(&config, &file).await,
        Command::Restore { file } => crate::backup::restore(&config, &file).await,
        Command::Doctor => crate::doctor::run(&config).await,
        Command::Publish(args) => {
            let store = app::open_store(&config).await?;
            let result = publish(&store, &config, &args).await;
            store.close().await;
            let article = result?;
            println!("{}", article_url(&config, &article));
            Ok(())
        }
        Command::Article(cmd) => {
            let store = app::open_store(&config).await?;
            let result = article(&store, &config, cmd).await;
            store.close().await;
            result
        }
        Command::Follow { target } => {
            let store = app::open_store(&config).await?;
            let result = follow(&store, &config, &target, true).await;
            store.close().await;
            result
        }
        Command::Unfollow { target } => {
            let store = app::open_store(&config).await?;
            let result = follow(&store, &config, &target, false).await;
            store.close().await;
            result
        }
        Command::Followers(cmd) => {
            let store = app::open_store(&config).await?;
            let result = followers(&store, &config, cmd).await;
            store.close().await;
            result
        }
        Command::Reports(cmd) => {
            let store = app::open_store(&config).await?;
            let result = reports(&store, cmd).await;
            store.close().await;
            result
        }
        Command::Like { object, undo } => interaction(&config, InteractionKind::Like, &object, None, undo).await,
        Command::Boost { object, undo } => interaction(&config, InteractionKind::Announce, &object, None, undo).await,
        Command::Reply { object, text, delete } => {
            interaction(&config, InteractionKind::Reply, &object, text.as_deref(), delete).await
        }
        Command::Following => {
            let store = app::open_store(&config).await?;
            let result = following(&store, &config).await;
            store.close().await;
            result
        }
        Command::Token(cmd) => {
            let store = app::open_store(&config).await?;
            let result = token(&store, cmd).await;
            store.close().await;
            result
        }
        Command::Deliveries(args) => {
            let store = app::open_store(&config).await?;
            let result = deliveries(&store, &args).await;
            store.close().await;
            result
        }
        Command::Keys(cmd) => crate::keys::run(&config, cmd).await,
        Command::Block(cmd) => crate::blocks::run(&config, crate::blocks::Action::Block(cmd)).await,
        Command::Unblock(cmd) => crate::blocks::run(&config, crate::blocks::Action::Unblock(cmd)).await,
        Command::Allow(cmd) => crate::blocks::run(&config, crate::blocks::Action::Allow(cmd)).await,
        Command::Disallow(cmd) => crate::blocks::run(&config, crate::blocks::Action::Disallow(cmd)).await,
        Command::Blocks => crate::blocks::run(&config, crate::blocks::Action::List).await,
        Command::User(cmd) => crate::users::run(&config, cmd).await,
        Command::Network(cmd) => crate::network::run(&config, cmd).await,
        Command::Demo(DemoCommand::Network(args)) => crate::demo_network::run(args).await,
        Command::Import(cmd) => crate::import::run(&config, cmd).await,
    };
    if let Some(config) = announce
        && result.is_ok()
    {
        let store = app::open_store(&config).await?;
        let announced = store.announce_change().await;
        store.close().await;
        announced?;
    }
    result
}

/// Config file, then environment, then flags; warnings are logged. A demo
/// (five servers in one process) logs warnings only unless a level was set.
fn load_config(global: &GlobalOpts, demo: bool) -> Result<Config, CliError> {
    let file = global
        .config
        .clone()
        .or_else(|| std::env::var_os(CONFIG_FILE_ENV).map(PathBuf::from))
        .or_else(|| Some(PathBuf::from("gazette.toml")).filter(|p| p.exists()));
    let loaded = config::load(file.as_deref(), std::env::vars())?;
    let mut config = loaded.config;
    if let Some(dir) = &global.data_dir {
        config.server.data_dir = dir.clone();
    }
    if let Some(url) = &global.public_url {
        config.instance.public_url =
            config::normalise_public_url(url).map_err(|m| CliError::Usage(format!("--public-url: {m}")))?;
        config.instance.public_url_configured = true;
    }
    if let Some(url) = &global.database_url {
        config.database.url = Some(url.clone());
    }
    let level = match demo && config.log.level == config::LogConfig::default().level {
        true => "warn",
        false => config.log.level.as_str(),
    };
    init_logging(level, &config.log.format);
    for w in loaded.warnings {
        tracing::warn!("{w}");
    }
    Ok(config)
}

/// Logs to stderr at `level` (`RUST_LOG` wins), as escaped text lines or,
/// with `format = "json"`, one JSON object a line (the request's span and
/// its `request_id` included), whose serializer escapes control characters.
fn init_logging(level: &str, format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if format == "json" {
        let _ = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
        return;
    }
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .fmt_fields(escaped_fields())
        .with_writer(std::io::stderr)
        .try_init();
}

/// How log fields are written: `name=value`, the message bare, with every
/// control character escaped. Fields and messages carry text from other
/// servers (an activity id, a refusal's reason); a newline in it must not
/// start what looks like another log line, nor an escape sequence drive
/// the terminal reading the log.
fn escaped_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + Send + Sync + 'static {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(
        |w: &mut tracing_subscriber::fmt::format::Writer<'_>,
         field: &tracing::field::Field,
         value: &dyn std::fmt::Debug| {
            let text = format!("{value:?}");
            if field.name() == "message" {
                write!(w, "{}", gazette_core::printable::Printable(&text))
            } else {
                write!(w, "{}={}", field.name(), gazette_core::printable::Printable(&text))
            }
        },
    )
    .delimited(" ")
}

async fn init(global: &GlobalOpts, config: &mut Config, args: InitArgs) -> Result<(), CliError> {
    let path = global.config.clone().unwrap_or_else(|| PathBuf::from("gazette.toml"));
    if path.exists() && !args.force {
        println!(
            "keeping existing config file {} (use --force to overwrite)",
            path.display()
        );
    } else {
        config.server.listen = args.listen;
        // Without a URL, the first `gazette serve` records the address it
        // listens on; the line stays for the sysadmin to fill in.
        let public_url = match config.instance.public_url_configured {
            true => format!("public_url = {}", toml_str(&config.instance.public_url)),
            false => {
                "# public_url = \"https://news.example.org\"  # recorded in the database at the first start".into()
            }
        };
        let text = format!(
            "# Gazette configuration; every key is documented in config/gazette.example.toml.\n\
             # Environment variables GAZETTE_<SECTION>__<KEY> override these values.\n\n\
             [instance]\n{public_url}\n\n[server]\nlisten = {}\ndata_dir = {}\n",
            toml_str(&config.server.listen.to_string()),
            toml_str(&config.server.data_dir.display().to_string()),
        );
        let text = match &config.database.url {
            Some(url) => format!("{text}\n[database]\nurl = {}\n", toml_str(url)),
            None => text,
        };
        std::fs::write(&path, text).map_err(|e| CliError::Io {
            what: format!("cannot write {}", path.display()),
            source: e,
        })?;
        println!("wrote {}", path.display());
    }
    let store = app::open_store(config).await?;
    println!("database ready: {}", redact(&config.database_url()));
    if let Err(e) = crate::identity::settle(config, &store, None).await {
        store.close().await;
        return Err(e);
    }
    if config.instance.public_url_configured {
        println!("public URL recorded: {}", config.instance.public_url);
    }
    if let Some(name) = args.org_name.as_deref().filter(|n| !n.trim().is_empty()) {
        let country = args
            .country
            .as_deref()
            .ok_or_else(|| CliError::Usage("--country is required with --org-name".into()))?;
        let org = Organisation {
            username: args.org_username.trim().to_ascii_lowercase(),
            name: name.trim().to_owned(),
            description: String::new(),
            logo: None,
            website: None,
            country: Country::parse(country).map_err(|m| CliError::Usage(format!("--country: {m}")))?,
            legal_form: LegalForm::parse(&args.legal_form).ok_or_else(|| {
                CliError::Usage(format!(
                    "--legal-form: unknown legal form `{}`: expected cooperative, mutual, association, foundation, social_enterprise or other",
                    args.legal_form
                ))
            })?,
            sectors: Vec::new(),
            languages: vec![config.instance.default_language.clone()],
            updated_at: Utc::now(),
        };
        store.save_organisation(&org).await?;
        println!("organisation `{}` saved", org.name);
    }
    let (token, secret) = store.create_token("admin").await?;
    store.close().await;
    println!(
        "admin API token `{}` created (shown once; revoke with `gazette token revoke {}`):",
        token.name, token.id
    );
    println!("{secret}");
    Ok(())
}

async fn serve(mut config: Config, args: ServeArgs) -> Result<(), CliError> {
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    let store = app::open_store(&config).await?;
    let listener = if args.listen_stdin {
        crate::listener::from_stdin()?
    } else {
        app::bind(config.server.listen).await?
    };
    let addr = listener.local_addr().map_err(|e| CliError::Io {
        what: "cannot read bound address".into(),
        source: e,
    })?;
    crate::identity::settle(&mut config, &store, Some(addr)).await?;
    if args.demo {
        if crate::demo::seed(&store, &config).await? {
            tracing::info!("demo content added");
        } else {
            tracing::info!("database already has content; demo content not added");
        }
    }
    tracing::info!(public_url = %config.instance.public_url, "Gazette listening on http://{addr}");
    // Scripts and tests read this line to learn the port.
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = tx.send(true);
    });
    app::serve(&config, store, listener, rx).await
}

/// Ctrl-C, or SIGTERM on Unix.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn token(store: &Store, cmd: TokenCommand) -> Result<(), CliError> {
    match cmd {
        TokenCommand::Create {
            name,
            user,
            expires_days,
        } => {
            let expires = expires_days.map(|d| Utc::now() + chrono::Duration::days(i64::from(d)));
            let (token, secret) = store.create_token_for(&name, user.as_deref(), expires).await?;
            println!(
                "token `{}` created with id {} (the secret is shown once):",
                token.name, token.id
            );
            println!("{secret}");
        }
        TokenCommand::List => {
            println!(
                "{:<34} {:<16} {:<20} {:<20} {:<20} {:<20} NAME",
                "ID", "USER", "CREATED", "EXPIRES", "LAST USED", "REVOKED"
            );
            let fmt = |t: Option<chrono::DateTime<Utc>>| {
                t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "-".into())
            };
            for t in store.list_tokens().await? {
                println!(
                    "{:<34} {:<16} {:<20} {:<20} {:<20} {:<20} {}",
                    t.id,
                    t.owner.as_deref().unwrap_or("-"),
                    fmt(Some(t.created_at)),
                    fmt(t.expires_at),
                    fmt(t.last_used_at),
                    fmt(t.revoked_at),
                    t.name
                );
            }
        }
        TokenCommand::Revoke { token } => {
            let t = store.revoke_token(&token).await?;
            println!("token `{}` ({}) revoked", t.name, t.id);
        }
    }
    Ok(())
}

pub(super) fn article_url(config: &Config, a: &Article) -> String {
    format!("{}/articles/{}", config.instance.public_url, a.slug)
}

fn toml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://data/gazette.db"), "sqlite://data/gazette.db");
    }

    /// What a test subscriber wrote.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn remote_text_cannot_forge_log_lines() {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .fmt_fields(escaped_fields())
            .with_writer(move || writer.clone())
            .finish();
        let id = "https://evil.example/notes/1\n2026-12-06T17:00:00Z  INFO gazette: admin signed in";
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(reason = %format!("note {id} is not ours"), note = id, "refused {}", "\u{1b}[2J");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(
            text.contains("reason=note https://evil.example/notes/1\\n2026-12-06T17:00:00Z  INFO"),
            "{text}"
        );
        assert!(text.contains("refused \\u{1b}[2J"), "{text}");
    }
}
