//! The Anthropic Messages API (`POST /v1/messages`), as Claude Code and
//! other clients use it: a JSON Message, or with `"stream": true` server-sent
//! events with `event:` lines (clients need them).
//!
//! Calls become the client's own tools ([`crate::tools`]): for Claude Code,
//! shell calls its `Bash` tool, writes its `Write` tool. A request that
//! offers no shell tool (a title, a summary, a classifier) is a side call:
//! it gets a short text answer and does not advance the script.

use serde_json::{Value, json};

use crate::{Backend, Conversation, Response, Turn};

/// The signature sent with scripted thinking blocks; clients echo it back.
pub const THINKING_SIGNATURE: &str = "perimeter-scripted";

/// Handles one `POST /v1/messages` body.
pub fn messages(backend: &dyn Backend, body: &[u8]) -> Response {
    handle(backend, body).0
}

/// Handles one `POST /v1/messages` body; also returns the content blocks
/// answered, for the record.
pub fn handle(backend: &dyn Backend, body: &[u8]) -> (Response, Value) {
    let request = match crate::request_object(body) {
        Ok(v) => v,
        Err(message) => return (error(400, &message), Value::Null),
    };
    let conversation = conversation(&request);
    let model = request.get("model").and_then(Value::as_str).unwrap_or("scripted").to_owned();
    let n = conversation.tool_results;
    let (blocks, stop_reason) = if crate::tools::offers_shell(&conversation.tools) {
        blocks(backend.turn(&conversation), &conversation, n)
    } else {
        (vec![json!({"type": "text", "text": "OK."})], "end_turn")
    };
    let id = format!("msg_perimeter_{n}");
    let response = if request.get("stream").and_then(Value::as_bool) == Some(true) {
        Response::sse(sse(&id, &model, &blocks, stop_reason))
    } else {
        let message = json!({
            "id": id, "type": "message", "role": "assistant", "model": model, "content": blocks,
            "stop_reason": stop_reason, "stop_sequence": null,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        });
        Response::json(200, &message)
    };
    (response, Value::Array(blocks))
}

/// What the backend sees: tool results so far and the offered tools.
pub fn conversation(request: &Value) -> Conversation {
    let tool_results = request
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("content").and_then(Value::as_array))
        .flatten()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        .count();
    let messages =
        request.get("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let has = |m: &Value, role: &str, block: &str| {
        m["role"] == role
            && m["content"].as_array().into_iter().flatten().any(|b| b["type"] == block)
    };
    let finished_turns = crate::finished_turns(
        messages,
        |m| m["role"] == "assistant" && !has(m, "assistant", "tool_use"),
        |m| m["role"] == "user" && !has(m, "user", "tool_result"),
    );
    Conversation { tool_results, tools: crate::tool_names(request), finished_turns }
}

/// The content blocks of a turn and its stop reason.
fn blocks(turn: Turn, conversation: &Conversation, n: usize) -> (Vec<Value>, &'static str) {
    let mut out = Vec::new();
    let (thinking, text, call) = match turn {
        Turn::Call { thinking, text, call } => (thinking, text, Some(call)),
        Turn::Final { thinking, text } => (thinking, Some(text), None),
    };
    if let Some(t) = thinking {
        out.push(json!({"type": "thinking", "thinking": t, "signature": THINKING_SIGNATURE}));
    }
    if let Some(t) = text.filter(|t| !t.is_empty()) {
        out.push(json!({"type": "text", "text": t}));
    }
    let Some(call) = call else { return (out, "end_turn") };
    let Some((name, input)) = crate::tools::render(call, &conversation.tools) else {
        return (out, "end_turn");
    };
    out.push(json!({"type": "tool_use", "id": format!("toolu_perimeter_{n}"), "name": name, "input": input}));
    (out, "tool_use")
}

/// The message as server-sent events, one content block after another.
fn sse(id: &str, model: &str, blocks: &[Value], stop_reason: &str) -> String {
    let mut out = String::new();
    let mut event = |name: &str, data: Value| {
        out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    };
    event(
        "message_start",
        json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant",
            "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 0, "output_tokens": 0}}}),
    );
    event("ping", json!({"type": "ping"}));
    for (index, block) in blocks.iter().enumerate() {
        let (start, deltas) = match block["type"].as_str() {
            Some("thinking") => (
                json!({"type": "thinking", "thinking": "", "signature": ""}),
                vec![
                    json!({"type": "thinking_delta", "thinking": block["thinking"]}),
                    json!({"type": "signature_delta", "signature": block["signature"]}),
                ],
            ),
            Some("tool_use") => (
                json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}),
                vec![
                    json!({"type": "input_json_delta", "partial_json": block["input"].to_string()}),
                ],
            ),
            _ => (
                json!({"type": "text", "text": ""}),
                vec![json!({"type": "text_delta", "text": block["text"]})],
            ),
        };
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": start}),
        );
        for delta in deltas {
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": delta}),
            );
        }
        event("content_block_stop", json!({"type": "content_block_stop", "index": index}));
    }
    event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null},
            "usage": {"output_tokens": 0}}),
    );
    event("message_stop", json!({"type": "message_stop"}));
    out
}

fn error(status: u16, message: &str) -> Response {
    Response::json(
        status,
        &json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}}),
    )
}

#[cfg(test)]
mod tests;
