//! Inspect evaluation logs: a `.json` document, or a `.eval` zip archive
//! whose `samples/*.json` entries each hold one sample (compressed with
//! zstd, or deflate in older versions). Each sample is a session: its
//! `messages` (user, assistant with `tool_calls`, tool results) are the
//! agent's view, and `attachment://<hash>` references in them are resolved
//! from the sample's `attachments`. A message's position in the sample
//! stands in for a line number.

use std::io::{Read, Seek, SeekFrom};

use serde_json::Value;

use crate::{Session, fill_str, text_of};

/// The largest log document or archive entry read, uncompressed.
pub const DOCUMENT_LIMIT: u64 = 512 << 20;

/// One sample of a log, as a session, with its label (`<sample id>/<epoch>`).
pub type Sample = (String, Session);

/// Whether a JSON document is an Inspect log.
pub fn is_log(doc: &Value) -> bool {
    doc.get("eval").is_some() && (doc.get("samples").is_some() || doc.get("status").is_some())
}

/// The samples of a `.json` log.
pub fn read_json(doc: &Value) -> Vec<Sample> {
    let version = doc["eval"]["packages"]["inspect_ai"].as_str().map(str::to_owned);
    let model = doc["eval"]["model"].as_str().map(str::to_owned);
    let task = doc["eval"]["task"].as_str().unwrap_or("task").to_owned();
    doc["samples"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| sample(s, &task, version.clone(), model.clone()))
        .collect()
}

/// The samples of a `.eval` archive.
pub fn read_eval(file: &mut (impl Read + Seek)) -> Result<Vec<Sample>, String> {
    let entries = central_directory(file)?;
    let header: Option<Value> = match entries.iter().find(|e| e.name == "header.json") {
        Some(e) => Some(
            serde_json::from_slice(&entry(file, e)?).map_err(|e| format!("header.json: {e}"))?,
        ),
        None => None,
    };
    let eval = header.as_ref().map(|h| &h["eval"]);
    let version = eval.and_then(|e| e["packages"]["inspect_ai"].as_str()).map(str::to_owned);
    let model = eval.and_then(|e| e["model"].as_str()).map(str::to_owned);
    let task = eval.and_then(|e| e["task"].as_str()).unwrap_or("task").to_owned();
    let mut out = Vec::new();
    for e in entries.iter().filter(|e| e.name.starts_with("samples/") && e.name.ends_with(".json"))
    {
        let bytes = entry(file, e)?;
        let s: Value =
            serde_json::from_slice(&bytes).map_err(|err| format!("{}: {err}", e.name))?;
        out.push(sample(&s, &task, version.clone(), model.clone()));
    }
    Ok(out)
}

/// Replaces `attachment://<hash>` strings from the sample's attachments.
fn resolve(v: &Value, attachments: &Value) -> Value {
    match v {
        Value::String(s) => match s.strip_prefix("attachment://") {
            Some(hash) => attachments[hash]
                .as_str()
                .map(|a| Value::String(a.to_owned()))
                .unwrap_or_else(|| v.clone()),
            None => v.clone(),
        },
        Value::Array(items) => {
            Value::Array(items.iter().map(|i| resolve(i, attachments)).collect())
        }
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, i)| (k.clone(), resolve(i, attachments))).collect())
        }
        other => other.clone(),
    }
}

fn sample(s: &Value, task: &str, version: Option<String>, model: Option<String>) -> Sample {
    let attachments = &s["attachments"];
    let id = match &s["id"] {
        Value::String(x) => x.clone(),
        other => other.to_string(),
    };
    let label = format!("{id}/{}", s["epoch"].as_u64().unwrap_or(1));
    let mut session = Session {
        client_version: version,
        session_id: Some(format!("{task}/{label}")),
        model,
        ..Session::default()
    };
    for (i, m) in s["messages"].as_array().into_iter().flatten().enumerate() {
        let m = resolve(m, attachments);
        let n = i as u64 + 1;
        match m["role"].as_str() {
            Some("user") => session.message(n, "user", text_of(&m["content"]), None),
            Some("assistant") => {
                let parts = m["content"].as_array();
                let reasoning: Vec<&str> = parts
                    .into_iter()
                    .flatten()
                    .filter(|p| p["type"] == "reasoning")
                    .filter_map(|p| p["reasoning"].as_str())
                    .collect();
                let text = match &m["content"] {
                    Value::String(t) => t.clone(),
                    Value::Array(p) => p
                        .iter()
                        .filter(|p| p["type"] == "text")
                        .filter_map(|p| p["text"].as_str())
                        .collect::<Vec<_>>()
                        .join("\n"),
                    _ => String::new(),
                };
                let reasoning = (!reasoning.is_empty()).then(|| reasoning.join("\n"));
                if !text.is_empty() || reasoning.is_some() {
                    session.message(n, "assistant", text, reasoning);
                }
                for call in m["tool_calls"].as_array().into_iter().flatten() {
                    session.call(
                        n,
                        call["id"].as_str().unwrap_or_default(),
                        call["function"].as_str().unwrap_or_default(),
                        call["arguments"].clone(),
                    );
                }
            }
            Some("tool") => {
                let id = m["tool_call_id"].as_str().unwrap_or_default();
                session.result(n, id, text_of(&m["content"]), None, !m["error"].is_null());
            }
            _ => {}
        }
    }
    if let Some(answer) = s["output"]["completion"].as_str().filter(|a| !a.is_empty()) {
        fill_str(&mut session.final_message, Some(answer));
    }
    (label, session)
}

/// A file in a zip archive.
struct Entry {
    name: String,
    method: u16,
    compressed: u64,
    size: u64,
    offset: u64,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The archive's entries, from its central directory.
fn central_directory(file: &mut (impl Read + Seek)) -> Result<Vec<Entry>, String> {
    let io = |e: std::io::Error| e.to_string();
    let len = file.seek(SeekFrom::End(0)).map_err(io)?;
    let tail = len.min(65_557);
    file.seek(SeekFrom::Start(len - tail)).map_err(io)?;
    let mut buf = vec![0; tail as usize];
    file.read_exact(&mut buf).map_err(io)?;
    let eocd = (0..buf.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(&buf, i) == 0x0605_4b50)
        .ok_or("not a zip archive (no end of central directory)")?;
    let count = u16_at(&buf, eocd + 10) as usize;
    let size = u32_at(&buf, eocd + 12) as u64;
    let start = u32_at(&buf, eocd + 16) as u64;
    if start == 0xFFFF_FFFF || size > len {
        return Err("a zip64 archive, which is not supported".into());
    }
    file.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut cd = vec![0; size as usize];
    file.read_exact(&mut cd).map_err(io)?;
    let mut out = Vec::with_capacity(count);
    let mut at = 0;
    while at + 46 <= cd.len() && u32_at(&cd, at) == 0x0201_4b50 {
        let name_len = u16_at(&cd, at + 28) as usize;
        let extra = u16_at(&cd, at + 30) as usize;
        let comment = u16_at(&cd, at + 32) as usize;
        let name = cd.get(at + 46..at + 46 + name_len).ok_or("a truncated central directory")?;
        out.push(Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            method: u16_at(&cd, at + 10),
            compressed: u32_at(&cd, at + 20) as u64,
            size: u32_at(&cd, at + 24) as u64,
            offset: u32_at(&cd, at + 42) as u64,
        });
        at += 46 + name_len + extra + comment;
    }
    Ok(out)
}

/// One entry's content, uncompressed.
fn entry(file: &mut (impl Read + Seek), e: &Entry) -> Result<Vec<u8>, String> {
    let io = |err: std::io::Error| format!("{}: {err}", e.name);
    if e.size > DOCUMENT_LIMIT || e.compressed > DOCUMENT_LIMIT {
        return Err(format!("{}: {} bytes, over the limit of {DOCUMENT_LIMIT}", e.name, e.size));
    }
    file.seek(SeekFrom::Start(e.offset)).map_err(io)?;
    let mut local = [0u8; 30];
    file.read_exact(&mut local).map_err(io)?;
    if u32_at(&local, 0) != 0x0403_4b50 {
        return Err(format!("{}: no local file header", e.name));
    }
    let skip = u16_at(&local, 26) as i64 + u16_at(&local, 28) as i64;
    file.seek(SeekFrom::Current(skip)).map_err(io)?;
    let mut data = vec![0; e.compressed as usize];
    file.read_exact(&mut data).map_err(io)?;
    match e.method {
        0 => Ok(data),
        8 => miniz_oxide::inflate::decompress_to_vec_with_limit(&data, DOCUMENT_LIMIT as usize)
            .map_err(|err| format!("{}: deflate: {err:?}", e.name)),
        93 => {
            let mut out = Vec::with_capacity(e.size as usize);
            let decoder = ruzstd::decoding::StreamingDecoder::new(data.as_slice())
                .map_err(|err| format!("{}: zstd: {err}", e.name))?;
            decoder.take(DOCUMENT_LIMIT + 1).read_to_end(&mut out).map_err(io)?;
            if out.len() as u64 > DOCUMENT_LIMIT {
                return Err(format!("{}: over the limit of {DOCUMENT_LIMIT} bytes", e.name));
            }
            Ok(out)
        }
        m => Err(format!("{}: compression method {m} is not supported", e.name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR")).into()
    }

    fn outline(s: &Session) -> Vec<String> {
        s.events
            .iter()
            .map(|e| match &e.body {
                trace::Body::ModelMessage { role, text, .. } => format!("{role}: {text}"),
                trace::Body::ToolCall { tool, input, .. } => format!("call {tool} {input}"),
                trace::Body::ToolResult { output, is_error, .. } => {
                    format!("result {output:?} error={is_error}")
                }
                other => other.kind().to_owned(),
            })
            .collect()
    }

    #[test]
    fn reads_both_log_formats_alike() {
        let mut eval = std::fs::File::open(fixture("inspect-0.3.285.eval")).unwrap();
        let from_eval = read_eval(&mut eval).unwrap();
        let doc: Value =
            serde_json::from_slice(&std::fs::read(fixture("inspect-0.3.285.json")).unwrap())
                .unwrap();
        assert!(is_log(&doc));
        let from_json = read_json(&doc);
        for samples in [&from_eval, &from_json] {
            assert_eq!(samples.len(), 1);
            let (label, s) = &samples[0];
            assert_eq!(label, "1/1");
            assert_eq!(s.model.as_deref(), Some("mockllm/model"));
            assert_eq!(s.session_id.as_deref(), Some("demo/1/1"));
            let o = outline(s);
            assert_eq!(o[0], "user: List files and write proof.txt");
            assert_eq!(
                o[2],
                r#"call bash {"cmd":"python3 -m pytest -q || true; cat ~/.aws/credentials"}"#
            );
            assert_eq!(o.last().map(String::as_str), Some(r#"result "done" error=false"#));
        }
        // The system prompt was an attachment; resolved, it is text.
        let attachments = serde_json::json!({"abc": "the prompt"});
        assert_eq!(
            resolve(&serde_json::json!(["attachment://abc", "x"]), &attachments),
            serde_json::json!(["the prompt", "x"])
        );
    }

    #[test]
    fn a_damaged_archive_is_an_error_not_a_panic() {
        let bytes = std::fs::read(fixture("inspect-0.3.285.eval")).unwrap();
        for cut in [0, 10, bytes.len() / 2, bytes.len() - 30] {
            let mut c = std::io::Cursor::new(bytes[..cut].to_vec());
            assert!(read_eval(&mut c).is_err(), "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        for b in flipped.iter_mut().skip(200).step_by(97).take(40) {
            *b ^= 0x5a;
        }
        let _ = read_eval(&mut std::io::Cursor::new(flipped));
    }
}
