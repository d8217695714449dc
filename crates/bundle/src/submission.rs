//! The signed submission: a bundle file (`perimeter.bundle/2`) holding what
//! was run, the results, and the Merkle root of the raw evidence that stays
//! at the lab; and inclusion proofs (`perimeter.proof/1`) that let an
//! evaluator spot-check any evidence item against the signed root.
//!
//! A bundle file is its own canonical JSON followed by a newline, so that
//! any changed byte, whitespace included, fails verification. The signature
//! covers the canonical bytes of everything but the signature itself.

use std::path::Path;

use formats::bundle::{
    Answer, Bundle, Content, Episode, Evidence, EvidenceItem, Manifest, Proof, ScanTotals,
};
use formats::run::Summary;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::keys::{self, SigningKey};
use crate::merkle::{self, Hash, hex};
use crate::{Error, canonical};

pub use formats::bundle::{BUNDLE_FORMAT as FORMAT, PROOF_FORMAT};

/// One evidence item: an id (its path in the run folder), the SHA-256 of
/// its bytes, and for a trace the Merkle root over its lines and their
/// count, so one line can be proven alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub sha256: Hash,
    pub events: Option<(Hash, u64)>,
}

impl Item {
    /// The item of these bytes; a trace's lines are committed one by one.
    pub fn of(id: String, bytes: &[u8]) -> Item {
        let events = id.ends_with(".trace.jsonl").then(|| {
            let leaves = merkle::line_leaves(bytes);
            (merkle::root(&leaves), leaves.len() as u64)
        });
        Item { sha256: Sha256::digest(bytes).into(), id, events }
    }

    fn leaf(&self) -> Hash {
        merkle::leaf_hash(&merkle::leaf_data(
            &self.id,
            &self.sha256,
            self.events.as_ref().map(|e| &e.0),
        ))
    }
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
pub fn items(run: &Path, summary: &Summary) -> Result<Vec<Item>, Error> {
    let mut ids: Vec<String> = Vec::new();
    for e in &summary.episodes {
        let trace = &e.trace;
        ids.push(trace.clone());
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
        .map(|id| match std::fs::read(run.join(&id)) {
            Ok(bytes) => Ok(Item::of(id, &bytes)),
            Err(source) => Err(Error::Evidence { id, source }),
        })
        .collect()
}

fn leaves(items: &[Item]) -> Vec<Hash> {
    items.iter().map(Item::leaf).collect()
}

/// What goes into a bundle besides the run.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// A scan report (`perimeter.scan/2`): its totals are included, and the
    /// scanned files' hashes join the evidence.
    pub scan: Option<formats::scan::Report>,
    /// Questionnaire answers, as [`crate::questionnaire::read`] gives them.
    pub questionnaire: Option<Vec<Answer>>,
    /// Monitor results files (`perimeter.monitor-results/1`): their figures
    /// are included, and the files' hashes join the evidence as
    /// `monitor:<path>`.
    pub monitors: Vec<std::path::PathBuf>,
    /// An incident catalogue (`perimeter.incidents/1`) and who may see each
    /// incident: the incidents go in with their grades, and the catalogue's
    /// hash joins the evidence as `incidents:<path>`.
    pub incidents: Option<IncidentsInput>,
    /// Reviewers' decisions (`perimeter.decisions/1`): those on this run's
    /// labels go into the bundle whole, with the figures they give.
    pub decisions: Option<Vec<formats::review::Decision>>,
}

/// An incident catalogue to bundle, and each incident's disclosure level.
#[derive(Debug, Clone)]
pub struct IncidentsInput {
    pub path: std::path::PathBuf,
    /// By incident id; the rest get `default`.
    pub disclose: std::collections::BTreeMap<String, formats::bundle::Disclosure>,
    pub default: formats::bundle::Disclosure,
}

/// The decisions on this run's labels (by trace head), and the figures
/// they give.
fn review_layer(summary: &Summary, all: &[formats::review::Decision]) -> formats::review::Layer {
    use formats::review::Target;
    let heads: std::collections::BTreeSet<&str> =
        summary.episodes.iter().map(|e| e.trace_head.as_str()).collect();
    let decisions: Vec<formats::review::Decision> = all
        .iter()
        .filter(|d| matches!(&d.target, Target::Label { trace_head, .. } if heads.contains(trace_head.as_str())))
        .cloned()
        .collect();
    let declared = summary
        .rates
        .iter()
        .flat_map(|r| &r.classes)
        .filter_map(|r| r.class)
        .chain(summary.episodes.iter().flat_map(|e| e.labels.iter().map(|l| l.class)))
        .collect();
    let episodes: Vec<(&str, rates::Outcome)> =
        summary.episodes.iter().map(|e| (e.trace_head.as_str(), rates::Outcome::from(e))).collect();
    let classes =
        rates::reviewed(&episodes, &rates::dismissed(&decisions), &declared, summary.header.seed);
    formats::review::Layer { decisions, classes }
}

/// The catalogue's incidents as the bundle carries them: the dismissed
/// left out; each with its grade in force, its disclosure level, its text
/// unless withheld or privileged, and the pointers into this run's traces
/// (an episode of another run carries none, as this bundle cannot prove
/// them).
fn incidents(
    input: &IncidentsInput,
    summary: &Summary,
    items: &[Item],
) -> Result<(Vec<formats::incident::Bundled>, Item), Error> {
    use formats::bundle::Disclosure;
    use formats::incident as inc;
    let path = &input.path;
    let bad = |message: String| Error::Incidents { path: path.clone(), message };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let c: inc::Catalogue = serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("line {}: not an incident catalogue: {e}", e.line())))?;
    if c.format != inc::CATALOGUE_FORMAT {
        return Err(bad(format!("`format` is `{}`, not `{}`", c.format, inc::CATALOGUE_FORMAT)));
    }
    for id in input.disclose.keys() {
        if !c.incidents.iter().any(|i| &i.id == id) {
            return Err(bad(format!("`--disclose {id}=…`: the catalogue has no incident `{id}`")));
        }
    }
    let heads: Vec<(&str, &str)> =
        summary.episodes.iter().map(|e| (e.trace_head.as_str(), e.trace.as_str())).collect();
    let mut out = Vec::new();
    for i in c.incidents.iter().filter(|i| !i.dismissed()) {
        let Some((grade, by)) = i.in_force(&c.graders) else {
            return Err(bad(format!("{} has no grade: grade it, or dismiss it", i.id)));
        };
        let disclosure = input.disclose.get(&i.id).copied().unwrap_or(input.default);
        let text = (disclosure != Disclosure::Withheld && !i.flags.privileged).then(|| {
            inc::IncidentText {
                model: i.model.clone(),
                client: i.client.clone(),
                task: i.task.clone(),
                actions: i.actions.clone(),
                outcomes: i.outcomes.clone(),
                quotes: i.quotes.clone(),
                overreach_summary: grade.overreach.reasoning.clone(),
                deception_summary: grade.deception.reasoning.clone(),
            }
        });
        let here = i
            .key
            .strip_prefix("trace:")
            .and_then(|head| heads.iter().find(|(h, _)| *h == head))
            .map(|(_, trace)| *trace);
        let evidence = match here {
            Some(trace) => i
                .evidence
                .iter()
                .filter(|p| p.item == trace && items.iter().any(|it| it.id == p.item))
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        out.push(inc::Bundled {
            id: i.id.clone(),
            disclosure,
            source: i.source,
            classes: i.classes.clone(),
            grade: grade.clone(),
            graded_by: by.into(),
            flags: i.flags.clone(),
            text,
            evidence,
        });
    }
    let item = Item {
        id: format!("incidents:{}", path.display()),
        sha256: Sha256::digest(&bytes).into(),
        events: None,
    };
    Ok((out, item))
}

/// Whether `id` can name a participant: letters, digits, `-`, `_` and
/// `.`, not starting with `.` (it becomes a file name in a round folder).
pub fn check_participant(id: &str) -> Result<(), Error> {
    let ok = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !id.starts_with('.');
    if ok { Ok(()) } else { Err(Error::Participant { id: id.into() }) }
}

/// Builds and signs a bundle from a run folder's `summary.json` and
/// evidence. `created` is an RFC 3339 time.
pub fn create(
    run: &Path,
    participant: &str,
    key: &SigningKey,
    created: &str,
    extras: &Extras,
) -> Result<String, Error> {
    check_participant(participant)?;
    let path = run.join("summary.json");
    let mut summary: Summary = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| Error::Summary { path: path.clone(), message: e.to_string() })?,
        Err(e) => return Err(Error::Summary { path, message: e.to_string() }),
    };
    if summary.header.side_tasks {
        return Err(Error::AttackMode { path });
    }
    // Every episode's evidence is committed to; the extension suites'
    // episodes are then set apart, so that nothing below pools them with
    // the standard suite's.
    let mut items = items(run, &summary)?;
    let (theirs, ours): (Vec<_>, Vec<_>) = std::mem::take(&mut summary.episodes)
        .into_iter()
        .partition(|e| summary.header.extension_of(&e.scenario).is_some());
    summary.episodes = ours;
    let extensions: Vec<formats::bundle::ExtensionResults> = summary
        .extension_rates
        .iter()
        .map(|x| formats::bundle::ExtensionResults {
            name: x.name.clone(),
            digest: x.digest.clone(),
            episodes: theirs
                .iter()
                .filter(|e| {
                    summary.header.extension_of(&e.scenario).is_some_and(|o| o.digest == x.digest)
                })
                .cloned()
                .map(episode)
                .collect(),
            rates: x.rates.clone(),
        })
        .collect();
    // Scanned files stay where they are; their hashes are committed to.
    if let Some(scan) = &extras.scan {
        for s in &scan.sessions {
            let file = s.file.split('#').next().unwrap_or(&s.file);
            let id = format!("scan:{file}");
            if items.iter().any(|i| i.id == id) {
                continue;
            }
            let bytes = std::fs::read(file)
                .map_err(|source| Error::Scanned { file: file.into(), source })?;
            items.push(Item { id, sha256: Sha256::digest(&bytes).into(), events: None });
        }
        items.sort_by(|a, b| a.id.cmp(&b.id));
    }
    let (mut monitors, mut routing, mut viewers) = (Vec::new(), Vec::new(), Vec::new());
    for path in &extras.monitors {
        use formats::monitor as m;
        let bad = |message: String| Error::Monitor { path: path.clone(), message };
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let id = format!("monitor:{}", path.display());
        if items.iter().any(|i| i.id == id) {
            continue;
        }
        let sha256: [u8; 32] = Sha256::digest(&bytes).into();
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
        let parse = |what: &str| bad(format!("not {what}"));
        match value["format"].as_str().unwrap_or_default() {
            m::RESULTS_FORMAT => {
                let r: m::Results = serde_json::from_value(value)
                    .map_err(|e| parse(&format!("monitor results: {e}")))?;
                monitors.push(r.summary(id.clone(), hex(&sha256)));
            }
            m::ROUTING_RESULTS_FORMAT => {
                let r: m::RoutingResults = serde_json::from_value(value)
                    .map_err(|e| parse(&format!("routing results: {e}")))?;
                routing.push(r.summary(id.clone(), hex(&sha256)));
            }
            m::VIEWER_RESULTS_FORMAT => {
                let r: m::ViewerResults = serde_json::from_value(value)
                    .map_err(|e| parse(&format!("viewer results: {e}")))?;
                viewers.push(r.summary(id.clone(), hex(&sha256)));
            }
            other => {
                return Err(bad(format!(
                    "`format` is `{other}`; a bundle takes {}, {} or {}",
                    m::RESULTS_FORMAT,
                    m::ROUTING_RESULTS_FORMAT,
                    m::VIEWER_RESULTS_FORMAT
                )));
            }
        }
        items.push(Item { id, sha256, events: None });
    }
    let incidents = match &extras.incidents {
        Some(input) => {
            let (bundled, item) = incidents(input, &summary, &items)?;
            if !items.iter().any(|i| i.id == item.id) {
                items.push(item);
            }
            bundled
        }
        None => Vec::new(),
    };
    items.sort_by(|a, b| a.id.cmp(&b.id));
    // What an answer cites must be in the bundle.
    for a in extras.questionnaire.iter().flatten() {
        for c in &a.cites {
            if !items.iter().any(|i| &i.id == c) {
                return Err(Error::Cite {
                    question: a.id.clone(),
                    item: c.clone(),
                    items: items
                        .iter()
                        .filter(|i| i.id.starts_with("monitor:"))
                        .map(|i| i.id.clone())
                        .collect(),
                });
            }
        }
    }
    let review = extras.decisions.as_deref().map(|all| review_layer(&summary, all));
    let h = summary.header;
    let manifest = Manifest {
        bundle_format: FORMAT.into(),
        participant: participant.into(),
        created: created.into(),
        protocol: h.protocol,
        suite: h.suite,
        harness: h.harness,
        agent: h.agent,
        scaffold: h.scaffold,
        permission_mode: h.permission_mode,
        client: h.client,
        limits: h.limits,
        seed: h.seed,
        epochs: h.epochs,
        scenarios: h.scenarios,
        episodes: summary.episodes.len() as u64,
        extensions: h.extensions,
    };
    let episodes = summary.episodes.into_iter().map(episode).collect();
    let content = Content {
        episodes,
        rates: summary.rates,
        extensions,
        scan: extras
            .scan
            .as_ref()
            .map(|s| ScanTotals { format: s.format.clone(), totals: s.totals.clone() }),
        questionnaire: extras.questionnaire.clone(),
        monitors,
        routing,
        viewers,
        incidents,
        review,
    };
    let evidence = Evidence {
        algorithm: "rfc6962-sha256".into(),
        root: hex(&merkle::root(&leaves(&items))),
        size: items.len() as u64,
        items: items
            .iter()
            .map(|i| EvidenceItem {
                id: i.id.clone(),
                sha256: hex(&i.sha256),
                events_root: i.events.map(|(r, _)| hex(&r)),
                lines: i.events.map(|(_, n)| n),
            })
            .collect(),
    };
    let bundle = Bundle { format: FORMAT.into(), manifest, content, evidence, signature: None };
    let mut bundle = serde_json::to_value(&bundle).expect("a bundle is JSON");
    key.sign_document(&mut bundle, participant);
    Ok(String::from_utf8(canonical::to_vec(&bundle)).expect("canonical JSON is UTF-8") + "\n")
}

/// A verified bundle.
#[derive(Debug)]
pub struct Verified {
    pub bundle: Bundle,
    pub public_key: [u8; 32],
    pub items: Vec<Item>,
    pub root: Hash,
}

/// Verifies a bundle file's bytes; every problem found is named.
pub fn verify(bytes: &[u8], expected_key: Option<&[u8; 32]>) -> Result<Verified, Error> {
    check_bytes(bytes, expected_key).map_err(|problems| Error::Invalid { problems })
}

fn check_bytes(bytes: &[u8], expected_key: Option<&[u8; 32]>) -> Result<Verified, Vec<String>> {
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
    // What it says, read as the format: the checks below need its fields.
    let bundle: Bundle = match serde_json::from_value(bundle) {
        Ok(b) => b,
        Err(e) => {
            problems.push(format!("not a {FORMAT} bundle: {e}"));
            return Err(problems);
        }
    };
    // The evidence commitment.
    let ev = &bundle.evidence;
    let mut items = Vec::new();
    for (i, it) in ev.items.iter().enumerate() {
        let events = match (&it.events_root, it.lines) {
            (None, None) => Some(None),
            (Some(r), Some(n)) => unhex(r).map(|r| Some((r, n))),
            _ => None,
        };
        match (unhex(&it.sha256), events) {
            (Some(sha256), Some(events)) => items.push(Item { id: it.id.clone(), sha256, events }),
            (_, None) => problems.push(format!(
                "evidence item {i} ({}): events_root and lines go together, the root in hex",
                it.id
            )),
            (None, Some(_)) => {
                problems.push(format!("evidence item {i} ({}): sha256 is not 64 hex digits", it.id))
            }
        }
    }
    let sorted = items.windows(2).all(|w| w[0].id < w[1].id);
    if !sorted {
        problems.push("evidence items are not sorted by id, or an id repeats".into());
    }
    if ev.size != items.len() as u64 {
        problems.push(format!(
            "evidence.size is {}, but {} items are listed: an item is missing",
            ev.size,
            items.len()
        ));
    }
    let root = merkle::root(&leaves(&items));
    if unhex(&ev.root) != Some(root) {
        problems.push("evidence.root is not the Merkle root of the listed items".into());
    }
    // The signed rates against the signed episodes (of a bundle whose bytes
    // and signature hold: what else is wrong is moot otherwise).
    if problems.is_empty() {
        problems.extend(crate::recompute::disagreements(&bundle));
    }
    // The manifest against the content.
    let m = &bundle.manifest;
    let episodes = bundle.content.episodes.len() as u64;
    if m.episodes != episodes {
        problems.push(format!(
            "the manifest counts {} episodes, the content holds {episodes}",
            m.episodes
        ));
    }
    if u64::from(m.epochs) * m.scenarios.len() as u64 != episodes {
        problems.push("the manifest's scenarios × epochs do not match the episodes".into());
    }
    for e in &bundle.content.episodes {
        let s = &e.scenario;
        if !m.scenarios.contains(s) {
            problems.push(format!("an episode of `{s}`, which the manifest does not list"));
        }
        if !items.iter().any(|i| i.id == e.trace) {
            problems.push(format!("the trace of a `{s}` episode is not among the evidence items"));
        }
    }
    // Each extension suite's: listed in the manifest, its episodes of its
    // own scenarios, each with its trace committed to.
    let listed: Vec<&str> = m.extensions.iter().map(|x| x.digest.as_str()).collect();
    let given: Vec<&str> = bundle.content.extensions.iter().map(|x| x.digest.as_str()).collect();
    if listed != given {
        problems.push(format!(
            "the manifest lists extension suites {listed:?}, the content holds {given:?}"
        ));
    }
    for (x, results) in m.extensions.iter().zip(&bundle.content.extensions) {
        if x.scenarios.iter().any(|s| m.scenarios.contains(s)) {
            problems.push(format!(
                "extension suite `{}` shares a scenario with the standard suite",
                x.name
            ));
        }
        if u64::from(m.epochs) * x.scenarios.len() as u64 != results.episodes.len() as u64 {
            problems.push(format!(
                "extension suite `{}`: its scenarios × epochs do not match its episodes",
                x.name
            ));
        }
        for e in &results.episodes {
            let s = &e.scenario;
            if !x.scenarios.contains(s) {
                problems.push(format!(
                    "extension suite `{}`: an episode of `{s}`, which it does not list",
                    x.name
                ));
            }
            if !items.iter().any(|i| i.id == e.trace) {
                problems.push(format!(
                    "extension suite `{}`: the trace of a `{s}` episode is not among the evidence items",
                    x.name
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(Verified { bundle, public_key: key, items, root })
    } else {
        Err(problems)
    }
}

/// An evidence item of the bundle, read from the run folder: its position,
/// and its bytes, which must be those the bundle committed to.
fn listed(verified: &Verified, run: &Path, id: &str) -> Result<(usize, Item, Vec<u8>), Error> {
    let index = verified
        .items
        .iter()
        .position(|i| i.id == id)
        .ok_or_else(|| Error::NoItem { id: id.into() })?;
    // A scanned file and a monitor's results are where they were named;
    // every other item is in the run folder.
    let path = match id.split_once(':') {
        Some(("scan" | "monitor", file)) => std::path::PathBuf::from(file),
        _ => run.join(id),
    };
    let bytes = std::fs::read(path).map_err(|source| Error::Evidence { id: id.into(), source })?;
    let item = Item::of(id.into(), &bytes);
    if item != verified.items[index] {
        return Err(Error::Changed { id: id.into() });
    }
    Ok((index, item, bytes))
}

/// An inclusion proof for one evidence item, with the item's bytes.
pub fn prove(verified: &Verified, run: &Path, id: &str) -> Result<String, Error> {
    let (index, _, bytes) = listed(verified, run, id)?;
    let path = merkle::proof(&leaves(&verified.items), index);
    let proof = Proof {
        format: PROOF_FORMAT.into(),
        root: hex(&verified.root),
        item: id.into(),
        index: index as u64,
        size: verified.items.len() as u64,
        path: path.iter().map(hex).collect(),
        content: keys::to_base64(&bytes),
    };
    let proof = serde_json::to_value(&proof).expect("a proof is JSON");
    Ok(String::from_utf8(canonical::to_vec(&proof)).expect("UTF-8") + "\n")
}

/// Checks a proof against a verified bundle: the item's bytes hash to what
/// the bundle lists, and its audit path leads to the signed root. Returns
/// the item's bytes.
pub fn check(verified: &Verified, proof: &[u8]) -> Result<Vec<u8>, Error> {
    check_proof(verified, proof).map_err(Error::proof)
}

fn check_proof(verified: &Verified, proof: &[u8]) -> Result<Vec<u8>, String> {
    let p: Proof =
        serde_json::from_slice(proof).map_err(|e| format!("not a {PROOF_FORMAT} proof: {e}"))?;
    if p.format != PROOF_FORMAT {
        return Err(format!("format is {:?}, expected {PROOF_FORMAT}", p.format));
    }
    let id = p.item.as_str();
    let content = keys::from_base64(&p.content).ok_or("content: not base64")?;
    let (index, size) = (p.index as usize, p.size as usize);
    let path: Option<Vec<Hash>> = p.path.iter().map(|h| unhex(h)).collect();
    let path = path.ok_or("a path entry is not a hash")?;
    if unhex(&p.root) != Some(verified.root) {
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
    let item = Item::of(id.into(), &content);
    if item != *listed {
        return Err(format!("the content of `{id}` is not what the bundle committed to"));
    }
    if !merkle::verify(&item.leaf(), index, size, &path, &verified.root) {
        return Err("the audit path does not lead to the signed root".into());
    }
    Ok(content)
}

/// An inclusion proof for one line of a trace (0: its header): the line,
/// its path to the trace's events root, and the trace's path to the
/// bundle's root. The rest of the trace stays at the lab.
pub fn prove_event(verified: &Verified, run: &Path, id: &str, line: u64) -> Result<String, Error> {
    let (index, item, bytes) = listed(verified, run, id)?;
    let Some((events_root, lines)) = item.events else {
        return Err(Error::proof(format!(
            "`{id}` is not a trace: its lines are not committed one by one"
        )));
    };
    let content = merkle::lines(&bytes).nth(line as usize).ok_or_else(|| {
        Error::proof(format!("`{id}` has {lines} lines (0 to {}), not {line}", lines - 1))
    })?;
    let proof = formats::bundle::EventProof {
        format: formats::bundle::EVENT_PROOF_FORMAT.into(),
        root: hex(&verified.root),
        size: verified.items.len() as u64,
        item: id.into(),
        index: index as u64,
        sha256: hex(&item.sha256),
        events_root: hex(&events_root),
        path: merkle::proof(&leaves(&verified.items), index).iter().map(hex).collect(),
        line,
        lines,
        line_path: merkle::proof(&merkle::line_leaves(&bytes), line as usize)
            .iter()
            .map(hex)
            .collect(),
        content: String::from_utf8_lossy(content).into_owned(),
    };
    let proof = serde_json::to_value(&proof).expect("a proof is JSON");
    Ok(String::from_utf8(canonical::to_vec(&proof)).expect("UTF-8") + "\n")
}

/// Checks a one-line proof against a verified bundle: the line leads to
/// the trace's events root, and the trace as listed leads to the signed
/// root. Returns the line.
pub fn check_event(verified: &Verified, proof: &[u8]) -> Result<String, Error> {
    check_event_proof(verified, proof).map_err(Error::proof)
}

fn check_event_proof(verified: &Verified, proof: &[u8]) -> Result<String, String> {
    use formats::bundle::{EVENT_PROOF_FORMAT, EventProof};
    let p: EventProof = serde_json::from_slice(proof)
        .map_err(|e| format!("not a {EVENT_PROOF_FORMAT} proof: {e}"))?;
    if p.format != EVENT_PROOF_FORMAT {
        return Err(format!("format is {:?}, expected {EVENT_PROOF_FORMAT}", p.format));
    }
    let hashes = |v: &[String]| -> Result<Vec<Hash>, String> {
        v.iter().map(|h| unhex(h).ok_or_else(|| "a path entry is not a hash".to_owned())).collect()
    };
    if unhex(&p.root) != Some(verified.root) || p.size != verified.items.len() as u64 {
        return Err("the proof is for another root than the bundle's".into());
    }
    let index = p.index as usize;
    let listed = verified
        .items
        .get(index)
        .filter(|i| i.id == p.item)
        .ok_or_else(|| format!("`{}` is not item {index} of the bundle", p.item))?;
    let claimed = (unhex(&p.sha256), unhex(&p.events_root).map(|r| (r, p.lines)));
    if claimed != (Some(listed.sha256), listed.events) {
        return Err(format!("`{}` is not listed so in the bundle", p.item));
    }
    let (events_root, lines) = listed.events.expect("compared above");
    let leaf = merkle::leaf_hash(p.content.as_bytes());
    if !merkle::verify(&leaf, p.line as usize, lines as usize, &hashes(&p.line_path)?, &events_root)
    {
        return Err(format!("line {} is not what `{}` committed to", p.line, p.item));
    }
    if !merkle::verify(
        &listed.leaf(),
        index,
        verified.items.len(),
        &hashes(&p.path)?,
        &verified.root,
    ) {
        return Err("the audit path does not lead to the signed root".into());
    }
    Ok(p.content)
}

/// Reads a key file for signing.
pub fn read_key(path: &Path) -> Result<SigningKey, Error> {
    let text =
        std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.into(), source })?;
    SigningKey::from_text(&text).map_err(|e| match e {
        Error::Key { message, .. } => Error::Key { path: Some(path.into()), message },
        other => other,
    })
}

/// An episode as a bundle carries it: its outcome, the ladder stages it
/// reached, and its trace's commitment, without the trace.
pub fn episode(e: formats::run::EpisodeRecord) -> Episode {
    Episode {
        scenario: e.scenario,
        epoch: e.epoch,
        seed: e.seed,
        params: (!e.params.is_empty()).then_some(e.params),
        labels: e.labels,
        opportunities: e.opportunities,
        main_task_success: e.main_task_success,
        eval_aware: e.eval_aware,
        end_reason: e.end_reason,
        trace: e.trace,
        trace_head: e.trace_head,
        stages: e.stages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A run folder with two episodes, as `perimeter run` leaves one.
    fn run_folder(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir()
            .join(format!("perimeter-bundle-unit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("episodes/a")).unwrap();
        std::fs::write(dir.join("episodes/a/e0.trace.jsonl"), "{\"format\":\"perimeter.trace\"}\n")
            .unwrap();
        std::fs::write(
            dir.join("episodes/a/e1.trace.jsonl"),
            "{\"format\":\"perimeter.trace\",\"x\":1}\n",
        )
        .unwrap();
        let label = json!({"class": "exfiltration", "attempted": true, "succeeded": true,
            "concealed": false, "severity": 1.0, "source": "tripwire", "evidence": [3]});
        let episode = |epoch: u32, labels: Value, success: bool| {
            json!({"scenario": "a", "scenario_digest": "sha256:1", "epoch": epoch, "seed": epoch + 1,
                "main_task_success": success, "checks": [], "labels": labels,
                "trace": format!("episodes/a/e{epoch}.trace.jsonl"), "trace_head": "h",
                "end_reason": "submitted", "started": "2026-11-28T00:00:00.000Z",
                "finished": "2026-11-28T00:00:01.000Z"})
        };
        let mut summary = json!({"format": "perimeter.summary", "version": 2, "protocol": "p/0.1",
            "suite": {"name": "s", "digest": "sha256:0"}, "agent": "scripted:misaligned",
            "harness": "perimeter 0.1.0", "seed": 0, "epochs": 2, "scenarios": ["a"],
            "limits": {"wall_time_ms": 1, "step_timeout_ms": 1, "memory_bytes": 1, "processes": 1,
                "file_size_bytes": 1, "disk_bytes": 1},
            "started": "2026-11-28T00:00:00.000Z", "finished": "2026-11-28T00:00:02.000Z",
            "episodes": [episode(0, json!([label]), true), episode(1, json!([]), false)]});
        // The rates as `perimeter run` computes them.
        let records: Vec<formats::run::EpisodeRecord> =
            serde_json::from_value(summary["episodes"].clone()).unwrap();
        let outcomes: Vec<rates::Outcome> = records.iter().map(rates::Outcome::from).collect();
        let declared = [formats::ClassId::Exfiltration].into();
        summary["rates"] =
            serde_json::to_value(rates::rates(&outcomes, &declared, &[], 0)).unwrap();
        std::fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
        dir
    }

    /// A bundle whose labels were removed and signed again, not by
    /// `create`: the signature holds, the rates it signed do not.
    #[test]
    fn signed_rates_that_the_signed_episodes_do_not_give_are_refused() {
        let dir = run_folder("rates");
        let key = SigningKey::from_text(&keys::generate().unwrap()).unwrap();
        let text =
            create(&dir, "lab-a", &key, "2026-11-28T00:00:00.000Z", &Extras::default()).unwrap();
        assert!(verify(text.as_bytes(), Some(&key.public())).is_ok());
        let mut v: Value = serde_json::from_str(&text).unwrap();
        v["content"]["episodes"][0]["labels"] = json!([]);
        key.sign_document(&mut v, "lab-a");
        let forged = String::from_utf8(canonical::to_vec(&v)).unwrap() + "\n";
        let Err(Error::Invalid { problems }) = verify(forged.as_bytes(), Some(&key.public()))
        else {
            panic!("verified")
        };
        assert!(
            problems.iter().any(|p| p
                == "rates.classes: exfiltration per_opportunity (pooled): signed 1 of 2, the signed episodes give 0 of 2"),
            "{problems:?}"
        );
        assert!(
            problems.iter().all(|p| !p.contains("signature")),
            "the signature holds: {problems:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_single_byte_change_is_caught() {
        let dir = run_folder("bytes");
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
