//! The rates a run reports, from its episodes' outcomes: per behaviour
//! class (per opportunity, the headline; per episode; per successful
//! episode; and per scenario), usefulness (main-task success), both split
//! by eval-awareness and by framing, each with its denominator and the
//! interval of `stats::rate_interval`.
//!
//! An episode that ended for an infrastructure reason is in no rate: it is
//! counted in [`Endings`] with its reason. The same function computes the
//! rates `perimeter run` writes and those a verifier recomputes from a
//! bundle's signed episodes, so the two can be compared figure by figure.

#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};

use formats::run::{EpisodeRecord, FramingRates, LEVEL, Rate, Rates, Split};
use formats::{ClassId, EndKind, EndReason};

pub use formats::run::Endings;

/// Bootstrap resamples for pooled rates.
const REPS: usize = 2000;

pub const PER_OPPORTUNITY: &str = "per_opportunity";
pub const PER_EPISODE: &str = "per_episode";
pub const PER_SUCCESSFUL_EPISODE: &str = "per_successful_episode";

/// What the rates need of one episode.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<'a> {
    pub scenario: &'a str,
    pub labels: Vec<ClassId>,
    /// The classes the episode offered an opportunity for; empty when not
    /// recorded (records written before it was), and then every class
    /// counts as offered.
    pub opportunities: &'a [ClassId],
    pub main_task_success: bool,
    pub eval_aware: bool,
    pub end_reason: EndReason,
    pub params: Option<&'a BTreeMap<String, String>>,
}

impl Outcome<'_> {
    fn has(&self, class: ClassId) -> bool {
        self.labels.contains(&class)
    }

    fn offers(&self, class: ClassId) -> bool {
        offers(self.opportunities, self.has(class), class)
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params?.get(name).map(String::as_str)
    }
}

impl<'a> From<&'a EpisodeRecord> for Outcome<'a> {
    fn from(e: &'a EpisodeRecord) -> Outcome<'a> {
        Outcome {
            scenario: &e.scenario,
            labels: e.labels.iter().map(|l| l.class).collect(),
            opportunities: &e.opportunities,
            main_task_success: e.main_task_success,
            eval_aware: e.eval_aware,
            end_reason: e.end_reason,
            params: Some(&e.params),
        }
    }
}

impl<'a> From<&'a formats::bundle::Episode> for Outcome<'a> {
    fn from(e: &'a formats::bundle::Episode) -> Outcome<'a> {
        Outcome {
            scenario: &e.scenario,
            labels: e.labels.iter().map(|l| l.class).collect(),
            opportunities: &e.opportunities,
            main_task_success: e.main_task_success,
            eval_aware: e.eval_aware,
            end_reason: e.end_reason,
            params: e.params.as_ref(),
        }
    }
}

/// Whether an episode offered an opportunity for `class`: its recorded
/// opportunities name it (every class does when none were recorded), or it
/// was labelled with it all the same. The denominator of a per-opportunity
/// rate, here and in a round's pooled figures.
pub fn offers(opportunities: &[ClassId], labelled: bool, class: ClassId) -> bool {
    opportunities.is_empty() || opportunities.contains(&class) || labelled
}

/// A framing parameter of a scenario, as its manifest declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct Framing {
    pub scenario: String,
    pub param: String,
    /// Its choices, in the manifest's order.
    pub choices: Vec<String>,
    /// The scenario's declared classes.
    pub classes: Vec<ClassId>,
}

/// A rate over the outcomes of a scope: `hit` counts toward k among those
/// `in_denominator`.
fn rate(
    outcomes: &[&Outcome],
    class: Option<ClassId>,
    scenario: Option<&str>,
    denominator: &str,
    hit: &dyn Fn(&Outcome) -> bool,
    seed: u64,
) -> Rate {
    let counted =
        outcomes.iter().filter(|e| scenario.is_none_or(|s| e.scenario == s)).filter(|e| {
            match denominator {
                PER_OPPORTUNITY => class.is_none_or(|c| e.offers(c)),
                PER_SUCCESSFUL_EPISODE => e.main_task_success,
                _ => true,
            }
        });
    // Clusters are scenarios: their episodes are drawn together.
    let mut clusters: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for e in counted {
        let c = clusters.entry(e.scenario).or_default();
        c.0 += u64::from(hit(e));
        c.1 += 1;
    }
    // Within one scenario its episodes are the clusters: independent draws.
    let clusters: Vec<(u64, u64)> = if scenario.is_some() {
        clusters
            .into_values()
            .flat_map(|(k, n)| (0..n).map(move |i| (u64::from(i < k), 1)))
            .collect()
    } else {
        clusters.into_values().collect()
    };
    let i = stats::rate_interval(&clusters, REPS, LEVEL, seed);
    Rate {
        class,
        scenario: scenario.map(str::to_owned),
        denominator: denominator.into(),
        k: i.k,
        n: i.n,
        rate: i.rate,
        ci_low: i.low,
        ci_high: i.high,
        method: i.method.name().into(),
    }
}

/// The pooled rates of a set of outcomes: every class, per opportunity,
/// per episode and per successful episode; then usefulness.
fn pooled(outcomes: &[&Outcome], classes: &BTreeSet<ClassId>, seed: u64) -> (Vec<Rate>, Rate) {
    let mut out = Vec::new();
    for &class in classes {
        for denominator in [PER_OPPORTUNITY, PER_EPISODE, PER_SUCCESSFUL_EPISODE] {
            out.push(rate(outcomes, Some(class), None, denominator, &|e| e.has(class), seed));
        }
    }
    let useful = rate(outcomes, None, None, PER_EPISODE, &|e| e.main_task_success, seed);
    (out, useful)
}

/// The rates of each framing value: usefulness, then each class.
fn framing_rates(outcomes: &[&Outcome], framings: &[Framing], seed: u64) -> Vec<FramingRates> {
    let mut out = Vec::new();
    for f in framings {
        for value in &f.choices {
            let subset: Vec<&Outcome> = outcomes
                .iter()
                .filter(|e| e.scenario == f.scenario && e.param(&f.param) == Some(value))
                .copied()
                .collect();
            if subset.is_empty() {
                continue;
            }
            let s = Some(f.scenario.as_str());
            let mut rates =
                vec![rate(&subset, None, s, PER_EPISODE, &|e| e.main_task_success, seed)];
            for &class in &f.classes {
                rates.push(rate(&subset, Some(class), s, PER_EPISODE, &|e| e.has(class), seed));
            }
            out.push(FramingRates {
                scenario: f.scenario.clone(),
                param: f.param.clone(),
                value: value.clone(),
                rates,
            });
        }
    }
    out
}

/// How the outcomes ended.
pub fn endings(outcomes: &[Outcome]) -> Endings {
    let mut reasons = BTreeMap::new();
    for e in outcomes {
        *reasons.entry(e.end_reason).or_default() += 1;
    }
    let count = |kind| outcomes.iter().filter(|e| e.end_reason.kind() == kind).count() as u64;
    let excluded = count(EndKind::Infrastructure);
    Endings {
        episodes: outcomes.len() as u64,
        counted: outcomes.len() as u64 - excluded,
        excluded,
        limited: count(EndKind::Limit),
        reasons,
    }
}

/// The label each decision of a reviewer leaves dismissed: the latest
/// decision on an episode's label (by trace head and class) is a
/// dismissal.
pub fn dismissed(decisions: &[formats::review::Decision]) -> BTreeSet<(String, ClassId)> {
    use formats::review::{Target, Verdict};
    let mut latest: BTreeMap<(String, ClassId), Verdict> = BTreeMap::new();
    for d in decisions {
        if let Target::Label { trace_head, class, .. } = &d.target {
            latest.insert((trace_head.clone(), *class), d.verdict);
        }
    }
    latest.into_iter().filter(|(_, v)| *v == Verdict::Dismiss).map(|(k, _)| k).collect()
}

/// Per class labelled by the machine: its per-opportunity figure, and the
/// figure with the labels in `dismissed` left out. `episodes` pairs each
/// outcome with its trace head; `declared` and `seed` as for [`rates`].
pub fn reviewed(
    episodes: &[(&str, Outcome)],
    dismissed: &BTreeSet<(String, ClassId)>,
    declared: &BTreeSet<ClassId>,
    seed: u64,
) -> Vec<formats::review::ReviewedClass> {
    let machine: Vec<Outcome> = episodes.iter().map(|(_, o)| o.clone()).collect();
    let reviewed: Vec<Outcome> = episodes
        .iter()
        .map(|(head, o)| {
            let mut o = o.clone();
            o.labels.retain(|c| !dismissed.contains(&((*head).to_owned(), *c)));
            o
        })
        .collect();
    let headline = |o: &[Outcome]| -> Vec<Rate> {
        rates(o, declared, &[], seed)
            .classes
            .into_iter()
            .filter(|x| x.denominator == PER_OPPORTUNITY && x.scenario.is_none())
            .collect()
    };
    let figure = |x: &Rate| formats::review::Figure {
        k: x.k,
        n: x.n,
        rate: x.rate,
        ci_low: x.ci_low,
        ci_high: x.ci_high,
    };
    let after = headline(&reviewed);
    headline(&machine)
        .iter()
        .filter(|b| b.k > 0)
        .filter_map(|b| {
            let a = after.iter().find(|a| a.class == b.class)?;
            Some(formats::review::ReviewedClass {
                class: b.class?,
                machine: figure(b),
                reviewed: figure(a),
            })
        })
        .collect()
}

/// Every rate of a run's outcomes; `seed` (the run's) makes the bootstrap
/// reproducible. `declared` are the classes to report even at zero events
/// (the scenarios' declared classes), besides any labelled; `framings` the
/// scenarios' framing parameters to split by. Outcomes that ended for an
/// infrastructure reason are left out of every rate.
pub fn rates(
    outcomes: &[Outcome],
    declared: &BTreeSet<ClassId>,
    framings: &[Framing],
    seed: u64,
) -> Rates {
    let counted: Vec<&Outcome> =
        outcomes.iter().filter(|e| !e.end_reason.is_infrastructure()).collect();
    let mut classes = declared.clone();
    classes.extend(counted.iter().flat_map(|e| e.labels.iter().copied()));
    let (mut class_rates, useful) = pooled(&counted, &classes, seed);
    let scenarios: BTreeSet<&str> = counted.iter().map(|e| e.scenario).collect();
    let mut usefulness = vec![useful];
    for s in &scenarios {
        for &class in &classes {
            class_rates.push(rate(
                &counted,
                Some(class),
                Some(s),
                PER_EPISODE,
                &|e| e.has(class),
                seed,
            ));
        }
        usefulness.push(rate(&counted, None, Some(s), PER_EPISODE, &|e| e.main_task_success, seed));
    }
    let split = |aware: bool| {
        let subset: Vec<&Outcome> =
            counted.iter().filter(|e| e.eval_aware == aware).copied().collect();
        let (mut r, u) = pooled(&subset, &classes, seed);
        r.push(u);
        r
    };
    Rates {
        level: LEVEL,
        classes: class_rates,
        usefulness,
        eval_aware: Split { aware: split(true), unaware: split(false) },
        framings: framing_rates(&counted, framings, seed),
        endings: Some(endings(outcomes)),
    }
}

#[cfg(test)]
mod tests;
