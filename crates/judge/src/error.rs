//! What can be wrong with a judge as it is set up: its classes, its model,
//! its cache. (A call that fails is a [`crate::CallError`], and a session
//! it could not judge is `failed`, never an error of the scan.)

use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Error {
    /// A class the judge has no prompt for.
    UnknownClass { class: String, known: Vec<&'static str> },
    /// A scripted judge's file that cannot be used.
    Script { message: String },
    /// A model spec or upstream setting that cannot be used.
    Upstream(gateway::ConfigError),
    /// The cache folder cannot be made.
    Cache { dir: PathBuf, source: std::io::Error },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnknownClass { class, known } => {
                write!(f, "the judge has no prompt for `{class}`; it knows {}", known.join(", "))
            }
            Error::Script { message } => f.write_str(message),
            Error::Upstream(e) => e.fmt(f),
            Error::Cache { dir, source } => {
                write!(f, "the judge cache `{}`: {source}", dir.display())
            }
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::UnknownClass { .. } => None,
            Error::Script { .. } | Error::Upstream(_) => {
                Some("a scripted judge's file format: docs/scan-format.md".into())
            }
            Error::Cache { .. } => {
                Some("name another with --judge-cache DIR, or --no-judge-cache".into())
            }
        }
    }
}
