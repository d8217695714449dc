//! The questionnaire's thread with one participant (`perimeter.thread/1`,
//! sealed under its key): the evaluator's follow-up questions and interview
//! records, the participant's signed replies, and its signed amendments,
//! each of which replaces one answer and nothing else (a bundle's other
//! claims, and the decisions on them, stand).

use std::path::Path;

use formats::bundle::Bundle;
use formats::process::{EntryKind, Phase, THREAD_ENTRY_FORMAT, THREAD_FORMAT, Thread, ThreadEntry};
use serde_json::Value;

use crate::access::dated;
use crate::folder::{load as load_round, registered_key};
use crate::phase::{self, When};
use crate::{Error, sealed};

/// The thread runs until publication: an answer may be amended while its
/// disclosure is negotiated (until the participant's final approval).
const PHASES: [Phase; 3] = [Phase::Gathering, Phase::Evaluation, Phase::Disclosure];

pub fn load(dir: &Path, participant: &str) -> Result<Thread, Error> {
    let empty = || Thread {
        format: THREAD_FORMAT.into(),
        participant: participant.into(),
        entries: vec![],
    };
    let Some(bytes) = sealed::open(dir, participant, "thread")? else { return Ok(empty()) };
    serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
        path: sealed::item_path(dir, participant, "thread"),
        message: format!("{participant}'s thread: {e}"),
    })
}

fn append(dir: &Path, participant: &str, mut entry: ThreadEntry) -> Result<ThreadEntry, Error> {
    let mut thread = load(dir, participant)?;
    entry.id = format!("T{}", thread.entries.len() + 1);
    thread.entries.push(entry.clone());
    sealed::seal(dir, participant, "thread", &serde_json::to_vec(&thread).expect("JSON"))?;
    Ok(entry)
}

/// Whether `q` is a question (`Q7`) or sub-question (`Q7.b`).
pub fn is_question(q: &str) -> bool {
    bundle::questionnaire::QUESTIONS.iter().any(|(id, _, _)| *id == q)
        || bundle::questionnaire::PARTS.iter().any(|(id, _, _)| *id == q)
}

fn question_problems(question: &str) -> Vec<String> {
    question
        .split(',')
        .map(str::trim)
        .filter(|q| !is_question(q))
        .map(|q| format!("question: `{q}` is no question (Q1–Q14) or sub-question (e.g. Q7.b)"))
        .collect()
}

/// What the evaluator writes into a thread: a follow-up question, or an
/// interview's record.
pub struct Note<'a> {
    pub participant: &'a str,
    pub kind: EntryKind,
    /// One question, or for an interview several, comma-separated.
    pub question: &'a str,
    pub by: &'a str,
    pub text: &'a str,
    pub attendees: Vec<String>,
}

/// Records the evaluator's follow-up or interview.
pub fn note(dir: &Path, n: Note<'_>, when: When) -> Result<ThreadEntry, Error> {
    phase::require(dir, &PHASES, "the questionnaire's thread")?;
    let round = load_round(dir)?;
    registered_key(&round, n.participant)?;
    let mut problems = question_problems(n.question);
    if !matches!(n.kind, EntryKind::FollowUp | EntryKind::Interview) {
        problems.push("the evaluator writes follow-ups and interview records".into());
    }
    if n.text.trim().is_empty() || n.by.trim().is_empty() {
        problems.push("text and by: both needed".into());
    }
    if n.kind == EntryKind::Interview && n.attendees.is_empty() {
        problems.push("attendees: an interview's record names who attended, by role".into());
    }
    if !problems.is_empty() {
        return Err(Error::Refused { problems });
    }
    let entry = ThreadEntry {
        id: String::new(),
        kind: n.kind,
        question: n.question.split(',').map(str::trim).collect::<Vec<_>>().join(","),
        to: None,
        date: when.date(),
        recorded: Some(when.at),
        by: n.by.into(),
        text: Some(n.text.into()),
        attachments: Vec::new(),
        attendees: n.attendees,
        answer: None,
        declined: false,
        signed: None,
    };
    append(dir, n.participant, entry)
}

/// Records a participant's signed reply or amendment
/// (`perimeter.thread-entry/1`).
pub fn submit(dir: &Path, doc: &Value, when: When) -> Result<ThreadEntry, Error> {
    phase::require(dir, &PHASES, "the questionnaire's thread")?;
    let round = load_round(dir)?;
    let participant = doc["participant"].as_str().unwrap_or_default().to_owned();
    let registered = registered_key(&round, &participant)?;
    let thread = load(dir, &participant)?;
    let mut problems = Vec::new();
    if doc["format"] != THREAD_ENTRY_FORMAT {
        problems
            .push(format!("format: {} where {THREAD_ENTRY_FORMAT:?} is expected", doc["format"]));
    }
    if doc["signature"].is_null() {
        problems.push("signature: missing; the participant signs what it adds to the thread (`perimeter disclosure sign`)".into());
    } else if let Err(Error::Signature(m)) = crate::disclosure::check_signature(doc, &registered) {
        problems.push(m);
    }
    let by = doc["by"].as_str().unwrap_or_default();
    if by.trim().is_empty() {
        problems.push("by: who answers, and in what role".into());
    }
    let date = doc["date"].as_str().unwrap_or_default();
    problems.extend(dated("date", date, round.window.as_deref(), when));
    let attachments =
        bundle::questionnaire::attachments(&doc["attachments"], "attachments", &mut problems);
    let mut entry = ThreadEntry {
        id: String::new(),
        kind: EntryKind::Reply,
        question: String::new(),
        to: None,
        date: date.into(),
        recorded: Some(when.at),
        by: by.into(),
        text: None,
        attachments,
        attendees: Vec::new(),
        answer: None,
        declined: doc["declined"] == true,
        signed: Some(doc.clone()),
    };
    match doc["kind"].as_str() {
        Some("reply") => {
            let to = doc["to"].as_str().unwrap_or_default();
            match thread.entries.iter().find(|e| e.id == to && e.kind == EntryKind::FollowUp) {
                Some(f) => entry.question = f.question.clone(),
                None => problems.push(format!(
                    "to: `{to}` is no follow-up question in {participant}'s thread{}",
                    list(&thread, EntryKind::FollowUp)
                )),
            }
            entry.to = Some(to.into());
            entry.text = doc["text"].as_str().map(str::to_owned);
            if entry.text.is_some() == entry.declined {
                problems.push("text: the reply, or `\"declined\": true`".into());
            }
        }
        Some("amendment") => {
            entry.kind = EntryKind::Amendment;
            let negotiation = crate::negotiation::load(dir, &participant)?;
            if let Some(date) = crate::negotiation::finalised(&negotiation) {
                problems.push(format!(
                    "{participant} finalised its approval on {date}: its answers are settled"
                ));
            }
            let answer = bundle::questionnaire::one(&doc["answer"], "answer", &mut problems);
            if let Some(a) = &answer {
                entry.question = a.id.clone();
            }
            entry.answer = answer;
        }
        _ => problems.push("kind: `reply` (to a follow-up) or `amendment` (of one answer)".into()),
    }
    if !problems.is_empty() {
        return Err(Error::Refused { problems });
    }
    append(dir, &participant, entry)
}

fn list(thread: &Thread, kind: EntryKind) -> String {
    let ids: Vec<&str> =
        thread.entries.iter().filter(|e| e.kind == kind).map(|e| e.id.as_str()).collect();
    match ids.is_empty() {
        true => " (it has none)".into(),
        false => format!(" (its {}s: {})", kind.name(), ids.join(", ")),
    }
}

/// The bundle with each amended answer replaced by its latest amendment,
/// in its place: claims keep their ids.
pub fn amended(bundle: &Bundle, thread: &Thread) -> Bundle {
    let mut out = bundle.clone();
    for e in thread.entries.iter().filter(|e| e.kind == EntryKind::Amendment) {
        let Some(new) = &e.answer else { continue };
        let answers = out.content.questionnaire.get_or_insert_with(Vec::new);
        match answers.iter_mut().find(|a| a.id == new.id) {
            Some(a) => *a = new.clone(),
            None => answers.push(new.clone()),
        }
    }
    out
}

/// Every id a thread gives evidence under: its entries and the
/// attachments its entries and the bundle's answers carry.
pub fn evidence_ids(bundle: &Bundle, thread: &Thread) -> Vec<String> {
    let mut ids: Vec<String> = thread.entries.iter().map(|e| e.id.clone()).collect();
    ids.extend(thread.entries.iter().flat_map(|e| &e.attachments).map(|a| a.sha256.clone()));
    for a in bundle.content.questionnaire.iter().flatten() {
        ids.extend(a.attachments.iter().map(|x| x.sha256.clone()));
        ids.extend(
            a.parts.values().filter_map(|p| p.attachment.as_ref()).map(|x| x.sha256.clone()),
        );
    }
    ids
}
