//! Reads pushed down into SQL: a GraphQL selection over the catalogue's object types becomes
//! one statement whose result is the response's JSON, built by PostgreSQL.
//!
//! A [`Selection`] says which entries an object of one type answers with, in order, under their
//! response keys: columns, computed fields, `__typename` and relations with their own
//! selections. [`Statement`] compiles a root (one object by id, or a page of a list) into SQL:
//! each object is the JSON text of exactly the selected columns, each relation a
//! correlated subquery on the index of its link, ordered as the catalogue says. The caller's
//! scope is bound once and applied at the root and at every hop that crosses into another
//! scope ([`visible`]); personal columns are `null` (and `extra` empty) unless the caller may
//! read personal data. So a request costs one statement, whatever the number of parents.

mod pages;
pub mod visible;

pub use pages::*;

use crate::exec;
use domain::Scope;
use domain::catalog::{self, Argument, Column, Kind, Link, ObjectType, Order, Relation, Table};
use sqlx::PgPool;

use crate::sql::Sql;
use visible::{ScopeParams, restrict};

/// What an object answers with.
#[derive(Debug, Clone)]
pub struct Selection {
    pub object: &'static ObjectType,
    pub entries: Vec<Entry>,
}

impl Selection {
    /// Whether the selection asks for personal data anywhere (a personal column, or `extra`):
    /// what a read served to a caller who may read it is audited for.
    pub fn touches_personal(&self) -> bool {
        self.entries.iter().any(|entry| match &entry.value {
            Value::Column(column) => column.personal,
            Value::Extra => true,
            Value::Typename | Value::Duration { .. } => false,
            Value::Relation { selection, .. } => selection.touches_personal(),
            Value::Page { selection, .. } => selection.touches_personal(),
        })
    }
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
    /// A relation that is a connection: a page of related objects.
    Page {
        relation: &'static Relation,
        walk: NestedWalk,
        selection: PageSelection,
    },
}

/// How a relation that is a connection is paged: `first` rows after `after`.
#[derive(Debug, Clone)]
pub struct NestedWalk {
    pub size: i64,
    pub after: Option<Keyset>,
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
    /// The largest answer, in bytes of JSON, a statement may send back; a larger one is
    /// refused by PostgreSQL before it crosses the wire ([`ReadError::TooLarge`]).
    pub max_bytes: i64,
}

/// Why a read gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A list held more children than its relation's bound (`Relation::most`).
    #[error("{relation} holds more than {most} items")]
    ListTooLong { relation: String, most: u32 },
    /// The answer would be larger than the reader's `max_bytes`.
    #[error("the answer is {bytes} bytes; the limit is {limit}")]
    TooLarge { bytes: i64, limit: i64 },
}

/// Entries a single `concat` call takes: a key and a value each, within PostgreSQL's 100
/// arguments.
const ENTRIES_PER_CALL: usize = 49;

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

    /// Appends the JSON text of the object `selection` of the row `alias`; `element`: the
    /// column a list link reads from its list element instead (a division not in the lookup).
    ///
    /// The JSON is written as text, piece by piece (`concat` of the keys and of each value's
    /// JSON), never as `json` values that PostgreSQL would check again when a parent embeds
    /// them: the text of a deep answer is parsed by nobody on its way out.
    pub(crate) fn object(
        &mut self,
        selection: &Selection,
        alias: &str,
        element: Option<(&str, &str)>,
    ) {
        self.json_object(
            &selection.entries,
            |e| &e.key,
            |s, e| s.value(selection.object, &e.value, alias, element),
        );
    }

    /// Appends the JSON text of an object of `entries`: `concat` of each key and of the JSON
    /// text `value` writes for it, in order, in calls of at most 100 arguments.
    pub(crate) fn json_object<T>(
        &mut self,
        entries: &[T],
        key: impl Fn(&T) -> &str,
        mut value: impl FnMut(&mut Self, &T),
    ) {
        if entries.is_empty() {
            self.sql.push("'{}'");
            return;
        }
        let chunks: Vec<&[T]> = entries.chunks(ENTRIES_PER_CALL).collect();
        let nested = chunks.len() > 1;
        if nested {
            self.sql.push("concat(");
        }
        for (c, chunk) in chunks.iter().enumerate() {
            if c > 0 {
                self.sql.push(", ");
            }
            self.sql.push("concat(");
            for (i, entry) in chunk.iter().enumerate() {
                if i > 0 {
                    self.sql.push(", ");
                }
                let first = c == 0 && i == 0;
                self.sql.json_key(if first { "{" } else { "," }, key(entry));
                self.sql.push(", ");
                value(self, entry);
            }
            if !nested {
                self.sql.push(", '}'");
            }
            self.sql.push(")");
        }
        if nested {
            self.sql.push(", '}')");
        }
    }

    /// Appends the JSON text of one entry's value.
    fn value(
        &mut self,
        object: &ObjectType,
        value: &Value,
        alias: &str,
        element: Option<(&str, &str)>,
    ) {
        match value {
            Value::Typename => {
                self.sql.json_string(object.name);
            }
            Value::Column(column) => self.column(column, alias, element),
            Value::Duration { start, end } => {
                self.sql.push("coalesce(trunc(extract(epoch from (");
                self.sql.ident(alias).push(".").ident(end.name).push(" - ");
                self.sql.ident(alias).push(".").ident(start.name);
                self.sql.push(")) * 1000)::bigint::text, 'null')");
            }
            Value::Extra => {
                if self.personal {
                    self.sql
                        .push("coalesce(")
                        .ident(alias)
                        .push(".extra::text, '{}')");
                } else {
                    self.sql.push("'{}'");
                }
            }
            Value::Relation {
                relation,
                argument,
                selection,
            } => self.relation(object, relation, argument.as_ref(), selection, alias),
            Value::Page {
                relation,
                walk,
                selection,
            } => self.page(object, relation, walk, selection, alias),
        }
    }

    /// Appends the JSON text of a column (`null` for SQL NULL).
    fn column(&mut self, column: &Column, alias: &str, element: Option<(&str, &str)>) {
        if column.personal && !self.personal {
            // Withheld: null, or the type's empty value where the schema promises one.
            self.sql.push(match (column.required, column.kind) {
                (false, _) => "'null'",
                (true, Kind::Text) => "'\"\"'",
                (true, Kind::Int) => "'0'",
                (true, Kind::Float) => "'0.0'",
                (true, Kind::Bool) => "'false'",
                (true, Kind::Time) => "'\"1970-01-01T00:00:00+00:00\"'",
                (true, Kind::LocalTime) => "'\"1970-01-01T00:00:00\"'",
                (true, Kind::Texts | Kind::Ints) => "'[]'",
                (true, Kind::Json) => "'null'",
            });
            return;
        }
        let reference = match element {
            Some((name, expression)) if name == column.name => expression.to_owned(),
            _ => format!("{alias}.{}", word(column.name)),
        };
        let r = &reference;
        match column.kind {
            // async-graphql writes a Float as serde_json does: `4.0`, never `4`; NaN and the
            // infinities have no JSON spelling and are null.
            Kind::Float => self.sql.push(&format!(
                "case when {r} is null or {r} in ('NaN', 'Infinity', '-Infinity') then 'null' \
                 when {r} = trunc({r}) and abs({r}) < 1e15 then {r}::numeric(20, 1)::text \
                 else to_json({r})::text end"
            )),
            // Numbers and booleans are their own JSON.
            Kind::Int | Kind::Bool => self.sql.push(&format!("coalesce({r}::text, 'null')")),
            _ => self
                .sql
                .push(&format!("coalesce(to_json({r})::text, 'null')")),
        };
    }

    /// Where the children of a relation come from, for the row `parent`.
    fn source(&mut self, object: &ObjectType, relation: &Relation, parent: &str) -> Source {
        let child_table = catalog::object(relation.target)
            .unwrap_or_else(|| panic!("no catalogue type {}", relation.target))
            .table();
        let child = self.alias("t");
        let list = self.alias("u");
        let mut source = Source {
            from: String::new(),
            conditions: Vec::new(),
            order: Vec::new(),
            element: None,
            child: child.clone(),
        };
        let from = &mut source.from;
        match &relation.link {
            Link::Columns(pairs) => {
                from.push_str(&format!("{} {child}", word(child_table.name)));
                for (p, c) in *pairs {
                    source
                        .conditions
                        .push(format!("{child}.{} = {parent}.{}", word(c), word(p)));
                }
            }
            Link::Each {
                list: column_list,
                column,
                keep_missing,
            } => {
                let join = if *keep_missing { "left join" } else { "join" };
                from.push_str(&format!(
                    "unnest({parent}.{}) with ordinality {list}(k, o) {join} {} {child} on {child}.{} = {list}.k",
                    word(column_list),
                    word(child_table.name),
                    word(column)
                ));
                source.order.push(format!("{list}.o"));
                if *keep_missing {
                    source.element = Some((column, format!("{list}.k")));
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
                let mut ways = Vec::new();
                for link in links {
                    let inner = self.alias("x");
                    ways.push(match link {
                        Link::Columns(pairs) => format!(
                            "select {inner}.{} from {} {inner} where {}",
                            word(key),
                            word(child_table.name),
                            equal(&inner, parent, pairs.iter().map(|(p, c)| (*c, *p)))
                        ),
                        Link::Through {
                            table,
                            on,
                            select,
                            column,
                        } => {
                            assert_eq!(*column, key, "{}.{}", object.name, relation.name);
                            format!(
                                "select {inner}.{} from {} {inner} where {}",
                                word(select),
                                word(table),
                                equal(&inner, parent, on.iter().map(|(p, t)| (*t, *p)))
                            )
                        }
                        _ => panic!("{}.{}: unsupported nested link", object.name, relation.name),
                    });
                }
                from.push_str(&format!(
                    "({}) {list}(k) join {} {child} on {child}.{} = {list}.k",
                    ways.join(" union "),
                    word(child_table.name),
                    word(key)
                ));
            }
        }
        for column in relation.order {
            source.order.push(format!("{child}.{}", word(column)));
        }
        source
    }

    /// Appends ` where …`: the link's conditions, the target's scope when the hop crosses into
    /// another, and the argument's.
    fn conditions(
        &mut self,
        relation: &Relation,
        argument: Option<&ArgumentValue>,
        source: &Source,
    ) {
        let child_table = catalog::object(relation.target)
            .map(|o| o.table())
            .unwrap_or_else(|| panic!("no catalogue type {}", relation.target));
        self.sql.push(" where true");
        for condition in &source.conditions {
            self.sql.push(" and ").push(condition);
        }
        if relation.check {
            self.restrict(child_table, &source.child);
        }
        let child = &source.child;
        if let (
            Some(Argument::Overlap { start, seconds, .. }),
            Some(ArgumentValue::Interval(from, to)),
        ) = (&relation.argument, argument)
        {
            self.sql.push(&format!(
                " and {child}.{} + coalesce({child}.{}, 0) * interval '1 second' > ",
                word(start),
                word(seconds)
            ));
            self.sql.push_bind(*from);
            self.sql.push(&format!(" and {child}.{} < ", word(start)));
            self.sql.push_bind(*to);
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
        let source = self.source(object, relation, parent);
        let element = source.element.as_ref().map(|(c, e)| (*c, e.as_str()));
        let order = source.order.join(", ");
        let bounded = match (relation.most, &relation.link) {
            (Some(most), Link::Columns(_) | Link::Through { .. } | Link::AnyOf(_)) => Some(most),
            // A list of ids (consult conversations) is bounded when it is stored.
            _ => None,
        };
        if let (true, Some(most)) = (relation.many, bounded) {
            // At most `most` children, or the statement fails: read one more than the bound,
            // and count.
            let child = &source.child;
            self.sql.push("coalesce((select case when count(*) > ");
            self.sql
                .push(&most.to_string())
                .push(" then convgraph_list_too_long(");
            self.sql
                .key(object.name)
                .push(" || '.' || ")
                .key(relation.name);
            self.sql
                .push(", ")
                .push(&most.to_string())
                .push(")::text else '[' || string_agg(");
            self.object(selection, child, element);
            self.sql.push(", ','");
            if !order.is_empty() {
                self.sql.push(" order by ").push(&order);
            }
            self.sql
                .push(&format!(") || ']' end from (select {child}.* from "));
            self.sql.push(&source.from);
            self.conditions(relation, argument, &source);
            if !order.is_empty() {
                self.sql.push(" order by ").push(&order);
            }
            self.sql
                .push(&format!(" limit {}) {child}), '[]')", u64::from(most) + 1));
        } else if relation.many {
            self.sql.push("coalesce((select '[' || string_agg(");
            self.object(selection, &source.child, element);
            self.sql.push(", ','");
            if !order.is_empty() {
                self.sql.push(" order by ").push(&order);
            }
            self.sql.push(") || ']' from ").push(&source.from);
            self.conditions(relation, argument, &source);
            self.sql.push("), '[]')");
        } else {
            self.sql.push("coalesce((select ");
            self.object(selection, &source.child, element);
            self.sql.push(" from ").push(&source.from);
            self.conditions(relation, argument, &source);
            if !order.is_empty() {
                self.sql.push(" order by ").push(&order);
            }
            self.sql.push(" limit 1), 'null')");
        }
    }

    /// A relation that is a connection: one page of the children of the row `parent`.
    fn page(
        &mut self,
        object: &ObjectType,
        relation: &Relation,
        walk: &NestedWalk,
        selection: &PageSelection,
        parent: &str,
    ) {
        let Some(Argument::Page { order: keys, .. }) = &relation.argument else {
            panic!("{}.{} is not a connection", object.name, relation.name);
        };
        let source = self.source(object, relation, parent);
        let child = source.child.clone();
        let size = self.sql.bind(walk.size);
        let order: Vec<String> = keys
            .columns
            .iter()
            .map(|c| format!("{child}.{}", word(c)))
            .collect();
        let order = order.join(", ");
        let cursor = cursor(keys, &child);
        let rows = format!("filter (where {child}.n__ <= {size})");
        let after = walk.after.is_some();
        self.sql.push("(select ");
        self.json_object(
            &selection.entries,
            |(k, _)| k,
            |s, (_, value)| match value {
                PageValue::Typename => {
                    s.sql.json_string(selection.connection.name);
                }
                PageValue::Edges(entries) => {
                    s.sql.push("coalesce('[' || string_agg(");
                    s.json_object(
                        entries,
                        |(k, _)| k,
                        |s, (_, value)| match value {
                            EdgeValue::Typename => {
                                s.sql.json_string(&selection.connection.edge());
                            }
                            EdgeValue::Cursor => {
                                s.sql.push(&format!("to_json({cursor})::text"));
                            }
                            EdgeValue::Node(node) => s.object(node, &child, None),
                        },
                    );
                    s.sql
                        .push(&format!(", ',' order by {child}.n__) {rows} || ']', '[]')"));
                }
                PageValue::PageInfo(entries) => s.json_object(
                    entries,
                    |(k, _)| k,
                    |s, (_, value)| match value {
                        PageInfoValue::Typename => {
                            s.sql.json_string("PageInfo");
                        }
                        PageInfoValue::HasNextPage => {
                            s.sql.push(&format!("(count(*) > {size})::text"));
                        }
                        PageInfoValue::HasPreviousPage => {
                            s.sql.push(if after { "'true'" } else { "'false'" });
                        }
                        PageInfoValue::StartCursor | PageInfoValue::EndCursor => {
                            let direction = if matches!(value, PageInfoValue::StartCursor) {
                                "asc"
                            } else {
                                "desc"
                            };
                            s.sql.push(&format!(
                                "coalesce(to_json((array_agg({cursor} order by {child}.n__ \
                                 {direction}) {rows})[1])::text, 'null')"
                            ));
                        }
                    },
                ),
                // Validation allows only the fields of the connection type: a nested page has
                // neither a count nor `nodes`.
                PageValue::TotalCount | PageValue::Nodes(_) => {
                    s.sql.push("'null'");
                }
            },
        );
        self.sql.push(&format!(
            " from (select {child}.*, row_number() over (order by {order}) as n__ from "
        ));
        self.sql.push(&source.from);
        self.conditions(relation, None, &source);
        if let Some(after) = &walk.after {
            self.keyset_after(keys, &child, after, false);
        }
        self.sql
            .push(&format!(" order by {order} limit {size} + 1) {child})"));
    }

    /// Appends ` and (keys) > (cursor)` (`<` walking down).
    pub(crate) fn keyset_after(
        &mut self,
        order: &Order,
        alias: &str,
        after: &Keyset,
        descending: bool,
    ) {
        let columns: Vec<String> = order
            .columns
            .iter()
            .map(|c| format!("{alias}.{}", word(c)))
            .collect();
        self.sql.push(" and (").push(&columns.join(", "));
        self.sql.push(if descending { ") < (" } else { ") > (" });
        let mut first = true;
        if order.timed {
            self.sql.push_bind(after.time);
            first = false;
        }
        for i in 0..order.ids() {
            if !first {
                self.sql.push(", ");
            }
            first = false;
            self.sql
                .push_bind(after.ids.get(i).cloned().unwrap_or_default());
        }
        self.sql.push(")");
    }
}

/// Where a relation's children come from.
struct Source {
    /// The FROM clause (no parameters).
    from: String,
    conditions: Vec<String>,
    order: Vec<String>,
    /// The column a list link reads from its element (`keep_missing`).
    element: Option<(&'static str, String)>,
    child: String,
}

/// `name`, checked to be a plain word (catalogue identifiers are).
fn word(name: &str) -> &str {
    assert!(crate::sql::is_word(name), "not an identifier: {name:?}");
    name
}

/// The SQL of a row's cursor: the order's tag and the row's keyset, one per line,
/// hex-encoded; the time as JSON writes it.
pub(crate) fn cursor(order: &Order, alias: &str) -> String {
    let parts: Vec<String> = order
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if order.timed && i == 0 {
                format!("coalesce(to_json({alias}.{}) #>> '{{}}', '')", word(c))
            } else {
                format!("{alias}.{}", word(c))
            }
        })
        .collect();
    assert!(crate::sql::is_word(order.tag));
    format!(
        "encode(convert_to('{}' || chr(10) || {}, 'UTF8'), 'hex')",
        order.tag,
        parts.join(" || chr(10) || ")
    )
}

/// `a.x = b.y and …` for `(x, y)` pairs.
fn equal<'p>(a: &str, b: &str, pairs: impl Iterator<Item = (&'p str, &'p str)>) -> String {
    pairs
        .map(|(x, y)| format!("{a}.{} = {b}.{}", word(x), word(y)))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// A read compiled into its statement.
pub struct Compiled {
    statement: Statement,
    max_bytes: i64,
}

impl Compiled {
    /// The SQL text (its values are parameters).
    pub fn sql(&self) -> &str {
        self.statement.sql.text()
    }

    /// Runs the statement: its answer's JSON.
    pub async fn run(self, pool: &PgPool) -> Result<String, ReadError> {
        run(pool, self.statement, self.max_bytes).await
    }

    /// PostgreSQL's plan of the statement (`EXPLAIN (FORMAT JSON)`), with sequential scans
    /// disabled: a sequential scan left in the plan is one no index could avoid.
    pub async fn explain(self, pool: &PgPool) -> Result<serde_json::Value, sqlx::Error> {
        let (text, args) = self.statement.sql.into_parts();
        let mut tx = exec::begin(pool).await?;
        sqlx::query("set local enable_seqscan = off")
            .execute(exec::conn(&mut tx))
            .await?;
        let plan: serde_json::Value =
            sqlx::query_scalar_with(&format!("explain (format json) {text}"), args)
                .fetch_one(exec::conn(&mut tx))
                .await?;
        tx.rollback().await?;
        Ok(plan)
    }
}

/// Runs a compiled statement (one row, one column: the JSON text), refusing an answer larger
/// than `max_bytes` in PostgreSQL, so that it never crosses the wire.
async fn run(pool: &PgPool, mut statement: Statement, max_bytes: i64) -> Result<String, ReadError> {
    let limit = statement.sql.bind(max_bytes);
    let mut sql = Sql::new();
    std::mem::swap(&mut sql, &mut statement.sql);
    let (inner, args) = sql.into_parts();
    // `offset 0` keeps the read a subquery of its own: pulled up, its expression would stand
    // in for each of the three mentions of `r`, and be planned and run three times.
    let text = format!(
        "select case when octet_length(r) <= {limit} then r end, octet_length(r)::bigint \
         from (select r from ({inner}) i(r) offset 0) q(r)"
    );
    tracing::trace!(sql = %text, "pushed-down read");
    let (json, bytes): (Option<String>, i64) = sqlx::query_as_with(&text, args)
        .fetch_one(exec::pool(pool))
        .await
        .map_err(too_long)?;
    json.ok_or(ReadError::TooLarge {
        bytes,
        limit: max_bytes,
    })
}

/// The refusal of a list longer than its bound, from the error `convgraph_list_too_long`
/// raises; any other error as it is.
fn too_long(error: sqlx::Error) -> ReadError {
    if let sqlx::Error::Database(db) = &error
        && db.code().as_deref() == Some("CG001")
        && let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        && let (Some(relation), Some(most)) = (pg.detail(), pg.hint().and_then(|h| h.parse().ok()))
    {
        return ReadError::ListTooLong {
            relation: relation.to_owned(),
            most,
        };
    }
    ReadError::Database(error)
}
