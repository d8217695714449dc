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
pub const REPORT_FORMAT: &str = "perimeter.round-report/2";

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
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Importance {
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
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
}

impl Resolved {
    /// Withheld, high importance, and nothing may be said about it.
    pub fn flagged(&self) -> bool {
        self.attribution == Attribution::Withheld
            && self.claim.importance == Importance::High
            && self.note.is_none()
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
    /// Appendix C: the incidents the participants allowed to be published;
    /// absent when no bundle holds an incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incidents: Option<crate::incident::Pooled>,
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
    pub claims: Vec<Resolved>,
    pub approval: Option<Approval>,
    /// The approval is signed with this participant's registered key.
    pub approval_signed: bool,
    pub redaction_summary: String,
}
