//! The external review of a developer's own risk report
//! (`docs/review-format.md`). A reviewer writes each version of the review
//! as a TOML file in one folder: the report as a claim graph (scope, threat
//! model and pathways, load-bearing claims with the evidence they cite, up
//! to the conclusion), its verdicts with what they rely on (public
//! material, what the developer shared, its own Perimeter artifacts linked
//! by digest), the assurance checklist, a comment on every redaction, the
//! process and the developer's publication review. `build` checks every
//! version (a cycle, a missing reference or a changed artifact is refused
//! by name; an open checklist item keeps a version from publication),
//! computes the conclusion's verdict, and writes each version as JSON,
//! Markdown, HTML and SVG, with the differences from the version before,
//! its digest, and the reviewer's signature.

#![forbid(unsafe_code)]

mod check;
pub mod example;
pub mod graph;
mod render;

use std::path::{Path, PathBuf};

use formats::riskreview::{Built, ConclusionVerdict, FORMAT, Version};
use serde_json::Value;

pub use check::{REQUIRED, open_items, problems};

#[derive(Debug)]
pub enum Error {
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file that is no version of a review: its line and field.
    Parse {
        path: PathBuf,
        message: String,
    },
    /// What the files say that a review may not: every problem, by file
    /// and field.
    Refused {
        problems: Vec<String>,
    },
    /// A version with open checklist items, built for publication.
    Incomplete {
        version: String,
        open: Vec<String>,
    },
    /// A published version that does not check out.
    Verify(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Parse { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Refused { problems } => write!(f, "refused:\n  {}", problems.join("\n  ")),
            Error::Incomplete { version, open } => write!(
                f,
                "refused for publication: the `{version}` review's checklist is not complete:\n  {}",
                open.join("\n  ")
            ),
            Error::Verify(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Incomplete { .. } => Some(
                "close every item (satisfied, concern or not_applicable, with notes) and give every load-bearing claim a verdict; `--draft` builds it marked as a draft".into(),
            ),
            Error::Refused { .. } | Error::Parse { .. } => {
                Some("docs/review-format.md describes every field".into())
            }
            _ => None,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_owned(), source }
}

/// SHA-256 as `sha256:` and hex.
pub fn digest(bytes: &[u8]) -> String {
    bundle::sha256(bytes)
}

/// Every version in `dir` (its `*.toml` files), in order: the one with no
/// `previous` first, then each that names the one before. Refused: two
/// first versions, a `previous` that names no version, a branch.
pub fn load(dir: &Path) -> Result<Vec<(PathBuf, Version)>, Error> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut all = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let v: Version = toml::from_str(&text)
            .map_err(|e| Error::Parse { path: path.clone(), message: e.to_string() })?;
        all.push((path, v));
    }
    if all.is_empty() {
        return Err(Error::Refused {
            problems: vec![format!("{}: no review version (`*.toml`) in it", dir.display())],
        });
    }
    let mut ordered: Vec<(PathBuf, Version)> = Vec::new();
    let mut problems = Vec::new();
    let firsts: Vec<&PathBuf> =
        all.iter().filter(|(_, v)| v.review.previous.is_none()).map(|(p, _)| p).collect();
    if firsts.len() != 1 {
        problems.push(format!(
            "{}: exactly one version has no `review.previous` (the original); here {}",
            dir.display(),
            firsts.len()
        ));
    }
    let mut last: Option<String> = None;
    while ordered.len() < all.len() {
        let next: Vec<usize> =
            (0..all.len()).filter(|i| all[*i].1.review.previous == last).collect();
        match next.as_slice() {
            [i] => {
                last = Some(all[*i].1.review.version.clone());
                ordered.push(all[*i].clone());
            }
            [] => break,
            several => {
                let names: Vec<String> =
                    several.iter().map(|i| all[*i].0.display().to_string()).collect();
                problems.push(format!(
                    "{} all follow the same version: versions form one line",
                    names.join(", ")
                ));
                break;
            }
        }
    }
    for (path, v) in &all {
        if !ordered.iter().any(|(p, _)| p == path) && firsts.len() == 1 {
            problems.push(format!(
                "{}: review.previous: `{}` is no version here",
                path.display(),
                v.review.previous.as_deref().unwrap_or_default()
            ));
        }
    }
    if problems.is_empty() { Ok(ordered) } else { Err(Error::Refused { problems }) }
}

/// Builds every version of the review in `dir`, each checked: refused on
/// any problem, and, unless `draft`, on an open checklist item. Signed with
/// `key` when given.
pub fn build(
    dir: &Path,
    draft: bool,
    key: Option<&bundle::keys::SigningKey>,
) -> Result<Vec<Built>, Error> {
    let versions = load(dir)?;
    let mut problems = Vec::new();
    for (path, v) in &versions {
        problems.extend(
            check::problems(v, dir).into_iter().map(|p| format!("{}: {p}", path.display())),
        );
    }
    if !problems.is_empty() {
        return Err(Error::Refused { problems });
    }
    let mut built: Vec<Built> = Vec::new();
    for (_, v) in &versions {
        let open = check::open_items(v);
        if !open.is_empty() && !draft {
            return Err(Error::Incomplete { version: v.review.version.clone(), open });
        }
        let (computed, from) = graph::computed(v);
        let overridden = v.conclusion.overridden.as_ref();
        let previous = built.last();
        let mut b = Built {
            format: FORMAT.into(),
            version: v.clone(),
            conclusion: ConclusionVerdict {
                computed,
                from,
                stated: overridden.map_or(computed, |o| o.verdict),
                reason: overridden.map(|o| o.reason.clone()),
            },
            status: if open.is_empty() { "published" } else { "draft" }.into(),
            open_items: open,
            artifacts: check::artifacts(v, dir),
            differences: previous.map(|p| check::differences(p, v, computed)),
            previous_digest: previous.map(|p| p.digest.clone()),
            digest: String::new(),
            signature: None,
        };
        b.digest = digest_of(&b);
        if let Some(key) = key {
            let mut doc = serde_json::to_value(&b).expect("JSON");
            key.sign_document(&mut doc, &v.review.reviewer);
            b = serde_json::from_value(doc).expect("a signed review reads back");
        }
        built.push(b);
    }
    Ok(built)
}

/// The digest a built version carries: of its canonical JSON without
/// `digest` and `signature`.
pub fn digest_of(b: &Built) -> String {
    let mut doc = serde_json::to_value(b).expect("JSON");
    if let Value::Object(map) = &mut doc {
        map.remove("digest");
        map.remove("signature");
    }
    digest(&bundle::canonical::to_vec(&doc))
}

/// Checks a published version: its digest, and its signature (by
/// `pubkey` when given). Returns what was checked.
pub fn verify(text: &str, pubkey: Option<&[u8; 32]>) -> Result<String, Error> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| Error::Verify(format!("not JSON: {e}")))?;
    let b: Built = serde_json::from_value(doc.clone())
        .map_err(|e| Error::Verify(format!("not a {FORMAT} document: {e}")))?;
    let recomputed = digest_of(&b);
    if recomputed != b.digest {
        return Err(Error::Verify(format!(
            "digest: the text gives {recomputed} where the document says {}: it was changed after it was built",
            b.digest
        )));
    }
    let signed = match (&b.signature, pubkey) {
        (None, None) => "unsigned".to_owned(),
        (None, Some(_)) => {
            return Err(Error::Verify("unsigned, where a signature was expected".into()));
        }
        (Some(s), want) => {
            let key = bundle::keys::parse_public(&s.public_key)
                .map_err(|e| Error::Verify(format!("signature.public_key: {e}")))?;
            if want.is_some_and(|w| *w != key) {
                return Err(Error::Verify("signed with another key than the one given".into()));
            }
            let value = bundle::keys::from_base64(&s.value)
                .ok_or_else(|| Error::Verify("signature.value: not base64".into()))?;
            if !bundle::keys::verify(&key, &bundle::canonical::signed_bytes(&doc), &value) {
                return Err(Error::Verify("signature: does not match the document".into()));
            }
            format!("signed by {}", s.public_key)
        }
    };
    Ok(format!(
        "{} review `{}`: digest {} holds; {signed}",
        b.status, b.version.review.version, b.digest
    ))
}

/// Writes each version into `out`: `<version>.json`, `.md`, `.html`
/// (with the claim graph inline) and `.svg`. Returns the files written.
pub fn write(out: &Path, built: &[Built]) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(out).map_err(io(out))?;
    let mut files = Vec::new();
    for b in built {
        let name = &b.version.review.version;
        let svg = graph::svg(&b.version, b.conclusion.stated);
        for (ext, text) in [
            ("json", serde_json::to_string_pretty(b).expect("JSON") + "\n"),
            ("md", render::markdown(b)),
            ("html", render::html(b, &svg)),
            ("svg", svg.clone()),
        ] {
            let path = out.join(format!("{name}.{ext}"));
            std::fs::write(&path, text).map_err(io(&path))?;
            files.push(path);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use formats::riskreview::VerdictKind;

    use super::*;

    struct Temp(PathBuf);
    impl Temp {
        fn new(name: &str) -> Temp {
            let p = std::env::temp_dir()
                .join(format!("perimeter-riskreview-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Temp(p)
        }
    }
    impl Drop for Temp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The example with `edit` applied to its original version, alone.
    fn original_with(dir: &Path, edit: impl Fn(String) -> String) {
        example::write(dir).unwrap();
        std::fs::remove_file(dir.join("updated.toml")).unwrap();
        let text = std::fs::read_to_string(dir.join("original.toml")).unwrap();
        std::fs::write(dir.join("original.toml"), edit(text)).unwrap();
    }

    fn refusal(dir: &Path) -> Vec<String> {
        match build(dir, false, None) {
            Err(Error::Refused { problems }) => problems,
            other => panic!("{:?}", other.map(|b| b.len())),
        }
    }

    /// Both versions build; the updated one carries what changed, with the
    /// reasons, and its conclusion's override; each verifies, and a changed
    /// word does not.
    #[test]
    fn the_example_builds_both_versions_and_their_differences() {
        let t = Temp::new("example");
        let demo = example::demo(&t.0).unwrap();
        let [original, updated] = &demo.built[..] else { panic!("two versions") };
        assert_eq!(original.conclusion.computed, VerdictKind::Disagree);
        assert_eq!(original.conclusion.stated, VerdictKind::Disagree);
        assert_eq!(updated.conclusion.computed, VerdictKind::Insufficient);
        assert_eq!(updated.conclusion.stated, VerdictKind::Supported);
        assert!(
            updated
                .conclusion
                .reason
                .as_deref()
                .unwrap()
                .contains("only because of non-public material")
        );
        assert_eq!(updated.previous_digest.as_ref(), Some(&original.digest));
        let d = updated.differences.as_ref().unwrap();
        assert_eq!(
            (d.claims_added.as_slice(), d.claims_removed.as_slice()),
            (&["L6".to_owned()][..], &["L2".to_owned()][..])
        );
        let reworded: Vec<&str> = d.claims_reworded.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(reworded, ["L3", "L4", "L5"]);
        let l5 = d.verdicts_changed.iter().find(|c| c.claim == "L5").unwrap();
        assert_eq!(
            (l5.before, l5.after),
            (Some(VerdictKind::Disagree), Some(VerdictKind::Insufficient))
        );
        assert!(l5.reason.contains("real tasks"), "{}", l5.reason);
        assert_eq!(d.conclusion_changed.as_ref().unwrap().after, Some(VerdictKind::Supported));
        assert_eq!(updated.artifacts[0].kind, "run");
        let md = std::fs::read_to_string(demo.published.join("updated.md")).unwrap();
        assert!(md.contains("Claim L2 removed"), "{md}");
        assert!(md.contains("Verdict on L5: disagree → insufficient, because:"), "{md}");
        assert!(md.contains("Publication review (2026-11-28): the developer asked to redact nothing; redacted: nothing."), "{md}");
        let svg = std::fs::read_to_string(demo.published.join("original.svg")).unwrap();
        assert_eq!(
            svg.matches("<rect").count(),
            1 + 5 + 4,
            "the conclusion, 5 claims, 4 evidence items"
        );
        assert!(svg.contains("#b00020"), "a disagreement is red");
        let json = std::fs::read_to_string(demo.published.join("updated.json")).unwrap();
        let public = std::fs::read_to_string(t.0.join("reviewer.key.pub")).unwrap();
        let key = bundle::keys::parse_public(&public).unwrap();
        let ok = verify(&json, Some(&key)).unwrap();
        assert!(ok.contains("digest sha256:") && ok.contains("signed by ssh-ed25519"), "{ok}");
        let changed = json.replacen("very low", "low", 1);
        let Err(Error::Verify(why)) = verify(&changed, Some(&key)) else {
            panic!("a changed text verifies")
        };
        assert!(why.contains("changed after it was built"), "{why}");
    }

    /// A claim graph with a cycle is refused, naming the cycle.
    #[test]
    fn a_cycle_is_refused_by_name() {
        let t = Temp::new("cycle");
        original_with(&t.0, |s| {
            s.replace(
                "supports = [\"L4\"]\npathways = [\"P1\"]",
                "supports = [\"L4\", \"L1\"]\npathways = [\"P1\"]",
            )
            .replace(
                "cites = [\"D1\"]\nsupports = [\"L4\"]",
                "cites = [\"D1\"]\nsupports = [\"L5\"]",
            )
        });
        let problems = refusal(&t.0);
        assert!(
            problems.iter().any(|p| p.contains("their supports form a cycle, L1 → L5 → L1")),
            "{problems:?}"
        );
    }

    /// A verdict citing evidence the report does not cite, an artifact that
    /// is missing, or one that changed since, is refused.
    #[test]
    fn a_verdict_citing_missing_evidence_is_refused() {
        let t = Temp::new("missing");
        original_with(&t.0, |s| s.replace("reference = \"D2\"", "reference = \"D9\""));
        let problems = refusal(&t.0);
        assert!(
            problems.iter().any(|p| p.contains(
                "verdicts[1] (L2).relies_on[0]: `D9` is no evidence the developer cites"
            )),
            "{problems:?}"
        );
        let t = Temp::new("artifact");
        original_with(&t.0, |s| s.replace("evaluations/agent-run\"", "evaluations/other-run\""));
        let problems = refusal(&t.0);
        assert!(
            problems.iter().any(
                |p| p.contains("`evaluations/other-run`: the reviewer's evaluation is missing")
            ),
            "{problems:?}"
        );
        let t = Temp::new("changed");
        original_with(&t.0, |s| s);
        std::fs::write(t.0.join("evaluations/agent-run/summary.json"), "{}").unwrap();
        let problems = refusal(&t.0);
        assert!(problems.iter().any(|p| p.contains("it changed since")), "{problems:?}");
    }

    /// An open checklist item, or a load-bearing claim without a verdict,
    /// keeps a version from publication; `draft` builds it marked so.
    #[test]
    fn an_incomplete_checklist_is_refused_for_publication() {
        let t = Temp::new("open");
        original_with(&t.0, |s| {
            s.replace("item = \"rigor\"\nstatus = \"concern\"", "item = \"rigor\"\nstatus = \"open\"")
                .replace("[[checklist]]\nitem = \"consistency\"\nstatus = \"satisfied\"\nnotes = \"Our own evaluations and public evidence agree with L1.\"\n", "")
        });
        let Err(Error::Incomplete { version, open }) = build(&t.0, false, None) else { panic!() };
        assert_eq!(version, "original");
        assert!(open.iter().any(|o| o.starts_with("rigor: open")), "{open:?}");
        assert!(open.iter().any(|o| o == "consistency: not in the checklist"), "{open:?}");
        let draft = build(&t.0, true, None).unwrap();
        assert_eq!(draft[0].status, "draft");
        let md = render::markdown(&draft[0]);
        assert!(md.contains("DRAFT: 2 checklist items are open"), "{md}");
    }
}
