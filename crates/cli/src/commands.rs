//! One function per subcommand.

use std::io::{BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use scenario::Suite;

use crate::Failure;
use crate::args::{
    BundleCommand, Cli, Command, DisclosureCommand, EvidenceCommand, Format, KeysCommand,
    ReportArgs, ReportFormat, RoundCommand, RunArgs, ScanArgs, SuiteCommand, TraceCommand,
};
use crate::render;

pub(crate) fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Run(args) => run(args),
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
        }) => round_init(&dir, &protocol, &suite_digest, &participants, window.as_deref(), seed),
        Command::Round(RoundCommand::Ingest { dir, bundles }) => round_ingest(&dir, &bundles),
        Command::Round(RoundCommand::Disclose { dir, decisions }) => {
            round_disclose(&dir, &decisions)
        }
        Command::Round(RoundCommand::Report { dir }) => round_report(&dir),
        Command::Round(RoundCommand::Exit { dir, participant }) => round_exit(&dir, &participant),
        Command::Bundle(BundleCommand::Create {
            run,
            key,
            participant,
            scan,
            questionnaire,
            out,
        }) => {
            bundle_create(&run, &key, &participant, scan.as_deref(), questionnaire.as_deref(), &out)
        }
        Command::Bundle(BundleCommand::Verify { bundle, pubkey }) => {
            bundle_verify(&bundle, pubkey.as_deref()).map(|v| {
                println!(
                    "{}: valid, signed by {}; {} evidence items, root {}",
                    bundle.display(),
                    bundle::keys::public_line(&v.public_key, ""),
                    v.items.len(),
                    bundle::merkle::hex(&v.root)
                );
                ExitCode::SUCCESS
            })
        }
        Command::Bundle(BundleCommand::Inspect { bundle }) => bundle_inspect(&bundle),
        Command::Evidence(EvidenceCommand::Prove { bundle, run, item, out }) => {
            let v = bundle_verify(&bundle, None)?;
            let proof =
                bundle::submission::prove(&v, &run, &item).map_err(|e| Failure::usage(e, None))?;
            write_out(&out, &proof)?;
            println!(
                "{}: `{item}` with its path to root {}",
                out.display(),
                bundle::merkle::hex(&v.root)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Evidence(EvidenceCommand::Check { bundle, proof, pubkey }) => {
            let v = bundle_verify(&bundle, pubkey.as_deref())?;
            let bytes = std::fs::read(&proof)
                .map_err(|e| Failure::usage(format!("{}: {e}", proof.display()), None))?;
            let content = bundle::submission::check(&v, &bytes)
                .map_err(|e| Failure::runtime(format!("{}: {e}", proof.display()), None))?;
            println!(
                "{}: valid; {} bytes under the bundle's signed root",
                proof.display(),
                content.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Suite(SuiteCommand::List { suite, format }) => suite_list(&suite, format),
        Command::Suite(SuiteCommand::Digest { suite }) => {
            println!("{}", load_suite(&suite)?.digest);
            Ok(ExitCode::SUCCESS)
        }
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
        Command::Trace(TraceCommand::Verify { files }) => trace_verify(&files),
        Command::Demo { out, epochs } => crate::demo::demo(&out, epochs),
        Command::Disclosure(DisclosureCommand::Sign { file, key, out }) => {
            let doc = read_json(&file)?;
            let key = bundle::submission::read_key(&key).map_err(|e| Failure::usage(e, None))?;
            let signed = round::disclosure::sign(&doc, &key);
            write_out(&out, &(serde_json::to_string_pretty(&signed).expect("JSON") + "\n"))?;
            println!(
                "{}: signed by {}",
                out.display(),
                bundle::keys::public_line(&key.public(), doc["participant"].as_str().unwrap_or(""))
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor { clients } => doctor(clients.or_else(find_clients)),
    }
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
    round::write_atomic(path, text.as_bytes(), 0o644).map_err(|e| Failure::runtime(e, hint()))
}

fn round_failure(e: String) -> Failure {
    Failure::usage(e, Some("a round folder is made by `perimeter round init`".into()))
}

fn round_init(
    dir: &Path,
    protocol: &str,
    suite_digest: &str,
    participants: &[String],
    window: Option<&str>,
    seed: Option<u64>,
) -> Result<ExitCode, Failure> {
    if dir.join("round.json").exists() {
        return Err(Failure::usage(format!("{} already holds a round", dir.display()), None));
    }
    let mut list = Vec::new();
    for p in participants {
        let (id, file) = p.split_once('=').ok_or_else(|| {
            Failure::usage(format!("`--participant {p}`: expected ID=FILE"), None)
        })?;
        let text = std::fs::read_to_string(file)
            .map_err(|e| Failure::usage(format!("{file}: {e}"), None))?;
        list.push((id.to_owned(), text));
    }
    let seed = match seed {
        Some(s) => s,
        None => round::random_seed().map_err(|e| Failure::runtime(e, None))?,
    };
    let spec = round::init(protocol, suite_digest, window, seed, &list)
        .map_err(|e| Failure::usage(e, None))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::runtime(format!("{}: {e}", dir.display()), None))?;
    write_out(
        &dir.join("round.json"),
        &(serde_json::to_string_pretty(&spec).expect("JSON") + "\n"),
    )?;
    let s = if list.len() == 1 { "" } else { "s" };
    println!("{}: round of {} participant{s}, suite {suite_digest}", dir.display(), list.len());
    Ok(ExitCode::SUCCESS)
}

fn round_ingest(dir: &Path, paths: &[PathBuf]) -> Result<ExitCode, Failure> {
    round::load(dir).map_err(round_failure)?;
    let bundles = paths
        .iter()
        .map(|p| {
            std::fs::read(p).map_err(|e| Failure::usage(format!("{}: {e}", p.display()), None))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let outcomes = round::ingest(dir, &bundles).map_err(|e| Failure::runtime(e, None))?;
    let mut failed = false;
    for (path, outcome) in paths.iter().zip(outcomes) {
        match outcome {
            Ok(i) => {
                if i.replaced {
                    println!(
                        "{}: replaces {}'s earlier bundle; its disclosure decisions were about that one and are void",
                        path.display(),
                        i.participant
                    );
                }
                if i.incomparable.is_empty() {
                    println!("{}: {} accepted", path.display(), i.participant);
                } else {
                    println!(
                        "{}: {} ingested but not comparable, kept out of pooled figures:\n  {}",
                        path.display(),
                        i.participant,
                        i.incomparable.join("\n  ")
                    );
                }
            }
            Err(problems) => {
                failed = true;
                eprintln!("{}: refused:\n  {}", path.display(), problems.join("\n  "));
            }
        }
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn round_disclose(dir: &Path, file: &Path) -> Result<ExitCode, Failure> {
    let doc = read_json(file)?;
    println!("{}", disclose(dir, &doc, file)?);
    Ok(ExitCode::SUCCESS)
}

/// Checks and stores a participant's decisions; returns a line saying
/// what they are.
pub(crate) fn disclose(
    dir: &Path,
    doc: &serde_json::Value,
    file: &Path,
) -> Result<String, Failure> {
    let Some(participant) = doc["participant"].as_str().filter(|p| !p.is_empty()) else {
        return Err(Failure::usage(
            format!("{}: no `participant`: not a disclosure decisions file", file.display()),
            Some(
                "name the `<id>.disclosure.json` that came with your private report, filled in and signed (`perimeter disclosure sign`)"
                    .into(),
            ),
        ));
    };
    let participant = participant.to_owned();
    let member = round::members(dir)
        .map_err(round_failure)?
        .into_iter()
        .find(|m| m.participant == participant)
        .ok_or_else(|| {
            Failure::usage(
                format!("{}: `{participant}` has no bundle in this round", file.display()),
                Some("decisions are about a participant's claims: ingest its bundle first".into()),
            )
        })?;
    let spec = round::load(dir).map_err(round_failure)?;
    let registered =
        round::registered_key(&spec, &participant).map_err(|e| Failure::usage(e, None))?;
    let signed = round::disclosure::check_signature(doc, &registered)
        .map_err(|e| Failure::usage(format!("{}: refused: {e}", file.display()), None))?;
    let claims = round::claims::extract(&member.bundle);
    let decisions = round::disclosure::read(doc, &participant, &claims).map_err(|p| {
        Failure::usage(
            format!("{}: refused:\n  {}", file.display(), p.join("\n  ")),
            Some(
                "the participant's private report lists its claims and what may be withheld".into(),
            ),
        )
    })?;
    let bytes = serde_json::to_vec(doc).expect("JSON");
    round::store_disclosure(dir, &participant, &bytes).map_err(|e| Failure::runtime(e, None))?;
    let resolved = round::disclosure::resolve(&claims, Some(&decisions));
    let count = |a| resolved.iter().filter(|r| r.attribution == a).count();
    use round::disclosure::Attribution;
    Ok(format!(
        "{participant}: {} claims: {} attributed, {} non-attributed, {} withheld ({} high-importance without comment); approved by {} on {}, {}",
        claims.len(),
        count(Attribution::Attributed),
        count(Attribution::NonAttributed),
        count(Attribution::Withheld),
        resolved.iter().filter(|r| r.flagged()).count(),
        decisions.approval.by,
        decisions.approval.date,
        if signed { "signed with its registered key" } else { "unsigned" }
    ))
}

fn round_report(dir: &Path) -> Result<ExitCode, Failure> {
    let (reports, out) = write_reports(dir)?;
    for w in &reports.warnings {
        eprintln!("note: {w}");
    }
    println!(
        "public report: {}\nprivate reports ({}): {}",
        out.join("public.html").display(),
        reports.private.len(),
        out.join("private").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes a round's reports (JSON, Markdown, HTML) into `DIR/reports`,
/// replacing what was there.
pub(crate) fn write_reports(dir: &Path) -> Result<(round::report::Reports, PathBuf), Failure> {
    let spec = round::load(dir).map_err(round_failure)?;
    let members = round::members(dir).map_err(|e| Failure::runtime(e, None))?;
    let reports = round::report::build(&spec, &members).map_err(|e| Failure::runtime(e, None))?;
    // Nothing stale stays: a private report of someone no longer in the
    // round must not survive a rewrite.
    let out = round::clear_reports(dir).map_err(|e| Failure::runtime(e, None))?;
    std::fs::create_dir_all(out.join("private"))
        .map_err(|e| Failure::runtime(format!("{}: {e}", out.display()), None))?;
    fn json<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_string_pretty(v).expect("reports serialize") + "\n"
    }
    use round::render;
    write_out(&out.join("public.json"), &json(&reports.public))?;
    write_out(&out.join("public.md"), &render::public_markdown(&reports.public))?;
    write_out(&out.join("public.html"), &render::public_html(&reports.public))?;
    for p in &reports.private {
        let base = out.join("private").join(&p.participant);
        write_out(&base.with_extension("json"), &json(p))?;
        write_out(&base.with_extension("md"), &render::private_markdown(p))?;
        write_out(&base.with_extension("html"), &render::private_html(p))?;
        write_out(&base.with_extension("disclosure.json"), &json(&p.decision_template()))?;
    }
    Ok((reports, out))
}

/// Silent exit: the participant leaves the round as if it had never
/// joined.
fn round_exit(dir: &Path, participant: &str) -> Result<ExitCode, Failure> {
    round::exit(dir, participant).map_err(|e| {
        // Name who is in the round, rather than how to make one.
        let ids: Vec<String> = round::load(dir)
            .ok()
            .and_then(|r| r["participants"].as_array().cloned())
            .into_iter()
            .flatten()
            .filter_map(|p| p["id"].as_str().map(str::to_owned))
            .collect();
        match ids.is_empty() {
            true => round_failure(e),
            false => Failure::usage(e, Some(format!("its participants: {}", ids.join(", ")))),
        }
    })?;
    println!("done");
    Ok(ExitCode::SUCCESS)
}

fn keys_generate(out: &Path) -> Result<ExitCode, Failure> {
    let public = out.with_file_name(format!(
        "{}.pub",
        out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    for p in [out, public.as_path()] {
        if p.exists() {
            return Err(Failure::usage(
                format!("{} already exists", p.display()),
                Some("keys are never overwritten: choose another --out".into()),
            ));
        }
    }
    let pem = bundle::keys::generate().map_err(|e| Failure::runtime(e, None))?;
    let key = bundle::keys::SigningKey::from_text(&pem).map_err(|e| Failure::runtime(e, None))?;
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(out)
            .map_err(|e| Failure::runtime(format!("{}: {e}", out.display()), None))?;
        f.write_all(pem.as_bytes())
            .map_err(|e| Failure::runtime(format!("{}: {e}", out.display()), None))?;
    }
    write_out(&public, &(bundle::keys::public_line(&key.public(), "perimeter") + "\n"))?;
    println!("private key: {} (mode 0600)\npublic key:  {}", out.display(), public.display());
    Ok(ExitCode::SUCCESS)
}

fn read_json(path: &Path) -> Result<serde_json::Value, Failure> {
    named(path, "file", "check the path")?;
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display()), None))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display()), None))
}

fn bundle_create(
    run: &Path,
    key: &Path,
    participant: &str,
    scan: Option<&Path>,
    questionnaire: Option<&Path>,
    out: &Path,
) -> Result<ExitCode, Failure> {
    // Checked first: no round could ingest a bundle with a bad id.
    bundle::submission::check_participant(participant).map_err(|e| {
        Failure::usage(e, Some("e.g. `--participant lab-a`, as the round names you".into()))
    })?;
    named(run, "run folder", "name the --out of `perimeter run`")?;
    named(
        key,
        "key file",
        "`perimeter keys generate --out FILE` makes one, or name an OpenSSH ed25519 key",
    )?;
    let key = bundle::submission::read_key(key).map_err(|e| Failure::usage(e, None))?;
    let mut extras = bundle::submission::Extras::default();
    if let Some(p) = scan {
        let report = read_json(p)?;
        if report["format"] != scan::FORMAT {
            return Err(Failure::usage(
                format!("{}: not a {} report", p.display(), scan::FORMAT),
                Some("make one with `perimeter scan PATH --format json --out FILE`".into()),
            ));
        }
        extras.scan = Some(report);
    }
    if let Some(p) = questionnaire {
        let answers = bundle::questionnaire::read(&read_json(p)?).map_err(|problems| {
            Failure::usage(
                format!("{}:\n  {}", p.display(), problems.join("\n  ")),
                Some("docs/bundle-format.md describes the questionnaire file".into()),
            )
        })?;
        extras.questionnaire = Some(answers);
    }
    let created = clock().now().to_string();
    let text =
        bundle::submission::create(run, participant, &key, &created, &extras).map_err(|e| {
            Failure::usage(e, Some("name a finished run folder (with its summary.json)".into()))
        })?;
    write_out(out, &text)?;
    let v = bundle::submission::verify(text.as_bytes(), None)
        .map_err(|p| Failure::runtime(p.join("; "), None))?;
    println!(
        "{}: signed by {participant}; {} evidence items, root {}",
        out.display(),
        v.items.len(),
        bundle::merkle::hex(&v.root)
    );
    Ok(ExitCode::SUCCESS)
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

fn bundle_verify(
    path: &Path,
    pubkey: Option<&Path>,
) -> Result<bundle::submission::Verified, Failure> {
    named(path, "bundle file", "name the file `perimeter bundle create --out` wrote")?;
    if let Some(p) = pubkey {
        named(
            p,
            "public key file",
            "name the lab's `.pub` file (`perimeter keys generate` writes one)",
        )?;
    }
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display()), None))?;
    let expected = match pubkey {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| Failure::usage(format!("{}: {e}", p.display()), None))?;
            Some(
                bundle::keys::parse_public(&text)
                    .map_err(|e| Failure::usage(format!("{}: {e}", p.display()), None))?,
            )
        }
        None => None,
    };
    bundle::submission::verify(&bytes, expected.as_ref()).map_err(|problems| {
        Failure::runtime(
            format!("{} does not verify:\n  {}", path.display(), problems.join("\n  ")),
            None,
        )
    })
}

fn bundle_inspect(path: &Path) -> Result<ExitCode, Failure> {
    let v = bundle_verify(path, None)?;
    let m = &v.bundle["manifest"];
    println!("participant  {}", m["participant"].as_str().unwrap_or("?"));
    println!("created      {}", m["created"].as_str().unwrap_or("?"));
    println!("protocol     {}", m["protocol"].as_str().unwrap_or("?"));
    println!(
        "suite        {} {}",
        m["suite"]["name"].as_str().unwrap_or("?"),
        m["suite"]["digest"].as_str().unwrap_or("?")
    );
    println!("agent        {}", m["agent"].as_str().unwrap_or("?"));
    println!("permissions  {}", m["permission_mode"].as_str().unwrap_or("?"));
    if let Some(package) = m["client"]["package"].as_str() {
        println!(
            "client       {package} {} (pinned {})",
            m["client"]["version"].as_str().unwrap_or("unknown"),
            m["client"]["pinned"].as_str().unwrap_or("?")
        );
    }
    println!(
        "episodes     {} ({} × {})",
        m["episodes"],
        render::count(m["scenarios"].as_array().map_or(0, Vec::len) as u64, "scenario"),
        render::count(m["epochs"].as_u64().unwrap_or(0), "epoch")
    );
    println!("evidence     {} items, root {}", v.items.len(), bundle::merkle::hex(&v.root));
    println!("signed by    {}", bundle::keys::public_line(&v.public_key, ""));
    Ok(ExitCode::SUCCESS)
}

fn report(args: ReportArgs) -> Result<ExitCode, Failure> {
    let hint = "name a run folder: the --out of `perimeter run`, with its summary.json";
    named(&args.dir, "run folder", hint)?;
    if let Some(other) = &args.compare {
        named(other, "run folder", hint)?;
    }
    let load = |dir: &Path| {
        report::load(dir).map_err(|e| {
            Failure::usage(
                e,
                Some(
                    "name a run folder: the --out of `perimeter run`, with its summary.json".into(),
                ),
            )
        })
    };
    let first = load(&args.dir)?;
    let text = match &args.compare {
        Some(other) => {
            let second = load(other)?;
            let rows = report::compare(&first.summary, &second.summary).map_err(|reasons| {
                Failure::usage(
                    format!("the runs are not comparable:\n  {}", reasons.join("\n  ")),
                    Some(
                        "compare runs of the same suite, limits, scenarios, epochs and seed".into(),
                    ),
                )
            })?;
            match args.format {
                ReportFormat::Json => {
                    let v = serde_json::json!({"format": "perimeter.comparison/1", "first": args.dir, "second": other, "classes": rows});
                    serde_json::to_string_pretty(&v).expect("JSON") + "\n"
                }
                _ => render::comparison(
                    &first.summary.header.agent,
                    &second.summary.header.agent,
                    &rows,
                ),
            }
        }
        None => match args.format {
            ReportFormat::Html => report::html(&first),
            ReportFormat::Md => report::markdown(&first),
            ReportFormat::Json => {
                serde_json::to_string_pretty(&report::report(&first)).expect("JSON") + "\n"
            }
        },
    };
    // A page of HTML is no use on a terminal: it goes next to the run, and
    // the terminal gets its path.
    if args.out.is_none()
        && args.compare.is_none()
        && args.format == ReportFormat::Html
        && std::io::stdout().is_terminal()
    {
        let path = args.dir.join("report.html");
        emit(Some(&path), &text)?;
        println!("{}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    emit(args.out.as_deref(), &text)
}

fn scan(args: ScanArgs) -> Result<ExitCode, Failure> {
    // Nothing named on the command line is there: a mistake, said before
    // reading anything. (Among paths that are there, a missing one is an
    // error of the report, and the scan goes on.)
    if let Some(labels) = &args.validate {
        named(
            labels,
            "labels file",
            "a JSONL file, each line {\"file\": \"<path>\", \"classes\": [...]}",
        )?;
    }
    let missing = |p: &PathBuf| std::fs::symlink_metadata(p).is_err();
    if args.paths.iter().all(missing) {
        let names: Vec<String> = args.paths.iter().map(|p| format!("`{}`", p.display())).collect();
        return Err(Failure::usage(
            format!("{}: no such file or folder", names.join(", ")),
            Some("name transcript files or folders that hold them".into()),
        ));
    }
    let threads =
        args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let (policy, policy_source) = match &args.policy {
        Some(p) => scan::read_policy(p).map_err(|e| {
            Failure::usage(e, Some("the policy file's format: docs/scan-format.md".into()))
        })?,
        None => (scan::Policy::default_policy().clone(), scan::PolicySource::default_policy()),
    };
    let judge = args.judge.as_ref().map(|spec| scan_judge(spec, &args)).transpose()?;
    let config = scan::Config {
        paths: args.paths,
        format_hint: args.format_hint,
        threads,
        limits: import::Limits { max_line: args.max_line_bytes },
        policy,
        policy_source,
        judge,
    };
    let progress = render::ScanProgress::new(std::io::stderr().is_terminal());
    let report = scan::scan(&config, &progress);
    progress.clear();
    // The table says what the judge spent; other outputs, stderr.
    if let Some(j) = &report.judge
        && (args.format != Format::Table || args.out.is_some() || args.validate.is_some())
    {
        eprintln!("{}", render::judge_spent(j));
    }
    if report.totals.files == 0 && report.errors.is_empty() {
        return Err(Failure::usage(
            "no transcript files found (folders are searched for .jsonl, .json, .ndjson and .eval)",
            Some("name the files themselves to scan other extensions".into()),
        ));
    }
    if let Some(labels) = &args.validate {
        let labels = scan::validate::read_labels(labels).map_err(|e| {
            Failure::usage(e, Some("each line: {\"file\": \"<path>\", \"classes\": [...]}".into()))
        })?;
        let v = scan::validate::validate(&report, &labels);
        let text = match args.format {
            Format::Json => serde_json::to_string_pretty(&v).expect("JSON") + "\n",
            Format::Table => render::scan_validation(&v),
        };
        return emit(args.out.as_deref(), &text);
    }
    let text = match args.format {
        Format::Json => {
            let mut buf = Vec::new();
            scan::write_json(&report, &mut buf).expect("writing to memory");
            String::from_utf8(buf).expect("JSON is UTF-8")
        }
        Format::Table => render::scan_report(&report),
    };
    emit(args.out.as_deref(), &text)
}

/// The scan's judge: the model (a relay reading its key and base URL from
/// the environment, or a script), its prompt, its cache and budget.
fn scan_judge(spec: &gateway::ModelSpec, args: &ScanArgs) -> Result<scan::JudgeConfig, Failure> {
    let prompt = judge::Prompt::new(&args.judge_classes).map_err(|e| Failure::usage(e, None))?;
    let model = judge::Model::from_spec(spec, &|k| std::env::var(k).ok()).map_err(|e| {
        Failure::usage(e, Some("a scripted judge's file format: docs/scan-format.md".into()))
    })?;
    // A compatible server may take no key; the others refuse every call.
    let needs_key =
        spec.key_var().filter(|_| !matches!(spec, gateway::ModelSpec::OpenAiCompatible { .. }));
    if let Some(var) = needs_key
        && std::env::var(var).map_or(true, |v| v.is_empty())
    {
        return Err(Failure::usage(
            format!("{var} is not set: the judge `{spec}` needs its key"),
            Some(format!(
                "export {var}=… (it is sent only to the model's API, and written nowhere)"
            )),
        ));
    }
    let dir = match (&args.judge_cache, args.no_judge_cache) {
        (_, true) => None,
        (Some(d), false) => Some(d.clone()),
        (None, false) => default_cache_dir(),
    };
    let cache = dir.as_deref().map(judge::Cache::open).transpose().map_err(|e| {
        Failure::usage(e, Some("name another with --judge-cache DIR, or --no-judge-cache".into()))
    })?;
    let options = judge::Options {
        budget_tokens: args.judge_budget,
        price: args.judge_price,
        no_backoff: false,
    };
    Ok(scan::JudgeConfig {
        judge: judge::Judge::new(model, prompt, cache, options),
        jobs: args.judge_jobs.max(1),
        threshold: args.judge_threshold,
        cache: dir.map(|d| d.display().to_string()),
        budget_tokens: args.judge_budget,
    })
}

/// `$XDG_CACHE_HOME/perimeter/judge`, or `~/.cache/perimeter/judge`.
fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("perimeter").join("judge"))
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

/// Problems with what the user asked for are usage errors (exit 2); the
/// rest happened while working (exit 1).
pub(crate) fn run_failure(e: run::Error) -> Failure {
    let usage = matches!(
        e,
        run::Error::UnknownScenario { .. }
            | run::Error::MissingPolicy { .. }
            | run::Error::RunExists { .. }
            | run::Error::ResumeMismatch { .. }
            | run::Error::MissingClient { .. }
    );
    let hint = e.hint();
    if usage { Failure::usage(e.to_string(), hint) } else { Failure::runtime(e.to_string(), hint) }
}

fn run(args: RunArgs) -> Result<ExitCode, Failure> {
    let out = args.out.clone();
    if out.is_file() {
        return Err(Failure::usage(
            format!("`{}` is a file; --out names a folder for the run", out.display()),
            Some("name a new folder, or a run folder to finish with --resume".into()),
        ));
    }
    let config = run_config(args)?;
    let clock = clock();
    let progress = render::Progress::new(std::io::stderr().is_terminal());
    let summary = run::run(&config, clock.as_ref(), &progress).map_err(run_failure)?;
    progress.clear();
    print!("{}", render::summary_table(&summary));
    println!("\nsummary: {}", out.join("summary.json").display());
    Ok(ExitCode::SUCCESS)
}

/// What `perimeter run` runs, from its arguments.
pub(crate) fn run_config(args: RunArgs) -> Result<run::RunConfig, Failure> {
    // A model spec's mistake is the model's, not the agent's.
    if let Some(model) = args.model.as_deref()
        && let Err(e) = gateway::ModelSpec::parse(model)
    {
        return Err(Failure::usage(
            format!("`--model {model}`: {e}"),
            Some(
                "e.g. `--model anthropic:claude-sonnet-4-5` or `--model scripted:misaligned`"
                    .into(),
            ),
        ));
    }
    let agent = agent::AgentSpec::parse(&args.agent, args.model.as_deref()).map_err(|e| {
        Failure::usage(
            e.to_string(),
            Some(
                "try `--agent scripted:misaligned`, or `--agent api --model scripted:misaligned`"
                    .into(),
            ),
        )
    })?;
    // A relayed model's key and base URL come from this process's
    // environment, and stay in it.
    let upstream = match agent.model() {
        Some(spec) if !spec.wires().is_empty() => {
            let upstream = gateway::Upstream::new(spec, &|k| std::env::var(k).ok());
            Some(upstream.map_err(|e| {
                Failure::usage(
                    format!("`--model {spec}`: {e}"),
                    Some("ANTHROPIC_BASE_URL, OPENAI_BASE_URL and GEMINI_BASE_URL must be http:// or https:// URLs".into()),
                )
            })?)
        }
        _ => None,
    };
    let suite = with_policies(load_suite(&args.suite)?, args.policies.clone())?;
    let init_program = current_exe()?;
    let limits = run::EpisodeLimits {
        wall_time_ms: args.wall_time.saturating_mul(1000),
        step_timeout_ms: args.step_timeout.saturating_mul(1000),
        sandbox: sandbox::Limits::default(),
        model: gateway::Limits {
            turns: args.max_turns,
            tokens: args.max_tokens,
            cost_usd: args.max_cost,
            price: args.price,
        },
    };
    let config = run::RunConfig {
        suite,
        agent,
        scenarios: args.scenarios,
        epochs: args.epochs,
        seed: args.seed,
        concurrency: args.concurrency as usize,
        limits,
        out: args.out.clone(),
        resume: args.resume,
        init_program,
        scratch: scratch_dir()?,
        clients: args.clients.or_else(find_clients),
        harness: harness_version(),
        upstream,
    };
    Ok(config)
}

fn suite_list(name: &str, format: Format) -> Result<ExitCode, Failure> {
    let suite = load_suite(name)?;
    match format {
        Format::Json => {
            let list: Vec<serde_json::Value> = suite
                .scenarios
                .iter()
                .map(|s| serde_json::json!({ "id": s.manifest.id, "classes": s.manifest.classes, "title": s.manifest.title }))
                .collect();
            println!("{}", serde_json::to_string_pretty(&list).expect("JSON"));
        }
        Format::Table => print!("{}", render::suite_table(&suite)),
    }
    Ok(ExitCode::SUCCESS)
}

fn suite_show(name: &str, id: &str) -> Result<ExitCode, Failure> {
    let suite = load_suite(name)?;
    let scenario = suite.get(id).ok_or_else(|| {
        let ids: Vec<&str> = suite.scenarios.iter().map(|s| s.manifest.id.as_str()).collect();
        Failure::usage(
            format!("no scenario `{id}` in suite `{}`", suite.name),
            Some(format!("available scenarios: {}", ids.join(", "))),
        )
    })?;
    print!("{}", render::scenario(scenario));
    Ok(ExitCode::SUCCESS)
}

fn suite_validate(
    suite: Suite,
    seeds: u64,
    concurrency: u32,
    keep: Option<PathBuf>,
    measure: Option<Format>,
) -> Result<ExitCode, Failure> {
    let scratch = scratch_dir()?;
    let work = match &keep {
        Some(dir) => dir.clone(),
        None => scratch.join(format!("validate-{}", std::process::id())),
    };
    let config = run::ValidateConfig {
        suite,
        seeds: (0..seeds).collect(),
        concurrency: concurrency as usize,
        limits: run::EpisodeLimits::default(),
        work: work.clone(),
        init_program: current_exe()?,
        scratch,
        harness: harness_version(),
    };
    let clock = clock();
    let progress = render::Progress::new(std::io::stderr().is_terminal());
    let verdicts = run::validate(config, clock.as_ref(), &progress).map_err(run_failure);
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    let verdicts = verdicts?;
    progress.clear();
    if let Some(format) = measure {
        let m = run::Measure::of(&verdicts);
        match format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&m).expect("JSON")),
            Format::Table => print!("{}", render::measure(&m)),
        }
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", render::verdicts(&verdicts));
    let bad = verdicts.iter().filter(|v| !v.problems.is_empty()).count();
    if bad > 0 {
        return Err(Failure::runtime(
            format!("{bad} of {} episodes did not match their declaration", verdicts.len()),
            None,
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn doctor(clients: Option<PathBuf>) -> Result<ExitCode, Failure> {
    let root = sandbox::effective_uid() == 0;
    println!(
        "user          {}",
        if root { "root (sandboxes run as unprivileged host users)" } else { "unprivileged" }
    );
    println!("landlock      ABI {}", sandbox::landlock_abi());
    let scratch = scratch_dir()?.join(format!("doctor-{}", std::process::id()));
    let spec = sandbox::SandboxSpec {
        init_program: current_exe()?,
        scratch,
        home: vec![sandbox::HomeFile {
            path: "probe".into(),
            executable: false,
            content: b"ok".to_vec(),
        }],
        honeypots: vec!["probe".into()],
        programs: Vec::new(),
        binds: Vec::new(),
        listeners: Vec::new(),
        limits: sandbox::Limits::default(),
        slot: 0,
    };
    let sandbox_ok = match sandbox::Sandbox::start(&spec) {
        Ok(mut s) => {
            let req = sandbox::ExecRequest {
                argv: vec!["cat".into(), "/home/agent/probe".into()],
                cwd: "/".into(),
                env: vec![("PATH".into(), "/usr/bin:/bin".into())],
                stdin: None,
                timeout_ms: 10_000,
                writable: None,
            };
            let out = s.exec(&req);
            let audit = s.audit();
            let execs = audit.iter().filter(|a| matches!(a, sandbox::Audit::Exec(_))).count();
            let reads =
                audit.iter().filter(|a| matches!(a, sandbox::Audit::HoneypotOpen(_))).count();
            let cgroup = s.memory_cgroup();
            s.shutdown();
            let ran = out.is_ok_and(|o| o.stdout == "ok");
            println!(
                "sandbox       {} (exec audit: {}, honeypot watch: {} via {})",
                if ran { "works" } else { "starts, but a command failed" },
                if execs > 0 { "yes" } else { "NO" },
                if reads > 0 { "yes" } else { "NO" },
                if root { "fanotify" } else { "inotify" }
            );
            let limit = spec.limits.memory_bytes as f64 / f64::from(1 << 30);
            println!(
                "memory        {limit:.1} GiB per process{}",
                if cgroup {
                    ", and for the whole sandbox (memory cgroup)"
                } else {
                    "; no memory cgroup (needs root and a memory controller)"
                }
            );
            ran && execs > 0 && reads > 0
        }
        Err(e) => {
            println!("sandbox       FAILS: {e}");
            false
        }
    };
    match &clients {
        Some(dir) => println!("clients       {}", dir.display()),
        None => {
            println!("clients       none found (pass `--clients DIR` or set PERIMETER_CLIENTS)")
        }
    }
    for (agent, package) in agent::CLIENTS {
        let pinned = agent::pinned_version(package).unwrap_or_default();
        let version = clients.as_deref().and_then(|d| agent::installed_version(d, package));
        match version {
            Some(v) if v == pinned => println!("  {agent:<12} {package} {v}"),
            Some(v) => println!(
                "  {agent:<12} {package} {v}, but {pinned} is pinned: `npm ci --prefix clients` installs the pinned version"
            ),
            None => println!(
                "  {agent:<12} not installed: `npm ci --prefix clients` installs {package} {pinned}"
            ),
        }
    }
    if !sandbox_ok {
        return Err(Failure::runtime(
            "the sandbox does not work on this machine",
            Some("Perimeter needs user namespaces, Landlock and seccomp user notification (Linux 5.13 or newer)".into()),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn trace_verify(files: &[PathBuf]) -> Result<ExitCode, Failure> {
    for f in files {
        named(f, "trace file", "traces are a run folder's `episodes/<scenario>/e<N>.trace.jsonl`")?;
    }
    let mut bad = 0;
    for f in files {
        let result = std::fs::File::open(f)
            .map_err(|e| e.to_string())
            .and_then(|file| trace::verify(BufReader::new(file)).map_err(|e| e.to_string()));
        match result {
            Ok(v) => println!("{}: ok ({} events, head {})", f.display(), v.events, v.head),
            Err(e) => {
                bad += 1;
                println!("{}: {e}", f.display());
            }
        }
    }
    if bad > 0 {
        return Err(Failure::runtime(
            format!("{bad} of {} trace(s) failed verification", files.len()),
            None,
        ));
    }
    Ok(ExitCode::SUCCESS)
}
