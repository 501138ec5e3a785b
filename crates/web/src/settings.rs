//! Instance settings in effect: the config file's values with the overrides
//! an administrator stored (admin settings page, `PUT /api/settings`), read
//! from the database on every request that shows them, so a change is seen
//! at once by every process, and folded into the page cache's validators.
//! One write path for the admin page and the API: [`update`].

use std::sync::Arc;

use gazette_core::ValidationError;
use gazette_core::settings::{self, InstanceSettings};
use gazette_store::{StoreError, StoredSetting};

use crate::AppState;

/// The settings in effect and the stored overrides behind them.
pub(crate) struct Effective {
    pub(crate) values: Arc<InstanceSettings>,
    pub(crate) stored: Vec<StoredSetting>,
}

/// Why a settings change was refused.
#[derive(Debug)]
pub(crate) enum SettingsError {
    Invalid(ValidationError),
    Store(StoreError),
}

impl From<StoreError> for SettingsError {
    fn from(e: StoreError) -> Self {
        SettingsError::Store(e)
    }
}

impl From<SettingsError> for crate::ApiError {
    fn from(e: SettingsError) -> Self {
        match e {
            SettingsError::Invalid(v) => v.into(),
            SettingsError::Store(s) => s.into(),
        }
    }
}

impl AppState {
    /// The config file's values: what applies where nothing is stored.
    pub(crate) fn setting_defaults(&self) -> InstanceSettings {
        let c = self.config();
        InstanceSettings {
            name: c.instance_name.clone(),
            default_language: c.default_language.clone(),
            time_zone: c.time_zone,
            manually_approves_followers: self.fed().settings().manually_approves_followers,
            comment_policy: self.fed().settings().comment_policy.as_str().to_owned(),
            primary_color: c.theme.primary_color.clone(),
            accent_color: c.theme.accent_color.clone(),
            footer: c.theme.footer.clone(),
        }
    }

    /// The settings in effect now (one small query).
    pub(crate) async fn settings(&self) -> Result<Arc<InstanceSettings>, StoreError> {
        Ok(self.effective_settings().await?.values)
    }

    /// The settings in effect now, with the stored overrides.
    pub(crate) async fn effective_settings(&self) -> Result<Effective, StoreError> {
        let stored = self.store().list_instance_settings().await?;
        let (values, skipped) = self
            .setting_defaults()
            .with_overrides(stored.iter().map(|s| (s.name.as_str(), s.value.as_str())));
        for name in skipped {
            tracing::warn!(
                setting = name,
                "stored setting no longer valid; the config file's value applies"
            );
        }
        let values = Arc::new(values);
        self.remember_settings(values.clone());
        Ok(Effective { values, stored })
    }
}

/// Sets the settings in `set` (name, value as typed) and puts those in
/// `reset` back to the config file's values, all or nothing; `by` is the
/// user making the change. Every value is checked first, every problem
/// named at once.
pub(crate) async fn update(
    state: &AppState,
    set: &[(&str, &str)],
    reset: &[&str],
    by: Option<&str>,
) -> Result<Effective, SettingsError> {
    let mut checked = settings::check_all(set.iter().copied()).map_err(SettingsError::Invalid)?;
    let mut unknown = Vec::new();
    for name in reset {
        if !settings::ALL.contains(name) {
            unknown.push(
                gazette_core::FieldError::new(*name, "unknown", format!("there is no setting `{name}`"))
                    .with_key("settings_unknown", [("name", (*name).to_owned())]),
            );
        }
    }
    if !unknown.is_empty() {
        return Err(SettingsError::Invalid(ValidationError(unknown)));
    }
    // A setting both set and reset is reset.
    checked.retain(|(n, _)| !reset.contains(&n.as_str()));
    let reset: Vec<String> = reset.iter().map(|r| (*r).to_owned()).collect();
    let approval_before = state.settings().await?.manually_approves_followers;
    state.store().update_instance_settings(&checked, &reset, by).await?;
    let effective = state.effective_settings().await?;
    if effective.values.manually_approves_followers != approval_before {
        // Every actor document says whether follows wait for approval:
        // followers' servers hear it now, not at their next fetch.
        match gazette_federation::local_actors(state.fed()).await {
            Ok(actors) => {
                for actor in &actors {
                    gazette_federation::actor_changed(state.fed(), actor).await;
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot list the local actors to federate the approval change"),
        }
    }
    Ok(effective)
}

/// A short fingerprint of the settings a public page shows, for its cache
/// validator: a page rendered under other settings is never served again.
pub(crate) fn fingerprint(s: &InstanceSettings) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    s.name.hash(&mut h);
    s.default_language.as_str().hash(&mut h);
    s.footer.hash(&mut h);
    s.manually_approves_followers.hash(&mut h);
    s.primary_color.hash(&mut h);
    s.accent_color.hash(&mut h);
    h.finish()
}
