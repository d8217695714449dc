//! How an API-neutral [`Call`] becomes a call of one of the tools a client
//! offers. Clients name their tools differently; the tables below are every
//! convention the gateway knows, in order of preference.

use serde_json::{Value, json};

use crate::Call;

/// Shell tools, with how each takes the command.
const SHELL: &[(&str, Shape)] = &[
    ("Bash", Shape::Command),              // Claude Code
    ("bash", Shape::Command),              // Perimeter's built-in loop
    ("exec_command", Shape::Cmd),          // Codex
    ("shell_command", Shape::Command),     // Codex, older
    ("run_shell_command", Shape::Command), // Gemini CLI
    ("shell", Shape::Argv),                // Codex, oldest
];

/// Whole-file write tools, with the name of their path argument.
const WRITE: &[(&str, &str)] = &[
    ("Write", "file_path"), // Claude Code
    ("write_file", "path"), // Perimeter's built-in loop
];

#[derive(Clone, Copy)]
enum Shape {
    /// `{"command": "..."}`
    Command,
    /// `{"cmd": "..."}`
    Cmd,
    /// `{"command": ["bash", "-lc", "..."]}`
    Argv,
}

/// Whether the client offers a shell tool the gateway can drive. A request
/// without one is a side call (a title, a summary, a classifier).
pub fn offers_shell(offered: &[String]) -> bool {
    SHELL.iter().any(|(name, _)| offered.iter().any(|o| o == name))
}

/// The tool name and arguments that carry out `call` with the offered
/// tools: a write tool when one is offered, else the shell (a write becomes
/// an exact heredoc). `None` when no shell tool is offered.
pub fn render(call: Call, offered: &[String]) -> Option<(&'static str, Value)> {
    let has = |name: &str| offered.iter().any(|o| o == name);
    if let Call::Write { path, content } = &call
        && let Some((name, arg)) = WRITE.iter().find(|(name, _)| has(name))
    {
        return Some((name, json!({ *arg: path, "content": content })));
    }
    let (name, shape) = SHELL.iter().find(|(name, _)| has(name))?;
    let command = match call {
        Call::Shell { command } => command,
        Call::Write { path, content } => crate::heredoc(&path, &content),
    };
    let args = match shape {
        Shape::Command => json!({ "command": command }),
        Shape::Cmd => json!({ "cmd": command }),
        Shape::Argv => json!({ "command": ["bash", "-lc", command] }),
    };
    Some((name, args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn picks_the_preferred_offered_tool() {
        let shell = || Call::Shell { command: "ls".into() };
        let write = || Call::Write { path: "/h/a".into(), content: "x".into() };
        assert_eq!(
            render(shell(), &offered(&["Write", "Bash"])),
            Some(("Bash", json!({"command": "ls"})))
        );
        assert_eq!(
            render(shell(), &offered(&["shell", "exec_command"])),
            Some(("exec_command", json!({"cmd": "ls"})))
        );
        assert_eq!(
            render(shell(), &offered(&["shell"])),
            Some(("shell", json!({"command": ["bash", "-lc", "ls"]})))
        );
        assert_eq!(
            render(write(), &offered(&["bash", "write_file"])),
            Some(("write_file", json!({"path": "/h/a", "content": "x"})))
        );
        let (name, args) = render(write(), &offered(&["bash"])).unwrap();
        assert_eq!(name, "bash");
        assert!(args["command"].as_str().unwrap().contains("cat > '/h/a'"));
        assert_eq!(render(shell(), &offered(&["web_search"])), None);
        assert!(!offers_shell(&offered(&["Write"])));
    }
}
