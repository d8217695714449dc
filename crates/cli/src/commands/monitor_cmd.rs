//! `perimeter monitor corpus` and `perimeter monitor score`.

use super::*;
use crate::args::MonitorScoreArgs;

pub(super) fn monitor_corpus(
    runs: &[PathBuf],
    out: &Path,
    name: Option<&str>,
) -> Result<ExitCode, Failure> {
    let name = name
        .map(str::to_owned)
        .or_else(|| out.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "corpus".into());
    let corpus = monitor::corpus::build(&name, runs).map_err(|e| {
        Failure::usage(
            e.to_string(),
            Some("name finished run folders, as `perimeter run` writes them".into()),
        )
    })?;
    write_out(out, &corpus.to_text())?;
    let h = &corpus.header;
    let attempts = match h.attempts {
        0 => String::new(),
        n => format!(", {n} attack-mode episode{} that did no harm", if n == 1 { "" } else { "s" }),
    };
    println!(
        "corpus {name}: {} benign, {} attacks{attempts} from {} run{}{}; {}",
        h.benign,
        h.attacks,
        h.sources.len(),
        if h.sources.len() == 1 { "" } else { "s" },
        match h.excluded {
            0 => String::new(),
            n => format!(
                " ({n} episode{} ended for infrastructure reasons, left out)",
                if n == 1 { "" } else { "s" }
            ),
        },
        out.display()
    );
    if !h.broken.is_empty() {
        println!(
            "{} transformed attack{} no longer did {} harm and {} left out:",
            h.broken.len(),
            if h.broken.len() == 1 { "" } else { "s" },
            if h.broken.len() == 1 { "its" } else { "their" },
            if h.broken.len() == 1 { "is" } else { "are" }
        );
        for b in &h.broken {
            let list = |c: &[formats::ClassId]| {
                if c.is_empty() {
                    "no label".to_owned()
                } else {
                    c.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
                }
            };
            println!("  {}: expected {}, got {}", b.id, list(&b.expected), list(&b.got));
        }
    }
    for run in &h.unchecked {
        println!(
            "warning: `{run}` played transformed policies, and no run of the base policy (same agent, suite and seed) was given: a transform that broke an attack counts there as benign"
        );
    }
    println!("digest {}", h.digest);
    Ok(ExitCode::SUCCESS)
}

pub(super) fn monitor_score(args: MonitorScoreArgs) -> Result<ExitCode, Failure> {
    let fprs = if args.fpr.is_empty() { monitor::DEFAULT_FPRS.to_vec() } else { args.fpr.clone() };
    if let Some(bad) = fprs.iter().find(|f| !(**f > 0.0 && **f <= 0.5)) {
        return Err(Failure::usage(
            format!("`--fpr {bad}`: a false-positive rate is above 0 and at most 0.5"),
            Some("e.g. `--fpr 0.01 --fpr 0.05`".into()),
        ));
    }
    let corpus =
        monitor::Corpus::read(&args.corpus).map_err(|e| Failure::usage(e.to_string(), None))?;
    let prompt = match &args.prompt {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| Failure::usage(format!("{}: {e}", path.display()), None))?,
        ),
        None => None,
    };
    let options = monitor::Options {
        timeout: Some(std::time::Duration::from_secs(args.timeout.max(1))),
        prompt,
        warn: args.warn,
    };
    let m = monitor::Monitor::new(&args.monitor, &options, &|k| std::env::var(k).ok()).map_err(
        |e| {
            Failure::usage(
                format!("`--monitor {}`: {e}", args.monitor),
                Some(monitor::plugin::SPEC_HELP.into()),
            )
        },
    )?;
    let progress = render::Counter::new("scored", std::io::stderr().is_terminal());
    let scores = monitor::score(&m, &corpus, args.view, args.threads.into(), &|done, total| {
        progress.step(done, total)
    });
    progress.clear();
    let results = monitor::results(m.id(&args.monitor), args.view, &corpus, scores, &fprs, 0.95);
    write_out(
        &args.out,
        &(serde_json::to_string_pretty(&results).expect("results serialize") + "\n"),
    )?;
    match args.format {
        Format::Json => print_json(&results),
        Format::Table => {
            print!("{}", render::monitor_results(&results));
            println!("\nresults: {}", args.out.display());
        }
    }
    // Items without a score are in no figure; the exit status says so.
    Ok(if results.failed > 0 { crate::Kind::Incomplete.exit_code() } else { ExitCode::SUCCESS })
}

pub(super) fn monitor_routing(
    router: &str,
    profile: Option<&Path>,
    timeout: u64,
    out: &Path,
    format: Format,
) -> Result<ExitCode, Failure> {
    let profile = match profile {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::usage(format!("{}: {e}", path.display()), None))?;
            Some(monitor::routing::read_profile(&text).map_err(|e| {
                Failure::usage(
                    format!("{}: {e}", path.display()),
                    Some("docs/monitor-format.md describes the coverage profile".into()),
                )
            })?)
        }
        None => None,
    };
    let timeout = std::time::Duration::from_secs(timeout.max(1));
    let endpoint = monitor::plugin::Endpoint::parse(router, timeout, &|k| std::env::var(k).ok())
        .unwrap_or_else(|| {
            Err(monitor::SpecError(format!(
                "unknown router `{router}`: expected `cmd:<command>` or `http[s]://…`"
            )))
        })
        .map_err(|e| Failure::usage(format!("`--router {router}`: {e}"), None))?;
    let results = monitor::routing::run(&endpoint, router, profile);
    write_out(out, &(serde_json::to_string_pretty(&results).expect("results serialize") + "\n"))?;
    match format {
        Format::Json => print_json(&results),
        Format::Table => {
            print!("{}", render::routing_results(&results));
            println!("\nresults: {}", out.display());
        }
    }
    Ok(if results.failed > 0 { crate::Kind::Incomplete.exit_code() } else { ExitCode::SUCCESS })
}
