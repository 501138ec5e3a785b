//! `QuoteRequest` (FEP-044f): a remote post asks to quote one of our
//! articles; answered by the article's quote policy (see [`crate::quotes`]).

use activitypub_federation::config::Data;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::{Head, ObjectRef, Received};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::remote::DbRemoteActor;

/// `object`: the quoted article; `instrument`: the quoting post, by id or
/// embedded (read as JSON: its `attributedTo` and `url` are checked).
#[derive(Debug, Deserialize)]
pub(crate) struct QuoteRequest {
    pub object: ObjectRef,
    #[serde(default)]
    pub instrument: Option<Value>,
}

impl Received for QuoteRequest {
    async fn receive(
        self,
        data: &Data<FedContext>,
        head: &Head,
        sender: &DbRemoteActor,
    ) -> Result<(), FederationError> {
        let request = crate::quotes::QuoteRequest {
            id: head.id.as_str(),
            object: self.object.id().map(Url::as_str).unwrap_or_default(),
            instrument: self.instrument.as_ref(),
        };
        crate::quotes::on_quote_request(data, &request, sender).await
    }
}
