//! A GraphQL selection as the read planner takes it ([`db::select::Selection`]): the fields of
//! each object under their response keys, in order, through fragment spreads and inline
//! fragments, a key selected twice merged into one entry (its sub-selections merged), and the
//! values of relation arguments with variables substituted. `@skip` and `@include` were already
//! applied by async-graphql before execution; validation has checked every name and type.

use async_graphql::parser::types::{Field, Selection as QuerySelection, SelectionSet};
use async_graphql::{ContextSelectionSet, Name, Positioned, QueryEnv, Value};
use db::select::{
    ArgumentValue, EdgeValue, Entry, Keyset, NestedWalk, PageInfoValue, PageSelection, PageValue,
    ReadError, Reader, Selection, Value as Output,
};
use domain::catalog::{self, Argument, Column, Connection, ObjectType, Order, Relation};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::auth::Caller;
use crate::context::parse_interval;
use crate::error::ApiError;

/// The fields of one response key: the same field selected once or several times.
type Group<'a> = (&'a Name, Vec<&'a Positioned<Field>>);

/// Whether a request's reads served personal data (a personal column or `extra`, to a caller
/// with `pii:read`): shared by its operations, read by the request log's audit line.
#[derive(Debug, Default)]
pub struct PersonalAudit(std::sync::atomic::AtomicBool);

impl PersonalAudit {
    pub fn served(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Marks the request of `ctx` as having served personal data, when `reader` served it and
/// `touches` says the selection asked for some.
pub fn audit_personal(ctx: &ContextSelectionSet<'_>, reader: &Reader<'_>, touches: bool) {
    if reader.personal && touches {
        if let Ok(audit) = ctx.data::<std::sync::Arc<PersonalAudit>>() {
            audit.0.store(true, Ordering::Relaxed);
        }
    }
}

/// What the reads of one operation may still answer with, in bytes of JSON
/// (`CONVGRAPH_MAX_RESPONSE_BYTES`), shared by its root fields.
pub struct ResponseBudget {
    limit: usize,
    left: AtomicI64,
}

impl ResponseBudget {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            left: AtomicI64::new(i64::try_from(limit).unwrap_or(i64::MAX)),
        }
    }

    fn left(&self) -> i64 {
        self.left.load(Ordering::Relaxed).max(0)
    }

    /// Takes `bytes` from what is left; past the limit, the error that ends the request.
    pub fn spend(&self, bytes: usize) -> Result<(), ApiError> {
        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        if self.left.fetch_sub(bytes, Ordering::Relaxed) < bytes {
            return Err(too_large(self.limit));
        }
        Ok(())
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::Limit(
        "RESPONSE_TOO_LARGE",
        format!(
            "the answer would be larger than {limit} bytes, the most one response carries: \
             select fewer fields or ask for a smaller page"
        ),
    )
}

/// The pool, who reads, and the operation's response budget, for a root field.
pub fn reader<'a>(
    ctx: &ContextSelectionSet<'a>,
) -> Result<(&'a PgPool, Reader<'a>, &'a ResponseBudget), ApiError> {
    let pool = ctx
        .data::<PgPool>()
        .map_err(|_| ApiError::internal("no pool in the request"))?;
    let caller = ctx
        .data::<Caller>()
        .map_err(|_| ApiError::internal("no caller in the request"))?;
    let budget = ctx
        .data::<ResponseBudget>()
        .map_err(|_| ApiError::internal("no response budget in the request"))?;
    Ok((
        pool,
        Reader {
            scope: &caller.scope,
            personal: caller.may_read_personal(),
            max_bytes: budget.left(),
        },
        budget,
    ))
}

/// A read's failure as the client sees it.
pub fn read_error(error: ReadError) -> ApiError {
    match error {
        ReadError::Database(e) => ApiError::from_db(e),
        ReadError::ListTooLong { relation, most } => ApiError::Limit(
            "LIST_TOO_LONG",
            format!(
                "`{relation}` holds more than {most} items, more than one answer serves whole: \
                 leave it out of the selection or narrow the parents"
            ),
        ),
        ReadError::TooLarge { limit, .. } => too_large(usize::try_from(limit).unwrap_or(0)),
    }
}

/// The root fields that answer under `field`'s response key, merged. Every one of them
/// answers for all: async-graphql resolves root fields concurrently and keeps, under a key,
/// the answer that completes first. `None` never happens today; the type leaves room for
/// answering a repeated key once.
pub fn root_selection<'a>(
    ctx: &ContextSelectionSet<'a>,
    field: &'a Positioned<Field>,
) -> Option<Vec<&'a Positioned<Field>>> {
    let env: &'a QueryEnv = ctx.query_env;
    let root = &env.operation.node.selection_set.node;
    let mut fields = Vec::new();
    collect(env, root, None, &mut fields);
    let key = field.node.response_key();
    let same: Vec<&'a Positioned<Field>> = fields
        .into_iter()
        .filter(|f| f.node.response_key().node == key.node)
        .collect();
    Some(if same.is_empty() { vec![field] } else { same })
}

/// Every field of `set` (through fragments that apply to `type_name`; any with `None`).
fn collect<'a>(
    env: &'a QueryEnv,
    set: &'a SelectionSet,
    type_name: Option<&str>,
    out: &mut Vec<&'a Positioned<Field>>,
) {
    for selection in &set.items {
        match &selection.node {
            QuerySelection::Field(field) => out.push(field),
            QuerySelection::FragmentSpread(spread) => {
                if let Some(fragment) = env.fragments.get(&spread.node.fragment_name.node)
                    && applies(&fragment.node.type_condition.node.on.node, type_name)
                {
                    collect(env, &fragment.node.selection_set.node, type_name, out);
                }
            }
            QuerySelection::InlineFragment(fragment) => {
                let on = fragment
                    .node
                    .type_condition
                    .as_ref()
                    .map(|c| &c.node.on.node);
                if on.is_none_or(|on| applies(on, type_name)) {
                    collect(env, &fragment.node.selection_set.node, type_name, out);
                }
            }
        }
    }
}

/// Whether a fragment on `on` applies to an object of `type_name`: these types implement no
/// interface and belong to no union, so only a fragment on the type itself does.
fn applies(on: &str, type_name: Option<&str>) -> bool {
    type_name.is_none_or(|t| t == on)
}

/// The fields of `fields`' selection sets for an object of `type_name`, grouped by response
/// key in the order the keys first appear.
fn groups<'a>(
    env: &'a QueryEnv,
    fields: &[&'a Positioned<Field>],
    type_name: &str,
) -> Vec<Group<'a>> {
    let mut all = Vec::new();
    for field in fields {
        collect(
            env,
            &field.node.selection_set.node,
            Some(type_name),
            &mut all,
        );
    }
    let mut out: Vec<Group<'a>> = Vec::new();
    for field in all {
        let key = &field.node.response_key().node;
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, same)) => same.push(field),
            None => out.push((key, vec![field])),
        }
    }
    out
}

/// What a field name of an object type reads.
enum Target {
    Column(&'static Column),
    Duration(&'static Column, &'static Column),
    Extra,
    Relation(&'static Relation),
}

/// Field name -> what it reads, per object type, from the catalogue (built once).
fn index(object: &ObjectType) -> &'static HashMap<String, Target> {
    static INDEX: OnceLock<HashMap<&'static str, HashMap<String, Target>>> = OnceLock::new();
    let all = INDEX.get_or_init(|| {
        catalog::OBJECTS
            .iter()
            .map(|o| {
                let table = o.table();
                let column = |name: &str| {
                    table
                        .column(name)
                        .unwrap_or_else(|| panic!("{}: no column {name}", o.name))
                };
                let mut fields = HashMap::new();
                for field in o.fields {
                    match field {
                        catalog::Field::Columns => {
                            for c in table.columns {
                                fields.insert(c.field_name(), Target::Column(c));
                            }
                        }
                        catalog::Field::Alias {
                            name, column: c, ..
                        } => {
                            fields.insert(name.to_string(), Target::Column(column(c)));
                        }
                        catalog::Field::Duration {
                            name, start, end, ..
                        } => {
                            fields.insert(
                                name.to_string(),
                                Target::Duration(column(start), column(end)),
                            );
                        }
                        catalog::Field::Extra => {
                            fields.insert("extra".into(), Target::Extra);
                        }
                        catalog::Field::Relation(r) => {
                            fields.insert(r.name.to_string(), Target::Relation(r));
                        }
                    }
                }
                (o.name, fields)
            })
            .collect()
    });
    &all[object.name]
}

/// The selection of an object of type `object` made by the merged `fields`.
pub fn object(
    ctx: &ContextSelectionSet<'_>,
    object: &'static ObjectType,
    fields: &[&Positioned<Field>],
) -> Result<Selection, ApiError> {
    build(ctx.query_env, object, fields)
}

/// The selection of an object of type `object` made by the merged `fields`, in `env`.
pub(crate) fn build(
    env: &QueryEnv,
    object: &'static ObjectType,
    fields: &[&Positioned<Field>],
) -> Result<Selection, ApiError> {
    let index = index(object);
    let mut entries = Vec::new();
    for (key, same) in groups(env, fields, object.name) {
        let name = same[0].node.name.node.as_str();
        let value = if name == "__typename" {
            Output::Typename
        } else {
            match index.get(name) {
                Some(Target::Column(c)) => Output::Column(c),
                Some(Target::Duration(start, end)) => Output::Duration { start, end },
                Some(Target::Extra) => Output::Extra,
                Some(Target::Relation(relation)) => match &relation.argument {
                    Some(Argument::Page { connection, order }) => {
                        let connection = catalog::connection(connection).ok_or_else(|| {
                            ApiError::internal(format!("no catalogue connection {connection}"))
                        })?;
                        Output::Page {
                            relation,
                            walk: nested_walk(env, relation, order, same[0])?,
                            selection: build_page(env, connection, &same)?,
                        }
                    }
                    _ => {
                        let target = catalog::object(relation.target).ok_or_else(|| {
                            ApiError::internal(format!("no catalogue type {}", relation.target))
                        })?;
                        Output::Relation {
                            relation,
                            argument: argument(env, relation, same[0])?,
                            selection: build(env, target, &same)?,
                        }
                    }
                },
                // Validation refuses unknown fields before execution.
                None => {
                    return Err(ApiError::internal(format!(
                        "{}.{name} is not in the catalogue",
                        object.name
                    )));
                }
            }
        };
        entries.push(Entry {
            key: key.to_string(),
            value,
        });
    }
    Ok(Selection { object, entries })
}

/// The value of a relation's argument, variables substituted.
fn argument(
    env: &QueryEnv,
    relation: &Relation,
    field: &Positioned<Field>,
) -> Result<Option<ArgumentValue>, ApiError> {
    let Some(argument) = &relation.argument else {
        return Ok(None);
    };
    let value = field
        .node
        .get_argument(argument.name())
        .map(|v| v.node.clone().into_const_with(|name| variable(env, &name)))
        .transpose()?;
    match (argument, value) {
        (Argument::Page { .. }, _) | (_, None | Some(Value::Null)) => Ok(None),
        (Argument::Overlap { name, .. }, Some(Value::String(interval))) => {
            let (from, to) = parse_interval(&interval)
                .map_err(|e| ApiError::bad_input(format!("{}({name}:): {e}", relation.name)))?;
            Ok(Some(ArgumentValue::Interval(from, to)))
        }
        (Argument::Overlap { name, .. }, Some(other)) => Err(ApiError::bad_input(format!(
            "{}({name}:) takes a string, not {other}",
            relation.name
        ))),
    }
}

/// A variable's value: given, or its default.
fn variable(env: &QueryEnv, name: &Name) -> Result<Value, ApiError> {
    if let Some(value) = env.variables.get(name) {
        return Ok(value.clone());
    }
    env.operation
        .node
        .variable_definitions
        .iter()
        .find(|d| d.node.name.node == *name)
        .and_then(|d| d.node.default_value().cloned())
        .map_or(Ok(Value::Null), Ok)
}

/// An argument's value, variables substituted; `None` when absent or null.
fn argument_value(
    env: &QueryEnv,
    field: &Positioned<Field>,
    name: &str,
) -> Result<Option<Value>, ApiError> {
    let value = field
        .node
        .get_argument(name)
        .map(|v| v.node.clone().into_const_with(|n| variable(env, &n)))
        .transpose()?;
    Ok(value.filter(|v| *v != Value::Null))
}

/// How a relation that is a connection is paged: `first` (default 25, at most the configured
/// page size, which the document check enforces) rows after the cursor `after`.
fn nested_walk(
    env: &QueryEnv,
    relation: &Relation,
    order: &Order,
    field: &Positioned<Field>,
) -> Result<NestedWalk, ApiError> {
    let size = match argument_value(env, field, "first")? {
        None => 25,
        Some(Value::Number(n)) => n.as_i64().filter(|n| *n >= 1).ok_or_else(|| {
            ApiError::bad_input(format!(
                "{}(first:) must be at least 1, not {n}",
                relation.name
            ))
        })?,
        Some(other) => {
            return Err(ApiError::bad_input(format!(
                "{}(first:) takes an Int, not {other}",
                relation.name
            )));
        }
    };
    let after = match argument_value(env, field, "after")? {
        None => None,
        Some(Value::String(cursor)) => Some(decode_keyset(order, &cursor)?),
        Some(other) => {
            return Err(ApiError::bad_input(format!(
                "{}(after:) takes a String, not {other}",
                relation.name
            )));
        }
    };
    Ok(NestedWalk { size, after })
}

/// The selection of a page (a connection of `connection`'s type) made by the merged `fields`.
pub fn page(
    ctx: &ContextSelectionSet<'_>,
    connection: &'static Connection,
    fields: &[&Positioned<Field>],
) -> Result<PageSelection, ApiError> {
    build_page(ctx.query_env, connection, fields)
}

fn build_page(
    env: &QueryEnv,
    connection: &'static Connection,
    fields: &[&Positioned<Field>],
) -> Result<PageSelection, ApiError> {
    let node = catalog::object(connection.node)
        .ok_or_else(|| ApiError::internal(format!("no catalogue type {}", connection.node)))?;
    let edge = connection.edge();
    let mut entries = Vec::new();
    for (key, same) in groups(env, fields, connection.name) {
        let value = match same[0].node.name.node.as_str() {
            "__typename" => PageValue::Typename,
            "totalCount" => PageValue::TotalCount,
            "nodes" => PageValue::Nodes(build(env, node, &same)?),
            "pageInfo" => {
                let mut info = Vec::new();
                for (key, fields) in groups(env, &same, "PageInfo") {
                    let value = match fields[0].node.name.node.as_str() {
                        "__typename" => PageInfoValue::Typename,
                        "hasNextPage" => PageInfoValue::HasNextPage,
                        "hasPreviousPage" => PageInfoValue::HasPreviousPage,
                        "startCursor" => PageInfoValue::StartCursor,
                        "endCursor" => PageInfoValue::EndCursor,
                        other => return Err(not_in_schema("PageInfo", other)),
                    };
                    info.push((key.to_string(), value));
                }
                PageValue::PageInfo(info)
            }
            "edges" => {
                let mut edges = Vec::new();
                for (key, fields) in groups(env, &same, &edge) {
                    let value = match fields[0].node.name.node.as_str() {
                        "__typename" => EdgeValue::Typename,
                        "cursor" => EdgeValue::Cursor,
                        "node" => EdgeValue::Node(build(env, node, &fields)?),
                        other => return Err(not_in_schema(&edge, other)),
                    };
                    edges.push((key.to_string(), value));
                }
                PageValue::Edges(edges)
            }
            other => return Err(not_in_schema(connection.name, other)),
        };
        entries.push((key.to_string(), value));
    }
    Ok(PageSelection {
        connection,
        entries,
    })
}

fn not_in_schema(type_name: &str, field: &str) -> ApiError {
    ApiError::internal(format!("{type_name}.{field} is not in the catalogue"))
}

/// The keyset of an `after` cursor of a list in `order`: its tag, then (for lists in time
/// order) a time, then the ids, one per line, hex-encoded.
pub fn decode_keyset(order: &Order, cursor: &str) -> Result<Keyset, ApiError> {
    let bad = || ApiError::bad_input(format!("after: {cursor:?} is not a cursor of this list"));
    if cursor.len() % 2 != 0 || cursor.len() > 4096 {
        return Err(bad());
    }
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2)?, 16).ok())
        .collect();
    let text = bytes
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let keyset = match text.split_once('\n') {
        Some((tag, keyset)) if tag == order.tag => keyset,
        _ => return Err(bad()),
    };
    if !order.timed {
        return Ok(Keyset {
            time: None,
            ids: vec![keyset.to_owned()],
        });
    }
    let mut parts = keyset.splitn(order.ids() + 1, '\n');
    let time = parts.next().ok_or_else(bad)?;
    let time = domain::reader::parse_time(time).map_err(|_| bad())?;
    let ids: Vec<String> = parts.map(str::to_owned).collect();
    if ids.len() != order.ids() {
        return Err(bad());
    }
    Ok(Keyset {
        time: Some(time),
        ids,
    })
}
