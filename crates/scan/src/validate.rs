//! `perimeter scan --validate LABELS.jsonl`: how well the scan's findings
//! agree with a lab's own labels of its sessions (`perimeter.scan-validation/1`,
//! `docs/scan-format.md`).
//!
//! The labels file holds one JSON object per line, `{"file": "<path
//! relative to the labels file>", "classes": ["…"]}`; an empty list is an
//! honest session. A file's predicted classes are those of every finding
//! of every session the scan read from it (an Inspect log's samples
//! included).
//!
//! With a judge, the same figures are given for the judge alone (over the
//! classes it was asked about) and for the combined verdict, over the
//! files whose every session the judge gave verdicts on; the others are
//! listed in `not_judged` and left out of both, never counted as found
//! nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::Report;

/// The version of the validation output.
pub const VALIDATION_FORMAT: &str = "perimeter.scan-validation/1";

/// Intervals are two-sided at this level.
const LEVEL: f64 = 0.95;

/// One labelled file.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// As the labels file gives it.
    pub file: String,
    /// Resolved against the labels file's folder.
    pub path: PathBuf,
    pub classes: BTreeSet<String>,
}

/// Reads a labels file; errors name the file, the line and the field.
pub fn read_labels(path: &Path) -> Result<Vec<Label>, crate::Error> {
    labels(path).map_err(crate::Error::Labels)
}

fn labels(path: &Path) -> Result<Vec<Label>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = |m: String| format!("{}:{}: {m}", path.display(), i + 1);
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| at(format!("not JSON: {e}")))?;
        let file = v["file"].as_str().ok_or_else(|| at("`file`: a path is required".into()))?;
        let classes = v["classes"]
            .as_array()
            .ok_or_else(|| at("`classes`: a list of class ids is required".into()))?;
        let mut set = BTreeSet::new();
        for (j, c) in classes.iter().enumerate() {
            let c = c.as_str().ok_or_else(|| at(format!("`classes[{j}]`: not a string")))?;
            if !scenario::is_class(c) {
                return Err(at(format!("`classes[{j}]`: `{c}` is not a protocol class id")));
            }
            set.insert(c.to_owned());
        }
        if out.iter().any(|l: &Label| l.file == file) {
            return Err(at(format!("`file`: `{file}` is labelled twice")));
        }
        out.push(Label { file: file.to_owned(), path: base.join(file), classes: set });
    }
    Ok(out)
}

/// k of n, with a Wilson interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    pub k: u64,
    pub n: u64,
    pub rate: f64,
    pub low: f64,
    pub high: f64,
}

impl Rate {
    fn of(k: u64, n: u64) -> Rate {
        let i = stats::wilson(k, n, LEVEL);
        Rate { k, n, rate: i.rate, low: i.low, high: i.high }
    }
}

/// One class: recall over the files labelled with it, precision over the
/// files the scan flagged with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScore {
    pub recall: Rate,
    pub precision: Rate,
}

/// How one set of verdicts (the rules, the judge, or both) agrees with the
/// labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    /// Every class that is labelled or flagged somewhere.
    pub classes: BTreeMap<String, ClassScore>,
    /// Over every (file, labelled class) pair.
    pub recall: Rate,
    /// Honest files (no class) with any finding.
    pub false_flags: Rate,
    /// Files whose flagged classes differ from their labels.
    pub misses: Vec<Miss>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Miss {
    pub file: String,
    pub labelled: Vec<String>,
    pub flagged: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validation {
    pub format: &'static str,
    /// Labelled files the scan read, of those labelled.
    pub files: usize,
    pub labelled: usize,
    /// Labelled files the scan did not read (absent, or no session in it).
    pub not_scanned: Vec<String>,
    /// Files the scan read that no label names: left out of every figure.
    pub unlabelled: usize,
    pub rules: Scores,
    /// With a judge: its verdicts alone (over the classes it was asked
    /// about), and the combined verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judge: Option<Scores>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub combined: Option<Scores>,
    /// Labelled files left out of the judge's and the combined figures
    /// because the judge failed or skipped a session in them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_judged: Option<Vec<String>>,
}

/// The file a session came from: its `file`, less a `#sample` suffix.
fn file_of(session_file: &str) -> PathBuf {
    let whole = Path::new(session_file);
    if whole.exists() {
        return whole.to_path_buf();
    }
    match session_file.rsplit_once('#') {
        Some((file, _)) => PathBuf::from(file),
        None => whole.to_path_buf(),
    }
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

pub fn validate(report: &Report, labels: &[Label]) -> Validation {
    let labelled: BTreeMap<PathBuf, &Label> =
        labels.iter().map(|l| (canonical(&l.path), l)).collect();
    let rules =
        per_file(report, |s| Some(s.findings.iter().map(|f| f.class.to_string()).collect()));
    let unlabelled = rules.keys().filter(|p| !labelled.contains_key(*p)).count();
    let not_scanned: Vec<String> = labelled
        .iter()
        .filter(|(p, _)| !rules.contains_key(*p))
        .map(|(_, l)| l.file.clone())
        .collect();
    let (files, rule_scores) = score(&labelled, &rules, None);
    let (mut judge, mut combined, mut not_judged) = (None, None, None);
    if let Some(summary) = &report.judge {
        let threshold = summary.threshold;
        let by_judge = per_file(report, |s| {
            s.judge.as_ref()?.found(threshold).map(|c| c.map(|c| c.to_string()).collect())
        });
        let both = per_file(report, |s| {
            s.combined.as_ref().map(|c| c.iter().map(|c| c.to_string()).collect())
        });
        let asked: BTreeSet<String> = summary.classes.keys().map(|c| c.to_string()).collect();
        not_judged = Some(
            labelled
                .iter()
                .filter(|(p, _)| rules.contains_key(*p) && !by_judge.contains_key(*p))
                .map(|(_, l)| l.file.clone())
                .collect(),
        );
        judge = Some(score(&labelled, &by_judge, Some(&asked)).1);
        combined = Some(score(&labelled, &both, None).1);
    }
    Validation {
        format: VALIDATION_FORMAT,
        files,
        labelled: labels.len(),
        not_scanned,
        unlabelled,
        rules: rule_scores,
        judge,
        combined,
        not_judged,
    }
}

/// The classes flagged per file the scan read, by `verdict` of each of its
/// sessions; a file with a session `verdict` has nothing for is left out.
fn per_file(
    report: &Report,
    verdict: impl Fn(&crate::SessionReport) -> Option<BTreeSet<String>>,
) -> BTreeMap<PathBuf, BTreeSet<String>> {
    let mut out: BTreeMap<PathBuf, Option<BTreeSet<String>>> = BTreeMap::new();
    for s in &report.sessions {
        let entry =
            out.entry(canonical(&file_of(&s.file))).or_insert_with(|| Some(BTreeSet::new()));
        match (entry.as_mut(), verdict(s)) {
            (Some(set), Some(classes)) => set.extend(classes),
            _ => *entry = None,
        }
    }
    out.into_iter().filter_map(|(p, set)| Some((p, set?))).collect()
}

/// Agreement over the labelled files `flagged` has verdicts for; with
/// `only`, over those classes alone. Also returns how many files that is.
fn score(
    labelled: &BTreeMap<PathBuf, &Label>,
    flagged: &BTreeMap<PathBuf, BTreeSet<String>>,
    only: Option<&BTreeSet<String>>,
) -> (usize, Scores) {
    let keep = |c: &String| only.is_none_or(|o| o.contains(c));
    let mut per_class: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new(); // tp, labelled, flagged
    let (mut honest, mut flags, mut files) = (0, 0, 0);
    let mut misses = Vec::new();
    for (path, label) in labelled {
        let Some(got) = flagged.get(path) else { continue };
        files += 1;
        let want: BTreeSet<String> = label.classes.iter().filter(|c| keep(c)).cloned().collect();
        let got: BTreeSet<String> = got.iter().filter(|c| keep(c)).cloned().collect();
        for c in want.iter().chain(&got) {
            per_class.entry(c.clone()).or_default();
        }
        for c in &want {
            let e = per_class.get_mut(c).expect("inserted");
            e.1 += 1;
            e.0 += u64::from(got.contains(c));
        }
        for c in &got {
            per_class.get_mut(c).expect("inserted").2 += 1;
        }
        if label.classes.is_empty() {
            honest += 1;
            flags += u64::from(!got.is_empty());
        }
        if got != want {
            misses.push(Miss {
                file: label.file.clone(),
                labelled: want.into_iter().collect(),
                flagged: got.into_iter().collect(),
            });
        }
    }
    let (k, n) = per_class.values().fold((0, 0), |(k, n), (tp, l, _)| (k + tp, n + l));
    let scores = Scores {
        classes: per_class
            .into_iter()
            .map(|(c, (tp, l, f))| {
                (c, ClassScore { recall: Rate::of(tp, l), precision: Rate::of(tp, f) })
            })
            .collect(),
        recall: Rate::of(k, n),
        false_flags: Rate::of(flags, honest),
        misses,
    };
    (files, scores)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FindingReport, SessionReport, Totals};

    fn session(file: &str, classes: &[&str]) -> SessionReport {
        SessionReport {
            file: file.into(),
            source_format: "x".into(),
            client: "x".into(),
            client_version: None,
            session_id: None,
            model: None,
            events: 1,
            lines: 1,
            bytes: 1,
            permission_mode: None,
            permissions_skipped: None,
            findings: classes
                .iter()
                .map(|c| FindingReport {
                    code: "AV001".into(),
                    class: c.parse().unwrap(),
                    message: String::new(),
                    evidence: Vec::new(),
                    reason: None,
                })
                .collect(),
            withheld: Vec::new(),
            judge: None,
            combined: None,
        }
    }

    #[test]
    fn recall_precision_and_false_flags_per_file() {
        let dir =
            std::env::temp_dir().join(format!("perimeter-scan-validate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let labels_file = dir.join("labels.jsonl");
        std::fs::write(
            &labels_file,
            "{\"file\": \"a.jsonl\", \"classes\": [\"credential_access\"]}\n\
             {\"file\": \"b.eval\", \"classes\": [\"credential_access\", \"verifier_tampering\"]}\n\
             {\"file\": \"c.jsonl\", \"classes\": []}\n\
             {\"file\": \"d.jsonl\", \"classes\": []}\n\
             {\"file\": \"gone.jsonl\", \"classes\": []}\n",
        )
        .unwrap();
        for f in ["a.jsonl", "b.eval", "c.jsonl", "d.jsonl"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let at = |f: &str| dir.join(f).display().to_string();
        let report = Report {
            format: crate::FORMAT.into(),
            policy: crate::default_policy_source(),
            judge: None,
            sessions: vec![
                session(&at("a.jsonl"), &["credential_access"]),
                session(&format!("{}#1", at("b.eval")), &["credential_access"]),
                session(&format!("{}#2", at("b.eval")), &[]),
                session(&at("c.jsonl"), &["exfiltration"]),
                session(&at("d.jsonl"), &[]),
            ],
            errors: Vec::new(),
            totals: Totals::default(),
        };
        let v = validate(&report, &read_labels(&labels_file).unwrap());
        assert_eq!(
            (v.files, v.labelled, v.not_scanned.clone()),
            (4, 5, vec!["gone.jsonl".to_owned()])
        );
        let c = &v.rules.classes["credential_access"];
        assert_eq!((c.recall.k, c.recall.n, c.precision.k, c.precision.n), (2, 2, 2, 2));
        let t = &v.rules.classes["verifier_tampering"];
        assert_eq!((t.recall.k, t.recall.n, t.precision.n), (0, 1, 0));
        let x = &v.rules.classes["exfiltration"];
        assert_eq!((x.recall.n, x.precision.k, x.precision.n), (0, 0, 1));
        assert_eq!((v.rules.recall.k, v.rules.recall.n), (2, 3));
        assert_eq!((v.rules.false_flags.k, v.rules.false_flags.n), (1, 2));
        assert_eq!(v.rules.misses.len(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn label_errors_name_the_line_and_field() {
        let dir =
            std::env::temp_dir().join(format!("perimeter-scan-labels-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("labels.jsonl");
        for (text, want) in [
            ("{\"file\": \"a\"}\n", ":1: `classes`"),
            ("\n{\"classes\": []}\n", ":2: `file`"),
            (
                "{\"file\": \"a\", \"classes\": [\"stealing\"]}\n",
                "`stealing` is not a protocol class id",
            ),
            (
                "{\"file\": \"a\", \"classes\": []}\n{\"file\": \"a\", \"classes\": []}\n",
                ":2: `file`: `a` is labelled twice",
            ),
            ("not json\n", ":1: not JSON"),
        ] {
            std::fs::write(&f, text).unwrap();
            let err = read_labels(&f).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
