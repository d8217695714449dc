//! Importers: agent transcripts read into the trace's agent-view events
//! (messages, reasoning, tool calls and their results), with what the
//! session says about itself (client, version, session id, working
//! directory, model, permission mode, final message).
//!
//! Formats ([`Format`]): Claude Code session JSONL and `--output-format
//! stream-json` output, Codex rollout JSONL and `exec --json` output, Gemini
//! CLI chat JSONL and `--output-format stream-json` output, and Perimeter's
//! own traces. [`sniff`] recognises a file's format from its first JSON
//! line. Reading streams line by line with bounded memory: a line longer
//! than [`Limits::max_line`] is skipped without being held, lines that are
//! not JSON (or not UTF-8) are reported with their number, unknown line
//! types are ignored, and the rest is read.

#![forbid(unsafe_code)]

mod claude_code;
mod codex;
mod gemini_cli;
pub mod inspect;
mod perimeter;
mod reader;

use std::fmt;
use std::io::BufRead;

use serde_json::Value;
use trace::Body;

pub use reader::{Line, Lines};

/// A transcript format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Claude Code's session file (`~/.claude/projects/<slug>/<id>.jsonl`).
    ClaudeSession,
    /// Claude Code's `-p --output-format stream-json` output.
    ClaudeStream,
    /// Codex CLI's rollout file (`~/.codex/sessions/…/rollout-*.jsonl`).
    CodexRollout,
    /// Codex CLI's `exec --json` output.
    CodexExec,
    /// Gemini CLI's chat file (`~/.gemini/tmp/<project>/chats/*.jsonl`).
    GeminiChat,
    /// Gemini CLI's `-p --output-format stream-json` output.
    GeminiStream,
    /// A Perimeter episode trace (`perimeter.trace`).
    PerimeterTrace,
}

pub const FORMATS: [Format; 7] = [
    Format::ClaudeSession,
    Format::ClaudeStream,
    Format::CodexRollout,
    Format::CodexExec,
    Format::GeminiChat,
    Format::GeminiStream,
    Format::PerimeterTrace,
];

impl Format {
    /// The name used in `--format-hint` and in scan output.
    pub fn name(self) -> &'static str {
        match self {
            Format::ClaudeSession => "claude-code-session",
            Format::ClaudeStream => "claude-code-stream-json",
            Format::CodexRollout => "codex-rollout",
            Format::CodexExec => "codex-exec-json",
            Format::GeminiChat => "gemini-cli-chat",
            Format::GeminiStream => "gemini-cli-stream-json",
            Format::PerimeterTrace => "perimeter-trace",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        FORMATS.into_iter().find(|f| f.name() == name)
    }

    /// The client that writes it.
    pub fn client(self) -> &'static str {
        match self {
            Format::ClaudeSession | Format::ClaudeStream => "claude-code",
            Format::CodexRollout | Format::CodexExec => "codex",
            Format::GeminiChat | Format::GeminiStream => "gemini-cli",
            Format::PerimeterTrace => "perimeter",
        }
    }

    fn importer(self) -> Box<dyn Importer> {
        match self {
            Format::ClaudeSession | Format::ClaudeStream => Box::new(claude_code::Claude),
            Format::CodexRollout => Box::new(codex::Rollout),
            Format::CodexExec => Box::new(codex::Exec),
            Format::GeminiChat => Box::new(gemini_cli::Chat::default()),
            Format::GeminiStream => Box::new(gemini_cli::Stream::default()),
            Format::PerimeterTrace => Box::new(perimeter::Trace),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The format a JSON line belongs to, if it is one's.
pub fn sniff(line: &Value) -> Option<Format> {
    let kind = line["type"].as_str().unwrap_or_default();
    if line["format"] == "perimeter.trace" {
        Some(Format::PerimeterTrace)
    } else if line.get("payload").is_some() && line.get("timestamp").is_some() {
        Some(Format::CodexRollout)
    } else if kind.starts_with("thread.") || kind.starts_with("turn.") || kind.starts_with("item.")
    {
        Some(Format::CodexExec)
    } else if line.get("projectHash").is_some() || matches!(kind, "gemini") {
        Some(Format::GeminiChat)
    } else if line.get("sessionId").is_some() || line.get("parentUuid").is_some() {
        Some(Format::ClaudeSession)
    } else if line.get("session_id").is_some() && line.get("timestamp").is_some()
        || matches!(kind, "init" | "tool_use" | "tool_result") && line.get("timestamp").is_some()
    {
        Some(Format::GeminiStream)
    } else if line.get("session_id").is_some()
        || matches!(kind, "system" | "result") && line.get("subtype").is_some()
    {
        Some(Format::ClaudeStream)
    } else {
        None
    }
}

/// One imported event and the transcript line it came from (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub line: u64,
    pub body: Body,
}

/// A transcript line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
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
    /// The agent's last message.
    pub final_message: Option<String>,
    pub events: Vec<Imported>,
    pub errors: Vec<LineError>,
    /// Lines read, and bytes.
    pub lines: u64,
    pub bytes: u64,
}

/// What reading may hold in memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest line parsed; longer ones are skipped as they stream by.
    pub max_line: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_line: 64 << 20 }
    }
}

/// Turns a format's lines into events. Most formats read each line as a
/// JSON value ([`ByValue`]); the busiest ones deserialize only the fields
/// they use, skipping the rest of the line without building it.
trait Importer {
    /// One line, which may not be JSON: the error is reported by line.
    fn line(&mut self, n: u64, bytes: &[u8], s: &mut Session) -> Result<(), String>;
    /// After the last line (records kept until then are emitted).
    fn finish(&mut self, _s: &mut Session) {}
}

/// An importer that reads each line as a whole JSON value.
trait ByValue {
    fn value(&mut self, n: u64, v: &Value, s: &mut Session);
    fn done(&mut self, _s: &mut Session) {}
}

impl<T: ByValue> Importer for T {
    fn line(&mut self, n: u64, bytes: &[u8], s: &mut Session) -> Result<(), String> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| json_error(bytes, &e))?;
        self.value(n, &v, s);
        Ok(())
    }

    fn finish(&mut self, s: &mut Session) {
        self.done(s);
    }
}

/// Why a line is not what it should be: not UTF-8, or not JSON.
fn json_error(bytes: &[u8], e: &serde_json::Error) -> String {
    let what = if std::str::from_utf8(bytes).is_err() { "not UTF-8" } else { "not JSON" };
    format!("{what}: {e}")
}

/// Reads a whole transcript from a stream. With `format` unknown, the first
/// JSON line decides it; a stream whose lines fit no format gives `None`.
pub fn read(
    input: impl BufRead,
    format: Option<Format>,
    limits: Limits,
) -> (Option<Format>, Session) {
    let mut session = Session::default();
    let mut format = format;
    let mut importer = format.map(Format::importer);
    let mut lines = Lines::new(input, limits.max_line);
    loop {
        let line = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                session.errors.push(LineError {
                    line: lines.number() + 1,
                    message: format!("read error: {e}"),
                });
                break;
            }
        };
        let (n, bytes) = match line {
            Line::Text { number, bytes } => (number, bytes),
            Line::TooLong { number, length } => {
                session.errors.push(LineError {
                    line: number,
                    message: format!(
                        "a line of {length} bytes, over the limit of {}, skipped",
                        limits.max_line
                    ),
                });
                continue;
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if importer.is_none() {
            match serde_json::from_slice::<Value>(bytes) {
                Ok(v) => {
                    format = sniff(&v);
                    importer = format.map(Format::importer);
                }
                Err(e) => {
                    session.errors.push(LineError { line: n, message: json_error(bytes, &e) });
                    continue;
                }
            }
        }
        if let Some(i) = importer.as_mut()
            && let Err(message) = i.line(n, bytes, &mut session)
        {
            session.errors.push(LineError { line: n, message });
        }
    }
    if let Some(i) = importer.as_mut() {
        i.finish(&mut session);
    }
    session.lines = lines.number();
    session.bytes = lines.bytes();
    (format, session)
}

/// Reads a whole transcript held in memory.
pub fn parse(format: Format, text: &str) -> Session {
    read(text.as_bytes(), Some(format), Limits::default()).1
}

/// Sets `slot` from `value` when it is a non-empty string and the slot is
/// still empty.
fn fill(slot: &mut Option<String>, value: &Value) {
    fill_str(slot, value.as_str());
}

/// As [`fill`], for a field already deserialized as text.
fn fill_str(slot: &mut Option<String>, value: Option<&str>) {
    if slot.is_none()
        && let Some(s) = value.filter(|s| !s.is_empty())
    {
        *slot = Some(s.to_owned());
    }
}

/// The text of a content value: a string, or the `text` of each block.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str().or(b.as_str()))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

impl Session {
    fn push(&mut self, line: u64, body: Body) {
        if let Body::ModelMessage { role, text, .. } = &body
            && role == "assistant"
            && !text.is_empty()
        {
            self.final_message = Some(text.clone());
        }
        self.events.push(Imported { line, body });
    }

    fn message(&mut self, line: u64, role: &str, text: String, reasoning: Option<String>) {
        self.push(line, Body::ModelMessage { role: role.into(), text, reasoning });
    }

    fn call(&mut self, line: u64, call_id: &str, tool: &str, input: Value) {
        self.push(line, Body::ToolCall { call_id: call_id.into(), tool: tool.into(), input });
    }

    fn result(
        &mut self,
        line: u64,
        call_id: &str,
        output: String,
        exit_code: Option<i32>,
        is_error: bool,
    ) {
        self.push(line, Body::ToolResult { call_id: call_id.into(), output, exit_code, is_error });
    }
}

#[cfg(test)]
mod tests;
