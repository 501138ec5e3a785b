//! `/admin/articles/{id}/quotes`: who may quote one article (FEP-044f; the
//! instance's `federation.quote_policy` or the article's own), and the
//! quotes other servers asked for, accepted, refused or revoked, with a
//! Revoke button on each accepted one (the stamp stops resolving, the
//! quote leaves the public page, and the quoting server is sent the
//! `Delete` of the stamp). Editors only.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use gazette_federation::QuotePolicy;
use gazette_store::QuotePolicyChange;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::admin::session::CsrfForm;
use crate::admin::{AdminResult, Editor, Failure, OrPage, back_to, done_notice, render};

/// Quotes listed per article, newest first.
const SHOWN: i64 = 500;

#[derive(Deserialize, Default)]
pub(crate) struct Params {
    done: Option<String>,
}

#[derive(Serialize)]
struct QuoteRow {
    id: String,
    state: &'static str,
    post: String,
    handle: String,
    name: String,
    actor_url: String,
    at: String,
}

/// `GET /admin/articles/{id}/quotes`
pub(crate) async fn get_quotes(
    State(state): State<AppState>,
    Editor(signed): Editor,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> AdminResult {
    let store = state.store();
    let article = store.get_article(&id).await.or_page(&signed)?;
    let (own, quotes, count) = tokio::try_join!(
        store.article_quote_policy(&article.id),
        store.list_quotes(&article.id, false, SHOWN),
        store.count_quotes(&article.id),
    )
    .or_page(&signed)?;
    let rows: Vec<QuoteRow> = quotes
        .into_iter()
        .map(|q| QuoteRow {
            state: q.state.as_str(),
            post: q.quote_url.unwrap_or_else(|| q.quote_post.clone()),
            handle: q.actor.handle(),
            name: q.actor.name.clone(),
            actor_url: q.actor.url.clone().unwrap_or_else(|| q.actor.id.clone()),
            at: q.created_at.to_rfc3339(),
            id: q.id,
        })
        .collect();
    let page = json!({
        "article": { "id": article.id, "title": article.translation(None).title, "public": article.is_public() },
        "public_url": article.is_public().then(|| state.url(&format!("/articles/{}", article.slug))),
        "policy": own.clone().unwrap_or_else(|| "default".to_owned()),
        "instance_policy": state.fed().settings().quote_policy.as_str(),
        "policies": QuotePolicy::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "count": count,
        "rows": rows,
        "flash": done_notice(&state, &signed.lang, p.done.as_deref(), &["quote_policy", "quote_policy_sent", "quote_revoked"]),
    });
    Ok(render(&state, &signed, "articles", "admin/quotes.html", page))
}

/// `POST /admin/articles/{id}/quotes/policy` — `policy`: `everyone`,
/// `followers`, `nobody`, or `default` (the instance's).
pub(crate) async fn post_policy(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<Editor>,
) -> AdminResult {
    let signed = &form.signed;
    let policy = match form.fields.get("policy") {
        "default" => None,
        p => Some(QuotePolicy::parse(p).ok_or_else(|| {
            signed.fail(Failure::Message {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                title: "error_bad_request",
                text: format!("policy: expected everyone, followers, nobody or default, got `{p}`"),
            })
        })?),
    };
    // A change of the policy that applies to a published article is an
    // edit its followers' servers hear of: an `Update` of the article.
    let change = gazette_federation::quotes::set_policy(state.fed(), &id, policy)
        .await
        .map_err(|e| signed.fail(e))?;
    let done = match change {
        QuotePolicyChange::Announced { .. } => {
            state.federate_soon();
            "quote_policy_sent"
        }
        QuotePolicyChange::Unchanged | QuotePolicyChange::Stored => "quote_policy",
    };
    Ok(back_to("", &format!("/admin/articles/{id}/quotes"), done))
}

/// `POST /admin/articles/{id}/quotes/revoke` — revokes the accepted quote `quote`.
pub(crate) async fn post_revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<Editor>,
) -> AdminResult {
    let signed = &form.signed;
    let quote = form.fields.get("quote");
    let known = state
        .store()
        .find_quote(quote)
        .await
        .map_err(|e| signed.fail(e))?
        .is_some_and(|q| q.article_id == id);
    if !known {
        return Err(signed.fail(Failure::Page {
            status: StatusCode::NOT_FOUND,
            title: "error_not_found",
            text: "quote_not_found",
        }));
    }
    // Revoking twice finds nothing to revoke: the page says it is done either way.
    gazette_federation::quotes::revoke(state.fed(), quote)
        .await
        .map_err(|e| signed.fail(e))?;
    Ok(back_to("", &format!("/admin/articles/{id}/quotes"), "quote_revoked"))
}
