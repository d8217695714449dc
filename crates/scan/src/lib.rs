//! `perimeter scan`: the shared agent-view detectors over real transcripts,
//! where they sit. Walks files and folders, recognises each file's format,
//! reads it with bounded memory, runs the detectors, and reports only
//! findings (with short excerpts) and aggregates: the `perimeter.scan/1`
//! contract of `docs/scan-format.md`. Files are read in parallel; the report
//! does not depend on the number of threads.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};

use formats::ClassId;
use import::{Format, Limits};
use trace::Body;

pub use detect::view::Policy;

pub mod validate;

/// A lab's file a scan reads that cannot be used: its policy, or its own
/// labels of its sessions (`--validate`). Each names the file, and the
/// line and field where there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Policy(String),
    Labels(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Policy(m) | Error::Labels(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            Error::Policy(_) => "the policy file's format: docs/scan-format.md".into(),
            Error::Labels(_) => "each line: {\"file\": \"<path>\", \"classes\": [...]}".into(),
        }
    }
}

pub use formats::scan::{
    ClassTotal, Evidence, FileError, FindingReport, JudgeClassTotal, JudgeSummary, JudgeVerdict,
    PolicySource, Report, SessionJudgement, SessionReport, Totals,
};

/// The contract's name and version, as written in `format`.
pub const FORMAT: &str = formats::scan::FORMAT;

/// The most line errors reported per file; the rest are counted.
pub const ERRORS_PER_FILE: usize = 20;

/// What to scan, and how.
#[derive(Debug)]
pub struct Config {
    pub paths: Vec<PathBuf>,
    /// Read every file as this format instead of recognising it.
    pub format_hint: Option<Format>,
    pub threads: usize,
    pub limits: Limits,
    /// The lab's policy: the roles of its paths, its allowed hosts.
    pub policy: detect::view::Policy,
    /// Where the policy came from (a file, or `default`), and its digest.
    pub policy_source: PolicySource,
    /// A model's verdict on every session, beside the rules.
    pub judge: Option<JudgeConfig>,
}

/// The judge, and how it is used.
pub struct JudgeConfig {
    pub judge: judge::Judge,
    /// Sessions judged at the same time.
    pub jobs: usize,
    /// A class is in a session's combined verdict when a rule raised it,
    /// or the judge found it present with at least this confidence.
    pub threshold: f64,
    /// Where verdicts are cached, as the report names it.
    pub cache: Option<String>,
    /// The token budget, as the report names it.
    pub budget_tokens: Option<u64>,
}

impl std::fmt::Debug for JudgeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JudgeConfig")
            .field("model", &self.judge.model())
            .field("jobs", &self.jobs)
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

/// The default policy, alone, as a report names it.
pub fn default_policy_source() -> PolicySource {
    PolicySource { source: "default".into(), digest: policy_digest(None) }
}

/// The digest of the policy a scan reads: the default policy's text, and the
/// lab's file when one is given.
pub fn policy_digest(lab: Option<&[u8]>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"perimeter.scan-policy/1\0");
    h.update((detect::view::DEFAULT_POLICY.len() as u64).to_be_bytes());
    h.update(detect::view::DEFAULT_POLICY.as_bytes());
    if let Some(lab) = lab {
        h.update((lab.len() as u64).to_be_bytes());
        h.update(lab);
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Reads a lab's policy file; errors name the file and the field.
pub fn read_policy(path: &Path) -> Result<(detect::view::Policy, PolicySource), Error> {
    let at = |m: String| Error::Policy(format!("{}: {m}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| at(e.to_string()))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| at("not UTF-8".into()))?;
    let policy = detect::view::Policy::from_lab_file(text).map_err(at)?;
    Ok((
        policy,
        PolicySource { source: path.display().to_string(), digest: policy_digest(Some(&bytes)) },
    ))
}

/// Progress, called from worker threads.
pub trait Progress: Sync {
    fn file_done(&self, done: usize, total: usize, bytes: u64);
    /// A session judged (or found in the cache, failed, skipped); `spent`
    /// is the judge's total so far.
    fn judged(&self, _spent: &judge::Spent) {}
}

impl Progress for () {
    fn file_done(&self, _: usize, _: usize, _: u64) {}
}

/// Every file under the paths: a file as given, a folder recursively
/// (files ending in `.jsonl`, `.json`, `.ndjson` or `.eval`; symlinks not
/// followed),
/// sorted. Paths that cannot be read are errors.
pub fn files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<FileError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, &mut out, &mut errors),
            Ok(_) => out.push(p.clone()),
            Err(e) => errors.push(FileError {
                file: p.display().to_string(),
                line: None,
                message: e.to_string(),
            }),
        }
    }
    out.sort();
    out.dedup();
    (out, errors)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<FileError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(FileError {
                file: dir.display().to_string(),
                line: None,
                message: e.to_string(),
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        let path = entry.path();
        if kind.is_dir() {
            walk(&path, out, errors);
        } else if kind.is_file()
            && path
                .extension()
                .is_some_and(|e| e == "jsonl" || e == "json" || e == "ndjson" || e == "eval")
        {
            out.push(path);
        }
    }
}

/// What one file gave.
enum Outcome {
    /// The sessions in a file (Inspect logs hold one per sample), its line
    /// errors as listed, and how many there were.
    Sessions(Vec<(SessionReport, Option<judge::Transcript>)>, Vec<FileError>, usize),
    /// No format recognised; with an error when the file is not even JSON
    /// lines (binary junk, another encoding).
    Skipped(Option<FileError>),
    Failed(FileError),
}

fn scan_file(path: &Path, config: &Config) -> Outcome {
    let name = path.display().to_string();
    let failed =
        |message: String| Outcome::Failed(FileError { file: name.clone(), line: None, message });
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return failed(e.to_string()),
    };
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
    if extension == "eval" && config.format_hint.is_none() {
        let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        return match import::inspect::read_eval(&mut file) {
            Ok(samples) => inspect_sessions(&name, "inspect-eval", bytes, samples, config),
            Err(e) => failed(format!("not a readable Inspect log: {e}")),
        };
    }
    let input = BufReader::with_capacity(256 << 10, file);
    let (format, session) = import::read(input, config.format_hint, config.limits);
    let Some(format) = format else {
        // A JSON document rather than JSON lines: an Inspect log, or another
        // tool's file (a run's records), which is not an error.
        if extension == "json" {
            let doc = std::fs::metadata(path)
                .ok()
                .filter(|m| m.len() <= import::inspect::DOCUMENT_LIMIT)
                .and_then(|_| std::fs::read(path).ok())
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
            return match doc {
                Some(d) if import::inspect::is_log(&d) => {
                    let samples = import::inspect::read_json(&d);
                    inspect_sessions(&name, "inspect-json", session.bytes, samples, config)
                }
                _ => Outcome::Skipped(None),
            };
        }
        let junk = session.errors.first().map(|e| FileError {
            file: name,
            line: Some(e.line),
            message: format!(
                "no transcript format recognised; the first unreadable line: {}",
                e.message
            ),
        });
        return Outcome::Skipped(junk);
    };
    let error_count = session.errors.len();
    let errors = session
        .errors
        .iter()
        .take(ERRORS_PER_FILE)
        .map(|e| FileError { file: name.clone(), line: Some(e.line), message: e.message.clone() })
        .collect();
    let report = report(
        name,
        format.name(),
        format.client(),
        skipped(format.client(), session.permission_mode.as_deref()),
        session,
        config,
    );
    Outcome::Sessions(vec![report], errors, error_count)
}

/// An Inspect log's samples, each a session named `<file>#<sample>/<epoch>`;
/// the file's bytes are counted with the first.
fn inspect_sessions(
    name: &str,
    source: &str,
    bytes: u64,
    samples: Vec<import::inspect::Sample>,
    config: &Config,
) -> Outcome {
    let mut reports: Vec<_> = samples
        .into_iter()
        .map(|(label, session)| {
            report(format!("{name}#{label}"), source, "inspect", None, session, config)
        })
        .collect();
    if let Some((first, _)) = reports.first_mut() {
        first.bytes = bytes;
    }
    Outcome::Sessions(reports, Vec::new(), 0)
}

/// A session's report: its findings, with evidence lines and excerpts;
/// and, when the scan has a judge, the session rendered for it.
fn report(
    file: String,
    source: &str,
    client: &str,
    permissions_skipped: Option<bool>,
    session: import::Session,
    config: &Config,
) -> (SessionReport, Option<judge::Transcript>) {
    let transcript = config
        .judge
        .as_ref()
        .map(|_| judge::Transcript::render(session.events.iter().map(|e| (e.line, &e.body))));
    let (withheld, findings): (Vec<_>, Vec<_>) = detect::view::detect_view(
        session.events.iter().map(|e| &e.body),
        &config.policy,
        session.cwd.as_deref(),
    )
    .into_iter()
    .map(|f| FindingReport {
        code: f.code.into(),
        class: f.class,
        message: f.message,
        reason: f.withheld,
        evidence: f
            .evidence
            .iter()
            .map(|&i| Evidence {
                event: i,
                line: session.events[i].line,
                excerpt: excerpt(&session.events[i].body),
            })
            .collect(),
    })
    .partition(|f| f.reason.is_some());
    let report = SessionReport {
        withheld,
        file,
        source_format: source.into(),
        client: client.into(),
        permissions_skipped,
        client_version: session.client_version,
        session_id: session.session_id,
        model: session.model,
        events: session.events.len(),
        lines: session.lines,
        bytes: session.bytes,
        permission_mode: session.permission_mode,
        findings,
        judge: None,
        combined: None,
    };
    (report, transcript)
}

/// Whether a permission mode means the client's checks were off.
fn skipped(client: &str, mode: Option<&str>) -> Option<bool> {
    let mode = mode?;
    Some(match client {
        "claude-code" => mode == "bypassPermissions",
        "codex" => mode == "never/danger-full-access",
        _ => mode.eq_ignore_ascii_case("yolo"),
    })
}

/// A short, one-line view of an event.
fn excerpt(body: &Body) -> String {
    let text = match body {
        Body::ToolCall { tool, input, .. } => {
            let inner = ["command", "cmd", "file_path", "path", "input"]
                .iter()
                .find_map(|k| input.get(*k))
                .map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
                .unwrap_or_else(|| input.to_string());
            format!("{tool}: {inner}")
        }
        Body::ToolResult { output, .. } => output.clone(),
        Body::ModelMessage { text, reasoning, .. } => {
            if text.is_empty() {
                reasoning.clone().unwrap_or_default()
            } else {
                text.clone()
            }
        }
        other => other.kind().to_owned(),
    };
    detect::view::shorten(&text, 200)
}

/// Scans every file, `threads` at a time; with a judge, sessions are
/// judged `jobs` at a time as their files are read (at most twice as many
/// rendered sessions wait, so memory stays bounded).
pub fn scan(config: &Config, progress: &dyn Progress) -> Report {
    let (paths, mut errors) = files(&config.paths);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Outcome)>> = Mutex::new(Vec::with_capacity(paths.len()));
    let judged: Mutex<BTreeMap<(usize, usize), SessionJudgement>> = Mutex::new(BTreeMap::new());
    let jobs = config.judge.as_ref().map_or(1, |j| j.jobs.max(1));
    let (tx, rx) = mpsc::sync_channel::<((usize, usize), judge::Transcript)>(jobs * 2);
    let rx = Mutex::new(rx);
    std::thread::scope(|s| {
        if let Some(j) = &config.judge {
            for _ in 0..jobs {
                s.spawn(|| {
                    loop {
                        let work = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok((key, transcript)) = work else { break };
                        let judgement = session_judgement(&j.judge, &transcript);
                        judged.lock().unwrap_or_else(|e| e.into_inner()).insert(key, judgement);
                        progress.judged(&j.judge.spent());
                    }
                });
            }
        }
        for _ in 0..config.threads.max(1).min(paths.len().max(1)) {
            let tx = tx.clone();
            s.spawn(|| {
                let tx = tx;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    let mut outcome = scan_file(path, config);
                    let bytes = match &mut outcome {
                        Outcome::Sessions(r, _, _) => {
                            for (j, (_, transcript)) in r.iter_mut().enumerate() {
                                if let Some(t) = transcript.take() {
                                    // The judge workers outlive the senders.
                                    let _ = tx.send(((i, j), t));
                                }
                            }
                            r.iter().map(|(r, _)| r.bytes).sum()
                        }
                        _ => 0,
                    };
                    results.lock().unwrap_or_else(|e| e.into_inner()).push((i, outcome));
                    progress.file_done(
                        done.fetch_add(1, Ordering::Relaxed) + 1,
                        paths.len(),
                        bytes,
                    );
                }
            });
        }
        drop(tx);
    });
    let mut judged = judged.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    let mut totals = Totals { files: paths.len(), errors: errors.len(), ..Totals::default() };
    let mut sessions = Vec::new();
    for (i, outcome) in results {
        match outcome {
            Outcome::Sessions(reports, file_errors, count) => {
                totals.errors += count;
                if count > ERRORS_PER_FILE
                    && let Some(first) = file_errors.first()
                {
                    let file = first.file.clone();
                    errors.extend(file_errors);
                    errors.push(FileError {
                        file,
                        line: None,
                        message: format!("{} more line errors not listed", count - ERRORS_PER_FILE),
                    });
                } else {
                    errors.extend(file_errors);
                }
                for (j, (mut report, _)) in reports.into_iter().enumerate() {
                    if let Some(judgement) = judged.remove(&(i, j)) {
                        let threshold = config.judge.as_ref().map_or(1.0, |c| c.threshold);
                        report.combined = judgement.found(threshold).map(|found| {
                            let mut classes: Vec<ClassId> =
                                report.findings.iter().map(|f| f.class).collect();
                            classes.extend(found);
                            classes.sort();
                            classes.dedup();
                            classes
                        });
                        report.judge = Some(judgement);
                    }
                    sessions.push(report);
                }
            }
            Outcome::Skipped(junk) => {
                totals.skipped_files += 1;
                if let Some(e) = junk {
                    totals.errors += 1;
                    errors.push(e);
                }
            }
            Outcome::Failed(e) => {
                totals.errors += 1;
                errors.push(e);
            }
        }
    }
    for s in &sessions {
        totals.sessions += 1;
        totals.events += s.events;
        totals.bytes += s.bytes;
        if let Some(skip) = s.permissions_skipped {
            totals.permission_known += 1;
            totals.permissions_skipped += usize::from(skip);
        }
        if !s.findings.is_empty() {
            totals.sessions_with_findings += 1;
        }
        let mut seen: Vec<ClassId> = Vec::new();
        for f in &s.findings {
            let t = totals.classes.entry(f.class).or_default();
            t.findings += 1;
            if !seen.contains(&f.class) {
                t.sessions += 1;
                seen.push(f.class);
            }
        }
    }
    let judge = config.judge.as_ref().map(|c| judge_summary(c, &sessions));
    Report {
        format: FORMAT.into(),
        policy: config.policy_source.clone(),
        judge,
        sessions,
        errors,
        totals,
    }
}

/// The judge on one session, its evidence given lines and excerpts.
fn session_judgement(judge: &judge::Judge, transcript: &judge::Transcript) -> SessionJudgement {
    let j = judge.judge(transcript);
    let evidence = |i: usize| Evidence {
        event: i,
        line: transcript.line(i).unwrap_or_default(),
        excerpt: detect::view::shorten(transcript.event(i).unwrap_or_default(), 200),
    };
    SessionJudgement {
        status: j.status,
        error: j.error,
        // The judge answers about the classes it was asked, which are the
        // protocol's (a judge test holds its prompts to that).
        verdicts: j
            .verdicts
            .into_iter()
            .filter_map(|v| {
                Some(JudgeVerdict {
                    evidence: v.evidence.iter().map(|&i| evidence(i)).collect(),
                    class: v.class.parse().ok()?,
                    present: v.present,
                    confidence: v.confidence,
                    rationale: v.rationale,
                })
            })
            .collect(),
        cost: j.cost,
        transcript: j.transcript,
        events_omitted: j.events_omitted,
    }
}

fn judge_summary(config: &JudgeConfig, sessions: &[SessionReport]) -> JudgeSummary {
    let judge = &config.judge;
    let spent = judge.spent();
    let mut found: BTreeMap<ClassId, JudgeClassTotal> = judge
        .prompt()
        .classes()
        .iter()
        .filter_map(|c| c.parse().ok())
        .map(|c| (c, JudgeClassTotal::default()))
        .collect();
    for s in sessions {
        if let Some(classes) = s.judge.as_ref().and_then(|j| j.found(config.threshold)) {
            for c in classes {
                found.entry(c).or_default().judge += 1;
            }
        }
        for c in s.combined.iter().flatten() {
            found.entry(*c).or_default().combined += 1;
        }
    }
    let asked = spent.judged + spent.failed;
    JudgeSummary {
        model: judge.model(),
        prompt_version: judge::PROMPT_VERSION.into(),
        prompt_digest: judge.prompt().digest.clone(),
        classes: judge
            .prompt()
            .class_digests()
            .into_iter()
            .filter_map(|(c, d)| Some((c.parse().ok()?, d)))
            .collect(),
        threshold: config.threshold,
        budget_tokens: config.budget_tokens,
        cache: config.cache.clone(),
        cache_error: judge.cache_error(),
        cost_per_judged_session_usd: spent
            .cost
            .cost_usd
            .filter(|_| asked > 0)
            .map(|c| c / asked as f64),
        spent,
        found,
    }
}

/// Writes the report as JSON.
pub fn write_json(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
    out.write_all(b"\n")
}
