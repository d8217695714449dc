//! Codex CLI rollout JSONL: `{timestamp, type, payload}` lines. The
//! conversation is in `response_item` lines (Responses API items as sent
//! or received); `session_meta` and `turn_context` describe the session.
//! Developer messages and injected context (`<environment_context>`, …)
//! are not the user's words; `event_msg` lines repeat what the items say.

use serde_json::Value;

use crate::{Imported, Session, fill, message, text_of};

pub(crate) fn read(lines: &[(usize, Value)], session: &mut Session) {
    for (line, v) in lines {
        let p = &v["payload"];
        let mut push = |body| session.events.push(Imported { line: *line, body });
        match v["type"].as_str() {
            Some("session_meta") => {
                fill(&mut session.session_id, &p["id"]);
                fill(&mut session.client_version, &p["cli_version"]);
                fill(&mut session.cwd, &p["cwd"]);
            }
            Some("turn_context") => {
                fill(&mut session.model, &p["model"]);
                fill(&mut session.cwd, &p["cwd"]);
                if session.permission_mode.is_none() {
                    let approval = p["approval_policy"].as_str();
                    let sandbox =
                        p["sandbox_policy"]["type"].as_str().or(p["sandbox_policy"].as_str());
                    if let (Some(a), Some(s)) = (approval, sandbox) {
                        session.permission_mode = Some(format!("{a}/{s}"));
                    }
                }
            }
            Some("response_item") => match p["type"].as_str() {
                Some("message") => {
                    let text = text_of(&p["content"]);
                    match p["role"].as_str() {
                        Some("assistant") => push(message("assistant", text, None)),
                        Some("user") if !text.trim_start().starts_with('<') => {
                            push(message("user", text, None))
                        }
                        _ => {}
                    }
                }
                Some("reasoning") => {
                    let summary: Vec<&str> = p["summary"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s["text"].as_str())
                        .collect();
                    if !summary.is_empty() {
                        push(message("assistant", String::new(), Some(summary.join("\n"))));
                    }
                }
                Some("function_call") => {
                    let args = p["arguments"].as_str().unwrap_or("{}");
                    push(trace::Body::ToolCall {
                        call_id: p["call_id"].as_str().unwrap_or_default().into(),
                        tool: p["name"].as_str().unwrap_or_default().into(),
                        input: serde_json::from_str(args)
                            .unwrap_or_else(|_| Value::String(args.into())),
                    });
                }
                Some("custom_tool_call") => push(trace::Body::ToolCall {
                    call_id: p["call_id"].as_str().unwrap_or_default().into(),
                    tool: p["name"].as_str().unwrap_or_default().into(),
                    input: serde_json::json!({ "input": p["input"] }),
                }),
                Some("function_call_output" | "custom_tool_call_output") => {
                    let output = match &p["output"] {
                        Value::String(s) => s.clone(),
                        other => text_of(&other["content"]),
                    };
                    push(trace::Body::ToolResult {
                        call_id: p["call_id"].as_str().unwrap_or_default().into(),
                        exit_code: exit_code(&output),
                        is_error: exit_code(&output).is_some_and(|c| c != 0),
                        output,
                    });
                }
                _ => {}
            },
            _ => {}
        }
    }
}

/// The exit code Codex reports in a command's output
/// (`Process exited with code N`).
fn exit_code(output: &str) -> Option<i32> {
    let rest = output.split("Process exited with code ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit() && c != '-').next()?.parse().ok()
}
