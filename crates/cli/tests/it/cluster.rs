//! What `perimeter cluster k8s` writes, checked without a cluster: the
//! manifests against the Kubernetes API's own schema, and the sandbox
//! under the capabilities the pod is given.

use std::process::Command;

use serde_json::Value;

use super::*;

fn k8s(dir: &Path) -> (Value, Value) {
    let o = perimeter()
        .args(["cluster", "k8s", "--shards", "4", "--image", "perimeter:test", "--claim", "data"])
        .arg("--out")
        .arg(dir)
        .args(["--", "--agent", "scripted:mixed:20", "--epochs", "3"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    let read = |f: &str| -> Value {
        serde_json::from_slice(&std::fs::read(dir.join(f)).unwrap()).unwrap()
    };
    (read("shards.json"), read("merge.json"))
}

/// `kubernetes-validate --strict` against Kubernetes `version`: its
/// output, and whether every file passed.
fn validate(version: &str, files: &[PathBuf]) -> (bool, String) {
    let o = Command::new(test_python_tool("kubernetes-validate"))
        .args(["--strict", "--no-warn", "-k", version])
        .args(files)
        .output()
        .unwrap();
    let (out, err) = text(&o);
    (o.status.success(), out + &err)
}

/// Both manifests pass the Kubernetes API's JSON schema (strict: no field
/// the API does not have) for 1.30, 1.31 and 1.37, and not for 1.29, which
/// has no `appArmorProfile` (docs/cluster.md says 1.30 or newer). A
/// misspelled field fails, so the check is not empty.
#[test]
fn k8s_manifests_pass_the_kubernetes_api_schema() {
    let d = TempDir::new("k8s-schema");
    let (shards, merge) = k8s(d.path());
    assert_eq!(shards["spec"]["completionMode"], "Indexed");
    assert!(merge["spec"].get("completionMode").is_none());
    let files = [d.path().join("shards.json"), d.path().join("merge.json")];
    for version in ["1.30.0", "1.31.0", "1.37.0"] {
        let (ok, said) = validate(version, &files);
        assert!(ok, "Kubernetes {version}: {said}");
        assert_eq!(said.matches("passed for resource job/").count(), 2, "{said}");
    }
    let (ok, said) = validate("1.29.0", &files);
    assert!(!ok && said.contains("'appArmorProfile' was unexpected"), "{said}");

    let mut typo = shards.clone();
    let spec = typo["spec"].as_object_mut().unwrap();
    let limit = spec.remove("backoffLimitPerIndex").unwrap();
    spec.insert("backofLimitPerIndex".into(), limit);
    let bad = d.path().join("typo.json");
    std::fs::write(&bad, typo.to_string()).unwrap();
    let (ok, said) = validate("1.31.0", &[bad]);
    assert!(!ok && said.contains("'backofLimitPerIndex' was unexpected"), "{said}");
}

/// `perimeter run ARGS` with the process's capabilities reduced to `caps`
/// (as a container runtime does for a pod that drops all and adds these).
fn run_with(caps: &[&str], out: &Path, args: &[&str]) -> std::process::Output {
    let bounding: String = std::iter::once("-all".to_owned())
        .chain(caps.iter().map(|c| format!("+{c}")))
        .collect::<Vec<_>>()
        .join(",");
    Command::new("setpriv")
        .args(["--bounding-set", &bounding, "--", env!("CARGO_BIN_EXE_perimeter"), "run"])
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// Each episode, then the rates, of two runs' outcomes; with `exact`
/// false, without how many events each label cites (inotify reports
/// honeypot opens less exactly than fanotify, and may cite more).
fn same(run: &Path, expected: &(Vec<Value>, Value), exact: bool) {
    let strip = |mut o: (Vec<Value>, Value)| {
        for e in o.0.iter_mut().filter(|_| !exact) {
            for l in e["labels"].as_array_mut().unwrap() {
                l["evidence"] = Value::Null;
            }
            for s in e.get_mut("stages").and_then(Value::as_array_mut).into_iter().flatten() {
                s["evidence"] = Value::Null;
            }
        }
        o
    };
    let (got, expected) = (strip(crate::run::outcome(&summary(run))), strip(expected.clone()));
    let expected = &expected;
    for (a, b) in got.0.iter().zip(&expected.0) {
        assert_eq!(a, b, "{}", run.display());
    }
    assert_eq!(&got, expected, "{}", run.display());
}

fn first_header(run: &Path, scenario: &str) -> Value {
    let trace =
        std::fs::read_to_string(run.join(format!("episodes/{scenario}/e0.trace.jsonl"))).unwrap();
    serde_json::from_str(trace.lines().next().unwrap()).unwrap()
}

/// The pod's capabilities, and nothing more, run the whole built-in suite
/// to the labels an unrestricted root run gives; without `SYS_ADMIN` the
/// honeypots are watched with inotify (each trace header says so) and the
/// labels are the same, if with other evidence; without `SYS_PTRACE` (the exec audit could not
/// read the agent's programs) the run refuses before writing anything, and
/// `perimeter doctor` names what is missing.
#[test]
fn the_sandbox_runs_under_the_pods_capabilities() {
    assert!(is_root(), "a pod's capabilities are those of its root user");
    let d = TempDir::new("k8s-caps");
    let (shards, _) = k8s(&d.path().join("k8s"));
    let security = &shards["spec"]["template"]["spec"]["containers"][0]["securityContext"];
    assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
    let added: Vec<String> = security["capabilities"]["add"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_lowercase())
        .collect();
    let caps: Vec<&str> = added.iter().map(String::as_str).collect();
    let args = ["--agent", "scripted:misaligned", "--seed", "3"];

    let whole = d.path().join("unrestricted");
    run_ok("scripted:misaligned", &whole, &args[2..]);
    let expected = crate::run::outcome(&summary(&whole));
    let pod = d.path().join("pod");
    let o = run_with(&caps, &pod, &args);
    assert!(o.status.success(), "{:?}", text(&o));
    same(&pod, &expected, true);
    assert_eq!(first_header(&pod, "release-gate")["honeypot_watch"], "fanotify");

    let without = |cap: &str| -> Vec<&str> { caps.iter().copied().filter(|c| *c != cap).collect() };
    let no_admin = d.path().join("no-sys-admin");
    let o = run_with(&without("sys_admin"), &no_admin, &args);
    assert!(o.status.success(), "{:?}", text(&o));
    same(&no_admin, &expected, false);
    let watch = first_header(&no_admin, "release-gate")["honeypot_watch"].clone();
    assert!(watch.as_str().unwrap().starts_with("inotify (fanotify unavailable: "), "{watch}");

    let no_ptrace = d.path().join("no-sys-ptrace");
    let o = run_with(&without("sys_ptrace"), &no_ptrace, &args);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    assert!(text(&o).1.contains("running as root without CAP_SYS_PTRACE"), "{:?}", text(&o));
    assert!(!no_ptrace.exists(), "nothing is written");
    let doctor = Command::new("setpriv")
        .args(["--bounding-set", "-all,+setuid,+setgid,+sys_admin", "--"])
        .args([env!("CARGO_BIN_EXE_perimeter"), "doctor", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(doctor.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let ptrace = report["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "cap_sys_ptrace")
        .unwrap();
    assert_eq!(ptrace["available"], false);
    assert!(text(&doctor).1.contains("without CAP_SYS_PTRACE"), "{:?}", text(&doctor));
}
