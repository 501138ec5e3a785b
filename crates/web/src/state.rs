//! What every handler gets: the store, the instance settings and the templates.

use std::path::PathBuf;
use std::sync::Arc;

use gazette_core::Language;
use gazette_store::Store;

use crate::templates::Templates;

/// Theme settings an organisation changes without recompiling.
#[derive(Debug, Clone)]
pub struct ThemeConfig {
    /// Folder with `templates/` and `static/` overriding the built-in ones.
    pub dir: Option<PathBuf>,
    pub primary_color: String,
    pub accent_color: String,
    /// Extra footer text (plain text).
    pub footer: String,
}

/// Instance settings the web layer needs.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Origin used in every link and id, without trailing slash.
    pub public_url: String,
    pub instance_name: String,
    pub default_language: Language,
    pub max_upload_bytes: usize,
    pub theme: ThemeConfig,
}

/// Shared, cheaply cloned state; no globals, so several instances can run in one process.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) config: AppConfig,
    pub(crate) templates: Templates,
}

impl AppState {
    pub fn new(store: Store, config: AppConfig, templates: Templates) -> Self {
        AppState(Arc::new(Inner {
            store,
            config,
            templates,
        }))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn config(&self) -> &AppConfig {
        &self.0.config
    }

    pub(crate) fn templates(&self) -> &Templates {
        &self.0.templates
    }

    /// Absolute URL for a path on this instance.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.0.config.public_url, path)
    }
}
