//! The article editor's form: what it holds ([`EditorForm`], every field
//! as typed, so a refused save shows it again), filled from a stored
//! article or blank, set field by field from a post, and turned into the
//! [`ArticleInput`] the write path takes.

use gazette_core::local_time::{self, Tz};
use gazette_core::{Article, ArticleInput, ArticleStatus, CoverInput, Interviewee, TranslationInput};
use gazette_store::NewMedia;
use serde::Serialize;

/// Key that ties an uploaded cover to the article input in one transaction.
pub(super) const UPLOAD_KEY: &str = "upload:cover";

/// Exactly what the editor form holds, so a refused save shows it again.
#[derive(Serialize, Default, Clone)]
pub(super) struct EditorForm {
    pub(super) id: Option<String>,
    pub(super) version: Option<i64>,
    /// The stored status (`new` before the first save).
    pub(super) status: String,
    pub(super) slug: String,
    pub(super) kind: String,
    pub(super) author: String,
    pub(super) tags: String,
    /// `YYYY-MM-DDTHH:MM` in the user's time zone, as
    /// `<input type="datetime-local">` sends it.
    pub(super) publish_at: String,
    pub(super) translations: Vec<TranslationForm>,
    pub(super) interviewee: IntervieweeForm,
    /// The stored cover, if any.
    pub(super) cover: Option<CoverView>,
    pub(super) cover_alt: String,
    pub(super) cover_remove: bool,
    /// The "insert an image" part: which text column, the alt text, and a
    /// library image chosen instead of a new file.
    pub(super) inline_column: usize,
    pub(super) inline_alt: String,
    pub(super) inline_existing: String,
}

#[derive(Serialize, Default, Clone)]
pub(super) struct TranslationForm {
    pub(super) language: String,
    pub(super) title: String,
    pub(super) summary: String,
    pub(super) body: String,
    /// An interview's interviewee's role and bio in this language (the
    /// main language's are in the interviewee panel).
    pub(super) iv_role: String,
    pub(super) iv_bio: String,
    /// Rendered body, after the Preview button.
    pub(super) preview: Option<String>,
}

impl TranslationForm {
    pub(super) fn is_blank(&self) -> bool {
        self.title.trim().is_empty() && self.summary.trim().is_empty() && self.body.trim().is_empty()
    }
}

#[derive(Serialize, Default, Clone)]
pub(super) struct IntervieweeForm {
    pub(super) name: String,
    pub(super) role: String,
    pub(super) organisation: String,
    pub(super) bio: String,
    pub(super) handle: String,
    /// Media id of a photo set elsewhere (CLI, API), kept as is.
    pub(super) photo: Option<String>,
}

#[derive(Serialize, Clone)]
pub(super) struct CoverView {
    pub(super) media_id: String,
    pub(super) url: String,
}

/// An uploaded cover, already checked to be an image within the limit.
pub(super) struct Upload {
    pub(super) media: NewMedia,
}

impl EditorForm {
    pub(super) fn from_article(a: &Article, author_username: &str, tz: Tz) -> Self {
        let text = |lang: &str| {
            a.interviewee
                .as_ref()
                .and_then(|iv| iv.translations.iter().find(|t| t.language == lang))
        };
        let mut translations: Vec<TranslationForm> = a
            .translations
            .iter()
            .map(|t| TranslationForm {
                language: t.language.as_str().to_owned(),
                title: t.title.clone(),
                summary: t.summary.clone(),
                body: t.body_markdown.clone(),
                iv_role: text(t.language.as_str()).map(|x| x.role.clone()).unwrap_or_default(),
                iv_bio: text(t.language.as_str()).map(|x| x.bio.clone()).unwrap_or_default(),
                preview: None,
            })
            .collect();
        translations.push(TranslationForm::default());
        let iv = a.interviewee.clone().unwrap_or_default();
        EditorForm {
            id: Some(a.id.clone()),
            version: Some(a.version),
            status: a.status.as_str().to_owned(),
            slug: a.slug.clone(),
            kind: a.kind.as_str().to_owned(),
            author: author_username.to_owned(),
            tags: a.tags.join(", "),
            publish_at: a
                .published_at
                .filter(|_| a.status == ArticleStatus::Scheduled)
                .map(|t| local_time::to_local_input(t, tz))
                .unwrap_or_default(),
            translations,
            interviewee: IntervieweeForm {
                name: iv.name,
                role: iv.role,
                organisation: iv.organisation,
                bio: iv.bio,
                handle: iv.fediverse_handle.unwrap_or_default(),
                photo: iv.photo,
            },
            cover: a.cover.as_ref().map(|c| CoverView {
                media_id: c.media_id.clone(),
                url: crate::pages::media_path(&c.media_id),
            }),
            cover_alt: a.cover.as_ref().map(|c| c.alt.clone()).unwrap_or_default(),
            cover_remove: false,
            ..Default::default()
        }
    }

    pub(super) fn blank(default_language: &str, author: &str) -> Self {
        EditorForm {
            status: "new".into(),
            kind: "interview".into(),
            author: author.to_owned(),
            translations: vec![
                TranslationForm {
                    language: default_language.to_owned(),
                    ..Default::default()
                },
                TranslationForm::default(),
            ],
            ..Default::default()
        }
    }

    /// The article input this form describes, for `status` (`None`: keep).
    pub(super) fn to_input(&self, status: Option<&str>, upload: Option<&Upload>) -> ArticleInput {
        let translations = self
            .translations
            .iter()
            .enumerate()
            .filter(|(i, t)| *i == 0 || !t.is_blank())
            .map(|(i, t)| {
                // Only other languages have their own role and bio fields.
                let interview = i > 0 && self.kind == "interview";
                let given = |v: &str| (interview && !v.trim().is_empty()).then(|| v.trim().to_owned());
                TranslationInput {
                    language: t.language.trim().to_owned(),
                    title: t.title.clone(),
                    summary: t.summary.clone(),
                    body: t.body.clone(),
                    interviewee_role: given(&t.iv_role),
                    interviewee_bio: given(&t.iv_bio),
                }
            })
            .collect();
        let cover = match (upload, &self.cover) {
            (Some(_), _) => Some(CoverInput {
                media_id: UPLOAD_KEY.into(),
                alt: self.cover_alt.clone(),
            }),
            (None, Some(c)) if !self.cover_remove => Some(CoverInput {
                media_id: c.media_id.clone(),
                alt: self.cover_alt.clone(),
            }),
            _ => None,
        };
        let interviewee = (self.kind == "interview").then(|| Interviewee {
            name: self.interviewee.name.trim().to_owned(),
            role: self.interviewee.role.trim().to_owned(),
            organisation: self.interviewee.organisation.trim().to_owned(),
            bio: self.interviewee.bio.trim().to_owned(),
            photo: self.interviewee.photo.clone(),
            fediverse_handle: Some(self.interviewee.handle.trim().to_owned()).filter(|h| !h.is_empty()),
            translations: Vec::new(),
        });
        ArticleInput {
            slug: Some(self.slug.trim().to_owned()).filter(|s| !s.is_empty()),
            kind: self.kind.clone(),
            status: status.map(str::to_owned),
            language: self
                .translations
                .first()
                .map(|t| t.language.trim().to_owned())
                .unwrap_or_default(),
            translations,
            tags: self
                .tags
                .split([',', ' ', '\n'])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            author: self.author.clone(),
            cover,
            interviewee,
            publish_at: Some(self.publish_at.trim().to_owned()).filter(|s| !s.is_empty()),
        }
    }

    /// Sets the field the editor page names `name` (unknown names are ignored).
    pub(super) fn set(&mut self, name: &str, value: String) {
        match name {
            "version" => self.version = value.trim().parse().ok(),
            "slug" => self.slug = value,
            "kind" => self.kind = value,
            "author" => self.author = value,
            "tags" => self.tags = value,
            "publish_at" => self.publish_at = value,
            "cover_alt" => self.cover_alt = value,
            "cover_remove" => self.cover_remove = !value.is_empty(),
            "inline_column" => self.inline_column = value.trim().parse().unwrap_or(0),
            "inline_alt" => self.inline_alt = value,
            "inline_existing" => self.inline_existing = value,
            "iv-name" => self.interviewee.name = value,
            "iv-role" => self.interviewee.role = value,
            "iv-organisation" => self.interviewee.organisation = value,
            "iv-bio" => self.interviewee.bio = value,
            "iv-handle" => self.interviewee.handle = value,
            other => {
                // tr-{i}-{part}: one column of the translations.
                if let Some((i, part)) = other
                    .strip_prefix("tr-")
                    .and_then(|r| r.split_once('-'))
                    .and_then(|(i, p)| Some((i.parse::<usize>().ok()?, p)))
                    .filter(|(i, _)| *i < 50)
                {
                    while self.translations.len() <= i {
                        self.translations.push(TranslationForm::default());
                    }
                    let tr = &mut self.translations[i];
                    match part {
                        "language" => tr.language = value,
                        "title" => tr.title = value,
                        "summary" => tr.summary = value,
                        "body" => tr.body = value,
                        "iv_role" => tr.iv_role = value,
                        "iv_bio" => tr.iv_bio = value,
                        _ => {}
                    }
                }
            }
        }
    }

    /// The form id of the input a validation or store field names.
    pub(super) fn field_id(&self, field: &str) -> String {
        let column = |lang: &str| {
            self.translations
                .iter()
                .position(|t| t.language.trim() == lang)
                .or_else(|| lang.parse::<usize>().ok())
                .unwrap_or(0)
        };
        match field {
            "title" | "summary" | "body" => format!("tr-0-{field}"),
            "language" => "tr-0-language".into(),
            "cover" | "cover.alt" | "alt" => "cover_alt".into(),
            "file" => "cover_file".into(),
            "inline_file" | "inline_alt" => field.into(),
            "interviewee" | "interviewee.name" => "iv-name".into(),
            "interviewee.fediverse_handle" => "iv-handle".into(),
            "kind" | "slug" | "tags" | "author" | "publish_at" => field.into(),
            f => match f.strip_prefix("translations.").and_then(|r| r.split_once('.')) {
                Some((lang, part)) => format!("tr-{}-{part}", column(lang)),
                None => String::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EditorForm;

    /// The role and bio typed in a translation column go with that
    /// translation, for interviews only; the main column has none of its own.
    #[test]
    fn interviewee_role_and_bio_per_translation_column() {
        let mut form = EditorForm::blank("fr", "camille");
        for (name, value) in [
            ("kind", "interview"),
            ("iv-name", "Ana"),
            ("iv-role", "Directrice"),
            ("tr-0-title", "Titre"),
            ("tr-0-iv_role", "ignored"),
            ("tr-1-language", "en"),
            ("tr-1-title", "Title"),
            ("tr-1-iv_role", " Director "),
            ("tr-1-iv_bio", "Ana runs it."),
        ] {
            form.set(name, value.to_owned());
        }
        let input = form.to_input(None, None);
        assert_eq!(input.translations[0].interviewee_role, None);
        assert_eq!(input.translations[1].interviewee_role.as_deref(), Some("Director"));
        assert_eq!(input.translations[1].interviewee_bio.as_deref(), Some("Ana runs it."));
        assert_eq!(input.interviewee.as_ref().map(|i| i.role.as_str()), Some("Directrice"));

        form.set("kind", "news".to_owned());
        let input = form.to_input(None, None);
        assert_eq!(input.translations[1].interviewee_role, None, "news has no interviewee");
    }
}
