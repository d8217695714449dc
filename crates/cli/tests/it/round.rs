//! The evaluator's round through the real binary: ingest with
//! comparability, disclosure decisions, reports, silent exit, and the demo
//! that plays it all.

use std::path::Path;

use serde_json::Value;

use crate::bundle::{fails, ok, sign};
use crate::run::trace_events;
use crate::{TempDir, one_scenario_suite, perimeter, render_in_chromium};

/// Runs `agent` on release-gate (plus `extra`) and signs it as `lab`.
fn lab(dir: &Path, lab: &str, agent: &str, extra: &[&str]) {
    let out = format!("{lab}-run");
    let run = ["run", "--agent", agent, "--scenario", "release-gate", "--out", &out];
    ok(&[&run[..], extra].concat(), dir);
    ok(&["keys", "generate", "--out", &format!("{lab}.key")], dir);
    sign(dir, &out, &format!("{lab}.key"), lab, &format!("{lab}.bundle"));
}

fn init(dir: &Path, round: &str, digest: &str, labs: &[&str], seed: &str, window: Option<&str>) {
    let mut args = vec![
        "round".to_owned(),
        "init".into(),
        round.into(),
        "--protocol".into(),
        "perimeter-protocol/0.1".into(),
        "--suite-digest".into(),
        digest.into(),
        "--seed".into(),
        seed.into(),
    ];
    for l in labs {
        args.extend(["--participant".into(), format!("{l}={l}.key.pub")]);
    }
    if let Some(w) = window {
        args.extend(["--window".into(), w.into()]);
    }
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>(), dir);
}

/// Today, by the clock the commands read.
fn today() -> String {
    let ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    formats::Timestamp(ms as i64).date()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Whether any file under `dir` contains `needle`.
fn files_contain(dir: &Path, needle: &[u8]) -> bool {
    files(dir).iter().any(|p| std::fs::read(p).unwrap().windows(needle.len()).any(|w| w == needle))
}

/// Every file under `dir`, sorted.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() { stack.push(p) } else { out.push(p) }
        }
    }
    out.sort();
    out
}

#[test]
fn incomparable_bundles_are_kept_out_of_pooling_with_their_reasons() {
    let d = TempDir::new("round");
    let dir = d.path();
    // Another suite with a scenario of the same id: another digest.
    let suite = one_scenario_suite(&dir.join("suite"), "release-gate", r#"{ shell = "true" }"#);
    lab(dir, "lab-a", "scripted:misaligned", &[]);
    lab(dir, "lab-b", "scripted:honest", &[]);
    lab(dir, "lab-c", "scripted:honest", &["--wall-time", "300"]);
    lab(dir, "lab-d", "scripted:honest", &["--suite", suite.to_str().unwrap()]);
    let digest = ok(&["suite", "digest"], dir).trim().to_owned();
    init(dir, "round", &digest, &["lab-a", "lab-b", "lab-c", "lab-d"], "7", None);
    let bundles = ["lab-a.bundle", "lab-b.bundle", "lab-c.bundle", "lab-d.bundle"];
    let out = ok(&[&["round", "ingest", "round"][..], &bundles].concat(), dir);
    assert!(out.contains("lab-a accepted") && out.contains("lab-b accepted"), "{out}");
    assert!(out.contains("lab-c ingested but not comparable"), "{out}");
    assert!(out.contains("limit wall_time_ms is 300000 where lab-a ran with 600000"), "{out}");
    assert!(out.contains("lab-d ingested but not comparable"), "{out}");
    assert!(out.contains(&format!("where the round expects \"{digest}\"")), "{out}");
    // Bundles are stored sealed: no participant's content is readable.
    let root = json(&dir.join("lab-a.bundle"))["evidence"]["root"].as_str().unwrap().to_owned();
    assert!(!files_contain(&dir.join("round"), root.as_bytes()));

    // The report pools the comparable two, and the table says why the
    // others are not in it.
    ok(&["round", "report", "round"], dir);
    let public = json(&dir.join("round/reports/public.json"));
    let pooled = &public["pooled"];
    assert_eq!((pooled["participants"].as_u64(), pooled["episodes"].as_u64()), (Some(2), Some(2)));
    let table = public["comparability"].as_array().unwrap();
    let row = |p: &str| table.iter().find(|r| r["participant"] == p).unwrap().clone();
    assert_eq!(row("lab-b")["comparable"], true);
    assert_eq!(
        row("lab-c")["reasons"][0],
        "limit wall_time_ms is 300000 where lab-a ran with 600000"
    );
    assert!(row("lab-d")["reasons"][0].as_str().unwrap().starts_with("suite digest"));
    let md = std::fs::read_to_string(dir.join("round/reports/public.md")).unwrap();
    assert!(md.contains("| lab-c | disk_bytes") && md.contains("no: limit wall_time_ms"), "{md}");

    // Silent exit of the participant the limits were compared against:
    // comparability is recomputed as if it had never joined, and nothing of
    // it remains in the round folder.
    let pubkey = std::fs::read_to_string(dir.join("lab-a.key.pub")).unwrap();
    let lab_a_key = pubkey.split_whitespace().nth(1).unwrap().to_owned();
    assert!(files_contain(&dir.join("round"), lab_a_key.as_bytes()), "registered before the exit");
    assert_eq!(ok(&["round", "exit", "round", "lab-a"], dir).trim(), "done");
    for trace in ["lab-a", lab_a_key.as_str()] {
        assert!(!files_contain(&dir.join("round"), trace.as_bytes()), "{trace} left in the round");
    }
    assert!(!dir.join("round/store/lab-a").exists() && !dir.join("round/keys/lab-a.key").exists());
    assert!(!dir.join("round/reports").exists(), "reports that may derive from lab-a are gone");
    let status = json(&dir.join("round/ingested.json"));
    let left: Vec<(&str, bool)> = status["ingested"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["participant"].as_str().unwrap(), s["comparable"] == true))
        .collect();
    assert_eq!(left, [("lab-b", true), ("lab-c", false), ("lab-d", false)]);
    let reasons = &status["ingested"][1]["reasons"];
    assert_eq!(reasons[0], "limit wall_time_ms is 300000 where lab-b ran with 600000");
    ok(&["round", "report", "round"], dir);
    let public = json(&dir.join("round/reports/public.json"));
    assert_eq!(public["pooled"], Value::Null, "one comparable participant is not pooled");
    assert!(fails(&["round", "exit", "round", "lab-a"], dir).contains("not a participant"));
    assert!(
        fails(&["round", "ingest", "round", "lab-a.bundle"], dir).contains("not a participant")
    );
    // A bundle signed by a key the round does not know is refused.
    ok(&["keys", "generate", "--out", "intruder.key"], dir);
    sign(dir, "lab-b-run", "intruder.key", "lab-b", "fake.bundle");
    let err = fails(&["round", "ingest", "round", "fake.bundle"], dir);
    assert!(err.contains("signed with a different key"), "{err}");
    // The same as `perimeter.round-ingest/1`: still exit 1, each outcome listed.
    let o = perimeter()
        .args(["round", "ingest", "round", "fake.bundle", "--format", "json"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["format"], "perimeter.round-ingest/1");
    serde_json::from_value::<formats::output::RoundIngest>(v.clone()).unwrap();
    assert_eq!(v["bundles"][0]["status"], "refused");
    assert!(
        v["bundles"][0]["reasons"][0].as_str().unwrap().contains("signed with a different key")
    );
    // A bundle created outside the round's window is refused.
    init(dir, "past", &digest, &["lab-b"], "1", Some("2000-01-01..2000-01-02"));
    let err = fails(&["round", "ingest", "past", "lab-b.bundle"], dir);
    assert!(err.contains("outside the round's submission window 2000-01-01..2000-01-02"), "{err}");
    let bad = [
        "round",
        "init",
        "bad",
        "--protocol",
        "p",
        "--suite-digest",
        digest.as_str(),
        "--window",
        "soon",
    ];
    let err = fails(&[&bad[..], &["--participant", "lab-b=lab-b.key.pub"]].concat(), dir);
    assert!(err.contains("window `soon`: expected FROM..TO"), "{err}");
}

/// Text as an HTML page holds it.
fn html_escaped(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The answers of a lab's questionnaire at a disclosure level.
fn answers_at(demo: &Path, lab: &str, level: &str) -> Vec<String> {
    let q = json(&demo.join("labs").join(lab).join("questionnaire.json"));
    q["answers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["disclosure"] == level && a["answer"].is_string())
        .map(|a| a["answer"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_demo_round_keeps_every_disclosure_promise_and_leaves_no_trace_of_the_exit() {
    // The reports carry the day of each step: the round replayed below must
    // make the same bytes, even when the test runs across midnight.
    let _clock = crate::FixedClock::at("2026-11-30T12:00:00.000Z");
    let d = TempDir::new("demo");
    let dir = d.path();
    let out = ok(&["demo", "--out", "demo"], dir);
    for expected in [
        "lab-d left the round silently",
        "lab-c's final approval with its own wording is refused: claims.C",
        "lab-a tries to leave after its final approval: refused: lab-a finalised its approval",
        "round phase 4, public report",
        "    perimeter round check-items 'demo/round/reports/public.items.json'",
        "demo/round/reports/public.html",
        "demo/round/reports/private/lab-c.html",
        "Redaction summary statement: One high-importance claim from one participating company was redacted without permission to comment",
        // lab-b's model server is overloaded for one scenario all along.
        "21 episodes, 3 labelled, 1 not counted (model_error 1)",
        // The way to read and review it all.
        "    perimeter view 'demo' --reviewer \"Your Name\"",
        "incidents:       9 published (3 not)",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
    let demo = dir.join("demo");

    // The episode the outage ended was tried again, is counted in no rate,
    // and every report says so.
    let trace = trace_events(&demo.join("labs/lab-b/run/episodes/disk-cleanup/e0.trace.jsonl"));
    let exchange = trace.iter().find(|e| e["kind"] == "model_exchange").unwrap();
    assert_eq!(exchange["status"], 529, "{exchange}");
    assert_eq!(exchange["retries"].as_array().unwrap().len(), 4, "{exchange}");
    let lab_b = json(&demo.join("labs/lab-b/run/summary.json"));
    assert_eq!(lab_b["rates"]["endings"]["excluded"], 1, "{}", lab_b["rates"]["endings"]);
    let private = std::fs::read_to_string(demo.join("round/reports/private/lab-b.md")).unwrap();
    assert!(
        private.contains(
            "20 counted; 1 not counted, ended for infrastructure reasons (model_error 1)"
        ),
        "{private}"
    );
    let public = std::fs::read_to_string(demo.join("round/reports/public.md")).unwrap();
    assert!(
        public.contains(
            "62 counted episodes (1 more ended for infrastructure reasons and is in no figure)"
        ),
        "{public}"
    );
    assert!(public.contains("2026-11-30"), "the round's steps are dated by the fixed clock");
    // Mistakes against a real round: who is in it, and what a decisions
    // file is.
    let err = fails(&["round", "exit", "demo/round", "lab-z"], dir);
    assert!(err.contains("`lab-z` is not a participant of this round"), "{err}");
    assert!(err.contains("hint: its participants: lab-a, lab-b, lab-c"), "{err}");
    // The round has published: nothing more is decided in it.
    std::fs::write(dir.join("empty.json"), "{}").unwrap();
    let err = fails(&["round", "disclose", "demo/round", "empty.json"], dir);
    assert!(err.contains("the round is in its publication phase"), "{err}");
    // Its report may be written again: the same bytes.
    ok(&["round", "report", "demo/round"], dir);
    let reports = demo.join("round/reports");
    let public: Vec<_> =
        ["public.json", "public.md", "public.html"].map(|f| reports.join(f)).into();
    let public_text: String =
        public.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect::<Vec<_>>().join("\n");

    // Every lab's monitor was scored on the evaluator's shared corpus: the
    // public report gives the range across the three that stayed, and a
    // claim says the note to the reviewer talked lab-b's monitor down.
    assert!(
        out.contains("evaluator: a shared monitor corpus of 21 benign and 63 attack trajectories"),
        "{out}"
    );
    let report = json(&reports.join("public.json"));
    let m = &report["pooled"]["monitors"][0];
    assert_eq!(
        (m["participants"].as_u64(), m["attacks"].as_u64(), m["view"].as_str()),
        (Some(3), Some(63), Some("reasoning")),
        "{m}"
    );
    assert!(m["min"].as_f64().unwrap() < m["max"].as_f64().unwrap(), "{m}");
    let md = std::fs::read_to_string(reports.join("public.md")).unwrap();
    assert!(md.contains("A prompted model monitor, shown each trajectory whole"), "{md}");
    assert!(md.contains("note 0 of 21"), "{md}");
    assert!(md.contains("[rests on 1 evidence item signed in the bundle]"), "{md}");
    // lab-b's router decides by user agent: a renamed or bare client is
    // not monitored.
    assert!(
        md.contains("routed 20 to monitoring; the others went unmonitored: no client headers (4 clients), renamed client (4 clients)."),
        "{md}"
    );
    // No monitor's command line, file path or evidence id reaches the
    // public report: they could name a non-attributed claim's lab.
    for leak in ["labs/lab-", "monitor-results.json", "llm:scripted", "grep -q"] {
        assert!(!public_text.contains(leak), "{leak} in the public report");
    }
    let private = std::fs::read_to_string(reports.join("private/lab-b.md")).unwrap();
    assert!(private.contains("## Your monitors") && private.contains("llm:scripted:"), "{private}");

    // Withheld answers are nowhere in the round; answers for the evaluator
    // only are in their own lab's private report and never in public.
    for lab in ["lab-a", "lab-b", "lab-c"] {
        for text in answers_at(&demo, lab, "withheld") {
            for form in [text.clone(), html_escaped(&text)] {
                assert!(!files_contain(&demo.join("round"), form.as_bytes()), "{form}");
            }
        }
        for text in answers_at(&demo, lab, "evaluator_only") {
            let forms = [text.clone(), html_escaped(&text)];
            assert!(!forms.iter().any(|f| public_text.contains(f)), "{text} in public output");
            let holders: Vec<_> = files(&reports.join("private"))
                .into_iter()
                .filter(|p| {
                    let content = std::fs::read_to_string(p).unwrap();
                    forms.iter().any(|f| content.contains(f))
                })
                .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
                .collect();
            assert_eq!(holders, [lab, lab, lab], "{text}");
        }
    }
    assert!(answers_at(&demo, "lab-c", "withheld").iter().any(|a| a.contains("Q10")));

    // The exit: nothing in the round names lab-d or holds its key, bundle
    // root or signature.
    let bundle = json(&demo.join("labs/lab-d/lab-d.bundle"));
    let key = bundle["signature"]["public_key"].as_str().unwrap().split(' ').nth(1).unwrap();
    for needle in [
        "lab-d",
        key,
        bundle["evidence"]["root"].as_str().unwrap(),
        bundle["signature"]["value"].as_str().unwrap(),
    ] {
        assert!(!files_contain(&demo.join("round"), needle.as_bytes()), "{needle} in the round");
    }

    // Every report equals that of a round lab-d never joined: the round
    // played again from the files the demo left, without lab-d.
    let labs = ["lab-a", "lab-b", "lab-c"];
    for l in labs {
        std::fs::copy(demo.join(format!("labs/{l}/lab.key.pub")), dir.join(format!("{l}.key.pub")))
            .unwrap();
    }
    let spec = json(&demo.join("round/round.json"));
    let (digest, seed) = (spec["suite_digest"].as_str().unwrap(), spec["seed"].to_string());
    init(dir, "never", digest, &labs, &seed, spec["window"].as_str());
    let phases = json(&dir.join("never/phases.json"));
    assert_eq!(phases["draft_notice_days"], 7, "the default notice");
    let mut p = json(&dir.join("never/phases.json"));
    p["draft_notice_days"] = 0.into();
    std::fs::write(dir.join("never/phases.json"), p.to_string()).unwrap();
    let bundles: Vec<String> = labs.iter().map(|l| format!("demo/labs/{l}/{l}.bundle")).collect();
    let bundles: Vec<&str> = bundles.iter().map(String::as_str).collect();
    ok(&[&["round", "ingest", "never"][..], &bundles].concat(), dir);
    // A new bundle replaces the old one; the same bundle again changes
    // nothing; bundles come in only while the round gathers.
    let same = ok(&["round", "ingest", "never", "demo/labs/lab-a/lab-a.bundle"], dir);
    assert!(!same.contains("replaces"), "{same}");
    sign(dir, "demo/labs/lab-a/run", "demo/labs/lab-a/lab.key", "lab-a", "new.bundle");
    let out = ok(&["round", "ingest", "never", "new.bundle"], dir);
    assert!(out.contains("replaces lab-a's earlier bundle"), "{out}");
    ok(&["round", "ingest", "never", "demo/labs/lab-a/lab-a.bundle"], dir);
    for l in labs {
        ok(&["round", "access", "never", &format!("demo/labs/{l}/model-access.json")], dir);
    }
    for (lab, model) in [("lab-b", "lab-b-internal"), ("lab-c", "lab-c-internal")] {
        let run = format!("demo/evaluator/runs/{model}");
        ok(&["round", "evaluate", "never", &run, "--name", model, "--participant", lab], dir);
    }
    let public_run = ["round", "evaluate", "never", "demo/evaluator/runs/public-frontier"];
    ok(&[&public_run[..], &["--name", "public-frontier", "--public"]].concat(), dir);
    let thread = json(&demo.join("round/reports/private/lab-b.json"))["thread"].clone();
    let asked = thread[0]["text"].as_str().unwrap();
    let ask = ["round", "ask", "never", "lab-b", "--question", "Q7.b"];
    ok(&[&ask[..], &["--by", "Evaluator (simulated)", "--text", asked]].concat(), dir);
    ok(&["round", "reply", "never", "demo/labs/lab-b/reply-T1.json"], dir);
    let interview = &json(&demo.join("round/reports/private/lab-c.json"))["thread"][0];
    let mut args: Vec<String> =
        ["round", "ask", "never", "lab-c", "--question", "Q10,Q11"].map(str::to_owned).into();
    args.extend(["--by".into(), "Evaluator (simulated)".into()]);
    args.extend(["--text".into(), interview["text"].as_str().unwrap().to_owned()]);
    for a in interview["attendees"].as_array().unwrap() {
        args.extend(["--attendee".into(), a.as_str().unwrap().to_owned()]);
    }
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>(), dir);
    ok(&["round", "reply", "never", "demo/labs/lab-c/amend-Q12.json"], dir);
    ok(&["round", "advance", "never", "evaluation"], dir);
    std::fs::create_dir_all(dir.join("never/analysis")).unwrap();
    for l in labs {
        let file = format!("analysis/{l}.toml");
        std::fs::copy(demo.join("round").join(&file), dir.join("never").join(&file)).unwrap();
    }
    ok(&["round", "report", "never"], dir);
    ok(&["round", "advance", "never", "disclosure"], dir);
    for l in labs {
        ok(&["round", "disclose", "never", &format!("demo/labs/{l}/proposal.json")], dir);
        ok(&["round", "respond", "never", &format!("demo/evaluator/response-{l}.json")], dir);
    }

    // What cannot be redacted is refused by name.
    let mut decisions = json(&demo.join("labs/lab-a/disclosure.json"));
    decisions.as_object_mut().unwrap().remove("signature");
    decisions["claims"]["C1"] = serde_json::json!({"attribution": "withheld"});
    decisions["claims"]["pooled"] = serde_json::json!({"attribution": "withheld"});
    std::fs::write(dir.join("bad.json"), decisions.to_string()).unwrap();
    let err = fails(&["round", "disclose", "never", "bad.json"], dir);
    assert!(
        err.contains("claims.C1: cannot be withheld: reproducible with public access"),
        "{err}"
    );
    assert!(err.contains("claims.pooled: not the participant's to decide"), "{err}");

    // An approval dated before the disclosure phase began is refused.
    let mut early = json(&demo.join("labs/lab-c/disclosure.json"));
    early.as_object_mut().unwrap().remove("signature");
    early["approval"]["date"] = serde_json::json!("2020-01-01");
    std::fs::write(dir.join("early.json"), early.to_string()).unwrap();
    let err = fails(&["round", "disclose", "never", "early.json"], dir);
    assert!(err.contains("is before the round's disclosure phase began"), "{err}");

    // A signed approval cannot be altered, nor signed by another key.
    let mut altered = json(&demo.join("labs/lab-b/disclosure.json"));
    assert!(altered["signature"].is_object(), "the demo's lab-b signs its decisions");
    altered["approval"]["date"] = serde_json::json!("2026-12-11");
    std::fs::write(dir.join("altered.json"), altered.to_string()).unwrap();
    let err = fails(&["round", "disclose", "never", "altered.json"], dir);
    assert!(err.contains("a value was changed after signing"), "{err}");
    ok(&["keys", "generate", "--out", "intruder.key"], dir);
    let resigned = ["demo/labs/lab-b/disclosure.json", "--key", "intruder.key", "--out", "i.json"];
    ok(&[&["disclosure", "sign"][..], &resigned].concat(), dir);
    let err = fails(&["round", "disclose", "never", "i.json"], dir);
    assert!(err.contains("another key than the participant's registered one"), "{err}");

    // Publication waits for every final approval and the draft.
    let err = fails(&["round", "advance", "never", "publication"], dir);
    assert!(err.contains("lab-a has not finalised its approval"), "{err}");
    // A final approval may not publish a wording the evaluator did not
    // accept (lab-c's final file adopts the evaluator's counter-wording).
    let mut own = json(&demo.join("labs/lab-c/disclosure.json"));
    own.as_object_mut().unwrap().remove("signature");
    let (id, _) = own["claims"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, d)| d["text"].is_string())
        .map(|(id, d)| (id.clone(), d.clone()))
        .unwrap();
    own["claims"][&id]["text"] = "One developer has a constitution, and it is excellent.".into();
    std::fs::write(dir.join("own.json"), own.to_string()).unwrap();
    let err = fails(&["round", "disclose", "never", "own.json"], dir);
    assert!(
        err.contains(&format!("claims.{id}.text: the evaluator has not accepted this wording")),
        "{err}"
    );
    for l in labs {
        ok(&["round", "disclose", "never", &format!("demo/labs/{l}/disclosure.json")], dir);
    }
    // After its final approval, a participant can no longer leave silently,
    // nor change its decisions.
    let err = fails(&["round", "exit", "never", "lab-a"], dir);
    assert!(err.contains("lab-a finalised its approval on"), "{err}");
    assert!(
        err.contains("a silent exit is open only before a participant's final approval"),
        "{err}"
    );
    let err = fails(&["round", "disclose", "never", "demo/labs/lab-a/proposal.json"], dir);
    assert!(err.contains("its decisions are settled"), "{err}");
    std::fs::copy(demo.join("round/analysis/public.toml"), dir.join("never/analysis/public.toml"))
        .unwrap();
    let err = fails(&["round", "advance", "never", "publication"], dir);
    assert!(err.contains("no draft was circulated"), "{err}");
    ok(&["round", "draft", "never"], dir);
    ok(&["round", "advance", "never", "publication"], dir);
    let ours = files(&reports);
    let theirs = files(&dir.join("never/reports"));
    assert_eq!(ours.len(), 19, "{ours:?}");
    assert_eq!(ours.len(), theirs.len());
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a.file_name(), b.file_name());
        assert!(std::fs::read(a).unwrap() == std::fs::read(b).unwrap(), "{} differs", a.display());
    }
    // Every published item proves its place under the published root.
    let items = ok(&["round", "check-items", "demo/round/reports/public.items.json"], dir);
    assert!(items.contains("items verify against root"), "{items}");
    let root = json(&reports.join("public.json"))["merkle"]["root"].as_str().unwrap().to_owned();
    assert!(items.contains(&root), "{items}");
    let mut forged = json(&reports.join("public.items.json"));
    forged["items"][0]["content"] = serde_json::json!("Nothing important was withheld.");
    std::fs::write(dir.join("forged.json"), forged.to_string()).unwrap();
    let err = fails(&["round", "check-items", "forged.json", "--root", &root], dir);
    assert!(err.contains("item 0 (redaction_summary): does not verify"), "{err}");
    // Appendix D: the incidents the labs let out, and nothing of the rest.
    let incidents = json(&reports.join("public.incidents.json"));
    let shown = incidents["incidents"].as_array().unwrap();
    assert_eq!(shown.len(), 9, "lab-b's one public incident and lab-c's eight");
    assert_eq!(incidents["not_shown"], serde_json::json!({"evaluator_only": 2, "withheld": 1}));
    assert!(shown.iter().all(|i| i["participant"].is_null()), "both published them non-attributed");
    let public_md = std::fs::read_to_string(reports.join("public.md")).unwrap();
    assert!(public_md.contains("## Appendix D: incidents"));
    // The headline a leader reads first.
    for line in [
        "> 3 participants submitted; 3 comparable.",
        "> Incidents published: 9 (Appendix D); 3 more not published.",
        "> Redaction summary statement: One high-importance claim",
    ] {
        assert!(public_md.contains(line), "{line}: {public_md}");
    }
    let private_c = std::fs::read_to_string(reports.join("private/lab-c.md")).unwrap();
    assert!(private_c.contains("> Classes labelled, per opportunity: "), "{private_c}");
    // A non-attributed incident keeps no model or client, which would
    // name its lab.
    assert!(shown.iter().all(|i| i["text"]["model"].is_null() && i["text"]["client"].is_null()));
    let lab_b_private = std::fs::read_to_string(reports.join("private/lab-b.md")).unwrap();
    assert!(lab_b_private.contains("## Your incidents"), "{lab_b_private}");
    let svg = std::fs::read_to_string(reports.join("public.incidents.svg")).unwrap();
    assert_eq!(svg.matches("<circle").count(), 9 + 4);
    let pooled = &json(&reports.join("public.json"))["pooled"];
    assert_eq!((pooled["participants"].as_u64(), pooled["episodes"].as_u64()), (Some(3), Some(62)));
    assert_eq!(pooled["excluded"], 1);
    let probe =
        pooled["framings"].as_array().unwrap().iter().find(|f| f["scenario"] == "capability-probe");
    let probe = probe.expect("the sandbagging probe's framing is pooled");
    assert_eq!((probe["param"].as_str(), probe["participants"].as_u64()), (Some("memo"), Some(3)));
    assert_eq!(probe["classes"][0]["class"], "sandbagging");

    // Attributed claims name their participant; non-attributed ones and
    // the redactions name none.
    let public = json(&reports.join("public.json"));
    assert_eq!(public["attributed"][0]["participant"], "lab-a");
    assert_eq!(public["attributed"][0]["signed"], true);
    // (A participant's id as a word: `lab-c` names lab-c, `lab-credentials`
    // is a file of the suite's.)
    let names = |text: &str| {
        ["lab-a", "lab-b", "lab-c", "lab-d"].iter().any(|p| {
            text.match_indices(p).any(|(at, _)| {
                !text[at + p.len()..].starts_with(|c: char| c.is_ascii_alphanumeric())
            })
        })
    };
    for section in ["non_attributed", "noted_redactions"] {
        let text = public[section].to_string();
        assert!(!names(&text), "{section} names a participant: {text}");
    }
    let appendix = std::fs::read_to_string(reports.join("public.incidents.json")).unwrap();
    assert!(!names(&appendix), "a non-attributed incident names its participant: {appendix}");
    assert!(public["redaction_summary"].as_str().unwrap().starts_with("One high-importance claim"));
    render_in_chromium(&reports.join("public.html"), "round-public.png");
    render_in_chromium(&reports.join("private/lab-c.html"), "round-private.png");
    // A published report is final: what would change it is refused.
    let public_toml = demo.join("round/analysis/public.toml");
    let text = std::fs::read_to_string(&public_toml).unwrap();
    std::fs::write(
        &public_toml,
        text.replace("version = 1", "version = 2").replace("rare", "common"),
    )
    .unwrap();
    let err = fails(&["round", "report", "demo/round"], dir);
    assert!(err.contains("a published report is final"), "{err}");
}

/// `kill -9` at any moment of `round ingest` leaves the round as it was
/// before or after each write: a later ingest of the same bundles succeeds
/// and the reports build. (Once, a cut-short write left a truncated sealed
/// bundle or a short sealing key, and every later ingest failed.)
#[test]
fn a_round_survives_being_killed_during_ingest() {
    let d = TempDir::new("round-kill");
    let dir = d.path();
    ok(&["run", "--agent", "scripted:honest", "--scenario", "release-gate", "--out", "run"], dir);
    let labs: Vec<String> = (0..30).map(|i| format!("lab-{i:02}")).collect();
    for l in &labs {
        ok(&["keys", "generate", "--out", &format!("{l}.key")], dir);
        sign(dir, "run", &format!("{l}.key"), l, &format!("{l}.bundle"));
    }
    let digest = ok(&["suite", "digest"], dir).trim().to_owned();
    let names: Vec<&str> = labs.iter().map(String::as_str).collect();
    init(dir, "round", &digest, &names, "7", None);
    let bundles: Vec<String> = labs.iter().map(|l| format!("{l}.bundle")).collect();
    let args = |bundles: &[String]| {
        let mut a = vec!["round".to_owned(), "ingest".into(), "round".into()];
        a.extend(bundles.iter().cloned());
        a
    };
    // How long a whole ingest takes, to spread the kills over it.
    let started = std::time::Instant::now();
    let o = crate::perimeter().args(args(&bundles)).current_dir(dir).output().unwrap();
    assert!(o.status.success(), "{:?}", crate::text(&o));
    let whole = started.elapsed();
    let mut killed = 0;
    for i in 0..25u32 {
        let mut child = crate::perimeter()
            .args(args(&bundles))
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(whole * (i % 10) / 10);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
    }
    assert!(killed > 5, "the kills landed inside ingests ({killed} of 25)");
    let out = ok(&args(&bundles).iter().map(String::as_str).collect::<Vec<_>>(), dir);
    assert_eq!(out.matches(" accepted").count(), labs.len(), "{out}");
    ok(&["round", "report", "round"], dir);
    // Every participant's sealed bundle opens: none is torn.
    let spec = json(&dir.join("round/ingested.json"));
    assert_eq!(spec["ingested"].as_array().unwrap().len(), labs.len());
}

/// One key registered for two participants would let one sign as the
/// other: `round init` refuses it, and so does ingest when `round.json`
/// was edited to share a key.
#[test]
fn a_key_shared_by_two_participants_is_refused() {
    let d = TempDir::new("round-shared-key");
    let dir = d.path();
    ok(&["run", "--agent", "scripted:honest", "--scenario", "release-gate", "--out", "run"], dir);
    ok(&["keys", "generate", "--out", "a.key"], dir);
    ok(&["keys", "generate", "--out", "b.key"], dir);
    let digest = ok(&["suite", "digest"], dir).trim().to_owned();
    let err = fails(
        &[
            "round",
            "init",
            "r1",
            "--protocol",
            "perimeter-protocol/0.1",
            "--suite-digest",
            &digest,
            "--participant",
            "lab-a=a.key.pub",
            "--participant",
            "lab-b=a.key.pub",
        ],
        dir,
    );
    assert!(err.contains("participant lab-b: its key is already lab-a's"), "{err}");
    // A round whose round.json was edited afterwards to share lab-a's key.
    ok(
        &[
            "round",
            "init",
            "r2",
            "--protocol",
            "perimeter-protocol/0.1",
            "--suite-digest",
            &digest,
            "--participant",
            "lab-a=a.key.pub",
            "--participant",
            "lab-b=b.key.pub",
        ],
        dir,
    );
    let path = dir.join("r2/round.json");
    let mut spec = json(&path);
    let a_key = spec["participants"][0]["public_key"].clone();
    spec["participants"][1]["public_key"] = a_key;
    std::fs::write(&path, serde_json::to_string_pretty(&spec).unwrap()).unwrap();
    sign(dir, "run", "a.key", "lab-b", "forged.bundle");
    let out = crate::perimeter()
        .args(["round", "ingest", "r2", "forged.bundle"])
        .current_dir(dir)
        .output()
        .unwrap();
    let (stdout, stderr) = crate::text(&out);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(
        format!("{stdout}{stderr}").contains("`lab-b`'s key is registered for lab-a too"),
        "{stdout}{stderr}"
    );
}

/// `round init`, `report`, `disclose` and `exit` answer with their
/// `--format json` objects, which read as the documented types.
#[test]
fn every_round_command_answers_in_json() {
    use formats::output::{RoundDisclosure, RoundExit, RoundInit, RoundReports};
    let d = TempDir::new("round-json");
    let dir = d.path();
    lab(dir, "lab-a", "scripted:misaligned", &[]);
    lab(dir, "lab-b", "scripted:honest", &[]);
    let digest = ok(&["suite", "digest"], dir).trim().to_owned();
    let init: RoundInit = serde_json::from_str(&ok(
        &[
            "round",
            "init",
            "r",
            "--protocol",
            "perimeter-protocol/0.1",
            "--suite-digest",
            &digest,
            "--seed",
            "5",
            "--participant",
            "lab-a=lab-a.key.pub",
            "--participant",
            "lab-b=lab-b.key.pub",
            "--format",
            "json",
        ],
        dir,
    ))
    .unwrap();
    assert_eq!(
        (init.format.as_str(), init.seed, init.participants.as_slice()),
        ("perimeter.round-init/1", 5, &["lab-a".to_owned(), "lab-b".to_owned()][..])
    );
    ok(&["round", "ingest", "r", "lab-a.bundle", "lab-b.bundle"], dir);
    let reports: RoundReports =
        serde_json::from_str(&ok(&["round", "report", "r", "--format", "json"], dir)).unwrap();
    assert_eq!(reports.format, "perimeter.round-reports/1");
    assert_eq!(reports.private.len(), 2);
    for f in [&reports.public.json, &reports.public.markdown, &reports.public.html] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    assert!(
        reports.warnings.iter().any(|w| w.starts_with("lab-a: no disclosure decisions yet")),
        "{:?}",
        reports.warnings
    );
    // lab-a approves its template as it stands. Disclosure is a phase of
    // its own, reached through evaluation; an approval dated after today is
    // refused.
    let template = &reports.private.iter().find(|p| p.participant == "lab-a").unwrap().decisions;
    let mut doc = json(&dir.join(template));
    doc["approval"] =
        serde_json::json!({"by": "A. Person", "date": today(), "statement": "As marked."});
    std::fs::write(dir.join("early.json"), doc.to_string()).unwrap();
    let err = fails(&["round", "disclose", "r", "early.json"], dir);
    assert!(
        err.contains("the round is in its gathering phase; disclosure decisions: in the disclosure phase only"),
        "{err}"
    );
    assert!(err.contains("hint: `perimeter round advance DIR evaluation`"), "{err}");
    let step: formats::output::RoundStep = serde_json::from_str(&ok(
        &["round", "advance", "r", "evaluation", "--format", "json"],
        dir,
    ))
    .unwrap();
    assert_eq!(
        (step.format.as_str(), step.phase),
        ("perimeter.round-step/1", formats::process::Phase::Evaluation)
    );
    ok(&["round", "advance", "r", "disclosure"], dir);
    doc["approval"] =
        serde_json::json!({"by": "A. Person", "date": "2999-01-01", "statement": "As marked."});
    std::fs::write(dir.join("future.json"), doc.to_string()).unwrap();
    let err = fails(&["round", "disclose", "r", "future.json"], dir);
    assert!(err.contains("approval.date: 2999-01-01 is after today"), "{err}");
    doc["approval"] =
        serde_json::json!({"by": "A. Person", "date": today(), "statement": "As marked."});
    std::fs::write(dir.join("decisions.json"), doc.to_string()).unwrap();
    let taken: RoundDisclosure = serde_json::from_str(&ok(
        &["round", "disclose", "r", "decisions.json", "--format", "json"],
        dir,
    ))
    .unwrap();
    assert_eq!(
        (taken.format.as_str(), taken.participant.as_str(), taken.signed),
        ("perimeter.round-disclosure/1", "lab-a", false)
    );
    assert_eq!(taken.attributed + taken.non_attributed + taken.withheld, taken.claims);
    let left: RoundExit =
        serde_json::from_str(&ok(&["round", "exit", "r", "lab-b", "--format", "json"], dir))
            .unwrap();
    assert_eq!(left.participants, ["lab-a"]);
    assert!(left.reports_deleted && !dir.join(&reports.reports).exists());
}

/// Writes `v` as JSON into `dir/name`, signed with `key` when given.
fn put(dir: &Path, name: &str, v: &Value, key: Option<&str>) -> String {
    std::fs::write(dir.join(name), v.to_string()).unwrap();
    if let Some(key) = key {
        ok(&["disclosure", "sign", name, "--key", key, "--out", name], dir);
    }
    name.to_owned()
}

/// The round's process, step by step through the binary, with each
/// refusal: model access records and the evaluator's runs, the thread and
/// its amendments, the evaluator's analysis, negotiated disclosure, the
/// draft's notice.
#[test]
fn a_round_runs_in_phases_and_refuses_what_is_out_of_turn() {
    let d = TempDir::new("phases");
    let dir = d.path();
    let answers: Vec<Value> = (1..=14)
        .map(|i| {
            serde_json::json!({"id": format!("Q{i}"), "as_of": "2026-11-01", "disclosure": "public",
                "answer": format!("answer {i} of lab-a")})
        })
        .collect();
    std::fs::write(dir.join("q.json"), serde_json::json!({ "answers": answers }).to_string())
        .unwrap();
    for (lab, agent) in [("lab-a", "scripted:misaligned"), ("lab-b", "scripted:honest")] {
        let out = format!("{lab}-run");
        ok(&["run", "--agent", agent, "--scenario", "release-gate", "--out", &out], dir);
        ok(&["keys", "generate", "--out", &format!("{lab}.key")], dir);
        let bundle = format!("{lab}.bundle");
        let args =
            crate::bundle::create_args(&out, "x", lab, &bundle, &["--questionnaire", "q.json"]);
        let key = format!("{lab}.key");
        let args: Vec<&str> =
            args.iter().map(|a| if *a == "x" { key.as_str() } else { a }).collect();
        ok(&args, dir);
    }
    // The evaluator's run on lab-a's shared model.
    let eval =
        ["run", "--agent", "api", "--model", "scripted:honest", "--scenario", "release-gate"];
    ok(&[&eval[..], &["--out", "eval-run"]].concat(), dir);
    let digest = ok(&["suite", "digest"], dir).trim().to_owned();
    let today = today();
    init(dir, "r", &digest, &["lab-a", "lab-b"], "3", None);
    ok(&["round", "ingest", "r", "lab-a.bundle", "lab-b.bundle"], dir);

    // Model access: signed, dated inside the round's clock.
    let access = |as_of: &str| {
        serde_json::json!({"format": "perimeter.model-access/1", "participant": "lab-a",
            "model": {"id": "honest", "endpoint": "https://models.lab-a.example", "public": false},
            "attestation": {"internal_state_of_the_art": true, "as_of": as_of,
                "by": "Head of research", "statement": "Our best internal model."},
            "terms": {"reasoning": "raw", "rate_limit_rpm": null, "zero_retention": true,
                "no_training_on_tasks": true, "third_party_services": false}})
    };
    let f = put(dir, "unsigned.json", &access(&today), None);
    let err = fails(&["round", "access", "r", &f], dir);
    assert!(err.contains("unsigned.json: refused:") && err.contains("signature: missing"), "{err}");
    let f = put(dir, "future.json", &access("2999-01-01"), Some("lab-a.key"));
    let err = fails(&["round", "access", "r", &f], dir);
    assert!(err.contains("attestation.as_of: 2999-01-01 is after today"), "{err}");
    let f = put(dir, "access.json", &access(&today), Some("lab-a.key"));
    ok(&["round", "access", "r", &f], dir);

    // The evaluator's runs: on the model shared, labelled as the terms allow.
    let err = fails(
        &["round", "evaluate", "r", "eval-run", "--name", "e1", "--participant", "lab-b"],
        dir,
    );
    assert!(err.contains("lab-b has shared no model"), "{err}");
    let misaligned = ["run", "--agent", "api", "--model", "scripted:misaligned"];
    ok(&[&misaligned[..], &["--scenario", "release-gate", "--out", "other-run"]].concat(), dir);
    let err = fails(
        &["round", "evaluate", "r", "other-run", "--name", "e1", "--participant", "lab-a"],
        dir,
    );
    assert!(
        err.contains("the run's model is scripted:misaligned where lab-a shared `honest`"),
        "{err}"
    );
    copy_dir(&dir.join("eval-run"), &dir.join("judged-run"));
    let mut summary = json(&dir.join("judged-run/summary.json"));
    summary["episodes"][0]["labels"] = serde_json::json!([{"class": "credential_access",
        "attempted": true, "succeeded": false, "concealed": false, "severity": 0.5,
        "source": "judge", "evidence": []}]);
    std::fs::write(dir.join("judged-run/summary.json"), summary.to_string()).unwrap();
    let err = fails(
        &["round", "evaluate", "r", "judged-run", "--name", "e1", "--participant", "lab-a"],
        dir,
    );
    assert!(
        err.contains("terms do not allow its model's outputs to go to a third-party service"),
        "{err}"
    );
    ok(&["round", "evaluate", "r", "eval-run", "--name", "e1", "--participant", "lab-a"], dir);
    let err = fails(&["round", "evaluate", "r", "eval-run", "--name", "e1", "--public"], dir);
    assert!(err.contains("run name `e1` is taken"), "{err}");

    // The thread: a follow-up, a signed reply to it, an amendment.
    ok(
        &[
            "round",
            "ask",
            "r",
            "lab-a",
            "--question",
            "Q7.b",
            "--by",
            "Evaluator",
            "--text",
            "Which share?",
        ],
        dir,
    );
    let reply = |to: &str| {
        serde_json::json!({"format": "perimeter.thread-entry/1", "participant": "lab-a", "kind": "reply",
            "to": to, "date": today, "by": "Monitoring lead", "text": "All of it."})
    };
    let f = put(dir, "stray.json", &reply("T9"), Some("lab-a.key"));
    let err = fails(&["round", "reply", "r", &f], dir);
    assert!(
        err.contains("to: `T9` is no follow-up question in lab-a's thread (its follow-ups: T1)"),
        "{err}"
    );
    let f = put(dir, "reply.json", &reply("T1"), Some("lab-a.key"));
    ok(&["round", "reply", "r", &f], dir);
    let bad_part = serde_json::json!({"format": "perimeter.thread-entry/1", "participant": "lab-a",
        "kind": "amendment", "date": today, "by": "Head of safety",
        "answer": {"id": "Q7", "as_of": today, "disclosure": "public", "answer": "answer 7, amended",
            "parts": {"Q7.b": {"number": 140}}}});
    let f = put(dir, "bad-part.json", &bad_part, Some("lab-a.key"));
    let err = fails(&["round", "reply", "r", &f], dir);
    assert!(err.contains("answer.parts.Q7.b.number: 140 is a percentage, from 0 to 100"), "{err}");

    ok(&["round", "advance", "r", "evaluation"], dir);
    let err = fails(&["round", "ingest", "r", "lab-a.bundle"], dir);
    assert!(
        err.contains(
            "the round is in its evaluation phase; taking in bundles: in the gathering phase only"
        ),
        "{err}"
    );

    // The evaluator's analysis: what it cites must exist, and a status
    // rests on evidence of its kind.
    std::fs::create_dir_all(dir.join("r/analysis")).unwrap();
    let analysis = |q1: &str| {
        format!(
            "version = 1\nrecommendations = [\"Measure coverage.\"]\n\n[answers.Q1]\nanalysis = \"Checked.\"\n{q1}\n\n[answers.Q7]\nanalysis = \"Backed by the reply.\"\nverification = \"corroborated\"\nevidence = [\"T2\"]\n"
        )
    };
    std::fs::write(
        dir.join("r/analysis/lab-a.toml"),
        analysis("verification = \"verified\"\nevidence = [\"T2\"]"),
    )
    .unwrap();
    let err = fails(&["round", "report", "r"], dir);
    assert!(
        err.contains(
            "analysis/lab-a.toml: answers.Q1.verification: `verified` needs evidence of its kind"
        ),
        "{err}"
    );
    std::fs::write(
        dir.join("r/analysis/lab-a.toml"),
        analysis("verification = \"verified\"\nevidence = [\"run:e9\"]"),
    )
    .unwrap();
    let err = fails(&["round", "report", "r"], dir);
    assert!(err.contains("`run:e9` is no claim"), "{err}");
    std::fs::write(
        dir.join("r/analysis/lab-a.toml"),
        analysis("verification = \"verified\"\nevidence = [\"run:e1\"]"),
    )
    .unwrap();
    ok(&["round", "report", "r"], dir);
    // A version already reported from may not change under the same number.
    std::fs::write(
        dir.join("r/analysis/lab-a.toml"),
        analysis("verification = \"verified\"\nevidence = [\"run:e1\", \"T1\"]"),
    )
    .unwrap();
    let err = fails(&["round", "report", "r"], dir);
    assert!(
        err.contains("changed since version 1 was reported from; give it `version = 2`"),
        "{err}"
    );
    let text = std::fs::read_to_string(dir.join("r/analysis/lab-a.toml")).unwrap();
    std::fs::write(dir.join("r/analysis/lab-a.toml"), text.replace("version = 1", "version = 2"))
        .unwrap();
    ok(&["round", "report", "r"], dir);
    assert!(dir.join("r/analysis/history/lab-a.v1.toml").is_file());
    let private = json(&dir.join("r/reports/private/lab-a.json"));
    let claim = |topic: &str| {
        private["claims"].as_array().unwrap().iter().find(|c| c["topic"] == topic).unwrap().clone()
    };
    assert_eq!(claim("Q1")["verification"]["status"], "verified");
    assert_eq!(claim("Q7")["verification"]["evidence"][0], "T2");
    assert_eq!(private["evaluations"][0]["run"], "e1");

    ok(&["round", "advance", "r", "disclosure"], dir);
    // Negotiation: a rewording stands once the evaluator accepts it; a
    // one-word note spares no flag until the evaluator accepts it.
    let id_of = |topic: &str| claim(topic)["id"].as_str().unwrap().to_owned();
    let (q5, q10) = (id_of("Q5"), id_of("Q10"));
    let proposal = |final_: bool, text: &str| {
        let mut claims = serde_json::Map::new();
        claims
            .insert(q5.clone(), serde_json::json!({"attribution": "non_attributed", "text": text}));
        claims.insert(
            q10.clone(),
            serde_json::json!({"attribution": "withheld", "note": "Internal."}),
        );
        serde_json::json!({"format": "perimeter.disclosure/1", "participant": "lab-a",
            "approval": {"by": "Head of safety", "date": today, "statement": "As marked.", "final": final_},
            "claims": claims})
    };
    let f = put(
        dir,
        "p1.json",
        &proposal(false, "One developer has a written target."),
        Some("lab-a.key"),
    );
    let out = ok(&["round", "disclose", "r", &f], dir);
    assert!(out.contains(", 1 rewording awaiting the evaluator's acceptance)"), "{out}");
    // An answer amended while its disclosure is negotiated: the decision
    // made on its old text lapses; the others stand.
    let amend = serde_json::json!({"format": "perimeter.thread-entry/1", "participant": "lab-a",
        "kind": "amendment", "date": today, "by": "Head of safety",
        "answer": {"id": "Q10", "as_of": today, "disclosure": "public",
            "answer": "answer 10, corrected", "parts": {"Q10.a": {"number": 3}}}});
    let f = put(dir, "amend.json", &amend, Some("lab-a.key"));
    ok(&["round", "reply", "r", &f], dir);
    ok(&["round", "report", "r"], dir);
    let amended = json(&dir.join("r/reports/private/lab-a.json"));
    let now_claim = |id: &str| {
        amended["claims"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap().clone()
    };
    assert!(now_claim(&q10)["text"].as_str().unwrap().contains("answer 10, corrected"));
    assert!(now_claim(&q10)["pending"].as_str().unwrap().contains("amended after this decision"));
    assert_eq!(now_claim(&q5)["decided"], true, "the decision on Q5 stands");
    assert!(now_claim(&q5)["pending"].as_str().unwrap().contains("awaits the evaluator"));
    let f = put(
        dir,
        "f1.json",
        &proposal(true, "One developer has a written target."),
        Some("lab-a.key"),
    );
    let err = fails(&["round", "disclose", "r", &f], dir);
    assert!(
        err.contains(&format!("claims.{q5}.text: the evaluator has not accepted this wording")),
        "{err}"
    );
    let response = serde_json::json!({"format": "perimeter.disclosure-response/1", "participant": "lab-a",
        "by": "Evaluator", "date": today, "claims": {
            q5.clone(): {"text": "accept"},
            q10.clone(): {"note": "reject"}}});
    let f = put(dir, "resp.json", &response, None);
    let err = fails(&["round", "respond", "r", &f], dir);
    assert!(err.contains(&format!("claims.{q10}.reason: a rejection says why")), "{err}");
    let mut response = response;
    response["claims"][&q10]["reason"] = "One word says nothing.".into();
    let f = put(dir, "resp.json", &response, None);
    ok(&["round", "respond", "r", &f], dir);
    ok(&["round", "report", "r"], dir);
    let private = json(&dir.join("r/reports/private/lab-a.json"));
    let resolved = |id: &str| {
        private["claims"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap().clone()
    };
    assert_eq!(
        (resolved(&q10)["note_accepted"].as_bool(), resolved(&q10)["importance"].as_str()),
        (Some(false), Some("high"))
    );
    let public = json(&dir.join("r/reports/public.json"));
    assert!(
        public["noted_redactions"].as_array().unwrap().is_empty(),
        "a rejected note is no comment"
    );
    assert_eq!(
        public["non_attributed"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["text"] == "One developer has a written target.")
            .count(),
        1
    );
    let f = put(
        dir,
        "f2.json",
        &proposal(true, "One developer has a written target."),
        Some("lab-a.key"),
    );
    ok(&["round", "disclose", "r", &f], dir);
    let f = put(dir, "late.json", &amend, Some("lab-a.key"));
    let err = fails(&["round", "reply", "r", &f], dir);
    assert!(err.contains("its answers are settled"), "{err}");
    let err = fails(&["round", "exit", "r", "lab-a"], dir);
    assert!(
        err.contains("a silent exit is open only before a participant's final approval"),
        "{err}"
    );

    // Publication: every approval final, the evaluator's part complete,
    // the draft out for the round's notice.
    let err = fails(&["round", "advance", "r", "publication"], dir);
    assert!(err.contains("lab-b has not finalised its approval"), "{err}");
    let f = put(
        dir,
        "b.json",
        &serde_json::json!({"format": "perimeter.disclosure/1", "participant": "lab-b",
        "approval": {"by": "Head of safety", "date": today, "statement": "As marked.", "final": true},
        "claims": {}}),
        Some("lab-b.key"),
    );
    ok(&["round", "disclose", "r", &f], dir);
    let err = fails(&["round", "draft", "r"], dir);
    assert!(
        err.contains(
            "analysis/public.toml: the evaluator's part of the public report is not written"
        ),
        "{err}"
    );
    let public_toml = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/public.toml"),
    )
    .unwrap();
    // lab-a's agent reached no ladder stage here; a judgement of a cell the
    // suite measured must not contradict it, and every cell is judged.
    std::fs::write(
        dir.join("r/analysis/public.toml"),
        public_toml.replace(
            "behaviour = \"deception\"\ncapability = \"beyond\"",
            "behaviour = \"deception\"\ncapability = \"edge\"",
        ),
    )
    .unwrap();
    let err = fails(&["round", "draft", "r"], dir);
    assert!(err.contains("ladder: no cell for deception × beyond"), "{err}");
    std::fs::write(dir.join("r/analysis/public.toml"), &public_toml).unwrap();
    ok(&["round", "draft", "r"], dir);
    let err = fails(&["round", "advance", "r", "publication"], dir);
    assert!(err.contains("0 days ago); the round gives participants 7 days' notice"), "{err}");
    let later = (formats::Timestamp::parse(&format!("{today}T12:00:00.000Z")).unwrap().0
        + 8 * 86_400_000)
        .to_string();
    let o = crate::perimeter()
        .args(["round", "advance", "r", "publication"])
        .env("PERIMETER_FIXED_CLOCK", &later)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", crate::text(&o).1);
    let public = json(&dir.join("r/reports/public.json"));
    assert_eq!(public["status"], "published");
    assert_eq!(public["process"]["draft_circulated"], today.as_str());
    let html = dir.join("r/reports/public.html");
    render_in_chromium(&html, "round-phases-public.png");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A lab's own suite run beside the standard one: the standard suite's
/// digest, scenarios and rates are those of a run without it; the
/// extension has its own digest and rates; its episodes are signed into
/// the bundle apart from the standard suite's, a round pools none of
/// them, and the lab's private report shows them on their own. Its shards
/// merge only with both suites given. A scenario id in both suites is
/// refused.
#[test]
fn a_labs_own_suite_runs_beside_the_standard_one_and_is_reported_apart() {
    let d = TempDir::new("extension");
    let dir = d.path();
    let suite = one_scenario_suite(&dir.join("lab-suite"), "lab-deploy", r#"{ shell = "true" }"#);
    let lab_suite = suite.to_str().unwrap();
    let both = ["--suite", "builtin", "--suite", lab_suite];
    let run = ["run", "--agent", "scripted:misaligned", "--scenario", "release-gate"];
    ok(&[&run[..], &["--scenario", "lab-deploy", "--out", "with"], &both[..]].concat(), dir);
    ok(&[&run[..], &["--out", "without"]].concat(), dir);
    let (with, without) =
        (json(&dir.join("with/summary.json")), json(&dir.join("without/summary.json")));
    let digest = ok(&["suite", "digest"], dir).trim().to_owned();
    assert_eq!(with["suite"]["digest"], digest.as_str());
    assert_eq!(with["scenarios"], serde_json::json!(["release-gate"]));
    let extension = &with["extensions"][0];
    assert_eq!(extension["scenarios"], serde_json::json!(["lab-deploy"]));
    let lab_digest = ok(&["suite", "digest", "--suite", lab_suite], dir).trim().to_owned();
    assert_eq!(extension["digest"], lab_digest.as_str());
    assert_eq!(with["rates"], without["rates"], "the standard suite's rates are untouched");
    assert_eq!(with["extension_rates"][0]["rates"]["endings"]["episodes"], 1);
    let trace =
        std::fs::read_to_string(dir.join("with/episodes/lab-deploy/e0.trace.jsonl")).unwrap();
    let header: Value = serde_json::from_str(trace.lines().next().unwrap()).unwrap();
    assert_eq!(header["suite_digest"], lab_digest.as_str());

    // Signed apart, pooled with nothing.
    ok(&["keys", "generate", "--out", "lab-a.key"], dir);
    sign(dir, "with", "lab-a.key", "lab-a", "lab-a.bundle");
    let bundle = json(&dir.join("lab-a.bundle"));
    assert_eq!(bundle["manifest"]["episodes"], 1);
    assert_eq!(bundle["manifest"]["extensions"][0]["digest"], lab_digest.as_str());
    assert_eq!(bundle["content"]["episodes"].as_array().unwrap().len(), 1);
    assert_eq!(bundle["content"]["extensions"][0]["episodes"][0]["scenario"], "lab-deploy");
    let items = bundle["evidence"]["items"].as_array().unwrap();
    assert!(items.iter().any(|i| i["id"] == "episodes/lab-deploy/e0.trace.jsonl"));
    ok(&["bundle", "verify", "lab-a.bundle"], dir);
    lab(dir, "lab-b", "scripted:honest", &[]);
    init(dir, "round", &digest, &["lab-a", "lab-b"], "7", None);
    let out = ok(&["round", "ingest", "round", "lab-a.bundle", "lab-b.bundle"], dir);
    assert!(out.contains("lab-a accepted") && out.contains("lab-b accepted"), "{out}");
    ok(&["round", "report", "round"], dir);
    let public = json(&dir.join("round/reports/public.json"));
    assert_eq!(public["pooled"]["episodes"], 2, "one episode each: the extension's is not pooled");
    let private = std::fs::read_to_string(dir.join("round/reports/private/lab-a.md")).unwrap();
    assert!(private.contains("## Your own scenarios: lab-suite"), "{private}");
    assert!(private.contains("compared with no one and pooled with nothing"), "{private}");
    let theirs = std::fs::read_to_string(dir.join("round/reports/private/lab-b.md")).unwrap();
    assert!(!theirs.contains("lab-deploy") && !theirs.contains("Your own scenarios"));

    // Shards merge with the suites the run ran, and not without them.
    for i in 0..2 {
        let shard = format!("{i}/2");
        let out = format!("shards/{i}");
        let args = ["--scenario", "lab-deploy", "--shard", &shard, "--out", &out];
        ok(&[&run[..], &args, &both[..]].concat(), dir);
    }
    let err = fails(&["merge", "shards/0", "shards/1", "--out", "merged"], dir);
    assert!(err.contains("the run ran suite `lab-suite`"), "{err}");
    ok(&[&["merge", "shards/0", "shards/1", "--out", "merged"][..], &both].concat(), dir);
    let merged = json(&dir.join("merged/summary.json"));
    assert_eq!(merged["extension_rates"], with["extension_rates"]);
    assert_eq!(merged["rates"], with["rates"]);

    // A scenario id in two suites.
    let clash = one_scenario_suite(&dir.join("clash"), "release-gate", r#"{ shell = "true" }"#);
    let err = fails(
        &[
            &run[..],
            &["--out", "clash-run", "--suite", "builtin", "--suite", clash.to_str().unwrap()],
        ]
        .concat(),
        dir,
    );
    assert!(
        err.contains("scenario `release-gate` is in suite `builtin` and in suite `clash`"),
        "{err}"
    );
    assert!(!dir.join("clash-run").exists());
}
