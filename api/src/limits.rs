//! Limits on abusive operations, and the checks that enforce them before anything executes.
//!
//! | limit | checked | code |
//! | --- | --- | --- |
//! | aliases in the document | on the parsed document ([`check_document`]) | `TOO_MANY_ALIASES` |
//! | fields at the root of the operation | on the parsed document | `TOO_MANY_ROOT_FIELDS` |
//! | directives in the document | on the parsed document | `TOO_MANY_DIRECTIVES` |
//! | page size (`first` / `last`) | on the parsed document, and again by the resolver | `PAGE_TOO_LARGE` |
//! | depth | after validation ([`LimitsExtension`]) | `QUERY_TOO_DEEP` |
//! | complexity, page sizes multiplied in | after validation | `QUERY_TOO_COMPLEX` |
//! | operations in a batch (a JSON array body) | when the body is read | `BATCHING_DISABLED`, `BATCH_TOO_LARGE` |
//!
//! Each refusal is a request error (no `data`, HTTP 400 with `application/graphql-response+json`)
//! whose message names the limit and the value found.

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::parser::Positioned;
use async_graphql::parser::types::{
    Directive, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::{ErrorExtensions as _, ServerError, ValidationResult, Value, Variables};
use std::collections::HashSet;
use std::sync::Arc;

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
    /// Whether `__schema` / `__type` are answered.
    pub introspection: bool,
    /// Whether errors suggest field names ("did you mean …").
    pub field_suggestions: bool,
}

impl Limits {
    pub const DEFAULT_MAX_DEPTH: usize = 16;
    pub const DEFAULT_MAX_COMPLEXITY: usize = 50_000;
    pub const DEFAULT_MAX_ALIASES: usize = 30;
    pub const DEFAULT_MAX_ROOT_FIELDS: usize = 20;
    pub const DEFAULT_MAX_DIRECTIVES: usize = 50;
    pub const DEFAULT_MAX_PAGE_SIZE: usize = 500;
    pub const DEFAULT_MAX_BATCH: usize = 0;

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
            introspection: false,
            field_suggestions: false,
        }
    }
}

/// A limit an operation went over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    pub code: &'static str,
    pub message: String,
}

impl LimitError {
    fn new(code: &'static str, message: String) -> Self {
        Self { code, message }
    }

    pub fn into_server_error(self) -> ServerError {
        let code = self.code;
        async_graphql::Error::new(self.message)
            .extend_with(|_, e| e.set("code", code))
            .into_server_error(async_graphql::Pos::default())
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
) -> Result<(), LimitError> {
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
        return Err(LimitError::new(
            "PAGE_TOO_LARGE",
            format!(
                "`{}({}: {})` asks for a page of {}; the largest page is {}",
                page.field, page.argument, page.size, page.size, limits.max_page_size
            ),
        ));
    }
    if count.aliases > limits.max_aliases {
        return Err(LimitError::new(
            "TOO_MANY_ALIASES",
            format!(
                "the query has {} aliases; the limit is {}",
                count.aliases, limits.max_aliases
            ),
        ));
    }
    if count.directives > limits.max_directives {
        return Err(LimitError::new(
            "TOO_MANY_DIRECTIVES",
            format!(
                "the query has {} directives; the limit is {}",
                count.directives, limits.max_directives
            ),
        ));
    }
    let root_fields = document
        .operations
        .iter()
        .filter(|(name, _)| operation.is_none() || name.map(|n| n.as_str()) == operation)
        .map(|(_, op)| root_fields(document, &op.node.selection_set, &mut HashSet::new()))
        .max()
        .unwrap_or(0);
    if root_fields > limits.max_root_fields {
        return Err(LimitError::new(
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

/// The fields at the root of `set`, through fragments (each fragment once per path, so a
/// cycle, which validation refuses later, cannot loop).
fn root_fields(
    document: &ExecutableDocument,
    set: &Positioned<SelectionSet>,
    visiting: &mut HashSet<String>,
) -> usize {
    set.node
        .items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(inline) => {
                root_fields(document, &inline.node.selection_set, visiting)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.to_string();
                match document
                    .fragments
                    .get(spread.node.fragment_name.node.as_str())
                {
                    Some(fragment) if visiting.insert(name.clone()) => {
                        let n = root_fields(document, &fragment.node.selection_set, visiting);
                        visiting.remove(&name);
                        n
                    }
                    _ => 0,
                }
            }
        })
        .sum()
}

/// Refuses, after validation, an operation deeper or more complex than the limits, with a
/// message naming the limit and the value (async-graphql's own limits say neither).
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

#[async_trait::async_trait]
impl Extension for LimitsCheck {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if result.depth > self.max_depth {
            return Err(vec![
                LimitError::new(
                    "QUERY_TOO_DEEP",
                    format!(
                        "the query is {} levels deep; the limit is {}",
                        result.depth, self.max_depth
                    ),
                )
                .into_server_error(),
            ]);
        }
        if result.complexity > self.max_complexity {
            return Err(vec![
                LimitError::new(
                    "QUERY_TOO_COMPLEX",
                    format!(
                        "the query's complexity is {} (each field counts 1, a page multiplies what it selects by its size); the limit is {}",
                        result.complexity, self.max_complexity
                    ),
                )
                .into_server_error(),
            ]);
        }
        Ok(result)
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

    fn check(query: &str, variables: serde_json::Value, limits: Limits) -> Result<(), LimitError> {
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
        assert_eq!(error.code, "TOO_MANY_ALIASES");
        assert_eq!(error.message, "the query has 3 aliases; the limit is 2");
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
            error.message,
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
        assert_eq!(error.code, "PAGE_TOO_LARGE");
        assert_eq!(
            error.message,
            "`conversations(last: 11)` asks for a page of 11; the largest page is 10"
        );
    }

    #[test]
    fn page_complexity_multiplies_and_saturates() {
        assert_eq!(page_complexity(Some(10), 25, 3), 31);
        assert_eq!(page_complexity(None, 25, 3), 76);
        assert_eq!(page_complexity(Some(-5), 25, 3), 4);
        assert_eq!(page_complexity(Some(i32::MAX), 25, usize::MAX), usize::MAX);
    }
}
