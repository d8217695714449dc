//! Importers against arbitrary input, for a bounded number of cases: no
//! input panics them, every error names a line that exists, and damage to
//! a transcript costs only the damaged lines.

use import::{FORMATS, Format, Limits, read};
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

const FIXTURES: [(&str, Format); 6] = [
    ("claude-code-2.1.332.jsonl", Format::ClaudeSession),
    ("claude-code-2.1.332-stream.jsonl", Format::ClaudeStream),
    ("codex-0.171.0.jsonl", Format::CodexRollout),
    ("codex-0.171.0-exec.jsonl", Format::CodexExec),
    ("gemini-cli-0.61.0.jsonl", Format::GeminiChat),
    ("gemini-cli-0.61.0-stream.jsonl", Format::GeminiStream),
];

fn lines_in(bytes: &[u8]) -> u64 {
    bytes.split(|&b| b == b'\n').count() as u64
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random bytes, in every format and recognised or not.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096), which in 0..8usize, max_line in 1..512usize) {
        let format = FORMATS.get(which).copied();
        let (_, s) = read(bytes.as_slice(), format, Limits { max_line });
        let lines = lines_in(&bytes);
        prop_assert!(s.errors.iter().all(|e| e.line >= 1 && e.line <= lines));
        prop_assert_eq!(s.bytes, bytes.len() as u64);
    }

    /// Real transcripts with bytes flipped, lines cut, and junk spliced in.
    #[test]
    fn damaged_transcripts_keep_their_intact_lines(
        which in 0..6usize,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
        junk in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let (name, format) = FIXTURES[which];
        let clean = fixture(name);
        let mut bytes = clean.clone();
        for (at, b) in &flips {
            let i = at.index(bytes.len());
            bytes[i] = *b;
        }
        let at = cut.index(bytes.len());
        bytes.splice(at..at, junk.iter().copied());
        let (_, s) = read(bytes.as_slice(), Some(format), Limits::default());
        let (_, whole) = read(clean.as_slice(), Some(format), Limits::default());
        let lines = lines_in(&bytes);
        prop_assert!(s.errors.iter().all(|e| e.line >= 1 && e.line <= lines));
        // Damage touches at most the lines it hit (flips, the junk, and the
        // lines a newline in them split or joined); never more events than
        // the file has lines.
        prop_assert!(s.events.len() as u64 <= 2 * lines + whole.events.len() as u64);
    }

    /// Any JSON value on a line of any format is read or reported, not a
    /// panic (deep nesting included).
    #[test]
    fn odd_json_never_panics(depth in 0..200usize, which in 0..7usize, key in "[a-z_]{1,12}") {
        let nested = format!("{}{}{}", "[".repeat(depth), "{\"type\":\"assistant\"}", "]".repeat(depth));
        let line = format!("{{\"type\":\"user\",\"{key}\":{nested},\"message\":{nested},\"payload\":{nested}}}\n");
        let (_, s) = read(line.as_bytes(), Some(FORMATS[which]), Limits::default());
        prop_assert!(s.errors.len() <= 1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    /// An Inspect `.eval` archive with bytes flipped or cut short is an
    /// error or a partial read, never a panic.
    #[test]
    fn damaged_inspect_archives_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..16),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = fixture("inspect-0.3.285.eval");
        for (at, b) in &flips {
            let i = at.index(bytes.len());
            bytes[i] = *b;
        }
        bytes.truncate(cut.index(bytes.len()) + 1);
        let _ = import::inspect::read_eval(&mut std::io::Cursor::new(bytes));
    }
}
