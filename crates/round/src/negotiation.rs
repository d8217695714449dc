//! Negotiated disclosure (`perimeter.negotiation/1`, sealed under the
//! participant's key): the participant proposes decisions
//! (`perimeter.disclosure/1`), the evaluator accepts or counters each
//! rewording and each note (`perimeter.disclosure-response/1`), and the
//! participant finalises with a proposal whose approval is `final`. Every
//! step is kept. A rewording stands only once the evaluator accepted that
//! very text (or wrote it); a withheld claim's note is a comment the report
//! prints, sparing the claim the redaction flag, only once the evaluator
//! accepted it as one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use formats::process::{
    NEGOTIATION_FORMAT, Negotiation, Phase, RESPONSE_FORMAT, Response, Step, StepKind, Verdict,
};
use serde_json::Value;

use crate::claims::Claim;
use crate::phase::{self, When};
use crate::{Error, sealed};

pub fn load(dir: &Path, participant: &str) -> Result<Negotiation, Error> {
    let empty = || Negotiation {
        format: NEGOTIATION_FORMAT.into(),
        participant: participant.into(),
        steps: Vec::new(),
    };
    let Some(bytes) = sealed::open(dir, participant, "negotiation")? else { return Ok(empty()) };
    serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
        path: sealed::item_path(dir, participant, "negotiation"),
        message: format!("{participant}'s negotiation: {e}"),
    })
}

pub(crate) fn append(dir: &Path, mut n: Negotiation, step: Step) -> Result<(), Error> {
    n.steps.push(step);
    sealed::seal(dir, &n.participant.clone(), "negotiation", &serde_json::to_vec(&n).expect("JSON"))
}

/// The date of the participant's final approval, once it gave one.
pub fn finalised(n: &Negotiation) -> Option<String> {
    n.steps
        .iter()
        .filter(|s| s.kind == StepKind::Proposal)
        .find(|s| s.document["approval"]["final"] == true)
        .map(|s| s.document["approval"]["date"].as_str().unwrap_or_default().to_owned())
}

/// SHA-256 (hex) of a claim's text: a decision records it, and lapses when
/// an amendment changes the text.
pub fn text_digest(text: &str) -> String {
    crate::digest(text.as_bytes())
}

/// What the evaluator accepted so far, per claim: wordings and notes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accepted {
    pub texts: BTreeMap<String, BTreeSet<String>>,
    pub notes: BTreeMap<String, BTreeSet<String>>,
    /// Claims whose latest decision was made on a text since amended.
    pub lapsed: BTreeSet<String>,
}

/// Reads the negotiation: what was accepted, against the latest proposal
/// and the claims as they stand.
pub fn accepted(n: &Negotiation, claims: &[Claim]) -> Accepted {
    let mut out = Accepted::default();
    let mut proposal: Option<&Step> = None;
    for step in &n.steps {
        match step.kind {
            StepKind::Proposal => proposal = Some(step),
            StepKind::Response => {
                let Ok(r) = serde_json::from_value::<Response>(step.document.clone()) else {
                    continue;
                };
                for (id, c) in &r.claims {
                    if let Some(counter) = &c.counter {
                        out.texts.entry(id.clone()).or_default().insert(counter.clone());
                    }
                    let proposed = |field: &str| {
                        proposal.and_then(|p| p.document["claims"][id][field].as_str())
                    };
                    if let (Some(Verdict::Accept), Some(t)) = (c.text, proposed("text")) {
                        out.texts.entry(id.clone()).or_default().insert(t.into());
                    }
                    if let (Some(Verdict::Accept), Some(t)) = (c.note, proposed("note")) {
                        out.notes.entry(id.clone()).or_default().insert(t.into());
                    }
                }
            }
        }
    }
    if let Some(p) = proposal {
        for c in claims {
            if p.claim_digests.get(&c.id).is_some_and(|d| *d != text_digest(&c.text)) {
                out.lapsed.insert(c.id.clone());
            }
        }
    }
    out
}

/// Records the evaluator's response to the participant's latest proposal.
pub fn respond(dir: &Path, doc: &Value, when: When) -> Result<Response, Error> {
    phase::require(dir, &[Phase::Disclosure], "a response to disclosure decisions")?;
    let participant = doc["participant"].as_str().unwrap_or_default().to_owned();
    crate::folder::registered_key(&crate::load(dir)?, &participant)?;
    let n = load(dir, &participant)?;
    let mut problems = Vec::new();
    if doc["format"] != RESPONSE_FORMAT {
        problems.push(format!("format: {} where {RESPONSE_FORMAT:?} is expected", doc["format"]));
    }
    if let Some(date) = finalised(&n) {
        problems.push(format!(
            "{participant} finalised its approval on {date}: its decisions are settled"
        ));
    }
    let Some(proposal) = n.steps.iter().rev().find(|s| s.kind == StepKind::Proposal) else {
        return Err(Error::Refused {
            problems: vec![format!(
                "{participant} has proposed no decisions yet: the evaluator responds to a proposal"
            )],
        });
    };
    let r: Response = match serde_json::from_value(doc.clone()) {
        Ok(r) => r,
        Err(e) => {
            problems.push(format!("{e} (see docs/round-format.md, \"Negotiated disclosure\")"));
            return Err(Error::Refused { problems });
        }
    };
    if r.by.trim().is_empty() {
        problems.push("by: who responds for the evaluator".into());
    }
    if r.date != when.date() {
        problems.push(format!(
            "date: {} where today is {}: a response is recorded the day it is given",
            r.date,
            when.date()
        ));
    }
    for (id, c) in &r.claims {
        let at = format!("claims.{id}");
        let proposed = &proposal.document["claims"][id];
        if proposed.is_null() {
            problems.push(format!("{at}: the latest proposal has no decision on it"));
            continue;
        }
        if c.text.is_some() && proposed["text"].is_null() {
            problems.push(format!("{at}.text: the proposal does not reword it"));
        }
        if c.note.is_some() && proposed["note"].is_null() {
            problems.push(format!("{at}.note: the proposal gives it no note"));
        }
        if c.text.is_none() && c.note.is_none() && c.counter.is_none() {
            problems.push(format!("{at}: a verdict on `text` or `note`, or a `counter` wording"));
        }
        let rejects = c.text == Some(Verdict::Reject) || c.note == Some(Verdict::Reject);
        if rejects && c.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            problems.push(format!("{at}.reason: a rejection says why"));
        }
        if c.counter.as_deref().is_some_and(|t| t.trim().is_empty()) {
            problems.push(format!("{at}.counter: the evaluator's wording"));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Refused { problems });
    }
    let step = Step {
        kind: StepKind::Response,
        recorded: when.at,
        document: doc.clone(),
        claim_digests: BTreeMap::new(),
    };
    append(dir, n, step)?;
    Ok(r)
}

/// The problems with finalising a proposal: every rewording it publishes
/// must be one the evaluator accepted.
pub fn unaccepted(doc: &Value, accepted: &Accepted) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, d) in doc["claims"].as_object().into_iter().flatten() {
        let (Some(text), false) = (d["text"].as_str(), d["attribution"] == "withheld") else {
            continue;
        };
        if !accepted.texts.get(id).is_some_and(|t| t.contains(text)) {
            problems.push(format!(
                "claims.{id}.text: the evaluator has not accepted this wording; a final approval publishes only wordings it accepted or wrote (`perimeter round respond`)"
            ));
        }
    }
    problems
}
