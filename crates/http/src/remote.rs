//! Reading what another server answered: bodies with a size limit, and a
//! failed answer turned into an error that says who answered what
//! ("social.example answered HTTP 418 I'm a teapot: no user-agent sent
//! with request"), so the CLI, the API and the admin name the real cause.

/// The most of an error body read to find the remote server's message.
const MAX_ERROR_BODY: usize = 16 * 1024;
/// The most of a remote server's message repeated to the user.
const MAX_MESSAGE_CHARS: usize = 200;

/// Reading a body failed or it was too big.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Http(#[from] reqwest::Error),
}

/// The body of `response`, at most `max` bytes, however long it claims or
/// turns out to be.
pub async fn read_limited(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(ReadError::TooLarge(max));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > max {
            return Err(ReadError::TooLarge(max));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Another server answered with an error status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host} answered HTTP {status}{}{}", reason_text(*.status), message_text(.message))]
pub struct RemoteStatus {
    /// `host[:port]` that answered.
    pub host: String,
    pub status: u16,
    /// The remote server's own explanation, if its answer had one
    /// (`{"error": "…"}` as Mastodon and GoToSocial write it, or short text).
    pub message: Option<String>,
}

fn reason_text(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default()
}

fn message_text(message: &Option<String>) -> String {
    message.as_ref().map(|m| format!(": {m}")).unwrap_or_default()
}

impl RemoteStatus {
    /// Reads (a little of) a failed `response` into an error.
    pub async fn read(response: reqwest::Response) -> RemoteStatus {
        let url = response.url();
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => url.to_string(),
        };
        let status = response.status().as_u16();
        let body = read_start(response, MAX_ERROR_BODY).await;
        RemoteStatus {
            host,
            status,
            message: message_of(&body),
        }
    }
}

/// Up to `max` bytes of the body (less if reading fails).
async fn read_start(mut response: reqwest::Response, max: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    while bytes.len() < max {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk[..chunk.len().min(max - bytes.len())]),
            _ => break,
        }
    }
    bytes
}

/// The explanation in an error body: the `error` (or `error_description`,
/// `message`, `detail`) of a JSON object, or plain text that is not HTML;
/// on one line, control characters dropped, at most [`MAX_MESSAGE_CHARS`].
fn message_of(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let found = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(o)) => ["error", "error_description", "message", "detail"]
            .iter()
            .find_map(|k| o.get(*k).and_then(|v| v.as_str()).map(str::to_owned))?,
        Ok(serde_json::Value::String(s)) => s,
        Ok(_) => return None,
        Err(_) if text.starts_with('<') => return None,
        Err(_) => text.to_owned(),
    };
    let printable: String = found.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let one_line = printable.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return None;
    }
    Some(match one_line.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_from_json_and_text() {
        assert_eq!(
            message_of(br#"{"error":"I'm a teapot: no user-agent sent with request"}"#).as_deref(),
            Some("I'm a teapot: no user-agent sent with request")
        );
        assert_eq!(
            message_of(b"  database\nis down \x07 ").as_deref(),
            Some("database is down")
        );
        assert_eq!(message_of(b"<html><body>nginx</body></html>"), None);
        assert_eq!(message_of(b"{}"), None);
        assert_eq!(message_of(b""), None);
        let long = "x".repeat(500);
        assert_eq!(
            message_of(long.as_bytes()).unwrap().chars().count(),
            MAX_MESSAGE_CHARS + 1
        );
    }

    #[test]
    fn the_error_names_host_status_and_message() {
        let e = RemoteStatus {
            host: "social.example:8080".into(),
            status: 418,
            message: Some("no user-agent sent with request".into()),
        };
        assert_eq!(
            e.to_string(),
            "social.example:8080 answered HTTP 418 I'm a teapot: no user-agent sent with request"
        );
        let e = RemoteStatus {
            host: "social.example".into(),
            status: 404,
            message: None,
        };
        assert_eq!(e.to_string(), "social.example answered HTTP 404 Not Found");
    }
}
