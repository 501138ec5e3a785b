//! `/admin/blocks`: blocked domains and accounts, and the allowlist — what
//! `gazette block`, `unblock`, `allow` and `disallow` do, through the same
//! functions in `gazette_federation::safety` and the store.
//!
//! Blocking purges: a domain takes with it everything stored from it (its
//! accounts' follows, likes, boosts, replies and articles, and deliveries
//! not sent yet), an account its own. So a block is asked for once more on
//! a confirmation page that says so; a refused one (a bad domain, a handle
//! that cannot be found) comes back with what was typed and the reason.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use gazette_federation::{FederationError, FederationMode};
use gazette_store::{StoreError, normalise_domain};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::session::CsrfForm;
use super::{AdminResult, Editor, OrPage, Signed, back_to, done_notice, render, store_message};
use crate::AppState;

#[derive(Deserialize, Default)]
pub(crate) struct Params {
    done: Option<String>,
}

/// What the two forms of the page hold.
#[derive(Serialize, Default)]
struct Typed {
    kind: String,
    value: String,
    reason: String,
    allow: String,
}

#[derive(Serialize)]
struct FormError {
    field: &'static str,
    message: String,
}

const DONE: [&str; 6] = [
    "domain_blocked",
    "actor_blocked",
    "unblocked",
    "allowed",
    "disallowed",
    "nothing_to_remove",
];

/// `GET /admin/blocks`
pub(crate) async fn get_blocks(
    State(state): State<AppState>,
    Editor(signed): Editor,
    Query(p): Query<Params>,
) -> AdminResult {
    let flash = done_notice(&state, &signed.lang, p.done.as_deref(), &DONE);
    let typed = Typed {
        kind: "domain".into(),
        ..Default::default()
    };
    page(&state, &signed, typed, Vec::new(), flash, StatusCode::OK).await
}

async fn page(
    state: &AppState,
    signed: &Signed,
    typed: Typed,
    errors: Vec<FormError>,
    flash: Option<String>,
    status: StatusCode,
) -> AdminResult {
    let store = state.store();
    let (domains, actors, allows) = tokio::try_join!(
        store.list_domain_blocks(),
        store.list_actor_blocks(),
        store.list_domain_allows()
    )
    .or_page(signed)?;
    let field_errors: serde_json::Map<String, serde_json::Value> =
        errors.iter().map(|e| (e.field.to_owned(), json!(e.message))).collect();
    let page = json!({
        "domains": domains,
        "actors": actors,
        "allows": allows,
        "allowlist_mode": state.fed().settings().mode == FederationMode::Allowlist,
        "typed": typed,
        "errors": errors,
        "field_errors": field_errors,
        "flash": flash,
    });
    let mut r = render(state, signed, "blocks", "admin/blocks.html", page);
    *r.status_mut() = status;
    Ok(r)
}

/// `POST /admin/blocks` — `kind` (`domain` or `actor`), `value`, `reason`;
/// without `confirm=yes`, the confirmation page that says what goes.
pub(crate) async fn post_block(State(state): State<AppState>, form: CsrfForm<Editor>) -> AdminResult {
    let signed = &form.signed;
    let f = &form.fields;
    let typed = Typed {
        kind: f.get("kind").to_owned(),
        value: f.get("value").to_owned(),
        reason: f.get("reason").to_owned(),
        allow: String::new(),
    };
    let t = |k: &str| state.templates().text(&signed.lang, k);
    let refuse = |typed: Typed, message: String| {
        page(
            &state,
            signed,
            typed,
            vec![FormError {
                field: "block-value",
                message,
            }],
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let value = typed.value.trim().to_owned();
    if value.is_empty() {
        return refuse(typed, t("block_value_required")).await;
    }
    let value = match typed.kind.as_str() {
        "domain" => match normalise_domain(&value) {
            Ok(d) => d,
            Err(e) => {
                let message = store_message(&state, &signed.lang, &e, &value);
                return refuse(typed, message).await;
            }
        },
        "actor" => value,
        _ => return refuse(typed, t("block_kind_unknown")).await,
    };
    if f.get("confirm") != "yes" {
        let page = json!({ "kind": typed.kind, "value": value, "reason": typed.reason.trim() });
        return Ok(render(&state, signed, "blocks", "admin/block_confirm.html", page));
    }
    match typed.kind.as_str() {
        "domain" => match gazette_federation::safety::block_domain(state.store(), &value, &typed.reason).await {
            Ok((block, purged)) => {
                let flash = t("done_domain_blocked_purged")
                    .replace("{domain}", &block.domain)
                    .replace("{actors}", &purged.actors.to_string())
                    .replace("{deliveries}", &purged.deliveries.to_string());
                let fresh = Typed {
                    kind: "domain".into(),
                    ..Default::default()
                };
                page(&state, signed, fresh, Vec::new(), Some(flash), StatusCode::OK).await
            }
            Err(FederationError::Store(e @ StoreError::Invalid { .. })) => {
                let message = store_message(&state, &signed.lang, &e, &value);
                refuse(typed, message).await
            }
            Err(e) => Err(signed.fail(e)),
        },
        _ => {
            let data = state.federation_config().to_request_data();
            match gazette_federation::safety::block_actor(&data, &value, &typed.reason).await {
                Ok(_) => Ok(back_to("/admin/blocks", "/admin/blocks", "actor_blocked")),
                Err(FederationError::Store(e @ (StoreError::Database(_) | StoreError::Corrupt(_)))) => {
                    Err(signed.fail(e))
                }
                Err(e @ FederationError::Internal(_)) => Err(signed.fail(e)),
                Err(other) => {
                    let msg = t("block_actor_not_found").replace("{why}", &other.to_string());
                    refuse(typed, msg).await
                }
            }
        }
    }
}

/// `POST /admin/blocks/remove` — lifts the block of `kind` `value`.
pub(crate) async fn post_unblock(State(state): State<AppState>, form: CsrfForm<Editor>) -> AdminResult {
    let signed = &form.signed;
    let value = form.fields.get("value");
    let removed = match form.fields.get("kind") {
        "domain" => state.store().remove_domain_block(value).await,
        _ => {
            let data = state.federation_config().to_request_data();
            match gazette_federation::safety::unblock_actor(&data, value).await {
                Ok(id) => Ok(id.is_some()),
                Err(FederationError::Store(e)) => Err(e),
                Err(e) => return Err(signed.fail(e)),
            }
        }
    };
    match removed.or_page(signed)? {
        true => Ok(back_to("/admin/blocks", "/admin/blocks", "unblocked")),
        false => Ok(back_to("/admin/blocks", "/admin/blocks", "nothing_to_remove")),
    }
}

/// `POST /admin/allowlist` — puts `domain` (and its subdomains) on the allowlist.
pub(crate) async fn post_allow(State(state): State<AppState>, form: CsrfForm<Editor>) -> AdminResult {
    let signed = &form.signed;
    let typed = Typed {
        kind: "domain".into(),
        allow: form.fields.get("domain").to_owned(),
        ..Default::default()
    };
    match state.store().add_domain_allow(&typed.allow).await {
        Ok(_) => Ok(back_to("/admin/blocks", "/admin/blocks", "allowed")),
        Err(e @ StoreError::Invalid { .. }) => {
            let errors = vec![FormError {
                field: "allow-domain",
                message: store_message(&state, &signed.lang, &e, typed.allow.trim()),
            }];
            page(&state, signed, typed, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(signed.fail(e)),
    }
}

/// `POST /admin/allowlist/remove` — takes `domain` off the allowlist.
pub(crate) async fn post_disallow(State(state): State<AppState>, form: CsrfForm<Editor>) -> AdminResult {
    let signed = &form.signed;
    match state
        .store()
        .remove_domain_allow(form.fields.get("domain"))
        .await
        .or_page(signed)?
    {
        true => Ok(back_to("/admin/blocks", "/admin/blocks", "disallowed")),
        false => Ok(back_to("/admin/blocks", "/admin/blocks", "nothing_to_remove")),
    }
}
