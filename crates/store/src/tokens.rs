//! API bearer tokens: only a SHA-256 of each secret is stored.

use gazette_core::ApiToken;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::ids::{new_id, new_secret, sha256_hex};
use crate::time::{from_db, from_db_opt, now, to_db};

impl Store {
    /// Creates a token; the secret is returned once and never stored.
    pub async fn create_token(&self, name: &str) -> StoreResult<(ApiToken, String)> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid {
                field: "name",
                message: "a token needs a name".into(),
            });
        }
        let secret = new_secret();
        let token = ApiToken {
            id: new_id(),
            name: name.to_owned(),
            created_at: now(),
            last_used_at: None,
            revoked_at: None,
        };
        sqlx::query("INSERT INTO api_tokens (id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&token.id)
            .bind(&token.name)
            .bind(sha256_hex(secret.as_bytes()))
            .bind(to_db(token.created_at))
            .execute(self.writer())
            .await?;
        Ok((token, secret))
    }

    /// The live token with this secret, if any; records its use.
    pub async fn verify_token(&self, secret: &str) -> StoreResult<Option<ApiToken>> {
        let row = sqlx::query(
            "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens
             WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(sha256_hex(secret.as_bytes()))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let token = token_from_row(&row)?;
        let t = now();
        // Only write when the recorded use is a minute old: keeps API reads read-only.
        if token.last_used_at.is_none_or(|last| (t - last).num_seconds() >= 60) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(to_db(t))
                .bind(&token.id)
                .execute(self.writer())
                .await?;
        }
        Ok(Some(token))
    }

    /// Revokes the token with this id or name.
    pub async fn revoke_token(&self, id_or_name: &str) -> StoreResult<ApiToken> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens
             WHERE (id = $1 OR name = $1) AND revoked_at IS NULL",
        )
        .bind(id_or_name)
        .fetch_all(&self.pool)
        .await?;
        let token = match rows.as_slice() {
            [] => return Err(StoreError::not_found("token", id_or_name)),
            [one] => token_from_row(one)?,
            _ => {
                return Err(StoreError::Conflict {
                    field: "token",
                    message: format!("several live tokens are named `{id_or_name}`: give the token id"),
                });
            }
        };
        let t = now();
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(to_db(t))
            .bind(&token.id)
            .execute(self.writer())
            .await?;
        Ok(ApiToken {
            revoked_at: Some(t),
            ..token
        })
    }

    pub async fn list_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_from_row).collect()
    }
}

fn token_from_row(r: &AnyRow) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        created_at: from_db(r.try_get("created_at")?)?,
        last_used_at: from_db_opt(r.try_get("last_used_at")?)?,
        revoked_at: from_db_opt(r.try_get("revoked_at")?)?,
    })
}
