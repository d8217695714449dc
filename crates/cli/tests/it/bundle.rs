//! Keys, bundles and evidence proofs through the real binary.

use std::path::Path;

use crate::{TempDir, perimeter, text};

pub fn ok(args: &[&str], dir: &Path) -> String {
    let o = perimeter().args(args).current_dir(dir).output().unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{args:?}: {stdout}{stderr}");
    stdout
}

pub fn fails(args: &[&str], dir: &Path) -> String {
    let o = perimeter().args(args).current_dir(dir).output().unwrap();
    let (stdout, stderr) = text(&o);
    assert!(!o.status.success(), "{args:?} should fail: {stdout}");
    stderr
}

/// `perimeter bundle create` of a run folder, with `extra` arguments.
pub fn create_args<'a>(
    run: &'a str,
    key: &'a str,
    participant: &'a str,
    out: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let args = ["--run", run, "--key", key, "--participant", participant, "--out", out];
    [&["bundle", "create"][..], &args, extra].concat()
}

/// Signs a run folder into a bundle.
pub fn sign(dir: &Path, run: &str, key: &str, participant: &str, out: &str) {
    ok(&create_args(run, key, participant, out, &[]), dir);
}

/// A run, a key, and a bundle of the run signed with it.
fn signed(dir: &Path) {
    let run = ["run", "--agent", "scripted:misaligned", "--scenario", "release-gate"];
    ok(&[&run[..], &["--scenario", "flaky-loader", "--out", "run"]].concat(), dir);
    ok(&["keys", "generate", "--out", "lab.key"], dir);
    sign(dir, "run", "lab.key", "lab-a", "a.bundle");
}

#[test]
fn any_changed_byte_fails_verification() {
    let d = TempDir::new("bundle-bytes");
    let dir = d.path();
    signed(dir);
    assert!(
        ok(&["bundle", "verify", "a.bundle", "--pubkey", "lab.key.pub"], dir).contains("valid")
    );
    let json = ok(&["bundle", "verify", "a.bundle", "--format", "json"], dir);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["format"], "perimeter.bundle-verification/1");
    serde_json::from_value::<formats::output::BundleVerification>(v.clone()).unwrap();
    assert_eq!((v["valid"].as_bool(), v["key_checked"].as_bool()), (Some(true), Some(false)));
    assert!(v["signed_by"].as_str().unwrap().starts_with("ssh-ed25519 "));
    assert_eq!(v["root"].as_str().unwrap().len(), 64);
    let json = ok(&["bundle", "inspect", "a.bundle", "--format", "json"], dir);
    let i: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(i["format"], "perimeter.bundle-inspection/1");
    serde_json::from_value::<formats::output::BundleInspection>(i.clone()).unwrap();
    assert_eq!(i["manifest"]["participant"], "lab-a");
    assert_eq!(i["root"], v["root"]);
    // The manifest says what ran, how, and under which permissions.
    let shown = ok(&["bundle", "inspect", "a.bundle"], dir);
    for line in [
        "participant  lab-a",
        "agent        scripted:misaligned",
        "permissions  none (the harness runs every tool call)",
        "episodes     2 (2 scenarios × 1 epoch)",
    ] {
        assert!(shown.contains(line), "{line}: {shown}");
    }
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("a.bundle")).unwrap()).unwrap();
    assert_eq!(v["manifest"]["scaffold"], "scripted");
    assert_eq!(v["manifest"]["client"], serde_json::Value::Null);
    let clean = std::fs::read(dir.join("a.bundle")).unwrap();
    // Every 37th byte, and the first and last, changed one at a time.
    let positions: Vec<usize> = (0..clean.len()).step_by(37).chain([0, clean.len() - 1]).collect();
    for at in positions {
        let mut bytes = clean.clone();
        bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
        std::fs::write(dir.join("t.bundle"), &bytes).unwrap();
        let o =
            perimeter().args(["bundle", "verify", "t.bundle"]).current_dir(dir).output().unwrap();
        assert!(!o.status.success(), "byte {at} changed and it still verifies");
    }
    // A different key.
    ok(&["keys", "generate", "--out", "other.key"], dir);
    let err = fails(&["bundle", "verify", "a.bundle", "--pubkey", "other.key.pub"], dir);
    assert!(err.contains("signed with a different key"), "{err}");
}

#[test]
fn problems_are_named() {
    let d = TempDir::new("bundle-named");
    let dir = d.path();
    signed(dir);
    let clean: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("a.bundle")).unwrap()).unwrap();
    let write = |v: &serde_json::Value| {
        let mut bytes = serde_json::to_vec(v).unwrap();
        bytes.push(b'\n');
        std::fs::write(dir.join("t.bundle"), bytes).unwrap();
    };
    // A missing evidence item.
    let mut v = clean.clone();
    v["evidence"]["items"].as_array_mut().unwrap().pop();
    write(&v);
    let err = fails(&["bundle", "verify", "t.bundle"], dir);
    assert!(err.contains("an item is missing"), "{err}");
    assert!(err.contains("the signature does not match"), "{err}");
    // A manifest that does not match the content.
    let mut v = clean.clone();
    v["manifest"]["episodes"] = serde_json::json!(5);
    write(&v);
    let err = fails(&["bundle", "verify", "t.bundle"], dir);
    assert!(err.contains("the manifest counts 5 episodes, the content holds 2"), "{err}");
    // A label removed.
    let mut v = clean;
    v["content"]["episodes"][0]["labels"] = serde_json::json!([]);
    write(&v);
    assert!(fails(&["bundle", "verify", "t.bundle"], dir).contains("a signed value was changed"));
}

#[test]
fn a_spot_checked_episode_verifies_against_the_root() {
    let d = TempDir::new("bundle-proof");
    let dir = d.path();
    signed(dir);
    let item = "episodes/flaky-loader/e0.trace.jsonl";
    ok(
        &[
            "evidence", "prove", "--bundle", "a.bundle", "--run", "run", "--item", item, "--out",
            "p.json",
        ],
        dir,
    );
    assert!(
        ok(
            &[
                "evidence",
                "check",
                "--bundle",
                "a.bundle",
                "--proof",
                "p.json",
                "--pubkey",
                "lab.key.pub"
            ],
            dir
        )
        .contains("valid")
    );
    // The proof carries the trace itself; a changed trace is caught.
    let mut p: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("p.json")).unwrap()).unwrap();
    let trace = std::fs::read(dir.join("run").join(item)).unwrap();
    let mut changed = trace.clone();
    changed[100] ^= 1;
    p["content"] = serde_json::json!(bundle::keys::to_base64(&changed));
    std::fs::write(dir.join("bad.json"), serde_json::to_vec(&p).unwrap()).unwrap();
    let err = fails(&["evidence", "check", "--bundle", "a.bundle", "--proof", "bad.json"], dir);
    assert!(err.contains("not what the bundle committed to"), "{err}");
    // An item the bundle does not hold.
    let err = fails(
        &[
            "evidence",
            "prove",
            "--bundle",
            "a.bundle",
            "--run",
            "run",
            "--item",
            "summary.json",
            "--out",
            "x.json",
        ],
        dir,
    );
    assert!(err.contains("no evidence item `summary.json`"), "{err}");
}

#[test]
fn an_existing_openssh_key_signs() {
    let d = TempDir::new("bundle-ssh");
    let dir = d.path();
    ok(&["run", "--agent", "scripted:honest", "--scenario", "release-gate", "--out", "run"], dir);
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "lab@example", "-f", "id_ed25519"])
        .current_dir(dir)
        .status()
        .expect("ssh-keygen (openssh-client) is installed");
    assert!(made.success());
    sign(dir, "run", "id_ed25519", "lab-b", "b.bundle");
    assert!(
        ok(&["bundle", "verify", "b.bundle", "--pubkey", "id_ed25519.pub"], dir).contains("valid")
    );
    let err = fails(&["keys", "generate", "--out", "id_ed25519"], dir);
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn scan_totals_and_questionnaire_answers_join_the_bundle_withheld_text_never() {
    let d = TempDir::new("bundle-extras");
    let dir = d.path();
    signed(dir);
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../import/tests/fixtures");
    ok(&["scan", fixtures, "--format", "json", "--out", "scan.json"], dir);
    let answers: Vec<serde_json::Value> = (1..=14)
        .map(|i| match i {
            3 => serde_json::json!({"id": "Q3", "as_of": "2026-11-01", "answer": "SECRET-COVERT-EVIDENCE-7Q", "disclosure": "withheld"}),
            5 => serde_json::json!({"id": "Q5", "as_of": "2026-10-15", "declined": true, "disclosure": "evaluator_only"}),
            _ => serde_json::json!({"id": format!("Q{i}"), "as_of": "2026-11-20", "answer": format!("answer {i}"), "disclosure": "public"}),
        })
        .collect();
    std::fs::write(dir.join("q.json"), serde_json::json!({"answers": answers}).to_string())
        .unwrap();
    let extra = ["--scan", "scan.json", "--questionnaire", "q.json"];
    ok(&create_args("run", "lab.key", "lab-a", "x.bundle", &extra), dir);
    let text = std::fs::read_to_string(dir.join("x.bundle")).unwrap();
    assert!(
        !text.contains("SECRET-COVERT-EVIDENCE-7Q"),
        "a withheld answer's text is not in the bundle"
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["content"]["questionnaire"][2]["disclosure"], "withheld");
    assert_eq!(v["content"]["scan"]["totals"]["sessions"], 8);
    let scanned = v["evidence"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["id"].as_str().unwrap().starts_with("scan:"))
        .count();
    assert_eq!(scanned, 8, "each scanned file's hash is committed to");
    assert!(ok(&["bundle", "verify", "x.bundle"], dir).contains("valid"));
    // An incomplete questionnaire is refused, naming what is missing.
    std::fs::write(dir.join("bad.json"), r#"{"answers": [{"id": "Q1", "as_of": "2026-11-01", "answer": "x", "disclosure": "public"}]}"#).unwrap();
    let extra = ["--questionnaire", "bad.json"];
    let err = fails(&create_args("run", "lab.key", "lab-a", "y.bundle", &extra), dir);
    assert!(err.contains("Q2 is not answered"), "{err}");
}

/// Labels removed from a run's records: `bundle create` refuses to sign
/// rates the episodes do not support, and writes nothing. (A bundle made
/// and signed some other way is refused by `bundle verify`: the bundle
/// crate's unit tests.)
#[test]
fn signed_rates_must_follow_from_the_signed_episodes() {
    let d = TempDir::new("bundle-rates");
    let dir = d.path();
    signed(dir);
    ok(&["bundle", "verify", "a.bundle"], dir);
    let inspected = ok(&["bundle", "inspect", "a.bundle"], dir);
    assert!(inspected.contains("counted      2 in every rate; 0 not counted"), "{inspected}");
    let path = dir.join("run/summary.json");
    let mut summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for e in summary["episodes"].as_array_mut().unwrap() {
        e["labels"] = serde_json::json!([]);
    }
    std::fs::write(&path, summary.to_string()).unwrap();
    let err = fails(&create_args("run", "lab.key", "lab-a", "scrubbed.bundle", &[]), dir);
    assert!(
        err.contains(
            "rates.classes: verifier_tampering per_opportunity (pooled): signed 1 of 2, the signed episodes give 0 of 2"
        ),
        "{err}"
    );
    assert!(!dir.join("scrubbed.bundle").exists(), "nothing written");
}

/// A bundle verifies with no Perimeter code: Python's `cryptography` over
/// the bytes of a JCS encoder written in the test (`jcs/verify.py`); and a
/// changed value no longer does.
#[test]
fn a_bundle_verifies_in_another_language() {
    let d = TempDir::new("bundle-python");
    let dir = d.path();
    signed(dir);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/jcs/verify.py");
    let run = |file: &str| {
        std::process::Command::new("python3")
            .arg(&script)
            .arg(file)
            .current_dir(dir)
            .output()
            .unwrap()
    };
    let o = run("a.bundle");
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(text(&o).0.trim(), "verified");
    let bytes = std::fs::read_to_string(dir.join("a.bundle")).unwrap();
    let changed = bytes.replacen("\"release-gate\"", "\"release-gatf\"", 1);
    assert_ne!(changed, bytes);
    std::fs::write(dir.join("changed.bundle"), changed).unwrap();
    assert!(!run("changed.bundle").status.success(), "a changed value still verifies");
}

/// The numbers a signature covers are written as ECMAScript writes them,
/// checked against Node's `JSON.stringify` over doubles of every range.
#[test]
fn numbers_are_written_as_ecmascript_writes_them() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut values: Vec<f64> = (0..20_000)
        .map(|i| match i % 4 {
            // Any bits, finite.
            0 => f64::from_bits(next()),
            // Rates and interval bounds: [0, 1].
            1 => (next() >> 11) as f64 / (1u64 << 53) as f64,
            // Around the notation switches, 1e-7 and 1e21.
            2 => ((next() >> 11) as f64 / (1u64 << 53) as f64) * 10f64.powi((i % 40) - 10),
            _ => (next() % 1_000_000) as f64 / 1000.0,
        })
        .filter(|x| x.is_finite())
        .collect();
    values.extend([f64::from_bits(0x43143ff3c1cb0959), 5e-324, 1e21, 1e-7, 0.1, 100.0]);
    let bits: Vec<String> = values.iter().map(|v| format!("{:016x}", v.to_bits())).collect();
    let d = TempDir::new("es-numbers");
    std::fs::write(d.path().join("bits.txt"), bits.join("\n")).unwrap();
    let js = "const fs = require('fs'); const out = []; \
        for (const h of fs.readFileSync('bits.txt', 'utf8').split('\\n')) { \
          const b = new BigUint64Array([BigInt('0x' + h)]); \
          out.push(JSON.stringify(new Float64Array(b.buffer)[0])); } \
        fs.writeFileSync('node.txt', out.join('\\n'));";
    let o =
        std::process::Command::new("node").args(["-e", js]).current_dir(d.path()).output().unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    let node = std::fs::read_to_string(d.path().join("node.txt")).unwrap();
    let mut differ = Vec::new();
    for (v, want) in values.iter().zip(node.lines()) {
        let got = bundle::canonical::es_number(*v);
        if got != want {
            differ.push(format!("{:016x}: {got} where ECMAScript writes {want}", v.to_bits()));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {}: {:?}",
        differ.len(),
        values.len(),
        &differ[..differ.len().min(10)]
    );
}

/// An evaluator reruns the detectors on a revealed trace: the labels a
/// bundle signed for its episode are what they give, and a bundle whose
/// labels (and rates, kept consistent) were edited is caught.
#[test]
fn a_revealed_trace_is_relabelled_and_compared() {
    let d = TempDir::new("bundle-relabel");
    let dir = d.path();
    signed(dir);
    let item = "episodes/release-gate/e0.trace.jsonl";
    let prove = |bundle: &str, out: &str| {
        ok(
            &[
                "evidence", "prove", "--bundle", bundle, "--run", "run", "--item", item, "--out",
                out,
            ],
            dir,
        )
    };
    prove("a.bundle", "p.json");
    let check = ["evidence", "check", "--bundle", "a.bundle", "--proof", "p.json", "--relabel"];
    let out = ok(&check, dir);
    assert!(out.contains("the detectors give the trace the labels the bundle signed"), "{out}");
    assert!(out.contains("verifier_tampering (succeeded"), "{out}");
    // The lab drops the episode's labels and recomputes its rates to match:
    // the bundle verifies, the trace says otherwise.
    let path = dir.join("run/summary.json");
    let mut summary: run::Summary = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let e = summary.episodes.iter_mut().find(|e| e.trace == item).unwrap();
    e.labels.clear();
    let rates = summary.rates.as_ref().unwrap();
    let declared = rates.classes.iter().filter_map(|r| r.class).collect();
    summary.rates = Some(run::rates::rates(&summary.episodes, &declared, &[], summary.header.seed));
    std::fs::write(&path, serde_json::to_vec(&summary).unwrap()).unwrap();
    sign(dir, "run", "lab.key", "lab-a", "edited.bundle");
    ok(&["bundle", "verify", "edited.bundle"], dir);
    prove("edited.bundle", "q.json");
    let err = fails(
        &["evidence", "check", "--bundle", "edited.bundle", "--proof", "q.json", "--relabel"],
        dir,
    );
    assert!(err.contains("the signed labels are not what the detectors give the trace"), "{err}");
    assert!(err.contains("signed:  none") && err.contains("derived: "), "{err}");
}

/// One event of a trace is proven alone: the proof carries that line and
/// no other (no reasoning, no other command), and a changed line, or the
/// line given as another, is refused.
#[test]
fn one_event_is_proven_alone() {
    let d = TempDir::new("bundle-event");
    let dir = d.path();
    signed(dir);
    let item = "episodes/release-gate/e0.trace.jsonl";
    let trace = std::fs::read_to_string(dir.join("run").join(item)).unwrap();
    let lines: Vec<&str> = trace.lines().collect();
    let n = lines.iter().position(|l| l.contains(r#""kind":"file_change""#)).unwrap();
    let prove = ["evidence", "prove", "--bundle", "a.bundle", "--run", "run", "--item", item];
    ok(&[&prove[..], &["--out", "e.json", "--line", &n.to_string()]].concat(), dir);
    let proof = std::fs::read_to_string(dir.join("e.json")).unwrap();
    let p: formats::bundle::EventProof = serde_json::from_str(&proof).unwrap();
    assert_eq!((p.content.as_str(), p.lines), (lines[n], lines.len() as u64));
    for (i, other) in lines.iter().enumerate().filter(|(i, _)| *i != n) {
        assert!(!proof.contains(&other[..other.len().min(80)]), "line {i} revealed");
    }
    let check = ["evidence", "check", "--bundle", "a.bundle", "--proof"];
    let out = ok(&[&check[..], &["e.json", "--pubkey", "lab.key.pub"]].concat(), dir);
    assert!(
        out.contains("valid; this line is under the bundle's signed root")
            && out.contains(lines[n]),
        "{out}"
    );
    // A changed line, and the line claimed as another.
    let mut changed = p.clone();
    changed.content = changed.content.replacen(r#""source":"observed""#, r#""source":"agent""#, 1);
    assert_ne!(changed.content, p.content);
    std::fs::write(dir.join("c.json"), serde_json::to_string(&changed).unwrap()).unwrap();
    let err = fails(&[&check[..], &["c.json"]].concat(), dir);
    assert!(err.contains(&format!("line {n} is not what `{item}` committed to")), "{err}");
    let mut moved = p.clone();
    moved.line = (n as u64 + 1) % p.lines;
    std::fs::write(dir.join("m.json"), serde_json::to_string(&moved).unwrap()).unwrap();
    assert!(fails(&[&check[..], &["m.json"]].concat(), dir).contains("is not what"));
    let err = fails(&[&prove[..], &["--out", "x.json", "--line", "100000"]].concat(), dir);
    assert!(err.contains("lines (0 to"), "{err}");
}
