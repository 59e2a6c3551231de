//! Subscriptions over WebSocket with the `graphql-transport-ws` subprotocol (the graphql-ws
//! PROTOCOL.md): `connection_init` (carrying `{"Authorization": "Bearer …"}` or
//! `{"X-API-Key": "…"}` when the client authenticates), `connection_ack`, `subscribe` /
//! `next` / `error` / `complete`, `ping` / `pong`, and the protocol's close codes.
//!
//! Written here rather than with async-graphql-axum's server, which closes a refused
//! `connection_init` with 1002 where the protocol says 4403, and knows no duplicate-id rule.
//! Credentials come only from `connection_init`: a cookie on the upgrade request is ignored,
//! so another site's page cannot open a socket that acts as the user (cross-site WebSocket
//! hijacking).

use std::collections::HashMap;
use std::time::Duration;

use agora_core::Actor;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use futures::StreamExt;
use futures::stream::{AbortHandle, BoxStream, SelectAll};
use serde_json::{Value, json};

use crate::state::AppState;

/// The subprotocol.
pub const PROTOCOL: &str = "graphql-transport-ws";
/// How long a client has to send `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Most subscriptions one connection may hold.
const MAX_SUBSCRIPTIONS: usize = 100;
/// Largest message a client may send.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// The protocol's close codes.
mod close {
    pub const BAD_REQUEST: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const SUBSCRIBER_EXISTS: u16 = 4409;
    pub const TOO_MANY_INITS: u16 = 4429;
}

/// What one connection's subscriptions yield: a payload for `next`, or the end (`complete`).
type Events = SelectAll<BoxStream<'static, (String, Option<Value>)>>;

async fn shut(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame { code, reason: Utf8Bytes::from(reason) };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn send(socket: &mut WebSocket, msg: Value) -> bool {
    socket.send(Message::Text(msg.to_string().into())).await.is_ok()
}

/// The actor `connection_init`'s payload authenticates: anonymous without credentials; `None`
/// when credentials were presented and refused.
async fn authenticate(state: &AppState, payload: &Value) -> Option<Actor> {
    let mut headers = HeaderMap::new();
    for (key, name) in [("Authorization", "authorization"), ("X-API-Key", "x-api-key")] {
        let value = payload.get(key).or_else(|| payload.get(name)).and_then(Value::as_str);
        if let Some(v) = value {
            headers.insert(HeaderName::from_static(name), HeaderValue::from_str(v).ok()?);
        }
    }
    if headers.is_empty() {
        return Some(Actor::Anonymous);
    }
    crate::auth::actor_from(state, &headers, &Method::GET).await.ok()
}

/// Serves one upgraded connection.
pub async fn serve(mut socket: WebSocket, state: AppState) {
    let actor = match tokio::time::timeout(INIT_TIMEOUT, socket.recv()).await {
        Err(_) => return shut(&mut socket, close::INIT_TIMEOUT, "Connection initialisation timeout").await,
        Ok(None | Some(Err(_))) => return,
        Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str::<Value>(&t) {
            Ok(m) if m["type"] == "connection_init" => {
                let payload = m.get("payload").cloned().unwrap_or(Value::Null);
                match authenticate(&state, &payload).await {
                    Some(a) => a,
                    None => return shut(&mut socket, close::FORBIDDEN, "Forbidden").await,
                }
            }
            Ok(m) if m["type"] == "subscribe" => return shut(&mut socket, close::UNAUTHORIZED, "Unauthorized").await,
            _ => return shut(&mut socket, close::BAD_REQUEST, "Invalid message").await,
        },
        Ok(Some(Ok(Message::Close(_)))) => return,
        Ok(Some(Ok(_))) => return shut(&mut socket, close::BAD_REQUEST, "Invalid message").await,
    };
    if !send(&mut socket, json!({"type": "connection_ack"})).await {
        return;
    }
    let mut events: Events = SelectAll::new();
    let mut active: HashMap<String, AbortHandle> = HashMap::new();
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(Message::Binary(_))) => return shut(&mut socket, close::BAD_REQUEST, "Invalid message").await,
                };
                let Ok(msg) = serde_json::from_str::<Value>(&text) else {
                    return shut(&mut socket, close::BAD_REQUEST, "Invalid message").await;
                };
                match msg["type"].as_str() {
                    Some("ping") => {
                        if !send(&mut socket, json!({"type": "pong"})).await { break; }
                    }
                    Some("pong") => {}
                    Some("connection_init") => {
                        return shut(&mut socket, close::TOO_MANY_INITS, "Too many initialisation requests").await;
                    }
                    Some("complete") => {
                        if let Some(h) = msg["id"].as_str().and_then(|id| active.remove(id)) {
                            h.abort();
                        }
                    }
                    Some("subscribe") => {
                        let (Some(id), Some(payload)) = (msg["id"].as_str(), msg.get("payload")) else {
                            return shut(&mut socket, close::BAD_REQUEST, "Invalid message").await;
                        };
                        if active.contains_key(id) {
                            let reason = format!("Subscriber for {id} already exists");
                            return shut(&mut socket, close::SUBSCRIBER_EXISTS, &reason).await;
                        }
                        if active.len() >= MAX_SUBSCRIPTIONS {
                            let e = json!({"type": "error", "id": id, "payload": [{"message": "Too many subscriptions on this connection.", "extensions": {"code": "LIMIT_REACHED"}}]});
                            if !send(&mut socket, e).await { break; }
                            continue;
                        }
                        match super::subscribe(&state, actor.clone(), payload) {
                            Err(errors) => {
                                if !send(&mut socket, json!({"type": "error", "id": id, "payload": errors})).await { break; }
                            }
                            Ok(stream) => {
                                let (stream, handle) = futures::stream::abortable(stream);
                                active.insert(id.to_string(), handle);
                                let (a, b) = (id.to_string(), id.to_string());
                                let tagged = stream.map(move |v| (a.clone(), Some(v))).chain(futures::stream::once(async move { (b, None) }));
                                events.push(tagged.boxed());
                            }
                        }
                    }
                    _ => return shut(&mut socket, close::BAD_REQUEST, "Invalid message").await,
                }
            }
            Some((id, item)) = events.next(), if !events.is_empty() => {
                // A subscription the client completed is not reported back.
                if !active.contains_key(&id) { continue; }
                let msg = match item {
                    Some(payload) => json!({"type": "next", "id": id, "payload": payload}),
                    None => {
                        active.remove(&id);
                        json!({"type": "complete", "id": id})
                    }
                };
                if !send(&mut socket, msg).await { break; }
            }
        }
    }
    for (_, h) in active {
        h.abort();
    }
}
