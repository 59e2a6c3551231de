//! HTTP plumbing shared by every route: the request context, the envelope, errors, version
//! selection, rejection normalisation, extractors, conditional requests and list rendering.

pub mod around;
pub mod ctx;
pub mod envelope;
pub mod error;
pub mod etag;
pub mod extract;
pub mod listing;
pub mod normalize;
pub mod routes;
pub mod versioning;

pub use ctx::RequestCtx;
pub use error::ApiError;
