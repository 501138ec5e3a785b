//! What each subcommand does. Output meant for scripts goes to stdout (the
//! article URL or token secret on the last line); logs go to stderr.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;
use gazette_core::media::{ImageLimits, accept};
use gazette_core::printable::printable;
use gazette_core::{Article, ArticleStatus, Country, FollowStatus, InteractionKind, LegalForm, Organisation};
use gazette_store::{ArticleQuery, NewMedia, Store};
use gazette_web::DeliveryReport;
use tokio::sync::watch;

use crate::app;
use crate::cli::{
    ArticleCommand, Cli, Command, DeliveriesArgs, DemoCommand, FollowersCommand, GlobalOpts, InitArgs, InstanceCommand,
    PublishArgs, ReportsCommand, ServeArgs, TokenCommand,
};
use crate::config::{self, CONFIG_FILE_ENV, Config};
use crate::error::CliError;
use crate::frontmatter;

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

/// Validates the file, reads its images and stores everything in one transaction.
pub async fn publish(store: &Store, config: &Config, args: &PublishArgs) -> Result<Article, CliError> {
    let default_status = match ArticleStatus::parse(&args.status) {
        Some(s) if s != ArticleStatus::Deleted => s,
        _ => return Err(CliError::Usage(format!("--status: unknown status `{}`", args.status))),
    };
    let parsed = frontmatter::parse_file(&args.file, &|p| std::fs::read_to_string(p))?;
    let read = |p: &Path| std::fs::read(p);
    publish_parsed(
        store,
        config,
        &parsed,
        default_status,
        &read,
        args.update,
        args.url.as_deref(),
        &args.file,
    )
    .await
}

/// Shared by `publish` and the demo seeding (which reads from memory).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn publish_parsed(
    store: &Store,
    config: &Config,
    parsed: &frontmatter::ParsedArticle,
    default_status: ArticleStatus,
    read: &dyn Fn(&Path) -> std::io::Result<Vec<u8>>,
    update: bool,
    target: Option<&str>,
    file: &Path,
) -> Result<Article, CliError> {
    let new = frontmatter::validate(parsed, default_status, Utc::now())?;
    let limits = ImageLimits {
        bytes: usize::try_from(config.media.max_upload_bytes).unwrap_or(usize::MAX),
        pixels: config.media.max_image_pixels,
        side: u32::try_from(config.media.max_image_side).unwrap_or(u32::MAX),
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut media = Vec::new();
    for img in &parsed.images {
        let at = format!("{name}: line {}: {}", img.line, img.field);
        let bytes = read(&img.path)
            .map_err(|e| CliError::Usage(format!("{at}: cannot read image {}: {e}", img.path.display())))?;
        let (info, bytes) =
            accept(&bytes, &limits).map_err(|e| CliError::Usage(format!("{at}: {}: {e}", img.path.display())))?;
        let alt = match img.field.as_str() {
            "cover" => new.cover.as_ref().map(|c| c.alt.clone()).unwrap_or_default(),
            _ => new
                .interviewee
                .as_ref()
                .map(|i| format!("Portrait of {}", i.name))
                .unwrap_or_default(),
        };
        media.push(NewMedia {
            key: img.path.to_string_lossy().into_owned(),
            info,
            alt,
            bytes,
        });
    }
    let fed = app::fed_context(config, store)?;
    if !update {
        let article = store.create_article_with_media(&new, &media).await?;
        gazette_federation::federate_changes(&fed).await;
        return Ok(article);
    }
    let key = match target {
        Some(t) => slug_of(t),
        None => new.slug.clone(),
    };
    let existing = find_article(store, &key).await?.ok_or_else(|| {
        CliError::Usage(format!(
            "--update: no article `{key}` to replace (drop --update to create it)"
        ))
    })?;
    let article = store
        .update_article_with_media(&existing.id, &new, None, &media)
        .await?;
    gazette_federation::federate_changes(&fed).await;
    Ok(article)
}

async fn article(store: &Store, config: &Config, cmd: ArticleCommand) -> Result<(), CliError> {
    match cmd {
        ArticleCommand::List { status, limit } => {
            let statuses = match status.as_deref() {
                None => Vec::new(),
                Some(s) => vec![ArticleStatus::parse(s).ok_or_else(|| {
                    CliError::Usage(format!(
                        "--status: unknown status `{s}`: expected draft, scheduled, published or deleted"
                    ))
                })?],
            };
            let page = store
                .list_articles(&ArticleQuery {
                    statuses,
                    limit,
                    ..Default::default()
                })
                .await?;
            println!(
                "{:<10} {:<10} {:<20} {:<8} {:<40} TITLE",
                "STATUS", "KIND", "PUBLISHED", "LANGS", "SLUG"
            );
            for a in &page.articles {
                let langs: Vec<&str> = a.languages().map(|l| l.as_str()).collect();
                println!(
                    "{:<10} {:<10} {:<20} {:<8} {:<40} {}",
                    a.status.as_str(),
                    a.kind.as_str(),
                    a.published_at
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_else(|| "-".into()),
                    langs.join(","),
                    a.slug,
                    a.translation(None).title
                );
            }
            println!("{} of {} article(s)", page.articles.len(), page.total);
            Ok(())
        }
        ArticleCommand::Show { article } => {
            let a = get_article(store, &article).await?;
            let author = store.get_author(&a.author_id).await?;
            println!("id:        {}", a.id);
            println!("slug:      {}", a.slug);
            println!("kind:      {}", a.kind.as_str());
            println!("status:    {}", a.status.as_str());
            println!("author:    {} ({})", author.name, author.username);
            println!(
                "published: {}",
                a.published_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into())
            );
            println!("updated:   {}", a.updated_at.to_rfc3339());
            println!("version:   {}", a.version);
            println!("tags:      {}", a.tags.join(", "));
            if let Some(c) = &a.cover {
                println!(
                    "cover:     {} ({})",
                    config.instance.public_url.clone() + "/media/" + &c.media_id,
                    c.alt
                );
            }
            if let Some(i) = &a.interviewee {
                println!("interviewee: {} — {}, {}", i.name, i.role, i.organisation);
            }
            for t in &a.translations {
                println!("[{}] {}", t.language, t.title);
                if !t.summary.is_empty() {
                    println!("     {}", t.summary);
                }
            }
            println!("{}", article_url(config, &a));
            Ok(())
        }
        ArticleCommand::Delete { article } => {
            let a = get_article(store, &article).await?;
            if a.status == ArticleStatus::Deleted {
                return Err(CliError::Usage(format!("article `{}` is already deleted", a.slug)));
            }
            let before = a;
            let a = store.set_article_status(&before.id, ArticleStatus::Deleted).await?;
            gazette_federation::federate_changes(&app::fed_context(config, store)?).await;
            println!("deleted (its URL now answers 410 Gone):");
            println!("{}", article_url(config, &a));
            Ok(())
        }
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

/// Follows or unfollows `target` as the organisation; the running server delivers the activity.
async fn follow(store: &Store, config: &Config, target: &str, follow: bool) -> Result<(), CliError> {
    let fed = gazette_federation::federation_config(app::fed_context(config, store)?)
        .await
        .map_err(|e| CliError::Federation(e.to_string()))?;
    let data = fed.to_request_data();
    let result = if follow {
        gazette_federation::follow(&data, target).await
    } else {
        gazette_federation::unfollow(&data, target).await
    };
    let actor = result.map_err(|e| CliError::Federation(format!("{target}: {e}")))?;
    if follow {
        println!(
            "follow request sent to {} ({}); it is pending until they accept",
            printable(&actor.handle()),
            printable(&actor.id)
        );
    } else {
        println!("unfollowed {} ({})", printable(&actor.handle()), printable(&actor.id));
    }
    Ok(())
}

/// Likes, boosts or replies to a remote object as the organisation (or
/// undoes that); the running server delivers the activity.
async fn interaction(
    config: &Config,
    kind: InteractionKind,
    object: &str,
    text: Option<&str>,
    undo: bool,
) -> Result<(), CliError> {
    let store = app::open_store(config).await?;
    let result = async {
        let fed = gazette_federation::federation_config(app::fed_context(config, &store)?)
            .await
            .map_err(|e| CliError::Federation(e.to_string()))?;
        let data = fed.to_request_data();
        let done = if undo {
            gazette_federation::undo_interaction(&data, kind, object).await
        } else {
            gazette_federation::interact(&data, kind, object, text).await
        }
        .map_err(|e| CliError::Federation(format!("{object}: {e}")))?;
        let what = match kind {
            InteractionKind::Like => "like",
            InteractionKind::Announce => "boost",
            InteractionKind::Reply => "reply",
        };
        match (undo, kind) {
            (true, _) => println!("{what} of {} taken back", done.object_id),
            (false, InteractionKind::Reply) => println!(
                "reply to {} queued: {}",
                done.object_id,
                gazette_federation::Urls::new(&config.instance.public_url).note(&done.id)
            ),
            (false, _) => println!("{what} of {} queued ({})", done.object_id, done.id),
        }
        Ok(())
    }
    .await;
    store.close().await;
    result
}

async fn followers(store: &Store, config: &Config, cmd: FollowersCommand) -> Result<(), CliError> {
    let fed = app::fed_context(config, store)?;
    let fed_err = |e: gazette_federation::FederationError| CliError::Federation(e.to_string());
    match cmd {
        FollowersCommand::List { pending, actor } => {
            let status = if pending {
                FollowStatus::Pending
            } else {
                FollowStatus::Accepted
            };
            let actors = gazette_federation::local_actors(&fed).await.map_err(fed_err)?;
            println!("{:<24} {:<10} {:<20} FOLLOWER", "LOCAL ACTOR", "STATUS", "SINCE");
            let mut n = 0;
            for a in actors
                .iter()
                .filter(|a| actor.as_deref().is_none_or(|u| u == a.username()))
            {
                let id = fed.urls().actor(a.username());
                for f in store.list_followers(&id, status, 100_000, 0).await? {
                    n += 1;
                    println!(
                        "{:<24} {:<10} {:<20} {} ({})",
                        a.username(),
                        f.status.as_str(),
                        f.since.format("%Y-%m-%d %H:%M"),
                        printable(&f.actor.handle()),
                        printable(&f.actor.id)
                    );
                }
            }
            println!("{n} follower(s)");
        }
        FollowersCommand::Approve { follower, actor } | FollowersCommand::Reject { follower, actor }
            if follower.trim().is_empty() || actor.as_deref().is_some_and(str::is_empty) =>
        {
            return Err(CliError::Usage("give a follower (actor URL or @name@host)".into()));
        }
        FollowersCommand::Approve { follower, actor } => {
            let done = gazette_federation::answer_follow(&fed, actor.as_deref(), &follower, true)
                .await
                .map_err(fed_err)?;
            println!("approved {follower} as a follower of {}", done.join(", "));
        }
        FollowersCommand::Reject { follower, actor } => {
            let done = gazette_federation::answer_follow(&fed, actor.as_deref(), &follower, false)
                .await
                .map_err(fed_err)?;
            println!("rejected {follower} as a follower of {}", done.join(", "));
        }
    }
    Ok(())
}

async fn reports(store: &Store, cmd: ReportsCommand) -> Result<(), CliError> {
    match cmd {
        ReportsCommand::List { all } => {
            let list = store.list_reports(all).await?;
            for r in &list {
                println!(
                    "[{}] {} — from {}",
                    r.status,
                    r.created_at.format("%Y-%m-%d %H:%M"),
                    printable(&r.reporter)
                );
                println!("  id: {}", printable(&r.id));
                for t in &r.targets {
                    println!("  about: {}", printable(t));
                }
                if !r.content.is_empty() {
                    println!("  \"{}\"", printable(&r.content));
                }
            }
            println!("{} report(s)", list.len());
        }
        ReportsCommand::Resolve { id } => {
            store.resolve_report(&id).await?;
            println!("report {id} resolved");
        }
    }
    Ok(())
}

async fn following(store: &Store, config: &Config) -> Result<(), CliError> {
    let Some(org) = store.find_organisation().await? else {
        println!("no organisation profile: nothing is followed");
        return Ok(());
    };
    let actor_id = format!("{}/users/{}", config.instance.public_url, org.username);
    let list = store.list_following(&actor_id).await?;
    println!("{:<10} {:<40} ACTOR", "STATUS", "HANDLE");
    for f in &list {
        println!(
            "{:<10} {:<40} {}",
            f.status.as_str(),
            printable(&f.target.handle()),
            printable(&f.target.id)
        );
    }
    println!("{} followed", list.len());
    Ok(())
}

/// The delivery queue per remote host, as a table or as the API's JSON.
async fn deliveries(store: &Store, args: &DeliveriesArgs) -> Result<(), CliError> {
    let now = Utc::now();
    let report = DeliveryReport::load(store, now).await?;
    if args.json {
        let json = serde_json::to_string_pretty(&report).map_err(|e| CliError::Io {
            what: "cannot write the report as JSON".into(),
            source: e.into(),
        })?;
        println!("{json}");
        return Ok(());
    }
    let width = report.hosts.iter().map(|h| h.host.len()).max().unwrap_or(0).max(5);
    let time = |t: Option<chrono::DateTime<Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "-".into())
    };
    println!(
        "{:<width$} {:>8} {:>8} {:>9} {:>8} {:<11} {:>6} {:<19} LAST ERROR",
        "HOST", "PENDING", "RETRYING", "DELIVERED", "GIVEN UP", "UNAVAILABLE", "STREAK", "CIRCUIT OPEN UNTIL"
    );
    for h in &report.hosts {
        println!(
            "{:<width$} {:>8} {:>8} {:>9} {:>8} {:<11} {:>6} {:<19} {}",
            h.host,
            h.pending,
            h.retrying,
            h.delivered,
            h.given_up,
            if h.unavailable { "yes" } else { "no" },
            h.consecutive_failures,
            time(h.circuit_open_until),
            h.last_error.as_deref().map(one_line).unwrap_or_else(|| "-".into())
        );
    }
    let t = &report.totals;
    println!(
        "{:<width$} {:>8} {:>8} {:>9} {:>8} {:<11} {:>6} {:<19} -",
        "TOTAL",
        t.pending,
        t.retrying,
        t.delivered,
        t.given_up,
        t.unavailable_hosts,
        "-",
        format!("{} open", t.open_circuits),
    );
    println!(
        "{} host(s); times in UTC; delivered and given-up deliveries are kept 7 days",
        t.hosts
    );
    Ok(())
}

/// An error message on one line, at most 100 characters, for the table.
fn one_line(s: &str) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(100) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

fn article_url(config: &Config, a: &Article) -> String {
    format!("{}/articles/{}", config.instance.public_url, a.slug)
}

/// `https://host/articles/slug[/lang]` → `slug`; anything else is taken as a slug or id.
fn slug_of(s: &str) -> String {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix("http://").or_else(|| s.strip_prefix("https://")) {
        let path = rest.split_once('/').map(|(_, p)| p).unwrap_or("");
        let path = path.split(['?', '#']).next().unwrap_or("");
        let mut parts = path.split('/');
        if parts.next() == Some("articles")
            && let Some(slug) = parts.next()
        {
            return slug.to_owned();
        }
        return path.to_owned();
    }
    s.to_owned()
}

async fn find_article(store: &Store, slug_id_or_url: &str) -> Result<Option<Article>, CliError> {
    let key = slug_of(slug_id_or_url);
    if let Some(a) = store.find_article_by_slug(&key).await? {
        return Ok(Some(a));
    }
    Ok(store.find_article(&key).await?)
}

async fn get_article(store: &Store, slug_id_or_url: &str) -> Result<Article, CliError> {
    find_article(store, slug_id_or_url).await?.ok_or_else(|| {
        CliError::Usage(format!(
            "no article `{}` (give a slug, id or URL)",
            slug_of(slug_id_or_url)
        ))
    })
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
    fn slugs_from_urls() {
        assert_eq!(slug_of("https://news.example.org/articles/hello-world"), "hello-world");
        assert_eq!(slug_of("http://localhost:8081/articles/hello/fr?x=1"), "hello");
        assert_eq!(slug_of("hello"), "hello");
    }

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
