//! Accounts of the editors' web interface: users with a role, server-side
//! sessions (only a hash of the cookie's secret is kept, with the session's
//! CSRF token and expiry), one-time password reset links, and the sign-in
//! attempts that rate limiting counts.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::ids::{new_id, random_hex, sha256_hex};
use crate::password;
use crate::time::{from_db, from_db_opt, now, to_db};

/// What a user may do (see docs/ADMIN.md for the full table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Writes articles as their own author profile; cannot publish.
    Author,
    /// Everything about content, followers and moderation.
    Editor,
    /// Also users, API tokens and the organisation profile.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Editor, Role::Author];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Author => "author",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    /// Editors and admins handle all content and moderation.
    pub fn is_editor(self) -> bool {
        self >= Role::Editor
    }
}

/// A person who signs in at `/admin`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The author profile an `author` writes as (others may have one too).
    pub author_id: Option<String>,
    /// Interface language chosen by the user (`en`, `fr`); none: the browser's.
    pub locale: Option<String>,
    /// Time zone the user reads and types admin times in (an IANA name);
    /// none: the instance's.
    pub time_zone: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// False until a password is set (through a reset link).
    pub has_password: bool,
    /// Where one-time password links are mailed when `[mail]` is configured.
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A user before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Author profile (id or username) to link.
    pub author: Option<String>,
}

/// A live session and whose it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user: User,
    /// Every form of this session posts this back.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Failed sign-ins counted for rate limiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginFailures {
    /// For this account since its last success.
    pub account: i64,
    /// From this address.
    pub address: i64,
}

/// Sign-in attempts counted so far in their window, this one included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginAttempts {
    /// For this account (since its last success).
    pub account: i64,
    /// From this address (successes given back).
    pub address: i64,
}

/// Sessions are extended at most this often, so reading a page rarely writes.
const SESSION_TOUCH_EVERY: i64 = 60;

/// Lowercase letters, digits, `_`, `.` and `-`, at most 64: what fits in logs and URLs.
pub fn normalise_username(raw: &str) -> StoreResult<String> {
    let u = raw.trim().to_lowercase();
    if u.is_empty() {
        return Err(StoreError::Invalid {
            field: "username",
            message: "a user needs a username".into(),
        });
    }
    if u.len() > 64 || !u.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
        return Err(StoreError::Invalid {
            field: "username",
            message: format!(
                "username `{}` may only contain letters, digits, `_`, `.` and `-` (at most 64)",
                raw.trim()
            ),
        });
    }
    Ok(u)
}

/// An `author` writes as their author profile, so they need one.
fn author_profile_needed() -> StoreError {
    StoreError::Invalid {
        field: "author",
        message: "an author-role user writes as an author profile: link one (an author's username)".into(),
    }
}

impl Store {
    /// Creates a user; with `password`, it can sign in at once, otherwise a
    /// reset link must set one. A taken username is a conflict.
    pub async fn create_user(&self, new: &NewUser, password: Option<&str>) -> StoreResult<User> {
        let username = normalise_username(&new.username)?;
        let display_name = match new.display_name.trim() {
            "" => username.clone(),
            n => n.to_owned(),
        };
        let author_id = match new.author.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            None => None,
            Some(a) => Some(
                self.find_author(a)
                    .await?
                    .ok_or_else(|| StoreError::Invalid {
                        field: "author",
                        message: format!("no author `{a}` (see the authors' usernames)"),
                    })?
                    .id,
            ),
        };
        if new.role == Role::Author && author_id.is_none() {
            return Err(author_profile_needed());
        }
        let hash = match password {
            Some(p) => password::hash_blocking(p).await?,
            None => String::new(),
        };
        let t = now();
        let id = new_id();
        sqlx::query(
            "INSERT INTO users (id, username, display_name, password_hash, role, author_id, locale, disabled_at,
                                created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7, $7)",
        )
        .bind(&id)
        .bind(&username)
        .bind(&display_name)
        .bind(&hash)
        .bind(new.role.as_str())
        .bind(&author_id)
        .bind(to_db(t))
        .execute(self.writer())
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Conflict {
                    field: "username",
                    message: format!("there is already a user `{username}`"),
                }
            } else {
                e.into()
            }
        })?;
        self.get_user(&id).await
    }

    /// A user by id or username.
    pub async fn find_user(&self, id_or_username: &str) -> StoreResult<Option<User>> {
        let key = id_or_username.trim().to_lowercase();
        let row = sqlx::query(
            "SELECT id, username, display_name, password_hash, role, author_id, locale, time_zone, disabled_at,
                    created_at, updated_at, email FROM users WHERE id = $1 OR username = $1",
        )
        .bind(&key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn get_user(&self, id_or_username: &str) -> StoreResult<User> {
        self.find_user(id_or_username)
            .await?
            .ok_or_else(|| StoreError::not_found("user", id_or_username))
    }

    /// Every user, by username.
    pub async fn list_users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(
            "SELECT id, username, display_name, password_hash, role, author_id, locale, time_zone, disabled_at,
                    created_at, updated_at, email FROM users ORDER BY username",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Sets (or, with an empty address, clears) the address a user's
    /// one-time links are mailed to.
    pub async fn set_user_email(&self, id_or_username: &str, email: &str) -> StoreResult<User> {
        let email = email.trim();
        if !email.is_empty() && !plausible_email(email) {
            return Err(StoreError::Invalid {
                field: "email",
                message: format!("`{email}` is not an email address such as name@example.org"),
            });
        }
        let user = self.get_user(id_or_username).await?;
        sqlx::query("UPDATE users SET email = $1, updated_at = $2 WHERE id = $3")
            .bind(Some(email).filter(|e| !e.is_empty()))
            .bind(to_db(now()))
            .bind(&user.id)
            .execute(self.writer())
            .await?;
        self.get_user(&user.id).await
    }

    pub async fn count_users(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Changes a user's role. The last active admin cannot be demoted, and
    /// only a user linked to an author profile can be an author.
    pub async fn set_user_role(&self, id_or_username: &str, role: Role) -> StoreResult<User> {
        let user = self.get_user(id_or_username).await?;
        if role == Role::Author && user.author_id.is_none() {
            return Err(author_profile_needed());
        }
        if user.role == Role::Admin && role != Role::Admin && user.disabled_at.is_none() {
            self.keep_an_admin(&user.id).await?;
        }
        sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
            .bind(role.as_str())
            .bind(to_db(now()))
            .bind(&user.id)
            .execute(self.writer())
            .await?;
        self.get_user(&user.id).await
    }

    /// Links a user to an author profile (id or username), or unlinks with
    /// `None` (not an author-role user: they write as that profile).
    pub async fn set_user_author(&self, id_or_username: &str, author: Option<&str>) -> StoreResult<User> {
        let user = self.get_user(id_or_username).await?;
        let author_id = match author {
            None if user.role == Role::Author => return Err(author_profile_needed()),
            None => None,
            Some(a) => Some(
                self.find_author(a)
                    .await?
                    .ok_or_else(|| StoreError::Invalid {
                        field: "author",
                        message: format!("no author `{a}` (see the authors' usernames)"),
                    })?
                    .id,
            ),
        };
        sqlx::query("UPDATE users SET author_id = $1, updated_at = $2 WHERE id = $3")
            .bind(&author_id)
            .bind(to_db(now()))
            .bind(&user.id)
            .execute(self.writer())
            .await?;
        self.get_user(&user.id).await
    }

    /// Disables (and signs out everywhere) or re-enables a user. The last
    /// active admin cannot be disabled.
    pub async fn set_user_disabled(&self, id_or_username: &str, disabled: bool) -> StoreResult<User> {
        let user = self.get_user(id_or_username).await?;
        if disabled && user.role == Role::Admin && user.disabled_at.is_none() {
            self.keep_an_admin(&user.id).await?;
        }
        let t = now();
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET disabled_at = $1, updated_at = $2 WHERE id = $3")
            .bind(disabled.then(|| to_db(t)))
            .bind(to_db(t))
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        if disabled {
            sqlx::query("DELETE FROM user_sessions WHERE user_id = $1")
                .bind(&user.id)
                .execute(&mut *tx)
                .await?;
            // Their API tokens go with them (enabling them again does not
            // bring the tokens back).
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                .bind(to_db(t))
                .bind(&user.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.get_user(&user.id).await
    }

    /// The interface language a user chose (`None`: follow the browser).
    pub async fn set_user_locale(&self, user_id: &str, locale: Option<&str>) -> StoreResult<()> {
        sqlx::query("UPDATE users SET locale = $1, updated_at = $2 WHERE id = $3")
            .bind(locale)
            .bind(to_db(now()))
            .bind(user_id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// The time zone a user chose (an IANA name, stored as the tz database
    /// spells it; `None`: the instance's). An unknown name is refused.
    pub async fn set_user_time_zone(&self, user_id: &str, time_zone: Option<&str>) -> StoreResult<()> {
        let zone = match time_zone {
            Some(name) => Some(
                gazette_core::local_time::parse_zone("time_zone", name)
                    .map_err(|e| StoreError::Invalid {
                        field: "time_zone",
                        message: e.message,
                    })?
                    .name(),
            ),
            None => None,
        };
        sqlx::query("UPDATE users SET time_zone = $1, updated_at = $2 WHERE id = $3")
            .bind(zone)
            .bind(to_db(now()))
            .bind(user_id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Refuses to remove `user_id` from the admins when no other active admin remains.
    async fn keep_an_admin(&self, user_id: &str) -> StoreResult<()> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL AND id <> $1")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?;
        let others: i64 = row.try_get("n")?;
        if others == 0 {
            return Err(StoreError::Conflict {
                field: "role",
                message: "this is the last active admin: make someone else admin first".into(),
            });
        }
        Ok(())
    }

    /// The active user with this username and password, if they match. The
    /// same work is done for unknown usernames, so timing does not tell
    /// which usernames exist.
    pub async fn check_login(&self, username: &str, password: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT id, password_hash FROM users WHERE username = $1 AND disabled_at IS NULL")
            .bind(username.trim().to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        let (id, hash) = match &row {
            Some(r) => (
                Some(r.try_get::<String, _>("id")?),
                r.try_get::<String, _>("password_hash")?,
            ),
            None => (None, DUMMY_HASH.to_owned()),
        };
        let hash = if hash.is_empty() { DUMMY_HASH.to_owned() } else { hash };
        let ok = password::verify_blocking(password, &hash).await;
        match (ok, id) {
            (true, Some(id)) => Ok(Some(self.get_user(&id).await?)),
            _ => Ok(None),
        }
    }

    /// Sets a new password and ends every session of the user.
    pub async fn set_user_password(&self, id_or_username: &str, new_password: &str) -> StoreResult<User> {
        let user = self.get_user(id_or_username).await?;
        let hash = password::hash_blocking(new_password).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(&hash)
            .bind(to_db(now()))
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM user_sessions WHERE user_id = $1")
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.get_user(&user.id).await
    }

    // -- sessions ---------------------------------------------------------

    /// Opens a session lasting `idle` past its last use (and never past
    /// `max_age` from now); returns the cookie secret, shown nowhere else.
    pub async fn create_session(
        &self,
        user_id: &str,
        idle: Duration,
        max_age: Duration,
    ) -> StoreResult<(String, Session)> {
        let secret = random_hex(32);
        let csrf = random_hex(32);
        let t = now();
        let expires = t + idle.min(max_age);
        sqlx::query(
            "INSERT INTO user_sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(sha256_hex(secret.as_bytes()))
        .bind(user_id)
        .bind(&csrf)
        .bind(to_db(t))
        .bind(to_db(expires))
        .execute(self.writer())
        .await?;
        // Expired sessions are dropped now and then, here where it costs least.
        sqlx::query("DELETE FROM user_sessions WHERE expires_at < $1")
            .bind(to_db(t))
            .execute(self.writer())
            .await?;
        let user = self.get_user(user_id).await?;
        Ok((
            secret,
            Session {
                user,
                csrf_token: csrf,
                expires_at: expires,
            },
        ))
    }

    /// The live session for a cookie secret, extended by `idle` (up to
    /// `max_age` after it began); `None` when unknown, expired or the user
    /// is disabled.
    pub async fn find_session(&self, secret: &str, idle: Duration, max_age: Duration) -> StoreResult<Option<Session>> {
        let t = now();
        let hash = sha256_hex(secret.as_bytes());
        let row = sqlx::query(
            "SELECT user_id, csrf_token, created_at, last_seen_at, expires_at FROM user_sessions
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(&hash)
        .bind(to_db(t))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user_id: String = row.try_get("user_id")?;
        let Some(user) = self.find_user(&user_id).await? else {
            return Ok(None);
        };
        if user.disabled_at.is_some() {
            return Ok(None);
        }
        let created = from_db(row.try_get("created_at")?)?;
        let last_seen = from_db(row.try_get("last_seen_at")?)?;
        let mut expires_at = from_db(row.try_get("expires_at")?)?;
        if (t - last_seen).num_seconds() >= SESSION_TOUCH_EVERY {
            expires_at = (t + idle).min(created + max_age);
            sqlx::query("UPDATE user_sessions SET last_seen_at = $1, expires_at = $2 WHERE token_hash = $3")
                .bind(to_db(t))
                .bind(to_db(expires_at))
                .bind(&hash)
                .execute(self.writer())
                .await?;
        }
        Ok(Some(Session {
            user,
            csrf_token: row.try_get("csrf_token")?,
            expires_at,
        }))
    }

    /// Ends the session with this cookie secret (signing out).
    pub async fn delete_session(&self, secret: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM user_sessions WHERE token_hash = $1")
            .bind(sha256_hex(secret.as_bytes()))
            .execute(self.writer())
            .await?;
        Ok(())
    }

    // -- password resets --------------------------------------------------

    /// A one-time secret that lets the user set a password within `valid`.
    /// Earlier unused links of the user stop working.
    pub async fn create_password_reset(&self, id_or_username: &str, valid: Duration) -> StoreResult<(User, String)> {
        let user = self.get_user(id_or_username).await?;
        let secret = random_hex(32);
        let t = now();
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM password_resets WHERE user_id = $1 OR expires_at < $2")
            .bind(&user.id)
            .bind(to_db(t))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at, used_at)
             VALUES ($1, $2, $3, $4, NULL)",
        )
        .bind(sha256_hex(secret.as_bytes()))
        .bind(&user.id)
        .bind(to_db(t))
        .bind(to_db(t + valid))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((user, secret))
    }

    /// Whose reset link this is, while it is unused and unexpired.
    pub async fn find_password_reset(&self, secret: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT user_id FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(sha256_hex(secret.as_bytes()))
        .bind(to_db(now()))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => self.find_user(&r.try_get::<String, _>("user_id")?).await,
            None => Ok(None),
        }
    }

    /// Uses a reset link: sets the password and ends every session, once.
    /// An unknown, used or expired link is `NotFound`; a bad password is
    /// `Invalid` and leaves the link usable.
    pub async fn use_password_reset(&self, secret: &str, new_password: &str) -> StoreResult<User> {
        let hash = password::hash_blocking(new_password).await?;
        let t = now();
        let mut tx = self.begin_write().await?;
        // Marking it used first, conditionally, makes two racing uses one.
        let row = sqlx::query(
            "UPDATE password_resets SET used_at = $1
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
        )
        .bind(to_db(t))
        .bind(sha256_hex(secret.as_bytes()))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::not_found("password reset link", "(given)"));
        };
        let user_id: String = row.try_get("user_id")?;
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(&hash)
            .bind(to_db(t))
            .bind(&user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM user_sessions WHERE user_id = $1")
            .bind(&user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.get_user(&user_id).await
    }

    // -- sign-in attempts -------------------------------------------------

    /// Counts a sign-in attempt for `username` from `ip` *before* its
    /// password is checked, and answers the attempts in the window so far,
    /// this one included. One statement increments and reads both counters
    /// (a row each, locked by the upsert), so concurrent attempts each see
    /// a different count and no more than the limit get through. A counter
    /// whose window began more than `window` ago starts again at 1.
    pub async fn count_login_attempt(&self, username: &str, ip: &str, window: Duration) -> StoreResult<LoginAttempts> {
        let account = format!("account:{}", username.trim().to_lowercase());
        let address = format!("address:{ip}");
        let t = now();
        let rows = sqlx::query(
            "INSERT INTO login_counters (key, window_start, attempts) VALUES ($1, $3, 1), ($2, $3, 1)
             ON CONFLICT (key) DO UPDATE SET
               attempts = CASE WHEN login_counters.window_start <= $4 THEN 1
                               ELSE login_counters.attempts + 1 END,
               window_start = CASE WHEN login_counters.window_start <= $4 THEN $3
                                   ELSE login_counters.window_start END
             RETURNING key, attempts",
        )
        .bind(&account)
        .bind(&address)
        .bind(to_db(t))
        .bind(to_db(t - window))
        .fetch_all(self.writer())
        .await?;
        let mut counts = LoginAttempts { account: 0, address: 0 };
        for row in rows {
            let key: String = row.try_get("key")?;
            let n: i64 = row.try_get("attempts")?;
            if key == account {
                counts.account = n;
            } else if key == address {
                counts.address = n;
            }
        }
        Ok(counts)
    }

    /// After a successful sign-in: the account's count starts again, and
    /// the address gets this attempt back.
    pub async fn forgive_login_attempt(&self, username: &str, ip: &str) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM login_counters WHERE key = $1")
            .bind(format!("account:{}", username.trim().to_lowercase()))
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE login_counters SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0")
            .bind(format!("address:{ip}"))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a sign-in attempt; attempts older than a day are dropped.
    pub async fn record_login_attempt(&self, username: &str, ip: &str, succeeded: bool) -> StoreResult<()> {
        let t = now();
        sqlx::query("INSERT INTO login_attempts (id, username, ip, succeeded, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(new_id())
            .bind(username.trim().to_lowercase())
            .bind(ip)
            .bind(i64::from(succeeded))
            .bind(to_db(t))
            .execute(self.writer())
            .await?;
        sqlx::query("DELETE FROM login_attempts WHERE at < $1")
            .bind(to_db(t - Duration::days(1)))
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Failed sign-ins since `since`: for the account (after its latest
    /// success) and from the address.
    pub async fn login_failures(&self, username: &str, ip: &str, since: DateTime<Utc>) -> StoreResult<LoginFailures> {
        let username = username.trim().to_lowercase();
        let row = sqlx::query(
            "SELECT
               (SELECT COUNT(*) FROM login_attempts f WHERE f.username = $1 AND f.succeeded = 0 AND f.at > $3
                  AND f.at > COALESCE((SELECT MAX(s.at) FROM login_attempts s
                                       WHERE s.username = $1 AND s.succeeded = 1), 0)) AS account,
               (SELECT COUNT(*) FROM login_attempts f WHERE f.ip = $2 AND f.succeeded = 0 AND f.at > $3) AS address",
        )
        .bind(&username)
        .bind(ip)
        .bind(to_db(since))
        .fetch_one(&self.pool)
        .await?;
        Ok(LoginFailures {
            account: row.try_get("account")?,
            address: row.try_get("address")?,
        })
    }
}

/// A valid argon2id hash of a random string, checked against when the
/// username is unknown so that answer takes as long as a wrong password.
pub(crate) const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Qm9xMGt3eVFqQ0RTb2NwZk5ZcmZ0cWRqV2tUb2lSbGI";

/// One `@` with something on both sides, a dot in the domain, and nothing
/// that could break a mail header.
fn plausible_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && e.chars()
                    .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | ',' | ';' | '"' | '\\'))
        }
        None => false,
    }
}

fn user_from_row(r: &AnyRow) -> StoreResult<User> {
    let role: String = r.try_get("role")?;
    let hash: String = r.try_get("password_hash")?;
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("unknown role `{role}`")))?,
        author_id: r.try_get("author_id")?,
        locale: r.try_get("locale")?,
        time_zone: r.try_get("time_zone")?,
        disabled_at: from_db_opt(r.try_get("disabled_at")?)?,
        has_password: !hash.is_empty(),
        email: r.try_get("email")?,
        created_at: from_db(r.try_get("created_at")?)?,
        updated_at: from_db(r.try_get("updated_at")?)?,
    })
}
