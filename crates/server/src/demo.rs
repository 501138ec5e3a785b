//! Demo content for `gazette serve --demo`: an organisation, two authors, a
//! bilingual interview and two news items, embedded in the binary and stored
//! through the same path as `gazette publish`. `gazette demo network` seeds
//! other sets of the same shape ([`DemoContent`]) into its members.

use std::path::{Path, PathBuf};

use chrono::Utc;
use gazette_core::media::sniff;
use gazette_core::{ArticleStatus, AuthorInput, Country, Language, LegalForm, Organisation, validate};
use gazette_store::{ArticleQuery, Store};
use serde::Deserialize;

use crate::commands::publish_parsed;
use crate::config::Config;
use crate::error::CliError;
use crate::frontmatter;

const TEXT_FILES: &[(&str, &str)] = &[
    (
        "articles/interview.fr.md",
        include_str!("../demo/articles/interview.fr.md"),
    ),
    (
        "articles/interview.en.md",
        include_str!("../demo/articles/interview.en.md"),
    ),
    ("articles/news-1.en.md", include_str!("../demo/articles/news-1.en.md")),
    ("articles/news-1.fr.md", include_str!("../demo/articles/news-1.fr.md")),
    ("articles/news-2.fr.md", include_str!("../demo/articles/news-2.fr.md")),
];

const MEDIA: &[(&str, &[u8])] = &[
    ("logo.png", include_bytes!("../demo/media/logo.png")),
    ("avatar-camille.png", include_bytes!("../demo/media/avatar-camille.png")),
    ("avatar-tom.png", include_bytes!("../demo/media/avatar-tom.png")),
    (
        "interview-cover.png",
        include_bytes!("../demo/media/interview-cover.png"),
    ),
    ("interviewee.png", include_bytes!("../demo/media/interviewee.png")),
    ("news-cover.png", include_bytes!("../demo/media/news-cover.png")),
];

/// Articles in publication order (translations are pulled in by their front matter).
const ARTICLES: &[&str] = &[
    "articles/news-1.en.md",
    "articles/news-2.fr.md",
    "articles/interview.fr.md",
];

/// One demo organisation's files, embedded in the binary: its
/// `organisation.toml`, `authors.toml`, Markdown articles (by path, as
/// their front matter names them) and images (by file name).
pub struct DemoContent {
    pub organisation: &'static str,
    pub authors: &'static str,
    pub texts: &'static [(&'static str, &'static str)],
    pub media: &'static [(&'static str, &'static [u8])],
    /// Articles in publication order (translations are pulled in by their front matter).
    pub articles: &'static [&'static str],
}

/// The demo of `gazette serve --demo`: Solstice Commun, a Belgian energy cooperative.
pub const SOLSTICE: DemoContent = DemoContent {
    organisation: include_str!("../demo/organisation.toml"),
    authors: include_str!("../demo/authors.toml"),
    texts: TEXT_FILES,
    media: MEDIA,
    articles: ARTICLES,
};

#[derive(Deserialize)]
struct DemoOrganisation {
    username: String,
    name: String,
    description: String,
    website: String,
    country: String,
    legal_form: String,
    sectors: Vec<String>,
    languages: Vec<String>,
    logo: Option<String>,
    #[serde(default)]
    logo_alt: String,
}

#[derive(Deserialize)]
struct DemoAuthors {
    author: Vec<DemoAuthor>,
}

#[derive(Deserialize)]
struct DemoAuthor {
    username: String,
    name: String,
    bio: String,
    avatar: Option<String>,
    #[serde(default)]
    avatar_alt: String,
    fediverse_handle: Option<String>,
}

fn demo_error(what: impl std::fmt::Display) -> CliError {
    CliError::Usage(format!("built-in demo content is broken: {what}"))
}

fn media_bytes(content: &DemoContent, name: &str) -> Result<&'static [u8], CliError> {
    content
        .media
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
        .ok_or_else(|| demo_error(format!("no image {name}")))
}

fn read_text(content: &DemoContent, path: &Path) -> std::io::Result<String> {
    let key = path.to_string_lossy().replace('\\', "/");
    content
        .texts
        .iter()
        .find(|(n, _)| *n == key)
        .map(|(_, t)| (*t).to_owned())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("no demo file {key}")))
}

fn read_media(content: &DemoContent, path: &Path) -> std::io::Result<Vec<u8>> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    content
        .media
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| b.to_vec())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("no demo image {name}")))
}

async fn store_image(store: &Store, content: &DemoContent, name: &str, alt: &str) -> Result<String, CliError> {
    let bytes = media_bytes(content, name)?;
    let info = sniff(bytes, usize::MAX).map_err(demo_error)?;
    Ok(store.create_media(&info, alt, bytes).await?.id)
}

/// Seeds the demo into an empty database; returns false (and changes
/// nothing) when the database already has an organisation, author or article.
pub async fn seed(store: &Store, config: &Config) -> Result<bool, CliError> {
    seed_content(store, config, &SOLSTICE).await
}

/// Seeds `content` into an empty database, like [`seed`].
pub async fn seed_content(store: &Store, config: &Config, content: &DemoContent) -> Result<bool, CliError> {
    let has_articles = store
        .list_articles(&ArticleQuery {
            limit: 1,
            ..Default::default()
        })
        .await?
        .total
        > 0;
    if has_articles || store.find_organisation().await?.is_some() || !store.list_authors().await?.is_empty() {
        return Ok(false);
    }
    let org: DemoOrganisation =
        toml::from_str(content.organisation).map_err(|e| demo_error(format!("organisation.toml: {e}")))?;
    let logo = match &org.logo {
        Some(name) => Some(store_image(store, content, name, &org.logo_alt).await?),
        None => None,
    };
    let languages = org
        .languages
        .iter()
        .map(|l| Language::parse(l))
        .collect::<Result<Vec<_>, _>>()
        .map_err(demo_error)?;
    store
        .save_organisation(&Organisation {
            username: org.username,
            name: org.name,
            description: org.description,
            logo,
            website: Some(org.website),
            country: Country::parse(&org.country).map_err(demo_error)?,
            legal_form: LegalForm::parse(&org.legal_form).ok_or_else(|| demo_error("legal_form"))?,
            sectors: org.sectors,
            languages,
            updated_at: Utc::now(),
        })
        .await?;
    let authors: DemoAuthors = toml::from_str(content.authors).map_err(|e| demo_error(format!("authors.toml: {e}")))?;
    for a in authors.author {
        let avatar = match &a.avatar {
            Some(name) => Some(store_image(store, content, name, &a.avatar_alt).await?),
            None => None,
        };
        let input = AuthorInput {
            username: a.username,
            name: a.name,
            bio: a.bio,
            avatar,
            fediverse_handle: a.fediverse_handle,
        };
        store.create_author(&validate::author(&input)?).await?;
    }
    for file in content.articles {
        let path = PathBuf::from(file);
        let parsed = frontmatter::parse_file(&path, &|p| read_text(content, p))?;
        publish_parsed(
            store,
            config,
            &parsed,
            ArticleStatus::Published,
            &|p| read_media(content, p),
            false,
            None,
            &path,
        )
        .await?;
    }
    Ok(true)
}
