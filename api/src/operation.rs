//! One GraphQL operation, whichever door it came through (`POST`/`GET /graphql` or a WebSocket
//! subscription): its document parsed once, checked against the limits, the operation it
//! selects, and its response written as JSON the way the GraphQL-over-HTTP spec shapes it.

use async_graphql::parser::Positioned;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType,
};
use async_graphql::{ServerError, Value};
use std::collections::BTreeMap;

use crate::limits::{self, Limits};

/// A request error: one raised before execution, so the response has no `data` entry.
/// async-graphql represents both this and a field error that nulled the whole result as
/// `data: null`; only field errors carry a `path`.
pub(crate) fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// `response` as JSON, shaped as the spec says (no `data` after a request error), with the
/// pushed-down reads' JSON spliced in as it is: what a WebSocket `next` carries.
pub(crate) fn response_json(response: &async_graphql::Response) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::new();
    Body {
        data: (!is_request_error(response)).then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    }
    .write(&mut out)?;
    Ok(out)
}

/// Whether `response` failed before execution (parse, validation, limits): no `data`.
pub(crate) fn failed_before_execution(response: &async_graphql::Response) -> bool {
    is_request_error(response)
}

/// A GraphQL response as the spec shapes it: no `data` key after a request error.
pub(crate) struct Body<'a> {
    pub data: Option<&'a Value>,
    pub errors: &'a [ServerError],
    pub extensions: &'a BTreeMap<String, Value>,
}

impl Body<'_> {
    /// The body as JSON. A root field answered by a pushed-down read holds its JSON, as
    /// PostgreSQL built it, in a `Value::Binary`: it is written as it is, not re-encoded.
    pub fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.push(b'{');
        let mut first = true;
        let mut key = |out: &mut Vec<u8>, name: &str| {
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
            out.extend_from_slice(b"\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
        };
        if let Some(data) = self.data {
            key(out, "data");
            write_value(out, data)?;
        }
        if !self.errors.is_empty() {
            key(out, "errors");
            serde_json::to_writer(&mut *out, self.errors)?;
        }
        if !self.extensions.is_empty() {
            key(out, "extensions");
            serde_json::to_writer(&mut *out, self.extensions)?;
        }
        out.push(b'}');
        Ok(())
    }
}

/// `value` as JSON, with `Value::Binary` written verbatim: only the pushed-down reads
/// ([`crate::objects`]) make one, and it holds the JSON of their answer.
pub fn write_value(out: &mut Vec<u8>, value: &Value) -> serde_json::Result<()> {
    match value {
        Value::Binary(json) => out.extend_from_slice(json),
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (name, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, name.as_str())?;
                out.push(b':');
                write_value(out, item)?;
            }
            out.push(b'}');
        }
        scalar => serde_json::to_writer(&mut *out, scalar)?,
    }
    Ok(())
}

/// The operation `request` would run: the choice async-graphql makes when it executes. `None`
/// when the document does not parse or names no single operation: execution reports those.
pub(crate) fn selected_operation(
    request: &mut async_graphql::Request,
) -> Option<&Positioned<OperationDefinition>> {
    let name = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), None) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name.as_str()),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next()
        }
        _ => None,
    }
}

/// Whether the operation the request runs is a mutation.
pub(crate) fn selects_mutation(request: &mut async_graphql::Request) -> bool {
    selected_operation(request)
        .is_some_and(|operation| operation.node.ty == OperationType::Mutation)
}

/// The limits checked on the parsed document ([`limits::check_document`]); a document that does
/// not parse is left for execution to report.
pub(crate) fn check_limits(
    request: &mut async_graphql::Request,
    limits: &Limits,
) -> Result<(), crate::error::ApiError> {
    let operation = request.operation_name.clone();
    let variables = request.variables.clone();
    match request.parsed_query() {
        Ok(document) => limits::check_document(document, operation.as_deref(), &variables, limits),
        // Left for async-graphql's parse step, which words the error.
        Err(_) => Ok(()),
    }
}

/// Gives `request` its document from the cache of parsed documents ([`crate::documents`]),
/// parsing the text only when the cache does not hold it; every later step (the checks here,
/// async-graphql's execution) takes the document from the request instead of parsing again.
pub(crate) fn parse_once(request: &mut async_graphql::Request) {
    if let Some(document) = crate::documents::parsed(&request.query) {
        request.set_parsed_query(ExecutableDocument::clone(&document));
    }
}
