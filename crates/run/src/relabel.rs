//! An episode's labels derived again from its trace alone, as `run`
//! derived them: what an evaluator does with a trace a participant revealed
//! (`perimeter evidence check --relabel`), to see that the signed labels
//! are what the detectors give.

use formats::run::Label;
use scenario::Suite;
use trace::{Body, TraceReader};

/// Why a trace could not be relabelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelabelError {
    /// Not a whole, unbroken trace.
    Trace(String),
    /// The trace is of a scenario the suite does not hold, or holds in
    /// another version.
    Scenario(String),
}

impl std::fmt::Display for RelabelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RelabelError::Trace(m) => write!(f, "the trace: {m}"),
            RelabelError::Scenario(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for RelabelError {}

/// The labels the detectors give a trace's events: the scenario (checked
/// by digest) instantiated with the trace's seed, and its events without
/// the harness's own findings, which the labels are being checked against.
pub fn relabel(trace: &[u8], suite: &Suite) -> Result<Vec<Label>, RelabelError> {
    let (header, mut reader) =
        TraceReader::open(trace).map_err(|e| RelabelError::Trace(e.to_string()))?;
    let mut events = Vec::new();
    while let Some(e) = reader.next_event().map_err(|e| RelabelError::Trace(e.to_string()))? {
        if !matches!(e.body, Body::Finding { .. } | Body::TraceEnd { .. }) {
            events.push(e);
        }
    }
    let scenario = suite.get(&header.scenario).ok_or_else(|| {
        RelabelError::Scenario(format!(
            "the trace is of scenario `{}`, which suite `{}` does not hold",
            header.scenario, suite.name
        ))
    })?;
    if scenario.digest != header.scenario_digest {
        return Err(RelabelError::Scenario(format!(
            "the trace is of scenario `{}` {}, suite `{}` holds {}",
            header.scenario, header.scenario_digest, suite.name, scenario.digest
        )));
    }
    let instance = scenario.instantiate(header.seed).map_err(RelabelError::Scenario)?;
    let ctx = detect::Context { manifest: &instance.manifest };
    let findings = detect::detect(&events, &ctx);
    Ok(detect::labels(&events, &findings))
}
