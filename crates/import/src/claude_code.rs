//! Claude Code session JSONL. Conversational lines are `user` (the prompt
//! as a string, or blocks with `tool_result`s) and `assistant` (an API
//! message with one content block per line in recent versions, several in
//! older ones); every other line type (attachments, API request records,
//! bookkeeping) is skipped. Sidechain lines (sub-agents) are imported like
//! the rest. Injected reminders (`isMeta`) are not the user's words.

use serde_json::Value;

use crate::{Imported, Session, fill, message, text_of};

pub(crate) fn read(lines: &[(usize, Value)], session: &mut Session) {
    for (line, v) in lines {
        fill(&mut session.session_id, &v["sessionId"]);
        fill(&mut session.client_version, &v["version"]);
        fill(&mut session.cwd, &v["cwd"]);
        fill(&mut session.permission_mode, &v["permissionMode"]);
        let mut push = |body| session.events.push(Imported { line: *line, body });
        match v["type"].as_str() {
            Some("user") if v["isMeta"] != true => match &v["message"]["content"] {
                Value::String(s) => push(message("user", s.clone(), None)),
                Value::Array(blocks) => {
                    let words: Vec<&str> = blocks
                        .iter()
                        .filter(|b| b["type"] == "text")
                        .filter_map(|b| b["text"].as_str())
                        .collect();
                    if !words.is_empty() {
                        push(message("user", words.join("\n"), None));
                    }
                    for b in blocks.iter().filter(|b| b["type"] == "tool_result") {
                        push(trace::Body::ToolResult {
                            call_id: b["tool_use_id"].as_str().unwrap_or_default().into(),
                            output: text_of(&b["content"]),
                            exit_code: None,
                            is_error: b["is_error"] == true,
                        });
                    }
                }
                _ => {}
            },
            Some("assistant") => {
                let m = &v["message"];
                // A client-made message (an error shown as the model's) is
                // not the model's.
                if m["model"] == "<synthetic>" {
                    continue;
                }
                let model = &m["model"];
                for b in m["content"].as_array().into_iter().flatten() {
                    match b["type"].as_str() {
                        Some("text") => push(message(
                            "assistant",
                            b["text"].as_str().unwrap_or_default().into(),
                            None,
                        )),
                        Some("thinking") => push(message(
                            "assistant",
                            String::new(),
                            b["thinking"].as_str().map(str::to_owned),
                        )),
                        Some("tool_use") => push(trace::Body::ToolCall {
                            call_id: b["id"].as_str().unwrap_or_default().into(),
                            tool: b["name"].as_str().unwrap_or_default().into(),
                            input: b["input"].clone(),
                        }),
                        _ => {}
                    }
                }
                fill(&mut session.model, model);
            }
            _ => {}
        }
    }
}
