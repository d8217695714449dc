//! What commands print with `--format json`: each object names its format
//! in `format`, and fields are added, never renamed or removed, within a
//! version.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ClassId;
use crate::bundle::Manifest;

/// `perimeter suite list --format json` (`perimeter.suite-list/1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SuiteList {
    pub format: String,
    pub suite: String,
    pub digest: String,
    pub scenarios: Vec<SuiteScenario>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SuiteScenario {
    pub id: String,
    pub classes: Vec<String>,
    pub title: String,
}

/// `perimeter bundle verify --format json`
/// (`perimeter.bundle-verification/1`): a bundle that does not verify is an
/// error instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BundleVerification {
    pub format: String,
    pub bundle: String,
    pub valid: bool,
    /// The signing key's `ssh-ed25519` line.
    pub signed_by: String,
    /// `--pubkey` named the key it had to be signed with.
    pub key_checked: bool,
    pub evidence_items: u64,
    pub root: String,
}

/// `perimeter bundle inspect --format json` (`perimeter.bundle-inspection/1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BundleInspection {
    pub format: String,
    pub bundle: String,
    pub manifest: Manifest,
    pub evidence_items: u64,
    pub root: String,
    pub signed_by: String,
}

/// `perimeter trace verify --format json` (`perimeter.trace-verification/1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TraceVerification {
    pub format: String,
    pub traces: Vec<TraceCheck>,
}

/// One trace: its events and head when it verifies, else why not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TraceCheck {
    pub file: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `perimeter doctor --format json` (`perimeter.doctor/1`,
/// `docs/doctor-format.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Doctor {
    pub format: String,
    pub root: bool,
    pub landlock_abi: u32,
    pub sandbox: DoctorSandbox,
    /// What the kernel gives the sandbox, each with what Perimeter does
    /// without it.
    #[serde(default)]
    pub features: Vec<DoctorFeature>,
    pub clients_dir: Option<String>,
    pub clients: Vec<DoctorClient>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DoctorSandbox {
    pub works: bool,
    pub error: Option<String>,
    pub ran_a_command: bool,
    pub exec_audit: bool,
    pub honeypot_watch: bool,
    /// `fanotify` (as root) or `inotify`.
    pub honeypot_watch_via: String,
    pub memory_cgroup: bool,
    pub memory_bytes_per_process: u64,
}

/// One kernel feature the sandbox uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DoctorFeature {
    /// `fanotify`, `fanotify_groups`, `inotify_instances`,
    /// `user_namespaces`, `memory_cgroup`.
    pub name: String,
    pub available: bool,
    /// What was found: a limit's value, the watch in use.
    pub detail: String,
    /// What Perimeter does without it (or past the limit).
    pub without: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DoctorClient {
    pub agent: String,
    pub package: String,
    pub pinned: String,
    pub installed: Option<String>,
    pub at_pin: bool,
}

/// `perimeter round ingest --format json` (`perimeter.round-ingest/1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoundIngest {
    pub format: String,
    pub round: String,
    pub bundles: Vec<IngestOutcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IngestStatus {
    Accepted,
    /// Taken in, but kept out of the pooled figures.
    Incomparable,
    Refused,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IngestOutcome {
    pub file: String,
    /// `null` when the bundle was refused.
    pub participant: Option<String>,
    pub status: IngestStatus,
    /// It replaced the participant's earlier bundle (whose disclosure
    /// decisions are void).
    pub replaced: bool,
    pub reasons: Vec<String>,
}

/// `perimeter report DIR --compare OTHER --format json`
/// (`perimeter.comparison/1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComparisonReport {
    pub format: String,
    pub first: String,
    pub second: String,
    pub classes: Vec<Comparison>,
}

/// One class compared between two runs over the same episodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comparison {
    pub class: ClassId,
    pub pairs: u64,
    pub first: u64,
    pub second: u64,
    /// Pairs labelled only in the first run, and only in the second.
    pub only_first: u64,
    pub only_second: u64,
    pub mcnemar_p: f64,
    /// First rate − second rate, with a paired bootstrap interval.
    pub difference: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// `perimeter round init --format json` (`perimeter.round-init/1`): the
/// round made, as `round.json` holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoundInit {
    pub format: String,
    /// The round folder.
    pub round: String,
    pub protocol: String,
    pub suite_digest: String,
    pub window: Option<String>,
    pub seed: u64,
    pub participants: Vec<String>,
}

/// `perimeter round disclose --format json`
/// (`perimeter.round-disclosure/1`): a participant's decisions, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoundDisclosure {
    pub format: String,
    pub round: String,
    /// The decision file taken.
    pub file: String,
    pub participant: String,
    pub claims: u64,
    pub attributed: u64,
    pub non_attributed: u64,
    pub withheld: u64,
    /// Withheld, of high importance, without a note: the redaction summary
    /// statement says so.
    pub withheld_without_comment: u64,
    pub approved_by: String,
    pub approved_on: String,
    /// Signed with the participant's registered key (else recorded on the
    /// evaluator's word).
    pub signed: bool,
}

/// `perimeter round report --format json` (`perimeter.round-reports/1`):
/// the files written, and what the evaluator should know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoundReports {
    pub format: String,
    pub round: String,
    /// `DIR/reports`.
    pub reports: String,
    pub public: ReportFiles,
    pub private: Vec<PrivateReportFiles>,
    /// Participants without decisions, and claims withheld without comment.
    pub warnings: Vec<String>,
}

/// One report, as JSON, Markdown and HTML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReportFiles {
    pub json: String,
    pub markdown: String,
    pub html: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PrivateReportFiles {
    pub participant: String,
    #[serde(flatten)]
    pub files: ReportFiles,
    /// The decision template for the participant to fill in and sign.
    pub decisions: String,
}

/// `perimeter round exit --format json` (`perimeter.round-exit/1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoundExit {
    pub format: String,
    pub round: String,
    /// Who left: its key is destroyed and its data cannot be recovered.
    pub participant: String,
    /// Who is left, in the order they registered.
    pub participants: Vec<String>,
    /// The reports were deleted: `round report` writes them again.
    pub reports_deleted: bool,
}

/// What `round advance`, `access`, `evaluate`, `ask`, `reply`, `respond`
/// and `draft` recorded (`perimeter.round-step/1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoundStep {
    pub format: String,
    pub round: String,
    /// `advance`, `access`, `evaluate`, `ask`, `reply`, `respond`, `draft`.
    pub step: String,
    /// Whose part of the round it concerns, if one participant's.
    pub participant: Option<String>,
    /// The round's phase afterwards.
    pub phase: crate::process::Phase,
    /// What the step made: a thread entry's id, a run's name, a draft's
    /// folder.
    pub id: Option<String>,
    /// The step in a sentence.
    pub detail: String,
}
