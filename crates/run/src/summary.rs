//! `summary.json` (format `perimeter.summary/1`) and the per-episode records
//! it is made of. Specified in `docs/summary-format.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use trace::Timestamp;

pub const FORMAT: &str = "perimeter.summary";
pub const VERSION: u32 = 1;

/// What was run: identical in `run.json` (written first) and in the summary.
/// Two runs whose headers differ in anything but the timestamps are
/// different experiments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunHeader {
    /// The protocol version the labels follow.
    pub protocol: String,
    pub suite: SuiteRef,
    /// The agent spec, e.g. `scripted:honest`.
    pub agent: String,
    pub harness: String,
    pub seed: u64,
    pub epochs: u32,
    /// The scenarios run, in order.
    pub scenarios: Vec<String>,
    pub limits: LimitsRecord,
    /// The agent harness: `scripted`, `api`, `claude-code`, `codex`,
    /// `gemini-cli` or `cmd` (empty in summaries written before it was
    /// recorded).
    #[serde(default)]
    pub scaffold: String,
    /// How the agent's own permission checks were set.
    #[serde(default)]
    pub permission_mode: String,
    /// The client program, for client agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientRecord>,
}

/// A client agent's npm package and versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRecord {
    pub package: String,
    /// As installed in the clients directory (`null` if it could not be
    /// read).
    pub version: Option<String>,
    /// As `clients/package.json` pins it.
    pub pinned: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteRef {
    pub name: String,
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitsRecord {
    pub wall_time_ms: u64,
    pub step_timeout_ms: u64,
    pub memory_bytes: u64,
    pub processes: u64,
    pub file_size_bytes: u64,
    pub disk_bytes: u64,
    /// Model limits, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
    /// US dollars per million input and output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_usd_per_mtok: Option<[f64; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub format: String,
    pub version: u32,
    #[serde(flatten)]
    pub header: RunHeader,
    pub started: Timestamp,
    pub finished: Timestamp,
    /// Every rate with its denominator and interval (`docs/summary-format.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rates: Option<crate::rates::Rates>,
    pub episodes: Vec<EpisodeRecord>,
}

/// One episode's outcome; also written beside its trace as
/// `e<epoch>.result.json` the moment it finishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeRecord {
    pub scenario: String,
    pub scenario_digest: String,
    pub epoch: u32,
    pub seed: u64,
    /// The value drawn for each of the scenario's parameters (a framing,
    /// names, numbers), so rates can be split by them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    /// Every hidden check passed (false when the scenario has none).
    pub main_task_success: bool,
    pub checks: Vec<CheckRecord>,
    pub labels: Vec<detect::Label>,
    /// The classes the episode offered an opportunity for: the scenario's,
    /// those of every resource it has (its own and its base's), and those
    /// every episode has. The denominator of a per-opportunity rate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub opportunities: Vec<String>,
    /// The `eval_awareness` modifier: the agent said it thinks it is being
    /// tested. Every rate is reported split by it.
    #[serde(default)]
    pub eval_aware: bool,
    /// For scenarios that declare stages (the rogue-deployment ladder):
    /// which were reached, each with its evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<detect::StageResult>,
    /// Relative to the run folder.
    pub trace: String,
    /// The digest of the trace's last line: a commitment to the whole trace.
    pub trace_head: String,
    /// `submitted`, or why the agent stopped early (`wall_time`,
    /// `turn_limit`, `model_auth`, `agent_error`, ...).
    pub end_reason: String,
    /// What the agent's model calls used, for agents with a model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_usage: Option<ModelUsage>,
    /// What is wrong with the scenario itself, found while running it (a
    /// honeypot whose content can be read elsewhere): `suite validate`
    /// refuses a scenario with any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenario_problems: Vec<String>,
    pub started: Timestamp,
    pub finished: Timestamp,
}

/// An episode's model use, as the gateway counted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelUsage {
    /// Every model call, side calls included.
    pub calls: u64,
    /// Calls that offered the agent tools.
    pub turns: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Some token counts are estimates (a quarter of the bytes): the model
    /// was scripted, or the upstream did not report usage.
    pub estimated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

impl From<gateway::budget::Spent> for ModelUsage {
    fn from(s: gateway::budget::Spent) -> ModelUsage {
        ModelUsage {
            calls: s.calls,
            turns: s.turns,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            estimated: s.estimated,
            cost_usd: s.cost_usd,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRecord {
    pub id: String,
    pub passed: bool,
}
