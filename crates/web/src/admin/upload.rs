//! Admin forms that carry image files (the media library, the logo and
//! avatar forms, and the article editor): the multipart body read under the
//! instance's size cap by one reader ([`read_multipart`]),
//! every text field kept even when the file is too big, and the file checked
//! by its bytes, with a message in the interface language for each refusal.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use gazette_core::media::{ImageError, ImageInfo, accept};
use http_body_util::Limited;

use super::session::Fields;
use crate::AppState;

/// Room for the text fields on top of the file.
const TEXT_SLACK: usize = 256 * 1024;

/// A posted form: its text fields and the bytes of its file, if one was chosen.
pub(crate) struct UploadForm {
    pub(crate) fields: Fields,
    pub(crate) file: Option<Vec<u8>>,
    /// The file was over the limit (its bytes are dropped).
    pub(crate) too_big: bool,
}

impl UploadForm {
    /// What to carry of this form when it cannot be applied (its CSRF
    /// token was another session's): its text, and whether a file was chosen.
    pub(crate) fn kept(&self, target: &str, file_field: &str) -> Option<super::keep::Kept> {
        let files = if self.file.is_some() || self.too_big {
            vec![file_field.to_owned()]
        } else {
            Vec::new()
        };
        super::keep::Kept::new(target, true, self.fields.0.clone(), files)
    }
}

/// Reads a multipart form whose file part is named `file_field`. `Err` is a
/// message for a body that is not a multipart form at all.
pub(crate) async fn read_upload_form(state: &AppState, req: Request, file_field: &str) -> Result<UploadForm, String> {
    let posted = read_multipart(state, req, &[file_field], TEXT_SLACK).await?;
    Ok(UploadForm {
        fields: Fields(posted.fields),
        file: match posted.too_big {
            Some(_) => None,
            None => posted.files.into_iter().next().map(|(_, bytes)| bytes),
        },
        too_big: posted.too_big.is_some(),
    })
}

/// A multipart form as posted: its text fields, the files chosen, and the
/// file part that ran past the size cap, if one did.
pub(crate) struct MultipartForm {
    /// The text fields, in order.
    pub(crate) fields: Vec<(String, String)>,
    /// The non-empty files read whole, by field name, in order.
    pub(crate) files: Vec<(String, Vec<u8>)>,
    /// The file field being read when the body ran past the cap (its
    /// bytes dropped, and the reading stopped there).
    pub(crate) too_big: Option<String>,
}

/// Reads a multipart form, the one reader of the admin's forms with files:
/// the parts named in `file_fields` as files of at most the instance's
/// `max_upload_bytes`, the others as text, the whole body capped at that
/// size plus `text_slack`. The text fields come before the file inputs in
/// the pages, so past the cap only files are lost. `Err` is a message for a
/// body that is not a multipart form at all.
pub(crate) async fn read_multipart(
    state: &AppState,
    req: Request,
    file_fields: &[&str],
    text_slack: usize,
) -> Result<MultipartForm, String> {
    let is_multipart = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err("this form posts multipart/form-data".into());
    }
    let limit = state.config().max_upload_bytes;
    let req = req.map(|body| Body::new(Limited::new(body, limit.saturating_add(text_slack))));
    let mut multipart = Multipart::from_request(req, state).await.map_err(|e| e.body_text())?;
    let mut posted = MultipartForm {
        fields: Vec::new(),
        files: Vec::new(),
        too_big: None,
    };
    // The file part being read when the body ran past the cap.
    let mut last_file = file_fields.first().copied().unwrap_or_default();
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            // Past the cap between parts: a file was too big.
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                posted.too_big = Some(last_file.to_owned());
                posted.files.clear();
                break;
            }
            Err(e) => return Err(e.body_text()),
        };
        let name = field.name().unwrap_or("").to_owned();
        if let Some(file_field) = file_fields.iter().find(|f| **f == name) {
            last_file = file_field;
            let mut bytes = Vec::new();
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) if bytes.len() + chunk.len() > limit => {
                        posted.too_big = Some(name.clone());
                        break;
                    }
                    Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                    Ok(None) => break,
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        posted.too_big = Some(name.clone());
                        break;
                    }
                    Err(e) => return Err(e.body_text()),
                }
            }
            if posted.too_big.is_some() {
                break;
            }
            if !bytes.is_empty() {
                posted.files.push((name, bytes));
            }
            continue;
        }
        match field.text().await {
            Ok(v) => posted.fields.push((name, v)),
            Err(e) => return Err(e.body_text()),
        }
    }
    Ok(posted)
}

/// Room for the text of the largest form (the article editor) on top of a file.
const LARGE_TEXT_SLACK: usize = 8 * 1024 * 1024;

/// The text fields of any multipart form, in order, and the names of the
/// file inputs that held a file (whose bytes are read and dropped). For a
/// form that cannot be applied but whose text must not be lost. Past the
/// size cap the rest is dropped: the text fields that came first are kept.
pub(crate) async fn read_text_fields(
    state: &AppState,
    req: Request,
) -> Result<(Vec<(String, String)>, Vec<String>), String> {
    let limit = state.config().max_upload_bytes.saturating_add(LARGE_TEXT_SLACK);
    let req = req.map(|body| Body::new(Limited::new(body, limit)));
    let mut multipart = Multipart::from_request(req, state).await.map_err(|e| e.body_text())?;
    let mut fields = Vec::new();
    let mut files = Vec::new();
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE && !fields.is_empty() => break,
            Err(e) => return Err(e.body_text()),
        };
        let name = field.name().unwrap_or("").to_owned();
        if field.file_name().is_some() {
            let mut held = false;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => held |= !chunk.is_empty(),
                    Ok(None) => break,
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        held = true;
                        break;
                    }
                    Err(e) => return Err(e.body_text()),
                }
            }
            if held && !files.contains(&name) {
                files.push(name);
            }
            continue;
        }
        match field.text().await {
            Ok(v) => fields.push((name, v)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => break,
            Err(e) => return Err(e.body_text()),
        }
    }
    Ok((fields, files))
}

/// A refused file: the HTTP status and the message to show beside the field.
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

/// The message for a file over the limit.
pub(crate) fn too_large(state: &AppState, lang: &str) -> Refusal {
    let mb = state.config().max_upload_bytes as f64 / (1024.0 * 1024.0);
    Refusal {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: state
            .templates()
            .text(lang, "upload_too_large")
            .replace("{mb}", &format!("{mb:.1}")),
    }
}

/// Checks the chosen file is an image within the limits (bytes and
/// pixels); answers it with its metadata removed.
pub(crate) fn check_image(state: &AppState, lang: &str, bytes: &[u8]) -> Result<(ImageInfo, Vec<u8>), Refusal> {
    match accept(bytes, &state.image_limits()) {
        Ok(accepted) => Ok(accepted),
        Err(ImageError::TooLarge { .. }) => Err(too_large(state, lang)),
        Err(e @ ImageError::TooManyPixels { .. }) => Err(too_many_pixels(state, lang, &e)),
        Err(_) => Err(Refusal {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: state.templates().text(lang, "upload_not_image"),
        }),
    }
}

/// The message for an image with too many pixels, naming the limit.
pub(crate) fn too_many_pixels(state: &AppState, lang: &str, e: &ImageError) -> Refusal {
    let limits = state.image_limits();
    let (width, height) = match e {
        ImageError::TooManyPixels { width, height, .. } => (*width, *height),
        _ => (0, 0),
    };
    Refusal {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        message: state
            .templates()
            .text(lang, "upload_too_many_pixels")
            .replace("{width}", &width.to_string())
            .replace("{height}", &height.to_string())
            .replace("{megapixels}", &format!("{:.1}", limits.pixels as f64 / 1_000_000.0))
            .replace("{side}", &limits.side.to_string()),
    }
}

/// The Markdown that shows a stored image in an article.
pub(crate) fn markdown_snippet(alt: &str, id: &str) -> String {
    // Brackets and line breaks would end the alt text early.
    let alt: String = alt
        .chars()
        .map(|c| match c {
            '[' | ']' | '\n' | '\r' => ' ',
            c => c,
        })
        .collect();
    format!("![{}]({})", alt.trim(), crate::pages::media_path(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_keep_alt_text_inside_the_brackets() {
        assert_eq!(markdown_snippet("A [red] dot\n", "abc"), "![A  red  dot](/media/abc)");
        let md = markdown_snippet("A field of sunflowers", "abc");
        let html = gazette_core::markdown::render(&md, "body", 1).unwrap_or_default();
        assert!(html.contains("alt=\"A field of sunflowers\""), "{html}");
    }
}
