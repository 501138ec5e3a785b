//! The one write path for articles, shared by the REST API and the admin
//! editor: validate the input, store it (with any new images, in the same
//! transaction), then queue its federation (Create, Update or Delete to
//! followers) from the difference between before and after.

use chrono::Utc;
use gazette_core::validate::{self, NoLines};
use gazette_core::{Article, ArticleInput, ArticleStatus, ValidationError};
use gazette_store::{NewMedia, StoreError};

use crate::AppState;

/// Why a write was refused.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// A field is bad; nothing was stored.
    Invalid(ValidationError),
    /// The store refused (slug taken, stale version, unknown author…) or failed.
    Store(StoreError),
}

impl From<ValidationError> for WriteError {
    fn from(e: ValidationError) -> Self {
        WriteError::Invalid(e)
    }
}

impl From<StoreError> for WriteError {
    fn from(e: StoreError) -> Self {
        WriteError::Store(e)
    }
}

/// Creates an article (a draft unless the input says otherwise). `media`
/// are new images the input refers to by their `key`.
pub(crate) async fn create_article(
    state: &AppState,
    input: &ArticleInput,
    media: &[NewMedia],
) -> Result<Article, WriteError> {
    let new = validate::article(input, ArticleStatus::Draft, Utc::now(), &NoLines, &|_| 1)?;
    let article = state.store().create_article_with_media(&new, media).await?;
    state.federate_soon();
    Ok(article)
}

/// Replaces `current`'s content, keeping its id. Without a status in the
/// input the article keeps its own (a deleted one comes back as a draft).
/// With `expected_version`, a save based on an older version is refused
/// (`StoreError::StaleVersion`) and nothing is overwritten.
pub(crate) async fn update_article(
    state: &AppState,
    current: &Article,
    input: &ArticleInput,
    expected_version: Option<i64>,
    media: &[NewMedia],
) -> Result<Article, WriteError> {
    let keep = match current.status {
        ArticleStatus::Deleted => ArticleStatus::Draft,
        s => s,
    };
    let new = validate::article(input, keep, Utc::now(), &NoLines, &|_| 1)?;
    let article = state
        .store()
        .update_article_with_media(&current.id, &new, expected_version, media)
        .await?;
    state.federate_soon();
    Ok(article)
}

/// Moves `before` to `status` (publish now, back to draft, delete).
pub(crate) async fn set_status(
    state: &AppState,
    before: &Article,
    status: ArticleStatus,
) -> Result<Article, StoreError> {
    let article = state.store().set_article_status(&before.id, status).await?;
    state.federate_soon();
    Ok(article)
}
