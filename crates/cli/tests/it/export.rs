//! `perimeter export inspect`: runs written as Inspect logs, read back by
//! Inspect itself (`inspect-ai`, pinned, in `target/test-python`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::run::trace_events;
use crate::{TempDir, perimeter, run_ok, summary, test_python_tool, text};

/// What Inspect's own readers make of an exported log.
fn read_back(log: &Path) -> Value {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/inspect_readback.py");
    let o = std::process::Command::new(test_python_tool("python"))
        .arg(script)
        .arg(log)
        .output()
        .unwrap();
    assert!(o.status.success(), "Inspect could not read {}: {:?}", log.display(), text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn export(run: &Path, out: &Path) {
    let o =
        perimeter().args(["export", "inspect"]).arg(run).arg("--out").arg(out).output().unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
}

/// The classes each session's findings name, by `<scenario>/<epoch>` (the
/// export's epochs count from 1, the run's from 0).
fn scanned(path: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let o = perimeter().arg("scan").arg(path).args(["--format", "json"]).output().unwrap();
    assert!(o.status.code().is_some_and(|c| c <= 1), "{:?}", text(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    report["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let file = s["file"].as_str().unwrap();
            let key = match file.split_once('#') {
                Some((_, id)) => id.to_owned(),
                None => {
                    let p = Path::new(file);
                    let scenario = p.parent().unwrap().file_name().unwrap().to_string_lossy();
                    let epoch: u32 = p.file_name().unwrap().to_string_lossy()["e".len()..]
                        .split('.')
                        .next()
                        .unwrap()
                        .parse()
                        .unwrap();
                    format!("{scenario}/{}", epoch + 1)
                }
            };
            let classes = s["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["class"].as_str().map(str::to_owned))
                .collect();
            (key, classes)
        })
        .collect()
}

/// The reference controls over the whole built-in suite round-trip
/// through Inspect's reader (whole and streamed): a sample per episode,
/// the conversation's tool calls and results, the main task and every
/// labelled class as scores, the episode's facts in the metadata, the
/// sandbox's observations as events marked as observed, and the run's
/// rates in the results. `perimeter scan` finds on the export the classes
/// it finds on the run's traces.
#[test]
fn reference_runs_round_trip_through_inspects_reader() {
    for agent in ["scripted:honest", "scripted:misaligned", "scripted:mixed:50"] {
        let d = TempDir::new("export");
        let run = d.path().join("run");
        run_ok(agent, &run, &["--seed", "4"]);
        let log = d.path().join("run.eval");
        export(&run, &log);
        let back = read_back(&log);
        let s = summary(&run);
        let episodes = s["episodes"].as_array().unwrap();
        assert_eq!(back["version"], 2);
        assert_eq!(back["status"], "success");
        assert_eq!(back["task"], "perimeter/builtin");
        assert_eq!(back["perimeter"]["agent"], agent);
        assert_eq!(back["perimeter"]["suite"]["digest"], s["suite"]["digest"]);
        assert_eq!(back["perimeter"]["seed"], "4");
        assert_eq!(back["summaries"], episodes.len());
        let samples = back["samples"].as_array().unwrap();
        assert_eq!(samples.len(), episodes.len(), "{agent}");
        assert_eq!(back["streamed"].as_array().unwrap().len(), episodes.len());
        assert_eq!(back["results"]["total_samples"], episodes.len());
        for e in episodes {
            let (scenario, epoch) = (e["scenario"].as_str().unwrap(), e["epoch"].as_u64().unwrap());
            let sample = samples
                .iter()
                .find(|x| x["id"] == scenario && x["epoch"] == epoch + 1)
                .unwrap_or_else(|| panic!("{agent}: no sample for {scenario} e{epoch}"));
            let streamed = back["streamed"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == scenario && x["epoch"] == epoch + 1)
                .unwrap();
            assert_eq!(sample, streamed, "the streaming reader reads the same sample");
            let events = trace_events(&run.join(e["trace"].as_str().unwrap()));
            let calls: Vec<&str> = events
                .iter()
                .filter(|x| x["kind"] == "tool_call")
                .map(|x| x["call_id"].as_str().unwrap())
                .collect();
            assert_eq!(sample["tool_calls"], serde_json::json!(calls), "{scenario}");
            assert_eq!(sample["tool_results"].as_array().unwrap().len(), calls.len());
            assert_eq!(sample["tool_events"], calls.len());
            assert_eq!(sample["roles"][0], "user", "the task comes first");
            let main = if e["main_task_success"] == true { "C" } else { "I" };
            assert_eq!(sample["scores"]["main_task"]["value"], main, "{scenario}");
            for l in e["labels"].as_array().unwrap() {
                let class = l["class"].as_str().unwrap();
                let score = &sample["scores"][class];
                assert_eq!(score["value"]["attempted"], u8::from(l["attempted"] == true));
                assert_eq!(score["value"]["succeeded"], u8::from(l["succeeded"] == true));
                assert_eq!(score["value"]["concealed"], u8::from(l["concealed"] == true));
                assert_eq!(score["metadata"]["evidence_seq"], l["evidence"]);
            }
            let labelled: BTreeSet<&str> = e["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["class"].as_str().unwrap())
                .collect();
            for (class, score) in sample["scores"].as_object().unwrap() {
                if class != "main_task" && !labelled.contains(class.as_str()) {
                    assert_eq!(
                        score["value"]["attempted"], 0,
                        "{scenario}: {class} is not labelled"
                    );
                }
            }
            assert_eq!(sample["metadata"]["trace_head"], e["trace_head"]);
            assert_eq!(sample["metadata"]["end_reason"], e["end_reason"]);
            assert_eq!(sample["metadata"]["scenario_digest"], e["scenario_digest"]);
            assert_eq!(sample["error"], Value::Null);
            let observed = events.iter().any(|x| x["source"] == "observed");
            let sources = sample["observed_sources"].as_array().unwrap();
            assert_eq!(sources.contains(&"perimeter/observed".into()), observed, "{scenario}");
        }
        // The run's rates, as Inspect's results.
        let pooled = s["rates"]["classes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["scenario"].is_null() && r["denominator"] == "per_opportunity")
            .unwrap();
        let class = pooled["class"].as_str().unwrap();
        let metrics = &back["results"]["scores"][class];
        assert_eq!(metrics["per_opportunity"], pooled["rate"], "{agent}: {class}");
        assert_eq!(metrics["per_opportunity_k"].as_f64(), pooled["k"].as_f64());
        assert_eq!(metrics["per_opportunity_ci_high"], pooled["ci_high"]);

        let (on_export, on_traces) = (scanned(&log), scanned(&run.join("episodes")));
        assert_eq!(on_export.len(), episodes.len());
        assert_eq!(on_export, on_traces, "{agent}: the scan finds the same classes");
    }
}

/// The built-in loop's model calls, recorded by the gateway, are model
/// events: what each call was newly asked as its input (the task, then
/// the tool results), the tool calls the model answered with, and the
/// tokens; each answered call is then a tool event.
#[test]
fn model_exchanges_are_model_events() {
    let d = TempDir::new("export-api");
    let run = d.path().join("run");
    let o = perimeter()
        .args(["run", "--agent", "api", "--model", "scripted:misaligned"])
        .args(["--scenario", "release-gate", "--scenario", "rogue-ladder", "--out"])
        .arg(&run)
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    let log = d.path().join("api.eval");
    export(&run, &log);
    let back = read_back(&log);
    for sample in back["samples"].as_array().unwrap() {
        let scenario = sample["id"].as_str().unwrap();
        let events = trace_events(&run.join(format!("episodes/{scenario}/e0.trace.jsonl")));
        let exchanges: Vec<&Value> =
            events.iter().filter(|e| e["kind"] == "model_exchange").collect();
        assert_eq!(sample["model_events"], exchanges.len(), "{scenario}");
        let inputs = sample["model_inputs"].as_array().unwrap();
        assert_eq!(inputs[0], serde_json::json!(["user"]), "{scenario}: the task first");
        assert!(inputs.iter().all(|i| !i.as_array().unwrap().is_empty()), "{inputs:?}");
        let answered: Vec<String> = sample["model_calls"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c.as_array().unwrap().iter().map(|id| id.as_str().unwrap().to_owned()))
            .collect();
        let calls: Vec<&str> = events
            .iter()
            .filter(|e| e["kind"] == "tool_call")
            .map(|e| e["call_id"].as_str().unwrap())
            .collect();
        // (The built-in loop numbers its calls itself: `call-1`, …)
        assert_eq!(answered.len(), calls.len(), "{scenario}: each call the model made was run");
        let results = inputs.iter().flat_map(|i| i.as_array().unwrap()).filter(|r| *r == "tool");
        assert_eq!(results.count(), calls.len(), "{scenario}: each result was sent back");
        assert!(sample["model_tokens"].as_array().unwrap().iter().all(|t| t.as_u64() > Some(0)));
    }
}

/// An episode that ended for an infrastructure reason is an errored
/// sample, in no completed count; a trace changed after the run is
/// refused, naming it, and nothing is written; the output must be `.eval`.
#[test]
fn failures_are_errors_and_a_changed_trace_is_refused() {
    let d = TempDir::new("export-bad");
    let run = d.path().join("run");
    let o = perimeter()
        .args(["run", "--agent", "cmd:no-such-client", "--model", "scripted:honest"])
        .args(["--scenario", "release-gate", "--out"])
        .arg(&run)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{:?}", text(&o));
    let log = d.path().join("failed.eval");
    export(&run, &log);
    let back = read_back(&log);
    let sample = &back["samples"][0];
    assert!(sample["error"].as_str().unwrap().starts_with("agent_error: "), "{sample}");
    assert_eq!(sample["metadata"]["counted"], false);
    assert_eq!(back["results"]["completed_samples"], 0);

    let trace = run.join("episodes/release-gate/e0.trace.jsonl");
    let mut lines: Vec<String> =
        std::fs::read_to_string(&trace).unwrap().lines().map(str::to_owned).collect();
    let last = lines.len() - 1;
    lines[last] = lines[last].replace("\"reason\":\"", "\"reason\":\"x");
    std::fs::write(&trace, lines.join("\n") + "\n").unwrap();
    let out = d.path().join("changed.eval");
    let o =
        perimeter().args(["export", "inspect"]).arg(&run).arg("--out").arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o).1;
    assert!(err.contains("e0.trace.jsonl"), "{err}");
    assert!(!out.exists(), "nothing is written");
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 2, "no partial file left");

    let o = perimeter()
        .args(["export", "inspect"])
        .arg(&run)
        .args(["--out", "x.json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("from a `.eval` file"), "{:?}", text(&o));
}
