//! Codex CLI. The rollout file's lines are `{timestamp, type, payload}`: the
//! conversation is in `response_item` lines (Responses API items as sent or
//! received), the session in `session_meta` and `turn_context`; developer
//! messages and injected context (`<environment_context>`, …) are not the
//! user's words, and `event_msg` lines repeat what the items say. The
//! `exec --json` output is `thread.*`, `turn.*` and `item.*` events whose
//! completed items are the agent's messages, reasoning, commands and file
//! changes.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::{ByValue, Importer, Session, fill, fill_str, json_error, text_of};

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    payload: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    cli_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    cwd: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    approval_policy: Option<Cow<'a, str>>,
    #[serde(borrow)]
    sandbox_policy: Option<&'a RawValue>,
    #[serde(borrow)]
    role: Option<Cow<'a, str>>,
    content: Option<Value>,
    summary: Option<Value>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arguments: Option<Cow<'a, str>>,
    #[serde(borrow)]
    call_id: Option<Cow<'a, str>>,
    output: Option<Value>,
    input: Option<Value>,
}

/// The rollout file. Only the payloads of the line types used are
/// deserialized, and of those only the fields used.
pub(crate) struct Rollout;

impl Importer for Rollout {
    fn line(&mut self, n: u64, bytes: &[u8], s: &mut Session) -> Result<(), String> {
        let line: Line = serde_json::from_slice(bytes).map_err(|e| json_error(bytes, &e))?;
        let kind = line.kind.as_deref().unwrap_or_default();
        if !matches!(kind, "session_meta" | "turn_context" | "response_item") {
            return Ok(());
        }
        let Some(raw) = line.payload else { return Ok(()) };
        let p: Payload = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
        let call_id = p.call_id.as_deref().unwrap_or_default();
        match (kind, p.kind.as_deref()) {
            ("session_meta", _) => {
                fill_str(&mut s.session_id, p.id.as_deref());
                fill_str(&mut s.client_version, p.cli_version.as_deref());
                fill_str(&mut s.cwd, p.cwd.as_deref());
            }
            ("turn_context", _) => {
                fill_str(&mut s.model, p.model.as_deref());
                fill_str(&mut s.cwd, p.cwd.as_deref());
                if s.permission_mode.is_none() {
                    let sandbox: Option<Value> =
                        p.sandbox_policy.and_then(|r| serde_json::from_str(r.get()).ok());
                    let sandbox = sandbox.as_ref().and_then(|v| v["type"].as_str().or(v.as_str()));
                    if let (Some(a), Some(b)) = (p.approval_policy.as_deref(), sandbox) {
                        s.permission_mode = Some(format!("{a}/{b}"));
                    }
                }
            }
            (_, Some("message")) => {
                let text = p.content.as_ref().map(text_of).unwrap_or_default();
                match p.role.as_deref() {
                    Some("assistant") => s.message(n, "assistant", text, None),
                    Some("user") if !text.trim_start().starts_with('<') => {
                        s.message(n, "user", text, None)
                    }
                    _ => {}
                }
            }
            (_, Some("reasoning")) => {
                let summary: Vec<&str> = p
                    .summary
                    .as_ref()
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x["text"].as_str())
                    .collect();
                if !summary.is_empty() {
                    s.message(n, "assistant", String::new(), Some(summary.join("\n")));
                }
            }
            (_, Some("function_call")) => {
                let args = p.arguments.as_deref().unwrap_or("{}");
                let input =
                    serde_json::from_str(args).unwrap_or_else(|_| Value::String(args.into()));
                s.call(n, call_id, p.name.as_deref().unwrap_or_default(), input);
            }
            (_, Some("custom_tool_call")) => s.call(
                n,
                call_id,
                p.name.as_deref().unwrap_or_default(),
                json!({ "input": p.input.unwrap_or(Value::Null) }),
            ),
            (_, Some("function_call_output" | "custom_tool_call_output")) => {
                let output = match p.output {
                    Some(Value::String(text)) => text,
                    Some(other) => text_of(&other["content"]),
                    None => String::new(),
                };
                let code = exit_code(&output);
                s.result(n, call_id, output, code, code.is_some_and(|c| c != 0));
            }
            _ => {}
        }
        Ok(())
    }
}

/// The exit code Codex reports in the header of a command's output
/// (`Process exited with code N`, within the first lines).
fn exit_code(output: &str) -> Option<i32> {
    let mut end = output.len().min(512);
    while !output.is_char_boundary(end) {
        end -= 1;
    }
    let rest = output[..end].split("Process exited with code ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit() && c != '-').next()?.parse().ok()
}

pub(crate) struct Exec;

impl ByValue for Exec {
    fn value(&mut self, n: u64, v: &Value, s: &mut Session) {
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
