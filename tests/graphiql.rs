//! GraphiQL at `/graphiql`: the page and its embedded assets over HTTP, and the page itself in a
//! real headless Chromium, driven over the W3C WebDriver protocol by chromedriver.
//!
//! The browser test needs Debian's `chromium` and `chromium-driver` (`/usr/bin/chromium`,
//! `/usr/bin/chromedriver`); without them it fails and says what to install.

mod common;

use common::Server;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long any one thing may take to show up in the browser.
const TIMEOUT: Duration = Duration::from_secs(60);

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
    assert_eq!(assets.len(), 5, "{html}");
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
    let driver = ChromeDriver::start().await;
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
            (browser.headers_editor().await? == with_token).then_some(())
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
    let requested: Value = browser
        .execute("return performance.getEntriesByType('resource').map(e => e.name)")
        .await;
    let requested: Vec<&str> = requested
        .as_array()
        .expect("resource entries")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let here = |path: &str| format!("{}{path}", server.origin);
    assert!(
        requested
            .iter()
            .any(|url| url.starts_with(&here("/graphiql/assets/")))
            && requested.contains(&here("/graphql").as_str()),
        "the page's requests are not all recorded: {requested:#?}"
    );
    let elsewhere: Vec<&&str> = requested
        .iter()
        .filter(|url| !url.starts_with(&here("/")))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "requests left for another origin: {elsewhere:#?}"
    );
    let errors: Vec<Value> = browser
        .console()
        .await
        .into_iter()
        .filter(|entry| entry["level"] == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "the browser logged errors: {errors:#?}");

    // (e) Without a token the headers editor holds a template; the earlier token was not kept.
    browser
        .navigate(&format!("{}/graphiql", server.origin))
        .await;
    browser
        .wait_for("the header template in the headers editor", async || {
            (browser.headers_editor().await? == json!({"Authorization": "Bearer "})).then_some(())
        })
        .await;

    browser.quit().await;
}

/// chromedriver, on a free port of its own; killed (with the browsers it started) on drop.
struct ChromeDriver {
    child: Child,
    url: String,
    client: reqwest::Client,
}

impl ChromeDriver {
    async fn start() -> Self {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "the GraphiQL browser test needs {path} from Debian's {package}: \
                 apt-get install chromium chromium-driver"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // Its own process group, so that drop can end the browsers along with it.
                .process_group(0)
                .spawn()
                .expect("start chromedriver")
        };
        let driver = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        };
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let status = driver
                .client
                .get(format!("{}/status", driver.url))
                .send()
                .await;
            if let Ok(status) = status
                && let Ok(body) = status.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return driver;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn new_session(&self) -> Browser<'_> {
        let profile = tempfile::tempdir().expect("profile dir");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    // Without these Chromium reaches for Google's servers and, on a closed
                    // network, hangs.
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=1400,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let response = self
            .client
            .post(format!("{}/session", self.url))
            .json(&capabilities)
            .send()
            .await
            .expect("POST /session");
        let status = response.status();
        let body: Value = response.json().await.expect("session response");
        assert!(
            status.is_success(),
            "chromedriver refused a session: {body}"
        );
        let id = body["value"]["sessionId"]
            .as_str()
            .expect("session id")
            .to_string();
        Browser {
            driver: self,
            url: format!("{}/session/{id}", self.url),
            _profile: profile,
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // chromedriver and the browsers it started share its process group (the child's pid).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One WebDriver session: a browser window.
struct Browser<'a> {
    driver: &'a ChromeDriver,
    url: String,
    _profile: tempfile::TempDir,
}

impl Browser<'_> {
    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .driver
            .client
            .request(method.clone(), format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        if !status.is_success() {
            panic!("{method} {path}: {status}: {}", body["value"]);
        }
        body["value"].clone()
    }

    async fn navigate(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn execute(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// The element a CSS selector finds first, if any.
    async fn find(&self, selector: &str) -> Option<String> {
        let response = self
            .driver
            .client
            .post(format!("{}/element", self.url))
            .json(&json!({"using": "css selector", "value": selector}))
            .send()
            .await
            .expect("POST /element");
        let found = response.status().is_success();
        let body: Value = response.json().await.expect("element response");
        if !found {
            assert_eq!(body["value"]["error"], "no such element", "{body}");
            return None;
        }
        body["value"]
            .as_object()
            .and_then(|element| element.values().next())
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    async fn click(&self, element: &str) {
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Real key presses to the focused element: Ctrl-A, then the text.
    async fn select_all_and_type(&self, text: &str) {
        const CONTROL: &str = "\u{E009}";
        let mut keys = vec![
            json!({"type": "keyDown", "value": CONTROL}),
            json!({"type": "keyDown", "value": "a"}),
            json!({"type": "keyUp", "value": "a"}),
            json!({"type": "keyUp", "value": CONTROL}),
        ];
        for c in text.chars() {
            keys.push(json!({"type": "keyDown", "value": c.to_string()}));
            keys.push(json!({"type": "keyUp", "value": c.to_string()}));
        }
        self.command(
            reqwest::Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": keys}]})),
        )
        .await;
    }

    /// The headers editor's content (the tool editor whose JSON has an `Authorization`), if the
    /// page shows it.
    async fn headers_editor(&self) -> Option<Value> {
        let editors: Value = self
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

    /// What the page logged to its console (chromedriver's log endpoint).
    async fn console(&self) -> Vec<Value> {
        let log = self
            .command(
                reqwest::Method::POST,
                "/se/log",
                Some(json!({"type": "browser"})),
            )
            .await;
        log.as_array().cloned().unwrap_or_default()
    }

    /// Polls `probe` until it finds something; after [`TIMEOUT`], fails with what the page shows.
    async fn wait_for<T>(&self, what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(found) = probe().await {
                return found;
            }
            if Instant::now() > deadline {
                self.fail(&format!("timed out waiting for {what}")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn fail(&self, why: &str) -> ! {
        let page: Value = self
            .execute(
                "return location.href + '\\n' + (document.body ? document.body.innerText : '')",
            )
            .await;
        let page: String = page
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(3000)
            .collect();
        let console: Vec<String> = self
            .console()
            .await
            .iter()
            .map(|entry| format!("{} {}", entry["level"], entry["message"]))
            .collect();
        panic!(
            "{why}\n--- the page shows:\n{page}\n--- the browser console:\n{}",
            console.join("\n")
        );
    }

    async fn quit(self) {
        self.command(reqwest::Method::DELETE, "", None).await;
    }
}
