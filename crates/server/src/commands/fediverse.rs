//! The commands that talk about other servers: follow and unfollow, likes,
//! boosts and replies, followers, reports, who the organisation follows, and
//! the delivery queue.

use chrono::Utc;
use gazette_core::printable::printable;
use gazette_core::{FollowStatus, InteractionKind};
use gazette_store::Store;
use gazette_web::DeliveryReport;

use crate::app;
use crate::cli::{DeliveriesArgs, FollowersCommand, ReportsCommand};
use crate::config::Config;
use crate::error::CliError;

/// Follows or unfollows `target` as the organisation; the running server delivers the activity.
pub(super) async fn follow(store: &Store, config: &Config, target: &str, follow: bool) -> Result<(), CliError> {
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
pub(super) async fn interaction(
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

pub(super) async fn followers(store: &Store, config: &Config, cmd: FollowersCommand) -> Result<(), CliError> {
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

pub(super) async fn reports(store: &Store, cmd: ReportsCommand) -> Result<(), CliError> {
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

pub(super) async fn following(store: &Store, config: &Config) -> Result<(), CliError> {
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
pub(super) async fn deliveries(store: &Store, args: &DeliveriesArgs) -> Result<(), CliError> {
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
