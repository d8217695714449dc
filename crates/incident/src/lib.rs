//! The incident catalogue: acts against a user's intent, collected from
//! suite runs, scans of real sessions and the lab's own records, graded on
//! the pilot's two axes (overreach and deception) by a deterministic rule
//! grader and a prompted model, overridden by hand, and drawn on one
//! severity chart (`docs/incident-format.md`).
//!
//! Knows nothing of the command line; reads the files it is given and
//! returns what it would write.

#![forbid(unsafe_code)]

pub mod agreement;
pub mod catalogue;
pub mod chart;
pub mod collect;
pub mod model;
pub mod rules;

use std::path::{Path, PathBuf};

pub use catalogue::{read, to_text};
pub use collect::{Options, collect};

/// Why a catalogue could not be built, read or changed: the file, where
/// known the line, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
    /// What the user can do about it.
    pub hint: Option<String>,
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

pub(crate) fn error(file: &Path, line: Option<usize>, message: impl Into<String>) -> Error {
    Error { file: file.to_owned(), line, message: message.into(), hint: None }
}

/// `sha256:<hex>` of `bytes`, as traces write their digests.
pub use trace::digest_bytes as sha256;

/// At most `max` characters of `text` on one line, with `…` when cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= max {
        return one;
    }
    let mut s: String = one.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}
