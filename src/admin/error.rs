//! The one error type at the admin HTTP boundary. Each variant's doc names the status code it
//! becomes; the body is `{"error": "..."}`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::undo::UndoError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 403: COMMENTGUARD_ADMIN_TOKEN is not set, so the admin API is switched off.
    #[error("the admin API is off: COMMENTGUARD_ADMIN_TOKEN is not set")]
    Disabled,
    /// 401: the `Authorization: Bearer` token is missing or wrong.
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// 403: a review-page form without a valid CSRF token for the session.
    #[error("the form has expired or did not come from the review page; reload and try again")]
    Csrf,
    /// 400: a query parameter or body that does not parse.
    #[error("{0}")]
    BadRequest(String),
    /// 404: no such comment or decision.
    #[error("{0}")]
    NotFound(String),
    /// 409: the request contradicts what happened (undoing a hide that never happened).
    #[error("{0}")]
    Conflict(String),
    /// 500: the database failed; logged once, here.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Disabled | ApiError::Csrf => StatusCode::FORBIDDEN,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<UndoError> for ApiError {
    fn from(e: UndoError) -> Self {
        match e {
            UndoError::UnknownComment(_) => ApiError::NotFound(e.to_string()),
            UndoError::NotHidden { .. } => ApiError::Conflict(e.to_string()),
            UndoError::Store(s) => s.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = %format!("{e:#}"), "admin request failed");
        }
        let status = self.status();
        let mut resp = (status, axum::Json(json!({ "error": self.to_string() }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"commentguard-admin\""),
            );
        }
        resp
    }
}
