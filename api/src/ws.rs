//! GraphQL over WebSocket on `/graphql`: the `graphql-transport-ws` protocol (the `graphql-ws`
//! client's), and the legacy `graphql-ws` one (subscriptions-transport-ws).
//!
//! - The token travels in `connection_init` (`{"Authorization": "Bearer …"}`, or `token`, or
//!   `headers.Authorization`): browsers cannot set headers on a WebSocket. A missing or bad one
//!   closes the socket with 4401; so does the token's expiry, when it comes.
//! - Each operation runs through the schema as over HTTP, under the same document limits and
//!   the same permission (anything but a mutation needs `conversations:read`), with the
//!   connection's caller; a subscription's answers come as `next` messages, written with the
//!   pushed-down reads' JSON spliced in.
//! - At most `max_subscriptions_per_connection` operations run at once on a connection, and the
//!   process holds at most its `max_subscriptions`; past either an operation gets an `error`.
//! - A client that reads more slowly than its events come holds back only itself: the messages
//!   waiting for it are bounded, its subscriptions fall behind their group, and the next answer
//!   it reads says how many it missed (`EVENTS_DROPPED`).

use async_graphql::Variables;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::AppState;
use crate::auth::{self, Caller};

/// The protocols spoken, by their `Sec-WebSocket-Protocol` names.
const TRANSPORT_WS: &str = "graphql-transport-ws";
const LEGACY_WS: &str = "graphql-ws";

/// Messages waiting to be written to one client.
const OUTGOING: usize = 32;
/// How long a client may take to send `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Keep-alive of the legacy protocol.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Close codes of `graphql-transport-ws`.
mod close {
    pub const BAD_MESSAGE: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const DUPLICATE_ID: u16 = 4409;
    pub const TOO_MANY_INITS: u16 = 4429;
}

/// Answers a WebSocket upgrade of `/graphql`.
pub fn upgrade(state: AppState, ws: WebSocketUpgrade) -> Response {
    let max_message = state.http.max_body_bytes;
    ws.protocols([TRANSPORT_WS, LEGACY_WS])
        .max_message_size(max_message)
        .on_upgrade(move |socket| {
            let legacy = socket
                .protocol()
                .is_some_and(|p| p.as_bytes() == LEGACY_WS.as_bytes());
            session(state, socket, legacy)
        })
}

#[derive(Deserialize)]
struct Incoming {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    payload: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Operation {
    query: String,
    #[serde(default)]
    variables: Option<Value>,
    operation_name: Option<String>,
}

/// One connection, from `connection_init` to the close.
async fn session(state: AppState, socket: WebSocket, legacy: bool) {
    let (mut sink, mut stream) = socket.split();
    let (out, mut queue) = mpsc::channel::<Message>(OUTGOING);
    let writer = tokio::spawn(async move {
        while let Some(message) = queue.recv().await {
            let closing = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let mut running: HashMap<String, AbortHandle> = HashMap::new();
    let mut caller: Option<Caller> = None;
    let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
    tokio::pin!(init_deadline);
    let expiry = tokio::time::sleep(Duration::MAX / 4);
    tokio::pin!(expiry);
    let mut keep_alive =
        tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);

    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            () = &mut init_deadline, if caller.is_none() => {
                let _ = out.send(close(close::INIT_TIMEOUT, "Connection initialisation timeout")).await;
                break;
            }
            () = &mut expiry, if caller.is_some() => {
                let _ = out.send(close(close::UNAUTHORIZED, "Unauthorized: the token expired")).await;
                break;
            }
            _ = keep_alive.tick(), if legacy && caller.is_some() => {
                let _ = out.try_send(text(json!({"type": "ka"})));
                continue;
            }
        };
        let Some(Ok(message)) = message else {
            break;
        };
        let body = match message {
            Message::Text(body) => body,
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Binary(_) => {
                let _ = out
                    .send(close(
                        close::BAD_MESSAGE,
                        "binary messages are not spoken here",
                    ))
                    .await;
                break;
            }
        };
        let Ok(incoming) = serde_json::from_str::<Incoming>(body.as_str()) else {
            let _ = out
                .send(close(
                    close::BAD_MESSAGE,
                    "a message that is not a protocol message",
                ))
                .await;
            break;
        };
        match incoming.kind.as_str() {
            "connection_init" => {
                if caller.is_some() {
                    let _ = out
                        .send(close(
                            close::TOO_MANY_INITS,
                            "Too many initialisation requests",
                        ))
                        .await;
                    break;
                }
                match authenticate(&state, incoming.payload.as_ref()).await {
                    Ok(verified) => {
                        if let Some(at) = verified.expires_at {
                            let left = at - chrono::Utc::now().timestamp();
                            let left = Duration::from_secs(u64::try_from(left).unwrap_or(0));
                            expiry.as_mut().reset(tokio::time::Instant::now() + left);
                        }
                        caller = Some(verified);
                        let _ = out.send(text(json!({"type": "connection_ack"}))).await;
                        if legacy {
                            let _ = out.send(text(json!({"type": "ka"}))).await;
                        }
                    }
                    Err(why) => {
                        let _ = out
                            .send(close(close::UNAUTHORIZED, &format!("Unauthorized: {why}")))
                            .await;
                        break;
                    }
                }
            }
            "ping" => {
                let _ = out.send(text(json!({"type": "pong"}))).await;
            }
            "pong" => {}
            "subscribe" | "start" => {
                let Some(caller) = &caller else {
                    let _ = out.send(close(close::UNAUTHORIZED, "Unauthorized")).await;
                    break;
                };
                let Some(id) = incoming.id else {
                    let _ = out
                        .send(close(
                            close::BAD_MESSAGE,
                            "a subscribe message without an id",
                        ))
                        .await;
                    break;
                };
                running.retain(|_, task| !task.is_finished());
                if running.contains_key(&id) {
                    if legacy {
                        continue;
                    }
                    let _ = out
                        .send(close(
                            close::DUPLICATE_ID,
                            &format!("Subscriber for {id} already exists"),
                        ))
                        .await;
                    break;
                }
                let most = state.limits().max_subscriptions_per_connection;
                if running.len() >= most {
                    let message = format!(
                        "this connection runs {most} operations, its most: complete one first"
                    );
                    let _ = out
                        .send(error(legacy, &id, "TOO_MANY_SUBSCRIPTIONS", &message))
                        .await;
                    continue;
                }
                let operation: Operation =
                    match incoming.payload.map(serde_json::from_value).transpose() {
                        Ok(Some(operation)) => operation,
                        _ => {
                            if legacy {
                                let _ = out
                                    .send(error(
                                        legacy,
                                        &id,
                                        "BAD_REQUEST",
                                        "the payload is not an operation",
                                    ))
                                    .await;
                                continue;
                            }
                            let _ = out
                                .send(close(close::BAD_MESSAGE, "the payload is not an operation"))
                                .await;
                            break;
                        }
                    };
                let task = tokio::spawn(run(
                    state.clone(),
                    caller.clone(),
                    id.clone(),
                    operation,
                    out.clone(),
                    legacy,
                ));
                running.insert(id, task.abort_handle());
            }
            "complete" | "stop" => {
                if let Some(task) = incoming.id.and_then(|id| running.remove(&id)) {
                    task.abort();
                }
            }
            "connection_terminate" => break,
            _ => {
                let _ = out
                    .send(close(close::BAD_MESSAGE, "an unknown message type"))
                    .await;
                break;
            }
        }
    }
    for task in running.values() {
        task.abort();
    }
    drop(out);
    let _ = writer.await;
}

/// The caller of `connection_init`'s payload.
async fn authenticate(state: &AppState, payload: Option<&Value>) -> Result<Caller, String> {
    let payload = payload.cloned().unwrap_or(Value::Null);
    let field = |v: &Value| -> Option<String> {
        ["Authorization", "authorization", "token", "authToken"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_owned))
    };
    let value = field(&payload)
        .or_else(|| payload.get("headers").and_then(field))
        .ok_or("connection_init names no token (send {\"Authorization\": \"Bearer …\"})")?;
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => value.trim(),
    };
    auth::verify(&state.auth, token)
        .await
        .map_err(|e| e.to_string())
}

/// Runs one operation and sends its answers, then `complete`.
async fn run(
    state: AppState,
    caller: Caller,
    id: String,
    operation: Operation,
    out: mpsc::Sender<Message>,
    legacy: bool,
) {
    let mut request = async_graphql::Request::new(operation.query);
    if let Some(variables) = operation.variables {
        request = request.variables(Variables::from_json(variables));
    }
    if let Some(name) = operation.operation_name {
        request = request.operation_name(name);
    }
    crate::operation::parse_once(&mut request);
    if !crate::operation::selects_mutation(&mut request) && !caller.may_read() {
        // As over HTTP: everything but a mutation reads, and reading needs the permission.
        let message = format!(
            "queries and subscriptions need the {} permission, which this token does not have",
            auth::Permission::ConversationsRead
        );
        let _ = out.send(error(legacy, &id, "FORBIDDEN", &message)).await;
        return;
    }
    if let Err(e) = crate::operation::check_limits(&mut request, state.limits()) {
        let _ = out.send(error(legacy, &id, e.code(), &e.to_string())).await;
        return;
    }
    let request = request
        .data(state.read_pool(&caller.subject))
        .data(crate::routing::Primary(state.pool.clone()))
        .data(caller)
        .data(state.ingest)
        .data(state.hub.clone())
        .data(crate::select::ResponseBudget::new(
            state.limits().max_response_bytes,
        ));
    let mut answers = state.schema.execute_stream(request);
    let mut first = true;
    while let Some(response) = answers.next().await {
        if std::mem::take(&mut first) && crate::operation::failed_before_execution(&response) {
            // Refused before it ran (it does not parse or validate): an `error`, no `complete`.
            let errors = serde_json::to_value(&response.errors).unwrap_or(Value::Null);
            let _ = out
                .send(text(json!({"id": id, "type": "error", "payload": errors})))
                .await;
            return;
        }
        let Ok(payload) = crate::operation::response_json(&response) else {
            continue;
        };
        let kind = if legacy { "data" } else { "next" };
        let mut message = format!(r#"{{"id":{},"type":"{kind}","payload":"#, json!(id));
        message.push_str(&String::from_utf8_lossy(&payload));
        message.push('}');
        // A client that reads slowly makes this wait: its subscription falls behind its group.
        if out
            .send(Message::Text(Utf8Bytes::from(message)))
            .await
            .is_err()
        {
            return;
        }
    }
    let _ = out.send(text(json!({"id": id, "type": "complete"}))).await;
}

fn text(value: Value) -> Message {
    Message::Text(Utf8Bytes::from(value.to_string()))
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(reason.chars().take(120).collect::<String>()),
    }))
}

/// An operation's refusal, as the protocol spells an error.
fn error(legacy: bool, id: &str, code: &str, message: &str) -> Message {
    let errors = json!([{"message": message, "extensions": {"code": code}}]);
    if legacy {
        text(json!({"id": id, "type": "error", "payload": errors[0]}))
    } else {
        text(json!({"id": id, "type": "error", "payload": errors}))
    }
}
