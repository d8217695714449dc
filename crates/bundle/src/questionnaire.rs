//! The questionnaire's answers: Q1–Q14, each with the
//! date it is current as of, declinable, and each with a disclosure level
//! that decides who may see it: `public`, `evaluator_only`, `withheld`
//! (a withheld answer is recorded as withheld, without its text).

use std::collections::BTreeMap;

use formats::bundle::{Answer, Attachment, Disclosure, Part};
use serde_json::Value;

/// Q1–Q14: id, section, topic.
pub const QUESTIONS: [(&str, &str, &str); 14] = [
    ("Q1", "means", "evidence on the shared model's direct capabilities"),
    ("Q2", "means", "would the default elicitation under- or over-estimate capability"),
    ("Q3", "means", "evidence on covert capabilities"),
    ("Q4", "means", "would the covert-capability elicitation under- or over-estimate"),
    ("Q5", "motive", "alignment target and how it is trained in"),
    ("Q6", "motive", "training mechanisms that could push toward misalignment"),
    ("Q7", "motive", "misalignment detection methods, findings, reliability and coverage"),
    ("Q8", "motive", "evidence of overfitting to those detection methods"),
    ("Q9", "opportunity", "internal AI use and the harmful-action opportunities it creates"),
    ("Q10", "opportunity", "oversight: processes, flagged incidents, stress tests"),
    ("Q11", "opportunity", "robustness to insider threats, and its basis"),
    ("Q12", "looking forward", "time in internal use; internal vs public gaps"),
    ("Q13", "looking forward", "internal capability trends, six-month expectations"),
    ("Q14", "looking forward", "AI R&D acceleration"),
];

/// What a sub-question's answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    Text,
    Number,
    /// A number from 0 to 100.
    Percent,
    Date,
    Attachment,
}

impl PartKind {
    pub const fn name(self) -> &'static str {
        match self {
            PartKind::Text => "text",
            PartKind::Number => "number",
            PartKind::Percent => "percent",
            PartKind::Date => "date",
            PartKind::Attachment => "attachment",
        }
    }
}

/// The sub-questions with structured answers: id, kind, what it asks.
pub const PARTS: [(&str, PartKind, &str); 12] = [
    (
        "Q1.a",
        PartKind::Text,
        "benchmarks and indices the shared model was measured on, with scores",
    ),
    ("Q1.b", PartKind::Date, "when the latest capability measurement was made"),
    (
        "Q3.a",
        PartKind::Percent,
        "side tasks completed unflagged in the participant's own covert-capability tests",
    ),
    ("Q7.a", PartKind::Text, "the misalignment detection methods in use"),
    ("Q7.b", PartKind::Percent, "share of internal agentic traffic those methods cover"),
    ("Q7.c", PartKind::Attachment, "the latest findings report"),
    ("Q9.a", PartKind::Number, "agent sessions per week in internal use"),
    ("Q9.b", PartKind::Percent, "share of those sessions run with permission checks skipped"),
    ("Q10.a", PartKind::Number, "incidents oversight flagged in the last quarter"),
    ("Q10.b", PartKind::Attachment, "the latest oversight stress test"),
    ("Q12.a", PartKind::Number, "months a model spends in internal use before public release"),
    (
        "Q14.a",
        PartKind::Number,
        "estimated speed-up of the participant's AI R&D from AI use, as a multiplier",
    ),
];

/// Whether `s` names a document by its digest: `sha256:` and 64 lowercase
/// hex digits.
pub fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64 && h.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    })
}

fn attachment(v: &Value, at: &str, problems: &mut Vec<String>) -> Option<Attachment> {
    let name = v["name"].as_str().filter(|n| !n.trim().is_empty());
    let sha = v["sha256"].as_str().filter(|d| is_digest(d));
    match (name, sha) {
        (Some(name), Some(sha)) => Some(Attachment { name: name.into(), sha256: sha.into() }),
        _ => {
            problems.push(format!(
                "{at}: an attachment is {{\"name\": …, \"sha256\": \"sha256:<64 hex digits>\"}} (the file stays with you; `sha256sum FILE` gives the digits)"
            ));
            None
        }
    }
}

/// Reads an answer's `attachments` list.
pub fn attachments(v: &Value, at: &str, problems: &mut Vec<String>) -> Vec<Attachment> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, a)| attachment(a, &format!("{at}.attachments[{i}]"), problems))
            .collect(),
        _ => {
            problems.push(format!("{at}: `attachments` is a list"));
            Vec::new()
        }
    }
}

/// Reads an answer's `parts`: each key one of the question's sub-questions,
/// each value of the sub-question's kind, or declined.
pub fn parts(
    question: &str,
    v: &Value,
    at: &str,
    problems: &mut Vec<String>,
) -> BTreeMap<String, Part> {
    let mut out = BTreeMap::new();
    let Some(map) = v.as_object() else {
        if !v.is_null() {
            problems.push(format!("{at}: `parts` is an object of sub-question id → answer"));
        }
        return out;
    };
    for (id, p) in map {
        let at = format!("{at}.parts.{id}");
        let Some((_, kind, _)) =
            PARTS.iter().find(|(q, _, _)| q == id && q.split('.').next() == Some(question))
        else {
            let ours: Vec<&str> = PARTS
                .iter()
                .map(|(q, _, _)| *q)
                .filter(|q| q.split('.').next() == Some(question))
                .collect();
            problems.push(format!(
                "{at}: no such sub-question of {question} ({})",
                if ours.is_empty() {
                    "it has none".to_owned()
                } else {
                    format!("it has {}", ours.join(", "))
                }
            ));
            continue;
        };
        let mut part = Part::default();
        let as_of = p["as_of"].as_str();
        if let Some(d) = as_of {
            if is_date(d) {
                part.as_of = Some(d.into())
            } else {
                problems.push(format!("{at}.as_of: a date, YYYY-MM-DD"))
            }
        }
        let given: Vec<&str> = ["text", "number", "date", "attachment"]
            .into_iter()
            .filter(|f| !p[*f].is_null())
            .collect();
        if p["declined"] == true {
            if !given.is_empty() {
                problems.push(format!("{at}: a declined sub-question has no answer"));
            }
            part.declined = true;
            out.insert(id.clone(), part);
            continue;
        }
        let field = match kind {
            PartKind::Text => "text",
            PartKind::Number | PartKind::Percent => "number",
            PartKind::Date => "date",
            PartKind::Attachment => "attachment",
        };
        if given != [field] {
            problems.push(format!(
                "{at}: a {} answer is `{{\"{field}\": …}}` (or `\"declined\": true`)",
                kind.name()
            ));
            continue;
        }
        match kind {
            PartKind::Text => match p["text"].as_str().filter(|t| !t.trim().is_empty()) {
                Some(t) => part.text = Some(t.into()),
                None => problems.push(format!("{at}.text: some text")),
            },
            PartKind::Number | PartKind::Percent => {
                match p["number"].as_f64().filter(|n| n.is_finite()) {
                    Some(n) if *kind == PartKind::Percent && !(0.0..=100.0).contains(&n) => {
                        problems.push(format!("{at}.number: {n} is a percentage, from 0 to 100"))
                    }
                    Some(n) => part.number = Some(n),
                    None => problems.push(format!("{at}.number: a number")),
                }
            }
            PartKind::Date => match p["date"].as_str().filter(|d| is_date(d)) {
                Some(d) => part.date = Some(d.into()),
                None => problems.push(format!("{at}.date: a date, YYYY-MM-DD")),
            },
            PartKind::Attachment => {
                part.attachment =
                    attachment(&p["attachment"], &format!("{at}.attachment"), problems)
            }
        }
        out.insert(id.clone(), part);
    }
    out
}

/// Reads one answer (`{"id", "as_of", "answer" | "declined": true,
/// "disclosure", "cites"?, "parts"?, "attachments"?}`), naming each problem
/// after `at`.
pub fn one(a: &Value, at: &str, problems: &mut Vec<String>) -> Option<Answer> {
    let id = a["id"].as_str().unwrap_or_default();
    if !QUESTIONS.iter().any(|(q, _, _)| *q == id) {
        problems.push(format!("{at}: `id` must be one of Q1–Q14"));
        return None;
    }
    let as_of = a["as_of"].as_str().unwrap_or_default();
    if !is_date(as_of) {
        problems.push(format!("{at}: `as_of` must be a date, YYYY-MM-DD"));
    }
    let level = match a["disclosure"].as_str().unwrap_or_default() {
        "public" => Disclosure::Public,
        "evaluator_only" => Disclosure::EvaluatorOnly,
        "withheld" => Disclosure::Withheld,
        _ => {
            problems.push(format!("{at}: `disclosure` must be public, evaluator_only or withheld"));
            Disclosure::Withheld
        }
    };
    let declined = a["declined"] == true;
    let text = a["answer"].as_str();
    match (declined, text) {
        (true, Some(_)) => problems.push(format!("{at}: a declined question has no `answer`")),
        (false, None) => problems.push(format!("{at}: `answer` (text), or `\"declined\": true`")),
        _ => {}
    }
    let cites: Vec<String> = match &a["cites"] {
        Value::Null => Vec::new(),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(|c| c.as_str().map(str::to_owned)).collect()
        }
        _ => {
            problems.push(format!(
                    "{at}: `cites` is a list of the bundle's evidence items, e.g. [\"monitor:ours.json\"]"
                ));
            Vec::new()
        }
    };
    let parts = parts(id, &a["parts"], at, problems);
    let attachments = attachments(&a["attachments"], at, problems);
    // A withheld answer's text never enters the bundle.
    let kept = if level == Disclosure::Withheld || declined { None } else { text };
    let (parts, attachments) = match kept {
        Some(_) => (parts, attachments),
        None => Default::default(),
    };
    Some(Answer {
        id: id.into(),
        as_of: as_of.into(),
        declined,
        disclosure: level,
        answer: kept.map(str::to_owned),
        cites,
        parts,
        attachments,
    })
}

/// Whether `s` is a calendar date written YYYY-MM-DD.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&s[5..7].parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&s[8..10].parse::<u8>().unwrap_or(0))
}

/// Reads a questionnaire file (`{"answers": [{"id", "as_of", "answer" |
/// "declined": true, "disclosure", "cites"?}]}`) into the form a bundle
/// holds. Every problem is named, with the answer it is in.
pub fn read(doc: &Value) -> Result<Vec<Answer>, Vec<String>> {
    let mut problems = Vec::new();
    let mut out = Vec::new();
    let answers = doc["answers"].as_array().map(Vec::as_slice).unwrap_or_default();
    if doc["answers"].as_array().is_none() {
        problems.push("no `answers` array".into());
    }
    for (i, a) in answers.iter().enumerate() {
        let id = a["id"].as_str().unwrap_or_default();
        let at = format!("answers[{i}] ({id})");
        if answers[..i].iter().any(|b| b["id"] == id) {
            problems.push(format!("{at}: answered twice"));
        }
        if let Some(answer) = one(a, &at, &mut problems) {
            out.push(answer);
        }
    }
    for (q, _, _) in QUESTIONS {
        if !answers.iter().any(|a| a["id"] == q) {
            problems.push(format!("{q} is not answered (answer it, or set \"declined\": true)"));
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn full(level_of: impl Fn(usize) -> &'static str) -> Value {
        let answers: Vec<Value> = (1..=14)
            .map(|i| json!({"id": format!("Q{i}"), "as_of": "2026-11-01", "answer": format!("answer {i}"), "disclosure": level_of(i)}))
            .collect();
        json!({ "answers": answers })
    }

    #[test]
    fn withheld_text_never_enters_the_bundle() {
        let got = read(&full(|i| if i == 3 { "withheld" } else { "public" })).unwrap();
        assert_eq!(got[2].answer, None);
        assert_eq!(got[2].disclosure, Disclosure::Withheld);
        assert_eq!(got[0].answer.as_deref(), Some("answer 1"));
        assert!(!serde_json::to_string(&got).unwrap().contains("answer 3"));
    }

    #[test]
    fn problems_are_named() {
        let mut doc = full(|_| "public");
        doc["answers"][0]["as_of"] = json!("yesterday");
        doc["answers"][1]["disclosure"] = json!("secret");
        doc["answers"][2] = json!({"id": "Q3", "as_of": "2026-11-01", "declined": true, "answer": "x", "disclosure": "public"});
        doc["answers"].as_array_mut().unwrap().pop();
        let errs = read(&doc).unwrap_err();
        assert!(errs.iter().any(|e| e.starts_with("answers[0] (Q1): `as_of`")), "{errs:?}");
        assert!(errs.iter().any(|e| e.starts_with("answers[1] (Q2): `disclosure`")), "{errs:?}");
        assert!(errs.iter().any(|e| e.contains("declined question has no `answer`")), "{errs:?}");
        assert!(errs.iter().any(|e| e.starts_with("Q14 is not answered")), "{errs:?}");
    }
}
