//! Gemini CLI. The chat file has a first line describing the session,
//! message records `{id, type: user|gemini, content, thoughts, toolCalls,
//! model}` and `{"$set": …}` patches. A record can be written again with the
//! same id (the later line adds its tool calls): the last line per id wins,
//! in the order ids first appeared, so records are kept until the end (a
//! session's worth). Tool calls carry their own results, so user records
//! that only send function responses back are skipped. The `stream-json`
//! output is `init`, `message` (assistant text in deltas), `tool_use`,
//! `tool_result` and `result` events.

use std::collections::HashMap;

use serde_json::Value;

use crate::{ByValue, Session, fill, text_of};

#[derive(Default)]
pub(crate) struct Chat {
    order: Vec<String>,
    latest: HashMap<String, (u64, Value)>,
}

impl ByValue for Chat {
    fn value(&mut self, n: u64, v: &Value, s: &mut Session) {
        fill(&mut s.session_id, &v["sessionId"]);
        let (Some(id), Some("user" | "gemini")) = (v["id"].as_str(), v["type"].as_str()) else {
            return;
        };
        if self.latest.insert(id.to_owned(), (n, v.clone())).is_none() {
            self.order.push(id.to_owned());
        }
    }

    fn done(&mut self, s: &mut Session) {
        for id in std::mem::take(&mut self.order) {
            let Some((n, v)) = self.latest.remove(&id) else { continue };
            if v["type"] == "user" {
                let text = text_of(&v["content"]);
                if !text.is_empty() {
                    s.message(n, "user", text, None);
                }
                continue;
            }
            fill(&mut s.model, &v["model"]);
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
                s.message(n, "assistant", text, reasoning);
            }
            for call in v["toolCalls"].as_array().into_iter().flatten() {
                let call_id = call["id"].as_str().unwrap_or_default();
                s.call(n, call_id, call["name"].as_str().unwrap_or_default(), call["args"].clone());
                if call["status"].is_string() {
                    let output = call["result"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|r| r["functionResponse"]["response"]["output"].as_str())
                        .collect::<Vec<_>>()
                        .join("\n");
                    s.result(n, call_id, output, None, call["status"] != "success");
                }
            }
        }
    }
}

/// The stream output; assistant deltas are joined into one message until
/// the next other event.
#[derive(Default)]
pub(crate) struct Stream {
    pending: Option<(u64, String)>,
}

impl Stream {
    fn flush(&mut self, s: &mut Session) {
        if let Some((n, text)) = self.pending.take() {
            s.message(n, "assistant", text, None);
        }
    }
}

impl ByValue for Stream {
    fn value(&mut self, n: u64, v: &Value, s: &mut Session) {
        fill(&mut s.session_id, &v["session_id"]);
        match v["type"].as_str() {
            Some("init") => fill(&mut s.model, &v["model"]),
            Some("message") if v["role"] == "assistant" => {
                let text = v["content"].as_str().unwrap_or_default();
                match &mut self.pending {
                    Some((_, held)) if v["delta"] == true => held.push_str(text),
                    _ => {
                        self.flush(s);
                        self.pending = Some((n, text.to_owned()));
                    }
                }
            }
            Some("message") => {
                self.flush(s);
                s.message(n, "user", text_of(&v["content"]), None);
            }
            Some("tool_use") => {
                self.flush(s);
                let id = v["tool_id"].as_str().unwrap_or_default();
                s.call(n, id, v["tool_name"].as_str().unwrap_or_default(), v["parameters"].clone());
            }
            Some("tool_result") => {
                self.flush(s);
                let id = v["tool_id"].as_str().unwrap_or_default();
                let output = v["output"].as_str().unwrap_or_default().to_owned();
                s.result(n, id, output, None, v["status"] != "success");
            }
            _ => self.flush(s),
        }
    }

    fn done(&mut self, s: &mut Session) {
        self.flush(s);
    }
}
