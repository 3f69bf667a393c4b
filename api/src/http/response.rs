//! A GraphQL answer as an HTTP response: its status for the negotiated media type, its body as
//! the spec shapes it, one response or a batch's array.

use async_graphql::Value;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::media::MediaType;
use crate::operation::{Body, is_request_error};

/// The HTTP status of a GraphQL response, as the spec's "Status Codes" section gives it:
/// `application/json` always 200; `application/graphql-response+json` 400 when the request
/// failed before execution (parse, validation, operation selection, variable coercion: the
/// response has no `data`), else 200, field errors and a `null` `data` included.
///
/// Whichever the media type, a response with an `UNAVAILABLE` error (the database could not be
/// reached) is 503, so that load balancers and HTTP clients retry it as they retry any 503.
pub fn status_for(response: &async_graphql::Response, media: MediaType) -> StatusCode {
    if is_unavailable(response) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match media {
        MediaType::Json => StatusCode::OK,
        MediaType::GraphQLResponseJson if is_request_error(response) => StatusCode::BAD_REQUEST,
        MediaType::GraphQLResponseJson => StatusCode::OK,
    }
}

/// Whether an error of `response` says the database could not be reached.
fn is_unavailable(response: &async_graphql::Response) -> bool {
    response.errors.iter().any(|error| {
        error.extensions.as_ref().is_some_and(|e| {
            e.get("code")
                .is_some_and(|code| *code == Value::from(crate::error::UNAVAILABLE))
        })
    })
}

/// Counts the errors of `response` by code (`convgraph_graphql_errors_total`).
fn count_errors(response: &async_graphql::Response) {
    for error in &response.errors {
        let code = error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .and_then(|code| match code {
                Value::String(code) => Some(code.as_str()),
                _ => None,
            })
            .unwrap_or("(none)");
        crate::metrics::error_answered(code, code == crate::error::UNAVAILABLE);
    }
}

pub(super) fn graphql_response(response: async_graphql::Response, media: MediaType) -> Response {
    count_errors(&response);
    let status = status_for(&response, media);
    let body = Body {
        data: (!is_request_error(&response)).then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    };
    let mut bytes = Vec::new();
    match body.write(&mut bytes) {
        Ok(()) => {}
        Err(e) => {
            return ApiError::internal(e).response(media);
        }
    };
    // No resolver sets cache hints: every answer depends on the caller's token.
    let mut http = (
        status,
        [(header::CONTENT_TYPE, media.content_type())],
        bytes,
    )
        .into_response();
    http.headers_mut().extend(response.http_headers);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        http.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    http
}

/// A batch's answer: an array of responses, 200 (each response carries its own errors).
pub(super) fn batch_response(responses: &[async_graphql::Response], media: MediaType) -> Response {
    responses.iter().for_each(count_errors);
    let bodies: Vec<Body<'_>> = responses
        .iter()
        .map(|response| Body {
            data: (!is_request_error(response)).then_some(&response.data),
            errors: &response.errors,
            extensions: &response.extensions,
        })
        .collect();
    let mut bytes = vec![b'['];
    let written = bodies.iter().enumerate().try_for_each(|(i, body)| {
        if i > 0 {
            bytes.push(b',');
        }
        body.write(&mut bytes)
    });
    bytes.push(b']');
    match written {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, media.content_type())],
            bytes,
        )
            .into_response(),
        Err(e) => ApiError::internal(e).response(media),
    }
}
