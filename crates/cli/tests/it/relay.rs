//! Relayed models, through the real binary: a fake upstream in the test
//! process stands in for a model API; the harness holds the key.

use std::net::TcpListener;
use std::sync::Arc;

use gateway::fake::FakeUpstream;
use gateway::{Backend, Call, Conversation, Turn};
use serde_json::{Value, json};

use crate::{TempDir, perimeter, summary, text};

const KEY: &str = "sk-test-7f3a9c0e-NEVER-IN-THE-SANDBOX";

/// A model that dumps every environment in the sandbox, then stops.
struct DumpEnvironments;

impl Backend for DumpEnvironments {
    fn turn(&self, c: &Conversation) -> Turn {
        match c.tool_results {
            0 => Turn::Call {
                thinking: None,
                text: None,
                call: Call::Shell {
                    command: "env; cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | sort -u; ls -a ~ /tmp".into(),
                },
            },
            _ => Turn::Final { thinking: None, text: "Looked around.".into() },
        }
    }
}

/// `perimeter run` with only the given model variables in its environment.
fn run_relayed(
    agent: &str,
    model: &str,
    out: &std::path::Path,
    env: &[(&str, &str)],
    extra: &[&str],
) -> std::process::Output {
    let clients = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients");
    let mut cmd = perimeter();
    for var in [
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "GEMINI_API_KEY",
        "OPENAI_COMPATIBLE_API_KEY",
        "ANTHROPIC_BASE_URL",
        "OPENAI_BASE_URL",
        "GEMINI_BASE_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied())
        .args(["run", "--agent", agent, "--model", model, "--clients"])
        .arg(clients)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn relayed_calls_carry_the_key_and_the_sandbox_never_sees_it() {
    let fake = FakeUpstream::start(KEY, Arc::new(DumpEnvironments)).unwrap();
    for (agent, model, env) in [
        (
            "claude-code",
            "anthropic:claude-test-9",
            vec![("ANTHROPIC_API_KEY", KEY), ("ANTHROPIC_BASE_URL", fake.url.as_str())],
        ),
        (
            "api",
            "anthropic:claude-test-9",
            vec![("ANTHROPIC_API_KEY", KEY), ("ANTHROPIC_BASE_URL", fake.url.as_str())],
        ),
        (
            "api",
            &format!("openai-compatible:{}/v1#local-9", fake.url),
            vec![("OPENAI_COMPATIBLE_API_KEY", KEY)],
        ),
        (
            "codex",
            "openai:gpt-test-9",
            vec![("OPENAI_API_KEY", KEY), ("OPENAI_BASE_URL", &format!("{}/v1", fake.url))],
        ),
        (
            "gemini-cli",
            "gemini:gemini-test-9",
            vec![("GEMINI_API_KEY", KEY), ("GEMINI_BASE_URL", fake.url.as_str())],
        ),
    ] {
        fake.clear();
        let dir = TempDir::new("relay");
        let o = run_relayed(agent, model, dir.path(), &env, &["--scenario", "release-gate"]);
        assert!(o.status.success(), "{agent}: {:?}", text(&o));
        let s = summary(dir.path());
        let e = &s["episodes"][0];
        let trace = std::fs::read_to_string(dir.path().join(e["trace"].as_str().unwrap())).unwrap();
        let error = trace.lines().find(|l| l.contains(r#""kind":"error""#));
        assert_eq!(e["end_reason"], "submitted", "{agent}: {error:?}");
        assert_eq!(e["model_usage"]["turns"], 2, "{agent}");
        let seen = fake.seen();
        assert!(!seen.is_empty(), "{agent}: nothing reached the upstream");
        let want = model.rsplit([':', '#']).next().unwrap();
        for s in &seen {
            let key =
                s.header("x-api-key").or(s.header("authorization")).or(s.header("x-goog-api-key"));
            assert!(key.is_some_and(|v| v.ends_with(KEY)), "{agent}: {:?}", s.headers);
            // The spec's model, in the body or (Gemini) the path; the
            // preflight asks for the model list, with the key.
            let named = s.body["model"] == want
                || s.target.contains(&format!("/models/{want}:"))
                || s.target.ends_with("/models");
            assert!(named, "{agent}: {} {}", s.target, s.body["model"]);
        }
        // Everything the sandbox holds went through the tool output into the
        // trace: the key is nowhere in it, the placeholder is.
        assert!(!trace.contains(KEY), "{agent}: the key reached the sandbox");
        assert!(trace.contains("PATH=/home/agent/bin"), "{agent}: the environment was dumped");
        if agent != "api" {
            let var = env[0].0;
            assert!(trace.contains(&format!("{var}=perimeter-gateway")), "{agent}: {var}");
            assert!(trace.contains(&format!(r#""upstream":"{model}""#)), "{agent}");
        }
    }
}

/// Before the first episode, the upstream must answer and take the key:
/// a wrong key, no key or no upstream stops the run before anything is
/// written, with what to fix.
#[test]
fn a_model_that_cannot_be_used_stops_the_run_before_it_starts() {
    let fake = FakeUpstream::start(KEY, Arc::new(DumpEnvironments)).unwrap();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let two = ["--scenario", "release-gate", "--scenario", "flaky-loader"];
    for (agent, model, env, says) in [
        (
            "api",
            "anthropic:m",
            vec![("ANTHROPIC_API_KEY", "sk-wrong"), ("ANTHROPIC_BASE_URL", fake.url.as_str())],
            "`anthropic:m` refused the key (401)",
        ),
        (
            "claude-code",
            "anthropic:m",
            vec![("ANTHROPIC_API_KEY", "sk-wrong"), ("ANTHROPIC_BASE_URL", fake.url.as_str())],
            "`anthropic:m` refused the key (401)",
        ),
        (
            "api",
            "openai:gpt-x",
            vec![("OPENAI_BASE_URL", fake.url.as_str())],
            "OPENAI_API_KEY is not set",
        ),
        ("codex", &format!("openai-compatible:http://{closed}/v1#m"), vec![], "does not answer"),
    ] {
        let dir = TempDir::new("preflight");
        let out = dir.path().join("run");
        let o = run_relayed(agent, model, &out, &env, &two);
        assert_eq!(o.status.code(), Some(2), "{agent} {model}: {:?}", text(&o));
        let (_, stderr) = text(&o);
        assert!(stderr.contains("nothing was run") && stderr.contains(says), "{stderr}");
        assert!(stderr.contains("hint: "), "{stderr}");
        assert!(!out.exists(), "{agent} {model}: nothing written");
    }
}

/// A model that fails mid-run (a key revoked, an API down past the
/// retries) ends each episode with its reason; the run goes on, and no
/// rate counts those episodes.
#[test]
fn model_failures_end_each_episode_with_a_reason_and_the_run_goes_on() {
    let two = ["--scenario", "release-gate", "--scenario", "flaky-loader"];
    for (agent, fail, reason, says) in [
        ("api", 401, "model_auth", "answered 401"),
        ("claude-code", 401, "model_auth", "answered 401"),
        ("api", 500, "model_error", "answered 500"),
    ] {
        let fake = FakeUpstream::start(KEY, Arc::new(DumpEnvironments)).unwrap();
        fake.fail_next(&[fail; 200]);
        let env = [("ANTHROPIC_API_KEY", KEY), ("ANTHROPIC_BASE_URL", fake.url.as_str())];
        let dir = TempDir::new("model-failure");
        let o = run_relayed(agent, "anthropic:m", dir.path(), &env, &two);
        // The run is written, but says so: exit status 3, nothing counted.
        assert_eq!(o.status.code(), Some(3), "{agent}: {:?}", text(&o));
        let (stdout, stderr) = text(&o);
        assert!(
            stdout.contains("NOT COUNTED: 2 episodes ended for infrastructure reasons"),
            "{stdout}"
        );
        assert!(stderr.contains(&format!("NOT COUNTED: ended by `{reason}`")), "{stderr}");
        let s = summary(dir.path());
        let episodes = s["episodes"].as_array().unwrap();
        assert_eq!(episodes.len(), 2, "the run went on to the next episode");
        for e in episodes {
            assert_eq!(e["end_reason"], reason, "{agent}: {e}");
            let trace =
                std::fs::read_to_string(dir.path().join(e["trace"].as_str().unwrap())).unwrap();
            let error = trace.lines().find(|l| l.contains(r#""kind":"error""#)).unwrap();
            assert!(error.contains(says), "{agent}: {error}");
        }
        let endings = &s["rates"]["endings"];
        assert_eq!((endings["counted"].as_u64(), endings["excluded"].as_u64()), (Some(0), Some(2)));
        assert_eq!(endings["reasons"][reason], 2);
        assert_eq!(s["rates"]["usefulness"][0]["n"], 0, "a failed episode is no failed task");
    }
}

/// `--resume --retry-failed` runs again exactly the episodes that ended
/// for an infrastructure reason, once it is fixed; the others are kept.
#[test]
fn failed_episodes_run_again_on_request() {
    let fake = FakeUpstream::start(KEY, Arc::new(DumpEnvironments)).unwrap();
    let dir = TempDir::new("retry-failed");
    let url = fake.url.as_str();
    let one = ["--scenario", "release-gate"];
    let env = [("ANTHROPIC_API_KEY", KEY), ("ANTHROPIC_BASE_URL", url)];
    // The key is revoked after the preflight.
    fake.fail_next(&[401]);
    let o = run_relayed("api", "anthropic:m", dir.path(), &env, &one);
    assert_eq!(o.status.code(), Some(3), "{:?}", text(&o));
    assert_eq!(summary(dir.path())["episodes"][0]["end_reason"], "model_auth");
    // Resuming alone keeps the failed record: the run is finished.
    let o =
        run_relayed("api", "anthropic:m", dir.path(), &env, &[&one[..], &["--resume"]].concat());
    assert_eq!(o.status.code(), Some(3), "{:?}", text(&o));
    let again = [&one[..], &["--resume", "--retry-failed"]].concat();
    let o = run_relayed("api", "anthropic:m", dir.path(), &env, &again);
    assert!(o.status.success(), "{:?}", text(&o));
    let s = summary(dir.path());
    assert_eq!(s["episodes"][0]["end_reason"], "submitted");
    assert_eq!(s["rates"]["endings"]["excluded"], 0);
    let o = perimeter().args(["run", "--agent", "api", "--retry-failed"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "--retry-failed needs --resume");
}

#[test]
fn turn_and_token_limits_end_episodes() {
    let dir = TempDir::new("limits");
    for (agent, limit, reason) in [
        ("api", &["--max-turns", "2"][..], "turn_limit"),
        ("claude-code", &["--max-turns", "2"], "turn_limit"),
        ("api", &["--max-tokens", "500"], "token_limit"),
        ("api", &["--max-cost", "0.001", "--price", "3/15"], "cost_limit"),
    ] {
        let out = dir.path().join(format!("{agent}-{reason}"));
        let o = run_relayed(
            agent,
            "scripted:misaligned",
            &out,
            &[],
            &[&["--scenario", "release-gate"][..], limit].concat(),
        );
        assert!(o.status.success(), "{agent}: {:?}", text(&o));
        let s = summary(&out);
        let e = &s["episodes"][0];
        assert_eq!(e["end_reason"], reason, "{agent}: {e}");
        if reason == "turn_limit" {
            assert_eq!(e["model_usage"]["turns"], 2, "{agent}: {e}");
        }
        if reason == "cost_limit" {
            assert!(e["model_usage"]["cost_usd"].as_f64().unwrap() >= 0.001, "{e}");
        }
        assert_eq!(
            s["limits"]["max_turns"],
            if reason == "turn_limit" { json!(2) } else { Value::Null }
        );
    }
}

/// Regenerates the gateway's protocol fixtures: real request bodies from
/// each pinned client, captured by relaying it to a fake upstream. Run with
/// `cargo test --test it record_client_requests -- --ignored` after
/// changing a client's pin.
#[test]
#[ignore = "regenerates fixtures"]
fn record_client_requests() {
    let suite = scenario::Suite::builtin().unwrap();
    let policy =
        suite.get("release-gate").unwrap().instantiate(0).unwrap().manifest.policies["misaligned"]
            .clone();
    let fake =
        FakeUpstream::start(KEY, Arc::new(gateway::Scripted::new(policy, "/home/agent"))).unwrap();
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../gateway/tests/fixtures");
    std::fs::create_dir_all(&fixtures).unwrap();
    for (agent, model, env) in [
        (
            "claude-code",
            "anthropic:claude-opus-5-5",
            vec![("ANTHROPIC_API_KEY", KEY), ("ANTHROPIC_BASE_URL", fake.url.as_str())],
        ),
        (
            "codex",
            "openai:gpt-5.5",
            vec![("OPENAI_API_KEY", KEY), ("OPENAI_BASE_URL", &*format!("{}/v1", fake.url))],
        ),
        (
            "gemini-cli",
            "gemini:gemini-3.8-flash",
            vec![("GEMINI_API_KEY", KEY), ("GEMINI_BASE_URL", fake.url.as_str())],
        ),
        (
            "api",
            &*format!("openai-compatible:{}/v1#qwen3", fake.url),
            vec![("OPENAI_COMPATIBLE_API_KEY", KEY)],
        ),
    ] {
        fake.clear();
        let dir = TempDir::new("record");
        let o = run_relayed(agent, model, dir.path(), &env, &["--scenario", "release-gate"]);
        assert!(o.status.success(), "{agent}: {:?}", text(&o));
        // The agent turns (requests that offer tools): the first, and one
        // carrying a tool result.
        let turns: Vec<_> = fake
            .seen()
            .into_iter()
            .filter(|s| s.body["tools"].as_array().is_some_and(|t| !t.is_empty()))
            .collect();
        assert!(turns.len() >= 2, "{agent}: {} turns", turns.len());
        for (name, s) in [("first", &turns[0]), ("later", &turns[1])] {
            let record = json!({"target": s.target, "body": s.body});
            let path =
                fixtures.join(format!("{agent}-{}-{name}.json", model.split(':').next().unwrap()));
            std::fs::write(&path, serde_json::to_string_pretty(&record).unwrap()).unwrap();
        }
    }
}

/// A model API that asks for the built-in loop's file tools: read a file,
/// edit it, make an edit that cannot apply, then stop.
fn file_tools_upstream() -> (String, http1::Server) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let server = http1::Server::start(listener, |conn| {
        let mut reader = std::io::BufReader::new(conn.try_clone().unwrap());
        let mut writer = conn;
        while let Ok(Some(head)) = http1::read_head(&mut reader) {
            let (body, _) = http1::read_body(&mut reader, &head, 1 << 24).unwrap();
            if head.method == "GET" {
                // The preflight's model list.
                let list = json!({"data": []}).to_string();
                let _ = http1::write_response(&mut writer, 200, "application/json", list.as_bytes());
                continue;
            }
            let request: Value = serde_json::from_slice(&body).unwrap();
            let results = request["messages"].as_array().unwrap().iter().filter(|m| m["role"] == "tool").count();
            let call = |name: &str, args: Value| {
                json!({"role": "assistant", "content": null, "tool_calls": [{"id": format!("c{results}"), "type": "function",
                    "function": {"name": name, "arguments": args.to_string()}}]})
            };
            let message = match results {
                0 => call("read_file", json!({"path": "README.md"})),
                1 => call("edit_file", json!({"path": "README.md", "old_text": "scratch", "new_text": "edited"})),
                2 => call("edit_file", json!({"path": "/home/agent/lab/README.md", "old_text": "absent", "new_text": "x"})),
                _ => json!({"role": "assistant", "content": "Edited the README."}),
            };
            let answer = json!({"id": "x", "object": "chat.completion", "model": "m",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5}});
            http1::write_response(&mut writer, 200, "application/json", answer.to_string().as_bytes()).unwrap();
        }
    })
    .unwrap();
    (url, server)
}

#[test]
fn the_builtin_loop_reads_and_edits_files() {
    let (url, _server) = file_tools_upstream();
    let suite = TempDir::new("file-tools-suite");
    crate::one_scenario_suite(suite.path(), "files", r#"{ shell = "true" }"#);
    let dir = TempDir::new("file-tools");
    let model = format!("openai-compatible:{url}#m");
    let o =
        run_relayed("api", &model, dir.path(), &[], &["--suite", suite.path().to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let s = summary(dir.path());
    let e = &s["episodes"][0];
    assert_eq!(e["end_reason"], "submitted", "{e}");
    assert_eq!(e["model_usage"]["input_tokens"], 40, "the upstream's own usage");
    let trace = std::fs::read_to_string(dir.path().join(e["trace"].as_str().unwrap())).unwrap();
    let events: Vec<Value> =
        trace.lines().skip(1).map(|l| serde_json::from_str(l).unwrap()).collect();
    let results: Vec<&Value> = events.iter().filter(|e| e["kind"] == "tool_result").collect();
    assert_eq!(results[0]["output"], "a scratch repository\n", "read_file");
    assert_eq!(
        (results[1]["is_error"].as_bool(), results[1]["output"].as_str()),
        (Some(false), Some("edited /home/agent/lab/README.md"))
    );
    assert!(results[2]["output"].as_str().unwrap().contains("does not occur"), "{}", results[2]);
    // The read is a process like any other, and the edit a file change.
    assert!(events.iter().any(|e| e["kind"] == "process_exec" && e["argv"][0] == "cat"));
    let change = events.iter().find(|e| e["kind"] == "file_change").unwrap();
    assert_eq!(
        (change["path"].as_str(), change["change"].as_str()),
        (Some("lab/README.md"), Some("modified"))
    );
    let answer = events.iter().find(|e| e["kind"] == "submission").unwrap();
    assert_eq!(answer["answer"], "Edited the README.");
}

/// 429, 529 and a dropped connection are tried again, each retry in the
/// trace; what still fails after the retries ends the episode as before.
#[test]
fn transient_model_failures_are_retried_and_recorded() {
    let fake = FakeUpstream::start(KEY, Arc::new(DumpEnvironments)).unwrap();
    let dir = TempDir::new("retries");
    let env = [("ANTHROPIC_API_KEY", KEY), ("ANTHROPIC_BASE_URL", fake.url.as_str())];
    let one = ["--scenario", "release-gate"];
    fake.fail_next(&[529, 429, 0]);
    let o = run_relayed("api", "anthropic:m", &dir.path().join("ok"), &env, &one);
    assert!(o.status.success(), "{:?}", text(&o));
    let s = summary(&dir.path().join("ok"));
    assert_eq!(s["episodes"][0]["end_reason"], "submitted");
    let trace = std::fs::read_to_string(
        dir.path().join("ok").join(s["episodes"][0]["trace"].as_str().unwrap()),
    )
    .unwrap();
    let first = trace.lines().find(|l| l.contains(r#""kind":"model_exchange""#)).unwrap();
    let e: serde_json::Value = serde_json::from_str(first).unwrap();
    let retries: Vec<&str> =
        e["retries"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert_eq!(retries.len(), 3, "{retries:?}");
    assert!(retries[0].starts_with("529 after ") && retries[1].starts_with("429 after "));
    // The upstream said `retry-after: 0` with its statuses.
    assert!(retries[..2].iter().all(|r| r.ends_with("waited 0.0 s")), "{retries:?}");
    assert_eq!(e["status"], 200);
    // Past the retries: the episode ends as a model error, not counted.
    fake.fail_next(&[529; 5]);
    let o = run_relayed("api", "anthropic:m", &dir.path().join("down"), &env, &one);
    assert_eq!(o.status.code(), Some(3), "{:?}", text(&o));
    assert_eq!(summary(&dir.path().join("down"))["episodes"][0]["end_reason"], "model_error");
}
