//! The catalogue's object types in GraphQL: registered in the schema from the catalogue, and
//! answered by one pushed-down statement per root field ([`db::select`]).
//!
//! A root field returns an [`Object`] (one object by id) or a [`Page`] (a connection of a list
//! root). Their `resolve` reads the field's selection set ([`crate::select`]), has PostgreSQL
//! build the JSON of the answer, and hands that text on as it is: the response writer
//! ([`crate::http`]) splices it into the response. No resolver runs per field.

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::Field as QueryField;
use async_graphql::registry::{
    CacheControl, Deprecation, MetaField, MetaInputValue, MetaType, Registry,
};
use async_graphql::{
    ContextSelectionSet, ErrorExtensions as _, OutputType, Positioned, ServerResult, Value,
};
use domain::catalog::{self, Argument, CONNECTIONS, EXTRA_DESCRIPTION, Field, OBJECTS};
use std::borrow::Cow;
use std::marker::PhantomData;

use crate::error::ApiError;
use crate::select;

/// A catalogue type a root field returns, named at compile time.
pub trait Shape: Send + Sync + 'static {
    const NAME: &'static str;
}

macro_rules! shapes {
    ($($marker:ident = $name:literal;)*) => {
        $(
            #[doc = concat!("The catalogue type `", $name, "`.")]
            pub struct $marker;
            impl Shape for $marker {
                const NAME: &'static str = $name;
            }
        )*
    };
}

shapes! {
    ConversationShape = "Conversation";
    FlowMetricShape = "FlowMetric";
    WorkitemShape = "Workitem";
    CampaignShape = "Campaign";
    ConversationConnectionShape = "ConversationConnection";
    WorkitemConnectionShape = "WorkitemConnection";
    CampaignConnectionShape = "CampaignConnection";
    CampaignRecordConnectionShape = "CampaignRecordConnection";
    QueueConnectionShape = "QueueConnection";
    ChannelConnectionShape = "ChannelConnection";
    UserConnectionShape = "UserConnection";
    AgentConnectionShape = "AgentConnection";
    BusinessUnitConnectionShape = "BusinessUnitConnection";
    BotStepConnectionShape = "BotStepConnection";
    DivisionConnectionShape = "DivisionConnection";
    WorkitemEvaluationConnectionShape = "WorkitemEvaluationConnection";
    FlowMetricConnectionShape = "FlowMetricConnection";
}

/// What a page's `first` says of itself.
const PAGE_SIZE_DESCRIPTION: &str =
    "Page size (default 25; at most 500 unless configured otherwise).";
/// What a page's `after` says of itself.
const AFTER_DESCRIPTION: &str = "Start after this cursor (an `endCursor` or edge cursor).";

/// The object of type `S` whose key is `id` (null when missing or out of scope).
pub struct Object<S: Shape> {
    id: String,
    shape: PhantomData<S>,
}

impl<S: Shape> Object<S> {
    pub fn new(id: String) -> Self {
        Self {
            id,
            shape: PhantomData,
        }
    }
}

/// A page of a list root, as the connection type `S`.
pub struct Page<S: Shape> {
    list: db::select::List,
    walk: db::select::Walk,
    shape: PhantomData<S>,
}

impl<S: Shape> Page<S> {
    pub fn new(list: db::select::List, walk: db::select::Walk) -> Self {
        Self {
            list,
            walk,
            shape: PhantomData,
        }
    }
}

impl<S: Shape> OutputType for Object<S> {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed(S::NAME)
    }

    fn create_type_info(registry: &mut Registry) -> String {
        register(registry);
        format!("{}!", S::NAME)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<QueryField>,
    ) -> ServerResult<Value> {
        let Some(set) = select::root_selection(ctx, field) else {
            return Ok(Value::Null);
        };
        let object = catalog::object(S::NAME).ok_or_else(|| unknown(ctx, S::NAME, field))?;
        let selection = select::object(ctx, object, &set).map_err(|e| failed(ctx, e, field))?;
        let (pool, reader, budget) = select::reader(ctx).map_err(|e| failed(ctx, e, field))?;
        let text = db::select::by_id(pool, &reader, &selection, &self.id)
            .await
            .map_err(|e| failed(ctx, select::read_error(e), field))?;
        select::audit_personal(ctx, &reader, selection.touches_personal());
        budget
            .spend(text.len())
            .map_err(|e| failed(ctx, e, field))?;
        Ok(Value::Binary(text.into()))
    }
}

impl<S: Shape> OutputType for Page<S> {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed(S::NAME)
    }

    fn create_type_info(registry: &mut Registry) -> String {
        register(registry);
        format!("{}!", S::NAME)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<QueryField>,
    ) -> ServerResult<Value> {
        let Some(set) = select::root_selection(ctx, field) else {
            return Ok(Value::Null);
        };
        let connection =
            catalog::connection(S::NAME).ok_or_else(|| unknown(ctx, S::NAME, field))?;
        let selection = select::page(ctx, connection, &set).map_err(|e| failed(ctx, e, field))?;
        let (pool, reader, budget) = select::reader(ctx).map_err(|e| failed(ctx, e, field))?;
        let text = db::select::page(pool, &reader, &self.list, &self.walk, &selection)
            .await
            .map_err(|e| failed(ctx, select::read_error(e), field))?;
        select::audit_personal(ctx, &reader, selection.touches_personal());
        budget
            .spend(text.len())
            .map_err(|e| failed(ctx, e, field))?;
        Ok(Value::Binary(text.into()))
    }
}

fn unknown(
    ctx: &ContextSelectionSet<'_>,
    name: &str,
    field: &Positioned<QueryField>,
) -> async_graphql::ServerError {
    failed(
        ctx,
        ApiError::internal(format!("the catalogue has no type {name}")),
        field,
    )
}

/// `error` as the root field's error, with its path.
fn failed(
    ctx: &ContextSelectionSet<'_>,
    error: ApiError,
    field: &Positioned<QueryField>,
) -> async_graphql::ServerError {
    ctx.set_error_path(error.extend().into_server_error(field.pos))
}

/// Registers every catalogue type: the object types, the connections and their edges, and
/// `PageInfo`. Once per registry; the types are reachable from the roots, so the schema keeps
/// them.
pub(crate) fn register(registry: &mut Registry) {
    if registry.types.contains_key("PageInfo") {
        return;
    }
    // The scalars the catalogue's fields use.
    <async_graphql::ID as OutputType>::create_type_info(registry);
    <String as OutputType>::create_type_info(registry);
    <i32 as OutputType>::create_type_info(registry);
    <f64 as OutputType>::create_type_info(registry);
    <bool as OutputType>::create_type_info(registry);
    <chrono::DateTime<chrono::Utc> as OutputType>::create_type_info(registry);
    <chrono::NaiveDateTime as OutputType>::create_type_info(registry);
    <async_graphql::Json<serde_json::Value> as OutputType>::create_type_info(registry);

    for object in OBJECTS {
        let table = object.table();
        let mut fields = IndexMap::new();
        for field in object.fields {
            match field {
                Field::Columns => {
                    for column in table.columns {
                        let name = column.field_name();
                        fields.insert(
                            name.clone(),
                            meta_field(&name, column.graphql_type(), column.description()),
                        );
                    }
                }
                Field::Alias {
                    name,
                    ty,
                    description,
                    ..
                } => {
                    fields.insert(
                        name.to_string(),
                        meta_field(name, ty.to_string(), Some(description.to_string())),
                    );
                }
                Field::Duration {
                    name, description, ..
                } => {
                    fields.insert(
                        name.to_string(),
                        meta_field(name, "Int".into(), Some(description.to_string())),
                    );
                }
                Field::Extra => {
                    fields.insert(
                        "extra".into(),
                        meta_field("extra", "JSON!".into(), Some(EXTRA_DESCRIPTION.to_string())),
                    );
                }
                Field::Relation(relation) => {
                    let ty = match &relation.argument {
                        Some(Argument::Page { connection, .. }) => format!("{connection}!"),
                        _ if relation.many => format!("[{}!]!", relation.target),
                        _ => relation.target.to_string(),
                    };
                    let mut meta = meta_field(relation.name, ty, Some(relation.description.into()));
                    match &relation.argument {
                        Some(Argument::Overlap { name, .. }) => {
                            meta.args
                                .insert(name.to_string(), input_value(name, "String", None));
                        }
                        Some(Argument::Page { .. }) => {
                            meta.args.insert(
                                "first".into(),
                                input_value("first", "Int", Some(PAGE_SIZE_DESCRIPTION)),
                            );
                            meta.args.insert(
                                "after".into(),
                                input_value("after", "String", Some(AFTER_DESCRIPTION)),
                            );
                            meta.compute_complexity = Some(page_complexity);
                        }
                        None => {}
                    }
                    fields.insert(relation.name.to_string(), meta);
                }
            }
        }
        insert_object(registry, object.name, object.description, fields);
    }

    for connection in CONNECTIONS {
        let edge = connection.edge();
        let mut fields = IndexMap::new();
        if connection.conversations {
            fields.insert("totalCount".into(), meta_field("totalCount", "Int!".into(), Some(
                "How many conversations the filter selects in your scope. Counted only when asked for.".into())));
            fields.insert("pageInfo".into(), meta_field("pageInfo", "PageInfo!".into(), Some(
                "Where this page stands: whether more follow or precede it, and the cursors to get them.".into())));
            fields.insert("edges".into(), meta_field("edges", format!("[{edge}!]!"), Some(
                "The page's conversations with their cursors (use `nodes` when you need no cursors).".into())));
            fields.insert(
                "nodes".into(),
                meta_field(
                    "nodes",
                    "[Conversation!]!".into(),
                    Some("The conversations of the page, without cursors.".into()),
                ),
            );
        } else {
            fields.insert(
                "edges".into(),
                meta_field(
                    "edges",
                    format!("[{edge}!]!"),
                    Some("The page's items with their cursors.".into()),
                ),
            );
            fields.insert(
                "pageInfo".into(),
                meta_field(
                    "pageInfo",
                    "PageInfo!".into(),
                    Some(
                        "Where this page stands: pass `endCursor` as `after` for the next one."
                            .into(),
                    ),
                ),
            );
        }
        insert_object(registry, connection.name, connection.description, fields);

        let mut fields = IndexMap::new();
        let node = format!("{}!", connection.node);
        if connection.conversations {
            fields.insert("cursor".into(), meta_field("cursor", "String!".into(), Some(
                "Where this conversation stands in the list: pass it as `after` or `before`.".into())));
            fields.insert(
                "node".into(),
                meta_field("node", node, Some("The conversation.".into())),
            );
            insert_object(
                registry,
                &edge,
                "An edge: a conversation and its cursor.",
                fields,
            );
        } else {
            fields.insert(
                "cursor".into(),
                meta_field(
                    "cursor",
                    "String!".into(),
                    Some("Where this item stands in the list: pass it as `after`.".into()),
                ),
            );
            fields.insert("node".into(), meta_field("node", node, None));
            insert_object(registry, &edge, "An item of a page and its cursor.", fields);
        }
    }

    let mut fields = IndexMap::new();
    fields.insert("hasNextPage".into(), meta_field("hasNextPage", "Boolean!".into(), Some(
        "More items follow this page (going forwards, exact; going backwards, true when the page\nwas asked for `before` a cursor).".into())));
    fields.insert("hasPreviousPage".into(), meta_field("hasPreviousPage", "Boolean!".into(), Some(
        "Items precede this page (going backwards, exact; going forwards, true when the page was\nasked for `after` a cursor).".into())));
    fields.insert(
        "startCursor".into(),
        meta_field(
            "startCursor",
            "String".into(),
            Some("The cursor of the first item of the page.".into()),
        ),
    );
    fields.insert(
        "endCursor".into(),
        meta_field(
            "endCursor",
            "String".into(),
            Some("The cursor of the last item of the page.".into()),
        ),
    );
    insert_object(
        registry,
        "PageInfo",
        "Where a page stands in its list.",
        fields,
    );
}

fn insert_object(
    registry: &mut Registry,
    name: &str,
    description: &str,
    fields: IndexMap<String, MetaField>,
) {
    registry.types.insert(
        name.to_string(),
        MetaType::Object {
            name: name.to_string(),
            description: Some(description.to_string()),
            fields,
            cache_control: CacheControl::default(),
            extends: false,
            shareable: false,
            resolvable: true,
            keys: None,
            visible: None,
            inaccessible: false,
            interface_object: false,
            tags: Vec::new(),
            is_subscription: false,
            rust_typename: Some("domain::catalog"),
            directive_invocations: Vec::new(),
            requires_scopes: Vec::new(),
        },
    );
}

fn meta_field(name: &str, ty: String, description: Option<String>) -> MetaField {
    MetaField {
        name: name.to_string(),
        description,
        args: IndexMap::new(),
        ty,
        deprecation: Deprecation::NoDeprecated,
        cache_control: CacheControl::default(),
        external: false,
        requires: None,
        provides: None,
        visible: None,
        shareable: false,
        inaccessible: false,
        tags: Vec::new(),
        override_from: None,
        compute_complexity: None,
        directive_invocations: Vec::new(),
        requires_scopes: Vec::new(),
    }
}

fn input_value(name: &str, ty: &str, description: Option<&str>) -> MetaInputValue {
    MetaInputValue {
        name: name.to_string(),
        description: description.map(str::to_string),
        ty: ty.to_string(),
        deprecation: Deprecation::NoDeprecated,
        default_value: None,
        visible: None,
        inaccessible: false,
        tags: Vec::new(),
        is_secret: false,
        directive_invocations: Vec::new(),
    }
}

/// The complexity of a relation that is a connection: its page (`first`, default 25) times
/// what a node selects, as the list roots count it.
fn page_complexity(
    ctx: &async_graphql::VisitorContext<'_>,
    definitions: &[Positioned<async_graphql::parser::types::VariableDefinition>],
    field: &QueryField,
    child: usize,
) -> ServerResult<usize> {
    let size: Option<i32> = ctx.param_value(definitions, field, "first", None)?;
    Ok(crate::limits::page_complexity(size, 25, child))
}
