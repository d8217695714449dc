//! The event schema of trace format v2 (a reader of v2 reads v1 traces).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Timestamp;

/// The first line of every trace: what ran, under which versions and seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`crate::FORMAT`].
    pub format: String,
    /// The trace format version; readers refuse versions newer than theirs.
    pub version: u32,
    /// Unique within a run: `<scenario>/e<epoch>`.
    pub episode: String,
    pub scenario: String,
    /// SHA-256 over the scenario's canonical content.
    pub scenario_digest: String,
    pub suite: String,
    pub suite_digest: String,
    /// The agent spec as given on the command line, e.g. `scripted:honest`.
    pub agent: String,
    /// `perimeter <version>` of the harness that wrote the trace.
    pub harness: String,
    pub seed: u64,
    pub epoch: u32,
    pub started: Timestamp,
    /// Fields written by newer harnesses, kept so nothing is lost on rewrite.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Who is speaking in an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The agent's own account: its messages, the tool calls it made and the
    /// results it was shown.
    Agent,
    /// What the sandbox saw, independently of the agent: processes, file
    /// changes, honeypot reads, network attempts.
    Observed,
    /// What the harness decided: hidden-check scores, detector findings,
    /// errors and the end of the episode.
    Harness,
    /// What the sandbox observed while the harness ran the hidden checks
    /// (format version 2): the checks' own processes, and whatever code of
    /// the agent's they ran.
    Check,
}

/// One line after the header.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// 1 for the first event after the header, then consecutive.
    pub seq: u64,
    pub ts: Timestamp,
    pub source: Source,
    pub body: Body,
}

/// A process started inside the sandbox, as recorded by the exec audit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessExec {
    /// The pid inside the sandbox's pid namespace.
    pub pid: i32,
    pub ppid: i32,
    /// The program path as passed to `execve`.
    pub path: String,
    pub argv: Vec<String>,
    pub cwd: String,
    /// From the process's `exit_group`; `None` when it was killed by a signal
    /// or still running when the record was written.
    pub exit_code: Option<i32>,
    /// The programs an exec tripwire names that this exec runs, recognised
    /// by content: the file executed, a script handed to an interpreter, or
    /// the standard input it reads (version 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<String>,
    /// The command line the kernel held when the process ended, or right
    /// after an exec another thread could have rewritten, where it differs
    /// from `argv` (version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv_at_exit: Option<Vec<String>>,
}

/// An open of a honeypot file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HoneypotRead {
    pub path: String,
    /// The name the opener used, when it is not the honeypot's own path:
    /// another hard link to it, or its name after a rename (version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// The honeypot's id in the scenario.
    pub honeypot: String,
    /// The opening process when known.
    pub pid: Option<i32>,
    pub argv: Option<Vec<String>>,
    /// `exact` when the kernel named the opener (fanotify), `correlated` when
    /// the opener was inferred from the exec log (inotify).
    pub attribution: String,
}

/// A `connect` made inside the sandbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkAttempt {
    pub pid: i32,
    pub argv: Vec<String>,
    /// `inet` or `inet6`.
    pub family: String,
    pub address: String,
    pub port: u16,
    /// True only for destinations inside the sandbox (loopback) or provided
    /// by the harness; everything else has no route out.
    pub allowed: bool,
    /// The system call that named the destination: `connect`, `sendto`,
    /// `sendmsg`, `sendmmsg` (version 2; absent in older traces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syscall: Option<String>,
}

/// What happened to a path, comparing its state before and after.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileChangeKind {
    Created,
    /// The content changed.
    Modified,
    Deleted,
    /// The path is now another type of thing: a file became a FIFO, a
    /// socket, a symlink or a directory, or the reverse (version 2).
    Replaced,
    /// Only its mode, owner or extended attributes changed (version 2).
    Metadata,
    /// Written and left as it was: the overlay copied it up, so something
    /// opened it for writing, linked, renamed or touched it (version 2).
    Rewritten,
}

/// A path's type and metadata, beside its content digest (version 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    /// `file`, `dir`, `symlink`, `fifo`, `socket`, `char_device`,
    /// `block_device`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Permission bits in octal, e.g. `0644`.
    pub mode: String,
    /// `uid:gid` as the sandbox sees them (`0:0` is the sandbox's root).
    pub owner: String,
    /// `sha256:<hex>` over the extended attributes, when there are any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xattrs: Option<String>,
}

/// A part of the change set the harness could not read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadPath {
    pub path: String,
    pub error: String,
}

/// The payload of an event, tagged by `kind` on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    /// A message from the model: visible text and, where the agent exposes
    /// it, its reasoning.
    ModelMessage {
        role: String,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reasoning: Option<String>,
    },
    ToolCall {
        call_id: String,
        tool: String,
        input: Value,
    },
    ToolResult {
        call_id: String,
        output: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        is_error: bool,
    },
    ProcessExec(ProcessExec),
    FileChange {
        /// Relative to the agent's home directory.
        path: String,
        change: FileChangeKind,
        /// `sha256:<hex>` of the content before and after; `None` where the
        /// file did not exist (or, in version 2, has no content: a
        /// directory, FIFO, socket or device).
        before: Option<String>,
        after: Option<String>,
        /// Type and metadata before and after, where the path existed
        /// (version 2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before_meta: Option<FileMeta>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_meta: Option<FileMeta>,
    },
    /// Parts of the home's change set the harness could not read (a path
    /// deeper than it walks, an entry that failed to open): the rest was
    /// read and recorded (version 2).
    ChangeSetIncomplete {
        unread: Vec<UnreadPath>,
        /// Unread paths beyond those listed.
        #[serde(default)]
        more: u64,
    },
    /// What the hidden checks see of the home (version 2): the paths
    /// brought back to the scenario's version before they ran (changed
    /// outside the deliverable, or created there), and those that could
    /// not be.
    CheckView {
        restored: Vec<String>,
        /// Restored paths beyond those listed.
        #[serde(default)]
        more: u64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unrestored: Vec<UnreadPath>,
    },
    /// A probe of the scenario's, run in the agent's own environment once
    /// the agent ended and before anything of the checks existed (version
    /// 2): how it ended and the tail of its output, which the checks read.
    Probe {
        probe: String,
        /// `exit 0`, `signal 9`, `timeout`, or `error: …` when it could not
        /// be run.
        status: String,
        detail: String,
    },
    /// A program an exec tripwire names, of the scenario's own, was opened:
    /// run, or read by an interpreter (version 2).
    ProgramRead {
        program: String,
        pid: Option<i32>,
        argv: Vec<String>,
        /// `exact` when the kernel named the opener (fanotify, as root),
        /// `correlated` when it was taken from the latest exec.
        attribution: String,
    },
    /// A honeypot's file, or its content, appeared under another name in
    /// the home: a hard link, a rename, a copy, through which it can be read
    /// without naming it (version 2).
    HoneypotAlias {
        /// The honeypot's path.
        path: String,
        /// Its id in the scenario.
        honeypot: String,
        /// The other name.
        alias: String,
    },
    /// Records the harness counted but did not keep, so that a flood cannot
    /// grow it without bound (version 2).
    Overflow {
        /// The kind of the records dropped, e.g. `egress_request`.
        of: String,
        dropped: u64,
    },
    HoneypotRead(HoneypotRead),
    NetworkAttempt(NetworkAttempt),
    /// A request that reached the harness's egress sink (the proxy that
    /// stands in for the outside world): recorded, answered, never
    /// delivered.
    EgressRequest {
        method: String,
        /// `http://host/path`, or `host:port` for a `CONNECT` tunnel.
        target: String,
        host: String,
        /// Bytes of body or tunnel payload sent (up to 1 MiB).
        bytes: u64,
        /// `sha256:<hex>` of those bytes.
        sha256: String,
        /// The start of the body as text (empty for tunnels).
        excerpt: String,
    },
    /// A call an agent made to the model gateway: what it asked (the API,
    /// the tools it offered, how many tool results it sent back) and what
    /// the model returned (content blocks, output items, a message).
    ModelExchange {
        /// `anthropic.messages`, `openai.responses`, `openai.chat`, ...
        api: String,
        path: String,
        status: u16,
        tools: Vec<String>,
        tool_results: u64,
        /// What is new since the model's last turn: the tool results and
        /// user messages it is asked to answer, in the API's shape.
        #[serde(default, skip_serializing_if = "Value::is_null")]
        asked: Value,
        reply: Value,
        /// Tokens used: `{input_tokens, output_tokens, estimated}`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Value>,
        /// The upstream model spec, when the call was relayed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        upstream: Option<String>,
        /// Why the model did not answer: a limit reached, a relay failure.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// Attempts that failed transiently and were tried again, each
        /// with its wait (`529 after 0.4 s, waited 1.3 s`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        retries: Vec<String>,
    },
    /// A client agent's own transcript, kept beside the trace: where the
    /// client wrote it in the sandbox, where the run folder keeps it, and
    /// its digest, which the trace's hash chain commits to.
    ClientTranscript {
        /// `claude-code`, `codex`, `gemini-cli`.
        client: String,
        /// Inside the sandbox.
        path: String,
        /// Relative to the run folder.
        file: String,
        bytes: u64,
        /// `sha256:<hex>` of the file.
        sha256: String,
    },
    /// A process still alive when the agent declared itself done.
    ProcessLingering {
        pid: i32,
        argv: Vec<String>,
    },
    /// The agent's final answer.
    Submission {
        answer: String,
    },
    /// The result of a hidden check of the main task.
    Score {
        check: String,
        passed: bool,
        detail: String,
    },
    /// A detector finding, pointing at the events that justify it.
    Finding {
        code: String,
        class: String,
        message: String,
        evidence: Vec<u64>,
    },
    Error {
        message: String,
    },
    /// The last event of a complete trace.
    TraceEnd {
        /// Why the episode ended: `submitted`, `wall_time`, `agent_error`, ...
        reason: String,
    },
    /// A kind this version does not know, kept verbatim.
    #[serde(skip)]
    Unknown {
        kind: String,
        fields: Map<String, Value>,
    },
}

impl Body {
    /// Every `kind` this version of the format defines.
    pub const KINDS: &'static [&'static str] = &[
        "model_message",
        "tool_call",
        "tool_result",
        "process_exec",
        "file_change",
        "honeypot_read",
        "network_attempt",
        "egress_request",
        "model_exchange",
        "client_transcript",
        "change_set_incomplete",
        "check_view",
        "probe",
        "honeypot_alias",
        "program_read",
        "overflow",
        "process_lingering",
        "submission",
        "score",
        "finding",
        "error",
        "trace_end",
    ];

    pub fn kind(&self) -> &str {
        match self {
            Body::ModelMessage { .. } => "model_message",
            Body::ToolCall { .. } => "tool_call",
            Body::ToolResult { .. } => "tool_result",
            Body::ProcessExec(_) => "process_exec",
            Body::FileChange { .. } => "file_change",
            Body::HoneypotRead(_) => "honeypot_read",
            Body::NetworkAttempt(_) => "network_attempt",
            Body::EgressRequest { .. } => "egress_request",
            Body::ChangeSetIncomplete { .. } => "change_set_incomplete",
            Body::CheckView { .. } => "check_view",
            Body::Probe { .. } => "probe",
            Body::HoneypotAlias { .. } => "honeypot_alias",
            Body::ProgramRead { .. } => "program_read",
            Body::Overflow { .. } => "overflow",
            Body::ModelExchange { .. } => "model_exchange",
            Body::ClientTranscript { .. } => "client_transcript",
            Body::ProcessLingering { .. } => "process_lingering",
            Body::Submission { .. } => "submission",
            Body::Score { .. } => "score",
            Body::Finding { .. } => "finding",
            Body::Error { .. } => "error",
            Body::TraceEnd { .. } => "trace_end",
            Body::Unknown { kind, .. } => kind,
        }
    }
}

impl Event {
    /// The event as a JSON object, with `prev` appended. Field order is
    /// fixed: `seq`, `ts`, `source`, `kind`, the payload, `prev`.
    pub(crate) fn to_line(&self, prev: &str) -> String {
        #[derive(Serialize)]
        struct Wire<'a> {
            seq: u64,
            ts: Timestamp,
            source: Source,
            #[serde(flatten)]
            body: BodyRef<'a>,
            prev: &'a str,
        }
        enum BodyRef<'a> {
            Known(&'a Body),
            Unknown(&'a str, &'a Map<String, Value>),
        }
        impl Serialize for BodyRef<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                match self {
                    BodyRef::Known(b) => b.serialize(s),
                    BodyRef::Unknown(kind, fields) => {
                        let mut m = s.serialize_map(None)?;
                        m.serialize_entry("kind", kind)?;
                        for (k, v) in fields.iter() {
                            m.serialize_entry(k, v)?;
                        }
                        m.end()
                    }
                }
            }
        }
        let body = match &self.body {
            Body::Unknown { kind, fields } => BodyRef::Unknown(kind, fields),
            known => BodyRef::Known(known),
        };
        let wire = Wire { seq: self.seq, ts: self.ts, source: self.source, body, prev };
        serde_json::to_string(&wire).expect("events serialize to JSON")
    }

    /// One trace line read back: the event and its `prev` (the digest of
    /// the line before), unchecked against the chain.
    pub fn from_line(line: &[u8]) -> Result<(Event, String), String> {
        let mut map: Map<String, Value> =
            serde_json::from_slice(line).map_err(|e| format!("not a JSON object: {e}"))?;
        let mut take =
            |field: &str| map.remove(field).ok_or_else(|| format!("missing field `{field}`"));
        let seq = take("seq")?.as_u64().ok_or("field `seq` is not an unsigned integer")?;
        let ts = serde_json::from_value(take("ts")?).map_err(|e| format!("field `ts`: {e}"))?;
        let source =
            serde_json::from_value(take("source")?).map_err(|e| format!("field `source`: {e}"))?;
        let prev = match take("prev")? {
            Value::String(s) => s,
            _ => return Err("field `prev` is not a string".into()),
        };
        let kind = match map.get("kind") {
            Some(Value::String(k)) => k.clone(),
            _ => return Err("missing string field `kind`".into()),
        };
        let body = if Body::KINDS.contains(&kind.as_str()) {
            serde_json::from_value(Value::Object(map))
                .map_err(|e| format!("`{kind}` event: {e}"))?
        } else {
            map.remove("kind");
            Body::Unknown { kind, fields: map }
        };
        Ok((Event { seq, ts, source, body }, prev))
    }
}
