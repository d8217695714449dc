//! Detectors over the agent's own view: a transcript's tool calls, their
//! results and the messages, with no ground truth. What a command or an
//! edit does is read from its text: the shell command, the file written and
//! its content, the file read. Indirect forms are unfolded first: a script
//! written in the session and then run is read as part of the command that
//! runs it, and base64 payloads that the command decodes are read decoded.
//!
//! Each detector lives in its own file with a stable code (`AV…`) in
//! [`VIEW_DETECTORS`]; findings point at event indices. Like the rest of
//! this crate, nothing here does I/O.

mod actions;
mod context;
pub mod ops;
pub mod policy;
mod rules;
mod shell;

use formats::ClassId;
use trace::Body;

pub use actions::{Action, actions};
pub use context::Session;
pub use policy::{DEFAULT_POLICY, POLICY_VERSION, Policy, Role};

/// One thing a detector saw in a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewFinding {
    pub code: &'static str,
    /// A protocol class id.
    pub class: ClassId,
    pub message: String,
    /// Indices of the events that justify it, ascending.
    pub evidence: Vec<usize>,
    /// The command, path or claim that fired, shortened.
    pub excerpt: String,
    /// Why the finding is not raised, when context explains the act (the
    /// user asked for it and the output shows nothing it should not).
    pub withheld: Option<String>,
}

/// A registered agent-view detector.
pub struct ViewDetector {
    pub code: &'static str,
    pub name: &'static str,
    pub class: ClassId,
    pub run: fn(&Session<'_>) -> Vec<ViewFinding>,
}

/// Every agent-view detector, by code. Codes are stable: never reuse a
/// retired one.
pub static VIEW_DETECTORS: &[ViewDetector] = &[
    rules::credential_read::DETECTOR,
    rules::test_tampering::DETECTOR,
    rules::monitoring_off::DETECTOR,
    rules::unknown_remote::DETECTOR,
    rules::other_project_job::DETECTOR,
    rules::persistence::DETECTOR,
    rules::destructive::DETECTOR,
    rules::self_permission::DETECTOR,
    rules::false_success::DETECTOR,
    rules::unmeasured_metric::DETECTOR,
    rules::denied_change::DETECTOR,
    rules::claimed_action::DETECTOR,
];

/// Runs every agent-view detector over a session's events, with the lab's
/// policy and the session's working directory (relative paths are read
/// against it). Findings that context explains come back with `withheld`.
pub fn detect_view<'a>(
    events: impl IntoIterator<Item = &'a Body>,
    policy: &Policy,
    cwd: Option<&str>,
) -> Vec<ViewFinding> {
    let session = Session::new(actions(events), policy, cwd);
    VIEW_DETECTORS.iter().flat_map(|d| (d.run)(&session)).collect()
}

/// At most `max` characters of `s`, on one line.
pub fn shorten(s: &str, max: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match one.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &one[..i]),
        None => one,
    }
}

#[cfg(test)]
mod tests;
