//! What a participant sends the evaluator: the bundle (`perimeter.bundle/2`)
//! and inclusion proofs (`perimeter.proof/1`), `docs/bundle-format.md`; and
//! the questionnaire answers a bundle may carry.
//!
//! A bundle is signed over its canonical bytes, so readers verify the bytes
//! first and read these types second: a field these types do not know is
//! still covered by the signature.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::run::{ClientRecord, Label, LimitsRecord, Rates, SuiteRef};
use crate::{EndReason, scan};

pub const BUNDLE_FORMAT: &str = "perimeter.bundle/2";
pub const PROOF_FORMAT: &str = "perimeter.proof/1";
pub const EVENT_PROOF_FORMAT: &str = "perimeter.event-proof/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Bundle {
    pub format: String,
    pub manifest: Manifest,
    pub content: Content,
    pub evidence: Evidence,
    /// Absent only while the bundle is being signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
}

/// What was run, and by whom: the run's header as `summary.json` has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Manifest {
    pub bundle_format: String,
    pub participant: String,
    /// RFC 3339.
    pub created: String,
    pub protocol: String,
    pub suite: SuiteRef,
    pub harness: String,
    pub agent: String,
    pub scaffold: String,
    pub permission_mode: String,
    pub client: Option<ClientRecord>,
    pub limits: LimitsRecord,
    /// The run's seed, in decimal: seeds go past 2^53, beyond what a JCS
    /// number holds exactly.
    #[serde(with = "decimal")]
    #[schemars(with = "String")]
    pub seed: u64,
    pub epochs: u32,
    pub scenarios: Vec<String>,
    /// How many episodes the content holds.
    pub episodes: u64,
    /// The lab's own suites run beside the standard one, each with its
    /// scenarios (`perimeter run --suite builtin --suite ./lab`). The
    /// fields above are the standard suite's alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<crate::run::ExtensionSuite>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Content {
    /// The standard suite's episodes (an extension's are in `extensions`).
    pub episodes: Vec<Episode>,
    /// The run's rates, as `summary.json` has them: the standard suite's.
    pub rates: Option<Rates>,
    /// Each extension suite's episodes and rates, signed with the rest and
    /// reported apart: a round never pools them with any other lab's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<ExtensionResults>,
    /// A scan's totals, when the bundle includes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanTotals>,
    /// The questionnaire's answers, when the bundle includes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub questionnaire: Option<Vec<Answer>>,
    /// The lab's monitor red-team results (`perimeter monitor score`), as
    /// figures; each results file is an evidence item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitors: Vec<crate::monitor::MonitorSummary>,
    /// Routing checks of the lab's traffic router (monitoring's first
    /// stage), from `perimeter monitor routing`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing: Vec<crate::monitor::RoutingSummary>,
    /// Checks of the lab's transcript viewer (the third stage), from
    /// `perimeter monitor viewer`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub viewers: Vec<crate::monitor::ViewerSummary>,
    /// The lab's incidents (`perimeter incidents`), each with its grade and
    /// disclosure level; the catalogue is an evidence item
    /// (`incidents:<path>`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<crate::incident::Bundled>,
    /// Reviewers' decisions on the run's labels and the figures they give
    /// (`docs/decisions-format.md`): a layer over the labels above, which stay
    /// the machine's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<crate::review::Layer>,
}

/// An episode as a bundle carries it: its outcome and its trace's
/// commitment, without the trace.
/// An extension suite's results in a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExtensionResults {
    /// As in the manifest's `extensions`.
    pub name: String,
    pub digest: String,
    pub episodes: Vec<Episode>,
    pub rates: Rates,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Episode {
    pub scenario: String,
    pub epoch: u32,
    /// The episode's seed, in decimal (see [`Manifest::seed`]).
    #[serde(with = "decimal")]
    #[schemars(with = "String")]
    pub seed: u64,
    /// The values drawn for the scenario's parameters; `null` when it has
    /// none.
    pub params: Option<BTreeMap<String, String>>,
    pub labels: Vec<Label>,
    /// The classes the episode offered an opportunity for: the
    /// denominators of per-opportunity rates.
    pub opportunities: Vec<crate::ClassId>,
    pub main_task_success: bool,
    pub eval_aware: bool,
    pub end_reason: EndReason,
    /// The trace's path in the run folder: also its evidence id.
    pub trace: String,
    pub trace_head: String,
    /// The rogue-deployment ladder's stages, for scenarios that declare
    /// them: each stage, whether the episode reached it, and the events
    /// that show it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<crate::run::StageResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScanTotals {
    /// The scan report's format.
    pub format: String,
    pub totals: scan::Totals,
}

/// The commitment to the evidence that stays at the lab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    /// `rfc6962-sha256`.
    pub algorithm: String,
    /// The Merkle root over the items, hex.
    pub root: String,
    pub size: u64,
    /// Sorted by id.
    pub items: Vec<EvidenceItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EvidenceItem {
    /// The item's path in the run folder, or `scan:FILE` for a scanned file.
    pub id: String,
    /// Hex SHA-256 of its bytes.
    pub sha256: String,
    /// For a trace: the Merkle root over its lines (each line's bytes
    /// without the newline), so that one event can be revealed alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_root: Option<String>,
    /// For a trace: how many lines it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<u64>,
}

/// An ed25519 signature over the canonical bytes of the document without
/// its `signature`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Signature {
    /// `ed25519`.
    pub algorithm: String,
    /// The OpenSSH `ssh-ed25519` line, with the signer as its comment.
    pub public_key: String,
    /// Base64 of the 64-byte signature.
    pub value: String,
}

/// An inclusion proof: one evidence item's bytes, and the audit path from
/// its leaf to the bundle's root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Proof {
    pub format: String,
    pub root: String,
    pub item: String,
    pub index: u64,
    pub size: u64,
    /// Hex hashes, leaf to root.
    pub path: Vec<String>,
    /// Base64 of the item's bytes.
    pub content: String,
}

/// An inclusion proof for one line of a trace: the line, its path to the
/// trace's events root, and the trace's path to the bundle's root. The
/// rest of the trace (other events, reasoning included) stays at the lab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventProof {
    pub format: String,
    /// The bundle's evidence root and item count.
    pub root: String,
    pub size: u64,
    /// The trace's id, position among the items, SHA-256 (hex) and
    /// events root, as the bundle lists them.
    pub item: String,
    pub index: u64,
    pub sha256: String,
    pub events_root: String,
    /// The trace's audit path to the bundle's root (hex).
    pub path: Vec<String>,
    /// The line's position in the trace (0: the header) and the trace's
    /// line count.
    pub line: u64,
    pub lines: u64,
    /// The line's audit path to the events root (hex).
    pub line_path: Vec<String>,
    /// The line, as written (without its newline).
    pub content: String,
}

/// Who may see a questionnaire answer.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Disclosure {
    Public,
    EvaluatorOnly,
    /// Recorded as withheld, without its text.
    Withheld,
}

impl Disclosure {
    pub const fn as_str(self) -> &'static str {
        match self {
            Disclosure::Public => "public",
            Disclosure::EvaluatorOnly => "evaluator_only",
            Disclosure::Withheld => "withheld",
        }
    }
}

/// One questionnaire answer, as a bundle holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Answer {
    /// `Q1`–`Q14`.
    pub id: String,
    /// The date the answer is current as of, YYYY-MM-DD.
    pub as_of: String,
    pub declined: bool,
    pub disclosure: Disclosure,
    /// `null` when declined or withheld.
    pub answer: Option<String>,
    /// Evidence the answer rests on: items of the bundle, such as a
    /// monitor's results (`monitor:<path>`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cites: Vec<String>,
    /// Answers to the question's sub-questions (`Q7.b`), each of the kind
    /// the questionnaire's schema gives it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parts: BTreeMap<String, Part>,
    /// Documents the answer rests on, as commitments: the files stay with
    /// the participant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// A sub-question's answer: exactly one of `text`, `number`, `date` and
/// `attachment` (the one its kind asks for), or `declined`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Part {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub declined: bool,
    /// YYYY-MM-DD, when it differs from the answer's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
}

/// A document committed to by its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub name: String,
    /// `sha256:` and 64 hex digits of the file's bytes.
    pub sha256: String,
}

/// A u64 written as a decimal string.
mod decimal {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse()
            .map_err(|_| serde::de::Error::custom(format!("`{text}` is not a decimal seed")))
    }
}
