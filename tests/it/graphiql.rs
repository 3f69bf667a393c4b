//! GraphiQL at `/graphiql`: the page and its embedded assets over HTTP, and the page itself in a
//! real headless Chromium ([`crate::common::browser`]): the schema, a typed query, and a subscription
//! whose pushed answers show as they come.
//!
//! The browser tests need Debian's `chromium` and `chromium-driver`; without them they say
//! `SKIPPED` and pass, unless `CONVGRAPH_REQUIRE_BROWSER=1`.

use crate::common::Server;
use crate::common::browser::{Browser, ChromeDriver};
use serde_json::{Value, json};

/// The conversations the browser test imports and then looks for.
const CONVERSATION_IDS: [&str; 3] = ["graphiql-c-1", "graphiql-c-2", "graphiql-c-3"];

/// What the browser test types into the query editor.
const TYPED_QUERY: &str = "query Typed { conversations { nodes { id } } }";

fn conversation(id: &str, start: &str) -> Value {
    json!({
        "conversationId": id,
        "conversationStart": start,
        "divisionIds": ["div-a"],
        "participants": [{
            "participantId": format!("{id}-p1"),
            "purpose": "customer",
            "sessions": [{
                "sessionId": format!("{id}-s1"),
                "mediaType": "voice",
                "direction": "inbound",
                "segments": [
                    {"segmentType": "interact", "segmentStart": start, "segmentEnd": start, "queueId": "q-1"}
                ]
            }]
        }]
    })
}

fn fixture() -> Vec<Value> {
    CONVERSATION_IDS
        .iter()
        .enumerate()
        .map(|(hour, id)| conversation(id, &format!("2026-11-01T1{hour}:00:00Z")))
        .collect()
}

/// The `src` and `href` attribute values of a page (enough for the page convgraph writes).
fn referenced_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attribute) {
            let rest = &html[at + attribute.len()..];
            if let Some(end) = rest.find('"') {
                urls.push(rest[..end].to_string());
            }
        }
    }
    urls
}

#[tokio::test]
async fn graphiql_page_and_every_asset_it_names_are_served_with_their_types() {
    let server = Server::start(&fixture()).await;
    let client = reqwest::Client::new();

    let page = client
        .get(format!("{}/graphiql", server.origin))
        .send()
        .await
        .expect("GET /graphiql");

    assert_eq!(page.status(), 200);
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert!(header("content-type").starts_with("text/html"));
    let csp = header("content-security-policy");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        !csp.contains("http"),
        "the page allows no other origin: {csp}"
    );
    let html = page.text().await.expect("page body");
    let assets: Vec<String> = referenced_urls(&html)
        .into_iter()
        .filter(|url| !url.starts_with("data:"))
        .collect();
    assert_eq!(assets.len(), 6, "{html}");
    for url in &assets {
        assert!(url.starts_with("/graphiql/assets/"), "{url}");
        let response = client
            .get(format!("{}{url}", server.origin))
            .send()
            .await
            .expect("GET asset");
        assert_eq!(response.status(), 200, "{url}");
        let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .expect("content type");
        let path = url.split('?').next().expect("path");
        let expected = if path.ends_with(".js") {
            "text/javascript"
        } else if path.ends_with(".css") {
            "text/css"
        } else {
            panic!("unexpected asset {url}")
        };
        assert!(content_type.starts_with(expected), "{url}: {content_type}");
        let cache_control = response.headers()[reqwest::header::CACHE_CONTROL]
            .to_str()
            .expect("cache control");
        assert!(cache_control.contains("max-age=31536000"), "{url}");
        assert!(!response.bytes().await.expect("body").is_empty(), "{url}");
    }

    let missing = client
        .get(format!("{}/graphiql/assets/nothing.js", server.origin))
        .send()
        .await
        .expect("GET missing asset");
    assert_eq!(missing.status(), 404);
    let playground = client
        .get(format!("{}/playground", server.origin))
        .send()
        .await
        .expect("GET /playground");
    assert_eq!(
        playground.status(),
        404,
        "the CDN-loading playground is gone"
    );
}

#[tokio::test]
async fn graphiql_in_chromium_shows_the_schema_and_runs_a_typed_query_without_leaving_localhost() {
    let Some(driver) = ChromeDriver::start("the GraphiQL browser test").await else {
        return;
    };
    let server = Server::start(&fixture()).await;
    let browser = driver.new_session().await;

    // (a) The page loads, GraphiQL renders, and the token from the fragment is in its headers.
    let token = server.token.clone();
    browser
        .navigate(&format!("{}/graphiql#token={token}", server.origin))
        .await;
    browser
        .wait_for("GraphiQL to render (.graphiql-container)", async || {
            browser.find(".graphiql-container").await
        })
        .await;
    let with_token = json!({"Authorization": format!("Bearer {token}")});
    browser
        .wait_for("the token in the headers editor", async || {
            (headers_editor(&browser).await? == with_token).then_some(())
        })
        .await;

    // (b) The documentation explorer lists `conversations` on the query type.
    let docs_button = browser
        .wait_for("the documentation explorer button", async || {
            browser
                .find(r#"button[aria-label="Show Documentation Explorer"]"#)
                .await
        })
        .await;
    browser.click(&docs_button).await;
    let query_type = browser
        .wait_for("the query type in the documentation explorer", async || {
            browser
                .find(".graphiql-doc-explorer-root-type + .graphiql-doc-explorer-type-name")
                .await
        })
        .await;
    browser.click(&query_type).await;
    browser
        .wait_for("`conversations` among the query fields", async || {
            let fields: Value = browser
                .execute(
                    "return [...document.querySelectorAll('.graphiql-doc-explorer-field-name')]
                        .map(e => e.textContent)",
                )
                .await;
            fields
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f == "conversations"))
                .then_some(())
        })
        .await;

    // (c) A query typed into the editor returns the imported conversations.
    let editor = browser
        .wait_for("the query editor", async || {
            browser.find(".graphiql-query-editor .CodeMirror").await
        })
        .await;
    browser.click(&editor).await;
    browser.select_all_and_type(TYPED_QUERY).await;
    browser
        .wait_for("GraphiQL to take in the typed query", async || {
            // GraphiQL reads the operation name from the editor 100 ms after the last change
            // and, until then, would run the default query's operation name.
            let editor: Value = browser
                .execute(
                    "const editor = document.querySelector('.graphiql-query-editor .CodeMirror')
                        .CodeMirror;
                     return [editor.getValue(), editor.operationName]",
                )
                .await;
            (editor == json!([TYPED_QUERY, "Typed"])).then_some(())
        })
        .await;
    let run = browser
        .wait_for("the run button", async || {
            browser.find(".graphiql-execute-button").await
        })
        .await;
    browser.click(&run).await;
    let response = browser
        .wait_for("the imported conversations in the response", async || {
            let text: Value = browser
                .execute(
                    "const pane = document.querySelector('.graphiql-response .CodeMirror');
                     return pane ? pane.CodeMirror.getValue() : null",
                )
                .await;
            let text = text.as_str()?;
            CONVERSATION_IDS
                .iter()
                .all(|id| text.contains(id))
                .then(|| text.to_string())
        })
        .await;
    let response: Value = serde_json::from_str(&response).expect("the response pane holds JSON");
    assert_eq!(
        response["data"]["conversations"]["nodes"],
        json!(CONVERSATION_IDS.map(|id| json!({"id": id}))),
    );

    // (d) Nothing was requested from anywhere but the server, and the browser logged no errors
    // (a CSP violation or a failed load would be one).
    let requested = browser.requested().await;
    let here = |path: &str| format!("{}{path}", server.origin);
    assert!(
        requested
            .iter()
            .any(|url| url.starts_with(&here("/graphiql/assets/")))
            && requested.contains(&here("/graphql")),
        "the page's requests are not all recorded: {requested:#?}"
    );
    let elsewhere: Vec<&String> = requested
        .iter()
        .filter(|url| !url.starts_with(&here("/")))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "requests left for another origin: {elsewhere:#?}"
    );
    let errors = browser.errors().await;
    assert!(errors.is_empty(), "the browser logged errors: {errors:#?}");

    // (e) Without a token the headers editor holds a template; the earlier token was not kept.
    browser
        .navigate(&format!("{}/graphiql", server.origin))
        .await;
    browser
        .wait_for("the header template in the headers editor", async || {
            (headers_editor(&browser).await? == json!({"Authorization": "Bearer "})).then_some(())
        })
        .await;

    browser.quit().await;
}

/// What the subscription test runs: what one queue is doing, now and after each change.
const SUBSCRIPTION: &str = r#"subscription Waiting {
  queueObservations(queueIds: ["q-live"]) { data { metric stats { count } } }
}"#;

#[tokio::test]
async fn graphiql_runs_a_subscription_over_a_websocket_and_shows_each_answer_the_server_pushes() {
    let Some(driver) = ChromeDriver::start("the GraphiQL subscription test").await else {
        return;
    };
    let server = Server::start(&[]).await;
    let browser = driver.new_session().await;
    browser
        .navigate(&format!(
            "{}/graphiql#token={}",
            server.origin, server.token
        ))
        .await;
    browser
        .wait_for("the query editor", async || {
            browser.find(".graphiql-query-editor .CodeMirror").await
        })
        .await;

    // (a) The subscription goes into the editor whole, and runs: its first answer is the queue
    // now, with nothing waiting.
    browser
        .execute(&format!(
            "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue({})",
            json!(SUBSCRIPTION)
        ))
        .await;
    browser
        .wait_for("GraphiQL to take in the subscription", async || {
            let name: Value = browser
                .execute(
                    "return document.querySelector('.graphiql-query-editor .CodeMirror')
                        .CodeMirror.operationName",
                )
                .await;
            (name == "Waiting").then_some(())
        })
        .await;
    let run = browser
        .wait_for("the run button", async || {
            browser.find(".graphiql-execute-button").await
        })
        .await;
    browser.click(&run).await;
    browser
        .wait_for("the first answer: nothing waits", async || {
            (response(&browser).await? == json!({"data": {"queueObservations": []}})).then_some(())
        })
        .await;

    // (b) A conversation starts waiting in the queue: the server pushes the queue's new state,
    // and the response pane shows it.
    let writer = server.writer(Some(&["div-a"]), None);
    let since = chrono::Utc::now().to_rfc3339();
    let (status, report) = server
        .push(
            &writer,
            crate::common::ndjson(&[crate::common::waiting(
                "graphiql-live-1",
                "q-live",
                &since,
                &["div-a"],
            )]),
            None,
        )
        .await;
    assert_eq!(status, 200, "{report:?}");
    let waiting = json!({"data": {"queueObservations": [
        {"data": [{"metric": "oWaiting", "stats": {"count": 1}}]}
    ]}});
    browser
        .wait_for("the pushed answer: one waiting", async || {
            (response(&browser).await? == waiting).then_some(())
        })
        .await;

    // (c) The WebSocket went to the page's own origin, within its policy: no errors.
    let errors = browser.errors().await;
    assert!(errors.is_empty(), "the browser logged errors: {errors:#?}");
    browser.quit().await;
}

/// The response pane's JSON, once it holds some.
async fn response(browser: &Browser<'_>) -> Option<Value> {
    let text: Value = browser
        .execute(
            "const pane = document.querySelector('.graphiql-response .CodeMirror');
             return pane ? pane.CodeMirror.getValue() : null",
        )
        .await;
    serde_json::from_str(text.as_str()?).ok()
}

/// The headers editor's content (the tool editor whose JSON has an `Authorization`), if the page
/// shows it.
async fn headers_editor(browser: &Browser<'_>) -> Option<Value> {
    let editors: Value = browser
        .execute(
            "return [...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')]
                .map(e => e.CodeMirror.getValue())",
        )
        .await;
    editors
        .as_array()?
        .iter()
        .filter_map(|text| serde_json::from_str::<Value>(text.as_str()?).ok())
        .find(|headers| headers.get("Authorization").is_some())
}
