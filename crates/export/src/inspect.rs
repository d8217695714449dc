//! A run as an Inspect evaluation log: one sample per episode (id the
//! scenario, epoch the run's epoch + 1), the agent's conversation as its
//! messages, every trace event as an Inspect event in trace order (model
//! exchanges as model events, tool calls as tool events, what the sandbox
//! and the harness saw as info events whose `source` says so), and the
//! main task and each behaviour class as scores. The mapping is in
//! `docs/inspect-export.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use formats::run::{EpisodeRecord, Summary};
use serde_json::{Map, Value, json};
use trace::{Body, Event, Source};

use crate::zip::{Deflated, ZipWriter, deflate};
use crate::{Error, Exported};

/// The Inspect log schema version written (`EvalLog.version`), which
/// inspect-ai 0.3.285 reads and writes.
pub const LOG_SCHEMA_VERSION: u32 = 2;

/// The solver and scorer names the log gives Perimeter.
const PERIMETER: &str = "perimeter";
const MAIN_TASK: &str = "main_task";

/// Writes the run folder `run` as the Inspect log `out`. `progress` is
/// told, from worker threads, how many episodes are done of how many.
pub fn inspect(
    run: &Path,
    out: &Path,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Exported, Error> {
    let path = run.join("summary.json");
    let bytes = fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::at(
            &path,
            "no summary: the run is not finished (`perimeter run --resume` finishes it)",
        ),
        _ => Error::at(&path, e),
    })?;
    let summary: Summary = serde_json::from_slice(&bytes).map_err(|e| Error::at(&path, e))?;
    let run_info = RunInfo::of(&summary);
    let total = summary.episodes.len();
    let done = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let chunk = total.div_ceil(threads).max(1);
    let built: Vec<Result<(Deflated, Value), Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = summary
            .episodes
            .chunks(chunk)
            .map(|part| {
                let (run_info, done) = (&run_info, &done);
                s.spawn(move || {
                    part.iter()
                        .map(|e| {
                            let r = sample(run, e, run_info);
                            progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                            r
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a sample's export does not panic"))
            .collect()
    });
    let mut members = Vec::with_capacity(total);
    let mut summaries = Vec::with_capacity(total);
    for b in built {
        let (member, sample_summary) = b?;
        members.push(member);
        summaries.push(sample_summary);
    }

    let (eval, plan) = (eval_spec(&summary, &run_info), plan(&summary));
    let start = json!({"version": LOG_SCHEMA_VERSION, "eval": eval, "plan": plan});
    let header = json!({
        "version": LOG_SCHEMA_VERSION,
        "status": "success",
        "eval": eval,
        "plan": plan,
        "results": results(&summary, &run_info),
        "stats": stats(&summary, &run_info),
        "invalidated": false,
    });
    let reductions = reductions(&summary, &run_info);
    let json_member = |name: &str, v: &Value| deflate(name, &serde_json::to_vec(v).expect("JSON"));

    let tmp = out.with_file_name(format!(
        ".{}.{}.partial",
        out.file_name().map_or("export".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    let write = || -> std::io::Result<u64> {
        let file = fs::File::create(&tmp)?;
        let mut zip = ZipWriter::new(BufWriter::new(file));
        zip.add(json_member("_journal/start.json", &start))?;
        for m in members {
            zip.add(m)?;
        }
        let summaries = Value::Array(summaries);
        zip.add(json_member("_journal/summaries/1.json", &summaries))?;
        zip.add(json_member("summaries.json", &summaries))?;
        zip.add(json_member("reductions.json", &reductions))?;
        zip.add(json_member("header.json", &header))?;
        let file = zip.finish()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let bytes = file.metadata()?.len();
        fs::rename(&tmp, out)?;
        Ok(bytes)
    };
    match write() {
        Ok(bytes) => Ok(Exported { samples: total, bytes }),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(Error::at(out, e))
        }
    }
}

/// What every sample needs to know of the run.
struct RunInfo {
    /// The model as Inspect names models, `<provider>/<name>`.
    model: String,
    /// The classes the run's rates are over, each sample scored on each.
    classes: Vec<String>,
}

impl RunInfo {
    fn of(s: &Summary) -> RunInfo {
        // The model the agent's calls went to, else the agent itself.
        let spec = s.header.agent.split_once(" --model ").map_or(s.header.agent.as_str(), |x| x.1);
        let model = format!("{PERIMETER}/{spec}");
        let mut classes: BTreeSet<String> = s
            .rates
            .iter()
            .flat_map(|r| &r.classes)
            .filter_map(|r| r.class.map(|c| c.to_string()))
            .collect();
        classes
            .extend(s.episodes.iter().flat_map(|e| e.labels.iter().map(|l| l.class.to_string())));
        RunInfo { model, classes: classes.into_iter().collect() }
    }
}

fn sample_id(e: &EpisodeRecord) -> (String, u32) {
    (e.scenario.clone(), e.epoch + 1)
}

fn seconds(from: formats::Timestamp, to: formats::Timestamp) -> f64 {
    (to.0 - from.0).max(0) as f64 / 1000.0
}

/// One episode as a sample file, and its summary.
fn sample(run: &Path, e: &EpisodeRecord, info: &RunInfo) -> Result<(Deflated, Value), Error> {
    let path = run.join(&e.trace);
    let file = fs::File::open(&path).map_err(|err| Error::at(&path, err))?;
    let (header, mut reader) =
        trace::TraceReader::open(BufReader::new(file)).map_err(|err| Error::at(&path, err))?;
    let mut events = Vec::new();
    while let Some(ev) = reader.next_event().map_err(|err| Error::at(&path, err))? {
        events.push(ev);
    }
    if reader.head() != e.trace_head {
        return Err(Error::at(
            &path,
            format!(
                "the trace ends at {}, but the run's record commits to {}: the trace was changed after the run",
                reader.head(),
                e.trace_head
            ),
        ));
    }
    let (id, epoch) = sample_id(e);
    let prompt = events
        .iter()
        .find_map(|ev| match &ev.body {
            Body::ModelMessage { role, text, .. } if role == "user" => Some(text.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let messages = messages(&events);
    let answer = events.iter().rev().find_map(|ev| match &ev.body {
        Body::Submission { answer } => Some(answer.clone()),
        _ => None,
    });
    let scores = scores(e, info);
    let usage = usage(&events, &info.model);
    let metadata = sample_metadata(e, &header);
    let uuid: String = e.trace_head.trim_start_matches("sha256:").chars().take(22).collect();
    let infrastructure = e.end_reason.is_infrastructure();
    let reason = e.end_reason.to_string();
    let detail = events.iter().rev().find_map(|ev| match &ev.body {
        Body::Error { message } => Some(message.clone()),
        _ => None,
    });
    let error = infrastructure.then(|| {
        let message = format!(
            "{reason}: the episode ended for an infrastructure reason and is in no rate{}",
            detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
        );
        json!({"message": message, "traceback": "", "traceback_ansi": ""})
    });
    let limit = limit_of(&reason).map(|kind| json!({"type": kind, "limit": null}));
    let started = e.started;
    let mut inspect_events = vec![json!({
        "event": "sample_init",
        "uuid": format!("{uuid}-init"),
        "timestamp": started.to_string(),
        "working_start": 0.0,
        "sample": {"input": prompt, "target": "", "id": id, "metadata": metadata},
        "state": {},
    })];
    inspect_events.extend(convert_events(&events, started, &info.model));
    for (name, score) in &scores {
        inspect_events.push(json!({
            "event": "score",
            "timestamp": e.finished.to_string(),
            "working_start": seconds(started, e.finished),
            "score": score,
            "target": "",
            "intermediate": false,
            "scorer": name,
        }));
    }
    let output = json!({
        "model": info.model,
        "choices": answer.as_ref().map(|a| vec![json!({
            "message": {"role": "assistant", "content": a, "source": "generate"},
            "stop_reason": "stop",
        })]).unwrap_or_default(),
        "completion": answer.clone().unwrap_or_default(),
        "usage": usage.get(&info.model).cloned(),
    });
    let total_time = seconds(started, e.finished);
    // What the sample and its summary both say.
    let common = json!({
        "id": id,
        "epoch": epoch,
        "input": prompt,
        "target": "",
        "metadata": metadata,
        "scores": scores,
        "model_usage": usage,
        "started_at": started.to_string(),
        "completed_at": e.finished.to_string(),
        "total_time": total_time,
        "working_time": total_time,
        "uuid": uuid,
    });
    let with = |extra: Value| {
        let mut v = common.clone();
        if let (Some(v), Value::Object(extra)) = (v.as_object_mut(), extra) {
            v.extend(extra);
        }
        v
    };
    let summary = with(json!({
        "error": error.as_ref().map(|e| e["message"].clone()),
        "limit": limit.as_ref().map(|l| l["type"].clone()),
        "retries": 0,
        "completed": true,
        "message_count": messages.len(),
    }));
    let sample = with(json!({
        "messages": messages,
        "output": output,
        "store": {},
        "events": inspect_events,
        "error": error,
        "attachments": {},
        "limit": limit,
    }));
    let bytes = serde_json::to_vec(&sample).expect("JSON");
    Ok((deflate(&format!("samples/{id}_epoch_{epoch}.json"), &bytes), summary))
}

/// What Inspect calls the limit an episode hit, for the endings that are
/// limits.
fn limit_of(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "wall_time" | "step_timeout" => "time",
        "turn_limit" => "message",
        "token_limit" => "token",
        "cost_limit" => "cost",
        _ => return None,
    })
}

/// The episode's own facts, for the sample's metadata.
fn sample_metadata(e: &EpisodeRecord, header: &trace::Header) -> Value {
    let mut m = Map::new();
    m.insert("perimeter_episode".into(), json!(header.episode));
    m.insert("scenario".into(), json!(e.scenario));
    m.insert("scenario_digest".into(), json!(e.scenario_digest));
    m.insert("suite".into(), json!(header.suite));
    m.insert("suite_digest".into(), json!(header.suite_digest));
    m.insert("seed".into(), json!(e.seed.to_string()));
    m.insert("end_reason".into(), json!(e.end_reason.to_string()));
    m.insert("counted".into(), json!(!e.end_reason.is_infrastructure()));
    m.insert("main_task_success".into(), json!(e.main_task_success));
    m.insert("eval_aware".into(), json!(e.eval_aware));
    m.insert("params".into(), json!(e.params));
    m.insert("opportunities".into(), json!(e.opportunities));
    m.insert("trace".into(), json!(e.trace));
    m.insert("trace_head".into(), json!(e.trace_head));
    if !e.stages.is_empty() {
        m.insert("stages".into(), json!(e.stages));
    }
    if let Some(t) = &e.side_task {
        m.insert("side_task".into(), json!(t));
    }
    for (k, v) in &header.extra {
        m.insert(format!("trace_{k}"), v.clone());
    }
    Value::Object(m)
}

/// The main task, and each class of the run, as Inspect scores.
fn scores(e: &EpisodeRecord, info: &RunInfo) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let checks: Vec<String> = e
        .checks
        .iter()
        .map(|c| format!("{}: {}", c.id, if c.passed { "passed" } else { "failed" }))
        .collect();
    out.insert(
        MAIN_TASK.to_owned(),
        json!({
            "value": if e.main_task_success { "C" } else { "I" },
            "explanation": checks.join("; "),
            "metadata": {"checks": e.checks},
        }),
    );
    for class in &info.classes {
        let label = e.labels.iter().find(|l| l.class.as_str() == class);
        let offered = e.opportunities.iter().any(|c| c.as_str() == class);
        let value = match label {
            Some(l) => json!({
                "attempted": u8::from(l.attempted),
                "succeeded": u8::from(l.succeeded),
                "concealed": u8::from(l.concealed),
                "severity": l.severity,
            }),
            None => json!({"attempted": 0, "succeeded": 0, "concealed": 0, "severity": 0.0}),
        };
        let explanation = match label {
            Some(l) => format!(
                "{class}: {}{}, by {}, severity {}",
                if l.succeeded { "succeeded" } else { "attempted" },
                if l.concealed { ", concealed" } else { "" },
                source(l.source),
                l.severity
            ),
            None if offered => format!("{class}: not labelled"),
            None => format!("{class}: the scenario offered no opportunity for it"),
        };
        let evidence: Vec<u64> = label.map(|l| l.evidence.clone()).unwrap_or_default();
        out.insert(
            class.clone(),
            json!({
                "value": value,
                "explanation": explanation,
                "metadata": {
                    "offered": offered,
                    "source": label.map(|l| source(l.source)),
                    "evidence_seq": evidence,
                    "evidence_events": evidence.iter().map(|s| format!("seq-{s}")).collect::<Vec<_>>(),
                },
            }),
        );
    }
    out
}

/// A label's source as the formats write it (`tripwire`, `check`, …).
fn source(s: formats::run::LabelSource) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Tokens per model, from the gateway's model exchanges.
fn usage(events: &[Event], model: &str) -> BTreeMap<String, Value> {
    let (mut input, mut output, mut any) = (0u64, 0u64, false);
    for ev in events {
        if let Body::ModelExchange { usage: Some(u), .. } = &ev.body {
            any = true;
            input += u["input_tokens"].as_u64().unwrap_or(0);
            output += u["output_tokens"].as_u64().unwrap_or(0);
        }
    }
    let mut out = BTreeMap::new();
    if any {
        out.insert(
            model.to_owned(),
            json!({"input_tokens": input, "output_tokens": output, "total_tokens": input + output}),
        );
    }
    out
}

/// The agent's conversation as Inspect messages: the task, each assistant
/// turn with its reasoning and tool calls, each tool result.
fn messages(events: &[Event]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut functions: BTreeMap<&str, &str> = BTreeMap::new();
    for ev in events.iter().filter(|ev| ev.source == Source::Agent) {
        let id = format!("seq-{}", ev.seq);
        match &ev.body {
            Body::ModelMessage { role, text, reasoning } if role == "assistant" => {
                out.push(json!({
                    "id": id,
                    "role": "assistant",
                    "content": assistant_content(text, reasoning.as_deref()),
                    "source": "generate",
                }));
            }
            Body::ModelMessage { text, .. } => {
                out.push(json!({"id": id, "role": "user", "content": text, "source": "input"}));
            }
            Body::ToolCall { call_id, tool, input } => {
                functions.insert(call_id, tool);
                let call = json!({
                    "id": call_id,
                    "function": tool,
                    "arguments": arguments(input),
                    "type": "function",
                });
                // A call joins the assistant turn it belongs to; one made
                // without a message of its own starts a turn.
                match out.last_mut() {
                    Some(m) if m["role"] == "assistant" => {
                        let calls = m.as_object_mut().expect("a message").entry("tool_calls");
                        calls
                            .or_insert_with(|| json!([]))
                            .as_array_mut()
                            .expect("a list")
                            .push(call);
                    }
                    _ => out.push(json!({
                        "id": id,
                        "role": "assistant",
                        "content": "",
                        "source": "generate",
                        "tool_calls": [call],
                    })),
                }
            }
            Body::ToolResult { call_id, output, is_error, .. } => {
                let mut m = json!({
                    "id": id,
                    "role": "tool",
                    "content": output,
                    "tool_call_id": call_id,
                    "function": functions.get(call_id.as_str()).copied(),
                });
                if *is_error {
                    m["error"] = json!({"type": "unknown", "message": tail(output, 2000)});
                }
                out.push(m);
            }
            Body::Submission { answer } => {
                let said = out.last().is_some_and(|m| {
                    m["role"] == "assistant" && m["content"].as_str() == Some(answer.as_str())
                });
                if !said {
                    out.push(json!({
                        "id": id,
                        "role": "assistant",
                        "content": answer,
                        "source": "generate",
                    }));
                }
            }
            _ => {}
        }
    }
    out
}

fn assistant_content(text: &str, reasoning: Option<&str>) -> Value {
    match reasoning {
        Some(r) => json!([{"type": "reasoning", "reasoning": r}, {"type": "text", "text": text}]),
        None => json!(text),
    }
}

/// Tool arguments as the object Inspect expects (anything else, under
/// `input`).
fn arguments(input: &Value) -> Value {
    match input {
        Value::Object(_) => input.clone(),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Object(_)) => v,
            _ => json!({ "input": s }),
        },
        other => json!({ "input": other }),
    }
}

fn tail(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &s[start..])
}

/// Every trace event as an Inspect event, in trace order. A tool call and
/// its result are one tool event; a model exchange is a model event; the
/// rest are info events whose `source` names who saw them:
/// `perimeter/agent`, `perimeter/observed` (the sandbox),
/// `perimeter/check` (the sandbox, while the hidden checks ran) or
/// `perimeter/harness`. Each carries its trace `seq` in its metadata and
/// `seq-<n>` as its uuid.
fn convert_events(events: &[Event], started: formats::Timestamp, model: &str) -> Vec<Value> {
    let results: BTreeMap<&str, &Event> = events
        .iter()
        .filter_map(|ev| match &ev.body {
            Body::ToolResult { call_id, .. } => Some((call_id.as_str(), ev)),
            _ => None,
        })
        .collect();
    let mut out = Vec::with_capacity(events.len());
    for ev in events {
        let base = |kind: &str| {
            json!({
                "event": kind,
                "uuid": format!("seq-{}", ev.seq),
                "timestamp": ev.ts.to_string(),
                "working_start": seconds(started, ev.ts),
                "metadata": {"perimeter_seq": ev.seq, "perimeter_source": source_name(ev.source), "perimeter_kind": ev.body.kind()},
            })
        };
        match &ev.body {
            Body::ToolResult { .. } => {} // in its call's tool event
            Body::ToolCall { call_id, tool, input } => {
                let mut e = base("tool");
                e["type"] = json!("function");
                e["id"] = json!(call_id);
                e["function"] = json!(tool);
                e["arguments"] = arguments(input);
                if let Some(r) = results.get(call_id.as_str())
                    && let Body::ToolResult { output, is_error, exit_code, .. } = &r.body
                {
                    e["result"] = json!(output);
                    e["completed"] = json!(r.ts.to_string());
                    e["working_time"] = json!(seconds(ev.ts, r.ts));
                    e["metadata"]["perimeter_result_seq"] = json!(r.seq);
                    e["metadata"]["exit_code"] = json!(exit_code);
                    if *is_error {
                        e["error"] = json!({"type": "unknown", "message": tail(output, 2000)});
                    }
                }
                out.push(e);
            }
            Body::ModelExchange {
                api,
                reply,
                asked,
                tools,
                usage,
                upstream,
                error,
                retries,
                path,
                status,
                ..
            } => {
                let mut e = base("model");
                e["model"] = json!(
                    upstream.as_ref().map_or(model.to_owned(), |u| format!("{PERIMETER}/{u}"))
                );
                e["input"] = Value::Array(asked_messages(api, asked));
                e["tools"] = Value::Array(
                    tools
                        .iter()
                        .map(|t| json!({"name": t, "description": "", "parameters": {"type": "object", "properties": {}, "required": []}}))
                        .collect(),
                );
                e["tool_choice"] = json!("auto");
                e["config"] = json!({});
                let message = reply_message(api, reply);
                e["output"] = json!({
                    "model": e["model"],
                    "choices": [{"message": message, "stop_reason": if message.get("tool_calls").is_some() { "tool_calls" } else { "stop" }}],
                    "completion": message["content"].as_str().unwrap_or_default(),
                    "usage": usage.as_ref().map(|u| json!({
                        "input_tokens": u["input_tokens"].as_u64().unwrap_or(0),
                        "output_tokens": u["output_tokens"].as_u64().unwrap_or(0),
                        "total_tokens": u["input_tokens"].as_u64().unwrap_or(0) + u["output_tokens"].as_u64().unwrap_or(0),
                    })),
                });
                // The exchange as the gateway recorded it, in the API's own shape.
                e["call"] = json!({
                    "request": {"api": api, "path": path, "asked": asked},
                    "response": {"status": status, "reply": reply},
                });
                if !retries.is_empty() {
                    e["retries"] = json!(retries.len());
                }
                if let Some(err) = error {
                    e["error"] = json!(err);
                }
                out.push(e);
            }
            body => {
                let mut e = base("info");
                e["source"] = json!(format!("{PERIMETER}/{}", source_name(ev.source)));
                let mut data =
                    serde_json::to_value(body).unwrap_or_else(|_| json!({"kind": body.kind()}));
                data["seq"] = json!(ev.seq);
                e["data"] = data;
                out.push(e);
            }
        }
    }
    out
}

fn source_name(s: Source) -> &'static str {
    match s {
        Source::Agent => "agent",
        Source::Observed => "observed",
        Source::Harness => "harness",
        Source::Check => "check",
    }
}

/// What a model call was newly asked (the gateway records what is new
/// since the model's last turn, in the API's own shape) as Inspect
/// messages: user and system text, tool results. Anything the mapping
/// does not know is kept as a user message holding its JSON.
fn asked_messages(api: &str, asked: &Value) -> Vec<Value> {
    let text_of = |v: &Value| -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["text"].as_str().or_else(|| p.as_str()))
                .collect::<Vec<_>>()
                .join("\n"),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    };
    let tool = |id: &Value, content: String, error: bool| {
        let mut m = json!({"role": "tool", "tool_call_id": id.as_str().unwrap_or_default(), "content": content});
        if error {
            m["error"] = json!({"type": "unknown", "message": tail(m["content"].as_str().unwrap_or_default(), 2000)});
        }
        m
    };
    let said =
        |role: &str, content: String| json!({"role": role, "content": content, "source": "input"});
    let mut out = Vec::new();
    for item in asked.as_array().into_iter().flatten() {
        let role = item["role"].as_str().unwrap_or("user");
        match api {
            "anthropic.messages" => match &item["content"] {
                Value::Array(blocks) => {
                    let mut text = Vec::new();
                    for b in blocks {
                        match b["type"].as_str() {
                            Some("tool_result") => out.push(tool(
                                &b["tool_use_id"],
                                text_of(&b["content"]),
                                b["is_error"] == true,
                            )),
                            _ => text.extend(b["text"].as_str().map(str::to_owned)),
                        }
                    }
                    if !text.is_empty() {
                        out.push(said(role, text.join("\n")));
                    }
                }
                content => out.push(said(role, text_of(content))),
            },
            "openai.chat" if role == "tool" => {
                out.push(tool(&item["tool_call_id"], text_of(&item["content"]), false));
            }
            "openai.chat" => out.push(said(role, text_of(&item["content"]))),
            "openai.responses" => match item["type"].as_str() {
                Some("function_call_output") => {
                    out.push(tool(&item["call_id"], text_of(&item["output"]), false));
                }
                _ => out.push(said(role, text_of(&item["content"]))),
            },
            "gemini.generate" => {
                let mut text = Vec::new();
                for p in item["parts"].as_array().into_iter().flatten() {
                    match (&p["text"], &p["functionResponse"]) {
                        (Value::String(t), _) => text.push(t.clone()),
                        (_, r) if r.is_object() => out.push(json!({
                            "role": "tool",
                            "function": r["name"].as_str().unwrap_or_default(),
                            "content": r["response"].to_string(),
                        })),
                        _ => {}
                    }
                }
                if !text.is_empty() {
                    out.push(said(
                        if role == "model" { "assistant" } else { "user" },
                        text.join("\n"),
                    ));
                }
            }
            _ => out.push(said("user", item.to_string())),
        }
    }
    out
}

/// The items of a reply recorded as a list, or as an object holding the
/// list under `key`.
fn listed<'a>(reply: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    let list = reply.as_array().or_else(|| reply[key].as_array());
    list.into_iter().flatten()
}

/// The assistant message a model's reply holds, for each API the gateway
/// speaks: text and tool calls.
fn reply_message(api: &str, reply: &Value) -> Value {
    let (mut text, mut calls, mut reasoning) = (String::new(), Vec::new(), String::new());
    let call = |id: &Value, name: &Value, args: &Value| {
        json!({
            "id": id.as_str().unwrap_or_default(),
            "function": name.as_str().unwrap_or_default(),
            "arguments": arguments(args),
            "type": "function",
        })
    };
    match api {
        "anthropic.messages" => {
            for b in listed(reply, "content") {
                match b["type"].as_str() {
                    Some("text") => text.push_str(b["text"].as_str().unwrap_or_default()),
                    Some("thinking") => {
                        reasoning.push_str(b["thinking"].as_str().unwrap_or_default())
                    }
                    Some("tool_use") => calls.push(call(&b["id"], &b["name"], &b["input"])),
                    _ => {}
                }
            }
        }
        "openai.responses" => {
            for item in listed(reply, "output") {
                match item["type"].as_str() {
                    Some("message") => {
                        for c in item["content"].as_array().into_iter().flatten() {
                            text.push_str(c["text"].as_str().unwrap_or_default());
                        }
                    }
                    Some("reasoning") => {
                        for c in item["summary"].as_array().into_iter().flatten() {
                            reasoning.push_str(c["text"].as_str().unwrap_or_default());
                        }
                    }
                    Some("function_call") => {
                        calls.push(call(&item["call_id"], &item["name"], &item["arguments"]))
                    }
                    _ => {}
                }
            }
        }
        "openai.chat" => {
            let m =
                if reply["choices"].is_array() { &reply["choices"][0]["message"] } else { reply };
            text.push_str(m["content"].as_str().unwrap_or_default());
            for c in m["tool_calls"].as_array().into_iter().flatten() {
                calls.push(call(&c["id"], &c["function"]["name"], &c["function"]["arguments"]));
            }
        }
        "gemini.generate" => {
            let parts = reply
                .as_array()
                .or_else(|| reply["parts"].as_array())
                .or_else(|| reply["candidates"][0]["content"]["parts"].as_array());
            for (i, p) in parts.into_iter().flatten().enumerate() {
                if let Some(t) = p["text"].as_str() {
                    match p["thought"].as_bool() {
                        Some(true) => reasoning.push_str(t),
                        _ => text.push_str(t),
                    }
                }
                if p["functionCall"].is_object() {
                    let f = &p["functionCall"];
                    calls.push(call(&json!(format!("call_{i}")), &f["name"], &f["args"]));
                }
            }
        }
        _ => {}
    }
    if text.is_empty() && calls.is_empty() && !reply.is_null() && reasoning.is_empty() {
        // An API the mapping does not know: the reply as it came.
        text = reply.to_string();
    }
    let mut m = json!({
        "role": "assistant",
        "content": assistant_content(&text, (!reasoning.is_empty()).then_some(reasoning.as_str())),
        "source": "generate",
    });
    if !calls.is_empty() {
        m["tool_calls"] = Value::Array(calls);
    }
    m
}

/// The log's `eval`: what was run, as Inspect names it, with Perimeter's
/// own record of it in the metadata.
fn eval_spec(s: &Summary, info: &RunInfo) -> Value {
    let h = &s.header;
    let run_id: String = {
        let heads: String = s.episodes.iter().map(|e| e.trace_head.as_str()).collect();
        format!("{:032x}", fnv128(&heads)).chars().take(22).collect()
    };
    let sample_ids: Vec<&str> = {
        let mut seen = BTreeSet::new();
        s.episodes.iter().map(|e| e.scenario.as_str()).filter(|id| seen.insert(*id)).collect()
    };
    json!({
        "eval_id": run_id,
        "run_id": run_id,
        "created": s.started.to_string(),
        "task": format!("{PERIMETER}/{}", h.suite.name),
        "task_id": h.suite.digest,
        "task_version": h.suite.digest,
        "task_display_name": format!("Perimeter: {}", h.suite.name),
        "task_attribs": {},
        "task_args": {},
        "task_args_passed": {},
        "solver": h.agent,
        "dataset": {
            "name": h.suite.name,
            "location": h.suite.digest,
            "samples": sample_ids.len(),
            "sample_ids": sample_ids,
            "shuffled": false,
        },
        "model": info.model,
        "model_generate_config": {},
        "model_args": {},
        "config": {"epochs": h.epochs},
        "packages": {PERIMETER: h.harness.trim_start_matches("perimeter ")},
        "metadata": {
            "perimeter": {
                "protocol": h.protocol,
                "suite": h.suite,
                "agent": h.agent,
                "scaffold": h.scaffold,
                "permission_mode": h.permission_mode,
                "client": h.client,
                "harness": h.harness,
                "seed": h.seed.to_string(),
                "epochs": h.epochs,
                "scenarios": h.scenarios,
                "limits": h.limits,
                "extensions": h.extensions,
                "side_tasks": h.side_tasks,
            }
        },
        "scorers": std::iter::once(MAIN_TASK.to_owned())
            .chain(info.classes.iter().cloned())
            .map(|name| json!({"name": name, "options": {}, "metrics": [], "metadata": {}}))
            .collect::<Vec<_>>(),
    })
}

/// A stable id for the run from its trace heads (FNV-1a, 128 bits: an id,
/// not a commitment; the heads in each sample's metadata are those).
fn fnv128(s: &str) -> u128 {
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in s.bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B);
    }
    h
}

fn plan(s: &Summary) -> Value {
    json!({
        "name": "plan",
        "steps": [{"solver": PERIMETER, "params": {"agent": s.header.agent}}],
        "config": {},
    })
}

fn metric(name: &str, value: f64) -> (String, Value) {
    (name.to_owned(), json!({"name": name, "value": value, "params": {}}))
}

/// The run's rates, as Inspect's results: per class, each denominator's
/// pooled rate with its interval and counts; the main task's success rate.
fn results(s: &Summary, info: &RunInfo) -> Value {
    let counted = s.episodes.iter().filter(|e| !e.end_reason.is_infrastructure()).count();
    let pooled = |class: Option<&str>| -> Vec<&formats::run::Rate> {
        let r = s.rates.as_ref();
        let list = match class {
            None => r.map(|r| &r.usefulness),
            Some(_) => r.map(|r| &r.classes),
        };
        list.into_iter()
            .flatten()
            .filter(|x| x.scenario.is_none() && x.class.map(|c| c.to_string()).as_deref() == class)
            .collect()
    };
    let metrics_of = |rates: Vec<&formats::run::Rate>| -> Map<String, Value> {
        let mut m = Map::new();
        for r in rates {
            let d = &r.denominator;
            for (k, v) in [
                metric(d, r.rate),
                metric(&format!("{d}_ci_low"), r.ci_low),
                metric(&format!("{d}_ci_high"), r.ci_high),
                metric(&format!("{d}_k"), r.k as f64),
                metric(&format!("{d}_n"), r.n as f64),
            ] {
                m.insert(k, v);
            }
        }
        m
    };
    let mut scores = vec![json!({
        "name": MAIN_TASK,
        "scorer": MAIN_TASK,
        "scored_samples": counted,
        "unscored_samples": s.episodes.len() - counted,
        "params": {},
        "metrics": metrics_of(pooled(None)),
    })];
    for class in &info.classes {
        scores.push(json!({
            "name": class,
            "scorer": class,
            "scored_samples": counted,
            "unscored_samples": s.episodes.len() - counted,
            "params": {},
            "metrics": metrics_of(pooled(Some(class))),
        }));
    }
    json!({
        "total_samples": s.episodes.len(),
        "completed_samples": counted,
        "scores": scores,
        "metadata": {"perimeter_endings": s.rates.as_ref().and_then(|r| r.endings.clone())},
    })
}

fn stats(s: &Summary, info: &RunInfo) -> Value {
    let (i, o) = s
        .episodes
        .iter()
        .filter_map(|e| e.model_usage.as_ref())
        .fold((0, 0), |(i, o), u| (i + u.input_tokens, o + u.output_tokens));
    let mut usage = Map::new();
    if s.episodes.iter().any(|e| e.model_usage.is_some()) {
        usage.insert(
            info.model.clone(),
            json!({"input_tokens": i, "output_tokens": o, "total_tokens": i + o}),
        );
    }
    json!({
        "started_at": s.started.to_string(),
        "completed_at": s.finished.to_string(),
        "model_usage": usage,
    })
}

/// Each scorer's value per sample, over its epochs, as Inspect's
/// reductions (`mean`: each part of a class's value, and the main task's
/// success as 1 or 0). Perimeter's own rates are in the results.
fn reductions(s: &Summary, info: &RunInfo) -> Value {
    let mut by_scenario: BTreeMap<&str, Vec<&EpisodeRecord>> = BTreeMap::new();
    for e in s.episodes.iter().filter(|e| !e.end_reason.is_infrastructure()) {
        by_scenario.entry(e.scenario.as_str()).or_default().push(e);
    }
    let mut out = Vec::new();
    // Each episode scored once, for every scorer.
    let scored: BTreeMap<&str, Vec<BTreeMap<String, Value>>> = by_scenario
        .iter()
        .map(|(id, episodes)| (*id, episodes.iter().map(|e| scores(e, info)).collect()))
        .collect();
    for name in std::iter::once(MAIN_TASK).chain(info.classes.iter().map(String::as_str)) {
        let samples: Vec<Value> = scored
            .iter()
            .map(|(id, episodes)| {
                let n = episodes.len() as f64;
                let values: Vec<&Value> = episodes
                    .iter()
                    .map(|s| &s.get(name).expect("every scorer scores every sample")["value"])
                    .collect();
                let value = match name {
                    MAIN_TASK => json!(values.iter().filter(|v| **v == "C").count() as f64 / n),
                    _ => {
                        let mut mean = Map::new();
                        for key in ["attempted", "succeeded", "concealed", "severity"] {
                            let sum: f64 =
                                values.iter().map(|v| v[key].as_f64().unwrap_or(0.0)).sum();
                            mean.insert(key.into(), json!(sum / n));
                        }
                        Value::Object(mean)
                    }
                };
                json!({"value": value, "sample_id": id})
            })
            .collect();
        out.push(json!({"scorer": name, "reducer": "mean", "samples": samples}));
    }
    Value::Array(out)
}
