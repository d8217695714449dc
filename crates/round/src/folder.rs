//! The round folder: `round.json` declares the protocol, the suite digest,
//! the seed and the participants' keys; `ingested.json` lists the bundles
//! taken in, in order, with what comparability decided; each participant's
//! bundle and disclosure decisions are sealed under its own key
//! (`sealed.rs`); `reports/` holds what `round report` writes.
//!
//! Comparability is recomputed from the bundles present whenever it is
//! needed, so that after a silent exit every figure is what it would have
//! been had the participant never joined.

use std::path::{Path, PathBuf};

use formats::bundle::Bundle;
use formats::process::{
    Analysis, EvaluatorEvidence, ModelAccess, Negotiation, Phase, Step, StepKind, Thread,
};
use formats::round::{IngestedEntry, IngestedFile, Participant, RoundFile};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Error, sealed};

pub const FORMAT: &str = formats::round::ROUND_FORMAT;

/// `round.json`: what every bundle must match. `seed` fixes the round's
/// bootstrap intervals and the order of non-attributed claims.
pub fn init(
    protocol: &str,
    suite_digest: &str,
    window: Option<&str>,
    seed: u64,
    participants: &[(String, String)],
) -> Result<RoundFile, Error> {
    let hex = suite_digest.strip_prefix("sha256:").unwrap_or_default();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(Error::Spec(format!(
            "the suite digest `{suite_digest}` is not `sha256:` and 64 hex digits; `perimeter suite digest` prints the suite's"
        )));
    }
    let mut list: Vec<Participant> = Vec::new();
    for (id, key_text) in participants {
        bundle::submission::check_participant(id).map_err(|e| Error::Spec(e.to_string()))?;
        let key = bundle::keys::parse_public(key_text).map_err(|e| Error::Key {
            participant: id.clone(),
            message: format!("participant {id}: {e}"),
        })?;
        if list.iter().any(|p| p.id == *id) {
            return Err(Error::Spec(format!("participant {id} is listed twice")));
        }
        if let Some(other) =
            list.iter().find(|p| bundle::keys::parse_public(&p.public_key).ok() == Some(key))
        {
            return Err(Error::Key {
                participant: id.clone(),
                message: format!(
                    "participant {id}: its key is already {}'s; each participant signs with a key of its own",
                    other.id
                ),
            });
        }
        list.push(Participant { id: id.clone(), public_key: bundle::keys::public_line(&key, id) });
    }
    if list.is_empty() {
        return Err(Error::Spec("a round needs participants".into()));
    }
    if let Some(w) = window {
        window_dates(w)?;
    }
    if seed >= 1 << 53 {
        return Err(Error::Spec(format!(
            "seed {seed}: a round's seed is below 2^53, so every JSON reader reads it exactly"
        )));
    }
    Ok(RoundFile {
        format: FORMAT.into(),
        protocol: protocol.into(),
        suite_digest: suite_digest.into(),
        window: window.map(str::to_owned),
        seed,
        participants: list,
    })
}

/// A submission window `FROM..TO` (dates, both included).
fn window_dates(window: &str) -> Result<(&str, &str), Error> {
    let bad = || {
        Error::Spec(format!(
            "window `{window}`: expected FROM..TO, two dates YYYY-MM-DD, the first not after the second"
        ))
    };
    let (from, to) = window.split_once("..").ok_or_else(bad)?;
    let date = bundle::questionnaire::is_date;
    if !date(from) || !date(to) || from > to {
        return Err(bad());
    }
    Ok((from, to))
}

/// Reads `round.json` from a round folder.
pub fn load(dir: &Path) -> Result<RoundFile, Error> {
    let path = dir.join("round.json");
    let not_a_round = |message: String| Error::NotARound { path: path.clone(), message };
    let bytes = std::fs::read(&path).map_err(|e| not_a_round(e.to_string()))?;
    let peek: Value = serde_json::from_slice(&bytes).map_err(|e| not_a_round(e.to_string()))?;
    if peek["format"] != FORMAT {
        return Err(not_a_round(format!("not a {FORMAT} file")));
    }
    serde_json::from_value(peek).map_err(|e| not_a_round(e.to_string()))
}

/// Reads a file the round folder keeps.
fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let bytes = std::fs::read(path).map_err(Error::io(path))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::Corrupt { path: path.into(), message: e.to_string() })
}

/// Writes a round file as pretty JSON, atomically.
pub fn write_json(path: &Path, v: &impl Serialize) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(v).expect("JSON") + "\n";
    write_atomic(path, text.as_bytes(), 0o644)
}

/// Writes a file so that a crash at any point leaves either its old
/// content or its new one, never a part: a temporary file beside it is
/// written, synced, renamed over it, and the folder synced. Every file of
/// a round folder is written this way.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let err = |source: std::io::Error| Error::Io { path: path.into(), source };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| {
        err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))
    })?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(err)?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(err)
}

/// The participants whose bundles were taken in, in the order they were.
fn ingested_order(dir: &Path) -> Result<Vec<String>, Error> {
    let path = dir.join("ingested.json");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let v: IngestedFile = read_json(&path)?;
    Ok(v.ingested.into_iter().map(|e| e.participant).collect())
}

/// A participant's key as `round.json` registers it. A key registered for
/// more than one participant is refused: whoever holds it could sign as
/// any of them.
pub fn registered_key(round: &RoundFile, participant: &str) -> Result<[u8; 32], Error> {
    let keys: Vec<(&str, Option<[u8; 32]>)> = round
        .participants
        .iter()
        .map(|p| (p.id.as_str(), bundle::keys::parse_public(&p.public_key).ok()))
        .collect();
    let (_, key) = keys.iter().find(|(id, _)| *id == participant).ok_or_else(|| {
        Error::UnknownParticipant {
            participant: participant.into(),
            known: round.participants.iter().map(|p| p.id.clone()).collect(),
        }
    })?;
    let key = key.ok_or_else(|| Error::Key {
        participant: participant.into(),
        message: format!("participant {participant}: its registered key is not an ed25519 key"),
    })?;
    let shared: Vec<&str> = keys
        .iter()
        .filter(|(id, k)| *id != participant && *k == Some(key))
        .map(|(id, _)| *id)
        .collect();
    if !shared.is_empty() {
        return Err(Error::Key {
            participant: participant.into(),
            message: format!(
                "`{participant}`'s key is registered for {} too; round.json must give each participant a key of its own",
                shared.join(", ")
            ),
        });
    }
    Ok(key)
}

/// Verifies a bundle against the round: its participant is registered and
/// it is signed with that participant's key. Returns the participant and
/// the bundle.
pub fn verify(round: &RoundFile, bytes: &[u8]) -> Result<(String, Bundle), Vec<String>> {
    let peek: Value = serde_json::from_slice(bytes).map_err(|e| vec![format!("not JSON: {e}")])?;
    let participant = peek["manifest"]["participant"].as_str().unwrap_or_default().to_owned();
    let key = registered_key(round, &participant).map_err(|e| vec![e.to_string()])?;
    let verified = bundle::submission::verify(bytes, Some(&key)).map_err(|e| match e {
        bundle::Error::Invalid { problems } => problems,
        other => vec![other.to_string()],
    })?;
    if let Some(w) = &round.window {
        let (from, to) = window_dates(w).map_err(|e| vec![e.to_string()])?;
        let created = verified.bundle.manifest.created.as_str();
        let day = created.get(..10).unwrap_or(created);
        if day < from || day > to {
            return Err(vec![format!(
                "created {created}, outside the round's submission window {w} (UTC dates)"
            )]);
        }
    }
    Ok((participant, verified.bundle))
}

/// Why each bundle (in ingestion order) is not comparable; empty for one
/// that is. Protocol and suite digest are checked against the round;
/// limits against the first bundle that matches the round.
pub fn comparability(round: &RoundFile, bundles: &[&Bundle]) -> Vec<Vec<String>> {
    let against_round = |m: &formats::bundle::Manifest| {
        let mut reasons = Vec::new();
        if m.protocol != round.protocol {
            reasons.push(format!(
                "protocol {:?} where the round runs {:?}",
                m.protocol, round.protocol
            ));
        }
        if m.suite.digest != round.suite_digest {
            reasons.push(format!(
                "suite digest {:?} where the round expects {:?}",
                m.suite.digest, round.suite_digest
            ));
        }
        reasons
    };
    let reference = bundles.iter().map(|b| &b.manifest).find(|m| against_round(m).is_empty());
    bundles
        .iter()
        .map(|b| {
            let m = &b.manifest;
            let mut reasons = against_round(m);
            if let Some(first) = reference {
                reasons.extend(setup_differences(first, m));
            }
            if let Some(first) = reference.filter(|r| r.limits != m.limits) {
                // Field by field, by the names the format gives them.
                let json = |l| serde_json::to_value(l).expect("limits are JSON");
                let (theirs, ours) = (json(&first.limits), json(&m.limits));
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
                            first.participant,
                            theirs[k.as_str()]
                        ));
                    }
                }
            }
            reasons
        })
        .collect()
}

/// How a bundle's run differs from the reference one's, beyond limits: the
/// scenarios run, the epochs, the client program and its version. Any of
/// them makes the figures measure something else (2 of 21 scenarios with
/// another seed policy pooled with the whole suite is not one figure).
fn setup_differences(
    first: &formats::bundle::Manifest,
    m: &formats::bundle::Manifest,
) -> Vec<String> {
    let mut out = Vec::new();
    let who = &first.participant;
    if first.scenarios != m.scenarios {
        let missing: Vec<&str> = first
            .scenarios
            .iter()
            .filter(|s| !m.scenarios.contains(s))
            .map(String::as_str)
            .collect();
        let extra: Vec<&str> = m
            .scenarios
            .iter()
            .filter(|s| !first.scenarios.contains(s))
            .map(String::as_str)
            .collect();
        let list = |v: &[&str]| match v.len() {
            0..=3 => v.join(", "),
            n => format!("{}, and {} more", v[..3].join(", "), n - 3),
        };
        let mut why = format!(
            "ran {} scenarios where {who} ran {}",
            m.scenarios.len(),
            first.scenarios.len()
        );
        if !missing.is_empty() {
            why += &format!("; without {}", list(&missing));
        }
        if !extra.is_empty() {
            why += &format!("; with {}", list(&extra));
        }
        if missing.is_empty() && extra.is_empty() {
            why += " (in another order)";
        }
        out.push(why);
    }
    if first.epochs != m.epochs {
        out.push(format!("{} epochs where {who} ran {}", m.epochs, first.epochs));
    }
    let client = |c: &Option<formats::run::ClientRecord>| {
        c.as_ref().map(|c| format!("{} {}", c.package, c.version.as_deref().unwrap_or("(unknown)")))
    };
    if client(&first.client) != client(&m.client) {
        out.push(format!(
            "client {} where {who} ran {}",
            client(&m.client).unwrap_or("none".into()),
            client(&first.client).unwrap_or("none".into())
        ));
    }
    out
}

/// A participant's bundle in the round, with what comparability decided,
/// its disclosure decisions when it has given them, and its part of the
/// round's process.
#[derive(Debug, Clone)]
pub struct Member {
    pub participant: String,
    /// As signed, with each answer the participant amended in its thread
    /// replaced by the amendment.
    pub bundle: Bundle,
    /// Empty when comparable; else why not.
    pub incomparable: Vec<String>,
    /// Its latest proposed decisions, as the participant signed them: its
    /// signature is checked over these values before
    /// [`crate::disclosure::read`] types them.
    pub disclosure: Option<Value>,
    pub access: Option<ModelAccess>,
    pub evidence: EvaluatorEvidence,
    pub thread: Thread,
    /// The evaluator's analysis, with the file's digest.
    pub analysis: Option<(Analysis, String)>,
    pub negotiation: Negotiation,
}

/// Every participant's bundle, in ingestion order, unsealed, with
/// comparability recomputed from the bundles present.
pub fn members(dir: &Path) -> Result<Vec<Member>, Error> {
    let round = load(dir)?;
    let mut out = Vec::new();
    for participant in ingested_order(dir)? {
        let Some(bytes) = sealed::open(dir, &participant, "bundle")? else { continue };
        let corrupt = |item: &str, e: serde_json::Error| Error::Corrupt {
            path: sealed::item_path(dir, &participant, item),
            message: format!("{participant}'s stored {item}: {e}"),
        };
        let bundle: Bundle = serde_json::from_slice(&bytes).map_err(|e| corrupt("bundle", e))?;
        let disclosure = sealed::open(dir, &participant, "disclosure")?
            .map(|b| serde_json::from_slice(&b))
            .transpose()
            .map_err(|e| corrupt("disclosure", e))?;
        let thread = crate::thread::load(dir, &participant)?;
        out.push(Member {
            bundle: crate::thread::amended(&bundle, &thread),
            incomparable: Vec::new(),
            disclosure,
            access: crate::access::of(dir, &participant)?,
            evidence: crate::access::evidence(dir, Some(&participant))?,
            thread,
            analysis: crate::analysis::of(dir, &participant)?,
            negotiation: crate::negotiation::load(dir, &participant)?,
            participant,
        });
    }
    let reasons = comparability(&round, &out.iter().map(|m| &m.bundle).collect::<Vec<_>>());
    for (m, r) in out.iter_mut().zip(reasons) {
        m.incomparable = r;
    }
    Ok(out)
}

/// Writes `ingested.json` as an order alone, before comparability is
/// computed.
fn write_order(dir: &Path, order: &[String]) -> Result<(), Error> {
    let ingested = order
        .iter()
        .map(|p| IngestedEntry { participant: p.clone(), comparable: None, reasons: None })
        .collect();
    write_json(&dir.join("ingested.json"), &IngestedFile { ingested })
}

/// Rewrites `ingested.json` from the members present.
fn record(dir: &Path, members: &[Member]) -> Result<(), Error> {
    let ingested = members
        .iter()
        .map(|m| IngestedEntry {
            participant: m.participant.clone(),
            comparable: Some(m.incomparable.is_empty()),
            reasons: Some(m.incomparable.clone()),
        })
        .collect();
    write_json(&dir.join("ingested.json"), &IngestedFile { ingested })
}

/// What ingesting one bundle did.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingested {
    pub participant: String,
    /// Empty when comparable; else why not.
    pub incomparable: Vec<String>,
    /// It replaced a different earlier bundle of the participant's.
    pub replaced: bool,
}

/// Verifies bundles and takes them in, each sealed under its
/// participant's key (a participant's later bundle replaces its earlier
/// one, in its place, and voids its disclosure decisions, which were about
/// the earlier bundle's claims). Comparability is computed once, over all
/// the bundles present afterwards. Each bundle's outcome is in its place;
/// `Err` is a failure of the round folder itself.
pub fn ingest(
    dir: &Path,
    bundles: &[Vec<u8>],
) -> Result<Vec<Result<Ingested, Vec<String>>>, Error> {
    crate::phase::require(dir, &[Phase::Gathering], "taking in bundles")?;
    let round = load(dir)?;
    let mut order = ingested_order(dir)?;
    let mut outcomes = Vec::new();
    for bytes in bundles {
        let participant = match verify(&round, bytes) {
            Ok((participant, _)) => participant,
            Err(problems) => {
                outcomes.push(Err(problems));
                continue;
            }
        };
        let earlier = sealed::open(dir, &participant, "bundle")?;
        let replaced = earlier.is_some_and(|b| b != *bytes);
        if replaced {
            sealed::remove(dir, &participant, "disclosure")?;
        }
        sealed::seal(dir, &participant, "bundle", bytes)?;
        if !order.contains(&participant) {
            order.push(participant.clone());
            write_order(dir, &order)?;
        }
        outcomes.push(Ok(Ingested { participant, incomparable: Vec::new(), replaced }));
    }
    let members = members(dir)?;
    record(dir, &members)?;
    for i in outcomes.iter_mut().flatten() {
        if let Some(m) = members.iter().find(|m| m.participant == i.participant) {
            i.incomparable = m.incomparable.clone();
        }
    }
    Ok(outcomes)
}

/// What a participant's decisions, once stored, say.
#[derive(Debug, Clone, PartialEq)]
pub struct Disclosed {
    pub participant: String,
    pub claims: usize,
    pub attributed: usize,
    pub non_attributed: usize,
    pub withheld: usize,
    /// Withheld, of high importance, and without a note the evaluator
    /// accepted as a comment.
    pub flagged: usize,
    /// Published wordings that await the evaluator's acceptance.
    pub pending: usize,
    /// The participant's final approval.
    pub is_final: bool,
    pub approval: crate::disclosure::Approval,
    /// Signed with the participant's registered key (else recorded on the
    /// evaluator's word).
    pub signed: bool,
}

/// Takes a participant's proposed decisions: it names a participant with a
/// bundle here, its signature (if any) is the participant's registered
/// key's, and the disclosure policy accepts every decision against the
/// participant's claims; then it is stored, sealed under the participant's
/// key, as the file was given, and kept as a step of the negotiation. A
/// final approval (`approval.final`) is refused while it publishes a
/// wording the evaluator has not accepted; after it, nothing more is.
/// The approval must be dated inside the round's clock: not after today
/// (`when`), not before the disclosure phase began.
pub fn disclose(dir: &Path, doc: &Value, when: crate::phase::When) -> Result<Disclosed, Error> {
    use crate::disclosure::{self, Attribution};
    let phase = crate::phase::require(dir, &[Phase::Disclosure], "disclosure decisions")?;
    let participant = doc["participant"]
        .as_str()
        .filter(|p| !p.is_empty())
        .ok_or(Error::NotDecisions)?
        .to_owned();
    let member = members(dir)?
        .into_iter()
        .find(|m| m.participant == participant)
        .ok_or_else(|| Error::NoBundle { participant: participant.clone() })?;
    if let Some(date) = crate::negotiation::finalised(&member.negotiation) {
        return Err(Error::Refused {
            problems: vec![format!(
                "{participant} finalised its approval on {date}: its decisions are settled"
            )],
        });
    }
    let round = load(dir)?;
    let registered = registered_key(&round, &participant)?;
    let signed = disclosure::check_signature(doc, &registered)?;
    let today = when.date();
    if let Some(date) =
        doc["approval"]["date"].as_str().filter(|d| bundle::questionnaire::is_date(d))
    {
        let phases = crate::phase::load(dir)?;
        let opened = crate::phase::began(&phases, phase).map(str::to_owned).or_else(|| {
            round.window.as_deref().and_then(|w| w.split("..").next()).map(str::to_owned)
        });
        let mut problems = Vec::new();
        // Dates as YYYY-MM-DD order as text.
        if date > today.as_str() {
            problems.push(format!("approval.date: {date} is after today ({today}): an approval is recorded once it is given"));
        }
        if let Some(opened) = opened.filter(|o| date < o.as_str()) {
            problems.push(format!(
                "approval.date: {date} is before the round's disclosure phase began ({opened})"
            ));
        }
        if !problems.is_empty() {
            return Err(Error::Refused { problems });
        }
    }

    let claims = crate::claims::of_member(&member);
    let decisions = disclosure::read(doc, &participant, &claims)?;
    if decisions.approval.is_final {
        let accepted = crate::negotiation::accepted(&member.negotiation, &claims);
        let problems = crate::negotiation::unaccepted(doc, &accepted);
        if !problems.is_empty() {
            return Err(Error::Refused { problems });
        }
    }
    let claim_digests = decisions
        .claims
        .keys()
        .filter_map(|id| claims.iter().find(|c| &c.id == id))
        .map(|c| (c.id.clone(), crate::negotiation::text_digest(&c.text)))
        .collect();
    store_disclosure(dir, &participant, &serde_json::to_vec(doc).expect("JSON"))?;
    let step =
        Step { kind: StepKind::Proposal, recorded: when.at, document: doc.clone(), claim_digests };
    let mut negotiation = member.negotiation.clone();
    crate::negotiation::append(dir, negotiation.clone(), step.clone())?;
    negotiation.steps.push(step);
    let accepted = crate::negotiation::accepted(&negotiation, &claims);
    let resolved = disclosure::resolve(&claims, Some(&decisions), &accepted);
    let count = |a| resolved.iter().filter(|r| r.attribution == a).count();
    Ok(Disclosed {
        claims: claims.len(),
        attributed: count(Attribution::Attributed),
        non_attributed: count(Attribution::NonAttributed),
        withheld: count(Attribution::Withheld),
        flagged: resolved.iter().filter(|r| r.flagged()).count(),
        pending: resolved.iter().filter(|r| r.pending.is_some()).count(),
        is_final: decisions.approval.is_final,
        approval: decisions.approval,
        signed,
        participant,
    })
}

/// Stores a participant's disclosure decisions, sealed under its key.
pub fn store_disclosure(dir: &Path, participant: &str, bytes: &[u8]) -> Result<(), Error> {
    sealed::seal(dir, participant, "disclosure", bytes)
}

/// Silent exit: the participant's registration, place and status are
/// removed, its key is destroyed (so its sealed bundle and decisions
/// cannot be recovered), and the reports, which may derive from it, are
/// deleted. Comparability is recomputed as if it had never joined.
pub fn exit(dir: &Path, participant: &str) -> Result<(), Error> {
    let mut round = load(dir)?;
    let known: Vec<String> = round.participants.iter().map(|p| p.id.clone()).collect();
    round.participants.retain(|p| p.id != participant);
    if round.participants.len() == known.len() {
        return Err(Error::UnknownParticipant { participant: participant.into(), known });
    }
    if let Some(date) = crate::negotiation::finalised(&crate::negotiation::load(dir, participant)?)
    {
        return Err(Error::Refused {
            problems: vec![format!(
                "{participant} finalised its approval on {date}: a silent exit is open only before a participant's final approval"
            )],
        });
    }
    sealed::destroy(dir, participant)?;
    crate::analysis::forget(dir, participant)?;
    write_json(&dir.join("round.json"), &round)?;
    let order: Vec<String> =
        ingested_order(dir)?.into_iter().filter(|p| p != participant).collect();
    write_order(dir, &order)?;
    record(dir, &members(dir)?)?;
    // A draft circulated before the exit held the leaver's part: it is
    // deleted, and a new one must go out before publication.
    let drafts = dir.join("drafts");
    match std::fs::remove_dir_all(&drafts) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::Io { path: drafts, source: e });
        }
        _ => {}
    }
    let mut phases = crate::phase::load(dir)?;
    if phases.draft.take().is_some() {
        crate::phase::write(dir, &phases)?;
    }
    clear_reports(dir).map(drop)
}

/// Deletes the round's reports folder, `DIR/reports` (what `round report`
/// writes, and an exit deletes), and returns its path.
pub fn clear_reports(dir: &Path) -> Result<PathBuf, Error> {
    let reports = dir.join("reports");
    match std::fs::remove_dir_all(&reports) {
        Ok(()) => Ok(reports),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(reports),
        Err(source) => Err(Error::Io { path: reports, source }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn round() -> RoundFile {
        serde_json::from_value(json!({"format": FORMAT, "protocol": "p", "suite_digest": "d",
            "window": null, "seed": 1, "participants": []}))
        .unwrap()
    }

    /// A bundle of another scenario set, another number of epochs or
    /// another client version is not comparable, and the reasons say how.
    #[test]
    fn comparability_covers_scenarios_epochs_and_clients() {
        let manifest = |id: &str, scenarios: &[&str], epochs: u32, client: &str| {
            crate::testing::bundle(json!({"manifest": {"participant": id, "scenarios": scenarios,
                "epochs": epochs, "client": {"package": "@anthropic-ai/claude-code",
                "version": client, "pinned": "2.0.5"}}}))
        };
        let all: Vec<String> = (1..=21).map(|i| format!("s{i}")).collect();
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let a = manifest("lab-a", &all, 3, "2.0.5");
        let b = manifest("lab-b", &all, 3, "2.0.5");
        let c = manifest("lab-c", &["s1", "s22"], 1, "2.0.1");
        let reasons = comparability(&round(), &[&a, &b, &c]);
        assert!(reasons[0].is_empty() && reasons[1].is_empty(), "{reasons:?}");
        assert_eq!(
            reasons[2],
            [
                "ran 2 scenarios where lab-a ran 21; without s2, s3, s4, and 17 more; with s22",
                "1 epochs where lab-a ran 3",
                "client @anthropic-ai/claude-code 2.0.1 where lab-a ran @anthropic-ai/claude-code 2.0.5",
            ]
        );
    }
}
