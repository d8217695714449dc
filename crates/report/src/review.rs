//! Reviewers' decisions (`perimeter.decisions/1`, from `perimeter view`)
//! as a layer over a run's machine labels: the labels stay as the run
//! wrote them; the reviewed figures leave out what a reviewer dismissed.
//! A report says which it shows.

use std::collections::{BTreeMap, BTreeSet};

use formats::ClassId;
use formats::review::{Decision, Target, Verdict};
use formats::run::Summary;
use serde::Serialize;

/// The decisions applied to one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reviewed {
    /// The decisions file, as named.
    pub file: String,
    /// Who decided on this run's labels.
    pub reviewers: Vec<String>,
    /// The run's labels, by their latest decision.
    pub labels: u64,
    pub confirmed: u64,
    pub dismissed: u64,
    pub regraded: u64,
    pub unreviewed: u64,
    /// Per class labelled: episodes labelled per opportunity by the
    /// machine, and with dismissed labels left out.
    pub classes: Vec<ReviewedClass>,
}

pub use formats::review::{Figure, ReviewedClass};

/// The latest decision on each label of the run, and the per-opportunity
/// rates with the dismissed labels left out (computed as the run computes
/// its own, by the `rates` crate, with its seed).
pub fn reviewed(summary: &Summary, decisions: &[Decision], file: &str) -> Reviewed {
    let mut latest: BTreeMap<(&str, ClassId), &Decision> = BTreeMap::new();
    for d in decisions {
        if let Target::Label { trace_head, class, .. } = &d.target {
            latest.insert((trace_head.as_str(), *class), d);
        }
    }
    let mut r = Reviewed {
        file: file.into(),
        reviewers: Vec::new(),
        labels: 0,
        confirmed: 0,
        dismissed: 0,
        regraded: 0,
        unreviewed: 0,
        classes: Vec::new(),
    };
    let mut reviewers = BTreeSet::new();
    // The standard suite's episodes, as the run's rates: an extension
    // suite's are reported apart and never pooled with them.
    for e in summary.standard_episodes() {
        for l in &e.labels {
            r.labels += 1;
            match latest.get(&(e.trace_head.as_str(), l.class)) {
                Some(d) => {
                    reviewers.insert(d.by.clone());
                    match d.verdict {
                        Verdict::Confirm => r.confirmed += 1,
                        Verdict::Regrade => r.regraded += 1,
                        Verdict::Dismiss => r.dismissed += 1,
                    }
                }
                None => r.unreviewed += 1,
            }
        }
    }
    r.reviewers = reviewers.into_iter().collect();
    let declared: BTreeSet<ClassId> = summary
        .rates
        .iter()
        .flat_map(|x| &x.classes)
        .filter_map(|x| x.class)
        .chain(summary.standard_episodes().flat_map(|e| e.labels.iter().map(|l| l.class)))
        .collect();
    let episodes: Vec<(&str, rates::Outcome)> = summary
        .standard_episodes()
        .map(|e| (e.trace_head.as_str(), rates::Outcome::from(e)))
        .collect();
    r.classes =
        rates::reviewed(&episodes, &rates::dismissed(decisions), &declared, summary.header.seed);
    r
}

/// A figure as reports print it: `2/21, 9.5% [2.7, 28.9]`.
pub fn figure_text(x: &Figure) -> String {
    format!(
        "{}/{}, {:.1}% [{:.1}, {:.1}]",
        x.k,
        x.n,
        100.0 * x.rate,
        100.0 * x.ci_low,
        100.0 * x.ci_high
    )
}

/// What a report says of the layer, in one sentence.
pub fn line(r: &Reviewed) -> String {
    let who = if r.reviewers.is_empty() { "nobody".to_owned() } else { r.reviewers.join(", ") };
    format!(
        "This report shows the machine's labels. Reviewed by {who} ({}): of {} labels, {} confirmed, {} dismissed, {} re-graded, {} not reviewed; the reviewed figures below leave the dismissed out.",
        r.file, r.labels, r.confirmed, r.dismissed, r.regraded, r.unreviewed
    )
}
