//! `gazette block|unblock|allow|disallow|blocks`: the domain and actor
//! blocks and the allowlist. Blocking a domain purges what was stored from
//! it; a running server reads the lists on every request, so changes take
//! effect at once, without a restart.

use chrono::{DateTime, Utc};
use gazette_federation::FederationMode;
use gazette_store::Store;

use crate::app;
use crate::cli::{AllowCommand, BlockCommand, UnblockCommand};
use crate::config::Config;
use crate::error::CliError;

/// One of the safety subcommands.
#[derive(Debug)]
pub enum Action {
    Block(BlockCommand),
    Unblock(UnblockCommand),
    Allow(AllowCommand),
    Disallow(AllowCommand),
    List,
}

/// Runs `action` against the configured database.
pub async fn run(config: &Config, action: Action) -> Result<(), CliError> {
    let store = app::open_store(config).await?;
    let result = act(&store, config, action).await;
    store.close().await;
    result
}

async fn act(store: &Store, config: &Config, action: Action) -> Result<(), CliError> {
    match action {
        Action::Block(BlockCommand::Domain { domain, reason }) => {
            let (block, purged) = gazette_federation::safety::block_domain(store, &domain, &reason)
                .await
                .map_err(federation)?;
            println!(
                "blocked {} (and its subdomains); purged {} remote actor(s) with their follows, likes, replies and \
                 articles, and {} unsent deliveries",
                block.domain, purged.actors, purged.deliveries
            );
        }
        Action::Block(BlockCommand::Actor { target, reason }) => {
            let fed = gazette_federation::federation_config(app::fed_context(config, store)?)
                .await
                .map_err(federation)?;
            let data = fed.to_request_data();
            let block = gazette_federation::safety::block_actor(&data, &target, &reason)
                .await
                .map_err(|e| CliError::Federation(format!("{target}: {e}")))?;
            println!("blocked {}; what it did here is forgotten", block.actor_id);
        }
        Action::Unblock(UnblockCommand::Domain { domain }) => {
            if !store.remove_domain_block(&domain).await? {
                return Err(CliError::Usage(format!(
                    "`{domain}` is not blocked (see `gazette blocks`)"
                )));
            }
            println!("unblocked {}", gazette_store::normalise_domain(&domain)?);
        }
        Action::Unblock(UnblockCommand::Actor { target }) => {
            let fed = gazette_federation::federation_config(app::fed_context(config, store)?)
                .await
                .map_err(federation)?;
            let data = fed.to_request_data();
            match gazette_federation::safety::unblock_actor(&data, &target)
                .await
                .map_err(|e| CliError::Federation(format!("{target}: {e}")))?
            {
                Some(id) => println!("unblocked {id}"),
                None => {
                    return Err(CliError::Usage(format!(
                        "`{target}` is not blocked (see `gazette blocks`)"
                    )));
                }
            }
        }
        Action::Allow(AllowCommand::Domain { domain }) => {
            let allow = store.add_domain_allow(&domain).await?;
            println!("{} is on the allowlist{}", allow.domain, mode_note(config));
        }
        Action::Disallow(AllowCommand::Domain { domain }) => {
            if !store.remove_domain_allow(&domain).await? {
                return Err(CliError::Usage(format!(
                    "`{domain}` is not on the allowlist (see `gazette blocks`)"
                )));
            }
            println!(
                "{} is off the allowlist{}",
                gazette_store::normalise_domain(&domain)?,
                mode_note(config)
            );
            if mode_note(config).is_empty() {
                let n = store.drop_deliveries_outside_allowlist().await?;
                println!("{n} pending deliveries to it given up");
            }
        }
        Action::List => list(store, config).await?,
    }
    Ok(())
}

/// Reminds that the allowlist does nothing in open mode.
fn mode_note(config: &Config) -> &'static str {
    match config.federation.mode {
        FederationMode::Allowlist => "",
        _ => " (not in force: federation.mode is \"open\")",
    }
}

async fn list(store: &Store, config: &Config) -> Result<(), CliError> {
    let time = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M").to_string();
    let domains = store.list_domain_blocks().await?;
    let actors = store.list_actor_blocks().await?;
    let allows = store.list_domain_allows().await?;
    let width = domains
        .iter()
        .map(|d| d.domain.len())
        .chain(allows.iter().map(|a| a.domain.len()))
        .max()
        .unwrap_or(0)
        .max(6);
    println!("BLOCKED DOMAINS ({})", domains.len());
    println!("{:<width$} {:<16} REASON", "DOMAIN", "SINCE");
    for d in &domains {
        println!("{:<width$} {:<16} {}", d.domain, time(d.created_at), d.reason);
    }
    println!();
    println!("BLOCKED ACTORS ({})", actors.len());
    println!("{:<16} {:<40} REASON", "SINCE", "ACTOR");
    for a in &actors {
        println!("{:<16} {:<40} {}", time(a.created_at), a.actor_id, a.reason);
    }
    println!();
    println!("ALLOWLIST ({}){}", allows.len(), mode_note(config));
    println!("{:<width$} SINCE", "DOMAIN");
    for a in &allows {
        println!("{:<width$} {}", a.domain, time(a.created_at));
    }
    println!("times in UTC; federation.mode = {}", config.federation.mode.as_str());
    Ok(())
}

fn federation(e: gazette_federation::FederationError) -> CliError {
    match e {
        gazette_federation::FederationError::Store(e) => CliError::Store(e),
        other => CliError::Federation(other.to_string()),
    }
}
