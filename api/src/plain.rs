//! Plain data resolved in one pass: for the objects that an aggregate answers thousands of
//! (a bucket, a metric in it, its stats), whose fields are values already computed.
//!
//! async-graphql resolves every field of an object as its own boxed future, joined and
//! collected into a map; for the benchmark's wallboard (about 3,500 metric cells of 6 to 8 fields
//! each) that machinery cost more than the database did. An object here builds its value
//! directly from the selection set instead, with the same meaning: aliases, `__typename`,
//! fragment spreads and inline fragments, and a field selected twice merged into one entry.
//! `@skip` and `@include` were already applied by async-graphql before execution, and the schema
//! has no other directives. The schema is unchanged: each such type registers itself through a
//! derived twin that only describes it.

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::{ContextSelectionSet, Name, Number, QueryEnv, Value};

/// The value of the object `type_name` under `set`: each selected field's value from `field`
/// (given the field, for an object field to resolve its own selection set with [`object`]).
pub(crate) fn object(
    env: &QueryEnv,
    set: &SelectionSet,
    type_name: &str,
    field: &mut dyn FnMut(&QueryEnv, &Field) -> Value,
) -> Value {
    let mut out = IndexMap::new();
    collect(env, set, type_name, field, &mut out);
    Value::Object(out)
}

/// The value of a plain object `T` under the selection set of `ctx`.
pub(crate) fn resolve(ctx: &ContextSelectionSet<'_>, value: &impl Plain) -> Value {
    value.value(ctx.query_env, &ctx.item.node)
}

/// An object resolved by [`object`].
pub(crate) trait Plain {
    fn value(&self, env: &QueryEnv, set: &SelectionSet) -> Value;
}

fn collect(
    env: &QueryEnv,
    set: &SelectionSet,
    type_name: &str,
    field: &mut dyn FnMut(&QueryEnv, &Field) -> Value,
    out: &mut IndexMap<Name, Value>,
) {
    for selection in &set.items {
        let (condition, inner) = match &selection.node {
            Selection::Field(f) => {
                let key = f.node.response_key().node.clone();
                let value = if f.node.name.node == "__typename" {
                    Value::String(type_name.to_owned())
                } else {
                    field(env, &f.node)
                };
                insert(out, key, value);
                continue;
            }
            Selection::FragmentSpread(spread) => {
                // Validation has checked that the fragment exists.
                let Some(fragment) = env.fragments.get(&spread.node.fragment_name.node) else {
                    continue;
                };
                (
                    Some(&fragment.node.type_condition.node.on.node),
                    &fragment.node.selection_set.node,
                )
            }
            Selection::InlineFragment(fragment) => (
                fragment
                    .node
                    .type_condition
                    .as_ref()
                    .map(|c| &c.node.on.node),
                &fragment.node.selection_set.node,
            ),
        };
        // These types implement no interface and belong to no union: a fragment applies when
        // it is on the type itself (or has no type condition).
        if condition.is_none_or(|on| on.as_str() == type_name) {
            collect(env, inner, type_name, field, out);
        }
    }
}

/// A response key selected again merges into the first (async-graphql's `insert_value`):
/// objects key by key, lists item by item.
fn insert(out: &mut IndexMap<Name, Value>, key: Name, value: Value) {
    match out.get_mut(&key) {
        Some(existing) => merge(existing, value),
        None => {
            out.insert(key, value);
        }
    }
}

fn merge(existing: &mut Value, value: Value) {
    match (existing, value) {
        (Value::Object(target), Value::Object(source)) => {
            for (key, value) in source {
                insert(target, key, value);
            }
        }
        (Value::List(target), Value::List(source)) => {
            for (target, source) in target.iter_mut().zip(source) {
                merge(target, source);
            }
        }
        (existing, value) => *existing = value,
    }
}

/// A list of plain objects under `set`.
pub(crate) fn list<T: Plain>(env: &QueryEnv, set: &SelectionSet, items: &[T]) -> Value {
    Value::List(items.iter().map(|item| item.value(env, set)).collect())
}

/// A nullable Float as async-graphql writes it (NaN and infinities: null).
pub(crate) fn float(v: Option<f64>) -> Value {
    v.and_then(Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// A nullable Int.
pub(crate) fn int(v: Option<i64>) -> Value {
    v.map_or(Value::Null, |v| Value::Number(v.into()))
}
