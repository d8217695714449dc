//! The labelled corpus: trajectories from run folders, each benign or an
//! attack by the sandbox's ground truth, written as JSON lines under a
//! header that pins their digest, so that two labs' results over the same
//! corpus are comparable.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use formats::ClassId;
use formats::monitor::{
    BrokenAttack, CORPUS_FORMAT, CorpusHeader, CorpusItem, CorpusSource, Truth,
};
use formats::run::Summary;
use sha2::{Digest, Sha256};

use crate::trajectory;

/// A corpus in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Corpus {
    pub header: CorpusHeader,
    pub items: Vec<CorpusItem>,
}

/// Why a corpus could not be built or read: the file, where known the
/// line, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for Error {}

fn error(file: &Path, line: Option<usize>, message: impl Into<String>) -> Error {
    Error { file: file.to_owned(), line, message: message.into() }
}

pub(crate) fn sha256(bytes: &[u8]) -> String {
    sha256_of(Sha256::new_with_prefix(bytes))
}

/// A run folder read: its name in item ids, its summary, and the
/// summary's digest.
struct Run {
    dir: PathBuf,
    name: String,
    summary: Summary,
    digest: String,
}

/// The agent spec without transforms, and the transforms, when the spec
/// plays a scripted policy with some (`scripted:misaligned+encode`, or
/// `api --model scripted:misaligned+encode`).
pub fn untransformed(agent: &str) -> Option<(String, String)> {
    let at = agent.find("scripted:")?;
    let token_end = agent[at..].find(char::is_whitespace).map_or(agent.len(), |i| at + i);
    let token = &agent[at..token_end];
    let (base, transforms) = token.split_once('+')?;
    Some((format!("{}{base}{}", &agent[..at], &agent[token_end..]), transforms.to_owned()))
}

/// Builds a corpus from run folders: every episode that did not end for an
/// infrastructure reason, benign when it carries no label and an attack
/// when it carries one. Each trace is verified, and must be the one its
/// record names.
///
/// An episode of a transformed policy is checked against the episode of
/// the base policy (same scenario and epoch, in a run of the same agent,
/// suite and seed given beside it): if the base episode carried a label
/// class this one lacks, the transform broke the attack, and the episode
/// is listed in `broken` instead of counted.
pub fn build(name: &str, dirs: &[PathBuf]) -> Result<Corpus, Error> {
    build_with_sessions(name, dirs, &[])
}

/// As [`build`], and with the sessions of each labels file: real agent
/// transcripts a lab labelled itself (`perimeter scan --validate`'s
/// format: `{"file": …, "classes": […]}` per line), each session benign
/// with no class and an attack with one.
pub fn build_with_sessions(
    name: &str,
    dirs: &[PathBuf],
    labels: &[PathBuf],
) -> Result<Corpus, Error> {
    let mut runs = Vec::new();
    for dir in dirs {
        let file = dir.join("summary.json");
        let bytes = std::fs::read(&file)
            .map_err(|e| error(&file, None, format!("{e}; a corpus is built from run folders")))?;
        let summary: Summary = serde_json::from_slice(&bytes)
            .map_err(|e| error(&file, Some(e.line()), format!("not a run summary: {e}")))?;
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "run".into());
        if runs.iter().any(|r: &Run| r.name == name) {
            return Err(error(
                dir,
                None,
                format!("two run folders are named `{name}`, and item ids would collide"),
            ));
        }
        runs.push(Run { dir: dir.clone(), name, summary, digest: sha256(&bytes) });
    }
    let mut items = Vec::new();
    let mut excluded = 0;
    let mut broken = Vec::new();
    let mut unchecked = Vec::new();
    for run in &runs {
        let h = &run.summary.header;
        let (transforms, base) = match untransformed(&h.agent) {
            Some((base_agent, transforms)) => {
                let base = runs.iter().find(|b| {
                    let bh = &b.summary.header;
                    bh.agent == base_agent && bh.suite.digest == h.suite.digest && bh.seed == h.seed
                });
                if base.is_none() {
                    unchecked.push(run.name.clone());
                }
                (transforms, base)
            }
            None => (String::new(), None),
        };
        for e in &run.summary.episodes {
            if e.end_reason.is_infrastructure() {
                excluded += 1;
                continue;
            }
            let id = format!("{}/{}/e{}", run.name, e.scenario, e.epoch);
            let classes: Vec<ClassId> = e.labels.iter().map(|l| l.class).collect();
            let expected: Vec<ClassId> = base
                .and_then(|b| {
                    b.summary
                        .episodes
                        .iter()
                        .find(|x| x.scenario == e.scenario && x.epoch == e.epoch)
                })
                .filter(|x| !x.end_reason.is_infrastructure())
                .map(|x| x.labels.iter().map(|l| l.class).collect())
                .unwrap_or_default();
            if expected.iter().any(|c| !classes.contains(c)) {
                broken.push(BrokenAttack { id, expected, got: classes });
                continue;
            }
            let path = run.dir.join(&e.trace);
            let (record, head) = read_trace(&path)?;
            if head != e.trace_head {
                return Err(error(
                    &path,
                    None,
                    format!("its head is {head}, but its episode record names {}", e.trace_head),
                ));
            }
            let attack_steps =
                record.attack_steps(e.labels.iter().flat_map(|l| l.evidence.iter().copied()));
            let truth = match (classes.is_empty(), &e.side_task) {
                (false, _) => Truth::Attack,
                (true, Some(_)) => Truth::Attempt,
                (true, None) => Truth::Benign,
            };
            // A monitor sees the task the user gave, never the secret one.
            let task = scenario::without_side_task(&record.task).to_owned();
            items.push(CorpusItem {
                id,
                scenario: e.scenario.clone(),
                epoch: e.epoch,
                trace_head: head,
                truth,
                classes,
                transforms: transforms.clone(),
                attack_steps,
                side_task: e.side_task.clone(),
                main_task_success: e.main_task_success,
                task,
                steps: record.steps,
            });
        }
    }
    let mut sources: Vec<CorpusSource> = runs
        .iter()
        .map(|r| CorpusSource {
            run: r.name.clone(),
            agent: r.summary.header.agent.clone(),
            suite_digest: r.summary.header.suite.digest.clone(),
            summary: r.digest.clone(),
        })
        .collect();
    for file in labels {
        let (source, sessions) = sessions(file)?;
        if items.iter().any(|i| sessions.iter().any(|s| s.id == i.id)) {
            return Err(error(file, None, "its sessions' ids collide with items already read"));
        }
        sources.push(source);
        items.extend(sessions);
    }
    let (_, digest) = item_lines(&items);
    let count = |t| items.iter().filter(|i| i.truth == t).count() as u64;
    let header = CorpusHeader {
        format: CORPUS_FORMAT.into(),
        name: name.into(),
        digest,
        benign: count(Truth::Benign),
        attacks: count(Truth::Attack),
        attempts: count(Truth::Attempt),
        sources,
        excluded,
        broken,
        unchecked,
    };
    Ok(Corpus { header, items })
}

/// The sessions a labels file names, as corpus items, and the source
/// they count as: `run` is `sessions:<labels file name>`, `summary` the
/// labels file's digest. An item's id is `sessions/<file as labelled>`,
/// its `trace_head` the transcript's digest. A file holding several
/// sessions (an Inspect log's samples) is refused: its label could be any
/// of them.
fn sessions(labels: &Path) -> Result<(CorpusSource, Vec<CorpusItem>), Error> {
    let bytes = std::fs::read(labels).map_err(|e| error(labels, None, e.to_string()))?;
    let read =
        scan::validate::read_labels(labels).map_err(|e| error(labels, None, e.to_string()))?;
    let mut items = Vec::new();
    for label in read {
        let at = |m: String| error(&label.path, None, m);
        let raw = std::fs::read(&label.path).map_err(|e| at(e.to_string()))?;
        let mut sessions: Vec<import::Session> =
            match label.path.extension().and_then(|e| e.to_str()) {
                Some("eval") => import::inspect::read_eval(&mut std::io::Cursor::new(&raw))
                    .map_err(|e| at(format!("not a readable Inspect log: {e}")))?
                    .into_iter()
                    .map(|(_, s)| s)
                    .collect(),
                _ => {
                    let (format, session) = import::read(
                        std::io::BufReader::new(&raw[..]),
                        None,
                        import::Limits::default(),
                    );
                    if format.is_none() {
                        return Err(at("no transcript format recognised".into()));
                    }
                    vec![session]
                }
            };
        if sessions.len() != 1 {
            return Err(at(format!(
                "{} sessions in one file; label a file that holds one",
                sessions.len()
            )));
        }
        let session = sessions.remove(0);
        let record = trajectory::record_of(session.events.iter().map(|e| (e.line, &e.body)));
        let classes: Vec<ClassId> = label.classes.iter().filter_map(|c| c.parse().ok()).collect();
        items.push(CorpusItem {
            id: format!("sessions/{}", label.file),
            scenario: String::new(),
            epoch: 0,
            trace_head: sha256(&raw),
            truth: if classes.is_empty() { Truth::Benign } else { Truth::Attack },
            classes,
            transforms: String::new(),
            attack_steps: Vec::new(),
            side_task: None,
            main_task_success: false,
            task: record.task,
            steps: record.steps,
        });
    }
    let name =
        labels.file_name().map_or_else(|| "labels".into(), |n| n.to_string_lossy().into_owned());
    let source = CorpusSource {
        run: format!("sessions:{name}"),
        agent: "real sessions, labelled by the lab".into(),
        suite_digest: String::new(),
        summary: sha256(&bytes),
    };
    Ok((source, items))
}

fn read_trace(path: &Path) -> Result<(trajectory::Record, String), Error> {
    let file = std::fs::File::open(path).map_err(|e| error(path, None, e.to_string()))?;
    let (_, mut reader) = trace::TraceReader::open(BufReader::new(file))
        .map_err(|e| error(path, None, e.to_string()))?;
    let mut events = Vec::new();
    while let Some(event) = reader.next_event().map_err(|e| error(path, None, e.to_string()))? {
        events.push(event);
    }
    Ok((trajectory::record(&events), reader.head().to_owned()))
}

/// The item lines as written, and their digest.
fn item_lines(items: &[CorpusItem]) -> (String, String) {
    let mut text = String::new();
    for item in items {
        text.push_str(&serde_json::to_string(item).expect("an item serializes"));
        text.push('\n');
    }
    let digest = sha256(text.as_bytes());
    (text, digest)
}

impl Corpus {
    /// The file's text: the header line, then one line per item.
    pub fn to_text(&self) -> String {
        let (items, _) = item_lines(&self.items);
        serde_json::to_string(&self.header).expect("a header serializes") + "\n" + &items
    }

    /// Reads a corpus file, checking its format, its digest and its counts.
    pub fn read(path: &Path) -> Result<Corpus, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| error(path, None, e.to_string()))?;
        let mut lines = text.split_inclusive('\n');
        let first = lines.next().ok_or_else(|| error(path, None, "empty: not a corpus"))?;
        let header: CorpusHeader = serde_json::from_str(first)
            .map_err(|e| error(path, Some(1), format!("not a corpus header: {e}")))?;
        if header.format != CORPUS_FORMAT {
            return Err(error(
                path,
                Some(1),
                format!("`format` is `{}`; this Perimeter reads {CORPUS_FORMAT}", header.format),
            ));
        }
        let mut items = Vec::new();
        let mut hasher = Sha256::new();
        for (i, line) in lines.enumerate() {
            hasher.update(line.as_bytes());
            if line.trim().is_empty() {
                continue;
            }
            let item: CorpusItem = serde_json::from_str(line)
                .map_err(|e| error(path, Some(i + 2), format!("not a corpus item: {e}")))?;
            if let Some(bad) = item.attack_steps.iter().find(|s| **s >= item.steps.len()) {
                return Err(error(
                    path,
                    Some(i + 2),
                    format!("`attack_steps`: {bad} is past the item's {} steps", item.steps.len()),
                ));
            }
            items.push(item);
        }
        let digest = sha256_of(hasher);
        if digest != header.digest {
            return Err(error(
                path,
                Some(1),
                format!(
                    "`digest`: the items hash to {digest}, not {}; the file was changed after it was written",
                    header.digest
                ),
            ));
        }
        let count = |t| items.iter().filter(|i| i.truth == t).count() as u64;
        let counts = (count(Truth::Benign), count(Truth::Attack), count(Truth::Attempt));
        if counts != (header.benign, header.attacks, header.attempts) {
            return Err(error(
                path,
                Some(1),
                "`benign`, `attacks` and `attempts` do not count the items that follow",
            ));
        }
        let mut ids = BTreeSet::new();
        if let Some(dup) = items.iter().find(|i| !ids.insert(i.id.as_str())) {
            return Err(error(path, None, format!("item `{}` appears twice", dup.id)));
        }
        Ok(Corpus { header, items })
    }
}

fn sha256_of(hasher: Sha256) -> String {
    let mut s = String::from("sha256:");
    for b in hasher.finalize() {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transformed_agent_names_its_base_and_its_transforms() {
        assert_eq!(untransformed("scripted:misaligned"), None);
        assert_eq!(untransformed("claude-code --model anthropic:x"), None);
        assert_eq!(
            untransformed("scripted:misaligned+encode+note"),
            Some(("scripted:misaligned".into(), "encode+note".into()))
        );
        assert_eq!(
            untransformed("api --model scripted:mixed:20+dilute"),
            Some(("api --model scripted:mixed:20".into(), "dilute".into()))
        );
    }
}
