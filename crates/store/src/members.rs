//! The network coordinator's members: join requests, decisions, the
//! metadata they publish, backfill progress and health.

use gazette_core::{Backfill, Member, MemberProfile, MemberStatus};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::time::{from_db, from_db_opt, now, to_db};

const MEMBER_COLUMNS: &str = "actor, host, status, handle, name, url, inbox, country, legal_form, sectors, languages, \
     logo, requested_at, decided_at, last_activity_at, signature_failures, rate_limited, backfill_state, \
     backfill_next, backfill_pages, backfill_items, backfill_error, backfill_rerun, backfill_attempts, backfill_retry_at, updated_at";

/// One member's federation health, for the coordinator.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberHealth {
    pub member: Member,
    /// Articles of the member in the feed (visible or not, deletions excluded).
    pub articles: i64,
    /// Deliveries to the member's host not yet sent, and those retrying after failures.
    pub deliveries_pending: i64,
    pub deliveries_failing: i64,
    /// The network actor's follow of the member: `accepted`, `pending`, or
    /// `none` (not followed: its articles do not arrive).
    pub followed: String,
    /// Why the member is stuck, when it is (see
    /// `gazette_federation::network::retry`): `follow_given_up`,
    /// `follow_failing`, `follow_unanswered`, `not_followed` or
    /// `backfill_failed`. Filled by the federation layer; `None` here.
    pub stuck: Option<String>,
    /// The last error behind `stuck` (the follow's delivery, or the backfill).
    pub last_error: Option<String>,
}

impl Store {
    /// Records that `actor` asks to join (or is invited, with `status`
    /// approved). A member already approved or suspended keeps its status;
    /// one rejected or removed asks again. The profile is refreshed.
    pub async fn request_membership(
        &self,
        actor: &str,
        host: &str,
        handle: &str,
        inbox: &str,
        profile: &MemberProfile,
        status: MemberStatus,
    ) -> StoreResult<Member> {
        let t = to_db(now());
        let decided = (status != MemberStatus::Requested).then_some(t);
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO network_members (actor, host, status, handle, name, url, inbox, country, legal_form, sectors,
                languages, logo, requested_at, decided_at, backfill_state, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'pending', $13)
             ON CONFLICT (actor) DO UPDATE SET host = excluded.host, handle = excluded.handle, name = excluded.name,
               url = excluded.url, inbox = excluded.inbox, country = excluded.country,
               legal_form = excluded.legal_form, sectors = excluded.sectors, languages = excluded.languages,
               logo = excluded.logo, updated_at = excluded.updated_at,
               status = CASE WHEN network_members.status IN ('approved', 'suspended') THEN network_members.status
                             ELSE excluded.status END,
               decided_at = CASE WHEN network_members.status IN ('approved', 'suspended')
                                 THEN network_members.decided_at ELSE excluded.decided_at END",
        )
        .bind(actor)
        .bind(host)
        .bind(status.as_str())
        .bind(handle)
        .bind(&profile.name)
        .bind(&profile.url)
        .bind(inbox)
        .bind(&profile.country)
        .bind(&profile.legal_form)
        .bind(json_list(&profile.sectors))
        .bind(json_list(&profile.languages))
        .bind(&profile.logo)
        .bind(t)
        .bind(decided)
        .execute(&mut *tx)
        .await?;
        replace_sectors(&mut tx, actor, &profile.sectors).await?;
        tx.commit().await?;
        self.members.clear();
        self.get_member(actor).await
    }

    /// Refreshes what a member says about itself.
    pub async fn update_member_profile(&self, actor: &str, profile: &MemberProfile) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE network_members SET name = $2, url = $3, country = $4, legal_form = $5, sectors = $6,
               languages = $7, logo = $8, updated_at = $9 WHERE actor = $1",
        )
        .bind(actor)
        .bind(&profile.name)
        .bind(&profile.url)
        .bind(&profile.country)
        .bind(&profile.legal_form)
        .bind(json_list(&profile.sectors))
        .bind(json_list(&profile.languages))
        .bind(&profile.logo)
        .bind(to_db(now()))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            replace_sectors(&mut tx, actor, &profile.sectors).await?;
        }
        tx.commit().await?;
        self.members.clear();
        Ok(done.rows_affected() > 0)
    }

    /// Sets a member's status (the coordinator's decision); approving
    /// (again) queues a backfill of its outbox from the first page (what it
    /// published while it was not approved comes in too).
    pub async fn set_member_status(&self, actor: &str, status: MemberStatus) -> StoreResult<Member> {
        let t = to_db(now());
        let done = sqlx::query(
            "UPDATE network_members SET status = $2, decided_at = $3, updated_at = $3,
               backfill_rerun = CASE WHEN $2 = 'approved' THEN 1 ELSE backfill_rerun END
             WHERE actor = $1",
        )
        .bind(actor)
        .bind(status.as_str())
        .bind(t)
        .execute(self.writer())
        .await?;
        self.members.clear();
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("network member", actor));
        }
        self.get_member(actor).await
    }

    pub async fn find_member(&self, actor: &str) -> StoreResult<Option<Member>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MEMBER_COLUMNS} FROM network_members WHERE actor = $1"
        )))
        .bind(actor)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| member_from_row(&r)).transpose()
    }

    pub async fn get_member(&self, actor: &str) -> StoreResult<Member> {
        self.find_member(actor)
            .await?
            .ok_or_else(|| StoreError::not_found("network member", actor))
    }

    /// A member by actor id or handle (`name@host`, with or without a leading `@`).
    pub async fn find_member_by_name(&self, actor_or_handle: &str) -> StoreResult<Option<Member>> {
        let key = actor_or_handle.trim();
        let handle = key.trim_start_matches('@').to_lowercase();
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MEMBER_COLUMNS} FROM network_members WHERE actor = $1 OR LOWER(handle) = $2"
        )))
        .bind(key)
        .bind(handle)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| member_from_row(&r)).transpose()
    }

    /// The member on `host`, whatever its status: the approved one when
    /// there is one (the first approved), else the first by name. What the
    /// inbox asks of every member article, so the answer is reused for a
    /// moment (see [`crate::moment_cache`]); the writes here forget it.
    pub async fn member_on_host(&self, host: &str) -> StoreResult<Option<Member>> {
        let read = async {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {MEMBER_COLUMNS} FROM network_members WHERE host = $1
                 ORDER BY CASE WHEN status = 'approved' THEN 0 ELSE 1 END,
                   CASE WHEN status = 'approved' THEN decided_at END, name, actor
                 LIMIT 1"
            )))
            .bind(host)
            .fetch_optional(&self.pool)
            .await?;
            row.map(|r| member_from_row(&r)).transpose()
        };
        self.members.get_or_read(host, read).await
    }

    /// Members, optionally of one status, by name.
    pub async fn list_members(&self, status: Option<MemberStatus>) -> StoreResult<Vec<Member>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MEMBER_COLUMNS} FROM network_members WHERE ($1 = '' OR status = $1) ORDER BY name, actor"
        )))
        .bind(status.map(MemberStatus::as_str).unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(member_from_row).collect()
    }

    /// Notes that a valid activity from the member's host just arrived.
    pub async fn touch_member(&self, actor: &str) -> StoreResult<()> {
        let at = now();
        sqlx::query("UPDATE network_members SET last_activity_at = $2 WHERE actor = $1")
            .bind(actor)
            .bind(to_db(at))
            .execute(self.writer())
            .await?;
        self.members.update(|m| {
            if let Some(m) = m
                && m.actor == actor
            {
                m.last_activity_at = Some(at);
            }
        });
        Ok(())
    }

    /// Counts a request from the member's host whose signature did not verify.
    pub async fn count_member_signature_failure(&self, host: &str) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE network_members SET signature_failures = signature_failures + 1 WHERE host = $1")
                .bind(host)
                .execute(self.writer())
                .await?;
        self.members.clear();
        Ok(done.rows_affected() > 0)
    }

    /// Approved members whose backfill is still to run, to resume, to run
    /// again from the first page, or failed and due to be tried again.
    pub async fn members_to_backfill(&self) -> StoreResult<Vec<Member>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MEMBER_COLUMNS} FROM network_members
             WHERE status = 'approved' AND (backfill_state = 'pending' OR backfill_rerun = 1
               OR (backfill_state = 'failed' AND backfill_retry_at <= $1))
             ORDER BY decided_at"
        )))
        .bind(to_db(now()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(member_from_row).collect()
    }

    /// Asks for the member's outbox to be read again from its first page
    /// once the backfill in progress (if any) ends; false when the member is
    /// unknown or not approved.
    pub async fn rerun_backfill(&self, actor: &str) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE network_members SET backfill_rerun = 1 WHERE actor = $1 AND status = 'approved'")
                .bind(actor)
                .execute(self.writer())
                .await?;
        self.members.clear();
        Ok(done.rows_affected() > 0)
    }

    /// Takes the request of [`Store::rerun_backfill`]: true (once) when there was one.
    pub async fn take_backfill_rerun(&self, actor: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE network_members SET backfill_rerun = 0 WHERE actor = $1 AND backfill_rerun = 1")
            .bind(actor)
            .execute(self.writer())
            .await?;
        self.members.clear();
        Ok(done.rows_affected() > 0)
    }

    /// Counts an activity from the approved member on `host` refused for its rate.
    pub async fn count_member_rate_limited(&self, host: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE network_members SET rate_limited = rate_limited + 1 WHERE host = $1 AND status = 'approved'",
        )
        .bind(host)
        .execute(self.writer())
        .await?;
        self.members.clear();
        Ok(done.rows_affected() > 0)
    }

    /// The member's organisation stopped following the network actor: it is
    /// `left` (its articles hidden, kept) unless it was already out
    /// (rejected, removed). Returns the member when its status changed.
    pub async fn mark_member_left(&self, actor: &str) -> StoreResult<Option<Member>> {
        let done = sqlx::query(
            "UPDATE network_members SET status = 'left', decided_at = $2, updated_at = $2
             WHERE actor = $1 AND status IN ('requested', 'approved', 'suspended')",
        )
        .bind(actor)
        .bind(to_db(now()))
        .execute(self.writer())
        .await?;
        self.members.clear();
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.find_member(actor).await
    }

    /// Saves backfill progress after a page (so it resumes there), or its
    /// end (with, after a failure, when it is tried again).
    pub async fn save_backfill(&self, actor: &str, backfill: &Backfill) -> StoreResult<()> {
        sqlx::query(
            "UPDATE network_members SET backfill_state = $2, backfill_next = $3, backfill_pages = $4,
               backfill_items = $5, backfill_error = $6, backfill_attempts = $7, backfill_retry_at = $8
             WHERE actor = $1",
        )
        .bind(actor)
        .bind(&backfill.state)
        .bind(&backfill.next)
        .bind(backfill.pages)
        .bind(backfill.items)
        .bind(&backfill.error)
        .bind(backfill.attempts)
        .bind(backfill.retry_at.map(to_db))
        .execute(self.writer())
        .await?;
        self.members.clear();
        Ok(())
    }

    /// The coordinator asks for an approved member's backfill to be tried
    /// again now: unless it is done, it runs at the next poll, resuming
    /// where it stopped, its failure count and error cleared. True when
    /// one was queued.
    pub async fn retry_backfill(&self, actor: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE network_members SET backfill_state = 'pending', backfill_error = NULL, backfill_attempts = 0,
               backfill_retry_at = NULL
             WHERE actor = $1 AND status = 'approved' AND backfill_state <> 'done'",
        )
        .bind(actor)
        .execute(self.writer())
        .await?;
        self.members.clear();
        Ok(done.rows_affected() > 0)
    }

    /// Every member with its article count, the deliveries waiting for its
    /// host, and whether `network_actor` follows it.
    pub async fn member_health(&self, network_actor: &str) -> StoreResult<Vec<MemberHealth>> {
        let members = self.list_members(None).await?;
        let mut out = Vec::with_capacity(members.len());
        for member in members {
            let row = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM network_items WHERE member = $1 AND deleted_at IS NULL) AS articles,
                        (SELECT COUNT(*) FROM deliveries WHERE host = $2 AND status = 'pending' AND attempts = 0)
                          AS pending,
                        (SELECT COUNT(*) FROM deliveries WHERE host = $2 AND status = 'pending' AND attempts > 0)
                          AS failing,
                        (SELECT MIN(status) FROM following WHERE local_actor = $3 AND target = $1) AS followed",
            )
            .bind(&member.actor)
            .bind(&member.host)
            .bind(network_actor)
            .fetch_one(&self.pool)
            .await?;
            out.push(MemberHealth {
                articles: row.try_get("articles")?,
                deliveries_pending: row.try_get("pending")?,
                deliveries_failing: row.try_get("failing")?,
                followed: row
                    .try_get::<Option<String>, _>("followed")?
                    .unwrap_or_else(|| "none".to_owned()),
                stuck: None,
                last_error: None,
                member,
            });
        }
        Ok(out)
    }
}

async fn replace_sectors(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    actor: &str,
    sectors: &[String],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM network_member_sectors WHERE member = $1")
        .bind(actor)
        .execute(&mut **tx)
        .await?;
    for sector in sectors {
        sqlx::query("INSERT INTO network_member_sectors (member, sector) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(actor)
            .bind(sector)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub(crate) fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

fn parse_list(s: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("list {s}: {e}")))
}

fn member_from_row(r: &AnyRow) -> StoreResult<Member> {
    let status: String = r.try_get("status")?;
    Ok(Member {
        actor: r.try_get("actor")?,
        host: r.try_get("host")?,
        status: MemberStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("member status {status}")))?,
        handle: r.try_get("handle")?,
        inbox: r.try_get("inbox")?,
        profile: MemberProfile {
            name: r.try_get("name")?,
            url: r.try_get("url")?,
            country: r.try_get("country")?,
            legal_form: r.try_get("legal_form")?,
            sectors: parse_list(&r.try_get::<String, _>("sectors")?)?,
            languages: parse_list(&r.try_get::<String, _>("languages")?)?,
            logo: r.try_get("logo")?,
        },
        requested_at: from_db(r.try_get("requested_at")?)?,
        decided_at: from_db_opt(r.try_get("decided_at")?)?,
        last_activity_at: from_db_opt(r.try_get("last_activity_at")?)?,
        signature_failures: r.try_get("signature_failures")?,
        rate_limited: r.try_get("rate_limited")?,
        backfill: Backfill {
            state: r.try_get("backfill_state")?,
            next: r.try_get("backfill_next")?,
            pages: r.try_get("backfill_pages")?,
            items: r.try_get("backfill_items")?,
            error: r.try_get("backfill_error")?,
            rerun: r.try_get::<i64, _>("backfill_rerun")? != 0,
            attempts: r.try_get("backfill_attempts")?,
            retry_at: from_db_opt(r.try_get("backfill_retry_at")?)?,
        },
        updated_at: from_db(r.try_get("updated_at")?)?,
    })
}
