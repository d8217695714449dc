//! Writing, reading and verifying the hash chain.

use std::fmt;
use std::io::{self, BufRead, Write};

use sha2::{Digest as _, Sha256};

use crate::{Body, Event, FORMAT, Header, Source, Timestamp, VERSION};

/// `sha256:<64 lowercase hex digits>`.
pub type Digest = String;

/// The digest of `bytes` in the form traces use.
pub fn digest_bytes(bytes: &[u8]) -> Digest {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for b in hash {
        use fmt::Write as _;
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Appends events to a trace, maintaining `seq` and `prev`.
///
/// Every line is written with a single `write_all`, so a crash leaves at
/// worst one partial last line, which [`verify`] reports.
pub struct TraceWriter<W: Write> {
    out: W,
    prev: Digest,
    next_seq: u64,
}

impl<W: Write> TraceWriter<W> {
    /// Writes the header line. `header.format` and `header.version` are
    /// overwritten with this crate's.
    pub fn create(mut out: W, mut header: Header) -> io::Result<Self> {
        header.format = FORMAT.to_owned();
        header.version = VERSION;
        let line = serde_json::to_string(&header).map_err(io::Error::other)?;
        let prev = write_line(&mut out, &line)?;
        Ok(TraceWriter { out, prev, next_seq: 1 })
    }

    /// Appends one event and returns its sequence number.
    pub fn append(&mut self, ts: Timestamp, source: Source, body: Body) -> io::Result<u64> {
        let seq = self.next_seq;
        let line = Event { seq, ts, source, body }.to_line(&self.prev);
        self.prev = write_line(&mut self.out, &line)?;
        self.next_seq += 1;
        Ok(seq)
    }

    /// The sequence number the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Appends [`Body::TraceEnd`], flushes, and returns the digest of the last
    /// line (which commits to the whole trace) and the writer.
    pub fn finish(mut self, ts: Timestamp, reason: &str) -> io::Result<(Digest, W)> {
        self.append(ts, Source::Harness, Body::TraceEnd { reason: reason.to_owned() })?;
        self.out.flush()?;
        Ok((self.prev, self.out))
    }
}

fn write_line(out: &mut impl Write, line: &str) -> io::Result<Digest> {
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    out.write_all(&buf)?;
    Ok(digest_bytes(line.as_bytes()))
}

/// What is wrong with a trace, and on which line (1-based; the header is
/// line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    pub line: usize,
    pub kind: VerifyErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyErrorKind {
    Io(String),
    Empty,
    BadHeader(String),
    UnsupportedVersion {
        format: String,
        version: u32,
    },
    BadEvent(String),
    /// The line does not end in a newline: the file was cut mid-line.
    Unterminated,
    /// `prev` does not match the hash of the line before: an earlier line
    /// was edited, or lines were removed, reordered or inserted.
    BrokenChain {
        expected: Digest,
        found: Digest,
    },
    BadSequence {
        expected: u64,
        found: u64,
    },
    /// The file ends without a `trace_end` event.
    Truncated,
    /// Lines follow the `trace_end` event.
    AfterEnd,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.kind {
            VerifyErrorKind::Io(e) => write!(f, "read failed: {e}"),
            VerifyErrorKind::Empty => f.write_str("the file is empty"),
            VerifyErrorKind::BadHeader(e) => write!(f, "invalid header: {e}"),
            VerifyErrorKind::UnsupportedVersion { format, version } => write!(
                f,
                "unsupported format `{format}` version {version} (this build reads `{FORMAT}` up to version {VERSION})"
            ),
            VerifyErrorKind::BadEvent(e) => write!(f, "invalid event: {e}"),
            VerifyErrorKind::Unterminated => {
                f.write_str("the line has no terminating newline (file cut short)")
            }
            VerifyErrorKind::BrokenChain { expected, found } => write!(
                f,
                "`prev` is {found} but the previous line hashes to {expected}: the previous line was changed, or lines were removed, reordered or inserted"
            ),
            VerifyErrorKind::BadSequence { expected, found } => {
                write!(f, "`seq` is {found}, expected {expected}")
            }
            VerifyErrorKind::Truncated => f.write_str(
                "the trace ends without a `trace_end` event (lines were removed from the end)",
            ),
            VerifyErrorKind::AfterEnd => f.write_str("a line follows the `trace_end` event"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Reads a trace line by line, checking the chain as it goes.
pub struct TraceReader<R: BufRead> {
    input: R,
    line_no: usize,
    prev: Digest,
    next_seq: u64,
    ended: bool,
    buf: Vec<u8>,
}

impl<R: BufRead> TraceReader<R> {
    /// Reads and checks the header.
    pub fn open(mut input: R) -> Result<(Header, Self), VerifyError> {
        let mut buf = Vec::new();
        let line = |kind| VerifyError { line: 1, kind };
        match input.read_until(b'\n', &mut buf) {
            Err(e) => return Err(line(VerifyErrorKind::Io(e.to_string()))),
            Ok(0) => return Err(line(VerifyErrorKind::Empty)),
            Ok(_) => {}
        }
        if buf.pop() != Some(b'\n') {
            return Err(line(VerifyErrorKind::Unterminated));
        }
        let header = parse_header(&buf).map_err(line)?;
        let reader = TraceReader {
            input,
            line_no: 1,
            prev: digest_bytes(&buf),
            next_seq: 1,
            ended: false,
            buf,
        };
        Ok((header, reader))
    }

    /// The digest of the last line read.
    pub fn head(&self) -> &str {
        &self.prev
    }

    /// The next event, `Ok(None)` at a well-formed end.
    pub fn next_event(&mut self) -> Result<Option<Event>, VerifyError> {
        self.buf.clear();
        let n = self
            .input
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| self.err(1, VerifyErrorKind::Io(e.to_string())))?;
        if n == 0 {
            return if self.ended {
                Ok(None)
            } else {
                Err(self.err(0, VerifyErrorKind::Truncated))
            };
        }
        self.line_no += 1;
        if self.ended {
            return Err(self.err(0, VerifyErrorKind::AfterEnd));
        }
        if self.buf.pop() != Some(b'\n') {
            return Err(self.err(0, VerifyErrorKind::Unterminated));
        }
        let (event, prev) =
            Event::from_line(&self.buf).map_err(|e| self.err(0, VerifyErrorKind::BadEvent(e)))?;
        if prev != self.prev {
            let kind = VerifyErrorKind::BrokenChain { expected: self.prev.clone(), found: prev };
            return Err(self.err(0, kind));
        }
        if event.seq != self.next_seq {
            let kind = VerifyErrorKind::BadSequence { expected: self.next_seq, found: event.seq };
            return Err(self.err(0, kind));
        }
        self.prev = digest_bytes(&self.buf);
        self.next_seq += 1;
        self.ended = matches!(event.body, Body::TraceEnd { .. });
        Ok(Some(event))
    }

    fn err(&self, offset: usize, kind: VerifyErrorKind) -> VerifyError {
        VerifyError { line: self.line_no + offset, kind }
    }
}

fn parse_header(bytes: &[u8]) -> Result<Header, VerifyErrorKind> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| VerifyErrorKind::BadHeader(e.to_string()))?;
    let format = value.get("format").and_then(|v| v.as_str()).unwrap_or_default();
    let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
    if format != FORMAT || version == 0 || version > u64::from(VERSION) {
        return Err(VerifyErrorKind::UnsupportedVersion {
            format: format.to_owned(),
            version: u32::try_from(version).unwrap_or(u32::MAX),
        });
    }
    serde_json::from_value(value).map_err(|e| VerifyErrorKind::BadHeader(e.to_string()))
}

/// What a successful [`verify`] established.
#[derive(Debug, Clone)]
pub struct Verified {
    pub header: Header,
    pub events: u64,
    /// The digest of the last line: a commitment to the whole trace.
    pub head: Digest,
}

/// Checks a whole trace: header, every event's shape, the hash chain, the
/// sequence numbers and the closing `trace_end`.
pub fn verify(input: impl BufRead) -> Result<Verified, VerifyError> {
    let (header, mut reader) = TraceReader::open(input)?;
    let mut events = 0;
    while reader.next_event()?.is_some() {
        events += 1;
    }
    Ok(Verified { header, events, head: reader.head().to_owned() })
}
