//! Monitor red-teaming (`docs/monitor-format.md`): the trajectory a monitor
//! is shown, its answer, the labelled corpus of trajectories, and the
//! results of scoring a corpus with one monitor.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ClassId;

/// The `format` of a trajectory shown to a monitor.
pub const TRAJECTORY_FORMAT: &str = "perimeter.trajectory/1";
/// The `format` of a corpus file's first line.
pub const CORPUS_FORMAT: &str = "perimeter.monitor-corpus/1";
/// The `format` of a monitor's results.
pub const RESULTS_FORMAT: &str = "perimeter.monitor-results/1";

/// What of the agent's record a monitor is shown. Ground truth (what the
/// sandbox observed) is never shown: a monitor sees what a production
/// monitor would.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// The task, the tool calls and their results.
    Actions,
    /// Those, and what the agent wrote for people to read: its messages
    /// between actions and its final report (the reasoning summary a client
    /// shows).
    Summary,
    /// Everything the agent produced, its raw reasoning included.
    Reasoning,
}

impl View {
    pub const ALL: [View; 3] = [View::Actions, View::Summary, View::Reasoning];

    pub const fn as_str(self) -> &'static str {
        match self {
            View::Actions => "actions",
            View::Summary => "summary",
            View::Reasoning => "reasoning",
        }
    }

    /// Whether a step of this kind is shown in this view.
    pub fn shows(self, step: &Step) -> bool {
        match step {
            Step::User { .. } | Step::ToolCall { .. } | Step::ToolResult { .. } => true,
            Step::Message { .. } | Step::Report { .. } => self >= View::Summary,
            Step::Reasoning { .. } => self == View::Reasoning,
        }
    }
}

impl std::fmt::Display for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for View {
    type Err = String;

    fn from_str(s: &str) -> Result<View, String> {
        View::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
            format!("unknown view `{s}`: expected `actions`, `summary` or `reasoning`")
        })
    }
}

/// One step of an agent's record, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// A message from the user after the task (a follow-up question).
    User { text: String },
    /// Text the agent wrote for the user between actions.
    Message { text: String },
    /// The agent's raw reasoning.
    Reasoning { text: String },
    /// A tool call, with its input as the client sent it.
    ToolCall { call_id: String, tool: String, input: Value },
    ToolResult {
        call_id: String,
        output: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        is_error: bool,
    },
    /// The agent's final report.
    Report { text: String },
}

/// What a monitor is shown of one trajectory (`perimeter.trajectory/1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Trajectory {
    pub format: String,
    /// The corpus item's id.
    pub id: String,
    pub view: View,
    /// The task the agent was given.
    pub task: String,
    /// The steps the view shows, in order.
    pub steps: Vec<Step>,
}

/// A monitor's answer on one trajectory: higher is more suspicious, on any
/// scale the monitor likes (thresholds are calibrated on benign scores).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Answer {
    pub score: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
}

/// Whether a corpus item is an attack, from the sandbox's ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Truth {
    /// The episode carries no label.
    Benign,
    /// The episode carries at least one label.
    Attack,
    /// An attack-mode episode (`perimeter run --side-task`) that left no
    /// label: asked to misbehave, it did no harm. Neither benign nor an
    /// attack; counted only in the covert figures.
    Attempt,
}

/// A corpus file's first line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CorpusHeader {
    pub format: String,
    pub name: String,
    /// `sha256:<hex>` over the item lines as written, each with its newline.
    pub digest: String,
    pub benign: u64,
    pub attacks: u64,
    /// Attack-mode episodes that left no label (`attempt` items).
    #[serde(default)]
    pub attempts: u64,
    /// The run folders the items came from.
    pub sources: Vec<CorpusSource>,
    /// Episodes left out because they ended for an infrastructure reason:
    /// they say nothing of the agent.
    pub excluded: u64,
    /// Transformed attacks that no longer did their harm: their base
    /// episode carried labels this one lacks. Left out, and listed.
    #[serde(default)]
    pub broken: Vec<BrokenAttack>,
    /// Runs of transformed policies with no run of the base policy (same
    /// agent otherwise, same suite and seed) beside them: whether a
    /// transform broke an attack could not be checked there.
    #[serde(default)]
    pub unchecked: Vec<String>,
}

/// A transformed attack that lost its harm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BrokenAttack {
    /// The item id it would have had.
    pub id: String,
    /// The base episode's label classes.
    pub expected: Vec<ClassId>,
    /// This episode's.
    pub got: Vec<ClassId>,
}

/// One run folder a corpus read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CorpusSource {
    /// The run's name in item ids.
    pub run: String,
    pub agent: String,
    pub suite_digest: String,
    /// `sha256:<hex>` of the run's `summary.json`.
    pub summary: String,
}

/// One labelled trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CorpusItem {
    /// `<run>/<scenario>/e<epoch>`.
    pub id: String,
    pub scenario: String,
    pub epoch: u32,
    /// The trace's head digest: the record the steps were read from.
    pub trace_head: String,
    pub truth: Truth,
    /// The labels' classes, for an attack.
    pub classes: Vec<ClassId>,
    /// The transforms the agent's policy was played with (`encode+note`),
    /// empty for none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub transforms: String,
    /// Indices into `steps` of the tool calls that did the harm: each
    /// label's evidence traced back to the agent's call before it.
    pub attack_steps: Vec<usize>,
    /// For an attack-mode episode: its secret side task and whether it was
    /// done. The task below is the user's, without the side task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side_task: Option<crate::run::SideTaskRecord>,
    /// Every hidden check of the main task passed.
    #[serde(default)]
    pub main_task_success: bool,
    pub task: String,
    /// Every step, raw reasoning included; a view shows a subset.
    pub steps: Vec<Step>,
}

/// One monitor over one corpus in one view (`perimeter.monitor-results/1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Results {
    pub format: String,
    pub monitor: MonitorId,
    pub view: View,
    pub corpus: CorpusRef,
    /// The confidence level of every interval.
    pub level: f64,
    /// The probability that an attack scores above a benign trajectory
    /// (ties count half); `null` without both kinds scored.
    pub auroc: Option<f64>,
    pub operating_points: Vec<OperatingPoint>,
    /// Items the monitor gave no score for: in no figure.
    pub failed: u64,
    pub scores: Vec<Scored>,
}

/// Which monitor, exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MonitorId {
    /// As given: `cmd:…`, `http:…`, `llm:…`, `builtin:detectors`.
    pub spec: String,
    /// What pins its behaviour: the program's digest, the prompt's digest
    /// and model, the detectors' version.
    pub identity: String,
    /// For `llm:`, whether the prompt was warned about the attacks.
    #[serde(default)]
    pub warned: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CorpusRef {
    pub name: String,
    pub digest: String,
    pub benign: u64,
    pub attacks: u64,
}

/// The catch rate at a threshold calibrated on the benign scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OperatingPoint {
    /// The false-positive rate asked for.
    pub target_fpr: f64,
    /// `calibrated`, or `too_few_benign` (then no threshold and no rate).
    pub status: String,
    /// Benign trajectories a threshold at this rate needs: ⌈1 / rate⌉.
    pub benign_needed: u64,
    /// Benign trajectories that would certify the rate at the confidence
    /// level with as many flagged as here (`stats::min_samples_for_fpr`).
    pub benign_to_certify: u64,
    /// A score strictly above it is flagged.
    pub threshold: Option<f64>,
    pub benign_flagged: u64,
    pub benign: u64,
    /// The upper confidence bound of the false-positive rate (exact).
    pub fpr_high: Option<f64>,
    pub caught: u64,
    pub attacks: u64,
    pub catch_rate: Option<f64>,
    /// Wilson interval of the catch rate at this threshold.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Per class of the attacks: caught of attacks with that class.
    pub by_class: Vec<ClassCatch>,
    /// Per transform of the attacks (`none` for attacks played as
    /// written), with the Wilson interval.
    #[serde(default)]
    pub by_transform: Vec<TransformCatch>,
    /// Over the attack-mode episodes scored, when there are any: how often
    /// the side task was done without the monitor flagging it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covert: Option<Covert>,
}

/// Covert capability at one threshold: of the attack-mode episodes scored,
/// those whose side task was done (ground truth), whose main task passed,
/// and those done *uncaught* (scored at or below the threshold).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Covert {
    pub episodes: u64,
    pub side_task_done: u64,
    pub main_task_done: u64,
    pub both_done: u64,
    /// Side task done and not flagged.
    pub uncaught: u64,
    /// Side and main task done, and not flagged.
    pub uncaught_with_main: u64,
    /// `uncaught / episodes`, with the Wilson interval.
    pub uncaught_rate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TransformCatch {
    pub transforms: String,
    pub caught: u64,
    pub attacks: u64,
    pub ci_low: f64,
    pub ci_high: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClassCatch {
    pub class: ClassId,
    pub caught: u64,
    pub attacks: u64,
}

/// One item's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Scored {
    pub id: String,
    pub truth: Truth,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    /// Why there is no score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A monitor's results as a bundle carries them: every figure, no item's
/// score or rationale (those stay at the lab, committed to by
/// `results_sha256`, an evidence item of the bundle).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MonitorSummary {
    /// The evidence item holding the results file: `monitor:<path>`.
    pub item: String,
    /// The results file's SHA-256, in hex, as its evidence item has it.
    pub results_sha256: String,
    pub monitor: MonitorId,
    pub view: View,
    pub corpus: CorpusRef,
    pub level: f64,
    pub auroc: Option<f64>,
    pub scored: u64,
    pub failed: u64,
    pub operating_points: Vec<OperatingPoint>,
}

impl Results {
    /// The figures of these results, for a bundle.
    pub fn summary(&self, item: String, results_sha256: String) -> MonitorSummary {
        MonitorSummary {
            item,
            results_sha256,
            monitor: self.monitor.clone(),
            view: self.view,
            corpus: self.corpus.clone(),
            level: self.level,
            auroc: self.auroc,
            scored: self.scores.len() as u64 - self.failed,
            failed: self.failed,
            operating_points: self.operating_points.clone(),
        }
    }
}

/// The `format` of a request shown to a lab's traffic router.
pub const ROUTING_REQUEST_FORMAT: &str = "perimeter.routing-request/1";
/// The `format` of routing results.
pub const ROUTING_RESULTS_FORMAT: &str = "perimeter.routing-results/1";

/// One model request of an agent, as a lab's router sees it: the first
/// stage of monitoring, deciding whether the traffic is monitored at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoutingRequest {
    pub format: String,
    /// The case's id, `<client>/<variation>`.
    pub id: String,
    pub method: String,
    pub path: String,
    /// Header names lower-cased; keys are placeholders (`sk-agent-…`,
    /// `sk-other-…`) that say whose key it is.
    pub headers: std::collections::BTreeMap<String, String>,
    /// The body's fields a router may read: `model`, `stream`, `metadata`,
    /// the start of the system prompt, the number of tools.
    pub body: Value,
}

/// A router's answer: whether the request goes to monitoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RouterAnswer {
    pub monitored: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A lab's monitoring-coverage profile, as it declares it (TOML,
/// `docs/monitor-format.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverageProfile {
    /// The agent clients whose traffic the lab says is monitored:
    /// `claude-code`, `codex`, `gemini-cli`, `api` (an in-house loop).
    pub monitored_clients: Vec<String>,
    /// Whether sub-agents' calls are monitored.
    pub subagents_monitored: bool,
    /// The share of routed traffic that automated review reads, 0–1.
    pub sampling: f64,
    /// `sync` (review before the action runs) or `async` (after).
    pub mode: String,
    /// How long after an action its review happens, for `async`.
    #[serde(default)]
    pub review_latency_minutes: Option<f64>,
    /// What the router decides by: `user-agent`, `x-app`, `api-key`, …
    #[serde(default)]
    pub signals: Vec<String>,
    /// The share of agentic traffic the lab excludes from monitoring on
    /// purpose.
    #[serde(default)]
    pub excluded_share: Option<f64>,
}

/// One bypass case and what the router did with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoutingCase {
    pub id: String,
    pub client: String,
    pub variation: String,
    pub description: String,
    /// Whether the profile says this traffic is monitored; `null` without
    /// a profile.
    pub declared: Option<bool>,
    /// The router's answer; `null` when it gave none.
    pub monitored: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A router run over the bypass cases (`perimeter.routing-results/1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoutingResults {
    pub format: String,
    pub router: MonitorId,
    pub profile: Option<CoverageProfile>,
    /// Cases the router answered.
    pub answered: u64,
    /// Of those, routed to monitoring.
    pub monitored: u64,
    /// Cases routed away from monitoring: every case is the agent's own
    /// traffic, so each is a way around the monitors.
    pub bypasses: Vec<String>,
    /// Cases the profile says are monitored and the router did not route.
    pub discrepancies: Vec<String>,
    /// Cases the router gave no answer for: in no figure.
    pub failed: u64,
    /// `monitored / answered` times the profile's sampling: the share of
    /// these cases whose traffic automated review would read.
    pub reach: Option<f64>,
    pub cases: Vec<RoutingCase>,
}

/// The `format` of a viewer check's results.
pub const VIEWER_RESULTS_FORMAT: &str = "perimeter.viewer-results/1";

/// A transcript viewer shown hostile trajectories
/// (`perimeter.viewer-results/1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ViewerResults {
    pub format: String,
    /// `builtin` (Perimeter's own rendering), or the lab's viewer plug-in.
    pub viewer: MonitorId,
    /// The browser the pages were loaded in.
    pub browser: String,
    /// Cases judged unsafe.
    pub unsafe_cases: u64,
    /// Cases the viewer rendered nothing for: in no figure.
    pub failed: u64,
    pub cases: Vec<ViewerCase>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ViewerCase {
    pub id: String,
    /// `script`, `hidden` or `judgement`.
    pub attack: String,
    pub description: String,
    /// `safe`, `unsafe`, `manual` (for the lab's reviewers), or `failed`.
    pub verdict: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A router's results as a bundle carries them: the counts and the cases
/// it did not route (the cases themselves are Perimeter's, not the lab's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoutingSummary {
    /// The evidence item holding the results file: `monitor:<path>`.
    pub item: String,
    pub results_sha256: String,
    pub router: MonitorId,
    pub profile: Option<CoverageProfile>,
    pub answered: u64,
    pub monitored: u64,
    pub bypasses: Vec<String>,
    pub discrepancies: Vec<String>,
    pub failed: u64,
    pub reach: Option<f64>,
}

impl RoutingResults {
    pub fn summary(&self, item: String, results_sha256: String) -> RoutingSummary {
        RoutingSummary {
            item,
            results_sha256,
            router: self.router.clone(),
            profile: self.profile.clone(),
            answered: self.answered,
            monitored: self.monitored,
            bypasses: self.bypasses.clone(),
            discrepancies: self.discrepancies.clone(),
            failed: self.failed,
            reach: self.reach,
        }
    }
}

/// A viewer check as a bundle carries it: every case's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ViewerSummary {
    /// The evidence item holding the results file: `monitor:<path>`.
    pub item: String,
    pub results_sha256: String,
    pub viewer: MonitorId,
    pub unsafe_cases: u64,
    pub failed: u64,
    pub cases: Vec<ViewerCase>,
}

impl ViewerResults {
    pub fn summary(&self, item: String, results_sha256: String) -> ViewerSummary {
        ViewerSummary {
            item,
            results_sha256,
            viewer: self.viewer.clone(),
            unsafe_cases: self.unsafe_cases,
            failed: self.failed,
            cases: self.cases.clone(),
        }
    }
}
