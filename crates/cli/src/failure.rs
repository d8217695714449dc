//! How a command fails: one line, an optional hint, and an exit status
//! that follows the failure's kind. This is the one place exit statuses
//! are decided, and where every library's error is given its kind.

use std::process::ExitCode;

/// What kind of failure ended a command; its exit status says so to a
/// script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The work was done and found something wrong (a bundle or trace
    /// that does not verify, a bundle refused), or it failed (a write, the
    /// sandbox, a damaged round folder). Exit status 1.
    Failed,
    /// What was asked cannot be done as asked: an argument, or a file the
    /// user named, is not what it must be. Exit status 2, as for a clap
    /// usage error.
    Usage,
    /// The run is written, but some episodes ended for an infrastructure
    /// reason and no rate counts them. Exit status 3.
    Incomplete,
}

impl Kind {
    pub(crate) const fn status(self) -> u8 {
        match self {
            Kind::Failed => 1,
            Kind::Usage => 2,
            Kind::Incomplete => 3,
        }
    }

    pub(crate) fn exit_code(self) -> ExitCode {
        ExitCode::from(self.status())
    }
}

/// What went wrong, for the user.
#[derive(Debug)]
pub(crate) struct Failure {
    pub message: String,
    pub hint: Option<String>,
    pub kind: Kind,
}

impl Failure {
    pub fn usage(message: impl Into<String>, hint: Option<String>) -> Failure {
        Failure { message: message.into(), hint, kind: Kind::Usage }
    }

    pub fn runtime(message: impl Into<String>, hint: Option<String>) -> Failure {
        Failure { message: message.into(), hint, kind: Kind::Failed }
    }

    /// The same failure, its message prefixed with the file it is about.
    pub fn in_file(mut self, file: &std::path::Path) -> Failure {
        self.message = format!("{}: {}", file.display(), self.message);
        self
    }
}

impl From<run::Error> for Failure {
    fn from(e: run::Error) -> Failure {
        use run::Error as E;
        let kind = match e {
            E::UnknownScenario { .. }
            | E::MissingPolicy { .. }
            | E::RunExists { .. }
            | E::ResumeMismatch { .. }
            | E::MissingClient { .. }
            | E::ClientVersion { .. }
            | E::Preflight(_)
            | E::SuiteClash(_) => Kind::Usage,
            E::Io { .. }
            | E::Sandbox { .. }
            | E::BadRecord { .. }
            | E::Model { .. }
            | E::Capabilities(_) => Kind::Failed,
        };
        Failure { hint: e.hint(), message: e.to_string(), kind }
    }
}

impl From<bundle::Error> for Failure {
    fn from(e: bundle::Error) -> Failure {
        use bundle::Error as E;
        let (kind, hint) = match &e {
            E::Participant { .. } => {
                (Kind::Usage, Some("e.g. `--participant lab-a`, as the round names you"))
            }
            E::Summary { .. } | E::Evidence { .. } => {
                (Kind::Usage, Some("name a finished run folder (with its summary.json)"))
            }
            E::Monitor { .. } => {
                (Kind::Usage, Some("name results written by `perimeter monitor score --out`"))
            }
            E::Incidents { .. } => (
                Kind::Usage,
                Some(
                    "name a catalogue written by `perimeter incidents collect`, and its incidents' ids",
                ),
            ),
            E::Cite { .. } => (
                Kind::Usage,
                Some(
                    "cite an item the bundle holds: add the results with --monitor-results, or fix the questionnaire's `cites`",
                ),
            ),
            E::AttackMode { .. } => (
                Kind::Usage,
                Some(
                    "bundle a run made without --side-task; score an attack-mode run with `perimeter monitor`",
                ),
            ),
            E::Io { .. } | E::Key { .. } | E::Scanned { .. } | E::NoItem { .. } => {
                (Kind::Usage, None)
            }
            E::Changed { .. } => (Kind::Usage, None),
            E::Invalid { .. } | E::Proof { .. } | E::Randomness => (Kind::Failed, None),
        };
        Failure { message: e.to_string(), hint: hint.map(str::to_owned), kind }
    }
}

impl From<round::Error> for Failure {
    fn from(e: round::Error) -> Failure {
        use round::Error as E;
        let kind = match e {
            E::NotARound { .. }
            | E::Spec(_)
            | E::UnknownParticipant { .. }
            | E::Key { .. }
            | E::NotDecisions
            | E::NoBundle { .. }
            | E::Signature(_)
            | E::Phase { .. }
            | E::Analysis { .. }
            | E::Refused { .. } => Kind::Usage,
            E::Stale { .. } | E::Io { .. } | E::Corrupt { .. } | E::Randomness => Kind::Failed,
        };
        Failure { hint: e.hint(), message: e.to_string(), kind }
    }
}

impl From<report::Error> for Failure {
    fn from(e: report::Error) -> Failure {
        Failure::usage(e.to_string(), e.hint())
    }
}

impl From<judge::Error> for Failure {
    fn from(e: judge::Error) -> Failure {
        Failure::usage(e.to_string(), e.hint())
    }
}

impl From<incident::Error> for Failure {
    fn from(e: incident::Error) -> Failure {
        let hint = e.hint.clone();
        Failure::usage(e.to_string(), hint)
    }
}

impl From<scan::Error> for Failure {
    fn from(e: scan::Error) -> Failure {
        Failure::usage(e.to_string(), Some(e.hint()))
    }
}

impl From<gateway::ConfigError> for Failure {
    fn from(e: gateway::ConfigError) -> Failure {
        Failure::usage(e.to_string(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;

    /// `perimeter --help` lists each exit status this file decides.
    #[test]
    fn the_help_names_every_exit_status() {
        for kind in [Kind::Failed, Kind::Usage, Kind::Incomplete] {
            let line = format!("\n  {}  ", kind.status());
            assert!(crate::args::EXIT_STATUS.contains(&line), "{kind:?} is not in the help");
        }
    }
}
