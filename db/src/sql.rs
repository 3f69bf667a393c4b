//! SQL text built from the catalogue, with every value a bound parameter.
//!
//! [`Sql`] is a small `QueryBuilder`: besides pushing text and binding values, it hands back the
//! placeholder of a bound value so that a statement can refer to one parameter many times (the
//! scope's id lists appear at every hop of a read). Names written into the text are either
//! catalogue identifiers or GraphQL response keys, and both are checked to be plain words
//! (`[A-Za-z0-9_]`), so no caller-supplied text ever reaches the SQL other than as a parameter.

use sqlx::Arguments as _;
use sqlx::postgres::PgArguments;

/// A statement being written and its arguments.
#[derive(Default)]
pub struct Sql {
    text: String,
    args: PgArguments,
    count: usize,
}

/// A value that can be bound as a parameter.
pub trait Bind:
    for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send
{
}
impl<T> Bind for T where
    T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send
{
}

impl Sql {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends SQL text written in this crate.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Binds `value` and returns its placeholder (`$n`).
    pub fn bind(&mut self, value: impl Bind) -> String {
        // Encoding into the argument buffer only fails for values whose encoder fails, which
        // none of the types this crate binds (text, arrays, numbers, times) do.
        if let Err(e) = self.args.add(value) {
            tracing::error!("a parameter could not be encoded: {e}");
        }
        self.count += 1;
        format!("${}", self.count)
    }

    /// Binds `value` and appends its placeholder.
    pub fn push_bind(&mut self, value: impl Bind) -> &mut Self {
        let placeholder = self.bind(value);
        self.text.push_str(&placeholder);
        self
    }

    /// Appends an identifier of the catalogue (a table, column or alias).
    pub fn ident(&mut self, name: &str) -> &mut Self {
        assert!(is_word(name), "not an identifier: {name:?}");
        self.text.push_str(name);
        self
    }

    /// Appends `name` as a string literal: a GraphQL response key or type name, which the
    /// GraphQL grammar limits to `[_A-Za-z][_0-9A-Za-z]*`.
    pub fn key(&mut self, name: &str) -> &mut Self {
        assert!(is_word(name), "not a GraphQL name: {name:?}");
        self.text.push('\'');
        self.text.push_str(name);
        self.text.push('\'');
        self
    }

    /// Appends the SQL literal of the JSON text `<prefix>"name":` (`prefix` is `{` or `,`):
    /// a GraphQL response key, which the GraphQL grammar limits to a plain word.
    pub fn json_key(&mut self, prefix: &str, name: &str) -> &mut Self {
        assert!(is_word(name), "not a GraphQL name: {name:?}");
        assert!(
            prefix == "{" || prefix == ",",
            "not a JSON separator: {prefix:?}"
        );
        self.text.push('\'');
        self.text.push_str(prefix);
        self.text.push('"');
        self.text.push_str(name);
        self.text.push_str("\":'");
        self
    }

    /// Appends the SQL literal of the JSON string `"name"`: a GraphQL type name.
    pub fn json_string(&mut self, name: &str) -> &mut Self {
        assert!(is_word(name), "not a GraphQL name: {name:?}");
        self.text.push_str("'\"");
        self.text.push_str(name);
        self.text.push_str("\"'");
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text and the arguments, to run.
    pub fn into_parts(self) -> (String, PgArguments) {
        (self.text, self.args)
    }
}

/// A plain word: what identifiers and GraphQL names consist of.
pub fn is_word(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_count_up_and_can_be_reused() {
        let mut sql = Sql::new();
        let a = sql.bind(vec!["x".to_owned()]);
        sql.push("select ").push(&a).push(", ").push_bind(1_i64);
        sql.push(" where ").push(&a);
        assert_eq!(sql.text(), "select $1, $2 where $1");
    }

    #[test]
    #[should_panic(expected = "not a GraphQL name")]
    fn a_key_that_is_not_a_plain_word_is_refused() {
        Sql::new().key("a'; drop table conversations; --");
    }
}
