//! The reviewers' decisions (`perimeter.decisions/1`,
//! `docs/decisions-format.md`): an append-only file of JSON lines, each
//! decision checked by the SHA-256 of its own content, written whole and
//! synced to disk before it is acknowledged. A line cut short by a crash
//! (`kill -9` mid-write, a full disk) is the only one that can be torn: it
//! is the last, it never was acknowledged, and opening the journal drops
//! it and says so. A damaged line anywhere else is refused, not repaired.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use formats::review::{DECISIONS_FORMAT, Decision, Header};

/// Why the journal cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for Error {}

/// An open journal: the decisions read, and the file appended to.
pub struct Journal {
    path: PathBuf,
    inner: Mutex<(File, Vec<Decision>)>,
    /// A torn last line dropped when the journal was opened.
    pub recovered: Option<String>,
}

/// The check of a decision: SHA-256 of its JSON without `check`.
pub fn check_of(d: &Decision) -> String {
    trace::digest_bytes(&d.checked_bytes())
}

/// Reads a journal's decisions, each checked; a torn last line is
/// reported as recovered (its text), not as an error.
pub fn read(path: &Path) -> Result<(Vec<Decision>, Option<String>, u64), Error> {
    let err = |line: Option<usize>, m: String| Error { file: path.to_owned(), line, message: m };
    let bytes = std::fs::read(path).map_err(|e| err(None, e.to_string()))?;
    let mut decisions = Vec::new();
    let mut good = 0u64;
    let mut recovered = None;
    let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    for (i, raw) in lines.iter().enumerate() {
        let last = i + 1 == lines.len();
        let complete = raw.ends_with(b"\n");
        let text = std::str::from_utf8(raw).unwrap_or("").trim_end_matches('\n');
        if i == 0 {
            let h: Header = serde_json::from_str(text)
                .map_err(|e| err(Some(1), format!("not a decisions file: {e}")))?;
            if h.format != DECISIONS_FORMAT {
                return Err(err(
                    Some(1),
                    format!("`format` is `{}`, not `{DECISIONS_FORMAT}`", h.format),
                ));
            }
            good += raw.len() as u64;
            continue;
        }
        let parsed = serde_json::from_str::<Decision>(text)
            .ok()
            .filter(|d| complete && d.check == check_of(d));
        match parsed {
            Some(d) => {
                if d.n != decisions.len() as u64 + 1 {
                    return Err(err(
                        Some(i + 1),
                        format!("decision {} where {} was due", d.n, decisions.len() + 1),
                    ));
                }
                decisions.push(d);
                good += raw.len() as u64;
            }
            None if last => recovered = Some(text.to_owned()),
            None => {
                return Err(err(
                    Some(i + 1),
                    "a decision that is not whole or does not match its check: the file was changed".into(),
                ));
            }
        }
    }
    Ok((decisions, recovered, good))
}

impl Journal {
    /// Opens the journal at `path`, making it if absent (synced, with its
    /// folder). A torn last line is cut off.
    pub fn open(path: &Path) -> Result<Journal, Error> {
        let err = |m: String| Error { file: path.to_owned(), line: None, message: m };
        if !path.exists() {
            let header =
                serde_json::to_string(&Header { format: DECISIONS_FORMAT.into() }).expect("JSON");
            let mut f = OpenOptions::new()
                .create_new(true)
                .write(true)
                .open(path)
                .map_err(|e| err(e.to_string()))?;
            f.write_all(format!("{header}\n").as_bytes()).map_err(|e| err(e.to_string()))?;
            f.sync_all().map_err(|e| err(e.to_string()))?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir).and_then(|d| d.sync_all()).map_err(|e| err(e.to_string()))?;
            }
        }
        let (decisions, recovered, good) = read(path)?;
        let file =
            OpenOptions::new().read(true).write(true).open(path).map_err(|e| err(e.to_string()))?;
        if recovered.is_some() {
            file.set_len(good).map_err(|e| err(e.to_string()))?;
            file.sync_all().map_err(|e| err(e.to_string()))?;
        }
        let file = OpenOptions::new().append(true).open(path).map_err(|e| err(e.to_string()))?;
        Ok(Journal { path: path.to_owned(), inner: Mutex::new((file, decisions)), recovered })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every decision, oldest first.
    pub fn decisions(&self) -> Vec<Decision> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).1.clone()
    }

    /// The latest decision on `target`, if any.
    pub fn latest(&self, target: &formats::review::Target) -> Option<Decision> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.1.iter().rev().find(|d| &d.target == target).cloned()
    }

    /// Appends a decision (numbered and checked here) and syncs it to disk
    /// before returning it: once this returns, it survives a crash.
    pub fn append(&self, mut d: Decision) -> Result<Decision, Error> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        d.n = inner.1.len() as u64 + 1;
        d.check = check_of(&d);
        let line = serde_json::to_string(&d).expect("JSON") + "\n";
        let err = |e: std::io::Error| Error {
            file: self.path.clone(),
            line: None,
            message: e.to_string(),
        };
        inner.0.write_all(line.as_bytes()).map_err(err)?;
        inner.0.sync_data().map_err(err)?;
        inner.1.push(d.clone());
        Ok(d)
    }
}
