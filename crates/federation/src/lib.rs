//! ActivityPub federation for Gazette.
