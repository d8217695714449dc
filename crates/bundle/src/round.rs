//! The evaluator's side of a round (issue 7, in progress): a round folder
//! declares the protocol, the suite digest and the participants' keys;
//! bundles are ingested after verification, and kept out of pooled figures
//! when they are not comparable, with the precise reasons.

use std::path::Path;

use serde_json::{Value, json};

use crate::keys;
use crate::submission;

pub const FORMAT: &str = "perimeter.round/1";

/// `round.json`: what every bundle must match.
pub fn init(
    protocol: &str,
    suite_digest: &str,
    window: Option<&str>,
    participants: &[(String, String)],
) -> Result<Value, String> {
    let mut list = Vec::new();
    for (id, key_text) in participants {
        let key = keys::parse_public(key_text).map_err(|e| format!("participant {id}: {e}"))?;
        if list.iter().any(|p: &Value| p["id"] == id.as_str()) {
            return Err(format!("participant {id} is listed twice"));
        }
        list.push(json!({"id": id, "public_key": keys::public_line(&key, id)}));
    }
    if list.is_empty() {
        return Err("a round needs participants".into());
    }
    Ok(
        json!({"format": FORMAT, "protocol": protocol, "suite_digest": suite_digest, "window": window, "participants": list}),
    )
}

/// What ingesting one bundle decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingested {
    pub participant: String,
    /// Accepted for pooling, or the reasons it is not comparable.
    pub incomparable: Vec<String>,
    pub bundle: Value,
}

/// Verifies a bundle against the round (registered participant, its key)
/// and checks it is comparable with the round and with the bundles already
/// accepted (same protocol, suite digest and limits). An unverifiable
/// bundle is an error; an incomparable one is ingested, with its reasons.
pub fn ingest(round: &Value, accepted: &[Value], bytes: &[u8]) -> Result<Ingested, Vec<String>> {
    let peek: Value = serde_json::from_slice(bytes).map_err(|e| vec![format!("not JSON: {e}")])?;
    let participant = peek["manifest"]["participant"].as_str().unwrap_or_default().to_owned();
    let registered = round["participants"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["id"] == participant.as_str())
        .ok_or_else(|| vec![format!("`{participant}` is not a participant of this round")])?;
    let key = keys::parse_public(registered["public_key"].as_str().unwrap_or_default())
        .map_err(|e| vec![e])?;
    let verified = submission::verify(bytes, Some(&key))?;
    let m = &verified.bundle["manifest"];
    let mut reasons = Vec::new();
    if m["protocol"] != round["protocol"] {
        reasons
            .push(format!("protocol {} where the round runs {}", m["protocol"], round["protocol"]));
    }
    if m["suite"]["digest"] != round["suite_digest"] {
        reasons.push(format!(
            "suite digest {} where the round expects {}",
            m["suite"]["digest"], round["suite_digest"]
        ));
    }
    if let Some(first) = accepted.first() {
        let (theirs, ours) = (&first["manifest"]["limits"], &m["limits"]);
        if theirs != ours {
            let mut keys: Vec<&String> =
                theirs.as_object().into_iter().flatten().map(|(k, _)| k).collect();
            keys.extend(ours.as_object().into_iter().flatten().map(|(k, _)| k));
            keys.sort();
            keys.dedup();
            for k in keys {
                if theirs[k.as_str()] != ours[k.as_str()] {
                    reasons.push(format!(
                        "limit {k} is {} where {} ran with {}",
                        ours[k.as_str()],
                        first["manifest"]["participant"]
                            .as_str()
                            .unwrap_or("the first participant"),
                        theirs[k.as_str()]
                    ));
                }
            }
        }
    }
    Ok(Ingested { participant, incomparable: reasons, bundle: verified.bundle })
}

/// Reads `round.json` from a round folder.
pub fn load(dir: &Path) -> Result<Value, String> {
    let path = dir.join("round.json");
    let v: Value = serde_json::from_slice(
        &std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?,
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    if v["format"] != FORMAT {
        return Err(format!("{}: not a {FORMAT} file", path.display()));
    }
    Ok(v)
}
