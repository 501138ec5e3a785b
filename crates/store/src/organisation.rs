//! The instance's organisation profile (a single row).

use gazette_core::{Country, Language, LegalForm, Organisation};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::time::{from_db, to_db};

impl Store {
    pub async fn find_organisation(&self) -> StoreResult<Option<Organisation>> {
        let row = sqlx::query(
            "SELECT username, name, description, logo, website, country, legal_form, sectors, languages, updated_at
             FROM organisation WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| org_from_row(&r)).transpose()
    }

    pub async fn get_organisation(&self) -> StoreResult<Organisation> {
        self.find_organisation()
            .await?
            .ok_or_else(|| StoreError::not_found("organisation", "1"))
    }

    /// Creates or replaces the organisation profile.
    pub async fn save_organisation(&self, org: &Organisation) -> StoreResult<Organisation> {
        if let Some(logo) = &org.logo {
            self.require_media("logo", logo).await?;
        }
        // Authors and the organisation share the `/users/{username}` namespace.
        if self
            .find_author(&org.username)
            .await?
            .is_some_and(|a| a.username == org.username)
        {
            return Err(StoreError::Conflict {
                field: "username",
                message: format!("username `{}` belongs to an author", org.username),
            });
        }
        let updated_at = crate::time::now();
        sqlx::query(
            "INSERT INTO organisation (id, username, name, description, logo, website, country, legal_form, sectors, languages, updated_at)
             VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO UPDATE SET username = excluded.username, name = excluded.name,
               description = excluded.description, logo = excluded.logo, website = excluded.website,
               country = excluded.country, legal_form = excluded.legal_form, sectors = excluded.sectors,
               languages = excluded.languages, updated_at = excluded.updated_at",
        )
        .bind(&org.username)
        .bind(&org.name)
        .bind(&org.description)
        .bind(&org.logo)
        .bind(&org.website)
        .bind(org.country.as_str())
        .bind(org.legal_form.as_str())
        .bind(json(&org.sectors)?)
        .bind(json(&org.languages)?)
        .bind(to_db(updated_at))
        .execute(self.writer())
        .await?;
        Ok(Organisation {
            updated_at,
            ..org.clone()
        })
    }
}

fn json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn org_from_row(r: &AnyRow) -> StoreResult<Organisation> {
    org_from_prefixed_row(r, "")
}

/// Reads the organisation from columns named `{prefix}name`… (joins).
pub(crate) fn org_from_prefixed_row(r: &AnyRow, prefix: &str) -> StoreResult<Organisation> {
    let col = |c: &str| format!("{prefix}{c}");
    let corrupt = |e: String| StoreError::Corrupt(format!("organisation: {e}"));
    let country: String = r.try_get(col("country").as_str())?;
    let legal_form: String = r.try_get(col("legal_form").as_str())?;
    let sectors: String = r.try_get(col("sectors").as_str())?;
    let languages: String = r.try_get(col("languages").as_str())?;
    Ok(Organisation {
        username: r.try_get(col("username").as_str())?,
        name: r.try_get(col("name").as_str())?,
        description: r.try_get(col("description").as_str())?,
        logo: r.try_get(col("logo").as_str())?,
        website: r.try_get(col("website").as_str())?,
        country: Country::parse(&country).map_err(corrupt)?,
        legal_form: LegalForm::parse(&legal_form).ok_or_else(|| corrupt(format!("legal form {legal_form}")))?,
        sectors: serde_json::from_str(&sectors).map_err(|e| corrupt(e.to_string()))?,
        languages: serde_json::from_str::<Vec<Language>>(&languages).map_err(|e| corrupt(e.to_string()))?,
        updated_at: from_db(r.try_get(col("updated_at").as_str())?)?,
    })
}
