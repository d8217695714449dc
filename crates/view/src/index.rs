//! A trace opened for reading by pages: its lines found once (and its hash
//! chain verified in the same pass), then only a page's lines parsed, so a
//! trace of 100,000 events opens in one pass and every page after costs its
//! own lines alone.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use trace::Event;

/// Events per page.
pub const PAGE: usize = 500;

pub struct Index {
    bytes: Vec<u8>,
    /// Each event line's start and end (the header is not among them).
    lines: Vec<(usize, usize)>,
    /// The chain verified, or what is wrong with it.
    pub verified: Result<(), String>,
}

impl Index {
    pub fn build(bytes: Vec<u8>) -> Index {
        let verified = trace::verify(&bytes[..])
            .map(|_| ())
            .map_err(|e| format!("the trace does not verify: {e}"));
        let mut lines = Vec::new();
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', &bytes) {
            lines.push((start, end));
            start = end + 1;
        }
        if start < bytes.len() {
            lines.push((start, bytes.len()));
        }
        // The first line is the header.
        if !lines.is_empty() {
            lines.remove(0);
        }
        Index { bytes, lines, verified }
    }

    pub fn events(&self) -> usize {
        self.lines.len()
    }

    pub fn pages(&self) -> usize {
        self.lines.len().div_ceil(PAGE).max(1)
    }

    /// The page (0-based) that holds event `seq`.
    pub fn page_of(seq: u64) -> usize {
        (seq.saturating_sub(1) as usize) / PAGE
    }

    /// Page `page`'s events; a line that is not an event is given as its
    /// text with the reason.
    pub fn page(&self, page: usize) -> Vec<Result<Event, (usize, String)>> {
        let from = (page * PAGE).min(self.lines.len());
        let to = (from + PAGE).min(self.lines.len());
        self.lines[from..to]
            .iter()
            .enumerate()
            .map(|(i, (a, b))| {
                Event::from_line(&self.bytes[*a..*b]).map(|(e, _)| e).map_err(|e| (from + i + 2, e))
            })
            .collect()
    }

    /// One event by its `seq`.
    pub fn event(&self, seq: u64) -> Option<Event> {
        let (a, b) = *self.lines.get(usize::try_from(seq).ok()?.checked_sub(1)?)?;
        Event::from_line(&self.bytes[a..b]).ok().map(|(e, _)| e)
    }
}

/// Opened traces, kept while their files do not change.
#[derive(Default)]
pub struct Cache {
    open: Mutex<Vec<(PathBuf, SystemTime, Arc<Index>)>>,
}

/// Traces kept open at once.
const KEPT: usize = 8;

impl Cache {
    pub fn get(&self, path: &Path) -> Result<Arc<Index>, String> {
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, index)) = open.iter().find(|(p, m, _)| p == path && *m == modified) {
            return Ok(index.clone());
        }
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let index = Arc::new(Index::build(bytes));
        open.retain(|(p, _, _)| p != path);
        if open.len() >= KEPT {
            open.remove(0);
        }
        open.push((path.to_owned(), modified, index.clone()));
        Ok(index)
    }
}
