//! Reading the editor's multipart post into an [`EditorForm`], the chosen
//! action, the CSRF token and any new image (the cover, or one to insert
//! into the text), each checked to be an image within the limits; what is
//! refused comes back as messages beside the fields, with every typed
//! field kept.

use axum::extract::Request;
use axum::http::StatusCode;
use gazette_core::Article;
use gazette_core::media::ImageInfo;
use gazette_store::NewMedia;

use super::form::{CoverView, EditorForm, TranslationForm, UPLOAD_KEY, Upload};
use crate::AppState;
use crate::admin::upload::{Refusal, check_image, read_multipart, too_large};
use crate::admin::{AdminError, Failure, FormError, Signed};

/// Room for the text fields on top of the image in one editor post.
const TEXT_SLACK: usize = 8 * 1024 * 1024;

/// The posted editor: its fields, the chosen action and any uploaded cover.
pub(super) struct Posted {
    pub(super) form: EditorForm,
    pub(super) action: String,
    pub(super) csrf: String,
    pub(super) upload: Option<Upload>,
    /// A new image to insert into the text.
    pub(super) inline: Option<(ImageInfo, Vec<u8>)>,
    pub(super) errors: Vec<FormError>,
    /// The file was over the instance's limit.
    pub(super) too_big: bool,
}

/// Reads the multipart editor form (with the reader the other forms with a
/// file use). Text fields come before the file inputs in the page, so an
/// oversized file still leaves every typed field read.
pub(super) async fn read_editor(
    state: &AppState,
    signed: &Signed,
    current: Option<&Article>,
    req: Request,
) -> Result<Posted, AdminError> {
    let lang = signed.lang.as_str();
    let posted = read_multipart(state, req, &["cover_file", "inline_file"], TEXT_SLACK)
        .await
        .map_err(|msg| signed.fail(Failure::bad_request(msg)))?;
    let mut form = EditorForm {
        status: current
            .map(|a| a.status.as_str().to_owned())
            .unwrap_or_else(|| "new".into()),
        id: current.map(|a| a.id.clone()),
        ..Default::default()
    };
    if let Some(a) = current {
        form.cover = a.cover.as_ref().map(|c| CoverView {
            media_id: c.media_id.clone(),
            url: crate::pages::media_path(&c.media_id),
        });
        form.interviewee.photo = a.interviewee.as_ref().and_then(|i| i.photo.clone());
    }
    let mut action = String::from("save");
    let mut csrf = String::new();
    for (name, value) in posted.fields {
        match name.as_str() {
            "_csrf" => csrf = value,
            "action" => action = value,
            _ => form.set(&name, value),
        }
    }
    let (mut file, mut inline_file) = (None, None);
    for (name, bytes) in posted.files {
        match name.as_str() {
            "cover_file" => file = Some(bytes),
            _ => inline_file = Some(bytes),
        }
    }
    let t = |k: &str| state.templates().text(lang, k);
    let mut errors = Vec::new();
    let mut too_big = false;
    if let Some(field) = posted.too_big {
        errors.push(FormError::new(field, too_large(state, lang).message));
        too_big = true;
    }
    if form.translations.is_empty() {
        form.translations.push(TranslationForm::default());
    }
    if form.translations.last().is_some_and(|t| !t.is_blank()) {
        form.translations.push(TranslationForm::default());
    }
    // Each new image checked by its bytes; a refusal is shown beside its input.
    let mut check = |field: &str, bytes: Option<Vec<u8>>| match bytes.map(|b| check_image(state, lang, &b)) {
        None => None,
        Some(Ok(accepted)) => Some(accepted),
        Some(Err(Refusal { status, message })) => {
            too_big |= status == StatusCode::PAYLOAD_TOO_LARGE;
            errors.push(FormError::new(field, message));
            None
        }
    };
    let upload = check("cover_file", file).map(|(info, bytes)| Upload {
        media: NewMedia {
            key: UPLOAD_KEY.into(),
            info,
            alt: form.cover_alt.trim().to_owned(),
            bytes,
        },
    });
    let inline = check("inline_file", inline_file);
    if upload.is_some() && form.cover_alt.trim().is_empty() {
        errors.push(FormError {
            field: "cover_alt".into(),
            message: t("cover_alt_required"),
        });
    }
    Ok(Posted {
        form,
        action,
        csrf,
        upload,
        inline,
        errors,
        too_big,
    })
}
