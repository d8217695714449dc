//! An external review of a developer's own risk report
//! (`docs/review-format.md`): the report as a claim graph and the
//! reviewer's verdicts, checklist, redaction comments, process and
//! publication review, as the reviewer writes one version of it (TOML,
//! [`Version`]); and each version as built and published
//! (`perimeter.risk-review/1`, [`Built`]), with its conclusion's verdict,
//! the differences from the previous version, its digest and signature.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bundle::Signature;
pub use crate::process::Confidence;

pub const FORMAT: &str = "perimeter.risk-review/1";

/// One version of a review, as the reviewer writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Version {
    pub review: Meta,
    pub scope: Scope,
    pub threat_model: ThreatModel,
    /// What the developer cites.
    #[serde(default)]
    pub evidence: Vec<Cited>,
    /// The report's claims, up to the conclusion.
    #[serde(default)]
    pub claims: Vec<ReportClaim>,
    pub conclusion: Conclusion,
    #[serde(default)]
    pub verdicts: Vec<Verdict>,
    #[serde(default)]
    pub checklist: Vec<CheckItem>,
    #[serde(default)]
    pub redactions: Vec<Redaction>,
    #[serde(default)]
    pub process: Process,
    pub publication_review: Option<PublicationReview>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub title: String,
    pub developer: String,
    /// The report reviewed: its title and the version or date the
    /// developer gave it.
    pub report: String,
    pub reviewer: String,
    /// This version's name (`original`, `updated`).
    pub version: String,
    /// YYYY-MM-DD.
    pub date: String,
    /// The version this one updates.
    pub previous: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    pub models: Vec<String>,
    pub domains: Vec<String>,
    /// The period the report's conclusion is about.
    pub period: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreatModel {
    pub summary: String,
    #[serde(default)]
    pub pathways: Vec<Pathway>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pathway {
    pub id: String,
    pub text: String,
}

/// A kind of evidence a developer cites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CitedKind {
    Survey,
    Evaluation,
    Monitoring,
    Assurance,
    Other,
}

/// Evidence the developer's report cites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cited {
    pub id: String,
    pub kind: CitedKind,
    pub text: String,
    /// Whether the public can read it (else only the reviewer saw it).
    pub public: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportClaim {
    pub id: String,
    pub text: String,
    /// The conclusion rests on it (the reviewer must give it a verdict).
    #[serde(default = "yes")]
    pub load_bearing: bool,
    /// Evidence ids.
    #[serde(default)]
    pub cites: Vec<String>,
    /// The claims it supports, or `conclusion`.
    pub supports: Vec<String>,
    /// Threat-model pathways it is about.
    #[serde(default)]
    pub pathways: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Conclusion {
    pub text: String,
    /// The reviewer's verdict on the conclusion where it differs from the
    /// one computed from the claims supporting it, with why.
    #[serde(rename = "override")]
    pub overridden: Option<Override>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub verdict: VerdictKind,
    pub reason: String,
    #[serde(default)]
    pub relies_on: Vec<Reliance>,
}

/// A verdict, from best to worst.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    Supported,
    Insufficient,
    Disagree,
}

impl VerdictKind {
    pub const fn name(self) -> &'static str {
        match self {
            VerdictKind::Supported => "supported",
            VerdictKind::Insufficient => "insufficient",
            VerdictKind::Disagree => "disagree",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    pub claim: String,
    pub verdict: VerdictKind,
    pub reasoning: String,
    pub confidence: Confidence,
    #[serde(default)]
    pub relies_on: Vec<Reliance>,
}

/// Where the evidence a verdict relies on comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelianceKind {
    /// Public material: `reference` is a citation.
    Public,
    /// Material the developer shared: `reference` is one of its evidence
    /// ids.
    Developer,
    /// The reviewer's own evaluation: `reference` is a Perimeter artifact
    /// (a run folder, bundle, scan, monitor results, incidents) relative to
    /// the review's folder, `digest` its SHA-256.
    Reviewer,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reliance {
    pub kind: RelianceKind,
    pub reference: String,
    /// For the reviewer's artifacts: `sha256:` and hex of the file (of a
    /// run folder's `summary.json`).
    pub digest: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Satisfied,
    Concern,
    Open,
    NotApplicable,
}

impl CheckStatus {
    pub const fn name(self) -> &'static str {
        match self {
            CheckStatus::Satisfied => "satisfied",
            CheckStatus::Concern => "concern",
            CheckStatus::Open => "open",
            CheckStatus::NotApplicable => "not applicable",
        }
    }
}

/// One item of the assurance checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckItem {
    /// `scope`, `threat_model`, `rigor`, `assurances`,
    /// `evaluation_awareness`, `consistency`, `evidence:<claim id>`,
    /// `redaction:<redaction id>`.
    pub item: String,
    pub status: CheckStatus,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Redaction {
    pub id: String,
    /// Where in the report.
    pub location: String,
    pub appropriate: bool,
    /// The reviewer's comment, required on every one.
    pub comment: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Process {
    #[serde(default)]
    pub received: Vec<Dated>,
    #[serde(default)]
    pub meetings: Vec<Dated>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dated {
    /// YYYY-MM-DD.
    pub date: String,
    pub what: String,
}

/// The developer's review of the text before publication, and what came
/// of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicationReview {
    pub date: String,
    /// What the developer asked to redact.
    #[serde(default)]
    pub requested: Vec<String>,
    /// What was redacted (possibly nothing).
    #[serde(default)]
    pub redacted: Vec<String>,
    pub notes: String,
}

/// A version as built and published: `perimeter.risk-review/1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Built {
    pub format: String,
    pub version: Version,
    pub conclusion: ConclusionVerdict,
    /// Checklist items missing or open; empty when complete.
    pub open_items: Vec<String>,
    /// `draft` while an item is open (built with `--draft`), else
    /// `published`.
    pub status: String,
    /// What each reviewer artifact a verdict relies on is, by its path.
    pub artifacts: Vec<Artifact>,
    pub differences: Option<Differences>,
    /// The previous version's digest.
    pub previous_digest: Option<String>,
    /// SHA-256 of the canonical JSON of this document without `digest`
    /// and `signature`: readers check they read the same text.
    pub digest: String,
    pub signature: Option<Signature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConclusionVerdict {
    /// The worst verdict of the load-bearing claims the conclusion rests
    /// on, through `supports`.
    pub computed: VerdictKind,
    /// The claims it was computed from.
    pub from: Vec<String>,
    /// The reviewer's, when overridden; else the computed one.
    pub stated: VerdictKind,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Artifact {
    pub reference: String,
    /// `run`, `bundle`, `scan`, `monitor-results`, `incidents`, or `file`.
    pub kind: String,
    pub digest: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Differences {
    /// The previous version's name.
    pub from: String,
    pub claims_added: Vec<String>,
    pub claims_removed: Vec<String>,
    pub claims_reworded: Vec<Reworded>,
    pub verdicts_changed: Vec<VerdictChange>,
    pub evidence_added: Vec<String>,
    pub evidence_removed: Vec<String>,
    pub checklist_changed: Vec<String>,
    pub conclusion_changed: Option<VerdictChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Reworded {
    pub id: String,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerdictChange {
    pub claim: String,
    pub before: Option<VerdictKind>,
    pub after: Option<VerdictKind>,
    /// The new verdict's reasoning.
    pub reason: String,
}
