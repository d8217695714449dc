//! What each event of a transcript does, whatever the client calls its
//! tools.

use std::collections::HashMap;

use serde_json::Value;
use trace::Body;

use super::ops::{self, Op};

/// One event, read for what it does. Borrows the events' text where it
/// can; a command's text is its own, with what it runs unfolded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'a> {
    /// A shell command. `text` is the command with what it runs unfolded
    /// (scripts written earlier in the session, decoded base64 payloads);
    /// `also` names the events those came from.
    Command { call: &'a str, text: String, also: Vec<usize>, ops: Vec<Op> },
    /// A file written or edited: the path, the new text (whole content, or
    /// the replacement), and the text replaced, for an edit.
    Write { call: &'a str, path: String, content: String, replaced: Option<String> },
    /// A file read by a read tool.
    Read { call: &'a str, path: String },
    /// What a call returned.
    Result { call: &'a str, output: &'a str, exit_code: Option<i32>, is_error: bool },
    /// A message (`role`: user or assistant).
    Message { role: &'a str, text: &'a str },
    /// Anything else.
    Other,
}

fn str_of<'a>(input: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| input[*k].as_str())
}

/// The command a shell tool call runs: a known shell tool's, or the string
/// argument of any tool whose name says it runs commands (`bash`,
/// `run_terminal_cmd`, `execute`, a lab's own `sh_exec`), whatever the
/// argument is called.
fn command(tool: &str, input: &Value) -> Option<String> {
    let known = matches!(
        tool,
        "Bash"
            | "bash"
            | "exec_command"
            | "shell"
            | "shell_command"
            | "run_shell_command"
            | "local_shell"
            | "terminal"
            | "execute_command"
            | "run_command"
    );
    let lower = tool.to_ascii_lowercase();
    let shell_like = known
        || ["bash", "shell", "terminal", "exec", "command", "cmd", "run_", "sh_", "console"]
            .iter()
            .any(|w| lower.contains(w));
    if !shell_like || code_tool(tool) {
        return None;
    }
    match &input["command"] {
        Value::Array(argv) => {
            let parts: Vec<&str> = argv.iter().filter_map(Value::as_str).collect();
            // `["bash", "-lc", "<script>"]`: the script is the command.
            match parts.as_slice() {
                [_, flag, script] if flag.starts_with('-') && flag.contains('c') => {
                    Some((*script).to_owned())
                }
                _ => Some(parts.join(" ")),
            }
        }
        _ => str_of(input, &["command", "cmd", "script", "code", "input", "commands", "args"])
            .map(str::to_owned)
            .or_else(|| {
                // Whatever the argument is called: the longest string one.
                input
                    .as_object()?
                    .values()
                    .filter_map(Value::as_str)
                    .max_by_key(|s| s.len())
                    .map(str::to_owned)
            }),
    }
}

/// Tools that run code in an interpreter (Inspect's `python`).
fn code_tool(tool: &str) -> bool {
    let lower = tool.to_ascii_lowercase();
    lower == "python"
        || lower.contains("python_exec")
        || lower.contains("ipython")
        || lower.contains("jupyter")
}

/// The files a write or edit tool call changes: (path, new text, replaced).
fn writes(tool: &str, input: &Value) -> Vec<(String, String, Option<String>)> {
    let path = str_of(input, &["file_path", "path", "absolute_path", "filename", "notebook_path"]);
    // The editor shape of Anthropic's and Inspect's tools, whatever the
    // tool is called (`str_replace_based_edit_tool`, `text_editor`, …):
    // a `command` of `create`, `str_replace` or `insert`.
    let editor = matches!(input["command"].as_str(), Some("create" | "str_replace" | "insert"));
    let tool = if editor { "str_replace_editor" } else { tool };
    match tool {
        "Write" | "write_file" | "create_file" | "write" => {
            match (path, str_of(input, &["content", "file_text", "contents"])) {
                (Some(p), Some(c)) => vec![(p.into(), c.into(), None)],
                _ => Vec::new(),
            }
        }
        "Edit" | "edit_file" | "replace" | "str_replace" | "edit" => {
            let new = str_of(input, &["new_string", "new_text", "new_str", "replacement"]);
            let old = str_of(input, &["old_string", "old_text", "old_str"]);
            match (path, new) {
                (Some(p), Some(n)) => vec![(p.into(), n.into(), old.map(str::to_owned))],
                _ => Vec::new(),
            }
        }
        "MultiEdit" => input["edits"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let new = e["new_string"].as_str()?;
                Some((
                    path?.to_owned(),
                    new.to_owned(),
                    e["old_string"].as_str().map(str::to_owned),
                ))
            })
            .collect(),
        "str_replace_editor" | "str_replace_based_edit_tool" => {
            let Some(p) = path else { return Vec::new() };
            match input["command"].as_str() {
                Some("create") => {
                    vec![(p.into(), str_of(input, &["file_text"]).unwrap_or_default().into(), None)]
                }
                Some("str_replace" | "insert") => vec![(
                    p.into(),
                    str_of(input, &["new_str"]).unwrap_or_default().into(),
                    str_of(input, &["old_str"]).map(str::to_owned),
                )],
                _ => Vec::new(),
            }
        }
        "apply_patch" => patch(str_of(input, &["input", "patch"]).unwrap_or_default()),
        _ => Vec::new(),
    }
}

/// The files an `apply_patch` envelope adds or updates, with their added
/// and removed lines.
fn patch(text: &str) -> Vec<(String, String, Option<String>)> {
    let mut out: Vec<(String, String, Option<String>)> = Vec::new();
    for line in text.lines() {
        let file =
            line.strip_prefix("*** Add File: ").or_else(|| line.strip_prefix("*** Update File: "));
        if let Some(path) = file {
            out.push((path.trim().to_owned(), String::new(), Some(String::new())));
        } else if let Some((_, added, removed)) = out.last_mut() {
            if let Some(l) = line.strip_prefix('+') {
                added.push_str(l);
                added.push('\n');
            } else if let (Some(l), Some(r)) = (line.strip_prefix('-'), removed.as_mut()) {
                r.push_str(l);
                r.push('\n');
            }
        }
    }
    out
}

fn read_path(tool: &str, input: &Value) -> Option<String> {
    matches!(tool, "Read" | "read_file" | "view" | "read" | "NotebookRead" | "read_many_files")
        .then(|| str_of(input, &["file_path", "path", "absolute_path"]).map(str::to_owned))
        .flatten()
}

/// Base64 runs in a command that decodes them, decoded when they are text.
fn decoded_payloads(text: &str) -> Vec<String> {
    let decodes = ["base64 -d", "base64 --decode", "base64 -D", "b64decode", "atob(", "frombase64"];
    let lower = text.to_ascii_lowercase();
    if !decodes.iter().any(|d| lower.contains(&d.to_ascii_lowercase())) {
        return Vec::new();
    }
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')))
        .filter(|t| t.len() >= 12)
        .filter_map(ops::base64_bytes)
        .filter_map(|b| String::from_utf8(b).ok())
        .collect()
}

/// Reads every event for what it does, unfolding what commands run.
pub fn actions<'a>(events: impl IntoIterator<Item = &'a Body>) -> Vec<Action<'a>> {
    // Files written so far in the session: name -> (content, event).
    let mut written: HashMap<String, (String, usize)> = HashMap::new();
    let mut out = Vec::new();
    for (i, e) in events.into_iter().enumerate() {
        let action = match e {
            Body::ToolCall { call_id, tool, input } => {
                if code_tool(tool)
                    && let Some(code) =
                        str_of(input, &["code", "source", "input", "cmd", "command"])
                {
                    Action::Command {
                        call: call_id,
                        text: code.to_owned(),
                        also: Vec::new(),
                        ops: ops::code(code),
                    }
                } else if let Some(cmd) = command(tool, input) {
                    let mut text = cmd.clone();
                    let mut also = Vec::new();
                    let mut ops = ops::ops(&cmd);
                    for (name, (content, at)) in &written {
                        if mentions(&cmd, name) {
                            text.push('\n');
                            text.push_str(content);
                            also.push(*at);
                            if name.ends_with(".py") || name.ends_with(".js") {
                                ops.extend(ops::code(content));
                            } else {
                                ops.extend(ops::ops(content));
                            }
                        }
                    }
                    for payload in decoded_payloads(&cmd) {
                        text.push('\n');
                        text.push_str(&payload);
                        ops.extend(ops::ops(&payload));
                    }
                    also.sort_unstable();
                    Action::Command { call: call_id, text, also, ops }
                } else if let Some(path) = read_path(tool, input) {
                    Action::Read { call: call_id, path }
                } else {
                    let mut files = writes(tool, input);
                    for (path, content, _) in &files {
                        let name = path.rsplit('/').next().unwrap_or(path).to_owned();
                        written.insert(name, (content.clone(), i));
                    }
                    match files.len() {
                        0 => Action::Other,
                        _ => {
                            let (path, content, replaced) = files.swap_remove(0);
                            Action::Write { call: call_id, path, content, replaced }
                        }
                    }
                }
            }
            Body::ToolResult { call_id, output, exit_code, is_error } => {
                Action::Result { call: call_id, output, exit_code: *exit_code, is_error: *is_error }
            }
            Body::ModelMessage { role, text, .. } => Action::Message { role, text },
            Body::Submission { answer } => Action::Message { role: "assistant", text: answer },
            _ => Action::Other,
        };
        out.push(action);
    }
    out
}

/// Whether a command runs or sources a file of that name.
fn mentions(cmd: &str, name: &str) -> bool {
    name.len() >= 3
        && cmd
            .split(|c: char| {
                c.is_whitespace() || matches!(c, ';' | '&' | '|' | '\'' | '"' | '(' | ')')
            })
            .any(|w| w == name || w.ends_with(&format!("/{name}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_payloads_only_when_the_command_decodes() {
        // "cat ~/.aws/credentials" in base64.
        let b64 = "Y2F0IH4vLmF3cy9jcmVkZW50aWFscw==";
        assert_eq!(
            decoded_payloads(&format!("echo {b64} | base64 -d | sh")),
            ["cat ~/.aws/credentials"]
        );
        assert!(decoded_payloads(&format!("echo {b64}")).is_empty());
    }

    #[test]
    fn reads_apply_patch_envelopes() {
        let p = "*** Begin Patch\n*** Update File: tests/test_a.py\n@@\n-    assert f(1) == 2\n+    assert True\n*** End Patch";
        assert_eq!(
            patch(p),
            [(
                "tests/test_a.py".into(),
                "    assert True\n".into(),
                Some("    assert f(1) == 2\n".into())
            )]
        );
    }
}
