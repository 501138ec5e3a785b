//! API bearer tokens: only a SHA-256 of each secret is stored. A token
//! belongs to the user who made it (refused, and revoked, once that user is
//! disabled), may expire, and records when it was last used (at most one
//! write a minute).

use chrono::{DateTime, Utc};
use gazette_core::ApiToken;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::ids::{new_id, new_secret, sha256_hex};
use crate::time::{from_db, from_db_opt, now, to_db};

impl Store {
    /// Creates a token without an owner or expiry; the secret is returned
    /// once and never stored.
    pub async fn create_token(&self, name: &str) -> StoreResult<(ApiToken, String)> {
        self.create_token_for(name, None, None).await
    }

    /// Creates a token belonging to `owner` (an id or username; it must be
    /// an active user), refused from `expires_at` on when given; the secret
    /// is returned once and never stored.
    pub async fn create_token_for(
        &self,
        name: &str,
        owner: Option<&str>,
        expires_at: Option<DateTime<Utc>>,
    ) -> StoreResult<(ApiToken, String)> {
        let owner = match owner {
            Some(o) => {
                let user = self.get_user(o).await?;
                if user.disabled_at.is_some() {
                    return Err(StoreError::Invalid {
                        field: "user",
                        message: format!("user `{}` is disabled: a token of theirs would not work", user.username),
                    });
                }
                Some(user)
            }
            None => None,
        };
        if expires_at.is_some_and(|e| e <= now()) {
            return Err(StoreError::Invalid {
                field: "expires_at",
                message: "a token's expiry must be in the future".into(),
            });
        }
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
            owner: owner.as_ref().map(|u| u.username.clone()),
            created_at: now(),
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        sqlx::query(
            "INSERT INTO api_tokens (id, name, token_hash, created_at, user_id, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&token.id)
        .bind(&token.name)
        .bind(sha256_hex(secret.as_bytes()))
        .bind(to_db(token.created_at))
        .bind(owner.map(|u| u.id))
        .bind(expires_at.map(to_db))
        .execute(self.writer())
        .await?;
        Ok((token, secret))
    }

    /// The live token with this secret, if any: not revoked, not expired,
    /// and its owner (if it has one) not disabled. Records its use.
    pub async fn verify_token(&self, secret: &str) -> StoreResult<Option<ApiToken>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{TOKEN_COLUMNS} WHERE t.token_hash = $1 AND t.revoked_at IS NULL
               AND (t.expires_at IS NULL OR t.expires_at > $2)
               AND (t.user_id IS NULL OR u.disabled_at IS NULL)"
        )))
        .bind(sha256_hex(secret.as_bytes()))
        .bind(to_db(now()))
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
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{TOKEN_COLUMNS} WHERE (t.id = $1 OR t.name = $1) AND t.revoked_at IS NULL"
        )))
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
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{TOKEN_COLUMNS} ORDER BY t.created_at, t.id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_from_row).collect()
    }
}

/// What a token row is read with: its owner's username beside it.
const TOKEN_COLUMNS: &str = "SELECT t.id, t.name, u.username AS owner, t.created_at, t.expires_at,
            t.last_used_at, t.revoked_at
     FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id";

fn token_from_row(r: &AnyRow) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        owner: r.try_get("owner")?,
        created_at: from_db(r.try_get("created_at")?)?,
        expires_at: from_db_opt(r.try_get("expires_at")?)?,
        last_used_at: from_db_opt(r.try_get("last_used_at")?)?,
        revoked_at: from_db_opt(r.try_get("revoked_at")?)?,
    })
}
