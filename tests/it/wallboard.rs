//! The wallboard at `/wallboard`: the page and its embedded assets over HTTP, and the page in a
//! real headless Chromium ([`crate::common::browser`]): its rows fill from the subscriptions and change
//! in place as conversations are pushed through `POST /ingest`, it comes back up to date after
//! its connection is cut, and a missing or refused token says so on the page.
//!
//! The browser tests need Debian's `chromium` and `chromium-driver`; without them they say
//! `SKIPPED` and pass, unless `CONVGRAPH_REQUIRE_BROWSER=1`.

use crate::common::Server;
use crate::common::browser::{Browser, ChromeDriver};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

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

fn utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A conversation answered in `queue`: offered 60 s before `at`, answered after 12 s, handled
/// by an agent for 40 s, over 8 s before `at`.
fn answered(id: &str, queue: &str, at: DateTime<Utc>) -> Value {
    let t = |seconds: i64| utc(at - Duration::seconds(seconds));
    json!({
        "conversationId": id,
        "conversationStart": t(60),
        "conversationEnd": t(8),
        "divisionIds": ["div-a"],
        "participants": [
            {"participantId": format!("{id}-c"), "purpose": "customer",
             "sessions": [{"sessionId": format!("{id}-c1"), "mediaType": "voice", "direction": "inbound",
                           "segments": [{"segmentType": "interact", "segmentStart": t(60), "segmentEnd": t(8)}]}]},
            {"participantId": format!("{id}-q"), "purpose": "acd",
             "sessions": [{"sessionId": format!("{id}-q1"), "mediaType": "voice", "direction": "inbound",
                           "segments": [{"segmentType": "interact", "segmentStart": t(60), "segmentEnd": t(48), "queueId": queue}],
                           "metrics": [{"name": "nOffered", "value": 1, "emitDate": t(60)},
                                       {"name": "tAnswered", "value": 12000, "emitDate": t(48)}]}]},
            {"participantId": format!("{id}-a"), "purpose": "agent", "userId": "agent-1",
             "sessions": [{"sessionId": format!("{id}-a1"), "mediaType": "voice", "direction": "inbound",
                           "segments": [{"segmentType": "interact", "segmentStart": t(48), "segmentEnd": t(8), "queueId": queue}],
                           "metrics": [{"name": "tHandle", "value": 40000, "emitDate": t(8)}]}]}
        ]
    })
}

#[tokio::test]
async fn wallboard_page_and_every_asset_it_names_are_served_under_a_strict_policy() {
    let server = Server::start(&[]).await;
    let client = reqwest::Client::new();

    let page = client
        .get(format!("{}/wallboard", server.origin))
        .send()
        .await
        .expect("GET /wallboard");

    assert_eq!(page.status(), 200);
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert!(header("content-type").starts_with("text/html"));
    assert_eq!(header("cache-control"), "no-cache");
    assert_eq!(header("referrer-policy"), "no-referrer");
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(
        !csp.contains("unsafe") && !csp.contains("http") && !csp.contains("ws:"),
        "no inline code, no eval, no other origin: {csp}"
    );
    let html = page.text().await.expect("page body");
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"/wallboard/assets/").count(),
        "no inline script: {html}"
    );
    assert!(!html.contains("style="), "no inline style: {html}");

    let assets: Vec<String> = referenced_urls(&html)
        .into_iter()
        .filter(|url| !url.starts_with("data:"))
        .collect();
    assert_eq!(assets.len(), 3, "{html}");
    for url in &assets {
        assert!(url.starts_with("/wallboard/assets/"), "{url}");
        assert!(url.contains("?v="), "a content-hashed URL: {url}");
        let response = client
            .get(format!("{}{url}", server.origin))
            .send()
            .await
            .expect("GET asset");
        assert_eq!(response.status(), 200, "{url}");
        let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .expect("content type")
            .to_string();
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
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert!(!response.bytes().await.expect("body").is_empty(), "{url}");
    }

    // The WebSocket client is the one GraphiQL's page loads.
    let graphiql = client
        .get(format!("{}/graphiql", server.origin))
        .send()
        .await
        .expect("GET /graphiql")
        .text()
        .await
        .expect("page body");
    let client_url = |html: &str| {
        referenced_urls(html)
            .into_iter()
            .find(|url| url.contains("/convgraph-ws.js?v="))
            .map(|url| url.split("assets/").nth(1).unwrap_or_default().to_string())
    };
    assert_eq!(client_url(&html), client_url(&graphiql));
    assert!(client_url(&html).is_some(), "{html}");

    for missing in [
        "/wallboard/assets/nothing.js",
        "/wallboard/assets/graphiql.min.js",
    ] {
        let response = client
            .get(format!("{}{missing}", server.origin))
            .send()
            .await
            .expect("GET missing asset");
        assert_eq!(response.status(), 404, "{missing}");
    }
}

#[tokio::test]
async fn wallboard_in_chromium_shows_each_queue_changes_in_place_and_catches_up_after_an_outage() {
    let Some(driver) = ChromeDriver::start("the wallboard browser test").await else {
        return;
    };
    let server = Server::start(&[]).await;
    let writer = server.writer(Some(&["*"]), None);
    // The queue lookup names q-1; q-2 is a Genesys queue it does not know.
    let response = reqwest::Client::new()
        .post(format!("{}/ingest?table=Queues", server.origin))
        .bearer_auth(&writer)
        .header("content-type", "application/x-ndjson")
        .body(json!({"id": "q-1", "Name": "Billing"}).to_string())
        .send()
        .await
        .expect("push the queue");
    assert_eq!(response.status(), 200);
    // The page reaches the server through a proxy that (f) cuts its connections.
    let proxy = Proxy::start(server.addr).await;
    let browser = driver.new_session().await;

    // (a) The page connects, and the queue of the lookup has its row, by name, all zero.
    browser
        .navigate(&format!(
            "{}/wallboard#token={}",
            proxy.origin, server.token
        ))
        .await;
    browser
        .wait_for("the live status", async || {
            (browser.text("#status").await? == "Live").then_some(())
        })
        .await;
    browser
        .wait_for("the row of q-1", async || {
            let row = figures(&browser, "q-1").await?;
            (row["name"] == "Billing" && row["offered"] == "0" && row["waiting"] == "0")
                .then_some(())
        })
        .await;
    browser
        .execute("document.querySelector('tr[data-queue=\"q-1\"]').dataset.first = 'yes'")
        .await;
    let at = moment_inside(&browser).await;

    // (b) A conversation answered in q-1 today: the day's numbers change, in the same row.
    let (status, report) = server
        .push(
            &writer,
            crate::common::ndjson(&[answered("wall-answered", "q-1", at)]),
            None,
        )
        .await;
    assert_eq!(status, 200, "{report:?}");
    let row = browser
        .wait_for("q-1 to have answered one", async || {
            let row = figures(&browser, "q-1").await?;
            (row["answered"] == "1").then_some(row)
        })
        .await;
    assert_eq!(
        row,
        json!({"name": "Billing", "id": "q-1", "waiting": "0", "longestWait": "—", "alerting": "0",
               "interacting": "0", "onQueue": "—", "offered": "1", "answered": "1",
               "abandoned": "0", "serviceLevel": "100 %", "averageAnswer": "0:12",
               "averageHandle": "0:40", "first": "yes"})
    );

    // (c) A conversation waiting in q-2, a queue the page did not know: a row of its own, by id.
    let since = utc(at);
    let (status, report) = server
        .push(
            &writer,
            crate::common::ndjson(&[crate::common::waiting("wall-q2", "q-2", &since, &["div-a"])]),
            None,
        )
        .await;
    assert_eq!(status, 200, "{report:?}");
    browser
        .wait_for("q-2 with one waiting", async || {
            let row = figures(&browser, "q-2").await?;
            (row["name"] == "q-2" && row["offered"] == "1" && row["waiting"] == "1").then_some(())
        })
        .await;

    // (d) One waiting in q-1 too: its row counts it, and the totals count everything.
    let (status, report) = server
        .push(
            &writer,
            crate::common::ndjson(&[crate::common::waiting("wall-q1", "q-1", &since, &["div-a"])]),
            None,
        )
        .await;
    assert_eq!(status, 200, "{report:?}");
    browser
        .wait_for("q-1 with one waiting", async || {
            let row = figures(&browser, "q-1").await?;
            (row["waiting"] == "1" && row["offered"] == "2").then_some(())
        })
        .await;
    let total = browser
        .wait_for("the totals", async || {
            let total = figures_of(&browser, "tr[data-total]").await?;
            (total["offered"] == "3").then_some(total)
        })
        .await;
    assert_eq!(total["waiting"], "2", "{total}");
    assert_eq!(total["answered"], "1", "{total}");
    let row = figures(&browser, "q-1").await.expect("the row of q-1");
    assert_eq!(row["first"], "yes", "updated in place, not rebuilt: {row}");
    assert_ne!(row["longestWait"], "—", "{row}");

    // (e) Nothing was loaded from anywhere else, and the browser logged no errors (a CSP
    // violation, the WebSocket refused, an exception would be one).
    let here = format!("{}/", proxy.origin);
    let requested = browser.requested().await;
    assert!(
        requested.iter().all(|url| url.starts_with(&here)),
        "{requested:#?}"
    );
    let errors = browser.errors().await;
    assert!(errors.is_empty(), "the browser logged errors: {errors:#?}");

    // (f) The connection is cut and the server unreachable for a while: the page says so and
    // keeps trying; a conversation answered meanwhile shows once it is back.
    proxy.cut();
    browser
        .wait_for("the lost connection", async || {
            let status = browser.text("#status").await?;
            status.starts_with("Connection lost").then_some(())
        })
        .await;
    let (status, report) = server
        .push(
            &writer,
            crate::common::ndjson(&[answered("wall-meanwhile", "q-1", at)]),
            None,
        )
        .await;
    assert_eq!(status, 200, "{report:?}");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    proxy.restore();
    browser
        .wait_for("the page live again, with what it missed", async || {
            let live = browser.text("#status").await? == "Live";
            let row = figures(&browser, "q-1").await?;
            (live && row["answered"] == "2" && row["offered"] == "3").then_some(())
        })
        .await;
    browser.quit().await;
}

#[tokio::test]
async fn wallboard_in_chromium_says_so_when_its_token_is_refused_or_missing() {
    let Some(driver) = ChromeDriver::start("the wallboard token test").await else {
        return;
    };
    let server = Server::start(&[]).await;
    let browser = driver.new_session().await;

    // A forged token: the server closes the socket with 4401, and the page says why.
    browser
        .navigate(&format!("{}/wallboard#token=not-a-token", server.origin))
        .await;
    let problem = browser
        .wait_for("the refusal", async || {
            let problem = browser.text("#problem").await?;
            problem.contains("refused the token").then_some(problem)
        })
        .await;
    assert!(problem.contains("4401"), "{problem}");
    assert_eq!(
        browser.text("#status").await.as_deref(),
        Some("Disconnected")
    );

    // No token at all: the page says how to give one, and does not connect.
    browser
        .navigate(&format!("{}/wallboard", server.origin))
        .await;
    let problem = browser
        .wait_for("the missing token", async || {
            let problem = browser.text("#problem").await?;
            problem.starts_with("No token").then_some(problem)
        })
        .await;
    assert!(problem.contains("/wallboard#token="), "{problem}");
    assert_eq!(
        browser.text("#status").await.as_deref(),
        Some("Not connected")
    );
    let rows: Value = browser
        .execute("return document.querySelectorAll('tbody tr').length")
        .await;
    assert_eq!(rows, 0);
    browser.quit().await;
}

/// A TCP proxy in front of the server, so that a test can cut the page's connections and keep
/// it from connecting again for a while, as a network outage or a restarting gateway would.
struct Proxy {
    /// `http://127.0.0.1:port` of the proxy.
    origin: String,
    /// Bumped to end every open connection.
    cuts: watch::Sender<u64>,
    /// Whether new connections are closed as soon as they are accepted.
    refusing: Arc<AtomicBool>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let origin = format!("http://{}", listener.local_addr().expect("addr"));
        let (cuts, cut) = watch::channel(0_u64);
        let refusing = Arc::new(AtomicBool::new(false));
        let refused = refusing.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if refused.load(Ordering::SeqCst) {
                    continue;
                }
                let mut cut = cut.clone();
                cut.mark_unchanged();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy {
            origin,
            cuts,
            refusing,
        }
    }

    /// Drops every open connection, without a close frame, and refuses new ones until
    /// [`Proxy::restore`].
    fn cut(&self) {
        self.refusing.store(true, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.refusing.store(false, Ordering::SeqCst);
    }
}

/// The row of `queue` as `{name, id, <figure>: text, …}`, when the page shows it.
async fn figures(browser: &Browser<'_>, queue: &str) -> Option<Value> {
    figures_of(browser, &format!("tr[data-queue=\"{queue}\"]")).await
}

/// The row `selector` finds: its name, id (its tooltip), the text of each cell by its figure, and the row's
/// `data-first` mark (set by the test to tell the same element from a new one).
async fn figures_of(browser: &Browser<'_>, selector: &str) -> Option<Value> {
    let row: Value = browser
        .execute(&format!(
            "const row = document.querySelector({});
             if (!row) return null;
             const header = row.querySelector('th');
             const figures = {{ name: header.textContent, id: header.title }};
             for (const cell of row.querySelectorAll('td[data-figure]'))
               figures[cell.dataset.figure] = cell.textContent;
             if (row.dataset.first) figures.first = row.dataset.first;
             return figures",
            json!(selector)
        ))
        .await;
    (!row.is_null()).then_some(row)
}

/// A moment inside the day the page shows (`data-interval` of its table), a minute or more
/// after its start: now, unless the page's day began less than a minute ago.
async fn moment_inside(browser: &Browser<'_>) -> DateTime<Utc> {
    let interval: Value = browser
        .execute("return document.getElementById('board').dataset.interval")
        .await;
    let interval = interval.as_str().expect("the page names its interval");
    let (start, end) = interval.split_once('/').expect("start/end");
    let parse = |t: &str| {
        DateTime::parse_from_rfc3339(t)
            .expect("an ISO-8601 time")
            .with_timezone(&Utc)
    };
    let (start, end) = (parse(start), parse(end));
    let now = Utc::now();
    assert!(
        start <= now && now < end,
        "the page shows today: {interval}"
    );
    now.max(start + Duration::seconds(61))
}
