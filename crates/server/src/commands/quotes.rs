//! `gazette article quote-policy|quotes|revoke-quote`: who may quote an
//! article (FEP-044f), the quotes other servers asked for, and revoking one.

use gazette_core::Article;
use gazette_federation::QuotePolicy;
use gazette_store::{QuotePolicyChange, Store};

use crate::app;
use crate::config::Config;
use crate::error::CliError;

/// Prints the article's quote policy, or sets it (`default`: the
/// instance's). A change of the policy that applies to a published article
/// is sent to its followers as an `Update`, as an edit is.
pub(super) async fn quote_policy(
    store: &Store,
    config: &Config,
    article: &Article,
    policy: Option<&str>,
) -> Result<(), CliError> {
    let change = match policy.map(str::trim) {
        None => None,
        Some("default") => Some(None),
        Some(p) => Some(Some(QuotePolicy::parse(p).ok_or_else(|| {
            CliError::Usage(format!(
                "unknown quote policy `{p}`: expected everyone, followers, nobody or default"
            ))
        })?)),
    };
    let mut note = None;
    if let Some(policy) = change {
        let fed = app::fed_context(config, store)?;
        let done = gazette_federation::quotes::set_policy(&fed, &article.id, policy)
            .await
            .map_err(|e| CliError::Federation(e.to_string()))?;
        gazette_federation::federate_changes(&fed).await;
        note = Some(match done {
            QuotePolicyChange::Unchanged => "unchanged".to_owned(),
            QuotePolicyChange::Stored => format!("changed; the article is {}: nothing sent", article.status.as_str()),
            QuotePolicyChange::Announced { version } => {
                format!("changed; version {version}, its Update queued for the article's followers")
            }
        });
    }
    let own = store.article_quote_policy(&article.id).await?;
    match own {
        Some(p) => println!("{}: {p}", article.slug),
        None => println!(
            "{}: {} (the instance's federation.quote_policy)",
            article.slug,
            config.federation.quote_policy.as_str()
        ),
    }
    if let Some(note) = note {
        println!("{note}");
    }
    Ok(())
}

/// Lists every quote of the article, newest first.
pub(super) async fn list(store: &Store, article: &Article) -> Result<(), CliError> {
    let quotes = store.list_quotes(&article.id, false, 1000).await?;
    println!("{:<26} {:<9} {:<40} POST", "ID", "STATE", "BY");
    for q in &quotes {
        println!(
            "{:<26} {:<9} {:<40} {}",
            q.id,
            q.state.as_str(),
            gazette_core::printable::printable(&q.actor.handle()),
            gazette_core::printable::printable(&q.quote_post)
        );
    }
    Ok(())
}

/// Revokes an accepted quote and queues the `Delete` of its stamp.
pub(super) async fn revoke(store: &Store, config: &Config, id: &str) -> Result<(), CliError> {
    let fed = app::fed_context(config, store)?;
    let quote = gazette_federation::quotes::revoke(&fed, id)
        .await
        .map_err(|e| CliError::Federation(e.to_string()))?
        .ok_or_else(|| {
            CliError::Usage(format!(
                "no accepted quote `{id}` (see `gazette article quotes ARTICLE`)"
            ))
        })?;
    println!("revoked; the Delete of its stamp is queued for {}", quote.actor.id);
    Ok(())
}
