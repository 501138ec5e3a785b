//! Image sniffing (the type from the bytes themselves, never from the name),
//! the bound on an image's pixels (read from its header, never decoded),
//! the removal of metadata (EXIF with its GPS position, XMP, IPTC, text
//! chunks) from the bytes as they are, without decoding or re-encoding, and
//! finding the stored images an article's text shows.

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
    #[error(
        "image is {width}×{height} pixels, over the limit of {max_megapixels} megapixels and {max_side} pixels a side"
    )]
    TooManyPixels {
        width: u32,
        height: u32,
        max_megapixels: String,
        max_side: u32,
    },
}

/// What an accepted image may be: its size in bytes and in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    pub bytes: usize,
    /// Width × height at most.
    pub pixels: u64,
    /// Width and height each at most.
    pub side: u32,
}

impl ImageLimits {
    /// `bytes` with the default bounds on pixels: 40 megapixels, 10,000 a side.
    pub fn with_bytes(bytes: usize) -> Self {
        ImageLimits {
            bytes,
            pixels: 40_000_000,
            side: 10_000,
        }
    }
}

/// Checks an image against `limits` (type, bytes, pixels from its header)
/// and returns its description with its bytes stripped of metadata.
pub fn accept(bytes: &[u8], limits: &ImageLimits) -> Result<(ImageInfo, Vec<u8>), ImageError> {
    let info = sniff(bytes, limits.bytes)?;
    check_pixels(&info, limits)?;
    let clean = strip_metadata(info.content_type, bytes)?;
    Ok((info, clean))
}

/// Refuses an image with more pixels than `limits` allow, naming the limit.
pub fn check_pixels(info: &ImageInfo, limits: &ImageLimits) -> Result<(), ImageError> {
    let pixels = u64::from(info.width) * u64::from(info.height);
    if pixels > limits.pixels || info.width > limits.side || info.height > limits.side {
        return Err(ImageError::TooManyPixels {
            width: info.width,
            height: info.height,
            max_megapixels: format!("{:.1}", limits.pixels as f64 / 1_000_000.0),
            max_side: limits.side,
        });
    }
    Ok(())
}

/// The image without its metadata, byte for byte otherwise: JPEG loses its
/// APP1 (EXIF, XMP), APP13 (IPTC), COM and other application segments but
/// keeps JFIF (APP0), its colour profile (APP2) and Adobe's colour flag
/// (APP14); PNG loses its `tEXt`, `zTXt`, `iTXt`, `eXIf` and `tIME`
/// chunks; WebP its `EXIF` and `XMP ` chunks. GIF is returned as it is.
/// A file whose structure cannot be followed is refused rather than kept
/// with what it may carry. (A JPEG's EXIF orientation goes with the rest.)
pub fn strip_metadata(content_type: &str, bytes: &[u8]) -> Result<Vec<u8>, ImageError> {
    let malformed = |what: &str| ImageError::Unreadable(format!("{what}: metadata could not be removed"));
    match content_type {
        "image/jpeg" => strip_jpeg(bytes).ok_or_else(|| malformed("malformed JPEG segment")),
        "image/png" => strip_png(bytes).ok_or_else(|| malformed("malformed PNG chunk")),
        "image/webp" => strip_webp(bytes).ok_or_else(|| malformed("malformed WebP chunk")),
        _ => Ok(bytes.to_vec()),
    }
}

fn strip_jpeg(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut at = 2;
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        // Fill bytes: any number of 0xFF before the marker.
        while bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let marker = *bytes.get(at + 1)?;
        match marker {
            // End of image, or markers without a length.
            0xD9 => {
                out.extend_from_slice(&bytes[at..at + 2]);
                return Some(out);
            }
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&bytes[at..at + 2]);
                at += 2;
                continue;
            }
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(at + 2)?, *bytes.get(at + 3)?]));
        let end = at.checked_add(2)?.checked_add(len)?;
        if len < 2 || end > bytes.len() {
            return None;
        }
        if marker == 0xDA {
            // Start of scan: the compressed data and everything after it
            // are the picture itself.
            out.extend_from_slice(&bytes[at..]);
            return Some(out);
        }
        let keep = !matches!(marker, 0xE1 | 0xE3..=0xED | 0xEF | 0xFE);
        if keep {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
    }
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

fn strip_png(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(&PNG_SIGNATURE) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&PNG_SIGNATURE);
    let mut at = PNG_SIGNATURE.len();
    while at < bytes.len() {
        let len = usize::try_from(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?)).ok()?;
        let kind = bytes.get(at + 4..at + 8)?;
        let end = at.checked_add(12)?.checked_add(len)?;
        if end > bytes.len() {
            return None;
        }
        if !matches!(kind, b"tEXt" | b"zTXt" | b"iTXt" | b"eXIf" | b"tIME") {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
        if kind == b"IEND" {
            return Some(out);
        }
    }
    None
}

fn strip_webp(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return None;
    }
    let riff_end = usize::try_from(u32::from_le_bytes(bytes[4..8].try_into().ok()?))
        .ok()?
        .checked_add(8)?
        .min(bytes.len());
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..12]);
    let mut at = 12;
    while at + 8 <= riff_end {
        let kind = &bytes[at..at + 4];
        let len = usize::try_from(u32::from_le_bytes(bytes[at + 4..at + 8].try_into().ok()?)).ok()?;
        // Chunks are padded to an even length.
        let end = at.checked_add(8)?.checked_add(len)?.checked_add(len % 2)?;
        if end > riff_end {
            return None;
        }
        match kind {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let start = out.len();
                out.extend_from_slice(&bytes[at..end]);
                // The extended header's flags say EXIF and XMP follow: no more.
                if let Some(flags) = out.get_mut(start + 8) {
                    *flags &= !(0x08 | 0x04);
                }
            }
            _ => out.extend_from_slice(&bytes[at..end]),
        }
        at = end;
    }
    let size = u32::try_from(out.len() - 8).ok()?;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Some(out)
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

    /// A PNG chunk with its CRC (the stripper keeps CRCs as they are).
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0, 0, 0, 0]);
        c
    }

    fn png_of(width: u32, height: u32, extra: &[Vec<u8>]) -> Vec<u8> {
        let mut ihdr = width.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        let mut png = PNG_SIGNATURE.to_vec();
        png.extend(chunk(b"IHDR", &ihdr));
        for c in extra {
            png.extend_from_slice(c);
        }
        png.extend(chunk(b"IDAT", &[0x78, 0x9C, 0x63, 0, 1]));
        png.extend(chunk(b"IEND", &[]));
        png
    }

    #[test]
    fn refuses_images_with_too_many_pixels() {
        let limits = ImageLimits::with_bytes(1 << 20);
        let huge = png_of(20_000, 20_000, &[]);
        let e = accept(&huge, &limits).unwrap_err();
        assert!(matches!(e, ImageError::TooManyPixels { width: 20_000, .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains("40.0 megapixels") && text.contains("10000 pixels a side"),
            "{text}"
        );
        // Headers claiming 2³¹−1 pixels a side.
        let claimed = png_of(0x7FFF_FFFF, 1, &[]);
        assert!(accept(&claimed, &limits).is_err());
        // A long strip is within the pixels but not the side.
        assert!(accept(&png_of(12_000, 10, &[]), &limits).is_err());
        assert!(accept(&png_of(6_000, 6_000, &[]), &limits).is_ok());
    }

    #[test]
    fn png_text_chunks_are_removed() {
        let text = chunk(b"tEXt", b"Comment\0GPS 50.85N 4.35E");
        let time = chunk(b"tIME", &[7, 234, 1, 1, 0, 0, 0]);
        let exif = chunk(b"eXIf", b"MM\0*GPSLatitude");
        let icc = chunk(b"iCCP", b"sRGB\0\0x");
        let png = png_of(2, 3, &[text, time, exif, icc.clone()]);
        let (info, clean) = accept(&png, &ImageLimits::with_bytes(1 << 20)).unwrap();
        assert_eq!((info.width, info.height), (2, 3));
        assert_eq!(clean, png_of(2, 3, &[icc]));
        assert_eq!(sniff(&clean, 1 << 20).unwrap(), info);
        // Trailing bytes after IEND go too; a cut chunk is refused.
        let mut trailing = png_of(2, 3, &[]);
        trailing.extend_from_slice(b"GPS");
        assert_eq!(strip_metadata("image/png", &trailing).unwrap(), png_of(2, 3, &[]));
        assert!(strip_metadata("image/png", &png[..png.len() - 20]).is_err());
    }

    fn segment(marker: u8, data: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
        s.extend_from_slice(data);
        s
    }

    /// A JPEG's structure: markers and segments around a made-up scan.
    fn jpeg_of(segments: &[Vec<u8>]) -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        j.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        for s in segments {
            j.extend_from_slice(s);
        }
        j.extend(segment(0xDB, &[0; 65]));
        // SOF0: 8 bits, 480 high, 640 wide, one component.
        j.extend(segment(0xC0, &[8, 0x01, 0xE0, 0x02, 0x80, 1, 1, 0x11, 0]));
        j.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        j.extend_from_slice(&[0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD0, 0x78]);
        j.extend_from_slice(&[0xFF, 0xD9]);
        j
    }

    #[test]
    fn jpeg_exif_gps_and_comments_are_removed_colour_kept() {
        let exif = segment(0xE1, b"Exif\0\0MM\0*\0\0\0\x08GPSLatitude 50.85 N GPSLongitude 4.35 E");
        let xmp = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>Ana Lima</x:xmpmeta>");
        let iptc = segment(0xED, b"Photoshop 3.0\08BIM byline");
        let comment = segment(0xFE, b"taken at 12 rue des Lilas");
        let icc = segment(0xE2, b"ICC_PROFILE\0\x01\x01profile");
        let adobe = segment(0xEE, b"Adobe\0\x64\0\0\0\0\x01");
        let jpeg = jpeg_of(&[exif, xmp, icc.clone(), iptc, comment, adobe.clone()]);
        let (info, clean) = accept(&jpeg, &ImageLimits::with_bytes(1 << 20)).unwrap();
        assert_eq!((info.content_type, info.width, info.height), ("image/jpeg", 640, 480));
        assert_eq!(clean, jpeg_of(&[icc, adobe]));
        let as_text = String::from_utf8_lossy(&clean);
        for gone in ["Exif", "GPS", "xmpmeta", "8BIM", "rue des Lilas"] {
            assert!(!as_text.contains(gone), "{gone} is still there");
        }
        assert_eq!(sniff(&clean, 1 << 20).unwrap(), info);
        // A segment running past the end is refused, not kept.
        assert!(strip_metadata("image/jpeg", &jpeg[..40]).is_err());
    }

    #[test]
    fn webp_exif_and_xmp_chunks_are_removed() {
        fn riff(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
            let mut body = b"WEBP".to_vec();
            for (kind, data) in chunks {
                body.extend_from_slice(*kind);
                body.extend_from_slice(&(data.len() as u32).to_le_bytes());
                body.extend_from_slice(data);
                if data.len() % 2 == 1 {
                    body.push(0);
                }
            }
            let mut w = b"RIFF".to_vec();
            w.extend_from_slice(&(body.len() as u32).to_le_bytes());
            w.extend(body);
            w
        }
        // VP8X with the EXIF and XMP flags, a 3×2 canvas.
        let vp8x = |flags: u8| [flags, 0, 0, 0, 2, 0, 0, 1, 0, 0];
        let image: &[u8] = b"ALPH-and-VP8L-data";
        let webp = riff(&[
            (b"VP8X", &vp8x(0x08 | 0x04 | 0x10)),
            (b"VP8L", image),
            (b"EXIF", b"MM\0*GPS"),
            (b"XMP ", b"<x:xmpmeta/>"),
        ]);
        let clean = strip_metadata("image/webp", &webp).unwrap();
        assert_eq!(clean, riff(&[(b"VP8X", &vp8x(0x10)), (b"VP8L", image)]));
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
