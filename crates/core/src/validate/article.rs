//! Validating an article: [`article`] reads each part of the input in turn
//! (kind, status, languages, translations, tags, author, cover, interviewee,
//! publication time, slug), collecting every problem before it answers.

use chrono::{DateTime, Utc};

use super::{
    Errs, LineOf, MAX_BODY, MAX_SUMMARY, MAX_TAGS, MAX_TITLE, check_handle, display_tag, normalise_handle, parse_time,
    tag_problem,
};
use crate::error::ValidationError;
use crate::language::Language;
use crate::markdown;
use crate::model::*;
use crate::slug;

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

    let kind = read_kind(input, &mut errs);
    let status = read_status(input, default_status, &mut errs);
    let default_language = read_default_language(input, &mut errs);
    let translations = read_translations(input, default_language.as_ref(), body_lines, &mut errs);
    let tags = read_tags(input, &mut errs);
    require_author(input, &mut errs);
    let cover = read_cover(input, &mut errs);
    let interviewee = read_interviewee(input, kind.as_ref(), default_language.as_ref(), &mut errs);
    let published_at = read_publish_time(input, status.as_ref(), now, &mut errs);
    let slug = read_slug(input, &translations, &mut errs);

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

/// The kind: `news` or `interview`.
fn read_kind(input: &ArticleInput, errs: &mut Errs<'_>) -> Option<ArticleKind> {
    let kind = ArticleKind::parse(input.kind.trim());
    if input.kind.trim().is_empty() {
        errs.add(
            "kind",
            "required",
            "kind_missing",
            &[],
            "kind is missing: give `news` or `interview`".to_owned(),
        );
    } else if kind.is_none() {
        errs.add(
            "kind",
            "invalid",
            "kind_unknown",
            &[("value", input.kind.clone())],
            format!("unknown kind `{}`: expected `news` or `interview`", input.kind),
        );
    }
    kind
}

/// The status, `default_status` when the input names none; `deleted` is refused.
fn read_status(input: &ArticleInput, default_status: ArticleStatus, errs: &mut Errs<'_>) -> Option<ArticleStatus> {
    match input.status.as_deref().map(str::trim) {
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
    }
}

/// The article's default language.
fn read_default_language(input: &ArticleInput, errs: &mut Errs<'_>) -> Option<Language> {
    match Language::parse(&input.language) {
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
    }
}

/// Every translation, the default language's first; at least one is needed,
/// and the default language must be among them.
fn read_translations(
    input: &ArticleInput,
    default_language: Option<&Language>,
    body_lines: &dyn Fn(&str) -> usize,
    errs: &mut Errs<'_>,
) -> Vec<Translation> {
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
        if let Some(translation) = read_translation(i, t, default_language, &translations, body_lines, errs) {
            translations.push(translation);
        }
    }
    if let Some(dl) = default_language {
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
    translations
}

/// One translation: its language (not given twice), title, summary and body
/// (rendered to HTML); `None` when it cannot be used. `i` names it in
/// messages when its language is missing.
fn read_translation(
    i: usize,
    t: &TranslationInput,
    default_language: Option<&Language>,
    earlier: &[Translation],
    body_lines: &dyn Fn(&str) -> usize,
    errs: &mut Errs<'_>,
) -> Option<Translation> {
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
            return None;
        }
    };
    let is_default = default_language == Some(&lang);
    let prefix = if is_default {
        String::new()
    } else {
        format!("translations.{lang}.")
    };
    if earlier.iter().any(|x| x.language == lang) {
        errs.add(
            &format!("{prefix}language"),
            "duplicate",
            "language_duplicate",
            &[("lang", lang.to_string())],
            format!("language `{lang}` is given twice"),
        );
        return None;
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
        return None;
    }
    let body_field = format!("{prefix}body");
    let body_html = match markdown::render(&t.body, &body_field, body_lines(lang.as_str())) {
        Ok(h) => h,
        Err(list) => {
            errs.list.extend(list);
            String::new()
        }
    };
    Some(Translation {
        language: lang,
        title: title.to_owned(),
        summary: summary.to_owned(),
        body_markdown: t.body.clone(),
        body_html,
    })
}

/// The tags, in the case they were written in.
fn read_tags(input: &ArticleInput, errs: &mut Errs<'_>) -> Vec<String> {
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
    tags
}

/// An article needs an author.
fn require_author(input: &ArticleInput, errs: &mut Errs<'_>) {
    if input.author.trim().is_empty() {
        errs.add(
            "author",
            "required",
            "author_required",
            &[],
            "an article needs an author".into(),
        );
    }
}

/// The cover image, which needs alt text.
fn read_cover(input: &ArticleInput, errs: &mut Errs<'_>) -> Option<Cover> {
    match &input.cover {
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
    }
}

/// The interviewee: required in an interview, refused in news (as are
/// interviewee texts in the translations).
fn read_interviewee(
    input: &ArticleInput,
    kind: Option<&ArticleKind>,
    default_language: Option<&Language>,
    errs: &mut Errs<'_>,
) -> Option<Interviewee> {
    match (kind, &input.interviewee) {
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
            interviewee_texts(input, &mut iv, default_language, errs);
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
    }
}

/// When to publish: `publish_at` as given, required and in the future for a
/// scheduled article.
fn read_publish_time(
    input: &ArticleInput,
    status: Option<&ArticleStatus>,
    now: DateTime<Utc>,
    errs: &mut Errs<'_>,
) -> Option<DateTime<Utc>> {
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
    match status {
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
    }
}

/// The slug as given, else made from the default language's title.
fn read_slug(input: &ArticleInput, translations: &[Translation], errs: &mut Errs<'_>) -> String {
    match input.slug.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
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
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::NoLines;

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
}
