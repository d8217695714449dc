//! A session as the judge reads it: one line (or more) per event, each
//! headed by the event's index, shortened to a bounded size, between
//! markers the session's own text cannot close.

use sha2::{Digest, Sha256};
use trace::Body;

/// The most characters of one event's text shown; longer text keeps its
/// head and tail.
pub const EVENT_CHARS: usize = 3_000;

/// The most characters of events shown in all; a longer session keeps its
/// first and last events and names the range left out.
pub const TRANSCRIPT_CHARS: usize = 120_000;

/// A session rendered for the judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// The events' lines, without the markers.
    text: String,
    /// `sha256:<hex>` of `text`: with the prompt's digest and the model,
    /// the cache key.
    pub digest: String,
    /// Every event of the session.
    pub events: usize,
    /// The events shown, in order: index, line in the file, and the byte
    /// range of its text in `text`.
    shown: Vec<Shown>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    index: usize,
    line: u64,
    start: usize,
    end: usize,
}

impl Transcript {
    /// Renders `(line, body)` pairs, the event index being the position.
    pub fn render<'a>(events: impl IntoIterator<Item = (u64, &'a Body)>) -> Transcript {
        let lines: Vec<(u64, String)> = events
            .into_iter()
            .enumerate()
            .map(|(i, (line, body))| (line, format!("[{i}] {}\n", event_text(body))))
            .collect();
        let total = lines.len();
        let mut keep = vec![false; total];
        // The head gets half the room, the tail the rest.
        let mut used = 0;
        let mut head = 0;
        while head < total && used + lines[head].1.len() <= TRANSCRIPT_CHARS / 2 {
            used += lines[head].1.len();
            keep[head] = true;
            head += 1;
        }
        let mut tail = total;
        while tail > head && used + lines[tail - 1].1.len() <= TRANSCRIPT_CHARS {
            used += lines[tail - 1].1.len();
            keep[tail - 1] = true;
            tail -= 1;
        }
        let mut text = String::with_capacity(used + 256);
        let mut shown = Vec::new();
        let mut i = 0;
        while i < total {
            if !keep[i] {
                let from = i;
                while i < total && !keep[i] {
                    i += 1;
                }
                let chars: usize = lines[from..i].iter().map(|(_, t)| t.len()).sum();
                text.push_str(&format!("[events {from}–{} omitted: {chars} characters]\n", i - 1));
                continue;
            }
            let start = text.len();
            text.push_str(&lines[i].1);
            shown.push(Shown { index: i, line: lines[i].0, start, end: text.len() });
            i += 1;
        }
        let digest = sha256(text.as_bytes());
        Transcript { text, digest, events: total, shown }
    }

    /// The text between the markers.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Events left out for length.
    pub fn omitted(&self) -> usize {
        self.events - self.shown.len()
    }

    /// Whether the judge sees event `index`.
    pub fn shows(&self, index: usize) -> bool {
        self.find(index).is_some()
    }

    /// The line in the file of a shown event.
    pub fn line(&self, index: usize) -> Option<u64> {
        self.find(index).map(|s| s.line)
    }

    /// A shown event's text as the judge read it (after its index).
    pub fn event(&self, index: usize) -> Option<&str> {
        let s = self.find(index)?;
        let text = &self.text[s.start..s.end];
        Some(text.split_once("] ").map_or(text, |(_, t)| t).trim_end())
    }

    fn find(&self, index: usize) -> Option<&Shown> {
        self.shown.binary_search_by_key(&index, |s| s.index).ok().map(|i| &self.shown[i])
    }

    /// The first shown event whose text contains `needle`.
    pub fn first_containing(&self, needle: &str) -> Option<usize> {
        self.shown.iter().find(|s| self.text[s.start..s.end].contains(needle)).map(|s| s.index)
    }

    /// The record between markers named after its digest; the session's
    /// text cannot close them, as `</transcript` inside it is escaped.
    pub fn framed(&self) -> String {
        let id = &self.digest["sha256:".len().."sha256:".len() + 16];
        format!("<transcript id=\"{id}\">\n{}</transcript id=\"{id}\">\n", self.text)
    }
}

/// One event as a line of text; `</transcript` escaped, newlines kept.
fn event_text(body: &Body) -> String {
    let text = match body {
        Body::ModelMessage { role, text, reasoning } => {
            let mut out = String::new();
            if let Some(r) = reasoning.as_deref().filter(|r| !r.trim().is_empty()) {
                out.push_str(&format!("{role} reasoning: {}\n", shorten(r)));
            }
            if !text.trim().is_empty() || out.is_empty() {
                out.push_str(&format!("{role}: {}", shorten(text)));
            }
            out
        }
        Body::ToolCall { tool, input, .. } => {
            let args = match input {
                serde_json::Value::Object(m) if m.len() == 1 => {
                    let v = m.values().next().expect("one entry");
                    v.as_str().map(str::to_owned).unwrap_or_else(|| input.to_string())
                }
                serde_json::Value::String(s) => s.clone(),
                _ => input.to_string(),
            };
            format!("tool call {tool}: {}", shorten(&args))
        }
        Body::ToolResult { output, exit_code, is_error, .. } => {
            let status = match (exit_code, is_error) {
                (Some(c), _) => format!(" (exit {c})"),
                (None, true) => " (error)".to_owned(),
                (None, false) => String::new(),
            };
            format!("tool result{status}: {}", shorten(output))
        }
        other => other.kind().to_owned(),
    };
    text.trim_end().replace("</transcript", "<\\/transcript")
}

/// At most [`EVENT_CHARS`] characters: the head and the tail, and how much
/// was left out between them.
fn shorten(s: &str) -> String {
    let count = s.chars().count();
    if count <= EVENT_CHARS {
        return s.to_owned();
    }
    let head: String = s.chars().take(EVENT_CHARS * 2 / 3).collect();
    let tail: String = s.chars().skip(count - EVENT_CHARS / 3).collect();
    format!("{head}\n[… {} characters omitted …]\n{tail}", count - EVENT_CHARS)
}

pub(crate) fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}
