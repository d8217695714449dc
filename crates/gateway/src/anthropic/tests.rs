//! The Messages handler against requests shaped like Claude Code's (see
//! AGENT-CLIENTS.md: tools offered, tool results returned as user messages,
//! `stream: true`).

use serde_json::{Value, json};

use super::{THINKING_SIGNATURE, messages};
use crate::Scripted;

fn scripted(scenario: &str, policy: &str) -> Scripted {
    let suite = scenario::Suite::builtin().unwrap();
    let manifest = &suite.get(scenario).unwrap().instantiate(0).unwrap().manifest;
    Scripted::new(manifest.policies[policy].clone(), "/home/agent")
}

/// A request after `results` tool round trips, offering `tools`.
fn request(results: usize, tools: &[&str], stream: bool) -> Vec<u8> {
    let mut msgs =
        vec![json!({"role": "user", "content": [{"type": "text", "text": "Fix the tests."}]})];
    for i in 0..results {
        msgs.push(json!({"role": "assistant", "content": [{"type": "tool_use", "id": format!("toolu_{i}"), "name": "Bash", "input": {"command": "ls"}}]}));
        msgs.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": format!("toolu_{i}"), "content": "ok", "is_error": false}]}));
    }
    let tools: Vec<Value> =
        tools.iter().map(|t| json!({"name": t, "input_schema": {"type": "object"}})).collect();
    let body = json!({"model": "claude-opus-5-5", "max_tokens": 128000, "system": [{"type": "text", "text": "You are Claude Code."}],
        "messages": msgs, "tools": tools, "thinking": {"type": "adaptive"}, "stream": stream});
    serde_json::to_vec(&body).unwrap()
}

/// The content blocks a client would assemble from the event stream.
fn assemble(sse: &str) -> (Vec<Value>, String) {
    let mut blocks: Vec<Value> = Vec::new();
    let mut partial: Vec<String> = Vec::new();
    let mut stop = String::new();
    for chunk in sse.split("\n\n").filter(|c| !c.is_empty()) {
        let (event, data) = chunk.split_once('\n').unwrap();
        let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(
            event.strip_prefix("event: ").unwrap(),
            data["type"],
            "every event has its `event:` line"
        );
        match data["type"].as_str().unwrap() {
            "content_block_start" => {
                blocks.push(data["content_block"].clone());
                partial.push(String::new());
            }
            "content_block_delta" => {
                let (i, d) = (data["index"].as_u64().unwrap() as usize, &data["delta"]);
                match d["type"].as_str().unwrap() {
                    "text_delta" => {
                        blocks[i]["text"] = json!(format!(
                            "{}{}",
                            blocks[i]["text"].as_str().unwrap(),
                            d["text"].as_str().unwrap()
                        ))
                    }
                    "thinking_delta" => blocks[i]["thinking"] = d["thinking"].clone(),
                    "signature_delta" => blocks[i]["signature"] = d["signature"].clone(),
                    "input_json_delta" => partial[i].push_str(d["partial_json"].as_str().unwrap()),
                    other => panic!("unexpected delta {other}"),
                }
            }
            "content_block_stop" => {
                let i = data["index"].as_u64().unwrap() as usize;
                if blocks[i]["type"] == "tool_use" {
                    blocks[i]["input"] = serde_json::from_str(&partial[i]).unwrap();
                }
            }
            "message_delta" => stop = data["delta"]["stop_reason"].as_str().unwrap().to_owned(),
            _ => {}
        }
    }
    (blocks, stop)
}

#[test]
fn each_tool_result_advances_the_script() {
    let backend = scripted("release-gate", "misaligned");
    let policy = &backend.policy;
    for (n, step) in policy.steps.iter().enumerate() {
        let r = messages(&backend, &request(n, &["Agent", "Bash", "Edit", "Read", "Write"], true));
        assert_eq!((r.status, r.content_type.as_str()), (200, "text/event-stream"));
        let (blocks, stop) = assemble(&r.body);
        assert_eq!(stop, "tool_use");
        let call = blocks.last().unwrap();
        assert_eq!(
            (call["name"].as_str(), call["input"]["command"].as_str()),
            (Some("Bash"), step.shell.as_deref()),
            "step {n}"
        );
        assert_eq!(call["id"], format!("toolu_perimeter_{n}"));
        if let Some(think) = &step.think {
            assert_eq!(
                (blocks[0]["thinking"].as_str(), blocks[0]["signature"].as_str()),
                (Some(think.as_str()), Some(THINKING_SIGNATURE))
            );
        }
    }
    let r = messages(&backend, &request(policy.steps.len(), &["Bash", "Write"], true));
    let (blocks, stop) = assemble(&r.body);
    assert_eq!(
        (stop.as_str(), blocks[0]["text"].as_str()),
        ("end_turn", Some(policy.final_message.as_str()))
    );
}

#[test]
fn without_stream_the_answer_is_one_message() {
    let backend = scripted("release-gate", "honest");
    let r = messages(&backend, &request(0, &["Bash"], false));
    assert_eq!(r.content_type, "application/json");
    let m: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        (m["type"].as_str(), m["role"].as_str(), m["model"].as_str(), m["stop_reason"].as_str()),
        (Some("message"), Some("assistant"), Some("claude-opus-5-5"), Some("tool_use"))
    );
    assert_eq!(m["content"][0], json!({"type": "text", "text": "Let me run the tests first."}));
    assert_eq!(m["content"][1]["name"], "Bash");
}

#[test]
fn writes_use_the_write_tool_or_an_exact_heredoc() {
    let backend = scripted("answer-key", "honest");
    let want = backend.policy.steps[1].write.clone().unwrap();
    let r = messages(&backend, &request(1, &["Bash", "Write"], false));
    let m: Value = serde_json::from_str(&r.body).unwrap();
    let call = m["content"].as_array().unwrap().last().unwrap();
    assert_eq!(call["name"], "Write");
    assert_eq!(call["input"]["file_path"], format!("/home/agent/{}", want.path));
    assert_eq!(call["input"]["content"], want.content);

    // A client without a Write tool gets a shell command that writes the
    // same bytes.
    let r = messages(&backend, &request(1, &["Bash"], false));
    let m: Value = serde_json::from_str(&r.body).unwrap();
    let command = m["content"].as_array().unwrap().last().unwrap()["input"]["command"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = std::env::temp_dir().join(format!("perimeter-gateway-{}", std::process::id()));
    let command = command.replace("/home/agent", dir.to_str().unwrap());
    // A test runs the command the gateway rendered, as a shell would.
    #[allow(clippy::disallowed_methods)]
    let status = std::process::Command::new("bash").arg("-c").arg(&command).status().unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(dir.join(&want.path)).unwrap(), want.content);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn side_calls_do_not_advance_the_script() {
    let backend = scripted("release-gate", "misaligned");
    let r = messages(&backend, &request(0, &[], false));
    let m: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        (m["content"][0]["text"].as_str(), m["stop_reason"].as_str()),
        (Some("OK."), Some("end_turn"))
    );
}

#[test]
fn bad_bodies_get_an_api_error() {
    let backend = scripted("release-gate", "honest");
    for body in [&b"{not json"[..], b"[1, 2]", b""] {
        let r = messages(&backend, body);
        assert_eq!(r.status, 400);
        let e: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            (e["type"].as_str(), e["error"]["type"].as_str()),
            (Some("error"), Some("invalid_request_error"))
        );
    }
}
