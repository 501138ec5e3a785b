//! Turns submitted input into validated values, naming every bad field.

use chrono::{DateTime, Utc};

use crate::error::{FieldError, ValidationError};
use crate::language::Language;
use crate::markdown;
use crate::model::*;
use crate::slug;

const MAX_TITLE: usize = 300;
const MAX_SUMMARY: usize = 2_000;
const MAX_BODY: usize = 1_000_000;
const MAX_TAGS: usize = 30;

/// Where each field of an input sits in its file, for error messages.
pub trait LineOf {
    fn line_of(&self, field: &str) -> Option<usize>;
}

/// Input that did not come from a file.
pub struct NoLines;

impl LineOf for NoLines {
    fn line_of(&self, _field: &str) -> Option<usize> {
        None
    }
}

struct Errs<'a> {
    list: Vec<FieldError>,
    lines: &'a dyn LineOf,
}

impl Errs<'_> {
    /// A problem with `field`: `code` is the generic kind, `key` (with
    /// `params`) the stable name of this message for translations.
    fn add(
        &mut self,
        field: &str,
        code: &'static str,
        key: &'static str,
        params: &[(&'static str, String)],
        msg: String,
    ) {
        let mut e = FieldError::new(field, code, msg).with_key(key, params.iter().cloned());
        e.line = self.lines.line_of(field);
        self.list.push(e);
    }
}

/// Validates an article. `default_status` applies when the input names none;
/// `body_lines` gives, per language, the line where that body starts in its file.
pub fn article(
    input: &ArticleInput,
    default_status: ArticleStatus,
    now: DateTime<Utc>,
    lines: &dyn LineOf,
    body_lines: &dyn Fn(&str) -> usize,
) -> Result<NewArticle, ValidationError> {
    let mut errs = Errs {
        list: Vec::new(),
        lines,
    };

    let kind = ArticleKind::parse(input.kind.trim());
    if kind.is_none() {
        errs.add(
            "kind",
            "invalid",
            "kind_unknown",
            &[("value", input.kind.clone())],
            format!("unknown kind `{}`: expected `news` or `interview`", input.kind),
        );
    }
    let status = match input.status.as_deref().map(str::trim) {
        None | Some("") => Some(default_status),
        Some(s) => match ArticleStatus::parse(s) {
            Some(ArticleStatus::Deleted) => {
                errs.add(
                    "status",
                    "invalid",
                    "status_deleted",
                    &[],
                    "status `deleted` cannot be set on save: delete the article instead".into(),
                );
                None
            }
            Some(st) => Some(st),
            None => {
                errs.add(
                    "status",
                    "invalid",
                    "status_unknown",
                    &[("value", s.to_owned())],
                    format!("unknown status `{s}`: expected `draft`, `scheduled` or `published`"),
                );
                None
            }
        },
    };
    let default_language = match Language::parse(&input.language) {
        Ok(l) => Some(l),
        Err(m) => {
            errs.add(
                "language",
                "unknown_language",
                "language_unknown",
                &[("value", input.language.clone())],
                m,
            );
            None
        }
    };

    let mut translations: Vec<Translation> = Vec::new();
    if input.translations.is_empty() {
        errs.add(
            "title",
            "required",
            "title_required",
            &[],
            "an article needs a title".into(),
        );
    }
    for (i, t) in input.translations.iter().enumerate() {
        let key = if t.language.is_empty() {
            i.to_string()
        } else {
            t.language.clone()
        };
        let lang = match Language::parse(&t.language) {
            Ok(l) => l,
            Err(m) => {
                errs.add(
                    &format!("translations.{key}.language"),
                    "unknown_language",
                    "language_unknown",
                    &[("value", t.language.clone())],
                    m,
                );
                continue;
            }
        };
        let is_default = default_language.as_ref() == Some(&lang);
        let prefix = if is_default {
            String::new()
        } else {
            format!("translations.{lang}.")
        };
        if translations.iter().any(|x| x.language == lang) {
            errs.add(
                &format!("{prefix}language"),
                "duplicate",
                "language_duplicate",
                &[("lang", lang.to_string())],
                format!("language `{lang}` is given twice"),
            );
            continue;
        }
        let title = t.title.trim();
        if title.is_empty() {
            errs.add(
                &format!("{prefix}title"),
                "required",
                "title_required_in",
                &[("lang", lang.to_string())],
                format!("title is missing for language `{lang}`"),
            );
        } else if title.chars().count() > MAX_TITLE {
            errs.add(
                &format!("{prefix}title"),
                "too_long",
                "title_too_long",
                &[("max", MAX_TITLE.to_string())],
                format!("title is longer than {MAX_TITLE} characters"),
            );
        }
        let summary = t.summary.trim();
        if summary.chars().count() > MAX_SUMMARY {
            errs.add(
                &format!("{prefix}summary"),
                "too_long",
                "summary_too_long",
                &[("max", MAX_SUMMARY.to_string())],
                format!("summary is longer than {MAX_SUMMARY} characters"),
            );
        }
        if t.body.len() > MAX_BODY {
            errs.add(
                &format!("{prefix}body"),
                "too_long",
                "body_too_long",
                &[("max", MAX_BODY.to_string())],
                format!("body is longer than {MAX_BODY} bytes"),
            );
            continue;
        }
        let body_field = format!("{prefix}body");
        let body_html = match markdown::render(&t.body, &body_field, body_lines(lang.as_str())) {
            Ok(h) => h,
            Err(list) => {
                errs.list.extend(list);
                String::new()
            }
        };
        translations.push(Translation {
            language: lang,
            title: title.to_owned(),
            summary: summary.to_owned(),
            body_markdown: t.body.clone(),
            body_html,
        });
    }
    if let Some(dl) = &default_language {
        match translations.iter().position(|t| &t.language == dl) {
            Some(pos) => {
                let t = translations.remove(pos);
                translations.insert(0, t);
            }
            None if !input.translations.is_empty() && !errs.list.iter().any(|e| e.field.ends_with("language")) => {
                errs.add(
                    "language",
                    "invalid",
                    "default_language_missing",
                    &[("lang", dl.to_string())],
                    format!("no title and text given for the default language `{dl}`"),
                );
            }
            None => {}
        }
    }

    // Tags keep the case they were written in (`InteropTest` reads better
    // than `interoptest` in a timeline); two spellings of one tag are one.
    let mut tags: Vec<String> = Vec::new();
    for t in &input.tags {
        match display_tag(t) {
            Ok(tag) => {
                if !tags.iter().any(|known| known.to_lowercase() == tag.to_lowercase()) {
                    tags.push(tag);
                }
            }
            Err(m) => errs.add("tags", "invalid", tag_problem(t), &[("tag", t.trim().to_owned())], m),
        }
    }
    if tags.len() > MAX_TAGS {
        errs.add(
            "tags",
            "too_many",
            "tags_too_many",
            &[("max", MAX_TAGS.to_string())],
            format!("at most {MAX_TAGS} tags"),
        );
    }

    if input.author.trim().is_empty() {
        errs.add(
            "author",
            "required",
            "author_required",
            &[],
            "an article needs an author".into(),
        );
    }

    let cover = match &input.cover {
        None => None,
        Some(c) if c.media_id.trim().is_empty() => {
            errs.add(
                "cover",
                "required",
                "cover_required",
                &[],
                "cover image is missing".into(),
            );
            None
        }
        Some(c) if c.alt.trim().is_empty() => {
            errs.add(
                "cover.alt",
                "required",
                "cover_alt_required",
                &[],
                "cover image needs alt text describing it".into(),
            );
            None
        }
        Some(c) => Some(Cover {
            media_id: c.media_id.trim().to_owned(),
            alt: c.alt.trim().to_owned(),
        }),
    };

    let interviewee = match (&kind, &input.interviewee) {
        (Some(ArticleKind::News), Some(_)) => {
            errs.add(
                "interviewee",
                "invalid",
                "interviewee_not_news",
                &[],
                "only interviews have an interviewee".into(),
            );
            None
        }
        (Some(ArticleKind::Interview), None) => {
            errs.add(
                "interviewee",
                "required",
                "interviewee_required",
                &[],
                "an interview needs an interviewee".into(),
            );
            None
        }
        (_, Some(iv)) => {
            if iv.name.trim().is_empty() {
                errs.add(
                    "interviewee.name",
                    "required",
                    "interviewee_name_required",
                    &[],
                    "the interviewee's name is missing".into(),
                );
            }
            if let Some(h) = iv.fediverse_handle.as_deref().filter(|h| !h.trim().is_empty())
                && let Err(m) = check_handle(h)
            {
                errs.add(
                    "interviewee.fediverse_handle",
                    "invalid",
                    "handle_invalid",
                    &[("value", h.trim().to_owned())],
                    m,
                );
            }
            let mut iv = iv.clone();
            iv.fediverse_handle = iv
                .fediverse_handle
                .filter(|h| !h.trim().is_empty())
                .map(|h| normalise_handle(&h));
            interviewee_texts(input, &mut iv, default_language.as_ref(), &mut errs);
            Some(iv)
        }
        (_, None) => {
            for t in &input.translations {
                let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
                if given(&t.interviewee_role) || given(&t.interviewee_bio) {
                    errs.add(
                        &format!("translations.{}.interviewee_role", t.language.trim()),
                        "invalid",
                        "interviewee_not_news",
                        &[],
                        "only interviews have an interviewee".into(),
                    );
                }
            }
            None
        }
    };

    let publish_at = match input.publish_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match parse_time(s) {
            Some(t) => Some(t),
            None => {
                errs.add(
                    "publish_at",
                    "invalid",
                    "publish_at_invalid",
                    &[("value", s.to_owned())],
                    format!("`{s}` is not a date and time such as 2026-12-01T09:00:00Z"),
                );
                None
            }
        },
    };
    let published_at = match status {
        Some(ArticleStatus::Scheduled) => {
            if publish_at.is_none() && input.publish_at.as_deref().is_none_or(|s| s.trim().is_empty()) {
                errs.add(
                    "publish_at",
                    "required",
                    "publish_at_required",
                    &[],
                    "a scheduled article needs publish_at".into(),
                );
            }
            if publish_at.is_some_and(|t| t <= now) {
                errs.add(
                    "publish_at",
                    "invalid",
                    "publish_at_past",
                    &[],
                    "publish_at of a scheduled article must be in the future (or publish it now)".into(),
                );
            }
            publish_at
        }
        _ => publish_at,
    };

    let slug = match input.slug.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => {
            if let Err(m) = slug::check(s) {
                errs.add("slug", "invalid", "slug_invalid", &[("value", s.to_owned())], m);
            }
            s.to_owned()
        }
        None => {
            let s = translations
                .first()
                .map(|t| slug::slugify(&t.title))
                .unwrap_or_default();
            if s.is_empty() && translations.first().is_some_and(|t| !t.title.is_empty()) {
                errs.add(
                    "slug",
                    "required",
                    "slug_required",
                    &[],
                    "no slug given and none can be made from the title".into(),
                );
            }
            s
        }
    };

    if !errs.list.is_empty() {
        return Err(ValidationError(errs.list));
    }
    let (Some(kind), Some(status), Some(default_language)) = (kind, status, default_language) else {
        return Err(ValidationError::one("kind", "invalid", "invalid article"));
    };
    Ok(NewArticle {
        slug,
        kind,
        status,
        default_language,
        translations,
        tags,
        author: input.author.trim().to_owned(),
        cover,
        interviewee,
        published_at,
    })
}

/// Sets the interviewee's role and bio in the article's other languages:
/// from `interviewee.translations`, then each translation's
/// `interviewee_role` and `interviewee_bio` (which win). Each language must
/// be one of the article's; the default language's are `role` and `bio`
/// (given in its translation instead, they fill those when empty).
fn interviewee_texts(input: &ArticleInput, iv: &mut Interviewee, default: Option<&Language>, errs: &mut Errs<'_>) {
    let languages: Vec<Language> = input
        .translations
        .iter()
        .filter_map(|t| Language::parse(t.language.trim()).ok())
        .collect();
    let mut texts: Vec<IntervieweeText> = Vec::new();
    let mut put =
        |iv: &mut Interviewee, field: &str, lang: &str, role: Option<&str>, bio: Option<&str>, errs: &mut Errs<'_>| {
            let Ok(lang) = Language::parse(lang.trim()) else {
                errs.add(
                    field,
                    "invalid",
                    "interviewee_language_unknown",
                    &[("lang", lang.trim().to_owned())],
                    format!("`{}` is not a language of this article", lang.trim()),
                );
                return;
            };
            if !languages.contains(&lang) {
                errs.add(
                    field,
                    "invalid",
                    "interviewee_language_unknown",
                    &[("lang", lang.to_string())],
                    format!("`{lang}` is not a language of this article"),
                );
                return;
            }
            let role = role.map(str::trim).filter(|s| !s.is_empty());
            let bio = bio.map(str::trim).filter(|s| !s.is_empty());
            if default == Some(&lang) {
                if let Some(r) = role
                    && iv.role.trim().is_empty()
                {
                    iv.role = r.to_owned();
                }
                if let Some(b) = bio
                    && iv.bio.trim().is_empty()
                {
                    iv.bio = b.to_owned();
                }
                return;
            }
            let entry = match texts.iter_mut().find(|t| t.language == lang.as_str()) {
                Some(e) => e,
                None => {
                    texts.push(IntervieweeText {
                        language: lang.to_string(),
                        ..Default::default()
                    });
                    let last = texts.len() - 1;
                    &mut texts[last]
                }
            };
            if let Some(r) = role {
                entry.role = r.to_owned();
            }
            if let Some(b) = bio {
                entry.bio = b.to_owned();
            }
        };
    let given = std::mem::take(&mut iv.translations);
    for t in &given {
        put(
            iv,
            &format!("interviewee.translations.{}", t.language.trim()),
            &t.language,
            Some(&t.role),
            Some(&t.bio),
            errs,
        );
    }
    for t in &input.translations {
        if t.interviewee_role.is_some() || t.interviewee_bio.is_some() {
            put(
                iv,
                &format!("translations.{}.interviewee_role", t.language.trim()),
                &t.language,
                t.interviewee_role.as_deref(),
                t.interviewee_bio.as_deref(),
                errs,
            );
        }
    }
    iv.role = iv.role.trim().to_owned();
    iv.bio = iv.bio.trim().to_owned();
    texts.retain(|t| !t.role.is_empty() || !t.bio.is_empty());
    iv.translations = texts;
}

/// Accepts RFC 3339, or a date and time without zone (taken as UTC), or a date.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// The stable message name of what [`normalise_tag`] refuses in `tag`.
fn tag_problem(tag: &str) -> &'static str {
    let t = tag.trim().trim_start_matches('#');
    if t.is_empty() {
        "tag_empty"
    } else if t.chars().count() > 100 && t.chars().all(|c| c.is_alphanumeric() || c == '_') {
        "tag_too_long"
    } else {
        "tag_invalid"
    }
}

/// `#Économie_Sociale` → `économie_sociale`; letters, digits and `_` only.
/// The lower-case form is the tag's key: lookups, URLs and counts use it.
pub fn normalise_tag(tag: &str) -> Result<String, String> {
    display_tag(tag).map(|t| t.to_lowercase())
}

/// `#Économie_Sociale` → `Économie_Sociale`: the tag as written, checked
/// like [`normalise_tag`], for display.
pub fn display_tag(tag: &str) -> Result<String, String> {
    let t = tag.trim().trim_start_matches('#');
    if t.is_empty() {
        return Err("empty tag".into());
    }
    if !t.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(format!(
            "tag `{tag}` may only contain letters, digits and `_` (write it as one word, e.g. SocialEconomy)"
        ));
    }
    if t.chars().count() > 100 {
        return Err(format!("tag `{tag}` is longer than 100 characters"));
    }
    Ok(t.to_owned())
}

/// Checks a fediverse handle `@user@host` (the leading `@` is optional).
pub fn check_handle(handle: &str) -> Result<(), String> {
    let h = handle.trim().trim_start_matches('@');
    let mut parts = h.split('@');
    let (Some(user), Some(host), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "`{handle}` is not a fediverse handle such as @name@example.org"
        ));
    };
    let user_ok = !user.is_empty() && user.chars().all(|c| c.is_alphanumeric() || "_.-".contains(c));
    let host_ok = host.contains('.') || host.starts_with("localhost");
    let host_ok =
        host_ok && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c)) && !host.starts_with('.');
    if user_ok && host_ok {
        Ok(())
    } else {
        Err(format!(
            "`{handle}` is not a fediverse handle such as @name@example.org"
        ))
    }
}

/// `name@host` or `@name@host` → `@name@host`.
pub fn normalise_handle(handle: &str) -> String {
    format!("@{}", handle.trim().trim_start_matches('@'))
}

/// Validates an author.
pub fn author(input: &AuthorInput) -> Result<AuthorInput, ValidationError> {
    let mut errs = Vec::new();
    let username = input.username.trim().to_ascii_lowercase();
    if username.is_empty() {
        errs.push(
            FieldError::new("username", "required", "an author needs a username")
                .with_key("author_username_required", []),
        );
    } else if username.len() > 64 || !username.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        errs.push(
            FieldError::new(
                "username",
                "invalid",
                format!(
                    "username `{}` may only contain letters, digits and `_` (at most 64)",
                    input.username
                ),
            )
            .with_key("username_invalid", [("value", input.username.clone())]),
        );
    }
    if input.name.trim().is_empty() {
        errs.push(FieldError::new("name", "required", "an author needs a name").with_key("author_name_required", []));
    }
    let handle = input
        .fediverse_handle
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty());
    if let Some(h) = handle
        && let Err(m) = check_handle(h)
    {
        errs.push(
            FieldError::new("fediverse_handle", "invalid", m).with_key("handle_invalid", [("value", h.to_owned())]),
        );
    }
    if !errs.is_empty() {
        return Err(ValidationError(errs));
    }
    Ok(AuthorInput {
        username,
        name: input.name.trim().to_owned(),
        bio: input.bio.trim().to_owned(),
        avatar: input.avatar.clone().filter(|a| !a.trim().is_empty()),
        fediverse_handle: handle.map(normalise_handle),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ArticleInput {
        ArticleInput {
            kind: "news".into(),
            language: "fr".into(),
            translations: vec![
                TranslationInput {
                    language: "en".into(),
                    title: "Hello".into(),
                    summary: "S".into(),
                    body: "Body".into(),
                    ..Default::default()
                },
                TranslationInput {
                    language: "fr".into(),
                    title: "Bonjour à tous".into(),
                    summary: "S".into(),
                    body: "Texte".into(),
                    ..Default::default()
                },
            ],
            tags: vec!["#SocialEconomy".into(), "socialeconomy".into()],
            author: "marie".into(),
            ..Default::default()
        }
    }

    fn check(i: &ArticleInput) -> Result<NewArticle, ValidationError> {
        article(i, ArticleStatus::Draft, Utc::now(), &NoLines, &|_| 1)
    }

    fn fields(e: ValidationError) -> Vec<String> {
        e.0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn valid_article() {
        let a = check(&input()).unwrap();
        assert_eq!(a.slug, "bonjour-a-tous");
        assert_eq!(a.translations[0].language.as_str(), "fr");
        assert_eq!(a.tags, vec!["SocialEconomy"], "case kept, the second spelling dropped");
        assert_eq!(a.status, ArticleStatus::Draft);
        assert!(a.published_at.is_none());
    }

    #[test]
    fn interviewee_role_and_bio_per_language() {
        let mut i = input();
        i.kind = "interview".into();
        i.interviewee = Some(Interviewee {
            name: "Ana".into(),
            role: "Directrice".into(),
            bio: "Elle dirige.".into(),
            translations: vec![IntervieweeText {
                language: "EN".into(),
                role: "Head".into(),
                bio: "She leads.".into(),
            }],
            ..Default::default()
        });
        // The translation's own field wins over `interviewee.translations`.
        i.translations[0].interviewee_role = Some(" Director ".into());
        let a = check(&i).unwrap();
        let iv = a.interviewee.unwrap();
        assert_eq!(
            iv.translations,
            vec![IntervieweeText {
                language: "en".into(),
                role: "Director".into(),
                bio: "She leads.".into(),
            }]
        );
        let en = Language::parse("en").unwrap();
        let fr = Language::parse("fr").unwrap();
        assert_eq!((iv.role_in(&en), iv.bio_in(&en)), ("Director", "She leads."));
        assert_eq!((iv.role_in(&fr), iv.bio_in(&fr)), ("Directrice", "Elle dirige."));

        // A language the article is not written in is refused.
        let mut bad = i.clone();
        if let Some(iv) = bad.interviewee.as_mut() {
            iv.translations[0].language = "de".into();
        }
        assert_eq!(fields(check(&bad).unwrap_err()), vec!["interviewee.translations.de"]);

        // News has no interviewee, in any language.
        let mut news = input();
        news.translations[0].interviewee_bio = Some("x".into());
        assert_eq!(
            fields(check(&news).unwrap_err()),
            vec!["translations.en.interviewee_role"]
        );
    }

    #[test]
    fn names_bad_fields() {
        let mut i = input();
        i.kind = "opinion".into();
        assert_eq!(fields(check(&i).unwrap_err()), vec!["kind"]);

        let mut i = input();
        i.translations[1].title = " ".into();
        assert_eq!(fields(check(&i).unwrap_err()), vec!["title"]);
        let mut i = input();
        i.translations[0].title = "".into();
        assert_eq!(fields(check(&i).unwrap_err()), vec!["translations.en.title"]);

        let mut i = input();
        i.translations[0].language = "zz".into();
        assert_eq!(fields(check(&i).unwrap_err()), vec!["translations.zz.language"]);

        let mut i = input();
        i.cover = Some(CoverInput {
            media_id: "m1".into(),
            alt: "".into(),
        });
        assert_eq!(fields(check(&i).unwrap_err()), vec!["cover.alt"]);

        let mut i = input();
        i.translations[0].body = "<script>x</script>".into();
        assert_eq!(fields(check(&i).unwrap_err()), vec!["translations.en.body"]);

        let mut i = input();
        i.kind = "interview".into();
        assert_eq!(fields(check(&i).unwrap_err()), vec!["interviewee"]);

        let mut i = input();
        i.status = Some("scheduled".into());
        assert_eq!(fields(check(&i).unwrap_err()), vec!["publish_at"]);

        let mut i = input();
        i.slug = Some("Not A Slug".into());
        assert_eq!(fields(check(&i).unwrap_err()), vec!["slug"]);
    }

    #[test]
    fn published_date_is_only_the_explicit_one() {
        let mut i = input();
        i.status = Some("published".into());
        assert!(check(&i).unwrap().published_at.is_none());
        i.publish_at = Some("2026-11-01".into());
        assert!(check(&i).unwrap().published_at.is_some());
    }

    #[test]
    fn times_and_handles() {
        assert!(parse_time("2026-12-01T09:00:00Z").is_some());
        assert!(parse_time("2026-12-01T09:00:00+01:00").is_some());
        assert!(parse_time("2026-12-01").is_some());
        assert!(parse_time("tomorrow").is_none());
        assert!(check_handle("@anna@social.example.org").is_ok());
        assert!(check_handle("anna@localhost:8081").is_ok());
        assert!(check_handle("anna").is_err());
        assert!(check_handle("@a@b@c").is_err());
    }

    #[test]
    fn author_messages_have_stable_names_to_translate() {
        let bad = AuthorInput {
            username: "no spaces".into(),
            name: " ".into(),
            bio: String::new(),
            avatar: None,
            fediverse_handle: Some("nobody".into()),
        };
        let errs = author(&bad).unwrap_err().0;
        let keys: Vec<(&str, &str)> = errs.iter().map(|e| (e.field.as_str(), e.key)).collect();
        assert_eq!(
            keys,
            vec![
                ("username", "username_invalid"),
                ("name", "author_name_required"),
                ("fediverse_handle", "handle_invalid"),
            ]
        );
        assert_eq!(errs[0].params, vec![("value", "no spaces".to_owned())]);
        assert_eq!(errs[2].params, vec![("value", "nobody".to_owned())]);
        let empty = AuthorInput {
            username: String::new(),
            ..bad
        };
        assert_eq!(author(&empty).unwrap_err().0[0].key, "author_username_required");
    }
}
