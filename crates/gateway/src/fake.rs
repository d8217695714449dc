//! A stand-in for a real model API, for testing relays offline: it serves
//! HTTP on the host's loopback, demands a key the way the real APIs do
//! (`x-api-key`, `Authorization: Bearer`, `x-goog-api-key`), answers from a
//! [`Backend`] in whatever API shape it is asked, reports usage on JSON
//! answers as the real APIs do, and keeps every request it was sent.

use std::io::{self, BufReader};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::{Answerer, Backend, Limits, Service};

/// What a fake upstream was sent: target, headers (lower-cased names) and
/// the body as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// How a fake upstream treats one model call, decided from its body.
pub enum Route {
    /// Answer from this backend.
    Answer(Arc<dyn Backend>),
    /// Fail with this status (and `retry-after: 0`), as an overloaded or
    /// broken server would, however often the call is tried again.
    Fail(u16),
}

/// Decides each model call's [`Route`] from its JSON body.
pub type Router = dyn Fn(&Value) -> Route + Send + Sync;

/// Tokens a fake upstream reports for every JSON answer.
pub const REPORTED_USAGE: (u64, u64) = (1000, 50);

/// A running fake upstream; dropping it stops it.
pub struct FakeUpstream {
    /// `http://127.0.0.1:<port>`: the base URL to relay to.
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Failures to give before answering: a status (with `retry-after: 0`),
    /// or 0 for a connection closed without an answer.
    failures: Arc<Mutex<std::collections::VecDeque<u16>>>,
    _server: http1::Server,
}

impl FakeUpstream {
    pub fn start(key: &str, backend: Arc<dyn Backend>) -> io::Result<FakeUpstream> {
        FakeUpstream::routed(key, Arc::new(move |_: &Value| Route::Answer(backend.clone())))
    }

    /// A fake upstream that decides each call's answer from its body: a
    /// model server that serves several tasks, or fails some of them.
    pub fn routed(key: &str, router: Arc<Router>) -> io::Result<FakeUpstream> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}", listener.local_addr()?);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let failures = Arc::new(Mutex::new(std::collections::VecDeque::new()));
        let next_failure = failures.clone();
        let key = key.to_owned();
        let server = http1::Server::start(listener, move |conn| {
            let Ok(reader) = conn.try_clone() else { return };
            let mut reader = BufReader::new(reader);
            let mut writer = conn;
            while let Ok(Some(head)) = http1::read_head(&mut reader) {
                let Ok((raw, _)) = http1::read_body(&mut reader, &head, crate::BODY_LIMIT) else {
                    return;
                };
                let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
                let keyed = head.header("x-api-key") == Some(key.as_str())
                    || head.header("x-goog-api-key") == Some(key.as_str())
                    || head.header("authorization") == Some(format!("Bearer {key}").as_str());
                log.lock().unwrap_or_else(|e| e.into_inner()).push(Seen {
                    target: head.target.clone(),
                    headers: head.headers.clone(),
                    body: body.clone(),
                });
                // A model list, as a preflight asks for: answered, or
                // refused without the key.
                if head.method == "GET" && head.target.ends_with("/models") {
                    let (status, body) = if keyed {
                        (200, json!({"data": []}))
                    } else {
                        (
                            401,
                            json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
                        )
                    };
                    let r = crate::Response::json(status, &body);
                    if http1::write_response(
                        &mut writer,
                        r.status,
                        &r.content_type,
                        r.body.as_bytes(),
                    )
                    .is_err()
                    {
                        return;
                    }
                    continue;
                }
                let route = router(&body);
                let queued = next_failure.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                let failure = match (&route, queued) {
                    (_, Some(status)) => Some(status),
                    (Route::Fail(status), None) => Some(*status),
                    (Route::Answer(_), None) => None,
                };
                match failure {
                    Some(0) => return,
                    Some(status) => {
                        // As the Messages API words them.
                        let (kind, message) = match status {
                            429 => (
                                "rate_limit_error",
                                "Number of requests has exceeded your rate limit",
                            ),
                            529 => ("overloaded_error", "Overloaded"),
                            _ => ("api_error", "Internal server error"),
                        };
                        let body =
                            json!({"type": "error", "error": {"type": kind, "message": message}})
                                .to_string();
                        let answer = format!(
                            "HTTP/1.1 {status} Failing\r\ncontent-type: application/json\r\nretry-after: 0\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if io::Write::write_all(&mut writer, answer.as_bytes()).is_err() {
                            return;
                        }
                        continue;
                    }
                    None => {}
                }
                let mut response = if let (true, Route::Answer(backend)) = (keyed, route) {
                    let service = Service::new(Answerer::Scripted(backend), Limits::default());
                    service.handle("POST", &head.target, &[], &raw)
                } else {
                    let e = json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}});
                    crate::Response::json(401, &e)
                };
                if response.status == 200
                    && response.content_type == "application/json"
                    && let Ok(mut v) = serde_json::from_str::<Value>(&response.body)
                {
                    let (input, output) = REPORTED_USAGE;
                    v["usage"] = json!({"input_tokens": input, "output_tokens": output});
                    response.body = v.to_string();
                }
                let body = response.body.as_bytes();
                if http1::write_response(&mut writer, response.status, &response.content_type, body)
                    .is_err()
                {
                    return;
                }
            }
        })?;
        Ok(FakeUpstream { url, seen, failures, _server: server })
    }

    /// Fails the next requests, one per entry: with that status, or, for
    /// 0, by closing the connection without an answer.
    pub fn fail_next(&self, statuses: &[u16]) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).extend(statuses);
    }

    /// Every request so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn clear(&self) {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
