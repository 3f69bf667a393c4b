//! Limits on abusive operations, and the checks that enforce them before anything executes.
//!
//! | limit | checked | code |
//! | --- | --- | --- |
//! | aliases in the document | on the parsed document ([`check_document`]) | `TOO_MANY_ALIASES` |
//! | fields at the root of the operation | on the parsed document | `TOO_MANY_ROOT_FIELDS` |
//! | directives in the document | on the parsed document | `TOO_MANY_DIRECTIVES` |
//! | page size (`first` / `last`) | on the parsed document, and again by the resolver | `PAGE_TOO_LARGE` |
//! | depth | on the parsed document, with the schema's types, before validation ([`LimitsExtension`], [`cost`]) | `QUERY_TOO_DEEP` |
//! | complexity, page sizes multiplied in ([`field_multiplier`]) | likewise | `QUERY_TOO_COMPLEX` |
//! | operations in a batch (a JSON array body) | when the body is read | `BATCHING_DISABLED`, `BATCH_TOO_LARGE` |
//!
//! Each refusal is a request error (no `data`, HTTP 400 with `application/graphql-response+json`)
//! whose message names the limit and the value found.
//!
//! Depth and complexity are computed in one pass over the document, in time linear in its size:
//! each fragment's cost is computed once, after the fragments it spreads, and a spread adds that
//! memoised cost (multiplied, like any selection, by the pages around it). Expanding spreads
//! instead costs exponential time: 14 fragments of 4 spreads each expand to 4^14 fields from 889
//! bytes. They are checked before async-graphql parses the document for execution, because its
//! parse step (the nesting check) and its validation expand fragments themselves: a document
//! within the limits is small enough expanded for them.

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::Positioned;
use async_graphql::parser::types::{
    Directive, ExecutableDocument, Field, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::registry::{MetaField, MetaType, Registry};
use async_graphql::{ServerResult, Value, Variables};
use std::collections::HashMap;
use std::sync::Arc;

use crate::error::ApiError;

/// The limits, each with a default fit for `serve`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest selection nesting.
    pub max_depth: usize,
    /// Highest complexity: every field counts 1, a page (`first` / `last`, default 25)
    /// multiplies what is under it.
    pub max_complexity: usize,
    /// Most aliases in one document.
    pub max_aliases: usize,
    /// Most fields at the root of the operation (fragments expanded).
    pub max_root_fields: usize,
    /// Most directives in one document.
    pub max_directives: usize,
    /// Largest page (`first` / `last`).
    pub max_page_size: usize,
    /// Most operations in a batch (a JSON array body); 0 turns batching off.
    pub max_batch: usize,
    /// Most bytes of JSON the reads of one operation may answer with: past it the request
    /// ends with `RESPONSE_TOO_LARGE`, before the answer reaches the gateway's memory.
    pub max_response_bytes: usize,
    /// Most subscriptions one process holds at once (`TOO_MANY_SUBSCRIPTIONS` past it).
    pub max_subscriptions: usize,
    /// Most operations running at once on one WebSocket connection.
    pub max_subscriptions_per_connection: usize,
    /// Whether `__schema` / `__type` are answered.
    pub introspection: bool,
    /// Whether errors suggest field names ("did you mean …").
    pub field_suggestions: bool,
}

impl Limits {
    pub const DEFAULT_MAX_DEPTH: usize = 16;
    pub const DEFAULT_MAX_COMPLEXITY: usize = 500_000;
    pub const DEFAULT_MAX_ALIASES: usize = 30;
    pub const DEFAULT_MAX_ROOT_FIELDS: usize = 20;
    pub const DEFAULT_MAX_DIRECTIVES: usize = 50;
    pub const DEFAULT_MAX_PAGE_SIZE: usize = 500;
    pub const DEFAULT_MAX_BATCH: usize = 0;
    pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
    pub const DEFAULT_MAX_SUBSCRIPTIONS: usize = 20_000;
    pub const DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 100;

    /// The defaults with introspection and field suggestions on, for `demo` and GraphiQL
    /// sessions on a developer's machine.
    pub fn demo() -> Self {
        Self {
            introspection: true,
            field_suggestions: true,
            ..Self::default()
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: Self::DEFAULT_MAX_DEPTH,
            max_complexity: Self::DEFAULT_MAX_COMPLEXITY,
            max_aliases: Self::DEFAULT_MAX_ALIASES,
            max_root_fields: Self::DEFAULT_MAX_ROOT_FIELDS,
            max_directives: Self::DEFAULT_MAX_DIRECTIVES,
            max_page_size: Self::DEFAULT_MAX_PAGE_SIZE,
            max_batch: Self::DEFAULT_MAX_BATCH,
            max_response_bytes: Self::DEFAULT_MAX_RESPONSE_BYTES,
            max_subscriptions: Self::DEFAULT_MAX_SUBSCRIPTIONS,
            max_subscriptions_per_connection: Self::DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION,
            introspection: false,
            field_suggestions: false,
        }
    }
}

/// The checks on the parsed document: aliases, root fields, directives, page sizes.
/// `operation` is the operation that will run (`None` when the document names no single one:
/// execution reports that, and the root fields of every operation are counted).
pub fn check_document(
    document: &ExecutableDocument,
    operation: Option<&str>,
    variables: &Variables,
    limits: &Limits,
) -> Result<(), ApiError> {
    let mut count = Count::default();
    for (_, operation) in document.operations.iter() {
        count.operation(&operation.node, variables);
    }
    for fragment in document.fragments.values() {
        count.directives(&fragment.node.directives);
        count.selection_set(&fragment.node.selection_set, variables);
    }
    if let Some(page) = count.largest_page
        && page.size > limits.max_page_size as i64
    {
        return Err(ApiError::limit(
            "PAGE_TOO_LARGE",
            format!(
                "`{}({}: {})` asks for a page of {}; the largest page is {}",
                page.field, page.argument, page.size, page.size, limits.max_page_size
            ),
        ));
    }
    if count.aliases > limits.max_aliases {
        return Err(ApiError::limit(
            "TOO_MANY_ALIASES",
            format!(
                "the query has {} aliases; the limit is {}",
                count.aliases, limits.max_aliases
            ),
        ));
    }
    if count.directives > limits.max_directives {
        return Err(ApiError::limit(
            "TOO_MANY_DIRECTIVES",
            format!(
                "the query has {} directives; the limit is {}",
                count.directives, limits.max_directives
            ),
        ));
    }
    let fragments = FragmentOrder::of(document);
    let mut fragment_roots: HashMap<&str, usize> = HashMap::new();
    for name in &fragments.order {
        let n = root_fields(
            &document.fragments[*name].node.selection_set,
            &fragment_roots,
        );
        fragment_roots.insert(name, n);
    }
    let root_fields = document
        .operations
        .iter()
        .filter(|(name, _)| operation.is_none() || name.map(|n| n.as_str()) == operation)
        .map(|(_, op)| root_fields(&op.node.selection_set, &fragment_roots))
        .max()
        .unwrap_or(0);
    if root_fields > limits.max_root_fields {
        return Err(ApiError::limit(
            "TOO_MANY_ROOT_FIELDS",
            format!(
                "the operation selects {root_fields} root fields; the limit is {}",
                limits.max_root_fields
            ),
        ));
    }
    Ok(())
}

#[derive(Default)]
struct Count {
    aliases: usize,
    directives: usize,
    largest_page: Option<Page>,
}

struct Page {
    field: String,
    argument: &'static str,
    size: i64,
}

impl Count {
    fn operation(&mut self, operation: &OperationDefinition, variables: &Variables) {
        self.directives(&operation.directives);
        for definition in &operation.variable_definitions {
            self.directives(&definition.node.directives);
        }
        self.selection_set(&operation.selection_set, variables);
    }

    fn directives(&mut self, directives: &[Positioned<Directive>]) {
        self.directives += directives.len();
    }

    fn selection_set(&mut self, set: &Positioned<SelectionSet>, variables: &Variables) {
        for selection in &set.node.items {
            match &selection.node {
                Selection::Field(field) => self.field(&field.node, variables),
                Selection::FragmentSpread(spread) => self.directives(&spread.node.directives),
                Selection::InlineFragment(inline) => {
                    self.directives(&inline.node.directives);
                    self.selection_set(&inline.node.selection_set, variables);
                }
            }
        }
    }

    fn field(&mut self, field: &Field, variables: &Variables) {
        if field.alias.is_some() {
            self.aliases += 1;
        }
        self.directives(&field.directives);
        for argument in ["first", "last"] {
            let size = field
                .get_argument(argument)
                .and_then(|value| {
                    value
                        .node
                        .clone()
                        .into_const_with(|name| variables.get(&name).cloned().ok_or(()))
                        .ok()
                })
                .and_then(|value| match value {
                    Value::Number(n) => n.as_i64(),
                    _ => None,
                });
            if let Some(size) = size
                && self
                    .largest_page
                    .as_ref()
                    .is_none_or(|page| size > page.size)
            {
                self.largest_page = Some(Page {
                    field: field.name.node.to_string(),
                    argument,
                    size,
                });
            }
        }
        self.selection_set(&field.selection_set, variables);
    }
}

/// The fields at the root of `set`, through fragments, whose own counts are in `fragments` (a
/// fragment missing there, unknown or on a cycle that validation refuses later, counts 0).
fn root_fields(set: &Positioned<SelectionSet>, fragments: &HashMap<&str, usize>) -> usize {
    set.node
        .items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(inline) => root_fields(&inline.node.selection_set, fragments),
            Selection::FragmentSpread(spread) => fragments
                .get(spread.node.fragment_name.node.as_str())
                .copied()
                .unwrap_or(0),
        })
        .fold(0, usize::saturating_add)
}

/// The fragments of a document in an order where each comes after the fragments it spreads, so
/// that a fragment's cost can be computed once from theirs. A spread that closes a cycle is left
/// out of the order's dependencies, and the cycle is reported.
struct FragmentOrder<'a> {
    order: Vec<&'a str>,
    /// A fragment that spreads itself, directly or through others.
    cycle: Option<&'a str>,
}

impl<'a> FragmentOrder<'a> {
    fn of(document: &'a ExecutableDocument) -> Self {
        let spreads: HashMap<&str, Vec<&str>> = document
            .fragments
            .iter()
            .map(|(name, fragment)| {
                let mut out = Vec::new();
                spreads_in(&fragment.node.selection_set, &mut out);
                (name.as_str(), out)
            })
            .collect();
        let mut names: Vec<&str> = spreads.keys().copied().collect();
        names.sort_unstable();
        let mut done: HashMap<&str, bool> = HashMap::new(); // false: in progress
        let mut order = Vec::with_capacity(names.len());
        let mut cycle = None;
        for start in names {
            if done.contains_key(start) {
                continue;
            }
            done.insert(start, false);
            // Depth-first, with an explicit stack: a chain of fragments can be as long as the
            // document allows.
            let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
            while let Some((name, next)) = stack.last_mut() {
                let deps = &spreads[*name];
                if let Some(dep) = deps.get(*next).copied() {
                    *next += 1;
                    match done.get(dep) {
                        _ if !spreads.contains_key(dep) => {}
                        None => {
                            done.insert(dep, false);
                            stack.push((dep, 0));
                        }
                        Some(false) => {
                            cycle.get_or_insert(dep);
                        }
                        Some(true) => {}
                    }
                } else {
                    done.insert(name, true);
                    order.push(*name);
                    stack.pop();
                }
            }
        }
        Self { order, cycle }
    }
}

/// The fragments spread anywhere in `set`.
fn spreads_in<'a>(set: &'a Positioned<SelectionSet>, out: &mut Vec<&'a str>) {
    for selection in &set.node.items {
        match &selection.node {
            Selection::Field(field) => spreads_in(&field.node.selection_set, out),
            Selection::InlineFragment(inline) => spreads_in(&inline.node.selection_set, out),
            Selection::FragmentSpread(spread) => out.push(spread.node.fragment_name.node.as_str()),
        }
    }
}

/// The depth and complexity of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cost {
    /// The deepest nesting of fields.
    pub depth: usize,
    /// Each field 1 (`__typename` too), what a field selects multiplied by
    /// [`field_multiplier`]; summed over the document's operations.
    pub complexity: usize,
}

impl Cost {
    /// Both selections, side by side.
    fn and(self, other: Cost) -> Cost {
        Cost {
            depth: self.depth.max(other.depth),
            complexity: self.complexity.saturating_add(other.complexity),
        }
    }
}

/// The default page of a connection without `first` / `last` (what the resolvers use).
pub const DEFAULT_PAGE_SIZE: i32 = 25;

/// How many times what `field` of the type `parent` selects counts in the complexity: the one
/// place that says how many items a field can return. A page (a field with a `first` or `last`
/// argument) counts its size, [`DEFAULT_PAGE_SIZE`] when neither is given; a list that grows
/// apart from any one document counts its bound (`Relation::most` in the catalogue: the read
/// refuses a longer one); every other field counts once (one object, or a list of the
/// conversation's own document, which the ingest limits bound). `argument` reads an argument's
/// value, variables resolved.
pub fn field_multiplier(
    parent: &str,
    field: &MetaField,
    argument: &dyn Fn(&str) -> Option<i64>,
) -> usize {
    let paged = field.args.contains_key("first") || field.args.contains_key("last");
    if !paged {
        return domain::catalog::object(parent)
            .and_then(|object| object.relation(&field.name))
            .and_then(|relation| relation.most)
            .map_or(1, |most| most as usize);
    }
    let size = argument("first")
        .or_else(|| argument("last"))
        .unwrap_or(i64::from(DEFAULT_PAGE_SIZE));
    usize::try_from(size).unwrap_or(0).max(1)
}

/// The depth and complexity of every operation of `document` under the schema's `registry`,
/// in time linear in the document (see the module's documentation). A fragment that spreads
/// itself is refused here, before anything could expand it.
pub fn cost(
    registry: &Registry,
    document: &ExecutableDocument,
    variables: &Variables,
) -> Result<Cost, ApiError> {
    let fragments = FragmentOrder::of(document);
    if let Some(name) = fragments.cycle {
        return Err(ApiError::limit(
            "GRAPHQL_VALIDATION_FAILED",
            format!("fragment \"{name}\" spreads itself (directly or through other fragments)"),
        ));
    }
    let costing = Costing {
        registry,
        variables: effective_variables(document, variables),
    };
    let mut memo: HashMap<&str, Cost> = HashMap::new();
    for name in &fragments.order {
        let fragment = &document.fragments[*name].node;
        let on = registry
            .types
            .get(fragment.type_condition.node.on.node.as_str());
        let cost = costing.selection_set(&fragment.selection_set, on, &memo);
        memo.insert(name, cost);
    }
    Ok(document
        .operations
        .iter()
        .map(|(_, operation)| {
            let root = match operation.node.ty {
                OperationType::Query => Some(registry.query_type.as_str()),
                OperationType::Mutation => registry.mutation_type.as_deref(),
                OperationType::Subscription => registry.subscription_type.as_deref(),
            };
            let root = root.and_then(|name| registry.types.get(name));
            costing.selection_set(&operation.node.selection_set, root, &memo)
        })
        .fold(Cost::default(), Cost::and))
}

/// The values variables take for the count: the given one, else the largest default any
/// operation declares (so that a default cannot make a page look smaller than it is).
fn effective_variables(document: &ExecutableDocument, variables: &Variables) -> Variables {
    let mut effective = variables.clone();
    for (_, operation) in document.operations.iter() {
        for definition in &operation.node.variable_definitions {
            let name = &definition.node.name.node;
            let Some(default) = &definition.node.default_value else {
                continue;
            };
            if variables.contains_key(name) {
                continue;
            }
            let larger = match (effective.get(name), &default.node) {
                (Some(Value::Number(old)), Value::Number(new)) => {
                    new.as_f64().unwrap_or(0.0) > old.as_f64().unwrap_or(0.0)
                }
                (Some(_), _) => false,
                (None, _) => true,
            };
            if larger {
                effective.insert(name.clone(), default.node.clone());
            }
        }
    }
    effective
}

struct Costing<'a> {
    registry: &'a Registry,
    variables: Variables,
}

impl Costing<'_> {
    fn selection_set(
        &self,
        set: &Positioned<SelectionSet>,
        parent: Option<&MetaType>,
        fragments: &HashMap<&str, Cost>,
    ) -> Cost {
        set.node
            .items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(field) => self.field(&field.node, parent, fragments),
                Selection::InlineFragment(inline) => {
                    let on = match &inline.node.type_condition {
                        Some(condition) => self.registry.types.get(condition.node.on.node.as_str()),
                        None => parent,
                    };
                    self.selection_set(&inline.node.selection_set, on, fragments)
                }
                Selection::FragmentSpread(spread) => fragments
                    .get(spread.node.fragment_name.node.as_str())
                    .copied()
                    .unwrap_or_default(),
            })
            .fold(Cost::default(), Cost::and)
    }

    fn field(
        &self,
        field: &Field,
        parent: Option<&MetaType>,
        fragments: &HashMap<&str, Cost>,
    ) -> Cost {
        if field.name.node == "__typename" {
            return Cost {
                depth: 0,
                complexity: 1,
            };
        }
        let meta = parent.and_then(|ty| ty.field_by_name(&field.name.node));
        let child_type = meta.and_then(|meta| self.registry.concrete_type_by_name(&meta.ty));
        let children = self.selection_set(&field.selection_set, child_type, fragments);
        let argument = |name: &str| {
            field
                .get_argument(name)
                .and_then(|value| {
                    value
                        .node
                        .clone()
                        .into_const_with(|name| self.variables.get(&name).cloned().ok_or(()))
                        .ok()
                })
                .and_then(|value| match value {
                    Value::Number(n) => n.as_i64(),
                    _ => None,
                })
        };
        let multiplier = match (parent, meta) {
            (Some(parent), Some(meta)) => field_multiplier(parent.name(), meta, &argument),
            _ => 1,
        };
        Cost {
            depth: children.depth.saturating_add(1),
            complexity: multiplier
                .saturating_mul(children.complexity)
                .saturating_add(1),
        }
    }
}

/// Refuses, between parsing and validation, an operation deeper or more complex than the limits
/// ([`cost`]), with a message naming the limit and the value (async-graphql's own limits say
/// neither, and its validation would expand the fragments first).
pub struct LimitsExtension {
    pub max_depth: usize,
    pub max_complexity: usize,
}

impl ExtensionFactory for LimitsExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsCheck {
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
        })
    }
}

struct LimitsCheck {
    max_depth: usize,
    max_complexity: usize,
}

impl LimitsCheck {
    fn check(&self, cost: Cost) -> Result<(), ApiError> {
        if cost.depth > self.max_depth {
            return Err(ApiError::limit(
                "QUERY_TOO_DEEP",
                format!(
                    "the query is {} levels deep; the limit is {}",
                    cost.depth, self.max_depth
                ),
            ));
        }
        if cost.complexity > self.max_complexity {
            return Err(ApiError::limit(
                "QUERY_TOO_COMPLEX",
                format!(
                    "the query's complexity is {} (each field counts 1, a page multiplies what it selects by its size); the limit is {}",
                    cost.complexity, self.max_complexity
                ),
            ));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Extension for LimitsCheck {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // Before async-graphql's own parse step, which checks the nesting depth by expanding
        // every fragment spread: that takes exponential time on a fan-out of fragments. A
        // document that does not parse is left for that step to report.
        if let Some(document) = crate::documents::parsed(query) {
            cost(&ctx.schema_env.registry, &document, variables)
                .and_then(|cost| self.check(cost))
                .map_err(ApiError::into_server_error)?;
        }
        next.run(ctx, query, variables).await
    }
}

/// The complexity of a page of `size` rows (a `first` / `last` argument, `default` when absent)
/// whose nodes select `child`: what a connection field charges. Never less than one row's
/// worth, saturating instead of overflowing.
pub fn page_complexity(size: Option<i32>, default: i32, child: usize) -> usize {
    let size = usize::try_from(size.unwrap_or(default)).unwrap_or(0).max(1);
    size.saturating_mul(child).saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(query: &str, variables: serde_json::Value, limits: Limits) -> Result<(), ApiError> {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        let variables = Variables::from_json(variables);
        check_document(&document, None, &variables, &limits)
    }

    #[test]
    fn aliases_are_counted_in_operations_and_fragments() {
        let limits = Limits {
            max_aliases: 2,
            ..Limits::default()
        };
        assert!(
            check(
                "{ a: __typename b: __typename }",
                serde_json::json!({}),
                limits
            )
            .is_ok()
        );
        let error = check(
            "{ a: __typename ...F } fragment F on Query { b: __typename c: __typename }",
            serde_json::json!({}),
            limits,
        )
        .expect_err("3 aliases");
        assert_eq!(error.code(), "TOO_MANY_ALIASES");
        assert_eq!(error.to_string(), "the query has 3 aliases; the limit is 2");
    }

    #[test]
    fn root_fields_count_through_fragments_and_survive_cycles() {
        let limits = Limits {
            max_root_fields: 2,
            ..Limits::default()
        };
        let error = check(
            "{ __typename ... on Query { __typename } ...F } fragment F on Query { __typename ...F }",
            serde_json::json!({}),
            limits,
        )
        .expect_err("3 root fields");
        assert_eq!(
            error.to_string(),
            "the operation selects 3 root fields; the limit is 2"
        );
    }

    #[test]
    fn page_sizes_are_read_from_literals_and_variables() {
        let limits = Limits {
            max_page_size: 10,
            ..Limits::default()
        };
        assert!(
            check(
                "{ conversations(first: 10) { totalCount } }",
                serde_json::json!({}),
                limits
            )
            .is_ok()
        );
        let error = check(
            "query($n: Int) { conversations(last: $n) { totalCount } }",
            serde_json::json!({"n": 11}),
            limits,
        )
        .expect_err("page of 11");
        assert_eq!(error.code(), "PAGE_TOO_LARGE");
        assert_eq!(
            error.to_string(),
            "`conversations(last: 11)` asks for a page of 11; the largest page is 10"
        );
    }

    /// The cost of `query` under the served schema, read from the refusals of schemas whose
    /// limits are 0 (the refusal names the value found).
    /// `Err((code, message))` when the document is refused for something else.
    async fn cost_of(query: &str, variables: serde_json::Value) -> Result<Cost, (String, String)> {
        let refusal = |limits: Limits| {
            let request = async_graphql::Request::new(query)
                .variables(Variables::from_json(variables.clone()));
            async move {
                let response = crate::schema_with(&limits).execute(request).await;
                let error = response.errors.first().expect("refused").clone();
                let code = error
                    .extensions
                    .as_ref()
                    .and_then(|e| e.get("code"))
                    .map(|code| code.to_string().trim_matches('"').to_owned())
                    .unwrap_or_default();
                (code, error.to_string())
            }
        };
        let number = |message: &str, before: &str| -> usize {
            message
                .split(before)
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no number in {message:?}"))
        };
        let (code, message) = refusal(Limits {
            max_depth: 0,
            max_complexity: usize::MAX,
            ..Limits::default()
        })
        .await;
        if code != "QUERY_TOO_DEEP" {
            return Err((code, message));
        }
        let depth = number(&message, "the query is ");
        let (_, message) = refusal(Limits {
            max_depth: usize::MAX,
            max_complexity: 0,
            ..Limits::default()
        })
        .await;
        let complexity = number(&message, "complexity is ");
        Ok(Cost { depth, complexity })
    }

    #[tokio::test]
    async fn fragments_cost_what_their_expansion_costs() {
        let inline = cost_of(
            "{ conversations(first: 10) { totalCount nodes { id participants { purpose } } } __typename }",
            serde_json::json!({}),
        )
        .await
        .expect("cost");
        let spread = cost_of(
            "{ conversations(first: 10) { ...C } ...R }
             fragment C on ConversationConnection { totalCount nodes { ...N } }
             fragment N on Conversation { id ... on Conversation { participants { ...P } } }
             fragment P on Participant { purpose }
             fragment R on QueryRoot { __typename }",
            serde_json::json!({}),
        )
        .await
        .expect("cost");
        // conversations 1 + 10 × (totalCount 1 + nodes (1 + id 1 + participants (1 + 1))) = 51,
        // and __typename 1.
        assert_eq!(
            inline,
            Cost {
                depth: 4,
                complexity: 52
            }
        );
        assert_eq!(spread, inline);
    }

    #[tokio::test]
    async fn a_fragment_fan_out_is_counted_without_expanding_it() {
        // 14 fragments, each spreading the next four times: 4^13 fields once expanded.
        let mut query = String::from("{ ...F0 }");
        for i in 0..13 {
            let next = format!("...F{} ", i + 1).repeat(4);
            query.push_str(&format!(" fragment F{i} on QueryRoot {{ {next}}}"));
        }
        query.push_str(" fragment F13 on QueryRoot { conversations { totalCount } }");
        let started = std::time::Instant::now();

        let cost = cost_of(&query, serde_json::json!({})).await.expect("cost");

        // Each expanded `conversations { totalCount }` costs 1 + 25 × 1.
        assert_eq!(cost.complexity, 4usize.pow(13) * 26);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_fragment_spreading_itself_is_refused_before_anything_expands_it() {
        let error = cost_of(
            "{ ...A } fragment A on QueryRoot { __typename ...B } fragment B on QueryRoot { ...A }",
            serde_json::json!({}),
        )
        .await
        .expect_err("a cycle");
        assert_eq!(error.0, "GRAPHQL_VALIDATION_FAILED", "{}", error.1);
        assert!(error.1.contains("spreads itself"), "{}", error.1);
    }

    #[tokio::test]
    async fn page_sizes_come_from_arguments_variables_and_declared_defaults() {
        let cases = [
            (
                "query($n: Int = 400) { conversations(first: $n) { nodes { id } } }",
                serde_json::json!({}),
                801,
            ),
            (
                "query($n: Int = 400) { conversations(first: $n) { nodes { id } } }",
                serde_json::json!({"n": 3}),
                7,
            ),
            (
                "{ conversations(last: 2) { nodes { id } } }",
                serde_json::json!({}),
                5,
            ),
            (
                "{ conversations { nodes { id } } }",
                serde_json::json!({}),
                51,
            ),
            (
                "{ conversations(first: -5) { nodes { id } } }",
                serde_json::json!({}),
                3,
            ),
        ];
        for (query, variables, complexity) in cases {
            let cost = cost_of(query, variables).await.expect("cost");
            assert_eq!(cost.complexity, complexity, "{query}");
        }
    }

    #[test]
    fn page_complexity_multiplies_and_saturates() {
        assert_eq!(page_complexity(Some(10), 25, 3), 31);
        assert_eq!(page_complexity(None, 25, 3), 76);
        assert_eq!(page_complexity(Some(-5), 25, 3), 4);
        assert_eq!(page_complexity(Some(i32::MAX), 25, usize::MAX), usize::MAX);
    }
}
