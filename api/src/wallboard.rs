//! The wallboard at `/wallboard`: per queue, what it is doing now (`queueObservations`) and
//! today's numbers (`aggregateChanged`), kept current by subscriptions that the page runs over a
//! WebSocket to `/graphql` itself; it never polls.
//!
//! Served like GraphiQL ([`crate::graphiql`]): the page, its script (`wallboard.js`), its style
//! sheet (`wallboard.css`) and the WebSocket client ([`assets::WS_CLIENT`]) are embedded in the
//! binary, under a policy that lets the page load and connect to nothing but its own origin. The
//! token comes from the URL fragment (`/wallboard#token=<jwt>`), which browsers never send.

use std::sync::OnceLock;

use crate::assets::{self, Asset, CSS, EmbeddedPage, JAVASCRIPT};

/// Scripts and styles from the page's own origin only, no inline script or style, no eval;
/// connections only to its own origin (`'self'` covers the same host's `ws:` and `wss:`); the
/// favicon is an empty `data:` URI.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// In the order the page loads them: the page script needs the WebSocket client.
const ASSETS: &[Asset] = &[
    Asset {
        name: "convgraph-wallboard.css",
        content_type: CSS,
        body: include_bytes!("wallboard.css"),
    },
    assets::WS_CLIENT,
    Asset {
        name: "convgraph-wallboard.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("wallboard.js"),
    },
];

/// The page, built once: a frame the script fills (the table's columns are defined there, once).
pub(crate) static PAGE: EmbeddedPage = EmbeddedPage {
    path: "/wallboard",
    title: "convgraph wallboard",
    content_security_policy: CONTENT_SECURITY_POLICY,
    assets: ASSETS,
    body: r#"<body>
  <header class="bar">
    <h1>Wallboard</h1>
    <p id="day" class="day"></p>
    <p id="status" class="status" role="status" data-state="starting">Starting…</p>
  </header>
  <p id="problem" class="problem" role="alert" hidden></p>
  <main>
    <table id="board" class="board">
      <caption class="visually-hidden">Per queue: what is happening now, and the numbers of the day</caption>
      <thead></thead>
      <tbody id="queues"></tbody>
      <tfoot></tfoot>
    </table>
    <p id="empty" class="note" hidden>No queues to show yet: this token sees none in the queue
      lookup, and none has numbers today. Queues appear here as they get their first interaction.</p>
  </main>
  <footer class="note">
    <p id="updated">Waiting for the first answer…</p>
    <noscript><p>The wallboard needs JavaScript.</p></noscript>
  </footer>
"#,
    html: OnceLock::new(),
};
