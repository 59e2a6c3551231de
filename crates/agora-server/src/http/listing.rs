//! Rendering lists and single resources: field selection, pagination metadata, the RFC 8288
//! `Link` header, and ETags on single GETs.

use agora_core::list::{Page, PageInfo};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value};

use super::envelope::{Envelope, ListEnvelope, Meta, Pagination, json_response, to_bytes};
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

const PAGING_PARAMS: &[&str] = &["page", "per_page", "offset", "limit", "cursor", "after_id"];

/// The request's own parameters for a link to another page: the paging ones dropped (the
/// link sets them), `version` dropped (the path names the version), and `fields` as parsed —
/// deduplicated — so a link stays bounded whatever the client sent.
fn link_params(uri: &Uri, fields: Option<&[String]>) -> Vec<(String, String)> {
    uri.query()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !PAGING_PARAMS.contains(&k.as_str()) && k != "version")
        .map(|(k, v)| match (k.as_str(), fields) {
            ("fields", Some(f)) => (k, f.join(",")),
            _ => (k, v),
        })
        .collect()
}

fn link_to(uri: &Uri, base: &[(String, String)], set: &[(&str, String)]) -> String {
    let mut pairs = base.to_vec();
    for (k, v) in set {
        pairs.push((k.to_string(), v.clone()));
    }
    let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if q.is_empty() { uri.path().to_string() } else { format!("{}?{q}", uri.path()) }
}

/// The RFC 8288 `Link` value for a page, or `None` when there is nothing to link.
pub fn link_header(uri: &Uri, info: &PageInfo, fields: Option<&[String]>) -> Option<String> {
    let base = link_params(uri, fields);
    let link_to = |uri: &Uri, set: &[(&str, String)]| link_to(uri, &base, set);
    let mut links: Vec<(String, &str)> = Vec::new();
    match info {
        // `next` follows from the page itself (one row beyond it was fetched), so it is right
        // whether the total is exact or not; `last` is named only when the total is exact, as
        // a page computed from an estimate may not be the last one.
        PageInfo::Page { page, per_page, total_pages, total_is_estimate, has_more, .. } => {
            let pp = per_page.to_string();
            let last = (*total_pages).max(1);
            links.push((link_to(uri, &[("page", "1".into()), ("per_page", pp.clone())]), "first"));
            if *page > 1 {
                let prev = if *total_is_estimate { page - 1 } else { (page - 1).min(last) };
                links.push((link_to(uri, &[("page", prev.to_string()), ("per_page", pp.clone())]), "prev"));
            }
            if *has_more {
                links.push((link_to(uri, &[("page", (page + 1).to_string()), ("per_page", pp.clone())]), "next"));
            }
            if !*total_is_estimate {
                links.push((link_to(uri, &[("page", last.to_string()), ("per_page", pp)]), "last"));
            }
        }
        PageInfo::Offset { offset, limit, total, total_is_estimate, has_more } => {
            let total = (*total).max(0) as u64;
            let l = limit.to_string();
            links.push((link_to(uri, &[("offset", "0".into()), ("limit", l.clone())]), "first"));
            if *offset > 0 {
                links.push((
                    link_to(uri, &[("offset", offset.saturating_sub(*limit).to_string()), ("limit", l.clone())]),
                    "prev",
                ));
            }
            if *has_more {
                links.push((link_to(uri, &[("offset", (offset + limit).to_string()), ("limit", l.clone())]), "next"));
            }
            if !*total_is_estimate {
                let last = if total == 0 { 0 } else { (total - 1) / limit * limit };
                links.push((link_to(uri, &[("offset", last.to_string()), ("limit", l)]), "last"));
            }
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

/// A list response: the page's items as `T` (projected to the selected fields), its
/// pagination, and the `Link` header.
pub fn list_response<E, T: Serialize>(page: &Page<E>, item: impl Fn(&E) -> T, uri: &Uri) -> Response {
    let pagination = Pagination::from(&page.info);
    let bytes = match page.fields.as_deref() {
        None => to_bytes(&ListEnvelope {
            success: true,
            data: page.items.iter().map(item).collect(),
            pagination,
            meta: Meta::now(),
        }),
        Some(f) => {
            let data = page
                .items
                .iter()
                .map(|e| project(serde_json::to_value(item(e)).unwrap_or(Value::Null), Some(f)))
                .collect();
            to_bytes(&ListEnvelope::<Value> { success: true, data, pagination, meta: Meta::now() })
        }
    };
    let mut res = json_response(StatusCode::OK, bytes);
    if let Some(link) =
        link_header(uri, &page.info, page.fields.as_deref()).and_then(|l| HeaderValue::from_str(&l).ok())
    {
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
        None => to_bytes(&Envelope::new(data)),
        Some(f) => to_bytes(&Envelope::new(project(serde_json::to_value(data).unwrap_or(Value::Null), Some(f)))),
    };
    with_etag(json_response(StatusCode::OK, bytes), &tag)
}

/// `201 Created` with `Location` and the new resource (and its ETag, when it has one).
pub fn created_response<T: Serialize>(data: &T, location: String, tag: Option<String>) -> Response {
    let mut res = json_response(StatusCode::CREATED, to_bytes(&Envelope::new(data)));
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    match tag {
        Some(tag) => with_etag(res, &tag),
        None => res,
    }
}

/// `200 OK` after a write, with the new ETag.
pub fn updated_response<T: Serialize>(data: &T, tag: String) -> Response {
    with_etag(json_response(StatusCode::OK, to_bytes(&Envelope::new(data))), &tag)
}

fn with_etag(mut res: Response, tag: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(tag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}
