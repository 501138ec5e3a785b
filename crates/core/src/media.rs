//! Image sniffing (the type from the bytes themselves, never from the name)
//! and finding the stored images an article's text shows.

/// Image types Gazette accepts.
pub const ACCEPTED: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("file is empty")]
    Empty,
    #[error("file is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("file is not a JPEG, PNG, GIF or WebP image")]
    NotAnImage,
    #[error("image dimensions could not be read: {0}")]
    Unreadable(String),
}

/// Checks `bytes` against `limit` and returns the real type and dimensions.
pub fn sniff(bytes: &[u8], limit: usize) -> Result<ImageInfo, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    if bytes.len() > limit {
        return Err(ImageError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    let content_type = match imagesize::image_type(bytes) {
        Ok(imagesize::ImageType::Jpeg) => "image/jpeg",
        Ok(imagesize::ImageType::Png) => "image/png",
        Ok(imagesize::ImageType::Gif) => "image/gif",
        Ok(imagesize::ImageType::Webp) => "image/webp",
        _ => return Err(ImageError::NotAnImage),
    };
    let size = imagesize::blob_size(bytes).map_err(|e| ImageError::Unreadable(e.to_string()))?;
    if size.width == 0 || size.height == 0 {
        return Err(ImageError::Unreadable("zero width or height".into()));
    }
    Ok(ImageInfo {
        content_type,
        width: size.width as u32,
        height: size.height as u32,
    })
}

/// The path in which a stored image is served: `/media/{id}`.
pub const MEDIA_PATH: &str = "/media/";

/// The ids of the images `text` (an article's Markdown) shows: every run of
/// ASCII letters and digits right after `/media/`, wherever it appears (a
/// relative link, an absolute URL, raw HTML), sorted and without repeats.
/// Occurrences may share their slashes (`/media/media/ID` names `media` and
/// `ID`). Migrations 21 of both databases fill the reference table with the
/// same rule written in SQL for articles stored before it; keep them in step.
pub fn referenced_media_ids(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(MEDIA_PATH) {
        let start = from + at + MEDIA_PATH.len();
        let run = text[start..].bytes().take_while(u8::is_ascii_alphanumeric).count();
        if run > 0 {
            ids.push(text[start..start + run].to_owned());
        }
        // The path's closing slash may open the next occurrence.
        from = start - 1;
    }
    ids.sort();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_media_id_once() {
        let text = "Intro ![A](/media/0a1b2c \"t\") and ![B](https://x.example/media/FF99).\n\
                    <img src=\"/media/0a1b2c\"> /media/ /media/-x /media/media/zz9 media/nope é/media/abcé";
        assert_eq!(
            referenced_media_ids(text),
            vec!["0a1b2c", "FF99", "abc", "media", "zz9"]
        );
        assert!(referenced_media_ids("no images, /medias/x, /media").is_empty());
        assert!(referenced_media_ids("").is_empty());
    }

    // A 1×1 transparent PNG.
    const PNG: [u8; 67] = [
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00,
        0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D,
        0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];

    #[test]
    fn sniffs_png() {
        assert_eq!(
            sniff(&PNG, 1000),
            Ok(ImageInfo {
                content_type: "image/png",
                width: 1,
                height: 1
            })
        );
    }

    #[test]
    fn refuses_bad_files() {
        assert_eq!(sniff(b"", 10), Err(ImageError::Empty));
        assert_eq!(sniff(&PNG, 10), Err(ImageError::TooLarge { size: 67, limit: 10 }));
        assert_eq!(
            sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>", 1000),
            Err(ImageError::NotAnImage)
        );
        assert_eq!(sniff(b"%PDF-1.4 hello", 1000), Err(ImageError::NotAnImage));
    }
}
