//! Reading articles: by id or slug, the public view of one, listings and
//! search, tags, languages and counts, each with its translations and tags.

use gazette_core::{Article, ArticleKind, ArticleStatus, Cover, Language, Translation};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{ARTICLE_COLUMNS, ArticlePage, ArticleQuery, ArticleView, TagCount};
use crate::Store;
use crate::authors::author_from_prefixed_row;
use crate::error::{StoreError, StoreResult};
use crate::organisation::org_from_prefixed_row;
use crate::sql::Sql;
use crate::time::{from_db, from_db_opt};

impl Store {
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
