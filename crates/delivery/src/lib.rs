//! Persistent outbound delivery of signed ActivityPub activities.
