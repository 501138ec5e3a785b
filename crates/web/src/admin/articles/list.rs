//! `GET /admin/articles`: the articles list, newest first, with a status
//! filter, a search and pages; authors see their own.

use std::collections::HashMap;

use axum::extract::{Query, State};
use gazette_core::ArticleStatus;
use gazette_store::ArticleQuery;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::admin::{AdminResult, OrPage, Signed, render};

const PER_PAGE: i64 = 25;

#[derive(Deserialize, Default)]
pub(crate) struct ListParams {
    status: Option<String>,
    q: Option<String>,
    page: Option<String>,
    done: Option<String>,
}

/// One row of the articles list.
#[derive(Serialize)]
struct Row {
    id: String,
    title: String,
    slug: String,
    status: &'static str,
    kind: &'static str,
    languages: Vec<String>,
    author: String,
    date: String,
}

/// `GET /admin/articles?status=&q=&page=` — newest first; authors see their own.
pub(crate) async fn get_articles(
    State(state): State<AppState>,
    signed: Signed,
    Query(p): Query<ListParams>,
) -> AdminResult {
    let user = &signed.session.user;
    let status = p.status.as_deref().and_then(ArticleStatus::parse);
    let page = p
        .page
        .as_deref()
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1);
    let search = p.q.clone().filter(|q| !q.trim().is_empty());
    let query = ArticleQuery {
        statuses: status.into_iter().collect(),
        author_id: if user.role.is_editor() {
            None
        } else {
            Some(user.author_id.clone().unwrap_or_default())
        },
        search: search.clone(),
        limit: PER_PAGE,
        offset: (page - 1).saturating_mul(PER_PAGE),
        ..Default::default()
    };
    let (found, authors) =
        tokio::try_join!(state.store().list_articles(&query), state.store().list_authors()).or_page(&signed)?;
    let names: HashMap<&str, &str> = authors.iter().map(|a| (a.id.as_str(), a.name.as_str())).collect();
    let rows: Vec<Row> = found
        .articles
        .iter()
        .map(|a| Row {
            id: a.id.clone(),
            title: a.translation(None).title.clone(),
            slug: a.slug.clone(),
            status: a.status.as_str(),
            kind: a.kind.as_str(),
            languages: a.languages().map(|l| l.as_str().to_owned()).collect(),
            author: names.get(a.author_id.as_str()).copied().unwrap_or("").to_owned(),
            date: a.published_at.unwrap_or(a.updated_at).to_rfc3339(),
        })
        .collect();
    let pages = ((found.total + PER_PAGE - 1) / PER_PAGE).max(1);
    let link = |n: i64| {
        let mut q = vec![format!("page={n}")];
        if let Some(s) = status {
            q.push(format!("status={}", s.as_str()));
        }
        if let Some(s) = &search {
            q.push(format!("q={}", crate::pages::encode_segment(s)));
        }
        format!("/admin/articles?{}", q.join("&"))
    };
    let page_json = json!({
        "rows": rows,
        "total": found.total,
        "status": status.map(|s| s.as_str()).unwrap_or(""),
        "q": search.clone().unwrap_or_default(),
        "page": page,
        "pages": pages,
        "prev": (page > 1).then(|| link(page - 1)),
        "next": (page < pages).then(|| link(page + 1)),
        "done": p.done,
    });
    Ok(render(&state, &signed, "articles", "admin/articles.html", page_json))
}
