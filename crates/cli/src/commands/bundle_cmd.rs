//! `perimeter bundle …` and `perimeter evidence …`.

use super::*;

pub(super) fn bundle_create(args: crate::args::BundleCreateArgs) -> Result<ExitCode, Failure> {
    let (run, key, participant) = (args.run.as_path(), args.key.as_path(), &args.participant);
    let (scan, questionnaire, out) =
        (args.scan.as_deref(), args.questionnaire.as_deref(), args.out.as_path());
    // Checked first: no round could ingest a bundle with a bad id.
    bundle::submission::check_participant(participant)?;
    named(run, "run folder", "name the --out of `perimeter run`")?;
    named(
        key,
        "key file",
        "`perimeter keys generate --out FILE` makes one, or name an OpenSSH ed25519 key",
    )?;
    let key = bundle::submission::read_key(key)?;
    let mut extras = bundle::submission::Extras::default();
    if let Some(p) = scan {
        let report = read_json(p)?;
        if report["format"] != scan::FORMAT {
            return Err(Failure::usage(
                format!("{}: not a {} report", p.display(), scan::FORMAT),
                Some("make one with `perimeter scan PATH --format json --out FILE`".into()),
            ));
        }
        let report = serde_json::from_value(report).map_err(|e| {
            Failure::usage(format!("{}: not a {} report: {e}", p.display(), scan::FORMAT), None)
        })?;
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
    extras.monitors = args.monitor_results;
    if let Some(file) = &args.decisions {
        let decisions = read_decisions(file)?;
        extras.decisions = Some(decisions);
    }
    if let Some(path) = args.incidents {
        named(&path, "incident catalogue", "write one with `perimeter incidents collect`")?;
        extras.incidents = Some(disclosures(path, &args.disclose)?);
    }
    let created = clock().now().to_string();
    let text = bundle::submission::create(run, participant, &key, &created, &extras)?;
    // What a verifier would refuse is not written.
    let v = bundle::submission::verify(text.as_bytes(), None).map_err(|e| {
        let mut f = Failure::from(e);
        f.message = format!("{}: refused to sign:\n  {}", run.display(), f.message);
        f
    })?;
    write_out(out, &text)?;
    println!(
        "{}: signed by {participant}; {} evidence items, root {}",
        out.display(),
        v.items.len(),
        bundle::merkle::hex(&v.root)
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn bundle_verify(
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
            Some(bundle::keys::parse_public(&text).map_err(|e| Failure::from(e).in_file(p))?)
        }
        None => None,
    };
    bundle::submission::verify(&bytes, expected.as_ref()).map_err(|e| {
        let mut f = Failure::from(e);
        f.message = format!("{} does not verify:\n  {}", path.display(), f.message);
        f
    })
}

pub(super) fn bundle_inspect(path: &Path, format: Format) -> Result<ExitCode, Failure> {
    let v = bundle_verify(path, None)?;
    let m = &v.bundle.manifest;
    if format == Format::Json {
        let out = formats::output::BundleInspection {
            format: "perimeter.bundle-inspection/1".into(),
            bundle: path.display().to_string(),
            manifest: m.clone(),
            evidence_items: v.items.len() as u64,
            root: bundle::merkle::hex(&v.root),
            signed_by: bundle::keys::public_line(&v.public_key, ""),
        };
        print_json(&out);
        return Ok(ExitCode::SUCCESS);
    }
    println!("participant  {}", m.participant);
    println!("created      {}", m.created);
    println!("protocol     {}", m.protocol);
    println!("suite        {} {}", m.suite.name, m.suite.digest);
    println!("agent        {}", m.agent);
    println!("permissions  {}", m.permission_mode);
    if let Some(c) = &m.client {
        println!(
            "client       {} {} (pinned {})",
            c.package,
            c.version.as_deref().unwrap_or("unknown"),
            c.pinned
        );
    }
    println!(
        "episodes     {} ({} × {})",
        m.episodes,
        render::count(m.scenarios.len() as u64, "scenario"),
        render::count(u64::from(m.epochs), "epoch")
    );
    if let Some(e) = v.bundle.content.rates.as_ref().and_then(|r| r.endings.as_ref()) {
        println!(
            "counted      {} in every rate; {} not counted (ended for infrastructure reasons); {} stopped by a limit",
            e.counted, e.excluded, e.limited
        );
    }
    println!("evidence     {} items, root {}", v.items.len(), bundle::merkle::hex(&v.root));
    println!("signed by    {}", bundle::keys::public_line(&v.public_key, ""));
    Ok(ExitCode::SUCCESS)
}

/// `bundle verify`: the checks, then what holds, as a line or as
/// `perimeter.bundle-verification/1`. A bundle that fails is an error
/// either way (exit 1, each problem named).
pub(super) fn bundle_verify_command(
    bundle: &Path,
    pubkey: Option<&Path>,
    format: Format,
) -> Result<ExitCode, Failure> {
    let v = bundle_verify(bundle, pubkey)?;
    let signer = bundle::keys::public_line(&v.public_key, "");
    let root = bundle::merkle::hex(&v.root);
    match format {
        Format::Json => {
            let out = formats::output::BundleVerification {
                format: "perimeter.bundle-verification/1".into(),
                bundle: bundle.display().to_string(),
                valid: true,
                signed_by: signer,
                key_checked: pubkey.is_some(),
                evidence_items: v.items.len() as u64,
                root,
            };
            print_json(&out);
        }
        Format::Table => println!(
            "{}: valid, signed by {signer}; {} evidence items, root {root}",
            bundle.display(),
            v.items.len(),
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// `evidence prove`: one item with its Merkle path to the bundle's root.
pub(super) fn evidence_prove(
    bundle: &Path,
    run: &Path,
    item: &str,
    out: &Path,
    line: Option<u64>,
) -> Result<ExitCode, Failure> {
    let v = bundle_verify(bundle, None)?;
    let proof = match line {
        Some(n) => bundle::submission::prove_event(&v, run, item, n)?,
        None => bundle::submission::prove(&v, run, item)?,
    };
    write_out(out, &proof)?;
    let what = line.map_or(format!("`{item}`"), |n| format!("line {n} of `{item}`"));
    println!("{}: {what} with its path to root {}", out.display(), bundle::merkle::hex(&v.root));
    Ok(ExitCode::SUCCESS)
}

/// `evidence check`: a proof against a verified bundle; with a suite, the
/// revealed trace's labels derived again and compared with the signed ones.
pub(super) fn evidence_check(
    bundle: &Path,
    proof: &Path,
    pubkey: Option<&Path>,
    relabel: Option<&str>,
) -> Result<ExitCode, Failure> {
    let v = bundle_verify(bundle, pubkey)?;
    named(proof, "proof file", "name the file `perimeter evidence prove --out` wrote")?;
    let bytes = std::fs::read(proof)
        .map_err(|e| Failure::usage(format!("{}: {e}", proof.display()), None))?;
    // One line of a trace, alone.
    let format: Option<String> = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|p| p["format"].as_str().map(str::to_owned));
    if format.as_deref() == Some(formats::bundle::EVENT_PROOF_FORMAT) {
        let line = bundle::submission::check_event(&v, &bytes)
            .map_err(|e| Failure::from(e).in_file(proof))?;
        println!(
            "{}: valid; this line is under the bundle's signed root:\n{line}",
            proof.display()
        );
        if relabel.is_some() {
            return Err(Failure::usage(
                "--relabel needs a whole trace, not one line of it",
                Some("prove the trace without --line".into()),
            ));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let content =
        bundle::submission::check(&v, &bytes).map_err(|e| Failure::from(e).in_file(proof))?;
    println!("{}: valid; {} bytes under the bundle's signed root", proof.display(), content.len());
    let Some(suite) = relabel else { return Ok(ExitCode::SUCCESS) };
    let item: formats::bundle::Proof = serde_json::from_slice(&bytes).expect("checked above");
    let Some(episode) = v.bundle.content.episodes.iter().find(|e| e.trace == item.item) else {
        return Err(Failure::usage(
            format!("`{}` is not an episode's trace in the bundle", item.item),
            Some(
                "--relabel takes a proof of a trace (`episodes/<scenario>/e<N>.trace.jsonl`)"
                    .into(),
            ),
        ));
    };
    let suite = load_suite(suite)?;
    let again = run::relabel(&content, &suite)
        .map_err(|e| Failure::usage(format!("{}: {e}", item.item), None))?;
    let view = |labels: &[formats::run::Label]| -> Vec<String> {
        labels
            .iter()
            .map(|l| {
                let how = if l.succeeded { "succeeded" } else { "attempted" };
                let hid = if l.concealed { ", concealed" } else { "" };
                format!("{} ({how}{hid})", l.class)
            })
            .collect()
    };
    let (signed, derived) = (view(&episode.labels), view(&again));
    if signed != derived {
        return Err(Failure::runtime(
            format!(
                "{}: the signed labels are not what the detectors give the trace:\n  signed:  {}\n  derived: {}",
                item.item,
                if signed.is_empty() { "none".into() } else { signed.join("; ") },
                if derived.is_empty() { "none".into() } else { derived.join("; ") }
            ),
            None,
        ));
    }
    println!(
        "{}: the detectors give the trace the labels the bundle signed ({})",
        item.item,
        if signed.is_empty() { "none".into() } else { signed.join("; ") }
    );
    Ok(ExitCode::SUCCESS)
}

/// `--disclose ID=LEVEL` (and `*=LEVEL`) read into each incident's level.
fn disclosures(
    path: PathBuf,
    given: &[String],
) -> Result<bundle::submission::IncidentsInput, Failure> {
    use formats::bundle::Disclosure;
    let mut input = bundle::submission::IncidentsInput {
        path,
        disclose: Default::default(),
        default: Disclosure::EvaluatorOnly,
    };
    for d in given {
        let bad = || {
            Failure::usage(
                format!("`--disclose {d}`: ID=LEVEL, the level public, evaluator_only or withheld"),
                Some("e.g. --disclose INC-003=public --disclose '*=withheld'".into()),
            )
        };
        let (id, level) = d.split_once('=').ok_or_else(bad)?;
        let level = match level {
            "public" => Disclosure::Public,
            "evaluator_only" => Disclosure::EvaluatorOnly,
            "withheld" => Disclosure::Withheld,
            _ => return Err(bad()),
        };
        if id == "*" {
            input.default = level;
        } else {
            input.disclose.insert(id.to_owned(), level);
        }
    }
    Ok(input)
}
