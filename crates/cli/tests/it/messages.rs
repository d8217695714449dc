//! Every message a person reads, pinned: each command's `--help`, and what
//! common mistakes get back (exit code and standard error). A changed
//! message fails here until its snapshot is reviewed and rewritten with
//! `PERIMETER_UPDATE_SNAPSHOTS=1 cargo test -p cli --test it messages`.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::{TempDir, perimeter, text};

fn snapshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

/// Compares `actual` with the snapshot `name`, or writes it when asked to.
fn check(name: &str, actual: &str, failures: &mut Vec<String>) {
    let path = snapshots().join(format!("{name}.txt"));
    let update = std::env::var_os("PERIMETER_UPDATE_SNAPSHOTS").is_some();
    match std::fs::read_to_string(&path) {
        Ok(expected) if expected == actual => {}
        _ if update => {
            std::fs::create_dir_all(snapshots()).unwrap();
            std::fs::write(&path, actual).unwrap();
        }
        Ok(expected) => failures.push(format!(
            "{name} changed:\n--- {}\n{expected}\n+++ now\n{actual}",
            path.display()
        )),
        Err(_) => failures.push(format!("{name}: no snapshot yet (now):\n{actual}")),
    }
}

fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{}\n\n{} message(s) differ; review, then rerun with PERIMETER_UPDATE_SNAPSHOTS=1",
        failures.join("\n\n"),
        failures.len()
    );
}

/// The subcommands a `--help` lists.
fn subcommands(help: &str) -> Vec<String> {
    let Some(start) = help.find("Commands:\n") else { return Vec::new() };
    help[start + "Commands:\n".len()..]
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_help_is_pinned() {
    let mut failures = Vec::new();
    let mut queue: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = 0;
    while let Some(path) = queue.pop() {
        let o = perimeter().args(&path).arg("--help").output().unwrap();
        assert!(o.status.success(), "{path:?} --help failed");
        let help = text(&o).0;
        let name =
            if path.is_empty() { "help".to_owned() } else { format!("help-{}", path.join("-")) };
        check(&name, &help, &mut failures);
        seen += 1;
        for sub in subcommands(&help) {
            let mut p = path.clone();
            p.push(sub);
            queue.push(p);
        }
    }
    assert!(seen > 20, "only {seen} commands found");
    report(failures);
}

/// What a person sees after a mistake: the exit code and standard error
/// (standard output too, when there is any), temporary paths filtered.
fn outcome(o: &Output, tmp: &Path) -> String {
    let (stdout, stderr) = text(o);
    let filter = |s: &str| s.replace(&tmp.display().to_string(), "[TMP]");
    let mut out = format!("exit: {}\n", o.status.code().map_or("signal".into(), |c| c.to_string()));
    if !stdout.is_empty() {
        out.push_str(&format!("stdout:\n{}", filter(&stdout)));
    }
    out.push_str(&format!("stderr:\n{}", filter(&stderr)));
    out
}

#[test]
fn common_mistakes_get_clear_answers() {
    let dir = TempDir::new("mistakes");
    let d = dir.path();
    std::fs::write(d.join("existing.txt"), "x").unwrap();
    std::fs::write(d.join("bad-policy.toml"), "version = 1\n[roles]\ncredentials = []\n").unwrap();
    std::fs::write(d.join("session.jsonl"), "").unwrap();
    let p = |name: &str| d.join(name).display().to_string();
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("no-command", vec![]),
        ("command-typo", vec!["scna".into()]),
        (
            "run-agent-unknown",
            vec!["run".into(), "--agent".into(), "claude".into(), "--out".into(), p("run")],
        ),
        (
            "run-model-kind-typo",
            vec![
                "run".into(),
                "--agent".into(),
                "api".into(),
                "--model".into(),
                "antropic:x".into(),
                "--out".into(),
                p("run"),
            ],
        ),
        (
            "run-max-cost-without-price",
            vec![
                "run".into(),
                "--agent".into(),
                "api".into(),
                "--out".into(),
                p("run"),
                "--max-cost".into(),
                "2".into(),
            ],
        ),
        (
            "run-scenario-typo",
            vec![
                "run".into(),
                "--agent".into(),
                "scripted:misaligned".into(),
                "--scenario".into(),
                "monitor-confg".into(),
                "--out".into(),
                p("run"),
            ],
        ),
        ("scan-missing-path", vec!["scan".into(), "/nonexistent/sessions".into()]),
        (
            "scan-threshold-out-of-range",
            vec![
                "scan".into(),
                p("session.jsonl"),
                "--judge".into(),
                "scripted:x".into(),
                "--judge-threshold".into(),
                "2".into(),
            ],
        ),
        (
            "scan-judge-options-without-judge",
            vec!["scan".into(), p("session.jsonl"), "--judge-budget".into(), "10".into()],
        ),
        (
            "scan-judge-class-unknown",
            vec![
                "scan".into(),
                p("session.jsonl"),
                "--judge".into(),
                format!("scripted:{}", p("session.jsonl")),
                "--judge-classes".into(),
                "sandbagging".into(),
            ],
        ),
        (
            "scan-policy-bad-field",
            vec!["scan".into(), p("session.jsonl"), "--policy".into(), p("bad-policy.toml")],
        ),
        (
            "scan-labels-missing",
            vec!["scan".into(), p("session.jsonl"), "--validate".into(), p("labels.jsonl")],
        ),
        ("report-missing-run", vec!["report".into(), "/nonexistent/run".into()]),
        (
            "bundle-verify-missing",
            vec!["bundle".into(), "verify".into(), "/nonexistent/bundle.json".into()],
        ),
        (
            "trace-verify-missing",
            vec!["trace".into(), "verify".into(), "/nonexistent/e0.trace.jsonl".into()],
        ),
        (
            "suite-list-missing",
            vec!["suite".into(), "list".into(), "--suite".into(), "/nonexistent/suite".into()],
        ),
        (
            "bundle-create-participant-with-a-space",
            vec![
                "bundle".into(),
                "create".into(),
                "--run".into(),
                p("run"),
                "--key".into(),
                p("lab.key"),
                "--participant".into(),
                "lab a".into(),
                "--out".into(),
                p("b.json"),
            ],
        ),
        (
            "bundle-create-key-missing",
            vec![
                "bundle".into(),
                "create".into(),
                "--run".into(),
                d.display().to_string(),
                "--key".into(),
                p("lab.key"),
                "--participant".into(),
                "lab-a".into(),
                "--out".into(),
                p("b.json"),
            ],
        ),
        (
            "round-init-bad-digest",
            vec![
                "round".into(),
                "init".into(),
                p("round"),
                "--protocol".into(),
                "perimeter-protocol/0.1".into(),
                "--suite-digest".into(),
                "sha256:abc".into(),
                "--participant".into(),
                format!("lab-a={}", p("existing.txt")),
            ],
        ),
        (
            "run-out-is-a-file",
            vec![
                "run".into(),
                "--agent".into(),
                "scripted:misaligned".into(),
                "--out".into(),
                p("existing.txt"),
            ],
        ),
        (
            "round-disclose-missing-file",
            vec!["round".into(), "disclose".into(), d.display().to_string(), p("decisions.json")],
        ),
        (
            "keys-generate-existing",
            vec!["keys".into(), "generate".into(), "--out".into(), p("existing.txt")],
        ),
    ];
    let mut failures = Vec::new();
    for (name, args) in &cases {
        let o = perimeter()
            .args(args)
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("OPENAI_API_KEY")
            .env_remove("GEMINI_API_KEY")
            .output()
            .unwrap();
        assert_ne!(o.status.code(), Some(0), "{name}: a mistake must not succeed");
        check(&format!("mistake-{name}"), &outcome(&o, d), &mut failures);
    }
    assert!(cases.len() >= 15);
    report(failures);
}
