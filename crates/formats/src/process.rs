//! The round as a process: its phases (`perimeter.round-phases/1`), the
//! models participants share with the evaluator (`perimeter.model-access/1`)
//! and the evaluator's own runs on them (`perimeter.evaluator-evidence/1`),
//! the questionnaire's threads (`perimeter.thread/1`, entries a participant
//! signs as `perimeter.thread-entry/1`), the negotiation of disclosure
//! (`perimeter.disclosure-response/1`, kept as `perimeter.negotiation/1`),
//! and the evaluator's own writing (analysis files in TOML): see
//! `docs/round-format.md`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::bundle::{Answer, Attachment, Episode, Signature};
use crate::round::Importance;

pub const PHASES_FORMAT: &str = "perimeter.round-phases/1";
pub const ACCESS_FORMAT: &str = "perimeter.model-access/1";
pub const EVIDENCE_FORMAT: &str = "perimeter.evaluator-evidence/1";
pub const THREAD_FORMAT: &str = "perimeter.thread/1";
pub const THREAD_ENTRY_FORMAT: &str = "perimeter.thread-entry/1";
pub const RESPONSE_FORMAT: &str = "perimeter.disclosure-response/1";
pub const NEGOTIATION_FORMAT: &str = "perimeter.negotiation/1";

/// The pilot's four phases, in order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Bundles, model access records, the questionnaire and its thread.
    Gathering,
    /// The evaluator's own runs, its analysis, the private reports.
    Evaluation,
    /// Participants propose, the evaluator answers, participants finalise.
    Disclosure,
    /// The public report is out.
    Publication,
}

impl Phase {
    pub const ALL: [Phase; 4] =
        [Phase::Gathering, Phase::Evaluation, Phase::Disclosure, Phase::Publication];

    pub const fn name(self) -> &'static str {
        match self {
            Phase::Gathering => "gathering",
            Phase::Evaluation => "evaluation",
            Phase::Disclosure => "disclosure",
            Phase::Publication => "publication",
        }
    }

    pub const fn title(self) -> &'static str {
        match self {
            Phase::Gathering => "information gathering",
            Phase::Evaluation => "evaluations and private reports",
            Phase::Disclosure => "disclosure approval",
            Phase::Publication => "public report",
        }
    }

    pub fn next(self) -> Option<Phase> {
        Phase::ALL.get(self as usize + 1).copied()
    }
}

/// `phases.json`: where the round stands, and when each phase began. It
/// names no participant, so a silent exit leaves it as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Phases {
    pub format: String,
    /// Days between circulating the draft public report and publishing it.
    pub draft_notice_days: u32,
    /// In order; the first is `gathering`, on the day the round was made.
    pub transitions: Vec<Transition>,
    /// The draft public report the participants were sent, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft: Option<Circulated>,
    /// The public report as published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Circulated>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Transition {
    pub phase: Phase,
    /// YYYY-MM-DD, by the harness's clock.
    pub on: String,
    pub at: Timestamp,
}

/// A version of the public report that left the evaluator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Circulated {
    /// YYYY-MM-DD.
    pub on: String,
    /// SHA-256 of its JSON, and the Merkle root over its published items.
    pub digest: String,
    pub merkle_root: String,
}

/// How a shared model's reasoning reaches the evaluator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningAccess {
    /// The raw chain of thought.
    Raw,
    /// A summary of it.
    Summarised,
    None,
}

impl ReasoningAccess {
    pub const fn name(self) -> &'static str {
        match self {
            ReasoningAccess::Raw => "raw",
            ReasoningAccess::Summarised => "summarised",
            ReasoningAccess::None => "none",
        }
    }
}

/// `perimeter.model-access/1`: the model a participant shares for the
/// evaluator's own evaluations, which it attests is its internal state of
/// the art as of a date, under terms; signed with its registered key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelAccess {
    pub format: String,
    pub participant: String,
    pub model: SharedModel,
    pub attestation: Attestation,
    pub terms: AccessTerms,
    pub signature: Option<Signature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SharedModel {
    /// The model name the endpoint serves, as a run's `--model` names it
    /// after its provider (`lab-b-internal` in `anthropic:lab-b-internal`).
    pub id: String,
    /// Where the evaluator reaches it (the relay's upstream).
    pub endpoint: String,
    /// Whether the public can use this model too.
    pub public: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    /// The participant considers it its internal state of the art for
    /// autonomous-agent use.
    pub internal_state_of_the_art: bool,
    /// YYYY-MM-DD: inside the round's window, not after the day recorded.
    pub as_of: String,
    pub by: String,
    pub statement: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessTerms {
    pub reasoning: ReasoningAccess,
    /// Requests per minute the evaluator may send, if limited.
    pub rate_limit_rpm: Option<u32>,
    /// The provider keeps no request data.
    pub zero_retention: bool,
    /// The provider does not train on the evaluator's tasks.
    pub no_training_on_tasks: bool,
    /// Whether outputs and reasoning may be sent to third-party services
    /// (a judge or monitor model of another provider).
    pub third_party_services: bool,
}

/// `perimeter.evaluator-evidence/1`: the evaluator's own runs on one
/// participant's shared model (sealed under the participant's key), or on
/// public models (the public frontier, `evaluator/public.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EvaluatorEvidence {
    pub format: String,
    pub runs: Vec<EvaluatorRun>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EvaluatorRun {
    /// The evaluator's name for the run, unique in the round: `run:NAME`
    /// cites it.
    pub name: String,
    /// The model spec the run's agent used (`anthropic:lab-b-internal`).
    pub model: String,
    pub agent: String,
    /// SHA-256 of the run's `summary.json` as ingested.
    pub summary_digest: String,
    /// YYYY-MM-DD the evaluator ingested it.
    pub recorded: String,
    /// The judge that labelled the run, when one did.
    pub judge: Option<String>,
    /// What the round keeps of the model's reasoning: under zero
    /// retention, or without reasoning access, nothing but the labels.
    pub reasoning_retained: bool,
    /// The run's episodes, as a bundle would carry them (outcomes and
    /// trace commitments, no transcript).
    pub episodes: Vec<Episode>,
}

/// What kind of thread entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// The evaluator asks about an answer.
    FollowUp,
    /// The participant answers a follow-up (signed).
    Reply,
    /// An interview's record, by the evaluator.
    Interview,
    /// The participant replaces one answer (signed).
    Amendment,
}

impl EntryKind {
    pub const fn name(self) -> &'static str {
        match self {
            EntryKind::FollowUp => "follow-up",
            EntryKind::Reply => "reply",
            EntryKind::Interview => "interview",
            EntryKind::Amendment => "amendment",
        }
    }
}

/// `perimeter.thread/1`: the questionnaire's thread with one participant,
/// sealed under its key. Entries are numbered `T1`, `T2`, … as recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Thread {
    pub format: String,
    pub participant: String,
    pub entries: Vec<ThreadEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ThreadEntry {
    pub id: String,
    pub kind: EntryKind,
    /// The question (`Q7`) or sub-question (`Q7.b`) it is about.
    pub question: String,
    /// The follow-up a reply answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// YYYY-MM-DD, as the writer dated it.
    pub date: String,
    /// When the round recorded it (absent in reports, which depend on what
    /// was recorded, not when).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<Timestamp>,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// An interview's attendees, by role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attendees: Vec<String>,
    /// An amendment's new answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// A reply that declines to answer.
    #[serde(default)]
    pub declined: bool,
    /// A participant's entry as it signed it (`perimeter.thread-entry/1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<BTreeMap<String, serde_json::Value>>")]
    pub signed: Option<serde_json::Value>,
}

/// The evaluator's verdict on a participant's proposed wording or note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accept,
    Reject,
}

/// `perimeter.disclosure-response/1`: the evaluator's answer to a
/// participant's proposed decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Response {
    pub format: String,
    pub participant: String,
    pub by: String,
    /// YYYY-MM-DD.
    pub date: String,
    pub claims: BTreeMap<String, ClaimResponse>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimResponse {
    /// On the proposed rewording (`text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Verdict>,
    /// The evaluator's own wording, which a later proposal may adopt
    /// (accepted as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<String>,
    /// On a withheld claim's note: accepted, it is a comment the report
    /// prints and the claim is not flagged; rejected, the claim counts as
    /// withheld without comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Verdict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Who took a negotiation step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// The participant's decision file (`perimeter.disclosure/1`).
    Proposal,
    /// The evaluator's response.
    Response,
}

/// `perimeter.negotiation/1`: every step of one participant's disclosure,
/// sealed under its key, in order. Nothing is removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Negotiation {
    pub format: String,
    pub participant: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    pub kind: StepKind,
    pub recorded: Timestamp,
    /// The file as given.
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub document: serde_json::Value,
    /// For a proposal: SHA-256 of each decided claim's text when it was
    /// made. A claim whose answer was amended since no longer matches, and
    /// its decision lapses; the others stand.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub claim_digests: BTreeMap<String, String>,
}

/// How far the evaluator could check a self-reported answer.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    /// Its own evaluations show it.
    Verified,
    /// Documents or interviews support it.
    Corroborated,
    #[default]
    Unverified,
}

impl VerificationStatus {
    pub const fn name(self) -> &'static str {
        match self {
            VerificationStatus::Verified => "verified",
            VerificationStatus::Corroborated => "corroborated",
            VerificationStatus::Unverified => "unverified",
        }
    }
}

/// A claim's verification, with the evidence that supports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Verification {
    pub status: VerificationStatus,
    /// `run:NAME`, `T3` (a thread entry), `sha256:…` (an attachment).
    pub evidence: Vec<String>,
}

/// `analysis/<participant>.toml`: what the evaluator writes about one
/// participant, for its private report. `version` goes up with each
/// change; the round keeps each version it reported from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Analysis {
    pub version: u32,
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Per question id.
    #[serde(default)]
    pub answers: BTreeMap<String, AnswerAnalysis>,
    #[serde(default)]
    pub recommendations: Vec<String>,
    /// Claims the evaluator writes, numbered `A1`, `A2`, … in this order.
    #[serde(default)]
    pub claims: Vec<AuthoredClaim>,
    /// The evaluator's importance for a claim, by claim id.
    #[serde(default)]
    pub importance: BTreeMap<String, ImportanceSetting>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub title: String,
    pub text: String,
    #[serde(default)]
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerAnalysis {
    pub analysis: String,
    #[serde(default)]
    pub verification: VerificationStatus,
    #[serde(default)]
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthoredClaim {
    pub topic: String,
    pub text: String,
    pub importance: Importance,
    #[serde(default)]
    pub evidence: Vec<String>,
    /// A transcript of the evaluator's runs the claim quotes.
    #[serde(default)]
    pub transcript: Option<TranscriptRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TranscriptRef {
    /// An evaluator run's name.
    pub run: String,
    /// `scenario/epoch`.
    pub episode: String,
    /// The quote includes the model's reasoning.
    #[serde(default)]
    pub reasoning: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportanceSetting {
    pub level: Importance,
    pub reason: String,
}

/// `analysis/public.toml`: what the evaluator writes for the public
/// report. Ids (`K1`, `E1`) are the evaluator's; references between them
/// are checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicAnalysis {
    pub version: u32,
    #[serde(default)]
    pub key_facts: Vec<KeyFact>,
    #[serde(default)]
    pub conclusions: Vec<String>,
    /// `means`, `motive`, `opportunity`: each required.
    #[serde(default)]
    pub assessment: BTreeMap<String, Dimension>,
    #[serde(default)]
    pub evidence: Vec<EvidenceItem>,
    /// Six cells: overreach and deception × within, edge, beyond.
    #[serde(default)]
    pub ladder: Vec<LadderCell>,
    /// The five AEF-1 principles.
    #[serde(default)]
    pub aef1: Vec<AefRow>,
    #[serde(default)]
    pub non_participants: String,
    /// Appendix F.
    #[serde(default)]
    pub external_review: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyFact {
    pub id: String,
    pub text: String,
    /// Evidence item ids.
    #[serde(default)]
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    pub summary: String,
    /// Key fact ids.
    #[serde(default)]
    pub key_facts: Vec<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub const fn name(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// One item of evidence behind the key facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceItem {
    pub id: String,
    /// `evaluation`, `questionnaire`, `interview`, `incident`, `monitor`,
    /// `pooled` or `public`.
    pub kind: String,
    /// `claim:<participant>:<claim id>`, `pooled`, `evaluations`,
    /// `incidents`, `monitors`, `stages`, or `public:<citation>`.
    pub source: String,
    pub confidence: Confidence,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LadderCell {
    /// `overreach` or `deception`.
    pub behaviour: String,
    /// `within`, `edge` or `beyond` what agents have demonstrated.
    pub capability: String,
    pub judgement: String,
    pub rationale: String,
    #[serde(default)]
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Compliance {
    Met,
    Partial,
    NotMet,
}

impl Compliance {
    pub const fn name(self) -> &'static str {
        match self {
            Compliance::Met => "met",
            Compliance::Partial => "partly met",
            Compliance::NotMet => "not met",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AefRow {
    pub principle: String,
    pub compliance: Compliance,
    pub notes: String,
}
