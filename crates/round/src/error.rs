//! What can go wrong with a round folder and what is put into it.

use std::fmt;
use std::io;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Error {
    /// The folder holds no round: its `round.json` is missing or is not one.
    NotARound { path: PathBuf, message: String },
    /// What `init` was given cannot make a round (a digest, a participant,
    /// a key, a window, a seed).
    Spec(String),
    /// A participant the round does not have.
    UnknownParticipant { participant: String, known: Vec<String> },
    /// A participant's registered key cannot be used; the message names
    /// the participant.
    Key { participant: String, message: String },
    /// A file given as disclosure decisions has no participant.
    NotDecisions,
    /// Decisions about a participant with no bundle in the round.
    NoBundle { participant: String },
    /// Decisions whose signature does not hold.
    Signature(String),
    /// Decisions the disclosure policy refuses: every problem, by field.
    Refused { problems: Vec<String> },
    /// A participant's stored decisions no longer fit its claims.
    Stale { participant: String, message: String },
    /// A file of the round folder could not be read or written.
    Io { path: PathBuf, source: io::Error },
    /// A file of the round folder is damaged.
    Corrupt { path: PathBuf, message: String },
    /// The system gave no randomness.
    Randomness,
    /// The evaluator's own files cite what does not exist, or lack what a
    /// step needs.
    Analysis { problems: Vec<String> },
    /// A step the round's phase does not allow.
    Phase { step: String, now: formats::process::Phase, allowed: Vec<formats::process::Phase> },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotARound { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Spec(m) => f.write_str(m),
            Error::UnknownParticipant { participant, .. } => {
                write!(f, "`{participant}` is not a participant of this round")
            }
            Error::Key { message, .. } => f.write_str(message),
            Error::NotDecisions => f.write_str("no `participant`: not a disclosure decisions file"),
            Error::NoBundle { participant } => {
                write!(f, "`{participant}` has no bundle in this round")
            }
            Error::Signature(m) => write!(f, "refused: {m}"),
            Error::Refused { problems } => write!(f, "refused:\n  {}", problems.join("\n  ")),
            Error::Stale { participant, message } => {
                write!(f, "{participant}'s stored decisions no longer apply: {message}")
            }
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Corrupt { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Randomness => f.write_str("the system gave no randomness"),
            Error::Analysis { problems } => {
                write!(f, "the evaluator's analysis:\n  {}", problems.join("\n  "))
            }
            Error::Phase { step, now, allowed } => {
                let allowed: Vec<&str> = allowed.iter().map(|p| p.name()).collect();
                write!(
                    f,
                    "refused: the round is in its {} phase; {step}: in the {} phase{} only",
                    now.name(),
                    allowed.join(" or "),
                    if allowed.len() > 1 { "s" } else { "" },
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Error {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NotARound { .. } => Some("a round folder is made by `perimeter round init`".into()),
            Error::UnknownParticipant { known, .. } if !known.is_empty() => {
                Some(format!("its participants: {}", known.join(", ")))
            }
            Error::NotDecisions => Some(
                "name the `<id>.disclosure.json` that came with your private report, filled in and signed (`perimeter disclosure sign`)"
                    .into(),
            ),
            Error::NoBundle { .. } => {
                Some("decisions are about a participant's claims: ingest its bundle first".into())
            }
            Error::Analysis { .. } => Some(
                "analysis/<participant>.toml cites the ids its private report lists (claims C…, V…, A…; thread entries T…; attachments sha256:…; runs run:NAME); analysis/public.toml cites claim:<participant>:<id>; docs/round-format.md has both formats".into(),
            ),
            Error::Phase { now, .. } => Some(match now.next() {
                Some(next) => format!(
                    "`perimeter round advance DIR {}` moves the round on once its {} phase is done; phases never go back",
                    next.name(),
                    now.name()
                ),
                None => "the round is over".into(),
            }),
            Error::Refused { .. } => Some(
                "the participant's private report lists its claims and what may be withheld".into(),
            ),
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
