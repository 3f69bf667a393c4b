//! GraphiQL at `/graphiql`, served from files embedded in the binary: no CDN, so it works on a
//! machine without internet access.
//!
//! The vendored GraphiQL and React builds are in `api/assets/graphiql/` (its README says which
//! versions and how they were fetched); the page's own script is `graphiql.js` beside this file.
//! Asset URLs carry a hash of their content (`?v=…`), so they can be cached for a year and a new
//! build still reaches every browser at once.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::LazyLock;

/// The page may load scripts, styles and data only from its own origin; no inline script, no
/// eval. Styles also allow `'unsafe-inline'`: the page's two `style` attributes and the `<style>`
/// element GraphiQL's dialogs insert (react-remove-scroll) need it, and inline CSS cannot run
/// code. Fonts and images are `data:` URIs inside graphiql.min.css (and the favicon is an empty
/// one).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// A year: the URLs change whenever the content does.
const ASSET_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// In the order the page loads them: GraphiQL's UMD build needs the `React` and `ReactDOM`
/// globals, and the page script needs all three.
const ASSETS: &[Asset] = &[
    Asset {
        name: "graphiql.min.css",
        content_type: CSS,
        body: include_bytes!("../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "react.production.min.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("../assets/graphiql/react-dom.production.min.js"),
    },
    Asset {
        name: "graphiql.min.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "convgraph-graphiql.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("graphiql.js"),
    },
];

/// The routes, to be merged into the app's router.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/graphiql", get(page))
        .route("/graphiql/assets/{name}", get(asset))
}

/// The page, built once: it names every asset with its content hash.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    let mut head = String::new();
    let mut scripts = String::new();
    for asset in ASSETS {
        let url = format!("/graphiql/assets/{}?v={}", asset.name, version(asset.body));
        if asset.content_type == CSS {
            head.push_str(&format!("  <link rel=\"stylesheet\" href=\"{url}\">\n"));
        } else {
            scripts.push_str(&format!("  <script src=\"{url}\"></script>\n"));
        }
    }
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <title>convgraph GraphiQL</title>
  <link rel="icon" href="data:,">
{head}</head>
<body style="margin: 0">
  <div id="graphiql" style="height: 100vh">Loading GraphiQL…</div>
{scripts}</body>
</html>
"#
    )
});

/// A short hash of an asset's content, for its URL (FNV-1a; it only has to change when the
/// content does).
fn version(body: &[u8]) -> String {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        PAGE.as_str(),
    )
        .into_response()
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|asset| asset.name == name) {
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
