//! `gazette import wordpress FILE` and `gazette import feed URL`: bring an
//! existing site's posts in as articles. Both formats are read into one
//! [`Source`]; each post is then converted (body, summary, tags, author,
//! language, images downloaded through the guarded client) and stored in
//! its own transaction with the note of where it came from, so a second run
//! updates instead of duplicating, and a run stopped midway leaves whole
//! posts only and resumes where it stopped.

pub mod feed;
pub mod html;
pub mod images;
pub mod wxr;
pub mod xml;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use gazette_core::media::ImageLimits;
use gazette_core::validate::{self, NoLines};
use gazette_core::{ArticleInput, ArticleStatus, AuthorInput, CoverInput, Language, TranslationInput};
use gazette_store::{ImportImage, ImportOutcome, ImportedPost, Store};
use sha2::{Digest, Sha256};

use crate::app;
use crate::config::Config;
use crate::error::CliError;
use images::Fetcher;

/// The largest feed read.
const MAX_FEED_BYTES: usize = 20 * 1024 * 1024;
/// Summaries made from the text are about this long.
const SUMMARY_CHARS: usize = 200;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import a WordPress export (Tools → Export, WXR 1.1 or 1.2): posts, their dates,
    /// categories and tags, authors, images and old URLs; run again to update
    Wordpress(WordpressArgs),
    /// Import the posts of an RSS 2.0, Atom or JSON Feed (fetched through the guarded client)
    Feed(FeedArgs),
}

#[derive(Debug, Args)]
pub struct WordpressArgs {
    /// The export file (.xml)
    pub file: PathBuf,
    /// Import pages too (skipped by default)
    #[arg(long)]
    pub pages: bool,
    #[command(flatten)]
    pub options: ImportOptions,
}

#[derive(Debug, Args)]
pub struct FeedArgs {
    /// The feed's URL
    pub url: String,
    #[command(flatten)]
    pub options: ImportOptions,
}

/// What both imports accept.
#[derive(Debug, Clone, Default, Args)]
pub struct ImportOptions {
    /// Tell followers about the imported published posts (by default old posts are stored quietly)
    #[arg(long)]
    pub federate: bool,
    /// Write the posts of the old site's author LOGIN as the Gazette author USERNAME
    /// (repeat for each author); other authors are created from the export
    #[arg(long, value_name = "LOGIN=USERNAME")]
    pub author_map: Vec<String>,
    /// Author (username) of posts that name none
    #[arg(long, value_name = "USERNAME")]
    pub author: Option<String>,
}

/// Posts, authors and language read from an export or a feed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Source {
    /// The site or feed URL: imports of the same source update each other.
    pub id: String,
    pub language: Option<String>,
    pub authors: Vec<SourceAuthor>,
    pub posts: Vec<SourcePost>,
    /// WordPress attachments by id (inline images name theirs in a `wp-image-N` class).
    pub attachments: HashMap<String, SourceImage>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceAuthor {
    pub login: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceImage {
    pub url: String,
    pub alt: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SourceStatus {
    Published,
    Draft,
    Scheduled,
    /// Not imported, for this reason.
    Skip(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourcePost {
    pub guid: String,
    pub title: String,
    /// Its address on the old site.
    pub link: Option<String>,
    pub content_html: String,
    pub excerpt: String,
    pub status: SourceStatus,
    pub is_page: bool,
    pub date: Option<DateTime<Utc>>,
    pub slug: Option<String>,
    /// The author's login (WordPress) or name (feeds).
    pub author: Option<String>,
    pub tags: Vec<String>,
    pub language: Option<String>,
    pub featured: Option<SourceImage>,
}

/// What happened to each post.
#[derive(Debug, Default)]
struct Summary {
    imported: usize,
    updated: usize,
    unchanged: usize,
    skipped: Vec<(String, String)>,
    needs_alt: usize,
    notes: Vec<String>,
}

/// Runs `gazette import …`.
pub async fn run(config: &Config, cmd: ImportCommand) -> Result<(), CliError> {
    let fetcher = Fetcher {
        client: app::http_client(config)?,
        limits: ImageLimits {
            bytes: usize::try_from(config.media.max_upload_bytes).unwrap_or(usize::MAX),
            pixels: config.media.max_image_pixels,
            side: u32::try_from(config.media.max_image_side).unwrap_or(u32::MAX),
        },
        allow_private_addresses: config.federation.allow_private_addresses,
    };
    let (source, pages, options) = match cmd {
        ImportCommand::Wordpress(args) => {
            let bytes = std::fs::read(&args.file).map_err(|e| CliError::Io {
                what: format!("cannot read {}", args.file.display()),
                source: e,
            })?;
            let source = wxr::parse(&bytes).map_err(|m| CliError::Usage(format!("{}: {m}", args.file.display())))?;
            (source, args.pages, args.options)
        }
        ImportCommand::Feed(args) => {
            let bytes = fetcher
                .get(&args.url, MAX_FEED_BYTES)
                .await
                .map_err(|e| CliError::Usage(format!("cannot fetch the feed: {}", e.message)))?;
            let source = feed::parse(&bytes, &args.url).map_err(|m| CliError::Usage(format!("{}: {m}", args.url)))?;
            (source, false, args.options)
        }
    };
    let store = app::open_store(config).await?;
    let result = Importer::new(config, &store, &fetcher, &source, pages, &options).await;
    let result = match result {
        Ok(mut importer) => importer.run().await,
        Err(e) => Err(e),
    };
    if result.is_ok() && options.federate {
        match app::fed_context(config, &store) {
            Ok(fed) => gazette_federation::federate_changes(&fed).await,
            Err(e) => tracing::warn!("imported posts not federated: {e}"),
        }
    }
    store.close().await;
    let summary = result?;
    print_summary(&summary, config);
    Ok(())
}

fn print_summary(s: &Summary, config: &Config) {
    println!(
        "imported: {}, updated: {}, unchanged: {}, skipped: {}",
        s.imported,
        s.updated,
        s.unchanged,
        s.skipped.len()
    );
    for (title, reason) in &s.skipped {
        println!("skipped “{title}”: {reason}");
    }
    for note in &s.notes {
        println!("note: {note}");
    }
    if s.needs_alt > 0 {
        println!(
            "{} image(s) came without alt text: describe them at {}/admin/media?needs_alt=1",
            s.needs_alt, config.instance.public_url
        );
    }
}

/// One import run.
struct Importer<'a> {
    config: &'a Config,
    store: &'a Store,
    fetcher: &'a Fetcher,
    source: &'a Source,
    pages: bool,
    options: &'a ImportOptions,
    /// Old site's author login → Gazette username, filled as authors are met.
    authors: HashMap<String, String>,
    /// The mappings given with --author-map (part of each post's digest).
    author_map: HashMap<String, String>,
    progress: Progress,
    summary: Summary,
}

impl<'a> Importer<'a> {
    async fn new(
        config: &'a Config,
        store: &'a Store,
        fetcher: &'a Fetcher,
        source: &'a Source,
        pages: bool,
        options: &'a ImportOptions,
    ) -> Result<Importer<'a>, CliError> {
        let mut authors = HashMap::new();
        for pair in &options.author_map {
            let (login, username) = pair
                .split_once('=')
                .map(|(l, u)| (l.trim(), u.trim()))
                .filter(|(l, u)| !l.is_empty() && !u.is_empty())
                .ok_or_else(|| CliError::Usage(format!("--author-map `{pair}`: expected LOGIN=USERNAME")))?;
            let author = store.find_author(username).await?.ok_or_else(|| {
                CliError::Usage(format!(
                    "--author-map {login}={username}: no Gazette author `{username}` (create it first)"
                ))
            })?;
            authors.insert(login.to_owned(), author.username);
        }
        if let Some(a) = &options.author
            && store.find_author(a).await?.is_none()
        {
            return Err(CliError::Usage(format!("--author: no Gazette author `{a}`")));
        }
        Ok(Importer {
            config,
            store,
            fetcher,
            source,
            pages,
            options,
            author_map: authors.clone(),
            authors,
            progress: Progress::new(source.posts.len()),
            summary: Summary::default(),
        })
    }

    async fn run(&mut self) -> Result<Summary, CliError> {
        for (n, post) in self.source.posts.iter().enumerate() {
            let title = display_title(post);
            let outcome = self.import(n, post).await;
            let word = match outcome {
                Ok(Done::Saved(ImportOutcome::Created)) => {
                    self.summary.imported += 1;
                    "imported"
                }
                Ok(Done::Saved(ImportOutcome::Updated)) => {
                    self.summary.updated += 1;
                    "updated"
                }
                Ok(Done::Unchanged) => {
                    self.summary.unchanged += 1;
                    "unchanged"
                }
                Err(Skip::Reason(reason)) => {
                    self.summary.skipped.push((title.clone(), reason));
                    "skipped"
                }
                Err(Skip::Fatal(e)) => {
                    self.progress.finish();
                    return Err(e);
                }
            };
            self.progress.step(n + 1, word, &title);
        }
        self.progress.finish();
        Ok(std::mem::take(&mut self.summary))
    }

    /// Imports one post in its own transaction.
    async fn import(&mut self, n: usize, post: &SourcePost) -> Result<Done, Skip> {
        if let SourceStatus::Skip(reason) = &post.status {
            return Err(Skip::Reason(reason.clone()));
        }
        if post.is_page && !self.pages {
            return Err(Skip::Reason("a page (use --pages to import pages)".into()));
        }
        if post.guid.is_empty() {
            return Err(Skip::Reason(
                "it has no id (guid) to recognise it by on a later run".into(),
            ));
        }
        let digest = self.digest(post);
        let existing = self.store.find_imported_article(&self.source.id, &post.guid).await?;
        if let Some((_, known)) = &existing
            && *known == digest
        {
            return Ok(Done::Unchanged);
        }
        let earlier = match &existing {
            Some((id, _)) => Some(self.store.get_article(id).await?),
            None => None,
        };
        if earlier.as_ref().is_some_and(|a| a.status == ArticleStatus::Deleted) {
            return Err(Skip::Reason(
                "its article was deleted here since the last import: not brought back".into(),
            ));
        }
        let author = self.author_for(post).await?;
        let language = self.language_for(post);
        let base = post
            .link
            .as_deref()
            .or(Some(self.source.id.as_str()))
            .and_then(|l| url::Url::parse(l).ok());
        let converted = html::convert(&post.content_html, base.as_ref(), &format!("gazette-import-{n}"));
        let mut body = converted.markdown;
        let mut images: Vec<ImportImage> = Vec::new();
        let mut needs_alt = 0;
        for found in &converted.images {
            let attachment_alt = found
                .attachment
                .as_ref()
                .and_then(|id| self.source.attachments.get(id))
                .map(|a| a.alt.trim())
                .filter(|a| !a.is_empty());
            let alt = attachment_alt.unwrap_or(found.alt.as_str()).to_owned();
            let placeholder = format!("<img src=\"/media/{}\" alt=\"", found.key);
            if found.alt.is_empty() && !alt.is_empty() {
                body = body.replace(
                    &format!("{placeholder}\""),
                    &format!("{placeholder}{}\"", escape_attr(&alt)),
                );
            }
            match self.image(&found.url, &found.key, &alt).await? {
                Fetched::Known(id) => body = body.replace(&format!("/media/{}", found.key), &format!("/media/{id}")),
                Fetched::New(image) => {
                    needs_alt += usize::from(image.alt.trim().is_empty());
                    images.push(image);
                }
                Fetched::Gone(why) => {
                    body = remove_image(&body, &found.key);
                    self.summary
                        .notes
                        .push(format!("“{}”: image left out: {why}", display_title(post)));
                }
            }
        }
        let mut cover = None;
        if let Some(f) = &post.featured
            && let Some(url) = html::absolute(&f.url, base.as_ref())
        {
            let key = format!("gazette-import-{n}-cover");
            let in_body = images.iter().find(|i| i.url == url).map(|i| i.key.clone());
            let fetched = match in_body {
                // Also in the text: downloaded once, stored once.
                Some(key) => Fetched::Known(key),
                None => self.image(&url, &key, &f.alt).await?,
            };
            let media_id = match fetched {
                Fetched::Known(id) => Some(id),
                Fetched::New(image) => {
                    needs_alt += usize::from(image.alt.trim().is_empty());
                    images.push(image);
                    Some(key)
                }
                Fetched::Gone(why) => {
                    self.summary
                        .notes
                        .push(format!("“{}”: featured image left out: {why}", display_title(post)));
                    None
                }
            };
            match media_id {
                Some(media_id) if !f.alt.trim().is_empty() => {
                    cover = Some(CoverInput {
                        media_id,
                        alt: f.alt.trim().to_owned(),
                    })
                }
                Some(_) => self.summary.notes.push(format!(
                    "“{}”: the featured image has no alt text: it is in the media library, not yet the cover",
                    display_title(post)
                )),
                None => {}
            }
        }
        let summary = match html::plain_text(&post.excerpt) {
            s if !s.is_empty() => html::first_sentences(&s, 2_000),
            _ => html::first_sentences(&html::running_text(&post.content_html), SUMMARY_CHARS),
        };
        let (status, publish_at) = match post.status {
            SourceStatus::Published => ("published", post.date),
            SourceStatus::Scheduled => ("scheduled", post.date),
            _ => ("draft", None),
        };
        let slug = match earlier {
            Some(a) => a.slug,
            None => self.free_slug(post).await?,
        };
        let input = ArticleInput {
            slug: Some(slug),
            kind: "news".into(),
            status: Some(status.into()),
            language: language.as_str().to_owned(),
            translations: vec![TranslationInput {
                language: language.as_str().to_owned(),
                title: display_title(post),
                summary,
                body,
                ..Default::default()
            }],
            tags: hashtags(&post.tags),
            author,
            cover,
            interviewee: None,
            publish_at: publish_at.map(|d| d.to_rfc3339()),
        };
        let article = validate::article(&input, ArticleStatus::Draft, Utc::now(), &NoLines, &|_| 1)
            .map_err(|e| Skip::Reason(format!("refused: {e}")))?;
        let saved = self
            .store
            .save_imported_post(&ImportedPost {
                source: self.source.id.clone(),
                guid: post.guid.clone(),
                old_path: old_path(post),
                article,
                images,
                federate: self.options.federate,
                digest,
            })
            .await
            .map_err(|e| match e {
                gazette_store::StoreError::Invalid { .. } | gazette_store::StoreError::Conflict { .. } => {
                    Skip::Reason(format!("refused: {e}"))
                }
                e => Skip::Fatal(e.into()),
            })?;
        self.summary.needs_alt += needs_alt;
        Ok(Done::Saved(saved.0))
    }

    /// An image by URL: already imported, newly downloaded, or gone for good.
    async fn image(&self, url: &str, key: &str, alt: &str) -> Result<Fetched, Skip> {
        if let Some(m) = self.store.find_imported_media(url).await? {
            return Ok(Fetched::Known(m.id));
        }
        match self.fetcher.image(url).await {
            Ok((info, bytes)) => Ok(Fetched::New(ImportImage {
                key: key.to_owned(),
                url: url.to_owned(),
                info,
                alt: alt.trim().to_owned(),
                bytes,
            })),
            Err(e) if e.permanent => Ok(Fetched::Gone(e.message)),
            Err(e) => Err(Skip::Reason(format!(
                "image not downloaded (run again to retry): {}",
                e.message
            ))),
        }
    }

    /// The Gazette author of a post: mapped, found or created.
    async fn author_for(&mut self, post: &SourcePost) -> Result<String, Skip> {
        let Some(login) = post.author.as_deref().filter(|l| !l.trim().is_empty()) else {
            return self
                .options
                .author
                .clone()
                .ok_or_else(|| Skip::Reason("it names no author: give one with --author USERNAME".into()));
        };
        if let Some(username) = self.authors.get(login) {
            return Ok(username.clone());
        }
        let username = username_for(login);
        if self.store.find_author(&username).await?.is_none() {
            let name = self
                .source
                .authors
                .iter()
                .find(|a| a.login == login)
                .map(|a| a.name.clone())
                .unwrap_or_else(|| login.to_owned());
            let input = validate::author(&AuthorInput {
                username: username.clone(),
                name,
                bio: String::new(),
                avatar: None,
                fediverse_handle: None,
            })
            .map_err(|e| Skip::Reason(format!("author `{login}` cannot be created: {e}")))?;
            self.store.create_author(&input).await?;
            self.summary
                .notes
                .push(format!("author `{username}` created for `{login}`"));
        }
        self.authors.insert(login.to_owned(), username.clone());
        Ok(username)
    }

    /// The post's language, else the site's, else the instance's.
    fn language_for(&self, post: &SourcePost) -> Language {
        [post.language.as_deref(), self.source.language.as_deref()]
            .into_iter()
            .flatten()
            .find_map(|l| Language::parse(&l.replace('_', "-")).ok())
            .unwrap_or_else(|| self.config.instance.default_language.clone())
    }

    /// The post's own slug, or one made from its title, not yet used here.
    async fn free_slug(&self, post: &SourcePost) -> Result<String, Skip> {
        let base = [post.slug.as_deref().unwrap_or(""), &display_title(post)]
            .into_iter()
            .map(gazette_core::slug::slugify)
            .find(|s| !s.is_empty())
            .unwrap_or_else(|| "imported".into());
        let mut slug = base.clone();
        let mut n = 2;
        while self.store.find_article_by_slug(&slug).await?.is_some() {
            slug = format!("{base}-{n}");
            n += 1;
        }
        Ok(slug)
    }

    /// What the post and the options that shape it amount to.
    fn digest(&self, post: &SourcePost) -> String {
        let mut h = Sha256::new();
        let mut part = |s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        part(&post.title);
        part(&post.content_html);
        part(&post.excerpt);
        part(&format!("{:?}", post.status));
        part(&post.date.map(|d| d.to_rfc3339()).unwrap_or_default());
        part(post.slug.as_deref().unwrap_or(""));
        part(post.author.as_deref().unwrap_or(""));
        part(
            self.author_map
                .get(post.author.as_deref().unwrap_or(""))
                .map(String::as_str)
                .unwrap_or(""),
        );
        part(&post.tags.join("\n"));
        part(
            post.language
                .as_deref()
                .unwrap_or(self.source.language.as_deref().unwrap_or("")),
        );
        if let Some(f) = &post.featured {
            part(&f.url);
            part(&f.alt);
        }
        let mut alts: Vec<&str> = html::attachment_ids(&post.content_html)
            .iter()
            .filter_map(|id| self.source.attachments.get(id))
            .map(|a| a.alt.as_str())
            .collect();
        alts.sort_unstable();
        for alt in alts {
            part(alt);
        }
        part(if self.options.federate { "federate" } else { "" });
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

enum Done {
    Saved(ImportOutcome),
    Unchanged,
}

/// Why a post was not imported: a reason to list, or a failure that ends the run.
enum Skip {
    Reason(String),
    Fatal(CliError),
}

impl From<gazette_store::StoreError> for Skip {
    fn from(e: gazette_store::StoreError) -> Self {
        Skip::Fatal(e.into())
    }
}

enum Fetched {
    /// Imported by an earlier run: its media id.
    Known(String),
    New(ImportImage),
    /// Answered 404 or 410, refused as an image: left out, with the reason.
    Gone(String),
}

fn display_title(post: &SourcePost) -> String {
    let t = html::plain_text(&post.title);
    if !t.is_empty() {
        return t;
    }
    match html::first_sentences(&html::plain_text(&post.content_html), 80) {
        s if s.is_empty() => "Untitled".into(),
        s => s,
    }
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Takes the image with placeholder `key` (and its figure, if it has one) out of `body`.
fn remove_image(body: &str, key: &str) -> String {
    let marker = format!("<img src=\"/media/{key}\"");
    let Some(start) = body.find(&marker) else {
        return body.to_owned();
    };
    let end = body[start..].find('>').map(|e| start + e + 1).unwrap_or(body.len());
    format!("{}{}", &body[..start], &body[end..])
}

/// `Économie sociale` → `ÉconomieSociale`: a hashtag, one word.
fn hashtags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let word: String = html::decode_entities(tag)
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut chars = w.chars();
                chars
                    .next()
                    .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                    .unwrap_or_default()
            })
            .collect();
        let word: String = word.chars().take(100).collect();
        if !word.is_empty() && !out.iter().any(|o| o.to_lowercase() == word.to_lowercase()) && out.len() < 30 {
            out.push(word);
        }
    }
    out
}

/// A Gazette username for an old site's author login or name.
fn username_for(login: &str) -> String {
    let folded = gazette_core::slug::slugify(login).replace('-', "_");
    let name: String = folded.chars().take(64).collect();
    if name.is_empty() { "imported".into() } else { name }
}

/// The post's path on the old site, when it has a path of its own (a
/// draft's `/?p=12` has none).
fn old_path(post: &SourcePost) -> Option<String> {
    if post.status != SourceStatus::Published {
        return None;
    }
    let url = url::Url::parse(post.link.as_deref()?).ok()?;
    let path = url.path();
    (path != "/" && !path.is_empty()).then(|| path.to_owned())
}

/// A progress bar on a terminal, plain lines otherwise.
struct Progress {
    total: usize,
    bar: bool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress {
            total,
            bar: std::io::stderr().is_terminal(),
        }
    }

    fn step(&mut self, done: usize, word: &str, title: &str) {
        let mut err = std::io::stderr().lock();
        let title = gazette_core::printable::printable(title);
        if self.bar {
            let width = 30;
            let filled = (done * width).checked_div(self.total).unwrap_or(width);
            let short: String = title.chars().take(40).collect();
            let _ = write!(
                err,
                "\r\x1b[2K[{}{}] {done}/{} {word}: {short}",
                "#".repeat(filled),
                " ".repeat(width - filled),
                self.total
            );
        } else {
            let _ = writeln!(err, "import: {done}/{} {word}: {title}", self.total);
        }
        let _ = err.flush();
    }

    fn finish(&mut self) {
        if self.bar {
            let _ = writeln!(std::io::stderr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_become_hashtags() {
        assert_eq!(
            hashtags(&[
                "Solar energy".into(),
                "solar ENERGY".into(),
                "Économie sociale".into(),
                "co-op".into()
            ]),
            vec!["SolarEnergy", "ÉconomieSociale", "CoOp"]
        );
    }

    #[test]
    fn usernames_and_old_paths() {
        assert_eq!(username_for("Léa Martin"), "lea_martin");
        assert_eq!(username_for("!!!"), "imported");
        let mut post = SourcePost {
            guid: "g".into(),
            title: "T".into(),
            link: Some("https://coop.example/2025/05/solar-roofs-schools/".into()),
            content_html: String::new(),
            excerpt: String::new(),
            status: SourceStatus::Published,
            is_page: false,
            date: None,
            slug: None,
            author: None,
            tags: Vec::new(),
            language: None,
            featured: None,
        };
        assert_eq!(old_path(&post).as_deref(), Some("/2025/05/solar-roofs-schools/"));
        post.link = Some("https://coop.example/?p=12".into());
        assert_eq!(old_path(&post), None);
    }

    #[test]
    fn a_missing_image_is_taken_out() {
        assert_eq!(
            remove_image("<p>a <img src=\"/media/k-1\" alt=\"\"> b</p>", "k-1"),
            "<p>a  b</p>"
        );
    }
}
