//! Parsing an article file and its translations into a [`ParsedArticle`], and
//! checking it with the core validation, every problem placed at its line.

use std::io;
use std::path::Path;

use chrono::{DateTime, Utc};
use gazette_core::validate;
use gazette_core::{ArticleInput, ArticleStatus, CoverInput, Interviewee, Language, NewArticle, TranslationInput};

use super::document::Document;
use super::fields::{Ctx, near, suggest};
use super::{
    ARTICLE_KEYS, COVER_KEYS, FileLines, FrontMatterError, INTERVIEWEE_KEYS, ParsedArticle, Problem, SourceMap,
    TRANSLATED_INTERVIEWEE_KEYS, TRANSLATION_KEYS, TranslationSource,
};

/// Reads the article at `path` and the translation files it lists, through
/// `read` (so embedded demo content can be parsed from memory).
pub fn parse_file(path: &Path, read: &dyn Fn(&Path) -> io::Result<String>) -> Result<ParsedArticle, FrontMatterError> {
    let file = path.display().to_string();
    let text = read(path).map_err(|source| FrontMatterError::Io {
        file: file.clone(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new(""));
    let doc = Document::split(&file, &text).map_err(|p| FrontMatterError::Invalid(vec![p]))?;
    let map = doc.mapping(&file).map_err(|p| FrontMatterError::Invalid(vec![p]))?;

    let mut cx = Ctx {
        file: &file,
        keys: &doc.keys,
        problems: Vec::new(),
    };
    let mut input = ArticleInput::default();
    let mut main = TranslationInput {
        body: doc.body.to_owned(),
        ..Default::default()
    };
    let mut images = Vec::new();
    let mut listed: Vec<(String, String)> = Vec::new();
    let mut quote_policy = None;

    for (key, value) in &map {
        match key.as_str() {
            "slug" => input.slug = cx.text(key, value),
            "kind" => input.kind = cx.text(key, value).unwrap_or_default(),
            "title" => main.title = cx.text(key, value).unwrap_or_default(),
            "summary" => main.summary = cx.text(key, value).unwrap_or_default(),
            "language" => input.language = cx.text(key, value).unwrap_or_default(),
            "author" => input.author = cx.text(key, value).unwrap_or_default(),
            "status" => input.status = cx.text(key, value),
            "publish_at" => input.publish_at = cx.text(key, value),
            "quote_policy" => match cx.text(key, value) {
                Some(p) if p == "default" || gazette_federation::QuotePolicy::parse(&p).is_some() => {
                    quote_policy = Some(p)
                }
                Some(p) => cx.push(
                    key,
                    format!("unknown quote policy `{p}`: expected everyone, followers, nobody or default"),
                ),
                None => {}
            },
            "tags" => input.tags = cx.tags(value),
            "translations" => listed = cx.translation_list(value),
            "cover" => {
                if let Some(m) = cx.mapping(key, value, "`src:` and `alt:` on the lines below, indented") {
                    let fields = cx.fields(key, &m, COVER_KEYS);
                    let src = cx
                        .image(base, "cover.src", "cover", fields.get("src"), &mut images)
                        .unwrap_or_default();
                    let alt = fields
                        .get("alt")
                        .and_then(|v| cx.text("cover.alt", v))
                        .unwrap_or_default();
                    input.cover = Some(CoverInput { media_id: src, alt });
                }
            }
            "interviewee" => {
                if let Some(m) = cx.mapping(key, value, "`name:`, `role:`… on the lines below, indented") {
                    let fields = cx.fields(key, &m, INTERVIEWEE_KEYS);
                    let mut text = |k: &str| fields.get(k).and_then(|v| cx.text(&format!("interviewee.{k}"), v));
                    let (name, role, organisation, bio, handle) = (
                        text("name"),
                        text("role"),
                        text("organisation"),
                        text("bio"),
                        text("fediverse_handle"),
                    );
                    let photo = cx.image(
                        base,
                        "interviewee.photo",
                        "interviewee.photo",
                        fields.get("photo"),
                        &mut images,
                    );
                    input.interviewee = Some(Interviewee {
                        name: name.unwrap_or_default(),
                        role: role.unwrap_or_default(),
                        organisation: organisation.unwrap_or_default(),
                        bio: bio.unwrap_or_default(),
                        photo,
                        fediverse_handle: handle,
                        translations: Vec::new(),
                    });
                }
            }
            other => cx.push(
                other,
                format!("unknown front matter key{}", suggest(other, ARTICLE_KEYS)),
            ),
        }
    }
    main.language = input.language.clone();
    input.translations.push(main);

    let mut translations = Vec::new();
    for (key, rel) in listed {
        let field = format!("translations.{key}");
        if same_language(&key, &input.language) {
            cx.push(
                &field,
                format!("`{key}` is the language of this file: its text is the body below the front matter"),
            );
            continue;
        }
        let tpath = base.join(&rel);
        let tfile = tpath.display().to_string();
        let text = match read(&tpath) {
            Ok(t) => t,
            Err(e) => {
                cx.push(&field, format!("cannot read {tfile}: {e}"));
                continue;
            }
        };
        match parse_translation(&key, &tfile, &text, &file) {
            Ok((t, lines)) => {
                input.translations.push(t);
                translations.push(TranslationSource {
                    canonical: Language::parse(&key).ok().map(|l| l.to_string()),
                    key,
                    lines,
                });
            }
            Err(mut problems) => cx.problems.append(&mut problems),
        }
    }

    if !cx.problems.is_empty() {
        return Err(FrontMatterError::Invalid(cx.problems));
    }
    let source = SourceMap {
        main: FileLines {
            file,
            keys: doc.keys.clone(),
            body_line: doc.body_line,
        },
        translations,
    };
    Ok(ParsedArticle {
        input,
        images,
        source,
        quote_policy,
    })
}

/// Validates a parsed article with core's rules; errors carry file and line.
pub fn validate(
    parsed: &ParsedArticle,
    default_status: ArticleStatus,
    now: DateTime<Utc>,
) -> Result<NewArticle, FrontMatterError> {
    let source = &parsed.source;
    validate::article(&parsed.input, default_status, now, source, &|lang| {
        source.body_line(lang)
    })
    .map_err(|e| {
        let own_language = format!("translations.{}.language", parsed.input.language);
        FrontMatterError::Invalid(
            e.0.into_iter()
                // An invalid `language:` is also reported for the body's own
                // translation under this name; once is enough.
                .filter(|fe| fe.field != own_language)
                .map(|fe| source.field_problem(fe))
                .collect(),
        )
    })
}

fn parse_translation(
    key: &str,
    file: &str,
    text: &str,
    main_file: &str,
) -> Result<(TranslationInput, FileLines), Vec<Problem>> {
    let doc = Document::split(file, text).map_err(|p| vec![p])?;
    let map = doc.mapping(file).map_err(|p| vec![p])?;
    let mut cx = Ctx {
        file,
        keys: &doc.keys,
        problems: Vec::new(),
    };
    let mut t = TranslationInput {
        language: key.to_owned(),
        body: doc.body.to_owned(),
        ..Default::default()
    };
    for (k, value) in &map {
        match k.as_str() {
            "title" => t.title = cx.text(k, value).unwrap_or_default(),
            "summary" => t.summary = cx.text(k, value).unwrap_or_default(),
            "interviewee" => {
                if let Some(m) = cx.mapping(k, value, "`role:` and `bio:` on the lines below, indented") {
                    let fields = cx.fields(k, &m, TRANSLATED_INTERVIEWEE_KEYS);
                    t.interviewee_role = fields.get("role").and_then(|v| cx.text("interviewee.role", v));
                    t.interviewee_bio = fields.get("bio").and_then(|v| cx.text("interviewee.bio", v));
                }
            }
            "language" => {
                if let Some(lang) = cx.text(k, value)
                    && !same_language(&lang, key)
                {
                    cx.push(
                        k,
                        format!(
                            "`{lang}` does not match `{key}`, the language this file is listed under in {main_file}"
                        ),
                    );
                }
            }
            other => {
                let message = match near(other, TRANSLATION_KEYS) {
                    Some(k) => format!("unknown key (did you mean `{k}`?)"),
                    None => format!(
                        "not allowed in a translation file: only {} go here; the rest is set in {main_file}",
                        TRANSLATION_KEYS.join(", ")
                    ),
                };
                cx.push(other, message);
            }
        }
    }
    if !cx.problems.is_empty() {
        return Err(cx.problems);
    }
    Ok((
        t,
        FileLines {
            file: file.to_owned(),
            keys: doc.keys,
            body_line: doc.body_line,
        },
    ))
}

/// Compares language tags by their canonical form when both are valid.
fn same_language(a: &str, b: &str) -> bool {
    match (Language::parse(a), Language::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a.trim() == b.trim(),
    }
}

#[cfg(test)]
// A failing unwrap is a failing test, which is what it should be.
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;
    use std::fmt;
    use std::path::PathBuf;

    use super::*;
    use crate::frontmatter::ImageRef;
    use gazette_core::ArticleKind;

    const INTERVIEW: &str = "---
slug: housing-coop
kind: interview
title: \"Housing co-ops: a how-to\"
summary: Why members build together.
language: en
translations:
  fr: interview.fr.md
tags: [Housing, SocialEconomy]
author: marie
interviewee:
  name: Ana Lima
  role: President
  organisation: Casa Coop
  photo: img/ana.jpg
  fediverse_handle: ana@social.example.org
cover:
  src: img/cover.jpg
  alt: Members on a building site
status: published
publish_at: 2026-01-15T09:00:00Z
---
First paragraph.

Second paragraph.
";

    const FRENCH: &str = "---
title: Les coopératives d'habitants
language: fr
summary: Pourquoi construire ensemble.
interviewee:
  role: Présidente
  bio: Ana préside Casa Coop.
---
Premier paragraphe.
";

    type Files = HashMap<PathBuf, String>;

    fn files(list: &[(&str, &str)]) -> Files {
        list.iter().map(|(p, t)| (PathBuf::from(p), (*t).to_owned())).collect()
    }

    fn parse_in(fs: &Files, path: &str) -> Result<ParsedArticle, FrontMatterError> {
        let read = |p: &Path| {
            fs.get(p)
                .cloned()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
        };
        parse_file(Path::new(path), &read)
    }

    /// Parses `main` as content/interview.md next to the French translation.
    fn parse(main: &str) -> Result<ParsedArticle, FrontMatterError> {
        parse_in(
            &files(&[("content/interview.md", main), ("content/interview.fr.md", FRENCH)]),
            "content/interview.md",
        )
    }

    fn check(main: &str) -> Result<NewArticle, FrontMatterError> {
        validate(&parse(main)?, ArticleStatus::Draft, Utc::now())
    }

    fn problems(r: Result<impl fmt::Debug, FrontMatterError>) -> Vec<Problem> {
        match r {
            Err(FrontMatterError::Invalid(p)) => p,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    fn one(r: Result<impl fmt::Debug, FrontMatterError>) -> String {
        let p = problems(r);
        assert_eq!(p.len(), 1, "{p:?}");
        p[0].to_string()
    }

    #[test]
    fn happy_path_with_translation_cover_and_interviewee() {
        let parsed = parse(INTERVIEW).unwrap();
        let i = &parsed.input;
        assert_eq!(i.slug.as_deref(), Some("housing-coop"));
        assert_eq!(i.kind, "interview");
        assert_eq!(i.language, "en");
        assert_eq!(i.tags, vec!["Housing", "SocialEconomy"]);
        assert_eq!(i.author, "marie");
        assert_eq!(i.status.as_deref(), Some("published"));
        assert_eq!(i.publish_at.as_deref(), Some("2026-01-15T09:00:00Z"));
        assert_eq!(i.translations.len(), 2);
        assert_eq!(i.translations[0].title, "Housing co-ops: a how-to");
        assert_eq!(i.translations[0].body, "First paragraph.\n\nSecond paragraph.\n");
        assert_eq!(i.translations[1].language, "fr");
        assert_eq!(i.translations[1].summary, "Pourquoi construire ensemble.");
        assert_eq!(i.translations[1].body, "Premier paragraphe.\n");
        assert_eq!(i.translations[1].interviewee_role.as_deref(), Some("Présidente"));
        assert_eq!(
            i.translations[1].interviewee_bio.as_deref(),
            Some("Ana préside Casa Coop.")
        );
        let cover = i.cover.as_ref().unwrap();
        assert_eq!(cover.media_id, "content/img/cover.jpg");
        assert_eq!(cover.alt, "Members on a building site");
        let iv = i.interviewee.as_ref().unwrap();
        assert_eq!(iv.name, "Ana Lima");
        assert_eq!(iv.organisation, "Casa Coop");
        assert_eq!(iv.photo.as_deref(), Some("content/img/ana.jpg"));
        assert_eq!(
            parsed.images,
            vec![
                ImageRef {
                    field: "interviewee.photo".into(),
                    path: "content/img/ana.jpg".into(),
                    line: 15
                },
                ImageRef {
                    field: "cover".into(),
                    path: "content/img/cover.jpg".into(),
                    line: 18
                },
            ]
        );
        assert_eq!(parsed.source.main.body_line, 23);
        assert_eq!(parsed.source.body_line("fr"), 9);
        assert_eq!(parsed.source.main.line("cover.alt"), 19);
        assert_eq!(parsed.source.main.line("translations.fr"), 8);

        assert_eq!(
            parsed
                .image_problem(&parsed.images[1], "cannot read: no such file")
                .to_string(),
            "content/interview.md: line 18: cover: cannot read: no such file"
        );
        let mut parsed = parsed;
        assert!(parsed.set_media("cover", "m-cover".into()));
        assert!(parsed.set_media("interviewee.photo", "m-ana".into()));
        assert!(!parsed.set_media("logo", "x".into()));
        let a = validate(&parsed, ArticleStatus::Draft, Utc::now()).unwrap();
        assert_eq!(a.kind, ArticleKind::Interview);
        assert_eq!(a.status, ArticleStatus::Published);
        assert_eq!(a.translations.len(), 2);
        assert_eq!(a.translations[1].language.as_str(), "fr");
        assert_eq!(a.cover.unwrap().media_id, "m-cover");
        let iv = a.interviewee.unwrap();
        assert_eq!(iv.fediverse_handle.as_deref(), Some("@ana@social.example.org"));
        let fr = gazette_core::Language::parse("fr").unwrap();
        assert_eq!(
            (iv.role_in(&fr), iv.bio_in(&fr)),
            ("Présidente", "Ana préside Casa Coop.")
        );
        assert_eq!(iv.role, "President");
        assert_eq!(a.tags, vec!["Housing", "SocialEconomy"]);
        assert_eq!(a.published_at.unwrap().to_rfc3339(), "2026-01-15T09:00:00+00:00");
    }

    #[test]
    fn media_ids_are_kept_and_defaults_apply() {
        let md = "---\nkind: news\ntitle: Hello\nlanguage: fr\nauthor: marie\ncover:\n  src: 01HXYZMEDIA\n  alt: A field\n---\nText\n";
        let parsed = parse(md).unwrap();
        assert!(parsed.images.is_empty());
        assert_eq!(parsed.input.cover.as_ref().unwrap().media_id, "01HXYZMEDIA");
        let a = validate(&parsed, ArticleStatus::Draft, Utc::now()).unwrap();
        assert_eq!(a.status, ArticleStatus::Draft);
        assert_eq!(a.slug, "hello");
    }

    #[test]
    fn from_memory_without_a_directory() {
        let fs = files(&[
            (
                "a.md",
                "---\nkind: news\ntitle: T\nlanguage: en\nauthor: a\ntranslations:\n  fr: a.fr.md\n---\nx\n",
            ),
            ("a.fr.md", FRENCH),
        ]);
        let parsed = parse_in(&fs, "a.md").unwrap();
        assert_eq!(parsed.input.translations[1].title, "Les coopératives d'habitants");
        assert_eq!(parsed.source.translations[0].lines.file, "a.fr.md");
    }

    #[test]
    fn must_start_with_front_matter() {
        assert_eq!(
            one(parse("# Title\n---\nkind: news\n---\n")),
            "content/interview.md: line 1: the file must start with a `---` line, then the front matter (title, kind, …), then another `---` line"
        );
        assert!(
            one(parse("---\nkind: news\ntitle: x\n"))
                .starts_with("content/interview.md: line 1: the front matter that starts here is not closed")
        );
    }

    #[test]
    fn main_file_that_cannot_be_read() {
        let e = parse_in(&files(&[]), "missing.md").unwrap_err();
        assert_eq!(e.to_string(), "missing.md: no such file");
    }

    #[test]
    fn yaml_syntax_error_has_the_file_line() {
        let e = one(parse("---\nkind: news\ntitle: [unclosed\nauthor: x\n---\n"));
        assert!(e.starts_with("content/interview.md: line "), "{e}");
        assert!(e.contains("invalid YAML"), "{e}");
        let e = one(parse("---\nkind: news\ntitle: Co-ops: why\n---\n"));
        assert!(e.starts_with("content/interview.md: line 3: invalid YAML"), "{e}");
        assert!(e.contains("quotes"), "{e}");
        let e = one(parse("---\nkind: news\ntitle: A\ntitle: B\n---\n"));
        assert_eq!(e, "content/interview.md: line 4: title: given twice (first on line 3)");
    }

    #[test]
    fn unknown_keys_name_key_and_line() {
        let md = "---\nkind: news\nlanguage: en\nauthor: a\n\n# a comment\ntitel: Hello\n---\n";
        assert_eq!(
            one(parse(md)),
            "content/interview.md: line 7: titel: unknown front matter key (did you mean `title`?)"
        );
        let md = "---\nkind: news\ntitle: T\nlanguage: en\nauthor: a\ncover:\n  src: 01ABC\n  alts: x\n---\n";
        assert_eq!(
            one(parse(md)),
            "content/interview.md: line 8: cover.alts: unknown key (did you mean `alt`?)"
        );
        let md = "---\nkind: interview\ntitle: T\nlanguage: en\nauthor: a\ninterviewee:\n  name: N\n  email: n@example.org\n---\n";
        assert!(
            one(parse(md))
                .starts_with("content/interview.md: line 8: interviewee.email: unknown key (known keys: name,")
        );
    }

    #[test]
    fn quote_policies_are_read_and_checked() {
        let md = |p: &str| format!("---\nkind: news\ntitle: T\nlanguage: en\nauthor: a\nquote_policy: {p}\n---\n");
        for p in ["everyone", "followers", "nobody", "default"] {
            assert_eq!(parse(&md(p)).unwrap().quote_policy.as_deref(), Some(p));
        }
        assert_eq!(
            parse("---\nkind: news\ntitle: T\nlanguage: en\nauthor: a\n---\n")
                .unwrap()
                .quote_policy,
            None
        );
        assert_eq!(
            one(parse(&md("friends"))),
            "content/interview.md: line 6: quote_policy: unknown quote policy `friends`: expected everyone, followers, nobody or default"
        );
    }

    #[test]
    fn wrong_types_name_key_and_line() {
        let md = "---\nkind: news\ntitle: T\nlanguage: en\nauthor: a\ntags: housing\n---\n";
        assert_eq!(
            one(parse(md)),
            "content/interview.md: line 6: tags: expected a list such as [cooperatives, housing], got text"
        );
        let md = "---\nkind: news\ntitle:\n  - a\nlanguage: en\nauthor: a\n---\n";
        assert_eq!(
            one(parse(md)),
            "content/interview.md: line 3: title: expected text, got a list"
        );
        let md = "---\nkind: news\ntitle: T\nlanguage: en\nauthor: a\ncover: img/x.jpg\n---\n";
        assert!(one(parse(md)).starts_with("content/interview.md: line 6: cover: expected `src:` and `alt:`"));
        let md = "---\nkind: news\ntitle: T\nlanguage: en\nauthor: a\ncover:\n  src: https://example.org/x.jpg\n  alt: x\n---\n";
        assert!(
            one(parse(md)).starts_with("content/interview.md: line 7: cover.src: `https://example.org/x.jpg` is a URL")
        );
    }

    #[test]
    fn validation_errors_carry_file_field_and_line() {
        let md = INTERVIEW.replace("kind: interview", "kind: opinion");
        assert_eq!(
            one(check(&md)),
            "content/interview.md: line 3: kind: unknown kind `opinion`: expected `news` or `interview`"
        );
        let md = INTERVIEW.replace("kind: interview\n", "");
        assert_eq!(
            one(check(&md)),
            "content/interview.md: line 1: kind: kind is missing: give `news` or `interview`"
        );

        let md = INTERVIEW.replace("  alt: Members on a building site\n", "  alt: \"\"\n");
        assert_eq!(
            one(check(&md)),
            "content/interview.md: line 19: cover.alt: cover image needs alt text describing it"
        );

        let md = INTERVIEW.replace("  fediverse_handle: ana@social.example.org", "  fediverse_handle: ana");
        assert!(one(check(&md)).starts_with("content/interview.md: line 16: interviewee.fediverse_handle: "));

        let md = INTERVIEW.replace("Second paragraph.", "<script>alert(1)</script>");
        assert!(
            one(check(&md)).starts_with("content/interview.md: line 25: body: `<script>`"),
            "{}",
            one(check(&md))
        );

        let md = INTERVIEW.replace("language: en", "language: xx");
        assert!(one(check(&md)).starts_with("content/interview.md: line 6: language: unknown language tag `xx`"));

        // A missing key is reported at the start of the front matter.
        let md = INTERVIEW.replace("author: marie\n", "");
        assert_eq!(
            one(check(&md)),
            "content/interview.md: line 1: author: an article needs an author"
        );

        // Several problems come together, in the order core finds them.
        let md = INTERVIEW
            .replace("kind: interview", "kind: opinion")
            .replace("status: published", "status: later");
        let p = problems(check(&md));
        assert_eq!(p.iter().map(|p| p.line).collect::<Vec<_>>(), vec![3, 20]);
        assert!(check(&md).unwrap_err().to_string().contains('\n'));
    }

    #[test]
    fn translation_problems_point_into_the_translation_file() {
        let fs = |fr: &str| files(&[("content/interview.md", INTERVIEW), ("content/interview.fr.md", fr)]);
        let check_fr = |fr: &str| {
            let fs = fs(fr);
            let parsed = parse_in(&fs, "content/interview.md")?;
            validate(&parsed, ArticleStatus::Draft, Utc::now())
        };

        let fr = "---\nlanguage: fr\ntitle: \"\"\n---\nTexte\n";
        assert_eq!(
            one(check_fr(fr)),
            "content/interview.fr.md: line 3: title: title is missing for language `fr`"
        );

        let fr = "---\nlanguage: fr\n---\nTexte\n";
        assert_eq!(
            one(check_fr(fr)),
            "content/interview.fr.md: line 1: title: title is missing for language `fr`"
        );

        let fr = "---\ntitle: T\n---\nLigne un\n\n<iframe src=x></iframe>\n";
        assert!(
            one(check_fr(fr)).starts_with("content/interview.fr.md: line 6: body: `<iframe>`"),
            "{}",
            one(check_fr(fr))
        );

        let fr = "---\ntitle: T\nlanguage: de\n---\nTexte\n";
        assert_eq!(
            one(check_fr(fr)),
            "content/interview.fr.md: line 3: language: `de` does not match `fr`, the language this file is listed under in content/interview.md"
        );

        let fr = "---\ntitle: T\nkind: news\n---\nTexte\n";
        assert_eq!(
            one(check_fr(fr)),
            "content/interview.fr.md: line 3: kind: not allowed in a translation file: only title, summary, language, interviewee go here; the rest is set in content/interview.md"
        );

        let fr = "---\ntitle: T\ninterviewee:\n  name: Ana\n---\nTexte\n";
        assert_eq!(
            one(check_fr(fr)),
            "content/interview.fr.md: line 4: interviewee.name: unknown key (known keys: role, bio)"
        );

        let fr = "Pas de front matter\n";
        assert!(
            one(check_fr(fr)).starts_with("content/interview.fr.md: line 1: the file must start with a `---` line")
        );
    }

    #[test]
    fn translation_listing_problems_point_into_the_main_file() {
        let only_main = files(&[("content/interview.md", INTERVIEW)]);
        assert_eq!(
            one(parse_in(&only_main, "content/interview.md")),
            "content/interview.md: line 8: translations.fr: cannot read content/interview.fr.md: no such file"
        );

        let md = INTERVIEW.replace("  fr: interview.fr.md", "  en: interview.fr.md");
        assert!(
            one(parse(&md))
                .starts_with("content/interview.md: line 8: translations.en: `en` is the language of this file")
        );

        let md = INTERVIEW.replace("  fr: interview.fr.md", "  zz: interview.fr.md");
        let fr_as_zz = files(&[
            ("content/interview.md", &md),
            ("content/interview.fr.md", "---\ntitle: T\n---\nx\n"),
        ]);
        let parsed = parse_in(&fr_as_zz, "content/interview.md").unwrap();
        let e = one(validate(&parsed, ArticleStatus::Draft, Utc::now()));
        assert!(
            e.starts_with("content/interview.md: line 8: translations.zz: unknown language tag `zz`"),
            "{e}"
        );

        let md = INTERVIEW.replace("  fr: interview.fr.md", "  fr:");
        assert_eq!(
            one(parse(&md)),
            "content/interview.md: line 8: translations.fr: expected the path of a Markdown file, such as article.fr.md"
        );
    }

    #[test]
    fn canonical_language_keys_find_their_lines() {
        let md = INTERVIEW.replace("  fr: interview.fr.md", "  pt-br: interview.fr.md");
        let fs = files(&[
            ("content/interview.md", &md),
            ("content/interview.fr.md", "---\ntitle: \"\"\n---\nx\n"),
        ]);
        let parsed = parse_in(&fs, "content/interview.md").unwrap();
        assert_eq!(
            one(validate(&parsed, ArticleStatus::Draft, Utc::now())),
            "content/interview.fr.md: line 2: title: title is missing for language `pt-BR`"
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        /// One line of front matter: known keys with odd values, unknown
        /// keys, nesting, YAML that does not parse, stray delimiters.
        fn line() -> impl Strategy<Value = String> {
            let key = prop::sample::select(vec![
                "slug",
                "kind",
                "title",
                "summary",
                "language",
                "author",
                "status",
                "publish_at",
                "quote_policy",
                "tags",
                "translations",
                "cover",
                "interviewee",
                "tilte",
                "  alt",
                "  src",
                "  fr",
                "- x",
                "",
            ]);
            let value = prop::sample::select(vec![
                "",
                "hello",
                "\"quoted: yes\"",
                "[a, b",
                "[Cooperatives, \"Énergie\"]",
                "{a: 1}",
                "interview",
                "2026-13-45",
                "fr.md",
                "../../etc/passwd",
                "|",
                ">-",
                "&anchor x",
                "*anchor",
                "!!binary aGk=",
                "- - -",
                "---",
                "\t",
                "null",
                "~",
                "123",
                "yes",
            ]);
            prop_oneof![
                (key, value).prop_map(|(k, v)| format!("{k}: {v}")),
                "[ -~]{0,20}",
                Just("---".to_owned()),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

            /// Whatever the file holds, parsing never panics, and every
            /// problem it reports points at a line of the file.
            #[test]
            fn problems_point_at_lines_of_the_file(
                lines in prop::collection::vec(line(), 0..14),
                opened in any::<bool>(),
                body in "[ -~\n]{0,40}",
            ) {
                let text = format!("{}{}\n---\n{body}", if opened { "---\n" } else { "" }, lines.join("\n"));
                let total = text.lines().count().max(1);
                let read = |p: &Path| {
                    if p == Path::new("article.md") {
                        Ok(text.clone())
                    } else {
                        Err(io::Error::new(io::ErrorKind::NotFound, "no such file"))
                    }
                };
                if let Err(FrontMatterError::Invalid(problems)) = parse_file(Path::new("article.md"), &read) {
                    prop_assert!(!problems.is_empty());
                    for p in problems.iter().filter(|p| p.file == "article.md") {
                        prop_assert!(p.line >= 1 && p.line <= total + 1, "{p} in a file of {total} lines:\n{text}");
                    }
                }
            }
        }
    }
}
