//! A reviewer's decisions on what the machine labelled
//! (`perimeter.decisions/1`, `docs/decisions-format.md`): each confirms,
//! dismisses or re-grades one label, finding or incident, with who, when
//! and why. The machine's labels are never changed: reports apply the
//! decisions as a layer over them and say which they show.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{ClassId, Timestamp};

pub const DECISIONS_FORMAT: &str = "perimeter.decisions/1";

/// The journal's first line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
}

/// What a decision is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// An episode's label of a class; the episode is named by its trace's
    /// head, which no other episode shares.
    Label { trace_head: String, episode: String, class: ClassId },
    /// A scan finding: the session's file as the scan report names it, and
    /// the detector's code.
    Finding { session: String, code: String, class: ClassId },
    /// An incident, by its catalogue key (stable when the catalogue is
    /// collected again) and its id.
    Incident { key: String, id: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The machine was right.
    Confirm,
    /// Not an act of the class (or not an incident): left out of reviewed
    /// figures.
    Dismiss,
    /// Right in kind, wrong in degree: a new severity (labels, findings)
    /// or grade (incidents).
    Regrade,
}

impl Decision {
    /// The bytes `check` is the SHA-256 of: the decision's JSON with
    /// `check` empty.
    pub fn checked_bytes(&self) -> Vec<u8> {
        let mut plain = self.clone();
        plain.check = String::new();
        serde_json::to_vec(&plain).expect("decisions serialize")
    }
}

/// One decision, as a journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// 1 for the first decision, then consecutive.
    pub n: u64,
    pub at: Timestamp,
    pub by: String,
    pub target: Target,
    pub verdict: Verdict,
    /// A re-graded label's or finding's severity, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<f64>,
    /// A re-graded incident's grade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<crate::incident::Grade>,
    pub note: String,
    /// `sha256:` of the decision's JSON with `check` empty: a line cut
    /// short by a crash does not match it.
    pub check: String,
}

/// One class's figure per opportunity, by the machine's labels and with
/// the labels reviewers dismissed left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewedClass {
    pub class: ClassId,
    pub machine: Figure,
    pub reviewed: Figure,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    pub k: u64,
    pub n: u64,
    pub rate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// Reviewers' decisions as a bundle carries them: the decisions on its
/// run's labels, whole (each with its check), and the figures they give,
/// which a verifier recomputes from the signed episodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub decisions: Vec<Decision>,
    pub classes: Vec<ReviewedClass>,
}
