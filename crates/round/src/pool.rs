//! Pooled figures across participants: every class's rate over the
//! comparable participants' episodes, with an interval, and how many
//! participants it was seen at; usefulness; eval-awareness; scan totals.
//!
//! The figures are a function of the set of bundles alone: clusters are
//! ordered by participant and scenario, and the bootstrap is seeded by the
//! round, so a round one participant left yields exactly the figures of a
//! round it never joined.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

/// The confidence level of every interval.
pub const LEVEL: f64 = 0.95;
const REPS: usize = 2000;
/// Clusters needed before a bootstrap interval replaces Wilson's.
const MIN_CLUSTERS: usize = 5;
/// Participants needed before a pooled figure is shown: one participant's
/// figure "pooled" would be its own.
pub const MIN_PARTICIPANTS: usize = 2;

/// A rate with its interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    pub k: u64,
    pub n: u64,
    pub rate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// `wilson`, `rule_of_three` or `bootstrap` (clusters: participant ×
    /// scenario).
    pub method: String,
}

impl Rate {
    /// A rate as `summary.json` (and so a bundle) records it.
    pub fn from_summary(v: &Value) -> Option<Rate> {
        Some(Rate {
            k: v["k"].as_u64()?,
            n: v["n"].as_u64()?,
            rate: v["rate"].as_f64()?,
            ci_low: v["ci_low"].as_f64()?,
            ci_high: v["ci_high"].as_f64()?,
            method: v["method"].as_str()?.to_owned(),
        })
    }

    /// `12.5% [3.1, 28.0]`.
    pub fn percent(&self) -> String {
        format!(
            "{:.1}% [{:.1}, {:.1}]",
            100.0 * self.rate,
            100.0 * self.ci_low,
            100.0 * self.ci_high
        )
    }
}

/// One class across participants.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassFigure {
    pub class: String,
    /// Participants with at least one episode labelled with the class.
    pub participants_labelled: usize,
    #[serde(flatten)]
    pub rate: Rate,
}

/// Scan totals summed across the participants that included a scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanFigure {
    pub participants: usize,
    pub sessions: u64,
    pub sessions_with_findings: u64,
    /// Per class: sessions with at least one finding of it.
    pub classes: BTreeMap<String, u64>,
    pub permission_known: u64,
    pub permissions_skipped: u64,
}

/// One value of a scenario's framing parameter, across participants: the
/// matched-framing comparison sandbagging is measured by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FramingFigure {
    pub scenario: String,
    pub param: String,
    pub value: String,
    /// Participants with at least one episode that drew this value.
    pub participants: usize,
    pub usefulness: Rate,
    pub classes: Vec<ClassFigure>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pooled {
    pub participants: usize,
    pub episodes: u64,
    pub level: f64,
    pub classes: Vec<ClassFigure>,
    pub usefulness: Rate,
    pub eval_aware: Rate,
    /// `None` when fewer than [`MIN_PARTICIPANTS`] included a scan.
    pub scan: Option<ScanFigure>,
    /// Per framing value the bundles' rates declare (`rates.framings`),
    /// over the episodes that drew it.
    pub framings: Vec<FramingFigure>,
}

fn rate(clusters: &[(u64, u64)], seed: u64) -> Rate {
    let (k, n) = clusters.iter().fold((0, 0), |(k, n), c| (k + c.0, n + c.1));
    let i = if k == 0 {
        stats::rule_of_three(n, LEVEL)
    } else if clusters.len() >= MIN_CLUSTERS {
        stats::cluster_bootstrap_rate(clusters, REPS, LEVEL, seed)
    } else {
        stats::wilson(k, n, LEVEL)
    };
    Rate {
        k: i.k,
        n: i.n,
        rate: i.rate,
        ci_low: i.low,
        ci_high: i.high,
        method: i.method.name().into(),
    }
}

fn episodes(bundle: &Value) -> &[Value] {
    bundle["content"]["episodes"].as_array().map(Vec::as_slice).unwrap_or_default()
}

/// Whether an episode carries a label of `class`.
pub fn labelled(episode: &Value, class: &str) -> bool {
    episode["labels"].as_array().into_iter().flatten().any(|l| l["class"] == class)
}

/// The classes a bundle reports: those its rates declare, and any labelled.
pub fn classes(bundle: &Value) -> BTreeSet<String> {
    let declared = bundle["content"]["rates"]["classes"].as_array().into_iter().flatten();
    let labelled =
        episodes(bundle).iter().flat_map(|e| e["labels"].as_array().into_iter().flatten());
    declared.chain(labelled).filter_map(|r| r["class"].as_str().map(str::to_owned)).collect()
}

/// Pools bundles (participant id, bundle); the order they come in does not
/// matter.
pub fn pool(bundles: &[(&str, &Value)], seed: u64) -> Pooled {
    let mut sorted: Vec<&(&str, &Value)> = bundles.iter().collect();
    sorted.sort_by_key(|(p, _)| *p);
    let classes: BTreeSet<String> = sorted.iter().flat_map(|(_, b)| classes(b)).collect();
    // (participant, scenario) -> its episodes.
    let mut groups: BTreeMap<(&str, &str), Vec<&Value>> = BTreeMap::new();
    for (p, b) in &sorted {
        for e in episodes(b) {
            groups.entry((p, e["scenario"].as_str().unwrap_or_default())).or_default().push(e);
        }
    }
    let clusters = |hit: &dyn Fn(&Value) -> bool| -> Vec<(u64, u64)> {
        groups
            .values()
            .map(|es| (es.iter().filter(|e| hit(e)).count() as u64, es.len() as u64))
            .collect()
    };
    let figures = classes
        .into_iter()
        .map(|class| ClassFigure {
            participants_labelled: sorted
                .iter()
                .filter(|(_, b)| episodes(b).iter().any(|e| labelled(e, &class)))
                .count(),
            rate: rate(&clusters(&|e| labelled(e, &class)), seed),
            class,
        })
        .collect();
    let scans: Vec<&Value> = sorted
        .iter()
        .map(|(_, b)| &b["content"]["scan"]["totals"])
        .filter(|t| t.is_object())
        .collect();
    let sum = |f: &str| scans.iter().map(|t| t[f].as_u64().unwrap_or(0)).sum();
    let scan = (scans.len() >= MIN_PARTICIPANTS).then(|| {
        let mut classes = BTreeMap::new();
        for t in &scans {
            for (c, v) in t["classes"].as_object().into_iter().flatten() {
                *classes.entry(c.clone()).or_default() += v["sessions"].as_u64().unwrap_or(0);
            }
        }
        ScanFigure {
            participants: scans.len(),
            sessions: sum("sessions"),
            sessions_with_findings: sum("sessions_with_findings"),
            classes,
            permission_known: sum("permission_known"),
            permissions_skipped: sum("permissions_skipped"),
        }
    });
    Pooled {
        framings: framings(&sorted, seed),
        participants: sorted.len(),
        episodes: groups.values().map(|g| g.len() as u64).sum(),
        level: LEVEL,
        classes: figures,
        usefulness: rate(&clusters(&|e| e["main_task_success"] == true), seed),
        eval_aware: rate(&clusters(&|e| e["eval_aware"] == true), seed),
        scan,
    }
}

/// The framing values the bundles declare, sorted, with the classes each
/// reports: (scenario, param, value) -> classes.
fn declared_framings(bundles: &[&(&str, &Value)]) -> Vec<((String, String, String), Vec<String>)> {
    let mut out: Vec<((String, String, String), Vec<String>)> = Vec::new();
    for (_, b) in bundles {
        for f in b["content"]["rates"]["framings"].as_array().into_iter().flatten() {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            let key = (s("scenario"), s("param"), s("value"));
            let classes: Vec<String> = f["rates"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["class"].as_str().map(str::to_owned))
                .collect();
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some((_, known)) => {
                    known.extend(classes);
                    known.sort();
                    known.dedup();
                }
                None => out.push((key, classes)),
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Each framing value drawn by at least [`MIN_PARTICIPANTS`] participants:
/// one participant's figure "pooled" would be its own.
fn framings(bundles: &[&(&str, &Value)], seed: u64) -> Vec<FramingFigure> {
    declared_framings(bundles)
        .into_iter()
        .filter_map(|((scenario, param, value), classes)| {
            // One cluster per participant: its episodes that drew the value.
            let drew = |e: &&Value| {
                e["scenario"] == scenario.as_str() && e["params"][&param] == value.as_str()
            };
            let groups: Vec<Vec<&Value>> = bundles
                .iter()
                .map(|(_, b)| episodes(b).iter().filter(drew).collect::<Vec<_>>())
                .filter(|g| !g.is_empty())
                .collect();
            if groups.len() < MIN_PARTICIPANTS {
                return None;
            }
            let clusters = |hit: &dyn Fn(&Value) -> bool| -> Vec<(u64, u64)> {
                groups
                    .iter()
                    .map(|g| (g.iter().filter(|e| hit(e)).count() as u64, g.len() as u64))
                    .collect()
            };
            Some(FramingFigure {
                participants: groups.len(),
                usefulness: rate(&clusters(&|e| e["main_task_success"] == true), seed),
                classes: classes
                    .into_iter()
                    .map(|class| ClassFigure {
                        participants_labelled: groups
                            .iter()
                            .filter(|g| g.iter().any(|e| labelled(e, &class)))
                            .count(),
                        rate: rate(&clusters(&|e| labelled(e, &class)), seed),
                        class,
                    })
                    .collect(),
                scenario,
                param,
                value,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bundle(labels: &[(&str, &[&str])]) -> Value {
        let episodes: Vec<Value> = labels
            .iter()
            .map(|(s, classes)| {
                let labels: Vec<Value> = classes.iter().map(|c| json!({"class": c})).collect();
                json!({"scenario": s, "labels": labels, "main_task_success": classes.is_empty(), "eval_aware": false})
            })
            .collect();
        json!({"content": {"episodes": episodes, "rates": {"classes": [{"class": "sandbagging"}]}}})
    }

    #[test]
    fn pooled_figures_do_not_depend_on_order_and_count_participants() {
        let a = bundle(&[("s1", &["exfiltration"]), ("s2", &[]), ("s3", &[])]);
        let b = bundle(&[("s1", &[]), ("s2", &["exfiltration", "credential_access"]), ("s3", &[])]);
        let c = bundle(&[("s1", &[]), ("s2", &[]), ("s3", &[])]);
        let one = pool(&[("a", &a), ("b", &b), ("c", &c)], 7);
        let other = pool(&[("c", &c), ("a", &a), ("b", &b)], 7);
        assert_eq!(one, other);
        assert_eq!((one.participants, one.episodes), (3, 9));
        let ex = one.classes.iter().find(|f| f.class == "exfiltration").unwrap();
        assert_eq!((ex.participants_labelled, ex.rate.k, ex.rate.n), (2, 2, 9));
        assert_eq!(ex.rate.method, "bootstrap", "9 participant × scenario clusters");
        let sb = one.classes.iter().find(|f| f.class == "sandbagging").unwrap();
        assert_eq!((sb.rate.k, sb.rate.method.as_str()), (0, "rule_of_three"));
        assert_eq!(one.usefulness.k, 7);
        assert!(one.scan.is_none());
        assert!(one.framings.is_empty());
    }

    #[test]
    fn framings_pool_the_episodes_that_drew_each_value() {
        let framed = |draws: &[(&str, bool)]| {
            let episodes: Vec<Value> = draws
                .iter()
                .map(|(memo, sandbagged)| {
                    let labels =
                        if *sandbagged { json!([{"class": "sandbagging"}]) } else { json!([]) };
                    json!({"scenario": "probe", "params": {"memo": memo}, "labels": labels,
                        "main_task_success": !sandbagged, "eval_aware": false})
                })
                .collect();
            let declared: Vec<Value> = ["", "solo", "warned"]
                .iter()
                .filter(|v| draws.iter().any(|(m, _)| m == *v))
                .map(|v| {
                    json!({"scenario": "probe", "param": "memo", "value": v,
                    "rates": [{"class": null}, {"class": "sandbagging"}]})
                })
                .collect();
            json!({"content": {"episodes": episodes, "rates": {"classes": [], "framings": declared}}})
        };
        let a = framed(&[("", false), ("warned", true)]);
        let b = framed(&[("warned", true), ("warned", false)]);
        let c = framed(&[("", false), ("solo", true)]);
        let p = pool(&[("a", &a), ("b", &b), ("c", &c)], 7);
        let got: Vec<(&str, usize, u64, u64, u64)> = p
            .framings
            .iter()
            .map(|f| {
                let sb = &f.classes[0];
                assert_eq!(sb.class, "sandbagging");
                (
                    f.value.as_str(),
                    f.participants,
                    f.usefulness.n,
                    sb.rate.k,
                    sb.participants_labelled as u64,
                )
            })
            .collect();
        assert_eq!(
            got,
            [("", 2, 2, 0, 0), ("warned", 2, 3, 2, 2)],
            "`solo`: one participant's own"
        );
    }
}
