//! Catches every error response that did not come through [`ApiError`] — axum's own 405 (with
//! its `Allow` header), tower-http's 413, a 404 from the fallback — and re-renders it in the
//! envelope, keeping its status and headers. This guarantees no client ever sees framework
//! plain text, whatever produced the error.
//!
//! Being the first middleware after rate limiting, it also gives the answer owed to requests
//! whose credentials were turned away (`auth::Rejected`).

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::around::{Around, Before};
use super::error::ApiError;

/// Marker set on responses already rendered by [`ApiError`].
#[derive(Debug, Clone, Copy)]
pub struct AlreadyEnveloped;

fn code_for(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::NOT_FOUND => ("NOT_FOUND", "No resource exists at this path."),
        StatusCode::METHOD_NOT_ALLOWED => ("METHOD_NOT_ALLOWED", "This method is not allowed on this resource."),
        StatusCode::PAYLOAD_TOO_LARGE => ("PAYLOAD_TOO_LARGE", "The request body is too large."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json."),
        StatusCode::REQUEST_TIMEOUT => ("REQUEST_TIMEOUT", "The request took too long."),
        StatusCode::BAD_REQUEST => ("INVALID_REQUEST", "The request could not be understood."),
        StatusCode::UNPROCESSABLE_ENTITY => ("VALIDATION_ERROR", "The request has invalid fields."),
        s if s.is_server_error() => ("INTERNAL_ERROR", "An internal error occurred."),
        _ => ("ERROR", "The request failed."),
    }
}

/// Middleware: envelope any bare error response.
#[derive(Debug, Clone, Copy)]
pub struct NormalizeErrors;

impl Around for NormalizeErrors {
    type Carry = ();

    fn before(&self, req: &mut Request) -> Before<()> {
        // Credentials the authentication layer turned away are answered here, after rate
        // limiting has counted the request (see `auth::Rejected`).
        match crate::auth::answer_rejected(req) {
            Some(answer) => Before::Answer(answer),
            None => Before::Continue(()),
        }
    }

    fn after(&self, (): (), res: &mut Response) {
        let status = res.status();
        if !(status.is_client_error() || status.is_server_error())
            || res.extensions().get::<AlreadyEnveloped>().is_some()
        {
            return;
        }
        let (code, message) = code_for(status);
        let mut err =
            if status.is_server_error() { ApiError::internal() } else { ApiError::new(status, code, message) };
        err.status = status;
        for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
            if let Some(v) = res.headers().get(&name) {
                err.headers.push((name, v.clone()));
            }
        }
        if status == StatusCode::METHOD_NOT_ALLOWED && !err.headers.iter().any(|(n, _)| n == header::ALLOW) {
            err.headers.push((header::ALLOW, HeaderValue::from_static("")));
        }
        let mut out = err.into_response();
        // Keep extensions (route label, principal) for logging.
        *out.extensions_mut() = std::mem::take(res.extensions_mut());
        out.extensions_mut().insert(AlreadyEnveloped);
        *res = out;
    }
}

/// The router's fallback: 404 in the envelope.
pub async fn fallback() -> Response {
    ApiError::no_route().into_response()
}
