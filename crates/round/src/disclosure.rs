//! The disclosure policy: each participant decides, in
//! writing, how each of its claims may appear in the public report —
//! attributed, non-attributed (anonymized), or withheld, with or without a
//! note the report may print. The policy refuses decisions on what may not
//! be redacted (the pooled statistics, results the evaluator could
//! reproduce with public access, the redaction summary statement) and
//! computes the redaction summary statement, which says so when a
//! high-importance claim was withheld without comment.

use formats::bundle::Disclosure;
pub use formats::round::{Approval, Attribution, Decision, Decisions, Resolved};
use serde_json::Value;

use crate::Error;
use crate::claims::Claim;
use crate::negotiation::Accepted;

pub const FORMAT: &str = formats::round::DISCLOSURE_FORMAT;

/// Signs a decision file with the participant's key: the signature covers
/// the canonical bytes of the file without its `signature`, as a bundle's
/// does, so the approval is the participant's in a way the evaluator can
/// show and cannot forge.
pub fn sign(doc: &Value, key: &bundle::keys::SigningKey) -> Value {
    let mut doc = doc.clone();
    let participant = doc["participant"].as_str().unwrap_or_default().to_owned();
    key.sign_document(&mut doc, &participant);
    doc
}

/// Checks a decision file's signature against the participant's
/// registered key: `Ok(true)` when signed by it, `Ok(false)` when the file
/// is unsigned (the evaluator records the approval on its word).
pub fn check_signature(doc: &Value, registered: &[u8; 32]) -> Result<bool, Error> {
    signature(doc, registered).map_err(Error::Signature)
}

fn signature(doc: &Value, registered: &[u8; 32]) -> Result<bool, String> {
    let sig = &doc["signature"];
    if sig.is_null() {
        return Ok(false);
    }
    let key = sig["public_key"]
        .as_str()
        .and_then(|k| bundle::keys::parse_public(k).ok())
        .ok_or("signature.public_key: not an ssh-ed25519 key")?;
    if &key != registered {
        return Err(
            "signature: signed with another key than the participant's registered one".into()
        );
    }
    let value = sig["value"]
        .as_str()
        .and_then(bundle::keys::from_base64)
        .ok_or("signature.value: not base64")?;
    if sig["algorithm"] != "ed25519"
        || !bundle::keys::verify(&key, &bundle::canonical::signed_bytes(doc), &value)
    {
        return Err("signature: does not match the file: a value was changed after signing".into());
    }
    Ok(true)
}

/// The statement when nothing important was withheld without comment.
pub const STANDARD_STATEMENT: &str = "Except where explicitly noted in the report, there was no additional redacted information that was important to our conclusions from any of the participating companies.";

/// Topics that are not a participant's to decide on.
const NON_REDACTABLE_TOPICS: [(&str, &str); 2] = [
    ("pooled", "the pooled figures are aggregated statistics across participants"),
    ("redaction_summary", "the redaction summary statement is always published"),
];

/// Reads and checks a decision file against the participant's claims;
/// every problem is named by its field.
pub fn read(doc: &Value, participant: &str, claims: &[Claim]) -> Result<Decisions, Error> {
    check(doc, participant, claims).map_err(|problems| Error::Refused { problems })
}

fn check(doc: &Value, participant: &str, claims: &[Claim]) -> Result<Decisions, Vec<String>> {
    let mut problems = Vec::new();
    if doc["format"] != FORMAT {
        problems.push(format!("format: {} where {FORMAT:?} is expected", doc["format"]));
    }
    if doc["participant"] != participant {
        problems.push(format!(
            "participant: {} where the decisions are for `{participant}`",
            doc["participant"]
        ));
    }
    let approval = &doc["approval"];
    for field in ["by", "date", "statement"] {
        if approval[field].as_str().is_none_or(|s| s.trim().is_empty()) {
            problems.push(format!(
                "approval.{field}: missing; a written approval names who approved, when, and how"
            ));
        }
    }
    if approval["date"].as_str().is_some_and(|d| !bundle::questionnaire::is_date(d)) {
        problems.push("approval.date: a date, YYYY-MM-DD".into());
    }
    let Some(decisions) = doc["claims"].as_object() else {
        problems.push("claims: an object of claim id → decision".into());
        return Err(problems);
    };
    for (id, d) in decisions {
        let at = format!("claims.{id}");
        if let Some((_, why)) = NON_REDACTABLE_TOPICS.iter().find(|(t, _)| t == id) {
            problems.push(format!("{at}: not the participant's to decide: {why}"));
            continue;
        }
        let Some(claim) = claims.iter().find(|c| &c.id == id) else {
            problems.push(format!(
                "{at}: no such claim (the private report lists C1–C{})",
                claims.len()
            ));
            continue;
        };
        let decision: Decision = match serde_json::from_value(d.clone()) {
            Ok(d) => d,
            Err(e) => {
                problems.push(format!("{at}: {e} (attribution is attributed, non_attributed or withheld; note and text are optional)"));
                continue;
            }
        };
        match decision.attribution {
            Attribution::Withheld => {
                if let Some(why) = &claim.non_redactable {
                    problems.push(format!("{at}: cannot be withheld: {why}"));
                }
                if decision.text.is_some() {
                    problems.push(format!("{at}: a withheld claim has no final text (a `note` says what the report may print)"));
                }
            }
            _ => {
                if claim.disclosure == Some(Disclosure::EvaluatorOnly) {
                    problems.push(format!("{at}: answered for the evaluator only; a bundle whose questionnaire marks it public is needed to publish it"));
                }
                if claim.content_withheld {
                    problems.push(format!("{at}: the answer was withheld in the questionnaire, so there is no text to publish"));
                }
                if decision.note.is_some() {
                    problems.push(format!("{at}: `note` is for withheld claims"));
                }
                if let Some(why) = &claim.privileged
                    && !decision.approve_transcript
                {
                    problems.push(format!("{at}: quotes a privileged transcript ({why}); publishing it needs `\"approve_transcript\": true`"));
                }
                if decision.text.is_some()
                    && !matches!(claim.source.as_str(), "questionnaire" | "evaluator")
                {
                    problems.push(format!(
                        "{at}: `text` rewords answers and the evaluator's claims only; the wording of results is computed"
                    ));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    serde_json::from_value(doc.clone()).map_err(|e| vec![e.to_string()])
}

/// Applies a participant's decisions to its claims. Without a decision, a
/// claim that cannot be withheld is published non-attributed; every other
/// claim stays unpublished, as withheld without comment. A decision made
/// on a text since amended lapses; a published rewording the evaluator has
/// not accepted leaves the claim unpublished until it does.
pub fn resolve(
    claims: &[Claim],
    decisions: Option<&Decisions>,
    accepted: &Accepted,
) -> Vec<Resolved> {
    claims
        .iter()
        .map(|c| {
            let lapsed = accepted.lapsed.contains(&c.id);
            let d = decisions.and_then(|d| d.claims.get(&c.id)).filter(|_| !lapsed);
            let default = match c.non_redactable {
                Some(_) => Attribution::NonAttributed,
                None => Attribution::Withheld,
            };
            let mut pending = lapsed.then(|| {
                "the answer was amended after this decision: the participant decides again"
                    .to_owned()
            });
            let reworded = d
                .and_then(|d| d.text.as_ref())
                .filter(|_| d.is_some_and(|d| d.attribution != Attribution::Withheld));
            if let Some(text) = reworded
                && !accepted.texts.get(&c.id).is_some_and(|t| t.contains(text))
            {
                pending = Some("the rewording awaits the evaluator's acceptance".into());
            }
            let attribution = match d {
                Some(_) if pending.is_some() => default,
                Some(d) => d.attribution,
                None => default,
            };
            let note = d.and_then(|d| d.note.clone());
            let note_accepted = note
                .as_ref()
                .is_some_and(|n| accepted.notes.get(&c.id).is_some_and(|a| a.contains(n)));
            Resolved {
                claim: c.clone(),
                attribution,
                note,
                final_text: match pending {
                    None => d.and_then(|d| d.text.clone()).unwrap_or_else(|| c.text.clone()),
                    Some(_) => c.text.clone(),
                },
                decided: d.is_some(),
                pending,
                note_accepted,
            }
        })
        .collect()
}

/// The redaction summary statement for a round, from the number of
/// high-importance claims withheld without comment and the number of
/// participants they came from.
pub fn statement(flagged: usize, participants: usize) -> String {
    if flagged == 0 {
        return STANDARD_STATEMENT.into();
    }
    let (claims, were, them) = if flagged == 1 {
        ("One high-importance claim".to_owned(), "was", "it")
    } else {
        (format!("{flagged} high-importance claims"), "were", "them")
    };
    let from = if participants == 1 {
        "one participating company".to_owned()
    } else {
        format!("{participants} participating companies")
    };
    format!(
        "{claims} from {from} {were} redacted without permission to comment on {them}; this report cannot say what {them} concerned. Apart from {}, and except where explicitly noted in the report, there was no additional redacted information that was important to our conclusions from any of the participating companies.",
        if flagged == 1 { "that claim" } else { "those claims" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Importance;
    use serde_json::json;

    fn claims() -> Vec<Claim> {
        let claim = |id: &str, source: &str, importance, locked: bool, withheld: bool| Claim {
            id: id.into(),
            source: source.into(),
            topic: "t".into(),
            importance,
            text: format!("claim {id}"),
            non_redactable: locked.then(|| "reproducible with public access".into()),
            disclosure: None,
            content_withheld: withheld,
            classes: Vec::new(),
            ..Default::default()
        };
        vec![
            claim("C1", "results", Importance::High, true, false),
            claim("C2", "results", Importance::High, false, false),
            claim("C3", "questionnaire", Importance::High, false, true),
            claim("C4", "questionnaire", Importance::Medium, false, false),
        ]
    }

    fn doc(decisions: Value) -> Value {
        json!({"format": FORMAT, "participant": "lab-a",
            "approval": {"by": "A. Person, head of safety", "date": "2026-12-10", "statement": "Approved as marked."},
            "claims": decisions})
    }

    #[test]
    fn what_cannot_be_redacted_is_refused_by_name() {
        let errs = read(
            &doc(json!({
                "C1": {"attribution": "withheld"},
                "C3": {"attribution": "attributed"},
                "C2": {"attribution": "attributed", "text": "reworded"},
                "pooled": {"attribution": "withheld"},
                "redaction_summary": {"attribution": "withheld"},
                "C9": {"attribution": "withheld"},
                "C4": {"attribution": "secret"}
            })),
            "lab-a",
            &claims(),
        );
        let Err(Error::Refused { problems: errs }) = errs else { panic!("{errs:?}") };
        let has = |s: &str| errs.iter().any(|e| e.starts_with(s));
        assert!(has("claims.C1: cannot be withheld: reproducible"), "{errs:?}");
        assert!(has("claims.C3: the answer was withheld"), "{errs:?}");
        assert!(
            has("claims.C2: `text` rewords answers and the evaluator's claims only"),
            "{errs:?}"
        );
        assert!(has("claims.pooled: not the participant's to decide"), "{errs:?}");
        assert!(has("claims.redaction_summary: not the participant's"), "{errs:?}");
        assert!(has("claims.C9: no such claim"), "{errs:?}");
        assert!(has("claims.C4: unknown variant"), "{errs:?}");
        let mut bad = doc(json!({}));
        bad["approval"]["date"] = json!("soon");
        bad["participant"] = json!("lab-b");
        let Err(Error::Refused { problems: errs }) = read(&bad, "lab-a", &claims()) else {
            panic!("refused")
        };
        assert!(errs.iter().any(|e| e.starts_with("approval.date")), "{errs:?}");
        assert!(errs.iter().any(|e| e.starts_with("participant:")), "{errs:?}");
    }

    #[test]
    fn a_signed_approval_is_the_participants_and_cannot_be_altered() {
        let key = bundle::keys::SigningKey::from_text(&bundle::keys::generate().unwrap()).unwrap();
        let other =
            bundle::keys::SigningKey::from_text(&bundle::keys::generate().unwrap()).unwrap();
        let d = doc(json!({"C2": {"attribution": "attributed"}}));
        assert!(!check_signature(&d, &key.public()).unwrap());
        let signed = sign(&d, &key);
        assert!(check_signature(&signed, &key.public()).unwrap());
        assert!(read(&signed, "lab-a", &claims()).is_ok(), "the signature is not a decision");
        let err = check_signature(&signed, &other.public()).unwrap_err().to_string();
        assert!(err.contains("another key"), "{err}");
        let mut changed = signed.clone();
        changed["claims"]["C2"]["attribution"] = json!("non_attributed");
        let err = check_signature(&changed, &key.public()).unwrap_err().to_string();
        assert!(err.contains("changed after signing"), "{err}");
    }

    #[test]
    fn high_importance_claims_withheld_without_comment_are_flagged() {
        let d = read(
            &doc(json!({
                "C2": {"attribution": "withheld", "note": "an internal incident under review"},
                "C4": {"attribution": "non_attributed", "text": "reworded"}
            })),
            "lab-a",
            &claims(),
        )
        .unwrap();
        let mut accepted = Accepted::default();
        accepted.notes.insert("C2".into(), ["an internal incident under review".into()].into());
        accepted.texts.insert("C4".into(), ["reworded".into()].into());
        let r = resolve(&claims(), Some(&d), &accepted);
        let got: Vec<(Attribution, bool, bool)> =
            r.iter().map(|r| (r.attribution, r.decided, r.flagged())).collect();
        assert_eq!(
            got,
            [
                (Attribution::NonAttributed, false, false),
                (Attribution::Withheld, true, false),
                (Attribution::Withheld, false, true),
                (Attribution::NonAttributed, true, false),
            ]
        );
        assert_eq!(r[3].final_text, "reworded");

        // Before the evaluator accepts them, the note is no comment (the
        // claim is flagged) and the rewording is not published.
        let r = resolve(&claims(), Some(&d), &Accepted::default());
        assert!(r[1].flagged(), "a note the evaluator has not accepted spares no flag");
        assert_eq!(r[3].attribution, Attribution::Withheld);
        assert_eq!(r[3].final_text, r[3].claim.text);
        assert!(r[3].pending.as_deref().unwrap().contains("awaits the evaluator"));
        assert_eq!(statement(0, 0), STANDARD_STATEMENT);
        let s = statement(1, 1);
        assert!(s.starts_with("One high-importance claim from one participating company was redacted without permission to comment"), "{s}");
        assert!(
            statement(3, 2)
                .starts_with("3 high-importance claims from 2 participating companies were")
        );
    }
}
