//! Codex CLI. The rollout file's lines are `{timestamp, type, payload}`: the
//! conversation is in `response_item` lines (Responses API items as sent or
//! received), the session in `session_meta` and `turn_context`; developer
//! messages and injected context (`<environment_context>`, …) are not the
//! user's words, and `event_msg` lines repeat what the items say. The
//! `exec --json` output is `thread.*`, `turn.*` and `item.*` events whose
//! completed items are the agent's messages, reasoning, commands and file
//! changes.

use serde_json::{Value, json};

use crate::{Importer, Session, fill, text_of};

pub(crate) struct Rollout;

impl Importer for Rollout {
    fn line(&mut self, n: u64, v: &Value, s: &mut Session) {
        let p = &v["payload"];
        match v["type"].as_str() {
            Some("session_meta") => {
                fill(&mut s.session_id, &p["id"]);
                fill(&mut s.client_version, &p["cli_version"]);
                fill(&mut s.cwd, &p["cwd"]);
            }
            Some("turn_context") => {
                fill(&mut s.model, &p["model"]);
                fill(&mut s.cwd, &p["cwd"]);
                if s.permission_mode.is_none() {
                    let approval = p["approval_policy"].as_str();
                    let sandbox =
                        p["sandbox_policy"]["type"].as_str().or(p["sandbox_policy"].as_str());
                    if let (Some(a), Some(b)) = (approval, sandbox) {
                        s.permission_mode = Some(format!("{a}/{b}"));
                    }
                }
            }
            Some("response_item") => match p["type"].as_str() {
                Some("message") => {
                    let text = text_of(&p["content"]);
                    match p["role"].as_str() {
                        Some("assistant") => s.message(n, "assistant", text, None),
                        Some("user") if !text.trim_start().starts_with('<') => {
                            s.message(n, "user", text, None)
                        }
                        _ => {}
                    }
                }
                Some("reasoning") => {
                    let summary: Vec<&str> = p["summary"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|x| x["text"].as_str())
                        .collect();
                    if !summary.is_empty() {
                        s.message(n, "assistant", String::new(), Some(summary.join("\n")));
                    }
                }
                Some("function_call") => {
                    let args = p["arguments"].as_str().unwrap_or("{}");
                    let input =
                        serde_json::from_str(args).unwrap_or_else(|_| Value::String(args.into()));
                    s.call(
                        n,
                        p["call_id"].as_str().unwrap_or_default(),
                        p["name"].as_str().unwrap_or_default(),
                        input,
                    );
                }
                Some("custom_tool_call") => s.call(
                    n,
                    p["call_id"].as_str().unwrap_or_default(),
                    p["name"].as_str().unwrap_or_default(),
                    json!({ "input": p["input"] }),
                ),
                Some("function_call_output" | "custom_tool_call_output") => {
                    let output = match &p["output"] {
                        Value::String(text) => text.clone(),
                        other => text_of(&other["content"]),
                    };
                    let code = exit_code(&output);
                    let id = p["call_id"].as_str().unwrap_or_default();
                    s.result(n, id, output, code, code.is_some_and(|c| c != 0));
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

pub(crate) struct Exec;

impl Importer for Exec {
    fn line(&mut self, n: u64, v: &Value, s: &mut Session) {
        match v["type"].as_str() {
            Some("thread.started") => fill(&mut s.session_id, &v["thread_id"]),
            Some("item.completed") => {
                let item = &v["item"];
                let id = item["id"].as_str().unwrap_or_default();
                match item["type"].as_str() {
                    Some("agent_message") => s.message(
                        n,
                        "assistant",
                        item["text"].as_str().unwrap_or_default().into(),
                        None,
                    ),
                    Some("reasoning") => s.message(
                        n,
                        "assistant",
                        String::new(),
                        item["text"].as_str().map(str::to_owned),
                    ),
                    Some("command_execution") => {
                        s.call(n, id, "exec_command", json!({ "cmd": item["command"] }));
                        let code = item["exit_code"].as_i64().map(|c| c as i32);
                        let output = item["aggregated_output"].as_str().unwrap_or_default();
                        s.result(n, id, output.into(), code, code.is_some_and(|c| c != 0));
                    }
                    Some("file_change") => {
                        s.call(n, id, "apply_patch", json!({ "changes": item["changes"] }));
                        let failed = item["status"] == "failed";
                        s.result(
                            n,
                            id,
                            item["status"].as_str().unwrap_or_default().into(),
                            None,
                            failed,
                        );
                    }
                    Some("mcp_tool_call") => {
                        let tool = format!(
                            "{}.{}",
                            item["server"].as_str().unwrap_or_default(),
                            item["tool"].as_str().unwrap_or_default()
                        );
                        s.call(n, id, &tool, item["arguments"].clone());
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}
