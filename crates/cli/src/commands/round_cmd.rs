//! `perimeter round …` (the evaluator) and `perimeter disclosure sign` (a participant).

use super::*;

pub(super) fn round_failure(e: String) -> Failure {
    Failure::usage(e, Some("a round folder is made by `perimeter round init`".into()))
}

pub(super) fn round_init(
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

pub(super) fn round_ingest(
    dir: &Path,
    paths: &[PathBuf],
    format: Format,
) -> Result<ExitCode, Failure> {
    round::load(dir).map_err(round_failure)?;
    for p in paths {
        named(p, "bundle file", "name the files `perimeter bundle create --out` wrote")?;
    }
    let bundles = paths
        .iter()
        .map(|p| {
            std::fs::read(p).map_err(|e| Failure::usage(format!("{}: {e}", p.display()), None))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let outcomes = round::ingest(dir, &bundles).map_err(|e| Failure::runtime(e, None))?;
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
        println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

pub(super) fn round_disclose(dir: &Path, file: &Path) -> Result<ExitCode, Failure> {
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

pub(super) fn round_report(dir: &Path) -> Result<ExitCode, Failure> {
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
        write_out(
            &base.with_extension("disclosure.json"),
            &json(&round::report::decision_template(p)),
        )?;
    }
    Ok((reports, out))
}

/// Silent exit: the participant leaves the round as if it had never
/// joined.
pub(super) fn round_exit(dir: &Path, participant: &str) -> Result<ExitCode, Failure> {
    round::exit(dir, participant).map_err(|e| {
        // Name who is in the round, rather than how to make one.
        let ids: Vec<String> = round::load(dir)
            .map(|r| r.participants.into_iter().map(|p| p.id).collect())
            .unwrap_or_default();
        match ids.is_empty() {
            true => round_failure(e),
            false => Failure::usage(e, Some(format!("its participants: {}", ids.join(", ")))),
        }
    })?;
    println!("done");
    Ok(ExitCode::SUCCESS)
}

/// `disclosure sign`: a participant's decisions, signed with its key.
pub(super) fn disclosure_sign(file: &Path, key: &Path, out: &Path) -> Result<ExitCode, Failure> {
    let doc = read_json(file)?;
    let key = bundle::submission::read_key(key).map_err(|e| Failure::usage(e, None))?;
    let signed = round::disclosure::sign(&doc, &key);
    write_out(out, &(serde_json::to_string_pretty(&signed).expect("JSON") + "\n"))?;
    println!(
        "{}: signed by {}",
        out.display(),
        bundle::keys::public_line(&key.public(), doc["participant"].as_str().unwrap_or(""))
    );
    Ok(ExitCode::SUCCESS)
}
