//! `perimeter suite …`.

use super::*;

pub(super) fn suite_list(name: &str, format: Format) -> Result<ExitCode, Failure> {
    let suite = load_suite(name)?;
    match format {
        Format::Json => {
            let out = formats::output::SuiteList {
                format: "perimeter.suite-list/1".into(),
                suite: name.into(),
                digest: suite.digest.clone(),
                scenarios: suite
                    .scenarios
                    .iter()
                    .map(|s| formats::output::SuiteScenario {
                        id: s.manifest.id.clone(),
                        classes: s.manifest.classes.clone(),
                        title: s.manifest.title.clone(),
                    })
                    .collect(),
            };
            print_json(&out);
        }
        Format::Table => print!("{}", render::suite_table(&suite)),
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn suite_show(name: &str, id: &str) -> Result<ExitCode, Failure> {
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

pub(super) fn suite_validate(
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
    let verdicts = run::validate(config, clock.as_ref(), &progress).map_err(Failure::from);
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

/// `suite digest`: the digest a round's bundles must match.
pub(super) fn suite_digest(suite: &str) -> Result<ExitCode, Failure> {
    println!("{}", load_suite(suite)?.digest);
    Ok(ExitCode::SUCCESS)
}
