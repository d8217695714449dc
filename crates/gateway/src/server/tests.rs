use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;

use serde_json::Value;

use super::*;
use crate::fake::FakeUpstream;
use crate::relay::ModelSpec;
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

fn scripted(limits: Limits) -> Arc<Service> {
    Arc::new(Service::new(Answerer::Scripted(Arc::new(Echo)), limits))
}

fn start(service: Arc<Service>) -> (SocketAddr, Gateway) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    (addr, Gateway::start(listener, service).unwrap())
}

/// Sends a POST and returns the status code and the body.
fn post(addr: SocketAddr, path: &str, headers: &str, body: &str) -> (String, String) {
    let mut c = TcpStream::connect(addr).unwrap();
    write!(c, "POST {path} HTTP/1.1\r\nhost: x\r\n{headers}content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut r = BufReader::new(c);
    // A status line parses like a request line: `HTTP/1.1` then the code.
    let head = http1::read_head(&mut r).unwrap().unwrap();
    let (reply, _) = http1::read_body(&mut r, &head, 1 << 20).unwrap();
    (head.target, String::from_utf8(reply).unwrap())
}

const MESSAGES: &str = r#"{"model":"m","stream":true,"tools":[{"name":"Bash"}],"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"x"}]}]}"#;

#[test]
fn serves_and_records_every_api() {
    let (addr, g) = start(scripted(Limits::default()));
    let (status, reply) = post(addr, "/v1/messages?beta=true", "", MESSAGES);
    assert_eq!(status, "200");
    assert!(reply.starts_with("event: message_start\n"), "{reply}");
    assert!(reply.contains(r#"echo 1"#), "{reply}");
    let (status, _) = post(addr, "/v1/nothing", "", "{}");
    assert_eq!(status, "404");
    let log = g.service().drain();
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[0].api, log[0].path.as_str(), log[0].request["model"].as_str()),
        ("anthropic.messages", "/v1/messages?beta=true", Some("m"))
    );
    assert_eq!(log[0].reply[0]["input"]["command"], "echo 1");
    assert_eq!(log[0].asked[0]["content"][0]["content"], "x", "the tool result sent back");
    assert!(log[0].usage.unwrap().estimated, "a scripted model's tokens are estimated");
    assert_eq!((log[1].api, log[1].status), ("unknown", 404));
    let body = r#"{"model":"gpt","stream":true,"tools":[{"type":"function","name":"exec_command"}],"input":[{"type":"function_call_output","call_id":"c","output":"ok"}]}"#;
    let (status, reply) = post(addr, "/v1/responses", "", body);
    assert_eq!(status, "200");
    assert!(reply.contains("event: response.completed"), "{reply}");
    let body = r#"{"model":"q","tools":[{"type":"function","function":{"name":"bash"}}],"messages":[{"role":"user","content":"go"},{"role":"tool","tool_call_id":"a","content":"ok"},{"role":"tool","tool_call_id":"b","content":"ok"}]}"#;
    let (status, reply) = post(addr, "/v1/chat/completions", "", body);
    assert_eq!(status, "200");
    let done: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(
        done["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
        r#"{"command":"echo 2"}"#
    );
    let log = g.service().drain();
    let seen: Vec<_> =
        log.iter().map(|x| (x.api, x.conversation.as_ref().map(|c| c.tool_results))).collect();
    assert_eq!(seen, [("openai.responses", Some(1)), ("openai.chat", Some(2))]);
    assert_eq!(
        log[1].asked.as_array().unwrap().len(),
        3,
        "everything after the last assistant turn"
    );
}

#[test]
fn answers_probes() {
    let (addr, _g) = start(scripted(Limits::default()));
    let mut c = TcpStream::connect(addr).unwrap();
    c.write_all(b"HEAD /api/hello HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    let mut line = String::new();
    BufReader::new(&mut c).read_line(&mut line).unwrap();
    assert_eq!(line, "HTTP/1.1 200 OK\r\n");
}

#[test]
fn past_the_turn_limit_the_agent_is_told_to_stop() {
    let service = scripted(Limits { turns: Some(1), ..Limits::default() });
    let body = MESSAGES.replace(r#""stream":true"#, r#""stream":false"#);
    let first = service.handle("POST", "/v1/messages", &[], body.as_bytes());
    assert!(first.body.contains("tool_use"));
    let second = service.handle("POST", "/v1/messages", &[], body.as_bytes());
    let message: Value = serde_json::from_str(&second.body).unwrap();
    assert_eq!(message["stop_reason"], "end_turn", "a final answer, not an error to retry");
    assert!(message["content"][0]["text"].as_str().unwrap().contains("limit of 1 model turns"));
    assert_eq!(service.budget().exhausted().unwrap().reason, "turn_limit");
    let log = service.drain();
    assert!(log[1].error.as_deref().unwrap().starts_with("turn_limit: "));
}

fn relay(spec: &str, env: &[(&str, &str)], limits: Limits) -> Arc<Service> {
    let spec = ModelSpec::parse(spec).unwrap();
    let env: Vec<(String, String)> =
        env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let lookup = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    Arc::new(Service::new(Answerer::Relay(Upstream::new(&spec, &lookup).unwrap()), limits))
}

#[test]
fn relays_with_the_harness_key_and_the_specified_model() {
    let fake = FakeUpstream::start("sk-real", Arc::new(Echo)).unwrap();
    let service = relay(
        "anthropic:claude-test-1",
        &[("ANTHROPIC_API_KEY", "sk-real"), ("ANTHROPIC_BASE_URL", &fake.url)],
        Limits { tokens: Some(1000), ..Limits::default() },
    );
    let (addr, g) = start(service);
    // The client holds only a placeholder key.
    let (status, reply) = post(
        addr,
        "/v1/messages?beta=true",
        "x-api-key: perimeter-gateway\r\nanthropic-version: 2023-06-01\r\nanthropic-beta: x\r\n",
        MESSAGES,
    );
    assert_eq!(status, "200", "{reply}");
    assert!(reply.contains("echo 1"));
    let seen = fake.seen();
    assert_eq!(seen[0].target, "/v1/messages?beta=true");
    assert_eq!(seen[0].header("x-api-key"), Some("sk-real"));
    assert_eq!(seen[0].header("anthropic-beta"), Some("x"));
    assert_eq!(seen[0].body["model"], "claude-test-1", "the spec's model replaces the client's");
    let log = g.service().drain();
    assert_eq!(log[0].upstream.as_deref(), Some("anthropic:claude-test-1"));
    assert_eq!(log[0].reply[0]["input"]["command"], "echo 1", "assembled from the stream");
    // Non-streaming, the upstream's own usage is charged.
    let body = MESSAGES.replace(r#""stream":true"#, r#""stream":false"#);
    let (status, _) = post(addr, "/v1/messages", "", &body);
    assert_eq!(status, "200");
    let log = g.service().drain();
    assert_eq!(
        log[0].usage,
        Some(Usage { input_tokens: 1000, output_tokens: 50, estimated: false })
    );
    let (_, reply) = post(addr, "/v1/messages", "", &body);
    assert!(reply.contains("token"), "{reply}");
    assert_eq!(g.service().budget().exhausted().unwrap().reason, "token_limit");
    assert_eq!(fake.seen().len(), 2, "nothing relayed past the limit");
}

#[test]
fn relay_failures_are_recorded_with_a_reason() {
    let fake = FakeUpstream::start("sk-real", Arc::new(Echo)).unwrap();
    let wrong = relay(
        "openai:gpt-test",
        &[("OPENAI_API_KEY", "sk-wrong"), ("OPENAI_BASE_URL", &format!("{}/v1", fake.url))],
        Limits::default(),
    );
    let body = r#"{"model":"q","tools":[{"type":"function","function":{"name":"bash"}}],"messages":[{"role":"user","content":"go"}]}"#;
    let r = wrong.handle("POST", "/v1/chat/completions", &[], body.as_bytes());
    assert_eq!(r.status, 401);
    assert_eq!(fake.seen()[0].target, "/v1/chat/completions");
    let failure = wrong.failure().unwrap();
    assert_eq!(failure.reason, "model_auth");
    assert!(failure.detail.starts_with("openai:gpt-test answered 401: "), "{}", failure.detail);

    let missing = relay("anthropic:m", &[("ANTHROPIC_BASE_URL", &fake.url)], Limits::default());
    let r = missing.handle("POST", "/v1/messages", &[], MESSAGES.as_bytes());
    assert_eq!(r.status, 502);
    assert!(r.body.contains("ANTHROPIC_API_KEY is not set"), "{}", r.body);
    assert_eq!(missing.failure().unwrap().reason, "model_auth");

    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let down =
        relay(&format!("openai-compatible:http://{closed}/v1#local"), &[], Limits::default());
    let r = down.handle("POST", "/v1/chat/completions", &[], body.as_bytes());
    assert_eq!(r.status, 502);
    let failure = down.failure().unwrap();
    assert_eq!(failure.reason, "model_unreachable");
    assert!(
        failure.detail.contains(&format!("http://{closed}/v1/chat/completions")),
        "{}",
        failure.detail
    );

    let mismatched = relay("anthropic:m", &[("ANTHROPIC_API_KEY", "k")], Limits::default());
    let r = mismatched.handle("POST", "/v1/responses", &[], b"{}");
    assert_eq!(r.status, 502);
    assert!(mismatched.failure().unwrap().detail.contains("speaks OpenAI Responses"));
}

/// A relayed event stream reaches the client while the upstream is still
/// writing it: the upstream sends its first event, then waits until the
/// client has seen it before it sends the rest.
#[test]
fn relayed_streams_pass_through_as_they_arrive() {
    use std::sync::mpsc;
    use std::time::Duration;
    let (seen_tx, seen_rx) = mpsc::channel::<()>();
    let seen_rx = std::sync::Mutex::new(seen_rx);
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", upstream.local_addr().unwrap());
    let _upstream = http1::Server::start(upstream, move |conn| {
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut w = conn;
        let head = http1::read_head(&mut reader).unwrap().unwrap();
        http1::read_body(&mut reader, &head, 1 << 20).unwrap();
        http1::write_chunked_head(&mut w, 200, "text/event-stream").unwrap();
        let start = r#"{"type":"message_start","message":{"id":"m","role":"assistant","content":[],"usage":{"input_tokens":7,"output_tokens":0}}}"#;
        http1::write_chunk(&mut w, format!("event: message_start\ndata: {start}\n\n").as_bytes()).unwrap();
        // Until the client has the first event, the rest does not exist.
        seen_rx.lock().unwrap().recv_timeout(Duration::from_secs(10)).expect("the first event reached the client");
        let rest = [
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"streamed"}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}"#,
        ];
        for data in rest {
            http1::write_chunk(&mut w, format!("data: {data}\n\n").as_bytes()).unwrap();
        }
        http1::finish_chunks(&mut w).unwrap();
    })
    .unwrap();
    let service = relay(
        "anthropic:m",
        &[("ANTHROPIC_API_KEY", "k"), ("ANTHROPIC_BASE_URL", &url)],
        Limits::default(),
    );
    let (addr, g) = start(service);
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        c,
        "POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n{MESSAGES}",
        MESSAGES.len()
    )
    .unwrap();
    let mut r = BufReader::new(c);
    let head = http1::read_head(&mut r).unwrap().unwrap();
    assert_eq!((head.target.as_str(), head.header("transfer-encoding")), ("200", Some("chunked")));
    let mut first = true;
    let (body, _) = http1::stream_body(&mut r, &head, 1 << 20, true, &mut |piece| {
        if first {
            assert!(String::from_utf8_lossy(piece).contains("message_start"));
            seen_tx.send(()).unwrap();
            first = false;
        }
        Ok(())
    })
    .unwrap();
    assert!(String::from_utf8(body).unwrap().contains("streamed"));
    // The record holds the whole answer, assembled, and the usage reported.
    let x = g.service().drain().remove(0);
    assert_eq!(x.reply[0]["text"], "streamed");
    assert_eq!(x.usage.map(|u| (u.input_tokens, u.output_tokens)), Some((7, 3)));
}

#[test]
fn retries_are_bounded_in_attempts_and_wait_and_honour_retry_after() {
    use std::time::Duration;
    let p = crate::RetryPolicy::default();
    for attempt in 0..4 {
        let w = p.wait(attempt, None, Duration::ZERO).unwrap();
        assert!(w <= Duration::from_secs(1 << attempt), "attempt {attempt}: {w:?}");
    }
    assert_eq!(p.wait(4, None, Duration::ZERO), None, "four retries at most");
    assert_eq!(p.wait(0, Some("7"), Duration::ZERO), Some(Duration::from_secs(7)));
    assert_eq!(p.wait(0, Some("600"), Duration::ZERO), Some(Duration::from_secs(30)), "capped");
    assert_eq!(p.wait(1, Some("20"), Duration::from_secs(80)), None, "past the total");
    assert_eq!(crate::RetryPolicy::NONE.wait(0, Some("0"), Duration::ZERO), None);
}
