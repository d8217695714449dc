//! Every format that leaves the process, as types: what a run writes, what
//! a scan reports, what a bundle carries, what a round keeps and publishes,
//! what a monitor is shown and what its red-team measures.
//! Each is documented in `docs/` and has a JSON Schema generated from these
//! types in `docs/schemas/` (`schemas()`; a test keeps them current).
//!
//! A leaf: it knows serde and nothing of how the files are made, so a crate
//! that reads a format need not depend on the crate that writes it.

#![forbid(unsafe_code)]

pub mod bundle;
mod class;
mod end;
pub mod incident;
pub mod monitor;
pub mod output;
pub mod process;
pub mod review;
pub mod riskreview;
pub mod round;
pub mod run;
pub mod scan;
mod time;

pub use class::{ClassId, UnknownClass};
pub use end::{EndKind, EndReason};
pub use time::{Timestamp, day_number};

/// Every format's schema: its file name in `docs/schemas/` and the schema.
pub fn schemas() -> Vec<(&'static str, schemars::Schema)> {
    use schemars::schema_for;
    vec![
        ("summary.schema.json", schema_for!(run::Summary)),
        ("episode-result.schema.json", schema_for!(run::EpisodeRecord)),
        ("run-header.schema.json", schema_for!(run::RunHeader)),
        ("scan.schema.json", schema_for!(scan::Report)),
        ("bundle.schema.json", schema_for!(bundle::Bundle)),
        ("proof.schema.json", schema_for!(bundle::Proof)),
        ("event-proof.schema.json", schema_for!(bundle::EventProof)),
        ("round.schema.json", schema_for!(round::RoundFile)),
        ("ingested.schema.json", schema_for!(round::IngestedFile)),
        ("disclosure.schema.json", schema_for!(round::Decisions)),
        ("round-report-public.schema.json", schema_for!(round::Public)),
        ("round-report-private.schema.json", schema_for!(round::Private)),
        ("suite-list.schema.json", schema_for!(output::SuiteList)),
        ("bundle-verification.schema.json", schema_for!(output::BundleVerification)),
        ("bundle-inspection.schema.json", schema_for!(output::BundleInspection)),
        ("trace-verification.schema.json", schema_for!(output::TraceVerification)),
        ("doctor.schema.json", schema_for!(output::Doctor)),
        ("round-init.schema.json", schema_for!(output::RoundInit)),
        ("round-ingest.schema.json", schema_for!(output::RoundIngest)),
        ("round-disclosure.schema.json", schema_for!(output::RoundDisclosure)),
        ("round-reports.schema.json", schema_for!(output::RoundReports)),
        ("round-exit.schema.json", schema_for!(output::RoundExit)),
        ("round-step.schema.json", schema_for!(output::RoundStep)),
        ("round-phases.schema.json", schema_for!(process::Phases)),
        ("model-access.schema.json", schema_for!(process::ModelAccess)),
        ("evaluator-evidence.schema.json", schema_for!(process::EvaluatorEvidence)),
        ("thread.schema.json", schema_for!(process::Thread)),
        ("disclosure-response.schema.json", schema_for!(process::Response)),
        ("negotiation.schema.json", schema_for!(process::Negotiation)),
        ("analysis.schema.json", schema_for!(process::Analysis)),
        ("public-analysis.schema.json", schema_for!(process::PublicAnalysis)),
        ("public-items.schema.json", schema_for!(round::PublishedItems)),
        ("comparison.schema.json", schema_for!(output::ComparisonReport)),
        ("trajectory.schema.json", schema_for!(monitor::Trajectory)),
        ("monitor-answer.schema.json", schema_for!(monitor::Answer)),
        ("monitor-corpus-header.schema.json", schema_for!(monitor::CorpusHeader)),
        ("monitor-corpus-item.schema.json", schema_for!(monitor::CorpusItem)),
        ("monitor-results.schema.json", schema_for!(monitor::Results)),
        ("routing-request.schema.json", schema_for!(monitor::RoutingRequest)),
        ("routing-results.schema.json", schema_for!(monitor::RoutingResults)),
        ("coverage-profile.schema.json", schema_for!(monitor::CoverageProfile)),
        ("viewer-results.schema.json", schema_for!(monitor::ViewerResults)),
        ("incidents.schema.json", schema_for!(incident::Catalogue)),
        ("incident-chart.schema.json", schema_for!(incident::Dataset)),
        ("incident-pool.schema.json", schema_for!(incident::Pooled)),
        ("decision.schema.json", schema_for!(review::Decision)),
        ("risk-review-version.schema.json", schema_for!(riskreview::Version)),
        ("risk-review.schema.json", schema_for!(riskreview::Built)),
    ]
}
