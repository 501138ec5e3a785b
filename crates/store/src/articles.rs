//! Articles with their translations and tags; every write is one transaction.

use chrono::{DateTime, Utc};
use gazette_core::{
    Article, ArticleEvent, ArticleKind, ArticleStatus, Author, Cover, Interviewee, Language, NewArticle, Organisation,
    Translation,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::Store;
use crate::authors::author_from_prefixed_row;
use crate::error::{StoreError, StoreResult};
use crate::ids::new_id;
use crate::media::{NewMedia, insert_media_in, require_media_in};
use crate::organisation::org_from_prefixed_row;
use crate::sql::Sql;
use crate::time::{from_db, from_db_opt, now, to_db};

const ARTICLE_COLUMNS: &str = "id, slug, kind, status, default_language, author_id, cover_media, cover_alt, \
                               interviewee, published_at, created_at, updated_at, version";

/// Filters for listing articles. An empty `statuses` means every status but deleted.
#[derive(Debug, Clone, Default)]
pub struct ArticleQuery {
    pub statuses: Vec<ArticleStatus>,
    pub kind: Option<ArticleKind>,
    pub tag: Option<String>,
    pub author_id: Option<String>,
    /// Only articles with a translation in this language.
    pub language: Option<Language>,
    /// Words that begin words of a title or of the slug (case-folded).
    pub search: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

impl ArticleQuery {
    /// Published articles, newest first.
    pub fn published(limit: i64, offset: i64) -> Self {
        ArticleQuery {
            statuses: vec![ArticleStatus::Published],
            limit,
            offset,
            ..Default::default()
        }
    }
}

/// An article with its author and the instance's organisation: everything an
/// article page needs, read in two queries.
#[derive(Debug, Clone)]
pub struct ArticleView {
    pub article: Article,
    pub author: Author,
    pub organisation: Option<Organisation>,
}

/// One page of a listing and how many match in all.
#[derive(Debug, Clone)]
pub struct ArticlePage {
    pub articles: Vec<Article>,
    pub total: i64,
}

/// An article change waiting to be turned into deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingArticleEvent {
    pub id: String,
    pub article_id: String,
    pub event: ArticleEvent,
    /// The article's version right after the change; it names the activity.
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TagCount {
    pub tag: String,
    pub count: i64,
}

impl Store {
    /// Stores a validated article with all its translations, atomically.
    pub async fn create_article(&self, new: &NewArticle) -> StoreResult<Article> {
        self.create_article_with_media(new, &[]).await
    }

    /// Stores `media` and the article that uses them in one transaction: if
    /// anything is refused, no image is left behind either.
    pub async fn create_article_with_media(&self, new: &NewArticle, media: &[NewMedia]) -> StoreResult<Article> {
        let mut tx = self.begin_write().await?;
        let id = create_article_in(&mut tx, new, media, Tell::Everyone).await?;
        tx.commit().await?;
        self.get_article(&id).await
    }

    /// Replaces an article's content, keeping its id and creation date. With
    /// `expected_version`, refuses to overwrite a newer save (lost update).
    pub async fn update_article(
        &self,
        id: &str,
        new: &NewArticle,
        expected_version: Option<i64>,
    ) -> StoreResult<Article> {
        self.update_article_with_media(id, new, expected_version, &[]).await
    }

    /// [`Store::update_article`] storing `media` in the same transaction.
    pub async fn update_article_with_media(
        &self,
        id: &str,
        new: &NewArticle,
        expected_version: Option<i64>,
        media: &[NewMedia],
    ) -> StoreResult<Article> {
        let mut tx = self.begin_write().await?;
        update_article_in(&mut tx, id, new, expected_version, media, Tell::Everyone).await?;
        tx.commit().await?;
        self.get_article(id).await
    }

    /// Moves an article to `status`: publishing sets `published_at` if unset;
    /// deleting keeps the row as a tombstone (its URL then answers 410).
    /// What followers must hear about the change is recorded in the same
    /// transaction (see [`Store::pending_article_events`]).
    pub async fn set_article_status(&self, id: &str, status: ArticleStatus) -> StoreResult<Article> {
        let now = now();
        let t = to_db(now);
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT status, version, published_at FROM articles WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::not_found("article", id))?;
        let old_status: String = row.try_get("status")?;
        let version: i64 = row.try_get("version")?;
        let published_at = from_db_opt(row.try_get("published_at")?)?;
        if status == ArticleStatus::Scheduled && published_at.is_none_or(|p| p <= now) {
            return Err(StoreError::Invalid {
                field: "publish_at",
                message: "schedule needs a publish_at in the future".into(),
            });
        }
        let sql = if status == ArticleStatus::Published {
            "UPDATE articles SET status = $1, published_at = COALESCE(published_at, $2), updated_at = $2,
                 version = version + 1 WHERE id = $3"
        } else {
            "UPDATE articles SET status = $1, updated_at = $2, version = version + 1 WHERE id = $3"
        };
        sqlx::query(sql)
            .bind(status.as_str())
            .bind(t)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let was_public = old_status == ArticleStatus::Published.as_str();
        record_event(
            &mut tx,
            id,
            was_public,
            status == ArticleStatus::Published,
            version + 1,
            now,
            true,
        )
        .await?;
        tx.commit().await?;
        self.get_article(id).await
    }

    /// Publishes every scheduled article whose time has come; returns their
    /// ids. Each row is flipped by exactly one caller, even with several
    /// processes, and its `published` event recorded with it.
    pub async fn publish_due(&self, at: DateTime<Utc>) -> StoreResult<Vec<String>> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(
            "UPDATE articles SET status = 'published', updated_at = $1, version = version + 1
             WHERE status = 'scheduled' AND published_at <= $1 RETURNING id, version",
        )
        .bind(to_db(at))
        .fetch_all(&mut *tx)
        .await?;
        let mut ids = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get("id")?;
            record_event(&mut tx, &id, false, true, r.try_get("version")?, now(), true).await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Article changes not yet turned into deliveries, oldest first.
    pub async fn pending_article_events(&self, limit: i64) -> StoreResult<Vec<PendingArticleEvent>> {
        let rows =
            sqlx::query("SELECT id, article_id, kind, version FROM article_events ORDER BY created_at, id LIMIT $1")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(PendingArticleEvent {
                    id: r.try_get("id")?,
                    article_id: r.try_get("article_id")?,
                    event: ArticleEvent::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("article event kind `{kind}`")))?,
                    version: r.try_get("version")?,
                })
            })
            .collect()
    }

    /// Forgets an article event once its deliveries are queued.
    pub async fn finish_article_event(&self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM article_events WHERE id = $1")
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// The earliest time a scheduled article is due, for the scheduler's sleep.
    pub async fn next_scheduled(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let row = sqlx::query("SELECT MIN(published_at) AS t FROM articles WHERE status = 'scheduled'")
            .fetch_one(&self.pool)
            .await?;
        from_db_opt(row.try_get("t")?)
    }

    pub async fn find_article(&self, id: &str) -> StoreResult<Option<Article>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        self.one_with_children(row).await
    }

    pub async fn get_article(&self, id: &str) -> StoreResult<Article> {
        self.find_article(id)
            .await?
            .ok_or_else(|| StoreError::not_found("article", id))
    }

    /// Any article with this slug, whatever its status.
    pub async fn find_article_by_slug(&self, slug: &str) -> StoreResult<Option<Article>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE slug = $1"
        )))
        .bind(slug)
        .fetch_optional(&self.pool)
        .await?;
        self.one_with_children(row).await
    }

    pub async fn get_article_by_slug(&self, slug: &str) -> StoreResult<Article> {
        self.find_article_by_slug(slug)
            .await?
            .ok_or_else(|| StoreError::not_found("article", slug))
    }

    /// The article with this slug (any status), its author and the
    /// organisation, in two round trips instead of five.
    pub async fn find_article_view(&self, slug: &str) -> StoreResult<Option<ArticleView>> {
        let cols = ARTICLE_COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols},
                    au.id AS au_id, au.username AS au_username, au.name AS au_name, au.bio AS au_bio,
                    au.avatar AS au_avatar, au.fediverse_handle AS au_fediverse_handle,
                    au.created_at AS au_created_at, au.updated_at AS au_updated_at,
                    o.username AS o_username, o.name AS o_name, o.description AS o_description, o.logo AS o_logo,
                    o.website AS o_website, o.country AS o_country, o.legal_form AS o_legal_form,
                    o.sectors AS o_sectors, o.languages AS o_languages, o.updated_at AS o_updated_at
             FROM articles a
             JOIN authors au ON au.id = a.author_id
             LEFT JOIN organisation o ON o.id = 1
             WHERE a.slug = $1"
        );
        let Some(row) = sqlx::query(AssertSqlSafe(sql))
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let author = author_from_prefixed_row(&row, "au_")?;
        let has_org: Option<String> = row.try_get("o_username")?;
        let organisation = match has_org {
            Some(_) => Some(org_from_prefixed_row(&row, "o_")?),
            None => None,
        };
        let article = self.with_children(vec![row]).await?.pop();
        Ok(article.map(|article| ArticleView {
            article,
            author,
            organisation,
        }))
    }

    /// A page of articles matching `q`, newest first.
    pub async fn list_articles(&self, q: &ArticleQuery) -> StoreResult<ArticlePage> {
        let mut filter = Sql::new(" WHERE 1 = 1");
        if q.statuses.is_empty() {
            filter.push(" AND a.status <> 'deleted'");
        } else {
            filter
                .push(" AND a.status IN (")
                .bind_list(q.statuses.iter().map(|s| s.as_str()))
                .push(")");
        }
        if let Some(kind) = q.kind {
            filter.push(" AND a.kind = ").bind(kind.as_str());
        }
        if let Some(author) = &q.author_id {
            filter.push(" AND a.author_id = ").bind(author);
        }
        if let Some(tag) = &q.tag {
            // Stored keys are lower case: any spelling of a tag finds it.
            filter
                .push(" AND EXISTS (SELECT 1 FROM article_tags g WHERE g.article_id = a.id AND g.tag = ")
                .bind(tag.to_lowercase())
                .push(")");
        }
        if let Some(lang) = &q.language {
            filter
                .push(" AND EXISTS (SELECT 1 FROM article_translations l WHERE l.article_id = a.id AND l.language = ")
                .bind(lang.as_str())
                .push(")");
        }
        if let Some(search) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            // Words of the slug or of any title that start with each word
            // searched for, through the full-text index (migration 12).
            let Some(expr) = crate::dialect::article_search_query(self.backend, search) else {
                return Ok(ArticlePage {
                    articles: Vec::new(),
                    total: 0,
                });
            };
            if q.kind.is_none() && q.tag.is_none() && q.language.is_none() {
                return self.search_articles(q, expr).await;
            }
            let p = filter.param(expr);
            filter.push(&crate::dialect::article_search_condition(self.backend, &p));
        }
        let order = if q.statuses == [ArticleStatus::Published] {
            "a.published_at DESC, a.id DESC"
        } else {
            "COALESCE(a.published_at, a.created_at) DESC, a.id DESC"
        };
        let by_status_only =
            q.kind.is_none() && q.author_id.is_none() && q.tag.is_none() && q.language.is_none() && q.search.is_none();
        let total = if by_status_only {
            if q.statuses.is_empty() {
                self.count_with_statuses(&[ArticleStatus::Deleted.as_str()], true)
                    .await?
            } else {
                let statuses: Vec<&str> = q.statuses.iter().map(|s| s.as_str()).collect();
                self.count_with_statuses(&statuses, false).await?
            }
        } else {
            filter
                .after("SELECT COUNT(*) AS n FROM articles a")
                .fetch_one(&self.pool)
                .await?
                .try_get("n")?
        };
        // The page's ids first, from the order's index alone (the rows an
        // offset skips are never read), then only those articles.
        let mut page = filter.after("SELECT a.id AS id FROM articles a");
        page.push(&format!(" ORDER BY {order} LIMIT "))
            .bind(q.limit.clamp(0, 1000))
            .push(" OFFSET ")
            .bind(q.offset.max(0));
        let ids: Vec<String> = page
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?;
        Ok(ArticlePage {
            articles: self.articles_in_order(&ids).await?,
            total,
        })
    }

    /// The articles `ids` (with their children), in that order.
    async fn articles_in_order(&self, ids: &[String]) -> StoreResult<Vec<Article>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let cols = ARTICLE_COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut rows = Sql::new(&format!("SELECT {cols} FROM articles a WHERE a.id IN ("));
        rows.bind_list(ids).push(")");
        let mut articles = self.with_children(rows.fetch_all(&self.pool).await?).await?;
        articles.sort_by_key(|a| ids.iter().position(|id| *id == a.id));
        Ok(articles)
    }

    /// [`Store::list_articles`] for a search filtered by status and author
    /// only: matches are counted and ordered in `article_search` alone
    /// (status, author and date are kept there), then only the page's
    /// articles are read.
    async fn search_articles(&self, q: &ArticleQuery, expr: String) -> StoreResult<ArticlePage> {
        let mut filter = Sql::new(" WHERE ");
        let p = filter.param(expr);
        filter.push(&crate::dialect::article_search_match(self.backend, &p));
        if q.statuses.is_empty() {
            filter.push(" AND s.status <> 'deleted'");
        } else {
            filter
                .push(" AND s.status IN (")
                .bind_list(q.statuses.iter().map(|st| st.as_str()))
                .push(")");
        }
        if let Some(author) = &q.author_id {
            filter.push(" AND s.author_id = ").bind(author);
        }
        // The page and the number of matches in one pass over the matches
        // (`COUNT(*) OVER ()`): the search finds them all anyway to sort them.
        let mut page = filter.after("SELECT s.article_id AS id, COUNT(*) OVER () AS total FROM article_search s");
        page.push(" ORDER BY s.sort_at DESC, s.article_id DESC LIMIT ")
            .bind(q.limit.clamp(0, 1000))
            .push(" OFFSET ")
            .bind(q.offset.max(0));
        let rows = page.fetch_all(&self.pool).await?;
        let total: i64 = match rows.first() {
            Some(r) => r.try_get("total")?,
            // Past the last page: the count alone.
            None if q.offset > 0 => filter
                .after("SELECT COUNT(*) AS n FROM article_search s")
                .fetch_one(&self.pool)
                .await?
                .try_get("n")?,
            None => 0,
        };
        let ids: Vec<String> = rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
        Ok(ArticlePage {
            articles: self.articles_in_order(&ids).await?,
            total,
        })
    }

    /// Tags of published articles with how many use each, most used first.
    pub async fn list_tags(&self, limit: i64) -> StoreResult<Vec<TagCount>> {
        let rows = sqlx::query(
            "SELECT MIN(COALESCE(g.label, g.tag)) AS tag, COUNT(*) AS n FROM article_tags g JOIN articles a ON a.id = g.article_id
             WHERE a.status = 'published' GROUP BY g.tag ORDER BY n DESC, g.tag LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TagCount {
                    tag: r.try_get("tag")?,
                    count: r.try_get("n")?,
                })
            })
            .collect()
    }

    /// Languages that at least one published article is written in.
    pub async fn published_languages(&self) -> StoreResult<Vec<Language>> {
        let rows = sqlx::query(
            "SELECT DISTINCT t.language AS language FROM article_translations t JOIN articles a ON a.id = t.article_id
             WHERE a.status = 'published' ORDER BY t.language",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let l: String = r.try_get("language")?;
                Language::parse(&l).map_err(StoreError::Corrupt)
            })
            .collect()
    }

    /// Counts articles by status, for NodeInfo and the dashboard.
    /// Read from the counts the triggers of migration 19 keep.
    pub async fn count_articles(&self, status: ArticleStatus) -> StoreResult<i64> {
        self.count_with_statuses(&[status.as_str()], false).await
    }

    /// How many articles have one of `statuses` (`negate`: none of them),
    /// from the counts kept by triggers.
    async fn count_with_statuses(&self, statuses: &[&str], negate: bool) -> StoreResult<i64> {
        let mut q = Sql::new(&format!(
            "SELECT CAST(COALESCE(SUM(articles), 0) AS BIGINT) AS n FROM article_status_counts WHERE status {}IN (",
            if negate { "NOT " } else { "" },
        ));
        q.bind_list(statuses.iter().copied()).push(")");
        Ok(q.fetch_one(&self.pool).await?.try_get("n")?)
    }

    async fn one_with_children(&self, row: Option<AnyRow>) -> StoreResult<Option<Article>> {
        match row {
            None => Ok(None),
            Some(r) => Ok(self.with_children(vec![r]).await?.pop()),
        }
    }

    /// Loads translations and tags for `rows` in two queries, keeping row order.
    async fn with_children(&self, rows: Vec<AnyRow>) -> StoreResult<Vec<Article>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut articles: Vec<Article> = rows.iter().map(article_from_row).collect::<StoreResult<_>>()?;
        // Translations and tags in one round trip: pages are latency-bound by
        // the number of queries, not by their size. The list of ids is bound
        // once and named twice.
        let mut children = Sql::default();
        let ids = children.param_list(articles.iter().map(|a| a.id.as_str()));
        children.push(&format!(
            "SELECT article_id, 't' AS part, position, language, title, summary, body_markdown, body_html
               FROM article_translations WHERE article_id IN ({ids})
             UNION ALL
             SELECT article_id, 'g' AS part, position, COALESCE(label, tag) AS language, '' AS title, '' AS summary,
                    '' AS body_markdown, '' AS body_html
               FROM article_tags WHERE article_id IN ({ids})"
        ));
        // No ORDER BY: sorting would copy every body through a temporary
        // b-tree; rows are put in order here instead, by their position.
        let mut translations: Vec<(usize, i64, Translation)> = Vec::new();
        let mut tags: Vec<(usize, i64, String)> = Vec::new();
        for r in children.fetch_all(&self.pool).await? {
            let article_id: String = r.try_get("article_id")?;
            let Some(index) = articles.iter().position(|a| a.id == article_id) else {
                continue;
            };
            let part: String = r.try_get("part")?;
            let position: i64 = r.try_get("position")?;
            if part == "g" {
                tags.push((index, position, r.try_get("language")?));
                continue;
            }
            let lang: String = r.try_get("language")?;
            let t = Translation {
                language: Language::parse(&lang).map_err(StoreError::Corrupt)?,
                title: r.try_get("title")?,
                summary: r.try_get("summary")?,
                body_markdown: r.try_get("body_markdown")?,
                body_html: r.try_get("body_html")?,
            };
            translations.push((index, position, t));
        }
        translations.sort_by_key(|(i, p, _)| (*i, *p));
        tags.sort_by_key(|(i, p, _)| (*i, *p));
        for (i, _, t) in translations {
            articles[i].translations.push(t);
        }
        for (i, _, tag) in tags {
            articles[i].tags.push(tag);
        }
        for a in &articles {
            if a.translations.is_empty() {
                return Err(StoreError::Corrupt(format!("article {} has no translation", a.id)));
            }
        }
        Ok(articles)
    }
}

/// [`Store::create_article_with_media`] inside a transaction; returns the
/// new article's id. `tell` says who hears of it: an import of old posts
/// tells followers only when asked (`--federate`) and never mails them.
pub(crate) async fn create_article_in(
    tx: &mut AnyConnection,
    new: &NewArticle,
    media: &[NewMedia],
    tell: Tell,
) -> StoreResult<String> {
    let new = &attach_media(&mut *tx, new, media).await?;
    let author_id = resolve_author(&mut *tx, &new.author).await?;
    check_media_refs(&mut *tx, new).await?;
    if let Some(other) = slug_owner(&mut *tx, &new.slug).await? {
        return Err(slug_taken(&new.slug, &other.1));
    }
    let t = now();
    let id = new_id();
    let published_at = published_at_for(new, None, t);
    sqlx::query(
        "INSERT INTO articles (id, slug, kind, status, default_language, author_id, cover_media, cover_alt,
                                   interviewee, published_at, created_at, updated_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1)",
    )
    .bind(&id)
    .bind(&new.slug)
    .bind(new.kind.as_str())
    .bind(new.status.as_str())
    .bind(new.default_language.as_str())
    .bind(&author_id)
    .bind(new.cover.as_ref().map(|c| c.media_id.clone()))
    .bind(new.cover.as_ref().map(|c| c.alt.clone()))
    .bind(interviewee_json(&new.interviewee)?)
    .bind(published_at.map(to_db))
    .bind(to_db(t))
    .bind(to_db(t))
    .execute(&mut *tx)
    .await
    .map_err(|e| map_slug_violation(e, &new.slug))?;
    insert_children(&mut *tx, &id, new).await?;
    if tell != Tell::Nobody {
        let newsletter = tell == Tell::Everyone;
        record_event(
            &mut *tx,
            &id,
            false,
            new.status == ArticleStatus::Published,
            1,
            t,
            newsletter,
        )
        .await?;
    }
    Ok(id)
}

/// [`Store::update_article_with_media`] inside a transaction. Without
/// `record_events`, followers hear nothing of the change.
pub(crate) async fn update_article_in(
    tx: &mut AnyConnection,
    id: &str,
    new: &NewArticle,
    expected_version: Option<i64>,
    media: &[NewMedia],
    tell: Tell,
) -> StoreResult<()> {
    let row = sqlx::query("SELECT version, status, published_at FROM articles WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::not_found("article", id))?;
    let version: i64 = row.try_get("version")?;
    let old_status: String = row.try_get("status")?;
    let old_published: Option<i64> = row.try_get("published_at")?;
    if let Some(expected) = expected_version
        && expected != version
    {
        return Err(StoreError::StaleVersion {
            what: "article",
            current: version,
        });
    }
    let new = &attach_media(&mut *tx, new, media).await?;
    let author_id = resolve_author(&mut *tx, &new.author).await?;
    check_media_refs(&mut *tx, new).await?;
    if let Some(other) = slug_owner(&mut *tx, &new.slug).await?
        && other.0 != id
    {
        return Err(slug_taken(&new.slug, &other.1));
    }
    let t = now();
    let published_at = published_at_for(new, from_db_opt(old_published)?, t);
    let done = sqlx::query(
        "UPDATE articles SET slug = $1, kind = $2, status = $3, default_language = $4, author_id = $5,
                 cover_media = $6, cover_alt = $7, interviewee = $8, published_at = $9, updated_at = $10,
                 version = version + 1
             WHERE id = $11 AND version = $12",
    )
    .bind(&new.slug)
    .bind(new.kind.as_str())
    .bind(new.status.as_str())
    .bind(new.default_language.as_str())
    .bind(&author_id)
    .bind(new.cover.as_ref().map(|c| c.media_id.clone()))
    .bind(new.cover.as_ref().map(|c| c.alt.clone()))
    .bind(interviewee_json(&new.interviewee)?)
    .bind(published_at.map(to_db))
    .bind(to_db(t))
    .bind(id)
    .bind(version)
    .execute(&mut *tx)
    .await
    .map_err(|e| map_slug_violation(e, &new.slug))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::StaleVersion {
            what: "article",
            current: version + 1,
        });
    }
    sqlx::query("DELETE FROM article_translations WHERE article_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM article_tags WHERE article_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    insert_children(&mut *tx, id, new).await?;
    let was_public = old_status == ArticleStatus::Published.as_str();
    let is_public = new.status == ArticleStatus::Published;
    if tell != Tell::Nobody {
        let newsletter = tell == Tell::Everyone;
        record_event(&mut *tx, id, was_public, is_public, version + 1, t, newsletter).await?;
    }
    Ok(())
}

/// Who hears of an article write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tell {
    /// Followers (article events) and newsletter subscribers: what an
    /// editor publishes.
    Everyone,
    /// Followers only: an import of old posts with `--federate`.
    FollowersOnly,
    /// Nobody: an import of old posts.
    Nobody,
}

/// The date an article shows: the explicit one, else the one it already had,
/// else now if it is being published.
/// Records what followers must hear about a change, inside its transaction.
async fn record_event(
    conn: &mut AnyConnection,
    article_id: &str,
    was_public: bool,
    is_public: bool,
    version: i64,
    at: DateTime<Utc>,
    newsletter: bool,
) -> StoreResult<()> {
    let Some(event) = ArticleEvent::of_change(was_public, is_public) else {
        return Ok(());
    };
    sqlx::query("INSERT INTO article_events (id, article_id, kind, version, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(new_id())
        .bind(article_id)
        .bind(event.as_str())
        .bind(version)
        .bind(to_db(at))
        .execute(&mut *conn)
        .await?;
    if newsletter && event == ArticleEvent::Published {
        crate::newsletter::queue_issue(conn, article_id, at).await?;
    }
    Ok(())
}

fn published_at_for(new: &NewArticle, existing: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match new.status {
        ArticleStatus::Published => Some(new.published_at.or(existing).unwrap_or(now)),
        _ => new.published_at.or(existing),
    }
}

async fn check_media_refs(conn: &mut AnyConnection, new: &NewArticle) -> StoreResult<()> {
    if let Some(c) = &new.cover {
        require_media_in(conn, "cover", &c.media_id).await?;
    }
    if let Some(photo) = new.interviewee.as_ref().and_then(|i| i.photo.as_deref()) {
        require_media_in(conn, "interviewee.photo", photo).await?;
    }
    Ok(())
}

/// Inserts `media` and returns `new` with their placeholders replaced by ids.
async fn attach_media(conn: &mut AnyConnection, new: &NewArticle, media: &[NewMedia]) -> StoreResult<NewArticle> {
    let mut new = new.clone();
    for m in media {
        let id = insert_media_in(conn, m).await?;
        if let Some(c) = new.cover.as_mut().filter(|c| c.media_id == m.key) {
            c.media_id = id.clone();
        }
        if let Some(p) = new
            .interviewee
            .as_mut()
            .and_then(|i| i.photo.as_mut())
            .filter(|p| **p == m.key)
        {
            *p = id;
        }
    }
    Ok(new)
}

async fn resolve_author(conn: &mut AnyConnection, author: &str) -> StoreResult<String> {
    let row = sqlx::query("SELECT id FROM authors WHERE id = $1 OR username = $1")
        .bind(author)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) => Ok(r.try_get("id")?),
        None => Err(StoreError::Invalid {
            field: "author",
            message: format!("no author has id or username `{author}`"),
        }),
    }
}

/// (id, status) of the article holding `slug`, if any.
async fn slug_owner(conn: &mut AnyConnection, slug: &str) -> StoreResult<Option<(String, String)>> {
    let row = sqlx::query("SELECT id, status FROM articles WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("status")?))).transpose()
}

fn slug_taken(slug: &str, status: &str) -> StoreError {
    let message = if status == "deleted" {
        format!("slug `{slug}` belongs to a deleted article; choose another slug or update that article to restore it")
    } else {
        format!("slug `{slug}` is already used by another article")
    };
    StoreError::Conflict { field: "slug", message }
}

fn map_slug_violation(e: sqlx::Error, slug: &str) -> StoreError {
    if StoreError::is_unique_violation(&e) {
        slug_taken(slug, "")
    } else {
        e.into()
    }
}

fn interviewee_json(i: &Option<Interviewee>) -> StoreResult<Option<String>> {
    i.as_ref()
        .map(|i| serde_json::to_string(i).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

async fn insert_children(conn: &mut AnyConnection, id: &str, new: &NewArticle) -> StoreResult<()> {
    for (pos, t) in new.translations.iter().enumerate() {
        sqlx::query(
            "INSERT INTO article_translations (article_id, language, position, title, summary, body_markdown, body_html)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(t.language.as_str())
        .bind(pos as i64)
        .bind(&t.title)
        .bind(&t.summary)
        .bind(&t.body_markdown)
        .bind(&t.body_html)
        .execute(&mut *conn)
        .await?;
    }
    // `tag` is the lower-case key every lookup uses; `label` keeps the case
    // the tag was written in, for display.
    for (pos, tag) in new.tags.iter().enumerate() {
        sqlx::query("INSERT INTO article_tags (article_id, tag, position, label) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(tag.to_lowercase())
            .bind(pos as i64)
            .bind(tag)
            .execute(&mut *conn)
            .await?;
    }
    write_media_refs(conn, id, new).await
}

/// Replaces the images article `id` uses (migration 21's
/// `article_media_refs`, read by the media library) with those of `new`.
async fn write_media_refs(conn: &mut AnyConnection, id: &str, new: &NewArticle) -> StoreResult<()> {
    sqlx::query("DELETE FROM article_media_refs WHERE article_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for (media_id, kind) in media_refs(new) {
        sqlx::query("INSERT INTO article_media_refs (media_id, kind, article_id) VALUES ($1, $2, $3)")
            .bind(media_id)
            .bind(kind)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// (media id, kind of use) of every image `new` uses, each once: its
/// cover, its interviewee's photo and the images any translation's text
/// shows (see [`gazette_core::media::referenced_media_ids`]).
fn media_refs(new: &NewArticle) -> Vec<(String, &'static str)> {
    let mut refs: Vec<(String, &'static str)> = Vec::new();
    if let Some(c) = &new.cover {
        refs.push((c.media_id.clone(), "cover"));
    }
    if let Some(photo) = new.interviewee.as_ref().and_then(|i| i.photo.clone()) {
        refs.push((photo, "interviewee"));
    }
    let mut inline: Vec<String> = new
        .translations
        .iter()
        .flat_map(|t| gazette_core::media::referenced_media_ids(&t.body_markdown))
        .collect();
    inline.sort();
    inline.dedup();
    refs.extend(inline.into_iter().map(|m| (m, "inline")));
    refs
}

fn article_from_row(r: &AnyRow) -> StoreResult<Article> {
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("status")?;
    let lang: String = r.try_get("default_language")?;
    let cover_media: Option<String> = r.try_get("cover_media")?;
    let cover_alt: Option<String> = r.try_get("cover_alt")?;
    let interviewee: Option<String> = r.try_get("interviewee")?;
    Ok(Article {
        id: r.try_get("id")?,
        slug: r.try_get("slug")?,
        kind: ArticleKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("article kind {kind}")))?,
        status: ArticleStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("article status {status}")))?,
        default_language: Language::parse(&lang).map_err(StoreError::Corrupt)?,
        translations: Vec::new(),
        tags: Vec::new(),
        author_id: r.try_get("author_id")?,
        cover: cover_media.map(|media_id| Cover {
            media_id,
            alt: cover_alt.unwrap_or_default(),
        }),
        interviewee: interviewee
            .map(|j| serde_json::from_str(&j).map_err(|e| StoreError::Corrupt(format!("interviewee: {e}"))))
            .transpose()?,
        published_at: from_db_opt(r.try_get("published_at")?)?,
        created_at: from_db(r.try_get("created_at")?)?,
        updated_at: from_db(r.try_get("updated_at")?)?,
        version: r.try_get("version")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_article_uses_each_image_once_per_kind() {
        let fr = Language::parse("fr").unwrap();
        let text = |body: &str| Translation {
            language: fr.clone(),
            title: "T".into(),
            summary: "S".into(),
            body_markdown: body.into(),
            body_html: String::new(),
        };
        let new = NewArticle {
            slug: "s".into(),
            kind: ArticleKind::Interview,
            status: ArticleStatus::Draft,
            default_language: fr.clone(),
            translations: vec![
                text("![a](/media/b2) ![c](/media/a1)"),
                text("![a](/media/a1) /media/c0ver"),
            ],
            tags: Vec::new(),
            author: "lea".into(),
            cover: Some(Cover {
                media_id: "c0ver".into(),
                alt: "A".into(),
            }),
            interviewee: Some(Interviewee {
                name: "Ana".into(),
                photo: Some("a1".into()),
                ..Default::default()
            }),
            published_at: None,
        };
        let refs = media_refs(&new);
        let refs: Vec<(&str, &str)> = refs.iter().map(|(m, k)| (m.as_str(), *k)).collect();
        assert_eq!(
            refs,
            [
                ("c0ver", "cover"),
                ("a1", "interviewee"),
                ("a1", "inline"),
                ("b2", "inline"),
                ("c0ver", "inline")
            ]
        );
        let plain = NewArticle {
            cover: None,
            interviewee: None,
            translations: vec![text("No image.")],
            ..new
        };
        assert!(media_refs(&plain).is_empty());
    }
}
