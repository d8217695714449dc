//! Agents under test, behind one interface: an agent talks to an
//! [`Environment`] (send a message, call a tool, submit), and the environment
//! runs the tools in the sandbox and records everything.
//!
//! Agents are scripted (a scenario's reference policy replayed step by step
//! as a real agent's tool calls), the built-in loop over a model API
//! ([`api`]), or client programs (Claude Code, Codex, Gemini CLI, any
//! command) that run inside the sandbox against the model gateway.

#![forbid(unsafe_code)]

use formats::EndReason;
use std::borrow::Cow;
use std::fmt;

use gateway::{ModelSpec, Wire};
use scenario::{Manifest, Policy, transform};
use serde_json::json;

pub mod api;

/// What an agent spec on the command line names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentSpec {
    /// `scripted:<policy>`: every scenario's reference policy of that name,
    /// replayed by the harness without a model.
    Scripted { policy: String },
    /// `api`: Perimeter's built-in agent loop (tools `bash`, `read_file`,
    /// `write_file`, `edit_file`, `submit`) over a model API.
    Api { model: ModelSpec },
    /// `cmd:<command>`: a client program run inside the sandbox as the
    /// agent, its model traffic served by the gateway.
    Cmd { command: String, model: ModelSpec },
    /// `claude-code`: Claude Code, unmodified, run inside the sandbox with
    /// its model traffic served by the gateway.
    ClaudeCode { model: ModelSpec },
    /// `codex`: OpenAI's Codex CLI, unmodified, run the same way.
    Codex { model: ModelSpec },
    /// `gemini-cli`: Google's Gemini CLI, unmodified, run the same way.
    GeminiCli { model: ModelSpec },
}

/// Codex's native binary, run directly (its `codex` bin is a Node shim).
const CODEX_BINARY: &str =
    "node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex";

/// How Codex runs headless and offline (AGENT-CLIENTS.md): a private home
/// and a temporary directory that does not contain it, a custom provider on
/// the gateway's Responses API (the built-in `openai` provider would try a
/// WebSocket), no retries, plugins, analytics or update checks, approvals
/// and its own sandbox bypassed (Perimeter's sandbox contains it), stdin
/// closed. A follow-up resumes the most recent session.
fn codex_command(followup: bool) -> String {
    let exec = if followup { "exec resume --last" } else { "exec" };
    let provider = r#"{name=\"Perimeter\",base_url=\"$OPENAI_BASE_URL\",wire_api=\"responses\",env_key=\"OPENAI_API_KEY\",request_max_retries=0,stream_max_retries=0}"#;
    format!(
        "mkdir -p /tmp/codex-home /tmp/codex-tmp && CODEX_HOME=/tmp/codex-home TMPDIR=/tmp/codex-tmp \
         {CLIENTS_DIR}/{CODEX_BINARY} {exec} --json --skip-git-repo-check \
         --dangerously-bypass-approvals-and-sandbox -c model=gpt-5.5 -c model_provider=perimeter \
         -c \"model_providers.perimeter={provider}\" -c features.plugins=false -c analytics.enabled=false \
         -c check_for_update_on_startup=false \"$PERIMETER_PROMPT\" </dev/null"
    )
}

/// Gemini CLI's entry point (a Node script), relative to the clients
/// directory.
const GEMINI_BINARY: &str = "node_modules/.bin/gemini";

/// How Gemini CLI runs headless and offline (AGENT-CLIENTS.md): API-key
/// auth, no telemetry, updates or sandbox of its own, in the user settings
/// of a private home (`GEMINI_CLI_HOME`, a 0700 directory under `/tmp`, so
/// neither its settings nor its chats are changes to the agent's home); no
/// self-relaunch; YOLO approvals on an untrusted workspace; stdin closed. A
/// follow-up resumes the latest session.
fn gemini_cli_command(followup: bool) -> String {
    let resume = if followup { " --resume latest" } else { "" };
    let settings = r#"{"security":{"auth":{"selectedType":"gemini-api-key"}},"privacy":{"usageStatisticsEnabled":false},"telemetry":{"enabled":false},"general":{"enableAutoUpdate":false,"enableAutoUpdateNotification":false},"tools":{"sandbox":false}}"#;
    format!(
        "mkdir -p -m 700 /tmp/gemini-tmp /tmp/gemini-home /tmp/gemini-home/.gemini && printf '%s' '{settings}' > /tmp/gemini-home/.gemini/settings.json && \
         GEMINI_CLI_HOME=/tmp/gemini-home TMPDIR=/tmp/gemini-tmp GEMINI_SANDBOX=false \
         GEMINI_TELEMETRY_ENABLED=false GEMINI_CLI_NO_RELAUNCH=true \
         {CLIENTS_DIR}/{GEMINI_BINARY} -p \"$PERIMETER_PROMPT\"{resume} --yolo --skip-trust --output-format stream-json </dev/null"
    )
}

/// `clients/package.json`, the one place client versions are pinned;
/// `npm ci --prefix clients` installs exactly these.
const PINS: &str = include_str!("../../../clients/package.json");

/// The client agents: spec name, npm package.
pub const CLIENTS: [(&str, &str); 3] = [
    ("claude-code", "@anthropic-ai/claude-code"),
    ("codex", "@openai/codex"),
    ("gemini-cli", "@google/gemini-cli"),
];

/// The version of an npm package pinned in `clients/package.json`.
pub fn pinned_version(package: &str) -> Option<String> {
    let pins: serde_json::Value = serde_json::from_str(PINS).ok()?;
    pins["dependencies"][package].as_str().map(str::to_owned)
}

/// The version of an npm package installed in a clients directory
/// (`node_modules/<package>/package.json`), if it is installed.
pub fn installed_version(clients: &std::path::Path, package: &str) -> Option<String> {
    let manifest = clients.join("node_modules").join(package).join("package.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(manifest).ok()?).ok()?;
    v["version"].as_str().map(str::to_owned)
}

/// Where the installed clients (`clients/node_modules`) appear inside the
/// sandbox.
pub const CLIENTS_DIR: &str = "/srv/agent-clients";

/// Claude Code's binary, relative to the clients directory.
const CLAUDE_BINARY: &str = "node_modules/.bin/claude";

/// How Claude Code runs headless and offline (AGENT-CLIENTS.md): a private
/// config dir, no telemetry, updates or retries, permission prompts skipped
/// (`IS_SANDBOX=1` allows that as root), stdin closed. A follow-up
/// continues the most recent conversation.
fn claude_code_command(followup: bool) -> String {
    let resume = if followup { " --continue" } else { "" };
    format!(
        "CLAUDE_CONFIG_DIR=/tmp/claude-config IS_SANDBOX=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
         DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 CLAUDE_CODE_MAX_RETRIES=0 \
         {CLIENTS_DIR}/{CLAUDE_BINARY} -p \"$PERIMETER_PROMPT\"{resume} --output-format stream-json --verbose \
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
        let err = |message: String| SpecError { spec: spec.into(), message };
        if let Some(policy) = spec.strip_prefix("scripted:") {
            if policy.is_empty() {
                return Err(err("`scripted:` needs a policy name, e.g. `scripted:honest`".into()));
            }
            if model.is_some() {
                return Err(err("a scripted agent takes no `--model`".into()));
            }
            check_policy_name(policy).map_err(err)?;
            return Ok(AgentSpec::Scripted { policy: policy.into() });
        }
        let known = matches!(spec, "api" | "claude-code" | "codex" | "gemini-cli")
            || spec.strip_prefix("cmd:").is_some_and(|c| !c.trim().is_empty());
        if !known {
            return Err(err(
                "expected `scripted:<policy>`, or `api`, `claude-code`, `codex`, `gemini-cli` or `cmd:<command>` with `--model`".into(),
            ));
        }
        let model = model.ok_or_else(|| {
            err(format!("`{spec}` needs `--model`: {}", gateway::relay::MODEL_SPEC_HELP))
        })?;
        let model = ModelSpec::parse(model).map_err(|e| err(format!("`--model {model}`: {e}")))?;
        let agent = match spec {
            "api" => AgentSpec::Api { model },
            "claude-code" => AgentSpec::ClaudeCode { model },
            "codex" => AgentSpec::Codex { model },
            "gemini-cli" => AgentSpec::GeminiCli { model },
            _ => AgentSpec::Cmd { command: spec["cmd:".len()..].into(), model },
        };
        if let Some(ModelSpec::Scripted { policy }) = agent.model() {
            check_policy_name(policy)
                .map_err(|m| err(format!("`--model scripted:{policy}`: {m}")))?;
        }
        // A client is relayed only to an upstream that speaks its API.
        if let (Some(wire), Some(model)) = (agent.client_wire(), agent.model())
            && !model.wires().is_empty()
            && !model.wires().contains(&wire)
        {
            return Err(err(format!("{spec} speaks {wire}, which `{model}` does not")));
        }
        if let AgentSpec::Api { model } = &agent
            && api::wire(model).is_none()
        {
            return Err(err(format!(
                "the built-in loop speaks Anthropic Messages and OpenAI Chat Completions; `{model}` speaks neither"
            )));
        }
        Ok(agent)
    }

    /// The model answering this agent's calls, unless it is a scripted
    /// agent without one.
    pub fn model(&self) -> Option<&ModelSpec> {
        match self {
            AgentSpec::Scripted { .. } => None,
            AgentSpec::Api { model }
            | AgentSpec::Cmd { model, .. }
            | AgentSpec::ClaudeCode { model }
            | AgentSpec::Codex { model }
            | AgentSpec::GeminiCli { model } => Some(model),
        }
    }

    /// The API a client agent speaks, for the ones that speak only one.
    fn client_wire(&self) -> Option<Wire> {
        match self {
            AgentSpec::ClaudeCode { .. } => Some(Wire::Messages),
            AgentSpec::Codex { .. } => Some(Wire::Responses),
            AgentSpec::GeminiCli { .. } => Some(Wire::Gemini),
            _ => None,
        }
    }

    /// The name of the reference policy this agent plays, when it is
    /// scripted (directly, or as the model behind a client).
    pub fn policy_name(&self) -> Option<&str> {
        match self {
            AgentSpec::Scripted { policy } => Some(policy),
            _ => match self.model() {
                Some(ModelSpec::Scripted { policy }) => Some(policy),
                _ => None,
            },
        }
    }

    /// The scenario's policy this spec plays in the episode of `seed`, if
    /// it plays one and the scenario has it. `mixed:<percent>` plays
    /// `misaligned` in that share of episodes, drawn from each episode's
    /// seed, and `honest` in the others.
    ///
    /// Transforms after a `+` (`misaligned+encode+note`) rewrite the policy
    /// played, in order (`scenario::transform`).
    pub fn policy<'a>(&self, manifest: &'a Manifest, seed: u64) -> Option<Cow<'a, Policy>> {
        let (name, transforms) = transform::split(self.policy_name()?).ok()?;
        let name = match name.strip_prefix("mixed:").and_then(mixed_share) {
            Some(share) if draw_percent(seed) < share => "misaligned",
            Some(_) => "honest",
            None => name,
        };
        let policy = manifest.policies.get(name)?;
        Some(match transforms.as_slice() {
            [] => Cow::Borrowed(policy),
            _ => Cow::Owned(transform::apply_all(policy, &transforms)),
        })
    }

    /// The reference policies this spec may play: both for a mixture.
    pub fn policies_played(&self) -> Vec<&str> {
        let base = self.policy_name().map(|n| n.split('+').next().unwrap_or_default());
        match base {
            Some(name) if name.starts_with("mixed:") => vec!["honest", "misaligned"],
            Some(name) => vec![name],
            None => vec![],
        }
    }
}

/// A scripted policy's name as given: a policy, or `mixed:<percent>`, with
/// known transforms after `+`.
fn check_policy_name(name: &str) -> Result<(), String> {
    let (base, _) = transform::split(name)?;
    if let Some(share) = base.strip_prefix("mixed:")
        && mixed_share(share).is_none()
    {
        return Err(format!(
            "`mixed:{share}`: the share of misaligned episodes is a whole percentage, 0 to 100"
        ));
    }
    Ok(())
}

/// `mixed:<percent>`'s share of misaligned episodes.
fn mixed_share(share: &str) -> Option<u64> {
    share.parse().ok().filter(|p| *p <= 100)
}

/// A uniform draw in 0..100 from an episode's seed (SplitMix64's
/// finaliser), so a mixture's choice is fixed by the plan.
fn draw_percent(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) % 100
}

impl fmt::Display for AgentSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentSpec::Scripted { policy } => write!(f, "scripted:{policy}"),
            AgentSpec::Api { model } => write!(f, "api --model {model}"),
            AgentSpec::Cmd { command, model } => write!(f, "cmd:{command} --model {model}"),
            AgentSpec::ClaudeCode { model } => write!(f, "claude-code --model {model}"),
            AgentSpec::Codex { model } => write!(f, "codex --model {model}"),
            AgentSpec::GeminiCli { model } => write!(f, "gemini-cli --model {model}"),
        }
    }
}

impl AgentSpec {
    /// The command that runs this agent inside the sandbox, for agents that
    /// are client programs. With `followup`, the command that asks the
    /// session the agent just finished one more question (the prompt is in
    /// `$PERIMETER_PROMPT` either way). A `cmd:` client runs its own
    /// command both times: the harness tells it which turn it is in the
    /// environment of the whole process tree (`docs/cmd-contract.md`), so
    /// a pipeline or a wrapper passes it on.
    pub fn client_command(&self, followup: bool) -> Option<String> {
        match self {
            AgentSpec::Scripted { .. } | AgentSpec::Api { .. } => None,
            AgentSpec::Cmd { command, .. } => Some(command.clone()),
            AgentSpec::ClaudeCode { .. } => Some(claude_code_command(followup)),
            AgentSpec::Codex { .. } => Some(codex_command(followup)),
            AgentSpec::GeminiCli { .. } => Some(gemini_cli_command(followup)),
        }
    }

    /// Where a client agent keeps its own transcripts inside the sandbox:
    /// its name and a directory whose `*.jsonl` files (recursively) are its
    /// sessions. Each client is given a private config home, so whatever is
    /// there is this episode's.
    pub fn transcripts(&self) -> Option<(&'static str, &'static str)> {
        match self {
            AgentSpec::ClaudeCode { .. } => Some(("claude-code", "/tmp/claude-config/projects")),
            AgentSpec::Codex { .. } => Some(("codex", "/tmp/codex-home/sessions")),
            AgentSpec::GeminiCli { .. } => Some(("gemini-cli", "/tmp/gemini-home/.gemini/tmp")),
            _ => None,
        }
    }

    /// The agent harness this spec names, the model aside: `scripted`,
    /// `api`, `claude-code`, `codex`, `gemini-cli` or `cmd`.
    pub fn scaffold(&self) -> &'static str {
        match self {
            AgentSpec::Scripted { .. } => "scripted",
            AgentSpec::Api { .. } => "api",
            AgentSpec::Cmd { .. } => "cmd",
            AgentSpec::ClaudeCode { .. } => "claude-code",
            AgentSpec::Codex { .. } => "codex",
            AgentSpec::GeminiCli { .. } => "gemini-cli",
        }
    }

    /// How the agent's own permission checks are set: client agents run
    /// with them off, since Perimeter's sandbox is the boundary.
    pub fn permission_mode(&self) -> &'static str {
        match self {
            AgentSpec::ClaudeCode { .. } => "bypassPermissions (--dangerously-skip-permissions)",
            AgentSpec::Codex { .. } => {
                "never/danger-full-access (--dangerously-bypass-approvals-and-sandbox)"
            }
            AgentSpec::GeminiCli { .. } => "yolo",
            AgentSpec::Cmd { .. } => "as the command sets it",
            AgentSpec::Scripted { .. } | AgentSpec::Api { .. } => {
                "none (the harness runs every tool call)"
            }
        }
    }

    /// The npm package of a client agent, with its pinned version.
    pub fn client_package(&self) -> Option<(&'static str, String)> {
        let name = match self {
            AgentSpec::ClaudeCode { .. } => "claude-code",
            AgentSpec::Codex { .. } => "codex",
            AgentSpec::GeminiCli { .. } => "gemini-cli",
            _ => return None,
        };
        let (_, package) = CLIENTS.iter().find(|(n, _)| *n == name)?;
        Some((package, pinned_version(package).unwrap_or_default()))
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

/// A client's final answer, read from what it printed: Claude Code's
/// `result` line (`--output-format stream-json`), Codex's last
/// `agent_message` item (`exec --json`), Gemini CLI's assistant messages
/// after its last tool use (`--output-format stream-json`). Plain output is
/// its own answer.
pub fn final_answer(stdout: &str) -> String {
    let mut answer: Option<String> = None;
    let mut gemini = String::new();
    let mut json_lines = false;
    for line in stdout.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        json_lines = true;
        match (v["type"].as_str(), v["item"]["type"].as_str()) {
            (Some("result"), _) if v["result"].is_string() => {
                answer = v["result"].as_str().map(str::to_owned)
            }
            (Some("item.completed"), Some("agent_message")) => {
                answer = v["item"]["text"].as_str().map(str::to_owned)
            }
            (Some("message"), _) if v["role"] == "assistant" => {
                gemini.push_str(v["content"].as_str().unwrap_or_default())
            }
            (Some("tool_use" | "tool_result"), _) => gemini.clear(),
            _ => {}
        }
    }
    match answer {
        Some(a) => a,
        None if json_lines && !gemini.is_empty() => gemini,
        None => stdout.trim().to_owned(),
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
    /// Read a whole file (absolute path).
    ReadFile { path: String },
    /// Replace the one occurrence of `old` in a file (absolute path).
    EditFile { path: String, old: String, new: String },
}

impl ToolCall {
    pub fn name(&self) -> &'static str {
        match self {
            ToolCall::Bash { .. } => "bash",
            ToolCall::WriteFile { .. } => "write_file",
            ToolCall::ReadFile { .. } => "read_file",
            ToolCall::EditFile { .. } => "edit_file",
        }
    }

    /// The call's arguments as the agent would send them.
    pub fn input(&self) -> serde_json::Value {
        match self {
            ToolCall::Bash { command } => json!({ "command": command }),
            ToolCall::WriteFile { path, content } => json!({ "path": path, "content": content }),
            ToolCall::ReadFile { path } => json!({ "path": path }),
            ToolCall::EditFile { path, old, new } => {
                json!({ "path": path, "old_text": old, "new_text": new })
            }
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
    pub reason: EndReason,
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
        assert!(claude.client_command(false).unwrap().contains("--dangerously-skip-permissions"));
        let api = AgentSpec::parse("api", Some("openai-compatible:http://h:1/v1#q")).unwrap();
        assert_eq!(api.to_string(), "api --model openai-compatible:http://h:1/v1#q");
        assert_eq!(api.policy_name(), None);
        assert_eq!(AgentSpec::parse("codex", Some("openai:gpt")).unwrap().policy_name(), None);
        let bad = [
            ("scripted:", None),
            ("claude-code", None),
            ("", None),
            ("cmd:x", None),
            ("cmd:x", Some("gpt")),
            ("scripted:honest", Some("scripted:x")),
            // Each client is relayed only to an API it speaks.
            ("claude-code", Some("openai:gpt")),
            ("codex", Some("anthropic:claude")),
            ("gemini-cli", Some("openai-compatible:http://h/v1#m")),
            ("api", Some("gemini:g")),
        ];
        for (spec, model) in bad {
            assert_eq!(AgentSpec::parse(spec, model).unwrap_err().spec, spec);
        }
    }

    #[test]
    fn a_mixture_plays_misaligned_in_its_share_of_episodes() {
        assert!(AgentSpec::parse("scripted:mixed:101", None).is_err());
        assert!(AgentSpec::parse("scripted:mixed:x", None).is_err());
        let suite = scenario::Suite::builtin().unwrap();
        let manifest = &suite.get("release-gate").unwrap().manifest;
        let misaligned = &manifest.policies["misaligned"];
        let share = |spec: &str| {
            let agent = AgentSpec::parse(spec, None).unwrap();
            (0..1000u64)
                .filter(|seed| std::ptr::eq(&*agent.policy(manifest, *seed).unwrap(), misaligned))
                .count()
        };
        assert_eq!(share("scripted:mixed:0"), 0);
        assert_eq!(share("scripted:mixed:100"), 1000);
        let quarter = share("scripted:mixed:25");
        assert!((200..300).contains(&quarter), "{quarter} of 1000");
        let agent = AgentSpec::parse("scripted:mixed:25", None).unwrap();
        assert_eq!(agent.policies_played(), ["honest", "misaligned"]);
    }

    #[test]
    fn every_client_is_pinned() {
        for (name, package) in CLIENTS {
            let version = pinned_version(package).unwrap();
            assert!(version.chars().next().unwrap().is_ascii_digit(), "{package} {version}");
            let spec = AgentSpec::parse(name, Some("scripted:honest")).unwrap();
            assert_eq!(spec.client_package(), Some((package, version)));
        }
    }

    #[test]
    fn reads_each_clients_final_answer() {
        // Last lines as each client prints them (AGENT-CLIENTS.md samples).
        let claude = r#"{"type":"assistant","message":{"content":[{"type":"text","text":"All done."}]}}
{"type":"result","subtype":"success","is_error":false,"result":"All done.","session_id":"6fefe1a6"}"#;
        let codex = r#"{"type":"item.completed","item":{"id":"item_0","type":"command_execution","command":"ls","exit_code":0}}
{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"All done."}}
{"type":"turn.completed","usage":{"input_tokens":200}}"#;
        assert_eq!(final_answer(claude), "All done.");
        assert_eq!(final_answer(codex), "All done.");
        let gemini = "{\"type\":\"message\",\"role\":\"assistant\",\"content\":\"Let me look.\",\"delta\":true}\n{\"type\":\"tool_use\"}\n{\"type\":\"message\",\"role\":\"assistant\",\"content\":\"Do\",\"delta\":true}\n{\"type\":\"message\",\"role\":\"assistant\",\"content\":\"ne.\",\"delta\":true}\n";
        assert_eq!(final_answer(gemini), "Done.");
        assert_eq!(final_answer("  plain answer\n"), "plain answer");
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
                return Err(Stop { reason: EndReason::WallTime, detail: String::new() });
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
