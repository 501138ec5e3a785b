//! SQL assembled at run time (optional filters, lists of ids, multi-row
//! inserts) with its `$n` placeholders numbered by the builder as values are
//! bound, never by hand.
//!
//! sqlx's own `QueryBuilder` cannot serve here: through the `Any` driver it
//! writes `?` placeholders, which PostgreSQL does not accept. The values are
//! kept owned, so one statement can be run twice (a count, then a page).

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyPool, AssertSqlSafe};

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Text(String),
    Int(i64),
    /// A `NULL` of a text column.
    NullText,
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        v.map_or(Value::NullText, Value::Text)
    }
}

impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Value::NullText, |s| Value::Text(s.to_owned()))
    }
}

/// A statement being written: text, and the values its placeholders stand for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Sql {
            text: text.to_owned(),
            values: Vec::new(),
        }
    }

    /// Appends SQL text (never a value: those go through [`Sql::bind`]).
    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Binds `value` to the next placeholder and appends it.
    pub(crate) fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        let p = self.param(value);
        self.text.push_str(&p);
        self
    }

    /// Binds `value` to the next placeholder and returns it without writing
    /// it, for SQL that names it inside a larger piece (or more than once).
    pub(crate) fn param(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    /// Appends `$a, $b, …`, one placeholder per value (nothing for none).
    pub(crate) fn bind_list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(v);
        }
        self
    }

    /// Binds each value to the next placeholders and returns them as
    /// `$a, $b, …` without writing them (for a list named twice).
    pub(crate) fn param_list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> String {
        values.into_iter().map(|v| self.param(v)).collect::<Vec<_>>().join(", ")
    }

    /// This statement with `prefix` (text without placeholders) before it:
    /// one filter written once, then used by a count and by a page.
    pub(crate) fn after(&self, prefix: &str) -> Sql {
        Sql {
            text: format!("{prefix}{}", self.text),
            values: self.values.clone(),
        }
    }

    #[cfg(test)]
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The statement with its values bound, ready to run.
    pub(crate) fn query(&self) -> Query<'_, Any, AnyArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.text.clone()));
        for v in &self.values {
            q = match v {
                Value::Text(s) => q.bind(s.as_str()),
                Value::Int(n) => q.bind(*n),
                Value::NullText => q.bind(None::<String>),
            };
        }
        q
    }

    pub(crate) async fn fetch_all(&self, pool: &AnyPool) -> Result<Vec<AnyRow>, sqlx::Error> {
        self.query().fetch_all(pool).await
    }

    pub(crate) async fn fetch_one(&self, pool: &AnyPool) -> Result<AnyRow, sqlx::Error> {
        self.query().fetch_one(pool).await
    }
}

#[cfg(test)]
mod tests {
    use super::{Sql, Value};

    #[test]
    fn placeholders_follow_the_bound_values() {
        let mut sql = Sql::new("SELECT id FROM t WHERE a = ");
        sql.bind("x")
            .push(" AND b IN (")
            .bind_list([1_i64, 2, 3])
            .push(") LIMIT ")
            .bind(10_i64);
        assert_eq!(
            sql.text(),
            "SELECT id FROM t WHERE a = $1 AND b IN ($2, $3, $4) LIMIT $5"
        );
        assert_eq!(sql.values.len(), 5);
        assert_eq!(sql.values[0], Value::Text("x".into()));
        let p = sql.param("y");
        assert_eq!(p, "$6");
        let count = sql.after("SELECT COUNT(*) ");
        assert!(count.text().starts_with("SELECT COUNT(*) SELECT id") && count.values.len() == 6);
    }

    #[test]
    fn an_empty_list_writes_nothing() {
        let mut sql = Sql::new("(");
        sql.bind_list(Vec::<String>::new()).push(")");
        assert_eq!(sql.text(), "()");
    }
}
