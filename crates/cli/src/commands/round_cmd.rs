//! `perimeter round …` (the evaluator) and `perimeter disclosure sign` (a participant).

use super::*;

pub(super) fn round_init(
    dir: &Path,
    protocol: &str,
    suite_digest: &str,
    participants: &[String],
    window: Option<&str>,
    (seed, notice_days): (Option<u64>, u32),
    format: Format,
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
        None => round::random_seed()?,
    };
    let spec = round::init(protocol, suite_digest, window, seed, &list)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::runtime(format!("{}: {e}", dir.display()), None))?;
    write_out(
        &dir.join("round.json"),
        &(serde_json::to_string_pretty(&spec).expect("JSON") + "\n"),
    )?;
    round::phase::write(dir, &round::phase::fresh(notice_days, now()))?;
    match format {
        Format::Json => print_json(&formats::output::RoundInit {
            format: "perimeter.round-init/1".into(),
            round: dir.display().to_string(),
            protocol: spec.protocol,
            suite_digest: spec.suite_digest,
            window: spec.window,
            seed: spec.seed,
            participants: spec.participants.into_iter().map(|p| p.id).collect(),
        }),
        Format::Table => println!(
            "{}: round of {}, suite {suite_digest}",
            dir.display(),
            render::count(list.len() as u64, "participant")
        ),
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn round_ingest(
    dir: &Path,
    paths: &[PathBuf],
    format: Format,
) -> Result<ExitCode, Failure> {
    round::load(dir)?;
    for p in paths {
        named(p, "bundle file", "name the files `perimeter bundle create --out` wrote")?;
    }
    let bundles = paths
        .iter()
        .map(|p| {
            std::fs::read(p).map_err(|e| Failure::usage(format!("{}: {e}", p.display()), None))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let outcomes = round::ingest(dir, &bundles)?;
    let mut failed = false;
    let mut rows = Vec::new();
    for (path, outcome) in paths.iter().zip(outcomes) {
        use formats::output::{IngestOutcome, IngestStatus};
        let file = path.display().to_string();
        let row = match outcome {
            Ok(i) => IngestOutcome {
                file,
                status: if i.incomparable.is_empty() {
                    IngestStatus::Accepted
                } else {
                    IngestStatus::Incomparable
                },
                participant: Some(i.participant),
                replaced: i.replaced,
                reasons: i.incomparable,
            },
            Err(problems) => {
                failed = true;
                IngestOutcome {
                    file,
                    participant: None,
                    status: IngestStatus::Refused,
                    replaced: false,
                    reasons: problems,
                }
            }
        };
        if format == Format::Table {
            let reasons = row.reasons.join("\n  ");
            let who = row.participant.as_deref().unwrap_or_default();
            if row.replaced {
                println!(
                    "{}: replaces {who}'s earlier bundle; its disclosure decisions were about that one and are void",
                    path.display()
                );
            }
            match row.status {
                IngestStatus::Accepted => println!("{}: {who} accepted", path.display()),
                IngestStatus::Incomparable => println!(
                    "{}: {who} ingested but not comparable, kept out of pooled figures:\n  {reasons}",
                    path.display(),
                ),
                IngestStatus::Refused => eprintln!("{}: refused:\n  {reasons}", path.display()),
            }
        }
        rows.push(row);
    }
    if format == Format::Json {
        let out = formats::output::RoundIngest {
            format: "perimeter.round-ingest/1".into(),
            round: dir.display().to_string(),
            bundles: rows,
        };
        print_json(&out);
    }
    // Each refusal was named; the command fails as a verification does.
    Ok(if failed { crate::Kind::Failed.exit_code() } else { ExitCode::SUCCESS })
}

pub(super) fn round_disclose(dir: &Path, file: &Path, format: Format) -> Result<ExitCode, Failure> {
    let doc = read_json(file)?;
    let d = disclose(dir, &doc, file)?;
    match format {
        Format::Json => print_json(&formats::output::RoundDisclosure {
            format: "perimeter.round-disclosure/1".into(),
            round: dir.display().to_string(),
            file: file.display().to_string(),
            claims: d.claims as u64,
            attributed: d.attributed as u64,
            non_attributed: d.non_attributed as u64,
            withheld: d.withheld as u64,
            withheld_without_comment: d.flagged as u64,
            approved_by: d.approval.by,
            approved_on: d.approval.date,
            signed: d.signed,
            participant: d.participant,
        }),
        Format::Table => println!("{}", render::disclosed(&d)),
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks and stores a participant's decisions (`round::disclose`), the
/// problems that are the file's named with it.
pub(crate) fn disclose(
    dir: &Path,
    doc: &serde_json::Value,
    file: &Path,
) -> Result<round::Disclosed, Failure> {
    round::disclose(dir, doc, now()).map_err(|e| {
        let about_the_file = matches!(
            e,
            round::Error::NotDecisions
                | round::Error::NoBundle { .. }
                | round::Error::Signature(_)
                | round::Error::Refused { .. }
        );
        let f = Failure::from(e);
        if about_the_file { f.in_file(file) } else { f }
    })
}

pub(super) fn round_report(dir: &Path, format: Format) -> Result<ExitCode, Failure> {
    let (reports, out) = write_reports(dir)?;
    match format {
        Format::Json => {
            let files = |base: &Path| formats::output::ReportFiles {
                json: base.with_extension("json").display().to_string(),
                markdown: base.with_extension("md").display().to_string(),
                html: base.with_extension("html").display().to_string(),
            };
            print_json(&formats::output::RoundReports {
                format: "perimeter.round-reports/1".into(),
                round: dir.display().to_string(),
                reports: out.display().to_string(),
                public: files(&out.join("public")),
                private: reports
                    .private
                    .iter()
                    .map(|p| {
                        let base = out.join("private").join(&p.participant);
                        formats::output::PrivateReportFiles {
                            participant: p.participant.clone(),
                            files: files(&base),
                            decisions: base.with_extension("disclosure.json").display().to_string(),
                        }
                    })
                    .collect(),
                warnings: reports.warnings,
            });
        }
        Format::Table => {
            for w in &reports.warnings {
                eprintln!("note: {w}");
            }
            println!(
                "public report: {}\nprivate reports ({}): {}",
                out.join("public.html").display(),
                reports.private.len(),
                out.join("private").display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a round's reports (`round::report::write`).
pub(crate) fn write_reports(dir: &Path) -> Result<(round::report::Reports, PathBuf), Failure> {
    let (reports, out) = round::report::write(dir, now())?;
    // Appendix D's chart, beside its data.
    if let Some(pooled) = &reports.public.incidents {
        let data_file = out.join("public.incidents.json");
        let bytes = std::fs::read(&data_file)
            .map_err(|e| Failure::runtime(format!("{}: {e}", data_file.display()), None))?;
        let data = incident::chart::pooled_dataset(
            pooled,
            &incident::sha256(&bytes),
            &incident::chart::Filters::default(),
        );
        write_out(
            &out.join("public.incidents.svg"),
            &incident::chart::svg(&data, "Published incidents by overreach and deception"),
        )?;
        write_out(&out.join("public.incidents.csv"), &incident::chart::csv(&data))?;
    }
    Ok((reports, out))
}

/// Silent exit: the participant leaves the round as if it had never
/// joined.
pub(super) fn round_exit(
    dir: &Path,
    participant: &str,
    format: Format,
) -> Result<ExitCode, Failure> {
    round::exit(dir, participant)?;
    match format {
        Format::Json => print_json(&formats::output::RoundExit {
            format: "perimeter.round-exit/1".into(),
            round: dir.display().to_string(),
            participant: participant.into(),
            participants: round::load(dir)?.participants.into_iter().map(|p| p.id).collect(),
            reports_deleted: true,
        }),
        Format::Table => println!("done"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `disclosure sign`: a participant's decisions, signed with its key.
pub(super) fn disclosure_sign(file: &Path, key: &Path, out: &Path) -> Result<ExitCode, Failure> {
    let doc = read_json(file)?;
    let key = bundle::submission::read_key(key)?;
    let signed = round::disclosure::sign(&doc, &key);
    write_out(out, &(serde_json::to_string_pretty(&signed).expect("JSON") + "\n"))?;
    println!(
        "{}: signed by {}",
        out.display(),
        bundle::keys::public_line(&key.public(), doc["participant"].as_str().unwrap_or(""))
    );
    Ok(ExitCode::SUCCESS)
}

/// The harness clock's reading, as the round records steps.
pub(crate) fn now() -> round::phase::When {
    round::phase::When { at: clock().now() }
}

/// Prints what a step recorded.
fn stepped(
    dir: &Path,
    step: &str,
    participant: Option<&str>,
    id: Option<String>,
    detail: String,
    format: Format,
) -> Result<ExitCode, Failure> {
    match format {
        Format::Json => print_json(&formats::output::RoundStep {
            format: "perimeter.round-step/1".into(),
            round: dir.display().to_string(),
            step: step.into(),
            participant: participant.map(str::to_owned),
            phase: round::phase::current(&round::phase::load(dir)?),
            id,
            detail,
        }),
        Format::Table => println!("{detail}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// A refusal that is about the file given is named with it.
fn about(file: &Path) -> impl FnOnce(round::Error) -> Failure + '_ {
    move |e| {
        let ours = matches!(e, round::Error::Signature(_) | round::Error::Refused { .. });
        let f = Failure::from(e);
        if ours { f.in_file(file) } else { f }
    }
}

pub(super) fn round_advance(dir: &Path, phase: &str, format: Format) -> Result<ExitCode, Failure> {
    use formats::process::Phase;
    let to = Phase::ALL.into_iter().find(|p| p.name() == phase).expect("clap checked the name");
    let phases = round::report::advance(dir, to, now())?;
    if to == Phase::Publication {
        // The published report again, with its incident chart: the same
        // bytes, or the round refuses.
        write_reports(dir)?;
    }
    let mut detail = format!("{}: the round is in its {} phase", dir.display(), to.title());
    if let Some(p) = &phases.published {
        detail.push_str(&format!(
            "; the public report is published ({}, Merkle root {}): {}",
            p.digest,
            p.merkle_root,
            dir.join("reports").join("public.html").display()
        ));
    }
    stepped(dir, "advance", None, None, detail, format)
}

pub(super) fn round_access(dir: &Path, file: &Path, format: Format) -> Result<ExitCode, Failure> {
    let doc = read_json(file)?;
    let a = round::access::record(dir, &doc, now()).map_err(about(file))?;
    let detail = format!(
        "{}: {} shares `{}` ({}), attested its internal state of the art as of {}; reasoning {}, {}",
        file.display(),
        a.participant,
        a.model.id,
        if a.model.public { "a public model" } else { "not public" },
        a.attestation.as_of,
        a.terms.reasoning.name(),
        if a.terms.third_party_services {
            "outputs may go to third-party services"
        } else {
            "outputs may not go to third-party services"
        }
    );
    stepped(dir, "access", Some(&a.participant), None, detail, format)
}

pub(super) fn round_evaluate(
    dir: &Path,
    run: &Path,
    name: &str,
    participant: Option<&str>,
    format: Format,
) -> Result<ExitCode, Failure> {
    let path = run.join("summary.json");
    let bytes = std::fs::read(&path)
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display()), None))?;
    let r = round::access::evaluate(dir, participant, name, &bytes, now()).map_err(about(&path))?;
    let g = round::pool::group(&r.episodes);
    let whose = match participant {
        Some(p) => format!("{p}'s shared model `{}`", r.model),
        None => format!("the public model `{}`", r.model),
    };
    let detail = format!(
        "run:{name}: {} episodes on {whose} ({} counted), {} labelled; the round keeps its labels and trace commitments{}",
        r.episodes.len(),
        g.counted,
        render::count(g.classes.len() as u64, "class"),
        if r.reasoning_retained { "" } else { ", and no reasoning" }
    );
    stepped(dir, "evaluate", participant, Some(format!("run:{name}")), detail, format)
}

pub(super) fn round_ask(
    dir: &Path,
    participant: &str,
    question: &str,
    by: &str,
    text: &str,
    attendees: Vec<String>,
    format: Format,
) -> Result<ExitCode, Failure> {
    use formats::process::EntryKind;
    let kind = if attendees.is_empty() { EntryKind::FollowUp } else { EntryKind::Interview };
    let note = round::thread::Note { participant, kind, question, by, text, attendees };
    let e = round::thread::note(dir, note, now())?;
    let detail = format!("{participant}'s thread: {} {} about {}", e.kind.name(), e.id, e.question);
    stepped(dir, "ask", Some(participant), Some(e.id), detail, format)
}

pub(super) fn round_reply(dir: &Path, file: &Path, format: Format) -> Result<ExitCode, Failure> {
    let doc = read_json(file)?;
    let e = round::thread::submit(dir, &doc, now()).map_err(about(file))?;
    let participant = doc["participant"].as_str().unwrap_or_default();
    let detail = match e.kind {
        formats::process::EntryKind::Amendment => format!(
            "{participant}'s thread: {} amends its answer to {}; decisions on that answer's claim lapse, the others stand",
            e.id, e.question
        ),
        _ => format!(
            "{participant}'s thread: {} replies to {}{}",
            e.id,
            e.to.as_deref().unwrap_or_default(),
            if e.declined { " (declined)" } else { "" }
        ),
    };
    stepped(dir, "reply", Some(participant), Some(e.id), detail, format)
}

pub(super) fn round_respond(dir: &Path, file: &Path, format: Format) -> Result<ExitCode, Failure> {
    use formats::process::Verdict;
    let doc = read_json(file)?;
    let r = round::negotiation::respond(dir, &doc, now()).map_err(about(file))?;
    let count = |f: &dyn Fn(&formats::process::ClaimResponse) -> bool| {
        r.claims.values().filter(|c| f(c)).count()
    };
    let detail = format!(
        "{}: response to {}'s proposal recorded: {} wordings accepted, {} rejected, {} countered; {} notes accepted as comments, {} rejected",
        file.display(),
        r.participant,
        count(&|c| c.text == Some(Verdict::Accept)),
        count(&|c| c.text == Some(Verdict::Reject)),
        count(&|c| c.counter.is_some()),
        count(&|c| c.note == Some(Verdict::Accept)),
        count(&|c| c.note == Some(Verdict::Reject)),
    );
    stepped(dir, "respond", Some(&r.participant), None, detail, format)
}

pub(super) fn round_draft(dir: &Path, format: Format) -> Result<ExitCode, Failure> {
    let (_, folder) = round::report::draft(dir, now())?;
    let phases = round::phase::load(dir)?;
    let d = phases.draft.as_ref().expect("a draft was just recorded");
    let detail = format!(
        "draft public report circulated on {} ({}), {}; the round may publish from {} days after",
        d.on,
        d.digest,
        folder.join("public.html").display(),
        phases.draft_notice_days
    );
    stepped(dir, "draft", None, Some(folder.display().to_string()), detail, format)
}

pub(super) fn round_check_items(
    file: &Path,
    root: Option<&str>,
    index: Option<u64>,
) -> Result<ExitCode, Failure> {
    let bytes = std::fs::read(file)
        .map_err(|e| Failure::usage(format!("{}: {e}", file.display()), None))?;
    let items: formats::round::PublishedItems = serde_json::from_slice(&bytes).map_err(|e| {
        Failure::usage(format!("{}: not a public.items.json: {e}", file.display()), None)
    })?;
    let root = root.unwrap_or(&items.root);
    let size = items.items.len() as u64;
    let mut bad = 0;
    let mut checked = 0;
    for item in items.items.iter().filter(|i| index.is_none_or(|n| i.index == n)) {
        checked += 1;
        if !round::merkle::verify(item, size, root) {
            bad += 1;
            eprintln!("item {} ({}): does not verify against root {root}", item.index, item.kind);
        }
    }
    if checked == 0 {
        return Err(Failure::usage(
            format!("{}: no item {}", file.display(), index.unwrap_or(0)),
            None,
        ));
    }
    println!("{}: {} of {checked} items verify against root {root}", file.display(), checked - bad);
    Ok(if bad > 0 { crate::Kind::Failed.exit_code() } else { ExitCode::SUCCESS })
}
