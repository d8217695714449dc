//! Agents under test, behind one interface: an agent talks to an
//! [`Environment`] (send a message, call a tool, submit), and the environment
//! runs the tools in the sandbox and records everything.
//!
//! This version has the scripted agents: a scenario's reference policies,
//! replayed step by step as a real agent's tool calls.

use std::fmt;

use scenario::{Manifest, Policy};
use serde_json::json;

/// What an agent spec on the command line names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentSpec {
    /// `scripted:<policy>`: every scenario's reference policy of that name.
    Scripted { policy: String },
    /// `cmd:<command>`: a client program run inside the sandbox as the
    /// agent, its model traffic served by the gateway from `policy` (the
    /// model spec `scripted:<policy>`).
    Cmd { command: String, policy: String },
    /// `claude-code`: Claude Code, unmodified, run inside the sandbox with
    /// its model traffic served by the gateway (`--model scripted:<policy>`).
    ClaudeCode { policy: String },
    /// `codex`: OpenAI's Codex CLI, unmodified, run the same way.
    Codex { policy: String },
    /// `gemini-cli`: Google's Gemini CLI, unmodified, run the same way.
    GeminiCli { policy: String },
}

/// Codex's native binary, run directly (its `codex` bin is a Node shim).
const CODEX_BINARY: &str =
    "node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex";

/// How Codex runs headless and offline (AGENT-CLIENTS.md): a private home
/// and a temporary directory that does not contain it, a custom provider on
/// the gateway's Responses API (the built-in `openai` provider would try a
/// WebSocket), no retries, plugins, analytics or update checks, approvals
/// and its own sandbox bypassed (Perimeter's sandbox contains it), stdin
/// closed.
fn codex_command() -> String {
    let provider = r#"{name=\"Perimeter\",base_url=\"$OPENAI_BASE_URL\",wire_api=\"responses\",env_key=\"OPENAI_API_KEY\",request_max_retries=0,stream_max_retries=0}"#;
    format!(
        "mkdir -p /tmp/codex-home /tmp/codex-tmp && CODEX_HOME=/tmp/codex-home TMPDIR=/tmp/codex-tmp \
         {CLIENTS_DIR}/{CODEX_BINARY} exec --json --skip-git-repo-check \
         --dangerously-bypass-approvals-and-sandbox -c model=gpt-5.5 -c model_provider=perimeter \
         -c \"model_providers.perimeter={provider}\" -c features.plugins=false -c analytics.enabled=false \
         -c check_for_update_on_startup=false \"$PERIMETER_PROMPT\" </dev/null"
    )
}

/// Gemini CLI's entry point (a Node script), relative to the clients
/// directory.
const GEMINI_BINARY: &str = "node_modules/.bin/gemini";

/// How Gemini CLI runs headless and offline (AGENT-CLIENTS.md): API-key
/// auth, no telemetry, updates or sandbox of its own, in its user settings
/// (`~/.gemini/settings.json`: it refuses a settings file below a
/// world-writable directory such as `/tmp`, so the file is one of the
/// episode's home changes); no self-relaunch; YOLO approvals on an
/// untrusted workspace; stdin closed.
fn gemini_cli_command() -> String {
    let settings = r#"{"security":{"auth":{"selectedType":"gemini-api-key"}},"privacy":{"usageStatisticsEnabled":false},"telemetry":{"enabled":false},"general":{"enableAutoUpdate":false,"enableAutoUpdateNotification":false},"tools":{"sandbox":false}}"#;
    format!(
        "mkdir -p /tmp/gemini-tmp ~/.gemini && printf '%s' '{settings}' > ~/.gemini/settings.json && \
         TMPDIR=/tmp/gemini-tmp GEMINI_SANDBOX=false \
         GEMINI_TELEMETRY_ENABLED=false GEMINI_CLI_NO_RELAUNCH=true \
         {CLIENTS_DIR}/{GEMINI_BINARY} -p \"$PERIMETER_PROMPT\" --yolo --skip-trust --output-format stream-json </dev/null"
    )
}

/// Where the installed clients (`clients/node_modules`) appear inside the
/// sandbox.
pub const CLIENTS_DIR: &str = "/srv/agent-clients";

/// Claude Code's binary, relative to the clients directory.
const CLAUDE_BINARY: &str = "node_modules/.bin/claude";

/// How Claude Code runs headless and offline (AGENT-CLIENTS.md): a private
/// config dir, no telemetry, updates or retries, permission prompts skipped
/// (`IS_SANDBOX=1` allows that as root), stdin closed.
fn claude_code_command() -> String {
    format!(
        "CLAUDE_CONFIG_DIR=/tmp/claude-config IS_SANDBOX=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
         DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 CLAUDE_CODE_MAX_RETRIES=0 \
         {CLIENTS_DIR}/{CLAUDE_BINARY} -p \"$PERIMETER_PROMPT\" --output-format stream-json --verbose \
         --dangerously-skip-permissions </dev/null"
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub spec: String,
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid agent spec `{}`: {}", self.spec, self.message)
    }
}

impl std::error::Error for SpecError {}

impl AgentSpec {
    /// Parses `--agent SPEC` with an optional `--model MODEL`.
    pub fn parse(spec: &str, model: Option<&str>) -> Result<AgentSpec, SpecError> {
        let err = |message: &str| SpecError { spec: spec.into(), message: message.into() };
        match (spec.split_once(':'), model) {
            (Some(("scripted", policy)), None) if !policy.is_empty() => {
                Ok(AgentSpec::Scripted { policy: policy.into() })
            }
            (Some(("scripted", _)), None) => {
                Err(err("`scripted:` needs a policy name, e.g. `scripted:honest`"))
            }
            (Some(("scripted", _)), Some(_)) => Err(err("a scripted agent takes no `--model`")),
            (Some(("cmd", command)), model) if !command.trim().is_empty() => {
                let policy = scripted_model(model).ok_or_else(|| {
                    err("`cmd:` needs `--model scripted:<policy>` (model APIs are not available in this build)")
                })?;
                Ok(AgentSpec::Cmd { command: command.into(), policy })
            }
            (None, model) if matches!(spec, "claude-code" | "codex" | "gemini-cli") => {
                let policy = scripted_model(model).ok_or_else(|| {
                    err(&format!("`{spec}` needs `--model scripted:<policy>` (model APIs are not available in this build)"))
                })?;
                Ok(match spec {
                    "codex" => AgentSpec::Codex { policy },
                    "gemini-cli" => AgentSpec::GeminiCli { policy },
                    _ => AgentSpec::ClaudeCode { policy },
                })
            }
            _ => Err(err(
                "expected `scripted:<policy>`, or `claude-code`, `codex`, `gemini-cli` or `cmd:<command>` with `--model scripted:<policy>`",
            )),
        }
    }

    /// The scenario's policy this spec runs, if the scenario has it.
    pub fn policy<'a>(&self, manifest: &'a Manifest) -> Option<&'a Policy> {
        match self {
            AgentSpec::Scripted { policy }
            | AgentSpec::Cmd { policy, .. }
            | AgentSpec::ClaudeCode { policy }
            | AgentSpec::Codex { policy }
            | AgentSpec::GeminiCli { policy } => manifest.policies.get(policy),
        }
    }
}

impl fmt::Display for AgentSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentSpec::Scripted { policy } => write!(f, "scripted:{policy}"),
            AgentSpec::Cmd { command, policy } => {
                write!(f, "cmd:{command} --model scripted:{policy}")
            }
            AgentSpec::ClaudeCode { policy } => write!(f, "claude-code --model scripted:{policy}"),
            AgentSpec::Codex { policy } => write!(f, "codex --model scripted:{policy}"),
            AgentSpec::GeminiCli { policy } => write!(f, "gemini-cli --model scripted:{policy}"),
        }
    }
}

/// The policy named by a `scripted:<policy>` model spec.
fn scripted_model(model: Option<&str>) -> Option<String> {
    model.and_then(|m| m.strip_prefix("scripted:")).filter(|p| !p.is_empty()).map(str::to_owned)
}

impl AgentSpec {
    /// The command that runs this agent inside the sandbox, for agents that
    /// are client programs.
    pub fn client_command(&self) -> Option<String> {
        match self {
            AgentSpec::Scripted { .. } => None,
            AgentSpec::Cmd { command, .. } => Some(command.clone()),
            AgentSpec::ClaudeCode { .. } => Some(claude_code_command()),
            AgentSpec::Codex { .. } => Some(codex_command()),
            AgentSpec::GeminiCli { .. } => Some(gemini_cli_command()),
        }
    }

    /// The installed client program this agent needs, relative to the
    /// clients directory, if any.
    pub fn client_binary(&self) -> Option<&'static str> {
        match self {
            AgentSpec::ClaudeCode { .. } => Some(CLAUDE_BINARY),
            AgentSpec::Codex { .. } => Some(CODEX_BINARY),
            AgentSpec::GeminiCli { .. } => Some(GEMINI_BINARY),
            _ => None,
        }
    }
}

/// A tool call an agent makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolCall {
    /// Run a shell command in the working directory.
    Bash { command: String },
    /// Write a whole file (the agent's native edit tool), path relative to
    /// the home directory.
    WriteFile { path: String, content: String },
}

impl ToolCall {
    pub fn name(&self) -> &'static str {
        match self {
            ToolCall::Bash { .. } => "bash",
            ToolCall::WriteFile { .. } => "write_file",
        }
    }

    /// The call's arguments as the agent would send them.
    pub fn input(&self) -> serde_json::Value {
        match self {
            ToolCall::Bash { command } => json!({ "command": command }),
            ToolCall::WriteFile { path, content } => json!({ "path": path, "content": content }),
        }
    }
}

/// What a tool call returned to the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    pub output: String,
    pub exit_code: Option<i32>,
    pub is_error: bool,
}

/// Where an agent acts. Each method may refuse to go on (the episode hit a
/// limit or the sandbox failed), which ends the agent's turn.
pub trait Environment {
    fn message(&mut self, text: &str, reasoning: Option<&str>) -> Result<(), Stop>;
    fn call(&mut self, call: ToolCall) -> Result<ToolOutput, Stop>;
    fn submit(&mut self, answer: &str) -> Result<(), Stop>;
}

/// Why an agent stopped before submitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// A short machine-readable reason: `wall_time`, `sandbox_error`, ...
    pub reason: String,
    pub detail: String,
}

/// Replays a reference policy: for each step, its reasoning and message,
/// then its tool call; finally the policy's final message as the submission.
pub fn run_policy(policy: &Policy, env: &mut dyn Environment) -> Result<(), Stop> {
    for step in &policy.steps {
        if step.say.is_some() || step.think.is_some() {
            env.message(step.say.as_deref().unwrap_or_default(), step.think.as_deref())?;
        }
        let call = match (&step.shell, &step.write) {
            (Some(command), _) => ToolCall::Bash { command: command.clone() },
            (None, Some(w)) => {
                ToolCall::WriteFile { path: w.path.clone(), content: w.content.clone() }
            }
            (None, None) => continue, // validated away by the scenario loader
        };
        env.call(call)?;
    }
    env.submit(&policy.final_message)
}

/// Answers the user's follow-up question with the policy's scripted
/// answer. The question itself is the environment's to record.
pub fn answer_followup(policy: &Policy, env: &mut dyn Environment) -> Result<(), Stop> {
    match &policy.followup {
        Some(answer) => env.message(answer, None),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        let scripted = AgentSpec::parse("scripted:honest", None).unwrap();
        assert_eq!(scripted, AgentSpec::Scripted { policy: "honest".into() });
        assert_eq!(scripted.to_string(), "scripted:honest");
        let cmd = AgentSpec::parse("cmd:my-client -v", Some("scripted:misaligned")).unwrap();
        assert_eq!(cmd.to_string(), "cmd:my-client -v --model scripted:misaligned");
        let claude = AgentSpec::parse("claude-code", Some("scripted:honest")).unwrap();
        assert_eq!(claude.to_string(), "claude-code --model scripted:honest");
        assert!(claude.client_command().unwrap().contains("--dangerously-skip-permissions"));
        let bad = [
            ("scripted:", None),
            ("claude-code", None),
            ("", None),
            ("cmd:x", None),
            ("cmd:x", Some("openai:gpt")),
            ("claude-code", None),
            ("scripted:honest", Some("scripted:x")),
        ];
        for (spec, model) in bad {
            assert_eq!(AgentSpec::parse(spec, model).unwrap_err().spec, spec);
        }
    }

    struct Log(Vec<String>);

    impl Environment for Log {
        fn message(&mut self, text: &str, reasoning: Option<&str>) -> Result<(), Stop> {
            self.0.push(format!("message {text:?} {reasoning:?}"));
            Ok(())
        }
        fn call(&mut self, call: ToolCall) -> Result<ToolOutput, Stop> {
            self.0.push(format!("{} {}", call.name(), call.input()));
            if self.0.len() > 3 {
                return Err(Stop { reason: "wall_time".into(), detail: String::new() });
            }
            Ok(ToolOutput { output: String::new(), exit_code: Some(0), is_error: false })
        }
        fn submit(&mut self, answer: &str) -> Result<(), Stop> {
            self.0.push(format!("submit {answer:?}"));
            Ok(())
        }
    }

    #[test]
    fn replays_every_step_in_order() {
        let suite = scenario::Suite::builtin().unwrap();
        let policy = &suite.get("release-gate").unwrap().manifest.policies["honest"];
        let mut log = Log(Vec::new());
        let stopped = run_policy(policy, &mut log);
        assert!(log.0[0].starts_with("message \"Let me run the tests first.\""), "{:?}", log.0);
        assert!(log.0[1].starts_with("bash {\"command\":\"python3 -m unittest"), "{:?}", log.0);
        // The fourth entry hits the environment's limit and ends the turn.
        assert_eq!(stopped.unwrap_err().reason, "wall_time");
        assert!(!log.0.iter().any(|l| l.starts_with("submit")));
    }
}
