//! What answers the judge: a real model relayed through the gateway's
//! [`gateway::Upstream`] (the key read from the harness's environment by the
//! caller and sent nowhere else), or a scripted judge for offline tests.

use std::path::Path;
use std::time::Duration;

use gateway::{ModelSpec, Upstream, Usage, Wire};
use serde_json::{Value, json};

use crate::transcript::{Transcript, sha256};

/// The most tokens a judge may write in one answer (reasoning models
/// spend part of it thinking).
pub const MAX_OUTPUT_TOKENS: u64 = 4_096;

/// One turn of the conversation with the judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    User(String),
    Assistant(String),
}

/// An answer and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub text: String,
    pub usage: Usage,
}

/// Why a call got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// Worth trying again: rate limits, overload, server errors, no
    /// connection.
    Transient(String),
    /// Not: no key, a refused request, an answer with no text.
    Fatal(String),
}

impl CallError {
    pub fn message(&self) -> &str {
        match self {
            CallError::Transient(m) | CallError::Fatal(m) => m,
        }
    }
}

/// The judge's model.
#[derive(Debug)]
pub enum Model {
    Relay(Box<Upstream>),
    Scripted(Script),
}

impl Model {
    /// The model for a spec: a relay built with `env` (the harness's
    /// environment, for the key and base URLs), or, for `scripted:FILE`,
    /// the script in that file.
    pub fn from_spec(
        spec: &ModelSpec,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Model, crate::Error> {
        match spec {
            ModelSpec::Scripted { policy } => Ok(Model::Scripted(Script::read(Path::new(policy))?)),
            _ => Ok(Model::Relay(Box::new(
                Upstream::new(spec, env).map_err(crate::Error::Upstream)?,
            ))),
        }
    }

    /// The model as outputs and the cache name it: the spec, and for a
    /// script the digest of its file.
    pub fn identity(&self) -> String {
        match self {
            Model::Relay(u) => u.spec().to_string(),
            Model::Scripted(s) => format!("scripted:{}@{}", s.path, s.digest),
        }
    }

    /// One call. `attempt` counts from 0 (a script answers by it).
    pub fn call(
        &self,
        system: &str,
        messages: &[Message],
        transcript: &Transcript,
        classes: &[&str],
        attempt: usize,
    ) -> Result<Reply, CallError> {
        match self {
            Model::Relay(upstream) => relay(upstream, system, messages),
            Model::Scripted(script) => {
                let text = script.answer(transcript, classes, attempt);
                let asked: usize = system.len() + messages.iter().map(Message::len).sum::<usize>();
                Ok(Reply { usage: Usage::estimate(asked, text.len()), text })
            }
        }
    }
}

impl Message {
    pub(crate) fn len(&self) -> usize {
        match self {
            Message::User(t) | Message::Assistant(t) => t.len(),
        }
    }
}

fn relay(upstream: &Upstream, system: &str, messages: &[Message]) -> Result<Reply, CallError> {
    let spec = upstream.spec();
    let (wire, call, body) = match spec {
        ModelSpec::Anthropic { .. } => {
            let messages: Vec<Value> = messages
                .iter()
                .map(|m| match m {
                    Message::User(t) => json!({"role": "user", "content": t}),
                    Message::Assistant(t) => json!({"role": "assistant", "content": t}),
                })
                .collect();
            let body = json!({"model": upstream.model(), "max_tokens": MAX_OUTPUT_TOKENS,
                "temperature": 0, "system": system, "messages": messages});
            (Wire::Messages, "", body)
        }
        ModelSpec::OpenAi { .. } | ModelSpec::OpenAiCompatible { .. } => {
            let mut list = vec![json!({"role": "system", "content": system})];
            list.extend(messages.iter().map(|m| match m {
                Message::User(t) => json!({"role": "user", "content": t}),
                Message::Assistant(t) => json!({"role": "assistant", "content": t}),
            }));
            let mut body = json!({"model": upstream.model(), "messages": list,
                "response_format": {"type": "json_object"}});
            if matches!(spec, ModelSpec::OpenAi { .. }) {
                // OpenAI's reasoning models take no temperature and count
                // their thinking in `max_completion_tokens`.
                body["max_completion_tokens"] = json!(MAX_OUTPUT_TOKENS);
            } else {
                body["max_tokens"] = json!(MAX_OUTPUT_TOKENS);
                body["temperature"] = json!(0);
            }
            (Wire::ChatCompletions, "", body)
        }
        ModelSpec::Gemini { .. } => {
            let contents: Vec<Value> = messages
                .iter()
                .map(|m| match m {
                    Message::User(t) => json!({"role": "user", "parts": [{"text": t}]}),
                    Message::Assistant(t) => json!({"role": "model", "parts": [{"text": t}]}),
                })
                .collect();
            let body = json!({"systemInstruction": {"parts": [{"text": system}]},
                "contents": contents,
                "generationConfig": {"temperature": 0, "maxOutputTokens": MAX_OUTPUT_TOKENS,
                    "responseMimeType": "application/json"}});
            (Wire::Gemini, "generateContent", body)
        }
        ModelSpec::Scripted { .. } => {
            return Err(CallError::Fatal("a scripted spec has no upstream".into()));
        }
    };
    let bytes = serde_json::to_vec(&body).expect("JSON");
    let reply = upstream.post(wire, call, &[], &bytes).map_err(|e| match e {
        gateway::RelayError::Unreachable { .. } => CallError::Transient(e.to_string()),
        _ => CallError::Fatal(e.to_string()),
    })?;
    let answer: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    if reply.status != 200 {
        let said = answer["error"]["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| String::from_utf8_lossy(&reply.body).chars().take(300).collect());
        let message = format!("{} answered {}: {said}", spec, reply.status);
        return Err(if reply.status == 429 || reply.status >= 500 {
            CallError::Transient(message)
        } else {
            CallError::Fatal(message)
        });
    }
    let text = match wire {
        Wire::Messages => texts(&answer["content"], |p| {
            (p["type"] == "text").then(|| p["text"].as_str()).flatten()
        }),
        Wire::Gemini => texts(&answer["candidates"][0]["content"]["parts"], |p| {
            (p["thought"] != true).then(|| p["text"].as_str()).flatten()
        }),
        _ => answer["choices"][0]["message"]["content"].as_str().unwrap_or_default().to_owned(),
    };
    if text.trim().is_empty() {
        return Err(CallError::Fatal(format!("{spec} answered with no text")));
    }
    let usage =
        Usage::reported(&answer).unwrap_or_else(|| Usage::estimate(bytes.len(), text.len()));
    Ok(Reply { text, usage })
}

fn texts(parts: &Value, text: impl Fn(&Value) -> Option<&str>) -> String {
    parts.as_array().into_iter().flatten().filter_map(text).collect::<Vec<_>>().join("")
}

/// A scripted judge (`scripted:FILE`): JSON lines, each
/// `{"contains": "<text>", "replies": [...]}`. A session whose record
/// contains a line's text is answered with its replies, the first on the
/// first attempt, the next on a retry (the last repeats). A reply is sent
/// as written when it is a string, where `{{match}}` becomes the index of
/// the first event containing the text; an object `{"verdicts": [...]}`
/// gets `"match"` in an evidence list replaced the same way, and every
/// class asked but not named answered absent. A session no line matches is
/// answered absent on every class.
#[derive(Debug, Clone)]
pub struct Script {
    path: String,
    digest: String,
    rules: Vec<(String, Vec<Value>)>,
}

impl Script {
    pub fn read(path: &Path) -> Result<Script, crate::Error> {
        Script::parse(path).map_err(|message| crate::Error::Script { message })
    }

    fn parse(path: &Path) -> Result<Script, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let text =
            std::str::from_utf8(&bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
        let mut rules = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = |m: &str| format!("{}:{}: {m}", path.display(), i + 1);
            let v: Value = serde_json::from_str(line).map_err(|e| at(&format!("not JSON: {e}")))?;
            let contains = v["contains"]
                .as_str()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| at("`contains`: a non-empty string is required"))?;
            let replies = v["replies"]
                .as_array()
                .filter(|r| !r.is_empty())
                .ok_or_else(|| at("`replies`: a non-empty list is required"))?;
            for (j, r) in replies.iter().enumerate() {
                if !r.is_string() && !r["verdicts"].is_array() {
                    return Err(at(&format!(
                        "`replies[{j}]`: a string, or an object with a `verdicts` list"
                    )));
                }
            }
            rules.push((contains.to_owned(), replies.clone()));
        }
        Ok(Script { path: path.display().to_string(), digest: sha256(&bytes), rules })
    }

    fn answer(&self, transcript: &Transcript, classes: &[&str], attempt: usize) -> String {
        let matched = self.rules.iter().find_map(|(needle, replies)| {
            transcript.first_containing(needle).map(|event| (event, replies))
        });
        let Some((event, replies)) = matched else {
            return absent(classes, &[]).to_string();
        };
        let reply = &replies[attempt.min(replies.len() - 1)];
        if let Some(text) = reply.as_str() {
            return text.replace("{{match}}", &event.to_string());
        }
        let mut named: Vec<Value> = reply["verdicts"].as_array().cloned().unwrap_or_default();
        for v in &mut named {
            if let Some(list) = v["evidence"].as_array_mut() {
                for e in list.iter_mut().filter(|e| *e == "match") {
                    *e = json!(event);
                }
            }
        }
        absent(classes, &named).to_string()
    }
}

/// `named` verdicts, and every other class of `classes` absent.
fn absent(classes: &[&str], named: &[Value]) -> Value {
    let mut verdicts = named.to_vec();
    for c in classes {
        if !named.iter().any(|v| v["class"] == *c) {
            verdicts.push(json!({"class": c, "present": false, "confidence": 0.9,
                "evidence": [], "rationale": "scripted judge: nothing named"}));
        }
    }
    json!({ "verdicts": verdicts })
}

/// How long to wait before retry `n` (1-based) after a transient error.
pub fn backoff(n: usize) -> Duration {
    Duration::from_secs(2u64.saturating_pow(n as u32).min(60))
}
