//! The Gemini API (`POST /v1beta/models/<model>:generateContent` and
//! `:streamGenerateContent?alt=sse`), as Gemini CLI uses it.
//!
//! Shell calls become `run_shell_command`, writes `write_file` (or the shell
//! when it is not offered). A request asking for JSON
//! (`generationConfig.responseMimeType: application/json`) is a side call,
//! such as Gemini CLI's model router: it gets an object built from the
//! requested schema. Any other request without a shell tool gets a short
//! text. Streaming is data-only SSE with one complete response event.

use serde_json::{Map, Value, json};

use crate::{Backend, Call, Conversation, Response, Turn};

/// Handles one request; `stream` for `streamGenerateContent`. Also returns
/// the parts answered, for the record.
pub fn handle(backend: &dyn Backend, model: &str, stream: bool, body: &[u8]) -> (Response, Value) {
    let request = match crate::request_object(body) {
        Ok(v) => v,
        Err(message) => return (error(&message), Value::Null),
    };
    let conversation = conversation(&request);
    let config = &request["generationConfig"];
    let parts = if config["responseMimeType"] == "application/json" {
        let schema = if config["responseJsonSchema"].is_object() {
            &config["responseJsonSchema"]
        } else {
            &config["responseSchema"]
        };
        vec![json!({"text": example(schema).to_string()})]
    } else if conversation.tools.iter().any(|t| t == "run_shell_command") {
        parts(backend.turn(&conversation), &conversation)
    } else {
        vec![json!({"text": "OK."})]
    };
    let done = json!({
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 0, "candidatesTokenCount": 0, "totalTokenCount": 0},
        "modelVersion": model,
    });
    let response = if stream {
        Response::sse(format!("data: {done}\n\n"))
    } else {
        Response::json(200, &done)
    };
    (response, Value::Array(parts))
}

/// What the backend sees: function responses so far and the declared
/// functions.
pub fn conversation(request: &Value) -> Conversation {
    let parts = request["contents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["parts"].as_array())
        .flatten();
    let tool_results = parts.filter(|p| p.get("functionResponse").is_some()).count();
    let tools = request["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["functionDeclarations"].as_array())
        .flatten()
        .filter_map(|d| d["name"].as_str().map(str::to_owned))
        .collect();
    let contents = request["contents"].as_array().map(Vec::as_slice).unwrap_or_default();
    let calls = |c: &Value, key: &str| {
        c["parts"].as_array().into_iter().flatten().any(|p| p.get(key).is_some())
    };
    let finished_turns = crate::finished_turns(
        contents,
        |c| c["role"] == "model" && !calls(c, "functionCall"),
        |c| c["role"] == "user" && !calls(c, "functionResponse"),
    );
    Conversation { tool_results, tools, finished_turns }
}

fn parts(turn: Turn, conversation: &Conversation) -> Vec<Value> {
    let (thinking, text, call) = match turn {
        Turn::Call { thinking, text, call } => (thinking, text, Some(call)),
        Turn::Final { thinking, text } => (thinking, Some(text), None),
    };
    let mut out = Vec::new();
    if let Some(t) = thinking {
        out.push(json!({"text": t, "thought": true}));
    }
    if let Some(t) = text.filter(|t| !t.is_empty()) {
        out.push(json!({"text": t}));
    }
    let offers_write = conversation.tools.iter().any(|t| t == "write_file");
    let call = match call {
        None => return out,
        Some(Call::Shell { command }) => {
            json!({"name": "run_shell_command", "args": {"command": command}})
        }
        Some(Call::Write { path, content }) if offers_write => {
            json!({"name": "write_file", "args": {"file_path": path, "content": content}})
        }
        Some(Call::Write { path, content }) => {
            json!({"name": "run_shell_command", "args": {"command": crate::heredoc(&path, &content)}})
        }
    };
    out.push(json!({"functionCall": call}));
    out
}

/// A value conforming to a JSON schema's shape: every declared property,
/// with a neutral value of its type.
fn example(schema: &Value) -> Value {
    match schema["type"].as_str().map(str::to_ascii_lowercase).as_deref() {
        Some("object") => {
            let props = schema["properties"].as_object().cloned().unwrap_or_default();
            Value::Object(props.iter().map(|(k, v)| (k.clone(), example(v))).collect::<Map<_, _>>())
        }
        Some("array") => json!([]),
        Some("integer" | "number") => json!(1),
        Some("boolean") => json!(false),
        Some("string") => schema["enum"].get(0).cloned().unwrap_or(json!("scripted")),
        _ => json!({}),
    }
}

fn error(message: &str) -> Response {
    Response::json(
        400,
        &json!({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": message}}),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::handle;
    use crate::Scripted;

    fn backend() -> Scripted {
        let suite = scenario::Suite::builtin().unwrap();
        let manifest = &suite.get("flaky-loader").unwrap().instantiate(0).unwrap().manifest;
        Scripted::new(manifest.policies["misaligned"].clone(), "/home/agent")
    }

    fn request(results: usize) -> Vec<u8> {
        let mut contents = vec![json!({"role": "user", "parts": [{"text": "Fix it."}]})];
        for _ in 0..results {
            contents.push(json!({"role": "model", "parts": [{"functionCall": {"name": "run_shell_command", "args": {}}}]}));
            contents.push(json!({"role": "user", "parts": [{"functionResponse": {"name": "run_shell_command", "response": {"output": "ok"}}}]}));
        }
        let tools = json!([{"functionDeclarations": [{"name": "run_shell_command"}, {"name": "write_file"}]}]);
        serde_json::to_vec(&json!({"contents": contents, "tools": tools})).unwrap()
    }

    #[test]
    fn function_responses_advance_the_script() {
        let b = backend();
        for (n, step) in b.policy.steps.iter().enumerate() {
            let (r, parts) = handle(&b, "gemini-3.8-flash", true, &request(n));
            assert!(r.body.starts_with("data: {") && r.body.ends_with("\n\n"), "data-only SSE");
            let call = &parts.as_array().unwrap().last().unwrap()["functionCall"];
            assert_eq!(
                (call["name"].as_str(), call["args"]["command"].as_str()),
                (Some("run_shell_command"), step.shell.as_deref())
            );
        }
        let (r, _) = handle(&b, "m", false, &request(b.policy.steps.len()));
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            v["candidates"][0]["content"]["parts"][0]["text"].as_str(),
            Some(b.policy.final_message.as_str())
        );
    }

    #[test]
    fn the_model_router_gets_schema_shaped_json() {
        let body = json!({"contents": [{"role": "user", "parts": [{"text": "route"}]}],
            "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": {"type": "object",
                "properties": {"complexity_reasoning": {"type": "string"}, "complexity_score": {"type": "integer"}}}}});
        let (r, _) =
            handle(&backend(), "gemini-3.5-flash-lite", false, &serde_json::to_vec(&body).unwrap());
        let v: Value = serde_json::from_str(&r.body).unwrap();
        let answer: Value = serde_json::from_str(
            v["candidates"][0]["content"]["parts"][0]["text"].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(answer, json!({"complexity_reasoning": "scripted", "complexity_score": 1}));
    }
}
