//! `summary.json` (format `perimeter.summary/1`) and the per-episode records
//! it is made of. Specified in `docs/summary-format.md`.

pub const FORMAT: &str = formats::run::SUMMARY_FORMAT;
pub const VERSION: u32 = formats::run::SUMMARY_VERSION;

pub use formats::run::{
    CheckRecord, ClientRecord, EpisodeRecord, LimitsRecord, ModelUsage, RunHeader, SuiteRef,
    Summary,
};

/// An episode's model use, as the gateway counted it.
pub fn model_usage(s: gateway::budget::Spent) -> ModelUsage {
    ModelUsage {
        calls: s.calls,
        turns: s.turns,
        input_tokens: s.input_tokens,
        output_tokens: s.output_tokens,
        estimated: s.estimated,
        cost_usd: s.cost_usd,
    }
}
