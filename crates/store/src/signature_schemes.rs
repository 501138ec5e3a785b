//! The HTTP signature profile each remote host accepted (migration 33's
//! `signature_schemes`): what the double-knock of deliveries and signed GETs
//! learned, kept so every process and every restart starts with it. Which
//! profile to try is decided in `gazette-federation` (`signatures::knock`);
//! this only keeps the rows.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::time::{from_db, to_db};

/// An HTTP signature profile Gazette signs requests with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    /// RFC 9421 HTTP message signatures (`Signature-Input` and `Signature`).
    Rfc9421,
    /// draft-cavage-http-signatures-12 (`Signature: keyId=…`), as Mastodon
    /// signed before 4.5.
    DraftCavage,
}

impl SignatureScheme {
    /// The name stored and used in settings: `rfc9421` or `draft-cavage`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureScheme::Rfc9421 => "rfc9421",
            SignatureScheme::DraftCavage => "draft-cavage",
        }
    }

    /// The profile named `s` (see [`Self::as_str`]).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "rfc9421" => Some(SignatureScheme::Rfc9421),
            "draft-cavage" => Some(SignatureScheme::DraftCavage),
            _ => None,
        }
    }

    /// The other profile.
    pub fn other(self) -> Self {
        match self {
            SignatureScheme::Rfc9421 => SignatureScheme::DraftCavage,
            SignatureScheme::DraftCavage => SignatureScheme::Rfc9421,
        }
    }
}

/// What a host accepted, and when that was learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownScheme {
    pub scheme: SignatureScheme,
    pub learned_at: DateTime<Utc>,
}

impl Store {
    /// The profile `host` (`name` or `name:port`, lower case) accepted last, if any.
    pub async fn find_signature_scheme(&self, host: &str) -> StoreResult<Option<KnownScheme>> {
        let row = sqlx::query("SELECT scheme, learned_at FROM signature_schemes WHERE host = $1")
            .bind(host)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let name: String = r.try_get("scheme")?;
            Ok(KnownScheme {
                scheme: SignatureScheme::parse(&name).ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "signature_schemes.scheme `{name}`: expected rfc9421 or draft-cavage"
                    ))
                })?,
                learned_at: from_db(r.try_get("learned_at")?)?,
            })
        })
        .transpose()
    }

    /// Records that `host` accepted `scheme` at `at`, in place of what was known.
    pub async fn remember_signature_scheme(
        &self,
        host: &str,
        scheme: SignatureScheme,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO signature_schemes (host, scheme, learned_at) VALUES ($1, $2, $3)
             ON CONFLICT (host) DO UPDATE SET scheme = excluded.scheme, learned_at = excluded.learned_at",
        )
        .bind(host)
        .bind(scheme.as_str())
        .bind(to_db(at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
