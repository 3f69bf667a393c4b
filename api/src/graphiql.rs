//! GraphiQL at `/graphiql`, served from files embedded in the binary: no CDN, so it works on a
//! machine without internet access.
//!
//! The vendored GraphiQL and React builds are in `api/assets/graphiql/` (its README says which
//! versions and how they were fetched); the page's own script is `graphiql.js` beside this file,
//! and it runs subscriptions with the WebSocket client the wallboard uses too
//! ([`assets::WS_CLIENT`]).

use std::sync::OnceLock;

use crate::assets::{self, Asset, CSS, EmbeddedPage, JAVASCRIPT};

/// The page may load scripts, styles and data only from its own origin (its WebSocket
/// included); no inline script, no eval. Styles also allow `'unsafe-inline'`: the page's two
/// `style` attributes and the `<style>` element GraphiQL's dialogs insert (react-remove-scroll)
/// need it, and inline CSS cannot run code. Fonts and images are `data:` URIs inside
/// graphiql.min.css (and the favicon is an empty one).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// In the order the page loads them: GraphiQL's UMD build needs the `React` and `ReactDOM`
/// globals, and the page script needs all three and the WebSocket client.
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
    assets::WS_CLIENT,
    Asset {
        name: "convgraph-graphiql.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("graphiql.js"),
    },
];

/// The page, built once: it names every asset with its content hash.
pub(crate) static PAGE: EmbeddedPage = EmbeddedPage {
    path: "/graphiql",
    title: "convgraph GraphiQL",
    content_security_policy: CONTENT_SECURITY_POLICY,
    assets: ASSETS,
    body: r#"<body style="margin: 0">
  <div id="graphiql" style="height: 100vh">Loading GraphiQL…</div>
"#,
    html: OnceLock::new(),
};
