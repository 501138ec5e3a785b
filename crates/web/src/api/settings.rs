//! Instance settings changed at run time: read them, change some, put some
//! back to the config file's values. The same write path as the admin's
//! settings page ([`crate::settings::update`]); errors name each bad
//! setting with a stable `message_code`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use gazette_core::settings;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{ApiAuth, ApiJson};
use crate::openapi::{BadRequest, Unauthorized, UnsupportedMediaType, ValidationFailed};
use crate::settings::Effective;
use crate::{ApiError, AppState};

/// `PUT /api/settings` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsChange {
    /// Setting name → new value (a string; `true`/`false` also as JSON booleans): `instance.name`,
    /// `instance.default_language`, `federation.manually_approves_followers`, `theme.footer`.
    #[serde(default)]
    set: BTreeMap<String, Value>,
    /// Settings to put back to the config file's values.
    #[serde(default)]
    reset: Vec<String>,
}

/// Every setting by name.
#[derive(Serialize, ToSchema)]
struct SettingsJson {
    settings: BTreeMap<&'static str, SettingJson>,
}

/// One setting.
#[derive(Serialize, ToSchema)]
struct SettingJson {
    /// The value in effect.
    value: Option<String>,
    /// The config file's value.
    default: Option<String>,
    /// Whether a stored value overrides the config file's.
    overridden: bool,
    /// When the stored value was saved (RFC 3339).
    #[schema(format = DateTime)]
    updated_at: Option<String>,
}

fn respond(state: &AppState, e: &Effective) -> Response {
    let defaults = state.setting_defaults();
    let settings = settings::ALL
        .into_iter()
        .map(|name| {
            let stored = e.stored.iter().find(|s| s.name == name);
            let setting = SettingJson {
                value: e.values.value(name),
                default: defaults.value(name),
                overridden: stored.is_some(),
                updated_at: stored.map(|s| s.updated_at.to_rfc3339()),
            };
            (name, setting)
        })
        .collect();
    axum::Json(SettingsJson { settings }).into_response()
}

/// `GET /api/settings` — every setting: the value in effect, the config
/// file's, and whether a stored value overrides it.
#[utoipa::path(
    get, path = "/settings", tag = "meta", operation_id = "getSettings",
    summary = "Instance settings changed at run time: the value in effect, the config file's, and whether a stored value overrides it",
    responses((status = 200, description = "Every setting by name", body = SettingsJson), (status = 401, response = Unauthorized))
)]
pub(crate) async fn get_settings(_auth: ApiAuth, State(state): State<AppState>) -> Result<Response, ApiError> {
    let e = state.effective_settings().await?;
    Ok(respond(&state, &e))
}

/// `PUT /api/settings` — `{"set": {"instance.name": "…"}, "reset": ["theme.footer"]}`.
#[utoipa::path(
    put, path = "/settings", tag = "meta", operation_id = "updateSettings",
    summary = "Change settings (`set`) and put others back to the config file's values (`reset`), all or nothing; takes effect at once",
    request_body = SettingsChange,
    responses(
        (status = 200, description = "Every setting by name", body = SettingsJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed)
    )
)]
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
