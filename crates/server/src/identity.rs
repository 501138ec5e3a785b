//! One public URL per instance. The first process that knows the URL
//! records it in the database (`gazette init --public-url`, the first
//! `gazette serve`, or any command given one); every later process uses
//! the recorded URL, so the server, each CLI command and a second server
//! on PostgreSQL name actors and articles alike. A process configured with
//! a different URL stops and says how to change it on purpose
//! (`gazette instance set-public-url`).
//!
//! A server started with no URL configured records the address it
//! listens on (as `bound`), and a later one without a URL records its own
//! address in its place: trying Gazette on one machine keeps working on
//! any port. A configured URL is never replaced that way.

use std::net::SocketAddr;

use gazette_store::{PublicUrlSource, RecordedPublicUrl, Store};

use crate::config::Config;
use crate::error::CliError;

/// Settles `config.instance.public_url` against the recorded URL: records
/// the configured URL (or, for a server, `bound`'s) if none is recorded
/// yet, uses the recorded one when none is configured, and refuses a
/// configured URL that differs from the recorded one. With nothing
/// configured and nothing recorded, a command keeps the built-in default
/// for its output and records nothing.
pub async fn settle(config: &mut Config, store: &Store, bound: Option<SocketAddr>) -> Result<(), CliError> {
    let recorded = store.find_public_url().await?;
    let configured = config
        .instance
        .public_url_configured
        .then(|| config.instance.public_url.clone());
    let url = match (configured, recorded) {
        (Some(url), None) => store.record_public_url(&url, PublicUrlSource::Configured).await?.url,
        (Some(url), Some(r)) if r.url == url => {
            if r.source == PublicUrlSource::Bound {
                // Now that someone chose it, a server without a URL keeps it.
                store.replace_public_url(&url, PublicUrlSource::Configured).await?;
            }
            url
        }
        (Some(url), Some(r)) => return Err(mismatch(&r, &url)),
        (None, Some(r)) => match bound.map(bound_url) {
            Some(here) if r.source == PublicUrlSource::Bound && here != r.url => {
                store.replace_public_url(&here, PublicUrlSource::Bound).await?;
                tracing::info!(old = %r.url, new = %here, "no public URL configured: it follows the address listened on");
                here
            }
            _ => r.url,
        },
        (None, None) => match bound.map(bound_url) {
            Some(here) => store.record_public_url(&here, PublicUrlSource::Bound).await?.url,
            None => {
                tracing::debug!(
                    default = %config.instance.public_url,
                    "no public URL configured or recorded yet; links use the default"
                );
                return Ok(());
            }
        },
    };
    config.instance.public_url = url;
    Ok(())
}

/// Opens the store just to settle the URL, for a command that opens it
/// again itself.
pub async fn settle_for_command(config: &mut Config) -> Result<(), CliError> {
    let store = crate::app::open_store(config).await?;
    let result = settle(config, &store, None).await;
    store.close().await;
    result
}

fn mismatch(recorded: &RecordedPublicUrl, configured: &str) -> CliError {
    let how = match recorded.source {
        PublicUrlSource::Configured => "configured",
        PublicUrlSource::Bound => "taken from the address `gazette serve` listened on",
    };
    CliError::Usage(format!(
        "this instance's public URL is {recorded_url} (recorded {at}, {how}), but this process is configured \
         with {configured} (instance.public_url, GAZETTE_INSTANCE__PUBLIC_URL or --public-url). Every id \
         other servers know starts with {recorded_url}: to keep it, set instance.public_url to it or leave \
         it unset; to move the instance on purpose, run `gazette instance set-public-url {configured}`",
        recorded_url = recorded.url,
        at = recorded.recorded_at.format("%Y-%m-%d %H:%M UTC"),
    ))
}

/// `gazette instance set-public-url URL`: records `url` as the instance's
/// public URL, whatever was recorded before.
pub async fn set_public_url(config: &Config, url: &str) -> Result<(), CliError> {
    let url = crate::config::normalise_public_url(url).map_err(|m| CliError::Usage(format!("set-public-url: {m}")))?;
    let store = crate::app::open_store(config).await?;
    let result = store.replace_public_url(&url, PublicUrlSource::Configured).await;
    store.close().await;
    match result?.filter(|old| old.url != url) {
        Some(old) => {
            eprintln!(
                "warning: followers on other servers follow actors at {old}/users/…; they will not follow \
                 the change: each server keeps the old ids until its users follow the new ones. \
                 Keep {old} answering (a redirect) for as long as you can.",
                old = old.url
            );
            println!("public URL changed from {} to {url}", old.url);
        }
        None => println!("public URL is {url}"),
    }
    if config.instance.public_url_configured && config.instance.public_url != url {
        println!(
            "update instance.public_url (now {}) in the config, or remove it, before the next start",
            config.instance.public_url
        );
    }
    Ok(())
}

/// `gazette instance show`: the recorded public URL.
pub async fn show(config: &Config) -> Result<(), CliError> {
    let store = crate::app::open_store(config).await?;
    let recorded = store.find_public_url().await;
    store.close().await;
    match recorded? {
        Some(r) => println!(
            "public URL: {} ({}, recorded {})",
            r.url,
            r.source.as_str(),
            r.recorded_at.format("%Y-%m-%d %H:%M UTC")
        ),
        None => println!("public URL: none recorded yet (the first `gazette serve` records one)"),
    }
    Ok(())
}

/// The URL of a listening address: `http://IP:PORT`, loopback for an
/// unspecified address (`0.0.0.0` is not a place to send anyone).
pub fn bound_url(bound: SocketAddr) -> String {
    let host = match bound.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("http://{host}:{}", bound.port())
}

#[cfg(test)]
mod tests {
    #[test]
    fn bound_urls() {
        let url = |s: &str| super::bound_url(s.parse().unwrap());
        assert_eq!(url("127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(url("0.0.0.0:9000"), "http://127.0.0.1:9000");
        assert_eq!(url("[::]:9000"), "http://127.0.0.1:9000");
        assert_eq!(url("[::1]:9000"), "http://[::1]:9000");
    }
}
