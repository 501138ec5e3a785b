//! `GET /admin`: what needs attention — articles by status, followers of
//! the organisation and its authors, and the outgoing delivery queue.

use axum::extract::State;
use chrono::Utc;
use gazette_core::ArticleStatus;
use gazette_store::StoreError;
use serde_json::json;

use super::{AdminResult, OrPage, Signed, render};
use crate::{AppState, DeliveryReport};

/// `GET /admin` — the dashboard.
pub(crate) async fn get_dashboard(State(state): State<AppState>, signed: Signed) -> AdminResult {
    let page = counts(&state).await.or_page(&signed)?;
    Ok(render(&state, &signed, "dashboard", "admin/dashboard.html", page))
}

async fn counts(state: &AppState) -> Result<serde_json::Value, StoreError> {
    let store = state.store();
    let (drafts, scheduled, published) = tokio::try_join!(
        store.count_articles(ArticleStatus::Draft),
        store.count_articles(ArticleStatus::Scheduled),
        store.count_articles(ArticleStatus::Published),
    )?;
    let mut followers = 0;
    let actors = gazette_federation::local_actors(state.fed())
        .await
        .map_err(|e| StoreError::Corrupt(format!("local actors: {e}")))?;
    for a in &actors {
        followers += store.count_followers(&state.fed().urls().actor(a.username())).await?;
    }
    let deliveries = DeliveryReport::load(store, Utc::now()).await?;
    Ok(json!({
        "counts": {
            "drafts": drafts,
            "scheduled": scheduled,
            "published": published,
            "followers": followers,
            "pending_deliveries": deliveries.totals.pending + deliveries.totals.retrying,
            "failing_hosts": deliveries.hosts.iter().filter(|h| h.consecutive_failures > 0).count(),
        },
    }))
}
