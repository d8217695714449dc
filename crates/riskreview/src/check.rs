//! What a version may not say, what keeps it from publication, what the
//! reviewer's artifacts are, and what changed since the version before.

use std::collections::BTreeSet;
use std::path::Path;

use formats::riskreview::{
    Artifact, Built, CheckStatus, Differences, Reliance, RelianceKind, Reworded, VerdictChange,
    VerdictKind, Version,
};

use crate::graph::{self, CONCLUSION};

/// The checklist items every review answers, besides one per load-bearing
/// claim's evidence (`evidence:<id>`) and one per redaction
/// (`redaction:<id>`).
pub const REQUIRED: [(&str, &str); 6] = [
    ("scope", "the scope of the claim: models, domains, period"),
    ("threat_model", "the threat model and its pathways"),
    ("rigor", "analytical rigor: survey design, sample, inference"),
    ("assurances", "developer assurances: model identity, effective-compute scale-up, continuity"),
    ("evaluation_awareness", "sensitivity of the evidence to evaluation awareness"),
    ("consistency", "consistency with the reviewer's own evaluations and with public evidence"),
];

fn is_date(s: &str) -> bool {
    bundle::questionnaire::is_date(s)
}

/// What the artifact at `path` is, from its `format` (a folder is a run
/// folder, read through its `summary.json`), with the file whose digest
/// counts.
fn artifact_file(path: &Path) -> (std::path::PathBuf, &'static str) {
    if path.is_dir() {
        return (path.join("summary.json"), "run");
    }
    let kind = std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["format"].as_str().map(str::to_owned))
        .map_or("file", |f| match f.split('/').next().unwrap_or_default() {
            "perimeter.bundle" => "bundle",
            "perimeter.scan" => "scan",
            "perimeter.monitor-results" => "monitor-results",
            "perimeter.incidents" => "incidents",
            "perimeter.summary" => "run",
            _ => "file",
        });
    (path.to_owned(), kind)
}

fn reliance_problems(at: &str, r: &Reliance, v: &Version, dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    match r.kind {
        RelianceKind::Public if r.reference.trim().is_empty() => {
            problems.push(format!("{at}: a public reliance cites its source"))
        }
        RelianceKind::Public => {}
        RelianceKind::Developer => {
            if !v.evidence.iter().any(|e| e.id == r.reference) {
                problems.push(format!(
                    "{at}: `{}` is no evidence the developer cites (evidence ids: {})",
                    r.reference,
                    v.evidence.iter().map(|e| e.id.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        RelianceKind::Reviewer => {
            let (file, _) = artifact_file(&dir.join(&r.reference));
            match std::fs::read(&file) {
                Err(e) => problems.push(format!(
                    "{at}: `{}`: the reviewer's evaluation is missing ({e})",
                    r.reference
                )),
                Ok(bytes) => {
                    let actual = crate::digest(&bytes);
                    match &r.digest {
                        None => problems.push(format!(
                            "{at}: `{}`: a reviewer's artifact is cited with its digest ({actual})",
                            r.reference
                        )),
                        Some(d) if *d != actual => problems.push(format!(
                            "{at}: `{}` is {actual}, not the {d} cited: it changed since",
                            r.reference
                        )),
                        Some(_) => {}
                    }
                }
            }
        }
    }
    problems
}

/// Every problem with a version, by field: ids, references, the graph, the
/// verdicts' reliances, redaction comments, dates.
pub fn problems(v: &Version, dir: &Path) -> Vec<String> {
    let mut p = Vec::new();
    if !is_date(&v.review.date) {
        p.push("review.date: a date, YYYY-MM-DD".into());
    }
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    let all = v
        .claims
        .iter()
        .map(|c| ("claims", c.id.as_str()))
        .chain(v.evidence.iter().map(|e| ("evidence", e.id.as_str())))
        .chain(v.threat_model.pathways.iter().map(|x| ("threat_model.pathways", x.id.as_str())))
        .chain(v.redactions.iter().map(|r| ("redactions", r.id.as_str())));
    for (field, id) in all {
        if id.trim().is_empty() || id == CONCLUSION {
            p.push(format!("{field}: `{id}` cannot be an id"));
        } else if !ids.insert(id) {
            p.push(format!("{field}: `{id}` is used twice"));
        }
    }
    for c in &v.claims {
        let at = format!("claims.{}", c.id);
        if c.supports.is_empty() {
            p.push(format!("{at}.supports: what it supports (a claim, or `conclusion`)"));
        }
        for s in &c.supports {
            if s != CONCLUSION && !v.claims.iter().any(|x| &x.id == s) {
                p.push(format!("{at}.supports: `{s}` is no claim"));
            }
        }
        for e in &c.cites {
            if !v.evidence.iter().any(|x| &x.id == e) {
                p.push(format!("{at}.cites: `{e}` is no evidence the report cites"));
            }
        }
        for x in &c.pathways {
            if !v.threat_model.pathways.iter().any(|w| &w.id == x) {
                p.push(format!("{at}.pathways: `{x}` is no pathway of the threat model"));
            }
        }
    }
    if let Some(cycle) = graph::cycle(v) {
        p.push(format!(
            "claims: their supports form a cycle, {}: a claim cannot rest on itself",
            cycle.join(" → ")
        ));
    } else if !v.claims.iter().any(|c| c.supports.iter().any(|s| s == CONCLUSION)) {
        p.push("claims: none supports the conclusion".into());
    }
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (i, x) in v.verdicts.iter().enumerate() {
        let at = format!("verdicts[{i}] ({})", x.claim);
        if !v.claims.iter().any(|c| c.id == x.claim) {
            p.push(format!("{at}.claim: `{}` is no claim of the report", x.claim));
        }
        if !seen.insert(&x.claim) {
            p.push(format!("{at}: a second verdict on `{}`", x.claim));
        }
        if x.reasoning.trim().is_empty() {
            p.push(format!("{at}.reasoning: the reviewer's reasoning"));
        }
        for (j, r) in x.relies_on.iter().enumerate() {
            p.extend(reliance_problems(&format!("{at}.relies_on[{j}]"), r, v, dir));
        }
    }
    if let Some(o) = &v.conclusion.overridden {
        if o.reason.trim().is_empty() {
            p.push(
                "conclusion.override.reason: why the verdict differs from the computed one".into(),
            );
        }
        for (j, r) in o.relies_on.iter().enumerate() {
            p.extend(reliance_problems(&format!("conclusion.override.relies_on[{j}]"), r, v, dir));
        }
    }
    for r in &v.redactions {
        if r.comment.trim().is_empty() {
            p.push(format!(
                "redactions.{}.comment: the reviewer comments on every redaction",
                r.id
            ));
        }
    }
    for (i, c) in v.checklist.iter().enumerate() {
        let known = REQUIRED.iter().any(|(k, _)| *k == c.item)
            || c.item
                .strip_prefix("evidence:")
                .is_some_and(|id| v.claims.iter().any(|x| x.id == id))
            || c.item
                .strip_prefix("redaction:")
                .is_some_and(|id| v.redactions.iter().any(|x| x.id == id));
        if !known {
            p.push(format!(
                "checklist[{i}].item: `{}` is none of {}, evidence:<claim id>, redaction:<redaction id>",
                c.item,
                REQUIRED.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    for d in v.process.received.iter().chain(&v.process.meetings) {
        if !is_date(&d.date) {
            p.push(format!("process: `{}`: a date, YYYY-MM-DD", d.date));
        }
    }
    p
}

/// What keeps a version from publication: checklist items missing or open,
/// and load-bearing claims without a verdict.
pub fn open_items(v: &Version) -> Vec<String> {
    let mut required: Vec<String> = REQUIRED.iter().map(|(k, _)| (*k).to_owned()).collect();
    required
        .extend(v.claims.iter().filter(|c| c.load_bearing).map(|c| format!("evidence:{}", c.id)));
    required.extend(v.redactions.iter().map(|r| format!("redaction:{}", r.id)));
    let mut open = Vec::new();
    for item in required {
        match v.checklist.iter().find(|c| c.item == item) {
            None => open.push(format!("{item}: not in the checklist")),
            Some(c) if c.status == CheckStatus::Open => {
                open.push(format!("{item}: open ({})", c.notes))
            }
            Some(_) => {}
        }
    }
    for c in v.claims.iter().filter(|c| c.load_bearing) {
        if graph::verdict_of(v, &c.id).is_none() {
            open.push(format!("{}: a load-bearing claim without a verdict", c.id));
        }
    }
    open
}

/// The reviewer's artifacts the verdicts rely on, with their kind.
pub fn artifacts(v: &Version, dir: &Path) -> Vec<Artifact> {
    let mut out: Vec<Artifact> = Vec::new();
    let reliances = v
        .verdicts
        .iter()
        .flat_map(|x| &x.relies_on)
        .chain(v.conclusion.overridden.iter().flat_map(|o| &o.relies_on));
    for r in reliances.filter(|r| r.kind == RelianceKind::Reviewer) {
        if out.iter().any(|a| a.reference == r.reference) {
            continue;
        }
        let (_, kind) = artifact_file(&dir.join(&r.reference));
        out.push(Artifact {
            reference: r.reference.clone(),
            kind: kind.into(),
            digest: r.digest.clone().unwrap_or_default(),
        });
    }
    out
}

/// What changed from the version before to this one.
pub fn differences(before: &Built, after: &Version, computed: VerdictKind) -> Differences {
    let b = &before.version;
    let mut d = Differences { from: b.review.version.clone(), ..Default::default() };
    for c in &after.claims {
        match b.claims.iter().find(|x| x.id == c.id) {
            None => d.claims_added.push(c.id.clone()),
            Some(old) if old.text != c.text => d.claims_reworded.push(Reworded {
                id: c.id.clone(),
                before: old.text.clone(),
                after: c.text.clone(),
            }),
            Some(_) => {}
        }
    }
    d.claims_removed = b
        .claims
        .iter()
        .filter(|c| !after.claims.iter().any(|x| x.id == c.id))
        .map(|c| c.id.clone())
        .collect();
    let ids: BTreeSet<&str> = b.claims.iter().chain(&after.claims).map(|c| c.id.as_str()).collect();
    for id in ids {
        let (was, now) = (graph::verdict_of(b, id), graph::verdict_of(after, id));
        if was != now {
            let reason = after
                .verdicts
                .iter()
                .find(|x| x.claim == id)
                .map_or("the claim is no longer in the report".to_owned(), |x| x.reasoning.clone());
            d.verdicts_changed.push(VerdictChange {
                claim: id.into(),
                before: was,
                after: now,
                reason,
            });
        }
    }
    d.evidence_added = after
        .evidence
        .iter()
        .filter(|e| !b.evidence.iter().any(|x| x.id == e.id))
        .map(|e| e.id.clone())
        .collect();
    d.evidence_removed = b
        .evidence
        .iter()
        .filter(|e| !after.evidence.iter().any(|x| x.id == e.id))
        .map(|e| e.id.clone())
        .collect();
    for c in &after.checklist {
        let was = b.checklist.iter().find(|x| x.item == c.item).map(|x| x.status);
        if was != Some(c.status) {
            d.checklist_changed.push(format!(
                "{}: {} → {}",
                c.item,
                was.map_or("absent", |s| s.name()),
                c.status.name()
            ));
        }
    }
    let stated = after.conclusion.overridden.as_ref().map_or(computed, |o| o.verdict);
    if before.conclusion.stated != stated {
        d.conclusion_changed = Some(VerdictChange {
            claim: CONCLUSION.into(),
            before: Some(before.conclusion.stated),
            after: Some(stated),
            reason: after
                .conclusion
                .overridden
                .as_ref()
                .map_or("computed from the claims it rests on".to_owned(), |o| o.reason.clone()),
        });
    }
    d
}
