//! Instance settings changed at run time: read them, change some, put some
//! back to the config file's values. The same write path as the admin's
//! settings page ([`crate::settings::update`]); errors name each bad
//! setting with a stable `message_code`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use gazette_core::settings;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiAuth, ApiJson};
use crate::settings::Effective;
use crate::{ApiError, AppState};

/// `PUT /api/settings` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsChange {
    /// Setting name → new value (a string; `true`/`false` also as JSON booleans).
    #[serde(default)]
    set: BTreeMap<String, Value>,
    /// Settings to put back to the config file's values.
    #[serde(default)]
    reset: Vec<String>,
}

fn respond(state: &AppState, e: &Effective) -> Response {
    let defaults = state.setting_defaults();
    let mut out = serde_json::Map::new();
    for name in settings::ALL {
        let stored = e.stored.iter().find(|s| s.name == name);
        out.insert(
            name.to_owned(),
            json!({
                "value": e.values.value(name),
                "default": defaults.value(name),
                "overridden": stored.is_some(),
                "updated_at": stored.map(|s| s.updated_at.to_rfc3339()),
            }),
        );
    }
    axum::Json(json!({ "settings": out })).into_response()
}

/// `GET /api/settings` — every setting: the value in effect, the config
/// file's, and whether a stored value overrides it.
pub(crate) async fn get_settings(_auth: ApiAuth, State(state): State<AppState>) -> Result<Response, ApiError> {
    let e = state.effective_settings().await?;
    Ok(respond(&state, &e))
}

/// `PUT /api/settings` — `{"set": {"instance.name": "…"}, "reset": ["theme.footer"]}`.
pub(crate) async fn update_settings(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiJson(change): ApiJson<SettingsChange>,
) -> Result<Response, ApiError> {
    let set: Vec<(&str, String)> = change
        .set
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                other => other.to_string(),
            };
            (k.as_str(), text)
        })
        .collect();
    let set: Vec<(&str, &str)> = set.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reset: Vec<&str> = change.reset.iter().map(String::as_str).collect();
    let e = crate::settings::update(&state, &set, &reset, None).await?;
    Ok(respond(&state, &e))
}
