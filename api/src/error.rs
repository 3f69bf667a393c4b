//! The API's errors: each carries an `extensions.code`; internal causes are logged once here
//! and never reach the client.

use async_graphql::ErrorExtensions;

/// The code of [`ApiError::Unavailable`]; a response that carries it is answered 503.
pub const UNAVAILABLE: &str = "UNAVAILABLE";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadUserInput(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    /// Another request holds what this one needs (an idempotency key in use).
    #[error("{0}")]
    Conflict(String),
    /// A limit the request went over: its code (`RESPONSE_TOO_LARGE`, `LIST_TOO_LONG`, …) and
    /// what it found.
    #[error("{1}")]
    Limit(&'static str, String),
    /// PostgreSQL cannot be reached right now (down, restarting, or no connection free within
    /// the pool's acquire timeout): the same request may succeed when retried. Answered 503.
    #[error("the database is unavailable; retry shortly")]
    Unavailable,
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn bad_input(message: impl Into<String>) -> Self {
        ApiError::BadUserInput(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::Forbidden(message.into())
    }

    /// A database failure as the client sees it: logged here, generic there.
    pub fn db(cause: sqlx::Error) -> async_graphql::Error {
        Self::from_db(cause).extend()
    }

    /// `UNAVAILABLE` when the database cannot be reached (logged as a warning), else
    /// `INTERNAL` (logged as an error).
    pub fn from_db(cause: sqlx::Error) -> Self {
        if db::unavailable(&cause) {
            tracing::warn!(error = %cause, "database unavailable");
            ApiError::Unavailable
        } else {
            Self::internal(cause)
        }
    }

    /// Logs `cause` and returns the generic error the client sees.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        ApiError::Internal
    }

    /// The HTTP status of a request that failed with this error alone.
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            ApiError::BadUserInput(_) | ApiError::Limit(..) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadUserInput(_) => "BAD_USER_INPUT",
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::Limit(code, _) => code,
            ApiError::Unavailable => UNAVAILABLE,
            ApiError::Internal => "INTERNAL",
        }
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, e| e.set("code", self.code()))
    }
}

/// What a panic said (its `&str` or `String` payload), for the log only: it may hold anything,
/// so the client gets the generic `INTERNAL` message.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}
