//! Token verification over real HTTP and a real PostgreSQL: the attacks a gateway must refuse,
//! and RS256 / ES256 / EdDSA tokens from a JWK set in a file and at a URL (a local axum server
//! of the test's own, which counts its fetches), key rotation and bounded refreshes.
//!
//! The keys are in `tests/fixtures/keys/` (test-only; `make_keys.sh` made them).

use crate::common::{SECRET, Server, Setup};
use api::auth::{AuthConfig, Jwks, JwksOptions, JwksSource};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ISSUER: &str = "https://idp.convgraph.test/";
const AUDIENCE: &str = "convgraph";
const QUERY: &str = "{ conversations { totalCount nodes { id } } }";

fn keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys")
}

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(keys_dir().join(name)).expect("test key")
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Valid claims for the test servers: every division, 10 minutes left.
fn claims() -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "sub": "attacker-or-not",
        "iat": now,
        "exp": now + 600,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "divisions": "*",
        "permissions": ["conversations:read"],
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

/// Signs `claims` with the private key in `pem` (a file of the keys directory).
fn sign(algorithm: Algorithm, pem: &str, kid: Option<&str>, claims: &Value) -> String {
    let pem = key_file(pem);
    let key = match algorithm {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem),
        other => panic!("no test key for {other:?}"),
    }
    .expect("private key");
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key).expect("sign")
}

fn hs256(secret: &[u8], kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).expect("sign")
}

fn document() -> Value {
    json!({
        "conversationId": "c-1",
        "conversationStart": "2026-11-01T09:00:00Z",
        "divisionIds": ["div-a"],
        "participants": [{
            "participantId": "c-1-p1",
            "purpose": "customer",
            "sessions": [{"sessionId": "c-1-s1", "mediaType": "voice"}]
        }]
    })
}

/// HS256 with [`SECRET`] and the JWK set at `source`, issuer and audience required.
async fn start(source: &str, options: JwksOptions) -> Server {
    let jwks = Jwks::load(JwksSource::parse(source).expect("source"), options)
        .await
        .expect("the JWK set loads");
    let mut auth = AuthConfig::hs256(SECRET).with_jwks(jwks);
    auth.issuer = Some(ISSUER.into());
    auth.audience = Some(AUDIENCE.into());
    Server::start_with(
        &[document()],
        Setup {
            auth,
            ..Setup::default()
        },
    )
    .await
}

async fn start_with_file() -> Server {
    let path = keys_dir().join("jwks.json");
    start(path.to_str().expect("utf-8 path"), JwksOptions::default()).await
}

/// POSTs [`QUERY`] with `Authorization: Bearer <token>`.
async fn ask(server: &Server, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(&server.url)
        .header("Authorization", format!("Bearer {token}"))
        .json(&json!({ "query": QUERY }))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    if status == 401 {
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer"),
            "a 401 names the scheme"
        );
    }
    (status, response.json().await.expect("a JSON body"))
}

async fn assert_accepted(server: &Server, token: &str, what: &str) {
    let (status, body) = ask(server, token).await;
    assert_eq!(status, 200, "{what}: {body}");
    assert_eq!(
        body["data"]["conversations"]["totalCount"], 1,
        "{what}: {body}"
    );
}

fn assert_refused_body(status: u16, body: &Value, what: &str) {
    assert_eq!(status, 401, "{what}: {body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{what}: {body}"
    );
    assert!(body["data"].is_null(), "{what}: no data: {body}");
    assert!(
        !body.to_string().contains("c-1"),
        "{what}: nothing of the data: {body}"
    );
}

async fn assert_refused(server: &Server, token: &str, what: &str) -> String {
    let (status, body) = ask(server, token).await;
    assert_refused_body(status, &body, what);
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn rs256_es256_and_eddsa_tokens_verify_against_a_jwk_set_file() {
    let server = start_with_file().await;

    assert_accepted(
        &server,
        &sign(Algorithm::RS256, "rsa-1.pem", Some("rsa-1"), &claims()),
        "RS256",
    )
    .await;
    assert_accepted(
        &server,
        &sign(Algorithm::ES256, "ec-1.pem", Some("ec-1"), &claims()),
        "ES256 (the JWK has no alg: it comes from kty/crv)",
    )
    .await;
    assert_accepted(
        &server,
        &sign(Algorithm::EdDSA, "ed-1.pem", Some("ed-1"), &claims()),
        "EdDSA",
    )
    .await;
    assert_accepted(&server, &hs256(SECRET.as_bytes(), None, &claims()), "HS256").await;
    let lowercase_scheme = reqwest::Client::new()
        .post(&server.url)
        .header(
            "Authorization",
            format!(
                "bearer {}",
                sign(Algorithm::EdDSA, "ed-1.pem", Some("ed-1"), &claims())
            ),
        )
        .json(&json!({ "query": QUERY }))
        .send()
        .await
        .expect("request");
    assert_eq!(
        lowercase_scheme.status(),
        200,
        "the scheme is case-insensitive"
    );
}

#[tokio::test]
async fn forged_tokens_are_refused_with_unauthenticated_and_no_data() {
    let server = start_with_file().await;
    let good = sign(Algorithm::RS256, "rsa-1.pem", Some("rsa-1"), &claims());
    let now = chrono::Utc::now().timestamp();
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT","kid":"rsa-1"}"#),
        b64(claims().to_string().as_bytes())
    );
    let none_upper = format!(
        "{}.{}.",
        b64(br#"{"alg":"NONE","typ":"JWT"}"#),
        b64(claims().to_string().as_bytes())
    );
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = b64(with(claims(), "sub", json!("someone-else"))
        .to_string()
        .as_bytes());
    let tampered = parts.join(".");
    let padding = "x".repeat(9 * 1024);

    let cases: Vec<(&str, String)> = vec![
        ("alg none", none),
        ("alg NONE", none_upper),
        (
            "HS256 signed with the RSA public key (key confusion), kid of the RSA key",
            hs256(&key_file("rsa-1.pub.pem"), Some("rsa-1"), &claims()),
        ),
        (
            "HS256 signed with the RSA public key, no kid",
            hs256(&key_file("rsa-1.pub.pem"), None, &claims()),
        ),
        (
            "HS256 with another secret",
            hs256(b"not-the-secret", None, &claims()),
        ),
        (
            "expired",
            sign(
                Algorithm::RS256,
                "rsa-1.pem",
                Some("rsa-1"),
                &with(claims(), "exp", json!(now - 3600)),
            ),
        ),
        (
            "no exp",
            sign(Algorithm::RS256, "rsa-1.pem", Some("rsa-1"), &{
                let mut c = claims();
                c.as_object_mut().expect("object").remove("exp");
                c
            }),
        ),
        (
            "not yet valid",
            sign(
                Algorithm::ES256,
                "ec-1.pem",
                Some("ec-1"),
                &with(claims(), "nbf", json!(now + 3600)),
            ),
        ),
        (
            "wrong issuer",
            sign(
                Algorithm::RS256,
                "rsa-1.pem",
                Some("rsa-1"),
                &with(claims(), "iss", json!("https://evil.test/")),
            ),
        ),
        (
            "wrong audience",
            sign(
                Algorithm::EdDSA,
                "ed-1.pem",
                Some("ed-1"),
                &with(claims(), "aud", json!(["someone-else"])),
            ),
        ),
        ("tampered payload", tampered),
        (
            "unknown kid",
            sign(Algorithm::RS256, "rsa-1.pem", Some("rsa-9"), &claims()),
        ),
        (
            "kid with path characters",
            sign(
                Algorithm::RS256,
                "rsa-1.pem",
                Some("../../etc/passwd"),
                &claims(),
            ),
        ),
        (
            "no kid on an asymmetric token",
            sign(Algorithm::RS256, "rsa-1.pem", None, &claims()),
        ),
        (
            "RS256 header naming the EC key",
            sign(Algorithm::RS256, "rsa-1.pem", Some("ec-1"), &claims()),
        ),
        (
            "oversized token",
            sign(
                Algorithm::RS256,
                "rsa-1.pem",
                Some("rsa-1"),
                &with(claims(), "padding", json!(padding)),
            ),
        ),
        ("malformed base64", "eyJhbGciOi!!.e30.c2ln".to_owned()),
        ("two parts", "eyJhbGciOiJIUzI1NiJ9.e30".to_owned()),
        ("empty", String::new()),
        (
            "RSA signature by another RSA key",
            sign(Algorithm::RS256, "rsa-other.pem", Some("rsa-1"), &claims()),
        ),
        (
            "ES256 signature by another P-256 key",
            sign(Algorithm::ES256, "ec-other.pem", Some("ec-1"), &claims()),
        ),
        (
            "EdDSA signature by another Ed25519 key",
            sign(Algorithm::EdDSA, "ed-other.pem", Some("ed-1"), &claims()),
        ),
    ];

    let mut messages = Vec::new();
    for (what, token) in &cases {
        messages.push((what, assert_refused(&server, token, what).await));
    }
    // The messages say what is wrong, briefly, and never echo the token's contents.
    for (what, message) in &messages {
        assert!(
            message.starts_with("the token is not valid")
                || message.starts_with("a bearer token is required"),
            "{what}: {message}"
        );
        println!("{what}: {message}");
        assert!(
            !message.contains("passwd") && !message.contains("evil"),
            "{what}: {message}"
        );
    }
    assert_accepted(&server, &good, "the genuine token, after all that").await;
}

#[tokio::test]
async fn a_token_anywhere_but_authorization_bearer_is_not_looked_at() {
    let server = start_with_file().await;
    let token = sign(Algorithm::RS256, "rsa-1.pem", Some("rsa-1"), &claims());
    let client = reqwest::Client::new();
    let body = json!({ "query": QUERY });

    let requests = [
        (
            "X-Authorization",
            client
                .post(&server.url)
                .header("X-Authorization", format!("Bearer {token}")),
        ),
        (
            "Authorization: Token",
            client
                .post(&server.url)
                .header("Authorization", format!("Token {token}")),
        ),
        (
            "Authorization without a scheme",
            client
                .post(&server.url)
                .header("Authorization", token.clone()),
        ),
        (
            "?access_token= in the URL",
            client.post(format!("{}?access_token={token}", server.url)),
        ),
        (
            "two Authorization headers",
            client
                .post(&server.url)
                .header("Authorization", format!("Bearer {token}"))
                .header("Authorization", format!("Bearer {token}")),
        ),
    ];
    for (what, request) in requests {
        let response = request.json(&body).send().await.expect("request");
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("json");
        assert_refused_body(status, &body, what);
    }
    let get = client
        .get(&server.url)
        .query(&[("query", QUERY), ("access_token", token.as_str())])
        .send()
        .await
        .expect("request");
    let status = get.status().as_u16();
    let body: Value = get.json().await.expect("json");
    assert_refused_body(status, &body, "GET with ?access_token=");
}

/// A JWK set server for the tests: serves `body` with `status` and an optional
/// `Cache-Control: max-age`, and counts the fetches.
#[derive(Default)]
struct KeyServer {
    body: Mutex<String>,
    status: AtomicU16,
    max_age: Mutex<Option<u64>>,
    fetches: AtomicUsize,
}

impl KeyServer {
    async fn start(jwks_file: &str) -> (Arc<KeyServer>, String) {
        let state = Arc::new(KeyServer::default());
        state.serve(jwks_file);
        let app = axum::Router::new()
            .route(
                "/jwks.json",
                axum::routing::get(
                    |axum::extract::State(state): axum::extract::State<Arc<KeyServer>>| async move {
                        state.fetches.fetch_add(1, Ordering::SeqCst);
                        let status =
                            axum::http::StatusCode::from_u16(state.status.load(Ordering::SeqCst))
                                .expect("status");
                        let cache = state
                            .max_age
                            .lock()
                            .expect("lock")
                            .map_or("no-transform".to_owned(), |s| format!("max-age={s}"));
                        let body = state.body.lock().expect("lock").clone();
                        (
                            status,
                            [
                                (
                                    axum::http::header::CONTENT_TYPE,
                                    "application/json".to_owned(),
                                ),
                                (axum::http::header::CACHE_CONTROL, cache),
                            ],
                            body,
                        )
                    },
                ),
            )
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/jwks.json", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (state, url)
    }

    fn serve(&self, jwks_file: &str) {
        *self.body.lock().expect("lock") = String::from_utf8(key_file(jwks_file)).expect("utf-8");
        self.status.store(200, Ordering::SeqCst);
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn tokens_verify_against_a_jwk_set_url() {
    let (keys, url) = KeyServer::start("jwks.json").await;
    let server = start(&url, JwksOptions::default()).await;

    for (algorithm, pem, kid) in [
        (Algorithm::RS256, "rsa-1.pem", "rsa-1"),
        (Algorithm::ES256, "ec-1.pem", "ec-1"),
        (Algorithm::EdDSA, "ed-1.pem", "ed-1"),
    ] {
        assert_accepted(&server, &sign(algorithm, pem, Some(kid), &claims()), kid).await;
    }
    assert_eq!(keys.fetches(), 1, "one fetch at start, then the cache");
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_after_a_bounded_refresh_and_a_kid_flood_fetches_at_most_once_per_interval()
 {
    let interval = Duration::from_secs(1);
    let (keys, url) = KeyServer::start("jwks.json").await;
    let server = start(
        &url,
        JwksOptions {
            min_refresh_interval: interval,
            ..JwksOptions::default()
        },
    )
    .await;
    let started = Instant::now();
    let rotated = sign(Algorithm::RS256, "rsa-2.pem", Some("rsa-2"), &claims());
    let retired = sign(Algorithm::RS256, "rsa-1.pem", Some("rsa-1"), &claims());
    assert_accepted(&server, &retired, "the first key, before the rotation").await;

    keys.serve("jwks-rotated.json");
    tokio::time::sleep(interval.saturating_sub(started.elapsed()) + Duration::from_millis(100))
        .await;
    assert_accepted(&server, &rotated, "the new key, after one refresh").await;
    assert_eq!(keys.fetches(), 2);
    assert_refused(&server, &retired, "the retired key").await;

    // Floods of tokens naming made-up kids, all at once: right after a refresh (all within the
    // interval), and once the interval has passed (one of them refreshes, the others wait for
    // that fetch instead of starting their own).
    for round in 0..2 {
        if round == 1 {
            tokio::time::sleep(interval + Duration::from_millis(100)).await;
        }
        let before = keys.fetches();
        let flood_started = Instant::now();
        let flood: Vec<_> = (0..60)
            .map(|i| {
                let token = sign(
                    Algorithm::RS256,
                    "rsa-2.pem",
                    Some(&format!("made-up-{round}-{i}")),
                    &claims(),
                );
                let url = server.url.clone();
                tokio::spawn(async move {
                    reqwest::Client::new()
                        .post(url)
                        .bearer_auth(token)
                        .json(&json!({ "query": QUERY }))
                        .send()
                        .await
                        .expect("request")
                        .status()
                        .as_u16()
                })
            })
            .collect();
        for request in flood {
            assert_eq!(request.await.expect("task"), 401);
        }
        let elapsed = flood_started.elapsed();
        let allowed = 1 + (elapsed.as_millis() / interval.as_millis()) as usize;
        let extra = keys.fetches() - before;
        println!(
            "round {round}: 60 unknown kids in {elapsed:?}: {extra} fetches (allowed {allowed})"
        );
        assert!(
            extra <= allowed,
            "60 unknown kids in {elapsed:?} caused {extra} fetches; at most {allowed} allowed"
        );
    }
    assert_accepted(&server, &rotated, "the new key, after the flood").await;
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_last_good_set_and_the_cache_lifetime_drives_refreshes() {
    let interval = Duration::from_secs(1);
    let (keys, url) = KeyServer::start("jwks.json").await;
    *keys.max_age.lock().expect("lock") = Some(1);
    let server = start(
        &url,
        JwksOptions {
            min_refresh_interval: interval,
            ..JwksOptions::default()
        },
    )
    .await;
    let token = sign(Algorithm::EdDSA, "ed-1.pem", Some("ed-1"), &claims());

    // max-age=1: the background task refreshes about every second, with no request asking.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let refreshed = keys.fetches();
    assert!(refreshed >= 2, "refreshed on expiry: {refreshed} fetches");

    // The key server fails: refreshes fail, the last good set stays.
    keys.status.store(500, Ordering::SeqCst);
    keys.body.lock().expect("lock").clear();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_refused(
        &server,
        &sign(Algorithm::EdDSA, "ed-1.pem", Some("ed-9"), &claims()),
        "unknown kid while the key server fails",
    )
    .await;
    assert!(keys.fetches() > refreshed, "refreshes were attempted");
    assert_accepted(&server, &token, "a known key while the key server fails").await;
}

#[tokio::test]
async fn a_jwk_set_url_over_plain_http_is_refused_unless_on_loopback() {
    for url in [
        "http://keys.example/jwks.json",
        "http://192.0.2.1/jwks.json",
    ] {
        let error = JwksSource::parse(url).expect_err(url);
        assert!(error.to_string().contains("https://"), "{error}");
    }
    let missing = Jwks::load(
        JwksSource::parse("/nonexistent/jwks.json").expect("a path"),
        JwksOptions::default(),
    )
    .await;
    assert!(
        missing.is_err(),
        "a JWK set that cannot be read stops startup"
    );
}

// --- Tokens convgraph must refuse beyond their signature, and permissions.

#[tokio::test]
async fn a_token_with_a_crit_header_or_an_empty_sub_is_refused() {
    let server = start_with_file().await;
    let mut header = Header::new(Algorithm::HS256);
    header.crit = Some(vec!["exp-extension".into()]);
    let crit = jsonwebtoken::encode(
        &header,
        &claims(),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign");
    let empty_sub = hs256(SECRET.as_bytes(), None, &with(claims(), "sub", json!("")));
    let blank_sub = hs256(SECRET.as_bytes(), None, &with(claims(), "sub", json!("  ")));

    let message = assert_refused(&server, &crit, "crit").await;
    assert_eq!(
        message,
        "the token is not valid: critical header parameter \"exp-extension\" is not understood"
    );
    for (token, what) in [(empty_sub, "empty sub"), (blank_sub, "blank sub")] {
        let message = assert_refused(&server, &token, what).await;
        assert_eq!(
            message, "the token is not valid: claim sub is empty",
            "{what}"
        );
    }
    assert_accepted(&server, &hs256(SECRET.as_bytes(), None, &claims()), "HS256").await;
}

#[tokio::test]
async fn a_token_without_conversations_read_reads_nothing() {
    let server = start_with_file().await;
    let queries = [
        QUERY,
        "{ conversationAggregates(interval: \"2026-11-01T00:00:00Z/2026-11-02T00:00:00Z\", metrics: [\"nOffered\"]) { group } }",
        "{ workitems { totalCount } }",
        "{ __typename }",
    ];
    for permissions in [
        json!([]),
        json!(["ingest:write"]),
        json!(["pii:read", "conversations:write"]),
    ] {
        let token = hs256(
            SECRET.as_bytes(),
            None,
            &with(claims(), "permissions", permissions.clone()),
        );
        for query in queries {
            let response = reqwest::Client::new()
                .post(&server.url)
                .bearer_auth(&token)
                .json(&json!({"query": query}))
                .send()
                .await
                .expect("request");
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("json");
            assert_eq!(status, 403, "{permissions} {query}: {body}");
            assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
            assert_eq!(
                body["errors"][0]["message"],
                "queries need the conversations:read permission, which this token does not have"
            );
            assert!(body.get("data").is_none(), "{body}");
        }
    }
}

/// Runs `convgraph serve` with `env` (and no other token configuration) and returns its exit
/// status and standard error, or `None` when it started serving (it is then killed).
fn serve_with(env: &[(&str, &str)], args: &[&str]) -> Option<(i32, String)> {
    use std::io::{BufRead as _, BufReader, Read as _};
    use std::process::{Command, Stdio};
    let mut command = Command::new(env!("CARGO_BIN_EXE_convgraph"));
    command
        .arg("serve")
        .args(args)
        // Never reached when the start is refused: the token check comes first.
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/nothing")
        .env("CONVGRAPH_LISTEN", "127.0.0.1:0")
        .env_remove("CONVGRAPH_JWT_SECRET")
        .env_remove("CONVGRAPH_JWKS")
        .env_remove("CONVGRAPH_JWT_HS256")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("start convgraph serve");
    let mut line = String::new();
    let _ = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
    if line.contains("serving") {
        let _ = child.kill();
        let _ = child.wait();
        return None;
    }
    let status = child.wait().expect("exit");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    Some((status.code().unwrap_or(-1), stderr))
}

#[test]
fn serve_refuses_to_start_without_a_strong_secret_or_a_jwk_set_and_says_what_to_set() {
    /// The environment, the flags, and what the refusal must say.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a str);
    let cases: [Case; 6] = [
        (&[], &[], "set CONVGRAPH_JWT_SECRET"),
        (
            &[("CONVGRAPH_JWT_SECRET", "")],
            &[],
            "the HS256 secret is empty",
        ),
        (
            &[("CONVGRAPH_JWT_SECRET", "x")],
            &[],
            "the HS256 secret has 1 bytes; at least 32 are needed",
        ),
        (
            &[("CONVGRAPH_JWT_SECRET", "0123456789abcdef0123456789abcde")],
            &[],
            "the HS256 secret has 31 bytes; at least 32 are needed",
        ),
        (
            &[("CONVGRAPH_JWT_SECRET", "convgraph-development-secret")],
            &[],
            "the public development secret",
        ),
        (
            &[("CONVGRAPH_JWT_SECRET", SECRET)],
            &["--jwt-hs256", "false"],
            "set CONVGRAPH_JWT_SECRET",
        ),
    ];
    for (env, args, wanted) in cases {
        let (code, stderr) =
            serve_with(env, args).unwrap_or_else(|| panic!("{env:?} {args:?}: serve started"));
        assert_ne!(code, 0, "{env:?}");
        assert!(stderr.contains(wanted), "{env:?} {args:?}: {stderr}");
        for (_, value) in env.iter().filter(|(_, v)| v.len() > 8) {
            assert!(
                !stderr.contains(value),
                "the secret is never printed: {stderr}"
            );
        }
    }
}

#[tokio::test]
async fn serve_with_only_a_jwk_set_refuses_tokens_of_the_development_secret() {
    let db = db::testing::test_database().await;
    let jwks = keys_dir().join("jwks.json");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_convgraph"))
        .arg("serve")
        .env("DATABASE_URL", db.url())
        .env("CONVGRAPH_LISTEN", "127.0.0.1:0")
        .env("CONVGRAPH_JWKS", jwks.to_str().expect("path"))
        .env("CONVGRAPH_JWT_ISSUER", ISSUER)
        .env("CONVGRAPH_JWT_AUDIENCE", AUDIENCE)
        .env_remove("CONVGRAPH_JWT_SECRET")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("the serving line");
    let url = line.trim().rsplit(' ').next().expect("url").to_owned();
    let forged = hs256(b"convgraph-development-secret", None, &claims());
    let signed = sign(Algorithm::RS256, "rsa-1.pem", Some("rsa-1"), &claims());
    let ask = |token: String| {
        reqwest::Client::new()
            .post(&url)
            .bearer_auth(token)
            .json(&json!({"query": QUERY}))
            .send()
    };

    let forged = ask(forged).await.expect("request");
    let signed = ask(signed).await.expect("request");

    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(forged.status(), 401);
    let body: Value = forged.json().await.expect("json");
    assert_eq!(
        body["errors"][0]["message"],
        "the token is not valid: algorithm not accepted"
    );
    assert_eq!(signed.status(), 200);
}
