//! Times are stored as microseconds since the Unix epoch (portable across backends).

use chrono::{DateTime, Utc};

use crate::error::StoreError;

pub(crate) fn to_db(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn from_db(us: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| StoreError::Corrupt(format!("timestamp {us} out of range")))
}

pub(crate) fn from_db_opt(us: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    us.map(from_db).transpose()
}

pub(crate) fn now() -> DateTime<Utc> {
    // Truncate to what the database keeps, so values read back compare equal.
    from_db(to_db(Utc::now())).unwrap_or_else(|_| Utc::now())
}
