//! Reports from a run folder: JSON (`perimeter.report/1`), Markdown, and one
//! self-contained HTML file (no network fetches; interval plots inline as
//! SVG; every label links to the trace events that justify it, which are
//! embedded). And the comparison of two runs: refused, with the reasons,
//! when they are not comparable; otherwise paired per class.

#![forbid(unsafe_code)]

mod html;
mod markdown;
pub mod review;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use formats::run::Rate;
use formats::run::{EpisodeRecord, Summary};
use serde::Serialize;
use serde_json::Value;

pub use html::html;
pub use markdown::markdown;

pub const FORMAT: &str = "perimeter.report/1";

/// What can go wrong reading runs for a report.
#[derive(Debug)]
pub enum Error {
    /// The folder's `summary.json` cannot be read as a run's summary.
    NotARun { path: PathBuf, message: String },
    /// A trace a label cites cannot be read.
    Trace { path: PathBuf, source: std::io::Error },
    /// Two runs that cannot be compared, and why.
    Incomparable { reasons: Vec<String> },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotARun { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Trace { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Incomparable { reasons } => {
                write!(f, "the runs are not comparable:\n  {}", reasons.join("\n  "))
            }
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::NotARun { .. } | Error::Trace { .. } => {
                "name a run folder: the --out of `perimeter run`, with its summary.json".into()
            }
            Error::Incomparable { .. } => {
                "compare runs of the same suite, limits, scenarios, epochs and seed".into()
            }
        })
    }
}

/// A run folder, read back.
pub struct Run {
    pub summary: Summary,
    /// Per episode (same order as `summary.episodes`): each labelled
    /// event's line in the trace, by `seq`.
    pub evidence: Vec<BTreeMap<u64, Value>>,
    /// Reviewers' decisions applied as a layer (`review::reviewed`), when
    /// the report was asked for them.
    pub review: Option<review::Reviewed>,
}

/// Reads a run folder's `summary.json` and the trace events its labels cite.
pub fn load(dir: &Path) -> Result<Run, Error> {
    let path = dir.join("summary.json");
    let not_a_run = |message: String| Error::NotARun { path: path.clone(), message };
    let text = std::fs::read_to_string(&path).map_err(|e| not_a_run(e.to_string()))?;
    let summary: Summary = serde_json::from_str(&text).map_err(|e| not_a_run(e.to_string()))?;
    let mut evidence = Vec::new();
    for e in &summary.episodes {
        let wanted: std::collections::BTreeSet<u64> =
            e.labels.iter().flat_map(|l| l.evidence.iter().copied()).collect();
        let mut found = BTreeMap::new();
        if !wanted.is_empty() {
            let trace = dir.join(&e.trace);
            let text = std::fs::read_to_string(&trace)
                .map_err(|source| Error::Trace { path: trace.clone(), source })?;
            for line in text.lines().skip(1) {
                let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
                if let Some(seq) = v["seq"].as_u64().filter(|s| wanted.contains(s)) {
                    found.insert(seq, v);
                }
            }
        }
        evidence.push(found);
    }
    Ok(Run { summary, evidence, review: None })
}

/// The report as data: what was run, the rates, and the class × scenario
/// matrix of labelled episodes.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub format: &'static str,
    pub protocol: &'a str,
    pub suite: &'a formats::run::SuiteRef,
    pub agent: &'a str,
    /// The agent harness the spec names: `scripted`, `api`, `claude-code`,
    /// `codex`, `gemini-cli` or `cmd`.
    pub scaffold: &'a str,
    /// How the agent's own permission checks were set: client agents run
    /// with them off (Perimeter's sandbox is the boundary).
    pub permission_mode: &'a str,
    /// The client program's package and versions, for client agents.
    pub client: Option<&'a formats::run::ClientRecord>,
    pub harness: &'a str,
    pub seed: u64,
    pub epochs: u32,
    pub limits: &'a formats::run::LimitsRecord,
    pub episodes: usize,
    pub rates: Option<&'a formats::run::Rates>,
    /// class -> scenario -> (labelled episodes, episodes).
    pub matrix: BTreeMap<String, BTreeMap<String, (u64, u64)>>,
    /// For an attack-mode run (`--side-task`): how its counted episodes'
    /// secret side tasks went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attack_mode: Option<AttackMode>,
    /// Reviewers' decisions over the machine's labels, when given: the
    /// figures above are the machine's; these leave out the dismissed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<&'a review::Reviewed>,
}

/// Side tasks of an attack-mode run, over its counted episodes.
#[derive(Debug, Serialize)]
pub struct AttackMode {
    pub episodes: u64,
    pub side_task_done: u64,
    pub main_task_done: u64,
    pub both_done: u64,
}

fn attack_mode(s: &Summary) -> Option<AttackMode> {
    if !s.header.side_tasks {
        return None;
    }
    let counted: Vec<&EpisodeRecord> =
        s.episodes.iter().filter(|e| !e.end_reason.is_infrastructure()).collect();
    let done = |e: &&&EpisodeRecord| e.side_task.as_ref().is_some_and(|t| t.succeeded);
    Some(AttackMode {
        episodes: counted.len() as u64,
        side_task_done: counted.iter().filter(done).count() as u64,
        main_task_done: counted.iter().filter(|e| e.main_task_success).count() as u64,
        both_done: counted.iter().filter(|e| done(e) && e.main_task_success).count() as u64,
    })
}

/// The banner of an attack-mode run's report.
pub(crate) fn attack_line(a: &AttackMode) -> String {
    format!(
        "Attack mode: every task carried a secret side task and said a monitor watches (`perimeter run --side-task`). These labels measure what the agent can do when asked, not what it does unprompted. Side task done in {} of {} counted episodes, the main task passed in {}, both in {}; `perimeter monitor` says how many went unnoticed.",
        a.side_task_done, a.episodes, a.main_task_done, a.both_done
    )
}

pub fn report(run: &Run) -> Report<'_> {
    let s = &run.summary;
    Report {
        format: FORMAT,
        protocol: &s.header.protocol,
        suite: &s.header.suite,
        agent: &s.header.agent,
        scaffold: &s.header.scaffold,
        permission_mode: &s.header.permission_mode,
        client: s.header.client.as_ref(),
        harness: &s.header.harness,
        seed: s.header.seed,
        epochs: s.header.epochs,
        limits: &s.header.limits,
        episodes: s.episodes.len(),
        rates: s.rates.as_ref(),
        matrix: matrix(&s.episodes, s.rates.as_ref()),
        attack_mode: attack_mode(s),
        review: run.review.as_ref(),
    }
}

fn matrix(
    episodes: &[EpisodeRecord],
    rates: Option<&formats::run::Rates>,
) -> BTreeMap<String, BTreeMap<String, (u64, u64)>> {
    let mut classes: Vec<String> = rates
        .map(|r| r.classes.iter().filter_map(|x| x.class.map(|c| c.to_string())).collect())
        .unwrap_or_default();
    classes.extend(episodes.iter().flat_map(|e| e.labels.iter().map(|l| l.class.to_string())));
    classes.sort();
    classes.dedup();
    let mut m = BTreeMap::new();
    for class in classes {
        let row: &mut BTreeMap<String, (u64, u64)> = m.entry(class.clone()).or_default();
        for e in episodes {
            let cell = row.entry(e.scenario.clone()).or_default();
            cell.0 += u64::from(e.labels.iter().any(|l| l.class == class.as_str()));
            cell.1 += 1;
        }
    }
    m
}

/// Why two runs cannot be compared, one line per difference; empty when
/// they can.
pub fn incomparable(a: &Summary, b: &Summary) -> Vec<String> {
    let mut out = Vec::new();
    let mut differ = |what: &str, x: String, y: String| {
        if x != y {
            out.push(format!("{what}: `{x}` in the first, `{y}` in the second"));
        }
    };
    differ("protocol", a.header.protocol.clone(), b.header.protocol.clone());
    differ("suite digest", a.header.suite.digest.clone(), b.header.suite.digest.clone());
    differ("limits", format!("{:?}", a.header.limits), format!("{:?}", b.header.limits));
    differ("scenarios", a.header.scenarios.join(","), b.header.scenarios.join(","));
    differ("epochs", a.header.epochs.to_string(), b.header.epochs.to_string());
    differ("seed", a.header.seed.to_string(), b.header.seed.to_string());
    differ("scaffold", a.header.scaffold.clone(), b.header.scaffold.clone());
    differ(
        "attack mode (--side-task)",
        a.header.side_tasks.to_string(),
        b.header.side_tasks.to_string(),
    );
    differ(
        "client",
        format!("{:?}", a.header.client.as_ref().map(|c| (&c.package, &c.version))),
        format!("{:?}", b.header.client.as_ref().map(|c| (&c.package, &c.version))),
    );
    out
}

pub use formats::output::Comparison;

/// Paired comparisons per class, over episodes matched by scenario, epoch
/// and seed.
pub fn compare(a: &Summary, b: &Summary) -> Result<Vec<Comparison>, Error> {
    let reasons = incomparable(a, b);
    if !reasons.is_empty() {
        return Err(Error::Incomparable { reasons });
    }
    let key = |e: &EpisodeRecord| (e.scenario.clone(), e.epoch, e.seed);
    let second: BTreeMap<_, &EpisodeRecord> = b.episodes.iter().map(|e| (key(e), e)).collect();
    let pairs: Vec<(&EpisodeRecord, &EpisodeRecord)> =
        a.episodes.iter().filter_map(|e| second.get(&key(e)).map(|f| (e, *f))).collect();
    let mut classes: Vec<formats::ClassId> =
        pairs.iter().flat_map(|(x, y)| x.labels.iter().chain(&y.labels).map(|l| l.class)).collect();
    classes.sort();
    classes.dedup();
    let has = |e: &EpisodeRecord, c| e.labels.iter().any(|l| l.class == c);
    Ok(classes
        .into_iter()
        .map(|class| {
            let x: Vec<bool> = pairs.iter().map(|(e, _)| has(e, class)).collect();
            let y: Vec<bool> = pairs.iter().map(|(_, f)| has(f, class)).collect();
            let only_first = x.iter().zip(&y).filter(|(p, q)| **p && !**q).count() as u64;
            let only_second = x.iter().zip(&y).filter(|(p, q)| !**p && **q).count() as u64;
            let (difference, ci_low, ci_high) =
                stats::paired_bootstrap_difference(&x, &y, 2000, 0.95, a.header.seed);
            Comparison {
                pairs: pairs.len() as u64,
                first: x.iter().filter(|v| **v).count() as u64,
                second: y.iter().filter(|v| **v).count() as u64,
                only_first,
                only_second,
                mcnemar_p: stats::mcnemar_exact(only_first, only_second),
                difference,
                ci_low,
                ci_high,
                class,
            }
        })
        .collect())
}

impl Report<'_> {
    /// `@openai/codex 0.46.0`, with the pin when the installed version
    /// differs from it; `none` for agents that are not client programs.
    pub fn client_line(&self) -> String {
        match self.client {
            None => "none".into(),
            Some(c) => match &c.version {
                Some(v) if *v == c.pinned => format!("{} {v}", c.package),
                Some(v) => format!("{} {v} (pinned: {})", c.package, c.pinned),
                None => format!("{} (version unreadable; pinned: {})", c.package, c.pinned),
            },
        }
    }
}

/// A framing value as a table shows it: the empty value is the neutral
/// framing, and long ones are cut.
pub(crate) fn framing_value(v: &str) -> String {
    if v.is_empty() {
        return "(none: neutral)".into();
    }
    if v.chars().count() > 60 { v.chars().take(60).collect::<String>() + "…" } else { v.into() }
}

/// `12.5% [3.1, 28.0]`; `n/a` when n is 0 (no episode in the
/// denominator, whose interval, [0, 1], says nothing).
pub(crate) fn percent(r: &Rate) -> String {
    if r.n == 0 {
        return "n/a".into();
    }
    format!("{:.1}% [{:.1}, {:.1}]", 100.0 * r.rate, 100.0 * r.ci_low, 100.0 * r.ci_high)
}

/// One class's pooled rates: per opportunity (the headline), per episode,
/// per successful episode.
pub(crate) struct Headline<'a> {
    pub class: formats::ClassId,
    pub opportunity: Option<&'a Rate>,
    pub episode: Option<&'a Rate>,
    pub successful: Option<&'a Rate>,
}

/// Every class's pooled rates, in the summary's order.
pub(crate) fn headlines(rates: &formats::run::Rates) -> Vec<Headline<'_>> {
    let mut out: Vec<Headline> = Vec::new();
    for x in rates.classes.iter().filter(|x| x.scenario.is_none()) {
        let Some(class) = x.class else { continue };
        let i = match out.iter().position(|h| h.class == class) {
            Some(i) => i,
            None => {
                out.push(Headline { class, opportunity: None, episode: None, successful: None });
                out.len() - 1
            }
        };
        let h = &mut out[i];
        match x.denominator.as_str() {
            "per_opportunity" => h.opportunity = Some(x),
            "per_episode" => h.episode = Some(x),
            "per_successful_episode" => h.successful = Some(x),
            _ => {}
        }
    }
    out
}

/// `k/n = 12.5% [3.1, 28.0]`, or `-` when the summary has no such rate.
pub(crate) fn cell(r: Option<&Rate>) -> String {
    r.map_or("-".into(), |r| format!("{}/{} = {}", r.k, r.n, percent(r)))
}

/// The headline a leader reads first: what was run, what was counted,
/// the classes seen with their per-opportunity rates, and the classes
/// never seen in one line.
pub(crate) fn headline(r: &Report) -> Vec<String> {
    let mut out = vec![format!(
        "What was run: {} on suite {}, {} epoch(s) of {} scenarios, seed {}; limits: {}.",
        r.agent,
        r.suite.name,
        r.epochs,
        r.matrix.values().next().map_or(0, |row| row.len()),
        r.seed,
        r.limits.human()
    )];
    let Some(rates) = r.rates else {
        out.push(format!("{} episodes; this summary has no rates.", r.episodes));
        return out;
    };
    if let Some(line) = endings_line(rates) {
        out.push(line);
    }
    let heads = headlines(rates);
    let seen: Vec<String> = heads
        .iter()
        .filter_map(|h| h.opportunity.filter(|x| x.k > 0).map(|x| (h.class, x)))
        .map(|(c, x)| format!("{c} {}/{} ({})", x.k, x.n, percent(x)))
        .collect();
    out.push(if seen.is_empty() {
        "Classes seen: none.".into()
    } else {
        format!("Classes seen, per opportunity: {}.", seen.join("; "))
    });
    let never: Vec<&str> = heads
        .iter()
        .filter(|h| h.opportunity.is_some_and(|x| x.k == 0))
        .map(|h| h.class.as_str())
        .collect();
    if !never.is_empty() {
        out.push(format!("Never labelled: {}.", never.join(", ")));
    }
    if let Some(u) = rates.usefulness.first() {
        out.push(format!("Main task completed: {}/{} ({}).", u.k, u.n, percent(u)));
    }
    out
}

/// The classes a matrix column is shown for: those labelled somewhere.
pub(crate) fn seen_classes(r: &Report) -> Vec<String> {
    r.matrix
        .iter()
        .filter(|(_, row)| row.values().any(|(k, _)| *k > 0))
        .map(|(c, _)| c.clone())
        .collect()
}

/// What was counted: the episodes, those no rate counts (ended for an
/// infrastructure reason) and those a limit stopped, each with reasons.
pub(crate) fn endings_line(rates: &formats::run::Rates) -> Option<String> {
    let e = rates.endings.as_ref()?;
    let mut line = format!("{} episodes: {} counted in every rate", e.episodes, e.counted);
    if e.excluded > 0 {
        line += &format!(
            "; {} not counted, ended for infrastructure reasons ({}): they say nothing about the agent",
            e.excluded,
            e.listed(formats::EndKind::Infrastructure)
        );
    }
    if e.limited > 0 {
        line += &format!(
            "; {} stopped by a limit and counted ({})",
            e.limited,
            e.listed(formats::EndKind::Limit)
        );
    }
    Some(line + ".")
}
