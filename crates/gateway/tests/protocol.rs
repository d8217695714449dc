//! The gateway against request bodies the real clients sent (recorded by
//! `record_client_requests` in the CLI's tests, from the pinned clients):
//! each API shape, streaming and not, read back as a client would.

use std::sync::Arc;

use gateway::{Answerer, Exchange, Limits, Scripted, Service, sse};
use serde_json::{Value, json};

/// A recorded request: the target it was sent to and its body.
fn fixture(name: &str) -> (String, Value) {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap();
    (v["target"].as_str().unwrap().to_owned(), v["body"].clone())
}

/// The reference policy the fixtures were recorded against.
fn policy() -> scenario::Policy {
    let suite = scenario::Suite::builtin().unwrap();
    let manifest = suite.get("release-gate").unwrap().instantiate(0).unwrap().manifest;
    manifest.policies["misaligned"].clone()
}

fn service() -> Service {
    Service::new(
        Answerer::Scripted(Arc::new(Scripted::new(policy(), "/home/agent"))),
        Limits::default(),
    )
}

/// Sends a recorded body, with `stream` set as asked where the API has the
/// flag; returns the whole answer as the client would assemble it, and the
/// exchange recorded.
fn send(name: &str, stream: Option<bool>) -> (Value, Exchange) {
    let (target, mut body) = fixture(name);
    if let Some(s) = stream {
        body["stream"] = json!(s);
    }
    let service = service();
    let r = service.handle("POST", &target, &[], body.to_string().as_bytes());
    assert_eq!(r.status, 200, "{name}: {}", r.body);
    let streamed = r.content_type == "text/event-stream";
    let whole = match (name.split('-').next().unwrap(), streamed) {
        (_, false) => serde_json::from_str(&r.body).unwrap(),
        ("claude", true) => sse::anthropic_message(&r.body),
        ("codex", true) => sse::openai_response(&r.body),
        ("gemini", true) => sse::gemini_response(&r.body),
        (_, true) => sse::chat_completion(&r.body),
    };
    let mut log = service.drain();
    assert_eq!(log.len(), 1);
    (whole, log.remove(0))
}

/// The shell command of step `n` of the policy.
fn step(n: usize) -> String {
    policy().steps[n].shell.clone().expect("release-gate's steps are shell commands")
}

#[test]
fn claude_code_messages() {
    for stream in [true, false] {
        let (first, x) = send("claude-code-anthropic-first", Some(stream));
        let c = x.conversation.unwrap();
        assert_eq!((x.api, c.tool_results), ("anthropic.messages", 0));
        assert!(c.tools.iter().any(|t| t == "Bash") && c.tools.iter().any(|t| t == "Write"));
        let call = first["content"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            (call["type"].as_str(), call["name"].as_str()),
            (Some("tool_use"), Some("Bash"))
        );
        assert_eq!(call["input"]["command"], step(0));
        assert_eq!(first["stop_reason"], "tool_use");
        let (later, x) = send("claude-code-anthropic-later", Some(stream));
        assert_eq!(x.conversation.unwrap().tool_results, 1);
        assert_eq!(
            later["content"].as_array().unwrap().last().unwrap()["input"]["command"],
            step(1)
        );
        assert!(
            x.asked.to_string().contains("tool_result"),
            "the tool result sent back is recorded"
        );
    }
}

#[test]
fn codex_responses() {
    for stream in [true, false] {
        let (first, x) = send("codex-openai-first", Some(stream));
        assert_eq!((x.api, x.conversation.unwrap().tool_results), ("openai.responses", 0));
        let call = first["output"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            (call["type"].as_str(), call["name"].as_str()),
            (Some("function_call"), Some("exec_command"))
        );
        let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args["cmd"], step(0));
        let (later, x) = send("codex-openai-later", Some(stream));
        assert_eq!(x.conversation.unwrap().tool_results, 1);
        let call = later["output"].as_array().unwrap().last().unwrap().clone();
        let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args["cmd"], step(1));
        assert!(x.asked.to_string().contains("function_call_output"));
    }
}

#[test]
fn gemini_cli_generate_content() {
    // Streaming or not is in the path for Gemini.
    let (first, x) = send("gemini-cli-gemini-first", None);
    assert_eq!((x.api, x.conversation.unwrap().tool_results), ("gemini.generate", 0));
    let parts = first["candidates"][0]["content"]["parts"].as_array().unwrap().clone();
    let call = &parts.last().unwrap()["functionCall"];
    assert_eq!(
        (call["name"].as_str(), call["args"]["command"].as_str()),
        (Some("run_shell_command"), Some(step(0).as_str()))
    );
    let (later, x) = send("gemini-cli-gemini-later", None);
    assert_eq!(x.conversation.unwrap().tool_results, 1);
    let parts = later["candidates"][0]["content"]["parts"].as_array().unwrap().clone();
    assert_eq!(parts.last().unwrap()["functionCall"]["args"]["command"], step(1));
}

#[test]
fn builtin_loop_chat_completions() {
    for stream in [false, true] {
        let (first, x) = send("api-openai-compatible-first", Some(stream));
        assert_eq!((x.api, x.conversation.unwrap().tool_results), ("openai.chat", 0));
        let call = &first["choices"][0]["message"]["tool_calls"][0]["function"];
        assert_eq!(call["name"], "bash");
        let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args["command"], step(0));
        assert_eq!(first["choices"][0]["finish_reason"], "tool_calls");
        let (later, x) = send("api-openai-compatible-later", Some(stream));
        assert_eq!(x.conversation.unwrap().tool_results, 1);
        let call = &later["choices"][0]["message"]["tool_calls"][0]["function"];
        let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args["command"], step(1));
    }
}
