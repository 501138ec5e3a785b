//! Validation errors that name the offending field (and line, for files).

use std::fmt;

/// One problem with one field of an input.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Dotted path of the field, e.g. `title`, `translations.en.body`, `cover.alt`.
    pub field: String,
    /// Machine-readable code, e.g. `required`, `invalid`, `unknown_language`.
    pub code: &'static str,
    /// Stable name of the message, e.g. `title_required`: interfaces
    /// translate it (with `params`) instead of showing `message`, which is
    /// English. Until a more precise one is given, the `code`.
    #[serde(rename = "message_code")]
    pub key: &'static str,
    /// Values the message names (`{name}` in a translation), e.g. `max`.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "params_map")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<std::collections::BTreeMap<String, String>>))]
    pub params: Vec<(&'static str, String)>,
    /// Human message naming the problem (English).
    pub message: String,
    /// 1-based line in the source text, when the input came from a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub line: Option<usize>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code,
            key: code,
            params: Vec::new(),
            message: message.into(),
            line: None,
        }
    }

    /// The stable message name and the values it names.
    pub fn with_key(mut self, key: &'static str, params: impl IntoIterator<Item = (&'static str, String)>) -> Self {
        self.key = key;
        self.params = params.into_iter().collect();
        self
    }

    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }
}

fn params_map<S: serde::Serializer>(params: &[(&'static str, String)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(params.len()))?;
    for (k, v) in params {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.field, self.message),
            None => write!(f, "{}: {}", self.field, self.message),
        }
    }
}

/// Every problem found in one input; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError(pub Vec<FieldError>);

impl ValidationError {
    pub fn one(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        ValidationError(vec![FieldError::new(field, code, message)])
    }

    pub fn first(&self) -> Option<&FieldError> {
        self.0.first()
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<FieldError> for ValidationError {
    fn from(e: FieldError) -> Self {
        ValidationError(vec![e])
    }
}
