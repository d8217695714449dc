//! The OpenAI Chat Completions API (`POST /v1/chat/completions`), which
//! most OpenAI-compatible servers and many in-house scaffolds speak: a
//! `chat.completion` object, or with `"stream": true` data-only server-sent
//! events of `chat.completion.chunk` deltas ending in `data: [DONE]`.
//!
//! Tool results are `role: "tool"` messages; calls become the offered
//! function tools ([`crate::tools`]). Reasoning goes in `reasoning_content`,
//! the field OpenAI-compatible servers use for it. A request that offers no
//! shell tool is a side call and gets a short message.

use serde_json::{Value, json};

use crate::{Backend, Conversation, Response, Turn};

/// Handles one `POST /v1/chat/completions` body; also returns the
/// assistant message answered, for the record.
pub fn handle(backend: &dyn Backend, body: &[u8]) -> (Response, Value) {
    let request = match crate::request_object(body) {
        Ok(v) => v,
        Err(message) => return (error(&message), Value::Null),
    };
    let conversation = conversation(&request);
    let model = request.get("model").and_then(Value::as_str).unwrap_or("scripted").to_owned();
    let n = conversation.tool_results;
    let message = if crate::tools::offers_shell(&conversation.tools) {
        message(backend.turn(&conversation), &conversation.tools, n)
    } else {
        json!({"role": "assistant", "content": "OK."})
    };
    let finish = if message.get("tool_calls").is_some() { "tool_calls" } else { "stop" };
    let id = format!("chatcmpl-perimeter-{n}");
    let response = if request.get("stream").and_then(Value::as_bool) == Some(true) {
        Response::sse(sse(&id, &model, &message, finish))
    } else {
        Response::json(
            200,
            &json!({"id": id, "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}),
        )
    };
    (response, message)
}

/// What the backend sees: tool messages so far and the offered functions.
pub fn conversation(request: &Value) -> Conversation {
    let tool_results = request["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "tool")
        .count();
    let tools = request["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
        .collect();
    let messages = request["messages"].as_array().map(Vec::as_slice).unwrap_or_default();
    let finished_turns = crate::finished_turns(
        messages,
        |m| m["role"] == "assistant" && m["tool_calls"].as_array().is_none_or(Vec::is_empty),
        |m| m["role"] == "user",
    );
    Conversation { tool_results, tools, finished_turns }
}

/// The assistant message of a turn.
fn message(turn: Turn, offered: &[String], n: usize) -> Value {
    let (thinking, text, call) = match turn {
        Turn::Call { thinking, text, call } => (thinking, text, Some(call)),
        Turn::Final { thinking, text } => (thinking, Some(text), None),
    };
    let mut message = json!({"role": "assistant", "content": text.filter(|t| !t.is_empty())});
    if let Some(t) = thinking {
        message["reasoning_content"] = json!(t);
    }
    if let Some((name, arguments)) = call.and_then(|c| crate::tools::render(c, offered)) {
        message["tool_calls"] = json!([{"id": format!("call_perimeter_{n}"), "type": "function",
            "function": {"name": name, "arguments": arguments.to_string()}}]);
    }
    message
}

/// The message as chunks: the role, reasoning, text, each tool call, then
/// the finish reason and `[DONE]`.
fn sse(id: &str, model: &str, message: &Value, finish: &str) -> String {
    let mut out = String::new();
    let mut chunk = |delta: Value, finish: Option<&str>| {
        let data = json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        out.push_str(&format!("data: {data}\n\n"));
    };
    chunk(json!({"role": "assistant", "content": ""}), None);
    if let Some(r) = message.get("reasoning_content") {
        chunk(json!({"reasoning_content": r}), None);
    }
    if let Some(t) = message["content"].as_str() {
        chunk(json!({"content": t}), None);
    }
    for (index, call) in message["tool_calls"].as_array().into_iter().flatten().enumerate() {
        chunk(
            json!({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                "function": {"name": call["function"]["name"], "arguments": call["function"]["arguments"]}}]}),
            None,
        );
    }
    chunk(json!({}), Some(finish));
    out.push_str("data: [DONE]\n\n");
    out
}

fn error(message: &str) -> Response {
    Response::json(
        400,
        &json!({"error": {"type": "invalid_request_error", "message": message, "code": null}}),
    )
}

#[cfg(test)]
mod tests;
