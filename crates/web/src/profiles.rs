//! Profiles of the local actors — the organisation and its authors — as
//! the REST API and the admin pages both save them: the same validation,
//! the same store call, and the same `Update` of the actor queued to its
//! followers (their servers cache profiles).

use gazette_core::validate;
use gazette_core::{Author, AuthorInput, Country, FieldError, Language, LegalForm, Organisation, ValidationError};
use gazette_federation::LocalActor;
use serde::Deserialize;

use crate::AppState;
use crate::content::WriteError;

/// Creates or replaces the organisation profile; an existing one's
/// followers are sent an `Update`.
pub(crate) async fn save_organisation(state: &AppState, input: &OrganisationInput) -> Result<Organisation, WriteError> {
    let current = state.store().find_organisation().await?;
    let settings = state.settings().await?;
    let org = validate(input, current.as_ref(), &settings.default_language)?;
    let saved = state.store().save_organisation(&org).await?;
    if current.is_some() {
        gazette_federation::actor_changed(state.fed(), &LocalActor::Organisation(saved.clone())).await;
    }
    Ok(saved)
}

/// Creates an author (a new actor: nobody follows it yet).
pub(crate) async fn create_author(state: &AppState, input: &AuthorInput) -> Result<Author, WriteError> {
    let input = validate::author(input)?;
    Ok(state.store().create_author(&input).await?)
}

/// Replaces an author's profile (by id or username), keeping the id; their
/// followers are sent an `Update`.
pub(crate) async fn update_author(state: &AppState, key: &str, input: &AuthorInput) -> Result<Author, WriteError> {
    let input = validate::author(input)?;
    let author = state.store().update_author(key, &input).await?;
    gazette_federation::actor_changed(state.fed(), &LocalActor::Author(author.clone())).await;
    Ok(author)
}

/// Sets (or, with `None`, removes) the organisation's logo, a stored image:
/// the rest of the profile is kept, and followers are sent the `Update`
/// whose actor carries the new `icon`.
pub(crate) async fn set_organisation_logo(state: &AppState, logo: Option<String>) -> Result<Organisation, WriteError> {
    let current = state.store().get_organisation().await?;
    let input = OrganisationInput {
        username: Some(current.username.clone()),
        name: current.name.clone(),
        description: current.description.clone(),
        logo,
        website: current.website.clone(),
        country: current.country.as_str().to_owned(),
        legal_form: current.legal_form.as_str().to_owned(),
        sectors: current.sectors.clone(),
        languages: current.languages.iter().map(|l| l.as_str().to_owned()).collect(),
    };
    save_organisation(state, &input).await
}

/// Sets (or removes) an author's avatar, keeping the rest of the profile;
/// followers are sent the `Update` whose actor carries the new `icon`.
pub(crate) async fn set_author_avatar(
    state: &AppState,
    key: &str,
    avatar: Option<String>,
) -> Result<Author, WriteError> {
    let current = state.store().get_author(key).await?;
    let input = AuthorInput {
        username: current.username.clone(),
        name: current.name.clone(),
        bio: current.bio.clone(),
        avatar,
        fediverse_handle: current.fediverse_handle.clone(),
    };
    update_author(state, &current.id, &input).await
}

/// The profile as submitted. Every field defaults, so a missing one is named by
/// validation (`name`: required) rather than by a serde error.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub(crate) struct OrganisationInput {
    /// The actor's username; defaults to the current one (required the first time).
    pub(crate) username: Option<String>,
    #[schema(required)]
    pub(crate) name: String,
    pub(crate) description: String,
    /// Media id of the logo.
    pub(crate) logo: Option<String>,
    #[schema(format = "uri")]
    pub(crate) website: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(required, examples("FR"))]
    pub(crate) country: String,
    #[schema(required, value_type = gazette_core::LegalForm)]
    pub(crate) legal_form: String,
    pub(crate) sectors: Vec<String>,
    /// Empty means the instance's default language.
    pub(crate) languages: Vec<String>,
}

fn validate(
    input: &OrganisationInput,
    current: Option<&Organisation>,
    default_language: &Language,
) -> Result<Organisation, ValidationError> {
    let mut errs: Vec<FieldError> = Vec::new();

    let username = match input.username.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => u.to_ascii_lowercase(),
        None => current.map(|c| c.username.clone()).unwrap_or_default(),
    };
    if username.is_empty() {
        errs.push(
            FieldError::new(
                "username",
                "required",
                "the organisation needs a username (its fediverse name)",
            )
            .with_key("org_username_required", []),
        );
    } else if username.len() > 64 || !username.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        errs.push(
            FieldError::new(
                "username",
                "invalid",
                format!("username `{username}` may only contain letters, digits and `_` (at most 64)"),
            )
            .with_key("username_invalid", [("value", username.clone())]),
        );
    }
    let name = input.name.trim();
    if name.is_empty() {
        errs.push(
            FieldError::new("name", "required", "the organisation needs a name").with_key("org_name_required", []),
        );
    }
    let country = if input.country.trim().is_empty() {
        errs.push(
            FieldError::new("country", "required", "the organisation needs a country (e.g. `FR`)")
                .with_key("country_required", []),
        );
        None
    } else {
        Country::parse(&input.country)
            .map_err(|m| {
                let value = input.country.trim().to_owned();
                errs.push(FieldError::new("country", "invalid", m).with_key("country_invalid", [("value", value)]))
            })
            .ok()
    };
    let legal_form = LegalForm::parse(input.legal_form.trim());
    if legal_form.is_none() {
        let expected: Vec<&str> = LegalForm::ALL.iter().map(|f| f.as_str()).collect();
        let (code, key) = if input.legal_form.trim().is_empty() {
            ("required", "legal_form_required")
        } else {
            ("invalid", "legal_form_unknown")
        };
        errs.push(
            FieldError::new(
                "legal_form",
                code,
                format!(
                    "unknown legal form `{}`: expected one of {}",
                    input.legal_form,
                    expected.join(", ")
                ),
            )
            .with_key(
                key,
                [("value", input.legal_form.clone()), ("expected", expected.join(", "))],
            ),
        );
    }
    let mut languages: Vec<Language> = Vec::new();
    for tag in &input.languages {
        match Language::parse(tag) {
            Ok(l) if !languages.contains(&l) => languages.push(l),
            Ok(_) => {}
            Err(m) => errs.push(
                FieldError::new("languages", "unknown_language", m)
                    .with_key("language_unknown", [("value", tag.clone())]),
            ),
        }
    }
    if languages.is_empty() {
        languages.push(default_language.clone());
    }
    let website = input.website.as_deref().map(str::trim).filter(|w| !w.is_empty());
    if let Some(w) = website
        && !url::Url::parse(w).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
    {
        errs.push(
            FieldError::new("website", "invalid", format!("`{w}` is not an http(s) address"))
                .with_key("website_invalid", [("value", w.to_owned())]),
        );
    }
    let sectors: Vec<String> = input
        .sectors
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();

    if !errs.is_empty() {
        return Err(ValidationError(errs));
    }
    let (Some(country), Some(legal_form)) = (country, legal_form) else {
        return Err(ValidationError::one("country", "invalid", "invalid organisation"));
    };
    Ok(Organisation {
        username,
        name: name.to_owned(),
        description: input.description.trim().to_owned(),
        logo: input
            .logo
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned),
        website: website.map(str::to_owned),
        country,
        legal_form,
        sectors,
        languages,
        updated_at: chrono::Utc::now(),
    })
}

#[cfg(test)]
// A failing unwrap is a failing test, which is what it should be.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn input() -> OrganisationInput {
        OrganisationInput {
            username: Some("demo".into()),
            name: "Coop".into(),
            country: "fr".into(),
            legal_form: "cooperative".into(),
            languages: vec!["fr".into(), "en".into()],
            ..Default::default()
        }
    }

    fn fields(i: &OrganisationInput) -> Vec<String> {
        let fr = Language::parse("fr").unwrap();
        validate(i, None, &fr)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn names_bad_fields() {
        let fr = Language::parse("fr").unwrap();
        assert_eq!(validate(&input(), None, &fr).unwrap().country.as_str(), "FR");
        let mut i = input();
        i.country = "XX".into();
        assert_eq!(fields(&i), vec!["country"]);
        let mut i = input();
        i.legal_form = "company".into();
        assert_eq!(fields(&i), vec!["legal_form"]);
        let mut i = input();
        i.languages = vec!["zz".into()];
        assert_eq!(fields(&i), vec!["languages"]);
        let mut i = input();
        i.name = " ".into();
        assert_eq!(fields(&i), vec!["name"]);
        let mut i = input();
        i.website = Some("javascript:alert(1)".into());
        assert_eq!(fields(&i), vec!["website"]);
    }

    #[test]
    fn messages_have_stable_names_to_translate() {
        let fr = Language::parse("fr").unwrap();
        let i = OrganisationInput {
            username: Some("bad name".into()),
            country: "XX".into(),
            legal_form: "company".into(),
            languages: vec!["zz-top".into()],
            website: Some("ftp://x".into()),
            ..Default::default()
        };
        let keys: Vec<(&str, Vec<(&str, String)>)> = validate(&i, None, &fr)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| (e.key, e.params))
            .collect();
        assert_eq!(keys[0], ("username_invalid", vec![("value", "bad name".to_owned())]));
        assert_eq!(keys[1].0, "org_name_required");
        assert_eq!(keys[2], ("country_invalid", vec![("value", "XX".to_owned())]));
        assert_eq!(keys[3].0, "legal_form_unknown");
        assert_eq!(keys[4], ("language_unknown", vec![("value", "zz-top".to_owned())]));
        assert_eq!(keys[5], ("website_invalid", vec![("value", "ftp://x".to_owned())]));
    }
}
