//! The gateway over HTTP: routes requests to the API handlers and records
//! every exchange.

use std::io::{self, BufReader};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::{Backend, Conversation, Response, anthropic};

/// The largest request body read (Claude Code's first request carries the
/// system prompt and every tool schema: well under this).
pub const BODY_LIMIT: usize = 16 << 20;

/// One request and what the gateway answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// `anthropic.messages`, `anthropic.count_tokens`, `openai.responses`,
    /// `probe`, or `unknown`.
    pub api: &'static str,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// The request body as JSON (`null` when it was not JSON).
    pub request: Value,
    /// What the backend saw of the conversation (model API calls only).
    pub conversation: Option<Conversation>,
    /// What the model "returned": the content blocks for a Messages call.
    pub reply: Value,
}

/// A running gateway. Dropping it stops it.
pub struct Gateway {
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    _server: http1::Server,
}

impl Gateway {
    /// Serves `listener` (normally one the sandbox handed over) with
    /// `backend` deciding every turn.
    pub fn start(listener: TcpListener, backend: Arc<dyn Backend>) -> io::Result<Gateway> {
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let log = exchanges.clone();
        let server = http1::Server::start(listener, move |conn| {
            let _ = serve(conn, backend.as_ref(), &log);
        })?;
        Ok(Gateway { exchanges, _server: server })
    }

    /// The exchanges since the last call, in order.
    pub fn drain(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.exchanges.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn serve(conn: TcpStream, backend: &dyn Backend, log: &Mutex<Vec<Exchange>>) -> io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut writer = conn;
    while let Some(head) = http1::read_head(&mut reader)? {
        let (body, _) = http1::read_body(&mut reader, &head, BODY_LIMIT)?;
        let (api, response, reply) = route(backend, &head.method, head.path(), &body);
        let request = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let conversation = match api {
            "anthropic.messages" => Some(anthropic::conversation(&request)),
            "openai.responses" => Some(crate::openai::conversation(&request)),
            "gemini.generate" => Some(crate::gemini::conversation(&request)),
            _ => None,
        };
        let exchange = Exchange {
            api,
            method: head.method.clone(),
            path: head.target.clone(),
            status: response.status,
            request,
            conversation,
            reply,
        };
        // Recorded before the client has its answer.
        log.lock().unwrap_or_else(|e| e.into_inner()).push(exchange);
        let body = if head.method == "HEAD" { &b""[..] } else { response.body.as_bytes() };
        http1::write_response(&mut writer, response.status, response.content_type, body)?;
    }
    Ok(())
}

/// Which API a request is for, and its answer.
pub fn route(
    backend: &dyn Backend,
    method: &str,
    path: &str,
    body: &[u8],
) -> (&'static str, Response, Value) {
    match (method, path) {
        ("POST", "/v1/messages") => {
            let (response, reply) = anthropic::handle(backend, body);
            ("anthropic.messages", response, reply)
        }
        ("POST", p) if p.starts_with("/v1beta/models/") => {
            let call = &p["/v1beta/models/".len()..];
            match call.split_once(':') {
                Some((model, "generateContent")) => {
                    let (response, reply) = crate::gemini::handle(backend, model, false, body);
                    ("gemini.generate", response, reply)
                }
                Some((model, "streamGenerateContent")) => {
                    let (response, reply) = crate::gemini::handle(backend, model, true, body);
                    ("gemini.generate", response, reply)
                }
                Some((_, "countTokens")) => (
                    "gemini.count_tokens",
                    Response::json(200, &json!({"totalTokens": 0})),
                    Value::Null,
                ),
                _ => not_found(method, path),
            }
        }
        ("POST", "/v1/responses") => {
            let (response, reply) = crate::openai::handle(backend, body);
            ("openai.responses", response, reply)
        }
        ("POST", "/v1/messages/count_tokens") => (
            "anthropic.count_tokens",
            Response::json(200, &json!({"input_tokens": 0})),
            Value::Null,
        ),
        // Connectivity preflights some clients send.
        ("HEAD" | "GET", "/" | "/api/hello") => {
            ("probe", Response::json(200, &json!({})), Value::Null)
        }
        _ => not_found(method, path),
    }
}

fn not_found(method: &str, path: &str) -> (&'static str, Response, Value) {
    let message = format!("no route for {method} {path}");
    let error = json!({"type": "error", "error": {"type": "not_found_error", "message": message}});
    ("unknown", Response::json(404, &error), Value::Null)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, Write};

    use super::*;
    use crate::{Call, Conversation, Turn};

    struct Echo;

    impl Backend for Echo {
        fn turn(&self, c: &Conversation) -> Turn {
            Turn::Call {
                thinking: None,
                text: None,
                call: Call::Shell { command: format!("echo {}", c.tool_results) },
            }
        }
    }

    /// Sends a POST and returns the status line's code and the body.
    fn post(addr: std::net::SocketAddr, path: &str, body: &str) -> (String, String) {
        let mut c = TcpStream::connect(addr).unwrap();
        write!(c, "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len()).unwrap();
        let mut r = BufReader::new(c);
        // A status line parses like a request line: `HTTP/1.1` then the code.
        let head = http1::read_head(&mut r).unwrap().unwrap();
        let (reply, _) = http1::read_body(&mut r, &head, 1 << 20).unwrap();
        (head.target, String::from_utf8(reply).unwrap())
    }

    #[test]
    fn serves_and_records_messages_calls() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let g = Gateway::start(listener, Arc::new(Echo)).unwrap();
        let body = r#"{"model":"m","stream":true,"tools":[{"name":"Bash"}],"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"x"}]}]}"#;
        let (status, reply) = post(addr, "/v1/messages?beta=true", body);
        assert_eq!(status, "200");
        assert!(reply.starts_with("event: message_start\n"), "{reply}");
        assert!(reply.contains(r#"echo 1"#), "{reply}");
        let (status, _) = post(addr, "/v1/nothing", "{}");
        assert_eq!(status, "404");
        let log = g.drain();
        assert_eq!(log.len(), 2);
        assert_eq!(
            (log[0].api, log[0].path.as_str(), log[0].request["model"].as_str()),
            ("anthropic.messages", "/v1/messages?beta=true", Some("m"))
        );
        assert_eq!(log[0].reply[0]["input"]["command"], "echo 1");
        assert_eq!((log[1].api, log[1].status), ("unknown", 404));
        // The Responses API goes through the same server.
        let body = r#"{"model":"gpt","stream":true,"tools":[{"type":"function","name":"exec_command"}],"input":[{"type":"function_call_output","call_id":"c","output":"ok"}]}"#;
        let (status, reply) = post(addr, "/v1/responses", body);
        assert_eq!(status, "200");
        assert!(reply.contains("event: response.completed"), "{reply}");
        let log = g.drain();
        assert_eq!(
            (log[0].api, log[0].conversation.as_ref().map(|c| c.tool_results)),
            ("openai.responses", Some(1))
        );
    }

    #[test]
    fn answers_probes() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _g = Gateway::start(listener, Arc::new(Echo)).unwrap();
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"HEAD /api/hello HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
        let mut line = String::new();
        BufReader::new(&mut c).read_line(&mut line).unwrap();
        assert_eq!(line, "HTTP/1.1 200 OK\r\n");
    }
}
