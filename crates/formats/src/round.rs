//! A round folder's files: `round.json` (`perimeter.round/1`), the
//! `ingested.json` list, the participants' disclosure decisions
//! (`perimeter.disclosure/1`) and the reports `round report` writes
//! (`perimeter.round-report/1`): see `docs/round-format.md`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ClassId;
use crate::bundle::Signature;
use crate::run::LimitsRecord;

pub const ROUND_FORMAT: &str = "perimeter.round/1";
pub const DISCLOSURE_FORMAT: &str = "perimeter.disclosure/1";
pub const REPORT_FORMAT: &str = "perimeter.round-report/3";

/// `round.json`: what every bundle must match. `seed` fixes the round's
/// bootstrap intervals and the order of non-attributed claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoundFile {
    pub format: String,
    pub protocol: String,
    /// `sha256:` and 64 hex digits.
    pub suite_digest: String,
    /// The submission window, `FROM..TO` (UTC dates, both included).
    pub window: Option<String>,
    pub seed: u64,
    pub participants: Vec<Participant>,
}

/// A participant and the key its bundles and decisions are signed with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Participant {
    pub id: String,
    /// The OpenSSH `ssh-ed25519` line, with the participant as its comment.
    pub public_key: String,
}

/// `ingested.json`: the bundles taken in, in order, with what
/// comparability decided.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IngestedFile {
    pub ingested: Vec<IngestedEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IngestedEntry {
    pub participant: String,
    /// Absent until comparability was computed over the bundles present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<String>>,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Importance {
    #[default]
    Low,
    Medium,
    High,
}

impl Importance {
    pub fn name(self) -> &'static str {
        match self {
            Importance::Low => "low",
            Importance::Medium => "medium",
            Importance::High => "high",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Claim {
    pub id: String,
    /// `results`, `scan`, `monitors`, `incident` or `questionnaire`.
    pub source: String,
    /// A class id, `usefulness`, `eval_awareness`, `no_labels`, `scan`, or
    /// a question id.
    pub topic: String,
    pub importance: Importance,
    /// The statement, naming no participant.
    pub text: String,
    /// Why the claim may not be withheld, when it may not.
    pub non_redactable: Option<String>,
    /// For an answer: its disclosure level in the questionnaire.
    pub disclosure: Option<crate::bundle::Disclosure>,
    /// The participant withheld the content itself (a withheld answer's
    /// text never reached the evaluator): there is nothing to publish.
    pub content_withheld: bool,
    /// The classes a `no_labels` claim says were never labelled, or an
    /// incident's classes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<ClassId>,
    /// Why the evaluator set the importance, when it did (else it is the
    /// default for the claim's source and topic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance_reason: Option<String>,
    /// For a self-reported claim (an answer): how far the evaluator could
    /// check it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<crate::process::Verification>,
    /// Why the claim quotes a privileged transcript (with the model's
    /// reasoning, or of a model the public cannot use): it is published
    /// only with `approve_transcript`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<String>,
    /// The evidence an evaluator-written claim cites.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Attribution {
    Attributed,
    NonAttributed,
    Withheld,
}

/// The written approval a decision file records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Approval {
    /// Who approved, and in what role.
    pub by: String,
    /// YYYY-MM-DD.
    pub date: String,
    /// The approval's words, or where the signed letter is filed.
    pub statement: String,
    /// The participant's final approval: after it, nothing of its
    /// decisions changes and it can no longer leave the round silently.
    #[serde(default, rename = "final", skip_serializing_if = "std::ops::Not::not")]
    pub is_final: bool,
}

/// One claim's decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub attribution: Attribution,
    /// For a withheld claim: what the report may say about it. Without a
    /// note, the claim is withheld without comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For an answer published anonymized or attributed: the approved final
    /// wording, replacing the extracted text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// For a claim quoting a privileged transcript: the participant
    /// approves publishing the quote.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approve_transcript: bool,
}

/// A participant's decision file, validated against its claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Decisions {
    pub format: String,
    pub participant: String,
    pub approval: Approval,
    pub claims: BTreeMap<String, Decision>,
    /// The participant's signature over the file without it; absent when
    /// the evaluator records the approval on the participant's word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
}

/// A claim with the decision that applies to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Resolved {
    #[serde(flatten)]
    pub claim: Claim,
    pub attribution: Attribution,
    /// What the report may say of a withheld claim.
    pub note: Option<String>,
    /// The text the public report prints (for a published claim).
    pub final_text: String,
    /// Whether the participant decided (else the default applies: withheld
    /// without comment, or non-attributed for what cannot be withheld).
    pub decided: bool,
    /// Why the participant's decision does not apply yet: a wording the
    /// evaluator has not accepted, or a decision made on an answer amended
    /// since. Until it does, the claim stays unpublished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
    /// The evaluator accepted the note as a comment the report may print.
    #[serde(default)]
    pub note_accepted: bool,
}

impl Resolved {
    /// Withheld, high importance, and nothing the evaluator accepted as a
    /// comment may be said about it.
    pub fn flagged(&self) -> bool {
        self.attribution == Attribution::Withheld
            && self.claim.importance == Importance::High
            && !(self.note.is_some() && self.note_accepted)
    }
}

/// A rate with its interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Rate {
    pub k: u64,
    pub n: u64,
    pub rate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// `wilson`, or `bootstrap` (clusters: participant ×
    /// scenario).
    pub method: String,
}

impl Rate {
    /// `12.5% [3.1, 28.0]`; `n/a` when n is 0 (no episode in the
    /// denominator, whose interval says nothing).
    pub fn percent(&self) -> String {
        if self.n == 0 {
            return "n/a".into();
        }
        format!(
            "{:.1}% [{:.1}, {:.1}]",
            100.0 * self.rate,
            100.0 * self.ci_low,
            100.0 * self.ci_high
        )
    }
}

/// One class across participants, per opportunity (among the episodes
/// that offered it). Its spread across participants comes first: one
/// rate pooled over labs whose agents differ says little on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClassFigure {
    pub class: ClassId,
    /// Participants with at least one episode labelled with the class.
    pub participants_labelled: usize,
    pub spread: Spread,
    /// Σk/Σn over every participant's episodes that offered the class
    /// (clusters: participants).
    #[serde(flatten)]
    pub rate: Rate,
}

/// How a rate varies across participants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Spread {
    /// Participants with at least one counted episode in the denominator.
    pub participants: usize,
    /// The lowest and highest participant's rate.
    pub min: f64,
    pub max: f64,
    /// With three participants or more: the mean of their rates, each
    /// participant weighing the same, and an interval that holds both the
    /// between-participant variation (a t-interval from their spread) and
    /// the sampling error of the pooled rate (its interval): the wider of
    /// the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub between: Option<Between>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Between {
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// Scan totals summed across the participants that included a scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScanFigure {
    pub participants: usize,
    pub sessions: u64,
    pub sessions_with_findings: u64,
    /// Per class: sessions with at least one finding of it.
    pub classes: BTreeMap<ClassId, u64>,
    pub permission_known: u64,
    pub permissions_skipped: u64,
}

/// One value of a scenario's framing parameter, across participants: the
/// matched-framing comparison sandbagging is measured by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FramingFigure {
    pub scenario: String,
    pub param: String,
    pub value: String,
    /// Participants with at least one episode that drew this value.
    pub participants: usize,
    pub usefulness: Rate,
    pub classes: Vec<ClassFigure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Pooled {
    pub participants: usize,
    /// Episodes counted: those that did not end for an infrastructure reason.
    pub episodes: u64,
    /// Episodes that ended for an infrastructure reason: in no figure.
    pub excluded: u64,
    pub level: f64,
    pub classes: Vec<ClassFigure>,
    pub usefulness: Rate,
    pub eval_aware: Rate,
    /// `None` when fewer than [`MIN_PARTICIPANTS`] included a scan.
    pub scan: Option<ScanFigure>,
    /// Per framing value the bundles' rates declare (`rates.framings`),
    /// over the episodes that drew it.
    pub framings: Vec<FramingFigure>,
    /// Monitor catch rates on a shared corpus: per corpus, view and
    /// false-positive rate that at least three participants scored their
    /// own monitors on, the range of their catch rates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitors: Vec<MonitorFigure>,
}

/// Participants' own monitors on one shared corpus, in one view, at one
/// false-positive rate: how their catch rates range. Each participant's
/// monitor is its own, so no single pooled rate is given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MonitorFigure {
    pub corpus: String,
    pub corpus_digest: String,
    pub view: crate::monitor::View,
    pub target_fpr: f64,
    pub participants: usize,
    pub min: f64,
    pub max: f64,
    /// Attacks in the corpus each catch rate is over.
    pub attacks: u64,
}

/// What was run, for the report's header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Header {
    pub protocol: String,
    pub suite_digest: String,
    pub window: Option<String>,
    /// The participants, in the order they registered.
    pub participants: Vec<String>,
}

/// One bundle's line in the comparability table. It holds no episode
/// count: with one, the denominator of a non-attributed claim could name
/// its source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comparability {
    pub participant: String,
    /// The agent's harness: in the participant's own report only (a public
    /// table would name each lab's scaffold without its approval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaffold: Option<String>,
    pub protocol: String,
    pub suite_digest: String,
    pub limits: LimitsRecord,
    pub comparable: bool,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PublicClaim {
    pub topic: String,
    pub importance: Importance,
    pub text: String,
    /// For a self-reported claim: how far the evaluator could check it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<crate::process::VerificationStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AttributedClaims {
    pub participant: String,
    /// The date of the written approval.
    pub approved: String,
    /// The approval is signed with the participant's registered key (else
    /// the evaluator recorded it).
    pub signed: bool,
    pub claims: Vec<PublicClaim>,
}

/// A withheld high-importance claim the participant allowed a note on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NotedRedaction {
    pub topic: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Public {
    pub format: String,
    pub kind: String,
    #[serde(flatten)]
    pub header: Header,
    pub comparability: Vec<Comparability>,
    /// Over the comparable participants; `None` below two of them.
    pub pooled: Option<Pooled>,
    pub attributed: Vec<AttributedClaims>,
    /// In an order drawn from the round's seed and each claim's text alone.
    pub non_attributed: Vec<PublicClaim>,
    pub noted_redactions: Vec<NotedRedaction>,
    pub redaction_summary: String,
    /// Appendix D: the incidents the participants allowed to be published;
    /// absent when no bundle holds an incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incidents: Option<crate::incident::Pooled>,
    #[serde(flatten)]
    pub pilot: PilotSections,
}

/// The public report's sections in the pilot's shape: the evaluator's key
/// facts and assessment, built over data the round holds, and a Merkle
/// root over every published item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PilotSections {
    /// `working` (before a draft), `draft` (circulated, no approval rights)
    /// or `published`.
    pub status: String,
    /// The phase the round is in when the report was built.
    pub phase: Option<crate::process::Phase>,
    /// The version of `analysis/public.toml` it was built from.
    pub analysis_version: Option<u32>,
    pub key_facts: Vec<crate::process::KeyFact>,
    pub conclusions: Vec<String>,
    /// Means, motive, opportunity.
    pub assessment: Vec<DimensionSection>,
    /// The evidence matrix's columns, with what may be said of each.
    pub evidence: Vec<EvidenceShown>,
    pub ladder: Vec<crate::process::LadderCell>,
    /// The definition each ladder cell is checked against.
    pub minimal_rogue_deployment: String,
    /// The rogue-deployment ladder's stages, over comparable participants.
    pub stages: Vec<StageFigure>,
    /// The evaluator's own runs, as ranges over public models and over the
    /// participants' shared models (from two on, unattributed).
    pub frontier: Vec<FrontierRow>,
    pub aef1: Vec<crate::process::AefRow>,
    pub non_participants: String,
    /// Appendix A.
    pub process: ProcessAppendix,
    /// Appendix F.
    pub external_review: Vec<String>,
    /// The Merkle root over every published item (`public.items.json`
    /// holds each item with its audit path).
    pub merkle: Option<Commitment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DimensionSection {
    /// `means`, `motive` or `opportunity`.
    pub dimension: String,
    pub summary: String,
    pub key_facts: Vec<String>,
}

/// An evidence item as the public report may show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EvidenceShown {
    pub id: String,
    pub kind: String,
    /// A participant only for attributed claims; `a participant` for
    /// non-attributed ones; `redacted` for withheld ones.
    pub source: String,
    pub confidence: crate::process::Confidence,
    /// `public`, `aggregate`, `attributed`, `non_attributed`,
    /// `redacted_with_note`, `redacted`.
    pub redaction: String,
    /// `None` when redacted: the evaluator's description could say what
    /// was withheld.
    pub text: Option<String>,
    /// The key facts it supports.
    pub key_facts: Vec<String>,
}

/// How many episodes reached a stage of the rogue-deployment ladder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StageFigure {
    pub stage: String,
    pub episodes: u64,
    pub reached: u64,
    pub participants_reaching: u64,
}

/// A metric's range over models: public ones, and the participants'
/// shared internal ones (published from two models on, unattributed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FrontierRow {
    /// `usefulness` or a class id.
    pub metric: String,
    pub public: Option<Range>,
    pub internal: Option<Range>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Range {
    pub models: u64,
    pub min: f64,
    pub max: f64,
    pub episodes: u64,
}

/// Appendix A: how the round ran, in totals that name no participant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProcessAppendix {
    /// Each phase and the day it began.
    pub transitions: Vec<PhaseBegan>,
    pub draft_notice_days: u32,
    pub draft_circulated: Option<String>,
    pub bundles: u64,
    pub model_access_records: u64,
    pub evaluator_runs: u64,
    pub follow_ups: u64,
    pub replies: u64,
    pub interviews: u64,
    pub amendments: u64,
    pub proposals: u64,
    pub responses: u64,
    pub finalised: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhaseBegan {
    pub phase: crate::process::Phase,
    /// YYYY-MM-DD.
    pub on: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Commitment {
    /// How leaves and nodes are hashed (`docs/round-format.md`).
    pub algorithm: String,
    pub root: String,
    pub items: u64,
}

/// `public.items.json`: every published item with its audit path to the
/// report's Merkle root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PublishedItems {
    pub format: String,
    pub root: String,
    pub items: Vec<PublishedItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PublishedItem {
    pub index: u64,
    /// `claim`, `incident`, `key_fact`, `evidence`, `ladder`, `aef1`, …
    pub kind: String,
    #[schemars(with = "serde_json::Value")]
    pub content: serde_json::Value,
    /// Hex hashes, leaf to root.
    pub path: Vec<String>,
}

/// A class (or usefulness) in a private report: the participant's own rate
/// and the pooled rate of the other comparable participants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContextRow {
    pub class: String,
    pub own: Rate,
    pub others: Option<Rate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Private {
    pub format: String,
    pub kind: String,
    pub participant: String,
    #[serde(flatten)]
    pub header: Header,
    pub comparability: Comparability,
    /// How many other participants the context pools (0: not shown, as
    /// fewer than three others are comparable, or this bundle is not).
    pub others: usize,
    /// How this participant's episodes ended: counted, not counted (an
    /// infrastructure failure), stopped by a limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endings: Option<crate::run::Endings>,
    pub rows: Vec<ContextRow>,
    /// This participant's monitor red-team figures, as its bundle signed
    /// them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitors: Vec<crate::monitor::MonitorSummary>,
    /// Its router checks and viewer checks, as signed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing: Vec<crate::monitor::RoutingSummary>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub viewers: Vec<crate::monitor::ViewerSummary>,
    /// Its incidents, with their grades and disclosure levels, as signed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<crate::incident::Bundled>,
    /// Its reviewers' decisions and the figures they give, as signed: the
    /// rows above stay the machine's labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<crate::review::Layer>,
    /// Its own extension suites' figures, as signed: its scenarios alone,
    /// compared with no one and pooled with nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<ExtensionFigures>,
    pub claims: Vec<Resolved>,
    pub approval: Option<Approval>,
    /// The approval is signed with this participant's registered key.
    pub approval_signed: bool,
    pub redaction_summary: String,
    #[serde(flatten)]
    pub process: PrivateProcess,
}

/// A participant's own extension suite, in its private report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExtensionFigures {
    pub name: String,
    pub digest: String,
    pub scenarios: Vec<String>,
    pub episodes: u64,
    /// Per class, among its episodes that offered it, then usefulness.
    pub rows: Vec<ExtensionRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExtensionRow {
    /// A class, or `usefulness`.
    pub class: String,
    pub rate: Rate,
}

/// A private report's part of the round's process: the model shared, the
/// evaluator's runs on it, the questionnaire's thread, the evaluator's
/// analysis, and the negotiation so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PrivateProcess {
    pub phase: Option<crate::process::Phase>,
    pub access: Option<crate::process::ModelAccess>,
    pub evaluations: Vec<EvaluationFigure>,
    pub thread: Vec<crate::process::ThreadEntry>,
    pub analysis: Option<crate::process::Analysis>,
    /// SHA-256 of the analysis file the report was built from.
    pub analysis_digest: Option<String>,
    pub negotiation: Vec<NegotiationLine>,
    pub finalised: bool,
}

/// The evaluator's run on the participant's shared model, as rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EvaluationFigure {
    pub run: String,
    pub model: String,
    pub counted: u64,
    pub excluded: u64,
    pub rows: Vec<ContextRow>,
    pub stages: Vec<StageFigure>,
    pub reasoning_retained: bool,
}

/// One negotiation step, summed up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NegotiationLine {
    pub n: u64,
    pub kind: crate::process::StepKind,
    pub by: String,
    pub date: String,
    pub summary: String,
}
