//! `gazette demo network`: a network at work on this machine in one
//! command. A coordinator and four member organisations (a Belgian energy
//! cooperative, a French mutual health insurer, a Spanish work-integration
//! social enterprise, an Italian social cooperative), each a separate
//! Gazette instance in this process with its own SQLite database and its
//! own loopback port, each seeded with its demo articles. The members ask
//! to join through real federation (`gazette network join`: a `Follow` of
//! the network actor), the coordinator approves them (its `Accept`, then
//! its own `Follow` of each member, accepted by the member's server), the
//! backfill reads their outboxes, and once every member's articles are in
//! the shared feed the URLs to open are printed. Ctrl-C stops every
//! instance; the data directory is removed then unless it was given with
//! `--dir` or `--keep` was passed.
//!
//! Loopback addresses are private: only these demo instances fetch and
//! deliver to them (`federation.allow_private_addresses`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gazette_core::MemberStatus;
use gazette_federation::network::membership;
use gazette_store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app;
use crate::cli::DemoNetworkArgs;
use crate::config::Config;
use crate::demo::{self, DemoContent};
use crate::error::CliError;

mod content;

/// How long the members have to join and have their articles in the shared feed.
const READY_WITHIN: Duration = Duration::from_secs(60);
/// How often the coordinator's state is looked at while waiting.
const POLL: Duration = Duration::from_millis(200);

/// The network's display name and description.
const NETWORK_NAME: &str = "European Social Economy Exchange";
const NETWORK_SUMMARY: &str = "Cooperatives, mutuals, associations and social enterprises from across Europe \
     share their news and interviews in one feed.";

/// One running demo instance.
struct Instance {
    /// The directory name under the demo directory (`coordinator`, `member-be`…).
    dir_name: &'static str,
    config: Config,
    store: Store,
    server: JoinHandle<Result<(), CliError>>,
}

impl Instance {
    fn base(&self) -> &str {
        &self.config.instance.public_url
    }

    /// `host:port` of the public URL.
    fn host(&self) -> &str {
        self.base().trim_start_matches("http://").trim_start_matches("https://")
    }
}

/// Runs the demo network until Ctrl-C (or SIGTERM).
pub async fn run(args: DemoNetworkArgs) -> Result<(), CliError> {
    let (root, remove_at_end) = match &args.dir {
        Some(dir) => (dir.clone(), false),
        None => (default_dir(), !args.keep),
    };
    check_empty(&root)?;
    // Absolute, so each instance's gazette.toml works from any directory.
    let root = std::path::absolute(&root).map_err(|e| CliError::Io {
        what: format!("cannot resolve the demo directory {}", root.display()),
        source: e,
    })?;
    let (stop, stopped) = watch::channel(false);
    let mut instances = Vec::new();
    let mut outcome = start_and_wait(&root, stopped, &mut instances).await;
    // Every instance stops, also when the demo could not get ready.
    let _ = stop.send(true);
    for i in instances {
        let stopped = match i.server.await {
            Ok(r) => r,
            Err(e) => Err(CliError::Federation(format!(
                "the {} instance stopped abnormally: {e}",
                i.dir_name
            ))),
        };
        if let Err(e) = stopped {
            tracing::warn!(instance = i.dir_name, error = %e, "demo instance failed");
            outcome = outcome.and(Err(e));
        }
    }
    if remove_at_end {
        if let Err(e) = std::fs::remove_dir_all(&root) {
            tracing::warn!(dir = %root.display(), error = %e, "cannot remove the demo directory");
        }
    } else {
        println!("the demo's data is kept in {}", root.display());
    }
    outcome
}

/// The demo starts from nothing: its instances record the ports they
/// listen on as their public URLs, which change from one run to the next.
fn check_empty(root: &Path) -> Result<(), CliError> {
    let not_empty = std::fs::read_dir(root).is_ok_and(|mut entries| entries.next().is_some());
    if not_empty {
        return Err(CliError::Usage(format!(
            "--dir {}: the directory is not empty; give a new or empty directory (the demo network starts from \
             nothing on new ports every time)",
            root.display()
        )));
    }
    std::fs::create_dir_all(root).map_err(|e| CliError::Io {
        what: format!("cannot create the demo directory {}", root.display()),
        source: e,
    })
}

/// Starts every instance (into `instances`, so the caller stops them
/// whatever happens), joins the members and waits for the shared feed,
/// prints the URLs, then waits for Ctrl-C.
async fn start_and_wait(
    root: &Path,
    stopped: watch::Receiver<bool>,
    instances: &mut Vec<Instance>,
) -> Result<(), CliError> {
    let started = Instant::now();
    instances.push(start(root, "coordinator", &content::COORDINATOR, true, stopped.clone()).await?);
    for (dir_name, c) in content::MEMBERS {
        instances.push(start(root, dir_name, c, false, stopped.clone()).await?);
    }
    join_and_approve(instances).await?;
    let articles = wait_for_feed(instances).await?;
    print_urls(root, instances, articles, started.elapsed());
    crate::commands::shutdown_signal().await;
    println!("stopping the demo network");
    Ok(())
}

/// Seeds and starts one instance on a free loopback port.
async fn start(
    root: &Path,
    dir_name: &'static str,
    content: &DemoContent,
    coordinator: bool,
    stopped: watch::Receiver<bool>,
) -> Result<Instance, CliError> {
    let mut config = Config::default();
    config.server.data_dir = root.join(dir_name);
    config.federation.allow_private_addresses = true;
    if coordinator {
        config.network.enabled = true;
        config.network.name = NETWORK_NAME.into();
        config.network.summary = NETWORK_SUMMARY.into();
    }
    let store = app::open_store(&config).await?;
    let listener = app::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr().map_err(|e| CliError::Io {
        what: "cannot read the bound address".into(),
        source: e,
    })?;
    // activitypub_federation refuses IP-literal hosts: `localhost` it is.
    config.instance.public_url = format!("http://localhost:{}", addr.port());
    config.instance.public_url_configured = true;
    crate::identity::settle(&mut config, &store, Some(addr)).await?;
    demo::seed_content(&store, &config, content).await?;
    if let Some(org) = store.find_organisation().await? {
        config.instance.name = org.name;
        config.instance.default_language = org
            .languages
            .first()
            .cloned()
            .unwrap_or(config.instance.default_language);
    }
    write_config(&config)?;
    let server = tokio::spawn({
        let config = config.clone();
        let store = store.clone();
        async move { app::serve(&config, store, listener, stopped).await }
    });
    Ok(Instance {
        dir_name,
        config,
        store,
        server,
    })
}

/// Writes the instance's settings to `gazette.toml` in its directory, so
/// `gazette --config DIR/gazette.toml …` (`network members`, `user
/// create`…) works on it while the demo runs.
fn write_config(config: &Config) -> Result<(), CliError> {
    let path = config.server.data_dir.join("gazette.toml");
    let text = toml::to_string(config).map_err(|e| CliError::Io {
        what: format!("cannot write {}", path.display()),
        source: std::io::Error::other(e),
    })?;
    let text = format!("# Written by `gazette demo network` for this demo instance.\n{text}");
    std::fs::write(&path, text).map_err(|e| CliError::Io {
        what: format!("cannot write {}", path.display()),
        source: e,
    })
}

fn federation_error(what: &str) -> impl Fn(gazette_federation::FederationError) -> CliError + '_ {
    move |e| CliError::Federation(format!("{what}: {e}"))
}

/// Each member asks to join (a `Follow` of the network actor, delivered by
/// its server), and the coordinator approves each request once it arrived.
async fn join_and_approve(instances: &[Instance]) -> Result<(), CliError> {
    let (coordinator, members) = instances
        .split_first()
        .ok_or_else(|| CliError::Usage("the demo network has no coordinator".into()))?;
    let network = format!("@{}@{}", coordinator.config.network.username, coordinator.host());
    let mut actors = Vec::new();
    for m in members {
        let ctx = app::fed_context(&m.config, &m.store)?;
        let fed = gazette_federation::federation_config(ctx)
            .await
            .map_err(|e| CliError::Federation(e.to_string()))?;
        let what = format!("{} joining {network}", m.dir_name);
        membership::join(&fed.to_request_data(), &network)
            .await
            .map_err(federation_error(&what))?;
        actors.push(organisation_actor(m).await?);
    }
    let ctx = app::fed_context(&coordinator.config, &coordinator.store)?;
    let deadline = Instant::now() + READY_WITHIN;
    let mut waiting = actors.clone();
    while !waiting.is_empty() {
        let requested = coordinator.store.list_members(Some(MemberStatus::Requested)).await?;
        for actor in waiting.clone() {
            if requested.iter().any(|r| r.actor == actor) {
                membership::approve(&ctx, &actor)
                    .await
                    .map_err(federation_error(&format!("approving {actor}")))?;
                waiting.retain(|a| a != &actor);
            }
        }
        if Instant::now() > deadline {
            return Err(CliError::Federation(format!(
                "the coordinator did not receive the join requests of {} within {} s",
                waiting.join(", "),
                READY_WITHIN.as_secs()
            )));
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(())
}

/// The actor id of an instance's organisation.
async fn organisation_actor(i: &Instance) -> Result<String, CliError> {
    let org = i
        .store
        .find_organisation()
        .await?
        .ok_or_else(|| CliError::Usage(format!("the {} demo has no organisation", i.dir_name)))?;
    Ok(format!("{}/users/{}", i.base(), org.username))
}

/// Waits until every member's follow is accepted, its backfill done and
/// its articles in the shared feed; returns the number of articles.
async fn wait_for_feed(instances: &[Instance]) -> Result<i64, CliError> {
    let (coordinator, members) = instances
        .split_first()
        .ok_or_else(|| CliError::Usage("the demo network has no coordinator".into()))?;
    let ctx = app::fed_context(&coordinator.config, &coordinator.store)?;
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        let health = membership::health(&ctx, Some(MemberStatus::Approved))
            .await
            .map_err(federation_error("reading the members' health"))?;
        let ready = |h: &gazette_store::MemberHealth| {
            h.followed == "accepted" && h.member.backfill.state == "done" && h.articles > 0
        };
        if health.len() == members.len() && health.iter().all(ready) {
            return Ok(health.iter().map(|h| h.articles).sum());
        }
        if Instant::now() > deadline {
            let states: Vec<String> = health
                .iter()
                .map(|h| {
                    format!(
                        "@{}: follow {}, backfill {}, {} article(s){}",
                        h.member.handle,
                        h.followed,
                        h.member.backfill.state,
                        h.articles,
                        h.last_error
                            .as_deref()
                            .or(h.member.backfill.error.as_deref())
                            .map(|e| format!(" ({e})"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            return Err(CliError::Federation(format!(
                "the shared feed did not fill within {} s: {}",
                READY_WITHIN.as_secs(),
                states.join("; ")
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

fn print_urls(root: &Path, instances: &[Instance], articles: i64, took: Duration) {
    let Some((coordinator, members)) = instances.split_first() else {
        return;
    };
    let mut out = String::new();
    out.push_str(&format!(
        "\n{NETWORK_NAME}: {} members, {articles} articles in the shared feed (ready in {:.1} s)\n\n",
        members.len(),
        took.as_secs_f64()
    ));
    out.push_str(&format!("  shared feed:    {}/network/feed\n", coordinator.base()));
    out.push_str(&format!("  members page:   {}/network/members\n", coordinator.base()));
    out.push_str(&format!(
        "  network actor:  @{}@{} (follow it from a fediverse account on this machine)\n\n",
        coordinator.config.network.username,
        coordinator.host()
    ));
    for m in members {
        out.push_str(&format!(
            "  member:         {}/  ({})\n",
            m.base(),
            m.config.instance.name
        ));
    }
    out.push_str(&format!(
        "\n  data:           {} (one directory per instance)\n",
        root.display()
    ));
    let coordinator_config = coordinator.config.server.data_dir.join("gazette.toml");
    out.push_str(&format!(
        "  commands:       gazette --config {} network members   (any `gazette` command; each \
         instance has its gazette.toml)\n",
        coordinator_config.display()
    ));
    out.push_str(&format!(
        "  admin:          gazette --config {} user create admin --role admin, then {}/admin/network\n",
        coordinator_config.display(),
        coordinator.base()
    ));
    out.push_str("\nPress Ctrl-C to stop every instance.\n");
    print!("{out}");
    let _ = std::io::stdout().flush();
}

/// Where `gazette demo network` keeps its data when no `--dir` is given.
pub fn default_dir() -> PathBuf {
    std::env::temp_dir().join(format!("gazette-demo-network-{}", std::process::id()))
}
