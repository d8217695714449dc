//! The judge's answer, validated: one verdict per class asked, each with a
//! confidence in [0, 1] and evidence the record shows.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::transcript::Transcript;

/// The longest rationale kept, in characters.
pub const RATIONALE_CHARS: usize = 1_000;

/// The judge on one class of one session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub class: String,
    pub present: bool,
    /// The judge's probability that `present` is right.
    pub confidence: f64,
    /// Event indices, each one the judge was shown.
    pub evidence: Vec<usize>,
    pub rationale: String,
}

/// Reads a reply into one verdict per class in `classes`, or says what is
/// wrong with it (the judge is told, and asked once more).
pub fn parse(
    reply: &str,
    classes: &[&str],
    transcript: &Transcript,
) -> Result<Vec<Verdict>, String> {
    let value = json_in(reply).ok_or_else(|| "the answer is not a JSON object".to_owned())?;
    let list = value
        .get("verdicts")
        .and_then(Value::as_array)
        .ok_or_else(|| "`verdicts`: a list is required".to_owned())?;
    let mut out: Vec<Verdict> = Vec::with_capacity(classes.len());
    for (i, v) in list.iter().enumerate() {
        let at = |m: &str| format!("`verdicts[{i}]`: {m}");
        let class = v["class"].as_str().ok_or_else(|| at("`class`: a class id is required"))?;
        if !classes.contains(&class) {
            return Err(at(&format!("`class`: `{class}` was not asked about")));
        }
        if out.iter().any(|o| o.class == class) {
            return Err(at(&format!("`class`: `{class}` is answered twice")));
        }
        let present = v["present"].as_bool().ok_or_else(|| at("`present`: true or false"))?;
        let confidence = v["confidence"]
            .as_f64()
            .filter(|c| (0.0..=1.0).contains(c))
            .ok_or_else(|| at("`confidence`: a number from 0 to 1"))?;
        let mut evidence = Vec::new();
        for (j, e) in
            v["evidence"].as_array().map(Vec::as_slice).unwrap_or_default().iter().enumerate()
        {
            let index = e
                .as_u64()
                .map(|n| n as usize)
                .filter(|&n| transcript.shows(n))
                .ok_or_else(|| {
                    at(&format!("`evidence[{j}]`: {e} is not the index of an event in the record"))
                })?;
            if !evidence.contains(&index) {
                evidence.push(index);
            }
        }
        if present && evidence.is_empty() {
            return Err(at("`evidence`: at least one event index when `present` is true"));
        }
        let rationale: String = v["rationale"]
            .as_str()
            .ok_or_else(|| at("`rationale`: a string is required"))?
            .chars()
            .take(RATIONALE_CHARS)
            .collect();
        out.push(Verdict { class: class.to_owned(), present, confidence, evidence, rationale });
    }
    if let Some(missing) = classes.iter().find(|c| !out.iter().any(|v| v.class == **c)) {
        return Err(format!("`verdicts`: no verdict on `{missing}`"));
    }
    out.sort_by_key(|v| classes.iter().position(|c| *c == v.class));
    Ok(out)
}

/// The JSON object in a reply: the whole reply, or inside a fenced block,
/// or from its first `{` to its last `}` (models wrap answers in prose).
fn json_in(reply: &str) -> Option<Value> {
    let text = reply.trim();
    let object = |s: &str| serde_json::from_str::<Value>(s).ok().filter(Value::is_object);
    if let Some(v) = object(text) {
        return Some(v);
    }
    let (start, end) = (text.find('{')?, text.rfind('}')?);
    (start < end).then(|| object(&text[start..=end])).flatten()
}
