//! A GraphQL-over-WebSocket client for the tests: `graphql-transport-ws`, or the legacy
//! `graphql-ws`, over a real socket to a test server.

use super::Server;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A `graphql-transport-ws` (or legacy `graphql-ws`) client.
pub struct Client {
    socket: Socket,
}

impl Client {
    /// Opens a socket speaking `protocol`; no `connection_init` yet.
    pub async fn open(addr: std::net::SocketAddr, protocol: &str) -> Client {
        let mut request = format!("ws://{addr}/graphql")
            .into_client_request()
            .expect("request");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(protocol).expect("header"),
        );
        let (socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            protocol,
            "the server speaks the protocol asked for"
        );
        Client { socket }
    }

    /// Opens a `graphql-transport-ws` socket and initialises it with `token`.
    pub async fn connect(server: &Server, token: &str) -> Client {
        Client::connect_to(server.addr, token).await
    }

    /// [`Client::connect`] to a server at `addr`.
    pub async fn connect_to(addr: std::net::SocketAddr, token: &str) -> Client {
        let mut client = Client::open(addr, "graphql-transport-ws").await;
        client
            .send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}))
            .await;
        assert_eq!(client.next().await["type"], "connection_ack");
        client
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("send");
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}))
            .await;
    }

    /// The next protocol message (pings answered), or a close as `{"close": code, "reason": …}`.
    pub async fn next(&mut self) -> Value {
        self.within(Duration::from_secs(10))
            .await
            .expect("a message within 10 s")
    }

    /// The data of the next `next` message of each of `count` operations, by operation id (an
    /// operation that answers twice keeps its last answer).
    pub async fn answers(&mut self, count: usize) -> std::collections::BTreeMap<String, Value> {
        let mut seen = std::collections::BTreeMap::new();
        while seen.len() < count {
            let message = self.next().await;
            assert_eq!(message["type"], "next", "{message}");
            seen.insert(
                message["id"].as_str().unwrap_or_default().to_owned(),
                message["payload"]["data"].clone(),
            );
        }
        seen
    }

    /// The next message within `wait`, if one comes.
    pub async fn within(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(wait, self.socket.next()).await.ok()?;
            match message {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON");
                    if value["type"] == "ping" {
                        self.send(json!({"type": "pong"})).await;
                        continue;
                    }
                    return Some(value);
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or_default();
                    return Some(json!({"close": code, "reason": reason}));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Some(json!({"close": 0, "reason": "gone"})),
            }
        }
    }

    /// The data of the next `next` message for subscription `id`.
    pub async fn data(&mut self, id: &str) -> Value {
        let message = self.next().await;
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(message["id"], id, "{message}");
        assert!(message["payload"].get("errors").is_none(), "{message}");
        message["payload"]["data"].clone()
    }
}
