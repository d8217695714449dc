//! The importers against transcripts the pinned clients wrote (the samples
//! in AGENT-CLIENTS.md: one task, one shell call, one final message).

use trace::Body;

use crate::{Format, Limits, Session, parse, read, sniff};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The events as `kind: summary` strings, for comparison.
fn outline(s: &Session) -> Vec<String> {
    s.events
        .iter()
        .map(|e| match &e.body {
            Body::ModelMessage { role, text, reasoning } => {
                format!(
                    "{role}: {text}{}",
                    reasoning.as_deref().map(|r| format!(" [{r}]")).unwrap_or_default()
                )
            }
            Body::ToolCall { tool, input, .. } => format!("call {tool} {input}"),
            Body::ToolResult { is_error, exit_code, .. } => {
                format!("result error={is_error} exit={exit_code:?}")
            }
            other => format!("{other:?}"),
        })
        .collect()
}

const DONE: &str = "assistant: All done: I listed the directory and wrote proof.txt.";

#[test]
fn claude_code_session() {
    let s = parse(Format::ClaudeSession, &fixture("claude-code-2.1.332.jsonl"));
    assert_eq!(s.errors, []);
    assert_eq!(s.client_version.as_deref(), Some("2.1.332"));
    assert_eq!(s.session_id.as_deref(), Some("6fefe1a6-8657-463a-9a3f-258000b42834"));
    assert_eq!(s.model.as_deref(), Some("claude-opus-5-5"));
    assert_eq!(s.permission_mode.as_deref(), Some("bypassPermissions"));
    assert_eq!(
        outline(&s),
        [
            "user: List files and write proof.txt",
            "assistant: I'll run the command.",
            r#"call Bash {"command":"ls -la && echo hello > proof.txt","description":"Scripted step 1"}"#,
            "result error=false exit=None",
            DONE,
        ]
    );
    // Each event names its line.
    assert!(s.events.windows(2).all(|w| w[0].line <= w[1].line));
}

#[test]
fn codex_rollout() {
    let s = parse(Format::CodexRollout, &fixture("codex-0.171.0.jsonl"));
    assert_eq!(s.errors, []);
    assert_eq!(s.client_version.as_deref(), Some("0.171.0"));
    assert_eq!(s.model.as_deref(), Some("gpt-5.5"));
    assert_eq!(s.permission_mode.as_deref(), Some("never/danger-full-access"));
    assert_eq!(
        outline(&s),
        [
            "user: List files and write proof.txt",
            r#"call exec_command {"cmd":"ls -la && echo hello > proof.txt"}"#,
            "result error=false exit=Some(0)",
            DONE,
        ]
    );
}

#[test]
fn gemini_cli_chat_keeps_the_last_record_per_id() {
    let s = parse(Format::GeminiChat, &fixture("gemini-cli-0.61.0.jsonl"));
    assert_eq!(s.errors, []);
    assert_eq!(s.session_id.as_deref(), Some("55d72009-6d60-4fae-80a6-6897d6a09da8"));
    assert_eq!(s.model.as_deref(), Some("gemini-3.8-flash"));
    assert_eq!(
        outline(&s),
        [
            "user: List files and write proof.txt",
            r#"call run_shell_command {"command":"ls -la && echo hello > proof.txt","description":"scripted"}"#,
            "result error=false exit=None",
            DONE,
        ]
    );
}

#[test]
fn junk_is_reported_by_line_and_the_rest_is_read() {
    let mut text = fixture("claude-code-2.1.332.jsonl");
    text.insert_str(0, "{not json\n\u{0}\u{1}binary\n{\"type\":\"from-the-future\",\"x\":1}\n");
    let s = parse(Format::ClaudeSession, &text);
    let lines: Vec<u64> = s.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [1, 2]);
    assert_eq!(outline(&s).last().map(String::as_str), Some(DONE));
    assert!(parse(Format::CodexRollout, "").events.is_empty());
}

#[test]
fn stream_outputs_read_like_their_transcripts() {
    let claude = parse(Format::ClaudeStream, &fixture("claude-code-2.1.332-stream.jsonl"));
    assert_eq!(claude.errors, []);
    assert_eq!(claude.permission_mode.as_deref(), Some("bypassPermissions"));
    assert_eq!(claude.client_version.as_deref(), Some("2.1.332"));
    assert_eq!(outline(&claude).last().map(String::as_str), Some(DONE));
    let codex = parse(Format::CodexExec, &fixture("codex-0.171.0-exec.jsonl"));
    assert_eq!(
        outline(&codex),
        [
            r#"call exec_command {"cmd":"/bin/bash -lc 'ls -la && echo hello > proof.txt'"}"#,
            "result error=false exit=Some(0)",
            DONE,
        ]
    );
    assert_eq!(codex.session_id.as_deref(), Some("01a21f87-bfd1-7c82-aa15-77527ebae3a0"));
    let gemini = parse(Format::GeminiStream, &fixture("gemini-cli-0.61.0-stream.jsonl"));
    assert_eq!(
        outline(&gemini),
        [
            "user: List files and write proof.txt",
            r#"call run_shell_command {"command":"ls -la && echo hello > proof.txt","description":"scripted"}"#,
            "result error=false exit=None",
            DONE,
        ]
    );
    for s in [&claude, &codex, &gemini] {
        assert_eq!(s.final_message.as_deref(), Some(&DONE["assistant: ".len()..]));
    }
}

#[test]
fn every_sample_is_recognised_from_its_first_line() {
    for (file, format) in [
        ("claude-code-2.1.332.jsonl", Format::ClaudeSession),
        ("claude-code-2.1.332-stream.jsonl", Format::ClaudeStream),
        ("codex-0.171.0.jsonl", Format::CodexRollout),
        ("codex-0.171.0-exec.jsonl", Format::CodexExec),
        ("gemini-cli-0.61.0.jsonl", Format::GeminiChat),
        ("gemini-cli-0.61.0-stream.jsonl", Format::GeminiStream),
    ] {
        let text = fixture(file);
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(sniff(&first), Some(format), "{file}");
        let (found, session) = read(text.as_bytes(), None, Limits::default());
        assert_eq!(found, Some(format), "{file}");
        assert!(!session.events.is_empty(), "{file}");
    }
    assert_eq!(sniff(&serde_json::json!({"hello": 1})), None);
}

#[test]
fn an_overlong_line_is_skipped_and_named() {
    let mut text = fixture("codex-0.171.0.jsonl");
    let long = format!(
        "{{\"type\":\"response_item\",\"payload\":{{\"type\":\"message\",\"role\":\"assistant\",\"content\":\"{}\"}}}}\n",
        "x".repeat(200_000)
    );
    text.insert_str(text.find('\n').unwrap() + 1, &long);
    let (_, s) = read(text.as_bytes(), None, Limits { max_line: 100_000 });
    assert_eq!(s.errors.len(), 1);
    assert_eq!(s.errors[0].line, 2);
    assert!(s.errors[0].message.contains("over the limit of 100000"), "{}", s.errors[0].message);
    assert_eq!(outline(&s).last().map(String::as_str), Some(DONE));
}
