//! The pages convgraph serves from files embedded in the binary (GraphiQL, the wallboard): their
//! assets with content types and content-hashed URLs, and the headers every such page carries.
//!
//! Asset URLs carry a hash of their content (`?v=…`), so they can be cached for a year and a new
//! build still reaches every browser at once.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A year: the URLs change whenever the content does.
const ASSET_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

pub(crate) const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
pub(crate) const CSS: &str = "text/css; charset=utf-8";

/// A file a page loads.
pub(crate) struct Asset {
    pub(crate) name: &'static str,
    pub(crate) content_type: &'static str,
    pub(crate) body: &'static [u8],
}

/// The `graphql-transport-ws` client both pages run their subscriptions with.
pub(crate) const WS_CLIENT: Asset = Asset {
    name: "convgraph-ws.js",
    content_type: JAVASCRIPT,
    body: include_bytes!("graphql_ws.js"),
};

/// The `<link>` tags of the style sheets and the `<script>` tags of the scripts among `assets`,
/// in their order, each URL under `prefix` (e.g. `/graphiql/assets`) with its content hash.
pub(crate) fn tags(prefix: &str, assets: &[Asset]) -> (String, String) {
    let mut styles = String::new();
    let mut scripts = String::new();
    for asset in assets {
        let url = format!("{prefix}/{}?v={}", asset.name, version(asset.body));
        if asset.content_type == CSS {
            styles.push_str(&format!("  <link rel=\"stylesheet\" href=\"{url}\">\n"));
        } else {
            scripts.push_str(&format!("  <script src=\"{url}\"></script>\n"));
        }
    }
    (styles, scripts)
}

/// A short hash of an asset's content, for its URL (FNV-1a; it only has to change when the
/// content does).
fn version(body: &[u8]) -> String {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// A page under `content_security_policy`: never cached without asking, never sniffed, and
/// sending no referrer (the token is in the fragment, which a referrer never carries anyway).
pub(crate) fn page(content_security_policy: &'static str, html: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, content_security_policy),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html,
    )
        .into_response()
}

/// The asset of `assets` called `name`, or 404.
pub(crate) fn serve(assets: &[Asset], name: &str) -> Response {
    match assets.iter().find(|asset| asset.name == name) {
        Some(asset) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(ASSET_CACHE_CONTROL),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            asset.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
