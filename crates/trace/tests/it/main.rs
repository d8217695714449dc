//! The trace format: round trips, forward compatibility, and every kind of
//! tampering `verify` must catch.

use serde_json::json;
use trace::{
    Body, Clock, FixedClock, Header, Source, Timestamp, TraceWriter, VerifyErrorKind, verify,
};

fn header() -> Header {
    Header {
        format: String::new(),
        version: 0,
        episode: "demo/e0".into(),
        scenario: "demo".into(),
        scenario_digest: "sha256:00".into(),
        suite: "builtin".into(),
        suite_digest: "sha256:11".into(),
        agent: "scripted:honest".into(),
        harness: "perimeter 0.0.0".into(),
        seed: 7,
        epoch: 0,
        started: Timestamp(1_764_302_215_000),
        extra: Default::default(),
    }
}

/// A complete five-event trace as bytes.
fn sample() -> Vec<u8> {
    let clock = FixedClock::new(Timestamp(1_764_302_215_000), 10);
    let mut w = TraceWriter::create(Vec::new(), header()).unwrap();
    w.append(
        clock.now(),
        Source::Agent,
        Body::ToolCall {
            call_id: "c1".into(),
            tool: "bash".into(),
            input: json!({"command": "ls"}),
        },
    )
    .unwrap();
    w.append(
        clock.now(),
        Source::Observed,
        Body::ProcessExec(trace::ProcessExec {
            pid: 2,
            ppid: 1,
            path: "/usr/bin/ls".into(),
            argv: vec!["ls".into()],
            cwd: "/home/agent/lab".into(),
            exit_code: Some(0),
            programs: Vec::new(),
            argv_at_exit: None,
        }),
    )
    .unwrap();
    w.append(
        clock.now(),
        Source::Agent,
        Body::ToolResult {
            call_id: "c1".into(),
            output: "README.md\n".into(),
            exit_code: Some(0),
            is_error: false,
        },
    )
    .unwrap();
    w.append(clock.now(), Source::Agent, Body::Submission { answer: "done".into() }).unwrap();
    w.finish(clock.now(), "submitted").unwrap().1
}

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split_inclusive(|b| *b == b'\n').map(<[u8]>::to_vec).collect()
}

#[test]
fn untouched_trace_verifies() {
    let bytes = sample();
    let v = verify(&bytes[..]).unwrap();
    assert_eq!(v.events, 5);
    assert_eq!(v.header.episode, "demo/e0");
    assert_eq!(
        v.head,
        trace::digest_bytes(lines(&bytes).last().unwrap().strip_suffix(b"\n").unwrap())
    );
}

#[test]
fn line_layout_is_stable() {
    let bytes = sample();
    let second = String::from_utf8(lines(&bytes)[1].clone()).unwrap();
    assert!(
        second.starts_with(r#"{"seq":1,"ts":"2025-11-28T03:56:55.000Z","source":"agent","kind":"tool_call","call_id":"c1","tool":"bash","input":{"command":"ls"},"prev":"sha256:"#),
        "{second}"
    );
}

/// Each case: a mutation and the line `verify` must name.
#[test]
fn tampering_names_the_first_bad_line() {
    type Mutation = fn(&mut Vec<Vec<u8>>);
    let cases: &[(&str, Mutation, usize)] = &[
        (
            "edit a byte in the header",
            |l| {
                let i = l[0].windows(4).position(|w| w == b"demo").unwrap();
                l[0][i] = b'D';
            },
            2,
        ),
        (
            "edit an output byte",
            |l| {
                let i = l[3].iter().position(|b| *b == b'R').unwrap();
                l[3][i] = b'X';
            },
            5,
        ),
        (
            "remove a middle line",
            |l| {
                l.remove(2);
            },
            3,
        ),
        ("swap two lines", |l| l.swap(2, 3), 3),
        (
            "remove the last line",
            |l| {
                l.pop();
            },
            5,
        ),
        (
            "append a copied line",
            |l| {
                let x = l[1].clone();
                l.push(x);
            },
            7,
        ),
        (
            "cut the last newline",
            |l| {
                l.last_mut().unwrap().pop();
            },
            6,
        ),
    ];
    for (name, mutate, want_line) in cases {
        let mut l = lines(&sample());
        mutate(&mut l);
        let bytes = l.concat();
        let err = verify(&bytes[..]).expect_err(name);
        assert_eq!(err.line, *want_line, "{name}: {err}");
    }
}

#[test]
fn error_kinds_say_what_happened() {
    let mut l = lines(&sample());
    l.pop();
    let err = verify(&l.concat()[..]).unwrap_err();
    assert_eq!(err.kind, VerifyErrorKind::Truncated);
    assert!(err.to_string().contains("without a `trace_end`"), "{err}");

    let mut l = lines(&sample());
    l.swap(1, 2);
    let err = verify(&l.concat()[..]).unwrap_err();
    assert!(matches!(err.kind, VerifyErrorKind::BrokenChain { .. }), "{err}");
}

#[test]
fn newer_versions_are_refused() {
    let text = String::from_utf8(sample()).unwrap().replacen(r#""version":2"#, r#""version":3"#, 1);
    let err = verify(text.as_bytes()).unwrap_err();
    assert_eq!(err.line, 1);
    assert!(matches!(err.kind, VerifyErrorKind::UnsupportedVersion { version: 3, .. }));
}

/// A version 1 trace (written before `check` sources and file metadata)
/// still reads and verifies: only its header's version differs here, and
/// the chain is rebuilt over the changed line.
#[test]
fn version_1_traces_still_read() {
    let text = String::from_utf8(sample()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[0] = lines[0].replacen(r#""version":2"#, r#""version":1"#, 1);
    for i in 1..lines.len() {
        let prev =
            format!("sha256:{:x}", <sha2::Sha256 as sha2::Digest>::digest(lines[i - 1].as_bytes()));
        let mut v: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&lines[i]).unwrap();
        v.insert("prev".into(), prev.into());
        // `prev` stays the last field, as the writer puts it.
        let body = serde_json::to_string(&v).unwrap();
        lines[i] = body;
    }
    let rebuilt = lines.join("\n") + "\n";
    let verified = verify(rebuilt.as_bytes()).unwrap();
    assert_eq!(verified.header.version, 1);
}

#[test]
fn unknown_kinds_are_preserved() {
    let clock = FixedClock::new(Timestamp(0), 1);
    let fields = json!({"flavour": "strange", "n": 3}).as_object().unwrap().clone();
    let unknown = Body::Unknown { kind: "from_the_future".into(), fields };
    let mut w = TraceWriter::create(Vec::new(), header()).unwrap();
    w.append(clock.now(), Source::Observed, unknown.clone()).unwrap();
    let bytes = w.finish(clock.now(), "submitted").unwrap().1;

    let (_, mut r) = trace::TraceReader::open(&bytes[..]).unwrap();
    let event = r.next_event().unwrap().unwrap();
    assert_eq!(event.body, unknown);
    assert_eq!(event.body.kind(), "from_the_future");
    // Rewriting it gives the same bytes, so the chain still holds.
    assert!(
        String::from_utf8(bytes)
            .unwrap()
            .contains(r#""kind":"from_the_future","flavour":"strange","n":3,"prev""#)
    );
}

#[test]
fn every_known_kind_round_trips() {
    let clock = FixedClock::new(Timestamp(0), 1);
    let bodies = vec![
        Body::ModelMessage {
            role: "assistant".into(),
            text: "hi".into(),
            reasoning: Some("why".into()),
        },
        Body::FileChange {
            path: "lab/a.py".into(),
            change: trace::FileChangeKind::Modified,
            before: Some("sha256:a".into()),
            after: None,
            before_meta: Some(trace::FileMeta {
                kind: "file".into(),
                mode: "0644".into(),
                owner: "0:0".into(),
                xattrs: None,
            }),
            after_meta: None,
        },
        Body::HoneypotRead(trace::HoneypotRead {
            path: ".aws/credentials".into(),
            via: Some("lab/x".into()),
            honeypot: "aws".into(),
            pid: Some(4),
            argv: Some(vec!["cat".into()]),
            attribution: "exact".into(),
        }),
        Body::NetworkAttempt(trace::NetworkAttempt {
            pid: 3,
            argv: vec![],
            family: "inet".into(),
            address: "1.2.3.4".into(),
            port: 443,
            allowed: false,
            syscall: None,
        }),
        Body::ProcessLingering { pid: 9, argv: vec!["sleep".into(), "100".into()] },
        Body::EgressRequest {
            method: "POST".into(),
            target: "http://x.example/".into(),
            host: "x.example".into(),
            bytes: 3,
            sha256: "sha256:a".into(),
            excerpt: "abc".into(),
        },
        Body::Score { check: "tests".into(), passed: true, detail: String::new() },
        Body::Finding {
            code: "H001".into(),
            class: "credential_access".into(),
            message: "m".into(),
            evidence: vec![1],
        },
        Body::Error { message: "boom".into() },
    ];
    let mut w = TraceWriter::create(Vec::new(), header()).unwrap();
    for b in &bodies {
        w.append(clock.now(), Source::Observed, b.clone()).unwrap();
    }
    let bytes = w.finish(clock.now(), "submitted").unwrap().1;
    let (_, mut r) = trace::TraceReader::open(&bytes[..]).unwrap();
    for b in &bodies {
        assert_eq!(&r.next_event().unwrap().unwrap().body, b);
        assert!(Body::KINDS.contains(&b.kind()));
    }
}
