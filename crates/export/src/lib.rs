//! A run folder written in other tools' formats. [`inspect`]: an Inspect
//! evaluation log (`.eval`, log schema version 2), so that a run opens in
//! Inspect's viewer, Inspect Scout and Docent (`docs/inspect-export.md`
//! maps it field by field).
//!
//! Every trace is read through its hash chain: a trace whose chain breaks
//! is refused, naming the file and line, and nothing is written. The
//! archive appears whole or not at all (written beside, then renamed).

#![forbid(unsafe_code)]

mod inspect;
mod zip;

use std::fmt;
use std::path::{Path, PathBuf};

pub use inspect::{LOG_SCHEMA_VERSION, inspect};

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub samples: usize,
    pub bytes: u64,
}

/// Why an export failed: the file it is about, and what is wrong with it.
#[derive(Debug)]
pub struct Error {
    pub path: PathBuf,
    pub message: String,
}

impl Error {
    fn at(path: &Path, message: impl fmt::Display) -> Error {
        Error { path: path.to_path_buf(), message: message.to_string() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for Error {}
