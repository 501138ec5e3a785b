//! The crate's error type: only setting the worker up can fail; failed
//! deliveries are recorded in the queue, not returned.

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("delivery settings: {0}")]
    Config(String),
    #[error(transparent)]
    Client(#[from] gazette_http::HttpError),
}
