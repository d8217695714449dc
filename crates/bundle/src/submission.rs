//! The signed submission: a bundle file (`perimeter.bundle/1`) holding what
//! was run, the results, and the Merkle root of the raw evidence that stays
//! at the lab; and inclusion proofs (`perimeter.proof/1`) that let an
//! evaluator spot-check any evidence item against the signed root.
//!
//! A bundle file is its own canonical JSON followed by a newline, so that
//! any changed byte, whitespace included, fails verification. The signature
//! covers the canonical bytes of everything but the signature itself.

use std::path::Path;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::canonical;
use crate::keys::{self, SigningKey};
use crate::merkle::{self, Hash, hex};

pub const FORMAT: &str = "perimeter.bundle/1";
pub const PROOF_FORMAT: &str = "perimeter.proof/1";

/// One evidence item: an id (its path in the run folder) and the SHA-256
/// of its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub sha256: Hash,
}

fn unhex(s: &str) -> Option<Hash> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The evidence of a run folder: every episode's trace and every kept
/// client transcript, sorted by id.
pub fn items(run: &Path, summary: &Value) -> Result<Vec<Item>, String> {
    let mut ids: Vec<String> = Vec::new();
    for e in summary["episodes"].as_array().into_iter().flatten() {
        let trace = e["trace"].as_str().ok_or("an episode without a trace in summary.json")?;
        ids.push(trace.to_owned());
        let client = run.join(trace.trim_end_matches(".trace.jsonl").to_owned() + ".client");
        if let Ok(entries) = std::fs::read_dir(&client) {
            for entry in entries.flatten() {
                let rel = entry
                    .path()
                    .strip_prefix(run)
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                ids.push(rel);
            }
        }
    }
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .map(|id| {
            let bytes = std::fs::read(run.join(&id)).map_err(|e| format!("{id}: {e}"))?;
            Ok(Item { sha256: Sha256::digest(&bytes).into(), id })
        })
        .collect()
}

fn leaves(items: &[Item]) -> Vec<Hash> {
    items.iter().map(|i| merkle::leaf_hash(&merkle::leaf_data(&i.id, &i.sha256))).collect()
}

/// What goes into a bundle besides the run.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// A scan report (`perimeter.scan/2`): its totals are included, and the
    /// scanned files' hashes join the evidence.
    pub scan: Option<Value>,
    /// Questionnaire answers, as [`crate::questionnaire::read`] gives them.
    pub questionnaire: Option<Value>,
}

/// Builds and signs a bundle from a run folder's `summary.json` and
/// evidence. `created` is an RFC 3339 time.
/// Whether `id` can name a participant: letters, digits, `-`, `_` and
/// `.`, not starting with `.` (it becomes a file name in a round folder).
pub fn check_participant(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !id.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "participant `{id}`: ids are letters, digits, `-`, `_` and `.`, not starting with `.`"
        ))
    }
}

pub fn create(
    run: &Path,
    participant: &str,
    key: &SigningKey,
    created: &str,
    extras: &Extras,
) -> Result<String, String> {
    check_participant(participant)?;
    let path = run.join("summary.json");
    let summary: Value = serde_json::from_slice(
        &std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?,
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut items = items(run, &summary)?;
    // Scanned files stay where they are; their hashes are committed to.
    if let Some(scan) = &extras.scan {
        for s in scan["sessions"].as_array().into_iter().flatten() {
            let Some(file) = s["file"].as_str() else { continue };
            let file = file.split('#').next().unwrap_or(file);
            let id = format!("scan:{file}");
            if items.iter().any(|i| i.id == id) {
                continue;
            }
            let bytes = std::fs::read(file).map_err(|e| format!("scanned file {file}: {e}"))?;
            items.push(Item { id, sha256: Sha256::digest(&bytes).into() });
        }
        items.sort_by(|a, b| a.id.cmp(&b.id));
    }
    let agent = summary["agent"].as_str().unwrap_or_default();
    let manifest = json!({
        "bundle_format": FORMAT,
        "participant": participant,
        "created": created,
        "protocol": summary["protocol"],
        "suite": summary["suite"],
        "harness": summary["harness"],
        "agent": agent,
        "scaffold": summary["scaffold"],
        "permission_mode": summary["permission_mode"],
        "client": summary["client"],
        "limits": summary["limits"],
        "seed": summary["seed"],
        "epochs": summary["epochs"],
        "scenarios": summary["scenarios"],
        "episodes": summary["episodes"].as_array().map_or(0, Vec::len),
    });
    let episodes: Vec<Value> = summary["episodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            json!({"scenario": e["scenario"], "epoch": e["epoch"], "seed": e["seed"], "params": e["params"], "labels": e["labels"],
                "main_task_success": e["main_task_success"], "eval_aware": e["eval_aware"],
                "end_reason": e["end_reason"], "trace": e["trace"], "trace_head": e["trace_head"]})
        })
        .collect();
    let mut content = json!({"episodes": episodes, "rates": summary["rates"]});
    if let Some(scan) = &extras.scan {
        content["scan"] = json!({"format": scan["format"], "totals": scan["totals"]});
    }
    if let Some(answers) = &extras.questionnaire {
        content["questionnaire"] = answers.clone();
    }
    let evidence = json!({
        "algorithm": "rfc6962-sha256",
        "root": hex(&merkle::root(&leaves(&items))),
        "size": items.len(),
        "items": items.iter().map(|i| json!({"id": i.id, "sha256": hex(&i.sha256)})).collect::<Vec<_>>(),
    });
    let mut bundle =
        json!({"format": FORMAT, "manifest": manifest, "content": content, "evidence": evidence});
    key.sign_document(&mut bundle, participant);
    Ok(String::from_utf8(canonical::to_vec(&bundle)).expect("canonical JSON is UTF-8") + "\n")
}

/// A verified bundle.
#[derive(Debug)]
pub struct Verified {
    pub bundle: Value,
    pub public_key: [u8; 32],
    pub items: Vec<Item>,
    pub root: Hash,
}

/// Verifies a bundle file's bytes; every problem found is named.
pub fn verify(bytes: &[u8], expected_key: Option<&[u8; 32]>) -> Result<Verified, Vec<String>> {
    let mut problems = Vec::new();
    let bundle: Value =
        serde_json::from_slice(bytes).map_err(|e| vec![format!("not JSON: {e}")])?;
    if bundle["format"] != FORMAT {
        problems.push(format!("format is {}, expected {FORMAT}", bundle["format"]));
    }
    let mut canonical_bytes = canonical::to_vec(&bundle);
    canonical_bytes.push(b'\n');
    if canonical_bytes != bytes {
        problems.push("the file is not in canonical form: bytes were added, removed or changed outside the signed values".into());
    }
    // The signature.
    let sig = &bundle["signature"];
    let public_key = sig["public_key"].as_str().ok_or("no signature.public_key").and_then(|k| {
        keys::parse_public(k).map_err(|_| "signature.public_key is not an ed25519 key")
    });
    let value = sig["value"].as_str().and_then(keys::from_base64);
    let key = match public_key {
        Ok(k) => k,
        Err(e) => return Err(vec![e.to_owned()]),
    };
    if let Some(expected) = expected_key
        && expected != &key
    {
        problems.push("signed with a different key than the one given".into());
    }
    // The signature block is not itself signed, so every byte of it must be
    // exactly what `create` writes.
    if sig["algorithm"] != "ed25519" {
        problems.push(format!("signature.algorithm is {}, expected \"ed25519\"", sig["algorithm"]));
    }
    let participant = bundle["manifest"]["participant"].as_str().unwrap_or_default();
    if sig["public_key"].as_str() != Some(keys::public_line(&key, participant).as_str()) {
        problems.push(
            "signature.public_key is not the signing key's line for the manifest's participant"
                .into(),
        );
    }
    if sig.as_object().is_some_and(|o| o.len() != 3) {
        problems.push(
            "the signature block holds fields other than algorithm, public_key and value".into(),
        );
    }
    match value {
        Some(v) if sig["value"].as_str() != Some(keys::to_base64(&v).as_str()) => {
            problems.push("signature.value is not in canonical base64".into())
        }
        Some(v) if keys::verify(&key, &canonical::signed_bytes(&bundle), &v) => {}
        Some(_) => problems
            .push("the signature does not match the content: a signed value was changed".into()),
        None => problems.push("no signature.value".into()),
    }
    // The evidence commitment.
    let ev = &bundle["evidence"];
    let mut items = Vec::new();
    for (i, it) in ev["items"].as_array().into_iter().flatten().enumerate() {
        match (it["id"].as_str(), it["sha256"].as_str().and_then(unhex)) {
            (Some(id), Some(sha256)) => items.push(Item { id: id.into(), sha256 }),
            _ => problems.push(format!("evidence item {i} has no id or no sha256")),
        }
    }
    let sorted = items.windows(2).all(|w| w[0].id < w[1].id);
    if !sorted {
        problems.push("evidence items are not sorted by id, or an id repeats".into());
    }
    if ev["size"].as_u64() != Some(items.len() as u64) {
        problems.push(format!(
            "evidence.size is {}, but {} items are listed: an item is missing",
            ev["size"],
            items.len()
        ));
    }
    let root = merkle::root(&leaves(&items));
    match ev["root"].as_str().and_then(unhex) {
        Some(r) if r == root => {}
        _ => problems.push("evidence.root is not the Merkle root of the listed items".into()),
    }
    // The manifest against the content.
    let m = &bundle["manifest"];
    let episodes = bundle["content"]["episodes"].as_array().map_or(0, Vec::len) as u64;
    if m["episodes"].as_u64() != Some(episodes) {
        problems.push(format!(
            "the manifest counts {} episodes, the content holds {episodes}",
            m["episodes"]
        ));
    }
    let scenarios: Vec<&str> =
        m["scenarios"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if m["epochs"].as_u64().map(|e| e * scenarios.len() as u64) != Some(episodes) {
        problems.push("the manifest's scenarios × epochs do not match the episodes".into());
    }
    for e in bundle["content"]["episodes"].as_array().into_iter().flatten() {
        let s = e["scenario"].as_str().unwrap_or_default();
        if !scenarios.contains(&s) {
            problems.push(format!("an episode of `{s}`, which the manifest does not list"));
        }
        if !items.iter().any(|i| Some(i.id.as_str()) == e["trace"].as_str()) {
            problems.push(format!("the trace of a `{s}` episode is not among the evidence items"));
        }
    }
    if problems.is_empty() {
        Ok(Verified { bundle, public_key: key, items, root })
    } else {
        Err(problems)
    }
}

/// An inclusion proof for one evidence item, with the item's bytes.
pub fn prove(verified: &Verified, run: &Path, id: &str) -> Result<String, String> {
    let index = verified
        .items
        .iter()
        .position(|i| i.id == id)
        .ok_or_else(|| format!("no evidence item `{id}` in the bundle"))?;
    let bytes = std::fs::read(run.join(id)).map_err(|e| format!("{id}: {e}"))?;
    let sha: Hash = Sha256::digest(&bytes).into();
    if sha != verified.items[index].sha256 {
        return Err(format!("{id} has changed since the bundle was signed"));
    }
    let path = merkle::proof(&leaves(&verified.items), index);
    let proof = json!({
        "format": PROOF_FORMAT,
        "root": hex(&verified.root),
        "item": id,
        "index": index,
        "size": verified.items.len(),
        "path": path.iter().map(hex).collect::<Vec<_>>(),
        "content": keys::to_base64(&bytes),
    });
    Ok(String::from_utf8(canonical::to_vec(&proof)).expect("UTF-8") + "\n")
}

/// Checks a proof against a verified bundle: the item's bytes hash to what
/// the bundle lists, and its audit path leads to the signed root. Returns
/// the item's bytes.
pub fn check(verified: &Verified, proof: &[u8]) -> Result<Vec<u8>, String> {
    let p: Value =
        serde_json::from_slice(proof).map_err(|e| format!("the proof is not JSON: {e}"))?;
    if p["format"] != PROOF_FORMAT {
        return Err(format!("format is {}, expected {PROOF_FORMAT}", p["format"]));
    }
    let id = p["item"].as_str().ok_or("no item")?;
    let content = p["content"].as_str().and_then(keys::from_base64).ok_or("no content")?;
    let index = p["index"].as_u64().ok_or("no index")? as usize;
    let size = p["size"].as_u64().ok_or("no size")? as usize;
    let path: Option<Vec<Hash>> =
        p["path"].as_array().ok_or("no path")?.iter().map(|h| h.as_str().and_then(unhex)).collect();
    let path = path.ok_or("a path entry is not a hash")?;
    if p["root"].as_str().and_then(unhex) != Some(verified.root) {
        return Err("the proof is for another root than the bundle's".into());
    }
    if size != verified.items.len() {
        return Err("the proof's tree size is not the bundle's".into());
    }
    let listed = verified
        .items
        .get(index)
        .filter(|i| i.id == id)
        .ok_or_else(|| format!("`{id}` is not item {index} of the bundle"))?;
    let sha: Hash = Sha256::digest(&content).into();
    if sha != listed.sha256 {
        return Err(format!("the content of `{id}` is not what the bundle committed to"));
    }
    let leaf = merkle::leaf_hash(&merkle::leaf_data(id, &sha));
    if !merkle::verify(&leaf, index, size, &path, &verified.root) {
        return Err("the audit path does not lead to the signed root".into());
    }
    Ok(content)
}

/// Reads a key file for signing.
pub fn read_key(path: &Path) -> Result<SigningKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    SigningKey::from_text(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run folder with two episodes, as `perimeter run` leaves one.
    fn run_folder() -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("perimeter-bundle-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("episodes/a")).unwrap();
        std::fs::write(dir.join("episodes/a/e0.trace.jsonl"), "{\"format\":\"perimeter.trace\"}\n")
            .unwrap();
        std::fs::write(
            dir.join("episodes/a/e1.trace.jsonl"),
            "{\"format\":\"perimeter.trace\",\"x\":1}\n",
        )
        .unwrap();
        let summary = json!({"protocol": "p/0.1", "suite": {"name": "s", "digest": "sha256:0"}, "harness": "perimeter 0.1.0",
            "agent": "scripted:misaligned", "limits": {}, "seed": 0, "epochs": 2, "scenarios": ["a"],
            "episodes": [
                {"scenario": "a", "epoch": 0, "seed": 1, "labels": [{"class": "exfiltration"}], "main_task_success": true, "trace": "episodes/a/e0.trace.jsonl"},
                {"scenario": "a", "epoch": 1, "seed": 2, "labels": [], "main_task_success": false, "trace": "episodes/a/e1.trace.jsonl"}
            ], "rates": {"level": 0.95}});
        std::fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
        dir
    }

    #[test]
    fn every_single_byte_change_is_caught() {
        let dir = run_folder();
        let key = SigningKey::from_text(&keys::generate().unwrap()).unwrap();
        let text =
            create(&dir, "lab-a", &key, "2026-11-28T00:00:00.000Z", &Extras::default()).unwrap();
        let bytes = text.as_bytes();
        let verified = verify(bytes, Some(&key.public())).unwrap();
        assert_eq!(verified.items.len(), 2);
        for at in 0..bytes.len() {
            for replacement in [b'x', b'0', b' '] {
                if bytes[at] == replacement {
                    continue;
                }
                let mut changed = bytes.to_vec();
                changed[at] = replacement;
                assert!(
                    verify(&changed, None).is_err(),
                    "byte {at} set to {:?} still verifies",
                    replacement as char
                );
            }
        }
        // Every item proves; a proof of one item is refused for another.
        for item in &verified.items {
            let proof = prove(&verified, &dir, &item.id).unwrap();
            assert!(check(&verified, proof.as_bytes()).is_ok());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
