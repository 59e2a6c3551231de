//! Error responses in the document, rendered from the error vocabulary.
//!
//! A handler declares the codes it can answer with, once, in its `#[utoipa::path]`:
//! `responses(..., Errors<{ errors![UserNotFound, ValidationError] }>)`. [`Errors`] turns the
//! set into one response per status, each listing its codes with their descriptions and an
//! example, in both the envelope and problem details, with the headers those codes carry.
//! What the middleware stack can answer on every operation (401, 405, 429, …) is added by
//! `super::decorate`, which merges it into the same responses. Each response records its
//! codes in `x-error-codes`, which is how the merge finds them (and what tooling can read).

use std::collections::{BTreeMap, BTreeSet};

use agora_core::ErrorCode;
use serde_json::json;
use utoipa::IntoResponses;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};

use super::headers::{header_ref, names};

/// The error codes an operation answers with, as a bit set (see [`errors!`]).
#[derive(Debug, Clone, Copy)]
pub struct Errors<const CODES: u128>;

/// The bit set of `codes`.
pub const fn codes(codes: &[ErrorCode]) -> u128 {
    let mut set = 0u128;
    let mut i = 0;
    while i < codes.len() {
        set |= 1u128 << (codes[i] as u32);
        i += 1;
    }
    set
}

/// The codes of a bit set, in vocabulary order.
fn members(set: u128) -> impl Iterator<Item = ErrorCode> {
    ErrorCode::ALL.iter().copied().filter(move |c| set & (1u128 << (*c as u32)) != 0)
}

/// `errors![UserNotFound, Conflict]`: the bit set of those [`ErrorCode`] variants, for
/// [`Errors`].
#[macro_export]
macro_rules! errors {
    ($($code:ident),* $(,)?) => {
        $crate::openapi::errors::codes(&[$(agora_core::ErrorCode::$code),*])
    };
}

impl<const CODES: u128> IntoResponses for Errors<CODES> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        render(&members(CODES).collect())
    }
}

/// The extension naming a response's codes.
pub const CODES_EXTENSION: &str = "x-error-codes";

/// The codes a rendered error response declares (empty for other responses).
pub fn codes_of(response: &Response) -> BTreeSet<ErrorCode> {
    let Some(ext) = &response.extensions else { return BTreeSet::new() };
    let Some(list) = ext.get(CODES_EXTENSION).and_then(|v| v.as_array()) else { return BTreeSet::new() };
    list.iter()
        .filter_map(|v| v.as_str())
        .filter_map(|s| ErrorCode::ALL.iter().copied().find(|c| c.as_str() == s))
        .collect()
}

/// Headers a response with `code` carries.
fn headers_of(code: ErrorCode) -> &'static [&'static str] {
    match code {
        ErrorCode::Unauthenticated => &[names::WWW_AUTHENTICATE],
        ErrorCode::MethodNotAllowed => &[names::ALLOW],
        ErrorCode::RateLimitExceeded => &[
            names::RETRY_AFTER,
            names::RATELIMIT_LIMIT,
            names::RATELIMIT_REMAINING,
            names::RATELIMIT_RESET,
            names::RATELIMIT_RESET_AFTER,
            names::RATELIMIT_POLICY,
            names::RATELIMIT,
        ],
        _ => &[],
    }
}

/// One response per status for `codes`.
pub fn render(codes: &BTreeSet<ErrorCode>) -> BTreeMap<String, RefOr<Response>> {
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for c in codes {
        by_status.entry(c.http_status()).or_default().push(*c);
    }
    by_status.into_iter().map(|(status, codes)| (status.to_string(), RefOr::T(response(&codes)))).collect()
}

fn response(codes: &[ErrorCode]) -> Response {
    let description =
        codes.iter().map(|c| format!("`{}`: {}", c.as_str(), c.description())).collect::<Vec<_>>().join(" ");
    let mut envelope = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorEnvelope")));
    for c in codes {
        let example = json!({
            "success": false,
            "error": {"code": c.as_str(), "message": c.default_message()},
            "meta": {"request_id": "req_01J8Z3V9K2Q4M5N6P7R8S9T0UV", "timestamp": "2026-01-15T10:30:00Z"}
        });
        envelope = envelope.examples_from_iter([(
            c.as_str(),
            utoipa::openapi::example::ExampleBuilder::new().value(Some(example)).build(),
        )]);
    }
    let problem = ContentBuilder::new().schema(Some(Ref::from_schema_name("ProblemDetails")));
    let mut b = ResponseBuilder::new()
        .description(description)
        .content("application/json", envelope.build())
        .content("application/problem+json", problem.build())
        .extensions(Some(
            ExtensionsBuilder::new()
                .add(CODES_EXTENSION, json!(codes.iter().map(|c| c.as_str()).collect::<Vec<_>>()))
                .build(),
        ));
    let headers: BTreeSet<&str> = codes.iter().flat_map(|c| headers_of(*c).iter().copied()).collect();
    for name in headers {
        b = b.header_ref(name, header_ref(name));
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_sets_round_trip() {
        let set = codes(&[ErrorCode::UserNotFound, ErrorCode::ValidationError, ErrorCode::NotFound]);
        assert_eq!(
            members(set).collect::<Vec<_>>(),
            vec![ErrorCode::NotFound, ErrorCode::UserNotFound, ErrorCode::ValidationError]
        );
        assert!(ErrorCode::ALL.len() <= 128, "the bit set holds at most 128 codes");
    }

    #[test]
    fn one_response_per_status_naming_its_codes() {
        let set: BTreeSet<ErrorCode> =
            [ErrorCode::NotFound, ErrorCode::UserNotFound, ErrorCode::Unauthenticated].into();
        let rendered = render(&set);
        assert_eq!(rendered.keys().collect::<Vec<_>>(), vec!["401", "404"]);
        let RefOr::T(r) = &rendered["404"] else { panic!("inline") };
        assert_eq!(codes_of(r), [ErrorCode::NotFound, ErrorCode::UserNotFound].into());
        assert!(r.description.contains("`USER_NOT_FOUND`"));
        let RefOr::T(r) = &rendered["401"] else { panic!("inline") };
        assert!(r.headers.contains_key("WWW-Authenticate"));
    }
}
