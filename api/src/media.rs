//! The media types a GraphQL answer is served in, and the choice between them from a request's
//! `Accept` headers, as the GraphQL-over-HTTP draft reads.

use axum::http::{HeaderMap, HeaderValue, header};

/// The media types a GraphQL response is served in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: status codes tell request errors (4xx) from
    /// executed requests (200).
    GraphQLResponseJson,
    /// `application/json`, for legacy clients: 200 for everything that reached GraphQL.
    Json,
}

impl MediaType {
    pub fn essence(self) -> &'static str {
        match self {
            MediaType::GraphQLResponseJson => "application/graphql-response+json",
            MediaType::Json => "application/json",
        }
    }

    pub(crate) fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            MediaType::GraphQLResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        })
    }
}

/// The response media type for a request's `Accept` headers; `None` when they allow neither
/// type (the handler answers 406).
///
/// How this reads the spec (draft of the GraphQL-over-HTTP specification, sections "Accept",
/// "Body" and "Legacy watershed"):
///
/// - No `Accept` header (or only empty ones): the spec's legacy watershed says that from
///   2025-01-01 a server SHOULD treat the request as if it had
///   `Accept: application/graphql-response+json` (before that date it said `application/json`).
///   That date has passed, so a missing `Accept` means `application/graphql-response+json`.
/// - Otherwise the server MUST "encode the response in the highest priority media type listed
///   that is supported": each type gets the `q` of the most specific range that matches it
///   (`type/subtype`, then `application/*`, then `*/*`; RFC 9110 §12.5.1), the type with the
///   highest `q` wins, and on equal `q` the one whose range is listed first.
/// - When one range matches both types (`*/*`, `application/*`), the choice is the server's:
///   `application/graphql-response+json`, which the spec names the preferred type. Clients that
///   need 200 for every GraphQL answer ask for `application/json` explicitly.
/// - `q=0` refuses a type; a `charset` other than UTF-8 makes a range match nothing. When no type
///   is left the spec lets a server answer 406 (RECOMMENDED) or pick a type anyway; we answer 406.
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let values = headers.get_all(header::ACCEPT);
    if values
        .iter()
        .all(|value| value.as_bytes().iter().all(u8::is_ascii_whitespace))
    {
        // No Accept header, or only empty ones.
        return Some(MediaType::GraphQLResponseJson);
    }
    let ranges: Vec<AcceptRange> = values
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(AcceptRange::parse)
        .collect();
    let preference = |media: MediaType| -> Option<(f32, usize)> {
        let (_, q, position) = ranges
            .iter()
            .enumerate()
            .filter_map(|(position, range)| {
                range
                    .specificity(media)
                    .map(|specificity| (specificity, range.q, position))
            })
            // Most specific first; among equally specific ranges, the first listed.
            .min_by_key(|&(specificity, _, position)| (std::cmp::Reverse(specificity), position))?;
        (q > 0.0).then_some((q, position))
    };
    match (
        preference(MediaType::GraphQLResponseJson),
        preference(MediaType::Json),
    ) {
        (None, None) => None,
        (Some(_), None) => Some(MediaType::GraphQLResponseJson),
        (None, Some(_)) => Some(MediaType::Json),
        (Some((q_graphql, at_graphql)), Some((q_json, at_json))) => {
            if q_json > q_graphql || (q_json == q_graphql && at_json < at_graphql) {
                Some(MediaType::Json)
            } else {
                Some(MediaType::GraphQLResponseJson)
            }
        }
    }
}

/// One media range of an `Accept` header, with its weight.
struct AcceptRange {
    range: String,
    q: f32,
    utf8: bool,
}

impl AcceptRange {
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(';');
        let range = parts.next()?.trim().to_ascii_lowercase();
        if range.is_empty() {
            return None;
        }
        let mut q = 1.0;
        let mut utf8 = true;
        for parameter in parts {
            let Some((name, value)) = parameter.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            match name.trim().to_ascii_lowercase().as_str() {
                "q" => {
                    q = value
                        .parse::<f32>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))?
                }
                "charset" => utf8 = is_utf8(value),
                _ => {}
            }
        }
        Some(Self { range, q, utf8 })
    }

    /// How specifically this range names `media` (3 exactly, 2 `application/*`, 1 `*/*`), or
    /// `None` when it does not match it.
    fn specificity(&self, media: MediaType) -> Option<u8> {
        if !self.utf8 {
            return None;
        }
        match self.range.as_str() {
            range if range == media.essence() => Some(3),
            "application/*" => Some(2),
            "*/*" => Some(1),
            _ => None,
        }
    }
}

pub(crate) fn is_utf8(charset: &str) -> bool {
    charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(values: &[&str]) -> Option<MediaType> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                header::ACCEPT,
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        negotiate(&headers)
    }

    use MediaType::{GraphQLResponseJson as GraphQL, Json};

    #[test]
    fn no_accept_header_means_graphql_response_json_after_the_watershed() {
        assert_eq!(accept(&[]), Some(GraphQL));
        assert_eq!(accept(&[""]), Some(GraphQL));
    }

    #[test]
    fn wildcards_get_the_preferred_graphql_response_json() {
        assert_eq!(accept(&["*/*"]), Some(GraphQL));
        assert_eq!(accept(&["application/*"]), Some(GraphQL));
        assert_eq!(accept(&["text/html, */*;q=0.8"]), Some(GraphQL));
    }

    #[test]
    fn the_highest_q_wins_and_equal_q_goes_to_the_first_listed() {
        assert_eq!(accept(&["application/json"]), Some(Json));
        assert_eq!(
            accept(&[
                "application/graphql-response+json; charset=utf-8, application/json; charset=utf-8"
            ]),
            Some(GraphQL)
        );
        assert_eq!(
            accept(&["application/json, application/graphql-response+json"]),
            Some(Json)
        );
        assert_eq!(
            accept(&["application/json;q=0.5, application/graphql-response+json"]),
            Some(GraphQL)
        );
        assert_eq!(accept(&["application/json, */*;q=0.1"]), Some(Json));
        assert_eq!(
            accept(&["application/graphql-response+json;q=0, */*"]),
            Some(Json)
        );
        assert_eq!(
            accept(&["text/plain", "application/json"]),
            Some(Json),
            "several Accept headers are one list"
        );
    }

    #[test]
    fn accept_without_a_served_type_is_refused() {
        assert_eq!(accept(&["text/html"]), None);
        assert_eq!(accept(&["application/xml, text/*"]), None);
        assert_eq!(accept(&["*/*;q=0"]), None);
        assert_eq!(accept(&["application/json; charset=latin1"]), None);
        assert_eq!(accept(&["application/json;q=nonsense"]), None);
    }
}
