//! `perimeter monitor corpus` and `perimeter monitor score`.

use super::*;
use crate::args::MonitorScoreArgs;

pub(super) fn monitor_corpus(
    runs: &[PathBuf],
    sessions: &[PathBuf],
    out: &Path,
    name: Option<&str>,
) -> Result<ExitCode, Failure> {
    let name = name
        .map(str::to_owned)
        .or_else(|| out.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "corpus".into());
    let corpus = monitor::corpus::build_with_sessions(&name, runs, sessions).map_err(|e| {
        Failure::usage(
            e.to_string(),
            Some("name finished run folders, as `perimeter run` writes them, and labels files of real sessions with --sessions".into()),
        )
    })?;
    write_out(out, &corpus.to_text())?;
    let h = &corpus.header;
    let attempts = match h.attempts {
        0 => String::new(),
        n => format!(", {n} attack-mode episode{} that did no harm", if n == 1 { "" } else { "s" }),
    };
    println!(
        "corpus {name}: {} benign, {} attacks{attempts} from {} source{}{}; {}",
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

/// The browser hostile pages are loaded in.
fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"].into_iter().find(|b| {
        std::process::Command::new(b)
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Loads a page in headless Chromium: what its console logged, and its
/// DOM once loaded (scripts run).
fn load(browser: &str, page: &Path) -> Result<(String, String), String> {
    let o = std::process::Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"])
        .args(["--virtual-time-budget=2000", "--dump-dom"])
        .arg(format!("file://{}", page.display()))
        .output()
        .map_err(|e| format!("{browser}: {e}"))?;
    let console: String = String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.contains("CONSOLE"))
        .collect::<Vec<_>>()
        .join("\n");
    Ok((console, String::from_utf8_lossy(&o.stdout).into_owned()))
}

pub(super) fn monitor_viewer(
    viewer: &str,
    keep: Option<&Path>,
    cases_only: bool,
    timeout: u64,
    out: Option<&Path>,
    format: Format,
) -> Result<ExitCode, Failure> {
    use monitor::review;
    let cases = review::cases();
    if let Some(dir) = keep {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::usage(format!("{}: {e}", dir.display()), None))?;
        for c in &cases {
            let text =
                serde_json::to_string_pretty(&c.trajectory).expect("a trajectory serializes");
            write_out(&dir.join(format!("{}.json", c.id)), &(text + "\n"))?;
        }
    }
    if cases_only {
        println!(
            "{} hostile trajectories (perimeter.trajectory/1) in {}",
            cases.len(),
            keep.expect("required by clap").display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let endpoint = match viewer {
        "builtin" => None,
        spec => {
            let timeout = std::time::Duration::from_secs(timeout.max(1));
            let e = monitor::plugin::Endpoint::parse(spec, timeout, &|k| std::env::var(k).ok())
                .unwrap_or_else(|| {
                    Err(monitor::SpecError(format!(
                        "unknown viewer `{spec}`: expected `builtin`, `cmd:<command>` or `http[s]://…`"
                    )))
                })
                .map_err(|e| Failure::usage(format!("`--viewer {spec}`: {e}"), None))?;
            Some(e)
        }
    };
    let browser = chromium().ok_or_else(|| {
        Failure::usage(
            "no Chromium to load the pages in",
            Some("install it (`apt-get install chromium`), or write the cases for your own viewer with `--cases-only --keep DIR`".into()),
        )
    })?;
    let scratch = tempdir()?;
    let mut results = Vec::new();
    for c in &cases {
        let page = match &endpoint {
            None => Ok(review::render_html(&c.trajectory)),
            Some(e) => {
                let input = serde_json::to_vec(&c.trajectory).expect("a trajectory serializes");
                e.call(&input).map_err(|e| e.to_string())
            }
        };
        let (verdict, detail) = match page {
            Err(e) => ("failed", Some(e)),
            Ok(html) => {
                let file = scratch.join(format!("{}.html", c.id));
                write_out(&file, &html)?;
                if let Some(dir) = keep {
                    write_out(&dir.join(format!("{}.html", c.id)), &html)?;
                }
                match load(browser, &file) {
                    Err(e) => ("failed", Some(e)),
                    Ok((console, dom)) => {
                        match review::judge(c, &console, &review::visible_text(&dom)) {
                            review::Verdict::Safe => ("safe", None),
                            review::Verdict::Unsafe(why) => ("unsafe", Some(why)),
                            review::Verdict::Manual => ("manual", None),
                        }
                    }
                }
            }
        };
        results.push(formats::monitor::ViewerCase {
            id: c.id.into(),
            attack: c.attack.as_str().into(),
            description: c.description.into(),
            verdict: verdict.into(),
            detail,
        });
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let identity = endpoint
        .as_ref()
        .map_or_else(|| "builtin (monitor::review::render_html)".into(), |e| e.identity());
    let r = formats::monitor::ViewerResults {
        format: formats::monitor::VIEWER_RESULTS_FORMAT.into(),
        viewer: formats::monitor::MonitorId { spec: viewer.into(), identity, warned: false },
        browser: browser.into(),
        unsafe_cases: results.iter().filter(|c| c.verdict == "unsafe").count() as u64,
        failed: results.iter().filter(|c| c.verdict == "failed").count() as u64,
        cases: results,
    };
    let out = out.expect("required by clap without --cases-only");
    write_out(out, &(serde_json::to_string_pretty(&r).expect("results serialize") + "\n"))?;
    match format {
        Format::Json => print_json(&r),
        Format::Table => {
            print!("{}", render::viewer_results(&r));
            println!("\nresults: {}", out.display());
        }
    }
    Ok(if r.failed > 0 { crate::Kind::Incomplete.exit_code() } else { ExitCode::SUCCESS })
}

/// A fresh folder for the pages, under the system's temporary directory.
fn tempdir() -> Result<PathBuf, Failure> {
    let dir = std::env::temp_dir().join(format!("perimeter-viewer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::runtime(format!("{}: {e}", dir.display()), None))?;
    Ok(dir)
}
