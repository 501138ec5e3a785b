//! Safety lists: blocked domains, blocked actors and the allowlist (the only
//! domains an instance in allowlist mode federates with), and the purge of
//! everything stored from a blocked domain.
//!
//! Domains are kept normalised ([`normalise_domain`]): lower case, no scheme,
//! path or trailing dot. An entry covers the domain and its subdomains
//! (`example.org` covers `social.example.org`), on any port unless it names
//! one (`localhost:8001` covers that port only).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::sql::Sql;
use crate::time::{from_db, now, to_db};

/// A blocked domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DomainBlock {
    /// Lower case; covers subdomains; with a port, that port only.
    #[cfg_attr(feature = "openapi", schema(examples("spam.example", "localhost:8001")))]
    pub domain: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

/// A blocked remote actor, by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActorBlock {
    #[cfg_attr(feature = "openapi", schema(format = "uri"))]
    pub actor_id: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

/// A domain on the allowlist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DomainAllow {
    #[cfg_attr(feature = "openapi", schema(examples("friends.example", "localhost:8001")))]
    pub domain: String,
    pub created_at: DateTime<Utc>,
}

/// What purging a blocked domain deleted (`Store::purge_domain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurgeReport {
    /// Remote actors, with their follows, likes, boosts, replies and articles.
    pub actors: u64,
    /// Deliveries to the domain that had not been sent yet (dropped).
    pub deliveries: u64,
}

/// Both domain lists at one moment, for checking many hosts at once (a
/// fan-out) without a query per host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainLists {
    blocked: HashSet<String>,
    allowed: HashSet<String>,
}

impl DomainLists {
    /// Whether `host` (`name[:port]`) or a parent domain is blocked.
    pub fn is_blocked(&self, host: &str) -> bool {
        host_candidates(host).iter().any(|c| self.blocked.contains(c))
    }

    /// Whether `host` or a parent domain is on the allowlist.
    pub fn is_allowed(&self, host: &str) -> bool {
        host_candidates(host).iter().any(|c| self.allowed.contains(c))
    }
}

/// Normalises a domain as given by a person: `Example.ORG.`,
/// `https://example.org/about` and `*.example.org` all become `example.org`;
/// a port is kept (`localhost:8001`). Only letters, digits, dots and hyphens
/// (or a bracketed IPv6 address) are accepted, so the result is safe inside
/// a `LIKE` pattern.
pub fn normalise_domain(input: &str) -> StoreResult<String> {
    let invalid = |why: &str| StoreError::Invalid {
        field: "domain",
        message: format!("`{input}` {why}"),
    };
    let mut s = input.trim().to_ascii_lowercase();
    if let Some((_, rest)) = s.split_once("://") {
        s = rest.to_owned();
    }
    let s = s.split(['/', '?', '#']).next().unwrap_or_default();
    if s.contains('@') {
        return Err(invalid("is a handle or has a user name: give the domain alone"));
    }
    let s = s.strip_prefix("*.").unwrap_or(s);
    let (name, port) = split_port(s);
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err(invalid("is not a domain"));
    }
    let ipv6 = name.starts_with('[') && name.ends_with(']');
    let valid = if ipv6 {
        name[1..name.len() - 1]
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
    } else {
        name.split('.')
            .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    };
    if !valid {
        return Err(invalid(
            "is not a domain (letters, digits, dots and hyphens, e.g. example.org)",
        ));
    }
    match port {
        None => Ok(name.to_owned()),
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(format!("{name}:{n}")),
            _ => Err(invalid("has a port that is not a number from 1 to 65535")),
        },
    }
}

/// `name` and `port` of `name[:port]` (IPv6 in brackets keeps its colons).
fn split_port(host: &str) -> (&str, Option<&str>) {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => match host[end + 1..].strip_prefix(':') {
                Some(port) => (&host[..=end], Some(port)),
                None => (host, None),
            },
            None => (host, None),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    }
}

/// Every list entry that would cover `host`: the host and each parent
/// domain, with and without its port. `a.example.org:8001` gives
/// `a.example.org:8001`, `a.example.org`, `example.org:8001`, `example.org`,
/// `org:8001` and `org`.
pub fn host_candidates(host: &str) -> Vec<String> {
    let host = host.trim().to_ascii_lowercase();
    let (name, port) = split_port(&host);
    let name = name.strip_suffix('.').unwrap_or(name);
    let mut names = vec![name];
    if !name.starts_with('[') {
        let mut rest = name;
        while let Some((_, parent)) = rest.split_once('.') {
            if parent.is_empty() {
                break;
            }
            names.push(parent);
            rest = parent;
        }
    }
    let mut out = Vec::with_capacity(names.len() * 2);
    for n in names {
        if let Some(p) = port {
            out.push(format!("{n}:{p}"));
        }
        out.push(n.to_owned());
    }
    out
}

/// `host = …` or a subdomain of it, for an already normalised entry, on
/// column `column`: the condition with its values bound.
fn covers(column: &str, domain: &str) -> Sql {
    let mut sql = Sql::new("(");
    if split_port(domain).1.is_some() {
        sql.push(&format!("{column} = ")).bind(domain);
        sql.push(&format!(" OR {column} LIKE ")).bind(format!("%.{domain}"));
    } else {
        sql.push(&format!("{column} = ")).bind(domain);
        sql.push(&format!(" OR {column} LIKE ")).bind(format!("{domain}:%"));
        sql.push(&format!(" OR {column} LIKE ")).bind(format!("%.{domain}"));
        sql.push(&format!(" OR {column} LIKE ")).bind(format!("%.{domain}:%"));
    }
    sql.push(")");
    sql
}

impl Store {
    /// Blocks `domain` (normalised first), or changes the reason of its
    /// block; returns the block as stored. Does not purge: see
    /// [`Store::purge_domain`].
    pub async fn add_domain_block(&self, domain: &str, reason: &str) -> StoreResult<DomainBlock> {
        let domain = normalise_domain(domain)?;
        sqlx::query(
            "INSERT INTO domain_blocks (domain, reason, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (domain) DO UPDATE SET reason = excluded.reason",
        )
        .bind(&domain)
        .bind(reason.trim())
        .bind(to_db(now()))
        .execute(self.writer())
        .await?;
        self.senders.clear();
        let row = sqlx::query("SELECT domain, reason, created_at FROM domain_blocks WHERE domain = $1")
            .bind(&domain)
            .fetch_one(&self.pool)
            .await?;
        domain_block_from_row(&row)
    }

    /// Lifts a domain block; false when there was none.
    pub async fn remove_domain_block(&self, domain: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM domain_blocks WHERE domain = $1")
            .bind(normalise_domain(domain)?)
            .execute(self.writer())
            .await?;
        self.senders.clear();
        Ok(done.rows_affected() > 0)
    }

    /// Blocked domains, alphabetically.
    pub async fn list_domain_blocks(&self) -> StoreResult<Vec<DomainBlock>> {
        let rows = sqlx::query("SELECT domain, reason, created_at FROM domain_blocks ORDER BY domain")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(domain_block_from_row).collect()
    }

    /// Whether `host` (`name[:port]`, as in a URL) is blocked, itself or
    /// through a parent domain.
    pub async fn is_domain_blocked(&self, host: &str) -> StoreResult<bool> {
        self.any_listed("domain_blocks", host).await
    }

    /// Blocks a remote actor by id, or changes the reason of its block.
    pub async fn add_actor_block(&self, actor_id: &str, reason: &str) -> StoreResult<ActorBlock> {
        let actor_id = actor_id.trim();
        if !(actor_id.starts_with("https://") || actor_id.starts_with("http://")) {
            return Err(StoreError::Invalid {
                field: "actor",
                message: format!("`{actor_id}` is not an actor id (an http(s) URL)"),
            });
        }
        sqlx::query(
            "INSERT INTO actor_blocks (actor_id, reason, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (actor_id) DO UPDATE SET reason = excluded.reason",
        )
        .bind(actor_id)
        .bind(reason.trim())
        .bind(to_db(now()))
        .execute(self.writer())
        .await?;
        self.senders.clear();
        let row = sqlx::query("SELECT actor_id, reason, created_at FROM actor_blocks WHERE actor_id = $1")
            .bind(actor_id)
            .fetch_one(&self.pool)
            .await?;
        actor_block_from_row(&row)
    }

    /// Lifts an actor block; false when there was none.
    pub async fn remove_actor_block(&self, actor_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM actor_blocks WHERE actor_id = $1")
            .bind(actor_id.trim())
            .execute(self.writer())
            .await?;
        self.senders.clear();
        Ok(done.rows_affected() > 0)
    }

    /// Blocked actors, by id.
    pub async fn list_actor_blocks(&self) -> StoreResult<Vec<ActorBlock>> {
        let rows = sqlx::query("SELECT actor_id, reason, created_at FROM actor_blocks ORDER BY actor_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(actor_block_from_row).collect()
    }

    pub async fn is_actor_blocked(&self, actor_id: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 AS x FROM actor_blocks WHERE actor_id = $1")
            .bind(actor_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Puts `domain` (normalised first) on the allowlist; returns the entry.
    pub async fn add_domain_allow(&self, domain: &str) -> StoreResult<DomainAllow> {
        let domain = normalise_domain(domain)?;
        sqlx::query("INSERT INTO domain_allows (domain, created_at) VALUES ($1, $2) ON CONFLICT (domain) DO NOTHING")
            .bind(&domain)
            .bind(to_db(now()))
            .execute(self.writer())
            .await?;
        self.senders.clear();
        let row = sqlx::query("SELECT domain, created_at FROM domain_allows WHERE domain = $1")
            .bind(&domain)
            .fetch_one(&self.pool)
            .await?;
        domain_allow_from_row(&row)
    }

    /// Takes a domain off the allowlist; false when it was not on it.
    pub async fn remove_domain_allow(&self, domain: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM domain_allows WHERE domain = $1")
            .bind(normalise_domain(domain)?)
            .execute(self.writer())
            .await?;
        self.senders.clear();
        Ok(done.rows_affected() > 0)
    }

    /// The allowlist, alphabetically.
    pub async fn list_domain_allows(&self) -> StoreResult<Vec<DomainAllow>> {
        let rows = sqlx::query("SELECT domain, created_at FROM domain_allows ORDER BY domain")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(domain_allow_from_row).collect()
    }

    /// Whether `host` or a parent domain is on the allowlist.
    pub async fn is_domain_allowed(&self, host: &str) -> StoreResult<bool> {
        self.any_listed("domain_allows", host).await
    }

    /// Both domain lists, for checking many hosts with [`DomainLists`].
    pub async fn domain_lists(&self) -> StoreResult<DomainLists> {
        let read = |table: &'static str| async move {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT domain FROM {table}")))
                .fetch_all(&self.pool)
                .await?;
            rows.iter()
                .map(|r| r.try_get::<String, _>("domain").map_err(StoreError::from))
                .collect::<StoreResult<HashSet<String>>>()
        };
        Ok(DomainLists {
            blocked: read("domain_blocks").await?,
            allowed: read("domain_allows").await?,
        })
    }

    /// Deletes what is stored from `domain` and its subdomains (see the
    /// module doc for ports): its remote actors, and with them (by cascade)
    /// their follows of us, our follows of them, their likes, boosts and
    /// replies and their articles on the network page; and the deliveries to
    /// it not yet sent. One transaction.
    pub async fn purge_domain(&self, domain: &str) -> StoreResult<PurgeReport> {
        let domain = normalise_domain(domain)?;
        let mut tx = self.begin_write().await?;
        let covers = covers("host", &domain);
        let actors = covers
            .after("DELETE FROM remote_actors WHERE ")
            .query()
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let deliveries = covers
            .after("DELETE FROM deliveries WHERE status = 'pending' AND ")
            .query()
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        self.follower_inboxes.clear();
        Ok(PurgeReport { actors, deliveries })
    }

    /// In allowlist mode: gives up the deliveries not yet sent to hosts that
    /// are not (or no longer) on the allowlist; returns how many. Run when
    /// the server starts in that mode and when a domain leaves the list.
    pub async fn drop_deliveries_outside_allowlist(&self) -> StoreResult<u64> {
        let lists = self.domain_lists().await?;
        let rows = sqlx::query("SELECT DISTINCT host FROM deliveries WHERE status = 'pending'")
            .fetch_all(&self.pool)
            .await?;
        let mut dropped = 0;
        for r in rows {
            let host: String = r.try_get("host")?;
            if host_candidates(&host).iter().any(|c| lists.allowed.contains(c)) {
                continue;
            }
            dropped += sqlx::query("DELETE FROM deliveries WHERE status = 'pending' AND host = $1")
                .bind(&host)
                .execute(self.writer())
                .await?
                .rows_affected();
        }
        Ok(dropped)
    }

    /// Empties the inbox's cache of block-list answers if the lists changed
    /// since the last call (another process's block or allow: the server's
    /// change watch calls this on every change it reports), and its answers
    /// about network members and the network actor's followers (see
    /// [`crate::moment_cache`]) if those changed. One query reads each
    /// list's size and latest entry (an entry added moves the latter, one
    /// removed the former), the members' number and latest change, and the
    /// accepted follows' number and latest.
    pub async fn recheck_inbox_caches(&self) -> StoreResult<()> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM domain_blocks) AS b_n, (SELECT COALESCE(MAX(created_at), 0) FROM domain_blocks) AS b_t,
                    (SELECT COUNT(*) FROM domain_allows) AS a_n, (SELECT COALESCE(MAX(created_at), 0) FROM domain_allows) AS a_t,
                    (SELECT COUNT(*) FROM actor_blocks) AS x_n, (SELECT COALESCE(MAX(created_at), 0) FROM actor_blocks) AS x_t,
                    (SELECT COUNT(*) FROM network_members) AS m_n, (SELECT COALESCE(MAX(updated_at), 0) FROM network_members) AS m_t,
                    (SELECT COUNT(*) FROM followers WHERE status = 'accepted') AS f_n, (SELECT COALESCE(MAX(created_at), 0) FROM followers) AS f_t",
        )
        .fetch_one(&self.pool)
        .await?;
        let mut lists = [0_i64; 6];
        for (slot, column) in lists.iter_mut().zip(["b_n", "b_t", "a_n", "a_t", "x_n", "x_t"]) {
            *slot = row.try_get(column)?;
        }
        let members: [i64; 2] = [row.try_get("m_n")?, row.try_get("m_t")?];
        let followers: [i64; 2] = [row.try_get("f_n")?, row.try_get("f_t")?];
        self.senders.recheck(lists);
        self.members.recheck(members);
        self.follower_inboxes.recheck(followers);
        Ok(())
    }

    /// How many entries the domain block list, the allowlist and the actor
    /// block list held at the last [`Store::recheck_inbox_caches`] (none
    /// before the first): what this process's inbox acts on.
    pub fn sender_lists_seen(&self) -> Option<SenderLists> {
        let seen = *self.senders.fingerprint.lock().unwrap_or_else(|e| e.into_inner());
        seen.map(|f| SenderLists {
            domain_blocks: f[0],
            domain_allows: f[2],
            actor_blocks: f[4],
        })
    }

    /// Everything the inbox must know about a sender, in one query: which of
    /// `hosts` are blocked, which are on the allowlist (for allowlist mode),
    /// and whether `actor` is blocked. The answer is reused for a moment
    /// (see [`crate::moment_cache`]); the lists' writes above forget it.
    pub async fn sender_check(&self, hosts: &[String], actor: Option<&str>) -> StoreResult<SenderCheck> {
        // Neither a URL nor a host holds a line break.
        let mut key = actor.unwrap_or_default().to_owned();
        for host in hosts {
            key.push('\n');
            key.push_str(host);
        }
        self.senders
            .get_or_read(&key, self.read_sender_check(hosts, actor))
            .await
    }

    /// [`Store::sender_check`] from the database.
    async fn read_sender_check(&self, hosts: &[String], actor: Option<&str>) -> StoreResult<SenderCheck> {
        let candidates: Vec<Vec<String>> = hosts.iter().map(|h| host_candidates(h)).collect();
        let all: Vec<&String> = candidates.iter().flatten().collect();
        let mut check = SenderCheck::default();
        if all.is_empty() && actor.is_none() {
            return Ok(check);
        }
        let mut q = Sql::default();
        let list = if all.is_empty() {
            "NULL".to_owned()
        } else {
            q.param_list(all.iter().map(|c| c.as_str()))
        };
        let actor_p = q.param(actor.unwrap_or_default());
        q.push(&format!(
            "SELECT 'b' AS list, domain AS value FROM domain_blocks WHERE domain IN ({list})
             UNION ALL SELECT 'a', domain FROM domain_allows WHERE domain IN ({list})
             UNION ALL SELECT 'x', actor_id FROM actor_blocks WHERE actor_id = {actor_p}"
        ));
        let mut blocked = HashSet::new();
        let mut allowed = HashSet::new();
        for row in q.fetch_all(&self.pool).await? {
            let list: String = row.try_get("list")?;
            let value: String = row.try_get("value")?;
            match list.as_str() {
                "b" => {
                    blocked.insert(value);
                }
                "a" => {
                    allowed.insert(value);
                }
                _ => check.actor_blocked = true,
            }
        }
        for (host, cands) in hosts.iter().zip(&candidates) {
            if cands.iter().any(|c| blocked.contains(c)) {
                check.blocked_hosts.push(host.clone());
            }
            if !cands.iter().any(|c| allowed.contains(c)) {
                check.unlisted_hosts.push(host.clone());
            }
        }
        Ok(check)
    }

    /// Whether `table` (a domain list) holds an entry covering `host`.
    async fn any_listed(&self, table: &'static str, host: &str) -> StoreResult<bool> {
        let candidates = host_candidates(host);
        let mut q = Sql::new(&format!("SELECT 1 AS x FROM {table} WHERE domain IN ("));
        q.bind_list(candidates).push(")");
        Ok(q.query().fetch_optional(&self.pool).await?.is_some())
    }
}

/// The sizes of the lists the inbox checks senders against
/// ([`Store::sender_lists_seen`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderLists {
    pub domain_blocks: i64,
    pub domain_allows: i64,
    pub actor_blocks: i64,
}

/// What [`Store::sender_check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SenderCheck {
    /// Hosts on the block list (or under a blocked domain).
    pub blocked_hosts: Vec<String>,
    /// Hosts not on the allowlist (refused in allowlist mode).
    pub unlisted_hosts: Vec<String>,
    pub actor_blocked: bool,
}

fn domain_block_from_row(r: &AnyRow) -> StoreResult<DomainBlock> {
    Ok(DomainBlock {
        domain: r.try_get("domain")?,
        reason: r.try_get("reason")?,
        created_at: from_db(r.try_get("created_at")?)?,
    })
}

fn actor_block_from_row(r: &AnyRow) -> StoreResult<ActorBlock> {
    Ok(ActorBlock {
        actor_id: r.try_get("actor_id")?,
        reason: r.try_get("reason")?,
        created_at: from_db(r.try_get("created_at")?)?,
    })
}

fn domain_allow_from_row(r: &AnyRow) -> StoreResult<DomainAllow> {
    Ok(DomainAllow {
        domain: r.try_get("domain")?,
        created_at: from_db(r.try_get("created_at")?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised() {
        for (given, expected) in [
            ("Example.ORG.", "example.org"),
            ("https://example.org/about?x", "example.org"),
            ("*.example.org", "example.org"),
            (" localhost:8001 ", "localhost:8001"),
            ("http://[::1]:8080/", "[::1]:8080"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ] {
            assert_eq!(normalise_domain(given).unwrap(), expected, "{given}");
        }
        for bad in [
            "",
            "@alice@example.org",
            "exa mple.org",
            "a..b",
            "ex_ample.org",
            "100%.org",
            "example.org:0",
            "example.org:http",
            "bücher.example",
        ] {
            assert!(normalise_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn candidates_cover_parents_and_ports() {
        assert_eq!(
            host_candidates("A.example.org:8001"),
            [
                "a.example.org:8001",
                "a.example.org",
                "example.org:8001",
                "example.org",
                "org:8001",
                "org"
            ]
        );
        assert_eq!(host_candidates("localhost"), ["localhost"]);
        assert_eq!(host_candidates("[::1]:80"), ["[::1]:80", "[::1]"]);
        let lists = DomainLists {
            blocked: ["example.org".to_owned(), "localhost:8001".to_owned()].into(),
            allowed: HashSet::new(),
        };
        assert!(lists.is_blocked("social.example.org"));
        assert!(lists.is_blocked("example.org:8443"));
        assert!(!lists.is_blocked("notexample.org"));
        assert!(lists.is_blocked("localhost:8001"));
        assert!(!lists.is_blocked("localhost:8002"));
        assert!(!lists.is_blocked("localhost"));
        assert!(!lists.is_allowed("example.org"));
    }
}
