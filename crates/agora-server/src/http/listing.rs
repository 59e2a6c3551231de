//! Rendering lists and single resources: field selection, pagination metadata, the RFC 8288
//! `Link` header, and ETags on single GETs.

use agora_core::list::PageInfo;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::envelope::{json_bytes, json_response};
use super::etag;

/// Keeps only the selected fields of a serialised object.
pub fn project(v: Value, fields: Option<&[String]>) -> Value {
    match (v, fields) {
        (Value::Object(mut m), Some(fields)) => {
            let mut out = Map::with_capacity(fields.len());
            for f in fields {
                if let Some(x) = m.remove(f) {
                    out.insert(f.clone(), x);
                }
            }
            Value::Object(out)
        }
        (v, _) => v,
    }
}

/// The `pagination` object for a page.
pub fn pagination_json(info: &PageInfo) -> Value {
    match info {
        PageInfo::Page { page, per_page, total, total_pages, next_cursor, prev_cursor } => json!({
            "page": page, "per_page": per_page, "total": total, "total_pages": total_pages,
            "next_cursor": next_cursor, "prev_cursor": prev_cursor,
        }),
        PageInfo::Offset { offset, limit, total } => json!({"offset": offset, "limit": limit, "total": total}),
        PageInfo::Cursor { limit, next_cursor, prev_cursor, has_more, total } => {
            let mut v =
                json!({"limit": limit, "next_cursor": next_cursor, "prev_cursor": prev_cursor, "has_more": has_more});
            if let (Some(t), Value::Object(m)) = (total, &mut v) {
                m.insert("total".into(), json!(t));
            }
            v
        }
    }
}

const PAGING_PARAMS: &[&str] = &["page", "per_page", "offset", "limit", "cursor", "after_id"];

fn link_to(uri: &Uri, set: &[(&str, String)]) -> String {
    let mut pairs: Vec<(String, String)> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !PAGING_PARAMS.contains(&k.as_str()))
        .collect();
    for (k, v) in set {
        pairs.push((k.to_string(), v.clone()));
    }
    let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if q.is_empty() { uri.path().to_string() } else { format!("{}?{q}", uri.path()) }
}

/// The RFC 8288 `Link` value for a page, or `None` when there is nothing to link.
pub fn link_header(uri: &Uri, info: &PageInfo) -> Option<String> {
    let mut links: Vec<(String, &str)> = Vec::new();
    match info {
        PageInfo::Page { page, per_page, total_pages, .. } => {
            let pp = per_page.to_string();
            let last = (*total_pages).max(1);
            links.push((link_to(uri, &[("page", "1".into()), ("per_page", pp.clone())]), "first"));
            if *page > 1 {
                links.push((
                    link_to(uri, &[("page", (page - 1).min(last).to_string()), ("per_page", pp.clone())]),
                    "prev",
                ));
            }
            if *page < *total_pages {
                links.push((link_to(uri, &[("page", (page + 1).to_string()), ("per_page", pp.clone())]), "next"));
            }
            links.push((link_to(uri, &[("page", last.to_string()), ("per_page", pp)]), "last"));
        }
        PageInfo::Offset { offset, limit, total } => {
            let total = (*total).max(0) as u64;
            let l = limit.to_string();
            links.push((link_to(uri, &[("offset", "0".into()), ("limit", l.clone())]), "first"));
            if *offset > 0 {
                links.push((
                    link_to(uri, &[("offset", offset.saturating_sub(*limit).to_string()), ("limit", l.clone())]),
                    "prev",
                ));
            }
            if offset + limit < total {
                links.push((link_to(uri, &[("offset", (offset + limit).to_string()), ("limit", l.clone())]), "next"));
            }
            let last = if total == 0 { 0 } else { (total - 1) / limit * limit };
            links.push((link_to(uri, &[("offset", last.to_string()), ("limit", l)]), "last"));
        }
        PageInfo::Cursor { limit, next_cursor, prev_cursor, .. } => {
            let l = limit.to_string();
            links.push((link_to(uri, &[("limit", l.clone())]), "first"));
            if let Some(p) = prev_cursor {
                links.push((link_to(uri, &[("cursor", p.clone()), ("limit", l.clone())]), "prev"));
            }
            if let Some(n) = next_cursor {
                links.push((link_to(uri, &[("cursor", n.clone()), ("limit", l)]), "next"));
            }
        }
    }
    if links.is_empty() {
        return None;
    }
    Some(links.iter().map(|(u, rel)| format!("<{u}>; rel=\"{rel}\"")).collect::<Vec<_>>().join(", "))
}

/// A list response: items (projected), pagination, `Link`.
pub fn list_response<T: Serialize>(items: &[T], info: &PageInfo, fields: Option<&[String]>, uri: &Uri) -> Response {
    let pagination = pagination_json(info);
    let bytes = match fields {
        None => json_bytes(&items, Some(&pagination)),
        Some(f) => {
            let projected: Vec<Value> =
                items.iter().map(|i| project(serde_json::to_value(i).unwrap_or(Value::Null), Some(f))).collect();
            json_bytes(&projected, Some(&pagination))
        }
    };
    let mut res = json_response(StatusCode::OK, bytes);
    if let Some(link) = link_header(uri, info).and_then(|l| HeaderValue::from_str(&l).ok()) {
        res.headers_mut().append(header::LINK, link);
    }
    res
}

/// A single-resource GET: projected fields, a strong ETag, and `304` on `If-None-Match`.
pub fn single_response<T: Serialize>(
    req_headers: &HeaderMap,
    data: &T,
    fields: Option<&[String]>,
    tag: String,
) -> Response {
    if etag::not_modified(req_headers, &tag) {
        return etag::not_modified_response(&tag);
    }
    let bytes = match fields {
        None => json_bytes::<T, ()>(data, None),
        Some(f) => json_bytes::<Value, ()>(&project(serde_json::to_value(data).unwrap_or(Value::Null), Some(f)), None),
    };
    let mut res = json_response(StatusCode::OK, bytes);
    if let Ok(v) = HeaderValue::from_str(&tag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// `201 Created` with `Location` and the new resource (and its ETag).
pub fn created_response<T: Serialize>(data: &T, location: String, tag: String) -> Response {
    let mut res = json_response(StatusCode::CREATED, json_bytes::<T, ()>(data, None));
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    if tag.is_empty() {
        return res;
    }
    if let Ok(v) = HeaderValue::from_str(&tag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// `200 OK` after a write, with the new ETag.
pub fn updated_response<T: Serialize>(data: &T, tag: String) -> Response {
    let mut res = json_response(StatusCode::OK, json_bytes::<T, ()>(data, None));
    if let Ok(v) = HeaderValue::from_str(&tag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}
