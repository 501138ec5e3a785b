//! `GET /admin/deliveries`: federation health — per remote server, the
//! deliveries waiting, retrying, delivered and given up, the failure
//! streak, the circuit breaker and the last error. The same
//! [`DeliveryReport`] `gazette deliveries` and `GET /api/deliveries` show.
//! Failing servers come first.

use axum::extract::State;
use chrono::Utc;
use serde_json::json;

use super::{AdminResult, Editor, OrPage, render};
use crate::{AppState, DeliveryReport};

/// `GET /admin/deliveries`
pub(crate) async fn get_deliveries(State(state): State<AppState>, Editor(signed): Editor) -> AdminResult {
    let mut report = DeliveryReport::load(state.store(), Utc::now()).await.or_page(&signed)?;
    // Trouble first (longest failure streak), then by host.
    report.hosts.sort_by(|a, b| {
        let trouble = |h: &gazette_store::HostDeliveryStats| (h.unavailable, h.consecutive_failures, h.given_up);
        trouble(b).cmp(&trouble(a)).then_with(|| a.host.cmp(&b.host))
    });
    let hosts: Vec<_> = report
        .hosts
        .iter()
        .map(|h| {
            json!({
                "host": h.host,
                "pending": h.pending,
                "retrying": h.retrying,
                "delivered": h.delivered,
                "given_up": h.given_up,
                "unavailable": h.unavailable,
                "failures": h.consecutive_failures,
                "circuit_open_until": h.circuit_open_until.map(|t| t.to_rfc3339()),
                "failing_since": h.failing_since.map(|t| t.to_rfc3339()),
                "last_success_at": h.last_success_at.map(|t| t.to_rfc3339()),
                "last_error": h.last_error,
                "failing": h.consecutive_failures > 0 || h.unavailable,
            })
        })
        .collect();
    let page = json!({ "hosts": hosts, "totals": report.totals });
    Ok(render(&state, &signed, "deliveries", "admin/deliveries.html", page))
}
