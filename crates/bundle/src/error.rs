//! What can go wrong making, reading and checking bundles and proofs.

use std::fmt;
use std::io;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Error {
    /// A file the caller named could not be read.
    Io { path: PathBuf, source: io::Error },
    /// A key file or key line that is not a usable ed25519 key.
    Key { path: Option<PathBuf>, message: String },
    /// An id no round could take as a participant.
    Participant { id: String },
    /// A run folder's `summary.json` that is not a summary.
    Summary { path: PathBuf, message: String },
    /// An attack-mode run (`--side-task`): capability, not propensity.
    AttackMode { path: PathBuf },
    /// A monitor results file that is not one.
    Monitor { path: PathBuf, message: String },
    /// An incident catalogue that is not one, or disclosure levels that
    /// name incidents it does not hold.
    Incidents { path: PathBuf, message: String },
    /// A questionnaire answer cites what the bundle does not hold.
    Cite { question: String, item: String, items: Vec<String> },
    /// A scanned file, whose hash a bundle commits to, could not be read.
    Scanned { file: String, source: io::Error },
    /// An evidence item of the run folder could not be read.
    Evidence { id: String, source: io::Error },
    /// The bundle does not verify: every problem found.
    Invalid { problems: Vec<String> },
    /// No evidence item of this id in the bundle.
    NoItem { id: String },
    /// The item's bytes are not those the bundle committed to.
    Changed { id: String },
    /// A proof that does not hold, or is not a proof.
    Proof { message: String },
    /// The system gave no randomness for a new key.
    Randomness,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Key { path: Some(path), message } => write!(f, "{}: {message}", path.display()),
            Error::Key { path: None, message } => f.write_str(message),
            Error::Participant { id } => write!(
                f,
                "participant `{id}`: ids are letters, digits, `-`, `_` and `.`, not starting with `.`"
            ),
            Error::Summary { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Monitor { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Incidents { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Cite { question, item, items } => write!(
                f,
                "{question} cites `{item}`, which is not an evidence item of this bundle{}",
                if items.is_empty() {
                    String::new()
                } else {
                    format!(" (its monitoring results: {})", items.join(", "))
                }
            ),
            Error::AttackMode { path } => write!(
                f,
                "{}: an attack-mode run (`--side-task`): its agent was told to misbehave, so its labels measure capability, not propensity, and a bundle's rates would mislead",
                path.display()
            ),
            Error::Scanned { file, source } => write!(f, "scanned file {file}: {source}"),
            Error::Evidence { id, source } => write!(f, "{id}: {source}"),
            Error::Invalid { problems } => f.write_str(&problems.join("\n  ")),
            Error::NoItem { id } => write!(f, "no evidence item `{id}` in the bundle"),
            Error::Changed { id } => write!(f, "{id} has changed since the bundle was signed"),
            Error::Proof { message } => f.write_str(message),
            Error::Randomness => f.write_str("the system gave no randomness"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } | Error::Scanned { source, .. } => Some(source),
            Error::Evidence { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Error {
    pub(crate) fn key(message: impl Into<String>) -> Error {
        Error::Key { path: None, message: message.into() }
    }

    pub(crate) fn proof(message: impl Into<String>) -> Error {
        Error::Proof { message: message.into() }
    }
}
