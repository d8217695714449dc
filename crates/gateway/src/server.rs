//! The gateway's service: every model call goes through [`Service::handle`],
//! whether it comes over HTTP from a client in the sandbox ([`Gateway`]) or
//! in-process from the built-in agent loop. It routes the call to its API
//! shape, admits it against the episode's [`Budget`], answers it from the
//! scripted backend or relays it upstream, and records the exchange.

use formats::EndReason;
use std::io::{self, BufReader};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::budget::{Budget, Limits, Usage};
use crate::relay::{RelayError, Upstream, Wire};
use crate::{Backend, Conversation, Response, Turn, anthropic, chat, gemini, openai, sse};

/// The largest request body read (Claude Code's first request carries the
/// system prompt and every tool schema: well under this).
pub const BODY_LIMIT: usize = 16 << 20;

/// One request and what the gateway answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// `anthropic.messages`, `openai.responses`, `openai.chat`,
    /// `gemini.generate`, a `…count_tokens` call, `probe`, or `unknown`.
    pub api: &'static str,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// The request body as JSON (`null` when it was not JSON).
    pub request: Value,
    /// What the backend saw of the conversation (model calls only).
    pub conversation: Option<Conversation>,
    /// What is new since the model's last turn: the tool results and user
    /// messages it is asked to answer (model calls only).
    pub asked: Value,
    /// What the model returned: content blocks, output items, the assistant
    /// message or parts, depending on the API.
    pub reply: Value,
    /// Tokens used (model calls only).
    pub usage: Option<Usage>,
    /// The upstream model spec, for a relayed call.
    pub upstream: Option<String>,
    /// Why the call was not answered by the model: a limit, a relay failure.
    pub error: Option<String>,
    /// The attempts that failed in a way worth trying again (429, 529,
    /// 5xx, a connection lost before an answer), each with the wait after
    /// it: `529 after 2.0 s, waited 1.3 s`.
    pub retries: Vec<String>,
    /// When the request arrived.
    pub at: Instant,
}

/// What answers model calls.
pub enum Answerer {
    Scripted(Arc<dyn Backend>),
    Relay(Upstream),
}

/// How transient upstream failures (429, 529, 5xx, a connection lost
/// before an answer) are tried again: exponential backoff with full
/// jitter, `Retry-After` honoured when the upstream sends it, bounded in
/// attempts and in the total wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub attempts: u32,
    /// The first backoff's ceiling; it doubles with every attempt.
    pub base: Duration,
    /// The longest single wait.
    pub cap: Duration,
    /// The most waited in all, over one call's retries.
    pub total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 4,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(30),
            total: Duration::from_secs(90),
        }
    }
}

impl RetryPolicy {
    /// No retries: the first failure is the answer.
    pub const NONE: RetryPolicy = RetryPolicy {
        attempts: 0,
        base: Duration::ZERO,
        cap: Duration::ZERO,
        total: Duration::ZERO,
    };

    /// The wait before retry `attempt` (from 0), or `None` when no retry is
    /// left: the attempts are spent, or the wait would pass the total.
    /// `retry_after` is the header as the upstream sent it (seconds).
    pub fn wait(
        &self,
        attempt: u32,
        retry_after: Option<&str>,
        waited: Duration,
    ) -> Option<Duration> {
        if attempt >= self.attempts {
            return None;
        }
        let ceiling = self.base.saturating_mul(1 << attempt.min(20)).min(self.cap);
        let wait = match retry_after.and_then(|v| v.trim().parse::<f64>().ok()) {
            Some(secs) if secs.is_finite() && secs >= 0.0 => {
                Duration::from_secs_f64(secs).min(self.cap)
            }
            _ => ceiling.mul_f64(jitter()),
        };
        (waited + wait <= self.total).then_some(wait)
    }
}

/// A number in [0, 1) that differs from call to call (the standard
/// library's per-process random hasher keys, stepped on every use).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// A model call that failed in a way that explains an agent's failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `model_auth` (a missing or refused key), `model_unreachable`, or
    /// `model_error` (any other error answer from the upstream).
    pub reason: EndReason,
    pub detail: String,
}

/// One episode's model service.
pub struct Service {
    answerer: Answerer,
    budget: Budget,
    log: Mutex<Vec<Exchange>>,
    failure: Mutex<Option<Failure>>,
    retry: RetryPolicy,
}

/// Where a request goes.
enum Route {
    Model { api: &'static str, wire: Wire, gemini: Option<(String, bool)>, call: String },
    CountTokens { api: &'static str, answer: Value },
    Probe,
    NotFound,
}

fn classify(method: &str, target: &str) -> Route {
    let (path, query) = match target.find('?') {
        Some(i) => (&target[..i], &target[i..]),
        None => (target, ""),
    };
    let model = |api, wire| Route::Model { api, wire, gemini: None, call: query.to_owned() };
    match (method, path) {
        ("POST", "/v1/messages") => model("anthropic.messages", Wire::Messages),
        ("POST", "/v1/responses" | "/responses") => model("openai.responses", Wire::Responses),
        ("POST", "/v1/chat/completions" | "/chat/completions") => {
            model("openai.chat", Wire::ChatCompletions)
        }
        ("POST", "/v1/messages/count_tokens") => {
            Route::CountTokens { api: "anthropic.count_tokens", answer: json!({"input_tokens": 0}) }
        }
        ("POST", p) if p.starts_with("/v1beta/models/") => {
            match p["/v1beta/models/".len()..].split_once(':') {
                Some((m, method @ ("generateContent" | "streamGenerateContent"))) => Route::Model {
                    api: "gemini.generate",
                    wire: Wire::Gemini,
                    gemini: Some((m.to_owned(), method == "streamGenerateContent")),
                    call: format!("{method}{query}"),
                },
                Some((_, "countTokens")) => Route::CountTokens {
                    api: "gemini.count_tokens",
                    answer: json!({"totalTokens": 0}),
                },
                _ => Route::NotFound,
            }
        }
        // Connectivity preflights some clients send.
        ("HEAD" | "GET", "/" | "/api/hello") => Route::Probe,
        _ => Route::NotFound,
    }
}

/// A backend that only tells the agent to stop: what a client gets once
/// the budget is exhausted, so that it ends its turn instead of retrying.
struct Stopped(String);

impl Backend for Stopped {
    fn turn(&self, _: &Conversation) -> Turn {
        Turn::Final { thinking: None, text: format!("[perimeter] {}; stopping.", self.0) }
    }
}

/// Answers a model call of `api` from a backend.
fn answer(
    backend: &dyn Backend,
    api: &str,
    gemini: &Option<(String, bool)>,
    body: &[u8],
) -> (Response, Value) {
    match (api, gemini) {
        ("anthropic.messages", _) => anthropic::handle(backend, body),
        ("openai.responses", _) => openai::handle(backend, body),
        ("openai.chat", _) => chat::handle(backend, body),
        (_, Some((model, stream))) => gemini::handle(backend, model, *stream, body),
        _ => (Response::json(404, &json!({})), Value::Null),
    }
}

/// What is new in a request since the model's last turn: the trailing
/// messages or items after the last assistant one (tool results, the
/// user's words), which is what the model is being asked to answer.
fn asked(api: &str, request: &Value) -> Value {
    let (list, assistant): (&Value, fn(&Value) -> bool) = match api {
        "anthropic.messages" => (&request["messages"], |m| m["role"] == "assistant"),
        "openai.chat" => (&request["messages"], |m| m["role"] == "assistant"),
        "openai.responses" => (&request["input"], |i| {
            i["role"] == "assistant"
                || matches!(
                    i["type"].as_str(),
                    Some("function_call" | "custom_tool_call" | "reasoning")
                )
        }),
        _ => (&request["contents"], |c| c["role"] == "model"),
    };
    let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
    let start = items.iter().rposition(assistant).map_or(0, |i| i + 1);
    Value::Array(items[start..].to_vec())
}

fn conversation(api: &str, request: &Value) -> Conversation {
    match api {
        "anthropic.messages" => anthropic::conversation(request),
        "openai.responses" => openai::conversation(request),
        "openai.chat" => chat::conversation(request),
        _ => gemini::conversation(request),
    }
}

/// An upstream answer as the API's whole answer object, whether it came
/// as JSON or as a stream.
fn whole(wire: Wire, content_type: &str, body: &str) -> Value {
    if !content_type.starts_with("text/event-stream") {
        return serde_json::from_str(body).unwrap_or(Value::Null);
    }
    match wire {
        Wire::Messages => sse::anthropic_message(body),
        Wire::Responses => sse::openai_response(body),
        Wire::ChatCompletions => sse::chat_completion(body),
        Wire::Gemini => sse::gemini_response(body),
    }
}

/// The part of an answer the record keeps, as the scripted handlers
/// return it.
fn reply_of(wire: Wire, answer: &Value) -> Value {
    match wire {
        Wire::Messages => answer["content"].clone(),
        Wire::Responses => answer["output"].clone(),
        Wire::ChatCompletions => answer["choices"][0]["message"].clone(),
        Wire::Gemini => answer["candidates"][0]["content"]["parts"].clone(),
    }
}

/// An error answer in the API's own shape, so clients print it.
fn api_error(api: &str, status: u16, message: &str) -> Response {
    let body = if api.starts_with("anthropic") {
        json!({"type": "error", "error": {"type": "api_error", "message": message}})
    } else if api.starts_with("gemini") {
        json!({"error": {"code": status, "status": "UNAVAILABLE", "message": message}})
    } else {
        json!({"error": {"type": "server_error", "message": message, "code": null}})
    };
    Response::json(status, &body)
}

impl Service {
    pub fn new(answerer: Answerer, limits: Limits) -> Service {
        Service {
            answerer,
            budget: Budget::new(limits),
            log: Mutex::new(Vec::new()),
            failure: Mutex::new(None),
            retry: RetryPolicy::default(),
        }
    }

    /// The same service, its budget inside the run's.
    pub fn within(mut self, run: std::sync::Arc<crate::RunBudget>) -> Service {
        self.budget = self.budget.within(run);
        self
    }

    /// The same service with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Service {
        self.retry = retry;
        self
    }

    /// Answers one request and records it.
    pub fn handle(
        &self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Response {
        self.handle_streaming(method, target, headers, body, None).0
    }

    /// As [`Service::handle`]; with a `client` to write to, a relayed
    /// event stream is passed on piece by piece as the upstream sends it
    /// (the answer is still returned whole, for the record), and the second
    /// value says the answer was already written.
    pub fn handle_streaming(
        &self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: &[u8],
        mut client: Option<&mut dyn io::Write>,
    ) -> (Response, bool) {
        let mut streamed = false;
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let mut exchange = Exchange {
            api: "unknown",
            method: method.to_owned(),
            path: target.to_owned(),
            status: 0,
            request: Value::Null,
            conversation: None,
            asked: Value::Null,
            reply: Value::Null,
            usage: None,
            upstream: None,
            error: None,
            retries: Vec::new(),
            at: Instant::now(),
        };
        let response = match classify(method, target) {
            Route::Probe => {
                exchange.api = "probe";
                Response::json(200, &json!({}))
            }
            Route::NotFound => {
                let message = format!("no route for {method} {target}");
                Response::json(
                    404,
                    &json!({"type": "error", "error": {"type": "not_found_error", "message": message}}),
                )
            }
            Route::CountTokens { api, answer } => {
                exchange.api = api;
                Response::json(200, &answer)
            }
            Route::Model { api, wire, gemini, call } => {
                exchange.api = api;
                let conv = conversation(api, &request);
                let turn = !conv.tools.is_empty();
                exchange.conversation = Some(conv);
                exchange.asked = asked(api, &request);
                match self.budget.admit(turn) {
                    Err(e) => {
                        exchange.error = Some(format!("{}: {}", e.reason, e.detail));
                        let (response, reply) = answer(&Stopped(e.detail), api, &gemini, body);
                        exchange.reply = reply;
                        response
                    }
                    Ok(()) => {
                        let (response, sent) = self.model_call(
                            &mut exchange,
                            api,
                            wire,
                            gemini,
                            &call,
                            headers,
                            body,
                            client.as_mut().map(|w| &mut **w as &mut dyn io::Write),
                        );
                        streamed = sent;
                        response
                    }
                }
            }
        };
        exchange.status = response.status;
        exchange.request = request;
        // Recorded before the client has its whole answer: a streamed one
        // is ended only now.
        self.log.lock().unwrap_or_else(|e| e.into_inner()).push(exchange);
        if streamed && let Some(w) = client {
            let _ = http1::finish_chunks(w);
        }
        (response, streamed)
    }

    #[allow(clippy::too_many_arguments)]
    fn model_call(
        &self,
        exchange: &mut Exchange,
        api: &'static str,
        wire: Wire,
        gemini: Option<(String, bool)>,
        call: &str,
        headers: &[(String, String)],
        body: &[u8],
        client: Option<&mut dyn io::Write>,
    ) -> (Response, bool) {
        let upstream = match &self.answerer {
            Answerer::Scripted(backend) => {
                let (response, reply) = answer(backend.as_ref(), api, &gemini, body);
                let usage = Usage::estimate(body.len(), reply.to_string().len());
                self.budget.charge(usage);
                exchange.usage = Some(usage);
                exchange.reply = reply;
                return (response, false);
            }
            Answerer::Relay(upstream) => upstream,
        };
        exchange.upstream = Some(upstream.spec().to_string());
        // A successful event stream goes on to the client as it comes; any
        // other answer is written whole once it is in.
        let client = std::cell::RefCell::new(client);
        let streaming = std::cell::Cell::new(false);
        let mut start = |status: u16, content_type: &str| {
            if status == 200
                && content_type.starts_with("text/event-stream")
                && let Some(w) = client.borrow_mut().as_mut()
            {
                streaming.set(http1::write_chunked_head(w, status, content_type).is_ok());
            }
        };
        let mut piece = |bytes: &[u8]| {
            if streaming.get()
                && let Some(w) = client.borrow_mut().as_mut()
                && http1::write_chunk(w, bytes).is_err()
            {
                // The client is gone; the answer is still read for the record.
                streaming.set(false);
            }
        };
        // Transient failures are tried again, within bounds, each one
        // recorded; nothing is retried once part of an answer went out.
        let began = Instant::now();
        let mut waited = Duration::ZERO;
        let result = loop {
            // The run's flow control: fewer calls in flight after a 429.
            let slot = self.budget.run().map(|r| r.slot());
            let result = upstream.post_streaming(wire, call, headers, body, &mut start, &mut piece);
            drop(slot);
            if let (Some(run), Ok(reply)) = (self.budget.run(), &result) {
                match reply.status {
                    429 => run.throttled(),
                    s if s < 400 => run.eased(),
                    _ => {}
                }
            }
            let transient = match &result {
                Ok(reply) => matches!(reply.status, 429 | 500 | 502 | 503 | 504 | 529)
                    .then(|| format!("{}", reply.status)),
                Err(RelayError::Unreachable { message, .. }) => Some(message.clone()),
                Err(_) => None,
            };
            let attempt = exchange.retries.len() as u32;
            let wait = transient.as_ref().and_then(|_| {
                let asked = result.as_ref().ok().and_then(|r| r.retry_after.as_deref());
                self.retry.wait(attempt, asked, waited)
            });
            match (transient, wait) {
                (Some(what), Some(wait)) if !streaming.get() => {
                    exchange.retries.push(format!(
                        "{what} after {:.1} s, waited {:.1} s",
                        began.elapsed().as_secs_f64(),
                        wait.as_secs_f64()
                    ));
                    std::thread::sleep(wait);
                    waited += wait;
                }
                _ => break result,
            }
        };
        // The caller ends the stream once the exchange is recorded.
        let sent = streaming.get();
        let response = match result {
            Ok(reply) => {
                let text = String::from_utf8_lossy(&reply.body).into_owned();
                let whole = whole(wire, &reply.content_type, &text);
                let usage = Usage::reported(&whole)
                    .unwrap_or_else(|| Usage::estimate(body.len(), reply.body.len()));
                self.budget.charge(usage);
                exchange.usage = Some(usage);
                exchange.reply = reply_of(wire, &whole);
                if reply.status >= 400 {
                    let reason = if matches!(reply.status, 401 | 403) {
                        EndReason::ModelAuth
                    } else {
                        EndReason::ModelError
                    };
                    let detail = format!(
                        "{} answered {}: {}",
                        upstream.spec(),
                        reply.status,
                        crate::excerpt(&text, 500)
                    );
                    exchange.error = Some(format!("{reason}: {detail}"));
                    self.fail(Failure { reason, detail });
                }
                Response { status: reply.status, content_type: reply.content_type, body: text }
            }
            Err(e) => {
                let reason = match e {
                    RelayError::NoKey { .. } => EndReason::ModelAuth,
                    RelayError::Unreachable { .. } => EndReason::ModelUnreachable,
                    RelayError::WrongWire { .. } => EndReason::ModelError,
                };
                let detail = e.to_string();
                exchange.error = Some(format!("{reason}: {detail}"));
                self.fail(Failure { reason, detail: detail.clone() });
                api_error(api, 502, &format!("perimeter gateway: {detail}"))
            }
        };
        (response, sent)
    }

    fn fail(&self, failure: Failure) {
        self.failure.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(failure);
    }

    /// The exchanges since the last call, in order.
    pub fn drain(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The first relay failure, if any.
    pub fn failure(&self) -> Option<Failure> {
        self.failure.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The service over HTTP on a listener (normally one the sandbox handed
/// over). Dropping it stops it.
pub struct Gateway {
    service: Arc<Service>,
    _server: http1::Server,
}

impl Gateway {
    pub fn start(listener: TcpListener, service: Arc<Service>) -> io::Result<Gateway> {
        let shared = service.clone();
        let server = http1::Server::start(listener, move |conn| {
            let _ = serve(conn, &shared);
        })?;
        Ok(Gateway { service, _server: server })
    }

    pub fn service(&self) -> &Service {
        &self.service
    }
}

fn serve(conn: TcpStream, service: &Service) -> io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut writer = conn;
    while let Some(head) = http1::read_head(&mut reader)? {
        let (body, _) = http1::read_body(&mut reader, &head, BODY_LIMIT)?;
        let (response, sent) = service.handle_streaming(
            &head.method,
            &head.target,
            &head.headers,
            &body,
            Some(&mut writer),
        );
        if sent {
            continue;
        }
        let body = if head.method == "HEAD" { &b""[..] } else { response.body.as_bytes() };
        http1::write_response(&mut writer, response.status, &response.content_type, body)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
