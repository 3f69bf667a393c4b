//! A JWK set: the public keys asymmetric tokens (RS256, ES256, EdDSA, …) are verified with,
//! from a file or a URL, cached, and refreshed
//!
//! - when the cache lifetime of the last fetch ends (`Cache-Control: max-age`, else
//!   [`JwksOptions::default_ttl`], never more than [`JwksOptions::max_ttl`]), by a background
//!   task, so that no request waits for it;
//! - when a token names a `kid` the set does not hold, at most once per
//!   [`JwksOptions::min_refresh_interval`] (a key rotation shows up without waiting for the cache
//!   lifetime, and a flood of made-up `kid`s costs the key server at most one fetch per interval).
//!
//! One refresh runs at a time: requests that need one while it runs wait for it and use its
//! result rather than fetching again. A failed refresh keeps the last good set.
//!
//! Each key's algorithm comes from the set (its `alg`, or else its `kty` / `crv`), never from a
//! token: a token is verified only when its header names that same algorithm.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

/// Where a JWK set comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    File(PathBuf),
    /// `https://`, or `http://` on a loopback host (127.0.0.1, ::1, localhost) only.
    Url(reqwest::Url),
}

impl JwksSource {
    /// An `https://` URL, an `http://` URL on a loopback host, or else a file path.
    pub fn parse(text: &str) -> Result<Self, JwksError> {
        let lower = text.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Ok(JwksSource::File(PathBuf::from(text)));
        }
        let url = reqwest::Url::parse(text)
            .map_err(|e| JwksError::Config(format!("{text:?} is not a valid URL: {e}")))?;
        match url.scheme() {
            "https" => Ok(JwksSource::Url(url)),
            _ if is_loopback(&url) => Ok(JwksSource::Url(url)),
            _ => Err(JwksError::Config(format!(
                "{text:?}: a JWK set URL must be https:// (plain http:// only on 127.0.0.1, ::1 or localhost)"
            ))),
        }
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::File(path) => write!(f, "{}", path.display()),
            JwksSource::Url(url) => write!(f, "{url}"),
        }
    }
}

/// How a JWK set is fetched and cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwksOptions {
    /// Longest a fetch may take.
    pub timeout: Duration,
    /// Cache lifetime when the response gives none (no `Cache-Control: max-age`), and for files.
    pub default_ttl: Duration,
    /// Longest cache lifetime, whatever the response says.
    pub max_ttl: Duration,
    /// Least time between two refreshes caused by unknown `kid`s; also the shortest cache
    /// lifetime, and the wait before retrying a failed refresh.
    pub min_refresh_interval: Duration,
}

impl Default for JwksOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            default_ttl: Duration::from_secs(300),
            max_ttl: Duration::from_secs(86_400),
            min_refresh_interval: Duration::from_secs(30),
        }
    }
}

/// Why a JWK set could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("{0}")]
    Config(String),
    #[error("cannot read the JWK set {origin}: {reason}")]
    Fetch { origin: String, reason: String },
    #[error("the JWK set {origin} is not usable: {reason}")]
    Invalid { origin: String, reason: String },
}

/// A verification key and the one algorithm it verifies.
#[derive(Clone)]
pub struct VerifyKey {
    pub algorithm: Algorithm,
    pub key: DecodingKey,
}

/// The keys of one successful fetch.
struct KeySet {
    keys: HashMap<String, Arc<VerifyKey>>,
    /// Counts successful fetches; tells a waiting request whether the set changed meanwhile.
    generation: u64,
}

/// A JWK set, shared by every request (clones share the cache).
#[derive(Clone)]
pub struct Jwks {
    inner: Arc<Inner>,
}

struct Inner {
    source: JwksSource,
    options: JwksOptions,
    client: Option<reqwest::Client>,
    current: RwLock<Arc<KeySet>>,
    /// Held while a refresh runs; holds when the last one was attempted.
    refresh: tokio::sync::Mutex<Option<Instant>>,
    fetches: AtomicU64,
}

/// The largest JWK set document accepted.
const MAX_JWKS_BYTES: usize = 1024 * 1024;

impl Jwks {
    /// Loads the set once (an error when that fails: a gateway that cannot verify tokens should
    /// not start) and, for a URL, starts the background task that refreshes it when its cache
    /// lifetime ends. Needs a tokio runtime.
    pub async fn load(source: JwksSource, options: JwksOptions) -> Result<Self, JwksError> {
        let client = match &source {
            JwksSource::File(_) => None,
            JwksSource::Url(_) => Some(
                reqwest::Client::builder()
                    .timeout(options.timeout)
                    .connect_timeout(options.timeout)
                    // A redirect could lead anywhere, plain http included.
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| JwksError::Config(format!("HTTP client: {e}")))?,
            ),
        };
        let inner = Arc::new(Inner {
            source,
            options,
            client,
            current: RwLock::new(Arc::new(KeySet {
                keys: HashMap::new(),
                generation: 0,
            })),
            refresh: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
        });
        let ttl = {
            let mut last = inner.refresh.lock().await;
            *last = Some(Instant::now());
            let (keys, ttl) = inner.fetch().await?;
            inner.install(keys);
            ttl
        };
        if matches!(inner.source, JwksSource::Url(_)) {
            tokio::spawn(refresh_on_expiry(Arc::downgrade(&inner), ttl));
        }
        Ok(Jwks { inner })
    }

    /// The key with this `kid`. When the set has none, refreshes it first, unless a refresh was
    /// attempted less than [`JwksOptions::min_refresh_interval`] ago.
    pub async fn key(&self, kid: &str) -> Option<Arc<VerifyKey>> {
        let seen = self.inner.snapshot();
        if let Some(key) = seen.keys.get(kid) {
            return Some(key.clone());
        }
        let mut last = self.inner.refresh.lock().await;
        let now = self.inner.snapshot();
        if now.generation != seen.generation {
            // Refreshed while this request waited for the lock.
            return now.keys.get(kid).cloned();
        }
        if last.is_some_and(|at| at.elapsed() < self.inner.options.min_refresh_interval) {
            return None;
        }
        *last = Some(Instant::now());
        match self.inner.fetch().await {
            Ok((keys, _)) => {
                tracing::info!(source = %self.inner.source, "JWK set refreshed for an unknown kid");
                self.inner.install(keys);
            }
            Err(e) => {
                tracing::warn!(error = %e, "JWK set refresh failed; keeping the last good set")
            }
        }
        drop(last);
        self.inner.snapshot().keys.get(kid).cloned()
    }

    /// How many times the set was read from its source (successfully or not).
    pub fn fetches(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// The `kid`s the set holds now.
    pub fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.inner.snapshot().keys.keys().cloned().collect();
        kids.sort();
        kids
    }

    pub fn source(&self) -> &JwksSource {
        &self.inner.source
    }
}

/// Refreshes the set whenever its cache lifetime ends, until the [`Jwks`] is dropped.
async fn refresh_on_expiry(inner: Weak<Inner>, mut ttl: Duration) {
    loop {
        tokio::time::sleep(ttl).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let mut last = inner.refresh.lock().await;
        *last = Some(Instant::now());
        ttl = match inner.fetch().await {
            Ok((keys, ttl)) => {
                inner.install(keys);
                ttl
            }
            Err(e) => {
                tracing::warn!(error = %e, "JWK set refresh failed; keeping the last good set");
                inner.options.min_refresh_interval
            }
        };
    }
}

impl Inner {
    fn snapshot(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(set) => set.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn install(&self, keys: HashMap<String, Arc<VerifyKey>>) {
        let mut current = match self.current.write() {
            Ok(set) => set,
            Err(poisoned) => poisoned.into_inner(),
        };
        let generation = current.generation + 1;
        *current = Arc::new(KeySet { keys, generation });
    }

    /// Reads and parses the set; its cache lifetime.
    async fn fetch(&self) -> Result<(HashMap<String, Arc<VerifyKey>>, Duration), JwksError> {
        let fetched = self.fetch_set().await;
        crate::metrics::jwks_fetch(fetched.is_ok());
        fetched
    }

    async fn fetch_set(&self) -> Result<(HashMap<String, Arc<VerifyKey>>, Duration), JwksError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let source = self.source.to_string();
        let fetch_error = |reason: String| JwksError::Fetch {
            origin: source.clone(),
            reason,
        };
        let (bytes, max_age) = match (&self.source, &self.client) {
            (JwksSource::File(path), _) => {
                let bytes = tokio::fs::read(path)
                    .await
                    .map_err(|e| fetch_error(e.to_string()))?;
                (bytes, None)
            }
            (JwksSource::Url(url), Some(client)) => {
                let mut response = client
                    .get(url.clone())
                    .header(reqwest::header::ACCEPT, "application/json")
                    .send()
                    .await
                    .map_err(|e| fetch_error(without_url(&e)))?;
                if !response.status().is_success() {
                    return Err(fetch_error(format!("HTTP status {}", response.status())));
                }
                let max_age = response
                    .headers()
                    .get_all(reqwest::header::CACHE_CONTROL)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .find_map(max_age);
                let mut bytes = Vec::new();
                while let Some(chunk) = response
                    .chunk()
                    .await
                    .map_err(|e| fetch_error(without_url(&e)))?
                {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > MAX_JWKS_BYTES {
                        return Err(fetch_error(format!("larger than {MAX_JWKS_BYTES} bytes")));
                    }
                }
                (bytes, max_age)
            }
            (JwksSource::Url(_), None) => return Err(fetch_error("no HTTP client".into())),
        };
        let keys = parse_jwks(&bytes).map_err(|reason| JwksError::Invalid {
            origin: source.clone(),
            reason,
        })?;
        let options = &self.options;
        let ttl = max_age.unwrap_or(options.default_ttl).clamp(
            options.min_refresh_interval,
            options.max_ttl.max(options.min_refresh_interval),
        );
        Ok((keys, ttl))
    }
}

fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(&format!(" ({url})"), "");
    }
    if error.is_timeout() {
        text = "timed out".into();
    }
    text
}

/// `max-age=N` of a `Cache-Control` value (`no-store` / `no-cache` count as 0).
fn max_age(value: &str) -> Option<Duration> {
    value.split(',').find_map(|directive| {
        let directive = directive.trim().to_ascii_lowercase();
        if directive == "no-store" || directive == "no-cache" {
            return Some(Duration::ZERO);
        }
        let seconds = directive.strip_prefix("max-age=")?.trim_matches('"');
        seconds.parse::<u64>().ok().map(Duration::from_secs)
    })
}

/// The usable signing keys of a JWK set document, by `kid`. Keys that cannot verify tokens
/// (no `kid`, `use` other than `sig`, symmetric, unknown type or curve, an `alg` that does not
/// fit the key) are left out with a warning; a set with no usable key is an error.
fn parse_jwks(bytes: &[u8]) -> Result<HashMap<String, Arc<VerifyKey>>, String> {
    #[derive(serde::Deserialize)]
    struct RawSet {
        keys: Vec<serde_json::Value>,
    }
    let raw: RawSet = serde_json::from_slice(bytes)
        .map_err(|e| format!("not a JWK set ({{\"keys\": [...]}}): {e}"))?;
    let mut keys = HashMap::new();
    for (index, value) in raw.keys.into_iter().enumerate() {
        match verify_key(value) {
            Ok((kid, key)) => {
                if keys.insert(kid.clone(), Arc::new(key)).is_some() {
                    return Err(format!("two keys have kid {kid:?}"));
                }
            }
            Err(reason) => tracing::warn!(index, %reason, "JWK left out"),
        }
    }
    if keys.is_empty() {
        return Err("it holds no usable signing key (each needs a kid)".into());
    }
    Ok(keys)
}

fn verify_key(value: serde_json::Value) -> Result<(String, VerifyKey), String> {
    let jwk: Jwk = serde_json::from_value(value).map_err(|e| format!("not a JWK: {e}"))?;
    let kid = jwk.common.key_id.clone().ok_or("no kid")?;
    if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
        return Err(format!("kid {kid:?}: not a signing key (use)"));
    }
    let algorithm = algorithm_of(&jwk).map_err(|e| format!("kid {kid:?}: {e}"))?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| format!("kid {kid:?}: {e}"))?;
    Ok((kid, VerifyKey { algorithm, key }))
}

/// The key's algorithm: its `alg` when given (checked against the key type), else the usual one
/// for its type and curve.
fn algorithm_of(jwk: &Jwk) -> Result<Algorithm, String> {
    let implied = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => return Err("unsupported EC curve".into()),
        },
        AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
            EllipticCurve::Ed25519 => Algorithm::EdDSA,
            _ => return Err("unsupported OKP curve".into()),
        },
        AlgorithmParameters::OctetKey(_) => {
            return Err("symmetric keys are not accepted from a JWK set".into());
        }
        _ => return Err("unsupported key type".into()),
    };
    let Some(alg) = jwk.common.key_algorithm else {
        return Ok(implied);
    };
    let named = match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        other => {
            return Err(format!(
                "alg {other:?} is not a signature algorithm we verify"
            ));
        }
    };
    let fits = match (&jwk.algorithm, named) {
        (AlgorithmParameters::RSA(_), a) => a.family() == jsonwebtoken::AlgorithmFamily::Rsa,
        (AlgorithmParameters::EllipticCurve(_), a) => a == implied,
        (AlgorithmParameters::OctetKeyPair(_), a) => a == Algorithm::EdDSA,
        _ => false,
    };
    if fits {
        Ok(named)
    } else {
        Err(format!("alg {named:?} does not fit the key type"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_except_on_loopback() {
        assert!(matches!(
            JwksSource::parse("https://idp.example/jwks.json"),
            Ok(JwksSource::Url(_))
        ));
        for loopback in [
            "http://127.0.0.1:9/jwks",
            "http://localhost/jwks",
            "http://[::1]:80/jwks",
        ] {
            assert!(
                matches!(JwksSource::parse(loopback), Ok(JwksSource::Url(_))),
                "{loopback}"
            );
        }
        for remote in [
            "http://idp.example/jwks.json",
            "http://10.0.0.1/jwks",
            "http://localhost.evil.example/jwks",
        ] {
            assert!(JwksSource::parse(remote).is_err(), "{remote}");
        }
        assert_eq!(
            JwksSource::parse("keys/jwks.json").ok(),
            Some(JwksSource::File("keys/jwks.json".into()))
        );
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            max_age("public, max-age=600"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }

    #[test]
    fn unusable_keys_are_left_out_and_an_empty_set_is_refused() {
        let set = br#"{"keys": [
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
            {"kty": "OKP", "crv": "Ed25519", "x": "CxjqN-PyKPwoxLmRFMq7mCt7eR0zJA2vuKjM5BJa4FQ"},
            {"kty": "OKP", "kid": "enc", "use": "enc", "crv": "Ed25519", "x": "CxjqN-PyKPwoxLmRFMq7mCt7eR0zJA2vuKjM5BJa4FQ"},
            {"kty": "OKP", "kid": "ed", "alg": "RS256", "crv": "Ed25519", "x": "CxjqN-PyKPwoxLmRFMq7mCt7eR0zJA2vuKjM5BJa4FQ"},
            {"kty": "OKP", "kid": "ok", "crv": "Ed25519", "x": "CxjqN-PyKPwoxLmRFMq7mCt7eR0zJA2vuKjM5BJa4FQ"}
        ]}"#;
        let keys = parse_jwks(set).expect("one usable key");
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["ok"]);
        assert_eq!(keys["ok"].algorithm, Algorithm::EdDSA);
        assert!(parse_jwks(br#"{"keys": []}"#).is_err());
        assert!(parse_jwks(b"[]").is_err());
    }
}
