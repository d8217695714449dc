//! The subcommands, one file each (`<command>_cmd.rs`; the suffix keeps
//! them apart from the crates they drive), and what several share: where
//! output goes, how a named path or JSON input is read, the suite, the
//! clock, the scratch space.

use std::io::{BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use scenario::Suite;

use crate::Failure;
use crate::args::{
    BundleCommand, Cli, ClusterCommand, Command, DisclosureCommand, EvidenceCommand, ExportCommand,
    Format, IncidentsCommand, KeysCommand, MonitorCommand, ReportArgs, ReportFormat, ReviewCommand,
    RoundCommand, RunArgs, ScanArgs, SuiteCommand, TraceCommand,
};
use crate::render;

mod bundle_cmd;
mod cluster_cmd;
mod doctor_cmd;
mod incidents_cmd;
mod keys_cmd;
mod monitor_cmd;
mod report_cmd;
mod review_cmd;
mod round_cmd;
mod run_cmd;
mod scan_cmd;
mod suite_cmd;
mod trace_cmd;
mod view_cmd;

use bundle_cmd::*;
use cluster_cmd::*;
use doctor_cmd::*;
use incidents_cmd::*;
use keys_cmd::*;
use monitor_cmd::*;
use report_cmd::*;
use review_cmd::*;
use round_cmd::*;
pub(crate) use round_cmd::{disclose, now, write_reports};
pub(crate) use run_cmd::run_config;
use run_cmd::*;
use scan_cmd::*;
use suite_cmd::*;
use trace_cmd::*;
use view_cmd::*;

pub(crate) fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Merge { dirs, out, suites } => merge(&dirs, &out, &suites),
        Command::Export(ExportCommand::Inspect { run, out }) => export_inspect(&run, &out),
        Command::Scan(args) => scan(args),
        Command::Report(args) => report(args),
        Command::Keys(KeysCommand::Generate { out }) => keys_generate(&out),
        Command::Round(RoundCommand::Init {
            dir,
            protocol,
            suite_digest,
            participants,
            window,
            seed,
            draft_notice_days,
            format,
        }) => round_init(
            &dir,
            &protocol,
            &suite_digest,
            &participants,
            window.as_deref(),
            (seed, draft_notice_days),
            format,
        ),
        Command::Round(RoundCommand::Ingest { dir, bundles, format }) => {
            round_ingest(&dir, &bundles, format)
        }
        Command::Round(RoundCommand::Disclose { dir, decisions, format }) => {
            round_disclose(&dir, &decisions, format)
        }
        Command::Round(RoundCommand::Report { dir, format }) => round_report(&dir, format),
        Command::Round(RoundCommand::Advance { dir, phase, format }) => {
            round_advance(&dir, &phase, format)
        }
        Command::Round(RoundCommand::Access { dir, record, format }) => {
            round_access(&dir, &record, format)
        }
        Command::Round(RoundCommand::Evaluate {
            dir,
            run,
            name,
            participant,
            public: _,
            format,
        }) => round_evaluate(&dir, &run, &name, participant.as_deref(), format),
        Command::Round(RoundCommand::Ask {
            dir,
            participant,
            question,
            by,
            text,
            attendees,
            format,
        }) => round_ask(&dir, &participant, &question, &by, &text, attendees, format),
        Command::Round(RoundCommand::Reply { dir, entry, format }) => {
            round_reply(&dir, &entry, format)
        }
        Command::Round(RoundCommand::Respond { dir, response, format }) => {
            round_respond(&dir, &response, format)
        }
        Command::Round(RoundCommand::Draft { dir, format }) => round_draft(&dir, format),
        Command::Round(RoundCommand::CheckItems { items, root, index }) => {
            round_check_items(&items, root.as_deref(), index)
        }
        Command::Round(RoundCommand::Exit { dir, participant, format }) => {
            round_exit(&dir, &participant, format)
        }
        Command::Cluster(ClusterCommand::Slurm { shards, dir, perimeter, sbatch, run }) => {
            cluster_slurm(shards, &dir, perimeter.as_deref(), &sbatch, &run)
        }
        Command::Cluster(ClusterCommand::K8s {
            shards,
            parallelism,
            image,
            claim,
            name,
            out,
            run,
        }) => cluster_k8s(&K8s { shards, parallelism, image, claim, name, out, run }),
        Command::Review(ReviewCommand::Check { dir }) => review_check(&dir),
        Command::Review(ReviewCommand::Build { dir, out, key, draft }) => {
            review_build(&dir, &out, key.as_deref(), draft)
        }
        Command::Review(ReviewCommand::Verify { file, pubkey }) => {
            review_verify(&file, pubkey.as_deref())
        }
        Command::Review(ReviewCommand::Demo { out }) => review_demo(&out),
        Command::Bundle(BundleCommand::Create(args)) => bundle_create(args),
        Command::Bundle(BundleCommand::Verify { bundle, pubkey, format }) => {
            bundle_verify_command(&bundle, pubkey.as_deref(), format)
        }
        Command::Bundle(BundleCommand::Inspect { bundle, format }) => {
            bundle_inspect(&bundle, format)
        }
        Command::Evidence(EvidenceCommand::Prove { bundle, run, item, out, line }) => {
            evidence_prove(&bundle, &run, &item, &out, line)
        }
        Command::Evidence(EvidenceCommand::Check { bundle, proof, pubkey, relabel, suite }) => {
            evidence_check(&bundle, &proof, pubkey.as_deref(), relabel.then_some(suite.as_str()))
        }
        Command::Suite(SuiteCommand::List { suite, format }) => suite_list(&suite, format),
        Command::Suite(SuiteCommand::Digest { suite }) => suite_digest(&suite),
        Command::Suite(SuiteCommand::Show { id, suite }) => suite_show(&suite, &id),
        Command::Suite(SuiteCommand::Validate {
            path,
            suite,
            seeds,
            concurrency,
            keep,
            policies,
            measure,
            format,
        }) => {
            let suite = with_policies(load_suite(path.as_deref().unwrap_or(&suite))?, policies)?;
            suite_validate(suite, seeds, concurrency, keep, measure.then_some(format))
        }
        Command::Trace(TraceCommand::Verify { files, format }) => trace_verify(&files, format),
        Command::Monitor(MonitorCommand::Corpus { runs, sessions, out, name }) => {
            monitor_corpus(&runs, &sessions, &out, name.as_deref())
        }
        Command::Monitor(MonitorCommand::Score(args)) => monitor_score(args),
        Command::Monitor(MonitorCommand::Routing { router, profile, timeout, out, format }) => {
            monitor_routing(&router, profile.as_deref(), timeout, &out, format)
        }
        Command::Monitor(MonitorCommand::Viewer {
            viewer,
            keep,
            cases_only,
            timeout,
            out,
            format,
        }) => monitor_viewer(&viewer, keep.as_deref(), cases_only, timeout, out.as_deref(), format),
        Command::Incidents(command) => incidents(command),
        Command::View { paths, decisions, reviewer, port } => {
            view(&paths, &decisions, reviewer, port)
        }
        Command::Demo { out, epochs } => crate::demo::demo(&out, epochs),
        Command::Disclosure(DisclosureCommand::Sign { file, key, out }) => {
            disclosure_sign(&file, &key, &out)
        }
        Command::Doctor { clients, format } => doctor(clients.or_else(find_clients), format),
    }
}

/// Prints a `--format json` object: pretty, one object, then a newline.
fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).expect("outputs serialize"));
}

/// Writes a command's output to `--out`, or standard output without one.
fn emit(out: Option<&Path>, text: &str) -> Result<ExitCode, Failure> {
    match out {
        Some(path) => write_out(path, text)?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes an output file whole or not at all (see `round::write_atomic`).
/// A path that is not a regular file (`/dev/null`, a FIFO, `/dev/stdout`, a
/// symlink to one) is written in place: replacing it with a file by a
/// rename would destroy a device node (as root, `--out /dev/null` would
/// leave the machine without one).
pub(crate) fn write_out(path: &Path, text: &str) -> Result<(), Failure> {
    let hint = || Some("check that the folder exists and is writable".into());
    let special = std::fs::symlink_metadata(path).is_ok_and(|m| !m.file_type().is_file());
    if special {
        return std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
            .map_err(|e| Failure::runtime(format!("{}: {e}", path.display()), hint()));
    }
    round::write_atomic(path, text.as_bytes(), 0o644)
        .map_err(|e| Failure::runtime(e.to_string(), hint()))
}

fn read_json(path: &Path) -> Result<serde_json::Value, Failure> {
    named(path, "file", "check the path")?;
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display()), None))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display()), None))
}

/// A path the user named, refused in plain words when it is not there:
/// "`x`: no such bundle file", with what to name instead.
fn named(path: &Path, what: &str, hint: &str) -> Result<(), Failure> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Failure::usage(format!("`{}`: no such {what}", path.display()), Some(hint.into())))
        }
        _ => Ok(()),
    }
}

/// A reviewers' decisions file, as `perimeter view` writes it; a torn last
/// line is left out, with a warning.
fn read_decisions(file: &Path) -> Result<Vec<formats::review::Decision>, Failure> {
    named(file, "decisions file", "the --decisions of `perimeter view`")?;
    let (decisions, recovered, _) = view::journal::read(file).map_err(|e| {
        Failure::usage(
            e.to_string(),
            Some("a decisions file is what `perimeter view` writes".into()),
        )
    })?;
    if let Some(torn) = recovered {
        eprintln!(
            "warning: {}: a decision cut short by a crash is left out: {torn}",
            file.display()
        );
    }
    Ok(decisions)
}

fn load_suite(name: &str) -> Result<Suite, Failure> {
    if name == scenario::BUILTIN {
        return Suite::builtin()
            .map_err(|e| Failure::runtime(format!("the built-in suite is invalid: {e}"), None));
    }
    let path = Path::new(name);
    if !path.is_dir() {
        return Err(Failure::usage(
            format!("no suite `{name}`"),
            Some("use `builtin` or the path of a suite directory".into()),
        ));
    }
    Suite::load_dir(path).map_err(|e| Failure::usage(e.to_string(), None))
}

/// The suite with the policies of `dir` added, when given.
fn with_policies(suite: Suite, dir: Option<PathBuf>) -> Result<Suite, Failure> {
    match dir {
        Some(dir) => suite.with_policies(&dir).map_err(|e| Failure::usage(e.to_string(), None)),
        None => Ok(suite),
    }
}

fn harness_version() -> String {
    format!("perimeter {}", env!("CARGO_PKG_VERSION"))
}

/// The wall clock, or a fixed stepping clock when `PERIMETER_FIXED_CLOCK`
/// holds a start time in Unix milliseconds (for reproducible output).
pub(crate) fn clock() -> Box<dyn trace::Clock> {
    struct SystemClock;
    impl trace::Clock for SystemClock {
        fn now(&self) -> trace::Timestamp {
            let d = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            trace::Timestamp(d.as_millis() as i64)
        }
    }
    match std::env::var("PERIMETER_FIXED_CLOCK").ok().and_then(|v| v.parse().ok()) {
        Some(start) => Box::new(trace::FixedClock::new(trace::Timestamp(start), 1)),
        None => Box::new(SystemClock),
    }
}

/// Per-episode scratch space, under the temporary directory and
/// traversable by the sandbox's user.
fn scratch_dir() -> Result<PathBuf, Failure> {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("perimeter-{}", sandbox::effective_uid()));
    let fail = |e: std::io::Error| {
        Failure::runtime(
            format!("{}: {e}", dir.display()),
            Some("set `TMPDIR` to a writable directory".into()),
        )
    };
    std::fs::create_dir_all(&dir).map_err(fail)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).map_err(fail)?;
    Ok(dir)
}

/// The installed clients: `$PERIMETER_CLIENTS`, else the first `clients/`
/// with a `node_modules` beside or above the running binary (a checkout's
/// `target/<profile>/perimeter` finds the checkout's `clients/`).
fn find_clients() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PERIMETER_CLIENTS") {
        return Some(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .take(4)
        .map(|d| d.join("clients"))
        .find(|c| c.join("node_modules").is_dir())
}

fn current_exe() -> Result<PathBuf, Failure> {
    std::env::current_exe()
        .map_err(|e| Failure::runtime(format!("cannot locate the perimeter binary: {e}"), None))
}
