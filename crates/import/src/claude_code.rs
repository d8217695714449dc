//! Claude Code: the session JSONL and the `stream-json` output share their
//! conversational lines. `user` holds the prompt (a string) or blocks with
//! `tool_result`s; `assistant` an API message (one content block per line in
//! recent versions, several in older ones). The session file adds
//! attachments, API request records and bookkeeping, skipped here; the
//! stream adds `system/init` (the session's settings) and `result` (the
//! final answer). Sidechain lines (sub-agents) are imported like the rest;
//! injected reminders (`isMeta`) are not the user's words, nor a client-made
//! `<synthetic>` message the model's.

use serde_json::Value;

use crate::{Importer, Session, fill, text_of};

pub(crate) struct Claude;

impl Importer for Claude {
    fn line(&mut self, n: u64, v: &Value, s: &mut Session) {
        fill(&mut s.session_id, &v["sessionId"]);
        fill(&mut s.session_id, &v["session_id"]);
        fill(&mut s.client_version, &v["version"]);
        fill(&mut s.cwd, &v["cwd"]);
        fill(&mut s.permission_mode, &v["permissionMode"]);
        match v["type"].as_str() {
            Some("system") if v["subtype"] == "init" => {
                fill(&mut s.client_version, &v["claude_code_version"]);
                fill(&mut s.model, &v["model"]);
            }
            Some("result") => {
                if let Some(r) = v["result"].as_str() {
                    s.final_message = Some(r.to_owned());
                }
            }
            Some("user") if v["isMeta"] != true => match &v["message"]["content"] {
                Value::String(text) => s.message(n, "user", text.clone(), None),
                Value::Array(blocks) => {
                    let words: Vec<&str> = blocks
                        .iter()
                        .filter(|b| b["type"] == "text")
                        .filter_map(|b| b["text"].as_str())
                        .collect();
                    if !words.is_empty() {
                        s.message(n, "user", words.join("\n"), None);
                    }
                    for b in blocks.iter().filter(|b| b["type"] == "tool_result") {
                        let id = b["tool_use_id"].as_str().unwrap_or_default();
                        s.result(n, id, text_of(&b["content"]), None, b["is_error"] == true);
                    }
                }
                _ => {}
            },
            Some("assistant") => {
                let m = &v["message"];
                if m["model"] == "<synthetic>" {
                    return;
                }
                fill(&mut s.model, &m["model"]);
                for b in m["content"].as_array().into_iter().flatten() {
                    match b["type"].as_str() {
                        Some("text") => s.message(
                            n,
                            "assistant",
                            b["text"].as_str().unwrap_or_default().into(),
                            None,
                        ),
                        Some("thinking") => s.message(
                            n,
                            "assistant",
                            String::new(),
                            b["thinking"].as_str().map(str::to_owned),
                        ),
                        Some("tool_use") => s.call(
                            n,
                            b["id"].as_str().unwrap_or_default(),
                            b["name"].as_str().unwrap_or_default(),
                            b["input"].clone(),
                        ),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}
