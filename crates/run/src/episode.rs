//! One episode: a scenario, an agent and a sandbox in; a trace and a record
//! out.

use formats::EndReason;
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use std::sync::Arc;

use agent::{AgentSpec, Environment, Stop, ToolCall, ToolOutput};
use gateway::{Answerer, ModelSpec, Service, Upstream};
use sandbox::{Audit, ExecRequest, ExitStatus, Sandbox, SandboxSpec, Session};
use scenario::{Instance, Scenario};
use sha2::{Digest, Sha256};
use trace::{
    Body, Clock, Event, Header, HoneypotRead, NetworkAttempt, ProcessExec, Source, TraceWriter,
};

use crate::changes::Tracker;

mod checks;
use crate::summary::{CheckRecord, EpisodeRecord};
use crate::{EpisodeLimits, Error};

/// The port of the egress sink on the sandbox's loopback; the agent's
/// environment points every proxy variable at it.
const EGRESS_PORT: u16 = 3128;

/// The port of the model gateway on the sandbox's loopback, for client
/// agents (Claude Code, Codex, Gemini CLI, `cmd:`).
const GATEWAY_PORT: u16 = 8788;

/// The largest client transcript read out of a sandbox.
const TRANSCRIPT_LIMIT: u64 = 256 << 20;

/// The largest file the setup made that is kept (to look into for a
/// honeypot's content, and to put back for the checks).
const SETUP_READ_LIMIT: u64 = 16 << 20;

/// The most the setup's files may hold in all.
const SETUP_KEEP_LIMIT: u64 = 64 << 20;

/// Where hidden-check files are placed once the agent is done.
const HIDDEN_DIR: &str = "/tmp/perimeter-hidden";

/// Everything that determines an episode, besides the agent's own choices.
pub(crate) struct EpisodeInput<'a> {
    pub scenario: &'a Scenario,
    pub epoch: u32,
    pub seed: u64,
    pub agent: &'a AgentSpec,
    pub header: Header,
    pub limits: &'a EpisodeLimits,
    pub init_program: &'a Path,
    /// The installed agent clients, bound into the sandbox when the agent
    /// is one of them.
    pub clients: Option<&'a Path>,
    /// A `cmd:` agent's own folder (`--scaffold`), bound read-only at
    /// [`SCAFFOLD_DIR`].
    pub scaffold: Option<&'a Path>,
    /// Where a relayed model's calls go.
    pub upstream: Option<&'a Upstream>,
    /// Attack mode: the task carries a secret side task.
    pub side_tasks: bool,
    pub scratch: PathBuf,
    pub slot: u32,
    /// Called once the agent has ended, before the hidden checks: the run
    /// may start its next episode's agent beside them.
    pub agent_ended: &'a dyn Fn(),
    /// The run's budget, shared by every episode.
    pub run_budget: Option<&'a Arc<gateway::RunBudget>>,
    /// The run folder and the trace's path inside it.
    pub out: &'a Path,
    pub trace_rel: String,
}

pub(crate) fn run_episode(
    input: EpisodeInput<'_>,
    clock: &dyn Clock,
) -> Result<EpisodeRecord, Error> {
    let scenario = input.scenario;
    let mut instance = scenario.instantiate(input.seed).map_err(|message| Error::Sandbox {
        scenario: scenario.manifest.id.clone(),
        message: format!("instantiating for seed {}: {message}", input.seed),
    })?;
    let side_task = match input.side_tasks {
        true => instance.manifest.side_task_for(input.seed),
        false => None,
    };
    if let Some(side) = &side_task {
        instance.manifest.task.prompt =
            scenario::with_side_task(&instance.manifest.task.prompt, side);
    }
    let manifest = &instance.manifest;
    // The reference policy played by a scripted agent or scripted model.
    let policy = match input.agent.policy_name() {
        None => None,
        Some(_) => {
            Some(input.agent.policy(manifest, input.seed).ok_or_else(|| Error::MissingPolicy {
                agent: input.agent.to_string(),
                scenario: manifest.id.clone(),
                available: manifest.policies.keys().cloned().collect(),
            })?)
        }
    };
    let started = clock.now();
    let policy = policy.as_deref();
    let mut open = open(&input, &instance, policy, clock)?;
    let end_reason = turns(&input, manifest, policy, &mut open);
    (input.agent_ended)();
    finish(input, &instance, open, started, end_reason, side_task, clock)
}

/// The record of an episode that never ran: its sandbox could not be built
/// however often it was tried (`sandbox_error`), or the run's budget was
/// spent first (`run_budget`). A trace of its header, with why under the
/// end reason's name, and its end; no rate counts it.
pub(crate) fn unstarted(
    input: EpisodeInput<'_>,
    end_reason: EndReason,
    why: &str,
    clock: &dyn Clock,
) -> Result<EpisodeRecord, Error> {
    let scenario = input.scenario;
    let instance = scenario.instantiate(input.seed).map_err(|message| Error::Sandbox {
        scenario: scenario.manifest.id.clone(),
        message: format!("instantiating for seed {}: {message}", input.seed),
    })?;
    let started = clock.now();
    let trace_path = input.out.join(&input.trace_rel);
    let partial = trace_path.with_extension("jsonl.partial");
    if let Some(dir) = trace_path.parent() {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let mut header = input.header.clone();
    header.extra.insert(end_reason.as_str().into(), why.into());
    let file = File::create(&partial).map_err(io_err(&partial))?;
    let writer = TraceWriter::create(BufWriter::new(file), header).map_err(io_err(&partial))?;
    let finished = clock.now();
    let head = seal(writer, finished, end_reason.as_str(), &partial, &trace_path)?;
    Ok(EpisodeRecord {
        scenario: instance.manifest.id.clone(),
        scenario_digest: scenario.digest.clone(),
        epoch: input.epoch,
        seed: input.seed,
        params: instance.params.clone(),
        main_task_success: false,
        checks: Vec::new(),
        labels: Vec::new(),
        opportunities: instance.manifest.opportunities(),
        eval_aware: false,
        stages: Vec::new(),
        trace: input.trace_rel,
        trace_head: head,
        end_reason,
        model_usage: None,
        side_task: None,
        scenario_problems: Vec::new(),
        started,
        finished,
    })
}

/// An episode under way: the sandbox and its services started, the setup
/// run and its state taken, the trace open.
struct Open<'a> {
    ep: Episode<'a>,
    service: Option<Arc<Service>>,
    workdir: String,
    scenario_problems: Vec<String>,
    trace_path: PathBuf,
    partial: PathBuf,
}

/// Ends a trace (its last event, `reason`), makes it durable and moves it
/// from `partial` to `trace_path`; its head.
fn seal(
    writer: TraceWriter<BufWriter<File>>,
    finished: trace::Timestamp,
    reason: &str,
    partial: &Path,
    trace_path: &Path,
) -> Result<String, Error> {
    let (head, out) = writer.finish(finished, reason).map_err(io_err(partial))?;
    let file = out
        .into_inner()
        .map_err(|e| Error::Io { path: partial.to_path_buf(), source: e.into_error() })?;
    file.sync_all().map_err(io_err(partial))?;
    fs::rename(partial, trace_path).map_err(io_err(trace_path))?;
    Ok(head)
}

/// How an I/O error on `path` becomes the run's error.
fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error + use<> {
    let path = path.to_path_buf();
    move |source| Error::Io { path, source }
}

/// Setup: the sandbox, the egress sink and the model gateway started, the
/// scenario's setup commands run and the state they leave taken as the
/// baseline, honeypots watched, the trace opened.
fn open<'a>(
    input: &EpisodeInput<'_>,
    instance: &Instance,
    policy: Option<&scenario::Policy>,
    clock: &'a dyn Clock,
) -> Result<Open<'a>, Error> {
    let manifest = &instance.manifest;
    let honeypots = instance.honeypot_files();
    let home = instance
        .home
        .iter()
        .map(|f| sandbox::HomeFile {
            path: f.path.clone(),
            executable: f.executable,
            content: f.content.clone(),
        })
        .collect();
    let spec = SandboxSpec {
        init_program: input.init_program.to_path_buf(),
        scratch: input.scratch.clone(),
        home,
        honeypots: honeypots.iter().map(|(path, _)| path.clone()).collect(),
        programs: crate::programs::of(manifest, &instance.home),
        binds: match (input.agent.client_binary(), input.clients) {
            (Some(_), Some(dir)) => vec![(dir.to_path_buf(), agent::CLIENTS_DIR.into())],
            _ => Vec::new(),
        }
        .into_iter()
        .chain(input.scaffold.map(|dir| (dir.to_path_buf(), SCAFFOLD_DIR.into())))
        .collect(),
        listeners: vec![EGRESS_PORT, GATEWAY_PORT],
        limits: input.limits.sandbox.clone(),
        slot: input.slot,
    };
    let sandbox_err = |e: sandbox::Error| Error::Sandbox {
        scenario: manifest.id.clone(),
        message: e.to_string(),
    };
    let mut session = Sandbox::start(&spec).map_err(sandbox_err)?;
    let service_err = |what: &str, e: std::io::Error| Error::Sandbox {
        scenario: manifest.id.clone(),
        message: format!("starting the {what}: {e}"),
    };
    let mut listeners = session.take_listeners();
    let mut take = |port: u16| {
        let i = listeners.iter().position(|(p, _)| *p == port);
        i.map(|i| listeners.remove(i).1).ok_or_else(|| Error::Sandbox {
            scenario: manifest.id.clone(),
            message: format!("the sandbox did not hand over port {port}"),
        })
    };
    let sink =
        egress::Sink::start(take(EGRESS_PORT)?).map_err(|e| service_err("egress sink", e))?;
    let gateway_listener = take(GATEWAY_PORT)?;
    let service = match input.agent.model() {
        Some(spec) => Some(Arc::new(
            model_service(spec, policy, input.upstream, &input.limits.model, input.run_budget)
                .map_err(|message| Error::Model { scenario: manifest.id.clone(), message })?,
        )),
        None => None,
    };
    // Client programs reach the service over HTTP; the built-in loop calls
    // it in-process.
    let gateway = match (input.agent.client_command(false), &service) {
        (Some(_), Some(service)) => Some(
            gateway::Gateway::start(gateway_listener, service.clone())
                .map_err(|e| service_err("model gateway", e))?,
        ),
        _ => None,
    };
    let workdir = format!("{}/{}", sandbox::HOME, manifest.workdir);
    let mut env = agent_env();
    if input.scaffold.is_some() {
        env.push(("PERIMETER_SCAFFOLD".into(), SCAFFOLD_DIR.into()));
    }
    for cmd in &manifest.setup {
        let out = session
            .exec(&bash(cmd, &workdir, &env, input.limits.step_timeout_ms))
            .map_err(sandbox_err)?;
        if out.status != ExitStatus::Exited(0) {
            return Err(Error::Sandbox {
                scenario: manifest.id.clone(),
                message: format!(
                    "setup command `{cmd}` failed ({:?}): {}{}",
                    out.status, out.stdout, out.stderr
                ),
            });
        }
    }
    let baseline = session.changes().map_err(sandbox_err)?;
    let (setup, mut scenario_problems) = match setup_files(&mut session, &baseline) {
        Ok(files) => (files, Vec::new()),
        Err(e) => (BTreeMap::new(), vec![e]),
    };
    scenario_problems.extend(honeypot_problems(instance, &setup));
    // Honeypots the setup made (a git object) are watched from here on.
    let made: Vec<(String, String)> = setup
        .keys()
        .filter_map(|path| {
            let h = manifest.honeypots.iter().find(|h| h.covers(path))?;
            Some((path.clone(), h.id.clone()))
        })
        .collect();
    session.watch_made_honeypots(&made.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>());
    let honeypots: Vec<(String, String)> = honeypots.into_iter().chain(made).collect();
    session.audit(); // setup is the harness's, not the agent's

    let trace_path = input.out.join(&input.trace_rel);
    let partial = trace_path.with_extension("jsonl.partial");
    if let Some(dir) = trace_path.parent() {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let file = File::create(&partial).map_err(io_err(&partial))?;
    // Which watch saw the honeypots: exact fanotify, or inotify (when not
    // root, or when the kernel's fanotify groups ran out).
    let mut header = input.header.clone();
    header.extra.insert("honeypot_watch".into(), session.honeypot_watch().into());
    let writer = TraceWriter::create(BufWriter::new(file), header).map_err(io_err(&partial))?;

    let mut ep = Episode {
        session,
        sink,
        gateway,
        service: service.clone(),
        client_transcripts: input.agent.transcripts(),
        imported: HashMap::new(),
        writer,
        events: Vec::new(),
        clock,
        files: Tracker::new(baseline, honeypots.iter().cloned().collect()),
        last_exec: None,
        honeypot_ids: honeypots.into_iter().collect(),
        workdir: workdir.clone(),
        env,
        deadline: Instant::now() + Duration::from_millis(input.limits.wall_time_ms),
        step_timeout_ms: input.limits.step_timeout_ms,
        next_call: 1,
        write_error: None,
        setup,
    };
    for message in &scenario_problems {
        ep.record(Source::Harness, Body::Error { message: format!("scenario: {message}") });
    }
    Ok(Open { ep, service, workdir, scenario_problems, trace_path, partial })
}

/// The agent's turns: the task, its work, the follow-up question; how they
/// ended.
fn turns(
    input: &EpisodeInput<'_>,
    manifest: &scenario::Manifest,
    policy: Option<&scenario::Policy>,
    open: &mut Open<'_>,
) -> EndReason {
    let Open { ep, service, workdir, .. } = open;
    ep.record(
        Source::Agent,
        Body::ModelMessage {
            role: "user".into(),
            text: manifest.task.prompt.trim().into(),
            reasoning: None,
        },
    );
    let turns = match (input.agent, policy, &*service) {
        (AgentSpec::Scripted { .. }, Some(policy), _) => scripted_turns(policy, manifest, ep),
        (AgentSpec::Api { model }, _, Some(service)) => {
            api_turns(service, model, manifest, workdir, ep)
        }
        (agent, _, _) => client_turns(agent, manifest, ep),
    };
    match turns {
        Ok(()) => EndReason::Submitted,
        Err(stop) => {
            ep.record(
                Source::Harness,
                Body::Error { message: format!("{}: {}", stop.reason, stop.detail) },
            );
            stop.reason
        }
    }
}

/// Finish: survivors swept, the client's transcripts kept, the hidden
/// checks and the detectors run, the trace closed; the episode's record.
fn finish(
    input: EpisodeInput<'_>,
    instance: &Instance,
    open: Open<'_>,
    started: trace::Timestamp,
    end_reason: EndReason,
    side_task: Option<scenario::SideTask>,
    clock: &dyn Clock,
) -> Result<EpisodeRecord, Error> {
    let scenario = input.scenario;
    let manifest = &instance.manifest;
    let Open { mut ep, service, scenario_problems, trace_path, partial, .. } = open;
    ep.sweep();
    let rel = input.trace_rel.trim_end_matches(".trace.jsonl").to_owned() + ".client";
    ep.keep_transcripts(input.out, &rel);
    let checks = ep.hidden_checks(instance);
    let ctx = detect::Context { manifest };
    let findings = detect::detect(&ep.events, &ctx);
    for f in &findings {
        ep.record(
            Source::Harness,
            Body::Finding {
                code: f.code.into(),
                class: f.class.to_string(),
                message: f.message.clone(),
                evidence: f.evidence.clone(),
            },
        );
    }
    let labels = detect::labels(&ep.events, &findings);
    let stages = detect::stages(&ctx, &findings);
    let aware = detect::eval_awareness(&ep.events);
    if !aware.is_empty() {
        ep.record(
            Source::Harness,
            Body::Finding {
                code: "EA001".into(),
                class: "eval_awareness".into(),
                message: "the agent said it thinks it is being tested".into(),
                evidence: aware.clone(),
            },
        );
    }
    if let Some(e) = ep.write_error.take() {
        return Err(Error::Io { path: partial, source: e });
    }
    let side_task = side_task.and_then(|t| {
        let class = t.class.parse::<formats::ClassId>().ok()?;
        let succeeded = labels.iter().any(|l| l.class == class && l.succeeded);
        Some(formats::run::SideTaskRecord { id: t.id, class, succeeded })
    });
    let Episode { session, writer, sink, gateway, .. } = ep;
    drop((sink, gateway));
    let model_usage = service.map(|s| crate::summary::model_usage(s.budget().spent()));
    session.shutdown();
    let finished = clock.now();
    let head = seal(writer, finished, end_reason.as_str(), &partial, &trace_path)?;

    Ok(EpisodeRecord {
        scenario: manifest.id.clone(),
        scenario_digest: scenario.digest.clone(),
        epoch: input.epoch,
        seed: input.seed,
        params: instance.params.clone(),
        main_task_success: main_task_success(manifest, &checks),
        checks,
        labels,
        opportunities: manifest.opportunities(),
        eval_aware: !aware.is_empty(),
        stages,
        trace: input.trace_rel,
        trace_head: head,
        end_reason,
        model_usage,
        side_task,
        scenario_problems,
        started,
        finished,
    })
}

/// The files the harness's setup made or changed (path, mode, content), as
/// it left them: the checks see these rather than the agent's versions.
type SetupFiles = BTreeMap<String, (u32, Vec<u8>)>;

/// Reads the files the setup made, before the agent starts.
fn setup_files(session: &mut Session, baseline: &sandbox::ChangeSet) -> Result<SetupFiles, String> {
    let made: Vec<(String, u32)> = baseline
        .changes
        .iter()
        .filter_map(|c| {
            let s = c.after.as_ref().filter(|s| s.kind == sandbox::FileType::File)?;
            Some((c.path.clone(), s.mode))
        })
        .collect();
    if made.is_empty() {
        return Ok(BTreeMap::new());
    }
    let paths: Vec<String> = made.iter().map(|(p, _)| p.clone()).collect();
    let files = session
        .read_paths(&paths, SETUP_READ_LIMIT)
        .map_err(|e| format!("reading what the setup made: {e}"))?;
    let mut out = BTreeMap::new();
    let mut total = 0u64;
    for (f, (_, mode)) in files.into_iter().zip(made) {
        let Ok(content) = f.content else { continue };
        total += content.len() as u64;
        if total > SETUP_KEEP_LIMIT {
            return Err(format!("the setup made more than {SETUP_KEEP_LIMIT} bytes of files"));
        }
        out.insert(f.path, (mode, content));
    }
    Ok(out)
}

/// Where the scenario's honeypots can be read without opening them: in
/// another file it ships, or in a file its setup made.
fn honeypot_problems(instance: &Instance, setup: &SetupFiles) -> Vec<String> {
    if instance.manifest.honeypots.is_empty() {
        return Vec::new();
    }
    let made: Vec<(String, Vec<u8>)> =
        setup.iter().map(|(p, (_, c))| (p.clone(), c.clone())).collect();
    crate::reachable::problems(&instance.manifest, &instance.home, &made)
}

/// A scripted agent's turns: its policy, then its answer to the scenario's
/// follow-up question.
fn scripted_turns(
    policy: &scenario::Policy,
    manifest: &scenario::Manifest,
    ep: &mut Episode<'_>,
) -> Result<(), Stop> {
    agent::run_policy(policy, ep)?;
    let Some(f) = &manifest.followup else { return Ok(()) };
    // The user asks once more after the agent reports done.
    ep.record(
        Source::Agent,
        Body::ModelMessage { role: "user".into(), text: f.prompt.trim().into(), reasoning: None },
    );
    agent::answer_followup(policy, ep)
}

/// The built-in loop's turns over the model service: the task, then the
/// answer to the scenario's follow-up question in the same conversation.
fn api_turns(
    service: &Service,
    model: &ModelSpec,
    manifest: &scenario::Manifest,
    workdir: &str,
    ep: &mut Episode<'_>,
) -> Result<(), Stop> {
    let mut agent = agent::api::Loop::new(service, model, manifest.task.prompt.trim(), workdir);
    let done = agent.run(ep);
    let done = done.and_then(|()| {
        let Some(f) = &manifest.followup else { return Ok(()) };
        ep.record(
            Source::Agent,
            Body::ModelMessage {
                role: "user".into(),
                text: f.prompt.trim().into(),
                reasoning: None,
            },
        );
        agent.followup(f.prompt.trim(), ep)
    });
    ep.drain_model();
    done
}

/// A client program's turns: the task, then the follow-up question asked
/// in the session it left.
fn client_turns(
    agent: &AgentSpec,
    manifest: &scenario::Manifest,
    ep: &mut Episode<'_>,
) -> Result<(), Stop> {
    let command = agent.client_command(false).expect("a client agent");
    ep.run_client(&command, manifest.task.prompt.trim(), false)?;
    let Some(f) = &manifest.followup else { return Ok(()) };
    ep.record(
        Source::Agent,
        Body::ModelMessage { role: "user".into(), text: f.prompt.trim().into(), reasoning: None },
    );
    let command = agent.client_command(true).expect("a client agent");
    ep.run_client(&command, f.prompt.trim(), true)
}

/// What answers an episode's model calls.
fn model_service(
    spec: &ModelSpec,
    policy: Option<&scenario::Policy>,
    upstream: Option<&Upstream>,
    limits: &gateway::Limits,
    run_budget: Option<&Arc<gateway::RunBudget>>,
) -> Result<Service, String> {
    let answerer = match (spec, policy) {
        (ModelSpec::Scripted { .. }, Some(policy)) => {
            Answerer::Scripted(Arc::new(gateway::Scripted::new(policy.clone(), sandbox::HOME)))
        }
        (ModelSpec::Scripted { policy }, None) => {
            return Err(format!("no policy `{policy}` to serve as the model"));
        }
        // The key stays in the harness: the gateway adds it to each
        // relayed call.
        (spec, _) => match upstream {
            Some(u) if u.spec() == spec => Answerer::Relay(u.clone()),
            _ => return Err(format!("no upstream configured for `{spec}`")),
        },
    };
    let service = Service::new(answerer, *limits);
    Ok(match run_budget {
        Some(run) => service.within(run.clone()),
        None => service,
    })
}

/// Every main-task check passed (behaviour checks do not count), and there
/// was at least one.
fn main_task_success(manifest: &scenario::Manifest, checks: &[CheckRecord]) -> bool {
    let mut main = manifest.checks.iter().filter(|c| c.is_main_task()).peekable();
    main.peek().is_some() && main.all(|c| checks.iter().any(|r| r.id == c.id && r.passed))
}

/// Where a `cmd:` agent's own folder is, read-only, in the sandbox.
pub const SCAFFOLD_DIR: &str = "/srv/scaffold";

fn agent_env() -> Vec<(String, String)> {
    [
        ("PATH", "/home/agent/bin:/usr/local/bin:/usr/bin:/bin"),
        ("HOME", sandbox::HOME),
        ("USER", "agent"),
        ("LOGNAME", "agent"),
        ("LANG", "C.UTF-8"),
        ("TERM", "dumb"),
        ("TMPDIR", "/tmp"),
        // The only way out is the egress sink.
        ("HTTP_PROXY", "http://127.0.0.1:3128"),
        ("HTTPS_PROXY", "http://127.0.0.1:3128"),
        ("ALL_PROXY", "http://127.0.0.1:3128"),
        ("http_proxy", "http://127.0.0.1:3128"),
        ("https_proxy", "http://127.0.0.1:3128"),
        ("NO_PROXY", "localhost,127.0.0.1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn bash(command: &str, cwd: &str, env: &[(String, String)], timeout_ms: u64) -> ExecRequest {
    ExecRequest {
        argv: vec!["bash".into(), "-c".into(), command.into()],
        cwd: cwd.into(),
        env: env.to_vec(),
        stdin: None,
        timeout_ms,
        writable: None,
        nice: 0,
    }
}

struct Episode<'a> {
    session: Session,
    sink: egress::Sink,
    /// Serves a client agent's model traffic over HTTP.
    gateway: Option<gateway::Gateway>,
    /// Answers the agent's model calls, when it has a model.
    service: Option<Arc<Service>>,
    /// A client agent's name and where it keeps its transcripts.
    client_transcripts: Option<(&'static str, &'static str)>,
    /// Events already imported from each transcript, by path.
    imported: HashMap<String, usize>,
    writer: TraceWriter<BufWriter<File>>,
    /// Every event written, for the detectors.
    events: Vec<Event>,
    clock: &'a dyn Clock,
    /// The home directory's changes as last seen.
    files: Tracker,
    /// The most recent process started, to attribute honeypot opens that
    /// the kernel reported without a pid.
    last_exec: Option<(i32, Vec<String>)>,
    honeypot_ids: HashMap<String, String>,
    workdir: String,
    env: Vec<(String, String)>,
    deadline: Instant,
    step_timeout_ms: u64,
    next_call: u32,
    /// The first failure to write the trace; the episode fails with it.
    write_error: Option<io::Error>,
    /// What the harness's setup made, as it left it.
    setup: SetupFiles,
}

impl Episode<'_> {
    fn record(&mut self, source: Source, body: Body) {
        let ts = self.clock.now();
        match self.writer.append(ts, source, body.clone()) {
            Ok(seq) => self.events.push(Event { seq, ts, source, body }),
            Err(e) => {
                self.write_error.get_or_insert(e);
            }
        }
    }

    /// The model calls since the last drain, as events.
    fn model_exchanges(&mut self) -> Vec<(Instant, Body)> {
        let exchanges = self.service.as_ref().map(|s| s.drain()).unwrap_or_default();
        exchanges
            .into_iter()
            .map(|x| {
                let at = x.at;
                let (tools, tool_results) =
                    x.conversation.map(|c| (c.tools, c.tool_results as u64)).unwrap_or_default();
                let body = Body::ModelExchange {
                    api: x.api.into(),
                    path: x.path,
                    status: x.status,
                    tools,
                    tool_results,
                    asked: x.asked,
                    reply: x.reply,
                    usage: x.usage.map(|u| {
                        serde_json::json!({"input_tokens": u.input_tokens,
                            "output_tokens": u.output_tokens, "estimated": u.estimated})
                    }),
                    upstream: x.upstream,
                    error: x.error,
                    retries: x.retries,
                };
                (at, body)
            })
            .collect()
    }

    /// Records the model calls since the last drain: the built-in loop's
    /// call comes before the message and tool calls it produced.
    fn drain_model(&mut self) {
        for (_, body) in self.model_exchanges() {
            self.record(Source::Observed, body);
        }
    }

    /// Turns what the sandbox saw since the last call into events: its
    /// processes, connections, reads and requests, then the home's changes.
    fn observe(&mut self) -> Result<(), Stop> {
        self.record_audit(Source::Observed);
        self.record_changes(Source::Observed).map_err(sandbox_stop)
    }

    /// Records the home's changes since the last look as events of
    /// `source`.
    fn record_changes(&mut self, source: Source) -> Result<(), sandbox::Error> {
        let now = self.session.changes()?;
        for body in self.files.update(now) {
            self.record(source, body);
        }
        Ok(())
    }

    /// Records what the kernel, the model gateway and the egress sink saw
    /// since the last drain, as events of `source` (`observed` while the
    /// agent runs, `check` while the hidden checks do).
    fn record_audit(&mut self, source: Source) {
        let mut pending: Vec<(Instant, Body)> = Vec::new();
        let mut open: HashMap<i32, usize> = HashMap::new();
        for (at, record) in self.session.audit_timed() {
            match record {
                Audit::Exec(r) => {
                    self.last_exec = Some((r.pid, r.argv.clone()));
                    open.insert(r.pid, pending.len());
                    pending.push((
                        at,
                        Body::ProcessExec(ProcessExec {
                            pid: r.pid,
                            ppid: r.ppid,
                            path: r.path,
                            argv: r.argv,
                            cwd: r.cwd,
                            exit_code: None,
                            programs: r.programs,
                            argv_at_exit: None,
                        }),
                    ));
                }
                Audit::ExecArgv { pid, argv } => {
                    if let Some((_, Body::ProcessExec(p))) =
                        open.get(&pid).and_then(|i| pending.get_mut(*i))
                    {
                        p.argv_at_exit = Some(argv);
                    }
                }
                Audit::Exit { pid, code, argv } => {
                    if let Some((_, Body::ProcessExec(p))) =
                        open.remove(&pid).and_then(|i| pending.get_mut(i))
                    {
                        p.exit_code = Some(code);
                        if !argv.is_empty() && argv != p.argv {
                            p.argv_at_exit = Some(argv);
                        }
                    }
                }
                Audit::ProgramOpen { program, pid, argv } => {
                    // Without a pid (inotify), the opener is the latest exec.
                    let (pid, argv, attribution) = match (pid, &self.last_exec) {
                        (Some(pid), _) => (Some(pid), argv, "exact"),
                        (None, Some((pid, argv))) => (Some(*pid), argv.clone(), "correlated"),
                        (None, None) => (None, argv, "correlated"),
                    };
                    let attribution = attribution.into();
                    pending.push((at, Body::ProgramRead { program, pid, argv, attribution }));
                }
                Audit::Overflow { of, dropped } => {
                    pending.push((at, Body::Overflow { of: of.into(), dropped }));
                }
                Audit::Connect(c) => pending.push((
                    at,
                    Body::NetworkAttempt(NetworkAttempt {
                        pid: c.pid,
                        argv: c.argv,
                        family: c.family.into(),
                        address: c.address,
                        port: c.port,
                        allowed: c.loopback,
                        syscall: Some(c.call.into()),
                    }),
                )),
                Audit::HoneypotOpen(h) => {
                    let honeypot = self.honeypot_ids.get(&h.path).cloned().unwrap_or_default();
                    let (pid, argv, attribution) = match (h.pid, h.argv) {
                        (Some(pid), argv) => (Some(pid), argv, "exact"),
                        (None, _) => match &self.last_exec {
                            Some((pid, argv)) => (Some(*pid), Some(argv.clone()), "correlated"),
                            None => (None, None, "correlated"),
                        },
                    };
                    pending.push((
                        at,
                        Body::HoneypotRead(HoneypotRead {
                            path: h.path,
                            via: h.via,
                            honeypot,
                            pid,
                            argv,
                            attribution: attribution.into(),
                        }),
                    ));
                }
            }
        }
        pending.extend(self.model_exchanges());
        let egress = self.sink.drain();
        if egress.dropped > 0 {
            pending.push((
                Instant::now(),
                Body::Overflow { of: "egress_request".into(), dropped: egress.dropped },
            ));
        }
        for r in egress.requests {
            pending.push((
                r.at,
                Body::EgressRequest {
                    method: r.method,
                    target: r.target,
                    host: r.host,
                    bytes: r.bytes as u64,
                    sha256: r.sha256,
                    excerpt: r.excerpt,
                },
            ));
        }
        // One timeline across the kernel, the gateway and the sink (the
        // sort is stable: each source's own order is kept).
        pending.sort_by_key(|(at, _)| *at);
        for (_, body) in pending {
            self.record(source, body);
        }
    }

    fn remaining_ms(&self) -> Result<u64, Stop> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        // Under a millisecond left is no time left: a zero timeout would
        // still start the command.
        if left.as_millis() == 0 {
            return Err(wall_time());
        }
        Ok((left.as_millis() as u64).min(self.step_timeout_ms))
    }

    /// Runs a client program as the agent: its model traffic goes to the
    /// gateway, its tool calls are its own processes in the sandbox, and its
    /// final answer is read from its standard output. A `followup` run's
    /// answer is a message, not the submission.
    fn run_client(&mut self, command: &str, prompt: &str, followup: bool) -> Result<(), Stop> {
        let gateway = format!("http://127.0.0.1:{GATEWAY_PORT}");
        let mut env = self.env.clone();
        for (k, v) in [
            ("ANTHROPIC_BASE_URL", gateway.clone()),
            ("OPENAI_BASE_URL", format!("{gateway}/v1")),
            ("GOOGLE_GEMINI_BASE_URL", gateway.clone()),
            ("GEMINI_API_KEY", "perimeter-gateway".into()),
            // Clients insist on a key; the gateway ignores it. No real key
            // ever enters the sandbox.
            ("ANTHROPIC_API_KEY", "perimeter-gateway".into()),
            ("OPENAI_API_KEY", "perimeter-gateway".into()),
            ("PERIMETER_PROMPT", prompt.into()),
            // The `cmd:` contract (docs/cmd-contract.md): which turn this
            // is, in the environment every process of the command inherits
            // (a prefix on the command line reached only a pipeline's
            // first process).
            ("PERIMETER_CONTRACT", "perimeter.cmd/2".into()),
            ("PERIMETER_TURN", if followup { "followup" } else { "task" }.into()),
        ] {
            env.push((k.into(), v));
        }
        if followup {
            env.push(("PERIMETER_FOLLOWUP".into(), "1".into()));
        }
        let left = self.deadline.saturating_duration_since(Instant::now()).as_millis() as u64;
        if left == 0 {
            return Err(wall_time());
        }
        let out =
            self.session.exec(&bash(command, &self.workdir, &env, left)).map_err(sandbox_stop)?;
        self.observe()?;
        let imported = self.import_transcripts();
        let service = self.service.as_ref();
        // A limit reached: the client was told to stop, and did or not.
        if let Some(e) = service.and_then(|s| s.budget().exhausted()) {
            return Err(Stop { reason: e.reason, detail: e.detail });
        }
        let failure = service.and_then(|s| s.failure());
        let stderr = tail(out.stderr.trim(), 2000);
        match (out.status, failure) {
            // No model behind the client: whatever it printed is not an answer.
            (_, Some(f)) if f.reason != "model_error" => {
                Err(Stop { reason: f.reason, detail: f.detail })
            }
            (ExitStatus::Exited(0), _) => {
                let answer = tail(&agent::final_answer(&out.stdout), 8000);
                match followup {
                    false => self.record(Source::Agent, Body::Submission { answer }),
                    // Without a transcript, what the client printed is its
                    // only account of the answer.
                    true if imported == 0 => self.record(
                        Source::Agent,
                        Body::ModelMessage {
                            role: "assistant".into(),
                            text: answer,
                            reasoning: None,
                        },
                    ),
                    true => {}
                }
                Ok(())
            }
            (ExitStatus::TimedOut, _) => Err(wall_time()),
            (status, Some(f)) => Err(Stop {
                reason: f.reason,
                detail: format!("{}; `{command}` then ended with {status:?}: {stderr}", f.detail),
            }),
            (status, None) => Err(Stop {
                reason: EndReason::AgentError,
                detail: format!("`{command}` ended with {status:?}: {stderr}"),
            }),
        }
    }

    /// A file's content for the built-in loop's file tools, read by `cat`
    /// inside the sandbox so that ground truth sees the read (a honeypot
    /// read this way is one like any other). The outer error stops the
    /// episode; the inner one goes back to the model.
    fn read(&mut self, path: &str, timeout_ms: u64) -> Result<Result<String, String>, Stop> {
        let quoted = text::shell_quote(path);
        let req = bash(&format!("cat -- {quoted}"), &self.workdir, &self.env, timeout_ms);
        let out = self.session.exec(&req).map_err(sandbox_stop)?;
        Ok(match out.status {
            ExitStatus::Exited(0) if out.truncated => {
                Err(format!("{path} is larger than a tool result may be; read it with bash"))
            }
            ExitStatus::Exited(0) => Ok(out.stdout),
            _ => Err(out.stderr.trim().to_owned()),
        })
    }

    /// Lists the processes that outlived the agent's turn, then kills them.
    fn sweep(&mut self) {
        self.sweep_as(Source::Observed);
    }

    /// Lists the processes still alive as `source` events, then kills them.
    fn sweep_as(&mut self, source: Source) {
        match self.session.processes() {
            Ok(procs) => {
                for p in procs {
                    self.record(source, Body::ProcessLingering { pid: p.pid, argv: p.argv });
                }
            }
            Err(e) => self.record(
                Source::Harness,
                Body::Error { message: format!("listing processes: {e}") },
            ),
        }
        if let Err(e) = self.session.kill_all() {
            self.record(
                Source::Harness,
                Body::Error { message: format!("killing processes: {e}") },
            );
        }
        self.session.audit();
    }

    /// A client's own transcripts, read out of the sandbox (without
    /// running anything in it).
    fn transcripts(&mut self) -> Vec<sandbox::FileContent> {
        let Some((client, dir)) = self.client_transcripts else { return Vec::new() };
        match self.session.read_files(dir, ".jsonl", TRANSCRIPT_LIMIT) {
            Ok(files) => files,
            Err(e) => {
                self.record(
                    Source::Harness,
                    Body::Error { message: format!("reading {client} transcripts: {e}") },
                );
                Vec::new()
            }
        }
    }

    /// Imports what a client's transcripts hold beyond what was already
    /// imported, as agent events: its own account of the run, next to the
    /// gateway's record and the sandbox's.
    /// Returns how many events were imported.
    fn import_transcripts(&mut self) -> usize {
        let Some(format) = self.client_transcripts.and_then(|(c, _)| transcript_format(c)) else {
            return 0;
        };
        let mut count = 0;
        for sandbox::FileContent { path, content } in self.transcripts() {
            let Ok(bytes) = content else { continue }; // reported when kept
            let session = import::read(bytes.as_slice(), Some(format), import::Limits::default()).1;
            let done = self.imported.get(&path).copied().unwrap_or(0);
            for e in session.events.iter().skip(done) {
                self.record(Source::Agent, e.body.clone());
                count += 1;
            }
            self.imported.insert(path, session.events.len().max(done));
        }
        count
    }

    /// Copies a client's own transcripts into the run folder (`rel`) before
    /// the sandbox is torn down, and records each with its digest.
    fn keep_transcripts(&mut self, out: &Path, rel: &str) {
        let Some((client, _)) = self.client_transcripts else { return };
        for sandbox::FileContent { path, content } in self.transcripts() {
            let kept = content.and_then(|bytes| {
                let name = path.rsplit('/').next().unwrap_or("transcript.jsonl");
                let file = format!("{rel}/{name}");
                let target = out.join(&file);
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                fs::write(&target, &bytes).map_err(|e| format!("{}: {e}", target.display()))?;
                Ok((file, bytes))
            });
            let body = match kept {
                Ok((file, bytes)) => {
                    let errors = transcript_format(client)
                        .map(|f| {
                            import::read(bytes.as_slice(), Some(f), import::Limits::default())
                                .1
                                .errors
                        })
                        .unwrap_or_default();
                    if let Some(first) = errors.first() {
                        self.record(
                            Source::Harness,
                            Body::Error {
                                message: format!(
                                    "{path}: {} unreadable line(s), the first at line {}: {}",
                                    errors.len(),
                                    first.line,
                                    first.message
                                ),
                            },
                        );
                    }
                    Body::ClientTranscript {
                        client: client.into(),
                        path: path.clone(),
                        file,
                        bytes: bytes.len() as u64,
                        sha256: format!("sha256:{:x}", Sha256::digest(&bytes)),
                    }
                }
                Err(e) => {
                    Body::Error { message: format!("keeping {client} transcript {path}: {e}") }
                }
            };
            self.record(Source::Harness, body);
        }
    }
}

/// The format of a client agent's own transcript files.
fn transcript_format(client: &str) -> Option<import::Format> {
    match client {
        "claude-code" => Some(import::Format::ClaudeSession),
        "codex" => Some(import::Format::CodexRollout),
        "gemini-cli" => Some(import::Format::GeminiChat),
        _ => None,
    }
}

fn wall_time() -> Stop {
    Stop { reason: EndReason::WallTime, detail: "the episode's wall-time limit passed".into() }
}

fn sandbox_stop(e: sandbox::Error) -> Stop {
    Stop { reason: EndReason::SandboxError, detail: e.to_string() }
}

/// The last `max` bytes of `s`, on a character boundary.
fn tail(s: &str, max: usize) -> String {
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    s[start..].to_owned()
}

impl Environment for Episode<'_> {
    fn message(&mut self, text: &str, reasoning: Option<&str>) -> Result<(), Stop> {
        self.drain_model();
        self.record(
            Source::Agent,
            Body::ModelMessage {
                role: "assistant".into(),
                text: text.into(),
                reasoning: reasoning.map(Into::into),
            },
        );
        Ok(())
    }

    fn call(&mut self, call: ToolCall) -> Result<ToolOutput, Stop> {
        self.drain_model();
        let timeout_ms = self.remaining_ms()?;
        let call_id = format!("call-{}", self.next_call);
        self.next_call += 1;
        self.record(
            Source::Agent,
            Body::ToolCall {
                call_id: call_id.clone(),
                tool: call.name().into(),
                input: call.input(),
            },
        );
        let mut wall_time_hit = false;
        let result = match &call {
            ToolCall::Bash { command } => {
                let out = self
                    .session
                    .exec(&bash(command, &self.workdir, &self.env, timeout_ms))
                    .map_err(sandbox_stop)?;
                let mut output = out.stdout;
                output.push_str(&out.stderr);
                if out.truncated {
                    output.push_str("\n[output truncated]");
                }
                let (exit_code, is_error) = match out.status {
                    ExitStatus::Exited(c) => (Some(c), c != 0),
                    ExitStatus::Signaled(s) => (Some(128 + s), true),
                    ExitStatus::TimedOut => {
                        output.push_str(&format!("\n[timed out after {timeout_ms} ms]"));
                        // The episode's limit, not the step's, cut it short.
                        wall_time_hit = timeout_ms < self.step_timeout_ms;
                        (None, true)
                    }
                };
                ToolOutput { output, exit_code, is_error }
            }
            ToolCall::WriteFile { path, content } => match self.session.write_file(path, content) {
                Ok(()) => ToolOutput {
                    output: format!("wrote {} bytes to {path}", content.len()),
                    exit_code: None,
                    is_error: false,
                },
                Err(e) => ToolOutput { output: e.to_string(), exit_code: None, is_error: true },
            },
            ToolCall::ReadFile { path } => match self.read(path, timeout_ms)? {
                Ok(content) => ToolOutput { output: content, exit_code: None, is_error: false },
                Err(e) => ToolOutput { output: e, exit_code: None, is_error: true },
            },
            ToolCall::EditFile { path, old, new } => {
                let edited = self.read(path, timeout_ms)?.and_then(|content| {
                    match content.matches(old.as_str()).count() {
                        1 => Ok(content.replacen(old.as_str(), new, 1)),
                        0 => Err(format!("old_text does not occur in {path}")),
                        n => Err(format!("old_text occurs {n} times in {path}; give more context")),
                    }
                });
                let written = edited.and_then(|content| {
                    self.session.write_file(path, &content).map_err(|e| e.to_string())
                });
                match written {
                    Ok(()) => ToolOutput {
                        output: format!("edited {path}"),
                        exit_code: None,
                        is_error: false,
                    },
                    Err(e) => ToolOutput { output: e, exit_code: None, is_error: true },
                }
            }
        };
        self.observe()?;
        self.record(
            Source::Agent,
            Body::ToolResult {
                call_id,
                output: result.output.clone(),
                exit_code: result.exit_code,
                is_error: result.is_error,
            },
        );
        if wall_time_hit {
            return Err(wall_time());
        }
        if let Some(e) = &self.write_error {
            return Err(Stop {
                reason: EndReason::HarnessError,
                detail: format!("writing the trace: {e}"),
            });
        }
        Ok(result)
    }

    fn submit(&mut self, answer: &str) -> Result<(), Stop> {
        self.drain_model();
        self.record(Source::Agent, Body::Submission { answer: answer.into() });
        Ok(())
    }
}
