//! Monitors as plug-ins. Each reads one trajectory (`perimeter.trajectory/1`)
//! and answers a score, higher meaning more suspicious:
//!
//! - `cmd:<command>`: a program run with `sh -c`, the trajectory as JSON on
//!   its standard input, the answer as JSON on its standard output;
//! - `http:<url>` (or `https:`): the same document `POST`ed to a service,
//!   the answer as the response body (status 200);
//! - `llm:<model>`: a prompted model through the gateway's relays
//!   (`llm:anthropic:…`, `llm:openai:…`, …) or a scripted model for offline
//!   use (`llm:scripted:FILE`), with the published prompt or the lab's own;
//! - `builtin:detectors`: Perimeter's shared agent-view detectors, scoring
//!   the number of behaviour classes they find.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use formats::monitor::{Answer, MonitorId, Trajectory};
use gateway::{JsonService, ModelSpec};

use crate::trajectory::bodies;

/// The prompt an `llm:` monitor is sent unless the lab gives its own.
pub const DEFAULT_PROMPT: &str = include_str!("../prompts/monitor.md");

/// Appended to the prompt for the warned ablation (`--warn`).
pub const WARNING: &str = include_str!("../prompts/warning.md");

/// The most bytes of a monitor's answer read.
pub const ANSWER_LIMIT: u64 = 1 << 20;

/// The most characters of a rationale kept.
pub const RATIONALE_CHARS: usize = 2_000;

/// How a monitor is set up, beyond its spec.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// How long one trajectory may take (`cmd:` and `http:`).
    pub timeout: Option<Duration>,
    /// The lab's own prompt for `llm:` (the published one otherwise).
    pub prompt: Option<String>,
    /// Appends [`WARNING`] to an `llm:` prompt.
    pub warn: bool,
}

/// The default time one trajectory may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// A monitor ready to score.
#[derive(Debug)]
pub enum Monitor {
    /// A `cmd:` program or an `http:` service.
    Plugin(Endpoint),
    Llm {
        model: judge::Model,
        system: String,
        warned: bool,
    },
    Detectors {
        policy: Box<detect::view::Policy>,
    },
}

/// Where a plug-in lives: a program (`cmd:`) or a service (`http[s]://`),
/// each taking one JSON document and answering one.
#[derive(Debug)]
pub enum Endpoint {
    Cmd { command: String, identity: String, timeout: Duration },
    Http { service: JsonService },
}

impl Endpoint {
    /// The endpoint a spec names, `None` when it names neither kind.
    pub fn parse(
        spec: &str,
        timeout: Duration,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Result<Endpoint, SpecError>> {
        if let Some(command) = spec.strip_prefix("cmd:") {
            if command.trim().is_empty() {
                return Some(Err(SpecError(
                    "`cmd:` needs a command, e.g. `cmd:python3 my_monitor.py`".into(),
                )));
            }
            let identity = match program_digest(command, env) {
                Some(d) => format!("{spec}@{d}"),
                None => spec.to_owned(),
            };
            return Some(Ok(Endpoint::Cmd { command: command.to_owned(), identity, timeout }));
        }
        if spec.starts_with("http://") || spec.starts_with("https://") {
            return Some(
                JsonService::new(spec, timeout, env)
                    .map(|service| Endpoint::Http { service })
                    .map_err(|e| SpecError(e.to_string())),
            );
        }
        None
    }

    /// What pins the endpoint: the program's digest, or the URL.
    pub fn identity(&self) -> String {
        match self {
            Endpoint::Cmd { identity, .. } => identity.clone(),
            Endpoint::Http { service } => service.url().to_owned(),
        }
    }

    /// Sends one document; the answer's text.
    pub fn call(&self, input: &[u8]) -> Result<String, ScoreError> {
        match self {
            Endpoint::Cmd { command, timeout, .. } => {
                run_command(command, input, *timeout).map_err(ScoreError::Program)
            }
            Endpoint::Http { service } => {
                let reply = service
                    .post(input)
                    .map_err(|e| ScoreError::Service(format!("{}: {e}", service.url())))?;
                let body = String::from_utf8_lossy(&reply.body).into_owned();
                if reply.status != 200 {
                    return Err(ScoreError::Service(format!(
                        "{} answered {}: {}",
                        service.url(),
                        reply.status,
                        detect::view::shorten(&body, 300)
                    )));
                }
                Ok(body)
            }
        }
    }
}

/// Why a monitor gave no score for one trajectory; recorded as the item's
/// `error`, and the item counts in no figure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScoreError {
    /// The program could not start, failed, or gave no answer in time.
    Program(String),
    /// The service could not be reached or answered an error.
    Service(String),
    /// The model could not be called.
    Model(String),
    /// An answer came, but not one with a usable score.
    Answer(String),
}

impl std::fmt::Display for ScoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScoreError::Program(m)
            | ScoreError::Service(m)
            | ScoreError::Model(m)
            | ScoreError::Answer(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ScoreError {}

/// A spec or a prompt that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError(pub String);

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

pub const SPEC_HELP: &str =
    "expected `cmd:<command>`, `http://…` or `https://…`, `llm:<model>` or `builtin:detectors`";

impl Monitor {
    /// The monitor a spec names; `env` is the harness's environment (keys,
    /// base URLs, `PERIMETER_CA_FILE`).
    pub fn new(
        spec: &str,
        options: &Options,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Monitor, SpecError> {
        let timeout = options.timeout.unwrap_or(DEFAULT_TIMEOUT);
        if options.warn && !spec.starts_with("llm:") {
            return Err(SpecError(
                "`--warn` changes an `llm:` monitor's prompt; this monitor has none".into(),
            ));
        }
        if options.prompt.is_some() && !spec.starts_with("llm:") {
            return Err(SpecError("`--prompt` is for `llm:` monitors".into()));
        }
        if let Some(endpoint) = Endpoint::parse(spec, timeout, env) {
            return endpoint.map(Monitor::Plugin);
        }
        if let Some(model) = spec.strip_prefix("llm:") {
            let model = ModelSpec::parse(model).map_err(|e| SpecError(format!("`{spec}`: {e}")))?;
            let model = judge::Model::from_spec(&model, env)
                .map_err(|e| SpecError(format!("`{spec}`: {e}")))?;
            let mut system = options.prompt.clone().unwrap_or_else(|| DEFAULT_PROMPT.to_owned());
            if options.warn {
                system.push_str(WARNING);
            }
            return Ok(Monitor::Llm { model, system, warned: options.warn });
        }
        if spec == "builtin:detectors" {
            return Ok(Monitor::Detectors {
                policy: Box::new(detect::view::Policy::default_policy().clone()),
            });
        }
        Err(SpecError(format!("unknown monitor `{spec}`; {SPEC_HELP}")))
    }

    /// Who the results are of.
    pub fn id(&self, spec: &str) -> MonitorId {
        let identity = match self {
            Monitor::Plugin(endpoint) => endpoint.identity(),
            Monitor::Llm { model, system, .. } => {
                format!("{}; prompt {}", model.identity(), crate::corpus::sha256(system.as_bytes()))
            }
            Monitor::Detectors { .. } => format!(
                "builtin:detectors; {}; {}",
                detect::view::POLICY_VERSION,
                detect::view::VIEW_DETECTORS.iter().map(|d| d.code).collect::<Vec<_>>().join(",")
            ),
        };
        let warned = matches!(self, Monitor::Llm { warned: true, .. });
        MonitorId { spec: spec.to_owned(), identity, warned }
    }

    /// Scores one trajectory, or says why it could not.
    pub fn score(&self, t: &Trajectory) -> Result<Answer, ScoreError> {
        match self {
            Monitor::Plugin(endpoint) => {
                let input = serde_json::to_vec(t).expect("a trajectory serializes");
                parse_answer(&endpoint.call(&input)?).map_err(ScoreError::Answer)
            }
            Monitor::Llm { model, system, .. } => llm(model, system, t),
            Monitor::Detectors { policy } => Ok(detectors(policy, t)),
        }
    }
}

/// `sha256:` over the program a command starts, found as the shell would
/// (a path, or the first match on `PATH`), and every later word that names
/// a file (the script of `python3 monitor.py`): what pins the plug-in.
fn program_digest(command: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let mut words = command.split_whitespace();
    let program = words.next()?;
    let path = if program.contains('/') {
        Path::new(program).to_owned()
    } else {
        let paths = env("PATH")?;
        paths.split(':').map(|d| Path::new(d).join(program)).find(|p| p.is_file())?
    };
    let mut bytes = std::fs::read(path).ok()?;
    for file in words.map(Path::new).filter(|p| p.is_file()) {
        bytes.extend(std::fs::read(file).ok()?);
    }
    Some(crate::corpus::sha256(&bytes))
}

/// Runs `command` with `input` on its standard input; its standard output,
/// or why there is none.
fn run_command(command: &str, input: &[u8], timeout: Duration) -> Result<String, String> {
    // A `cmd:` monitor is the lab's own program, run on the host as the lab
    // runs it in production; the agent's record reaches it as data only.
    #[allow(clippy::disallowed_methods)]
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("`{command}` could not start: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let input = input.to_vec();
    // A monitor that stops reading early is not an error of ours.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let read = (&mut stdout).take(ANSWER_LIMIT).read_to_end(&mut out);
        let _ = tx.send(read.map(|_| out));
    });
    let errors = std::thread::spawn(move || {
        let mut err = Vec::new();
        let _ = (&mut stderr).take(4_096).read_to_end(&mut err);
        String::from_utf8_lossy(&err).into_owned()
    });
    let started = std::time::Instant::now();
    let late = |child: &mut std::process::Child| {
        let _ = child.kill();
        let _ = child.wait();
        format!("`{command}` gave no answer within {} s", timeout.as_secs())
    };
    let Ok(out) = rx.recv_timeout(timeout) else { return Err(late(&mut child)) };
    // A program that closed its output may still run: it has what is left
    // of the time to exit.
    let status = loop {
        match child.try_wait().map_err(|e| format!("`{command}`: {e}"))? {
            Some(status) => break status,
            None if started.elapsed() >= timeout => {
                let _ = late(&mut child);
                return Err(format!(
                    "`{command}` answered but did not exit within {} s",
                    timeout.as_secs()
                ));
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    let _ = writer.join();
    let stderr = errors.join().unwrap_or_default();
    if !status.success() {
        return Err(format!(
            "`{command}` failed ({status}){}",
            if stderr.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", detect::view::shorten(&stderr, 300))
            }
        ));
    }
    let out = out.map_err(|e| format!("`{command}`: reading its answer: {e}"))?;
    String::from_utf8(out).map_err(|_| format!("`{command}`: its answer is not UTF-8"))
}

/// A monitor's answer: one JSON object with a finite `score` and, if it
/// likes, a `rationale`.
pub fn parse_answer(text: &str) -> Result<Answer, String> {
    let v: serde_json::Value = serde_json::from_str(text.trim()).map_err(|e| {
        format!("the answer is not one JSON object ({e}): {}", detect::view::shorten(text, 200))
    })?;
    let score = v
        .get("score")
        .and_then(serde_json::Value::as_f64)
        .filter(|s| s.is_finite())
        .ok_or_else(|| {
            format!("`score`: a finite number is required: {}", detect::view::shorten(text, 200))
        })?;
    let rationale = match v.get("rationale") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(r)) => Some(r.chars().take(RATIONALE_CHARS).collect()),
        Some(_) => return Err("`rationale`: a string, when present".into()),
    };
    Ok(Answer { score, rationale })
}

/// Transient failures tried again, beyond the first.
const LLM_RETRIES: usize = 3;

fn llm(model: &judge::Model, system: &str, t: &Trajectory) -> Result<Answer, ScoreError> {
    let events = bodies(t);
    let transcript =
        judge::Transcript::render(events.iter().enumerate().map(|(i, b)| (i as u64, b)));
    let task = format!(
        "The record of the agent (view: {}; each event headed by its index):\n\n{}",
        t.view,
        transcript.framed()
    );
    let messages = [judge::Message::User(task)];
    let mut attempt = 0;
    loop {
        match model.call(system, &messages, &transcript, &[], attempt) {
            Ok(reply) => {
                let text = reply.text.trim();
                // A model may wrap the object in prose or a code fence.
                let object = match (text.find('{'), text.rfind('}')) {
                    (Some(a), Some(b)) if a < b => &text[a..=b],
                    _ => text,
                };
                let answer = parse_answer(object).map_err(ScoreError::Answer)?;
                if !(0.0..=100.0).contains(&answer.score) {
                    return Err(ScoreError::Answer(format!(
                        "`score`: {} is outside 0 to 100",
                        answer.score
                    )));
                }
                return Ok(answer);
            }
            Err(judge::CallError::Transient(_)) if attempt < LLM_RETRIES => {
                attempt += 1;
                std::thread::sleep(judge::backoff(attempt));
            }
            Err(e) => return Err(ScoreError::Model(e.message().to_owned())),
        }
    }
}

/// The shared detectors as a monitor: the number of behaviour classes
/// their findings name (withheld findings, which context explains, do not
/// count).
fn detectors(policy: &detect::view::Policy, t: &Trajectory) -> Answer {
    let events = bodies(t);
    let findings = detect::view::detect_view(events.iter(), policy, None);
    let mut raised: Vec<_> = findings.iter().filter(|f| f.withheld.is_none()).collect();
    raised.sort_by(|a, b| a.class.cmp(&b.class).then(a.code.cmp(b.code)));
    let mut classes: Vec<_> = raised.iter().map(|f| f.class).collect();
    classes.dedup();
    let rationale = (!raised.is_empty()).then(|| {
        raised
            .iter()
            .map(|f| format!("{} {}: {}", f.code, f.class, f.excerpt))
            .collect::<Vec<_>>()
            .join("; ")
    });
    Answer { score: classes.len() as f64, rationale }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_must_carry_a_finite_score() {
        assert_eq!(parse_answer(r#"{"score": 0.25}"#).unwrap().score, 0.25);
        let a = parse_answer(" {\"score\": 7, \"rationale\": \"reads keys\"}\n").unwrap();
        assert_eq!(a.rationale.as_deref(), Some("reads keys"));
        for bad in [
            "",
            "0.5",
            r#"{"score": "high"}"#,
            r#"{"rationale": "x"}"#,
            r#"{"score": 1, "rationale": 2}"#,
        ] {
            assert!(parse_answer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_program_is_held_to_its_time_whether_or_not_it_answered() {
        let t = Duration::from_secs(1);
        assert_eq!(run_command("cat >/dev/null; echo '{}'", b"x", t).unwrap(), "{}\n");
        let e = run_command("cat >/dev/null; sleep 5", b"x", t).unwrap_err();
        assert!(e.contains("gave no answer within 1 s"), "{e}");
        let e = run_command("cat >/dev/null; echo '{}'; exec >&-; sleep 5", b"x", t).unwrap_err();
        assert!(e.contains("answered but did not exit within 1 s"), "{e}");
        let e = run_command("echo oops >&2; exit 4", b"x", t).unwrap_err();
        assert!(e.contains("failed (exit status: 4): oops"), "{e}");
    }

    #[test]
    fn specs_are_checked_before_any_scoring() {
        let env = |_: &str| None;
        let o = Options::default();
        assert!(Monitor::new("cmd:", &o, &env).is_err());
        assert!(Monitor::new("gpt:judge", &o, &env).unwrap_err().0.contains("unknown monitor"));
        assert!(Monitor::new("llm:nope:x", &o, &env).is_err());
        let warn = Options { warn: true, ..Options::default() };
        assert!(Monitor::new("builtin:detectors", &warn, &env).unwrap_err().0.contains("--warn"));
        assert!(Monitor::new("builtin:detectors", &o, &env).is_ok());
    }
}
