//! Importers: an agent client's own transcript, read into the trace's
//! agent-view events (messages, reasoning, tool calls and their results),
//! with what the session says about itself (client version, session id,
//! working directory, model, permission mode).
//!
//! Each client's format changes between versions: lines of unknown types
//! are skipped, not fatal, and a line that is not JSON is reported with its
//! number while the rest is read. Formats are described in
//! `docs/import-formats.md`.

mod claude_code;
mod codex;
mod gemini_cli;

use std::fmt;

use trace::Body;

/// A client whose transcripts can be imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// Claude Code's session JSONL (`~/.claude/projects/<slug>/<id>.jsonl`).
    ClaudeCode,
    /// Codex CLI's rollout JSONL (`~/.codex/sessions/…/rollout-*.jsonl`).
    Codex,
    /// Gemini CLI's chat JSONL (`~/.gemini/tmp/<project>/chats/*.jsonl`).
    GeminiCli,
}

impl Client {
    pub fn name(self) -> &'static str {
        match self {
            Client::ClaudeCode => "claude-code",
            Client::Codex => "codex",
            Client::GeminiCli => "gemini-cli",
        }
    }

    pub fn from_name(name: &str) -> Option<Client> {
        [Client::ClaudeCode, Client::Codex, Client::GeminiCli]
            .into_iter()
            .find(|c| c.name() == name)
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One imported event and the transcript line it came from (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub line: usize,
    pub body: Body,
}

/// A transcript line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

/// One imported session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    pub client_version: Option<String>,
    pub session_id: Option<String>,
    pub cwd: Option<String>,
    pub model: Option<String>,
    /// As the client names it: Claude `bypassPermissions`, Codex
    /// `never/danger-full-access` (approval policy / sandbox), Gemini `yolo`.
    pub permission_mode: Option<String>,
    pub events: Vec<Imported>,
    pub errors: Vec<LineError>,
}

/// Reads a whole transcript.
pub fn parse(client: Client, text: &str) -> Session {
    let mut session = Session::default();
    let lines =
        text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim().is_empty());
    let mut values = Vec::new();
    for (n, line) in lines {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v) => values.push((n, v)),
            Err(e) => session.errors.push(LineError { line: n, message: format!("not JSON: {e}") }),
        }
    }
    match client {
        Client::ClaudeCode => claude_code::read(&values, &mut session),
        Client::Codex => codex::read(&values, &mut session),
        Client::GeminiCli => gemini_cli::read(&values, &mut session),
    }
    session
}

/// Sets `slot` from `value` when it is a non-empty string and the slot is
/// still empty.
fn fill(slot: &mut Option<String>, value: &serde_json::Value) {
    if slot.is_none()
        && let Some(s) = value.as_str().filter(|s| !s.is_empty())
    {
        *slot = Some(s.to_owned());
    }
}

/// The text of a content value: a string, or the `text` of each block.
fn text_of(content: &serde_json::Value) -> String {
    match content {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str().or(b.as_str()))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn message(role: &str, text: String, reasoning: Option<String>) -> Body {
    Body::ModelMessage { role: role.into(), text, reasoning }
}

#[cfg(test)]
mod tests;
