//! The outbound delivery queue seen from outside: per remote host, what is
//! waiting, retrying, delivered or given up, and its circuit breaker. The
//! same [`DeliveryReport`] is what `gazette deliveries --json` prints.

use axum::extract::State;
use chrono::{DateTime, Utc};
use gazette_store::{HostDeliveryStats, Store, StoreResult};
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiAuth;
use crate::openapi::Unauthorized;
use crate::{ApiError, AppState};

/// The queue per remote host (sorted by host), with totals.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeliveryReport {
    pub hosts: Vec<HostDeliveryStats>,
    pub totals: DeliveryTotals,
}

/// Sums over every host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct DeliveryTotals {
    /// Hosts with deliveries still stored or a breaker state.
    pub hosts: i64,
    pub pending: i64,
    pub retrying: i64,
    pub delivered: i64,
    pub given_up: i64,
    /// Hosts marked unavailable (new deliveries to them are skipped).
    pub unavailable_hosts: i64,
    /// Hosts whose circuit is open now.
    pub open_circuits: i64,
}

impl DeliveryReport {
    /// The queue as it stands at `now`. A circuit that has closed again since
    /// it last opened shows as `circuit_open_until: null`.
    pub async fn load(store: &Store, now: DateTime<Utc>) -> StoreResult<DeliveryReport> {
        let mut hosts = store.delivery_stats().await?;
        let mut totals = DeliveryTotals::default();
        for h in &mut hosts {
            h.circuit_open_until = h.circuit_open_until.filter(|until| *until > now);
            totals.hosts += 1;
            totals.pending += h.pending;
            totals.retrying += h.retrying;
            totals.delivered += h.delivered;
            totals.given_up += h.given_up;
            totals.unavailable_hosts += i64::from(h.unavailable);
            totals.open_circuits += i64::from(h.circuit_open_until.is_some());
        }
        Ok(DeliveryReport { hosts, totals })
    }
}

/// `GET /api/deliveries` — per remote host: deliveries waiting for their
/// first attempt, retrying, delivered (until purged after 7 days) and given
/// up, the failure streak, the circuit breaker and the last error; plus totals.
#[utoipa::path(
    get, path = "/deliveries", tag = "deliveries", operation_id = "getDeliveries",
    summary = "The outbound delivery queue per remote host, with totals (what `gazette deliveries --json` prints)",
    responses(
        (status = 200, description = "Per remote host, sorted by host, and totals", body = DeliveryReport),
        (status = 401, response = Unauthorized)
    )
)]
pub(crate) async fn get_deliveries(
    _auth: ApiAuth,
    State(state): State<AppState>,
) -> Result<axum::Json<DeliveryReport>, ApiError> {
    Ok(axum::Json(DeliveryReport::load(state.store(), Utc::now()).await?))
}
