//! Server-sent events, read back: what a client assembles from a stream.
//! The relay uses this to record what an upstream model returned, and the
//! tests to read the gateway's own streams as a client would.

use serde_json::{Value, json};

/// One event: its `event:` name, if any, and its `data:` lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event: Option<String>,
    pub data: String,
}

/// Splits a complete stream into events (blank-line separated; comments
/// and fields other than `event` and `data` are skipped).
pub fn parse(stream: &str) -> Vec<Event> {
    let mut out = Vec::new();
    for block in stream.replace("\r\n", "\n").split("\n\n") {
        let mut event = None;
        let mut data: Vec<&str> = Vec::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                event = Some(v.trim_start().to_owned());
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push(v.strip_prefix(' ').unwrap_or(v));
            }
        }
        if event.is_some() || !data.is_empty() {
            out.push(Event { event, data: data.join("\n") });
        }
    }
    out
}

/// The JSON payloads of a stream, skipping `[DONE]` and anything that is
/// not JSON.
pub fn payloads(stream: &str) -> impl Iterator<Item = Value> {
    parse(stream).into_iter().filter_map(|e| serde_json::from_str(&e.data).ok())
}

/// An Anthropic Messages stream as the message it carries: content blocks
/// assembled from their deltas, plus `stop_reason` and `usage`.
pub fn anthropic_message(stream: &str) -> Value {
    let mut message = json!({"content": []});
    let mut partial: Vec<String> = Vec::new();
    for data in payloads(stream) {
        match data["type"].as_str().unwrap_or_default() {
            "message_start" => {
                let content = message["content"].take();
                message = data["message"].clone();
                message["content"] = content;
            }
            "content_block_start" => {
                if let Some(blocks) = message["content"].as_array_mut() {
                    blocks.push(data["content_block"].clone());
                    partial.push(String::new());
                }
            }
            "content_block_delta" => {
                let i = data["index"].as_u64().unwrap_or(0) as usize;
                let delta = &data["delta"];
                let Some(block) = message["content"].get_mut(i) else { continue };
                let append = |block: &mut Value, key: &str, more: &Value| {
                    let joined = format!(
                        "{}{}",
                        block[key].as_str().unwrap_or_default(),
                        more.as_str().unwrap_or_default()
                    );
                    block[key] = json!(joined);
                };
                match delta["type"].as_str().unwrap_or_default() {
                    "text_delta" => append(block, "text", &delta["text"]),
                    "thinking_delta" => append(block, "thinking", &delta["thinking"]),
                    "signature_delta" => append(block, "signature", &delta["signature"]),
                    "input_json_delta" => {
                        if let Some(p) = partial.get_mut(i) {
                            p.push_str(delta["partial_json"].as_str().unwrap_or_default());
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                for (k, v) in data["delta"].as_object().into_iter().flatten() {
                    message[k] = v.clone();
                }
                if let Some(out) = data["usage"]["output_tokens"].as_u64() {
                    message["usage"]["output_tokens"] = json!(out);
                }
            }
            _ => {}
        }
    }
    for (i, p) in partial.iter().enumerate() {
        if !p.is_empty() {
            message["content"][i]["input"] = serde_json::from_str(p).unwrap_or(json!(p));
        }
    }
    message
}

/// An OpenAI Responses stream as its final response object (the payload of
/// `response.completed`, or of `response.failed` / `response.incomplete`).
pub fn openai_response(stream: &str) -> Value {
    payloads(stream)
        .filter(|d| {
            matches!(
                d["type"].as_str(),
                Some("response.completed" | "response.failed" | "response.incomplete")
            )
        })
        .last()
        .map(|d| d["response"].clone())
        .unwrap_or(Value::Null)
}

/// A Chat Completions stream as one `chat.completion`: the deltas of
/// choice 0 merged into its message (text and reasoning concatenated, tool
/// calls gathered by index with their arguments concatenated).
pub fn chat_completion(stream: &str) -> Value {
    let mut content = String::new();
    let mut reasoning = String::new();
    let mut calls: Vec<Value> = Vec::new();
    let mut finish = Value::Null;
    let mut usage = Value::Null;
    let mut model = Value::Null;
    for data in payloads(stream) {
        if !data["usage"].is_null() {
            usage = data["usage"].clone();
        }
        if model.is_null() {
            model = data["model"].clone();
        }
        let Some(choice) = data["choices"].get(0) else { continue };
        let delta = &choice["delta"];
        content.push_str(delta["content"].as_str().unwrap_or_default());
        reasoning.push_str(delta["reasoning_content"].as_str().unwrap_or_default());
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let i = call["index"].as_u64().unwrap_or(0) as usize;
            while calls.len() <= i {
                calls.push(json!({"id": null, "type": "function", "function": {"name": "", "arguments": ""}}));
            }
            let slot = &mut calls[i];
            if !call["id"].is_null() {
                slot["id"] = call["id"].clone();
            }
            for key in ["name", "arguments"] {
                let more = call["function"][key].as_str().unwrap_or_default();
                let joined =
                    format!("{}{more}", slot["function"][key].as_str().unwrap_or_default());
                slot["function"][key] = json!(joined);
            }
        }
        if !choice["finish_reason"].is_null() {
            finish = choice["finish_reason"].clone();
        }
    }
    let mut message =
        json!({"role": "assistant", "content": (!content.is_empty()).then_some(content)});
    if !reasoning.is_empty() {
        message["reasoning_content"] = json!(reasoning);
    }
    if !calls.is_empty() {
        message["tool_calls"] = json!(calls);
    }
    json!({"object": "chat.completion", "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage})
}

/// A Gemini stream as one response: the parts of every chunk's first
/// candidate, in order, and the last usage metadata.
pub fn gemini_response(stream: &str) -> Value {
    let mut parts: Vec<Value> = Vec::new();
    let mut usage = Value::Null;
    let mut finish = Value::Null;
    for data in payloads(stream) {
        let candidate = &data["candidates"][0];
        parts.extend(candidate["content"]["parts"].as_array().into_iter().flatten().cloned());
        if !candidate["finishReason"].is_null() {
            finish = candidate["finishReason"].clone();
        }
        if !data["usageMetadata"].is_null() {
            usage = data["usageMetadata"].clone();
        }
    }
    json!({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish}],
        "usageMetadata": usage})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_events_across_line_endings() {
        let events =
            parse("event: a\r\ndata: {\"x\":1}\r\n\r\n: comment\n\ndata: one\ndata: two\n\n");
        assert_eq!(
            events,
            vec![
                Event { event: Some("a".into()), data: "{\"x\":1}".into() },
                Event { event: None, data: "one\ntwo".into() },
            ]
        );
    }

    #[test]
    fn merges_chat_deltas() {
        let stream = concat!(
            "data: {\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":{\"name\":\"bash\",\"arguments\":\"{\\\"comm\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"and\\\":\\\"ls\\\"}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3}}\n\n",
            "data: [DONE]\n\n",
        );
        let done = chat_completion(stream);
        let message = &done["choices"][0]["message"];
        assert_eq!(message["content"], "Hello");
        assert_eq!(message["tool_calls"][0]["id"], "c1");
        assert_eq!(message["tool_calls"][0]["function"]["arguments"], "{\"command\":\"ls\"}");
        assert_eq!(done["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(done["usage"]["prompt_tokens"], 9);
    }
}
