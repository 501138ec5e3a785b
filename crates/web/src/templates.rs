//! placeholder, replaced by the real module.

/// Compiled templates (built-in, overridden by the theme folder).
pub struct Templates;
