//! `gazette network …`: joining a network as a member, and running one as
//! its coordinator (membership decisions, member health, moderation of the
//! shared feed). Activities are queued; the running server delivers them
//! and backfills newly approved members.

use chrono::{DateTime, Utc};
use gazette_core::MemberStatus;
use gazette_federation::FederationError;
use gazette_federation::network::{membership, retry};
use gazette_store::Store;

use crate::app;
use crate::cli::NetworkCommand;
use crate::config::Config;
use crate::error::CliError;

/// Refuses to start a coordinator whose network actor would take the
/// username of the organisation or an author (one namespace for actors).
pub async fn check_username(config: &Config, store: &Store) -> Result<(), CliError> {
    if !config.network.enabled {
        return Ok(());
    }
    let name = &config.network.username;
    let org = store.find_organisation().await?;
    let author = store.find_author(name).await?;
    if org.is_some_and(|o| &o.username == name) || author.is_some_and(|a| &a.username == name) {
        return Err(CliError::Usage(format!(
            "network.username: `{name}` is already the username of the organisation or an author; choose another"
        )));
    }
    Ok(())
}

/// Runs one `gazette network` subcommand.
pub async fn run(config: &Config, cmd: NetworkCommand) -> Result<(), CliError> {
    let store = app::open_store(config).await?;
    let result = act(&store, config, cmd).await;
    store.close().await;
    result
}

fn federation(target: &str) -> impl Fn(FederationError) -> CliError + '_ {
    move |e| match e {
        FederationError::Store(e) => CliError::Store(e),
        other => CliError::Federation(format!("{target}: {other}")),
    }
}

fn coordinator(config: &Config) -> Result<(), CliError> {
    if config.network.enabled {
        Ok(())
    } else {
        Err(CliError::Usage(
            "this instance is not a network coordinator: set `[network] enabled = true` \
             (or GAZETTE_NETWORK__ENABLED=true)"
                .into(),
        ))
    }
}

async fn act(store: &Store, config: &Config, cmd: NetworkCommand) -> Result<(), CliError> {
    let ctx = app::fed_context(config, store)?;
    match cmd {
        NetworkCommand::Join { target } => {
            let fed = gazette_federation::federation_config(ctx)
                .await
                .map_err(|e| CliError::Federation(e.to_string()))?;
            let group = membership::join(&fed.to_request_data(), &target)
                .await
                .map_err(federation(&target))?;
            println!(
                "asked to join {} ({}); the coordinator decides, and follows this organisation once approved",
                group.handle(),
                group.id
            );
        }
        NetworkCommand::Members { status, json } => {
            coordinator(config)?;
            let status = match status.as_deref() {
                None => None,
                Some(s) => Some(MemberStatus::parse(s).ok_or_else(|| {
                    CliError::Usage(format!(
                        "--status: unknown status `{s}`: expected requested, approved, suspended, rejected, removed or left"
                    ))
                })?),
            };
            let health = membership::health(&ctx, status).await.map_err(federation("members"))?;
            if json {
                let text = serde_json::to_string_pretty(&health).map_err(|e| CliError::Io {
                    what: "cannot write the members as JSON".into(),
                    source: e.into(),
                })?;
                println!("{text}");
                return Ok(());
            }
            let time = |t: Option<DateTime<Utc>>| {
                t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "-".into())
            };
            println!(
                "{:<10} {:<36} {:<7} {:<9} {:<17} {:>8} {:>7} {:>7} {:>7} {:>7} {:<16} NAME",
                "STATUS",
                "HANDLE",
                "COUNTRY",
                "FOLLOWED",
                "LAST ACTIVITY",
                "ARTICLES",
                "PENDING",
                "FAILING",
                "SIG.ERR",
                "LIMITED",
                "BACKFILL"
            );
            for h in &health {
                let m = &h.member;
                println!(
                    "{:<10} {:<36} {:<7} {:<9} {:<17} {:>8} {:>7} {:>7} {:>7} {:>7} {:<16} {}",
                    m.status.as_str(),
                    format!("@{}", m.handle),
                    m.profile.country.as_deref().unwrap_or("-"),
                    h.followed,
                    time(m.last_activity_at),
                    h.articles,
                    h.deliveries_pending,
                    h.deliveries_failing,
                    m.signature_failures,
                    m.rate_limited,
                    format!("{} {}/{}", m.backfill.state, m.backfill.pages, m.backfill.items),
                    m.profile.name
                );
                match &h.stuck {
                    Some(stuck) => {
                        println!("{:<10} stuck: {}", "", retry::advice(stuck));
                        if let Some(e) = &h.last_error {
                            println!("{:<10} last error: {e}", "");
                        }
                    }
                    None => {
                        if let Some(e) = &m.backfill.error {
                            println!("{:<10} backfill error: {e}", "");
                        }
                    }
                }
            }
            println!("{} member(s) and request(s); times in UTC", health.len());
        }
        NetworkCommand::Approve { member } => decide(config, &ctx, &member, MemberStatus::Approved).await?,
        NetworkCommand::Reject { member } => decide(config, &ctx, &member, MemberStatus::Rejected).await?,
        NetworkCommand::Suspend { member } => decide(config, &ctx, &member, MemberStatus::Suspended).await?,
        NetworkCommand::Remove { member } => decide(config, &ctx, &member, MemberStatus::Removed).await?,
        NetworkCommand::Invite { target } => {
            coordinator(config)?;
            let fed = gazette_federation::federation_config(ctx)
                .await
                .map_err(|e| CliError::Federation(e.to_string()))?;
            let m = membership::invite(&fed.to_request_data(), &target)
                .await
                .map_err(federation(&target))?;
            println!(
                "invited @{} ({}): approved; the network follows it and will read its outbox",
                m.handle, m.actor
            );
        }
        NetworkCommand::Retry { member } => {
            coordinator(config)?;
            let r = retry::retry(&ctx, &member).await.map_err(federation(&member))?;
            let mut what = Vec::new();
            if r.follow_sent {
                what.push("a fresh Follow is queued (its Accept starts the backfill)");
            }
            if r.backfill_queued {
                what.push("its backfill runs at once");
            }
            println!(
                "@{} ({}) retried: {}; a running server sends and reads it (see `gazette network members`)",
                r.member.handle,
                r.member.actor,
                what.join("; ")
            );
        }
        NetworkCommand::Hide { item } => {
            coordinator(config)?;
            membership::hide_item(&ctx, &item, true)
                .await
                .map_err(federation(&item))?;
            println!("{item} removed from the shared feed (kept; `gazette network restore` shows it again)");
        }
        NetworkCommand::Restore { item } => {
            coordinator(config)?;
            let restored = membership::hide_item(&ctx, &item, false)
                .await
                .map_err(federation(&item))?;
            match restored.announce_id {
                Some(_) => println!("{item} is back in the shared feed, announced again"),
                None => println!("{item} is back in the shared feed"),
            }
        }
    }
    Ok(())
}

async fn decide(
    config: &Config,
    ctx: &gazette_federation::FedContext,
    member: &str,
    status: MemberStatus,
) -> Result<(), CliError> {
    coordinator(config)?;
    let m = membership::decide(ctx, member, status)
        .await
        .map_err(federation(member))?;
    let what = match status {
        MemberStatus::Approved => "approved: the network follows it and will read its outbox",
        MemberStatus::Rejected => "rejected",
        MemberStatus::Suspended => "suspended: its articles are hidden from the feed (kept)",
        MemberStatus::Removed => "removed: its articles are hidden (kept) and the network no longer follows it",
        MemberStatus::Requested => "requested",
        MemberStatus::Left => "left",
    };
    println!("@{} ({}) {what}", m.handle, m.actor);
    Ok(())
}
