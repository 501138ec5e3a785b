//! Quote posts (FEP-044f): who may quote an article (its `interactionPolicy`
//! with `canQuote`), the answer to another server's `QuoteRequest` (an
//! `Accept` whose `result` is a `QuoteAuthorization` stamp served at
//! `/quotes/{id}`, or a `Reject`), the quoting post deleted at its origin,
//! and an editor's revocation (the stamp stops resolving and its `Delete`
//! goes to the quoting actor). docs/FEDERATION.md shows every shape.

use activitypub_federation::config::Data;
use axum::extract::Path;
use axum::response::Response;
use gazette_core::{Article, RemoteActor};
use gazette_store::{Quote, QuoteAnswer, QuotePolicyChange, QuoteState};
use serde_json::{Value, json};

use crate::activities::outgoing;
use crate::context::FedContext;
use crate::error::FederationError;
use crate::json::{AS2, PUBLIC};
use crate::outbound::{enqueue, uniq};
use crate::remote::DbRemoteActor;
use crate::routes::activity_response;
use crate::signed_fetch::{RequestHead, authorize_fetch};

/// The FEP's own namespace (`QuoteRequest`, `QuoteAuthorization`, `quote`).
pub const FEP_044F: &str = "https://w3id.org/fep/044f#";
/// GoToSocial's namespace, where the FEP takes `interactionPolicy` and the
/// stamp's `interactingObject` / `interactionTarget` from.
pub const GTS: &str = "https://gotosocial.org/ns#";

/// Who may quote an article (`federation.quote_policy`, or the article's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotePolicy {
    /// Anyone: approved at once.
    #[default]
    Everyone,
    /// Followers of the article's author or of the organisation.
    Followers,
    /// No one: every request is refused.
    Nobody,
}

impl QuotePolicy {
    pub const ALL: [QuotePolicy; 3] = [QuotePolicy::Everyone, QuotePolicy::Followers, QuotePolicy::Nobody];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "everyone" => Some(QuotePolicy::Everyone),
            "followers" => Some(QuotePolicy::Followers),
            "nobody" => Some(QuotePolicy::Nobody),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            QuotePolicy::Everyone => "everyone",
            QuotePolicy::Followers => "followers",
            QuotePolicy::Nobody => "nobody",
        }
    }
}

/// The terms the quote documents use, for an `@context`.
pub fn context_terms() -> Value {
    json!({
        "gts": GTS,
        "interactionPolicy": { "@id": "gts:interactionPolicy", "@type": "@id" },
        "canQuote": { "@id": "gts:canQuote", "@type": "@id" },
        "automaticApproval": { "@id": "gts:automaticApproval", "@type": "@id" },
        "manualApproval": { "@id": "gts:manualApproval", "@type": "@id" },
        "interactingObject": { "@id": "gts:interactingObject", "@type": "@id" },
        "interactionTarget": { "@id": "gts:interactionTarget", "@type": "@id" },
        "QuoteRequest": format!("{FEP_044F}QuoteRequest"),
        "QuoteAuthorization": format!("{FEP_044F}QuoteAuthorization"),
        "quote": { "@id": format!("{FEP_044F}quote"), "@type": "@id" },
        "quoteAuthorization": { "@id": format!("{FEP_044F}quoteAuthorization"), "@type": "@id" },
    })
}

/// The policy that applies to `article`: its own, else the instance's.
pub async fn policy_of(ctx: &FedContext, article: &Article) -> Result<QuotePolicy, FederationError> {
    Ok(ctx
        .store()
        .article_quote_policy(&article.id)
        .await?
        .as_deref()
        .and_then(QuotePolicy::parse)
        .unwrap_or(ctx.settings().quote_policy))
}

/// Sets the article's own quote policy (`None`: back to the instance's
/// `federation.quote_policy`). When the policy that applies to a published
/// article changes, the article gets a new version and `updated`, and the
/// `Update` an edit sends is recorded for its followers (delivered by
/// [`crate::federate_changes`], which the caller runs); the same policy
/// again, or a draft, sends nothing.
pub async fn set_policy(
    ctx: &FedContext,
    article_id: &str,
    policy: Option<QuotePolicy>,
) -> Result<QuotePolicyChange, FederationError> {
    let instance = ctx.settings().quote_policy.as_str();
    Ok(ctx
        .store()
        .set_article_quote_policy(article_id, policy.map(QuotePolicy::as_str), instance)
        .await?)
}

/// `interactionPolicy.canQuote` for an article written by `author_username`:
/// everyone (the public collection) or the author's followers approved at
/// once; with `nobody`, no one (an empty policy, which the FEP reads as
/// "only the author").
pub fn interaction_policy(ctx: &FedContext, author_username: &str, policy: QuotePolicy) -> Value {
    let automatic = match policy {
        QuotePolicy::Everyone => json!([PUBLIC]),
        QuotePolicy::Followers => json!([ctx.urls().followers(author_username)]),
        QuotePolicy::Nobody => json!([]),
    };
    json!({ "canQuote": { "automaticApproval": automatic, "manualApproval": [] } })
}

/// Adds the article's `interactionPolicy` (and the terms it needs to the
/// `@context`) to its AS2 document `v`.
pub async fn add_interaction_policy(
    ctx: &FedContext,
    article: &Article,
    author_username: &str,
    v: &mut Value,
) -> Result<(), FederationError> {
    let policy = policy_of(ctx, article).await?;
    v["interactionPolicy"] = interaction_policy(ctx, author_username, policy);
    if let Some(list) = v["@context"].as_array_mut() {
        list.push(context_terms());
    }
    Ok(())
}

/// The stamp's URL: `/quotes/{id}`.
pub fn stamp_url(ctx: &FedContext, quote_id: &str) -> String {
    ctx.urls().url(&format!("/quotes/{quote_id}"))
}

/// The `QuoteAuthorization` of an accepted quote, attributed to the
/// article's author.
pub fn stamp_json(ctx: &FedContext, quote: &Quote, article: &Article, author_id: &str) -> Value {
    json!({
        "@context": [AS2, context_terms()],
        "id": stamp_url(ctx, &quote.id),
        "type": "QuoteAuthorization",
        "attributedTo": author_id,
        "interactingObject": quote.quote_post,
        "interactionTarget": ctx.urls().article(article),
    })
}

/// The `QuoteRequest` being answered, as the answer embeds it.
fn request_json(quote: &Quote, target: &str) -> Value {
    json!({
        "id": quote.request_id,
        "type": "QuoteRequest",
        "actor": quote.actor.id,
        "object": target,
        "instrument": quote.quote_post,
    })
}

/// The author of `article` as a local actor id, with their username.
async fn author_of(ctx: &FedContext, article: &Article) -> Result<(String, String), FederationError> {
    let author = ctx.store().get_author(&article.author_id).await?;
    Ok((ctx.urls().actor(&author.username), author.username))
}

/// Whether `actor` follows the article's author or the organisation.
async fn follows(ctx: &FedContext, author_id: &str, actor: &str) -> Result<bool, FederationError> {
    let store = ctx.store();
    let mut locals = vec![author_id.to_owned()];
    if let Some(org) = store.find_organisation().await? {
        locals.push(ctx.urls().actor(&org.username));
    }
    for local in &locals {
        if store
            .find_follower(local, actor)
            .await?
            .is_some_and(|f| f.status == gazette_core::FollowStatus::Accepted)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

fn id_of(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// What [`on_quote_request`] reads of a `QuoteRequest`.
pub struct QuoteRequest<'a> {
    /// The activity's id.
    pub id: &'a str,
    /// The quoted object's id.
    pub object: &'a str,
    /// The quoting post: its id, or the post itself.
    pub instrument: Option<&'a Value>,
}

/// A `QuoteRequest`: `object` one of our articles, `instrument` the post
/// that quotes it (its id, or the post itself). Answered by the policy with
/// an `Accept` carrying the stamp, or a `Reject`, from the article's author
/// to the requester; the answer is stored either way. A request about
/// something not ours, or not public, is ignored.
pub async fn on_quote_request(
    data: &Data<FedContext>,
    request: &QuoteRequest<'_>,
    actor: &DbRemoteActor,
) -> Result<(), FederationError> {
    let target = request.object;
    let urls = data.urls();
    let article = if let Some(id) = urls.local_article_id(target) {
        data.store().find_article(id).await?
    } else if let Some(slug) = urls.local_article_slug(target) {
        data.store().find_article_by_slug(slug).await?
    } else {
        None
    };
    let Some(article) = article.filter(Article::is_public) else {
        tracing::debug!(
            object = target,
            "quote request for something that is not a public article of ours; ignored"
        );
        return Ok(());
    };
    let instrument = request
        .instrument
        .ok_or_else(|| FederationError::bad_request("QuoteRequest without instrument (the quoting post)"))?;
    let post = id_of(instrument).ok_or_else(|| FederationError::bad_request("QuoteRequest instrument without id"))?;
    let post_url = url::Url::parse(post)?;
    if post_url.host_str() != actor.id.host_str() || post_url.port() != actor.id.port() {
        return Err(FederationError::bad_request(format!(
            "quoting post {post} is not on the server of {}",
            actor.actor.id
        )));
    }
    if instrument
        .get("attributedTo")
        .and_then(id_of)
        .is_some_and(|a| a != actor.actor.id)
    {
        return Err(FederationError::bad_request("quoting post attributed to someone else"));
    }
    let web_url = match instrument.get("url") {
        Some(Value::String(s)) => gazette_core::links::web_url(s),
        Some(Value::Object(o)) => o
            .get("href")
            .and_then(Value::as_str)
            .and_then(gazette_core::links::web_url),
        _ => None,
    };
    let (author_id, _) = author_of(data, &article).await?;
    let allowed = match policy_of(data, &article).await? {
        QuotePolicy::Everyone => true,
        QuotePolicy::Followers => follows(data, &author_id, &actor.actor.id).await?,
        QuotePolicy::Nobody => false,
    };
    let quote = data
        .store()
        .record_quote(&QuoteAnswer {
            article_id: &article.id,
            quote_post: post,
            quote_url: web_url.as_deref(),
            actor: &actor.actor.id,
            request_id: request.id,
            state: if allowed {
                QuoteState::Accepted
            } else {
                QuoteState::Rejected
            },
        })
        .await?;
    // The stored answer decides: a revoked quote stays refused, and a post
    // that someone else's request named first is not answered for them.
    let answer = if quote.actor.id != actor.actor.id {
        reject(data, &article, &author_id, &quote, &actor.actor, request.id).await?;
        "rejected"
    } else if quote.state == QuoteState::Accepted {
        accept(data, &article, &author_id, &quote).await?;
        "accepted"
    } else {
        reject(data, &article, &author_id, &quote, &actor.actor, request.id).await?;
        "rejected"
    };
    tracing::info!(article = %article.slug, post, actor = %actor.actor.id, answer, "quote request");
    Ok(())
}

/// Queues the `Accept` of a quote request, its `result` the stamp.
async fn accept(ctx: &FedContext, article: &Article, author_id: &str, quote: &Quote) -> Result<(), FederationError> {
    let target = ctx.urls().article(article);
    let accept = outgoing::accept_quote(
        ctx.urls()
            .activity(author_id, "quote-accepts", &uniq(&quote.request_id)),
        author_id,
        request_json(quote, &target),
        stamp_url(ctx, &quote.id),
        &quote.actor.id,
        json!([AS2, context_terms()]),
    )
    .to_value()?;
    enqueue(ctx, author_id, &accept, std::slice::from_ref(&quote.actor.inbox)).await?;
    Ok(())
}

/// Queues the `Reject` of a quote request to `requester`.
async fn reject(
    ctx: &FedContext,
    article: &Article,
    author_id: &str,
    quote: &Quote,
    requester: &RemoteActor,
    request_id: &str,
) -> Result<(), FederationError> {
    let target = ctx.urls().article(article);
    let mut request = request_json(quote, &target);
    request["id"] = json!(request_id);
    request["actor"] = json!(requester.id);
    let reject = outgoing::reject_quote(
        ctx.urls().activity(author_id, "quote-rejects", &uniq(request_id)),
        author_id,
        request,
        &requester.id,
        json!([AS2, context_terms()]),
    )
    .to_value()?;
    enqueue(ctx, author_id, &reject, std::slice::from_ref(&requester.inbox)).await?;
    Ok(())
}

/// A `Delete` of a post, or an `Undo` of a `QuoteRequest`, from `actor`:
/// its quotes of our articles are forgotten (only the author's own).
pub async fn on_deleted(data: &Data<FedContext>, id: &str, actor: &DbRemoteActor) -> Result<(), FederationError> {
    if id.is_empty() {
        return Ok(());
    }
    let n = data.store().delete_quotes_by_post(id, &actor.actor.id).await?;
    if n > 0 {
        tracing::info!(post = id, actor = %actor.actor.id, "quoting post gone; its quotes forgotten");
    }
    Ok(())
}

/// An editor takes an accepted quote's permission back: the stamp answers
/// 410 from now on, the quote leaves the article page, and the article's
/// author sends the `Delete` of the stamp to the quoting actor. `None`
/// when there was no accepted quote `quote_id`.
pub async fn revoke(ctx: &FedContext, quote_id: &str) -> Result<Option<Quote>, FederationError> {
    let Some(quote) = ctx.store().revoke_quote(quote_id).await? else {
        return Ok(None);
    };
    let article = ctx.store().get_article(&quote.article_id).await?;
    let (author_id, _) = author_of(ctx, &article).await?;
    let mut stamp = stamp_json(ctx, &quote, &article, &author_id);
    if let Some(o) = stamp.as_object_mut() {
        o.remove("@context");
    }
    let delete = outgoing::delete_quote_stamp(
        ctx.urls().activity(&author_id, "quote-revocations", &quote.id),
        &author_id,
        stamp,
        &quote.actor.id,
        json!([AS2, context_terms()]),
    )
    .to_value()?;
    enqueue(ctx, &author_id, &delete, std::slice::from_ref(&quote.actor.inbox)).await?;
    tracing::info!(quote = quote_id, post = %quote.quote_post, "quote revoked");
    Ok(Some(quote))
}

/// `GET /quotes/{id}`: the `QuoteAuthorization` of an accepted quote; 410
/// once revoked (or once the article is gone), 404 for a refused or
/// unknown one.
pub async fn get_stamp(
    data: Data<FedContext>,
    Path(id): Path<String>,
    head: RequestHead,
) -> Result<Response, FederationError> {
    authorize_fetch(&data, &head).await?;
    let quote = data.store().find_quote(&id).await?.ok_or(FederationError::NotFound)?;
    match quote.state {
        QuoteState::Accepted => {}
        QuoteState::Revoked => return Err(FederationError::Gone),
        QuoteState::Rejected => return Err(FederationError::NotFound),
    }
    let article = data.store().get_article(&quote.article_id).await?;
    if !article.is_public() {
        return Err(FederationError::Gone);
    }
    let (author_id, _) = author_of(&data, &article).await?;
    Ok(activity_response(&stamp_json(&data, &quote, &article, &author_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_read_as_written() {
        for p in QuotePolicy::ALL {
            assert_eq!(QuotePolicy::parse(p.as_str()), Some(p));
        }
        assert_eq!(QuotePolicy::parse("all"), None);
        assert_eq!(QuotePolicy::default(), QuotePolicy::Everyone);
    }

    #[test]
    fn the_context_names_every_term_the_documents_use() {
        let terms = context_terms();
        for t in [
            "interactionPolicy",
            "canQuote",
            "automaticApproval",
            "interactingObject",
            "interactionTarget",
            "QuoteRequest",
            "QuoteAuthorization",
            "quote",
            "quoteAuthorization",
        ] {
            assert!(terms.get(t).is_some(), "{t}");
        }
        assert_eq!(
            terms["QuoteAuthorization"],
            "https://w3id.org/fep/044f#QuoteAuthorization"
        );
    }
}
