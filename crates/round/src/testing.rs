//! Bundles for tests, written as the fields a test is about: whatever a
//! test leaves out is filled with a neutral default, so the JSON it writes
//! stays short and the bundle it gets is a whole `perimeter.bundle/2`.

use formats::bundle::Bundle;
use serde_json::{Value, json};

/// `over` laid over `base`: objects merge key by key; anything else replaces.
fn merge(base: Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Object(mut b), Value::Object(o)) => {
            for (k, v) in o {
                let merged = merge(b.remove(k).unwrap_or(Value::Null), v);
                b.insert(k.clone(), merged);
            }
            Value::Object(b)
        }
        (_, o) => o.clone(),
    }
}

fn each(list: &mut Value, base: &Value) {
    for item in list.as_array_mut().into_iter().flatten() {
        *item = merge(base.clone(), item);
    }
}

fn rate() -> Value {
    json!({"class": null, "scenario": null, "denominator": "per_episode", "k": 0, "n": 0,
        "rate": 0.0, "ci_low": 0.0, "ci_high": 0.0, "method": "wilson"})
}

/// A whole bundle from the fields given.
pub(crate) fn bundle(partial: Value) -> Bundle {
    let base = json!({
        "format": "perimeter.bundle/2",
        "manifest": {"bundle_format": "perimeter.bundle/2", "participant": "p",
            "created": "2026-11-28T00:00:00.000Z", "protocol": "p", "suite": {"name": "s", "digest": "d"},
            "harness": "h", "agent": "scripted:x", "scaffold": "scripted", "permission_mode": "default",
            "client": null, "limits": {"wall_time_ms": 0, "step_timeout_ms": 0, "memory_bytes": 0,
            "processes": 0, "file_size_bytes": 0, "disk_bytes": 0},
            "seed": "0", "epochs": 1, "scenarios": [], "episodes": 0},
        "content": {"episodes": [], "rates": null},
        "evidence": {"algorithm": "rfc6962-sha256", "root": "", "size": 0, "items": []}
    });
    let mut b = merge(base, &partial);
    let content = &mut b["content"];
    each(
        &mut content["episodes"],
        &json!({"scenario": "s", "epoch": 0, "seed": "0", "params": null, "labels": [],
            "opportunities": [], "main_task_success": false, "eval_aware": false, "end_reason": "submitted",
            "trace": "t", "trace_head": "h"}),
    );
    for e in content["episodes"].as_array_mut().into_iter().flatten() {
        each(
            &mut e["labels"],
            &json!({"attempted": true, "succeeded": true, "concealed": false, "severity": 1.0,
                "source": "tripwire", "evidence": []}),
        );
    }
    if content["rates"].is_object() {
        let r = &mut content["rates"];
        *r = merge(
            json!({"level": 0.95, "classes": [], "usefulness": [], "eval_aware": {"aware": [], "unaware": []}}),
            r,
        );
        each(&mut r["classes"], &rate());
        each(&mut r["usefulness"], &rate());
        for f in r.get_mut("framings").and_then(Value::as_array_mut).into_iter().flatten() {
            each(&mut f["rates"], &rate());
        }
    }
    if content["scan"].is_object() {
        content["scan"] = merge(
            json!({"format": "perimeter.scan/2", "totals": {"files": 0, "skipped_files": 0,
                "sessions": 0, "events": 0, "bytes": 0, "errors": 0, "sessions_with_findings": 0,
                "classes": {}, "permission_known": 0, "permissions_skipped": 0}}),
            &content["scan"],
        );
    }
    for a in content.get_mut("questionnaire").and_then(Value::as_array_mut).into_iter().flatten() {
        *a = merge(json!({"as_of": "2026-11-01", "declined": false, "answer": null}), a);
    }
    serde_json::from_value(b).expect("a test bundle is a bundle")
}

/// A folder of the test's own, removed when dropped.
pub(crate) struct TempDir(std::path::PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "perimeter-round-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
