//! Bearer tokens -> the caller: who it is, what it may see ([`Scope`]) and may do.
//!
//! Two kinds of keys, each verifying only its own kind of token:
//!
//! - HS256 tokens against the configured secret (`CONVGRAPH_JWT_SECRET`), and nothing else;
//! - asymmetric tokens (RS256, ES256, EdDSA, …) against the key of a JWK set ([`jwks`],
//!   `CONVGRAPH_JWKS`) that has the token's `kid`, and nothing else.
//!
//! The algorithm comes from the key, never from the token: a token is verified only when its
//! header names the algorithm of the key it selects (so `none`, HS256 signed with an RSA public
//! key, or an RS256 header on an EC key are all refused). `exp` and a non-empty `sub` are
//! required, `nbf` is honoured, `iss` and `aud` are checked when configured, all with a small
//! clock leeway; a header with `crit` (extensions the verifier must understand) is refused, since
//! convgraph understands none.
//!
//! The HS256 secret is a [`SecretString`]: never printed, wiped when dropped. A server refuses to
//! start with a weak one ([`check_hs256_secret`]); the public [`DEVELOPMENT_SECRET`] is for
//! `demo`, development tokens and tests only.

pub mod jwks;

use domain::Scope;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

pub use jwks::{Jwks, JwksError, JwksOptions, JwksSource};

/// The HS256 secret of `convgraph demo`, of development tokens and of tests. It is public (the
/// README names it), so anyone can sign tokens with it: `serve` refuses it.
pub const DEVELOPMENT_SECRET: &str = "convgraph-development-secret";

/// The shortest HS256 secret `serve` accepts, in bytes (RFC 7518 §3.2: a key of at least the
/// hash's size, 256 bits).
pub const MIN_SECRET_BYTES: usize = 32;

/// Why a configured HS256 secret is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WeakSecret {
    #[error("the HS256 secret is empty")]
    Empty,
    #[error(
        "the HS256 secret has {0} bytes; at least {MIN_SECRET_BYTES} are needed (e.g. `openssl rand -base64 48`)"
    )]
    Short(usize),
    #[error("the HS256 secret is the public development secret, with which anyone can sign tokens")]
    Development,
}

/// Whether `secret` is fit to verify tokens in production: at least [`MIN_SECRET_BYTES`] bytes,
/// and not the [`DEVELOPMENT_SECRET`].
pub fn check_hs256_secret(secret: &SecretString) -> Result<(), WeakSecret> {
    let bytes = secret.expose_secret().len();
    if secret.expose_secret() == DEVELOPMENT_SECRET {
        Err(WeakSecret::Development)
    } else if bytes == 0 {
        Err(WeakSecret::Empty)
    } else if bytes < MIN_SECRET_BYTES {
        Err(WeakSecret::Short(bytes))
    } else {
        Ok(())
    }
}

/// How tokens are verified.
#[derive(Clone, Default)]
pub struct AuthConfig {
    /// HS256 secret; `None` (or an empty one): HS256 tokens are refused.
    secret: Option<SecretString>,
    /// Public keys of asymmetric tokens; `None`: those are refused.
    pub jwks: Option<Jwks>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    /// Clock leeway for `exp` and `nbf`, in seconds.
    pub leeway_seconds: u64,
}

impl AuthConfig {
    /// The default clock leeway.
    pub const DEFAULT_LEEWAY_SECONDS: u64 = 30;
    /// The largest clock leeway a configuration may ask for.
    pub const MAX_LEEWAY_SECONDS: u64 = 300;

    /// HS256 tokens against `secret`, whatever its strength: the caller decides whether it is
    /// fit ([`check_hs256_secret`]; `serve` refuses weak ones).
    pub fn hs256(secret: impl Into<SecretString>) -> Self {
        Self {
            secret: Some(secret.into()),
            leeway_seconds: Self::DEFAULT_LEEWAY_SECONDS,
            ..Self::default()
        }
    }

    /// No way to verify a token: every token is refused (add a JWK set with
    /// [`AuthConfig::with_jwks`]).
    pub fn none() -> Self {
        Self {
            leeway_seconds: Self::DEFAULT_LEEWAY_SECONDS,
            ..Self::default()
        }
    }

    /// Asymmetric tokens only, against `jwks`.
    pub fn jwks(jwks: Jwks) -> Self {
        Self {
            jwks: Some(jwks),
            leeway_seconds: Self::DEFAULT_LEEWAY_SECONDS,
            ..Self::default()
        }
    }

    /// Also verify asymmetric tokens against `jwks`.
    pub fn with_jwks(mut self, jwks: Jwks) -> Self {
        self.jwks = Some(jwks);
        self
    }

    /// Whether HS256 tokens are verified (a non-empty secret is configured).
    pub fn hs256_enabled(&self) -> bool {
        self.hs256_secret().is_some()
    }

    fn hs256_secret(&self) -> Option<&[u8]> {
        self.secret
            .as_ref()
            .map(|s| s.expose_secret().as_bytes())
            .filter(|s| !s.is_empty())
    }

    /// The verification methods that are on, for the start-up log: `HS256`, `JWKS (source)`, or
    /// `none`.
    pub fn methods(&self) -> String {
        let mut methods = Vec::new();
        if self.hs256_enabled() {
            methods.push("HS256 (shared secret)".to_owned());
        }
        if let Some(jwks) = &self.jwks {
            methods.push(format!(
                "RS/ES/PS/EdDSA against the JWK set {}",
                jwks.source()
            ));
        }
        if methods.is_empty() {
            "none: every token is refused".into()
        } else {
            methods.join(", ")
        }
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("methods", &self.methods())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_seconds", &self.leeway_seconds)
            .finish_non_exhaustive()
    }
}

/// What a token allows beyond seeing its scope. Permissions a token names that convgraph does not
/// know are ignored (a token may serve other APIs too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// `conversations:read`: every query (reads, aggregates).
    ConversationsRead,
    /// `pii:read`: personal data (see [`domain::Personal`]), and filtering on it.
    PiiRead,
    /// `ingest:write`: `ingestConversations`, `ingestRecords`, `POST /ingest`.
    IngestWrite,
}

impl Permission {
    pub const ALL: [Permission; 3] = [
        Permission::ConversationsRead,
        Permission::PiiRead,
        Permission::IngestWrite,
    ];

    /// The name tokens carry.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ConversationsRead => "conversations:read",
            Permission::PiiRead => "pii:read",
            Permission::IngestWrite => "ingest:write",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Permission {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown permission {s:?}; the permissions: {}",
                    Permission::ALL.map(Permission::as_str).join(", ")
                )
            })
    }
}

/// `"*"` or a list of ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IdsClaim {
    All(AllMarker),
    Ids(Vec<String>),
}

/// The literal `"*"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AllMarker {
    #[serde(rename = "*")]
    All,
}

impl IdsClaim {
    fn all() -> Self {
        IdsClaim::All(AllMarker::All)
    }
}

/// The claims convgraph reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Required: optional here only so that a missing one is reported as missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Required, like `sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divisions: Option<IdsClaim>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_units: Option<IdsClaim>,
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// A claim that is one string or a list of them (`aud`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub subject: String,
    pub scope: Scope,
    pub permissions: BTreeSet<Permission>,
    /// When the token expires (`exp`, seconds since the epoch): a live subscription ends then.
    pub expires_at: Option<i64>,
}

/// The permission to read personal data (see [`domain::Personal`]), as tokens spell it.
pub const PII_READ: &str = "pii:read";

impl Caller {
    /// Whether the token grants `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// Whether the caller may read, filter and order on personal data.
    pub fn may_read_personal(&self) -> bool {
        self.may(Permission::PiiRead)
    }

    /// Whether the caller may run queries at all.
    pub fn may_read(&self) -> bool {
        self.may(Permission::ConversationsRead)
    }
}

/// Why a token was refused. The message never says more than the client needs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("a bearer token is required (Authorization: Bearer …)")]
    Missing,
    #[error("the token is not valid: {0}")]
    Invalid(String),
}

/// The longest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The longest `kid` looked up.
const MAX_KID_BYTES: usize = 256;

/// Verifies a token and turns its claims into a caller. Awaits only when the token names a
/// `kid` the JWK set does not hold (a bounded refresh, see [`jwks`]).
pub async fn verify(config: &AuthConfig, token: &str) -> Result<Caller, AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::Invalid(format!(
            "longer than {MAX_TOKEN_BYTES} bytes"
        )));
    }
    let header = jsonwebtoken::decode_header(token).map_err(|e| {
        AuthError::Invalid(match e.kind() {
            // An `alg` jsonwebtoken does not know, `none` included.
            jsonwebtoken::errors::ErrorKind::Json(_) if header_alg_is_unknown(token) => {
                "algorithm not accepted".into()
            }
            _ => "malformed".into(),
        })
    })?;
    let not_accepted = || AuthError::Invalid("algorithm not accepted".into());
    let jwk;
    let (algorithm, key) = match header.alg {
        Algorithm::HS256 => {
            let secret = config.hs256_secret().ok_or_else(not_accepted)?;
            (Algorithm::HS256, &DecodingKey::from_secret(secret))
        }
        Algorithm::HS384 | Algorithm::HS512 => return Err(not_accepted()),
        _ => {
            let jwks = config.jwks.as_ref().ok_or_else(not_accepted)?;
            let kid = header
                .kid
                .as_deref()
                .ok_or_else(|| AuthError::Invalid("no kid in the header".into()))?;
            let unknown = || AuthError::Invalid("unknown kid".into());
            if kid.is_empty() || kid.len() > MAX_KID_BYTES {
                return Err(unknown());
            }
            jwk = jwks.key(kid).await.ok_or_else(unknown)?;
            if jwk.algorithm != header.alg {
                return Err(not_accepted());
            }
            (jwk.algorithm, &jwk.key)
        }
    };
    let mut validation = Validation::new(algorithm);
    validation.leeway = config.leeway_seconds;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "sub"]);
    match &config.issuer {
        Some(iss) => validation.set_issuer(&[iss]),
        None => validation.iss = None,
    }
    match &config.audience {
        Some(aud) => validation.set_audience(&[aud]),
        None => validation.validate_aud = false,
    }
    let data = jsonwebtoken::decode::<Claims>(token, key, &validation)
        .map_err(|e| AuthError::Invalid(describe(&e)))?;
    // RFC 7515 §4.1.11: a verifier must refuse a token whose `crit` names an extension it does
    // not understand; convgraph understands none. Checked on the verified header only, so the
    // message is no oracle for unsigned tokens.
    if let Some(crit) = &data.header.crit {
        return Err(AuthError::Invalid(match crit.first() {
            Some(name) => format!(
                "critical header parameter {:?} is not understood",
                name.chars().take(64).collect::<String>()
            ),
            None => "the crit header parameter is empty".into(),
        }));
    }
    let claims = data.claims;
    if claims
        .sub
        .as_deref()
        .is_none_or(|sub| sub.trim().is_empty())
    {
        return Err(AuthError::Invalid("claim sub is empty".into()));
    }
    let ids = |claim: &Option<IdsClaim>| match claim {
        Some(IdsClaim::Ids(ids)) => Some(ids.iter().cloned().collect::<BTreeSet<_>>()),
        _ => None,
    };
    let all = matches!(claims.divisions, Some(IdsClaim::All(_)))
        || matches!(claims.business_units, Some(IdsClaim::All(_)));
    let scope = if all {
        Scope::All
    } else {
        Scope::Limited {
            divisions: ids(&claims.divisions).unwrap_or_default(),
            business_units: ids(&claims.business_units).unwrap_or_default(),
        }
    };
    Ok(Caller {
        subject: claims.sub.unwrap_or_default(),
        expires_at: claims.exp,
        scope,
        permissions: claims
            .permissions
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect(),
    })
}

/// Whether the header's `alg` is a string jsonwebtoken has no variant for (`none`, `HS1`…).
fn header_alg_is_unknown(token: &str) -> bool {
    use base64::Engine as _;
    let Some(encoded) = token.split('.').next() else {
        return false;
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|header| {
            header
                .get("alg")
                .and_then(|alg| alg.as_str())
                .map(str::to_owned)
        })
        .is_some_and(|alg| alg.parse::<Algorithm>().is_err())
}

fn describe(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => "expired".into(),
        ErrorKind::ImmatureSignature => "not valid yet".into(),
        ErrorKind::InvalidIssuer => "wrong issuer".into(),
        ErrorKind::InvalidAudience => "wrong audience".into(),
        ErrorKind::InvalidAlgorithm => "algorithm not accepted".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("claim {c} is required"),
        ErrorKind::InvalidSignature => "bad signature".into(),
        ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
            "bad signature".into()
        }
        _ => "malformed".into(),
    }
}

/// What a development token grants.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub subject: String,
    /// `None`: no divisions; `Some(["*"])`: all.
    pub divisions: Option<Vec<String>>,
    pub business_units: Option<Vec<String>>,
    pub permissions: Vec<String>,
    pub ttl_seconds: i64,
}

/// Mints an HS256 token with the configured secret (for `convgraph token`, the demo and tests).
pub fn mint(
    config: &AuthConfig,
    request: &TokenRequest,
) -> Result<String, jsonwebtoken::errors::Error> {
    let claim = |ids: &Option<Vec<String>>| {
        ids.as_ref().map(|ids| {
            if ids.iter().any(|i| i == "*") {
                IdsClaim::all()
            } else {
                IdsClaim::Ids(ids.clone())
            }
        })
    };
    let claims = Claims {
        sub: Some(request.subject.clone()),
        exp: Some(chrono::Utc::now().timestamp() + request.ttl_seconds),
        iss: config.issuer.clone(),
        aud: config.audience.clone().map(OneOrMany::One),
        divisions: claim(&request.divisions),
        business_units: claim(&request.business_units),
        permissions: request.permissions.clone(),
    };
    let secret = config
        .hs256_secret()
        .ok_or(jsonwebtoken::errors::ErrorKind::InvalidKeyFormat)?;
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
}
