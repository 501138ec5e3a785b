//! Activities the inbox received, by type and outcome, for `/metrics`.
//! Both labels take a fixed set of values: a type outside [`TYPES`]
//! counts as `other`, so a sender cannot make up new series.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;

/// The activity types counted by name; the last one takes the rest.
pub const TYPES: [&str; 16] = [
    "Create",
    "Update",
    "Delete",
    "Follow",
    "Accept",
    "Reject",
    "Undo",
    "Like",
    "Announce",
    "Flag",
    "Add",
    "Remove",
    "Move",
    "Block",
    "QuoteRequest",
    "other",
];

/// What became of an activity: processed (`accepted`), refused by a check
/// of ours (`refused`), its signature not verified (`signature_failed`,
/// a 401), or failed on our side (`error`, a 5xx).
pub const OUTCOMES: [&str; 4] = ["accepted", "refused", "signature_failed", "error"];

/// The counters, one per type and outcome.
#[derive(Default)]
pub struct InboxCounts([[AtomicU64; OUTCOMES.len()]; TYPES.len()]);

impl InboxCounts {
    /// Counts one activity of type `kind` that was answered `status`.
    pub fn record(&self, kind: &str, status: StatusCode) {
        let t = TYPES.iter().position(|k| *k == kind).unwrap_or(TYPES.len() - 1);
        let o = if status.is_success() {
            0
        } else if status == StatusCode::UNAUTHORIZED {
            2
        } else if status.is_server_error() {
            3
        } else {
            1
        };
        self.0[t][o].fetch_add(1, Ordering::Relaxed);
    }

    /// Every (type, outcome, count) with a count above zero.
    pub fn snapshot(&self) -> Vec<(&'static str, &'static str, u64)> {
        let mut out = Vec::new();
        for (t, row) in self.0.iter().enumerate() {
            for (o, n) in row.iter().enumerate() {
                let n = n.load(Ordering::Relaxed);
                if n > 0 {
                    out.push((TYPES[t], OUTCOMES[o], n));
                }
            }
        }
        out
    }

    /// Activities whose signature did not verify, of every type.
    pub fn signature_failures(&self) -> u64 {
        self.0.iter().map(|row| row[2].load(Ordering::Relaxed)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_types_count_as_other_and_outcomes_follow_the_status() {
        let c = InboxCounts::default();
        c.record("Follow", StatusCode::ACCEPTED);
        c.record("Follow", StatusCode::ACCEPTED);
        c.record("Made-Up\n", StatusCode::FORBIDDEN);
        c.record("Create", StatusCode::UNAUTHORIZED);
        c.record("Like", StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            c.snapshot(),
            [
                ("Create", "signature_failed", 1),
                ("Follow", "accepted", 2),
                ("Like", "error", 1),
                ("other", "refused", 1),
            ]
        );
        assert_eq!(c.signature_failures(), 1);
    }
}
