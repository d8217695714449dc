//! Model access and the evaluator's own evidence. Each participant shares
//! the model it considers its internal state of the art, attested as such
//! as of a date, under terms (`perimeter.model-access/1`, signed with its
//! registered key). The evaluator runs the suite against it (`perimeter run`
//! relayed to the shared endpoint) and takes the run in as evidence of its
//! own, attributed to that model (`perimeter.evaluator-evidence/1`, sealed
//! under the participant's key) — refused when the run sent the model's
//! outputs to a third-party service the terms rule out. Runs on public
//! models give the public frontier (`evaluator/public.json`).

use std::path::Path;

use formats::process::{
    ACCESS_FORMAT, EVIDENCE_FORMAT, EvaluatorEvidence, EvaluatorRun, ModelAccess, Phase,
    ReasoningAccess,
};
use formats::run::{LabelSource, Summary};
use serde_json::Value;

use crate::folder::{load, registered_key, write_json};
use crate::phase::{self, When};
use crate::{Error, sealed};

/// Takes a participant's signed model access record.
pub fn record(dir: &Path, doc: &Value, when: When) -> Result<ModelAccess, Error> {
    phase::require(dir, &[Phase::Gathering], "a model access record")?;
    let round = load(dir)?;
    let participant = doc["participant"].as_str().unwrap_or_default().to_owned();
    let registered = registered_key(&round, &participant)?;
    let mut problems = Vec::new();
    if doc["format"] != ACCESS_FORMAT {
        problems.push(format!("format: {} where {ACCESS_FORMAT:?} is expected", doc["format"]));
    }
    if doc["signature"].is_null() {
        problems.push(
            "signature: missing; the participant signs its record (`perimeter disclosure sign`)"
                .into(),
        );
    } else if let Err(Error::Signature(m)) = crate::disclosure::check_signature(doc, &registered) {
        problems.push(m);
    }
    let access: Option<ModelAccess> = match serde_json::from_value(doc.clone()) {
        Ok(a) => Some(a),
        Err(e) => {
            problems.push(format!("{e} (see docs/round-format.md, \"Model access\")"));
            None
        }
    };
    if let Some(a) = &access {
        let att = &a.attestation;
        for (field, v) in [("by", &att.by), ("statement", &att.statement)] {
            if v.trim().is_empty() {
                problems.push(format!("attestation.{field}: missing"));
            }
        }
        if a.model.id.trim().is_empty() || a.model.endpoint.trim().is_empty() {
            problems.push("model.id, model.endpoint: both name the shared model".into());
        }
        problems.extend(dated("attestation.as_of", &att.as_of, round.window.as_deref(), when));
    }
    if !problems.is_empty() {
        return Err(Error::Refused { problems });
    }
    let access = access.expect("parsed when nothing is refused");
    sealed::seal(dir, &participant, "access", &serde_json::to_vec(doc).expect("JSON"))?;
    Ok(access)
}

/// A participant's model access record, when it gave one.
pub fn of(dir: &Path, participant: &str) -> Result<Option<ModelAccess>, Error> {
    let Some(bytes) = sealed::open(dir, participant, "access")? else { return Ok(None) };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::Corrupt {
        path: sealed::item_path(dir, participant, "access"),
        message: format!("{participant}'s model access record: {e}"),
    })
}

/// The problems with a date a participant gives for the round: it must lie
/// inside the round's window and not after today.
pub(crate) fn dated(field: &str, date: &str, window: Option<&str>, when: When) -> Vec<String> {
    if !bundle::questionnaire::is_date(date) {
        return vec![format!("{field}: a date, YYYY-MM-DD")];
    }
    let mut problems = Vec::new();
    let today = when.date();
    if date > today.as_str() {
        problems.push(format!("{field}: {date} is after today ({today})"));
    }
    if let Some((from, to)) = window.and_then(|w| w.split_once(".."))
        && (date < from || date > to)
    {
        problems.push(format!("{field}: {date} is outside the round's window ({from}..{to})"));
    }
    problems
}

/// The model a run's agent used: what follows `--model` in its spec.
pub fn run_model(agent: &str) -> Option<&str> {
    agent.rsplit_once(" --model ").map(|(_, m)| m.trim())
}

/// The participant's evidence: the evaluator's runs on its model.
pub fn evidence(dir: &Path, participant: Option<&str>) -> Result<EvaluatorEvidence, Error> {
    let empty = || EvaluatorEvidence { format: EVIDENCE_FORMAT.into(), runs: Vec::new() };
    let (bytes, path) = match participant {
        Some(p) => (sealed::open(dir, p, "evidence")?, sealed::item_path(dir, p, "evidence")),
        None => {
            let path = dir.join("evaluator").join("public.json");
            match std::fs::read(&path) {
                Ok(b) => (Some(b), path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, path),
                Err(source) => return Err(Error::Io { path, source }),
            }
        }
    };
    let Some(bytes) = bytes else { return Ok(empty()) };
    serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt { path, message: e.to_string() })
}

/// Takes in one of the evaluator's runs (its `summary.json`) as evidence:
/// on `participant`'s shared model, or with `None` on a public model.
/// Refused when the run is of another suite, another model than the one
/// shared, a name already used, or labelled by a judge that is a
/// third-party service where the terms rule that out.
pub fn evaluate(
    dir: &Path,
    participant: Option<&str>,
    name: &str,
    summary_bytes: &[u8],
    when: When,
) -> Result<EvaluatorRun, Error> {
    phase::require(dir, &[Phase::Gathering, Phase::Evaluation], "an evaluator run")?;
    let round = load(dir)?;
    let summary: Summary = serde_json::from_slice(summary_bytes)
        .map_err(|e| Error::Refused { problems: vec![format!("not a run's summary.json: {e}")] })?;
    let mut problems = Vec::new();
    if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c)) {
        problems.push(format!("run name `{name}`: letters, digits, `-`, `_` and `.` only"));
    }
    if summary.header.suite.digest != round.suite_digest {
        problems.push(format!(
            "suite digest {} where the round runs {}",
            summary.header.suite.digest, round.suite_digest
        ));
    }
    let model = run_model(&summary.header.agent).map(str::to_owned);
    let judged =
        summary.episodes.iter().flat_map(|e| &e.labels).any(|l| l.source == LabelSource::Judge);
    let mut retained = true;
    let mut taken: Vec<String> = Vec::new();
    for p in round.participants.iter().map(|p| p.id.as_str()) {
        taken.extend(evidence(dir, Some(p))?.runs.into_iter().map(|r| r.name));
    }
    taken.extend(evidence(dir, None)?.runs.into_iter().map(|r| r.name));
    if taken.iter().any(|t| t == name) {
        problems.push(format!("run name `{name}` is taken in this round"));
    }
    match participant {
        Some(p) => {
            registered_key(&round, p)?;
            match of(dir, p)? {
                None => problems.push(format!(
                    "{p} has shared no model: its model access record comes first (`perimeter round access`)"
                )),
                Some(access) => {
                    let id = model.as_deref().and_then(|m| m.split_once(':')).map(|(_, id)| id);
                    if id != Some(access.model.id.as_str()) {
                        problems.push(format!(
                            "the run's model is {} where {p} shared `{}`",
                            model.as_deref().unwrap_or("none (a reference policy)"),
                            access.model.id
                        ));
                    }
                    if judged && !access.terms.third_party_services {
                        problems.push(format!(
                            "the run's labels include a judge model's: {p}'s terms do not allow its model's outputs to go to a third-party service; label the run without `--judge`"
                        ));
                    }
                    retained = access.terms.reasoning != ReasoningAccess::None;
                }
            }
        }
        None if model.is_none() => {
            problems.push("a public-frontier run uses a model (`--model`)".into())
        }
        None => {}
    }
    if !problems.is_empty() {
        return Err(Error::Refused { problems });
    }
    let run = EvaluatorRun {
        name: name.into(),
        model: model.unwrap_or_default(),
        agent: summary.header.agent.clone(),
        summary_digest: crate::digest(summary_bytes),
        recorded: when.date(),
        judge: judged.then(|| "a judge model".into()),
        reasoning_retained: retained,
        episodes: summary.episodes.into_iter().map(bundle::submission::episode).collect(),
    };
    let mut all = evidence(dir, participant)?;
    all.runs.push(run.clone());
    match participant {
        Some(p) => sealed::seal(dir, p, "evidence", &serde_json::to_vec(&all).expect("JSON"))?,
        None => {
            let folder = dir.join("evaluator");
            std::fs::create_dir_all(&folder).map_err(Error::io(&folder))?;
            write_json(&folder.join("public.json"), &all)?;
        }
    }
    Ok(run)
}
