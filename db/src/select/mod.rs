//! Reads pushed down into SQL: a GraphQL selection over the catalogue's object types becomes
//! one statement whose result is the response's JSON, built by PostgreSQL.
//!
//! A [`Selection`] says which entries an object of one type answers with, in order, under their
//! response keys: columns, computed fields, `__typename` and relations with their own
//! selections. [`Statement`] compiles a root (one object by id, or a page of a list) into SQL:
//! each object is a `json_build_object` of exactly the selected columns, each relation a
//! correlated subquery on the index of its link, ordered as the catalogue says. The caller's
//! scope is bound once and applied at the root and at every hop that crosses into another
//! scope ([`visible`]); personal columns are `null` (and `extra` empty) unless the caller may
//! read personal data. So a request costs one statement, whatever the number of parents.

mod pages;
pub mod visible;

pub use pages::*;

use domain::Scope;
use domain::catalog::{Argument, Column, Kind, Link, ObjectType, Relation, Table};
use sqlx::PgPool;

use crate::sql::Sql;
use visible::{ScopeParams, restrict};

/// What an object answers with.
#[derive(Debug, Clone)]
pub struct Selection {
    pub object: &'static ObjectType,
    pub entries: Vec<Entry>,
}

/// One entry of a response object: its key and what goes there.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub value: Value,
}

/// What a response entry holds.
#[derive(Debug, Clone)]
pub enum Value {
    /// The object's type name.
    Typename,
    /// A column (under its own name or an alias such as `id`).
    Column(&'static Column),
    /// Milliseconds between two time columns.
    Duration {
        start: &'static Column,
        end: &'static Column,
    },
    /// The source fields without a column.
    Extra,
    /// A related object or list of them.
    Relation {
        relation: &'static Relation,
        argument: Option<ArgumentValue>,
        selection: Selection,
    },
}

/// The value given to a relation's argument.
#[derive(Debug, Clone)]
pub enum ArgumentValue {
    /// An interval's bounds: [from, to).
    Interval(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
}

/// Who reads: the scope every row is checked against, and whether personal data is served.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    pub scope: &'a Scope,
    pub personal: bool,
}

/// Entries a single `json_build_object` call can take (PostgreSQL allows 100 arguments).
const ENTRIES_PER_CALL: usize = 50;

/// A statement being compiled.
pub(crate) struct Statement {
    pub(crate) sql: Sql,
    scope: ScopeParams,
    personal: bool,
    aliases: usize,
}

impl Statement {
    pub(crate) fn new(reader: &Reader<'_>) -> Self {
        let mut sql = Sql::new();
        let scope = ScopeParams::bind(&mut sql, reader.scope);
        Statement {
            sql,
            scope,
            personal: reader.personal,
            aliases: 0,
        }
    }

    fn alias(&mut self, prefix: &str) -> String {
        self.aliases += 1;
        format!("{prefix}{}", self.aliases)
    }

    /// Appends ` and <visible>` for the row `alias` of `table`.
    pub(crate) fn restrict(&mut self, table: &Table, alias: &str) {
        restrict(&mut self.sql, &self.scope, table, alias, &mut self.aliases);
    }

    /// Appends the JSON of the object `selection` of the row `alias`; `element`: the column
    /// a list link reads from its list element instead (a division not in the lookup).
    pub(crate) fn object(
        &mut self,
        selection: &Selection,
        alias: &str,
        element: Option<(&str, &str)>,
    ) {
        let chunks: Vec<&[Entry]> = selection.entries.chunks(ENTRIES_PER_CALL).collect();
        match chunks.as_slice() {
            [] => {
                self.sql.push("json_build_object()");
            }
            [only] => self.build(selection.object, only, alias, element),
            [first, middle @ .., last] => {
                // Objects of more than 50 entries: the texts of several objects joined, in order.
                self.sql.push("(left(");
                self.build(selection.object, first, alias, element);
                self.sql.push("::text, -1)");
                for chunk in middle {
                    self.sql.push(" || ', ' || left(right(");
                    self.build(selection.object, chunk, alias, element);
                    self.sql.push("::text, -1), -1)");
                }
                self.sql.push(" || ', ' || right(");
                self.build(selection.object, last, alias, element);
                self.sql.push("::text, -1))::json");
            }
        }
    }

    fn build(
        &mut self,
        object: &ObjectType,
        entries: &[Entry],
        alias: &str,
        element: Option<(&str, &str)>,
    ) {
        self.sql.push("json_build_object(");
        for (i, entry) in entries.iter().enumerate() {
            if i > 0 {
                self.sql.push(", ");
            }
            self.sql.key(&entry.key).push(", ");
            self.value(object, &entry.value, alias, element);
        }
        self.sql.push(")");
    }

    fn value(
        &mut self,
        object: &ObjectType,
        value: &Value,
        alias: &str,
        element: Option<(&str, &str)>,
    ) {
        match value {
            Value::Typename => {
                self.sql.key(object.name);
            }
            Value::Column(column) => self.column(column, alias, element),
            Value::Duration { start, end } => {
                self.sql.push("trunc(extract(epoch from (");
                self.sql.ident(alias).push(".").ident(end.name).push(" - ");
                self.sql.ident(alias).push(".").ident(start.name);
                self.sql.push(")) * 1000)::bigint");
            }
            Value::Extra => {
                if self.personal {
                    self.sql
                        .push("coalesce(")
                        .ident(alias)
                        .push(".extra, '{}')");
                } else {
                    self.sql.push("'{}'::json");
                }
            }
            Value::Relation {
                relation,
                argument,
                selection,
            } => self.relation(object, relation, argument.as_ref(), selection, alias),
        }
    }

    fn column(&mut self, column: &Column, alias: &str, element: Option<(&str, &str)>) {
        if column.personal && !self.personal {
            // Withheld: null, or the type's empty value where the schema promises one.
            self.sql.push(match (column.required, column.kind) {
                (false, _) => "null",
                (true, Kind::Text) => "''",
                (true, Kind::Int) => "0",
                (true, Kind::Float) => "0.0",
                (true, Kind::Bool) => "false",
                (true, Kind::Time) => "'1970-01-01T00:00:00+00:00'",
                (true, Kind::LocalTime) => "'1970-01-01T00:00:00'",
                (true, Kind::Texts | Kind::Ints) => "'[]'::json",
                (true, Kind::Json) => "'null'::json",
            });
            return;
        }
        let reference = match element {
            Some((name, expression)) if name == column.name => expression.to_owned(),
            _ => format!("{alias}.{}", column.name),
        };
        match column.kind {
            // async-graphql writes a Float as serde_json does: `4.0`, never `4`; NaN and the
            // infinities have no JSON spelling and are null.
            Kind::Float => {
                let r = &reference;
                self.sql.push(&format!(
                    "case when {r} in ('NaN', 'Infinity', '-Infinity') then null \
                     when {r} = trunc({r}) and abs({r}) < 1e15 then to_json({r}::numeric(20, 1)) \
                     else to_json({r}) end"
                ));
            }
            _ => {
                self.sql.push(&reference);
            }
        }
    }

    /// A relation of the row `parent`: a list (`[]` when empty) or one object (`null`).
    fn relation(
        &mut self,
        object: &ObjectType,
        relation: &Relation,
        argument: Option<&ArgumentValue>,
        selection: &Selection,
        parent: &str,
    ) {
        let child_table = selection.object.table();
        let child = self.alias("t");
        let mut order: Vec<String> = Vec::new();
        let mut element = None;
        let list = self.alias("u");

        // FROM: the child table, reached through the link.
        let mut from = Sql::new();
        std::mem::swap(&mut from, &mut self.sql);
        let mut conditions: Vec<String> = Vec::new();
        match &relation.link {
            Link::Columns(pairs) => {
                self.sql.ident(child_table.name).push(" ").ident(&child);
                for (p, c) in *pairs {
                    conditions.push(format!("{child}.{c} = {parent}.{p}"));
                }
            }
            Link::Each {
                list: column_list,
                column,
                keep_missing,
            } => {
                self.sql
                    .push("unnest(")
                    .ident(parent)
                    .push(".")
                    .ident(column_list);
                self.sql
                    .push(") with ordinality ")
                    .ident(&list)
                    .push("(k, o) ");
                self.sql
                    .push(if *keep_missing { "left join " } else { "join " });
                self.sql.ident(child_table.name).push(" ").ident(&child);
                self.sql.push(&format!(" on {child}.{column} = {list}.k"));
                order.push(format!("{list}.o"));
                if *keep_missing {
                    element = Some((*column, format!("{list}.k")));
                }
            }
            Link::Through { .. } | Link::AnyOf(_) => {
                let key = match child_table.key {
                    [key] => *key,
                    _ => panic!(
                        "{}.{}: a link of several ways needs a one-column key",
                        object.name, relation.name
                    ),
                };
                let links: &[Link] = match &relation.link {
                    Link::AnyOf(links) => links,
                    one => std::slice::from_ref(one),
                };
                self.sql.push("(");
                for (i, link) in links.iter().enumerate() {
                    if i > 0 {
                        self.sql.push(" union ");
                    }
                    let inner = self.alias("x");
                    match link {
                        Link::Columns(pairs) => {
                            self.sql.push("select ").ident(&inner).push(".").ident(key);
                            self.sql
                                .push(" from ")
                                .ident(child_table.name)
                                .push(" ")
                                .ident(&inner);
                            self.sql.push(" where ");
                            equal(
                                &mut self.sql,
                                &inner,
                                parent,
                                pairs.iter().map(|(p, c)| (*c, *p)),
                            );
                        }
                        Link::Through {
                            table,
                            on,
                            select,
                            column,
                        } => {
                            assert_eq!(*column, key, "{}.{}", object.name, relation.name);
                            self.sql
                                .push("select ")
                                .ident(&inner)
                                .push(".")
                                .ident(select);
                            self.sql.push(" from ").ident(table).push(" ").ident(&inner);
                            self.sql.push(" where ");
                            equal(
                                &mut self.sql,
                                &inner,
                                parent,
                                on.iter().map(|(p, t)| (*t, *p)),
                            );
                        }
                        _ => panic!("{}.{}: unsupported nested link", object.name, relation.name),
                    }
                }
                self.sql
                    .push(") ")
                    .ident(&list)
                    .push("(k) join ")
                    .ident(child_table.name);
                self.sql.push(" ").ident(&child);
                self.sql.push(&format!(" on {child}.{key} = {list}.k"));
            }
        }
        std::mem::swap(&mut from, &mut self.sql);
        for column in relation.order {
            order.push(format!("{child}.{column}"));
        }
        let element_ref = element.as_ref().map(|(c, e)| (*c, e.as_str()));

        if relation.many {
            self.sql.push("coalesce((select json_agg(");
            self.object(selection, &child, element_ref);
            if !order.is_empty() {
                self.sql.push(" order by ").push(&order.join(", "));
            }
            self.sql.push(")");
        } else {
            self.sql.push("(select ");
            self.object(selection, &child, element_ref);
        }
        self.sql.push(" from ").push(from.text());
        self.sql.push(" where true");
        for condition in &conditions {
            self.sql.push(" and ").push(condition);
        }
        if relation.check {
            self.restrict(child_table, &child);
        }
        if let (
            Some(Argument::Overlap { start, seconds, .. }),
            Some(ArgumentValue::Interval(from, to)),
        ) = (&relation.argument, argument)
        {
            self.sql.push(&format!(
                " and {child}.{start} + coalesce({child}.{seconds}, 0) * interval '1 second' > "
            ));
            self.sql.push_bind(*from);
            self.sql.push(&format!(" and {child}.{start} < "));
            self.sql.push_bind(*to);
        }
        if relation.many {
            self.sql.push("), '[]'::json)");
        } else {
            if !order.is_empty() {
                self.sql.push(" order by ").push(&order.join(", "));
            }
            self.sql.push(" limit 1)");
        }
        // The FROM text was written with its own (empty) parameter list: it binds nothing.
        debug_assert!(!from.text().contains('$'));
    }
}

/// `a.x = b.y and …` for `(x, y)` pairs.
fn equal<'p>(sql: &mut Sql, a: &str, b: &str, pairs: impl Iterator<Item = (&'p str, &'p str)>) {
    for (i, (x, y)) in pairs.enumerate() {
        if i > 0 {
            sql.push(" and ");
        }
        sql.ident(a)
            .push(".")
            .ident(x)
            .push(" = ")
            .ident(b)
            .push(".")
            .ident(y);
    }
}

/// Runs a compiled statement: its one row, one column, is the JSON text.
pub(crate) async fn run(pool: &PgPool, statement: Statement) -> Result<String, sqlx::Error> {
    let (text, args) = statement.sql.into_parts();
    sqlx::query_scalar_with::<_, String, _>(&text, args)
        .fetch_one(pool)
        .await
}
