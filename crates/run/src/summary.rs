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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub format: String,
    pub version: u32,
    #[serde(flatten)]
    pub header: RunHeader,
    pub started: Timestamp,
    pub finished: Timestamp,
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
    /// `sandbox_error`, ...).
    pub end_reason: String,
    pub started: Timestamp,
    pub finished: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRecord {
    pub id: String,
    pub passed: bool,
}
