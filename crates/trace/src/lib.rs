//! The episode trace: Perimeter's hash-chained event log.
//!
//! A trace is a JSON Lines file. The first line is a [`Header`]; every later
//! line is an [`Event`]. Each event carries `prev`, the SHA-256 of the exact
//! bytes of the line before it (without the newline), so the hash of the last
//! line commits to the whole file. The last event of a complete trace is
//! [`Body::TraceEnd`], which makes truncation detectable.
//!
//! Events say who is speaking through [`Source`]: the agent's own account,
//! what the sandbox observed, or what the harness itself decided. Detectors
//! prefer the observed side.
//!
//! The format is specified in `docs/trace-format.md`; this crate is its only
//! implementation. Kinds this version does not know are kept on read as
//! [`Body::Unknown`], so older readers pass newer traces through intact.

#![forbid(unsafe_code)]

mod chain;
mod event;
mod time;

pub use chain::{
    Digest, TraceReader, TraceWriter, Verified, VerifyError, VerifyErrorKind, digest_bytes, verify,
};
pub use event::{
    Body, Event, FileChangeKind, FileMeta, Header, HoneypotRead, NetworkAttempt, ProcessExec,
    Source, UnreadPath,
};
pub use time::{Clock, FixedClock, Timestamp};

/// The format identifier written in every header.
pub const FORMAT: &str = "perimeter.trace";
/// The format version this crate writes and the newest it reads (it reads
/// every older one too).
pub const VERSION: u32 = 2;
