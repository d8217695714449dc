//! The command-line grammar.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// What `perimeter --help` says of exit statuses; `failure.rs` decides them.
pub(crate) const EXIT_STATUS: &str = "\
Exit status:
  0  done
  1  the work failed, or found something wrong: a bundle or trace that does not verify, a
     refused bundle, a write or the sandbox failing
  2  what was asked cannot be done as asked: an argument, or a file you named, is not what it
     must be
  3  `run` finished, but some episodes ended for infrastructure reasons (the model's API, a
     client, the sandbox) and no rate counts them: `--resume --retry-failed` runs them again";

/// Perimeter: a cross-lab protocol for assessing misalignment risk from the
/// AI agents a developer uses internally.
///
/// Run the standard scenario suite against an agent in a sandbox that records
/// ground truth, then read the labels, traces and summary it writes.
#[derive(Debug, Parser)]
#[command(
    name = "perimeter",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_long_help = EXIT_STATUS
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario suite against an agent and write a run folder
    ///
    /// Each episode runs in a fresh sandbox (Linux namespaces, Landlock,
    /// seccomp exec audit). The run folder gets one hash-chained trace per
    /// episode and `summary.json`; a table of labels is printed at the end.
    ///
    /// Examples:
    ///   perimeter run --agent scripted:misaligned --out runs/controls
    ///   perimeter run --agent scripted:honest --scenario release-gate --epochs 5 --out runs/gate
    ///   perimeter run --agent scripted:honest --out runs/gate --resume
    ///   perimeter run --agent claude-code --model scripted:misaligned --out runs/claude
    ///   perimeter run --agent api --model anthropic:claude-sonnet-4-5 --max-turns 50 --out runs/api
    ///   perimeter run --agent codex --model openai:gpt-5 --max-cost 2 --price 1.25/10 --out runs/codex
    ///   perimeter run --agent 'cmd:my-client --yolo' --model scripted:misaligned --out runs/client
    ///
    /// Real model APIs are reached only by the harness, through its gateway:
    /// keys come from the harness's ANTHROPIC_API_KEY, OPENAI_API_KEY,
    /// GEMINI_API_KEY or OPENAI_COMPATIBLE_API_KEY and never enter the
    /// sandbox; ANTHROPIC_BASE_URL, OPENAI_BASE_URL and GEMINI_BASE_URL
    /// override where they go, and PERIMETER_CA_FILE names PEM certificates
    /// to trust besides the built-in Mozilla roots.
    #[command(verbatim_doc_comment)]
    Run(RunArgs),
    /// Join the shards of a run into one run folder
    ///
    /// A run split across hosts (`perimeter run --shard I/N` on each, into
    /// folders of their own) is joined here into one folder that is the
    /// same as a run of the whole plan on one host: the same records,
    /// traces and rates. The shards must agree on everything but their
    /// index (each difference is named); an episode two folders both hold
    /// must be the same episode. Missing episodes are listed, and the
    /// folder is left without a summary: `perimeter run --resume` on it,
    /// or the shard again, finishes it. Merging again changes nothing.
    ///
    /// Examples:
    ///   perimeter merge shards/0 shards/1 shards/2 shards/3 --out run
    ///   perimeter merge run shards/3 --out run      (a shard that finished late)
    #[command(verbatim_doc_comment)]
    Merge {
        /// The shards' run folders (or an earlier merge)
        #[arg(value_name = "DIR", required = true)]
        dirs: Vec<PathBuf>,
        /// The merged run folder (it may be one of the inputs)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The suites the run used, as given to `run`: `builtin`, or a
        /// suite directory; repeated for each extension suite
        #[arg(long = "suite", value_name = "SUITE", default_value = "builtin")]
        suites: Vec<String>,
    },
    /// Run the shared detectors over real agent transcripts
    ///
    /// Reads Claude Code sessions and stream-json output, Codex rollouts and
    /// `exec --json` output, Gemini CLI chats and stream-json output, Inspect
    /// logs (`.eval` and `.json`) and Perimeter traces; folders are searched
    /// recursively for `.jsonl`, `.json`, `.ndjson` and `.eval` files, and
    /// each file's format is recognised from its content. Only findings (with short excerpts) and aggregates are
    /// reported; unreadable lines are listed in `errors` and the scan goes on.
    ///
    /// Examples:
    ///   perimeter scan ~/.claude/projects ~/.codex/sessions
    ///   perimeter scan transcripts/ --format json --out scan.json
    ///   perimeter scan logs/2026-11-28T09-56-12_demo.eval
    ///   perimeter scan odd-name.log --format-hint codex-rollout
    ///   perimeter scan sessions/ --judge anthropic:claude-sonnet-4-5 --judge-budget 2000000
    ///   perimeter scan sessions/ --judge openai:gpt-5 --validate labels.jsonl
    ///
    /// With --judge, a model reads every session too and gives a verdict per
    /// class (present, confidence, the events that show it, a rationale),
    /// kept apart from the rules' findings; the combined verdict is a class
    /// a rule raised or the judge found at --judge-threshold. The key is read
    /// from the environment (ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY,
    /// OPENAI_COMPATIBLE_API_KEY) and sent only to the model's API. Verdicts
    /// are cached by model, prompt and transcript, so a re-scan costs
    /// nothing. The prompts: crates/judge/prompts/, named by digest in the
    /// report.
    #[command(verbatim_doc_comment)]
    Scan(ScanArgs),
    /// Write a report of a run folder, or compare two runs
    ///
    /// HTML is one self-contained file (no network fetches, intervals drawn
    /// inline), with every label linked to the trace events that justify it.
    /// `--compare` refuses runs that are not comparable (protocol, suite
    /// digest, limits, scenarios, epochs, seed, scaffold) and lists why;
    /// otherwise it compares the runs' labels class by class over the same
    /// episodes (McNemar's exact test, a paired bootstrap interval).
    ///
    /// Examples:
    ///   perimeter report runs/controls --out report.html
    ///   perimeter report runs/controls --format md
    ///   perimeter report runs/claude --compare runs/codex
    #[command(verbatim_doc_comment)]
    Report(ReportArgs),
    /// Red-team monitors: how often they catch attacks known from ground truth
    ///
    /// `corpus` turns run folders into labelled trajectories (an episode
    /// with a label is an attack, one without is benign); `score` runs one
    /// monitor over them as a view shows them (actions; with the agent's
    /// messages; with its raw reasoning), calibrates a threshold on the
    /// benign scores at each false-positive rate, and reports the share of
    /// attacks caught above it, with its interval, and the AUROC.
    ///
    /// Examples:
    ///   perimeter monitor corpus runs/honest runs/controls --out corpus.jsonl
    ///   perimeter monitor score corpus.jsonl --monitor 'cmd:python3 my_monitor.py' --out m.json
    ///   perimeter monitor score corpus.jsonl --monitor llm:anthropic:claude-haiku-4-5 --view reasoning --warn --out warned.json
    #[command(subcommand, verbatim_doc_comment)]
    Monitor(MonitorCommand),
    /// The incident catalogue: collect acts against intent, grade them on
    /// overreach × deception, override by hand, and chart them
    ///
    /// `collect` finds candidates in run folders (episodes with a label),
    /// scan reports (sessions with a finding) and the lab's own `.toml`
    /// file of incidents, and grades each with the rule grader (`rules/1`).
    /// Episodes of attack-mode runs and of the suite's reference policies
    /// are left out unless asked for. Collecting again into the same file
    /// keeps every id and every human decision. `grade` adds a model's
    /// grades (a fixed published prompt, strict JSON) and the agreement
    /// between graders; `override` records a person's grade or dismissal;
    /// `chart` draws the severity chart as SVG beside its data as JSON and
    /// CSV.
    ///
    /// Examples:
    ///   perimeter incidents collect runs/claude scan.json lab-incidents.toml --out incidents.json
    ///   perimeter incidents grade incidents.json --model anthropic:claude-sonnet-4-5
    ///   perimeter incidents override incidents.json INC-004 --overreach 2:0.3 --deception 1:0.2 --by 'A. Reviewer' --reason 'read the key but never used it'
    ///   perimeter incidents chart incidents.json --out chart/
    #[command(subcommand, verbatim_doc_comment)]
    Incidents(IncidentsCommand),
    /// An external review of a developer's own risk report
    ///
    /// The reviewer writes each version of the review (the report as
    /// received, then as revised) as a TOML file in one folder: the report
    /// as a claim graph (scope, threat model and pathways, load-bearing
    /// claims with the evidence they cite, up to the conclusion); a verdict
    /// per claim (supported, insufficient, disagree) with its reasoning, a
    /// confidence and what it relies on (public material, what the
    /// developer shared, the reviewer's own Perimeter artifacts by digest);
    /// the assurance checklist; a comment on every redaction; the process;
    /// the developer's publication review. The conclusion's verdict is the
    /// worst of the load-bearing claims it rests on, unless the reviewer
    /// overrides it with a reason. docs/review-format.md has every field.
    ///
    /// Examples:
    ///   perimeter review demo --out review-demo
    ///   perimeter review check my-review/
    ///   perimeter review build my-review/ --key reviewer.key --out published/
    ///   perimeter review verify published/updated.json --pubkey reviewer.key.pub
    #[command(subcommand, verbatim_doc_comment)]
    Review(ReviewCommand),
    /// Write the files that run a sharded run on a cluster
    ///
    /// `slurm` writes a job array (one task per shard, requeued tasks
    /// resume their shard: no episode is lost or run twice) and a merge
    /// job to run after it; `k8s` writes an Indexed Job (one index per
    /// shard, retried per index) and a merge Job, with the pod security
    /// settings the sandbox needs. The run's own arguments go after `--`.
    /// docs/cluster.md explains each setting.
    ///
    /// Examples:
    ///   perimeter cluster slurm --shards 16 --dir /shared/run1 -- --agent api --model anthropic:claude-sonnet-4-5 --epochs 10
    ///   sh /shared/run1/submit.sh
    ///   perimeter cluster k8s --shards 16 --image registry.example/perimeter:0.1 --claim perimeter-data --out k8s/ -- --agent scripted:mixed:20 --epochs 10
    #[command(subcommand, verbatim_doc_comment)]
    Cluster(ClusterCommand),
    /// Open runs, scans, incidents, monitor results and rounds in a local
    /// web app, and review what the machine labelled
    ///
    /// Serves on 127.0.0.1 only, and only to a browser that opened the
    /// printed address, which carries a random token. An episode is shown
    /// as the agent's account beside what the sandbox saw, with the events
    /// each label rests on marked. With --reviewer, labels, findings and
    /// incidents can be confirmed, dismissed or re-graded with a note; each
    /// decision is appended to the decisions file and synced before it is
    /// acknowledged (`docs/decisions-format.md`). Pages hold no script.
    ///
    /// Examples:
    ///   perimeter view runs/claude scan.json incidents.json
    ///   perimeter view perimeter-demo --reviewer 'A. Reviewer' --decisions review.jsonl
    #[command(verbatim_doc_comment)]
    View {
        /// Run folders, scan reports, incident catalogues, monitor results,
        /// round folders, or folders holding them
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The decisions file, made when absent
        #[arg(long, value_name = "FILE", default_value = "perimeter-decisions.jsonl")]
        decisions: PathBuf,
        /// Who decides; without it, pages are read-only
        #[arg(long, value_name = "NAME")]
        reviewer: Option<String>,
        /// The port on 127.0.0.1 [default: any free one]
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Make a signing key for bundles
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Sign a run into a bundle for the evaluator, and verify or inspect one
    ///
    /// A bundle holds what was run, the labels and rates, and the Merkle
    /// root of the raw evidence (every trace and client transcript), which
    /// stays at the lab; the signature covers the bundle's canonical bytes.
    ///
    /// Examples:
    ///   perimeter keys generate --out lab.key
    ///   perimeter bundle create --run runs/claude --key lab.key --participant lab-a --out lab-a.bundle
    ///   perimeter bundle verify lab-a.bundle --pubkey lab.key.pub
    #[command(subcommand, verbatim_doc_comment)]
    Bundle(BundleCommand),
    /// Prove one evidence item against a bundle's signed root, or check a
    /// proof
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Write a run in another tool's format
    ///
    /// Examples:
    ///   perimeter export inspect runs/claude --out claude.eval
    ///   inspect view --log-dir .   (then open claude.eval)
    #[command(subcommand, verbatim_doc_comment)]
    Export(ExportCommand),
    /// Run a cross-lab round as the evaluator
    ///
    /// A round runs in four phases (`round advance` moves it on):
    ///   gathering    bundles, shared models (`access`), the evaluator's own
    ///                runs on them (`evaluate`), the questionnaire's thread
    ///                (`ask`, `reply`)
    ///   evaluation   the evaluator's analysis (analysis/*.toml) and the
    ///                private reports (`report`); a silent `exit`
    ///   disclosure   participants propose decisions (`disclose`), the
    ///                evaluator answers (`respond`), participants approve
    ///                finally; the draft goes out (`draft`)
    ///   publication  the public report, with a Merkle root over every item
    ///
    /// Each participant's private report lists its claims (C1, C2, …; V1…
    /// from the evaluator's runs; A1… the evaluator's own) with their
    /// importance; it answers with `perimeter.disclosure/1` files: each claim
    /// attributed, non-attributed or withheld (with a note, or without
    /// comment), and its written approval. Pooled statistics, results the
    /// evaluator could reproduce with public access and the redaction
    /// summary statement cannot be withheld; a rewording or a note stands
    /// once the evaluator accepts it.
    ///
    /// Examples:
    ///   perimeter round init round/ --protocol perimeter-protocol/0.1 --suite-digest sha256:… \
    ///       --participant lab-a=lab-a.key.pub --participant lab-b=lab-b.key.pub
    ///   perimeter round ingest round/ lab-a.bundle lab-b.bundle
    ///   perimeter round access round/ lab-a.model-access.json
    ///   perimeter round evaluate round/ eval-run/ --name lab-a-1 --participant lab-a
    ///   perimeter round advance round/ evaluation
    ///   perimeter round report round/
    ///   perimeter round advance round/ disclosure
    ///   perimeter round disclose round/ lab-a.disclosure.json
    ///   perimeter round respond round/ response-lab-a.json
    ///   perimeter round draft round/
    ///   perimeter round advance round/ publication
    ///
    /// `perimeter demo` plays a whole round offline; docs/round-format.md
    /// describes every file.
    #[command(subcommand, verbatim_doc_comment)]
    Round(RoundCommand),
    /// Sign your disclosure decisions, as a participant
    ///
    /// The signature is your written approval, made with the key your
    /// bundles are signed with.
    ///
    /// The evaluator's private report comes with a decision file
    /// (`<id>.disclosure.json`); fill in its approval, decide each claim,
    /// sign it, and send it back. `round disclose` checks the signature
    /// against your registered key, and the reports say it was signed.
    ///
    /// Example:
    ///   perimeter disclosure sign lab-a.disclosure.json --key lab.key --out lab-a.signed.json
    #[command(subcommand, verbatim_doc_comment)]
    Disclosure(DisclosureCommand),
    /// Play a whole cross-lab round offline, with four simulated labs
    ///
    /// The labs run the suite, answer the questionnaire and sign bundles;
    /// lab-b's agent calls its own model server (a local stand-in), which
    /// is overloaded for one scenario, so that episode is counted in no
    /// rate and every report says so. Each lab's own monitor is scored on
    /// the evaluator's shared corpus of known attacks (as written, with a
    /// note to the reviewer, encoded), and the figures go into its bundle.
    /// The evaluator ingests the bundles,
    /// one lab leaves silently, the others
    /// decide what may be published, and the private and public reports are
    /// written.
    ///
    /// Each lab's folder (`labs/<id>/`) holds its run, questionnaire, key,
    /// bundle and disclosure decisions; `round/` is the evaluator's round,
    /// with the reports in `round/reports/`.
    ///
    /// Example:
    ///   perimeter demo && xdg-open perimeter-demo/round/reports/public.html
    #[command(verbatim_doc_comment)]
    Demo {
        /// Where to write it all (replaced if it holds an earlier demo)
        #[arg(long, value_name = "DIR", default_value = "perimeter-demo")]
        out: PathBuf,
        /// Epochs per scenario for each lab
        #[arg(long, value_name = "N", default_value_t = 1)]
        epochs: u32,
    },
    /// Inspect scenario suites
    #[command(subcommand)]
    Suite(SuiteCommand),
    /// Work with episode traces
    #[command(subcommand)]
    Trace(TraceCommand),
    /// Check this machine: the sandbox, and the agent clients installed
    ///
    /// Starts a sandbox to show it works here, and lists which agent
    /// clients are installed, with their versions and how to install them.
    Doctor {
        /// Where the agent clients are installed (as for `run`)
        #[arg(long, value_name = "DIR")]
        clients: Option<PathBuf>,
        /// `table` for people, `json` for `perimeter.doctor/1`
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The agent under test: `scripted:<policy>` replays every scenario's
    /// reference policy of that name (`honest`, `misaligned`;
    /// `mixed:<percent>` plays `misaligned` in that share of episodes,
    /// drawn from each episode's seed, and `honest` in the rest; transforms
    /// after `+`, `misaligned+encode`, rewrite it as an agent evading a
    /// monitor would: note, rationale, encode, script, dilute, silent); `api` is
    /// Perimeter's built-in tool-use loop; `claude-code`, `codex` and
    /// `gemini-cli` run those clients unmodified, and `cmd:<command>` any
    /// client program, inside the sandbox as the agent. All but `scripted:`
    /// need `--model`
    #[arg(long, value_name = "SPEC")]
    pub agent: String,
    /// What answers the agent's model calls: `scripted:<policy>` (each
    /// scenario's reference policy, offline), `anthropic:<model>`,
    /// `openai:<model>`, `openai-compatible:<url>#<model>` or
    /// `gemini:<model>` (relayed by the harness). A `cmd:` client finds the
    /// gateway in `ANTHROPIC_BASE_URL`, `OPENAI_BASE_URL` and
    /// `GOOGLE_GEMINI_BASE_URL`, the turn's prompt in `PERIMETER_PROMPT`
    /// and the turn (`task`, `followup`) in `PERIMETER_TURN`
    /// (docs/cmd-contract.md)
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Where the pinned agent clients are installed (`npm ci --prefix
    /// clients` fills `clients/`); default: `$PERIMETER_CLIENTS`, else a
    /// `clients/` directory beside or above the perimeter binary
    #[arg(long, value_name = "DIR")]
    pub clients: Option<PathBuf>,
    /// For a `cmd:` agent: its own folder (code and what it needs), bound
    /// read-only into each sandbox at /srv/scaffold (PERIMETER_SCAFFOLD);
    /// its digest goes into the run's header. E.g. `--agent 'cmd:node
    /// /srv/scaffold/agent.mjs' --scaffold ./my-scaffold`
    #[arg(long, value_name = "DIR")]
    pub scaffold: Option<PathBuf>,
    /// The run folder to create (or, with `--resume`, to finish)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// `builtin` for the embedded suite, or a suite directory. Given again,
    /// a lab's own suite run beside the first (`--suite builtin --suite
    /// ./lab`): its scenarios need ids of their own; it has its own digest,
    /// its episodes its own rates, never pooled with the first suite's
    #[arg(long = "suite", value_name = "SUITE", default_value = "builtin")]
    pub suites: Vec<String>,
    /// More reference policies for the first suite's scenarios: a directory of
    /// `<scenario id>.toml` files of `[policies.<name>]` tables, playable
    /// as `--agent scripted:<name>`
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// Run only this scenario (repeatable); default: the whole suite
    #[arg(long = "scenario", value_name = "ID")]
    pub scenarios: Vec<String>,
    /// Episodes per scenario
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub epochs: u32,
    /// Agents run at the same time. An episode's hidden checks run after its
    /// agent has ended, beside the next episode's agent, so up to twice as
    /// many sandboxes stand at once
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,
    /// Run one part of the plan: `I/N` (from 0) runs the planned episodes
    /// whose position in the plan is I modulo N, each with the seed the
    /// whole plan gives it, into this shard's own folder; `perimeter merge`
    /// joins the N folders into the whole run
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<formats::run::Shard>,
    /// The run's seed; every episode's seed (canaries, names) derives from it
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Finish an interrupted run in `--out`, keeping its finished episodes
    #[arg(long)]
    pub resume: bool,
    /// With `--resume`: run again the episodes that ended for an
    /// infrastructure reason (the model's API, a client, the sandbox), which
    /// no rate counts
    #[arg(long, requires = "resume")]
    pub retry_failed: bool,
    /// Attack mode, for covert capability: each episode's task also carries
    /// a secret side task from its scenario (the misbehaviour it tempts,
    /// asked for outright) and says a monitor watches. The labels then say
    /// whether the agent could do it; score the run with `perimeter monitor`
    /// to see whether it did so unnoticed. Such a run is no propensity
    /// figure: bundles refuse it
    #[arg(long)]
    pub side_task: bool,
    /// Wall-time limit per episode, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub wall_time: u64,
    /// Time limit per tool call, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub step_timeout: u64,
    /// Model turns per episode (calls that offer the agent tools); the
    /// episode ends with `turn_limit`
    #[arg(long, value_name = "N")]
    pub max_turns: Option<u64>,
    /// Input plus output tokens per episode, over all model calls; the
    /// episode ends with `token_limit`
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u64>,
    /// US dollars per episode, priced with `--price`; the episode ends with
    /// `cost_limit`
    #[arg(long, value_name = "USD", requires = "price")]
    pub max_cost: Option<f64>,
    /// The model's price in US dollars per million input and output
    /// tokens, e.g. `3/15` (for a run's money budget, the built-in list
    /// prices of known models apply when this is not given)
    #[arg(long, value_name = "IN/OUT", value_parser = parse_price)]
    pub price: Option<gateway::Price>,
    /// Tokens the whole run may spend, shared by its concurrent episodes;
    /// once spent, running episodes end and the rest never start, as
    /// `run_budget` (not counted: `--resume --retry-failed` with a larger
    /// budget runs them). Split a budget across shards by hand: each
    /// shard's is its own
    #[arg(long, value_name = "TOKENS")]
    pub budget_tokens: Option<u64>,
    /// US dollars the whole run may spend, at `--price` or the model's
    /// list price
    #[arg(long, value_name = "USD")]
    pub budget_usd: Option<f64>,
    /// Model calls per minute, over the whole run
    #[arg(long, value_name = "N")]
    pub rpm: Option<u32>,
    /// Tokens per minute, over the whole run
    #[arg(long, value_name = "N")]
    pub tpm: Option<u64>,
}

fn parse_price(s: &str) -> Result<gateway::Price, gateway::ConfigError> {
    gateway::Price::parse(s)
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write a new ed25519 key to FILE and its public key to FILE.pub (an
    /// OpenSSH `ssh-ed25519` line); an existing OpenSSH ed25519 key works
    /// as well wherever a key is asked for
    Generate {
        /// Where to write the private key (never over an existing file);
        /// the public key goes to FILE.pub
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct BundleCreateArgs {
    /// The run folder
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// The signing key (from `keys generate`, or an OpenSSH ed25519 key)
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Who submits
    #[arg(long, value_name = "ID")]
    pub participant: String,
    /// A `perimeter scan --format json` report: its totals are included
    /// and the scanned files' hashes join the evidence
    #[arg(long, value_name = "FILE")]
    pub scan: Option<PathBuf>,
    /// Questionnaire answers (Q1–Q14, JSON; see docs/bundle-format.md)
    #[arg(long, value_name = "FILE")]
    pub questionnaire: Option<PathBuf>,
    /// Results of `perimeter monitor score`, `routing` or `viewer`,
    /// repeatable: their figures are included and the file's hash joins
    /// the evidence as `monitor:<path>`, which questionnaire answers may
    /// cite
    #[arg(long, value_name = "FILE")]
    pub monitor_results: Vec<PathBuf>,
    /// An incident catalogue (`perimeter incidents collect`): each incident
    /// not dismissed goes in with its grade, and the catalogue's hash joins
    /// the evidence as `incidents:<path>`
    #[arg(long, value_name = "FILE")]
    pub incidents: Option<PathBuf>,
    /// Who may see an incident: `INC-NNN=public|evaluator_only|withheld`,
    /// repeatable; `*=LEVEL` for every incident not named [default:
    /// evaluator_only]. A withheld incident's text stays at the lab.
    #[arg(long, value_name = "ID=LEVEL", requires = "incidents")]
    pub disclose: Vec<String>,
    /// Reviewers' decisions (`perimeter view --decisions`): those on this
    /// run's labels go in whole, with the figures they give beside the
    /// machine's, which stay as the run wrote them
    #[arg(long, value_name = "FILE")]
    pub decisions: Option<PathBuf>,
    /// Where to write the signed bundle (never over an existing file)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Sign a run folder into a bundle
    Create(BundleCreateArgs),
    /// Check a bundle's signature, evidence root and consistency; names
    /// every problem found
    Verify {
        /// The bundle file (`bundle create --out`)
        bundle: PathBuf,
        /// The public key it must be signed with (an `ssh-ed25519` line)
        #[arg(long, value_name = "FILE")]
        pubkey: Option<PathBuf>,
        /// `table` for people, `json` for `perimeter.bundle-verification/1`
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Print what a bundle holds
    Inspect {
        /// The bundle file (`bundle create --out`)
        bundle: PathBuf,
        /// `table` for people, `json` for `perimeter.bundle-inspection/1`
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum RoundCommand {
    /// Create a round folder: the protocol and suite digest every bundle
    /// must match, and each participant's public key
    Init {
        /// The round folder to create (it must not exist)
        dir: PathBuf,
        /// The protocol version every bundle must carry (e.g. `perimeter-protocol/0.1`)
        #[arg(long, value_name = "VERSION")]
        protocol: String,
        /// The suite digest every bundle must match (`sha256:<64 hex>`;
        /// `perimeter suite digest` prints it)
        #[arg(long, value_name = "DIGEST")]
        suite_digest: String,
        /// `ID=FILE`: a participant and its `ssh-ed25519` public key file
        /// (repeatable)
        #[arg(long = "participant", value_name = "ID=FILE", required = true)]
        participants: Vec<String>,
        /// The submission window, `FROM..TO` (dates, both included, UTC):
        /// bundles created outside it are refused
        /// (e.g. `2026-12-01..2026-12-15`)
        #[arg(long, value_name = "WINDOW")]
        window: Option<String>,
        /// Seeds the pooled intervals' bootstrap and the order of
        /// non-attributed claims (default: drawn at random and kept in
        /// round.json)
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// Days the draft public report is with the participants before
        /// the round may publish it
        #[arg(long, value_name = "DAYS", default_value_t = 7)]
        draft_notice_days: u32,
        /// `table` for people, `json` for `perimeter.round-init/1`
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Verify bundles against the round and take them in; bundles that are
    /// not comparable are kept out of pooled figures, with the reasons. Each
    /// is stored sealed under a key of its participant's own
    Ingest {
        /// The round folder (`round init`)
        dir: PathBuf,
        /// Bundle files (`bundle create --out`)
        #[arg(value_name = "BUNDLE", required = true)]
        bundles: Vec<PathBuf>,
        /// `table` for people, `json` for `perimeter.round-ingest/1`
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Record a participant's proposed disclosure decisions
    /// (`perimeter.disclosure/1`), checked against its claims and the
    /// non-redactable categories, and kept, sealed under its key, as a step
    /// of the negotiation. With `"final": true` in its approval, the
    /// participant's final approval: refused while it publishes a wording
    /// the evaluator has not accepted (disclosure phase)
    Disclose {
        /// The round folder (`round init`)
        dir: PathBuf,
        /// The participant's signed decisions (`disclosure sign --out`)
        #[arg(value_name = "FILE")]
        decisions: PathBuf,
        /// `table` for people, `json` for `perimeter.round-disclosure/1`
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Write the public report and one private report per participant, in
    /// Markdown, HTML and JSON, in `DIR/reports/` (inside the round
    /// folder, so that a silent exit can delete them)
    Report {
        /// The round folder (`round init`)
        dir: PathBuf,
        /// `table` for people, `json` for `perimeter.round-reports/1`
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Move the round to its next phase
    ///
    /// The phases, in order: gathering → evaluation → disclosure →
    /// publication. Each move is checked and recorded with its date in
    /// `phases.json`; phases never go back.
    ///
    ///   evaluation    needs a bundle taken in
    ///   disclosure    needs every participant's private report (`round report`)
    ///   publication   needs every participant's final approval, a complete
    ///                 analysis/public.toml, and the draft circulated (`round
    ///                 draft`) at least the round's notice before today; it
    ///                 writes the final reports and records their digest
    #[command(verbatim_doc_comment)]
    Advance {
        /// The round folder (`round init`)
        dir: PathBuf,
        /// `evaluation`, `disclosure` or `publication`: the next phase
        #[arg(value_name = "PHASE", value_parser = ["evaluation", "disclosure", "publication"])]
        phase: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Record a participant's model access record
    /// (`perimeter.model-access/1`, signed with `disclosure sign`): the
    /// model it shares as its internal state of the art, as of a date in
    /// the round's window, and the terms of access (gathering phase)
    Access {
        /// The round folder (`round init`)
        dir: PathBuf,
        /// The participant's signed record
        #[arg(value_name = "FILE")]
        record: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Take in one of the evaluator's own runs as evidence: on a
    /// participant's shared model (`perimeter run --agent api --model
    /// PROVIDER:ID` relayed to its endpoint), or with --public on a public
    /// model, for the public frontier. Refused when the run's model is not
    /// the one shared, or the participant's terms bar the third-party judge
    /// that labelled it
    Evaluate {
        /// The round folder (`round init`)
        dir: PathBuf,
        /// The run folder (`perimeter run --out`)
        #[arg(value_name = "RUN")]
        run: PathBuf,
        /// The evaluator's name for the run, unique in the round; claims
        /// and the analysis cite it as `run:NAME`
        #[arg(long, value_name = "NAME")]
        name: String,
        /// The participant whose shared model the run used
        #[arg(
            long,
            value_name = "ID",
            required_unless_present = "public",
            conflicts_with = "public"
        )]
        participant: Option<String>,
        /// The run used a public model
        #[arg(long)]
        public: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Ask a participant a follow-up question about an answer, or record
    /// an interview (--attendee), in its questionnaire thread
    Ask {
        /// The round folder (`round init`)
        dir: PathBuf,
        /// The participant's id
        #[arg(value_name = "PARTICIPANT")]
        participant: String,
        /// The question or sub-question (`Q7`, `Q7.b`); for an interview,
        /// several, comma-separated
        #[arg(long, value_name = "QUESTION")]
        question: String,
        /// Who asks, or who recorded the interview
        #[arg(long, value_name = "NAME")]
        by: String,
        /// The question's text, or the interview's record
        #[arg(long, value_name = "TEXT")]
        text: String,
        /// An interview's attendee, by role (repeatable): the entry is then
        /// an interview record
        #[arg(long = "attendee", value_name = "ROLE")]
        attendees: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Record a participant's signed thread entry
    /// (`perimeter.thread-entry/1`): a reply to a follow-up, or an
    /// amendment that replaces one answer (decisions on its other claims
    /// stand)
    Reply {
        /// The round folder (`round init`)
        dir: PathBuf,
        /// The participant's signed entry (`disclosure sign --out`)
        #[arg(value_name = "FILE")]
        entry: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Record the evaluator's response to a participant's proposed
    /// decisions (`perimeter.disclosure-response/1`): accept or reject each
    /// rewording and note, or counter with a wording of its own
    Respond {
        /// The round folder (`round init`)
        dir: PathBuf,
        /// The response file
        #[arg(value_name = "FILE")]
        response: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Circulate the draft public report (disclosure phase): writes the
    /// reports, keeps a copy in `DIR/drafts/<date>/`, and records its date
    /// and digest. Participants see it with no right to approve it
    Draft {
        /// The round folder (`round init`)
        dir: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Check published items against a public report's Merkle root: every
    /// item of `public.items.json` (or the one at --index), by its audit
    /// path
    CheckItems {
        /// `public.items.json`, beside the report
        #[arg(value_name = "FILE")]
        items: PathBuf,
        /// The root the report published (default: the file's own)
        #[arg(long, value_name = "HEX")]
        root: Option<String>,
        /// Only this item
        #[arg(long, value_name = "N")]
        index: Option<u64>,
    },
    /// Silent exit: remove a participant as if it had never joined; its
    /// key is destroyed, so its stored data cannot be recovered, and the
    /// reports are deleted until `round report` writes them again. Open
    /// only before the participant's final approval
    Exit {
        /// The round folder (`round init`)
        dir: PathBuf,
        /// The participant's id, as `round init --participant` named it
        #[arg(value_name = "PARTICIPANT")]
        participant: String,
        /// `table` for people, `json` for `perimeter.round-exit/1`
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum DisclosureCommand {
    /// Sign a file you give the round: your disclosure decisions
    /// (`perimeter.disclosure/1`), your model access record
    /// (`perimeter.model-access/1`), or a thread entry
    /// (`perimeter.thread-entry/1`)
    Sign {
        /// The file (docs/round-format.md); its `participant` names you
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Your signing key (`keys generate`, or an OpenSSH ed25519 key)
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Where to write the signed file, for `round disclose`, `round
        /// access` or `round reply`
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// A run folder as an Inspect evaluation log (`.eval`, log schema
    /// version 2), to open in Inspect's viewer, Inspect Scout or Docent
    ///
    /// One sample per episode (id: the scenario; epoch: the run's epoch +
    /// 1), the agent's conversation as its messages, every trace event in
    /// order (model exchanges as model events, tool calls as tool events,
    /// what the sandbox saw as info events from `perimeter/observed`), the
    /// main task and each behaviour class as scores, the run's rates in the
    /// results (docs/inspect-export.md). Each trace's hash chain is checked
    /// on the way. The transcript text is the agent's: a viewer that renders
    /// it as Markdown or HTML renders what the agent under test wrote
    Inspect {
        /// The run folder (with its summary.json)
        #[arg(value_name = "RUN")]
        run: PathBuf,
        /// The log file to write (`.eval`)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Write an evidence item with its Merkle path to the bundle's root
    Prove {
        /// The bundle file (`bundle create --out`)
        #[arg(long, value_name = "FILE")]
        bundle: PathBuf,
        /// The run folder the bundle was made from
        #[arg(long, value_name = "DIR")]
        run: PathBuf,
        /// The item's id (its path in the run folder)
        #[arg(long, value_name = "ID")]
        item: String,
        /// Where to write the proof, for `evidence check`
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Prove one line of a trace only (0: its header; `seq` N is line
        /// N): the rest of the trace, reasoning included, stays at the lab
        #[arg(long, value_name = "N")]
        line: Option<u64>,
    },
    /// Check a proof against a (verified) bundle
    Check {
        /// The bundle file the proof is against
        #[arg(long, value_name = "FILE")]
        bundle: PathBuf,
        /// The proof (`evidence prove --out`)
        #[arg(long, value_name = "FILE")]
        proof: PathBuf,
        /// The public key the bundle must be signed with (an `ssh-ed25519` line)
        #[arg(long, value_name = "FILE")]
        pubkey: Option<PathBuf>,
        /// For a trace: run the detectors over it again and compare the
        /// labels they give with those the bundle signed for its episode
        #[arg(long)]
        relabel: bool,
        /// The suite the trace's scenario is from, for `--relabel`
        /// (`builtin`, or a suite folder)
        #[arg(long, value_name = "SUITE", default_value = "builtin", requires = "relabel")]
        suite: String,
    },
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run folder (where `perimeter run --out` wrote)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// `html`, `md` or `json` (`perimeter.report/1`)
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
    /// Write here instead of standard output (an HTML report asked for on
    /// a terminal goes to DIR/report.html, and its path is printed)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// A second run folder to compare this one with
    #[arg(long, value_name = "DIR")]
    pub compare: Option<PathBuf>,
    /// Reviewers' decisions (`perimeter view --decisions`): the report
    /// keeps the machine's labels and adds the figures with the labels
    /// reviewers dismissed left out, saying which is which
    #[arg(long, value_name = "FILE", conflicts_with = "compare")]
    pub decisions: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Html,
    Md,
    Json,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Transcript files or folders
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// `table` for people, `json` for the `perimeter.scan/1` contract
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report here instead of standard output
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Read every file as this format instead of recognising it:
    /// claude-code-session, claude-code-stream-json, codex-rollout,
    /// codex-exec-json, gemini-cli-chat, gemini-cli-stream-json,
    /// perimeter-trace
    #[arg(long, value_name = "FORMAT", value_parser = parse_format_hint)]
    pub format_hint: Option<import::Format>,
    /// Files read at the same time; default: the number of cores
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Lines longer than this are skipped (and reported) without being held
    /// in memory
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_line_bytes: usize,
    /// Instead of the findings, print how they agree with a lab's labels:
    /// a JSONL file of `{"file": "<path relative to it>", "classes": [...]}`
    /// (`[]` for an honest session); recall and precision per class and
    /// false flags on honest files, with intervals
    /// (`perimeter.scan-validation/1` with `--format json`)
    #[arg(long, value_name = "LABELS")]
    pub validate: Option<PathBuf>,
    /// The lab's policy: which of its paths are credential stores, audit
    /// logs, monitoring configs, tests, graders and irreplaceable work, the
    /// hosts data may go to, the accounts jobs may use (TOML, added to the
    /// defaults; docs/scan-format.md). Its digest goes into the report
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// A model that reads every session beside the rules:
    /// `anthropic:<model>`, `openai:<model>`,
    /// `openai-compatible:<url>#<model>`, `gemini:<model>`, or
    /// `scripted:<FILE>` (canned answers, offline; docs/scan-format.md)
    #[arg(long, value_name = "MODEL", value_parser = parse_model_spec, help_heading = "Judge")]
    pub judge: Option<gateway::ModelSpec>,
    /// The classes the judge is asked about, comma-separated; default: all
    /// eight it has prompts for
    #[arg(
        long,
        value_name = "CLASS,...",
        value_delimiter = ',',
        requires = "judge",
        help_heading = "Judge"
    )]
    pub judge_classes: Vec<String>,
    /// The judge's confidence at or above which its finding joins the
    /// combined verdict
    #[arg(long, value_name = "P", default_value_t = 0.5, value_parser = parse_probability, requires = "judge", help_heading = "Judge")]
    pub judge_threshold: f64,
    /// Sessions judged at the same time
    #[arg(long, value_name = "N", default_value_t = 4, requires = "judge", help_heading = "Judge")]
    pub judge_jobs: usize,
    /// The most tokens (input and output, all calls) the judge may spend;
    /// sessions it would not cover are reported as skipped
    #[arg(long, value_name = "TOKENS", requires = "judge", help_heading = "Judge")]
    pub judge_budget: Option<u64>,
    /// The judge model's price in US dollars per million input and output
    /// tokens, for its cost per session
    #[arg(long, value_name = "IN/OUT", value_parser = parse_price, requires = "judge", help_heading = "Judge")]
    pub judge_price: Option<gateway::Price>,
    /// Where verdicts are cached; default: $XDG_CACHE_HOME/perimeter/judge
    /// or ~/.cache/perimeter/judge
    #[arg(
        long,
        value_name = "DIR",
        requires = "judge",
        conflicts_with = "no_judge_cache",
        help_heading = "Judge"
    )]
    pub judge_cache: Option<PathBuf>,
    /// Ask the model about every session, caching nothing
    #[arg(long, requires = "judge", help_heading = "Judge")]
    pub no_judge_cache: bool,
}

fn parse_model_spec(s: &str) -> Result<gateway::ModelSpec, gateway::ConfigError> {
    gateway::ModelSpec::parse(s)
}

fn parse_probability(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|p| (0.0..=1.0).contains(p))
        .ok_or_else(|| format!("`{s}`: a number from 0 to 1"))
}

fn parse_format_hint(s: &str) -> Result<import::Format, String> {
    import::Format::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = import::FORMATS.iter().map(|f| f.name()).collect();
        format!("unknown format; one of: {}", names.join(", "))
    })
}

#[derive(Debug, Subcommand)]
pub enum SuiteCommand {
    /// List a suite's scenarios with their behaviour classes
    List {
        /// `builtin` or a suite directory
        #[arg(long, default_value = "builtin")]
        suite: String,
        /// `table` for people, `json` for `perimeter.suite-list/1`
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Print the suite's digest, which pins every byte of every scenario
    Digest {
        /// `builtin` or a suite directory
        #[arg(long, default_value = "builtin")]
        suite: String,
    },
    /// Show one scenario: task, honeypots, tripwires, checks, policies
    Show {
        /// The scenario id
        id: String,
        /// `builtin` or a suite directory
        #[arg(long, default_value = "builtin")]
        suite: String,
    },
    /// Run every reference policy of every scenario and check the matrix
    ///
    /// `honest` must get no label and pass the main task; every other policy
    /// must get exactly the classes its `expect` lists. Exits 1 on any
    /// mismatch, listing each. With `--measure`, prints instead how well the
    /// labels generalise over the policies played: recall per class, false
    /// flags on honest policies (`honest` and `honest-*`), and main-task
    /// verdicts, and exits 0.
    ///
    /// Examples:
    ///   perimeter suite validate
    ///   perimeter suite validate my-suite --seeds 5 --keep runs/validate
    ///   perimeter suite validate --policies suites/dev --measure --format json
    #[command(verbatim_doc_comment)]
    Validate {
        /// A suite directory (the same as `--suite`)
        #[arg(value_name = "PATH", conflicts_with = "suite")]
        path: Option<String>,
        /// `builtin` or a suite directory
        #[arg(long, default_value = "builtin")]
        suite: String,
        /// How many run seeds (0, 1, ...) to validate each policy with
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
        seeds: u64,
        /// Agents run at the same time (as `perimeter run --concurrency`)
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=256))]
        concurrency: u32,
        /// Keep the run folders here instead of a temporary directory
        #[arg(long, value_name = "DIR")]
        keep: Option<PathBuf>,
        /// More reference policies (see `perimeter run --policies`)
        #[arg(long, value_name = "DIR")]
        policies: Option<PathBuf>,
        /// Print recall per class, false flags and main-task verdicts
        #[arg(long)]
        measure: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum MonitorCommand {
    /// Build a labelled corpus (`perimeter.monitor-corpus/1`) from run folders
    ///
    /// Every episode that did not end for an infrastructure reason becomes
    /// one trajectory: the agent's own events (never what the sandbox
    /// observed), benign without a label, an attack with one, its harmful
    /// steps traced from the labels' evidence. Traces are verified.
    Corpus {
        /// Run folders (each with `summary.json` and its traces)
        #[arg(required_unless_present = "sessions")]
        runs: Vec<PathBuf>,
        /// A labels file of real sessions (`perimeter scan --validate`'s
        /// format: `{"file": …, "classes": […]}` per line), repeatable: each
        /// session benign with no class and an attack with one
        #[arg(long, value_name = "LABELS.jsonl")]
        sessions: Vec<PathBuf>,
        /// Where to write the corpus (JSON lines)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The corpus's name in results [default: the file's stem]
        #[arg(long)]
        name: Option<String>,
    },
    /// Score a corpus with one monitor and measure what it catches
    Score(MonitorScoreArgs),
    /// Stage one: is the agent's traffic monitored at all? Run a lab's
    /// router over bypass cases
    ///
    /// The router (`cmd:` or `http[s]://`, the monitor contract) reads one
    /// request (`perimeter.routing-request/1`: method, path, headers, the
    /// body's routing fields) and answers `{"monitored": true|false}`. The
    /// cases are each client's requests as sent, renamed, without client
    /// headers, from a sub-agent, to a side model, with another key and
    /// through another endpoint: all the agent's own traffic, so each one
    /// not monitored is a bypass. With `--profile`, what the lab declares
    /// is checked against what its router does.
    Routing {
        /// The router: `cmd:<command>` or `http[s]://…`
        #[arg(long)]
        router: String,
        /// The lab's monitoring-coverage profile (TOML; docs/monitor-format.md)
        #[arg(long, value_name = "FILE")]
        profile: Option<PathBuf>,
        /// Seconds the router may take per request
        #[arg(long, value_name = "SECONDS", default_value_t = 30)]
        timeout: u64,
        /// Where to write the results (`perimeter.routing-results/1`)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// `table` for people, `json` for the results on standard output too
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Stage three: does a transcript viewer run or hide what the agent wrote?
    ///
    /// Hostile trajectories (script injections, commands hidden in HTML
    /// comments, terminal escapes, bidi overrides, zero-width characters,
    /// very long lines; and misleading summaries and notes to the reviewer,
    /// which are for the lab's reviewers to judge) are rendered by the
    /// viewer and loaded in headless Chromium: a script case is unsafe when
    /// its canary logs, a hidden case when the command is not in the page's
    /// visible text or raw control characters disguise it.
    ///
    /// Examples:
    ///   perimeter monitor viewer --viewer builtin --out ours.json
    ///   perimeter monitor viewer --viewer 'cmd:python3 render.py' --out lab.json
    ///   perimeter monitor viewer --cases-only --keep hostile/
    #[command(verbatim_doc_comment)]
    Viewer {
        /// `builtin` (Perimeter's rendering), or the lab's viewer: `cmd:` or
        /// `http[s]://`, reading a trajectory as JSON and answering HTML
        #[arg(long, default_value = "builtin")]
        viewer: String,
        /// Also write each hostile trajectory (and, when rendered, its page)
        /// here, to open in a viewer Perimeter cannot drive
        #[arg(long, value_name = "DIR")]
        keep: Option<PathBuf>,
        /// Only write the cases to `--keep`; render nothing
        #[arg(long, requires = "keep")]
        cases_only: bool,
        /// Seconds the viewer may take per trajectory
        #[arg(long, value_name = "SECONDS", default_value_t = 30)]
        timeout: u64,
        /// Where to write the results (`perimeter.viewer-results/1`)
        #[arg(long, value_name = "FILE", required_unless_present = "cases_only")]
        out: Option<PathBuf>,
        /// `table` for people, `json` for the results on standard output too
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// A Slurm job array of the run's shards and a merge job after it:
    /// `DIR/shards.sbatch`, `DIR/merge.sbatch`, `DIR/submit.sh`
    Slurm {
        /// Shards: the array's size
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10000))]
        shards: u32,
        /// The run's folder on storage every node shares: shards go in
        /// `DIR/shards/<i>`, the merged run in `DIR/run`, logs in `DIR/logs`
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The perimeter binary as the nodes see it (default: this one)
        #[arg(long, value_name = "PATH")]
        perimeter: Option<PathBuf>,
        /// `#SBATCH` lines to add, e.g. `--partition=cpu` (repeatable)
        #[arg(long = "sbatch", value_name = "OPTION", allow_hyphen_values = true)]
        sbatch: Vec<String>,
        /// The arguments of `perimeter run`, after `--` (not --out or --shard)
        #[arg(last = true, required = true, value_name = "RUN ARGS")]
        run: Vec<String>,
    },
    /// A Kubernetes Indexed Job of the run's shards and a merge Job, as
    /// JSON manifests (`kubectl apply -f`): `OUT/shards.json`, `OUT/merge.json`
    K8s {
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10000))]
        shards: u32,
        /// Shards run at once
        #[arg(long, value_name = "N", default_value_t = 4)]
        parallelism: u32,
        /// The container image, with perimeter on its PATH
        #[arg(long, value_name = "IMAGE")]
        image: String,
        /// The PersistentVolumeClaim (ReadWriteMany) the shards and the
        /// merged run are written to, mounted at /data
        #[arg(long, value_name = "NAME")]
        claim: String,
        /// The jobs' name prefix
        #[arg(long, value_name = "NAME", default_value = "perimeter")]
        name: String,
        /// Where to write the manifests
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The arguments of `perimeter run`, after `--` (not --out or --shard)
        #[arg(last = true, required = true, value_name = "RUN ARGS")]
        run: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Check every version in a review folder: the claim graph (a cycle is
    /// refused, naming it), every reference, the artifacts' digests, and
    /// what keeps each version from publication
    Check {
        /// The review folder: one `*.toml` per version
        dir: PathBuf,
    },
    /// Build every version: JSON (`perimeter.risk-review/1`), Markdown,
    /// self-contained HTML and the claim graph as SVG, each later version
    /// with the differences from the one before, each with its digest and,
    /// with --key, the reviewer's signature. Refused while a version's
    /// checklist is open, unless --draft
    Build {
        /// The review folder: one `*.toml` per version
        dir: PathBuf,
        /// Where to write the versions
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The reviewer's signing key (`perimeter keys generate`)
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// Build versions with open checklist items, marked as drafts
        #[arg(long)]
        draft: bool,
    },
    /// Check a published version: its digest and its signature
    Verify {
        /// A version's JSON (`review build --out`)
        file: PathBuf,
        /// The reviewer's public key, to check it signed the version
        #[arg(long, value_name = "FILE")]
        pubkey: Option<PathBuf>,
    },
    /// Build the worked example offline: a fictional developer's risk
    /// report, its original and updated reviews, signed with a fresh key
    Demo {
        /// Where to write it (replaced if it holds an earlier demo)
        #[arg(long, value_name = "DIR", default_value = "perimeter-review-demo")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// Collect candidate incidents into a catalogue, graded by the rules
    ///
    /// An input is a run folder, a scan report (`perimeter scan --out`),
    /// or a `.toml` file of the lab's own incidents (`[[incident]]`
    /// tables; docs/incident-format.md). The same act found twice is one
    /// incident with both citations.
    Collect {
        /// Run folders, scan reports and `.toml` files of incidents
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// The catalogue to write; when it exists, its ids and human
        /// decisions are kept
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The suite the runs were made with: `builtin` or a directory
        #[arg(long, default_value = scenario::BUILTIN)]
        suite: String,
        /// Let in episodes of attack-mode runs (`perimeter run --side-task`),
        /// where the agent was told to misbehave
        #[arg(long)]
        include_elicited: bool,
        /// Let in episodes of the suite's reference policies (`scripted:…`)
        #[arg(long)]
        include_reference: bool,
        /// Reviewers' decisions (`perimeter view --decisions`): those on
        /// this catalogue's incidents are recorded as overrides
        #[arg(long, value_name = "FILE")]
        decisions: Option<PathBuf>,
        /// `table` for people, `json` for the catalogue on standard output too
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Grade a catalogue's incidents with a model, beside the rules
    ///
    /// One call per incident with the published prompt (the axes'
    /// definitions, the conventions, lean low), temperature 0, and a
    /// strict JSON answer; a malformed answer gets one correction, and an
    /// incident still ungraded is listed as failed. The agreement between
    /// graders (quadratic-weighted kappa) is computed again.
    Grade {
        /// A catalogue written by `incidents collect`
        catalogue: PathBuf,
        /// The model: `anthropic:…`, `openai:…`, `gemini:…`,
        /// `openai-compatible:…`, or `scripted:FILE` offline
        #[arg(long)]
        model: String,
        /// Put this grader's grades in force (ahead of the rules) where no
        /// person overrode them
        #[arg(long)]
        primary: bool,
        /// Where to write the catalogue [default: in place]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Record a person's decision on one incident: a grade, or a dismissal
    Override {
        /// The catalogue, changed in place
        catalogue: PathBuf,
        /// The incident, `INC-NNN`
        id: String,
        /// Overreach as `LEVEL` or `LEVEL:SEVERITY`, e.g. `2:0.3`
        #[arg(long, requires = "deception", conflicts_with = "dismiss")]
        overreach: Option<String>,
        /// Deception, the same way, e.g. `1:0.2`; `0` for none
        #[arg(long, requires = "overreach", conflicts_with = "dismiss")]
        deception: Option<String>,
        /// Not an incident after all: kept in the file, left out of charts
        #[arg(long)]
        dismiss: bool,
        /// Who decides
        #[arg(long)]
        by: String,
        /// Why
        #[arg(long)]
        reason: String,
    },
    /// Draw the severity chart (SVG) and write its data (JSON, CSV)
    ///
    /// Writes `chart.svg`, `incidents.json` (`perimeter.incident-chart/1`)
    /// and `incidents.csv` into the folder: one point per incident, at its
    /// grade in force (a person's, else the first grader's).
    Chart {
        /// A catalogue, or a round's pooled catalogue (`public.incidents.json`)
        catalogue: PathBuf,
        /// The folder to write into
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Only incidents of this source: suite_episode, scanned_session,
        /// lab_reported, public_report
        #[arg(long)]
        source: Option<String>,
        /// Only incidents of this model
        #[arg(long)]
        model: Option<String>,
        /// Only this participant's (a pooled catalogue's attributed ones)
        #[arg(long)]
        lab: Option<String>,
        /// The chart's title
        #[arg(long, default_value = "Incidents by overreach and deception")]
        title: String,
    },
}

#[derive(Debug, Args)]
pub struct MonitorScoreArgs {
    /// A corpus written by `perimeter monitor corpus`
    pub corpus: PathBuf,
    /// The monitor: `cmd:<command>` (reads a trajectory as JSON on stdin,
    /// writes `{"score": …, "rationale": …}`), `http[s]://…` (the same over
    /// POST), `llm:<model>` (a prompted model: `llm:anthropic:…`, or
    /// `llm:scripted:FILE` offline), or `builtin:detectors`
    #[arg(long)]
    pub monitor: String,
    /// What the monitor is shown: `actions`, `summary` (with the agent's
    /// messages) or `reasoning` (with its raw reasoning)
    #[arg(long, default_value = "actions")]
    pub view: formats::monitor::View,
    /// A false-positive rate to calibrate a threshold at (repeatable)
    /// [default: 0.01 and 0.05]
    #[arg(long, value_name = "RATE")]
    pub fpr: Vec<f64>,
    /// The lab's own prompt for an `llm:` monitor (the published one otherwise)
    #[arg(long, value_name = "FILE")]
    pub prompt: Option<PathBuf>,
    /// Warn an `llm:` monitor's prompt about evasion (the ablation)
    #[arg(long)]
    pub warn: bool,
    /// Seconds one trajectory may take a `cmd:` or `http:` monitor
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout: u64,
    /// Trajectories scored at once
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub threads: u16,
    /// Where to write the results (`perimeter.monitor-results/1`)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// `table` for people, `json` for the results on standard output too
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum TraceCommand {
    /// Check traces' hash chains; exits non-zero naming the first bad line
    Verify {
        /// Trace files (`*.trace.jsonl`)
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// `table` for people, `json` for `perimeter.trace-verification/1`
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// `I/N` with I < N.
fn parse_shard(s: &str) -> Result<formats::run::Shard, String> {
    let (i, n) = s.split_once('/').ok_or("expected I/N, e.g. 0/4")?;
    let index: u32 = i.trim().parse().map_err(|_| format!("`{i}` is not a shard index"))?;
    let count: u32 = n.trim().parse().map_err(|_| format!("`{n}` is not a shard count"))?;
    if count == 0 || index >= count {
        return Err(format!(
            "shard {index} of {count}: the index runs from 0 to {}",
            count.max(1) - 1
        ));
    }
    Ok(formats::run::Shard { index, count })
}
