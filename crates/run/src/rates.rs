//! The rates `summary.json` reports: computed by the `rates` crate from the
//! episodes' records.

use std::collections::BTreeSet;

use formats::ClassId;
pub use rates::{Endings, Framing};

use crate::summary::EpisodeRecord;

pub use formats::run::{FramingRates, LEVEL, Rate, Rates, Split};

/// Every rate of a run's episodes (see [`rates::rates`]).
pub fn rates(
    episodes: &[EpisodeRecord],
    declared: &BTreeSet<ClassId>,
    framings: &[Framing],
    seed: u64,
) -> Rates {
    let outcomes: Vec<rates::Outcome> = episodes.iter().map(rates::Outcome::from).collect();
    rates::rates(&outcomes, declared, framings, seed)
}
