//! The OpenAI Responses API (`POST /v1/responses`), as Codex uses it: a
//! response object, or with `"stream": true` server-sent events ending in
//! `response.completed`.
//!
//! Shell calls become the client's `exec_command` (`{cmd}`), or failing that
//! `shell_command` (`{command}`) or `shell` (`{command: [argv]}`); writes
//! become a shell command that writes the file exactly. A request that
//! offers none of these tools is a side call and gets a short message.

use serde_json::{Value, json};

use crate::{Backend, Conversation, Response, Turn};

/// Handles one `POST /v1/responses` body; also returns the output items,
/// for the record.
pub fn handle(backend: &dyn Backend, body: &[u8]) -> (Response, Value) {
    let request = match crate::request_object(body) {
        Ok(v) => v,
        Err(message) => return (error(&message), Value::Null),
    };
    let conversation = conversation(&request);
    let model = request.get("model").and_then(Value::as_str).unwrap_or("scripted").to_owned();
    let n = conversation.tool_results;
    let items = if crate::tools::offers_shell(&conversation.tools) {
        items(backend.turn(&conversation), &conversation.tools, n)
    } else {
        vec![message(n, "OK.")]
    };
    let id = format!("resp_perimeter_{n}");
    let done = json!({"id": id, "object": "response", "status": "completed", "model": model, "output": items,
        "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}});
    let response = if request.get("stream").and_then(Value::as_bool) == Some(true) {
        Response::sse(sse(&done))
    } else {
        Response::json(200, &done)
    };
    (response, Value::Array(items))
}

/// What the backend sees: tool outputs so far and the offered tools.
pub fn conversation(request: &Value) -> Conversation {
    let input =
        request.get("input").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let tool_results = input
        .iter()
        .filter(|i| {
            matches!(
                i.get("type").and_then(Value::as_str),
                Some("function_call_output" | "custom_tool_call_output")
            )
        })
        .count();
    let finished_turns = crate::finished_turns(
        input,
        |i| i["type"] == "message" && i["role"] == "assistant",
        |i| i["role"] == "user",
    );
    Conversation { tool_results, tools: crate::tool_names(request), finished_turns }
}

fn message(n: usize, text: &str) -> Value {
    json!({"type": "message", "id": format!("msg_perimeter_{n}"), "role": "assistant", "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

/// The output items of a turn.
fn items(turn: Turn, offered: &[String], n: usize) -> Vec<Value> {
    let (thinking, text, call) = match turn {
        Turn::Call { thinking, text, call } => (thinking, text, Some(call)),
        Turn::Final { thinking, text } => (thinking, Some(text), None),
    };
    let mut out = Vec::new();
    if let Some(t) = thinking {
        out.push(
            json!({"type": "reasoning", "id": format!("rs_perimeter_{n}"), "status": "completed",
            "summary": [{"type": "summary_text", "text": t}]}),
        );
    }
    if let Some(t) = text.filter(|t| !t.is_empty()) {
        out.push(message(n, &t));
    }
    if let Some((name, arguments)) = call.and_then(|c| crate::tools::render(c, offered)) {
        out.push(json!({"type": "function_call", "id": format!("fc_perimeter_{n}"), "call_id": format!("call_perimeter_{n}"),
            "name": name, "arguments": arguments.to_string(), "status": "completed"}));
    }
    out
}

/// The response as server-sent events: created, each item added and done,
/// completed.
fn sse(done: &Value) -> String {
    let mut out = String::new();
    let mut event = |data: Value| {
        let name = data["type"].as_str().unwrap_or_default().to_owned();
        out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    };
    let mut created = done.clone();
    created["status"] = json!("in_progress");
    created["output"] = json!([]);
    event(json!({"type": "response.created", "response": created}));
    for (i, item) in done["output"].as_array().into_iter().flatten().enumerate() {
        event(json!({"type": "response.output_item.added", "output_index": i, "item": item}));
        event(json!({"type": "response.output_item.done", "output_index": i, "item": item}));
    }
    event(json!({"type": "response.completed", "response": done}));
    out
}

fn error(message: &str) -> Response {
    Response::json(400, &json!({"error": {"type": "invalid_request_error", "message": message}}))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::handle;
    use crate::Scripted;

    fn scripted(scenario: &str, policy: &str) -> Scripted {
        let suite = scenario::Suite::builtin().unwrap();
        let manifest = &suite.get(scenario).unwrap().instantiate(0).unwrap().manifest;
        Scripted::new(manifest.policies[policy].clone(), "/home/agent")
    }

    /// A request shaped like Codex's after `results` tool outputs.
    fn request(results: usize, tools: &[&str], stream: bool) -> Vec<u8> {
        let mut input = vec![
            json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Fix the tests."}]}),
        ];
        for i in 0..results {
            input.push(json!({"type": "function_call", "call_id": format!("c{i}"), "name": "exec_command", "arguments": "{}"}));
            input.push(json!({"type": "function_call_output", "call_id": format!("c{i}"), "output": "Process exited with code 0\nOutput:\nok"}));
        }
        let tools: Vec<Value> =
            tools.iter().map(|t| json!({"type": "function", "name": t})).collect();
        serde_json::to_vec(&json!({"model": "gpt-5.5", "stream": stream, "input": input, "tools": tools, "tool_choice": "auto"})).unwrap()
    }

    /// The output items of `response.completed` in an event stream.
    fn completed(sse: &str) -> Vec<Value> {
        let last = sse.split("\n\n").filter(|c| !c.is_empty()).last().unwrap();
        assert!(last.starts_with("event: response.completed\n"), "{last}");
        let data: Value = serde_json::from_str(last.split_once("data: ").unwrap().1).unwrap();
        data["response"]["output"].as_array().unwrap().clone()
    }

    #[test]
    fn each_output_advances_the_script() {
        let backend = scripted("flaky-loader", "misaligned");
        let steps = &backend.policy.steps;
        for (n, step) in steps.iter().enumerate() {
            let (r, _) = handle(&backend, &request(n, &["exec_command", "apply_patch"], true));
            let items = completed(&r.body);
            let call = items.last().unwrap();
            assert_eq!(
                (call["type"].as_str(), call["name"].as_str()),
                (Some("function_call"), Some("exec_command"))
            );
            let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
            assert_eq!(args["cmd"].as_str(), step.shell.as_deref(), "step {n}");
            if let Some(think) = &step.think {
                assert_eq!(items[0]["summary"][0]["text"].as_str(), Some(think.as_str()));
            }
        }
        let (r, _) = handle(&backend, &request(steps.len(), &["exec_command"], false));
        let done: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            done["output"][0]["content"][0]["text"].as_str(),
            Some(backend.policy.final_message.as_str())
        );
    }

    #[test]
    fn falls_back_to_the_shell_tool_on_offer() {
        let backend = scripted("release-gate", "misaligned");
        let (r, _) = handle(&backend, &request(0, &["shell"], false));
        let done: Value = serde_json::from_str(&r.body).unwrap();
        let args: Value =
            serde_json::from_str(done["output"][0]["arguments"].as_str().unwrap()).unwrap();
        let first = backend.policy.steps[0].shell.clone().unwrap();
        assert_eq!(args["command"], json!(["bash", "-lc", first]));
        let (r, items) = handle(&backend, &request(0, &["web_search"], false));
        assert_eq!(r.status, 200);
        assert_eq!(items[0]["content"][0]["text"], "OK.", "a side call");
        assert_eq!(handle(&backend, b"nope").0.status, 400);
    }
}
