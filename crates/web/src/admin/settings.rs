//! Settings: `/admin/settings` (admins) changes the instance settings
//! without a restart (name, default language of new articles, time zone,
//! manual approval of followers, comment policy, theme colours, footer), through [`crate::settings::update`], the
//! write path `PUT /api/settings` uses; the page says which values come
//! from the config file and which are stored here, and each can be put back
//! to the file's. `/admin/account` (everyone) holds the user's own
//! preferences: the interface language, the time zone they read and type
//! times in, and their password.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use gazette_core::local_time;
use gazette_core::settings::{self, InstanceSettings};
use gazette_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::session::CsrfForm;
use super::{Admin, AdminResult, FormError, OrPage, Signed, done_notice, field_message, render, see_other};
use crate::AppState;
use crate::settings::{Effective, SettingsError};

/// Wrong current passwords on the account page, like failed sign-ins,
/// count towards the account's limit over this many minutes.
const PASSWORD_WINDOW_MINUTES: i64 = 15;
const MAX_PASSWORD_FAILURES: i64 = 5;
/// Stands for the address in the failed sign-ins table for this page.
const ACCOUNT_PAGE: &str = "account-page";

#[derive(Deserialize, Default)]
pub(crate) struct Params {
    done: Option<String>,
}

/// The form id of each setting.
fn field_id(name: &str) -> &'static str {
    match name {
        settings::NAME => "set-name",
        settings::DEFAULT_LANGUAGE => "set-default_language",
        settings::TIME_ZONE => "set-time_zone",
        settings::MANUAL_FOLLOWERS => "set-manual_followers",
        settings::COMMENT_POLICY => "set-comment_policy",
        settings::PRIMARY_COLOR => "set-primary_color",
        settings::ACCENT_COLOR => "set-accent_color",
        settings::FOOTER => "set-footer",
        _ => "",
    }
}

/// One setting as the page shows it.
#[derive(Serialize)]
struct SettingView {
    name: &'static str,
    id: &'static str,
    /// The value in the form (as typed, after a refused save).
    value: String,
    /// The config file's value.
    default: String,
    /// A stored value overrides the file's.
    overridden: bool,
    /// For a colour written `#rrggbb`: the colour, to show beside it.
    swatch: Option<String>,
    updated_at: Option<String>,
    updated_by: Option<String>,
}

async fn settings_page(
    state: &AppState,
    signed: &Signed,
    effective: &Effective,
    typed: Option<&HashMap<&str, String>>,
    errors: Vec<FormError>,
    status: StatusCode,
    flash: Option<String>,
) -> AdminResult {
    let defaults: InstanceSettings = state.setting_defaults();
    let users = state.store().list_users().await.or_page(signed)?;
    let view: Vec<SettingView> = settings::ALL
        .iter()
        .map(|&name| {
            let stored = effective.stored.iter().find(|s| s.name == name);
            let value = typed
                .and_then(|t| t.get(name).cloned())
                .or_else(|| effective.values.value(name))
                .unwrap_or_default();
            let is_hex =
                value.len() == 7 && value.starts_with('#') && value[1..].chars().all(|c| c.is_ascii_hexdigit());
            SettingView {
                name,
                id: field_id(name),
                swatch: ([settings::PRIMARY_COLOR, settings::ACCENT_COLOR].contains(&name) && is_hex)
                    .then(|| value.to_ascii_lowercase()),
                value,
                default: defaults.value(name).unwrap_or_default(),
                overridden: stored.is_some(),
                updated_at: stored.map(|s| local_time::format_in(s.updated_at, signed.tz, "%Y-%m-%d %H:%M %Z")),
                updated_by: stored
                    .and_then(|s| s.updated_by.as_deref())
                    .and_then(|id| users.iter().find(|u| u.id == id))
                    .map(|u| u.username.clone()),
            }
        })
        .collect();
    let field_errors = super::field_errors(&errors);
    let page = json!({
        "settings": view,
        "errors": errors,
        "field_errors": field_errors,
        "flash": flash,
        "zone_names": local_time::zone_names().collect::<Vec<_>>(),
        "comment_policies": settings::COMMENT_POLICIES,
    });
    let mut r = render(state, signed, "settings", "admin/settings.html", page);
    *r.status_mut() = status;
    Ok(r)
}

/// `GET /admin/settings` — the instance settings (admins only).
pub(crate) async fn get_settings(
    State(state): State<AppState>,
    Admin(signed): Admin,
    Query(p): Query<Params>,
) -> AdminResult {
    let effective = state.effective_settings().await.or_page(&signed)?;
    let flash = done_notice(&state, &signed.lang, p.done.as_deref(), &["settings_saved"]);
    settings_page(&state, &signed, &effective, None, Vec::new(), StatusCode::OK, flash).await
}

/// `POST /admin/settings` — saves every field; a `reset` checkbox puts that
/// setting back to the config file's value. All or nothing: a refused save
/// shows the form again as typed, a message beside each bad field.
pub(crate) async fn post_settings(State(state): State<AppState>, form: CsrfForm<Admin>) -> AdminResult {
    let signed = &form.signed;
    let current = state.effective_settings().await.or_page(signed)?;
    let mut typed: HashMap<&str, String> = HashMap::new();
    let mut set: Vec<(&str, String)> = Vec::new();
    let mut reset: Vec<&str> = Vec::new();
    for name in settings::ALL {
        let id = field_id(name);
        // A checkbox sends nothing when unticked.
        let raw = if name == settings::MANUAL_FOLLOWERS {
            if form.fields.get(id).is_empty() {
                "false"
            } else {
                "true"
            }
            .to_owned()
        } else {
            form.fields.get(id).to_owned()
        };
        typed.insert(name, raw.clone());
        if !form.fields.get(&format!("reset-{id}")).is_empty() {
            reset.push(name);
            continue;
        }
        // Unchanged values stay where they are (file or stored).
        let unchanged = settings::check(name, &raw)
            .ok()
            .is_some_and(|v| current.values.value(name).as_deref() == Some(v.as_str()));
        if !unchanged {
            set.push((name, raw));
        }
    }
    let set_refs: Vec<(&str, &str)> = set.iter().map(|(n, v)| (*n, v.as_str())).collect();
    match crate::settings::update(&state, &set_refs, &reset, Some(&signed.session.user.id)).await {
        Ok(_) => Ok(see_other("/admin/settings?done=settings_saved")),
        Err(SettingsError::Invalid(v)) => {
            let errors =
                v.0.iter()
                    .map(|e| FormError {
                        field: field_id(&e.field).to_owned(),
                        message: field_message(&state, &signed.lang, e),
                    })
                    .collect();
            settings_page(
                &state,
                signed,
                &current,
                Some(&typed),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            )
            .await
        }
        Err(SettingsError::Store(e)) => Err(signed.fail(e)),
    }
}

fn account_page(
    state: &AppState,
    signed: &Signed,
    errors: Vec<FormError>,
    status: StatusCode,
    flash: Option<String>,
) -> AdminResult {
    account_page_typed(state, signed, None, errors, status, flash)
}

/// The account page; `typed_zone` is the time zone as typed after a refused save.
fn account_page_typed(
    state: &AppState,
    signed: &Signed,
    typed_zone: Option<&str>,
    errors: Vec<FormError>,
    status: StatusCode,
    flash: Option<String>,
) -> AdminResult {
    let field_errors = super::field_errors(&errors);
    let own_zone = typed_zone
        .map(str::to_owned)
        .or_else(|| signed.session.user.time_zone.clone())
        .unwrap_or_default();
    let page = json!({
        "errors": errors,
        "field_errors": field_errors,
        "flash": flash,
        "min_chars": gazette_store::MIN_PASSWORD_CHARS,
        "own_zone": own_zone,
        "instance_zone": state.last_settings().time_zone.name(),
        "zone_names": local_time::zone_names().collect::<Vec<_>>(),
    });
    let mut r = render(state, signed, "account", "admin/account.html", page);
    *r.status_mut() = status;
    Ok(r)
}

/// `GET /admin/account` — the user's own preferences.
pub(crate) async fn get_account(State(state): State<AppState>, signed: Signed, Query(p): Query<Params>) -> AdminResult {
    let flash = done_notice(
        &state,
        &signed.lang,
        p.done.as_deref(),
        &["language_saved", "time_zone_saved"],
    );
    account_page(&state, &signed, Vec::new(), StatusCode::OK, flash)
}

/// `POST /admin/account/time_zone` — the zone the user reads and types
/// times in (`time_zone`, an IANA name; empty: the instance's). An unknown
/// name is refused, named, with the text kept.
pub(crate) async fn post_time_zone(State(state): State<AppState>, form: CsrfForm) -> AdminResult {
    let signed = &form.signed;
    let raw = form.fields.get("time_zone");
    let zone = match raw.trim() {
        "" => None,
        name => match local_time::parse_zone("time_zone", name) {
            Ok(tz) => Some(tz.name()),
            Err(e) => {
                let errors = vec![FormError {
                    field: "account-time_zone".into(),
                    message: field_message(&state, &signed.lang, &e),
                }];
                return account_page_typed(
                    &state,
                    signed,
                    Some(raw),
                    errors,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    None,
                );
            }
        },
    };
    match state.store().set_user_time_zone(&signed.session.user.id, zone).await {
        Ok(()) => Ok(see_other("/admin/account?done=time_zone_saved")),
        Err(e) => Err(signed.fail(e)),
    }
}

/// `POST /admin/account/password` — a new password, given the current one.
/// Every session of the user ends (this one too): they sign in again with it.
pub(crate) async fn post_password(State(state): State<AppState>, form: CsrfForm) -> AdminResult {
    let signed = &form.signed;
    let t = |k: &str| state.templates().text(&signed.lang, k);
    let user = &signed.session.user;
    let (current, new, again) = (
        form.fields.get("current_password"),
        form.fields.get("new_password"),
        form.fields.get("new_password_again"),
    );
    let refuse = |field: &str, message: String, status| {
        account_page(
            &state,
            signed,
            vec![FormError {
                field: field.to_owned(),
                message,
            }],
            status,
            None,
        )
    };
    let since = Utc::now() - Duration::minutes(PASSWORD_WINDOW_MINUTES);
    match state.store().login_failures(&user.username, ACCOUNT_PAGE, since).await {
        Ok(f) if f.account >= MAX_PASSWORD_FAILURES => {
            let msg = t("login_rate_limited").replace("{minutes}", &PASSWORD_WINDOW_MINUTES.to_string());
            return refuse("current_password", msg, StatusCode::TOO_MANY_REQUESTS);
        }
        Ok(_) => {}
        Err(e) => return Err(signed.fail(e)),
    }
    if current.is_empty() {
        return refuse(
            "current_password",
            t("current_password_missing"),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let ok = match state.store().check_login(&user.username, current).await {
        Ok(u) => u.is_some_and(|u| u.id == user.id),
        Err(e) => return Err(signed.fail(e)),
    };
    if !ok {
        state
            .store()
            .record_login_attempt(&user.username, ACCOUNT_PAGE, false)
            .await
            .or_page(signed)?;
        return refuse(
            "current_password",
            t("current_password_wrong"),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    if new != again {
        return refuse(
            "new_password_again",
            t("passwords_differ"),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    if gazette_store::check_password(new).is_err() {
        let msg = if new.chars().count() < gazette_store::MIN_PASSWORD_CHARS {
            t("password_too_short").replace("{min}", &gazette_store::MIN_PASSWORD_CHARS.to_string())
        } else {
            t("password_too_long")
        };
        return refuse("new_password", msg, StatusCode::UNPROCESSABLE_ENTITY);
    }
    match state.store().set_user_password(&user.id, new).await {
        Ok(_) => Ok(see_other("/admin/login?done=password_set")),
        Err(StoreError::Invalid { .. }) => {
            let msg = t("password_too_short").replace("{min}", &gazette_store::MIN_PASSWORD_CHARS.to_string());
            refuse("new_password", msg, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(signed.fail(e)),
    }
}
