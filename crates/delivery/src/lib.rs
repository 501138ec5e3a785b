//! Persistent outbound delivery of signed ActivityPub activities.
//!
//! **The queue.** Publishing calls [`DeliveryHandle::enqueue`] (or
//! `Store::enqueue_delivery`, then [`DeliveryHandle::wake`]) with the
//! activity JSON, the local actor whose key signs it, and the inboxes: a
//! shared inbox for every server that has one, so each server gets one POST
//! however many of its users follow us. That is one database transaction
//! and nothing else: publishing never waits on the network. The queue keeps
//! the activity once and one row per (activity, inbox); the same inbox twice
//! is one delivery, and an activity is never queued twice for one inbox.
//!
//! **The worker.** [`Worker::run`] claims due rows under a lease (5 minutes
//! by default), signs each POST and sends it through one pooled HTTP client, at most
//! 64 requests at once and 8 per host per process. Each request carries
//! `User-Agent: Gazette/<version> (+<public URL>)`; connecting may take 10 s
//! and the whole request 30 s; redirects are not followed. The client is the
//! instance's one outgoing client (`gazette-http`, passed to
//! [`Worker::with_client`]), so deliveries share its connections and its
//! address guard with everything else the instance fetches. Results are
//! written back in batches. A worker that dies (`kill -9`) leaves its claimed
//! rows leased; when the lease ends any worker sends them. With PostgreSQL
//! several `gazette serve` processes share the queue: claiming uses
//! `FOR UPDATE SKIP LOCKED`, so no row is claimed twice, and a worker never
//! starts a request it could not finish before its lease ends, so no row is
//! sent twice by two workers. SQLite takes one process.
//!
//! **Signatures.** Each POST is signed with the actor's RSA key (key id
//! `<actor>#main-key`), with RFC 9421 (`rsa-v1_5-sha256` over `@method`,
//! `@target-uri`, `@authority` and `content-digest`, `Content-Digest:
//! sha-256=:…:`, `created`, `keyid`, `alg`) or draft-cavage (`rsa-sha256`
//! over `(request-target) host date digest`, `Digest: SHA-256=…`). With
//! `DeliveryConfig::signature` at its default, the double-knock: RFC 9421
//! first, or what the host accepted last; a 400 or 401 is answered at once,
//! once, with the other profile (or with RFC 9421 covering what an
//! `Accept-Signature` field asks for); what a 2xx answered is remembered per
//! host in the store, and RFC 9421 is tried again on a host remembered as
//! draft-cavage after `signature_recheck` (7 days). The rule itself is
//! `gazette_federation::signatures::knock`, shared with signed GETs.
//!
//! **What is retried.** As Mastodon decides: a 2xx is delivered; network
//! errors, timeouts, 5xx (but 501), 401 (the remote server may not have our
//! key yet), 408 and 429 are retried; any other 4xx, 501 and redirects are
//! final, and the delivery is given up at once. So is a delivery the worker
//! refuses to send: an inbox that resolves only to loopback, private,
//! link-local, multicast, unique-local or other non-public addresses (unless
//! `allow_private_addresses` is set; the check is in the DNS resolver, so it
//! holds for the address actually connected to), or an actor without a key.
//!
//! **The retry schedule.** Sidekiq's, which Mastodon uses: after failure n
//! the next attempt waits (n−1)⁴ + 15 + rand(0..10)·n seconds; the first
//! attempt and 16 retries span about 2.1 days, then the delivery is given
//! up. A delivery still failing 3 days after it was queued is given up at
//! its next failure.
//!
//! **Circuit breaker and unavailable hosts.** Five failures in a row on one
//! host open its circuit for a minute, doubling with every further failure
//! up to an hour; while it is open, that host's deliveries wait (without
//! using retries) and others go on. Any answer from the host, even a 4xx,
//! closes it. A host that has failed without a single success for 7 days
//! is marked unavailable: its pending deliveries are given up and new ones
//! are not queued, until it speaks to us again (a valid signed activity
//! from it: call `Store::host_alive`).
//!
//! **Visibility.** `Store::delivery_stats` gives per host: pending, retrying,
//! delivered, given up, the breaker's state and the last error (for
//! `gazette deliveries` and the API); `Store::purge_delivered` drops
//! finished rows after a while.

mod config;
mod error;
mod send;
mod signing;
mod worker;

pub use config::DeliveryConfig;
pub use error::DeliveryError;
pub use gazette_federation::signatures::knock::SignaturePolicy;
pub use gazette_http::{ForbiddenAddress, is_forbidden};
pub use gazette_store::SignatureScheme;
pub use signing::{
    KeyChanges, KeyError, KeyPem, KeySource, Rfc9421Post, SignError, SignedGet, SignedHeaders, Signer, SigningKey,
};
pub use worker::{DeliveryHandle, Worker};
