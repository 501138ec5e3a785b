//! `gazette publish FILE.md` and `gazette article …`: storing an article from
//! a file with its images, and listing, showing and changing stored articles.

use std::path::Path;

use chrono::Utc;
use gazette_core::media::{ImageLimits, accept};
use gazette_core::{Article, ArticleStatus};
use gazette_store::{ArticleQuery, NewMedia, Store};

use super::article_url;
use crate::app;
use crate::cli::{ArticleCommand, PublishArgs};
use crate::config::Config;
use crate::error::CliError;
use crate::frontmatter;

/// Validates the file, reads its images and stores everything in one transaction.
pub async fn publish(store: &Store, config: &Config, args: &PublishArgs) -> Result<Article, CliError> {
    let default_status = match ArticleStatus::parse(&args.status) {
        Some(s) if s != ArticleStatus::Deleted => s,
        _ => return Err(CliError::Usage(format!("--status: unknown status `{}`", args.status))),
    };
    let parsed = frontmatter::parse_file(&args.file, &|p| std::fs::read_to_string(p))?;
    let read = |p: &Path| std::fs::read(p);
    publish_parsed(
        store,
        config,
        &parsed,
        default_status,
        &read,
        args.update,
        args.url.as_deref(),
        &args.file,
    )
    .await
}

/// Shared by `publish` and the demo seeding (which reads from memory).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn publish_parsed(
    store: &Store,
    config: &Config,
    parsed: &frontmatter::ParsedArticle,
    default_status: ArticleStatus,
    read: &dyn Fn(&Path) -> std::io::Result<Vec<u8>>,
    update: bool,
    target: Option<&str>,
    file: &Path,
) -> Result<Article, CliError> {
    let new = frontmatter::validate(parsed, default_status, Utc::now())?;
    let limits = ImageLimits {
        bytes: usize::try_from(config.media.max_upload_bytes).unwrap_or(usize::MAX),
        pixels: config.media.max_image_pixels,
        side: u32::try_from(config.media.max_image_side).unwrap_or(u32::MAX),
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut media = Vec::new();
    for img in &parsed.images {
        let at = format!("{name}: line {}: {}", img.line, img.field);
        let bytes = read(&img.path)
            .map_err(|e| CliError::Usage(format!("{at}: cannot read image {}: {e}", img.path.display())))?;
        let (info, bytes) =
            accept(&bytes, &limits).map_err(|e| CliError::Usage(format!("{at}: {}: {e}", img.path.display())))?;
        let alt = match img.field.as_str() {
            "cover" => new.cover.as_ref().map(|c| c.alt.clone()).unwrap_or_default(),
            _ => new
                .interviewee
                .as_ref()
                .map(|i| format!("Portrait of {}", i.name))
                .unwrap_or_default(),
        };
        media.push(NewMedia {
            key: img.path.to_string_lossy().into_owned(),
            info,
            alt,
            bytes,
        });
    }
    let fed = app::fed_context(config, store)?;
    // The front matter's `quote_policy` is written with the article, so its
    // Create or Update carries it; absent, the article keeps what it had.
    let policy = parsed.quote_policy.as_deref().map(|p| (p != "default").then_some(p));
    if !update {
        let article = match policy {
            Some(p) => store.create_article_with_quote_policy(&new, &media, p).await?,
            None => store.create_article_with_media(&new, &media).await?,
        };
        gazette_federation::federate_changes(&fed).await;
        return Ok(article);
    }
    let key = match target {
        Some(t) => slug_of(t),
        None => new.slug.clone(),
    };
    let existing = find_article(store, &key).await?.ok_or_else(|| {
        CliError::Usage(format!(
            "--update: no article `{key}` to replace (drop --update to create it)"
        ))
    })?;
    let article = match policy {
        Some(p) => {
            store
                .update_article_with_quote_policy(&existing.id, &new, None, &media, p)
                .await?
        }
        None => {
            store
                .update_article_with_media(&existing.id, &new, None, &media)
                .await?
        }
    };
    gazette_federation::federate_changes(&fed).await;
    Ok(article)
}

pub(super) async fn article(store: &Store, config: &Config, cmd: ArticleCommand) -> Result<(), CliError> {
    match cmd {
        ArticleCommand::List { status, limit } => {
            let statuses = match status.as_deref() {
                None => Vec::new(),
                Some(s) => vec![ArticleStatus::parse(s).ok_or_else(|| {
                    CliError::Usage(format!(
                        "--status: unknown status `{s}`: expected draft, scheduled, published or deleted"
                    ))
                })?],
            };
            let page = store
                .list_articles(&ArticleQuery {
                    statuses,
                    limit,
                    ..Default::default()
                })
                .await?;
            println!(
                "{:<10} {:<10} {:<20} {:<8} {:<40} TITLE",
                "STATUS", "KIND", "PUBLISHED", "LANGS", "SLUG"
            );
            for a in &page.articles {
                let langs: Vec<&str> = a.languages().map(|l| l.as_str()).collect();
                println!(
                    "{:<10} {:<10} {:<20} {:<8} {:<40} {}",
                    a.status.as_str(),
                    a.kind.as_str(),
                    a.published_at
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_else(|| "-".into()),
                    langs.join(","),
                    a.slug,
                    a.translation(None).title
                );
            }
            println!("{} of {} article(s)", page.articles.len(), page.total);
            Ok(())
        }
        ArticleCommand::Show { article } => {
            let a = get_article(store, &article).await?;
            let author = store.get_author(&a.author_id).await?;
            println!("id:        {}", a.id);
            println!("slug:      {}", a.slug);
            println!("kind:      {}", a.kind.as_str());
            println!("status:    {}", a.status.as_str());
            println!("author:    {} ({})", author.name, author.username);
            println!(
                "published: {}",
                a.published_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into())
            );
            println!("updated:   {}", a.updated_at.to_rfc3339());
            println!("version:   {}", a.version);
            println!("tags:      {}", a.tags.join(", "));
            if let Some(c) = &a.cover {
                println!(
                    "cover:     {} ({})",
                    config.instance.public_url.clone() + "/media/" + &c.media_id,
                    c.alt
                );
            }
            if let Some(i) = &a.interviewee {
                println!("interviewee: {} — {}, {}", i.name, i.role, i.organisation);
            }
            for t in &a.translations {
                println!("[{}] {}", t.language, t.title);
                if !t.summary.is_empty() {
                    println!("     {}", t.summary);
                }
            }
            println!("{}", article_url(config, &a));
            Ok(())
        }
        ArticleCommand::QuotePolicy { article, policy } => {
            let a = get_article(store, &article).await?;
            super::quotes::quote_policy(store, config, &a, policy.as_deref()).await
        }
        ArticleCommand::Quotes { article } => super::quotes::list(store, &get_article(store, &article).await?).await,
        ArticleCommand::RevokeQuote { id } => super::quotes::revoke(store, config, &id).await,
        ArticleCommand::Delete { article } => {
            let a = get_article(store, &article).await?;
            if a.status == ArticleStatus::Deleted {
                return Err(CliError::Usage(format!("article `{}` is already deleted", a.slug)));
            }
            let before = a;
            let a = store.set_article_status(&before.id, ArticleStatus::Deleted).await?;
            gazette_federation::federate_changes(&app::fed_context(config, store)?).await;
            println!("deleted (its URL now answers 410 Gone):");
            println!("{}", article_url(config, &a));
            Ok(())
        }
    }
}

/// `https://host/articles/slug[/lang]` → `slug`; anything else is taken as a slug or id.
fn slug_of(s: &str) -> String {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix("http://").or_else(|| s.strip_prefix("https://")) {
        let path = rest.split_once('/').map(|(_, p)| p).unwrap_or("");
        let path = path.split(['?', '#']).next().unwrap_or("");
        let mut parts = path.split('/');
        if parts.next() == Some("articles")
            && let Some(slug) = parts.next()
        {
            return slug.to_owned();
        }
        return path.to_owned();
    }
    s.to_owned()
}

async fn find_article(store: &Store, slug_id_or_url: &str) -> Result<Option<Article>, CliError> {
    let key = slug_of(slug_id_or_url);
    if let Some(a) = store.find_article_by_slug(&key).await? {
        return Ok(Some(a));
    }
    Ok(store.find_article(&key).await?)
}

async fn get_article(store: &Store, slug_id_or_url: &str) -> Result<Article, CliError> {
    find_article(store, slug_id_or_url).await?.ok_or_else(|| {
        CliError::Usage(format!(
            "no article `{}` (give a slug, id or URL)",
            slug_of(slug_id_or_url)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_from_urls() {
        assert_eq!(slug_of("https://news.example.org/articles/hello-world"), "hello-world");
        assert_eq!(slug_of("http://localhost:8081/articles/hello/fr?x=1"), "hello");
        assert_eq!(slug_of("hello"), "hello");
    }
}
