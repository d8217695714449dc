//! A bundle's signed rates against its signed episodes: a participant that
//! removed labels from a run's records and signed again would otherwise
//! sign rates its episodes do not support. Every rate is recomputed the
//! way `perimeter run` computed it (`rates::rates`) and every difference
//! is named. Monitor figures are checked the same way against their own
//! counts, and each against the evidence item that holds its results.

use std::collections::BTreeSet;

use formats::ClassId;
use formats::bundle::Bundle;
use formats::run::{Rate, Rates};

/// What the signed rates say that the signed episodes do not, and what
/// the signed monitor figures say that their counts do not.
pub fn disagreements(bundle: &Bundle) -> Vec<String> {
    let mut out = monitors(bundle);
    out.extend(incidents(bundle));
    out.extend(review(bundle));
    out.extend(run_rates(bundle));
    out
}

/// The reviewers' layer: every decision whole (its check holds) and on a
/// label of a signed episode, and its figures as the signed episodes and
/// the decisions give them.
fn review(bundle: &Bundle) -> Vec<String> {
    use formats::review::Target;
    let Some(layer) = &bundle.content.review else { return Vec::new() };
    let mut out = Vec::new();
    for d in &layer.decisions {
        if crate::sha256(&d.checked_bytes()) != d.check {
            out.push(format!("content.review.decisions (n {}): its check does not match it", d.n));
        }
        let on_episode = match &d.target {
            Target::Label { trace_head, class, .. } => {
                bundle.content.episodes.iter().any(|e| {
                    &e.trace_head == trace_head && e.labels.iter().any(|l| l.class == *class)
                })
            }
            _ => false,
        };
        if !on_episode {
            out.push(format!(
                "content.review.decisions (n {}): not about a label of a signed episode",
                d.n
            ));
        }
    }
    let declared: BTreeSet<ClassId> = bundle
        .content
        .rates
        .iter()
        .flat_map(|r| &r.classes)
        .filter_map(|r| r.class)
        .chain(bundle.content.episodes.iter().flat_map(|e| e.labels.iter().map(|l| l.class)))
        .collect();
    let episodes: Vec<(&str, rates::Outcome)> = bundle
        .content
        .episodes
        .iter()
        .map(|e| (e.trace_head.as_str(), rates::Outcome::from(e)))
        .collect();
    let again = rates::reviewed(
        &episodes,
        &rates::dismissed(&layer.decisions),
        &declared,
        bundle.manifest.seed,
    );
    if again != layer.classes {
        out.push(
            "content.review.classes: not the figures the signed episodes and decisions give".into(),
        );
    }
    out
}

/// Each incident: a grade in range, no text when withheld, evidence
/// pointers into the bundle's own traces at lines they have, ids once.
fn incidents(bundle: &Bundle) -> Vec<String> {
    use formats::bundle::Disclosure;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (n, i) in bundle.content.incidents.iter().enumerate() {
        let at = format!("content.incidents[{n}] ({})", i.id);
        if !seen.insert(i.id.as_str()) {
            out.push(format!("{at}: the id appears twice"));
        }
        for (name, a) in [("overreach", &i.grade.overreach), ("deception", &i.grade.deception)] {
            if a.level > 3
                || !(0.0..=1.0).contains(&a.severity)
                || (a.level == 0 && a.severity != 0.0)
            {
                out.push(format!(
                    "{at}: grade.{name} is level {} severity {}: levels are 0–3, severities 0–1 and 0 at level 0",
                    a.level, a.severity
                ));
            }
        }
        if i.text.is_some() && (i.disclosure == Disclosure::Withheld || i.flags.privileged) {
            out.push(format!("{at}: withheld or privileged, yet its text is in the bundle"));
        }
        for p in &i.evidence {
            match bundle.evidence.items.iter().find(|it| it.id == p.item) {
                Some(item) if item.lines.is_some_and(|l| p.line < l) => {}
                Some(item) => out.push(format!(
                    "{at}: points at line {} of `{}`, which has {} lines",
                    p.line,
                    p.item,
                    item.lines.map_or("no".to_owned(), |l| l.to_string())
                )),
                None => out.push(format!("{at}: points into `{}`, no evidence item", p.item)),
            }
        }
    }
    if !bundle.content.incidents.is_empty()
        && !bundle.evidence.items.iter().any(|i| i.id.starts_with("incidents:"))
    {
        out.push("content.incidents: the catalogue they come from is no evidence item".into());
    }
    out
}

/// Each monitor figure against its counts, and its results file against
/// the evidence; each questionnaire citation against the evidence.
fn monitors(bundle: &Bundle) -> Vec<String> {
    let mut out = Vec::new();
    let items = &bundle.evidence.items;
    let hashed = |at: &str, item: &str, sha: &str, out: &mut Vec<String>| match items
        .iter()
        .find(|i| i.id == item)
    {
        None => out.push(format!("{at}: its results `{item}` are no evidence item")),
        Some(i) if i.sha256 != sha => {
            out.push(format!("{at}: results_sha256 {sha} is not the evidence item's {}", i.sha256))
        }
        Some(_) => {}
    };
    for (m, s) in bundle.content.monitors.iter().enumerate() {
        let at = format!("content.monitors[{m}] ({})", s.monitor.spec);
        hashed(&at, &s.item, &s.results_sha256, &mut out);
        for p in &s.operating_points {
            let at = format!("{at} at {}", p.target_fpr);
            if p.caught > p.attacks || p.benign_flagged > p.benign {
                out.push(format!(
                    "{at}: caught {} of {} attacks, flagged {} of {} benign",
                    p.caught, p.attacks, p.benign_flagged, p.benign
                ));
                continue;
            }
            if p.threshold.is_none() != (p.status != "calibrated") {
                out.push(format!("{at}: status `{}` with threshold {:?}", p.status, p.threshold));
            }
            if let (Some(rate), Some(low), Some(high)) = (p.catch_rate, p.ci_low, p.ci_high) {
                let again = stats::wilson(p.caught, p.attacks, s.level);
                if (again.rate - rate).abs() > 1e-12
                    || (again.low - low).abs() > 1e-9
                    || (again.high - high).abs() > 1e-9
                {
                    out.push(format!(
                        "{at}: signed catch rate {rate} [{low}, {high}], its counts {} of {} give {} [{}, {}]",
                        p.caught, p.attacks, again.rate, again.low, again.high
                    ));
                }
            }
            if let Some(c) =
                p.by_class.iter().find(|c| c.caught > c.attacks || c.attacks > p.attacks)
            {
                out.push(format!("{at}: {} caught {} of {}", c.class, c.caught, c.attacks));
            }
        }
    }
    for (n, r) in bundle.content.routing.iter().enumerate() {
        let at = format!("content.routing[{n}]");
        hashed(&at, &r.item, &r.results_sha256, &mut out);
        if r.monitored + r.bypasses.len() as u64 != r.answered {
            out.push(format!(
                "{at}: {} monitored and {} bypasses, but {} answered",
                r.monitored,
                r.bypasses.len(),
                r.answered
            ));
        }
        if let Some(d) = r.discrepancies.iter().find(|d| !r.bypasses.contains(d)) {
            out.push(format!("{at}: discrepancy {d} is no bypass"));
        }
        let reach = r
            .profile
            .as_ref()
            .filter(|_| r.answered > 0)
            .map(|p| p.sampling * r.monitored as f64 / r.answered as f64);
        if reach.zip(r.reach).is_some_and(|(a, b)| (a - b).abs() > 1e-12)
            || reach.is_some() != r.reach.is_some()
        {
            out.push(format!("{at}: reach {:?}, its counts and sampling give {reach:?}", r.reach));
        }
    }
    for (n, v) in bundle.content.viewers.iter().enumerate() {
        let at = format!("content.viewers[{n}]");
        hashed(&at, &v.item, &v.results_sha256, &mut out);
        let count = |verdict: &str| v.cases.iter().filter(|c| c.verdict == verdict).count() as u64;
        if (count("unsafe"), count("failed")) != (v.unsafe_cases, v.failed) {
            out.push(format!(
                "{at}: {} unsafe and {} failed, but its cases say {} and {}",
                v.unsafe_cases,
                v.failed,
                count("unsafe"),
                count("failed")
            ));
        }
    }
    for a in bundle.content.questionnaire.iter().flatten() {
        for c in a.cites.iter().filter(|c| !items.iter().any(|i| &i.id == *c)) {
            out.push(format!("{} cites `{c}`, which is no evidence item", a.id));
        }
    }
    out
}

fn run_rates(bundle: &Bundle) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(signed) = &bundle.content.rates {
        out.extend(rates_of(&bundle.content.episodes, signed, bundle.manifest.seed));
    }
    for x in &bundle.content.extensions {
        let again = rates_of(&x.episodes, &x.rates, bundle.manifest.seed);
        out.extend(again.into_iter().map(|d| format!("extension suite `{}`: {d}", x.name)));
    }
    out
}

/// Signed rates against the episodes they are over.
fn rates_of(episodes: &[formats::bundle::Episode], signed: &Rates, seed: u64) -> Vec<String> {
    let outcomes: Vec<rates::Outcome> = episodes.iter().map(rates::Outcome::from).collect();
    // The classes and framings to report are the run's declarations, which
    // the signed rates list (a class labelled but not listed is a
    // disagreement found below).
    let declared: BTreeSet<ClassId> = signed.classes.iter().filter_map(|r| r.class).collect();
    let framings = framings(signed);
    let again = rates::rates(&outcomes, &declared, &framings, seed);
    let mut out = Vec::new();
    compare("rates.classes", &signed.classes, &again.classes, &mut out);
    compare("rates.usefulness", &signed.usefulness, &again.usefulness, &mut out);
    compare("rates.eval_aware.aware", &signed.eval_aware.aware, &again.eval_aware.aware, &mut out);
    compare(
        "rates.eval_aware.unaware",
        &signed.eval_aware.unaware,
        &again.eval_aware.unaware,
        &mut out,
    );
    let flat =
        |r: &Rates| -> Vec<Rate> { r.framings.iter().flat_map(|f| f.rates.clone()).collect() };
    compare("rates.framings", &flat(signed), &flat(&again), &mut out);
    if signed.endings != again.endings {
        out.push(format!(
            "rates.endings: signed {:?}, the signed episodes give {:?}",
            signed.endings, again.endings
        ));
    }
    out
}

/// The framings the signed rates were split by, each value in the order
/// it appears.
fn framings(signed: &Rates) -> Vec<rates::Framing> {
    let mut out: Vec<rates::Framing> = Vec::new();
    for f in &signed.framings {
        let classes: Vec<ClassId> = f.rates.iter().filter_map(|r| r.class).collect();
        match out.iter_mut().find(|x| x.scenario == f.scenario && x.param == f.param) {
            Some(x) => x.choices.push(f.value.clone()),
            None => out.push(rates::Framing {
                scenario: f.scenario.clone(),
                param: f.param.clone(),
                choices: vec![f.value.clone()],
                classes,
            }),
        }
    }
    out
}

fn name(r: &Rate) -> String {
    format!(
        "{} {} ({})",
        r.class.map_or("usefulness", ClassId::as_str),
        r.denominator,
        r.scenario.as_deref().unwrap_or("pooled")
    )
}

fn compare(what: &str, signed: &[Rate], again: &[Rate], out: &mut Vec<String>) {
    let key = |r: &Rate| (r.class, r.scenario.clone(), r.denominator.clone());
    for s in signed {
        match again.iter().find(|a| key(a) == key(s)) {
            None => out.push(format!("{what}: {} is signed, but no episode gives it", name(s))),
            Some(a) if (a.k, a.n) != (s.k, s.n) => out.push(format!(
                "{what}: {}: signed {} of {}, the signed episodes give {} of {}",
                name(s),
                s.k,
                s.n,
                a.k,
                a.n
            )),
            Some(a)
                if (a.ci_low - s.ci_low).abs() > 1e-9 || (a.ci_high - s.ci_high).abs() > 1e-9 =>
            {
                out.push(format!(
                    "{what}: {}: signed interval [{}, {}], recomputed [{}, {}]",
                    name(s),
                    s.ci_low,
                    s.ci_high,
                    a.ci_low,
                    a.ci_high
                ))
            }
            Some(_) => {}
        }
    }
    for a in again.iter().filter(|a| !signed.iter().any(|s| key(s) == key(a))) {
        out.push(format!(
            "{what}: {} is missing: the signed episodes give {} of {}",
            name(a),
            a.k,
            a.n
        ));
    }
}
