//! Runs a suite against an agent: plans the episodes, executes them in
//! sandboxes (several at a time), and writes the run folder.
//!
//! # The run folder
//!
//! ```text
//! DIR/run.json                           what is being run (RunHeader), written first
//! DIR/episodes/<scenario>/e<N>.trace.jsonl    one trace per finished episode
//! DIR/episodes/<scenario>/e<N>.result.json    its EpisodeRecord
//! DIR/episodes/<scenario>/e<N>.client/        a client agent's own transcripts
//! DIR/summary.json                       perimeter.summary/1, written last
//! ```
//!
//! A trace is written as `*.partial` and renamed when complete; its record is
//! written after it. An episode is finished exactly when its record exists,
//! so a run killed at any point loses no finished episode, and `resume`
//! runs only the rest.
//!
//! What to run (the plan) is separate from where it runs (the local worker
//! pool here): an episode is a function of its inputs.

#![forbid(unsafe_code)]

mod changes;
mod episode;
pub mod merge;
mod programs;
pub mod rates;
mod reachable;
mod relabel;
pub mod summary;
mod validate;

use formats::{ClassId, EndReason};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use agent::AgentSpec;
use scenario::{Scenario, Suite};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use trace::{Clock, Header, Timestamp};

use crate::episode::EpisodeInput;
pub use crate::relabel::{RelabelError, relabel};
pub use crate::summary::{ClientRecord, EpisodeRecord, LimitsRecord, RunHeader, SuiteRef, Summary};
pub use crate::validate::{MEASURE_FORMAT, Measure, Miss, Rate, ValidateConfig, Verdict, validate};

/// The protocol version this harness's labels follow.
pub const PROTOCOL: &str = "perimeter-protocol/0.1";

/// Limits on one episode.
#[derive(Debug, Clone)]
pub struct EpisodeLimits {
    pub wall_time_ms: u64,
    /// The longest a single tool call may run.
    pub step_timeout_ms: u64,
    pub sandbox: sandbox::Limits,
    /// Model turns, tokens and cost.
    pub model: gateway::Limits,
}

impl Default for EpisodeLimits {
    fn default() -> Self {
        EpisodeLimits {
            wall_time_ms: 600_000,
            step_timeout_ms: 120_000,
            sandbox: sandbox::Limits::default(),
            model: gateway::Limits::default(),
        }
    }
}

pub struct RunConfig {
    /// The standard suite: the one a round compares.
    pub suite: Suite,
    /// The lab's own suites, run beside it (`--suite builtin --suite
    /// ./lab`), each reported apart.
    pub extensions: Vec<Suite>,
    /// The agent spec as the user wrote it, and parsed.
    pub agent: AgentSpec,
    /// Scenario ids to run, in order; empty means the whole suite.
    pub scenarios: Vec<String>,
    pub epochs: u32,
    pub seed: u64,
    /// Agents run at once; an episode whose agent has ended runs its checks
    /// beside them, so up to twice as many sandboxes stand.
    pub concurrency: usize,
    pub limits: EpisodeLimits,
    pub out: PathBuf,
    /// Finish an interrupted run in `out` instead of refusing to touch it.
    pub resume: bool,
    /// With `resume`: run again the episodes whose record says they ended
    /// for an infrastructure reason.
    pub retry_failed: bool,
    /// The program the sandbox re-executes as its init (the running binary).
    pub init_program: PathBuf,
    /// A directory for per-episode scratch space, traversable by the
    /// sandbox's user.
    pub scratch: PathBuf,
    /// The installed agent clients (`clients/` after `npm ci --prefix
    /// clients`), bound read-only into sandboxes of client agents.
    pub clients: Option<PathBuf>,
    /// A `cmd:` agent's own folder (its code and what it needs), bound
    /// read-only into each sandbox at `/srv/scaffold`.
    pub scaffold: Option<PathBuf>,
    /// `perimeter <version>`.
    pub harness: String,
    /// Where a relayed model's calls go, with the key the harness holds
    /// (`Upstream::new` over the environment); `None` for scripted models.
    pub upstream: Option<gateway::Upstream>,
    /// Attack mode: each episode's task carries one of its scenario's
    /// secret side tasks, and says a monitor watches.
    pub side_tasks: bool,
    /// Only this part of the plan: the episodes whose position in it is
    /// `index` modulo `count`.
    pub shard: Option<formats::run::Shard>,
    /// What the whole run may spend, and how fast it may call the model,
    /// shared by its episodes.
    pub run_budget: Option<std::sync::Arc<gateway::RunBudget>>,
}

/// Progress reports. Called from the thread that called [`run`], except
/// `episode_started`, which workers call.
pub trait Observer: Sync {
    fn planned(&self, total: usize, already_done: usize);
    fn episode_started(&self, scenario: &str, epoch: u32);
    fn episode_finished(&self, record: &EpisodeRecord, done: usize, total: usize);
}

#[derive(Debug)]
pub enum Error {
    /// The agent is a client program that is not installed.
    MissingClient {
        agent: String,
        /// The npm package and its pinned version.
        package: (String, String),
        looked_in: Option<PathBuf>,
    },
    UnknownScenario {
        id: String,
        available: Vec<String>,
    },
    MissingPolicy {
        agent: String,
        scenario: String,
        available: Vec<String>,
    },
    /// The output folder already holds a run and `resume` was not asked for.
    RunExists {
        out: PathBuf,
    },
    /// `resume` on a folder whose run differs from this one.
    ResumeMismatch {
        out: PathBuf,
        differences: Vec<String>,
    },
    Io {
        path: PathBuf,
        source: io::Error,
    },
    Sandbox {
        scenario: String,
        message: String,
    },
    BadRecord {
        path: PathBuf,
        message: String,
    },
    /// A relayed model without an upstream to relay to.
    Model {
        scenario: String,
        message: String,
    },
    /// Before any episode: the model's upstream cannot be used as
    /// configured (no key, a refused key, no answer).
    Preflight(gateway::PreflightError),
    /// Before any episode: the harness, as root, lacks a capability no
    /// sandbox can be trusted without.
    Capabilities(Vec<sandbox::Capability>),
    /// The suites of one run overlap: a suite given twice, or a scenario
    /// id in two of them.
    SuiteClash(String),
    /// A client installed at another version than its pin.
    ClientVersion {
        agent: String,
        package: String,
        installed: String,
        pinned: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnknownScenario { id, .. } => write!(f, "no scenario `{id}` in the suite"),
            Error::MissingPolicy { agent, scenario, .. } => {
                write!(f, "agent `{agent}` has no policy in scenario `{scenario}`")
            }
            Error::RunExists { out } => write!(f, "`{}` already holds a run", out.display()),
            Error::ResumeMismatch { out, differences } => {
                write!(
                    f,
                    "cannot resume `{}`: it holds a different run ({})",
                    out.display(),
                    differences.join("; ")
                )
            }
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Sandbox { scenario, message } => write!(f, "scenario `{scenario}`: {message}"),
            Error::BadRecord { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Model { scenario, message } => {
                write!(f, "scenario `{scenario}`: the model: {message}")
            }
            Error::Preflight(e) => write!(f, "nothing was run: {e}"),
            Error::SuiteClash(e) => write!(f, "{e}"),
            Error::Capabilities(missing) => {
                let each: Vec<String> =
                    missing.iter().map(|c| format!("{} ({})", c.name, c.why)).collect();
                write!(f, "nothing was run: running as root without {}", each.join(", "))
            }
            Error::ClientVersion { agent, package, installed, pinned } => write!(
                f,
                "agent `{agent}` needs {package} {pinned}, as clients/package.json pins it; {installed} is installed"
            ),
            Error::MissingClient { agent, package: (package, version), looked_in: Some(dir) } => {
                write!(
                    f,
                    "agent `{agent}` needs {package} {version}, which is not installed in `{}`",
                    dir.display()
                )
            }
            Error::MissingClient { agent, package: (package, version), looked_in: None } => {
                write!(
                    f,
                    "agent `{agent}` needs {package} {version}, and no installed clients were found"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::UnknownScenario { id, available } => {
                let all = format!("available scenarios: {}", available.join(", "));
                Some(match text::closest(id, available.iter().map(String::as_str)) {
                    Some(near) => format!("did you mean `{near}`? {all}"),
                    None => all,
                })
            }
            Error::MissingPolicy { available, .. } => {
                let specs: Vec<String> =
                    available.iter().map(|p| format!("scripted:{p}")).collect();
                Some(format!("scripted agents this scenario has: {}", specs.join(", ")))
            }
            Error::RunExists { .. } => {
                Some("pass `--resume` to finish it, or choose another `--out`".into())
            }
            Error::ResumeMismatch { .. } => {
                Some("resume with the same options, or choose another `--out`".into())
            }
            Error::Io { .. } => Some("check that the path exists and is writable".into()),
            Error::Sandbox { .. } => Some(
                "`perimeter doctor` checks what this machine's sandbox needs"
                    .into(),
            ),
            Error::BadRecord { .. } => {
                Some("delete the damaged record to run that episode again".into())
            }
            Error::Model { .. } => Some("check `--model`".into()),
            Error::SuiteClash(_) => Some(
                "an extension suite's scenarios need ids of their own; give each suite once".into(),
            ),
            Error::Capabilities(_) => Some(
                "in a container, add the capabilities (docs/cluster.md lists what the sandbox needs and why); `perimeter doctor` checks them".into(),
            ),
            Error::Preflight(gateway::PreflightError::NoKey { var }) => Some(format!(
                "export {var}=… (the harness reads it; no sandbox ever sees it)"
            )),
            Error::Preflight(gateway::PreflightError::Refused { .. }) => {
                Some("check the key, and the base URL it is meant for".into())
            }
            Error::Preflight(gateway::PreflightError::Unreachable { .. }) => Some(
                "check the network, the base URL (ANTHROPIC_BASE_URL, OPENAI_BASE_URL, GEMINI_BASE_URL) or PERIMETER_CA_FILE".into(),
            ),
            Error::ClientVersion { .. } => Some(
                "install the pinned clients with `npm ci --prefix clients`, or pass `--clients DIR`".into(),
            ),
            Error::MissingClient { .. } => Some(
                "install the pinned clients with `npm ci --prefix clients` (versions in clients/package.json), or pass `--clients DIR`"
                    .into(),
            ),
        }
    }
}

/// One planned episode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEpisode {
    pub scenario: String,
    pub epoch: u32,
    pub seed: u64,
}

impl PlannedEpisode {
    pub fn trace_rel(&self) -> String {
        format!("episodes/{}/e{}.trace.jsonl", self.scenario, self.epoch)
    }

    pub fn record_rel(&self) -> String {
        format!("episodes/{}/e{}.result.json", self.scenario, self.epoch)
    }
}

/// The episodes of a run: every scenario, every epoch, each with a seed
/// derived from the run's seed so that reruns are identical.
pub fn plan(scenarios: &[String], epochs: u32, seed: u64) -> Vec<PlannedEpisode> {
    let mut out = Vec::new();
    for epoch in 0..epochs {
        for s in scenarios {
            let h = Sha256::digest(format!("perimeter episode seed\n{seed}\n{s}\n{epoch}"));
            let seed = u64::from_le_bytes(h[..8].try_into().expect("8 bytes"));
            out.push(PlannedEpisode { scenario: s.clone(), epoch, seed });
        }
    }
    out
}

impl RunConfig {
    /// Every scenario of every suite of the run, by id.
    fn scenarios_by_id(&self) -> BTreeMap<&str, &Scenario> {
        self.suites().flat_map(|s| &s.scenarios).map(|s| (s.manifest.id.as_str(), s)).collect()
    }

    /// Every suite of the run: the standard one first.
    fn suites(&self) -> impl Iterator<Item = &Suite> {
        std::iter::once(&self.suite).chain(&self.extensions)
    }

    /// A scenario of the run, with the suite that holds it.
    pub fn scenario(&self, id: &str) -> Option<(&Suite, &Scenario)> {
        self.suites().find_map(|suite| suite.get(id).map(|s| (suite, s)))
    }

    /// The scenarios each suite runs, in order: all of them, or those
    /// asked for in the order asked.
    fn scenario_ids(&self) -> Result<Vec<Vec<String>>, Error> {
        let mut seen: Vec<(&str, &Suite)> = Vec::new();
        for suite in self.suites() {
            if let Some((_, other)) = seen.iter().find(|(_, o)| o.digest == suite.digest) {
                return Err(Error::SuiteClash(format!(
                    "suite `{}` is given twice (as `{}` too)",
                    suite.name, other.name
                )));
            }
            for s in &suite.scenarios {
                let id = s.manifest.id.as_str();
                if let Some((_, other)) = seen.iter().find(|(i, _)| *i == id) {
                    return Err(Error::SuiteClash(format!(
                        "scenario `{id}` is in suite `{}` and in suite `{}`",
                        other.name, suite.name
                    )));
                }
                seen.push((id, suite));
            }
        }
        let all: Vec<String> = seen.iter().map(|(id, _)| id.to_string()).collect();
        if let Some(id) = self.scenarios.iter().find(|id| !all.contains(id)) {
            return Err(Error::UnknownScenario { id: id.clone(), available: all });
        }
        Ok(self
            .suites()
            .map(|suite| match self.scenarios.is_empty() {
                true => suite.scenarios.iter().map(|s| s.manifest.id.clone()).collect(),
                false => {
                    self.scenarios.iter().filter(|id| suite.get(id).is_some()).cloned().collect()
                }
            })
            .collect())
    }

    pub fn header(&self) -> Result<RunHeader, Error> {
        let l = &self.limits;
        let mut ids = self.scenario_ids()?.into_iter();
        let scenarios = ids.next().unwrap_or_default();
        let extensions = self
            .extensions
            .iter()
            .zip(ids)
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(suite, scenarios)| formats::run::ExtensionSuite {
                name: suite.name.clone(),
                digest: suite.digest.clone(),
                scenarios,
            })
            .collect();
        Ok(RunHeader {
            protocol: PROTOCOL.into(),
            suite: SuiteRef { name: self.suite.name.clone(), digest: self.suite.digest.clone() },
            agent: self.agent.to_string(),
            harness: self.harness.clone(),
            seed: self.seed,
            epochs: self.epochs,
            scenarios,
            extensions,
            limits: LimitsRecord {
                wall_time_ms: l.wall_time_ms,
                step_timeout_ms: l.step_timeout_ms,
                memory_bytes: l.sandbox.memory_bytes,
                processes: l.sandbox.processes,
                file_size_bytes: l.sandbox.file_size_bytes,
                disk_bytes: l.sandbox.disk_bytes,
                max_turns: l.model.turns,
                max_tokens: l.model.tokens,
                max_cost_usd: l.model.cost_usd,
                price_usd_per_mtok: l.model.price.map(|p| [p.input, p.output]),
            },
            side_tasks: self.side_tasks,
            shard: self.shard,
            scaffold_digest: match &self.scaffold {
                Some(dir) => Some(folder_digest(dir).map_err(io_at(dir))?),
                None => None,
            },
            scaffold: self.agent.scaffold().into(),
            permission_mode: self.agent.permission_mode().into(),
            client: self.agent.client_package().map(|(package, pinned)| ClientRecord {
                version: self.clients.as_deref().and_then(|d| agent::installed_version(d, package)),
                package: package.into(),
                pinned,
            }),
        })
    }
}

/// `sha256:<hex>` over a folder's files, in path order: each one's path
/// relative to the folder, its kind, its length and its bytes (a link's
/// target for a symbolic link).
pub fn folder_digest(dir: &Path) -> io::Result<String> {
    fn walk(
        dir: &Path,
        rel: &str,
        out: &mut Vec<(String, fs::FileType, PathBuf)>,
    ) -> io::Result<()> {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let kind = entry.file_type()?;
            if kind.is_dir() {
                walk(&entry.path(), &rel, out)?;
            } else {
                out.push((rel, kind, entry.path()));
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, "", &mut files)?;
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut h = Sha256::new();
    h.update(b"perimeter folder\n");
    for (rel, kind, path) in files {
        let (tag, bytes) = match kind.is_symlink() {
            true => ("link", fs::read_link(&path)?.to_string_lossy().into_owned().into_bytes()),
            false => ("file", fs::read(&path)?),
        };
        h.update(format!("{rel}\0{tag}\0{}\0", bytes.len()));
        h.update(&bytes);
    }
    Ok(format!("sha256:{:x}", h.finalize()))
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp).map_err(io_at(&tmp))?;
    io::Write::write_all(&mut f, bytes).map_err(io_at(&tmp))?;
    f.sync_all().map_err(io_at(&tmp))?;
    fs::rename(&tmp, path).map_err(io_at(path))
}

fn differences(old: &RunHeader, new: &RunHeader) -> Vec<String> {
    let mut d = Vec::new();
    let mut cmp = |name: &str, a: String, b: String| {
        if a != b {
            d.push(format!("{name}: `{a}` there, `{b}` now"));
        }
    };
    cmp("protocol", old.protocol.clone(), new.protocol.clone());
    cmp(
        "suite",
        format!("{} {}", old.suite.name, old.suite.digest),
        format!("{} {}", new.suite.name, new.suite.digest),
    );
    cmp("agent", old.agent.clone(), new.agent.clone());
    cmp("harness", old.harness.clone(), new.harness.clone());
    cmp("seed", old.seed.to_string(), new.seed.to_string());
    cmp("epochs", old.epochs.to_string(), new.epochs.to_string());
    cmp("scenarios", old.scenarios.join(","), new.scenarios.join(","));
    cmp("limits", format!("{:?}", old.limits), format!("{:?}", new.limits));
    cmp("shard", format!("{:?}", old.shard), format!("{:?}", new.shard));
    cmp("scaffold", format!("{:?}", old.scaffold_digest), format!("{:?}", new.scaffold_digest));
    let named = |h: &RunHeader| -> String {
        let each: Vec<String> = h
            .extensions
            .iter()
            .map(|e| format!("{} {} ({})", e.name, e.digest, e.scenarios.join(",")))
            .collect();
        each.join("; ")
    };
    cmp("extension suites", named(old), named(new));
    d
}

/// Loads the records of finished episodes, in plan order; `None` where an
/// episode has not finished.
fn finished_records(
    out: &Path,
    planned: &[PlannedEpisode],
) -> Result<Vec<Option<EpisodeRecord>>, Error> {
    planned
        .iter()
        .map(|p| {
            let path = out.join(p.record_rel());
            match fs::read(&path) {
                Ok(bytes) => serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| Error::BadRecord { path, message: e.to_string() }),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::Io { path, source: e }),
            }
        })
        .collect()
}

/// Runs (or resumes) a suite against an agent and writes the run folder.
pub fn run(
    config: &RunConfig,
    clock: &dyn Clock,
    observer: &dyn Observer,
) -> Result<Summary, Error> {
    let header = config.header()?;
    let missing: Vec<sandbox::Capability> =
        sandbox::missing_capabilities().into_iter().filter(|c| c.required).collect();
    if !missing.is_empty() {
        return Err(Error::Capabilities(missing));
    }
    check_policies(config, &header)?;
    check_client(config)?;
    // Before anything is written: the model answers and takes the key.
    if let Some(upstream) = &config.upstream {
        upstream.preflight().map_err(Error::Preflight)?;
    }
    open_run_folder(config, &header)?;
    let started = clock.now();
    let planned = mine(plan(&header.all_scenarios(), config.epochs, config.seed), config.shard);
    let mut records = finished_records(&config.out, &planned)?;
    if config.retry_failed {
        // Their traces and records are replaced as the episodes run again;
        // what the failed attempt's client wrote goes, so that no file of
        // it is taken for the new attempt's.
        for (r, p) in records.iter_mut().zip(&planned) {
            if r.as_ref().is_some_and(|e| e.end_reason.is_infrastructure()) {
                *r = None;
                let client = config.out.join(p.trace_rel().replace(".trace.jsonl", ".client"));
                match fs::remove_dir_all(&client) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => {
                        return Err(Error::Io { path: client, source: e });
                    }
                    _ => {}
                }
            }
        }
    }
    let todo: Vec<usize> = (0..planned.len()).filter(|i| records[*i].is_none()).collect();
    observer.planned(planned.len(), planned.len() - todo.len());
    execute(config, &header, &planned, &mut records, &todo, clock, observer)?;
    let episodes: Vec<EpisodeRecord> =
        records.into_iter().map(|r| r.expect("every episode finished")).collect();
    let summary = summarize(&config.scenarios_by_id(), header, episodes, started, clock.now());
    let bytes = serde_json::to_vec_pretty(&summary).expect("summary serializes");
    write_atomic(&config.out.join("summary.json"), &bytes)?;
    Ok(summary)
}

/// The planned episodes a shard runs: those whose position in the plan is
/// its index modulo the shard count (all of them without a shard). Each
/// keeps the seed the whole plan gives it.
pub fn mine(
    planned: Vec<PlannedEpisode>,
    shard: Option<formats::run::Shard>,
) -> Vec<PlannedEpisode> {
    match shard {
        None => planned,
        Some(s) => planned
            .into_iter()
            .enumerate()
            .filter(|(i, _)| *i as u32 % s.count == s.index)
            .map(|(_, p)| p)
            .collect(),
    }
}

/// A run's summary from its episodes: the standard suite's rates over its
/// episodes, and each extension suite's over its own, with the classes
/// and framings their scenarios declare. `scenarios` holds every
/// scenario of the run by id.
pub(crate) fn summarize(
    scenarios: &BTreeMap<&str, &Scenario>,
    header: RunHeader,
    episodes: Vec<EpisodeRecord>,
    started: Timestamp,
    finished: Timestamp,
) -> Summary {
    let rates_of = |ids: &[String]| {
        let ours: Vec<EpisodeRecord> =
            episodes.iter().filter(|e| ids.contains(&e.scenario)).cloned().collect();
        let manifests: Vec<&scenario::Manifest> =
            ids.iter().filter_map(|id| scenarios.get(id.as_str())).map(|s| &s.manifest).collect();
        let declared: std::collections::BTreeSet<ClassId> =
            manifests.iter().flat_map(|m| m.class_ids()).collect();
        let framings: Vec<rates::Framing> = manifests
            .iter()
            .flat_map(|m| {
                m.framings.iter().map(|param| rates::Framing {
                    scenario: m.id.clone(),
                    param: param.clone(),
                    choices: m.params.get(param).cloned().unwrap_or_default(),
                    classes: m.class_ids(),
                })
            })
            .collect();
        rates::rates(&ours, &declared, &framings, header.seed)
    };
    let rates = rates_of(&header.scenarios);
    let extension_rates = header
        .extensions
        .iter()
        .map(|e| formats::run::ExtensionRates {
            name: e.name.clone(),
            digest: e.digest.clone(),
            rates: rates_of(&e.scenarios),
        })
        .collect();
    Summary {
        format: summary::FORMAT.into(),
        version: summary::VERSION,
        // A resumed run started when its first episode did.
        started: episodes.iter().map(|e| e.started).min().unwrap_or(started).min(started),
        finished,
        header,
        rates: Some(rates),
        extension_rates,
        episodes,
    }
}

/// Refuses before any work if a scripted agent (or scripted model) lacks a
/// policy for a scenario.
fn check_policies(config: &RunConfig, header: &RunHeader) -> Result<(), Error> {
    for id in &header.all_scenarios() {
        let (_, s) = config.scenario(id).expect("validated by scenario_ids");
        let played = config.agent.policies_played();
        if played.iter().any(|p| !s.manifest.policies.contains_key(*p)) {
            return Err(Error::MissingPolicy {
                agent: header.agent.clone(),
                scenario: id.clone(),
                available: s.manifest.policies.keys().cloned().collect(),
            });
        }
    }
    Ok(())
}

/// Refuses before any work if the agent is a client program that is not
/// installed.
fn check_client(config: &RunConfig) -> Result<(), Error> {
    let Some(binary) = config.agent.client_binary() else { return Ok(()) };
    match &config.clients {
        Some(dir) if dir.join(binary).is_file() => {
            let Some((package, pinned)) = config.agent.client_package() else { return Ok(()) };
            match agent::installed_version(dir, package) {
                Some(installed) if installed != pinned => Err(Error::ClientVersion {
                    agent: config.agent.to_string(),
                    package: package.into(),
                    installed,
                    pinned,
                }),
                _ => Ok(()),
            }
        }
        looked_in => Err(Error::MissingClient {
            agent: config.agent.to_string(),
            package: config
                .agent
                .client_package()
                .map(|(p, v)| (p.to_owned(), v))
                .unwrap_or_default(),
            looked_in: looked_in.clone(),
        }),
    }
}

/// Creates the run folder with its `run.json`, or, when resuming, checks
/// that the folder holds this same run.
fn open_run_folder(config: &RunConfig, header: &RunHeader) -> Result<(), Error> {
    let out = &config.out;
    fs::create_dir_all(out).map_err(io_at(out))?;
    let run_json = out.join("run.json");
    match fs::read(&run_json) {
        Ok(bytes) if config.resume => {
            let old: RunHeader = serde_json::from_slice(&bytes)
                .map_err(|e| Error::BadRecord { path: run_json.clone(), message: e.to_string() })?;
            let d = differences(&old, header);
            if d.is_empty() {
                Ok(())
            } else {
                Err(Error::ResumeMismatch { out: out.clone(), differences: d })
            }
        }
        Ok(_) => Err(Error::RunExists { out: out.clone() }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            write_atomic(&run_json, &serde_json::to_vec_pretty(header).expect("header serializes"))
        }
        Err(e) => Err(Error::Io { path: run_json, source: e }),
    }
}

/// Runs the planned episodes at indices `todo` on a pool of workers, filling
/// in `records` as they finish. After the first failure no new episode
/// starts; those running finish, and the failure is returned.
fn execute(
    config: &RunConfig,
    header: &RunHeader,
    planned: &[PlannedEpisode],
    records: &mut [Option<EpisodeRecord>],
    todo: &[usize],
    clock: &dyn Clock,
    observer: &dyn Observer,
) -> Result<(), Error> {
    remove_stale_scratch(&config.scratch);
    let scratch = config.scratch.join(format!("run-{}", std::process::id()));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let gate = Gate::default();
    let agents = Agents::new(config.concurrency.max(1));
    let (tx, rx) = mpsc::channel();
    let mut done = records.iter().filter(|r| r.is_some()).count();
    let mut first_error = None;
    std::thread::scope(|s| {
        // `concurrency` agents at once, and as many episodes again whose
        // agent has ended and whose checks run: an episode's checks do not
        // hold back the next agent.
        for slot in 0..(2 * config.concurrency).clamp(1, todo.len().max(1)) {
            let tx = tx.clone();
            let (next, failed, scratch, gate, agents) = (&next, &failed, &scratch, &gate, &agents);
            s.spawn(move || {
                loop {
                    let agent = agents.acquire();
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= todo.len() || failed.load(Ordering::Relaxed) {
                        return;
                    }
                    let p = &planned[todo[k]];
                    observer.episode_started(&p.scenario, p.epoch);
                    let worker = Worker { slot: slot as u32, scratch, clock, gate };
                    let result = run_one(config, header, p, &worker, &|| agent.release());
                    drop(agent);
                    failed.fetch_or(result.is_err(), Ordering::Relaxed);
                    if tx.send((todo[k], result)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        for (i, result) in rx {
            match result {
                Ok(record) => {
                    done += 1;
                    observer.episode_finished(&record, done, records.len());
                    records[i] = Some(record);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
    });
    let _ = fs::remove_dir(&scratch);
    first_error.map_or(Ok(()), Err)
}

/// Removes the scratch space of runs whose process is gone (killed runs
/// cannot clean up after themselves).
fn remove_stale_scratch(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) =
            name.to_str().and_then(|n| n.strip_prefix("run-")).and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// How many episodes' agents may run at once: a counting semaphore. An
/// episode holds an [`Agent`] from before its sandbox is built until its
/// agent has ended (or the episode has, if sooner).
struct Agents {
    free: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

/// One episode's place among the running agents; given back once, by
/// [`Agent::release`] or on drop.
struct Agent<'a> {
    agents: &'a Agents,
    held: std::cell::Cell<bool>,
}

impl Agents {
    fn new(n: usize) -> Agents {
        Agents { free: std::sync::Mutex::new(n), freed: std::sync::Condvar::new() }
    }

    /// Waits for a free place and takes it.
    fn acquire(&self) -> Agent<'_> {
        let free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let mut free =
            self.freed.wait_while(free, |free| *free == 0).unwrap_or_else(|e| e.into_inner());
        *free -= 1;
        Agent { agents: self, held: std::cell::Cell::new(true) }
    }
}

impl Agent<'_> {
    fn release(&self) {
        if self.held.replace(false) {
            *self.agents.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            self.agents.freed.notify_one();
        }
    }
}

impl Drop for Agent<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

/// Attempts at building an episode's sandbox, while no other episode
/// runs, before it ends as `sandbox_error`.
const SANDBOX_ATTEMPTS: u32 = 4;

/// How long an episode whose sandbox could not be built waits for another
/// to end before it tries again anyway.
const GATE_WAIT: Duration = Duration::from_secs(120);

/// How many episodes are running, and how many have ended: an episode
/// whose sandbox could not be built for want of what the others hold (the
/// kernel's fanotify groups and inotify instances, 128 each per user by
/// default; memory) waits for one to end.
#[derive(Default)]
struct Gate {
    state: std::sync::Mutex<(usize, u64)>,
    ended: std::sync::Condvar,
}

/// What [`Gate::enter`] saw: the others running, and how many had ended.
struct Entered {
    others: usize,
    ended: u64,
}

impl Gate {
    /// Runs `episode`, which builds its sandbox first, until the sandbox
    /// is built. While other episodes run, a build that fails waits for
    /// the next of them to end (or [`GATE_WAIT`]) and tries again, as
    /// often as that takes: what it lacked is likely theirs, and they all
    /// end. Alone, it tries [`SANDBOX_ATTEMPTS`] times, `pause` doubling
    /// between tries, and then gives the last error.
    fn run<T>(
        &self,
        pause: Duration,
        mut episode: impl FnMut() -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut attempt = 1;
        loop {
            let started = self.enter();
            let result = episode();
            self.leave(!matches!(result, Err(Error::Sandbox { .. })));
            match result {
                Err(Error::Sandbox { .. }) if started.others > 0 => {
                    self.wait_for_an_end(started.ended, GATE_WAIT);
                }
                Err(Error::Sandbox { .. }) if attempt < SANDBOX_ATTEMPTS => {
                    std::thread::sleep(pause * (1 << attempt));
                    attempt += 1;
                }
                Err(Error::Sandbox { scenario, message }) => {
                    let message =
                        format!("the sandbox could not be built in {attempt} attempts: {message}");
                    return Err(Error::Sandbox { scenario, message });
                }
                other => return other,
            }
        }
    }

    fn enter(&self) -> Entered {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.0 += 1;
        Entered { others: s.0 - 1, ended: s.1 }
    }

    /// An episode is no longer running; `ran` when its sandbox was built,
    /// so that what it held is free again: enough for one more sandbox,
    /// so one waiting episode is woken (every waiter has seen fewer ends
    /// than there now are). A build that failed frees nothing and wakes no
    /// one. (Once, every failed build woke every waiting episode, which
    /// tried, failed and woke the others in turn, until they gave up while
    /// the run went on.)
    fn leave(&self, ran: bool) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.0 -= 1;
        if ran {
            s.1 += 1;
            self.ended.notify_one();
        }
    }

    /// Waits until an episode other than ours ends after `seen` had, or
    /// `timeout` passes.
    fn wait_for_an_end(&self, seen: u64, timeout: Duration) {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self.ended.wait_timeout_while(s, timeout, |s| s.1 <= seen);
    }
}

/// What a worker of [`execute`] runs its episodes with.
#[derive(Clone, Copy)]
struct Worker<'a> {
    /// Distinguishes the sandboxes that stand at once.
    slot: u32,
    scratch: &'a Path,
    clock: &'a dyn Clock,
    gate: &'a Gate,
}

fn run_one(
    config: &RunConfig,
    header: &RunHeader,
    p: &PlannedEpisode,
    worker: &Worker<'_>,
    agent_ended: &dyn Fn(),
) -> Result<EpisodeRecord, Error> {
    let Worker { slot, scratch, clock, gate } = *worker;
    let (suite, scenario) = config.scenario(&p.scenario).expect("planned from the suites");
    let trace_header = Header {
        format: String::new(),
        version: 0,
        episode: format!("{}/e{}", p.scenario, p.epoch),
        scenario: p.scenario.clone(),
        scenario_digest: scenario.digest.clone(),
        suite: suite.name.clone(),
        suite_digest: suite.digest.clone(),
        agent: header.agent.clone(),
        harness: header.harness.clone(),
        seed: p.seed,
        epoch: p.epoch,
        started: clock.now(),
        extra: Default::default(),
    };
    let episode_scratch = scratch.join(format!("{}-e{}", p.scenario, p.epoch));
    let input = || EpisodeInput {
        scenario,
        epoch: p.epoch,
        seed: p.seed,
        agent: &config.agent,
        header: trace_header.clone(),
        limits: &config.limits,
        init_program: &config.init_program,
        clients: config.clients.as_deref(),
        scaffold: config.scaffold.as_deref(),
        upstream: config.upstream.as_ref(),
        side_tasks: config.side_tasks,
        scratch: episode_scratch.clone(),
        slot,
        agent_ended,
        run_budget: config.run_budget.as_ref(),
        out: &config.out,
        trace_rel: p.trace_rel(),
    };
    // A spent run budget: the episode never starts, and says why.
    if let Some(e) = config.run_budget.as_ref().and_then(|b| b.exhausted()) {
        let record = episode::unstarted(input(), EndReason::RunBudget, &e.detail, clock)?;
        let path = config.out.join(p.record_rel());
        write_atomic(&path, &serde_json::to_vec_pretty(&record).expect("record serializes"))?;
        return Ok(record);
    }
    // A sandbox that cannot be built (the kernel's limits reached, a
    // transient failure) is tried again (`Gate::run`); one that never
    // builds ends as an infrastructure failure, in no rate, and the run
    // goes on.
    let attempts = gate.run(Duration::from_millis(500), || {
        let _ = fs::remove_dir_all(&episode_scratch);
        episode::run_episode(input(), clock)
    });
    let record = match attempts {
        Err(Error::Sandbox { message, .. }) => {
            episode::unstarted(input(), EndReason::SandboxError, &message, clock)?
        }
        other => other?,
    };
    let path = config.out.join(p.record_rel());
    write_atomic(&path, &serde_json::to_vec_pretty(&record).expect("record serializes"))?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_s_place_is_given_back_once() {
        let agents = Agents::new(2);
        let a = agents.acquire();
        let b = agents.acquire();
        a.release();
        a.release();
        drop(a);
        assert_eq!(*agents.free.lock().unwrap(), 1);
        drop(b);
        assert_eq!(*agents.free.lock().unwrap(), 2);
    }

    /// With one place, the next episode's agent starts once the first's
    /// agent has ended, while the first still runs its checks.
    #[test]
    fn the_next_agent_starts_while_an_episode_s_checks_run() {
        let agents = Agents::new(1);
        let (tx, second_started) = mpsc::channel();
        std::thread::scope(|s| {
            let first = agents.acquire();
            s.spawn(|| {
                let _second = agents.acquire();
                tx.send(()).unwrap();
            });
            // The second waits while the first's agent runs.
            assert!(second_started.recv_timeout(Duration::from_millis(200)).is_err());
            first.release();
            // The first's checks: the second's agent has started meanwhile.
            assert!(second_started.recv_timeout(Duration::from_secs(30)).is_ok());
            drop(first);
        });
        assert_eq!(*agents.free.lock().unwrap(), 1);
    }

    /// A sandbox build that succeeds only while fewer than `capacity`
    /// sandboxes stand, as the kernel's per-user watch limits do.
    fn limited_build(capacity: usize, standing: &AtomicUsize, hold: Duration) -> Result<(), Error> {
        if standing.fetch_add(1, Ordering::SeqCst) >= capacity {
            standing.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::Sandbox {
                scenario: "s".into(),
                message: "inotify_init1: Too many open files".into(),
            });
        }
        std::thread::sleep(hold);
        standing.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }

    #[test]
    fn episodes_beyond_what_the_kernel_allows_wait_for_a_sandbox_and_all_run() {
        // 96 episodes at once for 4 sandboxes: each build that fails waits
        // for an episode that ran to end. (When failed builds counted as
        // ends, waiting episodes woke each other until they gave up.)
        let gate = Gate::default();
        let standing = AtomicUsize::new(0);
        let ran = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..96 {
                s.spawn(|| {
                    let got = gate.run(Duration::from_millis(1), || {
                        limited_build(4, &standing, Duration::from_millis(5))
                    });
                    assert!(got.is_ok(), "{got:?}");
                    ran.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(ran.load(Ordering::SeqCst), 96);
    }

    #[test]
    fn a_sandbox_that_never_builds_alone_ends_after_its_attempts() {
        let gate = Gate::default();
        let mut tries = 0;
        let got: Result<(), Error> = gate.run(Duration::from_millis(1), || {
            tries += 1;
            Err(Error::Sandbox { scenario: "s".into(), message: "setup exited 3".into() })
        });
        assert_eq!(tries, SANDBOX_ATTEMPTS);
        let Err(Error::Sandbox { message, .. }) = got else { panic!("{got:?}") };
        assert_eq!(message, "the sandbox could not be built in 4 attempts: setup exited 3");
    }

    #[test]
    fn plan_is_deterministic_and_seeds_differ() {
        let ids = vec!["a".to_string(), "b".to_string()];
        let p = plan(&ids, 2, 7);
        assert_eq!(p, plan(&ids, 2, 7));
        assert_eq!(p.len(), 4);
        assert_eq!((p[1].scenario.as_str(), p[1].epoch), ("b", 0));
        let seeds: std::collections::HashSet<u64> = p.iter().map(|e| e.seed).collect();
        assert_eq!(seeds.len(), 4);
        assert_ne!(plan(&ids, 1, 8)[0].seed, p[0].seed);
    }
}
