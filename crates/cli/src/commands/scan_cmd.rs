//! `perimeter scan`, with its judge.

use super::*;

pub(super) fn scan(args: ScanArgs) -> Result<ExitCode, Failure> {
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
        Some(p) => scan::read_policy(p)?,
        None => (scan::Policy::default_policy().clone(), scan::default_policy_source()),
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
        let labels = scan::validate::read_labels(labels)?;
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
pub(super) fn scan_judge(
    spec: &gateway::ModelSpec,
    args: &ScanArgs,
) -> Result<scan::JudgeConfig, Failure> {
    let prompt = judge::Prompt::new(&args.judge_classes)?;
    let model = judge::Model::from_spec(spec, &|k| std::env::var(k).ok())?;
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
    let cache = dir.as_deref().map(judge::Cache::open).transpose()?;
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
pub(super) fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("perimeter").join("judge"))
}
