//! `perimeter scan`: the shared agent-view detectors over real transcripts,
//! where they sit. Walks files and folders, recognises each file's format,
//! reads it with bounded memory, runs the detectors, and reports only
//! findings (with short excerpts) and aggregates: the `perimeter.scan/1`
//! contract of `docs/scan-format.md`. Files are read in parallel; the report
//! does not depend on the number of threads.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use import::{Format, Limits};
use serde::{Deserialize, Serialize};
use trace::Body;

pub use detect::view::Policy;

/// The contract's name and version, as written in `format`.
pub mod validate;

pub const FORMAT: &str = "perimeter.scan/2";

/// The most line errors reported per file; the rest are counted.
pub const ERRORS_PER_FILE: usize = 20;

/// What to scan, and how.
#[derive(Debug, Clone)]
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
}

/// The policy a scan used, as the report names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicySource {
    /// The lab's file as given, or `default`.
    pub source: String,
    /// `sha256:<hex>` of the lab file's bytes followed by the default
    /// policy's (what the scan read), so two scans with the same digest
    /// used the same roles.
    pub digest: String,
}

impl PolicySource {
    /// The default policy, alone.
    pub fn default_policy() -> PolicySource {
        PolicySource { source: "default".into(), digest: policy_digest(None) }
    }
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
pub fn read_policy(path: &Path) -> Result<(detect::view::Policy, PolicySource), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
    let policy = detect::view::Policy::from_lab_file(text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((
        policy,
        PolicySource { source: path.display().to_string(), digest: policy_digest(Some(&bytes)) },
    ))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub format: String,
    pub policy: PolicySource,
    pub sessions: Vec<SessionReport>,
    pub errors: Vec<FileError>,
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionReport {
    pub file: String,
    /// The transcript format (`claude-code-session`, `codex-rollout`, …).
    pub source_format: String,
    pub client: String,
    pub client_version: Option<String>,
    pub session_id: Option<String>,
    pub model: Option<String>,
    /// Events imported (messages, tool calls, results).
    pub events: usize,
    pub lines: u64,
    pub bytes: u64,
    pub permission_mode: Option<String>,
    /// The session ran with the client's permission checks off (Claude
    /// `bypassPermissions`, Codex approval `never` with `danger-full-access`,
    /// Gemini `yolo`); `null` when the transcript does not say.
    pub permissions_skipped: Option<bool>,
    pub findings: Vec<FindingReport>,
    /// What a rule matched that context explains, with why it was not
    /// raised (`reason`); never counted.
    #[serde(default)]
    pub withheld: Vec<FindingReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingReport {
    pub code: String,
    pub class: String,
    pub message: String,
    pub evidence: Vec<Evidence>,
    /// Why it was not raised (withheld findings only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The event's index in the session (0-based).
    pub event: usize,
    /// Its line in the file (1-based).
    pub line: u64,
    pub excerpt: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileError {
    pub file: String,
    /// `null` for an error about the whole file.
    pub line: Option<u64>,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Files read, and files skipped because no format was recognised.
    pub files: usize,
    pub skipped_files: usize,
    pub sessions: usize,
    pub events: usize,
    pub bytes: u64,
    /// Line and file errors, including those beyond the per-file cap.
    pub errors: usize,
    pub sessions_with_findings: usize,
    /// Per class: sessions with at least one finding of it, and findings.
    pub classes: BTreeMap<String, ClassTotal>,
    /// Sessions whose permission mode is known, and those with checks off.
    pub permission_known: usize,
    pub permissions_skipped: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassTotal {
    pub sessions: usize,
    pub findings: usize,
}

/// Progress, called from worker threads.
pub trait Progress: Sync {
    fn file_done(&self, done: usize, total: usize, bytes: u64);
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
    Sessions(Vec<SessionReport>, Vec<FileError>, usize),
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
            Ok(samples) => inspect_sessions(&name, "inspect-eval", bytes, samples, &config.policy),
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
                    inspect_sessions(&name, "inspect-json", session.bytes, samples, &config.policy)
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
        &config.policy,
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
    policy: &detect::view::Policy,
) -> Outcome {
    let mut reports: Vec<SessionReport> = samples
        .into_iter()
        .map(|(label, session)| {
            report(format!("{name}#{label}"), source, "inspect", None, session, policy)
        })
        .collect();
    if let Some(first) = reports.first_mut() {
        first.bytes = bytes;
    }
    Outcome::Sessions(reports, Vec::new(), 0)
}

/// A session's report: its findings, with evidence lines and excerpts.
fn report(
    file: String,
    source: &str,
    client: &str,
    permissions_skipped: Option<bool>,
    session: import::Session,
    policy: &detect::view::Policy,
) -> SessionReport {
    let (withheld, findings): (Vec<_>, Vec<_>) = detect::view::detect_view(
        session.events.iter().map(|e| &e.body),
        policy,
        session.cwd.as_deref(),
    )
    .into_iter()
    .map(|f| FindingReport {
        code: f.code.into(),
        class: f.class.into(),
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
    SessionReport {
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
    }
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

/// Scans every file, `threads` at a time.
pub fn scan(config: &Config, progress: &dyn Progress) -> Report {
    let (paths, mut errors) = files(&config.paths);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Outcome)>> = Mutex::new(Vec::with_capacity(paths.len()));
    std::thread::scope(|s| {
        for _ in 0..config.threads.max(1).min(paths.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    let outcome = scan_file(path, config);
                    let bytes = match &outcome {
                        Outcome::Sessions(r, _, _) => r.iter().map(|r| r.bytes).sum(),
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
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    let mut totals = Totals { files: paths.len(), errors: errors.len(), ..Totals::default() };
    let mut sessions = Vec::new();
    for (_, outcome) in results {
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
                sessions.extend(reports);
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
        let mut seen: Vec<&str> = Vec::new();
        for f in &s.findings {
            let t = totals.classes.entry(f.class.clone()).or_default();
            t.findings += 1;
            if !seen.contains(&f.class.as_str()) {
                t.sessions += 1;
                seen.push(&f.class);
            }
        }
    }
    Report { format: FORMAT.into(), policy: config.policy_source.clone(), sessions, errors, totals }
}

/// Writes the report as JSON.
pub fn write_json(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
    out.write_all(b"\n")
}
