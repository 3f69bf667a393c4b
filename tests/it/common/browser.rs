//! A real headless Chromium for the browser tests, driven over the W3C WebDriver protocol by
//! chromedriver (plain HTTP through reqwest).
//!
//! They need Debian's `chromium` and `chromium-driver` (`/usr/bin/chromium`,
//! `/usr/bin/chromedriver`). Without them [`ChromeDriver::start`] prints a loud `SKIPPED` line
//! and the test returns, so that `cargo test --workspace` passes on a machine with only Rust and
//! PostgreSQL; with `CONVGRAPH_REQUIRE_BROWSER=1` (CI sets it) a missing browser fails the test
//! instead.

use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Set to `1` to make a missing browser fail the browser tests rather than skip them.
pub const REQUIRE_BROWSER: &str = "CONVGRAPH_REQUIRE_BROWSER";

/// How long any one thing may take to show up in the browser.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// chromedriver, on a free port of its own; killed (with the browsers it started) on drop.
pub struct ChromeDriver {
    child: Child,
    url: String,
    client: reqwest::Client,
}

impl ChromeDriver {
    /// Starts chromedriver for `test`; `None` when Chromium or chromedriver is missing and
    /// [`REQUIRE_BROWSER`] is not `1` (after saying so on stderr): the test then returns.
    pub async fn start(test: &str) -> Option<Self> {
        let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
            .into_iter()
            .filter(|path| !Path::new(path).exists())
            .collect();
        if !missing.is_empty() {
            let message = format!(
                "{test} needs chromium and chromium-driver (apt-get install chromium \
                 chromium-driver): {} missing",
                missing.join(" and ")
            );
            assert!(
                std::env::var(REQUIRE_BROWSER).as_deref() != Ok("1"),
                "{REQUIRE_BROWSER}=1: {message}"
            );
            eprintln!("\n*** SKIPPED: {message} ***\n");
            return None;
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
                return Some(driver);
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A new browser window, with a profile of its own.
    pub async fn new_session(&self) -> Browser<'_> {
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
pub struct Browser<'a> {
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

    pub async fn navigate(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub async fn execute(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// The text of the element a CSS selector finds first, if any.
    pub async fn text(&self, selector: &str) -> Option<String> {
        let text = self
            .command(
                reqwest::Method::POST,
                "/execute/sync",
                Some(json!({
                    "script": "const e = document.querySelector(arguments[0]);
                               return e ? e.textContent : null",
                    "args": [selector],
                })),
            )
            .await;
        text.as_str().map(str::to_owned)
    }

    /// Every URL the page has loaded something from (its resource timing entries; a
    /// WebSocket is not among them).
    pub async fn requested(&self) -> Vec<String> {
        let requested = self
            .execute("return performance.getEntriesByType('resource').map(e => e.name)")
            .await;
        requested
            .as_array()
            .expect("resource entries")
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    }

    /// What the page logged as errors since the last look (a CSP violation, a failed load or
    /// WebSocket, an exception).
    pub async fn errors(&self) -> Vec<Value> {
        self.console()
            .await
            .into_iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .collect()
    }

    /// The element a CSS selector finds first, if any.
    pub async fn find(&self, selector: &str) -> Option<String> {
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

    pub async fn click(&self, element: &str) {
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Real key presses to the focused element: Ctrl-A, then the text.
    pub async fn select_all_and_type(&self, text: &str) {
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

    /// What the page logged to its console (chromedriver's log endpoint).
    pub async fn console(&self) -> Vec<Value> {
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
    pub async fn wait_for<T>(&self, what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
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

    pub async fn fail(&self, why: &str) -> ! {
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

    pub async fn quit(self) {
        self.command(reqwest::Method::DELETE, "", None).await;
    }
}
