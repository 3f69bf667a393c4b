//! Bearer tokens -> the caller: who it is, what it may see ([`Scope`]) and may do.
//!
//! HS256 with the configured secret. The algorithm comes from the configuration, never from the
//! token header; `exp` and `sub` are required; `iss` and `aud` are checked when configured.

use domain::Scope;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// How tokens are verified.
#[derive(Clone)]
pub struct AuthConfig {
    secret: Vec<u8>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    /// Clock leeway for `exp` and `nbf`, in seconds.
    pub leeway_seconds: u64,
}

impl AuthConfig {
    pub fn hs256(secret: impl AsRef<[u8]>) -> Self {
        Self {
            secret: secret.as_ref().to_vec(),
            issuer: None,
            audience: None,
            leeway_seconds: 30,
        }
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
    pub sub: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divisions: Option<IdsClaim>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_units: Option<IdsClaim>,
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub subject: String,
    pub scope: Scope,
    pub permissions: BTreeSet<String>,
}

/// The permission to read personal data (see [`domain::Personal`]).
pub const PII_READ: &str = "pii:read";

impl Caller {
    /// Whether the caller may read, filter and order on personal data.
    pub fn may_read_personal(&self) -> bool {
        self.permissions.contains(PII_READ)
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

/// Verifies a token and turns its claims into a caller.
pub fn verify(config: &AuthConfig, token: &str) -> Result<Caller, AuthError> {
    if token.len() > 8 * 1024 {
        return Err(AuthError::Invalid("too large".into()));
    }
    let mut validation = Validation::new(Algorithm::HS256);
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
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(&config.secret),
        &validation,
    )
    .map_err(|e| AuthError::Invalid(describe(&e)))?;
    let claims = data.claims;
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
        subject: claims.sub,
        scope,
        permissions: claims.permissions.into_iter().collect(),
    })
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

/// Mints an HS256 token with `secret` (for `convgraph token`, the demo and tests).
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
        sub: request.subject.clone(),
        exp: chrono::Utc::now().timestamp() + request.ttl_seconds,
        iss: config.issuer.clone(),
        aud: config.audience.clone(),
        divisions: claim(&request.divisions),
        business_units: claim(&request.business_units),
        permissions: request.permissions.clone(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&config.secret),
    )
}
