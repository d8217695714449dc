//! `perimeter scan`'s report (`perimeter.scan/2`, `docs/scan-format.md`):
//! findings with short excerpts and aggregates, never whole transcripts.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ClassId;

/// The contract's name and version, as written in `format`.
pub const FORMAT: &str = "perimeter.scan/2";

/// The policy a scan used, as the report names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PolicySource {
    /// The lab's file as given, or `default`.
    pub source: String,
    /// `sha256:<hex>` of the lab file's bytes followed by the default
    /// policy's (what the scan read), so two scans with the same digest
    /// used the same roles.
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    pub format: String,
    pub policy: PolicySource,
    /// The judge, when the scan had one: model, prompts, what it spent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<JudgeSummary>,
    pub sessions: Vec<SessionReport>,
    pub errors: Vec<FileError>,
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionReport {
    pub file: String,
    /// The transcript format (`claude-code-session`, `codex-rollout`, …).
    pub source_format: String,
    pub client: String,
    pub client_version: Option<String>,
    pub session_id: Option<String>,
    pub model: Option<String>,
    /// Events imported (messages, tool calls, results).
    pub events: usize,
    pub lines: u64,
    pub bytes: u64,
    pub permission_mode: Option<String>,
    /// The session ran with the client's permission checks off (Claude
    /// `bypassPermissions`, Codex approval `never` with `danger-full-access`,
    /// Gemini `yolo`); `null` when the transcript does not say.
    pub permissions_skipped: Option<bool>,
    pub findings: Vec<FindingReport>,
    /// What a rule matched that context explains, with why it was not
    /// raised (`reason`); never counted.
    #[serde(default)]
    pub withheld: Vec<FindingReport>,
    /// The judge's verdicts, kept apart from the rules' findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<SessionJudgement>,
    /// The combined verdict: classes a rule raised or the judge found at
    /// the threshold; absent when the judge gave no verdict (failed,
    /// skipped), as a verdict of the rules alone is not a combined one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combined: Option<Vec<ClassId>>,
}

/// The judge on one session: its status, verdicts with evidence lines,
/// and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionJudgement {
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub verdicts: Vec<JudgeVerdict>,
    #[serde(flatten)]
    pub cost: Cost,
    /// The digest of the transcript as the judge read it.
    pub transcript: String,
    pub events_omitted: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JudgeVerdict {
    pub class: ClassId,
    pub present: bool,
    pub confidence: f64,
    pub evidence: Vec<Evidence>,
    pub rationale: String,
}

impl SessionJudgement {
    /// The classes found present with at least `threshold` confidence, when
    /// the judge gave verdicts.
    pub fn found(&self, threshold: f64) -> Option<impl Iterator<Item = ClassId>> {
        matches!(self.status, Status::Judged | Status::Cached).then(|| {
            self.verdicts
                .iter()
                .filter(move |v| v.present && v.confidence >= threshold)
                .map(|v| v.class)
        })
    }
}

/// The judge a scan used and what it spent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JudgeSummary {
    /// The model spec (`anthropic:…`), or `scripted:FILE@sha256:…`.
    pub model: String,
    pub prompt_version: String,
    /// The digest of the whole prompt sent (instructions and the classes'
    /// criteria): with the model, what makes two judges the same.
    pub prompt_digest: String,
    /// Each class asked about, with the digest of its criteria.
    pub classes: BTreeMap<ClassId, String>,
    pub threshold: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<String>,
    /// Why writing to the cache failed, when it did (verdicts are still
    /// reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_error: Option<String>,
    pub spent: Spent,
    /// Mean cost of a session the model was asked about (cached ones cost
    /// nothing), with a price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_per_judged_session_usd: Option<f64>,
    /// Per class: sessions the judge found it in, and sessions in the
    /// combined verdict.
    pub found: BTreeMap<ClassId, JudgeClassTotal>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JudgeClassTotal {
    pub judge: usize,
    pub combined: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FindingReport {
    pub code: String,
    pub class: ClassId,
    pub message: String,
    pub evidence: Vec<Evidence>,
    /// Why it was not raised (withheld findings only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    /// The event's index in the session (0-based).
    pub event: usize,
    /// Its line in the file (1-based).
    pub line: u64,
    pub excerpt: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FileError {
    pub file: String,
    /// `null` for an error about the whole file.
    pub line: Option<u64>,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Totals {
    /// Files read, and files skipped because no format was recognised.
    pub files: usize,
    pub skipped_files: usize,
    pub sessions: usize,
    pub events: usize,
    pub bytes: u64,
    /// Line and file errors, including those beyond the per-file cap.
    pub errors: usize,
    pub sessions_with_findings: usize,
    /// Per class: sessions with at least one finding of it, and findings.
    pub classes: BTreeMap<ClassId, ClassTotal>,
    /// Sessions whose permission mode is known, and those with checks off.
    pub permission_known: usize,
    pub permissions_skipped: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClassTotal {
    pub sessions: usize,
    pub findings: usize,
}

/// What became of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The model answered.
    Judged,
    /// From the cache: nothing spent.
    Cached,
    /// No usable answer: `error` says why. Not a verdict of absence.
    Failed,
    /// Not asked: the token budget would not cover the call.
    Skipped,
}

/// Calls and what they cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Cost {
    /// Calls made, retries included (0 when cached or skipped).
    pub calls: usize,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Whether a token count was estimated rather than reported.
    pub estimated: bool,
    /// Known with a price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

/// What a judge has spent, over every session so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Spent {
    pub sessions: usize,
    pub judged: usize,
    pub cached: usize,
    pub failed: usize,
    pub skipped: usize,
    #[serde(flatten)]
    pub cost: Cost,
}
