//! Downloads for `gazette import`: feeds and images, through the instance's
//! one guarded outgoing client (loopback and private addresses only when
//! `allow_private_addresses` is set), following a few redirects by hand
//! (the client follows none), with a size limit, and images checked like an
//! upload (type sniffed, size and pixels limited, metadata stripped).

use gazette_core::media::{ImageInfo, ImageLimits, accept};
use gazette_http::{ReadError, RemoteStatus, read_limited};

/// How many redirects a download follows.
const MAX_REDIRECTS: usize = 5;

/// Fetches URLs for one import.
pub struct Fetcher {
    pub client: gazette_http::Client,
    pub limits: ImageLimits,
    /// The client connects to private addresses: IP literals are not refused either.
    pub allow_private_addresses: bool,
}

/// A download that failed: `permanent` when trying again cannot help (the
/// server answered 404 or 410, or what came is not an acceptable image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    pub permanent: bool,
    pub message: String,
}

impl FetchError {
    fn again(message: String) -> Self {
        FetchError {
            permanent: false,
            message,
        }
    }

    fn never(message: String) -> Self {
        FetchError {
            permanent: true,
            message,
        }
    }
}

impl Fetcher {
    /// The body at `url`, at most `max` bytes, after at most five redirects.
    pub async fn get(&self, url: &str, max: usize) -> Result<Vec<u8>, FetchError> {
        let mut current =
            reqwest::Url::parse(url).map_err(|e| FetchError::never(format!("`{url}` is not a URL: {e}")))?;
        for _ in 0..=MAX_REDIRECTS {
            if !matches!(current.scheme(), "http" | "https") {
                return Err(FetchError::never(format!(
                    "`{current}`: only http and https are fetched"
                )));
            }
            if !self.allow_private_addresses {
                gazette_http::check_url(&current).map_err(|e| FetchError::never(format!("{current}: {e}")))?;
            }
            let response = self
                .client
                .get(current.clone())
                .send()
                .await
                .map_err(|e| FetchError::again(format!("{current}: {}", gazette_http::error_chain(&e))))?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or_else(|| FetchError::never(format!("{current}: HTTP {status} without a Location")))?;
                current = current
                    .join(location)
                    .map_err(|e| FetchError::never(format!("{current}: bad redirect `{location}`: {e}")))?;
                continue;
            }
            if !status.is_success() {
                let gone = matches!(status.as_u16(), 404 | 410);
                let message = RemoteStatus::read(response).await.to_string();
                return Err(FetchError {
                    permanent: gone,
                    message,
                });
            }
            return read_limited(response, max).await.map_err(|e| match e {
                ReadError::TooLarge(_) => FetchError::never(format!("{current}: {e}")),
                ReadError::Http(_) => FetchError::again(format!("{current}: {e}")),
            });
        }
        Err(FetchError::never(format!("{url}: more than {MAX_REDIRECTS} redirects")))
    }

    /// Downloads an image and checks it like an upload.
    pub async fn image(&self, url: &str) -> Result<(ImageInfo, Vec<u8>), FetchError> {
        let bytes = self.get(url, self.limits.bytes).await?;
        accept(&bytes, &self.limits).map_err(|e| FetchError::never(format!("{url}: {e}")))
    }
}
