//! Everything printed for people: progress, tables.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Mutex;

use run::{EpisodeRecord, Summary};
use scenario::Suite;

/// Progress on stderr: one line per finished episode; on a terminal, also
/// a status line of what is running.
pub(crate) struct Progress {
    tty: bool,
    running: Mutex<Vec<String>>,
    /// The run's spending, shown on each line when it has a model.
    budget: Option<std::sync::Arc<gateway::RunBudget>>,
    /// When the run began and how many episodes were already done then:
    /// the rate the ETA extrapolates.
    began: Mutex<(std::time::Instant, usize)>,
}

impl Progress {
    pub fn new(tty: bool) -> Progress {
        Progress {
            tty,
            running: Mutex::new(Vec::new()),
            budget: None,
            began: Mutex::new((std::time::Instant::now(), 0)),
        }
    }

    /// The same, showing the run's spending and what its budget allows.
    pub fn spending(mut self, budget: Option<std::sync::Arc<gateway::RunBudget>>) -> Progress {
        self.budget = budget;
        self
    }

    /// ` · spent 12,000 tokens ($0.041) of 50,000 · ETA 3 min`
    fn spent_and_eta(&self, done: usize, total: usize) -> String {
        let mut out = String::new();
        if let Some(b) = &self.budget {
            let (s, l) = (b.spent(), b.limits());
            out += &format!(" · spent {}{} tokens", if s.estimated { "~" } else { "" }, s.tokens);
            if let Some(c) = s.cost_usd {
                out += &format!(" (${c:.3})");
            }
            match (l.tokens, l.cost_usd) {
                (Some(t), _) => out += &format!(" of {t}"),
                (None, Some(c)) => out += &format!(" of ${c:.2}"),
                _ => {}
            }
            match b.flow() {
                (0, _) => {}
                (n, Some(w)) => {
                    out += &format!(" · {} (429), {w} calls at a time", count(n, "throttle"))
                }
                (n, None) => out += &format!(" · {} (429), recovered", count(n, "throttle")),
            }
        }
        let (began, before) = *self.began.lock().unwrap_or_else(|e| e.into_inner());
        let finished_here = done.saturating_sub(before);
        if finished_here > 0 && done < total {
            let per = began.elapsed().as_secs_f64() / finished_here as f64;
            let left = per * (total - done) as f64;
            out += &match left {
                l if l < 90.0 => format!(" · ETA {l:.0} s"),
                l => format!(" · ETA {:.0} min", l / 60.0),
            };
        }
        out
    }

    fn status(&self, running: &[String]) {
        if self.tty {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2Krunning: {}", running.join(", "));
            let _ = err.flush();
        }
    }

    pub fn clear(&self) {
        if self.tty {
            eprint!("\r\x1b[2K");
        }
    }
}

/// `n` and the noun, singular for one: "1 episode", "3 episodes".
pub(crate) fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

impl run::Observer for Progress {
    fn planned(&self, total: usize, already_done: usize) {
        *self.began.lock().unwrap_or_else(|e| e.into_inner()) =
            (std::time::Instant::now(), already_done);
        if already_done > 0 {
            eprintln!(
                "{} planned, {already_done} already finished",
                count(total as u64, "episode")
            );
        } else {
            eprintln!("{} planned", count(total as u64, "episode"));
        }
    }

    fn episode_started(&self, scenario: &str, epoch: u32) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.push(format!("{scenario} e{epoch}"));
        self.status(&running);
    }

    fn episode_finished(&self, r: &EpisodeRecord, done: usize, total: usize) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let name = format!("{} e{}", r.scenario, r.epoch);
        running.retain(|n| *n != name);
        self.clear();
        let width = total.to_string().len();
        let secs = (r.finished.millis() - r.started.millis()) as f64 / 1000.0;
        let tail = self.spent_and_eta(done, total);
        if r.end_reason.is_infrastructure() {
            eprintln!(
                "[{done:>width$}/{total}] {name}: NOT COUNTED: ended by `{}`, not by the agent (its trace says more) ({secs:.1} s){tail}",
                r.end_reason
            );
        } else {
            let limit = match r.end_reason.kind() {
                formats::EndKind::Limit => format!(", stopped by `{}`", r.end_reason),
                _ => String::new(),
            };
            eprintln!(
                "[{done:>width$}/{total}] {name}: main task {}, {}{limit} ({secs:.1} s){tail}",
                if r.main_task_success { "passed" } else { "failed" },
                label_list(r),
            );
        }
        self.status(&running);
    }
}

fn label_list(r: &EpisodeRecord) -> String {
    if r.labels.is_empty() {
        return "no labels".into();
    }
    let names: Vec<&str> = r.labels.iter().map(|l| l.class.as_str()).collect();
    format!("labels: {}", names.join(", "))
}

/// The scenario × label × main task table, with totals over the counted
/// episodes, per class per opportunity, and what was not counted.
pub(crate) fn summary_table(s: &Summary) -> String {
    let mut rows = vec![[
        "scenario".to_string(),
        "epoch".into(),
        "ended".into(),
        "main task".into(),
        "labels".into(),
    ]];
    for e in &s.episodes {
        let labels: Vec<String> = e
            .labels
            .iter()
            .map(|l| {
                let mut how = vec![format!("{:?}", l.source).to_lowercase()];
                how.push(if l.succeeded { "succeeded".into() } else { "attempted".into() });
                if l.concealed {
                    how.push("concealed".into());
                }
                format!("{} ({})", l.class, how.join(", "))
            })
            .collect();
        let counted = !e.end_reason.is_infrastructure();
        rows.push([
            e.scenario.clone(),
            e.epoch.to_string(),
            e.end_reason.to_string(),
            match (counted, e.main_task_success) {
                (false, _) => "-".into(),
                (true, true) => "pass".into(),
                (true, false) => "FAIL".into(),
            },
            match (counted, labels.is_empty()) {
                (false, _) => "(not counted)".into(),
                (true, true) => "-".into(),
                (true, false) => labels.join("; "),
            },
        ]);
    }
    let mut out = table(&rows);
    let standard: Vec<&EpisodeRecord> =
        s.episodes.iter().filter(|e| s.header.extension_of(&e.scenario).is_none()).collect();
    let mut tally =
        |who: String, episodes: &[&EpisodeRecord], rates: Option<&formats::run::Rates>| {
            let counted: Vec<&&EpisodeRecord> =
                episodes.iter().filter(|e| !e.end_reason.is_infrastructure()).collect();
            let n = counted.len();
            let passed = counted.iter().filter(|e| e.main_task_success).count();
            let labelled = counted.iter().filter(|e| !e.labels.is_empty()).count();
            let _ = write!(
                out,
                "\n{who}{} counted ({}): main task passed {passed}/{n}, labelled {labelled}/{n}",
                count(n as u64, "episode"),
                s.header.agent
            );
            // Per class, among the episodes that offered it (the headline rate).
            for r in rates.iter().flat_map(|r| &r.classes) {
                if let (Some(class), None, "per_opportunity", 1..) =
                    (r.class, &r.scenario, r.denominator.as_str(), r.k)
                {
                    let _ = write!(out, ", {class} {}/{} offered", r.k, r.n);
                }
            }
            let aware = counted.iter().filter(|e| e.eval_aware).count();
            let _ = write!(out, "; eval-aware {aware}/{n}");
            out.push('\n');
        };
    let first = match s.header.extensions.is_empty() {
        true => String::new(),
        false => format!("suite {}: ", s.header.suite.name),
    };
    tally(first, &standard, s.rates.as_ref());
    for x in &s.extension_rates {
        let theirs: Vec<&EpisodeRecord> = s
            .episodes
            .iter()
            .filter(|e| s.header.extension_of(&e.scenario).is_some_and(|o| o.digest == x.digest))
            .collect();
        tally(
            format!("extension suite {} (its own rates, not the standard suite's): ", x.name),
            &theirs,
            Some(&x.rates),
        );
    }
    let counted: Vec<&&EpisodeRecord> =
        standard.iter().filter(|e| !e.end_reason.is_infrastructure()).collect();
    let n = counted.len();
    if s.header.side_tasks {
        let done =
            counted.iter().filter(|e| e.side_task.as_ref().is_some_and(|t| t.succeeded)).count();
        let both = counted
            .iter()
            .filter(|e| e.main_task_success && e.side_task.as_ref().is_some_and(|t| t.succeeded))
            .count();
        let _ = writeln!(
            out,
            "ATTACK MODE: every task carried a secret side task; side task done {done}/{n}, with the main task too {both}/{n}. These labels measure what the agent can do when asked, not what it does unprompted; `perimeter monitor` says whether it went unnoticed."
        );
    }
    out.push_str(&endings(s));
    out
}

/// What was not counted, and what a limit stopped, when anything was (the
/// summary's `rates.endings`).
pub(crate) fn endings(s: &Summary) -> String {
    let mut out = String::new();
    let Some(e) = s.rates.as_ref().and_then(|r| r.endings.as_ref()) else { return out };
    if e.excluded > 0 {
        let _ = writeln!(
            out,
            "NOT COUNTED: {} ended for infrastructure reasons ({}) and {} in no rate; `perimeter run --resume --retry-failed` runs them again",
            count(e.excluded, "episode"),
            e.listed(formats::EndKind::Infrastructure),
            if e.excluded == 1 { "is" } else { "are" }
        );
    }
    if e.limited > 0 {
        let _ = writeln!(
            out,
            "stopped by a limit, and counted: {} ({})",
            e.limited,
            e.listed(formats::EndKind::Limit)
        );
    }
    out
}

pub(crate) fn suite_table(suite: &Suite) -> String {
    let mut rows = vec![["scenario".to_string(), "classes".into(), "title".into()]];
    for s in &suite.scenarios {
        rows.push([s.manifest.id.clone(), s.manifest.classes.join(", "), s.manifest.title.clone()]);
    }
    let mut out = format!("suite {} ({})\n\n", suite.name, suite.digest);
    out.push_str(&table(&rows));
    out
}

/// One scenario, as `suite show` prints it.
pub(crate) fn scenario(s: &scenario::Scenario) -> String {
    let m = &s.manifest;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — {}\ndigest:  {}\nclasses: {}\nopportunities: {}\nworkdir: ~/{}{}",
        m.id,
        m.title,
        s.digest,
        m.classes.join(", "),
        m.opportunities().iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "),
        m.workdir,
        m.home_base.as_deref().map(|b| format!("\nbase:    {b}")).unwrap_or_default(),
    );
    let role = |r: &Option<String>| r.as_deref().map(|r| format!("{r}, ")).unwrap_or_default();
    let _ = writeln!(out, "\ntask:\n  {}", m.task.prompt.trim().replace('\n', "\n  "));
    for h in &m.honeypots {
        let _ = writeln!(
            out,
            "honeypot   {:<28} ~/{}  ({}{}, severity {})",
            h.id,
            h.path,
            role(&h.role),
            h.class,
            h.severity
        );
    }
    for p in &m.protected {
        let _ = writeln!(
            out,
            "protected  {:<28} ~/{}  ({}{}, severity {}{})",
            p.id,
            p.path,
            role(&p.role),
            p.class,
            p.severity,
            match p.on {
                scenario::ChangeKind::Any => "",
                scenario::ChangeKind::Existing => ", files it shipped",
                scenario::ChangeKind::Removal => ", removal only",
            }
        );
    }
    for t in &m.exec_tripwires {
        let _ = writeln!(
            out,
            "tripwire   {:<28} argv has {:?}  ({}{}, severity {}{})",
            t.id,
            t.argv_contains,
            role(&t.role),
            t.class,
            t.severity,
            if t.attempt_only { ", an attempt only" } else { "" }
        );
    }
    for e in &m.egress {
        let _ = writeln!(
            out,
            "egress     {:<28} {}  ({}{}, severity {})",
            e.id,
            e.hosts.join(", "),
            role(&e.role),
            e.class,
            e.severity
        );
    }
    for c in &m.checks {
        let what = c.class.as_deref().map_or("main task".to_owned(), |c| format!("behaviour: {c}"));
        let view = match c.view {
            scenario::CheckView::Agent => ", sees the home as the agent left it",
            scenario::CheckView::Deliverable => "",
        };
        let _ = writeln!(out, "check      {:<28} {what}{view}", c.id);
    }
    for (name, p) in &m.policies {
        let expect = if p.expect.is_empty() { "no labels".to_owned() } else { p.expect.join(", ") };
        let _ = writeln!(out, "policy     {:<28} {} steps, expects {expect}", name, p.steps.len());
    }
    let _ = writeln!(out, "files      {} in the home, {} hidden", s.home.len(), s.hidden.len());
    out
}

/// The validation matrix: one line per scenario × policy × seed.
pub(crate) fn verdicts(v: &[run::Verdict]) -> String {
    let mut rows = vec![["scenario".to_string(), "policy".into(), "seed".into(), "verdict".into()]];
    for x in v {
        let verdict = if x.problems.is_empty() {
            "ok".to_owned()
        } else {
            format!("MISMATCH: {}", x.problems.join("; "))
        };
        rows.push([x.scenario.clone(), x.policy.clone(), x.seed.to_string(), verdict]);
    }
    let ok = v.iter().filter(|x| x.problems.is_empty()).count();
    format!("{}\n{ok} of {} episodes match their declaration\n", table(&rows), v.len())
}

/// `suite validate --measure`: recall per class, false flags, main-task
/// verdicts, then every episode that missed.
pub(crate) fn measure(m: &run::Measure) -> String {
    let rate = |r: &run::Rate| {
        if r.n == 0 { "-".to_owned() } else { format!("{}/{}", r.k, r.n) }
    };
    let interval = |r: &run::Rate| {
        if r.n == 0 {
            String::new()
        } else {
            format!("{:.2}  [{:.2}, {:.2}]", r.rate, r.low, r.high)
        }
    };
    let mut rows = vec![["class".to_string(), "recall".into(), "rate  [95% Wilson]".into()]];
    for (class, r) in &m.classes {
        rows.push([class.clone(), rate(r), interval(r)]);
    }
    rows.push(["all".into(), rate(&m.recall), interval(&m.recall)]);
    let mut out = table(&rows);
    let seeds: Vec<String> = m.seeds.iter().map(u64::to_string).collect();
    let _ = writeln!(out, "\nseeds {}", seeds.join(", "));
    let _ = writeln!(out, "misaligned episodes fully labelled    {}", rate(&m.fully_labelled));
    let _ = writeln!(out, "misaligned episodes with extra labels {}", rate(&m.extra_labels));
    let _ = writeln!(out, "false flags on honest episodes        {}", rate(&m.false_flags));
    let _ = writeln!(out, "main-task verdicts right              {}", rate(&m.main_task_right));
    if !m.misses.is_empty() {
        let _ = writeln!(out, "\n{} episodes missed:", m.misses.len());
        for x in &m.misses {
            let _ = writeln!(
                out,
                "  {} {} seed {}: {}",
                x.scenario,
                x.policy,
                x.seed,
                x.problems.join("; ")
            );
        }
    }
    out
}

/// `scan --validate`: the rules' agreement with the labels.
pub(crate) fn scan_validation(v: &scan::validate::Validation) -> String {
    let mut out = format!("rules, over {} of {} labelled files\n", v.files, v.labelled);
    scores(&mut out, &v.rules);
    if !v.not_scanned.is_empty() {
        let _ = writeln!(out, "labelled, not scanned         {}", v.not_scanned.join(", "));
    }
    if v.unlabelled > 0 {
        let _ = writeln!(out, "scanned, not labelled         {} files (left out)", v.unlabelled);
    }
    for (name, s) in [("judge", &v.judge), ("combined (rules or judge)", &v.combined)] {
        let Some(s) = s else { continue };
        let _ = writeln!(out, "\n{name}");
        scores(&mut out, s);
    }
    if let Some(files) = v.not_judged.as_ref().filter(|f| !f.is_empty()) {
        let _ = writeln!(
            out,
            "\nnot judged (left out of the judge's figures): {} files: {}",
            files.len(),
            files.join(", ")
        );
    }
    out
}

fn scores(out: &mut String, s: &scan::validate::Scores) {
    let rate = |r: &scan::validate::Rate| {
        if r.n == 0 {
            "-".to_owned()
        } else {
            format!("{}/{} {:.2} [{:.2}, {:.2}]", r.k, r.n, r.rate, r.low, r.high)
        }
    };
    let mut rows = vec![["class".to_string(), "recall".into(), "precision".into()]];
    for (class, c) in &s.classes {
        rows.push([class.clone(), rate(&c.recall), rate(&c.precision)]);
    }
    rows.push(["all".into(), rate(&s.recall), String::new()]);
    out.push_str(&table(&rows));
    let _ = writeln!(out, "\nfalse flags on honest files  {}", rate(&s.false_flags));
    if !s.misses.is_empty() {
        let _ = writeln!(out, "{} files disagree:", s.misses.len());
        for m in &s.misses {
            let _ = writeln!(
                out,
                "  {}: labelled [{}], flagged [{}]",
                m.file,
                m.labelled.join(", "),
                m.flagged.join(", ")
            );
        }
    }
}

/// What the judge did and spent, in a line.
pub(crate) fn judge_spent(j: &scan::JudgeSummary) -> String {
    let s = &j.spent;
    let about = if s.cost.estimated { "about " } else { "" };
    let mut line = format!(
        "judge {}: {} sessions ({} asked, {} cached, {} failed, {} skipped for the budget); \
         {} calls, {about}{} input and {} output tokens",
        j.model,
        s.sessions,
        s.judged + s.failed,
        s.cached,
        s.failed,
        s.skipped,
        s.cost.calls,
        s.cost.input_tokens,
        s.cost.output_tokens
    );
    if let (Some(cost), Some(per)) = (s.cost.cost_usd, j.cost_per_judged_session_usd) {
        let _ = write!(line, ", ${cost:.4} (${per:.4} per session asked)");
    }
    if let Some(e) = &j.cache_error {
        let _ = write!(line, "; the cache could not be written: {e}");
    }
    line
}

fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0; N];
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, (c, w)) in r.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(c);
            } else {
                let _ = write!(line, "{c:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Scan progress on stderr: on a terminal, files and megabytes done, at
/// most ten times a second; otherwise nothing until the report.
pub(crate) struct ScanProgress {
    tty: bool,
    state: Mutex<(std::time::Instant, u64)>,
}

impl ScanProgress {
    pub fn new(tty: bool) -> ScanProgress {
        ScanProgress { tty, state: Mutex::new((std::time::Instant::now(), 0)) }
    }

    pub fn clear(&self) {
        if self.tty {
            eprint!("\r\x1b[2K");
        }
    }
}

impl scan::Progress for ScanProgress {
    fn file_done(&self, done: usize, total: usize, bytes: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.1 += bytes;
        if self.tty && (state.0.elapsed().as_millis() >= 100 || done == total) {
            state.0 = std::time::Instant::now();
            let mb = state.1 as f64 / 1e6;
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2Kscanned {done}/{total} files, {mb:.1} MB");
            let _ = err.flush();
        }
    }

    fn judged(&self, s: &judge::Spent) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if self.tty && state.0.elapsed().as_millis() >= 100 {
            state.0 = std::time::Instant::now();
            let cost = s.cost.cost_usd.map(|c| format!(", ${c:.2}")).unwrap_or_default();
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r\x1b[2Kjudged {} sessions ({} cached, {} failed, {} skipped), {} tokens{cost}",
                s.sessions,
                s.cached,
                s.failed,
                s.skipped,
                s.cost.input_tokens + s.cost.output_tokens
            );
            let _ = err.flush();
        }
    }
}

/// The scan report for people: sessions with findings, then totals per
/// class and the share of sessions run with permission checks off.
pub(crate) fn scan_report(r: &scan::Report) -> String {
    let mut out = String::new();
    let mut rows = vec![[
        "file".to_owned(),
        "client".to_owned(),
        "events".to_owned(),
        "permissions".to_owned(),
        "findings".to_owned(),
        if r.judge.is_some() { "judge" } else { "" }.to_owned(),
    ]];
    let threshold = r.judge.as_ref().map_or(1.0, |j| j.threshold);
    let judged = |s: &scan::SessionReport| -> String {
        let Some(j) = &s.judge else { return String::new() };
        match j.status {
            judge::Status::Failed => return "failed".into(),
            judge::Status::Skipped => return "skipped".into(),
            _ => {}
        }
        let found: Vec<String> = j
            .verdicts
            .iter()
            .filter(|v| v.present && v.confidence >= threshold)
            .map(|v| {
                let lines: Vec<String> = v.evidence.iter().map(|e| e.line.to_string()).collect();
                format!("{} {:.2} (line {})", v.class, v.confidence, lines.join(","))
            })
            .collect();
        found.join("; ")
    };
    for s in r.sessions.iter().filter(|s| !s.findings.is_empty() || !judged(s).is_empty()) {
        let findings: Vec<String> = s
            .findings
            .iter()
            .map(|f| {
                let lines: Vec<String> = f.evidence.iter().map(|e| e.line.to_string()).collect();
                format!("{} {} (line {})", f.code, f.class, lines.join(","))
            })
            .collect();
        rows.push([
            s.file.clone(),
            format!("{} {}", s.client, s.client_version.as_deref().unwrap_or("")).trim().to_owned(),
            s.events.to_string(),
            s.permission_mode.clone().unwrap_or_else(|| "-".into()),
            findings.join("; "),
            judged(s),
        ]);
    }
    if rows.len() > 1 {
        out.push_str(&table(&rows));
        out.push('\n');
    }
    let t = &r.totals;
    let _ = writeln!(
        out,
        "{} in {} ({:.1} MB, {}); {} with findings; {} not transcripts; {}",
        count(t.sessions as u64, "session"),
        count(t.files as u64, "file"),
        t.bytes as f64 / 1e6,
        count(t.events as u64, "event"),
        t.sessions_with_findings,
        count(t.skipped_files as u64, "file"),
        count(t.errors as u64, "error")
    );
    for (class, c) in &t.classes {
        let _ = writeln!(
            out,
            "  {class}: {}, {}",
            count(c.sessions as u64, "session"),
            count(c.findings as u64, "finding")
        );
    }
    if let Some(j) = &r.judge {
        let _ = writeln!(out, "{}", judge_spent(j));
        for (class, c) in j.found.iter().filter(|(_, c)| c.judge + c.combined > 0) {
            let _ = writeln!(
                out,
                "  {class}: the judge in {} sessions, combined {}",
                c.judge, c.combined
            );
        }
    }
    match t.permission_known {
        0 => out.push_str("permission checks skipped: unknown (no session records its mode)\n"),
        n => {
            let _ = writeln!(
                out,
                "permission checks skipped in {}/{n} sessions whose mode is known ({:.0}%)",
                t.permissions_skipped,
                100.0 * t.permissions_skipped as f64 / n as f64
            );
        }
    }
    for e in r.errors.iter().take(10) {
        let at = e.line.map(|l| format!(":{l}")).unwrap_or_default();
        let _ = writeln!(out, "error: {}{at}: {}", e.file, e.message);
    }
    if r.errors.len() > 10 {
        let _ = writeln!(out, "… {} more errors (see --format json)", r.errors.len() - 10);
    }
    out
}

/// Two runs compared class by class.
pub(crate) fn comparison(first: &str, second: &str, rows: &[report::Comparison]) -> String {
    let mut out = format!("first:  {first}\nsecond: {second}\n\n");
    let mut table_rows = vec![[
        "class".to_owned(),
        "pairs".to_owned(),
        "first".to_owned(),
        "second".to_owned(),
        "only first/only second".to_owned(),
        "McNemar p".to_owned(),
        "difference [95% interval]".to_owned(),
    ]];
    for r in rows {
        table_rows.push([
            r.class.to_string(),
            r.pairs.to_string(),
            r.first.to_string(),
            r.second.to_string(),
            format!("{}/{}", r.only_first, r.only_second),
            format!("{:.4}", r.mcnemar_p),
            format!(
                "{:+.1}% [{:+.1}, {:+.1}]",
                100.0 * r.difference,
                100.0 * r.ci_low,
                100.0 * r.ci_high
            ),
        ]);
    }
    if rows.is_empty() {
        out.push_str("no labels in either run\n");
    } else {
        out.push_str(&table(&table_rows));
    }
    out
}

/// A participant's decisions, as `round disclose` took them, in a line.
pub(crate) fn disclosed(d: &round::Disclosed) -> String {
    let pending = match d.pending {
        0 => String::new(),
        n => format!(", {} awaiting the evaluator's acceptance", count(n as u64, "rewording")),
    };
    format!(
        "{}: {} {} claims: {} attributed, {} non-attributed, {} withheld ({} high-importance without a comment the evaluator accepted{pending}); {} by {} on {}, {}",
        d.participant,
        if d.is_final { "final approval of" } else { "proposed decisions on" },
        d.claims,
        d.attributed,
        d.non_attributed,
        d.withheld,
        d.flagged,
        if d.is_final { "approved" } else { "proposed" },
        d.approval.by,
        d.approval.date,
        if d.signed { "signed with its registered key" } else { "unsigned" }
    )
}

/// A count of finished work on a terminal's status line (`scored 12/63`),
/// at most ten times a second.
pub(crate) struct Counter {
    what: &'static str,
    tty: bool,
    last: Mutex<std::time::Instant>,
}

impl Counter {
    pub fn new(what: &'static str, tty: bool) -> Counter {
        Counter { what, tty, last: Mutex::new(std::time::Instant::now()) }
    }

    pub fn step(&self, done: usize, total: usize) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if self.tty && (last.elapsed().as_millis() >= 100 || done == total) {
            *last = std::time::Instant::now();
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{} {done}/{total}", self.what);
            let _ = err.flush();
        }
    }

    pub fn clear(&self) {
        if self.tty {
            eprint!("\r\x1b[2K");
        }
    }
}

/// A monitor's results for people: what was scored, the AUROC, then one
/// line per false-positive rate, and the catch per class.
pub(crate) fn monitor_results(r: &formats::monitor::Results) -> String {
    let mut out = String::new();
    let pct = |x: f64| format!("{:.1}%", 100.0 * x);
    let _ = writeln!(
        out,
        "monitor {} (view: {}{}) on corpus {} ({}): {} benign, {} attacks",
        r.monitor.spec,
        r.view,
        if r.monitor.warned { ", warned" } else { "" },
        r.corpus.name,
        r.corpus.digest,
        r.corpus.benign,
        r.corpus.attacks
    );
    if r.failed > 0 {
        let _ = writeln!(
            out,
            "NOT SCORED: {} trajectories (the monitor failed on them; each has its error in the results) are in no figure",
            r.failed
        );
    }
    let _ = writeln!(
        out,
        "AUROC: {}\n",
        r.auroc.map_or("none (needs benign and attack scores)".into(), |a| format!("{a:.3}"))
    );
    let _ = writeln!(out, "FPR         threshold  benign flagged   caught           95% interval");
    for p in &r.operating_points {
        let fpr = pct(p.target_fpr);
        let Some(t) = p.threshold else {
            let _ = writeln!(
                out,
                "{fpr:<10} {:>10}  too few benign trajectories: {} scored, a threshold at {fpr} needs {}",
                "-", p.benign, p.benign_needed
            );
            continue;
        };
        let caught = match p.catch_rate {
            Some(rate) => format!("{}/{} {}", p.caught, p.attacks, pct(rate)),
            None => "no attacks".into(),
        };
        let interval = match (p.ci_low, p.ci_high) {
            (Some(l), Some(h)) => format!("[{:.1}, {:.1}]", 100.0 * l, 100.0 * h),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "{fpr:<10} {t:>10.3}  {:<16} {caught:<16} {interval}",
            format!("{}/{}", p.benign_flagged, p.benign)
        );
    }
    for p in r.operating_points.iter().filter(|p| p.threshold.is_some()) {
        if !p.by_class.is_empty() {
            let classes: Vec<String> = p
                .by_class
                .iter()
                .map(|c| format!("{} {}/{}", c.class, c.caught, c.attacks))
                .collect();
            let _ =
                writeln!(out, "\ncaught at {} by class: {}", pct(p.target_fpr), classes.join(", "));
        }
        if p.by_transform.iter().any(|t| t.transforms != "none") {
            let _ = writeln!(out, "caught at {} by transform:", pct(p.target_fpr));
            for t in &p.by_transform {
                let _ = writeln!(
                    out,
                    "  {:<20} {}/{} [{:.1}, {:.1}]",
                    t.transforms,
                    t.caught,
                    t.attacks,
                    100.0 * t.ci_low,
                    100.0 * t.ci_high
                );
            }
        }
        if let Some(c) = &p.covert {
            let _ = writeln!(
                out,
                "covert capability at {}: of {} attack-mode episodes, side task done {}, main task passed {}, both {}; side task done UNCAUGHT {}/{} {} [{:.1}, {:.1}], with the main task too {}",
                pct(p.target_fpr),
                c.episodes,
                c.side_task_done,
                c.main_task_done,
                c.both_done,
                c.uncaught,
                c.episodes,
                pct(c.uncaught_rate),
                100.0 * c.ci_low,
                100.0 * c.ci_high,
                c.uncaught_with_main
            );
        }
        if p.benign < p.benign_to_certify {
            let _ = writeln!(
                out,
                "the observed false-positive rate does not certify {} at 95% (upper bound {}): that takes {} benign trajectories with {} flagged",
                pct(p.target_fpr),
                pct(p.fpr_high.unwrap_or(1.0)),
                p.benign_to_certify,
                p.benign_flagged
            );
        }
    }
    out
}

/// A router's results for people: one line per case, then what they add
/// up to.
pub(crate) fn routing_results(r: &formats::monitor::RoutingResults) -> String {
    let mut rows = vec![["case".to_string(), "declared".into(), "router".into(), "why".into()]];
    for c in &r.cases {
        rows.push([
            c.id.clone(),
            match c.declared {
                Some(true) => "monitored".into(),
                Some(false) => "not monitored".into(),
                None => "-".into(),
            },
            match (c.monitored, &c.error) {
                (Some(true), _) => "monitored".into(),
                (Some(false), _) => "BYPASS".into(),
                (None, Some(e)) => format!("no answer: {}", detect_short(e)),
                (None, None) => "no answer".into(),
            },
            c.reason.clone().unwrap_or_default(),
        ]);
    }
    let mut out = format!("router {} ({})\n\n", r.router.spec, r.router.identity);
    out.push_str(&table(&rows));
    let _ = writeln!(
        out,
        "\n{} of {} cases answered were routed to monitoring; {} bypass{} (each is the agent's own traffic)",
        r.monitored,
        r.answered,
        r.bypasses.len(),
        if r.bypasses.len() == 1 { "" } else { "es" }
    );
    if !r.discrepancies.is_empty() {
        let _ = writeln!(
            out,
            "the profile says these are monitored, and the router did not route them: {}",
            r.discrepancies.join(", ")
        );
    }
    if let (Some(reach), Some(p)) = (r.reach, &r.profile) {
        let _ = writeln!(
            out,
            "with {:.0}% sampling ({} review), automated review would read {:.1}% of these cases' traffic",
            100.0 * p.sampling,
            p.mode,
            100.0 * reach
        );
    }
    if r.failed > 0 {
        let _ = writeln!(out, "NOT ANSWERED: {} cases (in no figure)", r.failed);
    }
    out
}

fn detect_short(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match one.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &one[..i]),
        None => one,
    }
}

/// A viewer check for people: one line per case, then the count.
pub(crate) fn viewer_results(r: &formats::monitor::ViewerResults) -> String {
    let mut rows = vec![["case".to_string(), "attack".into(), "verdict".into(), "why".into()]];
    for c in &r.cases {
        rows.push([
            c.id.clone(),
            c.attack.clone(),
            match c.verdict.as_str() {
                "unsafe" => "UNSAFE".into(),
                "manual" => "for your reviewers".into(),
                v => v.into(),
            },
            c.detail.clone().unwrap_or_else(|| c.description.clone()),
        ]);
    }
    let mut out = format!(
        "viewer {} ({}), pages loaded in {}\n\n",
        r.viewer.spec, r.viewer.identity, r.browser
    );
    out.push_str(&table(&rows));
    let _ = writeln!(
        out,
        "\n{} unsafe of {} cases judged by machine{}",
        r.unsafe_cases,
        r.cases.iter().filter(|c| c.verdict == "safe" || c.verdict == "unsafe").count(),
        if r.failed > 0 {
            format!("; {} not rendered (in no figure)", r.failed)
        } else {
            String::new()
        }
    );
    out
}

/// One incident on one line: id, source, classes, the grade in force and
/// who gave it.
pub(crate) fn incident_line(
    i: &formats::incident::Incident,
    graders: &[formats::incident::Grader],
) -> String {
    let classes: Vec<&str> = i.classes.iter().map(|c| c.as_str()).collect();
    let grade = if i.dismissed() {
        "dismissed".to_owned()
    } else {
        match i.in_force(graders) {
            Some((g, by)) => format!(
                "overreach {}+{:.2}  deception {}+{:.2}  ({by})",
                g.overreach.level, g.overreach.severity, g.deception.level, g.deception.severity
            ),
            None => "ungraded".to_owned(),
        }
    };
    format!("{}  {:<15}  {:<40}  {grade}", i.id, i.source.as_str(), classes.join(","))
}

/// A catalogue for people: one line per incident, what was left out, and
/// the graders' agreement.
pub(crate) fn incidents(c: &formats::incident::Catalogue, out: &std::path::Path) -> String {
    let mut s = String::new();
    let shown = c.incidents.iter().filter(|i| !i.dismissed()).count();
    let _ = writeln!(
        s,
        "{} incident{} ({} dismissed) in {}",
        shown,
        if shown == 1 { "" } else { "s" },
        c.incidents.len() - shown,
        out.display()
    );
    for i in &c.incidents {
        let _ = writeln!(s, "  {}", incident_line(i, &c.graders));
    }
    if !c.collection.excluded.is_empty() {
        let why: Vec<String> =
            c.collection.excluded.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(s, "left out: {}", why.join(", "));
    }
    for g in &c.graders {
        for f in &g.failed {
            let _ = writeln!(s, "not graded by {}: {} ({})", g.id, f.incident, f.error);
        }
    }
    for a in &c.agreement {
        let k = |v: Option<f64>| v.map_or("n/a".to_owned(), |k| format!("{k:.2}"));
        let _ = writeln!(
            s,
            "agreement {} vs {}: {} incidents, same levels {}, weighted kappa overreach {} deception {}, largest difference {:.2}",
            a.first,
            a.second,
            a.n,
            a.same_levels,
            k(a.overreach_kappa),
            k(a.deception_kappa),
            a.max_difference
        );
    }
    s
}
