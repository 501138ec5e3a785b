//! One cached response: its status, headers and body in every encoding
//! worth keeping (compressed once, when stored), its strong ETag and
//! Last-Modified, and how it answers a request: 304 to a client that has
//! it, else the best encoding the client accepts.

use std::io::Write;
use std::time::{Instant, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use sha2::{Digest, Sha256};

/// Bodies shorter than this are sent as they are: compression would save
/// less than its headers cost.
const COMPRESS_FROM: usize = 512;
/// Brotli quality: 5 compresses HTML and JSON nearly as well as 11 at a
/// small fraction of the time, and it runs once per fill.
const BROTLI_QUALITY: u32 = 5;
const BROTLI_WINDOW: u32 = 22;

/// The request headers an entry's answer depends on, taken before the
/// request goes on to the page.
#[derive(Debug, Clone, Default)]
pub(crate) struct Conditions {
    accept_encoding: Option<HeaderValue>,
    if_none_match: Option<HeaderValue>,
    if_modified_since: Option<HeaderValue>,
}

impl Conditions {
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        Conditions {
            accept_encoding: headers.get(axum::http::header::ACCEPT_ENCODING).cloned(),
            if_none_match: headers.get(IF_NONE_MATCH).cloned(),
            if_modified_since: headers.get(IF_MODIFIED_SINCE).cloned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

/// A body in one encoding, with its ETag.
#[derive(Debug)]
struct Variant {
    body: Bytes,
    etag: HeaderValue,
}

#[derive(Debug)]
pub(crate) struct Entry {
    /// The cache generation it was rendered in.
    pub(crate) generation: u64,
    pub(crate) filled: Instant,
    status: StatusCode,
    /// The page's own headers, with Vary, Cache-Control and Last-Modified
    /// settled; no ETag, encoding or length (those depend on the variant).
    headers: HeaderMap,
    /// The content's hash, shared by every variant's ETag.
    tag: String,
    last_modified: u64,
    identity: Variant,
    gzip: Option<Variant>,
    brotli: Option<Variant>,
    /// The route template that rendered it, for the metrics of its hits.
    pub(crate) route: Option<crate::metrics::RouteLabel>,
}

impl Entry {
    /// Builds the entry of a response the page answered: hashes the body,
    /// and compresses it (gzip and brotli) when it is text worth it.
    pub(crate) fn new(
        generation: u64,
        status: StatusCode,
        mut headers: HeaderMap,
        body: Bytes,
        last_modified: u64,
    ) -> Entry {
        for h in [ETAG, CONTENT_LENGTH, CONTENT_ENCODING, LAST_MODIFIED] {
            headers.remove(h);
        }
        let digest = Sha256::digest(&body);
        let tag: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        let compressible = body.len() >= COMPRESS_FROM
            && headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(is_text);
        let (gzip, brotli) = if compressible {
            (
                gzip(&body).filter(|z| z.len() < body.len()),
                brotli(&body).filter(|z| z.len() < body.len()),
            )
        } else {
            (None, None)
        };
        let variant = |body: Bytes, suffix: &str| Variant {
            etag: HeaderValue::from_str(&format!("\"{tag}{suffix}\"")).unwrap_or(HeaderValue::from_static("\"\"")),
            body,
        };
        if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(
            UNIX_EPOCH + std::time::Duration::from_secs(last_modified),
        )) {
            headers.insert(LAST_MODIFIED, v);
        }
        Entry {
            generation,
            filled: Instant::now(),
            status,
            headers,
            gzip: gzip.map(|b| variant(Bytes::from(b), "-gz")),
            brotli: brotli.map(|b| variant(Bytes::from(b), "-br")),
            identity: variant(body, ""),
            tag,
            last_modified,
            route: None,
        }
    }

    /// Memory the entry holds, roughly.
    pub(crate) fn weight(&self) -> usize {
        let headers: usize = self.headers.iter().map(|(k, v)| k.as_str().len() + v.len() + 32).sum();
        let bodies = self.identity.body.len()
            + self.gzip.as_ref().map_or(0, |v| v.body.len())
            + self.brotli.as_ref().map_or(0, |v| v.body.len());
        bodies + headers + 256
    }

    /// The answer to a request with `conditions`.
    pub(crate) fn respond(&self, conditions: &Conditions) -> Response {
        let encoding = choose_encoding(
            conditions.accept_encoding.as_ref(),
            self.gzip.is_some(),
            self.brotli.is_some(),
        );
        let variant = match encoding {
            Encoding::Brotli => self.brotli.as_ref(),
            Encoding::Gzip => self.gzip.as_ref(),
            Encoding::Identity => None,
        }
        .unwrap_or(&self.identity);
        let mut resp = Response::new(Body::empty());
        *resp.headers_mut() = self.headers.clone();
        resp.headers_mut().insert(ETAG, variant.etag.clone());
        if self.status == StatusCode::OK && self.not_modified(conditions) {
            *resp.status_mut() = StatusCode::NOT_MODIFIED;
            resp.headers_mut().remove(CONTENT_TYPE);
            return resp;
        }
        let h = resp.headers_mut();
        match encoding {
            Encoding::Brotli if self.brotli.is_some() => {
                h.insert(CONTENT_ENCODING, HeaderValue::from_static("br"));
            }
            Encoding::Gzip if self.gzip.is_some() => {
                h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            _ => {}
        }
        *resp.status_mut() = self.status;
        *resp.body_mut() = Body::from(variant.body.clone());
        resp
    }

    /// `If-None-Match` naming this content (in any encoding), or, without
    /// it, `If-Modified-Since` no earlier than Last-Modified.
    fn not_modified(&self, conditions: &Conditions) -> bool {
        if let Some(inm) = &conditions.if_none_match {
            let Ok(inm) = inm.to_str() else {
                return false;
            };
            return inm.split(',').any(|t| {
                let t = t.trim();
                let t = t.strip_prefix("W/").unwrap_or(t);
                t == "*"
                    || t.strip_prefix('"')
                        .and_then(|t| t.strip_suffix('"'))
                        .map(|t| t.strip_suffix("-gz").or_else(|| t.strip_suffix("-br")).unwrap_or(t))
                        .is_some_and(|t| t == self.tag)
            });
        }
        conditions
            .if_modified_since
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .is_some_and(|since| since.as_secs() >= self.last_modified)
    }
}

/// Adds `name` to the comma-separated `Vary` of `headers` unless there.
pub(crate) fn add_vary(headers: &mut HeaderMap, name: &str) {
    let current = headers.get(VARY).and_then(|v| v.to_str().ok()).unwrap_or("");
    if current.split(',').any(|v| v.trim().eq_ignore_ascii_case(name)) {
        return;
    }
    let joined = if current.trim().is_empty() {
        name.to_owned()
    } else {
        format!("{current}, {name}")
    };
    if let Ok(v) = HeaderValue::from_str(&joined) {
        headers.insert(VARY, v);
    }
}

/// Sets Cache-Control unless the page chose its own.
pub(crate) fn default_cache_control(headers: &mut HeaderMap, value: &'static str) {
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(value));
    }
}

fn is_text(content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    ct.starts_with("text/") || ct.contains("json") || ct.contains("xml") || ct.contains("javascript")
}

/// The encoding to send: brotli, then gzip, among those the client
/// accepts (`q=0` refuses one) and the entry has.
fn choose_encoding(accept: Option<&HeaderValue>, has_gzip: bool, has_brotli: bool) -> Encoding {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return Encoding::Identity;
    };
    let accepts = |name: &str| {
        accept.split(',').any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            if !coding.eq_ignore_ascii_case(name) {
                return false;
            }
            !parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            })
        })
    };
    if has_brotli && accepts("br") {
        Encoding::Brotli
    } else if has_gzip && accepts("gzip") {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut z = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 3), flate2::Compression::default());
    z.write_all(body).ok()?;
    z.finish().ok()
}

fn brotli(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len() / 3);
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, BROTLI_QUALITY, BROTLI_WINDOW);
        w.write_all(body).ok()?;
        w.flush().ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(body: &str) -> Entry {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        Entry::new(1, StatusCode::OK, headers, Bytes::from(body.to_owned()), 1_700_000_000)
    }

    fn conditions(pairs: &[(&'static str, &'static str)]) -> Conditions {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        Conditions::of(&h)
    }

    #[test]
    fn picks_brotli_then_gzip_and_honours_q_zero() {
        assert_eq!(choose_encoding(None, true, true), Encoding::Identity);
        let v = HeaderValue::from_static("gzip, deflate, br");
        assert_eq!(choose_encoding(Some(&v), true, true), Encoding::Brotli);
        assert_eq!(choose_encoding(Some(&v), true, false), Encoding::Gzip);
        let v = HeaderValue::from_static("br;q=0, gzip;q=0.5");
        assert_eq!(choose_encoding(Some(&v), true, true), Encoding::Gzip);
        let v = HeaderValue::from_static("identity");
        assert_eq!(choose_encoding(Some(&v), true, true), Encoding::Identity);
    }

    #[test]
    fn compressed_bodies_decode_to_the_page() {
        let page = "<p>Gazette</p>".repeat(200);
        let e = entry(&page);
        let gz = e.gzip.as_ref().expect("gzip kept");
        let mut out = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz.body[..]), &mut out).expect("gunzip");
        assert_eq!(out, page);
        let br = e.brotli.as_ref().expect("brotli kept");
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &br.body[..], &mut out).expect("brotli decodes");
        assert_eq!(out, page.as_bytes());
        // Every encoding has its own strong ETag over the same content.
        assert_ne!(gz.etag, e.identity.etag);
        assert_ne!(br.etag, gz.etag);
        // Short bodies are not compressed.
        assert!(entry("<p>x</p>").gzip.is_none());
    }

    #[test]
    fn answers_304_to_its_etag_in_any_encoding_and_to_if_modified_since() {
        let e = entry(&"a".repeat(1000));
        let etag = e.identity.etag.to_str().expect("ascii").to_owned();
        let gz_etag = e.gzip.as_ref().expect("gzip").etag.to_str().expect("ascii").to_owned();
        for inm in [
            etag.clone(),
            gz_etag,
            format!("W/{etag}"),
            format!("\"other\", {etag}"),
            "*".into(),
        ] {
            let mut h = HeaderMap::new();
            h.insert(IF_NONE_MATCH, HeaderValue::from_str(&inm).expect("header"));
            let resp = e.respond(&Conditions::of(&h));
            assert_eq!(resp.status(), StatusCode::NOT_MODIFIED, "{inm}");
            assert!(resp.headers().contains_key(ETAG));
        }
        let resp = e.respond(&conditions(&[("if-none-match", "\"other\"")]));
        assert_eq!(resp.status(), StatusCode::OK);
        // If-None-Match wins over If-Modified-Since.
        let resp = e.respond(&conditions(&[
            ("if-none-match", "\"other\""),
            ("if-modified-since", "Thu, 01 Jan 2099 00:00:00 GMT"),
        ]));
        assert_eq!(resp.status(), StatusCode::OK);
        let resp = e.respond(&conditions(&[("if-modified-since", "Tue, 14 Nov 2023 22:13:20 GMT")]));
        assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
        let resp = e.respond(&conditions(&[("if-modified-since", "Tue, 14 Nov 2023 22:13:19 GMT")]));
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers().get(LAST_MODIFIED).expect("last-modified"),
            "Tue, 14 Nov 2023 22:13:20 GMT"
        );
    }

    #[test]
    fn vary_is_added_once() {
        let mut h = HeaderMap::new();
        add_vary(&mut h, "Accept-Encoding");
        add_vary(&mut h, "accept-encoding");
        assert_eq!(h.get(VARY).expect("vary"), "Accept-Encoding");
        h.insert(VARY, HeaderValue::from_static("Accept"));
        add_vary(&mut h, "Accept-Encoding");
        assert_eq!(h.get(VARY).expect("vary"), "Accept, Accept-Encoding");
    }
}
