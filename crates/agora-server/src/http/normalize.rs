//! Catches every error response that did not come through [`ApiError`] — axum's own 405 (with
//! its `Allow` header), tower-http's 413, a 404 from the fallback — and re-renders it in the
//! envelope, keeping its status and headers. This guarantees no client ever sees framework
//! plain text, whatever produced the error.
//!
//! Being the first middleware after rate limiting, it also gives the answer owed to requests
//! whose credentials were turned away ([`Rejected`]).

use agora_core::ErrorCode;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::around::{Around, Before};
use super::error::{AlreadyEnveloped, ApiError, Rejected};

/// Middleware: envelope any bare error response.
#[derive(Debug, Clone, Copy)]
pub struct NormalizeErrors;

impl Around for NormalizeErrors {
    type Carry = ();

    fn before(&self, req: &mut Request) -> Before<()> {
        // Credentials the authentication layer turned away are answered here, after rate
        // limiting has counted the request.
        match req.extensions_mut().remove::<Rejected>() {
            Some(Rejected(e)) => Before::Answer(e.into_response()),
            None => Before::Continue(()),
        }
    }

    fn after(&self, (): (), res: &mut Response) {
        let status = res.status();
        // A replayed response (`Idempotency-Replay`) was enveloped when it was first sent.
        if !(status.is_client_error() || status.is_server_error())
            || res.extensions().get::<AlreadyEnveloped>().is_some()
            || res.headers().contains_key(agora_idempotency::IDEMPOTENCY_REPLAY)
        {
            return;
        }
        let mut err = if status.is_server_error() {
            ApiError::internal()
        } else {
            ApiError::from(ErrorCode::for_status(status.as_u16()))
        };
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
    ApiError::from(ErrorCode::NotFound).into_response()
}
