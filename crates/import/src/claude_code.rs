//! Claude Code: the session JSONL and the `stream-json` output share their
//! conversational lines. `user` holds the prompt (a string) or blocks with
//! `tool_result`s; `assistant` an API message (one content block per line in
//! recent versions, several in older ones). The session file adds
//! attachments, API request records and bookkeeping, skipped here; the
//! stream adds `system/init` (the session's settings) and `result` (the
//! final answer). Sidechain lines (sub-agents) are imported like the rest;
//! injected reminders (`isMeta`) are not the user's words, nor a client-made
//! `<synthetic>` message the model's.
//!
//! Lines are deserialized into the few fields used: everything else
//! (attachments holding the whole system prompt, API request records) is
//! skipped by the parser without being built.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::{Importer, Session, fill_str, json_error};

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "sessionId", borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(rename = "session_id", borrow)]
    session_id_snake: Option<Cow<'a, str>>,
    #[serde(borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    claude_code_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    cwd: Option<Cow<'a, str>>,
    #[serde(rename = "permissionMode", borrow)]
    permission_mode: Option<Cow<'a, str>>,
    #[serde(borrow)]
    subtype: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(rename = "isMeta")]
    is_meta: Option<bool>,
    #[serde(borrow)]
    message: Option<Message<'a>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    content: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    thinking: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    input: Option<Value>,
    #[serde(borrow)]
    tool_use_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    content: Option<&'a RawValue>,
    is_error: Option<bool>,
}

/// A tool result's content: a string, or text blocks.
fn result_text(raw: Option<&RawValue>) -> String {
    let Some(raw) = raw else { return String::new() };
    if raw.get().starts_with('"') {
        return serde_json::from_str::<String>(raw.get()).unwrap_or_default();
    }
    #[derive(Deserialize)]
    struct Text<'a> {
        #[serde(borrow)]
        text: Option<Cow<'a, str>>,
    }
    serde_json::from_str::<Vec<Text>>(raw.get())
        .map(|blocks| {
            blocks.iter().filter_map(|b| b.text.as_deref()).collect::<Vec<_>>().join("\n")
        })
        .unwrap_or_default()
}

pub(crate) struct Claude;

impl Importer for Claude {
    fn line(&mut self, n: u64, bytes: &[u8], s: &mut Session) -> Result<(), String> {
        let v: Line = serde_json::from_slice(bytes).map_err(|e| json_error(bytes, &e))?;
        fill_str(&mut s.session_id, v.session_id.as_deref());
        fill_str(&mut s.session_id, v.session_id_snake.as_deref());
        fill_str(&mut s.client_version, v.version.as_deref());
        fill_str(&mut s.cwd, v.cwd.as_deref());
        fill_str(&mut s.permission_mode, v.permission_mode.as_deref());
        match v.kind.as_deref() {
            Some("system") if v.subtype.as_deref() == Some("init") => {
                fill_str(&mut s.client_version, v.claude_code_version.as_deref());
                fill_str(&mut s.model, v.model.as_deref());
            }
            Some("result") => {
                if let Some(r) = v.result.and_then(|r| serde_json::from_str::<String>(r.get()).ok())
                {
                    s.final_message = Some(r);
                }
            }
            Some("user") if v.is_meta != Some(true) => {
                let Some(content) = v.message.and_then(|m| m.content) else { return Ok(()) };
                if content.get().starts_with('"') {
                    let text: String =
                        serde_json::from_str(content.get()).map_err(|e| e.to_string())?;
                    s.message(n, "user", text, None);
                    return Ok(());
                }
                let blocks: Vec<Block> =
                    serde_json::from_str(content.get()).map_err(|e| e.to_string())?;
                let words: Vec<&str> = blocks
                    .iter()
                    .filter(|b| b.kind.as_deref() == Some("text"))
                    .filter_map(|b| b.text.as_deref())
                    .collect();
                if !words.is_empty() {
                    s.message(n, "user", words.join("\n"), None);
                }
                for b in blocks.iter().filter(|b| b.kind.as_deref() == Some("tool_result")) {
                    let id = b.tool_use_id.as_deref().unwrap_or_default();
                    s.result(n, id, result_text(b.content), None, b.is_error == Some(true));
                }
            }
            Some("assistant") => {
                let Some(m) = v.message else { return Ok(()) };
                if m.model.as_deref() == Some("<synthetic>") {
                    return Ok(());
                }
                fill_str(&mut s.model, m.model.as_deref());
                let Some(content) = m.content else { return Ok(()) };
                let blocks: Vec<Block> =
                    serde_json::from_str(content.get()).map_err(|e| e.to_string())?;
                for b in blocks {
                    match b.kind.as_deref() {
                        Some("text") => {
                            s.message(n, "assistant", b.text.unwrap_or_default().into_owned(), None)
                        }
                        Some("thinking") => s.message(
                            n,
                            "assistant",
                            String::new(),
                            b.thinking.map(Cow::into_owned),
                        ),
                        Some("tool_use") => s.call(
                            n,
                            b.id.as_deref().unwrap_or_default(),
                            b.name.as_deref().unwrap_or_default(),
                            b.input.unwrap_or(Value::Null),
                        ),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}
