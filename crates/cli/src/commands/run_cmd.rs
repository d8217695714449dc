//! `perimeter run`.

use super::*;

/// Problems with what the user asked for are usage errors (exit 2); the
/// rest happened while working (exit 1).
pub(super) fn run(args: RunArgs) -> Result<ExitCode, Failure> {
    let out = args.out.clone();
    if out.is_file() {
        return Err(Failure::usage(
            format!("`{}` is a file; --out names a folder for the run", out.display()),
            Some("name a new folder, or a run folder to finish with --resume".into()),
        ));
    }
    let config = run_config(args)?;
    let clock = clock();
    let progress =
        render::Progress::new(std::io::stderr().is_terminal()).spending(config.run_budget.clone());
    let summary = run::run(&config, clock.as_ref(), &progress).map_err(Failure::from)?;
    progress.clear();
    print!("{}", render::summary_table(&summary));
    println!("\nsummary: {}", out.join("summary.json").display());
    // The run is whole, but not every episode says something of the agent.
    let failed = summary.episodes.iter().any(|e| e.end_reason.is_infrastructure());
    Ok(if failed { crate::Kind::Incomplete.exit_code() } else { ExitCode::SUCCESS })
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
    if let Some(dir) = &args.scaffold {
        if !matches!(agent, agent::AgentSpec::Cmd { .. }) {
            return Err(Failure::usage(
                format!(
                    "`--scaffold {}` is for a `cmd:` agent, not `{}`",
                    dir.display(),
                    args.agent
                ),
                Some(
                    "e.g. --agent 'cmd:node /srv/scaffold/agent.mjs' --scaffold ./my-scaffold"
                        .into(),
                ),
            ));
        }
        if !dir.is_dir() {
            return Err(Failure::usage(
                format!("`--scaffold {}`: not a folder", dir.display()),
                Some("name the folder that holds the scaffold's code".into()),
            ));
        }
    }
    let (first, more) = args.suites.split_first().expect("clap gives a default suite");
    let suite = with_policies(load_suite(first)?, args.policies.clone())?;
    let extensions = more.iter().map(|s| load_suite(s)).collect::<Result<Vec<_>, _>>()?;
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
    let run_budget = run_budget(&args, &agent)?;
    let config = run::RunConfig {
        suite,
        extensions,
        agent,
        scenarios: args.scenarios,
        epochs: args.epochs,
        seed: args.seed,
        concurrency: args.concurrency as usize,
        limits,
        out: args.out.clone(),
        resume: args.resume,
        retry_failed: args.retry_failed,
        shard: args.shard,
        run_budget,
        init_program,
        scratch: scratch_dir()?,
        clients: args.clients.or_else(find_clients),
        scaffold: args
            .scaffold
            .as_deref()
            .map(std::path::absolute)
            .transpose()
            .map_err(|e| Failure::usage(format!("`--scaffold`: {e}"), None))?,
        harness: harness_version(),
        upstream,
        side_tasks: args.side_task,
    };
    Ok(config)
}

/// `perimeter merge`: a run's shards joined into one run folder.
pub(super) fn merge(dirs: &[PathBuf], out: &Path, suites: &[String]) -> Result<ExitCode, Failure> {
    let suites = suites.iter().map(|s| load_suite(s)).collect::<Result<Vec<_>, _>>()?;
    let m = run::merge::merge(dirs, out, &suites)?;
    let shards = match m.shards.len() {
        0 => String::new(),
        n => format!(
            " from {} (index {})",
            render::count(n as u64, "shard"),
            m.shards.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        ),
    };
    match &m.summary {
        Some(s) => {
            println!(
                "{}: {} episodes{shards}, {} files copied; summary {}",
                out.display(),
                s.episodes.len(),
                m.copied,
                out.join("summary.json").display()
            );
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!(
                "{}: {} of the plan's episodes missing{shards}:\n  {}",
                out.display(),
                m.missing.len(),
                m.missing.join("\n  ")
            );
            Err(Failure {
                message: format!(
                    "{}: the merged run is incomplete, and has no summary yet",
                    out.display()
                ),
                hint: Some(format!(
                    "run the missing shards again and merge, or finish it here: perimeter run --resume --out {} (with the run's own arguments, without --shard)",
                    text::shell_quote(&out.display().to_string())
                )),
                kind: crate::Kind::Failed,
            })
        }
    }
}

/// The run-wide budget and rate limits the arguments ask for, if any; a
/// money budget needs a price: `--price`, or the model's list price.
fn run_budget(
    args: &RunArgs,
    agent: &agent::AgentSpec,
) -> Result<Option<std::sync::Arc<gateway::RunBudget>>, Failure> {
    // Without a model there is nothing to spend; with one, the run's
    // spending is tracked (for the progress line) even without a limit.
    let Some(model) = agent.model().map(|m| m.to_string()) else {
        return Ok(None);
    };
    let name = model.split_once(':').map_or(model.as_str(), |(_, m)| m);
    let price = args.price.or_else(|| gateway::list_price(name));
    if args.budget_usd.is_some() && price.is_none() {
        return Err(Failure::usage(
            format!("--budget-usd: no price for `{model}`"),
            Some("give the model's price: --price IN/OUT (US dollars per million tokens)".into()),
        ));
    }
    Ok(Some(std::sync::Arc::new(gateway::RunBudget::new(gateway::RunLimits {
        tokens: args.budget_tokens,
        cost_usd: args.budget_usd,
        price,
        requests_per_minute: args.rpm,
        tokens_per_minute: args.tpm,
    }))))
}

/// `perimeter export inspect`: a run as an Inspect evaluation log.
pub(super) fn export_inspect(run: &Path, out: &Path) -> Result<ExitCode, Failure> {
    if out.extension().and_then(|e| e.to_str()) != Some("eval") {
        return Err(Failure::usage(
            format!(
                "`--out {}`: Inspect reads a log of this format only from a `.eval` file",
                out.display()
            ),
            Some(format!("e.g. --out {}.eval", out.with_extension("").display())),
        ));
    }
    if !run.join("summary.json").is_file() {
        return Err(Failure::usage(
            format!("`{}` holds no finished run (no summary.json)", run.display()),
            Some(
                "name a run folder written by `perimeter run` (or finish it with --resume)".into(),
            ),
        ));
    }
    let counter = render::Counter::new("exported", std::io::stderr().is_terminal());
    let done = export::inspect(run, out, &|done, total| counter.step(done, total))
        .map_err(|e| Failure::runtime(e.to_string(), None))?;
    counter.clear();
    println!(
        "{}: {} as an Inspect log (schema version {}), {} bytes; open it with `inspect view --log-dir {}`",
        out.display(),
        render::count(done.samples as u64, "sample"),
        export::LOG_SCHEMA_VERSION,
        done.bytes,
        text::shell_quote(
            &out.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .display()
                .to_string()
        )
    );
    Ok(ExitCode::SUCCESS)
}
