//! The public web's look: minijinja templates, interface strings and static
//! files, built into the binary and overridable file by file from a theme
//! folder. Everything is read once, at startup, so an organisation restyles
//! without recompiling and no request ever touches the theme folder.
//!
//! Theme layout (every file optional):
//! - `<theme>/templates/NAME` replaces the built-in template `NAME` (or adds a
//!   new one a replaced template can include);
//! - `<theme>/templates/strings.json` is merged key by key over the built-in
//!   interface strings (so a theme can reword one label or add a language);
//! - `<theme>/static/PATH` replaces or adds the file served at `/static/PATH`.
//!
//! This file loads templates, strings and static files; `helpers` holds the
//! filters and functions templates call.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use minijinja::Environment;
use serde::Serialize;
use sha2::{Digest, Sha256};

mod helpers;

pub(crate) use helpers::language_name;
use helpers::{format_value, lookup, register_helpers};

/// Built-in templates, by the name handlers render them with.
const BUILTIN_TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("article.html", include_str!("../templates/article.html")),
    ("author.html", include_str!("../templates/author.html")),
    ("tag.html", include_str!("../templates/tag.html")),
    ("network.html", include_str!("../templates/network.html")),
    ("shared_feed.html", include_str!("../templates/shared_feed.html")),
    (
        "network_members.html",
        include_str!("../templates/network_members.html"),
    ),
    ("network_macros.html", include_str!("../templates/network_macros.html")),
    ("network_about.html", include_str!("../templates/network_about.html")),
    ("network_member.html", include_str!("../templates/network_member.html")),
    ("follow.html", include_str!("../templates/follow.html")),
    ("newsletter.html", include_str!("../templates/newsletter.html")),
    ("mail/article.html", include_str!("../templates/mail/article.html")),
    ("feed.xml", include_str!("../templates/feed.xml")),
    ("sitemap.xml", include_str!("../templates/sitemap.xml")),
    ("robots.txt", include_str!("../templates/robots.txt")),
    ("admin/base.html", include_str!("../templates/admin/base.html")),
    ("admin/error.html", include_str!("../templates/admin/error.html")),
    ("admin/login.html", include_str!("../templates/admin/login.html")),
    ("admin/reset.html", include_str!("../templates/admin/reset.html")),
    (
        "admin/dashboard.html",
        include_str!("../templates/admin/dashboard.html"),
    ),
    ("admin/articles.html", include_str!("../templates/admin/articles.html")),
    ("admin/editor.html", include_str!("../templates/admin/editor.html")),
    ("admin/macros.html", include_str!("../templates/admin/macros.html")),
    (
        "admin/followers.html",
        include_str!("../templates/admin/followers.html"),
    ),
    (
        "admin/interactions.html",
        include_str!("../templates/admin/interactions.html"),
    ),
    ("admin/quotes.html", include_str!("../templates/admin/quotes.html")),
    ("admin/comments.html", include_str!("../templates/admin/comments.html")),
    ("admin/reports.html", include_str!("../templates/admin/reports.html")),
    ("admin/blocks.html", include_str!("../templates/admin/blocks.html")),
    (
        "admin/block_confirm.html",
        include_str!("../templates/admin/block_confirm.html"),
    ),
    ("admin/kept.html", include_str!("../templates/admin/kept.html")),
    (
        "admin/deliveries.html",
        include_str!("../templates/admin/deliveries.html"),
    ),
    ("admin/users.html", include_str!("../templates/admin/users.html")),
    ("admin/tokens.html", include_str!("../templates/admin/tokens.html")),
    (
        "admin/newsletter.html",
        include_str!("../templates/admin/newsletter.html"),
    ),
    (
        "admin/organisation.html",
        include_str!("../templates/admin/organisation.html"),
    ),
    ("admin/settings.html", include_str!("../templates/admin/settings.html")),
    ("admin/account.html", include_str!("../templates/admin/account.html")),
    ("admin/authors.html", include_str!("../templates/admin/authors.html")),
    ("admin/network.html", include_str!("../templates/admin/network.html")),
    (
        "admin/network_remove.html",
        include_str!("../templates/admin/network_remove.html"),
    ),
    ("admin/author.html", include_str!("../templates/admin/author.html")),
    ("admin/media.html", include_str!("../templates/admin/media.html")),
];

/// Interface strings per language; not a template, but themed the same way.
const STRINGS_FILE: &str = "strings.json";
const BUILTIN_STRINGS: &str = include_str!("../templates/strings.json");
/// The admin interface's strings, kept apart from the public ones (no key in both).
const ADMIN_STRINGS: &str = include_str!("../templates/admin/strings.json");

/// Built-in static files, by their path under `/static/`.
const BUILTIN_STATIC: &[(&str, &[u8])] = &[
    ("style.css", include_bytes!("../static/style.css")),
    ("favicon.svg", include_bytes!("../static/favicon.svg")),
    ("admin.css", include_bytes!("../static/admin.css")),
    ("admin.js", include_bytes!("../static/admin.js")),
];

/// A file served under `/static/`, with what its response headers need.
#[derive(Debug, Clone)]
pub(crate) struct StaticFile {
    pub(crate) bytes: Bytes,
    pub(crate) content_type: &'static str,
    /// Quoted strong ETag.
    pub(crate) etag: String,
}

/// Interface strings: language tag → key → string (or list, for month names).
type Strings = HashMap<String, HashMap<String, serde_json::Value>>;

/// Templates (compiled when first rendered) and static files, built-in and
/// overridden by the theme folder.
pub struct Templates {
    env: Environment<'static>,
    statics: HashMap<String, StaticFile>,
    strings: Arc<Strings>,
}

impl Templates {
    /// Builds the templates and static files once. A theme file that cannot
    /// be read or does not compile is an error naming the file, so a broken
    /// theme stops the server at startup rather than on some later request.
    pub fn load(theme_dir: Option<&Path>) -> Result<Templates, String> {
        let mut sources: HashMap<String, Cow<'static, str>> = BUILTIN_TEMPLATES
            .iter()
            .map(|(n, s)| ((*n).to_owned(), Cow::Borrowed(*s)))
            .collect();
        let mut strings: Strings =
            serde_json::from_str(BUILTIN_STRINGS).map_err(|e| format!("built-in {STRINGS_FILE}: {e}"))?;
        let admin: Strings =
            serde_json::from_str(ADMIN_STRINGS).map_err(|e| format!("built-in admin/{STRINGS_FILE}: {e}"))?;
        for (lang, map) in admin {
            let into = strings.entry(lang).or_default();
            for (k, v) in map {
                into.entry(k).or_insert(v);
            }
        }
        let mut statics: HashMap<String, StaticFile> = BUILTIN_STATIC
            .iter()
            .map(|(p, b)| ((*p).to_owned(), static_file(p, Bytes::from_static(b))))
            .collect();

        if let Some(dir) = theme_dir {
            if !dir.is_dir() {
                return Err(format!("theme.dir `{}` is not a folder", dir.display()));
            }
            for (name, path) in files_under(&dir.join("templates"))? {
                let text =
                    std::fs::read_to_string(&path).map_err(|e| format!("theme file `{}`: {e}", path.display()))?;
                if name == STRINGS_FILE {
                    let theirs: Strings =
                        serde_json::from_str(&text).map_err(|e| format!("theme file `{}`: {e}", path.display()))?;
                    for (lang, map) in theirs {
                        strings.entry(lang).or_default().extend(map);
                    }
                } else {
                    sources.insert(name, Cow::Owned(text));
                }
            }
            for (name, path) in files_under(&dir.join("static"))? {
                let bytes = std::fs::read(&path).map_err(|e| format!("theme file `{}`: {e}", path.display()))?;
                statics.insert(name.clone(), static_file(&name, Bytes::from(bytes)));
            }
        }

        let mut env = Environment::new();
        let syntax = syntax()?;
        env.set_syntax(syntax.clone());
        env.set_formatter(format_value);
        // Escape for HTML and XML; robots.txt and other plain text stay raw.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") || name.ends_with(".xml") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        let strings = Arc::new(strings);
        register_helpers(&mut env, &strings, &statics);
        let kept_strings = Arc::clone(&strings);
        // The theme's own templates compiled once here, so a broken one
        // stops the server at startup; then dropped. (The built-in ones are
        // compiled by this module's tests.) The environment compiles each
        // template the first time it is rendered and keeps it: compiled,
        // the templates take over a MiB, most of it the admin's, which only
        // an editor's visit needs.
        check_compile(&syntax, sources.iter().filter(|(_, s)| matches!(s, Cow::Owned(_))))?;
        env.set_loader(move |name| Ok(sources.get(name).map(|s| s.to_string())));
        Ok(Templates {
            env,
            statics,
            strings: kept_strings,
        })
    }

    /// Renders template `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: impl Serialize) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(minijinja::value::Serde(ctx))
    }

    /// An interface string in `lang` (falling back as templates' `t()` does).
    /// The string `key` in `lang` (or English), when there is one.
    pub(crate) fn text_opt(&self, lang: &str, key: &str) -> Option<String> {
        lookup(&self.strings, lang, key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    }

    pub(crate) fn text(&self, lang: &str, key: &str) -> String {
        lookup(&self.strings, lang, key)
            .and_then(|v| v.as_str())
            .unwrap_or(key)
            .to_owned()
    }

    /// A static file by its path under `/static/`.
    pub(crate) fn static_file(&self, path: &str) -> Option<&StaticFile> {
        self.statics.get(path)
    }
}

/// The templates' syntax: block tags leave no blank lines behind; text
/// files keep their final newline.
fn syntax() -> Result<minijinja::syntax::SyntaxConfig, String> {
    minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| format!("template syntax: {e}"))
}

/// Compiles each of `sources` (name, text): the first that does not
/// compile is an error naming it.
fn check_compile<'a>(
    syntax: &minijinja::syntax::SyntaxConfig,
    sources: impl Iterator<Item = (&'a String, &'a Cow<'static, str>)>,
) -> Result<(), String> {
    let mut sources: Vec<_> = sources.collect();
    sources.sort();
    let mut check = Environment::new();
    check.set_syntax(syntax.clone());
    for (name, source) in sources {
        check
            .template_from_named_str(name, source)
            .map_err(|e| format!("template `{name}`: {e:#}"))?;
    }
    Ok(())
}

/// Every regular file below `root`, keyed by its `/`-separated relative path.
/// A missing folder is simply empty: a theme may override only static files.
fn files_under(root: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let mut out = Vec::new();
    if !root.is_dir() {
        return Ok(out);
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("theme folder `{}`: {e}", dir.display()))?;
        for entry in entries {
            let path = entry
                .map_err(|e| format!("theme folder `{}`: {e}", dir.display()))?
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                let Ok(rel) = path.strip_prefix(root) else { continue };
                let name: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                // Editor backups and dotfiles (.DS_Store, .swp) are not theme files.
                if name.iter().any(|part| part.starts_with('.')) {
                    continue;
                }
                out.push((name.join("/"), path));
            }
        }
    }
    Ok(out)
}

fn static_file(path: &str, bytes: Bytes) -> StaticFile {
    let digest = Sha256::digest(&bytes);
    let etag = format!("\"{}\"", hex16(&digest));
    StaticFile {
        content_type: content_type_for(path),
        etag,
        bytes,
    }
}

fn hex16(digest: &[u8]) -> String {
    digest.iter().take(8).fold(String::with_capacity(16), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Content type by extension, for the few kinds of files a theme ships.
pub(crate) fn content_type_for(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "txt" => "text/plain; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "xml" => "application/xml",
        "html" | "htm" => "text/html; charset=utf-8",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_compile_and_escape() {
        let syntax = syntax().unwrap();
        let builtins: Vec<(String, Cow<'static, str>)> = BUILTIN_TEMPLATES
            .iter()
            .map(|(n, s)| ((*n).to_owned(), Cow::Borrowed(*s)))
            .collect();
        check_compile(&syntax, builtins.iter().map(|(n, s)| (n, s))).unwrap();
        let broken = [("page.html".to_owned(), Cow::Borrowed("{% if x %}"))];
        let err = check_compile(&syntax, broken.iter().map(|(n, s)| (n, s))).unwrap_err();
        assert!(err.starts_with("template `page.html`"), "{err}");

        let t = Templates::load(None).unwrap();
        let out = t
            .render(
                "robots.txt",
                serde_json::json!({"sitemap_url": "https://x.example/sitemap.xml"}),
            )
            .unwrap();
        assert!(out.contains("Sitemap: https://x.example/sitemap.xml"));
        assert!(t.static_file("style.css").is_some());
        assert!(t.static_file("nope.css").is_none());
    }

    #[test]
    fn strings_fall_back_to_primary_then_english() {
        let t = Templates::load(None).unwrap();
        let render = |lang: &str| {
            t.env
                .render_str(
                    "{{ t('skip_to_content') }}|{{ t('no_such_key') }}",
                    minijinja::context! { lang => lang },
                )
                .unwrap()
        };
        assert_eq!(render("fr-BE"), "Aller au contenu|no_such_key");
        assert_eq!(render("xx"), "Skip to content|no_such_key");
        let out = t
            .env
            .render_str(
                "{{ t('page_of', page=2, pages=5) }}",
                minijinja::context! { lang => "en" },
            )
            .unwrap();
        assert_eq!(out, "Page 2 of 5");
    }

    /// The public interface is written in seven languages: every string of
    /// any of them exists in all (but for a language's own extras, such as
    /// French `day_one`), and none is left empty.
    #[test]
    fn every_public_string_in_all_seven_languages() {
        let strings: Strings = serde_json::from_str(BUILTIN_STRINGS).unwrap();
        let extras = ["day_one"];
        let seven = crate::pages::UI_LANGUAGES;
        let mut all: Vec<&String> = seven
            .iter()
            .flat_map(|l| strings.get(*l).unwrap_or_else(|| panic!("no strings for {l}")).keys())
            .filter(|k| !extras.contains(&k.as_str()))
            .collect();
        all.sort();
        all.dedup();
        for lang in seven {
            let map = &strings[lang];
            for key in &all {
                let v = map
                    .get(*key)
                    .unwrap_or_else(|| panic!("`{key}` is missing in `{lang}`"));
                match v {
                    serde_json::Value::String(s) => assert!(!s.is_empty(), "`{key}` is empty in `{lang}`"),
                    serde_json::Value::Array(a) => assert_eq!(
                        a.len(),
                        strings["en"][*key].as_array().unwrap().len(),
                        "`{key}` in `{lang}`"
                    ),
                    _ => panic!("`{key}` in `{lang}` is neither a string nor a list"),
                }
                // Placeholders are the same as in English.
                let names = |s: &str| -> Vec<String> {
                    let mut v: Vec<String> = s
                        .split('{')
                        .skip(1)
                        .filter_map(|p| p.split_once('}').map(|x| x.0.to_owned()))
                        .collect();
                    v.sort();
                    v
                };
                if let (Some(en), Some(this)) = (strings["en"][*key].as_str(), v.as_str()) {
                    assert_eq!(names(en), names(this), "placeholders of `{key}` in `{lang}`");
                }
            }
        }
    }

    #[test]
    fn theme_overrides_templates_strings_and_static() {
        let dir = std::env::temp_dir().join(format!("gazette-theme-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        std::fs::create_dir_all(dir.join("static/img")).unwrap();
        std::fs::write(dir.join("templates/robots.txt"), "User-agent: *\nDisallow: /\n").unwrap();
        std::fs::write(
            dir.join("templates/strings.json"),
            r#"{"en": {"skip_to_content": "Jump"}}"#,
        )
        .unwrap();
        std::fs::write(dir.join("static/style.css"), "body{}").unwrap();
        std::fs::write(dir.join("static/img/x.svg"), "<svg/>").unwrap();
        let t = Templates::load(Some(&dir)).unwrap();
        assert_eq!(
            t.render("robots.txt", serde_json::json!({})).unwrap(),
            "User-agent: *\nDisallow: /\n"
        );
        assert_eq!(
            t.env
                .render_str(
                    "{{ t('skip_to_content') }}/{{ t('home') }}",
                    minijinja::context! { lang => "en" }
                )
                .unwrap(),
            "Jump/Home"
        );
        assert_eq!(&t.static_file("style.css").unwrap().bytes[..], b"body{}");
        assert_eq!(t.static_file("img/x.svg").unwrap().content_type, "image/svg+xml");

        std::fs::write(dir.join("templates/home.html"), "{% if %}").unwrap();
        let err = Templates::load(Some(&dir)).err().unwrap();
        assert!(err.contains("home.html"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            Templates::load(Some(&dir)).is_err(),
            "a missing theme folder is a startup error"
        );
    }
}
