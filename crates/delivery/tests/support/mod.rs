//! What the delivery tests and benchmarks share (tests/worker.rs,
//! tests/throughput.rs, examples/fanout.rs by path): the worker's signing
//! keys as a map from actor id to private key PEM.

use std::collections::HashMap;
use std::error::Error;
use std::future::Future;
use std::sync::Arc;

use gazette_delivery::KeySource;

/// Private key PEMs by actor id, as the worker asks for them.
#[derive(Clone)]
pub(crate) struct Keys(pub(crate) Arc<HashMap<String, String>>);

impl Keys {
    /// One actor's key.
    #[allow(dead_code, reason = "tests/worker.rs signs for several actors")]
    pub(crate) fn one(actor_id: &str, private_pem: String) -> Keys {
        Keys(Arc::new(HashMap::from([(actor_id.to_owned(), private_pem)])))
    }
}

impl KeySource for Keys {
    fn private_key_pem(
        &self,
        actor_id: &str,
    ) -> impl Future<Output = Result<Option<String>, Box<dyn Error + Send + Sync>>> + Send {
        let pem = self.0.get(actor_id).cloned();
        async move { Ok(pem) }
    }
}
