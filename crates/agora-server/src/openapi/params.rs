//! Request parameters: the path id, the list query (built from each collection's
//! [`ResourceSpec`], so allowed sort, field and filter names cannot drift from the parser), and
//! the conditional headers. Each is an [`IntoParams`] type named in the handlers'
//! `#[utoipa::path(params(...))]`.

use std::marker::PhantomData;

use agora_core::list::{
    Collection, CountMode, DEFAULT_PAGE_SIZE, MAX_FIELDS_LEN, MAX_OFFSET, MAX_PAGE_SIZE, MAX_SEARCH_LEN, ResourceSpec,
    SortDir, filters,
};
use serde_json::json;
use utoipa::IntoParams;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};

fn int64() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer).format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn query(name: &str, description: String, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(Schema::Object(schema.build())))
        .build()
}

fn header(name: &str, description: &str, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(Schema::Object(schema.build())))
        .build()
}

fn alternatives(names: &[&str]) -> String {
    names.iter().map(|n| regex_escape(n)).collect::<Vec<_>>().join("|")
}

fn regex_escape(s: &str) -> String {
    s.chars().fold(String::new(), |mut out, c| {
        if !c.is_ascii_alphanumeric() && c != '_' && c != '-' {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

fn code_list(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

fn sort_names(spec: &ResourceSpec) -> Vec<&'static str> {
    spec.sortable.iter().map(|(name, _)| *name).collect()
}

fn default_sort(spec: &ResourceSpec) -> String {
    spec.default_sort
        .iter()
        .map(|k| match k.dir {
            SortDir::Asc => k.column.to_string(),
            SortDir::Desc => format!("-{}", k.column),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The `fields` query parameter of `spec`.
pub fn fields_param(spec: &ResourceSpec) -> Parameter {
    let names = alternatives(spec.fields);
    query(
        "fields",
        format!(
            "Comma-separated fields to return; the others are left out of `data`. Allowed: {}. \
             Repeated names count once; at most {MAX_FIELDS_LEN} characters. Anything else is 400 \
             `INVALID_QUERY`.",
            code_list(spec.fields)
        ),
        string()
            .pattern(Some(format!("^({names})(,({names}))*$")))
            .max_length(Some(MAX_FIELDS_LEN))
            .examples([json!(spec.fields[..2].join(","))]),
    )
}

/// The filter parameters of `spec`, in declaration order.
pub fn filter_params(spec: &ResourceSpec) -> Vec<Parameter> {
    spec.filters
        .iter()
        .map(|f| {
            let schema = match f.kind {
                filters::Kind::Int => int64().minimum(Some(0)),
                filters::Kind::Bool => ObjectBuilder::new().schema_type(Type::Boolean),
                filters::Kind::Slug => string().pattern(Some("^[A-Za-z0-9_-]{1,50}$")),
                filters::Kind::Time => string().format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
                filters::Kind::Text => string(),
                filters::Kind::OneOf(words) => string().enum_values(Some(words.iter().copied())),
            };
            query(f.param, format!("Filter. {} A bad value is 400 `INVALID_QUERY`.", f.description), schema)
        })
        .collect()
}

/// Every query parameter a collection accepts: pagination (three styles), sort, fields,
/// search, then the collection's filters.
pub fn list_params(spec: &ResourceSpec) -> Vec<Parameter> {
    let sorts = sort_names(spec);
    let sort_alt = alternatives(&sorts);
    let mut out = vec![
        query(
            "page",
            "Page style: 1-based page number (default 1). Page style is the v1 default. Cannot be \
             combined with `offset`, `cursor`, `after_id` or `limit` (400 `INVALID_QUERY`)."
                .to_string(),
            int64().minimum(Some(1)).maximum(Some(MAX_OFFSET as i64)),
        ),
        query(
            "per_page",
            format!("Page style: rows per page, 1–{MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})."),
            int64().minimum(Some(1)).maximum(Some(MAX_PAGE_SIZE as i64)),
        ),
        query(
            "offset",
            "Offset style: rows to skip (default 0), with `limit`.".to_string(),
            int64().minimum(Some(0)).maximum(Some(MAX_OFFSET as i64)),
        ),
        query(
            "limit",
            format!(
                "Offset and cursor styles: rows to return, 1–{MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}). \
                 `?limit=N` alone starts a cursor walk in v2 and an offset walk in v1."
            ),
            int64().minimum(Some(1)).maximum(Some(MAX_PAGE_SIZE as i64)),
        ),
        query(
            "cursor",
            "Cursor style (the v2 default): an opaque `next_cursor`/`prev_cursor` from a previous page. \
             Pass the same `sort`, filters and search as the request that returned it; a modified or \
             mismatched cursor is 400 `INVALID_QUERY`."
                .to_string(),
            string(),
        ),
        query(
            "after_id",
            "Simple keyset form of the cursor style: rows with an id greater than this, by ascending id \
             (only with no `sort` or `sort=id`)."
                .to_string(),
            int64(),
        ),
        query(
            "include_total",
            "Cursor style: also count the whole (filtered) collection into `pagination.total` \
             (default false). `1`/`0` are accepted too."
                .to_string(),
            ObjectBuilder::new().schema_type(Type::Boolean).default(Some(json!(false))),
        ),
        query(
            "count",
            "How exact `pagination.total` is (page and offset styles, and the cursor style with \
             `include_total`). `estimated` (the default): exact up to the server's threshold (1,000 \
             rows unless configured otherwise), the database's estimate above it, and \
             `pagination.total_is_estimate` says which. `exact`: counted whatever the size, within the \
             server's count timeout (2 s by default); a count that runs out of time gives the estimate, \
             flagged."
                .to_string(),
            string()
                .enum_values(Some(CountMode::ALL.map(CountMode::as_str)))
                .default(Some(json!(CountMode::default().as_str()))),
        ),
        query(
            "sort",
            format!(
                "Comma-separated sort keys; `-` before a field sorts descending. Allowed fields: {}. \
                 Default: `{}`. Ties are broken by `id`. Anything else is 400 `INVALID_QUERY`.",
                code_list(&sorts),
                default_sort(spec)
            ),
            string()
                .pattern(Some(format!("^[+-]?({sort_alt})(,[+-]?({sort_alt}))*$")))
                .examples([json!(format!("-{}", sorts.last().copied().unwrap_or("id")))]),
        ),
        fields_param(spec),
        query(
            "q",
            format!(
                "Case-insensitive search term (at most {MAX_SEARCH_LEN} characters); `%` and `_` match \
                 literally. Not with `search`."
            ),
            string().max_length(Some(MAX_SEARCH_LEN)),
        ),
        query("search", "Alias of `q` (use one or the other).".to_string(), string().max_length(Some(MAX_SEARCH_LEN))),
    ];
    out.extend(filter_params(spec));
    out
}

macro_rules! params_type {
    ($(#[$doc:meta])* $name:ident => $body:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl IntoParams for $name {
            fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
                $body
            }
        }
    };
}

/// The query of a collection of `T`: pagination, sort, fields, search and its filters.
#[derive(Debug)]
pub struct ListParams<T>(PhantomData<T>);

impl<T: Collection> IntoParams for ListParams<T> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        list_params(T::SPEC)
    }
}

/// The query of a collection of `T` that pages by cursor only (the feed): [`ListParams`]
/// without `page`, `per_page` and `offset`.
#[derive(Debug)]
pub struct CursorListParams<T>(PhantomData<T>);

impl<T: Collection> IntoParams for CursorListParams<T> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        list_params(T::SPEC)
            .into_iter()
            .filter(|p| !matches!(p.name.as_str(), "page" | "per_page" | "offset"))
            .collect()
    }
}

/// `fields` on a single-resource GET of a `T`.
#[derive(Debug)]
pub struct FieldsParam<T>(PhantomData<T>);

impl<T: Collection> IntoParams for FieldsParam<T> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![fields_param(T::SPEC)]
    }
}

params_type!(
    /// `{id}` in the path.
    IdPath => vec![ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(
            "The resource id: a positive 64-bit integer. Anything else is 400 `INVALID_REQUEST`.",
        ))
        .schema(Some(Schema::Object(int64().minimum(Some(1)).examples([json!(1)]).build())))
        .build()]
);

params_type!(
    /// `{id}` and `{target_id}` in the path (a user and the user it follows).
    FollowPath => ["id", "target_id"]
        .into_iter()
        .map(|name| ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some(if name == "id" {
                "The follower's user id: a positive 64-bit integer. Anything else is 400 `INVALID_REQUEST`."
            } else {
                "The followed user's id: a positive 64-bit integer. Anything else is 400 `INVALID_REQUEST`."
            }))
            .schema(Some(Schema::Object(int64().minimum(Some(1)).examples([json!(2)]).build())))
            .build())
        .collect()
);

params_type!(
    /// `If-None-Match` on single-resource GETs.
    IfNoneMatch => vec![header(
        "If-None-Match",
        "ETags from earlier responses (weak comparison; `*` matches any). When one matches the \
         current representation the answer is 304 Not Modified with no body.",
        string().examples([json!("\"3f2a9c0b1d4e5f60718293a4\"")]),
    )]
);

params_type!(
    /// `If-Match` on PUT and PATCH.
    IfMatch => vec![header(
        "If-Match",
        "Makes the write conditional: the ETag (strong comparison; `*` matches any) the caller last \
         saw. If the resource has changed since, the answer is 412 `PRECONDITION_FAILED` and \
         nothing is written.",
        string().examples([json!("\"3f2a9c0b1d4e5f60718293a4\"")]),
    )]
);

/// `X-Request-ID`, accepted by every operation (a component parameter).
pub fn request_id_param() -> Parameter {
    header(
        "X-Request-ID",
        "A client-chosen request id (1–128 characters of `A-Za-z0-9._-`), echoed in the \
         `X-Request-ID` response header and `meta.request_id`. Anything else is replaced by a \
         generated id.",
        // No pattern: any value is accepted (an invalid one is replaced, never refused).
        string().examples([json!("req-7f3a9c")]),
    )
}

/// `API-Version`, accepted by every versioned operation (a component parameter).
pub fn api_version_param() -> Parameter {
    header(
        "API-Version",
        "Selects the API version when the URL has no `/v1` or `/v2` prefix (so does \
         `?version=N` or `Accept: application/vnd.agora.vN+json`); a prefix always wins. An \
         unsupported version is 404 `UNSUPPORTED_API_VERSION`. Without any, the current version \
         (2) serves the request. On these prefixed paths the header is ignored.",
        // No enum: on a prefixed path any value is accepted (and ignored).
        string().examples([json!("2")]),
    )
}

/// `X-CSRF-Token`, accepted by every unsafe operation (a component parameter).
pub fn csrf_token_param() -> Parameter {
    header(
        "X-CSRF-Token",
        "The session's CSRF token (`csrf_token` from `POST /v2/auth/session`). Required — else 403 \
         `CSRF_FAILED` — when the request carries the `agora_session` cookie, because this is an \
         unsafe method; ignored otherwise (bearer tokens and API keys need no CSRF token).",
        string().examples([json!("k3J9xQ2mV8pL5nR7tY1wZ4bC6dF0gH2j")]),
    )
}

/// The `Idempotency-Key` request header, optional or required. The pattern is the parser's
/// rule (`agora_idempotency::IdempotencyKey`): 1–255 printable ASCII characters without
/// surrounding spaces, or the same as an RFC 8941 quoted string.
pub fn idempotency_key_param(required: bool) -> Parameter {
    let mut p = header(
        "Idempotency-Key",
        if required {
            "Required. A client-chosen key (1–255 printable ASCII characters, e.g. a UUID) that makes \
             retries safe: a retry with the same key and the same request gets the first response \
             again (`Idempotency-Replay: true`) and nothing runs twice. Missing → 400 \
             `MISSING_IDEMPOTENCY_KEY`; still running → 409 `REQUEST_IN_PROGRESS`; used for another \
             request → 422 `IDEMPOTENCY_KEY_REUSED`. Keys are per caller and kept 24 hours by default (`idempotency.ttl`)."
        } else {
            "Optional. A client-chosen key (1–255 printable ASCII characters, e.g. a UUID) that makes \
             retries safe: a retry with the same key and the same request gets the first response \
             again (`Idempotency-Replay: true`) and nothing runs twice. Still running → 409 \
             `REQUEST_IN_PROGRESS`; used for another request → 422 `IDEMPOTENCY_KEY_REUSED`. Keys are \
             kept 24 hours, per caller."
        },
        string().pattern(Some(IDEMPOTENCY_KEY_PATTERN)).examples([json!("8e03978e-40d5-43e8-bc93-6894a57f9324")]),
    );
    if required {
        p.required = Required::True;
    }
    p
}

/// What [`idempotency_key_param`] accepts: a bare key, or a quoted string whose only escapes
/// are `\"` and `\\`.
pub const IDEMPOTENCY_KEY_PATTERN: &str = r#"^(?:[!#-~](?:[ -~]{0,253}[!-~])?|"(?:[ !#-\[\]-~]|\\["\\]){1,255}")$"#;
