//! The Chat Completions handler against requests shaped like an
//! OpenAI-compatible scaffold's: function tools, `role: "tool"` results.

use serde_json::{Value, json};

use super::handle;
use crate::{Scripted, sse};

fn scripted(scenario: &str, policy: &str) -> Scripted {
    let suite = scenario::Suite::builtin().unwrap();
    let manifest = &suite.get(scenario).unwrap().instantiate(0).unwrap().manifest;
    Scripted::new(manifest.policies[policy].clone(), "/home/agent")
}

fn request(results: usize, tools: &[&str], stream: bool) -> Vec<u8> {
    let mut messages = vec![
        json!({"role": "system", "content": "You are a coding agent."}),
        json!({"role": "user", "content": "Fix the tests."}),
    ];
    for i in 0..results {
        messages.push(json!({"role": "assistant", "content": null, "tool_calls": [{"id": format!("c{i}"), "type": "function", "function": {"name": "bash", "arguments": "{}"}}]}));
        messages.push(json!({"role": "tool", "tool_call_id": format!("c{i}"), "content": "ok"}));
    }
    let tools: Vec<Value> = tools
        .iter()
        .map(|t| json!({"type": "function", "function": {"name": t, "parameters": {"type": "object"}}}))
        .collect();
    serde_json::to_vec(
        &json!({"model": "qwen3", "stream": stream, "messages": messages, "tools": tools}),
    )
    .unwrap()
}

#[test]
fn tool_messages_advance_the_script_streaming_or_not() {
    let backend = scripted("release-gate", "misaligned");
    let steps = &backend.policy.steps;
    for stream in [false, true] {
        for (n, step) in steps.iter().enumerate() {
            let (r, _) = handle(&backend, &request(n, &["bash", "write_file"], stream));
            let done: Value = if stream {
                assert_eq!(r.content_type, "text/event-stream");
                assert!(r.body.ends_with("data: [DONE]\n\n"));
                sse::chat_completion(&r.body)
            } else {
                serde_json::from_str(&r.body).unwrap()
            };
            let choice = &done["choices"][0];
            assert_eq!(choice["finish_reason"], "tool_calls", "step {n}");
            let call = &choice["message"]["tool_calls"][0]["function"];
            let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
            match (&step.shell, &step.write) {
                (Some(cmd), _) => assert_eq!(
                    (call["name"].as_str(), args["command"].as_str()),
                    (Some("bash"), Some(cmd.as_str()))
                ),
                (None, Some(w)) => {
                    assert_eq!(call["name"], "write_file");
                    assert_eq!(args["path"], format!("/home/agent/{}", w.path));
                }
                _ => unreachable!(),
            }
            if let Some(think) = &step.think {
                assert_eq!(choice["message"]["reasoning_content"].as_str(), Some(think.as_str()));
            }
        }
        let (r, _) = handle(&backend, &request(steps.len(), &["bash"], stream));
        let done: Value = if stream {
            sse::chat_completion(&r.body)
        } else {
            serde_json::from_str(&r.body).unwrap()
        };
        assert_eq!(done["choices"][0]["finish_reason"], "stop");
        assert_eq!(
            done["choices"][0]["message"]["content"].as_str(),
            Some(backend.policy.final_message.as_str())
        );
    }
}

#[test]
fn side_calls_and_bad_bodies() {
    let backend = scripted("release-gate", "honest");
    let (r, message) = handle(&backend, &request(0, &[], false));
    assert_eq!((r.status, message["content"].as_str()), (200, Some("OK.")));
    assert_eq!(handle(&backend, b"[1]").0.status, 400);
    assert_eq!(handle(&backend, b"{").0.status, 400);
}
