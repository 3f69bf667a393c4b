//! The API's errors: each carries an `extensions.code`; internal causes are logged once here
//! and never reach the client.

use async_graphql::ErrorExtensions;

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
        Self::internal(cause).extend()
    }

    /// Logs `cause` and returns the generic error the client sees.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        ApiError::Internal
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadUserInput(_) => "BAD_USER_INPUT",
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::Limit(code, _) => code,
            ApiError::Internal => "INTERNAL",
        }
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, e| e.set("code", self.code()))
    }
}
