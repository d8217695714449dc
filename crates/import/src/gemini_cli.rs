//! Gemini CLI chat JSONL: a first line describing the session, message
//! records `{id, type: user|gemini, content, thoughts, toolCalls, model}`,
//! and `{"$set": …}` patches. A record can be written again with the same
//! id (the later line adds its tool calls): the last line per id wins, in
//! the order ids first appeared. Tool calls carry their own results, so
//! the user records that only send function responses back are skipped.

use std::collections::HashMap;

use serde_json::Value;

use crate::{Imported, Session, fill, message, text_of};

pub(crate) fn read(lines: &[(usize, Value)], session: &mut Session) {
    let mut order: Vec<&str> = Vec::new();
    let mut latest: HashMap<&str, (usize, &Value)> = HashMap::new();
    for (line, v) in lines {
        fill(&mut session.session_id, &v["sessionId"]);
        let Some(id) = v["id"].as_str() else { continue };
        if !matches!(v["type"].as_str(), Some("user" | "gemini")) {
            continue;
        }
        if latest.insert(id, (*line, v)).is_none() {
            order.push(id);
        }
    }
    for id in order {
        let (line, v) = latest[id];
        let mut push = |body| session.events.push(Imported { line, body });
        match v["type"].as_str() {
            Some("user") => {
                let text = text_of(&v["content"]);
                if !text.is_empty() {
                    push(message("user", text, None));
                }
            }
            _ => {
                fill(&mut session.model, &v["model"]);
                let thoughts: Vec<String> = v["thoughts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| {
                        let subject = t["subject"].as_str().unwrap_or_default();
                        let description = t["description"].as_str().unwrap_or_default();
                        format!("{subject} {description}").trim().to_owned()
                    })
                    .filter(|t| !t.is_empty())
                    .collect();
                let text = text_of(&v["content"]);
                if !text.is_empty() || !thoughts.is_empty() {
                    let reasoning = (!thoughts.is_empty()).then(|| thoughts.join("\n"));
                    push(message("assistant", text, reasoning));
                }
                for call in v["toolCalls"].as_array().into_iter().flatten() {
                    let call_id = call["id"].as_str().unwrap_or_default().to_owned();
                    push(trace::Body::ToolCall {
                        call_id: call_id.clone(),
                        tool: call["name"].as_str().unwrap_or_default().into(),
                        input: call["args"].clone(),
                    });
                    if call["status"].is_string() {
                        let output = call["result"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|r| r["functionResponse"]["response"]["output"].as_str())
                            .collect::<Vec<_>>()
                            .join("\n");
                        push(trace::Body::ToolResult {
                            call_id,
                            output,
                            exit_code: None,
                            is_error: call["status"] != "success",
                        });
                    }
                }
            }
        }
    }
}
