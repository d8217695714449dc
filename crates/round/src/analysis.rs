//! The evaluator's own writing, in plain files of the round folder:
//! `analysis/<participant>.toml` (findings, an analysis of each answer with
//! how far it could be verified, tentative recommendations, claims the
//! evaluator authors, the importance it gives claims) and
//! `analysis/public.toml` (key facts, the assessment, the evidence matrix,
//! the robustness ladder, the AEF-1 table). Each carries a `version`; the
//! round keeps a copy of every version a report was built from
//! (`analysis/history/`), and refuses a changed file under a version
//! already used.

use std::path::{Path, PathBuf};

use formats::process::{Analysis, PublicAnalysis};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::folder::{write_atomic, write_json};

pub fn folder(dir: &Path) -> PathBuf {
    dir.join("analysis")
}

pub fn path(dir: &Path, name: &str) -> PathBuf {
    folder(dir).join(format!("{name}.toml"))
}

/// A TOML file of the evaluator's, with its digest; `None` when absent.
fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<(T, String)>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Io { path: path.into(), source }),
    };
    let value: T = toml::from_str(&text)
        .map_err(|e| Error::Corrupt { path: path.into(), message: e.to_string() })?;
    Ok(Some((value, crate::digest(text.as_bytes()))))
}

/// The evaluator's analysis of a participant.
pub fn of(dir: &Path, participant: &str) -> Result<Option<(Analysis, String)>, Error> {
    read(&path(dir, participant))
}

/// What the evaluator wrote for the public report.
pub fn public(dir: &Path) -> Result<Option<(PublicAnalysis, String)>, Error> {
    read(&path(dir, "public"))
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Versions {
    versions: Vec<Version>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Version {
    /// The file's stem: a participant's id, or `public`.
    file: String,
    version: u32,
    digest: String,
    recorded: String,
}

/// Records the versions a report is built from, keeping a copy of each
/// new one; refuses a file changed under a version already recorded.
pub fn record(dir: &Path, used: &[(&str, u32, &str)], today: &str) -> Result<(), Error> {
    let list = folder(dir).join("versions.json");
    let mut known: Versions = match std::fs::read(&list) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| Error::Corrupt { path: list.clone(), message: e.to_string() })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Versions::default(),
        Err(source) => return Err(Error::Io { path: list, source }),
    };
    let mut problems = Vec::new();
    let mut changed = false;
    for (file, version, digest) in used {
        match known.versions.iter().find(|v| v.file == *file && v.version == *version) {
            Some(v) if v.digest != *digest => problems.push(format!(
                "{}: changed since version {version} was reported from; give it `version = {}`",
                path(dir, file).display(),
                known
                    .versions
                    .iter()
                    .filter(|v| v.file == *file)
                    .map(|v| v.version)
                    .max()
                    .unwrap_or(0)
                    + 1
            )),
            Some(_) => {}
            None => {
                let copy = folder(dir).join("history").join(format!("{file}.v{version}.toml"));
                std::fs::create_dir_all(copy.parent().expect("a folder"))
                    .map_err(Error::io(folder(dir)))?;
                let text = std::fs::read(path(dir, file)).map_err(Error::io(path(dir, file)))?;
                write_atomic(&copy, &text, 0o644)?;
                known.versions.push(Version {
                    file: (*file).into(),
                    version: *version,
                    digest: (*digest).into(),
                    recorded: today.into(),
                });
                changed = true;
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::Refused { problems });
    }
    if changed {
        write_json(&list, &known)?;
    }
    Ok(())
}

/// Deletes everything the evaluator wrote about a participant: its
/// analysis, the copies of each version, and their record.
pub fn forget(dir: &Path, participant: &str) -> Result<(), Error> {
    let remove = |p: PathBuf| match std::fs::remove_file(&p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io { path: p, source: e }),
        _ => Ok(()),
    };
    remove(path(dir, participant))?;
    let history = folder(dir).join("history");
    if let Ok(entries) = std::fs::read_dir(&history) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.strip_prefix(participant).is_some_and(|rest| rest.starts_with(".v")) {
                remove(e.path())?;
            }
        }
    }
    let list = folder(dir).join("versions.json");
    if let Ok(b) = std::fs::read(&list) {
        let mut known: Versions = serde_json::from_slice(&b).unwrap_or_default();
        known.versions.retain(|v| v.file != participant);
        write_json(&list, &known)?;
    }
    Ok(())
}
