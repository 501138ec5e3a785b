//! Authors: the people who write articles.

use gazette_core::{Author, AuthorInput};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::ids::new_id;
use crate::time::{from_db, now, to_db};

impl Store {
    /// Stores a validated author; a taken username is a conflict.
    pub async fn create_author(&self, input: &AuthorInput) -> StoreResult<Author> {
        self.check_username_free_of_organisation(&input.username).await?;
        if let Some(avatar) = &input.avatar {
            self.require_media("avatar", avatar).await?;
        }
        let t = now();
        let author = Author {
            id: new_id(),
            username: input.username.clone(),
            name: input.name.clone(),
            bio: input.bio.clone(),
            avatar: input.avatar.clone(),
            fediverse_handle: input.fediverse_handle.clone(),
            created_at: t,
            updated_at: t,
        };
        sqlx::query(
            "INSERT INTO authors (id, username, name, bio, avatar, fediverse_handle, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&author.id)
        .bind(&author.username)
        .bind(&author.name)
        .bind(&author.bio)
        .bind(&author.avatar)
        .bind(&author.fediverse_handle)
        .bind(to_db(t))
        .bind(to_db(t))
        .execute(self.writer())
        .await
        .map_err(|e| username_conflict(e, &author.username))?;
        Ok(author)
    }

    pub async fn update_author(&self, id_or_username: &str, input: &AuthorInput) -> StoreResult<Author> {
        let current = self.get_author(id_or_username).await?;
        if current.username != input.username {
            self.check_username_free_of_organisation(&input.username).await?;
        }
        if let Some(avatar) = &input.avatar {
            self.require_media("avatar", avatar).await?;
        }
        let t = now();
        sqlx::query(
            "UPDATE authors SET username = $1, name = $2, bio = $3, avatar = $4, fediverse_handle = $5, updated_at = $6
             WHERE id = $7",
        )
        .bind(&input.username)
        .bind(&input.name)
        .bind(&input.bio)
        .bind(&input.avatar)
        .bind(&input.fediverse_handle)
        .bind(to_db(t))
        .bind(&current.id)
        .execute(self.writer())
        .await
        .map_err(|e| username_conflict(e, &input.username))?;
        self.get_author(&current.id).await
    }

    /// An author by id or username.
    pub async fn find_author(&self, id_or_username: &str) -> StoreResult<Option<Author>> {
        let row = sqlx::query(
            "SELECT id, username, name, bio, avatar, fediverse_handle, created_at, updated_at
             FROM authors WHERE id = $1 OR username = $1",
        )
        .bind(id_or_username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| author_from_row(&r)).transpose()
    }

    pub async fn get_author(&self, id_or_username: &str) -> StoreResult<Author> {
        self.find_author(id_or_username)
            .await?
            .ok_or_else(|| StoreError::not_found("author", id_or_username))
    }

    pub async fn list_authors(&self) -> StoreResult<Vec<Author>> {
        let rows = sqlx::query(
            "SELECT id, username, name, bio, avatar, fediverse_handle, created_at, updated_at
             FROM authors ORDER BY name, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(author_from_row).collect()
    }

    /// Deletes an author who has no articles (articles keep their author).
    pub async fn delete_author(&self, id_or_username: &str) -> StoreResult<()> {
        let author = self.get_author(id_or_username).await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM articles WHERE author_id = $1")
            .bind(&author.id)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        if n > 0 {
            return Err(StoreError::Conflict {
                field: "author",
                message: format!(
                    "author `{}` still has {n} article(s); reassign or delete them first",
                    author.username
                ),
            });
        }
        sqlx::query("DELETE FROM authors WHERE id = $1")
            .bind(&author.id)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}

impl Store {
    /// Authors and the organisation share the `/users/{username}` namespace.
    async fn check_username_free_of_organisation(&self, username: &str) -> StoreResult<()> {
        match self.find_organisation().await? {
            Some(org) if org.username == username => Err(StoreError::Conflict {
                field: "username",
                message: format!("username `{username}` is the organisation's"),
            }),
            _ => Ok(()),
        }
    }
}

fn username_conflict(e: sqlx::Error, username: &str) -> StoreError {
    if StoreError::is_unique_violation(&e) {
        StoreError::Conflict {
            field: "username",
            message: format!("username `{username}` is already taken"),
        }
    } else {
        e.into()
    }
}

pub(crate) fn author_from_row(r: &AnyRow) -> StoreResult<Author> {
    author_from_prefixed_row(r, "")
}

/// Reads an author from columns named `{prefix}id`, `{prefix}name`… (joins).
pub(crate) fn author_from_prefixed_row(r: &AnyRow, prefix: &str) -> StoreResult<Author> {
    let col = |c: &str| format!("{prefix}{c}");
    Ok(Author {
        id: r.try_get(col("id").as_str())?,
        username: r.try_get(col("username").as_str())?,
        name: r.try_get(col("name").as_str())?,
        bio: r.try_get(col("bio").as_str())?,
        avatar: r.try_get(col("avatar").as_str())?,
        fediverse_handle: r.try_get(col("fediverse_handle").as_str())?,
        created_at: from_db(r.try_get(col("created_at").as_str())?)?,
        updated_at: from_db(r.try_get(col("updated_at").as_str())?)?,
    })
}
