//! The pages convgraph serves from files embedded in the binary (GraphiQL, the wallboard): their
//! assets with content types and content-hashed URLs, and the headers every such page carries.
//!
//! Asset URLs carry a hash of their content (`?v=…`), so they can be cached for a year and a new
//! build still reaches every browser at once.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::OnceLock;

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

/// A page served from the binary at `path`, with its assets under `{path}/assets/`.
pub(crate) struct EmbeddedPage {
    pub(crate) path: &'static str,
    pub(crate) title: &'static str,
    /// What the page may load and connect to.
    pub(crate) content_security_policy: &'static str,
    /// In the order the page loads them.
    pub(crate) assets: &'static [Asset],
    /// The `<body>` element's opening tag and content, before the scripts.
    pub(crate) body: &'static str,
    /// The page's HTML, built on first use: it names every asset with its content hash.
    pub(crate) html: OnceLock<String>,
}

impl EmbeddedPage {
    fn html(&self) -> &str {
        self.html.get_or_init(|| {
            let (styles, scripts) = tags(&format!("{}/assets", self.path), self.assets);
            format!(
                r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <title>{title}</title>
  <link rel="icon" href="data:,">
{styles}</head>
{body}
{scripts}</body>
</html>
"#,
                title = self.title,
                body = self.body.trim_end(),
            )
        })
    }

    /// The page's routes, to be merged into the app's router.
    pub(crate) fn router<S: Clone + Send + Sync + 'static>(&'static self) -> Router<S> {
        Router::new()
            .route(
                self.path,
                get(move || async move { page(self.content_security_policy, self.html()) }),
            )
            .route(
                &format!("{}/assets/{{name}}", self.path),
                get(move |Path(name): Path<String>| async move { serve(self.assets, &name) }),
            )
    }
}

/// The `<link>` tags of the style sheets and the `<script>` tags of the scripts among `assets`,
/// in their order, each URL under `prefix` (e.g. `/graphiql/assets`) with its content hash.
fn tags(prefix: &str, assets: &[Asset]) -> (String, String) {
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
fn page(content_security_policy: &'static str, html: &'static str) -> Response {
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
fn serve(assets: &[Asset], name: &str) -> Response {
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
