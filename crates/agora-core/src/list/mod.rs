//! The list-query model shared by every collection: pagination (page, offset, cursor and
//! `after_id`), multi-field sorting with a stable id tie-break, field selection, search and
//! filters. Parsing lives here, once, so every collection (and every transport) rejects bad
//! input the same way; the database layer only renders an already-valid [`ListQuery`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cursor::{CursorKey, CursorPayload};
use crate::error::{DomainError, DomainResult};

/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: u64 = 100;
/// Page size when the client names none.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// Longest accepted search term.
pub const MAX_SEARCH_LEN: usize = 200;
/// Longest `fields=` value accepted: every field of a collection, with room to spare, but not
/// the kilobytes a client could otherwise have copied into every `Link` header.
pub const MAX_FIELDS_LEN: usize = 512;
/// Largest page number / offset accepted (keeps OFFSET arithmetic far from overflow).
pub const MAX_OFFSET: u64 = 10_000_000;

/// A typed scalar: a filter operand, or one sort-key value inside a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// An integer (ids, prices, counts).
    #[serde(rename = "i")]
    Int(i64),
    /// Text.
    #[serde(rename = "s")]
    Text(String),
    /// A boolean.
    #[serde(rename = "b")]
    Bool(bool),
    /// A UTC timestamp (microsecond precision).
    #[serde(rename = "t")]
    Time(DateTime<Utc>),
    /// SQL `NULL` of the given kind (a typed null, so PostgreSQL can infer the parameter type).
    #[serde(rename = "n")]
    Null(ValueKind),
}

impl Value {
    /// Text, or a text-typed `NULL`.
    pub fn opt_text(v: Option<String>) -> Value {
        v.map_or(Value::Null(ValueKind::Text), Value::Text)
    }

    /// An integer, or an integer-typed `NULL`.
    pub fn opt_int(v: Option<i64>) -> Value {
        v.map_or(Value::Null(ValueKind::Int), Value::Int)
    }
}

/// The kind of a sortable column, used to check cursor values before they reach SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValueKind {
    /// [`Value::Int`].
    Int,
    /// [`Value::Text`].
    Text,
    /// [`Value::Time`].
    Time,
}

impl Value {
    fn kind(&self) -> Option<ValueKind> {
        match self {
            Value::Int(_) => Some(ValueKind::Int),
            Value::Text(_) => Some(ValueKind::Text),
            Value::Time(_) => Some(ValueKind::Time),
            Value::Bool(_) | Value::Null(_) => None,
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// One key of a (possibly multi-field) sort. `column` is always one of the resource's
/// whitelisted `&'static str` names, which is what makes it safe to render into SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    /// Column (and JSON field) name.
    pub column: &'static str,
    /// Direction.
    pub dir: SortDir,
}

/// Comparison used by a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    /// `=`
    Eq,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
}

impl FilterOp {
    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        match self {
            FilterOp::Eq => "=",
            FilterOp::Gt => ">",
            FilterOp::Gte => ">=",
            FilterOp::Lt => "<",
            FilterOp::Lte => "<=",
        }
    }
}

/// A validated filter on a whitelisted column.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Column name (static whitelist).
    pub column: &'static str,
    /// Comparison.
    pub op: FilterOp,
    /// Operand, bound as a parameter.
    pub value: Value,
}

/// How a query parameter becomes a filter; the function returns a message on bad input.
/// The kind and description document the parameter (the OpenAPI document reads them).
#[derive(Debug, Clone, Copy)]
pub struct FilterSpec {
    /// Query parameter name.
    pub param: &'static str,
    /// What values it takes.
    pub kind: filters::Kind,
    /// What it selects.
    pub description: &'static str,
    /// Parser from the raw value to a filter.
    pub parse: fn(&str) -> Result<Filter, String>,
}

/// What a collection allows: its fields, sorts, filters and defaults.
#[derive(Debug)]
pub struct ResourceSpec {
    /// Collection name, part of every cursor's scope.
    pub name: &'static str,
    /// Fields a client may select with `fields=`.
    pub fields: &'static [&'static str],
    /// Fields a client may sort by, with their kinds. Must include `id`.
    pub sortable: &'static [(&'static str, ValueKind)],
    /// Sort used when the client names none (the id tie-break is appended).
    pub default_sort: &'static [SortKey],
    /// Accepted filter parameters.
    pub filters: &'static [FilterSpec],
}

impl ResourceSpec {
    fn kind_of(&self, column: &str) -> Option<(&'static str, ValueKind)> {
        self.sortable.iter().copied().find(|(c, _)| *c == column)
    }

    fn allowed_sorts(&self) -> String {
        self.sortable.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
    }
}

/// Which pagination style a version uses when the client names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DefaultStyle {
    /// `page`/`per_page` (v1).
    Page,
    /// `cursor`/`limit` (v2).
    #[default]
    Cursor,
}

/// A position inside a keyset walk.
#[derive(Debug, Clone, PartialEq)]
pub struct KeysetPosition {
    /// The boundary row's values, one per sort key (same order as [`ListQuery::sort`]).
    pub values: Vec<Value>,
    /// Walk towards the start of the ordering (a `prev_cursor`).
    pub backward: bool,
}

/// The requested slice of the collection.
#[derive(Debug, Clone, PartialEq)]
pub enum PageRequest {
    /// Numbered pages.
    Page {
        /// 1-based page number.
        page: u64,
        /// Rows per page.
        per_page: u64,
    },
    /// Offset and limit.
    Offset {
        /// Rows to skip.
        offset: u64,
        /// Rows to return.
        limit: u64,
    },
    /// Keyset (cursor) pagination.
    Cursor {
        /// Rows to return.
        limit: u64,
        /// Where to start; `None` is the first page.
        position: Option<KeysetPosition>,
        /// Whether to count the whole (filtered) collection.
        include_total: bool,
    },
}

impl PageRequest {
    /// Rows the page holds at most.
    pub fn limit(&self) -> u64 {
        match self {
            PageRequest::Page { per_page, .. } => *per_page,
            PageRequest::Offset { limit, .. } | PageRequest::Cursor { limit, .. } => *limit,
        }
    }

    /// Whether a total count is needed.
    pub fn wants_total(&self) -> bool {
        match self {
            PageRequest::Cursor { include_total, .. } => *include_total,
            _ => true,
        }
    }
}

/// How exact a total must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CountMode {
    /// Exact up to the configured threshold, an estimate above it (the default): counting a
    /// large collection costs a walk over every matching row, which a page of 20 must not pay.
    #[default]
    Estimated,
    /// Exact whatever the size (`count=exact`), within the configured count timeout.
    Exact,
}

impl CountMode {
    /// Every mode, in the order the documentation lists them.
    pub const ALL: [CountMode; 2] = [CountMode::Estimated, CountMode::Exact];

    /// The `count=` value naming this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            CountMode::Estimated => "estimated",
            CountMode::Exact => "exact",
        }
    }
}

/// A collection's size as a page reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    /// Rows matching the request.
    pub rows: i64,
    /// Whether `rows` is an estimate (above the threshold, or an exact count that timed out).
    pub estimate: bool,
}

impl Total {
    /// An exact total.
    pub fn exact(rows: i64) -> Total {
        Total { rows, estimate: false }
    }
}

/// A fully validated list request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// Sort keys, always ending with `id` so the order is total.
    pub sort: Vec<SortKey>,
    /// Filters (client filters and route scope, e.g. a post author).
    pub filters: Vec<Filter>,
    /// Case-insensitive search term; `%` and `_` are literal.
    pub search: Option<String>,
    /// Requested slice.
    pub page: PageRequest,
    /// Selected fields, if the client narrowed them.
    pub fields: Option<Vec<String>>,
    /// Digest binding cursors to this collection, scope, filters and search.
    pub scope: String,
    /// How exact the total must be, when there is one.
    pub count: CountMode,
}

/// One page of results with everything a transport needs to describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Pagination metadata.
    pub info: PageInfo,
    /// The fields the client selected with `fields=`, if it narrowed them.
    pub fields: Option<Vec<String>>,
}

/// A collection request as the client sent it: the decoded query pairs, in order, and the
/// pagination style its API version defaults to. Services parse it against their
/// collection's [`ResourceSpec`].
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// Query parameters.
    pub params: Vec<(String, String)>,
    /// The default pagination style.
    pub style: DefaultStyle,
}

impl ListRequest {
    /// The first cursor page of `limit` rows in the default order.
    pub fn first_page(limit: u64) -> ListRequest {
        ListRequest { params: vec![("limit".into(), limit.to_string())], style: DefaultStyle::Cursor }
    }

    /// Parses the request for `spec`, with `scope` filters imposed by the route.
    pub fn parse(&self, spec: &ResourceSpec, scope: Vec<Filter>, key: &CursorKey) -> DomainResult<ListQuery> {
        parse_list_query(spec, &self.params, self.style, scope, key)
    }
}

/// Splits rows fetched for several parents at once (up to the request's limit plus one each,
/// in order) into each parent's page. Every page is finished against its own query, scoped to
/// `parent_column = parent`, so its cursor continues that parent's list like any other page.
pub fn pages_per_parent<T: Sortable + Clone>(
    spec: &ResourceSpec,
    parent_column: &'static str,
    parents: &[i64],
    req: &ListRequest,
    rows: &[T],
    parent_of: impl Fn(&T) -> i64,
    key: &CursorKey,
) -> DomainResult<std::collections::HashMap<i64, Page<T>>> {
    let mut pages = std::collections::HashMap::new();
    for &parent in parents {
        let scope = vec![Filter { column: parent_column, op: FilterOp::Eq, value: Value::Int(parent) }];
        let q = req.parse(spec, scope, key)?;
        let mine: Vec<T> = rows.iter().filter(|r| parent_of(r) == parent).cloned().collect();
        let has_more = mine.len() as u64 > q.page.limit();
        pages.insert(parent, q.finish(Fetched { rows: mine, has_more, total: None }, key));
    }
    Ok(pages)
}

/// Pagination metadata for each style.
#[derive(Debug, Clone, PartialEq)]
pub enum PageInfo {
    /// Numbered pages.
    Page {
        /// Current page.
        page: u64,
        /// Page size.
        per_page: u64,
        /// Rows in the collection.
        total: i64,
        /// Whether `total` (and so `total_pages`) is an estimate.
        total_is_estimate: bool,
        /// Pages in the collection.
        total_pages: u64,
        /// Whether rows follow this page.
        has_more: bool,
        /// Cursor continuing after this page, for switching to keyset.
        next_cursor: Option<String>,
        /// Cursor continuing before this page.
        prev_cursor: Option<String>,
    },
    /// Offset and limit.
    Offset {
        /// Rows skipped.
        offset: u64,
        /// Page size.
        limit: u64,
        /// Rows in the collection.
        total: i64,
        /// Whether `total` is an estimate.
        total_is_estimate: bool,
        /// Whether rows follow this page.
        has_more: bool,
    },
    /// Keyset.
    Cursor {
        /// Page size.
        limit: u64,
        /// Cursor for the next page, when there is one.
        next_cursor: Option<String>,
        /// Cursor for the previous page, when there is one.
        prev_cursor: Option<String>,
        /// Whether rows follow this page.
        has_more: bool,
        /// Rows in the collection, only when asked for.
        total: Option<Total>,
    },
}

/// An entity listed in a collection: the spec its lists are parsed against (transports read
/// it too, to document the collection's parameters).
pub trait Collection {
    /// The collection's fields, sorts and filters.
    const SPEC: &'static ResourceSpec;
}

/// Entities expose their sort-key values so the page builder can mint cursors.
pub trait Sortable {
    /// The value of a sortable column for this row.
    fn sort_value(&self, column: &str) -> Value;
}

/// Raw rows from a repository: one more than the page size tells whether more follow.
#[derive(Debug, Clone)]
pub struct Fetched<T> {
    /// Up to `limit + 1` rows, in the requested order (backward walks already re-reversed).
    pub rows: Vec<T>,
    /// Whether more rows exist beyond this page, in the direction of travel.
    pub has_more: bool,
    /// Total rows matching, when requested.
    pub total: Option<Total>,
}

fn sort_signature(sort: &[SortKey]) -> String {
    sort.iter()
        .map(|k| match k.dir {
            SortDir::Asc => k.column.to_string(),
            SortDir::Desc => format!("-{}", k.column),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn scope_digest(spec: &ResourceSpec, filters: &[Filter], search: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(spec.name.as_bytes());
    for f in filters {
        h.update([0u8]);
        h.update(f.column.as_bytes());
        h.update(f.op.sql().as_bytes());
        h.update(serde_json::to_vec(&f.value).unwrap_or_default());
    }
    if let Some(s) = search {
        h.update([1u8]);
        h.update(s.as_bytes());
    }
    hex_prefix(&h.finalize()[..8])
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parameters that belong to the list model (everything else must be a declared filter).
const LIST_PARAMS: &[&str] = &[
    "page",
    "per_page",
    "offset",
    "limit",
    "cursor",
    "after_id",
    "include_total",
    "count",
    "sort",
    "fields",
    "q",
    "search",
];

/// Parameters handled elsewhere (version selection) that lists must tolerate.
const PASSTHROUGH_PARAMS: &[&str] = &["version"];

fn parse_u64(param: &str, raw: &str, min: u64, max: u64) -> DomainResult<u64> {
    let v: u64 = raw
        .trim()
        .parse()
        .map_err(|_| DomainError::invalid_query(param, "invalid_integer", "must be a whole number"))?;
    if v < min || v > max {
        return Err(DomainError::invalid_query(param, "out_of_range", format!("must be between {min} and {max}")));
    }
    Ok(v)
}

fn parse_bool(param: &str, raw: &str) -> DomainResult<bool> {
    match raw {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(DomainError::invalid_query(param, "invalid_boolean", "must be true or false")),
    }
}

/// Parses a `fields=` list against the resource's selectable fields.
/// Repeated names count once.
pub fn parse_fields(spec: &ResourceSpec, raw: &str) -> DomainResult<Vec<String>> {
    if raw.len() > MAX_FIELDS_LEN {
        return Err(DomainError::invalid_query(
            "fields",
            "too_long",
            format!("must be at most {MAX_FIELDS_LEN} characters"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for f in raw.split(',').map(str::trim) {
        if f.is_empty() {
            return Err(DomainError::invalid_query(
                "fields",
                "empty_field",
                "must be a comma-separated list of field names",
            ));
        }
        if !spec.fields.contains(&f) {
            return Err(DomainError::invalid_query(
                "fields",
                "unknown_field",
                format!("unknown field `{f}`; allowed: {}", spec.fields.join(", ")),
            ));
        }
        if !out.iter().any(|o| o == f) {
            out.push(f.to_string());
        }
    }
    Ok(out)
}

fn parse_sort(spec: &ResourceSpec, raw: &str) -> DomainResult<Vec<SortKey>> {
    let mut keys: Vec<SortKey> = Vec::new();
    for part in raw.split(',').map(str::trim) {
        let (dir, name) = match part.strip_prefix('-') {
            Some(rest) => (SortDir::Desc, rest),
            None => (SortDir::Asc, part.strip_prefix('+').unwrap_or(part)),
        };
        let Some((column, _)) = spec.kind_of(name) else {
            return Err(DomainError::invalid_query(
                "sort",
                "unknown_sort_field",
                format!("cannot sort by `{part}`; allowed fields: {}", spec.allowed_sorts()),
            ));
        };
        if keys.iter().any(|k| k.column == column) {
            return Err(DomainError::invalid_query("sort", "duplicate_sort_field", format!("`{name}` appears twice")));
        }
        keys.push(SortKey { column, dir });
    }
    Ok(keys)
}

/// Appends the id tie-break (in the direction of the last key) unless id is already sorted on.
fn with_tiebreak(mut keys: Vec<SortKey>) -> Vec<SortKey> {
    if !keys.iter().any(|k| k.column == "id") {
        let dir = keys.last().map(|k| k.dir).unwrap_or(SortDir::Asc);
        keys.push(SortKey { column: "id", dir });
    }
    keys
}

/// The order of an `after_id` walk (and of the cursors it hands out): ascending id.
fn after_id_sort() -> Vec<SortKey> {
    vec![SortKey { column: "id", dir: SortDir::Asc }]
}

/// Parses a collection's query string.
///
/// `params` are the decoded query pairs in order; `scope` holds filters the route imposes (such
/// as the author of `/users/{id}/posts`); they join the client's filters and bind cursors.
pub fn parse_list_query(
    spec: &ResourceSpec,
    params: &[(String, String)],
    default_style: DefaultStyle,
    scope: Vec<Filter>,
    key: &CursorKey,
) -> DomainResult<ListQuery> {
    let mut map: BTreeMap<&str, &str> = BTreeMap::new();
    for (k, v) in params {
        if map.insert(k.as_str(), v.as_str()).is_some() {
            return Err(DomainError::invalid_query(k, "duplicate_parameter", "may be given only once"));
        }
    }
    let mut filters = scope;
    for (k, v) in &map {
        if LIST_PARAMS.contains(k) || PASSTHROUGH_PARAMS.contains(k) {
            continue;
        }
        match spec.filters.iter().find(|f| f.param == *k) {
            Some(fs) => filters.push((fs.parse)(v).map_err(|m| DomainError::invalid_query(k, "invalid_filter", m))?),
            None => {
                let allowed: Vec<&str> =
                    LIST_PARAMS.iter().copied().chain(spec.filters.iter().map(|f| f.param)).collect();
                return Err(DomainError::invalid_query(
                    k,
                    "unknown_parameter",
                    format!("unknown query parameter; allowed: {}", allowed.join(", ")),
                ));
            }
        }
    }

    let search = match (map.get("q"), map.get("search")) {
        (Some(_), Some(_)) => {
            return Err(DomainError::invalid_query(
                "search",
                "conflicting_parameters",
                "use either `q` or `search`, not both",
            ));
        }
        (Some(v), None) | (None, Some(v)) => {
            let param = if map.contains_key("q") { "q" } else { "search" };
            let v = v.trim();
            if v.chars().count() > MAX_SEARCH_LEN {
                return Err(DomainError::invalid_query(
                    param,
                    "too_long",
                    format!("must be at most {MAX_SEARCH_LEN} characters"),
                ));
            }
            if v.is_empty() { None } else { Some(v.to_string()) }
        }
        (None, None) => None,
    };

    let fields = map.get("fields").map(|raw| parse_fields(spec, raw)).transpose()?;

    let explicit_sort = map.get("sort").map(|raw| parse_sort(spec, raw)).transpose()?;
    let mut sort = with_tiebreak(explicit_sort.clone().unwrap_or_else(|| spec.default_sort.to_vec()));
    let scope_digest = scope_digest(spec, &filters, search.as_deref());

    let has = |k: &str| map.contains_key(k);
    let page_style = has("page") || has("per_page");
    let cursor_style = has("cursor") || has("after_id");
    let offset_style = has("offset");
    let styles = [page_style, cursor_style, offset_style].iter().filter(|b| **b).count();
    if styles > 1 || (page_style && has("limit")) || (has("cursor") && has("after_id")) {
        let param = if page_style { "page" } else { "cursor" };
        return Err(DomainError::invalid_query(
            param,
            "mixed_pagination",
            "use one pagination style: page/per_page, offset/limit, or cursor/after_id with limit",
        ));
    }
    let limit =
        map.get("limit").map(|v| parse_u64("limit", v, 1, MAX_PAGE_SIZE)).transpose()?.unwrap_or(DEFAULT_PAGE_SIZE);
    let include_total = map.get("include_total").map(|v| parse_bool("include_total", v)).transpose()?.unwrap_or(false);
    let count = match map.get("count").map(|v| v.trim()) {
        None => CountMode::default(),
        Some(v) => CountMode::ALL
            .into_iter()
            .find(|m| m.as_str() == v)
            .ok_or_else(|| DomainError::invalid_query("count", "invalid_value", "must be `estimated` or `exact`"))?,
    };

    let page = if page_style || (!cursor_style && !offset_style && !has("limit") && default_style == DefaultStyle::Page)
    {
        let page = map.get("page").map(|v| parse_u64("page", v, 1, MAX_OFFSET)).transpose()?.unwrap_or(1);
        let per_page = map
            .get("per_page")
            .map(|v| parse_u64("per_page", v, 1, MAX_PAGE_SIZE))
            .transpose()?
            .unwrap_or(DEFAULT_PAGE_SIZE);
        PageRequest::Page { page, per_page }
    } else if offset_style || (!cursor_style && default_style == DefaultStyle::Page) {
        let offset = map.get("offset").map(|v| parse_u64("offset", v, 0, MAX_OFFSET)).transpose()?.unwrap_or(0);
        PageRequest::Offset { offset, limit }
    } else if let Some(raw) = map.get("after_id") {
        if explicit_sort.as_ref().is_some_and(|s| s.iter().any(|k| k.column != "id" || k.dir != SortDir::Asc)) {
            return Err(DomainError::invalid_query(
                "after_id",
                "incompatible_sort",
                "after_id walks by ascending id; use `cursor` for other sorts",
            ));
        }
        let after = raw
            .trim()
            .parse::<i64>()
            .map_err(|_| DomainError::invalid_query("after_id", "invalid_integer", "must be an integer id"))?;
        return Ok(ListQuery {
            sort: after_id_sort(),
            filters,
            search,
            page: PageRequest::Cursor {
                limit,
                position: Some(KeysetPosition { values: vec![Value::Int(after)], backward: false }),
                include_total,
            },
            fields,
            scope: scope_digest,
            count,
        });
    } else {
        let position = match map.get("cursor") {
            None => None,
            Some(raw) => {
                // A walk begun with `after_id` runs by ascending id whatever the collection's
                // default sort, and its cursors say so: continuing one without `sort` (as its
                // `next` link does) keeps that order. An explicit, different `sort` is still refused.
                if explicit_sort.is_none()
                    && CursorPayload::decode(raw, key).is_ok_and(|p| p.sort == sort_signature(&after_id_sort()))
                {
                    sort = after_id_sort();
                }
                Some(decode_position(spec, raw, &sort, &scope_digest, key)?)
            }
        };
        PageRequest::Cursor { limit, position, include_total }
    };
    Ok(ListQuery { sort, filters, search, page, fields, scope: scope_digest, count })
}

fn decode_position(
    spec: &ResourceSpec,
    raw: &str,
    sort: &[SortKey],
    scope: &str,
    key: &CursorKey,
) -> DomainResult<KeysetPosition> {
    let payload = CursorPayload::decode(raw, key)
        .map_err(|e| DomainError::invalid_query("cursor", "invalid_cursor", e.to_string()))?;
    if payload.sort != sort_signature(sort) {
        return Err(DomainError::invalid_query(
            "cursor",
            "cursor_sort_mismatch",
            "the cursor was issued for a different sort; pass the same `sort` as the request that returned it",
        ));
    }
    if payload.scope != scope {
        return Err(DomainError::invalid_query(
            "cursor",
            "cursor_filter_mismatch",
            "the cursor was issued for different filters or search; pass the same ones",
        ));
    }
    let kinds_ok = payload.values.len() == sort.len()
        && payload
            .values
            .iter()
            .zip(sort)
            .all(|(v, k)| spec.kind_of(k.column).map(|(_, kind)| Some(kind) == v.kind()).unwrap_or(false));
    if !kinds_ok {
        return Err(DomainError::invalid_query("cursor", "invalid_cursor", "the cursor is malformed"));
    }
    Ok(KeysetPosition { values: payload.values, backward: payload.backward })
}

impl ListQuery {
    fn cursor_at<T: Sortable>(&self, row: &T, backward: bool, key: &CursorKey) -> String {
        CursorPayload {
            sort: sort_signature(&self.sort),
            scope: self.scope.clone(),
            values: self.sort.iter().map(|k| row.sort_value(k.column)).collect(),
            backward,
        }
        .encode(key)
    }

    /// Turns a repository's fetch into a page, minting next/prev cursors from boundary rows.
    pub fn finish<T: Sortable>(&self, fetched: Fetched<T>, key: &CursorKey) -> Page<T> {
        let Fetched { mut rows, has_more, total } = fetched;
        let limit = self.page.limit() as usize;
        rows.truncate(limit);
        let first = rows.first();
        let last = rows.last();
        let info = match &self.page {
            PageRequest::Page { page, per_page } => {
                let total = total.unwrap_or(Total::exact(0));
                PageInfo::Page {
                    page: *page,
                    per_page: *per_page,
                    total: total.rows,
                    total_is_estimate: total.estimate,
                    total_pages: (total.rows.max(0) as u64).div_ceil(*per_page),
                    has_more,
                    next_cursor: last.filter(|_| has_more).map(|r| self.cursor_at(r, false, key)),
                    prev_cursor: first.filter(|_| *page > 1).map(|r| self.cursor_at(r, true, key)),
                }
            }
            PageRequest::Offset { offset, limit } => {
                let total = total.unwrap_or(Total::exact(0));
                PageInfo::Offset {
                    offset: *offset,
                    limit: *limit,
                    total: total.rows,
                    total_is_estimate: total.estimate,
                    has_more,
                }
            }
            PageRequest::Cursor { limit, position, .. } => {
                let backward = position.as_ref().is_some_and(|p| p.backward);
                // Walking forward: more ahead is `has_more`; a previous page exists if we started
                // from a position. Walking backward: rows ahead certainly exist (we came from
                // there); more behind is `has_more`.
                let (more_ahead, more_behind) =
                    if backward { (true, has_more) } else { (has_more, position.is_some()) };
                PageInfo::Cursor {
                    limit: *limit,
                    next_cursor: last.filter(|_| more_ahead).map(|r| self.cursor_at(r, false, key)),
                    prev_cursor: first.filter(|_| more_behind).map(|r| self.cursor_at(r, true, key)),
                    has_more: more_ahead,
                    total,
                }
            }
        };
        Page { items: rows, info, fields: self.fields.clone() }
    }
}

/// Helpers to write [`FilterSpec`] parsers tersely.
pub mod filters {
    use super::{Filter, FilterOp, Value};
    use chrono::{DateTime, Utc};

    /// What values a filter parameter takes (for its documentation).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        /// A 64-bit integer.
        Int,
        /// `true`/`false` (also `1`/`0`).
        Bool,
        /// A slug: letters, digits, `-` and `_`.
        Slug,
        /// An RFC 3339 timestamp.
        Time,
        /// Free text.
        Text,
        /// One of these words.
        OneOf(&'static [&'static str]),
    }

    /// Parses a non-negative integer operand.
    pub fn int(column: &'static str, op: FilterOp, raw: &str) -> Result<Filter, String> {
        let v: i64 = raw.trim().parse().map_err(|_| "must be an integer".to_string())?;
        if v < 0 {
            return Err("must not be negative".into());
        }
        Ok(Filter { column, op, value: Value::Int(v) })
    }

    /// Parses an RFC 3339 timestamp operand.
    pub fn time(column: &'static str, op: FilterOp, raw: &str) -> Result<Filter, String> {
        let t = DateTime::parse_from_rfc3339(raw.trim()).map_err(|_| "must be an RFC 3339 timestamp".to_string())?;
        Ok(Filter { column, op, value: Value::Time(t.with_timezone(&Utc)) })
    }

    /// Parses a text operand of bounded length.
    pub fn text(column: &'static str, raw: &str, max: usize) -> Result<Filter, String> {
        let v = raw.trim();
        if v.is_empty() || v.chars().count() > max {
            return Err(format!("must be 1-{max} characters"));
        }
        Ok(Filter { column, op: FilterOp::Eq, value: Value::Text(v.to_string()) })
    }
}

#[cfg(test)]
mod tests;
