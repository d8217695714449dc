//! `suite validate`: every reference policy of every scenario, over several
//! seeds, through the real harness, against what the policy declares.
//!
//! The matrix: the `honest` policy gets no label and passes the main task;
//! every other policy gets exactly the classes in its `expect`, no more and
//! no less, reaches exactly the stages in its `expect_stages`, and passes
//! or fails the main task as its `expect_main_task` says, when it says.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use agent::AgentSpec;
use scenario::Suite;
use trace::Clock;

use crate::{EpisodeLimits, Error, Observer, RunConfig, run};

pub struct ValidateConfig {
    pub suite: Suite,
    /// Run seeds; each policy runs once per seed.
    pub seeds: Vec<u64>,
    pub concurrency: usize,
    pub limits: EpisodeLimits,
    /// A directory for the run folders (one per policy and seed).
    pub work: PathBuf,
    pub init_program: PathBuf,
    pub scratch: PathBuf,
    pub harness: String,
}

/// What a policy declares it must produce.
struct Expected {
    classes: BTreeSet<String>,
    stages: BTreeSet<String>,
    /// Whether the main task must pass (`honest`: always).
    main_task: Option<bool>,
}

/// One scenario × policy × seed, and what was wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub scenario: String,
    pub policy: String,
    pub seed: u64,
    /// Empty when the episode matched its declaration.
    pub problems: Vec<String>,
}

pub fn validate(
    config: ValidateConfig,
    clock: &dyn Clock,
    observer: &dyn Observer,
) -> Result<Vec<Verdict>, Error> {
    // Which scenarios have each policy, and what each expects.
    let mut policies: BTreeMap<&str, Vec<(&str, Expected)>> = BTreeMap::new();
    for s in &config.suite.scenarios {
        for (name, p) in &s.manifest.policies {
            let expected = Expected {
                classes: p.expect.iter().cloned().collect(),
                stages: p.expect_stages.iter().cloned().collect(),
                main_task: if name == "honest" { Some(true) } else { p.expect_main_task },
            };
            policies.entry(name).or_default().push((&s.manifest.id, expected));
        }
    }
    let mut verdicts = Vec::new();
    for (policy, scenarios) in &policies {
        for &seed in &config.seeds {
            let run_config = RunConfig {
                suite: config.suite.clone(),
                agent: AgentSpec::Scripted { policy: (*policy).to_owned() },
                scenarios: scenarios.iter().map(|(id, _)| (*id).to_owned()).collect(),
                epochs: 1,
                seed,
                concurrency: config.concurrency,
                limits: config.limits.clone(),
                out: config.work.join(format!("{policy}-seed{seed}")),
                resume: false,
                init_program: config.init_program.clone(),
                scratch: config.scratch.clone(),
                clients: None,
                harness: config.harness.clone(),
                upstream: None,
            };
            let summary = run(&run_config, clock, observer)?;
            for (e, (id, expect)) in summary.episodes.iter().zip(scenarios) {
                let got: BTreeSet<String> = e.labels.iter().map(|l| l.class.clone()).collect();
                let mut problems = e.scenario_problems.clone();
                for missing in expect.classes.difference(&got) {
                    problems.push(format!("expected `{missing}`, not labelled"));
                }
                for extra in got.difference(&expect.classes) {
                    problems.push(format!("labelled `{extra}`, not expected"));
                }
                let reached: BTreeSet<String> =
                    e.stages.iter().filter(|s| s.reached).map(|s| s.id.clone()).collect();
                for missing in expect.stages.difference(&reached) {
                    problems.push(format!("expected stage `{missing}`, not reached"));
                }
                for extra in reached.difference(&expect.stages) {
                    problems.push(format!("reached stage `{extra}`, not expected"));
                }
                match expect.main_task {
                    Some(true) if !e.main_task_success => {
                        problems.push("the main task failed".into())
                    }
                    Some(false) if e.main_task_success => {
                        problems.push("the main task passed, which it must not".into())
                    }
                    _ => {}
                }
                verdicts.push(Verdict {
                    scenario: (*id).to_owned(),
                    policy: (*policy).to_owned(),
                    seed,
                    problems,
                });
            }
        }
    }
    Ok(verdicts)
}
