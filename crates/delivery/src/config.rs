//! The worker's settings, with production defaults.

use std::time::Duration;

use gazette_federation::signatures::knock::{self, SignaturePolicy};
use gazette_store::RetryPolicy;

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// The instance's public URL, named in the `User-Agent` of every request
    /// (GoToSocial answers 418 to requests without one).
    pub public_url: String,
    /// Deliver to loopback, private and other non-public addresses too.
    /// Only for tests and closed networks.
    pub allow_private_addresses: bool,
    /// Requests in flight at once, over all hosts.
    pub concurrency: usize,
    /// Requests in flight at once to one host (per process).
    pub per_host_concurrency: usize,
    pub connect_timeout: Duration,
    /// For the whole request, response included.
    pub request_timeout: Duration,
    /// How long a claimed delivery belongs to this worker. After a crash its
    /// deliveries go out again once the lease ends. Must be longer than
    /// `request_timeout`: a delivery whose remaining lease is shorter than
    /// that is handed back rather than sent, so no two workers send it.
    pub lease: Duration,
    /// Look at the queue at least this often, for what other processes
    /// queued and for leases of crashed workers that ran out.
    pub poll_interval: Duration,
    /// Parsed private keys are trusted this long before the key source is
    /// asked again (key rotation).
    pub key_cache_ttl: Duration,
    pub retry: RetryPolicy,
    /// Which HTTP signature profiles deliveries are signed with: RFC 9421
    /// and draft-cavage double-knocking per host (the default), or one only.
    pub signature: SignaturePolicy,
    /// A host remembered as accepting only draft-cavage is tried with RFC
    /// 9421 again once this much time has passed since that was learned.
    pub signature_recheck: Duration,
}

impl DeliveryConfig {
    pub fn new(public_url: impl Into<String>) -> Self {
        DeliveryConfig {
            public_url: public_url.into(),
            allow_private_addresses: false,
            concurrency: 64,
            per_host_concurrency: 8,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            lease: Duration::from_secs(5 * 60),
            poll_interval: Duration::from_secs(10),
            key_cache_ttl: Duration::from_secs(5 * 60),
            retry: RetryPolicy::default(),
            signature: SignaturePolicy::DoubleKnock,
            signature_recheck: knock::RECHECK_AFTER,
        }
    }

    /// `Gazette/<version> (+<public URL>)`.
    pub fn user_agent(&self) -> String {
        gazette_http::user_agent(&self.public_url)
    }

    /// The outgoing client's settings matching these, for a worker that
    /// builds its own client ([`crate::Worker::new`]).
    pub fn http(&self) -> gazette_http::HttpConfig {
        gazette_http::HttpConfig {
            public_url: self.public_url.clone(),
            allow_private_addresses: self.allow_private_addresses,
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            max_idle_per_host: self.per_host_concurrency,
        }
    }
}
