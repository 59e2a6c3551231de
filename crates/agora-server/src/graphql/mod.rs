//! GraphQL at `/graphql`: one schema over the same services as REST, so every rule, error
//! code, credential and rate-limit budget is shared. Resolvers are thin — they read their
//! arguments into the same typed inputs and list requests REST builds, call the service, and
//! map the result — and references between objects load in batches (see [`loaders`]).
//!
//! HTTP follows the GraphQL-over-HTTP spec: `POST` with a JSON body, `GET` with query
//! parameters for queries only (a mutation over `GET` is 405), answers in
//! `application/graphql-response+json` when the client accepts it (then a document that
//! fails to parse or validate is a 400) and in `application/json` otherwise (then it is a 200
//! with `errors`). Depth and complexity are checked on the parsed document before anything
//! runs ([`limits`]).

pub mod graphiql;
mod limits;
mod loaders;
mod mutation;
mod query;
mod subscription;
mod types;
pub mod ws;

use std::sync::OnceLock;

use agora_core::list::{DefaultStyle, ListRequest};
use agora_core::{Actor, DomainError, DomainResult, ErrorCode};
use async_graphql::dataloader::DataLoader;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{ErrorExtensions, ID, Schema};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

pub use limits::Limits;

use crate::http::extract::CurrentActor;
use crate::state::AppState;

/// The schema's type.
pub type AgoraSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// The one path GraphQL is served at.
pub const PATH: &str = "/graphql";

/// The schema. It holds no state (the services come with each request), so it is built once.
pub fn schema() -> &'static AgoraSchema {
    static SCHEMA: OnceLock<AgoraSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::build(query::Query, mutation::Mutation, subscription::Subscription).finish())
}

/// The schema in SDL, as clients see it.
pub fn sdl() -> String {
    schema().sdl()
}

/// What resolvers find in their context.
pub(crate) struct Request {
    /// Who is calling.
    pub actor: Actor,
    /// The services.
    pub services: agora_core::services::Services,
}

/// A domain error as a GraphQL error: the message, and the REST error's code (and field
/// details) in `extensions`. An internal error says only that.
pub(crate) fn error(e: DomainError) -> async_graphql::Error {
    let message =
        if e.code == ErrorCode::InternalError { e.code.default_message().to_string() } else { e.message.clone() };
    let code = e.code.as_str();
    let details = (!e.details.is_empty()).then(|| serde_json::to_value(&e.details).unwrap_or(Value::Null));
    async_graphql::Error::new(message).extend_with(move |_, ext| {
        ext.set("code", code);
        if let Some(d) = &details
            && let Ok(v) = async_graphql::Value::from_json(d.clone())
        {
            ext.set("details", v);
        }
    })
}

/// The error for a missing object.
pub(crate) fn not_found(code: ErrorCode) -> async_graphql::Error {
    error(code.into())
}

/// `.gql()`: a domain result as a resolver result, keeping the error's code. (A plain `?`
/// would also convert, through `Display`, and lose it.)
pub(crate) trait Gql<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> Gql<T> for DomainResult<T> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(error)
    }
}

/// An `ID!` argument as a database id.
pub(crate) fn id(id: &ID) -> async_graphql::Result<i64> {
    match id.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(error(DomainError::invalid_field("id", "invalid_format", "must be a positive integer id"))),
    }
}

/// A cursor page request (`limit`, `cursor`) plus filters, as REST's query string would carry.
pub(crate) fn cursor_page(limit: i32, cursor: Option<String>, extra: &[(&str, String)]) -> ListRequest {
    let mut params = vec![("limit".to_string(), limit.to_string())];
    if let Some(c) = cursor {
        params.push(("cursor".into(), c));
    }
    params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    ListRequest { params, style: DefaultStyle::Cursor }
}

/// An offset page request (`limit`, `offset`) plus filters.
pub(crate) fn offset_page(limit: Option<i32>, offset: Option<i32>, extra: Vec<(&str, String)>) -> ListRequest {
    let mut params = vec![
        ("offset".to_string(), offset.unwrap_or(0).to_string()),
        ("limit".to_string(), limit.unwrap_or(20).to_string()),
    ];
    params.extend(extra.into_iter().map(|(k, v)| (k.to_string(), v)));
    ListRequest { params, style: DefaultStyle::Cursor }
}

/// The `/graphql` routes.
pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(over_get).post(over_post))
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type to answer in: `application/graphql-response+json` when accepted.
fn media(headers: &HeaderMap) -> &'static str {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if accept.split(',').any(|m| m.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case(GRAPHQL_RESPONSE))) {
        GRAPHQL_RESPONSE
    } else {
        JSON
    }
}

fn respond(status: StatusCode, media: &'static str, body: &Value) -> Response {
    let mut res = (status, serde_json::to_vec(body).unwrap_or_default()).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    // A GraphQL response is final in its own shape: the REST envelope never rewrites it.
    res.extensions_mut().insert(crate::http::error::AlreadyEnveloped);
    res
}

/// A request that could not be run at all: its errors, with the status HTTP gives it.
fn refused(status: StatusCode, media: &'static str, code: ErrorCode, message: &str) -> Response {
    respond(status, media, &json!({"errors": [{"message": message, "extensions": {"code": code.as_str()}}]}))
}

/// What a client asked for.
struct GqlRequest {
    query: String,
    variables: serde_json::Map<String, Value>,
    operation_name: Option<String>,
}

/// `GET /graphql`: a WebSocket upgrade for subscriptions, or a query in the query string.
async fn over_get(State(s): State<AppState>, request: axum::extract::Request) -> Response {
    use axum::extract::FromRequestParts;
    let (mut parts, _) = request.into_parts();
    let upgrade = parts.headers.get(header::UPGRADE).and_then(|v| v.to_str().ok());
    if upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        let offered = parts.headers.get_all(header::SEC_WEBSOCKET_PROTOCOL).iter().filter_map(|v| v.to_str().ok());
        if !offered.flat_map(|v| v.split(',')).any(|p| p.trim() == ws::PROTOCOL) {
            let m = "Subscriptions use the graphql-transport-ws subprotocol (Sec-WebSocket-Protocol).";
            return refused(StatusCode::BAD_REQUEST, JSON, ErrorCode::InvalidRequest, m);
        }
        return match axum::extract::ws::WebSocketUpgrade::from_request_parts(&mut parts, &s).await {
            Ok(upgrade) => upgrade
                .protocols([ws::PROTOCOL])
                .max_message_size(ws::MAX_MESSAGE)
                .on_upgrade(move |socket| ws::serve(socket, s)),
            Err(rejection) => rejection.into_response(),
        };
    }
    let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if graphiql::wants_page(accept) {
        return graphiql::page();
    }
    let actor = parts.extensions.get::<Actor>().cloned().unwrap_or(Actor::Anonymous);
    let raw = parts.uri.query().map(str::to_string);
    let headers = parts.headers;
    let media = media(&headers);
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some(query) = get("query").filter(|q| !q.trim().is_empty()) else {
        return refused(StatusCode::BAD_REQUEST, media, ErrorCode::InvalidRequest, "A `query` parameter is required.");
    };
    let variables = match get("variables").map(|v| serde_json::from_str::<Value>(&v)) {
        None => serde_json::Map::new(),
        Some(Ok(Value::Object(m))) => m,
        Some(Ok(Value::Null)) => serde_json::Map::new(),
        Some(_) => {
            return refused(
                StatusCode::BAD_REQUEST,
                media,
                ErrorCode::InvalidRequest,
                "`variables` must be a JSON object.",
            );
        }
    };
    if get("extensions")
        .is_some_and(|e| !matches!(serde_json::from_str::<Value>(&e), Ok(Value::Object(_) | Value::Null)))
    {
        return refused(
            StatusCode::BAD_REQUEST,
            media,
            ErrorCode::InvalidRequest,
            "`extensions` must be a JSON object.",
        );
    }
    let req = GqlRequest { query, variables, operation_name: get("operationName").filter(|o| !o.is_empty()) };
    run(&s, actor, req, true, media).await
}

/// `POST /graphql` with `{"query", "variables"?, "operationName"?}`.
async fn over_post(
    State(s): State<AppState>,
    CurrentActor(actor): CurrentActor,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let media = media(&headers);
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence != JSON {
        return refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            ErrorCode::UnsupportedMediaType,
            "Send the GraphQL request as application/json.",
        );
    }
    let bad = |m: &str| refused(StatusCode::BAD_REQUEST, media, ErrorCode::InvalidRequest, m);
    let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(&body) else {
        return bad("The body must be a JSON object.");
    };
    let query = match obj.remove("query") {
        Some(Value::String(q)) if !q.trim().is_empty() => q,
        _ => return bad("`query` must be a non-empty string."),
    };
    let variables = match obj.remove("variables") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return bad("`variables` must be an object."),
    };
    let operation_name = match obj.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(o)) => Some(o),
        Some(_) => return bad("`operationName` must be a string."),
    };
    if !matches!(obj.remove("extensions"), None | Some(Value::Null | Value::Object(_))) {
        return bad("`extensions` must be an object.");
    }
    run(&s, actor, GqlRequest { query, variables, operation_name }, false, media).await
}

/// The request for the executor, with what resolvers find in their context.
fn prepared(s: &AppState, actor: Actor, req: GqlRequest) -> async_graphql::Request {
    let services = s.services.clone();
    // How long each loader collects the references of one level before its statement.
    let window = s.config.graphql.batch_window;
    let users = DataLoader::new(loaders::UserLoader { services: services.clone(), actor: actor.clone() }, tokio::spawn)
        .delay(window);
    let posts = DataLoader::new(loaders::PostLoader { services: services.clone(), actor: actor.clone() }, tokio::spawn)
        .delay(window);
    let author_posts =
        DataLoader::new(loaders::AuthorPostsLoader { services: services.clone(), actor: actor.clone() }, tokio::spawn)
            .delay(window);
    let post_comments =
        DataLoader::new(loaders::PostCommentsLoader { services: services.clone(), actor: actor.clone() }, tokio::spawn)
            .delay(window);
    let mut request = async_graphql::Request::new(req.query)
        .variables(async_graphql::Variables::from_json(Value::Object(req.variables)))
        .data(Request { actor, services })
        .data(users)
        .data(posts)
        .data(author_posts)
        .data(post_comments);
    if let Some(op) = req.operation_name {
        request = request.operation_name(op);
    }
    request
}

/// A `subscribe` message's payload as a stream of `next` payloads, or the errors that refuse
/// it (a payload that is not a request, a document that does not parse, or one over the
/// limits).
pub(crate) fn subscribe(
    s: &AppState,
    actor: Actor,
    payload: &Value,
) -> Result<futures::stream::BoxStream<'static, Value>, Value> {
    use futures::StreamExt;
    let fail = |code: ErrorCode, m: &str| json!([{"message": m, "extensions": {"code": code.as_str()}}]);
    let Some(query) = payload.get("query").and_then(Value::as_str) else {
        return Err(fail(ErrorCode::InvalidRequest, "`query` must be a string."));
    };
    let variables = match payload.get("variables") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(fail(ErrorCode::InvalidRequest, "`variables` must be an object.")),
    };
    let operation_name = payload.get("operationName").and_then(Value::as_str).map(str::to_string);
    let doc = async_graphql::parser::parse_query(query).map_err(|e| fail(ErrorCode::InvalidRequest, &e.to_string()))?;
    let cfg = &s.config.graphql;
    let limits = Limits { max_depth: cfg.max_depth, max_complexity: cfg.max_complexity };
    limits::check(&doc, operation_name.as_deref(), &variables, limits)
        .map_err(|code| fail(code, code.default_message()))?;
    let req = GqlRequest { query: query.to_string(), variables, operation_name };
    let stream = schema().execute_stream(prepared(s, actor, req));
    Ok(stream.map(|r| serde_json::to_value(&r).unwrap_or(Value::Null)).boxed())
}

/// Parses, checks and executes one request.
async fn run(s: &AppState, actor: Actor, req: GqlRequest, over_get: bool, media: &'static str) -> Response {
    // A document that fails to parse or validate: 400 in the GraphQL response type, 200 in
    // plain JSON (the spec's rule for legacy clients).
    let invalid = if media == GRAPHQL_RESPONSE { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let doc = match async_graphql::parser::parse_query(&req.query) {
        Ok(d) => d,
        Err(e) => return refused(invalid, media, ErrorCode::InvalidRequest, &e.to_string()),
    };
    if over_get {
        let mutation = match &doc.operations {
            DocumentOperations::Single(op) => op.node.ty == OperationType::Mutation,
            DocumentOperations::Multiple(ops) => match &req.operation_name {
                Some(name) => ops.iter().any(|(n, op)| n.as_str() == name && op.node.ty == OperationType::Mutation),
                None => false,
            },
        };
        if mutation {
            let mut res = refused(
                StatusCode::METHOD_NOT_ALLOWED,
                media,
                ErrorCode::MethodNotAllowed,
                "Mutations are sent with POST.",
            );
            res.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
            return res;
        }
    }
    let cfg = &s.config.graphql;
    let limits = Limits { max_depth: cfg.max_depth, max_complexity: cfg.max_complexity };
    if let Err(code) = limits::check(&doc, req.operation_name.as_deref(), &req.variables, limits) {
        return refused(invalid, media, code, code.default_message());
    }
    let response = schema().execute(prepared(s, actor, req)).await;
    // Errors without a path stopped the request before execution (validation).
    let refused_whole = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let status = if refused_whole { invalid } else { StatusCode::OK };
    let body = serde_json::to_value(&response).unwrap_or_else(|_| json!({"errors": [{"message": "unserialisable"}]}));
    respond(status, media, &body)
}
